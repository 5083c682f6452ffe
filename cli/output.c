/*
 * output.c - the text backend: aligned tables for lists, "key: value"
 * blocks for single objects, the bare id for additions.
 *
 * Widths are counted in code points, not bytes, so "Väsby" lines up with
 * "Vasby".  On a terminal the table is fitted to its width by shrinking
 * the widest column and ending cut cells with an ellipsis; into a pipe
 * nothing is cut.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "output.h"

#define MAX_COLS 8

struct column {
	const char *head;
	const char *key;
	int shorten; /* show only this many characters (ids), 0: all */
};

static const struct {
	const char *name;
	struct column cols[MAX_COLS];
} layouts[] = {
	{ "org", { { "ID", "id", 10 }, { "NAME", "name", 0 },
	    { "KIND", "kind", 0 }, { "MUNICIPALITY", "municipality", 0 },
	    { "IOP", "iop", 0 }, { NULL, NULL, 0 } } },
	{ "contact", { { "ID", "id", 10 }, { "NAME", "name", 0 },
	    { "ORGANISATION", "org_name", 0 }, { "ROLE", "role", 0 },
	    { "MUNICIPALITY", "municipality", 0 }, { "EMAIL", "email", 0 },
	    { NULL, NULL, 0 } } },
	{ "meeting", { { "ID", "id", 10 }, { "DATE", "date", 0 },
	    { "TITLE", "title", 0 }, { "MUNICIPALITY", "municipality", 0 },
	    { NULL, NULL, 0 } } },
	{ "decision", { { "ID", "id", 10 }, { "STATUS", "status", 0 },
	    { "TITLE", "title", 0 }, { "BODY", "body", 0 },
	    { NULL, NULL, 0 } } },
	{ "history", { { "TIME", "time", 19 }, { "ORG", "org", 0 },
	    { "AUTHOR", "author", 0 }, { "TYPE", "type", 0 },
	    { "CHANGES", "changes", 0 }, { NULL, NULL, 0 } } },
	{ "peer", { { "NAME", "name", 0 }, { "NODE ID", "node_id", 10 },
	    { "ADDRESS", "addr", 0 }, { "CONNECTED", "connected", 0 },
	    { "LAST CONTACT", "last_contact", 0 }, { "BEHIND", "behind", 0 },
	    { "AHEAD", "ahead", 0 }, { NULL, NULL, 0 } } },
	{ "log", { { "#", "arrival", 0 }, { "ORIGIN", "origin", 10 },
	    { "SEQ", "seq", 0 }, { "TIME", "time", 19 },
	    { "AUTHOR", "author", 0 }, { "TYPE", "type", 0 },
	    { NULL, NULL, 0 } } },
};

static enum out_mode text_mode;
static const struct column *text_cols;
static int text_ncols;
static char **cells;      /* rows * ncols strings */
static size_t text_rows, text_cap;
static size_t text_count;

size_t
utf8_width(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

/* Appends the text form of o to a growing string. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;

		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);

		if (np == NULL)
			return;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
text_of(struct sbuf *b, const msgpack_object *o)
{
	char num[32];

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		if (o->via.boolean)
			sb_put(b, "yes", 3);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(num, sizeof num, "%" PRIu64, o->via.u64);
		sb_put(b, num, strlen(num));
		break;
	case MSGPACK_OBJECT_STR:
		/* One line per cell: line breaks become spaces. */
		for (uint32_t i = 0; i < o->via.str.size; i++) {
			char c = o->via.str.ptr[i];

			sb_put(b, c == '\n' || c == '\t' ? " " : &c, 1);
		}
		break;
	case MSGPACK_OBJECT_ARRAY:
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				sb_put(b, ", ", 2);
			text_of(b, &o->via.array.ptr[i]);
		}
		break;
	case MSGPACK_OBJECT_MAP:
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];

			if (i)
				sb_put(b, ", ", 2);
			text_of(b, &kv->key);
			sb_put(b, "=", 1);
			text_of(b, &kv->val);
		}
		break;
	default:
		sb_put(b, "?", 1);
	}
}

const msgpack_object *
map_get(const msgpack_object *m, const char *key)
{
	size_t n = strlen(key);

	if (m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;

		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
		    memcmp(k->via.str.ptr, key, n) == 0)
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

/* Prints s in at most w code points, ending in an ellipsis when cut;
 * returns the width printed. */
static size_t
print_fit(FILE *f, const char *s, size_t w)
{
	size_t n = strlen(s), cp = 0;

	if (utf8_width(s, n) <= w) {
		fputs(s, f);
		return utf8_width(s, n);
	}
	if (w == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (cp++ == w - 1) {
			fprintf(f, "%.*s\xe2\x80\xa6", (int)i, s);
			return w;
		}
	}
	fputs(s, f);
	return w;
}

static void
text_begin(FILE *f, enum out_mode mode, const char *table)
{
	(void)f;
	text_mode = mode;
	text_count = 0;
	text_cols = NULL;
	text_ncols = 0;
	for (size_t i = 0; table && i < sizeof layouts / sizeof layouts[0];
	    i++) {
		if (strcmp(layouts[i].name, table) == 0) {
			text_cols = layouts[i].cols;
			while (text_cols[text_ncols].head != NULL)
				text_ncols++;
		}
	}
}

static bool
is_map_array(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0 &&
	    o->via.array.ptr[0].type == MSGPACK_OBJECT_MAP;
}

/* "key: value" lines with the values aligned; an array of maps (a
 * status's peers, a record's competing edits) becomes indented blocks,
 * each starting with "- ". */
/* A map as "key: value" lines at indent; item marks the first line "- "
 * (an element of a list).  Arrays of maps, and at the top level maps,
 * become indented blocks. */
static void
print_kv(FILE *f, const msgpack_object *rec, int indent, bool item)
{
	size_t w = 0;

	if (rec->type != MSGPACK_OBJECT_MAP)
		return;
	for (uint32_t i = 0; i < rec->via.map.size; i++)
		if (rec->via.map.ptr[i].key.via.str.size > w)
			w = rec->via.map.ptr[i].key.via.str.size;
	for (uint32_t i = 0; i < rec->via.map.size; i++) {
		const msgpack_object_kv *kv = &rec->via.map.ptr[i];
		struct sbuf b = { 0 };
		int pad = indent;

		if (item && i == 0) {
			fprintf(f, "%*s- ", indent - 2, "");
			pad = 0;
		}
		if (is_map_array(&kv->val)) {
			fprintf(f, "%*s%.*s:\n", pad, "",
			    (int)kv->key.via.str.size, kv->key.via.str.ptr);
			for (uint32_t j = 0; j < kv->val.via.array.size; j++)
				print_kv(f, &kv->val.via.array.ptr[j],
				    indent + 4, true);
			continue;
		}
		if (indent == 0 && kv->val.type == MSGPACK_OBJECT_MAP &&
		    kv->val.via.map.size > 0) {
			fprintf(f, "%.*s:\n", (int)kv->key.via.str.size,
			    kv->key.via.str.ptr);
			print_kv(f, &kv->val, 2, false);
			continue;
		}
		text_of(&b, &kv->val);
		fprintf(f, "%*s%.*s:%*s %s\n", pad, "",
		    (int)kv->key.via.str.size, kv->key.via.str.ptr,
		    (int)(w - kv->key.via.str.size), "", b.p ? b.p : "");
		free(b.p);
	}
}

static void
text_record(FILE *f, const msgpack_object *rec)
{
	text_count++;
	if (text_mode == OUT_ID) {
		const msgpack_object *id = map_get(rec, "id");

		if (id != NULL && id->type == MSGPACK_OBJECT_STR)
			fprintf(f, "%.*s\n", (int)id->via.str.size, id->via.str.ptr);
		return;
	}
	if (text_mode != OUT_LIST || text_cols == NULL) {
		if (text_count > 1)
			fputc('\n', f);
		print_kv(f, rec, 0, false);
		return;
	}
	if (text_rows == text_cap) {
		size_t cap = text_cap ? text_cap * 2 : 64;
		char **nc = realloc(cells, cap * (size_t)text_ncols * sizeof *nc);

		if (nc == NULL)
			return;
		cells = nc;
		text_cap = cap;
	}
	for (int c = 0; c < text_ncols; c++) {
		const msgpack_object *v = map_get(rec, text_cols[c].key);
		struct sbuf b = { 0 };

		if (v != NULL)
			text_of(&b, v);
		if (b.p == NULL)
			sb_put(&b, "", 0);
		if (text_cols[c].shorten && b.p && strlen(b.p) >
		    (size_t)text_cols[c].shorten)
			b.p[text_cols[c].shorten] = '\0';
		/* A record in conflict is marked after its id. */
		if (c == 0 && strcmp(text_cols[c].key, "id") == 0) {
			const msgpack_object *cf = map_get(rec, "conflict");

			if (cf && cf->type == MSGPACK_OBJECT_BOOLEAN &&
			    cf->via.boolean)
				sb_put(&b, "*", 1);
		}
		cells[text_rows * (size_t)text_ncols + (size_t)c] = b.p;
	}
	text_rows++;
}

static void
text_end(FILE *f)
{
	size_t w[MAX_COLS] = { 0 }, total = 0;
	struct winsize ws;
	size_t term = 0;

	if (text_mode != OUT_LIST || text_cols == NULL)
		goto out;
	if (text_rows == 0)
		goto out;
	for (int c = 0; c < text_ncols; c++) {
		w[c] = strlen(text_cols[c].head);
		for (size_t r = 0; r < text_rows; r++) {
			const char *s = cells[r * (size_t)text_ncols + (size_t)c];
			size_t cw = s ? utf8_width(s, strlen(s)) : 0;

			if (cw > w[c])
				w[c] = cw;
		}
		total += w[c] + (c ? 2 : 0);
	}
	if (isatty(fileno(f)) && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col > 20)
		term = ws.ws_col;
	while (term && total > term) {
		int widest = 0;

		for (int c = 1; c < text_ncols; c++)
			if (w[c] > w[widest])
				widest = c;
		if (w[widest] <= 6)
			break;
		w[widest]--;
		total--;
	}
	for (int c = 0; c < text_ncols; c++)
		fprintf(f, "%s%-*s", c ? "  " : "",
		    c == text_ncols - 1 ? 0 : (int)w[c], text_cols[c].head);
	fputc('\n', f);
	for (size_t r = 0; r < text_rows; r++) {
		for (int c = 0; c < text_ncols; c++) {
			const char *s = cells[r * (size_t)text_ncols + (size_t)c];

			fputs(c ? "  " : "", f);
			size_t cw = print_fit(f, s ? s : "", w[c]);

			if (c < text_ncols - 1)
				fprintf(f, "%*s", (int)(w[c] - cw), "");
		}
		fputc('\n', f);
	}
out:
	for (size_t i = 0; i < text_rows * (size_t)text_ncols; i++)
		free(cells[i]);
	free(cells);
	cells = NULL;
	text_rows = text_cap = 0;
}

const struct output output_text = {
	text_begin,
	text_record,
	text_end,
};

const struct output *
output_pick(bool json)
{
	return json ? &output_json : &output_text;
}
