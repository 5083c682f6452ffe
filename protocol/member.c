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
	return SL_OK;
}

static struct sl_member *
find(const struct sl_members *ms, const uint8_t org[SL_KEY_LEN])
{
	for (size_t i = 0; i < ms->nm; i++)
		if (key_cmp(ms->m[i].org, org) == 0)
			return &ms->m[i];
	return NULL;
}

static struct sl_member *
get(struct sl_members *ms, const uint8_t org[SL_KEY_LEN])
{
	struct sl_member *m = find(ms, org);

	if (m != NULL)
		return m;
	if (ms->nm == ms->mcap) {
		size_t cap = ms->mcap ? ms->mcap * 2 : 16;
		struct sl_member *n = realloc(ms->m, cap * sizeof *n);

		if (n == NULL)
			return NULL;
		ms->m = n;
		ms->mcap = cap;
	}
	m = &ms->m[ms->nm++];
	memset(m, 0, sizeof *m);
	memcpy(m->org, org, SL_KEY_LEN);
	m->upto = UINT64_MAX;
	return m;
}

/* In this version an organisation is its one signing key. */
static const uint8_t *
org_of(const uint8_t *origin)
{
	return origin;
}

/* Does event e count, given the members marked so far? */
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
	memcpy(nm->name, e->name, sizeof nm->name);
	return SL_OK;
}

/* The name org holds now (after the names given so far), or NULL. */
static const char *
current_name(const struct sl_members *ms, const uint8_t org[SL_KEY_LEN])
{
	for (size_t i = ms->nnames; i-- > 0;)
		if (key_cmp(ms->names[i].org, org) == 0)
			return ms->names[i].name;
	return NULL;
}

static bool
name_taken(const struct sl_members *ms, const uint8_t org[SL_KEY_LEN],
    const char *name)
{
	char a[SL_ORG_MAX * 2 + 1], b[SL_ORG_MAX * 2 + 1];

	sl_text_fold(name, strlen(name), a, sizeof a);
	for (size_t i = 0; i < ms->nm; i++) {
		const char *cur;

		if (key_cmp(ms->m[i].org, org) == 0 || !ms->m[i].member ||
		    (cur = current_name(ms, ms->m[i].org)) == NULL)
			continue;
		sl_text_fold(cur, strlen(cur), b, sizeof b);
		if (strcmp(a, b) == 0)
			return true;
	}
	return false;
}

int
sl_members_settle(struct sl_members *ms)
{
	uint64_t *before;
	bool changed;
	int rounds = 0;

	qsort(ms->ev, ms->nev, sizeof ms->ev[0], mev_cmp);
	ms->nm = 0;
	ms->nnames = 0;
	if (get(ms, ms->anchor) == NULL)
		return SL_ENOMEM;
	for (size_t i = 0; i < ms->nev; i++) {
		struct sl_member *m = get(ms, ms->ev[i].org);

		if (m == NULL || get(ms, org_of(ms->ev[i].origin)) == NULL)
			return SL_ENOMEM;
	}
	/* nm >= 1: the anchor. */
	if ((before = malloc((ms->nm + 1) * sizeof *before)) == NULL)
		return SL_ENOMEM;
	do {
		bool grew;

		for (size_t i = 0; i < ms->nm; i++) {
			before[i] = ms->m[i].upto;
			ms->m[i].member = false;
			ms->m[i].since = 0;
		}
		find(ms, ms->anchor)->member = true;
		/* The closure over admissions. */
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
		/* Cut-offs, in log order, each against those before it. */
		for (size_t i = 0; i < ms->nm; i++)
			ms->m[i].upto = UINT64_MAX;
		for (size_t i = 0; i < ms->nev; i++) {
			const struct sl_mev *e = &ms->ev[i];
			struct sl_member *m;

			if (e->type != SL_MEV_RETIRE || !counts(ms, e))
				continue;
			m = find(ms, e->org);
			if (e->upto < m->upto) {
				m->upto = e->upto;
				m->retired_hlc = e->hlc;
				memcpy(m->retired_by, org_of(e->origin),
				    SL_KEY_LEN);
			}
		}
		changed = false;
		for (size_t i = 0; i < ms->nm; i++)
			if (ms->m[i].upto != before[i])
				changed = true;
	} while (changed && ++rounds < 64);
	free(before);
	/* Admission times and names, in log order. */
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];
		struct sl_member *m = find(ms, e->org);
		int rc;

		if (!counts(ms, e) || !m->member)
			continue;
		if (e->type == SL_MEV_ADMIT) {
			if (m->since == 0) {
				m->since = e->hlc;
				memcpy(m->by, org_of(e->origin), SL_KEY_LEN);
			}
			/* The first admission that names it. */
			if (e->name[0] != '\0' && current_name(ms, e->org) ==
			    NULL && !name_taken(ms, e->org, e->name) &&
			    (rc = add_name(ms, e)) != SL_OK)
				return rc;
		} else if (e->type == SL_MEV_RENAME && key_cmp(e->org,
		    org_of(e->origin)) == 0 && e->name[0] != '\0' &&
		    !name_taken(ms, e->org, e->name) &&
		    (rc = add_name(ms, e)) != SL_OK) {
			return rc;
		}
	}
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

const char *
sl_members_name_at(const struct sl_members *ms, const uint8_t org[SL_KEY_LEN],
    uint64_t hlc)
{
	const char *first = NULL, *at = NULL;

	for (size_t i = 0; i < ms->nnames; i++) {
		if (key_cmp(ms->names[i].org, org) != 0)
			continue;
		if (first == NULL)
			first = ms->names[i].name;
		if (ms->names[i].hlc <= hlc)
			at = ms->names[i].name;
	}
	/* An event from before its organisation was admitted (written
	 * offline, then joined) shows the name it was admitted under. */
	return at != NULL ? at : first;
}

size_t
sl_members_count(const struct sl_members *ms)
{
	size_t n = 0;

	for (size_t i = 0; i < ms->nm; i++)
		n += ms->m[i].member;
	return n;
}
