/*
 * bench_record.c - the fold's cost on one long record, and rebuilds
 * (make bench).
 *
 * Measures, on fresh stores with their projections in $TMPDIR:
 *   - 8,000, 16,000 and 32,000 contact.updated events appended to one
 *     contact through store and projections (the daemon's write path),
 *     100 per group commit, each naming the current head; K events must
 *     cost O(K log K) in all, so 32,000 should take 4-5 times as long as
 *     8,000 (16 times would be quadratic); best of three runs each;
 *   - project_rebuild of that 32,001-event log;
 *   - the fold `samlog audit --check` runs over that record's events
 *     (sl_fold_mem_add in clock order, then sl_fold_mem_record);
 *   - project_rebuild of BENCH_CONTACTS contacts (default 100,000), one
 *     contact.created event each, in events/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "project.h"
#include "store.h"
#include "../unit/testutil.h"

#define PER_COMMIT 100
#define RUNS 3

static char base[512];
static int stores;
static struct sl_key key;

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "bench: %s: %s\n", what, err);
	exit(1);
}

struct node {
	struct store *s;
	struct project *p;
};

static void
node_open(struct node *n)
{
	char path[600], err[256];

	snprintf(path, sizeof path, "%s/s%d", base, stores++);
	if (store_open(&n->s, path, &key, NULL, err, sizeof err) != SL_OK ||
	    project_open(&n->p, n->s, err, sizeof err) != SL_OK)
		die("open", err);
}

static void
node_close(struct node *n)
{
	project_close(n->p);
	store_close(n->s);
}

/* {"phone": "NNNNNNNN"}: a map of one, a new value each time. */
static uint32_t
phone_payload(uint8_t *out, size_t i)
{
	static const uint8_t map_phone[] = { 0x81, 0xa5, 'p', 'h', 'o', 'n',
		'e', 0xa8 };

	memcpy(out, map_phone, sizeof map_phone);
	for (int k = 7; k >= 0; k--, i /= 10)
		out[sizeof map_phone + (size_t)k] = (uint8_t)('0' + i % 10);
	return (uint32_t)sizeof map_phone + 8;
}

/* Creates a contact and appends k updates to it, PER_COMMIT per group
 * commit, each naming the one before; returns the seconds the updates
 * took. */
static double
one_record(struct node *n, size_t k, uint8_t id[SL_ID_LEN])
{
	static const uint8_t anna[] = { 0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa4,
		'A', 'n', 'n', 'a' };
	struct sl_event_draft d = { .author = "bench",
		.type = "contact.created", .payload = anna,
		.payload_len = sizeof anna };
	struct store_appended ap;
	uint8_t head[1][SL_HASH_LEN], pl[32];
	char err[256];
	double t0;

	if (store_append(n->s, &d, 1, &ap, err, sizeof err) != SL_OK)
		die("append", err);
	sl_entity_id(id, ap.hash);
	memcpy(head[0], ap.hash, SL_HASH_LEN);
	d = (struct sl_event_draft){ .author = "bench",
		.type = "contact.updated", .entity = id,
		.parents = (const uint8_t (*)[SL_HASH_LEN])head,
		.n_parents = 1, .payload = pl };
	t0 = tu_now_s();
	for (size_t done = 0; done < k;) {
		struct store_batch *b;
		uint8_t first[SL_HASH_LEN];
		size_t i;
		int rc = SL_OK;

		memcpy(first, head[0], SL_HASH_LEN);
		if (store_batch_begin(n->s, &b, err, sizeof err) != SL_OK)
			die("batch", err);
		for (i = 0; i < PER_COMMIT && done + i < k; i++) {
			d.payload_len = phone_payload(pl, done + i);
			if ((rc = store_batch_append(b, &d, &ap, err,
			    sizeof err)) != SL_OK)
				break;
			memcpy(head[0], ap.hash, SL_HASH_LEN);
		}
		if (i == PER_COMMIT || done + i == k)
			rc = store_batch_commit(b, err, sizeof err);
		else
			store_batch_abort(b);
		if (rc == SL_ERETRY) {
			/* The map grew: the batch is void, replay it. */
			memcpy(head[0], first, SL_HASH_LEN);
			continue;
		}
		if (rc != SL_OK)
			die("batch", err);
		done += i;
	}
	return tu_now_s() - t0;
}

struct history {
	uint8_t **rec;
	size_t *len;
	size_t n, cap;
};

static int
history_cb(void *ctx, const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN],
    const struct sl_evmeta *m)
{
	struct history *h = ctx;

	(void)hash;
	(void)m;
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 1024;
		h->rec = realloc(h->rec, h->cap * sizeof *h->rec);
		h->len = realloc(h->len, h->cap * sizeof *h->len);
		if (h->rec == NULL || h->len == NULL)
			die("history", "out of memory");
	}
	if ((h->rec[h->n] = malloc(ev->rec_len)) == NULL)
		die("history", "out of memory");
	memcpy(h->rec[h->n], ev->rec, ev->rec_len);
	h->len[h->n++] = ev->rec_len;
	return 0;
}

/* The record's events as a bundle carries them, folded as `samlog audit
 * --check` folds them (history order is clock order). */
static void
audit_fold(struct node *n, const uint8_t id[SL_ID_LEN], size_t k)
{
	struct history h = { 0 };
	struct sl_fold_mem *m;
	struct sl_rec r;
	MDB_txn *txn;
	double t0, t;

	if (store_read_begin(n->s, &txn) != SL_OK ||
	    project_history(n->p, txn, id, UINT64_MAX, history_cb, &h) != SL_OK)
		die("history", "cannot read the record's events");
	mdb_txn_abort(txn);
	t0 = tu_now_s();
	if ((m = sl_fold_mem_new()) == NULL)
		die("fold", "out of memory");
	for (size_t i = 0; i < h.n; i++)
		if (sl_fold_mem_add(m, h.rec[i], h.len[i]) != SL_OK)
			die("fold", "an event does not fold");
	if (sl_fold_mem_record(m, id, &r) != SL_OK || r.nheads != 1)
		die("fold", "the record is not what was written");
	t = tu_now_s() - t0;
	printf("  audit --check's fold of its %zu events: %8.3f s  "
	    "(%.0f events/s, in memory)\n", h.n, t, (double)h.n / t);
	if (h.n != k + 1)
		die("fold", "the history lacks events");
	sl_rec_free(&r);
	sl_fold_mem_free(m);
	for (size_t i = 0; i < h.n; i++)
		free(h.rec[i]);
	free(h.rec);
	free(h.len);
}

static void
rebuild(struct node *n, const char *what)
{
	char err[256];
	uint64_t events;
	double t0 = tu_now_s(), t;

	if (project_rebuild(n->p, &events, err, sizeof err) != SL_OK)
		die("rebuild", err);
	t = tu_now_s() - t0;
	printf("  rebuild of %s (%llu events): %8.3f s  (%.0f events/s)\n",
	    what, (unsigned long long)events, t, (double)events / t);
}

/* count contacts, 1,000 per commit. */
static void
contacts(struct node *n, size_t count)
{
	struct sl_event_draft *d = calloc(1000, sizeof *d);
	uint8_t (*pl)[32] = calloc(1000, sizeof *pl);
	char err[256];

	if (d == NULL || pl == NULL)
		die("contacts", "out of memory");
	for (size_t done = 0; done < count;) {
		size_t k = count - done < 1000 ? count - done : 1000;

		for (size_t i = 0; i < k; i++) {
			/* {"name": "Contact NNNNNNNNN"} */
			static const uint8_t map_name[] = { 0x81, 0xa4, 'n',
				'a', 'm', 'e', 0xb1 };

			memcpy(pl[i], map_name, sizeof map_name);
			memcpy(pl[i] + sizeof map_name, "Contact ", 8);
			for (size_t j = 0, v = done + i; j < 9; j++, v /= 10)
				pl[i][sizeof map_name + 16 - j] =
				    (uint8_t)('0' + v % 10);
			d[i] = (struct sl_event_draft){ .author = "bench",
				.type = "contact.created", .payload = pl[i],
				.payload_len = sizeof map_name + 17 };
		}
		if (store_append(n->s, d, k, NULL, err, sizeof err) != SL_OK)
			die("append", err);
		done += k;
	}
	free(d);
	free(pl);
}

int
main(void)
{
	static const size_t sizes[] = { 8000, 16000, 32000 };
	const char *tmp = getenv("TMPDIR"), *c = getenv("BENCH_CONTACTS");
	size_t ncontacts = c ? strtoul(c, NULL, 10) : 100000;
	uint8_t seed[SL_SEED_LEN], id[SL_ID_LEN];
	double t[3] = { 0, 0, 0 };
	struct node n;
	char cmd[600];

	snprintf(base, sizeof base, "%s/samlog-bench-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(base) == NULL || sl_crypto_init() != 0)
		return 1;
	memset(seed, 3, sizeof seed);
	sl_key_from_seed(&key, seed);
	printf("one contact, K contact.updated events each naming the one "
	    "before, %d per commit (store in %s):\n", PER_COMMIT, base);
	/* Each size RUNS times on a fresh store, the best kept: a tenth of
	 * a second is within the noise of a shared machine. */
	for (int r = 0; r < RUNS; r++) {
		for (int i = 0; i < 3; i++) {
			double ti;

			node_open(&n);
			ti = one_record(&n, sizes[i], id);
			if (t[i] == 0 || ti < t[i])
				t[i] = ti;
			if (r < RUNS - 1 || i < 2)
				node_close(&n);
		}
	}
	for (int i = 0; i < 3; i++)
		printf("  K = %5zu: %8.3f s  (%.1f us/event, %.0f events/s; "
		    "best of %d)\n", sizes[i], t[i], t[i] * 1e6 /
		    (double)sizes[i], (double)sizes[i] / t[i], RUNS);
	printf("  32,000 / 8,000: %.2f times the time (linear 4, K log K "
	    "about 4.6, quadratic 16)\n", t[2] / t[0]);
	rebuild(&n, "that log");
	audit_fold(&n, id, sizes[2]);
	node_close(&n);

	printf("%zu contacts, one contact.created event each:\n", ncontacts);
	node_open(&n);
	contacts(&n, ncontacts);
	rebuild(&n, "every contact");
	node_close(&n);

	sl_key_wipe(&key);
	sl_crypto_shutdown();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : 1;
}
