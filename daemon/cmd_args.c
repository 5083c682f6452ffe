/*
 * cmd_args.c - replies, and requests as the CLI sends them: a request is
 * {"cmd": NAME, "args": {FLAG: VALUE}} where a value is a string, an array
 * of strings (repeated flags) or true (switches).  Values are checked by
 * the schema (protocol/schema.c) with messages that name the flag; ids
 * are resolved by any unique prefix.
 */
#include <ctype.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_int.h"

/* ---- small helpers ----------------------------------------------------- */

void
cmd_reply_result(struct ctl_conn *c, uint32_t id, int code, const char *msg,
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

void
cmd_reply_end(struct ctl_conn *c, uint32_t id)
{
	static const uint8_t nil = 0xc0;

	ctl_send(c, SL_MSG_END, id, &nil, 1);
}

int
cmd_fail(char *msg, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

int
cmd_fail(char *msg, size_t len, int code, const char *fmt, ...)
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

int
cmd_args_parse(struct args *a, const uint8_t *body, size_t len, char *msg,
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
		return cmd_fail(msg, mlen, SL_EUSAGE, "malformed request");
	for (uint32_t i = 0; i < n; i++) {
		if (sl_mp_read_str(&m, &s, &sl, 1, 16) != SL_OK)
			return cmd_fail(msg, mlen, SL_EUSAGE, "malformed request");
		if (sl == 3 && memcmp(s, "cmd", 3) == 0) {
			if (sl_mp_read_str(&m, &s, &sl, 1, sizeof a->cmd - 1) !=
			    SL_OK || !word_ok(s, sl))
				return cmd_fail(msg, mlen, SL_EUSAGE, "malformed "
				    "command");
			memcpy(a->cmd, s, sl);
			have_cmd = true;
			continue;
		}
		if (sl != 4 || memcmp(s, "args", 4) != 0 ||
		    sl_mp_read_map(&m, &na, MAX_ARGS) != SL_OK)
			return cmd_fail(msg, mlen, SL_EUSAGE, "malformed request");
		for (uint32_t j = 0; j < na; j++) {
			/* "args" may come more than once: count them all. */
			if (a->n == MAX_ARGS)
				return cmd_fail(msg, mlen, SL_EUSAGE, "too many "
				    "arguments");
			struct arg *g = &a->a[a->n++];
			bool t;

			if (sl_mp_read_str(&m, &s, &sl, 1, sizeof g->name - 1) !=
			    SL_OK || !word_ok(s, sl))
				return cmd_fail(msg, mlen, SL_EUSAGE, "malformed "
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
						return cmd_fail(msg, mlen, SL_EUSAGE,
						    "malformed value of --%s",
						    g->name);
			} else {
				return cmd_fail(msg, mlen, SL_EUSAGE, "malformed "
				    "value of --%s", g->name);
			}
		}
	}
	if (!have_cmd || !sl_mp_at_end(&m))
		return cmd_fail(msg, mlen, SL_EUSAGE, "malformed request");
	return SL_OK;
}

const struct arg *
cmd_arg_get(const struct args *a, const char *name)
{
	for (uint32_t i = 0; i < a->n; i++)
		if (strcmp(a->a[i].name, name) == 0)
			return &a->a[i];
	return NULL;
}

/* A single string argument copied into out; false if absent. */
bool
cmd_arg_str(const struct args *a, const char *name, char *out, size_t outlen)
{
	const struct arg *g = cmd_arg_get(a, name);

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
int
cmd_args_only(const struct args *a, const char *const *allowed, char *msg,
    size_t mlen)
{
	for (uint32_t i = 0; i < a->n; i++) {
		bool ok = false;

		for (const char *const *p = allowed; *p && !ok; p++)
			ok = strcmp(*p, a->a[i].name) == 0;
		if (!ok)
			return cmd_fail(msg, mlen, SL_EUSAGE, "unknown flag '--%s' "
			    "for %s", a->a[i].name, a->cmd);
	}
	return SL_OK;
}

/* ---- value rules ------------------------------------------------------------ */

/* A field's text as the user typed it, checked by the schema; the
 * message names the flag and, where it helps, what would do. */
int
cmd_check_field(const struct sl_field *f, const char *s, size_t n, char *msg,
    size_t mlen)
{
	char why[160];

	if (sl_schema_check_text(f, s, n, why, sizeof why) == SL_OK)
		return SL_OK;
	switch (f->type) {
	case SL_F_DATE:
		return cmd_fail(msg, mlen, SL_EVALUE, "invalid date \"%.*s\" for "
		    "--%s (use YYYY-MM-DD, e.g. 2019-11-14)", (int)n, s,
		    f->flag);
	case SL_F_EMAIL:
		if (n > 0 && n <= f->max)
			return cmd_fail(msg, mlen, SL_EVALUE, "invalid email "
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
			return cmd_fail(msg, mlen, SL_EVALUE, "unknown %s \"%.*s\" "
			    "(use %s)", f->name, (int)n, s, list);
		break;
	}
	default:
		break;
	}
	return cmd_fail(msg, mlen, SL_EVALUE, "--%s %s", f->flag, why);
}

int
cmd_check_date(const char *flag, const char *s, char *msg, size_t mlen)
{
	static const struct sl_field date = { "date", NULL, SL_F_DATE, 10, 0,
		NULL, NULL, 0, NULL };
	struct sl_field f = date;

	f.flag = flag;
	return cmd_check_field(&f, s, strlen(s), msg, mlen);
}

/* "org or contact" for kinds "oc" ("record" for any). */
static void
kinds_words(const char *kinds, char *out, size_t len)
{
	size_t n = kinds ? strlen(kinds) : 0;

	if (n == 0) {
		snprintf(out, len, "record");
		return;
	}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(out);

		snprintf(out + used, len - used, "%s%s", i == 0 ? "" :
		    i + 1 == n ? " or " : ", ", project_kind_word(kinds[i]));
	}
}

/* Resolves what the user typed (an id prefix or a name) to a record of
 * one of kinds; the message names flag. */
int
cmd_resolve(struct cmd_ctx *d, MDB_txn *txn, const char *flag, const char *text,
    const char *kinds, uint8_t id[SL_ID_LEN], char *msg, size_t mlen)
{
	char cands[512], what[64];
	int rc = project_resolve(d->p, txn, text, kinds, id, cands, sizeof cands);

	kinds_words(kinds, what, sizeof what);
	switch (rc) {
	case SL_OK:
		return SL_OK;
	case SL_EINVAL:
		return cmd_fail(msg, mlen, SL_EVALUE, "%s%s\"%s\" is neither an id "
		    "nor a name", flag ? "--" : "", flag ? flag : "", text);
	case SL_ENOENT:
		return cmd_fail(msg, mlen, SL_ENOENT, "no %s with id or name "
		    "\"%s\"%s%s%s", what, text, flag ? " (--" : "",
		    flag ? flag : "", flag ? ")" : "");
	case SL_EAMBIG:
		if (flag)
			return cmd_fail(msg, mlen, SL_EAMBIG, "--%s \"%s\" matches "
			    "more than one %s: %s (give more of the id)", flag,
			    text, what, cands);
		return cmd_fail(msg, mlen, SL_EAMBIG, "\"%s\" matches more than "
		    "one %s: %s (give more of the id)", text, what, cands);
	default:
		return cmd_fail(msg, mlen, SL_ESTORE, "cannot read the records");
	}
}

void
cmd_local_day(char out[11])
{
	/* Once a second at most: an import asks for every row. */
	static time_t last = (time_t)-1;
	static char day[11];
	time_t t = time(NULL);
	struct tm tm;

	if (t != last) {
		if (localtime_r(&t, &tm) == NULL ||
		    strftime(day, sizeof day, "%Y-%m-%d", &tm) == 0)
			day[0] = '\0';
		last = t;
	}
	memcpy(out, day, sizeof day);
}

/* Resolves an id argument and writes the full id text into out. */
int
cmd_resolve_text(struct cmd_ctx *d, MDB_txn *txn, const char *flag,
    const char *text, const char *kinds, char out[SL_ID_TEXT + 1], char *msg,
    size_t mlen)
{
	uint8_t id[SL_ID_LEN];
	int rc = cmd_resolve(d, txn, flag, text, kinds, id, msg, mlen);

	if (rc == SL_OK)
		sl_b32_encode(out, id, SL_ID_LEN);
	return rc;
}
