/*
 * fill.h - writes many events into a stopped node's store directly (with
 * its projections), as the daemon would: for sync tests and benchmarks
 * that need a large log without a million CLI calls.
 */
#ifndef SAMLOG_FILL_H
#define SAMLOG_FILL_H

#include <stddef.h>

/* Appends n contacts (contact.created events, records the projections
 * fold) to the node in dir, 1000 per commit.
 * 0, or -1 with err set. */
int tu_fill(const char *dir, size_t n, char *err, size_t errlen);

#endif
