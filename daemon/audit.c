/*
 * audit.c - audit bundles: a record's whole history with the chain
 * segments and signatures that prove it, signed by this node as its
 * statement of what it held (format: PROTOCOL.md section 13).
 *
 * What goes in, per origin: every event of the record, every event of
 * another record one of them names as a parent, and the origin's
 * winning node.org announcement (the name an auditor sees for the key),
 * each followed by the origin's events up to the next signed one, so
 * that each event is covered by a signature the checker can verify.
 * Those that are not the record's or a node.org keep header and
 * signature only: their bodies (other records' personal data) are
 * dropped, which the format allows and the hashes do not notice.
 *
 * A device's certificate (PROTOCOL.md 12.3), for each origin that is
 * a device and for the exporting node: whole, so that the checker folds
 * the device's steps as its organisation's, as every node does.
 *
 * The record's erasures (PROTOCOL.md 5.2), whole, so that the checker
 * says who erased a value, when and on what ground.
 *
 * And the witnesses (PROTOCOL.md 15.4): per origin, its latest
 * checkpoint that names no tip beyond what this node holds (a checker
 * reads a tip above the statement's vector as the end of a chain left
 * out), whole: a checkpoint is signed on its own, so it needs no run.
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"

struct want {
	uint8_t origin[SL_KEY_LEN];
	uint64_t seq;
	bool body;      /* whole; else header and signature only */
};

struct wants {
	struct want *v;
	size_t n, cap;
	bool failed;
	struct project *p;
	struct store *s;
	MDB_txn *txn;
	const uint8_t *id;               /* the record */
	uint8_t (*missing)[SL_HASH_LEN]; /* parents this node does not hold */
	size_t nmissing, capmissing;
};

static void
want_add(struct wants *w, const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    bool body)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct want *nv = realloc(w->v, cap * sizeof *nv);

		if (nv == NULL) {
			w->failed = true;
			return;
		}
		w->v = nv;
		w->cap = cap;
	}
	memcpy(w->v[w->n].origin, origin, SL_KEY_LEN);
	w->v[w->n].body = body;
	w->v[w->n++].seq = seq;
}

static int
want_cmp(const void *a, const void *b)
{
	const struct want *x = a, *y = b;
	int c = memcmp(x->origin, y->origin, SL_KEY_LEN);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SL_HASH_LEN);
}

/*
 * Each event of the record, and what its parents are: a parent of
 * another record goes in too, header and signature only, so that the
 * checker sees it is another record's (and folds the child as the node
 * did, ignored); a parent the fold never saw is listed as missing, so a
 * checker can tell it from one left out.  The missing list is sorted
 * and made unique once at the end (audit_build): checking each parent
 * against it here made the bundle cost O(M^2) for M missing parents,
 * which any member can make large.
 */
static int
history_cb(void *ctx, const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN],
    const struct sl_evmeta *m)
{
	struct wants *w = ctx;
	struct sl_evmeta pm;

	(void)hash;
	(void)m;
	want_add(w, ev->origin, ev->seq, true);
	for (uint32_t i = 0; i < ev->n_parents; i++) {
		if (project_meta(w->p, w->txn, ev->parents[i], &pm) == SL_OK) {
			if (memcmp(pm.id, w->id, SL_ID_LEN) != 0)
				want_add(w, pm.origin, pm.seq, false);
			continue;
		}
		if (w->nmissing == w->capmissing) {
			size_t cap = w->capmissing ? w->capmissing * 2 : 4;
			uint8_t (*nm)[SL_HASH_LEN] = realloc(w->missing,
			    cap * SL_HASH_LEN);

			if (nm == NULL) {
				w->failed = true;
				return 0;
			}
			w->missing = nm;
			w->capmissing = cap;
		}
		memcpy(w->missing[w->nmissing++], ev->parents[i], SL_HASH_LEN);
	}
	return 0;
}

/* Sorts the missing parents and drops repeats. */
static void
missing_unique(struct wants *w)
{
	size_t k = 0;

	if (w->nmissing == 0)
		return;
	qsort(w->missing, w->nmissing, SL_HASH_LEN, hash_cmp);
	for (size_t i = 1; i < w->nmissing; i++)
		if (memcmp(w->missing[k], w->missing[i], SL_HASH_LEN) != 0)
			memcpy(w->missing[++k], w->missing[i], SL_HASH_LEN);
	w->nmissing = k + 1;
}

/*
 * Packs the runs of the origin of wants[*i]: from each wanted event up to
 * the first signed event at or after it, whole when wanted and without
 * body when not.  Advances *i past that origin's wants; *n counts the
 * records packed.
 */
static int
pack_origin(struct store *s, MDB_txn *txn, const struct wants *w, size_t *i,
    msgpack_packer *pk, uint64_t *n, char *err, size_t errlen)
{
	const uint8_t *origin = w->v[*i].origin;
	size_t end = *i;

	while (end < w->n && memcmp(w->v[end].origin, origin, SL_KEY_LEN) == 0)
		end++;
	while (*i < end) {
		struct sl_event ev = { 0 };

		/* One run; the wants it passes are consumed on the way, so
		 * the next run starts beyond this one's signed end. */
		for (uint64_t q = w->v[*i].seq; ev.sig == NULL; q++) {
			const uint8_t *rec;
			size_t len;
			bool wanted = false;
			int rc = store_txn_event(s, txn, origin, q, &rec, &len);

			while (*i < end && w->v[*i].seq == q) {
				wanted = wanted || w->v[*i].body;
				(*i)++;
			}
			if (rc != SL_OK ||
			    sl_event_decode(&ev, rec, len) != SL_OK) {
				snprintf(err, errlen, "cannot read event %llu "
				    "of an origin in the history: %s",
				    (unsigned long long)q, rc == SL_ENOENT ?
				    "no signature covers it" :
				    "the store is damaged (run samlog verify)");
				return SL_ESTORE;
			}
			if (wanted) {
				sl_pack_bin(pk, rec, len);
			} else {
				uint8_t tmp[SL_HEADER_MAX + 128];
				size_t tl = sl_record_encode(tmp, ev.hdr,
				    ev.hdr_len, ev.sig, NULL, NULL, 0);

				sl_pack_bin(pk, tmp, tl);
			}
			(*n)++;
		}
	}
	return SL_OK;
}

/* How far back, in checkpoints, to look for one within this node's
 * tips: they are written at most once per interval, so a few cover any
 * sync lag. */
#define WITNESS_LOOKBACK 64

/* Does the checkpoint at (w, seq) name only tips this node holds? */
static bool
ckpt_within(struct store *s, MDB_txn *txn, const uint8_t w[SL_KEY_LEN],
    uint64_t seq)
{
	const uint8_t *rec;
	size_t len, n;
	struct sl_event ev;
	struct sl_ckpt_tip *tips;
	bool ok = true;

	if (store_txn_event(s, txn, w, seq, &rec, &len) != SL_OK ||
	    sl_event_decode(&ev, rec, len) != SL_OK ||
	    sl_ckpt_decode(ev.payload, ev.payload_len, &tips, &n) != SL_OK)
		return false;
	for (size_t i = 0; i < n && ok; i++) {
		const struct store_tip *t = store_tip_of(s, tips[i].origin);

		ok = t != NULL && t->seq >= tips[i].seq;
	}
	free(tips);
	return ok;
}

static void
want_witnesses(struct store *s, struct project *p, MDB_txn *txn,
    struct wants *w)
{
	for (size_t i = 0; i < store_origin_count(s); i++) {
		uint8_t o[SL_KEY_LEN];
		uint64_t before = UINT64_MAX, seq;

		memcpy(o, store_tip_at(s, i)->origin, SL_KEY_LEN);
		for (int k = 0; k < WITNESS_LOOKBACK &&
		    project_checkpoint_before(p, txn, o, before, &seq) == SL_OK;
		    k++) {
			if (ckpt_within(s, txn, o, seq)) {
				want_add(w, o, seq, true);
				break;
			}
			before = seq;
		}
	}
}

static int
erasure_cb(void *ctx, const uint8_t hash[SL_HASH_LEN],
    const uint8_t origin[SL_KEY_LEN], uint64_t seq)
{
	struct wants *w = ctx;
	struct sl_event ev;
	struct sl_erasure e;

	(void)hash;
	if (project_erasure_read(w->p, w->txn, origin, seq, NULL, &ev, &e) ==
	    SL_OK && memcmp(e.record, w->id, SL_ID_LEN) == 0)
		want_add(w, origin, seq, true);
	return SL_OK;
}

int
audit_build(struct store *s, struct project *p, MDB_txn *txn,
    const uint8_t id[SL_ID_LEN], char kind, const uint8_t node[SL_KEY_LEN],
    const char *org, struct sl_buf *out, char *err, size_t errlen)
{
	struct wants w = { .p = p, .s = s, .txn = txn, .id = id };
	struct sl_buf recs = { 0 }, st = { 0 };
	msgpack_packer pk;
	uint64_t n = 0;
	uint8_t hash[SL_HASH_LEN], sig[SL_SIG_LEN];
	const char *word = project_kind_word(kind);
	int rc;

	if ((rc = project_history(p, txn, id, UINT64_MAX, history_cb, &w)) !=
	    SL_OK) {
		snprintf(err, errlen, "cannot read the record's history");
		goto out;
	}
	missing_unique(&w);
	rc = SL_ENOMEM;
	if (w.failed || w.n == 0) {
		snprintf(err, errlen, w.failed ? "out of memory" :
		    "the record has no events");
		goto out;
	}
	/* The erasures of the record (PROTOCOL.md 5.2), whole: the checker
	 * says who erased what, and on what ground, where a value was. */
	if ((rc = project_erasures(p, txn, id, erasure_cb, &w)) != SL_OK) {
		snprintf(err, errlen, "cannot read the erasures");
		goto out;
	}
	qsort(w.v, w.n, sizeof *w.v, want_cmp);
	/* Each origin's announcement, so the checker can name it, and a
	 * device's certificate: once per origin, the sorted wants being
	 * grouped by origin. */
	const struct sl_members *ms = project_members(p, txn);
	const struct sl_device *dv;

	for (size_t i = 0, nh = w.n; i < nh; i++) {
		uint8_t origin[SL_KEY_LEN];
		uint64_t seq;

		if (i > 0 && memcmp(w.v[i - 1].origin, w.v[i].origin,
		    SL_KEY_LEN) == 0)
			continue;
		memcpy(origin, w.v[i].origin, SL_KEY_LEN); /* want_add moves w.v */
		if ((seq = project_node_org_seq(p, txn, origin)) > 0)
			want_add(&w, origin, seq, true);
		if (ms != NULL && (dv = sl_members_device(ms, origin)) !=
		    NULL && !dv->contested)
			want_add(&w, dv->cert_origin, dv->cert_seq, true);
	}
	if (ms != NULL && (dv = sl_members_device(ms, node)) != NULL &&
	    !dv->contested)
		want_add(&w, dv->cert_origin, dv->cert_seq, true);
	want_witnesses(s, p, txn, &w);
	if (w.failed) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	qsort(w.v, w.n, sizeof *w.v, want_cmp);

	msgpack_packer_init(&pk, &recs, sl_buf_write);
	for (size_t i = 0; i < w.n;)
		if ((rc = pack_origin(s, txn, &w, &i, &pk, &n, err, errlen)) !=
		    SL_OK)
			goto out;

	/* The statement: [version, record, kind, exporter, org, time,
	 * vector, records, missing]. */
	msgpack_packer_init(&pk, &st, sl_buf_write);
	msgpack_pack_array(&pk, 9);
	msgpack_pack_uint64(&pk, SL_AUDIT_VERSION);
	sl_pack_bin(&pk, id, SL_ID_LEN);
	sl_pack_cstr(&pk, word ? word : "");
	sl_pack_bin(&pk, node, SL_KEY_LEN);
	sl_pack_cstr(&pk, org);
	msgpack_pack_uint64(&pk, sl_now_ms());
	msgpack_pack_array(&pk, store_origin_count(s));
	for (size_t i = 0; i < store_origin_count(s); i++) {
		const struct store_tip *t = store_tip_at(s, i);

		msgpack_pack_array(&pk, 3);
		sl_pack_bin(&pk, t->origin, SL_KEY_LEN);
		msgpack_pack_uint64(&pk, t->seq);
		sl_pack_bin(&pk, t->hash, SL_HASH_LEN);
	}
	msgpack_pack_array(&pk, (uint32_t)n);
	if (recs.len > 0)
		sl_buf_write(&st, (const char *)recs.p, recs.len);
	msgpack_pack_array(&pk, (uint32_t)w.nmissing);
	for (size_t i = 0; i < w.nmissing; i++)
		sl_pack_bin(&pk, w.missing[i], SL_HASH_LEN);
	rc = SL_ENOMEM;
	if (recs.failed || st.failed || n > UINT32_MAX ||
	    st.len > SL_AUDIT_STATEMENT_MAX) {
		snprintf(err, errlen, st.len > SL_AUDIT_STATEMENT_MAX ?
		    "the bundle would exceed %u MiB" : "out of memory",
		    SL_AUDIT_STATEMENT_MAX >> 20);
		goto out;
	}
	sl_sha256(hash, st.p, st.len);
	if ((rc = store_sign_audit(s, hash, sig)) != SL_OK) {
		snprintf(err, errlen, "this node has no key to sign with");
		goto out;
	}
	sl_buf_write(out, SL_AUDIT_MAGIC, SL_AUDIT_MAGIC_LEN);
	msgpack_packer_init(&pk, out, sl_buf_write);
	msgpack_pack_array(&pk, 2);
	sl_pack_bin(&pk, st.p, st.len);
	sl_pack_bin(&pk, sig, SL_SIG_LEN);
	rc = out->failed ? SL_ENOMEM : SL_OK;
	if (rc != SL_OK)
		snprintf(err, errlen, "out of memory");
out:
	free(w.v);
	free(w.missing);
	free(recs.p);
	free(st.p);
	return rc;
}
