/*
 * output.c - the text backend: a "key: value" block with the values
 * aligned.  Fields are buffered until the block ends so the alignment can
 * be computed from the longest key.
 */
#include <string.h>

#include "output.h"

#define KV_MAX 32

static struct {
	const char *key[KV_MAX];
	const char *val[KV_MAX];
	size_t n;
} kv;

static void
text_obj_begin(FILE *f)
{
	(void)f;
	kv.n = 0;
}

static void
text_field_str(FILE *f, const char *key, const char *value)
{
	(void)f;
	if (kv.n < KV_MAX) {
		kv.key[kv.n] = key;
		kv.val[kv.n++] = value;
	}
}

static void
text_obj_end(FILE *f)
{
	int w = 0;

	for (size_t i = 0; i < kv.n; i++)
		if ((int)strlen(kv.key[i]) > w)
			w = (int)strlen(kv.key[i]);
	for (size_t i = 0; i < kv.n; i++)
		fprintf(f, "%s:%*s %s\n", kv.key[i],
		    w - (int)strlen(kv.key[i]), "", kv.val[i]);
	kv.n = 0;
}

const struct output output_text = {
	text_obj_begin,
	text_field_str,
	text_obj_end,
};

const struct output *
output_pick(bool json)
{
	return json ? &output_json : &output_text;
}
