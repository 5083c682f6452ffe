/*
 * cmd_peer.c - the peer commands (peer add, remove, list) and the peers
 * as `status` shows them.
 *
 * A peer command changes samlog.conf first (config_write_peer: the file
 * is rewritten beside itself and renamed over, comments kept), then reads
 * it back and gives its peers to sync, as a reload would: the file stays
 * the one truth about membership, and a change that cannot be written is
 * not made.  sync knows nothing of the file or of replies; it only says
 * what it knows of each peer (struct sync_peer_info), packed here.
 */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_int.h"

static void
time_text(char *out, size_t len, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
cmd_pack_peer(const struct sync_peer_info *pi, msgpack_packer *pk)
{
	char id[SL_NODE_ID_TEXT + 1], t[32];
	bool up = pi->connected;

	sl_b32_encode(id, pi->cfg.key, SL_KEY_LEN);
	msgpack_pack_map(pk, 13);
	sl_pack_cstr(pk, "name");
	sl_pack_cstr(pk, pi->cfg.name);
	sl_pack_cstr(pk, "node_id");
	sl_pack_cstr(pk, id);
	/* Where the peer is dialled, not where a connection happens to come
	 * from: an incoming one's address is the peer's ephemeral port. */
	sl_pack_cstr(pk, "addr");
	sl_pack_cstr(pk, pi->cfg.addr[0] ? pi->cfg.addr : up &&
	    !pi->outgoing ? "incoming" : "-");
	sl_pack_cstr(pk, "connected");
	sl_pack_bool(pk, up);
	sl_pack_cstr(pk, "direction");
	sl_pack_cstr(pk, up ? (pi->outgoing ? "out" : "in") : "");
	sl_pack_cstr(pk, "last_contact");
	if (pi->last_contact) {
		time_text(t, sizeof t, up ? sl_now_ms() : pi->last_contact);
		sl_pack_cstr(pk, t);
	} else {
		msgpack_pack_nil(pk);
	}
	sl_pack_cstr(pk, "behind");
	msgpack_pack_uint64(pk, pi->behind);
	sl_pack_cstr(pk, "ahead");
	msgpack_pack_uint64(pk, pi->ahead);
	sl_pack_cstr(pk, "sent");
	msgpack_pack_uint64(pk, pi->sent);
	sl_pack_cstr(pk, "received");
	msgpack_pack_uint64(pk, pi->received);
	sl_pack_cstr(pk, "refused");
	msgpack_pack_uint64(pk, pi->refused);
	sl_pack_cstr(pk, "not_accepted");
	msgpack_pack_uint64(pk, pi->strangers);
	sl_pack_cstr(pk, "last_error");
	sl_pack_cstr(pk, pi->last_error);
}

/* Peer i as one RECORD. */
static void
send_peer(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, size_t i)
{
	struct sync_peer_info pi;
	struct sl_buf g = { 0 };
	msgpack_packer pk;

	sync_peer_get(d->sync, i, &pi);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	cmd_pack_peer(&pi, &pk);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
}

/* Reads the config back after a peer command changed it and gives its
 * peers to sync. */
static int
peer_reload(struct cmd_ctx *d, char *msg, size_t mlen)
{
	struct config c;
	int rc;

	if ((rc = config_load(&c, d->conf_path, msg, mlen)) != SL_OK)
		return rc;
	sync_apply(d->sync, &c);
	config_free(&c);
	return SL_OK;
}

/* peer add: checks name, id and address, and that neither the name nor
 * the key is another peer's, then writes the line. */
static int
peer_add(struct cmd_ctx *d, const char *name, const char *node_id,
    const char *addr, char *msg, size_t mlen)
{
	struct config_peer cp;
	struct sync_peer_info old;
	char host[CONFIG_ADDR_MAX + 1], why[160];
	unsigned port;
	long i;
	int rc;

	memset(&cp, 0, sizeof cp);
	if (!config_name_valid(name)) {
		snprintf(msg, mlen, "invalid peer name \"%s\" (1 to %d letters, "
		    "digits, '.', '_' or '-')", name, CONFIG_NAME_MAX);
		return SL_EVALUE;
	}
	if (strlen(node_id) != SL_NODE_ID_TEXT ||
	    !sl_b32_decode(cp.key, SL_KEY_LEN, node_id)) {
		snprintf(msg, mlen, "invalid node id \"%s\" (%d base32 "
		    "characters, as 'samlog init' prints)", node_id,
		    SL_NODE_ID_TEXT);
		return SL_EVALUE;
	}
	if (addr != NULL && !config_addr_split(addr, host, sizeof host, &port,
	    false, why, sizeof why)) {
		snprintf(msg, mlen, "%s", why);
		return SL_EVALUE;
	}
	if (memcmp(cp.key, d->node, SL_KEY_LEN) == 0) {
		snprintf(msg, mlen, "%s is this node's own id", node_id);
		return SL_EVALUE;
	}
	if ((i = sync_peer_index_key(d->sync, cp.key)) >= 0) {
		sync_peer_get(d->sync, (size_t)i, &old);
		if (strcmp(old.cfg.name, name) != 0) {
			snprintf(msg, mlen, "node %s is already peer %s",
			    node_id, old.cfg.name);
			return SL_EEXIST;
		}
	}
	if ((i = sync_peer_index(d->sync, name)) >= 0) {
		sync_peer_get(d->sync, (size_t)i, &old);
		if (memcmp(old.cfg.key, cp.key, SL_KEY_LEN) != 0) {
			snprintf(msg, mlen, "peer %s exists with another node "
			    "id (remove it first: samlog peer remove %s)", name,
			    name);
			return SL_EEXIST;
		}
	}
	if (i < 0 && sync_peer_count(d->sync) >= CONFIG_PEERS_MAX) {
		snprintf(msg, mlen, "this node has %d peers already",
		    CONFIG_PEERS_MAX);
		return SL_EFULL;
	}
	/* Both fit: checked above (config_name_valid, config_addr_split). */
	snprintf(cp.name, sizeof cp.name, "%.*s", CONFIG_NAME_MAX, name);
	snprintf(cp.addr, sizeof cp.addr, "%.*s", CONFIG_ADDR_MAX,
	    addr ? addr : "");
	if ((rc = config_write_peer(d->conf_path, &cp, false, msg,
	    mlen)) != SL_OK)
		return rc;
	log_info("peer %s %s (%s%s%s)", name, i >= 0 ? "updated" : "added",
	    node_id, cp.addr[0] ? ", dialled at " : ", not dialled",
	    cp.addr[0] ? cp.addr : "");
	/* Trusting a node is admitting its organisation (PROTOCOL.md
	 * 12.1): every member's node then accepts it. */
	if ((rc = cmd_member_admit(d, cp.key, NULL, msg, mlen)) != SL_OK)
		return rc;
	return peer_reload(d, msg, mlen);
}

static int
peer_remove(struct cmd_ctx *d, const char *name, char *msg, size_t mlen)
{
	struct sync_peer_info pi;
	long i = sync_peer_index(d->sync, name);
	int rc;

	if (i < 0) {
		snprintf(msg, mlen, "no peer called \"%s\" (see: samlog peer "
		    "list)", name);
		return SL_ENOENT;
	}
	sync_peer_get(d->sync, (size_t)i, &pi);
	if ((rc = config_write_peer(d->conf_path, &pi.cfg, true, msg,
	    mlen)) != SL_OK)
		return rc;
	return peer_reload(d, msg, mlen);
}

/* peer add NAME --key NODEID [--addr HOST:PORT], peer remove NAME,
 * peer list. */
int
cmd_peer(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const add_args[] = { "id", "key", "addr", NULL };
	static const char *const rm_args[] = { "id", NULL };
	static const char *const no_args[] = { NULL };
	char name[CONFIG_NAME_MAX + 2], key[SL_NODE_ID_TEXT + 2];
	char addr[CONFIG_ADDR_MAX + 2];
	const char *verb = a->cmd + 5;
	int rc;

	if (d->sync == NULL)
		return cmd_fail(msg, mlen, SL_EINVAL, "this daemon runs without "
		    "peers");
	if (strcmp(verb, "list") == 0) {
		if ((rc = cmd_args_only(a, no_args, msg, mlen)) != SL_OK)
			return rc;
		for (size_t i = 0; i < sync_peer_count(d->sync); i++)
			send_peer(d, c, id, i);
		return SL_OK;
	}
	bool add = strcmp(verb, "add") == 0;

	if (!add && strcmp(verb, "remove") != 0)
		return cmd_fail(msg, mlen, SL_EUSAGE, "unknown command \"%s\"",
		    a->cmd);
	if ((rc = cmd_args_only(a, add ? add_args : rm_args, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", name, sizeof name))
		return cmd_fail(msg, mlen, SL_EUSAGE, "peer %s needs a NAME", verb);
	if (!add)
		return peer_remove(d, name, msg, mlen);
	if (!cmd_arg_str(a, "key", key, sizeof key))
		return cmd_fail(msg, mlen, SL_EUSAGE, "peer add needs --key NODEID");
	bool has_addr = cmd_arg_str(a, "addr", addr, sizeof addr);

	if ((rc = peer_add(d, name, key, has_addr ? addr : NULL, msg,
	    mlen)) != SL_OK)
		return rc;
	long i = sync_peer_index(d->sync, name);

	if (i >= 0) {
		send_peer(d, c, id, (size_t)i);
	}
	return SL_OK;
}

/* ---- joining (PROTOCOL.md 12.2) --------------------------------------------- */

/* A peer NAME for key: name made of [A-Za-z0-9._-] when it has enough
 * of those, else "member-" and the key's fingerprint; not the NAME of a
 * peer with another key. */
void
cmd_peer_label(const struct cmd_ctx *d, const char *name,
    const uint8_t key[SL_KEY_LEN], char out[CONFIG_NAME_MAX + 1])
{
	char fpr[SL_FPR_TEXT + 1];
	size_t n = 0;

	for (const char *p = name; p != NULL && *p && n < 24; p++) {
		char ch = *p;

		/* å ä é ö and their capitals: the letter without its mark. */
		if ((unsigned char)p[0] == 0xc3 && p[1] != '\0') {
			static const char from[] = "\xa5\xa4\xa9\xb6\x85\x84\x89\x96";
			static const char to[] = "aaeoAAEO";
			const char *f = memchr(from, p[1], sizeof from - 1);

			p++;
			if (f == NULL)
				continue;
			ch = to[f - from];
		}
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		    ch == '_')
			out[n++] = ch;
		else if (ch == ' ' && n > 0 && out[n - 1] != '-')
			out[n++] = '-';
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
	sl_fingerprint(fpr, key);
	if (n < 3)
		snprintf(out, CONFIG_NAME_MAX + 1, "member-%.8s", fpr);
	long i = sync_peer_index(d->sync, out);

	if (i >= 0) {
		struct sync_peer_info pi;

		sync_peer_get(d->sync, (size_t)i, &pi);
		if (memcmp(pi.cfg.key, key, SL_KEY_LEN) != 0) {
			size_t used = strlen(out);

			snprintf(out + (used > 16 ? 16 : used),
			    CONFIG_NAME_MAX + 1 - (used > 16 ? 16 : used),
			    "-%.8s", fpr);
		}
	}
}

/* Writes (or rewrites) the peer line for key and applies it. */
int
cmd_peer_line(struct cmd_ctx *d, const uint8_t key[SL_KEY_LEN], const char *label,
    const char *addr, char *msg, size_t mlen)
{
	struct config_peer cp;
	long i = sync_peer_index_key(d->sync, key);
	int rc;

	memset(&cp, 0, sizeof cp);
	if (i >= 0) {
		struct sync_peer_info pi;

		sync_peer_get(d->sync, (size_t)i, &pi);
		cp = pi.cfg;
	} else {
		snprintf(cp.name, sizeof cp.name, "%s", label);
		memcpy(cp.key, key, SL_KEY_LEN);
	}
	if (addr != NULL)
		snprintf(cp.addr, sizeof cp.addr, "%s", addr);
	if ((rc = config_write_peer(d->conf_path, &cp, false, msg, mlen)) !=
	    SL_OK)
		return rc;
	return peer_reload(d, msg, mlen);
}

/* Takes the newcomer's JOIN (sync_join_fn). */
int
cmd_sync_join(void *ctx, const uint8_t key[SL_KEY_LEN],
    const uint8_t secret[SL_JOIN_SECRET_LEN], const char *name, char *why,
    size_t wlen)
{
	struct cmd_ctx *d = ctx;
	char label[CONFIG_NAME_MAX + 1], fpr[SL_FPR_TEXT + 1];
	const struct sl_members *ms;
	MDB_txn *txn;
	int rc;

	uint64_t expires = 0;
	bool majority = false;

	sl_fingerprint(fpr, key);
	rc = store_invite_take(d->s, secret, sl_now_ms(), &expires);
	if (rc == SL_ENOENT) {
		log_warn("refused a join by %s (\"%s\"): an unknown or used "
		    "invitation", fpr, name);
		snprintf(why, wlen, "the invitation is unknown to this node or "
		    "was used already: ask for a new one (samlog invite)");
		return SL_EPERM;
	}
	if (rc == SL_EVALUE) {
		log_warn("refused a join by %s (\"%s\"): an expired invitation",
		    fpr, name);
		snprintf(why, wlen, "the invitation has expired: ask for a new "
		    "one (samlog invite)");
		return SL_EPERM;
	}
	if (rc != SL_OK) {
		snprintf(why, wlen, "the inviting node cannot read its "
		    "invitations now");
		return rc;
	}
	/* The invitation is taken; a refusal below gives it back (a name
	 * to correct is no reason to need a new one). */
	if (store_read_begin(d->s, &txn) != SL_OK) {
		snprintf(why, wlen, "the inviting node cannot read its store");
		return SL_ESTORE;
	}
	if ((ms = project_members(d->p, txn)) == NULL) {
		mdb_txn_abort(txn);
		snprintf(why, wlen, "the inviting node cannot read its members");
		return SL_ESTORE;
	}
	rc = SL_OK;
	if (sl_members_get(ms, key) != NULL && !sl_members_current(ms, key)) {
		snprintf(why, wlen, "this key was retired from the federation "
		    "and cannot join again: make a new node (samlog init)");
		rc = SL_EPERM;
	}
	majority = sl_members_ledger(ms, NULL);
	if (rc == SL_OK && sl_members_name_holder(ms, name, key) != NULL) {
		snprintf(why, wlen, "the name \"%s\" is another member's: join "
		    "under your organisation's own name (org in samlog.conf)",
		    name);
		rc = SL_EEXIST;
	}
	mdb_txn_abort(txn);
	if (rc != SL_OK) {
		log_warn("refused a join by %s (\"%s\"): %s", fpr, name, why);
		if (rc == SL_EEXIST)
			store_invite_add(d->s, secret, expires);
		return rc;
	}
	cmd_peer_label(d, name, key, label);
	if (majority) {
		size_t approved, needed;

		/* Under the majority policy this node's word is one
		 * approval; the newcomer gets the log and is let in once
		 * enough members approved (12.4). */
		if ((rc = cmd_ledger_approve(d, SL_MACT_ADMIT, key, name,
		    &approved, &needed, why, wlen)) != SL_OK ||
		    (rc = cmd_peer_line(d, key, label, NULL, why, wlen)) !=
		    SL_OK)
			return rc;
		if (needed == 0)
			log_info("admitted %s (%s) with an invitation: enough "
			    "members approved", name, fpr);
		else
			log_info("asked to admit %s (%s) with an invitation: %zu "
			    "of %zu approvals; the others approve with samlog "
			    "member approve", name, fpr, approved, needed);
		return SL_OK;
	}
	if ((rc = cmd_member_admit(d, key, name, why, wlen)) != SL_OK ||
	    (rc = cmd_peer_line(d, key, label, NULL, why, wlen)) != SL_OK)
		return rc;
	log_info("admitted %s (%s) with an invitation; peer %s", name, fpr,
	    label);
	return SL_OK;
}

bool
cmd_invites_open(void *ctx)
{
	struct cmd_ctx *d = ctx;

	return store_invite_count(d->s, sl_now_ms()) > 0;
}

/* A join under way: the request waiting for the inviter's answer. */
struct join_wait {
	struct cmd_ctx *d;
	struct ctl_conn *c;
	uint32_t id;
	uint8_t inviter[SL_KEY_LEN];
	uint8_t org[SL_KEY_LEN];     /* the inviter's organisation */
	char addr[CONFIG_ADDR_MAX + 1];
	uv_timer_t timer;
	bool done;
};

#define JOIN_WAIT_MS 20000

static void
join_freed(uv_handle_t *h)
{
	free(h->data);
}

/* Answers the join request and ends the wait. */
static void
join_finish(struct join_wait *w, int code, const char *msg)
{
	struct cmd_ctx *d = w->d;
	char m[512];

	if (w->done)
		return;
	w->done = true;
	uv_timer_stop(&w->timer);
	snprintf(m, sizeof m, "%s", msg);
	if (code == SL_OK) {
		char err[256] = "cannot keep the organisation it joined "
		    "through";
		struct sl_buf g = { 0 };
		msgpack_packer pk;
		char id[SL_NODE_ID_TEXT + 1];

		/* This node admits its inviter: from its own organisation
		 * it reaches every member the inviter reaches.  Kept first:
		 * under the majority policy the inviter's ledger is the one
		 * this node follows (12.4). */
		bool kept = store_meta_key_put(d->s, "inviter", w->org) ==
		    SL_OK;

		project_members_forget(d->p);
		if (!kept || cmd_member_admit(d, w->org, NULL, err,
		    sizeof err) != SL_OK) {
			code = SL_ESTORE;
			snprintf(m, sizeof m, "joined, but cannot record the "
			    "inviter as a member: %s", err);
		} else {
			/* A device invited this node: its key is let through
			 * until its certificate arrives (12.3). */
			if (memcmp(w->inviter, w->org, SL_KEY_LEN) != 0)
				sync_enrol(d->sync, w->inviter);
			sl_b32_encode(id, w->inviter, SL_KEY_LEN);
			msgpack_packer_init(&pk, &g, sl_buf_write);
			msgpack_pack_map(&pk, 3);
			sl_pack_cstr(&pk, "joined");
			sl_pack_bool(&pk, true);
			sl_pack_cstr(&pk, "inviter");
			sl_pack_cstr(&pk, id);
			sl_pack_cstr(&pk, "addr");
			sl_pack_cstr(&pk, w->addr);
			ctl_send(w->c, SL_MSG_RECORD, w->id, g.p, g.len);
			free(g.p);
			log_info("joined the federation through %.16s at %s",
			    id, w->addr);
		}
	} else {
		char err[256];
		long i = sync_peer_index_key(d->sync, w->inviter);

		/* A join that did not happen leaves no peer behind. */
		if (i >= 0) {
			struct sync_peer_info pi;

			sync_peer_get(d->sync, (size_t)i, &pi);
			if (config_write_peer(d->conf_path, &pi.cfg, true, err,
			    sizeof err) == SL_OK)
				peer_reload(d, err, sizeof err);
		}
		log_warn("join through %s failed: %s", w->addr, m);
	}
	cmd_reply_end(w->c, w->id);
	cmd_reply_result(w->c, w->id, code, code == SL_OK ? "ok" : m, NULL);
	ctl_flush(w->c);
	ctl_conn_unref(w->c);
	uv_close((uv_handle_t *)&w->timer, join_freed);
}

static void
joined_cb(void *ctx, int code, const char *why)
{
	struct join_wait *w = ctx;
	char m[400];

	snprintf(m, sizeof m, "the inviting node refused: %s", why);
	join_finish(w, code, code == SL_OK ? "" : m);
}

static void
join_timeout_cb(uv_timer_t *t)
{
	struct join_wait *w = t->data;
	struct cmd_ctx *d = w->d;
	long i = sync_peer_index_key(d->sync, w->inviter);
	struct sync_peer_info pi;
	char m[sizeof pi.last_error + CONFIG_ADDR_MAX + 96];

	pi.last_error[0] = '\0';
	if (i >= 0)
		sync_peer_get(d->sync, (size_t)i, &pi);
	sync_join_cancel(d->sync, w->inviter);
	snprintf(m, sizeof m, "no answer from the inviting node at %s within "
	    "%d s%s%s", w->addr, JOIN_WAIT_MS / 1000, pi.last_error[0] ?
	    ": " : "", pi.last_error);
	join_finish(w, SL_EIO, m);
}

int
cmd_join(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", NULL };
	char text[SL_INVITE_MAX + 2], label[CONFIG_NAME_MAX + 1];
	struct invitation inv;
	struct join_wait *w;
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", text, sizeof text))
		return cmd_fail(msg, mlen, SL_EUSAGE, "join needs the INVITATION "
		    "a member's samlog invite printed");
	/* A device's enrolment (samlog device add) is answered at once. */
	if (cmd_is_enrolment(text)) {
		rc = cmd_device_join(d, c, id, text, msg, mlen);
		if (rc == SL_OK) {
			cmd_reply_end(c, id);
			cmd_reply_result(c, id, SL_OK, "ok", NULL);
		}
		return rc;
	}
	if (!cmd_invite_parse(text, &inv, msg, mlen))
		return SL_EINVAL;
	if (d->sync == NULL)
		return cmd_fail(msg, mlen, SL_EINVAL, "this daemon runs without "
		    "peers");
	if (memcmp(inv.inviter, d->node, SL_KEY_LEN) == 0 ||
	    memcmp(inv.org, d->orgkey, SL_KEY_LEN) == 0)
		return cmd_fail(msg, mlen, SL_EINVAL, "that invitation is this "
		    "organisation's own: run samlog join on the new "
		    "organisation's node (a new device of this one is added "
		    "with samlog device add)");
	if (inv.expires_s * 1000 < sl_now_ms())
		return cmd_fail(msg, mlen, SL_EVALUE, "the invitation has "
		    "expired: ask the member for a new one (samlog invite)");
	MDB_txn *txn;
	bool already = false;

	if (store_read_begin(d->s, &txn) == SL_OK) {
		const struct sl_members *ms = project_members(d->p, txn);

		already = ms != NULL && sl_members_current(ms, inv.org);
		mdb_txn_abort(txn);
	}
	if (already)
		return cmd_fail(msg, mlen, SL_EEXIST, "this node is in that "
		    "federation already: the inviting node's organisation is "
		    "one of its members (samlog member list)");
	if ((w = calloc(1, sizeof *w)) == NULL)
		return SL_ENOMEM;
	cmd_peer_label(d, "inviter", inv.inviter, label);
	if ((rc = cmd_peer_line(d, inv.inviter, label, inv.addr, msg, mlen)) !=
	    SL_OK) {
		free(w);
		return rc;
	}
	w->d = d;
	w->c = c;
	w->id = id;
	memcpy(w->inviter, inv.inviter, SL_KEY_LEN);
	memcpy(w->org, inv.org, SL_KEY_LEN);
	snprintf(w->addr, sizeof w->addr, "%s", inv.addr);
	if ((rc = sync_join(d->sync, inv.inviter, inv.secret, d->org,
	    joined_cb, w)) != SL_OK) {
		sl_wipe(&inv, sizeof inv);
		free(w);
		return cmd_fail(msg, mlen, rc, "a join through that node is "
		    "already under way");
	}
	sl_wipe(&inv, sizeof inv);
	ctl_conn_ref(c);
	uv_timer_init(d->loop, &w->timer);
	w->timer.data = w;
	uv_timer_start(&w->timer, join_timeout_cb, JOIN_WAIT_MS, 0);
	return SL_OK;
}
