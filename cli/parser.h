/*
 * parser.h - argv to a parse_result, from one table of commands.
 *
 * No I/O except printing usage: samlog.c decides what to do with the
 * result.  The usage text is generated from the same table the parser
 * reads, so the two cannot drift apart.  The record commands (KIND add,
 * update, the lifecycle steps, list, show) and their flags are made from
 * the record schema (protocol/schema.c) when the table is first read.
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
	CMD_REMOTE,   /* sent to samlogd */
	CMD_IMPORT,   /* import.c, then samlogd */
	CMD_EXPORT,   /* export.c: lists from samlogd */
	CMD_AUDIT,    /* bundle.c: from samlogd (--out), or offline (--check) */
	CMD_VERIFY,   /* samlogd's store, or a file offline (events.c) */
	CMD_PERSON,   /* samlogd's answer, written to FILE and FILE.txt */
	CMD_BACKUP,   /* samlogd writes FILE (its absolute path) */
	CMD_RESTORE,  /* restore.c: offline */
	CMD_REPORT,   /* report.c: lists from samlogd, as of a day */
	CMD_UI,       /* ui.c, in samlog-ui: the local web page */
};

/* How a remote command's reply is printed. */
enum out_mode {
	OUT_NONE,
	OUT_ID,       /* add, update, steps: the id (JSON: the record) */
	OUT_OBJECT,   /* show, status, verify, rebuild: one object */
	OUT_LIST,     /* list, history, log: a table (JSON: an array) */
	OUT_LINE,     /* invite: the first value of the reply, one line
			 (JSON: the object) */
};

#define FL_REQUIRED 1u
#define FL_REPEAT 2u   /* may be given more than once: an array */
#define FL_SWITCH 4u   /* takes no value */
#define FL_TIME 8u     /* a time (ISO 8601, offset or local, or a day:
                          its end), sent as RFC 3339 UTC */
#define FL_DAY 16u     /* a day, or a time: its day as written, sent as
                          YYYY-MM-DD */

struct sl_field;
struct sl_kind;

struct flag_def {
	const char *name;    /* without the leading "--" */
	const char *metavar;
	const char *help;
	unsigned flags;
	const char *const *values;    /* the values it takes (completion),
	                                 NULL-terminated, or NULL */
	const struct sl_field *field; /* the schema field it sets or filters
	                                 by, or NULL */
};

struct command_def {
	const char *name;     /* as typed: "org add" */
	enum cmd_id id;
	const char *remote;   /* request name: "org.add" */
	enum out_mode out;
	const char *table;    /* table layout for lists (see output.c) */
	const char *pos;      /* positional argument ("ID"), or NULL */
	const char *summary;
	const struct flag_def *flags; /* terminated by a NULL name */
	const struct sl_kind *kind;   /* a record command's kind, or NULL */
};

#define MAX_VALUES 512         /* values of one command: room for every list
				  field of a kind at its 64 values (a form
				  of the page sends them all) */

struct parse_result {
	enum cmd_id cmd;
	const struct command_def *def;
	const char *dir;      /* -d DIR, or NULL */
	bool json;
	bool help;            /* --help after a command */
	const char *topic;    /* `samlog help TOPIC [SUBTOPIC]` */
	const char *group;    /* a group ("contact") given without its
	                         subcommand: parse_args fails */
	bool bare;            /* no command at all (not even --help) */
	const char *topic2;
	const char *pos;      /* the positional argument */
	const char *pos2;     /* a second one, where pos names two */
	size_t nvals;
	struct {
		const struct flag_def *flag;
		const char *value; /* NULL for a switch */
	} vals[MAX_VALUES];
};

/*
 * Parses argv (argv[0] is the program).  Returns false on wrong usage with
 * one sentence in err; the caller prints it and exits 2.
 */
bool parse_args(struct parse_result *r, int argc, char **argv, char *err,
    size_t errlen);

/*
 * Shell completion: words are what follows "samlog" on the command line,
 * the last one the word being completed (maybe empty).  Prints the
 * candidates that need no daemon (command words, flags, enumerated
 * values) to f, one per line, and returns the record kind (its word, or
 * "*" for any) whose ids belong at the cursor, or NULL.  *dir receives a
 * -d DIR among the words.
 */
const char *parse_complete(FILE *f, int n, char **words, const char **dir);

/*
 * Rewrites the values of FL_TIME and FL_DAY flags as samlogd takes them
 * (see those flags).  False with one sentence in err when one is no
 * time: the request failed (exit 1).
 */
bool parse_normalise(struct parse_result *r, char *err, size_t errlen);

/* True if word starts two-word commands ("org", "decision"...). */
bool parse_is_group(const char *word);

/* The last value given for flag name, or NULL. */
const char *parse_value(const struct parse_result *r, const char *name);

/* Looks a command up by its typed name ("org add"); NULL if none. */
const struct command_def *parse_find(const char *name);

/* The commands by index, in the order help lists them; NULL past the
 * end.  Valid for the life of the process. */
const struct command_def *parse_command_at(size_t i);

/* Prints the usage of one command, or of all when cmd is NULL. */
void parse_usage(FILE *f, const struct command_def *cmd);

/* Prints the commands of a group ("contact"), one line each. */
void parse_usage_group(FILE *f, const char *group);

/* The usage line of a command, without "  samlog " ("contact add --name
 * NAME [--org ORG_ID]..."), into buf. */
void parse_usage_text(const struct command_def *c, char *buf, size_t len);

#endif
