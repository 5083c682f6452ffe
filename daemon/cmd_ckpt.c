/*
 * cmd_ckpt.c - this node's checkpoints (PROTOCOL.md 15): now and then it
 * signs, as an event of its own chain, the tips it holds of every
 * member's chain.  Other organisations' nodes compare them with what they
 * hold, and a bundle carries them to an auditor: a history shown to one
 * party and not another cannot then go unnoticed.
 *
 * A checkpoint is written only when there is news (the tips changed since
 * the last one: the digest kept below) and never while writes are held
 * (the node is taking its own chain back from a peer and would fork it).
 * It is appended alone, so it is the last event of its commit and is
 * signed on its own (section 6): a bundle can carry it with nothing after
 * it.  The digest lives in memory only: after a restart the first tick
 * writes one more checkpoint than strictly needed, which is harmless.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd_int.h"
#include "project.h"
#include "sync.h"

static int
store_tip_cmp(const void *a, const void *b)
{
	return memcmp(((const struct store_tip *)a)->origin,
	    ((const struct store_tip *)b)->origin, SL_KEY_LEN);
}

/* The digest of every tip the store holds, this node's own included, so
 * that after a checkpoint nothing is news until some chain grows. */
static void
tips_digest(struct store *s, uint8_t out[SL_HASH_LEN])
{
	size_t n = store_origin_count(s);
	struct sl_buf g = { 0 };
	struct store_tip *v = calloc(n + 1, sizeof *v);

	/* In origin order: the store keeps its origins in the order it met
	 * them, which a reload changes (the digest must not). */
	for (size_t i = 0; v != NULL && i < n; i++)
		v[i] = *store_tip_at(s, i);
	if (v != NULL)
		qsort(v, n, sizeof *v, store_tip_cmp);
	for (size_t i = 0; v != NULL && i < n; i++) {
		sl_buf_write(&g, (const char *)v[i].origin, SL_KEY_LEN);
		sl_buf_write(&g, (const char *)&v[i].seq, sizeof v[i].seq);
		sl_buf_write(&g, (const char *)v[i].hash, SL_HASH_LEN);
	}
	/* Out of memory: a digest of nothing, so the next checkpoint is
	 * made rather than skipped. */
	sl_sha256(out, g.p != NULL ? g.p : (const uint8_t *)"", g.len);
	free(g.p);
	free(v);
}

static int
tip_cmp(const void *a, const void *b)
{
	return memcmp(((const struct sl_ckpt_tip *)a)->origin,
	    ((const struct sl_ckpt_tip *)b)->origin, SL_KEY_LEN);
}

int
cmd_checkpoint(struct cmd_ctx *d, bool *wrote, char *err, size_t errlen)
{
	size_t n = store_origin_count(d->s), k = 0;
	struct sl_ckpt_tip *tips;
	const struct sl_members *ms;
	struct sl_buf g = { 0 };
	uint8_t dig[SL_HASH_LEN];
	MDB_txn *txn;
	int rc;

	*wrote = false;
	if (d->held)
		return SL_OK;
	tips_digest(d->s, dig);
	if (d->ckpt_done && memcmp(dig, d->ckpt_digest, SL_HASH_LEN) == 0)
		return SL_OK;
	if ((tips = calloc(n + 1, sizeof *tips)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return SL_ENOMEM;
	}
	if ((rc = store_read_begin(d->s, &txn)) != SL_OK) {
		snprintf(err, errlen, "cannot read the store");
		free(tips);
		return rc;
	}
	/* Only members' chains: a retired organisation's events after its
	 * cut-off are evidence here, not history anyone vouches for. */
	ms = project_members(d->p, txn);
	for (size_t i = 0; i < n && k < SL_CKPT_MAX; i++) {
		const struct store_tip *t = store_tip_at(d->s, i);

		if (ms == NULL || !sl_members_current(ms, t->origin))
			continue;
		memcpy(tips[k].origin, t->origin, SL_KEY_LEN);
		tips[k].seq = t->seq;
		memcpy(tips[k++].hash, t->hash, SL_HASH_LEN);
	}
	mdb_txn_abort(txn);
	if (ms == NULL) {
		free(tips);
		snprintf(err, errlen, "cannot read the members");
		return SL_ESTORE;
	}
	/* Above SL_CKPT_MAX origins the first ones in store order are
	 * named; a federation that size needs a larger format. */
	if (k > 1)
		qsort(tips, k, sizeof *tips, tip_cmp);
	rc = sl_ckpt_encode(&g, tips, k);
	free(tips);
	if (rc != SL_OK) {
		free(g.p);
		snprintf(err, errlen, "cannot encode the checkpoint");
		return rc;
	}
	struct sl_event_draft dr = { .author = "samlogd", .type = SL_CKPT_TYPE,
		.payload = g.p, .payload_len = (uint32_t)g.len };

	rc = store_append(d->s, &dr, 1, NULL, err, errlen);
	free(g.p);
	if (rc != SL_OK)
		return rc;
	tips_digest(d->s, d->ckpt_digest);
	d->ckpt_done = true;
	*wrote = true;
	if (d->sync != NULL)
		sync_log_grew(d->sync);
	return SL_OK;
}
