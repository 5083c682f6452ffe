/*
 * cmd.c - the meaning of control requests.
 *
 * A request is {"cmd": NAME, "args": {FLAG: VALUE}} where a value is a
 * string, an array of strings (repeated flags) or true (switches).  The
 * CLI passes what the user typed; every rule lives here: field limits,
 * dates, kinds and statuses, references to other records (checked inside
 * the write transaction, so a record added earlier in the same group
 * commit counts), and the decision lifecycle.  Anything wrong is refused
 * with one sentence and nothing is written.
 */
#include <ctype.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cmd.h"
#include "log.h"
#include "rights.h"

#define MAX_ARGS 32
#define GROUP_MAX 512
#define MAX_ELEMS 64

struct arg {
	char name[24];
	enum { ARG_STR, ARG_ARR, ARG_TRUE } type;
	const char *s;
	uint32_t slen;
	uint32_t n;
	const char *e[MAX_ELEMS];
	uint32_t elen[MAX_ELEMS];
};

struct args {
	char cmd[32];
	uint32_t n;
	struct arg a[MAX_ARGS];
};

struct pending {
	struct pending *next;
	struct ctl_conn *c;
	uint32_t id;
	uint8_t *body;
	size_t len;
	char author[SL_AUTHOR_MAX + 8];
	int code;
	char msg[256];
	uint8_t rec_id[SL_ID_LEN];
};

/* An import in progress on one connection: its rows, as [line, request
 * body] msgpack pairs, until import.commit writes them in one commit. */
struct import_sess {
	struct import_sess *next;
	struct ctl_conn *c;
	struct sl_buf rows;
	uint32_t n;
};

#define IMPORT_MAX_BYTES (256u << 20)  /* rows held per import */
#define IMPORT_MAX_ERRORS 20           /* bad rows reported */

struct cmd_ctx {
	uv_loop_t *loop;
	uv_idle_t idle;
	struct store *s;
	struct project *p;
	uint8_t node[SL_KEY_LEN];
	char org[SL_ORG_MAX + 1];
	struct pending *head, **tail;
	uint64_t commits, writes, requests;
	struct sync *sync;   /* NULL: no peers (tests) */
	struct import_sess *imports;
	bool held;           /* writes wait: see sync_hold_fn */
};

/* ---- small helpers ----------------------------------------------------- */

static void
reply_result(struct ctl_conn *c, uint32_t id, int code, const char *msg,
    const uint8_t *rec_id)
{
	struct sl_buf g = { 0 };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, rec_id ? 3 : 2);
	sl_pack_cstr(&pk, "code");
	msgpack_pack_uint32(&pk, (uint32_t)code);
	sl_pack_cstr(&pk, "message");
	sl_pack_cstr(&pk, msg ? msg : sl_strerror(code));
	if (rec_id) {
		sl_pack_cstr(&pk, "id");
		sl_pack_b32(&pk, rec_id, SL_ID_LEN);
	}
	ctl_send(c, SL_MSG_RESULT, id, g.p, g.len);
	free(g.p);
}

static void
reply_end(struct ctl_conn *c, uint32_t id)
{
	static const uint8_t nil = 0xc0;

	ctl_send(c, SL_MSG_END, id, &nil, 1);
}

static int
fail(char *msg, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *msg, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return code;
}

/* ---- request parsing ------------------------------------------------------- */

/* Command and argument names: what the CLI sends, [a-z0-9._-]; nothing
 * else reaches a reply or the log. */
static bool
word_ok(const char *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static int
args_parse(struct args *a, const uint8_t *body, size_t len, char *msg,
    size_t mlen)
{
	struct sl_mp m;
	uint32_t n, na;
	const char *s;
	uint32_t sl;
	bool have_cmd = false;

	memset(a, 0, sizeof *a);
	sl_mp_init(&m, body, len);
	if (sl_mp_read_map(&m, &n, 8) != SL_OK)
		return fail(msg, mlen, SL_EUSAGE, "malformed request");
	for (uint32_t i = 0; i < n; i++) {
		if (sl_mp_read_str(&m, &s, &sl, 1, 16) != SL_OK)
			return fail(msg, mlen, SL_EUSAGE, "malformed request");
		if (sl == 3 && memcmp(s, "cmd", 3) == 0) {
			if (sl_mp_read_str(&m, &s, &sl, 1, sizeof a->cmd - 1) !=
			    SL_OK || !word_ok(s, sl))
				return fail(msg, mlen, SL_EUSAGE, "malformed "
				    "command");
			memcpy(a->cmd, s, sl);
			have_cmd = true;
			continue;
		}
		if (sl != 4 || memcmp(s, "args", 4) != 0 ||
		    sl_mp_read_map(&m, &na, MAX_ARGS) != SL_OK)
			return fail(msg, mlen, SL_EUSAGE, "malformed request");
		for (uint32_t j = 0; j < na; j++) {
			/* "args" may come more than once: count them all. */
			if (a->n == MAX_ARGS)
				return fail(msg, mlen, SL_EUSAGE, "too many "
				    "arguments");
			struct arg *g = &a->a[a->n++];
			bool t;

			if (sl_mp_read_str(&m, &s, &sl, 1, sizeof g->name - 1) !=
			    SL_OK || !word_ok(s, sl))
				return fail(msg, mlen, SL_EUSAGE, "malformed "
				    "argument name");
			memcpy(g->name, s, sl);
			if (sl_mp_read_str(&m, &g->s, &g->slen, 0,
			    SL_CTL_FRAME_MAX) == SL_OK) {
				g->type = ARG_STR;
			} else if (sl_mp_read_bool(&m, &t) == SL_OK && t) {
				g->type = ARG_TRUE;
			} else if (sl_mp_read_array(&m, &g->n, MAX_ELEMS) ==
			    SL_OK) {
				g->type = ARG_ARR;
				for (uint32_t k = 0; k < g->n; k++)
					if (sl_mp_read_str(&m, &g->e[k],
					    &g->elen[k], 0, SL_CTL_FRAME_MAX) !=
					    SL_OK)
						return fail(msg, mlen, SL_EUSAGE,
						    "malformed value of --%s",
						    g->name);
			} else {
				return fail(msg, mlen, SL_EUSAGE, "malformed "
				    "value of --%s", g->name);
			}
		}
	}
	if (!have_cmd || !sl_mp_at_end(&m))
		return fail(msg, mlen, SL_EUSAGE, "malformed request");
	return SL_OK;
}

static const struct arg *
arg_get(const struct args *a, const char *name)
{
	for (uint32_t i = 0; i < a->n; i++)
		if (strcmp(a->a[i].name, name) == 0)
			return &a->a[i];
	return NULL;
}

/* A single string argument copied into out; false if absent. */
static bool
arg_str(const struct args *a, const char *name, char *out, size_t outlen)
{
	const struct arg *g = arg_get(a, name);

	/* All of out, not just out[0]: callers index into it up to its
	 * strlen(), which the static analyzer does not connect with what
	 * was written. */
	memset(out, 0, outlen);
	if (g == NULL)
		return false;
	if (g->type == ARG_STR)
		snprintf(out, outlen, "%.*s", (int)g->slen, g->s);
	else if (g->type == ARG_ARR && g->n > 0)
		snprintf(out, outlen, "%.*s", (int)g->elen[g->n - 1], g->e[g->n - 1]);
	return true;
}

/* Refuses arguments the command does not take. */
static int
args_only(const struct args *a, const char *const *allowed, char *msg,
    size_t mlen)
{
	for (uint32_t i = 0; i < a->n; i++) {
		bool ok = false;

		for (const char *const *p = allowed; *p && !ok; p++)
			ok = strcmp(*p, a->a[i].name) == 0;
		if (!ok)
			return fail(msg, mlen, SL_EUSAGE, "unknown flag '--%s' "
			    "for %s", a->a[i].name, a->cmd);
	}
	return SL_OK;
}

/* ---- value rules ------------------------------------------------------------ */

/* A field's text as the user typed it, checked by the schema; the
 * message names the flag and, where it helps, what would do. */
static int
check_field(const struct sl_field *f, const char *s, size_t n, char *msg,
    size_t mlen)
{
	char why[160];

	if (sl_schema_check_text(f, s, n, why, sizeof why) == SL_OK)
		return SL_OK;
	switch (f->type) {
	case SL_F_DATE:
		return fail(msg, mlen, SL_EVALUE, "invalid date \"%.*s\" for "
		    "--%s (use YYYY-MM-DD, e.g. 2019-11-14)", (int)n, s,
		    f->flag);
	case SL_F_EMAIL:
		if (n > 0 && n <= f->max)
			return fail(msg, mlen, SL_EVALUE, "invalid email "
			    "\"%.*s\"", (int)n, s);
		break;
	case SL_F_ENUM:
	case SL_F_STATE: {
		char list[256] = "";

		for (const char *const *v = f->values; *v; v++) {
			size_t used = strlen(list);

			snprintf(list + used, sizeof list - used, "%s%s",
			    used == 0 ? "" : v[1] == NULL ? " or " : ", ", *v);
		}
		if (n > 0 && n <= f->max)
			return fail(msg, mlen, SL_EVALUE, "unknown %s \"%.*s\" "
			    "(use %s)", f->name, (int)n, s, list);
		break;
	}
	default:
		break;
	}
	return fail(msg, mlen, SL_EVALUE, "--%s %s", f->flag, why);
}

static int
check_date(const char *flag, const char *s, char *msg, size_t mlen)
{
	static const struct sl_field date = { "date", NULL, SL_F_DATE, 10, 0,
		NULL, NULL, 0, NULL };
	struct sl_field f = date;

	f.flag = flag;
	return check_field(&f, s, strlen(s), msg, mlen);
}

/* Resolves an id argument to a record of kind; the message names flag. */
static int
resolve(struct cmd_ctx *d, MDB_txn *txn, const char *flag, const char *text,
    char kind, uint8_t id[SL_ID_LEN], char *msg, size_t mlen)
{
	char cands[512];
	int rc = project_resolve(d->p, txn, text, kind, id, cands, sizeof cands);
	const char *what = kind ? project_kind_word(kind) : "record";

	switch (rc) {
	case SL_OK:
		return SL_OK;
	case SL_EINVAL:
		return fail(msg, mlen, SL_EVALUE, "%s%s\"%s\" is not an id (4 to "
		    "26 characters of 0-9 and a-z without i, l, o, u)",
		    flag ? "--" : "", flag ? flag : "", text);
	case SL_ENOENT:
		return fail(msg, mlen, SL_ENOENT, "no %s with id %s%s%s", what,
		    text, flag ? " (--" : "", flag ? flag : "");
	case SL_EAMBIG:
		if (flag)
			return fail(msg, mlen, SL_EAMBIG, "--%s %s matches more "
			    "than one %s: %s", flag, text, what, cands);
		return fail(msg, mlen, SL_EAMBIG, "id %s matches more than one "
		    "%s: %s", text, what, cands);
	default:
		return fail(msg, mlen, SL_ESTORE, "cannot read the records");
	}
}

/* Resolves an id argument and writes the full id text into out. */
static int
resolve_text(struct cmd_ctx *d, MDB_txn *txn, const char *flag,
    const char *text, char kind, char out[SL_ID_TEXT + 1], char *msg,
    size_t mlen)
{
	uint8_t id[SL_ID_LEN];
	int rc = resolve(d, txn, flag, text, kind, id, msg, mlen);

	if (rc == SL_OK)
		sl_b32_encode(out, id, SL_ID_LEN);
	return rc;
}

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
static int
field_from_arg(struct cmd_ctx *d, MDB_txn *txn, struct payload *pl,
    const struct args *a, const struct sl_field *f, char *msg, size_t mlen)
{
	const struct arg *g = arg_get(a, f->flag);
	struct sl_buf *vb;
	msgpack_packer pk;
	const char *s;
	uint32_t n;
	int rc;

	if (g == NULL)
		return SL_OK;
	if (f->type == SL_F_BOOL) {
		if (g->type != ARG_TRUE)
			return fail(msg, mlen, SL_EUSAGE, "--%s takes no value",
			    f->flag);
		pk = payload_field(pl, f->name, &vb);
		msgpack_pack_true(&pk);
		return SL_OK;
	}
	if (g->type == ARG_TRUE)
		return fail(msg, mlen, SL_EUSAGE, "--%s needs a value", f->flag);
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
			if ((rc = check_field(&one_f, e[i], el[i], msg, mlen)) !=
			    SL_OK) {
				free(out);
				return rc;
			}
			snprintf(out[k], sizeof out[k], "%.*s", (int)el[i], e[i]);
			if (f->type == SL_F_REFS && (rc = resolve_text(d, txn,
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
		return fail(msg, mlen, SL_EUSAGE, "--%s needs a value", f->flag);
	if (f->type == SL_F_REF) {
		char text[64], full[SL_ID_TEXT + 1];

		snprintf(text, sizeof text, "%.*s", (int)n, s);
		if ((rc = resolve_text(d, txn, f->flag, text, f->ref, full, msg,
		    mlen)) != SL_OK)
			return rc;
		payload_str(pl, f->name, full, SL_ID_TEXT);
		return SL_OK;
	}
	if ((rc = check_field(f, s, n, msg, mlen)) != SL_OK)
		return rc;
	payload_str(pl, f->name, s, n);
	return SL_OK;
}

/* The flags an event type takes, for args_only. */
static void
type_flags(const struct sl_evtype *et, const char **out, size_t max,
    const char *first)
{
	size_t k = 0;

	if (first != NULL)
		out[k++] = first;
	for (uint32_t i = 0; i < et->kind->nfields && k + 1 < max; i++)
		if ((et->fields & (1u << i)) &&
		    et->kind->fields[i].type != SL_F_STATE)
			out[k++] = et->kind->fields[i].flag;
	out[k] = NULL;
}

/* The states of a record's current heads (the lifecycle's "from"). */
static uint32_t
head_states(struct cmd_ctx *d, MDB_txn *txn, const struct sl_rec *r,
    uint8_t *states)
{
	uint8_t heads[SL_MAX_PARENTS][SL_HASH_LEN];
	uint32_t n = project_heads(d->p, txn, r->id, heads, SL_MAX_PARENTS);
	struct sl_evmeta m;

	if (n > SL_MAX_PARENTS)
		n = SL_MAX_PARENTS;
	for (uint32_t i = 0; i < n; i++)
		states[i] = project_meta(d->p, txn, heads[i], &m) == SL_OK ?
		    m.state : 0;
	return n;
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SL_HASH_LEN);
}

static int
append_event(struct cmd_ctx *d, struct store_batch *b, MDB_txn *txn,
    const struct sl_evtype *et, const char *author, const uint8_t *entity,
    const struct payload *pl, uint8_t out_id[SL_ID_LEN], bool *dead,
    char *msg, size_t mlen)
{
	struct sl_buf g = { 0 };
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
		return fail(msg, mlen, SL_EVALUE, "the record is too large");
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
	}
	dr.payload = g.p;
	dr.payload_len = (uint32_t)g.len;
	rc = store_batch_append(b, &dr, &ap, msg, mlen);
	free(g.p);
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

/* ---- writes ------------------------------------------------------------------ */

/* KIND add: every field the creating type may carry, from its flag. */
static int
write_add(struct cmd_ctx *d, struct store_batch *b, MDB_txn *txn,
    const struct args *a, const struct sl_evtype *et, const char *author,
    uint8_t id[SL_ID_LEN], bool *dead, char *msg, size_t mlen)
{
	const struct sl_kind *k = et->kind;
	const char *allowed[SL_SCHEMA_MAX_FIELDS + 2];
	struct payload pl = { 0 };
	int rc;

	type_flags(et, allowed, sizeof allowed / sizeof allowed[0], NULL);
	if ((rc = args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];

		if (!(et->fields & (1u << i)))
			continue;
		if (f->type == SL_F_STATE) {
			const char *s = sl_schema_state_name(k, et->to);

			payload_str(&pl, f->name, s, strlen(s));
			continue;
		}
		if ((et->required & (1u << i)) && arg_get(a, f->flag) == NULL) {
			rc = fail(msg, mlen, SL_EUSAGE, "%s needs --%s", a->cmd,
			    f->flag);
			goto out;
		}
		if ((rc = field_from_arg(d, txn, &pl, a, f, msg, mlen)) !=
		    SL_OK)
			goto out;
		if (f->dflt != NULL && arg_get(a, f->flag) == NULL)
			payload_str(&pl, f->name, f->dflt, strlen(f->dflt));
	}
	rc = append_event(d, b, txn, et, author, NULL, &pl, id, dead, msg,
	    mlen);
out:
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

/* KIND update ID / KIND STEP ID: an event naming an existing record and
 * its heads.  A step must be allowed from the state of one of the heads
 * (the same rule the fold applies when any node folds it). */
static int
write_change(struct cmd_ctx *d, struct store_batch *b, MDB_txn *txn,
    const struct args *a, const struct sl_evtype *et, const char *author,
    uint8_t id[SL_ID_LEN], bool *dead, char *msg, size_t mlen)
{
	const struct sl_kind *k = et->kind;
	const char *allowed[SL_SCHEMA_MAX_FIELDS + 2];
	struct payload pl = { 0 };
	struct sl_rec cur;
	char text[64];
	int rc;

	type_flags(et, allowed, sizeof allowed / sizeof allowed[0], "id");
	if ((rc = args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!arg_str(a, "id", text, sizeof text))
		return fail(msg, mlen, SL_EUSAGE, "%s needs an ID", a->cmd);
	if ((rc = resolve(d, txn, NULL, text, k->c, id, msg, mlen)) != SL_OK)
		return rc;
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];

		if (!(et->fields & (1u << i)) || f->type == SL_F_STATE)
			continue;
		if ((et->required & (1u << i)) && arg_get(a, f->flag) == NULL) {
			rc = fail(msg, mlen, SL_EUSAGE, "%s needs --%s", a->cmd,
			    f->flag);
			goto out;
		}
		if ((rc = field_from_arg(d, txn, &pl, a, f, msg, mlen)) !=
		    SL_OK)
			goto out;
		/* A step says why, or that no reason was given: an old
		 * step's reason must not read as this one's. */
		if (et->role == SL_ET_STEP && (f->flags & SL_FF_NULL) &&
		    arg_get(a, f->flag) == NULL)
			payload_nil(&pl, f->name);
	}
	if (et->role == SL_ET_UPDATE && pl.n == 0) {
		char list[256] = "";

		for (const char *const *f = allowed + 1; *f; f++) {
			size_t used = strlen(list);

			snprintf(list + used, sizeof list - used, "%s--%s",
			    used == 0 ? "" : f[1] == NULL ? " or " : ", ", *f);
		}
		rc = fail(msg, mlen, SL_EUSAGE, "%s needs at least one of %s",
		    a->cmd, list);
		goto out;
	}
	if ((rc = project_get(d->p, txn, id, &cur)) != SL_OK) {
		rc = fail(msg, mlen, SL_ENOENT, "no %s with id %s", k->word,
		    text);
		goto out;
	}
	if (et->role == SL_ET_STEP) {
		uint8_t states[SL_MAX_PARENTS];
		uint32_t n = head_states(d, txn, &cur, states);

		if (!sl_fold_step_allowed(et, states, n)) {
			char life[256];

			lifecycle_text(k, life, sizeof life);
			rc = fail(msg, mlen, SL_ESTATE, "%s %s is %s and cannot "
			    "be %s (allowed: %s)", k->word, text,
			    sl_schema_state_name(k, cur.state),
			    sl_schema_state_name(k, et->to), life);
			sl_rec_free(&cur);
			goto out;
		}
		for (uint32_t i = 0; i < k->nfields; i++) {
			const char *s = sl_schema_state_name(k, et->to);

			if ((et->fields & (1u << i)) &&
			    k->fields[i].type == SL_F_STATE)
				payload_str(&pl, k->fields[i].name, s,
				    strlen(s));
		}
	}
	sl_rec_free(&cur);
	rc = append_event(d, b, txn, et, author, id, &pl, id, dead, msg, mlen);
out:
	payload_free(&pl);
	return rc;
}

/* The event type a write command makes ("decision.adopt"), or NULL. */
static const struct sl_evtype *
write_type(const char *cmd)
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

static bool
is_write(const char *cmd)
{
	return write_type(cmd) != NULL;
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
	if ((rc = args_parse(a, p->body, p->len, p->msg, sizeof p->msg)) !=
	    SL_OK)
		goto out;
	if ((et = write_type(a->cmd)) == NULL)
		rc = fail(p->msg, sizeof p->msg, SL_EUSAGE, "unknown command");
	else if (et->role == SL_ET_CREATE)
		rc = write_add(d, b, txn, a, et, p->author, p->rec_id, dead,
		    p->msg, sizeof p->msg);
	else
		rc = write_change(d, b, txn, a, et, p->author, p->rec_id, dead,
		    p->msg, sizeof p->msg);
out:
	free(a);
	return rc;
}

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
		if (project_str(r, f->name, oid, sizeof oid) &&
		    sl_b32_decode(id, SL_ID_LEN, oid) &&
		    project_get(d->p, txn, id, &o) == SL_OK) {
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

static void
send_record(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct sl_rec *r, bool competing)
{
	struct sl_buf g = { 0 };

	pack_record(d, txn, r, &g, competing);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
}

/* ---- the group commit ------------------------------------------------------- */

static void idle_cb(uv_idle_t *h);

static void
flush(struct cmd_ctx *d)
{
	struct pending *list = d->head, *p;
	struct store_batch *b = NULL;
	char err[256];
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
		uv_idle_start(&d->idle, idle_cb);
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
				send_record(d, p->c, p->id, txn, &r, false);
				sl_rec_free(&r);
			}
			reply_end(p->c, p->id);
			reply_result(p->c, p->id, p->code,
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

static void
idle_cb(uv_idle_t *h)
{
	struct cmd_ctx *d = h->data;

	uv_idle_stop(h);
	flush(d);
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
	send_record(l->d, l->c, l->id, l->txn, r, false);
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
static int
read_list(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
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
	if ((rc = args_only(a, allowed, msg, mlen)) != SL_OK)
		goto out;
	if (l->range != NULL &&
	    ((arg_str(a, "from", l->from, sizeof l->from) &&
	    (rc = check_date("from", l->from, msg, mlen)) != SL_OK) ||
	    (arg_str(a, "to", l->to, sizeof l->to) &&
	    (rc = check_date("to", l->to, msg, mlen)) != SL_OK)))
		goto out;
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];
		struct filter *fl = &l->flt[l->nflt];

		if (!(f->flags & SL_FF_INDEX) ||
		    !arg_str(a, f->flag, fl->v, sizeof fl->v))
			continue;
		fl->f = f;
		if (f->type == SL_F_REF || f->type == SL_F_REFS) {
			if ((rc = resolve_text(d, txn, f->flag, fl->v, f->ref,
			    fl->v, msg, mlen)) != SL_OK)
				goto out;
		} else if (f->type == SL_F_ENUM || f->type == SL_F_STATE) {
			struct sl_field one = *f;

			one.type = SL_F_ENUM;
			if ((rc = check_field(&one, fl->v, strlen(fl->v), msg,
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
		rc = fail(msg, mlen, rc, "cannot list: %s", sl_strerror(rc));
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
	struct tm tm = { 0 };
	int y, mo, da, h = 23, mi = 59, se = 59, ms = 999;
	char z = 'Z', tail;
	int n = (int)strlen(s);

	if (n == 10) {
		if (!date_valid(s) || sscanf(s, "%d-%d-%d", &y, &mo, &da) != 3)
			return false;
	} else if (n == 20 || n == 24) {
		char day[11];

		memcpy(day, s, 10);
		day[10] = '\0';
		if (!date_valid(day) || s[10] != 'T')
			return false;
		if (sscanf(s, "%d-%d-%dT%d:%d:%d", &y, &mo, &da, &h, &mi, &se) != 6)
			return false;
		ms = 999;
		if (n == 24 && (s[19] != '.' ||
		    sscanf(s + 20, "%3d%c%c", &ms, &z, &tail) != 2))
			return false;
		if (n == 20)
			z = s[19];
		if (z != 'Z' || h > 23 || mi > 59 || se > 60)
			return false;
	} else {
		return false;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = da;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	time_t t = timegm(&tm);

	if (t < 0)
		return false;
	*hlc = (((uint64_t)t * 1000 + (uint64_t)ms) << 16) | 0xffff;
	return true;
}

static int
read_show(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct args *a, char kind, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", "as-of", NULL };
	char text[64], asof[64];
	uint8_t rid[SL_ID_LEN];
	struct sl_rec r;
	uint64_t until;
	int rc;

	if ((rc = args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!arg_str(a, "id", text, sizeof text))
		return fail(msg, mlen, SL_EUSAGE, "show needs an ID");
	if ((rc = resolve(d, txn, NULL, text, kind, rid, msg, mlen)) != SL_OK)
		return rc;
	if (arg_str(a, "as-of", asof, sizeof asof)) {
		if (!parse_as_of(asof, &until))
			return fail(msg, mlen, SL_EVALUE, "invalid time \"%s\" "
			    "for --as-of (use YYYY-MM-DD or "
			    "YYYY-MM-DDTHH:MM:SSZ)", asof);
		if (project_as_of(d->p, txn, rid, until, &r) != SL_OK)
			return fail(msg, mlen, SL_ENOENT, "%s %s did not exist "
			    "yet at %s", project_kind_word(kind), text, asof);
	} else if ((rc = project_get(d->p, txn, rid, &r)) != SL_OK) {
		return fail(msg, mlen, rc, "no %s with id %s",
		    project_kind_word(kind), text);
	}
	send_record(d, c, id, txn, &r, true);
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

static int
read_history(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", NULL };
	struct hist_ctx h = { d, c, id, txn };
	char text[64];
	uint8_t rid[SL_ID_LEN];
	int rc;

	if ((rc = args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!arg_str(a, "id", text, sizeof text))
		return fail(msg, mlen, SL_EUSAGE, "history needs an ID");
	if ((rc = resolve(d, txn, NULL, text, 0, rid, msg, mlen)) != SL_OK)
		return rc;
	if ((rc = project_history(d->p, txn, rid, UINT64_MAX, history_cb,
	    &h)) != SL_OK)
		return fail(msg, mlen, rc, "cannot read the history");
	return SL_OK;
}

/*
 * audit ID: the record's audit bundle (audit.c), sent as RECORD frames
 * {"data": bin} of at most AUDIT_CHUNK bytes that the CLI writes out in
 * order.
 */
#define AUDIT_CHUNK (512u << 10)

static int
read_audit(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", NULL };
	char text[64], err[256];
	uint8_t rid[SL_ID_LEN];
	struct sl_rec r;
	struct sl_buf b = { 0 };
	int rc;

	if ((rc = args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!arg_str(a, "id", text, sizeof text))
		return fail(msg, mlen, SL_EUSAGE, "audit needs a record ID");
	if ((rc = resolve(d, txn, NULL, text, 0, rid, msg, mlen)) != SL_OK)
		return rc;
	if ((rc = project_get(d->p, txn, rid, &r)) != SL_OK)
		return fail(msg, mlen, rc, "no record with id %s", text);
	rc = audit_build(d->s, d->p, txn, rid, r.kind->c, d->node, d->org, &b,
	    err, sizeof err);
	sl_rec_free(&r);
	if (rc != SL_OK) {
		free(b.p);
		return fail(msg, mlen, rc, "cannot build the bundle: %s", err);
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
			return fail(msg, mlen, SL_ENOMEM, "out of memory");
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

static int
read_status(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id)
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

static int
read_verify(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, char *msg,
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
		return fail(msg, mlen, rc, "verification failed: %s", rep.reason);
	}
	return SL_OK;
}

static int
read_rebuild(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, char *msg,
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
static int
peer_cmd(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
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
		return fail(msg, mlen, SL_EINVAL, "this daemon runs without "
		    "peers");
	if (strcmp(verb, "list") == 0) {
		if ((rc = args_only(a, no_args, msg, mlen)) != SL_OK)
			return rc;
		for (size_t i = 0; i < sync_peer_count(d->sync); i++)
			send_peer(d, c, id, i);
		return SL_OK;
	}
	bool add = strcmp(verb, "add") == 0;

	if (!add && strcmp(verb, "remove") != 0)
		return fail(msg, mlen, SL_EUSAGE, "unknown command \"%s\"",
		    a->cmd);
	if ((rc = args_only(a, add ? add_args : rm_args, msg, mlen)) != SL_OK)
		return rc;
	if (!arg_str(a, "id", name, sizeof name))
		return fail(msg, mlen, SL_EUSAGE, "peer %s needs a NAME", verb);
	if (!add)
		return sync_peer_remove(d->sync, name, msg, mlen);
	if (!arg_str(a, "key", key, sizeof key))
		return fail(msg, mlen, SL_EUSAGE, "peer add needs --key NODEID");
	bool has_addr = arg_str(a, "addr", addr, sizeof addr);

	if ((rc = sync_peer_add(d->sync, name, key, has_addr ? addr : NULL,
	    msg, mlen)) != SL_OK)
		return rc;
	long i = sync_peer_index(d->sync, name);

	if (i >= 0) {
		send_peer(d, c, id, (size_t)i);
	}
	return SL_OK;
}

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

static void
import_drop(struct cmd_ctx *d, struct import_sess *x)
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
		arg_str(a, name, out, outlen);
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

/* One row inside the import's batch: the record, then the lifecycle
 * steps that bring it to the status the row gives.  SL_OK, or an error
 * in msg (dead set when the batch itself failed). */
static int
import_row(struct cmd_ctx *d, struct store_batch *b, const char *author,
    const uint8_t *body, size_t len, struct remap *map, size_t *nmap,
    bool *dead, char *msg, size_t mlen)
{
	MDB_txn *txn = store_batch_txn(b);
	struct args *a = malloc(sizeof *a), *sa = NULL;
	char old[64] = "", status[32] = "";
	const struct sl_evtype *et, *steps[8];
	uint8_t id[SL_ID_LEN];
	int nsteps = 0, rc;

	if (a == NULL)
		return SL_ENOMEM;
	if ((rc = args_parse(a, body, len, msg, mlen)) != SL_OK)
		goto out;
	if ((et = write_type(a->cmd)) == NULL || et->role != SL_ET_CREATE) {
		rc = fail(msg, mlen, SL_EUSAGE, "not a record to add");
		goto out;
	}
	arg_take(a, "id", old, sizeof old);
	if (arg_take(a, "status", status, sizeof status) &&
	    (nsteps = lifecycle_path(et->kind, et->to,
	    sl_schema_state(et->kind, status), steps, 8)) < 0) {
		rc = fail(msg, mlen, SL_EVALUE, "invalid status \"%s\"", status);
		goto out;
	}
	if (status[0] && sl_schema_state(et->kind, status) == 0) {
		rc = fail(msg, mlen, SL_EVALUE, "invalid status \"%s\"", status);
		goto out;
	}
	remap_refs(a, map, *nmap);
	if ((rc = write_add(d, b, txn, a, et, author, id, dead, msg, mlen)) !=
	    SL_OK)
		goto out;
	if (old[0] != '\0' && strlen(old) == SL_ID_TEXT) {
		memcpy(map[*nmap].old, old, SL_ID_TEXT + 1);
		sl_b32_encode(map[*nmap].now, id, SL_ID_LEN);
		(*nmap)++;
	}
	for (int i = 0; i < nsteps; i++) {
		const struct sl_evtype *st = steps[i];
		char idt[SL_ID_TEXT + 1];
		uint8_t sid[SL_ID_LEN];

		if (sa == NULL && (sa = calloc(1, sizeof *sa)) == NULL) {
			rc = SL_ENOMEM;
			goto out;
		}
		sl_b32_encode(idt, id, SL_ID_LEN);
		memset(sa, 0, sizeof *sa);
		snprintf(sa->cmd, sizeof sa->cmd, "%s.import", et->kind->word);
		sa->n = 1;
		snprintf(sa->a[0].name, sizeof sa->a[0].name, "id");
		sa->a[0].type = ARG_STR;
		sa->a[0].s = idt;
		sa->a[0].slen = SL_ID_TEXT;
		/* What a step requires (an amendment's text) is the row's:
		 * the status says the record got there. */
		for (uint32_t f = 0; f < et->kind->nfields; f++) {
			const struct sl_field *fd = &et->kind->fields[f];
			const struct arg *t;

			if (!(st->required & (1u << f)))
				continue;
			if ((t = arg_get(a, fd->flag)) == NULL) {
				rc = fail(msg, mlen, SL_EVALUE, "an %s %s needs "
				    "its %s", sl_schema_state_name(et->kind,
				    st->to), et->kind->word, fd->name);
				goto out;
			}
			sa->a[sa->n++] = *t;
		}
		if ((rc = write_change(d, b, txn, sa, st, author, sid, dead, msg,
		    mlen)) != SL_OK)
			goto out;
	}
out:
	free(a);
	free(sa);
	return rc;
}

/*
 * import.rows {"rows": [[line, body], ...]} adds rows to this
 * connection's import; import.commit writes all of them in one commit, or
 * none: every bad row is reported as "LINE: reason" (one per line of the
 * message); import.abort forgets them.
 */
static int
import_request(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const char *verb, const uint8_t *rows, size_t rlen, char *msg,
    size_t mlen)
{
	struct import_sess *x = import_find(d, c, strcmp(verb, "rows") == 0);

	if (strcmp(verb, "abort") == 0) {
		if (x != NULL)
			import_drop(d, x);
		return SL_OK;
	}
	if (strcmp(verb, "rows") == 0) {
		struct sl_mp m;
		uint32_t n, two, blen;
		uint64_t line;
		const uint8_t *start, *bb;

		if (x == NULL)
			return fail(msg, mlen, SL_ENOMEM, "out of memory");
		sl_mp_init(&m, rows, rlen);
		if (sl_mp_read_array(&m, &n, UINT32_MAX) != SL_OK)
			return fail(msg, mlen, SL_EUSAGE, "malformed rows");
		start = m.p;
		for (uint32_t i = 0; i < n; i++)
			if (sl_mp_read_array(&m, &two, 2) != SL_OK || two != 2 ||
			    sl_mp_read_uint(&m, &line) != SL_OK ||
			    sl_mp_read_bin(&m, &bb, &blen, 1,
			    SL_CTL_FRAME_MAX) != SL_OK)
				return fail(msg, mlen, SL_EUSAGE, "malformed "
				    "rows");
		if (!sl_mp_at_end(&m))
			return fail(msg, mlen, SL_EUSAGE, "malformed rows");
		if (x->rows.len + (size_t)(m.p - start) > IMPORT_MAX_BYTES) {
			import_drop(d, x);
			return fail(msg, mlen, SL_ESIZE, "the import is larger "
			    "than %u MiB; split the file", IMPORT_MAX_BYTES >> 20);
		}
		sl_buf_write(&x->rows, (const char *)start, (size_t)(m.p - start));
		x->n += n;
		if (x->rows.p == NULL) {
			import_drop(d, x);
			return fail(msg, mlen, SL_ENOMEM, "out of memory");
		}
		return SL_OK;
	}
	if (strcmp(verb, "commit") != 0)
		return fail(msg, mlen, SL_EUSAGE, "unknown command \"import.%s\"",
		    verb);
	if (x == NULL || x->n == 0) {
		if (x != NULL)
			import_drop(d, x);
		return fail(msg, mlen, SL_EINVAL, "nothing to import");
	}
	struct remap *map = calloc(x->n, sizeof *map);
	struct sl_buf errs = { 0 };
	struct store_batch *b = NULL;
	uint32_t nerr;
	int rc;

	if (map == NULL) {
		import_drop(d, x);
		return fail(msg, mlen, SL_ENOMEM, "out of memory");
	}
retry:
	nerr = 0;
	errs.len = 0;
	size_t nmap = 0;
	bool dead = false;
	char why[512];

	if ((rc = store_batch_begin(d->s, &b, why, sizeof why)) != SL_OK) {
		if (rc == SL_ERETRY)
			goto retry;   /* the map grew; it is bounded */
		rc = fail(msg, mlen, rc, "%s", why);
		goto done;
	}
	struct sl_mp m;
	uint32_t two, blen;
	uint64_t line;
	const uint8_t *bb;

	sl_mp_init(&m, x->rows.p, x->rows.len);
	for (uint32_t i = 0; i < x->n && !dead; i++) {
		sl_mp_read_array(&m, &two, 2);
		sl_mp_read_uint(&m, &line);
		sl_mp_read_bin(&m, &bb, &blen, 1, SL_CTL_FRAME_MAX);
		why[0] = '\0';
		rc = import_row(d, b, ctl_conn_user(c), bb, blen, map, &nmap,
		    &dead, why, sizeof why);
		if (rc != SL_OK && !dead && nerr++ < IMPORT_MAX_ERRORS) {
			char l[600];
			int k = snprintf(l, sizeof l, "%s%llu: %s", errs.len ?
			    "\n" : "", (unsigned long long)line, why[0] ? why :
			    sl_strerror(rc));

			sl_buf_write(&errs, l, (size_t)k < sizeof l ? (size_t)k :
			    sizeof l - 1);
		}
	}
	if (dead) {
		store_batch_abort(b);
		if (rc == SL_ERETRY)
			goto retry;
		rc = fail(msg, mlen, rc, "%s", why[0] ? why : sl_strerror(rc));
		goto done;
	}
	if (nerr > 0) {
		store_batch_abort(b);
		if (nerr > IMPORT_MAX_ERRORS) {
			char l[80];
			int k = snprintf(l, sizeof l, "\n0: and %u more bad rows",
			    nerr - IMPORT_MAX_ERRORS);

			sl_buf_write(&errs, l, (size_t)k);
		}
		rc = fail(msg, mlen, SL_EVALUE, "%.*s", errs.p ? (int)errs.len :
		    0, errs.p ? (const char *)errs.p : "");
		goto done;
	}
	if ((rc = store_batch_commit(b, why, sizeof why)) == SL_ERETRY)
		goto retry;
	if (rc != SL_OK) {
		rc = fail(msg, mlen, rc, "%s", why);
		goto done;
	}
	d->commits++;
	if (d->sync != NULL)
		sync_log_grew(d->sync);
	struct sl_buf g = { 0 };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 1);
	sl_pack_cstr(&pk, "imported");
	msgpack_pack_uint64(&pk, x->n);
	ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
	free(g.p);
	rc = SL_OK;
done:
	free(errs.p);
	free(map);
	import_drop(d, x);
	return rc;
}

/* Reads an import request: {"cmd": "import.VERB", "args": {"rows": [...]}}
 * (rows only for import.rows).  Returns true if it was one. */
static bool
import_dispatch(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const uint8_t *body, size_t len)
{
	struct sl_mp m;
	uint32_t n, na;
	const char *s;
	uint32_t sl;
	char cmd[24] = "", verb[16] = "", msg[16384] = "";
	const uint8_t *rows = NULL;
	size_t rlen = 0;
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
	    memcmp(s, "args", 4) != 0 || sl_mp_read_map(&m, &na, 1) != SL_OK) {
		rc = fail(msg, sizeof msg, SL_EUSAGE, "malformed request");
	} else if (na == 1) {
		if (sl_mp_read_str(&m, &s, &sl, 4, 4) != SL_OK ||
		    memcmp(s, "rows", 4) != 0 ||
		    sl_mp_skip(&m, &rows, &rlen) != SL_OK || !sl_mp_at_end(&m))
			rc = fail(msg, sizeof msg, SL_EUSAGE, "malformed "
			    "request");
	}
	if (rc == SL_OK)
		rc = rights_check(c, cmd, msg, sizeof msg);
	if (rc == SL_OK)
		rc = import_request(d, c, id, verb, rows, rlen, msg, sizeof msg);
	reply_end(c, id);
	reply_result(c, id, rc, rc == SL_OK ? "ok" : msg[0] ? msg : NULL,
	    NULL);
	return true;
}

/* ---- entry points --------------------------------------------------------- */

void
cmd_request(void *ctx, struct ctl_conn *c, uint32_t id, const uint8_t *body,
    size_t len)
{
	struct cmd_ctx *d = ctx;
	struct args *a = malloc(sizeof *a);
	char msg[512] = "";

	d->requests++;
	MDB_txn *txn = NULL;
	int rc;

	if (len > 12 && memmem(body, 24 < len ? 24 : len, "import.", 7) != NULL &&
	    import_dispatch(d, c, id, body, len)) {
		free(a);
		return;
	}

	if (a == NULL) {
		reply_result(c, id, SL_ENOMEM, NULL, NULL);
		return;
	}
	if ((rc = args_parse(a, body, len, msg, sizeof msg)) != SL_OK ||
	    (rc = rights_check(c, a->cmd, msg, sizeof msg)) != SL_OK)
		goto done;
	if (is_write(a->cmd)) {
		struct pending *p = calloc(1, sizeof *p);

		if (p == NULL || (p->body = malloc(len ? len : 1)) == NULL) {
			free(p);
			rc = SL_ENOMEM;
			goto done;
		}
		memcpy(p->body, body, len);
		p->len = len;
		p->c = c;
		p->id = id;
		snprintf(p->author, sizeof p->author, "%s", ctl_conn_user(c));
		ctl_conn_ref(c);
		*d->tail = p;
		d->tail = &p->next;
		uv_idle_start(&d->idle, idle_cb);
		free(a);
		return;
	}
	if (store_read_begin(d->s, &txn) != SL_OK) {
		rc = SL_ESTORE;
		goto done;
	}
	char word[16], verb[16];
	const char *dot = strchr(a->cmd, '.');

	snprintf(word, sizeof word, "%.*s", (int)strcspn(a->cmd, "."), a->cmd);
	snprintf(verb, sizeof verb, "%s", dot ? dot + 1 : "");
	char kind = project_kind(word);

	if (kind && strcmp(verb, "list") == 0)
		rc = read_list(d, c, id, txn, a, kind, msg, sizeof msg);
	else if (kind && strcmp(verb, "show") == 0)
		rc = read_show(d, c, id, txn, a, kind, msg, sizeof msg);
	else if (strcmp(a->cmd, "history") == 0)
		rc = read_history(d, c, id, txn, a, msg, sizeof msg);
	else if (strcmp(a->cmd, "audit") == 0)
		rc = read_audit(d, c, id, txn, a, msg, sizeof msg);
	else if (strcmp(a->cmd, "status") == 0)
		rc = read_status(d, c, id);
	else if (strcmp(a->cmd, "log") == 0) {
		struct log_ctx l = { d, c, id, txn };

		rc = store_scan(d->s, 0, log_cb, &l);
	} else if (strcmp(a->cmd, "verify") == 0) {
		mdb_txn_abort(txn);
		txn = NULL;
		rc = read_verify(d, c, id, msg, sizeof msg);
	} else if (strncmp(a->cmd, "peer.", 5) == 0) {
		rc = peer_cmd(d, c, id, a, msg, sizeof msg);
	} else if (strcmp(a->cmd, "rebuild") == 0) {
		mdb_txn_abort(txn);
		txn = NULL;
		rc = read_rebuild(d, c, id, msg, sizeof msg);
	} else {
		rc = fail(msg, sizeof msg, SL_EUSAGE, "unknown command \"%s\"",
		    a->cmd);
	}
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	reply_end(c, id);
	reply_result(c, id, rc, rc == SL_OK ? "ok" : msg[0] ? msg : NULL, NULL);
	free(a);
}

int
cmd_parse_request(const uint8_t *body, size_t len, char *msg, size_t mlen)
{
	struct args *a = malloc(sizeof *a);
	int rc;

	if (a == NULL)
		return SL_ENOMEM;
	rc = args_parse(a, body, len, msg, mlen);
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
			reply_end(p->c, p->id);
			reply_result(p->c, p->id, SL_ERETRY, "not written: the "
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
		flush(d);
	uv_idle_stop(&d->idle);
}

void
cmd_set_sync(struct cmd_ctx *d, struct sync *sy)
{
	d->sync = sy;
}

void
cmd_hold(void *ctx, bool hold)
{
	struct cmd_ctx *d = ctx;

	d->held = hold;
	if (!hold && d->head != NULL)
		uv_idle_start(&d->idle, idle_cb);
}

void
cmd_free(struct cmd_ctx *d)
{
	while (d->imports != NULL)
		import_drop(d, d->imports);
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
