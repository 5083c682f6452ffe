/*
 * timefmt.c - times as people write them and read them.
 *
 * Parsing takes ISO 8601 in the forms a person types or copies from
 * samlog's own output:
 *
 *   2026-12-01                          a day (kind SL_TIME_DATE)
 *   2026-12-01T22:06:21+01:00           a time with its offset
 *   2026-12-01T21:06:21Z, ...21.5Z      (SL_TIME_OFFSET; Z is +00:00)
 *   2026-12-01 22:06 +01:00             a space for the T, before the
 *                                       offset too; +0100 and +01 as well
 *   2026-12-01 22:06, 2026-12-01T22:06  a time in the local zone (TZ)
 *                                       (SL_TIME_LOCAL)
 *
 * Seconds may be left out; a fraction of a second has 1 to 9 digits and
 * is cut to milliseconds.  Everything else is refused: a day that does
 * not exist, an hour past 23, trailing text.
 *
 * Formatting gives the local form tables print ("2026-12-01 22:06:21
 * +01:00", TZ honoured) and the UTC form replies carry
 * ("2026-12-01T21:06:21.000Z").
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "samlog_proto.h"

/* n decimal digits at *s into *v; advances *s. */
static bool
digits(const char **s, int n, int *v)
{
	int x = 0;

	for (int i = 0; i < n; i++) {
		char c = (*s)[i];

		if (c < '0' || c > '9')
			return false;
		x = x * 10 + (c - '0');
	}
	*s += n;
	*v = x;
	return true;
}

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (negative before); no time_t, no time zone. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t yy = y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

int
sl_time_parse_parts(const char *s, struct sl_time_parts *p)
{
	memset(p, 0, sizeof *p);
	if (s == NULL || !digits(&s, 4, &p->y) || *s++ != '-' ||
	    !digits(&s, 2, &p->mo) || *s++ != '-' || !digits(&s, 2, &p->d))
		return SL_EVALUE;
	if (p->y < 1 || p->mo < 1 || p->mo > 12 || p->d < 1 ||
	    p->d > month_days(p->y, p->mo))
		return SL_EVALUE;
	if (*s == '\0') {
		p->kind = SL_TIME_DATE;
		return SL_OK;
	}
	if (*s != 'T' && *s != 't' && *s != ' ')
		return SL_EVALUE;
	s++;
	if (!digits(&s, 2, &p->h) || *s++ != ':' || !digits(&s, 2, &p->mi))
		return SL_EVALUE;
	if (*s == ':') {
		s++;
		if (!digits(&s, 2, &p->s))
			return SL_EVALUE;
		if (*s == '.' || *s == ',') {
			int scale = 100;

			s++;
			while (*s >= '0' && *s <= '9') {
				if (++p->frac > 9)
					return SL_EVALUE;
				p->ms += (*s++ - '0') * scale;
				scale /= 10;
			}
			if (p->frac == 0)
				return SL_EVALUE;
		}
	}
	/* 60 is a leap second (RFC 3339): it reads as the next one. */
	if (p->h > 23 || p->mi > 59 || p->s > 60)
		return SL_EVALUE;
	if (*s == ' ' && (s[1] == '+' || s[1] == '-' || s[1] == 'Z'))
		s++;
	if (*s == '\0') {
		p->kind = SL_TIME_LOCAL;
		return SL_OK;
	}
	p->kind = SL_TIME_OFFSET;
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return SL_OK;
	if (*s != '+' && *s != '-')
		return SL_EVALUE;
	int sign = *s++ == '-' ? -1 : 1, oh, om = 0;

	if (!digits(&s, 2, &oh))
		return SL_EVALUE;
	if (*s == ':')
		s++;
	if (*s != '\0' && !digits(&s, 2, &om))
		return SL_EVALUE;
	if (*s != '\0' || oh > 23 || om > 59)
		return SL_EVALUE;
	p->off_min = sign * (oh * 60 + om);
	return SL_OK;
}

int64_t
sl_time_local_ms(int y, int mo, int d, int h, int mi, int sec, int ms)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;   /* the zone's rule for that day */
	return (int64_t)mktime(&tm) * 1000 + ms;
}

int
sl_time_parse(const char *s, int64_t *ms, int *kind)
{
	struct sl_time_parts p;
	int rc = sl_time_parse_parts(s, &p);

	if (rc != SL_OK)
		return rc;
	if (kind != NULL)
		*kind = p.kind;
	if (p.kind != SL_TIME_OFFSET) {
		*ms = sl_time_local_ms(p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms);
		return SL_OK;
	}
	*ms = ((days_from_civil(p.y, p.mo, p.d) * 24 + p.h) * 60 + p.mi -
	    p.off_min) * 60000 + (int64_t)p.s * 1000 + p.ms;
	return SL_OK;
}

/* ms as whole seconds (rounded down, also before 1970) and the rest. */
static time_t
split_ms(int64_t ms, int *rest)
{
	int64_t sec = ms / 1000, r = ms % 1000;

	if (r < 0) {
		r += 1000;
		sec--;
	}
	*rest = (int)r;
	return (time_t)sec;
}

void
sl_time_format_local(int64_t ms, char *buf, size_t len)
{
	int rest;
	time_t t = split_ms(ms, &rest);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	long off = tm.tm_gmtoff / 60;
	char sign = off < 0 ? '-' : '+';

	if (off < 0)
		off = -off;
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d %c%02ld:%02ld",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
}

void
sl_time_format_utc(int64_t ms, char *buf, size_t len)
{
	int rest;
	time_t t = split_ms(ms, &rest);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, rest);
}

void
sl_time_format_date(const struct sl_time_parts *p, char *buf, size_t len)
{
	snprintf(buf, len, "%04d-%02d-%02d", p->y, p->mo, p->d);
}
