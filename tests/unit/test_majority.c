/*
 * test_majority.c - admission by majority (PROTOCOL.md 12.4), with real
 * daemons on loopback.
 *
 * Under the majority policy one member's word admits no one: a newcomer
 * waits, its events refused everywhere, until more than half of the
 * members approved; a retirement takes the same.  The policy itself
 * starts only once every member approved it.
 */
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

#include "cluster.h"

/* Waits until n's command (args, NULL-terminated, --json added) prints
 * needle. */
static void
wait_out(const struct node *n, const char *needle, ...)
{
	const char *argv[12];
	uint64_t until = now_ms() + WAIT_MS;
	struct tu_run *r;
	va_list ap;
	int k = 0;

	va_start(ap, needle);
	while (k < 10 && (argv[k] = va_arg(ap, const char *)) != NULL)
		k++;
	va_end(ap);
	argv[k] = "--json";
	argv[k + 1] = NULL;
	for (;;) {
		r = sl(n, argv[0], k > 1 ? argv[1] : argv[k], k > 2 ? argv[2] :
		    k > 1 ? argv[k] : NULL, k > 2 ? argv[k] : NULL, NULL);
		if (r->status == 0 && strstr(r->out, needle) != NULL)
			return;
		if (now_ms() > until)
			fail_msg("%s: %s %s never printed %s; it printed %s%s",
			    n->name, argv[0], k > 1 ? argv[1] : "", needle,
			    r->out, r->err);
		usleep(100000);
	}
}

static bool
has_contact(const struct node *n, const char *name)
{
	return strstr(ok(sl(n, "contact", "list", "--json", NULL))->out,
	    name) != NULL;
}

static void
wait_contact(const struct node *n, const char *name)
{
	uint64_t until = now_ms() + WAIT_MS;

	while (!has_contact(n, name)) {
		if (now_ms() > until)
			fail_msg("%s: no contact \"%s\" after %d ms; members: %s",
			    n->name, name, WAIT_MS, sl(n, "member", "list",
			    "--json", NULL)->out);
		usleep(100000);
	}
}

/*
 * The association founds a federation that admits by majority.  Sigtuna
 * joins at once (the association is the only member: 1 of 1).  Väsby,
 * invited by Sigtuna, waits: 1 of 2, its contact refused on both nodes,
 * and a peer add by Sigtuna of another key is one more approval, not an
 * admission.  The association's approval lets Väsby in everywhere, with
 * its contact.  Retiring Väsby then takes two of three: the
 * association's word alone cuts nothing, Sigtuna's makes it.
 */
static void
test_majority_admits(void **state)
{
	struct node o, t, v, x, *all[] = { &o, &t, &v };
	char inv[1024];
	struct tu_run *r;

	(void)state;
	node_init(&o, "om", "Samordningsförbundet");
	node_init(&t, "tm", "Sigtuna kommun");
	node_init(&v, "vm", "Upplands Väsby kommun");
	node_init(&x, "xm", "Impostor");
	for (int i = 0; i < 3; i++)
		node_start(all[i]);
	node_start(&x);

	r = ok(sl(&o, "member", "policy", "--json", NULL));
	if (strstr(r->out, "\"admission\": \"one\"") == NULL)
		fail_msg("om: policy %s", r->out);
	r = ok(sl(&o, "member", "policy", "majority", "--json", NULL));
	if (strstr(r->out, "\"admission\": \"majority\"") == NULL)
		fail_msg("om: a federation of one did not take it: %s", r->out);
	refused(sl(&o, "member", "policy", "majority", NULL), 1, "already");
	refused(sl(&o, "member", "policy", "one", NULL), 1, "not supported");
	refused(sl(&o, "member", "policy", "most", NULL), 2, "majority");

	/* Sigtuna: the association alone is a majority of one. */
	snprintf(inv, sizeof inv, "%s", invite_line(&o, NULL));
	ok(sl(&t, "join", inv, NULL));
	wait_out(&o, "\"name\": \"Sigtuna kommun\"", "member", "list", NULL);
	wait_out(&t, "\"admission\": \"majority\"", "member", "policy", NULL);
	add_contact(&t, "Sigtunas kontakt");
	wait_contact(&o, "Sigtunas kontakt");

	/* Väsby, invited by Sigtuna: 1 of 2. */
	snprintf(inv, sizeof inv, "%s", invite_line(&t, NULL));
	ok(sl(&v, "join", inv, NULL));
	wait_out(&o, "\"status\": \"admit? 1 of 2\"", "member", "list", NULL);
	wait_out(&v, "\"status\": \"admit? 1 of 2\"", "member", "list", NULL);
	add_contact(&v, "Väsbys kontakt");
	r = ok(sl(&o, "status", "--json", NULL));
	if (strstr(r->out, "\"admission\": \"majority\"") == NULL ||
	    strstr(r->out, "1 admission or retirement waits for the members' "
	    "approval") == NULL)
		fail_msg("om: status %s", r->out);
	/* Its inviter holds its events, and that is no disagreement. */
	r = ok(sl(&t, "status", "--json", NULL));
	if (strstr(r->out, "does not accept") != NULL)
		fail_msg("tm: status %s", r->out);
	/* The newcomer's own node says it waits, lists itself once, and
	 * admits, approves or retires no one meanwhile. */
	r = ok(sl(&v, "status", "--json", NULL));
	if (strstr(r->out, "\"admission\": \"majority\"") == NULL ||
	    strstr(r->out, "waits for the members' approval (1 of 2)") == NULL)
		fail_msg("vm: status %s", r->out);
	r = ok(sl(&v, "member", "list", "--json", NULL));
	{
		const char *p1 = strstr(r->out, "Upplands Väsby kommun");

		if (p1 == NULL || strstr(p1 + 1, "Upplands Väsby kommun") !=
		    NULL)
			fail_msg("vm: lists itself twice: %s", r->out);
	}
	refused(sl(&v, "invite", NULL), 1, "not a member yet");
	refused(sl(&v, "member", "approve", "Sigtuna kommun", NULL), 1,
	    "not a member yet");
	refused(sl(&v, "member", "retire", "Sigtuna kommun", NULL), 1,
	    "not a member yet");
	refused(sl(&v, "member", "policy", "majority", NULL), 1,
	    "not a member yet");
	/* A lone word is one approval: Sigtuna trusting the impostor's key
	 * admits no one. */
	ok(sl(&t, "peer", "add", "impostor", "--key", x.id, "--addr",
	    x.listen, NULL));
	add_contact(&x, "Bedragarens kontakt");
	sleep(2);
	for (int i = 0; i < 2; i++) {
		if (has_contact(all[i], "Väsbys kontakt") ||
		    has_contact(all[i], "Bedragarens kontakt"))
			fail_msg("%s: took a contact from a node not admitted",
			    all[i]->name);
		r = ok(sl(all[i], "member", "list", "--json", NULL));
		if (strstr(r->out, "\"name\": \"Upplands Väsby kommun\"") ==
		    NULL || strstr(r->out, "\"status\": \"member\"") == NULL)
			fail_msg("%s: member list %s", all[i]->name, r->out);
	}
	refused(sl(&t, "member", "approve", "Upplands Väsby kommun", NULL), 1,
	    "already");
	refused(sl(&t, "member", "approve", "Ingen", NULL), 1,
	    "nothing about");

	/* The association approves: Väsby is in, on every node. */
	r = ok(sl(&o, "member", "approve", "Upplands Väsby kommun", "--json",
	    NULL));
	for (int i = 0; i < 3; i++)
		wait_contact(all[i], "Väsbys kontakt");
	wait_out(&v, "\"admission\": \"majority\"", "member", "policy", NULL);
	/* Admitted by the member that asked: Sigtuna, which invited it. */
	wait_out(&o, "\"admitted_by\": \"Sigtuna kommun\"", "member", "list",
	    NULL);
	for (int i = 0; i < 3; i++)
		if (has_contact(all[i], "Bedragarens kontakt"))
			fail_msg("%s: took the impostor's contact",
			    all[i]->name);

	/* Retiring Väsby: two of three. */
	r = ok(sl(&o, "member", "retire", "Upplands Väsby kommun", "--json",
	    NULL));
	if (strstr(r->out, "retire? 1 of 2") == NULL)
		fail_msg("om: retire said %s", r->out);
	wait_out(&t, "retire? 1 of 2", "member", "list", NULL);
	ok(sl(&t, "member", "approve", "Upplands Väsby kommun", NULL));
	for (int i = 0; i < 2; i++)
		wait_out(all[i], "\"status\": \"retired\"", "member", "list",
		    NULL);
	/* Its node learns it too, and writes no more. */
	{
		uint64_t until = now_ms() + WAIT_MS;

		while ((r = sl(&v, "contact", "add", "--name",
		    "Efter utträdet", "--role", "x", NULL))->status == 0) {
			if (now_ms() > until)
				fail_msg("vm: still writes after its retirement");
			usleep(200000);
		}
		refused(r, 1, "retired");
		/* What it wrote before it knew counts nowhere. */
		sleep(2);
		for (int i = 0; i < 2; i++)
			if (has_contact(all[i], "Efter utträdet"))
				fail_msg("%s: took a retired member's later "
				    "contact", all[i]->name);
	}
	/* An auditor's offline check of the whole log agrees: the ledger
	 * in the file admits and retires as the nodes did. */
	{
		char path[700];

		snprintf(path, sizeof path, "%s/majority.events", cl_tmp);
		ok(sl(&t, "export", "--events", path, NULL));
		r = ok(sl(&t, "verify", "--file", path, "--json", NULL));
		if (strstr(r->out, "Upplands Väsby kommun") == NULL ||
		    strstr(r->out, "Bedragarens") != NULL)
			fail_msg("verify --file: %s", r->out);
	}
	for (int i = 0; i < 3; i++) {
		if (!has_contact(all[i], "Väsbys kontakt"))
			fail_msg("%s: a retired member's past was cut away",
			    all[i]->name);
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
	}
	assert_int_equal(node_stop(&x, SIGTERM), 0);
}

/*
 * A federation that admits by one member takes the majority policy only
 * once every member approved it: the association's proposal alone
 * changes nothing (a newcomer it invites is admitted at once); Sigtuna's
 * approval starts it on both nodes; the next newcomer waits.
 */
static void
test_majority_proposal(void **state)
{
	struct node o, t, v, w, *all[] = { &o, &t, &v };
	char inv[1024];
	struct tu_run *r;

	(void)state;
	node_init(&o, "op", "Samordningsförbundet");
	node_init(&t, "tp", "Sigtuna kommun");
	node_init(&v, "vp", "Upplands Väsby kommun");
	node_init(&w, "wp", "Coompanion");
	node_start(&o);
	node_start(&t);
	node_start(&v);
	node_start(&w);
	snprintf(inv, sizeof inv, "%s", invite_line(&o, NULL));
	ok(sl(&t, "join", inv, NULL));
	wait_out(&t, "\"name\": \"Samordningsförbundet\"", "member", "list",
	    NULL);
	wait_out(&o, "\"name\": \"Sigtuna kommun\"", "member", "list", NULL);

	r = ok(sl(&o, "member", "policy", "majority", "--json", NULL));
	if (strstr(r->out, "\"admission\": \"one\"") == NULL ||
	    strstr(r->out, "has 1 of the 2 approvals it needs, this node's "
	    "among them") == NULL)
		fail_msg("op: %s", r->out);
	refused(sl(&o, "member", "policy", "majority", NULL), 1,
	    "approved the proposal already");
	r = ok(sl(&o, "status", "--json", NULL));
	if (strstr(r->out, "has 1 of the 2 approvals") == NULL)
		fail_msg("op: status %s", r->out);
	/* Until Sigtuna approves, one member admits. */
	snprintf(inv, sizeof inv, "%s", invite_line(&o, NULL));
	ok(sl(&v, "join", inv, NULL));
	add_contact(&v, "Väsbys kontakt");
	wait_contact(&o, "Väsbys kontakt");
	wait_contact(&t, "Väsbys kontakt");
	/* The proposal listed two members; there are three now: it is
	 * stale, and Sigtuna proposes anew, listing three; the others
	 * approve that one, and it starts on every node. */
	wait_out(&t, "\"name\": \"Upplands Väsby kommun\"", "member", "list",
	    NULL);
	wait_out(&v, "\"name\": \"Sigtuna kommun\"", "member", "list", NULL);
	r = ok(sl(&o, "member", "policy", "--json", NULL));
	if (strstr(r->out, "is stale") == NULL)
		fail_msg("op: a stale proposal not called so: %s", r->out);
	r = ok(sl(&t, "member", "policy", "majority", "--json", NULL));
	if (strstr(r->out, "\"admission\": \"one\"") == NULL ||
	    strstr(r->out, "has 1 of the 3 approvals") == NULL)
		fail_msg("tp: %s", r->out);
	wait_out(&o, "", "status", NULL);
	{
		uint64_t until = now_ms() + WAIT_MS;

		/* Each approves once Sigtuna's proposal has reached it. */
		while ((r = sl(&o, "member", "policy", "majority", NULL))->status
		    != 0) {
			if (now_ms() > until)
				fail_msg("op: %s", r->err);
			usleep(200000);
		}
		until = now_ms() + WAIT_MS;
		while ((r = sl(&v, "member", "policy", "majority", NULL))->status
		    != 0) {
			if (now_ms() > until)
				fail_msg("vp: %s", r->err);
			usleep(200000);
		}
	}
	for (int i = 0; i < 3; i++)
		wait_out(all[i], "\"admission\": \"majority\"", "member",
		    "policy", NULL);
	/* The members it started with keep how they came in. */
	r = ok(sl(&o, "member", "list", "--json", NULL));
	if (strstr(r->out, "\"admitted_by\": null") != NULL &&
	    strstr(strstr(r->out, "\"admitted_by\": null") + 1,
	    "\"admitted_by\": null") != NULL)
		fail_msg("op: admissions forgotten: %s", r->out);
	/* The next newcomer waits for two of three. */
	snprintf(inv, sizeof inv, "%s", invite_line(&v, NULL));
	ok(sl(&w, "join", inv, NULL));
	for (int i = 0; i < 3; i++)
		wait_out(all[i], "\"status\": \"admit? 1 of 2\"", "member",
		    "list", NULL);
	add_contact(&w, "Coompanions kontakt");
	ok(sl(&t, "member", "approve", "Coompanion", NULL));
	for (int i = 0; i < 3; i++)
		wait_contact(all[i], "Coompanions kontakt");
	for (int i = 0; i < 3; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
	assert_int_equal(node_stop(&w, SIGTERM), 0);
}

/*
 * The keeper's node is gone for good: the other two members hand the
 * order of admissions to Sigtuna (two of three), and admit a newcomer
 * without it.  One member alone hands nothing on.
 */
static void
test_majority_keeper(void **state)
{
	struct node o, t, v, w, *all[] = { &o, &t, &v, &w };
	char inv[1024];
	struct tu_run *r;

	(void)state;
	node_init(&o, "ok", "Samordningsförbundet");
	node_init(&t, "tk", "Sigtuna kommun");
	node_init(&v, "vk", "Upplands Väsby kommun");
	node_init(&w, "wk", "Coompanion");
	for (int i = 0; i < 4; i++)
		node_start(all[i]);
	ok(sl(&o, "member", "policy", "majority", NULL));
	snprintf(inv, sizeof inv, "%s", invite_line(&o, NULL));
	ok(sl(&t, "join", inv, NULL));
	wait_out(&o, "\"name\": \"Sigtuna kommun\"", "member", "list", NULL);
	wait_out(&t, "\"admission\": \"majority\"", "member", "policy", NULL);
	snprintf(inv, sizeof inv, "%s", invite_line(&o, NULL));
	ok(sl(&v, "join", inv, NULL));
	/* Sigtuna's peer add is its approval: with the association's, two
	 * of two. */
	wait_out(&t, "admit? 1 of 2", "member", "list", NULL);
	ok(sl(&t, "peer", "add", "vasby", "--key", v.id, "--addr", v.listen,
	    NULL));

	for (int i = 0; i < 3; i++)
		wait_out(all[i], "\"voters\": 3", "member", "policy", NULL);
	refused(sl(&t, "member", "keeper", "Samordningsförbundet", NULL), 1,
	    "already");
	/* Väsby takes Sigtuna's connections (a member already: no
	 * approval). */
	ok(sl(&v, "peer", "add", "sigtuna", "--key", t.id, NULL));

	/* The association's node stops for good. */
	assert_int_equal(node_stop(&o, SIGTERM), 0);
	r = ok(sl(&t, "member", "keeper", "Sigtuna kommun", "--json", NULL));
	if (strstr(r->out, "1 of the 2 approvals") == NULL)
		fail_msg("tk: keeper said %s", r->out);
	r = ok(sl(&t, "member", "policy", "--json", NULL));
	if (strstr(r->out, "\"keeper\": \"Samordningsförbundet\"") == NULL)
		fail_msg("tk: one approval handed it on: %s", r->out);
	refused(sl(&t, "member", "keeper", "Sigtuna kommun", NULL), 1,
	    "already");
	wait_out(&v, "handing the order of admissions to Sigtuna kommun",
	    "member", "policy", NULL);
	ok(sl(&v, "member", "keeper", "Sigtuna kommun", NULL));
	wait_out(&t, "\"keeper\": \"Sigtuna kommun\"", "member", "policy",
	    NULL);
	wait_out(&v, "\"keeper\": \"Sigtuna kommun\"", "member", "policy",
	    NULL);

	/* A newcomer gets in without the association's node. */
	snprintf(inv, sizeof inv, "%s", invite_line(&v, NULL));
	ok(sl(&w, "join", inv, NULL));
	wait_out(&t, "admit? 1 of 2", "member", "list", NULL);
	add_contact(&w, "Coompanions kontakt");
	ok(sl(&t, "member", "approve", "Coompanion", NULL));
	wait_contact(&t, "Coompanions kontakt");
	wait_contact(&v, "Coompanions kontakt");
	for (int i = 1; i < 4; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_majority_admits, cl_reap),
		cmocka_unit_test_teardown(test_majority_proposal, cl_reap),
		cmocka_unit_test_teardown(test_majority_keeper, cl_reap),
	};

	signal(SIGPIPE, SIG_IGN);
	if (sl_crypto_init() != 0)
		return 1;
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
