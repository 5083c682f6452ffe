/*
 * ui_main.c - samlog-ui, the program `samlog ui` runs: its arguments are
 * samlog's (`samlog-ui [-d DIR] ui [--port N] [--no-open]`), parsed by
 * the same table.
 */
#include <stdio.h>

#include "output.h"
#include "parser.h"
#include "ui.h"

int
main(int argc, char **argv)
{
	struct parse_result r;
	char err[512];

	if (!parse_args(&r, argc, argv, err, sizeof err)) {
		cli_error("%s", err);
		return 2;
	}
	if (r.cmd != CMD_UI || r.help) {
		cli_error("samlog-ui serves samlog ui: run samlog ui (see: "
		    "samlog help ui)");
		return 2;
	}
	return cmd_ui(&r);
}
