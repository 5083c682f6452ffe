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

/* A key field's value (52 characters of base32) into out. */
static bool
read_key(struct sl_mp *m, uint8_t out[SL_KEY_LEN])
{
	char t[SL_NODE_ID_TEXT + 1];
	const char *s;
	uint32_t sn;

	if (sl_mp_read_str(m, &s, &sn, 0, SL_NODE_ID_TEXT) != SL_OK ||
	    sn != SL_NODE_ID_TEXT)
		return false;
	memcpy(t, s, sn);
	t[sn] = '\0';
	return sl_b32_decode(out, SL_KEY_LEN, t);
}

/* A CUTS value into cuts (n of them; at most SL_CUTS_MAX): SL_OK, or why
 * it is not one. */
static const char *
read_cuts(struct sl_mp *m, struct sl_mcut *cuts, uint32_t *n)
{
	uint32_t len;

	if (sl_mp_read_array(m, &len, SL_CUTS_MAX) != SL_OK)
		return "is not a list of at most 32 [device key, seq] pairs";
	for (uint32_t i = 0; i < len; i++) {
		const uint8_t *b;
		uint32_t two, bl;
		uint64_t u;

		if (sl_mp_read_array(m, &two, 2) != SL_OK || two != 2 ||
		    sl_mp_read_bin(m, &b, &bl, SL_KEY_LEN, SL_KEY_LEN) !=
		    SL_OK || sl_mp_read_uint(m, &u) != SL_OK)
			return "is not a list of [device key, seq] pairs";
		if (i > 0 && memcmp(cuts[i - 1].device, b, SL_KEY_LEN) >= 0)
			return "does not list its keys in ascending order "
			    "once each";
		memcpy(cuts[i].device, b, SL_KEY_LEN);
		cuts[i].upto = u;
	}
	*n = len;
	return NULL;
}

int
sl_cuts_check(const uint8_t *v, size_t len, char *why, size_t wlen)
{
	struct sl_mcut cuts[SL_CUTS_MAX];
	struct sl_mp m;
	uint32_t n;
	const char *w;

	sl_mp_init(&m, v, len);
	if ((w = read_cuts(&m, cuts, &n)) == NULL && !sl_mp_at_end(&m))
		w = "has bytes after its value";
	if (w == NULL)
		return SL_OK;
	return sl_why(why, wlen, "%s", w);
}

int
sl_mev_decode(const struct sl_event *ev, struct sl_mev *out)
{
	static const struct {
		const char *type;
		enum sl_mev_type t;
	} types[] = { { "member.admitted", SL_MEV_ADMIT },
		{ "member.retired", SL_MEV_RETIRE },
		{ "member.renamed", SL_MEV_RENAME },
		{ "device.added", SL_MEV_DEVICE },
		{ "device.revoked", SL_MEV_REVOKE } };
	struct sl_mp m;
	uint32_t n;
	bool have_org = false, have_dev = false;

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
		if (sl_mp_read_nil(&m))
			continue; /* not given */
		if (kl == 3 && memcmp(k, "org", 3) == 0) {
			if (!read_key(&m, out->org))
				return SL_EINVAL;
			have_org = true;
		} else if (kl == 6 && memcmp(k, "device", 6) == 0) {
			if (!read_key(&m, out->device))
				return SL_EINVAL;
			have_dev = true;
		} else if (kl == 4 && memcmp(k, "name", 4) == 0) {
			if (sl_mp_read_str(&m, &s, &sn, 0, SL_ORG_MAX) != SL_OK)
				return SL_EINVAL;
			memcpy(out->name, s, sn);
			out->name[sn] = '\0';
		} else if (kl == 4 && memcmp(k, "upto", 4) == 0) {
			if (sl_mp_read_uint(&m, &out->upto) != SL_OK)
				return SL_EINVAL;
		} else if (kl == 4 && memcmp(k, "cert", 4) == 0) {
			out->certified = true;
			if (sl_mp_skip(&m, NULL, NULL) != SL_OK)
				return SL_EINVAL;
		} else if (kl == 7 && memcmp(k, "devices", 7) == 0 &&
		    out->type == SL_MEV_RETIRE) {
			if (read_cuts(&m, out->cuts, &out->ncuts) != NULL)
				return SL_EINVAL;
		} else if (sl_mp_skip(&m, NULL, NULL) != SL_OK) {
			return SL_EINVAL;
		}
	}
	if (!have_org || ((out->type == SL_MEV_DEVICE ||
	    out->type == SL_MEV_REVOKE) && !have_dev))
		return SL_EINVAL;
	return SL_OK;
}

/* The statements a device certificate and a revocation sign: a domain
 * word, the two keys, and the name or the last seq. */
void
sl_device_added_hash(uint8_t out[SL_HASH_LEN], const uint8_t org[SL_KEY_LEN],
    const uint8_t device[SL_KEY_LEN], const char *name)
{
	uint8_t b[13 + 2 * SL_KEY_LEN];
	size_t nl = strlen(name);

	if (nl > SL_ORG_MAX)
		nl = SL_ORG_MAX;
	memcpy(b, "device.added", 13); /* with its NUL */
	memcpy(b + 13, org, SL_KEY_LEN);
	memcpy(b + 13 + SL_KEY_LEN, device, SL_KEY_LEN);
	sl_sha256_2(out, b, sizeof b, name, nl);
}

void
sl_device_revoked_hash(uint8_t out[SL_HASH_LEN],
    const uint8_t org[SL_KEY_LEN], const uint8_t device[SL_KEY_LEN],
    uint64_t upto)
{
	uint8_t b[15 + 2 * SL_KEY_LEN + 8];

	memcpy(b, "device.revoked", 15);
	memcpy(b + 15, org, SL_KEY_LEN);
	memcpy(b + 15 + SL_KEY_LEN, device, SL_KEY_LEN);
	for (int i = 0; i < 8; i++)
		b[15 + 2 * SL_KEY_LEN + i] = (uint8_t)(upto >> (56 - 8 * i));
	sl_sha256(out, b, sizeof b);
}

int
sl_device_check(const char *type, size_t tlen, const uint8_t *payload,
    size_t plen, char *why, size_t wlen)
{
	uint8_t org[SL_KEY_LEN], dev[SL_KEY_LEN], h[SL_HASH_LEN];
	const uint8_t *cert = NULL, *proof = NULL;
	char name[SL_ORG_MAX + 1] = "";
	bool added = tlen == 12 && memcmp(type, "device.added", 12) == 0;
	bool have_org = false, have_dev = false;
	uint64_t upto = 0;
	struct sl_mp m;
	uint32_t n;

	sl_mp_init(&m, payload, plen);
	if (sl_mp_read_map(&m, &n, 256) != SL_OK)
		goto bad;
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *s;
		uint32_t kl, sn;

		if (sl_mp_read_str(&m, &k, &kl, 0, SL_FIELD_NAME_MAX) != SL_OK)
			goto bad;
		if (sl_mp_read_nil(&m))
			continue;
		if (kl == 3 && memcmp(k, "org", 3) == 0)
			have_org = read_key(&m, org);
		else if (kl == 6 && memcmp(k, "device", 6) == 0)
			have_dev = read_key(&m, dev);
		else if (kl == 4 && memcmp(k, "name", 4) == 0) {
			if (sl_mp_read_str(&m, &s, &sn, 0, SL_ORG_MAX) != SL_OK)
				goto bad;
			memcpy(name, s, sn);
			name[sn] = '\0';
		} else if (kl == 4 && memcmp(k, "upto", 4) == 0) {
			if (sl_mp_read_uint(&m, &upto) != SL_OK)
				goto bad;
		} else if (kl == 4 && memcmp(k, "cert", 4) == 0) {
			if (sl_mp_read_bin(&m, &cert, &sn, SL_SIG_LEN,
			    SL_SIG_LEN) != SL_OK)
				goto bad;
		} else if (kl == 5 && memcmp(k, "proof", 5) == 0) {
			if (sl_mp_read_bin(&m, &proof, &sn, SL_SIG_LEN,
			    SL_SIG_LEN) != SL_OK)
				goto bad;
		} else if (sl_mp_skip(&m, NULL, NULL) != SL_OK) {
			goto bad;
		}
	}
	if (!have_org || !have_dev)
		goto bad;
	if (added && memcmp(org, dev, SL_KEY_LEN) == 0)
		return sl_why(why, wlen, "an organisation key is not a device "
		    "of itself");
	if (added) {
		sl_device_added_hash(h, org, dev, name);
		if (cert == NULL || !sl_verify_cert(cert, org, h))
			return sl_why(why, wlen, "the certificate is not the "
			    "organisation key's signature");
		if (proof == NULL || !sl_verify_cert(proof, dev, h))
			return sl_why(why, wlen, "the proof is not the device "
			    "key's signature");
		return SL_OK;
	}
	/* A revocation: the organisation's word, or (without one) the
	 * device's own, which only the device's own chain can carry. */
	sl_device_revoked_hash(h, org, dev, upto);
	if (cert != NULL && !sl_verify_cert(cert, org, h))
		return sl_why(why, wlen, "the certificate is not the "
		    "organisation key's signature");
	return SL_OK;
bad:
	return sl_why(why, wlen, "is not a device statement");
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
	free(ms->d);
	free(ms->dcut);
	free(ms->dorg);
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
	ms->nretire += e->type == SL_MEV_RETIRE || e->type == SL_MEV_REVOKE;
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
	ms->m[ms->nm].chain_upto = UINT64_MAX;
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

/* By key, then in log order (qsort is not stable). */
static int
device_cmp(const void *pa, const void *pb)
{
	const struct sl_device *a = pa, *b = pb;
	int c = key_cmp(a->key, b->key);

	if (c != 0)
		return c;
	if (a->since != b->since)
		return a->since < b->since ? -1 : 1;
	if ((c = key_cmp(a->cert_origin, b->cert_origin)) != 0)
		return c;
	return a->cert_seq < b->cert_seq ? -1 : a->cert_seq > b->cert_seq;
}

/* The device entry of key (ms->d is sorted by key), or NULL. */
static struct sl_device *
find_device(const struct sl_members *ms, const uint8_t key[SL_KEY_LEN])
{
	size_t lo = 0, hi = ms->nd;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(ms->d[mid].key, key);

		if (c == 0)
			return &ms->d[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The organisation origin signs for: a device's organisation, else the
 * key itself (an organisation's own key signs for it). */
static const uint8_t *
org_of(const struct sl_members *ms, const uint8_t *origin)
{
	const struct sl_device *d = find_device(ms, origin);

	return d != NULL && !d->contested ? d->org : origin;
}

/* Is origin a signer of a member, and its last seq that counts? */
static bool
signer(const struct sl_members *ms, const uint8_t *origin, uint64_t *upto)
{
	const struct sl_device *d = find_device(ms, origin);
	const struct sl_member *m;

	if (d != NULL) {
		if (d->contested || (m = find(ms, d->org)) == NULL ||
		    !m->member)
			return false;
		*upto = d->upto;
		return true;
	}
	if ((m = find(ms, origin)) == NULL || !m->member)
		return false;
	*upto = m->upto < m->chain_upto ? m->upto : m->chain_upto;
	return true;
}

/* Does event e count, given the members, devices and cut-offs so far? */
static bool
counts(const struct sl_members *ms, const struct sl_mev *e)
{
	uint64_t upto;

	return signer(ms, e->origin, &upto) && e->seq <= upto;
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

static int
dorg_cmp(const void *a, const void *b)
{
	return memcmp(a, b, (size_t)2 * SL_KEY_LEN);
}

/* The cut-off the last round gave device key (UINT64_MAX: none);
 * ms->dcut is sorted by key. */
static uint64_t
last_cut(const struct sl_members *ms, const uint8_t key[SL_KEY_LEN])
{
	size_t lo = 0, hi = ms->ndcut;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(ms->dcut[mid].device, key);

		if (c == 0)
			return ms->dcut[mid].upto;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return UINT64_MAX;
}

/*
 * The devices the certificates that count make, keeping each one's
 * cut-off from the last round (ms->dcut: not from the last call, which
 * within a closure may have been made before the device's organisation
 * was found a member, and so known no device at all).  A key two organisations certified signs
 * for neither (it proved it holds its key to both: its holder's doing).
 * A device is never an organisation of its own: an admission of its key
 * makes no member (closure), so a device that once founded a federation
 * of its own, or was admitted by mistake, signs for its organisation.
 */
static int
devices(struct sl_members *ms)
{
	size_t n = 0, w = 0;
	struct sl_device *d = NULL;

	for (size_t i = 0; i < ms->nev; i++)
		n += ms->ev[i].type == SL_MEV_DEVICE;
	if (n > 0 && (d = calloc(n, sizeof *d)) == NULL)
		return SL_ENOMEM;
	n = 0;
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];
		const struct sl_member *o = find(ms, e->org);

		if (e->type != SL_MEV_DEVICE || !counts(ms, e) ||
		    o == NULL || !o->member ||
		    key_cmp(e->device, ms->anchor) == 0)
			continue;
		memcpy(d[n].key, e->device, SL_KEY_LEN);
		memcpy(d[n].org, e->org, SL_KEY_LEN);
		memcpy(d[n].name, e->name, sizeof d[n].name);
		d[n].since = e->hlc;
		memcpy(d[n].cert_origin, e->origin, SL_KEY_LEN);
		d[n].cert_seq = e->seq;
		d[n].upto = UINT64_MAX;
		n++;
	}
	/* Events are in log order: the first certificate of a key names
	 * it and dates it; one from another organisation contests it. */
	if (n > 1)
		qsort(d, n, sizeof *d, device_cmp);
	/* Every (key, organisation) of a contested key, for
	 * certified_by. */
	free(ms->dorg);
	ms->dorg = NULL;
	ms->ndorg = 0;
	for (size_t i = 0, j; i < n; i = j) {
		bool two = false;

		for (j = i + 1; j < n && key_cmp(d[j].key, d[i].key) == 0; j++)
			two |= key_cmp(d[j].org, d[i].org) != 0;
		if (!two)
			continue;
		if (ms->dorg == NULL && (ms->dorg = malloc(n *
		    sizeof *ms->dorg)) == NULL) {
			free(d);
			return SL_ENOMEM;
		}
		for (size_t k = i; k < j; k++) {
			memcpy(ms->dorg[ms->ndorg], d[k].key, SL_KEY_LEN);
			memcpy(ms->dorg[ms->ndorg++] + SL_KEY_LEN, d[k].org,
			    SL_KEY_LEN);
		}
	}
	if (ms->ndorg > 1)
		qsort(ms->dorg, ms->ndorg, sizeof *ms->dorg, dorg_cmp);
	for (size_t i = 0; i < n; i++) {
		if (w > 0 && key_cmp(d[w - 1].key, d[i].key) == 0) {
			if (key_cmp(d[w - 1].org, d[i].org) != 0)
				d[w - 1].contested = true;
			continue; /* the first (in log order) dates it */
		}
		d[w++] = d[i];
	}
	for (size_t i = 0; i < w; i++)
		d[i].upto = last_cut(ms, d[i].key);
	free(ms->d);
	ms->d = d;
	ms->nd = w;
	ms->dcap = w;
	return SL_OK;
}

/* The closure of admissions from the anchor, and the devices, under the
 * cut-offs now. */
static int
closure(struct sl_members *ms)
{
	bool grew;
	int rc;

	for (size_t i = 0; i < ms->nm; i++)
		ms->m[i].member = false;
	find(ms, ms->anchor)->member = true;
	do {
		size_t nd;

		grew = false;
		/* A certificate a device carries counts once that device
		 * is one: devices until they stop growing, then the
		 * admissions they (and the members) make. */
		do {
			nd = ms->nd;
			if ((rc = devices(ms)) != SL_OK)
				return rc;
		} while (ms->nd > nd);
		for (size_t i = 0; i < ms->nev; i++) {
			const struct sl_mev *e = &ms->ev[i];
			struct sl_member *m;

			const struct sl_device *dv;

			if (e->type != SL_MEV_ADMIT || !counts(ms, e) ||
			    ((dv = find_device(ms, e->org)) != NULL &&
			    !dv->contested))
				continue;
			m = find(ms, e->org);
			if (!m->member) {
				m->member = true;
				grew = true;
			}
		}
	} while (grew);
	return devices(ms);
}

/* Has org `by` a retirement of `org` that counts?  Its upto in *upto;
 * in *dev (if dev is not NULL) the last seq of device dev it lets count
 * (0 where no retirement of by's lists it). */
static bool
retired_by(const struct sl_members *ms, const uint8_t *by, const uint8_t *org,
    uint64_t *upto, const uint8_t *dev, uint64_t *dupto)
{
	bool yes = false;

	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];

		if (e->type != SL_MEV_RETIRE || key_cmp(e->org, org) != 0 ||
		    key_cmp(org_of(ms, e->origin), by) != 0 || !counts(ms, e))
			continue;
		if (!yes || e->upto > *upto)
			*upto = e->upto;
		if (!yes && dev != NULL)
			*dupto = 0;
		for (uint32_t c = 0; dev != NULL && c < e->ncuts; c++)
			if (key_cmp(e->cuts[c].device, dev) == 0 &&
			    e->cuts[c].upto > *dupto)
				*dupto = e->cuts[c].upto;
		yes = true;
	}
	return yes;
}

/* The last seq of device dev a retirement e lets count: what it lists
 * (0 if it does not list it), and never before e itself when e is in
 * dev's own chain. */
static uint64_t
cut_of(const struct sl_mev *e, const uint8_t *dev)
{
	uint64_t u = 0;

	for (uint32_t c = 0; c < e->ncuts; c++)
		if (key_cmp(e->cuts[c].device, dev) == 0)
			u = e->cuts[c].upto;
	if (key_cmp(e->origin, dev) == 0 && e->seq > u)
		u = e->seq;
	return u;
}

/*
 * Is org k retired by the word of every organisation that admitted it
 * (those that vouched for it), so that no member can silence one it did
 * not vouch for alone?  The cut-offs are the highest any of them names
 * (what the last of them had seen): *hi for the organisation key's own
 * chain, and (if dev is not NULL) *dhi for device dev.  (A majority
 * would not do: under "one member admits" a member can admit as many
 * keys as it likes.)
 */
static bool
retired_by_admitters(const struct sl_members *ms, const uint8_t *org,
    const uint8_t *dev, uint64_t *hi, uint64_t *dhi)
{
	bool any = false;

	*hi = 0;
	if (dhi != NULL)
		*dhi = 0;
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];
		const uint8_t *by = org_of(ms, e->origin);
		uint64_t u = 0, du = 0;

		if (e->type != SL_MEV_ADMIT || key_cmp(e->org, org) != 0 ||
		    key_cmp(by, e->org) == 0 || !counts(ms, e))
			continue;
		any = true;
		if (!retired_by(ms, by, e->org, &u, dev, &du))
			return false;
		if (u > *hi)
			*hi = u;
		if (dhi != NULL && du > *dhi)
			*dhi = du;
	}
	return any;
}

/* Did org certify device d by a certificate that counts?  d's own
 * organisation did; a contested key's other organisations may have too
 * (and each may revoke it: a key that signs for no one keeps its
 * cut-offs, or a second certificate would bring back the events a
 * revocation cut). */
static bool
certified_by(const struct sl_members *ms, const struct sl_device *d,
    const uint8_t *org)
{
	uint8_t want[2 * SL_KEY_LEN];

	if (key_cmp(d->org, org) == 0)
		return true;
	if (!d->contested || ms->ndorg == 0)
		return false;
	memcpy(want, d->key, SL_KEY_LEN);
	memcpy(want + SL_KEY_LEN, org, SL_KEY_LEN);
	return bsearch(want, ms->dorg, ms->ndorg, sizeof *ms->dorg,
	    dorg_cmp) != NULL;
}

/*
 * Cut-offs from the retirements and revocations that count.
 *
 * An organisation retiring itself (leaving) needs no one else but
 * takes its organisation key's own chain (none of its devices leaves
 * for it); that key's cut-off is never before the retirement itself
 * (it must reach every node).  Retiring another takes the word
 * of every organisation that admitted it (retired_by_admitters).  A
 * retirement cuts the retired organisation's devices as well: each at
 * the seq it lists for the device, at 0 (none of its events) if it lists
 * none (a retirer cannot hold a device's events without its
 * certificate, so it lists every device whose events it took).
 *
 * A device is cut by its organisation's revocation at the seq it names,
 * and by its own (a device retiring itself, as on rotation) at no
 * earlier than that revocation.
 */
static void
cutoffs(struct sl_members *ms, uint64_t *next, uint64_t *dnext,
    uint64_t *cnext)
{
	for (size_t i = 0; i < ms->nm; i++)
		next[i] = cnext[i] = UINT64_MAX;
	for (size_t j = 0; j < ms->nd; j++)
		dnext[j] = UINT64_MAX;
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];
		const struct sl_member *m;
		const struct sl_device *d;
		size_t k;

		/* An organisation key that moved to a device (rotation)
		 * ends its own chain: its own word only. */
		if (e->type == SL_MEV_REVOKE && counts(ms, e) &&
		    key_cmp(e->device, e->org) == 0 &&
		    key_cmp(e->origin, e->org) == 0 &&
		    (m = find(ms, e->org)) != NULL) {
			uint64_t u = e->upto > e->seq ? e->upto : e->seq;

			k = (size_t)(m - ms->m);
			if (u < cnext[k])
				cnext[k] = u;
			continue;
		}
		if (e->type == SL_MEV_REVOKE && counts(ms, e) &&
		    (d = find_device(ms, e->device)) != NULL &&
		    certified_by(ms, d, e->org)) {
			uint64_t u = e->upto;

			k = (size_t)(d - ms->d);
			if (!e->certified) {
				/* The device's own word, in its own chain. */
				if (key_cmp(e->origin, e->device) != 0)
					continue;
				if (e->seq > u)
					u = e->seq;
			}
			if (u < dnext[k])
				dnext[k] = u;
			continue;
		}
		/* Leaving: the organisation key's own word, as for
		 * certifying and revoking its devices (a stolen device must
		 * not end its organisation, nor cut its past). */
		if (e->type != SL_MEV_RETIRE || !counts(ms, e) ||
		    (m = find(ms, e->org)) == NULL || !m->member ||
		    key_cmp(e->origin, e->org) != 0)
			continue;
		k = (size_t)(m - ms->m);
		uint64_t self = e->upto > e->seq ? e->upto : e->seq;

		if (self < next[k])
			next[k] = self;
		for (size_t j = 0; j < ms->nd; j++) {
			uint64_t u;

			if (key_cmp(ms->d[j].org, e->org) != 0)
				continue;
			u = cut_of(e, ms->d[j].key);
			if (u < dnext[j])
				dnext[j] = u;
		}
	}
	for (size_t k = 0; k < ms->nm; k++) {
		uint64_t hi;

		if (!ms->m[k].member ||
		    !retired_by_admitters(ms, ms->m[k].org, NULL, &hi, NULL))
			continue;
		if (hi < next[k])
			next[k] = hi;
		for (size_t j = 0; j < ms->nd; j++) {
			uint64_t h, dh;

			if (key_cmp(ms->d[j].org, ms->m[k].org) != 0 ||
			    !retired_by_admitters(ms, ms->m[k].org,
			    ms->d[j].key, &h, &dh))
				continue;
			if (dh < dnext[j])
				dnext[j] = dh;
		}
	}
}

int
sl_members_settle(struct sl_members *ms)
{
	uint64_t *next = NULL, *dnext = NULL, *cnext = NULL;
	bool changed;
	int rounds = 0, rc;

	ms->dirty = false;
	if (ms->nev > 1)
		qsort(ms->ev, ms->nev, sizeof ms->ev[0], mev_cmp);
	ms->nnames = 0;
	free(ms->d);
	ms->d = NULL;
	ms->nd = ms->dcap = 0;
	free(ms->dcut);
	ms->dcut = NULL;
	ms->ndcut = 0;
	if ((rc = collect(ms)) != SL_OK)
		return rc;
	/* The closure and the cut-offs depend on each other: repeat until
	 * neither changes (a bounded number of rounds: the result is the
	 * same on every node in any case, as it depends only on the
	 * events held). */
	do {
		if ((rc = closure(ms)) != SL_OK)
			goto out;
		free(next);
		free(dnext);
		free(cnext);
		next = malloc((ms->nm + 1) * sizeof *next);
		cnext = malloc((ms->nm + 1) * sizeof *cnext);
		dnext = malloc((ms->nd + 1) * sizeof *dnext);
		if (next == NULL || dnext == NULL || cnext == NULL) {
			rc = SL_ENOMEM;
			goto out;
		}
		cutoffs(ms, next, dnext, cnext);
		changed = false;
		for (size_t i = 0; i < ms->nm; i++)
			if (ms->m[i].upto != next[i] ||
			    ms->m[i].chain_upto != cnext[i]) {
				ms->m[i].upto = next[i];
				ms->m[i].chain_upto = cnext[i];
				changed = true;
			}
		for (size_t j = 0; j < ms->nd; j++)
			if (ms->d[j].upto != dnext[j]) {
				ms->d[j].upto = dnext[j];
				changed = true;
			}
		/* For the next round's closure (ms->d is sorted by key). */
		free(ms->dcut);
		ms->ndcut = 0;
		if (ms->nd > 0 && (ms->dcut = malloc(ms->nd *
		    sizeof *ms->dcut)) == NULL) {
			rc = SL_ENOMEM;
			goto out;
		}
		for (size_t j = 0; j < ms->nd; j++) {
			memcpy(ms->dcut[j].device, ms->d[j].key, SL_KEY_LEN);
			ms->dcut[j].upto = ms->d[j].upto;
		}
		ms->ndcut = ms->nd;
	} while (changed && ++rounds < 64);
	/* Admission, retirement and revocation times, in log order. */
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];
		struct sl_member *m = find(ms, e->org);
		struct sl_device *d;

		if (!counts(ms, e) || !m->member)
			continue;
		if (e->type == SL_MEV_ADMIT && m->since == 0 &&
		    key_cmp(org_of(ms, e->origin), e->org) != 0) {
			m->since = e->hlc;
			memcpy(m->by, org_of(ms, e->origin), SL_KEY_LEN);
		}
		if (e->type == SL_MEV_RETIRE && m->upto != UINT64_MAX &&
		    m->retired_hlc == 0 && (key_cmp(e->origin, e->org) == 0 ||
		    key_cmp(org_of(ms, e->origin), e->org) != 0)) {
			m->retired_hlc = e->hlc;
			memcpy(m->retired_by, org_of(ms, e->origin), SL_KEY_LEN);
		}
		if (e->type == SL_MEV_REVOKE &&
		    (d = find_device(ms, e->device)) != NULL &&
		    d->upto != UINT64_MAX && d->revoked_hlc == 0) {
			d->revoked_hlc = e->hlc;
			/* Its own word (a rotation): replaced, not revoked. */
			d->replaced = !e->certified &&
			    key_cmp(e->origin, e->device) == 0;
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
		    (e->type != SL_MEV_ADMIT && e->type != SL_MEV_RENAME) ||
		    key_cmp(org_of(ms, e->origin), e->org) != 0)
			continue;
		if ((rc = add_name(ms, e)) != SL_OK)
			goto out;
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
			goto out;
	}
	if (ms->nnames > 1)
		qsort(ms->names, ms->nnames, sizeof ms->names[0], mname_cmp);
	rc = contest(ms);
out:
	free(next);
	free(dnext);
	free(cnext);
	return rc;
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
	uint64_t upto;

	return signer(ms, origin, &upto) && seq <= upto;
}

bool
sl_members_current(const struct sl_members *ms,
    const uint8_t origin[SL_KEY_LEN])
{
	uint64_t upto;

	return signer(ms, origin, &upto) && upto == UINT64_MAX;
}

const uint8_t *
sl_members_org_of(const struct sl_members *ms,
    const uint8_t origin[SL_KEY_LEN])
{
	return org_of(ms, origin);
}

bool
sl_members_signer(const struct sl_members *ms, const uint8_t key[SL_KEY_LEN],
    uint64_t *upto)
{
	uint64_t u;

	if (!signer(ms, key, &u))
		return false;
	if (upto != NULL)
		*upto = u;
	return true;
}

size_t
sl_members_signers(const struct sl_members *ms, uint8_t (*keys)[SL_KEY_LEN],
    size_t max)
{
	size_t n = 0;
	uint64_t u;

	for (size_t i = 0; i < ms->nm; i++) {
		/* A device key sits among the organisations too (it is an
		 * origin): it is counted below, once. */
		if (!ms->m[i].member || find_device(ms, ms->m[i].org) != NULL)
			continue;
		if (n < max)
			memcpy(keys[n], ms->m[i].org, SL_KEY_LEN);
		n++;
	}
	for (size_t j = 0; j < ms->nd; j++) {
		if (!signer(ms, ms->d[j].key, &u))
			continue;
		if (n < max)
			memcpy(keys[n], ms->d[j].key, SL_KEY_LEN);
		n++;
	}
	return n;
}

const struct sl_device *
sl_members_device(const struct sl_members *ms, const uint8_t key[SL_KEY_LEN])
{
	return find_device(ms, key);
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

const uint8_t *
sl_members_name_holder(const struct sl_members *ms, const char *name,
    const uint8_t *except)
{
	char a[SL_ORG_MAX * 2 + 1], b[SL_ORG_MAX * 2 + 1];

	sl_text_fold(name, strlen(name), a, sizeof a);
	for (size_t i = 0; i < ms->nm; i++) {
		const char *held;

		if (!ms->m[i].member || (except != NULL &&
		    key_cmp(ms->m[i].org, except) == 0) ||
		    (held = sl_members_name_at(ms, ms->m[i].org,
		    UINT64_MAX)) == NULL)
			continue;
		sl_text_fold(held, strlen(held), b, sizeof b);
		if (strcmp(a, b) == 0)
			return ms->m[i].org;
	}
	return NULL;
}

size_t
sl_members_count(const struct sl_members *ms)
{
	size_t n = 0;

	for (size_t i = 0; i < ms->nm; i++)
		n += ms->m[i].member;
	return n;
}
