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

/* A KEYS value (at most SL_APPROVALS_MAX keys, ascending) into the keys
 * of cuts (upto 0). */
static const char *
read_keys(struct sl_mp *m, struct sl_mcut *cuts, uint32_t *n)
{
	uint32_t len;

	if (sl_mp_read_array(m, &len, SL_APPROVALS_MAX) != SL_OK || len == 0)
		return "is not a list of 1 to 32 keys";
	for (uint32_t i = 0; i < len; i++) {
		const uint8_t *b;
		uint32_t bl;

		if (sl_mp_read_bin(m, &b, &bl, SL_KEY_LEN, SL_KEY_LEN) != SL_OK)
			return "is not a list of keys (32 bytes each)";
		if (i > 0 && memcmp(cuts[i - 1].device, b, SL_KEY_LEN) >= 0)
			return "does not list its keys in ascending order "
			    "once each";
		memcpy(cuts[i].device, b, SL_KEY_LEN);
		cuts[i].upto = 0;
	}
	*n = len;
	return NULL;
}

/* An APPROVALS value: [key, upto, devices, sig] each, keys ascending. */
struct approval {
	uint8_t key[SL_KEY_LEN];
	uint64_t upto;
	uint32_t ncuts;
	struct sl_mcut cuts[SL_CUTS_MAX];
	uint8_t sig[SL_SIG_LEN];
};
struct approvals {
	uint32_t n;
	struct approval a[SL_APPROVALS_MAX];
};

static const char *
read_approvals(struct sl_mp *m, struct approvals *ap)
{
	uint32_t len;

	if (sl_mp_read_array(m, &len, SL_APPROVALS_MAX) != SL_OK || len == 0)
		return "is not a list of 1 to 32 approvals";
	for (uint32_t i = 0; i < len; i++) {
		struct approval *a = &ap->a[i];
		const uint8_t *b, *sig;
		uint32_t four, bl;

		if (sl_mp_read_array(m, &four, 4) != SL_OK || four != 4 ||
		    sl_mp_read_bin(m, &b, &bl, SL_KEY_LEN, SL_KEY_LEN) !=
		    SL_OK || sl_mp_read_uint(m, &a->upto) != SL_OK)
			return "is not a list of [key, seq, devices, "
			    "signature] approvals";
		if (read_cuts(m, a->cuts, &a->ncuts) != NULL)
			return "has an approval whose devices are not a list "
			    "of [device key, seq] pairs";
		if (sl_mp_read_bin(m, &sig, &bl, SL_SIG_LEN, SL_SIG_LEN) !=
		    SL_OK)
			return "has an approval without a signature";
		if (i > 0 && memcmp(ap->a[i - 1].key, b, SL_KEY_LEN) >= 0)
			return "does not list its approvers in ascending "
			    "order once each";
		memcpy(a->key, b, SL_KEY_LEN);
		memcpy(a->sig, sig, SL_SIG_LEN);
	}
	ap->n = len;
	return NULL;
}

/* Takes c into e's cuts: the higher seq of a device listed twice.  False
 * if that makes more than SL_CUTS_MAX. */
static bool
merge_cut(struct sl_mev *e, const struct sl_mcut *c)
{
	uint32_t i;

	for (i = 0; i < e->ncuts; i++)
		if (memcmp(e->cuts[i].device, c->device, SL_KEY_LEN) == 0) {
			if (c->upto > e->cuts[i].upto)
				e->cuts[i].upto = c->upto;
			return true;
		}
	if (e->ncuts == SL_CUTS_MAX)
		return false;
	e->cuts[e->ncuts++] = *c;
	return true;
}

/* A KEYS value is read into a CUTS-sized list. */
_Static_assert(SL_APPROVALS_MAX <= SL_CUTS_MAX, "a KEYS value fits a list");

/* The content rule for a list value (KEYS or CUTS) read by rd: all of
 * v, and nothing after it. */
static int
list_check(const char *(*rd)(struct sl_mp *, struct sl_mcut *, uint32_t *),
    const uint8_t *v, size_t len, char *why, size_t wlen)
{
	struct sl_mcut list[SL_CUTS_MAX];
	struct sl_mp m;
	uint32_t n;
	const char *w;

	sl_mp_init(&m, v, len);
	if ((w = rd(&m, list, &n)) == NULL && !sl_mp_at_end(&m))
		w = "has bytes after its value";
	if (w == NULL)
		return SL_OK;
	return sl_why(why, wlen, "%s", w);
}

int
sl_keys_check(const uint8_t *v, size_t len, char *why, size_t wlen)
{
	return list_check(read_keys, v, len, why, wlen);
}

int
sl_approvals_check(const uint8_t *v, size_t len, char *why, size_t wlen)
{
	struct approvals *ap = malloc(sizeof *ap);
	struct sl_mp m;
	const char *w;

	if (ap == NULL)
		return sl_why(why, wlen, "cannot be read (out of memory)");
	sl_mp_init(&m, v, len);
	if ((w = read_approvals(&m, ap)) == NULL && !sl_mp_at_end(&m))
		w = "has bytes after its value";
	free(ap);
	if (w == NULL)
		return SL_OK;
	return sl_why(why, wlen, "%s", w);
}

static const char *const mact_names[] = { "", "admit", "retire", "policy",
	"keeper" };

const char *
sl_mact_name(enum sl_mact act)
{
	return (unsigned)act < 5 ? mact_names[act] : "";
}

enum sl_mact
sl_mact_parse(const char *s, size_t n)
{
	for (unsigned i = 1; i < 5; i++)
		if (strlen(mact_names[i]) == n && memcmp(mact_names[i], s, n) == 0)
			return (enum sl_mact)i;
	return SL_MACT_NONE;
}

void
sl_approval_hash(uint8_t out[SL_HASH_LEN], enum sl_mact act,
    const uint8_t ledger[SL_KEY_LEN], const uint8_t org[SL_KEY_LEN],
    uint64_t term, const char *name, uint64_t upto,
    const struct sl_mcut *extra, uint32_t nextra)
{
	uint8_t b[16 + 1 + 2 * SL_KEY_LEN + 16 + SL_HASH_LEN];
	size_t nl = strlen(name), n = 0;

	memcpy(b, "member.approved", 16); /* with its NUL */
	n = 16;
	b[n++] = (uint8_t)act;
	memcpy(b + n, ledger, SL_KEY_LEN);
	n += SL_KEY_LEN;
	memcpy(b + n, org, SL_KEY_LEN);
	n += SL_KEY_LEN;
	for (int i = 0; i < 8; i++)
		b[n++] = (uint8_t)(term >> (56 - 8 * i));
	for (int i = 0; i < 8; i++)
		b[n++] = (uint8_t)(upto >> (56 - 8 * i));
	/* The rest, hashed: the name, then each key and seq listed. */
	{
		uint8_t tail[SL_ORG_MAX + SL_CUTS_MAX * (SL_KEY_LEN + 8)];
		size_t tn = 0;

		if (nl > SL_ORG_MAX)
			nl = SL_ORG_MAX;
		for (size_t i = 0; i < nl; i++)
			tail[tn++] = (uint8_t)name[i];
		for (uint32_t i = 0; i < nextra && i < SL_CUTS_MAX; i++) {
			memcpy(tail + tn, extra[i].device, SL_KEY_LEN);
			tn += SL_KEY_LEN;
			for (int j = 0; j < 8; j++)
				tail[tn++] = (uint8_t)(extra[i].upto >>
				    (56 - 8 * j));
		}
		sl_sha256(b + n, tail, tn);
		n += SL_HASH_LEN;
	}
	sl_sha256(out, b, n);
}

int
sl_cuts_check(const uint8_t *v, size_t len, char *why, size_t wlen)
{
	return list_check(read_cuts, v, len, why, wlen);
}

/* The membership event types, and what each is. */
static enum sl_mev_type
mev_type(const char *type, size_t len)
{
	static const struct {
		const char *type;
		enum sl_mev_type t;
	} types[] = { { "member.admitted", SL_MEV_ADMIT },
		{ "member.retired", SL_MEV_RETIRE },
		{ "member.renamed", SL_MEV_RENAME },
		{ "device.added", SL_MEV_DEVICE },
		{ "device.revoked", SL_MEV_REVOKE },
		{ "member.approved", SL_MEV_APPROVE },
		{ "member.policy", SL_MEV_POLICY } };

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strlen(types[i].type) == len &&
		    memcmp(types[i].type, type, len) == 0)
			return types[i].t;
	return 0;
}

bool
sl_mev_type(const char *type, size_t type_len)
{
	return mev_type(type, type_len) != 0;
}

int
sl_mev_decode(const struct sl_event *ev, struct sl_mev *out)
{
	struct sl_mp m;
	uint32_t n;
	bool have_org = false, have_dev = false;
	struct approvals *ap = NULL;

	memset(out, 0, sizeof *out);
	if ((out->type = mev_type(ev->type, ev->type_len)) == 0)
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
			goto bad;
		if (sl_mp_read_nil(&m))
			continue; /* not given */
		if (kl == 3 && memcmp(k, "org", 3) == 0) {
			if (!read_key(&m, out->org))
				goto bad;
			have_org = true;
		} else if (kl == 6 && memcmp(k, "device", 6) == 0) {
			if (!read_key(&m, out->device))
				goto bad;
			have_dev = true;
		} else if (kl == 4 && memcmp(k, "name", 4) == 0) {
			if (sl_mp_read_str(&m, &s, &sn, 0, SL_ORG_MAX) != SL_OK)
				goto bad;
			memcpy(out->name, s, sn);
			out->name[sn] = '\0';
		} else if (kl == 4 && memcmp(k, "upto", 4) == 0) {
			if (sl_mp_read_uint(&m, &out->upto) != SL_OK)
				goto bad;
		} else if (kl == 4 && memcmp(k, "cert", 4) == 0) {
			out->certified = true;
			if (sl_mp_skip(&m, NULL, NULL) != SL_OK)
				goto bad;
		} else if (kl == 7 && memcmp(k, "devices", 7) == 0 &&
		    (out->type == SL_MEV_RETIRE ||
		    out->type == SL_MEV_APPROVE)) {
			if (read_cuts(&m, out->cuts, &out->ncuts) != NULL)
				goto bad;
		} else if (kl == 7 && memcmp(k, "members", 7) == 0) {
			if (read_keys(&m, out->cuts, &out->ncuts) != NULL)
				goto bad;
		} else if (kl == 6 && memcmp(k, "ledger", 6) == 0) {
			if (!read_key(&m, out->ledger))
				goto bad;
			out->ledgered = true;
		} else if (kl == 4 && memcmp(k, "term", 4) == 0) {
			if (sl_mp_read_uint(&m, &out->term) != SL_OK)
				goto bad;
		} else if (kl == 3 && memcmp(k, "act", 3) == 0) {
			if (sl_mp_read_str(&m, &s, &sn, 0, 16) != SL_OK)
				goto bad;
			out->act = sl_mact_parse(s, sn);
		} else if (kl == 3 && memcmp(k, "sig", 3) == 0) {
			const uint8_t *b;

			if (sl_mp_read_bin(&m, &b, &sn, SL_SIG_LEN,
			    SL_SIG_LEN) != SL_OK)
				goto bad;
			memcpy(out->sig, b, SL_SIG_LEN);
		} else if (kl == 9 && memcmp(k, "approvals", 9) == 0 &&
		    ap == NULL) {
			if ((ap = malloc(sizeof *ap)) == NULL)
				return SL_ENOMEM; /* nothing held yet */
			if (read_approvals(&m, ap) != NULL)
				goto bad;
		} else if (sl_mp_skip(&m, NULL, NULL) != SL_OK) {
			goto bad;
		}
	}
	if (out->type == SL_MEV_POLICY && have_org) {
		/* A handoff: org is the ledger's new keeper. */
		out->act = SL_MACT_KEEPER;
	} else if (out->type == SL_MEV_POLICY) {
		/* A policy's org is its ledger (the proposer's key). */
		memcpy(out->org, out->ledger, SL_KEY_LEN);
		have_org = out->ledgered;
	}
	if (!have_org || ((out->type == SL_MEV_DEVICE ||
	    out->type == SL_MEV_REVOKE) && !have_dev))
		goto bad;
	if (ap != NULL) {
		/* An entry's approvers; a retirement cuts at the highest
		 * seq any of them had seen, of the key and of each device
		 * (the content rules checked every signature). */
		if (!out->ledgered)
			goto bad;
		out->napp = ap->n;
		for (uint32_t i = 0; i < ap->n; i++) {
			memcpy(out->app[i], ap->a[i].key, SL_KEY_LEN);
			out->app_upto[i] = ap->a[i].upto;
		}
		if (out->act == SL_MACT_KEEPER) {
			/* The old keeper's entries count up to the highest
			 * seq any approver had seen of it. */
			out->upto = 0;
			for (uint32_t i = 0; i < ap->n; i++)
				if (ap->a[i].upto > out->upto)
					out->upto = ap->a[i].upto;
		}
		if (out->type == SL_MEV_RETIRE) {
			out->upto = 0;
			out->ncuts = 0;
			for (uint32_t i = 0; i < ap->n; i++) {
				if (ap->a[i].upto > out->upto)
					out->upto = ap->a[i].upto;
				for (uint32_t c = 0; c < ap->a[i].ncuts; c++)
					if (!merge_cut(out, &ap->a[i].cuts[c]))
						goto bad;
			}
		}
	}
	if (out->type == SL_MEV_APPROVE) {
		uint8_t h[SL_HASH_LEN];

		/* Its signature is its origin's: checked here, where the
		 * origin is known (a bad one makes no approval). */
		if (!out->ledgered || out->act == SL_MACT_NONE)
			goto bad;
		sl_approval_hash(h, out->act, out->ledger, out->org, out->term,
		    out->name, out->upto, out->cuts, out->ncuts);
		if (!sl_verify_cert(out->sig, out->origin, h))
			goto bad;
	}
	free(ap);
	return SL_OK;
bad:
	free(ap);
	return SL_EINVAL;
}

/*
 * The content rule for the majority policy's events (12.4): what each
 * may carry, and every approval an entry carries verifies over the
 * statement its fields make.  (An approval event's own signature is its
 * origin's, checked where the origin is known: sl_mev_decode.)
 */
int
sl_ledger_check(const char *type, size_t tlen, const uint8_t *payload,
    size_t plen, char *why, size_t wlen)
{
	struct approvals *ap = NULL;
	struct sl_mcut extra[SL_CUTS_MAX];
	uint8_t ledger[SL_KEY_LEN], org[SL_KEY_LEN], h[SL_HASH_LEN];
	char name[SL_ORG_MAX + 1] = "";
	bool have_ledger = false, have_org = false, have_term = false,
	    have_members = false, have_devices = false, majority = false;
	enum sl_mact act = SL_MACT_NONE;
	uint64_t term = 0, upto = 0;
	uint32_t n, nextra = 0;
	struct sl_mp m;
	int rc = SL_OK;

	if (tlen == 15 && memcmp(type, "member.admitted", 15) == 0)
		act = SL_MACT_ADMIT;
	else if (tlen == 14 && memcmp(type, "member.retired", 14) == 0)
		act = SL_MACT_RETIRE;
	else if (tlen == 13 && memcmp(type, "member.policy", 13) == 0)
		act = SL_MACT_POLICY;
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
		if (kl == 3 && memcmp(k, "org", 3) == 0) {
			have_org = read_key(&m, org);
		} else if (kl == 6 && memcmp(k, "ledger", 6) == 0) {
			have_ledger = read_key(&m, ledger);
		} else if (kl == 4 && memcmp(k, "name", 4) == 0) {
			if (sl_mp_read_str(&m, &s, &sn, 0, SL_ORG_MAX) != SL_OK)
				goto bad;
			memcpy(name, s, sn);
			name[sn] = '\0';
		} else if (kl == 4 && memcmp(k, "term", 4) == 0) {
			if (sl_mp_read_uint(&m, &term) != SL_OK)
				goto bad;
			have_term = true;
		} else if (kl == 4 && memcmp(k, "upto", 4) == 0) {
			if (sl_mp_read_uint(&m, &upto) != SL_OK)
				goto bad;
		} else if (kl == 3 && memcmp(k, "act", 3) == 0 &&
		    tlen == 15 && memcmp(type, "member.approved", 15) == 0) {
			if (sl_mp_read_str(&m, &s, &sn, 0, 16) != SL_OK ||
			    (act = sl_mact_parse(s, sn)) == SL_MACT_NONE) {
				rc = sl_why(why, wlen, "\"act\" is none of admit, "
				    "retire, policy, keeper");
				goto out;
			}
		} else if (kl == 9 && memcmp(k, "admission", 9) == 0) {
			if (sl_mp_read_str(&m, &s, &sn, 0, 16) != SL_OK)
				goto bad;
			majority = sn == 8 && memcmp(s, "majority", 8) == 0;
		} else if (kl == 7 && memcmp(k, "members", 7) == 0) {
			if (read_keys(&m, extra, &nextra) != NULL)
				goto bad;
			have_members = true;
		} else if (kl == 7 && memcmp(k, "devices", 7) == 0) {
			if (read_cuts(&m, extra, &nextra) != NULL)
				goto bad;
			have_devices = true;
		} else if (kl == 9 && memcmp(k, "approvals", 9) == 0 &&
		    ap == NULL) {
			if ((ap = malloc(sizeof *ap)) == NULL) {
				rc = sl_why(why, wlen, "cannot be checked (out "
				    "of memory)");
				goto out;
			}
			if (read_approvals(&m, ap) != NULL)
				goto bad;
		} else if (sl_mp_skip(&m, NULL, NULL) != SL_OK) {
			goto bad;
		}
	}
	if (tlen == 15 && memcmp(type, "member.approved", 15) == 0) {
		/* One approval: what it approves, nothing else. */
		if (!have_ledger || !have_org || !have_term ||
		    act == SL_MACT_NONE)
			goto bad;
		if (act == SL_MACT_POLICY && (!have_members || have_devices ||
		    name[0] != '\0' || upto != 0 ||
		    memcmp(org, ledger, SL_KEY_LEN) != 0 || term != 0))
			goto bad_policy;
		if (act != SL_MACT_POLICY && have_members)
			goto bad;
		if (act == SL_MACT_ADMIT && (have_devices || upto != 0))
			goto bad;
		if (act == SL_MACT_RETIRE && name[0] != '\0')
			goto bad;
		if (act == SL_MACT_KEEPER && (have_devices || name[0] != '\0'))
			goto bad;
		goto out;
	}
	if (act == SL_MACT_POLICY && have_org) {
		/* A handoff to a new keeper (org): its term and the old
		 * keeper's last seq each approval saw. */
		act = SL_MACT_KEEPER;
		if (!majority || !have_ledger || !have_term || ap == NULL ||
		    have_members || have_devices || name[0] != '\0')
			goto bad_policy;
	} else if (act == SL_MACT_POLICY) {
		if (!majority) {
			rc = sl_why(why, wlen, "\"admission\" is not "
			    "\"majority\"");
			goto out;
		}
		if (!have_ledger || !have_members || ap == NULL || have_term ||
		    have_org || have_devices)
			goto bad_policy;
		memcpy(org, ledger, SL_KEY_LEN);
		name[0] = '\0';
	} else if (!have_ledger && !have_term && ap == NULL) {
		goto out; /* an entry of no ledger (one member admits) */
	} else if (!have_ledger || !have_term || ap == NULL || !have_org ||
	    have_members) {
		rc = sl_why(why, wlen, "an entry of a ledger carries "
		    "\"ledger\", \"term\" and \"approvals\"");
		goto out;
	}
	if (act == SL_MACT_RETIRE) {
		/* What sl_mev_decode merges must fit, or the entry would be
		 * taken and mean nothing. */
		struct sl_mev *mg = calloc(1, sizeof *mg);
		bool fits = mg != NULL;

		for (uint32_t i = 0; fits && i < ap->n; i++)
			for (uint32_t c = 0; fits && c < ap->a[i].ncuts; c++)
				fits = merge_cut(mg, &ap->a[i].cuts[c]);
		free(mg);
		if (!fits) {
			rc = sl_why(why, wlen, "its approvals list more than "
			    "32 devices in all");
			goto out;
		}
	}
	for (uint32_t i = 0; i < ap->n; i++) {
		const struct approval *a = &ap->a[i];

		if (act == SL_MACT_RETIRE)
			sl_approval_hash(h, act, ledger, org, term, "", a->upto,
			    a->cuts, a->ncuts);
		else if (act == SL_MACT_KEEPER && a->ncuts == 0)
			sl_approval_hash(h, act, ledger, org, term, "", a->upto,
			    NULL, 0);
		else if (a->upto != 0 || a->ncuts != 0)
			goto bad;
		else if (act == SL_MACT_POLICY)
			sl_approval_hash(h, act, ledger, org, 0, "", 0, extra,
			    nextra);
		else
			sl_approval_hash(h, act, ledger, org, term, name, 0,
			    NULL, 0);
		if (!sl_verify_cert(a->sig, a->key, h)) {
			rc = sl_why(why, wlen, "approval %u is not its key's "
			    "signature of what the entry says", i + 1);
			goto out;
		}
	}
	goto out;
bad_policy:
	rc = sl_why(why, wlen, "is not a policy statement (ledger, members "
	    "and approvals; or, handing a ledger on, ledger, org, term and "
	    "approvals)");
	goto out;
bad:
	rc = sl_why(why, wlen, "is not a statement of the majority policy");
out:
	free(ap);
	return rc;
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
	free(ms->lret);
	free(ms->lret_upto);
	free(ms->voters);
	free(ms->terms);
	memset(ms, 0, sizeof *ms);
}

void
sl_members_set_inviter(struct sl_members *ms, const uint8_t *org)
{
	ms->has_inviter = org != NULL;
	if (org != NULL)
		memcpy(ms->inviter, org, SL_KEY_LEN);
	ms->dirty = true;
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
	ms->nledger += e->type == SL_MEV_APPROVE || e->type == SL_MEV_POLICY;
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
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];

		if ((rc = push_key(ms, e->org)) != SL_OK ||
		    (rc = push_key(ms, e->origin)) != SL_OK)
			return rc;
		/* A policy's members are organisations too. */
		for (uint32_t c = 0; (e->type == SL_MEV_POLICY ||
		    (e->type == SL_MEV_APPROVE && e->act == SL_MACT_POLICY)) &&
		    c < e->ncuts; c++)
			if ((rc = push_key(ms, e->cuts[c].device)) != SL_OK)
				return rc;
	}
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
	if ((d = calloc(n + 1, sizeof *d)) == NULL)
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

/*
 * The majority policy (PROTOCOL.md 12.4).
 *
 * A policy in its proposer's chain, approved by every member it lists,
 * starts a *ledger*: from then on, the members are the ones it lists and
 * those its later entries admit, in the order of the chain that keeps
 * it (the proposer's, and after a rotation the new key's), each entry
 * approved by more than half of the members voting at that point (a
 * retirement also by the retired organisation alone: it leaves).  The
 * chain orders the entries, so a majority is always of the members of
 * the moment: approvals given when a few were a majority count for
 * nothing once more have joined.  A ledger governs a node if the node's
 * organisation approved something in it and the ledger made it a
 * member: another ledger (one a member made up, with its own puppets)
 * cannot take the node over.  Where none governs, one member admits.
 */
static int closure_one(struct sl_members *ms);

struct walk {
	uint8_t (*vote)[SL_KEY_LEN];  /* the members voting now */
	size_t nvote;
	uint8_t (*ever)[SL_KEY_LEN];  /* every member it had */
	size_t never;
	struct sl_mcut *terms;        /* entries about each organisation */
	size_t nterms;
	size_t *adm, nadm;            /* the entries that took effect */
	size_t *ret, nret;
	size_t *chain;                /* (walking) one chain's events */
	uint8_t keeper[SL_KEY_LEN];
	uint8_t ledger[SL_KEY_LEN];
	uint64_t handoffs;            /* keepers before the one now */
	size_t *hand, nhand;          /* the handoffs of this ledger held */
	/* Each handoff's standing, worked out again only when the voters
	 * (or the keeper, or the term) change: vgen counts those. */
	uint64_t vgen, *hgen, *hcut;
	bool *hok;
	uint64_t *ret_upto;           /* each retirement's cut-off */
};

static void
walk_free(struct walk *w)
{
	free(w->vote);
	free(w->ever);
	free(w->terms);
	free(w->adm);
	free(w->ret);
	free(w->chain);
	free(w->hand);
	free(w->hgen);
	free(w->hcut);
	free(w->hok);
	free(w->ret_upto);
	memset(w, 0, sizeof *w);
}

static bool
in_keys(uint8_t (*k)[SL_KEY_LEN], size_t n, const uint8_t *key)
{
	for (size_t i = 0; i < n; i++)
		if (key_cmp(k[i], key) == 0)
			return true;
	return false;
}

static uint64_t
term_of(const struct walk *w, const uint8_t *org)
{
	for (size_t i = 0; i < w->nterms; i++)
		if (key_cmp(w->terms[i].device, org) == 0)
			return w->terms[i].upto;
	return 0;
}

static void
term_up(struct walk *w, const uint8_t *org)
{
	for (size_t i = 0; i < w->nterms; i++)
		if (key_cmp(w->terms[i].device, org) == 0) {
			w->terms[i].upto++;
			return;
		}
	memcpy(w->terms[w->nterms].device, org, SL_KEY_LEN);
	w->terms[w->nterms++].upto = 1;
}

/* Is the event seq of origin within the cut-offs the last round left
 * (a keeper's entries after its chain's end do not count)? */
static bool
within(const struct sl_members *ms, const uint8_t *origin, uint64_t seq)
{
	const struct sl_device *d = find_device(ms, origin);
	const struct sl_member *m;

	if (d != NULL)
		return !d->contested && seq <= d->upto;
	m = find(ms, origin);
	return m != NULL && seq <= m->upto && seq <= m->chain_upto;
}

/*
 * Does approval key k in entry (or policy) e speak for its organisation?
 * An organisation key does; a device does while nothing cuts it.  A
 * device a revocation (or its organisation's retirement) cut speaks
 * only by an approval event of the same motion in its own chain within
 * its cut-off: an approval carries no seq, so a stolen key its
 * organisation revoked would otherwise speak for it for ever.
 */
static bool
approval_ok(const struct sl_members *ms, const struct sl_mev *e,
    uint32_t ai)
{
	const uint8_t *k = e->app[ai];
	const struct sl_device *d = find_device(ms, k);
	enum sl_mact act = e->type == SL_MEV_ADMIT ? SL_MACT_ADMIT :
	    e->type == SL_MEV_RETIRE ? SL_MACT_RETIRE :
	    e->act == SL_MACT_KEEPER ? SL_MACT_KEEPER : SL_MACT_POLICY;

	if (d == NULL || d->contested || d->upto == UINT64_MAX)
		return true;
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *a = &ms->ev[i];

		if (a->type != SL_MEV_APPROVE || a->act != act ||
		    key_cmp(a->origin, k) != 0 || a->seq > d->upto ||
		    key_cmp(a->ledger, e->ledger) != 0 ||
		    key_cmp(a->org, e->org) != 0 ||
		    (act != SL_MACT_POLICY && a->term != e->term))
			continue;
		if (act == SL_MACT_ADMIT && strcmp(a->name, e->name) != 0)
			continue;
		/* The seq it named, too: a stolen key re-signing names
		 * another. */
		if ((act == SL_MACT_RETIRE || act == SL_MACT_KEEPER) &&
		    a->upto != e->app_upto[ai])
			continue;
		if (act == SL_MACT_POLICY) {
			bool same = a->ncuts == e->ncuts;

			for (uint32_t c = 0; same && c < a->ncuts; c++)
				same = key_cmp(a->cuts[c].device,
				    e->cuts[c].device) == 0;
			if (!same)
				continue;
		}
		return true;
	}
	return false;
}

/* How many organisations among vote approved entry e (their keys'
 * organisations, each once); *self: did e->org approve it? */
static size_t
approvers(const struct sl_members *ms, const struct sl_mev *e,
    uint8_t (*vote)[SL_KEY_LEN], size_t nvote, bool *self)
{
	uint8_t seen[SL_APPROVALS_MAX][SL_KEY_LEN];
	size_t n = 0;

	*self = false;
	for (uint32_t i = 0; i < e->napp; i++) {
		const uint8_t *o = org_of(ms, e->app[i]);

		if (!approval_ok(ms, e, i))
			continue;

		if (key_cmp(o, e->org) == 0)
			*self = true;
		if (!in_keys(vote, nvote, o) || in_keys(seen, n, o))
			continue;
		memcpy(seen[n++], o, SL_KEY_LEN);
	}
	return n;
}

/* Is P a policy that starts a ledger: in its proposer's own chain, the
 * proposer's organisation among its members, approved by every member,
 * and the first such of that chain? */
static bool
policy_valid(const struct sl_members *ms, const struct sl_mev *P)
{
	bool self;

	if (P->type != SL_MEV_POLICY || !P->ledgered ||
	    key_cmp(P->ledger, P->origin) != 0 || P->ncuts == 0)
		return false;
	{
		uint8_t list[SL_APPROVALS_MAX][SL_KEY_LEN];

		for (uint32_t c = 0; c < P->ncuts; c++)
			memcpy(list[c], P->cuts[c].device, SL_KEY_LEN);
		if (!in_keys(list, P->ncuts, org_of(ms, P->origin)) ||
		    approvers(ms, P, list, P->ncuts, &self) != P->ncuts)
			return false;
	}
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];

		if (e == P)
			return true;
		if (e->type == SL_MEV_POLICY && key_cmp(e->origin,
		    P->origin) == 0 && e->seq < P->seq &&
		    policy_valid(ms, e))
			return false;
	}
	return true;
}

/* Indexes into ms->ev of one chain's events, by seq (insertion: a
 * chain's events arrive nearly in order). */
static void
chain_sort(const struct sl_members *ms, size_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && ms->ev[v[j]].seq <
		    ms->ev[v[j - 1]].seq; j--) {
			size_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/*
 * A handoff of the ledger away from keeper chain `chain` that takes
 * effect once the walk has read that chain up to pos: in the new
 * keeper's own chain (org is its origin), of this ledger and the next
 * term of handoffs, cutting the old chain at or before pos, approved by
 * more than half of the members voting now, the new keeper among them.
 * Of several, the lowest cut, then the lowest key.  NULL if none.
 */
/* The highest seq named by the approvals of e that count: by members
 * voting now (or, for a retirement, the retired organisation itself),
 * each by a key that speaks for its organisation.  What the last of
 * them had seen; a key of no member names nothing. */
static uint64_t
counted_cut(const struct sl_members *ms, const struct sl_mev *e,
    uint8_t (*vote)[SL_KEY_LEN], size_t nvote)
{
	uint64_t cut = 0;

	for (uint32_t i = 0; i < e->napp; i++) {
		const uint8_t *o = org_of(ms, e->app[i]);

		if (!approval_ok(ms, e, i) || (!in_keys(vote, nvote, o) &&
		    !(e->type == SL_MEV_RETIRE && key_cmp(o, e->org) == 0)))
			continue;
		if (e->app_upto[i] > cut)
			cut = e->app_upto[i];
	}
	return cut;
}

static const struct sl_mev *
handoff(const struct sl_members *ms, struct walk *w, const uint8_t *chain,
    uint64_t pos)
{
	const struct sl_mev *best = NULL;
	uint64_t best_cut = 0;

	for (size_t h = 0; h < w->nhand; h++) {
		const struct sl_mev *e = &ms->ev[w->hand[h]];
		bool self;

		/* Its standing changes only with the voters, the keeper or
		 * the term: worked out again only then. */
		if (w->hgen[h] != w->vgen + 1) {
			w->hgen[h] = w->vgen + 1;
			w->hok[h] = e->term == w->handoffs &&
			    key_cmp(e->origin, e->org) == 0 &&
			    key_cmp(e->origin, chain) != 0 &&
			    in_keys(w->vote, w->nvote, org_of(ms, e->org)) &&
			    within(ms, e->origin, e->seq) &&
			    2 * approvers(ms, e, w->vote, w->nvote, &self) >
			    w->nvote;
			w->hcut[h] = w->hok[h] ? counted_cut(ms, e, w->vote,
			    w->nvote) : 0;
		}
		if (!w->hok[h] || w->hcut[h] > pos)
			continue;
		if (best == NULL || w->hcut[h] < best_cut || (w->hcut[h] ==
		    best_cut && key_cmp(e->origin, best->origin) < 0)) {
			best = e;
			best_cut = w->hcut[h];
		}
	}
	return best;
}

/* The ledger P starts, walked in its keeper's chain order. */
static int
walk(const struct sl_members *ms, const struct sl_mev *P, struct walk *w)
{
	uint8_t chain[SL_KEY_LEN];
	uint64_t after = P->seq;
	size_t cap = ms->nm + SL_APPROVALS_MAX;

	memset(w, 0, sizeof *w);
	w->vote = malloc(cap * sizeof *w->vote);
	w->ever = malloc(cap * sizeof *w->ever);
	w->terms = malloc(cap * sizeof *w->terms);
	w->adm = malloc((ms->nev + 1) * sizeof *w->adm);
	w->ret = malloc((ms->nev + 1) * sizeof *w->ret);
	w->chain = malloc((ms->nev + 1) * sizeof *w->chain);
	w->hand = malloc((ms->nev + 1) * sizeof *w->hand);
	w->hgen = calloc(ms->nev + 1, sizeof *w->hgen);
	w->hcut = calloc(ms->nev + 1, sizeof *w->hcut);
	w->hok = calloc(ms->nev + 1, sizeof *w->hok);
	w->ret_upto = malloc((ms->nev + 1) * sizeof *w->ret_upto);
	if (w->vote == NULL || w->ever == NULL || w->terms == NULL ||
	    w->adm == NULL || w->ret == NULL || w->chain == NULL ||
	    w->hand == NULL || w->hgen == NULL || w->hcut == NULL ||
	    w->hok == NULL || w->ret_upto == NULL) {
		walk_free(w);
		return SL_ENOMEM;
	}
	for (size_t i = 0; i < ms->nev; i++)
		if (ms->ev[i].type == SL_MEV_POLICY &&
		    ms->ev[i].act == SL_MACT_KEEPER && ms->ev[i].ledgered &&
		    key_cmp(ms->ev[i].ledger, P->ledger) == 0)
			w->hand[w->nhand++] = i;
	for (uint32_t c = 0; c < P->ncuts; c++) {
		memcpy(w->vote[w->nvote++], P->cuts[c].device, SL_KEY_LEN);
		memcpy(w->ever[w->never++], P->cuts[c].device, SL_KEY_LEN);
	}
	memcpy(chain, P->origin, SL_KEY_LEN);
	memcpy(w->ledger, P->ledger, SL_KEY_LEN);
	for (int hop = 0; hop < 64; hop++) {
		uint64_t last = 0, end = UINT64_MAX;
		const struct sl_mev *next = NULL, *hand = NULL;

		/* The chain's events after the start, in seq order. */
		size_t nc = 0;

		for (size_t i = 0; i < ms->nev; i++)
			if (key_cmp(ms->ev[i].origin, chain) == 0 &&
			    ms->ev[i].seq > after)
				w->chain[nc++] = i;
		chain_sort(ms, w->chain, nc);
		for (size_t c = 0; c < nc; c++) {
			const struct sl_mev *e = &ms->ev[w->chain[c]];

			if (e->seq == last)
				continue; /* held twice: not in one store */
			/* The members handed the ledger on before this
			 * entry. */
			if ((hand = handoff(ms, w, chain, e->seq - 1)) != NULL)
				break;
			last = e->seq;
			if (!within(ms, chain, e->seq))
				break;
			/* A rotation: the chain's key ends, its new key
			 * (certified in it before) keeps the ledger. */
			if (e->type == SL_MEV_DEVICE &&
			    key_cmp(e->org, org_of(ms, chain)) == 0)
				next = e;
			if (e->type == SL_MEV_REVOKE && !e->certified &&
			    key_cmp(e->device, chain) == 0) {
				end = e->seq;
				break;
			}
			if (e->type == SL_MEV_REVOKE &&
			    key_cmp(e->device, chain) == 0 &&
			    key_cmp(e->org, chain) == 0) {
				end = e->seq;
				break;
			}
			if ((e->type != SL_MEV_ADMIT &&
			    e->type != SL_MEV_RETIRE) || !e->ledgered ||
			    e->napp == 0 || key_cmp(e->ledger, P->ledger) != 0 ||
			    e->term != term_of(w, e->org))
				continue;
			bool self;
			size_t n = approvers(ms, e, w->vote, w->nvote, &self);

			if (e->type == SL_MEV_ADMIT) {
				const struct sl_device *dv =
				    find_device(ms, e->org);

				/* A retired key stays retired (it joins
				 * again as a new node). */
				if (in_keys(w->ever, w->never, e->org) ||
				    (dv != NULL && !dv->contested) ||
				    2 * n <= w->nvote)
					continue;
				memcpy(w->vote[w->nvote++], e->org, SL_KEY_LEN);
				memcpy(w->ever[w->never++], e->org, SL_KEY_LEN);
				w->adm[w->nadm++] = (size_t)(e - ms->ev);
				w->vgen++;
			} else {
				size_t k;

				if (!in_keys(w->vote, w->nvote, e->org) ||
				    (2 * n <= w->nvote && !self))
					continue;
				/* Cut where the last of the approvers that
				 * count had seen it. */
				w->ret_upto[w->nret] = counted_cut(ms, e, w->vote,
				    w->nvote);
				for (k = 0; key_cmp(w->vote[k], e->org) != 0;
				    k++)
					;
				memmove(w->vote[k], w->vote[k + 1],
				    (w->nvote - k - 1) * sizeof w->vote[0]);
				w->nvote--;
				w->ret[w->nret++] = (size_t)(e - ms->ev);
				w->vgen++;
			}
			term_up(w, e->org);
			if (w->nvote + 1 >= cap || w->never + 1 >= cap ||
			    w->nterms + 1 >= cap)
				break; /* cannot grow past the organisations
					  named */
		}
		/* Handed on at or after the end of what this node holds of
		 * the chain (or of what counts of it). */
		if (hand == NULL)
			hand = handoff(ms, w, chain, UINT64_MAX);
		if (hand != NULL) {
			memcpy(chain, hand->origin, SL_KEY_LEN);
			after = hand->seq;
			w->handoffs++;
			w->vgen++;
			continue;
		}
		if (next == NULL || end == UINT64_MAX || next->seq > end)
			break;
		memcpy(chain, next->device, SL_KEY_LEN);
		after = 0;
		w->vgen++;
	}
	memcpy(w->keeper, chain, SL_KEY_LEN);
	return SL_OK;
}

/* Does policy approval a approve P's own list of members? */
static bool
same_list(const struct sl_mev *a, const struct sl_mev *P)
{
	if (a->ncuts != P->ncuts)
		return false;
	for (uint32_t c = 0; c < a->ncuts; c++)
		if (key_cmp(a->cuts[c].device, P->cuts[c].device) != 0)
			return false;
	return true;
}

/* Has org approved anything in the ledger P starts: its approval in P
 * itself, an approval of P's own list, or of an entry of P's ledger?
 * (Its approval of another proposal of the same keeper, with another
 * list, is no approval of P.) */
static bool
acked_policy(const struct sl_members *ms, const uint8_t *org,
    const struct sl_mev *P)
{
	for (uint32_t a = 0; a < P->napp; a++)
		if (key_cmp(org_of(ms, P->app[a]), org) == 0 &&
		    approval_ok(ms, P, a))
			return true;
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];

		if (e->type != SL_MEV_APPROVE || !e->ledgered ||
		    key_cmp(e->ledger, P->ledger) != 0 ||
		    key_cmp(org_of(ms, e->origin), org) != 0 ||
		    !within(ms, e->origin, e->seq))
			continue;
		if (e->act != SL_MACT_POLICY || same_list(e, P))
			return true;
	}
	return false;
}


/* Which ledger governs the anchor (ms->gov, ms->li and the rest), under
 * the devices now. */
static int
govern(struct sl_members *ms)
{
	ms->gov = false;
	ms->nlret = ms->nvoters = ms->nterms = 0;
	for (size_t i = 0; i < ms->nev; i++)
		ms->ev[i].entered = false;
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *P = &ms->ev[i];
		struct walk w;
		int rc;

		if (P->type != SL_MEV_POLICY || !policy_valid(ms, P) ||
		    !acked_policy(ms, ms->anchor, P))
			continue;
		if ((rc = walk(ms, P, &w)) != SL_OK)
			return rc;
		if (!in_keys(w.ever, w.never, ms->anchor)) {
			walk_free(&w);
			continue;
		}
		ms->gov = true;
		ms->gov_ev = i;
		memcpy(ms->li.ledger, P->ledger, SL_KEY_LEN);
		memcpy(ms->li.keeper, w.keeper, SL_KEY_LEN);
		ms->li.policy_hlc = P->hlc;
		ms->li.voters = w.nvote;
		ms->li.handoffs = w.handoffs;
		for (size_t k = 0; k < ms->nm; k++)
			ms->m[k].member = in_keys(w.ever, w.never, ms->m[k].org);
		free(ms->lret);
		free(ms->voters);
		free(ms->terms);
		ms->lret = w.ret;
		ms->nlret = w.nret;
		free(ms->lret_upto);
		ms->lret_upto = w.ret_upto;
		w.ret_upto = NULL;
		ms->voters = w.vote;
		ms->nvoters = w.nvote;
		ms->terms = w.terms;
		ms->nterms = w.nterms;
		/* The admissions that took effect, for since and names. */
		for (size_t k = 0; k < w.nadm; k++)
			ms->ev[w.adm[k]].entered = true;
		w.ret = NULL;
		w.vote = NULL;
		w.terms = NULL;
		walk_free(&w);
		return SL_OK;
	}
	return SL_OK;
}

/* The closure of admissions from the anchor, and the devices, under the
 * cut-offs now; under a ledger, its members. */
static int
closure(struct sl_members *ms)
{
	int rc;

	if ((rc = closure_one(ms)) != SL_OK || ms->nledger == 0)
		return rc;
	/* The ledger reads the devices; the devices count by the
	 * members it gives: a few rounds settle both. */
	for (int round = 0; round < 4; round++) {
		size_t nd;

		if ((rc = govern(ms)) != SL_OK)
			return rc;
		if (!ms->gov)
			return round == 0 ? SL_OK : closure_one(ms);
		do {
			nd = ms->nd;
			if ((rc = devices(ms)) != SL_OK)
				return rc;
		} while (ms->nd > nd);
	}
	return SL_OK;
}

/* The closure of admissions from the anchor (one member admits). */
static int
closure_one(struct sl_members *ms)
{
	bool grew;
	int rc;

	ms->gov = false;
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
	/* Under a ledger, its retirements: the key at the highest seq its
	 * approvers had seen, each device at the highest they listed (0 if
	 * none did).  The word of every admitter is the rule of one member
	 * admits only. */
	for (size_t r = 0; ms->gov && r < ms->nlret; r++) {
		const struct sl_mev *e = &ms->ev[ms->lret[r]];
		const struct sl_member *m = find(ms, e->org);
		size_t k;

		if (m == NULL)
			continue;
		k = (size_t)(m - ms->m);
		if (ms->lret_upto[r] < next[k])
			next[k] = ms->lret_upto[r];
		for (size_t j = 0; j < ms->nd; j++) {
			uint64_t u = 0;

			if (key_cmp(ms->d[j].org, e->org) != 0)
				continue;
			for (uint32_t c = 0; c < e->ncuts; c++)
				if (key_cmp(e->cuts[c].device, ms->d[j].key) ==
				    0)
					u = e->cuts[c].upto;
			if (u < dnext[j])
				dnext[j] = u;
		}
	}
	for (size_t k = 0; k < ms->nm; k++) {
		uint64_t hi;

		if (!ms->m[k].member || ms->gov ||
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

/* Is org one of the members the governing ledger's policy lists? */
static bool
founding(const struct sl_members *ms, const uint8_t *org)
{
	const struct sl_mev *P;

	if (!ms->gov)
		return false;
	P = &ms->ev[ms->gov_ev];
	for (uint32_t c = 0; c < P->ncuts; c++)
		if (key_cmp(P->cuts[c].device, org) == 0)
			return true;
	return false;
}

/* The organisation that first asked for ledger entry e (the earliest
 * approval of its motion: the inviter, the one that asked to retire),
 * else the keeper's. */
static const uint8_t *
first_asked(const struct sl_members *ms, const struct sl_mev *e)
{
	enum sl_mact act = e->type == SL_MEV_ADMIT ? SL_MACT_ADMIT :
	    SL_MACT_RETIRE;

	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *a = &ms->ev[i];

		if (a->type == SL_MEV_APPROVE && a->act == act &&
		    a->term == e->term && key_cmp(a->org, e->org) == 0 &&
		    key_cmp(a->ledger, e->ledger) == 0 &&
		    key_cmp(org_of(ms, a->origin), e->org) != 0)
			return org_of(ms, a->origin);
	}
	return org_of(ms, e->origin);
}

static bool
is_lret(const struct sl_members *ms, size_t i)
{
	for (size_t r = 0; ms->gov && r < ms->nlret; r++)
		if (ms->lret[r] == i)
			return true;
	return false;
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
		/* Under a ledger only its entries admit and retire others
		 * (the members it started with keep how they came in). */
		if (ms->gov && (e->type == SL_MEV_ADMIT ||
		    (e->type == SL_MEV_RETIRE && key_cmp(e->origin, e->org) !=
		    0)) && !e->entered && !is_lret(ms, i) &&
		    !(e->type == SL_MEV_ADMIT && founding(ms, e->org)))
			continue;
		if (e->type == SL_MEV_ADMIT && m->since == 0 &&
		    key_cmp(org_of(ms, e->origin), e->org) != 0) {
			m->since = e->hlc;
			/* By majority: the member that asked first. */
			memcpy(m->by, e->entered ? first_asked(ms, e) :
			    org_of(ms, e->origin), SL_KEY_LEN);
		}
		if (e->type == SL_MEV_RETIRE && m->upto != UINT64_MAX &&
		    m->retired_hlc == 0 && (key_cmp(e->origin, e->org) == 0 ||
		    key_cmp(org_of(ms, e->origin), e->org) != 0)) {
			m->retired_hlc = e->hlc;
			memcpy(m->retired_by, is_lret(ms, i) ? first_asked(ms, e) :
			    org_of(ms, e->origin), SL_KEY_LEN);
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
		    !m->member || !counts(ms, e) || m->named ||
		    (ms->gov && !e->entered && !founding(ms, e->org)))
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

/* ---- the majority policy, for the commands (12.4) --------------------- */

bool
sl_members_ledger(const struct sl_members *ms, struct sl_ledger_info *out)
{
	if (!ms->gov)
		return false;
	if (out != NULL)
		*out = ms->li;
	return true;
}

/* Do approvals a and b approve the same motion? */
static bool
same_motion(const struct sl_mev *a, const struct sl_mev *b)
{
	if (a->act != b->act || a->term != b->term ||
	    key_cmp(a->ledger, b->ledger) != 0 || key_cmp(a->org, b->org) != 0)
		return false;
	if (a->act == SL_MACT_ADMIT)
		return strcmp(a->name, b->name) == 0;
	if (a->act == SL_MACT_POLICY) {
		if (a->ncuts != b->ncuts)
			return false;
		for (uint32_t c = 0; c < a->ncuts; c++)
			if (key_cmp(a->cuts[c].device, b->cuts[c].device) != 0)
				return false;
	}
	return true; /* a retirement: each approver names its own seqs */
}

/* The ledger a node not (yet) governed by one looks at: one that an
 * organisation its own chain admitted (its inviter) approved; walked
 * into *w.  False if none. */
/* Is this node a newcomer waiting under a ledger: it joined through an
 * organisation (sl_members_set_inviter), and no other organisation
 * admitted it by an admission of its own (under one member admits its
 * inviter would have)?  A founder, or a member of a federation where one
 * member admits, follows no ledger on its own: else any member it
 * admitted could make it follow a ledger of puppets. */
static bool
newcomer(const struct sl_members *ms)
{
	if (!ms->has_inviter)
		return false;
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *a = &ms->ev[i];

		if (a->type == SL_MEV_ADMIT && !a->ledgered &&
		    key_cmp(a->org, ms->anchor) == 0 &&
		    key_cmp(org_of(ms, a->origin), ms->anchor) != 0 &&
		    counts(ms, a))
			return false;
	}
	return true;
}

/* The ledger a newcomer looks at: the one its inviter approved; walked
 * into *w.  False if none. */
static bool
view_ledger(const struct sl_members *ms, struct walk *w)
{
	if (!newcomer(ms))
		return false;
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *P = &ms->ev[i];

		if (P->type != SL_MEV_POLICY || !policy_valid(ms, P) ||
		    !acked_policy(ms, ms->inviter, P))
			continue;
		if (walk(ms, P, w) == SL_OK)
			return true;
	}
	return false;
}

size_t
sl_members_motions(const struct sl_members *ms, struct sl_motion *out,
    size_t max)
{
	struct walk view;
	bool viewing = false;
	const uint8_t *vledger = ms->li.ledger;
	size_t n = 0;

	memset(&view, 0, sizeof view);
	/* A newcomer sees its own admission wait in its inviter's
	 * ledger. */
	if (!ms->gov && ms->nledger > 0 && (viewing = view_ledger(ms,
	    &view)))
		vledger = view.ledger;
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];
		const uint8_t *by = org_of(ms, e->origin);
		struct sl_motion *mo = NULL;
		uint8_t (*vote)[SL_KEY_LEN];
		size_t nvote;
		uint8_t list[SL_APPROVALS_MAX][SL_KEY_LEN];
		bool dup = false;

		if (e->type != SL_MEV_APPROVE || !counts(ms, e))
			continue;
		if (ms->gov || (viewing && e->act != SL_MACT_POLICY)) {
			/* Under the ledger: what it has not recorded (the
			 * organisation's entries so far are its term). */
			uint64_t t = 0;
			const struct sl_mcut *terms = ms->gov ? ms->terms :
			    view.terms;
			size_t nterms = ms->gov ? ms->nterms : view.nterms;

			if (e->act == SL_MACT_POLICY ||
			    key_cmp(e->ledger, ms->gov ? ms->li.ledger :
			    vledger) != 0)
				continue;
			for (size_t k = 0; k < nterms; k++)
				if (key_cmp(terms[k].device, e->org) == 0)
					t = terms[k].upto;
			/* A handoff's term counts the keepers before. */
			if (e->act == SL_MACT_KEEPER)
				t = ms->gov ? ms->li.handoffs : view.handoffs;
			if (e->term != t)
				continue;
			vote = ms->gov ? ms->voters : view.vote;
			nvote = ms->gov ? ms->nvoters : view.nvote;
			/* An admission of a member (a newcomer's own
			 * approval of the ledger that admitted it), or of a
			 * device's key (never a member), waits for nothing. */
			const struct sl_device *dv = find_device(ms, e->org);

			if (e->act == SL_MACT_ADMIT && (in_keys(vote, nvote,
			    e->org) || (ms->gov ? find(ms, e->org)->member :
			    in_keys(view.ever, view.never, e->org)) ||
			    (dv != NULL && !dv->contested)))
				continue;
		} else {
			/* Proposals to take the policy: each listed member
			 * must approve. */
			const struct sl_mev *p;
			bool started = false;

			if (e->act != SL_MACT_POLICY)
				continue;
			for (size_t k = 0; k < ms->nev && !started; k++) {
				p = &ms->ev[k];
				started = p->type == SL_MEV_POLICY &&
				    key_cmp(p->ledger, e->ledger) == 0 &&
				    policy_valid(ms, p);
			}
			if (started)
				continue;
			for (uint32_t c = 0; c < e->ncuts; c++)
				memcpy(list[c], e->cuts[c].device, SL_KEY_LEN);
			vote = list;
			nvote = e->ncuts;
		}
		for (size_t k = 0; k < n && k < max; k++)
			if (same_motion(out[k].first, e))
				mo = &out[k];
		if (mo == NULL) {
			if (n >= max) {
				n++;
				continue;
			}
			mo = &out[n++];
			memset(mo, 0, sizeof *mo);
			mo->act = e->act;
			memcpy(mo->ledger, e->ledger, SL_KEY_LEN);
			memcpy(mo->org, e->org, SL_KEY_LEN);
			memcpy(mo->name, e->name, sizeof mo->name);
			mo->term = e->term;
			mo->first = e;
			mo->needed = e->act == SL_MACT_POLICY ? nvote :
			    nvote / 2 + 1;
		}
		/* A retirement's approval that lists a key which is no
		 * device of the retired organisation says nothing true
		 * (and could overfill the entry's list): left out. */
		if (e->act == SL_MACT_RETIRE) {
			bool junk = false;

			for (uint32_t c = 0; c < e->ncuts && !junk; c++) {
				const struct sl_device *dv = find_device(ms,
				    e->cuts[c].device);

				junk = dv == NULL || key_cmp(dv->org, e->org) != 0;
			}
			if (junk)
				continue;
		}
		/* One approval per organisation counts; a retirement by the
		 * retired organisation itself is enough alone. */
		for (size_t k = 0; k < mo->nev; k++)
			if (key_cmp(org_of(ms, mo->ev[k]->origin), by) == 0)
				dup = true;
		if (dup || mo->nev >= SL_APPROVALS_MAX)
			continue;
		if (e->act == SL_MACT_RETIRE && key_cmp(by, e->org) == 0 &&
		    in_keys(vote, nvote, by))
			mo->needed = 1;
		if (!in_keys(vote, nvote, by))
			continue;
		mo->ev[mo->nev++] = e;
		mo->approved++;
	}
	/* A retirement its organisation approved needs no one else. */
	for (size_t k = 0; k < n && k < max; k++)
		for (size_t j = 0; out[k].act == SL_MACT_RETIRE &&
		    j < out[k].nev; j++)
			if (key_cmp(org_of(ms, out[k].ev[j]->origin),
			    out[k].org) == 0)
				out[k].needed = 1;
	walk_free(&view);
	return n;
}

bool
sl_members_to_ack(const struct sl_members *ms, uint8_t ledger[SL_KEY_LEN],
    uint64_t *term)
{
	struct walk w;

	if (ms->gov || ms->nledger == 0 || !view_ledger(ms, &w))
		return false;
	/* Admitted in it: the node approves its admission there. */
	if (in_keys(w.vote, w.nvote, ms->anchor)) {
		memcpy(ledger, w.ledger, SL_KEY_LEN);
		*term = term_of(&w, ms->anchor);
		walk_free(&w);
		return true;
	}
	walk_free(&w);
	return false;
}
