/*
 * fuzz_import.c - libFuzzer target for samlog import's CSV and JSON Lines
 * parsers: a coordinator's spreadsheet is outside input.  The first byte
 * picks the format (and --kind for CSV); bad rows are counted, not
 * printed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = { NULL, "org", "contact", "meeting",
		"decision" };
	unsigned errors;

	if (size < 1)
		return 0;
	(void)import_parse("fuzz", (const char *)data + 1, size - 1,
	    data[0] & 1, kinds[(data[0] >> 1) % 5], &errors);
	return 0;
}
