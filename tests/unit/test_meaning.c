/*
 * test_meaning.c - what a hostile member can make the record mean.
 *
 * test_hostile attacks the transport; this suite attacks the meaning.
 * Every event here is validly signed and chained by a member (attacker.h:
 * a real TLS session to a real victim daemon, events forged with any
 * header values on the attacker's own chain), so the store must take or
 * refuse it on its content: what it says, when it says it happened, what
 * it names.  The cases:
 *
 *   1. wrong kind: a decision step naming a contact's id, before and
 *      after the contact in the log, with a 1970 clock and a current one;
 *   2. clocks: an edit three years ahead; one dated before the record it
 *      edits; revocations the lifecycle does not allow; two honest steps
 *      that clash; a chain whose clock does not rise;
 *   3. stripped bodies: another member's events relayed with their
 *      bodies erased, then sent whole;
 *   4. the checker and the nodes: a field name too long for the nodes,
 *      an unknown field and a tie between two origins, folded by
 *      `samlog audit --check` and by the victim;
 *   5. bad payloads: not a map, trailing bytes, a key that is no text, a
 *      non-canonical map, a known field of the wrong type, a control
 *      character, a field over its limit;
 *   6. a parent no one holds.
 *
 * Each test checks everything it expects and reports every deviation at
 * once (struct verdict), so one run says all that is wrong with a case.
 * Every test ends with `samlog verify` clean on the victim.  A first
 * test (test_controls) shows that the checks can pass: a refusal is
 * seen where today's code refuses, a forged event that is well formed is
 * taken, an honest record's bundle checks as the node shows it.
 *
 * Replay one case: TEST_FILTER=test_clock_future build/test_meaning;
 * SAMLOG_KEEP=1 keeps the nodes' directories and logs.
 */
#include <ctype.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "attacker.h"
#include "cluster.h"
#include "samlog_proto.h"
#include "testutil.h"

#define YEAR_MS ((uint64_t)365 * 24 * 3600 * 1000)
/* How long a test waits for an outcome that may never come (today). */
#define OUTCOME_MS 10000

/* ---- a verdict: every deviation of one test, reported at once ---------- */

struct verdict {
	char text[32768];   /* the failures, one line each */
	size_t len;
	int checks, bad;
};

static void
expect(struct verdict *v, bool cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
expect(struct verdict *v, bool cond, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	v->checks++;
	if (cond)
		return;
	v->bad++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (v->len < sizeof v->text) {
		int w = snprintf(v->text + v->len, sizeof v->text - v->len,
		    "  - %s\n", line);

		v->len += w > 0 ? (size_t)w : 0;
	}
}

/* Fails the test if any check failed: the list, then one line. */
static void
verdict_end(const struct verdict *v)
{
	if (v->bad == 0)
		return;
	/* One line at a time: cmocka cuts a message at 1 KiB. */
	print_message("%d of %d checks failed:\n", v->bad, v->checks);
	for (const char *p = v->text; *p != '\0';) {
		size_t n = strcspn(p, "\n");

		print_message("%.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	fail_msg("%d of %d checks failed (listed above)", v->bad, v->checks);
}

/* ---- JSON, as samlog --json prints it ------------------------------------ */

static void
jws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static bool
jstr(const char **p)
{
	const char *s = *p;

	if (*s != '"')
		return false;
	for (s++; *s != '"'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20)           /* a control character, or the end */
			return false;
		if (c != '\\')
			continue;
		s++;
		if (*s == 'u') {
			for (int i = 1; i <= 4; i++)
				if (!isxdigit((unsigned char)s[i]))
					return false;
			s += 4;
		} else if (*s == '\0' || strchr("\"\\/bfnrt", *s) == NULL) {
			return false;
		}
	}
	*p = s + 1;
	return true;
}

static bool
jdigits(const char **p)
{
	if (!isdigit((unsigned char)**p))
		return false;
	while (isdigit((unsigned char)**p))
		(*p)++;
	return true;
}

static bool
jnum(const char **p)
{
	if (**p == '-')
		(*p)++;
	if (**p == '0')
		(*p)++;
	else if (!jdigits(p))
		return false;
	if (**p == '.') {
		(*p)++;
		if (!jdigits(p))
			return false;
	}
	if (**p == 'e' || **p == 'E') {
		(*p)++;
		if (**p == '+' || **p == '-')
			(*p)++;
		if (!jdigits(p))
			return false;
	}
	return true;
}

/* Skips one JSON value (RFC 8259) at *p; false if it is none. */
static bool
jval(const char **p, int depth)
{
	static const char *const words[] = { "true", "false", "null" };
	char open, close;

	jws(p);
	if (depth > 64)
		return false;
	switch (**p) {
	case '"':
		return jstr(p);
	case '{':
	case '[':
		open = **p;
		close = open == '{' ? '}' : ']';
		(*p)++;
		jws(p);
		if (**p == close) {
			(*p)++;
			return true;
		}
		for (;;) {
			jws(p);
			if (open == '{') {
				if (!jstr(p))
					return false;
				jws(p);
				if (**p != ':')
					return false;
				(*p)++;
			}
			if (!jval(p, depth + 1))
				return false;
			jws(p);
			if (**p == close) {
				(*p)++;
				return true;
			}
			if (**p != ',')
				return false;
			(*p)++;
		}
	default:
		for (size_t i = 0; i < 3; i++) {
			size_t n = strlen(words[i]);

			if (strncmp(*p, words[i], n) == 0) {
				*p += n;
				return true;
			}
		}
		return jnum(p);
	}
}

/* True if s is one JSON value and nothing else but white space. */
static bool
json_valid(const char *s)
{
	const char *p = s;

	if (!jval(&p, 0))
		return false;
	jws(&p);
	return *p == '\0';
}

/* The next member of an object: call first with *p at its '{'.  1 with
 * the key (its text between the quotes) and the value's raw text, 0 at
 * the end, -1 if it is not JSON. */
static int
jmember(const char **p, const char **k, size_t *kl, const char **v,
    size_t *vl)
{
	const char *ks;

	jws(p);
	if (**p == '{' || **p == ',') {
		bool first = **p == '{';

		(*p)++;
		jws(p);
		if (first && **p == '}') {
			(*p)++;
			return 0;
		}
	} else if (**p == '}') {
		(*p)++;
		return 0;
	} else {
		return -1;
	}
	ks = *p;
	if (!jstr(p))
		return -1;
	*k = ks + 1;
	*kl = (size_t)(*p - ks) - 2;
	jws(p);
	if (**p != ':')
		return -1;
	(*p)++;
	jws(p);
	*v = *p;
	if (!jval(p, 1))
		return -1;
	*vl = (size_t)(*p - *v);
	return 1;
}

/* The same for the elements of an array (*p first at its '['). */
static int
jelem(const char **p, const char **v, size_t *vl)
{
	jws(p);
	if (**p == '[' || **p == ',') {
		bool first = **p == '[';

		(*p)++;
		jws(p);
		if (first && **p == ']') {
			(*p)++;
			return 0;
		}
	} else if (**p == ']') {
		(*p)++;
		return 0;
	} else {
		return -1;
	}
	*v = *p;
	if (!jval(p, 1))
		return -1;
	*vl = (size_t)(*p - *v);
	return 1;
}

/* The raw text of the value of key in the object obj (its first
 * occurrence at the top level) into out; false (and out "") if there is
 * none. */
static bool
jget(const char *obj, const char *key, char *out, size_t outlen)
{
	const char *p = obj, *k, *v;
	size_t kl, vl;

	out[0] = '\0';
	jws(&p);
	while (jmember(&p, &k, &kl, &v, &vl) == 1) {
		if (kl == strlen(key) && memcmp(k, key, kl) == 0) {
			snprintf(out, outlen, "%.*s", (int)vl, v);
			return true;
		}
	}
	return false;
}

/* A JSON string of s (which holds nothing to escape); rotating
 * buffers. */
static const char *
js(const char *s)
{
	static char buf[8][512];
	static int k;
	char *b = buf[k++ % 8];

	snprintf(b, sizeof buf[0], "\"%s\"", s);
	return b;
}

/* The text inside a JSON string's quotes (nothing escaped in it). */
static void
unquote(char *out, size_t outlen, const char *raw)
{
	size_t n = strlen(raw);

	if (n >= 2 && raw[0] == '"' && raw[n - 1] == '"')
		snprintf(out, outlen, "%.*s", (int)(n - 2), raw + 1);
	else
		snprintf(out, outlen, "%s", raw);
}

/* ---- asking the nodes ------------------------------------------------------ */

/* The raw JSON of key in `samlog KIND show ID --json` on n; if there is
 * none, a text in <> saying why.  Rotating buffers. */
static const char *
shown(const struct node *n, const char *kind, const char *id,
    const char *key)
{
	static char buf[8][4096];
	static int k;
	char *b = buf[k++ % 8];
	struct tu_run *r = sl(n, kind, "show", id, "--json", NULL);

	if (r->status != 0)
		snprintf(b, sizeof buf[0], "<show exited %d: %.*s>", r->status,
		    (int)strcspn(r->err, "\n"), r->err);
	else if (!jget(r->out, key, b, sizeof buf[0]))
		snprintf(b, sizeof buf[0], "<no \"%s\" in: %.300s>", key,
		    r->out);
	return b;
}

/* Expects key of a record on n to be the JSON text want. */
static void
expect_shown(struct verdict *v, const struct node *n, const char *kind,
    const char *id, const char *key, const char *want)
{
	const char *got = shown(n, kind, id, key);

	expect(v, strcmp(got, want) == 0, "%s: %s show %.8s: %s is %.120s, want "
	    "%s", n->name, kind, id, key, got, want);
}

/* Waits up to ms for key of a record on n to read want; returns what it
 * read last. */
static const char *
shown_within(const struct node *n, const char *kind, const char *id,
    const char *key, const char *want, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	const char *got;

	while (strcmp(got = shown(n, kind, id, key), want) != 0 &&
	    now_ms() < end)
		usleep(100000);
	return got;
}

/* Runs samlog on n and expects exit 0; returns the run (sl's buffer). */
static struct tu_run *
expect_run(struct verdict *v, const struct node *n, const char *what,
    struct tu_run *r)
{
	expect(v, r->status == 0, "%s: `samlog %s` exited %d: %.*s", n->name,
	    what, r->status, (int)strcspn(r->err, "\n"), r->err);
	return r;
}

static void
expect_verify(struct verdict *v, const struct node *n)
{
	expect_run(v, n, "verify", sl(n, "verify", NULL));
}

/* `samlog audit --check FILE [--json]` with no daemon, no node directory
 * and no HOME. */
static struct tu_run *
check_offline(const char *path, bool json)
{
	static struct tu_run r;

	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlog"),
	    "-d", "/nonexistent/node", "audit", "--check", (char *)path,
	    json ? "--json" : NULL, NULL }, (char *const[]){
	    "HOME=/nonexistent", "SAMLOG_SOCKET=/nonexistent.sock", NULL }), 0);
	return &r;
}

static long
status_num(const struct node *n, const char *key)
{
	return tu_json_num(ok(sl(n, "status", "--json", NULL))->out, key);
}

/* The refusals n counts for its peer called name (status --json), or
 * -1 if it has no such peer. */
static long
peer_refused(const struct node *n, const char *name)
{
	static char peers[65536], val[256];
	const char *p = peers, *e;
	size_t el;

	if (!jget(ok(sl(n, "status", "--json", NULL))->out, "peers", peers,
	    sizeof peers))
		return -1;
	while (jelem(&p, &e, &el) == 1) {
		char obj[8192];

		snprintf(obj, sizeof obj, "%.*s", (int)el, e);
		if (jget(obj, "name", val, sizeof val) &&
		    strcmp(val, js(name)) == 0 &&
		    jget(obj, "refused", val, sizeof val))
			return strtol(val, NULL, 10);
	}
	return -1;
}

/*
 * Delivers r[0..n) to the victim as id and expects the last of them to
 * be refused at ingest: the victim's refused count grows (and, with
 * per_peer, the count of its peer id), and it stores only the n - 1
 * before it.
 */
static void
expect_refused(struct verdict *v, const struct node *victim,
    const struct ident *id, const struct rec *r, size_t n, bool per_peer,
    const char *what)
{
	long refused = status_num(victim, "refused"), held = events(victim);
	long peer = peer_refused(victim, id->n.name);

	atk_deliver(id, victim, r, n);
	expect(v, status_num(victim, "refused") > refused, "%s: %s: not "
	    "refused at ingest (status refused %ld -> %ld)", id->n.name, what,
	    refused, status_num(victim, "refused"));
	if (per_peer)
		expect(v, peer_refused(victim, id->n.name) > peer, "%s: %s: "
		    "the refused count of peer %s is %ld -> %ld, want it to "
		    "grow", id->n.name, what, id->n.name, peer,
		    peer_refused(victim, id->n.name));
	expect(v, events(victim) == held + (long)n - 1, "%s: %s: the victim "
	    "stored %ld of the %zu events, want %zu", id->n.name, what,
	    events(victim) - held, n, n - 1);
}

/* The keys of an entry of `samlog log --json`. */
static const char *const log_keys[] = { "seq", "origin", "org", "author",
	"time", "type", "changes", "verified", "arrival", "hash", "prev", "hlc",
	"entity", "parents", "signed", "effect", NULL };

/* `samlog log --json` on n is one JSON array of objects with no key but
 * log_keys; says what is wrong otherwise. */
static void
expect_log_json(struct verdict *v, const struct node *n)
{
	struct tu_run *r = sl(n, "log", "--json", NULL);
	const char *p = r->out, *e;
	size_t el;
	int bad = 0;

	expect(v, r->status == 0, "%s: `samlog log --json` exited %d: %.*s",
	    n->name, r->status, (int)strcspn(r->err, "\n"), r->err);
	if (!json_valid(r->out)) {
		expect(v, false, "%s: `samlog log --json` is not valid JSON: "
		    "%.400s", n->name, r->out);
		return;
	}
	jws(&p);
	expect(v, *p == '[', "%s: `samlog log --json` is not an array",
	    n->name);
	while (*p == '[' || *p == ',') {
		const char *q, *k, *val;
		size_t kl, vl, ul = 0;
		char unknown[512] = "";

		if (jelem(&p, &e, &el) != 1)
			break;
		q = e;
		while (jmember(&q, &k, &kl, &val, &vl) == 1) {
			bool known = false;

			for (const char *const *lk = log_keys; *lk && !known;
			    lk++)
				known = strlen(*lk) == kl &&
				    memcmp(*lk, k, kl) == 0;
			if (!known && ul < sizeof unknown) {
				int w = snprintf(unknown + ul, sizeof unknown -
				    ul, " \"%.*s\"", (int)kl, k);

				ul += w > 0 ? (size_t)w : 0;
			}
		}
		if (ul > 0 && bad++ < 4)
			expect(v, false, "%s: `samlog log --json`: an entry has "
			    "keys no log entry has:%s in %.*s", n->name, unknown,
			    (int)(el < 400 ? el : 400), e);
		jws(&p);
	}
}

/*
 * `samlog audit ID --out path` on n, then `samlog audit --check path
 * --json` with no daemon: the record the checker prints must be what
 * `samlog contact show ID --json` shows on n, field by field (a field
 * the node does not show counts as null), and the checker's record must
 * hold nothing else the node does not show the same.
 */
static void
expect_check_is_node(struct verdict *v, const struct node *n, const char *c,
    const char *path)
{
	static const char *const fields[] = { "name", "org", "role", "email",
		"phone", "municipality", NULL };
	/* Keys of the checker's record that are not fields. */
	static const char *const meta[] = { "id", "kind", "created", "updated",
		"events", "conflict", NULL };
	char *show = malloc(65536), *crec = malloc(65536);
	struct tu_run *r;
	const char *p, *k, *val;
	size_t kl, vl;

	assert_non_null(show);
	assert_non_null(crec);
	r = sl(n, "contact", "show", c, "--json", NULL);
	expect(v, r->status == 0, "%s: contact show exited %d: %.*s",
	    n->name, r->status, (int)strcspn(r->err, "\n"), r->err);
	snprintf(show, 65536, "%.65535s", r->status == 0 ? r->out : "{}");
	expect_run(v, n, "audit C --out F", sl(n, "audit", c, "--out",
	    path, NULL));
	r = check_offline(path, true);
	expect(v, r->status == 0, "audit --check F --json exited %d: %.*s",
	    r->status, (int)strcspn(r->err, "\n"), r->err);
	if (r->status != 0 || !jget(r->out, "record", crec, 65536))
		snprintf(crec, 65536, "{}");

	/* Every field the node knows, the same in both (absent: null). */
	for (const char *const *f = fields; *f; f++) {
		char nv[4096], cv[4096];

		if (!jget(show, *f, nv, sizeof nv))
			snprintf(nv, sizeof nv, "<absent>");
		if (!jget(crec, *f, cv, sizeof cv))
			snprintf(cv, sizeof cv, "null");
		expect(v, strcmp(nv, cv) == 0, "%s: %s: the node shows %s, the "
		    "checker %s", n->name, *f, nv, cv);
	}
	/* Nothing in the checker's record that the node does not show. */
	p = crec;
	while (jmember(&p, &k, &kl, &val, &vl) == 1) {
		char key[256], nv[4096];
		bool known = false;

		snprintf(key, sizeof key, "%.*s", (int)kl, k);
		for (const char *const *m = meta; *m && !known; m++)
			known = strcmp(*m, key) == 0;
		for (const char *const *f = fields; *f && !known; f++)
			known = strcmp(*f, key) == 0;
		if (known && strcmp(key, "conflict") != 0)
			continue;
		if (!jget(show, key, nv, sizeof nv))
			snprintf(nv, sizeof nv, "<absent>");
		expect(v, strlen(nv) == vl && memcmp(nv, val, vl) == 0,
		    "%s: %s: the checker's record has %.*s, the node's %s",
		    n->name, key, (int)vl, val, nv);
	}
	free(show);
	free(crec);
}

static char *
contact_add(const struct node *n, const char *name, const char *role)
{
	return line1(sl(n, "contact", "add", "--name", name, "--role", role,
	    NULL));
}

/* One event of n's log (samlog log --json). */
struct logev {
	uint8_t hash[SL_HASH_LEN];
	uint64_t hlc;
	bool creates;
	uint8_t entity[SL_ID_LEN];
	uint32_t np;
	uint8_t parents[SL_MAX_PARENTS][SL_HASH_LEN];
};

static void
b32_field(const char *obj, const char *key, uint8_t *out, size_t len)
{
	char raw[256], text[256];

	if (!jget(obj, key, raw, sizeof raw)) {
		fail_msg("log --json: an entry without %s: %.200s", key, obj);
		return;
	}
	unquote(text, sizeof text, raw);
	if (!sl_b32_decode(out, len, text))
		fail_msg("log --json: %s is not base32: %s", key, raw);
}

/* The events of n's log, into out[0..max); returns the count. */
static int
log_events(const struct node *n, struct logev *out, int max)
{
	struct tu_run *r = ok(sl(n, "log", "--json", NULL));
	const char *p = r->out, *e;
	size_t el;
	int k = 0;
	char *obj = malloc(65536 + 1);

	assert_non_null(obj);
	jws(&p);
	while (jelem(&p, &e, &el) == 1 && k < max) {
		struct logev *l = &out[k++];
		char raw[2048], h[256];
		const char *q, *v;
		size_t vl;

		if (el > 65536) {
			fail_msg("log --json: an entry of %zu bytes", el);
			break;
		}
		snprintf(obj, 65536 + 1, "%.*s", (int)el, e);
		memset(l, 0, sizeof *l);
		b32_field(obj, "hash", l->hash, SL_HASH_LEN);
		assert_true(jget(obj, "hlc", raw, sizeof raw));
		l->hlc = strtoull(raw, NULL, 10);
		assert_true(jget(obj, "entity", raw, sizeof raw));
		l->creates = strcmp(raw, "null") == 0;
		if (l->creates)
			sl_entity_id(l->entity, l->hash);
		else
			b32_field(obj, "entity", l->entity, SL_ID_LEN);
		assert_true(jget(obj, "parents", raw, sizeof raw));
		q = raw;
		while (jelem(&q, &v, &vl) == 1 && l->np < SL_MAX_PARENTS) {
			char t[256];

			snprintf(h, sizeof h, "%.*s", (int)vl, v);
			unquote(t, sizeof t, h);
			assert_true(sl_b32_decode(l->parents[l->np++],
			    SL_HASH_LEN, t));
		}
	}
	free(obj);
	return k;
}

/* The heads of record id on n (its events that no other of its events
 * names), into heads[0..max); returns their count.  *created (may be
 * NULL) gets the clock of its creating event. */
static uint32_t
heads_of(const struct node *n, const char *id, uint8_t (*heads)[SL_HASH_LEN],
    uint32_t max, uint64_t *created)
{
	struct logev *ev = calloc(1024, sizeof *ev);
	uint8_t rid[SL_ID_LEN];
	uint32_t k = 0;
	int m;

	assert_non_null(ev);
	id_of(rid, id);
	m = log_events(n, ev, 1024);
	for (int i = 0; i < m; i++) {
		bool named = false;

		if (memcmp(ev[i].entity, rid, SL_ID_LEN) != 0)
			continue;
		if (ev[i].creates && created != NULL)
			*created = ev[i].hlc;
		for (int j = 0; j < m && !named; j++) {
			if (memcmp(ev[j].entity, rid, SL_ID_LEN) != 0)
				continue;
			for (uint32_t q = 0; q < ev[j].np; q++)
				named = named || memcmp(ev[j].parents[q],
				    ev[i].hash, SL_HASH_LEN) == 0;
		}
		if (!named && k < max)
			memcpy(heads[k++], ev[i].hash, SL_HASH_LEN);
	}
	free(ev);
	return k;
}

/* Waits until n holds the event with hash h. */
static void
wait_holds(const struct node *n, const uint8_t h[SL_HASH_LEN])
{
	char text[SL_B32_LEN(SL_HASH_LEN) + 1];
	uint64_t end = now_ms() + cl_wait_ms;

	sl_b32_encode(text, h, SL_HASH_LEN);
	while (strstr(ok(sl(n, "log", "--json", NULL))->out, text) == NULL) {
		if (now_ms() > end)
			fail_msg("%s never got event %s", n->name, text);
		usleep(50000);
	}
}

/* The only head of record id on n (fails the test if it has several). */
static void
head_of(const struct node *n, const char *id, uint8_t head[SL_HASH_LEN])
{
	uint8_t h[SL_MAX_PARENTS][SL_HASH_LEN];

	assert_int_equal(heads_of(n, id, h, SL_MAX_PARENTS, NULL), 1);
	memcpy(head, h[0], SL_HASH_LEN);
}

/* A payload map of text fields: key, value, key, value..., NULL (a
 * NULL value is nil).  The caller frees the buffer. */
static struct sl_buf
pmap(const char *k, ...)
{
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	va_list ap;
	uint32_t n = 0;

	va_start(ap, k);
	for (const char *a = k; a != NULL; a = va_arg(ap, const char *)) {
		(void)va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, n);
	va_start(ap, k);
	for (const char *a = k; a != NULL; a = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);

		sl_pack_cstr(&pk, a);
		if (v != NULL)
			sl_pack_cstr(&pk, v);
		else
			msgpack_pack_nil(&pk);
	}
	va_end(ap);
	assert_false(g.failed);
	return g;
}

/* An event of f's chain about record id (NULL: one that creates),
 * naming parents[0..np), with clock hlc (0: now) and payload g. */
static struct rec
forge_on(struct forger *f, const char *type, const char *id,
    const uint8_t (*parents)[SL_HASH_LEN], uint32_t np, uint64_t hlc,
    const struct sl_buf *g)
{
	uint8_t eid[SL_ID_LEN];

	if (id != NULL)
		id_of(eid, id);
	return forge(f, &(struct forgery){ .type = type,
	    .entity = id != NULL ? eid : NULL, .parents = parents,
	    .n_parents = np, .hlc = hlc, .payload = g->p,
	    .payload_len = (uint32_t)g->len });
}

/* ---- 0. the checks themselves ----------------------------------------------- */

/*
 * What the cases below expect must be observable at all: today's code
 * already refuses a record whose body does not match its payload hash
 * (so the refusal checks can pass), takes a forged event that is well
 * formed (so "no effect" means something), keeps honest edits' audit
 * bundles equal to the node, and prints a log --json the checks accept.
 */
static void
test_controls(void **state)
{
	static const char *const good[] = { "[]", "{}", " [ {\"a\": [1, -2.5e3, "
		"0, true, false, null, \"x\\u0001\\n\"]}, {} ]\n", NULL };
	static const char *const badj[] = { "", "[1,]", "{\"a\" 1}", "[1] 2",
		"\"\x01\"", "{\"a\": 01}", "[\"\\q\"]", "{1: 2}", NULL };
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a, b;
	struct forger f;
	struct rec e;
	uint8_t head[SL_HASH_LEN];
	struct sl_buf g;
	char c[SL_ID_TEXT + 1], path[640];

	(void)state;
	for (size_t i = 0; good[i] != NULL; i++)
		if (!json_valid(good[i]))
			fail_msg("valid JSON refused: %s", good[i]);
	for (size_t i = 0; badj[i] != NULL; i++)
		if (json_valid(badj[i]))
			fail_msg("invalid JSON taken: %s", badj[i]);

	scene_start(&s, "ct");
	ident_init(&a, "a-ct");
	ident_init(&b, "b-ct");
	scene_member(&s, &a);
	scene_member(&s, &b);
	snprintf(c, sizeof c, "%s", contact_add(&s.h, "Kontroll Karin", "r1"));
	ok(sl(&s.h, "contact", "update", c, "--email", "karin@example.org",
	    NULL));
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	head_of(&s.v, c, head);

	/* A payload changed after it was hashed: refused, counted, not
	 * stored. */
	forger_init(&f, &b);
	g = pmap("role", "ändrad", NULL);
	e = forge_on(&f, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])head, 1, 0, &g);
	free(g.p);
	e.p[e.len - 1] ^= 1;
	expect_refused(&v, &s.v, &b, &e, 1, true, "a changed payload");
	free(e.p);

	/* A well-formed forged edit now: taken and folded. */
	forger_init(&f, &a);
	g = pmap("role", "r3", NULL);
	e = forge_on(&f, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])head, 1, 0, &g);
	free(g.p);
	atk_deliver(&a, &s.v, &e, 1);
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	expect_shown(&v, &s.v, "contact", c, "role", js("r3"));
	expect_shown(&v, &s.h, "contact", c, "role", js("r3"));
	expect_shown(&v, &s.v, "contact", c, "email", js("karin@example.org"));
	free(e.p);

	snprintf(path, sizeof path, "%s/ct.audit", cl_tmp);
	expect_check_is_node(&v, &s.v, c, path);
	expect_log_json(&v, &s.v);
	expect_verify(&v, &s.v);
	ident_free(&a);
	ident_free(&b);
	scene_stop(&s);
	verdict_end(&v);
}

/* ---- 1. an event of another kind naming a record ------------------------ */

static void
expect_contact(struct verdict *v, const struct node *n, const char *id,
    const char *name, const char *role, const char *when)
{
	struct tu_run *r = sl(n, "contact", "show", id, "--json", NULL);

	expect(v, r->status == 0, "%s %s: `contact show %.8s` exited %d: %.*s",
	    n->name, when, id, r->status, (int)strcspn(r->err, "\n"), r->err);
	if (r->status == 0) {
		expect_shown(v, n, "contact", id, "name", js(name));
		expect_shown(v, n, "contact", id, "role", js(role));
	}
	r = sl(n, "history", id, NULL);
	expect(v, r->status == 0, "%s %s: `history %.8s` exited %d: %.*s",
	    n->name, when, id, r->status, (int)strcspn(r->err, "\n"), r->err);
}

static void
test_wrong_kind(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct node v2;
	struct rec e[4];
	uint8_t head[SL_HASH_LEN];
	struct sl_buf g;
	char c[SL_ID_TEXT + 1];

	(void)state;
	scene_start(&s, "wk");
	ident_init(&a, "a-wk");
	scene_member(&s, &a);
	snprintf(c, sizeof c, "%s", contact_add(&s.h, "Cecilia Ek", "r1"));
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	head_of(&s.v, c, head);

	/* decision.adopted naming the contact: with and without its head
	 * as parent, in 1970 and now (the chain's clock rising). */
	forger_init(&f, &a);
	g = pmap("reason", NULL, "status", "adopted", NULL);
	e[0] = forge_on(&f, "decision.adopted", c,
	    (const uint8_t (*)[SL_HASH_LEN])head, 1, 1ull << 16, &g);
	e[1] = forge_on(&f, "decision.adopted", c, NULL, 0, (1ull << 16) + 1,
	    &g);
	e[2] = forge_on(&f, "decision.adopted", c,
	    (const uint8_t (*)[SL_HASH_LEN])head, 1, 0, &g);
	e[3] = forge_on(&f, "decision.adopted", c, NULL, 0, f.hlc + 1, &g);
	free(g.p);
	atk_deliver(&a, &s.v, e, 4);
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	expect_contact(&v, &s.v, c, "Cecilia Ek", "r1", "after the events");
	expect_run(&v, &s.v, "rebuild", sl(&s.v, "rebuild", NULL));
	expect_contact(&v, &s.v, c, "Cecilia Ek", "r1", "after rebuild");

	/* The other arrival order: a fresh node takes the attacker's events
	 * first, then syncs with the honest node and gets the contact. */
	node_init(&v2, "v2-wk", "Nykomling");
	node_start(&v2);
	trust(&v2, &a.n, false);
	atk_deliver(&a, &v2, e, 4);
	trust(&s.h, &v2, false);
	trust(&v2, &s.h, true);
	wait_holds(&v2, head);
	expect_contact(&v, &v2, c, "Cecilia Ek", "r1",
	    "(the contact arrived after the attacker's events)");

	expect_verify(&v, &s.v);
	expect_verify(&v, &v2);
	for (int i = 0; i < 4; i++)
		free(e[i].p);
	ident_free(&a);
	assert_int_equal(node_stop(&v2, SIGTERM), 0);
	scene_stop(&s);
	verdict_end(&v);
}

/* ---- 2. clocks -------------------------------------------------------------- */

/* (a) An edit three years ahead waits; an honest edit now wins. */
/* The victim's status count of events waiting for the clock. */
static long
victim_future(const struct node *n)
{
	struct tu_run *r = sl(n, "--json", "status", NULL);
	const char *p;

	if (r->status != 0 || (p = strstr(r->out, "\"future\": ")) == NULL)
		return -1;
	return strtol(p + 10, NULL, 10);
}

static void
test_clock_future(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	uint8_t head[SL_HASH_LEN];
	struct sl_buf g;
	char c[SL_ID_TEXT + 1];
	long before;

	(void)state;
	scene_start(&s, "cf");
	ident_init(&a, "a-cf");
	scene_member(&s, &a);
	snprintf(c, sizeof c, "%s", contact_add(&s.h, "Framtida Fredrik",
	    "r1"));
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	head_of(&s.v, c, head);
	before = events(&s.v);

	forger_init(&f, &a);
	g = pmap("role", "kapad", NULL);
	e = forge_on(&f, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])head, 1,
	    (sl_now_ms() + 3 * YEAR_MS) << 16, &g);
	free(g.p);
	atk_deliver(&a, &s.v, &e, 1);
	expect(&v, events(&s.v) == before + 1, "v-cf: the event three years "
	    "ahead is not stored (events %ld -> %ld)", before, events(&s.v));
	expect_shown(&v, &s.v, "contact", c, "role", js("r1"));
	/* It shows in the record's history as waiting, and is counted. */
	struct tu_run *hr = sl(&s.v, "--json", "history", c, NULL);

	expect(&v, hr->status == 0 && strstr(hr->out,
	    "\"effect\": \"waiting for the clock\"") != NULL, "v-cf: history "
	    "does not show the event as waiting for the clock: %s", hr->out);
	expect(&v, victim_future(&s.v) == 1, "v-cf: status future is %ld, "
	    "want 1", victim_future(&s.v));

	expect_run(&v, &s.h, "contact update --role r2", sl(&s.h, "contact",
	    "update", c, "--role", "r2", NULL));
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	expect_shown(&v, &s.h, "contact", c, "role", js("r2"));
	expect_shown(&v, &s.v, "contact", c, "role", js("r2"));

	expect_verify(&v, &s.v);
	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/* (b) An edit dated before the record it edits changes nothing. */
static void
test_clock_backdated(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	uint8_t head[SL_HASH_LEN];
	uint64_t created = 0;
	struct sl_buf g;
	char c[SL_ID_TEXT + 1];

	(void)state;
	scene_start(&s, "cb");
	ident_init(&a, "a-cb");
	scene_member(&s, &a);
	snprintf(c, sizeof c, "%s", contact_add(&s.h, "Bakåt Berit", "r1"));
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	assert_int_equal(heads_of(&s.v, c, &head, 1, &created), 1);
	assert_true(created > (3600000ull << 16));

	forger_init(&f, &a);
	g = pmap("email", "bakdaterad@example.org", "role", "bakdaterad",
	    NULL);
	e = forge_on(&f, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])head, 1,
	    created - (3600000ull << 16), &g);
	free(g.p);
	atk_deliver(&a, &s.v, &e, 1);
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	expect_shown(&v, &s.v, "contact", c, "role", js("r1"));
	expect_shown(&v, &s.v, "contact", c, "email", "null");
	expect_shown(&v, &s.v, "contact", c, "name", js("Bakåt Berit"));

	expect_verify(&v, &s.v);
	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/* (c) Revocations of a proposed decision, far ahead and now: neither is
 * a step the lifecycle allows. */
static void
test_clock_revoke(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a1, a2;
	struct forger f1, f2;
	struct rec e1, e2;
	uint8_t head[SL_HASH_LEN];
	struct sl_buf g;
	char d[SL_ID_TEXT + 1];

	(void)state;
	scene_start(&s, "cr");
	ident_init(&a1, "a1-cr");
	ident_init(&a2, "a2-cr");
	scene_member(&s, &a1);
	scene_member(&s, &a2);
	snprintf(d, sizeof d, "%s", line1(sl(&s.h, "decision", "add",
	    "--title", "Budget 2027", "--text", "Förslag", NULL)));
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	head_of(&s.v, d, head);

	g = pmap("reason", "kapad", "status", "revoked", NULL);
	forger_init(&f1, &a1);
	e1 = forge_on(&f1, "decision.revoked", d,
	    (const uint8_t (*)[SL_HASH_LEN])head, 1,
	    (sl_now_ms() + 3 * YEAR_MS) << 16, &g);
	forger_init(&f2, &a2);
	e2 = forge_on(&f2, "decision.revoked", d,
	    (const uint8_t (*)[SL_HASH_LEN])head, 1, 0, &g);
	free(g.p);
	atk_deliver(&a1, &s.v, &e1, 1);
	atk_deliver(&a2, &s.v, &e2, 1);
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	expect_shown(&v, &s.v, "decision", d, "status", js("proposed"));

	expect_run(&v, &s.h, "decision adopt", sl(&s.h, "decision", "adopt",
	    d, NULL));
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	expect_shown(&v, &s.h, "decision", d, "status", js("adopted"));
	expect_shown(&v, &s.v, "decision", d, "status", js("adopted"));

	expect_verify(&v, &s.v);
	free(e1.p);
	free(e2.p);
	ident_free(&a1);
	ident_free(&a2);
	scene_stop(&s);
	verdict_end(&v);
}

/* (d) Two honest nodes, apart, take clashing steps; once they meet,
 * both show the same, in conflict, and a step on either resolves it. */
static void
test_clock_clash(void **state)
{
	struct verdict v = { .checks = 0 };
	struct node n1, n2;
	struct node *both[] = { &n1, &n2 };
	char d[SL_ID_TEXT + 1];
	char st1[256], st2[256];

	(void)state;
	node_init(&n1, "c1-cc", "Ettan");
	node_init(&n2, "c2-cc", "Tvåan");
	node_start(&n1);
	node_start(&n2);
	trust(&n1, &n2, false);
	trust(&n2, &n1, true);
	snprintf(d, sizeof d, "%s", line1(sl(&n1, "decision", "add",
	    "--title", "Lokalfrågan", "--text", "Förslag", NULL)));
	wait_converged(both, 2);
	expect_shown(&v, &n2, "decision", d, "status", js("proposed"));

	/* Apart: n2 forgets n1 (the connection drops at once, and n1 has no
	 * address to dial). */
	ok(sl(&n2, "peer", "remove", n1.name, NULL));
	ok(sl(&n1, "decision", "adopt", d, NULL));
	ok(sl(&n2, "decision", "reject", d, NULL));
	expect_shown(&v, &n1, "decision", d, "status", js("adopted"));
	expect_shown(&v, &n2, "decision", d, "status", js("rejected"));

	trust(&n2, &n1, true);
	wait_converged(both, 2);
	snprintf(st1, sizeof st1, "%s", shown(&n1, "decision", d, "status"));
	snprintf(st2, sizeof st2, "%s", shown(&n2, "decision", d, "status"));
	expect(&v, strcmp(st1, st2) == 0, "after the clash the nodes differ: "
	    "%s on c1-cc, %s on c2-cc", st1, st2);
	expect_shown(&v, &n1, "decision", d, "conflict", "true");
	expect_shown(&v, &n2, "decision", d, "conflict", "true");

	/* A rejection stands: the clash is not stuck, it resolves towards
	 * it (reject again, on either node); adopting over it is refused,
	 * here and by every node's fold. */
	struct tu_run *r = sl(&n1, "decision", "adopt", d, NULL);

	expect(&v, r->status == 1 && strstr(r->err, "cannot be adopted") !=
	    NULL, "c1-cc: decision adopt over a rejection exited %d: %s",
	    r->status, r->err);
	expect_run(&v, &n1, "decision reject (resolving the clash)",
	    sl(&n1, "decision", "reject", d, "--reason", "Avslaget står",
	    NULL));
	wait_converged(both, 2);
	for (int i = 0; i < 2; i++) {
		expect_shown(&v, both[i], "decision", d, "status",
		    js("rejected"));
		expect_shown(&v, both[i], "decision", d, "conflict", "false");
	}

	expect_verify(&v, &n1);
	expect_verify(&v, &n2);
	assert_int_equal(node_stop(&n1, SIGTERM), 0);
	assert_int_equal(node_stop(&n2, SIGTERM), 0);
	verdict_end(&v);
}

/* (e) A chain whose clock does not rise: the event is refused. */
static void
test_clock_not_rising(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a[2];
	uint8_t head[SL_HASH_LEN];
	char c[SL_ID_TEXT + 1];

	(void)state;
	scene_start(&s, "nr");
	ident_init(&a[0], "a1-nr");
	ident_init(&a[1], "a2-nr");
	scene_member(&s, &a[0]);
	scene_member(&s, &a[1]);
	snprintf(c, sizeof c, "%s", contact_add(&s.h, "Stig Klocka", "r1"));
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	head_of(&s.v, c, head);

	for (int i = 0; i < 2; i++) {
		struct forger f;
		struct rec e[2];
		struct sl_buf g = pmap("name", "Mallorys kontakt", NULL);

		/* Its own contact now, then an edit of the honest contact at
		 * the same clock (i = 0) or a minute before (i = 1). */
		forger_init(&f, &a[i]);
		e[0] = forge_on(&f, "contact.created", NULL, NULL, 0, 0, &g);
		free(g.p);
		g = pmap("role", "bakåt", NULL);
		e[1] = forge_on(&f, "contact.updated", c,
		    (const uint8_t (*)[SL_HASH_LEN])head, 1,
		    i == 0 ? f.hlc : f.hlc - (60000ull << 16),
		    &g);
		free(g.p);
		expect_refused(&v, &s.v, &a[i], e, 2, false, i == 0 ?
		    "an event whose clock equals its origin's previous one" :
		    "an event whose clock is a minute before its origin's "
		    "previous one");
		expect_shown(&v, &s.v, "contact", c, "role", js("r1"));
		free(e[0].p);
		free(e[1].p);
	}

	expect_verify(&v, &s.v);
	ident_free(&a[0]);
	ident_free(&a[1]);
	scene_stop(&s);
	verdict_end(&v);
}

/* ---- 3. bodies stripped in transit ------------------------------------------ */

static void
test_stripped_bodies(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a, t;
	struct forger ft;
	struct node w;
	struct rec full[2], bare[2];
	struct sl_buf g;
	char x[SL_ID_TEXT + 1];
	const char *got;

	(void)state;
	scene_start(&s, "sb");
	ident_init(&a, "a-sb");
	ident_init(&t, "t-sb");
	scene_member(&s, &a);
	scene_member(&s, &t);
	/* W, an honest node linked only to the victim, takes T's events. */
	node_init(&w, "w-sb", "Väster");
	node_start(&w);
	trust(&s.v, &w, false);
	trust(&w, &t.n, false);
	trust(&w, &s.v, true);
	/* W holds its own node.org and the victim's. */
	wait_events((struct node *[]){ &w }, 1, 2);

	/* T's contact X, created and edited. */
	forger_init(&ft, &t);
	g = pmap("name", "Xenia Tredjesson", "role", "tredje", NULL);
	full[0] = forge_on(&ft, "contact.created", NULL, NULL, 0, 0, &g);
	free(g.p);
	id_created(x, &full[0]);
	g = pmap("email", "xenia@example.org", NULL);
	full[1] = forge_on(&ft, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])full[0].hash, 1, ft.hlc + 1, &g);
	free(g.p);
	bare[0] = rec_erased(&full[0]);
	bare[1] = rec_erased(&full[1]);

	/* The attacker relays them without their bodies: the victim
	 * refuses such copies (only a signed erasure may remove a body) and
	 * keeps them as evidence, so it neither shows an empty record nor
	 * tells its peers it holds events it could not pass on whole. */
	long before = events(&s.v), refused = status_num(&s.v, "refused");

	atk_deliver(&a, &s.v, bare, 2);
	usleep(1000 * 1000);
	expect(&v, events(&s.v) == before, "v-sb: the victim stored the "
	    "copies without bodies (events %ld -> %ld)", before, events(&s.v));
	expect(&v, status_num(&s.v, "refused") > refused, "v-sb: the copies "
	    "without bodies were not refused (refused %ld -> %ld)", refused,
	    status_num(&s.v, "refused"));
	expect(&v, events(&w) == 2, "w-sb: W holds %ld events after the "
	    "stripped copies, want 2 (a copy without its body is not relayed)",
	    events(&w));
	print_message("after the stripped copies: %s on the victim, %s on W\n",
	    shown(&s.v, "contact", x, "name"), shown(&w, "contact", x, "name"));
	/* ...and then T sends them whole. */
	atk_deliver(&t, &s.v, full, 2);
	got = shown_within(&s.v, "contact", x, "name", js("Xenia Tredjesson"),
	    OUTCOME_MS);
	expect(&v, strcmp(got, js("Xenia Tredjesson")) == 0, "v-sb: contact "
	    "show X: name is %s after the whole copies arrived, want %s", got,
	    js("Xenia Tredjesson"));
	expect_shown(&v, &s.v, "contact", x, "role", js("tredje"));
	expect_shown(&v, &s.v, "contact", x, "email", js("xenia@example.org"));
	got = shown_within(&w, "contact", x, "name", js("Xenia Tredjesson"),
	    OUTCOME_MS);
	expect(&v, strcmp(got, js("Xenia Tredjesson")) == 0, "w-sb (synced "
	    "from the victim only): contact show X: name is %s, want %s", got,
	    js("Xenia Tredjesson"));
	expect_shown(&v, &w, "contact", x, "email", js("xenia@example.org"));

	expect_verify(&v, &s.v);
	expect_verify(&v, &w);
	for (int i = 0; i < 2; i++) {
		free(full[i].p);
		free(bare[i].p);
	}
	ident_free(&a);
	ident_free(&t);
	assert_int_equal(node_stop(&w, SIGTERM), 0);
	scene_stop(&s);
	verdict_end(&v);
}

/* ---- 4. the checker folds as the nodes fold ---------------------------------- */

static void
test_checker_equals_node(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a1, a2;
	struct forger f1, f2;
	struct rec e[3];
	struct sl_buf g;
	char c[SL_ID_TEXT + 1], path[640];
	uint64_t tie;

	(void)state;
	scene_start(&s, "ck");
	ident_init(&a1, "a1-ck");
	ident_init(&a2, "a2-ck");
	scene_member(&s, &a1);
	scene_member(&s, &a2);

	/* A contact with a field name of 25 bytes and an unknown field
	 * (keys in order, as samlogd writes them)... */
	forger_init(&f1, &a1);
	g = pmap("extra_falt_med_langt_namn", "lång", "name", "Cyrus Kontroll",
	    "okand", "okänd", "role", "r1", NULL);
	e[0] = forge_on(&f1, "contact.created", NULL, NULL, 0, 0, &g);
	free(g.p);
	id_created(c, &e[0]);
	/* ...and two origins setting its role at the same clock. */
	tie = f1.hlc + (1000ull << 16);
	g = pmap("role", "lika-a1", NULL);
	e[1] = forge_on(&f1, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])e[0].hash, 1, tie, &g);
	free(g.p);
	forger_init(&f2, &a2);
	g = pmap("role", "lika-a2", NULL);
	e[2] = forge_on(&f2, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])e[0].hash, 1, tie, &g);
	free(g.p);
	atk_deliver(&a1, &s.v, e, 2);
	atk_deliver(&a2, &s.v, &e[2], 1);
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);

	snprintf(path, sizeof path, "%s/ck.audit", cl_tmp);
	expect_check_is_node(&v, &s.v, c, path);
	/* The tie goes to the greater origin, on both. */
	const char *won = memcmp(a1.key.pub, a2.key.pub, SL_KEY_LEN) > 0 ?
	    "lika-a1" : "lika-a2";

	expect_shown(&v, &s.v, "contact", c, "role", js(won));

	expect_verify(&v, &s.v);
	for (int i = 0; i < 3; i++)
		free(e[i].p);
	ident_free(&a1);
	ident_free(&a2);
	scene_stop(&s);
	verdict_end(&v);
}

/* ---- 5. payloads that are not what the record's kind says ------------------ */

struct bad_payload {
	const char *what;
	const char *bytes;
	size_t len;
};

static void
test_bad_payloads(void **state)
{
	/* {"role": str8 of 201 bytes} */
	static const uint8_t role201[] = { 0x81, 0xa4, 'r', 'o', 'l', 'e', 0xd9,
		201 };
	static char toolong[sizeof role201 + 201];
	static const struct bad_payload bads[] = {
		{ "an array", "\x92\xa1" "a" "\xa1" "b", 5 },
		{ "two maps (trailing bytes)", "\x81\xa4" "role" "\xa1" "x"
		    "\x81\xa8" "injected" "\xa3" "yes", 22 },
		{ "a map with an integer key", "\x81\x01\xa1" "x", 4 },
		{ "a map16 header for one pair", "\xde\x00\x01\xa4" "role"
		    "\xa1" "x", 10 },
		{ "role: 42", "\x81\xa4" "role" "\x2a", 7 },
		{ "a C0 control in text", "\x81\xa4" "role" "\xa3" "r\x01x",
		    10 },
		{ "role of 201 bytes (limit 200)", toolong, sizeof toolong },
	};
	struct verdict v = { .checks = 0 };
	struct scene s;
	uint8_t head[SL_HASH_LEN], cid[SL_ID_LEN];
	char c[SL_ID_TEXT + 1], path[640];

	(void)state;
	memcpy(toolong, role201, sizeof role201);
	memset(toolong + sizeof role201, 'x', 201);
	scene_start(&s, "bp");
	snprintf(c, sizeof c, "%s", contact_add(&s.h, "Petra Nyttolast",
	    "r1"));
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	head_of(&s.v, c, head);
	id_of(cid, c);

	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		struct ident a;
		struct forger f;
		struct rec e;
		char name[16];

		/* A fresh member each: a refusal stalls its origin. */
		snprintf(name, sizeof name, "a%zu-bp", i);
		ident_init(&a, name);
		scene_member(&s, &a);
		forger_init(&f, &a);
		e = forge(&f, &(struct forgery){ .type = "contact.updated",
		    .entity = cid, .parents =
		    (const uint8_t (*)[SL_HASH_LEN])head, .n_parents = 1,
		    .payload = (const uint8_t *)bads[i].bytes,
		    .payload_len = (uint32_t)bads[i].len });
		expect_refused(&v, &s.v, &a, &e, 1, true, bads[i].what);
		free(e.p);
		ident_free(&a);
	}

	/* The contact reads as before, through every command. */
	snprintf(path, sizeof path, "%s/bp.audit", cl_tmp);
	expect_run(&v, &s.v, "contact show C", sl(&s.v, "contact", "show", c,
	    NULL));
	expect_shown(&v, &s.v, "contact", c, "role", js("r1"));
	expect_run(&v, &s.v, "history C", sl(&s.v, "history", c, NULL));
	expect_run(&v, &s.v, "log", sl(&s.v, "log", NULL));
	expect_log_json(&v, &s.v);
	expect_run(&v, &s.v, "audit C --out F", sl(&s.v, "audit", c, "--out",
	    path, NULL));
	struct tu_run *r = check_offline(path, false);

	expect(&v, r->status == 0, "audit --check F exited %d: %.*s",
	    r->status, (int)strcspn(r->err, "\n"), r->err);
	expect_verify(&v, &s.v);
	scene_stop(&s);
	verdict_end(&v);
}

/* ---- 6. a parent no one holds ------------------------------------------------ */

static void
test_missing_parent(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	uint8_t ghost[SL_HASH_LEN];
	struct sl_buf g;
	char c[SL_ID_TEXT + 1], path[640], ghost_text[SL_B32_LEN(SL_HASH_LEN)
	    + 1];
	long held;

	(void)state;
	scene_start(&s, "mp");
	ident_init(&a, "a-mp");
	scene_member(&s, &a);
	snprintf(c, sizeof c, "%s", contact_add(&s.h, "Moa Föräldralös",
	    "r1"));
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	sl_random(ghost, sizeof ghost);
	sl_b32_encode(ghost_text, ghost, SL_HASH_LEN);
	held = events(&s.v);

	forger_init(&f, &a);
	g = pmap("role", "utan förälder", NULL);
	e = forge_on(&f, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])ghost, 1, 0, &g);
	free(g.p);
	atk_deliver(&a, &s.v, &e, 1);
	expect(&v, events(&s.v) == held + 1, "v-mp: the event naming a parent "
	    "no one holds is not stored (events %ld -> %ld)", held,
	    events(&s.v));
	expect_shown(&v, &s.v, "contact", c, "role", js("r1"));
	expect_shown(&v, &s.v, "contact", c, "name", js("Moa Föräldralös"));
	expect_run(&v, &s.v, "history C", sl(&s.v, "history", c, NULL));

	snprintf(path, sizeof path, "%s/mp.audit", cl_tmp);
	expect_run(&v, &s.v, "audit C --out F", sl(&s.v, "audit", c, "--out",
	    path, NULL));
	struct tu_run *r = check_offline(path, false);

	expect(&v, r->status == 0, "audit --check F exited %d: %.*s",
	    r->status, (int)strcspn(r->err, "\n"), r->err);
	expect(&v, strstr(r->out, ghost_text) != NULL ||
	    strstr(r->err, ghost_text) != NULL, "audit --check F does not "
	    "name the missing parent %s", ghost_text);

	expect_verify(&v, &s.v);
	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 7. A parent of another record.  An edit of contact C that names, beside
 * C's head, the creation of an honest decision D: it has no effect (a
 * parent is not of C's record), and C stays auditable: the bundle carries
 * D's event as a header, and the checker judges the edit as the node did.
 */
static void
test_foreign_parent(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	uint8_t parents[2][SL_HASH_LEN], tmp[SL_HASH_LEN];
	struct sl_buf g;
	char c[SL_ID_TEXT + 1], d[SL_ID_TEXT + 1], path[640];

	(void)state;
	scene_start(&s, "fp");
	ident_init(&a, "a-fp");
	scene_member(&s, &a);
	snprintf(c, sizeof c, "%s", contact_add(&s.h, "Fia Främling", "r1"));
	snprintf(d, sizeof d, "%s", line1(sl(&s.h, "decision", "add",
	    "--title", "Lokaler", "--text", "Förslag", NULL)));
	wait_converged((struct node *[]){ &s.v, &s.h }, 2);
	head_of(&s.v, c, parents[0]);
	head_of(&s.v, d, parents[1]);
	if (memcmp(parents[0], parents[1], SL_HASH_LEN) > 0) {
		memcpy(tmp, parents[0], SL_HASH_LEN);
		memcpy(parents[0], parents[1], SL_HASH_LEN);
		memcpy(parents[1], tmp, SL_HASH_LEN);
	}
	forger_init(&f, &a);
	g = pmap("role", "främmande", NULL);
	e = forge_on(&f, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])parents, 2, 0, &g);
	free(g.p);
	atk_deliver(&a, &s.v, &e, 1);
	wait_holds(&s.v, e.hash);
	expect_shown(&v, &s.v, "contact", c, "role", js("r1"));
	struct tu_run *hr = sl(&s.v, "--json", "history", c, NULL);

	expect(&v, hr->status == 0 && strstr(hr->out, "a parent is not of "
	    "this record") != NULL, "v-fp: history does not say the edit was "
	    "ignored for its parent: %s", hr->out);
	snprintf(path, sizeof path, "%s/fp.audit", cl_tmp);
	expect_run(&v, &s.v, "audit C --out F", sl(&s.v, "audit", c, "--out",
	    path, NULL));
	struct tu_run *r = check_offline(path, false);

	expect(&v, r->status == 0, "audit --check F exited %d: %.*s",
	    r->status, (int)strcspn(r->err, "\n"), r->err);
	expect_check_is_node(&v, &s.v, c, path);
	expect_verify(&v, &s.v);
	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_controls, cl_reap),
		cmocka_unit_test_teardown(test_wrong_kind, cl_reap),
		cmocka_unit_test_teardown(test_clock_future, cl_reap),
		cmocka_unit_test_teardown(test_clock_backdated, cl_reap),
		cmocka_unit_test_teardown(test_clock_revoke, cl_reap),
		cmocka_unit_test_teardown(test_clock_clash, cl_reap),
		cmocka_unit_test_teardown(test_clock_not_rising, cl_reap),
		cmocka_unit_test_teardown(test_stripped_bodies, cl_reap),
		cmocka_unit_test_teardown(test_checker_equals_node, cl_reap),
		cmocka_unit_test_teardown(test_bad_payloads, cl_reap),
		cmocka_unit_test_teardown(test_missing_parent, cl_reap),
		cmocka_unit_test_teardown(test_foreign_parent, cl_reap),
	};

	signal(SIGPIPE, SIG_IGN);
	if (sl_crypto_init() != 0)
		return 1;
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
