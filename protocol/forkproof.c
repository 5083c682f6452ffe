/*
 * forkproof.c - the payload of a fork proof (PROTOCOL.md 16).
 *
 * A node that holds two signed histories of one origin says so, in an
 * event of its own chain, with only what proves it: for each history the
 * headers from the forked seq up to the first signed one, and that
 * signature.  Anyone holding the origin's key (it is in the proof) checks
 * it without the events themselves, so the proof travels like any event
 * and no body (personal data) goes with it.  One reader serves the content
 * rules (at write and at ingest), the daemon's projection and any offline
 * checker, so that all of them refuse the same payloads.
 */
#include <stdlib.h>
#include <string.h>

#include "samlog_proto.h"

/*
 * Checks one run: every header decodes, is origin's, follows the one
 * before it (seq + 1, prev its hash), the first is at seq or seq + 1, and
 * sig is origin's signature on the last.  named receives the hash the run
 * gives seq.  k (1 or 2) names the run in why.
 */
static int
run_check(const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    const struct sl_fork_run *r, int k, uint8_t named[SL_HASH_LEN], char *w,
    size_t wlen)
{
	uint8_t h[SL_HASH_LEN] = { 0 };
	uint64_t at = 0;

	if (r->n == 0 || r->n > SL_FORK_RUN_MAX)
		return sl_why(w, wlen, "run %d holds %zu headers (1 to %d)", k,
		    r->n, SL_FORK_RUN_MAX);
	if (r->sig == NULL)
		return sl_why(w, wlen, "run %d has no signature", k);
	for (size_t i = 0; i < r->n; i++) {
		struct sl_event ev;
		int rc = sl_header_decode(&ev, r->hdr[i], r->hdr_len[i]);

		if (rc != SL_OK)
			return sl_why(w, wlen, "run %d: header %zu does not decode "
			    "(%s)", k, i + 1, sl_strerror(rc));
		if (memcmp(ev.origin, origin, SL_KEY_LEN) != 0)
			return sl_why(w, wlen, "run %d: header %zu is another "
			    "origin's", k, i + 1);
		if (i == 0) {
			if (ev.seq == seq) {
				sl_event_hash(named, &ev);
			} else if (seq < UINT64_MAX && ev.seq == seq + 1) {
				memcpy(named, ev.prev, SL_HASH_LEN);
			} else {
				return sl_why(w, wlen, "run %d starts at seq %llu, "
				    "not at the proof's seq %llu or the one "
				    "after it", k, (unsigned long long)ev.seq,
				    (unsigned long long)seq);
			}
		} else if (ev.seq != at + 1 ||
		    memcmp(ev.prev, h, SL_HASH_LEN) != 0) {
			return sl_why(w, wlen, "run %d: header %zu does not follow "
			    "the one before it", k, i + 1);
		}
		at = ev.seq;
		sl_event_hash(h, &ev);
	}
	if (!sl_verify_hash(r->sig, origin, h))
		return sl_why(w, wlen, "run %d: the signature is not the origin's "
		    "on its last header", k);
	return SL_OK;
}

/* The two runs name different hashes for seq, the lower one first. */
static int
pair_check(const uint8_t n1[SL_HASH_LEN], const uint8_t n2[SL_HASH_LEN],
    char *w, size_t wlen)
{
	int c = memcmp(n1, n2, SL_HASH_LEN);

	if (c == 0)
		return sl_why(w, wlen, "both runs name the same event for the "
		    "seq: no fork");
	if (c > 0)
		return sl_why(w, wlen, "the runs are not in order (the lower hash "
		    "first)");
	return SL_OK;
}

static void
pack_run(msgpack_packer *pk, const struct sl_fork_run *r)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_array(pk, (uint32_t)r->n);
	for (size_t i = 0; i < r->n; i++)
		sl_pack_bin(pk, r->hdr[i], r->hdr_len[i]);
	sl_pack_bin(pk, r->sig, SL_SIG_LEN);
}

int
sl_fork_encode(struct sl_buf *g, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq, const struct sl_fork_run *a, const struct sl_fork_run *b,
    char *w, size_t wlen)
{
	uint8_t na[SL_HASH_LEN], nb[SL_HASH_LEN];
	msgpack_packer pk;
	size_t start = g->len;
	int rc;

	if (seq == 0)
		return sl_why(w, wlen, "seq 0 is no seq");
	if ((rc = run_check(origin, seq, a, 1, na, w, wlen)) != SL_OK ||
	    (rc = run_check(origin, seq, b, 2, nb, w, wlen)) != SL_OK)
		return rc;
	if (memcmp(na, nb, SL_HASH_LEN) == 0)
		return pair_check(na, nb, w, wlen);
	if (memcmp(na, nb, SL_HASH_LEN) > 0) {
		const struct sl_fork_run *t = a;

		a = b;
		b = t;
	}
	msgpack_packer_init(&pk, g, sl_buf_write);
	msgpack_pack_map(&pk, 1);
	sl_pack_cstr(&pk, "proof");
	msgpack_pack_array(&pk, 4);
	sl_pack_bin(&pk, origin, SL_KEY_LEN);
	msgpack_pack_uint64(&pk, seq);
	pack_run(&pk, a);
	pack_run(&pk, b);
	if (g->failed)
		return SL_ENOMEM;
	if (g->len - start > SL_PAYLOAD_MAX) {
		sl_why(w, wlen, "the proof takes %zu bytes, more than a payload "
		    "may (%d)", g->len - start, SL_PAYLOAD_MAX);
		return SL_ESIZE;
	}
	return SL_OK;
}

/* Reads one run at m into r (pointers into m's bytes). */
static int
run_read(struct sl_mp *m, struct sl_fork_run *r, int k, char *w, size_t wlen)
{
	uint32_t n, l;
	const uint8_t *sig;

	if (sl_mp_read_array(m, &n, 2) != SL_OK || n != 2)
		return sl_why(w, wlen, "run %d is not [headers, signature]", k);
	if (sl_mp_read_array(m, &n, SL_FORK_RUN_MAX) != SL_OK || n == 0)
		return sl_why(w, wlen, "run %d: the headers are not a list of 1 to "
		    "%d", k, SL_FORK_RUN_MAX);
	r->n = n;
	for (uint32_t i = 0; i < n; i++) {
		if (sl_mp_read_bin(m, &r->hdr[i], &l, 1, SL_HEADER_MAX) !=
		    SL_OK)
			return sl_why(w, wlen, "run %d: header %u is not 1 to %d "
			    "bytes", k, i + 1, SL_HEADER_MAX);
		r->hdr_len[i] = l;
	}
	if (sl_mp_read_bin(m, &sig, &l, SL_SIG_LEN, SL_SIG_LEN) != SL_OK)
		return sl_why(w, wlen, "run %d: the signature is not %d bytes", k,
		    SL_SIG_LEN);
	r->sig = sig;
	return SL_OK;
}

int
sl_fork_check(const uint8_t *v, size_t len, struct sl_fork *out, char *w,
    size_t wlen)
{
	struct sl_fork_run *r;
	struct sl_fork f;
	struct sl_mp m;
	const uint8_t *o;
	uint32_t n, ol;
	int rc;

	sl_mp_init(&m, v, len);
	if (sl_mp_read_array(&m, &n, 4) != SL_OK || n != 4)
		return sl_why(w, wlen, "is not [origin, seq, run, run]");
	if (sl_mp_read_bin(&m, &o, &ol, SL_KEY_LEN, SL_KEY_LEN) != SL_OK)
		return sl_why(w, wlen, "the origin is not 32 bytes");
	if (sl_mp_read_uint(&m, &f.seq) != SL_OK || f.seq == 0)
		return sl_why(w, wlen, "the seq is not a positive integer");
	memcpy(f.origin, o, SL_KEY_LEN);
	/* Two runs of SL_FORK_RUN_MAX pointers are too many for a small
	 * stack. */
	if ((r = calloc(2, sizeof *r)) == NULL)
		return sl_why(w, wlen, "out of memory");
	if ((rc = run_read(&m, &r[0], 1, w, wlen)) == SL_OK &&
	    (rc = run_read(&m, &r[1], 2, w, wlen)) == SL_OK) {
		if (!sl_mp_at_end(&m))
			rc = sl_why(w, wlen, "has bytes after its value");
		else if ((rc = run_check(f.origin, f.seq, &r[0], 1, f.hash[0],
		    w, wlen)) == SL_OK &&
		    (rc = run_check(f.origin, f.seq, &r[1], 2, f.hash[1], w,
		    wlen)) == SL_OK)
			rc = pair_check(f.hash[0], f.hash[1], w, wlen);
	}
	free(r);
	if (rc == SL_OK && out != NULL)
		*out = f;
	return rc;
}

int
sl_fork_decode(const uint8_t *payload, size_t plen, struct sl_fork *out)
{
	struct sl_mp m;
	const char *k;
	const uint8_t *v;
	uint32_t n, kl;
	size_t vl;

	if (payload == NULL)
		return SL_ESCHEMA;
	sl_mp_init(&m, payload, plen);
	/* Exactly {"proof": [...]}: this version reads only a payload it
	 * fully knows. */
	if (sl_mp_read_map(&m, &n, 1) != SL_OK || n != 1 ||
	    sl_mp_read_str(&m, &k, &kl, 5, 5) != SL_OK ||
	    memcmp(k, "proof", 5) != 0 || sl_mp_skip(&m, &v, &vl) != SL_OK ||
	    !sl_mp_at_end(&m))
		return SL_ESCHEMA;
	return sl_fork_check(v, vl, out, NULL, 0) == SL_OK ? SL_OK :
	    SL_ESCHEMA;
}
