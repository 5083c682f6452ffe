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
	if ((rc = cmd_args_parse(a, body, len, msg, mlen)) != SL_OK)
		goto out;
	if ((et = cmd_write_type(a->cmd)) == NULL || et->role != SL_ET_CREATE) {
		rc = cmd_fail(msg, mlen, SL_EUSAGE, "not a record to add");
		goto out;
	}
	arg_take(a, "id", old, sizeof old);
	if (arg_take(a, "status", status, sizeof status) &&
	    (nsteps = lifecycle_path(et->kind, et->to,
	    sl_schema_state(et->kind, status), steps, 8)) < 0) {
		rc = cmd_fail(msg, mlen, SL_EVALUE, "invalid status \"%s\"", status);
		goto out;
	}
	if (status[0] && sl_schema_state(et->kind, status) == 0) {
		rc = cmd_fail(msg, mlen, SL_EVALUE, "invalid status \"%s\"", status);
		goto out;
	}
	remap_refs(a, map, *nmap);
	if ((rc = cmd_write_add(d, b, txn, a, et, author, id, dead, msg, mlen)) !=
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
			if ((t = cmd_arg_get(a, fd->flag)) == NULL) {
				rc = cmd_fail(msg, mlen, SL_EVALUE, "an %s %s needs "
				    "its %s", sl_schema_state_name(et->kind,
				    st->to), et->kind->word, fd->name);
				goto out;
			}
			sa->a[sa->n++] = *t;
		}
		if ((rc = cmd_write_change(d, b, txn, sa, st, author, sid, dead, msg,
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
	struct remap *map = calloc(x->n, sizeof *map);
	struct sl_buf errs = { 0 };
	struct store_batch *b = NULL;
	uint32_t nerr;
	int rc;

	if (map == NULL) {
		cmd_import_drop(d, x);
		return cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
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
		rc = cmd_fail(msg, mlen, rc, "%s", why);
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
		rc = cmd_fail(msg, mlen, rc, "%s", why[0] ? why : sl_strerror(rc));
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
		rc = cmd_fail(msg, mlen, SL_EVALUE, "%.*s", errs.p ? (int)errs.len :
		    0, errs.p ? (const char *)errs.p : "");
		goto done;
	}
	if ((rc = store_batch_commit(b, why, sizeof why)) == SL_ERETRY)
		goto retry;
	if (rc != SL_OK) {
		rc = cmd_fail(msg, mlen, rc, "%s", why);
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
	cmd_import_drop(d, x);
	return rc;
}

/* Reads an import request: {"cmd": "import.VERB", "args": {"rows": [...]}}
 * (rows only for import.rows).  Returns true if it was one. */
bool
cmd_import_dispatch(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
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
		rc = cmd_fail(msg, sizeof msg, SL_EUSAGE, "malformed request");
	} else if (na == 1) {
		if (sl_mp_read_str(&m, &s, &sl, 4, 4) != SL_OK ||
		    memcmp(s, "rows", 4) != 0 ||
		    sl_mp_skip(&m, &rows, &rlen) != SL_OK || !sl_mp_at_end(&m))
			rc = cmd_fail(msg, sizeof msg, SL_EUSAGE, "malformed "
			    "request");
	}
	if (rc == SL_OK)
		rc = rights_check(c, cmd, msg, sizeof msg);
	if (rc == SL_OK)
		rc = import_request(d, c, id, verb, rows, rlen, msg, sizeof msg);
	cmd_reply_end(c, id);
	cmd_reply_result(c, id, rc, rc == SL_OK ? "ok" : msg[0] ? msg : NULL,
	    NULL);
	return true;
}
