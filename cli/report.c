/*
 * report.c - samlog report: the board report from the log.
 *
 * The report a coordination association's board gets about its work
 * with the work-integrating social enterprises, made from the records:
 * per municipality the social enterprises by status (those new in the
 * period marked), the agreements that ran in the period (in force,
 * expiring within 90 days of its end, or ended), the meetings held by
 * type with the organisations met, and the decisions of the period with
 * their dates, deciding bodies and minutes; then what belongs to no
 * municipality asked for ("Other"), the open actions as the work ahead
 * (overdue ones marked), and a summary table first.
 *
 * Every list comes from samlogd as it stood on the period's last day
 * (the lists' --as-of: the dates changes take effect), so a report of a
 * past year says what was known to hold then, and the same log gives
 * the same report, byte for byte, on any node and any day: nothing in
 * it depends on the clock or on arrival order.  Records are ordered by
 * Swedish alphabetical order (a, ..., z, å, ä, ö; case aside), then id.
 *
 * Which municipality a record belongs to: its own `municipality` field;
 * else, for a meeting, that of the first organisation met that has one;
 * for a decision, its deciding body's, else its meeting's; for an
 * agreement, its first party's that has one; for an action, that of the
 * meeting or decision it came from, else of its first owner that has
 * one.  Names are compared case aside (sv_key).
 *
 * Three renderings of one model: HTML (a printable A4 document with its
 * stylesheet inside: page numbers in the page margin, tables that keep
 * their heads across pages; every value escaped), Markdown (tables for
 * pasting into a word processor) and JSON (the model's fields, for
 * other tools).  Labels are Swedish, or English with --lang en.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fileio.h"
#include "html.h"
#include "output.h"
#include "report.h"
#include "request.h"
#include "samlog_proto.h"
#include "words.h"

/* ---- the records, as the daemon sent them -------------------------------- */

enum { K_ORG, K_MEETING, K_DECISION, K_AGREEMENT, K_ACTION, K_N };

static const char *const kind_word[K_N] = {
	"org", "meeting", "decision", "agreement", "action",
};

/* ---- text helpers ---------------------------------------------------------- */

/* The string value of key in m as a new C string, or NULL (absent, nil
 * or not a string). */
static char *
get_str(const msgpack_object *m, const char *key)
{
	const msgpack_object *v = map_get(m, key);

	if (v == NULL || v->type != MSGPACK_OBJECT_STR)
		return NULL;
	return strndup(v->via.str.ptr, v->via.str.size);
}

static bool
get_bool(const msgpack_object *m, const char *key)
{
	const msgpack_object *v = map_get(m, key);

	return v != NULL && v->type == MSGPACK_OBJECT_BOOLEAN &&
	    v->via.boolean;
}

/* The strings of array key in m; n receives how many (NULL entries
 * where a value is not a string: an erased name). */
static char **
get_strs(const msgpack_object *m, const char *key, size_t *n)
{
	const msgpack_object *v = map_get(m, key);
	char **out;

	*n = 0;
	if (v == NULL || v->type != MSGPACK_OBJECT_ARRAY ||
	    v->via.array.size == 0)
		return NULL;
	if ((out = calloc(v->via.array.size, sizeof *out)) == NULL)
		return NULL;
	for (uint32_t i = 0; i < v->via.array.size; i++) {
		const msgpack_object *e = &v->via.array.ptr[i];

		if (e->type == MSGPACK_OBJECT_STR)
			out[i] = strndup(e->via.str.ptr, e->via.str.size);
	}
	*n = v->via.array.size;
	return out;
}

static void
strs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * A key for Swedish alphabetical order and for comparing names case
 * aside: letters folded to lower case (ASCII and Latin-1's), å, ä, ö
 * after z in that order, é as e and ü as y; every other character as
 * its code point.  Written as 32-bit code points into out (at most max,
 * 0-terminated).
 */
static size_t
sv_key(const char *s, uint32_t *out, size_t max)
{
	size_t n = 0, len = s != NULL ? strlen(s) : 0;

	for (size_t i = 0; i < len && n + 1 < max;) {
		uint32_t cp;
		size_t k = utf8_seq(s + i, len - i, &cp);

		if (k == 0) {
			cp = (unsigned char)s[i];
			k = 1;
		}
		i += k;
		if ((cp >= 'A' && cp <= 'Z') ||
		    (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7))
			cp += 32;
		if (cp == 0xE5)         /* å */
			cp = 'z' + 1;
		else if (cp == 0xE4 || cp == 0xE6)     /* ä, æ */
			cp = 'z' + 2;
		else if (cp == 0xF6 || cp == 0xF8)     /* ö, ø */
			cp = 'z' + 3;
		else if (cp >= 0xE8 && cp <= 0xEB)     /* è é ê ë */
			cp = 'e';
		else if (cp == 0xFC)                   /* ü */
			cp = 'y';
		else if (cp >= 0xE0 && cp <= 0xE3)     /* à á â ã */
			cp = 'a';
		out[n++] = cp;
	}
	out[n] = 0;
	return n;
}

#define KEY_MAX 256

static int
sv_cmp(const char *a, const char *b)
{
	uint32_t ka[KEY_MAX], kb[KEY_MAX];
	size_t i;

	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL);
	sv_key(a, ka, KEY_MAX);
	sv_key(b, kb, KEY_MAX);
	for (i = 0; ka[i] != 0 && ka[i] == kb[i]; i++)
		;
	if (ka[i] != kb[i])
		return ka[i] < kb[i] ? -1 : 1;
	return strcmp(a, b);
}

static bool
sv_same(const char *a, const char *b)
{
	uint32_t ka[KEY_MAX], kb[KEY_MAX];
	size_t na, nb;

	if (a == NULL || b == NULL)
		return false;
	na = sv_key(a, ka, KEY_MAX);
	nb = sv_key(b, kb, KEY_MAX);
	return na == nb && memcmp(ka, kb, na * sizeof *ka) == 0;
}

/* Dates are YYYY-MM-DD: their order is their text's.  NULL is no
 * date. */
static bool
date_in(const char *d, const char *from, const char *to)
{
	return d != NULL && strcmp(d, from) >= 0 && strcmp(d, to) <= 0;
}

/* day plus n days, into out (YYYY-MM-DD). */
static void
date_add(const char *day, int n, char out[11])
{
	struct tm tm = { 0 };
	time_t t;

	if (sscanf(day, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday) != 3) {
		snprintf(out, 11, "%s", day);
		return;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm) + (time_t)n * 86400;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* ---- the model ------------------------------------------------------------- */

#define EXPIRING_DAYS 90

/* Each item keeps its record (rec) beside the texts made of it: the
 * JSON gives its lists as lists. */
struct ent {            /* a social enterprise (an org of kind asf) */
	const msgpack_object *rec;
	char *id, *name, *status, *founded, *sectors, *muni;
	bool iop, fresh;
};

struct agr {
	const msgpack_object *rec;
	char *id, *title, *type, *parties, *start, *end, *kase, *muni;
	int state;      /* AGR_IN_FORCE, AGR_EXPIRING, AGR_ENDED */
};
enum { AGR_IN_FORCE, AGR_EXPIRING, AGR_ENDED };

struct mtg {
	const msgpack_object *rec;
	char *id, *date, *type, *title, *orgs, *counts, *muni;
};

struct dec {
	char *id, *on, *title, *body, *status, *minutes, *meeting, *muni;
};

struct act {
	const msgpack_object *rec;
	char *id, *due, *title, *owners, *from, *muni;
	bool overdue;
};

#define VEC(T) struct { T *v; size_t n, cap; }

struct section {
	char *name;     /* NULL: "Other" */
	VEC(struct ent) ents;
	VEC(struct agr) agrs;
	VEC(struct mtg) mtgs;
	VEC(struct dec) decs;
	VEC(struct act) acts;
	size_t fresh, in_force, iop, overdue;
};

struct model {
	const struct report_opts *o;
	char *org;              /* this node's organisation */
	struct section *secs;   /* the municipalities, then Other */
	size_t nsecs;
	struct rset r[K_N];
	char soon[11];          /* to + EXPIRING_DAYS */
	char *unknown;          /* asked for, named by no record, or NULL */
	char *named;            /* then: the municipalities records name */
};

/* Room in vec for n items (build reserves, in every section, room for
 * every record of the kind first, so that PUSH cannot fail). */
#define RESERVE(vec, n) ((vec).cap >= (n) || \
	(((vec).v = reallocarray_keep((vec).v, (n), sizeof *(vec).v)) != NULL && \
	((vec).cap = (n), true)))
#define PUSH(vec, item) ((vec).v[(vec).n++] = (item))

/* realloc of n items of size each; on failure the old block is freed
 * (the model is dropped whole then). */
static void *
reallocarray_keep(void *p, size_t n, size_t size)
{
	void *q = n > 0 && n <= SIZE_MAX / size ? realloc(p, n * size) : NULL;

	if (q == NULL)
		free(p);
	return q;
}

/* The record of kind k whose id is id, or NULL. */
static const msgpack_object *
find_rec(const struct model *m, int k, const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;

	for (size_t i = 0; n > 0 && i < m->r[k].n; i++) {
		const msgpack_object *v = map_get(&m->r[k].v[i].data, "id");

		if (v != NULL && v->type == MSGPACK_OBJECT_STR &&
		    v->via.str.size == n && memcmp(v->via.str.ptr, id, n) == 0)
			return &m->r[k].v[i].data;
	}
	return NULL;
}

/* The municipality of the first organisation among the ids of array
 * key of rec that has one. */
static char *
muni_of_orgs(const struct model *m, const msgpack_object *rec,
    const char *key)
{
	size_t n;
	char **ids = get_strs(rec, key, &n), *mu = NULL;

	for (size_t i = 0; i < n && mu == NULL; i++) {
		const msgpack_object *o = find_rec(m, K_ORG, ids[i]);

		if (o != NULL)
			mu = get_str(o, "municipality");
	}
	strs_free(ids, n);
	return mu;
}

static char *
muni_of(const struct model *m, int k, const msgpack_object *rec, int depth)
{
	char *mu = get_str(rec, "municipality"), *ref;
	const msgpack_object *o;

	if (mu != NULL || depth > 2)
		return mu;
	switch (k) {
	case K_MEETING:
		return muni_of_orgs(m, rec, "orgs");
	case K_AGREEMENT:
		return muni_of_orgs(m, rec, "parties");
	case K_DECISION:
		ref = get_str(rec, "body");
		if ((o = find_rec(m, K_ORG, ref)) != NULL)
			mu = get_str(o, "municipality");
		free(ref);
		if (mu == NULL && (ref = get_str(rec, "meeting")) != NULL) {
			if ((o = find_rec(m, K_MEETING, ref)) != NULL)
				mu = muni_of(m, K_MEETING, o, depth + 1);
			free(ref);
		}
		return mu;
	case K_ACTION:
		if ((ref = get_str(rec, "from")) != NULL) {
			if ((o = find_rec(m, K_MEETING, ref)) != NULL)
				mu = muni_of(m, K_MEETING, o, depth + 1);
			else if ((o = find_rec(m, K_DECISION, ref)) != NULL)
				mu = muni_of(m, K_DECISION, o, depth + 1);
			free(ref);
		}
		return mu != NULL ? mu : muni_of_orgs(m, rec, "owner");
	default:
		return NULL;
	}
}

/* The names of array key (its "KEY_names" beside it), joined by ", ";
 * an erased or unknown one as "-". */
static char *
names(const msgpack_object *rec, const char *key)
{
	char nk[64];
	size_t n;
	char **v;
	struct sbuf b = { 0 };

	snprintf(nk, sizeof nk, "%s_names", key);
	v = get_strs(rec, nk, &n);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sb_put(&b, ", ", 2);
		sb_put(&b, v[i] != NULL ? v[i] : "-", v[i] != NULL ?
		    strlen(v[i]) : 1);
	}
	strs_free(v, n);
	return b.p;
}

static char *
joined(const msgpack_object *rec, const char *key)
{
	size_t n;
	char **v = get_strs(rec, key, &n);
	struct sbuf b = { 0 };

	for (size_t i = 0; i < n; i++) {
		if (v[i] == NULL)
			continue;
		if (b.len > 0)
			sb_put(&b, ", ", 2);
		sb_put(&b, v[i], strlen(v[i]));
	}
	strs_free(v, n);
	return b.p;
}

/* The section for municipality mu: the one asked for or found that is
 * mu case aside, else Other (the last). */
static struct section *
section_of(struct model *m, const char *mu)
{
	for (size_t i = 0; mu != NULL && i + 1 < m->nsecs; i++)
		if (sv_same(m->secs[i].name, mu))
			return &m->secs[i];
	return &m->secs[m->nsecs - 1];
}

/* The municipality asked for as the records spell it (the first in
 * byte order of those that are it case aside), else as asked. */
static char *
spelling(const struct model *m, const char *asked)
{
	char *best = NULL;

	for (int k = 0; k < K_N; k++)
		for (size_t i = 0; i < m->r[k].n; i++) {
			char *mu = get_str(&m->r[k].v[i].data,
			    "municipality");

			if (mu != NULL && sv_same(mu, asked) && (best == NULL ||
			    strcmp(mu, best) < 0)) {
				free(best);
				best = mu;
			} else {
				free(mu);
			}
		}
	return best != NULL ? best : strdup(asked);
}

static int
cmp_name(const void *a, const void *b)
{
	return sv_cmp(*(char *const *)a, *(char *const *)b);
}

/* Every municipality a record names, once (case aside: its spelling
 * first in byte order), in alphabetical order, into *found (n of
 * them).  Sorted first and then each kept unless it is the one before
 * it case aside: n log n, for a log where a member named thousands. */
static bool
named_munis(const struct model *m, char ***found, size_t *nf)
{
	size_t cap = 0, n = 0, keep = 0;
	char **v = NULL;

	*found = NULL;
	*nf = 0;
	for (int k = 0; k < K_N; k++)
		for (size_t i = 0; i < m->r[k].n; i++) {
			char *mu = get_str(&m->r[k].v[i].data, "municipality");

			if (mu == NULL)
				continue;
			if (n == cap) {
				char **p = realloc(v, (cap ? cap * 2 : 16) *
				    sizeof *p);

				if (p == NULL) {
					free(mu);
					strs_free(v, n);
					return false;
				}
				v = p;
				cap = cap ? cap * 2 : 16;
			}
			v[n++] = mu;
		}
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_name);
	for (size_t i = 0; i < n; i++) {
		if (keep > 0 && sv_same(v[keep - 1], v[i])) {
			free(v[i]);
			continue;
		}
		v[keep++] = v[i];
	}
	*found = v;
	*nf = keep;
	return true;
}

/* The sections: those asked for, in that order, or every municipality
 * that a record names, in alphabetical order; then Other.  One asked
 * for that no record names is noted in m->unknown (with those named,
 * in m->named), for a warning: it is most likely misspelt. */
static bool
make_sections(struct model *m)
{
	const struct report_opts *o = m->o;
	char **found;
	size_t nf;
	struct sbuf unknown = { 0 }, named = { 0 };

	if (!named_munis(m, &found, &nf))
		return false;
	size_t n = o->nmunis > 0 ? o->nmunis : nf;

	if ((m->secs = calloc(n + 1, sizeof *m->secs)) == NULL) {
		strs_free(found, nf);
		return false;
	}
	m->nsecs = n + 1;
	for (size_t i = 0; i < n; i++) {
		bool known = o->nmunis == 0;

		for (size_t j = 0; j < nf && !known; j++)
			known = sv_same(found[j], o->munis[i]);
		if (!known) {
			if (unknown.len > 0)
				sb_put(&unknown, ", ", 2);
			sb_put(&unknown, o->munis[i], strlen(o->munis[i]));
		}
		if (o->nmunis == 0) {
			m->secs[i].name = found[i];
			found[i] = NULL;
		} else if ((m->secs[i].name = spelling(m, o->munis[i])) ==
		    NULL) {
			strs_free(found, nf);
			free(unknown.p);
			return false;
		}
	}
	for (size_t j = 0; unknown.len > 0 && j < nf; j++) {
		if (named.len > 0)
			sb_put(&named, ", ", 2);
		sb_put(&named, found[j], strlen(found[j]));
	}
	strs_free(found, nf);
	m->unknown = unknown.p;
	m->named = named.p;
	return true;
}

static const char *const ent_order[] = {
	"active", "starting", "idea", "dormant", "closed", NULL,
};

static int
ent_rank(const char *status)
{
	int i;

	for (i = 0; ent_order[i] != NULL; i++)
		if (status != NULL && strcmp(status, ent_order[i]) == 0)
			return i;
	return i;
}

/* Ties of a first key c broken by name (Swedish order), then by id. */
static int
then_name(int c, const char *na, const char *nb, const char *ia,
    const char *ib)
{
	if (c == 0)
		c = sv_cmp(na, nb);
	return c != 0 ? c : strcmp(ia, ib);
}

/* Enterprises by status (active first), agreements by title, meetings
 * and decisions by day, actions by due day (those without one last). */
static int
cmp_ent(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	return then_name(ent_rank(x->status) - ent_rank(y->status), x->name,
	    y->name, x->id, y->id);
}

static int
cmp_agr(const void *a, const void *b)
{
	const struct agr *x = a, *y = b;

	return then_name(0, x->title, y->title, x->id, y->id);
}

static int
cmp_mtg(const void *a, const void *b)
{
	const struct mtg *x = a, *y = b;

	return then_name(strcmp(x->date, y->date), x->title, y->title, x->id,
	    y->id);
}

static int
cmp_dec(const void *a, const void *b)
{
	const struct dec *x = a, *y = b;

	return then_name(strcmp(x->on, y->on), x->title, y->title, x->id,
	    y->id);
}

static int
cmp_act(const void *a, const void *b)
{
	const struct act *x = a, *y = b;

	return then_name(x->due == NULL || y->due == NULL ? (x->due == NULL) -
	    (y->due == NULL) : strcmp(x->due, y->due), x->title, y->title,
	    x->id, y->id);
}

static bool
build(struct model *m)
{
	const struct report_opts *o = m->o;

	if (!make_sections(m))
		return false;
	for (size_t i = 0; i < m->nsecs; i++) {
		struct section *x = &m->secs[i];

		if (!RESERVE(x->ents, m->r[K_ORG].n + 1) ||
		    !RESERVE(x->agrs, m->r[K_AGREEMENT].n + 1) ||
		    !RESERVE(x->mtgs, m->r[K_MEETING].n + 1) ||
		    !RESERVE(x->decs, m->r[K_DECISION].n + 1) ||
		    !RESERVE(x->acts, m->r[K_ACTION].n + 1))
			return false;
	}
	date_add(o->to, EXPIRING_DAYS, m->soon);
	for (size_t i = 0; i < m->r[K_ORG].n; i++) {
		const msgpack_object *r = &m->r[K_ORG].v[i].data;
		char *kind = get_str(r, "kind");
		bool asf = kind != NULL && strcmp(kind, "asf") == 0;
		struct ent e;

		free(kind);
		if (!asf)
			continue;
		e = (struct ent){ .rec = r, .id = get_str(r, "id"),
		    .name = get_str(r, "name"), .status = get_str(r, "status"),
		    .founded = get_str(r, "founded"),
		    .sectors = joined(r, "sector"), .iop = get_bool(r, "iop"),
		    .muni = muni_of(m, K_ORG, r, 0) };
		char *created = get_str(r, "created_on");

		e.fresh = e.founded != NULL ? date_in(e.founded, o->from,
		    o->to) : date_in(created, o->from, o->to);
		free(created);
		struct section *s = section_of(m, e.muni);

		s->fresh += e.fresh;
		PUSH(s->ents, e);
	}
	for (size_t i = 0; i < m->r[K_AGREEMENT].n; i++) {
		const msgpack_object *r = &m->r[K_AGREEMENT].v[i].data;
		struct agr a = { .start = get_str(r, "start"),
		    .end = get_str(r, "end") };

		/* Ran in the period: begun by its end, not ended before its
		 * start. */
		if ((a.start != NULL && strcmp(a.start, o->to) > 0) ||
		    (a.end != NULL && strcmp(a.end, o->from) < 0)) {
			free(a.start);
			free(a.end);
			continue;
		}
		a.rec = r;
		a.id = get_str(r, "id");
		a.title = get_str(r, "title");
		a.type = get_str(r, "type");
		a.parties = names(r, "parties");
		a.kase = get_str(r, "case");
		a.muni = muni_of(m, K_AGREEMENT, r, 0);
		a.state = a.end == NULL || strcmp(a.end, m->soon) > 0 ?
		    AGR_IN_FORCE : strcmp(a.end, o->to) >= 0 ? AGR_EXPIRING :
		    AGR_ENDED;
		struct section *s = section_of(m, a.muni);

		if (a.state != AGR_ENDED) {
			s->in_force++;
			s->iop += a.type != NULL && strcmp(a.type, "iop") == 0;
		}
		PUSH(s->agrs, a);
	}
	for (size_t i = 0; i < m->r[K_MEETING].n; i++) {
		const msgpack_object *r = &m->r[K_MEETING].v[i].data;
		char *date = get_str(r, "date");

		if (!date_in(date, o->from, o->to)) {
			free(date);
			continue;
		}
		struct mtg t = { .rec = r, .id = get_str(r, "id"), .date = date,
		    .type = get_str(r, "type"), .title = get_str(r, "title"),
		    .orgs = names(r, "orgs"), .counts = joined(r, "counts"),
		    .muni = muni_of(m, K_MEETING, r, 0) };

		PUSH(section_of(m, t.muni)->mtgs, t);
	}
	for (size_t i = 0; i < m->r[K_DECISION].n; i++) {
		const msgpack_object *r = &m->r[K_DECISION].v[i].data;
		char *on = get_str(r, "on");

		if (!date_in(on, o->from, o->to)) {
			free(on);
			continue;
		}
		struct dec d = { .id = get_str(r, "id"), .on = on,
		    .title = get_str(r, "title"),
		    .body = get_str(r, "body_name"),
		    .status = get_str(r, "status"),
		    .minutes = get_str(r, "minutes"),
		    .meeting = get_str(r, "meeting_name"),
		    .muni = muni_of(m, K_DECISION, r, 0) };

		PUSH(section_of(m, d.muni)->decs, d);
	}
	for (size_t i = 0; i < m->r[K_ACTION].n; i++) {
		const msgpack_object *r = &m->r[K_ACTION].v[i].data;
		char *st = get_str(r, "status");
		bool open = st != NULL && strcmp(st, "open") == 0;

		free(st);
		if (!open)
			continue;
		struct act a = { .rec = r, .id = get_str(r, "id"),
		    .due = get_str(r, "due"), .title = get_str(r, "title"),
		    .owners = names(r, "owner"),
		    .from = get_str(r, "from_name"),
		    .muni = muni_of(m, K_ACTION, r, 0) };
		struct section *s = section_of(m, a.muni);

		a.overdue = a.due != NULL && strcmp(a.due, o->to) < 0;
		s->overdue += a.overdue;
		PUSH(s->acts, a);
	}
	for (size_t i = 0; i < m->nsecs; i++) {
		struct section *s = &m->secs[i];

		if (s->ents.n > 1)
			qsort(s->ents.v, s->ents.n, sizeof *s->ents.v, cmp_ent);
		if (s->agrs.n > 1)
			qsort(s->agrs.v, s->agrs.n, sizeof *s->agrs.v, cmp_agr);
		if (s->mtgs.n > 1)
			qsort(s->mtgs.v, s->mtgs.n, sizeof *s->mtgs.v, cmp_mtg);
		if (s->decs.n > 1)
			qsort(s->decs.v, s->decs.n, sizeof *s->decs.v, cmp_dec);
		if (s->acts.n > 1)
			qsort(s->acts.v, s->acts.n, sizeof *s->acts.v, cmp_act);
	}
	return true;
}

static void
model_free(struct model *m)
{
	for (size_t i = 0; i < m->nsecs; i++) {
		struct section *s = &m->secs[i];

		for (size_t j = 0; j < s->ents.n; j++) {
			struct ent *e = &s->ents.v[j];

			free(e->id), free(e->name), free(e->status);
			free(e->founded), free(e->sectors), free(e->muni);
		}
		for (size_t j = 0; j < s->agrs.n; j++) {
			struct agr *a = &s->agrs.v[j];

			free(a->id), free(a->title), free(a->type);
			free(a->parties), free(a->start), free(a->end);
			free(a->kase), free(a->muni);
		}
		for (size_t j = 0; j < s->mtgs.n; j++) {
			struct mtg *t = &s->mtgs.v[j];

			free(t->id), free(t->date), free(t->type);
			free(t->title), free(t->orgs), free(t->counts);
			free(t->muni);
		}
		for (size_t j = 0; j < s->decs.n; j++) {
			struct dec *d = &s->decs.v[j];

			free(d->id), free(d->on), free(d->title), free(d->body);
			free(d->status), free(d->minutes), free(d->meeting);
			free(d->muni);
		}
		for (size_t j = 0; j < s->acts.n; j++) {
			struct act *a = &s->acts.v[j];

			free(a->id), free(a->due), free(a->title);
			free(a->owners), free(a->from), free(a->muni);
		}
		free(s->ents.v), free(s->agrs.v), free(s->mtgs.v);
		free(s->decs.v), free(s->acts.v);
		free(s->name);
	}
	free(m->secs);
	for (int k = 0; k < K_N; k++)
		rset_free(&m->r[k]);
	free(m->org);
	free(m->unknown);
	free(m->named);
}

/* ---- words ------------------------------------------------------------------ */

enum rword {
	W_TITLE, W_PERIOD, W_SOURCE, W_CONTENTS, W_SUMMARY, W_WORK, W_OTHER,
	W_AHEAD, W_ENTS, W_AGRS, W_MTGS, W_DECS, W_MUNI, W_TOTAL, W_NEW,
	W_IN_FORCE, W_OF_WHICH_IOP, W_OVERDUE, W_OPEN, W_NAME, W_STATUS,
	W_SECTOR, W_IOP, W_FOUNDED, W_AGREEMENT, W_TYPE, W_PARTIES, W_RUNS,
	W_CASE, W_DATE, W_MEETING, W_ORGS_MET, W_COUNTS, W_DECISION, W_BODY,
	W_MINUTES, W_DUE, W_ACTION, W_OWNER, W_FROM, W_NONE_ENTS,
	W_NONE_AGRS, W_NONE_MTGS, W_NONE_DECS, W_NONE_ACTS, W_NONE_OTHER,
	W_YES, W_EXPIRES, W_ENDED, W_ACTIVE_STATE, W_PAGE, W_OF, W_NEW_NOTE,
	W_OTHER_NOTE, W_AHEAD_NOTE, W_UNKNOWN, W_LATE,
};

static const char *const words[][2] = {
	[W_TITLE] = { "Rapport till styrelsen", "Report to the board" },
	[W_PERIOD] = { "Period", "Period" },
	[W_SOURCE] = { "Framtagen ur samlog på noden för %s, så som "
	    "uppgifterna gällde %s.",
	    "Made with samlog on the node of %s, from the records as they "
	    "stood on %s." },
	[W_CONTENTS] = { "Innehåll", "Contents" },
	[W_SUMMARY] = { "Sammanfattning", "Summary" },
	[W_WORK] = { "Uppdragsuppfyllelse", "Fulfilment of the assignment" },
	[W_OTHER] = { "Övrigt", "Other" },
	[W_AHEAD] = { "Kommande arbete", "Work ahead" },
	[W_ENTS] = { "Sociala företag", "Social enterprises" },
	[W_AGRS] = { "Avtal och partnerskap", "Agreements and partnerships" },
	[W_MTGS] = { "Möten", "Meetings" },
	[W_DECS] = { "Beslut", "Decisions" },
	[W_MUNI] = { "Kommun", "Municipality" },
	[W_TOTAL] = { "Totalt", "Total" },
	[W_NEW] = { "varav nya", "of which new" },
	[W_IN_FORCE] = { "Avtal i kraft", "Agreements in force" },
	[W_OF_WHICH_IOP] = { "varav IOP", "of which IOP" },
	[W_OVERDUE] = { "försenade", "overdue" },
	[W_OPEN] = { "Öppna åtgärder", "Open actions" },
	[W_NAME] = { "Namn", "Name" },
	[W_STATUS] = { "Status", "Status" },
	[W_SECTOR] = { "Bransch", "Line of business" },
	[W_IOP] = { "IOP", "IOP" },
	[W_FOUNDED] = { "Grundat", "Founded" },
	[W_AGREEMENT] = { "Avtal", "Agreement" },
	[W_TYPE] = { "Typ", "Type" },
	[W_PARTIES] = { "Parter", "Parties" },
	[W_RUNS] = { "Löptid", "Runs" },
	[W_CASE] = { "Diarienr", "Case no." },
	[W_DATE] = { "Datum", "Date" },
	[W_MEETING] = { "Möte", "Meeting" },
	[W_ORGS_MET] = { "Organisationer", "Organisations met" },
	[W_COUNTS] = { "Deltagare", "Attendance" },
	[W_DECISION] = { "Beslut", "Decision" },
	[W_BODY] = { "Beslutande organ", "Deciding body" },
	[W_MINUTES] = { "Protokoll", "Minutes" },
	[W_DUE] = { "Klart senast", "Due" },
	[W_ACTION] = { "Åtgärd", "Action" },
	[W_OWNER] = { "Ansvarig", "Owner" },
	[W_FROM] = { "Från", "From" },
	[W_NONE_ENTS] = { "Inga sociala företag är registrerade.",
	    "No social enterprises are recorded." },
	[W_NONE_AGRS] = { "Inga avtal löpte under perioden.",
	    "No agreement ran in the period." },
	[W_NONE_MTGS] = { "Inga möten under perioden.",
	    "No meetings in the period." },
	[W_NONE_DECS] = { "Inga beslut under perioden.",
	    "No decisions in the period." },
	[W_NONE_ACTS] = { "Inga öppna åtgärder.", "No open actions." },
	[W_NONE_OTHER] = { "Inget utanför kommunerna ovan.",
	    "Nothing outside the municipalities above." },
	[W_YES] = { "ja", "yes" },
	[W_EXPIRES] = { "löper ut %s", "expires %s" },
	[W_ENDED] = { "upphörde %s", "ended %s" },
	[W_ACTIVE_STATE] = { "i kraft", "in force" },
	[W_PAGE] = { "Sida", "Page" },
	[W_OF] = { "av", "of" },
	[W_NEW_NOTE] = { "ny under perioden", "new in the period" },
	[W_OTHER_NOTE] = { "Det som inte hör till någon av kommunerna ovan.",
	    "What belongs to none of the municipalities above." },
	[W_AHEAD_NOTE] = { "Åtgärder som var öppna %s, efter kommun. "
	    "Försenade (förfallodagen passerad) är markerade.",
	    "Actions open on %s, by municipality. Overdue ones (past their "
	    "due day) are marked." },
	[W_UNKNOWN] = { "okänd", "unknown" },
	[W_LATE] = { "försenad", "overdue" },
};

/* Words for the schema's values. */
static const struct word vwords[] = {
	{ "idea", "idé", "idea" },
	{ "starting", "uppstart", "starting" },
	{ "active", "aktivt", "active" },
	{ "dormant", "vilande", "dormant" },
	{ "closed", "avvecklat", "closed" },
	{ "meeting", "möte", "meeting" },
	{ "check-in", "avstämning", "check-in" },
	{ "seminar", "seminarium", "seminar" },
	{ "committee", "sammanträde", "committee meeting" },
	{ "proposed", "förslag", "proposed" },
	{ "adopted", "antaget", "adopted" },
	{ "rejected", "avslaget", "rejected" },
	{ "amended", "ändrat", "amended" },
	{ "revoked", "upphävt", "revoked" },
	{ "referred", "återremitterat", "referred back" },
	{ "tabled", "bordlagt", "tabled" },
	{ "expired", "upphört", "expired" },
	{ "open", "öppen", "open" },
	{ "done", "klar", "done" },
	{ "dropped", "avskriven", "dropped" },
	{ "asf", "arbetsintegrerande socialt företag (ASF)",
	    "work-integrating social enterprise (WISE)" },
	{ "municipality", "kommun", "municipality" },
	{ "authority", "myndighet", "authority" },
	{ "partner", "partner", "partner" },
	{ "company", "företag", "company" },
	{ "other", "annan", "other" },
	{ "iop", "IOP", "IOP" },
	{ "samverkansavtal", "samverkansavtal", "cooperation agreement" },
	{ "uppdrag", "uppdrag", "commission" },
	{ "upphandling", "upphandling", "procurement" },
	{ "pilot", "pilot", "pilot" },
	{ NULL, NULL, NULL },
};

struct out {
	FILE *f;
	const struct model *m;
	enum report_lang lang;
};

static const char *
W(const struct out *o, enum rword w)
{
	return words[w][o->lang];
}

const char *
report_word(const char *value, enum report_lang lang)
{
	const char *s = word_find(vwords, value, lang == REPORT_EN);

	return s != NULL ? s : value;
}

static const char *
vw(const struct out *o, const char *value)
{
	return report_word(value, o->lang);
}

/* The meeting types in the order counts name them. */
static const char *const mtg_types[] = {
	"meeting", "check-in", "seminar", "committee", NULL,
};

/* "N meetings of type t", in the breakdown after the total (there the
 * plain type is "other meetings"). */
static const char *
mtg_plural(const struct out *o, const char *t, size_t n)
{
	static const char *const sv[][2] = {
		{ "övrigt möte", "övriga möten" },
		{ "avstämning", "avstämningar" },
		{ "seminarium", "seminarier" },
		{ "sammanträde", "sammanträden" },
	};
	static const char *const en[][2] = {
		{ "other meeting", "other meetings" },
		{ "check-in", "check-ins" },
		{ "seminar", "seminars" },
		{ "committee meeting", "committee meetings" },
	};

	for (int i = 0; mtg_types[i] != NULL; i++)
		if (strcmp(mtg_types[i], t) == 0)
			return (o->lang == REPORT_SV ? sv : en)[i][n != 1];
	return t;
}

static const char *
mtg_type(const struct mtg *t)
{
	return t->type != NULL ? t->type : "meeting";
}

/* "5 möten: 3 avstämningar, 1 seminarium, 1 övrigt möte." (the
 * breakdown only when there is more than plain meetings) */
static void
mtg_summary(const struct out *o, const struct section *s, struct sbuf *b)
{
	static const char *const total[][2] = {
		{ "möte", "möten" }, { "meeting", "meetings" },
	};
	size_t by[4] = { 0 };
	char tmp[128];
	bool first = true;

	for (size_t j = 0; j < s->mtgs.n; j++)
		for (int i = 0; mtg_types[i] != NULL; i++)
			by[i] += strcmp(mtg_type(&s->mtgs.v[j]),
			    mtg_types[i]) == 0;
	snprintf(tmp, sizeof tmp, "%zu %s", s->mtgs.n, total[o->lang][
	    s->mtgs.n != 1]);
	sb_put(b, tmp, strlen(tmp));
	for (int k = 0; by[0] < s->mtgs.n && k < 4; k++) {
		int i = (k + 1) % 4;    /* the plain ones last */

		if (by[i] == 0)
			continue;
		snprintf(tmp, sizeof tmp, "%s%zu %s", first ? ": " : ", ",
		    by[i], mtg_plural(o, mtg_types[i], by[i]));
		first = false;
		sb_put(b, tmp, strlen(tmp));
	}
	sb_put(b, ".", 1);
}

static const char *
sec_name(const struct out *o, const struct section *s)
{
	return s->name != NULL ? s->name : W(o, W_OTHER);
}

/* "Made with samlog on the node of ORG, ... on TO." into b. */
static void
source(const struct out *o, struct sbuf *b)
{
	char tmp[600];

	snprintf(tmp, sizeof tmp, W(o, W_SOURCE), o->m->org != NULL ?
	    o->m->org : "-", o->m->o->to);
	sb_put(b, tmp, strlen(tmp));
}

/* The agreement's state as a phrase, into buf. */
static const char *
agr_state(const struct out *o, const struct agr *a, char *buf, size_t n)
{
	if (a->state == AGR_IN_FORCE)
		return W(o, W_ACTIVE_STATE);
	snprintf(buf, n, W(o, a->state == AGR_EXPIRING ? W_EXPIRES :
	    W_ENDED), a->end);
	return buf;
}

/* ---- the introduction (--intro) -------------------------------------------- */

/*
 * The authors' own words before the figures (the background, how the
 * work was organised): a text whose blocks are separated by blank lines.
 * A block whose first line starts "# " is a heading (its other lines a
 * paragraph after it); a line starting with a number and ". " is an
 * item of a numbered list; the rest are paragraphs, their lines joined.
 */
enum iblock { I_HEAD, I_PARA, I_ITEM };

/* Where a rendering of the introduction is. */
struct iwalk {
	const struct out *o;
	int heads;              /* headings so far */
	int item;               /* the list item written last, or 0 */
};

typedef void (*intro_fn)(struct iwalk *, enum iblock, const char *,
    size_t);

/* Calls each for each piece of intro in order; closes a list left
 * open (each with I_PARA and no text). */
static void
intro_walk(const char *intro, intro_fn each, const struct out *o)
{
	struct iwalk wk = { .o = o };
	const char *p = intro;

	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		size_t digits = strspn(p, "0123456789");

		if (len == strspn(p, " \t")) {          /* a blank line */
		} else if (len > 2 && p[0] == '#' && p[1] == ' ') {
			wk.heads++;
			each(&wk, I_HEAD, p + 2, len - 2);
		} else if (digits > 0 && digits + 2 <= len && p[digits] == '.' &&
		    p[digits + 1] == ' ') {
			each(&wk, I_ITEM, p + digits + 2, len - digits - 2);
		} else {
			/* A paragraph: this line and those after it up to a
			 * blank line, a heading or an item. */
			const char *end = p + len;

			while (*end == '\n') {
				const char *q = end + 1, *n2 = strchr(q, '\n');
				size_t l2 = n2 != NULL ? (size_t)(n2 - q) :
				    strlen(q);
				size_t d2 = strspn(q, "0123456789");

				if (l2 == strspn(q, " \t") || (q[0] == '#' &&
				    q[1] == ' ') || (d2 > 0 && q[d2] == '.' &&
				    q[d2 + 1] == ' '))
					break;
				end = q + l2;
			}
			each(&wk, I_PARA, p, (size_t)(end - p));
			len = (size_t)(end - p);
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	each(&wk, I_PARA, NULL, 0);
}

/* A piece of the introduction as a C string, its line breaks as
 * spaces. */
static char *
intro_text(const char *s, size_t n)
{
	char *t = strndup(s, n);

	for (char *c = t; c != NULL && *c != '\0'; c++)
		if (*c == '\n')
			*c = ' ';
	return t;
}

/* Each piece as HTML: headings as unnumbered chapters before the
 * report's own, items in one <ol>. */
static void
intro_html(struct iwalk *wk, enum iblock b, const char *s, size_t n)
{
	FILE *f = wk->o->f;
	char *t;

	if (b != I_ITEM && wk->item > 0)
		fputs("</ol>\n", f);
	if (b == I_ITEM && wk->item == 0)
		fputs("<ol>\n", f);
	wk->item = b == I_ITEM ? wk->item + 1 : 0;
	if (s == NULL || (t = intro_text(s, n)) == NULL)
		return;
	if (b == I_HEAD)
		fprintf(f, "<h2 id=\"i%d\">", wk->heads);
	else
		fputs(b == I_ITEM ? "<li>" : "<p>", f);
	html_prose(f, t);
	fputs(b == I_HEAD ? "</h2>\n" : b == I_ITEM ? "</li>\n" : "</p>\n", f);
	free(t);
}

/* Its headings in the contents. */
static void
intro_toc(struct iwalk *wk, enum iblock b, const char *s, size_t n)
{
	char *t;

	if (b != I_HEAD || s == NULL || (t = intro_text(s, n)) == NULL)
		return;
	fprintf(wk->o->f, "<li><a href=\"#i%d\">", wk->heads);
	html_text(wk->o->f, t);
	fputs("</a></li>\n", wk->o->f);
	free(t);
}

static void md(FILE *f, const char *s);

static void
intro_md(struct iwalk *wk, enum iblock b, const char *s, size_t n)
{
	FILE *f = wk->o->f;
	char *t;

	wk->item = b == I_ITEM ? wk->item + 1 : 0;
	if (s == NULL || (t = intro_text(s, n)) == NULL)
		return;
	if (b == I_HEAD)
		fputs("\n## ", f);
	else if (b == I_ITEM)
		fprintf(f, "%s%d. ", wk->item == 1 ? "\n" : "", wk->item);
	else
		fputc('\n', f);
	md(f, t);
	fputc('\n', f);
	free(t);
}

/* ---- HTML ------------------------------------------------------------------ */

static void
tdn(FILE *f, size_t n)
{
	fprintf(f, "<td class=\"n\">%zu</td>", n);
}

static void
thead(const struct out *o, const enum rword *cols, size_t n)
{
	fputs("<table><thead><tr>", o->f);
	for (size_t i = 0; i < n; i++) {
		fputs("<th scope=\"col\">", o->f);
		html_text(o->f, W(o, cols[i]));
		fputs("</th>", o->f);
	}
	fputs("</tr></thead><tbody>\n", o->f);
}

static const char html_style[] =
	"@page { size: A4; margin: 20mm 18mm 22mm 18mm;\n"
	"  @bottom-center { content: \"%s \" counter(page) \" %s \" "
	"counter(pages);\n"
	"    font: 9pt/1 system-ui, sans-serif; color: #444; } }\n"
	"html { font: 11pt/1.45 system-ui, \"DejaVu Sans\", sans-serif; "
	"color: #111; background: #fff; }\n"
	"body { max-width: 50em; margin: 2em auto; padding: 0 1em; }\n"
	"h1 { font-size: 20pt; margin: 0 0 .2em; }\n"
	"h2 { font-size: 15pt; margin: 1.6em 0 .4em; border-bottom: 1px solid "
	"#888; }\n"
	"h3 { font-size: 13pt; margin: 1.4em 0 .3em; }\n"
	"h4 { font-size: 11pt; margin: 1em 0 .3em; }\n"
	"h2, h3, h4 { break-after: avoid; }\n"
	"p.sub { color: #333; margin: 0 0 1.2em; }\n"
	"table { border-collapse: collapse; width: 100%%; margin: .3em 0 1em; "
	"font-size: 9.5pt; }\n"
	"th, td { border: 1px solid #999; padding: .25em .4em; text-align: "
	"left; vertical-align: top; }\n"
	"th { background: #e8e8e8; }\n"
	"td.n, th.n { text-align: right; }\n"
	"tr { break-inside: avoid; }\n"
	"thead { display: table-header-group; }\n"
	"tfoot td { font-weight: bold; }\n"
	".mark { font-weight: bold; }\n"
	".d { white-space: nowrap; }\n"
	"nav ol { list-style: none; margin: .2em 0 1em; padding-left: 1.2em; }\n"
	"@media print { body { margin: 0; max-width: none; padding: 0; }\n"
	"  a { color: inherit; text-decoration: none; }\n"
	"  h2.chapter { break-before: page; } }\n";

/* ---- the parts of a section, as tables ------------------------------------- */

static void md(FILE *f, const char *s);
static void md_head(const struct out *o, const enum rword *cols, size_t n);

/* A cell: its text (NULL: none, shown as a dash), a note after it in
 * bold ("new in the period", "overdue"), whether the whole cell is
 * marked, whether it is a day (kept on one line in HTML).  A line break
 * in the text is one in HTML and a space in Markdown. */
struct cell {
	const char *text;
	const char *note;
	bool mark, day;
};

#define TABLE_COLS 6

struct table {
	enum rword title, none;          /* its heading; what says it is empty */
	const enum rword *cols;
	size_t ncols, nrows;
	struct cell *cells;             /* nrows * ncols */
	char **own;                     /* texts made for it, freed with it */
	size_t nown;
	char *intro;                    /* a sentence before it, or NULL */
};

static void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->nown; i++)
		free(t->own[i]);
	free(t->own);
	free(t->cells);
	free(t->intro);
}

/* A text the table keeps (and frees): printf-style. */
static const char *
table_text(struct table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
table_text(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *p = NULL, **v;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	if (p == NULL || (v = realloc(t->own, (t->nown + 1) *
	    sizeof *v)) == NULL) {
		free(p);
		return NULL;
	}
	t->own = v;
	t->own[t->nown++] = p;
	return p;
}

static bool
table_rows(struct table *t, size_t nrows)
{
	t->nrows = nrows;
	t->cells = nrows > 0 ? calloc(nrows * t->ncols, sizeof *t->cells) :
	    NULL;
	return nrows == 0 || t->cells != NULL;
}

static struct cell *
at(struct table *t, size_t row, size_t col)
{
	return &t->cells[row * t->ncols + col];
}

static const enum rword ent_cols[] = { W_NAME, W_STATUS, W_SECTOR, W_IOP,
    W_FOUNDED };
static const enum rword agr_cols[] = { W_AGREEMENT, W_TYPE, W_PARTIES, W_RUNS,
    W_STATUS, W_CASE };
static const enum rword mtg_cols[] = { W_DATE, W_TYPE, W_MEETING, W_ORGS_MET,
    W_COUNTS };
static const enum rword dec_cols[] = { W_DATE, W_DECISION, W_BODY, W_STATUS,
    W_MINUTES };
static const enum rword act_cols[] = { W_DUE, W_ACTION, W_OWNER, W_FROM };

#define COLS(c) .cols = (c), .ncols = sizeof (c) / sizeof *(c)

static bool
ents_table(const struct out *o, const struct section *s, struct table *t)
{
	*t = (struct table){ .title = W_ENTS, .none = W_NONE_ENTS, COLS(ent_cols) };
	if (!table_rows(t, s->ents.n))
		return false;
	for (size_t i = 0; i < s->ents.n; i++) {
		const struct ent *e = &s->ents.v[i];

		*at(t, i, 0) = (struct cell){ .text = e->name,
		    .note = e->fresh ? W(o, W_NEW_NOTE) : NULL };
		at(t, i, 1)->text = e->status != NULL ? vw(o, e->status) :
		    W(o, W_UNKNOWN);
		at(t, i, 2)->text = e->sectors;
		at(t, i, 3)->text = e->iop ? W(o, W_YES) : NULL;
		*at(t, i, 4) = (struct cell){ .text = e->founded, .day = true };
	}
	return true;
}

static bool
agrs_table(const struct out *o, const struct section *s, struct table *t)
{
	char buf[160];

	*t = (struct table){ .title = W_AGRS, .none = W_NONE_AGRS, COLS(agr_cols) };
	if (!table_rows(t, s->agrs.n))
		return false;
	for (size_t i = 0; i < s->agrs.n; i++) {
		const struct agr *a = &s->agrs.v[i];

		at(t, i, 0)->text = a->title;
		at(t, i, 1)->text = vw(o, a->type);
		at(t, i, 2)->text = a->parties;
		*at(t, i, 3) = (struct cell){ .text = table_text(t, "%s –\n%s",
		    a->start != NULL ? a->start : "", a->end != NULL ?
		    a->end : ""), .day = true };
		*at(t, i, 4) = (struct cell){ .text = table_text(t, "%s",
		    agr_state(o, a, buf, sizeof buf)), .mark = a->state !=
		    AGR_IN_FORCE };
		at(t, i, 5)->text = a->kase;
	}
	return true;
}

static bool
mtgs_table(const struct out *o, const struct section *s, struct table *t)
{
	struct sbuf b = { 0 };

	*t = (struct table){ .title = W_MTGS, .none = W_NONE_MTGS, COLS(mtg_cols) };
	if (!table_rows(t, s->mtgs.n))
		return false;
	if (s->mtgs.n > 0) {
		mtg_summary(o, s, &b);
		t->intro = b.p;
	}
	for (size_t i = 0; i < s->mtgs.n; i++) {
		const struct mtg *m = &s->mtgs.v[i];

		*at(t, i, 0) = (struct cell){ .text = m->date, .day = true };
		at(t, i, 1)->text = vw(o, mtg_type(m));
		at(t, i, 2)->text = m->title;
		at(t, i, 3)->text = m->orgs;
		at(t, i, 4)->text = m->counts;
	}
	return true;
}

static bool
decs_table(const struct out *o, const struct section *s, struct table *t)
{
	*t = (struct table){ .title = W_DECS, .none = W_NONE_DECS, COLS(dec_cols) };
	if (!table_rows(t, s->decs.n))
		return false;
	for (size_t i = 0; i < s->decs.n; i++) {
		const struct dec *d = &s->decs.v[i];

		*at(t, i, 0) = (struct cell){ .text = d->on, .day = true };
		at(t, i, 1)->text = d->title;
		at(t, i, 2)->text = d->body;
		at(t, i, 3)->text = vw(o, d->status);
		at(t, i, 4)->text = d->minutes;
	}
	return true;
}

static bool
acts_table(const struct out *o, const struct section *s, struct table *t)
{
	*t = (struct table){ .title = W_AHEAD, .none = W_NONE_ACTS, COLS(act_cols) };
	if (!table_rows(t, s->acts.n))
		return false;
	for (size_t i = 0; i < s->acts.n; i++) {
		const struct act *a = &s->acts.v[i];

		*at(t, i, 0) = (struct cell){ .text = a->due,
		    .note = a->overdue ? W(o, W_LATE) : NULL, .day = true };
		at(t, i, 1)->text = a->title;
		at(t, i, 2)->text = a->owners;
		at(t, i, 3)->text = a->from;
	}
	return true;
}

static void
html_table(const struct out *o, const struct table *t, bool heading)
{
	FILE *f = o->f;

	if (heading) {
		fputs("<h4>", f);
		html_text(f, W(o, t->title));
		fputs("</h4>\n", f);
	}
	if (t->nrows == 0) {
		fprintf(f, "<p>%s</p>\n", W(o, t->none));
		return;
	}
	if (t->intro != NULL) {
		fputs("<p>", f);
		html_prose(f, t->intro);
		fputs("</p>\n", f);
	}
	thead(o, t->cols, t->ncols);
	for (size_t r = 0; r < t->nrows; r++) {
		fputs("<tr>", f);
		for (size_t c = 0; c < t->ncols; c++) {
			const struct cell *x = &t->cells[r * t->ncols + c];

			fputs(x->day && x->mark ? "<td class=\"d mark\">" :
			    x->day ? "<td class=\"d\">" : x->mark ?
			    "<td class=\"mark\">" : "<td>", f);
			if (x->text == NULL || x->text[0] == '\0')
				fputs("–", f);
			else if (x->day)        /* the cell is nowrap */
				html_text(f, x->text);
			else
				html_prose(f, x->text);
			if (x->note != NULL) {
				fputs(" <span class=\"mark\">(", f);
				html_text(f, x->note);
				fputs(")</span>", f);
			}
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static void
md_table(const struct out *o, const struct table *t, bool heading)
{
	FILE *f = o->f;

	if (heading)
		fprintf(f, "\n#### %s\n", W(o, t->title));
	if (t->nrows == 0) {
		fprintf(f, "\n%s\n", W(o, t->none));
		return;
	}
	if (t->intro != NULL)
		fprintf(f, "\n%s\n", t->intro);
	md_head(o, t->cols, t->ncols);
	for (size_t r = 0; r < t->nrows; r++) {
		fputc('|', f);
		for (size_t c = 0; c < t->ncols; c++) {
			const struct cell *x = &t->cells[r * t->ncols + c];

			fputc(' ', f);
			md(f, x->text);
			if (x->note != NULL)
				fprintf(f, " **(%s)**", x->note);
			fputs(" |", f);
		}
		fputc('\n', f);
	}
}

typedef bool (*table_fn)(const struct out *, const struct section *,
    struct table *);

/* One table of a section in the report's format (heading: its own h4). */
static void
emit_table(const struct out *o, const struct section *s, table_fn make,
    bool heading)
{
	struct table t;

	if (make(o, s, &t)) {
		if (o->m->o->format == REPORT_HTML)
			html_table(o, &t, heading);
		else
			md_table(o, &t, heading);
	}
	table_free(&t);
}

/* A municipality's part (or Other's): its heading, then its tables. */
static void
emit_section(const struct out *o, const struct section *s, const char *num)
{
	static const table_fn parts[] = { ents_table, agrs_table, mtgs_table,
	    decs_table };
	FILE *f = o->f;
	bool html = o->m->o->format == REPORT_HTML;

	if (html) {
		fprintf(f, "<section>\n<h3 id=\"s%s\">%s ", num, num);
		html_text(f, sec_name(o, s));
		fputs("</h3>\n", f);
		if (s->name == NULL) {
			fputs("<p>", f);
			html_text(f, W(o, W_OTHER_NOTE));
			fputs("</p>\n", f);
		}
	} else {
		fprintf(f, "\n### %s ", num);
		md(f, sec_name(o, s));
		fputc('\n', f);
		if (s->name == NULL)
			fprintf(f, "\n%s\n", W(o, W_OTHER_NOTE));
	}
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
		emit_table(o, s, parts[i], true);
	if (html)
		fputs("</section>\n", f);
}

static bool
section_empty(const struct section *s)
{
	return s->ents.n + s->agrs.n + s->mtgs.n + s->decs.n + s->acts.n == 0;
}

/* The summary's counts of one section (or, with s NULL, of all). */
struct counts {
	size_t ents, fresh, in_force, iop, mtgs, decs, acts, overdue;
};

static struct counts
counts_of(const struct model *m, const struct section *s)
{
	struct counts c = { 0 };

	for (size_t i = 0; i < m->nsecs; i++) {
		const struct section *x = &m->secs[i];

		if (s != NULL && x != s)
			continue;
		c.ents += x->ents.n;
		c.fresh += x->fresh;
		c.in_force += x->in_force;
		c.iop += x->iop;
		c.mtgs += x->mtgs.n;
		c.decs += x->decs.n;
		c.acts += x->acts.n;
		c.overdue += x->overdue;
	}
	return c;
}

static const enum rword summary_cols[] = {
	W_MUNI, W_ENTS, W_NEW, W_IN_FORCE, W_OF_WHICH_IOP, W_MTGS, W_DECS,
	W_OPEN, W_OVERDUE,
};

static void
html_counts(FILE *f, const struct counts *c)
{
	tdn(f, c->ents);
	tdn(f, c->fresh);
	tdn(f, c->in_force);
	tdn(f, c->iop);
	tdn(f, c->mtgs);
	tdn(f, c->decs);
	tdn(f, c->acts);
	tdn(f, c->overdue);
}

/* The sections a report shows: every municipality, and Other when it
 * holds anything. */
static bool
shown(const struct model *m, size_t i)
{
	return i + 1 < m->nsecs || !section_empty(&m->secs[i]);
}

static void
render_html(const struct out *o)
{
	const struct model *m = o->m;
	FILE *f = o->f;
	char num[32], note[400];
	struct sbuf b = { 0 };

	fprintf(f, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n<title>",
	    o->lang == REPORT_SV ? "sv" : "en");
	html_text(f, W(o, W_TITLE));
	fprintf(f, " %s – %s</title>\n<style>\n", m->o->from, m->o->to);
	fprintf(f, html_style, W(o, W_PAGE), W(o, W_OF));
	fputs("</style>\n</head>\n<body>\n<header>\n<h1>", f);
	html_text(f, W(o, W_TITLE));
	fputs("</h1>\n<p class=\"sub\">", f);
	html_text(f, m->org);
	fprintf(f, " · %s <span class=\"d\">%s</span> – <span class=\"d\">"
	    "%s</span><br>\n", W(o, W_PERIOD), m->o->from, m->o->to);
	source(o, &b);
	html_prose(f, b.p);
	free(b.p);
	fputs("</p>\n</header>\n", f);

	/* Contents */
	fprintf(f, "<nav aria-labelledby=\"toc\">\n<h2 id=\"toc\">%s</h2>\n"
	    "<ol>\n", W(o, W_CONTENTS));
	intro_walk(m->o->intro, intro_toc, o);
	fprintf(f, "<li><a href=\"#summary\">1. %s</a></li>\n",
	    W(o, W_SUMMARY));
	fprintf(f, "<li><a href=\"#work\">2. %s</a><ol>\n", W(o, W_WORK));
	for (size_t i = 0; i < m->nsecs; i++) {
		if (!shown(m, i))
			continue;
		fprintf(f, "<li><a href=\"#s2.%zu\">2.%zu ", i + 1, i + 1);
		html_text(f, sec_name(o, &m->secs[i]));
		fputs("</a></li>\n", f);
	}
	fprintf(f, "</ol></li>\n<li><a href=\"#ahead\">3. %s</a></li>\n"
	    "</ol>\n</nav>\n", W(o, W_AHEAD));

	/* The authors' introduction, then 1. Summary */
	intro_walk(m->o->intro, intro_html, o);
	fprintf(f, "<h2 id=\"summary\">1. %s</h2>\n", W(o, W_SUMMARY));
	fputs("<table><thead><tr>", f);
	for (size_t i = 0; i < sizeof summary_cols / sizeof *summary_cols;
	    i++)
		fprintf(f, "<th scope=\"col\"%s>%s</th>", i > 0 ?
		    " class=\"n\"" : "", W(o, summary_cols[i]));
	fputs("</tr></thead><tbody>\n", f);
	for (size_t i = 0; i < m->nsecs; i++) {
		struct counts c = counts_of(m, &m->secs[i]);

		if (!shown(m, i))
			continue;
		fputs("<tr><th scope=\"row\">", f);
		html_text(f, sec_name(o, &m->secs[i]));
		fputs("</th>", f);
		html_counts(f, &c);
		fputs("</tr>\n", f);
	}
	struct counts all = counts_of(m, NULL);

	fprintf(f, "</tbody><tfoot><tr><th scope=\"row\">%s</th>",
	    W(o, W_TOTAL));
	html_counts(f, &all);
	fputs("</tr></tfoot></table>\n", f);

	/* 2. Per municipality, and Other */
	fprintf(f, "<h2 id=\"work\" class=\"chapter\">2. %s</h2>\n",
	    W(o, W_WORK));
	for (size_t i = 0; i < m->nsecs; i++) {
		if (!shown(m, i))
			continue;
		snprintf(num, sizeof num, "2.%zu", i + 1);
		emit_section(o, &m->secs[i], num);
	}

	/* 3. Work ahead */
	fprintf(f, "<h2 id=\"ahead\" class=\"chapter\">3. %s</h2>\n<p>",
	    W(o, W_AHEAD));
	snprintf(note, sizeof note, W(o, W_AHEAD_NOTE), m->o->to);
	html_prose(f, note);
	fputs("</p>\n", f);
	if (all.acts == 0)
		fprintf(f, "<p>%s</p>\n", W(o, W_NONE_ACTS));
	for (size_t i = 0; i < m->nsecs; i++) {
		if (m->secs[i].acts.n == 0)
			continue;
		fputs("<h3>", f);
		html_text(f, sec_name(o, &m->secs[i]));
		fputs("</h3>\n", f);
		emit_table(o, &m->secs[i], acts_table, false);
	}
	fputs("</body>\n</html>\n", f);
}

/* ---- Markdown -------------------------------------------------------------- */

/* Does s start what Markdown reads as a character reference ("&amp;",
 * "&#38;")?  Only then does an ampersand need escaping: "Tanke &
 * Handling" stays as written, for a word processor that shows the
 * Markdown as it is. */
static bool
entity_at(const char *s)
{
	size_t n = strspn(s + 1, "#abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
	    "RSTUVWXYZ0123456789");

	return n > 0 && s[1 + n] == ';';
}

/* Text in Markdown: its punctuation escaped, line breaks as spaces, so
 * that a value cannot make a heading, a link or a new table cell. */
static void
md(FILE *f, const char *s)
{
	if (s == NULL || *s == '\0') {
		fputs("–", f);
		return;
	}
	/* What would start a heading, a list or a quote at a line's
	 * start. */
	if (strchr("#+->=", *s) != NULL)
		fputc('\\', f);
	for (; *s != '\0'; s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t') {
			fputc(' ', f);
			continue;
		}
		if (strchr("\\`*_[]<>|~", *s) != NULL ||
		    (*s == '&' && entity_at(s)))
			fputc('\\', f);
		fputc(*s, f);
	}
}

static void
md_head(const struct out *o, const enum rword *cols, size_t n)
{
	fputs("\n|", o->f);
	for (size_t i = 0; i < n; i++)
		fprintf(o->f, " %s |", W(o, cols[i]));
	fputs("\n|", o->f);
	for (size_t i = 0; i < n; i++)
		fputs("---|", o->f);
	fputc('\n', o->f);
}

static void
md_counts(FILE *f, const struct counts *c)
{
	fprintf(f, " %zu | %zu | %zu | %zu | %zu | %zu | %zu | %zu |\n",
	    c->ents, c->fresh, c->in_force, c->iop, c->mtgs, c->decs, c->acts,
	    c->overdue);
}

static void
render_md(const struct out *o)
{
	const struct model *m = o->m;
	FILE *f = o->f;
	char num[32];
	struct sbuf b = { 0 };

	fprintf(f, "# %s\n\n", W(o, W_TITLE));
	fputs("**", f);
	md(f, m->org);
	fprintf(f, "** · %s %s – %s\n\n", W(o, W_PERIOD), m->o->from,
	    m->o->to);
	source(o, &b);
	md(f, b.p);
	free(b.p);
	fputc('\n', f);
	intro_walk(m->o->intro, intro_md, o);

	fprintf(f, "\n## 1. %s\n\n|", W(o, W_SUMMARY));
	for (size_t i = 0; i < sizeof summary_cols / sizeof *summary_cols;
	    i++)
		fprintf(f, " %s |", W(o, summary_cols[i]));
	fputs("\n|---|", f);
	for (size_t i = 1; i < sizeof summary_cols / sizeof *summary_cols;
	    i++)
		fputs("--:|", f);
	fputc('\n', f);
	for (size_t i = 0; i < m->nsecs; i++) {
		struct counts c = counts_of(m, &m->secs[i]);

		if (!shown(m, i))
			continue;
		fputs("| ", f);
		md(f, sec_name(o, &m->secs[i]));
		fputs(" |", f);
		md_counts(f, &c);
	}
	struct counts all = counts_of(m, NULL);

	fprintf(f, "| **%s** |", W(o, W_TOTAL));
	md_counts(f, &all);

	fprintf(f, "\n## 2. %s\n", W(o, W_WORK));
	for (size_t i = 0; i < m->nsecs; i++) {
		if (!shown(m, i))
			continue;
		snprintf(num, sizeof num, "2.%zu", i + 1);
		emit_section(o, &m->secs[i], num);
	}

	fprintf(f, "\n## 3. %s\n\n", W(o, W_AHEAD));
	fprintf(f, W(o, W_AHEAD_NOTE), m->o->to);
	fputc('\n', f);
	if (all.acts == 0)
		fprintf(f, "\n%s\n", W(o, W_NONE_ACTS));
	for (size_t i = 0; i < m->nsecs; i++) {
		if (m->secs[i].acts.n == 0)
			continue;
		fputs("\n### ", f);
		md(f, sec_name(o, &m->secs[i]));
		fputc('\n', f);
		emit_table(o, &m->secs[i], acts_table, false);
	}
}

/* ---- JSON ------------------------------------------------------------------ */

static void
js(FILE *f, const char *key, const char *v, bool comma)
{
	fprintf(f, "%s\"%s\": ", comma ? ", " : "", key);
	if (v == NULL)
		fputs("null", f);
	else
		json_text(f, v, strlen(v));
}

/* ", KEY: [...]": the list field of rec as a JSON array (an erased name
 * as null; none as []). */
static void
js_list(FILE *f, const char *key, const msgpack_object *rec,
    const char *field)
{
	const msgpack_object *v = map_get(rec, field);

	fprintf(f, ", \"%s\": ", key);
	if (v != NULL && v->type == MSGPACK_OBJECT_ARRAY)
		json_value(f, v);
	else
		fputs("[]", f);
}

static void
js_counts(FILE *f, const struct counts *c)
{
	fprintf(f, "{\"enterprises\": %zu, \"new_enterprises\": %zu, "
	    "\"agreements_in_force\": %zu, \"iop_in_force\": %zu, "
	    "\"meetings\": %zu, \"decisions\": %zu, \"open_actions\": %zu, "
	    "\"overdue_actions\": %zu}", c->ents, c->fresh, c->in_force,
	    c->iop, c->mtgs, c->decs, c->acts, c->overdue);
}

static const char *const agr_states[] = { "in_force", "expiring", "ended" };

static void
js_section(const struct out *o, const struct section *s)
{
	FILE *f = o->f;
	struct counts c = counts_of(o->m, s);

	fputs("{", f);
	js(f, "municipality", s->name, false);
	fputs(", \"summary\": ", f);
	js_counts(f, &c);
	fputs(",\n  \"enterprises\": [", f);
	for (size_t i = 0; i < s->ents.n; i++) {
		const struct ent *e = &s->ents.v[i];

		fputs(i > 0 ? ",\n    {" : "\n    {", f);
		js(f, "id", e->id, false);
		js(f, "name", e->name, true);
		js(f, "status", e->status, true);
		js_list(f, "sector", e->rec, "sector");
		fprintf(f, ", \"iop\": %s", e->iop ? "true" : "false");
		js(f, "founded", e->founded, true);
		fprintf(f, ", \"new\": %s}", e->fresh ? "true" : "false");
	}
	fputs("],\n  \"agreements\": [", f);
	for (size_t i = 0; i < s->agrs.n; i++) {
		const struct agr *a = &s->agrs.v[i];

		fputs(i > 0 ? ",\n    {" : "\n    {", f);
		js(f, "id", a->id, false);
		js(f, "title", a->title, true);
		js(f, "type", a->type, true);
		js_list(f, "parties", a->rec, "parties_names");
		js(f, "start", a->start, true);
		js(f, "end", a->end, true);
		js(f, "state", agr_states[a->state], true);
		js(f, "case", a->kase, true);
		fputs("}", f);
	}
	fputs("],\n  \"meetings\": [", f);
	for (size_t i = 0; i < s->mtgs.n; i++) {
		const struct mtg *t = &s->mtgs.v[i];

		fputs(i > 0 ? ",\n    {" : "\n    {", f);
		js(f, "id", t->id, false);
		js(f, "date", t->date, true);
		js(f, "type", mtg_type(t), true);
		js(f, "title", t->title, true);
		js_list(f, "orgs", t->rec, "orgs_names");
		js_list(f, "counts", t->rec, "counts");
		fputs("}", f);
	}
	fputs("],\n  \"decisions\": [", f);
	for (size_t i = 0; i < s->decs.n; i++) {
		const struct dec *d = &s->decs.v[i];

		fputs(i > 0 ? ",\n    {" : "\n    {", f);
		js(f, "id", d->id, false);
		js(f, "date", d->on, true);
		js(f, "title", d->title, true);
		js(f, "body", d->body, true);
		js(f, "status", d->status, true);
		js(f, "minutes", d->minutes, true);
		js(f, "meeting", d->meeting, true);
		fputs("}", f);
	}
	fputs("],\n  \"actions\": [", f);
	for (size_t i = 0; i < s->acts.n; i++) {
		const struct act *a = &s->acts.v[i];

		fputs(i > 0 ? ",\n    {" : "\n    {", f);
		js(f, "id", a->id, false);
		js(f, "due", a->due, true);
		js(f, "title", a->title, true);
		js_list(f, "owners", a->rec, "owner_names");
		js(f, "from", a->from, true);
		fprintf(f, ", \"overdue\": %s}", a->overdue ? "true" : "false");
	}
	fputs("]}", f);
}

static void
render_json(const struct out *o)
{
	const struct model *m = o->m;
	FILE *f = o->f;
	struct counts all = counts_of(m, NULL);
	bool first = true;

	fputs("{", f);
	js(f, "organisation", m->org, false);
	js(f, "from", m->o->from, true);
	js(f, "to", m->o->to, true);
	js(f, "lang", o->lang == REPORT_SV ? "sv" : "en", true);
	js(f, "intro", m->o->intro, true);
	fputs(",\n \"summary\": ", f);
	js_counts(f, &all);
	fputs(",\n \"municipalities\": [", f);
	for (size_t i = 0; i + 1 < m->nsecs; i++) {
		fputs(first ? "\n " : ",\n ", f);
		first = false;
		js_section(o, &m->secs[i]);
	}
	fputs("],\n \"other\": ", f);
	js_section(o, &m->secs[m->nsecs - 1]);
	fputs("}\n", f);
}

/* ---- the command ------------------------------------------------------------ */

int
report_write(const char *dir, bool named, const struct report_opts *o,
    FILE *f)
{
	struct model m = { .o = o };
	struct rset st = { 0 };
	int status;

	if ((status = request_collect(dir, named, "status", NULL, &st)) != 0)
		goto out;
	m.org = st.n > 0 ? get_str(&st.v[0].data, "org") : NULL;
	for (int k = 0; k < K_N; k++) {
		char name[32];

		snprintf(name, sizeof name, "%s list", kind_word[k]);
		if ((status = request_collect(dir, named, name, o->to,
		    &m.r[k])) != 0)
			goto out;
	}
	if (!build(&m)) {
		cli_error("report: out of memory");
		status = 1;
		goto out;
	}
	if (m.unknown != NULL)
		cli_error("report: no record names the municipality %s; its "
		    "section is empty (the records name %s)", m.unknown,
		    m.named != NULL ? m.named : "none");
	struct out w = { .f = f, .m = &m, .lang = o->lang };

	if (o->format == REPORT_HTML)
		render_html(&w);
	else if (o->format == REPORT_MD)
		render_md(&w);
	else
		render_json(&w);
out:
	rset_free(&st);
	model_free(&m);
	return status;
}

int
report_municipalities(const char *dir, bool named, char ***v, size_t *n)
{
	struct model m = { 0 };
	int status = 0;

	*v = NULL;
	*n = 0;
	for (int k = 0; k < K_N && status == 0; k++) {
		char name[32];

		snprintf(name, sizeof name, "%s list", kind_word[k]);
		status = request_collect(dir, named, name, NULL, &m.r[k]);
	}
	if (status == 0 && !named_munis(&m, v, n))
		status = 1;
	model_free(&m);
	return status;
}

/* A day as YYYY-MM-DD that is a real one. */
bool
report_is_day(const char *s)
{
	struct tm tm = { 0 };
	char back[11];
	time_t t;

	if (s == NULL || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	strftime(back, sizeof back, "%Y-%m-%d", &tm);
	return strcmp(back, s) == 0;
}

bool
report_check_period(const char *from, const char *to, char *why, size_t n)
{
	const char *const days[] = { from, to };

	for (int i = 0; i < 2; i++) {
		const char *d = days[i];
		int y, mo, da, end = 0;

		if (d == NULL || sscanf(d, "%4d-%2d-%2d%n", &y, &mo, &da,
		    &end) != 3 || end != 10 || strlen(d) != 10 || d[4] != '-' ||
		    d[7] != '-') {
			snprintf(why, n, "%s takes a day as YYYY-MM-DD, not %s",
			    i == 0 ? "--from" : "--to", d != NULL ? d : "nothing");
			return false;
		}
		if (!report_is_day(d)) {
			snprintf(why, n, "%s %s does not exist (no such day)",
			    i == 0 ? "--from" : "--to", d);
			return false;
		}
	}
	if (strcmp(from, to) > 0) {
		snprintf(why, n, "--from %s is after --to %s", from, to);
		return false;
	}
	return true;
}

bool
report_check_intro(const char *intro, size_t n, char *why, size_t wn)
{
	size_t line = 1;

	if (n > (size_t)64 * 1024) {
		snprintf(why, wn, "the introduction is %zu bytes; at most "
		    "65536", n);
		return false;
	}
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_seq(intro + i, n - i, &cp);

		if (k == 0) {
			snprintf(why, wn, "the introduction is not UTF-8 text "
			    "(line %zu)", line);
			return false;
		}
		if ((cp < 0x20 && cp != '\n' && cp != '\t' && !(cp == '\r' &&
		    i + 1 < n && intro[i + 1] == '\n')) || cp == 0x7f ||
		    (cp >= 0x80 && cp < 0xa0)) {
			snprintf(why, wn, "the introduction holds a control "
			    "character (line %zu)", line);
			return false;
		}
		line += cp == '\n';
		i += k;
	}
	return true;
}

bool
report_check_munis(const struct report_opts *o, char *why, size_t n)
{
	for (size_t i = 0; i < o->nmunis; i++) {
		if (o->munis[i][strspn(o->munis[i], " \t")] == '\0') {
			snprintf(why, n, "--municipality is empty: give a "
			    "municipality's name, or leave the flag out for all");
			return false;
		}
		for (size_t j = 0; j < i; j++)
			if (sv_same(o->munis[i], o->munis[j])) {
				snprintf(why, n, "--municipality %s is given "
				    "twice", o->munis[i]);
				return false;
			}
	}
	return true;
}

/* The text of --intro FILE, checked, its CR LF as LF; NULL with one line
 * printed. */
static char *
read_intro(const char *path)
{
	char *raw, *t, why[200];
	size_t n, k = 0;

	if (!file_slurp(path, (size_t)1 << 20, &raw, &n))
		return NULL;
	if (!report_check_intro(raw, n, why, sizeof why)) {
		cli_error("report: --intro %s: %s", path, why);
		free(raw);
		return NULL;
	}
	if ((t = malloc(n + 1)) == NULL) {
		cli_error("report: out of memory");
		free(raw);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!(raw[i] == '\r' && i + 1 < n && raw[i + 1] == '\n'))
			t[k++] = raw[i];
	t[k] = '\0';
	free(raw);
	return t;
}

int
cmd_report(const struct parse_result *r)
{
	const char *from = parse_value(r, "from"), *to = parse_value(r, "to");
	const char *out = parse_value(r, "out"), *fmt = parse_value(r,
	    "format"), *lang = parse_value(r, "lang");
	const char *munis[MAX_VALUES];
	struct report_opts o = { .from = from, .to = to, .munis = munis };
	const char *ipath = parse_value(r, "intro");
	char *buf = NULL, *dir, why[200], *intro = NULL;
	size_t len = 0;
	FILE *f;
	int status;

	if (from == NULL || to == NULL || out == NULL) {
		cli_error("report needs --from DATE --to DATE --out FILE (see: "
		    "samlog help report)");
		return 2;
	}
	if (!report_check_period(from, to, why, sizeof why)) {
		cli_error("report: %s", why);
		return 2;
	}
	if (fmt == NULL) {
		size_t n = strlen(out);

		fmt = n > 3 && strcmp(out + n - 3, ".md") == 0 ? "md" :
		    n > 5 && strcmp(out + n - 5, ".json") == 0 ? "json" : "html";
	}
	if (strcmp(fmt, "html") == 0)
		o.format = REPORT_HTML;
	else if (strcmp(fmt, "md") == 0)
		o.format = REPORT_MD;
	else if (strcmp(fmt, "json") == 0)
		o.format = REPORT_JSON;
	else {
		cli_error("report: --format is html, md or json, not %s", fmt);
		return 2;
	}
	if (lang == NULL || strcmp(lang, "sv") == 0)
		o.lang = REPORT_SV;
	else if (strcmp(lang, "en") == 0)
		o.lang = REPORT_EN;
	else {
		cli_error("report: --lang is sv or en, not %s", lang);
		return 2;
	}
	for (size_t i = 0; i < r->nvals; i++)
		if (strcmp(r->vals[i].flag->name, "municipality") == 0)
			munis[o.nmunis++] = r->vals[i].value;
	if (!report_check_munis(&o, why, sizeof why)) {
		cli_error("report: %s", why);
		return 2;
	}
	if (ipath != NULL && (intro = read_intro(ipath)) == NULL)
		return 1;
	o.intro = intro;
	if ((dir = sl_node_dir_resolve(r->dir)) == NULL) {
		free(intro);
		cli_error("no node directory: set HOME or SAMLOG_DIR, or use "
		    "-d DIR");
		return 1;
	}
	if ((f = open_memstream(&buf, &len)) == NULL) {
		free(dir);
		free(intro);
		cli_error("report: %s", strerror(errno));
		return 1;
	}
	status = report_write(dir, r->dir != NULL || getenv("SAMLOG_DIR") !=
	    NULL, &o, f);
	free(dir);
	if (fclose(f) != 0 && status == 0) {
		cli_error("report: %s", strerror(errno));
		status = 1;
	}
	if (status == 0 && !file_replace(out, buf, len))
		status = 1;
	if (status == 0 && strcmp(out, "-") != 0) {
		if (r->json) {
			printf("{\"report\": ");
			json_text(stdout, out, strlen(out));
			printf(", \"format\": \"%s\", \"from\": \"%s\", "
			    "\"to\": \"%s\"}\n", fmt, from, to);
		} else {
			size_t n = strlen(out);

			printf("wrote the report for %s to %s to %s\n", from, to,
			    out);
			/* HTML under another name is still HTML. */
			if (o.format == REPORT_HTML && n > 4 &&
			    strcasecmp(out + n - 4, ".pdf") == 0)
				printf("(it is HTML: open it in a browser and "
				    "print it to PDF)\n");
		}
	}
	free(buf);
	free(intro);
	return status;
}
