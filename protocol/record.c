/*
 * record.c - the fold: a record's events in, the record out.
 *
 * This is the one implementation of what events mean.  samlogd runs it
 * on every event it stores (through an LMDB backend, daemon/project.c),
 * when it rebuilds, and for as-of queries; `samlog audit --check` runs it
 * over a bundle (through the in-memory backend at the end of this file);
 * the tests run both on the same events and compare.
 *
 * The rule that makes the result independent of arrival order is that an
 * event is judged only against its causal past: the parents it names.
 * Until every parent is held and judged, the event waits (PENDING) in a
 * list keyed by the missing parent; when that parent is folded, its
 * waiting children are folded after it.  So every event is evaluated
 * exactly once, after its parents, on every node and in every program,
 * and what the evaluation sees is the same everywhere.  The record's
 * fields (greatest (clock, origin) per field), its heads (set
 * difference) and its state (the greatest head's) are commutative
 * functions of the evaluated events.  Each event costs a constant number
 * of backend operations per parent: O(K log K) for K events in LMDB.
 *
 * Lifecycle clashes: two organisations that step a decision at once (one
 * adopts, one rejects) both step from "proposed", so both steps are
 * valid in their own past.  The record shows two heads (a conflict) and
 * the state of the greater one.  A later step that names both heads and
 * re-states one branch (adopt again, or reject again) resolves it.  Each
 * event keeps the states its past went through, so a step that names an
 * old event beside a newer one is judged from the newer one's state (no
 * clash to resolve), and a step that is not allowed changes nothing: it
 * cannot end a conflict, nor hide one.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "samlog_proto.h"

static const char *const status_names[] = { "pending", "applied",
	"no effect", "ignored", "waiting for the clock" };
#define WHY_CREATOR \
	"only the organisation that created the record may archive or restore it"
static const char *const why_names[] = { "", "an event of another kind",
	"names no parent", "a parent is not of this record",
	"not later than its parents", "the lifecycle does not allow it",
	"not the deciding organisation", WHY_CREATOR };

const char *
sl_fold_status_name(int status)
{
	if (status < 0 || status >= SL_EV_STATUS_COUNT)
		return "unknown";
	return status_names[status];
}

const char *
sl_fold_why(int why)
{
	if (why < 0 || why >= SL_WHY_COUNT)
		return "unknown";
	return why_names[why];
}

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void
sl_evmeta_encode(uint8_t out[SL_EVMETA_LEN], const struct sl_evmeta *m)
{
	memcpy(out, m->id, SL_ID_LEN);
	put_be(out + SL_ID_LEN, m->hlc, 8);
	memcpy(out + SL_ID_LEN + 8, m->origin, SL_KEY_LEN);
	put_be(out + SL_ID_LEN + 8 + SL_KEY_LEN, m->seq, 8);
	out[SL_ID_LEN + 16 + SL_KEY_LEN] = m->status;
	out[SL_ID_LEN + 17 + SL_KEY_LEN] = m->why;
	out[SL_ID_LEN + 18 + SL_KEY_LEN] = m->state;
	out[SL_ID_LEN + 19 + SL_KEY_LEN] = (uint8_t)m->kind;
	put_be(out + SL_ID_LEN + 20 + SL_KEY_LEN, m->seen, 2);
	put_be(out + SL_ID_LEN + 22 + SL_KEY_LEN, m->order, 4);
	memcpy(out + SL_ID_LEN + 26 + SL_KEY_LEN, m->owner, SL_KEY_LEN);
}

void
sl_evmeta_decode(struct sl_evmeta *m, const uint8_t in[SL_EVMETA_LEN])
{
	memcpy(m->id, in, SL_ID_LEN);
	m->hlc = sl_get_be(in + SL_ID_LEN, 8);
	memcpy(m->origin, in + SL_ID_LEN + 8, SL_KEY_LEN);
	m->seq = sl_get_be(in + SL_ID_LEN + 8 + SL_KEY_LEN, 8);
	m->status = in[SL_ID_LEN + 16 + SL_KEY_LEN];
	m->why = in[SL_ID_LEN + 17 + SL_KEY_LEN];
	m->state = in[SL_ID_LEN + 18 + SL_KEY_LEN];
	m->kind = (char)in[SL_ID_LEN + 19 + SL_KEY_LEN];
	m->seen = (uint16_t)sl_get_be(in + SL_ID_LEN + 20 + SL_KEY_LEN, 2);
	m->order = (uint32_t)sl_get_be(in + SL_ID_LEN + 22 + SL_KEY_LEN, 4);
	memcpy(m->owner, in + SL_ID_LEN + 26 + SL_KEY_LEN, SL_KEY_LEN);
}

/* ---- records ------------------------------------------------------------- */

void
sl_rec_free(struct sl_rec *r)
{
	for (uint32_t i = 0; i < SL_SCHEMA_MAX_FIELDS; i++)
		free(r->f[i].val);
	memset(r, 0, sizeof *r);
}

const struct sl_recfield *
sl_rec_get(const struct sl_rec *r, const char *name)
{
	uint32_t i;

	if (sl_schema_field(r->kind, name, strlen(name), &i) == NULL ||
	    !sl_rec_has(r, i))
		return NULL;
	return &r->f[i];
}

void
sl_rec_pack_field(msgpack_packer *pk, const struct sl_rec *r, uint32_t i)
{
	const struct sl_field *f = &r->kind->fields[i];
	const struct sl_recfield *rf = &r->f[i];
	struct sl_mp m;

	if (f->type == SL_F_STATE) {
		sl_pack_cstr(pk, sl_schema_state_name(r->kind, r->state));
		return;
	}
	if (sl_rec_has(r, i)) {
		sl_mp_init(&m, rf->val, rf->len);
		if (sl_mp_repack(&m, pk, 4) != SL_OK)
			msgpack_pack_nil(pk); /* the fold keeps checked values */
		return;
	}
	if (f->dflt != NULL)
		sl_pack_cstr(pk, f->dflt);
	else if (f->type == SL_F_BOOL)
		msgpack_pack_false(pk);
	else if (f->type == SL_F_REFS || f->type == SL_F_TEXTS)
		msgpack_pack_array(pk, 0);
	else
		msgpack_pack_nil(pk);
}

/* (clock, origin) order of two writes. */
static int
write_cmp(uint64_t ha, const uint8_t *oa, uint64_t hb, const uint8_t *ob)
{
	if (ha != hb)
		return ha < hb ? -1 : 1;
	return memcmp(oa, ob, SL_KEY_LEN);
}

/* (effective date, clock, origin) order: the order of field values. */
static int
value_cmp(uint32_t ea, uint64_t ha, const uint8_t *oa, uint32_t eb,
    uint64_t hb, const uint8_t *ob)
{
	if (ea != eb)
		return ea < eb ? -1 : 1;
	return write_cmp(ha, oa, hb, ob);
}

uint32_t
sl_event_effective(const struct sl_event *ev)
{
	struct sl_mp m;
	uint32_t n, ymd;

	if (ev->payload != NULL) {
		sl_mp_init(&m, ev->payload, ev->payload_len);
		if (sl_mp_read_map(&m, &n, 256) == SL_OK) {
			for (uint32_t i = 0; i < n; i++) {
				const char *k, *s;
				uint32_t kl, sl;
				const uint8_t *v;
				size_t vl;

				if (sl_mp_read_str(&m, &k, &kl, 0,
				    SL_PAYLOAD_MAX) != SL_OK)
					break;
				if (kl == 2 && memcmp(k, "on", 2) == 0) {
					if (sl_mp_read_str(&m, &s, &sl, 0, 16) ==
					    SL_OK && sl_date_parse(s, sl, &ymd))
						return ymd;
					break;
				}
				/* Keys ascend: past "on", it is not there. */
				if (kl > 0 && (k[0] > 'o' || (k[0] == 'o' &&
				    kl > 1 && k[1] > 'n')))
					break;
				if (sl_mp_skip(&m, &v, &vl) != SL_OK)
					break;
			}
		}
	}
	return sl_hlc_day(ev->hlc);
}

bool
sl_rec_has(const struct sl_rec *r, uint32_t i)
{
	const struct sl_recfield *f = &r->f[i];

	return f->val != NULL && !(f->len == 1 && f->val[0] == 0xc0) &&
	    !sl_is_commitment(f->val, f->len);
}

bool
sl_rec_erased(const struct sl_rec *r, uint32_t i)
{
	const struct sl_recfield *f = &r->f[i];

	return f->val != NULL && sl_is_commitment(f->val, f->len);
}

/* True if field f was last written by the record's creating event. */
static bool
field_from_creation(const struct sl_rec *r, const struct sl_recfield *f)
{
	return f->eff == r->c_eff && f->hlc == r->c_hlc &&
	    memcmp(f->origin, r->c_origin, SL_KEY_LEN) == 0;
}

/*
 * [kind, c_hlc, c_eff, w_eff, c_origin, c_author, u_hlc, nheads, state,
 *  w_hlc, w_origin, [[field index, value, eff, hlc, origin]...]]: a few
 * hundred bytes at most whatever the record's history, so storing it
 * costs the same at its 10th event as at its 10,000th.  What repeats the
 * creating event is left out: w_origin is nil when it is c_origin, and a
 * field its creating event last wrote is [field index, value]: 48 bytes
 * less per field, 33 for the origin, so a contact made once and never
 * changed takes well under half the bytes it did.  The long form still
 * decodes; PROJECT_VERSION 20 rebuilds older stores once, so that an
 * older samlogd finds a version it does not know and rebuilds rather than
 * misreading the short form.
 */
int
sl_rec_encode(const struct sl_rec *r, struct sl_buf *g)
{
	msgpack_packer pk;
	uint32_t nf = 0;
	char k = r->kind ? r->kind->c : 0;

	g->len = 0;
	g->failed = false;
	msgpack_packer_init(&pk, g, sl_buf_write);
	msgpack_pack_array(&pk, 12);
	sl_pack_str(&pk, &k, k ? 1 : 0);
	msgpack_pack_uint64(&pk, r->c_hlc);
	msgpack_pack_uint32(&pk, r->c_eff);
	msgpack_pack_uint32(&pk, r->w_eff);
	sl_pack_bin(&pk, r->c_origin, SL_KEY_LEN);
	sl_pack_cstr(&pk, r->c_author);
	msgpack_pack_uint64(&pk, r->u_hlc);
	msgpack_pack_uint32(&pk, r->nheads);
	msgpack_pack_uint8(&pk, r->state);
	msgpack_pack_uint64(&pk, r->w_hlc);
	if (memcmp(r->w_origin, r->c_origin, SL_KEY_LEN) == 0)
		msgpack_pack_nil(&pk);
	else
		sl_pack_bin(&pk, r->w_origin, SL_KEY_LEN);
	for (uint32_t i = 0; i < SL_SCHEMA_MAX_FIELDS; i++)
		nf += r->f[i].val != NULL;
	msgpack_pack_array(&pk, nf);
	for (uint32_t i = 0; i < SL_SCHEMA_MAX_FIELDS; i++) {
		const struct sl_recfield *f = &r->f[i];
		bool same;

		if (f->val == NULL)
			continue;
		same = field_from_creation(r, f);
		msgpack_pack_array(&pk, same ? 2 : 5);
		msgpack_pack_uint32(&pk, i);
		sl_buf_write(g, (const char *)f->val, f->len);
		if (same)
			continue;
		msgpack_pack_uint32(&pk, f->eff);
		msgpack_pack_uint64(&pk, f->hlc);
		sl_pack_bin(&pk, f->origin, SL_KEY_LEN);
	}
	return g->p == NULL ? SL_ENOMEM : SL_OK;
}

int
sl_rec_decode(struct sl_rec *r, const uint8_t id[SL_ID_LEN],
    const uint8_t *buf, size_t len)
{
	struct sl_mp m;
	uint32_t n, l;
	uint64_t u;
	const char *s;
	const uint8_t *b;
	int rc;

	memset(r, 0, sizeof *r);
	memcpy(r->id, id, SL_ID_LEN);
	sl_mp_init(&m, buf, len);
	if ((rc = sl_mp_read_array(&m, &n, 12)) != SL_OK || n != 12 ||
	    (rc = sl_mp_read_str(&m, &s, &l, 0, 1)) != SL_OK)
		goto fail;
	if (l == 1 && (r->kind = sl_schema_kind_c(s[0])) == NULL) {
		rc = SL_EVALUE;
		goto fail;
	}
	if ((rc = sl_mp_read_uint(&m, &r->c_hlc)) != SL_OK ||
	    (rc = sl_mp_read_uint(&m, &u)) != SL_OK)
		goto fail;
	r->c_eff = (uint32_t)u;
	if ((rc = sl_mp_read_uint(&m, &u)) != SL_OK)
		goto fail;
	r->w_eff = (uint32_t)u;
	if ((rc = sl_mp_read_bin(&m, &b, &l, SL_KEY_LEN, SL_KEY_LEN)) != SL_OK)
		goto fail;
	memcpy(r->c_origin, b, SL_KEY_LEN);
	if ((rc = sl_mp_read_str(&m, &s, &l, 0, SL_AUTHOR_MAX)) != SL_OK)
		goto fail;
	memcpy(r->c_author, s, l);
	if ((rc = sl_mp_read_uint(&m, &r->u_hlc)) != SL_OK ||
	    (rc = sl_mp_read_uint(&m, &u)) != SL_OK)
		goto fail;
	r->nheads = (uint32_t)u;
	if ((rc = sl_mp_read_uint(&m, &u)) != SL_OK)
		goto fail;
	r->state = (uint8_t)u;
	if ((rc = sl_mp_read_uint(&m, &r->w_hlc)) != SL_OK)
		goto fail;
	if (sl_mp_read_nil(&m))
		memcpy(r->w_origin, r->c_origin, SL_KEY_LEN);
	else if ((rc = sl_mp_read_bin(&m, &b, &l, SL_KEY_LEN, SL_KEY_LEN)) !=
	    SL_OK)
		goto fail;
	else
		memcpy(r->w_origin, b, SL_KEY_LEN);
	if ((rc = sl_mp_read_array(&m, &n, SL_SCHEMA_MAX_FIELDS)) != SL_OK)
		goto fail;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t parts;
		const uint8_t *v;
		size_t vlen;
		uint64_t idx, eff;
		struct sl_recfield *f;

		if ((rc = sl_mp_read_array(&m, &parts, 5)) != SL_OK ||
		    (parts != 5 && parts != 2) ||
		    (rc = sl_mp_read_uint(&m, &idx)) != SL_OK)
			goto fail;
		if (idx >= SL_SCHEMA_MAX_FIELDS || r->f[idx].val != NULL) {
			rc = SL_EVALUE;
			goto fail;
		}
		f = &r->f[idx];
		if ((rc = sl_mp_skip(&m, &v, &vlen)) != SL_OK)
			goto fail;
		if (parts == 2) { /* written by the creating event */
			f->eff = r->c_eff;
			f->hlc = r->c_hlc;
			memcpy(f->origin, r->c_origin, SL_KEY_LEN);
		} else if ((rc = sl_mp_read_uint(&m, &eff)) != SL_OK ||
		    (rc = sl_mp_read_uint(&m, &f->hlc)) != SL_OK ||
		    (rc = sl_mp_read_bin(&m, &b, &l, SL_KEY_LEN,
		    SL_KEY_LEN)) != SL_OK) {
			goto fail;
		} else {
			memcpy(f->origin, b, SL_KEY_LEN);
			f->eff = (uint32_t)eff;
		}
		if ((f->val = malloc(vlen ? vlen : 1)) == NULL) {
			rc = SL_ENOMEM;
			goto fail;
		}
		memcpy(f->val, v, vlen);
		f->len = (uint32_t)vlen;
	}
	if (!sl_mp_at_end(&m)) {
		rc = SL_ETRAIL;
		goto fail;
	}
	return SL_OK;
fail:
	sl_rec_free(r);
	return rc == SL_OK ? SL_EVALUE : rc;
}

/* ---- the fold --------------------------------------------------------------- */

bool
sl_fold_target(const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN],
    uint8_t id[SL_ID_LEN], const struct sl_evtype **etp)
{
	const struct sl_evtype *et = sl_schema_evtype(ev->type, ev->type_len);

	*etp = et;
	if (et == NULL || !et->kind->record)
		return false;
	if (et->role == SL_ET_CREATE) {
		if (ev->entity != NULL)
			return false;
		sl_entity_id(id, hash);
		return true;
	}
	if (ev->entity == NULL)
		return false;
	memcpy(id, ev->entity, SL_ID_LEN);
	return true;
}

/*
 * Sets the fields an applied event carries where its write is the
 * greatest so far.  Values that break the schema are skipped (a node
 * never stores one, but the checker reads bundles anyone can write), as
 * are fields the type may not carry and the state field, which the
 * lifecycle sets.
 */
static int
apply_fields(struct sl_rec *r, const struct sl_evtype *et,
    const struct sl_event *ev, uint32_t eff)
{
	struct {
		const uint8_t *v;
		size_t len;
	} win[SL_SCHEMA_MAX_FIELDS] = { { NULL, 0 } };
	struct sl_mp m;
	uint32_t n;
	char why[160];

	if (ev->payload == NULL)
		return SL_OK;
	sl_mp_init(&m, ev->payload, ev->payload_len);
	if (sl_mp_read_map(&m, &n, 256) != SL_OK)
		return SL_OK;
	/* First what this event may set, then set it where it wins. */
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl, idx;
		const uint8_t *v;
		size_t vl;
		const struct sl_field *f;

		if (sl_mp_read_str(&m, &k, &kl, 0, SL_PAYLOAD_MAX) != SL_OK ||
		    sl_mp_skip(&m, &v, &vl) != SL_OK)
			break;
		f = sl_schema_field(r->kind, k, kl, &idx);
		if (f == NULL || idx >= SL_SCHEMA_MAX_FIELDS ||
		    f->type == SL_F_STATE || !(et->fields & (1u << idx)))
			continue;
		/* A committed personal field (5.1): its opening's value,
		 * or, erased, the commitment itself, which wins as any
		 * value would and shows as erased. */
		if ((f->flags & SL_FF_PERSONAL) && sl_is_commitment(v, vl)) {
			const uint8_t *ov;
			size_t ovl;

			if (sl_event_opening(ev, k, kl, &ov, &ovl) == SL_OK) {
				v = ov;
				vl = ovl;
			} else {
				win[idx].v = v;
				win[idx].len = vl;
				continue;
			}
		}
		if (sl_schema_check_value(f, v, vl, why, sizeof why) != SL_OK)
			continue;
		win[idx].v = v;
		win[idx].len = vl;
	}
	for (uint32_t i = 0; i < SL_SCHEMA_MAX_FIELDS; i++) {
		struct sl_recfield *rf = &r->f[i];
		uint8_t *nv;

		/* Equal is the same event again: a copy with a value a
		 * relay had dropped gives it back (5.2). */
		if (win[i].v == NULL || (rf->val != NULL && value_cmp(eff,
		    ev->hlc, ev->origin, rf->eff, rf->hlc, rf->origin) < 0))
			continue;
		if ((nv = malloc(win[i].len ? win[i].len : 1)) == NULL)
			return SL_ENOMEM;
		memcpy(nv, win[i].v, win[i].len);
		free(rf->val);
		rf->val = nv;
		rf->len = (uint32_t)win[i].len;
		rf->eff = eff;
		rf->hlc = ev->hlc;
		memcpy(rf->origin, ev->origin, SL_KEY_LEN);
	}
	return SL_OK;
}

/* A growable stack of hashes: the events to fold next. */
struct work {
	uint8_t (*h)[SL_HASH_LEN];
	size_t n, cap;
};

static int
work_push(struct work *w, const uint8_t h[SL_HASH_LEN])
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		uint8_t (*nh)[SL_HASH_LEN] = realloc(w->h, cap * SL_HASH_LEN);

		if (nh == NULL)
			return SL_ENOMEM;
		w->h = nh;
		w->cap = cap;
	}
	memcpy(w->h[w->n++], h, SL_HASH_LEN);
	return SL_OK;
}

bool
sl_fold_step_allowed(const struct sl_evtype *et, const uint8_t *states,
    const uint16_t *seens, const uint8_t (*origins)[SL_KEY_LEN], uint32_t n,
    uint32_t best, const uint8_t self[SL_KEY_LEN])
{
	bool clash = false;

	if (n == 0 || best >= n)
		return false;
	/* The parents the greatest one has not seen the state of are
	 * branches it did not know: a clash. */
	for (uint32_t i = 0; i < n; i++)
		if (i != best && states[i] < 16 &&
		    !(seens[best] & (1u << states[i])))
			clash = true;
	if (!clash)
		return states[best] < 32 && (et->from & (1u << states[best]));
	/*
	 * A clash resolves by re-stating one branch: one that no other
	 * branch went through (naming an old event beside a newer one is no
	 * clash to resolve), and one another origin took.  A member may end
	 * a dispute by accepting the other side, never by declaring its own
	 * side the winner: a branch it started from an old event and then
	 * "resolved" would otherwise overturn another organisation's step
	 * without a conflict ever showing.
	 */
	for (uint32_t i = 0; i < n; i++) {
		bool through = false;

		if (states[i] != et->to ||
		    memcmp(origins[i], self, SL_KEY_LEN) == 0)
			continue;
		for (uint32_t j = 0; j < n; j++)
			if (states[j] != et->to && et->to < 16 &&
			    (seens[j] & (1u << et->to)))
				through = true;
		if (!through)
			return true;
	}
	return false;
}

/* The organisation key speaks for. */
static void
org_of(const struct sl_fold_ops *ops, void *ctx, const uint8_t key[SL_KEY_LEN],
    uint8_t org[SL_KEY_LEN])
{
	if (ops->org_of != NULL)
		ops->org_of(ctx, key, org);
	else
		memcpy(org, key, SL_KEY_LEN);
}

/* Judges ev against its parents; m receives the verdict. */
static int
judge(const struct sl_fold_ops *ops, void *ctx, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN], const struct sl_evtype *et,
    struct sl_evmeta *m)
{
	struct sl_evmeta pm, best;
	bool pending = false, have_best = false, step_ok = false;
	uint8_t states[SL_MAX_PARENTS];
	uint16_t seens[SL_MAX_PARENTS];
	uint8_t origins[SL_MAX_PARENTS][SL_KEY_LEN];
	uint32_t ns = 0, seen = 0, bi = 0;
	int rc;

	m->order = m->eff;
	if (et->role == SL_ET_CREATE) {
		org_of(ops, ctx, ev->origin, m->owner);
		m->status = SL_EV_APPLIED;
		m->state = et->to;
		m->seen = (uint16_t)(et->to < 16 ? 1u << et->to : 0);
		return SL_OK;
	}
	if (ev->n_parents == 0) {
		m->status = SL_EV_IGNORED;
		m->why = SL_WHY_NOPARENT;
		return SL_OK;
	}
	for (uint32_t i = 0; i < ev->n_parents; i++) {
		rc = ops->meta_get(ctx, ev->parents[i], &pm);
		if (rc != SL_OK && rc != SL_ENOENT)
			return rc;
		/*
		 * The verdict, and its reason, must not depend on which
		 * parents arrived first, so the event is judged only once
		 * each parent is settled: held, if it names another record
		 * (its header says so, whatever its own verdict), or held
		 * and judged, if it names this one.  Until then it waits,
		 * even when a parent already shows it does not belong.
		 */
		if (rc == SL_OK && memcmp(pm.id, m->id, SL_ID_LEN) != 0) {
			m->why = SL_WHY_FOREIGN;
			continue;
		}
		if (rc == SL_ENOENT || pm.status == SL_EV_PENDING) {
			if ((rc = ops->wait_add(ctx, ev->parents[i], hash)) !=
			    SL_OK)
				return rc;
			pending = true;
			continue;
		}
		if (pm.status == SL_EV_IGNORED) {
			m->why = SL_WHY_FOREIGN;
			continue;
		}
		if (pm.kind != et->kind->c) {
			m->why = SL_WHY_KIND;
			continue;
		}
		if (pm.hlc >= ev->hlc && m->why == SL_WHY_NONE)
			m->why = SL_WHY_CLOCK;
		seen |= pm.seen;
		/* A change made after another (it names it) comes after it,
		 * whatever day it says: only concurrent values are ordered by
		 * their days. */
		if (pm.order > m->order)
			m->order = pm.order;
		if (!have_best || write_cmp(pm.hlc, pm.origin, best.hlc,
		    best.origin) > 0) {
			best = pm;
			have_best = true;
			bi = ns;
		}
		if (ns < SL_MAX_PARENTS) {
			states[ns] = pm.state;
			memcpy(origins[ns], pm.origin, SL_KEY_LEN);
			seens[ns++] = pm.seen;
		}
	}
	if (pending) {
		m->status = SL_EV_PENDING;
		m->why = SL_WHY_NONE;
		return SL_OK;
	}
	if (m->why != SL_WHY_NONE) {
		m->status = SL_EV_IGNORED;
		return SL_OK;
	}
	m->state = best.state;
	m->seen = (uint16_t)((seen | (1u << (m->state & 15))) & 0xffff);
	/* Every parent descends from the one creating event. */
	memcpy(m->owner, best.owner, SL_KEY_LEN);
	if (sl_evtype_owner_only(et)) {
		uint8_t org[SL_KEY_LEN];

		org_of(ops, ctx, ev->origin, org);
		if (memcmp(org, m->owner, SL_KEY_LEN) != 0) {
			/* Stands for its greatest parent, as a step the
			 * lifecycle refuses does. */
			m->status = SL_EV_NOOP;
			m->why = et->kind->owned ? SL_WHY_AUTHORITY :
			    SL_WHY_CREATOR;
			m->seen = (uint16_t)(best.seen |
			    (1u << (best.state & 15)));
			return SL_OK;
		}
	}
	if (et->role != SL_ET_STEP) {
		m->status = SL_EV_APPLIED;
		return SL_OK;
	}
	step_ok = sl_fold_step_allowed(et, states, seens,
	    (const uint8_t (*)[SL_KEY_LEN])origins, ns, bi, ev->origin);
	if (step_ok) {
		m->status = SL_EV_APPLIED;
		m->state = et->to;
		m->seen |= (uint16_t)(1u << (et->to & 15));
	} else {
		/* A no-op stands for its greatest parent only: the other
		 * parents' seen states are not its own, or a child naming it
		 * would be judged from that parent's state as if it had seen
		 * the other branches (a clash laundered into no clash). */
		m->status = SL_EV_NOOP;
		m->why = SL_WHY_STEP;
		m->seen = (uint16_t)(best.seen | (1u << (best.state & 15)));
	}
	return SL_OK;
}

/* Folds a judged member into its record. */
static int
join(const struct sl_fold_ops *ops, void *ctx, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN], const struct sl_evtype *et,
    const struct sl_evmeta *m)
{
	struct sl_rec r;
	int rc = ops->rec_get(ctx, m->id, &r);

	if (rc == SL_ENOENT) {
		memset(&r, 0, sizeof r);
		memcpy(r.id, m->id, SL_ID_LEN);
	} else if (rc != SL_OK) {
		return rc;
	}
	if (et->role == SL_ET_CREATE) {
		r.kind = et->kind;
		r.c_hlc = ev->hlc;
		r.c_eff = m->eff;
		memcpy(r.c_origin, ev->origin, SL_KEY_LEN);
		snprintf(r.c_author, sizeof r.c_author, "%.*s",
		    (int)ev->author_len, ev->author);
	}
	if (ev->hlc > r.u_hlc)
		r.u_hlc = ev->hlc;
	if ((rc = ops->head_add(ctx, m->id, hash)) != SL_OK)
		goto out;
	r.nheads++;
	for (uint32_t i = 0; i < ev->n_parents; i++) {
		rc = ops->head_del(ctx, m->id, ev->parents[i]);
		if (rc == SL_OK)
			r.nheads--;
		else if (rc != SL_ENOENT)
			goto out;
	}
	/* The winning head: a parent that was it is beaten by this event,
	 * whose clock is greater; any other head stays where it was. */
	if (r.nheads == 1 || write_cmp(ev->hlc, ev->origin, r.w_hlc,
	    r.w_origin) > 0) {
		r.w_hlc = ev->hlc;
		r.w_eff = m->eff;
		memcpy(r.w_origin, ev->origin, SL_KEY_LEN);
		r.state = m->state;
	}
	if (m->status == SL_EV_APPLIED && (rc = apply_fields(&r, et, ev,
	    m->order)) != SL_OK)
		goto out;
	rc = ops->rec_put(ctx, &r);
out:
	sl_rec_free(&r);
	return rc;
}

/* Judges one event (first: it was not held before) and joins it to its
 * record; the events it settles go on w. */
static int
fold_one(const struct sl_fold_ops *ops, void *ctx, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN], const struct sl_evtype *et,
    const uint8_t id[SL_ID_LEN], bool first, struct work *w)
{
	struct sl_evmeta m = { .seq = ev->seq, .hlc = ev->hlc,
		.kind = et->kind->c, .eff = sl_event_effective(ev) };
	uint8_t child[SL_HASH_LEN];
	int rc;

	memcpy(m.id, id, SL_ID_LEN);
	memcpy(m.origin, ev->origin, SL_KEY_LEN);
	if ((rc = judge(ops, ctx, ev, hash, et, &m)) != SL_OK ||
	    (rc = ops->meta_put(ctx, hash, &m)) != SL_OK)
		return rc;
	if (m.status == SL_EV_PENDING && !first)
		return SL_OK;
	/* A step the lifecycle did not allow changes nothing, heads
	 * included: it neither resolves a conflict nor hides one. */
	if (m.status == SL_EV_APPLIED &&
	    (rc = join(ops, ctx, ev, hash, et, &m)) != SL_OK)
		return rc;
	/* Whatever the verdict, the events waiting for this one can now be
	 * judged (an ignored parent makes its children ignored).  Just
	 * held, even pending, it settles those of other records; those of
	 * its own wait for it again. */
	while ((rc = ops->wait_take(ctx, hash, child)) == SL_OK)
		if ((rc = work_push(w, child)) != SL_OK)
			return rc;
	return rc == SL_ENOENT ? SL_OK : rc;
}

/* Restores the fields of an applied event whose body arrived late. */
static int
restore(const struct sl_fold_ops *ops, void *ctx, const struct sl_event *ev,
    const struct sl_evtype *et, const struct sl_evmeta *m)
{
	struct sl_rec r;
	int rc = ops->rec_get(ctx, m->id, &r);

	if (rc != SL_OK)
		return rc == SL_ENOENT ? SL_OK : rc;
	if ((rc = apply_fields(&r, et, ev, m->order)) == SL_OK)
		rc = ops->rec_put(ctx, &r);
	sl_rec_free(&r);
	return rc;
}

int
sl_fold_event(const struct sl_fold_ops *ops, void *ctx,
    const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN])
{
	const struct sl_evtype *et;
	struct sl_evmeta m;
	struct work w = { 0 };
	uint8_t id[SL_ID_LEN];
	int rc;

	if (!sl_fold_target(ev, hash, id, &et))
		return SL_OK;
	rc = ops->meta_get(ctx, hash, &m);
	if (rc == SL_OK) {
		if (m.status == SL_EV_APPLIED && ev->payload != NULL)
			return restore(ops, ctx, ev, et, &m);
		return SL_OK;
	}
	if (rc != SL_ENOENT)
		return rc;
	rc = fold_one(ops, ctx, ev, hash, et, id, true, &w);
	while (rc == SL_OK && w.n > 0) {
		uint8_t h[SL_HASH_LEN];
		struct sl_event cev;
		const struct sl_evtype *cet;

		memcpy(h, w.h[--w.n], SL_HASH_LEN);
		if ((rc = ops->meta_get(ctx, h, &m)) != SL_OK)
			break;
		if (m.status != SL_EV_PENDING)
			continue; /* judged already (waited on two parents) */
		if ((rc = ops->event_load(ctx, h, &m, &cev)) != SL_OK)
			break;
		if (!sl_fold_target(&cev, h, id, &cet)) {
			rc = SL_EVALUE;
			break;
		}
		rc = fold_one(ops, ctx, &cev, h, cet, id, false, &w);
	}
	free(w.h);
	return rc;
}

/* ---- the in-memory backend ---------------------------------------------------- */

/*
 * Open-addressing tables keyed by event hash, probed from a keyed
 * SipHash of the key: parent hashes are chosen by whoever writes an
 * event, so an unkeyed slot function could be driven into long probe
 * runs on purpose.
 */
struct mem_ev {
	uint8_t h[SL_HASH_LEN];
	bool used, has_meta, head;
	struct sl_evmeta m;
	uint8_t *rec;            /* a copy of the record bytes */
	size_t len;
};

struct mem_wait {
	uint8_t h[SL_HASH_LEN];  /* the parent waited for */
	bool used;
	uint8_t (*kids)[SL_HASH_LEN];
	uint32_t n, cap;
};

struct mem_rec {
	struct sl_rec r;
	bool out;                /* lent to the fold (rec_get) */
};

struct sl_fold_mem {
	unsigned char key[crypto_shorthash_KEYBYTES];
	struct mem_ev *ev;
	size_t ev_cap, ev_n;
	struct mem_wait *wt;
	size_t wt_cap, wt_n;
	struct mem_rec *recs;
	size_t nrec, rec_cap;
	struct mem_dev {
		uint8_t key[SL_KEY_LEN], org[SL_KEY_LEN];
		bool contested;
	} *dev;                  /* devices certified (sl_fold_mem_certify) */
	size_t ndev, dev_cap;
};

static size_t
slot_of(const struct sl_fold_mem *m, const uint8_t h[SL_HASH_LEN], size_t cap)
{
	unsigned char out[crypto_shorthash_BYTES];

	crypto_shorthash(out, h, SL_HASH_LEN, m->key);
	return (size_t)sl_get_be(out, 8) & (cap - 1);
}

/* The event entry for h; with add, made if absent (NULL: out of memory). */
static struct mem_ev *
ev_find(struct sl_fold_mem *m, const uint8_t h[SL_HASH_LEN], bool add)
{
	if (add && (m->ev_n + 1) * 2 > m->ev_cap) {
		size_t cap = m->ev_cap ? m->ev_cap * 2 : 64;
		struct mem_ev *ne = calloc(cap, sizeof *ne);

		if (ne == NULL)
			return NULL;
		for (size_t i = 0; i < m->ev_cap; i++) {
			if (!m->ev[i].used)
				continue;
			size_t s = slot_of(m, m->ev[i].h, cap);

			while (ne[s].used)
				s = (s + 1) & (cap - 1);
			ne[s] = m->ev[i];
		}
		free(m->ev);
		m->ev = ne;
		m->ev_cap = cap;
	}
	if (m->ev_cap == 0)
		return NULL;
	for (size_t s = slot_of(m, h, m->ev_cap);; s = (s + 1) & (m->ev_cap - 1)) {
		struct mem_ev *e = &m->ev[s];

		if (!e->used) {
			if (!add)
				return NULL;
			e->used = true;
			memcpy(e->h, h, SL_HASH_LEN);
			m->ev_n++;
			return e;
		}
		if (memcmp(e->h, h, SL_HASH_LEN) == 0)
			return e;
	}
}

static struct mem_wait *
wait_find(struct sl_fold_mem *m, const uint8_t h[SL_HASH_LEN], bool add)
{
	if (add && (m->wt_n + 1) * 2 > m->wt_cap) {
		size_t cap = m->wt_cap ? m->wt_cap * 2 : 16;
		struct mem_wait *nw = calloc(cap, sizeof *nw);

		if (nw == NULL)
			return NULL;
		for (size_t i = 0; i < m->wt_cap; i++) {
			if (!m->wt[i].used)
				continue;
			size_t s = slot_of(m, m->wt[i].h, cap);

			while (nw[s].used)
				s = (s + 1) & (cap - 1);
			nw[s] = m->wt[i];
		}
		free(m->wt);
		m->wt = nw;
		m->wt_cap = cap;
	}
	if (m->wt_cap == 0)
		return NULL;
	for (size_t s = slot_of(m, h, m->wt_cap);; s = (s + 1) & (m->wt_cap - 1)) {
		struct mem_wait *w = &m->wt[s];

		if (!w->used) {
			if (!add)
				return NULL;
			w->used = true;
			memcpy(w->h, h, SL_HASH_LEN);
			m->wt_n++;
			return w;
		}
		if (memcmp(w->h, h, SL_HASH_LEN) == 0)
			return w;
	}
}

static struct mem_rec *
rec_find(struct sl_fold_mem *m, const uint8_t id[SL_ID_LEN])
{
	for (size_t i = 0; i < m->nrec; i++)
		if (memcmp(m->recs[i].r.id, id, SL_ID_LEN) == 0)
			return &m->recs[i];
	return NULL;
}

static int
mem_meta_get(void *ctx, const uint8_t h[SL_HASH_LEN], struct sl_evmeta *out)
{
	struct mem_ev *e = ev_find(ctx, h, false);

	if (e == NULL || !e->has_meta)
		return SL_ENOENT;
	*out = e->m;
	return SL_OK;
}

static int
mem_meta_put(void *ctx, const uint8_t h[SL_HASH_LEN], const struct sl_evmeta *in)
{
	struct mem_ev *e = ev_find(ctx, h, true);

	if (e == NULL)
		return SL_ENOMEM;
	e->m = *in;
	e->has_meta = true;
	return SL_OK;
}

static int
mem_wait_add(void *ctx, const uint8_t parent[SL_HASH_LEN],
    const uint8_t child[SL_HASH_LEN])
{
	struct mem_wait *w = wait_find(ctx, parent, true);

	/* No check for a repeat: a scan here made K children of one parent
	 * cost O(K^2).  A child may be listed twice (judged again while a
	 * second parent is missing); the fold skips one already judged. */
	if (w == NULL)
		return SL_ENOMEM;
	if (w->n == w->cap) {
		uint32_t cap = w->cap ? w->cap * 2 : 2;
		uint8_t (*nk)[SL_HASH_LEN] = realloc(w->kids,
		    (size_t)cap * SL_HASH_LEN);

		if (nk == NULL)
			return SL_ENOMEM;
		w->kids = nk;
		w->cap = cap;
	}
	memcpy(w->kids[w->n++], child, SL_HASH_LEN);
	return SL_OK;
}

static int
mem_wait_take(void *ctx, const uint8_t parent[SL_HASH_LEN],
    uint8_t child[SL_HASH_LEN])
{
	struct mem_wait *w = wait_find(ctx, parent, false);

	if (w == NULL || w->n == 0)
		return SL_ENOENT;
	memcpy(child, w->kids[--w->n], SL_HASH_LEN);
	return SL_OK;
}

static int
mem_event_load(void *ctx, const uint8_t h[SL_HASH_LEN],
    const struct sl_evmeta *meta, struct sl_event *ev)
{
	struct mem_ev *e = ev_find(ctx, h, false);

	(void)meta;
	if (e == NULL || e->rec == NULL)
		return SL_ENOENT;
	return sl_event_decode(ev, e->rec, e->len);
}

static int
mem_rec_get(void *ctx, const uint8_t id[SL_ID_LEN], struct sl_rec *r)
{
	struct mem_rec *mr = rec_find(ctx, id);

	if (mr == NULL)
		return SL_ENOENT;
	/* Lent, not copied: the fold always puts it back. */
	*r = mr->r;
	memset(mr->r.f, 0, sizeof mr->r.f);
	mr->out = true;
	return SL_OK;
}

static int
mem_rec_put(void *ctx, struct sl_rec *r)
{
	struct sl_fold_mem *m = ctx;
	struct mem_rec *mr = rec_find(m, r->id);

	if (mr == NULL) {
		if (m->nrec == m->rec_cap) {
			size_t cap = m->rec_cap ? m->rec_cap * 2 : 4;
			struct mem_rec *nr = realloc(m->recs, cap * sizeof *nr);

			if (nr == NULL)
				return SL_ENOMEM;
			m->recs = nr;
			m->rec_cap = cap;
		}
		mr = &m->recs[m->nrec++];
		memset(mr, 0, sizeof *mr);
	}
	sl_rec_free(&mr->r);
	mr->r = *r;
	mr->out = false;
	/* The fold frees its copy after this: take the values from it. */
	memset(r->f, 0, sizeof r->f);
	return SL_OK;
}

static int
mem_head_add(void *ctx, const uint8_t id[SL_ID_LEN],
    const uint8_t h[SL_HASH_LEN])
{
	struct mem_ev *e = ev_find(ctx, h, true);

	(void)id;
	if (e == NULL)
		return SL_ENOMEM;
	e->head = true;
	return SL_OK;
}

static int
mem_head_del(void *ctx, const uint8_t id[SL_ID_LEN],
    const uint8_t h[SL_HASH_LEN])
{
	struct mem_ev *e = ev_find(ctx, h, false);

	if (e == NULL || !e->head || !e->has_meta ||
	    memcmp(e->m.id, id, SL_ID_LEN) != 0)
		return SL_ENOENT;
	e->head = false;
	return SL_OK;
}

/* A device's organisation, from the certificates given (12.3); a key
 * two organisations certified, or none, signs for itself. */
static void
mem_org_of(void *ctx, const uint8_t key[SL_KEY_LEN], uint8_t org[SL_KEY_LEN])
{
	const struct sl_fold_mem *m = ctx;

	memcpy(org, key, SL_KEY_LEN);
	for (size_t i = 0; i < m->ndev; i++)
		if (memcmp(m->dev[i].key, key, SL_KEY_LEN) == 0 &&
		    !m->dev[i].contested)
			memcpy(org, m->dev[i].org, SL_KEY_LEN);
}

const struct sl_fold_ops sl_fold_mem_ops = {
	mem_meta_get, mem_meta_put, mem_wait_add, mem_wait_take,
	mem_event_load, mem_rec_get, mem_rec_put, mem_head_add, mem_head_del,
	mem_org_of,
};

bool
sl_fold_mem_device_org(const struct sl_fold_mem *m,
    const uint8_t key[SL_KEY_LEN], uint8_t org[SL_KEY_LEN])
{
	mem_org_of((void *)(uintptr_t)m, key, org);
	return memcmp(org, key, SL_KEY_LEN) != 0;
}

int
sl_fold_mem_certify(struct sl_fold_mem *m, const uint8_t *rec, size_t len)
{
	struct sl_event ev;
	struct sl_mev e;
	char why[200];

	/* Only a certificate whose body is present, matches its hash and
	 * keeps the content rules (which verify both signatures). */
	if (sl_event_decode(&ev, rec, len) != SL_OK || ev.payload == NULL ||
	    ev.type_len != 12 || memcmp(ev.type, "device.added", 12) != 0 ||
	    sl_event_check_payload(&ev) != SL_OK ||
	    sl_schema_check_event(ev.type, ev.type_len, ev.entity,
	    ev.n_parents, ev.payload, ev.payload_len, ev.hlc, why,
	    sizeof why) != SL_OK || sl_mev_decode(&ev, &e) != SL_OK)
		return SL_OK;
	for (size_t i = 0; i < m->ndev; i++)
		if (memcmp(m->dev[i].key, e.device, SL_KEY_LEN) == 0) {
			if (memcmp(m->dev[i].org, e.org, SL_KEY_LEN) != 0)
				m->dev[i].contested = true;
			return SL_OK;
		}
	if (m->ndev == m->dev_cap) {
		size_t cap = m->dev_cap ? m->dev_cap * 2 : 4;
		struct mem_dev *nd = realloc(m->dev, cap * sizeof *nd);

		if (nd == NULL)
			return SL_ENOMEM;
		m->dev = nd;
		m->dev_cap = cap;
	}
	memcpy(m->dev[m->ndev].key, e.device, SL_KEY_LEN);
	memcpy(m->dev[m->ndev].org, e.org, SL_KEY_LEN);
	m->dev[m->ndev++].contested = false;
	return SL_OK;
}

struct sl_fold_mem *
sl_fold_mem_new(void)
{
	struct sl_fold_mem *m = calloc(1, sizeof *m);

	if (m != NULL)
		crypto_shorthash_keygen(m->key);
	return m;
}

void
sl_fold_mem_free(struct sl_fold_mem *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->ev_cap; i++)
		free(m->ev[i].rec);
	for (size_t i = 0; i < m->wt_cap; i++)
		free(m->wt[i].kids);
	for (size_t i = 0; i < m->nrec; i++)
		sl_rec_free(&m->recs[i].r);
	free(m->ev);
	free(m->wt);
	free(m->recs);
	free(m->dev);
	free(m);
}

int
sl_fold_mem_add(struct sl_fold_mem *m, const uint8_t *rec, size_t len)
{
	struct sl_event ev;
	uint8_t h[SL_HASH_LEN];
	struct mem_ev *e;
	char why[200];
	int rc;

	if ((rc = sl_event_decode(&ev, rec, len)) != SL_OK)
		return rc;
	/* What a node's store refuses of a record, this refuses too, or
	 * the checker would fold events no node holds (a bundle is
	 * anyone's file): a body that does not match its hash, and an
	 * event the content rules refuse.  Chains and signatures are the
	 * caller's (bundle.c checks them over the whole bundle). */
	if ((rc = sl_event_check_payload(&ev)) != SL_OK)
		return rc;
	if (sl_schema_check_event(ev.type, ev.type_len, ev.entity,
	    ev.n_parents, ev.payload, ev.payload_len, ev.hlc, why,
	    sizeof why) != SL_OK ||
	    sl_schema_check_opens(ev.type, ev.type_len, ev.opens,
	    ev.opens_len, why, sizeof why) != SL_OK)
		return SL_ESCHEMA;
	sl_event_hash(h, &ev);
	if ((e = ev_find(m, h, true)) == NULL)
		return SL_ENOMEM;
	if (e->rec == NULL || (ev.payload != NULL &&
	    (sl_event_decode(&ev, e->rec, e->len) != SL_OK ||
	    ev.payload == NULL))) {
		uint8_t *copy = malloc(len ? len : 1);

		if (copy == NULL)
			return SL_ENOMEM;
		memcpy(copy, rec, len);
		free(e->rec);
		e->rec = copy;
		e->len = len;
	}
	if ((rc = sl_event_decode(&ev, e->rec, e->len)) != SL_OK)
		return rc;
	return sl_fold_event(&sl_fold_mem_ops, m, &ev, h);
}

int
sl_fold_mem_record(struct sl_fold_mem *m, const uint8_t id[SL_ID_LEN],
    struct sl_rec *r)
{
	struct mem_rec *mr = rec_find(m, id);

	if (mr == NULL || mr->r.kind == NULL)
		return SL_ENOENT;
	*r = mr->r;
	memset(r->f, 0, sizeof r->f);
	for (uint32_t i = 0; i < SL_SCHEMA_MAX_FIELDS; i++) {
		const struct sl_recfield *f = &mr->r.f[i];

		if (f->val == NULL)
			continue;
		if ((r->f[i].val = malloc(f->len ? f->len : 1)) == NULL) {
			sl_rec_free(r);
			return SL_ENOMEM;
		}
		memcpy(r->f[i].val, f->val, f->len);
		r->f[i].len = f->len;
		r->f[i].hlc = f->hlc;
		memcpy(r->f[i].origin, f->origin, SL_KEY_LEN);
	}
	return SL_OK;
}

int
sl_fold_mem_meta(struct sl_fold_mem *m, const uint8_t h[SL_HASH_LEN],
    struct sl_evmeta *out)
{
	return mem_meta_get(m, h, out);
}

void
sl_fold_mem_waits(struct sl_fold_mem *m, sl_fold_pair_fn fn, void *ctx)
{
	for (size_t i = 0; i < m->wt_cap; i++)
		for (uint32_t k = 0; m->wt[i].used && k < m->wt[i].n; k++)
			fn(ctx, m->wt[i].h, m->wt[i].kids[k]);
}

void
sl_fold_mem_heads(struct sl_fold_mem *m, const uint8_t id[SL_ID_LEN],
    sl_fold_hash_fn fn, void *ctx)
{
	for (size_t i = 0; i < m->ev_cap; i++) {
		const struct mem_ev *e = &m->ev[i];

		if (e->used && e->head && e->has_meta &&
		    memcmp(e->m.id, id, SL_ID_LEN) == 0)
			fn(ctx, e->h);
	}
}
