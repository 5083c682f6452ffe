/*
 * cmd_fork.c - this node's fork proofs (PROTOCOL.md 16): when it keeps
 * evidence that an origin signed two histories, it says so, as an event
 * of its own chain that proves it, so that every member learns of the
 * fork however it is connected.
 *
 * The evidence is the store's forks database: the refused event and the
 * rest of its run up to the signed one that covers it.  The other history
 * is the log.  A proof is made for each run start (a record whose prev is
 * no other evidence record) at the first seq where the two histories name
 * different events: the record's own seq when this node holds that seq,
 * else the seq before it (the record builds on another event than the one
 * held there).  It is written unless some proof held (this node's, or one
 * another member wrote that arrived first) already proves that (origin,
 * seq), and never while writes are held (the node is taking its own chain
 * back: appending would fork it).  samlogd scans after every fork
 * refused, at the start, and every second while a scan asks to be called
 * again (writes held, or more than FORK_SCAN_MAX forks to prove), so
 * evidence kept meanwhile, or by an older version, is proved later.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd_int.h"
#include "project.h"
#include "sync.h"

#define FORK_SCAN_MAX 64   /* proofs written by one scan */
/* Seqs of one origin that proofs held may name before this node writes
 * no more of that origin's: every member knows by then, and a member
 * forking its own chain at every seq on purpose cannot make this node
 * carry its headers to everyone. */
#define FORK_PER_ORIGIN 16

struct fork_scan {
	struct cmd_ctx *d;
	MDB_txn *txn;
	struct sl_buf out[FORK_SCAN_MAX];  /* payloads to append */
	uint8_t origin[FORK_SCAN_MAX][SL_KEY_LEN];
	uint64_t seq[FORK_SCAN_MAX];
	size_t n;
	struct sl_fork_run a, b;           /* scratch */
};

/* The held run from seq on, up to the first signed event. */
static bool
held_run(struct fork_scan *fs, const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    struct sl_fork_run *r)
{
	memset(r, 0, sizeof *r);
	for (uint64_t q = seq; r->n < SL_FORK_RUN_MAX; q++) {
		const uint8_t *rec;
		size_t len;
		struct sl_event ev;

		if (store_txn_event(fs->d->s, fs->txn, origin, q, &rec,
		    &len) != SL_OK || sl_event_decode(&ev, rec, len) != SL_OK)
			return false;
		r->hdr[r->n] = ev.hdr;
		r->hdr_len[r->n++] = ev.hdr_len;
		if (ev.sig != NULL) {
			r->sig = ev.sig;
			return true;
		}
	}
	return false;
}

/* The evidence run from first on, up to the first signed event. */
static bool
kept_run(struct fork_scan *fs, const struct sl_event *first,
    struct sl_fork_run *r)
{
	struct sl_event ev = *first;
	uint8_t h[SL_HASH_LEN];

	memset(r, 0, sizeof *r);
	for (;;) {
		const uint8_t *rec;
		size_t len;

		r->hdr[r->n] = ev.hdr;
		r->hdr_len[r->n++] = ev.hdr_len;
		if (ev.sig != NULL) {
			r->sig = ev.sig;
			return true;
		}
		if (r->n == SL_FORK_RUN_MAX)
			return false;
		sl_event_hash(h, &ev);
		if (store_txn_fork_next(fs->d->s, fs->txn, ev.origin,
		    ev.seq + 1, h, &rec, &len) != SL_OK ||
		    sl_event_decode(&ev, rec, len) != SL_OK)
			return false;
	}
}

/* Whether this scan proves (origin, seq) already; *of counts the seqs
 * of origin it proves. */
static bool
planned(const struct fork_scan *fs, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq, uint32_t *of)
{
	bool found = false;

	*of = 0;
	for (size_t i = 0; i < fs->n; i++) {
		if (memcmp(fs->origin[i], origin, SL_KEY_LEN) != 0)
			continue;
		(*of)++;
		found = found || fs->seq[i] == seq;
	}
	return found;
}

static int
fork_cb(void *ctx, const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    const uint8_t *rec, size_t len)
{
	struct fork_scan *fs = ctx;
	struct sl_event ev;
	uint8_t h[SL_HASH_LEN], held[SL_HASH_LEN];
	uint64_t at;
	uint32_t of;
	char why[200], o[SL_FPR_TEXT + 1];
	int rc;

	if (fs->n == FORK_SCAN_MAX)
		return 1;
	if (sl_event_decode(&ev, rec, len) != SL_OK || ev.seq != seq)
		return 0;
	/* Not a run start: its run's first record makes the proof. */
	if (ev.prev != NULL && store_txn_fork_has(fs->d->s, fs->txn, origin,
	    seq - 1, ev.prev))
		return 0;
	sl_event_hash(h, &ev);
	if (store_txn_event_hash(fs->d->s, fs->txn, origin, seq, held) ==
	    SL_OK) {
		if (memcmp(held, h, SL_HASH_LEN) == 0)
			return 0;
		at = seq;
	} else if (ev.prev != NULL && store_txn_event_hash(fs->d->s, fs->txn,
	    origin, seq - 1, held) == SL_OK &&
	    memcmp(held, ev.prev, SL_HASH_LEN) != 0) {
		at = seq - 1;
	} else {
		return 0;
	}
	if (project_fork_proven(fs->d->p, fs->txn, origin, at) ||
	    planned(fs, origin, at, &of) ||
	    project_fork_seqs(fs->d->p, fs->txn, origin) + of >=
	    FORK_PER_ORIGIN)
		return 0;
	sl_fingerprint(o, origin);
	if (!held_run(fs, origin, at, &fs->a) || !kept_run(fs, &ev, &fs->b)) {
		log_warn("fork of %s at seq %llu: no signed run to prove it "
		    "with", o, (unsigned long long)at);
		return 0;
	}
	memset(&fs->out[fs->n], 0, sizeof fs->out[fs->n]);
	rc = sl_fork_encode(&fs->out[fs->n], origin, at, &fs->a, &fs->b, why,
	    sizeof why);
	if (rc != SL_OK) {
		free(fs->out[fs->n].p);
		log_warn("fork of %s at seq %llu: no proof written: %s", o,
		    (unsigned long long)at, why);
		return rc == SL_ENOMEM ? rc : 0;
	}
	memcpy(fs->origin[fs->n], origin, SL_KEY_LEN);
	fs->seq[fs->n++] = at;
	return 0;
}

int
cmd_fork_proofs(struct cmd_ctx *d, const uint8_t *origin, uint64_t seq,
    size_t *wrote, char *err, size_t errlen)
{
	struct fork_scan *fs;
	bool more;
	int rc;

	*wrote = 0;
	if (store_fork_count(d->s) == 0)
		return SL_OK;
	if (d->held)
		return SL_ERETRY;
	if ((fs = calloc(1, sizeof *fs)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return SL_ENOMEM;
	}
	fs->d = d;
	if ((rc = store_read_begin(d->s, &fs->txn)) != SL_OK) {
		snprintf(err, errlen, "cannot read the store");
		free(fs);
		return rc;
	}
	rc = store_txn_forks(d->s, fs->txn, origin, seq, fork_cb, fs);
	mdb_txn_abort(fs->txn);
	if (rc == SL_ENOMEM)
		snprintf(err, errlen, "out of memory");
	/* Cut at FORK_SCAN_MAX: the rest on the next call. */
	more = rc == 1;
	rc = rc == SL_ENOMEM ? rc : SL_OK;
	/* Each alone in its commit, so that it is signed on its own. */
	for (size_t i = 0; i < fs->n; i++) {
		struct sl_event_draft dr = { .author = "samlogd",
			.type = SL_FORK_TYPE, .payload = fs->out[i].p,
			.payload_len = (uint32_t)fs->out[i].len };

		if (rc == SL_OK && (rc = store_append(d->s, &dr, 1, NULL, err,
		    errlen)) == SL_OK)
			(*wrote)++;
		free(fs->out[i].p);
	}
	free(fs);
	if (*wrote > 0 && d->sync != NULL)
		sync_log_grew(d->sync);
	return rc == SL_OK && more ? SL_ERETRY : rc;
}

/* ---- status ------------------------------------------------------------- */

struct fork_pack {
	struct cmd_ctx *d;
	MDB_txn *txn;
	msgpack_packer *pk;
	bool warnings;
	uint32_t n;
};

static int
fork_pack_cb(void *ctx, const struct project_fork *x)
{
	struct fork_pack *fp = ctx;
	char org[SL_ORG_MAX + 1], by[SL_ORG_MAX + 1];
	char o[SL_FPR_TEXT + 1], w[SL_FPR_TEXT + 1], t[64], line[600];

	fp->n++;
	if (fp->pk == NULL)
		return 0;
	project_org_at(fp->d->p, fp->txn, x->origin, UINT64_MAX, org,
	    sizeof org);
	project_org_at(fp->d->p, fp->txn, x->prover, UINT64_MAX, by,
	    sizeof by);
	sl_fingerprint(o, x->origin);
	sl_fingerprint(w, x->prover);
	if (fp->warnings) {
		sl_hlc_format(t, sizeof t, x->hlc);
		snprintf(line, sizeof line, "%s%s%s%s signed two histories at "
		    "seq %llu: proved by %s%s%s%s at %s", org, org[0] ? " (" :
		    "", o, org[0] ? ")" : "", (unsigned long long)x->seq, by,
		    by[0] ? " (" : "", w, by[0] ? ")" : "", t);
		sl_pack_cstr(fp->pk, line);
		return 0;
	}
	msgpack_pack_map(fp->pk, 7);
	sl_pack_cstr(fp->pk, "origin");
	sl_pack_cstr(fp->pk, o);
	sl_pack_cstr(fp->pk, "org");
	sl_pack_cstr(fp->pk, org);
	sl_pack_cstr(fp->pk, "seq");
	msgpack_pack_uint64(fp->pk, x->seq);
	sl_pack_cstr(fp->pk, "proved_by");
	sl_pack_cstr(fp->pk, w);
	sl_pack_cstr(fp->pk, "proved_by_org");
	sl_pack_cstr(fp->pk, by);
	sl_pack_cstr(fp->pk, "proof_seq");
	msgpack_pack_uint64(fp->pk, x->prover_seq);
	sl_pack_cstr(fp->pk, "at");
	sl_pack_time(fp->pk, x->hlc);
	return 0;
}

uint32_t
cmd_fork_status(struct cmd_ctx *d, MDB_txn *txn, msgpack_packer *pk,
    bool warnings)
{
	struct fork_pack fp = { d, txn, pk, warnings, 0 };

	if (txn == NULL)
		return 0;
	(void)project_fork_proofs(d->p, txn, fork_pack_cb, &fp);
	return fp.n;
}
