/*
 * log.h - one line per notable event, to stderr (journald reads it there).
 */
#ifndef SAMLOG_LOG_H
#define SAMLOG_LOG_H

/* Prefix lines with a UTC timestamp unless running under journald. */
void log_init(const char *prog);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and exits 1: only for start-up failures and broken invariants. */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
