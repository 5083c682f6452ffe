/*
 * parser.c - the command table and the argv walker.
 *
 * Global options (-d DIR, --json, --help) are accepted before or after the
 * command, as CLI.md promises; everything else after the command must be a
 * flag of that command.  Flags take "--flag value" or "--flag=value".
 */
#include <stdio.h>
#include <string.h>

#include "parser.h"

static const struct flag_def init_flags[] = {
	{ "org", OPT_ORG, "NAME", "the organisation this node speaks for",
	    true },
	{ NULL, 0, NULL, NULL, false },
};

static const struct flag_def no_flags[] = {
	{ NULL, 0, NULL, NULL, false },
};

static const struct command_def commands[] = {
	{ "init", CMD_INIT, "create a new node: key and configuration",
	    init_flags, NULL },
	{ "help", CMD_HELP, "show help for all commands or one", no_flags,
	    "[COMMAND]" },
	{ "version", CMD_VERSION, "show the version", no_flags, NULL },
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

static const struct flag_def *
flag_find(const struct command_def *c, const char *name, size_t len)
{
	for (const struct flag_def *f = c->flags; f->name != NULL; f++)
		if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
			return f;
	return NULL;
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
			if (a[0] == '-') {
				snprintf(err, errlen, "unknown option '%s' (see: "
				    "samlog help)", a);
				return false;
			}
			if ((r->def = parse_find(a)) == NULL) {
				snprintf(err, errlen, "unknown command '%s' (see:"
				    " samlog help)", a);
				return false;
			}
			r->cmd = r->def->id;
			continue;
		}
		if (strncmp(a, "--", 2) == 0) {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct flag_def *f = flag_find(r->def, name, len);

			if (f == NULL) {
				snprintf(err, errlen, "unknown flag '%.*s' for "
				    "'%s' (see: samlog %s --help)", (int)len + 2,
				    a, r->def->name, r->def->name);
				return false;
			}
			if (eq != NULL) {
				r->opt[f->id] = eq + 1;
			} else if (i + 1 < argc) {
				r->opt[f->id] = argv[++i];
			} else {
				snprintf(err, errlen, "--%s needs a value (%s)",
				    f->name, f->metavar);
				return false;
			}
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
	for (const struct flag_def *f = r->def->flags; f->name != NULL; f++) {
		if (f->required && r->opt[f->id] == NULL) {
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
	for (const struct flag_def *fl = c->flags; fl->name != NULL; fl++)
		fprintf(f, fl->required ? " --%s %s" : " [--%s %s]", fl->name,
		    fl->metavar);
	if (c->args != NULL)
		fprintf(f, " %s", c->args);
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
			fprintf(f, "  --%s %-10s %s\n", fl->name, fl->metavar,
			    fl->help);
		return;
	}
	fprintf(f, "usage: samlog [-d DIR] [--json] COMMAND [ARGS]\n\n"
	    "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nglobal options (before or after the command):\n"
	    "  -d, --dir DIR  node directory (default: $SAMLOG_DIR, else\n"
	    "                 $XDG_DATA_HOME/samlog, else "
	    "~/.local/share/samlog)\n"
	    "  --json         print JSON instead of tables\n"
	    "  -h, --help     help for a command: samlog COMMAND --help\n"
	    "\nexit status: 0 success, 1 the request failed, 2 wrong usage\n");
}
