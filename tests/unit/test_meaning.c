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
 *   6. a parent no one holds;
 *   7. authority: another organisation's decision stepped or renamed,
 *      its contact archived;
 *   8. a member's node that holds events of an origin the victim does
 *      not accept;
 *   9. a retired member's later event relayed by another member.
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
#include "victim.h"


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
	scene_converge(&s);
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
	scene_converge(&s);
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
	scene_converge(&s);
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
	scene_converge(&s);
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
	scene_converge(&s);
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
	scene_converge(&s);
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
	scene_converge(&s);
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
	scene_converge(&s);
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
	scene_converge(&s);
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
	scene_converge(&s);
	expect_shown(&v, &s.v, "decision", d, "status", js("proposed"));

	expect_run(&v, &s.h, "decision adopt", sl(&s.h, "decision", "adopt",
	    d, NULL));
	scene_converge(&s);
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

/* (d) Two honest nodes, apart, take clashing steps on a shared record
 * (an action: a decision is its deciding organisation's alone, 11.6);
 * once they meet, both show the same, in conflict, and a step on either
 * resolves it. */
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
	snprintf(d, sizeof d, "%s", line1(sl(&n1, "action", "add",
	    "--title", "Lokalfrågan", NULL)));
	wait_converged(both, 2);
	expect_shown(&v, &n2, "action", d, "status", js("open"));

	/* Apart: n2 forgets n1 (the connection drops at once, and n1 has no
	 * address to dial). */
	ok(sl(&n2, "peer", "remove", n1.name, NULL));
	ok(sl(&n1, "action", "done", d, NULL));
	ok(sl(&n2, "action", "drop", d, NULL));
	expect_shown(&v, &n1, "action", d, "status", js("done"));
	expect_shown(&v, &n2, "action", d, "status", js("dropped"));

	trust(&n2, &n1, true);
	wait_converged(both, 2);
	snprintf(st1, sizeof st1, "%s", shown(&n1, "action", d, "status"));
	snprintf(st2, sizeof st2, "%s", shown(&n2, "action", d, "status"));
	expect(&v, strcmp(st1, st2) == 0, "after the clash the nodes differ: "
	    "%s on c1-cc, %s on c2-cc", st1, st2);
	expect_shown(&v, &n1, "action", d, "conflict", "true");
	expect_shown(&v, &n2, "action", d, "conflict", "true");

	/* The clash is not stuck: an organisation that accepts the other
	 * side ends it, on both nodes.  Declaring its own side the winner
	 * is not an organisation's to do. */
	struct tu_run *own = sl(&n1, "action", "done", d, NULL);

	expect(&v, own->status == 1 && strstr(own->err, "in conflict") !=
	    NULL, "c1-cc: re-stating its own side exited %d: %s",
	    own->status, own->err);
	expect_run(&v, &n2, "action done on the node that dropped it "
	    "(accepting the other side)", sl(&n2, "action", "done", d, NULL));
	wait_converged(both, 2);
	for (int i = 0; i < 2; i++) {
		expect_shown(&v, both[i], "action", d, "status",
		    js("done"));
		expect_shown(&v, both[i], "action", d, "conflict", "false");
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
	scene_converge(&s);
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
	/* W holds its own node.org, the victim's and the honest peer's
	 * (a member W learns of from the victim's admission of it). */
	wait_events((struct node *[]){ &w }, 1, 3);

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
	expect(&v, events(&w) == 3, "w-sb: W holds %ld events after the "
	    "stripped copies, want 3 (a copy without its body is not relayed)",
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
	scene_converge(&s);

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
	scene_converge(&s);
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
	scene_converge(&s);
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

/* ---- 7. authority: a member speaks for itself, never for others ---------- */

/*
 * The honest node's decision and its contact; a member forges the
 * decision's adoption, a new title for it, the archiving of the contact
 * and its archived decision's restoring.  None of it is the member's to
 * say: every node keeps the record as its organisation left it, history
 * shows why, and the organisation's own step still counts.  The victim,
 * a real member node, is refused the same steps at local write.
 */
static void
test_authority(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e[3];
	uint8_t dh[SL_HASH_LEN], ch[SL_HASH_LEN];
	struct sl_buf g;
	char d[SL_ID_TEXT + 1], c[SL_ID_TEXT + 1], path[640];
	struct tu_run *r;

	(void)state;
	scene_start(&s, "au");
	ident_init(&a, "a-au");
	scene_member(&s, &a);
	snprintf(d, sizeof d, "%s", scene_decision(&s, "Budget 2028", dh));
	snprintf(c, sizeof c, "%s", contact_add(&s.h, "Ägd Åsa", "r1"));
	scene_converge(&s);
	head_of(&s.v, c, ch);

	forger_init(&f, &a);
	g = pmap("status", "adopted", NULL);
	e[0] = forge_on(&f, "decision.adopted", d,
	    (const uint8_t (*)[SL_HASH_LEN])dh, 1, 0, &g);
	free(g.p);
	g = pmap("title", "Kapad", NULL);
	e[1] = forge_on(&f, "decision.updated", d,
	    (const uint8_t (*)[SL_HASH_LEN])e[0].hash, 1,
	    f.hlc + (10ull << 16), &g);
	free(g.p);
	{
		/* {"archived": true} */
		static const uint8_t arch[] = { 0x81, 0xa8, 'a', 'r', 'c', 'h',
			'i', 'v', 'e', 'd', 0xc3 };

		g.p = malloc(sizeof arch);
		assert_non_null(g.p);
		memcpy(g.p, arch, sizeof arch);
		g.len = sizeof arch;
	}
	e[2] = forge_on(&f, "contact.archived", c,
	    (const uint8_t (*)[SL_HASH_LEN])ch, 1, f.hlc + (10ull << 16),
	    &g);
	free(g.p);
	atk_deliver(&a, &s.v, e, 3);
	scene_converge(&s);
	for (int i = 0; i < 2; i++) {
		const struct node *n = i == 0 ? &s.v : &s.h;

		expect_shown(&v, n, "decision", d, "status", js("proposed"));
		expect_shown(&v, n, "decision", d, "title", js("Budget 2028"));
		expect_shown(&v, n, "contact", c, "archived", "false");
	}
	r = sl(&s.v, "history", d, NULL);
	expect(&v, r->status == 0 && strstr(r->out, "not the deciding "
	    "organisation") != NULL, "history of the decision on the victim "
	    "does not say why the forged steps changed nothing: %s%s", r->out,
	    r->err);

	/* The checker folds the same. */
	snprintf(path, sizeof path, "%s/au.audit", cl_tmp);
	expect_run(&v, &s.v, "audit --out", sl(&s.v, "audit", d, "--out",
	    path, NULL));
	r = check_offline(path, true);
	expect(&v, r->status == 0 && strstr(r->out, "\"status\": "
	    "\"proposed\"") != NULL && strstr(r->out, "\"title\": \"Budget "
	    "2028\"") != NULL && strstr(r->out, "not the deciding "
	    "organisation") != NULL, "the checker folds the forged "
	    "adoption otherwise (exit %d): %s%s", r->status, r->out, r->err);

	/* A member node is refused the same at local write. */
	r = sl(&s.v, "decision", "adopt", d, NULL);
	expect(&v, r->status == 1 && strstr(r->err, "Hederlig") != NULL,
	    "the victim adopting the honest node's decision exited %d: %s",
	    r->status, r->err);
	r = sl(&s.v, "contact", "archive", c, NULL);
	expect(&v, r->status == 1 && strstr(r->err, "Hederlig") != NULL,
	    "the victim archiving the honest node's contact exited %d: %s",
	    r->status, r->err);

	/* The organisation's own step counts. */
	expect_run(&v, &s.h, "decision adopt", sl(&s.h, "decision", "adopt", d,
	    NULL));
	scene_converge(&s);
	expect_shown(&v, &s.v, "decision", d, "status", js("adopted"));

	expect_verify(&v, &s.v);
	for (int i = 0; i < 3; i++)
		free(e[i].p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 8. Nodes that disagree on who is a member: a member's node says it
 * holds events of an origin the victim does not accept.  The victim
 * takes none of them, and `status` says so (an older version showed
 * nothing: a node given only some of the members' keys dropped the
 * others' events without a word).
 */
static void
test_stranger_warning(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a, x;
	struct atk k;
	struct vent vec[1];
	struct tu_run *r;

	(void)state;
	scene_start(&s, "sw");
	ident_init(&a, "a-sw");
	ident_init(&x, "x-sw");
	scene_member(&s, &a);
	vec[0] = (struct vent){ x.key.pub, 5, NULL };
	atk_session(&k, &a, &s.v, vec, 1);
	r = sl(&s.v, "status", "--json", NULL);
	expect(&v, r->status == 0 && strstr(r->out, "does not accept") !=
	    NULL, "v-sw: status does not warn of the origin it does not "
	    "accept: %s", r->out);
	r = sl(&s.v, "status", NULL);
	expect(&v, strstr(r->out, "a-sw holds events of 1 origin") != NULL,
	    "v-sw: status (table) does not name the peer: %s", r->out);
	atk_end(&k);
	expect_verify(&v, &s.v);
	ident_free(&a);
	ident_free(&x);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 9. A retired member's later event, relayed by another member: the hub
 * retires member a after a's first event; a second member passes on an
 * event a signed afterwards.  The victim refuses it (kept as evidence)
 * and keeps a's first one.
 */
static void
test_retired_relayed(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a, b;
	struct forger f;
	struct rec e1, e2;
	struct sl_buf g;
	char fpr[SL_FPR_TEXT + 1], c1[SL_ID_TEXT + 1];
	long refused;
	struct tu_run *r;

	(void)state;
	scene_start(&s, "rr");
	ident_init(&a, "a-rr");
	ident_init(&b, "b-rr");
	scene_member(&s, &a);
	scene_member(&s, &b);
	forger_init(&f, &a);
	g = pmap("name", "Före Pension", NULL);
	e1 = forge_on(&f, "contact.created", NULL, NULL, 0, 0, &g);
	free(g.p);
	id_created(c1, &e1);
	atk_deliver(&a, &s.v, &e1, 1);
	scene_converge(&s);
	sl_fingerprint(fpr, a.key.pub);
	/* Both organisations that admitted a retire it. */
	expect_run(&v, &s.h, "member retire", sl(&s.h, "member", "retire",
	    fpr, NULL));
	expect_run(&v, &s.v, "member retire", sl(&s.v, "member", "retire",
	    fpr, NULL));
	/* The retirement reaches the victim. */
	for (int i = 0; i < 100 && strstr(sl(&s.v, "member", "list", "--json",
	    NULL)->out, "\"retired\"") == NULL; i++)
		usleep(100000);
	refused = status_num(&s.v, "refused");
	g = pmap("name", "Efter Pension", NULL);
	e2 = forge_on(&f, "contact.created", NULL, NULL, 0, 0, &g);
	free(g.p);
	atk_deliver(&b, &s.v, &e2, 1);
	usleep(500000);
	expect(&v, status_num(&s.v, "refused") == refused + 1, "v-rr: the "
	    "retired member's later event was not refused (refused %ld, was "
	    "%ld)", status_num(&s.v, "refused"), refused);
	r = sl(&s.v, "find", "Pension", "--json", NULL);
	expect(&v, strstr(r->out, "Före Pension") != NULL &&
	    strstr(r->out, "Efter Pension") == NULL, "v-rr: want only the "
	    "contact from before the retirement: %s", r->out);
	expect_shown(&v, &s.v, "contact", c1, "name", js("Före Pension"));
	expect_verify(&v, &s.v);
	free(e1.p);
	free(e2.p);
	ident_free(&a);
	ident_free(&b);
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
		cmocka_unit_test_teardown(test_authority, cl_reap),
		cmocka_unit_test_teardown(test_stranger_warning, cl_reap),
		cmocka_unit_test_teardown(test_retired_relayed, cl_reap),
	};

	signal(SIGPIPE, SIG_IGN);
	if (sl_crypto_init() != 0)
		return 1;
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
