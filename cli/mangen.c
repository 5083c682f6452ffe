/*
 * mangen.c - prints the record commands' part of samlog(1), in roff, from
 * the command table samlog itself parses with (parser.c, made from the
 * record schema): for each record kind its commands with their
 * synopses, its flags with what each takes, and its lifecycle.
 *
 * `make man` puts the output between the markers in man/samlog.1, and
 * `make check` fails while the page differs from it: a field or kind
 * added to the schema cannot go undocumented.  Not installed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parser.h"
#include "samlog_proto.h"

/* s as roff text: backslashes and hyphens escaped, a line never starting
 * with a control character, bytes beyond ASCII as \[uXXXX]. */
static void
roff(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '.' || *p == '\'')
		fputs("\\&", stdout);
	while (*p != '\0') {
		if (*p >= 0xc0) {
			/* UTF-8 (the schema's own text, valid) */
			size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2, i;
			uint32_t cp = *p & (0x3fu >> (n - 1));

			for (i = 1; i < n && (p[i] & 0xc0) == 0x80; i++)
				cp = cp << 6 | (p[i] & 0x3fu);
			if (i < n) {
				p++;
				continue;
			}
			printf("\\[u%04X]", (unsigned)cp);
			p += n;
			continue;
		}
		if (*p == '\\')
			fputs("\\e", stdout);
		else if (*p == '-')
			fputs("\\-", stdout);
		else
			putchar(*p);
		p++;
	}
}

/* The first letter in capitals, the text (the word ID in italics, as in
 * the synopsis), a full stop; one line. */
static void
sentence(const char *s)
{
	char buf[512];
	const char *id;

	snprintf(buf, sizeof buf, "%s", s);
	if (buf[0] >= 'a' && buf[0] <= 'z')
		buf[0] = (char)(buf[0] - 'a' + 'A');
	s = buf;
	while ((id = strstr(s, " ID")) != NULL && (id[3] == '\0' ||
	    id[3] == ' ' || id[3] == ')' || id[3] == ',')) {
		char part[512];

		snprintf(part, sizeof part, "%.*s", (int)(id - s), s);
		roff(part);
		fputs(" \\fIID\\fR", stdout);
		s = id + 3;
	}
	roff(s);
	puts(".");
}

/* One flag in a synopsis, on a line of its own, never broken inside. */
static void
synopsis_flag(const struct flag_def *f)
{
	bool opt = !(f->flags & FL_REQUIRED);

	if (opt)
		putchar('[');
	fputs("\\fB\\-\\-", stdout);
	roff(f->name);
	fputs("\\fR", stdout);
	if (!(f->flags & FL_SWITCH) && f->metavar != NULL) {
		fputs("\\~\\fI", stdout);
		roff(f->metavar);
		fputs("\\fR", stdout);
	}
	if (opt)
		putchar(']');
	if (f->flags & FL_REPEAT)
		fputs("...\\&", stdout);
	putchar('\n');
}

static void
synopsis(const struct command_def *c)
{
	printf(".SY \"samlog ");
	roff(c->name);
	puts("\"");
	if (c->pos != NULL) {
		fputs("\\fI", stdout);
		roff(c->pos);
		puts("\\fR");
	}
	for (const struct flag_def *f = c->flags; f->name != NULL; f++)
		if (f->flags & FL_REQUIRED)
			synopsis_flag(f);
	for (const struct flag_def *f = c->flags; f->name != NULL; f++)
		if (!(f->flags & FL_REQUIRED))
			synopsis_flag(f);
	puts(".YS");
	sentence(c->summary);
}

/* "org or contact" in bold, for the kinds a reference names. */
static void
ref_kinds(const struct sl_field *f)
{
	size_t n = f->ref != NULL ? strlen(f->ref) : 0;

	for (size_t i = 0; i < n; i++) {
		const struct sl_kind *to = sl_schema_kind_c(f->ref[i]);

		if (to == NULL)
			continue;
		fputs(i == 0 ? "" : i + 1 == n ? " or " : ", ", stdout);
		fputs("\\fB", stdout);
		roff(to->word);
		fputs("\\fR", stdout);
	}
}

/* What a field's value is, as a phrase. */
static void
field_type(const struct sl_field *f)
{
	switch (f->type) {
	case SL_F_TEXT:
		printf("text, at most %u bytes", (unsigned)f->max);
		break;
	case SL_F_EMAIL:
		printf("an e\\-mail address, at most %u bytes", (unsigned)f->max);
		break;
	case SL_F_DATE:
		fputs("a date", stdout);
		break;
	case SL_F_ENUM:
		fputs("one of a fixed set", stdout);
		break;
	case SL_F_BOOL:
		fputs("yes when given", stdout);
		break;
	case SL_F_REF:
		fputs("the name or id of a record: ", stdout);
		ref_kinds(f);
		break;
	case SL_F_REFS:
		fputs("names or ids of records: ", stdout);
		ref_kinds(f);
		printf(", at most %d", SL_LIST_MAX);
		break;
	case SL_F_TEXTS:
		printf("texts of at most %u bytes, at most %d of them",
		    (unsigned)f->max, SL_LIST_MAX);
		break;
	case SL_F_KEY:
		fputs("a node id", stdout);
		break;
	case SL_F_SEQ:
		fputs("a positive number", stdout);
		break;
	case SL_F_TIPS:
		fputs("a checkpoint's tips", stdout);
		break;
	case SL_F_SIG:
		fputs("a signature", stdout);
		break;
	case SL_F_CUTS:
		fputs("each device's last counted seq", stdout);
		break;
	case SL_F_FORK:
		fputs("a fork proof", stdout);
		break;
	case SL_F_KEYS:
		fputs("a list of keys", stdout);
		break;
	case SL_F_APPROVALS:
		fputs("members' signed approvals", stdout);
		break;
	case SL_F_HASHES:
		fputs("a list of event hashes", stdout);
		break;
	case SL_F_STATE:
		fputs("the lifecycle's state", stdout);
		break;
	}
}

/* True if an update (not the creating event, not a step) may set f. */
static bool
changed_by_update(const struct sl_kind *k, const struct sl_field *f)
{
	const struct sl_evtype *et;
	uint32_t bit = 1u << (uint32_t)(f - k->fields);

	for (size_t i = 0; (et = sl_schema_evtype_at(i)) != NULL; i++)
		if (et->kind == k && et->role == SL_ET_UPDATE &&
		    (et->fields & bit))
			return true;
	return false;
}

static bool
in_list(const char *const *seen, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(seen[i], name) == 0)
			return true;
	return false;
}

/* Every flag the kind's commands take, once, in the order first met. */
static void
flags_of(const struct sl_kind *k, size_t first, size_t end)
{
	const char *seen[128];
	size_t nseen = 0;

	puts(".PP");
	printf("The flags of the \\fB");
	roff(k->word);
	puts("\\fR commands:");
	for (size_t ci = first; ci < end; ci++) {
		const struct command_def *c = parse_command_at(ci);

		for (const struct flag_def *f = c->flags; f->name != NULL; f++) {
			const struct sl_field *fd = f->field;
			bool update, required = false;

			if (in_list(seen, nseen, f->name) ||
			    nseen == sizeof seen / sizeof seen[0])
				continue;
			seen[nseen++] = f->name;
			puts(".TP");
			fputs("\\fB\\-\\-", stdout);
			roff(f->name);
			fputs("\\fR", stdout);
			if (!(f->flags & FL_SWITCH) && f->metavar != NULL) {
				fputs(" \\fI", stdout);
				roff(f->metavar);
				fputs("\\fR", stdout);
			}
			putchar('\n');
			sentence(f->help);
			if (fd == NULL)
				continue;
			/* Required by the creating command? */
			for (size_t cj = first; cj < end; cj++) {
				const struct command_def *a =
				    parse_command_at(cj);

				for (const struct flag_def *g = a->flags;
				    g->name != NULL; g++)
					if (g->field == fd &&
					    (g->flags & FL_REQUIRED) &&
					    a->pos == NULL)
						required = true;
			}
			update = changed_by_update(k, fd);
			printf("The field \\fB");
			roff(fd->name);
			fputs("\\fR: ", stdout);
			field_type(fd);
			if (required)
				fputs("; required", stdout);
			if (update)
				fputs("; \\fBupdate\\fR may change it", stdout);
			if (fd->flags & SL_FF_INDEX)
				fputs("; a filter of \\fBlist\\fR", stdout);
			puts(".");
		}
	}
}

/* The states and the steps between them, if the kind has a lifecycle. */
static void
lifecycle(const struct sl_kind *k)
{
	const struct sl_evtype *et;

	if (k->states == NULL)
		return;
	puts(".PP");
	printf("The lifecycle of a \\fB");
	roff(k->word);
	fputs("\\fR record: its states are", stdout);
	for (uint8_t s = 1; s < 32 && sl_schema_state_name(k, s)[0] != '\0';
	    s++) {
		fputs(s == 1 ? " \\fB" : ", \\fB", stdout);
		roff(sl_schema_state_name(k, s));
		fputs("\\fR", stdout);
	}
	puts(", and each command moves it:");
	for (size_t i = 0; (et = sl_schema_evtype_at(i)) != NULL; i++) {
		bool any = false;

		if (et->kind != k || et->verb == NULL || et->to == 0)
			continue;
		puts(".TP");
		fputs("\\fB", stdout);
		roff(k->word);
		putchar(' ');
		roff(et->verb);
		puts("\\fR");
		if (et->role == SL_ET_CREATE) {
			fputs("a new record is \\fB", stdout);
			roff(sl_schema_state_name(k, et->to));
			puts("\\fR");
			continue;
		}
		fputs("from ", stdout);
		for (uint8_t s = 1; s < 32; s++) {
			if (!(et->from & (1u << s)) ||
			    sl_schema_state_name(k, s)[0] == '\0')
				continue;
			fputs(any ? " or \\fB" : "\\fB", stdout);
			roff(sl_schema_state_name(k, s));
			fputs("\\fR", stdout);
			any = true;
		}
		fputs(" to \\fB", stdout);
		roff(sl_schema_state_name(k, et->to));
		puts("\\fR");
	}
}

int
main(void)
{
	const struct command_def *c;
	size_t ci = 0;

	puts(".\\\" Made by `make man` from the record schema (cli/mangen.c):");
	puts(".\\\" change the schema, not these lines.");
	while ((c = parse_command_at(ci)) != NULL) {
		const struct sl_kind *k = c->kind;
		size_t first = ci, end;

		if (k == NULL) {
			ci++;
			continue;
		}
		for (end = ci; parse_command_at(end) != NULL &&
		    parse_command_at(end)->kind == k; end++)
			;
		printf(".SS \"Records: ");
		roff(k->word);
		puts("\"");
		for (size_t i = first; i < end; i++)
			synopsis(parse_command_at(i));
		flags_of(k, first, end);
		lifecycle(k);
		ci = end;
	}
	return ferror(stdout) ? 1 : 0;
}
