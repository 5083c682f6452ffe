/*
 * test_mp.c - the strict msgpack reader, UTF-8 validation and base32.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "samlog_proto.h"

#define B(...) ((const uint8_t[]){ __VA_ARGS__ })
#define LEN(...) sizeof((const uint8_t[]){ __VA_ARGS__ })

static int
read_uint(const uint8_t *b, size_t n, uint64_t *v)
{
	struct sl_mp r;
	int rc;

	sl_mp_init(&r, b, n);
	rc = sl_mp_read_uint(&r, v);
	if (rc == SL_OK && !sl_mp_at_end(&r))
		return SL_ETRAIL;
	return rc;
}

static void
test_uint_canonical(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(read_uint(B(0x05), 1, &v), SL_OK);
	assert_int_equal(v, 5);
	assert_int_equal(read_uint(B(0xcc, 0x80), 2, &v), SL_OK);
	assert_int_equal(v, 128);
	assert_int_equal(read_uint(B(0xcd, 0x01, 0x00), 3, &v), SL_OK);
	assert_int_equal(v, 256);
	assert_int_equal(read_uint(B(0xcf, 0, 0, 0, 1, 0, 0, 0, 0), 9, &v),
	    SL_OK);
	assert_int_equal(v, 1ULL << 32);
	/* The same numbers in longer forms than needed. */
	assert_int_equal(read_uint(B(0xcc, 0x05), 2, &v), SL_ENONCANON);
	assert_int_equal(read_uint(B(0xcd, 0x00, 0xff), 3, &v), SL_ENONCANON);
	assert_int_equal(read_uint(B(0xce, 0, 0, 0xff, 0xff), 5, &v),
	    SL_ENONCANON);
	assert_int_equal(read_uint(B(0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff),
	    9, &v), SL_ENONCANON);
	/* Truncated, wrong types, nothing at all. */
	assert_int_equal(read_uint(B(0xcd, 0x01), 2, &v), SL_ETRUNC);
	assert_int_equal(read_uint(B(0x00), 0, &v), SL_ETRUNC);
	assert_int_equal(read_uint(B(0xd0, 0x05), 2, &v), SL_ETYPE);
	assert_int_equal(read_uint(B(0xff), 1, &v), SL_ETYPE);
	assert_int_equal(read_uint(B(0xc0), 1, &v), SL_ETYPE);
	assert_int_equal(read_uint(B(0xca, 0, 0, 0, 0), 5, &v), SL_ETYPE);
}

static void
test_bin_str(void **state)
{
	struct sl_mp r;
	const uint8_t *d;
	const char *s;
	uint32_t n;

	(void)state;
	sl_mp_init(&r, B(0xc4, 3, 'a', 'b', 'c'), 5);
	assert_int_equal(sl_mp_read_bin(&r, &d, &n, 0, 10), SL_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(d, "abc", 3);
	assert_true(sl_mp_at_end(&r));

	sl_mp_init(&r, B(0xc5, 0, 3, 'a', 'b', 'c'), 6);
	assert_int_equal(sl_mp_read_bin(&r, &d, &n, 0, 10), SL_ENONCANON);
	sl_mp_init(&r, B(0xc4, 5, 'a', 'b'), 4);
	assert_int_equal(sl_mp_read_bin(&r, &d, &n, 0, 10), SL_ETRUNC);
	sl_mp_init(&r, B(0xc4, 3, 'a', 'b', 'c'), 5);
	assert_int_equal(sl_mp_read_bin(&r, &d, &n, 0, 2), SL_ESIZE);
	assert_int_equal(sl_mp_read_bin(&r, &d, &n, 4, 9), SL_ESIZE);
	/* The cursor did not move on failure. */
	assert_int_equal(sl_mp_read_bin(&r, &d, &n, 3, 3), SL_OK);
	sl_mp_init(&r, B(0xa3, 'a', 'b', 'c'), 4);
	assert_int_equal(sl_mp_read_bin(&r, &d, &n, 0, 9), SL_ETYPE);
	assert_int_equal(sl_mp_read_str(&r, &s, &n, 0, 9), SL_OK);
	assert_int_equal(n, 3);
	sl_mp_init(&r, B(0xd9, 3, 'a', 'b', 'c'), 5);
	assert_int_equal(sl_mp_read_str(&r, &s, &n, 0, 9), SL_ENONCANON);
	sl_mp_init(&r, B(0xc4, 3, 'a', 'b', 'c'), 5);
	assert_int_equal(sl_mp_read_str(&r, &s, &n, 0, 9), SL_ETYPE);
	/* A length that claims more than the buffer (32-bit bin). */
	sl_mp_init(&r, B(0xc6, 0xff, 0xff, 0xff, 0xff, 0), 6);
	assert_int_equal(sl_mp_read_bin(&r, &d, &n, 0, UINT32_MAX), SL_ETRUNC);
}

static void
test_array_nil(void **state)
{
	struct sl_mp r;
	uint32_t n;

	(void)state;
	sl_mp_init(&r, B(0x92, 0x01, 0xc0), 3);
	assert_int_equal(sl_mp_read_array(&r, &n, 5), SL_OK);
	assert_int_equal(n, 2);
	assert_false(sl_mp_read_nil(&r));
	r.p++;
	assert_true(sl_mp_peek_nil(&r));
	assert_true(sl_mp_read_nil(&r));
	assert_true(sl_mp_at_end(&r));

	sl_mp_init(&r, B(0xdc, 0x00, 0x02, 1, 2), 5);
	assert_int_equal(sl_mp_read_array(&r, &n, 5), SL_ENONCANON);
	sl_mp_init(&r, B(0x93, 1, 2, 3), 4);
	assert_int_equal(sl_mp_read_array(&r, &n, 2), SL_EFIELDS);
	/* More elements claimed than bytes left. */
	sl_mp_init(&r, B(0xdd, 0, 1, 0, 0, 1), 6);
	assert_int_equal(sl_mp_read_array(&r, &n, UINT32_MAX), SL_ETRUNC);
	sl_mp_init(&r, B(0x80), 1);
	assert_int_equal(sl_mp_read_array(&r, &n, 5), SL_ETYPE);
}

static void
test_utf8(void **state)
{
	(void)state;
	assert_true(sl_utf8_valid("V\xc3\xa4sby H\xc3\xa4ggvik", 15));
	assert_true(sl_utf8_valid("\xe2\x82\xac \xf0\x9f\x98\x80", 8));
	assert_false(sl_utf8_valid("a\nb", 3));
	assert_false(sl_utf8_valid("a\x7f", 2));
	assert_false(sl_utf8_valid("\xc0\xaf", 2));         /* overlong */
	assert_false(sl_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
	assert_false(sl_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(sl_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(sl_utf8_valid("\xc3", 1));             /* truncated */
	assert_false(sl_utf8_valid("\xa4", 1));             /* lone cont. */
	assert_false(sl_utf8_valid("a\0b", 3));
}

static void
test_base32(void **state)
{
	char text[128];
	uint8_t out[64], in[64];

	(void)state;
	sl_b32_encode(text, B(0x00), 1);
	assert_string_equal(text, "00");
	sl_b32_encode(text, B(0xff), 1);
	assert_string_equal(text, "zw");
	sl_b32_encode(text, (const uint8_t *)"samlog", 6);
	assert_string_equal(text, "edgptv3fcw");
	assert_int_equal(strlen(text), SL_B32_LEN(6));
	assert_true(sl_b32_decode(out, 6, "edgptv3fcw"));
	assert_memory_equal(out, "samlog", 6);
	assert_true(sl_b32_decode(out, 6, "EDGPTV3FCW"));
	assert_memory_equal(out, "samlog", 6);
	/* Wrong length, letters outside the alphabet, spare bits set. */
	assert_false(sl_b32_decode(out, 6, "edgptv3fc"));
	assert_false(sl_b32_decode(out, 6, "edgptv3fcwa"));
	assert_false(sl_b32_decode(out, 6, "edgptv3fci"));
	assert_false(sl_b32_decode(out, 6, "edgptv3fcu"));
	assert_false(sl_b32_decode(out, 1, "zz"));
	assert_true(sl_b32_valid_prefix("0123abcz", 8));
	assert_false(sl_b32_valid_prefix("abcl", 4));
	/* Round trip of every length up to 64 bytes. */
	for (size_t len = 1; len <= sizeof in; len++) {
		sl_random(in, len);
		sl_b32_encode(text, in, len);
		assert_int_equal(strlen(text), SL_B32_LEN(len));
		assert_true(sl_b32_decode(out, len, text));
		assert_memory_equal(out, in, len);
	}
}

static void
test_strerror(void **state)
{
	(void)state;
	assert_string_equal(sl_strerror(SL_OK), "ok");
	assert_string_equal(sl_strerror(SL_EFORK),
	    "fork: a different event exists for this seq");
	assert_string_equal(sl_strerror(-1), "unknown error");
	assert_string_equal(sl_strerror(SL_RESULT_COUNT), "unknown error");
	for (int i = 0; i < SL_RESULT_COUNT; i++)
		assert_string_not_equal(sl_strerror(i), "unknown error");
}

static void
test_hlc(void **state)
{
	char buf[40];

	(void)state;
	assert_int_equal(sl_hlc_next(0, 1000), 1000ULL << 16);
	/* A clock that stands still or steps back still advances. */
	assert_int_equal(sl_hlc_next(1000ULL << 16, 1000), (1000ULL << 16) + 1);
	assert_int_equal(sl_hlc_next(2000ULL << 16, 1000), (2000ULL << 16) + 1);
	sl_hlc_format(buf, sizeof buf, (1573689600123ULL << 16) | 7);
	assert_string_equal(buf, "2019-11-14T00:00:00.123Z");
	/* The same as strftime's, over the clock's whole range (2^48 ms
	 * reaches the year 10889), and cut short like snprintf. */
	uint64_t x = 88172645463325252ULL;

	for (int i = 0; i < 200000; i++) {
		char want[64], day[40];
		uint64_t ms;
		time_t secs;
		struct tm tm;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ms = i < 3 ? (uint64_t[]){ 0, 253402300799999ULL,
		    253402300800000ULL }[i] : x % (1ULL << 48);
		secs = (time_t)(ms / 1000);
		assert_non_null(gmtime_r(&secs, &tm));
		strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want, sizeof want, "%s.%03uZ", day,
		    (unsigned)(ms % 1000));
		sl_hlc_format(buf, sizeof buf, ms << 16);
		assert_string_equal(buf, want);
	}
	sl_hlc_format(buf, 11, 1573689600123ULL << 16);
	assert_string_equal(buf, "2019-11-14");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint_canonical),
		cmocka_unit_test(test_bin_str),
		cmocka_unit_test(test_array_nil),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_base32),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_hlc),
	};

	if (sl_crypto_init() != 0)
		return 1;
	int rc = cmocka_run_group_tests_name("mp", tests, NULL, NULL);

	sl_crypto_shutdown();
	return rc;
}
