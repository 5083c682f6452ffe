/*
 * html.h - text from the log as it may appear in HTML (the report and
 * the web page).
 */
#ifndef SAMLOG_HTML_H
#define SAMLOG_HTML_H

#include <stdio.h>

/* s with & < > " ' written as character references (so the same text
 * is safe between tags and inside a quoted attribute) and each line
 * break as <br>; NULL writes nothing. */
void html_text(FILE *f, const char *s);

/* The same, for an attribute value: a line break as a reference, not a
 * tag. */
void html_attr(FILE *f, const char *s);

/* html_text for running text that is printed: each day written
 * YYYY-MM-DD in a <span class="d"> (the stylesheet keeps it on one
 * line) and a space between "§" and a number non-breaking, so that
 * "2019-10-25" and "§ 12" are never split across lines. */
void html_prose(FILE *f, const char *s);

#endif
