/*
 * test_schema.c - nothing per kind is missing from the CLI.
 *
 * Walks the record schema (protocol/schema.c) and asks the CLI's modules,
 * linked as samlog links them (no daemon), about every field of every
 * record kind: the parser takes it as a flag of the command that carries
 * it (KIND add, update where the schema lets an update set it, the
 * lifecycle's steps), with the right shape (a list repeatable, a bool a
 * switch, required where the event type requires it) and lists it in
 * that command's --help; an indexed field is a filter of KIND list;
 * completion offers an enumeration's values and a reference's kind; an
 * import takes it as a CSV column and a JSON Lines key and sends it
 * under its flag; the export writes it.  The kinds come in an order an
 * import can follow, each record kind has a table, and the man page and
 * README name every flag.  A new field or kind in the schema is covered
 * here without a line of this file changing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "export.h"
#include "import.h"
#include "output.h"
#include "parser.h"
#include "records.h"
#include "samlog_proto.h"

#define ANY_ID "0123456789abcdefghjkmnpqrs"   /* 26 characters of base32 */

/* ---- helpers -------------------------------------------------------------- */

/* A value the CLI takes for f, as typed. */
static const char *
value_of(const struct sl_field *f)
{
	switch (f->type) {
	case SL_F_EMAIL:
		return "a@example.se";
	case SL_F_DATE:
		return "2019-11-14";
	case SL_F_ENUM:
	case SL_F_STATE:
		return f->values[0];
	case SL_F_REF:
	case SL_F_REFS:
		return ANY_ID;
	default:
		return "x";
	}
}

static bool
is_list(const struct sl_field *f)
{
	return f->type == SL_F_REFS || f->type == SL_F_TEXTS;
}

/* Parses command c (its name split at the space) with an id if it takes
 * one, the required flags but skip, and reps times extra (a flag) with
 * value (NULL for a switch). */
static bool
parse_cmd(struct parse_result *r, char *err, size_t elen,
    const struct command_def *c, const struct flag_def *skip,
    const char *extra, const char *value, int reps)
{
	char *argv[64], w1[64], w2[64], fl[64][40];
	int n = 0, k = 0;
	const char *sp = strchr(c->name, ' ');

	argv[n++] = "samlog";
	if (sp != NULL) {
		snprintf(w1, sizeof w1, "%.*s", (int)(sp - c->name), c->name);
		snprintf(w2, sizeof w2, "%s", sp + 1);
		argv[n++] = w1;
		argv[n++] = w2;
	} else {
		snprintf(w1, sizeof w1, "%s", c->name);
		argv[n++] = w1;
	}
	if (c->pos != NULL && strcmp(c->pos, "ID") == 0)
		argv[n++] = ANY_ID;
	for (const struct flag_def *f = c->flags; f->name != NULL; f++) {
		if (!(f->flags & FL_REQUIRED) ||
		    (skip != NULL && strcmp(f->name, skip->name) == 0))
			continue;
		snprintf(fl[k], sizeof fl[k], "--%s", f->name);
		argv[n++] = fl[k++];
		if (!(f->flags & FL_SWITCH))
			argv[n++] = (char *)(f->field ? value_of(f->field) : "x");
	}
	for (int i = 0; extra != NULL && i < reps; i++) {
		snprintf(fl[k], sizeof fl[k], "--%s", extra);
		argv[n++] = fl[k++];
		if (value != NULL)
			argv[n++] = (char *)value;
	}
	argv[n] = NULL;
	err[0] = '\0';
	return parse_args(r, n, argv, err, elen);
}

static const struct flag_def *
flag_of(const struct command_def *c, const char *name)
{
	for (const struct flag_def *f = c->flags; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static const struct command_def *
command(const struct sl_kind *k, const char *verb)
{
	char name[96];

	snprintf(name, sizeof name, "%s %s", k->word, verb);
	return parse_find(name);
}

/* The help of command c (of all, for NULL); the caller frees it. */
static char *
help_of(const struct command_def *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	parse_usage(f, c);
	fclose(f);
	return buf;
}

/* Completion of "WORDS ''": the candidates printed, and the kind of ids
 * returned in *ids. */
static char *
complete(const char **ids, int n, char **words)
{
	char *buf = NULL;
	size_t len = 0;
	const char *dir;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*ids = parse_complete(f, n, words, &dir);
	fclose(f);
	return buf;
}

/* Checks that a flag of command c sets or filters by exactly f. */
static void
check_flag(const struct command_def *c, const struct sl_field *f,
    bool filter)
{
	const struct flag_def *fd = flag_of(c, f->flag);
	struct parse_result r;
	char err[256], *help, want[64];

	if (fd == NULL) {
		fail_msg("%s has no --%s (field %s)", c->name, f->flag, f->name);
		return;
	}
	assert_ptr_equal(fd->field, f);
	/* Its shape. */
	if (f->type == SL_F_BOOL)
		assert_true(fd->flags & FL_SWITCH);
	else
		assert_false(fd->flags & FL_SWITCH);
	/* A filter takes several values (any of them matches); a field
	 * being set, more than one only if it is a list. */
	assert_int_equal(filter ? f->type != SL_F_BOOL : is_list(f),
	    (fd->flags & FL_REPEAT) != 0);
	/* Taken on the command line, twice for a list; once only for
	 * anything else. */
	if (!parse_cmd(&r, err, sizeof err, c, fd, f->flag,
	    (fd->flags & FL_SWITCH) ? NULL : value_of(f),
	    (fd->flags & FL_REPEAT) ? 2 : 1))
		fail_msg("%s --%s: %s", c->name, f->flag, err);
	assert_non_null(parse_value(&r, f->flag));
	if (!(fd->flags & FL_REPEAT) && parse_cmd(&r, err, sizeof err, c,
	    fd, f->flag, (fd->flags & FL_SWITCH) ? NULL : value_of(f), 2))
		fail_msg("%s takes --%s twice", c->name, f->flag);
	/* And in its help. */
	help = help_of(c);
	snprintf(want, sizeof want, "--%s", f->flag);
	if (strstr(help, want) == NULL)
		fail_msg("%s --help lacks %s:\n%s", c->name, want, help);
	free(help);
}

/* Every field an event type carries (but a state) is a flag of its
 * command, and a required one is refused when missing. */
static void
check_evtype(const struct sl_evtype *et)
{
	const struct command_def *c = command(et->kind, et->verb);
	const struct sl_kind *k = et->kind;

	if (c == NULL) {
		fail_msg("no command \"%s %s\" for %s", k->word, et->verb,
		    et->type);
		return;
	}
	assert_ptr_equal(c->kind, k);
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];
		const struct flag_def *fd;
		struct parse_result r;
		char err[256], want[64];

		if (!(et->fields & (1u << i)) || f->type == SL_F_STATE ||
		    (f->flags & SL_FF_NOFLAG))
			continue;
		check_flag(c, f, false);
		fd = flag_of(c, f->flag);
		assert_int_equal((et->required >> i) & 1,
		    (fd->flags & FL_REQUIRED) != 0);
		if (!(fd->flags & FL_REQUIRED))
			continue;
		assert_false(parse_cmd(&r, err, sizeof err, c, fd, NULL,
		    NULL, 0));
		snprintf(want, sizeof want, "needs --%s", f->flag);
		assert_non_null(strstr(err, want));
	}
}

/* ---- the tests ------------------------------------------------------------ */

static void
test_kind_order(void **state)
{
	const struct sl_kind *const *ks = records_kinds();
	size_t n = 0, want = 0;

	(void)state;
	for (size_t i = 0; i < sl_schema_kind_count(); i++)
		want += sl_schema_kind_at(i)->record;
	for (; ks[n] != NULL; n++) {
		assert_true(ks[n]->record);
		assert_string_equal(records_words()[n], ks[n]->word);
		assert_ptr_equal(records_kind(ks[n]->word), ks[n]);
		assert_non_null(strstr(records_words_text(), ks[n]->word));
		/* What it refers to came before it. */
		for (uint32_t i = 0; i < ks[n]->nfields; i++) {
			const struct sl_field *f = &ks[n]->fields[i];

			if (f->type != SL_F_REF && f->type != SL_F_REFS)
				continue;
			assert_non_null(f->ref);
			for (const char *r = f->ref; *r; r++) {
				const struct sl_kind *to = sl_schema_kind_c(*r);
				bool before = false;

				assert_non_null(to);
				for (size_t j = 0; j < n && !before; j++)
					before = ks[j] == to;
				if (!before && to != ks[n])
					fail_msg("%s refers to %s, which comes "
					    "later", ks[n]->word, to->word);
			}
		}
		for (size_t j = 0; j < n; j++)
			assert_ptr_not_equal(ks[j], ks[n]);
	}
	assert_int_equal(n, want);
}

static void
test_commands(void **state)
{
	const struct sl_evtype *et;

	(void)state;
	for (size_t i = 0; (et = sl_schema_evtype_at(i)) != NULL; i++)
		if (et->kind->record && et->verb != NULL)
			check_evtype(et);
	for (const struct sl_kind *const *k = records_kinds(); *k; k++) {
		const struct sl_evtype *cr = records_create(*k);
		const struct command_def *show = command(*k, "show");
		char *all = help_of(NULL);

		/* Every field reaches the log through some command: the
		 * creating one if it carries it, else a step or an update;
		 * a lifecycle state is set by the steps. */
		for (uint32_t f = 0; f < (*k)->nfields; f++) {
			const struct sl_field *fd = &(*k)->fields[f];
			bool carried = false;

			for (size_t j = 0; (et = sl_schema_evtype_at(j)); j++)
				carried = carried || (et->kind == *k &&
				    et->verb != NULL &&
				    (et->fields & (1u << f)));
			if (!carried)
				fail_msg("no command sets %s's %s", (*k)->word,
				    fd->name);
			if (fd->flags & SL_FF_UPDATE) {
				const struct command_def *u = NULL;

				for (size_t j = 0; (et = sl_schema_evtype_at(j));
				    j++)
					if (et->kind == *k &&
					    et->role == SL_ET_UPDATE &&
					    et->sets == 0 && et->verb != NULL)
						u = command(*k, et->verb);
				if (u == NULL)
					fail_msg("%s's %s may be updated, but no "
					    "command updates it", (*k)->word,
					    fd->name);
				else
					check_flag(u, fd, false);
			}
		}
		assert_non_null(cr);
		assert_non_null(show);
		assert_ptr_equal(show->flags, command(*k, "show")->flags);
		/* `samlog help` lists each of the kind's commands. */
		for (size_t ci = 0; parse_command_at(ci) != NULL; ci++) {
			const struct command_def *c = parse_command_at(ci);
			char line[96];

			snprintf(line, sizeof line, "  %s ", c->name);
			if (c->kind == *k && strstr(all, line) == NULL)
				fail_msg("samlog help lacks %s", c->name);
		}
		free(all);
	}
}

static void
test_list_filters(void **state)
{
	(void)state;
	for (const struct sl_kind *const *k = records_kinds(); *k; k++) {
		const struct command_def *c = command(*k, "list");

		assert_non_null(c);
		assert_int_equal(c->out, OUT_LIST);
		assert_string_equal(c->table, (*k)->word);
		for (uint32_t i = 0; i < (*k)->nfields; i++) {
			const struct sl_field *f = &(*k)->fields[i];
			struct parse_result r;
			char err[256];

			if (f->flags & SL_FF_INDEX)
				check_flag(c, f, true);
			if ((f->flags & SL_FF_SORT) && f->type == SL_F_DATE) {
				if (!parse_cmd(&r, err, sizeof err, c, NULL,
				    "from", "2019-01-01", 1) ||
				    !parse_cmd(&r, err, sizeof err, c, NULL, "to",
				    "2019-12-31", 1))
					fail_msg("%s --from/--to: %s", c->name,
					    err);
			}
		}
		/* Nothing else: a flag the daemon would refuse. */
		for (const struct flag_def *fd = c->flags; fd->name; fd++)
			if (fd->field != NULL)
				assert_true(fd->field->flags & SL_FF_INDEX);
	}
}

static void
test_completion(void **state)
{
	(void)state;
	for (const struct sl_kind *const *k = records_kinds(); *k; k++) {
		for (size_t ci = 0; parse_command_at(ci) != NULL; ci++) {
			const struct command_def *c = parse_command_at(ci);
			char *words[8], w1[64], w2[64], fl[64];
			const char *sp = strchr(c->name, ' '), *ids;
			char *out;

			if (c->kind != *k || sp == NULL)
				continue;
			snprintf(w1, sizeof w1, "%.*s", (int)(sp - c->name),
			    c->name);
			snprintf(w2, sizeof w2, "%s", sp + 1);
			words[0] = w1;
			words[1] = w2;
			/* The id a command takes is one of its kind. */
			if (c->pos != NULL) {
				words[2] = "";
				out = complete(&ids, 3, words);
				assert_non_null(ids);
				assert_string_equal(ids, (*k)->word);
				free(out);
			}
			for (const struct flag_def *fd = c->flags; fd->name;
			    fd++) {
				const struct sl_field *f = fd->field;

				if (f == NULL || (fd->flags & FL_SWITCH))
					continue;
				snprintf(fl, sizeof fl, "--%s", fd->name);
				words[2] = fl;
				words[3] = "";
				out = complete(&ids, 4, words);
				if (f->type == SL_F_ENUM ||
				    f->type == SL_F_STATE) {
					for (const char *const *v = f->values;
					    *v; v++) {
						char line[64];

						snprintf(line, sizeof line,
						    "%s\n", *v);
						if (strstr(out, line) == NULL)
							fail_msg("%s %s: no %s",
							    c->name, fl, *v);
					}
				}
				if (f->type == SL_F_REF || f->type == SL_F_REFS) {
					assert_non_null(ids);
					assert_string_equal(ids,
					    sl_schema_kind_c(f->ref[0])->word);
				}
				free(out);
			}
		}
	}
}

/* The args map of the one row in rows (import's packed output), as an
 * object living in u. */
static const msgpack_object *
row_args(const struct sl_buf *rows, msgpack_unpacked *u, msgpack_unpacked *b,
    char *cmd, size_t clen)
{
	const msgpack_object *body, *m, *args = NULL;

	assert_int_equal(msgpack_unpack_next(u, (const char *)rows->p,
	    rows->len, NULL), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(u->data.type, MSGPACK_OBJECT_ARRAY);
	body = &u->data.via.array.ptr[1];
	assert_int_equal(body->type, MSGPACK_OBJECT_BIN);
	assert_int_equal(msgpack_unpack_next(b, body->via.bin.ptr,
	    body->via.bin.size, NULL), MSGPACK_UNPACK_SUCCESS);
	m = &b->data;
	args = map_get(m, "args");
	assert_non_null(args);
	assert_non_null(map_get(m, "cmd"));
	snprintf(cmd, clen, "%.*s", (int)map_get(m, "cmd")->via.str.size,
	    map_get(m, "cmd")->via.str.ptr);
	return args;
}

/* Checks the value import sent for field f. */
static void
check_arg(const struct sl_kind *k, const msgpack_object *args,
    const struct sl_field *f, bool carried, const char *how)
{
	const msgpack_object *v = map_get(args, f->flag);

	if (!carried) {
		if (v != NULL)
			fail_msg("%s import (%s) sent %s, which the creating "
			    "event cannot carry", k->word, how, f->name);
		return;
	}
	if (v == NULL) {
		fail_msg("%s import (%s) did not send %s as --%s", k->word, how,
		    f->name, f->flag);
		return;
	}
	if (f->type == SL_F_BOOL) {
		assert_int_equal(v->type, MSGPACK_OBJECT_BOOLEAN);
		assert_true(v->via.boolean);
	} else if (is_list(f)) {
		assert_int_equal(v->type, MSGPACK_OBJECT_ARRAY);
		assert_int_equal(v->via.array.size, 2);
	} else {
		assert_int_equal(v->type, MSGPACK_OBJECT_STR);
		assert_int_equal(v->via.str.size, strlen(value_of(f)));
		assert_memory_equal(v->via.str.ptr, value_of(f),
		    strlen(value_of(f)));
	}
}

static void
test_import(void **state)
{
	(void)state;
	for (const struct sl_kind *const *k = records_kinds(); *k; k++) {
		const struct sl_evtype *cr = records_create(*k);
		char csv[4096], json[4096];
		size_t cl = 0, jl = 0;

		assert_non_null(cr);
		/* A CSV header of every field's name (the kind from
		 * --kind), a JSON Lines object of every field (the kind
		 * from "record"); lists of two values, bools true. */
		jl += (size_t)snprintf(json + jl, sizeof json - jl,
		    "{\"record\": \"%s\"", (*k)->word);
		for (int pass = 0; pass < 2; pass++) {
			for (uint32_t i = 0; i < (*k)->nfields; i++) {
				const struct sl_field *f = &(*k)->fields[i];
				const char *v = value_of(f);

				if (pass == 0)
					cl += (size_t)snprintf(csv + cl,
					    sizeof csv - cl, "%s%s", i ? "," : "",
					    f->name);
				else if (f->type == SL_F_BOOL)
					cl += (size_t)snprintf(csv + cl,
					    sizeof csv - cl, "%syes",
					    i ? "," : "");
				else if (is_list(f))
					cl += (size_t)snprintf(csv + cl,
					    sizeof csv - cl, "%s\"%s; %sb\"",
					    i ? "," : "", v, v);
				else
					cl += (size_t)snprintf(csv + cl,
					    sizeof csv - cl, "%s%s", i ? "," : "",
					    v);
				if (pass == 1)
					continue;
				if (f->type == SL_F_BOOL)
					jl += (size_t)snprintf(json + jl,
					    sizeof json - jl, ", \"%s\": true",
					    f->name);
				else if (is_list(f))
					jl += (size_t)snprintf(json + jl,
					    sizeof json - jl,
					    ", \"%s\": [\"%s\", \"%sb\"]",
					    f->name, v, v);
				else
					jl += (size_t)snprintf(json + jl,
					    sizeof json - jl, ", \"%s\": \"%s\"",
					    f->name, v);
			}
			cl += (size_t)snprintf(csv + cl, sizeof csv - cl, "\n");
		}
		jl += (size_t)snprintf(json + jl, sizeof json - jl, "}\n");
		assert_true(cl < sizeof csv && jl < sizeof json);
		for (int fmt = 0; fmt < 2; fmt++) {
			struct sl_buf rows = { 0 };
			msgpack_unpacked u, b;
			const msgpack_object *args;
			unsigned errors;
			char cmd[64], want[64];
			size_t n = fmt ? import_parse_rows("t.csv", csv, cl, true,
			    (*k)->word, &errors, &rows) : import_parse_rows(
			    "t.jsonl", json, jl, false, NULL, &errors, &rows);

			if (n != 1 || errors != 0)
				fail_msg("%s import of %s: %zu rows, %u errors",
				    (*k)->word, fmt ? csv : json, n, errors);
			msgpack_unpacked_init(&u);
			msgpack_unpacked_init(&b);
			args = row_args(&rows, &u, &b, cmd, sizeof cmd);
			snprintf(want, sizeof want, "%s.%s", (*k)->word,
			    cr->verb);
			assert_string_equal(cmd, want);
			for (uint32_t i = 0; i < (*k)->nfields; i++)
				check_arg(*k, args, &(*k)->fields[i],
				    (cr->fields >> i) & 1, fmt ? "CSV" :
				    "JSON Lines");
			msgpack_unpacked_destroy(&b);
			msgpack_unpacked_destroy(&u);
			free(rows.p);
		}
	}
}

static void
test_export(void **state)
{
	const char *const *cols = export_columns();

	(void)state;
	for (const struct sl_kind *const *k = records_kinds(); *k; k++) {
		for (uint32_t i = 0; i < (*k)->nfields; i++) {
			const struct sl_field *f = &(*k)->fields[i];
			char key[64];
			bool found = false, named = false;

			records_ref_name(f, key, sizeof key);
			for (const char *const *c = cols; *c; c++) {
				found = found || strcmp(*c, f->name) == 0;
				named = named || strcmp(*c, key) == 0;
			}
			if (!found)
				fail_msg("export writes no column %s (%s)",
				    f->name, (*k)->word);
			if (records_ref_name(f, key, sizeof key) && !named)
				fail_msg("export writes no column %s", key);
		}
	}
	/* The keys import takes besides the fields. */
	assert_string_equal(cols[0], "record");
	assert_string_equal(cols[1], "id");
}

/* Each record kind's list is a table of more than its ids. */
static void
test_tables(void **state)
{
	(void)state;
	for (const struct sl_kind *const *k = records_kinds(); *k; k++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		msgpack_object_kv kv[1];
		msgpack_object rec = { .type = MSGPACK_OBJECT_MAP };

		kv[0].key.type = MSGPACK_OBJECT_STR;
		kv[0].key.via.str.ptr = "id";
		kv[0].key.via.str.size = 2;
		kv[0].val = kv[0].key;
		rec.via.map.ptr = kv;
		rec.via.map.size = 1;
		assert_non_null(f);
		output_text.begin(f, OUT_LIST, (*k)->word);
		output_text.record(f, &rec);
		output_text.end(f);
		fclose(f);
		if (strncmp(buf, "ID  ", 4) != 0 || strchr(buf, '\n') == NULL ||
		    strchr(buf, '\n') - buf < 6)
			fail_msg("%s list has no table: %s", (*k)->word, buf);
		free(buf);
	}
}

/* "--name" as a document writes it: roff escapes each hyphen. */
static void
doc_flag(char *out, size_t n, const char *name, bool roff)
{
	char full[64];
	size_t w = 0;

	snprintf(full, sizeof full, "--%s", name);
	for (const char *p = full; *p != '\0' && w + 3 < n; p++) {
		if (*p == '-' && roff)
			out[w++] = '\\';
		out[w++] = *p;
	}
	out[w] = '\0';
}

/* The man page and README name every flag of the record commands: a
 * flag new to the CLI cannot go undocumented.  (Which command a page
 * names it for is left to the reader of the page.) */
static void
test_docs(void **state)
{
	static const char *const docs[] = { "man/samlog.1", "README.md" };

	(void)state;
	for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
		FILE *f = fopen(docs[d], "r");
		char *text = calloc(1, 1 << 20);
		size_t n;

		if (f == NULL) {
			fail_msg("cannot read %s (run from the source tree)",
			    docs[d]);
			return;
		}
		assert_non_null(text);
		n = fread(text, 1, (1 << 20) - 1, f);
		fclose(f);
		text[n] = '\0';
		for (size_t ci = 0; parse_command_at(ci) != NULL; ci++) {
			const struct command_def *c = parse_command_at(ci);

			if (c->kind == NULL)
				continue;
			for (const struct flag_def *fd = c->flags; fd->name;
			    fd++) {
				char want[96];

				doc_flag(want, sizeof want, fd->name, d == 0);
				if (strstr(text, want) == NULL)
					fail_msg("%s does not name %s's %s",
					    docs[d], c->name, want);
			}
		}
		free(text);
	}
}

/* What looks like a personal identity number, and what does not. */
static void
test_pnr(void **state)
{
	static const struct {
		const char *s;
		bool pnr;
	} cases[] = {
		{ "811218-9876", true },            /* the tax agency's example */
		{ "pnr 811218-9876, tack", true },
		{ "811218+9876", true },            /* over a hundred years old */
		{ "19811218-9876", true },
		{ "198112189876", true },
		{ "811278-9873", true },            /* samordningsnummer */
		{ "811218-9875", false },           /* wrong check digit */
		{ "8112189876", false },            /* ten bare digits: a phone? */
		{ "0701234567", false },
		{ "070123-4567", false },           /* month 01, day 23: no check */
		{ "811318-9876", false },           /* month 13 */
		{ "1811218-98765", false },         /* digits around it */
		{ "29811218-9876", false },         /* no such century */
		{ "", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (sl_text_pnr(cases[i].s, strlen(cases[i].s), NULL) !=
		    cases[i].pnr)
			fail_msg("\"%s\": want %s", cases[i].s, cases[i].pnr ?
			    "a personal identity number" : "none");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_order),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_list_filters),
		cmocka_unit_test(test_completion),
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_export),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_docs),
		cmocka_unit_test(test_pnr),
	};

	return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
