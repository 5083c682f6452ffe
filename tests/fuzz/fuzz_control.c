/*
 * fuzz_control.c - libFuzzer target for what a local client sends to the
 * control socket: the frame header and the request body, decoded as the
 * daemon decodes them before acting (cmd_parse_request).  A refusal must
 * come with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "samlog_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_frame_hdr h;
	char msg[512] = "";
	int rc;

	if (size >= SL_FRAME_HDR && sl_frame_hdr_decode(&h, data,
	    SL_CTL_FRAME_MAX) == SL_OK && h.len == size - SL_FRAME_HDR) {
		data += SL_FRAME_HDR;
		size -= SL_FRAME_HDR;
	}
	rc = cmd_parse_request(data, size, msg, sizeof msg);
	if (rc != SL_OK && (msg[0] == '\0' || !sl_utf8_valid(msg, strlen(msg))))
		abort(); /* every refusal says why, in clean text */
	return 0;
}
