/*
 * request.h - one request to samlogd over the control socket, and its
 * replies handed to an output backend.
 */
#ifndef SAMLOG_REQUEST_H
#define SAMLOG_REQUEST_H

#include "output.h"
#include "parser.h"

/*
 * Sends r's command to the daemon of node directory dir and prints the
 * reply through out.  Returns the exit status: 0, 1 (the request failed;
 * one "samlog: ..." line is on stderr) or 2 (the daemon called it wrong
 * usage).
 */
int request_run(const char *dir, bool dir_named, const struct parse_result *r,
    const struct output *out);

#endif
