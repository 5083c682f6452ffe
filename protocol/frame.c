/*
 * frame.c - the fixed header in front of every control and peer message.
 *
 * Fixed-size and checked before a single body byte is buffered: a client
 * that announces more than the cap is refused at the header, so a
 * malformed or hostile frame never makes the daemon allocate for it.
 */
#include "samlog_proto.h"

static const char *const msg_names[SL_MSG_COUNT] = {
	[SL_MSG_REQUEST] = "request",
	[SL_MSG_RECORD] = "record",
	[SL_MSG_END] = "end",
	[SL_MSG_RESULT] = "result",
};

const char *
sl_msg_name(int type)
{
	if (type <= 0 || type >= SL_MSG_COUNT)
		return "unknown";
	return msg_names[type];
}

void
sl_frame_hdr_encode(uint8_t out[SL_FRAME_HDR], const struct sl_frame_hdr *h)
{
	out[0] = h->version;
	out[1] = h->type;
	out[2] = (uint8_t)(h->flags >> 8);
	out[3] = (uint8_t)h->flags;
	for (int i = 0; i < 4; i++) {
		out[4 + i] = (uint8_t)(h->id >> (24 - 8 * i));
		out[8 + i] = (uint8_t)(h->len >> (24 - 8 * i));
	}
}

int
sl_frame_hdr_decode(struct sl_frame_hdr *h, const uint8_t in[SL_FRAME_HDR],
    uint32_t max)
{
	return sl_frame_hdr_decode_n(h, in, max, SL_MSG_COUNT);
}

int
sl_frame_hdr_decode_n(struct sl_frame_hdr *h, const uint8_t in[SL_FRAME_HDR],
    uint32_t max, unsigned ntypes)
{
	h->version = in[0];
	h->type = in[1];
	h->flags = (uint16_t)(in[2] << 8 | in[3]);
	h->id = (uint32_t)sl_get_be(in + 4, 4);
	h->len = (uint32_t)sl_get_be(in + 8, 4);
	if (h->version != SL_CTL_VERSION)
		return SL_EVERSION;
	if (h->type == 0 || h->type >= ntypes)
		return SL_ETYPE;
	if (h->flags != 0)
		return SL_EVALUE;
	if (h->len > max)
		return SL_ESIZE;
	return SL_OK;
}
