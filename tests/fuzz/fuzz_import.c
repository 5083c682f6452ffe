/*
 * fuzz_import.c - libFuzzer target for samlog import's CSV and JSON Lines
 * parsers: a coordinator's spreadsheet is outside input.  The first byte
 * picks the format (and --kind for CSV); bad rows are counted, not
 * printed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "import.h"
#include "records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *const *kinds = records_words();
	size_t n = 0;
	unsigned errors, pick;

	if (size < 1)
		return 0;
	while (kinds[n] != NULL)
		n++;
	/* No --kind, or one of the schema's record kinds. */
	pick = (unsigned)(data[0] >> 1) % (unsigned)(n + 1);
	(void)import_parse("fuzz", (const char *)data + 1, size - 1,
	    data[0] & 1, pick == 0 ? NULL : kinds[pick - 1], &errors);
	return 0;
}
