/*
 * output.h - how replies reach stdout: one interface, two backends.
 *
 * Every reply is a sequence of msgpack maps (records, rows, objects).  A
 * command hands them to the output chosen by --json: the text backend
 * prints aligned tables and "key: value" blocks sized for the terminal,
 * the JSON backend prints objects and arrays per CLI.md.  There is no
 * second code path per command.
 */
#ifndef SAMLOG_OUTPUT_H
#define SAMLOG_OUTPUT_H

#include <msgpack.h>
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

/* The backend for the --json choice. */
const struct output *output_pick(bool json);

/* Writes one msgpack value as JSON (shared by both backends' needs). */
void json_value(FILE *f, const msgpack_object *o);

/* The value of key in map m, or NULL. */
const msgpack_object *map_get(const msgpack_object *m, const char *key);

/* Display width of UTF-8 text: code points, not bytes. */
size_t utf8_width(const char *s, size_t n);

#endif
