/*
 * test_project.c - the records folded from the log: last-writer-wins per
 * field, conflicts from concurrent edits, the same bytes whatever order
 * the events arrive in (property test over random interleavings that keep
 * each origin's order), and a rebuild giving identical bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <msgpack.h>

#include "project.h"
#include "store.h"
#include "testutil.h"

struct node {
	struct store *s;
	struct project *p;
};

static char *tmp;
static int nodes_made;

static void
node_open(struct node *n, const struct sl_key *k)
{
	char path[512], err[256];

	snprintf(path, sizeof path, "%s/n%d", tmp, nodes_made++);
	if (store_open(&n->s, path, k, NULL, err, sizeof err) != SL_OK ||
	    project_open(&n->p, n->s, err, sizeof err) != SL_OK)
		fail_msg("open: %s", err);
}

static void
node_close(struct node *n)
{
	project_close(n->p);
	store_close(n->s);
}

/* A payload {k1: v1, k2: v2...} of string fields, keys given sorted. */
static size_t
payload(uint8_t *out, size_t cap, int n, ...)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	va_list ap;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, (size_t)n);
	va_start(ap, n);
	for (int i = 0; i < 2 * n; i++) {
		const char *s = va_arg(ap, const char *);

		msgpack_pack_str(&pk, strlen(s));
		msgpack_pack_str_body(&pk, s, strlen(s));
	}
	va_end(ap);
	assert_true(sb.size <= cap);
	memcpy(out, sb.data, sb.size);
	size_t len = sb.size;

	msgpack_sbuffer_destroy(&sb);
	return len;
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SL_HASH_LEN);
}

/* Appends one event (its own commit, so it is signed); seen: the record
 * whose current heads it names. */
static void
emit(struct node *n, const char *type, const uint8_t *entity,
    const uint8_t *seen, const uint8_t *pl, size_t plen,
    struct store_appended *out)
{
	uint8_t heads[SL_MAX_PARENTS][SL_HASH_LEN];
	struct sl_event_draft d = { .author = "t", .type = type, .entity = entity,
		.payload = pl, .payload_len = (uint32_t)plen };
	char err[256];

	if (seen != NULL) {
		MDB_txn *txn;

		/* The heads the writer saw, sorted as the format wants. */
		assert_int_equal(store_read_begin(n->s, &txn), SL_OK);
		d.n_parents = project_heads(n->p, txn, seen, heads,
		    SL_MAX_PARENTS);
		mdb_txn_abort(txn);
		qsort(heads, d.n_parents, SL_HASH_LEN, hash_cmp);
		d.parents = (const uint8_t (*)[SL_HASH_LEN])heads;
	}
	if (store_append(n->s, &d, 1, out, err, sizeof err) != SL_OK)
		fail_msg("append: %s", err);
}

static void
get(struct node *n, const uint8_t *id, struct sl_rec *r)
{
	MDB_txn *txn;

	assert_int_equal(store_read_begin(n->s, &txn), SL_OK);
	assert_int_equal(project_get(n->p, txn, id, r), SL_OK);
	mdb_txn_abort(txn);
}

/* Copies every event of src (arrival order) into a list. */
struct evlist {
	uint8_t *rec[512];
	size_t len[512];
	uint8_t origin[512][SL_KEY_LEN];
	size_t n;
};

static int
collect_cb(void *ctx, uint64_t arrival, const uint8_t *rec, size_t len)
{
	struct evlist *l = ctx;
	struct sl_event ev;

	(void)arrival;
	assert_true(l->n < 512);
	assert_int_equal(sl_event_decode(&ev, rec, len), SL_OK);
	l->rec[l->n] = malloc(len);
	memcpy(l->rec[l->n], rec, len);
	l->len[l->n] = len;
	memcpy(l->origin[l->n], ev.origin, SL_KEY_LEN);
	l->n++;
	return 0;
}

static void
ingest_one(struct node *n, const uint8_t *rec, size_t len)
{
	struct store_ingest_result r;
	const uint8_t *recs[1] = { rec };

	if (store_ingest(n->s, recs, &len, 1, &r) != SL_OK)
		fail_msg("ingest: %s", r.reason);
}

/* The projection bytes of a node, hashed. */
static void
dump_cb(void *ctx, const void *k, size_t kl, const void *v, size_t vl)
{
	struct { uint8_t h[SL_HASH_LEN]; } *acc = ctx;
	uint8_t buf[SL_HASH_LEN * 2];

	memcpy(buf, acc->h, SL_HASH_LEN);
	sl_sha256_2(buf + SL_HASH_LEN, k, kl, v, vl);
	sl_sha256(acc->h, buf, sizeof buf);
}

static void
digest(struct node *n, uint8_t out[SL_HASH_LEN])
{
	struct { uint8_t h[SL_HASH_LEN]; } acc = { { 0 } };

	assert_int_equal(project_dump(n->p, dump_cb, &acc), SL_OK);
	memcpy(out, acc.h, SL_HASH_LEN);
}

static struct sl_key ka, kb, kc;

/* Three nodes, opened here with keys ka, kb and kc, edit one contact: b
 * and c concurrently after both saw a's creation; a then resolves. */
static void
make_history(struct node *a, struct node *b, struct node *c,
    struct evlist *all, uint8_t id[SL_ID_LEN])
{
	uint8_t pl[512];
	size_t n;
	struct store_appended ap;
	struct sl_rec r;
	struct evlist la = { 0 };

	node_open(a, &ka);
	node_open(b, &kb);
	node_open(c, &kc);

	n = payload(pl, sizeof pl, 2, "name", "Anna", "role", "kassör");
	emit(a, "contact.created", NULL, NULL, pl, n, &ap);
	sl_entity_id(id, ap.hash);
	n = payload(pl, sizeof pl, 1, "name", "Värmekällan");
	emit(a, "org.created", NULL, NULL, pl, n, &ap);
	/* b and c receive a's events. */
	store_scan(a->s, 0, collect_cb, &la);
	for (size_t i = 0; i < la.n; i++) {
		ingest_one(b, la.rec[i], la.len[i]);
		ingest_one(c, la.rec[i], la.len[i]);
		free(la.rec[i]);
	}
	get(b, id, &r);
	n = payload(pl, sizeof pl, 1, "role", "ordförande");
	emit(b, "contact.updated", id, id, pl, n, &ap);
	sl_rec_free(&r);
	get(c, id, &r);
	n = payload(pl, sizeof pl, 2, "email", "anna@example.org", "role",
	    "sekreterare");
	emit(c, "contact.updated", id, id, pl, n, &ap);
	sl_rec_free(&r);
	/* Everything from everyone, as one list per origin. */
	store_scan(a->s, 0, collect_cb, all);
	struct evlist lb = { 0 }, lc = { 0 };

	store_scan(b->s, 0, collect_cb, &lb);
	store_scan(c->s, 0, collect_cb, &lc);
	for (size_t i = 0; i < lb.n; i++) {
		if (memcmp(lb.origin[i], kb.pub, SL_KEY_LEN) == 0) {
			all->rec[all->n] = lb.rec[i];
			all->len[all->n] = lb.len[i];
			memcpy(all->origin[all->n++], kb.pub, SL_KEY_LEN);
		} else {
			free(lb.rec[i]);
		}
	}
	for (size_t i = 0; i < lc.n; i++) {
		if (memcmp(lc.origin[i], kc.pub, SL_KEY_LEN) == 0) {
			all->rec[all->n] = lc.rec[i];
			all->len[all->n] = lc.len[i];
			memcpy(all->origin[all->n++], kc.pub, SL_KEY_LEN);
		} else {
			free(lc.rec[i]);
		}
	}
}

/* Closes make_history's nodes and frees its events. */
static void
history_free(struct node *a, struct node *b, struct node *c,
    struct evlist *all)
{
	for (size_t i = 0; i < all->n; i++)
		free(all->rec[i]);
	node_close(a);
	node_close(b);
	node_close(c);
}

static void
test_lww_and_conflict(void **state)
{
	struct node a, b, c, x;
	struct evlist all = { 0 };
	uint8_t id[SL_ID_LEN];
	struct sl_rec r;
	char v[64];

	(void)state;
	make_history(&a, &b, &c, &all, id);
	node_open(&x, &ka);
	for (size_t i = 0; i < all.n; i++)
		ingest_one(&x, all.rec[i], all.len[i]);
	get(&x, id, &r);
	/* Two heads: b's and c's edits did not see each other. */
	assert_true((r.nheads > 1));
	/* c's edit is later (its own commit came after b's): it wins role;
	 * email only c set; name from the creation. */
	assert_true(project_str(&r, "role", v, sizeof v));
	assert_string_equal(v, "sekreterare");
	assert_true(project_str(&r, "email", v, sizeof v));
	assert_true(project_str(&r, "name", v, sizeof v));
	assert_string_equal(v, "Anna");
	/* An edit that saw both heads resolves the conflict. */
	uint8_t pl[128];
	size_t n = payload(pl, sizeof pl, 1, "phone", "08-123");

	emit(&x, "contact.updated", id, id, pl, n, NULL);
	sl_rec_free(&r);
	get(&x, id, &r);
	assert_false((r.nheads > 1));
	sl_rec_free(&r);
	history_free(&a, &b, &c, &all);
	node_close(&x);
}

static void
test_any_order_same_bytes(void **state)
{
	struct node a, b, c;
	struct evlist all = { 0 };
	uint8_t id[SL_ID_LEN], first[SL_HASH_LEN], d[SL_HASH_LEN];
	unsigned seed = (unsigned)sl_now_ms();

	(void)state;
	make_history(&a, &b, &c, &all, id);
	print_message("order seed %u\n", seed);
	srand(seed);
	for (int round = 0; round < 12; round++) {
		struct node x;
		size_t next[3] = { 0, 0, 0 };
		const uint8_t *orig[3] = { ka.pub, kb.pub, kc.pub };
		size_t left = all.n;

		node_open(&x, &kb);
		/* A random merge of the three origins' sequences. */
		while (left > 0) {
			int o = rand() % 3;
			size_t i;

			for (i = next[o]; i < all.n; i++)
				if (memcmp(all.origin[i], orig[o], SL_KEY_LEN) == 0)
					break;
			if (i == all.n)
				continue;
			ingest_one(&x, all.rec[i], all.len[i]);
			next[o] = i + 1;
			left--;
		}
		digest(&x, d);
		if (round == 0)
			memcpy(first, d, sizeof d);
		else
			assert_memory_equal(first, d, sizeof d);
		/* And a rebuild from the log gives the same bytes. */
		char err[256];
		uint64_t events;

		assert_int_equal(project_rebuild(x.p, &events, err, sizeof err),
		    SL_OK);
		assert_int_equal(events, all.n);
		digest(&x, d);
		assert_memory_equal(first, d, sizeof d);
		node_close(&x);
	}
	history_free(&a, &b, &c, &all);
}

/*
 * store_renew closes LMDB and opens it again (samlogd does so idle, to
 * free the pages LMDB keeps): not while a read transaction is open, and
 * after it every handle works, for the origins held and for new ones,
 * and the projections come out byte for byte as without it.
 */
static void
test_renew(void **state)
{
	struct node a, b, c, x, y;
	struct evlist all = { 0 };
	uint8_t id[SL_ID_LEN], dx[SL_HASH_LEN], dy[SL_HASH_LEN];
	MDB_txn *txn;
	struct sl_rec r;
	char err[256];
	uint64_t events;

	(void)state;
	make_history(&a, &b, &c, &all, id);
	node_open(&x, &kb);
	node_open(&y, &kb);
	for (size_t i = 0; i < all.n; i++) {
		ingest_one(&y, all.rec[i], all.len[i]);
		ingest_one(&x, all.rec[i], all.len[i]);
		/* After a's events, before b's and c's origins are known; and
		 * after b's first. */
		if (i + 1 < all.n && memcmp(all.origin[i + 1], all.origin[i],
		    SL_KEY_LEN) != 0) {
			assert_int_equal(store_read_begin(x.s, &txn), SL_OK);
			assert_int_equal(store_renew(x.s, err, sizeof err), SL_ERETRY);
			assert_int_equal(project_get(x.p, txn, id, &r), SL_OK);
			sl_rec_free(&r);
			mdb_txn_abort(txn);
			assert_int_equal(store_renew(x.s, err, sizeof err), SL_OK);
			assert_int_equal(project_renew(x.p), SL_OK);
		}
	}
	assert_int_equal(store_event_count(x.s), all.n);
	digest(&x, dx);
	digest(&y, dy);
	assert_memory_equal(dx, dy, sizeof dx);
	get(&x, id, &r);
	sl_rec_free(&r);
	/* A write of its own, a rebuild, and the log still verifies. */
	uint8_t pl[64];
	size_t n = payload(pl, sizeof pl, 1, "name", "Efter");
	struct store_appended ap;

	emit(&x, "org.created", NULL, NULL, pl, n, &ap);
	emit(&y, "org.created", NULL, NULL, pl, n, &ap);
	assert_int_equal(project_rebuild(x.p, &events, err, sizeof err),
	    SL_OK);
	assert_int_equal(events, all.n + 1);
	struct store_verify_report rep;

	if (store_verify(x.s, &rep) != SL_OK)
		fail_msg("verify: %s", rep.reason);
	assert_int_equal(rep.events, all.n + 1);
	history_free(&a, &b, &c, &all);
	node_close(&x);
	node_close(&y);
}

static void
test_as_of_and_history(void **state)
{
	struct node a;
	uint8_t pl[128], id[SL_ID_LEN];
	size_t n;
	struct store_appended c1, u1;
	struct sl_rec r;
	MDB_txn *txn;
	char v[64];

	(void)state;
	node_open(&a, &ka);
	n = payload(pl, sizeof pl, 3, "status", "proposed", "text", "Planen", "title", "Plan");
	emit(&a, "decision.created", NULL, NULL, pl, n, &c1);
	sl_entity_id(id, c1.hash);
	get(&a, id, &r);
	n = payload(pl, sizeof pl, 1, "status", "adopted");
	emit(&a, "decision.adopted", id, id, pl, n, &u1);
	sl_rec_free(&r);
	assert_int_equal(store_read_begin(a.s, &txn), SL_OK);
	assert_int_equal(project_as_of(a.p, txn, id, c1.hlc, UINT32_MAX, &r), SL_OK);
	assert_true(project_str(&r, "status", v, sizeof v));
	assert_string_equal(v, "proposed");
	sl_rec_free(&r);
	assert_int_equal(project_as_of(a.p, txn, id, c1.hlc - 1, UINT32_MAX, &r),
	    SL_ENOENT);
	assert_int_equal(project_as_of(a.p, txn, id, UINT64_MAX, UINT32_MAX, &r), SL_OK);
	assert_true(project_str(&r, "status", v, sizeof v));
	assert_string_equal(v, "adopted");
	sl_rec_free(&r);
	/* Prefix resolution. */
	char text[SL_ID_TEXT + 1], cands[256];
	uint8_t got[SL_ID_LEN];

	sl_b32_encode(text, id, SL_ID_LEN);
	text[5] = '\0';
	assert_int_equal(project_resolve(a.p, txn, text, "d", got, cands,
	    sizeof cands), SL_OK);
	assert_memory_equal(got, id, SL_ID_LEN);
	assert_int_equal(project_resolve(a.p, txn, text, "c", got, cands,
	    sizeof cands), SL_ENOENT);
	/* Too short for an id: a name, and none has it. */
	assert_int_equal(project_resolve(a.p, txn, "abc", NULL, got, cands,
	    sizeof cands), SL_ENOENT);
	assert_int_equal(project_resolve(a.p, txn, "abcl", NULL, got, cands,
	    sizeof cands), SL_ENOENT);
	mdb_txn_abort(txn);
	node_close(&a);
}

/* Enough records that two share a 4-character id prefix (10,000 ids over
 * 32^4 prefixes: about 48 such pairs expected, none with probability
 * e^-48): that prefix is refused as ambiguous, listing both, and a longer
 * one resolves. */
static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_ambiguous_prefix(void **state)
{
	struct node a;
	enum { N = 10000 };
	static struct sl_event_draft d[N];
	static struct store_appended ap[N];
	static char ids[N][SL_ID_TEXT + 1];
	uint8_t pl[64];
	size_t n = payload(pl, sizeof pl, 1, "name", "X");
	char err[256], cands[512];
	uint8_t got[SL_ID_LEN];
	MDB_txn *txn;

	(void)state;
	node_open(&a, &ka);
	for (int i = 0; i < N; i++)
		d[i] = (struct sl_event_draft){ .author = "t", .type =
		    "org.created", .payload = pl, .payload_len = (uint32_t)n };
	assert_int_equal(store_append(a.s, d, N, ap, err, sizeof err), SL_OK);
	for (int i = 0; i < N; i++) {
		uint8_t id[SL_ID_LEN];

		sl_entity_id(id, ap[i].hash);
		sl_b32_encode(ids[i], id, SL_ID_LEN);
	}
	int x = -1, y = -1;

	qsort(ids, N, sizeof ids[0], id_cmp);
	for (int i = 0; i + 1 < N && x < 0; i++)
		if (strncmp(ids[i], ids[i + 1], 4) == 0) {
			x = i;
			y = i + 1;
		}
	assert_true(x >= 0);
	char pre[8];

	snprintf(pre, sizeof pre, "%.4s", ids[x]);
	assert_int_equal(store_read_begin(a.s, &txn), SL_OK);
	assert_int_equal(project_resolve(a.p, txn, pre, NULL, got, cands,
	    sizeof cands), SL_EAMBIG);
	assert_non_null(strstr(cands, ids[x]));
	assert_non_null(strstr(cands, ids[y]));
	assert_int_equal(project_resolve(a.p, txn, ids[x], "o", got, cands,
	    sizeof cands), SL_OK);
	/* 10,000 of one name: more than the candidates' room, which says
	 * so rather than seem to name them all. */
	assert_int_equal(project_resolve(a.p, txn, "X", NULL, got, cands,
	    sizeof cands), SL_EAMBIG);
	assert_true(strlen(cands) > 9 &&
	    strcmp(cands + strlen(cands) - 10, ", and more") == 0);
	mdb_txn_abort(txn);
	node_close(&a);
}

/*
 * The projection's own writes may be the ones that find the map full.
 * Then the store must grow the map and replay, as it does when the log's
 * writes fill it.  The fold's backend used to turn MDB_MAP_FULL into a
 * storage error: the batch was refused ("cannot write: MDB_CORRUPTED")
 * and the map never grew, so the same batch failed on every retry.  A
 * cascade (many events waiting for the one that comes last) writes the
 * most projection for the least log: K edits of x's that wait for a's
 * contact, then the contact.
 */
static void
test_map_full_in_fold(void **state)
{
	enum { K = 3000 };
	struct store_options opt = { .initial_map = 128u << 10 };
	char path[512], err[256];
	uint8_t pl[512], id[SL_ID_LEN];
	struct node a, x, v;
	struct store_appended ap;
	struct store_ingest_result res;
	const uint8_t **recs = calloc(K, sizeof *recs);
	size_t *lens = calloc(K, sizeof *lens), n, clen;
	uint8_t *c;
	struct sl_rec r;

	(void)state;
	assert_non_null(recs);
	assert_non_null(lens);
	node_open(&a, &ka);
	node_open(&x, &kb);
	snprintf(path, sizeof path, "%s/small", tmp);
	if (store_open(&v.s, path, NULL, &opt, err, sizeof err) != SL_OK ||
	    project_open(&v.p, v.s, err, sizeof err) != SL_OK)
		fail_msg("open: %s", err);
	n = payload(pl, sizeof pl, 1, "name", "Kaskad");
	emit(&a, "contact.created", NULL, NULL, pl, n, &ap);
	sl_entity_id(id, ap.hash);
	assert_int_equal(store_event_get(a.s, ka.pub, 1, &c, &clen), SL_OK);
	ingest_one(&x, c, clen);
	for (int i = 0; i < K; i++) {
		char role[32];

		snprintf(role, sizeof role, "roll %d", i);
		n = payload(pl, sizeof pl, 1, "role", role);
		emit(&x, "contact.updated", id, id, pl, n, &ap);
	}
	for (int i = 0; i < K; i++) {
		uint8_t *rec;

		assert_int_equal(store_event_get(x.s, kb.pub, (uint64_t)i + 1,
		    &rec, &lens[i]), SL_OK);
		recs[i] = rec;
	}
	for (int i = 0; i < K; i += 500)
		if (store_ingest(v.s, recs + i, lens + i, 500, &res) != SL_OK)
			fail_msg("ingest: %s", res.reason);
	if (store_ingest(v.s, (const uint8_t *const *)&c, &clen, 1, &res) !=
	    SL_OK)
		fail_msg("the contact that %d edits wait for (map %zu "
		    "bytes): %s", K, store_map_size(v.s), res.reason);
	get(&v, id, &r);
	sl_rec_free(&r);
	for (int i = 0; i < K; i++)
		free((void *)recs[i]);
	free(recs);
	free(lens);
	free(c);
	node_close(&a);
	node_close(&x);
	project_close(v.p);
	store_close(v.s);
}

/*
 * A field this version does not know may hold maps (PROTOCOL.md 11.2,
 * rule 4).  The check used to read a map inside such a field with the
 * map's count overwritten by each key's length: a later version's event
 * with {"a": 1, "b": 2} in a new field was refused (that origin's chain
 * stopped there), and a map that claimed 2 entries and held 1 passed
 * the check with a "name" the fold never sees.
 */
static void
test_unknown_nested_map(void **state)
{
	/* {"name": "Ny Version", "zz": {"a": 1, "b": 2}} */
	static const uint8_t later[] = { 0x82, 0xa4, 'n', 'a', 'm', 'e', 0xaa,
		'N', 'y', ' ', 'V', 'e', 'r', 's', 'i', 'o', 'n', 0xa2, 'z', 'z',
		0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0x02 };
	/* A map of 2 that holds 1: {"a": {"b": 1, "name": "Smugglad"}} */
	static const uint8_t smuggle[] = { 0x82, 0xa1, 'a', 0x82, 0xa1, 'b',
		0x01, 0xa4, 'n', 'a', 'm', 'e', 0xa8, 'S', 'm', 'u', 'g', 'g',
		'l', 'a', 'd' };
	struct sl_event_draft d = { .author = "t", .type = "contact.created",
		.payload = later, .payload_len = sizeof later };
	struct store_appended ap;
	struct node n;
	struct sl_rec r;
	uint8_t id[SL_ID_LEN];
	char err[256], name[64];

	(void)state;
	node_open(&n, &ka);
	if (store_append(n.s, &d, 1, &ap, err, sizeof err) != SL_OK)
		fail_msg("a map inside an unknown field: %s", err);
	sl_entity_id(id, ap.hash);
	get(&n, id, &r);
	assert_true(project_str(&r, "name", name, sizeof name));
	assert_string_equal(name, "Ny Version");
	sl_rec_free(&r);
	d.payload = smuggle;
	d.payload_len = sizeof smuggle;
	assert_int_equal(store_append(n.s, &d, 1, &ap, err, sizeof err),
	    SL_EVALUE);
	node_close(&n);
}

/* ---- events with any clock: a chain kept by hand ------------------------ */

struct hchain {
	const struct sl_key *k;
	uint64_t seq;
	uint8_t prev[SL_HASH_LEN];
};

struct hev {
	uint8_t *rec;
	size_t len;
	uint8_t hash[SL_HASH_LEN];
	uint8_t id[SL_ID_LEN];       /* the record it creates or names */
};

/* The next event of c, signed, with clock hlc; one parent or two (p2
 * may be NULL), a payload of one string field. */
static struct hev
hforge(struct hchain *c, const char *type, const uint8_t *entity,
    const uint8_t *p1, const uint8_t *p2, uint64_t hlc, const char *field,
    const char *value)
{
	uint8_t parents[2][SL_HASH_LEN], pl[256], salt[SL_SALT_LEN];
	uint8_t ph[SL_HASH_LEN], hdr[SL_HEADER_MAX], sig[SL_SIG_LEN];
	size_t pn = payload(pl, sizeof pl, 1, field, value), hl;
	uint32_t np = 0;
	struct hev e;

	if (p1 != NULL)
		memcpy(parents[np++], p1, SL_HASH_LEN);
	if (p2 != NULL)
		memcpy(parents[np++], p2, SL_HASH_LEN);
	qsort(parents, np, SL_HASH_LEN, hash_cmp);
	struct sl_event_draft d = { .author = "t", .type = type,
		.entity = entity, .n_parents = np,
		.parents = (const uint8_t (*)[SL_HASH_LEN])parents,
		.payload = pl, .payload_len = (uint32_t)pn };

	sl_random(salt, sizeof salt);
	sl_payload_hash(ph, salt, pl, pn);
	struct sl_header_in h = { c->k->pub, c->seq + 1,
		c->seq > 0 ? c->prev : NULL, hlc, ph };

	hl = sl_header_encode(hdr, &d, &h);
	assert_true(hl > 0);
	sl_sha256(e.hash, hdr, hl);
	sl_sign_hash(sig, c->k, e.hash);
	e.rec = malloc(sl_record_size(hl, true, pn));
	assert_non_null(e.rec);
	e.len = sl_record_encode(e.rec, hdr, hl, sig, salt, pl, pn);
	if (entity != NULL)
		memcpy(e.id, entity, SL_ID_LEN);
	else
		sl_entity_id(e.id, e.hash);
	c->seq++;
	memcpy(c->prev, e.hash, SL_HASH_LEN);
	return e;
}

/*
 * Why an event has no effect does not depend on arrival order.  E names
 * a later event of X (its clock is not later than that parent's) and the
 * creation of another record Y.  judge() used to settle E as soon as
 * one held parent condemned it, while the other was still missing: a
 * node that had Y first said "a parent is not of this record", one that
 * had X's event first "not later than its parents".
 */
static void
test_why_any_order(void **state)
{
	struct hchain h = { &ka, 0, { 0 } }, a = { &kb, 0, { 0 } };
	uint64_t t = sl_now_ms() << 16;
	struct hev cx, px, cy, e;
	struct sl_evmeta m[2];
	const struct hev *order[2][4] = { { &cx, &px, &e, &cy },
		{ &cy, &e, &cx, &px } };

	(void)state;
	cx = hforge(&h, "contact.created", NULL, NULL, NULL, t, "name", "X");
	px = hforge(&h, "contact.updated", cx.id, cx.hash, NULL, t + 100,
	    "role", "r2");
	cy = hforge(&h, "contact.created", NULL, NULL, NULL, t + 200, "name",
	    "Y");
	e = hforge(&a, "contact.updated", cx.id, px.hash, cy.hash, t + 50,
	    "role", "r3");
	for (int o = 0; o < 2; o++) {
		struct sl_fold_mem *fm = sl_fold_mem_new();

		for (int i = 0; i < 4; i++)
			assert_int_equal(sl_fold_mem_add(fm, order[o][i]->rec,
			    order[o][i]->len), SL_OK);
		assert_int_equal(sl_fold_mem_meta(fm, e.hash, &m[o]), SL_OK);
		sl_fold_mem_free(fm);
	}
	assert_int_equal(m[0].status, SL_EV_IGNORED);
	assert_int_equal(m[1].status, SL_EV_IGNORED);
	assert_string_equal(sl_fold_why(m[0].why), sl_fold_why(m[1].why));
	free(cx.rec);
	free(px.rec);
	free(cy.rec);
	free(e.rec);
}

/*
 * K edits stamped before the record's creation (ignored, as they should
 * be) come before it in clock order, so the in-memory fold (audit
 * --check, show --as-of) holds them all waiting and releases them at
 * once.  It found each released event's bytes by scanning its whole
 * table, and checked each new waiter against the parent's list: 32,000
 * took 7.5 s, quadratic.  Now well under a second.
 */
static void
test_mem_fold_many_waiting(void **state)
{
	enum { K = 32000 };
	struct hchain h = { &ka, 0, { 0 } }, a = { &kb, 0, { 0 } };
	uint64_t t = sl_now_ms() << 16;
	struct hev c, *e = calloc(K, sizeof *e);
	struct sl_fold_mem *fm = sl_fold_mem_new();
	struct timespec t0, t1;
	double secs;

	(void)state;
	assert_non_null(e);
	assert_non_null(fm);
	c = hforge(&h, "contact.created", NULL, NULL, NULL, t, "name", "C");
	for (int i = 0; i < K; i++)
		e[i] = hforge(&a, "contact.updated", c.id, c.hash, NULL,
		    t - (uint64_t)(K - i), "role", "bakåt");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < K; i++)
		assert_int_equal(sl_fold_mem_add(fm, e[i].rec, e[i].len),
		    SL_OK);
	assert_int_equal(sl_fold_mem_add(fm, c.rec, c.len), SL_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (int i = 0; i < K; i++) {
		struct sl_evmeta m;

		assert_int_equal(sl_fold_mem_meta(fm, e[i].hash, &m), SL_OK);
		assert_int_equal(m.status, SL_EV_IGNORED);
		free(e[i].rec);
	}
	if (secs > 3.0)
		fail_msg("%d waiting events released at once took %.2f s", K,
		    secs);
	free(e);
	free(c.rec);
	sl_fold_mem_free(fm);
}

static int
setup(void **state)
{
	uint8_t seed[SL_SEED_LEN];

	(void)state;
	tmp = tu_tmpdir();
	memset(seed, 11, sizeof seed);
	sl_key_from_seed(&ka, seed);
	memset(seed, 12, sizeof seed);
	sl_key_from_seed(&kb, seed);
	memset(seed, 13, sizeof seed);
	sl_key_from_seed(&kc, seed);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tu_rmtree(tmp);
	return 0;
}

/* What project_list_all lists, and in what order. */
struct hits {
	uint8_t id[64][SL_ID_LEN];
	uint64_t c_hlc[64];
	size_t n;
	const char *field[3], *value[3];
	size_t nf;
};

static int
hits_cb(void *ctx, const struct sl_rec *r)
{
	struct hits *h = ctx;

	assert_true(h->n < 64);
	h->c_hlc[h->n] = r->c_hlc;
	memcpy(h->id[h->n++], r->id, SL_ID_LEN);
	return 0;
}

/* Every record, kept when each field named equals its value. */
static int
brute_cb(void *ctx, const struct sl_rec *r)
{
	struct hits *h = ctx;
	char v[64];

	for (size_t i = 0; i < h->nf; i++)
		if (!project_str(r, h->field[i], v, sizeof v) ||
		    strcmp(v, h->value[i]) != 0)
			return 0;
	return hits_cb(ctx, r);
}

/* Puts h's records in the order they were made: creating clock, id. */
static void
hits_by_creation(struct hits *h)
{
	for (size_t i = 1; i < h->n; i++)
		for (size_t j = i; j > 0 && (h->c_hlc[j - 1] > h->c_hlc[j] ||
		    (h->c_hlc[j - 1] == h->c_hlc[j] &&
		    memcmp(h->id[j - 1], h->id[j], SL_ID_LEN) > 0)); j--) {
			uint8_t t[SL_ID_LEN];
			uint64_t c = h->c_hlc[j];

			h->c_hlc[j] = h->c_hlc[j - 1];
			h->c_hlc[j - 1] = c;
			memcpy(t, h->id[j], SL_ID_LEN);
			memcpy(h->id[j], h->id[j - 1], SL_ID_LEN);
			memcpy(h->id[j - 1], t, SL_ID_LEN);
		}
}

/*
 * Lists by several indexed fields at once (samlog contact list
 * --municipality M --role R) name exactly the records a scan of all of
 * them would, in the order they were made (each index holds a value's
 * records so, and a new one goes to the end of its ranges), after
 * updates moved records between values.  So does a list by one value.
 */
static void
test_list_all(void **state)
{
	static const char *const munis[] = { "Solna", "Täby", "Vaxholm" };
	static const char *const roles[] = { "chef", "kassör", "samordnare",
		"sekreterare" };
	struct node a;
	uint8_t ids[48][SL_ID_LEN], pl[512];
	struct store_appended ap;
	MDB_txn *txn;
	char name[16];

	(void)state;
	node_open(&a, &ka);
	for (int i = 0; i < 48; i++) {
		size_t n;

		snprintf(name, sizeof name, "P %d", i);
		n = payload(pl, sizeof pl, 3, "municipality", munis[i % 3],
		    "name", name, "role", roles[i % 4]);
		emit(&a, "contact.created", NULL, NULL, pl, n, &ap);
		sl_entity_id(ids[i], ap.hash);
	}
	/* Three move: to another role, another municipality, both. */
	for (int i = 0; i < 3; i++) {
		size_t n = i == 0 ? payload(pl, sizeof pl, 1, "role", "chef") :
		    i == 1 ? payload(pl, sizeof pl, 1, "municipality",
		    "Vaxholm") : payload(pl, sizeof pl, 2, "municipality",
		    "Täby", "role", "kassör");

		emit(&a, "contact.updated", ids[5 + i], ids[5 + i], pl, n,
		    NULL);
	}
	assert_int_equal(store_read_begin(a.s, &txn), SL_OK);
	for (size_t m = 0; m < 4; m++)
		for (size_t r = 0; r < 5; r++) {
			struct hits got = { .nf = 2 }, want = { .nf = 2 };
			const char *mv = m < 3 ? munis[m] : "Nacka";
			const char *rv = r < 4 ? roles[r] : "ingen";

			got.field[0] = want.field[0] = "municipality";
			got.field[1] = want.field[1] = "role";
			got.value[0] = want.value[0] = mv;
			got.value[1] = want.value[1] = rv;
			assert_int_equal(project_list_all(a.p, txn, 'c', 2,
			    got.field, got.value, hits_cb, &got), SL_OK);
			assert_int_equal(project_list(a.p, txn, 'c', NULL, NULL,
			    NULL, NULL, brute_cb, &want), SL_OK);
			hits_by_creation(&want);
			assert_int_equal(got.n, want.n);
			/* in the order they were made, and the same records */
			assert_memory_equal(got.id, want.id, got.n * SL_ID_LEN);
			if (m < 3 && r < 4)
				assert_true(got.n >= 2);
			/* Created one after another: by i, not by id. */
			for (size_t i = 1; i < got.n; i++)
				assert_true(got.c_hlc[i - 1] < got.c_hlc[i]);
		}
	/* One value alone, through project_list. */
	for (size_t r = 0; r < 4; r++) {
		struct hits got = { .nf = 1 }, want = { .nf = 1 };

		want.field[0] = "role";
		want.value[0] = roles[r];
		assert_int_equal(project_list(a.p, txn, 'c', "role", roles[r],
		    NULL, NULL, hits_cb, &got), SL_OK);
		assert_int_equal(project_list(a.p, txn, 'c', NULL, NULL,
		    NULL, NULL, brute_cb, &want), SL_OK);
		hits_by_creation(&want);
		assert_int_equal(got.n, want.n);
		assert_memory_equal(got.id, want.id, got.n * SL_ID_LEN);
	}
	/* Three at once, the name too: one record. */
	struct hits one = { .nf = 3, .field = { "role", "municipality",
		"name" }, .value = { "kassör", "Täby", "P 7" } };

	assert_int_equal(project_list_all(a.p, txn, 'c', 3, one.field,
	    one.value, hits_cb, &one), SL_OK);
	assert_int_equal(one.n, 1);
	assert_memory_equal(one.id[0], ids[7], SL_ID_LEN);
	/* A field with no index is refused. */
	one.field[2] = "email";
	assert_int_equal(project_list_all(a.p, txn, 'c', 3, one.field,
	    one.value, hits_cb, &one), SL_EINVAL);
	mdb_txn_abort(txn);
	node_close(&a);
}

static int
count_ev_cb(void *ctx, const struct sl_event *ev, const uint8_t h[SL_HASH_LEN],
    const struct sl_evmeta *m)
{
	(void)ev;
	(void)h;
	(void)m;
	(*(size_t *)ctx)++;
	return 0;
}

/* The events and heads project_history and project_heads give for id. */
static void
history_of(struct node *n, const uint8_t id[SL_ID_LEN], size_t *events,
    uint32_t *heads)
{
	MDB_txn *txn;

	*events = 0;
	assert_int_equal(store_read_begin(n->s, &txn), SL_OK);
	assert_int_equal(project_history(n->p, txn, id, UINT64_MAX,
	    count_ev_cb, events), SL_OK);
	*heads = project_heads(n->p, txn, id, NULL, 0);
	mdb_txn_abort(txn);
}

static const char *const old_trees[] = { "pev", "phead", "pevm" };
#define OLD_TREES (sizeof old_trees / sizeof old_trees[0])

/* Makes n's store one of version 20: its trees pev, phead and pevm
 * (the verdicts, until version 23), with something in them, and that
 * version. */
static void
make_v20(struct node *n)
{
	uint8_t old[8] = { 0, 0, 0, 0, 0, 0, 0, 20 };
	MDB_txn *txn;
	MDB_dbi dbi;

	assert_int_equal(mdb_txn_begin(store_env(n->s), NULL, 0, &txn), 0);
	for (size_t i = 0; i < OLD_TREES; i++) {
		MDB_val k = { 5, "stale" }, d = { 0, "" };

		assert_int_equal(mdb_dbi_open(txn, old_trees[i], MDB_CREATE,
		    &dbi), 0);
		assert_int_equal(mdb_put(txn, dbi, &k, &d, 0), 0);
	}
	assert_int_equal(mdb_dbi_open(txn, "pmeta", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &(MDB_val){ 7, "version" },
	    &(MDB_val){ 8, old }, 0), 0);
	assert_int_equal(store_commit(n->s, txn), 0);
}

/* The version s says (0: none) and how many of the old trees it has. */
static void
version_of(struct store *s, uint64_t *version, int *trees)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val d;

	*version = 0;
	*trees = 0;
	assert_int_equal(mdb_txn_begin(store_env(s), NULL, MDB_RDONLY, &txn),
	    0);
	for (size_t i = 0; i < OLD_TREES; i++)
		*trees += mdb_dbi_open(txn, old_trees[i], 0, &dbi) == 0;
	if (mdb_dbi_open(txn, "pmeta", 0, &dbi) == 0 &&
	    mdb_get(txn, dbi, &(MDB_val){ 7, "version" }, &d) == 0 &&
	    d.mv_size == 8)
		*version = sl_get_be(d.mv_data, 8);
	mdb_txn_abort(txn);
}

/*
 * Before version 21 a record's events and heads were trees of their own
 * ("pev", "phead"), and before version 23 the verdicts ("pevm"); now they
 * lie in rec.  A store of an old version is rebuilt at open, and the old
 * trees are deleted, not left to fill the file.
 */
static void
test_upgrade_drops_old_trees(void **state)
{
	struct node a, b, c, x;
	struct evlist all = { 0 };
	uint8_t id[SL_ID_LEN], before[SL_HASH_LEN], after[SL_HASH_LEN];
	char path[512], err[256];
	size_t events, events2;
	uint32_t heads, heads2;
	uint64_t version;
	int trees;

	(void)state;
	make_history(&a, &b, &c, &all, id);
	snprintf(path, sizeof path, "%s/n%d", tmp, nodes_made);
	node_open(&x, &ka);
	for (size_t i = 0; i < all.n; i++)
		ingest_one(&x, all.rec[i], all.len[i]);
	digest(&x, before);
	history_of(&x, id, &events, &heads);
	assert_int_equal(events, 3);  /* created, and b's and c's edits */
	assert_int_equal(heads, 2);   /* b's and c's edits */
	make_v20(&x);
	node_close(&x);
	if (store_open(&x.s, path, &ka, NULL, err, sizeof err) != SL_OK ||
	    project_open(&x.p, x.s, err, sizeof err) != SL_OK)
		fail_msg("reopen: %s", err);
	version_of(x.s, &version, &trees);
	assert_int_equal(trees, 0);
	assert_int_equal(version, PROJECT_VERSION);
	digest(&x, after);
	assert_memory_equal(before, after, sizeof before);
	history_of(&x, id, &events2, &heads2);
	assert_int_equal(events2, events);
	assert_int_equal(heads2, heads);
	history_free(&a, &b, &c, &all);
	node_close(&x);
}

/* The one origin's log database ("log." and its index) in txn. */
static MDB_dbi
log_of(MDB_txn *txn)
{
	MDB_cursor *c;
	MDB_dbi main, dbi;
	MDB_val k, d;
	char name[32] = "";

	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &main), 0);
	assert_int_equal(mdb_cursor_open(txn, main, &c), 0);
	while (mdb_cursor_get(c, &k, &d, MDB_NEXT) == 0)
		if (k.mv_size < sizeof name && k.mv_size > 4 &&
		    memcmp(k.mv_data, "log.", 4) == 0)
			snprintf(name, sizeof name, "%.*s", (int)k.mv_size,
			    (const char *)k.mv_data);
	mdb_cursor_close(c);
	assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
	return dbi;
}

/*
 * An upgrade cut short: the rebuild that follows the old trees' deletion
 * fails (here: an event of the log no longer decodes).  The store must
 * not be left saying version 20 without those trees, or the version 20
 * samlogd an operator goes back to would not rebuild, and would show
 * every record with no history and no heads and refuse every edit.
 */
static void
test_upgrade_cut_short(void **state)
{
	uint8_t pl[128], id[SL_ID_LEN];
	char path[512], err[256];
	struct store_appended ap;
	struct node x;
	uint64_t version;
	int trees;
	MDB_txn *txn;
	MDB_dbi dbi;
	size_t n;

	(void)state;
	snprintf(path, sizeof path, "%s/n%d", tmp, nodes_made);
	node_open(&x, &ka);
	n = payload(pl, sizeof pl, 1, "name", "Kontakt");
	emit(&x, "contact.created", NULL, NULL, pl, n, &ap);
	sl_entity_id(id, ap.hash);
	for (int i = 0; i < 3; i++) {
		n = payload(pl, sizeof pl, 1, "role", i % 2 ? "kassör" :
		    "ordförande");
		emit(&x, "contact.updated", id, id, pl, n, NULL);
	}
	make_v20(&x);
	/* The second event of the log, made unreadable. */
	assert_int_equal(mdb_txn_begin(store_env(x.s), NULL, 0, &txn), 0);
	dbi = log_of(txn);
	assert_int_equal(mdb_put(txn, dbi, &(MDB_val){ 8,
	    "\0\0\0\0\0\0\0\2" }, &(MDB_val){ 4, "junk" }, 0), 0);
	assert_int_equal(store_commit(x.s, txn), 0);
	node_close(&x);
	if (store_open(&x.s, path, &ka, NULL, err, sizeof err) != SL_OK)
		fail_msg("open: %s", err);
	if (project_open(&x.p, x.s, err, sizeof err) == SL_OK)
		fail_msg("the rebuild went through a damaged log");
	version_of(x.s, &version, &trees);
	store_close(x.s);
	print_message("after the failed upgrade: version %llu, %d old trees\n",
	    (unsigned long long)version, trees);
	assert_true(trees == (int)OLD_TREES ? version == 20 :
	    trees == 0 && version != 20);
}

/* rec's keys by length: 16 records, 33 verdicts, 49 heads, 65 events. */
static void
rec_census(struct node *n, size_t c[4], size_t *other)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, d;

	memset(c, 0, 4 * sizeof c[0]);
	*other = 0;
	assert_int_equal(store_read_begin(n->s, &txn), SL_OK);
	assert_int_equal(mdb_dbi_open(txn, "rec", 0, &dbi), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		if (k.mv_size == 16)
			c[0]++;
		else if (k.mv_size == 33 && ((uint8_t *)k.mv_data)[16] == 'v'
		    && d.mv_size == SL_EVMETA_LEN)
			c[1]++;
		else if (k.mv_size == 49)
			c[2]++;
		else if (k.mv_size == 65)
			c[3]++;
		else
			(*other)++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
}

/*
 * Verdicts in rec: one 33-byte key per folded record event, none read
 * as anything else by history, heads, the id prefix search, a rebuild;
 * a verdict of the wrong size stops the fold with a storage error.
 */
static void
test_verdicts_in_rec(void **state)
{
	struct node a;
	uint8_t pl[128], id[SL_ID_LEN], h[4][SL_HASH_LEN];
	uint8_t d0[SL_HASH_LEN], d1[SL_HASH_LEN], got[SL_ID_LEN];
	struct store_appended ap;
	struct sl_evmeta m;
	char err[256], cands[512], text[SL_ID_TEXT + 1];
	size_t c[4], other, events, n;
	uint32_t heads;
	uint64_t nev;
	MDB_txn *txn;
	MDB_dbi dbi;

	(void)state;
	node_open(&a, &ka);
	n = payload(pl, sizeof pl, 1, "name", "Verdikt");
	emit(&a, "contact.created", NULL, NULL, pl, n, &ap);
	memcpy(h[0], ap.hash, SL_HASH_LEN);
	sl_entity_id(id, ap.hash);
	for (int i = 1; i < 4; i++) {
		n = payload(pl, sizeof pl, 1, "role", i % 2 ? "kassör" :
		    "ordförande");
		emit(&a, "contact.updated", id, id, pl, n, &ap);
		memcpy(h[i], ap.hash, SL_HASH_LEN);
	}
	rec_census(&a, c, &other);
	assert_int_equal(other, 0);
	assert_int_equal(c[0], 1);      /* the record */
	assert_int_equal(c[1], 4);      /* four verdicts */
	assert_int_equal(c[2], 1);      /* one head */
	assert_int_equal(c[3], 4);      /* four history entries */
	history_of(&a, id, &events, &heads);
	assert_int_equal(events, 4);
	assert_int_equal(heads, 1);
	assert_int_equal(store_read_begin(a.s, &txn), SL_OK);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(project_meta(a.p, txn, h[i], &m), SL_OK);
		assert_memory_equal(m.id, id, SL_ID_LEN);
		assert_int_equal(m.status, SL_EV_APPLIED);
	}
	/* A later event's hash prefix is no record, whole or in part. */
	for (int i = 1; i < 4; i++) {
		sl_b32_encode(text, h[i], SL_ID_LEN);
		assert_int_equal(project_resolve(a.p, txn, text, NULL, got,
		    cands, sizeof cands), SL_ENOENT);
		text[8] = '\0';
		assert_int_equal(project_resolve(a.p, txn, text, NULL, got,
		    cands, sizeof cands), SL_ENOENT);
	}
	sl_b32_encode(text, id, SL_ID_LEN);
	assert_int_equal(project_resolve(a.p, txn, text, NULL, got, cands,
	    sizeof cands), SL_OK);
	assert_memory_equal(got, id, SL_ID_LEN);
	mdb_txn_abort(txn);
	/* A rebuild gives the same bytes. */
	digest(&a, d0);
	assert_int_equal(project_rebuild(a.p, &nev, err, sizeof err), SL_OK);
	digest(&a, d1);
	assert_memory_equal(d0, d1, SL_HASH_LEN);
	/* The head's verdict cut short: read as damage, and an edit on it
	 * is refused (not folded with the parent taken as missing). */
	{
		uint8_t vk[33];

		memcpy(vk, h[3], 16);
		vk[16] = 'v';
		memcpy(vk + 17, h[3] + 16, 16);
		assert_int_equal(mdb_txn_begin(store_env(a.s), NULL, 0, &txn),
		    0);
		assert_int_equal(mdb_dbi_open(txn, "rec", 0, &dbi), 0);
		assert_int_equal(mdb_put(txn, dbi, &(MDB_val){ 33, vk },
		    &(MDB_val){ 5, "short" }, 0), 0);
		assert_int_equal(store_commit(a.s, txn), 0);
	}
	assert_int_equal(store_read_begin(a.s, &txn), SL_OK);
	assert_int_equal(project_meta(a.p, txn, h[3], &m), SL_ESTORE);
	mdb_txn_abort(txn);
	{
		struct sl_event_draft dr = { .author = "t", .type =
			"contact.updated", .entity = id, .payload = pl,
			.payload_len = (uint32_t)payload(pl, sizeof pl, 1,
			"role", "x"), .parents =
			(const uint8_t (*)[SL_HASH_LEN])h[3], .n_parents = 1 };

		assert_int_not_equal(store_append(a.s, &dr, 1, &ap, err,
		    sizeof err), SL_OK);
		print_message("an edit on a damaged verdict: %s\n", err);
		assert_non_null(strstr(err, "records are damaged"));
	}
	/* A rebuild mends it. */
	assert_int_equal(project_rebuild(a.p, &nev, err, sizeof err), SL_OK);
	digest(&a, d1);
	assert_memory_equal(d0, d1, SL_HASH_LEN);
	node_close(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lww_and_conflict),
		cmocka_unit_test(test_any_order_same_bytes),
		cmocka_unit_test(test_as_of_and_history),
		cmocka_unit_test(test_renew),
		cmocka_unit_test(test_ambiguous_prefix),
		cmocka_unit_test(test_map_full_in_fold),
		cmocka_unit_test(test_unknown_nested_map),
		cmocka_unit_test(test_why_any_order),
		cmocka_unit_test(test_mem_fold_many_waiting),
		cmocka_unit_test(test_list_all),
		cmocka_unit_test(test_upgrade_drops_old_trees),
		cmocka_unit_test(test_upgrade_cut_short),
		cmocka_unit_test(test_verdicts_in_rec),
	};

	if (sl_crypto_init() != 0)
		return 1;
	int rc = cmocka_run_group_tests_name("project", tests, setup, teardown);

	sl_crypto_shutdown();
	return rc;
}
