/*
 * report.h - samlog report: the board report, made from the records as
 * they stood at the end of a period, as printable HTML, Markdown or
 * JSON.
 */
#ifndef SAMLOG_REPORT_H
#define SAMLOG_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "parser.h"

enum report_format { REPORT_HTML, REPORT_MD, REPORT_JSON };
enum report_lang { REPORT_SV, REPORT_EN };

struct report_opts {
	const char *from, *to;          /* YYYY-MM-DD, from <= to */
	const char *const *munis;       /* --municipality, in the order
	                                   given; NULL: every one found */
	size_t nmunis;
	enum report_format format;
	enum report_lang lang;
	const char *intro;              /* the authors' introduction (text,
	                                   checked: report_check_intro), or
	                                   NULL */
};

/*
 * Fetches the records from the daemon of node directory dir and writes
 * the report to f.  The exit status: 0, or 1 with one "samlog: ..." line
 * printed (the daemon's answer, or what could not be done).
 */
int report_write(const char *dir, bool dir_named,
    const struct report_opts *o, FILE *f);

/* The municipalities the records name now (each once, case aside), in
 * Swedish alphabetical order, as new strings (*v, *n of them; free each
 * and v): what a form offers to choose from.  0, or 1 with one line
 * printed. */
int report_municipalities(const char *dir, bool named, char ***v,
    size_t *n);

/* The words for a value of the schema ("adopted": "antaget", "asf":
 * ...), or value itself when it has none. */
const char *report_word(const char *value, enum report_lang lang);

/* Is s a day written YYYY-MM-DD that exists? */
bool report_is_day(const char *s);

/* Are from and to days written YYYY-MM-DD that exist, from not after
 * to?  If not, false with why filled in (a phrase naming the flag).
 * The page's form is checked by the same words as the command line. */
bool report_check_period(const char *from, const char *to, char *why,
    size_t n);

/* Is intro (n bytes) a text for the report's introduction: UTF-8,
 * no control characters but line breaks and tabs (CR LF taken as LF),
 * at most 64 KiB?  If not, false with why filled in. */
bool report_check_intro(const char *intro, size_t n, char *why,
    size_t wn);

/* Is each municipality asked for a name (not empty), given once (case
 * aside)?  If not, false with why filled in. */
bool report_check_munis(const struct report_opts *o, char *why, size_t n);

/* samlog report: the flags checked (2 for wrong usage), the report
 * written to --out FILE (whole or not at all; - for standard output). */
int cmd_report(const struct parse_result *r);

#endif
