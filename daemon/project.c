/*
 * project.c - the fold's LMDB backend, the indexes, rebuilds and queries.
 *
 * Databases (in the store's environment):
 *   rec      a record and what the fold keeps of it, together under its
 *            id, so that the pages one event changes fall together:
 *              id (16) -> the record (sl_rec_encode): its fields, heads
 *                count and state; a few hundred bytes whatever its
 *                history
 *              id, 'e', clock (8), origin (32), seq (8) -> [status,
 *                why]: the events naming it, for history, as-of and
 *                audit
 *              id, 'h', event hash (32) -> "": its heads
 *            (before version 21 the last two were trees of their own,
 *            "pev" and "phead", and an event changed a leaf in each)
 *            and, by event hash:
 *              hash[0..16], 'v', hash[16..32] -> sl_evmeta: the fold's
 *                verdict on each event.  A record's id is the first 16
 *                bytes of its creating event's hash, so that event's
 *                verdict falls among the record's own keys, on the
 *                leaf its commit changes anyway; the verdicts of later
 *                events fall at random places, as before.  (Before
 *                version 23 they were a tree of their own, "pevm": one
 *                more leaf per event, and one more path from the root
 *                per commit.)
 *   pidx     kind, field code, lower-cased value, 0, clock (8) of the
 *            record's creating event, id -> "": within one value the
 *            records stand in the order they were made (as their
 *            signers' clocks say: a backdated record comes first), so a
 *            new record's keys go to the end of their values' ranges,
 *            onto pages the commit before touched, instead of to random
 *            places (ids are hashes).  The clock is part of the signed
 *            event, so the keys are the same on every node and after
 *            every rebuild.  (Before version 22: value, 0, id.)
 *   pwait    parent hash, child hash -> "": events waiting for a parent
 *   pfuture  clock (8), origin (32), seq (8) -> "": events whose clock is
 *            further ahead of the wall clock than the allowed skew; they
 *            are folded when the wall clock gets there
 *   pnodes   origin -> clock (8) + seq (8) + organisation name: the
 *            node.org event that won
 *   pmember  origin (32) + seq (8) -> clock (8), type (1), org (32),
 *            upto (8), name: the membership events (protocol/member.c);
 *            "gen" -> 8 random bytes, new with each, so that the copy in
 *            memory is known to be stale (a transaction that wrote one
 *            and was then aborted leaves the old value)
 *   pckpt    witness (32) + seq (8) -> "": the checkpoint events held
 *            (PROTOCOL.md 15)
 *   pwit     origin (32) + witness (32) -> seq (8) + hash (32): the
 *            highest seq of origin that witness's checkpoints name, and
 *            the hash they give it
 *   pcontra  origin (32) + seq (8) + witness (32) -> claimed hash (32) +
 *            held hash (32): a checkpoint that names another event than
 *            the one this node holds at that seq
 *   pfork    origin (32) + seq (8) + prover (32) + prover's seq (8) ->
 *            clock (8): the fork proofs held (PROTOCOL.md 16), by the
 *            (origin, seq) they prove forked
 *   perase   record (16) + erasure's hash (32) -> origin (32) + seq (8):
 *            the erasures held (PROTOCOL.md 5.2), by the record they
 *            name, for the daemon to apply by its policy
 *   peopen   the same, for the erasures not applied yet: what the
 *            daemon's erasure tick and status look at (a node holding
 *            years of applied erasures does not read them again)
 *   pmeta    "version" -> PROJECT_VERSION; "recut" -> "" while a
 *            retirement has cut events the records still hold (the
 *            next project_due rebuilds without them)
 *
 * What an event means is decided in protocol/record.c; this file only
 * keeps what it decides.  Index maintenance is computed, not
 * special-cased: a record's index keys are derived (from the schema's
 * indexed fields) when the fold reads it and again when it writes it
 * back, and only the difference is written.
 */
#include <ctype.h>
#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "project.h"

#define IDX_VAL_MAX 128
/* What follows an index key's value and its 0: the creating event's
 * clock and the record's id. */
#define IDX_SUFFIX (8 + SL_ID_LEN)
#define IDX_KEY_MAX (2 + IDX_VAL_MAX + 1 + IDX_SUFFIX)
/* Every key a record can have: each field a list of SL_LIST_MAX at most
 * (a meeting has 196: 64 attended, 64 invited, 64 organisations and
 * four more).  A smaller cap dropped the rest without a word, and the
 * record fell out of the lists filtered by them (test_attack13). */
#define MAX_KEYS (SL_SCHEMA_MAX_FIELDS * SL_LIST_MAX)
/* The keys under a record's id in rec: its events and its heads. */
#define PEV_TAG 'e'
#define PEV_KEY_LEN (SL_ID_LEN + 1 + 8 + SL_KEY_LEN + 8)
#define PEV_HLC (SL_ID_LEN + 1)
#define PEV_ORIGIN (PEV_HLC + 8)
#define PEV_SEQ (PEV_ORIGIN + SL_KEY_LEN)
#define HEAD_TAG 'h'
#define HEAD_KEY_LEN (SL_ID_LEN + 1 + SL_HASH_LEN)
#define VERDICT_TAG 'v'
#define VERDICT_KEY_LEN (SL_HASH_LEN + 1)
#define FUT_KEY_LEN (8 + SL_KEY_LEN + 8)

struct keyset {
	uint8_t k[MAX_KEYS][IDX_KEY_MAX];
	uint8_t len[MAX_KEYS];
	int n;
};

struct project {
	struct store *s;
	MDB_env *env;
	MDB_dbi rec, pidx, pwait, pfuture, pnodes, pmeta;
	MDB_dbi pmember;
	MDB_dbi pckpt, pwit, pcontra;
	MDB_dbi pfork, perase, peopen;
	struct sl_members members; /* as pmember says, at members_gen */
	uint8_t members_gen[8];
	bool members_ok;
	/* The members were read with no device among them, and no
	 * membership event was applied since: a key signs for itself,
	 * with no lookup per folded event. */
	bool no_devices;
	MDB_txn *txn;            /* the fold's transaction */
	int mdb_rc;              /* the LMDB code that stopped the fold */
	uint64_t skew_ms;
	uint64_t future_logged;  /* when future_note last spoke (ms) */
	struct keyset before, after; /* a record's keys around one fold */
	struct sl_buf g;         /* encoding scratch */
	bool erase_decision;     /* project_set_erasure: with-decision */
	bool bulk;               /* a rebuild: rb_index writes pidx after */
};

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* LMDB's codes to the fold's, and back (fold_now).  A full map must
 * come back as MDB_MAP_FULL: that is what makes the store grow the map
 * and replay the transaction. */
static int
sl_of(int rc)
{
	return rc == 0 ? SL_OK : rc == MDB_NOTFOUND ? SL_ENOENT :
	    rc == ENOMEM ? SL_ENOMEM : rc == MDB_MAP_FULL ? SL_EFULL :
	    SL_ESTORE;
}

/* ---- kinds and records ------------------------------------------------- */

char
project_kind(const char *word)
{
	const struct sl_kind *k = sl_schema_kind(word);

	return k != NULL && k->record ? k->c : 0;
}

const char *
project_kind_word(char kind)
{
	const struct sl_kind *k = sl_schema_kind_c(kind);

	return k != NULL ? k->word : "?";
}

bool
project_str(const struct sl_rec *r, const char *name, char *out,
    size_t outlen)
{
	const struct sl_field *f = sl_schema_field(r->kind, name, strlen(name),
	    NULL);
	const struct sl_recfield *rf;
	struct sl_mp m;
	const char *s;
	uint32_t n;

	out[0] = '\0';
	if (f != NULL && f->type == SL_F_STATE) {
		snprintf(out, outlen, "%s", sl_schema_state_name(r->kind,
		    r->state));
		return r->state != 0;
	}
	if ((rf = sl_rec_get(r, name)) == NULL)
		return false;
	sl_mp_init(&m, rf->val, rf->len);
	if (sl_mp_read_str(&m, &s, &n, 0, UINT32_MAX) != SL_OK)
		return false;
	snprintf(out, outlen, "%.*s", (int)n, s);
	return true;
}

/* The index of kind on field (NULL: its sort field), or NULL. */
static const struct sl_field *
index_find(char kind, const char *field, uint32_t *idx)
{
	const struct sl_kind *k = sl_schema_kind_c(kind);

	for (uint32_t i = 0; k != NULL && i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];

		if (!(f->flags & (SL_FF_INDEX | SL_FF_SORT)))
			continue;
		if (field == NULL ? (f->flags & SL_FF_SORT) != 0 :
		    strcmp(f->name, field) == 0) {
			*idx = i;
			return f;
		}
	}
	return NULL;
}

bool
project_indexed(char kind, const char *field)
{
	uint32_t i;

	return index_find(kind, field, &i) != NULL;
}

/* ---- index keys ----------------------------------------------------------- */

/* The start of kind's index entries for field fi holding the value
 * v[0..vlen): kind, field code, the value's key, 0 (IDX_SUFFIX
 * follows); its length.  Keys are written and looked up through this one
 * function, so the two cannot differ. */
static size_t
idx_prefix(uint8_t out[IDX_KEY_MAX], char kind, uint32_t fi, const char *v,
    size_t vlen)
{
	size_t n;

	out[0] = (uint8_t)kind;
	out[1] = (uint8_t)('A' + fi);
	n = 2 + sl_text_key(v, vlen, out + 2, IDX_VAL_MAX);
	out[n++] = 0;
	return n;
}

static void
keyset_add(struct keyset *ks, const struct sl_rec *r, uint32_t fi,
    const char *v, size_t vlen)
{
	if (ks->n == MAX_KEYS)
		return; /* cannot happen: MAX_KEYS is every key there can be */
	uint8_t *k = ks->k[ks->n];
	size_t n = idx_prefix(k, r->kind->c, fi, v, vlen);

	put_be(k + n, r->c_hlc, 8);
	memcpy(k + n + 8, r->id, SL_ID_LEN);
	ks->len[ks->n++] = (uint8_t)(n + IDX_SUFFIX);
}

/* The index keys a record has now (none until it is created). */
static void
keyset_of(struct keyset *ks, const struct sl_rec *r)
{
	ks->n = 0;
	for (uint32_t i = 0; r->kind != NULL && i < r->kind->nfields; i++) {
		const struct sl_field *f = &r->kind->fields[i];
		const struct sl_recfield *rf = &r->f[i];
		struct sl_mp m;
		const char *s;
		uint32_t n, l;

		if (!(f->flags & (SL_FF_INDEX | SL_FF_SORT)))
			continue;
		if (f->type == SL_F_STATE) {
			s = sl_schema_state_name(r->kind, r->state);
			keyset_add(ks, r, i, s, strlen(s));
			continue;
		}
		if (!sl_rec_has(r, i)) {
			if (f->flags & SL_FF_SORT)
				keyset_add(ks, r, i, "", 0);
			else if (f->dflt != NULL)
				keyset_add(ks, r, i, f->dflt, strlen(f->dflt));
			continue;
		}
		sl_mp_init(&m, rf->val, rf->len);
		if (sl_mp_read_str(&m, &s, &l, 0, UINT32_MAX) == SL_OK) {
			keyset_add(ks, r, i, s, l);
			continue;
		}
		if (sl_mp_read_array(&m, &n, SL_LIST_MAX) != SL_OK)
			continue;
		for (uint32_t j = 0; j < n; j++)
			if (sl_mp_read_str(&m, &s, &l, 0, UINT32_MAX) == SL_OK)
				keyset_add(ks, r, i, s, l);
	}
}

static bool
keyset_has(const struct keyset *ks, const uint8_t *k, uint8_t len)
{
	for (int i = 0; i < ks->n; i++)
		if (ks->len[i] == len && memcmp(ks->k[i], k, len) == 0)
			return true;
	return false;
}

/* ---- the fold's backend ----------------------------------------------------- */

/* LMDB's codes to the fold's, keeping the first failure: the fold knows
 * only its own codes, and the store needs LMDB's (on MDB_MAP_FULL it
 * grows the map and replays the transaction). */
static int
be_rc(struct project *p, int rc)
{
	if (rc != 0 && rc != MDB_NOTFOUND && p->mdb_rc == 0)
		p->mdb_rc = rc;
	return sl_of(rc);
}

/* Where event h's verdict is kept in rec (the top of this file). */
static void
verdict_key(uint8_t k[VERDICT_KEY_LEN], const uint8_t h[SL_HASH_LEN])
{
	memcpy(k, h, SL_ID_LEN);
	k[SL_ID_LEN] = VERDICT_TAG;
	memcpy(k + SL_ID_LEN + 1, h + SL_ID_LEN, SL_HASH_LEN - SL_ID_LEN);
}

/* Event h's verdict in txn: an LMDB code (MDB_NOTFOUND: none). */
static int
verdict_get(struct project *p, MDB_txn *txn, const uint8_t h[SL_HASH_LEN],
    struct sl_evmeta *m)
{
	uint8_t kb[VERDICT_KEY_LEN];
	MDB_val k = { sizeof kb, kb }, d;
	int rc;

	verdict_key(kb, h);
	if ((rc = mdb_get(txn, p->rec, &k, &d)) != 0)
		return rc;
	if (d.mv_size != SL_EVMETA_LEN)
		return MDB_CORRUPTED;
	sl_evmeta_decode(m, d.mv_data);
	return 0;
}

static int
be_meta_get(void *ctx, const uint8_t h[SL_HASH_LEN], struct sl_evmeta *m)
{
	struct project *p = ctx;

	return be_rc(p, verdict_get(p, p->txn, h, m));
}

/* The start of the keys of one kind (tag) under id in rec. */
static void
rec_sub(uint8_t k[SL_ID_LEN + 1], const uint8_t id[SL_ID_LEN], uint8_t tag)
{
	memcpy(k, id, SL_ID_LEN);
	k[SL_ID_LEN] = tag;
}

/* The n-byte key after k (false: there is none). */
static bool
key_next(uint8_t *k, size_t n)
{
	while (n > 0 && ++k[n - 1] == 0)
		n--;
	return n > 0;
}

/* Moves c past the keys under k's first 16 bytes in rec (a record, its
 * events, heads and creating event's verdict, or only the verdicts of
 * events whose hashes begin so) to the first key of the next 16 bytes;
 * buf holds the bytes sought. */
static int
rec_next_id(MDB_cursor *c, MDB_val *k, MDB_val *d, uint8_t buf[SL_ID_LEN])
{
	memcpy(buf, k->mv_data, SL_ID_LEN);
	if (!key_next(buf, SL_ID_LEN))
		return MDB_NOTFOUND;
	*k = (MDB_val){ SL_ID_LEN, buf };
	return mdb_cursor_get(c, k, d, MDB_SET_RANGE);
}

static void
pev_key(uint8_t k[PEV_KEY_LEN], const uint8_t id[SL_ID_LEN], uint64_t hlc,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq)
{
	rec_sub(k, id, PEV_TAG);
	put_be(k + PEV_HLC, hlc, 8);
	memcpy(k + PEV_ORIGIN, origin, SL_KEY_LEN);
	put_be(k + PEV_SEQ, seq, 8);
}

static int
be_meta_put(void *ctx, const uint8_t h[SL_HASH_LEN], const struct sl_evmeta *m)
{
	struct project *p = ctx;
	uint8_t v[SL_EVMETA_LEN], ek[PEV_KEY_LEN], st[2] = { m->status, m->why };
	uint8_t kb[VERDICT_KEY_LEN];
	MDB_val k = { sizeof kb, kb }, d = { sizeof v, v };
	MDB_val pk = { sizeof ek, ek }, pd = { sizeof st, st };
	int rc;

	sl_evmeta_encode(v, m);
	verdict_key(kb, h);
	pev_key(ek, m->id, m->hlc, m->origin, m->seq);
	if ((rc = mdb_put(p->txn, p->rec, &k, &d, 0)) != 0 ||
	    (rc = mdb_put(p->txn, p->rec, &pk, &pd, 0)) != 0)
		return be_rc(p, rc);
	return SL_OK;
}

static int
be_wait_add(void *ctx, const uint8_t parent[SL_HASH_LEN],
    const uint8_t child[SL_HASH_LEN])
{
	struct project *p = ctx;
	uint8_t kb[2 * SL_HASH_LEN];
	MDB_val k = { sizeof kb, kb }, d = { 0, "" };

	memcpy(kb, parent, SL_HASH_LEN);
	memcpy(kb + SL_HASH_LEN, child, SL_HASH_LEN);
	return be_rc(p, mdb_put(p->txn, p->pwait, &k, &d, 0));
}

static int
be_wait_take(void *ctx, const uint8_t parent[SL_HASH_LEN],
    uint8_t child[SL_HASH_LEN])
{
	struct project *p = ctx;
	uint8_t kb[SL_HASH_LEN];
	MDB_cursor *c;
	MDB_val k = { sizeof kb, kb }, d;
	int rc;

	memcpy(kb, parent, SL_HASH_LEN);
	if ((rc = mdb_cursor_open(p->txn, p->pwait, &c)) != 0)
		return be_rc(p, rc);
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	if (rc == 0 && (k.mv_size != (size_t)2 * SL_HASH_LEN ||
	    memcmp(k.mv_data, parent, SL_HASH_LEN) != 0))
		rc = MDB_NOTFOUND;
	if (rc == 0) {
		memcpy(child, (const uint8_t *)k.mv_data + SL_HASH_LEN,
		    SL_HASH_LEN);
		rc = mdb_cursor_del(c, 0);
	}
	mdb_cursor_close(c);
	return be_rc(p, rc);
}

static int
be_event_load(void *ctx, const uint8_t h[SL_HASH_LEN],
    const struct sl_evmeta *m, struct sl_event *ev)
{
	struct project *p = ctx;
	const uint8_t *rec;
	size_t len;
	int rc = store_txn_event(p->s, p->txn, m->origin, m->seq, &rec, &len);

	(void)h;
	if (rc != SL_OK)
		return rc;
	return sl_event_decode(ev, rec, len) == SL_OK ? SL_OK : SL_ESTORE;
}

static int
be_rec_get(void *ctx, const uint8_t id[SL_ID_LEN], struct sl_rec *r)
{
	struct project *p = ctx;
	MDB_val k = { SL_ID_LEN, (void *)id }, d;
	int rc = mdb_get(p->txn, p->rec, &k, &d);

	p->before.n = 0;
	if (rc != 0)
		return be_rc(p, rc);
	if (sl_rec_decode(r, id, d.mv_data, d.mv_size) != SL_OK)
		return SL_ESTORE;
	if (!p->bulk)
		keyset_of(&p->before, r);
	return SL_OK;
}

/* Writes r and the difference between its index keys and those it had
 * when be_rec_get read it (the fold always reads before it writes). */
static int
be_rec_put(void *ctx, struct sl_rec *r)
{
	struct project *p = ctx;
	MDB_val k = { SL_ID_LEN, r->id }, d, empty = { 0, "" };
	int rc;

	p->after.n = 0;
	if (!p->bulk)
		keyset_of(&p->after, r);
	for (int i = 0; i < p->before.n; i++) {
		if (keyset_has(&p->after, p->before.k[i], p->before.len[i]))
			continue;
		MDB_val ik = { p->before.len[i], p->before.k[i] };

		if ((rc = mdb_del(p->txn, p->pidx, &ik, NULL)) != 0 &&
		    rc != MDB_NOTFOUND)
			return be_rc(p, rc);
	}
	for (int i = 0; i < p->after.n; i++) {
		if (keyset_has(&p->before, p->after.k[i], p->after.len[i]))
			continue;
		MDB_val ik = { p->after.len[i], p->after.k[i] };

		if ((rc = mdb_put(p->txn, p->pidx, &ik, &empty, 0)) != 0)
			return be_rc(p, rc);
	}
	if ((rc = sl_rec_encode(r, &p->g)) != SL_OK)
		return rc;
	d = (MDB_val){ p->g.len, p->g.p };
	return be_rc(p, mdb_put(p->txn, p->rec, &k, &d, 0));
}

static int
be_head(struct project *p, const uint8_t id[SL_ID_LEN],
    const uint8_t h[SL_HASH_LEN], bool add)
{
	uint8_t kb[HEAD_KEY_LEN];
	MDB_val k = { sizeof kb, kb }, d = { 0, "" };

	rec_sub(kb, id, HEAD_TAG);
	memcpy(kb + SL_ID_LEN + 1, h, SL_HASH_LEN);
	if (add)
		return be_rc(p, mdb_put(p->txn, p->rec, &k, &d, 0));
	return be_rc(p, mdb_del(p->txn, p->rec, &k, NULL));
}

static int
be_head_add(void *ctx, const uint8_t id[SL_ID_LEN],
    const uint8_t h[SL_HASH_LEN])
{
	return be_head(ctx, id, h, true);
}

static int
be_head_del(void *ctx, const uint8_t id[SL_ID_LEN],
    const uint8_t h[SL_HASH_LEN])
{
	return be_head(ctx, id, h, false);
}

static const struct sl_members *members_of(struct project *p, MDB_txn *txn);

/* The organisation a key signs for (12.3): a device's, else its own. */
static void
be_org_of(void *ctx, const uint8_t key[SL_KEY_LEN], uint8_t org[SL_KEY_LEN])
{
	struct project *p = ctx;
	const struct sl_members *ms;

	if (p->no_devices) {
		memcpy(org, key, SL_KEY_LEN);
		return;
	}
	ms = members_of(p, p->txn);
	memcpy(org, ms != NULL ? sl_members_org_of(ms, key) : key, SL_KEY_LEN);
	p->no_devices = ms != NULL && ms->nd == 0;
}

static const struct sl_fold_ops lmdb_ops = {
	be_meta_get, be_meta_put, be_wait_add, be_wait_take, be_event_load,
	be_rec_get, be_rec_put, be_head_add, be_head_del, be_org_of,
};

/* ---- the store's hooks --------------------------------------------------------- */

static int
nodes_apply(struct project *p, MDB_txn *txn, const struct sl_event *ev)
{
	struct sl_mp m;
	uint32_t n;
	MDB_val k = { SL_KEY_LEN, (void *)ev->origin }, d;

	if (ev->payload == NULL)
		return 0;
	sl_mp_init(&m, ev->payload, ev->payload_len);
	if (sl_mp_read_map(&m, &n, 16) != SL_OK)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		const char *key, *org;
		uint32_t kl, ol;

		if (sl_mp_read_str(&m, &key, &kl, 1, 64) != SL_OK)
			return 0;
		if (kl != 3 || memcmp(key, "org", 3) != 0) {
			if (sl_mp_skip(&m, NULL, NULL) != SL_OK)
				return 0;
			continue;
		}
		if (sl_mp_read_str(&m, &org, &ol, 1, SL_ORG_MAX) != SL_OK)
			return 0;
		int rc = mdb_get(txn, p->pnodes, &k, &d);

		if (rc == 0 && d.mv_size >= 8 &&
		    sl_get_be(d.mv_data, 8) >= ev->hlc)
			return 0; /* a later announcement already won */
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
		uint8_t v[16 + SL_ORG_MAX];

		put_be(v, ev->hlc, 8);
		put_be(v + 8, ev->seq, 8);
		memcpy(v + 16, org, ol);
		d = (MDB_val){ 16 + ol, v };
		return mdb_put(txn, p->pnodes, &k, &d, 0);
	}
	return 0;
}

/* ---- checkpoints and witnesses (PROTOCOL.md 15) --------------------------- */

static bool
is_checkpoint(const struct sl_event *ev)
{
	return ev->type_len == sizeof SL_CKPT_TYPE - 1 &&
	    memcmp(ev->type, SL_CKPT_TYPE, ev->type_len) == 0;
}

/* Keeps the evidence that witness named claimed for (origin, seq) where
 * this node holds held. */
static int
contra_put(struct project *p, MDB_txn *txn, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq, const uint8_t witness[SL_KEY_LEN],
    const uint8_t claimed[SL_HASH_LEN], const uint8_t held[SL_HASH_LEN])
{
	uint8_t kb[SL_KEY_LEN + 8 + SL_KEY_LEN], v[2 * SL_HASH_LEN];
	MDB_val k = { sizeof kb, kb }, d = { sizeof v, v };
	char o[SL_NODE_ID_TEXT + 1], w[SL_NODE_ID_TEXT + 1];

	memcpy(kb, origin, SL_KEY_LEN);
	put_be(kb + SL_KEY_LEN, seq, 8);
	memcpy(kb + SL_KEY_LEN + 8, witness, SL_KEY_LEN);
	memcpy(v, claimed, SL_HASH_LEN);
	memcpy(v + SL_HASH_LEN, held, SL_HASH_LEN);
	sl_b32_encode(o, origin, SL_KEY_LEN);
	sl_b32_encode(w, witness, SL_KEY_LEN);
	log_warn("checkpoint contradiction: %.16s names another event for "
	    "seq %llu of %.16s than the one this node holds (two histories "
	    "of that origin were shown)", w, (unsigned long long)seq, o);
	return mdb_put(txn, p->pcontra, &k, &d, 0);
}

/* A checkpoint: its tips raise what each origin is witnessed up to, and
 * each is compared with the event held at its seq. */
static int
ckpt_apply(struct project *p, MDB_txn *txn, const struct sl_event *ev)
{
	uint8_t kb[SL_KEY_LEN + 8], wk[2 * SL_KEY_LEN], v[8 + SL_HASH_LEN];
	uint8_t held[SL_HASH_LEN];
	MDB_val k = { sizeof kb, kb }, d = { 0, "" };
	struct sl_ckpt_tip *tips;
	size_t n;
	int rc;

	memcpy(kb, ev->origin, SL_KEY_LEN);
	put_be(kb + SL_KEY_LEN, ev->seq, 8);
	if ((rc = mdb_put(txn, p->pckpt, &k, &d, 0)) != 0)
		return rc;
	if (sl_ckpt_decode(ev->payload, ev->payload_len, &tips, &n) != SL_OK)
		return 0; /* a later version's, or erased: says nothing here */
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct sl_ckpt_tip *t = &tips[i];
		MDB_val wkv = { sizeof wk, wk }, wd;

		/* An origin's word on its own chain proves nothing more
		 * than its chain already does. */
		if (memcmp(t->origin, ev->origin, SL_KEY_LEN) == 0)
			continue;
		memcpy(wk, t->origin, SL_KEY_LEN);
		memcpy(wk + SL_KEY_LEN, ev->origin, SL_KEY_LEN);
		rc = mdb_get(txn, p->pwit, &wkv, &wd);
		if (rc == MDB_NOTFOUND || (rc == 0 && wd.mv_size == sizeof v &&
		    sl_get_be(wd.mv_data, 8) < t->seq)) {
			put_be(v, t->seq, 8);
			memcpy(v + 8, t->hash, SL_HASH_LEN);
			wd = (MDB_val){ sizeof v, v };
			rc = mdb_put(txn, p->pwit, &wkv, &wd, 0);
		}
		if (rc != 0)
			break;
		rc = store_txn_event_hash(p->s, txn, t->origin, t->seq, held);
		if (rc == SL_ENOENT) {
			rc = 0; /* compared when that event arrives */
			continue;
		}
		if (rc != SL_OK) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (rc == 0 && memcmp(held, t->hash, SL_HASH_LEN) != 0)
			rc = contra_put(p, txn, t->origin, t->seq, ev->origin,
			    t->hash, held);
	}
	free(tips);
	return rc;
}

/* An event arriving after a checkpoint named its seq: compared with the
 * highest tip each witness gave its origin.  (A lower tip of an older
 * checkpoint is covered too: the chain links it to this one.) */
static int
ckpt_check_arrival(struct project *p, MDB_txn *txn, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN])
{
	MDB_cursor *c;
	MDB_val k = { SL_KEY_LEN, (void *)ev->origin }, d;
	int rc, op = MDB_SET_RANGE;

	if ((rc = mdb_cursor_open(txn, p->pwit, &c)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(c, &k, &d, op)) == 0) {
		const uint8_t *kp = k.mv_data;

		op = MDB_NEXT;
		if (k.mv_size != (size_t)2 * SL_KEY_LEN ||
		    memcmp(kp, ev->origin, SL_KEY_LEN) != 0)
			break;
		if (d.mv_size != 8 + SL_HASH_LEN ||
		    sl_get_be(d.mv_data, 8) != ev->seq ||
		    memcmp((const uint8_t *)d.mv_data + 8, hash,
		    SL_HASH_LEN) == 0)
			continue;
		uint8_t w[SL_KEY_LEN], claimed[SL_HASH_LEN];

		memcpy(w, kp + SL_KEY_LEN, SL_KEY_LEN);
		memcpy(claimed, (const uint8_t *)d.mv_data + 8, SL_HASH_LEN);
		if ((rc = contra_put(p, txn, ev->origin, ev->seq, w, claimed,
		    hash)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

uint64_t
project_checkpoint_count(struct project *p, MDB_txn *txn)
{
	MDB_stat st;

	return mdb_stat(txn, p->pckpt, &st) == 0 ? st.ms_entries : 0;
}

int
project_checkpoint_before(struct project *p, MDB_txn *txn,
    const uint8_t witness[SL_KEY_LEN], uint64_t before, uint64_t *seq)
{
	uint8_t kb[SL_KEY_LEN + 8];
	MDB_cursor *c;
	MDB_val k = { sizeof kb, kb }, d;
	int rc;

	memcpy(kb, witness, SL_KEY_LEN);
	put_be(kb + SL_KEY_LEN, before, 8);
	if (mdb_cursor_open(txn, p->pckpt, &c) != 0)
		return SL_ESTORE;
	/* The greatest key below (witness, before): one step back from the
	 * first at or after it, or the last of all when there is none. */
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	rc = mdb_cursor_get(c, &k, &d, rc == 0 ? MDB_PREV : MDB_LAST);
	if (rc == 0 && (k.mv_size != sizeof kb ||
	    memcmp(k.mv_data, witness, SL_KEY_LEN) != 0))
		rc = MDB_NOTFOUND;
	if (rc == 0)
		*seq = sl_get_be((const uint8_t *)k.mv_data + SL_KEY_LEN, 8);
	mdb_cursor_close(c);
	return rc == 0 ? SL_OK : rc == MDB_NOTFOUND ? SL_ENOENT : SL_ESTORE;
}

int
project_witnessed(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint32_t *k, uint64_t *upto)
{
	MDB_cursor *c;
	MDB_val key = { SL_KEY_LEN, (void *)origin }, d;
	const struct sl_members *ms = members_of(p, txn);
	/* Witnesses are organisations (12.3): another organisation's
	 * devices count once (its lowest word), the origin's own not. */
	struct { uint8_t org[SL_KEY_LEN]; uint64_t seq; } seen[64];
	const uint8_t *own = ms != NULL ? sl_members_org_of(ms, origin) :
	    origin;
	size_t ns = 0;
	int rc, op = MDB_SET_RANGE;

	*k = 0;
	*upto = 0;
	if (mdb_cursor_open(txn, p->pwit, &c) != 0)
		return SL_ESTORE;
	while ((rc = mdb_cursor_get(c, &key, &d, op)) == 0) {
		const uint8_t *w = (const uint8_t *)key.mv_data + SL_KEY_LEN;
		const uint8_t *org;
		uint64_t s;
		size_t j;

		op = MDB_NEXT;
		if (key.mv_size != (size_t)2 * SL_KEY_LEN ||
		    memcmp(key.mv_data, origin, SL_KEY_LEN) != 0)
			break;
		if (d.mv_size != 8 + SL_HASH_LEN)
			continue;
		s = sl_get_be(d.mv_data, 8);
		org = ms != NULL ? sl_members_org_of(ms, w) : w;
		if (memcmp(org, own, SL_KEY_LEN) == 0)
			continue;
		for (j = 0; j < ns; j++)
			if (memcmp(seen[j].org, org, SL_KEY_LEN) == 0)
				break;
		if (j < ns) {
			/* One organisation's word: the highest of its keys'. */
			if (s > seen[j].seq)
				seen[j].seq = s;
			continue;
		}
		if (ns < sizeof seen / sizeof seen[0]) {
			memcpy(seen[ns].org, org, SL_KEY_LEN);
			seen[ns++].seq = s;
		}
	}
	mdb_cursor_close(c);
	for (size_t j = 0; j < ns; j++) {
		if (*k == 0 || seen[j].seq < *upto)
			*upto = seen[j].seq;
		(*k)++;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? SL_OK : SL_ESTORE;
}

int
project_contradictions(struct project *p, MDB_txn *txn,
    project_contra_fn fn, void *ctx)
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc = 0;

	if (mdb_cursor_open(txn, p->pcontra, &c) != 0)
		return SL_ESTORE;
	while (rc == 0 && mdb_cursor_get(c, &k, &d, MDB_NEXT) == 0) {
		struct project_contra x;
		const uint8_t *kp = k.mv_data;

		if (k.mv_size != (size_t)2 * SL_KEY_LEN + 8 ||
		    d.mv_size != (size_t)2 * SL_HASH_LEN)
			continue;
		memcpy(x.origin, kp, SL_KEY_LEN);
		x.seq = sl_get_be(kp + SL_KEY_LEN, 8);
		memcpy(x.witness, kp + SL_KEY_LEN + 8, SL_KEY_LEN);
		memcpy(x.claimed, d.mv_data, SL_HASH_LEN);
		memcpy(x.held, (const uint8_t *)d.mv_data + SL_HASH_LEN,
		    SL_HASH_LEN);
		rc = fn(ctx, &x);
	}
	mdb_cursor_close(c);
	return rc;
}

/* ---- fork proofs (PROTOCOL.md 16) ---------------------------------------- */

static bool
is_fork_proof(const struct sl_event *ev)
{
	return ev->type_len == sizeof SL_FORK_TYPE - 1 &&
	    memcmp(ev->type, SL_FORK_TYPE, ev->type_len) == 0;
}

#define PFORK_KEY_LEN (2 * SL_KEY_LEN + 16)

/* A proof (checked again: the content rules let an erased or later
 * version's payload through) is kept under the (origin, seq) it proves
 * forked. */
static int
fork_apply(struct project *p, MDB_txn *txn, const struct sl_event *ev)
{
	uint8_t kb[PFORK_KEY_LEN], v[8];
	MDB_val k = { sizeof kb, kb }, d = { sizeof v, v };
	struct sl_fork f;
	char o[SL_FPR_TEXT + 1], w[SL_FPR_TEXT + 1];

	if (sl_fork_decode(ev->payload, ev->payload_len, &f) != SL_OK)
		return 0;
	memcpy(kb, f.origin, SL_KEY_LEN);
	put_be(kb + SL_KEY_LEN, f.seq, 8);
	memcpy(kb + SL_KEY_LEN + 8, ev->origin, SL_KEY_LEN);
	put_be(kb + SL_KEY_LEN + 8 + SL_KEY_LEN, ev->seq, 8);
	put_be(v, ev->hlc, 8);
	sl_fingerprint(o, f.origin);
	sl_fingerprint(w, ev->origin);
	log_warn("fork proof: %s signed two histories at seq %llu (proved by "
	    "%s)", o, (unsigned long long)f.seq, w);
	return mdb_put(txn, p->pfork, &k, &d, 0);
}

bool
project_fork_proven(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq)
{
	uint8_t kb[SL_KEY_LEN + 8];
	MDB_cursor *c;
	MDB_val k = { sizeof kb, kb }, d;
	bool found;

	memcpy(kb, origin, SL_KEY_LEN);
	put_be(kb + SL_KEY_LEN, seq, 8);
	if (mdb_cursor_open(txn, p->pfork, &c) != 0)
		return false;
	found = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE) == 0 &&
	    k.mv_size == PFORK_KEY_LEN && memcmp(k.mv_data, kb, sizeof kb) == 0;
	mdb_cursor_close(c);
	return found;
}

uint32_t
project_fork_seqs(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN])
{
	MDB_cursor *c;
	MDB_val k = { SL_KEY_LEN, (void *)origin }, d;
	uint64_t last = 0;
	uint32_t n = 0;
	int op = MDB_SET_RANGE;

	if (mdb_cursor_open(txn, p->pfork, &c) != 0)
		return 0;
	while (mdb_cursor_get(c, &k, &d, op) == 0) {
		uint64_t seq;

		op = MDB_NEXT;
		if (k.mv_size != PFORK_KEY_LEN ||
		    memcmp(k.mv_data, origin, SL_KEY_LEN) != 0)
			break;
		seq = sl_get_be((const uint8_t *)k.mv_data + SL_KEY_LEN, 8);
		n += n == 0 || seq != last;
		last = seq;
	}
	mdb_cursor_close(c);
	return n;
}

int
project_fork_proofs(struct project *p, MDB_txn *txn, project_fork_fn fn,
    void *ctx)
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc = 0;

	if (mdb_cursor_open(txn, p->pfork, &c) != 0)
		return SL_ESTORE;
	while (rc == 0 && mdb_cursor_get(c, &k, &d, MDB_NEXT) == 0) {
		struct project_fork x;
		const uint8_t *kp = k.mv_data;

		if (k.mv_size != PFORK_KEY_LEN || d.mv_size != 8)
			continue;
		memcpy(x.origin, kp, SL_KEY_LEN);
		x.seq = sl_get_be(kp + SL_KEY_LEN, 8);
		memcpy(x.prover, kp + SL_KEY_LEN + 8, SL_KEY_LEN);
		x.prover_seq = sl_get_be(kp + SL_KEY_LEN + 8 + SL_KEY_LEN, 8);
		x.hlc = sl_get_be(d.mv_data, 8);
		rc = fn(ctx, &x);
	}
	mdb_cursor_close(c);
	return rc;
}

/* ---- membership ---------------------------------------------------------- */

static bool
is_member_event(const struct sl_event *ev)
{
	return (ev->type_len > 7 && memcmp(ev->type, "member.", 7) == 0) ||
	    (ev->type_len > 7 && memcmp(ev->type, "device.", 7) == 0);
}

/* clock (8), type (1), org (32), upto (8), device (32), certified (1),
 * cuts (1), then 40 bytes a cut; the majority policy's ledgered (1),
 * ledger (32), term (8), act (1), sig (64), approvers (1), then 40 bytes
 * an approver (its key and the seq it names); and the name. */
#define PMEMBER_LEDGER (1 + SL_KEY_LEN + 8 + 1 + SL_SIG_LEN + 1)
#define PMEMBER_VAL_MIN (8 + 1 + SL_KEY_LEN + 8 + SL_KEY_LEN + 1 + 1 + \
	PMEMBER_LEDGER)
#define PMEMBER_CUT (SL_KEY_LEN + 8)
#define PMEMBER_VAL_MAX (PMEMBER_VAL_MIN + SL_CUTS_MAX * PMEMBER_CUT + \
	SL_APPROVALS_MAX * (SL_KEY_LEN + 8) + SL_ORG_MAX)

static size_t
pmember_pack(uint8_t *v, const struct sl_mev *e)
{
	size_t n = 9 + SL_KEY_LEN, nl = strlen(e->name);

	put_be(v, e->hlc, 8);
	v[8] = (uint8_t)e->type;
	memcpy(v + 9, e->org, SL_KEY_LEN);
	put_be(v + n, e->upto, 8);
	n += 8;
	memcpy(v + n, e->device, SL_KEY_LEN);
	n += SL_KEY_LEN;
	v[n++] = e->certified;
	v[n++] = (uint8_t)e->ncuts;
	for (uint32_t i = 0; i < e->ncuts; i++) {
		memcpy(v + n, e->cuts[i].device, SL_KEY_LEN);
		put_be(v + n + SL_KEY_LEN, e->cuts[i].upto, 8);
		n += PMEMBER_CUT;
	}
	v[n++] = e->ledgered;
	memcpy(v + n, e->ledger, SL_KEY_LEN);
	n += SL_KEY_LEN;
	put_be(v + n, e->term, 8);
	n += 8;
	v[n++] = (uint8_t)e->act;
	memcpy(v + n, e->sig, SL_SIG_LEN);
	n += SL_SIG_LEN;
	v[n++] = (uint8_t)e->napp;
	for (uint32_t i = 0; i < e->napp; i++) {
		memcpy(v + n, e->app[i], SL_KEY_LEN);
		put_be(v + n + SL_KEY_LEN, e->app_upto[i], 8);
		n += SL_KEY_LEN + 8;
	}
	memcpy(v + n, e->name, nl);
	return n + nl;
}

static bool
pmember_unpack(const uint8_t *v, size_t len, struct sl_mev *e)
{
	size_t n = 9 + SL_KEY_LEN, nl;

	if (len < PMEMBER_VAL_MIN || len > PMEMBER_VAL_MAX)
		return false;
	e->hlc = sl_get_be(v, 8);
	e->type = (enum sl_mev_type)v[8];
	memcpy(e->org, v + 9, SL_KEY_LEN);
	e->upto = sl_get_be(v + n, 8);
	n += 8;
	memcpy(e->device, v + n, SL_KEY_LEN);
	n += SL_KEY_LEN;
	e->certified = v[n++] != 0;
	e->ncuts = v[n++];
	if (e->ncuts > SL_CUTS_MAX || len < n + (size_t)e->ncuts * PMEMBER_CUT)
		return false;
	for (uint32_t i = 0; i < e->ncuts; i++) {
		memcpy(e->cuts[i].device, v + n, SL_KEY_LEN);
		e->cuts[i].upto = sl_get_be(v + n + SL_KEY_LEN, 8);
		n += PMEMBER_CUT;
	}
	if (len < n + PMEMBER_LEDGER)
		return false;
	e->ledgered = v[n++] != 0;
	memcpy(e->ledger, v + n, SL_KEY_LEN);
	n += SL_KEY_LEN;
	e->term = sl_get_be(v + n, 8);
	n += 8;
	e->act = (enum sl_mact)v[n++];
	memcpy(e->sig, v + n, SL_SIG_LEN);
	n += SL_SIG_LEN;
	e->napp = v[n++];
	if (e->napp > SL_APPROVALS_MAX || len < n + (size_t)e->napp *
	    (SL_KEY_LEN + 8))
		return false;
	for (uint32_t i = 0; i < e->napp; i++) {
		memcpy(e->app[i], v + n, SL_KEY_LEN);
		e->app_upto[i] = sl_get_be(v + n + SL_KEY_LEN, 8);
		n += SL_KEY_LEN + 8;
	}
	nl = len - n;
	if (nl > SL_ORG_MAX)
		return false;
	memcpy(e->name, v + n, nl);
	e->name[nl] = '\0';
	return true;
}

/* The membership events as pmember says in txn, in memory (not
 * necessarily settled): reloaded only if another generation was written
 * since.  NULL on a store error. */
static struct sl_members *
members_held(struct project *p, MDB_txn *txn)
{
	MDB_val gk = { 3, "gen" }, k, d;
	MDB_cursor *c;
	uint8_t anchor[SL_KEY_LEN] = { 0 }, inviter[SL_KEY_LEN];
	int rc = mdb_get(txn, p->pmember, &gk, &d);

	if (rc != 0 && rc != MDB_NOTFOUND)
		return NULL;
	if (rc == 0 && d.mv_size != 8)
		return NULL;
	if (p->members_ok && (rc == MDB_NOTFOUND ? memcmp(p->members_gen,
	    "\0\0\0\0\0\0\0\0", 8) == 0 : memcmp(p->members_gen,
	    d.mv_data, 8) == 0))
		return &p->members;
	memset(p->members_gen, 0, 8);
	if (rc == 0)
		memcpy(p->members_gen, d.mv_data, 8);
	p->no_devices = false;
	sl_members_free(&p->members);
	store_org_pub(p->s, anchor);
	sl_members_init(&p->members, anchor);
	/* A node that joined follows, on its own, only the ledger of the
	 * organisation it joined through (12.4). */
	if (store_meta_key(p->s, "inviter", inviter) == SL_OK)
		sl_members_set_inviter(&p->members, inviter);
	p->members_ok = false;
	p->no_devices = false;
	if (mdb_cursor_open(txn, p->pmember, &c) != 0)
		return NULL;
	while ((rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) == 0) {
		struct sl_mev e;
		const uint8_t *v = d.mv_data;

		if (k.mv_size != SL_KEY_LEN + 8)
			continue; /* "gen" */
		memset(&e, 0, sizeof e);
		if (!pmember_unpack(v, d.mv_size, &e)) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(e.origin, k.mv_data, SL_KEY_LEN);
		e.seq = sl_get_be((const uint8_t *)k.mv_data + SL_KEY_LEN, 8);
		if (sl_members_add(&p->members, &e) != SL_OK) {
			rc = ENOMEM;
			break;
		}
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return NULL;
	p->members_ok = true;
	return &p->members;
}

/* The members as pmember says in txn, settled. */
static const struct sl_members *
members_of(struct project *p, MDB_txn *txn)
{
	struct sl_members *ms = members_held(p, txn);

	if (ms != NULL && ms->dirty && sl_members_settle(ms) != SL_OK) {
		p->members_ok = false;
		p->no_devices = false;
		return NULL;
	}
	return ms;
}

/* Was the event seq of origin made after its organisation's retirement
 * took effect?  Such events stay in the log as evidence and change no
 * record (12.1).  Without a retirement held nothing is cut, and nothing
 * needs settling (a flood of admissions is not settled per event). */
static bool
cut_off(struct project *p, MDB_txn *txn, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq)
{
	const struct sl_members *ms = members_held(p, txn);
	const struct sl_device *dv;
	uint64_t upto;

	if (ms == NULL || ms->nretire == 0 ||
	    (ms = members_of(p, txn)) == NULL)
		return false;
	if (sl_members_signer(ms, origin, &upto))
		return seq > upto;
	/* A device that signs for no one (contested) folds as its own key,
	 * up to the cut-off a revocation gave it; any other key that signs
	 * for no member counts nowhere, as ingest has it (a thief's puppet,
	 * admitted by a device its organisation then revoked before the
	 * admission). */
	return (dv = sl_members_device(ms, origin)) == NULL ||
	    !dv->contested || seq > dv->upto;
}

/* A device key whose events the store holds, and the organisation it
 * signs for. */
struct held_org {
	uint8_t key[SL_KEY_LEN], org[SL_KEY_LEN];
};

/* The devices of ms whose events are held, each with its organisation
 * (*n of them; malloc'd, NULL if none).  SL_OK or SL_ENOMEM. */
static int
held_orgs(struct project *p, const struct sl_members *ms,
    struct held_org **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (ms->nd == 0)
		return SL_OK;
	if ((*out = malloc(ms->nd * sizeof **out)) == NULL)
		return SL_ENOMEM;
	for (size_t j = 0; j < ms->nd; j++) {
		if (store_tip_of(p->s, ms->d[j].key) == NULL)
			continue;
		memcpy((*out)[*n].key, ms->d[j].key, SL_KEY_LEN);
		memcpy((*out)[*n].org, sl_members_org_of(ms, ms->d[j].key),
		    SL_KEY_LEN);
		(*n)++;
	}
	return SL_OK;
}

/* Does a key whose events are held sign for another organisation in ms
 * than it did (before[0..nb))?  The records folded its events with the
 * organisation it had then (a decision's deciding organisation). */
static bool
org_moved(struct project *p, const struct sl_members *ms,
    const struct held_org *before, size_t nb)
{
	for (size_t i = 0; i < nb; i++)
		if (memcmp(sl_members_org_of(ms, before[i].key), before[i].org,
		    SL_KEY_LEN) != 0)
			return true;
	for (size_t j = 0; j < ms->nd; j++) {
		const uint8_t *key = ms->d[j].key;
		bool was = false;

		if (store_tip_of(p->s, key) == NULL ||
		    memcmp(sl_members_org_of(ms, key), key, SL_KEY_LEN) == 0)
			continue;
		for (size_t i = 0; i < nb && !was; i++)
			was = memcmp(before[i].key, key, SL_KEY_LEN) == 0;
		if (!was)
			return true;
	}
	return false;
}

/* Keeps a membership event; a retirement that cuts events the records
 * already hold, or a certificate that gives a key whose events they
 * hold another organisation, marks them for a rebuild. */
static int
members_apply(struct project *p, MDB_txn *txn, const struct sl_event *ev)
{
	struct sl_mev e;
	uint8_t kb[SL_KEY_LEN + 8], v[PMEMBER_VAL_MAX], gen[8];
	MDB_val k = { sizeof kb, kb }, d, gk = { 3, "gen" },
	    gd = { sizeof gen, gen }, rk = { 5, "recut" }, rd = { 0, "" };
	const struct sl_members *ms;
	struct held_org *before = NULL;
	size_t nb = 0;
	bool moved;
	int rc;

	if (sl_mev_decode(ev, &e) != SL_OK)
		return 0; /* says nothing this version can use */
	p->no_devices = false;
	/* An admission or a renaming cuts nothing and moves no key, nor
	 * does a certificate of a key none of whose events are held (a
	 * flood of either is not settled per event).  An entry of a
	 * majority's ledger may (a new voter can make a handoff count,
	 * which drops the old keeper's later entries): settled. */
	bool quiet = (e.type == SL_MEV_ADMIT && !e.ledgered) ||
	    e.type == SL_MEV_RENAME ||
	    (e.type == SL_MEV_DEVICE && store_tip_of(p->s, e.device) == NULL);

	if (!quiet && ((ms = members_of(p, txn)) == NULL ||
	    held_orgs(p, ms, &before, &nb) != SL_OK))
		return MDB_CORRUPTED;
	memcpy(kb, e.origin, SL_KEY_LEN);
	put_be(kb + SL_KEY_LEN, e.seq, 8);
	d = (MDB_val){ pmember_pack(v, &e), v };
	sl_random(gen, sizeof gen);
	/* The copy in memory takes the event too if it was current: no
	 * reload per event. */
	bool current = members_held(p, txn) != NULL;

	if ((rc = mdb_put(txn, p->pmember, &k, &d, 0)) != 0 ||
	    (rc = mdb_put(txn, p->pmember, &gk, &gd, 0)) != 0) {
		free(before);
		return rc;
	}
	if (current && sl_members_add(&p->members, &e) == SL_OK)
		memcpy(p->members_gen, gen, sizeof gen);
	else
		p->members_ok = false;
	if (quiet)
		return 0;
	if ((ms = members_of(p, txn)) == NULL) {
		free(before);
		return MDB_CORRUPTED;
	}
	moved = org_moved(p, ms, before, nb);
	free(before);
	if (moved) {
		log_info("a certificate gives a key whose events are held "
		    "another organisation: the records are rebuilt");
		return mdb_put(txn, p->pmeta, &rk, &rd, 0);
	}
	for (size_t i = 0; i < ms->nm + ms->nd; i++) {
		const uint8_t *key = i < ms->nm ? ms->m[i].org :
		    ms->d[i - ms->nm].key;
		const struct store_tip *t = store_tip_of(p->s, key);
		uint64_t upto = 0;
		bool signs;

		if (t == NULL)
			continue;
		signs = sl_members_signer(ms, key, &upto);
		/* A key that signs for no one now had its events folded as
		 * a member's (a contested device as its organisation's). */
		if ((signs && t->seq > upto) || !signs) {
			char o[SL_NODE_ID_TEXT + 1];

			sl_b32_encode(o, key, SL_KEY_LEN);
			log_info("a retirement or revocation cuts events of "
			    "%.10s (from %llu; it has %llu here): the records "
			    "are rebuilt without them", o, signs ?
			    (unsigned long long)upto + 1 : 1ULL,
			    (unsigned long long)t->seq);
			return mdb_put(txn, p->pmeta, &rk, &rd, 0);
		}
	}
	return 0;
}

const struct sl_members *
project_members(struct project *p, MDB_txn *txn)
{
	return members_of(p, txn);
}

void
project_members_forget(struct project *p)
{
	p->members_ok = false;
	p->no_devices = false;
}

static bool
is_node_org(const struct sl_event *ev)
{
	return ev->type_len == 8 && memcmp(ev->type, "node.org", 8) == 0;
}

/* The latest clock an event may carry to be folded now. */
static uint64_t
fold_limit(const struct project *p)
{
	return (sl_now_ms() + p->skew_ms) << 16;
}

/* Folds one event now, whatever its clock. */
static int
fold_now(struct project *p, MDB_txn *txn, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN])
{
	int rc;

	if (cut_off(p, txn, ev->origin, ev->seq))
		return 0; /* after its organisation's retirement (12.1) */
	if (is_node_org(ev))
		return nodes_apply(p, txn, ev);
	p->txn = txn;
	p->mdb_rc = 0;
	rc = sl_fold_event(&lmdb_ops, p, ev, hash);
	p->txn = NULL;
	if (rc == SL_OK)
		return 0;
	/* The LMDB code that stopped the fold, not a generic one: a full
	 * map reported as a damaged store stopped every append, ingest and
	 * rebuild once the projections filled the first map. */
	if (p->mdb_rc != 0)
		return p->mdb_rc;
	return rc == SL_ENOMEM ? ENOMEM : MDB_CORRUPTED;
}

/* Says, at most once a minute, that events wait for the clock: a member
 * with a clock ahead, or this node's own clock behind. */
static void
future_note(struct project *p, const struct sl_event *ev)
{
	uint64_t now = sl_now_ms(), ahead = SL_HLC_MS(ev->hlc) - now;
	char o[SL_NODE_ID_TEXT + 1];

	if (now < p->future_logged + (uint64_t)60 * 1000)
		return;
	p->future_logged = now;
	sl_b32_encode(o, ev->origin, SL_KEY_LEN);
	log_warn("holding events stamped further ahead of this node's clock "
	    "than max_skew (one of origin %.10s is %llu min ahead); they "
	    "change the records when the clock gets there.  If they come "
	    "from every member, check this node's clock", o,
	    (unsigned long long)(ahead / 60000));
}

/* The store's hook: fold, or put off an event from too far ahead. */
static bool
is_erasure(const struct sl_event *ev)
{
	return ev->type_len == sizeof SL_ERASE_TYPE - 1 &&
	    memcmp(ev->type, SL_ERASE_TYPE, ev->type_len) == 0;
}

/* An erasure, under the record it names (perase): by the live fold and
 * by a rebuild alike. */
static int
erasure_index(struct project *p, MDB_txn *txn, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN])
{
	uint8_t kb[SL_ID_LEN + SL_HASH_LEN], v[SL_KEY_LEN + 8];
	MDB_val k = { sizeof kb, kb }, d = { sizeof v, v };
	struct sl_erasure e;
	int rc;

	/* The content rules passed it; a body is always there. */
	if (ev->payload == NULL || sl_erasure_decode(ev->payload,
	    ev->payload_len, &e) != SL_OK)
		return 0;
	memcpy(kb, e.record, SL_ID_LEN);
	memcpy(kb + SL_ID_LEN, hash, SL_HASH_LEN);
	memcpy(v, ev->origin, SL_KEY_LEN);
	put_be(v + SL_KEY_LEN, ev->seq, 8);
	if ((rc = mdb_put(txn, p->perase, &k, &d, 0)) != 0)
		return rc;
	if (store_txn_erasure_applied(p->s, txn, hash) != 0)
		return 0;
	return mdb_put(txn, p->peopen, &k, &d, 0);
}

static int
project_fold(void *ctx, MDB_txn *txn, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN])
{
	struct project *p = ctx;
	uint8_t id[SL_ID_LEN];
	const struct sl_evtype *et;
	int rc;

	if ((rc = ckpt_check_arrival(p, txn, ev, hash)) != 0)
		return rc;
	if (is_checkpoint(ev))
		return ckpt_apply(p, txn, ev);
	if (is_fork_proof(ev))
		return fork_apply(p, txn, ev);
	if (is_member_event(ev))
		return members_apply(p, txn, ev);
	if (is_erasure(ev))
		return erasure_index(p, txn, ev, hash);
	if (!is_node_org(ev) && !sl_fold_target(ev, hash, id, &et))
		return 0; /* no record event: kept and relayed only */
	if (ev->hlc > fold_limit(p)) {
		uint8_t kb[FUT_KEY_LEN], ek[PEV_KEY_LEN];
		uint8_t st[2] = { SL_EV_FUTURE, SL_WHY_NONE };
		MDB_val k = { sizeof kb, kb }, d = { 0, "" };
		MDB_val pk = { sizeof ek, ek }, pd = { sizeof st, st };

		put_be(kb, ev->hlc, 8);
		memcpy(kb + 8, ev->origin, SL_KEY_LEN);
		put_be(kb + 8 + SL_KEY_LEN, ev->seq, 8);
		if ((rc = mdb_put(txn, p->pfuture, &k, &d, 0)) != 0)
			return rc;
		future_note(p, ev);
		/* Its record's history shows it waiting; the fold, when it
		 * comes, writes its verdict over this. */
		if (is_node_org(ev))
			return 0;
		pev_key(ek, id, ev->hlc, ev->origin, ev->seq);
		return mdb_put(txn, p->rec, &pk, &pd, 0);
	}
	return fold_now(p, txn, ev, hash);
}

int
project_erasure_read(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq, uint8_t *buf,
    struct sl_event *ev, struct sl_erasure *e)
{
	const uint8_t *rec;
	size_t len;

	if (store_txn_event(p->s, txn, origin, seq, &rec, &len) != SL_OK ||
	    len > SL_EVENT_MAX)
		return SL_ENOENT;
	if (buf != NULL) {
		memcpy(buf, rec, len);
		rec = buf;
	}
	if (sl_event_decode(ev, rec, len) != SL_OK || ev->payload == NULL ||
	    sl_erasure_decode(ev->payload, ev->payload_len, e) != SL_OK)
		return SL_ENOENT;
	return SL_OK;
}

/*
 * Does an erasure this node holds take field key out of event hash (of
 * origin; entity its record, NULL when it creates it)?  One whose own
 * event counts (a member's, not after a cut-off), that names the event
 * and the field, by the organisation that wrote the event or that
 * created its record (PROTOCOL.md 5.2).
 */
struct explain {
	struct project *p;
	MDB_txn *txn;
	const uint8_t *hash;
	const char *key;
	uint32_t klen;
	const uint8_t *eorg, *owner;
	bool yes;
};

static int
explain_cb(void *ctx, const uint8_t h[SL_HASH_LEN],
    const uint8_t origin[SL_KEY_LEN], uint64_t seq)
{
	struct explain *x = ctx;
	const struct sl_members *ms = members_of(x->p, x->txn);
	const uint8_t *zorg;
	struct sl_event ev;
	struct sl_erasure e;
	bool hit = false;

	bool took;

	if (project_erasure_read(x->p, x->txn, origin, seq, NULL, &ev, &e) !=
	    SL_OK || !sl_erasure_names(&e, x->key, x->klen))
		return SL_OK;
	/* One that took values out here keeps them out, whatever came
	 * since (its decision revoked, its author retired).  Else: one this
	 * node's policy does not apply (yet), or whose author does not
	 * count, explains nothing: the node keeps, and takes back, the
	 * values. */
	took = store_txn_erasure_took(x->p->s, x->txn, h);
	if (!took && ((x->p->erase_decision && (!e.has_decision ||
	    !project_decision_in_force(x->p, x->txn, e.decision))) ||
	    (ms != NULL && !sl_members_counts(ms, origin, seq))))
		return SL_OK;
	for (uint32_t i = 0; i < e.ntargets && !hit; i++)
		hit = memcmp(sl_erasure_target(&e, i), x->hash, SL_HASH_LEN) == 0;
	zorg = ms != NULL ? sl_members_org_of(ms, origin) : origin;
	if (hit && (memcmp(zorg, x->eorg, SL_KEY_LEN) == 0 ||
	    memcmp(zorg, x->owner, SL_KEY_LEN) == 0)) {
		x->yes = true;
		return 1;
	}
	return SL_OK;
}

bool
project_erasure_explains(struct project *p, MDB_txn *txn, const uint8_t *hash,
    const uint8_t *entity, const uint8_t *origin, const char *key,
    uint32_t klen)
{
	const struct sl_members *ms = members_of(p, txn);
	uint8_t id[SL_ID_LEN], owner[SL_KEY_LEN];
	struct explain x = { p, txn, hash, key, klen, NULL, NULL, false };
	MDB_val k = { SL_ID_LEN, id }, d;
	struct sl_rec r;

	x.eorg = ms != NULL ? sl_members_org_of(ms, origin) : origin;
	memcpy(owner, x.eorg, SL_KEY_LEN);
	if (entity != NULL) {
		memcpy(id, entity, SL_ID_LEN);
		/* The record's creator, as the fold keeps it. */
		if (mdb_get(txn, p->rec, &k, &d) == 0 &&
		    sl_rec_decode(&r, id, d.mv_data, d.mv_size) == SL_OK) {
			memcpy(owner, ms != NULL ? sl_members_org_of(ms,
			    r.c_origin) : r.c_origin, SL_KEY_LEN);
			sl_rec_free(&r);
		}
	} else {
		sl_entity_id(id, hash);
	}
	x.owner = owner;
	(void)project_erasures(p, txn, id, explain_cb, &x);
	return x.yes;
}

void
project_set_erasure(struct project *p, bool with_decision)
{
	p->erase_decision = with_decision;
}

bool
project_decision_in_force(struct project *p, MDB_txn *txn,
    const uint8_t id[SL_ID_LEN])
{
	struct sl_rec r;
	bool ok;

	if (project_get(p, txn, id, &r) != SL_OK)
		return false;
	ok = r.kind != NULL && r.kind->c == 'd' &&
	    (r.state == sl_schema_state(r.kind, "adopted") ||
	    r.state == sl_schema_state(r.kind, "amended"));
	sl_rec_free(&r);
	return ok;
}

/* The store's question before it takes a fuller copy of an event it
 * holds (PROTOCOL.md 5.2): does an erasure explain field key missing? */
static bool
project_explain(void *ctx, MDB_txn *txn, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN], const char *key, size_t klen)
{
	return project_erasure_explains(ctx, txn, hash, ev->entity, ev->origin,
	    key, (uint32_t)klen);
}

/*
 * The store's check: the schema's content rules, and a body.  An erasure
 * (PROTOCOL.md 5.2) takes the openings of committed fields out of a body,
 * never the body: a copy without one is a relay's doing (it could then
 * keep the whole copy from this node for good: our vector would say we
 * hold it), so it is refused like any other bad event, and the origin's
 * events come whole from another peer.
 */
static int
project_check(void *ctx, const char *type, size_t tlen, const uint8_t *entity,
    uint32_t n_parents, const uint8_t *payload, size_t plen,
    const uint8_t *opens, size_t olen, uint64_t hlc, const uint8_t *origin,
    const uint8_t *hash, char *why, size_t wlen)
{
	int rc;

	(void)ctx;
	if (payload == NULL) {
		snprintf(why, wlen, "its body is missing (a relay dropped it; "
		    "no signed erasure says so)");
		return SL_ESCHEMA;
	}
	if ((rc = sl_schema_check_event(type, tlen, entity, n_parents, payload,
	    plen, hlc, why, wlen)) != SL_OK ||
	    (rc = sl_schema_check_opens(type, tlen, opens, olen, why, wlen)) !=
	    SL_OK)
		return rc;
	(void)origin;
	(void)hash;
	return SL_OK;
}

uint64_t
project_future_count(struct project *p)
{
	MDB_txn *txn;
	MDB_stat st;
	uint64_t n = 0;

	if (store_read_begin(p->s, &txn) != SL_OK)
		return 0;
	if (mdb_stat(txn, p->pfuture, &st) == 0)
		n = st.ms_entries;
	mdb_txn_abort(txn);
	return n;
}

static int
due_txn(struct project *p, MDB_txn *txn, uint64_t *n)
{
	uint64_t limit = fold_limit(p);
	MDB_val k, d;
	int rc;

	for (;;) {
		MDB_cursor *c;
		uint8_t kb[FUT_KEY_LEN];
		const uint8_t *rec;
		size_t len;
		struct sl_event ev;
		uint8_t hash[SL_HASH_LEN];

		if ((rc = mdb_cursor_open(txn, p->pfuture, &c)) != 0)
			return rc;
		rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
		if (rc == 0 && k.mv_size == FUT_KEY_LEN)
			memcpy(kb, k.mv_data, FUT_KEY_LEN);
		mdb_cursor_close(c);
		if (rc == MDB_NOTFOUND)
			return 0;
		if (rc != 0)
			return rc;
		if (k.mv_size != FUT_KEY_LEN)
			return MDB_CORRUPTED;
		if (sl_get_be(kb, 8) > limit)
			return 0;
		k = (MDB_val){ FUT_KEY_LEN, kb };
		if ((rc = mdb_del(txn, p->pfuture, &k, NULL)) != 0)
			return rc;
		if (store_txn_event(p->s, txn, kb + 8, sl_get_be(kb + 8 +
		    SL_KEY_LEN, 8), &rec, &len) != SL_OK ||
		    sl_event_decode(&ev, rec, len) != SL_OK)
			return MDB_CORRUPTED;
		sl_event_hash(hash, &ev);
		if ((rc = fold_now(p, txn, &ev, hash)) != 0)
			return rc;
		(*n)++;
	}
}

int
project_anchor_changed(struct project *p)
{
	MDB_txn *txn;
	MDB_val k = { 5, "recut" }, d = { 0, "" };

	p->members_ok = false;
	p->no_devices = false;
	if (mdb_txn_begin(p->env, NULL, 0, &txn) != 0)
		return SL_ESTORE;
	if (mdb_put(txn, p->pmeta, &k, &d, 0) != 0) {
		mdb_txn_abort(txn);
		return SL_ESTORE;
	}
	return store_commit(p->s, txn) == 0 ? SL_OK : SL_ESTORE;
}

/* Has a retirement cut events the records still hold? */
static bool
recut_pending(struct project *p)
{
	MDB_txn *txn;
	MDB_val k = { 5, "recut" }, d;
	bool yes;

	if (store_read_begin(p->s, &txn) != SL_OK)
		return false;
	yes = mdb_get(txn, p->pmeta, &k, &d) == 0;
	mdb_txn_abort(txn);
	return yes;
}

int
project_due(struct project *p, uint64_t *np)
{
	MDB_txn *txn;
	uint64_t n = 0;
	int rc;

	if (np != NULL)
		*np = 0;
	if (recut_pending(p)) {
		char err[256];

		if (project_rebuild(p, &n, err, sizeof err) != SL_OK) {
			log_warn("%s", err);
			return SL_ESTORE;
		}
		n = 0;
	}
	if (project_future_count(p) == 0)
		return SL_OK;
	for (;;) {
		n = 0;
		if ((rc = mdb_txn_begin(p->env, NULL, 0, &txn)) != 0)
			break;
		if ((rc = due_txn(p, txn, &n)) != 0)
			mdb_txn_abort(txn);
		else
			rc = store_commit(p->s, txn);
		if (rc != MDB_MAP_FULL || store_grow_map(p->s) != SL_OK)
			break;
	}
	if (rc != 0)
		return SL_ESTORE;
	if (np != NULL)
		*np = n;
	return SL_OK;
}

/* ---- open, rebuild -------------------------------------------------------- */

static int
dbs_open(struct project *p, MDB_txn *txn, unsigned flags)
{
	static const char *const names[] = { "rec", "pidx",
		"pwait", "pfuture", "pnodes", "pmeta", "pmember",
		"pckpt", "pwit", "pcontra", "pfork", "perase", "peopen" };
	MDB_dbi *dbis[] = { &p->rec, &p->pidx, &p->pwait,
		&p->pfuture, &p->pnodes, &p->pmeta, &p->pmember,
		&p->pckpt, &p->pwit, &p->pcontra, &p->pfork, &p->perase,
		&p->peopen };
	int rc;

	for (size_t i = 0; i < sizeof dbis / sizeof dbis[0]; i++)
		if ((rc = mdb_dbi_open(txn, names[i], flags, dbis[i])) != 0)
			return rc;
	return 0;
}

int
project_renew(struct project *p)
{
	MDB_txn *txn;

	p->env = store_env(p->s);
	if (mdb_txn_begin(p->env, NULL, MDB_RDONLY, &txn) != 0)
		return SL_ESTORE;
	if (dbs_open(p, txn, 0) != 0) {
		mdb_txn_abort(txn);
		return SL_ESTORE;
	}
	return mdb_txn_commit(txn) == 0 ? SL_OK : SL_ESTORE;
}

static int
version_put(struct project *p, MDB_txn *txn)
{
	uint8_t v[8] = { 0, 0, 0, 0, 0, 0, 0, PROJECT_VERSION };
	MDB_val k = { 7, "version" }, d = { 8, v };

	return mdb_put(txn, p->pmeta, &k, &d, 0);
}

/*
 * Rebuilding.  Because the fold does not depend on order, a rebuild may
 * visit the events in whatever order is fastest: it lists every record
 * event as (id, clock, origin, seq), sorts the list and folds it through
 * the live path, so each record's events come one after another (its
 * parents first: they have smaller clocks) and the record and its event
 * index stay in the pages just touched.
 */
struct rb_item {
	uint8_t id[SL_ID_LEN];
	uint64_t hlc, seq;
	uint32_t oi;            /* index of the origin in store_tip_at() */
};

struct rb {
	struct project *p;
	struct rb_item *items;
	size_t n, cap;
	uint64_t limit;
	int rc;
};

static struct store *rb_store; /* for the comparator */

static int
rb_item_cmp(const void *a, const void *b)
{
	const struct rb_item *x = a, *y = b;
	int c = memcmp(x->id, y->id, SL_ID_LEN);

	if (c != 0)
		return c;
	if (x->hlc != y->hlc)
		return x->hlc < y->hlc ? -1 : 1;
	if (x->oi != y->oi)
		c = memcmp(store_tip_at(rb_store, x->oi)->origin,
		    store_tip_at(rb_store, y->oi)->origin, SL_KEY_LEN);
	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
rb_collect_cb(void *ctx, MDB_txn *txn, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN])
{
	struct rb *b = ctx;
	const struct sl_evtype *et;
	uint8_t id[SL_ID_LEN];

	if (is_member_event(ev))
		return members_apply(b->p, txn, ev);
	/* Every event is in the log already: the checkpoint compares its
	 * tips with all of them, no arrival check is needed. */
	if (is_checkpoint(ev))
		return ckpt_apply(b->p, txn, ev);
	if (is_fork_proof(ev))
		return fork_apply(b->p, txn, ev);
	if (is_erasure(ev))
		return erasure_index(b->p, txn, ev, hash);
	if (!is_node_org(ev) && !sl_fold_target(ev, hash, id, &et))
		return 0;
	if (ev->hlc > b->limit || is_node_org(ev))
		return project_fold(b->p, txn, ev, hash);
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		struct rb_item *ni = realloc(b->items, cap * sizeof *ni);

		if (ni == NULL)
			return ENOMEM;
		b->items = ni;
		b->cap = cap;
	}
	struct rb_item *it = &b->items[b->n++];

	memcpy(it->id, id, SL_ID_LEN);
	it->hlc = ev->hlc;
	it->seq = ev->seq;
	it->oi = 0;
	for (size_t i = 0; i < store_origin_count(b->p->s); i++)
		if (memcmp(store_tip_at(b->p->s, i)->origin, ev->origin,
		    SL_KEY_LEN) == 0)
			it->oi = (uint32_t)i;
	return 0;
}

/* Commits the rebuild so far and opens the next transaction: LMDB keeps
 * every page a transaction dirtied in a cache for later reuse, so one
 * huge transaction would leave the daemon holding the whole projection's
 * size in memory for good. */
#define RB_CHUNK 5000

static int
rb_chunk(struct project *p, MDB_txn **txn)
{
	int rc = store_commit(p->s, *txn);

	*txn = NULL;
	if (rc != 0)
		return rc;
	return mdb_txn_begin(p->env, NULL, 0, txn);
}

/*
 * A rebuild's fold leaves pidx alone (p->bulk); rb_index then writes
 * every record's keys, derived from the record as the live fold derives
 * them, so the tree holds the same keys (test_fold compares the bytes).
 * They go in sorted batches, each written from left to right through the
 * tree, where the fold would put them at random places one by one.
 */
#define RB_KEYS_BUDGET ((size_t)16 << 20)
static size_t rb_budget = RB_KEYS_BUDGET;

void
project_test_rebuild_batch(size_t bytes)
{
	rb_budget = bytes > 0 ? bytes : RB_KEYS_BUDGET;
}

struct rb_keys {
	uint8_t *buf;           /* keys, each its length (1) and bytes */
	size_t len, n;
	size_t *off;            /* n offsets into buf */
};

static const uint8_t *rb_keys_buf; /* for the comparator */

static int
rb_key_cmp(const void *a, const void *b)
{
	const uint8_t *x = rb_keys_buf + *(const size_t *)a;
	const uint8_t *y = rb_keys_buf + *(const size_t *)b;
	int c = memcmp(x + 1, y + 1, x[0] < y[0] ? x[0] : y[0]);

	/* LMDB's order: bytes, then the shorter first. */
	return c != 0 ? c : (x[0] > y[0]) - (x[0] < y[0]);
}

/* Writes the batch, sorted, and empties it; commits every RB_CHUNK. */
static int
rb_keys_flush(struct project *p, MDB_txn **txn, struct rb_keys *kb)
{
	MDB_val empty = { 0, "" };
	int rc;

	rb_keys_buf = kb->buf;
	qsort(kb->off, kb->n, sizeof *kb->off, rb_key_cmp);
	for (size_t i = 0; i < kb->n; i++) {
		uint8_t *k = kb->buf + kb->off[i];
		MDB_val key = { k[0], k + 1 };

		if ((rc = mdb_put(*txn, p->pidx, &key, &empty, 0)) != 0)
			return rc;
		if ((i + 1) % ((size_t)4 * RB_CHUNK) == 0 &&
		    (rc = rb_chunk(p, txn)) != 0)
			return rc;
	}
	kb->len = kb->n = 0;
	return rb_chunk(p, txn);
}

static int
rb_index(struct project *p, MDB_txn **txn)
{
	/* A record's keys fit in MAX_KEYS * (1 + IDX_KEY_MAX) bytes. */
	size_t cap = rb_budget + (size_t)MAX_KEYS * (1 + IDX_KEY_MAX);
	struct rb_keys kb = { .buf = malloc(cap),
		.off = malloc(cap / (1 + 3 + IDX_SUFFIX) * sizeof(size_t)) };
	uint8_t at[SL_ID_LEN] = { 0 };
	MDB_cursor *c = NULL;
	MDB_val k = { SL_ID_LEN, at }, d;
	int rc;

	if (kb.buf == NULL || kb.off == NULL) {
		rc = ENOMEM;
		goto out;
	}
	if ((rc = mdb_cursor_open(*txn, p->rec, &c)) != 0)
		goto out;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = rec_next_id(c, &k, &d, at)) {
		struct sl_rec r;

		if (k.mv_size != SL_ID_LEN)
			continue; /* an id's first key is its record */
		if (sl_rec_decode(&r, k.mv_data, d.mv_data, d.mv_size) !=
		    SL_OK) {
			rc = MDB_CORRUPTED;
			goto out;
		}
		keyset_of(&p->after, &r);
		sl_rec_free(&r);
		for (int i = 0; i < p->after.n; i++) {
			kb.off[kb.n++] = kb.len;
			kb.buf[kb.len++] = p->after.len[i];
			memcpy(kb.buf + kb.len, p->after.k[i], p->after.len[i]);
			kb.len += p->after.len[i];
		}
		if (kb.len < rb_budget)
			continue;
		/* The commits in the flush end the cursor: take it up
		 * again after this id. */
		memcpy(at, k.mv_data, SL_ID_LEN);
		mdb_cursor_close(c);
		c = NULL;
		if ((rc = rb_keys_flush(p, txn, &kb)) != 0 ||
		    (rc = mdb_cursor_open(*txn, p->rec, &c)) != 0)
			goto out;
		k = (MDB_val){ SL_ID_LEN, at };
		if ((rc = mdb_cursor_get(c, &k, &d, MDB_SET_KEY)) != 0)
			goto out;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc == 0 && kb.n > 0) {
		mdb_cursor_close(c);
		c = NULL;
		rc = rb_keys_flush(p, txn, &kb);
	}
out:
	if (c != NULL)
		mdb_cursor_close(c);
	p->after.n = 0;
	free(kb.buf);
	free(kb.off);
	return rc;
}

static int
rebuild_txn(struct project *p, MDB_txn **txnp, uint64_t *events)
{
	MDB_dbi drop[] = { p->rec, p->pidx, p->pwait,
		p->pfuture, p->pnodes, p->pmember, p->pckpt, p->pwit,
		p->pcontra, p->pfork, p->perase, p->peopen };
	MDB_txn *txn = *txnp;
	MDB_val rk = { 5, "recut" };
	MDB_val vk = { 7, "version" };
	struct rb b = { .p = p, .limit = fold_limit(p) };
	uint64_t n = 0;
	int rc;

	p->bulk = true;
	/* The version goes first and comes back last: a rebuild cut short
	 * leaves no version, and the next start rebuilds again. */
	if ((rc = mdb_del(txn, p->pmeta, &vk, NULL)) != 0 &&
	    rc != MDB_NOTFOUND)
		goto out;
	for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
		if ((rc = mdb_drop(txn, drop[i], 0)) != 0)
			goto out;
	if ((rc = mdb_del(txn, p->pmeta, &rk, NULL)) != 0 &&
	    rc != MDB_NOTFOUND)
		goto out;
	p->members_ok = false;
	p->no_devices = false;
	/* The scan folds membership events as it meets them, so every
	 * cut-off is known before the first record event is folded. */
	if ((rc = store_txn_scan(p->s, txn, rb_collect_cb, &b, &n)) != 0)
		goto out;
	/* The scan met the retirements again and marked them (the cut
	 * events stay in the log): this rebuild is the one they asked
	 * for, or the next project_due would rebuild again, for good. */
	if ((rc = mdb_del(txn, p->pmeta, &rk, NULL)) != 0 &&
	    rc != MDB_NOTFOUND)
		goto out;
	if ((rc = rb_chunk(p, &txn)) != 0)
		goto out;
	rb_store = p->s;
	if (b.n > 0)
		qsort(b.items, b.n, sizeof *b.items, rb_item_cmp);
	for (size_t i = 0; i < b.n; i++) {
		const struct rb_item *it = &b.items[i];
		const uint8_t *rec;
		size_t len;
		struct sl_event ev;
		uint8_t hash[SL_HASH_LEN];

		if (store_txn_event(p->s, txn, store_tip_at(p->s, it->oi)->origin,
		    it->seq, &rec, &len) != SL_OK ||
		    sl_event_decode(&ev, rec, len) != SL_OK) {
			rc = MDB_CORRUPTED;
			goto out;
		}
		sl_event_hash(hash, &ev);
		if ((rc = fold_now(p, txn, &ev, hash)) != 0)
			goto out;
		if ((i + 1) % RB_CHUNK == 0 && (rc = rb_chunk(p, &txn)) != 0)
			goto out;
	}
	p->bulk = false;
	free(b.items);          /* rb_index's batches take its place */
	b.items = NULL;
	if ((rc = rb_index(p, &txn)) != 0)
		goto out;
	rc = version_put(p, txn);
	*events = n;
out:
	p->bulk = false;
	free(b.items);
	*txnp = txn;
	return rc;
}

int
project_rebuild(struct project *p, uint64_t *events, char *err,
    size_t errlen)
{
	MDB_txn *txn;
	uint64_t n = 0;
	int rc;

	for (;;) {
		if ((rc = mdb_txn_begin(p->env, NULL, 0, &txn)) != 0)
			break;
		if ((rc = rebuild_txn(p, &txn, &n)) != 0) {
			if (txn != NULL)
				mdb_txn_abort(txn);
		} else {
			rc = store_commit(p->s, txn);
		}
		if (rc != MDB_MAP_FULL || store_grow_map(p->s) != SL_OK)
			break;
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot rebuild the records: %s (they "
		    "stay incomplete until a rebuild finishes; samlogd tries "
		    "again when it starts)", mdb_strerror(rc));
		return rc == MDB_MAP_FULL ? SL_EFULL : SL_ESTORE;
	}
	if (events != NULL)
		*events = n;
	return SL_OK;
}

/* Deletes the trees of older versions that this one keeps elsewhere
 * (the rebuild that follows fills their replacements). */
static int
legacy_drop(MDB_txn *txn)
{
	static const char *const names[] = { "pev", "phead", "pevm" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		MDB_dbi dbi;
		int rc = mdb_dbi_open(txn, names[i], 0, &dbi);

		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0 || (rc = mdb_drop(txn, dbi, 1)) != 0)
			return rc;
	}
	return 0;
}

int
project_open(struct project **out, struct store *s, char *err, size_t errlen)
{
	struct project *p = calloc(1, sizeof *p);
	MDB_txn *txn;
	MDB_val k = { 7, "version" }, d;
	bool rebuild = true;
	uint64_t was = 0;
	int rc;

	*out = NULL;
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return SL_ENOMEM;
	}
	p->s = s;
	p->env = store_env(s);
	p->skew_ms = PROJECT_SKEW_DEFAULT_MS;
	if ((rc = mdb_txn_begin(p->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = dbs_open(p, txn, MDB_CREATE)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if (mdb_get(txn, p->pmeta, &k, &d) == 0 && d.mv_size == 8 &&
	    (was = sl_get_be(d.mv_data, 8)) == PROJECT_VERSION)
		rebuild = false;
	/* The old trees go with the old version, in one commit: a rebuild
	 * cut short must not leave a store its version would read without
	 * them (its samlogd, gone back to, would not rebuild; with no
	 * version, it does). */
	if (rebuild && (((rc = mdb_del(txn, p->pmeta, &k, NULL)) != 0 &&
	    rc != MDB_NOTFOUND) || (rc = legacy_drop(txn)) != 0)) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = store_commit(p->s, txn)) != 0)
		goto fail;
	if (rebuild) {
		uint64_t n = store_event_count(s), t0 = sl_now_ms();

		/* A store of another version (an upgrade), or whose rebuild
		 * was cut short: say why the start takes longer than usual. */
		if (n > 0 && was != 0)
			log_info("the records are kept in format %llu, this "
			    "samlogd's is %d: rebuilding them from the %llu "
			    "events of the log", (unsigned long long)was,
			    PROJECT_VERSION, (unsigned long long)n);
		else if (n > 0)
			log_info("the records' last rebuild did not finish: "
			    "rebuilding them from the %llu events of the log",
			    (unsigned long long)n);
		if ((rc = project_rebuild(p, NULL, err, errlen)) != SL_OK) {
			free(p->g.p);
			free(p);
			return rc;
		}
		if (n > 0)
			log_info("records rebuilt in %.1f s",
			    (double)(sl_now_ms() - t0) / 1000);
	}
	store_set_hook(s, project_fold, p);
	store_set_check(s, project_check, p);
	store_set_explain(s, project_explain, p);
	*out = p;
	return SL_OK;
fail:
	snprintf(err, errlen, "cannot open the records: %s", mdb_strerror(rc));
	free(p);
	return SL_ESTORE;
}

void
project_close(struct project *p)
{
	if (p == NULL)
		return;
	store_set_hook(p->s, NULL, NULL);
	store_set_check(p->s, NULL, NULL);
	store_set_explain(p->s, NULL, NULL);
	sl_members_free(&p->members);
	free(p->g.p);
	free(p);
}

void
project_set_skew(struct project *p, uint64_t ms)
{
	/* A node's clock follows its peers' only up to half the skew
	 * ahead: its own events then stay within the skew of a node whose
	 * clock is as far behind, so an honest member's edits never wait. */
	p->skew_ms = ms;
	store_set_follow(p->s, ms / 2);
}

/* ---- queries ---------------------------------------------------------------- */

int
project_get(struct project *p, MDB_txn *txn, const uint8_t id[SL_ID_LEN],
    struct sl_rec *r)
{
	MDB_val k = { SL_ID_LEN, (void *)id }, d;
	int rc = mdb_get(txn, p->rec, &k, &d);

	memset(r, 0, sizeof *r);
	if (rc == MDB_NOTFOUND)
		return SL_ENOENT;
	if (rc != 0)
		return SL_ESTORE;
	if ((rc = sl_rec_decode(r, id, d.mv_data, d.mv_size)) != SL_OK)
		return rc;
	if (r->kind == NULL) {
		sl_rec_free(r);
		return SL_ENOENT;
	}
	return SL_OK;
}

int
project_meta(struct project *p, MDB_txn *txn, const uint8_t h[SL_HASH_LEN],
    struct sl_evmeta *m)
{
	memset(m, 0, sizeof *m);
	return sl_of(verdict_get(p, txn, h, m));
}

struct head_sort {
	uint8_t h[SL_HASH_LEN];
	struct sl_evmeta m;
};

static int
head_cmp(const void *a, const void *b)
{
	const struct head_sort *x = a, *y = b;

	if (x->m.hlc != y->m.hlc)
		return x->m.hlc < y->m.hlc ? -1 : 1;
	return memcmp(x->m.origin, y->m.origin, SL_KEY_LEN);
}

uint32_t
project_heads(struct project *p, MDB_txn *txn, const uint8_t id[SL_ID_LEN],
    uint8_t (*out)[SL_HASH_LEN], uint32_t max)
{
	struct head_sort hs[SL_MAX_PARENTS];
	MDB_cursor *c;
	uint8_t from[SL_ID_LEN + 1];
	MDB_val k = { sizeof from, from }, d;
	uint32_t n = 0, kept = 0;
	int rc;

	rec_sub(from, id, HEAD_TAG);
	if (mdb_cursor_open(txn, p->rec, &c) != 0)
		return 0;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != HEAD_KEY_LEN ||
		    memcmp(k.mv_data, from, sizeof from) != 0)
			break;
		/* A record a member has split into thousands of heads
		 * costs a write no more than one with a few. */
		if (kept == SL_MAX_PARENTS)
			break;
		memcpy(hs[kept].h, (const uint8_t *)k.mv_data + SL_ID_LEN + 1,
		    SL_HASH_LEN);
		if (project_meta(p, txn, hs[kept].h, &hs[kept].m) != SL_OK)
			memset(&hs[kept].m, 0, sizeof hs[kept].m);
		kept++;
		n++;
	}
	mdb_cursor_close(c);
	qsort(hs, kept, sizeof hs[0], head_cmp);
	for (uint32_t i = 0; i < kept && i < max && out != NULL; i++)
		memcpy(out[i], hs[i].h, SL_HASH_LEN);
	return n;
}

bool
project_label(const struct sl_rec *r, char *out, size_t outlen)
{
	out[0] = '\0';
	if (r->kind == NULL || r->kind->nfields == 0)
		return false;
	return project_str(r, r->kind->fields[0].name, out, outlen);
}

bool
project_archived(const struct sl_rec *r)
{
	const struct sl_recfield *f = sl_rec_get(r, "archived");
	struct sl_mp m;
	bool b = false;

	if (f == NULL)
		return false;
	sl_mp_init(&m, f->val, f->len);
	return sl_mp_read_bool(&m, &b) == SL_OK && b;
}

static bool
kind_in(const char *kinds, char c)
{
	return kinds == NULL || kinds[0] == '\0' ||
	    (c != 0 && strchr(kinds, c) != NULL);
}

#define CAND_MORE ", and more"

/* Adds "ID (label)" to the candidates, or once there is no room for it
 * (and the mark after it), says that there are more. */
static void
cand_add(char *cands, size_t candlen, const uint8_t id[SL_ID_LEN],
    const char *label)
{
	char text[SL_ID_TEXT + 1];
	size_t used = strlen(cands), more = sizeof CAND_MORE - 1;

	if (used >= more && strcmp(cands + used - more, CAND_MORE) == 0)
		return;
	sl_b32_encode(text, id, SL_ID_LEN);
	if (used + SL_ID_TEXT + strlen(label) + 6 + more < candlen)
		snprintf(cands + used, candlen - used, "%s%s%s%s%s",
		    used ? ", " : "", text, label[0] ? " (" : "", label,
		    label[0] ? ")" : "");
	else if (used > 0 && used + more < candlen)
		snprintf(cands + used, candlen - used, "%s", CAND_MORE);
}

/* Records of kinds whose id begins with prefix. */
static int
resolve_prefix(struct project *p, MDB_txn *txn, const char *prefix,
    const char *kinds, uint8_t id[SL_ID_LEN], char *cands, size_t candlen,
    int *found)
{
	size_t n = strlen(prefix);
	char full[SL_ID_TEXT + 1];
	uint8_t lo[SL_ID_LEN];
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	/* The smallest id with this prefix: the prefix padded with '0'. */
	memset(full, '0', SL_ID_TEXT);
	memcpy(full, prefix, n);
	full[SL_ID_TEXT] = '\0';
	for (size_t i = 0; i < n; i++)
		full[i] = (char)tolower((unsigned char)full[i]);
	if (!sl_b32_decode(lo, SL_ID_LEN, full)) {
		/* Spare bits set in the last character: clear them. */
		full[SL_ID_TEXT - 1] = '0';
		if (!sl_b32_decode(lo, SL_ID_LEN, full))
			return SL_EINVAL;
	}
	if (mdb_cursor_open(txn, p->rec, &c) != 0)
		return SL_ESTORE;
	k = (MDB_val){ SL_ID_LEN, lo };
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = rec_next_id(c, &k, &d, lo)) {
		char text[SL_ID_TEXT + 1], label[SL_TEXT_MAX + 1];
		struct sl_rec r;

		if (k.mv_size < SL_ID_LEN)
			break;
		sl_b32_encode(text, k.mv_data, SL_ID_LEN);
		if (strncasecmp(text, prefix, n) != 0)
			break;
		/* An id's events and heads, with no record (yet), or
		 * the verdict of an event whose hash begins so. */
		if (k.mv_size != SL_ID_LEN)
			continue;
		if (sl_rec_decode(&r, k.mv_data, d.mv_data, d.mv_size) != SL_OK)
			continue;
		bool match = r.kind != NULL && r.kind->record &&
		    kind_in(kinds, r.kind->c);

		project_label(&r, label, sizeof label);
		sl_rec_free(&r);
		if (!match)
			continue;
		if ((*found)++ == 0)
			memcpy(id, k.mv_data, SL_ID_LEN);
		cand_add(cands, candlen, k.mv_data, label);
	}
	mdb_cursor_close(c);
	return SL_OK;
}

/* Records of kinds whose label is name (active ones first). */
static int
resolve_name(struct project *p, MDB_txn *txn, const char *name,
    const char *kinds, uint8_t id[SL_ID_LEN], char *cands, size_t candlen,
    int *found)
{
	uint8_t want[IDX_VAL_MAX + 1];
	size_t wn = sl_text_key(name, strlen(name), want, IDX_VAL_MAX);
	int archived = 0;
	uint8_t arch_id[SL_ID_LEN] = { 0 };
	char arch_cands[512] = "", fname[4 * SL_TEXT_MAX + 4];

	sl_text_fold(name, strlen(name), fname, sizeof fname);

	for (size_t ki = 0; sl_schema_kind_at(ki) != NULL; ki++) {
		const struct sl_kind *k = sl_schema_kind_at(ki);
		uint8_t start[IDX_KEY_MAX];
		MDB_cursor *c;
		MDB_val key, d;
		int rc;

		if (!k->record || !kind_in(kinds, k->c) || k->nfields == 0 ||
		    !(k->fields[0].flags & (SL_FF_INDEX | SL_FF_SORT)))
			continue;
		start[0] = (uint8_t)k->c;
		start[1] = 'A';
		memcpy(start + 2, want, wn);
		start[2 + wn] = 0;
		if (mdb_cursor_open(txn, p->pidx, &c) != 0)
			return SL_ESTORE;
		key = (MDB_val){ 3 + wn, start };
		for (rc = mdb_cursor_get(c, &key, &d, MDB_SET_RANGE); rc == 0;
		    rc = mdb_cursor_get(c, &key, &d, MDB_NEXT)) {
			const uint8_t *kb = key.mv_data;
			char label[SL_TEXT_MAX + 1], fl[4 * SL_TEXT_MAX + 4];
			struct sl_rec r;
			bool arch;

			const uint8_t *kid = kb + key.mv_size - SL_ID_LEN;

			if (key.mv_size < 3 + wn + IDX_SUFFIX ||
			    memcmp(kb, start, 3 + wn) != 0)
				break;
			if (project_get(p, txn, kid, &r) != SL_OK)
				continue;
			project_label(&r, label, sizeof label);
			arch = project_archived(&r);
			sl_rec_free(&r);
			/* The key is cut at IDX_VAL_MAX: compare in full. */
			sl_text_fold(label, strlen(label), fl, sizeof fl);
			if (strcmp(fl, fname) != 0)
				continue;
			if (arch) {
				if (archived++ == 0)
					memcpy(arch_id, kid, SL_ID_LEN);
				cand_add(arch_cands, sizeof arch_cands,
				    kid, label);
				continue;
			}
			if ((*found)++ == 0)
				memcpy(id, kid, SL_ID_LEN);
			cand_add(cands, candlen, kid, label);
		}
		mdb_cursor_close(c);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return SL_ESTORE;
	}
	if (*found == 0 && archived > 0) {
		*found = archived;
		memcpy(id, arch_id, SL_ID_LEN);
		snprintf(cands, candlen, "%s", arch_cands);
	}
	return SL_OK;
}

int
project_resolve(struct project *p, MDB_txn *txn, const char *text,
    const char *kinds, uint8_t id[SL_ID_LEN], char *cands, size_t candlen)
{
	size_t n = strlen(text);
	int found = 0, rc;

	cands[0] = '\0';
	if (n >= 4 && n <= SL_ID_TEXT && sl_b32_valid_prefix(text, n)) {
		uint8_t nid[SL_ID_LEN];
		char ncands[512] = "", ntext[SL_ID_TEXT + 1];
		int nfound = 0;

		rc = resolve_prefix(p, txn, text, kinds, id, cands, candlen,
		    &found);
		if (rc != SL_OK && rc != SL_EINVAL)
			return rc;
		if (found == 0)
			goto by_name;
		/* A whole id is that record, whatever anyone is named. */
		if (n == SL_ID_TEXT)
			return found > 1 ? SL_EAMBIG : SL_OK;
		/*
		 * A shorter prefix may also be a name ("Bygg"): ids are
		 * hashes a member can grind to begin with another's name,
		 * so a record of that name that is not the one the prefix
		 * found makes the text ambiguous, never silently the id.
		 */
		if ((rc = resolve_name(p, txn, text, kinds, nid, ncands,
		    sizeof ncands, &nfound)) != SL_OK)
			return rc;
		if (nfound == 0 || (found == 1 && nfound == 1 &&
		    memcmp(nid, id, SL_ID_LEN) == 0))
			return found > 1 ? SL_EAMBIG : SL_OK;
		sl_b32_encode(ntext, nid, SL_ID_LEN);
		if (strstr(cands, ntext) == NULL || nfound > 1) {
			size_t used = strlen(cands);

			snprintf(cands + used, candlen - used, "%s%s",
			    used ? ", " : "", ncands);
		}
		return SL_EAMBIG;
	}
by_name:
	if (n == 0 || n > SL_TEXT_MAX)
		return SL_EINVAL;
	cands[0] = '\0';
	if ((rc = resolve_name(p, txn, text, kinds, id, cands, candlen,
	    &found)) != SL_OK)
		return rc;
	return found == 0 ? SL_ENOENT : found > 1 ? SL_EAMBIG : SL_OK;
}

int
project_list(struct project *p, MDB_txn *txn, char kind, const char *field,
    const char *value, const char *from, const char *to, project_rec_fn fn,
    void *ctx)
{
	uint32_t fi;
	const struct sl_field *def = index_find(kind, field, &fi);
	uint8_t start[IDX_KEY_MAX], stop[IDX_KEY_MAX];
	size_t slen = 2, plen = 2, tlen = 0;
	MDB_cursor *c;
	MDB_val k, d;
	int rc, ret = SL_OK;

	if (def == NULL)
		return SL_EINVAL;
	start[0] = stop[0] = (uint8_t)kind;
	start[1] = stop[1] = (uint8_t)('A' + fi);
	if (value != NULL)      /* exact value: "value\0" + id */
		slen = plen = idx_prefix(start, kind, fi, value, strlen(value));
	else if (from != NULL)
		slen = 2 + sl_text_key(from, strlen(from), start + 2,
		    IDX_VAL_MAX);
	if (value == NULL && to != NULL) {
		size_t n = sl_text_key(to, strlen(to), stop + 2, IDX_VAL_MAX);

		tlen = 2 + n;
	}
	if (mdb_cursor_open(txn, p->pidx, &c) != 0)
		return SL_ESTORE;
	k = (MDB_val){ slen, start };
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *key = k.mv_data;
		struct sl_rec r;

		if (k.mv_size < 3 + IDX_SUFFIX || memcmp(key, start, plen) != 0)
			break;
		if (tlen > 0) {
			/* Range end: compare the value part up to its 0. */
			size_t vlen = k.mv_size - 2 - 1 - IDX_SUFFIX;
			size_t m = vlen < tlen - 2 ? vlen : tlen - 2;
			int cmp = memcmp(key + 2, stop + 2, m);

			if (cmp > 0 || (cmp == 0 && vlen > tlen - 2))
				break;
		}
		const uint8_t *id = key + k.mv_size - SL_ID_LEN;

		if (project_get(p, txn, id, &r) != SL_OK)
			continue;
		ret = fn(ctx, &r);
		sl_rec_free(&r);
		if (ret != 0)
			break;
	}
	mdb_cursor_close(c);
	if (ret == SL_OK && rc != 0 && rc != MDB_NOTFOUND)
		ret = SL_ESTORE;
	return ret;
}

/* One index walked for project_list_all. */
struct idx_walk {
	MDB_cursor *c;
	uint8_t key[IDX_KEY_MAX];
	size_t plen;                  /* the prefix's; IDX_SUFFIX follows */
	uint8_t at[IDX_SUFFIX];       /* where the cursor is (when placed) */
	bool placed;
};

/* Takes w's cursor key k as w's place if it is in w's value; false at the
 * end of the value's records. */
static bool
walk_at(struct idx_walk *w, const MDB_val *k)
{
	if (k->mv_size != w->plen + IDX_SUFFIX ||
	    memcmp(k->mv_data, w->key, w->plen) != 0)
		return false;
	memcpy(w->at, (const uint8_t *)k->mv_data + w->plen, IDX_SUFFIX);
	w->placed = true;
	return true;
}

/* Moves w to its first record at or after target (a creating clock and
 * an id, the order within every value); false when it holds none.
 * Targets only grow, so a walk already at or past one stays; one a
 * record short steps once, which costs far less than a search: the
 * walk of the value with fewer records mostly moves so. */
static bool
walk_seek(struct idx_walk *w, const uint8_t target[IDX_SUFFIX],
    const uint8_t **at, int *rc)
{
	MDB_val k, d;

	*at = w->at;
	if (w->placed) {
		if (memcmp(w->at, target, IDX_SUFFIX) >= 0)
			return true;
		if ((*rc = mdb_cursor_get(w->c, &k, &d, MDB_NEXT)) != 0 ||
		    !walk_at(w, &k))
			return false;
		if (memcmp(w->at, target, IDX_SUFFIX) >= 0)
			return true;
	}
	memcpy(w->key + w->plen, target, IDX_SUFFIX);
	k = (MDB_val){ w->plen + IDX_SUFFIX, w->key };
	return (*rc = mdb_cursor_get(w->c, &k, &d, MDB_SET_RANGE)) == 0 &&
	    walk_at(w, &k);
}

int
project_list_all(struct project *p, MDB_txn *txn, char kind, size_t n,
    const char *const *fields, const char *const *values, project_rec_fn fn,
    void *ctx)
{
	struct idx_walk w[PROJECT_LIST_ALL_MAX];
	uint8_t target[IDX_SUFFIX] = { 0 };
	size_t opened = 0;
	int rc = 0, ret = SL_OK;

	if (n == 0 || n > PROJECT_LIST_ALL_MAX)
		return SL_EINVAL;
	for (; opened < n; opened++) {
		uint32_t fi;

		if (index_find(kind, fields[opened], &fi) == NULL) {
			ret = SL_EINVAL;
			goto out;
		}
		if (mdb_cursor_open(txn, p->pidx, &w[opened].c) != 0) {
			ret = SL_ESTORE;
			goto out;
		}
		w[opened].plen = idx_prefix(w[opened].key, kind, fi,
		    values[opened], strlen(values[opened]));
		w[opened].placed = false;
	}
	/* Each index in turn seeks to the record all agree on so far; one
	 * that holds a later one moves the target there.  n agreeing in a
	 * row is a record in every list; records in only some are skipped
	 * without being read.  Every value's range is in the same order
	 * (creating clock, then id), so one target serves them all. */
	for (;;) {
		size_t agree = 0;
		const uint8_t *at;
		struct sl_rec r;

		for (size_t i = 0; agree < n; i = (i + 1) % n) {
			if (!walk_seek(&w[i], target, &at, &rc))
				goto out;
			if (memcmp(at, target, IDX_SUFFIX) == 0) {
				agree++;
			} else {
				memcpy(target, at, IDX_SUFFIX);
				agree = 1;
			}
		}
		if (project_get(p, txn, target + 8, &r) == SL_OK) {
			ret = fn(ctx, &r);
			sl_rec_free(&r);
			if (ret != 0)
				goto out;
		}
		if (!key_next(target, IDX_SUFFIX))
			goto out;
	}
out:
	while (opened > 0)
		mdb_cursor_close(w[--opened].c);
	if (ret == SL_OK && rc != 0 && rc != MDB_NOTFOUND)
		ret = SL_ESTORE;
	return ret;
}

int
project_history(struct project *p, MDB_txn *txn, const uint8_t id[SL_ID_LEN],
    uint64_t until, project_ev_fn fn, void *ctx)
{
	MDB_cursor *c;
	uint8_t from[SL_ID_LEN + 1];
	MDB_val k = { sizeof from, from }, d;
	int rc, ret = SL_OK;

	rec_sub(from, id, PEV_TAG);
	if (mdb_cursor_open(txn, p->rec, &c) != 0)
		return SL_ESTORE;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *key = k.mv_data;
		const uint8_t *rec;
		size_t len;
		struct sl_event ev;
		struct sl_evmeta m;
		uint8_t hash[SL_HASH_LEN];

		if (k.mv_size != PEV_KEY_LEN ||
		    memcmp(key, from, sizeof from) != 0)
			break;
		if (sl_get_be(key + PEV_HLC, 8) > until)
			break;
		if (store_txn_event(p->s, txn, key + PEV_ORIGIN,
		    sl_get_be(key + PEV_SEQ, 8), &rec,
		    &len) != SL_OK ||
		    sl_event_decode(&ev, rec, len) != SL_OK) {
			ret = SL_ESTORE;
			break;
		}
		sl_event_hash(hash, &ev);
		if (project_meta(p, txn, hash, &m) != SL_OK) {
			/* Not folded yet: waiting for the clock. */
			if (d.mv_size < 1 || ((const uint8_t *)d.mv_data)[0] !=
			    SL_EV_FUTURE) {
				ret = SL_ESTORE;
				break;
			}
			memset(&m, 0, sizeof m);
			memcpy(m.id, id, SL_ID_LEN);
			m.hlc = ev.hlc;
			memcpy(m.origin, ev.origin, SL_KEY_LEN);
			m.seq = ev.seq;
			m.status = SL_EV_FUTURE;
		}
		if ((ret = fn(ctx, &ev, hash, &m)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return ret;
}

struct as_of {
	struct sl_fold_mem *m;
	uint32_t eff;
};

static int
as_of_cb(void *ctx, const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN],
    const struct sl_evmeta *m)
{
	struct as_of *a = ctx;

	(void)hash;
	if (m->status == SL_EV_FUTURE)
		return SL_OK; /* as the live fold: not yet */
	/* Not in effect yet: left out, and so is every event after it
	 * (they wait for it as for a parent that never comes). */
	if (sl_event_effective(ev) > a->eff)
		return SL_OK;
	return sl_fold_mem_add(a->m, ev->rec, ev->rec_len);
}

int
project_as_of(struct project *p, MDB_txn *txn, const uint8_t id[SL_ID_LEN],
    uint64_t known, uint32_t eff, struct sl_rec *r)
{
	struct as_of a = { sl_fold_mem_new(), eff };
	int rc;

	memset(r, 0, sizeof *r);
	if (a.m == NULL)
		return SL_ENOMEM;
	if ((rc = project_history(p, txn, id, known, as_of_cb, &a)) == SL_OK)
		rc = sl_fold_mem_record(a.m, id, r);
	sl_fold_mem_free(a.m);
	return rc;
}

void
project_node_org(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], char *org, size_t len)
{
	project_org_at(p, txn, origin, UINT64_MAX, org, len);
}

void
project_org_at(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t hlc, char *org, size_t len)
{
	MDB_val k = { SL_KEY_LEN, (void *)origin }, d;
	const struct sl_members *ms = members_of(p, txn);
	const char *name;

	org[0] = '\0';
	/* A device speaks for its organisation (12.3). */
	if (ms != NULL)
		origin = sl_members_org_of(ms, origin);
	k.mv_data = (void *)origin;
	/* The name the log binds to the organisation (12.1); a node of an
	 * older version, or one no member has admitted, only announced
	 * one. */
	if (ms != NULL && (name = sl_members_name_at(ms, origin, hlc)) !=
	    NULL) {
		snprintf(org, len, "%s", name);
		return;
	}
	if (mdb_get(txn, p->pnodes, &k, &d) == 0 && d.mv_size > 16)
		snprintf(org, len, "%.*s", (int)(d.mv_size - 16),
		    (const char *)d.mv_data + 16);
	if (org[0] == '\0' || ms == NULL)
		return;
	/* An announcement is the node's own word: not a name another
	 * member holds, or it would speak as that member in every
	 * history (and none that is contested). */
	if (sl_members_name_holder(ms, org, origin) != NULL)
		org[0] = '\0';
}

uint64_t
project_node_org_seq(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN])
{
	MDB_val k = { SL_KEY_LEN, (void *)origin }, d;

	if (mdb_get(txn, p->pnodes, &k, &d) == 0 && d.mv_size > 16)
		return sl_get_be((const uint8_t *)d.mv_data + 8, 8);
	return 0;
}

int
project_dump(struct project *p, project_dump_fn fn, void *ctx)
{
	MDB_dbi dbs[] = { p->rec, p->pidx, p->pwait, p->pfuture,
		p->pnodes };
	MDB_txn *txn;
	int rc = 0;

	if (store_read_begin(p->s, &txn) != SL_OK)
		return SL_ESTORE;
	for (size_t i = 0; i < sizeof dbs / sizeof dbs[0] && rc == 0; i++) {
		MDB_cursor *c;
		MDB_val k, d;

		if ((rc = mdb_cursor_open(txn, dbs[i], &c)) != 0)
			break;
		while (mdb_cursor_get(c, &k, &d, MDB_NEXT) == 0)
			fn(ctx, k.mv_data, k.mv_size, d.mv_data, d.mv_size);
		mdb_cursor_close(c);
		fn(ctx, "|", 1, "|", 1); /* database boundary */
	}
	mdb_txn_abort(txn);
	return rc == 0 ? SL_OK : SL_ESTORE;
}

/* The erasures of dbi (of record id, or all), from key from on (NULL:
 * the first); fn's first return other than SL_OK ends it and is
 * returned. */
static int
erasures_in(MDB_dbi dbi, MDB_txn *txn, const uint8_t *id,
    const uint8_t *from, project_erasure_fn fn, void *ctx)
{
	MDB_cursor *c;
	MDB_val k = { id != NULL ? SL_ID_LEN : 0, (void *)id }, d;
	int rc = SL_OK, mrc;

	if (from != NULL)
		k = (MDB_val){ SL_ID_LEN + SL_HASH_LEN, (void *)from };
	if (mdb_cursor_open(txn, dbi, &c) != 0)
		return SL_ESTORE;
	for (mrc = mdb_cursor_get(c, &k, &d, id != NULL || from != NULL ?
	    MDB_SET_RANGE : MDB_FIRST); rc == SL_OK && mrc == 0;
	    mrc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data;

		if (k.mv_size != SL_ID_LEN + SL_HASH_LEN ||
		    d.mv_size != SL_KEY_LEN + 8)
			continue;
		if (id != NULL && memcmp(kp, id, SL_ID_LEN) != 0)
			break;
		rc = fn(ctx, kp + SL_ID_LEN, d.mv_data,
		    sl_get_be((const uint8_t *)d.mv_data + SL_KEY_LEN, 8));
	}
	mdb_cursor_close(c);
	return rc;
}

int
project_erasures(struct project *p, MDB_txn *txn, const uint8_t *id,
    project_erasure_fn fn, void *ctx)
{
	return erasures_in(p->perase, txn, id, NULL, fn, ctx);
}

int
project_erasures_open(struct project *p, MDB_txn *txn, const uint8_t *from,
    project_erasure_fn fn, void *ctx)
{
	return erasures_in(p->peopen, txn, NULL, from, fn, ctx);
}

int
project_erasure_done(struct project *p, MDB_txn *txn,
    const uint8_t record[SL_ID_LEN], const uint8_t hash[SL_HASH_LEN])
{
	uint8_t kb[SL_ID_LEN + SL_HASH_LEN];
	MDB_val k = { sizeof kb, kb };
	int rc;

	memcpy(kb, record, SL_ID_LEN);
	memcpy(kb + SL_ID_LEN, hash, SL_HASH_LEN);
	rc = mdb_del(txn, p->peopen, &k, NULL);
	return rc == 0 || rc == MDB_NOTFOUND ? SL_OK : SL_ESTORE;
}

int
project_erase_fields(struct project *p, MDB_txn *txn,
    const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN])
{
	struct sl_rec r;
	struct sl_evmeta m;
	uint8_t id[SL_ID_LEN];
	const struct sl_evtype *et;
	int rc;
	bool changed = false;

	/* Only the fields this event's value still wins change: what
	 * the fold of the erased copy would give (an erased field's
	 * commitment wins where its value won). */
	if (!sl_fold_target(ev, hash, id, &et) ||
	    project_meta(p, txn, hash, &m) != SL_OK ||
	    m.status != SL_EV_APPLIED)
		return SL_OK;
	p->txn = txn;
	if ((rc = be_rec_get(p, id, &r)) != SL_OK)
		return rc == SL_ENOENT ? SL_OK : rc;
	for (uint32_t i = 0; i < r.kind->nfields; i++) {
		const struct sl_field *f = &r.kind->fields[i];
		struct sl_recfield *rf = &r.f[i];
		struct sl_mp mp;
		uint32_t n;

		if (!(f->flags & SL_FF_PERSONAL) || rf->val == NULL ||
		    rf->hlc != ev->hlc ||
		    memcmp(rf->origin, ev->origin, SL_KEY_LEN) != 0 ||
		    sl_is_commitment(rf->val, rf->len))
			continue;
		/* Its commitment in the payload, if it has no opening now. */
		const uint8_t *ov;
		size_t ovl;

		if (sl_event_opening(ev, f->name, (uint32_t)strlen(f->name),
		    &ov, &ovl) == SL_OK)
			continue;
		sl_mp_init(&mp, ev->payload, ev->payload_len);
		if (sl_mp_read_map(&mp, &n, 256) != SL_OK)
			continue;
		for (uint32_t j = 0; j < n; j++) {
			const char *k;
			uint32_t kl;
			const uint8_t *v;
			size_t vl;

			if (sl_mp_read_str(&mp, &k, &kl, 0, SL_PAYLOAD_MAX) !=
			    SL_OK || sl_mp_skip(&mp, &v, &vl) != SL_OK)
				break;
			if (kl != strlen(f->name) ||
			    memcmp(k, f->name, kl) != 0)
				continue;
			if (sl_is_commitment(v, vl)) {
				uint8_t *nv = malloc(vl);

				if (nv == NULL) {
					sl_rec_free(&r);
					return SL_ENOMEM;
				}
				memcpy(nv, v, vl);
				free(rf->val);
				rf->val = nv;
				rf->len = (uint32_t)vl;
				changed = true;
			}
			break;
		}
	}
	rc = changed ? be_rec_put(p, &r) : SL_OK;
	sl_rec_free(&r);
	return rc;
}
