/*
 * fuzz_fork.c - libFuzzer target for the fork proof reader (PROTOCOL.md
 * 16), which every fork.proof payload from a peer passes through (the
 * content rules): whatever the input, as a whole payload or as the value
 * of "proof", reading it must return a code without reading out of
 * bounds (ASan) or hitting undefined behaviour (UBSan), and the content
 * rules must agree with the decoder on what is a proof.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "samlog_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_fork f;
	char why[200];
	int dec, rule;

	if (size > SL_PAYLOAD_MAX)
		return 0;
	(void)sl_fork_check(data, size, &f, why, sizeof why);
	dec = sl_fork_decode(data, size, &f);
	rule = sl_schema_check_event(SL_FORK_TYPE, strlen(SL_FORK_TYPE), NULL,
	    0, data, size, 1, why, sizeof why);
	if (dec == SL_OK && rule != SL_OK)
		abort(); /* a proof the content rules refuse */
	return 0;
}
