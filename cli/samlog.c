/*
 * samlog.c - the CLI's main: parse argv, run the command, print through
 * the chosen output backend.  Every failure is one "samlog: ..." line on
 * stderr; exit 1 when the request failed, 2 for wrong usage.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "parser.h"
#include "samlog_proto.h"

static int
fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("samlog: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

static int
cmd_init(const struct parse_result *r, const struct output *out)
{
	char id[SL_NODE_ID_TEXT + 1], err[512];
	char *dir = sl_node_dir_resolve(r->dir);
	int rc;

	if (dir == NULL)
		return fail(1, "no node directory: set HOME or SAMLOG_DIR, or "
		    "use -d DIR");
	rc = sl_node_create(dir, r->opt[OPT_ORG], id, err, sizeof err);
	if (rc != SL_OK) {
		fail(1, "%s", err);
		free(dir);
		return 1;
	}
	out->obj_begin(stdout);
	out->field_str(stdout, "node_id", id);
	out->field_str(stdout, "org", r->opt[OPT_ORG]);
	out->field_str(stdout, "dir", dir);
	out->obj_end(stdout);
	free(dir);
	return 0;
}

int
main(int argc, char **argv)
{
	struct parse_result r;
	char err[512];
	int status;

	if (!parse_args(&r, argc, argv, err, sizeof err))
		return fail(2, "%s", err);
	if (r.help) {
		parse_usage(stdout, r.cmd == CMD_HELP ? NULL : r.def);
		return 0;
	}
	const struct output *out = output_pick(r.json);

	switch (r.cmd) {
	case CMD_HELP:
		if (r.topic != NULL) {
			const struct command_def *c = parse_find(r.topic);

			if (c == NULL)
				return fail(2, "unknown command '%s' (see: samlog "
				    "help)", r.topic);
			parse_usage(stdout, c);
		} else {
			parse_usage(stdout, NULL);
		}
		status = 0;
		break;
	case CMD_VERSION:
		printf("samlog %s\n", SL_VERSION_STRING);
		status = 0;
		break;
	case CMD_INIT:
		status = cmd_init(&r, out);
		break;
	default:
		status = fail(2, "no command given (see: samlog help)");
		break;
	}
	sl_crypto_shutdown();
	if (fflush(stdout) != 0 || ferror(stdout))
		return fail(1, "cannot write the output");
	return status;
}
