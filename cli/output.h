/*
 * output.h - how results reach stdout: one interface, two backends.
 *
 * A command describes what it prints (an object of key/value pairs) through
 * struct output; `--json` picks the JSON backend instead of the aligned
 * text one, so there is no second code path per command.
 */
#ifndef SAMLOG_OUTPUT_H
#define SAMLOG_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

struct output {
	/* Starts one object (a key: value block, or a JSON object). */
	void (*obj_begin)(FILE *f);
	/* One string field. */
	void (*field_str)(FILE *f, const char *key, const char *value);
	void (*obj_end)(FILE *f);
};

extern const struct output output_text;
extern const struct output output_json;

/* The backend for the --json choice. */
const struct output *output_pick(bool json);

#endif
