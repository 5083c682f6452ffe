/*
 * output_json.c - the JSON backend.  Maps become objects, arrays arrays;
 * strings are escaped per RFC 8259, and further so that JSON printed on a
 * terminal is safe there too: every C0 control, DEL and C1 control
 * (U+0080-U+009F) becomes \u00XX (\n, \r, \t and the quote and
 * backslash their short forms), other UTF-8 passes through, and each byte
 * of invalid UTF-8 becomes \ufffd (the replacement character), so the
 * output is always valid UTF-8.  A map entry whose key is not a string is
 * left out (JSON has no other keys).  Lists print one array, everything
 * else one object, each on its own line.
 */
#include <inttypes.h>
#include <math.h>

#include "output.h"

static enum out_mode json_mode;

static void json_string(FILE *f, const char *s, size_t n);
static size_t json_count;

void
json_text(FILE *f, const char *s, size_t n)
{
	json_string(f, s, n);
}

static void
json_string(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t k;

		if (c >= 0x80) {
			if ((k = utf8_seq(s + i, n - i, &cp)) == 0) {
				fputs("\\ufffd", f);
				k = 1;
			} else if (cp <= 0x9f) {
				fprintf(f, "\\u%04x", (unsigned)cp);
			} else {
				fwrite(s + i, 1, k, f);
			}
			i += k;
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
		i++;
	}
	fputc('"', f);
}

void
json_value(FILE *f, const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		fputs("null", f);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(o->via.boolean ? "true" : "false", f);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(f, "%" PRIu64, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fprintf(f, "%" PRId64, o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isfinite(o->via.f64))
			fprintf(f, "%.17g", o->via.f64);
		else
			fputs("null", f);   /* JSON has no NaN or infinity */
		break;
	case MSGPACK_OBJECT_STR:
		json_string(f, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		json_string(f, o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		fputc('[', f);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				fputs(", ", f);
			json_value(f, &o->via.array.ptr[i]);
		}
		fputc(']', f);
		break;
	case MSGPACK_OBJECT_MAP: {
		const char *k;
		size_t kl;
		bool first = true;

		fputc('{', f);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];

			if (!map_key(kv, &k, &kl))
				continue;
			if (!first)
				fputs(", ", f);
			first = false;
			json_string(f, k, kl);
			fputs(": ", f);
			json_value(f, &kv->val);
		}
		fputc('}', f);
		break;
	}
	default:
		fputs("null", f);
	}
}

static void
json_begin(FILE *f, enum out_mode mode, const char *table)
{
	(void)table;
	json_mode = mode;
	json_count = 0;
	if (mode == OUT_LIST)
		fputc('[', f);
}

static void
json_record(FILE *f, const msgpack_object *rec)
{
	if (json_mode == OUT_LIST) {
		fputs(json_count ? ",\n " : "", f);
	} else if (json_count > 0) {
		return; /* one object only */
	}
	json_value(f, rec);
	json_count++;
	if (json_mode != OUT_LIST)
		fputc('\n', f);
}

static void
json_end(FILE *f)
{
	if (json_mode == OUT_LIST)
		fputs("]\n", f);
}

const struct output output_json = {
	json_begin,
	json_record,
	json_end,
};
