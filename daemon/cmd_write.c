/*
 * cmd_write.c - record writes, built from the schema, and the group
 * commit.
 *
 * A write request names a kind and a verb ("decision.adopt"); the schema
 * says which event type that makes, which flags it takes and which it
 * needs.  References are resolved inside the write transaction (so a
 * record added earlier in the same group commit counts), a step is
 * checked against the lifecycle with the fold's own rule, and the event
 * names the record's heads.  The store then applies the same content
 * rules it applies to peers' events.  Anything wrong is refused with one
 * sentence and nothing is written.
 */
#include <ctype.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_int.h"

/* ---- payloads ------------------------------------------------------------- */

/* A payload under construction, packed as it is built: the fields are
 * visited in the schema's order and written sorted by name at the end. */
struct payload {
	uint32_t n;
	struct {
		const char *name;
		struct sl_buf v;   /* the value, packed */
	} f[SL_SCHEMA_MAX_FIELDS + 1];
};

static void
payload_free(struct payload *pl)
{
	for (uint32_t i = 0; i < pl->n; i++)
		free(pl->f[i].v.p);
	pl->n = 0;
}

/* A new field's value buffer, kept in name order. */
static msgpack_packer
payload_field(struct payload *pl, const char *name, struct sl_buf **vb)
{
	msgpack_packer pk;
	uint32_t i = pl->n++;

	while (i > 0 && strcmp(pl->f[i - 1].name, name) > 0) {
		pl->f[i] = pl->f[i - 1];
		i--;
	}
	pl->f[i].name = name;
	pl->f[i].v = (struct sl_buf){ 0 };
	*vb = &pl->f[i].v;
	msgpack_packer_init(&pk, *vb, sl_buf_write);
	return pk;
}

static void
payload_str(struct payload *pl, const char *name, const char *s, size_t n)
{
	struct sl_buf *vb;
	msgpack_packer pk = payload_field(pl, name, &vb);

	sl_pack_str(&pk, s, n);
}

static void
payload_nil(struct payload *pl, const char *name)
{
	struct sl_buf *vb;
	msgpack_packer pk = payload_field(pl, name, &vb);

	msgpack_pack_nil(&pk);
}

static int
payload_pack(const struct payload *pl, struct sl_buf *g)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, g, sl_buf_write);
	msgpack_pack_map(&pk, pl->n);
	for (uint32_t i = 0; i < pl->n; i++) {
		if (pl->f[i].v.p == NULL)
			return SL_ENOMEM;
		sl_pack_cstr(&pk, pl->f[i].name);
		sl_buf_write(g, (const char *)pl->f[i].v.p, pl->f[i].v.len);
	}
	return g->p == NULL ? SL_ENOMEM : SL_OK;
}

/* The single text a flag carries (the last, if repeated). */
static bool
arg_text(const struct arg *g, const char **s, uint32_t *n)
{
	if (g->type == ARG_STR) {
		*s = g->s;
		*n = g->slen;
	} else if (g->type == ARG_ARR && g->n > 0) {
		*s = g->e[g->n - 1];
		*n = g->elen[g->n - 1];
	} else {
		return false;
	}
	return true;
}

/*
 * Adds field f from its flag, checked by the schema: references are
 * resolved to full ids of the kind the schema names, lists keep the
 * order given without repeats, a switch is true.
 */
/* Free text that holds what looks like a personal identity number is
 * refused unless the writer says --force: samlog's records should not
 * keep one, and once replicated it can be taken out only by erasure. */
static int
pnr_guard(const struct args *a, const struct sl_field *f, const char *s,
    size_t n, char *msg, size_t mlen)
{
	size_t at;

	if (f->type != SL_F_TEXT && f->type != SL_F_TEXTS)
		return SL_OK;
	if (!sl_text_pnr(s, n, &at) || cmd_arg_get(a, "force") != NULL)
		return SL_OK;
	return cmd_fail(msg, mlen, SL_EVALUE, "--%s holds what looks like a "
	    "personal identity number (personnummer), at character %zu: "
	    "leave it out, or give --force to record it anyway", f->flag,
	    at + 1);
}

static int
field_from_arg(struct cmd_ctx *d, MDB_txn *txn, struct payload *pl,
    const struct args *a, const struct sl_field *f, char *msg, size_t mlen)
{
	const struct arg *g = cmd_arg_get(a, f->flag);
	struct sl_buf *vb;
	msgpack_packer pk;
	const char *s;
	uint32_t n;
	int rc;

	if (g == NULL)
		return SL_OK;
	if (f->type == SL_F_BOOL) {
		if (g->type != ARG_TRUE)
			return cmd_fail(msg, mlen, SL_EUSAGE, "--%s takes no value",
			    f->flag);
		pk = payload_field(pl, f->name, &vb);
		msgpack_pack_true(&pk);
		return SL_OK;
	}
	if (g->type == ARG_TRUE)
		return cmd_fail(msg, mlen, SL_EUSAGE, "--%s needs a value", f->flag);
	if (f->type == SL_F_REFS || f->type == SL_F_TEXTS) {
		const char *one[1];
		uint32_t onel[1], cnt = g->type == ARG_STR ? 1 : g->n, k = 0;
		const char *const *e = g->type == ARG_STR ? one : g->e;
		const uint32_t *el = g->type == ARG_STR ? onel : g->elen;
		char (*out)[SL_TEXT_MAX + 1] = calloc(cnt ? cnt : 1,
		    sizeof *out);

		one[0] = g->s;
		onel[0] = g->slen;
		if (out == NULL)
			return SL_ENOMEM;
		for (uint32_t i = 0; i < cnt; i++) {
			struct sl_field one_f = *f;
			bool dup = false;

			one_f.type = SL_F_TEXT;
			if ((rc = cmd_check_field(&one_f, e[i], el[i], msg, mlen)) !=
			    SL_OK) {
				free(out);
				return rc;
			}
			if (f->type == SL_F_TEXTS && (rc = pnr_guard(a, f, e[i],
			    el[i], msg, mlen)) != SL_OK) {
				free(out);
				return rc;
			}
			snprintf(out[k], sizeof out[k], "%.*s", (int)el[i], e[i]);
			if (f->type == SL_F_REFS && (rc = cmd_resolve_text(d, txn,
			    f->flag, out[k], f->ref, out[k], msg, mlen)) !=
			    SL_OK) {
				free(out);
				return rc;
			}
			for (uint32_t j = 0; j < k && !dup; j++)
				dup = strcmp(out[j], out[k]) == 0;
			k += !dup;
		}
		pk = payload_field(pl, f->name, &vb);
		msgpack_pack_array(&pk, k);
		for (uint32_t i = 0; i < k; i++)
			sl_pack_cstr(&pk, out[i]);
		free(out);
		return SL_OK;
	}
	if (!arg_text(g, &s, &n))
		return cmd_fail(msg, mlen, SL_EUSAGE, "--%s needs a value", f->flag);
	if (f->type == SL_F_REF) {
		char text[SL_TEXT_MAX + 1], full[SL_ID_TEXT + 1];

		snprintf(text, sizeof text, "%.*s", (int)n, s);
		if ((rc = cmd_resolve_text(d, txn, f->flag, text, f->ref, full, msg,
		    mlen)) != SL_OK)
			return rc;
		payload_str(pl, f->name, full, SL_ID_TEXT);
		return SL_OK;
	}
	if ((rc = cmd_check_field(f, s, n, msg, mlen)) != SL_OK)
		return rc;
	if ((rc = pnr_guard(a, f, s, n, msg, mlen)) != SL_OK)
		return rc;
	payload_str(pl, f->name, s, n);
	return SL_OK;
}

/* The flags an event type takes, for args_only: first (or none), its
 * fields' flags, then --on, and --unset (update) or --force (add). */
static void
type_flags(const struct sl_evtype *et, const char **out, size_t max,
    const char *first)
{
	size_t k = 0;

	if (first != NULL)
		out[k++] = first;
	for (uint32_t i = 0; i < et->kind->nfields && k + 4 < max; i++)
		if ((et->fields & (1u << i)) &&
		    et->kind->fields[i].type != SL_F_STATE &&
		    !(et->kind->fields[i].flags & SL_FF_NOFLAG))
			out[k++] = et->kind->fields[i].flag;
	out[k++] = "on";
	out[k++] = "today";
	if (et->role == SL_ET_UPDATE && et->sets == 0)
		out[k++] = "unset";
	if (et->role == SL_ET_CREATE || sl_evtype_has_text(et))
		out[k++] = "force";
	out[k] = NULL;
}

/* The states of a record's current heads and the states their pasts
 * went through, oldest first by (clock, origin), so the last is the
 * greatest: what sl_fold_step_allowed judges a step by. */
static uint32_t
head_states(struct cmd_ctx *d, MDB_txn *txn, const struct sl_rec *r,
    uint8_t *states, uint16_t *seens, uint8_t (*origins)[SL_KEY_LEN],
    uint32_t *day)
{
	uint8_t heads[SL_MAX_PARENTS][SL_HASH_LEN];
	uint32_t n = project_heads(d->p, txn, r->id, heads, SL_MAX_PARENTS);
	struct sl_evmeta m;

	if (n > SL_MAX_PARENTS)
		n = SL_MAX_PARENTS;
	*day = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (project_meta(d->p, txn, heads[i], &m) != SL_OK)
			memset(&m, 0, sizeof m);
		states[i] = m.state;
		seens[i] = m.seen;
		memcpy(origins[i], m.origin, SL_KEY_LEN);
		if (m.order > *day)
			*day = m.order;
	}
	return n;
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SL_HASH_LEN);
}

/* Is key a personal field of the kind ctx? */
static bool
personal_field(void *ctx, const char *key, size_t klen)
{
	const struct sl_kind *k = ctx;
	uint32_t idx;
	const struct sl_field *f = sl_schema_field(k, key, klen, &idx);

	return f != NULL && (f->flags & SL_FF_PERSONAL);
}

static int
append_event(struct cmd_ctx *d, struct store_batch *b, MDB_txn *txn,
    const struct sl_evtype *et, const char *author, const uint8_t *entity,
    const struct payload *pl, uint8_t out_id[SL_ID_LEN], bool *dead,
    char *msg, size_t mlen)
{
	struct sl_buf g = { 0 }, sealed = { 0 }, opens = { 0 };
	uint8_t heads[SL_MAX_PARENTS][SL_HASH_LEN];
	struct sl_event_draft dr = { .author = author, .type = et->type,
		.entity = entity };
	struct store_appended ap;
	int rc;

	if ((rc = payload_pack(pl, &g)) != SL_OK) {
		free(g.p);
		return rc;
	}
	if (g.len > SL_PAYLOAD_MAX) {
		free(g.p);
		return cmd_fail(msg, mlen, SL_EVALUE, "the record is too large");
	}
	if (entity != NULL) {
		/* The heads this edit saw: naming them all resolves any
		 * conflict between them.  Sorted, as the format wants. */
		dr.n_parents = project_heads(d->p, txn, entity, heads,
		    SL_MAX_PARENTS);
		if (dr.n_parents > SL_MAX_PARENTS)
			dr.n_parents = SL_MAX_PARENTS;
		qsort(heads, dr.n_parents, SL_HASH_LEN, hash_cmp);
		dr.parents = (const uint8_t (*)[SL_HASH_LEN])heads;
		/* Stamped after every head it names, or the fold would
		 * ignore it ("not later than its parents"): a head may be
		 * ahead of this node's clock (up to max_skew), further than
		 * the store adopts a foreign clock, or one that waited in
		 * pfuture until it was due. */
		for (uint32_t i = 0; i < dr.n_parents; i++) {
			struct sl_evmeta m;

			if (project_meta(d->p, txn, heads[i], &m) == SL_OK)
				store_batch_after(b, m.hlc);
		}
	}
	/* Personal fields travel committed, one by one, so that each can
	 * be erased alone (PROTOCOL.md 5.1). */
	if ((rc = sl_seal_payload(g.p, g.len, personal_field,
	    (void *)(uintptr_t)et->kind, NULL, &sealed, &opens)) != SL_OK) {
		free(g.p);
		free(sealed.p);
		free(opens.p);
		return rc;
	}
	free(g.p);
	if (sealed.len + opens.len > SL_PAYLOAD_MAX) {
		free(sealed.p);
		free(opens.p);
		return cmd_fail(msg, mlen, SL_EVALUE, "the record is too large");
	}
	dr.payload = sealed.p;
	dr.payload_len = (uint32_t)sealed.len;
	dr.opens = opens.len > 0 ? opens.p : NULL;
	dr.opens_len = (uint32_t)opens.len;
	rc = store_batch_append(b, &dr, &ap, msg, mlen);
	free(sealed.p);
	free(opens.p);
	if (rc != SL_OK) {
		/* A refused draft leaves the batch usable. */
		if (rc != SL_EVALUE && rc != SL_ESIZE && rc != SL_EINVAL)
			*dead = true;
		return rc;
	}
	if (entity != NULL)
		memcpy(out_id, entity, SL_ID_LEN);
	else
		sl_entity_id(out_id, ap.hash);
	return SL_OK;
}

/* The command as the CLI spells it ("contact update"), into out. */
static const char *
cmd_words(const char *cmd, char out[32])
{
	size_t i;

	for (i = 0; i < 31 && cmd[i] != '\0'; i++)
		out[i] = cmd[i] == '.' ? ' ' : cmd[i];
	out[i] = '\0';
	return out;
}

/* ---- writes ------------------------------------------------------------------ */

static int unset_from_args(struct payload *pl, const struct args *a,
    const struct sl_evtype *et, char *msg, size_t mlen);

/*
 * Every field event type et carries, from its flag: the required ones
 * must be given; the state field is the state et leads to; a creating
 * event gets a field's default when its flag is absent, and a step nil
 * for a field that may be nil (a step says why, or that no reason was
 * given: an old step's reason must not read as this one's).
 */
static int
fields_from_args(struct cmd_ctx *d, MDB_txn *txn, struct payload *pl,
    const struct args *a, const struct sl_evtype *et, char *msg, size_t mlen)
{
	const struct sl_kind *k = et->kind;
	char words[32];
	int rc;

	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];
		bool given = !(f->flags & SL_FF_NOFLAG) &&
		    cmd_arg_get(a, f->flag) != NULL;

		if (!(et->fields & (1u << i)))
			continue;
		if (f->flags & SL_FF_NOFLAG) {
			struct sl_buf *vb;
			msgpack_packer pk;

			if (et->sets == 0)
				continue;
			pk = payload_field(pl, f->name, &vb);
			if (et->sets == SL_SETS_TRUE)
				msgpack_pack_true(&pk);
			else
				msgpack_pack_false(&pk);
			continue;
		}
		if (f->type == SL_F_STATE) {
			const char *st = sl_schema_state_name(k, et->to);

			payload_str(pl, f->name, st, strlen(st));
			continue;
		}
		if ((et->required & (1u << i)) && !given)
			return cmd_fail(msg, mlen, SL_EUSAGE, "%s needs --%s",
			    cmd_words(a->cmd, words), f->flag);
		if ((rc = field_from_arg(d, txn, pl, a, f, msg, mlen)) != SL_OK)
			return rc;
		if (!given && et->role == SL_ET_CREATE && f->dflt != NULL)
			payload_str(pl, f->name, f->dflt, strlen(f->dflt));
		else if (!given && et->role == SL_ET_STEP &&
		    (f->flags & SL_FF_NULL))
			payload_nil(pl, f->name);
	}
	return unset_from_args(pl, a, et, msg, mlen);
}

/* --unset FIELD (repeatable): nil for a field the update may set and
 * that is not required; by flag or field name. */
static int
unset_from_args(struct payload *pl, const struct args *a,
    const struct sl_evtype *et, char *msg, size_t mlen)
{
	const struct arg *g = cmd_arg_get(a, "unset");
	const struct sl_kind *k = et->kind;
	uint32_t cnt;

	if (g == NULL)
		return SL_OK;
	if (g->type == ARG_TRUE)
		return cmd_fail(msg, mlen, SL_EUSAGE, "--unset needs a field name");
	cnt = g->type == ARG_ARR ? g->n : 1;
	for (uint32_t j = 0; j < cnt; j++) {
		const char *s = g->type == ARG_ARR ? g->e[j] : g->s;
		uint32_t n = g->type == ARG_ARR ? g->elen[j] : g->slen;
		const struct sl_field *f = NULL;
		uint32_t i;

		for (i = 0; i < k->nfields && f == NULL; i++)
			if ((strlen(k->fields[i].flag) == n &&
			    memcmp(k->fields[i].flag, s, n) == 0) ||
			    (strlen(k->fields[i].name) == n &&
			    memcmp(k->fields[i].name, s, n) == 0))
				f = &k->fields[i];
		i--;
		if (f == NULL || !(et->fields & (1u << i)) ||
		    (f->flags & SL_FF_NOFLAG) || f->type == SL_F_STATE)
			return cmd_fail(msg, mlen, SL_EUSAGE, "--unset: %s has no "
			    "field \"%.*s\" that an update sets", k->word,
			    (int)n, s);
		if (f->flags & SL_FF_REQUIRED)
			return cmd_fail(msg, mlen, SL_EVALUE, "--unset %s: every "
			    "%s has a %s (give a new one with --%s)",
			    f->flag, k->word, f->name, f->flag);
		if (cmd_arg_get(a, f->flag) != NULL)
			return cmd_fail(msg, mlen, SL_EUSAGE, "--%s and --unset %s "
			    "at once", f->flag, f->flag);
		for (uint32_t x = 0; x < pl->n; x++)
			if (strcmp(pl->f[x].name, f->name) == 0)
				goto next; /* named twice */
		payload_nil(pl, f->name);
next:;
	}
	return SL_OK;
}

/*
 * The day the change takes effect: --on, else the date of a field
 * marked effective that the change sets (a meeting's date, the day a
 * contact left), else today.  Every record event carries it, so each
 * says the day its author meant.
 */
/* The date of the record the REF argument of f names (its kind's
 * date field), into on; false if none. */
static bool
ref_date(struct cmd_ctx *d, MDB_txn *txn, const struct args *a,
    const struct sl_field *f, char on[64])
{
	char text[SL_TEXT_MAX + 1], m[256];
	uint8_t id[SL_ID_LEN];
	struct sl_rec r;
	bool ok = false;

	if (!cmd_arg_str(a, f->flag, text, sizeof text) ||
	    cmd_resolve(d, txn, f->flag, text, f->ref, id, m, sizeof m) !=
	    SL_OK || project_get(d->p, txn, id, &r) != SL_OK)
		return false;
	for (uint32_t i = 0; r.kind != NULL && i < r.kind->nfields && !ok; i++)
		if (r.kind->fields[i].type == SL_F_DATE &&
		    (r.kind->fields[i].flags & SL_FF_SORT))
			ok = project_str(&r, r.kind->fields[i].name, on, 64);
	sl_rec_free(&r);
	return ok;
}

static int
effective_from_args(struct cmd_ctx *d, MDB_txn *txn, struct payload *pl,
    const struct args *a, const struct sl_evtype *et, uint32_t *ymd,
    char *msg, size_t mlen)
{
	char on[64];
	int rc;

	*ymd = 0;
	if (cmd_arg_str(a, "on", on, sizeof on)) {
		if ((rc = cmd_check_date("on", on, msg, mlen)) != SL_OK)
			return rc;
	} else {
		on[0] = '\0';
		for (uint32_t i = 0; i < et->kind->nfields && !on[0]; i++) {
			const struct sl_field *f = &et->kind->fields[i];

			if (!(f->flags & SL_FF_EFFECTIVE) ||
			    !(et->fields & (1u << i)))
				continue;
			if (f->type == SL_F_REF)
				ref_date(d, txn, a, f, on);
			else
				cmd_arg_str(a, f->flag, on, sizeof on);
		}
		/* The CLI says which day it is where its user is. */
		if (!on[0] && (!cmd_arg_str(a, "today", on, sizeof on) ||
		    !sl_date_parse(on, strlen(on), ymd)))
			cmd_local_day(on);
	}
	if (on[0] && sl_date_parse(on, strlen(on), ymd))
		payload_str(pl, "on", on, strlen(on));
	return SL_OK;
}

/*
 * A change cannot take effect before its record existed (nor a step
 * before the change it follows: step_check, which reads the heads):
 * --as-of would then show neither (an event counts only with its
 * past).  A local rule; the fold takes such events as they are.
 */
static int
effective_check(const struct sl_evtype *et, const struct sl_rec *cur,
    const char *text, uint32_t on, char *msg, size_t mlen)
{
	char a[11], b[11];

	if (on == 0)
		return SL_OK;
	sl_date_format(on, a);
	if (on < cur->c_eff) {
		sl_date_format(cur->c_eff, b);
		return cmd_fail(msg, mlen, SL_EVALUE, "%s %s was recorded as "
		    "existing from %s, not on %s (give its add --on, or "
		    "a later --on)", et->kind->word, text, b, a);
	}
	return SL_OK;
}

/* What a new record's duplicate must share with it: fields that say
 * where it belongs (an organisation, a municipality) or when (a
 * meeting's date). */
struct dup_ctx {
	struct cmd_ctx *d;
	MDB_txn *txn;
	const struct args *a;
	const struct sl_kind *k;
	char fold[4 * SL_TEXT_MAX + 4];
	char found[SL_ID_TEXT + 1];
};

static bool
dup_scope(const struct sl_field *f)
{
	return strcmp(f->name, "org") == 0 ||
	    strcmp(f->name, "municipality") == 0 ||
	    (f->type == SL_F_DATE && (f->flags & SL_FF_SORT));
}

static int
dup_cb(void *ctx, const struct sl_rec *r)
{
	struct dup_ctx *x = ctx;
	char label[SL_TEXT_MAX + 1], f1[4 * SL_TEXT_MAX + 4];

	if (x->found[0] || r->kind != x->k || project_archived(r))
		return 0;
	project_label(r, label, sizeof label);
	sl_text_fold(label, strlen(label), f1, sizeof f1);
	if (strcmp(f1, x->fold) != 0)
		return 0;
	for (uint32_t i = 0; i < x->k->nfields; i++) {
		const struct sl_field *f = &x->k->fields[i];
		char mine[SL_TEXT_MAX + 1], theirs[SL_TEXT_MAX + 1];
		char a1[4 * SL_TEXT_MAX + 4], a2[4 * SL_TEXT_MAX + 4];

		if (!dup_scope(f) || f->type == SL_F_REFS ||
		    !cmd_arg_str(x->a, f->flag, mine, sizeof mine) ||
		    !project_str(r, f->name, theirs, sizeof theirs))
			continue;
		/* A reference was resolved to a full id in the payload; the
		 * argument may be a name or a prefix: compare what the
		 * record holds with what the argument resolves to. */
		if (f->type == SL_F_REF) {
			char full[SL_ID_TEXT + 1], m2[256];

			if (cmd_resolve_text(x->d, x->txn, f->flag, mine, f->ref,
			    full, m2, sizeof m2) == SL_OK &&
			    strcmp(full, theirs) == 0)
				continue;
			return 0;
		}
		sl_text_fold(mine, strlen(mine), a1, sizeof a1);
		sl_text_fold(theirs, strlen(theirs), a2, sizeof a2);
		if (strcmp(a1, a2) != 0)
			return 0;
	}
	sl_b32_encode(x->found, r->id, SL_ID_LEN);
	return 0;
}

/*
 * A new record with the label (name or title) of an active record of its
 * kind, in the same organisation, municipality or on the same day where
 * both say, is probably that record again: refused unless --force, with
 * the existing one's id.
 */
static int
duplicate_check(struct cmd_ctx *d, MDB_txn *txn, const struct args *a,
    const struct sl_kind *k, char *msg, size_t mlen)
{
	struct dup_ctx *x = calloc(1, sizeof *x);
	char label[SL_TEXT_MAX + 1];
	int rc = SL_OK;

	if (x == NULL)
		return SL_ENOMEM;
	x->d = d;
	x->txn = txn;
	x->a = a;
	x->k = k;
	if (k->nfields > 0 && cmd_arg_str(a, k->fields[0].flag, label,
	    sizeof label) && project_indexed(k->c, k->fields[0].name)) {
		sl_text_fold(label, strlen(label), x->fold, sizeof x->fold);
		if (project_list(d->p, txn, k->c, k->fields[0].name, label, NULL,
		    NULL, dup_cb, x) == SL_OK && x->found[0])
			rc = cmd_fail(msg, mlen, SL_EEXIST, "%s \"%s\" already "
			    "exists: %s (add --force to add another)", k->word,
			    label, x->found);
	}
	free(x);
	return rc;
}

/* A start after its end (an agreement's period) is refused: with the
 * record's current values where the change does not give them. */
static int
range_check(const struct args *a, const struct sl_rec *cur,
    const struct sl_kind *k, char *msg, size_t mlen)
{
	char start[32] = "", end[32] = "";

	if (sl_schema_field(k, "start", 5, NULL) == NULL ||
	    sl_schema_field(k, "end", 3, NULL) == NULL)
		return SL_OK;
	if (!cmd_arg_str(a, "start", start, sizeof start) && cur != NULL)
		project_str(cur, "start", start, sizeof start);
	if (!cmd_arg_str(a, "end", end, sizeof end) && cur != NULL)
		project_str(cur, "end", end, sizeof end);
	if (start[0] && end[0] && strcmp(start, end) > 0)
		return cmd_fail(msg, mlen, SL_EVALUE, "the %s would end (%s) "
		    "before it starts (%s)", k->word, end, start);
	return SL_OK;
}

/* KIND add: every field the creating type may carry, from its flag. */
int
cmd_write_add(struct cmd_ctx *d, struct store_batch *b, MDB_txn *txn,
    const struct args *a, const struct sl_evtype *et, const char *author,
    uint8_t id[SL_ID_LEN], bool *dead, char *msg, size_t mlen)
{
	const char *allowed[SL_SCHEMA_MAX_FIELDS + 6];
	struct payload pl = { 0 };
	uint32_t on;
	int rc;

	type_flags(et, allowed, sizeof allowed / sizeof allowed[0], NULL);
	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if ((rc = fields_from_args(d, txn, &pl, a, et, msg, mlen)) == SL_OK &&
	    (rc = range_check(a, NULL, et->kind, msg, mlen)) == SL_OK &&
	    (rc = effective_from_args(d, txn, &pl, a, et, &on, msg, mlen)) ==
	    SL_OK &&
	    (cmd_arg_get(a, "force") != NULL || a->import ||
	    (rc = duplicate_check(d, txn, a, et->kind, msg, mlen)) == SL_OK))
		rc = append_event(d, b, txn, et, author, NULL, &pl, id, dead,
		    msg, mlen);
	payload_free(&pl);
	return rc;
}

/* The lifecycle in words, from the schema: "proposed -> adopted or
 * rejected; adopted or amended -> amended or revoked". */
static void
lifecycle_text(const struct sl_kind *k, char *out, size_t len)
{
	uint32_t done = 0;

	out[0] = '\0';
	for (size_t i = 0; sl_schema_evtype_at(i) != NULL; i++) {
		const struct sl_evtype *et = sl_schema_evtype_at(i);

		if (et->kind != k || et->role != SL_ET_STEP ||
		    (done & (1u << i)))
			continue;
		size_t used = strlen(out);
		bool first = true;

		snprintf(out + used, len - used, "%s", used ? "; " : "");
		for (uint8_t s = 1; k->states[s] != NULL; s++) {
			if (!(et->from & (1u << s)))
				continue;
			used = strlen(out);
			snprintf(out + used, len - used, "%s%s", first ? "" :
			    " or ", k->states[s]);
			first = false;
		}
		used = strlen(out);
		snprintf(out + used, len - used, " ->");
		first = true;
		for (size_t j = i; sl_schema_evtype_at(j) != NULL; j++) {
			const struct sl_evtype *o = sl_schema_evtype_at(j);

			if (o->kind != k || o->role != SL_ET_STEP ||
			    o->from != et->from)
				continue;
			done |= 1u << j;
			used = strlen(out);
			snprintf(out + used, len - used, "%s %s", first ? "" :
			    " or", sl_schema_state_name(k, o->to));
			first = false;
		}
	}
}

/* SL_OK if step et may follow record cur's heads (the fold's own rule),
 * else SL_ESTATE and a message that says why and what would do. */
static int
step_check(struct cmd_ctx *d, MDB_txn *txn, const struct sl_evtype *et,
    const struct sl_rec *cur, const char *text, uint32_t on, char *msg,
    size_t mlen)
{
	const struct sl_kind *k = et->kind;
	uint8_t states[SL_MAX_PARENTS] = { 0 };
	uint16_t seens[SL_MAX_PARENTS] = { 0 };
	uint8_t origins[SL_MAX_PARENTS][SL_KEY_LEN] = { { 0 } };
	uint32_t last;
	uint32_t n = head_states(d, txn, cur, states, seens, origins, &last);
	char life[256];

	/* Nor a step before the change it follows: the greatest order
	 * day (11.5) of the heads it names. */
	if (on != 0 && on < last) {
		char a[11], b[11];

		sl_date_format(on, a);
		sl_date_format(last, b);
		return cmd_fail(msg, mlen, SL_EVALUE, "%s %s last changed on %s; "
		    "a step after that cannot take effect on %s", k->word,
		    text, b, a);
	}

	if (n > 0 && sl_fold_step_allowed(et, states, seens,
	    (const uint8_t (*)[SL_KEY_LEN])origins, n, n - 1, d->node))
		return SL_OK;
	if (cur->nheads > 1 && n > 0)
		return cmd_fail(msg, mlen, SL_ESTATE, "%s %s is in conflict "
		    "(%s and %s at once) and cannot be %s by this "
		    "organisation: a conflict ends when one side is accepted "
		    "by an organisation that did not take it", k->word, text,
		    sl_schema_state_name(k, states[0]),
		    sl_schema_state_name(k, states[n - 1]),
		    sl_schema_state_name(k, et->to));
	lifecycle_text(k, life, sizeof life);
	return cmd_fail(msg, mlen, SL_ESTATE, "%s %s is %s and cannot be %s "
	    "(allowed: %s)", k->word, text, sl_schema_state_name(k, cur->state),
	    sl_schema_state_name(k, et->to), life);
}

/* SL_OK if this organisation may change record cur with et: the fold's
 * rule (PROTOCOL.md 11.6), said before the event is made.  Until an
 * organisation has several devices, this node's key is its
 * organisation. */
static int
authority_check(struct cmd_ctx *d, MDB_txn *txn, const struct sl_evtype *et,
    const struct sl_rec *cur, const char *text, char *msg, size_t mlen)
{
	char org[SL_ORG_MAX + 1] = "";
	const struct sl_members *ms = project_members(d->p, txn);
	const uint8_t *owner = ms != NULL ? sl_members_org_of(ms,
	    cur->c_origin) : cur->c_origin;

	/* Whose record it is: the organisation its creator's key signs
	 * for, a device's as its organisation key's (12.3). */
	if (!sl_evtype_owner_only(et) ||
	    memcmp(owner, d->orgkey, SL_KEY_LEN) == 0)
		return SL_OK;
	project_node_org(d->p, txn, cur->c_origin, org, sizeof org);
	if (org[0] == '\0') {
		char id[SL_NODE_ID_TEXT + 1];

		sl_b32_encode(id, cur->c_origin, SL_KEY_LEN);
		snprintf(org, sizeof org, "node %.10s", id);
	}
	if (et->kind->owned)
		return cmd_fail(msg, mlen, SL_EPERM, "%s %s is %s's: only %s "
		    "may %s it", et->kind->word, text, org, org,
		    et->verb != NULL ? et->verb : "change");
	return cmd_fail(msg, mlen, SL_EPERM, "%s %s was recorded by %s: only "
	    "%s may %s it", et->kind->word, text, org, org, et->verb);
}

/* KIND update ID / KIND STEP ID: an event naming an existing record and
 * its heads.  A step must be allowed from the state of one of the heads
 * (the same rule the fold applies when any node folds it). */
int
cmd_write_change(struct cmd_ctx *d, struct store_batch *b, MDB_txn *txn,
    const struct args *a, const struct sl_evtype *et, const char *author,
    uint8_t id[SL_ID_LEN], bool *dead, char *msg, size_t mlen)
{
	const struct sl_kind *k = et->kind;
	const char *allowed[SL_SCHEMA_MAX_FIELDS + 6];
	struct payload pl = { 0 };
	struct sl_rec cur;
	char text[SL_TEXT_MAX + 1], words[32], kinds[2] = { 0, 0 };
	uint32_t on;
	int rc;

	type_flags(et, allowed, sizeof allowed / sizeof allowed[0], "id");
	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", text, sizeof text))
		return cmd_fail(msg, mlen, SL_EUSAGE, "%s needs an ID",
		    cmd_words(a->cmd, words));
	kinds[0] = k->c;
	if ((rc = cmd_resolve(d, txn, NULL, text, kinds, id, msg, mlen)) !=
	    SL_OK)
		return rc;
	if ((rc = fields_from_args(d, txn, &pl, a, et, msg, mlen)) != SL_OK)
		goto out;
	if (et->role == SL_ET_UPDATE && pl.n == 0) {
		char list[256] = "";

		for (const char *const *f = allowed + 1; *f; f++) {
			size_t used = strlen(list);

			if (strcmp(*f, "on") == 0 || strcmp(*f, "today") == 0)
				continue;
			snprintf(list + used, sizeof list - used, "%s--%s",
			    used == 0 ? "" : f[1] == NULL ? " or " : ", ", *f);
		}
		rc = cmd_fail(msg, mlen, SL_EUSAGE, "%s needs at least one of %s",
		    cmd_words(a->cmd, words), list);
		goto out;
	}
	if ((rc = effective_from_args(d, txn, &pl, a, et, &on, msg, mlen)) !=
	    SL_OK)
		goto out;
	if (project_get(d->p, txn, id, &cur) != SL_OK) {
		rc = cmd_fail(msg, mlen, SL_ENOENT, "no %s with id %s", k->word,
		    text);
		goto out;
	}
	if ((rc = authority_check(d, txn, et, &cur, text, msg, mlen)) !=
	    SL_OK ||
	    (rc = effective_check(et, &cur, text, on, msg, mlen)) !=
	    SL_OK || (rc = range_check(a, &cur, k, msg, mlen)) != SL_OK) {
		sl_rec_free(&cur);
		goto out;
	}
	if (et->sets != 0 && project_archived(&cur) ==
	    (et->sets == SL_SETS_TRUE)) {
		rc = cmd_fail(msg, mlen, SL_EVALUE, "%s %s is %s archived",
		    k->word, text, et->sets == SL_SETS_TRUE ? "already" :
		    "not");
		sl_rec_free(&cur);
		goto out;
	}
	if (et->role == SL_ET_STEP && (rc = step_check(d, txn, et, &cur, text,
	    on, msg, mlen)) != SL_OK) {
		sl_rec_free(&cur);
		goto out;
	}
	sl_rec_free(&cur);
	rc = append_event(d, b, txn, et, author, id, &pl, id, dead, msg, mlen);
out:
	payload_free(&pl);
	return rc;
}

/* The event type a write command makes ("decision.adopt"), or NULL. */
const struct sl_evtype *
cmd_write_type(const char *cmd)
{
	char word[16];
	size_t n = strcspn(cmd, ".");
	const struct sl_kind *k;

	if (cmd[n] != '.' || n >= sizeof word)
		return NULL;
	memcpy(word, cmd, n);
	word[n] = '\0';
	if ((k = sl_schema_kind(word)) == NULL || !k->record)
		return NULL;
	return sl_schema_verb(k, cmd + n + 1);
}

bool
cmd_is_write(const char *cmd)
{
	return cmd_write_type(cmd) != NULL;
}

/* One write request inside the group commit's transaction. */
static int
write_one(struct cmd_ctx *d, struct store_batch *b, struct pending *p,
    bool *dead)
{
	MDB_txn *txn = store_batch_txn(b);
	struct args *a = malloc(sizeof *a);
	const struct sl_evtype *et;
	int rc;

	if (a == NULL)
		return SL_ENOMEM;
	if ((rc = cmd_args_parse(a, p->body, p->len, p->msg, sizeof p->msg)) !=
	    SL_OK)
		goto out;
	const struct sl_members *ms = project_members(d->p, txn);
	const struct sl_member *self = ms != NULL ? sl_members_get(ms,
	    d->orgkey) : NULL;
	uint64_t dev_upto = UINT64_MAX;
	bool dev_cut = ms != NULL && !sl_members_current(ms, d->node) &&
	    (!sl_members_signer(ms, d->node, &dev_upto) ||
	    dev_upto != UINT64_MAX);

	if ((et = cmd_write_type(a->cmd)) == NULL)
		rc = cmd_fail(p->msg, sizeof p->msg, SL_EUSAGE, "unknown command");
	else if (self != NULL && self->upto != UINT64_MAX) {
		/* Its events after the cut-off count on no member's node:
		 * a record written now would exist here alone. */
		const char *by = sl_members_name_at(ms, self->retired_by,
		    UINT64_MAX);

		rc = cmd_fail(p->msg, sizeof p->msg, SL_EPERM, "this "
		    "organisation was retired from the federation%s%s: its "
		    "new records would count on no member's node", by != NULL ?
		    " by " : "", by != NULL ? by : "");
	} else if (dev_cut) {
		rc = cmd_fail(p->msg, sizeof p->msg, SL_EPERM, "%s",
		    cmd_restart_wanted(d) ? "this node moved to a new key: "
		    "it signs again once samlogd has started with it" :
		    dev_upto != UINT64_MAX ? "this node's key was revoked: "
		    "its new records would count on no member's node (samlog "
		    "device list)" : "this device's certificate has not "
		    "reached it yet: sync with a node of its organisation "
		    "first (samlog peer list)");
	} else if (et->role == SL_ET_CREATE)
		rc = cmd_write_add(d, b, txn, a, et, p->author, p->rec_id, dead,
		    p->msg, sizeof p->msg);
	else
		rc = cmd_write_change(d, b, txn, a, et, p->author, p->rec_id, dead,
		    p->msg, sizeof p->msg);
out:
	free(a);
	return rc;
}

/* ---- the group commit ------------------------------------------------------- */


void
cmd_commit(struct cmd_ctx *d)
{
	struct pending *list = d->head, *p;
	struct store_batch *b = NULL;
	char err[1024];
	int rc;

	/* At most GROUP_MAX writes per commit: bounds the commit's dirty
	 * pages (LMDB keeps them cached) and the wait of the first writer. */
	size_t k = 1;

	if (list == NULL || d->held)
		return;
	for (p = list; p->next != NULL && k < GROUP_MAX; p = p->next)
		k++;
	d->head = p->next;
	p->next = NULL;
	if (d->head == NULL)
		d->tail = &d->head;
	else
		uv_idle_start(&d->idle, cmd_idle_cb);
retry:
	for (p = list; p; p = p->next) {
		p->code = SL_OK;
		p->msg[0] = '\0';
	}
	if ((rc = store_batch_begin(d->s, &b, err, sizeof err)) != SL_OK) {
		if (rc == SL_ERETRY)
			goto retry;   /* the map grew; it is bounded */
		for (p = list; p; p = p->next) {
			p->code = rc;
			snprintf(p->msg, sizeof p->msg, "%s", err);
		}
		goto reply;
	}
	bool dead = false;
	size_t ok = 0;

	for (p = list; p && !dead; p = p->next) {
		p->code = write_one(d, b, p, &dead);
		ok += p->code == SL_OK;
		if (dead) {
			rc = p->code;
			snprintf(err, sizeof err, "%s", p->msg);
		}
	}
	if (dead) {
		store_batch_abort(b);
		if (rc == SL_ERETRY)
			goto retry;
		for (p = list; p; p = p->next) {
			p->code = rc;
			snprintf(p->msg, sizeof p->msg, "%s", err);
		}
		goto reply;
	}
	if (ok == 0) {
		store_batch_abort(b);
		goto reply;
	}
	if ((rc = store_batch_commit(b, err, sizeof err)) == SL_ERETRY)
		goto retry;
	d->commits++;
	if (rc == SL_OK && d->sync != NULL)
		sync_log_grew(d->sync);
	if (rc != SL_OK) {
		log_warn("commit failed: %s", err);
		for (p = list; p; p = p->next) {
			if (p->code == SL_OK) {
				p->code = rc;
				snprintf(p->msg, sizeof p->msg, "%s", err);
			}
		}
	}
reply:;
	MDB_txn *txn = NULL;

	store_read_begin(d->s, &txn);
	while ((p = list) != NULL) {
		list = p->next;
		d->writes++;
		if (ctl_conn_alive(p->c)) {
			struct sl_rec r;

			if (p->code == SL_OK && txn != NULL &&
			    project_get(d->p, txn, p->rec_id, &r) == SL_OK) {
				cmd_send_record(d, p->c, p->id, txn, &r, false);
				sl_rec_free(&r);
			}
			cmd_reply_end(p->c, p->id);
			cmd_reply_result(p->c, p->id, p->code,
			    p->code == SL_OK ? "ok" : p->msg[0] ? p->msg :
			    sl_strerror(p->code), p->code == SL_OK ? p->rec_id :
			    NULL);
			if (list == NULL || list->c != p->c)
				ctl_flush(p->c);
		}
		ctl_conn_unref(p->c);
		free(p->body);
		free(p);
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
}

void
cmd_idle_cb(uv_idle_t *h)
{
	struct cmd_ctx *d = h->data;

	uv_idle_stop(h);
	cmd_commit(d);
}
