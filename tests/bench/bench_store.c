/*
 * bench_store.c - throughput of the event log (make bench).
 *
 * Measures, on a fresh store in $TMPDIR, with BENCH_PAYLOAD-byte payloads
 * (default 200):
 *   - local append with one event per durable commit (fsync each),
 *   - local append with 1,000 events per commit,
 *   - ingest of another node's events with full verification (decode,
 *     payload hash, chain, signatures) in batches of 1,000,
 *   - a full store_verify pass.
 * Prints events/s for each.  The event count is BENCH_EVENTS (default
 * 1,000,000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "samlog_proto.h"
#include "../unit/testutil.h"
#include "store.h"

static struct store *
open_store(const char *base, const char *name, const struct sl_key *k)
{
	char path[512], err[256];
	struct store *s;

	snprintf(path, sizeof path, "%s/%s", base, name);
	if (store_open(&s, path, k, NULL, err, sizeof err) != SL_OK) {
		fprintf(stderr, "bench: %s\n", err);
		exit(1);
	}
	return s;
}

static void
append_or_die(struct store *s, const struct sl_event_draft *d, size_t n)
{
	char err[256];

	if (store_append(s, d, n, NULL, err, sizeof err) != SL_OK) {
		fprintf(stderr, "bench: append: %s\n", err);
		exit(1);
	}
}

struct collect {
	uint8_t **rec;
	size_t *len;
	size_t n;
};

static int
collect_cb(void *ctx, uint64_t arrival, const uint8_t *rec, size_t len)
{
	struct collect *c = ctx;

	(void)arrival;
	c->rec[c->n] = malloc(len);
	memcpy(c->rec[c->n], rec, len);
	c->len[c->n++] = len;
	return 0;
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	const char *ev = getenv("BENCH_EVENTS"), *pl = getenv("BENCH_PAYLOAD");
	size_t total = ev ? strtoul(ev, NULL, 10) : 1000000;
	uint32_t plen = pl ? (uint32_t)strtoul(pl, NULL, 10) : 200;
	char base[512];
	uint8_t payload[4096], seed[SL_SEED_LEN];
	struct sl_key ka, kb;
	struct sl_event_draft d[1000];
	double t0, t;

	snprintf(base, sizeof base, "%s/samlog-bench-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(base) == NULL || sl_crypto_init() != 0)
		return 1;
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 7);
	memset(seed, 1, sizeof seed);
	sl_key_from_seed(&ka, seed);
	memset(seed, 2, sizeof seed);
	sl_key_from_seed(&kb, seed);
	for (size_t i = 0; i < 1000; i++)
		d[i] = (struct sl_event_draft){ .author = "bench", .type =
		    "contact.updated", .payload = payload, .payload_len =
		    plen < sizeof payload ? plen : sizeof payload };

	printf("samlog store benchmark: %u-byte payloads, store in %s\n",
	    (unsigned)d[0].payload_len, base);

	/* 1. One event per durable commit. */
	struct store *s1 = open_store(base, "single", &ka);
	size_t n1 = 0;

	t0 = tu_now_s();
	while ((t = tu_now_s() - t0) < 3.0) {
		append_or_die(s1, d, 1);
		n1++;
	}
	printf("append, 1 event/commit:      %9.0f events/s  (%zu commits, "
	    "fsync each)\n", (double)n1 / t, n1);
	store_close(s1);

	/* 2. 1,000 events per commit. */
	struct store *s2 = open_store(base, "batched", &ka);

	t0 = tu_now_s();
	for (size_t done = 0; done < total; done += 1000)
		append_or_die(s2, d, 1000);
	t = tu_now_s() - t0;
	uint8_t *one;
	size_t one_len;

	store_event_get(s2, ka.pub, 2, &one, &one_len);
	printf("append, 1000 events/commit:  %9.0f events/s  (%zu events, "
	    "%zu-byte records)\n", (double)total / t, total, one_len);
	free(one);

	/* 3. Verified ingest of those events into another node's store. */
	struct collect c = { calloc(total, sizeof(uint8_t *)),
		calloc(total, sizeof(size_t)), 0 };

	store_scan(s2, 0, collect_cb, &c);
	struct store *s3 = open_store(base, "ingest", &kb);
	struct store_ingest_result r;

	t0 = tu_now_s();
	for (size_t done = 0; done < c.n; done += 1000) {
		size_t k = c.n - done < 1000 ? c.n - done : 1000;

		if (store_ingest(s3, (const uint8_t *const *)c.rec + done,
		    c.len + done, k, &r) != SL_OK) {
			fprintf(stderr, "bench: ingest: %s\n", r.reason);
			return 1;
		}
	}
	t = tu_now_s() - t0;
	printf("ingest, verified, 1000/batch:%9.0f events/s  (%zu events)\n",
	    (double)c.n / t, c.n);

	/* 4. Full verification of the ingested log. */
	struct store_verify_report rep;

	t0 = tu_now_s();
	if (store_verify(s3, &rep) != SL_OK) {
		fprintf(stderr, "bench: verify: %s\n", rep.reason);
		return 1;
	}
	t = tu_now_s() - t0;
	printf("verify, whole log:           %9.0f events/s  (%llu events, "
	    "%llu signatures)\n", (double)rep.events / t,
	    (unsigned long long)rep.events, (unsigned long long)rep.signatures);

	for (size_t i = 0; i < c.n; i++)
		free(c.rec[i]);
	free(c.rec);
	free(c.len);
	store_close(s2);
	store_close(s3);
	sl_key_wipe(&ka);
	sl_key_wipe(&kb);
	sl_crypto_shutdown();
	char cmd[600];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : 1;
}
