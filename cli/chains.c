/*
 * chains.c - the chain checks of the offline checkers (chains.h): what a
 * node checks of records at ingest (PROTOCOL.md sections 6 and 11.2),
 * run over a whole file at once.
 *
 * The records are sorted by (origin, seq); each is checked against the
 * one standing before it in its chain, then coverage is found walking
 * each origin backwards from its signed events.  Where two records share
 * an (origin, seq), the one the next seq links to stands for it, so that
 * a fork is one problem and not a fork and a broken link.  Each problem
 * is reported once, where it is: a bad signature is not reported again
 * as the events it fails to cover.  O(n log n) for the sort, one
 * signature verification per signed record.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chains.h"

const char *
chain_short_id(const uint8_t *k, char out[SL_NODE_ID_TEXT + 1])
{
	sl_b32_encode(out, k, SL_KEY_LEN);
	out[8] = '\0';
	return out;
}

static int
ev_cmp(const void *a, const void *b)
{
	const struct chain_ev *x = a, *y = b;
	int c = memcmp(x->ev.origin, y->ev.origin, SL_KEY_LEN);

	if (c != 0)
		return c;
	if (x->ev.seq != y->ev.seq)
		return x->ev.seq < y->ev.seq ? -1 : 1;
	return memcmp(x->hash, y->hash, SL_HASH_LEN);
}

static bool
same_origin(const struct chain_ev *a, const struct chain_ev *b)
{
	return memcmp(a->ev.origin, b->ev.origin, SL_KEY_LEN) == 0;
}

struct run {
	const struct chain_opts *o;
	uint32_t n;
	bool stop;
};

static void
problem(struct run *r, struct chain_ev *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct run *r, struct chain_ev *e, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (r->stop)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	e->bad = true;
	r->n++;
	r->stop = !r->o->report(r->o->ctx, msg);
}

/* Where several records share ev[i]'s (origin, seq), moves the one the
 * next seq links to to ev[i]. */
static void
pick_linked(struct chain_ev *ev, uint32_t n, uint32_t i)
{
	uint32_t j = i + 1;

	while (j < n && same_origin(&ev[j], &ev[i]) &&
	    ev[j].ev.seq == ev[i].ev.seq)
		j++;
	if (j == i + 1 || j == n || !same_origin(&ev[j], &ev[i]) ||
	    ev[j].ev.seq != ev[i].ev.seq + 1)
		return;
	for (uint32_t k = i; k < j; k++)
		if (memcmp(ev[k].hash, ev[j].ev.prev, SL_HASH_LEN) == 0) {
			struct chain_ev t = ev[i];

			ev[i] = ev[k];
			ev[k] = t;
			return;
		}
}

/* The forward pass: twins, links, gaps, signatures, clocks, content. */
static void
check_links(struct run *r, struct chain_ev *ev, uint32_t n,
    uint32_t *norigins, uint32_t *nsigs, bool *sig_ok)
{
	const struct chain_opts *o = r->o;
	const struct chain_ev *rep = NULL;
	char id[SL_NODE_ID_TEXT + 1], msg[256], why[200];

	for (uint32_t i = 0; i < n && !r->stop; i++) {
		struct chain_ev *e = &ev[i];
		bool same = rep != NULL && same_origin(rep, e);
		unsigned long long seq = e->ev.seq;

		chain_short_id(e->ev.origin, id);
		if (!same)
			(*norigins)++;
		if (same && rep->ev.seq == e->ev.seq) {
			e->twin = true;
			if (memcmp(rep->hash, e->hash, SL_HASH_LEN) == 0) {
				problem(r, e, "two records for origin %s seq "
				    "%llu: the same event twice", id, seq);
			} else {
				char h1[SL_NODE_ID_TEXT + 1], h2[SL_NODE_ID_TEXT + 1];

				sl_b32_encode(h1, rep->hash, SL_HASH_LEN);
				sl_b32_encode(h2, e->hash, SL_HASH_LEN);
				problem(r, e, "two records for origin %s seq "
				    "%llu: a fork (the origin made two events "
				    "%.12s and %.12s for one seq)", id, seq, h1,
				    h2);
			}
			continue;
		}
		pick_linked(ev, n, i);
		if (same && rep->ev.seq + 1 == e->ev.seq &&
		    memcmp(e->ev.prev, rep->hash, SL_HASH_LEN) != 0)
			problem(r, e, "origin %s seq %llu does not link to seq "
			    "%llu: its chain is broken", id, seq,
			    (unsigned long long)rep->ev.seq);
		if (o->contiguous && same && rep->ev.seq + 1 < e->ev.seq) {
			if (rep->ev.seq + 2 == e->ev.seq)
				problem(r, e, "origin %s seq %llu is missing: the "
				    "chain breaks between seq %llu and %llu", id,
				    seq - 1, seq - 2, seq);
			else
				problem(r, e, "origin %s seq %llu to %llu are "
				    "missing: the chain breaks between seq %llu "
				    "and %llu", id,
				    (unsigned long long)rep->ev.seq + 1, seq - 1,
				    (unsigned long long)rep->ev.seq, seq);
		}
		if (e->ev.sig != NULL) {
			if ((sig_ok[i] = sl_verify_hash(e->ev.sig, e->ev.origin,
			    e->hash)))
				(*nsigs)++;
			else
				problem(r, e, "origin %s seq %llu: the signature "
				    "does not verify", id, seq);
		} else if (e->ev.seq % SL_SIGN_INTERVAL == 0) {
			problem(r, e, "origin %s seq %llu must be signed and is "
			    "not", id, seq);
		}
		if (o->each != NULL && !r->stop && !o->each(o->ctx, e, msg,
		    sizeof msg))
			problem(r, e, "%s", msg);
		/* What every node refuses at ingest (11.2) no node holds: a
		 * clock that does not rise along the chain, or content that
		 * breaks the rules (the checker's fold would otherwise show
		 * what no node shows). */
		if (same && rep->ev.seq + 1 == e->ev.seq &&
		    e->ev.hlc <= rep->ev.hlc)
			problem(r, e, "origin %s seq %llu: its clock is not after "
			    "seq %llu's", id, seq,
			    (unsigned long long)rep->ev.seq);
		if (sl_schema_check_event(e->ev.type, e->ev.type_len,
		    e->ev.entity, e->ev.n_parents, e->ev.payload,
		    e->ev.payload_len, e->ev.hlc, why, sizeof why) != SL_OK ||
		    sl_schema_check_opens(e->ev.type, e->ev.type_len,
		    e->ev.opens, e->ev.opens_len, why, sizeof why) != SL_OK)
			problem(r, e, "origin %s seq %llu: %.*s: %s", id, seq,
			    (int)e->ev.type_len, e->ev.type, why);
		rep = e;
	}
}

/* Coverage, from each origin's end backwards: a record is covered by its
 * own good signature or by the record after it, if that links to it. */
static void
check_cover(struct run *r, struct chain_ev *ev, uint32_t n, const bool *sig_ok)
{
	const struct chain_ev *nx = NULL;
	char id[SL_NODE_ID_TEXT + 1];

	for (uint32_t i = n; i-- > 0 && !r->stop;) {
		struct chain_ev *e = &ev[i];
		bool follows;

		if (e->twin)
			continue;
		follows = nx != NULL && same_origin(nx, e) &&
		    nx->ev.seq == e->ev.seq + 1;
		if (sig_ok[i])
			e->covered_by = e->ev.seq;
		else if (follows && memcmp(nx->ev.prev, e->hash,
		    SL_HASH_LEN) == 0)
			e->covered_by = nx->covered_by;
		else
			e->covered_by = 0;
		/* Reported once, at the top of its run, and only when no
		 * other problem (a bad signature, a broken link) is why. */
		if (e->covered_by == 0 && e->ev.sig == NULL && !follows)
			problem(r, e, "origin %s seq %llu is not covered by a "
			    "signature", chain_short_id(e->ev.origin, id),
			    (unsigned long long)e->ev.seq);
		nx = e;
	}
}

uint32_t
chains_check(struct chain_ev *ev, uint32_t n, const struct chain_opts *o,
    uint32_t *norigins, uint32_t *nsigs)
{
	struct run r = { o, 0, false };
	bool *sig_ok = calloc(n ? n : 1, sizeof *sig_ok);

	*norigins = *nsigs = 0;
	if (sig_ok == NULL) {
		r.n = 1;
		o->report(o->ctx, "out of memory");
		return r.n;
	}
	qsort(ev, n, sizeof *ev, ev_cmp);
	check_links(&r, ev, n, norigins, nsigs, sig_ok);
	if (!r.stop)
		check_cover(&r, ev, n, sig_ok);
	free(sig_ok);
	return r.n;
}

void
chain_origin_org(const struct chain_ev *evs, uint32_t nev,
    const uint8_t *origin, const char **org, uint32_t *len)
{
	uint64_t best = 0;

	*org = "";
	*len = 0;
	for (uint32_t i = 0; i < nev; i++) {
		const struct sl_event *ev = &evs[i].ev;
		struct sl_mp m;
		uint32_t n, kl;
		const char *k, *v;

		if (memcmp(ev->origin, origin, SL_KEY_LEN) != 0 ||
		    ev->payload == NULL || ev->type_len != 8 ||
		    memcmp(ev->type, "node.org", 8) != 0 || ev->hlc < best)
			continue;
		sl_mp_init(&m, ev->payload, ev->payload_len);
		if (sl_mp_read_map(&m, &n, 16) != SL_OK)
			continue;
		for (uint32_t f = 0; f < n; f++) {
			uint32_t vl;

			if (sl_mp_read_str(&m, &k, &kl, 1, 64) != SL_OK)
				break;
			if (kl != 3 || memcmp(k, "org", 3) != 0) {
				if (sl_mp_skip(&m, NULL, NULL) != SL_OK)
					break;
				continue;
			}
			if (sl_mp_read_str(&m, &v, &vl, 1, SL_ORG_MAX) == SL_OK &&
			    sl_utf8_valid(v, vl)) {
				*org = v;
				*len = vl;
				best = ev->hlc;
			}
			break;
		}
	}
}
