/*
 * cmd_device.c - an organisation's devices (PROTOCOL.md 12.3): device
 * list, request, add, revoke and rotate.
 *
 * An organisation key certifies the keys its machines sign with.  The
 * organisation key may stay on the node that created it (its events are
 * then signed with it, as before there were devices) or be taken off
 * line: `device rotate` moves the node to a device key of its own and
 * leaves the organisation key in a file beside it, to be moved away.
 * From then on, every certificate or revocation needs that file, which
 * the CLI reads and passes for the one request (`--org-key FILE`); the
 * daemon uses it and forgets it.
 *
 * A new machine of an organisation takes three steps, since its key
 * must sign its own certificate (proof that it holds the key) and the
 * organisation key must sign it too:
 *
 *   new machine:  samlog device request ORG --name NAME   (a request line)
 *   org's node:   samlog device add REQUEST [--org-key F]  (an enrolment line)
 *   new machine:  samlog join ENROLMENT
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_int.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "project.h"
#include "store.h"
#include "sync.h"

#define REQ_PREFIX "samlog-device-request:1:"
#define ENROL_PREFIX "samlog-device:1:"
#define NEXT_KEY_FILE SL_NODE_KEY_FILE ".next"
#define ORG_KEY_FILE "org.key"

/* What a request line says. */
struct request {
	uint8_t org[SL_KEY_LEN], device[SL_KEY_LEN];
	char name[SL_ORG_MAX + 1];
	uint8_t proof[SL_SIG_LEN];
};

bool
cmd_restart_wanted(const struct cmd_ctx *d)
{
	return d->restart;
}

/* The node directory (where samlog.conf is) joined with file. */
static int
node_file(const struct cmd_ctx *d, const char *file, char out[PATH_MAX])
{
	char conf[PATH_MAX];

	if (d->conf_path == NULL ||
	    snprintf(conf, sizeof conf, "%s", d->conf_path) >= (int)sizeof conf ||
	    snprintf(out, PATH_MAX, "%s/%s", dirname(conf), file) >= PATH_MAX)
		return SL_EINVAL;
	return SL_OK;
}

/* The organisation key the request passed (its seed in base32), or
 * none: SL_OK with *have set, or why the text is no key. */
static int
org_key_arg(const struct args *a, struct sl_key *k, bool *have, char *msg,
    size_t mlen)
{
	char t[SL_B32_LEN(SL_SEED_LEN) + 2];
	uint8_t seed[SL_SEED_LEN];

	*have = false;
	if (!cmd_arg_str(a, "org-key", t, sizeof t))
		return SL_OK;
	if (!sl_b32_decode(seed, sizeof seed, t)) {
		sl_wipe(t, sizeof t);
		return cmd_fail(msg, mlen, SL_EINVAL, "--org-key: the file does "
		    "not hold a key");
	}
	sl_key_from_seed(k, seed);
	sl_wipe(seed, sizeof seed);
	sl_wipe(t, sizeof t);
	*have = true;
	return SL_OK;
}

/*
 * Signs the statement hash h as the organisation: with the key the
 * request passed (which must be this node's organisation's), or with
 * this node's own key when that is the organisation key.
 */
static int
org_sign(struct cmd_ctx *d, const struct args *a, const uint8_t h[SL_HASH_LEN],
    uint8_t sig[SL_SIG_LEN], char *msg, size_t mlen)
{
	struct sl_key k;
	bool have;
	int rc;

	if ((rc = org_key_arg(a, &k, &have, msg, mlen)) != SL_OK)
		return rc;
	if (have) {
		bool ours = memcmp(k.pub, d->orgkey, SL_KEY_LEN) == 0;

		if (ours)
			sl_sign_cert(sig, &k, h);
		sl_key_wipe(&k);
		if (!ours)
			return cmd_fail(msg, mlen, SL_EPERM, "--org-key: that is "
			    "not this node's organisation key");
		return SL_OK;
	}
	if (cmd_is_device(d))
		return cmd_fail(msg, mlen, SL_EPERM, "this node is a device: "
		    "give the organisation key with --org-key FILE");
	return store_sign_cert(d->s, h, sig) == SL_OK ? SL_OK :
	    cmd_fail(msg, mlen, SL_ESTORE, "cannot sign");
}

static void
pack_key(msgpack_packer *pk, const char *k, const uint8_t key[SL_KEY_LEN])
{
	sl_pack_cstr(pk, k);
	sl_pack_b32(pk, key, SL_KEY_LEN);
}

/* A device statement's payload (keys in ascending order). */
static void
pack_statement(struct sl_buf *g, const uint8_t *cert,
    const uint8_t device[SL_KEY_LEN], const char *name,
    const uint8_t org[SL_KEY_LEN], const uint8_t *proof, bool upto,
    uint64_t upto_v)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, g, sl_buf_write);
	msgpack_pack_map(&pk, 2 + (cert != NULL) + (name != NULL) +
	    (proof != NULL) + upto);
	if (cert != NULL) {
		sl_pack_cstr(&pk, "cert");
		msgpack_pack_bin(&pk, SL_SIG_LEN);
		msgpack_pack_bin_body(&pk, cert, SL_SIG_LEN);
	}
	pack_key(&pk, "device", device);
	if (name != NULL) {
		sl_pack_cstr(&pk, "name");
		sl_pack_cstr(&pk, name);
	}
	pack_key(&pk, "org", org);
	if (proof != NULL) {
		sl_pack_cstr(&pk, "proof");
		msgpack_pack_bin(&pk, SL_SIG_LEN);
		msgpack_pack_bin_body(&pk, proof, SL_SIG_LEN);
	}
	if (upto) {
		sl_pack_cstr(&pk, "upto");
		msgpack_pack_uint64(&pk, upto_v);
	}
}

/* Appends drafts of device events after the content rules every node
 * applies to them at ingest. */
static int
append_checked(struct cmd_ctx *d, struct sl_event_draft *dr, size_t n,
    char *msg, size_t mlen)
{
	char why[200];
	int rc;

	for (size_t i = 0; i < n; i++)
		if (sl_schema_check_event(dr[i].type, strlen(dr[i].type), NULL,
		    0, dr[i].payload, dr[i].payload_len, UINT64_MAX, why,
		    sizeof why) != SL_OK)
			return cmd_fail(msg, mlen, SL_ESCHEMA, "%s: %s",
			    dr[i].type, why);
	if ((rc = store_append(d->s, dr, n, NULL, msg, mlen)) != SL_OK)
		return rc;
	if (d->sync != NULL)
		sync_log_grew(d->sync);
	return SL_OK;
}

/* ---- device list --------------------------------------------------------- */

static void
send_device(struct ctl_conn *c, uint32_t id, const struct cmd_ctx *d,
    const struct sl_members *ms, const uint8_t key[SL_KEY_LEN],
    const uint8_t org[SL_KEY_LEN], const char *name, const char *status,
    uint64_t since, uint64_t revoked, uint64_t upto)
{
	const char *on = sl_members_name_at(ms, org, UINT64_MAX);
	const struct store_tip *t = store_tip_of(d->s, key);
	char fpr[SL_FPR_TEXT + 1], ofpr[SL_FPR_TEXT + 1];
	struct sl_buf g = { 0 };
	msgpack_packer pk;

	sl_fingerprint(fpr, key);
	sl_fingerprint(ofpr, org);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 12);
	sl_pack_cstr(&pk, "org");
	if (on != NULL)
		sl_pack_cstr(&pk, on);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "org_fingerprint");
	sl_pack_cstr(&pk, ofpr);
	sl_pack_cstr(&pk, "name");
	sl_pack_cstr(&pk, name);
	sl_pack_cstr(&pk, "fingerprint");
	sl_pack_cstr(&pk, fpr);
	pack_key(&pk, "node_id", key);
	sl_pack_cstr(&pk, "status");
	sl_pack_cstr(&pk, status);
	sl_pack_cstr(&pk, "this_node");
	sl_pack_bool(&pk, memcmp(key, d->node, SL_KEY_LEN) == 0);
	sl_pack_cstr(&pk, "added");
	if (since != 0)
		sl_pack_time(&pk, since);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "revoked");
	if (revoked != 0)
		sl_pack_time(&pk, revoked);
	else
		msgpack_pack_nil(&pk);
	/* The last of its events that count, where one was cut. */
	sl_pack_cstr(&pk, "upto");
	if (upto != UINT64_MAX)
		msgpack_pack_uint64(&pk, upto);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "events");
	msgpack_pack_uint64(&pk, t != NULL ? t->seq : 0);
	sl_pack_cstr(&pk, "org_node_id");
	sl_pack_b32(&pk, org, SL_KEY_LEN);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
}

/* Every member's signing keys: its organisation key (while it signs)
 * and its devices, by organisation. */
static int
device_list(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms)
{
	for (size_t i = 0; i < ms->nm; i++) {
		const struct sl_member *m = &ms->m[i];

		if (!m->member || sl_members_device(ms, m->org) != NULL)
			continue;
		send_device(c, id, d, ms, m->org, m->org, "organisation key",
		    m->chain_upto != UINT64_MAX ? "moved to a device" :
		    m->upto != UINT64_MAX ? "retired" : "organisation key",
		    m->since, 0, m->upto < m->chain_upto ? m->upto :
		    m->chain_upto);
		for (size_t j = 0; j < ms->nd; j++) {
			const struct sl_device *v = &ms->d[j];

			if (memcmp(v->org, m->org, SL_KEY_LEN) != 0)
				continue;
			send_device(c, id, d, ms, v->key, v->org, v->name,
			    v->contested ? "contested" : v->upto != UINT64_MAX ?
			    (v->replaced ? "replaced" : v->revoked_hlc != 0 ?
			    "revoked" : "retired") :
			    "current", v->since, v->revoked_hlc, v->upto);
		}
	}
	return SL_OK;
}

/* ---- device request -------------------------------------------------------- */

static int
device_request(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms, const struct args *a, char *msg,
    size_t mlen)
{
	static const char *const allowed[] = { "id", "name", NULL };
	char text[SL_ORG_MAX + 2], name[SL_ORG_MAX + 2], line[640];
	char nb[SL_B32_LEN(SL_ORG_MAX) + 1], fw[160];
	char o[SL_NODE_ID_TEXT + 1], k[SL_NODE_ID_TEXT + 1];
	char p[SL_B32_LEN(SL_SIG_LEN) + 1];
	uint8_t org[SL_KEY_LEN], h[SL_HASH_LEN], proof[SL_SIG_LEN];
	const struct sl_field *nf = sl_schema_field(sl_schema_kind("device"),
	    "name", 4, NULL);
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", text, sizeof text) ||
	    !cmd_arg_str(a, "name", name, sizeof name))
		return cmd_fail(msg, mlen, SL_EUSAGE, "device request needs the "
		    "ORG key (samlog status on its node) and --name NAME");
	if (nf == NULL || sl_schema_check_text(nf, name, strlen(name), fw,
	    sizeof fw) != SL_OK)
		return cmd_fail(msg, mlen, SL_EVALUE, "--name %s", fw);
	if (!(strlen(text) == SL_NODE_ID_TEXT &&
	    sl_b32_decode(org, SL_KEY_LEN, text)) &&
	    cmd_member_find(ms, text, org, msg, mlen) != SL_OK)
		return cmd_fail(msg, mlen, SL_EINVAL, "\"%s\" is not an "
		    "organisation key (52 characters: samlog status on the "
		    "organisation's node prints it)", text);
	if (cmd_is_device(d))
		return cmd_fail(msg, mlen, SL_EEXIST, "this node is a device of "
		    "an organisation already");
	/* The request's proof gives this key to org for good: on a node
	 * whose organisation is a member of a federation already, it would
	 * give that organisation away (its admissions, its records). */
	if (sl_members_count(ms) > 1)
		return cmd_fail(msg, mlen, SL_EPERM, "this node's organisation "
		    "is a member of a federation already: run samlog device "
		    "request on the new machine, before it joins anything");
	if (memcmp(org, d->node, SL_KEY_LEN) == 0)
		return cmd_fail(msg, mlen, SL_EINVAL, "that names this node "
		    "itself: give the key of the organisation this machine is "
		    "to join (samlog status on a node of it prints org_key)");
	sl_device_added_hash(h, org, d->node, name);
	if (store_sign_cert(d->s, h, proof) != SL_OK)
		return cmd_fail(msg, mlen, SL_ESTORE, "cannot sign");
	sl_b32_encode(o, org, SL_KEY_LEN);
	sl_b32_encode(k, d->node, SL_KEY_LEN);
	sl_b32_encode(nb, (const uint8_t *)name, strlen(name));
	sl_b32_encode(p, proof, SL_SIG_LEN);
	snprintf(line, sizeof line, "%s%s:%s:%s:%s", REQ_PREFIX, o, k, nb, p);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 3);
	sl_pack_cstr(&pk, "request");
	sl_pack_cstr(&pk, line);
	sl_pack_cstr(&pk, "device");
	sl_pack_cstr(&pk, k);
	sl_pack_cstr(&pk, "name");
	sl_pack_cstr(&pk, name);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
	return SL_OK;
}

/* Reads the fields of a request line. */
static int
request_parse(const char *text, struct request *r, char *msg, size_t mlen)
{
	size_t pl = strlen(REQ_PREFIX);
	char f[4][SL_B32_LEN(SL_ORG_MAX) + 2];
	const char *s = text;
	size_t nb;
	int i;

	memset(r, 0, sizeof *r);
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (strncmp(s, ENROL_PREFIX, strlen(ENROL_PREFIX)) == 0)
		return cmd_fail(msg, mlen, SL_EINVAL, "that is an enrolment, "
		    "what device add prints: run samlog join with it on the new "
		    "machine");
	if (strncmp(s, "samlog-invite:", 14) == 0)
		return cmd_fail(msg, mlen, SL_EINVAL, "that is an invitation "
		    "for a new organisation: run samlog join with it on that "
		    "organisation's node");
	if (strncmp(s, REQ_PREFIX, pl) != 0)
		goto bad;
	s += pl;
	for (i = 0; i < 4; i++) {
		size_t n = strcspn(s, ": \t\r\n");

		if (n == 0 || n >= sizeof f[0])
			goto bad;
		memcpy(f[i], s, n);
		f[i][n] = '\0';
		s += n;
		if (i < 3 && *s++ != ':')
			goto bad;
	}
	nb = strlen(f[2]) * 5 / 8;
	if (!sl_b32_decode(r->org, SL_KEY_LEN, f[0]) ||
	    !sl_b32_decode(r->device, SL_KEY_LEN, f[1]) ||
	    nb > SL_ORG_MAX || SL_B32_LEN(nb) != strlen(f[2]) ||
	    !sl_b32_decode((uint8_t *)r->name, nb, f[2]) ||
	    !sl_b32_decode(r->proof, SL_SIG_LEN, f[3]))
		goto bad;
	r->name[nb] = '\0';
	if (!sl_org_valid(r->name))
		goto bad;
	return SL_OK;
bad:
	return cmd_fail(msg, mlen, SL_EINVAL, "that is not a device request "
	    "(it starts \"%s\" and is one line: copy all of what samlog device "
	    "request printed on the new machine)", REQ_PREFIX);
}

/* ---- device add ------------------------------------------------------------ */

static int
device_add(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms, const struct args *a, char *msg,
    size_t mlen)
{
	static const char *const allowed[] = { "id", "org-key", "addr", NULL };
	char text[600], addr[CONFIG_ADDR_MAX + 2] = "", line[512];
	char label[CONFIG_NAME_MAX + 1];
	char o[SL_NODE_ID_TEXT + 1], k[SL_NODE_ID_TEXT + 1];
	uint8_t h[SL_HASH_LEN], cert[SL_SIG_LEN];
	const struct sl_device *v;
	struct request r;
	struct sl_buf g = { 0 }, out = { 0 };
	msgpack_packer pk;
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", text, sizeof text))
		return cmd_fail(msg, mlen, SL_EUSAGE, "device add needs the "
		    "REQUEST samlog device request printed on the new machine");
	if ((rc = request_parse(text, &r, msg, mlen)) != SL_OK)
		return rc;
	if (memcmp(r.org, d->orgkey, SL_KEY_LEN) != 0)
		return cmd_fail(msg, mlen, SL_EPERM, "that request is for "
		    "another organisation's key, not this node's");
	if (!sl_members_current(ms, d->node))
		return cmd_fail(msg, mlen, SL_EPERM, "this node's organisation "
		    "is retired (or this device revoked)");
	if ((v = sl_members_device(ms, r.device)) != NULL && !v->contested &&
	    memcmp(v->org, d->orgkey, SL_KEY_LEN) == 0)
		return cmd_fail(msg, mlen, SL_EEXIST, "that device was added "
		    "already (samlog device list)");
	if (sl_members_get(ms, r.device) != NULL)
		return cmd_fail(msg, mlen, SL_EINVAL, "that key is a member "
		    "organisation's own key, not a new machine's");
	for (size_t j = 0; j < ms->nd; j++) {
		char x[SL_ORG_MAX * 2 + 1], y[SL_ORG_MAX * 2 + 1];

		if (memcmp(ms->d[j].org, d->orgkey, SL_KEY_LEN) != 0 ||
		    ms->d[j].upto != UINT64_MAX)
			continue;
		sl_text_fold(ms->d[j].name, strlen(ms->d[j].name), x, sizeof x);
		sl_text_fold(r.name, strlen(r.name), y, sizeof y);
		if (strcmp(x, y) == 0)
			return cmd_fail(msg, mlen, SL_EEXIST, "a current device "
			    "of this organisation is called \"%s\": make a new "
			    "request with another --name", r.name);
	}
	sl_device_added_hash(h, r.org, r.device, r.name);
	if (!sl_verify_cert(r.proof, r.device, h))
		return cmd_fail(msg, mlen, SL_EINVAL, "the request's proof does "
		    "not verify: copy the whole line again");
	if ((rc = cmd_reach_addr(d, a, "device", addr, msg, mlen)) != SL_OK)
		return rc;
	if ((rc = org_sign(d, a, h, cert, msg, mlen)) != SL_OK)
		return rc;
	pack_statement(&g, cert, r.device, r.name, r.org, r.proof, false, 0);
	struct sl_event_draft dr = { .author = "samlogd", .type =
		"device.added", .payload = g.p, .payload_len =
		(uint32_t)g.len };

	rc = append_checked(d, &dr, 1, msg, mlen);
	free(g.p);
	if (rc != SL_OK)
		return rc;
	/* It dials in: a peer line without an address lets it. */
	snprintf(text, sizeof text, "device %s", r.name);
	cmd_peer_label(d, text, r.device, label);
	if (d->sync != NULL && (rc = cmd_peer_line(d, r.device, label, "",
	    msg, mlen)) != SL_OK)
		return rc;
	/* The enrolment names the machine it is for: no other node may
	 * take it. */
	char dv[SL_NODE_ID_TEXT + 1];

	sl_b32_encode(o, r.org, SL_KEY_LEN);
	sl_b32_encode(dv, r.device, SL_KEY_LEN);
	sl_b32_encode(k, d->node, SL_KEY_LEN);
	snprintf(line, sizeof line, "%s%s:%s:%s:%s", ENROL_PREFIX, o, dv, k,
	    addr);
	sl_b32_encode(k, r.device, SL_KEY_LEN);
	log_info("added device %s (%.16s)", r.name, k);
	msgpack_packer_init(&pk, &out, sl_buf_write);
	msgpack_pack_map(&pk, 3);
	sl_pack_cstr(&pk, "enrolment");
	sl_pack_cstr(&pk, line);
	pack_key(&pk, "device", r.device);
	sl_pack_cstr(&pk, "name");
	sl_pack_cstr(&pk, r.name);
	ctl_send(c, SL_MSG_RECORD, id, out.p, out.len);
	free(out.p);
	return SL_OK;
}

/* ---- device revoke --------------------------------------------------------- */

static int
device_revoke(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms, const struct args *a, char *msg,
    size_t mlen)
{
	static const char *const allowed[] = { "id", "org-key", NULL };
	char text[SL_ORG_MAX + 2], want[SL_ORG_MAX * 2 + 1];
	char have[SL_ORG_MAX * 2 + 1];
	uint8_t h[SL_HASH_LEN], cert[SL_SIG_LEN];
	const struct sl_device *hit = NULL;
	const struct store_tip *t;
	struct sl_buf g = { 0 };
	size_t hits = 0, n;
	uint64_t upto;
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", text, sizeof text))
		return cmd_fail(msg, mlen, SL_EUSAGE, "device revoke needs a "
		    "DEVICE (its name or fingerprint: samlog device list)");
	n = strlen(text);
	sl_text_fold(text, n, want, sizeof want);
	for (size_t j = 0; j < ms->nd; j++) {
		const struct sl_device *v = &ms->d[j];

		if (memcmp(v->org, d->orgkey, SL_KEY_LEN) != 0)
			continue;
		char vid[SL_NODE_ID_TEXT + 1];

		sl_b32_encode(vid, v->key, SL_KEY_LEN);
		sl_text_fold(v->name, strlen(v->name), have, sizeof have);
		if (strcmp(have, want) == 0 || (n >= 8 &&
		    n <= SL_NODE_ID_TEXT && strncasecmp(vid, text, n) == 0)) {
			hit = v;
			hits++;
		}
	}
	if (hits == 0)
		return cmd_fail(msg, mlen, SL_ENOENT, "no device \"%s\" of this "
		    "organisation (see: samlog device list)", text);
	if (hits > 1)
		return cmd_fail(msg, mlen, SL_EINVAL, "\"%s\" names %zu devices: "
		    "give its fingerprint", text, hits);
	if (memcmp(hit->key, d->node, SL_KEY_LEN) == 0)
		return cmd_fail(msg, mlen, SL_EINVAL, "that is this node's own "
		    "key: revoke it from another node of the organisation, or "
		    "move this node to a new key (samlog device rotate)");
	if (hit->upto != UINT64_MAX)
		return cmd_fail(msg, mlen, SL_EVALUE, "%s is revoked already",
		    hit->name);
	/* Its events this node holds count; any it makes from now on, or
	 * made and this node has not seen, do not. */
	t = store_tip_of(d->s, hit->key);
	upto = t != NULL ? t->seq : 0;
	sl_device_revoked_hash(h, d->orgkey, hit->key, upto);
	if ((rc = org_sign(d, a, h, cert, msg, mlen)) != SL_OK)
		return rc;
	pack_statement(&g, cert, hit->key, NULL, d->orgkey, NULL, true, upto);
	struct sl_event_draft dr = { .author = "samlogd", .type =
		"device.revoked", .payload = g.p, .payload_len =
		(uint32_t)g.len };
	uint8_t key[SL_KEY_LEN];
	char name[SL_ORG_MAX + 1];

	memcpy(key, hit->key, SL_KEY_LEN);
	snprintf(name, sizeof name, "%s", hit->name);
	rc = append_checked(d, &dr, 1, msg, mlen);
	free(g.p);
	if (rc != SL_OK)
		return rc;
	log_info("revoked device %s: its events after %llu count nowhere",
	    name, (unsigned long long)upto);
	struct sl_buf out = { 0 };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &out, sl_buf_write);
	msgpack_pack_map(&pk, 3);
	pack_key(&pk, "device", key);
	sl_pack_cstr(&pk, "name");
	sl_pack_cstr(&pk, name);
	sl_pack_cstr(&pk, "upto");
	msgpack_pack_uint64(&pk, upto);
	ctl_send(c, SL_MSG_RECORD, id, out.p, out.len);
	free(out.p);
	return SL_OK;
}

/* ---- device rotate --------------------------------------------------------- */

/* Writes path with text, 0600, new; SL_OK or why not. */
static int
key_file(const char *path, const struct sl_key *k, const uint8_t *seed,
    char *msg, size_t mlen)
{
	int rc = sl_key_save_file(path, k, seed, msg, mlen);

	return rc == SL_EEXIST ? cmd_fail(msg, mlen, SL_EEXIST, "%s exists: "
	    "a rotation was left half done (samlogd finishes or abandons it "
	    "when it starts)", path) : rc;
}

static void
fsync_dir_of(const char *path)
{
	char t[PATH_MAX];
	int fd;

	snprintf(t, sizeof t, "%s", path);
	if ((fd = open(dirname(t), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/*
 * Moves this node to a new device key: the old key certifies nothing
 * itself, but its chain carries the new key's certificate and then its
 * own end (a revocation of itself, or of its own chain when it was the
 * organisation key, which stays in org.key).  The store and the key
 * file then take the new key, and the daemon starts again with it.
 * Every step is ordered so that a crash leaves either the old key or
 * the new one working (samlogd_rotate_finish, at the next start).
 */
static int
device_rotate(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms, const struct args *a, char *msg,
    size_t mlen)
{
	static const char *const allowed[] = { "org-key", "name", "force",
		NULL };
	char next[PATH_MAX], keyp[PATH_MAX], orgp[PATH_MAX];
	char name[SL_ORG_MAX + 2] = "", fw[160];
	uint8_t seed[SL_SEED_LEN], h[SL_HASH_LEN], cert[SL_SIG_LEN];
	uint8_t proof[SL_SIG_LEN], old[SL_KEY_LEN];
	const struct sl_device *me = sl_members_device(ms, d->node);
	const struct sl_field *nf = sl_schema_field(sl_schema_kind("device"),
	    "name", 4, NULL);
	bool was_org = !cmd_is_device(d);
	struct sl_buf g1 = { 0 }, g2 = { 0 };
	struct sl_key nk;
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (d->restart)
		return cmd_fail(msg, mlen, SL_ESTATE, "this node is moving to its "
		    "new key: it starts again in a moment");
	if (!sl_members_current(ms, d->node))
		return cmd_fail(msg, mlen, SL_EPERM, "this node's key does not "
		    "sign for a current member: nothing to rotate");
	/* The peers learn the new key from this node's chain: one that has
	 * not taken all of it (a rotation just before, or off line) would
	 * not know the new key when it connects. */
	for (size_t i = 0; d->sync != NULL && cmd_arg_get(a, "force") == NULL &&
	    i < sync_peer_count(d->sync); i++) {
		struct sync_peer_info pi;
		uint64_t up;

		sync_peer_get(d->sync, i, &pi);
		if (!sl_members_signer(ms, pi.cfg.key, &up) || up != UINT64_MAX)
			continue;
		if (!pi.connected || pi.behind > 0)
			return cmd_fail(msg, mlen, SL_ESTATE, "peer %s %s: rotate "
			    "once it has all of this node's events (samlog peer "
			    "list), or give --force (a peer that misses the new "
			    "key's certificate takes it from another member)",
			    pi.cfg.name, pi.connected ? "has not taken this "
			    "node's latest events yet" : "is not connected");
	}
	if (!cmd_arg_str(a, "name", name, sizeof name))
		snprintf(name, sizeof name, "%s", me != NULL ? me->name :
		    "server");
	if (nf == NULL || sl_schema_check_text(nf, name, strlen(name), fw,
	    sizeof fw) != SL_OK)
		return cmd_fail(msg, mlen, SL_EVALUE, "--name %s", fw);
	if (node_file(d, NEXT_KEY_FILE, next) != SL_OK ||
	    node_file(d, SL_NODE_KEY_FILE, keyp) != SL_OK ||
	    node_file(d, ORG_KEY_FILE, orgp) != SL_OK)
		return cmd_fail(msg, mlen, SL_EINVAL, "this daemon does not know "
		    "its node directory");
	if (was_org && access(orgp, F_OK) == 0)
		return cmd_fail(msg, mlen, SL_EEXIST, "%s exists: move it away "
		    "first (it is an organisation key file)", orgp);
	sl_key_generate(&nk, seed);
	sl_device_added_hash(h, d->orgkey, nk.pub, name);
	sl_sign_cert(proof, &nk, h);
	if ((rc = org_sign(d, a, h, cert, msg, mlen)) != SL_OK)
		goto out;
	/* 1. The new key, beside the old. */
	if ((rc = key_file(next, &nk, seed, msg, mlen)) != SL_OK)
		goto out;
	fsync_dir_of(next);
	/* 2. The store knows a rotation is under way, and (if this node's
	 * key was the organisation's) whose organisation it is. */
	if ((was_org && (rc = store_meta_key_put(d->s, "org", d->orgkey)) !=
	    SL_OK) || (rc = store_meta_key_put(d->s, "next", nk.pub)) !=
	    SL_OK) {
		unlink(next);
		rc = cmd_fail(msg, mlen, rc, "cannot record the rotation in "
		    "the store");
		goto out;
	}
	/* 3. The certificate and the old key's end, in one commit. */
	pack_statement(&g1, cert, nk.pub, name, d->orgkey, proof, false, 0);
	pack_statement(&g2, NULL, d->node, NULL, d->orgkey, NULL, true, 0);
	{
		struct sl_event_draft dr[2] = {
			{ .author = "samlogd", .type = "device.added",
			  .payload = g1.p, .payload_len = (uint32_t)g1.len },
			{ .author = "samlogd", .type = "device.revoked",
			  .payload = g2.p, .payload_len = (uint32_t)g2.len },
		};

		rc = append_checked(d, dr, 2, msg, mlen);
	}
	if (rc != SL_OK) {
		store_meta_key_put(d->s, "next", NULL);
		unlink(next);
		goto out;
	}
	/* 4. The store belongs to the new key; 5. so does the key file
	 * (the organisation key kept as org.key when it was this node's). */
	memcpy(old, d->node, SL_KEY_LEN);
	if ((rc = store_meta_key_put(d->s, "node", nk.pub)) != SL_OK ||
	    (rc = store_meta_key_put(d->s, "next", NULL)) != SL_OK) {
		rc = cmd_fail(msg, mlen, rc, "the rotation is written, but the "
		    "store could not take the new key: restart samlogd to "
		    "finish it");
		goto out;
	}
	if ((was_org && link(keyp, orgp) != 0) || rename(next, keyp) != 0) {
		rc = cmd_fail(msg, mlen, SL_EIO, "the rotation is written, but "
		    "%s could not take the new key (%s): restart samlogd to "
		    "finish it", keyp, strerror(errno));
		goto out;
	}
	fsync_dir_of(keyp);
	d->restart = true;
	char nid[SL_NODE_ID_TEXT + 1];

	sl_b32_encode(nid, nk.pub, SL_KEY_LEN);
	log_info("rotated this node's key: %.16s signs from now on%s",
	    nid, was_org ? "; the organisation key is in org.key: keep it "
	    "off line" : "");
	{
		struct sl_buf out = { 0 };
		msgpack_packer pk;

		msgpack_packer_init(&pk, &out, sl_buf_write);
		msgpack_pack_map(&pk, 3);
		pack_key(&pk, "device", nk.pub);
		pack_key(&pk, "previous", old);
		sl_pack_cstr(&pk, "org_key_file");
		if (was_org)
			sl_pack_cstr(&pk, orgp);
		else
			msgpack_pack_nil(&pk);
		ctl_send(c, SL_MSG_RECORD, id, out.p, out.len);
		free(out.p);
	}
	rc = SL_OK;
out:
	free(g1.p);
	free(g2.p);
	sl_wipe(seed, sizeof seed);
	sl_key_wipe(&nk);
	return rc;
}

/* ---- peers that moved to a new key ----------------------------------------- */

static void
moved_timer_cb(uv_timer_t *t)
{
	struct cmd_ctx *d = t->data;
	char err[256];

	for (size_t i = 0; i < d->nmoved; i++) {
		long k = d->sync != NULL ? sync_peer_index(d->sync,
		    d->moved[i]) : -1;
		struct sync_peer_info pi;

		if (k < 0)
			continue;
		sync_peer_get(d->sync, (size_t)k, &pi);
		if (config_write_peer(d->conf_path, &pi.cfg, false, err,
		    sizeof err) != SL_OK)
			log_warn("peer %s moved to a new key, but samlog.conf "
			    "keeps the old one: %s", d->moved[i], err);
	}
	d->nmoved = 0;
}

bool
cmd_sync_moved(void *ctx, const uint8_t was[SL_KEY_LEN],
    const uint8_t now[SL_KEY_LEN], const char *name)
{
	struct cmd_ctx *d = ctx;
	const struct sl_members *ms;
	MDB_txn *txn;
	uint64_t upto;
	bool yes = false;

	if (store_read_begin(d->s, &txn) != SL_OK)
		return false;
	/* The old key signs for someone and no longer does; the new one is
	 * the same organisation's and current. */
	if ((ms = project_members(d->p, txn)) != NULL &&
	    sl_members_signer(ms, was, &upto) && upto != UINT64_MAX &&
	    sl_members_current(ms, now) &&
	    memcmp(sl_members_org_of(ms, was), sl_members_org_of(ms, now),
	    SL_KEY_LEN) == 0)
		yes = true;
	mdb_txn_abort(txn);
	/* samlog.conf takes it after this call (not inside sync's). */
	if (yes && d->conf_path != NULL && d->nmoved < 8) {
		snprintf(d->moved[d->nmoved++], sizeof d->moved[0], "%s", name);
		if (d->moved_timer.data == NULL) {
			uv_timer_init(d->loop, &d->moved_timer);
			d->moved_timer.data = d;
		}
		uv_timer_start(&d->moved_timer, moved_timer_cb, 0, 0);
	}
	return yes;
}

/* ---- join ENROLMENT --------------------------------------------------------- */

bool
cmd_is_enrolment(const char *text)
{
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	return strncmp(text, ENROL_PREFIX, strlen(ENROL_PREFIX)) == 0;
}

int
cmd_device_join(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const char *text, char *msg, size_t mlen)
{
	char o[SL_NODE_ID_TEXT + 1], k[SL_NODE_ID_TEXT + 1];
	char dv[SL_NODE_ID_TEXT + 1];
	char addr[CONFIG_ADDR_MAX + 1], host[CONFIG_ADDR_MAX + 1];
	char label[CONFIG_NAME_MAX + 1];
	uint8_t org[SL_KEY_LEN], peer[SL_KEY_LEN], dev[SL_KEY_LEN];
	const struct sl_members *ms;
	MDB_txn *txn;
	size_t others;
	const char *s = text;
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	unsigned port;
	int rc;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	s += strlen(ENROL_PREFIX);
	if (strlen(s) < (size_t)3 * (SL_NODE_ID_TEXT + 1) + 3 ||
	    s[SL_NODE_ID_TEXT] != ':' ||
	    s[(size_t)2 * SL_NODE_ID_TEXT + 1] != ':' ||
	    s[(size_t)3 * SL_NODE_ID_TEXT + 2] != ':')
		goto bad;
	memcpy(o, s, SL_NODE_ID_TEXT);
	o[SL_NODE_ID_TEXT] = '\0';
	memcpy(dv, s + SL_NODE_ID_TEXT + 1, SL_NODE_ID_TEXT);
	dv[SL_NODE_ID_TEXT] = '\0';
	memcpy(k, s + (size_t)2 * (SL_NODE_ID_TEXT + 1), SL_NODE_ID_TEXT);
	k[SL_NODE_ID_TEXT] = '\0';
	snprintf(addr, sizeof addr, "%s", s + (size_t)3 * (SL_NODE_ID_TEXT + 1));
	addr[strcspn(addr, " \t\r\n")] = '\0';
	if (!sl_b32_decode(org, SL_KEY_LEN, o) ||
	    !sl_b32_decode(dev, SL_KEY_LEN, dv) ||
	    !sl_b32_decode(peer, SL_KEY_LEN, k))
		goto bad;
	/* Only the machine the enrolment was made for takes it, and only
	 * before it belongs to anything else. */
	if (memcmp(dev, d->node, SL_KEY_LEN) != 0)
		return cmd_fail(msg, mlen, SL_EPERM, "that enrolment is for "
		    "another machine (%.16s): run samlog join with it there",
		    dv);
	if ((ms = cmd_members_read(d, &txn, &rc, msg, mlen)) == NULL)
		return rc;
	others = sl_members_count(ms);
	mdb_txn_abort(txn);
	if (!cmd_is_device(d) && others > 1)
		return cmd_fail(msg, mlen, SL_EPERM, "this node's organisation "
		    "is a member of a federation: it cannot become another's "
		    "device");
	if (!config_addr_split(addr, host, sizeof host, &port, false, msg,
	    mlen))
		return SL_EINVAL;
	if (d->sync == NULL)
		return cmd_fail(msg, mlen, SL_EINVAL, "this daemon runs without "
		    "peers");
	if (memcmp(peer, d->node, SL_KEY_LEN) == 0 ||
	    memcmp(org, d->node, SL_KEY_LEN) == 0)
		return cmd_fail(msg, mlen, SL_EINVAL, "that enrolment names this "
		    "node itself: run samlog join on the new device");
	if (cmd_is_device(d) && memcmp(org, d->orgkey, SL_KEY_LEN) != 0)
		return cmd_fail(msg, mlen, SL_EEXIST, "this node is a device of "
		    "another organisation already");
	if (!cmd_is_device(d)) {
		if ((rc = store_meta_key_put(d->s, "org", org)) != SL_OK)
			return cmd_fail(msg, mlen, rc, "cannot record the "
			    "organisation in the store");
		memcpy(d->orgkey, org, SL_KEY_LEN);
		if (project_anchor_changed(d->p) != SL_OK)
			return cmd_fail(msg, mlen, SL_ESTORE, "cannot record the "
			    "organisation in the store");
	}
	cmd_peer_label(d, "organisation", peer, label);
	if ((rc = cmd_peer_line(d, peer, label, addr, msg, mlen)) != SL_OK)
		return rc;
	if ((rc = sync_enrol(d->sync, peer)) != SL_OK)
		return cmd_fail(msg, mlen, rc, "cannot dial %s", addr);
	sync_log_grew(d->sync);
	log_info("enrolled as a device of %.16s through %s", o, addr);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 3);
	sl_pack_cstr(&pk, "enrolled");
	sl_pack_bool(&pk, true);
	sl_pack_cstr(&pk, "org");
	sl_pack_cstr(&pk, o);
	sl_pack_cstr(&pk, "addr");
	sl_pack_cstr(&pk, addr);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
	return SL_OK;
bad:
	return cmd_fail(msg, mlen, SL_EINVAL, "that is not an enrolment (it "
	    "starts \"%s\" and is one line: copy all of what samlog device "
	    "add printed)", ENROL_PREFIX);
}

int
cmd_device(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const no_args[] = { NULL };
	const struct sl_members *ms;
	MDB_txn *txn;
	int rc;

	if ((ms = cmd_members_read(d, &txn, &rc, msg, mlen)) == NULL)
		return rc;
	if (strcmp(a->cmd, "device.list") == 0) {
		if ((rc = cmd_args_only(a, no_args, msg, mlen)) == SL_OK)
			rc = device_list(d, c, id, ms);
	} else if (strcmp(a->cmd, "device.request") == 0) {
		rc = device_request(d, c, id, ms, a, msg, mlen);
	} else if (strcmp(a->cmd, "device.add") == 0) {
		rc = device_add(d, c, id, ms, a, msg, mlen);
	} else if (strcmp(a->cmd, "device.revoke") == 0) {
		rc = device_revoke(d, c, id, ms, a, msg, mlen);
	} else if (strcmp(a->cmd, "device.rotate") == 0) {
		rc = device_rotate(d, c, id, ms, a, msg, mlen);
	} else {
		rc = cmd_fail(msg, mlen, SL_EUSAGE, "unknown command \"%s\"",
		    a->cmd);
	}
	mdb_txn_abort(txn);
	return rc;
}
