/*
 * checkpoint.c - the payload of a checkpoint event (PROTOCOL.md 15).
 *
 * A node says, in an event of its own chain, which tips it holds: the
 * (origin, seq, hash) of every member's chain.  Another organisation's
 * node that holds a different event at one of those seqs then holds proof
 * that someone showed two histories; an auditor with a bundle holds proof
 * that the bundle's chains were seen by others as they are.  One reader
 * serves the content rules (at write and at ingest), the daemon's
 * projection and the bundle checker, so that all three refuse the same
 * payloads.  Origins and hashes are bin(32): the canonical byte form, and
 * the shortest, so 512 tips fit in one payload.
 */
#include <stdlib.h>
#include <string.h>

#include "samlog_proto.h"

int
sl_ckpt_encode(struct sl_buf *g, const struct sl_ckpt_tip *tips, size_t n)
{
	msgpack_packer pk;

	if (n > SL_CKPT_MAX)
		return SL_EINVAL;
	for (size_t i = 1; i < n; i++)
		if (memcmp(tips[i - 1].origin, tips[i].origin, SL_KEY_LEN) >= 0)
			return SL_EINVAL;
	msgpack_packer_init(&pk, g, sl_buf_write);
	msgpack_pack_map(&pk, 1);
	sl_pack_cstr(&pk, "tips");
	msgpack_pack_array(&pk, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		msgpack_pack_array(&pk, 3);
		sl_pack_bin(&pk, tips[i].origin, SL_KEY_LEN);
		msgpack_pack_uint64(&pk, tips[i].seq);
		sl_pack_bin(&pk, tips[i].hash, SL_HASH_LEN);
	}
	return g->failed ? SL_ENOMEM : SL_OK;
}

/* Reads the tips list at m, each into out[i] when out is not NULL. */
static int
read_tips(struct sl_mp *m, struct sl_ckpt_tip *out, uint32_t *np, char *w,
    size_t wlen)
{
	const uint8_t *prev = NULL, *o, *h;
	uint32_t n, k, ol, hl;
	uint64_t seq;
	int rc;

	if ((rc = sl_mp_read_array(m, &n, SL_CKPT_MAX)) != SL_OK)
		return sl_why(w, wlen, "is not a list of at most %d tips (%s)",
		    SL_CKPT_MAX, sl_strerror(rc));
	for (uint32_t i = 0; i < n; i++) {
		if (sl_mp_read_array(m, &k, 3) != SL_OK || k != 3)
			return sl_why(w, wlen, "tip %u is not [origin, seq, hash]",
			    i + 1);
		if (sl_mp_read_bin(m, &o, &ol, SL_KEY_LEN, SL_KEY_LEN) != SL_OK)
			return sl_why(w, wlen, "tip %u: the origin is not 32 "
			    "bytes", i + 1);
		if (sl_mp_read_uint(m, &seq) != SL_OK || seq == 0)
			return sl_why(w, wlen, "tip %u: the seq is not a positive "
			    "integer", i + 1);
		if (sl_mp_read_bin(m, &h, &hl, SL_HASH_LEN, SL_HASH_LEN) !=
		    SL_OK)
			return sl_why(w, wlen, "tip %u: the hash is not 32 bytes",
			    i + 1);
		/* Sorted and distinct in one comparison: a repeat is not
		 * above the one before it either. */
		if (prev != NULL && memcmp(prev, o, SL_KEY_LEN) >= 0)
			return sl_why(w, wlen, "tip %u is not after the one before "
			    "(ascending by origin, each origin once)", i + 1);
		prev = o;
		if (out != NULL) {
			memcpy(out[i].origin, o, SL_KEY_LEN);
			out[i].seq = seq;
			memcpy(out[i].hash, h, SL_HASH_LEN);
		}
	}
	*np = n;
	return SL_OK;
}

int
sl_ckpt_check_tips(const uint8_t *v, size_t len, char *w, size_t wlen)
{
	struct sl_mp m;
	uint32_t n;
	int rc;

	sl_mp_init(&m, v, len);
	if ((rc = read_tips(&m, NULL, &n, w, wlen)) != SL_OK)
		return rc;
	if (!sl_mp_at_end(&m))
		return sl_why(w, wlen, "has bytes after its value");
	return SL_OK;
}

int
sl_ckpt_decode(const uint8_t *payload, size_t plen,
    struct sl_ckpt_tip **tips, size_t *np)
{
	struct sl_mp m, probe;
	struct sl_ckpt_tip *t = NULL;
	const char *k;
	uint32_t n, kl, cnt = 0;

	*tips = NULL;
	*np = 0;
	if (payload == NULL)
		return SL_ESCHEMA;
	sl_mp_init(&m, payload, plen);
	/* Exactly {"tips": [...]}: the content rules let a later version
	 * add fields, but this version reads only a payload it fully
	 * knows. */
	if (sl_mp_read_map(&m, &n, 1) != SL_OK || n != 1 ||
	    sl_mp_read_str(&m, &k, &kl, 4, 4) != SL_OK ||
	    memcmp(k, "tips", 4) != 0)
		return SL_ESCHEMA;
	probe = m;
	if (sl_mp_read_array(&probe, &cnt, SL_CKPT_MAX) != SL_OK)
		return SL_ESCHEMA;
	if (cnt > 0 && (t = calloc(cnt, sizeof *t)) == NULL)
		return SL_ENOMEM;
	if (read_tips(&m, t, &n, NULL, 0) != SL_OK || !sl_mp_at_end(&m)) {
		free(t);
		return SL_ESCHEMA;
	}
	*tips = t;
	*np = n;
	return SL_OK;
}
