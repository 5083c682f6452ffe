/*
 * log.c - the daemon's log: plain lines on stderr, no colour, one event
 * per line.  Under systemd (JOURNAL_STREAM set) journald adds its own
 * timestamps, so ours are left out there.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

static const char *log_prog = "samlogd";
static bool log_stamp = true;

void
log_init(const char *prog)
{
	log_prog = prog;
	log_stamp = getenv("JOURNAL_STREAM") == NULL;
}

static void
log_line(const char *level, const char *fmt, va_list ap)
{
	char stamp[32] = "";

	if (log_stamp) {
		time_t t = time(NULL);
		struct tm tm;

		if (gmtime_r(&t, &tm) != NULL)
			strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ ", &tm);
	}
	fprintf(stderr, "%s%s: %s: ", stamp, log_prog, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("info", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warning", fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("fatal", fmt, ap);
	va_end(ap);
	exit(1);
}
