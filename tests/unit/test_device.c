/*
 * test_device.c - organisation keys and devices (PROTOCOL.md 12.3), with
 * real daemons on loopback.
 *
 * An organisation's second machine is certified by the organisation key
 * and signs for the organisation on every member's node; a revoked
 * device's later events count nowhere while its earlier ones stay; a
 * node moved to a key of its own (rotation) goes on signing for its
 * organisation, and its organisation key, now a file, is what certifies
 * from then on.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cluster.h"

/* The one line a command printed (a static buffer). */
static const char *
out_line(const struct node *n, struct tu_run *r, const char *prefix)
{
	static char line[1024];

	if (r->status != 0)
		fail_msg("%s: exited %d: %s", n->name, r->status, r->err);
	snprintf(line, sizeof line, "%.*s", (int)strcspn(r->out, "\n"),
	    r->out);
	if (strncmp(line, prefix, strlen(prefix)) != 0)
		fail_msg("%s: printed %s", n->name, r->out);
	return line;
}

/* The last enrolment line enrol() used. */
static char last_enrolment[1024];

/* Makes m a device of o's organisation (o's key certifies, or the key
 * in org_key): the three steps a user takes. */
static void
enrol(const struct node *o, const struct node *m, const char *name,
    const char *org_key)
{
	char req[1024], enr[1024];
	struct tu_run *r;

	snprintf(req, sizeof req, "%s", out_line(m, sl(m, "device", "request",
	    o->id, "--name", name, NULL), "samlog-device-request:1:"));
	r = org_key != NULL ? sl(o, "device", "add", req, "--org-key",
	    org_key, NULL) : sl(o, "device", "add", req, NULL);
	snprintf(enr, sizeof enr, "%s", out_line(o, r, "samlog-device:1:"));
	snprintf(last_enrolment, sizeof last_enrolment, "%s", enr);
	r = ok(sl(m, "join", enr, "--json", NULL));
	if (strstr(r->out, "\"enrolled\": true") == NULL)
		fail_msg("%s: join said %s", m->name, r->out);
	/* It signs once its certificate has reached it (a write before
	 * is refused with one line saying so). */
	{
		uint64_t until = now_ms() + WAIT_MS;
		char want[SL_NODE_ID_TEXT + 64];

		snprintf(want, sizeof want, "\"node_id\": \"%s\", "
		    "\"status\": \"current\"", m->id);
		while (strstr(ok(sl(m, "device", "list", "--json",
		    NULL))->out, want) == NULL) {
			if (now_ms() > until)
				fail_msg("%s: its certificate did not reach it",
				    m->name);
			usleep(50000);
		}
	}
}

/* Does n show a record of kind named name? */
static bool
has_record(const struct node *n, const char *kind, const char *name)
{
	struct tu_run *r = ok(sl(n, kind, "list", "--json", NULL));

	return strstr(r->out, name) != NULL;
}

/* Waits until n shows (or, with !want, still not) the record. */
static void
wait_record(const struct node *n, const char *kind, const char *name)
{
	uint64_t until = now_ms() + WAIT_MS;

	while (!has_record(n, kind, name)) {
		if (now_ms() > until)
			fail_msg("%s: no %s \"%s\" after %d ms; its members: "
			    "%s", n->name, kind, name, WAIT_MS, sl(n, "member",
			    "list", "--json", NULL)->out);
		usleep(50000);
	}
}

/*
 * The association's node (o) certifies a laptop (l); Sigtuna (t) is a
 * member of another organisation.  The laptop's contact and its
 * adoption of the association's decision count on Sigtuna's node as the
 * association's; Sigtuna's own attempt to adopt does not.  Revoked, the
 * laptop cannot write, cannot connect, and a record it made before
 * stays everywhere.  A request that is not the device's own, or for
 * another organisation, is refused with one line.
 */
static void
test_device_signs_for_org(void **state)
{
	struct node o, t, l, x, *all[] = { &o, &t, &l };
	char inv[512], dec[SL_ID_TEXT + 1], org[SL_ID_TEXT + 1], req[1024];
	struct tu_run *r;

	(void)state;
	node_init(&o, "od", "Samordningsförbundet");
	node_init(&t, "td", "Sigtuna kommun");
	node_init(&l, "ld", "Laptop");
	node_init(&x, "xd", "Impostor");
	node_start(&o);
	node_start(&t);
	node_start(&l);
	node_start(&x);
	snprintf(inv, sizeof inv, "%s", out_line(&o, sl(&o, "invite", NULL),
	    "samlog-invite:1:"));
	ok(sl(&t, "join", inv, NULL));

	/* A request whose proof is not the key's own: refused. */
	snprintf(req, sizeof req, "%s", out_line(&l, sl(&l, "device",
	    "request", o.id, "--name", "laptop", NULL),
	    "samlog-device-request:1:"));
	{
		char bad[1024];
		size_t n = strlen(req);

		snprintf(bad, sizeof bad, "%s", req);
		bad[n - 3] = bad[n - 3] == 'a' ? 'b' : 'a';
		refused(sl(&o, "device", "add", bad, NULL), 1, "proof");
		/* Sigtuna cannot certify a device of the association. */
		refused(sl(&t, "device", "add", req, NULL), 1, "another "
		    "organisation");
		refused(sl(&o, "device", "add", "samlog-device-request:1:x",
		    NULL), 1, "not a device request");
	}
	enrol(&o, &l, "laptop", NULL);
	/* The enrolment is the laptop's alone: on another machine, or on
	 * a member's node, it is refused and changes nothing (a first
	 * version let any node take it and speak as the association). */
	{
		char want[SL_NODE_ID_TEXT + 32];

		refused(sl(&x, "join", last_enrolment, NULL), 1,
		    "another machine");
		refused(sl(&t, "join", last_enrolment, NULL), 1,
		    "another machine");
		snprintf(want, sizeof want, "\"org_key\": \"%s\"", x.id);
		r = ok(sl(&x, "status", "--json", NULL));
		if (strstr(r->out, want) == NULL)
			fail_msg("xd: its organisation changed: %s", r->out);
	}
	/* A second device may not take a current one's name. */
	{
		char req2[1024];

		snprintf(req2, sizeof req2, "%s", out_line(&x, sl(&x, "device",
		    "request", o.id, "--name", "Laptop", NULL),
		    "samlog-device-request:1:"));
		refused(sl(&o, "device", "add", req2, NULL), 1, "is called");
		refused(sl(&o, "device", "add", last_enrolment, NULL), 1,
		    "samlog join");
	}
	r = ok(sl(&o, "device", "list", "--json", NULL));
	if (strstr(r->out, "\"laptop\"") == NULL ||
	    strstr(r->out, "\"current\"") == NULL)
		fail_msg("od: device list %s", r->out);

	/* The laptop writes for the association. */
	snprintf(org, sizeof org, "%s", line1(ok(sl(&o, "org", "add", "--name",
	    "Samordningsförbundet Sigtuna", NULL))));
	snprintf(dec, sizeof dec, "%s", line1(ok(sl(&o, "decision", "add",
	    "--title", "Budget 2028", "--text", "Antas.", "--body", org,
	    NULL))));
	wait_record(&l, "decision", "Budget 2028");
	ok(sl(&l, "contact", "add", "--name", "Från laptopen", "--role", "x",
	    NULL));
	wait_record(&t, "contact", "Från laptopen");
	r = ok(sl(&t, "history", "Från laptopen", NULL));
	if (strstr(r->out, "Samordningsförbundet") == NULL)
		fail_msg("td: the laptop's event is not the association's: %s",
		    r->out);
	/* A step on the association's decision: the laptop's counts,
	 * Sigtuna's own would not (it is refused at its write). */
	refused(sl(&t, "decision", "adopt", dec, NULL), 1, "only");
	ok(sl(&l, "decision", "adopt", dec, NULL));
	wait_events(all, 3, events(&l));
	for (int i = 0; i < 3; i++) {
		r = ok(sl(all[i], "decision", "show", dec, "--json", NULL));
		if (strstr(r->out, "\"status\": \"adopted\"") == NULL)
			fail_msg("%s: decision %s", all[i]->name, r->out);
	}

	/* The offline checkers fold the laptop's step as the association's
	 * too: the bundle carries its certificate, the export has it. */
	{
		char file[700], evf[700];

		snprintf(file, sizeof file, "%s/decision.bundle", cl_tmp);
		snprintf(evf, sizeof evf, "%s/all.events", cl_tmp);
		ok(sl(&t, "audit", dec, "--out", file, NULL));
		r = ok(sl(&t, "audit", "--check", file, "--json", NULL));
		if (strstr(r->out, "\"adopted\"") == NULL ||
		    strstr(r->out, "not the deciding") != NULL)
			fail_msg("audit --check of the laptop's step: %s",
			    r->out);
		/* Pinning the two organisations' keys pins the laptop too:
		 * the association's key certified it. */
		{
			char fo[SL_FPR_TEXT + 1], ft[SL_FPR_TEXT + 1];

			snprintf(fo, sizeof fo, "%.16s", o.id);
			snprintf(ft, sizeof ft, "%.16s", t.id);
			r = ok(sl(&t, "audit", "--check", file, "--expect", fo,
			    "--expect", ft, "--json", NULL));
			if (strstr(r->out, "\"device_of\": \"") == NULL)
				fail_msg("the laptop is no device in %s", r->out);
			/* One line for each key not expected. */
			r = sl(&t, "audit", "--check", file, "--expect", ft,
			    NULL);
			if (r->status != 1 || strstr(r->err, "not an expected "
			    "key") == NULL)
				fail_msg("audit --check pinned to Sigtuna alone: "
				    "%d %s", r->status, r->err);
		}
		ok(sl(&t, "export", "--events", evf, NULL));
		ok(sl(&t, "verify", "--file", evf, NULL));
	}

	/* Revoked: its earlier records stay, it writes nothing more. */
	ok(sl(&o, "device", "revoke", "laptop", NULL));
	refused(sl(&o, "device", "revoke", "laptop", NULL), 1, "already");
	refused(sl(&o, "device", "revoke", "nothing-such", NULL), 1,
	    "no device");
	{
		uint64_t until = now_ms() + WAIT_MS;

		while (strstr(ok(sl(&l, "device", "list", "--json",
		    NULL))->out, "\"revoked\"") == NULL) {
			if (now_ms() > until)
				fail_msg("ld: the revocation did not reach it");
			usleep(50000);
		}
	}
	refused(sl(&l, "contact", "add", "--name", "Efter spärren", "--role",
	    "x", NULL), 1, "revoked");
	sleep(1);
	for (int i = 0; i < 2; i++) {
		assert_true(has_record(all[i], "contact", "Från laptopen"));
		assert_false(has_record(all[i], "contact", "Efter spärren"));
	}
	r = ok(sl(&t, "device", "list", "--json", NULL));
	if (strstr(r->out, "\"revoked\"") == NULL)
		fail_msg("td: device list %s", r->out);
	/* The export says so offline: the association's one device,
	 * revoked. */
	{
		char evf[700];

		snprintf(evf, sizeof evf, "%s/after.events", cl_tmp);
		ok(sl(&t, "export", "--events", evf, NULL));
		r = ok(sl(&t, "verify", "--file", evf, "--json", NULL));
		if (strstr(r->out, "\"devices\": 1, \"devices_revoked\": 1")
		    == NULL || strstr(r->out, "\"name\": \"Sigtuna kommun\"")
		    == NULL)
			fail_msg("verify --file: members %s", r->out);
	}

	/* A node of no member cannot enrol through the association: its
	 * request names the association, but only the association's key
	 * certifies, and the impostor's own join line is not one. */
	refused(sl(&x, "join", "samlog-device:1:nonsense", NULL), 1,
	    "not an enrolment");
	for (int i = 0; i < 3; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
	assert_int_equal(node_stop(&x, SIGTERM), 0);
}

/*
 * The association moves its node to a device key of its own: the same
 * daemon (same pid) starts again and signs with it, its writes count on
 * Sigtuna's node, the organisation key is left in org.key (0600), and a
 * device is then certified only with that file.  A newcomer invited by
 * the moved node joins the association's organisation, not the device,
 * and converges.  A rotation begun but never written is dropped at the
 * next start.
 */
static void
test_rotate(void **state)
{
	struct node o, t, s, n, *all[] = { &o, &t, &s, &n };
	char inv[512], path[700], before[SL_NODE_ID_TEXT + 1];
	struct tu_run *r;
	struct stat st;
	pid_t pid;

	(void)state;
	node_init(&o, "or", "Samordningsförbundet");
	node_init(&t, "tr", "Sigtuna kommun");
	node_init(&s, "sr", "Server 2");
	node_init(&n, "nr", "Upplands Väsby kommun");
	node_start(&o);
	node_start(&t);
	node_start(&s);
	node_start(&n);
	snprintf(inv, sizeof inv, "%s", out_line(&o, sl(&o, "invite", NULL),
	    "samlog-invite:1:"));
	ok(sl(&t, "join", inv, NULL));
	add_contact(&o, "Före flytten");
	pid = o.pid;
	snprintf(before, sizeof before, "%s", o.id);

	/* A rotation waits until the peers hold all of the node's events
	 * (the contact just added may not have reached Sigtuna yet). */
	{
		uint64_t until = now_ms() + WAIT_MS;

		while ((r = sl(&o, "device", "rotate", "--json", NULL))->status
		    != 0) {
			if (now_ms() > until || strstr(r->err, "peer") == NULL)
				fail_msg("or: rotate: %s", r->err);
			usleep(100000);
		}
	}
	if (strstr(r->out, "org.key") == NULL)
		fail_msg("or: rotate said %s", r->out);
	wait_log(&o, "starting again");
	{
		uint64_t until = now_ms() + WAIT_MS;

		while (log_count(&o, "ready in") < 2) {
			if (now_ms() > until)
				fail_msg("or: did not start again");
			usleep(50000);
		}
	}
	assert_int_equal(o.pid, pid);
	{
		uint64_t until = now_ms() + WAIT_MS;
		char was[SL_NODE_ID_TEXT + 32];

		snprintf(was, sizeof was, "\"node_id\": \"%s\"", before);
		while ((r = sl(&o, "status", "--json", NULL))->status != 0 ||
		    strstr(r->out, was) != NULL) {
			if (now_ms() > until)
				fail_msg("or: still signs with its old key");
			usleep(50000);
		}
	}
	/* It signs for the organisation, whose key stays the old one. */
	{
		char want[SL_NODE_ID_TEXT + 32];

		snprintf(want, sizeof want, "\"org_key\": \"%s\"", before);
		if (strstr(r->out, want) == NULL ||
		    strstr(r->out, "\"signs\": \"as its device server\"") ==
		    NULL)
			fail_msg("or: status after the rotation %s", r->out);
	}
	/* A second rotation at once: refused while Sigtuna has not taken
	 * the first (a first version let it, and cut the node off from
	 * Sigtuna for good: the new key's certificate was in a chain
	 * Sigtuna never got). */
	r = sl(&o, "device", "rotate", NULL);
	if (r->status == 0)
		fail_msg("or: a second rotation at once was let through: %s",
		    r->out);
	if (strstr(r->err, "peer") == NULL && strstr(r->err, "moving") ==
	    NULL)
		fail_msg("or: the second rotation said %s", r->err);
	snprintf(path, sizeof path, "%s/org.key", o.dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	add_contact(&o, "Efter flytten");
	wait_record(&t, "contact", "Efter flytten");
	r = ok(sl(&t, "history", "Efter flytten", NULL));
	if (strstr(r->out, "Samordningsförbundet") == NULL)
		fail_msg("tr: the moved node's event is not the association's: "
		    "%s", r->out);
	r = ok(sl(&t, "device", "list", NULL));
	if (strstr(r->out, "moved to a device") == NULL)
		fail_msg("tr: device list %s", r->out);

	/* Certifying needs the organisation key now. */
	{
		char req[1024];

		snprintf(req, sizeof req, "%s", out_line(&s, sl(&s, "device",
		    "request", before, "--name", "server-2", NULL),
		    "samlog-device-request:1:"));
		refused(sl(&o, "device", "add", req, NULL), 1, "--org-key");
	}
	enrol(&o, &s, "server-2", path);
	ok(sl(&s, "contact", "add", "--name", "Från server 2", "--role", "x",
	    NULL));
	wait_record(&t, "contact", "Från server 2");

	/* Once Sigtuna has it all, a second rotation goes through, and
	 * Sigtuna follows again. */
	{
		uint64_t until = now_ms() + WAIT_MS;

		while ((r = sl(&o, "device", "rotate", "--org-key", path,
		    NULL))->status != 0) {
			if (now_ms() > until)
				fail_msg("or: a second rotation was never let "
				    "through: %s", r->err);
			usleep(200000);
		}
		until = now_ms() + WAIT_MS;
		while (log_count(&o, "ready in") < 3) {
			if (now_ms() > until)
				fail_msg("or: did not start again twice");
			usleep(50000);
		}
		assert_int_equal(o.pid, pid);
	}
	add_contact(&o, "Efter andra flytten");
	wait_record(&t, "contact", "Efter andra flytten");

	/* An invitation from the moved node names the organisation. */
	snprintf(inv, sizeof inv, "%s", out_line(&o, sl(&o, "invite", NULL),
	    "samlog-invite:2:"));
	ok(sl(&n, "join", inv, NULL));
	add_contact(&n, "Från Väsby");
	wait_record(&t, "contact", "Från Väsby");
	wait_record(&n, "contact", "Från server 2");
	wait_record(&n, "contact", "Före flytten");
	r = ok(sl(&n, "member", "list", "--json", NULL));
	if (strstr(r->out, "Samordningsförbundet") == NULL)
		fail_msg("nr: member list %s", r->out);

	/* A rotation begun and never written: the next start drops it. */
	assert_int_equal(node_stop(&t, SIGTERM), 0);
	{
		char next[700];
		FILE *f;

		snprintf(next, sizeof next, "%s/node.key.next", t.dir);
		f = fopen(next, "w");
		assert_non_null(f);
		fputs("# samlog key\n"
		    "0000000000000000000000000000000000000000000000000000\n", f);
		fclose(f);
		chmod(next, 0600);
		node_start(&t);
		wait_log(&t, "keeps its key");
		assert_int_not_equal(access(next, F_OK), 0);
	}
	add_contact(&t, "Sigtuna efter omstart");
	wait_record(&o, "contact", "Sigtuna efter omstart");
	for (int i = 0; i < 4; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
}

/*
 * Retiring an organisation that has a device: the association retires
 * Sigtuna, whose laptop wrote a contact.  The contact stays on every
 * node (the retirement lists the laptop's last seq; without it, a
 * device not listed is cut at 0 and its past would be rebuilt away),
 * and the laptop writes nothing more.
 */
static void
test_retire_with_device(void **state)
{
	struct node o, t, l, *all[] = { &o, &t, &l };
	char inv[512];
	struct tu_run *r;

	(void)state;
	node_init(&o, "ow", "Samordningsförbundet");
	node_init(&t, "tw", "Sigtuna kommun");
	node_init(&l, "lw", "Sigtunas laptop");
	node_start(&o);
	node_start(&t);
	node_start(&l);
	snprintf(inv, sizeof inv, "%s", out_line(&o, sl(&o, "invite", NULL),
	    "samlog-invite:1:"));
	ok(sl(&t, "join", inv, NULL));
	enrol(&t, &l, "laptop", NULL);
	ok(sl(&l, "contact", "add", "--name", "Från Sigtunas laptop", "--role",
	    "x", NULL));
	wait_record(&o, "contact", "Från Sigtunas laptop");
	wait_events(all, 3, events(&o));
	r = ok(sl(&o, "member", "retire", "Sigtuna kommun", "--json", NULL));
	if (strstr(r->out, "\"retired\"") == NULL)
		fail_msg("ow: member retire said %s", r->out);
	{
		uint64_t until = now_ms() + WAIT_MS;

		while (strstr(ok(sl(&l, "device", "list", "--json",
		    NULL))->out, "\"retired\"") == NULL) {
			if (now_ms() > until)
				fail_msg("lw: the retirement did not reach it");
			usleep(50000);
		}
	}
	refused(sl(&l, "contact", "add", "--name", "Efter utträdet", "--role",
	    "x", NULL), 1, "retired from the federation");
	/* A rebuild (the retirement asks for one where it cuts) keeps the
	 * laptop's past. */
	ok(sl(&o, "rebuild", NULL));
	sleep(1);
	for (int i = 0; i < 2; i++)
		if (!has_record(all[i], "contact", "Från Sigtunas laptop"))
			fail_msg("%s: the laptop's past was cut away",
			    all[i]->name);
	for (int i = 0; i < 3; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
}

static int
count(const char *s, const char *needle)
{
	int k = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
		k++;
	return k;
}

/*
 * Witnesses are organisations: the association's laptop witnessing the
 * association's own chain is no witness, and the association's two keys
 * witnessing Sigtuna's chain are one witness.  On Sigtuna's node every
 * one of the three origins ends witnessed by exactly one organisation (a
 * first version counted keys: two for the association's chain and for
 * Sigtuna's).
 */
static void
test_device_witness(void **state)
{
	struct node o, t, l, *all[] = { &o, &t, &l };
	char inv[512], path[700];
	const char *out = "";
	uint64_t until;

	(void)state;
	node_init(&o, "ov", "Samordningsförbundet");
	node_init(&t, "tv", "Sigtuna kommun");
	node_init(&l, "lv", "Laptop");
	for (int i = 0; i < 3; i++) {
		FILE *f;

		snprintf(path, sizeof path, "%s/%s", all[i]->dir,
		    SL_NODE_CONF_FILE);
		assert_non_null(f = fopen(path, "a"));
		fprintf(f, "checkpoint_interval = 1s\n");
		fclose(f);
		node_start(all[i]);
	}
	snprintf(inv, sizeof inv, "%s", out_line(&o, sl(&o, "invite", NULL),
	    "samlog-invite:1:"));
	ok(sl(&t, "join", inv, NULL));
	enrol(&o, &l, "laptop", NULL);
	add_contact(&l, "Från laptopen");
	add_contact(&t, "Från Sigtuna");
	until = now_ms() + WAIT_MS;
	for (;;) {
		out = ok(sl(&t, "status", "--json", NULL))->out;
		if (count(out, "\"witnesses\": 1") == 3 &&
		    count(out, "\"witnesses\": 2") == 0)
			break;
		if (now_ms() > until)
			fail_msg("tv: want three origins witnessed by one "
			    "organisation each:\n%s", out);
		usleep(200000);
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_device_signs_for_org, cl_reap),
		cmocka_unit_test_teardown(test_rotate, cl_reap),
		cmocka_unit_test_teardown(test_retire_with_device, cl_reap),
		cmocka_unit_test_teardown(test_device_witness, cl_reap),
	};

	signal(SIGPIPE, SIG_IGN);
	if (sl_crypto_init() != 0)
		return 1;
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
