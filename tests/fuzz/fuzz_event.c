/*
 * fuzz_event.c - libFuzzer target for the event decoder, the one parser
 * every byte from a peer passes through.  Whatever the input, decoding
 * must return a code without reading out of bounds (ASan) or hitting
 * undefined behaviour (UBSan); a record that decodes must also survive
 * hashing, the payload check and signature verification, and re-encoding
 * its fields must give back the very same bytes (canonical form).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "samlog_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[SL_EVENT_MAX];
	struct sl_event ev;
	uint8_t h[SL_HASH_LEN];

	if (sl_event_decode(&ev, data, size) != SL_OK)
		return 0;
	sl_event_hash(h, &ev);
	(void)sl_event_check_payload(&ev);
	if (ev.sig != NULL)
		(void)sl_verify_hash(ev.sig, ev.origin, h);
	/* Field commitments (PROTOCOL.md 5.1): what readers make of them. */
	{
		const char *keys[SL_OPENS_MAX];
		uint32_t kl[SL_OPENS_MAX];
		char why[200];

		(void)sl_event_erased(&ev, keys, kl, SL_OPENS_MAX);
		(void)sl_schema_check_opens(ev.type, ev.type_len, ev.opens,
		    ev.opens_len, why, sizeof why);
	}
	size_t n = sl_record_reopen(out, &ev, ev.opens, ev.opens_len);
	if (n != size || memcmp(out, data, size) != 0)
		abort(); /* a decodable record with a second encoding */
	return 0;
}
