/*
 * cmd_read.c - answers from a read transaction: records as replies show
 * them (every field of the schema, decoded and packed again), lists
 * through the schema's indexes, show (and as-of), history with the fold's
 * verdict on each event, audit bundles, the log, status, verify, rebuild
 * and the peer commands.
 */
#include <ctype.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_int.h"

/* ---- record output -------------------------------------------------------- */

static void pack_event_common(struct cmd_ctx *d, MDB_txn *txn,
    msgpack_packer *pk, const struct sl_event *ev, const struct sl_evmeta *m);

struct compete_ctx {
	struct cmd_ctx *d;
	MDB_txn *txn;
	uint8_t (*heads)[SL_HASH_LEN];
	uint32_t nheads;
	struct sl_buf g;
	uint32_t n;
};

static int
compete_cb(void *ctx, const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN],
    const struct sl_evmeta *m)
{
	struct compete_ctx *cc = ctx;
	msgpack_packer pk;

	for (uint32_t i = 0; i < cc->nheads; i++) {
		if (memcmp(cc->heads[i], hash, SL_HASH_LEN) != 0)
			continue;
		msgpack_packer_init(&pk, &cc->g, sl_buf_write);
		msgpack_pack_map(&pk, 9);
		pack_event_common(cc->d, cc->txn, &pk, ev, m);
		cc->n++;
		break;
	}
	return 0;
}

/*
 * The competing edits of a record in conflict: its head events (those no
 * later event has seen), oldest first, each with the changes it made.
 * The record itself shows the winning values (last writer by clock, then
 * origin), the same on every node.
 */
static void
pack_competing(struct cmd_ctx *d, MDB_txn *txn, const struct sl_rec *r,
    msgpack_packer *pk, struct sl_buf *g)
{
	uint8_t heads[SL_MAX_PARENTS][SL_HASH_LEN];
	struct compete_ctx cc = { d, txn, heads, 0, { 0 }, 0 };

	cc.nheads = project_heads(d->p, txn, r->id, heads, SL_MAX_PARENTS);
	if (cc.nheads > SL_MAX_PARENTS)
		cc.nheads = SL_MAX_PARENTS;
	project_history(d->p, txn, r->id, UINT64_MAX, compete_cb, &cc);
	msgpack_pack_array(pk, cc.n);
	if (cc.g.p != NULL)
		sl_buf_write(g, (const char *)cc.g.p, cc.g.len);
	free(cc.g.p);
}

/*
 * A record as replies carry it: id, record (the kind's word), kind (the
 * record kind, or an organisation's own kind field), every field of the
 * schema under its name, the name of each referred organisation
 * (org_name, for a contact's org), created, updated, author, conflict,
 * and with competing the competing edits.
 */
static void
pack_record(struct cmd_ctx *d, MDB_txn *txn, const struct sl_rec *r,
    struct sl_buf *g, bool competing)
{
	const struct sl_kind *k = r->kind;
	msgpack_packer pk;
	uint32_t n = 0, refs = 0;
	char kind[32];

	if (!project_str(r, "kind", kind, sizeof kind) ||
	    sl_schema_field(k, "kind", 4, NULL) == NULL) {
		const struct sl_field *kf = sl_schema_field(k, "kind", 4, NULL);

		snprintf(kind, sizeof kind, "%s", kf != NULL && kf->dflt ?
		    kf->dflt : k->word);
	}
	for (uint32_t i = 0; i < k->nfields; i++) {
		n += strcmp(k->fields[i].name, "kind") != 0;
		refs += k->fields[i].type == SL_F_REF &&
		    k->fields[i].ref == 'o';
	}
	msgpack_packer_init(&pk, g, sl_buf_write);
	competing = competing && r->nheads > 1;
	msgpack_pack_map(&pk, n + 7 + refs + competing);
	sl_pack_cstr(&pk, "id");
	sl_pack_b32(&pk, r->id, SL_ID_LEN);
	sl_pack_cstr(&pk, "record");
	sl_pack_cstr(&pk, k->word);
	sl_pack_cstr(&pk, "kind");
	sl_pack_cstr(&pk, kind);
	for (uint32_t i = 0; i < k->nfields; i++) {
		if (strcmp(k->fields[i].name, "kind") == 0)
			continue;
		sl_pack_cstr(&pk, k->fields[i].name);
		sl_rec_pack_field(&pk, r, i);
	}
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];
		char oid[64], name[SL_ORG_MAX + 1] = "", key[48];
		uint8_t id[SL_ID_LEN];
		struct sl_rec o;

		if (f->type != SL_F_REF || f->ref != 'o')
			continue;
		/* Only a record of the kind the field refers to: the fold
		 * keeps whatever id a member wrote, and a contact's name must
		 * not show as an organisation's. */
		if (project_str(r, f->name, oid, sizeof oid) &&
		    sl_b32_decode(id, SL_ID_LEN, oid) &&
		    project_get(d->p, txn, id, &o) == SL_OK) {
			if (o.kind->c == f->ref)
				project_str(&o, "name", name, sizeof name);
			sl_rec_free(&o);
		}
		snprintf(key, sizeof key, "%s_name", f->name);
		sl_pack_cstr(&pk, key);
		if (name[0])
			sl_pack_cstr(&pk, name);
		else
			msgpack_pack_nil(&pk);
	}
	sl_pack_cstr(&pk, "created");
	sl_pack_time(&pk, r->c_hlc);
	sl_pack_cstr(&pk, "updated");
	sl_pack_time(&pk, r->u_hlc);
	sl_pack_cstr(&pk, "author");
	sl_pack_cstr(&pk, r->c_author);
	sl_pack_cstr(&pk, "conflict");
	sl_pack_bool(&pk, r->nheads > 1);
	if (competing) {
		sl_pack_cstr(&pk, "competing");
		pack_competing(d, txn, r, &pk, g);
	}
}

void
cmd_send_record(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct sl_rec *r, bool competing)
{
	struct sl_buf g = { 0 };

	pack_record(d, txn, r, &g, competing);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
}

/* ---- reads --------------------------------------------------------------- */

/* A list filter: a field and the value asked for (ids resolved). */
struct filter {
	const struct sl_field *f;
	char v[SL_TEXT_MAX + 1];
};

struct list_ctx {
	struct cmd_ctx *d;
	struct ctl_conn *c;
	uint32_t id;
	MDB_txn *txn;
	char kind;
	struct filter flt[SL_SCHEMA_MAX_FIELDS];
	uint32_t nflt;
	const struct sl_field *range;  /* the sort field --from/--to bound */
	char from[SL_TEXT_MAX + 1], to[SL_TEXT_MAX + 1];
	uint64_t count;
};

/* True if r's field f is want, or (a list) holds want; ASCII letters
 * match either case. */
static bool
field_matches(const struct sl_rec *r, const struct sl_field *f,
    const char *want)
{
	char v[SL_TEXT_MAX + 1];
	const struct sl_recfield *rf;
	struct sl_mp m;
	uint32_t n, l;
	const char *s;

	if (f->type != SL_F_REFS && f->type != SL_F_TEXTS) {
		if (!project_str(r, f->name, v, sizeof v) && f->dflt != NULL)
			snprintf(v, sizeof v, "%s", f->dflt);
		return strcasecmp(v, want) == 0;
	}
	if ((rf = sl_rec_get(r, f->name)) == NULL)
		return false;
	sl_mp_init(&m, rf->val, rf->len);
	if (sl_mp_read_array(&m, &n, SL_LIST_MAX) != SL_OK)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (sl_mp_read_str(&m, &s, &l, 0, UINT32_MAX) == SL_OK &&
		    l == strlen(want) && strncasecmp(s, want, l) == 0)
			return true;
	return false;
}

/* Every filter the request names, whichever one the scan used. */
static int
list_cb(void *ctx, const struct sl_rec *r)
{
	struct list_ctx *l = ctx;

	if (r->kind->c != l->kind)
		return 0;
	for (uint32_t i = 0; i < l->nflt; i++)
		if (!field_matches(r, l->flt[i].f, l->flt[i].v))
			return 0;
	if (l->range != NULL && (l->from[0] || l->to[0])) {
		char v[SL_TEXT_MAX + 1];

		project_str(r, l->range->name, v, sizeof v);
		if ((l->from[0] && strcmp(v, l->from) < 0) ||
		    (l->to[0] && strcmp(v, l->to) > 0))
			return 0;
	}
	cmd_send_record(l->d, l->c, l->id, l->txn, r, false);
	l->count++;
	return 0;
}

/*
 * KIND list: a filter for every indexed field of the kind (its flag),
 * and --from/--to when the kind sorts by a date.  The scan reads the
 * index of the first filter given, in the schema's order, else the sort
 * index (over the range, if one is given); the callback applies the
 * rest.
 */
int
cmd_read_list(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct args *a, char kind, char *msg, size_t mlen)
{
	const struct sl_kind *k = sl_schema_kind_c(kind);
	const char *allowed[SL_SCHEMA_MAX_FIELDS + 3];
	struct list_ctx *l = calloc(1, sizeof *l);
	size_t na = 0;
	int rc;

	if (l == NULL)
		return SL_ENOMEM;
	*l = (struct list_ctx){ .d = d, .c = c, .id = id, .txn = txn,
		.kind = kind };
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];

		if (f->flags & SL_FF_INDEX)
			allowed[na++] = f->flag;
		if ((f->flags & SL_FF_SORT) && f->type == SL_F_DATE) {
			l->range = f;
			allowed[na++] = "from";
			allowed[na++] = "to";
		}
	}
	allowed[na] = NULL;
	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		goto out;
	if (l->range != NULL &&
	    ((cmd_arg_str(a, "from", l->from, sizeof l->from) &&
	    (rc = cmd_check_date("from", l->from, msg, mlen)) != SL_OK) ||
	    (cmd_arg_str(a, "to", l->to, sizeof l->to) &&
	    (rc = cmd_check_date("to", l->to, msg, mlen)) != SL_OK)))
		goto out;
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];
		struct filter *fl = &l->flt[l->nflt];

		if (!(f->flags & SL_FF_INDEX) ||
		    !cmd_arg_str(a, f->flag, fl->v, sizeof fl->v))
			continue;
		fl->f = f;
		if (f->type == SL_F_REF || f->type == SL_F_REFS) {
			if ((rc = cmd_resolve_text(d, txn, f->flag, fl->v, f->ref,
			    fl->v, msg, mlen)) != SL_OK)
				goto out;
		} else if (f->type == SL_F_ENUM || f->type == SL_F_STATE) {
			struct sl_field one = *f;

			one.type = SL_F_ENUM;
			if ((rc = cmd_check_field(&one, fl->v, strlen(fl->v), msg,
			    mlen)) != SL_OK)
				goto out;
		}
		l->nflt++;
	}
	if (l->nflt > 0)
		rc = project_list(d->p, txn, kind, l->flt[0].f->name,
		    l->flt[0].v, NULL, NULL, list_cb, l);
	else
		rc = project_list(d->p, txn, kind, NULL, NULL,
		    l->from[0] ? l->from : NULL, l->to[0] ? l->to : NULL,
		    list_cb, l);
	if (rc != SL_OK)
		rc = cmd_fail(msg, mlen, rc, "cannot list: %s", sl_strerror(rc));
out:
	free(l);
	return rc;
}

static bool
date_valid(const char *s)
{
	static const struct sl_field date = { "date", "date", SL_F_DATE, 10,
		0, NULL, NULL, 0, NULL };
	char why[96];

	return sl_schema_check_text(&date, s, strlen(s), why, sizeof why) ==
	    SL_OK;
}

/* Parses --as-of: YYYY-MM-DD (the end of that day) or an RFC 3339 UTC
 * time; the HLC just after that instant. */
static bool
parse_as_of(const char *s, uint64_t *hlc)
{
	struct sl_time_parts tp;
	int64_t ms;

	/* A day means its end (UTC); a time with an offset (Z, +01:00) is
	 * that instant, the whole second when it has no fraction; a time
	 * without one is the daemon's local time. */
	if (sl_time_parse_parts(s, &tp) != SL_OK ||
	    sl_time_parse(s, &ms, NULL) != SL_OK)
		return false;
	if (tp.kind == SL_TIME_DATE && !date_valid(s))
		return false;
	if (tp.kind == SL_TIME_DATE) {
		struct tm tm = { .tm_year = tp.y - 1900, .tm_mon = tp.mo - 1,
			.tm_mday = tp.d, .tm_hour = 23, .tm_min = 59,
			.tm_sec = 59 };

		ms = (int64_t)timegm(&tm) * 1000 + 999;
	} else if (tp.frac == 0) {
		ms += 999;
	}
	if (ms < 0)
		return false;
	*hlc = ((uint64_t)ms << 16) | 0xffff;
	return true;
}

int
cmd_read_show(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct args *a, char kind, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", "as-of", NULL };
	char text[64], asof[64];
	uint8_t rid[SL_ID_LEN];
	struct sl_rec r;
	uint64_t until;
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", text, sizeof text))
		return cmd_fail(msg, mlen, SL_EUSAGE, "show needs an ID");
	if ((rc = cmd_resolve(d, txn, NULL, text, kind, rid, msg, mlen)) != SL_OK)
		return rc;
	if (cmd_arg_str(a, "as-of", asof, sizeof asof)) {
		if (!parse_as_of(asof, &until))
			return cmd_fail(msg, mlen, SL_EVALUE, "invalid time \"%s\" "
			    "for --as-of (use YYYY-MM-DD or "
			    "YYYY-MM-DDTHH:MM:SSZ)", asof);
		if (project_as_of(d->p, txn, rid, until, &r) != SL_OK)
			return cmd_fail(msg, mlen, SL_ENOENT, "%s %s did not exist "
			    "yet at %s", project_kind_word(kind), text, asof);
	} else if ((rc = project_get(d->p, txn, rid, &r)) != SL_OK) {
		return cmd_fail(msg, mlen, rc, "no %s with id %s",
		    project_kind_word(kind), text);
	}
	cmd_send_record(d, c, id, txn, &r, true);
	sl_rec_free(&r);
	return SL_OK;
}

struct hist_ctx {
	struct cmd_ctx *d;
	struct ctl_conn *c;
	uint32_t id;
	MDB_txn *txn;
};

/* The fold's verdict on an event, in words. */
static void
pack_effect(msgpack_packer *pk, const struct sl_evmeta *m)
{
	char t[96];

	if (m == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	if (m->status == SL_EV_PENDING)
		snprintf(t, sizeof t, "waiting for a parent this node does not "
		    "hold");
	else if (m->why != SL_WHY_NONE)
		snprintf(t, sizeof t, "%s: %s", sl_fold_status_name(m->status),
		    sl_fold_why(m->why));
	else
		snprintf(t, sizeof t, "%s", sl_fold_status_name(m->status));
	sl_pack_cstr(pk, t);
}

/*
 * The keys every event shows (9): seq, origin, org, author, time, type,
 * changes (its payload, decoded and packed again: a map, empty if the
 * body is erased or is no map), verified (the payload matches its
 * hash) and effect (the fold's verdict, nil for events of no record).
 */
static void
pack_event_common(struct cmd_ctx *d, MDB_txn *txn, msgpack_packer *pk,
    const struct sl_event *ev, const struct sl_evmeta *m)
{
	char org[SL_ORG_MAX + 1];
	struct sl_mp mp;

	project_node_org(d->p, txn, ev->origin, org, sizeof org);
	sl_pack_cstr(pk, "seq");
	msgpack_pack_uint64(pk, ev->seq);
	sl_pack_cstr(pk, "origin");
	sl_pack_b32(pk, ev->origin, SL_KEY_LEN);
	sl_pack_cstr(pk, "org");
	sl_pack_cstr(pk, org);
	sl_pack_cstr(pk, "author");
	sl_pack_str(pk, ev->author, ev->author_len);
	sl_pack_cstr(pk, "time");
	sl_pack_time(pk, ev->hlc);
	sl_pack_cstr(pk, "type");
	sl_pack_str(pk, ev->type, ev->type_len);
	sl_pack_cstr(pk, "changes");
	sl_mp_init(&mp, ev->payload, ev->payload != NULL ? ev->payload_len : 0);
	if (ev->payload == NULL || !sl_mp_is_map(&mp) ||
	    sl_mp_repack(&mp, pk, 8) != SL_OK)
		msgpack_pack_map(pk, 0);
	sl_pack_cstr(pk, "verified");
	sl_pack_bool(pk, sl_event_check_payload(ev) == SL_OK);
	sl_pack_cstr(pk, "effect");
	pack_effect(pk, m);
}

static int
history_cb(void *ctx, const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN],
    const struct sl_evmeta *m)
{
	struct hist_ctx *h = ctx;
	struct sl_buf g = { 0 };
	msgpack_packer pk;

	(void)hash;
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 9);
	pack_event_common(h->d, h->txn, &pk, ev, m);
	ctl_send(h->c, SL_MSG_RECORD, h->id, g.p, g.len);
	free(g.p);
	return 0;
}

int
cmd_read_history(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", NULL };
	struct hist_ctx h = { d, c, id, txn };
	char text[64];
	uint8_t rid[SL_ID_LEN];
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", text, sizeof text))
		return cmd_fail(msg, mlen, SL_EUSAGE, "history needs an ID");
	if ((rc = cmd_resolve(d, txn, NULL, text, 0, rid, msg, mlen)) != SL_OK)
		return rc;
	if ((rc = project_history(d->p, txn, rid, UINT64_MAX, history_cb,
	    &h)) != SL_OK)
		return cmd_fail(msg, mlen, rc, "cannot read the history");
	return SL_OK;
}

/*
 * audit ID: the record's audit bundle (audit.c), sent as RECORD frames
 * {"data": bin} of at most AUDIT_CHUNK bytes that the CLI writes out in
 * order.
 */
#define AUDIT_CHUNK (512u << 10)

int
cmd_read_audit(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", NULL };
	char text[64], err[256];
	uint8_t rid[SL_ID_LEN];
	struct sl_rec r;
	struct sl_buf b = { 0 };
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", text, sizeof text))
		return cmd_fail(msg, mlen, SL_EUSAGE, "audit needs a record ID");
	if ((rc = cmd_resolve(d, txn, NULL, text, 0, rid, msg, mlen)) != SL_OK)
		return rc;
	if ((rc = project_get(d->p, txn, rid, &r)) != SL_OK)
		return cmd_fail(msg, mlen, rc, "no record with id %s", text);
	rc = audit_build(d->s, d->p, txn, rid, r.kind->c, d->node, d->org, &b,
	    err, sizeof err);
	sl_rec_free(&r);
	if (rc != SL_OK) {
		free(b.p);
		return cmd_fail(msg, mlen, rc, "cannot build the bundle: %s", err);
	}
	for (size_t off = 0; off < b.len; off += AUDIT_CHUNK) {
		size_t n = b.len - off < AUDIT_CHUNK ? b.len - off : AUDIT_CHUNK;
		struct sl_buf g = { 0 };
		msgpack_packer pk;

		msgpack_packer_init(&pk, &g, sl_buf_write);
		msgpack_pack_map(&pk, 1);
		sl_pack_cstr(&pk, "data");
		sl_pack_bin(&pk, b.p + off, n);
		if (g.failed) {
			free(g.p);
			free(b.p);
			return cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
		}
		ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
		free(g.p);
	}
	free(b.p);
	return SL_OK;
}

struct log_ctx {
	struct cmd_ctx *d;
	struct ctl_conn *c;
	uint32_t id;
	MDB_txn *txn;
};

static int
log_cb(void *ctx, uint64_t arrival, const uint8_t *rec, size_t len)
{
	struct log_ctx *l = ctx;
	struct sl_event ev;
	uint8_t hash[SL_HASH_LEN];
	struct sl_buf g = { 0 };
	msgpack_packer pk;

	if (sl_event_decode(&ev, rec, len) != SL_OK)
		return SL_ESTORE;
	sl_event_hash(hash, &ev);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	struct sl_evmeta m;
	bool known = project_meta(l->d->p, l->txn, hash, &m) == SL_OK;

	msgpack_pack_map(&pk, 16);
	pack_event_common(l->d, l->txn, &pk, &ev, known ? &m : NULL);
	sl_pack_cstr(&pk, "arrival");
	msgpack_pack_uint64(&pk, arrival);
	sl_pack_cstr(&pk, "hash");
	sl_pack_b32(&pk, hash, SL_HASH_LEN);
	sl_pack_cstr(&pk, "prev");
	if (ev.prev)
		sl_pack_b32(&pk, ev.prev, SL_HASH_LEN);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "hlc");
	msgpack_pack_uint64(&pk, ev.hlc);
	sl_pack_cstr(&pk, "entity");
	if (ev.entity)
		sl_pack_b32(&pk, ev.entity, SL_ID_LEN);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "parents");
	msgpack_pack_array(&pk, ev.n_parents);
	for (uint32_t i = 0; i < ev.n_parents; i++)
		sl_pack_b32(&pk, ev.parents[i], SL_HASH_LEN);
	sl_pack_cstr(&pk, "signed");
	sl_pack_bool(&pk, ev.sig != NULL);
	ctl_send(l->c, SL_MSG_RECORD, l->id, g.p, g.len);
	free(g.p);
	return 0;
}

int
cmd_read_status(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id)
{
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	uint64_t forks = store_fork_count(d->s);

	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 13);
	sl_pack_cstr(&pk, "node_id");
	sl_pack_b32(&pk, d->node, SL_KEY_LEN);
	sl_pack_cstr(&pk, "org");
	sl_pack_cstr(&pk, d->org);
	sl_pack_cstr(&pk, "events");
	msgpack_pack_uint64(&pk, store_event_count(d->s));
	sl_pack_cstr(&pk, "origins");
	msgpack_pack_uint64(&pk, store_origin_count(d->s));
	sl_pack_cstr(&pk, "forks");
	msgpack_pack_uint64(&pk, forks);
	sl_pack_cstr(&pk, "clock");
	sl_pack_time(&pk, store_hlc(d->s));
	sl_pack_cstr(&pk, "commits");
	msgpack_pack_uint64(&pk, d->commits);
	sl_pack_cstr(&pk, "writes");
	msgpack_pack_uint64(&pk, d->writes);
	sl_pack_cstr(&pk, "refused");
	msgpack_pack_uint64(&pk, store_refused_count(d->s));
	sl_pack_cstr(&pk, "future");
	msgpack_pack_uint64(&pk, project_future_count(d->p));
	sl_pack_cstr(&pk, "listen");
	sl_pack_cstr(&pk, d->sync ? sync_listen_addr(d->sync) : "");
	sl_pack_cstr(&pk, "writes_held");
	sl_pack_bool(&pk, d->held);
	sl_pack_cstr(&pk, "peers");
	size_t np = d->sync ? sync_peer_count(d->sync) : 0;

	msgpack_pack_array(&pk, np);
	for (size_t i = 0; i < np; i++)
		sync_pack_peer(d->sync, i, &pk);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
	return SL_OK;
}

int
cmd_read_verify(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, char *msg,
    size_t mlen)
{
	struct store_verify_report rep;
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	int rc = store_verify(d->s, &rep);

	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 5);
	sl_pack_cstr(&pk, "ok");
	sl_pack_bool(&pk, rc == SL_OK);
	sl_pack_cstr(&pk, "events");
	msgpack_pack_uint64(&pk, rep.events);
	sl_pack_cstr(&pk, "signatures");
	msgpack_pack_uint64(&pk, rep.signatures);
	sl_pack_cstr(&pk, "origins");
	msgpack_pack_uint64(&pk, rep.origins);
	sl_pack_cstr(&pk, "problem");
	if (rc == SL_OK)
		msgpack_pack_nil(&pk);
	else
		sl_pack_cstr(&pk, rep.reason);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
	if (rc != SL_OK) {
		log_warn("verify: %s", rep.reason);
		return cmd_fail(msg, mlen, rc, "verification failed: %s", rep.reason);
	}
	return SL_OK;
}

int
cmd_read_rebuild(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, char *msg,
    size_t mlen)
{
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	uint64_t n = 0, t0 = sl_now_ms();
	int rc = project_rebuild(d->p, &n, msg, mlen);

	if (rc != SL_OK)
		return rc;
	log_info("records rebuilt from %llu events", (unsigned long long)n);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 2);
	sl_pack_cstr(&pk, "events");
	msgpack_pack_uint64(&pk, n);
	sl_pack_cstr(&pk, "ms");
	msgpack_pack_uint64(&pk, sl_now_ms() - t0);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
	return SL_OK;
}

/* Peer i as one RECORD. */
static void
send_peer(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, size_t i)
{
	struct sl_buf g = { 0 };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &g, sl_buf_write);
	sync_pack_peer(d->sync, i, &pk);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
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
		return sync_peer_remove(d->sync, name, msg, mlen);
	if (!cmd_arg_str(a, "key", key, sizeof key))
		return cmd_fail(msg, mlen, SL_EUSAGE, "peer add needs --key NODEID");
	bool has_addr = cmd_arg_str(a, "addr", addr, sizeof addr);

	if ((rc = sync_peer_add(d->sync, name, key, has_addr ? addr : NULL,
	    msg, mlen)) != SL_OK)
		return rc;
	long i = sync_peer_index(d->sync, name);

	if (i >= 0) {
		send_peer(d, c, id, (size_t)i);
	}
	return SL_OK;
}

int
cmd_read_log(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn)
{
	struct log_ctx l = { d, c, id, txn };

	return store_scan(d->s, 0, log_cb, &l);
}
