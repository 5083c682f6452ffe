/*
 * test_attack.c - a security review of samlog as a hostile member: each
 * finding as a test that passes once the weakness is gone.
 *
 * A hostile member (attacker.h: validly signed events of its own chain,
 * any header values) against real victim daemons, and against the fold,
 * the store and the audit checker directly.  By default the findings
 * that are fixed run, and what held up (test_hostile_orders: hostile
 * events in random orders and a rebuild give one projection); those
 * once open run too (each is fixed now):
 *
 *   fixed  test_future_head, test_audit_foreign_parent,
 *          test_audit_missing_quadratic, test_mem_fold_quadratic,
 *          test_nested_unknown_map, test_why_order, test_checker_rules,
 *          test_ref_other_kind, test_noop_launders_seen,
 *          test_org_impersonation (issue 14: names bound in the log)
 *   open   test_lifecycle_ancestor, test_stripped_relay,
 *          test_checker_future, test_cascade,
 *          test_late_reject_branch, test_restate_ancestor,
 *          test_self_resolved_clash
 *          (prints a time; fails only on an error)
 *
 * Each test's comment says what the attack did on the code it was found
 * on.  Replay one: TEST_FILTER=test_future_head build/test_attack;
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "attacker.h"
#include "cluster.h"
#include "project.h"
#include "samlog_proto.h"
#include "store.h"
#include "testutil.h"
#include "victim.h"


#define MIN_MS ((uint64_t)60 * 1000)
/* Time bounds stretch under the sanitizers (make check's second build). */
#if defined(__SANITIZE_ADDRESS__)
#define SLOW 10.0
#else
#define SLOW 1.0
#endif

/* ---- the findings ---------------------------------------------------------- */

static const char *checked(const char *path, const char *key);

/* The effect (history's verdict) of the event of record id on n whose
 * author is author and whose changes hold needle; "" if none. */
static const char *
effect_of(const struct node *n, const char *id, const char *needle)
{
	static char out[256];
	struct tu_run *r = sl(n, "history", id, "--json", NULL);
	const char *p = r->out, *e;
	size_t el;

	out[0] = '\0';
	if (r->status != 0)
		return out;
	jws(&p);
	while (jelem(&p, &e, &el) == 1) {
		char obj[8192], eff[256];

		snprintf(obj, sizeof obj, "%.*s", (int)(el < 8191 ? el : 8191),
		    e);
		if (strstr(obj, needle) == NULL)
			continue;
		if (jget(obj, "effect", eff, sizeof eff))
			snprintf(out, sizeof out, "%s", eff);
		break;
	}
	return out;
}

/*
 * 1. A head stamped a few minutes ahead makes every honest edit of the
 * record be ignored for good.  The store adopts a foreign clock only up
 * to 5 minutes ahead (STORE_MAX_SKEW_MS) while the fold takes events up
 * to max_skew (10 minutes) ahead; and a local write never makes its own
 * clock greater than the heads it names.  An honest `contact update`
 * names the attacker's head, is stamped before it, and the fold judges
 * it "not later than its parents": the user is told "ok", the edit is
 * lost on every node, now and after the attacker's clock has passed.
 */
static void
test_future_head(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	uint8_t head[SL_HASH_LEN];
	struct sl_buf g;
	char c[SL_ID_TEXT + 1];
	const char *eff;

	(void)state;
	scene_start(&s, "fh");
	ident_init(&a, "a-fh");
	scene_member(&s, &a);
	snprintf(c, sizeof c, "%s", contact_add(&s.h, "Hanna Hederlig", "r1"));
	scene_converge(&s);
	head_of(&s.v, c, head);

	/* Seven minutes ahead: within max_skew (folded now), beyond the
	 * 5 minutes the store adopts. */
	forger_init(&f, &a);
	g = pmap("role", "kapad", NULL);
	e = forge_on(&f, "contact.updated", c,
	    (const uint8_t (*)[SL_HASH_LEN])head, 1,
	    (sl_now_ms() + 7 * MIN_MS) << 16, &g);
	free(g.p);
	atk_deliver(&a, &s.v, &e, 1);
	scene_converge(&s);

	/* Honest edits on both nodes, acknowledged "ok". */
	expect_run(&v, &s.v, "contact update --role offret", sl(&s.v,
	    "contact", "update", c, "--role", "offret", NULL));
	expect_run(&v, &s.h, "contact update --email", sl(&s.h, "contact",
	    "update", c, "--email", "hanna@example.org", NULL));
	scene_converge(&s);
	expect_shown(&v, &s.v, "contact", c, "role", js("offret"));
	expect_shown(&v, &s.v, "contact", c, "email",
	    js("hanna@example.org"));
	expect_shown(&v, &s.h, "contact", c, "email",
	    js("hanna@example.org"));
	eff = effect_of(&s.v, c, "offret");
	expect(&v, strcmp(eff, js("applied")) == 0, "v-fh: the honest "
	    "edit's effect is %s, want \"applied\" (its verdict never "
	    "changes: the edit is lost for good)", eff);
	eff = effect_of(&s.h, c, "hanna@example.org");
	expect(&v, strcmp(eff, js("applied")) == 0, "h-fh: the honest "
	    "edit's effect is %s, want \"applied\"", eff);

	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 2. The lifecycle at the fold is not the lifecycle at local write.  A
 * local step must be allowed from the state of one of the record's
 * heads; the fold allows it from the state of any parent, and a parent
 * may be an old event, an ancestor of the head it also names.  One event
 * naming the creation (proposed) and the rejection turns a rejected
 * decision into an adopted one, on every node, with no conflict shown
 * (the rejection is named, so it stops being a head).  With two events
 * (a branch from an old state, then a merge that re-states it) the same
 * works against a revoked decision through the clash rule.
 */
static void
test_lifecycle_ancestor(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e[3];
	uint8_t pr[2][SL_HASH_LEN], created[SL_HASH_LEN], head[SL_HASH_LEN];
	uint8_t adopted[SL_HASH_LEN], revoked[SL_HASH_LEN];
	struct sl_buf g;
	char d[SL_ID_TEXT + 1], d2[SL_ID_TEXT + 1];
	struct tu_run *r;

	(void)state;
	scene_start(&s, "la");
	ident_init(&a, "a-la");
	scene_member(&s, &a);

	/* Decision D: proposed, then rejected, by the honest member. */
	snprintf(d, sizeof d, "%s", scene_decision(&s, "Avslaget", created));
	ok(sl(&s.h, "decision", "reject", d, "--reason", "nej", NULL));
	scene_converge(&s);
	head_of(&s.v, d, head);
	/* The same step, asked of the victim, is refused. */
	r = sl(&s.v, "decision", "adopt", d, NULL);
	expect(&v, r->status != 0, "v-la: a local adopt of the rejected "
	    "decision was accepted");

	memcpy(pr[0], created, SL_HASH_LEN);
	memcpy(pr[1], head, SL_HASH_LEN);
	forger_init(&f, &a);
	g = pmap("reason", NULL, "status", "adopted", NULL);
	e[0] = forge_on(&f, "decision.adopted", d,
	    (const uint8_t (*)[SL_HASH_LEN])pr, 2, 0, &g);
	free(g.p);
	atk_deliver(&a, &s.v, e, 1);
	scene_converge(&s);
	/* Rejected, or at least a conflict anyone can see. */
	for (int i = 0; i < 2; i++) {
		const struct node *n = i == 0 ? &s.v : &s.h;
		const char *st = shown(n, "decision", d, "status");
		const char *cf = shown(n, "decision", d, "conflict");

		expect(&v, strcmp(st, js("rejected")) == 0 ||
		    strcmp(cf, "true") == 0, "%s: decision show %.8s: status "
		    "is %s with conflict %s, want \"rejected\" (or a "
		    "conflict)", n->name, d, st, cf);
	}
	free(e[0].p);

	/* Decision D2: proposed, adopted, revoked.  A branch adopting from
	 * the creation, then an amendment naming the revocation and the
	 * branch: a clash "resolved" into amended. */
	snprintf(d2, sizeof d2, "%s", scene_decision(&s, "Återkallat",
	    created));
	ok(sl(&s.h, "decision", "adopt", d2, NULL));
	scene_converge(&s);
	head_of(&s.v, d2, adopted);
	ok(sl(&s.h, "decision", "revoke", d2, "--reason", "fel", NULL));
	scene_converge(&s);
	head_of(&s.v, d2, revoked);

	g = pmap("reason", NULL, "status", "adopted", NULL);
	e[1] = forge_on(&f, "decision.adopted", d2,
	    (const uint8_t (*)[SL_HASH_LEN])created, 1, 0, &g);
	free(g.p);
	memcpy(pr[0], revoked, SL_HASH_LEN);
	memcpy(pr[1], e[1].hash, SL_HASH_LEN);
	g = pmap("reason", NULL, "status", "amended", "text", "Nytt liv",
	    NULL);
	e[2] = forge_on(&f, "decision.amended", d2,
	    (const uint8_t (*)[SL_HASH_LEN])pr, 2, f.hlc + 1, &g);
	free(g.p);
	atk_deliver(&a, &s.v, e + 1, 2);
	scene_converge(&s);
	{
		const char *st = shown(&s.v, "decision", d2, "status");
		const char *cf = shown(&s.v, "decision", d2, "conflict");

		expect(&v, strcmp(st, js("revoked")) == 0 ||
		    strcmp(cf, "true") == 0, "v-la: decision show %.8s: status "
		    "is %s with conflict %s, want \"revoked\" (or a "
		    "conflict)", d2, st, cf);
	}
	(void)adopted;

	free(e[1].p);
	free(e[2].p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 3. A late rejection, branched from the creation, stands for good.
 * "A final state in the parents' seen states stands" cannot tell a real
 * clash (two members step "proposed" at once) from a member that, months
 * after a decision was adopted and amended, signs a rejection naming only
 * its creation: both look like a branch from "proposed".  Any one member
 * then ends any adopted decision: the record shows a conflict whose
 * greatest head (the member picks its clock) reads "rejected", and every
 * honest node refuses every step but a re-rejection (step_check and the
 * fold agree), so the organisations that adopted it cannot restore it.
 */
static void
test_late_reject_branch(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	uint8_t created[SL_HASH_LEN];
	struct sl_buf g;
	char d[SL_ID_TEXT + 1];
	struct tu_run *r;

	(void)state;
	scene_start(&s, "lr");
	ident_init(&a, "a-lr");
	scene_member(&s, &a);

	/* Adopted, then amended, by the honest member. */
	snprintf(d, sizeof d, "%s", scene_decision(&s, "Antaget", created));
	ok(sl(&s.h, "decision", "adopt", d, NULL));
	scene_converge(&s);
	ok(sl(&s.h, "decision", "amend", d, "--text", "Ändrat", NULL));
	scene_converge(&s);
	expect_shown(&v, &s.v, "decision", d, "status", js("amended"));

	/* The member's rejection, naming only the creation. */
	forger_init(&f, &a);
	g = pmap("reason", "sent", "status", "rejected", NULL);
	e = forge_on(&f, "decision.rejected", d,
	    (const uint8_t (*)[SL_HASH_LEN])created, 1, 0, &g);
	free(g.p);
	atk_deliver(&a, &s.v, &e, 1);
	scene_converge(&s);
	printf("# after the late rejection: status %s conflict %s\n",
	    shown(&s.v, "decision", d, "status"),
	    shown(&s.v, "decision", d, "conflict"));

	/* The deciding organisation restates its branch (since 11.6 the
	 * member's rejection is no step at all: not its decision). */
	r = sl(&s.h, "decision", "amend", d, "--text", "Återställt", NULL);
	expect(&v, r->status == 0, "h-lr: the honest amendment that ends the "
	    "clash was refused: %s", r->err);
	scene_converge(&s);
	for (int i = 0; i < 2; i++) {
		const struct node *n = i == 0 ? &s.v : &s.h;
		const char *st = shown(n, "decision", d, "status");
		const char *cf = shown(n, "decision", d, "conflict");

		expect(&v, strcmp(st, js("amended")) == 0 &&
		    strcmp(cf, "false") == 0, "%s: decision show %.8s: status "
		    "is %s with conflict %s, want \"amended\" and no conflict "
		    "(a late rejection naming only the creation)", n->name, d,
		    st, cf);
	}
	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 4. The clash rule still steps around the lifecycle by naming an
 * ancestor, when no final state is in the past: an "adopt" naming the
 * adoption and the amendment that follows it (states 2 and 4 differ, one
 * is re-stated) turns an amended decision back into adopted, with no
 * conflict shown, though adopted follows only proposed.  No honest local
 * write can do this (it names heads only, never an ancestor).
 */
static void
test_restate_ancestor(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	uint8_t pr[2][SL_HASH_LEN];
	struct sl_buf g;
	char d[SL_ID_TEXT + 1];

	(void)state;
	scene_start(&s, "ra");
	ident_init(&a, "a-ra");
	scene_member(&s, &a);

	snprintf(d, sizeof d, "%s", scene_decision(&s, "Ändrat", NULL));
	ok(sl(&s.h, "decision", "adopt", d, NULL));
	scene_converge(&s);
	head_of(&s.v, d, pr[0]);
	ok(sl(&s.h, "decision", "amend", d, "--text", "Ny", NULL));
	scene_converge(&s);
	head_of(&s.v, d, pr[1]);
	if (memcmp(pr[0], pr[1], SL_HASH_LEN) > 0) {
		uint8_t t[SL_HASH_LEN];

		memcpy(t, pr[0], SL_HASH_LEN);
		memcpy(pr[0], pr[1], SL_HASH_LEN);
		memcpy(pr[1], t, SL_HASH_LEN);
	}
	forger_init(&f, &a);
	g = pmap("reason", NULL, "status", "adopted", NULL);
	e = forge_on(&f, "decision.adopted", d,
	    (const uint8_t (*)[SL_HASH_LEN])pr, 2, 0, &g);
	free(g.p);
	atk_deliver(&a, &s.v, &e, 1);
	scene_converge(&s);
	for (int i = 0; i < 2; i++) {
		const struct node *n = i == 0 ? &s.v : &s.h;
		const char *st = shown(n, "decision", d, "status");
		const char *cf = shown(n, "decision", d, "conflict");

		expect(&v, strcmp(st, js("amended")) == 0 ||
		    strcmp(cf, "true") == 0, "%s: decision show %.8s: status "
		    "is %s with conflict %s, want \"amended\" (adopted does "
		    "not follow amended)", n->name, d, st, cf);
	}
	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 5. A member ends another organisation's adopted decision silently by
 * making a clash and resolving it itself.  A rejection branching from
 * the creation (a clash, which would show), then at once a rejection
 * naming the honest adoption and that branch: the greatest parent (the
 * branch) has not seen "adopted", so it is a clash, and the step
 * re-states the branch's "rejected", which the adoption never went
 * through, so it applies.  Both heads are named: one head, "rejected",
 * no conflict, on every node; and "rejected" is final, so no honest step
 * brings the adoption back.
 */
static void
test_self_resolved_clash(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e[2];
	uint8_t created[SL_HASH_LEN], pr[2][SL_HASH_LEN];
	struct sl_buf g;
	char d[SL_ID_TEXT + 1];

	(void)state;
	scene_start(&s, "sx");
	ident_init(&a, "a-sx");
	scene_member(&s, &a);

	snprintf(d, sizeof d, "%s", scene_decision(&s, "Antaget", created));
	ok(sl(&s.h, "decision", "adopt", d, NULL));
	scene_converge(&s);
	head_of(&s.v, d, pr[0]);
	expect_shown(&v, &s.v, "decision", d, "status", js("adopted"));

	forger_init(&f, &a);
	g = pmap("reason", "nej", "status", "rejected", NULL);
	e[0] = forge_on(&f, "decision.rejected", d,
	    (const uint8_t (*)[SL_HASH_LEN])created, 1, 0, &g);
	memcpy(pr[1], e[0].hash, SL_HASH_LEN);
	e[1] = forge_on(&f, "decision.rejected", d,
	    (const uint8_t (*)[SL_HASH_LEN])pr, 2, f.hlc + 1, &g);
	free(g.p);
	atk_deliver(&a, &s.v, e, 2);
	scene_converge(&s);
	for (int i = 0; i < 2; i++) {
		const struct node *n = i == 0 ? &s.v : &s.h;
		const char *st = shown(n, "decision", d, "status");
		const char *cf = shown(n, "decision", d, "conflict");

		expect(&v, strcmp(st, js("adopted")) == 0 ||
		    strcmp(cf, "true") == 0, "%s: decision show %.8s: status "
		    "is %s with conflict %s, want \"adopted\" (or a "
		    "conflict): a clash made and resolved by one member",
		    n->name, d, st, cf);
	}
	free(e[0].p);
	free(e[1].p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 6. A no-op launders "seen": a revoked decision comes back, amended,
 * with no conflict.  A step that does not apply keeps the state of its
 * greatest parent but the seen states of all of its parents.  The
 * member adopts on a branch from the creation (clock after the
 * revocation), then names the revocation and that branch in a rejection
 * (a clash; "rejected" re-states no side: a no-op, whose state is the
 * branch's "adopted" and whose seen holds "revoked"), then names all
 * three in an amendment: its greatest parent, the no-op, has seen every
 * other parent's state, so it is judged from "adopted" and applies.
 * Both heads are named: one head, "amended", new text, no conflict.
 */
static void
test_noop_launders_seen(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e[3];
	uint8_t created[SL_HASH_LEN], pr[3][SL_HASH_LEN];
	struct sl_buf g;
	char d[SL_ID_TEXT + 1];

	(void)state;
	scene_start(&s, "nl");
	ident_init(&a, "a-nl");
	scene_member(&s, &a);

	snprintf(d, sizeof d, "%s", scene_decision(&s, "Återkallat", created));
	ok(sl(&s.h, "decision", "adopt", d, NULL));
	scene_converge(&s);
	ok(sl(&s.h, "decision", "revoke", d, "--reason", "fel", NULL));
	scene_converge(&s);
	head_of(&s.v, d, pr[0]);
	expect_shown(&v, &s.v, "decision", d, "status", js("revoked"));

	forger_init(&f, &a);
	g = pmap("reason", NULL, "status", "adopted", NULL);
	e[0] = forge_on(&f, "decision.adopted", d,
	    (const uint8_t (*)[SL_HASH_LEN])created, 1, 0, &g);
	free(g.p);
	memcpy(pr[1], e[0].hash, SL_HASH_LEN);
	g = pmap("reason", "x", "status", "rejected", NULL);
	e[1] = forge_on(&f, "decision.rejected", d,
	    (const uint8_t (*)[SL_HASH_LEN])pr, 2, f.hlc + 1, &g);
	free(g.p);
	memcpy(pr[2], e[1].hash, SL_HASH_LEN);
	g = pmap("reason", NULL, "status", "amended", "text", "Nytt liv",
	    NULL);
	e[2] = forge_on(&f, "decision.amended", d,
	    (const uint8_t (*)[SL_HASH_LEN])pr, 3, f.hlc + 1, &g);
	free(g.p);
	atk_deliver(&a, &s.v, e, 3);
	scene_converge(&s);
	for (int i = 0; i < 2; i++) {
		const struct node *n = i == 0 ? &s.v : &s.h;
		const char *st = shown(n, "decision", d, "status");
		const char *cf = shown(n, "decision", d, "conflict");

		expect(&v, strcmp(st, js("revoked")) == 0 ||
		    strcmp(cf, "true") == 0, "%s: decision show %.8s: status "
		    "is %s with conflict %s, want \"revoked\" (or a "
		    "conflict): a no-op's seen laundered", n->name, d, st, cf);
	}
	for (int i = 0; i < 3; i++)
		free(e[i].p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/* Record seq of origin (a node id's text) in the store of the stopped
 * node n, as the node holds it. */
static struct rec
stored_rec(const struct node *n, const char *origin_text, uint64_t seq)
{
	char path[700], err[256];
	uint8_t origin[SL_KEY_LEN];
	struct store *st;
	struct rec r = { .seq = seq };
	struct sl_event ev;

	assert_true(sl_b32_decode(origin, SL_KEY_LEN, origin_text));
	snprintf(path, sizeof path, "%s/store", n->dir);
	if (store_open(&st, path, NULL, NULL, err, sizeof err) != SL_OK)
		fail_msg("%s", err);
	assert_int_equal(store_event_get(st, origin, seq, &r.p, &r.len), SL_OK);
	store_close(st);
	assert_int_equal(sl_event_decode(&ev, r.p, r.len), SL_OK);
	sl_event_hash(r.hash, &ev);
	return r;
}

/*
 * 3. A stripped copy of an honest origin's event is never restored by
 * sync, and the relay stops there for good.  The attacker relays the
 * honest member's new contact to the victim without its body, before
 * the honest member's own copy gets there.  From then on the victim's
 * vector says it holds that event, so the honest member never sends it
 * again; the victim shows the contact without a name; and, since a
 * bodyless copy is not passed on (bodywait), W, which reaches the
 * honest member only through the victim, never gets any more of that
 * member's events, this contact or any later one.
 */
static void
test_stripped_relay(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct node w;
	struct rec full, bare;
	char x[SL_ID_TEXT + 1], y[SL_ID_TEXT + 1];
	const char *got;

	(void)state;
	scene_start(&s, "sr");
	ident_init(&a, "a-sr");
	scene_member(&s, &a);
	/* W: an honest node linked only to the victim, taking H's events. */
	node_init(&w, "w-sr", "Väster");
	node_start(&w);
	trust(&s.v, &w, false);
	trust(&s.h, &w, false);
	trust(&w, &s.h, false);
	trust(&w, &s.v, true);
	wait_events((struct node *[]){ &w, &s.v, &s.h }, 3, 3);

	/* H writes while the victim is down; the attacker, a member of H,
	 * has the event (here: read from H's store while H is down). */
	assert_int_equal(node_stop(&s.v, SIGTERM), 0);
	snprintf(x, sizeof x, "%s", contact_add(&s.h, "Xenia Hederlig", "r1"));
	assert_int_equal(node_stop(&s.h, SIGTERM), 0);
	full = stored_rec(&s.h, s.h.id, 2);
	bare = rec_erased(&full);

	/* The victim comes back and gets the stripped copy first. */
	node_start(&s.v);
	atk_deliver(&a, &s.v, &bare, 1);
	node_start(&s.h);
	scene_converge(&s);
	snprintf(y, sizeof y, "%s", contact_add(&s.h, "Ylva Hederlig", "r2"));
	scene_converge(&s);

	got = shown_within(&s.v, "contact", x, "name", js("Xenia Hederlig"),
	    OUTCOME_MS);
	expect(&v, strcmp(got, js("Xenia Hederlig")) == 0, "v-sr: contact X's "
	    "name is %s, want %s (the honest member is connected and holds "
	    "the whole copy)", got, js("Xenia Hederlig"));
	got = shown_within(&w, "contact", y, "name", js("Ylva Hederlig"),
	    OUTCOME_MS);
	expect(&v, strcmp(got, js("Ylva Hederlig")) == 0, "w-sr: contact Y "
	    "(written after) is %s on W, want %s: H's chain stopped at the "
	    "stripped copy", got, js("Ylva Hederlig"));
	print_message("W holds %ld events; the victim %ld\n", events(&w),
	    events(&s.v));

	free(full.p);
	free(bare.p);
	ident_free(&a);
	assert_int_equal(node_stop(&w, SIGTERM), 0);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 4. One event makes a record impossible to audit, for good.  The
 * attacker adds to the honest contact X an edit whose parent is an
 * event of another record (Y's creation).  The fold ignores it, as it
 * should; but the bundle carries only X's events, lists as missing only
 * parents the node does not hold, and the checker finds a parent it
 * neither holds nor is told is missing: `samlog audit X --out F` fails
 * ("the bundle samlogd made does not check") from then on, on every
 * node.
 */
static void
test_audit_foreign_parent(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	uint8_t yc[SL_HASH_LEN];
	struct sl_buf g;
	char x[SL_ID_TEXT + 1], y[SL_ID_TEXT + 1], path[640];
	struct tu_run *r;

	(void)state;
	scene_start(&s, "af");
	ident_init(&a, "a-af");
	scene_member(&s, &a);
	snprintf(x, sizeof x, "%s", contact_add(&s.h, "Xavier Revision", "r1"));
	snprintf(y, sizeof y, "%s", contact_add(&s.h, "Yrsa Annan", "r1"));
	scene_converge(&s);
	head_of(&s.v, y, yc);

	forger_init(&f, &a);
	g = pmap("role", "spärr", NULL);
	e = forge_on(&f, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])yc, 1, 0, &g);
	free(g.p);
	atk_deliver(&a, &s.v, &e, 1);
	scene_converge(&s);
	expect_shown(&v, &s.v, "contact", x, "role", js("r1"));

	snprintf(path, sizeof path, "%s/af.audit", cl_tmp);
	r = sl(&s.v, "audit", x, "--out", path, NULL);
	expect(&v, r->status == 0, "v-af: `audit X --out F` exited %d: %.*s",
	    r->status, (int)strcspn(r->err, "\n"), r->err);
	r = sl(&s.h, "audit", x, "--out", path, NULL);
	expect(&v, r->status == 0, "h-af: `audit X --out F` exited %d: %.*s",
	    r->status, (int)strcspn(r->err, "\n"), r->err);
	if (r->status == 0) {
		const char *got = checked(path, "role");
		char *file = NULL;
		size_t len = 0;
		FILE *fp = fopen(path, "rb");

		expect(&v, strcmp(got, js("r1")) == 0, "audit --check F: role "
		    "is %s, want \"r1\" as the nodes show", got);
		r = check_offline(path, true);
		expect(&v, strstr(r->out, "a parent is not of this record") !=
		    NULL, "audit --check F does not show the edit as ignored "
		    "for naming another record's event");
		/* Y's event is in the bundle for its header only. */
		assert_non_null(fp);
		file = malloc(1 << 20);
		assert_non_null(file);
		len = fread(file, 1, 1 << 20, fp);
		fclose(fp);
		expect(&v, memmem(file, len, "Yrsa Annan", 10) == NULL, "the "
		    "bundle of X carries Y's name");
		free(file);
	}

	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/* Sends r[0..n) to v as id, in frames of at most per records. */
static void
deliver_bulk(const struct ident *id, const struct node *v,
    const struct rec *r, size_t n, size_t per)
{
	struct atk a;

	atk_session(&a, id, v, NULL, 0);
	for (size_t i = 0; i < n; i += per)
		atk_events(&a, r + i, n - i < per ? n - i : per);
	atk_end(&a);
}

static double
secs_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * 5. Auditing a record is quadratic in the parents nobody holds.  The
 * attacker adds K edits to X, each naming 16 random parents (they wait
 * forever, with no effect).  samlogd's audit_build dedups its list of
 * missing parents with a linear scan (O(M^2) for M = 16K parents), in
 * the event loop, so the whole node stops; the CLI's checker then looks
 * every parent up in the missing list linearly (O(M^2) again).
 */
static void
test_audit_missing_quadratic(void **state)
{
	enum { K = 5000 };
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec *e = calloc(K, sizeof *e);
	uint8_t ghosts[SL_MAX_PARENTS][SL_HASH_LEN];
	struct sl_buf g;
	char x[SL_ID_TEXT + 1], path[640];
	struct timespec t0;
	struct tu_run *r;
	double t;

	(void)state;
	assert_non_null(e);
	scene_start(&s, "am");
	ident_init(&a, "a-am");
	scene_member(&s, &a);
	snprintf(x, sizeof x, "%s", contact_add(&s.h, "Xenia Granskad", "r1"));
	scene_converge(&s);

	forger_init(&f, &a);
	g = pmap("role", "brus", NULL);
	for (int i = 0; i < K; i++) {
		sl_random(ghosts, sizeof ghosts);
		e[i] = forge_on(&f, "contact.updated", x,
		    (const uint8_t (*)[SL_HASH_LEN])ghosts, SL_MAX_PARENTS,
		    f.hlc + 1, &g);
	}
	free(g.p);
	deliver_bulk(&a, &s.v, e, K, 1000);
	expect_shown(&v, &s.v, "contact", x, "role", js("r1"));

	snprintf(path, sizeof path, "%s/am.audit", cl_tmp);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = sl(&s.v, "audit", x, "--out", path, NULL);
	t = secs_since(&t0);
	print_message("audit X --out F with %d x 16 missing parents: %.2f s "
	    "(exit %d)\n", K, t, r->status);
	expect(&v, r->status == 0, "v-am: audit X --out F exited %d: %.*s",
	    r->status, (int)strcspn(r->err, "\n"), r->err);
	expect(&v, t < 3.0 * SLOW, "v-am: audit X --out F took %.2f s for %d "
	    "events (%d missing parents); want well under %.0f s", t, K,
	    K * SL_MAX_PARENTS, 3.0 * SLOW);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = check_offline(path, false);
	t = secs_since(&t0);
	print_message("audit --check F: %.2f s (exit %d)\n", t, r->status);
	expect(&v, t < 3.0 * SLOW, "audit --check F took %.2f s; want well "
	    "under %.0f s", t, 3.0 * SLOW);

	for (int i = 0; i < K; i++)
		free(e[i].p);
	free(e);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/* An identity with a key and nothing else: enough to forge with. */
static void
ident_mem(struct ident *id)
{
	uint8_t seed[SL_SEED_LEN];

	memset(id, 0, sizeof *id);
	sl_key_generate(&id->key, seed);
}

/*
 * 6. The in-memory fold (audit --check, show --as-of in samlogd) finds
 * a waiting event's bytes by scanning its whole table (mem_event_load),
 * so K events released at once cost O(K x table).  K edits stamped
 * before the record's creation (backdated: ignored, as they should be)
 * come first in clock order and wait for it; when it comes, each costs
 * a scan.  Times for K and 4K: linear would be about 4x.
 */
static double
fold_backdated(int k)
{
	struct ident h, a;
	struct forger fh, fa;
	struct rec c, *e = calloc((size_t)k, sizeof *e);
	struct sl_fold_mem *m = sl_fold_mem_new();
	struct sl_buf g;
	char x[SL_ID_TEXT + 1];
	uint64_t t = sl_now_ms() << 16;
	struct timespec t0;
	double secs;

	assert_non_null(e);
	assert_non_null(m);
	ident_mem(&h);
	ident_mem(&a);
	forger_init(&fh, &h);
	forger_init(&fa, &a);
	g = pmap("name", "Tidig Tilda", NULL);
	c = forge_on(&fh, "contact.created", NULL, NULL, 0, t, &g);
	free(g.p);
	id_created(x, &c);
	g = pmap("role", "bakåt", NULL);
	for (int i = 0; i < k; i++)
		e[i] = forge_on(&fa, "contact.updated", x,
		    (const uint8_t (*)[SL_HASH_LEN])c.hash, 1,
		    t - (uint64_t)(k - i), &g);
	free(g.p);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < k; i++)
		assert_int_equal(sl_fold_mem_add(m, e[i].p, e[i].len), SL_OK);
	assert_int_equal(sl_fold_mem_add(m, c.p, c.len), SL_OK);
	secs = secs_since(&t0);
	for (int i = 0; i < k; i++) {
		struct sl_evmeta em;

		assert_int_equal(sl_fold_mem_meta(m, e[i].hash, &em), SL_OK);
		assert_int_equal(em.status, SL_EV_IGNORED);
		free(e[i].p);
	}
	free(e);
	free(c.p);
	sl_fold_mem_free(m);
	return secs;
}

static void
test_mem_fold_quadratic(void **state)
{
	double t1, t4;

	(void)state;
	t1 = fold_backdated(8000);
	t4 = fold_backdated(32000);
	print_message("in-memory fold, backdated children released at once: "
	    "8000 in %.3f s, 32000 in %.3f s (x%.1f)\n", t1, t4, t4 / t1);
	if (t4 > 1.0 && t4 > 8 * t1)
		fail_msg("32000 events took %.2f s, %.1f times 8000's: "
		    "quadratic", t4, t4 / t1);
}

/* ---- a node in this process: a store and its projection ------------------ */

struct inode {
	struct store *s;
	struct project *p;
};

static void
inode_open(struct inode *n, const char *name)
{
	char path[700], err[256];

	snprintf(path, sizeof path, "%s/%s", cl_tmp, name);
	if (store_open(&n->s, path, NULL, NULL, err, sizeof err) != SL_OK ||
	    project_open(&n->p, n->s, err, sizeof err) != SL_OK)
		fail_msg("%s", err);
}

static void
inode_close(struct inode *n)
{
	project_close(n->p);
	store_close(n->s);
}

/* Ingests r[0..n) as one batch; the result code. */
static int
inode_take(struct inode *n, const struct rec *r, size_t k,
    struct store_ingest_result *res)
{
	const uint8_t *recs[64];
	size_t lens[64];

	assert_true(k <= 64);
	for (size_t i = 0; i < k; i++) {
		recs[i] = r[i].p;
		lens[i] = r[i].len;
	}
	return store_ingest(n->s, recs, lens, k, res);
}

/* The record id's field name as a string ("" if absent), or "<none>" if
 * the record does not exist. */
static const char *
inode_field(struct inode *n, const char *id, const char *name)
{
	static char out[4][512];
	static int k;
	char *o = out[k++ % 4];
	uint8_t rid[SL_ID_LEN];
	MDB_txn *txn;
	struct sl_rec r;

	id_of(rid, id);
	assert_int_equal(store_read_begin(n->s, &txn), SL_OK);
	if (project_get(n->p, txn, rid, &r) != SL_OK) {
		snprintf(o, 512, "<none>");
	} else {
		project_str(&r, name, o, 512);
		sl_rec_free(&r);
	}
	mdb_txn_abort(txn);
	return o;
}

/* A forged event with raw payload bytes. */
static struct rec
forge_raw(struct forger *f, const char *type, const char *id,
    const uint8_t (*parents)[SL_HASH_LEN], uint32_t np, uint64_t hlc,
    const void *payload, size_t plen)
{
	uint8_t eid[SL_ID_LEN];

	if (id != NULL)
		id_of(eid, id);
	return forge(f, &(struct forgery){ .type = type,
	    .entity = id != NULL ? eid : NULL, .parents = parents,
	    .n_parents = np, .hlc = hlc, .payload = payload,
	    .payload_len = (uint32_t)plen });
}

/*
 * 7. The content rules read a map inside an unknown field wrongly
 * (schema.c check_any reuses the map's count for each key's length).
 * (a) A later version's event with a nested map in a new field (PROTOCOL
 * 11.2 rule 4 says it is accepted) is refused: that origin's chain stops
 * at this node.  (b) The check and the fold then see different maps: a
 * contact.created whose "name" sits inside an unknown field's map passes
 * the check (it thinks it saw "name") while the fold sees no name.
 */
static void
test_nested_unknown_map(void **state)
{
	/* {"name": "Ny Version", "zz": {"a": 1, "b": 2}} */
	static const uint8_t later[] = { 0x82, 0xa4, 'n', 'a', 'm', 'e', 0xaa,
		'N', 'y', ' ', 'V', 'e', 'r', 's', 'i', 'o', 'n', 0xa2, 'z', 'z',
		0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0x02 };
	/* A map of 2 that holds 1: {"a": {"b": 1, "name": "Smugglad"}} */
	static const uint8_t smuggle[] = { 0x82, 0xa1, 'a', 0x82, 0xa1, 'b',
		0x01, 0xa4, 'n', 'a', 'm', 'e', 0xa8, 'S', 'm', 'u', 'g', 'g',
		'l', 'a', 'd' };
	struct verdict v = { .checks = 0 };
	struct inode n;
	struct ident a;
	struct forger f;
	struct rec e;
	struct store_ingest_result res;
	char x[SL_ID_TEXT + 1];
	int rc;

	(void)state;
	inode_open(&n, "nested");
	ident_mem(&a);
	forger_init(&f, &a);

	e = forge_raw(&f, "contact.created", NULL, NULL, 0, 0, later,
	    sizeof later);
	rc = inode_take(&n, &e, 1, &res);
	expect(&v, rc == SL_OK, "a contact.created with a map in an unknown "
	    "field is refused: %s", res.reason);
	if (rc == SL_OK) {
		id_created(x, &e);
		expect(&v, strcmp(inode_field(&n, x, "name"), "Ny Version") ==
		    0, "its name is \"%s\"", inode_field(&n, x, "name"));
	}
	free(e.p);

	/* A fresh chain: the refusal above stopped this one. */
	ident_mem(&a);
	forger_init(&f, &a);
	e = forge_raw(&f, "contact.created", NULL, NULL, 0, 0, smuggle,
	    sizeof smuggle);
	rc = inode_take(&n, &e, 1, &res);
	id_created(x, &e);
	expect(&v, rc != SL_OK, "a payload whose map claims 2 entries and "
	    "holds 1 (its \"name\" inside an unknown field) is accepted; the "
	    "record's name is \"%s\"", inode_field(&n, x, "name"));
	free(e.p);
	inode_close(&n);
	verdict_end(&v);
}

/*
 * 8. The reason an ignored event is given depends on arrival order.
 * judge() settles an event as soon as one held parent condemns it, even
 * while another parent is missing; whichever parent was held first
 * names the reason.  E names a later event of X (a clock violation) and
 * the creation of another record Y: on a node that had Y first it is
 * "a parent is not of this record", on one that had X's event first
 * "not later than its parents".  history and audit show different
 * verdicts for the same events.
 */
static void
test_why_order(void **state)
{
	struct ident h, a;
	struct forger fh, fa;
	struct rec cx, px, cy, ev;
	uint8_t pr[2][SL_HASH_LEN];
	struct sl_buf g;
	char x[SL_ID_TEXT + 1];
	uint64_t t = sl_now_ms() << 16;
	struct sl_evmeta m1, m2;
	struct sl_fold_mem *m;

	(void)state;
	ident_mem(&h);
	ident_mem(&a);
	forger_init(&fh, &h);
	forger_init(&fa, &a);
	g = pmap("name", "Xena", NULL);
	cx = forge_on(&fh, "contact.created", NULL, NULL, 0, t, &g);
	free(g.p);
	id_created(x, &cx);
	g = pmap("role", "r2", NULL);
	px = forge_on(&fh, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])cx.hash, 1, t + 100, &g);
	free(g.p);
	g = pmap("name", "Yngve", NULL);
	cy = forge_on(&fh, "contact.created", NULL, NULL, 0, t + 200, &g);
	free(g.p);
	memcpy(pr[0], px.hash, SL_HASH_LEN);
	memcpy(pr[1], cy.hash, SL_HASH_LEN);
	g = pmap("role", "r3", NULL);
	ev = forge_on(&fa, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])pr, 2, t + 50, &g);
	free(g.p);

	/* Order 1: X's events, then E, then Y. */
	m = sl_fold_mem_new();
	assert_int_equal(sl_fold_mem_add(m, cx.p, cx.len), SL_OK);
	assert_int_equal(sl_fold_mem_add(m, px.p, px.len), SL_OK);
	assert_int_equal(sl_fold_mem_add(m, ev.p, ev.len), SL_OK);
	assert_int_equal(sl_fold_mem_add(m, cy.p, cy.len), SL_OK);
	assert_int_equal(sl_fold_mem_meta(m, ev.hash, &m1), SL_OK);
	sl_fold_mem_free(m);
	/* Order 2: Y, then E, then X's events. */
	m = sl_fold_mem_new();
	assert_int_equal(sl_fold_mem_add(m, cy.p, cy.len), SL_OK);
	assert_int_equal(sl_fold_mem_add(m, ev.p, ev.len), SL_OK);
	assert_int_equal(sl_fold_mem_add(m, cx.p, cx.len), SL_OK);
	assert_int_equal(sl_fold_mem_add(m, px.p, px.len), SL_OK);
	assert_int_equal(sl_fold_mem_meta(m, ev.hash, &m2), SL_OK);
	sl_fold_mem_free(m);
	print_message("order 1: %s: %s; order 2: %s: %s\n",
	    sl_fold_status_name(m1.status), sl_fold_why(m1.why),
	    sl_fold_status_name(m2.status), sl_fold_why(m2.why));
	assert_int_equal(m1.status, m2.status);
	if (m1.why != m2.why)
		fail_msg("the same event is \"%s\" in one order and \"%s\" in "
		    "the other", sl_fold_why(m1.why), sl_fold_why(m2.why));
	free(cx.p);
	free(px.p);
	free(cy.p);
	free(ev.p);
}

/* A bundle of record id (kind) with the records r[0..n), sorted by the
 * checker, signed by exporter; vector: each record's origin at its
 * greatest seq.  Written to path. */
static void
bundle_write(const char *path, const struct ident *exporter, const char *id,
    const char *kind, const struct rec *r, size_t n)
{
	struct sl_buf st = { 0 }, out = { 0 };
	msgpack_packer pk;
	uint8_t rid[SL_ID_LEN], h[SL_HASH_LEN], sig[SL_SIG_LEN];
	struct bvec { const uint8_t *o; uint64_t seq; const uint8_t *h; } vec[8];
	size_t nv = 0;
	FILE *fp;

	for (size_t i = 0; i < n; i++) {
		struct sl_event ev;
		size_t k;

		assert_int_equal(sl_event_decode(&ev, r[i].p, r[i].len), SL_OK);
		for (k = 0; k < nv && memcmp(vec[k].o, ev.origin,
		    SL_KEY_LEN) != 0; k++)
			;
		if (k == nv) {
			assert_true(nv < 8);
			vec[nv++] = (struct bvec){ ev.origin, 0, NULL };
		}
		if (ev.seq > vec[k].seq) {
			vec[k].seq = ev.seq;
			vec[k].h = r[i].hash;
		}
	}
	id_of(rid, id);
	msgpack_packer_init(&pk, &st, sl_buf_write);
	msgpack_pack_array(&pk, 9);
	msgpack_pack_uint64(&pk, SL_AUDIT_VERSION);
	sl_pack_bin(&pk, rid, SL_ID_LEN);
	sl_pack_cstr(&pk, kind);
	sl_pack_bin(&pk, exporter->key.pub, SL_KEY_LEN);
	sl_pack_cstr(&pk, "Angripare");
	msgpack_pack_uint64(&pk, sl_now_ms());
	msgpack_pack_array(&pk, (uint32_t)nv);
	for (size_t k = 0; k < nv; k++) {
		msgpack_pack_array(&pk, 3);
		sl_pack_bin(&pk, vec[k].o, SL_KEY_LEN);
		msgpack_pack_uint64(&pk, vec[k].seq);
		sl_pack_bin(&pk, vec[k].h, SL_HASH_LEN);
	}
	msgpack_pack_array(&pk, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		sl_pack_bin(&pk, r[i].p, r[i].len);
	msgpack_pack_array(&pk, 0);
	assert_false(st.failed);
	sl_sha256(h, st.p, st.len);
	sl_sign_audit(sig, &exporter->key, h);
	sl_buf_write(&out, SL_AUDIT_MAGIC, SL_AUDIT_MAGIC_LEN);
	msgpack_packer_init(&pk, &out, sl_buf_write);
	msgpack_pack_array(&pk, 2);
	sl_pack_bin(&pk, st.p, st.len);
	sl_pack_bin(&pk, sig, SL_SIG_LEN);
	assert_false(out.failed);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(out.p, 1, out.len, fp), out.len);
	fclose(fp);
	free(st.p);
	free(out.p);
}

/* The raw JSON of key in the checker's record for the bundle at path. */
static const char *
checked(const char *path, const char *key)
{
	static char buf[4][4096];
	static int k;
	char *b = buf[k++ % 4], rec[16384];
	struct tu_run *r = check_offline(path, true);

	if (r->status != 0)
		snprintf(b, 4096, "<check exited %d: %.*s>", r->status,
		    (int)strcspn(r->err, "\n"), r->err);
	else if (!jget(r->out, "record", rec, sizeof rec) ||
	    !jget(rec, key, b, 4096))
		snprintf(b, 4096, "<no %s>", key);
	return b;
}

/*
 * 9. The checker folded what no node folds.  It ran the nodes' fold but
 * not the rules around it.  (a) Fixed: a member's bundle, signed with
 * its own key, holding honest contact X and an edit of its own whose
 * payload repeats a key, which every node refuses at ingest, checked,
 * and showed X as that edit made it.  (b) Open: an edit stamped a year
 * ahead, which every node holds without folding (max_skew), is folded
 * by the checker: `audit --check` shows X renamed; every node shows X as
 * it is.
 */
struct checker_case {
	struct inode n;
	struct ident h, m1, m2;
	struct rec r[3];
	char x[SL_ID_TEXT + 1];
};

static void
checker_case(struct checker_case *k, const char *name)
{
	/* {"role": "a", "role": "Dubbel"} */
	static const uint8_t dup[] = { 0x82, 0xa4, 'r', 'o', 'l', 'e', 0xa1,
		'a', 0xa4, 'r', 'o', 'l', 'e', 0xa6, 'D', 'u', 'b', 'b', 'e',
		'l' };
	struct forger fh, f1, f2;
	struct store_ingest_result res;
	struct sl_buf g;
	uint64_t t = (sl_now_ms() - 1000) << 16;

	inode_open(&k->n, name);
	ident_mem(&k->h);
	ident_mem(&k->m1);
	ident_mem(&k->m2);
	forger_init(&fh, &k->h);
	forger_init(&f1, &k->m1);
	forger_init(&f2, &k->m2);
	g = pmap("name", "Xenia Äkta", "role", "r1", NULL);
	k->r[0] = forge_on(&fh, "contact.created", NULL, NULL, 0, t, &g);
	free(g.p);
	id_created(k->x, &k->r[0]);
	g = pmap("name", "Ond Avsikt", NULL);
	k->r[1] = forge_on(&f1, "contact.updated", k->x,
	    (const uint8_t (*)[SL_HASH_LEN])k->r[0].hash, 1,
	    (sl_now_ms() + 365ull * 24 * 3600 * 1000) << 16, &g);
	free(g.p);
	k->r[2] = forge_raw(&f2, "contact.updated", k->x,
	    (const uint8_t (*)[SL_HASH_LEN])k->r[0].hash, 1, t + 5, dup,
	    sizeof dup);
	assert_int_equal(inode_take(&k->n, &k->r[0], 1, &res), SL_OK);
	assert_int_equal(inode_take(&k->n, &k->r[1], 1, &res), SL_OK);
	assert_int_not_equal(inode_take(&k->n, &k->r[2], 1, &res), SL_OK);
	assert_string_equal(inode_field(&k->n, k->x, "name"), "Xenia Äkta");
	assert_string_equal(inode_field(&k->n, k->x, "role"), "r1");
}

static void
checker_case_free(struct checker_case *k)
{
	for (int i = 0; i < 3; i++)
		free(k->r[i].p);
	inode_close(&k->n);
}

static void
test_checker_rules(void **state)
{
	struct checker_case k;
	char path[640];
	const char *got;

	(void)state;
	checker_case(&k, "checker-rules");
	snprintf(path, sizeof path, "%s/dup.audit", cl_tmp);
	bundle_write(path, &k.m2, k.x, "contact",
	    (struct rec[]){ k.r[0], k.r[2] }, 2);
	got = checked(path, "role");
	if (got[0] != '<')
		fail_msg("audit --check of m2's bundle shows role %s and "
		    "accepts it; every node refuses that event and shows "
		    "\"r1\"", got);
	checker_case_free(&k);
}

static void
test_checker_future(void **state)
{
	struct checker_case k;
	char path[640];
	const char *got;

	(void)state;
	checker_case(&k, "checker-future");
	snprintf(path, sizeof path, "%s/future.audit", cl_tmp);
	bundle_write(path, &k.m1, k.x, "contact", k.r, 2);
	got = checked(path, "name");
	if (strcmp(got, js("Xenia Äkta")) != 0)
		fail_msg("audit --check of m1's bundle shows name %s; every "
		    "node shows \"Xenia Äkta\" (the edit a year ahead is not "
		    "folded before its time)", got);
	checker_case_free(&k);
}

/*
 * 10. A cascade has no bound: K events waiting for one parent are all
 * folded in the transaction that brings the parent, on the event loop.
 * The parent here is an event of another origin that the victim does
 * not hold yet (an honest event the attacker has seen first); when its
 * origin's frame comes, that one batch costs K folds.  Prints the time
 * of that one ingest next to the time of taking the K events.
 */
static void
test_cascade(void **state)
{
	enum { K = 60000, PER = 2000 };
	struct inode n;
	struct ident h, a;
	struct forger fh, fa;
	struct rec c, p, *e = calloc(K, sizeof *e);
	struct store_ingest_result res;
	struct sl_buf g;
	char x[SL_ID_TEXT + 1];
	const uint8_t **recs = calloc(PER, sizeof *recs);
	size_t *lens = calloc(PER, sizeof *lens);
	struct timespec t0;
	double t_take, t_parent;

	(void)state;
	assert_non_null(e);
	inode_open(&n, "cascade");
	ident_mem(&h);
	ident_mem(&a);
	forger_init(&fh, &h);
	forger_init(&fa, &a);
	g = pmap("name", "Kaskad", NULL);
	c = forge_on(&fh, "contact.created", NULL, NULL, 0, 0, &g);
	free(g.p);
	id_created(x, &c);
	g = pmap("role", "r2", NULL);
	p = forge_on(&fh, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])c.hash, 1, fh.hlc + 1, &g);
	free(g.p);
	g = pmap("role", "vänta", NULL);
	for (int i = 0; i < K; i++)
		e[i] = forge_on(&fa, "contact.updated", x,
		    (const uint8_t (*)[SL_HASH_LEN])p.hash, 1, fh.hlc + 2 + i,
		    &g);
	free(g.p);
	assert_int_equal(inode_take(&n, &c, 1, &res), SL_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < K; i += PER) {
		for (int j = 0; j < PER; j++) {
			recs[j] = e[i + j].p;
			lens[j] = e[i + j].len;
		}
		assert_int_equal(store_ingest(n.s, recs, lens, PER, &res),
		    SL_OK);
	}
	t_take = secs_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (inode_take(&n, &p, 1, &res) != SL_OK)
		fail_msg("the parent's frame: %s", res.reason);
	t_parent = secs_since(&t0);
	print_message("%d waiting events taken in %.2f s (%d frames); the one "
	    "frame with their parent: %.2f s\n", K, t_take, K / PER, t_parent);
	for (int i = 0; i < K; i++)
		free(e[i].p);
	free(e);
	free(recs);
	free(lens);
	free(c.p);
	free(p.p);
	inode_close(&n);
}

/*
 * 11. A reference shows the name of a record of another kind.  The fold
 * keeps references as written (a member may name anything), and
 * `contact show` resolves org_name from whatever record the id names:
 * a contact whose "org" is another contact's id shows that person's
 * name as its organisation's.
 */
static void
test_ref_other_kind(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e;
	struct sl_buf g;
	char p[SL_ID_TEXT + 1], c[SL_ID_TEXT + 1];

	(void)state;
	scene_start(&s, "rk");
	ident_init(&a, "a-rk");
	scene_member(&s, &a);
	snprintf(p, sizeof p, "%s", contact_add(&s.h, "Petra Person", "r1"));
	scene_converge(&s);

	forger_init(&f, &a);
	g = pmap("name", "Kalle Kontakt", "org", p, NULL);
	e = forge_on(&f, "contact.created", NULL, NULL, 0, 0, &g);
	free(g.p);
	id_created(c, &e);
	atk_deliver(&a, &s.v, &e, 1);
	scene_converge(&s);
	expect_shown(&v, &s.v, "contact", c, "org", js(p));
	expect_shown(&v, &s.v, "contact", c, "org_name", "null");

	free(e.p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/*
 * 12. A member can speak as another organisation in every history.  The
 * organisation shown for an origin is whatever its own latest node.org
 * says; nothing checks it against the name this node gave that key
 * (its peer line) or against the other members' announcements.  The
 * attacker announces "Hederlig", the honest member's name, and edits
 * the honest member's contact with author "hanna": `history` shows the
 * edit as Hederlig's, like the honest member's own events, on every
 * node (and `audit --check` the same, from the bundle).
 */
static void
test_org_impersonation(void **state)
{
	struct verdict v = { .checks = 0 };
	struct scene s;
	struct ident a;
	struct forger f;
	struct rec e[2];
	uint8_t head[SL_HASH_LEN], eid[SL_ID_LEN];
	struct sl_buf g;
	char c[SL_ID_TEXT + 1];
	struct tu_run *r;
	const char *p, *el;
	size_t ell;
	int hederlig = 0;

	(void)state;
	scene_start(&s, "oi");
	ident_init(&a, "a-oi");
	scene_member(&s, &a);
	snprintf(c, sizeof c, "%s", contact_add(&s.h, "Hanna Hederlig", "r1"));
	scene_converge(&s);
	head_of(&s.v, c, head);

	forger_init(&f, &a);
	g = pmap("org", "Hederlig", NULL);
	e[0] = forge_on(&f, "node.org", NULL, NULL, 0, 0, &g);
	free(g.p);
	id_of(eid, c);
	g = pmap("role", "avgått", NULL);
	e[1] = forge(&f, &(struct forgery){ .type = "contact.updated",
	    .entity = eid, .parents = (const uint8_t (*)[SL_HASH_LEN])head,
	    .n_parents = 1, .hlc = f.hlc + 1, .author = "hanna",
	    .payload = g.p, .payload_len = (uint32_t)g.len });
	free(g.p);
	atk_deliver(&a, &s.v, e, 2);
	scene_converge(&s);

	r = sl(&s.v, "history", c, "--json", NULL);
	p = r->out;
	jws(&p);
	while (jelem(&p, &el, &ell) == 1) {
		char obj[8192], org[256];

		snprintf(obj, sizeof obj, "%.*s", (int)(ell < 8191 ? ell : 8191),
		    el);
		if (jget(obj, "org", org, sizeof org) &&
		    strcmp(org, js("Hederlig")) == 0)
			hederlig++;
	}
	print_message("%s\n", sl(&s.v, "history", c, NULL)->out);
	expect(&v, hederlig == 1, "v-oi: `history` shows %d events as "
	    "Hederlig's; Hederlig wrote 1 (the attacker's edit shows under "
	    "Hederlig's name)", hederlig);

	free(e[0].p);
	free(e[1].p);
	ident_free(&a);
	scene_stop(&s);
	verdict_end(&v);
}

/* The projection's bytes, hashed (every database, in key order). */
static void
pdigest_cb(void *ctx, const void *k, size_t kl, const void *v, size_t vl)
{
	uint8_t *acc = ctx, buf[SL_HASH_LEN * 2];

	memcpy(buf, acc, SL_HASH_LEN);
	sl_sha256_2(buf + SL_HASH_LEN, k, kl, v, vl);
	sl_sha256(acc, buf, sizeof buf);
}

static void
pdigest(struct inode *n, uint8_t out[SL_HASH_LEN])
{
	memset(out, 0, SL_HASH_LEN);
	assert_int_equal(project_dump(n->p, pdigest_cb, out), SL_OK);
}

/*
 * What held up: hostile events in every order give the same projection,
 * byte for byte, and a rebuild gives it again.  Three chains (an honest
 * one, two attackers) with a backdated edit, a step of another kind, a
 * parent of another record, a parent nobody holds, a body stripped and
 * restored later, the ancestor trick, an edit from the near future (in
 * pfuture until it is due), two parents one of which comes late; each
 * chain's events in order, the chains interleaved at random.
 */
static void
test_hostile_orders(void **state)
{
	enum { ROUNDS = 12 };
	struct ident h, a, b;
	struct forger fh, fa, fb;
	struct rec ev[32], bare;
	int chain[32], nev = 0, stripped = -1;
	uint8_t ghost[SL_HASH_LEN], pr[2][SL_HASH_LEN], first[SL_HASH_LEN];
	uint64_t t = (sl_now_ms() - 60000) << 16;
	uint64_t fut = (sl_now_ms() + 3000) << 16;
	struct sl_buf g;
	char x[SL_ID_TEXT + 1], d[SL_ID_TEXT + 1];
	unsigned seed = (unsigned)time(NULL);

	(void)state;
	ident_mem(&h);
	ident_mem(&a);
	ident_mem(&b);
	forger_init(&fh, &h);
	forger_init(&fa, &a);
	forger_init(&fb, &b);
	sl_random(ghost, sizeof ghost);
#define ADD(c, r) do { struct rec r_ = (r); chain[nev] = (c); \
	ev[nev] = r_; nev++; } while (0)
	g = pmap("name", "Xenia", "role", "r0", NULL);
	ADD(0, forge_on(&fh, "contact.created", NULL, NULL, 0, t, &g));
	free(g.p);
	id_created(x, &ev[0]);
	g = pmap("role", "r1", NULL);
	ADD(0, forge_on(&fh, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])ev[0].hash, 1, t + 100, &g));
	free(g.p);
	g = pmap("text", "Förslag", "title", "Beslut", NULL);
	ADD(0, forge_on(&fh, "decision.created", NULL, NULL, 0, t + 200, &g));
	free(g.p);
	id_created(d, &ev[2]);
	g = pmap("reason", NULL, "status", "rejected", NULL);
	ADD(0, forge_on(&fh, "decision.rejected", d,
	    (const uint8_t (*)[SL_HASH_LEN])ev[2].hash, 1, t + 300, &g));
	free(g.p);
	/* a: backdated; another kind; another record's parent; a ghost. */
	g = pmap("role", "bakåt", NULL);
	ADD(1, forge_on(&fa, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])ev[1].hash, 1, t + 50, &g));
	free(g.p);
	g = pmap("reason", NULL, "status", "adopted", NULL);
	ADD(1, forge_on(&fa, "decision.adopted", x,
	    (const uint8_t (*)[SL_HASH_LEN])ev[1].hash, 1, t + 400, &g));
	free(g.p);
	memcpy(pr[0], ev[1].hash, SL_HASH_LEN);
	memcpy(pr[1], ev[2].hash, SL_HASH_LEN);
	g = pmap("role", "främmande", NULL);
	ADD(1, forge_on(&fa, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])pr, 2, t + 500, &g));
	free(g.p);
	memcpy(pr[1], ghost, SL_HASH_LEN);
	g = pmap("role", "spöke", NULL);
	ADD(1, forge_on(&fa, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])pr, 2, t + 600, &g));
	free(g.p);
	g = pmap("email", "a@example.org", NULL);
	ADD(1, forge_on(&fa, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])ev[1].hash, 1, t + 700, &g));
	free(g.p);
	memcpy(first, ev[nev - 1].hash, SL_HASH_LEN);
	/* b: the ancestor trick; a child of a's edit; a stripped edit; an
	 * edit from the near future. */
	memcpy(pr[0], ev[2].hash, SL_HASH_LEN);
	memcpy(pr[1], ev[3].hash, SL_HASH_LEN);
	g = pmap("reason", NULL, "status", "adopted", NULL);
	ADD(2, forge_on(&fb, "decision.adopted", d,
	    (const uint8_t (*)[SL_HASH_LEN])pr, 2, t + 800, &g));
	free(g.p);
	g = pmap("phone", "123", NULL);
	ADD(2, forge_on(&fb, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])first, 1, t + 900, &g));
	free(g.p);
	g = pmap("municipality", "Sigtuna", NULL);
	ADD(2, forge_on(&fb, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])ev[nev - 1].hash, 1, t + 1000,
	    &g));
	free(g.p);
	stripped = nev - 1;
	bare = rec_erased(&ev[stripped]);
	g = pmap("role", "framtid", NULL);
	ADD(2, forge_on(&fb, "contact.updated", x,
	    (const uint8_t (*)[SL_HASH_LEN])ev[nev - 1].hash, 1, fut, &g));
	free(g.p);
#undef ADD

	uint8_t want[SL_HASH_LEN] = { 0 }, got[SL_HASH_LEN];
	char name[32];

	srand(seed);
	print_message("seed %u\n", seed);
	for (int round = 0; round < ROUNDS; round++) {
		struct inode n;
		int next[3] = { 0, 0, 0 }, done = 0;
		struct store_ingest_result res;
		bool full_sent = false;

		snprintf(name, sizeof name, "orders%d", round);
		inode_open(&n, name);
		project_set_skew(n.p, 0);
		while (done < nev || !full_sent) {
			int c = rand() % 4;
			int k;

			if (c == 3) {
				/* the whole copy of the stripped edit, once the
				 * stripped one is in */
				if (!full_sent && next[2] > stripped &&
				    rand() % 2) {
					assert_int_equal(inode_take(&n,
					    &ev[stripped], 1, &res), SL_OK);
					full_sent = true;
				}
				continue;
			}
			/* the chain's next event */
			for (k = next[c]; k < nev && chain[k] != c; k++)
				;
			if (k >= nev)
				continue;
			/* A copy without its body is refused (no erasure
			 * says so); the whole copy must come before the rest
			 * of its chain. */
			if (k == stripped) {
				assert_int_equal(inode_take(&n, &bare, 1, &res),
				    SL_ESCHEMA);
				assert_int_equal(inode_take(&n, &ev[stripped], 1,
				    &res), SL_OK);
				full_sent = true;
			} else if (inode_take(&n, &ev[k], 1, &res) != SL_OK) {
				fail_msg("round %d: event %d: %s", round, k,
				    res.reason);
			}
			next[c] = k + 1;
			done++;
		}
		/* the edit from the future becomes due */
		while (sl_now_ms() << 16 <= fut)
			usleep(100000);
		assert_int_equal(project_due(n.p, NULL), SL_OK);
		pdigest(&n, got);
		if (round == 0)
			memcpy(want, got, SL_HASH_LEN);
		else if (memcmp(want, got, SL_HASH_LEN) != 0)
			fail_msg("round %d (seed %u): another projection", round,
			    seed);
		assert_int_equal(project_rebuild(n.p, NULL, name, sizeof name),
		    SL_OK);
		pdigest(&n, got);
		if (memcmp(want, got, SL_HASH_LEN) != 0)
			fail_msg("round %d (seed %u): rebuild differs", round,
			    seed);
		if (round == 0)
			print_message("X: role %s, email %s, municipality %s; "
			    "decision: %s\n", inode_field(&n, x, "role"),
			    inode_field(&n, x, "email"),
			    inode_field(&n, x, "municipality"),
			    inode_field(&n, d, "status"));
		inode_close(&n);
	}
	for (int i = 0; i < nev; i++)
		free(ev[i].p);
	free(bare.p);
}

/*
 * The findings fixed (and what held up) run by default, in make check;
 * (No finding is open now.)
 */
int
main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_mem_fold_quadratic),
		cmocka_unit_test(test_nested_unknown_map),
		cmocka_unit_test(test_why_order),
		cmocka_unit_test(test_checker_rules),
		cmocka_unit_test(test_hostile_orders),
		cmocka_unit_test_teardown(test_future_head, cl_reap),
		cmocka_unit_test_teardown(test_audit_foreign_parent, cl_reap),
		cmocka_unit_test_teardown(test_audit_missing_quadratic,
		    cl_reap),
		cmocka_unit_test_teardown(test_ref_other_kind, cl_reap),
		cmocka_unit_test(test_checker_future),
		cmocka_unit_test(test_cascade),
		cmocka_unit_test_teardown(test_lifecycle_ancestor, cl_reap),
		cmocka_unit_test_teardown(test_stripped_relay, cl_reap),
		cmocka_unit_test_teardown(test_late_reject_branch, cl_reap),
		cmocka_unit_test_teardown(test_restate_ancestor, cl_reap),
		cmocka_unit_test_teardown(test_self_resolved_clash, cl_reap),
		cmocka_unit_test_teardown(test_noop_launders_seen, cl_reap),
		/* Since membership binds names: an announcement cannot
		 * take a member's. */
		cmocka_unit_test_teardown(test_org_impersonation, cl_reap),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (sl_crypto_init() != 0)
		return 1;
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	rc = cmocka_run_group_tests_name("attack", fixed, cl_setup,
	    cl_teardown);
	return rc;
}
