/*
 * clock.c - the hybrid logical clock stamped on every event.
 *
 * An HLC value is wall-clock milliseconds shifted left 16 bits plus a
 * counter, so it orders as one unsigned integer, stays close to real time
 * for display, and still advances when the wall clock stalls or steps
 * back: the next value is never below the last one plus one.
 */
#include <stdio.h>
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

void
sl_hlc_format(char *out, size_t outlen, uint64_t hlc)
{
	uint64_t ms = SL_HLC_MS(hlc);
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(out, outlen, "@%llu", (unsigned long long)ms);
		return;
	}
	snprintf(out, outlen, "%s.%03uZ", buf, (unsigned)(ms % 1000));
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
