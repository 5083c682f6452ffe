/*
 * cmd_import.c - samlog import: rows arrive in chunks per connection and
 * are written in one commit, or not at all.  Each row is a KIND add; a
 * status is reached through the lifecycle's steps, found in the schema.
 */
#include <ctype.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_int.h"

/* ---- imports ------------------------------------------------------------- */

static struct import_sess *
import_find(struct cmd_ctx *d, struct ctl_conn *c, bool add)
{
	struct import_sess **pp, *x;

	/* Sessions of connections that went away are dropped here. */
	for (pp = &d->imports; (x = *pp) != NULL;) {
		if (!ctl_conn_alive(x->c)) {
			*pp = x->next;
			ctl_conn_unref(x->c);
			free(x->rows.p);
			free(x);
			continue;
		}
		if (x->c == c)
			return x;
		pp = &x->next;
	}
	if (!add || (x = calloc(1, sizeof *x)) == NULL)
		return NULL;
	x->c = c;
	ctl_conn_ref(c);
	x->next = d->imports;
	d->imports = x;
	return x;
}

void
cmd_import_drop(struct cmd_ctx *d, struct import_sess *x)
{
	for (struct import_sess **pp = &d->imports; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	}
	ctl_conn_unref(x->c);
	free(x->rows.p);
	free(x);
}

/* An old id (from an export) and the record made for it here. */
struct remap {
	char old[SL_ID_TEXT + 1];
	char now[SL_ID_TEXT + 1];
};

/* True if flag names a reference to another record in some kind. */
static bool
is_ref_flag(const char *flag)
{
	for (size_t i = 0; i < sl_schema_kind_count(); i++) {
		const struct sl_kind *k = sl_schema_kind_at(i);

		for (uint32_t j = 0; j < k->nfields; j++)
			if ((k->fields[j].type == SL_F_REF ||
			    k->fields[j].type == SL_F_REFS) &&
			    strcmp(k->fields[j].flag, flag) == 0)
				return true;
	}
	return false;
}

/* Points reference arguments that name an old id of this import at the
 * record made for it. */
static void
remap_refs(struct args *a, const struct remap *m, size_t n)
{
	if (n == 0)
		return; /* no old ids (a spreadsheet): nothing to look up */
	for (uint32_t i = 0; i < a->n; i++) {
		struct arg *g = &a->a[i];

		if (!is_ref_flag(g->name))
			continue;
		for (size_t k = 0; k < n; k++) {
			size_t ol = strlen(m[k].old);

			if (g->type == ARG_STR && g->slen == ol &&
			    memcmp(g->s, m[k].old, ol) == 0) {
				g->s = m[k].now;
				g->slen = (uint32_t)strlen(m[k].now);
			}
			for (uint32_t e = 0; g->type == ARG_ARR && e < g->n; e++)
				if (g->elen[e] == ol &&
				    memcmp(g->e[e], m[k].old, ol) == 0) {
					g->e[e] = m[k].now;
					g->elen[e] = (uint32_t)strlen(m[k].now);
				}
		}
	}
}

/* Takes argument name out of a (copying its text into out). */
static bool
arg_take(struct args *a, const char *name, char *out, size_t outlen)
{
	for (uint32_t i = 0; i < a->n; i++) {
		if (strcmp(a->a[i].name, name) != 0)
			continue;
		cmd_arg_str(a, name, out, outlen);
		a->a[i] = a->a[--a->n];
		return true;
	}
	return false;
}

/*
 * The steps that lead a new record of kind k from state `from` to state
 * `to`, shortest first, found by walking the schema's lifecycle; the
 * count, or -1 if `to` cannot be reached.
 */
static int
lifecycle_path(const struct sl_kind *k, uint8_t from, uint8_t to,
    const struct sl_evtype **out, int max)
{
	const struct sl_evtype *via[32] = { 0 };
	uint8_t queue[32], prev[32];
	bool seen[32] = { false };
	int qh = 0, qt = 0, n = 0;

	if (from == to)
		return 0;
	queue[qt++] = from;
	seen[from] = true;
	while (qh < qt) {
		uint8_t s = queue[qh++];

		for (size_t i = 0; sl_schema_evtype_at(i) != NULL; i++) {
			const struct sl_evtype *et = sl_schema_evtype_at(i);

			if (et->kind != k || et->role != SL_ET_STEP ||
			    !(et->from & (1u << s)) || et->to >= 32 ||
			    seen[et->to])
				continue;
			seen[et->to] = true;
			via[et->to] = et;
			prev[et->to] = s;
			queue[qt++] = et->to;
		}
	}
	if (!seen[to])
		return -1;
	for (uint8_t s = to; s != from; s = prev[s])
		n++;
	if (n > max)
		return -1;
	for (uint8_t s = to, i = (uint8_t)n; s != from; s = prev[s])
		out[--i] = via[s];
	return n;
}

/* ---- references ------------------------------------------------------------ */

/*
 * The record a reference cell names, as its full id's text in out: what
 * an import accepts in a reference column.  Today an id, or an id prefix
 * of 4 or more characters, of a record of the kind field f refers to.
 */
static int
import_ref(struct cmd_ctx *d, MDB_txn *txn, const struct sl_field *f,
    const char *text, uint32_t n, char out[SL_ID_TEXT + 1], char *msg,
    size_t mlen)
{
	char t[SL_TEXT_MAX + 1];

	snprintf(t, sizeof t, "%.*s", (int)n, text);
	return cmd_resolve_text(d, txn, f->flag, t, f->ref, out, msg, mlen);
}

/* Points every reference argument of a row of kind k at the full id
 * import_ref finds; *ids (the caller frees) holds the texts. */
static int
resolve_refs(struct cmd_ctx *d, MDB_txn *txn, struct args *a,
    const struct sl_kind *k, char (**ids)[SL_ID_TEXT + 1], char *msg,
    size_t mlen)
{
	size_t count = 0, used = 0;
	int rc;

	*ids = NULL;
	for (uint32_t i = 0; i < a->n; i++)
		count += a->a[i].type == ARG_ARR ? a->a[i].n : 1;
	if ((*ids = calloc(count ? count : 1, sizeof **ids)) == NULL)
		return SL_ENOMEM;
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];
		struct arg *g = NULL;

		if (f->type != SL_F_REF && f->type != SL_F_REFS)
			continue;
		for (uint32_t j = 0; j < a->n && g == NULL; j++)
			if (strcmp(a->a[j].name, f->flag) == 0)
				g = &a->a[j];
		if (g == NULL || g->type == ARG_TRUE)
			continue;
		if (g->type == ARG_STR) {
			if ((rc = import_ref(d, txn, f, g->s, g->slen,
			    (*ids)[used], msg, mlen)) != SL_OK)
				return rc;
			g->s = (*ids)[used++];
			g->slen = SL_ID_TEXT;
			continue;
		}
		for (uint32_t e = 0; e < g->n; e++) {
			if ((rc = import_ref(d, txn, f, g->e[e], g->elen[e],
			    (*ids)[used], msg, mlen)) != SL_OK)
				return rc;
			g->e[e] = (*ids)[used++];
			g->elen[e] = SL_ID_TEXT;
		}
	}
	return SL_OK;
}

/* ---- records that exist by name ----------------------------------------- */

/*
 * A row without an id (or with one from another node) is the record of
 * its kind it names by name or title, and for a kind listed by date, by
 * its date too (a meeting held every month keeps its title): such a row
 * is skipped unless the import is forced.  Names match case-folded.
 * Only the records that were there before the import count: a file may
 * hold two people of one name.
 */
struct names {
	struct name_ent {
		char *key;
		uint8_t id[SL_ID_LEN];
		bool own;      /* made by this organisation */
	} *e;
	size_t n, cap;         /* cap: a power of two, or 0 */
	/* For names_load: whose records are this organisation's. */
	const struct sl_members *ms;
	const uint8_t *orgkey;
};

static const struct sl_field *
name_field(const struct sl_kind *k)
{
	const struct sl_field *f = sl_schema_field(k, "name", 4, NULL);

	return f != NULL ? f : sl_schema_field(k, "title", 5, NULL);
}

static const struct sl_field *
date_field(const struct sl_kind *k)
{
	for (uint32_t i = 0; i < k->nfields; i++)
		if (k->fields[i].type == SL_F_DATE &&
		    (k->fields[i].flags & SL_FF_SORT))
			return &k->fields[i];
	return NULL;
}

/* The key of a record of kind k called name (dated date, or ""). */
static char *
name_key(const struct sl_kind *k, const char *name, const char *date)
{
	size_t n = strlen(name), dl = strlen(date);
	char *key = malloc(n + dl + 3);

	if (key == NULL)
		return NULL;
	key[0] = k->c;
	sl_text_fold(name, n, key + 1, n + 1);
	key[n + 1] = '\x1f';
	memcpy(key + n + 2, date, dl + 1);
	return key;
}

static uint64_t
name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void
names_free(struct names *nm)
{
	for (size_t i = 0; i < nm->cap; i++)
		free(nm->e[i].key);
	free(nm->e);
	*nm = (struct names){ 0 };
}

/* The slot of key: its entry, or the empty one where it would go. */
static struct name_ent *
names_slot(const struct names *nm, const char *key)
{
	size_t i = (size_t)name_hash(key) & (nm->cap - 1);

	while (nm->e[i].key != NULL && strcmp(nm->e[i].key, key) != 0)
		i = (i + 1) & (nm->cap - 1);
	return &nm->e[i];
}

/* Adds key (taken) for id, made by this organisation if own; false if
 * out of memory. */
static bool
names_put(struct names *nm, char *key, const uint8_t id[SL_ID_LEN],
    bool own)
{
	if (key == NULL)
		return false;
	if (2 * (nm->n + 1) > nm->cap) {
		struct names big = { 0 };

		big.cap = nm->cap ? nm->cap * 2 : 64;
		if ((big.e = calloc(big.cap, sizeof *big.e)) == NULL) {
			free(key);
			return false;
		}
		for (size_t i = 0; i < nm->cap; i++)
			if (nm->e[i].key != NULL)
				*names_slot(&big, nm->e[i].key) = nm->e[i];
		big.n = nm->n;
		big.ms = nm->ms;
		big.orgkey = nm->orgkey;
		free(nm->e);
		*nm = big;
	}
	struct name_ent *slot = names_slot(nm, key);

	/*
	 * Two records of one name: this organisation's own, else the first
	 * listed (the oldest).  Not simply the first: clocks are the
	 * signer's word, and another member's duplicate dated back would
	 * take every later row of that name (test_attack13).
	 */
	if (slot->key != NULL) {
		if (own && !slot->own) {
			memcpy(slot->id, id, SL_ID_LEN);
			slot->own = true;
		}
		free(key);
		return true;
	}
	slot->key = key;
	memcpy(slot->id, id, SL_ID_LEN);
	slot->own = own;
	nm->n++;
	return true;
}

static int
names_cb(void *ctx, const struct sl_rec *r)
{
	const struct sl_field *nf = name_field(r->kind), *df = date_field(r->kind);
	char name[SL_TEXT_MAX + 1], date[16] = "";

	/* An archived record is no duplicate: a row with its name adds a
	 * new, active one. */
	if (nf == NULL || project_archived(r) ||
	    !project_str(r, nf->name, name, sizeof name))
		return 0;
	if (df != NULL)
		project_str(r, df->name, date, sizeof date);
	const struct names *nm = ctx;
	const uint8_t *by = nm->ms != NULL ? sl_members_org_of(nm->ms,
	    r->c_origin) : r->c_origin;

	return names_put(ctx, name_key(r->kind, name, date), r->id,
	    memcmp(by, nm->orgkey, SL_KEY_LEN) == 0) ? 0 :
	    SL_ENOMEM;
}

/* Every record of every kind that has a name or a title. */
static int
names_load(struct cmd_ctx *d, MDB_txn *txn, struct names *nm)
{
	names_free(nm);
	nm->ms = project_members(d->p, txn);
	nm->orgkey = d->orgkey;
	for (size_t i = 0; i < sl_schema_kind_count(); i++) {
		const struct sl_kind *k = sl_schema_kind_at(i);
		int rc;

		if (!k->record || name_field(k) == NULL)
			continue;
		if ((rc = project_list(d->p, txn, k->c, NULL, NULL, NULL, NULL,
		    names_cb, nm)) != SL_OK)
			return rc;
	}
	return SL_OK;
}

/* The record a row of kind k names by name (and date), if any. */
static bool
names_find(const struct names *nm, const struct sl_kind *k,
    const struct args *a, uint8_t id[SL_ID_LEN], char *name, size_t nlen)
{
	const struct sl_field *nf = name_field(k), *df = date_field(k);
	char date[16] = "", *key;
	bool found = false;

	if (nf == NULL || nm->cap == 0 || !cmd_arg_str(a, nf->flag, name, nlen))
		return false;
	if (df != NULL)
		cmd_arg_str(a, df->flag, date, sizeof date);
	if ((key = name_key(k, name, date)) == NULL)
		return false;
	const struct name_ent *e = names_slot(nm, key);

	if (e->key != NULL) {
		memcpy(id, e->id, SL_ID_LEN);
		found = true;
	}
	free(key);
	return found;
}

/* ---- rows ---------------------------------------------------------------- */

/* One import's commit: the batch, what the rows did. */
struct import_run {
	struct cmd_ctx *d;
	struct store_batch *b;
	const char *author;
	struct remap *map;
	size_t nmap;
	struct names names;
	bool force, dead;
	uint64_t added, updated, unchanged, skipped;
	struct sl_buf skips;    /* [line, kind, id, name] of the first ones */
	uint32_t nskips;
};

#define IMPORT_MAX_SKIPS 20

static void
remap_add(struct import_run *x, const char *old, const uint8_t id[SL_ID_LEN])
{
	if (strlen(old) != SL_ID_TEXT)
		return;
	memcpy(x->map[x->nmap].old, old, SL_ID_TEXT + 1);
	sl_b32_encode(x->map[x->nmap].now, id, SL_ID_LEN);
	x->nmap++;
}

/* The steps of kind k that lead record id from state `from` to `to`,
 * each carrying what it requires from the row a. */
static int
run_steps(struct import_run *x, MDB_txn *txn, const struct args *a,
    const struct sl_kind *k, const uint8_t id[SL_ID_LEN],
    const struct sl_evtype *const *steps, int nsteps, char *msg, size_t mlen)
{
	struct args *sa;
	char idt[SL_ID_TEXT + 1];
	int rc = SL_OK;

	if (nsteps == 0)
		return SL_OK;
	if ((sa = calloc(1, sizeof *sa)) == NULL)
		return SL_ENOMEM;
	sl_b32_encode(idt, id, SL_ID_LEN);
	for (int i = 0; i < nsteps && rc == SL_OK; i++) {
		const struct sl_evtype *st = steps[i];
		uint8_t sid[SL_ID_LEN];

		memset(sa, 0, sizeof *sa);
		snprintf(sa->cmd, sizeof sa->cmd, "%s.import", k->word);
		sa->n = 1;
		snprintf(sa->a[0].name, sizeof sa->a[0].name, "id");
		sa->a[0].type = ARG_STR;
		sa->a[0].s = idt;
		sa->a[0].slen = SL_ID_TEXT;
		/* What a step requires (an amendment's text) is the row's:
		 * the status says the record got there. */
		for (uint32_t f = 0; f < k->nfields; f++) {
			const struct sl_field *fd = &k->fields[f];
			const struct arg *t;

			if (!(st->required & (1u << f)))
				continue;
			if ((t = cmd_arg_get(a, fd->flag)) == NULL) {
				rc = cmd_fail(msg, mlen, SL_EVALUE, "an %s %s needs "
				    "its %s", sl_schema_state_name(k, st->to),
				    k->word, fd->name);
				break;
			}
			sa->a[sa->n++] = *t;
		}
		if (rc == SL_OK)
			rc = cmd_write_change(x->d, x->b, txn, sa, st, x->author,
			    sid, &x->dead, msg, mlen);
	}
	free(sa);
	return rc;
}

/* The texts an argument carries, without repeats, in order. */
static uint32_t
arg_values(const struct arg *g, const char **v, uint32_t *vl)
{
	uint32_t n = 0, cnt = g->type == ARG_STR ? 1 : g->type == ARG_ARR ?
	    g->n : 0;

	for (uint32_t i = 0; i < cnt; i++) {
		const char *s = g->type == ARG_STR ? g->s : g->e[i];
		uint32_t sl = g->type == ARG_STR ? g->slen : g->elen[i];
		bool dup = false;

		for (uint32_t j = 0; j < n && !dup; j++)
			dup = vl[j] == sl && memcmp(v[j], s, sl) == 0;
		if (!dup) {
			v[n] = s;
			vl[n++] = sl;
		}
	}
	return n;
}

/* True if argument g gives field i of record r the value it has. */
static bool
field_same(const struct sl_rec *r, uint32_t i, const struct arg *g)
{
	const struct sl_field *f = &r->kind->fields[i];
	const struct sl_recfield *rf = &r->f[i];
	const char *v[MAX_ELEMS], *s;
	uint32_t vl[MAX_ELEMS], n, sl;
	struct sl_mp m;
	bool b = false;

	sl_mp_init(&m, rf->val, rf->val ? rf->len : 0);
	if (rf->val != NULL && sl_mp_read_nil(&m))
		sl_mp_init(&m, NULL, 0);     /* nil: as absent */
	switch (f->type) {
	case SL_F_BOOL:
		if (m.p != NULL && sl_mp_read_bool(&m, &b) != SL_OK)
			return false;
		return b == (g->type == ARG_TRUE);
	case SL_F_REFS:
	case SL_F_TEXTS:
		n = arg_values(g, v, vl);
		if (m.p == NULL)
			return n == 0;
		if (sl_mp_read_array(&m, &sl, SL_LIST_MAX) != SL_OK || sl != n)
			return false;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t el;

			if (sl_mp_read_str(&m, &s, &el, 0, UINT32_MAX) != SL_OK ||
			    el != vl[k] || memcmp(s, v[k], el) != 0)
				return false;
		}
		return true;
	default:
		if (arg_values(g, v, vl) != 1)
			return false;
		if (m.p == NULL)
			return f->dflt != NULL && strlen(f->dflt) == vl[0] &&
			    memcmp(f->dflt, v[0], vl[0]) == 0;
		return sl_mp_read_str(&m, &s, &sl, 0, UINT32_MAX) == SL_OK &&
		    sl == vl[0] && memcmp(s, v[0], sl) == 0;
	}
}

/* The event type that updates records of kind k, or NULL. */
static const struct sl_evtype *
update_type(const struct sl_kind *k)
{
	const struct sl_evtype *et;

	for (size_t i = 0; (et = sl_schema_evtype_at(i)) != NULL; i++)
		if (et->kind == k && et->role == SL_ET_UPDATE && et->verb != NULL)
			return et;
	return NULL;
}

/* A row naming existing record cur: the lifecycle steps to the status
 * it gives, then one update of the fields that differ, or nothing. */
static int
update_row(struct import_run *x, MDB_txn *txn, const struct args *a,
    const struct sl_rec *cur, const char *status, char *msg, size_t mlen)
{
	const struct sl_kind *k = cur->kind;
	const struct sl_evtype *upd = update_type(k), *steps[8] = { NULL };
	uint32_t differ = 0, covered = 0, rest;
	uint8_t to = status[0] ? sl_schema_state(k, status) : cur->state;
	char idt[SL_ID_TEXT + 1];
	int nsteps = 0, rc;

	sl_b32_encode(idt, cur->id, SL_ID_LEN);
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct arg *g = cmd_arg_get(a, k->fields[i].flag);

		if (g != NULL && k->fields[i].type != SL_F_STATE &&
		    !field_same(cur, i, g))
			differ |= 1u << i;
		/* An old file must not bring back what was erased. */
		if (g != NULL && sl_rec_erased(cur, i))
			return cmd_fail(msg, mlen, SL_EVALUE, "%s %s: its %s was "
			    "erased, and an import does not bring it back "
			    "(leave that cell empty)", k->word, idt,
			    k->fields[i].name);
	}
	if (to != cur->state && (nsteps = lifecycle_path(k, cur->state, to,
	    steps, 8)) < 0)
		return cmd_fail(msg, mlen, SL_ESTATE, "%s %s is %s and cannot "
		    "become %s", k->word, idt, sl_schema_state_name(k,
		    cur->state), status);
	if (differ == 0 && nsteps == 0) {
		x->unchanged++;
		return SL_OK;
	}
	for (int i = 0; i < nsteps; i++)
		covered |= steps[i] != NULL ? steps[i]->required : 0;
	rest = differ & ~covered;
	if (rest != 0 && (upd == NULL || (rest & ~upd->fields))) {
		uint32_t i = 0;

		while (!(rest & (1u << i)) || (upd && (upd->fields & (1u << i))))
			i++;
		return cmd_fail(msg, mlen, SL_EVALUE, "%s %s: its %s differs, and "
		    "this version has no %s event an import can change it with",
		    k->word, idt, k->fields[i].name, k->word);
	}
	if ((rc = run_steps(x, txn, a, k, cur->id, steps, nsteps, msg, mlen)) !=
	    SL_OK)
		return rc;
	if (rest != 0) {
		struct args *ua = calloc(1, sizeof *ua);
		uint8_t id[SL_ID_LEN];

		if (ua == NULL)
			return SL_ENOMEM;
		snprintf(ua->cmd, sizeof ua->cmd, "%s.%s", k->word, upd->verb);
		snprintf(ua->a[0].name, sizeof ua->a[0].name, "id");
		ua->a[0].type = ARG_STR;
		ua->a[0].s = idt;
		ua->a[0].slen = SL_ID_TEXT;
		ua->n = 1;
		for (uint32_t i = 0; i < k->nfields; i++)
			if (rest & (1u << i))
				ua->a[ua->n++] = *cmd_arg_get(a, k->fields[i].flag);
		rc = cmd_write_change(x->d, x->b, txn, ua, upd, x->author, id,
		    &x->dead, msg, mlen);
		free(ua);
		if (rc != SL_OK)
			return rc;
	}
	x->updated++;
	return SL_OK;
}

/* Notes a row skipped for the record of its name. */
static void
skip_note(struct import_run *x, uint64_t line, const struct sl_kind *k,
    const uint8_t id[SL_ID_LEN], const char *name)
{
	char idt[SL_ID_TEXT + 1];
	msgpack_packer pk;

	x->skipped++;
	if (x->nskips >= IMPORT_MAX_SKIPS)
		return;
	x->nskips++;
	sl_b32_encode(idt, id, SL_ID_LEN);
	msgpack_packer_init(&pk, &x->skips, sl_buf_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint64(&pk, line);
	sl_pack_cstr(&pk, k->word);
	sl_pack_cstr(&pk, idt);
	sl_pack_cstr(&pk, name);
}

/*
 * One row inside the import's batch.  A row whose id names a record of
 * its kind here updates it (what differs, if anything); any other row
 * adds a record, then the lifecycle steps that bring it to the status
 * the row gives, unless a record of its name exists (then it is skipped,
 * and its id, from another node, stands for that record).  SL_OK, or an
 * error in msg (x->dead set when the batch itself failed).
 */
static int
import_row(struct import_run *x, uint64_t line, const uint8_t *body,
    size_t len, char *msg, size_t mlen)
{
	MDB_txn *txn = store_batch_txn(x->b);
	struct args *a = malloc(sizeof *a);
	char old[64] = "", status[32] = "", name[SL_TEXT_MAX + 1];
	char (*ids)[SL_ID_TEXT + 1] = NULL;
	const struct sl_evtype *et, *steps[8] = { NULL };
	uint8_t id[SL_ID_LEN];
	int nsteps = 0, rc;

	if (a == NULL)
		return SL_ENOMEM;
	if ((rc = cmd_args_parse(a, body, len, msg, mlen)) != SL_OK)
		goto out;
	if ((et = cmd_write_type(a->cmd)) == NULL || et->role != SL_ET_CREATE) {
		rc = cmd_fail(msg, mlen, SL_EUSAGE, "not a record to add");
		goto out;
	}
	arg_take(a, "id", old, sizeof old);
	a->import = true;
	/* A lifecycle's state is reached by its steps; a kind without one
	 * (an organisation's status) takes the field as it is. */
	if (et->kind->states != NULL &&
	    arg_take(a, "status", status, sizeof status) &&
	    sl_schema_state(et->kind, status) == 0) {
		rc = cmd_fail(msg, mlen, SL_EVALUE, "invalid status \"%s\"", status);
		goto out;
	}
	remap_refs(a, x->map, x->nmap);
	if ((rc = resolve_refs(x->d, txn, a, et->kind, &ids, msg, mlen)) != SL_OK)
		goto out;
	if (old[0] != '\0') {
		struct sl_rec cur;

		rc = cmd_resolve(x->d, txn, NULL, old, 0, id, msg, mlen);
		if (rc == SL_OK && project_get(x->d->p, txn, id, &cur) != SL_OK)
			rc = cmd_fail(msg, mlen, SL_ESTORE, "cannot read %s", old);
		if (rc == SL_OK) {
			if (cur.kind != et->kind)
				rc = cmd_fail(msg, mlen, SL_EVALUE, "id %s is a %s, "
				    "not a %s", old, cur.kind ? cur.kind->word :
				    "record", et->kind->word);
			else
				rc = update_row(x, txn, a, &cur, status, msg,
				    mlen);
			sl_rec_free(&cur);
			goto out;
		}
		/* A full id this node does not hold: a record exported from
		 * another node, added here under a new id. */
		if (rc != SL_ENOENT || strlen(old) != SL_ID_TEXT)
			goto out;
	}
	if (!x->force && names_find(&x->names, et->kind, a, id, name,
	    sizeof name)) {
		skip_note(x, line, et->kind, id, name);
		remap_add(x, old, id);
		rc = SL_OK;
		goto out;
	}
	if (status[0] && (nsteps = lifecycle_path(et->kind, et->to,
	    sl_schema_state(et->kind, status), steps, 8)) < 0) {
		rc = cmd_fail(msg, mlen, SL_EVALUE, "invalid status \"%s\"", status);
		goto out;
	}
	if ((rc = cmd_write_add(x->d, x->b, txn, a, et, x->author, id, &x->dead,
	    msg, mlen)) != SL_OK)
		goto out;
	remap_add(x, old, id);
	if ((rc = run_steps(x, txn, a, et->kind, id, steps, nsteps, msg,
	    mlen)) == SL_OK)
		x->added++;
out:
	free(ids);
	free(a);
	return rc;
}

/*
 * import.rows {"rows": [[line, body], ...]} adds rows to this
 * connection's import; import.commit {"force": true?} writes all of them
 * in one commit, or none: every bad row is reported as "LINE: reason"
 * (one per line of the message); import.abort forgets them.  A commit
 * that changes nothing writes nothing.  Its RECORD counts the rows
 * imported (added or updated), added, updated, unchanged and skipped,
 * and "skips" lists the first skipped rows as [line, kind, id of the
 * record of that name, name].
 */
static int
import_request(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const char *verb, const uint8_t *rows, size_t rlen, bool force,
    char *msg, size_t mlen)
{
	struct import_sess *x = import_find(d, c, strcmp(verb, "rows") == 0);

	if (strcmp(verb, "abort") == 0) {
		if (x != NULL)
			cmd_import_drop(d, x);
		return SL_OK;
	}
	if (strcmp(verb, "rows") == 0) {
		struct sl_mp m;
		uint32_t n, two, blen;
		uint64_t line;
		const uint8_t *start, *bb;

		if (x == NULL)
			return cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
		sl_mp_init(&m, rows, rlen);
		if (sl_mp_read_array(&m, &n, UINT32_MAX) != SL_OK)
			return cmd_fail(msg, mlen, SL_EUSAGE, "malformed rows");
		start = m.p;
		for (uint32_t i = 0; i < n; i++)
			if (sl_mp_read_array(&m, &two, 2) != SL_OK || two != 2 ||
			    sl_mp_read_uint(&m, &line) != SL_OK ||
			    sl_mp_read_bin(&m, &bb, &blen, 1,
			    SL_CTL_FRAME_MAX) != SL_OK)
				return cmd_fail(msg, mlen, SL_EUSAGE, "malformed "
				    "rows");
		if (!sl_mp_at_end(&m))
			return cmd_fail(msg, mlen, SL_EUSAGE, "malformed rows");
		if (x->rows.len + (size_t)(m.p - start) > IMPORT_MAX_BYTES) {
			cmd_import_drop(d, x);
			return cmd_fail(msg, mlen, SL_ESIZE, "the import is larger "
			    "than %u MiB; split the file", IMPORT_MAX_BYTES >> 20);
		}
		sl_buf_write(&x->rows, (const char *)start, (size_t)(m.p - start));
		x->n += n;
		if (x->rows.p == NULL) {
			cmd_import_drop(d, x);
			return cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
		}
		return SL_OK;
	}
	if (strcmp(verb, "commit") != 0)
		return cmd_fail(msg, mlen, SL_EUSAGE, "unknown command \"import.%s\"",
		    verb);
	if (x == NULL || x->n == 0) {
		if (x != NULL)
			cmd_import_drop(d, x);
		return cmd_fail(msg, mlen, SL_EINVAL, "nothing to import");
	}
	struct import_run run = { .d = d, .author = ctl_conn_user(c),
		.force = force };
	struct sl_buf errs = { 0 };
	uint32_t nerr;
	int rc;

	if ((run.map = calloc(x->n, sizeof *run.map)) == NULL) {
		cmd_import_drop(d, x);
		return cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
	}
retry:
	nerr = 0;
	errs.len = 0;
	run.nmap = 0;
	run.dead = false;
	run.added = run.updated = run.unchanged = run.skipped = 0;
	run.skips.len = 0;
	run.nskips = 0;
	char why[512];

	if ((rc = store_batch_begin(d->s, &run.b, why, sizeof why)) != SL_OK) {
		if (rc == SL_ERETRY)
			goto retry;   /* the map grew; it is bounded */
		rc = cmd_fail(msg, mlen, rc, "%s", why);
		goto done;
	}
	/* The records of each name as they were before this import. */
	if ((rc = names_load(d, store_batch_txn(run.b), &run.names)) != SL_OK) {
		store_batch_abort(run.b);
		rc = cmd_fail(msg, mlen, rc == SL_ENOMEM ? SL_ENOMEM : SL_ESTORE,
		    "cannot read the records");
		goto done;
	}
	struct sl_mp m;
	uint32_t two, blen;
	uint64_t line;
	const uint8_t *bb;

	sl_mp_init(&m, x->rows.p, x->rows.len);
	for (uint32_t i = 0; i < x->n && !run.dead; i++) {
		sl_mp_read_array(&m, &two, 2);
		sl_mp_read_uint(&m, &line);
		sl_mp_read_bin(&m, &bb, &blen, 1, SL_CTL_FRAME_MAX);
		why[0] = '\0';
		rc = import_row(&run, line, bb, blen, why, sizeof why);
		if (rc != SL_OK && !run.dead && nerr++ < IMPORT_MAX_ERRORS) {
			char l[600];
			int k = snprintf(l, sizeof l, "%s%llu: %s", errs.len ?
			    "\n" : "", (unsigned long long)line, why[0] ? why :
			    sl_strerror(rc));

			sl_buf_write(&errs, l, (size_t)k < sizeof l ? (size_t)k :
			    sizeof l - 1);
		}
	}
	if (run.dead) {
		store_batch_abort(run.b);
		if (rc == SL_ERETRY)
			goto retry;
		rc = cmd_fail(msg, mlen, rc, "%s", why[0] ? why : sl_strerror(rc));
		goto done;
	}
	if (nerr > 0) {
		store_batch_abort(run.b);
		if (nerr > IMPORT_MAX_ERRORS) {
			char l[80];
			int k = snprintf(l, sizeof l, "\n0: and %u more bad rows",
			    nerr - IMPORT_MAX_ERRORS);

			sl_buf_write(&errs, l, (size_t)k);
		}
		rc = cmd_fail(msg, mlen, SL_EVALUE, "%.*s", errs.p ? (int)errs.len :
		    0, errs.p ? (const char *)errs.p : "");
		goto done;
	}
	if (run.added + run.updated == 0) {
		/* Nothing to write: no commit, the log stays as it was. */
		store_batch_abort(run.b);
	} else {
		if ((rc = store_batch_commit(run.b, why, sizeof why)) ==
		    SL_ERETRY)
			goto retry;
		if (rc != SL_OK) {
			rc = cmd_fail(msg, mlen, rc, "%s", why);
			goto done;
		}
		d->commits++;
		if (d->sync != NULL)
			sync_log_grew(d->sync);
	}
	struct sl_buf g = { 0 };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 6);
	sl_pack_cstr(&pk, "imported");
	msgpack_pack_uint64(&pk, run.added + run.updated);
	sl_pack_cstr(&pk, "added");
	msgpack_pack_uint64(&pk, run.added);
	sl_pack_cstr(&pk, "updated");
	msgpack_pack_uint64(&pk, run.updated);
	sl_pack_cstr(&pk, "unchanged");
	msgpack_pack_uint64(&pk, run.unchanged);
	sl_pack_cstr(&pk, "skipped");
	msgpack_pack_uint64(&pk, run.skipped);
	sl_pack_cstr(&pk, "skips");
	msgpack_pack_array(&pk, run.nskips);
	if (run.nskips > 0)
		sl_buf_write(&g, (const char *)run.skips.p, run.skips.len);
	if (g.p != NULL)
		ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
	rc = SL_OK;
done:
	free(errs.p);
	free(run.map);
	free(run.skips.p);
	names_free(&run.names);
	cmd_import_drop(d, x);
	return rc;
}

/* Reads an import request: {"cmd": "import.VERB", "args": {"rows": [...]}}
 * (rows only for import.rows; "force": true for import.commit).  Returns
 * true if it was one. */
bool
cmd_import_dispatch(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const uint8_t *body, size_t len)
{
	struct sl_mp m;
	uint32_t n, na = 0;
	const char *s;
	uint32_t sl;
	char cmd[24] = "", verb[16] = "", msg[16384] = "";
	const uint8_t *rows = NULL;
	size_t rlen = 0;
	bool force = false;
	int rc = SL_OK;

	sl_mp_init(&m, body, len);
	if (sl_mp_read_map(&m, &n, 2) != SL_OK || n != 2 ||
	    sl_mp_read_str(&m, &s, &sl, 3, 3) != SL_OK ||
	    memcmp(s, "cmd", 3) != 0 ||
	    sl_mp_read_str(&m, &s, &sl, 1, 20) != SL_OK || sl < 8 ||
	    memcmp(s, "import.", 7) != 0)
		return false;
	snprintf(cmd, sizeof cmd, "%.*s", (int)sl, s);
	snprintf(verb, sizeof verb, "%.*s", (int)sl - 7, s + 7);
	if (sl_mp_read_str(&m, &s, &sl, 4, 4) != SL_OK ||
	    memcmp(s, "args", 4) != 0 || sl_mp_read_map(&m, &na, 2) != SL_OK)
		rc = cmd_fail(msg, sizeof msg, SL_EUSAGE, "malformed request");
	for (uint32_t i = 0; rc == SL_OK && i < na; i++) {
		/* "rows" (import.rows), "force" (import.commit). */
		bool is_rows, is_force;

		rc = sl_mp_read_str(&m, &s, &sl, 4, 5);
		is_rows = rc == SL_OK && sl == 4 && memcmp(s, "rows", 4) == 0 &&
		    rows == NULL;
		is_force = rc == SL_OK && sl == 5 &&
		    memcmp(s, "force", 5) == 0 && !force;
		if (is_rows)
			rc = sl_mp_skip(&m, &rows, &rlen);
		else if (is_force)
			rc = sl_mp_read_bool(&m, &force);
		else
			rc = SL_EUSAGE;
	}
	if (rc != SL_OK || !sl_mp_at_end(&m))
		rc = cmd_fail(msg, sizeof msg, SL_EUSAGE, "malformed request");
	if (rc == SL_OK)
		rc = rights_check(c, cmd, msg, sizeof msg);
	if (rc == SL_OK)
		rc = import_request(d, c, id, verb, rows, rlen, force, msg,
		    sizeof msg);
	cmd_reply_end(c, id);
	cmd_reply_result(c, id, rc, rc == SL_OK ? "ok" : msg[0] ? msg : NULL,
	    NULL);
	return true;
}
