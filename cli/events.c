/*
 * events.c - samlog export --events FILE, and samlog verify --file FILE:
 * the log's records exactly as stored, for auditors who are not members
 * (PROTOCOL.md section 14).
 *
 * samlogd frames the file (daemon/cmd_events.c); the CLI checks every
 * file it writes before writing it, as it does audit bundles, and checks
 * any file offline with nothing but the file.  Unlike a bundle's check,
 * which stops at the first problem, this one reports every problem it
 * finds, one line each, so that an auditor sees at once what is wrong
 * and where (a changed payload is the trailer's problem and that
 * record's).  Only a file whose frame does not read (not an export, cut
 * short) is one problem and nothing more.
 *
 * What it checks is the nodes' own checks: the chains (cli/chains.c,
 * shared with the bundle checker), and the fold of protocol/record.c
 * through its in-memory backend, the same code samlogd folds with.  What
 * it cannot check is who holds each key: pins.c.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chains.h"
#include "events.h"
#include "fileio.h"
#include "request.h"
#include "samlog_proto.h"

/* Problems printed before the rest are only counted. */
#define PROBLEMS_SHOWN 100

struct evcheck {
	const char *file;
	bool quiet;              /* keep the first problem in first[] */
	char first[512];
	uint32_t nproblems;
	struct sl_evfile f;
	struct chain_ev *ev;     /* the records that decode */
	uint32_t nev;
	uint32_t norigins, nsigs, erased, records, waiting;
	uint64_t first_hlc, last_hlc;
	struct sl_fold_mem *fold;
	/* The membership the file's events make, from the federation's
	 * founder (PROTOCOL.md 14.2): none in an export of an older log. */
	bool has_ms;
	struct sl_members ms;
	uint32_t cut;            /* events after a cut-off: evidence only */
};

static bool
report(void *ctx, const char *problem)
{
	struct evcheck *c = ctx;

	if (c->nproblems++ == 0)
		snprintf(c->first, sizeof c->first, "%s", problem);
	if (!c->quiet && c->nproblems <= PROBLEMS_SHOWN)
		cli_error("%s: %s", c->file, problem);
	return true;
}

static void
problem(struct evcheck *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct evcheck *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	report(c, msg);
}

/* Each record decoded, its body against its payload hash. */
static bool
decode_all(struct evcheck *c)
{
	char id[SL_NODE_ID_TEXT + 1];

	if ((c->ev = calloc(c->f.nrecs ? c->f.nrecs : 1, sizeof *c->ev)) ==
	    NULL)
		return false;
	for (uint32_t i = 0; i < c->f.nrecs; i++) {
		struct chain_ev *e = &c->ev[c->nev];
		int rc = sl_event_decode(&e->ev, c->f.recs[i].p, c->f.recs[i].len);

		if (rc != SL_OK) {
			problem(c, "record %u (at byte %zu) does not decode: %s",
			    i + 1, c->f.recs[i].at, sl_strerror(rc));
			continue;
		}
		sl_event_hash(e->hash, &e->ev);
		if (sl_event_check_payload(&e->ev) != SL_OK) {
			problem(c, "origin %s seq %llu: the payload does not "
			    "match its hash", chain_short_id(e->ev.origin, id),
			    (unsigned long long)e->ev.seq);
			e->bad = true;
		}
		c->erased += e->ev.payload == NULL;
		c->nev++;
	}
	return true;
}

/*
 * Each origin's records (sorted by chains_check, twins after the record
 * standing for their seq) against its head entry: from first to tip,
 * ending on the tip's hash; and no record of an origin the head does
 * not name.
 */
static void
check_heads(struct evcheck *c)
{
	char id[SL_NODE_ID_TEXT + 1];
	uint32_t i = 0;

	for (uint32_t k = 0; k < c->f.norigins; k++) {
		const struct sl_evfile_origin *o = &c->f.origins[k];

		chain_short_id(o->origin, id);
		/* Records of origins before this one in key order that the
		 * head does not name. */
		while (i < c->nev && memcmp(c->ev[i].ev.origin, o->origin,
		    SL_KEY_LEN) < 0) {
			uint32_t j = i;
			char other[SL_NODE_ID_TEXT + 1];

			while (j < c->nev && memcmp(c->ev[j].ev.origin,
			    c->ev[i].ev.origin, SL_KEY_LEN) == 0)
				j++;
			problem(c, "origin %s has %u records but is not in the "
			    "file's head", chain_short_id(c->ev[i].ev.origin,
			    other), j - i);
			i = j;
		}
		const struct chain_ev *lo = NULL, *hi = NULL;

		for (; i < c->nev && memcmp(c->ev[i].ev.origin, o->origin,
		    SL_KEY_LEN) == 0; i++)
			if (!c->ev[i].twin) {
				lo = lo != NULL ? lo : &c->ev[i];
				hi = &c->ev[i];
			}
		if (lo == NULL) {
			problem(c, "origin %s: the head names seq %llu to %llu; "
			    "the file holds none of them", id,
			    (unsigned long long)o->first,
			    (unsigned long long)o->tip);
			continue;
		}
		if (lo->ev.seq > o->first)
			problem(c, "origin %s seq %llu to %llu are missing: the "
			    "head says its records begin at seq %llu", id,
			    (unsigned long long)o->first,
			    (unsigned long long)lo->ev.seq - 1,
			    (unsigned long long)o->first);
		else if (lo->ev.seq < o->first)
			problem(c, "origin %s seq %llu is before seq %llu, where "
			    "the head says its records begin", id,
			    (unsigned long long)lo->ev.seq,
			    (unsigned long long)o->first);
		if (hi->ev.seq < o->tip)
			problem(c, "origin %s ends at seq %llu, before its tip, "
			    "seq %llu: the rest of its chain is missing", id,
			    (unsigned long long)hi->ev.seq,
			    (unsigned long long)o->tip);
		else if (hi->ev.seq > o->tip)
			problem(c, "origin %s seq %llu is beyond its tip, seq "
			    "%llu, as the head names it", id,
			    (unsigned long long)hi->ev.seq,
			    (unsigned long long)o->tip);
		else if (memcmp(hi->hash, o->tip_hash, SL_HASH_LEN) != 0)
			problem(c, "origin %s seq %llu is not the tip the head "
			    "names (its hash differs)", id,
			    (unsigned long long)hi->ev.seq);
	}
	if (i < c->nev)
		problem(c, "origin %s has records but is not in the file's "
		    "head", chain_short_id(c->ev[i].ev.origin, id));
}

/* Events in folding order: clock, then origin (as bundle.c folds). */
static int
fold_cmp(const void *a, const void *b)
{
	const struct chain_ev *x = *(struct chain_ev *const *)a;
	const struct chain_ev *y = *(struct chain_ev *const *)b;

	if (x->ev.hlc != y->ev.hlc)
		return x->ev.hlc < y->ev.hlc ? -1 : 1;
	return memcmp(x->ev.origin, y->ev.origin, SL_KEY_LEN);
}

/*
 * The members the file's membership events make (12.1, 12.3), seen from
 * the organisation that founded the federation: the first (in (hlc,
 * origin) order) to admit itself.  An export comes from a member's node,
 * which holds every member's events, so the members, devices and
 * cut-offs are the ones a member's node derives.
 */
static bool
members_all(struct evcheck *c)
{
	const struct sl_mev *founder = NULL;
	struct sl_mev *v = calloc(c->nev ? c->nev : 1, sizeof *v);
	uint32_t n = 0;

	if (v == NULL)
		return false;
	for (uint32_t i = 0; i < c->nev; i++) {
		const struct chain_ev *e = &c->ev[i];

		if (e->twin || e->bad || sl_mev_decode(&e->ev, &v[n]) != SL_OK)
			continue;
		n++;
	}
	for (uint32_t i = 0; i < n; i++)
		if (v[i].type == SL_MEV_ADMIT &&
		    memcmp(v[i].org, v[i].origin, SL_KEY_LEN) == 0 &&
		    (founder == NULL || v[i].hlc < founder->hlc ||
		    (v[i].hlc == founder->hlc && memcmp(v[i].origin,
		    founder->origin, SL_KEY_LEN) < 0)))
			founder = &v[i];
	if (founder != NULL) {
		sl_members_init(&c->ms, founder->origin);
		c->has_ms = true;
		for (uint32_t i = 0; i < n; i++)
			if (sl_members_add(&c->ms, &v[i]) != SL_OK) {
				free(v);
				return false;
			}
		if (sl_members_settle(&c->ms) != SL_OK) {
			free(v);
			return false;
		}
	}
	free(v);
	return true;
}

/*
 * The records through the nodes' fold (protocol/record.c), in the order
 * of their clocks; those already found wrong, and a fork's second
 * event, stay out, as a node keeps them out.  Then what the fold made
 * of them: records created, events waiting for a parent not in the
 * file.
 */
static bool
fold_all(struct evcheck *c)
{
	struct chain_ev **v = calloc(c->nev ? c->nev : 1,
	    sizeof(struct chain_ev *));
	uint32_t n = 0;
	char id[SL_NODE_ID_TEXT + 1];

	if (v == NULL || (c->fold = sl_fold_mem_new()) == NULL) {
		free(v);
		return false;
	}
	/* An event after its signer's cut-off (a retirement, a
	 * revocation) is evidence: a node folds it into nothing. */
	for (uint32_t i = 0; i < c->nev; i++) {
		if (c->ev[i].twin || c->ev[i].bad)
			continue;
		if (c->has_ms && !sl_members_counts(&c->ms, c->ev[i].ev.origin,
		    c->ev[i].ev.seq)) {
			c->cut++;
			continue;
		}
		v[n++] = &c->ev[i];
	}
	qsort(v, n, sizeof(struct chain_ev *), fold_cmp);
	/* Devices' certificates first: their steps are their
	 * organisations' (PROTOCOL.md 12.3). */
	for (uint32_t i = 0; i < n; i++)
		if (sl_fold_mem_certify(c->fold, v[i]->ev.rec,
		    v[i]->ev.rec_len) != SL_OK) {
			free(v);
			return false;
		}
	for (uint32_t i = 0; i < n; i++) {
		int rc = sl_fold_mem_add(c->fold, v[i]->ev.rec, v[i]->ev.rec_len);

		if (rc == SL_ENOMEM) {
			free(v);
			return false;
		}
		if (rc != SL_OK) {
			problem(c, "origin %s seq %llu: the fold refuses it: %s",
			    chain_short_id(v[i]->ev.origin, id),
			    (unsigned long long)v[i]->ev.seq, sl_strerror(rc));
			continue;
		}
		if (c->first_hlc == 0 || v[i]->ev.hlc < c->first_hlc)
			c->first_hlc = v[i]->ev.hlc;
		if (v[i]->ev.hlc > c->last_hlc)
			c->last_hlc = v[i]->ev.hlc;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct sl_evmeta m;

		if (sl_fold_mem_meta(c->fold, v[i]->hash, &m) != SL_OK)
			continue;
		c->waiting += m.status == SL_EV_PENDING;
		c->records += m.status == SL_EV_APPLIED &&
		    v[i]->ev.entity == NULL;
	}
	free(v);
	return true;
}

/* Checks buf; the problems go to report().  False only when memory ran
 * out (reported too). */
static bool
evcheck_run(struct evcheck *c, const uint8_t *buf, size_t len)
{
	char err[256];
	const struct chain_opts opts = { true, report, c, NULL };

	if (sl_evfile_parse(&c->f, buf, len, err, sizeof err) != SL_OK) {
		problem(c, "%s", err);
		return true;
	}
	if (!c->f.hash_ok)
		problem(c, "the trailer's hash does not match: the file was "
		    "changed or damaged after it was made");
	if (c->f.count != c->f.nrecs)
		problem(c, "the trailer counts %llu records; the file holds %u",
		    (unsigned long long)c->f.count, c->f.nrecs);
	if (!decode_all(c)) {
		problem(c, "out of memory");
		return false;
	}
	chains_check(c->ev, c->nev, &opts, &c->norigins, &c->nsigs);
	check_heads(c);
	if (!members_all(c) || !fold_all(c)) {
		problem(c, "out of memory");
		return false;
	}
	return true;
}

static void
evcheck_free(struct evcheck *c)
{
	sl_evfile_free(&c->f);
	free(c->ev);
	sl_fold_mem_free(c->fold);
	if (c->has_ms)
		sl_members_free(&c->ms);
}

bool
events_check_buffer(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct evcheck c = { .file = "-", .quiet = true };

	evcheck_run(&c, buf, len);
	if (c.nproblems > 0)
		snprintf(err, errlen, "%s", c.first);
	evcheck_free(&c);
	return c.nproblems == 0;
}

/* ---- the report ----------------------------------------------------------- */

/* The origins of the head, each with the name it claims. */
static struct ident *
idents(const struct evcheck *c)
{
	struct ident *v = calloc(c->f.norigins ? c->f.norigins : 1, sizeof *v);

	for (uint32_t i = 0; v != NULL && i < c->f.norigins; i++) {
		v[i].key = c->f.origins[i].origin;
		v[i].role = "origin";
		chain_origin_org(c->ev, c->nev, v[i].key, &v[i].org,
		    &v[i].org_len);
		v[i].is_device = c->fold != NULL && sl_fold_mem_device_org(
		    c->fold, v[i].key, v[i].device_of);
	}
	return v;
}

/* The membership history the file holds: each organisation the
 * founder's federation admitted, when and by whom, whether it was
 * retired, and its devices. */
static void
pack_members(msgpack_packer *pk, const struct evcheck *c)
{
	const struct sl_members *ms = &c->ms;
	char fp[SL_FPR_TEXT + 1];
	uint32_t n = 0;

	sl_pack_cstr(pk, "members");
	if (!c->has_ms) {
		msgpack_pack_nil(pk);
		return;
	}
	for (size_t i = 0; i < ms->nm; i++)
		n += ms->m[i].member;
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < ms->nm; i++) {
		const struct sl_member *m = &ms->m[i];
		const char *name = sl_members_name_at(ms, m->org, UINT64_MAX);
		uint32_t nd = 0, nrev = 0;

		if (!m->member)
			continue;
		for (size_t j = 0; j < ms->nd; j++)
			if (memcmp(ms->d[j].org, m->org, SL_KEY_LEN) == 0) {
				nd++;
				nrev += ms->d[j].upto != UINT64_MAX;
			}
		sl_fingerprint(fp, m->org);
		msgpack_pack_map(pk, 7);
		sl_pack_cstr(pk, "name");
		if (name != NULL)
			sl_pack_cstr(pk, name);
		else
			msgpack_pack_nil(pk);
		sl_pack_cstr(pk, "fingerprint");
		sl_pack_cstr(pk, fp);
		sl_pack_cstr(pk, "admitted");
		if (m->since != 0)
			sl_pack_time(pk, m->since);
		else
			sl_pack_cstr(pk, "founded the federation");
		sl_pack_cstr(pk, "admitted_by");
		sl_fingerprint(fp, m->by);
		sl_pack_cstr(pk, fp);
		sl_pack_cstr(pk, "retired");
		if (m->upto != UINT64_MAX)
			sl_pack_time(pk, m->retired_hlc);
		else
			msgpack_pack_nil(pk);
		sl_pack_cstr(pk, "devices");
		msgpack_pack_uint32(pk, nd);
		sl_pack_cstr(pk, "devices_revoked");
		msgpack_pack_uint32(pk, nrev);
	}
}

static void
pack_chains(msgpack_packer *pk, const struct evcheck *c,
    const struct ident *v)
{
	char fp[SL_FPR_TEXT + 1], t[160], h[SL_NODE_ID_TEXT + 1] = "";

	sl_pack_cstr(pk, "chains");
	msgpack_pack_array(pk, c->f.norigins);
	for (uint32_t i = 0; i < c->f.norigins; i++) {
		const struct sl_evfile_origin *o = &c->f.origins[i];

		sl_fingerprint(fp, o->origin);
		msgpack_pack_map(pk, 5);
		sl_pack_cstr(pk, "fingerprint");
		sl_pack_cstr(pk, fp);
		sl_pack_cstr(pk, "claimed_org");
		sl_pack_str(pk, v[i].org, v[i].org_len);
		sl_pack_cstr(pk, "from");
		msgpack_pack_uint64(pk, o->first);
		sl_pack_cstr(pk, "to");
		msgpack_pack_uint64(pk, o->tip);
		sl_pack_cstr(pk, "starts");
		if (o->first == 1) {
			sl_pack_cstr(pk, "at the origin's first event");
			continue;
		}
		/* The first record's prev, which the file cannot check. */
		for (uint32_t k = 0; k < c->nev; k++)
			if (memcmp(c->ev[k].ev.origin, o->origin, SL_KEY_LEN) ==
			    0 && c->ev[k].ev.seq == o->first) {
				sl_b32_encode(h, c->ev[k].ev.prev, SL_HASH_LEN);
				break;
			}
		snprintf(t, sizeof t, "mid-chain: seq %llu's prev %.16s... is "
		    "taken as given", (unsigned long long)o->first, h);
		sl_pack_cstr(pk, t);
	}
}

static const char *const checks_done[] = {
	"the trailer's count and hash",
	"every record decodes strictly",
	"every payload present matches its hash",
	"every chain is whole from its start to the head's tip",
	"no fork: one event for each origin and seq",
	"every signature verifies and covers every event",
	"clocks rise along every chain",
	"the content rules, and the nodes' own fold",
};

static void
pack_summary(struct sl_buf *g, const struct evcheck *c, struct pins *pins)
{
	msgpack_packer pk;
	struct ident *v = idents(c);
	char t[64];

	msgpack_packer_init(&pk, g, sl_buf_write);
	if (v == NULL) {
		g->failed = true;
		return;
	}
	msgpack_pack_map(&pk, 18);
	sl_pack_cstr(&pk, "verified");
	msgpack_pack_true(&pk);
	sl_pack_cstr(&pk, "file");
	sl_pack_cstr(&pk, c->file);
	sl_pack_cstr(&pk, "origins");
	msgpack_pack_uint32(&pk, c->f.norigins);
	sl_pack_cstr(&pk, "events");
	msgpack_pack_uint32(&pk, c->nev);
	sl_pack_cstr(&pk, "signatures");
	msgpack_pack_uint32(&pk, c->nsigs);
	sl_pack_cstr(&pk, "erased");
	msgpack_pack_uint32(&pk, c->erased);
	/* An export of an empty log has no clocks to show. */
	sl_pack_cstr(&pk, "first_time");
	if (c->last_hlc > 0)
		sl_pack_time(&pk, c->first_hlc);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "last_time");
	if (c->last_hlc > 0)
		sl_pack_time(&pk, c->last_hlc);
	else
		msgpack_pack_nil(&pk);
	sl_pack_cstr(&pk, "records");
	msgpack_pack_uint32(&pk, c->records);
	sl_pack_cstr(&pk, "waiting");
	msgpack_pack_uint32(&pk, c->waiting);
	sl_pack_cstr(&pk, "cut");
	msgpack_pack_uint32(&pk, c->cut);
	pack_members(&pk, c);
	sl_pack_cstr(&pk, "exported");
	sl_pack_time(&pk, c->f.time_ms << 16);
	sl_pack_cstr(&pk, "since");
	if (c->f.since_seq > 0) {
		snprintf(t, sizeof t, "seq %llu",
		    (unsigned long long)c->f.since_seq);
		sl_pack_cstr(&pk, t);
	} else if (c->f.since_hlc > 0) {
		sl_pack_time(&pk, c->f.since_hlc);
	} else {
		msgpack_pack_nil(&pk);
	}
	pack_chains(&pk, c, v);
	pins_pack(&pk, pins, v, c->f.norigins);
	sl_pack_cstr(&pk, "checks");
	msgpack_pack_array(&pk, sizeof checks_done / sizeof checks_done[0]);
	for (size_t i = 0; i < sizeof checks_done / sizeof checks_done[0]; i++)
		sl_pack_cstr(&pk, checks_done[i]);
	free(v);
}

static int
print_map(const struct sl_buf *g, const struct output *out)
{
	msgpack_unpacked u;
	int status = 1;

	msgpack_unpacked_init(&u);
	if (!g->failed && msgpack_unpack_next(&u, (const char *)g->p, g->len,
	    NULL) == MSGPACK_UNPACK_SUCCESS) {
		out->begin(stdout, OUT_OBJECT, NULL);
		out->record(stdout, &u.data);
		out->end(stdout);
		status = 0;
	}
	msgpack_unpacked_destroy(&u);
	if (status != 0)
		cli_error("out of memory");
	return status;
}

int
cmd_verify_file(const char *file, struct pins *pins,
    const struct output *out)
{
	struct evcheck c = { .file = file };
	struct sl_buf g = { 0 };
	char *buf;
	size_t len;
	int status = 1;

	if (!file_slurp(file, SL_EVFILE_MAX, &buf, &len))
		return 1;
	evcheck_run(&c, (const uint8_t *)buf, len);
	if (c.nproblems > PROBLEMS_SHOWN)
		cli_error("%s: and %u problems more", file,
		    c.nproblems - PROBLEMS_SHOWN);
	if (c.nproblems == 0) {
		struct ident *v = idents(&c);

		if (v == NULL)
			cli_error("out of memory");
		else if (pins_check(pins, file, v, c.f.norigins) == 0) {
			pack_summary(&g, &c, pins);
			status = print_map(&g, out);
		}
		free(v);
	}
	free(g.p);
	evcheck_free(&c);
	free(buf);
	return status;
}

/* ---- samlog export --events FILE ------------------------------------------ */

static struct sl_buf fetched;

/* --since as samlogd takes it: a seq as typed, or the time (a day: its
 * start, local time) as RFC 3339 UTC.  False with one line printed. */
static bool
since_arg(const char *v, char *out, size_t len)
{
	struct sl_time_parts tp;
	int64_t ms;
	size_t i;

	for (i = 0; isdigit((unsigned char)v[i]); i++)
		;
	if (i > 0 && v[i] == '\0' && i <= 18 && strtoull(v, NULL, 10) > 0) {
		snprintf(out, len, "%s", v);
		return true;
	}
	if (sl_time_parse_parts(v, &tp) != SL_OK ||
	    sl_time_parse(v, &ms, NULL) != SL_OK || ms < 0) {
		cli_error("invalid --since \"%s\" (a time, 2026-12-01T22:06:21"
		    "+01:00, a day, 2026-12-01, or a seq, 1 or more)", v);
		return false;
	}
	sl_time_format_utc(ms, out, len);
	return true;
}

int
cmd_export_events(const char *dir, bool dir_named,
    const struct parse_result *r, const struct output *out)
{
	const char *file = parse_value(r, "events"), *since;
	struct command_def def = *r->def;
	struct parse_result q = { .cmd = CMD_REMOTE, .def = &def };
	struct evcheck c = { .file = file, .quiet = true };
	char sb[64];
	int status;

	def.remote = "events";
	for (size_t i = 0; i < r->nvals; i++)
		if (strcmp(r->vals[i].flag->name, "origin") == 0)
			q.vals[q.nvals++] = r->vals[i];
	if ((since = parse_value(r, "since")) != NULL) {
		size_t k;

		if (!since_arg(since, sb, sizeof sb))
			return 1;
		for (k = 0; k < r->nvals; k++)
			if (strcmp(r->vals[k].flag->name, "since") == 0)
				break;
		q.vals[q.nvals] = r->vals[k];
		q.vals[q.nvals++].value = sb;
	}
	if ((status = request_fetch(dir, dir_named, &q, SL_EVFILE_MAX,
	    &fetched)) != 0)
		goto out;
	status = 1;
	if (fetched.failed || fetched.p == NULL) {
		cli_error("malformed reply from samlogd");
		goto out;
	}
	/* Checked before anyone relies on it, as audit bundles are. */
	evcheck_run(&c, fetched.p, fetched.len);
	if (c.nproblems > 0) {
		cli_error("the export samlogd made does not verify: %s",
		    c.first);
		goto out;
	}
	if (!file_replace(file, fetched.p, fetched.len))
		goto out;
	status = 0;
	if (strcmp(file, "-") == 0)
		goto out;

	struct sl_buf g = { 0 };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 6);
	sl_pack_cstr(&pk, "file");
	sl_pack_cstr(&pk, file);
	sl_pack_cstr(&pk, "origins");
	msgpack_pack_uint32(&pk, c.f.norigins);
	sl_pack_cstr(&pk, "events");
	msgpack_pack_uint32(&pk, c.nev);
	sl_pack_cstr(&pk, "signatures");
	msgpack_pack_uint32(&pk, c.nsigs);
	sl_pack_cstr(&pk, "erased");
	msgpack_pack_uint32(&pk, c.erased);
	sl_pack_cstr(&pk, "bytes");
	msgpack_pack_uint64(&pk, fetched.len);
	status = print_map(&g, out);
	free(g.p);
out:
	evcheck_free(&c);
	free(fetched.p);
	fetched = (struct sl_buf){ 0 };
	return status;
}
