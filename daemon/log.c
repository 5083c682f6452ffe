/*
 * log.c - the daemon's log: plain lines on stderr, no colour, one event
 * per line.  Under systemd (JOURNAL_STREAM set) journald adds its own
 * timestamps, so ours are left out there.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
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

/* The length of the printable UTF-8 character at s, or 0 for a control
 * character (C0, DEL, C1) or a byte that starts no valid sequence. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return s[0] < 0x20 || s[0] == 0x7f ? 0 : 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
	    (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
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
	char msg[1024];

	/* Lines quote what peers and clients send (a goodbye's reason, an
	 * organisation's name): nothing in them may act on a terminal or
	 * split a line.  Control bytes (C0, DEL, C1) and bytes of invalid
	 * UTF-8 are written as \xHH, a backslash as \\. */
	vsnprintf(msg, sizeof msg, fmt, ap);
	fprintf(stderr, "%s%s: %s: ", stamp, log_prog, level);
	for (size_t i = 0; msg[i] != '\0';) {
		unsigned char c = (unsigned char)msg[i];
		size_t n = utf8_len((const unsigned char *)msg + i);

		if (n == 0) {
			fprintf(stderr, "\\x%02x", c);
			i++;
		} else if (c == '\\') {
			fputs("\\\\", stderr);
			i++;
		} else {
			fwrite(msg + i, 1, n, stderr);
			i += n;
		}
	}
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
