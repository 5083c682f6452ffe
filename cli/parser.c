/*
 * parser.c - the command table and the argv walker.
 *
 * Global options (-d DIR, --json, --help) are accepted before or after the
 * command, as CLI.md promises.  A command is one or two words ("status",
 * "org add"); after it come its flags ("--flag value" or "--flag=value")
 * and at most one positional argument (an id).
 */
#include <stdio.h>
#include <string.h>

#include "parser.h"

#define END_FLAGS { NULL, NULL, NULL, 0 }

static const struct flag_def init_flags[] = {
	{ "org", "NAME", "the organisation this node speaks for", FL_REQUIRED },
	END_FLAGS,
};
static const struct flag_def no_flags[] = { END_FLAGS };
static const struct flag_def org_add_flags[] = {
	{ "name", "NAME", "the organisation's name", FL_REQUIRED },
	{ "kind", "KIND", "asf, municipality, authority, partner, company or "
	    "other (default other)", 0 },
	{ "municipality", "M", "the municipality it works in", 0 },
	{ "sector", "S", "a line of business (repeatable)", FL_REPEAT },
	{ "iop", NULL, "it has an idea-based public partnership (IOP)",
	    FL_SWITCH },
	END_FLAGS,
};
static const struct flag_def org_list_flags[] = {
	{ "kind", "KIND", "only organisations of this kind", 0 },
	{ "municipality", "M", "only those in this municipality", 0 },
	END_FLAGS,
};
static const struct flag_def contact_add_flags[] = {
	{ "name", "NAME", "the person's name", FL_REQUIRED },
	{ "org", "ID", "the organisation they belong to", 0 },
	{ "role", "R", "their role", 0 },
	{ "email", "E", "e-mail address", 0 },
	{ "phone", "P", "phone number", 0 },
	{ "municipality", "M", "municipality", 0 },
	END_FLAGS,
};
static const struct flag_def contact_update_flags[] = {
	{ "name", "NAME", "new name", 0 },
	{ "org", "ID", "new organisation", 0 },
	{ "role", "R", "new role", 0 },
	{ "email", "E", "new e-mail address", 0 },
	{ "phone", "P", "new phone number", 0 },
	{ "municipality", "M", "new municipality", 0 },
	END_FLAGS,
};
static const struct flag_def contact_list_flags[] = {
	{ "org", "ID", "only contacts of this organisation", 0 },
	{ "municipality", "M", "only contacts in this municipality", 0 },
	{ "role", "R", "only contacts with this role", 0 },
	END_FLAGS,
};
static const struct flag_def meeting_add_flags[] = {
	{ "title", "T", "what the meeting was", FL_REQUIRED },
	{ "date", "YYYY-MM-DD", "when it was held", FL_REQUIRED },
	{ "with", "CONTACT_ID", "a participant (repeatable)", FL_REPEAT },
	{ "org", "ID", "an organisation taking part (repeatable)", FL_REPEAT },
	{ "municipality", "M", "the municipality it concerned", 0 },
	{ "notes", "TEXT", "notes", 0 },
	END_FLAGS,
};
static const struct flag_def meeting_list_flags[] = {
	{ "from", "DATE", "held on or after this date", 0 },
	{ "to", "DATE", "held on or before this date", 0 },
	{ "with", "CONTACT_ID", "with this participant", 0 },
	{ "municipality", "M", "concerning this municipality", 0 },
	END_FLAGS,
};
static const struct flag_def decision_add_flags[] = {
	{ "title", "T", "a short title", FL_REQUIRED },
	{ "text", "TEXT", "the decision's text", FL_REQUIRED },
	{ "body", "NAME", "the body that decides (e.g. the board)", 0 },
	{ "meeting", "ID", "the meeting it was taken at", 0 },
	END_FLAGS,
};
static const struct flag_def decision_step_flags[] = {
	{ "reason", "TEXT", "why", 0 },
	END_FLAGS,
};
static const struct flag_def decision_amend_flags[] = {
	{ "text", "TEXT", "the new text (the old one is kept)", FL_REQUIRED },
	{ "reason", "TEXT", "why", 0 },
	END_FLAGS,
};
static const struct flag_def decision_list_flags[] = {
	{ "status", "S", "proposed, adopted, rejected, amended or revoked", 0 },
	END_FLAGS,
};
static const struct flag_def show_flags[] = {
	{ "as-of", "TIME", "as it was then (YYYY-MM-DD or RFC 3339 UTC)", 0 },
	END_FLAGS,
};

static const struct flag_def peer_add_flags[] = {
	{ "key", "NODEID", "the member's node id (samlog init prints it)",
	    FL_REQUIRED },
	{ "addr", "HOST:PORT", "where to dial it (without: accept it only)", 0 },
	END_FLAGS,
};

static const struct flag_def import_flags[] = {
	{ "kind", "KIND", "org, contact, meeting or decision (CSV, unless "
	    "the file has a \"record\" column)", 0 },
	{ "format", "F", "csv or jsonl (default: from the file name)", 0 },
	END_FLAGS,
};

static const struct flag_def export_flags[] = {
	{ "format", "F", "jsonl (default) or csv", 0 },
	{ "kind", "KIND", "only org, contact, meeting or decision", 0 },
	END_FLAGS,
};

static const struct flag_def audit_flags[] = {
	{ "out", "FILE", "write the record's bundle to FILE (- for standard "
	    "output)", 0 },
	{ "check", "FILE", "verify the bundle in FILE offline: no daemon, no "
	    "node directory", 0 },
	END_FLAGS,
};

static const struct command_def commands[] = {
	{ "init", CMD_INIT, NULL, OUT_NONE, NULL, NULL,
	    "create a new node: key and configuration", init_flags },
	{ "status", CMD_REMOTE, "status", OUT_OBJECT, NULL, NULL,
	    "show the node: id, organisation, log size, peers", no_flags },
	{ "peer add", CMD_REMOTE, "peer.add", OUT_OBJECT, NULL, "NAME",
	    "trust a member organisation's node; with --addr, dial it",
	    peer_add_flags },
	{ "peer list", CMD_REMOTE, "peer.list", OUT_LIST, "peer", NULL,
	    "list the members and peers, and whether they are connected",
	    no_flags },
	{ "peer remove", CMD_REMOTE, "peer.remove", OUT_OBJECT, NULL, "NAME",
	    "stop trusting and dialling a member", no_flags },
	{ "verify", CMD_REMOTE, "verify", OUT_OBJECT, NULL, NULL,
	    "check every chain and signature (exit 1 on any failure)",
	    no_flags },
	{ "log", CMD_REMOTE, "log", OUT_LIST, "log", NULL,
	    "show the raw events in arrival order", no_flags },
	{ "rebuild", CMD_REMOTE, "rebuild", OUT_OBJECT, NULL, NULL,
	    "rebuild the records from the log", no_flags },
	{ "org add", CMD_REMOTE, "org.add", OUT_ID, NULL, NULL,
	    "add an organisation", org_add_flags },
	{ "org list", CMD_REMOTE, "org.list", OUT_LIST, "org", NULL,
	    "list organisations", org_list_flags },
	{ "org show", CMD_REMOTE, "org.show", OUT_OBJECT, NULL, "ID",
	    "show an organisation", show_flags },
	{ "contact add", CMD_REMOTE, "contact.add", OUT_ID, NULL, NULL,
	    "add a contact person", contact_add_flags },
	{ "contact update", CMD_REMOTE, "contact.update", OUT_ID, NULL, "ID",
	    "change a contact's fields", contact_update_flags },
	{ "contact list", CMD_REMOTE, "contact.list", OUT_LIST, "contact", NULL,
	    "list contacts", contact_list_flags },
	{ "contact show", CMD_REMOTE, "contact.show", OUT_OBJECT, NULL, "ID",
	    "show a contact", show_flags },
	{ "meeting add", CMD_REMOTE, "meeting.add", OUT_ID, NULL, NULL,
	    "record a meeting", meeting_add_flags },
	{ "meeting list", CMD_REMOTE, "meeting.list", OUT_LIST, "meeting", NULL,
	    "list meetings", meeting_list_flags },
	{ "meeting show", CMD_REMOTE, "meeting.show", OUT_OBJECT, NULL, "ID",
	    "show a meeting", show_flags },
	{ "decision add", CMD_REMOTE, "decision.add", OUT_ID, NULL, NULL,
	    "propose a decision (status: proposed)", decision_add_flags },
	{ "decision adopt", CMD_REMOTE, "decision.adopt", OUT_ID, NULL, "ID",
	    "adopt a proposed decision", decision_step_flags },
	{ "decision reject", CMD_REMOTE, "decision.reject", OUT_ID, NULL, "ID",
	    "reject a proposed decision", decision_step_flags },
	{ "decision revoke", CMD_REMOTE, "decision.revoke", OUT_ID, NULL, "ID",
	    "revoke an adopted or amended decision", decision_step_flags },
	{ "decision amend", CMD_REMOTE, "decision.amend", OUT_ID, NULL, "ID",
	    "amend an adopted decision's text", decision_amend_flags },
	{ "decision list", CMD_REMOTE, "decision.list", OUT_LIST, "decision",
	    NULL, "list decisions", decision_list_flags },
	{ "decision show", CMD_REMOTE, "decision.show", OUT_OBJECT, NULL, "ID",
	    "show a decision", show_flags },
	{ "import", CMD_IMPORT, NULL, OUT_NONE, NULL, "FILE",
	    "add the records of a CSV or JSON Lines file: all, or none",
	    import_flags },
	{ "export", CMD_EXPORT, NULL, OUT_NONE, NULL, NULL,
	    "write the records as JSON Lines or CSV (import reads them back)",
	    export_flags },
	{ "history", CMD_REMOTE, "history", OUT_LIST, "history", "ID",
	    "every event of a record, oldest first", no_flags },
	{ "audit", CMD_AUDIT, "audit", OUT_OBJECT, NULL, "[ID]",
	    "write a decision's (any record's) signed history to a file, or "
	    "check such a file", audit_flags },
	{ "help", CMD_HELP, NULL, OUT_NONE, NULL, "[COMMAND]",
	    "show help for all commands or one", no_flags },
	{ "version", CMD_VERSION, NULL, OUT_NONE, NULL, NULL,
	    "show the version", no_flags },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

const struct command_def *
parse_find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* True if word starts a two-word command ("org", "decision"...). */
static bool
is_group(const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i < N_COMMANDS; i++)
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
				if (i + 1 >= argc || argv[i + 1][0] == '-') {
					snprintf(err, errlen, "'%s' needs a "
					    "subcommand (see: samlog help)", a);
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
		snprintf(err, errlen, "unexpected argument '%s' for '%s'", a,
		    r->def->name);
		return false;
	}
	if (r->cmd == CMD_NONE) {
		/* `samlog` alone or `samlog --help`: the overview. */
		r->cmd = CMD_HELP;
		r->def = parse_find("help");
		return true;
	}
	if (r->help)
		return true;
	if (r->def->pos != NULL && r->def->pos[0] != '[' && r->pos == NULL) {
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

static void
usage_line(FILE *f, const struct command_def *c)
{
	fprintf(f, "  samlog %s", c->name);
	if (c->pos != NULL)
		fprintf(f, " %s", c->pos);
	for (const struct flag_def *fl = c->flags; fl->name != NULL; fl++) {
		char arg[64];

		if (fl->flags & FL_SWITCH)
			snprintf(arg, sizeof arg, "--%s", fl->name);
		else
			snprintf(arg, sizeof arg, "--%s %s", fl->name, fl->metavar);
		fprintf(f, (fl->flags & FL_REQUIRED) ? " %s%s" : " [%s]%s", arg,
		    (fl->flags & FL_REPEAT) ? "..." : "");
	}
	fputc('\n', f);
}

void
parse_usage(FILE *f, const struct command_def *cmd)
{
	if (cmd != NULL) {
		fprintf(f, "usage:\n");
		usage_line(f, cmd);
		fprintf(f, "\n%s.\n", cmd->summary);
		if (cmd->flags[0].name != NULL)
			fprintf(f, "\n");
		for (const struct flag_def *fl = cmd->flags; fl->name != NULL;
		    fl++)
			fprintf(f, "  --%-13s %-11s %s\n", fl->name,
			    fl->metavar ? fl->metavar : "", fl->help);
		return;
	}
	fprintf(f, "usage: samlog [-d DIR] [--json] COMMAND [ARGS]\n\n"
	    "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nglobal options (before or after the command):\n"
	    "  -d, --dir DIR  node directory (default: $SAMLOG_DIR, else\n"
	    "                 $XDG_DATA_HOME/samlog, else "
	    "~/.local/share/samlog)\n"
	    "  --json         print JSON instead of tables\n"
	    "  -h, --help     help for a command: samlog COMMAND --help\n"
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

	for (size_t i = 0; i < N_COMMANDS; i++) {
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
	static const char *const org_kinds = "asf\nmunicipality\nauthority\n"
	    "partner\ncompany\nother\n";
	static const char *const statuses = "proposed\nadopted\nrejected\n"
	    "amended\nrevoked\n";
	const struct command_def *c = NULL;
	const char *group = NULL, *cur = n > 0 ? words[n - 1] : "";
	const char *prev = n > 1 ? words[n - 2] : "";
	char name[64];
	bool pos_given = false;

	*dir = NULL;
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

	if (pf != NULL && !(pf->flags & FL_SWITCH)) {
		if (strcmp(pf->name, "kind") == 0)
			fputs(org_kinds, f);
		else if (strcmp(pf->name, "status") == 0)
			fputs(statuses, f);
		else if (strcmp(pf->name, "format") == 0)
			fputs("csv\njsonl\n", f);
		else if (strcmp(pf->name, "org") == 0)
			return "org";
		else if (strcmp(pf->name, "with") == 0)
			return "contact";
		else if (strcmp(pf->name, "meeting") == 0)
			return "meeting";
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
	if (strcmp(c->name, "history") == 0)
		return "*";
	if (strcmp(c->name, "audit") == 0)
		return "decision";
	snprintf(name, sizeof name, "%.*s", (int)strcspn(c->name, " "),
	    c->name);
	return strcmp(name, "org") == 0 ? "org" : strcmp(name, "contact") == 0 ?
	    "contact" : strcmp(name, "meeting") == 0 ? "meeting" :
	    strcmp(name, "decision") == 0 ? "decision" : NULL;
}
