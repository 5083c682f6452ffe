/*
 * html.c - escaping for HTML: every value from the log or from a request
 * goes through here on its way into a page.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "html.h"

static void
escape(FILE *f, const char *s, bool br)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		case '\n':
			fputs(br ? "<br>" : "&#10;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

void
html_text(FILE *f, const char *s)
{
	escape(f, s, true);
}

void
html_attr(FILE *f, const char *s)
{
	escape(f, s, false);
}

/* Is s[0..10) a day written YYYY-MM-DD, not inside a longer run of
 * digits (at is s's start within the whole text)? */
static bool
day_at(const char *at, const char *s)
{
	static const char shape[] = "dddd-dd-dd";

	if (s > at && isdigit((unsigned char)s[-1]))
		return false;
	for (int i = 0; i < 10; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != '-')
			return false;
	return !isdigit((unsigned char)s[10]);
}

void
html_prose(FILE *f, const char *s)
{
	const char *start = s;
	char one[2] = { 0 };

	for (; s != NULL && *s != '\0'; s++) {
		if (day_at(start, s)) {
			fputs("<span class=\"d\">", f);
			fwrite(s, 1, 10, f);
			fputs("</span>", f);
			s += 9;
		} else if (strncmp(s, "\u00a7 ", 3) == 0 &&
		    isdigit((unsigned char)s[3])) {
			fputs("\u00a7&nbsp;", f);
			s += 2;
		} else {
			one[0] = *s;
			escape(f, one, true);
		}
	}
}
