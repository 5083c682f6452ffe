/*
 * cmd_erase.c - erasure (PROTOCOL.md 5.2): the erase command, which
 * writes an organisation's signed erasure event, and the tick that
 * applies the erasures this node holds by its policy.
 *
 * An erasure names events of one record and the personal fields to take
 * out of them.  Each node applies it by its own policy (samlog.conf:
 * erasure = apply, at once; with-decision, only once the disposal
 * decision it names is adopted), and only to events it may touch: those
 * its author's organisation wrote, or any event of a record that
 * organisation created.  Applying drops the fields' openings from the
 * stored events (the payload, its hash, the chain and every signature
 * stay), shows the fields as erased in the record, strips the record's
 * refused and fork evidence to headers, and then has the daemon start
 * again on a compacted copy of the store, so that no free page keeps
 * the bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_int.h"

/* ---- the erase command ---------------------------------------------------- */

/* Events one erase command takes out of, in erasures of SL_ERASE_MAX
 * targets each, written in one commit. */
#define ERASE_GATHER_MAX (16 * SL_ERASE_MAX)

struct gather {
	struct cmd_ctx *d;
	const struct sl_members *ms;
	const struct sl_kind *kind;
	const char *const *fields;   /* NULL: every personal field */
	uint32_t nfields;
	uint8_t (*h)[SL_HASH_LEN];
	uint32_t n, cap;
	uint32_t legacy;             /* events with the fields uncommitted */
	uint32_t others;             /* events it may not erase */
	bool too_many;
};

static bool
wanted(const struct gather *g, const char *k, size_t kl)
{
	uint32_t idx;
	const struct sl_field *f = sl_schema_field(g->kind, k, kl, &idx);

	if (f == NULL || !(f->flags & SL_FF_PERSONAL))
		return false;
	if (g->fields == NULL)
		return true;
	for (uint32_t i = 0; i < g->nfields; i++)
		if (strlen(g->fields[i]) == kl && memcmp(g->fields[i], k, kl) == 0)
			return true;
	return false;
}

/* May the organisation org erase fields of ev, an event of a record
 * created by owner?  Its own events, or any in a record it created. */
static bool
may_erase(const struct sl_members *ms, const uint8_t org[SL_KEY_LEN],
    const uint8_t *origin, const uint8_t owner[SL_KEY_LEN])
{
	const uint8_t *eo = ms != NULL ? sl_members_org_of(ms, origin) : origin;

	return memcmp(eo, org, SL_KEY_LEN) == 0 ||
	    memcmp(owner, org, SL_KEY_LEN) == 0;
}

static int
gather_cb(void *ctx, const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN],
    const struct sl_evmeta *m)
{
	struct gather *g = ctx;
	struct sl_mp mp;
	uint32_t n;
	bool open = false, plain = false;

	if (ev->payload == NULL)
		return SL_OK;
	sl_mp_init(&mp, ev->payload, ev->payload_len);
	if (sl_mp_read_map(&mp, &n, 256) != SL_OK)
		return SL_OK;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		const uint8_t *v, *ov;
		size_t vl, ovl;

		if (sl_mp_read_str(&mp, &k, &kl, 0, SL_PAYLOAD_MAX) != SL_OK ||
		    sl_mp_skip(&mp, &v, &vl) != SL_OK)
			break;
		if (!wanted(g, k, kl) || (vl == 1 && v[0] == 0xc0))
			continue;
		if (!sl_is_commitment(v, vl))
			plain = true;
		else if (sl_event_opening(ev, k, kl, &ov, &ovl) == SL_OK)
			open = true;
	}
	g->legacy += plain;
	if (!open)
		return SL_OK;
	if (!may_erase(g->ms, g->d->orgkey, ev->origin, m->owner)) {
		g->others++;
		return SL_OK;
	}
	if (g->n == ERASE_GATHER_MAX) {
		g->too_many = true;
		return SL_OK;
	}
	if (g->n == g->cap) {
		uint32_t cap = g->cap ? g->cap * 2 : 16;
		uint8_t (*nh)[SL_HASH_LEN] = realloc(g->h, cap * sizeof *nh);

		if (nh == NULL)
			return SL_ENOMEM;
		g->h = nh;
		g->cap = cap;
	}
	memcpy(g->h[g->n++], hash, SL_HASH_LEN);
	return SL_OK;
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SL_HASH_LEN);
}

static void
gather_sort(struct gather *g)
{
	if (g->n > 1)
		qsort(g->h, g->n, SL_HASH_LEN, hash_cmp);
}

/* The payload (PROTOCOL.md 5.2) of an erasure of g's targets off..off+n
 * (sorted: gather_sort), into b. */
static void
erasure_pack(struct sl_buf *b, struct gather *g, uint32_t off, uint32_t n,
    const char *rid_text, const char *ground, const char *dec)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, b, sl_buf_write);
	msgpack_pack_map(&pk, 2 + (dec[0] != '\0') + (g->fields != NULL) +
	    (ground[0] != '\0'));
	if (dec[0] != '\0') {
		sl_pack_cstr(&pk, "decision");
		sl_pack_cstr(&pk, dec);
	}
	if (g->fields != NULL) {
		sl_pack_cstr(&pk, "fields");
		msgpack_pack_array(&pk, g->nfields);
		for (uint32_t i = 0; i < g->nfields; i++)
			sl_pack_cstr(&pk, g->fields[i]);
	}
	if (ground[0] != '\0') {
		sl_pack_cstr(&pk, "ground");
		sl_pack_cstr(&pk, ground);
	}
	sl_pack_cstr(&pk, "record");
	sl_pack_cstr(&pk, rid_text);
	sl_pack_cstr(&pk, "targets");
	msgpack_pack_array(&pk, n);
	for (uint32_t i = off; i < off + n; i++)
		sl_pack_bin(&pk, g->h[i], SL_HASH_LEN);
}

/* The kind's personal fields, for a message: "name, email, ...". */
static void
personal_list(const struct sl_kind *k, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < k->nfields && o < len; i++)
		if (k->fields[i].flags & SL_FF_PERSONAL)
			o += (size_t)snprintf(out + o, len - o, "%s%s",
			    o ? ", " : "", k->fields[i].flag);
}

int
cmd_erase(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", "field", "ground",
		"decision", NULL };
	char text[SL_TEXT_MAX + 1], ground[SL_TEXT_MAX + 1] = "";
	char dec[SL_ID_TEXT + 1] = "", rid_text[SL_ID_TEXT + 1], list[200];
	const char *names[SL_OPENS_MAX];
	const struct arg *fa = cmd_arg_get(a, "field");
	struct gather g = { .d = d };
	uint8_t rid[SL_ID_LEN];
	struct sl_rec r;
	MDB_txn *txn;
	struct sl_buf *parts = NULL;
	struct sl_event_draft *drafts = NULL;
	uint32_t nparts = 0;
	int rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", text, sizeof text) || text[0] == '\0')
		return cmd_fail(msg, mlen, SL_EUSAGE, "erase needs a record ID");
	if (cmd_arg_get(a, "ground") == NULL && cmd_arg_get(a, "decision") ==
	    NULL)
		return cmd_fail(msg, mlen, SL_EUSAGE, "erase needs --ground TEXT "
		    "or --decision DECISION_ID (a disposal decision)");
	if (store_read_begin(d->s, &txn) != SL_OK)
		return cmd_fail(msg, mlen, SL_ESTORE, "cannot read the store");
	if ((rc = cmd_resolve(d, txn, NULL, text, NULL, rid, msg, mlen)) !=
	    SL_OK)
		goto out;
	if ((rc = project_get(d->p, txn, rid, &r)) != SL_OK) {
		rc = cmd_fail(msg, mlen, rc, "no record with id %s", text);
		goto out;
	}
	g.kind = r.kind;
	sl_rec_free(&r);
	personal_list(g.kind, list, sizeof list);
	if (fa != NULL) {
		uint32_t n = fa->type == ARG_ARR ? fa->n : 1;

		if (n > SL_OPENS_MAX) {
			rc = cmd_fail(msg, mlen, SL_EVALUE, "too many --field");
			goto out;
		}
		for (uint32_t i = 0; i < n; i++) {
			const char *s = fa->type == ARG_ARR ? fa->e[i] : fa->s;
			size_t sl = fa->type == ARG_ARR ? fa->elen[i] : fa->slen;
			const struct sl_field *f = NULL;

			/* By its flag (the CLI's name) or its key. */
			for (uint32_t j = 0; j < g.kind->nfields && f == NULL;
			    j++)
				if ((strlen(g.kind->fields[j].flag) == sl &&
				    memcmp(g.kind->fields[j].flag, s, sl) == 0) ||
				    (strlen(g.kind->fields[j].name) == sl &&
				    memcmp(g.kind->fields[j].name, s, sl) == 0))
					f = &g.kind->fields[j];
			if (f == NULL || !(f->flags & SL_FF_PERSONAL)) {
				rc = cmd_fail(msg, mlen, SL_EVALUE, "--field %.*s "
				    "is not personal data of a %s (its personal "
				    "fields: %s)", (int)sl, s, g.kind->word, list);
				goto out;
			}
			names[i] = f->name;
		}
		/* Ascending and distinct, as the payload wants. */
		for (uint32_t i = 1; i < n; i++)
			for (uint32_t j = i; j > 0 && strcmp(names[j - 1],
			    names[j]) > 0; j--) {
				const char *t = names[j];

				names[j] = names[j - 1];
				names[j - 1] = t;
			}
		g.nfields = 0;
		for (uint32_t i = 0; i < n; i++)
			if (g.nfields == 0 || strcmp(names[g.nfields - 1],
			    names[i]) != 0)
				names[g.nfields++] = names[i];
		g.fields = names;
	}
	if (cmd_arg_str(a, "ground", ground, sizeof ground)) {
		const struct sl_field *gf = sl_schema_field(
		    sl_schema_kind("erasure"), "ground", 6, NULL);

		if ((rc = cmd_check_field(gf, ground, strlen(ground), msg,
		    mlen)) != SL_OK)
			goto out;
	}
	if (cmd_arg_str(a, "decision", text, sizeof text) &&
	    (rc = cmd_resolve_text(d, txn, "decision", text, "d", dec, msg,
	    mlen)) != SL_OK)
		goto out;
	g.ms = project_members(d->p, txn);
	if ((rc = project_history(d->p, txn, rid, UINT64_MAX, gather_cb,
	    &g)) != SL_OK) {
		rc = cmd_fail(msg, mlen, rc, "cannot read the record's history");
		goto out;
	}
	if (g.too_many) {
		rc = cmd_fail(msg, mlen, SL_EVALUE, "the record has more than %d "
		    "events to erase: erase it field by field (--field)",
		    ERASE_GATHER_MAX);
		goto out;
	}
	if (g.n == 0) {
		rc = cmd_fail(msg, mlen, SL_ENOENT, "nothing to erase: %s",
		    g.others ? "another organisation wrote the events that hold "
		    "it, in a record this organisation did not create (ask the "
		    "one that created the record)" : g.legacy ? "the events "
		    "that hold it were written before field-level erasure "
		    "(this version cannot erase them)" : "no event of the "
		    "record holds it (erased already?)");
		goto out;
	}
	sl_b32_encode(rid_text, rid, SL_ID_LEN);
	mdb_txn_abort(txn);
	txn = NULL;
	/* More events than one erasure names: several, in one commit. */
	gather_sort(&g);
	nparts = (g.n + SL_ERASE_MAX - 1) / SL_ERASE_MAX;
	if ((parts = calloc(nparts, sizeof *parts)) == NULL ||
	    (drafts = calloc(nparts, sizeof *drafts)) == NULL) {
		rc = cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < nparts && rc == SL_OK; i++) {
		uint32_t off = i * SL_ERASE_MAX;
		uint32_t n = g.n - off < SL_ERASE_MAX ? g.n - off : SL_ERASE_MAX;
		char why[200];

		erasure_pack(&parts[i], &g, off, n, rid_text, ground, dec);
		drafts[i] = (struct sl_event_draft){ .author = ctl_conn_user(c),
			.type = SL_ERASE_TYPE, .payload = parts[i].p,
			.payload_len = (uint32_t)parts[i].len };
		if (parts[i].failed)
			rc = cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
		else if (sl_schema_check_event(SL_ERASE_TYPE,
		    sizeof SL_ERASE_TYPE - 1, NULL, 0, parts[i].p, parts[i].len,
		    UINT64_MAX, why, sizeof why) != SL_OK)
			rc = cmd_fail(msg, mlen, SL_ESCHEMA, "%s", why);
	}
	if (rc == SL_OK)
		rc = store_append(d->s, drafts, nparts, NULL, msg, mlen);
	if (rc == SL_OK) {
		struct sl_buf o = { 0 };
		msgpack_packer op;

		if (d->sync != NULL)
			sync_log_grew(d->sync);
		log_info("erasure of %u event(s) of record %s written", g.n,
		    rid_text);
		msgpack_packer_init(&op, &o, sl_buf_write);
		char note[200] = "";

		if (g.others > 0)
			snprintf(note, sizeof note, "%u event(s) of this record "
			    "that another organisation wrote keep their values: "
			    "ask it to erase them", g.others);
		msgpack_pack_map(&op, 4 + (note[0] != '\0'));
		sl_pack_cstr(&op, "record");
		sl_pack_cstr(&op, rid_text);
		sl_pack_cstr(&op, "events");
		msgpack_pack_uint32(&op, g.n);
		sl_pack_cstr(&op, "left_to_others");
		msgpack_pack_uint32(&op, g.others);
		sl_pack_cstr(&op, "here");
		sl_pack_cstr(&op, d->erasure_decision ? (dec[0] == '\0' ?
		    "not applied: this node erases only under a disposal "
		    "decision (erasure = with-decision)" : "applied once the "
		    "disposal decision is adopted (erasure = with-decision)") :
		    "applied now; the daemon then starts again on a compacted "
		    "store, without the values (within a minute, or up to an "
		    "hour while erasures keep coming)");
		if (note[0] != '\0') {
			sl_pack_cstr(&op, "note");
			sl_pack_cstr(&op, note);
		}
		if (!o.failed)
			ctl_send(c, SL_MSG_RECORD, id, o.p, o.len);
		free(o.p);
		cmd_erase_tick(d);
	}
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	for (uint32_t i = 0; parts != NULL && i < nparts; i++)
		free(parts[i].p);
	free(parts);
	free(drafts);
	free(g.h);
	return rc;
}

/* ---- applying ------------------------------------------------------------- */

/* Where one erasure stands on this node. */
struct erasure_state {
	bool done;              /* applied (store_txn_erasure_applied) */
	bool wait_decision;     /* the policy waits for a decision */
	uint32_t missing;       /* events it names this node lacks */
	uint32_t refused;       /* events it may not touch */
	uint32_t ready;         /* events to erase now */
	char why[200];          /* what it waits for, if anything */
};

/* The erasure's event, decoded from a copy (the transaction may write
 * over the page it lies in): buf (SL_EVENT_MAX bytes) holds it. */
static void
erasure_judge(struct cmd_ctx *d, MDB_txn *txn, const uint8_t hash[SL_HASH_LEN],
    const struct sl_event *eev, const struct sl_erasure *e,
    struct erasure_state *st)
{
	const struct sl_members *ms = project_members(d->p, txn);
	const uint8_t *eorg = ms != NULL ? sl_members_org_of(ms, eev->origin) :
	    eev->origin;

	memset(st, 0, sizeof *st);
	if (store_txn_erasure_applied(d->s, txn, hash) != 0) {
		st->done = true;
		return;
	}
	/* An erasure counts only as its event does: not from a revoked
	 * device after its cut-off, nor from a retired member's. */
	if (ms != NULL && !sl_members_counts(ms, eev->origin, eev->seq)) {
		st->refused = e->ntargets;
		snprintf(st->why, sizeof st->why, "its author's key does not "
		    "count (a revoked device, or a retired member)");
		return;
	}
	if (d->erasure_decision) {
		if (!e->has_decision) {
			st->wait_decision = true;
			snprintf(st->why, sizeof st->why, "it names no disposal "
			    "decision, and this node applies erasures only under "
			    "one (erasure = with-decision)");
		} else if (!project_decision_in_force(d->p, txn, e->decision)) {
			char t[SL_ID_TEXT + 1];

			sl_b32_encode(t, e->decision, SL_ID_LEN);
			st->wait_decision = true;
			snprintf(st->why, sizeof st->why, "waiting for decision "
			    "%.8s to be adopted (erasure = with-decision)", t);
		}
	}
	for (uint32_t i = 0; i < e->ntargets; i++) {
		struct sl_evmeta m;

		/* Not held, or held but not settled (waiting for a parent):
		 * its record and owner are not known yet. */
		if (project_meta(d->p, txn, sl_erasure_target(e, i), &m) !=
		    SL_OK || m.status == SL_EV_PENDING) {
			st->missing++;
			continue;
		}
		if (memcmp(m.id, e->record, SL_ID_LEN) != 0 ||
		    !may_erase(ms, eorg, m.origin, m.owner))
			st->refused++;
		else
			st->ready++;
	}
	if (!st->wait_decision && st->missing > 0)
		snprintf(st->why, sizeof st->why, "waiting for %u of the events "
		    "it names", st->missing);
	else if (!st->wait_decision && st->ready == 0 && st->refused > 0)
		snprintf(st->why, sizeof st->why, "its organisation may not "
		    "erase the events it names: another organisation wrote "
		    "them, in a record it did not create");
}

struct apply_ctx {
	const struct sl_erasure *e;
	const struct sl_kind *kind;
};

static bool
drop_cb(void *ctx, const char *k, size_t kl)
{
	const struct apply_ctx *a = ctx;
	uint32_t idx;
	const struct sl_field *f = sl_schema_field(a->kind, k, kl, &idx);

	return f != NULL && (f->flags & SL_FF_PERSONAL) &&
	    sl_erasure_names(a->e, k, kl);
}

/* Applies what may be applied of one erasure in txn: *fields how many
 * openings were dropped; marks it done unless it waits for events. */
static int
erasure_apply(struct cmd_ctx *d, MDB_txn *txn, const uint8_t hash[SL_HASH_LEN],
    const struct sl_event *eev, const struct sl_erasure *e,
    const struct erasure_state *st, uint32_t *fields)
{
	const struct sl_members *ms = project_members(d->p, txn);
	const uint8_t *eorg = ms != NULL ? sl_members_org_of(ms, eev->origin) :
	    eev->origin;
	uint64_t stripped = 0;
	int rc;

	*fields = 0;
	for (uint32_t i = 0; i < e->ntargets; i++) {
		const uint8_t *th = sl_erasure_target(e, i);
		struct sl_evmeta m;
		struct sl_event ev;
		const uint8_t *rec;
		size_t len;
		uint32_t n = 0;
		const struct sl_evtype *et;
		uint8_t id[SL_ID_LEN];

		if (project_meta(d->p, txn, th, &m) != SL_OK ||
		    m.status == SL_EV_PENDING ||
		    memcmp(m.id, e->record, SL_ID_LEN) != 0 ||
		    !may_erase(ms, eorg, m.origin, m.owner))
			continue;
		if (store_txn_event(d->s, txn, m.origin, m.seq, &rec, &len) !=
		    SL_OK || sl_event_decode(&ev, rec, len) != SL_OK ||
		    !sl_fold_target(&ev, th, id, &et))
			continue;
		struct apply_ctx ac = { e, et->kind };

		if ((rc = store_txn_drop_opens(d->s, txn, m.origin, m.seq,
		    drop_cb, &ac, &n)) != SL_OK)
			return rc;
		if (n == 0)
			continue;
		*fields += n;
		if (store_txn_event(d->s, txn, m.origin, m.seq, &rec, &len) !=
		    SL_OK || sl_event_decode(&ev, rec, len) != SL_OK)
			return SL_ESTORE;
		if ((rc = project_erase_fields(d->p, txn, &ev, th)) != SL_OK)
			return rc;
	}
	if ((rc = store_txn_strip_evidence(d->s, txn, e->record, &stripped)) !=
	    SL_OK)
		return rc;
	*fields += (uint32_t)stripped;
	if (*fields > 0 && ((rc = store_txn_scrub_owed(d->s, txn)) != SL_OK ||
	    (rc = store_txn_erasure_acted(d->s, txn, hash)) != SL_OK))
		return rc;
	if (st->missing > 0)
		return SL_OK;
	if ((rc = store_txn_erasure_mark(d->s, txn, hash, sl_now_ms())) !=
	    SL_OK)
		return rc;
	return project_erasure_done(d->p, txn, e->record, hash);
}

/* Erasures one tick judges at most (each up to SL_ERASE_MAX lookups):
 * a member's pile of erasures that can never apply (naming events it
 * may not erase, or none held) costs each tick no more than this. */
#define ERASE_TICK_MAX 64

struct tick_ctx {
	struct cmd_ctx *d;
	MDB_txn *txn;
	uint8_t *buf;
	uint32_t applied, fields, judged;
	bool more;              /* stopped at ERASE_TICK_MAX */
	int rc;
};

static int
tick_cb(void *ctx, const uint8_t hash[SL_HASH_LEN],
    const uint8_t origin[SL_KEY_LEN], uint64_t seq)
{
	struct tick_ctx *t = ctx;
	struct sl_event ev;
	struct sl_erasure e;
	struct erasure_state st;
	uint32_t n = 0;
	char rt[SL_ID_TEXT + 1];

	if (store_txn_erasure_applied(t->d->s, t->txn, hash) != 0 ||
	    project_erasure_read(t->d->p, t->txn, origin, seq, t->buf, &ev,
	    &e) != SL_OK)
		return SL_OK;
	if (t->judged++ == ERASE_TICK_MAX) {
		/* Enough for one tick: the next goes on from here. */
		memcpy(t->d->erase_from, e.record, SL_ID_LEN);
		memcpy(t->d->erase_from + SL_ID_LEN, hash, SL_HASH_LEN);
		t->more = true;
		return 1;
	}
	erasure_judge(t->d, t->txn, hash, &ev, &e, &st);
	/* Nothing it may take out (yet): it stays listed in status. */
	if (st.wait_decision || st.ready == 0)
		return SL_OK;
	if ((t->rc = erasure_apply(t->d, t->txn, hash, &ev, &e, &st, &n)) !=
	    SL_OK)
		return t->rc;
	sl_b32_encode(rt, e.record, SL_ID_LEN);
	if (n > 0 || st.missing == 0)
		log_info("erasure applied to record %s: %u field value(s) and "
		    "evidence copies taken out of %u event(s)%s", rt, n,
		    st.ready, st.refused ? "; events another organisation "
		    "wrote are left to it" : "");
	t->applied += st.missing == 0;
	t->fields += n;
	return SL_OK;
}

bool
cmd_erase_tick(struct cmd_ctx *d)
{
	struct tick_ctx t = { .d = d };
	uint8_t *buf;
	int rc;

	/* Nothing changes what an erasure asks until an event comes (the
	 * erasure, its targets, its decision's adoption) or the policy
	 * changes: a look per new event count, not per second; a look
	 * goes through ERASE_TICK_MAX erasures a tick. */
	if (!d->erase_more) {
		if (store_event_count(d->s) == d->erase_seen)
			return false;
		d->erase_seen = store_event_count(d->s);
		memset(d->erase_from, 0, sizeof d->erase_from);
	}
	if ((buf = malloc(SL_EVENT_MAX)) == NULL)
		return false;
	for (int tries = 0; tries < 4; tries++) {
		t = (struct tick_ctx){ .d = d, .buf = buf };
		if (store_write_begin(d->s, &t.txn) != SL_OK) {
			free(buf);
			return false;
		}
		rc = project_erasures_open(d->p, t.txn, d->erase_from, tick_cb,
		    &t);
		if (rc == 1)
			rc = SL_OK;
		d->erase_more = t.more;
		if (rc == SL_OK && t.rc == SL_OK && (t.applied || t.fields)) {
			rc = store_commit(d->s, t.txn);
			if (rc == MDB_MAP_FULL && store_grow_map(d->s) == SL_OK)
				continue;
			if (rc != 0) {
				log_warn("cannot apply the erasures: %s",
				    mdb_strerror(rc));
				free(buf);
				return false;
			}
			break;
		}
		mdb_txn_abort(t.txn);
		if ((rc == SL_EFULL || t.rc == SL_EFULL) &&
		    store_grow_map(d->s) == SL_OK)
			continue;
		if (rc != SL_OK || t.rc != SL_OK) {
			log_warn("cannot apply the erasures: %s",
			    sl_strerror(rc != SL_OK ? rc : t.rc));
			d->erase_seen = 0; /* again at the next tick */
		}
		free(buf);
		return false;
	}
	free(buf);
	if (t.fields > 0) {
		/* The bytes are out of the live tree; a compacted copy
		 * takes them off the free pages too. */
		d->scrub = true;
		return true;
	}
	return false;
}

/* ---- status and display ------------------------------------------------ */

/* Erasures status lists at most (cmd_read.c says "more than 100"). */
#define ERASE_STATUS_MAX 100

struct status_ctx {
	struct cmd_ctx *d;
	MDB_txn *txn;
	uint8_t *buf;
	msgpack_packer *pk;
	uint32_t n;
};

static int
status_cb(void *ctx, const uint8_t hash[SL_HASH_LEN],
    const uint8_t origin[SL_KEY_LEN], uint64_t seq)
{
	struct status_ctx *s = ctx;
	struct sl_event ev;
	struct sl_erasure e;
	struct erasure_state st;
	char org[SL_ORG_MAX + 1], rt[SL_ID_TEXT + 1];

	if (project_erasure_read(s->d->p, s->txn, origin, seq, s->buf, &ev,
	    &e) != SL_OK)
		return SL_OK;
	erasure_judge(s->d, s->txn, hash, &ev, &e, &st);
	if (st.done || st.why[0] == '\0')
		return SL_OK;
	if (s->n++ == ERASE_STATUS_MAX)
		return 1;  /* status lists the first ERASE_STATUS_MAX */
	if (s->pk == NULL)
		return SL_OK;
	project_org_at(s->d->p, s->txn, ev.origin, ev.hlc, org, sizeof org);
	sl_b32_encode(rt, e.record, SL_ID_LEN);
	msgpack_pack_map(s->pk, 4);
	sl_pack_cstr(s->pk, "record");
	sl_pack_cstr(s->pk, rt);
	sl_pack_cstr(s->pk, "by");
	sl_pack_cstr(s->pk, org[0] ? org : "?");
	sl_pack_cstr(s->pk, "time");
	sl_pack_time(s->pk, ev.hlc);
	sl_pack_cstr(s->pk, "why");
	sl_pack_cstr(s->pk, st.why);
	return SL_OK;
}

uint32_t
cmd_erase_status(struct cmd_ctx *d, MDB_txn *txn, msgpack_packer *pk)
{
	struct status_ctx s = { d, txn, malloc(SL_EVENT_MAX), NULL, 0 };

	if (s.buf == NULL) {
		if (pk != NULL)
			msgpack_pack_array(pk, 0);
		return 0;
	}
	(void)project_erasures_open(d->p, txn, NULL, status_cb, &s);
	if (pk != NULL) {
		uint32_t n = s.n < ERASE_STATUS_MAX ? s.n : ERASE_STATUS_MAX;

		msgpack_pack_array(pk, n);
		s.pk = pk;
		s.n = 0;
		(void)project_erasures_open(d->p, txn, NULL, status_cb, &s);
	}
	free(s.buf);
	return s.n;
}

struct note_ctx {
	struct cmd_ctx *d;
	MDB_txn *txn;
	uint8_t *buf;
	const uint8_t *record;
	const uint8_t *event;     /* NULL: any event of the record */
	const char *field;        /* NULL: any field */
	char *out;
	size_t len;
	uint64_t hlc;             /* the erasure the note is of so far */
};

static int
note_cb(void *ctx, const uint8_t hash[SL_HASH_LEN],
    const uint8_t origin[SL_KEY_LEN], uint64_t seq)
{
	struct note_ctx *n = ctx;
	struct sl_event ev;
	struct sl_erasure e;
	char org[SL_ORG_MAX + 1], day[11];
	bool hit = false;

	(void)hash;
	if (project_erasure_read(n->d->p, n->txn, origin, seq, n->buf, &ev,
	    &e) != SL_OK ||
	    memcmp(e.record, n->record, SL_ID_LEN) != 0 ||
	    (n->field != NULL && !sl_erasure_names(&e, n->field,
	    strlen(n->field))))
		return SL_OK;
	for (uint32_t i = 0; i < e.ntargets && !hit; i++)
		hit = n->event == NULL || memcmp(sl_erasure_target(&e, i),
		    n->event, SL_HASH_LEN) == 0;
	if (!hit)
		return SL_OK;
	/* The first erasure that took it out says so. */
	if (n->hlc != 0 && n->hlc <= ev.hlc)
		return SL_OK;
	n->hlc = ev.hlc;
	project_org_at(n->d->p, n->txn, ev.origin, ev.hlc, org, sizeof org);
	sl_date_format(sl_hlc_day(ev.hlc), day);
	if (e.ground != NULL)
		snprintf(n->out, n->len, "erased on %s by %s, ground: %.*s", day,
		    org[0] ? org : "?", (int)e.ground_len, e.ground);
	else {
		char t[SL_ID_TEXT + 1];

		sl_b32_encode(t, e.decision, SL_ID_LEN);
		snprintf(n->out, n->len, "erased on %s by %s, under disposal "
		    "decision %.8s", day, org[0] ? org : "?", t);
	}
	return SL_OK;
}

bool
cmd_erase_note(struct cmd_ctx *d, MDB_txn *txn, const uint8_t id[SL_ID_LEN],
    const uint8_t *event, const char *field, char *out, size_t len)
{
	struct note_ctx n = { d, txn, malloc(SL_EVENT_MAX), id, event, field,
		out, len, 0 };

	out[0] = '\0';
	if (n.buf != NULL)
		(void)project_erasures(d->p, txn, id, note_cb, &n);
	free(n.buf);
	if (out[0] == '\0')
		snprintf(out, len, "not shown: this node holds the event without "
		    "this value, and no erasure explains it (a relay dropped it; "
		    "the node asks its peers for the whole copy)");
	return true;
}

/* ---- retention (samlog.conf: retain = ...) ------------------------------ */

void
cmd_set_retention(struct cmd_ctx *d, const struct config_retain *r, size_t n)
{
	if (n > CONFIG_RETAIN_MAX)
		n = CONFIG_RETAIN_MAX;
	memcpy(d->retain, r, n * sizeof *r);
	d->nretain = n;
	d->retain_last = 0;
	for (size_t i = 0; i < n; i++) {
		d->retain_runs[i] = 0;
		d->retain_erased[i] = 0;
	}
}

/* YYYYMMDD plus months and days. */
static uint32_t
ymd_add(uint32_t ymd, unsigned months, unsigned days)
{
	struct tm tm = { 0 };
	time_t t;

	tm.tm_year = (int)(ymd / 10000) - 1900;
	tm.tm_mon = (int)(ymd / 100 % 100) - 1 + (int)months;
	tm.tm_mday = (int)(ymd % 100) + (int)days;
	tm.tm_hour = 12;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	return (uint32_t)(tm.tm_year + 1900) * 10000 +
	    (uint32_t)(tm.tm_mon + 1) * 100 + (uint32_t)tm.tm_mday;
}

#define RETAIN_BATCH 256     /* erasures one rule writes in one run */

/* Does this node hold an erasure of its own, of field, not applied
 * yet (a with-decision node's, waiting)?  Then a rule does not write
 * another every day. */
struct pending_ctx {
	struct cmd_ctx *d;
	MDB_txn *txn;
	const char *field;
	uint8_t *buf;
	bool found;
};

static int
pending_cb(void *ctx, const uint8_t hash[SL_HASH_LEN],
    const uint8_t origin[SL_KEY_LEN], uint64_t seq)
{
	struct pending_ctx *pc = ctx;
	struct sl_event ev;
	struct sl_erasure e;

	if (memcmp(origin, pc->d->node, SL_KEY_LEN) != 0 ||
	    store_txn_erasure_applied(pc->d->s, pc->txn, hash) != 0 ||
	    project_erasure_read(pc->d->p, pc->txn, origin, seq, pc->buf, &ev,
	    &e) != SL_OK || !sl_erasure_names(&e, pc->field, strlen(pc->field)))
		return SL_OK;
	pc->found = true;
	return 1;
}

struct due_ctx {
	struct cmd_ctx *d;
	MDB_txn *txn;
	const struct config_retain *rule;
	const struct sl_kind *kind;
	uint32_t fi;
	uint32_t today;
	const char *ground;
	uint8_t *buf;                 /* SL_EVENT_MAX scratch */
	struct sl_event_draft *dr;    /* RETAIN_BATCH each */
	struct sl_buf *pl;
	uint32_t n;
};

/* A record of the rule's kind: if its field is due, and this
 * organisation may erase some of it, and no erasure of its own waits for
 * it already, the erasure's draft.  Records that give nothing take no
 * place in the batch, so they cannot keep the rest waiting. */
static int
due_cb(void *ctx, const struct sl_rec *r)
{
	struct due_ctx *c = ctx;
	const char *fields[1] = { c->rule->field };
	struct gather g = { .d = c->d, .kind = c->kind, .fields = fields,
		.nfields = 1, .ms = project_members(c->d->p, c->txn) };
	struct pending_ctx pc = { c->d, c->txn, c->rule->field, c->buf,
		false };
	char date[16], rid[SL_ID_TEXT + 1];
	uint32_t anchor;

	if (!sl_rec_has(r, c->fi))
		return 0;
	if (c->rule->after[0] != '\0') {
		uint32_t ai;
		const uint8_t *by, *owner;

		if (!project_str(r, c->rule->after, date, sizeof date) ||
		    !sl_date_parse(date, strlen(date), &anchor) ||
		    sl_schema_field(c->kind, c->rule->after,
		    strlen(c->rule->after), &ai) == NULL)
			return 0; /* no date yet: not due */
		/* The date counts only as this organisation's word or the
		 * record's creator's: another member's edit of it must not
		 * set this node's rule off. */
		by = g.ms != NULL ? sl_members_org_of(g.ms, r->f[ai].origin) :
		    r->f[ai].origin;
		owner = g.ms != NULL ? sl_members_org_of(g.ms, r->c_origin) :
		    r->c_origin;
		if (memcmp(by, c->d->orgkey, SL_KEY_LEN) != 0 &&
		    memcmp(by, owner, SL_KEY_LEN) != 0)
			return 0;
	} else {
		anchor = sl_hlc_day(r->u_hlc);
	}
	if (ymd_add(anchor, c->rule->months, c->rule->days) > c->today)
		return 0;
	(void)project_erasures(c->d->p, c->txn, r->id, pending_cb, &pc);
	if (pc.found)
		return 0;
	if (project_history(c->d->p, c->txn, r->id, UINT64_MAX, gather_cb,
	    &g) != SL_OK || g.n == 0) {
		free(g.h);
		return 0;
	}
	sl_b32_encode(rid, r->id, SL_ID_LEN);
	gather_sort(&g);
	/* The first SL_ERASE_MAX today; the rest at the next run. */
	erasure_pack(&c->pl[c->n], &g, 0, g.n < SL_ERASE_MAX ? g.n :
	    SL_ERASE_MAX, rid, c->ground, c->rule->decision);
	free(g.h);
	if (c->pl[c->n].failed) {
		free(c->pl[c->n].p);
		c->pl[c->n] = (struct sl_buf){ 0 };
		return 0;
	}
	c->dr[c->n] = (struct sl_event_draft){ .author = "samlogd",
		.type = SL_ERASE_TYPE, .payload = c->pl[c->n].p,
		.payload_len = (uint32_t)c->pl[c->n].len };
	return ++c->n == RETAIN_BATCH ? 1 : 0;
}

/* One rule: erasures for its due records, in one commit.  How many. */
static uint32_t
retain_batch(struct cmd_ctx *d, const struct config_retain *rule,
    uint32_t today, bool *full)
{
	struct due_ctx c = { .d = d, .rule = rule, .today = today };
	char ground[SL_TEXT_MAX + 1], err[256];
	uint32_t nd;

	c.kind = sl_schema_kind(rule->kind);
	if (c.kind == NULL || sl_schema_field(c.kind, rule->field,
	    strlen(rule->field), &c.fi) == NULL)
		return 0;
	snprintf(ground, sizeof ground, "retention rule: %s", rule->text);
	c.ground = ground;
	if ((c.buf = malloc(SL_EVENT_MAX)) == NULL ||
	    (c.dr = calloc(RETAIN_BATCH, sizeof *c.dr)) == NULL ||
	    (c.pl = calloc(RETAIN_BATCH, sizeof *c.pl)) == NULL ||
	    store_read_begin(d->s, &c.txn) != SL_OK) {
		free(c.buf);
		free(c.dr);
		free(c.pl);
		return 0;
	}
	(void)project_list(d->p, c.txn, c.kind->c, NULL, NULL, NULL, NULL,
	    due_cb, &c);
	mdb_txn_abort(c.txn);
	nd = c.n;
	*full = nd == RETAIN_BATCH;
	if (nd > 0) {
		if (store_append(d->s, c.dr, nd, NULL, err, sizeof err) !=
		    SL_OK) {
			log_warn("retention rule \"%s\": cannot write its "
			    "erasures: %s", rule->text, err);
			nd = 0;
		} else {
			log_info("retention rule \"%s\": erasure of %s.%s written "
			    "for %u record(s)", rule->text, rule->kind,
			    rule->field, nd);
			if (d->sync != NULL)
				sync_log_grew(d->sync);
		}
	}
	for (size_t i = 0; i < RETAIN_BATCH; i++)
		free(c.pl[i].p);
	free(c.pl);
	free(c.dr);
	free(c.buf);
	return nd;
}

/* Batch after batch (each one commit), up to RETAIN_BATCHES a run: the
 * rest, if any, the next day. */
#define RETAIN_BATCHES 16

static uint32_t
retain_rule(struct cmd_ctx *d, const struct config_retain *rule,
    uint32_t today)
{
	uint32_t n = 0;
	bool full = true;

	for (int i = 0; i < RETAIN_BATCHES && full; i++)
		n += retain_batch(d, rule, today, &full);
	return n;
}

void
cmd_retention_run(struct cmd_ctx *d)
{
	time_t now = time(NULL);
	struct tm tm;
	uint32_t today;
	bool any = false;

	gmtime_r(&now, &tm);
	today = (uint32_t)(tm.tm_year + 1900) * 10000 +
	    (uint32_t)(tm.tm_mon + 1) * 100 + (uint32_t)tm.tm_mday;
	for (size_t i = 0; i < d->nretain; i++) {
		uint32_t n = retain_rule(d, &d->retain[i], today);

		d->retain_runs[i] = sl_now_ms();
		d->retain_erased[i] += n;
		any = any || n > 0;
	}
	d->retain_last = sl_now_ms();
	if (any)
		(void)cmd_erase_tick(d);
}

void
cmd_retention_status(struct cmd_ctx *d, msgpack_packer *pk)
{
	msgpack_pack_array(pk, (uint32_t)d->nretain);
	for (size_t i = 0; i < d->nretain; i++) {
		msgpack_pack_map(pk, 3);
		sl_pack_cstr(pk, "rule");
		sl_pack_cstr(pk, d->retain[i].text);
		sl_pack_cstr(pk, "last_run");
		if (d->retain_runs[i] != 0)
			sl_pack_time(pk, d->retain_runs[i] << 16);
		else
			sl_pack_cstr(pk, "not yet");
		sl_pack_cstr(pk, "erased_since_start");
		msgpack_pack_uint64(pk, d->retain_erased[i]);
	}
}

uint64_t
cmd_retention_last(const struct cmd_ctx *d)
{
	return d->retain_last;
}
