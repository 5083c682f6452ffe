/*
 * test_store.c - the LMDB log: append, ingest between stores, duplicates,
 * gaps, forks, bad signatures, tampering with stored bytes, persistence
 * across reopen, map growth, and 100,000 appends verified after a reopen.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "samlog_proto.h"
#include "store.h"
#include "testutil.h"
#include "wal.h"

struct fixture {
	char *dir;
	struct sl_key ka, kb;
};

static uint8_t payload[200];

static char *
sub(const struct fixture *f, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", f->dir, name) < 0)
		abort();
	return p;
}

static struct store *
open_at(const struct fixture *f, const char *name, const struct sl_key *k,
    const struct store_options *opt)
{
	struct store *s;
	char err[256];
	char *p = sub(f, name);

	if (store_open(&s, p, k, opt, err, sizeof err) != SL_OK)
		fail_msg("store_open %s: %s", p, err);
	free(p);
	return s;
}

/* Appends n events in commits of `per` events. */
static void
append_n(struct store *s, size_t n, size_t per)
{
	struct sl_event_draft *d = calloc(per, sizeof *d);
	char err[256];

	for (size_t i = 0; i < per; i++) {
		d[i].author = "tester";
		d[i].type = "contact.created";
		d[i].payload = payload;
		d[i].payload_len = sizeof payload;
	}
	for (size_t done = 0; done < n; done += per) {
		size_t k = n - done < per ? n - done : per;
		int rc = store_append(s, d, k, NULL, err, sizeof err);

		if (rc != SL_OK)
			fail_msg("append: %s", err);
	}
	free(d);
}

/* A batch of records of one origin, copied out of a store. */
struct batch {
	uint8_t **rec;
	size_t *len;
	size_t n;
};

static void
batch_get(struct batch *b, struct store *s, const uint8_t *origin,
    uint64_t from, uint64_t to)
{
	b->n = to - from + 1;
	b->rec = calloc(b->n, sizeof *b->rec);
	b->len = calloc(b->n, sizeof *b->len);
	for (uint64_t q = from; q <= to; q++)
		assert_int_equal(store_event_get(s, origin, q,
		    &b->rec[q - from], &b->len[q - from]), SL_OK);
}

static void
batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->rec[i]);
	free(b->rec);
	free(b->len);
}

static int
ingest(struct store *s, const struct batch *b, struct store_ingest_result *r)
{
	return store_ingest(s, (const uint8_t *const *)b->rec, b->len, b->n, r);
}

static void
assert_verifies(struct store *s, uint64_t events)
{
	struct store_verify_report rep;

	if (store_verify(s, &rep) != SL_OK)
		fail_msg("verify: %s", rep.reason);
	assert_int_equal(rep.events, events);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	uint8_t seed[SL_SEED_LEN];

	f->dir = tu_tmpdir();
	memset(seed, 1, sizeof seed);
	sl_key_from_seed(&f->ka, seed);
	memset(seed, 2, sizeof seed);
	sl_key_from_seed(&f->kb, seed);
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)i;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	tu_rmtree(f->dir);
	free(f);
	return 0;
}

/* ---- tests --------------------------------------------------------------- */

static void
test_append_assigns_chain(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_at(f, "a", &f->ka, NULL);
	struct sl_event_draft d[3] = {
		{ .author = "anna", .type = "org.created", .payload = payload,
		    .payload_len = 10 },
		{ .author = "anna", .type = "org.updated", .payload = payload,
		    .payload_len = 0 },
		{ .author = "Ölund", .type = "org.updated", .payload = NULL,
		    .payload_len = 0 },
	};
	struct store_appended out[3];
	char err[256];
	uint8_t *rec;
	size_t len;
	struct sl_event ev;

	assert_int_equal(store_append(s, d, 3, out, err, sizeof err), SL_OK);
	assert_int_equal(out[0].seq, 1);
	assert_int_equal(out[2].seq, 3);
	assert_true(out[1].hlc > out[0].hlc && out[2].hlc > out[1].hlc);
	assert_int_equal(store_event_count(s), 3);
	const struct store_tip *t = store_tip_of(s, f->ka.pub);

	assert_non_null(t);
	assert_int_equal(t->seq, 3);
	assert_memory_equal(t->hash, out[2].hash, SL_HASH_LEN);
	/* Only the last event of the commit is signed; each links back. */
	for (uint64_t q = 1; q <= 3; q++) {
		assert_int_equal(store_event_get(s, f->ka.pub, q, &rec, &len),
		    SL_OK);
		assert_int_equal(sl_event_decode(&ev, rec, len), SL_OK);
		assert_int_equal(ev.seq, q);
		assert_int_equal(ev.sig != NULL, q == 3);
		if (q > 1)
			assert_memory_equal(ev.prev, out[q - 2].hash, SL_HASH_LEN);
		free(rec);
	}
	assert_int_equal(store_event_get(s, f->ka.pub, 4, &rec, &len),
	    SL_ENOENT);
	/* A bad draft refuses the whole call and writes nothing. */
	d[1].type = "Not A Type";
	assert_int_equal(store_append(s, d, 3, NULL, err, sizeof err),
	    SL_EVALUE);
	assert_string_equal(err, "event 2: invalid value");
	assert_int_equal(store_event_count(s), 3);
	assert_verifies(s, 3);
	store_close(s);
}

static void
test_sign_interval(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_at(f, "a", &f->ka, NULL);
	uint8_t *rec;
	size_t len;
	struct sl_event ev;

	append_n(s, 600, 600);
	for (uint64_t q = 1; q <= 600; q++) {
		assert_int_equal(store_event_get(s, f->ka.pub, q, &rec, &len),
		    SL_OK);
		assert_int_equal(sl_event_decode(&ev, rec, len), SL_OK);
		assert_int_equal(ev.sig != NULL, q == 256 || q == 512 || q == 600);
		free(rec);
	}
	assert_verifies(s, 600);
	store_close(s);
}

static void
test_ingest_and_duplicates(void **state)
{
	struct fixture *f = *state;
	struct store *a = open_at(f, "a", &f->ka, NULL);
	struct store *b = open_at(f, "b", &f->kb, NULL);
	struct store_ingest_result r;
	struct batch all, head, tail;

	append_n(a, 10, 5);
	append_n(b, 4, 4);
	batch_get(&all, a, f->ka.pub, 1, 10);
	batch_get(&head, a, f->ka.pub, 1, 5);
	batch_get(&tail, a, f->ka.pub, 3, 10);

	assert_int_equal(ingest(b, &head, &r), SL_OK);
	assert_int_equal(r.added, 5);
	/* Overlap: 3..5 are duplicates, 6..10 are new. */
	assert_int_equal(ingest(b, &tail, &r), SL_OK);
	assert_int_equal(r.added, 5);
	assert_int_equal(r.duplicates, 3);
	/* All again: nothing new, nothing wrong. */
	assert_int_equal(ingest(b, &all, &r), SL_OK);
	assert_int_equal(r.added, 0);
	assert_int_equal(r.duplicates, 10);
	assert_int_equal(store_event_count(b), 14);
	assert_int_equal(store_origin_count(b), 2);
	assert_memory_equal(store_tip_of(b, f->ka.pub)->hash,
	    store_tip_of(a, f->ka.pub)->hash, SL_HASH_LEN);
	assert_verifies(b, 14);

	/* Records are stored exactly as received. */
	uint8_t *rec;
	size_t len;

	assert_int_equal(store_event_get(b, f->ka.pub, 7, &rec, &len), SL_OK);
	assert_int_equal(len, all.len[6]);
	assert_memory_equal(rec, all.rec[6], len);
	free(rec);
	batch_free(&all);
	batch_free(&head);
	batch_free(&tail);
	store_close(a);
	store_close(b);
}

static void
test_gap_refused(void **state)
{
	struct fixture *f = *state;
	struct store *a = open_at(f, "a", &f->ka, NULL);
	struct store *b = open_at(f, "b", &f->kb, NULL);
	struct store_ingest_result r;
	struct batch head, later;

	append_n(a, 10, 5);
	batch_get(&head, a, f->ka.pub, 1, 5);
	batch_get(&later, a, f->ka.pub, 8, 10);
	assert_int_equal(ingest(b, &head, &r), SL_OK);
	/* 6 and 7 are missing. */
	assert_int_equal(ingest(b, &later, &r), SL_EGAP);
	assert_int_equal(r.seq, 8);
	assert_non_null(strstr(r.reason, "only up to seq 5"));
	assert_int_equal(store_event_count(b), 5);
	/* A hole inside the batch is refused too, and nothing is written. */
	struct batch holey;

	batch_get(&holey, a, f->ka.pub, 6, 10);
	free(holey.rec[1]);
	holey.rec[1] = holey.rec[4];
	holey.len[1] = holey.len[4];
	holey.rec[4] = NULL;
	holey.n = 2; /* 6, 10 */
	assert_int_equal(ingest(b, &holey, &r), SL_EGAP);
	assert_int_equal(store_event_count(b), 5);
	holey.n = 5;
	batch_free(&holey);
	batch_free(&head);
	batch_free(&later);
	store_close(a);
	store_close(b);
}

static void
test_unsigned_and_bad_signature(void **state)
{
	struct fixture *f = *state;
	struct store *a = open_at(f, "a", &f->ka, NULL);
	struct store *b = open_at(f, "b", &f->kb, NULL);
	struct store_ingest_result r;
	struct batch part, all;

	append_n(a, 100, 100); /* only seq 100 is signed */
	batch_get(&part, a, f->ka.pub, 1, 50);
	assert_int_equal(ingest(b, &part, &r), SL_EUNSIGNED);
	assert_int_equal(store_event_count(b), 0);

	batch_get(&all, a, f->ka.pub, 1, 100);
	/* Flip one byte of the signature (the sig is the 64 bytes after the
	 * header bin; find it by decoding). */
	struct sl_event ev;

	assert_int_equal(sl_event_decode(&ev, all.rec[99], all.len[99]), SL_OK);
	size_t off = (size_t)(ev.sig - all.rec[99]);

	all.rec[99][off + 10] ^= 0x40;
	assert_int_equal(ingest(b, &all, &r), SL_ESIG);
	assert_int_equal(r.seq, 100);
	assert_int_equal(store_event_count(b), 0);
	all.rec[99][off + 10] ^= 0x40;
	/* A changed payload somewhere in the middle. */
	all.rec[40][all.len[40] - 1] ^= 1;
	assert_int_equal(ingest(b, &all, &r), SL_EPAYLOAD);
	assert_int_equal(r.seq, 41);
	all.rec[40][all.len[40] - 1] ^= 1;
	/* Garbage in place of a record. */
	uint8_t junk[3] = { 0x93, 0xc0, 0xc0 };
	uint8_t *keep = all.rec[5];

	all.rec[5] = junk;
	assert_int_equal(ingest(b, &all, &r), SL_ETYPE);
	assert_int_equal(r.index, 5);
	all.rec[5] = keep;
	assert_int_equal(store_event_count(b), 0);
	/* And the honest batch goes through. */
	assert_int_equal(ingest(b, &all, &r), SL_OK);
	assert_int_equal(r.added, 100);
	assert_verifies(b, 100);
	batch_free(&part);
	batch_free(&all);
	store_close(a);
	store_close(b);
}

static void
test_fork_detected(void **state)
{
	struct fixture *f = *state;
	/* Two stores with the same key: the same origin signing two
	 * different histories, as a node restored from an old copy would. */
	struct store *a = open_at(f, "a", &f->ka, NULL);
	struct store *a2 = open_at(f, "a2", &f->ka, NULL);
	struct store *b = open_at(f, "b", &f->kb, NULL);
	struct store_ingest_result r;
	struct batch ba, ba2, shared;

	append_n(a, 4, 4);  /* commits end signed at 4, 5 and 10 */
	append_n(a, 1, 1);
	append_n(a, 5, 5);
	batch_get(&shared, a, f->ka.pub, 1, 4);
	assert_int_equal(ingest(a2, &shared, &r), SL_OK);
	append_n(a2, 6, 6); /* a2's 5..10 differ from a's */
	batch_get(&ba, a, f->ka.pub, 1, 10);
	batch_get(&ba2, a2, f->ka.pub, 1, 10);

	assert_int_equal(ingest(b, &ba, &r), SL_OK);
	assert_int_equal(store_fork_count(b), 0);
	assert_int_equal(ingest(b, &ba2, &r), SL_EFORK);
	assert_int_equal(r.seq, 5);
	assert_memory_equal(r.origin, f->ka.pub, SL_KEY_LEN);
	assert_non_null(strstr(r.reason, "kept as evidence"));
	/* Evidence: a2's 5..10, up to the signature that proves them. */
	assert_int_equal(store_fork_count(b), 6);
	/* The log is untouched. */
	assert_int_equal(store_event_count(b), 10);
	assert_memory_equal(store_tip_of(b, f->ka.pub)->hash,
	    store_tip_of(a, f->ka.pub)->hash, SL_HASH_LEN);
	assert_verifies(b, 10);
	batch_free(&ba);
	batch_free(&ba2);
	batch_free(&shared);

	/* A fork seen only through prev: b2 holds a's 1..5, gets a2's 6..10,
	 * whose event 6 builds on a2's 5, not a's. */
	struct store *b2 = open_at(f, "b2", &f->kb, NULL);
	struct batch a15, a2_610;

	batch_get(&a15, a, f->ka.pub, 1, 5);
	batch_get(&a2_610, a2, f->ka.pub, 6, 10);
	assert_int_equal(ingest(b2, &a15, &r), SL_OK);
	assert_int_equal(ingest(b2, &a2_610, &r), SL_EFORK);
	assert_int_equal(r.seq, 6);
	assert_int_equal(store_fork_count(b2), 5);
	assert_int_equal(store_event_count(b2), 5);
	assert_verifies(b2, 5);
	batch_free(&a15);
	batch_free(&a2_610);
	store_close(b2);
	store_close(a);
	store_close(a2);
	store_close(b);
}

/*
 * The same fork refused again (sync stores a refused batch of frames
 * again frame by frame) was kept the first time, and says so, even where
 * counting its records twice would pass the cap of 10,000.  39 histories
 * of seq 2..256 (255 records of evidence each) fill 9,945 of it.
 */
static void
test_fork_again_at_cap(void **state)
{
	struct fixture *f = *state;
	struct store *a = open_at(f, "a", &f->ka, NULL);
	struct store *b = open_at(f, "b", &f->kb, NULL);
	struct store_ingest_result r;
	struct batch one, h;

	append_n(a, 1, 1);
	append_n(a, 255, 255);
	batch_get(&one, a, f->ka.pub, 1, 256);
	assert_int_equal(ingest(b, &one, &r), SL_OK);
	one.n = 1;
	for (int k = 0; k < 39; k++) {
		char name[16];

		snprintf(name, sizeof name, "h%02d", k);
		struct store *hs = open_at(f, name, &f->ka, NULL);

		assert_int_equal(ingest(hs, &one, &r), SL_OK);
		append_n(hs, 255, 255);
		batch_get(&h, hs, f->ka.pub, 2, 256);
		assert_int_equal(ingest(b, &h, &r), SL_EFORK);
		if (strstr(r.reason, "; kept as evidence") == NULL)
			fail_msg("history %d: %s", k, r.reason);
		if (k < 38)
			batch_free(&h);
		store_close(hs);
	}
	assert_int_equal(store_fork_count(b), 39 * 255);
	/* The last one again. */
	assert_int_equal(ingest(b, &h, &r), SL_EFORK);
	if (strstr(r.reason, "; kept as evidence") == NULL)
		fail_msg("the same fork again: %s", r.reason);
	assert_int_equal(store_fork_count(b), 39 * 255);
	batch_free(&h);
	one.n = 256;
	batch_free(&one);
	store_close(a);
	store_close(b);
}

/* One event of k's chain made by hand: seq, prev (NULL at seq 1), signed
 * or not; its record into *rec (malloc'd) and its hash. */
static void
hand_event(const struct sl_key *k, uint64_t seq, const uint8_t *prev,
    bool sign, uint64_t hlc, uint8_t **rec, size_t *len,
    uint8_t hash[SL_HASH_LEN])
{
	uint8_t hdr[SL_HEADER_MAX], salt[SL_SALT_LEN], ph[SL_HASH_LEN];
	uint8_t sig[SL_SIG_LEN];
	struct sl_event_draft d = { .author = "tester",
		.type = "contact.created", .payload = payload,
		.payload_len = sizeof payload };

	sl_random(salt, sizeof salt);
	sl_payload_hash(ph, salt, payload, sizeof payload);
	struct sl_header_in h = { k->pub, seq, prev, hlc, ph };
	size_t hl = sl_header_encode(hdr, &d, &h);

	sl_sha256(hash, hdr, hl);
	if (sign)
		sl_sign_hash(sig, k, hash);
	*rec = malloc(sl_record_size(hl, true, sizeof payload));
	assert_non_null(*rec);
	*len = sl_record_encode(*rec, hdr, hl, sign ? sig : NULL, salt,
	    payload, sizeof payload);
}

/*
 * Two forked runs that share their first (unsigned) event and go on
 * differently: the second's evidence is not kept yet, and is kept whole
 * (the first shared record counted once).
 */
static void
test_fork_shared_first(void **state)
{
	struct fixture *f = *state;
	struct store *a = open_at(f, "a", &f->ka, NULL);
	struct store *b = open_at(f, "b", &f->kb, NULL);
	struct store_ingest_result r;
	struct batch one;
	uint8_t he[SL_HASH_LEN], hx[SL_HASH_LEN], hy[SL_HASH_LEN];
	uint8_t hz[SL_HASH_LEN], *r1[2], *r2[3];
	size_t l1[2], l2[3];
	uint64_t t = (sl_now_ms() - 100000) << 16;

	append_n(a, 1, 1);
	batch_get(&one, a, f->ka.pub, 1, 1);
	assert_int_equal(ingest(b, &one, &r), SL_OK);
	hand_event(&f->ka, 1, NULL, false, t + 1, &r1[0], &l1[0], he);
	hand_event(&f->ka, 2, he, true, t + 2, &r1[1], &l1[1], hx);
	r2[0] = malloc(l1[0]);
	assert_non_null(r2[0]);
	memcpy(r2[0], r1[0], l1[0]);
	l2[0] = l1[0];
	hand_event(&f->ka, 2, he, false, t + 3, &r2[1], &l2[1], hy);
	hand_event(&f->ka, 3, hy, true, t + 4, &r2[2], &l2[2], hz);
	assert_int_equal(store_ingest(b, (const uint8_t *const *)r1, l1, 2,
	    &r), SL_EFORK);
	assert_non_null(strstr(r.reason, "; kept as evidence"));
	assert_int_equal(store_fork_count(b), 2);
	assert_int_equal(store_ingest(b, (const uint8_t *const *)r2, l2, 3,
	    &r), SL_EFORK);
	assert_non_null(strstr(r.reason, "; kept as evidence"));
	assert_int_equal(store_fork_count(b), 4);
	for (int i = 0; i < 2; i++)
		free(r1[i]);
	for (int i = 0; i < 3; i++)
		free(r2[i]);
	batch_free(&one);
	store_close(a);
	store_close(b);
}

/* Evidence of refused records is capped by the pages it fills as well as
 * by count: records of the largest size stop at 16 MiB, long before
 * 10,000 of them. */
static void
test_refused_capped(void **state)
{
	struct fixture *f = *state;
	struct store *b = open_at(f, "b", &f->kb, NULL);
	uint8_t *rec = malloc(SL_EVENT_MAX);
	uint64_t n;
	int rc = SL_OK, k;

	assert_non_null(rec);
	memset(rec, 0x5a, SL_EVENT_MAX);
	for (k = 0; k < 1000 && rc == SL_OK; k++) {
		rec[0] = (uint8_t)k;
		rec[1] = (uint8_t)(k >> 8);
		rc = store_keep_refused(b, f->ka.pub, rec, SL_EVENT_MAX, SL_ESIG,
		    "bad signature");
	}
	assert_int_equal(rc, SL_EFULL);
	n = store_refused_count(b);
	assert_int_equal(n, k - 1);
	assert_true(n * SL_EVENT_MAX <= (16u << 20));
	assert_true(n * SL_EVENT_MAX > (15u << 20));
	/* Once full, it stays full. */
	rec[0] ^= 0xff;
	assert_int_equal(store_keep_refused(b, f->ka.pub, rec, SL_EVENT_MAX,
	    SL_ESIG, "bad signature"), SL_EFULL);
	assert_int_equal(store_refused_count(b), n);
	free(rec);
	store_close(b);
}

static void
test_persistence(void **state)
{
	struct fixture *f = *state;
	struct store *a = open_at(f, "a", &f->ka, NULL);
	struct store *b = open_at(f, "b", &f->kb, NULL);
	struct store_ingest_result r;
	struct batch ba;
	uint8_t tip[SL_HASH_LEN];
	uint64_t hlc;

	append_n(a, 300, 100);
	batch_get(&ba, a, f->ka.pub, 1, 300);
	append_n(b, 7, 7);
	assert_int_equal(ingest(b, &ba, &r), SL_OK);
	memcpy(tip, store_tip_of(b, f->ka.pub)->hash, SL_HASH_LEN);
	hlc = store_hlc(b);
	store_close(b);

	b = open_at(f, "b", &f->kb, NULL);
	assert_int_equal(store_event_count(b), 307);
	assert_int_equal(store_origin_count(b), 2);
	assert_int_equal(store_tip_of(b, f->ka.pub)->seq, 300);
	assert_memory_equal(store_tip_of(b, f->ka.pub)->hash, tip, SL_HASH_LEN);
	assert_int_equal(store_tip_of(b, f->kb.pub)->seq, 7);
	assert_true(store_hlc(b) >= hlc);
	assert_verifies(b, 307);
	/* Appending continues the chain where it was. */
	append_n(b, 3, 3);
	assert_int_equal(store_tip_of(b, f->kb.pub)->seq, 10);
	assert_verifies(b, 310);
	/* Duplicates stay duplicates after a restart. */
	assert_int_equal(ingest(b, &ba, &r), SL_OK);
	assert_int_equal(r.duplicates, 300);
	batch_free(&ba);
	store_close(b);

	/* A store refuses to be opened with another node's key. */
	struct store *x;
	char err[256];
	char *p = sub(f, "b");

	assert_int_equal(store_open(&x, p, &f->ka, NULL, err, sizeof err),
	    SL_EINVAL);
	assert_null(x);
	assert_non_null(strstr(err, "another node key"));
	free(p);
	store_close(a);
}

/*
 * Each compaction after an erasure costs a restart of the daemon, so one
 * that follows the last within twice its wait doubles the wait (a
 * member erasing its own fields one by one cannot keep a node
 * restarting), from a minute up to an hour; the store keeps its events
 * through each compaction and swap.
 */
static void
test_compact_backoff(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_at(f, "c", &f->ka, NULL);
	char *p = sub(f, "c"), err[256];
	uint64_t want = STORE_COMPACT_MIN_MS;
	bool swapped;

	append_n(s, 5, 5);
	assert_int_equal(store_compact_every(s), STORE_COMPACT_MIN_MS);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(store_compact(s, p, err, sizeof err), SL_OK);
		store_close(s);
		assert_int_equal(store_swap(p, &swapped, err, sizeof err),
		    SL_OK);
		assert_true(swapped);
		s = open_at(f, "c", &f->ka, NULL);
		/* The first has no last one to follow; each after it comes
		 * within moments. */
		if (i > 0)
			want = want * 2 < STORE_COMPACT_MAX_MS ? want * 2 :
			    STORE_COMPACT_MAX_MS;
		assert_int_equal(store_compact_every(s), want);
		assert_true(store_compacted_at(s) > 0);
		assert_verifies(s, 5);
	}
	assert_int_equal(want, STORE_COMPACT_MAX_MS);
	store_close(s);
	free(p);
}

/* Appends n events whose "name" is a commitment with no opening (as a
 * relay that dropped it passes them on). */
static void
append_stripped(struct store *s, size_t n)
{
	uint8_t pl[64], h[SL_HASH_LEN];
	struct sl_event_draft d = { .author = "tester",
		.type = "contact.created", .payload = pl };
	msgpack_packer pk;
	struct sl_buf b = { 0 };
	char err[256];

	memset(h, 7, sizeof h);
	msgpack_packer_init(&pk, &b, sl_buf_write);
	msgpack_pack_map(&pk, 1);
	sl_pack_cstr(&pk, "name");
	sl_pack_bin(&pk, h, sizeof h);
	assert_true(b.len <= sizeof pl);
	memcpy(pl, b.p, b.len);
	d.payload_len = (uint32_t)b.len;
	free(b.p);
	for (size_t i = 0; i < n; i++)
		if (store_append(s, &d, 1, NULL, err, sizeof err) != SL_OK)
			fail_msg("append: %s", err);
}

/*
 * The index of events held without an opening (what WANT asks peers
 * for): a round names at most 32 of one origin, so an origin with many
 * (a member whose own openings nobody has) cannot crowd out another's;
 * round after round it goes on through all of them, also when the store
 * reads its origins again between rounds (as any refused batch has it
 * do).
 */
static void
test_gaps_rounds(void **state)
{
	struct fixture *f = *state;
	struct store *a = open_at(f, "ga", &f->ka, NULL);
	struct store *b = open_at(f, "gb", &f->kb, NULL);
	struct store *c = open_at(f, "gc", NULL, NULL);
	struct store_ingest_result r;
	struct store_gap g[SL_PEER_WANT_MAX];
	struct batch ba, bb, bgap;
	bool seen[101] = { false };
	size_t n, na, nb;

	append_stripped(a, 100);
	append_stripped(b, 3);
	batch_get(&ba, a, f->ka.pub, 1, 100);
	batch_get(&bb, b, f->kb.pub, 1, 1);
	batch_get(&bgap, b, f->kb.pub, 3, 3);
	assert_int_equal(ingest(c, &ba, &r), SL_OK);
	assert_int_equal(r.gaps, 100);
	assert_int_equal(ingest(c, &bb, &r), SL_OK);
	assert_int_equal(r.gaps, 1);
	assert_int_equal(store_gap_count(c), 101);
	for (int round = 0; round < 4; round++) {
		/* Refused (seq 2 is missing): the store reloads. */
		assert_int_equal(ingest(c, &bgap, &r), SL_EGAP);
		n = store_gaps(c, g, SL_PEER_WANT_MAX);
		na = nb = 0;
		for (size_t i = 0; i < n; i++) {
			if (memcmp(g[i].origin, f->kb.pub, SL_KEY_LEN) == 0) {
				nb++;
				continue;
			}
			na++;
			assert_true(g[i].seq >= 1 && g[i].seq <= 100);
			seen[g[i].seq] = true;
		}
		assert_true(na <= 32);
		assert_true(nb <= 1);
	}
	for (int q = 1; q <= 100; q++)
		if (!seen[q])
			fail_msg("seq %d of the crowded origin never asked", q);
	/* b's event never waited for a's: it is in every round. */
	assert_int_equal(nb, 1);
	batch_free(&ba);
	batch_free(&bb);
	batch_free(&bgap);
	store_close(a);
	store_close(b);
	store_close(c);
}

struct scan_ctx {
	uint64_t n, last;
};

static int
scan_cb(void *ctx, uint64_t arrival, const uint8_t *rec, size_t len)
{
	struct scan_ctx *c = ctx;
	struct sl_event ev;

	assert_int_equal(sl_event_decode(&ev, rec, len), SL_OK);
	assert_true(arrival > c->last);
	c->last = arrival;
	c->n++;
	return 0;
}

static void
test_arrival_scan(void **state)
{
	struct fixture *f = *state;
	struct store *a = open_at(f, "a", &f->ka, NULL);
	struct scan_ctx c = { 0, 0 };

	append_n(a, 25, 10);
	assert_int_equal(store_scan(a, 0, scan_cb, &c), SL_OK);
	assert_int_equal(c.n, 25);
	c = (struct scan_ctx){ 0, 20 };
	assert_int_equal(store_scan(a, 20, scan_cb, &c), SL_OK);
	assert_int_equal(c.n, 5);
	store_close(a);
}

static void
test_tamper_any_byte(void **state)
{
	struct fixture *f = *state;
	struct store *a = open_at(f, "a", &f->ka, NULL);
	char *path = sub(f, "a");
	/* Unsigned first event, an unsigned middle one, the interval
	 * signature, and the signed last event of the commit. */
	const uint64_t which[] = { 1, 150, 256, 300 };
	struct store_verify_report rep;

	append_n(a, 300, 300);
	assert_verifies(a, 300);
	store_close(a);
	for (size_t w = 0; w < sizeof which / sizeof which[0]; w++) {
		uint8_t *rec;
		size_t len;

		a = open_at(f, "a", &f->ka, NULL);
		assert_int_equal(store_event_get(a, f->ka.pub, which[w], &rec,
		    &len), SL_OK);
		free(rec);
		store_close(a);
		for (size_t i = 0; i < len; i++) {
			assert_int_equal(tu_flip_record(path, which[w], i,
			    0x01), 0);
			a = open_at(f, "a", &f->ka, NULL);
			if (store_verify(a, &rep) == SL_OK)
				fail_msg("flipped byte %zu of seq %llu went "
				    "unnoticed", i, (unsigned long long)which[w]);
			store_close(a);
			assert_int_equal(tu_flip_record(path, which[w], i,
			    0x01), 0);
		}
	}
	a = open_at(f, "a", &f->ka, NULL);
	assert_verifies(a, 300);
	store_close(a);
	free(path);
}

static void
test_map_grows(void **state)
{
	struct fixture *f = *state;
	struct store_options opt = { .initial_map = 1 << 20 };
	struct store *a = open_at(f, "a", &f->ka, &opt);
	size_t before = store_map_size(a);

	append_n(a, 30000, 1000); /* about 13 MB of records and indexes */
	assert_true(store_map_size(a) > before * 8);
	assert_verifies(a, 30000);
	store_close(a);

	/* With a ceiling, an append that does not fit fails cleanly and
	 * nothing committed is lost. */
	opt.max_map = 2 << 20;
	struct store *c = open_at(f, "c", &f->kb, &opt);
	struct sl_event_draft d = { .author = "t", .type = "x", .payload =
	    payload, .payload_len = sizeof payload };
	char err[256];
	int rc = SL_OK;
	uint64_t ok = 0;

	while ((rc = store_append(c, &d, 1, NULL, err, sizeof err)) == SL_OK)
		ok++;
	assert_int_equal(rc, SL_EFULL);
	assert_non_null(strstr(err, "full"));
	assert_true(ok > 1000);
	assert_int_equal(store_event_count(c), ok);
	assert_verifies(c, ok);
	store_close(c);
	c = open_at(f, "c", &f->kb, NULL); /* a bigger limit: it goes on */
	assert_int_equal(store_append(c, &d, 1, NULL, err, sizeof err), SL_OK);
	assert_verifies(c, ok + 1);
	store_close(c);
}

static void
test_hundred_thousand(void **state)
{
	struct fixture *f = *state;
	struct store *a = open_at(f, "a", &f->ka, NULL);
	struct store_verify_report rep;

	append_n(a, 100000, 1000);
	store_close(a);
	a = open_at(f, "a", &f->ka, NULL);
	assert_int_equal(store_event_count(a), 100000);
	assert_int_equal(store_tip_of(a, f->ka.pub)->seq, 100000);
	assert_int_equal(store_verify(a, &rep), SL_OK);
	assert_int_equal(rep.events, 100000);
	/* 100 commit ends + the multiples of 256 not already among them. */
	uint64_t sigs = 0;

	for (uint64_t q = 1; q <= 100000; q++)
		sigs += q % 1000 == 0 || q % 256 == 0;
	assert_int_equal(rep.signatures, sigs);
	store_close(a);
}

/* ---- the write-ahead file's format (wal.c) ------------------------------ */

struct seen {
	size_t records, events;
	char first[64];
};

static int
seen_cb(void *ctx, const uint8_t *const *recs, const size_t *lens, size_t n)
{
	struct seen *w = ctx;

	if (w->records++ == 0 && n > 0)
		snprintf(w->first, sizeof w->first, "%.*s", (int)lens[0],
		    (const char *)recs[0]);
	w->events += n;
	return 0;
}

/* Appends a record of n events named "<tag>.<i>". */
static void
wal_put(struct wal *w, const char *tag, int n)
{
	struct sl_buf b = { 0 };
	char ev[32];

	for (int i = 0; i < n; i++) {
		snprintf(ev, sizeof ev, "%s.%d", tag, i);
		wal_put_event(&b, (const uint8_t *)ev, strlen(ev));
	}
	assert_int_equal(wal_append(w, &b, (size_t)n), 0);
	free(b.p);
}

static struct seen
wal_reopen(struct wal **w, const char *path, struct wal_head *h)
{
	struct seen s = { 0 };
	char err[256];

	wal_close(*w);
	assert_int_equal(wal_open(w, path, h, err, sizeof err), 0);
	assert_int_equal(wal_scan(*w, seen_cb, &s, NULL), 0);
	return s;
}

static void
flip(const char *path, off_t at)
{
	FILE *f = fopen(path, "r+b");
	int c;

	assert_non_null(f);
	assert_int_equal(fseeko(f, at, SEEK_SET), 0);
	c = fgetc(f);
	assert_int_equal(fseeko(f, at, SEEK_SET), 0);
	fputc(c ^ 0x40, f);
	fclose(f);
}

static void
test_wal_file(void **state)
{
	struct fixture *f = *state;
	char path[600], err[256];
	uint8_t meta[2 * 4096];
	struct wal *w;
	struct wal_head h;
	struct seen s;

	snprintf(path, sizeof path, "%s/wal", f->dir);
	assert_int_equal(wal_open(&w, path, &h, err, sizeof err), 0);
	assert_int_equal(h.gen, 0); /* a new file: nothing to go back to */
	assert_false(h.open);

	/* A checkpoint, then records: all read back, in order. */
	memset(meta, 0xab, sizeof meta);
	assert_int_equal(wal_checkpoint(w, meta, 4096, 7, 9), 0);
	wal_put(w, "a", 3);
	wal_put(w, "b", 1);
	wal_put(w, "c", 2);
	s = wal_reopen(&w, path, &h);
	assert_true(h.open);
	assert_int_equal(h.gen, 1);
	assert_int_equal(h.psize, 4096);
	assert_int_equal(h.dev, 7);
	assert_int_equal(h.ino, 9);
	assert_memory_equal(h.meta, meta, sizeof meta);
	wal_head_free(&h);
	assert_int_equal(s.records, 3);
	assert_int_equal(s.events, 6);
	assert_string_equal(s.first, "a.0");

	/* One byte of the last record changed: the records before it
	 * stand, it and what follows do not. */
	/* Records: 24 bytes of head, 4 + length per event, 32 of hash. */
	flip(path, (off_t)WAL_DATA + (24 + 3 * 7 + 32) + (24 + 7 + 32) + 30);
	s = wal_reopen(&w, path, &h);
	wal_head_free(&h);
	assert_int_equal(s.records, 2);

	/* A new checkpoint: the records of the last generation are gone,
	 * though their bytes are still in the file past the new ones. */
	memset(meta, 0xcd, sizeof meta);
	assert_int_equal(wal_checkpoint(w, meta, 4096, 7, 9), 0);
	wal_put(w, "d", 1);
	s = wal_reopen(&w, path, &h);
	assert_int_equal(h.gen, 2);
	assert_int_equal(h.meta[0], 0xcd);
	wal_head_free(&h);
	assert_int_equal(s.records, 1);
	assert_string_equal(s.first, "d.0");

	/* The newest header torn (a crash while it was written): the one
	 * before stands, and with it its generation's records (the torn
	 * header's were never written). */
	assert_int_equal(wal_checkpoint(w, meta, 4096, 7, 9), 0);
	flip(path, (off_t)(3 & 1) * WAL_SLOT + 100);
	s = wal_reopen(&w, path, &h);
	assert_int_equal(h.gen, 2);
	assert_true(h.open);
	wal_head_free(&h);
	assert_int_equal(s.records, 1);

	/* A clean stop: nothing to go back to, no records. */
	assert_int_equal(wal_checkpoint(w, NULL, 0, 7, 9), 0);
	s = wal_reopen(&w, path, &h);
	assert_false(h.open);
	assert_null(h.meta);
	assert_int_equal(s.records, 0);
	wal_close(w);
}

/* A process that stops at any point, checkpoints running on the syncer
 * beside its commits, leaves a store that opens with every commit it
 * acknowledged, verified, even with both of LMDB's meta pages then
 * destroyed (as a power cut may leave them): the write-ahead file's
 * header and the pages its pin kept are enough.  Each child acknowledges
 * commits of 2,000 events (about 8 MiB of records start a checkpoint)
 * through a pipe and stops without closing; after the first two rounds
 * each checkpoint's sync waits 400 ms first, so that the stop comes
 * while one is under way and commits went on beside it. */
static void
test_crash_mid_checkpoint(void **state)
{
	struct fixture *f = *state;
	static const int stops[] = { 9, 17, 23, 31, 37 };

	for (size_t r = 0; r < sizeof stops / sizeof stops[0]; r++) {
		int fds[2], status;
		uint64_t acked = 0, got;
		pid_t pid;
		char name[16], err[256];

		snprintf(name, sizeof name, "m%zu", r);
		assert_int_equal(pipe(fds), 0);
		if ((pid = fork()) == 0) {
			struct store *s;
			struct sl_event_draft d = { .author = "tester", .type =
			    "contact.created", .payload = payload,
			    .payload_len = sizeof payload };
			struct sl_event_draft many[2000];
			char *p = sub(f, name);

			close(fds[0]);
			for (size_t i = 0; i < 2000; i++)
				many[i] = d;
			/* Each checkpoint's sync late: the stop comes
			 * while one is under way. */
			struct store_options o = { .syncer_delay_ms = r < 2 ?
			    0 : 400 };

			if (store_open(&s, p, &f->ka, &o, err, sizeof err) !=
			    SL_OK)
				_exit(2);
			for (int i = 0; i < stops[r]; i++) {
				if (store_append(s, many, 2000, NULL, err,
				    sizeof err) != SL_OK)
					_exit(3);
				got = store_event_count(s);
				if (write(fds[1], &got, sizeof got) !=
				    (ssize_t)sizeof got)
					_exit(4);
			}
			_exit(0); /* no store_close: as a crash */
		}
		assert_true(pid > 0);
		close(fds[1]);
		while (read(fds[0], &got, sizeof got) == (ssize_t)sizeof got)
			acked = got;
		close(fds[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(acked, (uint64_t)stops[r] * 2000);

		/* Both meta pages destroyed. */
		char *p = sub(f, name), data[700];
		int fd;
		uint8_t junk[8192];

		snprintf(data, sizeof data, "%s/data.mdb", p);
		free(p);
		memset(junk, 0x5a, sizeof junk);
		assert_true((fd = open(data, O_WRONLY)) >= 0);
		assert_int_equal(pwrite(fd, junk, sizeof junk, 0),
		    (ssize_t)sizeof junk);
		close(fd);

		struct store *s = open_at(f, name, &f->ka, NULL);
		size_t n = 0;

		assert_true(store_replay_owed(s));
		if (store_replay(s, &n, err, sizeof err) != SL_OK)
			fail_msg("replay: %s", err);
		assert_int_equal(store_event_count(s), acked);
		assert_verifies(s, acked);
		store_close(s);
	}
}

/* Appends one record of one event of bytes bytes. */
static int
wal_put_big(struct wal *w, size_t bytes)
{
	struct sl_buf b = { 0 };
	uint8_t *ev = malloc(bytes);
	int rc;

	assert_non_null(ev);
	memset(ev, 'x', bytes);
	wal_put_event(&b, ev, bytes);
	rc = wal_append(w, &b, 1);
	free(ev);
	free(b.p);
	return rc;
}

/* A new write-ahead file in the fixture's directory, with one open
 * checkpoint (meta filled with fill). */
static struct wal *
wal_new(const struct fixture *f, char *path, size_t len, uint8_t *meta,
    int fill)
{
	struct wal *w;
	struct wal_head h;
	char err[256];

	snprintf(path, len, "%s/wal", f->dir);
	assert_int_equal(wal_open(&w, path, &h, err, sizeof err), 0);
	wal_head_free(&h);
	memset(meta, fill, 2 * 4096);
	assert_int_equal(wal_checkpoint(w, meta, 4096, 7, 9), 0);
	return w;
}

/* A checkpoint under way while records are appended (the syncer's
 * case): until its header is on disk a crash goes back to the one
 * before, and takes in every record since that, those appended after
 * the new one began included; once it is on disk, only those after
 * the point it was taken at. */
static void
test_wal_mark(void **state)
{
	char path[600];
	uint8_t meta[2 * 4096];
	struct wal *w = wal_new(*state, path, sizeof path, meta, 0x11);
	struct wal_head h;
	struct wal_mark m;
	struct seen s;

	wal_put(w, "a", 1);
	assert_int_equal(wal_mark(w, &m, meta, 4096, 7, 9), 0);
	wal_put(w, "b", 2);
	wal_put(w, "c", 1);
	/* A crash now: the header before, and all three records. */
	s = wal_reopen(&w, path, &h);
	assert_int_equal(h.gen, 1);
	wal_head_free(&h);
	assert_int_equal(s.records, 3);
	assert_string_equal(s.first, "a.0");

	/* The same again, after the checkpoint that ends a replay, and
	 * this time the header lands. */
	assert_int_equal(wal_checkpoint(w, meta, 4096, 7, 9), 0);
	memset(meta, 0x22, sizeof meta);
	assert_int_equal(wal_mark(w, &m, meta, 4096, 7, 9), 0);
	wal_put(w, "d", 1);
	wal_put(w, "e", 3);
	assert_int_equal(wal_head_write(w, &m), 0);
	wal_landed(w, &m);
	wal_put(w, "f", 1);
	s = wal_reopen(&w, path, &h);
	assert_int_equal(h.gen, 3);
	assert_int_equal(h.meta[0], 0x22);
	wal_head_free(&h);
	assert_int_equal(s.records, 3);
	assert_int_equal(s.events, 5);
	assert_string_equal(s.first, "d.0");
	wal_close(w);
}

/* A record damaged in the middle (a bad sector): the scan ends before
 * it, and the records after it are lost.  They are still in the file,
 * so the next records must not take their numbers: a new record of the
 * same length in the damaged one's place would make the old one after
 * it look like its successor, and replay would take in a record that
 * does not follow (a crash loop at every start). */
static void
test_wal_damaged_middle(void **state)
{
	char path[600];
	uint8_t meta[2 * 4096];
	struct wal *w = wal_new(*state, path, sizeof path, meta, 0x55);
	struct wal_head h;
	struct seen s;

	wal_put(w, "A", 1);
	wal_put(w, "B", 1);
	wal_put(w, "C", 1);
	/* Records: 24 bytes of head, 4 + 3 for the event, 32 of hash. */
	flip(path, (off_t)WAL_DATA + (24 + 7 + 32) + 28);
	s = wal_reopen(&w, path, &h);
	wal_head_free(&h);
	assert_int_equal(s.records, 1);
	assert_string_equal(s.first, "A.0");
	/* As store_replay ends: a checkpoint; then one record as long as
	 * the damaged one, and a crash. */
	assert_int_equal(wal_checkpoint(w, meta, 4096, 7, 9), 0);
	wal_put(w, "D", 1);
	s = wal_reopen(&w, path, &h);
	wal_head_free(&h);
	assert_string_equal(s.first, "D.0");
	assert_int_equal(s.records, 1); /* not "C" after it */
	wal_close(w);
}

/* The ring: past WAL_WRAP bytes the records start again at WAL_DATA,
 * the file stays near that size, a header taken just before the wrap
 * still finds its records, and an append that would overwrite a record
 * a crash still needs is refused (ENOSPC) until a checkpoint lands. */
static void
test_wal_ring(void **state)
{
	char path[600];
	uint8_t meta[2 * 4096];
	struct wal *w = wal_new(*state, path, sizeof path, meta, 0x33);
	struct wal_head h;
	struct wal_mark m;
	struct seen s;
	struct stat st;
	const size_t big = (size_t)1 << 20;
	int i;

	/* Past the wrap point: all in line (the checkpoint's records
	 * start at WAL_DATA, so there is no room behind them). */
	for (i = 0; i < (int)(WAL_WRAP / (long)big) + 1; i++)
		assert_int_equal(wal_put_big(w, big), 0);
	s = wal_reopen(&w, path, &h);
	wal_head_free(&h);
	assert_int_equal(s.records, (size_t)i);
	/* A checkpoint taken here, its header landing after the next
	 * record started the ring again. */
	assert_int_equal(wal_checkpoint(w, meta, 4096, 7, 9), 0);
	assert_int_equal(wal_mark(w, &m, meta, 4096, 7, 9), 0);
	wal_put(w, "r", 2);
	assert_int_equal(wal_head_write(w, &m), 0);
	wal_landed(w, &m);
	wal_put(w, "s", 1);
	/* The records at WAL_DATA now: the start of the ring holds "r". */
	{
		char at[8];
		int fd = open(path, O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(pread(fd, at, 4, WAL_DATA + 24 + 4), 4);
		assert_memory_equal(at, "r.0", 3);
		close(fd);
	}
	/* Filling the ring up to the oldest record needed: refused. */
	for (i = 0; i < 64; i++) {
		int rc = wal_put_big(w, big);

		if (rc != 0) {
			assert_int_equal(errno, ENOSPC);
			break;
		}
	}
	assert_true(i >= 2 && i < 64);
	/* What was refused was not written: a crash finds the rest, "r"
	 * first, through the start of the ring. */
	s = wal_reopen(&w, path, &h);
	wal_head_free(&h);
	assert_int_equal(s.records, (size_t)(2 + i));
	assert_string_equal(s.first, "r.0");
	/* After a crash's scan, records go on only after a checkpoint
	 * (the header must name their new numbers). */
	assert_int_equal(wal_put_big(w, 16), -1);
	assert_int_equal(errno, EINVAL);
	/* A checkpoint makes room. */
	assert_int_equal(wal_checkpoint(w, meta, 4096, 7, 9), 0);
	assert_int_equal(wal_put_big(w, big), 0);
	s = wal_reopen(&w, path, &h);
	wal_head_free(&h);
	assert_int_equal(s.records, 1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size <= WAL_DATA + WAL_WRAP + 4 * (long)big);
	wal_close(w);
}

/* A samlogW1 file (before the ring) left by a crash is still read: its
 * records, all numbered with the header's generation, from WAL_DATA. */
static void
test_wal_legacy(void **state)
{
	struct fixture *f = *state;
	char path[600], err[256];
	uint8_t slot[40 + 2 * 4096 + 32], rec[2][24 + 4 + 3 + 32];
	struct wal *w;
	struct wal_head h;
	struct seen s;
	int fd;

	snprintf(path, sizeof path, "%s/wal", f->dir);
	memset(slot, 0, sizeof slot);
	memcpy(slot, "samlogW1", 8);
	slot[15] = 5;   /* generation 5 */
	slot[19] = 1;   /* open */
	slot[22] = 0x10; /* page size 4096 */
	slot[39] = 9;   /* inode */
	memset(slot + 40, 0x44, 2 * 4096);
	sl_sha256(slot + 40 + 2 * 4096, slot, 40 + 2 * 4096);
	for (int i = 0; i < 2; i++) {
		memset(rec[i], 0, sizeof rec[i]);
		memcpy(rec[i], "SLWR", 4);
		rec[i][7] = 1;      /* one event */
		rec[i][15] = 7;     /* of 4 + 3 bytes */
		rec[i][23] = 5;     /* generation 5 */
		rec[i][27] = 3;
		memcpy(rec[i] + 28, i == 0 ? "w.0" : "w.1", 3);
		sl_sha256(rec[i] + 31, rec[i], 31);
	}
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, slot, sizeof slot, WAL_SLOT),
	    (ssize_t)sizeof slot);
	assert_int_equal(pwrite(fd, rec[0], sizeof rec[0], WAL_DATA),
	    (ssize_t)sizeof rec[0]);
	assert_int_equal(pwrite(fd, rec[1], sizeof rec[1],
	    WAL_DATA + (off_t)sizeof rec[0]), (ssize_t)sizeof rec[1]);
	assert_int_equal(ftruncate(fd, WAL_DATA + (1 << 20)), 0);
	close(fd);

	assert_int_equal(wal_open(&w, path, &h, err, sizeof err), 0);
	assert_true(h.open);
	assert_true(h.legacy);
	assert_int_equal(h.gen, 5);
	assert_int_equal(h.meta[0], 0x44);
	wal_head_free(&h);
	s = (struct seen){ 0 };
	assert_int_equal(wal_scan(w, seen_cb, &s, NULL), 0);
	assert_int_equal(s.records, 2);
	assert_string_equal(s.first, "w.0");
	/* The next checkpoint is of the new kind; the old records do not
	 * count after it. */
	assert_int_equal(wal_checkpoint(w, slot + 40, 4096, 7, 9), 0);
	wal_put(w, "n", 1);
	s = wal_reopen(&w, path, &h);
	assert_false(h.legacy);
	assert_int_equal(h.gen, 6);
	wal_head_free(&h);
	assert_int_equal(s.records, 1);
	assert_string_equal(s.first, "n.0");
	wal_close(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_assigns_chain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sign_interval, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ingest_and_duplicates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gap_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unsigned_and_bad_signature,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_again_at_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fork_shared_first, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fork_detected, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused_capped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_arrival_scan, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tamper_any_byte, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_map_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_damaged_middle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wal_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_legacy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crash_mid_checkpoint, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_compact_backoff, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gaps_rounds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hundred_thousand, setup,
		    teardown),
	};

	if (sl_crypto_init() != 0)
		return 1;
	int rc = cmocka_run_group_tests_name("store", tests, NULL, NULL);

	sl_crypto_shutdown();
	return rc;
}
