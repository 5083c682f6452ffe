/*
 * output_json.c - the JSON backend.  Strings are escaped per RFC 8259;
 * UTF-8 passes through unchanged, control characters become \u00XX.
 */
#include "output.h"

static bool json_first;

static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void
json_obj_begin(FILE *f)
{
	fputc('{', f);
	json_first = true;
}

static void
json_field_str(FILE *f, const char *key, const char *value)
{
	if (!json_first)
		fputs(", ", f);
	json_first = false;
	json_string(f, key);
	fputs(": ", f);
	json_string(f, value);
}

static void
json_obj_end(FILE *f)
{
	fputs("}\n", f);
}

const struct output output_json = {
	json_obj_begin,
	json_field_str,
	json_obj_end,
};
