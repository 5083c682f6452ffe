/*
 * cmd_read.c - answers from a read transaction: records as replies show
 * them (every field of the schema, decoded and packed again), lists
 * through the schema's indexes, show (and as-of), history with the fold's
 * verdict on each event, audit bundles, the log, status, verify and
 * rebuild.
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
		msgpack_pack_map(&pk, 12);
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

/* The label of the record id names, if it is one of kinds. */
static bool
ref_label(struct cmd_ctx *d, MDB_txn *txn, const char *kinds, const char *idt,
    size_t n, char *out, size_t outlen)
{
	uint8_t id[SL_ID_LEN];
	char t[SL_ID_TEXT + 1];
	struct sl_rec o;
	bool ok = false;

	out[0] = '\0';
	if (n != SL_ID_TEXT)
		return false;
	memcpy(t, idt, n);
	t[n] = '\0';
	if (!sl_b32_decode(id, SL_ID_LEN, t) ||
	    project_get(d->p, txn, id, &o) != SL_OK)
		return false;
	/* Only a record of the kind the field refers to: the fold keeps
	 * whatever id a member wrote, and a contact's name must not show as
	 * an organisation's. */
	if (o.kind != NULL && strchr(kinds, o.kind->c) != NULL)
		ok = project_label(&o, out, outlen);
	sl_rec_free(&o);
	return ok;
}

/* FIELD_name (REF) or FIELD_names (REFS): the labels of what it names. */
static void
pack_ref_names(struct cmd_ctx *d, MDB_txn *txn, const struct sl_rec *r,
    uint32_t i, msgpack_packer *pk)
{
	const struct sl_field *f = &r->kind->fields[i];
	const struct sl_recfield *rf = &r->f[i];
	char key[48], label[SL_TEXT_MAX + 1];
	struct sl_mp m;
	const char *s;
	uint32_t n, l;

	snprintf(key, sizeof key, "%s_name%s", f->name,
	    f->type == SL_F_REFS ? "s" : "");
	sl_pack_cstr(pk, key);
	if (!sl_rec_has(r, i)) {
		if (f->type == SL_F_REFS)
			msgpack_pack_array(pk, 0);
		else
			msgpack_pack_nil(pk);
		return;
	}
	sl_mp_init(&m, rf->val, rf->len);
	if (f->type == SL_F_REF) {
		if (sl_mp_read_str(&m, &s, &l, 0, UINT32_MAX) == SL_OK &&
		    ref_label(d, txn, f->ref, s, l, label, sizeof label))
			sl_pack_cstr(pk, label);
		else
			msgpack_pack_nil(pk);
		return;
	}
	if (sl_mp_read_array(&m, &n, SL_LIST_MAX) != SL_OK)
		n = 0;
	msgpack_pack_array(pk, n);
	for (uint32_t j = 0; j < n; j++) {
		if (sl_mp_read_str(&m, &s, &l, 0, UINT32_MAX) == SL_OK &&
		    ref_label(d, txn, f->ref, s, l, label, sizeof label))
			sl_pack_cstr(pk, label);
		else
			msgpack_pack_nil(pk);
	}
}

/* The kind field's value as replies carry it: the record's own, or the
 * schema's default, or the kind's word. */
static void
kind_value(const struct sl_rec *r, char *out, size_t outlen)
{
	const struct sl_field *kf = sl_schema_field(r->kind, "kind", 4, NULL);

	if (kf != NULL && project_str(r, "kind", out, outlen))
		return;
	snprintf(out, outlen, "%s", kf != NULL && kf->dflt ? kf->dflt :
	    r->kind->word);
}

/*
 * A record as replies carry it: id, record (the kind's word), kind (the
 * record kind, or an organisation's own kind field), every field of the
 * schema under its name, label (its name or title), the names of the
 * records each reference names
 * (FIELD_name, FIELD_names), created and updated (record time), on and
 * created_on (effective dates), author, conflict, and with competing the
 * competing edits.
 */
static void
pack_record(struct cmd_ctx *d, MDB_txn *txn, const struct sl_rec *r,
    struct sl_buf *g, bool competing)
{
	const struct sl_kind *k = r->kind;
	msgpack_packer pk;
	uint32_t n = 0, refs = 0;
	char kind[32], date[11], label[SL_TEXT_MAX + 1];

	kind_value(r, kind, sizeof kind);
	for (uint32_t i = 0; i < k->nfields; i++) {
		n += strcmp(k->fields[i].name, "kind") != 0;
		refs += k->fields[i].type == SL_F_REF ||
		    k->fields[i].type == SL_F_REFS;
	}
	uint32_t nerased = 0;

	for (uint32_t i = 0; i < k->nfields; i++)
		nerased += sl_rec_erased(r, i);
	msgpack_packer_init(&pk, g, sl_buf_write);
	competing = competing && r->nheads > 1;
	msgpack_pack_map(&pk, n + 10 + refs + competing + (nerased > 0));
	sl_pack_cstr(&pk, "id");
	sl_pack_b32(&pk, r->id, SL_ID_LEN);
	sl_pack_cstr(&pk, "record");
	sl_pack_cstr(&pk, k->word);
	project_label(r, label, sizeof label);
	sl_pack_cstr(&pk, "label");
	sl_pack_cstr(&pk, label);
	sl_pack_cstr(&pk, "kind");
	sl_pack_cstr(&pk, kind);
	for (uint32_t i = 0; i < k->nfields; i++) {
		if (strcmp(k->fields[i].name, "kind") == 0)
			continue;
		sl_pack_cstr(&pk, k->fields[i].name);
		sl_rec_pack_field(&pk, r, i);
	}
	for (uint32_t i = 0; i < k->nfields; i++)
		if (k->fields[i].type == SL_F_REF ||
		    k->fields[i].type == SL_F_REFS)
			pack_ref_names(d, txn, r, i, &pk);
	sl_pack_cstr(&pk, "created");
	sl_pack_time(&pk, r->c_hlc);
	sl_pack_cstr(&pk, "updated");
	sl_pack_time(&pk, r->u_hlc);
	sl_date_format(r->c_eff, date);
	sl_pack_cstr(&pk, "created_on");
	sl_pack_cstr(&pk, date);
	sl_date_format(r->w_eff, date);
	sl_pack_cstr(&pk, "on");
	sl_pack_cstr(&pk, date);
	sl_pack_cstr(&pk, "author");
	sl_pack_cstr(&pk, r->c_author);
	sl_pack_cstr(&pk, "conflict");
	sl_pack_bool(&pk, r->nheads > 1);
	if (nerased > 0) {
		/* Where a value was erased (PROTOCOL.md 5.2): by whom, when,
		 * on what ground. */
		sl_pack_cstr(&pk, "erased");
		msgpack_pack_map(&pk, nerased);
		for (uint32_t i = 0; i < k->nfields; i++) {
			char note[400];

			if (!sl_rec_erased(r, i))
				continue;
			cmd_erase_note(d, txn, r->id, NULL, k->fields[i].name,
			    note, sizeof note);
			sl_pack_cstr(&pk, k->fields[i].name);
			sl_pack_cstr(&pk, note);
		}
	}
	if (competing) {
		sl_pack_cstr(&pk, "competing");
		pack_competing(d, txn, r, &pk, g);
	}
}

/*
 * A record with only id, conflict and the fields only[] marks (by index
 * in the kind), each reference with the names of what it names: what a
 * list's table shows of it (the list's "fields" argument).  Packing every
 * field, with label, times, dates and author, was a fifth of a filtered
 * list's time in samlogd.
 */
static void
pack_shown(struct cmd_ctx *d, MDB_txn *txn, const struct sl_rec *r,
    struct sl_buf *g, const bool *only)
{
	const struct sl_kind *k = r->kind;
	msgpack_packer pk;
	uint32_t n = 2;
	char kind[32];

	for (uint32_t i = 0; i < k->nfields; i++)
		if (only[i])
			n += 1 + (k->fields[i].type == SL_F_REF ||
			    k->fields[i].type == SL_F_REFS);
	msgpack_packer_init(&pk, g, sl_buf_write);
	msgpack_pack_map(&pk, n);
	sl_pack_cstr(&pk, "id");
	sl_pack_b32(&pk, r->id, SL_ID_LEN);
	sl_pack_cstr(&pk, "conflict");
	sl_pack_bool(&pk, r->nheads > 1);
	for (uint32_t i = 0; i < k->nfields; i++) {
		if (!only[i])
			continue;
		sl_pack_cstr(&pk, k->fields[i].name);
		if (strcmp(k->fields[i].name, "kind") == 0) {
			kind_value(r, kind, sizeof kind);
			sl_pack_cstr(&pk, kind);
		} else {
			sl_rec_pack_field(&pk, r, i);
		}
		if (k->fields[i].type == SL_F_REF ||
		    k->fields[i].type == SL_F_REFS)
			pack_ref_names(d, txn, r, i, &pk);
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

/* A list filter: a field and the values asked for (ids resolved); a
 * record matches if its field is (or, a list, holds) any of them. */
#define FILTER_VALUES 8
struct filter {
	const struct sl_field *f;
	char v[FILTER_VALUES][SL_TEXT_MAX + 1];
	uint32_t nv;
	bool folded;        /* free text: compared folded (fv) */
	char fv[FILTER_VALUES][SL_TEXT_MAX + 1]; /* folding never grows */
};

/* A record that matched, for sorting before it is sent: by its sort
 * key, and records of one key in the order they were made, as the
 * indexes hold them (project_list). */
struct hit {
	uint8_t key[64];
	uint8_t klen;
	uint64_t c_hlc;
	uint8_t id[SL_ID_LEN];
};

struct list_ctx {
	struct cmd_ctx *d;
	struct ctl_conn *c;
	uint32_t id;
	MDB_txn *txn;
	char kind;
	struct filter flt[SL_SCHEMA_MAX_FIELDS];
	uint32_t nflt;
	const struct sl_field *range;  /* the date --from/--to bound (NULL:
					  the record's effective date) */
	char from[SL_TEXT_MAX + 1], to[SL_TEXT_MAX + 1];
	bool archived, in_force, overdue, past, stream;
	uint32_t today, expiring;      /* --expiring: end by this day */
	uint32_t as_of;                /* UINT32_MAX: now */
	uint64_t known;                /* UINT64_MAX: all */
	struct hit *hits;
	size_t nhits, cap;
	bool shown;                    /* only these fields ("fields"): */
	bool only[SL_SCHEMA_MAX_FIELDS];
	int err;
};

/* Sends r as the list replies with it: whole, or only the fields asked
 * for. */
static void
list_send(struct list_ctx *l, const struct sl_rec *r)
{
	struct sl_buf g = { 0 };

	if (!l->shown) {
		cmd_send_record(l->d, l->c, l->id, l->txn, r, false);
		return;
	}
	pack_shown(l->d, l->txn, r, &g, l->only);
	ctl_send(l->c, SL_MSG_RECORD, l->id, g.p, g.len);
	free(g.p);
}

/* The list's "fields" argument into l->only: the fields of kind k its
 * table shows. */
static int
list_fields(struct list_ctx *l, const struct sl_kind *k, const struct arg *g,
    char *msg, size_t mlen)
{
	uint32_t n = g->type == ARG_ARR ? g->n : g->type == ARG_STR ? 1 : 0;

	if (n == 0)
		return cmd_fail(msg, mlen, SL_EUSAGE, "fields: name the fields "
		    "to send");
	for (uint32_t i = 0; i < n; i++) {
		const char *name = g->type == ARG_ARR ? g->e[i] : g->s;
		uint32_t len = g->type == ARG_ARR ? g->elen[i] : g->slen, fi;

		if (memchr(name, '\0', len) != NULL)
			return cmd_fail(msg, mlen, SL_EUSAGE, "fields: a name "
			    "holds a NUL byte");
		if (sl_schema_field(k, name, len, &fi) == NULL)
			return cmd_fail(msg, mlen, SL_EUSAGE, "fields: %s "
			    "records have no field \"%.*s\"", k->word,
			    (int)(len > 64 ? 64 : len), name);
		l->only[fi] = true;
	}
	l->shown = true;
	return SL_OK;
}

/* The local day now, as YYYYMMDD (0 if unknown). */
static uint32_t
today_ymd(void)
{
	char day[11];
	uint32_t ymd;

	cmd_local_day(day);
	return sl_date_parse(day, strlen(day), &ymd) ? ymd : 0;
}

/* YYYYMMDD plus days. */
static uint32_t
ymd_add(uint32_t ymd, int days)
{
	struct tm tm = { 0 };
	time_t t;

	tm.tm_year = (int)(ymd / 10000) - 1900;
	tm.tm_mon = (int)(ymd / 100 % 100) - 1;
	tm.tm_mday = (int)(ymd % 100) + days;
	tm.tm_hour = 12;
	t = timegm(&tm);
	if (gmtime_r(&t, &tm) == NULL)
		return ymd;
	return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 +
	    tm.tm_mday);
}

/* A date field of r as YYYYMMDD (0 if absent). */
static uint32_t
rec_date(const struct sl_rec *r, const char *name)
{
	char v[16];
	uint32_t ymd;

	if (!project_str(r, name, v, sizeof v) ||
	    !sl_date_parse(v, strlen(v), &ymd))
		return 0;
	return ymd;
}

/* Free text compares folded (any case, Swedish letters, NFC); ids,
 * enum words and states exactly (they are checked and canonical). */
static bool
value_is(const char *s, size_t n, const struct filter *fl)
{
	char a[4 * SL_TEXT_MAX + 4];

	if (!fl->folded) {
		for (uint32_t i = 0; i < fl->nv; i++)
			if (strlen(fl->v[i]) == n && memcmp(fl->v[i], s, n) == 0)
				return true;
		return false;
	}
	sl_text_fold(s, n, a, sizeof a);
	for (uint32_t i = 0; i < fl->nv; i++)
		if (strcmp(a, fl->fv[i]) == 0)
			return true;
	return false;
}

/* True if r's field is one of the filter's values, or (a list) holds
 * one; letters match either case. */
static bool
field_matches(const struct sl_rec *r, const struct filter *fl)
{
	const struct sl_field *f = fl->f;
	char v[SL_TEXT_MAX + 1];
	const struct sl_recfield *rf;
	struct sl_mp m;
	uint32_t n, l;
	const char *s;

	if (f->type == SL_F_BOOL) {
		bool b = false;

		if ((rf = sl_rec_get(r, f->name)) != NULL) {
			sl_mp_init(&m, rf->val, rf->len);
			(void)sl_mp_read_bool(&m, &b);
		}
		return value_is(b ? "true" : "false", b ? 4 : 5, fl);
	}
	if (f->type != SL_F_REFS && f->type != SL_F_TEXTS) {
		if (!project_str(r, f->name, v, sizeof v) && f->dflt != NULL)
			snprintf(v, sizeof v, "%s", f->dflt);
		return value_is(v, strlen(v), fl);
	}
	if ((rf = sl_rec_get(r, f->name)) == NULL)
		return false;
	sl_mp_init(&m, rf->val, rf->len);
	if (sl_mp_read_array(&m, &n, SL_LIST_MAX) != SL_OK)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (sl_mp_read_str(&m, &s, &l, 0, UINT32_MAX) == SL_OK &&
		    value_is(s, l, fl))
			return true;
	return false;
}

/* The kind's special filters (--in-force, --overdue, --expiring), by
 * the fields they read. */
static bool
special_matches(const struct list_ctx *l, const struct sl_rec *r)
{
	if (l->in_force) {
		uint32_t until = rec_date(r, "valid_until");
		uint32_t day = l->as_of != UINT32_MAX ? l->as_of : l->today;
		const char *st = sl_schema_state_name(r->kind, r->state);

		if (strcmp(st, "adopted") != 0 && strcmp(st, "amended") != 0)
			return false;
		if (until != 0 && until < day)
			return false;
	}
	if (l->overdue) {
		uint32_t due = rec_date(r, "due");

		if (r->state != sl_schema_state(r->kind, "open") || due == 0 ||
		    due >= l->today)
			return false;
	}
	if (l->expiring) {
		uint32_t end = rec_date(r, "end");

		if (end == 0 || end < l->today || end > l->expiring)
			return false;
	}
	return true;
}

static bool
list_matches(const struct list_ctx *l, const struct sl_rec *r)
{
	if (r->kind == NULL || r->kind->c != l->kind)
		return false;
	if (!l->archived && project_archived(r))
		return false;
	for (uint32_t i = 0; i < l->nflt; i++)
		if (!field_matches(r, &l->flt[i]))
			return false;
	if (l->from[0] || l->to[0]) {
		char v[SL_TEXT_MAX + 1];

		if (l->range != NULL)
			project_str(r, l->range->name, v, sizeof v);
		else
			sl_date_format(r->w_eff, v);
		if ((l->from[0] && strcmp(v, l->from) < 0) ||
		    (l->to[0] && strcmp(v, l->to) > 0))
			return false;
	}
	return special_matches(l, r);
}

/* Keeps a record that matches, with its sort key. */
static int
list_cb(void *ctx, const struct sl_rec *cur)
{
	struct list_ctx *l = ctx;
	struct sl_rec past;
	const struct sl_rec *r = cur;
	struct hit *h;
	char label[SL_TEXT_MAX + 1];
	const struct sl_field *sf = NULL;

	if (l->past) {
		if (project_as_of(l->d->p, l->txn, cur->id, l->known, l->as_of,
		    &past) != SL_OK)
			return 0;
		if (past.kind == NULL) {
			sl_rec_free(&past);
			return 0;
		}
		r = &past;
	}
	if (!list_matches(l, r))
		goto out;
	/* A scan of the kind's sort index is in order already; any other
	 * (one value of another field: in the order records were made), or
	 * as of a day (the values then may differ), is sorted first. */
	if (l->stream) {
		list_send(l, r);
		goto out;
	}
	if (l->nhits == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct hit *nh = realloc(l->hits, cap * sizeof *nh);

		if (nh == NULL) {
			l->err = SL_ENOMEM;
			goto out;
		}
		l->hits = nh;
		l->cap = cap;
	}
	h = &l->hits[l->nhits++];
	for (uint32_t i = 0; i < r->kind->nfields; i++)
		if (r->kind->fields[i].flags & SL_FF_SORT)
			sf = &r->kind->fields[i];
	label[0] = '\0';
	if (sf != NULL)
		project_str(r, sf->name, label, sizeof label);
	h->klen = (uint8_t)sl_text_key(label, strlen(label), h->key,
	    sizeof h->key);
	h->c_hlc = r->c_hlc;
	memcpy(h->id, r->id, SL_ID_LEN);
out:
	if (r == &past)
		sl_rec_free(&past);
	return l->err;
}

static int
hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	if (x->c_hlc != y->c_hlc)
		return x->c_hlc < y->c_hlc ? -1 : 1;
	return memcmp(x->id, y->id, SL_ID_LEN);
}

/* The values of a filter flag: repeated, and for a closed set of words
 * (enum, state) also comma-separated. */
static int
filter_values(struct cmd_ctx *d, MDB_txn *txn, const struct arg *g,
    struct filter *fl, char *msg, size_t mlen)
{
	const struct sl_field *f = fl->f;
	uint32_t cnt = g->type == ARG_ARR ? g->n : 1;
	int rc;

	fl->folded = f->type == SL_F_TEXT || f->type == SL_F_TEXTS ||
	    f->type == SL_F_EMAIL;
	if (f->type == SL_F_BOOL) {
		fl->nv = 1;
		snprintf(fl->v[0], sizeof fl->v[0], "%s",
		    g->type == ARG_TRUE ? "true" : g->type == ARG_STR &&
		    g->slen == 2 && memcmp(g->s, "no", 2) == 0 ? "false" :
		    g->type == ARG_STR && g->slen == 5 &&
		    memcmp(g->s, "false", 5) == 0 ? "false" : "true");
		return SL_OK;
	}
	if (g->type == ARG_TRUE)
		return cmd_fail(msg, mlen, SL_EUSAGE, "--%s needs a value",
		    f->flag);
	for (uint32_t i = 0; i < cnt; i++) {
		const char *s = g->type == ARG_ARR ? g->e[i] : g->s;
		uint32_t n = g->type == ARG_ARR ? g->elen[i] : g->slen;
		bool words = f->type == SL_F_ENUM || f->type == SL_F_STATE;

		while (n > 0) {
			uint32_t part = n;
			char one[SL_TEXT_MAX + 1];

			if (words) {
				const char *comma = memchr(s, ',', n);

				if (comma != NULL)
					part = (uint32_t)(comma - s);
			}
			if (fl->nv == FILTER_VALUES)
				return cmd_fail(msg, mlen, SL_EUSAGE, "--%s takes "
				    "at most %d values", f->flag,
				    FILTER_VALUES);
			snprintf(one, sizeof one, "%.*s", (int)part, s);
			if (words) {
				struct sl_field e = *f;

				e.type = SL_F_ENUM;
				if ((rc = cmd_check_field(&e, one, strlen(one),
				    msg, mlen)) != SL_OK)
					return rc;
			}
			if ((f->type == SL_F_REF || f->type == SL_F_REFS) &&
			    (rc = cmd_resolve_text(d, txn, f->flag, one, f->ref,
			    one, msg, mlen)) != SL_OK)
				return rc;
			snprintf(fl->v[fl->nv], sizeof fl->v[0], "%s", one);
			sl_text_fold(one, strlen(one), fl->fv[fl->nv],
			    sizeof fl->fv[0]);
			fl->nv++;
			if (part == n)
				break;
			s += part + 1;
			n -= part + 1;
		}
	}
	return SL_OK;
}

/* --expiring 90d (or 90): days ahead. */
static bool
parse_days(const char *s, int *days)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || v < 0 || v > 36500 ||
	    (*end != '\0' && strcmp(end, "d") != 0))
		return false;
	*days = (int)v;
	return true;
}

static bool parse_as_of(const char *s, uint64_t *hlc);
static int parse_times(const struct args *a, uint32_t *as_of, uint64_t *known,
    char *msg, size_t mlen);

/* Which special filters a kind has: by the fields they need. */
static bool
kind_has(const struct sl_kind *k, const char *field)
{
	return sl_schema_field(k, field, strlen(field), NULL) != NULL;
}

/*
 * KIND list: a filter for every indexed field of the kind (its flag;
 * several values: any of them), --from/--to over the kind's date (or
 * the effective date), --archived, --as-of/--known-at, and what the
 * kind's fields allow: --in-force (valid_until and a lifecycle with
 * adopted), --open/--overdue (due and open), --expiring (end).  The scan
 * reads the index of a single-valued filter if one is given, else every
 * record of the kind; the rest are applied to each record; the result is
 * sorted by the kind's sort field (Swedish alphabetical order), then id.
 */
int
cmd_read_list(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct args *a, char kind, char *msg, size_t mlen)
{
	const struct sl_kind *k = sl_schema_kind_c(kind);
	const char *allowed[SL_SCHEMA_MAX_FIELDS + 16];
	struct list_ctx *l = calloc(1, sizeof *l);
	const struct filter *scan = NULL;
	const char *sfield[PROJECT_LIST_ALL_MAX], *svalue[PROJECT_LIST_ALL_MAX];
	size_t na = 0, nscan = 0;
	const struct arg *g;
	char v[32];
	bool range_ok = true;
	int rc;

	if (l == NULL)
		return SL_ENOMEM;
	*l = (struct list_ctx){ .d = d, .c = c, .id = id, .txn = txn,
		.kind = kind,
		.today = today_ymd(), .as_of = UINT32_MAX, .known = UINT64_MAX };
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];

		if (f->flags & SL_FF_INDEX)
			allowed[na++] = f->flag;
		if ((f->flags & SL_FF_SORT) && f->type == SL_F_DATE)
			l->range = f;
	}
	/* A field of that flag (an action's --from) filters instead. */
	if (sl_schema_field(k, "from", 4, NULL) == NULL) {
		allowed[na++] = "from";
		allowed[na++] = "to";
	} else {
		range_ok = false;
	}
	allowed[na++] = "archived";
	allowed[na++] = "fields";
	allowed[na++] = "as-of";
	allowed[na++] = "known-at";
	if (kind_has(k, "valid_until"))
		allowed[na++] = "in-force";
	if (kind_has(k, "due")) {
		allowed[na++] = "open";
		allowed[na++] = "overdue";
	}
	if (kind_has(k, "end"))
		allowed[na++] = "expiring";
	allowed[na] = NULL;
	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		goto out;
	if (range_ok && ((cmd_arg_str(a, "from", l->from, sizeof l->from) &&
	    (rc = cmd_check_date("from", l->from, msg, mlen)) != SL_OK) ||
	    (cmd_arg_str(a, "to", l->to, sizeof l->to) &&
	    (rc = cmd_check_date("to", l->to, msg, mlen)) != SL_OK)))
		goto out;
	if ((rc = parse_times(a, &l->as_of, &l->known, msg, mlen)) != SL_OK)
		goto out;
	l->past = l->as_of != UINT32_MAX || l->known != UINT64_MAX;
	/* Overdue and expiring as of that day. */
	if (l->as_of != UINT32_MAX)
		l->today = l->as_of;
	if ((g = cmd_arg_get(a, "fields")) != NULL &&
	    (rc = list_fields(l, k, g, msg, mlen)) != SL_OK)
		goto out;
	l->archived = cmd_arg_get(a, "archived") != NULL;
	l->in_force = cmd_arg_get(a, "in-force") != NULL;
	l->overdue = cmd_arg_get(a, "overdue") != NULL;
	if (cmd_arg_str(a, "expiring", v, sizeof v)) {
		int days;

		if (!parse_days(v, &days)) {
			rc = cmd_fail(msg, mlen, SL_EVALUE, "invalid --expiring "
			    "\"%s\" (use a number of days, e.g. 90d)", v);
			goto out;
		}
		l->expiring = ymd_add(l->today, days);
	}
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];
		struct filter *fl = &l->flt[l->nflt];

		if (!(f->flags & SL_FF_INDEX) || (g = cmd_arg_get(a, f->flag)) ==
		    NULL)
			continue;
		fl->f = f;
		if ((rc = filter_values(d, txn, g, fl, msg, mlen)) != SL_OK)
			goto out;
		l->nflt++;
	}
	if (cmd_arg_get(a, "open") != NULL || l->overdue) {
		struct filter *fl = &l->flt[l->nflt];

		fl->f = sl_schema_field(k, "status", 6, NULL);
		if (fl->f != NULL) {
			snprintf(fl->v[0], sizeof fl->v[0], "open");
			fl->nv = 1;
			l->nflt++;
		}
	}
	/* Records are read through the indexes of the filters with one
	 * value, walked together (--municipality Vaxholm --role samordnare
	 * reads only Vaxholm's samordnare); list_cb checks every filter on
	 * each. */
	for (uint32_t i = 0; i < l->nflt && !l->past &&
	    nscan < PROJECT_LIST_ALL_MAX; i++) {
		const struct filter *fl = &l->flt[i];

		if (fl->nv != 1 || fl->f->type == SL_F_BOOL)
			continue;
		scan = fl;
		sfield[nscan] = fl->f->name;
		svalue[nscan++] = fl->v[0];
	}
	if (nscan > 1)
		rc = project_list_all(d->p, txn, kind, nscan, sfield, svalue,
		    list_cb, l);
	else if (scan != NULL)
		rc = project_list(d->p, txn, kind, scan->f->name, scan->v[0],
		    NULL, NULL, list_cb, l);
	else if (l->range != NULL && !l->past) {
		l->stream = true;
		rc = project_list(d->p, txn, kind, NULL, NULL,
		    l->from[0] ? l->from : NULL, l->to[0] ? l->to : NULL,
		    list_cb, l);
	} else {
		l->stream = !l->past;
		rc = project_list(d->p, txn, kind, NULL, NULL, NULL, NULL,
		    list_cb, l);
	}
	if (rc != SL_OK) {
		rc = cmd_fail(msg, mlen, rc, "cannot list: %s", sl_strerror(rc));
		goto out;
	}
	if (l->nhits > 1)
		qsort(l->hits, l->nhits, sizeof l->hits[0], hit_cmp);
	for (size_t i = 0; i < l->nhits; i++) {
		struct sl_rec r;

		if (l->past) {
			if (project_as_of(d->p, txn, l->hits[i].id, l->known,
			    l->as_of, &r) != SL_OK)
				continue;
		} else if (project_get(d->p, txn, l->hits[i].id, &r) != SL_OK) {
			continue;
		}
		list_send(l, &r);
		sl_rec_free(&r);
	}
out:
	free(l->hits);
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

/* --as-of DATE (effective time; a time is taken as its own day) and
 * --known-at TIME (record time). */
static int
parse_times(const struct args *a, uint32_t *as_of, uint64_t *known,
    char *msg, size_t mlen)
{
	char t[64];

	*as_of = UINT32_MAX;
	*known = UINT64_MAX;
	if (cmd_arg_str(a, "as-of", t, sizeof t)) {
		size_t n = strlen(t);

		if (n > 10 && (t[10] == 'T' || t[10] == ' '))
			n = 10;
		if (!sl_date_parse(t, n, as_of))
			return cmd_fail(msg, mlen, SL_EVALUE, "invalid date \"%s\" "
			    "for --as-of (use YYYY-MM-DD, e.g. 2019-12-31)", t);
	}
	if (cmd_arg_str(a, "known-at", t, sizeof t) && !parse_as_of(t, known))
		return cmd_fail(msg, mlen, SL_EVALUE, "invalid time \"%s\" for "
		    "--known-at (use YYYY-MM-DD or an ISO 8601 time such as "
		    "2026-12-01T22:06:21+01:00)", t);
	return SL_OK;
}

int
cmd_read_show(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct args *a, char kind, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", "as-of", "known-at", NULL };
	char text[SL_TEXT_MAX + 1], kinds[2] = { kind, 0 }, t[64];
	uint8_t rid[SL_ID_LEN];
	struct sl_rec r;
	uint64_t known;
	uint32_t as_of;
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", text, sizeof text))
		return cmd_fail(msg, mlen, SL_EUSAGE, "show needs an ID or a name");
	if ((rc = cmd_resolve(d, txn, NULL, text, kinds, rid, msg, mlen)) !=
	    SL_OK)
		return rc;
	if ((rc = parse_times(a, &as_of, &known, msg, mlen)) != SL_OK)
		return rc;
	if (as_of != UINT32_MAX || known != UINT64_MAX) {
		if (project_as_of(d->p, txn, rid, known, as_of, &r) != SL_OK ||
		    r.kind == NULL) {
			sl_rec_free(&r);
			t[0] = '\0';
			cmd_arg_str(a, as_of != UINT32_MAX ? "as-of" : "known-at",
			    t, sizeof t);
			return cmd_fail(msg, mlen, SL_ENOENT, "%s %s did not exist "
			    "yet %s %s", project_kind_word(kind), text,
			    as_of != UINT32_MAX ? "on" : "at", t);
		}
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
 * The keys every event shows (11): seq, origin, org, fingerprint (its
 * key's, PROTOCOL.md 14.3), author, time, on, type,
 * changes (its payload, decoded and packed again: a map, empty if the
 * body is erased or is no map), verified (the payload matches its
 * hash) and effect (the fold's verdict, nil for events of no record).
 */
static void
pack_event_common(struct cmd_ctx *d, MDB_txn *txn, msgpack_packer *pk,
    const struct sl_event *ev, const struct sl_evmeta *m)
{
	char org[SL_ORG_MAX + 1], on[11], fpr[SL_FPR_TEXT + 1];

	/* The name bound to the organisation when it made the event: a
	 * rename later does not relabel its past. */
	project_org_at(d->p, txn, ev->origin, ev->hlc, org, sizeof org);
	sl_pack_cstr(pk, "seq");
	msgpack_pack_uint64(pk, ev->seq);
	sl_pack_cstr(pk, "origin");
	sl_pack_b32(pk, ev->origin, SL_KEY_LEN);
	sl_pack_cstr(pk, "org");
	sl_pack_cstr(pk, org);
	sl_fingerprint(fpr, ev->origin);
	sl_pack_cstr(pk, "fingerprint");
	sl_pack_cstr(pk, fpr);
	sl_pack_cstr(pk, "author");
	sl_pack_str(pk, ev->author, ev->author_len);
	sl_pack_cstr(pk, "time");
	sl_pack_time(pk, ev->hlc);
	sl_date_format(sl_event_effective(ev), on);
	sl_pack_cstr(pk, "on");
	sl_pack_cstr(pk, on);
	sl_pack_cstr(pk, "type");
	sl_pack_str(pk, ev->type, ev->type_len);
	sl_pack_cstr(pk, "changes");
	sl_event_pack_changes(pk, ev);
	/* Where a value was: who erased it, when, and on what ground. */
	{
		const char *keys[SL_OPENS_MAX];
		uint32_t kl[SL_OPENS_MAX], ne;
		uint8_t h[SL_HASH_LEN];

		ne = sl_event_erased(ev, keys, kl, SL_OPENS_MAX);
		if (ne > SL_OPENS_MAX)
			ne = SL_OPENS_MAX;
		sl_event_hash(h, ev);
		sl_pack_cstr(pk, "erased");
		msgpack_pack_map(pk, ne);
		for (uint32_t i = 0; i < ne; i++) {
			char f[SL_FIELD_NAME_MAX + 1], note[400];

			snprintf(f, sizeof f, "%.*s", (int)kl[i], keys[i]);
			sl_pack_str(pk, keys[i], kl[i]);
			if (m != NULL)
				cmd_erase_note(d, txn, m->id, h, f, note,
				    sizeof note);
			else
				snprintf(note, sizeof note, "erased");
			sl_pack_cstr(pk, note);
		}
	}
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
	msgpack_pack_map(&pk, 12);
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
	char text[SL_TEXT_MAX + 1];
	uint8_t rid[SL_ID_LEN];
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", text, sizeof text))
		return cmd_fail(msg, mlen, SL_EUSAGE, "history needs an ID");
	if ((rc = cmd_resolve(d, txn, NULL, text, NULL, rid, msg, mlen)) != SL_OK)
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
	char text[SL_TEXT_MAX + 1], err[256];
	uint8_t rid[SL_ID_LEN];
	struct sl_rec r;
	struct sl_buf b = { 0 };
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", text, sizeof text))
		return cmd_fail(msg, mlen, SL_EUSAGE, "audit needs a record ID");
	if ((rc = cmd_resolve(d, txn, NULL, text, NULL, rid, msg, mlen)) != SL_OK)
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

	msgpack_pack_map(&pk, 18);
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

/* The status's witnesses (PROTOCOL.md 15): per origin held, how many
 * other organisations' checkpoints name it and the seq all of them
 * reach; then every contradiction kept.  Contradictions are few (each is
 * proof that an origin showed two histories), so they are listed whole. */
static int
contra_count_cb(void *ctx, const struct project_contra *x)
{
	(void)x;
	(*(uint32_t *)ctx)++;
	return 0;
}

struct contra_pack {
	struct cmd_ctx *d;
	MDB_txn *txn;
	msgpack_packer *pk;
};

static void
pack_fingerprint(msgpack_packer *pk, const uint8_t key[SL_KEY_LEN])
{
	char t[SL_FPR_TEXT + 1];

	sl_fingerprint(t, key);
	sl_pack_cstr(pk, t);
}

static int
contra_pack_cb(void *ctx, const struct project_contra *x)
{
	struct contra_pack *cp = ctx;
	char org[SL_ORG_MAX + 1];

	msgpack_pack_map(cp->pk, 6);
	sl_pack_cstr(cp->pk, "origin");
	pack_fingerprint(cp->pk, x->origin);
	sl_pack_cstr(cp->pk, "seq");
	msgpack_pack_uint64(cp->pk, x->seq);
	sl_pack_cstr(cp->pk, "witness");
	pack_fingerprint(cp->pk, x->witness);
	project_org_at(cp->d->p, cp->txn, x->witness, UINT64_MAX, org,
	    sizeof org);
	sl_pack_cstr(cp->pk, "witness_org");
	sl_pack_cstr(cp->pk, org);
	sl_pack_cstr(cp->pk, "claimed");
	sl_pack_b32(cp->pk, x->claimed, SL_HASH_LEN);
	sl_pack_cstr(cp->pk, "held");
	sl_pack_b32(cp->pk, x->held, SL_HASH_LEN);
	return 0;
}

static void
pack_witnesses(struct cmd_ctx *d, MDB_txn *txn, msgpack_packer *pk)
{
	size_t n = txn != NULL ? store_origin_count(d->s) : 0;
	uint32_t nc = 0;
	struct contra_pack cp = { d, txn, pk };

	sl_pack_cstr(pk, "checkpoint_events");
	msgpack_pack_uint64(pk, txn != NULL ?
	    project_checkpoint_count(d->p, txn) : 0);
	sl_pack_cstr(pk, "witnessed");
	msgpack_pack_array(pk, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct store_tip *t = store_tip_at(d->s, i);
		uint32_t k = 0;
		uint64_t upto = 0;
		char org[SL_ORG_MAX + 1];

		(void)project_witnessed(d->p, txn, t->origin, &k, &upto);
		project_org_at(d->p, txn, t->origin, UINT64_MAX, org,
		    sizeof org);
		msgpack_pack_map(pk, 5);
		sl_pack_cstr(pk, "origin");
		pack_fingerprint(pk, t->origin);
		sl_pack_cstr(pk, "org");
		sl_pack_cstr(pk, org);
		sl_pack_cstr(pk, "seq");
		msgpack_pack_uint64(pk, t->seq);
		sl_pack_cstr(pk, "witnesses");
		msgpack_pack_uint32(pk, k);
		sl_pack_cstr(pk, "upto");
		msgpack_pack_uint64(pk, upto);
	}
	if (txn != NULL)
		(void)project_contradictions(d->p, txn, contra_count_cb, &nc);
	sl_pack_cstr(pk, "contradictions");
	msgpack_pack_array(pk, nc);
	if (nc > 0)
		(void)project_contradictions(d->p, txn, contra_pack_cb, &cp);
}

/* Does peer pi hold events of origins this node does not accept, other
 * than its own while the members are asked to admit it (12.4: that is
 * no disagreement)? */
static bool
stranger_warning(struct cmd_ctx *d, const struct sync_peer_info *pi)
{
	return pi->strangers > 1 || (pi->strangers == 1 &&
	    !cmd_sync_reader(d, pi->cfg.key));
}

int
cmd_read_status(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id)
{
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	uint64_t forks = store_fork_count(d->s), members = 0, mevents = 0;
	char retired[SL_ORG_MAX + 160] = "", signs[SL_ORG_MAX + 96] = "";
	char orgname[SL_ORG_MAX + 1], waiting[512] = "";
	const char *admission = "one";
	MDB_txn *txn;

	snprintf(orgname, sizeof orgname, "%s", d->org);
	if (store_read_begin(d->s, &txn) == SL_OK) {
		const struct sl_members *ms = project_members(d->p, txn);
		const struct sl_member *self;

		if (ms != NULL) {
			const struct sl_device *dv = sl_members_device(ms,
			    d->node);
			const char *on = sl_members_name_at(ms, d->orgkey,
			    UINT64_MAX);
			uint64_t upto;

			/* How this node's key signs (12.3). */
			if (!sl_members_signer(ms, d->node, &upto))
				snprintf(signs, sizeof signs, "not yet: its "
				    "certificate has not reached this node");
			else if (upto != UINT64_MAX)
				snprintf(signs, sizeof signs, "no longer: %s",
				    dv != NULL ? "this device was revoked" :
				    "this key moved to a device");
			else if (dv != NULL)
				snprintf(signs, sizeof signs, "as its device "
				    "%s", dv->name);
			else
				snprintf(signs, sizeof signs, "as the "
				    "organisation key");
			/* A device speaks for its organisation, by the name
			 * the log gives it. */
			if (cmd_is_device(d) && on != NULL)
				snprintf(orgname, sizeof orgname, "%s", on);
			members = sl_members_count(ms);
			mevents = ms->nev;
			/* Admission by majority (12.4): what waits for the
			 * members. */
			if (sl_members_ledger(ms, NULL)) {
				size_t ready, nw = cmd_ledger_waiting(ms,
				    &ready);
				struct sl_ledger_info li;
				char kf[SL_FPR_TEXT + 1];
				const char *kn;

				admission = "majority";
				(void)sl_members_ledger(ms, &li);
				kn = sl_members_name_at(ms,
				    sl_members_org_of(ms, li.keeper),
				    UINT64_MAX);
				if (kn == NULL) {
					sl_fingerprint(kf, li.keeper);
					kn = kf;
				}
				if (nw > ready)
					snprintf(waiting, sizeof waiting, "%zu "
					    "admission%s or retirement%s wait%s "
					    "for the members' approval (samlog "
					    "member list; samlog member approve "
					    "ORG)", nw - ready, nw - ready == 1 ?
					    "" : "s", nw - ready == 1 ? "" : "s",
					    nw - ready == 1 ? "s" : "");
				else if (ready > 0)
					snprintf(waiting, sizeof waiting, "%zu "
					    "admission%s or retirement%s %s "
					    "approved and wait%s for %s's node to "
					    "record %s", ready, ready == 1 ? "" :
					    "s", ready == 1 ? "" : "s", ready ==
					    1 ? "is" : "are", ready == 1 ? "s" :
					    "", kn, ready == 1 ? "it" : "them");
			} else {
				size_t a, n;

				if (cmd_ledger_self_waiting(ms, &a, &n))
					admission = "majority";
				if (!cmd_ledger_note(d, ms, waiting,
				    sizeof waiting))
					waiting[0] = '\0';
			}
			if ((self = sl_members_get(ms, d->orgkey)) != NULL &&
			    self->upto != UINT64_MAX) {
				const char *by = sl_members_name_at(ms,
				    self->retired_by, UINT64_MAX);

				snprintf(retired, sizeof retired, "this "
				    "organisation was retired from the "
				    "federation%s%s: its new records would "
				    "count on no member's node", by ? " by " :
				    "", by ? by : "");
			}
		}
	} else {
		txn = NULL;
	}
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 27);
	sl_pack_cstr(&pk, "node_id");
	sl_pack_b32(&pk, d->node, SL_KEY_LEN);
	sl_pack_cstr(&pk, "org");
	sl_pack_cstr(&pk, orgname);
	sl_pack_cstr(&pk, "org_key");
	sl_pack_b32(&pk, d->orgkey, SL_KEY_LEN);
	sl_pack_cstr(&pk, "signs");
	sl_pack_cstr(&pk, signs);
	sl_pack_cstr(&pk, "events");
	msgpack_pack_uint64(&pk, store_event_count(d->s));
	sl_pack_cstr(&pk, "origins");
	msgpack_pack_uint64(&pk, store_origin_count(d->s));
	sl_pack_cstr(&pk, "members");
	msgpack_pack_uint64(&pk, members);
	sl_pack_cstr(&pk, "member_events");
	msgpack_pack_uint64(&pk, mevents);
	sl_pack_cstr(&pk, "admission");
	sl_pack_cstr(&pk, admission);
	pack_witnesses(d, txn, &pk);
	sl_pack_cstr(&pk, "forks");
	msgpack_pack_uint64(&pk, forks);
	/* Proofs that an origin signed two histories (PROTOCOL.md 16). */
	uint32_t nf = cmd_fork_status(d, txn, NULL, false);

	sl_pack_cstr(&pk, "fork_proofs");
	msgpack_pack_array(&pk, nf);
	(void)cmd_fork_status(d, txn, &pk, false);
	/* Erasures held and not applied here, with why (PROTOCOL.md 5.2). */
	uint32_t ne = txn != NULL ? cmd_erase_status(d, txn, NULL) : 0;
	char ew[200] = "";

	sl_pack_cstr(&pk, "erasure");
	sl_pack_cstr(&pk, d->erasure_decision ? "with-decision" : "apply");
	sl_pack_cstr(&pk, "retention");
	cmd_retention_status(d, &pk);
	sl_pack_cstr(&pk, "erasures_waiting");
	if (txn != NULL)
		(void)cmd_erase_status(d, txn, &pk);
	else
		msgpack_pack_array(&pk, 0);
	if (ne > 100)
		snprintf(ew, sizeof ew, "more than 100 erasures not applied on "
		    "this node (erasures_waiting lists the first 100)");
	else if (ne > 0)
		snprintf(ew, sizeof ew, "%u erasure%s not applied on this node "
		    "(see erasures_waiting)", ne, ne == 1 ? "" : "s");
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
	sl_pack_cstr(&pk, "restoring");
	sl_pack_bool(&pk, d->restoring);
	size_t np = d->sync ? sync_peer_count(d->sync) : 0;
	size_t nw = (retired[0] != '\0') + (waiting[0] != '\0') + nf +
	    (ew[0] != '\0');

	/* What needs a person: peers that hold events of origins this node
	 * does not accept (the two disagree on who is a member). */
	for (size_t i = 0; i < np; i++) {
		struct sync_peer_info pi;

		sync_peer_get(d->sync, i, &pi);
		nw += stranger_warning(d, &pi);
	}
	sl_pack_cstr(&pk, "warnings");
	msgpack_pack_array(&pk, nw);
	if (retired[0] != '\0')
		sl_pack_cstr(&pk, retired);
	if (waiting[0] != '\0')
		sl_pack_cstr(&pk, waiting);
	if (ew[0] != '\0')
		sl_pack_cstr(&pk, ew);
	(void)cmd_fork_status(d, txn, &pk, true);
	if (txn != NULL)
		mdb_txn_abort(txn);
	for (size_t i = 0; i < np; i++) {
		struct sync_peer_info pi;
		char w[400];

		sync_peer_get(d->sync, i, &pi);
		if (!stranger_warning(d, &pi))
			continue;
		snprintf(w, sizeof w, "peer %s holds events of %u origin%s "
		    "this node does not accept: they are members there, not "
		    "here (compare samlog member list on both nodes)",
		    pi.cfg.name, pi.strangers, pi.strangers == 1 ? "" : "s");
		sl_pack_cstr(&pk, w);
	}
	sl_pack_cstr(&pk, "peers");

	msgpack_pack_array(&pk, np);
	for (size_t i = 0; i < np; i++) {
		struct sync_peer_info pi;

		sync_peer_get(d->sync, i, &pi);
		cmd_pack_peer(&pi, &pk);
	}
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

int
cmd_read_log(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn)
{
	struct log_ctx l = { d, c, id, txn };

	return store_scan(d->s, 0, log_cb, &l);
}

/* ---- find, conflicts, timeline ---------------------------------------------- */

/* Records across kinds, collected then sorted: by label in Swedish
 * order (find, conflicts) or by date (timeline). */
struct across {
	struct cmd_ctx *d;
	MDB_txn *txn;
	char needle[4 * SL_TEXT_MAX + 4];
	size_t nlen;
	bool archived, conflicts;
	uint8_t about[SL_ID_LEN];      /* timeline: the organisation;
					  person: the contact */
	bool timeline;
	bool person;                   /* records that name the contact or
					  hold the needle (its name) */
	struct hit *hits;
	size_t nhits, cap;
	int err;
};

/* True if any text field of r contains the needle. */
static bool
rec_contains(const struct sl_rec *r, const char *needle, size_t nn)
{
	for (uint32_t i = 0; i < r->kind->nfields; i++) {
		const struct sl_field *f = &r->kind->fields[i];
		const struct sl_recfield *rf = &r->f[i];
		struct sl_mp m;
		const char *s;
		uint32_t n, l;

		if (!sl_rec_has(r, i) || (f->type != SL_F_TEXT &&
		    f->type != SL_F_TEXTS && f->type != SL_F_EMAIL))
			continue;
		sl_mp_init(&m, rf->val, rf->len);
		if (f->type != SL_F_TEXTS) {
			if (sl_mp_read_str(&m, &s, &l, 0, UINT32_MAX) == SL_OK &&
			    sl_text_contains(s, l, needle, nn))
				return true;
			continue;
		}
		if (sl_mp_read_array(&m, &n, SL_LIST_MAX) != SL_OK)
			continue;
		for (uint32_t j = 0; j < n; j++)
			if (sl_mp_read_str(&m, &s, &l, 0, UINT32_MAX) == SL_OK &&
			    sl_text_contains(s, l, needle, nn))
				return true;
	}
	return false;
}

/* True if a reference field of r names id. */
static bool
rec_refers(const struct sl_rec *r, const uint8_t id[SL_ID_LEN])
{
	char want[SL_ID_TEXT + 1];

	sl_b32_encode(want, id, SL_ID_LEN);
	for (uint32_t i = 0; i < r->kind->nfields; i++) {
		const struct sl_field *f = &r->kind->fields[i];
		const struct sl_recfield *rf = &r->f[i];
		struct sl_mp m;
		const char *s;
		uint32_t n = 1, l;

		if (!sl_rec_has(r, i) || (f->type != SL_F_REF &&
		    f->type != SL_F_REFS))
			continue;
		sl_mp_init(&m, rf->val, rf->len);
		if (f->type == SL_F_REFS &&
		    sl_mp_read_array(&m, &n, SL_LIST_MAX) != SL_OK)
			continue;
		for (uint32_t j = 0; j < n; j++)
			if (sl_mp_read_str(&m, &s, &l, 0, UINT32_MAX) == SL_OK &&
			    l == SL_ID_TEXT && memcmp(s, want, l) == 0)
				return true;
	}
	return false;
}

/* The day a record belongs to on a timeline: its own date field if it
 * has one (a meeting's date, an agreement's start), else the day of its
 * latest change. */
static uint32_t
rec_day(const struct sl_rec *r)
{
	for (uint32_t i = 0; i < r->kind->nfields; i++) {
		const struct sl_field *f = &r->kind->fields[i];

		if (f->type == SL_F_DATE && (f->flags & (SL_FF_SORT |
		    SL_FF_EFFECTIVE)) && strcmp(f->name, "left") != 0) {
			uint32_t ymd = rec_date(r, f->name);

			if (ymd != 0)
				return ymd;
		}
	}
	return r->w_eff;
}

static int
across_cb(void *ctx, const struct sl_rec *r)
{
	struct across *x = ctx;
	char label[SL_TEXT_MAX + 1];
	struct hit *h;

	if (r->kind == NULL || !r->kind->record ||
	    (!x->archived && project_archived(r)))
		return 0;
	if (x->conflicts && r->nheads < 2)
		return 0;
	if (x->person) {
		if (memcmp(r->id, x->about, SL_ID_LEN) == 0 ||
		    (!rec_refers(r, x->about) && !(x->nlen > 0 &&
		    rec_contains(r, x->needle, x->nlen))))
			return 0;
	} else if (x->nlen > 0 && !rec_contains(r, x->needle, x->nlen)) {
		return 0;
	}
	if (x->timeline && memcmp(r->id, x->about, SL_ID_LEN) != 0 &&
	    !rec_refers(r, x->about))
		return 0;
	if (x->nhits == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		struct hit *nh = realloc(x->hits, cap * sizeof *nh);

		if (nh == NULL)
			return x->err = SL_ENOMEM;
		x->hits = nh;
		x->cap = cap;
	}
	h = &x->hits[x->nhits++];
	if (x->timeline) {
		char day[11];

		sl_date_format(rec_day(r), day);
		h->klen = (uint8_t)snprintf((char *)h->key, sizeof h->key, "%s",
		    day);
	} else {
		project_label(r, label, sizeof label);
		h->klen = (uint8_t)sl_text_key(label, strlen(label), h->key,
		    sizeof h->key);
	}
	h->c_hlc = r->c_hlc;
	memcpy(h->id, r->id, SL_ID_LEN);
	return 0;
}

static int
across_run(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    struct across *x, char *msg, size_t mlen)
{
	int rc = SL_OK;

	for (size_t i = 0; sl_schema_kind_at(i) != NULL && rc == SL_OK; i++) {
		const struct sl_kind *k = sl_schema_kind_at(i);

		if (k->record)
			rc = project_list(d->p, txn, k->c, NULL, NULL, NULL, NULL,
			    across_cb, x);
	}
	if (rc == SL_OK)
		rc = x->err;
	if (rc != SL_OK) {
		free(x->hits);
		return cmd_fail(msg, mlen, rc, "cannot read the records: %s",
		    sl_strerror(rc));
	}
	if (x->nhits > 1)
		qsort(x->hits, x->nhits, sizeof x->hits[0], hit_cmp);
	for (size_t i = 0; i < x->nhits; i++) {
		struct sl_rec r;

		if (project_get(d->p, txn, x->hits[i].id, &r) != SL_OK)
			continue;
		cmd_send_record(d, c, id, txn, &r, false);
		sl_rec_free(&r);
	}
	free(x->hits);
	return SL_OK;
}

/* find TEXT: every record with a text field (names, titles, texts,
 * notes, roles...) that contains TEXT, case and composition aside. */
int
cmd_read_find(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", "archived", NULL };
	struct across *x = calloc(1, sizeof *x);
	char text[SL_TEXT_MAX + 1];
	int rc;

	if (x == NULL)
		return SL_ENOMEM;
	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		goto out;
	if (!cmd_arg_str(a, "id", text, sizeof text) || text[0] == '\0') {
		rc = cmd_fail(msg, mlen, SL_EUSAGE, "find needs a TEXT to look "
		    "for");
		goto out;
	}
	*x = (struct across){ .d = d, .txn = txn,
		.archived = cmd_arg_get(a, "archived") != NULL };
	x->nlen = sl_text_fold(text, strlen(text), x->needle, sizeof x->needle);
	rc = across_run(d, c, id, txn, x, msg, mlen);
out:
	free(x);
	return rc;
}

/* conflicts: every record with more than one head. */
int
cmd_read_conflicts(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { NULL };
	struct across *x = calloc(1, sizeof *x);
	int rc;

	if (x == NULL)
		return SL_ENOMEM;
	if ((rc = cmd_args_only(a, allowed, msg, mlen)) == SL_OK) {
		*x = (struct across){ .d = d, .txn = txn, .conflicts = true,
			.archived = true };
		rc = across_run(d, c, id, txn, x, msg, mlen);
	}
	free(x);
	return rc;
}

/* timeline ORG: the organisation and every record that refers to it,
 * by date. */
int
cmd_read_timeline(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", "archived", NULL };
	struct across *x = calloc(1, sizeof *x);
	char text[SL_TEXT_MAX + 1];
	int rc;

	if (x == NULL)
		return SL_ENOMEM;
	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		goto out;
	if (!cmd_arg_str(a, "id", text, sizeof text)) {
		rc = cmd_fail(msg, mlen, SL_EUSAGE, "timeline needs an "
		    "organisation (a name or an id)");
		goto out;
	}
	*x = (struct across){ .d = d, .txn = txn, .timeline = true,
		.archived = cmd_arg_get(a, "archived") != NULL };
	if ((rc = cmd_resolve(d, txn, NULL, text, "o", x->about, msg, mlen)) ==
	    SL_OK)
		rc = across_run(d, c, id, txn, x, msg, mlen);
out:
	free(x);
	return rc;
}

/* person ID: everything this node holds about one person, for an access
 * request (GDPR art. 15): the contact, its whole history, and every
 * record that names it or holds its name.  One object. */
struct person_hist {
	struct cmd_ctx *d;
	MDB_txn *txn;
	struct sl_buf *g;
	uint32_t n;
};

static int
person_hist_cb(void *ctx, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN], const struct sl_evmeta *m)
{
	struct person_hist *h = ctx;
	msgpack_packer pk;

	(void)hash;
	msgpack_packer_init(&pk, h->g, sl_buf_write);
	msgpack_pack_map(&pk, 12);
	pack_event_common(h->d, h->txn, &pk, ev, m);
	h->n++;
	return 0;
}

int
cmd_read_person(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", NULL };
	struct across *x = calloc(1, sizeof *x);
	char text[SL_TEXT_MAX + 1], name[SL_TEXT_MAX + 1] = "";
	struct sl_buf g = { 0 }, hist = { 0 };
	struct person_hist ph = { d, txn, NULL, 0 };
	msgpack_packer pk;
	struct sl_rec r;
	int rc;

	if (x == NULL)
		return SL_ENOMEM;
	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		goto out;
	if (!cmd_arg_str(a, "id", text, sizeof text) || text[0] == '\0') {
		rc = cmd_fail(msg, mlen, SL_EUSAGE, "person needs a contact's "
		    "name or id");
		goto out;
	}
	*x = (struct across){ .d = d, .txn = txn, .person = true,
		.archived = true };
	if ((rc = cmd_resolve(d, txn, NULL, text, "c", x->about, msg, mlen)) !=
	    SL_OK) {
		/* Not a contact: the name may still be in other records. */
		size_t ml = strlen(msg);

		if (rc == SL_ENOENT && ml < mlen)
			snprintf(msg + ml, mlen - ml, " (person gathers a "
			    "contact's data; samlog find TEXT searches every "
			    "record)");
		goto out;
	}
	if ((rc = project_get(d->p, txn, x->about, &r)) != SL_OK) {
		rc = cmd_fail(msg, mlen, rc, "no contact %s", text);
		goto out;
	}
	if (project_str(&r, "name", name, sizeof name) && name[0] != '\0')
		x->nlen = sl_text_fold(name, strlen(name), x->needle,
		    sizeof x->needle);
	/* The records that name the contact or hold its name. */
	for (size_t i = 0; sl_schema_kind_at(i) != NULL && rc == SL_OK; i++) {
		const struct sl_kind *k = sl_schema_kind_at(i);

		if (k->record)
			rc = project_list(d->p, txn, k->c, NULL, NULL, NULL, NULL,
			    across_cb, x);
	}
	if (rc == SL_OK)
		rc = x->err;
	ph.g = &hist;
	if (rc == SL_OK)
		rc = project_history(d->p, txn, x->about, UINT64_MAX,
		    person_hist_cb, &ph);
	if (rc != SL_OK) {
		sl_rec_free(&r);
		free(x->hits);
		free(hist.p);
		rc = cmd_fail(msg, mlen, rc, "cannot read the records: %s",
		    sl_strerror(rc));
		goto out;
	}
	if (x->nhits > 1)
		qsort(x->hits, x->nhits, sizeof x->hits[0], hit_cmp);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 7);
	sl_pack_cstr(&pk, "about");
	sl_pack_cstr(&pk, name[0] ? name : "(name erased)");
	sl_pack_cstr(&pk, "held_by");
	sl_pack_cstr(&pk, d->org);
	sl_pack_cstr(&pk, "node_id");
	sl_pack_b32(&pk, d->node, SL_KEY_LEN);
	sl_pack_cstr(&pk, "made");
	sl_pack_time(&pk, sl_now_ms() << 16);
	sl_pack_cstr(&pk, "contact");
	pack_record(d, txn, &r, &g, false);
	sl_rec_free(&r);
	sl_pack_cstr(&pk, "history");
	msgpack_pack_array(&pk, ph.n);
	if (hist.len > 0)
		sl_buf_write(&g, (const char *)hist.p, hist.len);
	free(hist.p);
	sl_pack_cstr(&pk, "related");
	uint32_t nrel = 0;

	for (size_t i = 0; i < x->nhits; i++) {
		if (project_get(d->p, txn, x->hits[i].id, &r) != SL_OK)
			continue;
		nrel++;
		sl_rec_free(&r);
	}
	msgpack_pack_array(&pk, nrel);
	for (size_t i = 0; i < x->nhits; i++) {
		if (project_get(d->p, txn, x->hits[i].id, &r) != SL_OK)
			continue;
		pack_record(d, txn, &r, &g, false);
		sl_rec_free(&r);
	}
	free(x->hits);
	if (g.failed) {
		rc = cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
	} else {
		ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
		rc = SL_OK;
	}
	free(g.p);
out:
	free(x);
	return rc;
}
