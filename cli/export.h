/*
 * export.h - samlog export --format jsonl|csv [--kind K].
 */
#ifndef SAMLOG_EXPORT_H
#define SAMLOG_EXPORT_H

#include <stdbool.h>

/* Writes the records (all kinds, or kind) of the node in dir to stdout.
 * Returns the exit status; errors are printed. */
int cmd_export(const char *dir, bool dir_named, const char *format,
    const char *kind);

#endif
