/*
 * restore.h - samlog restore FILE DIR (restore.c).
 */
#ifndef SAMLOG_RESTORE_H
#define SAMLOG_RESTORE_H

#include <stdbool.h>

/* Unpacks and checks the backup FILE into the new directory DIR; the
 * exit status (0, or 1 with one line said). */
int cmd_restore(const char *file, const char *dir, bool json);

#endif
