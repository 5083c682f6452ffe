/*
 * bundle.h - samlog audit: fetching a record's audit bundle from samlogd,
 * and checking a bundle offline (PROTOCOL.md section 13).
 */
#ifndef SAMLOG_BUNDLE_H
#define SAMLOG_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output.h"
#include "pins.h"

/* samlog audit --check FILE: verifies the bundle in FILE ("-": standard
 * input) and prints the record and its history, and its keys; with pins
 * (pins.h), fails for any key that is not pinned.  The exit status. */
int cmd_audit_check(const char *file, struct pins *pins,
    const struct output *out);

/* samlog audit ID --out FILE: asks samlogd of dir for record id's bundle,
 * checks it, writes it to FILE ("-": standard output) atomically and
 * prints what it wrote.  The exit status. */
int cmd_audit_out(const char *dir, bool dir_named, const char *id,
    const char *file, const struct output *out);

/* Checks the bundle in buf as --check does, printing nothing: true, or
 * false with err saying why (the fuzzer's entry). */
bool audit_check_buffer(const uint8_t *buf, size_t len, char *err,
    size_t errlen);

#endif
