/*
 * parser.h - argv to a parse_result, from one table of commands.
 *
 * No I/O except printing usage: samlog.c decides what to do with the
 * result.  The usage text is generated from the same table the parser
 * reads, so the two cannot drift apart.
 */
#ifndef SAMLOG_PARSER_H
#define SAMLOG_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum cmd_id {
	CMD_NONE,
	CMD_HELP,
	CMD_VERSION,
	CMD_INIT,
};

/* Flags that take a value; their values land in parse_result.opt[]. */
enum opt_id {
	OPT_ORG,
	OPT_COUNT
};

struct flag_def {
	const char *name;    /* without the leading "--" */
	enum opt_id id;
	const char *metavar;
	const char *help;
	bool required;
};

struct command_def {
	const char *name;
	enum cmd_id id;
	const char *summary;
	const struct flag_def *flags; /* terminated by a NULL name */
	const char *args;             /* positional usage, or NULL */
};

struct parse_result {
	enum cmd_id cmd;
	const struct command_def *def;
	const char *dir;      /* -d DIR, or NULL */
	bool json;
	bool help;            /* --help after a command */
	const char *topic;    /* `samlog help TOPIC` */
	const char *opt[OPT_COUNT];
};

/*
 * Parses argv (argv[0] is the program).  Returns false on wrong usage with
 * one sentence in err; the caller prints it and exits 2.
 */
bool parse_args(struct parse_result *r, int argc, char **argv, char *err,
    size_t errlen);

/* Looks a command up by name; NULL if there is none. */
const struct command_def *parse_find(const char *name);

/* Prints the usage of one command, or of all when cmd is NULL. */
void parse_usage(FILE *f, const struct command_def *cmd);

#endif
