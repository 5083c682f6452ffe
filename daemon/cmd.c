/*
 * cmd.c - what control requests mean: the command table, dispatch, and
 * the handler's life (cmd.h).  The work is in cmd_args.c (decoding),
 * cmd_write.c (writes and the group commit), cmd_read.c (answers) and
 * cmd_import.c (imports); cmd_int.h says what they share.
 *
 * Every request is checked against the client's rights (rights.c) before
 * anything else.  Writes are queued for the next group commit; the rest
 * run at once, most inside one read transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_int.h"

/*
 * The read and node commands.  A name with kind set is KIND.NAME for
 * every record kind of the schema ("contact.list"); writes are the
 * schema's own verbs (cmd_write_type) and go to the group commit; imports
 * are cmd_import.c's.  txn: the handler reads from one read transaction.
 */
struct cmd_call {
	struct cmd_ctx *d;
	struct ctl_conn *c;
	uint32_t id;
	MDB_txn *txn;
	const struct args *a;
	char kind;
	char *msg;
	size_t mlen;
};

static int
do_list(struct cmd_call *k)
{
	return cmd_read_list(k->d, k->c, k->id, k->txn, k->a, k->kind, k->msg,
	    k->mlen);
}

static int
do_show(struct cmd_call *k)
{
	return cmd_read_show(k->d, k->c, k->id, k->txn, k->a, k->kind, k->msg,
	    k->mlen);
}

static int
do_history(struct cmd_call *k)
{
	return cmd_read_history(k->d, k->c, k->id, k->txn, k->a, k->msg,
	    k->mlen);
}

static int
do_find(struct cmd_call *k)
{
	return cmd_read_find(k->d, k->c, k->id, k->txn, k->a, k->msg, k->mlen);
}

static int
do_conflicts(struct cmd_call *k)
{
	return cmd_read_conflicts(k->d, k->c, k->id, k->txn, k->a, k->msg,
	    k->mlen);
}

static int
do_timeline(struct cmd_call *k)
{
	return cmd_read_timeline(k->d, k->c, k->id, k->txn, k->a, k->msg,
	    k->mlen);
}

static int
do_audit(struct cmd_call *k)
{
	return cmd_read_audit(k->d, k->c, k->id, k->txn, k->a, k->msg, k->mlen);
}

static int
do_events(struct cmd_call *k)
{
	return cmd_events(k->d, k->c, k->id, k->txn, k->a, k->msg, k->mlen);
}

static int
do_log(struct cmd_call *k)
{
	return cmd_read_log(k->d, k->c, k->id, k->txn);
}

static int
do_status(struct cmd_call *k)
{
	return cmd_read_status(k->d, k->c, k->id);
}

static int
do_verify(struct cmd_call *k)
{
	return cmd_read_verify(k->d, k->c, k->id, k->msg, k->mlen);
}

static int
do_rebuild(struct cmd_call *k)
{
	return cmd_read_rebuild(k->d, k->c, k->id, k->msg, k->mlen);
}

static int
do_peer(struct cmd_call *k)
{
	return cmd_peer(k->d, k->c, k->id, k->a, k->msg, k->mlen);
}

static int
do_member(struct cmd_call *k)
{
	return cmd_member(k->d, k->c, k->id, k->a, k->msg, k->mlen);
}

static int
do_device(struct cmd_call *k)
{
	return cmd_device(k->d, k->c, k->id, k->a, k->msg, k->mlen);
}

static int
do_invite(struct cmd_call *k)
{
	return cmd_invite(k->d, k->c, k->id, k->a, k->msg, k->mlen);
}

static int
do_person(struct cmd_call *k)
{
	return cmd_read_person(k->d, k->c, k->id, k->txn, k->a, k->msg,
	    k->mlen);
}

static int
do_backup(struct cmd_call *k)
{
	return cmd_backup(k->d, k->c, k->id, k->a, k->msg, k->mlen);
}

static int
do_erase(struct cmd_call *k)
{
	return cmd_erase(k->d, k->c, k->id, k->a, k->msg, k->mlen);
}

static const struct cmd_entry {
	const char *name;
	bool kind;
	bool txn;
	int (*fn)(struct cmd_call *);
} commands[] = {
	{ "list", true, true, do_list },
	{ "show", true, true, do_show },
	{ "history", false, true, do_history },
	{ "find", false, true, do_find },
	{ "conflicts", false, true, do_conflicts },
	{ "timeline", false, true, do_timeline },
	{ "audit", false, true, do_audit },
	{ "events", false, true, do_events },
	{ "log", false, true, do_log },
	{ "status", false, false, do_status },
	{ "verify", false, false, do_verify },
	{ "rebuild", false, false, do_rebuild },
	{ "peer.add", false, false, do_peer },
	{ "peer.list", false, false, do_peer },
	{ "peer.remove", false, false, do_peer },
	{ "member.list", false, false, do_member },
	{ "invite", false, false, do_invite },
	{ "member.retire", false, false, do_member },
	{ "member.policy", false, false, do_member },
	{ "member.approve", false, false, do_member },
	{ "member.keeper", false, false, do_member },
	{ "device.list", false, false, do_device },
	{ "device.request", false, false, do_device },
	{ "device.add", false, false, do_device },
	{ "device.revoke", false, false, do_device },
	{ "device.rotate", false, false, do_device },
	{ "erase", false, false, do_erase },
	{ "person", false, true, do_person },
	{ "backup", false, false, do_backup },
};

/* The entry for cmd; *kind the record kind of a KIND.NAME command. */
static const struct cmd_entry *
cmd_find(const char *cmd, char *kind)
{
	const char *dot = strchr(cmd, '.');
	char word[16];

	*kind = 0;
	if (dot != NULL && (size_t)(dot - cmd) < sizeof word) {
		memcpy(word, cmd, (size_t)(dot - cmd));
		word[dot - cmd] = '\0';
		*kind = project_kind(word);
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		const struct cmd_entry *e = &commands[i];

		if (e->kind ? *kind != 0 && strcmp(dot + 1, e->name) == 0 :
		    strcmp(cmd, e->name) == 0)
			return e;
	}
	return NULL;
}

/* Queues a write for the next group commit. */
static int
cmd_queue(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const uint8_t *body, size_t len)
{
	struct pending *p = calloc(1, sizeof *p);

	if (p == NULL || (p->body = malloc(len ? len : 1)) == NULL) {
		free(p);
		return SL_ENOMEM;
	}
	memcpy(p->body, body, len);
	p->len = len;
	p->c = c;
	p->id = id;
	snprintf(p->author, sizeof p->author, "%s", ctl_conn_user(c));
	ctl_conn_ref(c);
	*d->tail = p;
	d->tail = &p->next;
	uv_idle_start(&d->idle, cmd_idle_cb);
	return SL_OK;
}

#define RESTORING_MSG "this node was restored from a backup and is " \
	"taking back what its peers hold (and the erasures made since): it " \
	"serves again once it has (see samlog status)"

/* The commands a node restoring from a backup answers: its state, its
 * peers and members, and verify. */
static bool
restoring_allows(const char *cmd)
{
	static const char *const ok[] = { "status", "peer.list", "peer.add",
		"peer.remove", "member.list", "device.list", "verify", NULL };

	for (size_t i = 0; ok[i] != NULL; i++)
		if (strcmp(cmd, ok[i]) == 0)
			return true;
	return false;
}

void
cmd_set_restoring(struct cmd_ctx *d, bool on)
{
	d->restoring = on;
}

bool
cmd_restoring(const struct cmd_ctx *d)
{
	return d->restoring;
}

void
cmd_request(void *ctx, struct ctl_conn *c, uint32_t id, const uint8_t *body,
    size_t len)
{
	struct cmd_ctx *d = ctx;
	struct args *a = malloc(sizeof *a);
	char msg[1024] = "";
	struct cmd_call k = { d, c, id, NULL, a, 0, msg, sizeof msg };
	const struct cmd_entry *e;
	int rc;

	d->requests++;
	if (d->restoring && len > 12 && memmem(body, 24 < len ? 24 : len,
	    "import.", 7) != NULL) {
		cmd_reply_result(c, id, SL_ESTATE, RESTORING_MSG, NULL);
		free(a);
		return;
	}
	if (len > 12 && memmem(body, 24 < len ? 24 : len, "import.", 7) != NULL &&
	    cmd_import_dispatch(d, c, id, body, len)) {
		free(a);
		return;
	}
	if (a == NULL) {
		cmd_reply_result(c, id, SL_ENOMEM, NULL, NULL);
		return;
	}
	if ((rc = cmd_args_parse(a, body, len, msg, sizeof msg)) != SL_OK ||
	    (rc = rights_check(c, a->cmd, msg, sizeof msg)) != SL_OK)
		goto done;
	/* A node restored from a backup serves no records until it holds
	 * what its peers hold, and the erasures made since (cmd_restored). */
	if (d->restoring && !restoring_allows(a->cmd)) {
		rc = cmd_fail(msg, sizeof msg, SL_ESTATE, "%s", RESTORING_MSG);
		goto done;
	}
	if (cmd_is_write(a->cmd)) {
		if ((rc = cmd_queue(d, c, id, body, len)) != SL_OK)
			goto done;
		free(a);
		return; /* answered after its commit */
	}
	if (strcmp(a->cmd, "join") == 0) {
		if ((rc = cmd_join(d, c, id, a, msg, sizeof msg)) != SL_OK)
			goto done;
		free(a);
		return; /* answered when the inviting node answers */
	}
	if ((e = cmd_find(a->cmd, &k.kind)) == NULL) {
		rc = cmd_fail(msg, sizeof msg, SL_EUSAGE, "unknown command "
		    "\"%s\"", a->cmd);
		goto done;
	}
	if (e->txn && store_read_begin(d->s, &k.txn) != SL_OK) {
		rc = SL_ESTORE;
		goto done;
	}
	rc = e->fn(&k);
done:
	if (k.txn != NULL)
		mdb_txn_abort(k.txn);
	cmd_reply_end(c, id);
	cmd_reply_result(c, id, rc, rc == SL_OK ? "ok" : msg[0] ? msg : NULL,
	    NULL);
	free(a);
}

int
cmd_parse_request(const uint8_t *body, size_t len, char *msg, size_t mlen)
{
	struct args *a = malloc(sizeof *a);
	int rc;

	if (a == NULL)
		return SL_ENOMEM;
	rc = cmd_args_parse(a, body, len, msg, mlen);
	free(a);
	return rc;
}

struct cmd_ctx *
cmd_new(uv_loop_t *loop, struct store *s, struct project *p,
    const uint8_t node[SL_KEY_LEN], const char *org)
{
	struct cmd_ctx *d = calloc(1, sizeof *d);

	if (d == NULL)
		return NULL;
	d->loop = loop;
	d->s = s;
	d->p = p;
	memcpy(d->node, node, SL_KEY_LEN);
	store_org_pub(s, d->orgkey);
	snprintf(d->org, sizeof d->org, "%s", org);
	d->tail = &d->head;
	uv_idle_init(loop, &d->idle);
	d->idle.data = d;
	return d;
}

void
cmd_flush(struct cmd_ctx *d)
{
	/* Held writes are not made at shutdown: the node has not got its
	 * own chain back yet.  Their clients hear so. */
	while (d->head != NULL && d->held) {
		struct pending *p = d->head;

		d->head = p->next;
		if (ctl_conn_alive(p->c)) {
			cmd_reply_end(p->c, p->id);
			cmd_reply_result(p->c, p->id, SL_ERETRY, "not written: the "
			    "daemon stopped while taking back this node's own "
			    "events from a peer; try again", NULL);
			ctl_flush(p->c);
		}
		ctl_conn_unref(p->c);
		free(p->body);
		free(p);
	}
	d->tail = &d->head;
	while (d->head != NULL)
		cmd_commit(d);
	uv_idle_stop(&d->idle);
}

void
cmd_set_dir(struct cmd_ctx *d, const char *dir)
{
	d->dir = dir;
}

void
cmd_set_erasure(struct cmd_ctx *d, bool with_decision)
{
	d->erasure_decision = with_decision;
	d->erase_seen = 0;
	project_set_erasure(d->p, with_decision);
}

bool
cmd_scrub_wanted(const struct cmd_ctx *d)
{
	return d->scrub;
}

void
cmd_set_sync(struct cmd_ctx *d, struct sync *sy, const char *conf_path)
{
	d->sync = sy;
	d->conf_path = conf_path;
}

void
cmd_hold(void *ctx, bool hold)
{
	struct cmd_ctx *d = ctx;

	d->held = hold;
	if (!hold && d->head != NULL)
		uv_idle_start(&d->idle, cmd_idle_cb);
}

void
cmd_free(struct cmd_ctx *d)
{
	while (d->imports != NULL)
		cmd_import_drop(d, d->imports);
	free(d);
}

void
cmd_stats(const struct cmd_ctx *d, uint64_t *commits, uint64_t *writes,
    uint64_t *requests)
{
	*commits = d->commits;
	*writes = d->writes;
	*requests = d->requests;
}

int
cmd_member_append(struct cmd_ctx *d, const char *type,
    const uint8_t org[SL_KEY_LEN], const char *name, uint64_t upto,
    char *err, size_t errlen)
{
	char id[SL_NODE_ID_TEXT + 1];
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	int rc;

	sl_b32_encode(id, org, SL_KEY_LEN);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 1 + (name != NULL) + (upto != 0));
	if (name != NULL) {
		sl_pack_cstr(&pk, "name");
		sl_pack_cstr(&pk, name);
	}
	sl_pack_cstr(&pk, "org");
	sl_pack_cstr(&pk, id);
	if (upto != 0) {
		sl_pack_cstr(&pk, "upto");
		msgpack_pack_uint64(&pk, upto);
	}
	struct sl_event_draft dr = { .author = "samlogd", .type = type,
		.payload = g.p, .payload_len = (uint32_t)g.len };

	rc = store_append(d->s, &dr, 1, NULL, err, errlen);
	free(g.p);
	return rc;
}

int
cmd_member_retire_append(struct cmd_ctx *d, const uint8_t org[SL_KEY_LEN],
    uint64_t upto, const struct sl_mcut *cuts, uint32_t ncuts, char *err,
    size_t errlen)
{
	char id[SL_NODE_ID_TEXT + 1];
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	int rc;

	if (ncuts == 0)
		return cmd_member_append(d, "member.retired", org, NULL, upto,
		    err, errlen);
	sl_b32_encode(id, org, SL_KEY_LEN);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 3);
	sl_pack_cstr(&pk, "devices");
	msgpack_pack_array(&pk, ncuts);
	for (uint32_t i = 0; i < ncuts; i++) {
		msgpack_pack_array(&pk, 2);
		sl_pack_bin(&pk, cuts[i].device, SL_KEY_LEN);
		msgpack_pack_uint64(&pk, cuts[i].upto);
	}
	sl_pack_cstr(&pk, "org");
	sl_pack_cstr(&pk, id);
	sl_pack_cstr(&pk, "upto");
	msgpack_pack_uint64(&pk, upto);
	struct sl_event_draft dr = { .author = "samlogd",
		.type = "member.retired", .payload = g.p,
		.payload_len = (uint32_t)g.len };
	char why[200];

	if (g.failed)
		rc = SL_ENOMEM;
	else if (sl_schema_check_event(dr.type, strlen(dr.type), NULL, 0,
	    dr.payload, dr.payload_len, UINT64_MAX, why, sizeof why) != SL_OK)
		rc = cmd_fail(err, errlen, SL_ESCHEMA, "%s", why);
	else
		rc = store_append(d->s, &dr, 1, NULL, err, errlen);
	free(g.p);
	return rc;
}

bool
cmd_is_device(const struct cmd_ctx *d)
{
	return memcmp(d->node, d->orgkey, SL_KEY_LEN) != 0;
}

/* Has this node admitted org (an admission in its own chain)? */
static bool
admitted_by_self(const struct sl_members *ms, const uint8_t self[SL_KEY_LEN],
    const uint8_t org[SL_KEY_LEN])
{
	for (size_t i = 0; i < ms->nev; i++)
		if (ms->ev[i].type == SL_MEV_ADMIT &&
		    memcmp(ms->ev[i].origin, self, SL_KEY_LEN) == 0 &&
		    memcmp(ms->ev[i].org, org, SL_KEY_LEN) == 0)
			return true;
	return false;
}

int
cmd_members_sync(struct cmd_ctx *d, const struct config *c, bool startup,
    char *err, size_t errlen)
{
	struct todo {
		const char *type;
		uint8_t org[SL_KEY_LEN];
		char name[SL_ORG_MAX + 1];
	} *todo;
	size_t n = 0;
	MDB_txn *txn;
	const struct sl_members *ms;
	int rc = SL_OK;

	if ((todo = calloc(c->npeers + 1, sizeof *todo)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return SL_ENOMEM;
	}
	if ((rc = store_read_begin(d->s, &txn)) != SL_OK) {
		snprintf(err, errlen, "cannot read the store");
		free(todo);
		return rc;
	}
	if ((ms = project_members(d->p, txn)) == NULL) {
		mdb_txn_abort(txn);
		snprintf(err, errlen, "cannot read the members");
		free(todo);
		return SL_ESTORE;
	}
	/* A device's organisation was founded, and is named, by its
	 * organisation key's node (12.3). */
	bool founded = cmd_is_device(d) ||
	    admitted_by_self(ms, d->node, d->node);

	if (cmd_is_device(d)) {
		/* nothing of its own to found or rename */
	} else if (!founded) {
		/* The founding of a federation, or an older node's first
		 * start with membership: its name bound in its own chain. */
		todo[n].type = "member.admitted";
		memcpy(todo[n].org, d->node, SL_KEY_LEN);
		snprintf(todo[n++].name, sizeof todo[0].name, "%s", c->org);
	} else {
		const char *cur = sl_members_name_at(ms, d->node, UINT64_MAX);

		if (cur != NULL && strcmp(cur, c->org) != 0) {
			todo[n].type = "member.renamed";
			memcpy(todo[n].org, d->node, SL_KEY_LEN);
			snprintf(todo[n++].name, sizeof todo[0].name, "%s",
			    c->org);
		}
	}
	/* A peer line of an older version trusted the peer: the admission
	 * it stands for, under the name the peer announced.  At a start
	 * only on the first with membership: a node restored from a backup
	 * must not write before its peers have given it back its own
	 * chain (it would fork it), so later peer lines are admitted when
	 * they are added (peer add, a reload). */
	for (size_t i = 0; i < c->npeers && (!startup || !founded); i++) {
		if (admitted_by_self(ms, d->node, c->peers[i].key) ||
		    sl_members_device(ms, c->peers[i].key) != NULL ||
		    memcmp(c->peers[i].key, d->orgkey, SL_KEY_LEN) == 0)
			continue;
		todo[n].type = "member.admitted";
		memcpy(todo[n].org, c->peers[i].key, SL_KEY_LEN);
		project_node_org(d->p, txn, c->peers[i].key, todo[n].name,
		    sizeof todo[0].name);
		n++;
	}
	mdb_txn_abort(txn);
	/* A peer line names no organisation (its NAME is this node's
	 * label for it): an admission without a name leaves the name to
	 * the organisation's own founding event. */
	for (size_t i = 0; i < n && rc == SL_OK; i++)
		rc = cmd_member_append(d, todo[i].type, todo[i].org,
		    todo[i].name[0] != '\0' ? todo[i].name : NULL, 0, err,
		    errlen);
	free(todo);
	if (rc == SL_OK && n > 0 && d->sync != NULL)
		sync_log_grew(d->sync);
	return rc;
}

int
cmd_member_admit(struct cmd_ctx *d, const uint8_t org[SL_KEY_LEN],
    const char *name, char *err, size_t errlen)
{
	MDB_txn *txn;
	const struct sl_members *ms;
	bool done, majority;
	int rc;

	if ((rc = store_read_begin(d->s, &txn)) != SL_OK) {
		snprintf(err, errlen, "cannot read the store");
		return rc;
	}
	ms = project_members(d->p, txn);
	done = ms != NULL && admitted_by_self(ms, d->node, org);
	majority = ms != NULL && sl_members_ledger(ms, NULL);
	if (majority)
		done = sl_members_get(ms, org) != NULL;
	/* A node waiting to be admitted admits no one (its own inviter it
	 * admitted when it joined). */
	if (ms != NULL && !done && (rc = cmd_ledger_refuse_waiting(ms, err,
	    errlen)) != SL_OK) {
		mdb_txn_abort(txn);
		return rc;
	}
	mdb_txn_abort(txn);
	if (ms == NULL) {
		snprintf(err, errlen, "cannot read the members");
		return SL_ESTORE;
	}
	if (done)
		return SL_OK;
	/* Under the majority policy this node's word is one approval
	 * (12.4). */
	if (majority) {
		size_t approved, needed;

		return cmd_ledger_approve(d, SL_MACT_ADMIT, org, name,
		    &approved, &needed, err, errlen);
	}
	if ((rc = cmd_member_append(d, "member.admitted", org, name, 0, err,
	    errlen)) == SL_OK && d->sync != NULL)
		sync_log_grew(d->sync);
	return rc;
}

int
cmd_announce(struct cmd_ctx *d, const char *org, char *err, size_t errlen)
{
	MDB_txn *txn;
	char cur[SL_ORG_MAX + 1] = "";
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	int rc;

	snprintf(d->org, sizeof d->org, "%s", org);
	if (store_read_begin(d->s, &txn) == SL_OK) {
		project_node_org(d->p, txn, d->node, cur, sizeof cur);
		mdb_txn_abort(txn);
	}
	if (strcmp(cur, org) == 0)
		return SL_OK;
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 1);
	sl_pack_cstr(&pk, "org");
	sl_pack_cstr(&pk, org);
	struct sl_event_draft dr = { .author = "samlogd", .type = "node.org",
		.payload = g.p, .payload_len = (uint32_t)g.len };

	rc = store_append(d->s, &dr, 1, NULL, err, errlen);
	free(g.p);
	return rc;
}
