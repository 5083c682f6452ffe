/*
 * html.c - escaping for HTML: every value from the log or from a request
 * goes through here on its way into a page.
 */
#include <stdbool.h>
#include <stdio.h>

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
