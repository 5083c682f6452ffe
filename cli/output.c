/*
 * output.c - the text backend: aligned tables for lists, "key: value"
 * blocks for single objects, the bare id for additions.
 *
 * Widths are counted in code points, not bytes, so "Väsby" lines up with
 * "Vasby".  On a terminal (as wide as COLUMNS says, else as the terminal
 * says) the table is fitted to its width by shrinking the widest column
 * but the ids: a record list ends cut cells with an ellipsis, history
 * wraps them at spaces onto further lines and cuts nothing.  Into a pipe
 * nothing is cut or wrapped: a row is one line.  An empty list on a
 * terminal says so.
 *
 * Times (created, updated, an event's time...) arrive as RFC 3339 UTC
 * and print as local time with the offset, "2026-12-01 22:06:21 +01:00"
 * (TZ honoured); a yes/no value prints yes or no.
 *
 * Text comes from other members' nodes and is printed only escaped
 * (text_escape): no control character and no invalid UTF-8 reaches the
 * terminal, and widths count the escaped form.  A table cell is one line
 * (a line break shows as \n); in a "key: value" block a value's lines go
 * on under the value's column.  Map entries whose key is not a string are
 * left out.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "output.h"
#include "records.h"

#define MAX_COLS 8

struct column {
	const char *head;
	const char *key;
	int shorten; /* show only this many characters (ids), 0: all; such
	                a column is never narrowed further */
};

/*
 * Which fields a record list shows, and in what order: a presentation
 * choice, one table keyed by field name for every kind.  A kind's table
 * is ID, then those of its fields named here, by rank (ties in the
 * schema's order); a field not named here shows in `show` and in JSON
 * only (but a kind with no field named here shows those it requires or
 * sorts by).  A reference shows the name replies carry beside it where
 * there is one (records_ref_name), under head.
 */
static const struct {
	const char *field;
	int rank;
	const char *head;   /* NULL: the field's name in capitals */
} shown[] = {
	{ "date", 1, NULL },
	{ "status", 1, NULL },
	{ "name", 2, NULL },
	{ "title", 2, NULL },
	{ "kind", 3, NULL },
	{ "org", 3, "ORGANISATION" },
	{ "role", 4, NULL },
	{ "municipality", 5, NULL },
	{ "body", 6, NULL },
	{ "email", 6, NULL },
	{ "iop", 6, NULL },
	{ "due", 1, NULL },
	{ "type", 3, NULL },
	{ "owner", 3, NULL },
	{ "parties", 3, NULL },
	{ "start", 4, NULL },
	{ "end", 4, NULL },
};

static const struct {
	const char *name;
	bool wrap;   /* on a terminal, wrap long cells instead of cutting */
	struct column cols[MAX_COLS];
} layouts[] = {
	{ "history", true, { { "ON", "on", 0 }, { "TIME", "time", 0 },
	    { "ORG", "org", 0 },
	    { "AUTHOR", "author", 0 }, { "TYPE", "type", 0 },
	    { "EFFECT", "effect", 0 }, { "CHANGES", "changes", 0 },
	    { NULL, NULL, 0 } } },
	{ "records", false, { { "ID", "id", 10 }, { "RECORD", "record", 0 },
	    { "NAME", "label", 0 }, { "ON", "on", 0 }, { NULL, NULL, 0 } } },
	{ "peer", false, { { "NAME", "name", 0 }, { "NODE ID", "node_id", 10 },
	    { "ADDRESS", "addr", 0 }, { "CONNECTED", "connected", 0 },
	    { "LAST CONTACT", "last_contact", 0 }, { "BEHIND", "behind", 0 },
	    { "AHEAD", "ahead", 0 }, { NULL, NULL, 0 } } },
	{ "member", false, { { "NAME", "name", 0 },
	    { "FINGERPRINT", "fingerprint", 0 }, { "STATUS", "status", 0 },
	    { "ADMITTED", "admitted", 0 }, { "BY", "admitted_by", 0 },
	    { "EVENTS", "events", 0 }, { NULL, NULL, 0 } } },
	{ "device", false, { { "ORG", "org", 0 }, { "NAME", "name", 0 },
	    { "FINGERPRINT", "fingerprint", 0 }, { "STATUS", "status", 0 },
	    { "ADDED", "added", 0 }, { "EVENTS", "events", 0 },
	    { NULL, NULL, 0 } } },
	{ "log", false, { { "#", "arrival", 0 }, { "ORIGIN", "origin", 10 },
	    { "SEQ", "seq", 0 }, { "TIME", "time", 0 },
	    { "AUTHOR", "author", 0 }, { "TYPE", "type", 0 },
	    { NULL, NULL, 0 } } },
};

/* The keys whose values are times (RFC 3339 UTC in replies). */
static const char *const time_keys[] = { "time", "created", "updated",
	"clock", "last_contact", "exported", "admitted", "retired",
	"first_time", "last_time", "since", "added", "revoked", "last_run",
	"made",
	NULL };

static enum out_mode text_mode;
static const char *text_table;
static bool text_wrap, text_filtered;
static struct column kind_cols[MAX_COLS];
static char kind_heads[MAX_COLS][SL_FIELD_NAME_MAX + 1];
static char kind_keys[MAX_COLS][SL_FIELD_NAME_MAX + 8];
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

size_t
utf8_seq(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t v;
	size_t k;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		k = 1;
		v = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		k = 2;
		v = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		k = 3;
		v = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n - 1 < k)
		return 0;
	for (size_t j = 1; j <= k; j++) {
		if ((s[j] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[j] & 0x3f);
	}
	if ((k == 2 && v < 0x800) || (k == 3 && v < 0x10000) ||
	    (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
		return 0;
	*cp = v;
	return k + 1;
}

void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->p != NULL && n == 0)
		return;   /* an empty string's pointer may be NULL */
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
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
text_escape(struct sbuf *b, const char *str, size_t n, bool lines)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;

	if (n == 0)
		return;   /* str may be NULL */
	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t k;
		char e[8];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (k = utf8_seq(str + i, n - i, &cp)) > 0 &&
		    cp > 0x9f) {
			i += k;
			continue;
		}
		/* Up to here the text is printed as it is. */
		sb_put(b, str + run, i - run);
		if (c == '\\')
			sb_put(b, "\\\\", 2);
		else if (c == '\n')
			sb_put(b, lines ? "\n" : "\\n", lines ? 1 : 2);
		else if (c == '\t')
			sb_put(b, "\\t", 2);
		else
			sb_put(b, e, (size_t)snprintf(e, sizeof e, "\\x%02x", c));
		run = ++i;
	}
	sb_put(b, str + run, n - run);
}

void
text_put(FILE *f, const char *s, size_t n)
{
	struct sbuf b = { 0 };

	text_escape(&b, s, n, false);
	if (b.p != NULL)
		fputs(b.p, f);
	free(b.p);
}

static FILE *error_sink;

void
cli_error_to(FILE *f)
{
	error_sink = f;
}

void
cli_verror(const char *fmt, va_list ap)
{
	va_list aq;
	char small[512], *msg = small;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(small, sizeof small, fmt, ap);
	if (n >= (int)sizeof small && (msg = malloc((size_t)n + 1)) != NULL)
		vsnprintf(msg, (size_t)n + 1, fmt, aq);
	else if (msg == NULL)
		msg = small;    /* out of memory: the message cut short */
	va_end(aq);
	if (error_sink != NULL) {
		fputs(msg, error_sink);
		fputc('\n', error_sink);
	} else {
		fputs("samlog: ", stderr);
		text_put(stderr, msg, n < 0 ? 0 : strlen(msg));
		fputc('\n', stderr);
	}
	if (msg != small)
		free(msg);
}

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_verror(fmt, ap);
	va_end(ap);
}

bool
map_key(const msgpack_object_kv *kv, const char **key, size_t *len)
{
	if (kv->key.type != MSGPACK_OBJECT_STR)
		return false;
	*key = kv->key.via.str.ptr;
	*len = kv->key.via.str.size;
	return true;
}

/* Appends the text form of o; lines: a string's line breaks stay line
 * breaks (a "key: value" block), else they show as \n (a table cell). */
static void
text_of(struct sbuf *b, const msgpack_object *o, bool lines)
{
	char num[32];
	const char *k;
	size_t kl;
	bool first = true;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		sb_put(b, o->via.boolean ? "yes" : "no", o->via.boolean ? 3 : 2);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(num, sizeof num, "%" PRIu64, o->via.u64);
		sb_put(b, num, strlen(num));
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		snprintf(num, sizeof num, "%" PRId64, o->via.i64);
		sb_put(b, num, strlen(num));
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		snprintf(num, sizeof num, "%g", o->via.f64);
		sb_put(b, num, strlen(num));
		break;
	case MSGPACK_OBJECT_STR:
		text_escape(b, o->via.str.ptr, o->via.str.size, lines);
		break;
	case MSGPACK_OBJECT_BIN:
		text_escape(b, o->via.bin.ptr, o->via.bin.size, lines);
		break;
	case MSGPACK_OBJECT_ARRAY:
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				sb_put(b, ", ", 2);
			text_of(b, &o->via.array.ptr[i], lines);
		}
		break;
	case MSGPACK_OBJECT_MAP:
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];

			if (!map_key(kv, &k, &kl))
				continue;
			if (!first)
				sb_put(b, ", ", 2);
			first = false;
			text_escape(b, k, kl, false);
			sb_put(b, "=", 1);
			text_of(b, &kv->val, lines);
		}
		break;
	default:
		sb_put(b, "?", 1);
	}
}

const msgpack_object *
map_get(const msgpack_object *m, const char *key)
{
	size_t n = strlen(key), kl;
	const char *k;

	if (m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < m->via.map.size; i++)
		if (map_key(&m->via.map.ptr[i], &k, &kl) && kl == n &&
		    memcmp(k, key, n) == 0)
			return &m->via.map.ptr[i].val;
	return NULL;
}

void
output_set_filtered(bool filtered)
{
	text_filtered = filtered;
}

/* The text of value o of key (length kl) into b: a time as local time
 * with its offset, anything else as text_of makes it. */
static void
value_text(struct sbuf *b, const char *key, size_t kl,
    const msgpack_object *o, bool lines)
{
	char in[64], out[64];
	struct sl_time_parts tp;
	int64_t ms;
	bool is_time = false;

	for (const char *const *k = time_keys; *k && !is_time; k++)
		is_time = strlen(*k) == kl && memcmp(*k, key, kl) == 0;
	if (is_time && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size < sizeof in) {
		memcpy(in, o->via.str.ptr, o->via.str.size);
		in[o->via.str.size] = '\0';
		if (sl_time_parse_parts(in, &tp) == SL_OK &&
		    tp.kind == SL_TIME_OFFSET &&
		    sl_time_parse(in, &ms, NULL) == SL_OK) {
			sl_time_format_local(ms, out, sizeof out);
			sb_put(b, out, strlen(out));
			return;
		}
	}
	text_of(b, o, lines);
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

/* A field's rank in k's table (0: not shown).  A kind none of whose
 * fields the table names shows the fields it requires or sorts by. */
static int
shown_rank(const struct sl_kind *k, const struct sl_field *f,
    const char **head)
{
	bool any = false;

	for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++) {
		if (strcmp(shown[i].field, f->name) == 0) {
			*head = shown[i].head;
			return shown[i].rank;
		}
		for (uint32_t j = 0; j < k->nfields && !any; j++)
			any = strcmp(shown[i].field, k->fields[j].name) == 0;
	}
	return !any && (f->flags & (SL_FF_REQUIRED | SL_FF_SORT)) ? 1 : 0;
}

/* The fields kind k's list shows, in order, into f and their headings
 * into head (NULL: the name in capitals); their count, at most
 * MAX_COLS - 2. */
static int
kind_shown(const struct sl_kind *k, const struct sl_field **f,
    const char **head)
{
	int rank[MAX_COLS], n = 0;

	/* The fields shown, sorted by rank (an insertion sort: stable, so
	 * ties keep the schema's order). */
	for (uint32_t i = 0; i < k->nfields; i++) {
		const char *h = NULL;
		int r = shown_rank(k, &k->fields[i], &h), j;

		if (r == 0)
			continue;
		if (n == MAX_COLS - 2)
			break;     /* with ID and the end mark: full */
		for (j = n++; j > 0 && rank[j - 1] > r; j--) {
			f[j] = f[j - 1];
			head[j] = head[j - 1];
			rank[j] = rank[j - 1];
		}
		f[j] = &k->fields[i];
		head[j] = h;
		rank[j] = r;
	}
	return n;
}

size_t
output_list_fields(const char *table, const char **names, size_t max)
{
	const struct sl_kind *k = table != NULL ? records_kind(table) : NULL;
	const struct sl_field *f[MAX_COLS];
	const char *head[MAX_COLS];
	int n;

	if (k == NULL)
		return 0;
	n = kind_shown(k, f, head);
	for (int i = 0; i < n && (size_t)i < max; i++)
		names[i] = f[i]->name;
	return (size_t)n < max ? (size_t)n : max;
}

/* The columns of kind k's list into kind_cols; their count. */
static int
kind_layout(const struct sl_kind *k)
{
	const struct sl_field *f[MAX_COLS];
	const char *head[MAX_COLS];
	int n = kind_shown(k, f, head);

	kind_cols[0] = (struct column){ "ID", "id", 10 };
	for (int c = 1; c <= n; c++) {
		const struct sl_field *fd = f[c - 1];
		size_t j;

		if (!records_ref_name(fd, kind_keys[c], sizeof kind_keys[c]))
			snprintf(kind_keys[c], sizeof kind_keys[c], "%s",
			    fd->name);
		if (head[c - 1] == NULL) {
			for (j = 0; j < SL_FIELD_NAME_MAX && fd->name[j] != '\0';
			    j++)
				kind_heads[c][j] = (char)toupper(
				    (unsigned char)fd->name[j]);
			kind_heads[c][j] = '\0';
			head[c - 1] = kind_heads[c];
		}
		kind_cols[c] = (struct column){ head[c - 1], kind_keys[c], 0 };
	}
	kind_cols[n + 1] = (struct column){ NULL, NULL, 0 };
	return n + 1;
}

static void
text_begin(FILE *f, enum out_mode mode, const char *table)
{
	const struct sl_kind *k;

	(void)f;
	text_mode = mode;
	text_count = 0;
	text_cols = NULL;
	text_ncols = 0;
	text_table = table;
	text_wrap = false;
	if (table != NULL && (k = records_kind(table)) != NULL) {
		text_ncols = kind_layout(k);
		text_cols = kind_cols;
		return;
	}
	for (size_t i = 0; table && i < sizeof layouts / sizeof layouts[0];
	    i++) {
		if (strcmp(layouts[i].name, table) == 0) {
			text_cols = layouts[i].cols;
			text_wrap = layouts[i].wrap;
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

/* The key of kv escaped into k, and its width; false if it is no
 * string. */
static bool
key_text(const msgpack_object_kv *kv, struct sbuf *k, size_t *w)
{
	const char *s;
	size_t n;

	if (!map_key(kv, &s, &n))
		return false;
	*k = (struct sbuf){ 0 };
	text_escape(k, s, n, false);
	if (k->p == NULL)
		sb_put(k, "", 0);
	*w = k->p != NULL ? utf8_width(k->p, k->len) : 0;
	return k->p != NULL;
}

/* s, whose line breaks each go on at column col. */
static void
print_lines(FILE *f, const char *s, size_t col)
{
	for (const char *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1)
		fprintf(f, "%.*s\n%*s", (int)(nl - s), s, (int)col, "");
	fprintf(f, "%s\n", s);
}

/* In a record, a key shown through another: the names a reference
 * brings (FIELD_name, FIELD_names, shown with the reference) and the
 * label (its name or title). */
static bool
shown_elsewhere(const msgpack_object *rec, const char *k, size_t n)
{
	char key[SL_FIELD_NAME_MAX + 8], base[SL_FIELD_NAME_MAX + 8];
	size_t bl;

	if (map_get(rec, "record") == NULL || n >= sizeof key)
		return false;
	memcpy(key, k, n);
	key[n] = '\0';
	if (strcmp(key, "label") == 0)
		return true;
	if (!records_is_ref_name(key))
		return false;
	bl = n - (key[n - 1] == 's' ? 6 : 5);
	memcpy(base, key, bl);
	base[bl] = '\0';
	return map_get(rec, base) != NULL;
}

/* A reference with the names its record brings: "Name (id prefix)",
 * several separated by commas; false if rec has no names for key. */
static bool
ref_text(struct sbuf *b, const msgpack_object *rec, const char *k, size_t n,
    const msgpack_object *v)
{
	char nk[SL_FIELD_NAME_MAX + 8];
	const msgpack_object *names;
	const msgpack_object *ids = v;
	uint32_t cnt = 1;

	if (map_get(rec, "record") == NULL || n + 7 > sizeof nk)
		return false;
	snprintf(nk, sizeof nk, "%.*s_name%s", (int)n, k,
	    v->type == MSGPACK_OBJECT_ARRAY ? "s" : "");
	if ((names = map_get(rec, nk)) == NULL)
		return false;
	if (v->type == MSGPACK_OBJECT_ARRAY) {
		if (names->type != MSGPACK_OBJECT_ARRAY ||
		    names->via.array.size != v->via.array.size)
			return false;
		cnt = v->via.array.size;
	} else if (v->type != MSGPACK_OBJECT_STR) {
		return false;
	}
	for (uint32_t i = 0; i < cnt; i++) {
		const msgpack_object *id = v->type == MSGPACK_OBJECT_ARRAY ?
		    &ids->via.array.ptr[i] : v;
		const msgpack_object *nm = v->type == MSGPACK_OBJECT_ARRAY ?
		    &names->via.array.ptr[i] : names;

		if (i > 0)
			sb_put(b, ", ", 2);
		if (nm->type == MSGPACK_OBJECT_STR) {
			text_escape(b, nm->via.str.ptr, nm->via.str.size, false);
			sb_put(b, " (", 2);
		}
		if (id->type == MSGPACK_OBJECT_STR)
			text_escape(b, id->via.str.ptr, id->via.str.size > 10 &&
			    nm->type == MSGPACK_OBJECT_STR ? 10 :
			    id->via.str.size, false);
		if (nm->type == MSGPACK_OBJECT_STR)
			sb_put(b, ")", 1);
	}
	if (b->p == NULL)
		sb_put(b, "", 0);
	return true;
}

/* A map as "key: value" lines at indent, the values aligned and a
 * value's further lines under its first; item marks the first line "- "
 * (an element of a list).  Arrays of maps (a status's peers, a record's
 * competing edits), and at the top level maps, become indented blocks.
 * Entries whose key is not a string, and elements of those arrays that
 * are not maps, are left out. */
static void
print_kv(FILE *f, const msgpack_object *rec, int indent, bool item)
{
	size_t w = 0, kw;
	struct sbuf k;
	bool first = true;

	if (rec->type != MSGPACK_OBJECT_MAP)
		return;
	for (uint32_t i = 0; i < rec->via.map.size; i++) {
		const msgpack_object_kv *kv = &rec->via.map.ptr[i];

		if (!key_text(kv, &k, &kw))
			continue;
		if (kw > w && !shown_elsewhere(rec, kv->key.via.str.ptr,
		    kv->key.via.str.size))
			w = kw;
		free(k.p);
	}
	for (uint32_t i = 0; i < rec->via.map.size; i++) {
		const msgpack_object_kv *kv = &rec->via.map.ptr[i];
		struct sbuf b = { 0 };
		int pad = indent;

		if (!key_text(kv, &k, &kw))
			continue;
		if (shown_elsewhere(rec, kv->key.via.str.ptr,
		    kv->key.via.str.size)) {
			free(k.p);
			continue;
		}
		if (item && first) {
			fprintf(f, "%*s- ", indent - 2, "");
			pad = 0;
		}
		first = false;
		if (is_map_array(&kv->val)) {
			fprintf(f, "%*s%s:\n", pad, "", k.p);
			for (uint32_t j = 0; j < kv->val.via.array.size; j++)
				print_kv(f, &kv->val.via.array.ptr[j],
				    indent + 4, true);
		} else if (indent == 0 && kv->val.type == MSGPACK_OBJECT_MAP &&
		    kv->val.via.map.size > 0) {
			fprintf(f, "%s:\n", k.p);
			print_kv(f, &kv->val, 2, false);
		} else {
			if (!ref_text(&b, rec, kv->key.via.str.ptr,
			    kv->key.via.str.size, &kv->val))
				value_text(&b, kv->key.via.str.ptr,
				    kv->key.via.str.size, &kv->val, true);
			fprintf(f, "%*s%s:%*s ", pad, "", k.p, (int)(w - kw), "");
			print_lines(f, b.p ? b.p : "", (size_t)indent + w + 2);
			free(b.p);
		}
		free(k.p);
	}
}

/* Cuts b after n code points. */
static void
cut_cps(struct sbuf *b, size_t n)
{
	size_t cp = 0;

	for (size_t i = 0; i < b->len; i++)
		if (((unsigned char)b->p[i] & 0xc0) != 0x80 && cp++ == n) {
			b->p[i] = '\0';
			b->len = i;
			return;
		}
}

static void
text_record(FILE *f, const msgpack_object *rec)
{
	text_count++;
	if (text_mode == OUT_ID) {
		const msgpack_object *id = map_get(rec, "id");

		if (id != NULL && id->type == MSGPACK_OBJECT_STR) {
			text_put(f, id->via.str.ptr, id->via.str.size);
			fputc('\n', f);
		}
		return;
	}
	if (text_mode == OUT_LINE) {
		if (rec->type == MSGPACK_OBJECT_MAP && rec->via.map.size > 0 &&
		    rec->via.map.ptr[0].val.type == MSGPACK_OBJECT_STR) {
			text_put(f, rec->via.map.ptr[0].val.via.str.ptr,
			    rec->via.map.ptr[0].val.via.str.size);
			fputc('\n', f);
		}
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
			value_text(&b, text_cols[c].key,
			    strlen(text_cols[c].key), v, false);
		/* A history entry's erased values: who erased each, where
		 * the value was (the changes show it as empty). */
		if (strcmp(text_cols[c].key, "changes") == 0) {
			const msgpack_object *er = map_get(rec, "erased");

			if (er != NULL && er->type == MSGPACK_OBJECT_MAP &&
			    er->via.map.size > 0) {
				if (b.p != NULL && b.len > 0)
					sb_put(&b, "; ", 2);
				sb_put(&b, "(", 1);
				text_of(&b, er, false);
				sb_put(&b, ")", 1);
			}
		}
		if (b.p == NULL)
			sb_put(&b, "", 0);
		if (text_cols[c].shorten && b.p != NULL)
			cut_cps(&b, (size_t)text_cols[c].shorten);
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

/* The width of the terminal f is, or 0 if it is none: COLUMNS when it
 * holds a sensible number, else what the terminal says. */
static size_t
term_width(FILE *f)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	char *end;
	long n;

	if (!isatty(fileno(f)))
		return 0;
	if (env != NULL && *env != '\0') {
		n = strtol(env, &end, 10);
		if (*end == '\0' && n > 0 && n <= 10000)
			return (size_t)n;
	}
	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

/*
 * The next line of s wrapped at w code points (w >= 1): as many words
 * as fit, broken at a space; a word longer than w is broken after w code
 * points (never inside a character).  Returns its length in bytes and
 * moves *s past it and the spaces after it.
 */
static size_t
wrap_next(const char **s, size_t w)
{
	const char *p = *s;
	size_t cp = 0, i = 0, brk = 0, end;

	while (p[i] != '\0') {
		if (p[i] == ' ' && cp <= w)
			brk = i;     /* the last space that ends a line in time */
		if (((unsigned char)p[i] & 0xc0) != 0x80) {
			if (cp == w)
				break;   /* p[i] starts the (w+1)th character */
			cp++;
		}
		i++;
	}
	/* The rest fits, or a word ends exactly at the edge, or one long
	 * word is broken there; else the line ends at the last space. */
	end = p[i] != '\0' && p[i] != ' ' && brk > 0 ? brk : i;
	*s = p + end;
	while (**s == ' ')
		(*s)++;
	while (end > 0 && p[end - 1] == ' ')
		end--;
	return end;
}

/* The longest word of s in code points. */
static size_t
longest_word(const char *s)
{
	size_t best = 0, cur = 0;

	for (; *s; s++) {
		if (*s == ' ') {
			cur = 0;
			continue;
		}
		if (((unsigned char)*s & 0xc0) != 0x80 && ++cur > best)
			best = cur;
	}
	return best;
}

/* Narrows the widest column (ids never, nor column skip) to fit total
 * into term, none below its floor; returns the new total. */
static size_t
narrow(size_t *w, const size_t *floor, size_t total, size_t term, int skip)
{
	while (total > term) {
		int widest = -1;

		for (int c = 0; c < text_ncols; c++)
			if (!text_cols[c].shorten && c != skip && w[c] > floor[c] &&
			    (widest < 0 || w[c] > w[widest]))
				widest = c;
		if (widest < 0)
			break;
		w[widest]--;
		total--;
	}
	return total;
}

/* One row whose cells wrap within their widths, over as many lines as
 * the tallest cell needs. */
static void
print_wrapped(FILE *f, const char *const *row, const size_t *w)
{
	const char *at[MAX_COLS];
	bool more = true;

	for (int c = 0; c < MAX_COLS; c++)
		at[c] = c < text_ncols && row[c] ? row[c] : "";
	while (more) {
		size_t pad = 0;

		more = false;
		for (int c = 0; c < text_ncols; c++) {
			const char *start = at[c];
			size_t n = *at[c] ? wrap_next(&at[c], w[c]) : 0;
			size_t cw = utf8_width(start, n);

			if (n > 0) {
				fprintf(f, "%*s%s%.*s", (int)pad, "", c ? "  " : "",
				    (int)n, start);
				pad = 0;
			} else {
				pad += c ? 2 : 0;
			}
			pad += w[c] - (cw < w[c] ? cw : w[c]);
			more = more || *at[c] != '\0';
		}
		fputc('\n', f);
	}
}

/* What an empty list says on a terminal. */
static void
print_empty(FILE *f)
{
	const char *t = text_table ? text_table : "";

	if (records_kind(t) != NULL)
		fprintf(f, "no %s records%s\n", t, text_filtered ? " match" : "");
	else if (strcmp(t, "peer") == 0)
		fprintf(f, "no peers\n");
	else if (strcmp(t, "records") == 0)
		fprintf(f, "no records\n");
	else
		fprintf(f, "no events\n");
}

static void
text_end(FILE *f)
{
	size_t w[MAX_COLS] = { 0 }, floor[MAX_COLS] = { 0 }, total = 0;
	size_t term = term_width(f);

	if (text_mode != OUT_LIST)
		goto out;
	/* Before any row there are no columns yet (a kind's are made from
	 * its first record). */
	if (text_rows == 0) {
		if (isatty(fileno(f)))
			print_empty(f);
		goto out;
	}
	if (text_cols == NULL)
		goto out;
	for (int c = 0; c < text_ncols; c++) {
		size_t word = text_wrap ? longest_word(text_cols[c].head) : 0;

		w[c] = strlen(text_cols[c].head);
		for (size_t r = 0; r < text_rows; r++) {
			const char *s = cells[r * (size_t)text_ncols + (size_t)c];
			size_t cw = s ? utf8_width(s, strlen(s)) : 0;

			if (cw > w[c])
				w[c] = cw;
			if (text_wrap && s && longest_word(s) > word)
				word = longest_word(s);
		}
		total += w[c] + (c ? 2 : 0);
		/* A wrapped column keeps its words whole while it can (up
		 * to 16 characters of them); a cut one keeps 6. */
		floor[c] = text_wrap ? (word < 16 ? word : 16) : 6;
		if (floor[c] == 0)
			floor[c] = 1;
	}
	if (term > 0 && total > term && !text_wrap) {
		(void)narrow(w, floor, total, term, -1);
	} else if (term > 0 && total > term) {
		/* Wrapped: first the last column (the free text: CHANGES)
		 * down to a third of the terminal, then the others down to
		 * their longest word, then below it (a word broken across
		 * lines), then any column. */
		int last = text_ncols - 1;
		size_t keep = term / 3 > 20 ? term / 3 : 20, wf[MAX_COLS] = { 0 };

		for (int c = 0; c < text_ncols; c++) {
			wf[c] = floor[c];
			floor[c] = c == last ? (w[c] < keep ? w[c] : keep) : w[c];
		}
		total = narrow(w, floor, total, term, -1);
		total = narrow(w, wf, total, term, last);
		for (int c = 0; c < last; c++)
			floor[c] = wf[c] < 4 ? wf[c] : 4;
		total = narrow(w, floor, total, term, last);
		for (int c = 0; c < text_ncols; c++)
			floor[c] = 1;
		(void)narrow(w, floor, total, term, -1);
	}
	if (text_wrap) {
		const char *heads[MAX_COLS] = { NULL };

		for (int c = 0; c < text_ncols; c++)
			heads[c] = text_cols[c].head;
		print_wrapped(f, heads, w);
		for (size_t r = 0; r < text_rows; r++)
			print_wrapped(f, (const char *const *)&cells[r *
			    (size_t)text_ncols], w);
		goto out;
	}
	/* Headings are cut like cells, so no line is wider than the
	 * terminal. */
	for (int c = 0; c < text_ncols; c++) {
		fputs(c ? "  " : "", f);
		size_t hw = print_fit(f, text_cols[c].head, w[c]);

		if (c < text_ncols - 1)
			fprintf(f, "%*s", (int)(w[c] - hw), "");
	}
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

static bool json_chosen;

void
output_set_json(bool json)
{
	json_chosen = json;
}

void
output_imported(const char *file, const uint64_t n[4], bool detailed)
{
	static const char *const what[] = { "added", "updated", "unchanged",
		"skipped" };
	bool first = true;

	if (json_chosen) {
		fprintf(stdout, "{\"imported\": %" PRIu64 ", ", n[0] + n[1]);
		for (int i = 0; i < 4; i++)
			fprintf(stdout, "\"%s\": %" PRIu64 ", ", what[i], n[i]);
		fputs("\"file\": ", stdout);
		json_text(stdout, file, strlen(file));
		fputs("}\n", stdout);
		return;
	}
	printf("imported %" PRIu64 " record%s from ", n[0] + n[1],
	    n[0] + n[1] == 1 ? "" : "s");
	text_put(stdout, file, strlen(file));
	if (detailed && n[0] != n[0] + n[1] + n[2] + n[3]) {
		for (int i = 0; i < 4; i++) {
			if (n[i] == 0)
				continue;
			printf("%s%" PRIu64 " %s", first ? " (" : ", ", n[i],
			    what[i]);
			first = false;
		}
		fputs(")", stdout);
	}
	putchar('\n');
}

const struct output *
output_pick(bool json)
{
	return json ? &output_json : &output_text;
}
