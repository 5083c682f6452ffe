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
#define NAME_MAX_LEN 200
#define TEXT_MAX_LEN 20000

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

static int
check_text(const char *flag, const char *s, size_t n, size_t max, char *msg,
    size_t mlen)
{
	if (n == 0)
		return fail(msg, mlen, SL_EVALUE, "--%s must not be empty", flag);
	if (n > max)
		return fail(msg, mlen, SL_EVALUE, "--%s is too long (%zu bytes; "
		    "at most %zu)", flag, n, max);
	/* Free text may hold line breaks and tabs; nothing else below 0x20. */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
			return fail(msg, mlen, SL_EVALUE, "--%s contains a "
			    "control character", flag);
	}
	char *tmp = malloc(n + 1);
	bool ok;

	if (tmp == NULL)
		return SL_ENOMEM;
	for (size_t i = 0; i < n; i++)
		tmp[i] = s[i] == '\n' || s[i] == '\t' ? ' ' : s[i];
	ok = sl_utf8_valid(tmp, n);
	free(tmp);
	if (!ok)
		return fail(msg, mlen, SL_EVALUE, "--%s is not valid UTF-8",
		    flag);
	if (isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]))
		return fail(msg, mlen, SL_EVALUE, "--%s must not start or end "
		    "with a space", flag);
	return SL_OK;
}

static bool
date_valid(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	int y, m, d;
	char tail;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return false;
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	return true;
}

static int
check_date(const char *flag, const char *s, char *msg, size_t mlen)
{
	if (!date_valid(s))
		return fail(msg, mlen, SL_EVALUE, "invalid date \"%s\" for --%s "
		    "(use YYYY-MM-DD, e.g. 2019-11-14)", s, flag);
	return SL_OK;
}

static bool
word_in(const char *w, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(w, *set) == 0)
			return true;
	return false;
}

static const char *const org_kinds[] = { "asf", "municipality", "authority",
	"partner", "company", "other", NULL };
static const char *const statuses[] = { "proposed", "adopted", "rejected",
	"amended", "revoked", NULL };

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

/* A payload under construction: fields kept sorted by name. */
struct payload {
	uint32_t n;
	struct {
		const char *name;
		int type;          /* 0 str, 1 array, 2 true, 3 nil */
		char *s;           /* owned */
		char **e;          /* owned */
		uint32_t ne;
	} f[16];
};

static void
payload_free(struct payload *pl)
{
	for (uint32_t i = 0; i < pl->n; i++) {
		free(pl->f[i].s);
		for (uint32_t k = 0; k < pl->f[i].ne; k++)
			free(pl->f[i].e[k]);
		free(pl->f[i].e);
	}
	pl->n = 0;
}

static void
payload_add(struct payload *pl, const char *name, int type, const char *s,
    char **e, uint32_t ne)
{
	uint32_t i = pl->n++;

	while (i > 0 && strcmp(pl->f[i - 1].name, name) > 0) {
		pl->f[i] = pl->f[i - 1];
		i--;
	}
	pl->f[i].name = name;
	pl->f[i].type = type;
	pl->f[i].s = s ? strdup(s) : NULL;
	pl->f[i].e = e;
	pl->f[i].ne = ne;
}

static void
payload_pack(const struct payload *pl, struct sl_buf *g)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, g, sl_buf_write);
	msgpack_pack_map(&pk, pl->n);
	for (uint32_t i = 0; i < pl->n; i++) {
		sl_pack_cstr(&pk, pl->f[i].name);
		if (pl->f[i].type == 0) {
			sl_pack_cstr(&pk, pl->f[i].s);
		} else if (pl->f[i].type == 1) {
			msgpack_pack_array(&pk, pl->f[i].ne);
			for (uint32_t k = 0; k < pl->f[i].ne; k++)
				sl_pack_cstr(&pk, pl->f[i].e[k]);
		} else if (pl->f[i].type == 2) {
			msgpack_pack_true(&pk);
		} else {
			msgpack_pack_nil(&pk);
		}
	}
}

/* Adds a checked single-line text field if the argument is given. */
static int
field_text(struct payload *pl, const struct args *a, const char *name,
    size_t max, bool required, char *msg, size_t mlen)
{
	const struct arg *g = arg_get(a, name);
	char *v;
	int rc;

	if (g == NULL) {
		if (required)
			return fail(msg, mlen, SL_EUSAGE, "%s needs --%s", a->cmd,
			    name);
		return SL_OK;
	}
	if (g->type == ARG_TRUE)
		return fail(msg, mlen, SL_EUSAGE, "--%s needs a value", name);
	const char *s = g->type == ARG_STR ? g->s : g->n ? g->e[g->n - 1] : "";
	uint32_t n = g->type == ARG_STR ? g->slen : g->n ? g->elen[g->n - 1] : 0;

	if ((rc = check_text(name, s, n, max, msg, mlen)) != SL_OK)
		return rc;
	if ((v = strndup(s, n)) == NULL)
		return SL_ENOMEM;
	payload_add(pl, name, 0, v, NULL, 0);
	free(v);
	return SL_OK;
}

/* Adds an array field from a repeatable flag; ids resolved to full ids. */
static int
field_list(struct cmd_ctx *d, MDB_txn *txn, struct payload *pl,
    const struct args *a, const char *flag, const char *name, char ref_kind,
    char *msg, size_t mlen)
{
	const struct arg *g = arg_get(a, flag);
	const char *one[1];
	uint32_t onel[1], n;
	const char *const *e;
	const uint32_t *el;
	char **out;
	int rc;

	if (g == NULL)
		return SL_OK;
	if (g->type == ARG_TRUE)
		return fail(msg, mlen, SL_EUSAGE, "--%s needs a value", flag);
	if (g->type == ARG_STR) {
		one[0] = g->s;
		onel[0] = g->slen;
		e = one;
		el = onel;
		n = 1;
	} else {
		e = g->e;
		el = g->elen;
		n = g->n;
	}
	if ((out = calloc(n ? n : 1, sizeof *out)) == NULL)
		return SL_ENOMEM;
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++) {
		char v[NAME_MAX_LEN + 1];

		if ((rc = check_text(flag, e[i], el[i], NAME_MAX_LEN, msg,
		    mlen)) != SL_OK)
			goto fail;
		snprintf(v, sizeof v, "%.*s", (int)el[i], e[i]);
		if (ref_kind) {
			uint8_t id[SL_ID_LEN];

			if ((rc = resolve(d, txn, flag, v, ref_kind, id, msg,
			    mlen)) != SL_OK)
				goto fail;
			sl_b32_encode(v, id, SL_ID_LEN);
		}
		bool dup = false;

		for (uint32_t j = 0; j < k && !dup; j++)
			dup = strcmp(out[j], v) == 0;
		if (!dup && (out[k++] = strdup(v)) == NULL) {
			rc = SL_ENOMEM;
			goto fail;
		}
	}
	payload_add(pl, name, 1, NULL, out, k);
	return SL_OK;
fail:
	for (uint32_t j = 0; j < k; j++)
		free(out[j]);
	free(out);
	return rc;
}

/* Adds a reference field (one id) resolved to the full id. */
static int
field_ref(struct cmd_ctx *d, MDB_txn *txn, struct payload *pl,
    const struct args *a, const char *name, char kind, char *msg, size_t mlen)
{
	char text[64], full[SL_ID_TEXT + 1];
	int rc;

	if (!arg_str(a, name, text, sizeof text))
		return SL_OK;
	if ((rc = resolve_text(d, txn, name, text, kind, full, msg, mlen)) !=
	    SL_OK)
		return rc;
	payload_add(pl, name, 0, full, NULL, 0);
	return SL_OK;
}

static int
append_event(struct store_batch *b, const char *type, const char *author,
    const uint8_t *entity, const struct prec *cur, const struct payload *pl,
    uint8_t out_id[SL_ID_LEN], bool *dead, char *msg, size_t mlen)
{
	struct sl_buf g = { 0 };
	uint8_t heads[SL_MAX_PARENTS][SL_HASH_LEN];
	struct sl_event_draft dr = { .author = author, .type = type,
		.entity = entity };
	struct store_appended ap;
	int rc;

	payload_pack(pl, &g);
	if (g.p == NULL)
		return SL_ENOMEM;
	if (g.len > SL_PAYLOAD_MAX) {
		free(g.p);
		return fail(msg, mlen, SL_EVALUE, "the record is too large");
	}
	if (cur != NULL) {
		/* The heads this edit saw: naming them all resolves any
		 * conflict between them.  Kept sorted as the format wants. */
		dr.n_parents = prec_heads(cur, heads, SL_MAX_PARENTS);
		if (dr.n_parents > SL_MAX_PARENTS)
			dr.n_parents = SL_MAX_PARENTS;
		dr.parents = (const uint8_t (*)[SL_HASH_LEN])heads;
	}
	dr.payload = g.p;
	dr.payload_len = (uint32_t)g.len;
	rc = store_batch_append(b, &dr, &ap, msg, mlen);
	free(g.p);
	if (rc != SL_OK) {
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

static int
write_add(struct cmd_ctx *d, struct store_batch *b, MDB_txn *txn,
    const struct args *a, char kind, const char *author, uint8_t id[SL_ID_LEN],
    bool *dead, char *msg, size_t mlen)
{
	static const char *const org_args[] = { "name", "kind", "municipality",
		"sector", "iop", NULL };
	static const char *const contact_args[] = { "name", "org", "role",
		"email", "phone", "municipality", NULL };
	static const char *const meeting_args[] = { "title", "date", "with",
		"org", "municipality", "notes", NULL };
	static const char *const decision_args[] = { "title", "text", "body",
		"meeting", NULL };
	struct payload pl = { 0 };
	char v[NAME_MAX_LEN + 1];
	const char *type = NULL;
	int rc;

	switch (kind) {
	case 'o':
		if ((rc = args_only(a, org_args, msg, mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "name", NAME_MAX_LEN, true, msg,
		    mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "municipality", NAME_MAX_LEN, false,
		    msg, mlen)) != SL_OK ||
		    (rc = field_list(d, txn, &pl, a, "sector", "sector", 0, msg,
		    mlen)) != SL_OK)
			break;
		if (arg_str(a, "kind", v, sizeof v) && !word_in(v, org_kinds)) {
			rc = fail(msg, mlen, SL_EVALUE, "unknown kind \"%s\" (use "
			    "asf, municipality, authority, partner, company or "
			    "other)", v);
			break;
		}
		payload_add(&pl, "kind", 0, v[0] ? v : "other", NULL, 0);
		if (arg_get(a, "iop") != NULL)
			payload_add(&pl, "iop", 2, NULL, NULL, 0);
		type = "org.created";
		break;
	case 'c':
		if ((rc = args_only(a, contact_args, msg, mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "name", NAME_MAX_LEN, true, msg,
		    mlen)) != SL_OK ||
		    (rc = field_ref(d, txn, &pl, a, "org", 'o', msg, mlen)) !=
		    SL_OK ||
		    (rc = field_text(&pl, a, "role", NAME_MAX_LEN, false, msg,
		    mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "email", NAME_MAX_LEN, false, msg,
		    mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "phone", NAME_MAX_LEN, false, msg,
		    mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "municipality", NAME_MAX_LEN, false,
		    msg, mlen)) != SL_OK)
			break;
		if (arg_str(a, "email", v, sizeof v) && (strchr(v, '@') == NULL ||
		    v[0] == '@' || v[strlen(v) - 1] == '@' || strchr(v, ' '))) {
			rc = fail(msg, mlen, SL_EVALUE, "invalid email \"%s\"", v);
			break;
		}
		type = "contact.created";
		break;
	case 'm':
		if ((rc = args_only(a, meeting_args, msg, mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "title", NAME_MAX_LEN, true, msg,
		    mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "date", 10, true, msg, mlen)) !=
		    SL_OK)
			break;
		arg_str(a, "date", v, sizeof v);
		if ((rc = check_date("date", v, msg, mlen)) != SL_OK ||
		    (rc = field_list(d, txn, &pl, a, "with", "with", 'c', msg,
		    mlen)) != SL_OK ||
		    (rc = field_list(d, txn, &pl, a, "org", "orgs", 'o', msg,
		    mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "municipality", NAME_MAX_LEN, false,
		    msg, mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "notes", TEXT_MAX_LEN, false, msg,
		    mlen)) != SL_OK)
			break;
		type = "meeting.created";
		break;
	case 'd':
		if ((rc = args_only(a, decision_args, msg, mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "title", NAME_MAX_LEN, true, msg,
		    mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "text", TEXT_MAX_LEN, true, msg,
		    mlen)) != SL_OK ||
		    (rc = field_text(&pl, a, "body", NAME_MAX_LEN, false, msg,
		    mlen)) != SL_OK ||
		    (rc = field_ref(d, txn, &pl, a, "meeting", 'm', msg, mlen)) !=
		    SL_OK)
			break;
		payload_add(&pl, "status", 0, "proposed", NULL, 0);
		type = "decision.created";
		break;
	default:
		rc = SL_EUSAGE;
	}
	if (rc == SL_OK)
		rc = append_event(b, type, author, NULL, NULL, &pl, id, dead, msg,
		    mlen);
	payload_free(&pl);
	return rc;
}

static int
write_contact_update(struct cmd_ctx *d, struct store_batch *b, MDB_txn *txn,
    const struct args *a, const char *author, uint8_t id[SL_ID_LEN],
    bool *dead, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", "name", "org", "role",
		"email", "phone", "municipality", NULL };
	struct payload pl = { 0 };
	struct prec cur;
	char text[64];
	int rc;

	if ((rc = args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!arg_str(a, "id", text, sizeof text))
		return fail(msg, mlen, SL_EUSAGE, "contact update needs an ID");
	if ((rc = resolve(d, txn, NULL, text, 'c', id, msg, mlen)) != SL_OK)
		return rc;
	if ((rc = field_text(&pl, a, "name", NAME_MAX_LEN, false, msg,
	    mlen)) != SL_OK ||
	    (rc = field_ref(d, txn, &pl, a, "org", 'o', msg, mlen)) != SL_OK ||
	    (rc = field_text(&pl, a, "role", NAME_MAX_LEN, false, msg, mlen)) !=
	    SL_OK ||
	    (rc = field_text(&pl, a, "email", NAME_MAX_LEN, false, msg, mlen)) !=
	    SL_OK ||
	    (rc = field_text(&pl, a, "phone", NAME_MAX_LEN, false, msg, mlen)) !=
	    SL_OK ||
	    (rc = field_text(&pl, a, "municipality", NAME_MAX_LEN, false, msg,
	    mlen)) != SL_OK)
		goto out;
	if (pl.n == 0) {
		rc = fail(msg, mlen, SL_EUSAGE, "contact update needs at least "
		    "one of --name, --org, --role, --email, --phone, "
		    "--municipality");
		goto out;
	}
	if (project_get(d->p, txn, id, &cur) != SL_OK) {
		rc = fail(msg, mlen, SL_ENOENT, "no contact with id %s", text);
		goto out;
	}
	rc = append_event(b, "contact.updated", author, id, &cur, &pl, id, dead,
	    msg, mlen);
	prec_free(&cur);
out:
	payload_free(&pl);
	return rc;
}

/* The decision lifecycle: which step is allowed from which status. */
static bool
step_allowed(const char *from, const char *step)
{
	if (strcmp(step, "adopted") == 0 || strcmp(step, "rejected") == 0)
		return strcmp(from, "proposed") == 0;
	if (strcmp(step, "amended") == 0 || strcmp(step, "revoked") == 0)
		return strcmp(from, "adopted") == 0 ||
		    strcmp(from, "amended") == 0;
	return false;
}

static int
write_decision_step(struct cmd_ctx *d, struct store_batch *b, MDB_txn *txn,
    const struct args *a, const char *step, const char *author,
    uint8_t id[SL_ID_LEN], bool *dead, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", "reason", "text", NULL };
	static const char *const allowed_no_text[] = { "id", "reason", NULL };
	struct payload pl = { 0 };
	struct prec cur;
	char text[64], status[32], type[32];
	bool amend = strcmp(step, "amended") == 0;
	int rc;

	if ((rc = args_only(a, amend ? allowed : allowed_no_text, msg,
	    mlen)) != SL_OK)
		return rc;
	if (!arg_str(a, "id", text, sizeof text))
		return fail(msg, mlen, SL_EUSAGE, "%s needs an ID", a->cmd);
	if ((rc = resolve(d, txn, NULL, text, 'd', id, msg, mlen)) != SL_OK)
		return rc;
	if (project_get(d->p, txn, id, &cur) != SL_OK)
		return fail(msg, mlen, SL_ENOENT, "no decision with id %s", text);
	prec_str(&cur, "status", status, sizeof status);
	if (!step_allowed(status, step)) {
		rc = fail(msg, mlen, SL_ESTATE, "decision %s is %s and cannot "
		    "be %s (allowed: proposed -> adopted or rejected; adopted "
		    "or amended -> amended or revoked)", text, status, step);
		goto out;
	}
	if ((rc = field_text(&pl, a, "text", TEXT_MAX_LEN, amend, msg,
	    mlen)) != SL_OK ||
	    (rc = field_text(&pl, a, "reason", TEXT_MAX_LEN, false, msg,
	    mlen)) != SL_OK)
		goto out;
	/* Each step says why, or that no reason was given: an old step's
	 * reason must not read as this one's. */
	if (arg_get(a, "reason") == NULL)
		payload_add(&pl, "reason", 3, NULL, NULL, 0);
	payload_add(&pl, "status", 0, step, NULL, 0);
	snprintf(type, sizeof type, "decision.%s", step);
	rc = append_event(b, type, author, id, &cur, &pl, id, dead, msg, mlen);
out:
	prec_free(&cur);
	payload_free(&pl);
	return rc;
}

static bool
is_write(const char *cmd)
{
	static const char *const writes[] = { "org.add", "contact.add",
		"meeting.add", "decision.add", "contact.update", "decision.adopt",
		"decision.reject", "decision.revoke", "decision.amend", NULL };

	return word_in(cmd, writes);
}

/* One write request inside the group commit's transaction. */
static int
write_one(struct cmd_ctx *d, struct store_batch *b, struct pending *p,
    bool *dead)
{
	MDB_txn *txn = store_batch_txn(b);
	struct args *a = malloc(sizeof *a);
	int rc;

	if (a == NULL)
		return SL_ENOMEM;
	if ((rc = args_parse(a, p->body, p->len, p->msg, sizeof p->msg)) !=
	    SL_OK)
		goto out;
	if (strcmp(a->cmd, "contact.update") == 0)
		rc = write_contact_update(d, b, txn, a, p->author, p->rec_id,
		    dead, p->msg, sizeof p->msg);
	else if (strncmp(a->cmd, "decision.", 9) == 0 &&
	    strcmp(a->cmd, "decision.add") != 0) {
		const char *verb = a->cmd + 9;
		const char *step = strcmp(verb, "adopt") == 0 ? "adopted" :
		    strcmp(verb, "reject") == 0 ? "rejected" :
		    strcmp(verb, "revoke") == 0 ? "revoked" : "amended";

		rc = write_decision_step(d, b, txn, a, step, p->author,
		    p->rec_id, dead, p->msg, sizeof p->msg);
	} else {
		char word[16];

		snprintf(word, sizeof word, "%.*s",
		    (int)strcspn(a->cmd, "."), a->cmd);
		rc = write_add(d, b, txn, a, project_kind(word), p->author,
		    p->rec_id, dead, p->msg, sizeof p->msg);
	}
out:
	free(a);
	return rc;
}

/* ---- record output -------------------------------------------------------- */

static void pack_event_common(struct cmd_ctx *d, MDB_txn *txn,
    msgpack_packer *pk, struct sl_buf *g, const struct sl_event *ev);

struct compete_ctx {
	struct cmd_ctx *d;
	MDB_txn *txn;
	uint8_t (*heads)[SL_HASH_LEN];
	uint32_t nheads;
	struct sl_buf g;
	uint32_t n;
};

static int
compete_cb(void *ctx, const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN])
{
	struct compete_ctx *cc = ctx;
	msgpack_packer pk;

	for (uint32_t i = 0; i < cc->nheads; i++) {
		if (memcmp(cc->heads[i], hash, SL_HASH_LEN) != 0)
			continue;
		msgpack_packer_init(&pk, &cc->g, sl_buf_write);
		msgpack_pack_map(&pk, 8);
		pack_event_common(cc->d, cc->txn, &pk, &cc->g, ev);
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
pack_competing(struct cmd_ctx *d, MDB_txn *txn, const struct prec *r,
    msgpack_packer *pk, struct sl_buf *g)
{
	uint8_t heads[SL_MAX_PARENTS][SL_HASH_LEN];
	struct compete_ctx cc = { d, txn, heads, 0, { 0 }, 0 };

	cc.nheads = prec_heads(r, heads, SL_MAX_PARENTS);
	if (cc.nheads > SL_MAX_PARENTS)
		cc.nheads = SL_MAX_PARENTS;
	project_history(d->p, txn, r->id, UINT64_MAX, compete_cb, &cc);
	msgpack_pack_array(pk, cc.n);
	if (cc.g.p != NULL)
		sl_buf_write(g, (const char *)cc.g.p, cc.g.len);
	free(cc.g.p);
}

static void
pack_record(struct cmd_ctx *d, MDB_txn *txn, const struct prec *r,
    struct sl_buf *g, bool competing)
{
	const char *const *fields = NULL;
	static const char *const of[] = { "name", "municipality", "sector", "iop",
		NULL };
	static const char *const cf[] = { "name", "org", "role", "email",
		"phone", "municipality", NULL };
	static const char *const mf[] = { "title", "date", "with", "orgs",
		"municipality", "notes", NULL };
	static const char *const df[] = { "title", "text", "body", "meeting",
		"status", "reason", NULL };
	msgpack_packer pk;
	uint32_t n = 0;
	char kind[32], org_name[SL_ORG_MAX + 1] = "", oid[64];

	switch (r->kind) {
	case 'o': fields = of; break;
	case 'c': fields = cf; break;
	case 'm': fields = mf; break;
	default: fields = df; break;
	}
	for (const char *const *f = fields; *f; f++)
		n++;
	if (r->kind == 'o') {
		if (!prec_str(r, "kind", kind, sizeof kind))
			snprintf(kind, sizeof kind, "other");
	} else {
		snprintf(kind, sizeof kind, "%s", project_kind_word(r->kind));
	}
	if (r->kind == 'c' && prec_str(r, "org", oid, sizeof oid)) {
		uint8_t id[SL_ID_LEN];
		struct prec o;

		if (sl_b32_decode(id, SL_ID_LEN, oid) &&
		    project_get(d->p, txn, id, &o) == SL_OK) {
			prec_str(&o, "name", org_name, sizeof org_name);
			prec_free(&o);
		}
	}
	msgpack_packer_init(&pk, g, sl_buf_write);
	competing = competing && prec_conflict(r);
	msgpack_pack_map(&pk, n + 7 + (r->kind == 'c') + competing);
	sl_pack_cstr(&pk, "id");
	sl_pack_b32(&pk, r->id, SL_ID_LEN);
	sl_pack_cstr(&pk, "record");
	sl_pack_cstr(&pk, project_kind_word(r->kind));
	sl_pack_cstr(&pk, "kind");
	sl_pack_cstr(&pk, kind);
	for (const char *const *f = fields; *f; f++) {
		const struct pfield *pf = prec_field(r, *f);

		sl_pack_cstr(&pk, *f);
		if (pf != NULL)
			sl_buf_write(g, (const char *)pf->val, pf->len);
		else if (strcmp(*f, "iop") == 0)
			msgpack_pack_false(&pk);
		else if (strcmp(*f, "sector") == 0 || strcmp(*f, "with") == 0 ||
		    strcmp(*f, "orgs") == 0)
			msgpack_pack_array(&pk, 0);
		else
			msgpack_pack_nil(&pk);
	}
	if (r->kind == 'c') {
		sl_pack_cstr(&pk, "org_name");
		if (org_name[0])
			sl_pack_cstr(&pk, org_name);
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
	sl_pack_bool(&pk, prec_conflict(r));
	if (competing) {
		sl_pack_cstr(&pk, "competing");
		pack_competing(d, txn, r, &pk, g);
	}
}

static void
send_record(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct prec *r, bool competing)
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
			struct prec r;

			if (p->code == SL_OK && txn != NULL &&
			    project_get(d->p, txn, p->rec_id, &r) == SL_OK) {
				send_record(d, p->c, p->id, txn, &r, false);
				prec_free(&r);
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

struct list_ctx {
	struct cmd_ctx *d;
	struct ctl_conn *c;
	uint32_t id;
	MDB_txn *txn;
	const struct args *a;
	char kind;
	const char *scan_field;
	char ref[SL_ID_TEXT + 1]; /* resolved --org / --with id */
	uint64_t count;
};

static bool
str_field_is(const struct prec *r, const char *field, const char *want)
{
	char v[NAME_MAX_LEN + 1];

	return prec_str(r, field, v, sizeof v) && strcasecmp(v, want) == 0;
}

static bool
array_has(const struct prec *r, const char *field, const char *want)
{
	const struct pfield *f = prec_field(r, field);
	struct sl_mp m;
	uint32_t n, l;
	const char *s;

	if (f == NULL)
		return false;
	sl_mp_init(&m, f->val, f->len);
	if (sl_mp_read_array(&m, &n, 1024) != SL_OK)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (sl_mp_read_str(&m, &s, &l, 0, UINT32_MAX) == SL_OK &&
		    l == strlen(want) && strncasecmp(s, want, l) == 0)
			return true;
	return false;
}

/* Every filter the request names, whichever one the scan used. */
static int
list_cb(void *ctx, const struct prec *r)
{
	struct list_ctx *l = ctx;
	char v[NAME_MAX_LEN + 1], date[16];

	if (r->kind != l->kind)
		return 0;
	switch (l->kind) {
	case 'o':
		if (arg_str(l->a, "kind", v, sizeof v) && !str_field_is(r, "kind", v))
			return 0;
		if (arg_str(l->a, "municipality", v, sizeof v) &&
		    !str_field_is(r, "municipality", v))
			return 0;
		break;
	case 'c':
		if (l->ref[0] && !str_field_is(r, "org", l->ref))
			return 0;
		if (arg_str(l->a, "municipality", v, sizeof v) &&
		    !str_field_is(r, "municipality", v))
			return 0;
		if (arg_str(l->a, "role", v, sizeof v) && !str_field_is(r, "role", v))
			return 0;
		break;
	case 'm':
		prec_str(r, "date", date, sizeof date);
		if (arg_str(l->a, "from", v, sizeof v) && strcmp(date, v) < 0)
			return 0;
		if (arg_str(l->a, "to", v, sizeof v) && strcmp(date, v) > 0)
			return 0;
		if (l->ref[0] && !array_has(r, "with", l->ref))
			return 0;
		if (arg_str(l->a, "municipality", v, sizeof v) &&
		    !str_field_is(r, "municipality", v))
			return 0;
		break;
	case 'd':
		if (arg_str(l->a, "status", v, sizeof v) &&
		    !str_field_is(r, "status", v))
			return 0;
		break;
	}
	send_record(l->d, l->c, l->id, l->txn, r, false);
	l->count++;
	return 0;
}

static int
read_list(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct args *a, char kind, char *msg, size_t mlen)
{
	static const char *const oa[] = { "kind", "municipality", NULL };
	static const char *const ca[] = { "org", "municipality", "role", NULL };
	static const char *const ma[] = { "from", "to", "with", "municipality",
		NULL };
	static const char *const da[] = { "status", NULL };
	struct list_ctx l = { d, c, id, txn, a, kind, NULL, "", 0 };
	const char *field = NULL, *value = NULL, *from = NULL, *to = NULL;
	char v[NAME_MAX_LEN + 1], f[16] = "", t[16] = "";
	int rc;

	rc = args_only(a, kind == 'o' ? oa : kind == 'c' ? ca : kind == 'm' ?
	    ma : da, msg, mlen);
	if (rc != SL_OK)
		return rc;
	/* The scan: the most selective index the request names. */
	switch (kind) {
	case 'o':
		if (arg_str(a, "kind", v, sizeof v)) {
			if (!word_in(v, org_kinds))
				return fail(msg, mlen, SL_EVALUE, "unknown kind "
				    "\"%s\" (use asf, municipality, authority, "
				    "partner, company or other)", v);
			field = "kind";
		} else if (arg_str(a, "municipality", v, sizeof v)) {
			field = "municipality";
		}
		break;
	case 'c':
		if (arg_str(a, "org", v, sizeof v)) {
			if ((rc = resolve_text(d, txn, "org", v, 'o', l.ref,
			    msg, mlen)) != SL_OK)
				return rc;
			snprintf(v, sizeof v, "%s", l.ref);
			field = "org";
		} else if (arg_str(a, "role", v, sizeof v)) {
			field = "role";
		} else if (arg_str(a, "municipality", v, sizeof v)) {
			field = "municipality";
		}
		break;
	case 'm':
		if (arg_str(a, "from", f, sizeof f) &&
		    (rc = check_date("from", f, msg, mlen)) != SL_OK)
			return rc;
		if (arg_str(a, "to", t, sizeof t) &&
		    (rc = check_date("to", t, msg, mlen)) != SL_OK)
			return rc;
		if (arg_str(a, "with", v, sizeof v)) {
			if ((rc = resolve_text(d, txn, "with", v, 'c', l.ref,
			    msg, mlen)) != SL_OK)
				return rc;
			snprintf(v, sizeof v, "%s", l.ref);
			field = "with";
		} else if (arg_str(a, "municipality", v, sizeof v)) {
			field = "municipality";
		} else {
			from = f[0] ? f : NULL;
			to = t[0] ? t : NULL;
		}
		break;
	case 'd':
		if (arg_str(a, "status", v, sizeof v)) {
			if (!word_in(v, statuses))
				return fail(msg, mlen, SL_EVALUE, "unknown status "
				    "\"%s\" (use proposed, adopted, rejected, "
				    "amended or revoked)", v);
			field = "status";
		}
		break;
	}
	if (field != NULL)
		value = v;
	rc = project_list(d->p, txn, kind, field, value, from, to, list_cb, &l);
	if (rc != SL_OK)
		return fail(msg, mlen, rc, "cannot list: %s", sl_strerror(rc));
	return SL_OK;
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
	struct prec r;
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
	prec_free(&r);
	return SL_OK;
}

struct hist_ctx {
	struct cmd_ctx *d;
	struct ctl_conn *c;
	uint32_t id;
	MDB_txn *txn;
};

static void
pack_event_common(struct cmd_ctx *d, MDB_txn *txn, msgpack_packer *pk,
    struct sl_buf *g, const struct sl_event *ev)
{
	char org[SL_ORG_MAX + 1];

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
	if (ev->payload != NULL && ev->payload_len > 0)
		sl_buf_write(g, (const char *)ev->payload, ev->payload_len);
	else
		msgpack_pack_map(pk, 0);
	sl_pack_cstr(pk, "verified");
	sl_pack_bool(pk, sl_event_check_payload(ev) == SL_OK);
}

static int
history_cb(void *ctx, const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN])
{
	struct hist_ctx *h = ctx;
	struct sl_buf g = { 0 };
	msgpack_packer pk;

	(void)hash;
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 8);
	pack_event_common(h->d, h->txn, &pk, &g, ev);
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
	struct prec r;
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
	rc = audit_build(d->s, d->p, txn, rid, r.kind, d->node, d->org, &b,
	    err, sizeof err);
	prec_free(&r);
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
	msgpack_pack_map(&pk, 15);
	pack_event_common(l->d, l->txn, &pk, &g, &ev);
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
	msgpack_pack_map(&pk, 12);
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

/* Points reference arguments that name an old id of this import at the
 * record made for it. */
static void
remap_refs(struct args *a, const struct remap *m, size_t n)
{
	for (uint32_t i = 0; i < a->n; i++) {
		struct arg *g = &a->a[i];

		if (strcmp(g->name, "org") != 0 && strcmp(g->name, "with") != 0 &&
		    strcmp(g->name, "meeting") != 0)
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

/* The steps that bring a new (proposed) decision to status. */
static const char *const *
status_steps(const char *status)
{
	static const char *const none[] = { NULL };
	static const char *const adopted[] = { "adopted", NULL };
	static const char *const rejected[] = { "rejected", NULL };
	static const char *const amended[] = { "adopted", "amended", NULL };
	static const char *const revoked[] = { "adopted", "revoked", NULL };

	return strcmp(status, "proposed") == 0 ? none :
	    strcmp(status, "adopted") == 0 ? adopted :
	    strcmp(status, "rejected") == 0 ? rejected :
	    strcmp(status, "amended") == 0 ? amended :
	    strcmp(status, "revoked") == 0 ? revoked : NULL;
}

/* One row inside the import's batch.  SL_OK, or an error in msg (dead
 * set when the batch itself failed). */
static int
import_row(struct cmd_ctx *d, struct store_batch *b, const char *author,
    const uint8_t *body, size_t len, struct remap *map, size_t *nmap,
    bool *dead, char *msg, size_t mlen)
{
	MDB_txn *txn = store_batch_txn(b);
	struct args *a = malloc(sizeof *a), *sa = NULL;
	char old[64] = "", status[32] = "", word[16];
	uint8_t id[SL_ID_LEN];
	const char *const *steps = NULL;
	int rc;

	if (a == NULL)
		return SL_ENOMEM;
	if ((rc = args_parse(a, body, len, msg, mlen)) != SL_OK)
		goto out;
	snprintf(word, sizeof word, "%.*s", (int)strcspn(a->cmd, "."), a->cmd);
	if (project_kind(word) == 0 ||
	    strcmp(a->cmd + strlen(word), ".add") != 0) {
		rc = fail(msg, mlen, SL_EUSAGE, "not a record to add");
		goto out;
	}
	arg_take(a, "id", old, sizeof old);
	if (arg_take(a, "status", status, sizeof status) &&
	    (project_kind(word) != 'd' || (steps = status_steps(status)) ==
	    NULL)) {
		rc = fail(msg, mlen, SL_EVALUE, "invalid status \"%s\"", status);
		goto out;
	}
	remap_refs(a, map, *nmap);
	if ((rc = write_add(d, b, txn, a, project_kind(word), author, id, dead,
	    msg, mlen)) != SL_OK)
		goto out;
	if (old[0] != '\0' && strlen(old) == SL_ID_TEXT) {
		memcpy(map[*nmap].old, old, SL_ID_TEXT + 1);
		sl_b32_encode(map[*nmap].now, id, SL_ID_LEN);
		(*nmap)++;
	}
	for (; steps != NULL && *steps != NULL; steps++) {
		char idt[SL_ID_TEXT + 1];
		uint8_t sid[SL_ID_LEN];

		if (sa == NULL && (sa = calloc(1, sizeof *sa)) == NULL) {
			rc = SL_ENOMEM;
			goto out;
		}
		sl_b32_encode(idt, id, SL_ID_LEN);
		memset(sa, 0, sizeof *sa);
		snprintf(sa->cmd, sizeof sa->cmd, "decision.import");
		sa->n = 1;
		snprintf(sa->a[0].name, sizeof sa->a[0].name, "id");
		sa->a[0].type = ARG_STR;
		sa->a[0].s = idt;
		sa->a[0].slen = SL_ID_TEXT;
		if (strcmp(*steps, "amended") == 0) {
			/* The text stays; the status says it was amended. */
			const struct arg *t = arg_get(a, "text");

			if (t == NULL) {
				rc = fail(msg, mlen, SL_EVALUE, "an amended "
				    "decision needs its text");
				goto out;
			}
			sa->a[sa->n++] = *t;
		}
		if ((rc = write_decision_step(d, b, txn, sa, *steps, author, sid,
		    dead, msg, mlen)) != SL_OK)
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
