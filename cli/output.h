/*
 * output.h - how replies reach stdout: one interface, two backends.
 *
 * Every reply is a sequence of msgpack maps (records, rows, objects).  A
 * command hands them to the output chosen by --json: the text backend
 * prints aligned tables and "key: value" blocks sized for the terminal,
 * the JSON backend prints objects and arrays per samlog(1).  There is no
 * second code path per command.
 */
#ifndef SAMLOG_OUTPUT_H
#define SAMLOG_OUTPUT_H

#include <msgpack.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "parser.h"

struct output {
	/* Starts a reply of the given mode; table names the list layout. */
	void (*begin)(FILE *f, enum out_mode mode, const char *table);
	/* One map.  The object is valid only during the call. */
	void (*record)(FILE *f, const msgpack_object *rec);
	/* Ends the reply. */
	void (*end)(FILE *f);
};

extern const struct output output_text;
extern const struct output output_json;

/* The fields of the records a list of kind `table` shows in its text
 * table, in order, into names (at most max); 0 if table is no kind. */
size_t output_list_fields(const char *table, const char **names, size_t max);

/* Tells the text backend that the list asked for was filtered, so that
 * an empty one says "no ... records match" rather than "no ... records". */
void output_set_filtered(bool filtered);

/* Whether --json was given, for the commands that print outside the
 * backends (import's summary). */
void output_set_json(bool json);

/* import's summary: "imported N records from FILE", or with --json
 * {"imported": N, "file": FILE}. */
/* "imported N records from FILE (A added, U updated, ...)", or JSON;
 * n: added, updated, unchanged, skipped. */
void output_imported(const char *file, const uint64_t n[4], bool detailed);

/* The backend for the --json choice. */
const struct output *output_pick(bool json);

/* Writes s[0..n) as a JSON string, escaped as the JSON backend does. */
void json_text(FILE *f, const char *s, size_t n);

/* Writes one msgpack value as JSON (shared by both backends' needs). */
void json_value(FILE *f, const msgpack_object *o);

/* The value of key in map m, or NULL.  Entries whose key is not a
 * string are passed over. */
const msgpack_object *map_get(const msgpack_object *m, const char *key);

/* The key of a map entry when it is a string (true), else false: every
 * walk over a map asks this before it reads a key as text. */
bool map_key(const msgpack_object_kv *kv, const char **key, size_t *len);

/* Display width of UTF-8 text: code points, not bytes. */
size_t utf8_width(const char *s, size_t n);

/* The length (1-4) of the valid UTF-8 sequence at s[0..n), with its
 * code point in *cp; 0 if the bytes there are not one (a stray or
 * missing continuation byte, an overlong form, a surrogate, beyond
 * U+10FFFF). */
size_t utf8_seq(const char *s, size_t n, uint32_t *cp);

/* A growing NUL-terminated string; p stays NULL until something is put
 * and is freed by the caller. */
struct sbuf {
	char *p;
	size_t len, cap;
};

void sb_put(struct sbuf *b, const char *s, size_t n);

/*
 * Text from the log as it may reach a terminal.  Every byte that a
 * terminal would act on is written as a visible escape:
 *
 *   \\       a backslash (so that the escapes are unambiguous)
 *   \n       a line break; with lines true it stays a line break
 *   \t       a tab
 *   \xHH     every other byte of a C0 control (U+0000-U+001F), of DEL
 *            (U+007F), of a C1 control (U+0080-U+009F, the bytes C2 80 to
 *            C2 9F) or of invalid UTF-8
 *
 * so that what comes out is valid UTF-8 with no control character but
 * the line breaks kept.  Appended to b.
 */
void text_escape(struct sbuf *b, const char *s, size_t n, bool lines);

/* s[0..n) escaped (no line break kept) on f. */
void text_put(FILE *f, const char *s, size_t n);

/* One "samlog: ..." line on stderr, the message escaped as text_escape
 * does: error messages quote values from the log and from the daemon. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sends those messages (unescaped, without "samlog: ") to f instead, or
 * back to stderr with NULL: the web page shows them. */
void cli_error_to(FILE *f);
void cli_verror(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

#endif
