/*
 * output_json.c - the JSON backend.  Maps become objects, arrays arrays;
 * strings are escaped per RFC 8259 (UTF-8 passes through, control
 * characters become \u00XX).  Lists print one array, everything else one
 * object, each on its own line.
 */
#include <inttypes.h>

#include "output.h"

static enum out_mode json_mode;
static size_t json_count;

static void
json_string(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

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
		fprintf(f, "%.17g", o->via.f64);
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
	case MSGPACK_OBJECT_MAP:
		fputc('{', f);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];

			if (i)
				fputs(", ", f);
			if (kv->key.type == MSGPACK_OBJECT_STR)
				json_string(f, kv->key.via.str.ptr,
				    kv->key.via.str.size);
			else
				json_string(f, "?", 1);
			fputs(": ", f);
			json_value(f, &kv->val);
		}
		fputc('}', f);
		break;
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
