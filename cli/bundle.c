/*
 * bundle.c - samlog audit ID --out FILE, and samlog audit --check FILE.
 *
 * The daemon builds the bundle (daemon/audit.c; format in PROTOCOL.md
 * section 13); the CLI checks every bundle it writes before writing it,
 * and checks any bundle offline with nothing but the file: no daemon, no
 * node directory, no network.  What a check proves:
 *
 *   - every record is well formed, every body present matches its
 *     payload hash and keeps the content rules, and each origin's
 *     clock rises along its chain (what every node checks at ingest);
 *   - every record is covered: it links through unbroken prev hashes to
 *     a later (or the same) event of its origin whose Ed25519 signature
 *     verifies under that origin's key, and every signature present
 *     verifies;
 *   - the record's history is closed: it has its creating event, and
 *     every parent any of its events names is in the bundle (another
 *     record's event, header only, when one names that) or declared
 *     missing by the exporter;
 *   - the statement (record, exporter, time, version vector, records) is
 *     signed by the exporting node, and agrees with the records' chains;
 *   - no other organisation's checkpoint in the bundle names another
 *     event at a seq the bundle holds, or a chain's end beyond the
 *     vector's (PROTOCOL.md 15.3); those that cover the record's events
 *     are counted as its witnesses.
 *
 * It then folds the record from its events exactly as every node does
 * (field by field, greatest (clock, origin) wins) and prints the state
 * and the history.  What it cannot prove is that the exporter left
 * nothing out: a later event the exporting node did not hold is not in
 * its statement.  The vector says how much of each origin's chain it
 * held, so two bundles, or a bundle and another node's log, can be
 * compared.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "chains.h"
#include "fileio.h"
#include "pins.h"
#include "request.h"
#include "samlog_proto.h"

struct vec {
	const uint8_t *origin, *hash;
	uint64_t seq;
};

struct hidx {
	uint8_t h[SL_HASH_LEN];
	uint32_t i;             /* in b->ev */
};

struct bundle {
	const char *file;
	uint8_t id[SL_ID_LEN];
	const char *kind;
	uint32_t kind_len;
	const uint8_t *exporter;
	const char *org;
	uint32_t org_len;
	uint64_t time_ms;
	struct vec *vec;
	uint32_t nvec;
	struct chain_ev *ev;         /* sorted by (origin, seq) */
	uint32_t nev;
	uint32_t nmissing;
	uint8_t (*miss)[SL_HASH_LEN]; /* parents the exporter did not hold,
				       * sorted */
	struct hidx *all;       /* every record's hash, sorted, and index */
	uint32_t *foreign;      /* other records' events that the record's
				 * name as parents (indices in ev) */
	uint32_t nforeign;
	struct sl_fold_mem *fold;
	uint32_t nsigs, norigins, nsubject;
	const uint8_t **wit;    /* the origins that witness the record's
				 * chains (PROTOCOL.md 15.4) */
	uint32_t nwit;
	char err[512];
};

static bool
bad(struct bundle *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool
bad(struct bundle *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->err, sizeof b->err, fmt, ap);
	va_end(ap);
	return false;
}

static int
vec_cmp(const void *a, const void *b)
{
	const struct vec *x = a, *y = b;

	return memcmp(x->origin, y->origin, SL_KEY_LEN);
}

/* Events in folding (and display) order: clock, then origin. */
static int
fold_cmp(const void *a, const void *b)
{
	const struct chain_ev *x = *(struct chain_ev *const *)a;
	const struct chain_ev *y = *(struct chain_ev *const *)b;

	if (x->ev.hlc != y->ev.hlc)
		return x->ev.hlc < y->ev.hlc ? -1 : 1;
	return memcmp(x->ev.origin, y->ev.origin, SL_KEY_LEN);
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SL_HASH_LEN);
}

/* [statement, sig] after the magic; checks the exporter's signature
 * first, so that a changed byte anywhere is reported as what it is. */
static bool
parse(struct bundle *b, const uint8_t *buf, size_t len)
{
	struct sl_mp m, s;
	const uint8_t *st, *sig, *id;
	uint32_t n, stlen, l;
	uint64_t v;
	uint8_t h[SL_HASH_LEN];

	if (len < SL_AUDIT_MAGIC_LEN ||
	    memcmp(buf, SL_AUDIT_MAGIC, SL_AUDIT_MAGIC_LEN) != 0)
		return bad(b, "not a samlog audit bundle");
	sl_mp_init(&m, buf + SL_AUDIT_MAGIC_LEN, len - SL_AUDIT_MAGIC_LEN);
	if (sl_mp_read_array(&m, &n, 2) != SL_OK || n != 2 ||
	    sl_mp_read_bin(&m, &st, &stlen, 1, SL_AUDIT_STATEMENT_MAX) !=
	    SL_OK || sl_mp_read_bin(&m, &sig, &l, SL_SIG_LEN, SL_SIG_LEN) !=
	    SL_OK || !sl_mp_at_end(&m))
		return bad(b, "damaged: the bundle's frame does not decode");
	sl_mp_init(&s, st, stlen);
	if (sl_mp_read_array(&s, &n, 9) != SL_OK || n < 8 ||
	    sl_mp_read_uint(&s, &v) != SL_OK)
		return bad(b, "damaged: the statement does not decode");
	/* Version 1 had no list of missing parents. */
	if ((v != 1 && v != SL_AUDIT_VERSION) || n != (v == 1 ? 8u : 9u))
		return bad(b, "bundle version %llu; this samlog reads versions "
		    "1 to %d", (unsigned long long)v, SL_AUDIT_VERSION);
	if (sl_mp_read_bin(&s, &id, &l, SL_ID_LEN, SL_ID_LEN) != SL_OK ||
	    sl_mp_read_str(&s, &b->kind, &b->kind_len, 1, 16) != SL_OK ||
	    sl_mp_read_bin(&s, &b->exporter, &l, SL_KEY_LEN, SL_KEY_LEN) !=
	    SL_OK)
		return bad(b, "damaged: the statement does not decode");
	memcpy(b->id, id, SL_ID_LEN);
	sl_sha256(h, st, stlen);
	if (!sl_verify_audit(sig, b->exporter, h))
		return bad(b, "the exporting node's signature does not verify: "
		    "the bundle was changed after it was made");
	if (sl_mp_read_str(&s, &b->org, &b->org_len, 0, SL_ORG_MAX) != SL_OK ||
	    sl_mp_read_uint(&s, &b->time_ms) != SL_OK ||
	    sl_mp_read_array(&s, &b->nvec, 1u << 16) != SL_OK)
		return bad(b, "damaged: the statement does not decode");
	if ((b->vec = calloc(b->nvec ? b->nvec : 1, sizeof *b->vec)) == NULL)
		return bad(b, "out of memory");
	for (uint32_t i = 0; i < b->nvec; i++) {
		struct vec *e = &b->vec[i];

		if (sl_mp_read_array(&s, &n, 3) != SL_OK || n != 3 ||
		    sl_mp_read_bin(&s, &e->origin, &l, SL_KEY_LEN,
		    SL_KEY_LEN) != SL_OK || sl_mp_read_uint(&s, &e->seq) !=
		    SL_OK || sl_mp_read_bin(&s, &e->hash, &l, SL_HASH_LEN,
		    SL_HASH_LEN) != SL_OK)
			return bad(b, "damaged: the statement's vector does not "
			    "decode");
	}
	/* A record is at least a few dozen bytes: no count beyond that. */
	if (sl_mp_read_array(&s, &b->nev, stlen / 32) != SL_OK || b->nev == 0)
		return bad(b, "damaged: the statement holds no records");
	if ((b->ev = calloc(b->nev, sizeof *b->ev)) == NULL)
		return bad(b, "out of memory");
	for (uint32_t i = 0; i < b->nev; i++) {
		const uint8_t *rec;
		int rc;

		if (sl_mp_read_bin(&s, &rec, &l, 1, SL_EVENT_MAX) != SL_OK)
			return bad(b, "damaged: record %u does not decode", i + 1);
		if ((rc = sl_event_decode(&b->ev[i].ev, rec, l)) != SL_OK)
			return bad(b, "record %u: %s", i + 1, sl_strerror(rc));
		if ((rc = sl_event_check_payload(&b->ev[i].ev)) != SL_OK)
			return bad(b, "record %u: %s", i + 1, sl_strerror(rc));
		sl_event_hash(b->ev[i].hash, &b->ev[i].ev);
	}
	if (v >= 2) {
		if (sl_mp_read_array(&s, &b->nmissing, stlen / SL_HASH_LEN) !=
		    SL_OK)
			return bad(b, "damaged: the statement's missing parents "
			    "do not decode");
		if ((b->miss = calloc(b->nmissing ? b->nmissing : 1,
		    SL_HASH_LEN)) == NULL)
			return bad(b, "out of memory");
		for (uint32_t i = 0; i < b->nmissing; i++) {
			if (sl_mp_read_bin(&s, &id, &l, SL_HASH_LEN,
			    SL_HASH_LEN) != SL_OK)
				return bad(b, "damaged: the statement's missing "
				    "parents do not decode");
			memcpy(b->miss[i], id, SL_HASH_LEN);
		}
		qsort(b->miss, b->nmissing, SL_HASH_LEN, hash_cmp);
	}
	if (!sl_mp_at_end(&s))
		return bad(b, "damaged: bytes after the statement's records");
	return true;
}

/* The statement's vector against one record: no seq beyond the tip, and
 * at the tip the tip's hash. */
static bool
vector_each(void *ctx, const struct chain_ev *e, char *msg, size_t mlen)
{
	const struct bundle *b = ctx;
	const struct vec key = { e->ev.origin, NULL, 0 };
	const struct vec *t = bsearch(&key, b->vec, b->nvec, sizeof *b->vec,
	    vec_cmp);
	char o[SL_NODE_ID_TEXT + 1];

	if (t != NULL && (t->seq > e->ev.seq || (t->seq == e->ev.seq &&
	    memcmp(t->hash, e->hash, SL_HASH_LEN) == 0)))
		return true;
	snprintf(msg, mlen, "origin %s seq %llu is not in the chain the "
	    "statement's vector names", chain_short_id(e->ev.origin, o),
	    (unsigned long long)e->ev.seq);
	return false;
}

/* A bundle stops at its first problem. */
static bool
first_problem(void *ctx, const char *problem)
{
	bad(ctx, "%s", problem);
	return false;
}

/* Chains: runs of consecutive seqs linked by prev, each ending on a good
 * signature, every signature good, every 256th event signed, each
 * record within the vector (chains.c). */
static bool
check_chains(struct bundle *b)
{
	char o[SL_NODE_ID_TEXT + 1];
	const struct chain_opts opts = { false, first_problem, b,
		vector_each };

	qsort(b->vec, b->nvec, sizeof *b->vec, vec_cmp);
	for (uint32_t i = 0; i < b->nvec; i++)
		if (i > 0 && vec_cmp(&b->vec[i - 1], &b->vec[i]) == 0)
			return bad(b, "the statement's vector names origin %s "
			    "twice", chain_short_id(b->vec[i].origin, o));
	return chains_check(b->ev, b->nev, &opts, &b->norigins,
	    &b->nsigs) == 0;
}

static bool
is_subject(const struct bundle *b, const struct chain_ev *e)
{
	uint8_t id[SL_ID_LEN];

	if (e->ev.entity != NULL)
		return memcmp(e->ev.entity, b->id, SL_ID_LEN) == 0;
	sl_entity_id(id, e->hash);
	return memcmp(id, b->id, SL_ID_LEN) == 0;
}

/* True if the event's type names the bundle's kind ("decision.adopted"). */
static bool
of_kind(const struct bundle *b, const struct chain_ev *e)
{
	return e->ev.type_len > b->kind_len &&
	    memcmp(e->ev.type, b->kind, b->kind_len) == 0 &&
	    e->ev.type[b->kind_len] == '.';
}

/* True if the exporter declared that it does not hold parent h (a
 * sorted copy: a linear scan per parent made a bundle with M missing
 * parents cost O(M^2)). */
static bool
declared_missing(const struct bundle *b, const uint8_t h[SL_HASH_LEN])
{
	return b->nmissing > 0 && bsearch(h, b->miss, b->nmissing,
	    SL_HASH_LEN, hash_cmp) != NULL;
}

/* The bundle's record whose hash is h, or NULL. */
static struct chain_ev *
bundle_event(const struct bundle *b, const uint8_t h[SL_HASH_LEN])
{
	const struct hidx *p = bsearch(h, b->all, b->nev, sizeof *b->all,
	    hash_cmp);

	return p != NULL ? &b->ev[p->i] : NULL;
}

/* The record's events: its creating event present and of the kind, and
 * every parent named by one of them present too (one of the record's, or
 * another record's, which the fold will find is not of this record), or
 * declared missing by the exporter (a parent it never held). */
static bool
check_history(struct bundle *b, struct chain_ev ***out)
{
	struct chain_ev **sub;
	uint32_t n = 0, creators = 0;
	char id[SL_ID_TEXT + 1];

	sl_b32_encode(id, b->id, SL_ID_LEN);
	sub = calloc(b->nev, sizeof(struct chain_ev *));
	b->all = calloc(b->nev, sizeof *b->all);
	b->foreign = calloc(b->nev, sizeof *b->foreign);
	if (sub == NULL || b->all == NULL || b->foreign == NULL) {
		free(sub);
		return bad(b, "out of memory");
	}
	for (uint32_t i = 0; i < b->nev; i++) {
		struct chain_ev *e = &b->ev[i];

		memcpy(b->all[i].h, e->hash, SL_HASH_LEN);
		b->all[i].i = i;
		if (!(e->subject = is_subject(b, e)))
			continue;
		creators += e->ev.entity == NULL;
		if (e->ev.entity == NULL && !of_kind(b, e)) {
			free(sub);
			return bad(b, "the record %s is created by a %.*s event, "
			    "not a %.*s", id, (int)e->ev.type_len, e->ev.type,
			    (int)b->kind_len, b->kind);
		}
		sub[n++] = e;
	}
	qsort(b->all, b->nev, sizeof *b->all, hash_cmp);
	for (uint32_t i = 0; i < n && creators == 1; i++)
		for (uint32_t k = 0; k < sub[i]->ev.n_parents; k++) {
			const uint8_t *ph = sub[i]->ev.parents[k];
			struct chain_ev *pe = bundle_event(b, ph);
			char o[SL_NODE_ID_TEXT + 1];

			if (pe != NULL && !pe->subject && !pe->foreign) {
				pe->foreign = true;
				b->foreign[b->nforeign++] =
				    (uint32_t)(pe - b->ev);
			}
			if (pe != NULL || declared_missing(b, ph))
				continue;
			bad(b, "origin %s seq %llu names a parent the bundle "
			    "does not hold: the history is incomplete",
			    chain_short_id(sub[i]->ev.origin, o),
			    (unsigned long long)sub[i]->ev.seq);
			free(sub);
			return false;
		}
	if (creators != 1) {
		free(sub);
		return bad(b, "the history is incomplete: the bundle lacks "
		    "the creating event of record %s", id);
	}
	qsort(sub, n, sizeof(struct chain_ev *), fold_cmp);
	b->nsubject = n;
	*out = sub;
	return true;
}

/*
 * Witnesses (PROTOCOL.md 15.4).  Each checkpoint in the bundle (signed
 * by its origin W, its chain checked above) is held against the
 * statement: a tip (O, s, h), O not W, fails the bundle when the bundle
 * holds another event at (O, s) or its vector another hash at s (a
 * fork), or when s is above the vector's tip for O (the exporter carried
 * a witness's word that O's chain went further than it says it held:
 * the end of that chain, where events of the record may be, is left
 * out).  W witnesses the bundle when its checkpoints name, for every
 * origin O of the record's events other than W, a seq at or above the
 * highest of the record's events of O.
 */
static const struct vec *
vec_of(const struct bundle *b, const uint8_t *origin)
{
	const struct vec key = { origin, NULL, 0 };

	return bsearch(&key, b->vec, b->nvec, sizeof *b->vec, vec_cmp);
}

static const struct chain_ev *
event_at(const struct bundle *b, const uint8_t *origin, uint64_t seq)
{
	for (uint32_t i = 0; i < b->nev; i++)
		if (b->ev[i].ev.seq == seq &&
		    memcmp(b->ev[i].ev.origin, origin, SL_KEY_LEN) == 0)
			return &b->ev[i];
	return NULL;
}

static bool
is_ckpt(const struct chain_ev *e)
{
	return e->ev.payload != NULL &&
	    e->ev.type_len == sizeof SL_CKPT_TYPE - 1 &&
	    memcmp(e->ev.type, SL_CKPT_TYPE, e->ev.type_len) == 0;
}

/* The highest seq a checkpoint of w in the bundle names for origin. */
static uint64_t
witness_upto(const struct bundle *b, const uint8_t *w, const uint8_t *origin)
{
	uint64_t best = 0;

	for (uint32_t i = 0; i < b->nev; i++) {
		const struct chain_ev *e = &b->ev[i];
		struct sl_ckpt_tip *tips;
		size_t n;

		if (!is_ckpt(e) || memcmp(e->ev.origin, w, SL_KEY_LEN) != 0 ||
		    sl_ckpt_decode(e->ev.payload, e->ev.payload_len, &tips,
		    &n) != SL_OK)
			continue;
		for (size_t k = 0; k < n; k++)
			if (memcmp(tips[k].origin, origin, SL_KEY_LEN) == 0 &&
			    tips[k].seq > best)
				best = tips[k].seq;
		free(tips);
	}
	return best;
}

static bool
check_tip(struct bundle *b, const struct chain_ev *c,
    const struct sl_ckpt_tip *t)
{
	const struct vec *v = vec_of(b, t->origin);
	const struct chain_ev *e = event_at(b, t->origin, t->seq);
	char o[SL_NODE_ID_TEXT + 1], w[SL_NODE_ID_TEXT + 1];

	chain_short_id(t->origin, o);
	chain_short_id(c->ev.origin, w);
	if ((e != NULL && memcmp(e->hash, t->hash, SL_HASH_LEN) != 0) ||
	    (v != NULL && v->seq == t->seq &&
	    memcmp(v->hash, t->hash, SL_HASH_LEN) != 0))
		return bad(b, "the checkpoint of origin %s (seq %llu) names "
		    "another event at seq %llu of origin %s than the bundle: "
		    "two histories of that origin (a fork)", w,
		    (unsigned long long)c->ev.seq, (unsigned long long)t->seq,
		    o);
	if (v == NULL || v->seq < t->seq)
		return bad(b, "the checkpoint of origin %s (seq %llu) saw "
		    "origin %s at seq %llu, but the bundle says its exporter "
		    "held it only to seq %llu: the end of that chain is left "
		    "out", w, (unsigned long long)c->ev.seq, o,
		    (unsigned long long)t->seq,
		    (unsigned long long)(v != NULL ? v->seq : 0));
	return true;
}

static bool
check_witnesses(struct bundle *b, struct chain_ev **sub)
{
	if (sub == NULL || (b->wit = calloc(b->nev, sizeof *b->wit)) == NULL)
		return bad(b, "out of memory");
	for (uint32_t i = 0; i < b->nev; i++) {
		const struct chain_ev *c = &b->ev[i];
		struct sl_ckpt_tip *tips;
		size_t n;
		bool ok = true;

		if (!is_ckpt(c))
			continue;
		if (sl_ckpt_decode(c->ev.payload, c->ev.payload_len, &tips,
		    &n) != SL_OK)
			continue; /* a later version's: the content rules
				     passed it, this one cannot read it */
		for (size_t k = 0; k < n && ok; k++)
			if (memcmp(tips[k].origin, c->ev.origin,
			    SL_KEY_LEN) != 0)
				ok = check_tip(b, c, &tips[k]);
		free(tips);
		if (!ok)
			return false;
	}
	/* A witness is an organisation: its devices count once, and not
	 * for its own events (12.3). */
	uint8_t (*worg)[SL_KEY_LEN] = calloc(b->nev ? b->nev : 1,
	    SL_KEY_LEN);

	if (worg == NULL)
		return bad(b, "out of memory");
	for (uint32_t i = 0; i < b->nev; i++) {
		const uint8_t *w = b->ev[i].ev.origin;
		uint8_t wo[SL_KEY_LEN], eo[SL_KEY_LEN];
		bool covers = true, names = false, seen = false;

		if (!is_ckpt(&b->ev[i]))
			continue;
		(void)sl_fold_mem_device_org(b->fold, w, wo);
		for (uint32_t k = 0; k < b->nwit && !seen; k++)
			seen = memcmp(worg[k], wo, SL_KEY_LEN) == 0;
		if (seen)
			continue;
		for (uint32_t k = 0; k < b->nsubject && covers; k++) {
			const struct sl_event *ev = &sub[k]->ev;

			(void)sl_fold_mem_device_org(b->fold, ev->origin, eo);
			if (memcmp(eo, wo, SL_KEY_LEN) == 0)
				continue;
			names = true;
			covers = witness_upto(b, w, ev->origin) >= ev->seq;
		}
		if (covers && names) {
			memcpy(worg[b->nwit], wo, SL_KEY_LEN);
			b->wit[b->nwit++] = w;
		}
	}
	free(worg);
	return true;
}

/* The organisation origin announced last in the bundle (chains.c). */
static void
origin_org(const struct bundle *b, const uint8_t *origin, const char **org,
    uint32_t *len)
{
	chain_origin_org(b->ev, b->nev, origin, org, len);
}

/*
 * The record as the nodes fold it: the subject events go through the
 * same fold samlogd runs (protocol/record.c), in the order of their
 * clocks, and the result is shown field by field as samlogd shows it.
 */
static bool
fold_subject(struct bundle *b, struct chain_ev **sub)
{
	/* As a node does: an event stamped further ahead of this wall
	 * clock than the default skew waits. */
	uint64_t limit = (sl_now_ms() + SL_SKEW_DEFAULT_MS) << 16;

	if (b->fold == NULL || sub == NULL)
		return bad(b, "out of memory");
	/* The other records' events the record's name first: the fold
	 * needs to know they are not of this record. */
	for (uint32_t i = 0; b->foreign != NULL && i < b->nforeign; i++) {
		const struct chain_ev *fe = &b->ev[b->foreign[i]];
		int rc = sl_fold_mem_add(b->fold, fe->ev.rec, fe->ev.rec_len);

		if (rc != SL_OK)
			return bad(b, "cannot fold the record: %s",
			    sl_strerror(rc));
	}
	for (uint32_t i = 0; i < b->nsubject; i++) {
		int rc = sub[i]->ev.hlc > limit ? SL_OK :
		    sl_fold_mem_add(b->fold, sub[i]->ev.rec, sub[i]->ev.rec_len);

		if (rc != SL_OK)
			return bad(b, "cannot fold the record: %s",
			    sl_strerror(rc));
	}
	return true;
}

static void
pack_state(msgpack_packer *pk, const struct bundle *b)
{
	struct sl_rec r;

	if (sl_fold_mem_record(b->fold, b->id, &r) != SL_OK) {
		/* Its creating event has no effect: nothing to show. */
		msgpack_pack_map(pk, 2);
		sl_pack_cstr(pk, "id");
		sl_pack_b32(pk, b->id, SL_ID_LEN);
		sl_pack_cstr(pk, "kind");
		sl_pack_str(pk, b->kind, b->kind_len);
		return;
	}
	msgpack_pack_map(pk, r.kind->nfields + 6);
	sl_pack_cstr(pk, "id");
	sl_pack_b32(pk, b->id, SL_ID_LEN);
	sl_pack_cstr(pk, "kind");
	sl_pack_str(pk, b->kind, b->kind_len);
	for (uint32_t i = 0; i < r.kind->nfields; i++) {
		/* An organisation's own kind field shows as org_kind: the
		 * key "kind" names the record kind here. */
		if (strcmp(r.kind->fields[i].name, "kind") == 0)
			sl_pack_cstr(pk, "org_kind");
		else
			sl_pack_cstr(pk, r.kind->fields[i].name);
		sl_rec_pack_field(pk, &r, i);
	}
	sl_pack_cstr(pk, "created");
	sl_pack_time(pk, r.c_hlc);
	sl_pack_cstr(pk, "updated");
	sl_pack_time(pk, r.u_hlc);
	sl_pack_cstr(pk, "events");
	msgpack_pack_uint32(pk, b->nsubject);
	sl_pack_cstr(pk, "conflict");
	sl_pack_bool(pk, r.nheads > 1);
	sl_rec_free(&r);
}

static void
pack_effect(msgpack_packer *pk, const struct bundle *b,
    const uint8_t h[SL_HASH_LEN])
{
	struct sl_evmeta m;
	char t[96];

	if (sl_fold_mem_meta(b->fold, h, &m) != SL_OK)
		snprintf(t, sizeof t, "not folded (a type this version does "
		    "not know, or stamped ahead of this clock)");
	else if (m.status == SL_EV_PENDING)
		snprintf(t, sizeof t, "waiting for a parent the bundle does "
		    "not hold");
	else if (m.why != SL_WHY_NONE)
		snprintf(t, sizeof t, "%s: %s", sl_fold_status_name(m.status),
		    sl_fold_why(m.why));
	else
		snprintf(t, sizeof t, "%s", sl_fold_status_name(m.status));
	sl_pack_cstr(pk, t);
}

/* The keys of the bundle: its exporter, then each origin once (the
 * records are sorted by origin), each with the name it announces.
 * Returns their number; *v is the caller's to free. */
static size_t
bundle_idents(const struct bundle *b, struct ident **v)
{
	size_t n = 0;

	if ((*v = calloc((size_t)b->nev + 1, sizeof **v)) == NULL)
		return 0;
	(*v)[n++] = (struct ident){ .key = b->exporter, .org = b->org,
		.org_len = b->org_len, .role = "exporter" };
	for (uint32_t i = 0; i < b->nev; i++) {
		struct ident *d = &(*v)[n];

		if (i > 0 && memcmp(b->ev[i - 1].ev.origin, b->ev[i].ev.origin,
		    SL_KEY_LEN) == 0)
			continue;
		d->key = b->ev[i].ev.origin;
		d->role = "origin";
		origin_org(b, d->key, &d->org, &d->org_len);
		n++;
	}
	/* Devices, by the certificates in the bundle (12.3). */
	for (size_t i = 0; b->fold != NULL && i < n; i++)
		(*v)[i].is_device = sl_fold_mem_device_org(b->fold,
		    (*v)[i].key, (*v)[i].device_of);
	return n;
}

/* "erased_fields": each erased field of ev with who erased it, when and
 * on what ground, from the bundle's erasures (PROTOCOL.md 5.2). */
static void
pack_erased_fields(msgpack_packer *pk, const struct bundle *b,
    const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN])
{
	const char *keys[SL_OPENS_MAX];
	uint32_t kl[SL_OPENS_MAX];
	uint32_t ne = sl_event_erased(ev, keys, kl, SL_OPENS_MAX);

	if (ne > SL_OPENS_MAX)
		ne = SL_OPENS_MAX;
	sl_pack_cstr(pk, "erased_fields");
	msgpack_pack_map(pk, ne);
	for (uint32_t i = 0; i < ne; i++) {
		char note[400] = "erased (the erasure is not in the bundle)";
		uint64_t when = 0;

		for (uint32_t j = 0; j < b->nev; j++) {
			const struct sl_event *x = &b->ev[j].ev;
			struct sl_erasure e;
			bool hit = false;
			const char *org;
			uint32_t ol;
			char day[11];

			if (x->payload == NULL || x->type_len !=
			    sizeof SL_ERASE_TYPE - 1 || memcmp(x->type,
			    SL_ERASE_TYPE, x->type_len) != 0 ||
			    sl_erasure_decode(x->payload, x->payload_len, &e) !=
			    SL_OK || !sl_erasure_names(&e, keys[i], kl[i]) ||
			    (when != 0 && x->hlc >= when))
				continue;
			for (uint32_t t = 0; t < e.ntargets && !hit; t++)
				hit = memcmp(sl_erasure_target(&e, t), hash,
				    SL_HASH_LEN) == 0;
			if (!hit)
				continue;
			when = x->hlc;
			origin_org(b, x->origin, &org, &ol);
			sl_date_format(sl_hlc_day(x->hlc), day);
			if (e.ground != NULL)
				snprintf(note, sizeof note, "erased on %s by %.*s, "
				    "ground: %.*s", day, (int)ol, org,
				    (int)e.ground_len, e.ground);
			else
				snprintf(note, sizeof note, "erased on %s by %.*s, "
				    "under a disposal decision", day, (int)ol,
				    org);
		}
		sl_pack_str(pk, keys[i], kl[i]);
		sl_pack_cstr(pk, note);
	}
}

static void
pack_report(struct sl_buf *g, struct bundle *b, struct chain_ev **sub,
    struct pins *pins)
{
	msgpack_packer pk;
	const char *org;
	uint32_t ol;
	struct ident *idv = NULL;
	size_t nid = bundle_idents(b, &idv);

	msgpack_packer_init(&pk, g, sl_buf_write);
	msgpack_pack_map(&pk, 16);
	pins_pack(&pk, pins, idv, nid);
	free(idv);
	sl_pack_cstr(&pk, "verified");
	msgpack_pack_true(&pk);
	sl_pack_cstr(&pk, "file");
	sl_pack_cstr(&pk, b->file);
	sl_pack_cstr(&pk, "exported_by");
	sl_pack_b32(&pk, b->exporter, SL_KEY_LEN);
	sl_pack_cstr(&pk, "exporter_org");
	sl_pack_str(&pk, b->org, b->org_len);
	sl_pack_cstr(&pk, "exported");
	sl_pack_time(&pk, b->time_ms << 16);
	sl_pack_cstr(&pk, "chain_records");
	msgpack_pack_uint32(&pk, b->nev);
	sl_pack_cstr(&pk, "origins");
	msgpack_pack_uint32(&pk, b->norigins);
	sl_pack_cstr(&pk, "signatures");
	msgpack_pack_uint32(&pk, b->nsigs);
	{
		char t[64];

		snprintf(t, sizeof t, "witnessed by %u organisation%s",
		    b->nwit, b->nwit == 1 ? "" : "s");
		sl_pack_cstr(&pk, "witnessed");
		sl_pack_cstr(&pk, t);
	}
	sl_pack_cstr(&pk, "witnessed_by");
	msgpack_pack_uint32(&pk, b->nwit);
	sl_pack_cstr(&pk, "witnesses");
	msgpack_pack_array(&pk, b->nwit);
	for (uint32_t i = 0; i < b->nwit; i++) {
		char fp[SL_FPR_TEXT + 1];

		sl_fingerprint(fp, b->wit[i]);
		origin_org(b, b->wit[i], &org, &ol);
		msgpack_pack_map(&pk, 2);
		sl_pack_cstr(&pk, "origin");
		sl_pack_cstr(&pk, fp);
		sl_pack_cstr(&pk, "org");
		sl_pack_str(&pk, org, ol);
	}
	sl_pack_cstr(&pk, "missing");
	msgpack_pack_array(&pk, b->nmissing);
	for (uint32_t i = 0; b->miss != NULL && i < b->nmissing; i++)
		sl_pack_b32(&pk, b->miss[i], SL_HASH_LEN);
	sl_pack_cstr(&pk, "record");
	pack_state(&pk, b);
	sl_pack_cstr(&pk, "history");
	msgpack_pack_array(&pk, b->nsubject);
	for (uint32_t i = 0; i < b->nsubject; i++) {
		const struct sl_event *ev = &sub[i]->ev;

		origin_org(b, ev->origin, &org, &ol);
		msgpack_pack_map(&pk, 13);
		sl_pack_cstr(&pk, "seq");
		msgpack_pack_uint64(&pk, ev->seq);
		sl_pack_cstr(&pk, "origin");
		sl_pack_b32(&pk, ev->origin, SL_KEY_LEN);
		sl_pack_cstr(&pk, "org");
		sl_pack_str(&pk, org, ol);
		sl_pack_cstr(&pk, "author");
		sl_pack_str(&pk, ev->author, ev->author_len);
		sl_pack_cstr(&pk, "time");
		sl_pack_time(&pk, ev->hlc);
		sl_pack_cstr(&pk, "type");
		sl_pack_str(&pk, ev->type, ev->type_len);
		sl_pack_cstr(&pk, "changes");
		sl_event_pack_changes(&pk, ev);
		sl_pack_cstr(&pk, "effect");
		pack_effect(&pk, b, sub[i]->hash);
		sl_pack_cstr(&pk, "erased");
		sl_pack_bool(&pk, ev->payload == NULL);
		pack_erased_fields(&pk, b, ev, sub[i]->hash);
		sl_pack_cstr(&pk, "hash");
		sl_pack_b32(&pk, sub[i]->hash, SL_HASH_LEN);
		sl_pack_cstr(&pk, "signed_at");
		msgpack_pack_uint64(&pk, sub[i]->covered_by);
		sl_pack_cstr(&pk, "verified");
		msgpack_pack_true(&pk);
	}
}

static void
bundle_free(struct bundle *b)
{
	free(b->vec);
	free(b->ev);
	free(b->miss);
	free(b->all);
	free(b->foreign);
	free(b->wit);
	sl_fold_mem_free(b->fold);
}

/*
 * Checks the bundle in buf; on success packs the report (a map) into
 * report and returns true, else b->err says what is wrong.
 */
/* The devices the bundle's certificates make (PROTOCOL.md 12.3), first:
 * a device's steps are its organisation's, and its checkpoints too. */
static bool
certify_all(struct bundle *b)
{
	if ((b->fold = sl_fold_mem_new()) == NULL)
		return bad(b, "out of memory");
	for (uint32_t i = 0; i < b->nev; i++)
		if (sl_fold_mem_certify(b->fold, b->ev[i].ev.rec,
		    b->ev[i].ev.rec_len) != SL_OK)
			return bad(b, "out of memory");
	return true;
}

static bool
audit_verify(struct bundle *b, const uint8_t *buf, size_t len,
    struct sl_buf *report, struct pins *pins)
{
	struct chain_ev **sub = NULL;
	struct pins none = { 0 };
	bool ok = parse(b, buf, len) && check_chains(b) &&
	    check_history(b, &sub) && certify_all(b) &&
	    check_witnesses(b, sub) && fold_subject(b, sub);

	if (ok)
		pack_report(report, b, sub, pins != NULL ? pins : &none);
	free(sub);
	if (ok && report->failed)
		return bad(b, "out of memory");
	return ok;
}


bool
audit_check_buffer(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct bundle b = { .file = "-" };
	struct sl_buf report = { 0 };
	bool ok = audit_verify(&b, buf, len, &report, NULL);

	if (!ok)
		snprintf(err, errlen, "%s", b.err);
	bundle_free(&b);
	free(report.p);
	return ok;
}

static int
print_report(const struct sl_buf *g, const struct output *out)
{
	msgpack_unpacked u;
	int status = 1;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, (const char *)g->p, g->len, NULL) ==
	    MSGPACK_UNPACK_SUCCESS) {
		out->begin(stdout, OUT_OBJECT, NULL);
		out->record(stdout, &u.data);
		out->end(stdout);
		status = 0;
	}
	msgpack_unpacked_destroy(&u);
	return status;
}

int
cmd_audit_check(const char *file, struct pins *pins, const struct output *out)
{
	struct bundle b = { .file = file };
	struct sl_buf report = { 0 };
	char *buf;
	size_t len;
	int status = 1;

	if (!file_slurp(file, SL_AUDIT_MAGIC_LEN + SL_AUDIT_STATEMENT_MAX + 128,
	    &buf, &len))
		return 1;
	if (!audit_verify(&b, (const uint8_t *)buf, len, &report, pins)) {
		cli_error("%s: %s", file, b.err);
	} else {
		struct ident *idv = NULL;
		size_t nid = bundle_idents(&b, &idv);

		/* With pins, a bundle of keys the auditor does not expect
		 * proves nothing about the organisations they name. */
		if (pins_check(pins, file, idv, nid) == 0)
			status = print_report(&report, out);
		free(idv);
	}
	bundle_free(&b);
	free(report.p);
	free(buf);
	return status;
}

/* ---- samlog audit ID --out FILE ---------------------------------------- */

static struct sl_buf fetched;

int
cmd_audit_out(const char *dir, bool dir_named, const char *id,
    const char *file, const struct output *out)
{
	const struct command_def *def = parse_find("audit");
	struct parse_result r = { .cmd = CMD_REMOTE, .def = def, .pos = id };
	struct bundle b = { .file = file };
	struct sl_buf report = { 0 };
	int status;

	if ((status = request_fetch(dir, dir_named, &r, SIZE_MAX,
	    &fetched)) != 0)
		goto out;
	status = 1;
	/* Check what arrived before anyone relies on it. */
	if (fetched.failed || fetched.p == NULL) {
		cli_error("malformed reply from samlogd");
		goto out;
	}
	if (!audit_verify(&b, fetched.p, fetched.len, &report, NULL)) {
		cli_error("the bundle samlogd made does not check: %s", b.err);
		goto out;
	}
	if (!file_replace(file, fetched.p, fetched.len))
		goto out;
	status = 0;
	if (strcmp(file, "-") == 0)
		goto out;

	msgpack_packer pk;
	struct sl_buf g = { 0 };

	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 7);
	sl_pack_cstr(&pk, "file");
	sl_pack_cstr(&pk, file);
	sl_pack_cstr(&pk, "id");
	sl_pack_b32(&pk, b.id, SL_ID_LEN);
	sl_pack_cstr(&pk, "kind");
	sl_pack_str(&pk, b.kind, b.kind_len);
	sl_pack_cstr(&pk, "events");
	msgpack_pack_uint32(&pk, b.nsubject);
	sl_pack_cstr(&pk, "chain_records");
	msgpack_pack_uint32(&pk, b.nev);
	sl_pack_cstr(&pk, "signatures");
	msgpack_pack_uint32(&pk, b.nsigs);
	sl_pack_cstr(&pk, "bytes");
	msgpack_pack_uint64(&pk, fetched.len);
	status = g.failed ? 1 : print_report(&g, out);
	free(g.p);
out:
	bundle_free(&b);
	free(report.p);
	free(fetched.p);
	fetched = (struct sl_buf){ 0 };
	return status;
}
