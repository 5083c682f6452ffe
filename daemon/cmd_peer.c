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
	msgpack_pack_map(pk, 12);
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
