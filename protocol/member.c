/*
 * member.c - who the federation's members are, from the log alone.
 *
 * Membership is not a node's config: it is what the membership events
 * in the log say (PROTOCOL.md 12.1), so every node that holds the same
 * events derives the same members, and a node told of one member learns
 * of the others through that member's events.
 *
 * The rule, over the membership events a node holds:
 *
 *   - the anchor (the node's own organisation) is a member;
 *   - an organisation admitted (member.admitted) by an event that counts
 *     is a member: the closure from the anchor over admissions, so the
 *     result does not depend on the order in which admissions arrive;
 *   - an event counts if its origin's organisation is a member and it
 *     is not after that organisation's cut-off;
 *   - a retirement (member.retired) that counts sets the retired
 *     organisation's cut-off to the seq it names (the lowest such seq):
 *     its events after that seq no longer count, on any node.  Since a
 *     retirement can cut the events of the organisation that retired
 *     another, retirements are applied in (hlc, origin, seq) order, each
 *     against the cut-offs before it, and the closure and the cut-offs
 *     are recomputed until neither changes;
 *   - names: the first admission that counts and names it gives an
 *     organisation its name, and only its own member.renamed changes it afterwards; a
 *     name another member holds at that point is not given (the
 *     organisation is shown by its key's fingerprint instead).
 *
 * Membership events are few (one or two per organisation), so the whole
 * set is recomputed whenever one is added.
 */
#include <stdlib.h>
#include <string.h>

#include "samlog_proto.h"

static int
key_cmp(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, SL_KEY_LEN);
}

static int
mev_cmp(const void *pa, const void *pb)
{
	const struct sl_mev *a = pa, *b = pb;
	int c;

	if (a->hlc != b->hlc)
		return a->hlc < b->hlc ? -1 : 1;
	if ((c = key_cmp(a->origin, b->origin)) != 0)
		return c;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

int
sl_mev_decode(const struct sl_event *ev, struct sl_mev *out)
{
	static const struct {
		const char *type;
		enum sl_mev_type t;
	} types[] = { { "member.admitted", SL_MEV_ADMIT },
		{ "member.retired", SL_MEV_RETIRE },
		{ "member.renamed", SL_MEV_RENAME } };
	struct sl_mp m;
	uint32_t n;
	bool have_org = false;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strlen(types[i].type) == ev->type_len &&
		    memcmp(types[i].type, ev->type, ev->type_len) == 0)
			out->type = types[i].t;
	if (out->type == 0)
		return SL_ENOENT;
	memcpy(out->origin, ev->origin, SL_KEY_LEN);
	out->seq = ev->seq;
	out->hlc = ev->hlc;
	/* The content rules (schema.c) have checked the payload; an erased
	 * one says nothing. */
	if (ev->payload == NULL)
		return SL_EINVAL;
	sl_mp_init(&m, ev->payload, ev->payload_len);
	if (sl_mp_read_map(&m, &n, 256) != SL_OK)
		return SL_EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *s;
		uint32_t kl, sn;

		if (sl_mp_read_str(&m, &k, &kl, 0, SL_FIELD_NAME_MAX) != SL_OK)
			return SL_EINVAL;
		if (kl == 3 && memcmp(k, "org", 3) == 0) {
			char t[SL_NODE_ID_TEXT + 1];

			if (sl_mp_read_str(&m, &s, &sn, 0, SL_NODE_ID_TEXT) !=
			    SL_OK || sn != SL_NODE_ID_TEXT)
				return SL_EINVAL;
			memcpy(t, s, sn);
			t[sn] = '\0';
			if (!sl_b32_decode(out->org, SL_KEY_LEN, t))
				return SL_EINVAL;
			have_org = true;
		} else if (kl == 4 && memcmp(k, "name", 4) == 0) {
			if (sl_mp_read_str(&m, &s, &sn, 0, SL_ORG_MAX) != SL_OK)
				return SL_EINVAL;
			memcpy(out->name, s, sn);
			out->name[sn] = '\0';
		} else if (kl == 4 && memcmp(k, "upto", 4) == 0) {
			if (sl_mp_read_uint(&m, &out->upto) != SL_OK)
				return SL_EINVAL;
		} else if (sl_mp_skip(&m, NULL, NULL) != SL_OK) {
			return SL_EINVAL;
		}
	}
	if (!have_org)
		return SL_EINVAL;
	return SL_OK;
}

void
sl_members_init(struct sl_members *ms, const uint8_t anchor[SL_KEY_LEN])
{
	memset(ms, 0, sizeof *ms);
	memcpy(ms->anchor, anchor, SL_KEY_LEN);
	sl_members_settle(ms);
}

void
sl_members_free(struct sl_members *ms)
{
	free(ms->ev);
	free(ms->m);
	free(ms->names);
	memset(ms, 0, sizeof *ms);
}

int
sl_members_add(struct sl_members *ms, const struct sl_mev *e)
{
	for (size_t i = 0; i < ms->nev; i++)
		if (ms->ev[i].seq == e->seq &&
		    key_cmp(ms->ev[i].origin, e->origin) == 0)
			return SL_OK; /* held already */
	if (ms->nev == ms->cap) {
		size_t cap = ms->cap ? ms->cap * 2 : 16;
		struct sl_mev *n = realloc(ms->ev, cap * sizeof *n);

		if (n == NULL)
			return SL_ENOMEM;
		ms->ev = n;
		ms->cap = cap;
	}
	ms->ev[ms->nev++] = *e;
	ms->dirty = true;
	ms->nretire += e->type == SL_MEV_RETIRE;
	return SL_OK;
}

static const char *current(const struct sl_members *ms,
    const uint8_t org[SL_KEY_LEN]);
static size_t first_name(const struct sl_members *ms,
    const uint8_t org[SL_KEY_LEN]);
static int contest(struct sl_members *ms);

static int
member_cmp(const void *a, const void *b)
{
	return key_cmp(((const struct sl_member *)a)->org,
	    ((const struct sl_member *)b)->org);
}

/* The entry of org (ms->m is sorted by key once settling has begun). */
static struct sl_member *
find(const struct sl_members *ms, const uint8_t org[SL_KEY_LEN])
{
	size_t lo = 0, hi = ms->nm;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(ms->m[mid].org, org);

		if (c == 0)
			return &ms->m[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
push_key(struct sl_members *ms, const uint8_t org[SL_KEY_LEN])
{
	if (ms->nm == ms->mcap) {
		size_t cap = ms->mcap ? ms->mcap * 2 : 16;
		struct sl_member *n = realloc(ms->m, cap * sizeof *n);

		if (n == NULL)
			return SL_ENOMEM;
		ms->m = n;
		ms->mcap = cap;
	}
	memset(&ms->m[ms->nm], 0, sizeof ms->m[0]);
	memcpy(ms->m[ms->nm].org, org, SL_KEY_LEN);
	ms->m[ms->nm++].upto = UINT64_MAX;
	return SL_OK;
}

/* Every organisation any held event names or comes from, once each,
 * sorted by key. */
static int
collect(struct sl_members *ms)
{
	size_t w = 0;
	int rc;

	ms->nm = 0;
	if ((rc = push_key(ms, ms->anchor)) != SL_OK)
		return rc;
	for (size_t i = 0; i < ms->nev; i++)
		if ((rc = push_key(ms, ms->ev[i].org)) != SL_OK ||
		    (rc = push_key(ms, ms->ev[i].origin)) != SL_OK)
			return rc;
	if (ms->nm > 1)
		qsort(ms->m, ms->nm, sizeof ms->m[0], member_cmp);
	for (size_t i = 0; i < ms->nm; i++)
		if (w == 0 || key_cmp(ms->m[w - 1].org, ms->m[i].org) != 0)
			ms->m[w++] = ms->m[i];
	ms->nm = w;
	return SL_OK;
}

/* In this version an organisation is its one signing key. */
static const uint8_t *
org_of(const uint8_t *origin)
{
	return origin;
}

/* Does event e count, given the members and cut-offs so far? */
static bool
counts(const struct sl_members *ms, const struct sl_mev *e)
{
	const struct sl_member *m = find(ms, org_of(e->origin));

	return m != NULL && m->member && e->seq <= m->upto;
}

static int
add_name(struct sl_members *ms, const struct sl_mev *e)
{
	if (ms->nnames == ms->ncap) {
		size_t cap = ms->ncap ? ms->ncap * 2 : 16;
		struct sl_mname *n = realloc(ms->names, cap * sizeof *n);

		if (n == NULL)
			return SL_ENOMEM;
		ms->names = n;
		ms->ncap = cap;
	}
	struct sl_mname *nm = &ms->names[ms->nnames++];

	memcpy(nm->org, e->org, SL_KEY_LEN);
	nm->hlc = e->hlc;
	nm->seq = e->seq;
	memcpy(nm->name, e->name, sizeof nm->name);
	return SL_OK;
}

static int
mname_cmp(const void *pa, const void *pb)
{
	const struct sl_mname *a = pa, *b = pb;
	int c = key_cmp(a->org, b->org);

	if (c != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The closure of admissions from the anchor, under the cut-offs now. */
static void
closure(struct sl_members *ms)
{
	bool grew;

	for (size_t i = 0; i < ms->nm; i++)
		ms->m[i].member = false;
	find(ms, ms->anchor)->member = true;
	do {
		grew = false;
		for (size_t i = 0; i < ms->nev; i++) {
			const struct sl_mev *e = &ms->ev[i];
			struct sl_member *m;

			if (e->type != SL_MEV_ADMIT || !counts(ms, e))
				continue;
			m = find(ms, e->org);
			if (!m->member) {
				m->member = true;
				grew = true;
			}
		}
	} while (grew);
}

/* Has org `by` a retirement of `org` that counts?  Its upto in *upto. */
static bool
retired_by(const struct sl_members *ms, const uint8_t *by, const uint8_t *org,
    uint64_t *upto)
{
	bool yes = false;

	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];

		if (e->type != SL_MEV_RETIRE || key_cmp(e->org, org) != 0 ||
		    key_cmp(org_of(e->origin), by) != 0 || !counts(ms, e))
			continue;
		if (!yes || e->upto > *upto)
			*upto = e->upto;
		yes = true;
	}
	return yes;
}

/*
 * Cut-offs from the retirements that count.  An organisation retiring
 * itself (leaving) needs no one else, and its cut-off is never before
 * the retirement itself (which must reach every node).  Retiring
 * another takes the word of every organisation that admitted it (those
 * that vouched for it), so that no member can silence one it did not
 * vouch for alone, and the cut-off is the highest any of them names
 * (what the last of them had seen).  (A majority would not do: under
 * "one member admits" a member can admit as many keys as it likes.)
 */
static void
cutoffs(struct sl_members *ms, uint64_t *next, uint32_t *votes)
{
	for (size_t i = 0; i < ms->nm; i++) {
		next[i] = UINT64_MAX;
		votes[i] = 0;
	}
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];
		const struct sl_member *m;
		size_t k;

		if (e->type != SL_MEV_RETIRE || !counts(ms, e) ||
		    (m = find(ms, e->org)) == NULL || !m->member)
			continue;
		k = (size_t)(m - ms->m);
		if (key_cmp(org_of(e->origin), e->org) == 0) {
			uint64_t self = e->upto > e->seq ? e->upto : e->seq;

			if (self < next[k])
				next[k] = self;
			continue;
		}
		votes[k]++;
	}
	for (size_t k = 0; k < ms->nm; k++) {
		uint64_t hi = 0, u = 0;
		bool all = true, any = false;

		if (votes[k] == 0)
			continue;
		/* Every organisation that admitted it, itself aside. */
		for (size_t i = 0; i < ms->nev && all; i++) {
			const struct sl_mev *e = &ms->ev[i];
			const uint8_t *by = org_of(e->origin);

			if (e->type != SL_MEV_ADMIT ||
			    key_cmp(e->org, ms->m[k].org) != 0 ||
			    key_cmp(by, e->org) == 0 || !counts(ms, e))
				continue;
			any = true;
			if (!retired_by(ms, by, e->org, &u))
				all = false;
			else if (u > hi)
				hi = u;
		}
		if (any && all && hi < next[k])
			next[k] = hi;
	}
}

int
sl_members_settle(struct sl_members *ms)
{
	uint64_t *next;
	uint32_t *votes;
	bool changed;
	int rounds = 0, rc;

	ms->dirty = false;
	if (ms->nev > 1)
		qsort(ms->ev, ms->nev, sizeof ms->ev[0], mev_cmp);
	ms->nnames = 0;
	if ((rc = collect(ms)) != SL_OK)
		return rc;
	next = malloc((ms->nm + 1) * sizeof *next);
	votes = malloc((ms->nm + 1) * sizeof *votes);
	if (next == NULL || votes == NULL) {
		free(next);
		free(votes);
		return SL_ENOMEM;
	}
	/* The closure and the cut-offs depend on each other: repeat until
	 * neither changes (a bounded number of rounds: the result is the
	 * same on every node in any case, as it depends only on the
	 * events held). */
	do {
		closure(ms);
		cutoffs(ms, next, votes);
		changed = false;
		for (size_t i = 0; i < ms->nm; i++)
			if (ms->m[i].upto != next[i]) {
				ms->m[i].upto = next[i];
				changed = true;
			}
	} while (changed && ++rounds < 64);
	free(next);
	free(votes);
	/* Admission and retirement times, in log order. */
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];
		struct sl_member *m = find(ms, e->org);

		if (!counts(ms, e) || !m->member)
			continue;
		if (e->type == SL_MEV_ADMIT && m->since == 0 &&
		    key_cmp(org_of(e->origin), e->org) != 0) {
			m->since = e->hlc;
			memcpy(m->by, org_of(e->origin), SL_KEY_LEN);
		}
		if (e->type == SL_MEV_RETIRE && m->upto != UINT64_MAX &&
		    m->retired_hlc == 0) {
			m->retired_hlc = e->hlc;
			memcpy(m->retired_by, org_of(e->origin), SL_KEY_LEN);
		}
	}
	for (size_t i = 0; i < ms->nm; i++)
		if (ms->m[i].since == 0 && key_cmp(ms->m[i].org, ms->anchor) == 0)
			memcpy(ms->m[i].by, ms->anchor, SL_KEY_LEN);
	/*
	 * Names.  An organisation names itself (its own admission or
	 * renaming, in its own chain's order: no clock decides); one that
	 * never did keeps the name its first admission gave.  A name two
	 * members hold is given to neither (names are compared folded): an
	 * impostor can take a name out of sight, never take it over.
	 */
	for (size_t i = 0; i < ms->nm; i++)
		ms->m[i].named = false;
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];
		struct sl_member *m = find(ms, e->org);

		if (e->name[0] == '\0' || !m->member || !counts(ms, e) ||
		    e->type == SL_MEV_RETIRE ||
		    key_cmp(org_of(e->origin), e->org) != 0)
			continue;
		if ((rc = add_name(ms, e)) != SL_OK)
			return rc;
		m->named = true;
	}
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];
		struct sl_member *m = find(ms, e->org);

		if (e->type != SL_MEV_ADMIT || e->name[0] == '\0' ||
		    !m->member || !counts(ms, e) || m->named)
			continue;
		m->named = true;
		if ((rc = add_name(ms, e)) != SL_OK)
			return rc;
	}
	if (ms->nnames > 1)
		qsort(ms->names, ms->nnames, sizeof ms->names[0], mname_cmp);
	return contest(ms);
}

struct fold {
	char f[SL_ORG_MAX * 2 + 1];
	size_t k;
};

static int
fold_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fold *)a)->f, ((const struct fold *)b)->f);
}

/* Marks the members whose current name another member holds too. */
static int
contest(struct sl_members *ms)
{
	struct fold *v;
	size_t n = 0;

	for (size_t i = 0; i < ms->nm; i++)
		ms->m[i].contested = false;
	if ((v = malloc((ms->nm + 1) * sizeof *v)) == NULL)
		return SL_ENOMEM;
	for (size_t k = 0; k < ms->nm; k++) {
		const char *cur;

		if (!ms->m[k].member ||
		    (cur = current(ms, ms->m[k].org)) == NULL)
			continue;
		sl_text_fold(cur, strlen(cur), v[n].f, sizeof v[n].f);
		v[n++].k = k;
	}
	if (n > 1)
		qsort(v, n, sizeof *v, fold_cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i].f, v[i - 1].f) == 0) {
			ms->m[v[i].k].contested = true;
			ms->m[v[i - 1].k].contested = true;
		}
	free(v);
	return SL_OK;
}

const struct sl_member *
sl_members_get(const struct sl_members *ms, const uint8_t org[SL_KEY_LEN])
{
	const struct sl_member *m = find(ms, org);

	return m != NULL && m->member ? m : NULL;
}

bool
sl_members_counts(const struct sl_members *ms, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq)
{
	const struct sl_member *m = sl_members_get(ms, org_of(origin));

	return m != NULL && seq <= m->upto;
}

bool
sl_members_current(const struct sl_members *ms,
    const uint8_t origin[SL_KEY_LEN])
{
	const struct sl_member *m = sl_members_get(ms, org_of(origin));

	return m != NULL && m->upto == UINT64_MAX;
}

/* org's latest name entry, or NULL (contest not considered). */
static const char *
current(const struct sl_members *ms, const uint8_t org[SL_KEY_LEN])
{
	const char *last = NULL;

	for (size_t i = first_name(ms, org); i < ms->nnames &&
	    key_cmp(ms->names[i].org, org) == 0; i++)
		last = ms->names[i].name;
	return last;
}

/* The index of org's first name entry (names are sorted by org). */
static size_t
first_name(const struct sl_members *ms, const uint8_t org[SL_KEY_LEN])
{
	size_t lo = 0, hi = ms->nnames;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(ms->names[mid].org, org) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const char *
sl_members_name_at(const struct sl_members *ms, const uint8_t org[SL_KEY_LEN],
    uint64_t hlc)
{
	const struct sl_member *m = find(ms, org);
	const char *first = NULL, *at = NULL;

	if (m == NULL || m->contested)
		return NULL;
	for (size_t i = first_name(ms, org); i < ms->nnames &&
	    key_cmp(ms->names[i].org, org) == 0; i++) {
		if (first == NULL)
			first = ms->names[i].name;
		if (ms->names[i].hlc <= hlc)
			at = ms->names[i].name;
	}
	/* An event from before its organisation named itself (written
	 * offline, then joined) shows the first name it took. */
	return at != NULL ? at : first;
}

bool
sl_members_contested(const struct sl_members *ms,
    const uint8_t org[SL_KEY_LEN])
{
	const struct sl_member *m = find(ms, org);

	return m != NULL && m->contested;
}

size_t
sl_members_count(const struct sl_members *ms)
{
	size_t n = 0;

	for (size_t i = 0; i < ms->nm; i++)
		n += ms->m[i].member;
	return n;
}
