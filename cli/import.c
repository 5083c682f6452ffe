/*
 * import.c - samlog import FILE: records from CSV or JSON Lines.
 *
 * The file is read and parsed here, row by row, into the same add
 * requests the CLI sends for `samlog KIND add`; syntax errors are
 * reported with their line before the daemon is asked anything.  The rows
 * then go to the daemon in chunks (import.rows) and are written in one
 * commit (import.commit): every row, or none, with each bad row reported
 * by its line.
 *
 * Fields are the schema's (protocol/schema.c): a key is a field's name
 * (the JSON keys of replies) and goes to the daemon under the field's flag, as
 * `samlog KIND add` sends it.  List fields are JSON arrays, or in CSV one
 * cell with values separated by ';'; a bool is true or false (also yes,
 * no, 1, 0 or empty in CSV).  The keys an export adds (id, record, the
 * reply's created, updated, author, conflict, competing, and org_name
 * beside a reference) are understood: ids let references between the
 * imported records be kept, `record` names the kind, a record's state
 * (a decision's status) is reached through its lifecycle by the daemon,
 * and fields the creating event cannot carry (a decision's reason) are
 * passed over.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "import.h"
#include "records.h"
#include "request.h"
#include "samlog_proto.h"

#define IMPORT_FILE_MAX (256u << 20)
#define CHUNK_BYTES (512u << 10)
#define MAX_FIELDS 32
#define MAX_LIST 64

struct field {
	char key[32];
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
};

/* Keys of a record as replies carry it that are no field of it. */
static const char *const ignored[] = { "created", "updated", "author",
	"conflict", "competing", NULL };

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
	char why[512];

	if (im->errors++ < 20) {
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

/* The field of kind k that key names if the creating event et carries
 * it; NULL otherwise, with *known telling whether k has such a field. */
static const struct sl_field *
field_for(const struct sl_kind *k, const struct sl_evtype *et,
    const char *key, bool *known)
{
	uint32_t idx;
	const struct sl_field *f = sl_schema_field(k, key, strlen(key), &idx);

	*known = f != NULL;
	return f != NULL && et != NULL && (et->fields & (1u << idx)) ? f : NULL;
}

static bool
is_list(const struct sl_field *f)
{
	return f->type == SL_F_REFS || f->type == SL_F_TEXTS;
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
	struct sl_buf body = { 0 };
	msgpack_packer pk;
	char cmd[64];
	int nargs = 0;

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
		bool known;

		f->use = F_SKIP;
		if (strcmp(f->key, "id") == 0) {
			f->use = F_ID;
			nargs += f->val[0] != '\0';
			continue;
		}
		/* "kind" names the record kind unless the kind has a
		 * field of that name (an organisation's kind) and the
		 * kind was named otherwise. */
		if (strcmp(f->key, "record") == 0 ||
		    (strcmp(f->key, "kind") == 0 && (kind_is_record ||
		    sl_schema_field(sk, "kind", 4, NULL) == NULL)) ||
		    in_list(f->key, ignored) || records_is_ref_name(f->key))
			continue;
		if ((f->sf = field_for(sk, et, f->key, &known)) == NULL) {
			/* An empty cell of another kind's column (a CSV of
			 * several kinds) is no error, nor a field the
			 * creating event does not carry. */
			if (!known && f->val[0] != '\0' &&
			    !(f->is_bool && !f->truth))
				row_error(im, r->line, "a %s has no field "
				    "\"%s\"", kind, f->key);
			continue;
		}
		if (f->sf->type == SL_F_BOOL && !f->is_bool) {
			const char *v = f->val;

			f->is_bool = true;
			f->truth = strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 ||
			    strcmp(v, "1") == 0;
			if (!f->truth && v[0] && strcmp(v, "false") != 0 &&
			    strcmp(v, "no") != 0 && strcmp(v, "0") != 0) {
				row_error(im, r->line, "%s must be true or false, "
				    "not \"%s\"", f->key, v);
				continue;
			}
		}
		f->use = F_ARG;
		nargs += f->sf->type == SL_F_BOOL ? f->truth : f->val[0] != '\0';
	}
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
	for (int i = 0; i < r->n; i++)
		free(r->f[i].val);
	r->n = 0;
}

static bool
row_add(struct row *r, const char *key, char *val, bool list, bool is_bool,
    bool truth)
{
	if (r->n == MAX_FIELDS) {
		free(val);
		return false;
	}
	struct field *f = &r->f[r->n++];

	snprintf(f->key, sizeof f->key, "%s", key);
	f->val = val;
	f->list = list;
	f->is_bool = is_bool;
	f->truth = truth;
	return true;
}

/* ---- CSV (RFC 4180) ------------------------------------------------------ */

/* Reads one record starting at *p: cells into cells[] (malloc'd), up to
 * max.  Returns the cell count, or -1 at the end of the input; *line
 * counts newlines.  An unterminated quote returns -2. */
static int
csv_record(const char **p, const char *end, char **cells, int max,
    unsigned *line)
{
	const char *s = *p;
	int n = 0;

	if (s >= end)
		return -1;
	for (;;) {
		struct sl_buf cell = { 0 };

		if (s < end && *s == '"') {
			s++;
			for (;;) {
				if (s >= end) {
					/* Unterminated: nothing of it is kept. */
					free(cell.p);
					while (n > 0)
						free(cells[--n]);
					return -2;
				}
				if (*s == '"') {
					if (s + 1 < end && s[1] == '"') {
						sl_buf_write(&cell, "\"", 1);
						s += 2;
						continue;
					}
					s++;
					break;
				}
				if (*s == '\n')
					(*line)++;
				sl_buf_write(&cell, s, 1);
				s++;
			}
		}
		while (s < end && *s != ',' && *s != '\n' && *s != '\r')
			sl_buf_write(&cell, s++, 1);
		sl_buf_write(&cell, "", 1);
		if (n < max)
			cells[n++] = (char *)cell.p;
		else
			free(cell.p);
		if (s < end && *s == ',') {
			s++;
			continue;
		}
		if (s < end && *s == '\r')
			s++;
		if (s < end && *s == '\n') {
			s++;
			(*line)++;
		}
		break;
	}
	*p = s;
	return n;
}

static void
parse_csv(struct importer *im, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	char *head[MAX_FIELDS], *cells[MAX_FIELDS + 1];
	unsigned line = 1, start;
	int nh, n;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	start = line;
	if ((nh = csv_record(&p, end, head, MAX_FIELDS, &line)) <= 0) {
		row_error(im, 1, "no header row naming the fields");
		return;
	}
	for (int i = 0; i < nh; i++) {
		char *h = head[i];

		while (*h == ' ')
			memmove(h, h + 1, strlen(h));
		for (size_t k = strlen(h); k > 0 && h[k - 1] == ' ';)
			h[--k] = '\0';
		for (int j = 0; j < i; j++)
			if (strcmp(head[j], h) == 0)
				row_error(im, start, "the column \"%s\" appears "
				    "twice", h);
	}
	for (;;) {
		struct row r = { 0 };

		start = line;
		if ((n = csv_record(&p, end, cells, MAX_FIELDS + 1, &line)) == -1)
			break;
		if (n == -2) {
			row_error(im, start, "a quoted cell is never closed");
			break;
		}
		if (n == 1 && cells[0][0] == '\0') {   /* a blank line */
			free(cells[0]);
			continue;
		}
		r.line = start;
		if (n != nh) {
			row_error(im, start, "%d cells, the header has %d", n,
			    nh);
			for (int i = 0; i < n; i++)
				free(cells[i]);
			continue;
		}
		for (int i = 0; i < n; i++)
			row_add(&r, head[i], cells[i], false, false, false);
		row_pack(im, &r);
		row_clear(&r);
	}
	for (int i = 0; i < nh; i++)
		free(head[i]);
}

/* ---- JSON Lines ------------------------------------------------------------ */

struct jp {
	const char *p, *end;
	const char *err;
};

static void
jws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static void
put_utf8(struct sl_buf *b, unsigned long c)
{
	char u[4];
	size_t n;

	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | c >> 12);
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | c >> 18);
		u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	sl_buf_write(b, u, n);
}

static int
hex4(const char *s, unsigned long *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned long)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned long)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* A JSON string at j->p into out (NUL-terminated). */
static bool
jstring(struct jp *j, struct sl_buf *out)
{
	if (j->p >= j->end || *j->p != '"')
		return j->err = "a string was expected", false;
	for (j->p++; j->p < j->end && *j->p != '"'; j->p++) {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20)
			return j->err = "a control character inside a string",
			    false;
		if (c != '\\') {
			sl_buf_write(out, j->p, 1);
			continue;
		}
		if (++j->p >= j->end)
			break;
		unsigned long u, lo;

		switch (*j->p) {
		case '"': case '\\': case '/':
			sl_buf_write(out, j->p, 1);
			break;
		case 'b': sl_buf_write(out, "\b", 1); break;
		case 'f': sl_buf_write(out, "\f", 1); break;
		case 'n': sl_buf_write(out, "\n", 1); break;
		case 'r': sl_buf_write(out, "\r", 1); break;
		case 't': sl_buf_write(out, "\t", 1); break;
		case 'u':
			if (j->end - j->p < 5 || hex4(j->p + 1, &u) != 0)
				return j->err = "a bad \\u escape", false;
			j->p += 4;
			if (u >= 0xd800 && u < 0xdc00) {
				if (j->end - j->p < 7 || j->p[1] != '\\' ||
				    j->p[2] != 'u' || hex4(j->p + 3, &lo) != 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return j->err = "a lone surrogate", false;
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				j->p += 6;
			} else if (u >= 0xdc00 && u < 0xe000) {
				return j->err = "a lone surrogate", false;
			}
			put_utf8(out, u);
			break;
		default:
			return j->err = "a bad escape in a string", false;
		}
	}
	if (j->p >= j->end)
		return j->err = "a string is never closed", false;
	j->p++;
	sl_buf_write(out, "", 1);
	return true;
}

/* A scalar that is not a string: number, true, false, null. */
static bool
jscalar(struct jp *j, struct sl_buf *out, bool *is_bool, bool *truth,
    bool *null)
{
	const char *s = j->p;

	*is_bool = *truth = *null = false;
	if (j->end - s >= 4 && memcmp(s, "true", 4) == 0) {
		j->p += 4;
		*is_bool = *truth = true;
	} else if (j->end - s >= 5 && memcmp(s, "false", 5) == 0) {
		j->p += 5;
		*is_bool = true;
	} else if (j->end - s >= 4 && memcmp(s, "null", 4) == 0) {
		j->p += 4;
		*null = true;
	} else {
		while (j->p < j->end && strchr("-+.eE0123456789", *j->p) &&
		    *j->p != '\0')
			j->p++;
		if (j->p == s)
			return j->err = "a value was expected", false;
		sl_buf_write(out, s, (size_t)(j->p - s));
	}
	sl_buf_write(out, "", 1);
	return true;
}

/* One line: an object of strings, numbers, booleans, nulls and arrays of
 * strings. */
static void
parse_jsonl_line(struct importer *im, const char *s, const char *e,
    unsigned line)
{
	struct jp j = { s, e, NULL };
	struct row r = { .line = line };

	jws(&j);
	if (j.p == j.end)
		return;                 /* a blank line */
	if (*j.p != '{') {
		row_error(im, line, "a JSON object was expected");
		return;
	}
	j.p++;
	jws(&j);
	if (j.p < j.end && *j.p == '}')
		j.p++;
	else for (;;) {
		struct sl_buf key = { 0 }, val = { 0 };
		bool is_bool = false, truth = false, null = false, list = false;

		jws(&j);
		if (!jstring(&j, &key)) {
			free(key.p);
			break;
		}
		jws(&j);
		if (j.p >= j.end || *j.p++ != ':') {
			j.err = "':' was expected";
			free(key.p);
			break;
		}
		jws(&j);
		bool ok;

		if (j.p < j.end && *j.p == '"') {
			ok = jstring(&j, &val);
		} else if (j.p < j.end && *j.p == '[') {
			list = true;
			j.p++;
			jws(&j);
			ok = true;
			if (j.p < j.end && *j.p == ']')
				j.p++;
			else for (;;) {
				if (val.len > 0)
					val.p[val.len - 1] = '\n';
				jws(&j);
				if (!(ok = jstring(&j, &val)))
					break;
				jws(&j);
				if (j.p < j.end && *j.p == ',') {
					j.p++;
					continue;
				}
				if (j.p < j.end && *j.p == ']') {
					j.p++;
					break;
				}
				j.err = "',' or ']' was expected";
				ok = false;
				break;
			}
			if (ok && val.p == NULL)
				sl_buf_write(&val, "", 1);
		} else if (j.p < j.end && *j.p == '{') {
			j.err = "nested objects are not records' fields";
			ok = false;
		} else {
			ok = jscalar(&j, &val, &is_bool, &truth, &null);
		}
		if (!ok || val.p == NULL) {
			free(key.p);
			free(val.p);
			if (j.err == NULL)
				j.err = "out of memory";
			break;
		}
		if (null || strchr((char *)key.p, '\n') != NULL) {
			free(val.p);
		} else if (row_get(&r, (char *)key.p) != NULL) {
			free(val.p);
			j.err = "a key appears twice";
		} else if (!row_add(&r, (char *)key.p, (char *)val.p, list,
		    is_bool, truth)) {
			j.err = "too many fields";
		}
		free(key.p);
		if (j.err != NULL)
			break;
		jws(&j);
		if (j.p < j.end && *j.p == ',') {
			j.p++;
			continue;
		}
		if (j.p < j.end && *j.p == '}') {
			j.p++;
			break;
		}
		j.err = "',' or '}' was expected";
		break;
	}
	jws(&j);
	if (j.err == NULL && j.p != j.end)
		j.err = "text after the object";
	if (j.err != NULL)
		row_error(im, line, "not valid JSON: %s", j.err);
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

/* ---- talking to the daemon ---------------------------------------------- */

/* Sends one request and reads its reply; the first RECORD's "imported"
 * goes to *imported.  Returns the result code; msg gets the message. */
static uint64_t
exchange(int fd, const struct sl_buf *req, uint64_t *imported, char *msg,
    size_t mlen)
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
			for (uint32_t i = 0; i < u.data.via.map.size; i++) {
				const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
				const msgpack_object *k = &kv->key, *v = &kv->val;

				if (k->type != MSGPACK_OBJECT_STR)
					continue;
				if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
				    k->via.str.size == 8 &&
				    memcmp(k->via.str.ptr, "imported", 8) == 0)
					*imported = v->via.u64;
				if (result && v->type ==
				    MSGPACK_OBJECT_POSITIVE_INTEGER &&
				    k->via.str.size == 4 &&
				    memcmp(k->via.str.ptr, "code", 4) == 0)
					code = v->via.u64;
				if (result && v->type == MSGPACK_OBJECT_STR &&
				    k->via.str.size == 7 &&
				    memcmp(k->via.str.ptr, "message", 7) == 0)
					snprintf(msg, mlen, "%.*s",
					    (int)v->via.str.size,
					    v->via.str.ptr);
			}
		}
		msgpack_unpacked_destroy(&u);
		free(body);
		if (result)
			return code;
	}
}

static void
pack_request(struct sl_buf *req, const char *cmd, const uint8_t *rows,
    size_t rlen, size_t n)
{
	msgpack_packer pk;

	req->len = 0;
	msgpack_packer_init(&pk, req, sl_buf_write);
	msgpack_pack_map(&pk, 2);
	sl_pack_cstr(&pk, "cmd");
	sl_pack_cstr(&pk, cmd);
	sl_pack_cstr(&pk, "args");
	msgpack_pack_map(&pk, rows != NULL);
	if (rows != NULL) {
		sl_pack_cstr(&pk, "rows");
		msgpack_pack_array(&pk, n);
		sl_buf_write(req, (const char *)rows, rlen);
	}
}

/* Sends the rows in chunks, then commits.  The exit status. */
static int
send_all(struct importer *im, int fd)
{
	struct sl_buf req = { 0 };
	struct sl_mp m;
	const uint8_t *start;
	size_t n = 0, sent = 0;
	uint64_t code, imported = 0;
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
		    n);
		if (req.p == NULL || exchange(fd, &req, &imported, msg,
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
	pack_request(&req, "import.commit", NULL, 0, 0);
	code = req.p ? exchange(fd, &req, &imported, msg, sizeof msg) : SL_ENOMEM;
	free(req.p);
	if (code == SL_OK) {
		output_imported(imported, im->file);
		return 0;
	}
	/* "LINE: reason" lines, or one message. */
	unsigned bad = 0;

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
			bad++;
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

	if (csv)
		parse_csv(&im, buf, len);
	else
		parse_jsonl(&im, buf, len);
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
    const char *kind, const char *format)
{
	struct importer im = { .file = file, .kind_flag = kind };
	char *buf = NULL, path[256];
	size_t len = 0;
	int status = 1, fd;

	if (format == NULL) {
		const char *dot = strrchr(file, '.');

		format = dot == NULL ? "" : strcmp(dot, ".csv") == 0 ? "csv" :
		    strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".ndjson") == 0 ||
		    strcmp(dot, ".json") == 0 ? "jsonl" : "";
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
	if (strcmp(format, "csv") == 0)
		parse_csv(&im, buf, len);
	else
		parse_jsonl(&im, buf, len);
	if (im.errors > 0 || im.rows.failed) {
		if (im.errors > 20)
			cli_error("%s: and %u more bad rows", file,
			    im.errors - 20);
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
