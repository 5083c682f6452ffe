/*
 * ui.h - samlog ui: the local web page for the coordinators.
 */
#ifndef SAMLOG_UI_H
#define SAMLOG_UI_H

#include "parser.h"

/* Serves the page on 127.0.0.1 until SIGINT or SIGTERM; prints its URL
 * (with a one-time token) first.  The exit status. */
int cmd_ui(const struct parse_result *r);

#endif
