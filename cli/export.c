/*
 * export.c - samlog export: the records as JSON Lines or CSV, in the form
 * `samlog import` reads back.
 *
 * Each kind's list comes from the daemon through the ordinary list
 * request; this file only chooses the output.  JSON Lines carry every key
 * of samlog(1) (one object per line, `record` naming the kind).  CSV of
 * one kind (--kind) has that kind's columns: id, record, then its fields
 * in the schema's order (each reference to an organisation followed by
 * the name replies add beside it).  CSV of every kind has one header for
 * all of them, the union of the schema's fields between record, id and
 * created, updated, author.  A cell holding the separator, '"' or a line
 * break is quoted; lists are joined by ';'.  A cell a spreadsheet would
 * run as a formula (one beginning with = + - @, a tab or a CR) gets a
 * leading ', and so does one beginning with one or more ' before such a
 * character, so that import, which takes exactly one ' off such cells,
 * reads back what was written.  --excel writes what Excel opens as it is: a UTF-8 BOM, ';'
 * between cells, CRLF (always) between rows.  Kinds come in
 * records_kinds() order, each after the kinds it refers to, so that an
 * import meets every record before the records referring to it.
 *
 * Into a file or a pipe the text is written exactly as it is.  On a
 * terminal CSV text is escaped as tables are (text_escape, line breaks
 * kept), so that a member's control characters do not reach it; JSON
 * Lines are always escaped as JSON.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"
#include "output.h"
#include "records.h"
#include "request.h"
#include "samlog_proto.h"

/* The CSV columns, made from the schema once (export_columns). */
#define MAX_COLUMNS 256

static const char *csv_columns[MAX_COLUMNS + 1];
static char csv_names[MAX_COLUMNS][SL_FIELD_NAME_MAX + 8];

static bool csv_terminal;   /* standard output is a terminal */
static char csv_sep = ',';  /* between cells */
static const char *const *csv_cols; /* this export's columns */

/* The columns of kind k alone: id, record, its fields (made once per
 * run; an export has one kind). */
static const char *kind_columns[MAX_COLUMNS + 1];
static char kind_names[MAX_COLUMNS][SL_FIELD_NAME_MAX + 8];

/* True if a spreadsheet would take s as a formula, or s is such a text
 * behind one or more ' (which import would take one of off). */
static bool
formula_like(const char *s, size_t n)
{
	static const char run[] = "=+-@\t\r";
	size_t q = 0;

	while (q < n && s[q] == '\'')
		q++;
	return q < n && memchr(run, s[q], sizeof run - 1) != NULL;
}

/* One cell, quoted when it must be.  A single value is also quoted for
 * a ';' or an outer space (import trims and splits lists there); a
 * joined list (list true) is not. */
static void
csv_text(FILE *f, const char *s, size_t n, bool list)
{
	struct sbuf e = { 0 };

	if (csv_terminal) {
		text_escape(&e, s, n, true);
		s = e.p != NULL ? e.p : "";
		n = e.len;
	}
	bool quote = !list && n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
	bool tick = formula_like(s, n);

	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == csv_sep || s[i] == '"' || s[i] == '\n' ||
		    s[i] == '\r' || (!list && s[i] == ';');
	if (!quote) {
		if (tick)
			fputc('\'', f);
		fwrite(s, 1, n, f);
		free(e.p);
		return;
	}
	fputc('"', f);
	if (tick)
		fputc('\'', f);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
	free(e.p);
}

static void
csv_cell(FILE *f, const msgpack_object *v)
{
	if (v == NULL)
		return;
	switch (v->type) {
	case MSGPACK_OBJECT_STR:
		csv_text(f, v->via.str.ptr, v->via.str.size, false);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(v->via.boolean ? "true" : "false", f);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(f, "%" PRIu64, v->via.u64);
		break;
	case MSGPACK_OBJECT_ARRAY: {
		/* Elements joined by ';', quoted as one cell if needed. */
		struct sl_buf b = { 0 };

		for (uint32_t i = 0; i < v->via.array.size; i++) {
			const msgpack_object *e = &v->via.array.ptr[i];

			if (e->type != MSGPACK_OBJECT_STR)
				continue;
			if (b.len > 0)
				sl_buf_write(&b, ";", 1);
			sl_buf_write(&b, e->via.str.ptr, e->via.str.size);
		}
		if (b.p != NULL)
			csv_text(f, (const char *)b.p, b.len, true);
		free(b.p);
		break;
	}
	default:
		break;
	}
}

static void
column_add(size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(csv_columns[i], name) == 0)
			return;
	if (*n < MAX_COLUMNS) {
		snprintf(csv_names[*n], sizeof csv_names[*n], "%s", name);
		csv_columns[*n] = csv_names[*n];
		(*n)++;
	}
}

static const char *const *
columns_of(const struct sl_kind *k)
{
	size_t n = 0;

	kind_columns[n++] = "id";
	kind_columns[n++] = "record";
	for (uint32_t i = 0; i < k->nfields && n + 2 <= MAX_COLUMNS; i++) {
		kind_columns[n++] = k->fields[i].name;
		if (records_ref_name(&k->fields[i], kind_names[n],
		    sizeof kind_names[n])) {
			kind_columns[n] = kind_names[n];
			n++;
		}
	}
	kind_columns[n] = NULL;
	return kind_columns;
}

const char *const *
export_columns(void)
{
	static const char *const meta[] = { "created", "updated", "author" };
	size_t n = 0;
	char key[SL_FIELD_NAME_MAX + 8];

	if (csv_columns[0] != NULL)
		return csv_columns;
	column_add(&n, "record");
	column_add(&n, "id");
	for (const struct sl_kind *const *k = records_kinds(); *k; k++) {
		for (uint32_t i = 0; i < (*k)->nfields; i++) {
			column_add(&n, (*k)->fields[i].name);
			if (records_ref_name(&(*k)->fields[i], key, sizeof key))
				column_add(&n, key);
		}
	}
	for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++)
		column_add(&n, meta[i]);
	csv_columns[n] = NULL;
	return csv_columns;
}

static void
begin_none(FILE *f, enum out_mode mode, const char *table)
{
	(void)f;
	(void)mode;
	(void)table;
}

static void
end_none(FILE *f)
{
	(void)f;
}

/* --omit-personal: leave out personal data (PROTOCOL.md 5.1), for
 * sharing statistics. */
static bool omit_personal;

/* Is key, in a record of kind word, personal data: a personal field, the
 * names of the records a personal reference names, the label when it is
 * a personal field's value, or who wrote it? */
static bool
personal_key(const char *word, size_t wl, const char *key, size_t kl)
{
	char w[32];
	const struct sl_kind *k;

	if (kl == 6 && memcmp(key, "author", 6) == 0)
		return true;
	if (wl >= sizeof w)
		return false;
	memcpy(w, word, wl);
	w[wl] = '\0';
	if ((k = sl_schema_kind(w)) == NULL)
		return false;
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];
		size_t fl = strlen(f->name);
		bool names = kl > fl && memcmp(key, f->name, fl) == 0 &&
		    ((kl - fl == 5 && memcmp(key + fl, "_name", 5) == 0) ||
		    (kl - fl == 6 && memcmp(key + fl, "_names", 6) == 0));

		/* The names of the people a reference names (an action's
		 * owner may be a contact) are personal wherever they are. */
		if (names && f->ref != NULL && strchr(f->ref, 'c') != NULL)
			return true;
		if (!(f->flags & SL_FF_PERSONAL))
			continue;
		if ((kl == fl && memcmp(key, f->name, fl) == 0) || names)
			return true;
		if (kl == 5 && memcmp(key, "label", 5) == 0 &&
		    (f->flags & (SL_FF_SORT | SL_FF_REQUIRED)) ==
		    (SL_FF_SORT | SL_FF_REQUIRED))
			return true;
	}
	return false;
}

static void
jsonl_record(FILE *f, const msgpack_object *rec)
{
	const msgpack_object *word = map_get(rec, "record");
	bool first = true;

	if (!omit_personal || rec->type != MSGPACK_OBJECT_MAP ||
	    word == NULL || word->type != MSGPACK_OBJECT_STR) {
		json_value(f, rec);
		fputc('\n', f);
		return;
	}
	fputc('{', f);
	for (uint32_t i = 0; i < rec->via.map.size; i++) {
		const msgpack_object_kv *kv = &rec->via.map.ptr[i];
		const char *k;
		size_t kl;

		if (!map_key(kv, &k, &kl) || personal_key(word->via.str.ptr,
		    word->via.str.size, k, kl))
			continue;
		fputs(first ? "" : ", ", f);
		first = false;
		json_text(f, k, kl);
		fputs(": ", f);
		json_value(f, &kv->val);
	}
	fputs("}\n", f);
}

static void
csv_record(FILE *f, const msgpack_object *rec)
{
	const msgpack_object *word = map_get(rec, "record");

	for (const char *const *c = csv_cols; *c; c++) {
		if (c != csv_cols)
			fputc(csv_sep, f);
		/* A personal field of another kind's column stays empty. */
		if (omit_personal && word != NULL &&
		    word->type == MSGPACK_OBJECT_STR &&
		    personal_key(word->via.str.ptr, word->via.str.size, *c,
		    strlen(*c)))
			continue;
		csv_cell(f, map_get(rec, *c));
	}
	fputs("\r\n", f);
}

static const struct output out_jsonl = { begin_none, jsonl_record, end_none };
static const struct output out_csv = { begin_none, csv_record, end_none };

/* Is col a column of kind k: a field, or the names of a reference? */
static bool
column_of(const struct sl_kind *k, const char *col)
{
	char key[SL_FIELD_NAME_MAX + 8];

	for (uint32_t i = 0; i < k->nfields; i++)
		if (strcmp(k->fields[i].name, col) == 0 ||
		    (records_ref_name(&k->fields[i], key, sizeof key) &&
		    strcmp(key, col) == 0))
			return true;
	return false;
}

/* The columns that hold nothing but personal data, in every kind that
 * has them, are left out altogether. */
static bool
personal_everywhere(const char *col)
{
	bool any = false;

	if (strcmp(col, "author") == 0)
		return true;
	for (const struct sl_kind *const *k = records_kinds(); *k; k++) {
		if (!column_of(*k, col))
			continue;
		if (!personal_key((*k)->word, strlen((*k)->word), col,
		    strlen(col)))
			return false;
		any = true;
	}
	return any;
}

int
cmd_export(const char *dir, bool dir_named, const char *format,
    const char *kind, bool excel, bool omit)
{
	const char *const *kinds = records_words();
	const struct output *out;
	int status = 0;

	if (excel && format != NULL && strcmp(format, "csv") != 0) {
		cli_error("--excel writes CSV: leave out --format %s", format);
		return 2;
	}
	if (excel)
		format = "csv";
	if (format == NULL || strcmp(format, "jsonl") == 0) {
		out = &out_jsonl;
	} else if (strcmp(format, "csv") == 0) {
		out = &out_csv;
	} else {
		cli_error("invalid --format \"%s\" (jsonl or csv)", format);
		return 2;
	}
	if (kind != NULL && records_kind(kind) == NULL) {
		cli_error("invalid --kind \"%s\" (%s)", kind,
		    records_words_text());
		return 2;
	}
	csv_terminal = isatty(STDOUT_FILENO);
	csv_sep = excel ? ';' : ',';
	csv_cols = kind != NULL ? columns_of(records_kind(kind)) :
	    export_columns();
	omit_personal = omit;
	if (omit) {
		/* Drop the columns that are personal in every kind they
		 * belong to (a kind's own list: its personal fields). */
		static const char *kept[MAX_COLUMNS + 1];
		size_t n = 0;

		for (const char *const *c = csv_cols; *c; c++) {
			bool drop = kind != NULL ? personal_key(kind,
			    strlen(kind), *c, strlen(*c)) :
			    personal_everywhere(*c);

			if (!drop && n < MAX_COLUMNS)
				kept[n++] = *c;
		}
		kept[n] = NULL;
		csv_cols = kept;
	}
	if (out == &out_csv) {
		if (excel)
			fputs("\xef\xbb\xbf", stdout);
		for (const char *const *c = csv_cols; *c; c++) {
			if (c != csv_cols)
				fputc(csv_sep, stdout);
			fputs(*c, stdout);
		}
		fputs("\r\n", stdout);
	}
	for (const char *const *k = kinds; *k && status == 0; k++)
		if (kind == NULL || strcmp(kind, *k) == 0)
			status = request_list(dir, dir_named, *k, OUT_LIST, out);
	return status;
}
