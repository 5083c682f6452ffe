/*
 * test_attack13.c - a review of issue 13 (agreements and actions,
 * archive/restore, nil clears, effective dates and the order day, names
 * for ids, Swedish index keys) as a hostile member: each finding as a
 * test that passes once the weakness is gone.
 *
 *   fixed  test_prefix_shadows_name, test_index_key_cap, test_asof_frozen
 *          (on is bounded: at most SL_ON_AHEAD_DAYS after its clock),
 *          test_archive_shadow (issue 14: only the organisation that
 *          created a record may archive it), test_import_backdated_name
 *          (an import takes this organisation's own record of a name)
 *   held   test_on_orders (the order day, the same after a rebuild and
 *          in the audit checker), test_new_rules (nil, archived and on
 *          checked at ingest)
 *
 * Replay one: TEST_FILTER=test_index_key_cap build/test_attack13;
 * SAMLOG_KEEP=1 keeps the nodes' directories and logs.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "attacker.h"
#include "cluster.h"
#include "samlog_proto.h"
#include "testutil.h"
#include "victim.h"

/* ---- helpers ---------------------------------------------------------- */

/* Today (UTC), YYYY-MM-DD. */
/* The UTC day n days from now (a few rotating buffers). */
static const char *
days_ahead(int n)
{
	static char out[4][11];
	static int k;
	char *o = out[k++ % 4];
	time_t t = time(NULL) + (time_t)n * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(o, 11, "%Y-%m-%d", &tm);
	return o;
}

static const char *
today(void)
{
	static char out[11];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, sizeof out, "%Y-%m-%d", &tm);
	return out;
}

/*
 * A creating event of f's chain whose record id begins with prefix (the
 * clock's low bits varied until the header's hash fits: ids are the
 * first bytes of a hash, and 4 base32 characters are 20 bits, a second
 * of hashing).  As forge() does otherwise.
 */
static struct rec
forge_prefix(struct forger *f, const char *type, const struct sl_buf *g,
    const char *prefix)
{
	uint8_t hdr[SL_HEADER_MAX], salt[SL_SALT_LEN], ph[SL_HASH_LEN];
	uint8_t sig[SL_SIG_LEN], id[SL_ID_LEN];
	char text[SL_ID_TEXT + 1];
	struct sl_event ev;
	struct rec r;
	size_t hlen = 0, pn = strlen(prefix);
	uint64_t base = sl_now_ms() << 16;
	struct sl_event_draft d = { .author = "mallory", .type = type,
		.payload = g->p, .payload_len = (uint32_t)g->len };
	struct sl_header_in h = { .origin = f->id->key.pub, .seq = f->seq + 1,
		.prev = f->seq > 0 ? f->prev : NULL, .payload_hash = ph };
	bool found = false;

	if (base <= f->hlc)
		base = f->hlc + 1;
	assert_int_equal(sl_draft_check(&d), SL_OK);
	sl_random(salt, sizeof salt);
	sl_payload_hash(ph, salt, g->p, g->len);
	for (uint64_t i = 0; i < ((uint64_t)1 << 26) && !found; i++) {
		h.hlc = base + i;
		hlen = sl_header_encode(hdr, &d, &h);
		assert_true(hlen > 0 && hlen <= SL_HEADER_MAX);
		sl_sha256(r.hash, hdr, hlen);
		sl_entity_id(id, r.hash);
		sl_b32_encode(text, id, SL_ID_LEN);
		found = strncmp(text, prefix, pn) == 0;
	}
	assert_true(found);
	r.seq = h.seq;
	sl_sign_hash(sig, &f->id->key, r.hash);
	r.p = malloc(sl_record_size(hlen, true, g->len));
	assert_non_null(r.p);
	r.len = sl_record_encode(r.p, hdr, hlen, sig, salt, g->p, g->len);
	assert_int_equal(sl_event_decode(&ev, r.p, r.len), SL_OK);
	assert_int_equal(sl_event_check_payload(&ev), SL_OK);
	f->seq = h.seq;
	f->hlc = h.hlc;
	memcpy(f->prev, r.hash, SL_HASH_LEN);
	return r;
}

/* The first line of `samlog ...` on n that must succeed (a new id). */
static const char *
added(struct verdict *v, const struct node *n, const char *what,
    struct tu_run *r)
{
	static char out[4][SL_ID_TEXT + 1];
	static int k;
	char *o = out[k++ % 4];

	expect(v, r->status == 0, "%s: %s exited %d: %.200s", n->name, what,
	    r->status, r->err);
	snprintf(o, SL_ID_TEXT + 1, "%.*s", (int)strcspn(r->out, "\n"),
	    r->out);
	return o;
}

/* ---- findings --------------------------------------------------------- */

/*
 * 1. A name that is also an id prefix resolves to the id, silently.
 * project_resolve tries an id prefix first and looks at names only when
 * no id begins with the text; ids are the first bytes of an event's
 * hash, so a member grinds a record whose id begins with another's name
 * (four base32 letters: 2^20 hashes, about a second).  The honest
 * organisation "Bygg"; the attacker's "Angripare AB" with id bygg...:
 * `org show Bygg`, `contact add --org Bygg` and every other reference a
 * user types by that name go to the attacker's record, and nothing says
 * there was another.
 */
static void
test_prefix_shadows_name(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	struct sl_buf g;
	struct tu_run *r;
	char bygg[SL_ID_TEXT + 1], evil[SL_ID_TEXT + 1], c[SL_ID_TEXT + 1];
	const char *got;

	(void)state;
	scene_start(&s, "ps");
	ident_init(&a, "a-ps");
	scene_member(&s, &a);
	snprintf(bygg, sizeof bygg, "%s", added(&v, &s.h, "org add Bygg",
	    sl(&s.h, "org", "add", "--name", "Bygg", NULL)));
	scene_converge(&s);

	forger_init(&f, &a);
	g = pmap("name", "Angripare AB", "on", today(), NULL);
	e = forge_prefix(&f, "org.created", &g, "bygg");
	free(g.p);
	id_created(evil, &e);
	atk_deliver(&a, &s.v, &e, 1);
	scene_converge(&s);

	/* `org show Bygg`: the honest one, or a refusal naming both. */
	r = sl(&s.v, "org", "show", "Bygg", "--json", NULL);
	got = r->status == 0 ? strstr(r->out, evil) : NULL;
	expect(&v, got == NULL, "v-ps: `org show Bygg` shows the attacker's "
	    "%.8s (id prefix) rather than the organisation named Bygg "
	    "(%.8s), and says nothing of it: %.200s", evil, bygg, r->out);
	/* A reference by that name. */
	r = sl(&s.v, "contact", "add", "--name", "Karin Kund", "--org", "Bygg",
	    NULL);
	if (r->status == 0) {
		snprintf(c, sizeof c, "%s", line1(r));
		got = shown(&s.v, "contact", c, "org");
		expect(&v, strcmp(got, js(bygg)) == 0, "v-ps: `contact add "
		    "--org Bygg` made a contact of %s, want Bygg's %s", got,
		    bygg);
	} else {
		expect(&v, strstr(r->err, bygg) != NULL && strstr(r->err,
		    evil) != NULL, "v-ps: `contact add --org Bygg` refused "
		    "without naming both candidates: %.300s", r->err);
	}

	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/* A payload map {"invited": [...], "orgs": [...], "with": [...]}: 64
 * made-up ids each (references need not be held), the last
 * organisation last_org. */
static struct sl_buf
full_lists(const char *last_org)
{
	static const char *const keys[] = { "invited", "orgs", "with" };
	struct sl_buf g = { 0 };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 3);
	for (int k = 0; k < 3; k++) {
		sl_pack_cstr(&pk, keys[k]);
		msgpack_pack_array(&pk, SL_LIST_MAX);
		for (int i = 0; i < SL_LIST_MAX; i++) {
			uint8_t id[SL_ID_LEN] = { 0 };
			char t[SL_ID_TEXT + 1];

			id[0] = (uint8_t)k;
			id[1] = (uint8_t)i;
			id[15] = 0x5a;
			sl_b32_encode(t, id, SL_ID_LEN);
			sl_pack_cstr(&pk, k == 1 && i == SL_LIST_MAX - 1 ?
			    last_org : t);
		}
	}
	assert_false(g.failed);
	return g;
}

/*
 * 2. A meeting's index keys are capped at 160 (MAX_KEYS) while a
 * meeting may have 196 (title, date, type, 64 attended, 64 invited, 64
 * organisations, municipality): the rest are dropped without a word.  A
 * member fills another's meeting's lists (any ids will do) and the
 * meeting drops out of `meeting list --municipality` and of `--org` for
 * its later organisations, on every node.
 */
static void
test_index_key_cap(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	uint8_t head[SL_HASH_LEN];
	struct sl_buf g;
	struct tu_run *r;
	char m[SL_ID_TEXT + 1], o[SL_ID_TEXT + 1];

	(void)state;
	scene_start(&s, "kc");
	ident_init(&a, "a-kc");
	scene_member(&s, &a);
	snprintf(m, sizeof m, "%s", added(&v, &s.h, "meeting add",
	    sl(&s.h, "meeting", "add", "--title", "Samråd", "--date",
	    "2019-10-25", "--municipality", "Nacka", NULL)));
	snprintf(o, sizeof o, "%s", added(&v, &s.h, "org add", sl(&s.h, "org",
	    "add", "--name", "Sista föreningen", NULL)));
	scene_converge(&s);
	r = sl(&s.v, "meeting", "list", "--municipality", "Nacka", "--json",
	    NULL);
	expect(&v, r->status == 0 && strstr(r->out, m) != NULL, "v-kc: the "
	    "meeting is not listed before the attack: %.200s", r->out);
	head_of(&s.v, m, head);

	forger_init(&f, &a);
	g = full_lists(o);
	e = forge_on(&f, "meeting.updated", m,
	    (const uint8_t (*)[SL_HASH_LEN])head, 1, 0, &g);
	free(g.p);
	atk_deliver(&a, &s.v, &e, 1);
	scene_converge(&s);

	expect_shown(&v, &s.v, "meeting", m, "municipality", js("Nacka"));
	r = sl(&s.v, "meeting", "list", "--municipality", "Nacka", "--json",
	    NULL);
	expect(&v, r->status == 0 && strstr(r->out, m) != NULL, "v-kc: "
	    "`meeting list --municipality Nacka` no longer lists %.8s, whose "
	    "municipality is Nacka: %.200s", m, r->out);
	/* Its last organisation. */
	r = sl(&s.v, "meeting", "list", "--org", o, "--json", NULL);
	expect(&v, r->status == 0 && strstr(r->out, m) != NULL, "v-kc: "
	    "`meeting list --org %.8s` does not list %.8s, which names it: "
	    "%.200s", o, m, r->status == 0 ? r->out : r->err);
	/* And on the honest node after a rebuild: the same. */
	ok(sl(&s.h, "rebuild", NULL));
	r = sl(&s.h, "meeting", "list", "--municipality", "Nacka", "--json",
	    NULL);
	expect(&v, r->status == 0 && strstr(r->out, m) != NULL, "h-kc: after "
	    "a rebuild `meeting list --municipality Nacka` does not list "
	    "%.8s", m);

	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 3. (fixed: the content rules refuse an "on" more than SL_ON_AHEAD_DAYS
 * after the event's clock) One event dated far ahead froze every
 * `--as-of` view of a
 * record for good.  As of a day, an event is left out if its own `on`
 * is later, and so is every event naming it; honest writes name the
 * record's heads, so after a member's edit with on=9999-12-31 (any
 * field, even notes) nothing anyone writes to the record shows as of
 * any real day: `show --as-of`, `list --as-of` and the audit trail
 * answer with the record as it was before the attack.  (Current views,
 * and the order of values, are fine: a change made after it names it
 * and comes after it.)  What should bound `on`: a content rule (not
 * later than the event's own day, or a bounded distance from it), or
 * as-of taking an event whose parent is merely not in effect yet.
 */
static void
test_asof_frozen(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	uint8_t head[SL_HASH_LEN];
	struct sl_buf g;
	struct tu_run *r;
	char o[SL_ID_TEXT + 1], mun[256];

	(void)state;
	scene_start(&s, "af");
	ident_init(&a, "a-af");
	scene_member(&s, &a);
	snprintf(o, sizeof o, "%s", added(&v, &s.h, "org add",
	    sl(&s.h, "org", "add", "--name", "Föreningen Frusen", NULL)));
	scene_converge(&s);
	head_of(&s.v, o, head);

	forger_init(&f, &a);
	g = pmap("notes", "x", "on", "9999-12-31", NULL);
	e = forge_on(&f, "org.updated", o,
	    (const uint8_t (*)[SL_HASH_LEN])head, 1, 0, &g);
	free(g.p);
	atk_deliver(&a, &s.v, &e, 1);
	scene_converge(&s);
	expect_run(&v, &s.h, "org update --municipality", sl(&s.h, "org",
	    "update", o, "--municipality", "Nacka", NULL));
	scene_converge(&s);

	expect_shown(&v, &s.v, "org", o, "municipality", js("Nacka"));
	r = sl(&s.v, "org", "show", o, "--as-of", today(), "--json", NULL);
	mun[0] = '\0';
	if (r->status == 0)
		jget(r->out, "municipality", mun, sizeof mun);
	expect(&v, strcmp(mun, js("Nacka")) == 0, "v-af: `org show "
	    "--as-of %s` has municipality %s (want \"Nacka\", set today "
	    "after the attacker's on=9999-12-31 edit): %.200s", today(),
	    mun[0] ? mun : "none", r->status == 0 ? r->out : r->err);

	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 4. (open) A member archives an organisation and adds one of the same
 * name: every name a user types resolves to the new one, silently
 * ("an active record before archived ones").  Archiving is any member's
 * right in this version, and the duplicate-name check on add is local
 * only; together they turn `--org Bygg` into the attacker's record with
 * no ambiguity reported.
 */
static void
test_archive_shadow(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e[2];
	uint8_t head[SL_HASH_LEN];
	struct sl_buf g;
	struct tu_run *r;
	char bygg[SL_ID_TEXT + 1], evil[SL_ID_TEXT + 1];

	(void)state;
	scene_start(&s, "as");
	ident_init(&a, "a-as");
	scene_member(&s, &a);
	snprintf(bygg, sizeof bygg, "%s", added(&v, &s.h, "org add",
	    sl(&s.h, "org", "add", "--name", "Byggföretaget", NULL)));
	scene_converge(&s);
	head_of(&s.v, bygg, head);

	forger_init(&f, &a);
	g = pmap("name", "Byggföretaget", "on", today(), NULL);
	e[0] = forge_on(&f, "org.created", NULL, NULL, 0, 0, &g);
	free(g.p);
	id_created(evil, &e[0]);
	{
		struct sl_buf b = { 0 };
		msgpack_packer pk;

		msgpack_packer_init(&pk, &b, sl_buf_write);
		msgpack_pack_map(&pk, 2);
		sl_pack_cstr(&pk, "archived");
		msgpack_pack_true(&pk);
		sl_pack_cstr(&pk, "on");
		sl_pack_cstr(&pk, today());
		e[1] = forge_on(&f, "org.archived", bygg,
		    (const uint8_t (*)[SL_HASH_LEN])head, 1, f.hlc + 1, &b);
		free(b.p);
	}
	atk_deliver(&a, &s.v, e, 2);
	scene_converge(&s);

	r = sl(&s.v, "org", "show", "Byggföretaget", "--json", NULL);
	expect(&v, r->status != 0 || strstr(r->out, evil) == NULL, "v-as: "
	    "`org show Byggföretaget` silently shows the attacker's %.8s "
	    "(the honest %.8s was archived by the attacker)", evil, bygg);

	free(e[0].p);
	free(e[1].p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 5. (A review of index keys in creation order, 7e68eb1.)  Records of
 * one name list oldest first, and an import skips a row whose name a
 * record already has, taking the first record of that name.  Clocks
 * are the signer's word: a member that backdates its duplicate of the
 * victim's own organisation "Kommunstyrelsen" would have every later
 * import of that name on the victim matched to the attacker's record
 * (and the rows' old ids remapped to it).  Before 7e68eb1 the first was
 * the lowest id, which the attacker could grind for.  The import now
 * takes this organisation's own record of a name when there is one.
 */
static void
test_import_backdated_name(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	struct sl_buf g;
	struct tu_run *r;
	char own[SL_ID_TEXT + 1], evil[SL_ID_TEXT + 1], csv[600];
	FILE *fp;

	(void)state;
	scene_start(&s, "ib");
	ident_init(&a, "a-ib");
	scene_member(&s, &a);
	snprintf(own, sizeof own, "%s", added(&v, &s.v, "org add",
	    sl(&s.v, "org", "add", "--name", "Kommunstyrelsen", NULL)));

	/* The attacker's, dated a year back. */
	forger_init(&f, &a);
	g = pmap("name", "Kommunstyrelsen", NULL);
	e = forge_on(&f, "org.created", NULL, NULL, 0,
	    (sl_now_ms() - 365ull * 86400 * 1000) << 16, &g);
	free(g.p);
	id_created(evil, &e);
	atk_deliver(&a, &s.v, &e, 1);
	scene_converge(&s);
	r = sl(&s.v, "org", "list", "--json", NULL);
	expect(&v, strstr(r->out, evil) != NULL, "v-ib: the backdated org "
	    "%.8s was not taken in (the test proves nothing)", evil);

	snprintf(csv, sizeof csv, "%s/orgs.csv", s.v.dir);
	fp = fopen(csv, "w");
	assert_non_null(fp);
	fputs("name\nKommunstyrelsen\n", fp);
	fclose(fp);
	r = sl(&s.v, "import", csv, "--kind", "org", NULL);
	expect(&v, r->status == 0, "v-ib: import exited %d: %.200s",
	    r->status, r->err);
	expect(&v, strstr(r->err, own) != NULL && strstr(r->err, evil) ==
	    NULL, "v-ib: the row \"Kommunstyrelsen\" was matched to the "
	    "attacker's backdated %.8s, not to this organisation's own %.8s: "
	    "%.300s", evil, own, r->err);

	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/* ---- what held -------------------------------------------------------- */

/*
 * The order day: a record whose events say days far ahead and far
 * back, a child of a parent with a great order day, branches.  The
 * victim folds them one session at a time, the honest node all at once;
 * values are ordered by (order day, hlc, origin) on both, the same after
 * a rebuild and in the audit checker.
 */
static void
test_on_orders(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e[8];
	int n = 0;
	uint8_t created[SL_HASH_LEN], pr[2][SL_HASH_LEN];
	struct sl_buf g;
	char c[SL_ID_TEXT + 1], before[4][4096], path[512];
	static const char *const keys[] = { "role", "email", "phone",
		"municipality" };
	uint64_t t = (sl_now_ms() - 60000) << 16;

	(void)state;
	scene_start(&s, "oo");
	ident_init(&a, "a-oo");
	scene_member(&s, &a);
	forger_init(&f, &a);
	g = pmap("name", "Olle Ordning", "on", "2019-01-01", "role", "r0",
	    NULL);
	e[n++] = forge_on(&f, "contact.created", NULL, NULL, 0, t, &g);
	free(g.p);
	id_created(c, &e[0]);
	memcpy(created, e[0].hash, SL_HASH_LEN);
	/* A: far ahead; B: concurrent, back; C names A (inherits its day)
	 * with an earlier own day; D: concurrent with C, later clock. */
	/* Far ahead, as far as the rules allow. */
	g = pmap("on", days_ahead(SL_ON_AHEAD_DAYS - 10), "role", "rA", NULL);
	e[n++] = forge_on(&f, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])created, 1, t + 100, &g);
	free(g.p);
	g = pmap("on", "1950-01-01", "phone", "1", "role", "rB", NULL);
	e[n++] = forge_on(&f, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])created, 1, t + 200, &g);
	free(g.p);
	g = pmap("email", "c@example.org", "on", "2000-01-01", "role", "rC",
	    NULL);
	e[n++] = forge_on(&f, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])e[1].hash, 1, t + 300, &g);
	free(g.p);
	g = pmap("email", "d@example.org", "municipality", "Dd", "on",
	    days_ahead(SL_ON_AHEAD_DAYS / 2), NULL);
	e[n++] = forge_on(&f, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])e[2].hash, 1, t + 400, &g);
	free(g.p);
	/* E names C and D. */
	memcpy(pr[0], e[3].hash, SL_HASH_LEN);
	memcpy(pr[1], e[4].hash, SL_HASH_LEN);
	g = pmap("municipality", "Ee", "on", "1990-01-01", NULL);
	e[n++] = forge_on(&f, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])pr, 2, t + 500, &g);
	free(g.p);

	/* The honest node: all at once, in chain order. */
	atk_deliver(&a, &s.h, e, (size_t)n);
	/* The victim: one event per session, each folded as it comes. */
	for (int i = 0; i < n; i++)
		atk_deliver(&a, &s.v, &e[i], 1);
	scene_converge(&s);
	for (int k = 0; k < 4; k++) {
		const char *hv = shown(&s.h, "contact", c, keys[k]);

		snprintf(before[k], sizeof before[k], "%s", hv);
		expect(&v, strcmp(shown(&s.v, "contact", c, keys[k]), hv) ==
		    0, "v-oo: %s is %s, the honest node's %s", keys[k],
		    shown(&s.v, "contact", c, keys[k]), hv);
	}
	/* Values by (order day, hlc, origin): role rC (C inherits A's
	 * far day), email c@ (C over D: A's day over D's), municipality Ee (E
	 * names both), phone 1. */
	expect(&v, strcmp(before[0], js("rC")) == 0, "role is %s, want rC",
	    before[0]);
	expect(&v, strcmp(before[1], js("c@example.org")) == 0, "email is %s, "
	    "want c@example.org", before[1]);
	expect(&v, strcmp(before[3], js("Ee")) == 0, "municipality is %s, "
	    "want Ee", before[3]);
	ok(sl(&s.v, "rebuild", NULL));
	for (int k = 0; k < 4; k++)
		expect(&v, strcmp(shown(&s.v, "contact", c, keys[k]),
		    before[k]) == 0, "v-oo: after a rebuild %s is %s, was %s",
		    keys[k], shown(&s.v, "contact", c, keys[k]), before[k]);
	snprintf(path, sizeof path, "%s/oo-audit.bundle", cl_tmp);
	expect_check_is_node(&v, &s.v, c, path);

	for (int i = 0; i < n; i++)
		free(e[i].p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}


/* The bad payloads of test_new_rules, by case. */
static struct sl_buf
bad_payload(int i, const char **type, const char **what)
{
	struct sl_buf g = { 0 };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &g, sl_buf_write);
	*type = "org.updated";
	switch (i) {
	case 0:
		*what = "nil for a required field (name)";
		msgpack_pack_map(&pk, 1);
		sl_pack_cstr(&pk, "name");
		msgpack_pack_nil(&pk);
		break;
	case 1:
		*what = "archived through org.updated";
		msgpack_pack_map(&pk, 1);
		sl_pack_cstr(&pk, "archived");
		msgpack_pack_true(&pk);
		break;
	case 2:
		*what = "org.archived with archived false";
		*type = "org.archived";
		msgpack_pack_map(&pk, 1);
		sl_pack_cstr(&pk, "archived");
		msgpack_pack_false(&pk);
		break;
	case 3:
		*what = "org.archived with archived nil";
		*type = "org.archived";
		msgpack_pack_map(&pk, 1);
		sl_pack_cstr(&pk, "archived");
		msgpack_pack_nil(&pk);
		break;
	case 4:
		*what = "org.archived carrying a name too";
		*type = "org.archived";
		msgpack_pack_map(&pk, 2);
		sl_pack_cstr(&pk, "archived");
		msgpack_pack_true(&pk);
		sl_pack_cstr(&pk, "name");
		sl_pack_cstr(&pk, "Kapad");
		break;
	case 5:
		*what = "an update with nothing but on";
		msgpack_pack_map(&pk, 1);
		sl_pack_cstr(&pk, "on");
		sl_pack_cstr(&pk, "2019-01-01");
		break;
	case 6:
		*what = "on 2019-02-29 (no such day)";
		msgpack_pack_map(&pk, 2);
		sl_pack_cstr(&pk, "notes");
		sl_pack_cstr(&pk, "x");
		sl_pack_cstr(&pk, "on");
		sl_pack_cstr(&pk, "2019-02-29");
		break;
	case 7:
		*what = "on as a number";
		msgpack_pack_map(&pk, 2);
		sl_pack_cstr(&pk, "notes");
		sl_pack_cstr(&pk, "x");
		sl_pack_cstr(&pk, "on");
		msgpack_pack_uint32(&pk, 20190101);
		break;
	case 8:
		*what = "on nil";
		msgpack_pack_map(&pk, 2);
		sl_pack_cstr(&pk, "notes");
		sl_pack_cstr(&pk, "x");
		sl_pack_cstr(&pk, "on");
		msgpack_pack_nil(&pk);
		break;
	default:
		*what = "on 1899-12-31";
		msgpack_pack_map(&pk, 2);
		sl_pack_cstr(&pk, "notes");
		sl_pack_cstr(&pk, "x");
		sl_pack_cstr(&pk, "on");
		sl_pack_cstr(&pk, "1899-12-31");
		break;
	}
	assert_false(g.failed);
	return g;
}

/*
 * The new content rules hold at ingest, from a peer: nil for a required
 * field, archived through an update or with the wrong value or with
 * other fields, an update of nothing but its date, and dates that are
 * not days are refused (each by a fresh member: a refusal stalls its
 * origin), and the record is as it was.
 */
static void
test_new_rules(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	uint8_t head[SL_HASH_LEN], oid[SL_ID_LEN];
	char o[SL_ID_TEXT + 1];

	(void)state;
	scene_start(&s, "nr");
	snprintf(o, sizeof o, "%s", added(&v, &s.h, "org add", sl(&s.h, "org",
	    "add", "--name", "Regelrätt", NULL)));
	scene_converge(&s);
	head_of(&s.v, o, head);
	id_of(oid, o);
	for (int i = 0; i < 10; i++) {
		struct ident a;
		struct forger f;
		struct rec e;
		struct sl_buf g;
		const char *type, *what;
		char name[16];

		snprintf(name, sizeof name, "a%d-nr", i);
		ident_init(&a, name);
		scene_member(&s, &a);
		forger_init(&f, &a);
		g = bad_payload(i, &type, &what);
		e = forge(&f, &(struct forgery){ .type = type, .entity = oid,
		    .parents = (const uint8_t (*)[SL_HASH_LEN])head,
		    .n_parents = 1, .payload = g.p,
		    .payload_len = (uint32_t)g.len });
		free(g.p);
		expect_refused(&v, &s.v, &a, &e, 1, true, what);
		free(e.p);
		ident_free(&a);
	}
	expect_shown(&v, &s.v, "org", o, "name", js("Regelrätt"));
	expect_shown(&v, &s.v, "org", o, "archived", "false");
	scene_stop(&s);
	verdict_end(&v);
}

int
main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test_teardown(test_prefix_shadows_name, cl_reap),
		cmocka_unit_test_teardown(test_index_key_cap, cl_reap),
		cmocka_unit_test_teardown(test_on_orders, cl_reap),
		cmocka_unit_test_teardown(test_new_rules, cl_reap),
		cmocka_unit_test_teardown(test_asof_frozen, cl_reap),
		/* Issue 14: only the organisation that created a record
		 * archives it. */
		cmocka_unit_test_teardown(test_archive_shadow, cl_reap),
		cmocka_unit_test_teardown(test_import_backdated_name, cl_reap),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (sl_crypto_init() != 0)
		return 1;
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	rc = cmocka_run_group_tests_name("attack13", fixed, cl_setup,
	    cl_teardown);
	return rc;
}
