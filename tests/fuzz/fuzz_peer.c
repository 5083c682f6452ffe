/*
 * fuzz_peer.c - libFuzzer target for what a peer sends after the TLS
 * handshake: the 12-byte frame header, then the body of each frame type
 * through the same wire decoders the handlers use (sl_wire_*, in
 * protocol/peer_wire.c: this target links the protocol library alone),
 * and each record of an EVENTS frame through the peek and the full event
 * decoder.
 * Input: one byte choosing how to read the rest (a whole frame with its
 * header, or a bare body of HELLO, HAVE, EVENTS or BYE).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "samlog_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
vec_entry(void *ctx, const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    const uint8_t hash[SL_HASH_LEN])
{
	uint64_t *n = ctx;

	/* Touch every byte handed out: ASan checks they are in the input. */
	*n += seq + origin[0] + origin[SL_KEY_LEN - 1] + hash[0] +
	    hash[SL_HASH_LEN - 1];
	return SL_OK;
}

static void
body(uint8_t type, const uint8_t *p, size_t n)
{
	struct sl_mp r;
	uint64_t sum = 0;
	char why[200];

	sl_mp_init(&r, p, n);
	switch (type) {
	case SL_PEER_HELLO: {
		struct sl_peer_hello h;

		if (sl_wire_hello(&r, &h, vec_entry, &sum) == SL_OK &&
		    strlen(h.org) > SL_ORG_MAX)
			abort();
		break;
	}
	case SL_PEER_HAVE:
	case SL_PEER_WANT:
		(void)sl_wire_vector(&r, vec_entry, &sum);
		break;
	case SL_PEER_EVENTS:
	case SL_PEER_WHOLE: {
		uint32_t k;
		const uint8_t **recs;
		size_t *lens;

		if (sl_mp_read_array(&r, &k, SL_PEER_FRAME_MAX) != SL_OK ||
		    k == 0 || k > n)
			break;
		recs = calloc(k, sizeof *recs);
		lens = calloc(k, sizeof *lens);
		if (recs != NULL && lens != NULL &&
		    sl_wire_records(&r, k, recs, lens) == SL_OK) {
			for (uint32_t i = 0; i < k; i++) {
				const uint8_t *o;
				uint64_t seq;
				bool sgn;
				struct sl_event ev;

				if (sl_wire_peek(recs[i], lens[i], &o, &seq,
				    &sgn))
					sum += o[0] + seq;
				if (sl_event_decode(&ev, recs[i], lens[i]) ==
				    SL_OK && sl_event_check_payload(&ev) ==
				    SL_OK)
					sum++;
			}
		}
		free(recs);
		free(lens);
		break;
	}
	case SL_PEER_BYE:
		sl_wire_bye(&r, why, sizeof why);
		if (!sl_utf8_valid(why, strlen(why)))
			abort(); /* what goes to the log must be clean */
		break;
	default:
		break;
	}
	(void)sum;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_frame_hdr h;

	if (size < 1)
		return 0;
	if (data[0] < 0x80) {
		body((uint8_t)(data[0] % SL_PEER_COUNT), data + 1, size - 1);
		return 0;
	}
	/* A frame: header, then exactly its body. */
	if (size - 1 < SL_FRAME_HDR ||
	    sl_frame_hdr_decode_n(&h, data + 1, SL_PEER_FRAME_MAX,
	    SL_PEER_COUNT) != SL_OK || h.len != size - 1 - SL_FRAME_HDR)
		return 0;
	body(h.type, data + 1 + SL_FRAME_HDR, h.len);
	return 0;
}
