/*
 * test_fold.c - the daemon's records and the audit checker's records are
 * the same, whatever the events and whatever order they arrive in.
 *
 * A property test.  From a seed (printed; SAMLOG_FOLD_SEED=N replays a
 * run, SAMLOG_FOLD_SETS=N sets how many sets it makes) it writes random
 * histories over a few records by four origins, forging every event
 * itself so that it can choose the clocks: honest creations, updates and
 * decision steps naming the heads their writer saw (some of them stale:
 * concurrent edits), clashing steps (adopt and reject at once) and steps
 * that resolve them, adversarial events that pass the content rules but
 * not the fold's (another kind's type on a record, parents of another
 * record, a clock not after a parent, steps the lifecycle does not
 * allow, parents nobody holds or that are no record's, children of
 * ignored events), events both paths refuse (breaking the content rules,
 * among them an update naming no parent; a body not matching its hash;
 * a record cut short), and events whose copy first arrives without its
 * body (refused by the daemon, folded as a header by the checker), then
 * whole.
 *
 * Each set goes, in several random arrival orders that keep each
 * origin's order, one event per store_ingest into a fresh store and its
 * projections (the daemon path: the LMDB backend of the fold), and, in
 * another random order (any at all: it has no chains), into the
 * in-memory fold (the checker path: `samlog audit --check` folds with
 * sl_fold_mem_add).  Then every record
 * (every field's bytes, clock and origin; kind, state, heads, created,
 * updated, the winning head) and every event's verdict (status, why,
 * state) must be the same in both, and the projections' bytes
 * (project_dump) the same in every order and after project_rebuild.
 *
 * The other tests replay, deterministically, histories on which the two
 * paths, or two orders, once differed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>

#include "project.h"
#include "store.h"
#include "testutil.h"

#define NORIG 4
#define MAXEV 128
#define MAXREC 8
#define ORDERS 3

/* 2024-01-01T00:00:00Z: fixed, so a seed replays the same bytes, and in
 * the past, so the daemon folds every event at once. */
#define CLOCK_BASE (UINT64_C(1704067200000) << 16)

static char *tmp;
static int stores_made;
/* Verdicts seen, by status and why: what the sets exercised. */
static int tally[SL_EV_STATUS_COUNT][SL_WHY_COUNT];

/* ---- randomness ------------------------------------------------------- */

static uint64_t rs;

static uint64_t
rnd(void)
{
	uint64_t z = (rs += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint32_t
rn(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static bool
chance(uint32_t percent)
{
	return rn(100) < percent;
}

/* ---- a generated set ------------------------------------------------------ */

enum erase { WHOLE, ERASED_THEN_WHOLE };

struct gev {
	uint8_t *rec, *bare;         /* the record; the same without body */
	size_t len, blen;
	uint8_t h[SL_HASH_LEN];
	uint8_t par[SL_MAX_PARENTS][SL_HASH_LEN];
	uint32_t np;
	int o;                       /* origin index */
	uint64_t seq, hlc;
	const char *type;
	int rec_of;                  /* the record it names, or -1 */
	enum erase erase;
	bool bad;                    /* refused, by both paths */
	int refuse;                  /* with this code */
	const char *what;            /* how it was made, for reports */
};

struct grec {
	uint8_t id[SL_ID_LEN];
	char kind;
	int mem[MAXEV];              /* the events that belong, in order */
	int n;
};

struct gorig {
	struct sl_key k;
	uint64_t seq, hlc;
	uint8_t tip[SL_HASH_LEN];
};

struct set {
	struct gev ev[MAXEV];
	int n;
	struct grec rec[MAXREC];
	int nrec;
	int adv[MAXEV];              /* adversarial events, held */
	int nadv;
	int other;                   /* an event of no record, or -1 */
	struct gorig o[NORIG];
	uint64_t seed;
	int order;                   /* the arrival order being checked */
};

static struct sl_key keys[NORIG];
static const char *const authors[NORIG] = { "anna", "bo", "cilla", "dag" };

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SL_HASH_LEN);
}

/* The index of the event with hash h, or -1. */
static int
ev_index(const struct set *s, const uint8_t *h)
{
	for (int i = 0; i < s->n; i++)
		if (memcmp(s->ev[i].h, h, SL_HASH_LEN) == 0)
			return i;
	return -1;
}

static void
describe(const struct set *s)
{
	print_message("set of seed %llu (SAMLOG_FOLD_SEED=%llu "
	    "SAMLOG_FOLD_SETS=1 replays it), order %d:\n",
	    (unsigned long long)s->seed, (unsigned long long)s->seed,
	    s->order);
	for (int r = 0; r < s->nrec; r++) {
		char id[SL_ID_TEXT + 1];

		sl_b32_encode(id, s->rec[r].id, SL_ID_LEN);
		print_message("  record R%d %c %s\n", r, s->rec[r].kind, id);
	}
	for (int i = 0; i < s->n; i++) {
		const struct gev *e = &s->ev[i];
		char par[160] = "";

		for (uint32_t k = 0; k < e->np; k++) {
			int j = ev_index(s, e->par[k]);
			size_t l = strlen(par);

			if (j >= 0)
				snprintf(par + l, sizeof par - l, " #%d", j);
			else
				snprintf(par + l, sizeof par - l, " ?");
		}
		print_message("  #%d o%d seq %llu clock +%llu.%llu %s R%d "
		    "parents [%s ]%s%s %s\n", i, e->o,
		    (unsigned long long)e->seq,
		    (unsigned long long)((e->hlc - CLOCK_BASE) >> 16),
		    (unsigned long long)((e->hlc - CLOCK_BASE) & 0xffff),
		    e->type, e->rec_of, par,
		    e->erase == ERASED_THEN_WHOLE ? " erased-then-whole" : "",
		    e->bad ? " refused" : "", e->what);
	}
}

static void
mismatch(const struct set *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mismatch(const struct set *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	describe(s);
	fail_msg("%s", msg);
}

/* A payload: n string pairs, keys given in ascending order. */
static size_t
payload(uint8_t *out, size_t cap, int n, ...)
{
	struct sl_buf b = { 0 };
	msgpack_packer pk;
	va_list ap;

	msgpack_packer_init(&pk, &b, sl_buf_write);
	msgpack_pack_map(&pk, (size_t)n);
	va_start(ap, n);
	for (int i = 0; i < 2 * n; i++)
		sl_pack_cstr(&pk, va_arg(ap, const char *));
	va_end(ap);
	assert_non_null(b.p);
	assert_true(b.len <= cap);
	memcpy(out, b.p, b.len);
	free(b.p);
	return b.len;
}

/*
 * Writes one event of origin o.  One to be refused (refuse: the code)
 * takes the origin's next seq without becoming its tip: the store
 * refuses it whatever comes around it.  SL_ESCHEMA: the content rules
 * must refuse it; SL_EPAYLOAD: its body is changed after it is hashed;
 * SL_ETRUNC: its record is cut short.  Parents are sorted and repeats
 * dropped.
 */
static int
forge(struct set *s, int o, const char *type, const uint8_t *entity,
    const uint8_t (*par)[SL_HASH_LEN], uint32_t np, const uint8_t *pl,
    size_t plen, uint64_t hlc, int rec_of, int refuse, const char *what)
{
	bool bad = refuse == SL_ESCHEMA;

	struct gorig *g = &s->o[o];
	struct gev *e = &s->ev[s->n];
	uint8_t salt[SL_SALT_LEN], ph[SL_HASH_LEN], hdr[SL_HEADER_MAX];
	uint8_t sig[SL_SIG_LEN];
	char why[200];
	size_t hl;

	assert_true(s->n < MAXEV);
	memset(e, 0, sizeof *e);
	for (uint32_t i = 0; i < np; i++)
		memcpy(e->par[i], par[i], SL_HASH_LEN);
	qsort(e->par, np, SL_HASH_LEN, hash_cmp);
	for (uint32_t i = 0; i < np; i++)
		if (e->np == 0 || memcmp(e->par[e->np - 1], e->par[i],
		    SL_HASH_LEN) != 0)
			memmove(e->par[e->np++], e->par[i], SL_HASH_LEN);

	struct sl_event_draft d = { .author = authors[o], .type = type,
		.entity = entity, .parents = (const uint8_t (*)[SL_HASH_LEN])
		e->par, .n_parents = e->np, .payload = pl,
		.payload_len = (uint32_t)plen };

	assert_int_equal(sl_draft_check(&d), SL_OK);
	/* What the store's content rules say must be what the set says. */
	if ((sl_schema_check_event(type, strlen(type), entity, e->np, pl, plen,
	    UINT64_MAX, why, sizeof why) != SL_OK) != bad)
		fail_msg("%s: the content rules %s it (%s)", what,
		    bad ? "accept" : "refuse", why);
	for (size_t i = 0; i < sizeof salt; i++)
		salt[i] = (uint8_t)rnd();
	sl_payload_hash(ph, salt, pl, plen);

	struct sl_header_in hi = { .origin = g->k.pub, .seq = g->seq + 1,
		.prev = g->seq > 0 ? g->tip : NULL, .hlc = hlc,
		.payload_hash = ph };

	hl = sl_header_encode(hdr, &d, &hi);
	sl_sha256(e->h, hdr, hl);
	sl_sign_hash(sig, &g->k, e->h);
	e->len = sl_record_size(hl, true, plen);
	e->blen = sl_record_size(hl, false, 0);
	e->rec = malloc(e->len);
	e->bare = malloc(e->blen);
	assert_non_null(e->rec);
	assert_non_null(e->bare);
	e->len = sl_record_encode(e->rec, hdr, hl, sig, salt, pl, plen);
	e->blen = sl_record_encode(e->bare, hdr, hl, sig, NULL, NULL, 0);
	e->o = o;
	e->seq = g->seq + 1;
	e->hlc = hlc;
	e->type = type;
	e->rec_of = rec_of;
	e->bad = refuse != SL_OK;
	e->refuse = refuse;
	e->what = what;
	if (refuse == SL_EPAYLOAD)
		e->rec[e->len - 1] ^= 1; /* the payload's last byte */
	else if (refuse == SL_ETRUNC)
		e->len--;
	if (!e->bad) {
		g->seq++;
		g->hlc = hlc;
		memcpy(g->tip, e->h, SL_HASH_LEN);
	}
	return s->n++;
}

/* The heads of record r as a writer that saw its first upto events
 * sees them; returns how many (at most SL_MAX_PARENTS). */
static uint32_t
heads_of(const struct set *s, const struct grec *r, int upto,
    uint8_t (*out)[SL_HASH_LEN], uint64_t *maxhlc)
{
	uint32_t n = 0;

	*maxhlc = 0;
	for (int i = 0; i < upto; i++) {
		const struct gev *e = &s->ev[r->mem[i]];
		bool named = false;

		for (int j = 0; j < upto && !named; j++) {
			const struct gev *c = &s->ev[r->mem[j]];

			for (uint32_t k = 0; k < c->np && !named; k++)
				named = memcmp(c->par[k], e->h, SL_HASH_LEN) == 0;
		}
		if (named || n == SL_MAX_PARENTS)
			continue;
		memcpy(out[n++], e->h, SL_HASH_LEN);
		if (e->hlc > *maxhlc)
			*maxhlc = e->hlc;
	}
	return n;
}

/* An honest clock for origin o writing after parents up to maxhlc. */
static uint64_t
next_clock(const struct set *s, int o, uint64_t maxhlc)
{
	static const uint64_t steps[] = { 1, 2, 1 << 16, 3 << 16 };
	uint64_t c = s->o[o].hlc > maxhlc ? s->o[o].hlc : maxhlc;

	return c + steps[rn(4)];
}

static const char *const names[] = { "Anna", "Bo", "Cilla" };
static const char *const roles[] = { "kassör", "ordförande" };
static const char *const emails[] = { "a@x.se", "b@x.se" };
static const char *const phones[] = { "08-1", "08-2" };

static int
create(struct set *s, int o)
{
	uint8_t pl[256];
	size_t n;
	const char *type;
	char kind;
	uint32_t k = rn(10);

	if (k < 5) {
		kind = 'c';
		type = "contact.created";
		n = chance(50) ? payload(pl, sizeof pl, 1, "name",
		    names[rn(3)]) : payload(pl, sizeof pl, 2, "name",
		    names[rn(3)], "role", roles[rn(2)]);
	} else if (k < 8) {
		kind = 'd';
		type = "decision.created";
		n = chance(50) ? payload(pl, sizeof pl, 2, "text", "Planen",
		    "title", "Plan") : payload(pl, sizeof pl, 3, "status",
		    "proposed", "text", "Planen", "title", "Plan");
	} else if (k < 9) {
		kind = 'o';
		type = "org.created";
		n = payload(pl, sizeof pl, 1, "name", "Värmekällan");
	} else {
		kind = 'm';
		type = "meeting.created";
		n = payload(pl, sizeof pl, 2, "date", "2024-01-02", "title",
		    "Möte");
	}
	struct grec *r = &s->rec[s->nrec];
	int i = forge(s, o, type, NULL, NULL, 0, pl, n,
	    next_clock(s, o, 0), s->nrec, SL_OK, "create");

	r->kind = kind;
	sl_entity_id(r->id, s->ev[i].h);
	r->mem[0] = i;
	r->n = 1;
	return s->nrec++;
}

/* An honest change of record r by origin o, which saw the record's
 * first upto events. */
static void
honest(struct set *s, int ri, int o, int upto, const char *what)
{
	struct grec *r = &s->rec[ri];
	uint8_t par[SL_MAX_PARENTS][SL_HASH_LEN], pl[256];
	uint64_t maxhlc;
	uint32_t np = heads_of(s, r, upto, par, &maxhlc);
	const char *type;
	size_t n;

	if (r->kind == 'c') {
		static const char *const fields[] = { "email", "name", "phone",
			"role" };
		struct sl_buf b = { 0 };
		msgpack_packer pk;
		unsigned pick = 1 + rn(15), nf = 0;

		type = "contact.updated";
		for (int i = 0; i < 4; i++)
			nf += (pick >> i) & 1;
		msgpack_packer_init(&pk, &b, sl_buf_write);
		msgpack_pack_map(&pk, nf);
		for (int i = 0; i < 4; i++) {
			if (!(pick & (1u << i)))
				continue;
			sl_pack_cstr(&pk, fields[i]);
			sl_pack_cstr(&pk, i == 0 ? emails[rn(2)] : i == 1 ?
			    names[rn(3)] : i == 2 ? phones[rn(2)] :
			    roles[rn(2)]);
		}
		assert_non_null(b.p);
		memcpy(pl, b.p, b.len);
		n = b.len;
		free(b.p);
	} else if (r->kind == 'd') {
		switch (rn(4)) {
		case 0:
			type = "decision.adopted";
			n = chance(50) ? payload(pl, sizeof pl, 1, "status",
			    "adopted") : payload(pl, sizeof pl, 2, "reason",
			    "Ja", "status", "adopted");
			break;
		case 1:
			type = "decision.rejected";
			n = payload(pl, sizeof pl, 2, "reason", "Nej",
			    "status", "rejected");
			break;
		case 2:
			type = "decision.amended";
			n = payload(pl, sizeof pl, 2, "status", "amended",
			    "text", chance(50) ? "Planen 2" : "Planen 3");
			break;
		default:
			type = "decision.revoked";
			n = payload(pl, sizeof pl, 1, "status", "revoked");
			break;
		}
	} else {
		return; /* orgs and meetings have no changes */
	}
	r->mem[r->n++] = forge(s, o, type, r->id,
	    (const uint8_t (*)[SL_HASH_LEN])par, np, pl, n,
	    next_clock(s, o, maxhlc), ri, SL_OK, what);
}

/* A decision step of type by origin o naming par. */
static int
step(struct set *s, int ri, int o, const char *type, const char *state,
    const uint8_t (*par)[SL_HASH_LEN], uint32_t np, uint64_t maxhlc,
    const char *what)
{
	struct grec *r = &s->rec[ri];
	uint8_t pl[64];
	size_t n = payload(pl, sizeof pl, 1, "status", state);
	int i = forge(s, o, type, r->id, par, np, pl, n,
	    next_clock(s, o, maxhlc), ri, SL_OK, what);

	r->mem[r->n++] = i;
	return i;
}

/* Two origins step a decision at once from the same heads: one adopts,
 * the other rejects. */
static void
clash(struct set *s, int ri)
{
	uint8_t par[SL_MAX_PARENTS][SL_HASH_LEN];
	uint64_t maxhlc;
	uint32_t np = heads_of(s, &s->rec[ri], s->rec[ri].n, par, &maxhlc);
	int a = (int)rn(NORIG), b = (a + 1 + (int)rn(NORIG - 1)) % NORIG;

	step(s, ri, a, "decision.adopted", "adopted",
	    (const uint8_t (*)[SL_HASH_LEN])par, np, maxhlc, "clash: adopt");
	step(s, ri, b, "decision.rejected", "rejected",
	    (const uint8_t (*)[SL_HASH_LEN])par, np, maxhlc, "clash: reject");
}

/* A step naming every head: after a clash, it re-states one branch. */
static void
resolve(struct set *s, int ri, int o)
{
	uint8_t par[SL_MAX_PARENTS][SL_HASH_LEN];
	uint64_t maxhlc;
	uint32_t np = heads_of(s, &s->rec[ri], s->rec[ri].n, par, &maxhlc);

	if (chance(50))
		step(s, ri, o, "decision.adopted", "adopted",
		    (const uint8_t (*)[SL_HASH_LEN])par, np, maxhlc,
		    "resolve: adopt");
	else
		step(s, ri, o, "decision.rejected", "rejected",
		    (const uint8_t (*)[SL_HASH_LEN])par, np, maxhlc,
		    "resolve: reject");
}

/*
 * An event that passes the content rules but not the fold's: some of
 * another kind's type, parents of another record, a clock not after a
 * parent, a parent nobody holds, an ignored or unfolded parent, a record
 * nobody created; alone or together.
 */
static void
adversarial(struct set *s, int o)
{
	uint8_t par[SL_MAX_PARENTS][SL_HASH_LEN], pl[128], id[SL_ID_LEN];
	uint32_t np = 0;
	uint64_t maxhlc = 0, hlc, m;
	int ri = (int)rn((uint32_t)s->nrec);
	struct grec *r = &s->rec[ri];
	const char *type, *what = "adversarial";
	size_t n;
	bool wrong_kind = chance(30), foreign = chance(35),
	    backdate = chance(35), missing = chance(20),
	    ignored = s->nadv > 0 && chance(30),
	    unfolded = s->other >= 0 && chance(15), nobody = chance(8);

	/* The origin whose clock is furthest behind can backdate most. */
	for (int k = 0; k < NORIG && backdate; k++)
		if (s->o[k].hlc < s->o[o].hlc)
			o = k;
	memcpy(id, r->id, SL_ID_LEN);
	if (nobody) {
		for (size_t i = 0; i < SL_ID_LEN; i++)
			id[i] = (uint8_t)rnd();
		ri = -1;
		what = "names a record nobody created";
	}
	/* Its record's heads, usually. */
	if (!foreign || chance(50))
		np = heads_of(s, r, r->n, par, &maxhlc);
	if (foreign) {
		const struct grec *f = &s->rec[rn((uint32_t)s->nrec)];
		uint8_t fp[SL_MAX_PARENTS][SL_HASH_LEN];
		uint32_t fn = heads_of(s, f, 1 + (int)rn((uint32_t)f->n), fp, &m);

		if (f != r && np < SL_MAX_PARENTS) {
			memcpy(par[np++], fp[rn(fn)], SL_HASH_LEN);
			if (m > maxhlc)
				maxhlc = m;
			what = "a parent of another record";
		}
	}
	if (missing && np < SL_MAX_PARENTS) {
		for (size_t i = 0; i < SL_HASH_LEN; i++)
			par[np][i] = (uint8_t)rnd();
		np++;
		what = "a parent nobody holds";
	}
	if (ignored && np < SL_MAX_PARENTS) {
		const struct gev *a = &s->ev[s->adv[rn((uint32_t)s->nadv)]];

		memcpy(par[np++], a->h, SL_HASH_LEN);
		if (a->hlc > maxhlc)
			maxhlc = a->hlc;
		what = "a child of an adversarial event";
	}
	if (unfolded && np < SL_MAX_PARENTS) {
		memcpy(par[np++], s->ev[s->other].h, SL_HASH_LEN);
		what = "a parent of no record";
	}
	if (np == 0) {
		/* Nothing chosen: a parent nobody holds. */
		for (size_t i = 0; i < SL_HASH_LEN; i++)
			par[np][i] = (uint8_t)rnd();
		np++;
	}
	hlc = next_clock(s, o, maxhlc);
	if (backdate && maxhlc > s->o[o].hlc) {
		/* Not after its latest parent, but after its origin's tip. */
		hlc = s->o[o].hlc + 1 + rnd() % (maxhlc - s->o[o].hlc);
		what = "a clock not after a parent";
	}
	if (wrong_kind)
		what = "a type of another kind";
	if ((r->kind == 'c') != wrong_kind) {
		type = "contact.updated";
		n = payload(pl, sizeof pl, 1, "phone", phones[rn(2)]);
	} else if (chance(50)) {
		type = "decision.adopted";
		n = payload(pl, sizeof pl, 1, "status", "adopted");
	} else {
		type = "decision.revoked";
		n = payload(pl, sizeof pl, 1, "status", "revoked");
	}
	s->adv[s->nadv++] = forge(s, o, type, id,
	    (const uint8_t (*)[SL_HASH_LEN])par, np, pl, n, hlc, ri, SL_OK,
	    what);
}

/* An event both paths refuse: one the content rules refuse, a body not
 * matching its hash, a record cut short. */
static void
malformed(struct set *s, int o)
{
	uint8_t par[SL_MAX_PARENTS][SL_HASH_LEN], pl[128];
	int ri = (int)rn((uint32_t)s->nrec);
	struct grec *r = &s->rec[ri];
	uint64_t maxhlc, hlc;
	uint32_t np = heads_of(s, r, r->n, par, &maxhlc);
	const uint8_t (*p)[SL_HASH_LEN] = (const uint8_t (*)[SL_HASH_LEN])par;
	size_t n;

	hlc = next_clock(s, o, maxhlc);
	switch (rn(10)) {
	case 0:
		n = payload(pl, sizeof pl, 1, "phone", "08-3");
		forge(s, o, "contact.updated", r->id, NULL, 0, pl, n, hlc, ri,
		    SL_ESCHEMA, "an update naming no parent");
		break;
	case 1:
		n = payload(pl, sizeof pl, 1, "name", "Dora");
		forge(s, o, "contact.created", NULL, p, np, pl, n, hlc, -1,
		    SL_ESCHEMA, "a creation naming parents");
		break;
	case 2:
		n = payload(pl, sizeof pl, 1, "name", "Dora");
		forge(s, o, "contact.created", r->id, NULL, 0, pl, n, hlc, -1,
		    SL_ESCHEMA, "a creation naming a record");
		break;
	case 3:
		n = payload(pl, sizeof pl, 1, "role", "kassör");
		forge(s, o, "contact.created", NULL, NULL, 0, pl, n, hlc, -1,
		    SL_ESCHEMA, "a creation without its required field");
		break;
	case 4:
		n = payload(pl, sizeof pl, 1, "email", "nope");
		forge(s, o, "contact.updated", r->id, p, np, pl, n, hlc, ri,
		    SL_ESCHEMA, "a value breaking its field's type");
		break;
	case 5:
		n = payload(pl, sizeof pl, 1, "status", "rejected");
		forge(s, o, "decision.adopted", r->id, p, np, pl, n, hlc, ri,
		    SL_ESCHEMA, "a state field naming another state");
		break;
	case 6:
		n = payload(pl, sizeof pl, 1, "title", "Ny");
		forge(s, o, "decision.adopted", r->id, p, np, pl, n, hlc, ri,
		    SL_ESCHEMA, "a field its type may not carry");
		break;
	case 7:
		pl[0] = 0xa3;
		memcpy(pl + 1, "abc", 3);
		forge(s, o, "contact.updated", r->id, p, np, pl, 4, hlc, ri,
		    SL_ESCHEMA, "a payload that is no map");
		break;
	case 8:
		n = payload(pl, sizeof pl, 1, "phone", "08-4");
		forge(s, o, "contact.updated", r->id, p, np, pl, n, hlc, ri,
		    SL_EPAYLOAD, "a body that does not match its hash");
		break;
	default:
		n = payload(pl, sizeof pl, 1, "phone", "08-5");
		forge(s, o, "contact.updated", r->id, p, np, pl, n, hlc, ri,
		    SL_ETRUNC, "a record cut short");
		break;
	}
}

/* An event of a type this version does not know: stored, not folded. */
static void
other(struct set *s, int o)
{
	uint8_t pl[32];
	size_t n = payload(pl, sizeof pl, 1, "note", "x");

	s->other = forge(s, o, "x.note", NULL, NULL, 0, pl, n,
	    next_clock(s, o, 0), -1, SL_OK, "no record event");
}

static void
set_free(struct set *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->ev[i].rec);
		free(s->ev[i].bare);
	}
}

static void
set_init(struct set *s, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	s->seed = seed;
	rs = seed;
	s->other = -1;
	for (int o = 0; o < NORIG; o++) {
		s->o[o].k = keys[o];
		s->o[o].hlc = CLOCK_BASE + ((uint64_t)rn(4) << 16);
	}
}

static void
generate(struct set *s, uint64_t seed)
{
	int steps;

	set_init(s, seed);
	steps = 12 + (int)rn(24);
	create(s, (int)rn(NORIG));
	create(s, (int)rn(NORIG));
	for (int i = 0; i < steps && s->n < MAXEV - 4; i++) {
		int o = (int)rn(NORIG), ri = (int)rn((uint32_t)s->nrec);
		struct grec *r = &s->rec[ri];
		uint32_t k = rn(100);

		if (k < 8 && s->nrec < MAXREC) {
			create(s, o);
		} else if (k < 45) {
			honest(s, ri, o, r->n, "honest");
		} else if (k < 55) {
			/* A writer that has not seen the latest events. */
			honest(s, ri, o, r->n - (int)rn((uint32_t)(r->n < 4 ?
			    r->n : 4)), "concurrent");
		} else if (k < 62 && r->kind == 'd') {
			clash(s, ri);
		} else if (k < 67 && r->kind == 'd') {
			resolve(s, ri, o);
		} else if (k < 87) {
			adversarial(s, o);
		} else if (k < 95) {
			malformed(s, o);
		} else {
			other(s, o);
		}
	}
	/* A relay's copy without its body: every node refuses it (no signed
	 * erasure says so), the checker folds it as the header it is, and
	 * the whole copy that follows restores the fields in both. */
	for (int i = 0; i < s->n; i++)
		if (!s->ev[i].bad && chance(12))
			s->ev[i].erase = ERASED_THEN_WHOLE;
}

/* ---- delivering ------------------------------------------------------------- */

/* What arrives: an event's first copy (erased or whole), a whole copy
 * after an erased one, or a refused event. */
struct item {
	int ev;
	bool whole;
};

/* A random arrival order keeping each origin's order; whole copies come
 * after their erased ones, refused events anywhere.  Returns the count. */
static int
arrival_order(const struct set *s, struct item *out)
{
	struct item pool[MAXEV];
	int npool = 0, n = 0, next[NORIG] = { 0 }, left = 0;

	for (int i = 0; i < s->n; i++) {
		if (s->ev[i].bad)
			pool[npool++] = (struct item){ i, true };
		else
			left++;
	}
	while (left > 0 || npool > 0) {
		if (npool > 0 && (left == 0 || chance(25))) {
			int k = (int)rn((uint32_t)npool);

			out[n++] = pool[k];
			pool[k] = pool[--npool];
			continue;
		}
		int o = (int)rn(NORIG), i;

		for (i = next[o]; i < s->n; i++)
			if (s->ev[i].o == o && !s->ev[i].bad)
				break;
		if (i == s->n)
			continue;
		next[o] = i + 1;
		left--;
		/* The stripped copy, refused, and then the whole one, before
		 * the origin's next event (which would otherwise be a gap). */
		if (s->ev[i].erase == ERASED_THEN_WHOLE)
			out[n++] = (struct item){ i, false };
		out[n++] = (struct item){ i, true };
	}
	return n;
}

/* The same copies in any order at all (the checker has no chains). */
static void
shuffle(struct item *it, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)rn((uint32_t)i + 1);
		struct item t = it[i];

		it[i] = it[j];
		it[j] = t;
	}
}

static void
copy_of(const struct set *s, const struct item *it, const uint8_t **rec,
    size_t *len)
{
	const struct gev *e = &s->ev[it->ev];

	*rec = it->whole ? e->rec : e->bare;
	*len = it->whole ? e->len : e->blen;
}

struct node {
	struct store *s;
	struct project *p;
	char *dir;
};

static void
node_open(struct node *n)
{
	char path[512], err[256];

	snprintf(path, sizeof path, "%s/s%d", tmp, stores_made++);
	if (store_open(&n->s, path, NULL, NULL, err, sizeof err) != SL_OK ||
	    project_open(&n->p, n->s, err, sizeof err) != SL_OK)
		fail_msg("open: %s", err);
	n->dir = strdup(path);
}

static void
node_close(struct node *n)
{
	project_close(n->p);
	store_close(n->s);
	tu_rmtree(n->dir);
}

/* The daemon path: one store_ingest per copy, as a peer sends them. */
static void
daemon_ingest(const struct set *s, struct node *n, const struct item *it,
    int ni)
{
	for (int i = 0; i < ni; i++) {
		const struct gev *e = &s->ev[it[i].ev];
		struct store_ingest_result r;
		const uint8_t *rec;
		size_t len;

		copy_of(s, &it[i], &rec, &len);
		store_ingest(n->s, &rec, &len, 1, &r);
		if (!it[i].whole ? r.code != SL_ESCHEMA :
		    e->bad ? r.code != e->refuse : r.code != SL_OK ||
		    r.added + r.restored != 1)
			mismatch(s, "ingest of #%d: %s (%s)", it[i].ev,
			    sl_strerror(r.code), r.reason);
	}
}

/* The checker path: the in-memory fold, fed the same copies.  It must
 * refuse what the daemon refuses, with the same code. */
static struct sl_fold_mem *
checker_fold(const struct set *s, const struct item *it, int ni)
{
	struct sl_fold_mem *m = sl_fold_mem_new();

	assert_non_null(m);
	for (int i = 0; i < ni; i++) {
		const uint8_t *rec;
		size_t len;
		int rc;

		copy_of(s, &it[i], &rec, &len);
		rc = sl_fold_mem_add(m, rec, len);
		if (rc != s->ev[it[i].ev].refuse)
			mismatch(s, "checker fold of #%d: %s", it[i].ev,
			    sl_strerror(rc));
	}
	return m;
}

/* ---- comparing -------------------------------------------------------------- */

static void
heads_cb(void *ctx, const uint8_t h[SL_HASH_LEN])
{
	struct {
		uint8_t h[64][SL_HASH_LEN];
		uint32_t n;
	} *acc = ctx;

	if (acc->n < 64)
		memcpy(acc->h[acc->n], h, SL_HASH_LEN);
	acc->n++;
}

static void
same_record(const struct set *s, struct node *n, MDB_txn *txn,
    struct sl_fold_mem *m, const uint8_t id[SL_ID_LEN])
{
	struct sl_rec a, b;
	char t[SL_ID_TEXT + 1];
	int ra = project_get(n->p, txn, id, &a);
	int rb = sl_fold_mem_record(m, id, &b);

	sl_b32_encode(t, id, SL_ID_LEN);
	if (ra != rb)
		mismatch(s, "record %s: daemon %s, checker %s", t,
		    sl_strerror(ra), sl_strerror(rb));
	if (ra != SL_OK)
		return;
	if (a.kind != b.kind)
		mismatch(s, "record %s: kind", t);
	if (a.c_hlc != b.c_hlc || a.u_hlc != b.u_hlc)
		mismatch(s, "record %s: created or updated clock", t);
	if (memcmp(a.c_origin, b.c_origin, SL_KEY_LEN) != 0 ||
	    strcmp(a.c_author, b.c_author) != 0)
		mismatch(s, "record %s: creator", t);
	if (a.nheads != b.nheads)
		mismatch(s, "record %s: %u heads in the daemon, %u in the "
		    "checker", t, a.nheads, b.nheads);
	if (a.state != b.state)
		mismatch(s, "record %s: state %s in the daemon, %s in the "
		    "checker", t, sl_schema_state_name(a.kind, a.state),
		    sl_schema_state_name(b.kind, b.state));
	if (a.w_hlc != b.w_hlc || memcmp(a.w_origin, b.w_origin,
	    SL_KEY_LEN) != 0)
		mismatch(s, "record %s: winning head", t);
	for (uint32_t i = 0; i < SL_SCHEMA_MAX_FIELDS; i++) {
		const struct sl_recfield *x = &a.f[i], *y = &b.f[i];
		const char *f = i < a.kind->nfields ? a.kind->fields[i].name :
		    "?";

		if ((x->val == NULL) != (y->val == NULL))
			mismatch(s, "record %s: field %s %s in the daemon "
			    "only", t, f, x->val ? "set" : "unset");
		if (x->val == NULL)
			continue;
		if (x->len != y->len || memcmp(x->val, y->val, x->len) != 0 ||
		    x->hlc != y->hlc || memcmp(x->origin, y->origin,
		    SL_KEY_LEN) != 0)
			mismatch(s, "record %s: field %s differs", t, f);
	}
	/* The heads themselves. */
	struct {
		uint8_t h[64][SL_HASH_LEN];
		uint32_t n;
	} hm = { .n = 0 };
	uint8_t hd[64][SL_HASH_LEN];
	uint32_t nd = project_heads(n->p, txn, id, hd, 64);

	sl_fold_mem_heads(m, id, heads_cb, &hm);
	if (nd != hm.n || nd > 64)
		mismatch(s, "record %s: %u heads listed by the daemon, %u by "
		    "the checker", t, nd, hm.n);
	qsort(hd, nd, SL_HASH_LEN, hash_cmp);
	qsort(hm.h, nd, SL_HASH_LEN, hash_cmp);
	if (nd > 0 && memcmp(hd, hm.h, (size_t)nd * SL_HASH_LEN) != 0)
		mismatch(s, "record %s: the heads differ", t);
	sl_rec_free(&a);
	sl_rec_free(&b);
}

static void
same_verdicts(const struct set *s, struct node *n, MDB_txn *txn,
    struct sl_fold_mem *m)
{
	for (int i = 0; i < s->n; i++) {
		struct sl_evmeta a, b;
		uint8_t ea[SL_EVMETA_LEN], eb[SL_EVMETA_LEN];
		int ra = project_meta(n->p, txn, s->ev[i].h, &a);
		int rb = sl_fold_mem_meta(m, s->ev[i].h, &b);

		if (ra != rb)
			mismatch(s, "event #%d: daemon %s, checker %s", i,
			    sl_strerror(ra), sl_strerror(rb));
		if (ra != SL_OK)
			continue;
		if (a.status != b.status || a.why != b.why ||
		    a.state != b.state)
			mismatch(s, "event #%d: daemon %s (%s) state %u, "
			    "checker %s (%s) state %u", i,
			    sl_fold_status_name(a.status), sl_fold_why(a.why),
			    a.state, sl_fold_status_name(b.status),
			    sl_fold_why(b.why), b.state);
		sl_evmeta_encode(ea, &a);
		sl_evmeta_encode(eb, &b);
		if (memcmp(ea, eb, sizeof ea) != 0)
			mismatch(s, "event #%d: the verdicts' bytes differ", i);
	}
}

/* Every record either path could know, and every event's verdict. */
static void
same_state(const struct set *s, struct node *n, struct sl_fold_mem *m)
{
	MDB_txn *txn;

	assert_int_equal(store_read_begin(n->s, &txn), SL_OK);
	for (int r = 0; r < s->nrec; r++)
		same_record(s, n, txn, m, s->rec[r].id);
	for (int i = 0; i < s->n; i++) {
		struct sl_event ev;
		uint8_t id[SL_ID_LEN];
		const struct sl_evtype *et;

		assert_int_equal(sl_event_decode(&ev, s->ev[i].bare,
		    s->ev[i].blen), SL_OK);
		if (sl_fold_target(&ev, s->ev[i].h, id, &et))
			same_record(s, n, txn, m, id);
	}
	same_verdicts(s, n, txn, m);
	mdb_txn_abort(txn);
}

static void
dump_cb(void *ctx, const void *k, size_t kl, const void *v, size_t vl)
{
	uint8_t *acc = ctx, buf[SL_HASH_LEN * 2];

	memcpy(buf, acc, SL_HASH_LEN);
	sl_sha256_2(buf + SL_HASH_LEN, k, kl, v, vl);
	sl_sha256(acc, buf, sizeof buf);
}

static void
digest(struct node *n, uint8_t out[SL_HASH_LEN])
{
	memset(out, 0, SL_HASH_LEN);
	assert_int_equal(project_dump(n->p, dump_cb, out), SL_OK);
}

/* One set through both paths in ORDERS arrival orders. */
static void
check_set(struct set *s)
{
	struct item it[2 * MAXEV], cit[2 * MAXEV];
	uint8_t first[SL_HASH_LEN], d[SL_HASH_LEN];

	for (s->order = 0; s->order < ORDERS; s->order++) {
		struct node n;
		struct sl_fold_mem *m;
		int ni = arrival_order(s, it);
		char err[256];
		uint64_t events;

		memcpy(cit, it, sizeof it[0] * (size_t)ni);
		shuffle(cit, ni);
		node_open(&n);
		daemon_ingest(s, &n, it, ni);
		m = checker_fold(s, cit, ni);
		same_state(s, &n, m);
		for (int i = 0; i < s->n && s->order == 0; i++) {
			struct sl_evmeta v;

			if (sl_fold_mem_meta(m, s->ev[i].h, &v) == SL_OK &&
			    v.status < SL_EV_STATUS_COUNT && v.why < SL_WHY_COUNT)
				tally[v.status][v.why]++;
		}
		digest(&n, d);
		if (s->order == 0)
			memcpy(first, d, sizeof d);
		else if (memcmp(first, d, sizeof d) != 0)
			mismatch(s, "the projections' bytes differ from those "
			    "of order 0");
		/* Every other order rebuilds the index in batches of a
		 * few records each. */
		project_test_rebuild_batch(s->order % 2 ? 100 : 0);
		if (project_rebuild(n.p, &events, err, sizeof err) != SL_OK)
			mismatch(s, "rebuild: %s", err);
		project_test_rebuild_batch(0);
		digest(&n, d);
		if (memcmp(first, d, sizeof d) != 0)
			mismatch(s, "the projections' bytes differ after a "
			    "rebuild");
		same_state(s, &n, m);
		sl_fold_mem_free(m);
		node_close(&n);
	}
}

static void
test_random_sets(void **state)
{
	const char *e = getenv("SAMLOG_FOLD_SEED");
	const char *c = getenv("SAMLOG_FOLD_SETS");
	uint64_t seed = e != NULL && *e ? strtoull(e, NULL, 10) :
	    sl_now_ms();
	int sets = c != NULL && *c ? atoi(c) : 300;
	static struct set s;
	int events = 0, refused = 0, adv = 0, erased = 0;

	(void)state;
	print_message("fold seed %llu (SAMLOG_FOLD_SEED replays), %d sets\n",
	    (unsigned long long)seed, sets);
	for (int i = 0; i < sets; i++) {
		generate(&s, seed + (uint64_t)i);
		for (int k = 0; k < s.n; k++) {
			refused += s.ev[k].bad;
			erased += s.ev[k].erase != WHOLE;
		}
		events += s.n;
		adv += s.nadv;
		check_set(&s);
		set_free(&s);
	}
	print_message("%d events (%d adversarial, %d refused, %d erased) in "
	    "%d arrival orders each; verdicts:\n", events, adv, refused, erased,
	    ORDERS);
	for (int st = 0; st < SL_EV_STATUS_COUNT; st++)
		for (int w = 0; w < SL_WHY_COUNT; w++)
			if (tally[st][w] > 0)
				print_message("  %6d %s%s%s\n", tally[st][w],
				    sl_fold_status_name(st), w ? ": " : "",
				    w ? sl_fold_why(w) : "");
}

/* ---- histories that once differed ------------------------------------------ */

#define FULL_N 4000

/* A log's records, copied. */
struct records {
	uint8_t *rec[FULL_N];
	size_t len[FULL_N];
	size_t n;
};

static int
collect_all(void *ctx, uint64_t arrival, const uint8_t *rec, size_t len)
{
	struct records *all = ctx;

	(void)arrival;
	if (all->n == FULL_N || (all->rec[all->n] = malloc(len)) == NULL)
		return 1;
	memcpy(all->rec[all->n], rec, len);
	all->len[all->n++] = len;
	return 0;
}

#define AT(ms) (CLOCK_BASE + ((uint64_t)(ms) << 16))

/* The events of s in the given order (whole copies) through both paths,
 * which must agree; v receives the verdict on event ev, d the
 * projections' digest. */
static void
replay(struct set *s, const int *order, int n, int ev, struct sl_evmeta *v,
    uint8_t d[SL_HASH_LEN])
{
	struct item it[MAXEV];
	struct node nd;
	struct sl_fold_mem *m;

	for (int i = 0; i < n; i++)
		it[i] = (struct item){ order[i], true };
	node_open(&nd);
	daemon_ingest(s, &nd, it, n);
	m = checker_fold(s, it, n);
	same_state(s, &nd, m);
	assert_int_equal(sl_fold_mem_meta(m, s->ev[ev].h, v), SL_OK);
	digest(&nd, d);
	sl_fold_mem_free(m);
	node_close(&nd);
}

/*
 * An event of contact C naming C's creation, which is later than the
 * event (a clock not after a parent), and decision D's creation (a
 * parent of another record).  It was ignored "not later than its
 * parents" when it came before D's creation and "a parent is not of
 * this record" when after: a verdict reached on part of the parents.
 * Now it waits for all of them, whatever the order.
 */
static void
test_why_of_all_parents(void **state)
{
	static struct set s;
	uint8_t pl[64], par[2][SL_HASH_LEN], d1[SL_HASH_LEN], d2[SL_HASH_LEN];
	struct sl_evmeta v1, v2;
	size_t n;
	int c, d, x;

	(void)state;
	set_init(&s, 1);
	n = payload(pl, sizeof pl, 1, "name", "Anna");
	c = forge(&s, 0, "contact.created", NULL, NULL, 0, pl, n, AT(5), 0,
	    SL_OK, "create C");
	n = payload(pl, sizeof pl, 2, "text", "Planen", "title", "Plan");
	d = forge(&s, 1, "decision.created", NULL, NULL, 0, pl, n, AT(1), 1,
	    SL_OK, "create D");
	memcpy(par[0], s.ev[c].h, SL_HASH_LEN);
	memcpy(par[1], s.ev[d].h, SL_HASH_LEN);
	n = payload(pl, sizeof pl, 1, "phone", "08-1");
	x = forge(&s, 2, "contact.updated", s.ev[c].h,
	    (const uint8_t (*)[SL_HASH_LEN])par, 2, pl, n, AT(3), 0, SL_OK,
	    "before C, and naming D");
	s.nrec = 2;
	sl_entity_id(s.rec[0].id, s.ev[c].h);
	sl_entity_id(s.rec[1].id, s.ev[d].h);
	replay(&s, (const int[]){ c, x, d }, 3, x, &v1, d1);
	replay(&s, (const int[]){ c, d, x }, 3, x, &v2, d2);
	assert_int_equal(v1.status, SL_EV_IGNORED);
	assert_int_equal(v1.why, SL_WHY_FOREIGN);
	assert_int_equal(v2.status, SL_EV_IGNORED);
	assert_int_equal(v2.why, SL_WHY_FOREIGN);
	assert_memory_equal(d1, d2, SL_HASH_LEN);
	set_free(&s);
}

/*
 * An event of decision D naming D's creation and P, an event of contact
 * C that waits for good (its parent nobody holds).  It was ignored when
 * P came first (a held parent of another record settled it at once) and
 * pending for good when P came after it (P, pending itself, woke
 * nobody).  Now P settles it when P arrives, in either order.
 */
static void
test_pending_parent_of_another_record(void **state)
{
	static struct set s;
	uint8_t pl[64], par[2][SL_HASH_LEN], d1[SL_HASH_LEN], d2[SL_HASH_LEN];
	struct sl_evmeta v1, v2;
	size_t n;
	int c, d, p, x;

	(void)state;
	set_init(&s, 2);
	n = payload(pl, sizeof pl, 1, "name", "Anna");
	c = forge(&s, 0, "contact.created", NULL, NULL, 0, pl, n, AT(1), 0,
	    SL_OK, "create C");
	n = payload(pl, sizeof pl, 2, "text", "Planen", "title", "Plan");
	d = forge(&s, 1, "decision.created", NULL, NULL, 0, pl, n, AT(1), 1,
	    SL_OK, "create D");
	memset(par[0], 0x5a, SL_HASH_LEN);
	n = payload(pl, sizeof pl, 1, "phone", "08-1");
	p = forge(&s, 2, "contact.updated", s.ev[c].h,
	    (const uint8_t (*)[SL_HASH_LEN])par, 1, pl, n, AT(2), 0, SL_OK,
	    "P: naming a parent nobody holds");
	memcpy(par[0], s.ev[d].h, SL_HASH_LEN);
	memcpy(par[1], s.ev[p].h, SL_HASH_LEN);
	n = payload(pl, sizeof pl, 1, "status", "adopted");
	x = forge(&s, 3, "decision.adopted", s.ev[d].h,
	    (const uint8_t (*)[SL_HASH_LEN])par, 2, pl, n, AT(3), 1, SL_OK,
	    "naming D and P");
	s.nrec = 2;
	sl_entity_id(s.rec[0].id, s.ev[c].h);
	sl_entity_id(s.rec[1].id, s.ev[d].h);
	replay(&s, (const int[]){ c, d, p, x }, 4, x, &v1, d1);
	replay(&s, (const int[]){ c, d, x, p }, 4, x, &v2, d2);
	assert_int_equal(v1.status, SL_EV_IGNORED);
	assert_int_equal(v1.why, SL_WHY_FOREIGN);
	assert_int_equal(v2.status, SL_EV_IGNORED);
	assert_int_equal(v2.why, SL_WHY_FOREIGN);
	assert_memory_equal(d1, d2, SL_HASH_LEN);
	set_free(&s);
}

/*
 * A creation without its required field: a node refuses it at ingest,
 * and the checker folded it into a record no node has.  Now both refuse
 * it (replay's checks), and neither has the record.
 */
static void
test_checker_refuses_what_nodes_refuse(void **state)
{
	static struct set s;
	uint8_t pl[64], d1[SL_HASH_LEN];
	struct sl_evmeta v;
	struct sl_fold_mem *m;
	struct sl_rec r;
	size_t n;
	int c, x;

	(void)state;
	set_init(&s, 3);
	n = payload(pl, sizeof pl, 1, "name", "Anna");
	c = forge(&s, 0, "contact.created", NULL, NULL, 0, pl, n, AT(1), 0,
	    SL_OK, "create C");
	n = payload(pl, sizeof pl, 1, "role", "kassör");
	x = forge(&s, 1, "contact.created", NULL, NULL, 0, pl, n, AT(2), -1,
	    SL_ESCHEMA, "a creation without a name");
	s.nrec = 1;
	sl_entity_id(s.rec[0].id, s.ev[c].h);
	replay(&s, (const int[]){ x, c }, 2, c, &v, d1);
	assert_non_null(m = sl_fold_mem_new());
	assert_int_equal(sl_fold_mem_add(m, s.ev[x].rec, s.ev[x].len),
	    SL_ESCHEMA);
	sl_entity_id(s.rec[0].id, s.ev[x].h);
	assert_int_equal(sl_fold_mem_record(m, s.rec[0].id, &r), SL_ENOENT);
	sl_fold_mem_free(m);
	set_free(&s);
}

/*
 * A map that fills while the fold writes: the store must grow it and
 * replay, on a local append, an ingest and a rebuild.  The fold's LMDB
 * backend reported MDB_MAP_FULL as a damaged store, which stopped every
 * write once the projections had filled the first map.
 */
static void
test_map_full_during_fold(void **state)
{
	enum { N = FULL_N, BATCH = 100 };
	struct store_options opt = { .initial_map = 1 << 20 };
	static struct sl_event_draft d[BATCH];
	static uint8_t pl[BATCH][32];
	struct store *a, *b;
	struct project *pa, *pb;
	struct store_ingest_result r;
	char path[512], err[256];
	uint64_t events;
	size_t first;

	(void)state;
	snprintf(path, sizeof path, "%s/full-a", tmp);
	if (store_open(&a, path, &keys[0], &opt, err, sizeof err) != SL_OK ||
	    project_open(&pa, a, err, sizeof err) != SL_OK)
		fail_msg("open: %s", err);
	first = store_map_size(a);
	for (int done = 0; done < N; done += BATCH) {
		for (int i = 0; i < BATCH; i++) {
			char name[24];

			snprintf(name, sizeof name, "Kontakt %d", done + i);
			d[i] = (struct sl_event_draft){ .author = "t",
				.type = "contact.created", .payload = pl[i],
				.payload_len = (uint32_t)payload(pl[i],
				sizeof pl[i], 1, "name", name) };
		}
		if (store_append(a, d, BATCH, NULL, err, sizeof err) != SL_OK)
			fail_msg("append at %d: %s", done, err);
	}
	assert_true(store_map_size(a) >= 4 * first);

	/* The same events into a node without projections, then with. */
	struct records *all = calloc(1, sizeof *all);

	assert_non_null(all);
	assert_int_equal(store_scan(a, 0, collect_all, all), SL_OK);
	assert_int_equal(all->n, N);
	snprintf(path, sizeof path, "%s/full-b", tmp);
	if (store_open(&b, path, NULL, &opt, err, sizeof err) != SL_OK)
		fail_msg("open: %s", err);
	for (size_t i = 0; i < N; i += BATCH)
		if (store_ingest(b, (const uint8_t *const *)all->rec + i,
		    all->len + i, BATCH, &r) != SL_OK)
			fail_msg("ingest: %s", r.reason);
	store_close(b);
	/* Its first opening with projections rebuilds them. */
	if (store_open(&b, path, NULL, &opt, err, sizeof err) != SL_OK ||
	    project_open(&pb, b, err, sizeof err) != SL_OK)
		fail_msg("open and rebuild: %s", err);
	project_close(pb);
	store_close(b);
	/* And an ingest that folds as it goes. */
	snprintf(path, sizeof path, "%s/full-c", tmp);
	if (store_open(&b, path, NULL, &opt, err, sizeof err) != SL_OK ||
	    project_open(&pb, b, err, sizeof err) != SL_OK)
		fail_msg("open: %s", err);
	for (size_t i = 0; i < N; i += BATCH)
		if (store_ingest(b, (const uint8_t *const *)all->rec + i,
		    all->len + i, BATCH, &r) != SL_OK)
			fail_msg("ingest and fold: %s", r.reason);
	assert_int_equal(project_rebuild(pb, &events, err, sizeof err), SL_OK);
	assert_int_equal(events, N);
	for (size_t i = 0; i < all->n; i++)
		free(all->rec[i]);
	free(all);
	project_close(pb);
	store_close(b);
	project_close(pa);
	store_close(a);
}

static int
setup(void **state)
{
	uint8_t seed[SL_SEED_LEN];

	(void)state;
	/* Scratch stores, thousands of commits: on a RAM file system when
	 * there is one, where a durable commit costs nothing. */
	if (getenv("TMPDIR") == NULL && access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 1);
	tmp = tu_tmpdir();
	for (int o = 0; o < NORIG; o++) {
		memset(seed, 21 + o, sizeof seed);
		sl_key_from_seed(&keys[o], seed);
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tu_rmtree(tmp);
	return 0;
}

/*
 * A record's stored bytes leave out what repeats its creating event (a
 * field it last wrote; a winning head of the same origin), and decode to
 * the same record; the longer form, which stores before the short one
 * hold, decodes too.
 */
static void
test_record_encoding(void **state)
{
	struct sl_rec r, back;
	struct sl_buf g = { 0 };
	const struct sl_kind *k = sl_schema_kind("contact");
	uint8_t name[] = { 0xa4, 'A', 'n', 'n', 'a' };
	uint8_t role[] = { 0xa4, 'c', 'h', 'e', 'f' };
	size_t whole = 0;

	(void)state;
	assert_non_null(k);
	for (int pass = 0; pass < 3; pass++) {
		memset(&r, 0, sizeof r);
		memset(r.id, 7, sizeof r.id);
		r.kind = k;
		r.c_hlc = 1000;
		r.u_hlc = 2000;
		r.c_eff = 20260101;
		r.w_eff = 20260301;
		memset(r.c_origin, 1, SL_KEY_LEN);
		snprintf(r.c_author, sizeof r.c_author, "anna");
		r.nheads = 1;
		r.w_hlc = 2000;
		/* pass 0: all from the creation; 1: the role changed by
		 * another origin; 2: the role changed by the same origin on
		 * another day */
		memset(r.w_origin, pass == 1 ? 2 : 1, SL_KEY_LEN);
		r.f[0] = (struct sl_recfield){ .val = malloc(sizeof name),
			.len = sizeof name, .eff = r.c_eff, .hlc = r.c_hlc };
		memcpy(r.f[0].val, name, sizeof name);
		memcpy(r.f[0].origin, r.c_origin, SL_KEY_LEN);
		r.f[2] = (struct sl_recfield){ .val = malloc(sizeof role),
			.len = sizeof role, .eff = pass ? 20260301 : r.c_eff,
			.hlc = pass ? 2000 : r.c_hlc };
		memcpy(r.f[2].val, role, sizeof role);
		memcpy(r.f[2].origin, pass == 1 ? r.w_origin : r.c_origin,
		    SL_KEY_LEN);
		assert_int_equal(sl_rec_encode(&r, &g), SL_OK);
		if (pass == 0)
			whole = g.len;
		else
			assert_true(g.len > whole);
		assert_int_equal(sl_rec_decode(&back, r.id, g.p, g.len), SL_OK);
		assert_ptr_equal(back.kind, r.kind);
		assert_memory_equal(back.w_origin, r.w_origin, SL_KEY_LEN);
		assert_memory_equal(back.c_origin, r.c_origin, SL_KEY_LEN);
		assert_string_equal(back.c_author, r.c_author);
		for (uint32_t i = 0; i < SL_SCHEMA_MAX_FIELDS; i++) {
			assert_int_equal(back.f[i].len, r.f[i].len);
			if (r.f[i].val == NULL) {
				assert_null(back.f[i].val);
				continue;
			}
			assert_memory_equal(back.f[i].val, r.f[i].val, r.f[i].len);
			assert_int_equal(back.f[i].eff, r.f[i].eff);
			assert_int_equal(back.f[i].hlc, r.f[i].hlc);
			assert_memory_equal(back.f[i].origin, r.f[i].origin,
			    SL_KEY_LEN);
		}
		sl_rec_free(&back);
		sl_rec_free(&r);
	}
	/* Two fields and no repeated origins: well under half the ~190
	 * bytes of the long form. */
	assert_true(whole < 90);

	/* The long form, as stores before the short one hold it. */
	msgpack_packer pk;
	uint8_t o1[SL_KEY_LEN], o2[SL_KEY_LEN];

	memset(o1, 1, sizeof o1);
	memset(o2, 2, sizeof o2);
	g.len = 0;
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_array(&pk, 12);
	sl_pack_str(&pk, "c", 1);
	msgpack_pack_uint64(&pk, 1000);
	msgpack_pack_uint32(&pk, 20260101);
	msgpack_pack_uint32(&pk, 20260101);
	sl_pack_bin(&pk, o1, SL_KEY_LEN);
	sl_pack_cstr(&pk, "anna");
	msgpack_pack_uint64(&pk, 1000);
	msgpack_pack_uint32(&pk, 1);
	msgpack_pack_uint8(&pk, 0);
	msgpack_pack_uint64(&pk, 1000);
	sl_pack_bin(&pk, o1, SL_KEY_LEN);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint32(&pk, 0);
	sl_buf_write(&g, (const char *)name, sizeof name);
	msgpack_pack_uint32(&pk, 20260101);
	msgpack_pack_uint64(&pk, 1000);
	sl_pack_bin(&pk, o2, SL_KEY_LEN);
	assert_int_equal(sl_rec_decode(&back, r.id, g.p, g.len), SL_OK);
	assert_memory_equal(back.f[0].val, name, sizeof name);
	assert_memory_equal(back.f[0].origin, o2, SL_KEY_LEN);
	assert_memory_equal(back.w_origin, o1, SL_KEY_LEN);
	sl_rec_free(&back);
	/* A field of three parts is neither form. */
	uint8_t *five = memmem(g.p, g.len, "\x91\x95", 2);

	assert_non_null(five);
	five[1] = 0x93;
	assert_int_not_equal(sl_rec_decode(&back, r.id, g.p, g.len), SL_OK);
	free(g.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_sets),
		cmocka_unit_test(test_why_of_all_parents),
		cmocka_unit_test(test_pending_parent_of_another_record),
		cmocka_unit_test(test_checker_refuses_what_nodes_refuse),
		cmocka_unit_test(test_map_full_during_fold),
		cmocka_unit_test(test_record_encoding),
	};

	if (sl_crypto_init() != 0)
		return 1;
	int rc = cmocka_run_group_tests_name("fold", tests, setup, teardown);

	sl_crypto_shutdown();
	return rc;
}
