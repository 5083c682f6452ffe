/*
 * test_evfile.c - the raw event export's format (PROTOCOL.md section 14):
 * the worked examples of 14.4 checked byte for byte, built once by hand
 * (msgpack-c and SHA-256, from the document's words) and once by
 * protocol/evfile.c, and read back by the CLI's checker; every flipped
 * bit and every truncation of them refused; fingerprints (14.3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>

#include "events.h"
#include "samlog_proto.h"

#define FIELD_MAX 4096

struct block {
	char kind[16], name[64];
	char field[24][2][FIELD_MAX];
	int n;
};

static struct block blocks[16];
static int nblocks;

static const char *
bget(const struct block *b, const char *key)
{
	for (int i = 0; i < b->n; i++)
		if (strcmp(b->field[i][0], key) == 0)
			return b->field[i][1];
	fail_msg("%s %s has no field %s", b->kind, b->name, key);
	return NULL;
}

/* Every ```vector and ```evfile block of PROTOCOL.md: "key value" lines,
 * long values continued on indented lines. */
static void
load_blocks(void)
{
	const char *path = getenv("SAMLOG_PROTOCOL_MD");
	FILE *f = fopen(path ? path : "protocol/PROTOCOL.md", "r");
	char line[4096];
	struct block *cur = NULL;

	assert_non_null(f);
	nblocks = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "```vector ", 10) == 0 ||
		    strncmp(line, "```evfile ", 10) == 0) {
			assert_true(nblocks < 16);
			cur = &blocks[nblocks++];
			memset(cur, 0, sizeof *cur);
			snprintf(cur->kind, sizeof cur->kind, "%.6s", line + 3);
			snprintf(cur->name, sizeof cur->name, "%.63s", line + 10);
			continue;
		}
		if (cur == NULL)
			continue;
		if (strcmp(line, "```") == 0) {
			cur = NULL;
			continue;
		}
		if (line[0] == ' ' && cur->n > 0) {
			char *dst = cur->field[cur->n - 1][1];

			strncat(dst, line + strspn(line, " "), FIELD_MAX - 1 -
			    strlen(dst));
			continue;
		}
		char *sp = strchr(line, ' ');

		if (sp == NULL)
			continue;
		*sp = '\0';
		assert_true(cur->n < 24);
		snprintf(cur->field[cur->n][0], sizeof cur->field[0][0], "%.30s",
		    line);
		snprintf(cur->field[cur->n][1], FIELD_MAX, "%s",
		    sp + 1 + strspn(sp + 1, " "));
		cur->n++;
	}
	fclose(f);
}

static const struct block *
find_block(const char *kind, const char *name)
{
	for (int i = 0; i < nblocks; i++)
		if (strcmp(blocks[i].kind, kind) == 0 &&
		    strcmp(blocks[i].name, name) == 0)
			return &blocks[i];
	fail_msg("PROTOCOL.md has no %s %s", kind, name);
	return NULL;
}

static size_t
unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;

		assert_true(sscanf(hex, "%2x", &v) == 1);
		assert_true(n < cap);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void
print_hex(const char *key, const uint8_t *b, size_t n)
{
	printf("%-12s ", key);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && i % 32 == 0)
			printf("\n%13s", "");
		printf("%02x", b[i]);
	}
	printf("\n");
}

/* One example's records, by the vectors its "records" line names. */
struct recs {
	uint8_t rec[4][2048];
	size_t len[4];
	struct sl_event ev[4];
	uint8_t hash[4][SL_HASH_LEN];
	size_t n;
};

static void
load_recs(struct recs *r, const char *names)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof buf, "%s", names);
	r->n = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",",
	    &save)) {
		const struct block *v = find_block("vector", t);

		assert_true(r->n < 4);
		r->len[r->n] = unhex(r->rec[r->n], sizeof r->rec[0],
		    bget(v, "record"));
		assert_int_equal(sl_event_decode(&r->ev[r->n], r->rec[r->n],
		    r->len[r->n]), SL_OK);
		sl_event_hash(r->hash[r->n], &r->ev[r->n]);
		r->n++;
	}
}

/* The file as section 14.1 describes it, with msgpack-c alone. */
static void
build_by_hand(msgpack_sbuffer *sb, const struct block *e,
    const struct recs *r)
{
	msgpack_packer pk;
	uint8_t h[SL_HASH_LEN];
	size_t last = r->n - 1;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_sbuffer_write(sb, "samlog-events-1\n", 16);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, strtoull(bget(e, "time"), NULL, 10));
	msgpack_pack_uint64(&pk, strtoull(bget(e, "since_hlc"), NULL, 10));
	msgpack_pack_uint64(&pk, strtoull(bget(e, "since_seq"), NULL, 10));
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_bin(&pk, SL_KEY_LEN);
	msgpack_pack_bin_body(&pk, r->ev[0].origin, SL_KEY_LEN);
	msgpack_pack_uint64(&pk, r->ev[0].seq);
	msgpack_pack_uint64(&pk, r->ev[last].seq);
	msgpack_pack_bin(&pk, SL_HASH_LEN);
	msgpack_pack_bin_body(&pk, r->hash[last], SL_HASH_LEN);
	for (size_t i = 0; i < r->n; i++) {
		msgpack_pack_bin(&pk, r->len[i]);
		msgpack_pack_bin_body(&pk, r->rec[i], r->len[i]);
	}
	sl_sha256(h, sb->data, sb->size);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, r->n);
	msgpack_pack_bin(&pk, SL_HASH_LEN);
	msgpack_pack_bin_body(&pk, h, SL_HASH_LEN);
}

static void
test_examples(void **state)
{
	bool print = getenv("SAMLOG_PRINT_VECTORS") != NULL;
	static uint8_t doc[1 << 16];
	int seen = 0;

	(void)state;
	load_blocks();
	for (int i = 0; i < nblocks; i++) {
		const struct block *e = &blocks[i];
		struct recs r;
		msgpack_sbuffer sb;
		struct sl_buf g = { 0 };
		char err[512], fp[SL_FPR_TEXT + 1];

		if (strcmp(e->kind, "evfile") != 0)
			continue;
		seen++;
		load_recs(&r, bget(e, "records"));
		build_by_hand(&sb, e, &r);
		/* The same bytes from the encoder samlogd uses. */
		struct sl_evfile_origin o = { r.ev[0].origin, r.ev[0].seq,
			r.ev[r.n - 1].seq, r.hash[r.n - 1] };

		sl_evfile_begin(&g, strtoull(bget(e, "time"), NULL, 10),
		    strtoull(bget(e, "since_hlc"), NULL, 10),
		    strtoull(bget(e, "since_seq"), NULL, 10), &o, 1);
		for (size_t k = 0; k < r.n; k++)
			sl_evfile_record(&g, r.rec[k], r.len[k]);
		sl_evfile_end(&g, r.n);
		assert_false(g.failed);
		sl_fingerprint(fp, r.ev[0].origin);
		if (print) {
			printf("--- %s\n", e->name);
			print_hex("file", (const uint8_t *)sb.data, sb.size);
			printf("%-12s %s\n", "fingerprint", fp);
		} else {
			size_t n = unhex(doc, sizeof doc, bget(e, "file"));

			assert_int_equal(n, sb.size);
			assert_memory_equal(doc, sb.data, n);
			assert_string_equal(bget(e, "fingerprint"), fp);
		}
		assert_int_equal(g.len, sb.size);
		assert_memory_equal(g.p, sb.data, sb.size);
		/* It verifies, from the file alone. */
		if (!events_check_buffer(g.p, g.len, err, sizeof err))
			fail_msg("example %s does not verify: %s", e->name, err);
		/* Every flipped bit anywhere, and every truncation, fails:
		 * the trailer hashes all before it and counts the records. */
		for (size_t k = 0; k < g.len; k++)
			for (int bit = 0; bit < 8; bit++) {
				g.p[k] ^= (uint8_t)(1u << bit);
				if (events_check_buffer(g.p, g.len, err,
				    sizeof err))
					fail_msg("%s: byte %zu bit %d flipped "
					    "still verifies", e->name, k, bit);
				g.p[k] ^= (uint8_t)(1u << bit);
			}
		for (size_t k = 0; k < g.len; k++)
			if (events_check_buffer(g.p, k, err, sizeof err))
				fail_msg("%s: cut to %zu bytes still verifies",
				    e->name, k);
		free(g.p);
		msgpack_sbuffer_destroy(&sb);
	}
	assert_true(seen >= 2);
}

/* The frame parser alone: what it reports of each part. */
static void
test_frame(void **state)
{
	const struct block *e;
	struct recs r;
	msgpack_sbuffer sb;
	struct sl_evfile f;
	char err[256];

	(void)state;
	load_blocks();
	e = find_block("evfile", "whole");
	load_recs(&r, bget(e, "records"));
	build_by_hand(&sb, e, &r);
	const uint8_t *p = (const uint8_t *)sb.data;

	assert_int_equal(sl_evfile_parse(&f, p, sb.size, err, sizeof err),
	    SL_OK);
	assert_int_equal(f.nrecs, 2);
	assert_int_equal(f.count, 2);
	assert_true(f.hash_ok);
	assert_int_equal(f.norigins, 1);
	assert_int_equal(f.origins[0].first, 1);
	assert_int_equal(f.origins[0].tip, 2);
	assert_memory_equal(f.recs[1].p, r.rec[1], r.len[1]);
	sl_evfile_free(&f);
	/* A flip in a record: parsed, with the trailer's hash wrong. */
	uint8_t *q = malloc(sb.size + 1);

	memcpy(q, p, sb.size);
	q[sb.size - 40] ^= 1;
	assert_int_equal(sl_evfile_parse(&f, q, sb.size, err, sizeof err),
	    SL_OK);
	assert_false(f.hash_ok);
	sl_evfile_free(&f);
	/* A byte after the trailer. */
	memcpy(q, p, sb.size);
	q[sb.size] = 0;
	assert_int_not_equal(sl_evfile_parse(&f, q, sb.size + 1, err,
	    sizeof err), SL_OK);
	assert_non_null(strstr(err, "after the trailer"));
	sl_evfile_free(&f);
	/* Another version. */
	memcpy(q, p, sb.size);
	q[SL_EVFILE_MAGIC_LEN + 1] = 2;
	assert_int_not_equal(sl_evfile_parse(&f, q, sb.size, err, sizeof err),
	    SL_OK);
	assert_non_null(strstr(err, "version 2"));
	sl_evfile_free(&f);
	/* Cut anywhere: "cut short" or "not a samlog event export". */
	for (size_t k = 0; k < sb.size; k++) {
		assert_int_not_equal(sl_evfile_parse(&f, p, k, err, sizeof err),
		    SL_OK);
		if (strstr(err, "cut short") == NULL &&
		    strstr(err, "not a samlog event export") == NULL)
			fail_msg("cut at %zu: %s", k, err);
		sl_evfile_free(&f);
	}
	free(q);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_fingerprint(void **state)
{
	uint8_t key[SL_KEY_LEN];
	char id[SL_NODE_ID_TEXT + 1], fp[SL_FPR_TEXT + 1], up[64];

	(void)state;
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)(i * 7 + 3);
	sl_b32_encode(id, key, SL_KEY_LEN);
	sl_fingerprint(fp, key);
	assert_int_equal(strlen(fp), SL_FPR_TEXT);
	assert_memory_equal(fp, id, SL_FPR_TEXT);
	assert_true(sl_fingerprint_match(fp, strlen(fp), key));
	assert_true(sl_fingerprint_match(id, strlen(id), key));
	for (size_t i = 0; i <= strlen(id); i++)
		up[i] = (char)(id[i] >= 'a' && id[i] <= 'z' ? id[i] - 32 : id[i]);
	assert_true(sl_fingerprint_match(up, 20, key));
	/* Too short, too long, another key, not the alphabet. */
	assert_false(sl_fingerprint_valid(fp, 15));
	assert_false(sl_fingerprint_match(fp, 15, key));
	snprintf(up, sizeof up, "%s0", id);
	assert_false(sl_fingerprint_valid(up, strlen(up)));
	snprintf(up, sizeof up, "%s", fp);
	up[15] = up[15] == '0' ? '1' : '0';
	assert_false(sl_fingerprint_match(up, 16, key));
	up[15] = 'u';
	assert_false(sl_fingerprint_valid(up, 16));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_fingerprint),
	};

	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
