/*
 * export.h - samlog export --format jsonl|csv [--kind K] [--excel].
 */
#ifndef SAMLOG_EXPORT_H
#define SAMLOG_EXPORT_H

#include <stdbool.h>

/* Writes the records (all kinds, or kind) of the node in dir to stdout;
 * excel: CSV with a BOM and ';'.  Returns the exit status; errors are
 * printed. */
int cmd_export(const char *dir, bool dir_named, const char *format,
    const char *kind, bool excel, bool omit_personal);

/* The CSV header's columns, NULL-terminated: record, id, every field of
 * every kind (by name, once), each reference to an organisation followed
 * by its name's key, then created, updated, author.  Made from the
 * schema on the first call; static. */
const char *const *export_columns(void);

#endif
