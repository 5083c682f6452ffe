/*
 * cmd_ledger.c - admission by majority (PROTOCOL.md 12.4): member policy,
 * member approve, and what a node does on its own once enough members
 * approved (the ledger's keeper records the entry; a newcomer takes the
 * ledger that admitted it as its own).
 *
 * A member's approval is an event of its own chain that carries its
 * signature of the statement; the keeper copies the signatures into the
 * entry, so that an entry proves itself to any node and to an auditor
 * with no other event at hand.
 */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_int.h"
#include "control.h"
#include "project.h"
#include "store.h"
#include "sync.h"

#define MOTIONS_MAX 32

/* The motions of ms (sl_members_motions), at most MOTIONS_MAX, in a new
 * array the caller frees; *n: how many it holds.  NULL if out of
 * memory. */
static struct sl_motion *
motions_of(const struct sl_members *ms, size_t *n)
{
	struct sl_motion *mo = calloc(MOTIONS_MAX, sizeof *mo);

	*n = 0;
	if (mo == NULL)
		return NULL;
	*n = sl_members_motions(ms, mo, MOTIONS_MAX);
	if (*n > MOTIONS_MAX)
		*n = MOTIONS_MAX;
	return mo;
}

/* SL_OK if this node still signs for a current member, else SL_EPERM
 * with one line saying so: it approves nothing any more. */
static int
refuse_retired(const struct cmd_ctx *d, const struct sl_members *ms,
    char *msg, size_t mlen)
{
	if (sl_members_current(ms, d->node))
		return SL_OK;
	return cmd_fail(msg, mlen, SL_EPERM, "this node's organisation is "
	    "retired (or this device revoked)");
}

/* Is org's approval among the approvals of motion mo that count? */
static bool
approved_by(const struct sl_members *ms, const struct sl_motion *mo,
    const uint8_t org[SL_KEY_LEN])
{
	for (size_t k = 0; k < mo->nev; k++)
		if (memcmp(sl_members_org_of(ms, mo->ev[k]->origin), org,
		    SL_KEY_LEN) == 0)
			return true;
	return false;
}

/* Checks draft dr as a receiver would, then appends it alone. */
static int
append_checked(struct cmd_ctx *d, const char *type, struct sl_buf *g,
    char *err, size_t elen)
{
	struct sl_event_draft dr = { .author = "samlogd", .type = type,
		.payload = g->p, .payload_len = (uint32_t)g->len };
	char why[200];
	int rc;

	if (g->failed)
		rc = cmd_fail(err, elen, SL_ENOMEM, "out of memory");
	else if (sl_schema_check_event(type, strlen(type), NULL, 0, g->p,
	    g->len, UINT64_MAX, why, sizeof why) != SL_OK)
		rc = cmd_fail(err, elen, SL_ESCHEMA, "%s", why);
	else
		rc = store_append(d->s, &dr, 1, NULL, err, elen);
	free(g->p);
	g->p = NULL;
	if (rc == SL_OK && d->sync != NULL)
		sync_log_grew(d->sync);
	return rc;
}

static void
pack_cuts(msgpack_packer *pk, const struct sl_mcut *c, uint32_t n)
{
	msgpack_pack_array(pk, n);
	for (uint32_t i = 0; i < n; i++) {
		msgpack_pack_array(pk, 2);
		sl_pack_bin(pk, c[i].device, SL_KEY_LEN);
		msgpack_pack_uint64(pk, c[i].upto);
	}
}

/* This node approves a motion: member.approved in its own chain, with
 * its signature of the statement (12.4). */
static int
approve_append(struct cmd_ctx *d, enum sl_mact act,
    const uint8_t ledger[SL_KEY_LEN], const uint8_t org[SL_KEY_LEN],
    const char *name, uint64_t term, uint64_t upto,
    const struct sl_mcut *extra, uint32_t nextra, char *err, size_t elen)
{
	uint8_t h[SL_HASH_LEN], sig[SL_SIG_LEN];
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	bool with_name = act == SL_MACT_ADMIT && name != NULL &&
	    name[0] != '\0';

	sl_approval_hash(h, act, ledger, org, term, with_name ? name : "",
	    upto, extra, nextra);
	if (store_sign_cert(d->s, h, sig) != SL_OK)
		return cmd_fail(err, elen, SL_ESTORE, "cannot sign the "
		    "approval with this node's key");
	msgpack_packer_init(&pk, &g, sl_buf_write);
	bool with_upto = act == SL_MACT_RETIRE || act == SL_MACT_KEEPER;

	msgpack_pack_map(&pk, 5 + (act == SL_MACT_RETIRE && nextra > 0) +
	    (act == SL_MACT_POLICY) + with_name + with_upto);
	sl_pack_cstr(&pk, "act");
	sl_pack_cstr(&pk, sl_mact_name(act));
	if (act == SL_MACT_RETIRE && nextra > 0) {
		sl_pack_cstr(&pk, "devices");
		pack_cuts(&pk, extra, nextra);
	}
	sl_pack_cstr(&pk, "ledger");
	sl_pack_b32(&pk, ledger, SL_KEY_LEN);
	if (act == SL_MACT_POLICY) {
		sl_pack_cstr(&pk, "members");
		msgpack_pack_array(&pk, nextra);
		for (uint32_t i = 0; i < nextra; i++)
			sl_pack_bin(&pk, extra[i].device, SL_KEY_LEN);
	}
	if (with_name) {
		sl_pack_cstr(&pk, "name");
		sl_pack_cstr(&pk, name);
	}
	sl_pack_cstr(&pk, "org");
	sl_pack_b32(&pk, org, SL_KEY_LEN);
	sl_pack_cstr(&pk, "sig");
	sl_pack_bin(&pk, sig, SL_SIG_LEN);
	sl_pack_cstr(&pk, "term");
	msgpack_pack_uint64(&pk, term);
	if (with_upto) {
		sl_pack_cstr(&pk, "upto");
		msgpack_pack_uint64(&pk, upto);
	}
	return append_checked(d, "member.approved", &g, err, elen);
}

/*
 * The entry that records motion mo (enough members approved it), packed
 * into g while the members are read: a policy starts the ledger, an
 * admission or a retirement goes into it.  *type: which event.
 */
static void
entry_pack(const struct sl_motion *mo, struct sl_buf *g, const char **type)
{
	const struct sl_mev *v[SL_APPROVALS_MAX];
	struct sl_mev merged;
	msgpack_packer pk;
	size_t n = mo->nev;

	/* By the approver's key: the order an entry lists them in (at
	 * most 32: insertion). */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		for (; j > 0 && memcmp(v[j - 1]->origin, mo->ev[i]->origin,
		    SL_KEY_LEN) > 0; j--)
			v[j] = v[j - 1];
		v[j] = mo->ev[i];
	}
	memset(&merged, 0, sizeof merged);
	msgpack_packer_init(&pk, g, sl_buf_write);
	if (mo->act == SL_MACT_POLICY || mo->act == SL_MACT_KEEPER) {
		/* Starting the ledger, or taking it on (a handoff). */
		*type = "member.policy";
		msgpack_pack_map(&pk, mo->act == SL_MACT_POLICY ? 4 : 5);
		sl_pack_cstr(&pk, "admission");
		sl_pack_cstr(&pk, "majority");
	} else if (mo->act == SL_MACT_ADMIT) {
		*type = "member.admitted";
		msgpack_pack_map(&pk, 4 + (mo->name[0] != '\0'));
	} else {
		*type = "member.retired";
		/* Cut at the highest seq any approver had seen. */
		for (size_t i = 0; i < n; i++) {
			if (v[i]->upto > merged.upto)
				merged.upto = v[i]->upto;
			for (uint32_t c = 0; c < v[i]->ncuts; c++) {
				uint32_t k;

				for (k = 0; k < merged.ncuts; k++)
					if (memcmp(merged.cuts[k].device,
					    v[i]->cuts[c].device,
					    SL_KEY_LEN) == 0)
						break;
				if (k == merged.ncuts) {
					if (k == SL_CUTS_MAX)
						continue;
					merged.cuts[merged.ncuts++] =
					    v[i]->cuts[c];
				} else if (v[i]->cuts[c].upto >
				    merged.cuts[k].upto) {
					merged.cuts[k].upto =
					    v[i]->cuts[c].upto;
				}
			}
		}
		msgpack_pack_map(&pk, 5 + (merged.ncuts > 0));
	}
	sl_pack_cstr(&pk, "approvals");
	msgpack_pack_array(&pk, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		bool retire = mo->act == SL_MACT_RETIRE;

		msgpack_pack_array(&pk, 4);
		sl_pack_bin(&pk, v[i]->origin, SL_KEY_LEN);
		msgpack_pack_uint64(&pk, retire || mo->act == SL_MACT_KEEPER ?
		    v[i]->upto : 0);
		pack_cuts(&pk, v[i]->cuts, retire ? v[i]->ncuts : 0);
		sl_pack_bin(&pk, v[i]->sig, SL_SIG_LEN);
	}
	if (mo->act == SL_MACT_RETIRE && merged.ncuts > 0) {
		/* Ascending, as a CUTS value lists them. */
		for (uint32_t i = 1; i < merged.ncuts; i++)
			for (uint32_t j = i; j > 0 && memcmp(merged.cuts[j].device,
			    merged.cuts[j - 1].device, SL_KEY_LEN) < 0; j--) {
				struct sl_mcut t = merged.cuts[j];

				merged.cuts[j] = merged.cuts[j - 1];
				merged.cuts[j - 1] = t;
			}
		sl_pack_cstr(&pk, "devices");
		pack_cuts(&pk, merged.cuts, merged.ncuts);
	}
	sl_pack_cstr(&pk, "ledger");
	sl_pack_b32(&pk, mo->ledger, SL_KEY_LEN);
	if (mo->act == SL_MACT_POLICY) {
		const struct sl_mev *f = mo->first;

		sl_pack_cstr(&pk, "members");
		msgpack_pack_array(&pk, f->ncuts);
		for (uint32_t i = 0; i < f->ncuts; i++)
			sl_pack_bin(&pk, f->cuts[i].device, SL_KEY_LEN);
		return;
	}
	if (mo->act == SL_MACT_ADMIT && mo->name[0] != '\0') {
		sl_pack_cstr(&pk, "name");
		sl_pack_cstr(&pk, mo->name);
	}
	sl_pack_cstr(&pk, "org");
	sl_pack_b32(&pk, mo->org, SL_KEY_LEN);
	sl_pack_cstr(&pk, "term");
	msgpack_pack_uint64(&pk, mo->term);
	if (mo->act == SL_MACT_KEEPER)
		return;
	if (mo->act == SL_MACT_RETIRE) {
		sl_pack_cstr(&pk, "upto");
		msgpack_pack_uint64(&pk, merged.upto > 0 ? merged.upto : 1);
	}
}

/* Has this node's chain (node) recorded motion mo already?  An entry
 * the rules then found wanting (its motion still open) is not written
 * again every second: once is the keeper's word. */
static bool
recorded(const struct sl_members *ms, const uint8_t node[SL_KEY_LEN],
    const struct sl_motion *mo)
{
	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];
		enum sl_mev_type t = mo->act == SL_MACT_ADMIT ? SL_MEV_ADMIT :
		    mo->act == SL_MACT_RETIRE ? SL_MEV_RETIRE : SL_MEV_POLICY;

		if (e->type != t || !e->ledgered || e->napp == 0 ||
		    memcmp(e->origin, node, SL_KEY_LEN) != 0 ||
		    memcmp(e->ledger, mo->ledger, SL_KEY_LEN) != 0)
			continue;
		if (mo->act == SL_MACT_POLICY ? e->act != SL_MACT_KEEPER &&
		    e->ncuts == mo->first->ncuts && memcmp(e->cuts,
		    mo->first->cuts, e->ncuts * sizeof e->cuts[0]) == 0 :
		    e->term == mo->term &&
		    memcmp(e->org, mo->org, SL_KEY_LEN) == 0 &&
		    (mo->act != SL_MACT_KEEPER || e->act == SL_MACT_KEEPER))
			return true;
	}
	return false;
}

/* A failure of the tick, logged once a minute at most (it is tried
 * again every second). */
static void
tick_warn(struct cmd_ctx *d, const char *what, const char *why)
{
	uint64_t now = sl_now_ms();

	if (d->ledger_warned != 0 && now - d->ledger_warned < 60000)
		return;
	d->ledger_warned = now;
	log_warn("%s: %s", what, why);
}

/*
 * What a node does on its own (called every second, cheap when no
 * approval is held): the ledger's keeper records a motion enough members
 * approved; a proposer of the policy starts the ledger once every member
 * it lists approved; a newcomer approves the ledger that admitted it (so
 * that it governs its node).  One event a call.
 */
void
cmd_ledger_tick(struct cmd_ctx *d)
{
	struct sl_motion *mo = NULL;
	struct sl_ledger_info li;
	const struct sl_members *ms;
	struct sl_buf g = { 0 };
	const char *type = NULL;
	uint8_t ledger[SL_KEY_LEN];
	uint64_t term = 0;
	bool gov, ack = false;
	char err[256];
	MDB_txn *txn;
	size_t n;

	if (d->held || store_read_begin(d->s, &txn) != SL_OK)
		return;
	if ((ms = project_members(d->p, txn)) == NULL || ms->nledger == 0) {
		mdb_txn_abort(txn);
		return;
	}
	gov = sl_members_ledger(ms, &li);
	if ((mo = motions_of(ms, &n)) == NULL) {
		mdb_txn_abort(txn);
		return;
	}
	for (size_t i = 0; i < n && type == NULL; i++) {
		if (mo[i].approved < mo[i].needed ||
		    recorded(ms, d->node, &mo[i]))
			continue;
		if (mo[i].act == SL_MACT_POLICY ? !gov &&
		    memcmp(mo[i].ledger, d->node, SL_KEY_LEN) == 0 :
		    mo[i].act == SL_MACT_KEEPER ? gov &&
		    memcmp(mo[i].org, d->node, SL_KEY_LEN) == 0 :
		    gov && memcmp(li.keeper, d->node, SL_KEY_LEN) == 0 &&
		    memcmp(mo[i].ledger, li.ledger, SL_KEY_LEN) == 0)
			entry_pack(&mo[i], &g, &type);
	}
	if (type == NULL && !gov)
		ack = sl_members_to_ack(ms, ledger, &term);
	mdb_txn_abort(txn);
	free(mo);
	if (type != NULL) {
		if (append_checked(d, type, &g, err, sizeof err) != SL_OK)
			tick_warn(d, "cannot record what the members approved",
			    err);
		else
			log_info("recorded %s: enough members approved it", type);
		return;
	}
	if (ack) {
		if (approve_append(d, SL_MACT_ADMIT, ledger, d->orgkey, NULL,
		    term, 0, NULL, 0, err, sizeof err) != SL_OK)
			tick_warn(d, "cannot take the ledger that admitted this "
			    "node as its own", err);
		else
			log_info("admitted by the members' majority: this node "
			    "follows their ledger now");
	}
}

/* Does this node's own organisation wait for the members' approval (it
 * joined, and the ledger has not admitted it)?  Where it stands in
 * *approved of *needed. */
bool
cmd_ledger_self_waiting(const struct sl_members *ms, size_t *approved,
    size_t *needed)
{
	struct sl_motion *mo;
	bool yes = false;
	size_t n;

	*approved = *needed = 0;
	if (ms->nledger == 0 || sl_members_ledger(ms, NULL) ||
	    (mo = motions_of(ms, &n)) == NULL)
		return false;
	for (size_t i = 0; i < n && !yes; i++)
		if (mo[i].act == SL_MACT_ADMIT && memcmp(mo[i].org, ms->anchor,
		    SL_KEY_LEN) == 0) {
			yes = true;
			*approved = mo[i].approved;
			*needed = mo[i].needed;
		}
	free(mo);
	return yes;
}

int
cmd_ledger_refuse_waiting(const struct sl_members *ms, char *msg,
    size_t mlen)
{
	size_t a, n;

	if (!cmd_ledger_self_waiting(ms, &a, &n))
		return SL_OK;
	if (a >= n)
		return cmd_fail(msg, mlen, SL_EPERM, "this node's organisation "
		    "is not a member yet: the members approved it, and it "
		    "waits for their ledger to record it (a few seconds once "
		    "the keeper's node is reached)");
	return cmd_fail(msg, mlen, SL_EPERM, "this node's organisation is not "
	    "a member yet: it waits for the members' approval (%zu of %zu)",
	    a, n);
}

/* The organisations that are members now (not retired), as a policy
 * lists them: ascending.  Returns how many, or SIZE_MAX if more than a
 * policy may list. */
static size_t
current_members(const struct sl_members *ms, struct sl_mcut *out)
{
	size_t n = 0;

	for (size_t i = 0; i < ms->nm; i++) {
		if (!ms->m[i].member || ms->m[i].upto != UINT64_MAX ||
		    sl_members_device(ms, ms->m[i].org) != NULL)
			continue;
		if (n == SL_APPROVALS_MAX)
			return SIZE_MAX;
		memcpy(out[n].device, ms->m[i].org, SL_KEY_LEN);
		out[n++].upto = 0;
	}
	return n;
}

static const char *
name_or(const struct sl_members *ms, const uint8_t *org, char *buf,
    size_t len)
{
	const char *name = sl_members_name_at(ms, org, UINT64_MAX);

	if (name != NULL)
		return name;
	sl_fingerprint(buf, org);
	(void)len;
	return buf;
}

/*
 * Where the policy stands, in one sentence for note (len bytes): under
 * the majority, waiting to be admitted, or a proposal to take it
 * (approvals so far, or stale: it lists other members than this node
 * knows).  Returns true if something waits for people (a warning).
 */
bool
cmd_ledger_note(struct cmd_ctx *d, const struct sl_members *ms, char *note,
    size_t len)
{
	struct sl_mcut now[SL_APPROVALS_MAX];
	struct sl_motion *mo;
	const struct sl_motion *same = NULL, *stale = NULL;
	char who[SL_FPR_TEXT + 1];
	size_t nnow, n, a, k;
	bool mine = false;

	if (sl_members_ledger(ms, NULL)) {
		bool asked = false;

		snprintf(note, len, "an admission or a retirement takes more "
		    "than half of the members (samlog member approve)");
		if ((mo = motions_of(ms, &n)) == NULL)
			return false;
		for (size_t i = 0; i < n && !asked; i++)
			if (mo[i].act == SL_MACT_KEEPER) {
				asked = true;
				snprintf(note, len, "handing the order of "
				    "admissions to %s: %zu of the %zu approvals "
				    "it needs (samlog member keeper ORG)%s",
				    name_or(ms, sl_members_org_of(ms, mo[i].org),
				    who, sizeof who), mo[i].approved,
				    mo[i].needed, mo[i].approved >= mo[i].needed ?
				    "; it takes over when its node records it" :
				    "");
			}
		free(mo);
		return asked;
	}
	if (cmd_ledger_self_waiting(ms, &a, &k)) {
		if (a >= k)
			snprintf(note, len, "the members approved this node's "
			    "organisation: it is a member once their ledger "
			    "records it");
		else
			snprintf(note, len, "this node's organisation waits for "
			    "the members' approval (%zu of %zu): what it writes "
			    "counts on their nodes once they have approved", a,
			    k);
		return true;
	}
	snprintf(note, len, "one member admits (samlog invite)");
	nnow = current_members(ms, now);
	if (ms->nledger == 0 || (mo = motions_of(ms, &n)) == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct sl_mev *f = mo[i].first;
		bool eq = mo[i].act == SL_MACT_POLICY && f->ncuts == nnow;

		if (mo[i].act != SL_MACT_POLICY)
			continue;
		for (size_t j = 0; eq && j < nnow; j++)
			eq = memcmp(f->cuts[j].device, now[j].device,
			    SL_KEY_LEN) == 0;
		if (eq && same == NULL)
			same = &mo[i];
		else if (!eq && stale == NULL)
			stale = &mo[i];
	}
	if (same != NULL) {
		mine = approved_by(ms, same, d->orgkey);
		name_or(ms, sl_members_org_of(ms, same->ledger), who,
		    sizeof who);
		if (same->approved >= same->needed)
			snprintf(note, len, "every member has approved admitting "
			    "by majority: it starts when %s's node records it",
			    name_or(ms, sl_members_org_of(ms, same->ledger),
			    who, sizeof who));
		else
			snprintf(note, len, "a proposal by %s to admit by "
			    "majority has %zu of the %zu approvals it needs%s "
			    "(samlog member policy majority on each member's "
			    "node)", name_or(ms, sl_members_org_of(ms,
			    same->ledger), who, sizeof who), same->approved,
			    same->needed, mine ? ", this node's among them" :
			    "");
	} else if (stale != NULL) {
		snprintf(note, len, "a proposal by %s to admit by majority lists "
		    "%u members and this node knows %zu: it is stale (samlog "
		    "member policy majority proposes anew)", name_or(ms,
		    sl_members_org_of(ms, stale->ledger), who, sizeof who),
		    stale->first->ncuts, nnow);
	}
	free(mo);
	return same != NULL || stale != NULL;
}

/* The policy in a reply: admission, since, keeper, voters. */
static void
send_policy(struct ctl_conn *c, uint32_t id, const struct sl_members *ms,
    const char *note)
{
	struct sl_ledger_info li;
	bool gov = sl_members_ledger(ms, &li);
	char fpr[SL_FPR_TEXT + 1];
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	size_t a, k;

	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 5);
	sl_pack_cstr(&pk, "admission");
	sl_pack_cstr(&pk, gov || cmd_ledger_self_waiting(ms, &a, &k) ?
	    "majority" : "one");
	sl_pack_cstr(&pk, "since");
	if (gov)
		sl_pack_time(&pk, li.policy_hlc);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "keeper");
	if (gov)
		sl_pack_cstr(&pk, name_or(ms, sl_members_org_of(ms, li.keeper),
		    fpr, sizeof fpr));
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "voters");
	if (gov)
		msgpack_pack_uint64(&pk, li.voters);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "note");
	sl_pack_cstr(&pk, note);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
}

/* member policy [majority]: show the policy, or take the majority one
 * (propose it, or approve the proposal if it lists the members this node
 * knows). */
static int
member_policy(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct sl_members *ms, const struct args *a,
    char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", NULL };
	struct sl_mcut now[SL_APPROVALS_MAX];
	struct sl_motion *mo = NULL;
	char want[16] = "", note[512];
	uint8_t ledger[SL_KEY_LEN];
	size_t nnow, n;
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		goto out;
	if (!cmd_arg_str(a, "id", want, sizeof want)) {
		(void)cmd_ledger_note(d, ms, note, sizeof note);
		send_policy(c, id, ms, note);
		goto out;
	}
	if ((rc = cmd_ledger_refuse_waiting(ms, msg, mlen)) != SL_OK)
		goto out;
	if (strcmp(want, "one") == 0) {
		rc = sl_members_ledger(ms, NULL) ?
		    cmd_fail(msg, mlen, SL_EINVAL, "this federation admits by "
		    "majority: going back to one member admits is not "
		    "supported (one member could then let in anyone again, "
		    "outvoting the others)") :
		    cmd_fail(msg, mlen, SL_EVALUE, "this federation admits by "
		    "one member already");
		goto out;
	}
	if (strcmp(want, "majority") != 0) {
		rc = cmd_fail(msg, mlen, SL_EUSAGE, "member policy takes "
		    "majority (or nothing, to show the policy); not \"%s\"",
		    want);
		goto out;
	}
	if (sl_members_ledger(ms, NULL)) {
		rc = cmd_fail(msg, mlen, SL_EVALUE, "this federation admits by "
		    "majority already");
		goto out;
	}
	if ((rc = refuse_retired(d, ms, msg, mlen)) != SL_OK)
		goto out;
	if ((nnow = current_members(ms, now)) == SIZE_MAX) {
		rc = cmd_fail(msg, mlen, SL_EINVAL, "the majority policy is for "
		    "federations of at most %d members", SL_APPROVALS_MAX);
		goto out;
	}
	if ((mo = motions_of(ms, &n)) == NULL) {
		rc = cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
		goto out;
	}
	/* Someone proposed it with the members this node knows: approve
	 * that proposal.  A proposal that lists others (made before a
	 * member joined or left) is stale: this node proposes anew. */
	memcpy(ledger, d->node, SL_KEY_LEN);
	for (size_t i = 0; i < n; i++) {
		const struct sl_mev *f = mo[i].first;
		bool same = mo[i].act == SL_MACT_POLICY && f->ncuts == nnow;

		for (size_t k = 0; same && k < nnow; k++)
			same = memcmp(f->cuts[k].device, now[k].device,
			    SL_KEY_LEN) == 0;
		if (!same)
			continue;
		if (approved_by(ms, &mo[i], d->orgkey)) {
			rc = cmd_fail(msg, mlen, SL_EVALUE, "this organisation "
			    "approved the proposal already: %zu of %zu members "
			    "have", mo[i].approved, mo[i].needed);
			goto out;
		}
		memcpy(ledger, mo[i].ledger, SL_KEY_LEN);
		break;
	}
	mdb_txn_abort(txn);
	txn = NULL;
	if ((rc = approve_append(d, SL_MACT_POLICY, ledger, ledger, NULL, 0,
	    0, now, (uint32_t)nnow, msg, mlen)) != SL_OK)
		goto out;
	log_info("%s admitting by majority (%zu members)", memcmp(ledger,
	    d->node, SL_KEY_LEN) == 0 ? "proposed" : "approved", nnow);
	/* With every approval in (a federation of one), the ledger starts
	 * now. */
	cmd_ledger_tick(d);
	if ((ms = cmd_members_read(d, &txn, &rc, msg, mlen)) == NULL)
		goto out;
	if (sl_members_ledger(ms, NULL))
		snprintf(note, sizeof note, "from now on an admission or a "
		    "retirement takes more than half of the members");
	else
		(void)cmd_ledger_note(d, ms, note, sizeof note);
	send_policy(c, id, ms, note);
out:
	free(mo);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

/* The motion ORG names (a candidate's or a member's name, or a
 * fingerprint), under the governing ledger. */
static const struct sl_motion *
motion_find(const struct sl_members *ms, const struct sl_motion *mo,
    size_t n, const char *text)
{
	char want[SL_ORG_MAX * 2 + 1], have[SL_ORG_MAX * 2 + 1];
	size_t tl = strlen(text);
	const struct sl_motion *hit = NULL;

	sl_text_fold(text, tl, want, sizeof want);
	for (size_t i = 0; i < n; i++) {
		const char *name = mo[i].act == SL_MACT_ADMIT ? mo[i].name :
		    sl_members_name_at(ms, mo[i].org, UINT64_MAX);
		char id[SL_NODE_ID_TEXT + 1];

		if (mo[i].act != SL_MACT_ADMIT && mo[i].act != SL_MACT_RETIRE)
			continue;
		sl_b32_encode(id, mo[i].org, SL_KEY_LEN);
		if (name != NULL && name[0] != '\0') {
			sl_text_fold(name, strlen(name), have, sizeof have);
			if (strcmp(have, want) == 0)
				hit = &mo[i];
		}
		if (tl >= 8 && tl <= SL_NODE_ID_TEXT &&
		    strncasecmp(id, text, tl) == 0)
			hit = &mo[i];
	}
	return hit;
}

/* This node's view of org's events: its tip, and each of its devices'
 * (what a retirement lets count). */
static uint64_t
seen_of(struct cmd_ctx *d, const struct sl_members *ms,
    const uint8_t org[SL_KEY_LEN], struct sl_mcut *cuts, uint32_t *ncuts)
{
	const struct store_tip *t = store_tip_of(d->s, org);

	*ncuts = 0;
	for (size_t j = 0; j < ms->nd && *ncuts < SL_CUTS_MAX; j++) {
		const struct sl_device *v = &ms->d[j];
		const struct store_tip *dt;

		if (v->contested || memcmp(v->org, org, SL_KEY_LEN) != 0)
			continue;
		dt = store_tip_of(d->s, v->key);
		memcpy(cuts[*ncuts].device, v->key, SL_KEY_LEN);
		cuts[(*ncuts)++].upto = dt != NULL ? dt->seq : 0;
	}
	return t != NULL ? t->seq : 0;
}

/* A motion as member list shows it: a row with its approvals; a
 * retirement on the member's own row. */
static void
send_motion(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms, const struct sl_motion *mo)
{
	char fpr[SL_FPR_TEXT + 1], by[SL_FPR_TEXT + 1], status[64];
	const char *name = mo->act == SL_MACT_ADMIT ? mo->name :
	    sl_members_name_at(ms, mo->org, UINT64_MAX);
	const uint8_t *from = mo->first != NULL ?
	    sl_members_org_of(ms, mo->first->origin) : mo->org;
	const struct sl_member *m = sl_members_get(ms, mo->org);
	const struct store_tip *t = store_tip_of(d->s, mo->org);
	bool retire = mo->act == SL_MACT_RETIRE && m != NULL;
	struct sl_buf g = { 0 };
	msgpack_packer pk;

	sl_fingerprint(fpr, mo->org);
	/* Enough approvals: the keeper's node records it when it has
	 * them. */
	if (mo->approved >= mo->needed)
		snprintf(status, sizeof status, "%s", mo->act == SL_MACT_ADMIT ?
		    "admitting" : "retiring");
	else
		snprintf(status, sizeof status, "%s %zu of %zu",
		    mo->act == SL_MACT_ADMIT ? "admit?" : "retire?",
		    mo->approved, mo->needed);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 13);
	sl_pack_cstr(&pk, "name");
	if (name != NULL && name[0] != '\0')
		sl_pack_cstr(&pk, name);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "contested");
	sl_pack_bool(&pk, false);
	sl_pack_cstr(&pk, "fingerprint");
	sl_pack_cstr(&pk, fpr);
	sl_pack_cstr(&pk, "node_id");
	sl_pack_b32(&pk, mo->org, SL_KEY_LEN);
	sl_pack_cstr(&pk, "status");
	sl_pack_cstr(&pk, status);
	/* An admission shows who asked; a retirement the member's own
	 * admission. */
	sl_pack_cstr(&pk, "admitted");
	if (retire && m->since != 0)
		sl_pack_time(&pk, m->since);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "admitted_by");
	if (retire && m->since == 0)
		msgpack_pack_nil(&pk);
	else
		sl_pack_cstr(&pk, name_or(ms, retire ? m->by : from, by,
		    sizeof by));
	sl_pack_cstr(&pk, "retired");
	msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "retired_by");
	if (retire)
		sl_pack_cstr(&pk, name_or(ms, from, by, sizeof by));
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "upto");
	msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "events");
	msgpack_pack_uint64(&pk, t != NULL ? t->seq : 0);
	sl_pack_cstr(&pk, "approvals");
	msgpack_pack_uint64(&pk, mo->approved);
	sl_pack_cstr(&pk, "needed");
	msgpack_pack_uint64(&pk, mo->needed);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
}

void
cmd_ledger_row(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms, enum sl_mact act,
    const uint8_t org[SL_KEY_LEN])
{
	const struct sl_member *m = sl_members_get(ms, org);
	struct sl_motion *mo;
	size_t n;

	if ((mo = motions_of(ms, &n)) != NULL) {
		for (size_t i = 0; i < n; i++)
			if (mo[i].act == act && memcmp(mo[i].org, org,
			    SL_KEY_LEN) == 0) {
				send_motion(d, c, id, ms, &mo[i]);
				free(mo);
				return;
			}
		free(mo);
	}
	if (m != NULL)
		cmd_member_row(d, c, id, ms, m);
}

void
cmd_ledger_pending(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms)
{
	struct sl_motion *mo;
	size_t n;

	if (ms->nledger == 0 || (mo = motions_of(ms, &n)) ==
	    NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (mo[i].act == SL_MACT_ADMIT || mo[i].act == SL_MACT_RETIRE)
			send_motion(d, c, id, ms, &mo[i]);
	free(mo);
}

/*
 * Under the majority policy, this node's organisation asks for (or
 * approves) admitting org under name, or retiring it: an approval in its
 * own chain.  *approved, *needed: where the motion stands after it.
 * SL_OK, or why not (msg).
 */
int
cmd_ledger_approve(struct cmd_ctx *d, enum sl_mact act,
    const uint8_t org[SL_KEY_LEN], const char *name, size_t *approved,
    size_t *needed, char *msg, size_t mlen)
{
	struct sl_motion *mo = NULL;
	struct sl_ledger_info li;
	const struct sl_members *ms;
	struct sl_mcut cuts[SL_CUTS_MAX];
	char named[SL_ORG_MAX + 1];
	uint32_t ncuts = 0;
	uint64_t term = 0, upto = 0;
	MDB_txn *txn;
	size_t n;
	int rc = SL_OK;

	*approved = *needed = 0;
	if ((ms = cmd_members_read(d, &txn, &rc, msg, mlen)) == NULL)
		return rc;
	if (!sl_members_ledger(ms, &li)) {
		mdb_txn_abort(txn);
		return cmd_fail(msg, mlen, SL_EINVAL, "this federation admits "
		    "by one member: nothing waits for approval");
	}
	for (size_t k = 0; k < ms->nterms; k++)
		if (memcmp(ms->terms[k].device, org, SL_KEY_LEN) == 0)
			term = ms->terms[k].upto;
	if (act == SL_MACT_RETIRE)
		upto = seen_of(d, ms, org, cuts, &ncuts);
	/* Asked twice (a second peer add, a join retried): once is
	 * enough.  An admission asked without a name (peer add) joins the
	 * one asked with a name. */
	if ((mo = motions_of(ms, &n)) != NULL) {
		for (size_t i = 0; act == SL_MACT_ADMIT && (name == NULL ||
		    name[0] == '\0') && i < n; i++)
			if (mo[i].act == act && mo[i].name[0] != '\0' &&
			    memcmp(mo[i].org, org, SL_KEY_LEN) == 0) {
				snprintf(named, sizeof named, "%s", mo[i].name);
				name = named;
			}
		for (size_t i = 0; i < n; i++)
			if (mo[i].act == act && memcmp(mo[i].org, org,
			    SL_KEY_LEN) == 0 && (act != SL_MACT_ADMIT ||
			    strcmp(mo[i].name, name != NULL ? name : "") == 0) &&
			    approved_by(ms, &mo[i], d->orgkey)) {
				*approved = mo[i].approved;
				*needed = mo[i].needed;
				free(mo);
				mdb_txn_abort(txn);
				return SL_OK;
			}
		free(mo);
		mo = NULL;
	}
	mdb_txn_abort(txn);
	if (act == SL_MACT_RETIRE && upto == 0)
		return cmd_fail(msg, mlen, SL_EVALUE, "this node holds no event "
		    "of that organisation yet: sync with it (or a member that "
		    "has its events) first, so that its past counts");
	if ((rc = approve_append(d, act, li.ledger, org, name, term, upto,
	    cuts, ncuts, msg, mlen)) != SL_OK)
		return rc;
	/* Recorded at once where this node keeps the ledger. */
	cmd_ledger_tick(d);
	if ((ms = cmd_members_read(d, &txn, &rc, msg, mlen)) == NULL)
		return rc;
	if ((mo = motions_of(ms, &n)) != NULL) {
		for (size_t i = 0; i < n; i++)
			if (mo[i].act == act && memcmp(mo[i].org, org,
			    SL_KEY_LEN) == 0 && (act != SL_MACT_ADMIT ||
			    strcmp(mo[i].name, name != NULL ? name : "") == 0)) {
				*approved = mo[i].approved;
				*needed = mo[i].needed;
			}
	}
	free(mo);
	mdb_txn_abort(txn);
	return SL_OK;
}

/* member approve ORG: approve what is asked about ORG (its admission or
 * its retirement). */
static int
member_approve(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct sl_members *ms, const struct args *a,
    char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", NULL };
	char text[SL_ORG_MAX + 2], name[SL_ORG_MAX + 1];
	struct sl_motion *mo = NULL;
	const struct sl_motion *hit;
	uint8_t org[SL_KEY_LEN];
	enum sl_mact act;
	size_t n, approved, needed;
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		goto out;
	if (!cmd_arg_str(a, "id", text, sizeof text)) {
		rc = cmd_fail(msg, mlen, SL_EUSAGE, "member approve needs an "
		    "ORG (a name or a fingerprint, as member list shows it)");
		goto out;
	}
	if ((rc = cmd_ledger_refuse_waiting(ms, msg, mlen)) != SL_OK)
		goto out;
	if (!sl_members_ledger(ms, NULL)) {
		rc = cmd_fail(msg, mlen, SL_EINVAL, "this federation admits by "
		    "one member: nothing waits for approval (see: samlog "
		    "member policy)");
		goto out;
	}
	if ((mo = motions_of(ms, &n)) == NULL) {
		rc = cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
		goto out;
	}
	if ((hit = motion_find(ms, mo, n, text)) == NULL) {
		rc = cmd_fail(msg, mlen, SL_ENOENT, "nothing about \"%s\" waits "
		    "for approval (see: samlog member list)", text);
		goto out;
	}
	if (approved_by(ms, hit, d->orgkey)) {
		rc = cmd_fail(msg, mlen, SL_EVALUE, "this organisation "
		    "approved it already (%zu of %zu)", hit->approved,
		    hit->needed);
		goto out;
	}
	if ((rc = refuse_retired(d, ms, msg, mlen)) != SL_OK)
		goto out;
	act = hit->act;
	memcpy(org, hit->org, SL_KEY_LEN);
	snprintf(name, sizeof name, "%s", hit->name);
	mdb_txn_abort(txn);
	txn = NULL;
	if ((rc = cmd_ledger_approve(d, act, org, name, &approved, &needed,
	    msg, mlen)) != SL_OK)
		goto out;
	log_info("approved %s %s", act == SL_MACT_ADMIT ? "admitting" :
	    "retiring", text);
	if ((ms = cmd_members_read(d, &txn, &rc, msg, mlen)) == NULL)
		goto out;
	cmd_ledger_row(d, c, id, ms, act, org);
out:
	free(mo);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

/* The key that signs for org now: its organisation key, or (moved to
 * devices) its first current device.  False if none. */
static bool
signing_key(const struct sl_members *ms, const uint8_t org[SL_KEY_LEN],
    uint8_t out[SL_KEY_LEN])
{
	uint64_t upto;

	if (sl_members_signer(ms, org, &upto) && upto == UINT64_MAX) {
		memcpy(out, org, SL_KEY_LEN);
		return true;
	}
	for (size_t j = 0; j < ms->nd; j++)
		if (!ms->d[j].contested && ms->d[j].upto == UINT64_MAX &&
		    memcmp(ms->d[j].org, org, SL_KEY_LEN) == 0) {
			memcpy(out, ms->d[j].key, SL_KEY_LEN);
			return true;
		}
	return false;
}

/* member keeper ORG: approve handing the order of admissions to ORG's
 * node (the keeper is gone, or leaving). */
static int
member_keeper(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct sl_members *ms, const struct args *a,
    char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", NULL };
	char text[SL_ORG_MAX + 2], note[512];
	struct sl_ledger_info li;
	uint8_t org[SL_KEY_LEN], key[SL_KEY_LEN];
	const struct store_tip *t;
	struct sl_motion *mo = NULL;
	uint64_t upto;
	size_t n;
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		goto out;
	if (!cmd_arg_str(a, "id", text, sizeof text)) {
		rc = cmd_fail(msg, mlen, SL_EUSAGE, "member keeper needs an ORG "
		    "(a name or a fingerprint): the member whose node is to "
		    "keep the order of admissions");
		goto out;
	}
	if ((rc = cmd_ledger_refuse_waiting(ms, msg, mlen)) != SL_OK)
		goto out;
	if (!sl_members_ledger(ms, &li)) {
		rc = cmd_fail(msg, mlen, SL_EINVAL, "this federation admits by "
		    "one member: there is no keeper (see: samlog member "
		    "policy)");
		goto out;
	}
	if ((rc = refuse_retired(d, ms, msg, mlen)) != SL_OK)
		goto out;
	if ((rc = cmd_member_find(ms, text, org, msg, mlen)) != SL_OK)
		goto out;
	if (!sl_members_current(ms, org) || !signing_key(ms, org, key)) {
		rc = cmd_fail(msg, mlen, SL_EVALUE, "%s is not a current member "
		    "with a key that signs", text);
		goto out;
	}
	if (memcmp(sl_members_org_of(ms, li.keeper), org, SL_KEY_LEN) == 0) {
		rc = cmd_fail(msg, mlen, SL_EVALUE, "%s keeps the order of "
		    "admissions already", text);
		goto out;
	}
	if ((mo = motions_of(ms, &n)) == NULL) {
		rc = cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (mo[i].act == SL_MACT_KEEPER && memcmp(mo[i].org, key,
		    SL_KEY_LEN) == 0 && approved_by(ms, &mo[i], d->orgkey)) {
			rc = cmd_fail(msg, mlen, SL_EVALUE, "this organisation "
			    "approved it already (%zu of %zu)", mo[i].approved,
			    mo[i].needed);
			goto out;
		}
	/* The old keeper's entries count up to what this node holds of
	 * its chain. */
	t = store_tip_of(d->s, li.keeper);
	upto = t != NULL && t->seq > 0 ? t->seq : 1;
	mdb_txn_abort(txn);
	txn = NULL;
	if ((rc = approve_append(d, SL_MACT_KEEPER, li.ledger, key, NULL,
	    li.handoffs, upto, NULL, 0, msg, mlen)) != SL_OK)
		goto out;
	log_info("approved handing the order of admissions to %s", text);
	cmd_ledger_tick(d);
	if ((ms = cmd_members_read(d, &txn, &rc, msg, mlen)) == NULL)
		goto out;
	(void)cmd_ledger_note(d, ms, note, sizeof note);
	send_policy(c, id, ms, note);
out:
	free(mo);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

int
cmd_ledger(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, MDB_txn *txn, const struct sl_members *ms,
    char *msg, size_t mlen)
{
	if (strcmp(a->cmd, "member.policy") == 0)
		return member_policy(d, c, id, txn, ms, a, msg, mlen);
	if (strcmp(a->cmd, "member.keeper") == 0)
		return member_keeper(d, c, id, txn, ms, a, msg, mlen);
	return member_approve(d, c, id, txn, ms, a, msg, mlen);
}

/* sync_reader_fn: a newcomer this node's organisation asked the members
 * to admit may connect and read until they have (12.4). */
bool
cmd_sync_reader(void *ctx, const uint8_t key[SL_KEY_LEN])
{
	struct cmd_ctx *d = ctx;
	const struct sl_members *ms;
	struct sl_motion *mo;
	bool yes = false;
	MDB_txn *txn;
	size_t n;

	if (store_read_begin(d->s, &txn) != SL_OK)
		return false;
	if ((ms = project_members(d->p, txn)) != NULL && ms->nledger > 0 &&
	    sl_members_ledger(ms, NULL) &&
	    (mo = motions_of(ms, &n)) != NULL) {
		for (size_t i = 0; i < n && !yes; i++)
			yes = mo[i].act == SL_MACT_ADMIT && memcmp(mo[i].org,
			    key, SL_KEY_LEN) == 0 && approved_by(ms, &mo[i],
			    d->orgkey);
		free(mo);
	}
	mdb_txn_abort(txn);
	return yes;
}

size_t
cmd_ledger_waiting(const struct sl_members *ms, size_t *ready)
{
	struct sl_motion *mo;
	size_t n, k = 0;

	*ready = 0;
	if (ms->nledger == 0 || !sl_members_ledger(ms, NULL) ||
	    (mo = motions_of(ms, &n)) == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (mo[i].act != SL_MACT_ADMIT && mo[i].act != SL_MACT_RETIRE)
			continue;
		k++;
		*ready += mo[i].approved >= mo[i].needed;
	}
	free(mo);
	return k;
}
