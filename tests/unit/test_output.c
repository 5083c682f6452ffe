/*
 * test_output.c - the CLI's output backends on crafted replies: text
 * from other members (names, decision texts, authors, organisation
 * names) with terminal controls in it, invalid UTF-8, and maps whose keys
 * are not strings.
 *
 * The backends are linked as the CLI links them and fed msgpack_objects
 * built here, or packed and unpacked through msgpack-c as replies are.
 * Whatever goes in, what comes out must be safe on a terminal: no C0
 * control but the line break, no DEL, no C1 control (U+0080-U+009F), no
 * invalid UTF-8.  A table's columns line up counting the escaped form,
 * and a map entry whose key is not a string is left out, never read
 * through the wrong member of the union.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <cmocka.h>

#include "output.h"
#include "testutil.h"

/* ---- building objects ---------------------------------------------------- */

static msgpack_object
ostr(const char *s, size_t n)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_STR };

	o.via.str.ptr = s;
	o.via.str.size = (uint32_t)n;
	return o;
}

/* A string literal, embedded NULs and all. */
#define S(lit) ostr(lit, sizeof(lit) - 1)

static msgpack_object
obin(const char *s, size_t n)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_BIN };

	o.via.bin.ptr = s;
	o.via.bin.size = (uint32_t)n;
	return o;
}

static msgpack_object
ouint(uint64_t v)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER };

	o.via.u64 = v;
	return o;
}

static msgpack_object
oneg(int64_t v)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_NEGATIVE_INTEGER };

	o.via.i64 = v;
	return o;
}

static msgpack_object
onil(void)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_NIL };

	return o;
}

static msgpack_object
omap(msgpack_object_kv *kv, size_t n)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_MAP };

	o.via.map.ptr = kv;
	o.via.map.size = (uint32_t)n;
	return o;
}

static msgpack_object
oarr(msgpack_object *a, size_t n)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_ARRAY };

	o.via.array.ptr = a;
	o.via.array.size = (uint32_t)n;
	return o;
}

static msgpack_object_kv
KV(msgpack_object k, msgpack_object v)
{
	msgpack_object_kv kv = { k, v };

	return kv;
}

static msgpack_object
otrue(void)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_BOOLEAN };

	o.via.boolean = true;
	return o;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * An integer key whose value, read as a string (size in the low half of
 * the union, pointer after it), is a 1 GiB string at address 0: what a
 * key read through the wrong member prints, or crashes on.
 */
#define BADKEY(n) ouint(0x4141414100000000ull | (n))

/* ---- running a backend -------------------------------------------------- */

static char *
render(const struct output *o, enum out_mode mode, const char *table,
    const msgpack_object *recs, size_t n, size_t *len)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);

	assert_non_null(f);
	o->begin(f, mode, table);
	for (size_t i = 0; i < n; i++)
		o->record(f, &recs[i]);
	o->end(f);
	assert_int_equal(fclose(f), 0);
	if (len != NULL)
		*len = sz;
	return buf;
}


/* Fails the test unless s[0..n) is safe on a terminal; shows the
 * output with every byte outside printable ASCII as <XX>, so that the
 * report is safe too. */
static void
assert_safe(const char *what, const char *s, size_t n)
{
	long at = tu_unsafe_at(s, n);
	static char shown[65536];
	size_t k = 0;

	if (at < 0)
		return;
	for (size_t i = 0; i < n && k + 8 < sizeof shown; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' || (c >= 0x20 && c < 0x7f))
			shown[k++] = (char)c;
		else
			k += (size_t)snprintf(shown + k, sizeof shown - k,
			    "<%02X>", c);
	}
	shown[k] = '\0';
	fail_msg("%s: byte 0x%02x at offset %ld is not safe on a terminal:\n%s",
	    what, (unsigned char)s[at], at, shown);
}

/* Code points in s[0..n). */
static size_t
cps(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

/* The k-th line of s (0-based), copied into a static buffer. */
static const char *
line_of(const char *s, int k)
{
	static char buf[4096];

	for (; k > 0 && s != NULL; k--)
		if ((s = strchr(s, '\n')) != NULL)
			s++;
	assert_non_null(s);
	snprintf(buf, sizeof buf, "%.*s", (int)strcspn(s, "\n"), s);
	return buf;
}

static int
nlines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The column (in code points) where needle starts in line. */
static size_t
col_of(const char *line, const char *needle)
{
	const char *p = strstr(line, needle);

	if (p == NULL)
		fail_msg("\"%s\" is not in the line \"%s\"", needle, line);
	return cps(line, (size_t)(p - line));
}

/* ---- tables ------------------------------------------------------------- */

/* Two contacts whose fields hold what another member could have put
 * there; the cells as they must be shown, in column order. */
static msgpack_object_kv c1kv[8], c2kv[8];
static msgpack_object contacts[2];

static const char *const c1cells[] = { "c1aaaaaaaa",
	"Eve\\x1b[2K\\x1b]52;c;cm0gLXJmIH4=\\x07",
	"Tab\\there\\nNL\\x0dCR", "CSI\\xc2\\x9b31m", "Bad\\xff\\xfe",
	"del\\x7f@example.se" };
static const char *const c2cells[] = { "c2bbbbbbbb", "Väsby \\\\ Åsa", NULL,
	"nul\\x00after", "Åre", "ok@example.se" };

static void
make_contacts(void)
{
	c1kv[0] = KV(S("id"), S("c1aaaaaaaaaaaaaaaaaaaaaaaa"));
	c1kv[1] = KV(S("name"), S("Eve\x1b[2K\x1b]52;c;cm0gLXJmIH4=\x07"));
	c1kv[2] = KV(S("org_name"), S("Tab\there\nNL\rCR"));
	c1kv[3] = KV(S("role"), S("CSI\xc2\x9b" "31m"));
	c1kv[4] = KV(S("municipality"), S("Bad\xff\xfe"));
	c1kv[5] = KV(S("email"), S("del\x7f@example.se"));
	c1kv[6] = KV(BADKEY(2), S("never shown"));
	c1kv[7] = KV(obin("name", 4), S("never shown either"));
	c2kv[0] = KV(S("id"), S("c2bbbbbbbbbbbbbbbbbbbbbbbb"));
	c2kv[1] = KV(S("name"), S("Väsby \\ Åsa"));
	c2kv[2] = KV(S("org_name"), onil());
	c2kv[3] = KV(S("role"), S("nul\0after"));
	c2kv[4] = KV(S("municipality"), S("Åre"));
	c2kv[5] = KV(S("email"), S("ok@example.se"));
	c2kv[6] = KV(BADKEY(3), S("never"));
	c2kv[7] = KV(S("conflict"), otrue());
	contacts[0] = omap(c1kv, NELEM(c1kv));
	contacts[1] = omap(c2kv, NELEM(c2kv));
}

static void
test_table_escapes(void **state)
{
	static const char *const heads[] = { "ID", "NAME", "ORGANISATION",
		"ROLE", "MUNICIPALITY", "EMAIL" };
	size_t len;
	char *out;

	(void)state;
	make_contacts();
	out = render(&output_text, OUT_LIST, "contact", contacts, 2, &len);
	assert_safe("contact list", out, len);
	/* Every cell starts where its heading does: widths count the
	 * escaped form. */
	for (int r = 0; r < 2; r++) {
		const char *const *cells = r == 0 ? c1cells : c2cells;

		for (size_t c = 0; c < NELEM(heads); c++) {
			if (cells[c] == NULL)
				continue;
			char row[4096];

			snprintf(row, sizeof row, "%s", line_of(out, r + 1));
			assert_int_equal(col_of(row, cells[c]),
			    col_of(line_of(out, 0), heads[c]));
		}
	}
	if (strstr(out, "c2bbbbbbbb*") == NULL)
		fail_msg("no conflict mark:\n%s", out);
	assert_null(strstr(out, "never"));
	assert_int_equal(len, strlen(out));
	free(out);
}

/* A pseudo-terminal 60 columns wide: the table is fitted to it, cut
 * cells end in an ellipsis, and no line is wider, escapes counted. */
static void
test_table_on_terminal(void **state)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 60 };
	struct termios t;
	char buf[16384], *slave_name;
	size_t got = 0;
	int m, sl;
	FILE *f;

	(void)state;
	make_contacts();
	m = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	assert_non_null(slave_name = ptsname(m));
	assert_true((sl = open(slave_name, O_RDWR | O_NOCTTY)) >= 0);
	assert_int_equal(tcgetattr(sl, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(sl, TCSANOW, &t), 0);
	assert_int_equal(ioctl(sl, TIOCSWINSZ, &ws), 0);
	assert_non_null(f = fdopen(sl, "w"));
	output_text.begin(f, OUT_LIST, "contact");
	for (int i = 0; i < 2; i++)
		output_text.record(f, &contacts[i]);
	output_text.end(f);
	fflush(f);
	for (;;) {
		struct pollfd p = { m, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			break;
		n = read(m, buf + got, sizeof buf - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	fclose(f);
	close(m);
	buf[got] = '\0';
	assert_safe("contact list on a terminal", buf, got);
	assert_int_equal(nlines(buf), 3);
	for (int k = 0; k < 3; k++) {
		const char *l = line_of(buf, k);

		if (cps(l, strlen(l)) > ws.ws_col)
			fail_msg("line %d is %zu wide on a %d-column terminal: %s",
			    k, cps(l, strlen(l)), ws.ws_col, l);
	}
	assert_non_null(strstr(buf, "\xe2\x80\xa6"));
}

/* ---- "key: value" blocks ------------------------------------------------ */

static void
test_show_escapes(void **state)
{
	msgpack_object_kv deep[] = {
		KV(BADKEY(8), S("hidden")),
		KV(S("x"), S("y\xc2\x85")),
	};
	msgpack_object_kv nested[] = {
		KV(S("ok"), S("yes\x1b")),
		KV(BADKEY(7), S("hidden")),
		KV(S("deep"), omap(deep, NELEM(deep))),
	};
	msgpack_object_kv e1[] = {
		KV(BADKEY(9), S("hidden")),
		KV(S("a"), S("1")),
	};
	msgpack_object_kv e3[] = {
		KV(S("b"), S("\xc2\x9b")),
	};
	msgpack_object items[] = {
		omap(e1, NELEM(e1)),
		S("not a map"),
		omap(e3, NELEM(e3)),
	};
	msgpack_object_kv rec[] = {
		KV(S("id"), S("abc")),
		KV(S("na\x1bme"), S("v")),
		KV(BADKEY(1), S("hidden")),
		KV(S("text"), S("Rad ett\nRad två\x1b[2K\ttab")),
		KV(obin("bk", 2), S("hidden")),
		KV(S("nested"), omap(nested, NELEM(nested))),
		KV(S("competing"), oarr(items, NELEM(items))),
		KV(S("when"), oneg(-5)),
	};
	msgpack_object o = omap(rec, NELEM(rec));
	/* Keys and values escaped, the values' column counting the
	 * escaped keys; a line break in a value goes on in that column;
	 * what has no string key is left out. */
	const char *want =
	    "id:        abc\n"
	    "na\\x1bme:  v\n"
	    "text:      Rad ett\n"
	    "           Rad två\\x1b[2K\\ttab\n"
	    "nested:\n"
	    "  ok:   yes\\x1b\n"
	    "  deep: x=y\\xc2\\x85\n"
	    "competing:\n"
	    "  - a: 1\n"
	    "  - b: \\xc2\\x9b\n"
	    "when:      -5\n";
	size_t len;
	char *out;

	(void)state;
	out = render(&output_text, OUT_OBJECT, NULL, &o, 1, &len);
	assert_safe("show", out, len);
	assert_string_equal(out, want);
	free(out);
	/* An addition prints the id alone. */
	msgpack_object_kv idkv[] = { KV(BADKEY(4), S("x")),
		KV(S("id"), S("a\x1b" "b")) };
	msgpack_object ido = omap(idkv, NELEM(idkv));

	out = render(&output_text, OUT_ID, NULL, &ido, 1, &len);
	assert_string_equal(out, "a\\x1bb\n");
	free(out);
}

/* ---- JSON --------------------------------------------------------------- */

static void
test_json_escapes(void **state)
{
	msgpack_object_kv x[] = { KV(S("x"), S("\xc2\x85")) };
	msgpack_object k[] = { ouint(1), omap(x, NELEM(x)) };
	msgpack_object_kv n[] = {
		KV(BADKEY(3), S("hidden")),
		KV(S("k"), oarr(k, NELEM(k))),
	};
	msgpack_object_kv rec[] = {
		KV(S("s"), S("E\x1b[2K\x1b]52;c;eA==\x07")),
		KV(S("d"), S("\x7f")),
		KV(S("c1"), S("\xc2\x9b\xc2\x80\xc2\x9f")),
		KV(S("ok"), S("Väsby ö € \xf0\x9f\x98\x80 \xc2\xa0")),
		KV(S("bad"), S("\xff\xc2")),
		KV(S("overlong"), S("\xc0\x80")),
		KV(S("surrogate"), S("\xed\xa0\x80")),
		KV(S("nul"), S("a\0b")),
		KV(BADKEY(1), S("hidden")),
		KV(obin("k", 1), S("hidden")),
		KV(S("n"), omap(n, NELEM(n))),
		KV(S("neg"), oneg(-5)),
		KV(S("q\x1b"), S("\"\\\n\t")),
	};
	msgpack_object o = omap(rec, NELEM(rec));
	const char *want =
	    "{\"s\": \"E\\u001b[2K\\u001b]52;c;eA==\\u0007\", "
	    "\"d\": \"\\u007f\", "
	    "\"c1\": \"\\u009b\\u0080\\u009f\", "
	    "\"ok\": \"Väsby ö € \xf0\x9f\x98\x80 \xc2\xa0\", "
	    "\"bad\": \"\\ufffd\\ufffd\", "
	    "\"overlong\": \"\\ufffd\\ufffd\", "
	    "\"surrogate\": \"\\ufffd\\ufffd\\ufffd\", "
	    "\"nul\": \"a\\u0000b\", "
	    "\"n\": {\"k\": [1, {\"x\": \"\\u0085\"}]}, "
	    "\"neg\": -5, "
	    "\"q\\u001b\": \"\\\"\\\\\\n\\t\"}";
	char *out, *list;
	size_t len;

	(void)state;
	out = render(&output_json, OUT_OBJECT, NULL, &o, 1, &len);
	assert_safe("show --json", out, len);
	assert_int_equal(out[len - 1], '\n');
	out[len - 1] = '\0';
	assert_string_equal(out, want);
	msgpack_object two[] = { o, o };

	list = render(&output_json, OUT_LIST, "contact", two, 2, &len);
	assert_safe("list --json", list, len);
	assert_int_equal(len, 1 + 2 * strlen(out) + 3 + 2);
	assert_memory_equal(list, "[", 1);
	assert_memory_equal(list + 1, out, strlen(out));
	assert_memory_equal(list + 1 + strlen(out), ",\n ", 3);
	assert_memory_equal(list + 4 + strlen(out), out, strlen(out));
	assert_string_equal(list + 4 + 2 * strlen(out), "]\n");
	free(out);
	free(list);
}

/* ---- what msgpack-c makes of packed replies ---------------------------- */

static uint64_t rng = 0x5eed;

static uint32_t
rnd(uint32_t n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng >> 33) % n;
}

static const char nasty[] = { 0x1b, '[', ']', 0x07, 0x7f, 0, '\n', '\r',
	'\t', '\\', '"', ';', 'a', 'b', ' ', (char)0xc2, (char)0x9b,
	(char)0x80, (char)0x9f, (char)0xff, (char)0xe2, (char)0xa6,
	(char)0xc3, (char)0xa5, (char)0xed, (char)0xf0 };

static void
pack_text(msgpack_packer *pk, bool bin)
{
	char s[40];
	uint32_t n = rnd(sizeof s);

	for (uint32_t i = 0; i < n; i++)
		s[i] = nasty[rnd(sizeof nasty)];
	if (bin) {
		msgpack_pack_bin(pk, n);
		msgpack_pack_bin_body(pk, s, n);
	} else {
		msgpack_pack_str(pk, n);
		msgpack_pack_str_body(pk, s, n);
	}
}

static void
pack_random(msgpack_packer *pk, int depth)
{
	uint32_t n;

	switch (rnd(depth > 3 ? 7 : 9)) {
	case 0:
		msgpack_pack_nil(pk);
		break;
	case 1:
		if (rnd(2))
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case 2:
		msgpack_pack_uint64(pk, rnd(100000));
		break;
	case 3:
		msgpack_pack_int64(pk, -(int64_t)rnd(100000) - 1);
		break;
	case 4:
		msgpack_pack_double(pk, rnd(1000) / 8.0);
		break;
	case 5:
	case 6:
		pack_text(pk, rnd(5) == 0);
		break;
	case 7:
		msgpack_pack_array(pk, n = rnd(5));
		while (n-- > 0)
			pack_random(pk, depth + 1);
		break;
	default:
		msgpack_pack_map(pk, n = rnd(5));
		while (n-- > 0) {
			if (rnd(3))
				pack_text(pk, false);
			else
				pack_random(pk, depth + 1);
			pack_random(pk, depth + 1);
		}
	}
}

static void
test_random_replies(void **state)
{
	static const char *const cols[] = { "id", "name", "time", "org",
		"author", "type", "changes", "arrival", "origin", "seq",
		"conflict", "node_id", "addr", "connected" };
	static const char *const tables[] = { "contact", "history", "log",
		"peer", "org" };

	(void)state;
	for (int it = 0; it < 400; it++) {
		msgpack_sbuffer sb;
		msgpack_packer pk;
		msgpack_unpacked u[3];
		msgpack_object recs[3];
		char *out;
		size_t len;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		for (int r = 0; r < 3; r++) {
			uint32_t n = 3 + rnd(8);

			msgpack_pack_map(&pk, n);
			while (n-- > 0) {
				if (rnd(4)) {
					const char *c = cols[rnd(NELEM(cols))];

					msgpack_pack_str(&pk, strlen(c));
					msgpack_pack_str_body(&pk, c, strlen(c));
				} else {
					pack_random(&pk, 3);
				}
				pack_random(&pk, 1);
			}
		}
		size_t off = 0;

		for (int r = 0; r < 3; r++) {
			msgpack_unpacked_init(&u[r]);
			assert_int_equal(msgpack_unpack_next(&u[r], sb.data,
			    sb.size, &off), MSGPACK_UNPACK_SUCCESS);
			recs[r] = u[r].data;
		}
		const char *t = tables[rnd(NELEM(tables))];

		out = render(&output_text, OUT_LIST, t, recs, 3, &len);
		assert_safe("a random table", out, len);
		free(out);
		out = render(&output_text, OUT_OBJECT, NULL, recs, 3, &len);
		assert_safe("random objects", out, len);
		free(out);
		out = render(&output_text, OUT_ID, NULL, recs, 3, &len);
		assert_safe("random ids", out, len);
		free(out);
		out = render(&output_json, OUT_LIST, t, recs, 3, &len);
		assert_safe("random JSON", out, len);
		free(out);
		for (int r = 0; r < 3; r++)
			msgpack_unpacked_destroy(&u[r]);
		msgpack_sbuffer_destroy(&sb);
	}
}

/* ---- the escape itself, and error lines ---------------------------------- */

static char *
escaped(const char *s, size_t n, bool lines)
{
	struct sbuf b = { 0 };

	text_escape(&b, s, n, lines);
	if (b.p == NULL)
		sb_put(&b, "", 0);
	assert_non_null(b.p);
	assert_int_equal(strlen(b.p), b.len);
	return b.p;
}

#define ESC_EQ(lit, lines, want) do { \
	char *e_ = escaped(lit, sizeof(lit) - 1, lines); \
	assert_safe(want, e_, strlen(e_)); \
	assert_string_equal(e_, want); \
	free(e_); \
} while (0)

static void
test_escape_forms(void **state)
{
	(void)state;
	ESC_EQ("", false, "");
	ESC_EQ("Väsby € \xf0\x9f\x98\x80", false, "Väsby € \xf0\x9f\x98\x80");
	ESC_EQ("a\\b", false, "a\\\\b");
	ESC_EQ("\\x1b", false, "\\\\x1b");    /* the text, not an ESC */
	ESC_EQ("a\nb\tc\rd", false, "a\\nb\\tc\\x0dd");
	ESC_EQ("a\nb\tc\rd", true, "a\nb\\tc\\x0dd");
	ESC_EQ("\x1b]52;c;eA==\x07", false, "\\x1b]52;c;eA==\\x07");
	ESC_EQ("\0\x01\x1f\x7f", false, "\\x00\\x01\\x1f\\x7f");
	/* C1: U+0080 to U+009F; U+00A0 is printable. */
	ESC_EQ("\xc2\x80\xc2\x9b\xc2\x9f\xc2\xa0", false,
	    "\\xc2\\x80\\xc2\\x9b\\xc2\\x9f\xc2\xa0");
	/* Invalid UTF-8: a lone C1 byte, a cut sequence, an overlong
	 * form, a surrogate, beyond U+10FFFF. */
	ESC_EQ("\x9b" "2J", false, "\\x9b" "2J");
	ESC_EQ("\xe2\x82", false, "\\xe2\\x82");
	ESC_EQ("\xc0\xaf", false, "\\xc0\\xaf");
	ESC_EQ("\xed\xa0\x80", false, "\\xed\\xa0\\x80");
	ESC_EQ("\xf4\x90\x80\x80", false, "\\xf4\\x90\\x80\\x80");
}

/* cli_error's line on stderr, caught in a file. */
static char *
error_line(const char *fmt, const char *arg)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	char *buf = calloc(1, 4096);

	assert_non_null(tmp);
	assert_non_null(buf);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fileno(tmp), 2), 2);
	cli_error(fmt, arg);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	rewind(tmp);
	assert_true(fread(buf, 1, 4095, tmp) > 0);
	fclose(tmp);
	return buf;
}

static void
test_error_lines(void **state)
{
	char *l;
	char big[3000];

	(void)state;
	l = error_line("decision x is %s and cannot be adopted",
	    "\x1b]52;c;eA==\x07\n\xc2\x9b" "2J");
	assert_string_equal(l, "samlog: decision x is \\x1b]52;c;eA==\\x07"
	    "\\n\\xc2\\x9b2J and cannot be adopted\n");
	free(l);
	/* Longer than the first buffer: nothing cut. */
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 2] = '\x1b';
	big[sizeof big - 1] = '\0';
	l = error_line("%s", big);
	assert_int_equal(strlen(l), 8 + sizeof big - 2 + 4 + 1);
	assert_string_equal(l + strlen(l) - 5, "\\x1b\n");
	free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_escapes),
		cmocka_unit_test(test_table_on_terminal),
		cmocka_unit_test(test_show_escapes),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_random_replies),
		cmocka_unit_test(test_escape_forms),
		cmocka_unit_test(test_error_lines),
	};

	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
