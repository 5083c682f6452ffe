/*
 * cmd_events.c - the "events" request: the log's records exactly as
 * stored, framed as a raw event export (PROTOCOL.md section 14), for
 * `samlog export --events`.
 *
 * Per origin the file holds a suffix of its chain, up to this node's tip:
 * all of it, or from a seq, or from the first event whose clock is at
 * least a given one (clocks rise along a chain, so a binary search over
 * seqs finds it in O(log n) reads).  The tip is always signed, so every
 * record sent is covered by a signature in the same file.  The file is
 * built in memory and sent in chunks, as audit bundles are: one request,
 * one read transaction, at most SL_EVFILE_MAX bytes.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_int.h"

#define EVENTS_CHUNK (512u << 10)

struct pick {
	const struct store_tip *t;
	uint64_t first;
	bool wanted;
};

static int
pick_cmp(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;

	return memcmp(x->t->origin, y->t->origin, SL_KEY_LEN);
}

/* The clock of origin's event seq, or SL_E*. */
static int
event_hlc(struct cmd_ctx *d, MDB_txn *txn, const uint8_t *origin,
    uint64_t seq, uint64_t *hlc)
{
	const uint8_t *rec;
	size_t len;
	struct sl_event ev;
	int rc;

	if ((rc = store_txn_event(d->s, txn, origin, seq, &rec, &len)) !=
	    SL_OK)
		return rc;
	if (sl_event_decode(&ev, rec, len) != SL_OK)
		return SL_ESTORE;
	*hlc = ev.hlc;
	return SL_OK;
}

/* Marks the origins one --origin piece (a node id prefix) names. */
static int
pick_origin(struct pick *p, size_t n, const char *s, size_t len, char *msg,
    size_t mlen)
{
	char want[SL_NODE_ID_TEXT + 1], id[SL_NODE_ID_TEXT + 1];
	struct pick *hit = NULL;

	while (len > 0 && s[0] == ' ')
		s++, len--;
	while (len > 0 && s[len - 1] == ' ')
		len--;
	if (len < 4 || len > SL_NODE_ID_TEXT || !sl_b32_valid_prefix(s, len))
		return cmd_fail(msg, mlen, SL_EUSAGE, "invalid --origin \"%.*s\" "
		    "(a node id, or 4 or more of its first characters)",
		    (int)(len < 64 ? len : 64), s);
	for (size_t i = 0; i < len; i++)
		want[i] = (char)tolower((unsigned char)s[i]);
	for (size_t i = 0; i < n; i++) {
		sl_b32_encode(id, p[i].t->origin, SL_KEY_LEN);
		if (memcmp(id, want, len) != 0)
			continue;
		if (hit != NULL)
			return cmd_fail(msg, mlen, SL_EAMBIG, "--origin \"%.*s\" "
			    "is the beginning of several origins' ids: give "
			    "more of it", (int)len, s);
		hit = &p[i];
	}
	if (hit == NULL)
		return cmd_fail(msg, mlen, SL_ENOENT, "no origin \"%.*s\" in this "
		    "node's log", (int)len, s);
	hit->wanted = true;
	return SL_OK;
}

/* --origin: elements, each maybe a comma list; none: every origin. */
static int
pick_origins(struct pick *p, size_t n, const struct arg *g, char *msg,
    size_t mlen)
{
	uint32_t ne = g == NULL ? 0 : g->type == ARG_ARR ? g->n : 1;
	int rc;

	for (size_t i = 0; i < n; i++)
		p[i].wanted = g == NULL;
	for (uint32_t k = 0; k < ne; k++) {
		const char *s = g->type == ARG_ARR ? g->e[k] : g->s;
		size_t len = g->type == ARG_ARR ? g->elen[k] : g->slen;

		while (len > 0) {
			const char *comma = memchr(s, ',', len);
			size_t pl = comma ? (size_t)(comma - s) : len;

			if ((rc = pick_origin(p, n, s, pl, msg, mlen)) != SL_OK)
				return rc;
			len -= pl + (comma != NULL);
			s += pl + (comma != NULL);
		}
	}
	return SL_OK;
}

/* --since as the CLI sends it: a seq (digits), or a time. */
static int
parse_since(const struct args *a, uint64_t *seq, uint64_t *hlc, char *msg,
    size_t mlen)
{
	const struct arg *g = cmd_arg_get(a, "since");
	char text[64];
	int64_t ms;
	size_t i;

	*seq = *hlc = 0;
	if (g == NULL)
		return SL_OK;
	if (g->type != ARG_STR || g->slen == 0 || g->slen >= sizeof text)
		return cmd_fail(msg, mlen, SL_EUSAGE, "invalid --since");
	memcpy(text, g->s, g->slen);
	text[g->slen] = '\0';
	for (i = 0; isdigit((unsigned char)text[i]); i++)
		;
	if (i <= 18 && text[i] == '\0') {
		if ((*seq = strtoull(text, NULL, 10)) == 0)
			return cmd_fail(msg, mlen, SL_EUSAGE, "invalid --since "
			    "\"0\": seqs begin at 1");
		return SL_OK;
	}
	if (sl_time_parse(text, &ms, NULL) != SL_OK || ms < 0 ||
	    (uint64_t)ms >= (1ull << 48))
		return cmd_fail(msg, mlen, SL_EUSAGE, "invalid --since \"%s\" (a "
		    "time, a day or a seq)", text);
	*hlc = (uint64_t)ms << 16;
	return SL_OK;
}

/* The first seq of p's origin to send, or 0 for none. */
static int
first_seq(struct cmd_ctx *d, MDB_txn *txn, struct pick *p, uint64_t since_seq,
    uint64_t since_hlc)
{
	uint64_t lo = since_seq > 0 ? since_seq : 1, hi = p->t->seq, h;
	int rc;

	p->first = 0;
	if (lo > hi)
		return SL_OK;
	if (since_hlc > 0) {
		if ((rc = event_hlc(d, txn, p->t->origin, hi, &h)) != SL_OK)
			return rc;
		if (h < since_hlc)
			return SL_OK;
		/* The smallest seq in [lo, hi] whose clock is not below. */
		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;

			if ((rc = event_hlc(d, txn, p->t->origin, mid, &h)) !=
			    SL_OK)
				return rc;
			if (h >= since_hlc)
				hi = mid;
			else
				lo = mid + 1;
		}
	}
	p->first = lo;
	return SL_OK;
}

static int
send_chunks(struct ctl_conn *c, uint32_t id, const struct sl_buf *b,
    char *msg, size_t mlen)
{
	for (size_t off = 0; off < b->len; off += EVENTS_CHUNK) {
		size_t n = b->len - off < EVENTS_CHUNK ? b->len - off :
		    EVENTS_CHUNK;
		struct sl_buf g = { 0 };
		msgpack_packer pk;

		msgpack_packer_init(&pk, &g, sl_buf_write);
		msgpack_pack_map(&pk, 1);
		sl_pack_cstr(&pk, "data");
		sl_pack_bin(&pk, b->p + off, n);
		if (g.failed)
			return cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
		ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
		free(g.p);
	}
	return SL_OK;
}

int
cmd_events(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id, MDB_txn *txn,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "origin", "since", NULL };
	size_t n = store_origin_count(d->s), k = 0;
	struct pick *p = calloc(n ? n : 1, sizeof *p);
	struct sl_evfile_origin *o = calloc(n ? n : 1, sizeof *o);
	struct sl_buf b = { 0 };
	uint64_t since_seq, since_hlc, count = 0;
	char oid[SL_NODE_ID_TEXT + 1];
	int rc;

	if (p == NULL || o == NULL) {
		rc = cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK ||
	    (rc = parse_since(a, &since_seq, &since_hlc, msg, mlen)) != SL_OK)
		goto out;
	/* Origins known but without events (a member that never wrote)
	 * have nothing to send. */
	for (size_t i = 0; i < n; i++)
		if (store_tip_at(d->s, i)->seq > 0)
			p[k++].t = store_tip_at(d->s, i);
	qsort(p, k, sizeof *p, pick_cmp);
	if ((rc = pick_origins(p, k, cmd_arg_get(a, "origin"), msg, mlen)) !=
	    SL_OK)
		goto out;
	n = 0;
	for (size_t i = 0; i < k; i++) {
		if (!p[i].wanted)
			continue;
		if ((rc = first_seq(d, txn, &p[i], since_seq, since_hlc)) !=
		    SL_OK) {
			sl_b32_encode(oid, p[i].t->origin, SL_KEY_LEN);
			rc = cmd_fail(msg, mlen, rc, "cannot read origin %.16s's "
			    "chain: the store is damaged (run samlog verify)",
			    oid);
			goto out;
		}
		if (p[i].first == 0)
			continue;
		o[n++] = (struct sl_evfile_origin){ p[i].t->origin, p[i].first,
			p[i].t->seq, p[i].t->hash };
	}
	sl_evfile_begin(&b, sl_now_ms(), since_hlc, since_seq, o, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		for (uint64_t q = o[i].first; q <= o[i].tip; q++) {
			const uint8_t *rec;
			size_t len;

			if (store_txn_event(d->s, txn, o[i].origin, q, &rec,
			    &len) != SL_OK) {
				sl_b32_encode(oid, o[i].origin, SL_KEY_LEN);
				rc = cmd_fail(msg, mlen, SL_ESTORE, "cannot read "
				    "origin %.16s seq %llu: the store is damaged "
				    "(run samlog verify)", oid,
				    (unsigned long long)q);
				goto out;
			}
			sl_evfile_record(&b, rec, len);
			count++;
			if (b.len > SL_EVFILE_MAX - 64) {
				rc = cmd_fail(msg, mlen, SL_ESIZE, "the export "
				    "would exceed %zu MiB: export a part of the "
				    "log (--origin, --since)", SL_EVFILE_MAX >> 20);
				goto out;
			}
		}
	sl_evfile_end(&b, count);
	if (b.failed) {
		rc = cmd_fail(msg, mlen, SL_ENOMEM, "out of memory");
		goto out;
	}
	rc = send_chunks(c, id, &b, msg, mlen);
out:
	free(b.p);
	free(p);
	free(o);
	return rc;
}
