/*
 * import.c - samlog import FILE: records from CSV or JSON Lines.
 *
 * The file is read and parsed here, row by row, into the same add
 * requests the CLI sends for `samlog KIND add`; syntax errors are
 * reported with their line before the daemon is asked anything.  The rows
 * then go to the daemon in chunks (import.rows) and are written in one
 * commit (import.commit): every row, or none, with each bad row reported
 * by its line.  The daemon decides per row whether it adds a record,
 * updates the one its id names (only what differs), leaves it unchanged,
 * or skips it because a record of that name exists (unless --force).
 *
 * The file is what an office's spreadsheet saves: UTF-8 with or without
 * a BOM, or else Windows-1252 (Excel's "CSV"), converted here with one
 * note saying so; lines end in LF, CRLF or CR.  A CSV's separator is
 * ',', ';' or a tab, whichever the header row (outside quotes) uses
 * most.  Line numbers are the file's physical lines, line breaks inside
 * quoted cells counted.  A cell that begins with ' (or several) before a
 * character a spreadsheet would run as a formula (= + - @ tab CR) loses
 * one ': export puts it there.
 *
 * Fields are the schema's (protocol/schema.c): a column or key is a
 * field's name, its flag or its Swedish label (protocol/labels.c), and
 * goes to the daemon under the field's flag, as `samlog KIND add` sends
 * it.  List fields are JSON arrays, or in CSV one cell with values
 * separated by ';'; a bool is true or false (also yes/no, ja/nej,
 * sant/falskt, 1/0, x or empty in CSV).  The keys an export adds (id,
 * record, the reply's created, updated, author, conflict, competing,
 * and org_name beside a reference) are understood: an id names the
 * record a row updates (or, from another node, lets references between
 * the imported records be kept), `record` names the kind, a record's
 * state (a decision's status) is reached through its lifecycle by the
 * daemon, and fields the creating event cannot carry (a decision's
 * reason) are passed over.  A reference may also be given as text other
 * than an id; the daemon says what it accepts.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "import.h"
#include "output.h"
#include "records.h"
#include "request.h"
#include "samlog_proto.h"

#define IMPORT_FILE_MAX (256u << 20)
#define CHUNK_BYTES (512u << 10)
#define MAX_FIELDS 128
#define MAX_ERRORS 20

struct field {
	char *key;             /* the column's header or JSON key */
	enum { F_ARG, F_SKIP, F_ID } use;
	const struct sl_field *sf; /* F_ARG: the schema's field */
	char *val;             /* string value (list: joined by '\n') */
	bool list, is_bool, truth;
};

struct row {
	unsigned line;
	struct field f[MAX_FIELDS];
	int n;
};

struct importer {
	const char *file;
	const char *kind_flag;   /* --kind, or NULL */
	struct sl_buf rows;      /* [line, body] pairs, packed */
	size_t nrows;
	unsigned errors;
	bool quiet;              /* count bad rows, print nothing */
	bool force;              /* add rows whose name exists already */
	bool fatal;              /* the file as a whole was refused (said) */
};

/* Keys of a record as replies carry it that are no field of it. */
static const char *const ignored[] = { "created", "updated", "author",
	"conflict", "competing", "label", "on", "created_on", NULL };

static bool
in_list(const char *w, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(w, *set) == 0)
			return true;
	return false;
}

static void row_error(struct importer *im, unsigned line, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
static void
row_error(struct importer *im, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char why[1024];

	if (im->errors++ < MAX_ERRORS) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof why, fmt, ap);
		va_end(ap);
		if (!im->quiet)
			cli_error("%s:%u: %s", im->file, line, why);
	}
}

static struct field *
row_get(struct row *r, const char *key)
{
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->f[i].key, key) == 0)
			return &r->f[i];
	return NULL;
}

/* True if key names no field but what import knows besides: id, record,
 * kind, the reply's keys, a reference's name key (in any case, with
 * spaces around); *out (at least 64 bytes) then gets the key as the
 * import spells it. */
static bool
special_key(const char *key, char *out)
{
	static const char *const words[] = { "id", "record", "kind",
		"created", "updated", "author", "conflict", "competing",
		NULL };
	size_t n;

	while (*key == ' ')
		key++;
	n = strlen(key);
	while (n > 0 && key[n - 1] == ' ')
		n--;
	out[0] = '\0';
	if (n >= 64)
		return false;
	sl_text_fold(key, n, out, 64);
	return in_list(out, words) || records_is_ref_name(out);
}

static bool
is_list(const struct sl_field *f)
{
	return f->type == SL_F_REFS || f->type == SL_F_TEXTS;
}

/* A CSV truth value: true, false, or neither (*ok false). */
static bool
truth_of(const char *v, bool *ok)
{
	static const char *const yes[] = { "true", "yes", "ja", "sant", "1",
		"x", NULL };
	static const char *const no[] = { "false", "no", "nej", "falskt",
		"0", "", NULL };
	char f[16];

	*ok = true;
	if (strlen(v) >= sizeof f) {
		*ok = false;
		return false;
	}
	sl_text_fold(v, strlen(v), f, sizeof f);
	if (in_list(f, yes))
		return true;
	*ok = in_list(f, no);
	return false;
}

/*
 * What column i's header means for kind sk: COL_SKIP (not a field: the
 * id, the record kind, a name that comes with a reference, a reply-only
 * key), COL_UNKNOWN, or COL_FIELD with *sf and *idx.  Remembered per
 * column, as every row of a file has the same header: matching it
 * (folding, Swedish labels) for each cell was most of an import's time.
 */
enum { COL_SKIP, COL_UNKNOWN, COL_FIELD };

static int
col_meaning(const struct sl_kind *sk, bool kind_is_record, int i,
    const char *key, const struct sl_field **sf, uint32_t *idx)
{
	static struct {
		const struct sl_kind *k;
		bool kir, valid;
		char key[64];
		int what;
		const struct sl_field *sf;
		uint32_t idx;
	} cache[128];
	int what;

	if (i >= 0 && i < 128 && cache[i].valid && cache[i].k == sk &&
	    cache[i].kir == kind_is_record && strcmp(cache[i].key, key) == 0) {
		*sf = cache[i].sf;
		*idx = cache[i].idx;
		return cache[i].what;
	}
	*sf = NULL;
	*idx = 0;
	if (strcmp(key, "record") == 0 || (strcmp(key, "kind") == 0 &&
	    (kind_is_record || sl_schema_field(sk, "kind", 4, NULL) == NULL)) ||
	    in_list(key, ignored) || records_is_ref_name(key))
		what = COL_SKIP;
	else if ((*sf = sl_field_by_header(sk, key, idx)) == NULL)
		what = COL_UNKNOWN;
	else
		what = COL_FIELD;
	if (i >= 0 && i < 128 && strlen(key) < sizeof cache[i].key) {
		cache[i].k = sk;
		cache[i].kir = kind_is_record;
		cache[i].valid = true;
		snprintf(cache[i].key, sizeof cache[i].key, "%s", key);
		cache[i].what = what;
		cache[i].sf = *sf;
		cache[i].idx = *idx;
	}
	return what;
}

/* Packs one parsed row as an add request; reports what is wrong with it. */
static void
row_pack(struct importer *im, struct row *r)
{
	struct field *rk = row_get(r, "record"), *k = row_get(r, "kind");
	const char *kind = rk ? rk->val : im->kind_flag ? im->kind_flag :
	    k ? k->val : NULL;
	bool kind_is_record = rk == NULL && im->kind_flag == NULL;
	const struct sl_kind *sk;
	const struct sl_evtype *et;
	const struct field *seen[SL_SCHEMA_MAX_FIELDS] = { NULL };
	struct sl_buf body = { 0 };
	msgpack_packer pk;
	char cmd[64];
	int nargs = 0;
	unsigned errors = im->errors;

	if (kind == NULL) {
		row_error(im, r->line, "no record kind: give --kind, a "
		    "\"record\" field or (JSON) a \"kind\"");
		return;
	}
	if ((sk = records_kind(kind)) == NULL ||
	    (et = records_create(sk)) == NULL || et->verb == NULL) {
		row_error(im, r->line, "unknown record kind \"%s\" (%s)", kind,
		    records_words_text());
		return;
	}
	/* Check every field, count the arguments. */
	for (int i = 0; i < r->n; i++) {
		struct field *f = &r->f[i];
		uint32_t idx;

		f->use = F_SKIP;
		if (strcmp(f->key, "id") == 0) {
			f->use = F_ID;
			nargs += f->val[0] != '\0';
			continue;
		}
		/* "kind" names the record kind unless the kind has a
		 * field of that name (an organisation's kind) and the
		 * kind was named otherwise. */
		int what = col_meaning(sk, kind_is_record, i, f->key, &f->sf,
		    &idx);

		if (what == COL_SKIP)
			continue;
		if (f->key[0] == '\0') {
			if (f->val[0] != '\0')
				row_error(im, r->line, "\"%s\" is in a column "
				    "without a header", f->val);
			continue;
		}
		if (what == COL_UNKNOWN) {
			/* An empty cell of another kind's column (a CSV of
			 * several kinds) is no error. */
			if (f->val[0] != '\0' && !(f->is_bool && !f->truth))
				row_error(im, r->line, "a %s has no field "
				    "\"%s\"", kind, f->key);
			continue;
		}
		/* An empty cell gives nothing (in a CSV of several kinds,
		 * a contact's "org" beside a meeting's "orgs", which takes
		 * --org too). */
		if (f->val[0] == '\0' && !f->is_bool)
			continue;
		if (idx < SL_SCHEMA_MAX_FIELDS && seen[idx] != NULL) {
			row_error(im, r->line, "\"%s\" and \"%s\" are both a "
			    "%s's %s", seen[idx]->key, f->key, kind,
			    f->sf->name);
			continue;
		}
		if (idx < SL_SCHEMA_MAX_FIELDS)
			seen[idx] = f;
		/* A field the creating event does not carry is passed
		 * over. */
		if (!(et->fields & (1u << idx)))
			continue;
		if (f->sf->type == SL_F_BOOL && !f->is_bool) {
			bool ok;

			f->is_bool = true;
			f->truth = truth_of(f->val, &ok);
			if (!ok) {
				row_error(im, r->line, "%s must be true or false, "
				    "not \"%s\"", f->key, f->val);
				continue;
			}
		}
		f->use = F_ARG;
		nargs += f->sf->type == SL_F_BOOL ? f->truth : f->val[0] != '\0';
	}
	if (im->errors != errors)
		return;
	snprintf(cmd, sizeof cmd, "%s.%s", sk->word, et->verb);
	msgpack_packer_init(&pk, &body, sl_buf_write);
	msgpack_pack_map(&pk, 2);
	sl_pack_cstr(&pk, "cmd");
	sl_pack_cstr(&pk, cmd);
	sl_pack_cstr(&pk, "args");
	msgpack_pack_map(&pk, (size_t)nargs);
	for (int i = 0; i < r->n; i++) {
		struct field *f = &r->f[i];

		if (f->use == F_ID) {
			if (f->val[0] != '\0') {
				sl_pack_cstr(&pk, "id");
				sl_pack_cstr(&pk, f->val);
			}
			continue;
		}
		if (f->use != F_ARG)
			continue;
		if (f->sf->type == SL_F_BOOL) {
			if (f->truth) {
				sl_pack_cstr(&pk, f->sf->flag);
				msgpack_pack_true(&pk);
			}
			continue;
		}
		if (f->val[0] == '\0')
			continue;
		sl_pack_cstr(&pk, f->sf->flag);
		if (!is_list(f->sf)) {
			sl_pack_cstr(&pk, f->val);
			continue;
		}
		/* A list: values separated by '\n' (JSON) or ';' (CSV). */
		const char *sep = f->list ? "\n" : ";";
		size_t cnt = 0;

		for (const char *p = f->val; *p; p += strcspn(p, sep),
		    p += *p != '\0')
			cnt++;
		msgpack_pack_array(&pk, cnt);
		for (const char *p = f->val; *p; p += *p != '\0') {
			size_t len = strcspn(p, sep);
			const char *a = p, *e = p + len;

			while (a < e && *a == ' ')
				a++;
			while (e > a && e[-1] == ' ')
				e--;
			sl_pack_str(&pk, a, (size_t)(e - a));
			p += len;
		}
	}
	if (body.p == NULL) {
		row_error(im, r->line, "out of memory");
		return;
	}
	msgpack_packer_init(&pk, &im->rows, sl_buf_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, r->line);
	sl_pack_bin(&pk, body.p, body.len);
	im->nrows++;
	free(body.p);
}

static void
row_clear(struct row *r)
{
	for (int i = 0; i < r->n; i++) {
		free(r->f[i].key);
		free(r->f[i].val);
	}
	r->n = 0;
}

/* Adds a field to r, taking val; key is copied (the import's spelling
 * if it is a special key). */
static bool
row_add(struct row *r, const char *key, char *val, bool list, bool is_bool,
    bool truth)
{
	char sp[64];
	char *k;

	if (r->n == MAX_FIELDS || (k = strdup(special_key(key, sp) ? sp :
	    key)) == NULL) {
		free(val);
		return false;
	}
	struct field *f = &r->f[r->n++];

	f->key = k;
	f->val = val;
	f->list = list;
	f->is_bool = is_bool;
	f->truth = truth;
	f->sf = NULL;
	f->use = F_SKIP;
	return true;
}

/* ---- the file's text ------------------------------------------------------ */

/* Windows-1252's 0x80..0x9F (the WHATWG table: the five bytes it leaves
 * undefined are the C1 controls of the same number, which the schema
 * then refuses with the row's line). */
static const uint16_t cp1252_c1[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

static bool
utf8_all(const char *s, size_t n)
{
	uint32_t cp;

	for (size_t i = 0, k; i < n; i += k) {
		if ((unsigned char)s[i] < 0x80) {
			k = 1;
			continue;
		}
		if ((k = utf8_seq(s + i, n - i, &cp)) == 0)
			return false;
	}
	return true;
}

/* buf as Windows-1252, in UTF-8; NULL if out of memory. */
static char *
from_cp1252(const char *buf, size_t len, size_t *outlen)
{
	char *out = malloc(len * 3 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned c = (unsigned char)buf[i];

		if (c >= 0x80 && c < 0xa0)
			c = cp1252_c1[c - 0x80];
		if (c < 0x80) {
			*o++ = (char)c;
		} else if (c < 0x800) {
			*o++ = (char)(0xc0 | c >> 6);
			*o++ = (char)(0x80 | (c & 0x3f));
		} else {
			*o++ = (char)(0xe0 | c >> 12);
			*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
			*o++ = (char)(0x80 | (c & 0x3f));
		}
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

/*
 * The file's text as UTF-8 without a BOM: *text points into buf, or at
 * a converted copy (*copy, the caller frees).  False, with the error
 * counted and said, for text no spreadsheet saves as CSV: UTF-16, or a
 * NUL byte.
 */
static bool
file_text(struct importer *im, const char *buf, size_t len,
    const char **text, size_t *tlen, char **copy)
{
	const char *nul;

	*copy = NULL;
	if (len >= 2 && ((buf[0] == '\xff' && buf[1] == '\xfe') ||
	    (buf[0] == '\xfe' && buf[1] == '\xff'))) {
		im->errors++;
		im->fatal = true;
		if (!im->quiet)
			cli_error("%s is UTF-16 text: save it as \"CSV UTF-8\" "
			    "(or \"CSV\")", im->file);
		return false;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		unsigned line = 1;

		/* The physical line: every LF, CRLF or lone CR before it. */
		for (const char *p = buf; p < nul; p++)
			line += *p == '\n' || (*p == '\r' && (p + 1 == nul ||
			    p[1] != '\n'));
		row_error(im, line, "a NUL byte: this is not a text file "
		    "(save the sheet as \"CSV UTF-8\")");
		im->fatal = true;
		return false;
	}
	*text = buf;
	*tlen = len;
	if (utf8_all(buf, len))
		return true;
	if ((*copy = from_cp1252(buf, len, tlen)) == NULL) {
		row_error(im, 1, "out of memory");
		return false;
	}
	*text = *copy;
	if (!im->quiet)
		cli_error("%s: note: not UTF-8; read as Windows-1252 (as Excel "
		    "saves \"CSV\")", im->file);
	return true;
}

/* ---- CSV (RFC 4180, as spreadsheets write it) ------------------------------ */

struct csv {
	const char *p, *end;
	char sep;
	unsigned line;     /* the physical line p is on */
};

/* The separator the header row (up to its end outside quotes) uses
 * most: ',', ';' or a tab; ',' when it has none. */
static char
csv_separator(const char *p, const char *end)
{
	static const char seps[] = { ',', ';', '\t' };
	size_t count[3] = { 0 };
	bool quoted = false;
	size_t best = 0;

	for (; p < end; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && (*p == '\n' || *p == '\r'))
			break;
		for (size_t i = 0; !quoted && i < 3; i++)
			count[i] += *p == seps[i];
	}
	for (size_t i = 1; i < 3; i++)
		if (count[i] > count[best])
			best = i;
	return seps[best];
}

/* Skips a line end at c->p (LF, CRLF or CR), counting it; false if
 * there is none. */
static bool
csv_eol(struct csv *c)
{
	if (c->p < c->end && *c->p == '\r') {
		c->p++;
		if (c->p < c->end && *c->p == '\n')
			c->p++;
		c->line++;
		return true;
	}
	if (c->p < c->end && *c->p == '\n') {
		c->p++;
		c->line++;
		return true;
	}
	return false;
}

/* A cell that export made text loses the one ' export put before it:
 * one or more ' and then = + - @, a tab or a CR (export adds a ' to
 * '=x as to =x, so that each comes back as it was). */
static void
unformula(char *v)
{
	size_t q = strspn(v, "'");

	if (q > 0 && v[q] != '\0' && strchr("=+-@\t\r", v[q]) != NULL)
		memmove(v, v + 1, strlen(v));
}

/* Reads one record at c->p: cells into cells[] (malloc'd), up to max,
 * the count in *n (cells beyond max are counted and dropped).  1 for a
 * record, 0 at the end of the input, -1 for a quote never closed. */
static int
csv_record(struct csv *c, char **cells, int max, int *n)
{
	*n = 0;
	if (c->p >= c->end)
		return 0;
	for (;;) {
		struct sl_buf cell = { 0 };

		if (c->p < c->end && *c->p == '"') {
			c->p++;
			for (;;) {
				if (c->p >= c->end) {
					free(cell.p);
					while (*n > 0)
						if (--*n < max)
							free(cells[*n]);
					return -1;
				}
				if (*c->p == '"') {
					if (c->p + 1 < c->end && c->p[1] == '"') {
						sl_buf_write(&cell, "\"", 1);
						c->p += 2;
						continue;
					}
					c->p++;
					break;
				}
				/* A line break inside the cell is one '\n',
				 * however the file ends its lines. */
				if (csv_eol(c)) {
					sl_buf_write(&cell, "\n", 1);
					continue;
				}
				sl_buf_write(&cell, c->p++, 1);
			}
		}
		while (c->p < c->end && *c->p != c->sep && *c->p != '\n' &&
		    *c->p != '\r')
			sl_buf_write(&cell, c->p++, 1);
		sl_buf_write(&cell, "", 1);
		if (cell.p == NULL) {
			while (*n > 0)
				if (--*n < max)
					free(cells[*n]);
			return -2;
		}
		if (*n < max)
			cells[*n] = (char *)cell.p;
		else
			free(cell.p);
		(*n)++;
		if (c->p < c->end && *c->p == c->sep) {
			c->p++;
			continue;
		}
		csv_eol(c);
		return 1;
	}
}

/* The header's cells with spaces around them dropped. */
static void
trim(char *h)
{
	size_t a = strspn(h, " "), n = strlen(h);

	while (n > a && h[n - 1] == ' ')
		n--;
	memmove(h, h + a, n - a);
	h[n - a] = '\0';
}

/* The columns kind k takes, for a message: "name/Namn, org/...". */
static void
accepted(const struct sl_kind *k, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < k->nfields && used < len; i++) {
		const char *sv = sl_label_sv(k->fields[i].name);

		used += (size_t)snprintf(out + used, len - used, "%s%s%s%s",
		    i ? ", " : "", k->fields[i].name, sv ? "/" : "",
		    sv ? sv : "");
	}
	if (used < len)
		snprintf(out + used, len - used, "; and id, record");
}

/* Checks the header row: every column a field (of --kind, or of some
 * record kind) or a key import knows, no field twice.  False if not. */
static bool
csv_header(struct importer *im, char **head, int nh, unsigned line)
{
	const struct sl_kind *only = im->kind_flag ?
	    records_kind(im->kind_flag) : NULL;
	unsigned errors = im->errors;

	for (int i = 0; i < nh; i++) {
		const char *h = head[i];
		char sp[64];
		bool known = h[0] == '\0' || special_key(h, sp);

		for (const struct sl_kind *const *k = records_kinds();
		    *k && !known; k++)
			if (only == NULL || *k == only)
				known = sl_field_by_header(*k, h, NULL) != NULL;
		if (known)
			continue;
		if (only != NULL) {
			char list[1024];

			accepted(only, list, sizeof list);
			row_error(im, line, "unknown column \"%s\" for a %s "
			    "(the columns: %s)", h, only->word, list);
		} else {
			row_error(im, line, "unknown column \"%s\": no record "
			    "kind has such a field (see samlog KIND add "
			    "--help)", h);
		}
	}
	/* Two columns for one field of --kind (without it, a CSV of every
	 * kind has a contact's org beside a meeting's orgs, whose flag is
	 * --org: rows say which they fill). */
	for (const struct sl_kind *const *k = records_kinds(); *k; k++) {
		if (only == NULL || *k != only)
			continue;
		for (int i = 0; i < nh; i++) {
			char sp[64];
			const struct sl_field *f = special_key(head[i], sp) ?
			    NULL : sl_field_by_header(*k, head[i], NULL);

			for (int j = 0; f != NULL && j < i; j++)
				if (!special_key(head[j], sp) &&
				    sl_field_by_header(*k, head[j], NULL) == f) {
					row_error(im, line, "the columns \"%s\" "
					    "and \"%s\" are both a %s's %s",
					    head[j], head[i], (*k)->word,
					    f->name);
					break;
				}
		}
	}
	return im->errors == errors;
}

static void
parse_csv(struct importer *im, const char *buf, size_t len)
{
	struct csv c = { buf, buf + len, ',', 1 };
	char *head[MAX_FIELDS], *cells[MAX_FIELDS];
	unsigned start;
	int nh, n, rc;

	c.sep = csv_separator(buf, buf + len);
	/* Blank lines before the header are passed over. */
	while (csv_eol(&c))
		;
	start = c.line;
	if ((rc = csv_record(&c, head, MAX_FIELDS, &nh)) <= 0) {
		row_error(im, start, rc == -1 ? "a quoted cell is never closed" :
		    "no header row naming the fields");
		return;
	}
	if (nh > MAX_FIELDS) {
		row_error(im, start, "%d columns; at most %d", nh, MAX_FIELDS);
		nh = MAX_FIELDS;
		goto out;
	}
	for (int i = 0; i < nh; i++)
		trim(head[i]);
	if (!csv_header(im, head, nh, start))
		goto out;
	for (;;) {
		struct row r = { 0 };

		start = c.line;
		if ((rc = csv_record(&c, cells, MAX_FIELDS, &n)) == 0)
			break;
		if (rc == -1) {
			row_error(im, start, "a quoted cell is never closed");
			break;
		}
		if (rc < 0) {
			row_error(im, start, "out of memory");
			break;
		}
		int kept = n < MAX_FIELDS ? n : MAX_FIELDS;
		bool blank = true, extra = false;

		for (int i = 0; i < kept; i++) {
			blank = blank && cells[i][0] == '\0';
			extra = extra || (i >= nh && cells[i][0] != '\0');
		}
		if (blank) {    /* a blank line, or one of separators only */
			for (int i = 0; i < kept; i++)
				free(cells[i]);
			continue;
		}
		r.line = start;
		/* Cells past the header's are allowed when empty: some
		 * spreadsheets write a row's trailing separators. */
		if (n < nh || n > MAX_FIELDS || extra) {
			row_error(im, start, "%d cell%s, the header has %d", n,
			    n == 1 ? "" : "s", nh);
			for (int i = 0; i < kept; i++)
				free(cells[i]);
			continue;
		}
		for (int i = 0; i < kept; i++) {
			if (i >= nh) {
				free(cells[i]);
				continue;
			}
			unformula(cells[i]);
			row_add(&r, head[i], cells[i], false, false, false);
		}
		row_pack(im, &r);
		row_clear(&r);
	}
out:
	for (int i = 0; i < nh; i++)
		free(head[i]);
}

/* ---- JSON Lines (Jansson) ------------------------------------------------ */

/* One value of a line's object into r under key; false with why set. */
static bool
json_field(struct row *r, const char *key, json_t *v, const char **why)
{
	char *val = NULL;
	bool list = false, is_bool = false, truth = false;

	switch (json_typeof(v)) {
	case JSON_NULL:
		return true;
	case JSON_STRING:
		val = strndup(json_string_value(v), json_string_length(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		is_bool = true;
		truth = json_is_true(v);
		val = strdup(truth ? "true" : "false");
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		val = json_dumps(v, JSON_ENCODE_ANY);
		break;
	case JSON_ARRAY: {
		struct sl_buf b = { 0 };
		size_t i;
		json_t *e;

		list = true;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e)) {
				free(b.p);
				*why = "a list holds only texts";
				return false;
			}
			if (i > 0)
				sl_buf_write(&b, "\n", 1);
			sl_buf_write(&b, json_string_value(e),
			    json_string_length(e));
		}
		sl_buf_write(&b, "", 1);
		val = (char *)b.p;
		break;
	}
	case JSON_OBJECT:
	default:
		*why = "nested objects are not records' fields";
		return false;
	}
	/* Jansson refuses \u0000 in texts (no JSON_ALLOW_NUL), so each is
	 * a C string. */
	if (val == NULL) {
		*why = "out of memory";
		return false;
	}
	if (!row_add(r, key, val, list, is_bool, truth)) {
		*why = "too many fields";
		return false;
	}
	return true;
}

/* One line: an object of texts, numbers, booleans, nulls and lists of
 * texts. */
static void
parse_jsonl_line(struct importer *im, const char *s, const char *e,
    unsigned line)
{
	struct row r = { .line = line };
	json_error_t err;
	json_t *o, *v;
	const char *key, *why = NULL;

	while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++;
	if (s == e)
		return;                 /* a blank line */
	if ((o = json_loadb(s, (size_t)(e - s), JSON_REJECT_DUPLICATES,
	    &err)) == NULL) {
		row_error(im, line, "not valid JSON: %s", err.text);
		return;
	}
	if (!json_is_object(o)) {
		row_error(im, line, "a JSON object was expected");
		json_decref(o);
		return;
	}
	json_object_foreach(o, key, v) {
		if (!json_field(&r, key, v, &why))
			break;
	}
	json_decref(o);
	if (why != NULL)
		row_error(im, line, "%s", why);
	else
		row_pack(im, &r);
	row_clear(&r);
}

static void
parse_jsonl(struct importer *im, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	unsigned line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		parse_jsonl_line(im, p, e, ++line);
		p = nl ? nl + 1 : end;
	}
}

static void
parse_file(struct importer *im, const char *buf, size_t len, bool csv)
{
	const char *text;
	size_t tlen;
	char *copy;

	if (!file_text(im, buf, len, &text, &tlen, &copy))
		return;
	if (csv)
		parse_csv(im, text, tlen);
	else
		parse_jsonl(im, text, tlen);
	free(copy);
}

/* ---- talking to the daemon ---------------------------------------------- */

/* What the commit's RECORD says.  An older daemon sends only
 * "imported" (every row added). */
struct summary {
	uint64_t imported, added, updated, unchanged, skipped;
	bool detailed;
};

static uint64_t
obj_u64(const msgpack_object *o)
{
	return o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ?
	    o->via.u64 : 0;
}

/* The commit's RECORD: counts, and a note per row skipped because a
 * record of its name exists ([line, id, name] each). */
static void
read_summary(const char *file, const msgpack_object *m, struct summary *sum)
{
	const msgpack_object *skips = map_get(m, "skips");

	sum->imported = obj_u64(map_get(m, "imported"));
	sum->detailed = map_get(m, "added") != NULL;
	sum->added = sum->detailed ? obj_u64(map_get(m, "added")) :
	    sum->imported;
	sum->updated = obj_u64(map_get(m, "updated"));
	sum->unchanged = obj_u64(map_get(m, "unchanged"));
	sum->skipped = obj_u64(map_get(m, "skipped"));
	for (uint32_t i = 0; skips != NULL && skips->type ==
	    MSGPACK_OBJECT_ARRAY && i < skips->via.array.size; i++) {
		const msgpack_object *s = &skips->via.array.ptr[i];

		if (s->type != MSGPACK_OBJECT_ARRAY || s->via.array.size != 4 ||
		    s->via.array.ptr[1].type != MSGPACK_OBJECT_STR ||
		    s->via.array.ptr[2].type != MSGPACK_OBJECT_STR ||
		    s->via.array.ptr[3].type != MSGPACK_OBJECT_STR)
			continue;
		const msgpack_object_str *kind = &s->via.array.ptr[1].via.str;
		const msgpack_object_str *id = &s->via.array.ptr[2].via.str;
		const msgpack_object_str *name = &s->via.array.ptr[3].via.str;

		cli_error("%s:%" PRIu64 ": skipped: %.*s \"%.*s\" exists (%.*s); "
		    "--force adds it anyway", file, obj_u64(&s->via.array.ptr[0]),
		    (int)kind->size, kind->ptr, (int)name->size, name->ptr,
		    (int)id->size, id->ptr);
	}
	if (skips != NULL && skips->type == MSGPACK_OBJECT_ARRAY &&
	    sum->skipped > skips->via.array.size)
		cli_error("%s: and %" PRIu64 " more rows skipped", file,
		    sum->skipped - skips->via.array.size);
}

/* Sends one request and reads its reply; a RECORD goes to sum (when not
 * NULL).  Returns the result code; msg gets the message. */
static uint64_t
exchange(int fd, const struct sl_buf *req, const char *file,
    struct summary *sum, char *msg, size_t mlen)
{
	uint8_t hdr[SL_FRAME_HDR], *body;
	struct sl_frame_hdr h = { SL_CTL_VERSION, SL_MSG_REQUEST, 0, 1,
		(uint32_t)req->len };

	sl_frame_hdr_encode(hdr, &h);
	snprintf(msg, mlen, "samlogd closed the connection (see its log)");
	if (!write_full(fd, hdr, sizeof hdr) || !write_full(fd, req->p,
	    req->len))
		return SL_EIO;
	for (;;) {
		msgpack_unpacked u;
		uint64_t code = SL_EIO;
		bool result;

		if (!read_full(fd, hdr, sizeof hdr) ||
		    sl_frame_hdr_decode(&h, hdr, SL_CTL_FRAME_MAX * 4) != SL_OK ||
		    (body = malloc(h.len ? h.len : 1)) == NULL)
			return SL_EIO;
		if (!read_full(fd, body, h.len)) {
			free(body);
			return SL_EIO;
		}
		result = h.type == SL_MSG_RESULT;
		msgpack_unpacked_init(&u);
		if (msgpack_unpack_next(&u, (const char *)body, h.len, NULL) ==
		    MSGPACK_UNPACK_SUCCESS && u.data.type == MSGPACK_OBJECT_MAP) {
			const msgpack_object *c = map_get(&u.data, "code");
			const msgpack_object *m = map_get(&u.data, "message");

			if (!result && sum != NULL)
				read_summary(file, &u.data, sum);
			if (result && c != NULL &&
			    c->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				code = c->via.u64;
			if (result && m != NULL && m->type == MSGPACK_OBJECT_STR)
				snprintf(msg, mlen, "%.*s", (int)m->via.str.size,
				    m->via.str.ptr);
		}
		msgpack_unpacked_destroy(&u);
		free(body);
		if (result)
			return code;
	}
}

static void
pack_request(struct sl_buf *req, const char *cmd, const uint8_t *rows,
    size_t rlen, size_t n, bool force)
{
	msgpack_packer pk;

	req->len = 0;
	msgpack_packer_init(&pk, req, sl_buf_write);
	msgpack_pack_map(&pk, 2);
	sl_pack_cstr(&pk, "cmd");
	sl_pack_cstr(&pk, cmd);
	sl_pack_cstr(&pk, "args");
	msgpack_pack_map(&pk, (rows != NULL) + force);
	if (rows != NULL) {
		sl_pack_cstr(&pk, "rows");
		msgpack_pack_array(&pk, n);
		sl_buf_write(req, (const char *)rows, rlen);
	}
	if (force) {
		sl_pack_cstr(&pk, "force");
		msgpack_pack_true(&pk);
	}
}

/* "imported N records from FILE", and what else became of the rows. */
static void
print_summary(const char *file, const struct summary *s)
{
	const uint64_t n[] = { s->added, s->updated, s->unchanged, s->skipped };

	output_imported(file, n, s->detailed);
}

/* Sends the rows in chunks, then commits.  The exit status. */
static int
send_all(struct importer *im, int fd)
{
	struct sl_buf req = { 0 };
	struct sl_mp m;
	const uint8_t *start;
	size_t n = 0, sent = 0;
	uint64_t code;
	struct summary sum = { 0 };
	static char msg[32768];
	bool bar = isatty(STDERR_FILENO) && im->nrows >= 2000;

	sl_mp_init(&m, im->rows.p, im->rows.len);
	start = m.p;
	while (!sl_mp_at_end(&m) || n > 0) {
		if (!sl_mp_at_end(&m) && (size_t)(m.p - start) < CHUNK_BYTES) {
			sl_mp_skip(&m, NULL, NULL);
			n++;
			continue;
		}
		pack_request(&req, "import.rows", start, (size_t)(m.p - start),
		    n, false);
		if (req.p == NULL || exchange(fd, &req, im->file, NULL, msg,
		    sizeof msg) != SL_OK) {
			if (bar)
				fputc('\n', stderr);
			cli_error("%s: %s", im->file, req.p ? msg :
			    "out of memory");
			free(req.p);
			return 1;
		}
		sent += n;
		if (bar) {
			fputs("\rimporting ", stderr);
			text_put(stderr, im->file, strlen(im->file));
			fprintf(stderr, ": %zu of %zu rows sent", sent,
			    im->nrows);
		}
		start = m.p;
		n = 0;
	}
	if (bar)
		fprintf(stderr, ", committing...\n");
	pack_request(&req, "import.commit", NULL, 0, 0, im->force);
	code = req.p ? exchange(fd, &req, im->file, &sum, msg, sizeof msg) :
	    SL_ENOMEM;
	free(req.p);
	if (code == SL_OK) {
		print_summary(im->file, &sum);
		return 0;
	}
	/* "LINE: reason" lines, or one message. */
	for (char *l = msg, *nl; *l; l = nl ? nl + 1 : l + strlen(l)) {
		nl = strchr(l, '\n');
		if (nl != NULL)
			*nl = '\0';
		char *colon = strchr(l, ':');

		if (code == SL_EVALUE && colon != NULL && l[0] >= '0' &&
		    l[0] <= '9') {
			if (strncmp(l, "0:", 2) == 0)
				cli_error("%s:%s", im->file, colon + 1);
			else
				cli_error("%s:%s", im->file, l);
		} else {
			cli_error("%s: %s", im->file, l);
		}
		if (nl == NULL)
			break;
	}
	cli_error("%s: nothing imported", im->file);
	return code == SL_EUSAGE ? 2 : 1;
}

size_t
import_parse_rows(const char *file, const char *buf, size_t len, bool csv,
    const char *kind, unsigned *errors, struct sl_buf *rows)
{
	struct importer im = { .file = file, .kind_flag = kind, .quiet = true };

	parse_file(&im, buf, len, csv);
	*errors = im.errors + im.rows.failed;
	if (rows != NULL)
		*rows = im.rows;
	else
		free(im.rows.p);
	return im.nrows;
}

size_t
import_parse(const char *file, const char *buf, size_t len, bool csv,
    const char *kind, unsigned *errors)
{
	return import_parse_rows(file, buf, len, csv, kind, errors, NULL);
}

int
cmd_import(const char *dir, bool dir_named, const char *file,
    const char *kind, const char *format, bool force)
{
	struct importer im = { .file = file, .kind_flag = kind,
		.force = force };
	char *buf = NULL, path[256];
	size_t len = 0;
	int status = 1, fd;

	if (format == NULL) {
		const char *dot = strrchr(file, '.');

		format = dot == NULL ? "" : strcmp(dot, ".csv") == 0 ||
		    strcmp(dot, ".tsv") == 0 ? "csv" :
		    strcmp(dot, ".jsonl") == 0 ||
		    strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".json") == 0 ?
		    "jsonl" : "";
	}
	if (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0) {
		cli_error("cannot tell the format of %s: give --format csv "
		    "or --format jsonl", file);
		return 2;
	}
	if (kind != NULL && records_kind(kind) == NULL) {
		cli_error("invalid --kind \"%s\" (%s)", kind,
		    records_words_text());
		return 2;
	}
	if (!file_slurp(file, IMPORT_FILE_MAX, &buf, &len))
		return 1;
	parse_file(&im, buf, len, strcmp(format, "csv") == 0);
	if (im.errors > 0 || im.rows.failed) {
		if (im.errors > MAX_ERRORS)
			cli_error("%s: and %u more bad rows", file,
			    im.errors - MAX_ERRORS);
		if (!im.fatal)
			cli_error("%s: nothing imported", file);
		goto out;
	}
	if (im.nrows == 0) {
		cli_error("%s holds no records", file);
		goto out;
	}
	if ((fd = request_connect(dir, dir_named, path, sizeof path)) < 0)
		goto out;
	status = send_all(&im, fd);
	close(fd);
out:
	free(buf);
	free(im.rows.p);
	return status;
}
