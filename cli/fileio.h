/*
 * fileio.h - whole files in and out for the CLI.
 */
#ifndef SAMLOG_FILEIO_H
#define SAMLOG_FILEIO_H

#include <stdbool.h>
#include <stddef.h>

/* Reads all of path ("-": standard input), at most max bytes, into a new
 * buffer (*out, caller frees).  False with one line printed on failure. */
bool file_slurp(const char *path, size_t max, char **out, size_t *outlen);

/* Writes data as path's whole new content: a temporary file beside it,
 * synced, then renamed over it, so path is never seen half written.
 * "-" writes to standard output.  False with one line printed. */
bool file_replace(const char *path, const void *data, size_t len);

#endif
