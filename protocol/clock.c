/*
 * clock.c - the hybrid logical clock stamped on every event.
 *
 * An HLC value is wall-clock milliseconds shifted left 16 bits plus a
 * counter, so it orders as one unsigned integer, stays close to real time
 * for display, and still advances when the wall clock stalls or steps
 * back: the next value is never below the last one plus one.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "samlog_proto.h"

uint64_t
sl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t
sl_hlc_next(uint64_t last, uint64_t now_ms)
{
	uint64_t wall = now_ms << 16;

	return wall > last ? wall : last + 1;
}

/* Writes v as n decimal digits, zero-padded, at p. */
static void
digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" by hand: every record in a reply carries a
 * few of these, and strftime with two snprintf calls was a sixth of the
 * daemon's time in a long list. */
void
sl_hlc_format(char *out, size_t outlen, uint64_t hlc)
{
	uint64_t ms = SL_HLC_MS(hlc);
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (gmtime_r(&secs, &tm) == NULL) {
		snprintf(out, outlen, "@%llu", (unsigned long long)ms);
		return;
	}
	if (tm.tm_year + 1900 > 9999) { /* a clock no honest node has */
		strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(out, outlen, "%s.%03uZ", buf, (unsigned)(ms % 1000));
		return;
	}
	digits(buf, (unsigned)(tm.tm_year + 1900), 4);
	buf[4] = '-';
	digits(buf + 5, (unsigned)tm.tm_mon + 1, 2);
	buf[7] = '-';
	digits(buf + 8, (unsigned)tm.tm_mday, 2);
	buf[10] = 'T';
	digits(buf + 11, (unsigned)tm.tm_hour, 2);
	buf[13] = ':';
	digits(buf + 14, (unsigned)tm.tm_min, 2);
	buf[16] = ':';
	digits(buf + 17, (unsigned)tm.tm_sec, 2);
	buf[19] = '.';
	digits(buf + 20, (unsigned)(ms % 1000), 3);
	buf[23] = 'Z';
	buf[24] = '\0';
	if (outlen > 0) {
		size_t n = outlen - 1 < 24 ? outlen - 1 : 24;

		memcpy(out, buf, n);
		out[n] = '\0';
	}
}

uint32_t
sl_hlc_day(uint64_t hlc)
{
	time_t secs = (time_t)(SL_HLC_MS(hlc) / 1000);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL)
		return 0;
	return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 +
	    tm.tm_mday);
}
