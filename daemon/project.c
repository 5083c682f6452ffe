/*
 * project.c - folding the event log into records, and reading them back.
 *
 * Databases (in the store's environment):
 *   rec     id (16) -> the record, encoded canonically (see rec_encode)
 *   pidx    kind, index code, lower-cased value, 0, id -> ""
 *   pev     id, clock (8), origin (32), seq (8) -> "": a record's events
 *   pnodes  origin -> clock (8) + seq (8) + organisation name: the node.org
 *           event that won
 *   pmeta   "version" -> PROJECT_VERSION
 *
 * The fold of one event into a record is a set union (its events, the
 * parents they name) plus a per-field maximum by (clock, origin); both are
 * commutative, so the result does not depend on arrival order, and the
 * encoding sorts everything, so equal records are equal bytes.
 *
 * Index maintenance is computed, not special-cased: the index keys of a
 * record are derived before and after folding an event, and only the
 * difference is written.  A record touched by one event changes at most a
 * handful of keys.
 */
#include <ctype.h>
#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project.h"

struct project {
	struct store *s;
	MDB_env *env;
	MDB_dbi rec, pidx, pev, pnodes, pmeta;
};

/* ---- kinds, fields, indexes -------------------------------------------- */

static const struct {
	char kind;
	const char *word;
	const char *fields[16];
} kinds[] = {
	{ 'o', "org", { "name", "kind", "municipality", "sector", "iop",
	    NULL } },
	{ 'c', "contact", { "name", "org", "role", "email", "phone",
	    "municipality", NULL } },
	{ 'm', "meeting", { "title", "date", "with", "orgs", "municipality",
	    "notes", NULL } },
	{ 'd', "decision", { "title", "text", "body", "meeting", "status",
	    "reason", NULL } },
};

#define N_KINDS (sizeof kinds / sizeof kinds[0])

static const struct index_def {
	char kind, code;
	const char *field;
	bool sort;
} index_defs[] = {
	{ 'o', 'n', "name", true }, { 'o', 'k', "kind", false },
	{ 'o', 'M', "municipality", false },
	{ 'c', 'n', "name", true }, { 'c', 'o', "org", false },
	{ 'c', 'M', "municipality", false }, { 'c', 'r', "role", false },
	{ 'm', 'D', "date", true }, { 'm', 'w', "with", false },
	{ 'm', 'M', "municipality", false }, { 'm', 'g', "orgs", false },
	{ 'd', 't', "title", true }, { 'd', 's', "status", false },
	{ 'd', 'm', "meeting", false },
};

#define N_INDEX (sizeof index_defs / sizeof index_defs[0])
#define IDX_VAL_MAX 128
#define IDX_KEY_MAX (2 + IDX_VAL_MAX + 1 + SL_ID_LEN)
#define MAX_KEYS 64

char
project_kind(const char *word)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (strcmp(kinds[i].word, word) == 0)
			return kinds[i].kind;
	return 0;
}

const char *
project_kind_word(char kind)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (kinds[i].kind == kind)
			return kinds[i].word;
	return "?";
}

static bool
field_allowed(char kind, const char *name, size_t len)
{
	for (size_t i = 0; i < N_KINDS; i++) {
		if (kinds[i].kind != kind)
			continue;
		for (const char *const *f = kinds[i].fields; *f; f++)
			if (strlen(*f) == len && memcmp(*f, name, len) == 0)
				return true;
	}
	return false;
}

static const struct index_def *
index_find(char kind, const char *field)
{
	for (size_t i = 0; i < N_INDEX; i++)
		if (index_defs[i].kind == kind && (field == NULL ?
		    index_defs[i].sort : strcmp(index_defs[i].field, field) == 0))
			return &index_defs[i];
	return NULL;
}

bool
project_indexed(char kind, const char *field)
{
	return index_find(kind, field) != NULL;
}

/* ---- records in memory ---------------------------------------------------- */

void
prec_free(struct prec *r)
{
	for (uint32_t i = 0; i < r->nf; i++)
		free(r->f[i].val);
	free(r->evs);
	free(r->sup);
	memset(r, 0, sizeof *r);
}

const struct pfield *
prec_field(const struct prec *r, const char *name)
{
	for (uint32_t i = 0; i < r->nf; i++)
		if (strcmp(r->f[i].name, name) == 0)
			return &r->f[i];
	return NULL;
}

bool
prec_str(const struct prec *r, const char *name, char *out, size_t outlen)
{
	const struct pfield *f = prec_field(r, name);
	struct sl_mp m;
	const char *s;
	uint32_t n;

	out[0] = '\0';
	if (f == NULL)
		return false;
	sl_mp_init(&m, f->val, f->len);
	if (sl_mp_read_str(&m, &s, &n, 0, UINT32_MAX) != SL_OK)
		return false;
	snprintf(out, outlen, "%.*s", (int)n, s);
	return true;
}

/* Inserts h into the sorted set; 0 or ENOMEM. */
static int
set_add(uint8_t (**set)[SL_HASH_LEN], uint32_t *n, const uint8_t *h)
{
	uint32_t lo = 0, hi = *n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		int c = memcmp((*set)[mid], h, SL_HASH_LEN);

		if (c == 0)
			return 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint8_t (*ns)[SL_HASH_LEN] = realloc(*set,
	    ((size_t)*n + 1) * SL_HASH_LEN);

	if (ns == NULL)
		return ENOMEM;
	memmove(ns[lo + 1], ns[lo], (size_t)(*n - lo) * SL_HASH_LEN);
	memcpy(ns[lo], h, SL_HASH_LEN);
	*set = ns;
	(*n)++;
	return 0;
}

static bool
set_has(uint8_t (*set)[SL_HASH_LEN], uint32_t n, const uint8_t *h)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		int c = memcmp(set[mid], h, SL_HASH_LEN);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

uint32_t
prec_heads(const struct prec *r, uint8_t (*out)[SL_HASH_LEN], uint32_t max)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < r->nevs; i++) {
		if (set_has(r->sup, r->nsup, r->evs[i]))
			continue;
		if (k < max && out != NULL)
			memcpy(out[k], r->evs[i], SL_HASH_LEN);
		k++;
	}
	return k;
}

bool
prec_conflict(const struct prec *r)
{
	return prec_heads(r, NULL, 0) > 1;
}

/* (hlc, origin) ordering of two writes. */
static int
write_cmp(uint64_t ha, const uint8_t *oa, uint64_t hb, const uint8_t *ob)
{
	if (ha != hb)
		return ha < hb ? -1 : 1;
	return memcmp(oa, ob, SL_KEY_LEN);
}

/* Sets one field if this write wins; 0 or ENOMEM. */
static int
prec_set(struct prec *r, const char *name, size_t nlen, const uint8_t *val,
    size_t vlen, uint64_t hlc, const uint8_t *origin)
{
	uint32_t i;
	int c = 1;

	for (i = 0; i < r->nf; i++) {
		c = strncmp(r->f[i].name, name, nlen);
		if (c == 0 && r->f[i].name[nlen] != '\0')
			c = 1;
		if (c >= 0)
			break;
	}
	if (i < r->nf && c == 0) {
		struct pfield *f = &r->f[i];

		if (write_cmp(hlc, origin, f->hlc, f->origin) <= 0)
			return 0;
		uint8_t *nv = malloc(vlen ? vlen : 1);

		if (nv == NULL)
			return ENOMEM;
		memcpy(nv, val, vlen);
		free(f->val);
		f->val = nv;
		f->len = (uint32_t)vlen;
		f->hlc = hlc;
		memcpy(f->origin, origin, SL_KEY_LEN);
		return 0;
	}
	if (r->nf == PREC_MAX_FIELDS)
		return 0; /* cannot happen with the known field lists */
	uint8_t *nv = malloc(vlen ? vlen : 1);

	if (nv == NULL)
		return ENOMEM;
	memcpy(nv, val, vlen);
	memmove(&r->f[i + 1], &r->f[i], (r->nf - i) * sizeof r->f[0]);
	memset(&r->f[i], 0, sizeof r->f[i]);
	memcpy(r->f[i].name, name, nlen);
	r->f[i].val = nv;
	r->f[i].len = (uint32_t)vlen;
	r->f[i].hlc = hlc;
	memcpy(r->f[i].origin, origin, SL_KEY_LEN);
	r->nf++;
	return 0;
}

/* The kind an event type speaks of ("contact.updated" -> 'c'), and
 * whether it creates the record. */
static char
type_kind(const struct sl_event *ev, bool *creates)
{
	char word[16];
	const char *dot = memchr(ev->type, '.', ev->type_len);

	*creates = false;
	if (dot == NULL || (size_t)(dot - ev->type) >= sizeof word)
		return 0;
	memcpy(word, ev->type, (size_t)(dot - ev->type));
	word[dot - ev->type] = '\0';
	size_t rest = ev->type_len - (size_t)(dot - ev->type) - 1;

	*creates = rest == 7 && memcmp(dot + 1, "created", 7) == 0;
	return project_kind(word);
}

/* Folds one event into r.  Fields the kind does not know are ignored:
 * a newer node's additions must not break an older one. */
static int
prec_apply(struct prec *r, char kind, bool creates, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN])
{
	int rc;

	if (r->kind == 0)
		r->kind = kind;
	if (creates) {
		r->created = true;
		r->c_hlc = ev->hlc;
		memcpy(r->c_origin, ev->origin, SL_KEY_LEN);
		snprintf(r->c_author, sizeof r->c_author, "%.*s",
		    (int)ev->author_len, ev->author);
	}
	if (ev->payload != NULL) {
		struct sl_mp m;
		uint32_t n;

		sl_mp_init(&m, ev->payload, ev->payload_len);
		if (sl_mp_read_map(&m, &n, 64) == SL_OK) {
			for (uint32_t i = 0; i < n; i++) {
				const char *name;
				uint32_t nlen;
				const uint8_t *v;
				size_t vlen;

				if (sl_mp_read_str(&m, &name, &nlen, 1,
				    PFIELD_NAME_MAX) != SL_OK ||
				    sl_mp_skip(&m, &v, &vlen) != SL_OK)
					break;
				if (!field_allowed(r->kind, name, nlen))
					continue;
				if ((rc = prec_set(r, name, nlen, v, vlen, ev->hlc,
				    ev->origin)) != 0)
					return rc;
			}
		}
	}
	if ((rc = set_add(&r->evs, &r->nevs, hash)) != 0)
		return rc;
	for (uint32_t i = 0; i < ev->n_parents; i++)
		if ((rc = set_add(&r->sup, &r->nsup, ev->parents[i])) != 0)
			return rc;
	if (ev->hlc > r->u_hlc)
		r->u_hlc = ev->hlc;
	return 0;
}

/* ---- record encoding ------------------------------------------------------ */

/* [kind, created, c_hlc, c_origin, c_author, u_hlc,
 *  [[name, value, hlc, origin]...], [evs...], [sup...]] */
static int
rec_encode(const struct prec *r, struct sl_buf *g)
{
	msgpack_packer pk;
	char k[2] = { r->kind, 0 };

	g->len = 0;
	msgpack_packer_init(&pk, g, sl_buf_write);
	msgpack_pack_array(&pk, 9);
	sl_pack_str(&pk, k, r->kind ? 1 : 0);
	sl_pack_bool(&pk, r->created);
	msgpack_pack_uint64(&pk, r->c_hlc);
	sl_pack_bin(&pk, r->c_origin, SL_KEY_LEN);
	sl_pack_str(&pk, r->c_author, strlen(r->c_author));
	msgpack_pack_uint64(&pk, r->u_hlc);
	msgpack_pack_array(&pk, r->nf);
	for (uint32_t i = 0; i < r->nf; i++) {
		msgpack_pack_array(&pk, 4);
		sl_pack_str(&pk, r->f[i].name, strlen(r->f[i].name));
		sl_buf_write(g, (const char *)r->f[i].val, r->f[i].len);
		msgpack_pack_uint64(&pk, r->f[i].hlc);
		sl_pack_bin(&pk, r->f[i].origin, SL_KEY_LEN);
	}
	msgpack_pack_array(&pk, r->nevs);
	for (uint32_t i = 0; i < r->nevs; i++)
		sl_pack_bin(&pk, r->evs[i], SL_HASH_LEN);
	msgpack_pack_array(&pk, r->nsup);
	for (uint32_t i = 0; i < r->nsup; i++)
		sl_pack_bin(&pk, r->sup[i], SL_HASH_LEN);
	return g->p == NULL ? ENOMEM : 0;
}

static int
read_hashes(struct sl_mp *m, uint8_t (**set)[SL_HASH_LEN], uint32_t *n)
{
	uint32_t cnt;
	int rc;

	if ((rc = sl_mp_read_array(m, &cnt, UINT32_MAX)) != SL_OK)
		return rc;
	if (cnt > 0 && (*set = malloc((size_t)cnt * SL_HASH_LEN)) == NULL)
		return SL_ENOMEM;
	for (uint32_t i = 0; i < cnt; i++) {
		const uint8_t *h;
		uint32_t l;

		if ((rc = sl_mp_read_bin(m, &h, &l, SL_HASH_LEN,
		    SL_HASH_LEN)) != SL_OK)
			return rc;
		memcpy((*set)[i], h, SL_HASH_LEN);
		(*n)++;
	}
	return SL_OK;
}

static int
rec_decode(struct prec *r, const uint8_t id[SL_ID_LEN], const void *buf,
    size_t len)
{
	struct sl_mp m;
	uint32_t n, l;
	const char *s;
	const uint8_t *b;
	int rc;

	memset(r, 0, sizeof *r);
	memcpy(r->id, id, SL_ID_LEN);
	sl_mp_init(&m, buf, len);
	if ((rc = sl_mp_read_array(&m, &n, 9)) != SL_OK || n != 9 ||
	    (rc = sl_mp_read_str(&m, &s, &l, 0, 1)) != SL_OK)
		goto fail;
	r->kind = l ? s[0] : 0;
	if ((rc = sl_mp_read_bool(&m, &r->created)) != SL_OK ||
	    (rc = sl_mp_read_uint(&m, &r->c_hlc)) != SL_OK ||
	    (rc = sl_mp_read_bin(&m, &b, &l, SL_KEY_LEN, SL_KEY_LEN)) != SL_OK)
		goto fail;
	memcpy(r->c_origin, b, SL_KEY_LEN);
	if ((rc = sl_mp_read_str(&m, &s, &l, 0, SL_AUTHOR_MAX)) != SL_OK)
		goto fail;
	memcpy(r->c_author, s, l);
	if ((rc = sl_mp_read_uint(&m, &r->u_hlc)) != SL_OK ||
	    (rc = sl_mp_read_array(&m, &n, PREC_MAX_FIELDS)) != SL_OK)
		goto fail;
	for (uint32_t i = 0; i < n; i++) {
		struct pfield *f = &r->f[i];
		uint32_t four, nl;
		const uint8_t *v;
		size_t vlen;

		if ((rc = sl_mp_read_array(&m, &four, 4)) != SL_OK ||
		    (rc = sl_mp_read_str(&m, &s, &nl, 1, PFIELD_NAME_MAX)) != SL_OK ||
		    (rc = sl_mp_skip(&m, &v, &vlen)) != SL_OK ||
		    (rc = sl_mp_read_uint(&m, &f->hlc)) != SL_OK ||
		    (rc = sl_mp_read_bin(&m, &b, &l, SL_KEY_LEN,
		    SL_KEY_LEN)) != SL_OK)
			goto fail;
		memcpy(f->name, s, nl); /* nl <= PFIELD_NAME_MAX, checked above */
		memcpy(f->origin, b, SL_KEY_LEN);
		if ((f->val = malloc(vlen ? vlen : 1)) == NULL) {
			rc = SL_ENOMEM;
			goto fail;
		}
		memcpy(f->val, v, vlen);
		f->len = (uint32_t)vlen;
		r->nf++;
	}
	if ((rc = read_hashes(&m, &r->evs, &r->nevs)) != SL_OK ||
	    (rc = read_hashes(&m, &r->sup, &r->nsup)) != SL_OK)
		goto fail;
	return SL_OK;
fail:
	prec_free(r);
	return rc == SL_OK ? SL_EVALUE : rc;
}

/* ---- index keys ------------------------------------------------------------ */

struct keyset {
	uint8_t k[MAX_KEYS][IDX_KEY_MAX];
	uint8_t len[MAX_KEYS];
	int n;
};

static void
keyset_add(struct keyset *ks, const struct prec *r, char code, const char *v,
    size_t vlen)
{
	if (ks->n == MAX_KEYS)
		return;
	uint8_t *k = ks->k[ks->n];
	size_t n = vlen < IDX_VAL_MAX ? vlen : IDX_VAL_MAX;

	k[0] = (uint8_t)r->kind;
	k[1] = (uint8_t)code;
	for (size_t i = 0; i < n; i++)
		k[2 + i] = (uint8_t)tolower((unsigned char)v[i]);
	k[2 + n] = 0;
	memcpy(k + 3 + n, r->id, SL_ID_LEN);
	ks->len[ks->n++] = (uint8_t)(3 + n + SL_ID_LEN);
}

/* The index keys a record has now (none until it is created). */
static void
keyset_of(struct keyset *ks, const struct prec *r)
{
	ks->n = 0;
	if (!r->created)
		return;
	for (size_t i = 0; i < N_INDEX; i++) {
		const struct index_def *d = &index_defs[i];
		const struct pfield *f;
		struct sl_mp m;
		const char *s;
		uint32_t n, l;

		if (d->kind != r->kind)
			continue;
		if ((f = prec_field(r, d->field)) == NULL) {
			if (d->sort)
				keyset_add(ks, r, d->code, "", 0);
			continue;
		}
		sl_mp_init(&m, f->val, f->len);
		if (sl_mp_read_str(&m, &s, &l, 0, UINT32_MAX) == SL_OK) {
			keyset_add(ks, r, d->code, s, l);
			continue;
		}
		if (sl_mp_read_array(&m, &n, 256) != SL_OK)
			continue;
		for (uint32_t j = 0; j < n; j++)
			if (sl_mp_read_str(&m, &s, &l, 0, UINT32_MAX) == SL_OK)
				keyset_add(ks, r, d->code, s, l);
	}
}

static bool
keyset_has(const struct keyset *ks, const uint8_t *k, uint8_t len)
{
	for (int i = 0; i < ks->n; i++)
		if (ks->len[i] == len && memcmp(ks->k[i], k, len) == 0)
			return true;
	return false;
}

/* ---- the fold, as the store's hook --------------------------------------- */

static int
nodes_apply(struct project *p, MDB_txn *txn, const struct sl_event *ev)
{
	struct sl_mp m;
	uint32_t n;
	MDB_val k = { SL_KEY_LEN, (void *)ev->origin }, d;

	if (ev->payload == NULL)
		return 0;
	sl_mp_init(&m, ev->payload, ev->payload_len);
	if (sl_mp_read_map(&m, &n, 16) != SL_OK)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		const char *key, *org;
		uint32_t kl, ol;

		if (sl_mp_read_str(&m, &key, &kl, 1, 64) != SL_OK)
			return 0;
		if (kl != 3 || memcmp(key, "org", 3) != 0) {
			if (sl_mp_skip(&m, NULL, NULL) != SL_OK)
				return 0;
			continue;
		}
		if (sl_mp_read_str(&m, &org, &ol, 1, SL_ORG_MAX) != SL_OK)
			return 0;
		int rc = mdb_get(txn, p->pnodes, &k, &d);

		if (rc == 0 && d.mv_size >= 8 &&
		    sl_get_be(d.mv_data, 8) >= ev->hlc)
			return 0; /* a later announcement already won */
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
		uint8_t v[16 + SL_ORG_MAX];

		for (int b = 0; b < 8; b++) {
			v[b] = (uint8_t)(ev->hlc >> (56 - 8 * b));
			v[8 + b] = (uint8_t)(ev->seq >> (56 - 8 * b));
		}
		memcpy(v + 16, org, ol);
		d = (MDB_val){ 16 + ol, v };
		return mdb_put(txn, p->pnodes, &k, &d, 0);
	}
	return 0;
}

static int
project_fold(void *ctx, MDB_txn *txn, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN])
{
	struct project *p = ctx;
	static struct keyset before, after; /* large; the daemon is one thread */
	uint8_t id[SL_ID_LEN], ek[SL_ID_LEN + 8 + SL_KEY_LEN + 8];
	struct prec r;
	struct sl_buf g = { 0 };
	bool creates;
	char kind;
	MDB_val k = { SL_ID_LEN, id }, d, empty = { 0, "" };
	int rc;

	if (ev->type_len == 8 && memcmp(ev->type, "node.org", 8) == 0)
		return nodes_apply(p, txn, ev);
	if ((kind = type_kind(ev, &creates)) == 0)
		return 0; /* not a record event */
	if (creates)
		sl_entity_id(id, hash);
	else if (ev->entity != NULL)
		memcpy(id, ev->entity, SL_ID_LEN);
	else
		return 0;
	rc = mdb_get(txn, p->rec, &k, &d);
	if (rc == MDB_NOTFOUND) {
		memset(&r, 0, sizeof r);
		memcpy(r.id, id, SL_ID_LEN);
	} else if (rc != 0) {
		return rc;
	} else if (rec_decode(&r, id, d.mv_data, d.mv_size) != SL_OK) {
		return MDB_CORRUPTED;
	}
	if (r.kind != 0 && r.kind != kind)
		goto out; /* an event of another kind naming this id: ignored */
	keyset_of(&before, &r);
	if ((rc = prec_apply(&r, kind, creates, ev, hash)) != 0)
		goto out;
	keyset_of(&after, &r);
	for (int i = 0; i < before.n; i++) {
		if (keyset_has(&after, before.k[i], before.len[i]))
			continue;
		MDB_val ik = { before.len[i], before.k[i] };

		if ((rc = mdb_del(txn, p->pidx, &ik, NULL)) != 0 &&
		    rc != MDB_NOTFOUND)
			goto out;
	}
	for (int i = 0; i < after.n; i++) {
		if (keyset_has(&before, after.k[i], after.len[i]))
			continue;
		MDB_val ik = { after.len[i], after.k[i] };

		if ((rc = mdb_put(txn, p->pidx, &ik, &empty, 0)) != 0)
			goto out;
	}
	if ((rc = rec_encode(&r, &g)) != 0)
		goto out;
	d = (MDB_val){ g.len, g.p };
	if ((rc = mdb_put(txn, p->rec, &k, &d, 0)) != 0)
		goto out;
	memcpy(ek, id, SL_ID_LEN);
	for (int b = 0; b < 8; b++) {
		ek[SL_ID_LEN + b] = (uint8_t)(ev->hlc >> (56 - 8 * b));
		ek[SL_ID_LEN + 8 + SL_KEY_LEN + b] =
		    (uint8_t)(ev->seq >> (56 - 8 * b));
	}
	memcpy(ek + SL_ID_LEN + 8, ev->origin, SL_KEY_LEN);
	MDB_val evk = { sizeof ek, ek };

	rc = mdb_put(txn, p->pev, &evk, &empty, 0);
out:
	free(g.p);
	prec_free(&r);
	return rc;
}

/* ---- open, rebuild -------------------------------------------------------- */

static int
dbs_open(struct project *p, MDB_txn *txn)
{
	int rc;

	if ((rc = mdb_dbi_open(txn, "rec", MDB_CREATE, &p->rec)) != 0 ||
	    (rc = mdb_dbi_open(txn, "pidx", MDB_CREATE, &p->pidx)) != 0 ||
	    (rc = mdb_dbi_open(txn, "pev", MDB_CREATE, &p->pev)) != 0 ||
	    (rc = mdb_dbi_open(txn, "pnodes", MDB_CREATE, &p->pnodes)) != 0 ||
	    (rc = mdb_dbi_open(txn, "pmeta", MDB_CREATE, &p->pmeta)) != 0)
		return rc;
	return 0;
}

static int
version_put(struct project *p, MDB_txn *txn)
{
	uint8_t v[8] = { 0, 0, 0, 0, 0, 0, 0, PROJECT_VERSION };
	MDB_val k = { 7, "version" }, d = { 8, v };

	return mdb_put(txn, p->pmeta, &k, &d, 0);
}

/*
 * Rebuilding.  Because the fold does not depend on order, a rebuild may
 * visit the events in whatever order writes fastest, and it does: it
 * first lists every record event as (id, clock, origin, seq), sorts that
 * list, and then folds each record's events in one go, so that records
 * and their event index are written in key order with MDB_APPEND (full
 * pages, no searching), and the index keys, collected and sorted, are
 * appended last.  Folding the events one by one in arrival order, as the
 * live path does, writes the same bytes (the property test checks it)
 * but touches the trees at random.
 */
struct rb_item {
	uint8_t id[SL_ID_LEN];
	uint64_t hlc, seq;
	uint32_t oi;            /* index of the origin in store_tip_at() */
};

struct rb {
	struct project *p;
	struct rb_item *items;
	size_t n, cap;
	uint64_t total;
	/* collected index keys: offsets into an arena */
	uint8_t *arena;
	size_t alen, acap;
	uint32_t *koff;
	uint8_t *klen;
	size_t nk, kcap;
};

static struct store *rb_store; /* for the comparators */

static int
rb_item_cmp(const void *a, const void *b)
{
	const struct rb_item *x = a, *y = b;
	int c = memcmp(x->id, y->id, SL_ID_LEN);

	if (c != 0)
		return c;
	if (x->hlc != y->hlc)
		return x->hlc < y->hlc ? -1 : 1;
	if (x->oi != y->oi)
		c = memcmp(store_tip_at(rb_store, x->oi)->origin,
		    store_tip_at(rb_store, y->oi)->origin, SL_KEY_LEN);
	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const uint8_t *rb_arena;

struct rb_key {
	uint32_t off;
	uint8_t len;
};

static int
rb_key_qcmp(const void *a, const void *b)
{
	const struct rb_key *x = a, *y = b;
	size_t m = x->len < y->len ? x->len : y->len;
	int c = memcmp(rb_arena + x->off, rb_arena + y->off, m);

	return c != 0 ? c : (int)x->len - (int)y->len;
}

static int
rb_collect_cb(void *ctx, MDB_txn *txn, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN])
{
	struct rb *b = ctx;
	bool creates;

	b->total++;
	if (ev->type_len == 8 && memcmp(ev->type, "node.org", 8) == 0)
		return nodes_apply(b->p, txn, ev);
	if (type_kind(ev, &creates) == 0)
		return 0;
	if (!creates && ev->entity == NULL)
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		struct rb_item *ni = realloc(b->items, cap * sizeof *ni);

		if (ni == NULL)
			return ENOMEM;
		b->items = ni;
		b->cap = cap;
	}
	struct rb_item *it = &b->items[b->n++];

	if (creates)
		sl_entity_id(it->id, hash);
	else
		memcpy(it->id, ev->entity, SL_ID_LEN);
	it->hlc = ev->hlc;
	it->seq = ev->seq;
	it->oi = 0;
	for (size_t i = 0; i < store_origin_count(b->p->s); i++)
		if (memcmp(store_tip_at(b->p->s, i)->origin, ev->origin,
		    SL_KEY_LEN) == 0)
			it->oi = (uint32_t)i;
	return 0;
}

static int
rb_keep_keys(struct rb *b, const struct keyset *ks)
{
	for (int i = 0; i < ks->n; i++) {
		if (b->alen + ks->len[i] > b->acap) {
			size_t cap = b->acap ? b->acap * 2 : 1 << 20;
			uint8_t *na = realloc(b->arena, cap);

			if (na == NULL)
				return ENOMEM;
			b->arena = na;
			b->acap = cap;
		}
		if (b->nk == b->kcap) {
			size_t cap = b->kcap ? b->kcap * 2 : 8192;
			uint32_t *no = realloc(b->koff, cap * sizeof *no);
			uint8_t *nl = no ? realloc(b->klen, cap) : NULL;

			if (no != NULL)
				b->koff = no;
			if (nl == NULL)
				return ENOMEM;
			b->klen = nl;
			b->kcap = cap;
		}
		memcpy(b->arena + b->alen, ks->k[i], ks->len[i]);
		b->koff[b->nk] = (uint32_t)b->alen;
		b->klen[b->nk++] = ks->len[i];
		b->alen += ks->len[i];
	}
	return 0;
}

/* Folds one record's sorted events and appends it and its event index. */
static int
rb_record(struct rb *b, MDB_txn *txn, const struct rb_item *it, size_t n,
    struct sl_buf *g)
{
	static struct keyset ks;
	struct project *p = b->p;
	struct prec r;
	MDB_val empty = { 0, "" };
	int rc = 0;

	memset(&r, 0, sizeof r);
	memcpy(r.id, it[0].id, SL_ID_LEN);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *origin = store_tip_at(p->s, it[i].oi)->origin;
		const uint8_t *rec;
		size_t len;
		struct sl_event ev;
		uint8_t hash[SL_HASH_LEN], ek[SL_ID_LEN + 8 + SL_KEY_LEN + 8];
		bool creates;
		char kind;

		if (store_txn_event(p->s, txn, origin, it[i].seq, &rec, &len) !=
		    SL_OK || sl_event_decode(&ev, rec, len) != SL_OK) {
			rc = MDB_CORRUPTED;
			goto out;
		}
		sl_event_hash(hash, &ev);
		kind = type_kind(&ev, &creates);
		if (r.kind != 0 && r.kind != kind)
			continue;
		if ((rc = prec_apply(&r, kind, creates, &ev, hash)) != 0)
			goto out;
		memcpy(ek, r.id, SL_ID_LEN);
		for (int k = 0; k < 8; k++) {
			ek[SL_ID_LEN + k] = (uint8_t)(ev.hlc >> (56 - 8 * k));
			ek[SL_ID_LEN + 8 + SL_KEY_LEN + k] =
			    (uint8_t)(ev.seq >> (56 - 8 * k));
		}
		memcpy(ek + SL_ID_LEN + 8, ev.origin, SL_KEY_LEN);
		MDB_val evk = { sizeof ek, ek };

		if ((rc = mdb_put(txn, p->pev, &evk, &empty, MDB_APPEND)) != 0)
			goto out;
	}
	if ((rc = rec_encode(&r, g)) != 0)
		goto out;
	MDB_val k = { SL_ID_LEN, r.id }, d = { g->len, g->p };

	if ((rc = mdb_put(txn, p->rec, &k, &d, MDB_APPEND)) != 0)
		goto out;
	keyset_of(&ks, &r);
	rc = rb_keep_keys(b, &ks);
out:
	prec_free(&r);
	return rc;
}

/* Commits the rebuild so far and opens the next transaction: LMDB keeps
 * every page a transaction dirtied in a cache for later reuse, so one
 * huge transaction would leave the daemon holding the whole projection's
 * size in memory for good. */
#define RB_CHUNK 20000

static int
rb_chunk(struct project *p, MDB_txn **txn)
{
	int rc = mdb_txn_commit(*txn);

	*txn = NULL;
	if (rc != 0)
		return rc;
	return mdb_txn_begin(p->env, NULL, 0, txn);
}

static int
rebuild_txn(struct project *p, MDB_txn **txnp, uint64_t *events)
{
	MDB_txn *txn = *txnp;
	MDB_val vk = { 7, "version" };
	struct rb b = { .p = p };
	struct sl_buf g = { 0 };
	uint64_t n = 0, records = 0;
	int rc;

	/* The version goes first and comes back last: a rebuild cut short
	 * leaves no version, and the next start rebuilds again. */
	if (((rc = mdb_del(txn, p->pmeta, &vk, NULL)) != 0 &&
	    rc != MDB_NOTFOUND) ||
	    (rc = mdb_drop(txn, p->rec, 0)) != 0 ||
	    (rc = mdb_drop(txn, p->pidx, 0)) != 0 ||
	    (rc = mdb_drop(txn, p->pev, 0)) != 0 ||
	    (rc = mdb_drop(txn, p->pnodes, 0)) != 0 ||
	    (rc = store_txn_scan(p->s, txn, rb_collect_cb, &b, &n)) != 0 ||
	    (rc = rb_chunk(p, &txn)) != 0)
		goto out;
	rb_store = p->s;
	if (b.n > 0)
		qsort(b.items, b.n, sizeof *b.items, rb_item_cmp);
	for (size_t i = 0; i < b.n;) {
		size_t j = i + 1;

		while (j < b.n && memcmp(b.items[j].id, b.items[i].id,
		    SL_ID_LEN) == 0)
			j++;
		if ((rc = rb_record(&b, txn, &b.items[i], j - i, &g)) != 0)
			goto out;
		if (++records % RB_CHUNK == 0 && (rc = rb_chunk(p, &txn)) != 0)
			goto out;
		i = j;
	}
	struct rb_key *keys = malloc((b.nk ? b.nk : 1) * sizeof *keys);

	if (keys == NULL) {
		rc = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < b.nk; i++)
		keys[i] = (struct rb_key){ b.koff[i], b.klen[i] };
	rb_arena = b.arena;
	qsort(keys, b.nk, sizeof *keys, rb_key_qcmp);
	for (size_t i = 0; i < b.nk && rc == 0; i++) {
		MDB_val k = { keys[i].len, b.arena + keys[i].off };
		MDB_val empty = { 0, "" };

		/* Equal keys cannot occur: each names its record's id. */
		rc = mdb_put(txn, p->pidx, &k, &empty, MDB_APPEND);
		if (rc == 0 && (i + 1) % ((size_t)RB_CHUNK * 4) == 0)
			rc = rb_chunk(p, &txn);
	}
	free(keys);
	if (rc == 0)
		rc = version_put(p, txn);
	*events = n;
out:
	free(g.p);
	free(b.items);
	free(b.arena);
	free(b.koff);
	free(b.klen);
	*txnp = txn;
	return rc;
}

int
project_rebuild(struct project *p, uint64_t *events, char *err,
    size_t errlen)
{
	MDB_txn *txn;
	uint64_t n = 0;
	int rc;

	for (;;) {
		if ((rc = mdb_txn_begin(p->env, NULL, 0, &txn)) != 0)
			break;
		if ((rc = rebuild_txn(p, &txn, &n)) != 0) {
			if (txn != NULL)
				mdb_txn_abort(txn);
		} else {
			rc = mdb_txn_commit(txn);
		}
		if (rc != MDB_MAP_FULL || store_grow_map(p->s) != SL_OK)
			break;
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot rebuild the records: %s",
		    mdb_strerror(rc));
		return rc == MDB_MAP_FULL ? SL_EFULL : SL_ESTORE;
	}
	if (events != NULL)
		*events = n;
	return SL_OK;
}

int
project_open(struct project **out, struct store *s, char *err, size_t errlen)
{
	struct project *p = calloc(1, sizeof *p);
	MDB_txn *txn;
	MDB_val k = { 7, "version" }, d;
	bool rebuild = true;
	int rc;

	*out = NULL;
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return SL_ENOMEM;
	}
	p->s = s;
	p->env = store_env(s);
	if ((rc = mdb_txn_begin(p->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = dbs_open(p, txn)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if (mdb_get(txn, p->pmeta, &k, &d) == 0 && d.mv_size == 8 &&
	    sl_get_be(d.mv_data, 8) == PROJECT_VERSION)
		rebuild = false;
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	if (rebuild && (rc = project_rebuild(p, NULL, err, errlen)) != SL_OK) {
		free(p);
		return rc;
	}
	store_set_hook(s, project_fold, p);
	*out = p;
	return SL_OK;
fail:
	snprintf(err, errlen, "cannot open the records: %s", mdb_strerror(rc));
	free(p);
	return SL_ESTORE;
}

void
project_close(struct project *p)
{
	if (p == NULL)
		return;
	store_set_hook(p->s, NULL, NULL);
	free(p);
}

/* ---- queries ---------------------------------------------------------------- */

int
project_get(struct project *p, MDB_txn *txn, const uint8_t id[SL_ID_LEN],
    struct prec *r)
{
	MDB_val k = { SL_ID_LEN, (void *)id }, d;
	int rc = mdb_get(txn, p->rec, &k, &d);

	memset(r, 0, sizeof *r);
	if (rc == MDB_NOTFOUND)
		return SL_ENOENT;
	if (rc != 0)
		return SL_ESTORE;
	if ((rc = rec_decode(r, id, d.mv_data, d.mv_size)) != SL_OK)
		return rc;
	if (!r->created) {
		prec_free(r);
		return SL_ENOENT;
	}
	return SL_OK;
}

int
project_resolve(struct project *p, MDB_txn *txn, const char *prefix,
    char kind, uint8_t id[SL_ID_LEN], char *cands, size_t candlen)
{
	size_t n = strlen(prefix);
	char full[SL_ID_TEXT + 1];
	uint8_t lo[SL_ID_LEN];
	MDB_cursor *c;
	MDB_val k, d;
	int found = 0, rc;

	cands[0] = '\0';
	if (n < 4 || n > SL_ID_TEXT || !sl_b32_valid_prefix(prefix, n))
		return SL_EINVAL;
	/* The smallest id with this prefix: the prefix padded with '0'. */
	memset(full, '0', SL_ID_TEXT);
	memcpy(full, prefix, n);
	full[SL_ID_TEXT] = '\0';
	for (size_t i = 0; i < n; i++)
		full[i] = (char)tolower((unsigned char)full[i]);
	if (!sl_b32_decode(lo, SL_ID_LEN, full)) {
		/* Spare bits set in the last character: clear them. */
		full[SL_ID_TEXT - 1] = '0';
		if (!sl_b32_decode(lo, SL_ID_LEN, full))
			return SL_EINVAL;
	}
	if (mdb_cursor_open(txn, p->rec, &c) != 0)
		return SL_ESTORE;
	k = (MDB_val){ SL_ID_LEN, lo };
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		char text[SL_ID_TEXT + 1];
		struct prec r;

		sl_b32_encode(text, k.mv_data, SL_ID_LEN);
		if (strncasecmp(text, prefix, n) != 0)
			break;
		if (rec_decode(&r, k.mv_data, d.mv_data, d.mv_size) != SL_OK)
			continue;
		bool match = r.created && (kind == 0 || r.kind == kind);

		prec_free(&r);
		if (!match)
			continue;
		if (found++ == 0)
			memcpy(id, k.mv_data, SL_ID_LEN);
		size_t used = strlen(cands);

		if (used + SL_ID_TEXT + 2 < candlen)
			snprintf(cands + used, candlen - used, "%s%s",
			    used ? " " : "", text);
	}
	mdb_cursor_close(c);
	return found == 0 ? SL_ENOENT : found > 1 ? SL_EAMBIG : SL_OK;
}

int
project_list(struct project *p, MDB_txn *txn, char kind, const char *field,
    const char *value, const char *from, const char *to, project_rec_fn fn,
    void *ctx)
{
	const struct index_def *def = index_find(kind, field);
	uint8_t start[IDX_KEY_MAX], stop[IDX_KEY_MAX];
	size_t slen = 2, plen = 2, tlen = 0;
	MDB_cursor *c;
	MDB_val k, d;
	int rc, ret = SL_OK;

	if (def == NULL)
		return SL_EINVAL;
	start[0] = stop[0] = (uint8_t)kind;
	start[1] = stop[1] = (uint8_t)def->code;
	if (value != NULL || from != NULL) {
		const char *v = value != NULL ? value : from;
		size_t n = strlen(v) < IDX_VAL_MAX ? strlen(v) : IDX_VAL_MAX;

		for (size_t i = 0; i < n; i++)
			start[2 + i] = (uint8_t)tolower((unsigned char)v[i]);
		slen = 2 + n;
		if (value != NULL) {
			start[slen++] = 0; /* exact value: "value\0" + id */
			plen = slen;
		}
	}
	if (value == NULL && to != NULL) {
		size_t n = strlen(to) < IDX_VAL_MAX ? strlen(to) : IDX_VAL_MAX;

		for (size_t i = 0; i < n; i++)
			stop[2 + i] = (uint8_t)tolower((unsigned char)to[i]);
		tlen = 2 + n;
	}
	if (mdb_cursor_open(txn, p->pidx, &c) != 0)
		return SL_ESTORE;
	k = (MDB_val){ slen, start };
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *key = k.mv_data;
		struct prec r;

		if (k.mv_size < 3 + SL_ID_LEN || memcmp(key, start, plen) != 0)
			break;
		if (tlen > 0) {
			/* Range end: compare the value part up to its 0. */
			size_t vlen = k.mv_size - 2 - 1 - SL_ID_LEN;
			size_t m = vlen < tlen - 2 ? vlen : tlen - 2;
			int cmp = memcmp(key + 2, stop + 2, m);

			if (cmp > 0 || (cmp == 0 && vlen > tlen - 2))
				break;
		}
		const uint8_t *id = key + k.mv_size - SL_ID_LEN;

		if (project_get(p, txn, id, &r) != SL_OK)
			continue;
		ret = fn(ctx, &r);
		prec_free(&r);
		if (ret != 0)
			break;
	}
	mdb_cursor_close(c);
	if (ret == SL_OK && rc != 0 && rc != MDB_NOTFOUND)
		ret = SL_ESTORE;
	return ret;
}

int
project_history(struct project *p, MDB_txn *txn, const uint8_t id[SL_ID_LEN],
    uint64_t until, project_ev_fn fn, void *ctx)
{
	MDB_cursor *c;
	MDB_val k = { SL_ID_LEN, (void *)id }, d;
	int rc, ret = SL_OK;

	if (mdb_cursor_open(txn, p->pev, &c) != 0)
		return SL_ESTORE;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *key = k.mv_data;
		const uint8_t *rec;
		size_t len;
		struct sl_event ev;
		uint8_t hash[SL_HASH_LEN];

		if (k.mv_size != SL_ID_LEN + 8 + SL_KEY_LEN + 8 ||
		    memcmp(key, id, SL_ID_LEN) != 0)
			break;
		if (sl_get_be(key + SL_ID_LEN, 8) > until)
			break;
		if (store_txn_event(p->s, txn, key + SL_ID_LEN + 8,
		    sl_get_be(key + SL_ID_LEN + 8 + SL_KEY_LEN, 8), &rec,
		    &len) != SL_OK ||
		    sl_event_decode(&ev, rec, len) != SL_OK) {
			ret = SL_ESTORE;
			break;
		}
		sl_event_hash(hash, &ev);
		if ((ret = fn(ctx, &ev, hash)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return ret;
}

struct as_of {
	struct prec *r;
	int rc;
};

static int
as_of_cb(void *ctx, const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN])
{
	struct as_of *a = ctx;
	bool creates;
	char kind = type_kind(ev, &creates);

	if (kind == 0 || (a->r->kind != 0 && a->r->kind != kind))
		return 0;
	return prec_apply(a->r, kind, creates, ev, hash) == 0 ? 0 : SL_ENOMEM;
}

int
project_as_of(struct project *p, MDB_txn *txn, const uint8_t id[SL_ID_LEN],
    uint64_t until, struct prec *r)
{
	struct as_of a = { r, 0 };
	int rc;

	memset(r, 0, sizeof *r);
	memcpy(r->id, id, SL_ID_LEN);
	if ((rc = project_history(p, txn, id, until, as_of_cb, &a)) != SL_OK) {
		prec_free(r);
		return rc;
	}
	if (!r->created) {
		prec_free(r);
		return SL_ENOENT;
	}
	return SL_OK;
}

void
project_node_org(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], char *org, size_t len)
{
	MDB_val k = { SL_KEY_LEN, (void *)origin }, d;

	org[0] = '\0';
	if (mdb_get(txn, p->pnodes, &k, &d) == 0 && d.mv_size > 16)
		snprintf(org, len, "%.*s", (int)(d.mv_size - 16),
		    (const char *)d.mv_data + 16);
}

uint64_t
project_node_org_seq(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN])
{
	MDB_val k = { SL_KEY_LEN, (void *)origin }, d;

	if (mdb_get(txn, p->pnodes, &k, &d) == 0 && d.mv_size > 16)
		return sl_get_be((const uint8_t *)d.mv_data + 8, 8);
	return 0;
}

int
project_dump(struct project *p, project_dump_fn fn, void *ctx)
{
	MDB_dbi dbs[] = { p->rec, p->pidx, p->pev, p->pnodes };
	MDB_txn *txn;
	int rc = 0;

	if (store_read_begin(p->s, &txn) != SL_OK)
		return SL_ESTORE;
	for (size_t i = 0; i < sizeof dbs / sizeof dbs[0] && rc == 0; i++) {
		MDB_cursor *c;
		MDB_val k, d;

		if ((rc = mdb_cursor_open(txn, dbs[i], &c)) != 0)
			break;
		while (mdb_cursor_get(c, &k, &d, MDB_NEXT) == 0)
			fn(ctx, k.mv_data, k.mv_size, d.mv_data, d.mv_size);
		mdb_cursor_close(c);
		fn(ctx, "|", 1, "|", 1); /* database boundary */
	}
	mdb_txn_abort(txn);
	return rc == 0 ? SL_OK : SL_ESTORE;
}
