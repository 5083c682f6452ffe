/*
 * import.h - samlog import FILE [--kind K] [--format csv|jsonl] [--force].
 */
#ifndef SAMLOG_IMPORT_H
#define SAMLOG_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

/* Imports file into the node of dir, all rows or none.  kind and format
 * may be NULL; force adds rows whose name a record of their kind has
 * already (otherwise they are skipped and said).  Returns the exit
 * status (0, 1, 2); errors are printed. */
int cmd_import(const char *dir, bool dir_named, const char *file,
    const char *kind, const char *format, bool force);

/* Parses buf (CSV when csv, else JSON Lines) into rows as cmd_import
 * does, but silently; returns the number of good rows and sets *errors.
 * Nothing is sent anywhere (the fuzzer's entry). */
size_t import_parse(const char *file, const char *buf, size_t len, bool csv,
    const char *kind, unsigned *errors);

/* The same, keeping the rows: *rows receives the [line, body] pairs
 * that would be sent (msgpack, one after another; body the packed add
 * request), and the caller frees rows->p. */
struct sl_buf;
size_t import_parse_rows(const char *file, const char *buf, size_t len,
    bool csv, const char *kind, unsigned *errors, struct sl_buf *rows);

#endif
