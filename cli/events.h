/*
 * events.h - raw event exports (PROTOCOL.md section 14): samlog export
 * --events FILE from samlogd, and samlog verify --file FILE offline.
 */
#ifndef SAMLOG_EVENTS_H
#define SAMLOG_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output.h"
#include "parser.h"
#include "pins.h"

/* samlog export --events FILE [--origin ID]... [--since TIME|SEQ]: asks
 * samlogd of dir for the export, verifies it, writes it to FILE ("-":
 * standard output) atomically and prints what it wrote.  The exit
 * status. */
int cmd_export_events(const char *dir, bool dir_named,
    const struct parse_result *r, const struct output *out);

/* samlog verify --file FILE: checks the export in FILE ("-": standard
 * input) with nothing else, printing one line per problem (exit 1) or a
 * summary (exit 0); with pins, every origin must be pinned. */
int cmd_verify_file(const char *file, struct pins *pins,
    const struct output *out);

/* Checks the export in buf as verify --file does, printing nothing:
 * true, or false with err saying the first problem (the fuzzer's
 * entry). */
bool events_check_buffer(const uint8_t *buf, size_t len, char *err,
    size_t errlen);

#endif
