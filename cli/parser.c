/*
 * parser.c - the command table and the argv walker.
 *
 * Global options (-d DIR, --json, --help) are accepted before or after the
 * command, as samlog(1) promises.  A command is one or two words ("status",
 * "org add"); after it come its flags ("--flag value" or "--flag=value")
 * and at most one positional argument (an id).
 *
 * The node, peer and file commands are the tables below.  The record
 * commands are made from the record schema on first use: for each kind
 * one command per event type with a verb (add, update, the lifecycle's
 * steps), whose flags are the fields the type carries (a list field
 * repeatable, a bool a switch, an enumeration's values offered by
 * completion, required where the type requires them), then list, whose
 * filters are the indexed fields (and --from/--to over a date the kind
 * sorts by), and show.  samlogd reads the same schema to take them, so a
 * new field is a new flag on both sides at once.  Making the table costs
 * a few microseconds, well inside the CLI's start-up.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"
#include "records.h"
#include "samlog_proto.h"

#define END_FLAGS { NULL, NULL, NULL, 0, NULL, NULL }

static const char *const formats[] = { "csv", "jsonl", NULL };
static const char *const report_formats[] = { "html", "md", "json", NULL };
static const char *const langs[] = { "sv", "en", NULL };

static const struct flag_def init_flags[] = {
	{ "org", "NAME", "the organisation this node speaks for", FL_REQUIRED,
	    NULL, NULL },
	END_FLAGS,
};
static const struct flag_def no_flags[] = { END_FLAGS };
static const struct flag_def find_flags[] = {
	{ "archived", NULL, "archived records too", FL_SWITCH, NULL, NULL },
	END_FLAGS,
};

#define KNOWN_AT_HELP "as this node knew it then: a time (2026-12-01T22:06:21" \
	"+01:00, ...Z, or 2026-12-01 22:06 local time) or a day (its end)"
static const struct flag_def show_flags[] = {
	{ "as-of", "DATE", "as it stood on that day (by the dates changes "
	    "take effect; a time counts as its own day)", FL_DAY, NULL, NULL },
	{ "known-at", "TIME", KNOWN_AT_HELP, FL_TIME, NULL, NULL },
	END_FLAGS,
};

static const struct flag_def peer_add_flags[] = {
	{ "key", "NODEID", "the member's node id (samlog init prints it)",
	    FL_REQUIRED, NULL, NULL },
	{ "addr", "HOST:PORT", "where to dial it (without: accept it only)", 0,
	    NULL, NULL },
	END_FLAGS,
};

/* --kind of import and export: help and values from the schema. */
static struct flag_def import_flags[] = {
	{ "kind", "KIND", NULL, 0, NULL, NULL },
	{ "format", "F", "csv or jsonl (default: from the file name)", 0,
	    formats, NULL },
	{ "force", NULL, "also add rows whose name a record has already",
	    FL_SWITCH, NULL, NULL },
	END_FLAGS,
};

static struct flag_def export_flags[] = {
	{ "format", "F", "jsonl (default) or csv", 0, formats, NULL },
	{ "kind", "KIND", NULL, 0, NULL, NULL },
	{ "excel", NULL, "CSV as Excel opens it: a BOM, ';' and CRLF",
	    FL_SWITCH, NULL, NULL },
	{ "omit-personal", NULL, "leave out personal data (names, e-mail, "
	    "phone, attendees, notes, who wrote it): for sharing statistics",
	    FL_SWITCH, NULL, NULL },
	{ "events", "FILE", "instead, the raw signed events as stored, for "
	    "samlog verify --file (- for standard output)", 0, NULL, NULL },
	{ "origin", "ID", "with --events: only this origin's (a node id or a "
	    "unique prefix; a,b for several)", FL_REPEAT, NULL, NULL },
	{ "since", "TIME", "with --events: only events from this time or day "
	    "on (by their clocks), or from this seq on", 0, NULL, NULL },
	END_FLAGS,
};

static const struct flag_def report_flags[] = {
	{ "from", "DATE", "the period's first day (YYYY-MM-DD)", FL_REQUIRED,
	    NULL, NULL },
	{ "to", "DATE", "its last day: the records as they stood then",
	    FL_REQUIRED, NULL, NULL },
	{ "municipality", "M", "a municipality to report on, in this order "
	    "(repeatable, each once, any case; default: every one the records "
	    "name; one they do not name is warned of); the rest is Other",
	    FL_REPEAT, NULL, NULL },
	{ "format", "F", "html (printable A4, the default), md (Markdown) or "
	    "json; default from FILE's ending", 0, report_formats, NULL },
	{ "lang", "L", "sv (Swedish, the default) or en", 0, langs, NULL },
	{ "intro", "TEXT_FILE", "the authors' own introduction, put before "
	    "the figures: blocks between blank lines; \"# \" starts a "
	    "heading, \"1. \" a numbered item", 0, NULL, NULL },
	{ "out", "FILE", "where to write it (- for standard output)",
	    FL_REQUIRED, NULL, NULL },
	END_FLAGS,
};

static const struct flag_def ui_flags[] = {
	{ "port", "N", "the port on 127.0.0.1 (default: a free one)", 0, NULL,
	    NULL },
	{ "no-open", NULL, "only print the URL: open no browser", FL_SWITCH,
	    NULL, NULL },
	END_FLAGS,
};

/* The pins of the offline checks (PROTOCOL.md 14.3). */
#define PIN_FLAGS \
	{ "expect", "FINGERPRINT", "fail unless every key is one expected: a "\
	    "key's fingerprint, its node id's first 16 characters", \
	    FL_REPEAT, NULL, NULL }, \
	{ "members", "FILE", "the expected keys, a fingerprint and a name a " \
	    "line (# comments)", 0, NULL, NULL }

static const struct flag_def audit_flags[] = {
	{ "out", "FILE", "write the record's bundle to FILE (- for standard "
	    "output)", 0, NULL, NULL },
	{ "check", "FILE", "verify the bundle in FILE offline: no daemon, no "
	    "node directory", 0, NULL, NULL },
	PIN_FLAGS,
	END_FLAGS,
};

static const struct flag_def verify_flags[] = {
	{ "file", "FILE", "instead, verify the event export in FILE offline: "
	    "no daemon, no node directory", 0, NULL, NULL },
	PIN_FLAGS,
	END_FLAGS,
};

static const struct flag_def invite_flags[] = {
	{ "expires", "DURATION", "how long it may be used: 30m, 24h, 7d "
	    "(default 7d)", 0, NULL, NULL },
	{ "addr", "HOST:PORT", "where the newcomer reaches this node "
	    "(default: the address it listens on)", 0, NULL, NULL },
	END_FLAGS,
};

#define ORG_KEY_FLAG \
	{ "org-key", "FILE", "the organisation key's file, where this node's " \
	    "own key is not it (samlog reads it and passes it for this " \
	    "request only)", 0, NULL, NULL }

static const struct flag_def device_request_flags[] = {
	{ "name", "NAME", "what to call this machine (laptop, server-2)",
	    FL_REQUIRED, NULL, NULL },
	END_FLAGS,
};

static const struct flag_def device_add_flags[] = {
	ORG_KEY_FLAG,
	{ "addr", "HOST:PORT", "where the device reaches this node (default: "
	    "the address it listens on)", 0, NULL, NULL },
	END_FLAGS,
};

static const struct flag_def device_revoke_flags[] = {
	ORG_KEY_FLAG,
	END_FLAGS,
};

static const struct flag_def device_rotate_flags[] = {
	ORG_KEY_FLAG,
	{ "force", NULL, "rotate though a peer is not connected or has not "
	    "taken all of this node's events", FL_SWITCH, NULL, NULL },
	{ "name", "NAME", "what to call this machine's new key (default: its "
	    "name now, or server)", 0, NULL, NULL },
	END_FLAGS,
};

static const struct flag_def person_flags[] = {
	{ "out", "FILE", "write it as JSON to FILE and as readable text to "
	    "FILE.txt (both readable by their owner only)", FL_REQUIRED, NULL,
	    NULL },
	END_FLAGS,
};

static const struct flag_def erase_flags[] = {
	{ "field", "FIELD", "erase only this personal field (repeat for "
	    "more; default: every personal field of the record)",
	    FL_REPEAT, NULL, NULL },
	{ "ground", "TEXT", "the ground: a GDPR request, say (one of --ground "
	    "and --decision is needed)", 0, NULL, NULL },
	{ "decision", "DECISION_ID", "the disposal decision (gallringsbeslut) "
	    "it rests on", 0, NULL, NULL },
	END_FLAGS,
};

/* The commands help lists before the records' ... */
static const struct command_def head[] = {
	{ "init", CMD_INIT, NULL, OUT_NONE, NULL, NULL,
	    "create a new node: key and configuration", init_flags, NULL },
	{ "status", CMD_REMOTE, "status", OUT_OBJECT, NULL, NULL,
	    "show the node: id, organisation, log size, peers", no_flags,
	    NULL },
	{ "peer add", CMD_REMOTE, "peer.add", OUT_OBJECT, NULL, "NAME",
	    "admit a member organisation's node; with --addr, dial it",
	    peer_add_flags, NULL },
	{ "peer list", CMD_REMOTE, "peer.list", OUT_LIST, "peer", NULL,
	    "list the members and peers, and whether they are connected",
	    no_flags, NULL },
	{ "invite", CMD_REMOTE, "invite", OUT_LINE, NULL, NULL,
	    "print a one-time invitation for a new member organisation "
	    "(give it to them; they run samlog join)", invite_flags, NULL },
	{ "join", CMD_REMOTE, "join", OUT_OBJECT, NULL, "INVITATION",
	    "join the federation a member invited this node to (its samlog "
	    "invite line), or become a device of an organisation (its samlog "
	    "device add line)", no_flags, NULL },
	{ "member list", CMD_REMOTE, "member.list", OUT_LIST, "member", NULL,
	    "list the federation's members as the log says: names, key "
	    "fingerprints, who admitted them", no_flags, NULL },
	{ "member retire", CMD_REMOTE, "member.retire", OUT_LIST, "member",
	    "ORG", "retire a member organisation (a name or a fingerprint): "
	    "its later events count nowhere (under the majority policy: "
	    "asks the members)", no_flags, NULL },
	{ "member approve", CMD_REMOTE, "member.approve", OUT_LIST, "member",
	    "ORG", "under the majority policy: approve admitting or retiring "
	    "ORG (as member list shows it waiting)", no_flags, NULL },
	{ "member keeper", CMD_REMOTE, "member.keeper", OUT_OBJECT, NULL,
	    "ORG", "under the majority policy: approve that ORG's node keeps "
	    "the order of admissions from now on (its keeper is gone or "
	    "leaving)", no_flags, NULL },
	{ "member policy", CMD_REMOTE, "member.policy", OUT_OBJECT, NULL,
	    "[majority]", "show how members are admitted; with majority, "
	    "propose (or approve) that admitting and retiring take more than "
	    "half of the members", no_flags, NULL },
	{ "device list", CMD_REMOTE, "device.list", OUT_LIST, "device", NULL,
	    "list every member's signing keys: organisation keys and devices, "
	    "current or revoked", no_flags, NULL },
	{ "device request", CMD_REMOTE, "device.request", OUT_LINE, NULL,
	    "ORG", "on a new machine of an organisation (its key): print a "
	    "request to give to a node of it (samlog device add)",
	    device_request_flags, NULL },
	{ "device add", CMD_REMOTE, "device.add", OUT_LINE, NULL, "REQUEST",
	    "certify a new machine of this organisation; prints the line "
	    "for samlog join on it", device_add_flags, NULL },
	{ "device revoke", CMD_REMOTE, "device.revoke", OUT_OBJECT, NULL,
	    "DEVICE", "revoke a device of this organisation (lost, stolen, "
	    "retired): its later events count nowhere", device_revoke_flags,
	    NULL },
	{ "device rotate", CMD_REMOTE, "device.rotate", OUT_OBJECT, NULL,
	    NULL, "move this node to a new key of its own (the organisation "
	    "key, if it was this node's, stays in org.key to keep off line)",
	    device_rotate_flags, NULL },
	{ "peer remove", CMD_REMOTE, "peer.remove", OUT_OBJECT, NULL, "NAME",
	    "stop dialling a peer (membership ends by member retire)", no_flags, NULL },
	{ "backup", CMD_BACKUP, "backup", OUT_OBJECT, NULL, "FILE",
	    "write a verified copy of this node (its store, compacted, its key "
	    "and configuration) to FILE, a tar archive readable by its owner "
	    "only", no_flags, NULL },
	{ "restore", CMD_RESTORE, NULL, OUT_NONE, NULL, "FILE DIR",
	    "make the new node directory DIR from the backup FILE (no daemon "
	    "needed); its samlogd takes back what its peers hold before it "
	    "serves", no_flags, NULL },
	{ "verify", CMD_VERIFY, "verify", OUT_OBJECT, NULL, NULL,
	    "check every chain and signature (exit 1 on any failure), of the "
	    "node or of an event export", verify_flags, NULL },
	{ "log", CMD_REMOTE, "log", OUT_LIST, "log", NULL,
	    "show the raw events in arrival order", no_flags, NULL },
	{ "rebuild", CMD_REMOTE, "rebuild", OUT_OBJECT, NULL, NULL,
	    "rebuild the records from the log", no_flags, NULL },
};

/* ... and after them. */
static const struct command_def tail[] = {
	{ "import", CMD_IMPORT, NULL, OUT_NONE, NULL, "FILE",
	    "add the records of a CSV or JSON Lines file: all, or none",
	    import_flags, NULL },
	{ "export", CMD_EXPORT, NULL, OUT_NONE, NULL, NULL,
	    "write the records as JSON Lines or CSV (import reads them back), "
	    "or the raw signed events", export_flags, NULL },
	{ "history", CMD_REMOTE, "history", OUT_LIST, "history", "ID",
	    "every event of a record, oldest first", no_flags, NULL },
	{ "erase", CMD_REMOTE, "erase", OUT_OBJECT, NULL, "ID",
	    "erase a record's personal data (a contact's name, e-mail, phone; "
	    "attendee lists; notes) on every member's node, by its policy: "
	    "the rest of the record and every signature stay", erase_flags,
	    NULL },
	{ "person", CMD_PERSON, "person", OUT_OBJECT, NULL, "NAME|ID",
	    "for an access request: everything this node holds about one "
	    "person (the contact, its history, every record that names it "
	    "or holds its name)", person_flags, NULL },
	{ "find", CMD_REMOTE, "find", OUT_LIST, "records", "TEXT",
	    "records whose names, titles, texts or notes contain TEXT "
	    "(any case), in alphabetical order", find_flags, NULL },
	{ "conflicts", CMD_REMOTE, "conflicts", OUT_LIST, "records", NULL,
	    "records with competing edits, to resolve", no_flags, NULL },
	{ "timeline", CMD_REMOTE, "timeline", OUT_LIST, "records", "ORG",
	    "an organisation and every record about it, by date", find_flags,
	    NULL },
	{ "report", CMD_REPORT, NULL, OUT_NONE, NULL, NULL,
	    "the board report for a period: per municipality the social "
	    "enterprises, agreements, meetings and decisions, then the work "
	    "ahead; printable HTML, Markdown or JSON", report_flags, NULL },
	{ "ui", CMD_UI, NULL, OUT_NONE, NULL, NULL,
	    "serve the local web page on 127.0.0.1 (for people who do not "
	    "use a terminal); prints a URL that works once", ui_flags, NULL },
	{ "audit", CMD_AUDIT, "audit", OUT_OBJECT, NULL, "[ID]",
	    "write a decision's (any record's) signed history to a file, or "
	    "check such a file", audit_flags, NULL },
	{ "help", CMD_HELP, NULL, OUT_NONE, NULL, "[COMMAND]",
	    "show help for all commands or one", no_flags, NULL },
	{ "version", CMD_VERSION, NULL, OUT_NONE, NULL, NULL,
	    "show the version", no_flags, NULL },
};

/*
 * The whole table, made once: head, then for each record kind a command
 * per event type that has a verb (add, update, the lifecycle's steps),
 * list and show, then tail.  Their names, flags, help and texts live in
 * the static stores below, sized well above what the schema needs (its
 * limits: SL_SCHEMA_MAX_FIELDS fields per kind); outgrowing them is a
 * programming error, reported and stopped at once.
 */
#define MAX_COMMANDS 160
#define MAX_FLAGS 1024

static struct command_def commands[MAX_COMMANDS];
static size_t n_commands;
static struct flag_def flag_store[MAX_FLAGS];
static size_t n_flag_store;
static char text_store[32768];
static size_t n_text_store;
static bool table_ready;

static void table_full(const char *what) __attribute__((noreturn));

static void
table_full(const char *what)
{
	fprintf(stderr, "samlog: the command table has no room for more %s\n",
	    what);
	abort();
}

static const char *text_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Copies n bytes of src to the end of the text being made at at. */
static void
text_put(char *at, size_t *used, const char *src, size_t n)
{
	if (n >= sizeof text_store - n_text_store - *used)
		table_full("text");
	memcpy(at + *used, src, n);
	*used += n;
}

/*
 * A formatted text kept for the life of the process.  Every run builds
 * the whole command table, a few hundred of these, so the formats of
 * only %s and %% are put together here: vsnprintf took two thirds of
 * the instructions of `samlog --version`.
 */
static const char *
text_printf(const char *fmt, ...)
{
	char *at = text_store + n_text_store;
	size_t used = 0;
	va_list ap;

	for (const char *f = strchr(fmt, '%'); f != NULL;
	    f = strchr(f + 2, '%')) {
		if (f[1] != 's' && f[1] != '%') {
			int n;

			va_start(ap, fmt);
			n = vsnprintf(at, sizeof text_store - n_text_store, fmt,
			    ap);
			va_end(ap);
			if (n < 0 || (size_t)n >= sizeof text_store -
			    n_text_store)
				table_full("text");
			n_text_store += (size_t)n + 1;
			return at;
		}
	}
	va_start(ap, fmt);
	for (const char *f = fmt; *f != '\0';) {
		size_t run = strcspn(f, "%");

		text_put(at, &used, f, run);
		f += run;
		if (*f == '\0')
			break;
		if (f[1] == 's') {
			const char *arg = va_arg(ap, const char *);

			text_put(at, &used, arg, strlen(arg));
		} else {
			text_put(at, &used, "%", 1);
		}
		f += 2;
	}
	va_end(ap);
	text_put(at, &used, "", 1);
	n_text_store += used;
	return at;
}

static struct flag_def *
flag_push(void)
{
	if (n_flag_store == MAX_FLAGS)
		table_full("flags");
	flag_store[n_flag_store] = (struct flag_def)END_FLAGS;
	return &flag_store[n_flag_store++];
}

static struct command_def *
command_push(void)
{
	if (n_commands == MAX_COMMANDS)
		table_full("commands");
	commands[n_commands] = (struct command_def){ 0 };
	return &commands[n_commands++];
}

/* "a, b or c" of a NULL-terminated list. */
static const char *
values_text(const char *const *v)
{
	char *at = text_store + n_text_store;
	size_t used = 0;

	for (size_t i = 0; v[i] != NULL; i++) {
		const char *sep = i == 0 ? "" : v[i + 1] == NULL ? " or " :
		    ", ";

		text_put(at, &used, sep, strlen(sep));
		text_put(at, &used, v[i], strlen(v[i]));
	}
	text_put(at, &used, "", 1);
	n_text_store += used;
	return at;
}

/* The placeholder of a field's value: ORG_ID for a reference to an org,
 * YYYY-MM-DD for a date, else the flag in capitals. */
static const char *
field_metavar(const struct sl_field *f)
{
	const struct sl_kind *to = f->ref != NULL && f->ref[0] != '\0' &&
	    f->ref[1] == '\0' ? sl_schema_kind_c(f->ref[0]) : NULL;
	const char *w = f->flag;
	char buf[SL_FIELD_NAME_MAX + 8];
	size_t i;

	if (f->type == SL_F_DATE)
		return "YYYY-MM-DD";
	if ((f->type == SL_F_REF || f->type == SL_F_REFS) && to != NULL)
		w = to->word;
	for (i = 0; i < SL_FIELD_NAME_MAX && w[i] != '\0'; i++)
		buf[i] = (char)toupper((unsigned char)w[i]);
	buf[i] = '\0';
	if (f->type == SL_F_REF || f->type == SL_F_REFS)
		return text_printf("%s", buf); /* a name or an id */
	return text_printf("%s", buf);
}

/* A field's help: the schema's phrase, after "only those where this is"
 * for a filter; then (repeatable) for a list, the values of an ENUM or
 * a lifecycle state and an ENUM's default. */
static const char *
field_help(const struct sl_field *f, bool filter)
{
	const char *h = f->help != NULL ? f->help : f->name;
	const char *values = "", *dflt = "";
	bool list = f->type == SL_F_REFS || f->type == SL_F_TEXTS;

	if ((f->type == SL_F_ENUM || f->type == SL_F_STATE) &&
	    f->values != NULL)
		values = values_text(f->values);
	if (f->type == SL_F_ENUM && f->dflt != NULL && !filter)
		dflt = text_printf(" (default %s)", f->dflt);
	return text_printf("%s%s%s%s%s%s", filter ? "only those where this "
	    "is " : "", h, list && !filter ? " (repeatable)" : "",
	    values[0] ? ": " : "", values, dflt);
}

/* What every change takes: --on and --force; an update also
 * --unset. */
static void
common_write_flags(const struct sl_evtype *et)
{
	struct flag_def *fd = flag_push();

	fd->name = "on";
	fd->metavar = "DATE";
	fd->help = "the day the change takes effect (default: today, or the "
	    "date it sets)";
	if (et->role == SL_ET_UPDATE && et->sets == 0) {
		fd = flag_push();
		fd->name = "unset";
		fd->metavar = "FIELD";
		fd->flags = FL_REPEAT;
		fd->help = "clear a field (repeatable)";
	}
	if (et->role != SL_ET_CREATE && !sl_evtype_has_text(et))
		return;
	fd = flag_push();
	fd->name = "force";
	fd->flags = FL_SWITCH;
	fd->help = et->role == SL_ET_CREATE ? "add it although an active "
	    "record has that name, or its text holds what looks like a "
	    "personal identity number" : "record it although its text holds "
	    "what looks like a personal identity number";
}

/* The flags of an event type: each field it may carry but the state
 * (which the lifecycle sets), required where the type requires it. */
static const struct flag_def *
evtype_flags(const struct sl_evtype *et)
{
	const struct flag_def *first = &flag_store[n_flag_store];
	const struct sl_kind *k = et->kind;

	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];
		struct flag_def *fd;

		if (!(et->fields & (1u << i)) || f->type == SL_F_STATE ||
		    (f->flags & SL_FF_NOFLAG))
			continue;
		fd = flag_push();
		fd->name = f->flag;
		fd->field = f;
		fd->help = field_help(f, false);
		if (et->role == SL_ET_UPDATE && (f->type == SL_F_REFS ||
		    f->type == SL_F_TEXTS))
			fd->help = text_printf("%s; the values given replace the "
			    "list", fd->help);
		if (f->type == SL_F_BOOL) {
			fd->flags = FL_SWITCH;
		} else {
			fd->metavar = field_metavar(f);
			if (f->type == SL_F_REFS || f->type == SL_F_TEXTS)
				fd->flags |= FL_REPEAT;
			if (f->type == SL_F_ENUM)
				fd->values = f->values;
		}
		if (et->required & (1u << i))
			fd->flags |= FL_REQUIRED;
	}
	common_write_flags(et);
	flag_push();
	return first;
}

/* The filters of KIND list, as samlogd's read_list takes them: --from
 * and --to when the kind sorts by a date, and one per indexed field. */
static const struct flag_def *
list_flags(const struct sl_kind *k)
{
	const struct flag_def *first = &flag_store[n_flag_store];
	const char *date = "date (the day of its latest change)";
	struct flag_def *fd;

	bool range = true;

	for (uint32_t i = 0; i < k->nfields; i++) {
		if ((k->fields[i].flags & SL_FF_SORT) &&
		    k->fields[i].type == SL_F_DATE)
			date = k->fields[i].name;
		/* A field of that flag (an action's --from) filters instead. */
		if (strcmp(k->fields[i].flag, "from") == 0)
			range = false;
	}
	if (range) {
		fd = flag_push();
		fd->name = "from";
		fd->metavar = "DATE";
		fd->help = text_printf("only those whose %s is this day or "
		    "later", date);
		fd = flag_push();
		fd->name = "to";
		fd->metavar = "DATE";
		fd->help = text_printf("only those whose %s is this day or "
		    "earlier", date);
	}
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];

		if (!(f->flags & SL_FF_INDEX))
			continue;
		fd = flag_push();
		fd->name = f->flag;
		fd->field = f;
		fd->help = field_help(f, true);
		if (f->type == SL_F_BOOL) {
			fd->flags = FL_SWITCH;
			continue;
		}
		fd->metavar = field_metavar(f);
		fd->flags = FL_REPEAT;
		if (f->type == SL_F_ENUM || f->type == SL_F_STATE) {
			fd->values = f->values;
			fd->help = text_printf("%s (several: a,b)", fd->help);
		}
	}
	if (sl_schema_field(k, "valid_until", 11, NULL) != NULL) {
		fd = flag_push();
		fd->name = "in-force";
		fd->flags = FL_SWITCH;
		fd->help = "only those in force (adopted or amended, and not "
		    "past their last day)";
	}
	if (sl_schema_field(k, "due", 3, NULL) != NULL) {
		fd = flag_push();
		fd->name = "open";
		fd->flags = FL_SWITCH;
		fd->help = "only open ones";
		fd = flag_push();
		fd->name = "overdue";
		fd->flags = FL_SWITCH;
		fd->help = "only open ones past their due day";
	}
	if (sl_schema_field(k, "end", 3, NULL) != NULL) {
		fd = flag_push();
		fd->name = "expiring";
		fd->metavar = "DAYS";
		fd->help = "only those ending within DAYS days (e.g. 90d)";
	}
	fd = flag_push();
	fd->name = "archived";
	fd->flags = FL_SWITCH;
	fd->help = "archived records too";
	*flag_push() = (struct flag_def){ "as-of", "DATE", "as they stood on "
		"that day (by the dates changes take effect)", FL_DAY, NULL,
		NULL };
	*flag_push() = (struct flag_def){ "known-at", "TIME", KNOWN_AT_HELP,
		FL_TIME, NULL, NULL };
	flag_push();
	return first;
}

/* "proposed" or "adopted or amended": the states a step leaves. */
static const char *
from_text(const struct sl_evtype *et)
{
	const char *v[33];
	size_t n = 0;

	for (uint8_t s = 1; s < 32; s++)
		if ((et->from & (1u << s)) &&
		    sl_schema_state_name(et->kind, s)[0] != '\0')
			v[n++] = sl_schema_state_name(et->kind, s);
	v[n] = NULL;
	return values_text(v);
}

static void
record_commands(const struct sl_kind *k)
{
	const char *w = k->word;
	const struct sl_evtype *et;
	struct command_def *c;

	for (size_t i = 0; (et = sl_schema_evtype_at(i)) != NULL; i++) {
		if (et->kind != k || et->verb == NULL)
			continue;
		c = command_push();
		c->name = text_printf("%s %s", w, et->verb);
		c->id = CMD_REMOTE;
		c->remote = text_printf("%s.%s", w, et->verb);
		c->out = OUT_ID;
		c->kind = k;
		c->flags = evtype_flags(et);
		switch (et->role) {
		case SL_ET_CREATE:
			c->summary = et->to ? text_printf("add a new %s record "
			    "(status: %s)", w, sl_schema_state_name(k, et->to)) :
			    text_printf("add a new %s record", w);
			break;
		case SL_ET_UPDATE:
			c->pos = "ID";
			if (et->sets == SL_SETS_TRUE)
				c->summary = text_printf("archive the %s record ID "
				    "(hidden from lists, history kept)", w);
			else if (et->sets == SL_SETS_FALSE)
				c->summary = text_printf("bring the archived %s "
				    "record ID back", w);
			else
				c->summary = text_printf("change fields of the %s "
				    "record ID", w);
			break;
		case SL_ET_STEP:
			c->pos = "ID";
			c->summary = text_printf("move the %s record ID from %s "
			    "to %s", w, from_text(et),
			    sl_schema_state_name(k, et->to));
			break;
		}
	}
	c = command_push();
	c->name = text_printf("%s list", w);
	c->id = CMD_REMOTE;
	c->remote = text_printf("%s.list", w);
	c->out = OUT_LIST;
	c->table = w;
	c->kind = k;
	c->summary = text_printf("list the %s records", w);
	c->flags = list_flags(k);
	c = command_push();
	c->name = text_printf("%s show", w);
	c->id = CMD_REMOTE;
	c->remote = text_printf("%s.show", w);
	c->out = OUT_OBJECT;
	c->pos = "ID";
	c->kind = k;
	c->summary = text_printf("show the %s record ID", w);
	c->flags = show_flags;
}

static void
table_init(void)
{
	if (table_ready)
		return;
	table_ready = true;
	import_flags[0].help = text_printf("%s (CSV, unless the file has a "
	    "\"record\" column)", records_words_text());
	import_flags[0].values = records_words();
	export_flags[1].help = text_printf("only %s", records_words_text());
	export_flags[1].values = records_words();
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
		*command_push() = head[i];
	for (const struct sl_kind *const *k = records_kinds(); *k; k++)
		record_commands(*k);
	for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
		*command_push() = tail[i];
}

static bool is_group(const char *word);

const struct command_def *
parse_command_at(size_t i)
{
	table_init();
	return i < n_commands ? &commands[i] : NULL;
}

const struct command_def *
parse_find(const char *name)
{
	table_init();
	for (size_t i = 0; i < n_commands; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

bool
parse_is_group(const char *word)
{
	return is_group(word);
}

/* True if word starts a two-word command ("org", "decision"...). */
static bool
is_group(const char *word)
{
	size_t n = strlen(word);

	table_init();
	for (size_t i = 0; i < n_commands; i++)
		if (strncmp(commands[i].name, word, n) == 0 &&
		    commands[i].name[n] == ' ')
			return true;
	return false;
}

static const struct flag_def *
flag_find(const struct command_def *c, const char *name, size_t len)
{
	for (const struct flag_def *f = c->flags; f->name != NULL; f++)
		if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
			return f;
	return NULL;
}

const char *
parse_value(const struct parse_result *r, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < r->nvals; i++)
		if (strcmp(r->vals[i].flag->name, name) == 0)
			v = r->vals[i].value ? r->vals[i].value : "";
	return v;
}

/* Handles a global option at argv[*i]; returns 1 if it was one, 0 if not,
 * -1 on a usage error. */
static int
parse_global(struct parse_result *r, int argc, char **argv, int *i,
    char *err, size_t errlen)
{
	const char *a = argv[*i];

	if (strcmp(a, "--json") == 0) {
		r->json = true;
		return 1;
	}
	if (strcmp(a, "-d") == 0 || strcmp(a, "--dir") == 0) {
		if (*i + 1 >= argc) {
			snprintf(err, errlen, "%s needs a directory", a);
			return -1;
		}
		r->dir = argv[++*i];
		return 1;
	}
	if (strncmp(a, "--dir=", 6) == 0) {
		r->dir = a + 6;
		return 1;
	}
	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
		r->help = true;
		return 1;
	}
	if (strcmp(a, "--version") == 0 && r->cmd == CMD_NONE) {
		r->cmd = CMD_VERSION;
		r->def = parse_find("version");
		return 1;
	}
	return 0;
}

static bool
add_value(struct parse_result *r, const struct flag_def *f, const char *v,
    char *err, size_t errlen)
{
	if (!(f->flags & FL_REPEAT)) {
		for (size_t i = 0; i < r->nvals; i++) {
			if (r->vals[i].flag == f) {
				snprintf(err, errlen, "--%s given twice", f->name);
				return false;
			}
		}
	}
	if (r->nvals == MAX_VALUES) {
		snprintf(err, errlen, "too many flags");
		return false;
	}
	r->vals[r->nvals].flag = f;
	r->vals[r->nvals++].value = v;
	return true;
}

bool
parse_args(struct parse_result *r, int argc, char **argv, char *err,
    size_t errlen)
{
	memset(r, 0, sizeof *r);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int g = parse_global(r, argc, argv, &i, err, errlen);

		if (g < 0)
			return false;
		if (g > 0)
			continue;
		if (r->cmd == CMD_NONE) {
			char name[64];

			if (a[0] == '-') {
				snprintf(err, errlen, "unknown option '%s' (see: "
				    "samlog help)", a);
				return false;
			}
			snprintf(name, sizeof name, "%s", a);
			if (is_group(a)) {
				if (i + 1 < argc && (strcmp(argv[i + 1],
				    "--help") == 0 || strcmp(argv[i + 1],
				    "-h") == 0)) {
					/* KIND --help: help KIND */
					r->cmd = CMD_HELP;
					r->def = parse_find("help");
					r->topic = a;
					r->help = true;
					i++;
					continue;
				}
				if (i + 1 >= argc || argv[i + 1][0] == '-') {
					r->group = a;
					snprintf(err, errlen, "'%s' needs a "
					    "subcommand, one of those above (see: "
					    "samlog help %s)", a, a);
					return false;
				}
				snprintf(name, sizeof name, "%s %s", a,
				    argv[++i]);
			}
			if ((r->def = parse_find(name)) == NULL) {
				snprintf(err, errlen, "unknown command '%s' (see:"
				    " samlog help)", name);
				return false;
			}
			r->cmd = r->def->id;
			continue;
		}
		if (strncmp(a, "--", 2) == 0 && a[2] != '\0') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct flag_def *f = flag_find(r->def, name, len);
			const char *v = NULL;

			if (f == NULL) {
				snprintf(err, errlen, "unknown flag '%.*s' for "
				    "'%s' (see: samlog %s --help)", (int)len + 2,
				    a, r->def->name, r->def->name);
				return false;
			}
			if (f->flags & FL_SWITCH) {
				if (eq != NULL) {
					snprintf(err, errlen, "--%s takes no "
					    "value", f->name);
					return false;
				}
			} else if (eq != NULL) {
				v = eq + 1;
			} else if (i + 1 < argc) {
				v = argv[++i];
			} else {
				snprintf(err, errlen, "--%s needs a value (%s)",
				    f->name, f->metavar);
				return false;
			}
			if (!add_value(r, f, v, err, errlen))
				return false;
			continue;
		}
		if (a[0] == '-' && a[1] != '\0') {
			snprintf(err, errlen, "unknown flag '%s' for '%s' (see: "
			    "samlog %s --help)", a, r->def->name, r->def->name);
			return false;
		}
		if (r->cmd == CMD_HELP && r->topic == NULL) {
			r->topic = a;
			continue;
		}
		if (r->cmd == CMD_HELP && r->topic2 == NULL && is_group(r->topic)) {
			r->topic2 = a;
			continue;
		}
		if (r->def->pos != NULL && r->pos == NULL) {
			r->pos = a;
			continue;
		}
		/* Two positional arguments ("FILE DIR"). */
		if (r->def->pos != NULL && strchr(r->def->pos, ' ') != NULL &&
		    r->pos2 == NULL) {
			r->pos2 = a;
			continue;
		}
		snprintf(err, errlen, "unexpected argument '%s' for '%s'", a,
		    r->def->name);
		return false;
	}
	if (r->cmd == CMD_NONE) {
		/* `samlog --help`: the overview; `samlog` alone: the same,
		 * as wrong usage. */
		r->cmd = CMD_HELP;
		r->def = parse_find("help");
		r->bare = !r->help;
		return true;
	}
	if (r->help)
		return true;
	if (r->def->pos != NULL && r->def->pos[0] != '[' && (r->pos == NULL ||
	    (strchr(r->def->pos, ' ') != NULL && r->pos2 == NULL))) {
		snprintf(err, errlen, "%s needs %s", r->def->name, r->def->pos);
		return false;
	}
	for (const struct flag_def *f = r->def->flags; f->name != NULL; f++) {
		if ((f->flags & FL_REQUIRED) && parse_value(r, f->name) == NULL) {
			snprintf(err, errlen, "%s needs --%s %s", r->def->name,
			    f->name, f->metavar);
			return false;
		}
	}
	return true;
}

void
parse_usage_text(const struct command_def *c, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "%s", c->name);

	if (c->pos != NULL && used < len)
		used += (size_t)snprintf(buf + used, len - used, " %s", c->pos);
	for (const struct flag_def *fl = c->flags; fl->name != NULL &&
	    used < len; fl++) {
		char arg[64];

		if (fl->flags & FL_SWITCH)
			snprintf(arg, sizeof arg, "--%s", fl->name);
		else
			snprintf(arg, sizeof arg, "--%s %s", fl->name, fl->metavar);
		used += (size_t)snprintf(buf + used, len - used,
		    (fl->flags & FL_REQUIRED) ? " %s%s" : " [%s]%s", arg,
		    (fl->flags & FL_REPEAT) ? "..." : "");
	}
}

static void
usage_line(FILE *f, const struct command_def *c)
{
	char buf[2048];

	parse_usage_text(c, buf, sizeof buf);
	fprintf(f, "  samlog %s\n", buf);
}

void
parse_usage_group(FILE *f, const char *group)
{
	size_t gl = strlen(group), w = 0;

	table_init();
	for (size_t i = 0; i < n_commands; i++)
		if (strncmp(commands[i].name, group, gl) == 0 &&
		    commands[i].name[gl] == ' ' && strlen(commands[i].name) > w)
			w = strlen(commands[i].name);
	fprintf(f, "usage: samlog %s COMMAND [ARGS]\n\ncommands:\n", group);
	for (size_t i = 0; i < n_commands; i++)
		if (strncmp(commands[i].name, group, gl) == 0 &&
		    commands[i].name[gl] == ' ')
			fprintf(f, "  %-*s  %s\n", (int)w, commands[i].name,
			    commands[i].summary);
	fprintf(f, "\n\"samlog %s COMMAND --help\" shows one.\n", group);
}

bool
parse_normalise(struct parse_result *r, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->nvals; i++) {
		const struct flag_def *f = r->vals[i].flag;
		const char *v = r->vals[i].value;
		struct sl_time_parts tp;
		char buf[40];
		int64_t ms;

		if (!(f->flags & (FL_TIME | FL_DAY)))
			continue;
		if (v == NULL || sl_time_parse_parts(v, &tp) != SL_OK ||
		    sl_time_parse(v, &ms, NULL) != SL_OK) {
			snprintf(err, errlen, "invalid time \"%s\" for --%s (use "
			    "a day, 2026-12-01, or a time, 2026-12-01T22:06:21"
			    "+01:00)", v ? v : "", f->name);
			return false;
		}
		if (f->flags & FL_DAY) {
			/* The day as written: in the time's own offset, or
			 * local time without one. */
			sl_time_format_date(&tp, buf, sizeof buf);
		} else {
			/* A day is known at its end, local time. */
			if (tp.kind == SL_TIME_DATE)
				ms = sl_time_local_ms(tp.y, tp.mo, tp.d + 1, 0, 0,
				    0, 0) - 1;
			sl_time_format_utc(ms, buf, sizeof buf);
		}
		r->vals[i].value = text_printf("%s", buf);
	}
	return true;
}

void
parse_usage(FILE *f, const struct command_def *cmd)
{
	table_init();
	if (cmd != NULL) {
		int nw = 13, mw = 11;

		fprintf(f, "usage:\n");
		usage_line(f, cmd);
		fprintf(f, "\n%s.\n", cmd->summary);
		if (cmd->flags[0].name != NULL)
			fprintf(f, "\n");
		/* Columns at least as wide as they always were, wider for
		 * a long flag or placeholder. */
		for (const struct flag_def *fl = cmd->flags; fl->name != NULL;
		    fl++) {
			if ((int)strlen(fl->name) > nw)
				nw = (int)strlen(fl->name);
			if (fl->metavar != NULL && (int)strlen(fl->metavar) > mw)
				mw = (int)strlen(fl->metavar);
		}
		for (const struct flag_def *fl = cmd->flags; fl->name != NULL;
		    fl++)
			fprintf(f, "  --%-*s %-*s %s\n", nw, fl->name, mw,
			    fl->metavar ? fl->metavar : "", fl->help);
		return;
	}
	fprintf(f, "usage: samlog [-d DIR] [--json] COMMAND [ARGS]\n\n"
	    "commands:\n");
	size_t cw = 0;

	for (size_t i = 0; i < n_commands; i++)
		if (strlen(commands[i].name) > cw)
			cw = strlen(commands[i].name);
	for (size_t i = 0; i < n_commands; i++)
		fprintf(f, "  %-*s  %s\n", (int)cw, commands[i].name,
		    commands[i].summary);
	fprintf(f, "\nglobal options (before or after the command):\n"
	    "  -d, --dir DIR  node directory (default: $SAMLOG_DIR, else\n"
	    "                 $XDG_DATA_HOME/samlog, else "
	    "~/.local/share/samlog)\n"
	    "  --json         print JSON instead of tables\n"
	    "  -h, --help     help for a command: samlog COMMAND --help\n"
	    "\nthe daemon: -d DIR's (its samlog.conf's socket, else "
	    "DIR/samlogd.sock);\nwithout -d, $SAMLOG_SOCKET, else the node "
	    "directory's, else the system\nservice's (/run/samlog).\n"
	    "\ntimes: tables print local time with its offset (TZ); "
	    "--known-at and --as-of\ntake 2026-12-01T22:06:21+01:00, ...Z, "
	    "2026-12-01 22:06 (local) or 2026-12-01.\n"
	    "\nids: any unique prefix of 4 or more characters will do.\n"
	    "exit status: 0 success, 1 the request failed, 2 wrong usage\n");
}

/* ---- completion ---------------------------------------------------------- */

static const struct flag_def *
flag_named(const struct command_def *c, const char *word)
{
	if (c == NULL || strncmp(word, "--", 2) != 0 || strchr(word, '=') != NULL)
		return NULL;
	return flag_find(c, word + 2, strlen(word + 2));
}

/* Prints each command word that can follow prefix ("" or "org"). */
static void
print_words(FILE *f, const char *group)
{
	size_t gl = strlen(group);

	for (size_t i = 0; i < n_commands; i++) {
		const char *n = commands[i].name, *w;
		size_t wl;

		if (gl > 0) {
			if (strncmp(n, group, gl) != 0 || n[gl] != ' ')
				continue;
			w = n + gl + 1;
		} else {
			w = n;
		}
		wl = strcspn(w, " ");
		/* Once per word: the table lists a group's commands
		 * together. */
		bool seen = false;

		for (size_t k = 0; k < i && !seen; k++) {
			const char *m = commands[k].name;

			if (gl > 0 && (strncmp(m, group, gl) != 0 || m[gl] != ' '))
				continue;
			m += gl ? gl + 1 : 0;
			seen = strcspn(m, " ") == wl && strncmp(m, w, wl) == 0;
		}
		if (!seen)
			fprintf(f, "%.*s\n", (int)wl, w);
	}
}

const char *
parse_complete(FILE *f, int n, char **words, const char **dir)
{
	const struct command_def *c = NULL;
	const char *group = NULL, *cur = n > 0 ? words[n - 1] : "";
	const char *prev = n > 1 ? words[n - 2] : "";
	char name[64];
	bool pos_given = false;

	*dir = NULL;
	table_init();
	for (int i = 0; i < n - 1; i++) {
		const char *w = words[i];

		if (strcmp(w, "-d") == 0 || strcmp(w, "--dir") == 0) {
			if (i + 1 < n - 1)
				*dir = words[++i];
			continue;
		}
		if (strncmp(w, "--dir=", 6) == 0)
			*dir = w + 6;
		if (w[0] == '-') {
			const struct flag_def *fl = flag_named(c, w);

			if (fl != NULL && !(fl->flags & FL_SWITCH))
				i++;   /* its value */
			continue;
		}
		if (c != NULL) {
			pos_given = true;
		} else if (group != NULL) {
			snprintf(name, sizeof name, "%s %s", group, w);
			c = parse_find(name);
			group = NULL;
		} else if (is_group(w)) {
			group = w;
		} else {
			c = parse_find(w);
		}
	}
	if (strcmp(prev, "-d") == 0 || strcmp(prev, "--dir") == 0)
		return NULL;   /* a directory: the shell completes those */
	const struct flag_def *pf = flag_named(c, prev);

	/* A flag's value: the values it takes, ids of the kind a
	 * reference names, or a file name. */
	if (pf != NULL && !(pf->flags & FL_SWITCH)) {
		const struct sl_field *fd = pf->field;
		const struct sl_kind *to;

		if (pf->values != NULL)
			for (const char *const *v = pf->values; *v; v++)
				fprintf(f, "%s\n", *v);
		else if (fd != NULL && (fd->type == SL_F_REF ||
		    fd->type == SL_F_REFS) &&
		    fd->ref != NULL && (to = sl_schema_kind_c(fd->ref[0])) != NULL)
			return to->word;
		else if (strcmp(pf->metavar, "FILE") == 0)
			fputs("__files__\n", f);
		return NULL;
	}
	if (cur[0] == '-') {
		if (c != NULL)
			for (const struct flag_def *fl = c->flags; fl->name; fl++)
				fprintf(f, "--%s\n", fl->name);
		fputs("--json\n--help\n--dir\n-d\n", f);
		return NULL;
	}
	if (c == NULL) {
		print_words(f, group != NULL ? group : "");
		return NULL;
	}
	if (c->id == CMD_HELP && !pos_given) {
		print_words(f, "");
		return NULL;
	}
	if (c->pos != NULL && !pos_given && strcmp(c->pos, "FILE") == 0) {
		fputs("__files__\n", f);   /* the shell completes file names */
		return NULL;
	}
	if (c->pos == NULL || pos_given || (strcmp(c->pos, "ID") != 0 &&
	    strcmp(c->pos, "[ID]") != 0))
		return NULL;
	/* A record command's own kind; history and audit take any. */
	return c->kind != NULL ? c->kind->word : "*";
}
