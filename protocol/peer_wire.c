/*
 * peer_wire.c - the bodies of the peer protocol's frames (PROTOCOL.md
 * section 12), read and written with no session behind them: no socket,
 * no store, no state but the caller's.  The decoders trust nothing they
 * have not checked (every length, type and limit, and trailing bytes
 * where the protocol allows none), hand out pointers into the frame and
 * never allocate; they are what the daemon's frame handlers call and what
 * tests/fuzz/fuzz_peer drives.  The encoders write through a msgpack-c
 * packer, whose shortest forms are the ones the decoders demand.
 */
#include <stdio.h>
#include <string.h>

#include "samlog_proto.h"

/* ---- decoding ----------------------------------------------------------- */

int
sl_wire_vector(struct sl_mp *r, sl_peer_vec_fn fn, void *ctx)
{
	uint32_t n, three;
	int rc;

	if ((rc = sl_mp_read_array(r, &n, SL_PEER_VECTOR_MAX)) != SL_OK)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *k, *h;
		uint32_t klen, hlen;
		uint64_t seq;

		if ((rc = sl_mp_read_array(r, &three, 3)) != SL_OK)
			return rc;
		if (three != 3)
			return SL_EFIELDS;
		if ((rc = sl_mp_read_bin(r, &k, &klen, SL_KEY_LEN,
		    SL_KEY_LEN)) != SL_OK ||
		    (rc = sl_mp_read_uint(r, &seq)) != SL_OK ||
		    (rc = sl_mp_read_bin(r, &h, &hlen, SL_HASH_LEN,
		    SL_HASH_LEN)) != SL_OK)
			return rc;
		if ((rc = fn(ctx, k, seq, h)) != SL_OK)
			return rc;
	}
	return SL_OK;
}

int
sl_wire_hello(struct sl_mp *r, struct sl_peer_hello *out, sl_peer_vec_fn fn,
    void *ctx)
{
	uint32_t n;
	int rc;

	*out = (struct sl_peer_hello){ 0 };
	if (sl_mp_read_map(r, &n, 16) != SL_OK)
		return SL_ETYPE;
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *v;
		uint32_t klen, vlen;

		if ((rc = sl_mp_read_str(r, &k, &klen, 1, 32)) != SL_OK)
			return rc;
		if (klen == 7 && memcmp(k, "version", 7) == 0) {
			rc = sl_mp_read_uint(r, &out->version);
		} else if (klen == 3 && memcmp(k, "org", 3) == 0) {
			if ((rc = sl_mp_read_str(r, &v, &vlen, 0,
			    SL_ORG_MAX)) == SL_OK && sl_utf8_valid(v, vlen))
				snprintf(out->org, sizeof out->org, "%.*s",
				    (int)vlen, v);
		} else if (klen == 6 && memcmp(k, "refill", 6) == 0) {
			rc = sl_mp_read_bool(r, &out->refill);
		} else if (klen == 6 && memcmp(k, "vector", 6) == 0 &&
		    !out->have_vec) {
			rc = sl_wire_vector(r, fn, ctx);
			out->have_vec = true;
		} else {
			rc = sl_mp_skip(r, NULL, NULL); /* a later version's */
		}
		if (rc != SL_OK)
			return rc;
	}
	return SL_OK;
}

int
sl_wire_records(struct sl_mp *r, uint32_t n, const uint8_t **recs,
    size_t *lens)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len;
		int rc;

		if ((rc = sl_mp_read_bin(r, &recs[i], &len, 1, SL_EVENT_MAX)) !=
		    SL_OK)
			return rc;
		lens[i] = len;
	}
	return sl_mp_at_end(r) ? SL_OK : SL_ETRAIL;
}

void
sl_wire_bye(struct sl_mp *r, char *why, size_t len)
{
	uint32_t n, klen, vlen;
	const char *k, *v;

	snprintf(why, len, "no reason given");
	if (sl_mp_read_map(r, &n, 4) == SL_OK && n >= 1 &&
	    sl_mp_read_str(r, &k, &klen, 1, 32) == SL_OK &&
	    sl_mp_read_str(r, &v, &vlen, 0, SL_PEER_BYE_MAX) == SL_OK &&
	    sl_utf8_valid(v, vlen))
		snprintf(why, len, "%.*s", (int)vlen, v);
}

/* The header of rec, opened into h past its array's length, and whether
 * rec carries a signature; false if that much does not decode. */
static bool
header_open(const uint8_t *rec, size_t len, struct sl_mp *h, bool *is_signed)
{
	struct sl_mp r;
	const uint8_t *hdr;
	uint32_t n, hlen;

	sl_mp_init(&r, rec, len);
	if (sl_mp_read_array(&r, &n, 3) != SL_OK || n != 3 ||
	    sl_mp_read_bin(&r, &hdr, &hlen, 1, SL_HEADER_MAX) != SL_OK)
		return false;
	*is_signed = !sl_mp_peek_nil(&r);
	sl_mp_init(h, hdr, hlen);
	return sl_mp_read_array(h, &n, 10) == SL_OK && n == 10;
}

bool
sl_wire_peek(const uint8_t *rec, size_t len, const uint8_t **origin,
    uint64_t *seq, bool *is_signed)
{
	struct sl_mp h;
	uint32_t olen;
	uint64_t version;

	return header_open(rec, len, &h, is_signed) &&
	    sl_mp_read_uint(&h, &version) == SL_OK &&
	    sl_mp_read_bin(&h, origin, &olen, SL_KEY_LEN, SL_KEY_LEN) ==
	    SL_OK && sl_mp_read_uint(&h, seq) == SL_OK;
}

bool
sl_wire_peek_type(const uint8_t *rec, size_t len, const char **type,
    uint32_t *type_len)
{
	struct sl_mp h;
	const uint8_t *origin, *prev;
	const char *author;
	uint32_t olen, plen, alen;
	uint64_t version, seq, hlc;
	bool sgn;

	return header_open(rec, len, &h, &sgn) &&
	    sl_mp_read_uint(&h, &version) == SL_OK &&
	    sl_mp_read_bin(&h, &origin, &olen, SL_KEY_LEN, SL_KEY_LEN) ==
	    SL_OK && sl_mp_read_uint(&h, &seq) == SL_OK &&
	    (sl_mp_read_nil(&h) || sl_mp_read_bin(&h, &prev, &plen,
	    SL_HASH_LEN, SL_HASH_LEN) == SL_OK) &&
	    sl_mp_read_uint(&h, &hlc) == SL_OK &&
	    sl_mp_read_str(&h, &author, &alen, 0, SL_AUTHOR_MAX) == SL_OK &&
	    sl_mp_read_str(&h, type, type_len, 1, SL_TYPE_MAX) == SL_OK;
}

/* ---- encoding ------------------------------------------------------------ */

void
sl_wire_pack_hello(msgpack_packer *pk, const char *org, uint32_t nvec)
{
	msgpack_pack_map(pk, 4);
	sl_pack_cstr(pk, "version");
	msgpack_pack_uint64(pk, SL_PEER_VERSION);
	sl_pack_cstr(pk, "org");
	sl_pack_cstr(pk, org);
	sl_pack_cstr(pk, "refill");
	msgpack_pack_true(pk);
	sl_pack_cstr(pk, "vector");
	msgpack_pack_array(pk, nvec);
}

void
sl_wire_pack_entry(msgpack_packer *pk, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq, const uint8_t hash[SL_HASH_LEN])
{
	msgpack_pack_array(pk, 3);
	sl_pack_bin(pk, origin, SL_KEY_LEN);
	msgpack_pack_uint64(pk, seq);
	sl_pack_bin(pk, hash, SL_HASH_LEN);
}

void
sl_wire_pack_events(msgpack_packer *pk, const uint8_t *const *recs,
    const size_t *lens, size_t n)
{
	msgpack_pack_array(pk, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		sl_pack_bin(pk, recs[i], lens[i]);
}

void
sl_wire_pack_bye(msgpack_packer *pk, const char *why)
{
	size_t len = strlen(why);

	msgpack_pack_map(pk, 1);
	sl_pack_cstr(pk, "reason");
	sl_pack_str(pk, why, len > SL_PEER_BYE_MAX ? SL_PEER_BYE_MAX : len);
}

void
sl_wire_pack_join(msgpack_packer *pk, const char *name,
    const uint8_t secret[SL_JOIN_SECRET_LEN])
{
	msgpack_pack_map(pk, 2);
	sl_pack_cstr(pk, "name");
	sl_pack_cstr(pk, name);
	sl_pack_cstr(pk, "secret");
	sl_pack_bin(pk, secret, SL_JOIN_SECRET_LEN);
}

int
sl_wire_join(struct sl_mp *r, char name[SL_ORG_MAX + 1],
    uint8_t secret[SL_JOIN_SECRET_LEN])
{
	uint32_t n, kl, nl, sl;
	const char *k, *nm;
	const uint8_t *sec;
	int rc;

	if ((rc = sl_mp_read_map(r, &n, 2)) != SL_OK)
		return rc;
	if (n != 2)
		return SL_EINVAL;
	if ((rc = sl_mp_read_str(r, &k, &kl, 4, 4)) != SL_OK ||
	    memcmp(k, "name", 4) != 0 ||
	    (rc = sl_mp_read_str(r, &nm, &nl, 1, SL_ORG_MAX)) != SL_OK ||
	    (rc = sl_mp_read_str(r, &k, &kl, 6, 6)) != SL_OK ||
	    memcmp(k, "secret", 6) != 0 ||
	    (rc = sl_mp_read_bin(r, &sec, &sl, SL_JOIN_SECRET_LEN,
	    SL_JOIN_SECRET_LEN)) != SL_OK)
		return rc != SL_OK ? rc : SL_EINVAL;
	memcpy(name, nm, nl);
	name[nl] = '\0';
	if (!sl_org_valid(name))
		return SL_EINVAL;
	memcpy(secret, sec, SL_JOIN_SECRET_LEN);
	return sl_mp_at_end(r) ? SL_OK : SL_ETRAIL;
}
