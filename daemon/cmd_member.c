/*
 * cmd_member.c - the federation's members: member list, member retire.
 *
 * Who is a member is what the log says (protocol/member.c, PROTOCOL.md
 * 12.1); these commands show it and add to it with events of this
 * node's own chain, which every member's node receives.
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

/* The organisation NAME, a fingerprint or a node id prefix, among the
 * organisations the log names; SL_OK and org filled, or why not. */
int
cmd_member_find(const struct sl_members *ms, const char *text,
    uint8_t org[SL_KEY_LEN], char *msg, size_t mlen)
{
	char want[SL_ORG_MAX * 2 + 1], have[SL_ORG_MAX * 2 + 1];
	const struct sl_member *hit = NULL;
	size_t n = strlen(text), hits = 0;

	sl_text_fold(text, n, want, sizeof want);
	for (size_t i = 0; i < ms->nm; i++) {
		const struct sl_member *m = &ms->m[i];
		const char *name = sl_members_name_at(ms, m->org, UINT64_MAX);
		char id[SL_NODE_ID_TEXT + 1];
		bool match = false;

		if (!m->member)
			continue;
		sl_b32_encode(id, m->org, SL_KEY_LEN);
		if (n >= 8 && n <= SL_NODE_ID_TEXT &&
		    strncasecmp(id, text, n) == 0)
			match = true;
		if (name != NULL) {
			sl_text_fold(name, strlen(name), have, sizeof have);
			if (strcmp(have, want) == 0)
				match = true;
		}
		if (match) {
			hit = m;
			hits++;
		}
	}
	if (hits == 0)
		return cmd_fail(msg, mlen, SL_ENOENT, "no member \"%s\" (see: "
		    "samlog member list)", text);
	if (hits > 1)
		return cmd_fail(msg, mlen, SL_EINVAL, "\"%s\" names %zu members: "
		    "give more of a fingerprint", text, hits);
	memcpy(org, hit->org, SL_KEY_LEN);
	return SL_OK;
}

static void
pack_name(msgpack_packer *pk, const struct sl_members *ms,
    const uint8_t org[SL_KEY_LEN])
{
	const char *name = sl_members_name_at(ms, org, UINT64_MAX);

	if (name != NULL)
		sl_pack_cstr(pk, name);
	else
		msgpack_pack_nil(pk);
}

/* One member as `member list` shows it. */
void
cmd_member_row(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms, const struct sl_member *m)
{
	const struct store_tip *t = store_tip_of(d->s, m->org);
	char fpr[SL_FPR_TEXT + 1];
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	bool self = memcmp(m->org, d->orgkey, SL_KEY_LEN) == 0;

	sl_fingerprint(fpr, m->org);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 11);
	sl_pack_cstr(&pk, "name");
	pack_name(&pk, ms, m->org);
	/* Another member holds the same name: neither is shown by it. */
	sl_pack_cstr(&pk, "contested");
	sl_pack_bool(&pk, sl_members_contested(ms, m->org));
	sl_pack_cstr(&pk, "fingerprint");
	sl_pack_cstr(&pk, fpr);
	sl_pack_cstr(&pk, "node_id");
	sl_pack_b32(&pk, m->org, SL_KEY_LEN);
	sl_pack_cstr(&pk, "status");
	sl_pack_cstr(&pk, m->upto != UINT64_MAX ? "retired" :
	    sl_members_contested(ms, m->org) ? "name contested" : self ?
	    "this node" : "member");
	sl_pack_cstr(&pk, "admitted");
	if (m->since != 0)
		sl_pack_time(&pk, m->since);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "admitted_by");
	if (m->since != 0)
		pack_name(&pk, ms, m->by);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "retired");
	if (m->upto != UINT64_MAX)
		sl_pack_time(&pk, m->retired_hlc);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "retired_by");
	if (m->upto != UINT64_MAX)
		pack_name(&pk, ms, m->retired_by);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "upto");
	if (m->upto != UINT64_MAX)
		msgpack_pack_uint64(&pk, m->upto);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "events");
	msgpack_pack_uint64(&pk, t != NULL ? t->seq : 0);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
}

static int
member_list(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms)
{
	const struct sl_member **v = calloc(ms->nm + 1, sizeof(void *));
	size_t n = 0;

	if (v == NULL)
		return SL_ENOMEM;
	size_t wa, wn;
	bool waiting = cmd_ledger_self_waiting(ms, &wa, &wn);

	/* A newcomer waiting for the members shows as what it is (its
	 * admission, below), not as a member. */
	for (size_t i = 0; i < ms->nm; i++)
		if (ms->m[i].member && !(waiting && memcmp(ms->m[i].org,
		    ms->anchor, SL_KEY_LEN) == 0))
			v[n++] = &ms->m[i];
	/* Oldest admission first (this node's own first if never
	 * admitted by another). */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j]->since < v[j - 1]->since;
		    j--) {
			const struct sl_member *t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		cmd_member_row(d, c, id, ms, v[i]);
	free(v);
	/* Then what waits for the members' approval (12.4). */
	cmd_ledger_pending(d, c, id, ms);
	return SL_OK;
}

/* member retire ORG, in read transaction txn (which it ends). */
static int
member_retire(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct sl_members *ms, const struct args *a,
    char *msg, size_t mlen)
{
	static const char *const retire_args[] = { "id", NULL };
	char text[SL_ORG_MAX + 2], shown[SL_ORG_MAX + 2];
	uint8_t org[SL_KEY_LEN];
	const struct store_tip *t;
	const char *name;
	uint64_t upto;
	int rc;

	if ((rc = cmd_args_only(a, retire_args, msg, mlen)) != SL_OK) {
		mdb_txn_abort(txn);
		return rc;
	}
	if (!cmd_arg_str(a, "id", text, sizeof text)) {
		mdb_txn_abort(txn);
		return cmd_fail(msg, mlen, SL_EUSAGE, "member retire needs an "
		    "ORG (a name or a fingerprint)");
	}
	if ((rc = cmd_member_find(ms, text, org, msg, mlen)) != SL_OK) {
		mdb_txn_abort(txn);
		return rc;
	}
	name = sl_members_name_at(ms, org, UINT64_MAX);
	snprintf(shown, sizeof shown, "%s", name != NULL ? name : text);
	name = shown;
	rc = SL_OK;
	if ((rc = cmd_ledger_refuse_waiting(ms, msg, mlen)) != SL_OK) {
		mdb_txn_abort(txn);
		return rc;
	}
	/* Under the majority policy a retirement takes more than half of
	 * the members: this node's is an approval (12.4). */
	if (sl_members_ledger(ms, NULL)) {
		size_t approved, needed;
		bool self = memcmp(org, d->orgkey, SL_KEY_LEN) == 0;
		bool current = sl_members_current(ms, org);
		bool me = sl_members_current(ms, d->node);

		mdb_txn_abort(txn);
		if (self)
			return cmd_fail(msg, mlen, SL_EINVAL, "%s is this node's "
			    "own organisation: a node does not retire itself "
			    "here (the other members can)", name);
		if (!current)
			return cmd_fail(msg, mlen, SL_EVALUE, "%s is already "
			    "retired", name);
		if (!me)
			return cmd_fail(msg, mlen, SL_EPERM, "this node's "
			    "organisation is retired (or this device revoked): "
			    "it can no longer retire others");
		if ((rc = cmd_ledger_approve(d, SL_MACT_RETIRE, org, NULL,
		    &approved, &needed, msg, mlen)) != SL_OK)
			return rc;
		log_info("asked to retire %s (%zu of %zu approvals)", name,
		    approved, needed);
		if ((ms = cmd_members_read(d, &txn, &rc, msg, mlen)) == NULL)
			return rc;
		cmd_ledger_row(d, c, id, ms, SL_MACT_RETIRE, org);
		mdb_txn_abort(txn);
		return SL_OK;
	}
	/* Who admitted it: only they may retire it (12.1). */
	bool mine = false;
	char others[512] = "";

	for (size_t i = 0; i < ms->nev; i++) {
		const struct sl_mev *e = &ms->ev[i];
		const char *by;
		size_t used = strlen(others);

		const uint8_t *from = sl_members_org_of(ms, e->origin);

		if (e->type != SL_MEV_ADMIT || memcmp(e->org, org,
		    SL_KEY_LEN) != 0 || memcmp(from, org, SL_KEY_LEN) == 0)
			continue;
		if (memcmp(from, d->orgkey, SL_KEY_LEN) == 0) {
			mine = true;
			continue;
		}
		by = sl_members_name_at(ms, from, UINT64_MAX);
		if (strstr(others, by != NULL ? by : "?") == NULL)
			snprintf(others + used, sizeof others - used, "%s%s",
			    used ? ", " : "", by != NULL ? by : "?");
	}
	if (memcmp(org, d->orgkey, SL_KEY_LEN) == 0)
		rc = cmd_fail(msg, mlen, SL_EINVAL, "%s is this node's own "
		    "organisation: a node does not retire itself here (the "
		    "organisations that admitted it can)", name);
	else if (!sl_members_current(ms, org))
		rc = cmd_fail(msg, mlen, SL_EVALUE, "%s is already retired",
		    name);
	else if (!mine)
		rc = cmd_fail(msg, mlen, SL_EPERM, "%s was not admitted by this "
		    "node's organisation: only the organisations that admitted "
		    "it may retire it (%s)", name, others[0] ? others : "none");
	else if (!sl_members_current(ms, d->node))
		rc = cmd_fail(msg, mlen, SL_EPERM, "this node's organisation "
		    "is retired (or this device revoked): it can no longer "
		    "retire others");
	/* Its events this node holds count; any it makes from now on, or
	 * made and this node has not seen, do not. */
	t = store_tip_of(d->s, org);
	if (rc == SL_OK && (t == NULL || t->seq == 0))
		rc = cmd_fail(msg, mlen, SL_EVALUE, "this node holds no event "
		    "of %s yet: sync with it (or a member that has its "
		    "events) before retiring it, so that its past counts",
		    name);
	if (rc != SL_OK || t == NULL) {
		mdb_txn_abort(txn);
		return rc;
	}
	upto = t->seq;
	/* Its devices' events this node holds count too (12.3); the keys
	 * are in ascending order in ms->d, as the event wants them. */
	struct sl_mcut cuts[SL_CUTS_MAX];
	uint32_t ncuts = 0;

	for (size_t j = 0; j < ms->nd && ncuts < SL_CUTS_MAX; j++) {
		const struct sl_device *v = &ms->d[j];
		const struct store_tip *dt;

		if (v->contested || memcmp(v->org, org, SL_KEY_LEN) != 0)
			continue;
		dt = store_tip_of(d->s, v->key);
		memcpy(cuts[ncuts].device, v->key, SL_KEY_LEN);
		cuts[ncuts++].upto = dt != NULL ? dt->seq : 0;
	}
	mdb_txn_abort(txn);
	if ((rc = cmd_member_retire_append(d, org, upto, cuts, ncuts, msg,
	    mlen)) != SL_OK)
		return rc;
	if (d->sync != NULL)
		sync_log_grew(d->sync);
	log_info("retired %s (from seq %llu on)%s%s%s", name,
	    (unsigned long long)upto + 1, others[0] ? "; it is retired once "
	    "these have retired it too: " : "", others, "");
	if (store_read_begin(d->s, &txn) != SL_OK ||
	    (ms = project_members(d->p, txn)) == NULL) {
		if (txn != NULL)
			mdb_txn_abort(txn);
		return cmd_fail(msg, mlen, SL_ESTORE, "retired, but cannot "
		    "read the members back");
	}
	const struct sl_member *m = sl_members_get(ms, org);

	if (m != NULL)
		cmd_member_row(d, c, id, ms, m);
	mdb_txn_abort(txn);
	return SL_OK;
}

const struct sl_members *
cmd_members_read(struct cmd_ctx *d, MDB_txn **txn, int *rc, char *msg,
    size_t mlen)
{
	const struct sl_members *ms;

	if (store_read_begin(d->s, txn) != SL_OK) {
		*txn = NULL;
		*rc = cmd_fail(msg, mlen, SL_ESTORE, "cannot read the store");
		return NULL;
	}
	if ((ms = project_members(d->p, *txn)) == NULL) {
		mdb_txn_abort(*txn);
		*txn = NULL;
		*rc = cmd_fail(msg, mlen, SL_ESTORE, "cannot read the members");
	}
	return ms;
}

int
cmd_member(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const no_args[] = { NULL };
	const struct sl_members *ms;
	MDB_txn *txn;
	int rc;

	if ((ms = cmd_members_read(d, &txn, &rc, msg, mlen)) == NULL)
		return rc;
	if (strcmp(a->cmd, "member.retire") == 0)
		return member_retire(d, c, id, txn, ms, a, msg, mlen);
	if (strcmp(a->cmd, "member.policy") == 0 ||
	    strcmp(a->cmd, "member.approve") == 0 ||
	    strcmp(a->cmd, "member.keeper") == 0)
		return cmd_ledger(d, c, id, a, txn, ms, msg, mlen);
	if (strcmp(a->cmd, "member.list") != 0)
		rc = cmd_fail(msg, mlen, SL_EUSAGE, "unknown command \"%s\"",
		    a->cmd);
	else if ((rc = cmd_args_only(a, no_args, msg, mlen)) == SL_OK)
		rc = member_list(d, c, id, ms);
	mdb_txn_abort(txn);
	return rc;
}

/* ---- invitations ------------------------------------------------------- */

int
cmd_reach_addr(const struct cmd_ctx *d, const struct args *a, const char *who,
    char addr[CONFIG_ADDR_MAX + 2], char *msg, size_t mlen)
{
	char host[CONFIG_ADDR_MAX + 1];
	unsigned port;

	if (!cmd_arg_str(a, "addr", addr, CONFIG_ADDR_MAX + 2))
		snprintf(addr, CONFIG_ADDR_MAX + 2, "%s", d->sync != NULL ?
		    sync_listen_addr(d->sync) : "");
	if (addr[0] == '\0')
		return cmd_fail(msg, mlen, SL_EINVAL, "this node does not "
		    "listen for peers: set listen in samlog.conf (or give "
		    "--addr HOST:PORT where the %s can reach it)", who);
	if (!config_addr_split(addr, host, sizeof host, &port, false, msg,
	    mlen))
		return SL_EUSAGE;
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
		return cmd_fail(msg, mlen, SL_EINVAL, "this node listens on "
		    "every address (%s): give --addr HOST:PORT, the one the "
		    "%s can reach", addr, who);
	return SL_OK;
}

int
cmd_invite(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "expires", "addr", NULL };
	char exp_s[16] = "7d", addr[CONFIG_ADDR_MAX + 2] = "";
	char line[SL_INVITE_MAX];
	char node[SL_NODE_ID_TEXT + 1], sec[SL_B32_LEN(STORE_SECRET_LEN) + 1];
	uint8_t secret[STORE_SECRET_LEN];
	uint64_t ms, expires;
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	MDB_txn *txn;
	bool current = false;
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "expires", exp_s, sizeof exp_s))
		snprintf(exp_s, sizeof exp_s, "7d");
	if (!config_duration_parse(exp_s, &ms))
		return cmd_fail(msg, mlen, SL_EUSAGE, "--expires takes a number "
		    "and s, m, h or d (30m, 24h, 7d), from 1 s to 7 days; not "
		    "\"%s\"", exp_s);
	if ((rc = cmd_reach_addr(d, a, "newcomer", addr, msg, mlen)) !=
	    SL_OK)
		return rc;
	if (store_read_begin(d->s, &txn) == SL_OK) {
		const struct sl_members *ms2 = project_members(d->p, txn);

		current = ms2 != NULL && sl_members_current(ms2, d->node);
		rc = ms2 != NULL ? cmd_ledger_refuse_waiting(ms2, msg, mlen) :
		    SL_OK;
		mdb_txn_abort(txn);
		if (rc != SL_OK)
			return rc;
	}
	if (!current)
		return cmd_fail(msg, mlen, SL_EPERM, "this node's organisation "
		    "is retired: it cannot admit others");
	sl_random(secret, sizeof secret);
	expires = sl_now_ms() + ms;
	if ((rc = store_invite_add(d->s, secret, expires)) != SL_OK)
		return cmd_fail(msg, mlen, rc, "cannot keep the invitation");
	sl_b32_encode(node, d->node, SL_KEY_LEN);
	sl_b32_encode(sec, secret, sizeof secret);
	sl_wipe(secret, sizeof secret);
	/* The newcomer admits the organisation and dials the device. */
	if (cmd_is_device(d)) {
		char org[SL_NODE_ID_TEXT + 1];

		sl_b32_encode(org, d->orgkey, SL_KEY_LEN);
		if (snprintf(line, sizeof line, "%s%s:%s:%s:%llu:%s",
		    SL_INVITE_PREFIX2, node, org, sec,
		    (unsigned long long)(expires / 1000), addr) >=
		    (int)sizeof line)
			return cmd_fail(msg, mlen, SL_EINVAL, "the invitation "
			    "is too long: give a shorter --addr");
	} else {
		snprintf(line, sizeof line, "%s%s:%s:%llu:%s", SL_INVITE_PREFIX,
		    node, sec, (unsigned long long)(expires / 1000), addr);
	}
	{
		char when[48];

		sl_hlc_format(when, sizeof when, expires << 16);
		log_info("gave an invitation, open until %s", when);
	}
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 4);
	sl_pack_cstr(&pk, "invitation");
	sl_pack_cstr(&pk, line);
	sl_pack_cstr(&pk, "expires");
	sl_pack_time(&pk, expires << 16);
	sl_pack_cstr(&pk, "inviter");
	sl_pack_cstr(&pk, node);
	sl_pack_cstr(&pk, "addr");
	sl_pack_cstr(&pk, addr);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	sl_wipe(line, sizeof line);
	free(g.p);
	return SL_OK;
}

bool
cmd_invite_parse(const char *text, struct invitation *inv, char *msg,
    size_t mlen)
{
	size_t pl = strlen(SL_INVITE_PREFIX);
	char node[SL_NODE_ID_TEXT + 1], sec[SL_B32_LEN(STORE_SECRET_LEN) + 1];
	const char *p = text;
	char *end;

	memset(inv, 0, sizeof *inv);
	/* Pasted with spaces or a line break around it. */
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	bool two = strncmp(p, SL_INVITE_PREFIX2, pl) == 0;

	if (strncmp(p, SL_INVITE_PREFIX, pl) != 0 && !two)
		goto bad;
	p += pl;
	for (int k = 0; k < 1 + two; k++) {
		if (strlen(p) < SL_NODE_ID_TEXT + 1 || p[SL_NODE_ID_TEXT] != ':')
			goto bad;
		memcpy(node, p, SL_NODE_ID_TEXT);
		node[SL_NODE_ID_TEXT] = '\0';
		if (!sl_b32_decode(k == 0 ? inv->inviter : inv->org,
		    SL_KEY_LEN, node))
			goto bad;
		p += SL_NODE_ID_TEXT + 1;
	}
	if (!two)
		memcpy(inv->org, inv->inviter, SL_KEY_LEN);
	if (strlen(p) < sizeof sec || p[sizeof sec - 1] != ':')
		goto bad;
	memcpy(sec, p, sizeof sec - 1);
	sec[sizeof sec - 1] = '\0';
	if (!sl_b32_decode(inv->secret, STORE_SECRET_LEN, sec))
		goto bad;
	p += sizeof sec;
	if (*p < '0' || *p > '9')
		goto bad;
	inv->expires_s = strtoull(p, &end, 10);
	if (*end != ':')
		goto bad;
	p = end + 1;
	if (strchr(p, ':') == NULL || strlen(p) >= sizeof inv->addr)
		goto bad;
	snprintf(inv->addr, sizeof inv->addr, "%s", p);
	inv->addr[strcspn(inv->addr, " \t\r\n")] = '\0';
	if (!config_addr_split(inv->addr, inv->host, sizeof inv->host,
	    &inv->port, false, msg, mlen))
		return false;
	return true;
bad:
	cmd_fail(msg, mlen, SL_EINVAL, "that is not an invitation (it starts "
	    "\"%s\" and is one line: copy all of what samlog invite printed)",
	    SL_INVITE_PREFIX);
	return false;
}

/* ---- for sync ---------------------------------------------------------- */

bool
cmd_sync_member(void *ctx, const uint8_t key[SL_KEY_LEN], uint64_t *upto)
{
	struct cmd_ctx *d = ctx;
	const struct sl_members *ms;
	MDB_txn *txn;
	bool yes = false;

	*upto = UINT64_MAX;
	if (store_read_begin(d->s, &txn) != SL_OK)
		return false;
	/* A member's own key or one of its devices (12.3). */
	if ((ms = project_members(d->p, txn)) != NULL)
		yes = sl_members_signer(ms, key, upto);
	mdb_txn_abort(txn);
	return yes;
}

size_t
cmd_sync_members(void *ctx, uint8_t (*keys)[SL_KEY_LEN], size_t max)
{
	struct cmd_ctx *d = ctx;
	const struct sl_members *ms;
	MDB_txn *txn;
	size_t n = 0;

	if (store_read_begin(d->s, &txn) != SL_OK)
		return 0;
	if ((ms = project_members(d->p, txn)) != NULL)
		n = sl_members_signers(ms, keys, max);
	mdb_txn_abort(txn);
	return n;
}
