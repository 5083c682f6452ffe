/*
 * victim.c - see victim.h.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "victim.h"

/* ---- a verdict: every deviation of one test, reported at once ---------- */

void
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
void
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

void
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
bool
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
int
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
bool
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
const char *
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
const char *
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
void
expect_shown(struct verdict *v, const struct node *n, const char *kind,
    const char *id, const char *key, const char *want)
{
	const char *got = shown(n, kind, id, key);

	expect(v, strcmp(got, want) == 0, "%s: %s show %.8s: %s is %.120s, want "
	    "%s", n->name, kind, id, key, got, want);
}

/* Waits up to ms for key of a record on n to read want; returns what it
 * read last. */
const char *
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
struct tu_run *
expect_run(struct verdict *v, const struct node *n, const char *what,
    struct tu_run *r)
{
	expect(v, r->status == 0, "%s: `samlog %s` exited %d: %.*s", n->name,
	    what, r->status, (int)strcspn(r->err, "\n"), r->err);
	return r;
}

void
expect_verify(struct verdict *v, const struct node *n)
{
	expect_run(v, n, "verify", sl(n, "verify", NULL));
}

/* `samlog audit --check FILE [--json]` with no daemon, no node directory
 * and no HOME. */
struct tu_run *
check_offline(const char *path, bool json)
{
	static struct tu_run r;

	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlog"),
	    "-d", "/nonexistent/node", "audit", "--check", (char *)path,
	    json ? "--json" : NULL, NULL }, (char *const[]){
	    "HOME=/nonexistent", "SAMLOG_SOCKET=/nonexistent.sock", NULL }), 0);
	return &r;
}

long
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
void
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
static const char *const log_keys[] = { "seq", "origin", "org",
	"fingerprint", "author",
	"time", "type", "changes", "verified", "arrival", "hash", "prev", "hlc",
	"entity", "parents", "signed", "effect", "on", "erased", NULL };

/* `samlog log --json` on n is one JSON array of objects with no key but
 * log_keys; says what is wrong otherwise. */
void
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
void
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

char *
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
uint32_t
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
void
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
void
head_of(const struct node *n, const char *id, uint8_t head[SL_HASH_LEN])
{
	uint8_t h[SL_MAX_PARENTS][SL_HASH_LEN];

	assert_int_equal(heads_of(n, id, h, SL_MAX_PARENTS, NULL), 1);
	memcpy(head, h[0], SL_HASH_LEN);
}

/* A payload map of text fields: key, value, key, value..., NULL (a
 * NULL value is nil).  The caller frees the buffer. */
struct sl_buf
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
struct rec
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

void
scene_converge(struct scene *s)
{
	wait_converged((struct node *[]){ &s->v, &s->h }, 2);
}

const char *
scene_decision(struct scene *s, const char *title,
    uint8_t created[SL_HASH_LEN])
{
	static char d[4][SL_ID_TEXT + 1];
	static int k;
	char *out = d[k++ % 4];

	snprintf(out, sizeof d[0], "%s", line1(sl(&s->h, "decision", "add",
	    "--title", title, "--text", "Förslag", NULL)));
	scene_converge(s);
	if (created != NULL)
		head_of(&s->v, out, created);
	return out;
}
