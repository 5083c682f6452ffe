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
	size_t n = sl_record_encode(out, ev.hdr, ev.hdr_len, ev.sig, ev.salt,
	    ev.payload, ev.payload_len);
	if (n != size || memcmp(out, data, size) != 0)
		abort(); /* a decodable record with a second encoding */
	return 0;
}
