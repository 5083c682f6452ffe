/*
 * test_fork.c - fork proofs (PROTOCOL.md section 16).
 *
 * The payload's content rules, strictly: two runs of one origin's
 * headers, each chained and signed at its end by that origin, naming two
 * different events for the proof's seq, the lower hash first; forged
 * proofs (a bad signature, another key's, the same event twice, a run at
 * another seq, a broken chain, the wrong order, every truncation) are
 * refused.  Section 16's worked example, byte for byte.  And real
 * daemons: a - b - c in a line, a's restored copy showing b a second
 * history of a; b keeps the evidence and writes one proof, which reaches
 * c (never connected to either of a's copies' second history) through
 * b, and every node's status lists it; a rebuild shows the same.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>

#include "attacker.h"
#include "cluster.h"
#include "project.h"
#include "samlog_proto.h"
#include "store.h"
#include "testutil.h"

/* ---- the payload's content rules ------------------------------------------ */

/* One header of origin k's chain: seq, prev (NULL at seq 1), and a
 * payload hash of the byte ph; out holds SL_HEADER_MAX. */
static size_t
header(uint8_t *out, const struct sl_key *k, uint64_t seq,
    const uint8_t *prev, uint8_t ph)
{
	uint8_t phash[SL_HASH_LEN];
	struct sl_event_draft d = { .author = "samlogd", .type = "org.created",
		.payload = (const uint8_t *)"\x80", .payload_len = 1 };
	struct sl_header_in in = { .origin = k->pub, .seq = seq, .prev = prev,
		.hlc = ((uint64_t)1700000000000 << 16) + seq,
		.payload_hash = phash };

	memset(phash, ph, sizeof phash);
	assert_int_equal(sl_draft_check(&d), SL_OK);
	return sl_header_encode(out, &d, &in);
}

/* A chain: n headers of k from seq `from` on, after prev; the
 * signature of the last in sig. */
struct chain {
	uint8_t h[8][SL_HEADER_MAX];
	size_t len[8];
	uint8_t hash[8][SL_HASH_LEN];
	uint8_t sig[SL_SIG_LEN];
	size_t n;
};

static void
chain(struct chain *c, const struct sl_key *k, uint64_t from,
    const uint8_t *prev, size_t n, uint8_t ph)
{
	c->n = n;
	for (size_t i = 0; i < n; i++) {
		c->len[i] = header(c->h[i], k, from + i, i == 0 ? prev :
		    c->hash[i - 1], (uint8_t)(ph + i));
		sl_sha256(c->hash[i], c->h[i], c->len[i]);
	}
	sl_sign_hash(c->sig, k, c->hash[n - 1]);
}

/* Headers i..j-1 of c as a run. */
static void
run_of(struct sl_fork_run *r, const struct chain *c, size_t i, size_t j)
{
	memset(r, 0, sizeof *r);
	for (size_t x = i; x < j; x++) {
		r->hdr[r->n] = c->h[x];
		r->hdr_len[r->n++] = c->len[x];
	}
	r->sig = c->sig;
}

/* A payload as given, checked by nobody: for forgeries. */
static void
raw(struct sl_buf *g, const uint8_t *origin, uint64_t seq,
    const struct sl_fork_run *a, const struct sl_fork_run *b)
{
	msgpack_packer pk;
	const struct sl_fork_run *r[2] = { a, b };

	memset(g, 0, sizeof *g);
	msgpack_packer_init(&pk, g, sl_buf_write);
	msgpack_pack_map(&pk, 1);
	sl_pack_cstr(&pk, "proof");
	msgpack_pack_array(&pk, 4);
	sl_pack_bin(&pk, origin, SL_KEY_LEN);
	msgpack_pack_uint64(&pk, seq);
	for (int k = 0; k < 2; k++) {
		msgpack_pack_array(&pk, 2);
		msgpack_pack_array(&pk, (uint32_t)r[k]->n);
		for (size_t i = 0; i < r[k]->n; i++)
			sl_pack_bin(&pk, r[k]->hdr[i], r[k]->hdr_len[i]);
		sl_pack_bin(&pk, r[k]->sig, SL_SIG_LEN);
	}
}

static int
check(const struct sl_buf *g)
{
	char why[256] = "";
	int rc = sl_schema_check_event(SL_FORK_TYPE, strlen(SL_FORK_TYPE),
	    NULL, 0, g->p, g->len, 1, why, sizeof why);

	if (rc != SL_OK)
		printf("refused: %s\n", why);
	return rc;
}

/* raw(), in both orders: one of them is the canonical one. */
static int
check_either(const uint8_t *origin, uint64_t seq, const struct sl_fork_run *a,
    const struct sl_fork_run *b)
{
	struct sl_buf g;
	int r1, r2;

	raw(&g, origin, seq, a, b);
	r1 = check(&g);
	free(g.p);
	raw(&g, origin, seq, b, a);
	r2 = check(&g);
	free(g.p);
	return r1 == SL_OK || r2 == SL_OK ? SL_OK : r1;
}

static void
test_payload_rules(void **state)
{
	static struct chain one, two, other, three;
	static struct sl_fork_run ra, rb, rc;
	uint8_t seed[SL_SEED_LEN], seed2[SL_SEED_LEN];
	struct sl_key k, k2;
	struct sl_buf g = { 0 };
	struct sl_fork f;
	char why[256];

	(void)state;
	for (int i = 0; i < SL_SEED_LEN; i++) {
		seed[i] = (uint8_t)(0x20 + i);
		seed2[i] = (uint8_t)(0x60 + i);
	}
	sl_key_from_seed(&k, seed);
	sl_key_from_seed(&k2, seed2);
	/* Two histories of k from seq 1: three events signed at the end,
	 * and two; both share nothing. */
	chain(&one, &k, 1, NULL, 3, 0x10);
	chain(&two, &k, 1, NULL, 2, 0x40);

	/* Seq 1: each run from seq 1 to its signature. */
	run_of(&ra, &one, 0, 3);
	run_of(&rb, &two, 0, 2);
	assert_int_equal(sl_fork_encode(&g, k.pub, 1, &ra, &rb, why,
	    sizeof why), SL_OK);
	assert_int_equal(check(&g), SL_OK);
	assert_int_equal(sl_fork_decode(g.p, g.len, &f), SL_OK);
	assert_int_equal(f.seq, 1);
	assert_memory_equal(f.origin, k.pub, SL_KEY_LEN);
	assert_true(memcmp(f.hash[0], f.hash[1], SL_HASH_LEN) < 0);
	assert_true((memcmp(f.hash[0], one.hash[0], SL_HASH_LEN) == 0 &&
	    memcmp(f.hash[1], two.hash[0], SL_HASH_LEN) == 0) ||
	    (memcmp(f.hash[1], one.hash[0], SL_HASH_LEN) == 0 &&
	    memcmp(f.hash[0], two.hash[0], SL_HASH_LEN) == 0));
	free(g.p);
	/* The encoder orders the runs: the same bytes either way. */
	{
		struct sl_buf g2 = { 0 };

		memset(&g, 0, sizeof g);
		assert_int_equal(sl_fork_encode(&g, k.pub, 1, &rb, &ra, why,
		    sizeof why), SL_OK);
		assert_int_equal(sl_fork_encode(&g2, k.pub, 1, &ra, &rb, why,
		    sizeof why), SL_OK);
		assert_int_equal(g.len, g2.len);
		assert_memory_equal(g.p, g2.p, g.len);
		free(g.p);
		free(g2.p);
	}
	/* Seq 2 named by a run that starts at seq 3 (its prev): one's
	 * seq 3 against two's seq 2. */
	run_of(&ra, &one, 2, 3);
	run_of(&rb, &two, 1, 2);
	assert_int_equal(check_either(k.pub, 2, &ra, &rb), SL_OK);
	/* ... but not at seq 1: a run starts at the seq or the next one. */
	assert_int_not_equal(check_either(k.pub, 1, &ra, &rb), SL_OK);

	/* Mismatched seq: both runs are at seq 1, the proof says 3. */
	run_of(&ra, &one, 0, 3);
	run_of(&rb, &two, 0, 2);
	assert_int_not_equal(check_either(k.pub, 3, &ra, &rb), SL_OK);
	assert_int_not_equal(check_either(k.pub, 0, &ra, &rb), SL_OK);
	/* The same event twice. */
	assert_int_not_equal(check_either(k.pub, 1, &ra, &ra), SL_OK);
	memset(&g, 0, sizeof g);
	assert_int_equal(sl_fork_encode(&g, k.pub, 1, &ra, &ra, why,
	    sizeof why), SL_ESCHEMA);
	assert_non_null(strstr(why, "same"));
	free(g.p);
	/* Two copies of one history that differ only below the seq. */
	run_of(&rb, &one, 1, 3);
	assert_int_not_equal(check_either(k.pub, 1, &ra, &rb), SL_OK);
	/* The wrong order: exactly one of the two is accepted. */
	run_of(&rb, &two, 0, 2);
	{
		struct sl_buf x, y;
		int r1, r2;

		raw(&x, k.pub, 1, &ra, &rb);
		raw(&y, k.pub, 1, &rb, &ra);
		r1 = check(&x);
		r2 = check(&y);
		assert_true((r1 == SL_OK) != (r2 == SL_OK));
		free(x.p);
		free(y.p);
	}
	/* A bad signature: one bit of it. */
	{
		uint8_t bad[SL_SIG_LEN];

		memcpy(bad, two.sig, SL_SIG_LEN);
		bad[5] ^= 0x01;
		rb.sig = bad;
		assert_int_not_equal(check_either(k.pub, 1, &ra, &rb), SL_OK);
		/* Not on the last header: a run cut after an unsigned one. */
		run_of(&rc, &one, 0, 2);
		assert_int_not_equal(check_either(k.pub, 1, &rc, &rb), SL_OK);
	}
	/* Another key's signature, and another key's headers. */
	chain(&other, &k2, 1, NULL, 2, 0x40);
	run_of(&rb, &other, 0, 2);
	assert_int_not_equal(check_either(k.pub, 1, &ra, &rb), SL_OK);
	assert_int_not_equal(check_either(k2.pub, 1, &ra, &rb), SL_OK);
	{
		struct sl_fork_run rs = rb;

		rs.sig = two.sig;  /* k's signature over k2's header */
		assert_int_not_equal(check_either(k.pub, 1, &ra, &rs), SL_OK);
	}
	/* A broken chain inside a run: one's seq 1, two's seq 2, one's
	 * signature. */
	run_of(&rb, &two, 0, 2);
	rc = ra;
	rc.hdr[1] = two.h[1];
	rc.hdr_len[1] = two.len[1];
	assert_int_not_equal(check_either(k.pub, 1, &rc, &rb), SL_OK);
	/* A run of a gap: seq 1 then seq 3. */
	chain(&three, &k, 1, NULL, 3, 0x70);
	rc = (struct sl_fork_run){ 0 };
	rc.hdr[0] = three.h[0];
	rc.hdr_len[0] = three.len[0];
	rc.hdr[1] = three.h[2];
	rc.hdr_len[1] = three.len[2];
	rc.n = 2;
	rc.sig = three.sig;
	assert_int_not_equal(check_either(k.pub, 1, &rc, &rb), SL_OK);

	/* Every cut of a good proof, and every single byte changed, is
	 * refused without a crash (most of them; a changed byte of a
	 * header's clock may still make a good proof of another fork). */
	run_of(&ra, &one, 0, 3);
	run_of(&rb, &two, 0, 2);
	memset(&g, 0, sizeof g);
	assert_int_equal(sl_fork_encode(&g, k.pub, 1, &ra, &rb, why,
	    sizeof why), SL_OK);
	for (size_t n = 0; n < g.len; n++) {
		assert_int_not_equal(sl_fork_decode(g.p, n, &f), SL_OK);
		assert_int_not_equal(sl_schema_check_event(SL_FORK_TYPE,
		    strlen(SL_FORK_TYPE), NULL, 0, g.p, n, 1, why, sizeof why),
		    SL_OK);
	}
	for (size_t n = 0; n < g.len; n++) {
		g.p[n] ^= 0x40;
		(void)sl_fork_decode(g.p, g.len, &f);
		g.p[n] ^= 0x40;
	}
	/* A proof names no record. */
	{
		uint8_t id[SL_ID_LEN] = { 1 };

		assert_int_not_equal(sl_schema_check_event(SL_FORK_TYPE,
		    strlen(SL_FORK_TYPE), id, 0, g.p, g.len, 1, why,
		    sizeof why), SL_OK);
	}
	free(g.p);
	sl_key_wipe(&k);
	sl_key_wipe(&k2);
}

/* ---- a real store: local write and ingest --------------------------------- */

static int
list_cb(void *ctx, const struct project_fork *x)
{
	struct project_fork *out = ctx;

	*out = *x;
	return 0;
}

/*
 * The same rules in a store with its projection (what samlogd runs): a
 * forged proof is refused as a local write and at ingest (the carrier's
 * signature on it is good: only the payload is wrong); a good one from
 * another member is taken, listed, kept through a rebuild, and makes the
 * (origin, seq) proven.
 */
static void
test_store_ingest(void **state)
{
	static struct chain one, two;
	static struct sl_fork_run ra, rb;
	uint8_t seed[SL_SEED_LEN], cseed[SL_SEED_LEN], vseed[SL_SEED_LEN];
	struct sl_key k, kc, kv;
	struct store *carrier, *victim;
	struct project *vp;
	struct sl_buf good = { 0 }, bad;
	char path[700], err[256], why[256];
	uint8_t *rec;
	size_t len;
	struct store_ingest_result res;
	struct project_fork x;
	MDB_txn *txn;
	uint64_t n;

	(void)state;
	for (int i = 0; i < SL_SEED_LEN; i++) {
		seed[i] = (uint8_t)(0x20 + i);
		cseed[i] = (uint8_t)(0xa0 + i);
		vseed[i] = (uint8_t)(0xc0 + i);
	}
	sl_key_from_seed(&k, seed);
	sl_key_from_seed(&kc, cseed);
	sl_key_from_seed(&kv, vseed);
	chain(&one, &k, 1, NULL, 2, 0x10);
	chain(&two, &k, 1, NULL, 1, 0x40);
	run_of(&ra, &one, 0, 2);
	run_of(&rb, &two, 0, 1);
	assert_int_equal(sl_fork_encode(&good, k.pub, 1, &ra, &rb, why,
	    sizeof why), SL_OK);
	/* Forged: two's signature broken. */
	{
		uint8_t sig[SL_SIG_LEN];

		memcpy(sig, two.sig, SL_SIG_LEN);
		sig[0] ^= 0x80;
		rb.sig = sig;
		raw(&bad, k.pub, 1, &ra, &rb);
		rb.sig = two.sig;
	}

	/* The carrier: a store without content rules, so that it writes
	 * the forgery (a hostile member's node could). */
	snprintf(path, sizeof path, "%s/carrier", cl_tmp);
	assert_int_equal(store_open(&carrier, path, &kc, NULL, err,
	    sizeof err), SL_OK);
	snprintf(path, sizeof path, "%s/victim", cl_tmp);
	assert_int_equal(store_open(&victim, path, &kv, NULL, err,
	    sizeof err), SL_OK);
	assert_int_equal(project_open(&vp, victim, err, sizeof err), SL_OK);

	/* A local write of the forgery: refused, nothing written. */
	{
		struct sl_event_draft d = { .author = "samlogd",
			.type = SL_FORK_TYPE, .payload = bad.p,
			.payload_len = (uint32_t)bad.len };

		assert_int_not_equal(store_append(victim, &d, 1, NULL, err,
		    sizeof err), SL_OK);
		printf("local write refused: %s\n", err);
		assert_int_equal(store_event_count(victim), 0);
	}

	/* The carrier's seq 1: the forgery; seq 2: the good proof. */
	{
		struct sl_event_draft d[2] = {
			{ .author = "samlogd", .type = SL_FORK_TYPE,
			  .payload = bad.p, .payload_len = (uint32_t)bad.len },
			{ .author = "samlogd", .type = SL_FORK_TYPE,
			  .payload = good.p, .payload_len = (uint32_t)good.len },
		};

		assert_int_equal(store_append(carrier, &d[0], 1, NULL, err,
		    sizeof err), SL_OK);
		assert_int_equal(store_append(carrier, &d[1], 1, NULL, err,
		    sizeof err), SL_OK);
	}
	assert_int_equal(store_event_get(carrier, kc.pub, 1, &rec, &len),
	    SL_OK);
	{
		const uint8_t *recs[1] = { rec };

		assert_int_equal(store_ingest(victim, recs, &len, 1, &res),
		    SL_ESCHEMA);
		printf("ingest refused: %s\n", res.reason);
		assert_non_null(strstr(res.reason, "signature"));
	}
	free(rec);
	assert_int_equal(store_event_count(victim), 0);
	/* The carrier's good proof at seq 2 builds on the forgery, so it
	 * can never be taken: another member writes the good one. */
	store_close(carrier);
	{
		uint8_t s2[SL_SEED_LEN];
		struct sl_key k2;
		struct sl_event_draft d = { .author = "samlogd",
			.type = SL_FORK_TYPE, .payload = good.p,
			.payload_len = (uint32_t)good.len };
		const uint8_t *recs[1];

		for (int i = 0; i < SL_SEED_LEN; i++)
			s2[i] = (uint8_t)(0xe0 + i);
		sl_key_from_seed(&k2, s2);
		snprintf(path, sizeof path, "%s/carrier2", cl_tmp);
		assert_int_equal(store_open(&carrier, path, &k2, NULL, err,
		    sizeof err), SL_OK);
		assert_int_equal(store_append(carrier, &d, 1, NULL, err,
		    sizeof err), SL_OK);
		assert_int_equal(store_event_get(carrier, k2.pub, 1, &rec,
		    &len), SL_OK);
		recs[0] = rec;
		assert_int_equal(store_ingest(victim, recs, &len, 1, &res),
		    SL_OK);
		free(rec);
		store_close(carrier);
		assert_int_equal(store_read_begin(victim, &txn), SL_OK);
		assert_true(project_fork_proven(vp, txn, k.pub, 1));
		assert_false(project_fork_proven(vp, txn, k.pub, 2));
		assert_false(project_fork_proven(vp, txn, kc.pub, 1));
		memset(&x, 0, sizeof x);
		assert_int_equal(project_fork_proofs(vp, txn, list_cb, &x), 0);
		mdb_txn_abort(txn);
		assert_memory_equal(x.origin, k.pub, SL_KEY_LEN);
		assert_memory_equal(x.prover, k2.pub, SL_KEY_LEN);
		assert_int_equal(x.seq, 1);
		assert_int_equal(x.prover_seq, 1);
		sl_key_wipe(&k2);
	}
	/* Rebuilt from the log: the same. */
	assert_int_equal(project_rebuild(vp, &n, err, sizeof err), SL_OK);
	assert_int_equal(store_read_begin(victim, &txn), SL_OK);
	assert_true(project_fork_proven(vp, txn, k.pub, 1));
	mdb_txn_abort(txn);

	project_close(vp);
	store_close(victim);
	free(good.p);
	free(bad.p);
	sl_key_wipe(&k);
	sl_key_wipe(&kc);
	sl_key_wipe(&kv);
}

/* ---- section 16's worked example ------------------------------------------ */

#define FIELD_MAX 16384

static void
dump(const char *name, const uint8_t *p, size_t n)
{
	printf("%-12s ", name);
	for (size_t i = 0; i < n; i++)
		printf("%s%02x", i > 0 && i % 32 == 0 ? "\n             " : "",
		    p[i]);
	printf("\n");
}

/*
 * The ```forkproof example block of PROTOCOL.md: the origin's seed, the
 * seq, and the two histories' headers ("header1", "header2": each
 * history a run of one signed header), then the payload.  The headers
 * are section 4's encoding of the inputs the text gives; the test makes
 * them again from those inputs, signs them (Ed25519 is deterministic),
 * encodes the proof, and compares every byte.
 */
static void
test_example(void **state)
{
	const char *path = getenv("SAMLOG_PROTOCOL_MD");
	FILE *f = fopen(path ? path : "protocol/PROTOCOL.md", "r");
	char line[1024], field[4][FIELD_MAX];
	static const char *const names[4] = { "seed", "header1", "header2",
		"payload" };
	static uint8_t want[FIELD_MAX / 2], mine[2][SL_HEADER_MAX];
	static uint8_t hb[2][SL_HEADER_MAX], sig[2][SL_SIG_LEN];
	uint8_t seed[SL_SEED_LEN], h[SL_HASH_LEN];
	struct sl_fork_run r[2];
	struct sl_key k;
	struct sl_buf g = { 0 };
	char why[256];
	int cur = -1;
	bool in = false;
	size_t wl, hl[2];

	(void)state;
	memset(field, 0, sizeof field);
	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "```forkproof example") == 0) {
			in = true;
			continue;
		}
		if (!in)
			continue;
		if (strcmp(line, "```") == 0)
			break;
		if (line[0] == ' ' && cur >= 0) {
			strncat(field[cur], line + strspn(line, " "),
			    FIELD_MAX - 1 - strlen(field[cur]));
			continue;
		}
		cur = -1;
		for (int i = 0; i < 4; i++) {
			size_t n = strlen(names[i]);

			if (strncmp(line, names[i], n) == 0 && line[n] == ' ') {
				cur = i;
				strncat(field[i], line + n + strspn(line + n, " "),
				    FIELD_MAX - 1);
			}
		}
	}
	fclose(f);
	assert_true(in);
	assert_int_equal(tu_unhex(seed, sizeof seed, field[0]), SL_SEED_LEN);
	sl_key_from_seed(&k, seed);
	/* Seq 1 twice: the same inputs but the payload hash, all 0x11 in
	 * one and all 0x22 in the other. */
	hl[0] = header(mine[0], &k, 1, NULL, 0x11);
	hl[1] = header(mine[1], &k, 1, NULL, 0x22);
	for (int i = 0; i < 2; i++) {
		size_t n = tu_unhex(hb[i], SL_HEADER_MAX, field[1 + i]);

		if (n != hl[i] || memcmp(hb[i], mine[i], n) != 0) {
			dump(names[1 + i], mine[i], hl[i]);
			fail_msg("section 16's %s differs", names[1 + i]);
		}
		sl_sha256(h, hb[i], n);
		sl_sign_hash(sig[i], &k, h);
		memset(&r[i], 0, sizeof r[i]);
		r[i].hdr[0] = hb[i];
		r[i].hdr_len[0] = n;
		r[i].n = 1;
		r[i].sig = sig[i];
	}
	wl = tu_unhex(want, sizeof want, field[3]);
	assert_int_equal(sl_fork_encode(&g, k.pub, 1, &r[0], &r[1], why,
	    sizeof why), SL_OK);
	if (g.len != wl || memcmp(g.p, want, wl) != 0) {
		dump("payload", g.p, g.len);
		fail_msg("section 16's payload differs from the encoder's");
	}
	assert_int_equal(check(&g), SL_OK);
	free(g.p);
	sl_key_wipe(&k);
}

/* ---- real daemons --------------------------------------------------------- */

/* The fingerprint of the node id in text. */
static void
fpr_of(char out[SL_FPR_TEXT + 1], const char *id)
{
	uint8_t key[SL_KEY_LEN];

	assert_true(sl_b32_decode(key, SL_KEY_LEN, id));
	sl_fingerprint(out, key);
}

static int
count(const char *s, const char *needle)
{
	int k = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
		k++;
	return k;
}

/* Waits until n's status --json lists a fork proof of origin fpr; its
 * output. */
static const char *
wait_proof(const struct node *n, const char *fpr)
{
	char needle[64];
	uint64_t t0 = now_ms();

	snprintf(needle, sizeof needle, "\"origin\": \"%s\"", fpr);
	for (;;) {
		const char *out = ok(sl(n, "status", "--json", NULL))->out;
		const char *fp = strstr(out, "\"fork_proofs\"");

		if (fp != NULL && strstr(fp, needle) != NULL)
			return out;
		if (now_ms() - t0 > cl_wait_ms)
			fail_msg("%s shows no fork proof of %s:\n%s", n->name,
			    fpr, out);
		usleep(200000);
	}
}

/*
 * a - b - c in a line.  a2 is a copy of a's directory (a restored
 * backup): the same key.  a and a2 each write a different contact at the
 * same seq; b takes a's, then meets a2 under a's key: the fork.  b keeps
 * the evidence, writes a proof in its own chain, and c, which only ever
 * talks to b, lists it.
 */
static void
test_line(void **state)
{
	struct node a, a2, b, c;
	char cmd[4096], fa[SL_FPR_TEXT + 1], fb[SL_FPR_TEXT + 1];
	const char *out;
	struct tu_run *r;

	(void)state;
	node_init(&a, "fa", "Samordningsförbundet");
	node_init(&b, "fb", "Sigtuna kommun");
	node_init(&c, "fc", "Knivsta kommun");
	a2 = a;
	snprintf(a2.name, sizeof a2.name, "fa2");
	snprintf(a2.dir, sizeof a2.dir, "%s/fa2", cl_tmp);
	snprintf(a2.log, sizeof a2.log, "%s/fa2.log", cl_tmp);
	node_start(&a);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	snprintf(cmd, sizeof cmd, "cp -a %s %s && rm -f %s/samlogd.sock "
	    "%s/samlogd.lock", a.dir, a2.dir, a2.dir, a2.dir);
	assert_int_equal(system(cmd), 0);
	node_start(&a);
	node_start(&a2);
	node_start(&b);
	node_start(&c);
	add_contact(&a, "Historia ett");
	add_contact(&a2, "Historia två");  /* the same seq, another event */
	trust(&b, &a, true);
	trust(&a, &b, false);
	trust(&c, &b, true);
	trust(&b, &c, false);
	/* c holds a's contact, through b. */
	{
		uint64_t t0 = now_ms();

		while (strstr(ok(sl(&c, "contact", "list", NULL))->out,
		    "Historia ett") == NULL) {
			if (now_ms() - t0 > cl_wait_ms)
				fail_msg("a's contact did not reach c");
			usleep(200000);
		}
	}
	fpr_of(fa, a.id);
	fpr_of(fb, b.id);
	r = ok(sl(&c, "status", "--json", NULL));
	assert_non_null(strstr(r->out, "\"fork_proofs\": []"));

	/* b meets the other history under a's key. */
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	trust(&a2, &b, false);
	ok(sl(&b, "peer", "add", "fa", "--key", a.id, "--addr", a2.listen,
	    NULL));
	wait_log(&b, "kept as evidence");

	/* Every node lists it: b, which proved it, and c through b. */
	out = wait_proof(&b, fa);
	assert_int_equal(tu_json_num(out, "forks"), 1);
	out = wait_proof(&c, fa);
	assert_int_equal(tu_json_num(out, "forks"), 0);
	assert_int_equal(count(out, "\"proved_by\""), 1);
	{
		char needle[64];

		snprintf(needle, sizeof needle, "\"proved_by\": \"%s\"", fb);
		assert_non_null(strstr(out, needle));
	}
	assert_non_null(strstr(out, "\"proved_by_org\": \"Sigtuna kommun\""));
	assert_non_null(strstr(out, "\"org\": \"Samordningsförbundet\""));
	assert_int_equal(tu_json_num(strstr(out, "\"fork_proofs\""), "seq"),
	    tu_json_num(strstr(ok(sl(&b, "status", "--json", NULL))->out,
	    "\"fork_proofs\""), "seq"));
	assert_non_null(strstr(out, "signed two histories"));
	/* The human form: a warning line for it. */
	r = ok(sl(&c, "status", NULL));
	assert_non_null(strstr(r->out, "signed two histories"));
	/* a2, the other history's node, is told too (by b). */
	wait_proof(&a2, fa);

	/* One proof per (origin, seq): b restarted (its start looks for
	 * evidence without a proof) meets a2's history again (a2 sends it
	 * when b's HELLO claims the other) and makes no second one. */
	{
		int before = log_count(&b, "differs from the event this node "
		    "holds");
		uint64_t t0 = now_ms();

		assert_int_equal(node_stop(&b, SIGTERM), 0);
		node_start(&b);
		while (log_count(&b, "differs from the event this node "
		    "holds") <= before) {
			if (now_ms() - t0 > cl_wait_ms)
				fail_msg("b did not meet a2's history again");
			usleep(200000);
		}
		usleep(500000);
	}
	out = ok(sl(&b, "status", "--json", NULL))->out;
	assert_int_equal(count(out, "\"proved_by\""), 1);
	assert_int_equal(tu_json_num(out, "forks"), 1);

	/* A rebuild shows the same. */
	ok(sl(&c, "rebuild", NULL));
	out = ok(sl(&c, "status", "--json", NULL))->out;
	assert_int_equal(count(out, "\"proved_by\""), 1);
	assert_int_equal(ok(sl(&c, "verify", NULL))->status, 0);

	assert_int_equal(node_stop(&a2, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
	assert_int_equal(node_stop(&c, SIGTERM), 0);
}

/*
 * A member against a real victim node and its honest peer (the scene of
 * test_hostile).  m sends a fork.proof whose proof is forged (a bad
 * signature): refused, kept as a refused record, nothing listed.  Then
 * the same proof made right, at the same seq of m's chain: taken, and
 * the honest peer, which only talks to the victim, lists it as m's.
 * Then m2 forks its own chain by a broken link (its seq 3 builds on
 * another seq 2 than the victim's): the victim proves it at seq 2, its
 * run the event it holds there, the other the seq 3 whose prev names
 * another event.
 */
static void
test_member(void **state)
{
	static struct chain one, two;
	static struct sl_fork_run ra, rb;
	uint8_t seed[SL_SEED_LEN], sig[SL_SIG_LEN];
	char why[256], fm[SL_FPR_TEXT + 1], fm2[SL_FPR_TEXT + 1];
	char fk[SL_FPR_TEXT + 1], needle[128];
	struct sl_buf good = { 0 }, bad;
	struct sl_key k;
	struct scene s;
	struct ident m, m2;
	struct forger f;
	struct rec r;
	const char *out;

	(void)state;
	for (int i = 0; i < SL_SEED_LEN; i++)
		seed[i] = (uint8_t)(0x20 + i);
	sl_key_from_seed(&k, seed);
	sl_fingerprint(fk, k.pub);
	chain(&one, &k, 1, NULL, 2, 0x10);
	chain(&two, &k, 1, NULL, 1, 0x40);
	run_of(&ra, &one, 0, 2);
	run_of(&rb, &two, 0, 1);
	assert_int_equal(sl_fork_encode(&good, k.pub, 1, &ra, &rb, why,
	    sizeof why), SL_OK);
	memcpy(sig, two.sig, SL_SIG_LEN);
	sig[9] ^= 0x04;
	rb.sig = sig;
	raw(&bad, k.pub, 1, &ra, &rb);

	scene_start(&s, "fh");
	ident_init(&m, "m-fh");
	ident_init(&m2, "m2-fh");
	scene_member(&s, &m);
	scene_member(&s, &m2);
	sl_fingerprint(fm, m.key.pub);
	sl_fingerprint(fm2, m2.key.pub);

	/* The forgery: refused at ingest. */
	forger_init(&f, &m);
	r = forge(&f, &(struct forgery){ .type = SL_FORK_TYPE, .payload =
	    bad.p, .payload_len = (uint32_t)bad.len });
	atk_deliver(&m, &s.v, &r, 1);
	free(r.p);
	assert_int_equal(victim_num(&s, "refused"), 1);
	out = ok(sl(&s.v, "status", "--json", NULL))->out;
	assert_non_null(strstr(out, "\"fork_proofs\": []"));
	assert_non_null(strstr(out, "the signature is not the origin's"));

	/* The real proof at the same seq (the forgery never counted). */
	forger_init(&f, &m);
	r = forge(&f, &(struct forgery){ .type = SL_FORK_TYPE, .payload =
	    good.p, .payload_len = (uint32_t)good.len });
	atk_deliver(&m, &s.v, &r, 1);
	free(r.p);
	s.count++;
	scene_wait(&s, WAIT_MS);
	out = wait_proof(&s.h, fk);
	snprintf(needle, sizeof needle, "\"proved_by\": \"%s\"", fm);
	assert_non_null(strstr(out, needle));
	assert_int_equal(victim_num(&s, "refused"), 1);

	/* m2 forks by a broken link. */
	{
		struct store *sa = chain_open(&m2, "store");
		struct store *sb = chain_open(&m2, "fork");
		struct rec a1 = chain_add(sa, &m2, "Gemensam början");
		struct rec a2 = chain_add(sa, &m2, "Historia A");
		struct store_ingest_result res;

		assert_int_equal(store_ingest(sb, (const uint8_t *const[]){
		    a1.p }, (const size_t[]){ a1.len }, 1, &res), SL_OK);
		struct rec b2 = chain_add(sb, &m2, "Historia B");
		struct rec b3 = chain_add(sb, &m2, "Historia B igen");
		struct rec two_of[2] = { a1, a2 };

		atk_deliver(&m2, &s.v, two_of, 2);
		s.count += 2;
		scene_wait(&s, WAIT_MS);
		atk_deliver(&m2, &s.v, &b3, 1);
		s.count++;           /* the victim's proof */
		scene_wait(&s, WAIT_MS);
		assert_int_equal(victim_num(&s, "forks"), 1);
		out = strstr(wait_proof(&s.h, fm2), "\"fork_proofs\"");
		snprintf(needle, sizeof needle, "\"origin\": \"%s\"", fm2);
		out = strstr(out, needle);
		assert_non_null(out);
		/* Not 3, where the broken link was found: 2, where the two
		 * histories part. */
		assert_int_equal(tu_json_num(out, "seq"), 2);
		free(a1.p);
		free(a2.p);
		free(b2.p);
		free(b3.p);
		store_close(sa);
		store_close(sb);
	}
	out = ok(sl(&s.v, "status", "--json", NULL))->out;
	assert_int_equal(count(out, "\"proved_by\""), 2);
	scene_check(&s, "after two fork proofs");
	free(good.p);
	free(bad.p);
	sl_key_wipe(&k);
	ident_free(&m);
	ident_free(&m2);
	scene_stop(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_rules),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_store_ingest),
		cmocka_unit_test_teardown(test_line, cl_reap),
		cmocka_unit_test_teardown(test_member, cl_reap),
	};

	return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
