/*
 * fuzz_events.c - libFuzzer target for samlog verify --file: a raw event
 * export is a file from anywhere, checked by an auditor's CLI.  Whatever
 * the bytes, the check must end in a verdict, and a refusal says why.
 *
 * First byte even: the rest is a whole file.  Odd: the rest is what
 * follows the magic up to the trailer (a head and records), which is
 * framed here with the magic and a trailer that counts and hashes it
 * right, so that the fuzzer gets past the frame into the records, the
 * chains and the fold.
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "samlog_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	struct sl_buf b = { 0 };
	struct sl_mp m;
	uint64_t count = 0;
	uint32_t n;

	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		if (!events_check_buffer(data + 1, size - 1, err, sizeof err) &&
		    err[0] == '\0')
			abort();
		return 0;
	}
	/* The bins after the head are the records: count them. */
	sl_mp_init(&m, data + 1, size - 1);
	if (sl_mp_read_array(&m, &n, 16) == SL_OK) {
		const uint8_t *p;
		uint32_t l;

		for (uint32_t i = 0; i < n; i++)
			if (sl_mp_skip(&m, NULL, NULL) != SL_OK)
				break;
		while (sl_mp_read_bin(&m, &p, &l, 0, UINT32_MAX) == SL_OK)
			count++;
	}
	sl_buf_write(&b, SL_EVFILE_MAGIC, SL_EVFILE_MAGIC_LEN);
	sl_buf_write(&b, (const char *)data + 1, size - 1);
	sl_evfile_end(&b, count);
	if (!b.failed && !events_check_buffer(b.p, b.len, err, sizeof err) &&
	    err[0] == '\0')
		abort();
	free(b.p);
	return 0;
}
