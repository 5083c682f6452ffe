/*
 * test_sync.c - nodes syncing over TLS on loopback: real samlogd
 * processes in temporary directories, driven through the samlog binary.
 *
 * Two nodes; three in a line (events cross the middle one); a star of
 * five with offline edits on every node; a node that is not a member
 * refused; a tampered event and a fork refused and kept as evidence while
 * other origins still sync; a receiver killed mid-transfer that resumes;
 * a node restored from an old backup taking its own events back before
 * appending, also when they fill many frames; concurrent edits giving the same conflict everywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cluster.h"
#include "fill.h"
#include "samlog_proto.h"
#include "store.h"
#include "testutil.h"

/* ---- scenarios ------------------------------------------------------------ */

static void
test_two_nodes(void **state)
{
	struct node a, b, *all[] = { &a, &b };
	char id[64];

	(void)state;
	node_init(&a, "a2", "Samordningsförbundet");
	node_init(&b, "b2", "Sigtuna kommun");
	node_start(&a);
	node_start(&b);
	/* Offline work on both before they know each other. */
	ok(sl(&a, "org", "add", "--name", "Väsby Företag", "--kind", "asf",
	    NULL));
	add_contact(&b, "Åsa Häggvik");
	trust(&a, &b, true);
	trust(&b, &a, false);
	wait_events(all, 2, 4);
	assert_same(all, 2);
	/* Live: a new event is pushed without anything else happening. */
	snprintf(id, sizeof id, "%s", add_contact(&a, "Per Märsta"));
	wait_events(all, 2, 5);
	assert_int_equal(ok(sl(&b, "contact", "show", id, NULL))->status, 0);
	assert_same(all, 2);
	/* status names the peer, connected, nothing behind either way. */
	struct tu_run *r = ok(sl(&b, "status", "--json", NULL));

	assert_non_null(strstr(r->out, "\"name\": \"a2\""));
	assert_non_null(strstr(r->out, "\"connected\": true"));
	assert_int_equal(tu_json_num(r->out, "behind"), 0);
	assert_int_equal(tu_json_num(r->out, "ahead"), 0);
	r = ok(sl(&a, "peer", "list", "--json", NULL));
	assert_non_null(strstr(r->out, "\"connected\": true"));
	/* peer list shows where a peer is dialled; a peer that only comes
	 * in shows as such, never as its connection's ephemeral port. */
	char want[128];

	snprintf(want, sizeof want, "\"addr\": \"%s\"", b.listen);
	assert_non_null(strstr(r->out, want));
	r = ok(sl(&b, "peer", "list", "--json", NULL));
	assert_non_null(strstr(r->out, "\"connected\": true"));
	assert_non_null(strstr(r->out, "\"addr\": \"incoming\""));
	r = ok(sl(&b, "peer", "list", NULL));
	assert_non_null(strstr(r->out, "incoming"));
	assert_null(strstr(r->out, "127.0.0.1"));
	/* Peer commands check their input and change nothing when wrong. */
	r = sl(&a, "peer", "add", "x", "--key", "nonsense", NULL);
	assert_int_equal(r->status, 1);
	assert_non_null(strstr(r->err, "invalid node id"));
	r = sl(&a, "peer", "add", "bad name", "--key", b.id, NULL);
	assert_int_equal(r->status, 1);
	r = sl(&a, "peer", "add", "c", "--key", b.id, NULL);
	assert_int_equal(r->status, 1);
	assert_non_null(strstr(r->err, "already peer b2"));
	r = sl(&a, "peer", "add", "self", "--key", a.id, NULL);
	assert_int_equal(r->status, 1);
	r = sl(&a, "peer", "add", "c", "--key", b.id, "--addr", "nowhere",
	    NULL);
	assert_int_equal(r->status, 1);
	/* Nothing can be smuggled into samlog.conf through an address. */
	r = sl(&a, "peer", "add", "c", "--key", b.id, "--addr",
	    "h\nlisten = 0.0.0.0:1:7", NULL);
	assert_int_equal(r->status, 1);
	r = sl(&a, "peer", "remove", "nobody", NULL);
	assert_int_equal(r->status, 1);
	r = sl(&a, "peer", "add", NULL);
	assert_int_equal(r->status, 2);
	/* Removing the peer disconnects it at once; its events stay. */
	ok(sl(&a, "peer", "remove", "b2", NULL));
	assert_int_equal(tu_lines(ok(sl(&a, "peer", "list", NULL))->out), 0);
	add_contact(&b, "Efter Borttagning");
	usleep(500000);
	assert_int_equal(events(&a), 5);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	/* Not dialled and no longer connected: no address at all. */
	for (int i = 0; i < 100; i++) {
		r = ok(sl(&b, "peer", "list", "--json", NULL));
		if (strstr(r->out, "\"connected\": false") != NULL)
			break;
		usleep(100000);
	}
	assert_non_null(strstr(r->out, "\"connected\": false"));
	assert_non_null(strstr(r->out, "\"addr\": \"-\""));
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

/*
 * A node catching up commits each EVENTS frame at once, and LMDB keeps
 * the pages of the largest commit for good: after 30,000 contacts, a
 * few hundred to a frame, the receiver held about 20 MiB of its own.
 * Idle (no request and no event for a few seconds) it gives them back,
 * though no client asked it anything.
 */
static void
test_memory_after_catch_up(void **state)
{
	struct node a, b, *all[] = { &a, &b };
	char *csv;
	long anon, want;

	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	skip(); /* ASan's shadow and quarantine are most of the memory */
#endif
	node_init(&a, "ma", "Samordningsförbundet");
	node_init(&b, "mb", "Sigtuna kommun");
	node_start(&a);
	node_start(&b);
	if (asprintf(&csv, "%s/many.csv", cl_tmp) < 0)
		abort();
	tu_contacts_csv(csv, 30000);
	ok(sl(&a, "import", csv, "--kind", "contact", NULL));
	free(csv);
	want = events(&a) + events(&b);
	trust(&a, &b, true);
	trust(&b, &a, false);
	wait_events(all, 2, want);
	anon = tu_idle_own_kib(b.pid, 12 * 1024);
	print_message("the receiver's own memory idle after catching up "
	    "30,000 contacts: %ld KiB\n", anon);
	assert_true(anon > 0 && anon <= 12 * 1024);
	/* And it goes on: a new contact either way, the same records. */
	add_contact(&a, "Efter Ny");
	add_contact(&b, "Efter Nyare");
	wait_events(all, 2, want + 2);
	assert_same_export(all, 2);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

static void
test_line_of_three(void **state)
{
	struct node a, b, c, *all[] = { &a, &b, &c };

	(void)state;
	node_init(&a, "a3", "A");
	node_init(&b, "b3", "B");
	node_init(&c, "c3", "C");
	node_start(&a);
	node_start(&b);
	node_start(&c);
	/* Everyone is a member of everyone; only a-b and b-c are linked. */
	trust(&a, &b, true);
	trust(&a, &c, false);
	trust(&b, &a, false);
	trust(&b, &c, false);
	trust(&c, &b, true);
	trust(&c, &a, false);
	add_contact(&a, "Från A");
	add_contact(&c, "Från C");
	wait_events(all, 3, 5);
	assert_same(all, 3);
	/* Live through the middle as well. */
	add_contact(&a, "Också från A");
	wait_events(all, 3, 6);
	assert_same(all, 3);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
	assert_int_equal(node_stop(&c, SIGTERM), 0);
}

/*
 * Membership in the log: Upplands Väsby's node is told only of the hub's,
 * the hub of both, Sigtuna's only of the hub's.  Väsby learns that
 * Sigtuna is a member from the hub's admission of it, takes Sigtuna's
 * events through the hub and names them Sigtuna's; each node lists the
 * same three members.  (An older version dropped Sigtuna's events on
 * Väsby's node and showed nothing wrong.)
 */
static void
test_members_through_hub(void **state)
{
	struct node v, h, t, *all[] = { &v, &h, &t };
	struct tu_run *r;

	(void)state;
	node_init(&v, "vh", "Upplands Väsby kommun");
	node_init(&h, "hh", "Samordningsförbundet");
	node_init(&t, "th", "Sigtuna kommun");
	node_start(&v);
	node_start(&h);
	node_start(&t);
	trust(&v, &h, true);
	trust(&h, &v, false);
	trust(&h, &t, false);
	trust(&t, &h, true);
	add_contact(&t, "Från Sigtuna");
	add_contact(&v, "Från Väsby");
	wait_events(all, 3, 5);
	assert_same(all, 3);
	for (int i = 0; i < 3; i++) {
		r = ok(sl(all[i], "member", "list", "--json", NULL));
		if (strstr(r->out, "\"Sigtuna kommun\"") == NULL ||
		    strstr(r->out, "\"Upplands Väsby kommun\"") == NULL ||
		    strstr(r->out, "\"Samordningsförbundet\"") == NULL)
			fail_msg("%s: member list lacks a member: %s",
			    all[i]->name, r->out);
		assert_int_equal(tu_json_num(ok(sl(all[i], "status", "--json",
		    NULL))->out, "members"), 3);
	}
	r = ok(sl(&v, "find", "Från Sigtuna", "--json", NULL));
	if (strstr(r->out, "Från Sigtuna") == NULL)
		fail_msg("vh: Sigtuna's contact is missing: %s", r->out);
	/* Live, through the middle. */
	add_contact(&t, "Också från Sigtuna");
	wait_events(all, 3, 6);
	assert_same(all, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
}

/*
 * A retired member: the hub retires Sigtuna.  Sigtuna's events up to the
 * cut-off stay on every node; its own node refuses to write more, and no
 * other node lets it in (test_meaning sends a later event of a retired
 * member through another member: refused, kept as evidence).
 */
static void
test_member_retired(void **state)
{
	struct node v, h, t, *all[] = { &v, &h, &t }, *two[] = { &v, &h };
	struct tu_run *r;

	(void)state;
	node_init(&v, "vr", "Upplands Väsby kommun");
	node_init(&h, "hr", "Samordningsförbundet");
	node_init(&t, "tr", "Sigtuna kommun");
	node_start(&v);
	node_start(&h);
	node_start(&t);
	trust(&v, &h, true);
	trust(&h, &v, false);
	trust(&h, &t, false);
	trust(&t, &h, true);
	add_contact(&t, "Före pensionen");
	wait_events(all, 3, 4);
	r = ok(sl(&h, "member", "retire", "Sigtuna kommun", "--json", NULL));
	if (strstr(r->out, "\"retired\"") == NULL)
		fail_msg("hr: member retire said: %s", r->out);
	/* Every node learns of it before Sigtuna writes again. */
	for (int i = 0; i < 3; i++) {
		uint64_t t0 = now_ms();

		while (strstr(ok(sl(all[i], "member", "list", "--json",
		    NULL))->out, "\"status\": \"retired\"") == NULL) {
			if (now_ms() - t0 > 20000)
				fail_msg("%s never saw the retirement",
				    all[i]->name);
			usleep(100000);
		}
	}
	/* Sigtuna's own node refuses to write what would count nowhere. */
	r = sl(&t, "contact", "add", "--name", "Efter pensionen", NULL);
	if (r->status != 1 || strstr(r->err, "retired") == NULL)
		fail_msg("tr: a write after the retirement exited %d: %s",
		    r->status, r->err);
	r = ok(sl(&t, "status", NULL));
	if (strstr(r->out, "was retired from the federation by "
	    "Samordningsförbundet") == NULL)
		fail_msg("tr: status does not say it was retired: %s", r->out);
	for (int i = 0; i < 2; i++) {
		r = ok(sl(two[i], "find", "pensionen", "--json", NULL));
		if (strstr(r->out, "Före pensionen") == NULL ||
		    strstr(r->out, "Efter pensionen") != NULL)
			fail_msg("%s: want only the contact from before the "
			    "retirement: %s", two[i]->name, r->out);
	}
	/* The hub no longer lets Sigtuna's node connect at all. */
	wait_log(&h, "is not a member");
	for (int i = 0; i < 3; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
}

/* `samlog join` on n expected to fail with exit status want and a message
 * holding needle, on one line. */
static void
join_refused(const struct node *n, const char *inv, int want,
    const char *needle)
{
	struct tu_run *r = sl(n, "join", inv, NULL);

	if (r->status != want || strstr(r->err, needle) == NULL ||
	    strchr(r->err, '\n') != r->err + strlen(r->err) - 1)
		fail_msg("%s: join %.40s... exited %d, want %d and \"%s\": %s",
		    n->name, inv, r->status, want, needle, r->err);
}

/*
 * Joining takes two commands, and three nodes in a line converge though
 * the ends never meet: the association founds the federation, Sigtuna
 * joins it, Väsby joins Sigtuna.  Väsby takes the association's events
 * (and it Väsby's) only because the log says Sigtuna admitted Väsby and
 * the association admitted Sigtuna.  A wrong, expired or reused
 * invitation is refused with one line and changes nothing.
 */
static void
test_join(void **state)
{
	struct node f, t, v, x, *all[] = { &f, &t, &v };
	char inv[512], line[512];
	struct tu_run *r;

	(void)state;
	node_init(&f, "fj", "Samordningsförbundet");
	node_init(&t, "tj", "Sigtuna kommun");
	node_init(&v, "vj", "Upplands Väsby kommun");
	node_init(&x, "xj", "Sigtuna kommun");
	node_start(&f);
	node_start(&t);
	node_start(&v);
	node_start(&x);
	add_contact(&f, "Från förbundet");

	/* Two commands. */
	snprintf(inv, sizeof inv, "%s", invite_line(&f, NULL));
	r = ok(sl(&t, "join", inv, "--json", NULL));
	if (strstr(r->out, "\"joined\": true") == NULL)
		fail_msg("tj: join said %s", r->out);
	/* Used once: another node cannot use it again. */
	join_refused(&x, inv, 1, "was used");
	/* Not an invitation at all; one that says it expired; a secret
	 * the inviter never gave (its last characters changed). */
	join_refused(&x, "samlog-invite:1:nonsense", 1, "not an invitation");
	snprintf(line, sizeof line, "%s", invite_line(&f, "1s"));
	sleep(2);
	join_refused(&x, line, 1, "expired");
	snprintf(line, sizeof line, "%s", invite_line(&f, NULL));
	{
		/* The secret is the field after the inviter's id. */
		char *sec = line + strlen("samlog-invite:1:") +
		    SL_NODE_ID_TEXT + 1;

		sec[0] = sec[0] == 'a' ? 'b' : 'a';
	}
	join_refused(&x, line, 1, "was used");
	/* A name another member holds: refused, and the invitation stays
	 * good for the right name. */
	snprintf(line, sizeof line, "%s", invite_line(&f, NULL));
	join_refused(&x, line, 1, "another member's");

	/* Väsby joins through Sigtuna: the ends never connect. */
	snprintf(inv, sizeof inv, "%s", invite_line(&t, NULL));
	ok(sl(&v, "join", inv, NULL));
	add_contact(&v, "Från Väsby");
	add_contact(&t, "Från Sigtuna");
	wait_events(all, 3, 6);
	assert_same(all, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tu_json_num(ok(sl(all[i], "status", "--json",
		    NULL))->out, "members"), 3);
		r = ok(sl(all[i], "member", "list", "--json", NULL));
		if (strstr(r->out, "Upplands Väsby kommun") == NULL ||
		    strstr(r->out, "Samordningsförbundet") == NULL)
			fail_msg("%s: member list %s", all[i]->name, r->out);
	}
	/* The refused node changed nothing anywhere. */
	assert_int_equal(tu_json_num(ok(sl(&x, "status", "--json",
	    NULL))->out, "members"), 1);
	r = ok(sl(&f, "peer", "list", "--json", NULL));
	if (strstr(r->out, x.id) != NULL)
		fail_msg("fj: the refused node became a peer: %s", r->out);
	for (int i = 0; i < 3; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
	assert_int_equal(node_stop(&x, SIGTERM), 0);
}

/*
 * An older version's node: a store with events and no membership, and a
 * peer line in samlog.conf (its trust then).  On its first start with
 * membership it admits itself and the peer's organisation in its own
 * chain, so the peer, which admits it back, takes its events, and a
 * third node told only of the peer takes them too.
 */
static void
test_upgrade_peer_lines(void **state)
{
	struct node a, b, c, *all[] = { &a, &b, &c };
	char path[700], err[256];
	FILE *f;
	struct tu_run *r;

	(void)state;
	node_init(&a, "au", "Äldre nod");
	node_init(&b, "bu", "Navet");
	node_init(&c, "cu", "Tredje");
	assert_int_equal(tu_fill(a.dir, 3, err, sizeof err), 0);
	node_start(&b);
	snprintf(path, sizeof path, "%s/samlog.conf", a.dir);
	assert_non_null(f = fopen(path, "a"));
	fprintf(f, "peer = navet %s %s\n", b.id, b.listen);
	fclose(f);
	node_start(&a);
	r = ok(sl(&a, "log", "--json", NULL));
	if (strstr(r->out, "member.admitted") == NULL)
		fail_msg("au: no admissions on its first start: %s", r->out);
	trust(&b, &a, false);
	node_start(&c);
	trust(&c, &b, true);
	trust(&b, &c, false);
	wait_events(all, 3, 3 + 3);
	assert_same(all, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tu_json_num(ok(sl(all[i], "status", "--json",
		    NULL))->out, "members"), 3);
	/* A second start writes no more admissions. */
	long before = tu_json_num(ok(sl(&a, "status", "--json", NULL))->out,
	    "member_events");

	assert_int_equal(node_stop(&a, SIGTERM), 0);
	node_start(&a);
	assert_int_equal(tu_json_num(ok(sl(&a, "status", "--json",
	    NULL))->out, "member_events"), before);
	for (int i = 0; i < 3; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
}

static void
test_star_offline(void **state)
{
	struct node n[5], *all[5];
	char name[16], org[32];

	(void)state;
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "s%d", i);
		snprintf(org, sizeof org, "Organisation %d", i);
		node_init(&n[i], name, org);
		node_start(&n[i]);
		all[i] = &n[i];
	}
	/* n[0] is the hub every leaf dials; all are members of all. */
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++)
			if (i != j)
				trust(&n[i], &n[j], i != 0 && j == 0);
	for (int i = 0; i < 5; i++)
		add_contact(&n[i], "Före");
	wait_events(all, 5, 10);
	assert_same(all, 5);
	/* The hub goes away; every node works offline meanwhile. */
	assert_int_equal(node_stop(&n[0], SIGTERM), 0);
	for (int i = 1; i < 5; i++) {
		add_contact(&n[i], "Offline ett");
		add_contact(&n[i], "Offline två");
	}
	node_start(&n[0]);   /* same port: the leaves redial it */
	add_contact(&n[0], "Navet");
	wait_events(all, 5, 19);
	assert_same(all, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(node_stop(&n[i], SIGTERM), 0);
}

static void
test_non_member_refused(void **state)
{
	struct node a, x;

	(void)state;
	node_init(&a, "am", "A");
	node_init(&x, "xm", "Intruder");
	node_start(&a);
	node_start(&x);
	add_contact(&a, "Hemlig");
	/* x trusts a and dials it; a has never heard of x. */
	trust(&x, &a, true);
	char needle[128];

	snprintf(needle, sizeof needle, "node %s is not a member", x.id);
	wait_log(&a, needle);
	usleep(300000);
	assert_int_equal(events(&x), 1);   /* only its own genesis */
	struct tu_run *r = ok(sl(&x, "status", "--json", NULL));

	assert_non_null(strstr(r->out, "\"connected\": false"));
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&x, SIGTERM), 0);
}

/* Flips one byte of the signature of the node's own event seq on disk. */
static void
tamper(const struct node *n, uint64_t seq)
{
	char path[600], err[256];
	struct store *s;
	struct sl_event ev;
	uint8_t *rec;
	size_t len;

	snprintf(path, sizeof path, "%s/%s", n->dir, SL_NODE_STORE_DIR);
	if (store_open(&s, path, NULL, NULL, err, sizeof err) != SL_OK)
		fail_msg("%s", err);
	const uint8_t *origin = store_tip_at(s, 0)->origin;

	assert_int_equal(store_event_get(s, origin, seq, &rec, &len), SL_OK);
	store_close(s);
	assert_int_equal(sl_event_decode(&ev, rec, len), SL_OK);
	assert_non_null(ev.sig);
	assert_int_equal(tu_flip_record(path, seq, (size_t)(ev.sig - rec) + 10,
	    0x01), 0);
	free(rec);
}

static void
test_tampered(void **state)
{
	struct node a, b, c, *ac[] = { &a, &c };

	(void)state;
	node_init(&a, "at", "A");
	node_init(&b, "bt", "B");
	node_init(&c, "ct", "C");
	node_start(&a);
	node_start(&c);
	trust(&a, &c, false);
	trust(&c, &a, true);
	add_contact(&a, "A ett");           /* a: seq 2 */
	add_contact(&c, "C ett");
	wait_events(ac, 2, 4);
	/* a's own event seq 2 gets a bad signature on a's disk. */
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	tamper(&a, 2);
	node_start(&a);
	node_start(&b);
	trust(&b, &a, true);
	trust(&b, &c, false);
	trust(&a, &b, false);
	/* b learns c's events through a; a's batch with the bad signature
	 * is refused whole, kept as evidence, and shown in status. */
	wait_events((struct node *[]){ &b }, 1, 1 + 2);
	wait_log(&b, "signature");
	usleep(300000);
	assert_int_equal(events(&b), 3);
	struct tu_run *r = ok(sl(&b, "status", "--json", NULL));

	assert_int_equal(tu_json_num(r->out, "refused"), 1);
	assert_non_null(strstr(r->out, "\"last_error\": \"refused: "));
	assert_int_equal(ok(sl(&b, "verify", NULL))->status, 0);
	/* c's later events still flow through a. */
	add_contact(&c, "C två");
	wait_events((struct node *[]){ &b }, 1, 4);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
	assert_int_equal(node_stop(&c, SIGTERM), 0);
}

static void
test_fork_detected(void **state)
{
	struct node a, a2, b;
	char cmd[4096];

	(void)state;
	node_init(&a, "af", "A");
	node_init(&b, "bf", "B");
	/* a2 is a copy of a's directory: same key, same genesis. */
	a2 = a;
	snprintf(a2.name, sizeof a2.name, "af2");
	snprintf(a2.dir, sizeof a2.dir, "%s/af2", cl_tmp);
	snprintf(a2.log, sizeof a2.log, "%s/af2.log", cl_tmp);
	node_start(&a);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	snprintf(cmd, sizeof cmd, "cp -a %s %s && rm -f %s/samlogd.sock "
	    "%s/samlogd.lock", a.dir, a2.dir, a2.dir, a2.dir);
	assert_int_equal(system(cmd), 0);
	node_start(&a);
	node_start(&a2);
	node_start(&b);
	add_contact(&a, "Historia ett");
	add_contact(&a2, "Historia två");  /* the same seq, another event */
	trust(&b, &a, true);
	trust(&a, &b, false);
	wait_events((struct node *[]){ &b }, 1, 3);
	/* Now b meets the other history under the same key. */
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	trust(&a2, &b, false);
	ok(sl(&b, "peer", "add", "af", "--key", a.id, "--addr", a2.listen,
	    NULL));
	wait_log(&b, "kept as evidence");
	struct tu_run *r = ok(sl(&b, "status", "--json", NULL));

	assert_int_equal(tu_json_num(r->out, "forks"), 1);
	assert_non_null(strstr(r->out, "differs from the event"));
	/* The three events as before, and b's proof of the fork (PROTOCOL.md
	 * 16). */
	wait_events((struct node *[]){ &b }, 1, 4);
	assert_non_null(strstr(ok(sl(&b, "status", "--json", NULL))->out,
	    "signed two histories"));
	assert_int_equal(ok(sl(&b, "verify", NULL))->status, 0);
	assert_int_equal(node_stop(&a2, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

static void
test_killed_mid_transfer(void **state)
{
	struct node a, b, *all[] = { &a, &b };
	char err[256];
	long n;

	(void)state;
	node_init(&a, "ak", "A");
	node_init(&b, "bk", "B");
	node_start(&a);   /* genesis */
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(tu_fill(a.dir, 60000, err, sizeof err), 0);
	node_start(&a);
	node_start(&b);
	trust(&a, &b, false);
	trust(&b, &a, true);
	/* Kill b hard once part of the log has arrived. */
	for (int i = 0; i < 2000 && (n = events(&b)) < 3000; i++)
		usleep(2000);
	assert_int_equal(node_stop(&b, SIGKILL), 128 + SIGKILL);
	assert_true(n < 60002);
	node_start(&b);
	wait_events(all, 2, 60002);
	assert_same(all, 2);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

static void
test_restored_backup(void **state)
{
	struct node a, b, *all[] = { &a, &b };
	char cmd[4096];

	(void)state;
	node_init(&a, "ar", "A");
	node_init(&b, "br", "B");
	node_start(&a);
	node_start(&b);
	trust(&a, &b, true);
	trust(&b, &a, false);
	add_contact(&a, "Före backup");
	wait_events(all, 2, 3);
	/* Back up a, then write more that reaches b. */
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	snprintf(cmd, sizeof cmd, "cp -a %s %s.bak", a.dir, a.dir);
	assert_int_equal(system(cmd), 0);
	node_start(&a);
	add_contact(&a, "Efter backup 1");
	add_contact(&a, "Efter backup 2");
	wait_events(all, 2, 5);
	/* a's disk dies; it comes back from the backup. */
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	snprintf(cmd, sizeof cmd, "rm -rf %s && mv %s.bak %s && rm -f "
	    "%s/samlogd.sock %s/samlogd.lock", a.dir, a.dir, a.dir, a.dir,
	    a.dir);
	assert_int_equal(system(cmd), 0);
	node_start(&a);
	wait_events(all, 2, 5);
	wait_log(&a, "taking them back");
	/* Appending goes on where the chain really ended: no fork. */
	add_contact(&a, "Efter återställning");
	wait_events(all, 2, 6);
	assert_int_equal(tu_json_num(ok(sl(&b, "status", "--json", NULL))->out,
	    "forks"), 0);
	assert_same(all, 2);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

/*
 * A node restored from a backup many frames behind: a peer's claim alone
 * holds nothing, but once the first of its own events are back, writes
 * wait until the rest have come, and then go on at the right seq.
 */
static void
test_restored_far_behind(void **state)
{
	struct node a, b, *all[] = { &a, &b };
	struct writers *w;
	char cmd[4096], err[256];
	long acked, n;

	(void)state;
	node_init(&a, "ag", "A");
	node_init(&b, "bg", "B");
	node_start(&a);
	node_start(&b);
	trust(&a, &b, true);
	trust(&b, &a, false);
	wait_events(all, 2, 2);
	/* Back up a; then 300,000 events of its own reach b. */
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	snprintf(cmd, sizeof cmd, "cp -a %s %s.bak", a.dir, a.dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(tu_fill(a.dir, 300000, err, sizeof err), 0);
	node_start(&a);
	/* 300,000 events verified, stored and folded twice over take
	 * half a minute and more under ASan on a slow disk: the waits
	 * here are for correctness, the speed is make bench's. */
	cl_wait_ms = 180000;
	wait_events(all, 2, 300002);
	/* a comes back from the backup with a client writing on it from
	 * the moment it has the first of its events back. */
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	snprintf(cmd, sizeof cmd, "rm -rf %s && mv %s.bak %s && rm -f "
	    "%s/samlogd.sock %s/samlogd.lock", a.dir, a.dir, a.dir, a.dir,
	    a.dir);
	assert_int_equal(system(cmd), 0);
	node_start(&a);
	wait_log(&a, "taking them back");
	w = writers_start(&a, 1, "ag", 3, false);
	/* Its chain: node.org, its founding, b's admission, 300,000. */
	wait_log(&a, "took back this node's own events up to seq 300003");
	usleep(300000);
	acked = writers_stop(w);
	n = wait_converged(all, 2);
	print_message("%ld writes acknowledged during and after the "
	    "catch-up\n", acked);
	assert_int_equal(n, 300002 + acked);
	/* The writes waited: no fork of a's chain on either node. */
	assert_true(log_has(&a, "holding local writes until peer bg"));
	assert_int_equal(tu_json_num(ok(sl(&a, "status", "--json",
	    NULL))->out, "forks"), 0);
	assert_int_equal(tu_json_num(ok(sl(&b, "status", "--json",
	    NULL))->out, "forks"), 0);
	writers_check(w, all, 2);
	writers_free(w);
	assert_same_export(all, 2);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

static void
test_concurrent_edits(void **state)
{
	struct node a, b, *all[] = { &a, &b };
	char id[64];
	struct tu_run *r;
	static char show_a[sizeof ((struct tu_run *)0)->out];

	(void)state;
	node_init(&a, "ac", "A");
	node_init(&b, "bc", "B");
	node_start(&a);
	node_start(&b);
	trust(&a, &b, true);
	trust(&b, &a, true);
	snprintf(id, sizeof id, "%s", add_contact(&a, "Delad Kontakt"));
	wait_events(all, 2, 3);
	/* Apart, both change the role without seeing the other's edit. */
	assert_int_equal(node_stop(&b, SIGTERM), 0);
	ok(sl(&a, "contact", "update", id, "--role", "ordförande", NULL));
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	node_start(&b);
	ok(sl(&b, "contact", "update", id, "--role", "kassör", "--phone",
	    "08-123", NULL));
	node_start(&a);
	wait_events(all, 2, 5);
	/* The same conflict, winner and competing values on both. */
	r = ok(sl(&a, "contact", "show", id, "--json", NULL));
	assert_non_null(strstr(r->out, "\"conflict\": true"));
	assert_non_null(strstr(r->out, "\"competing\": ["));
	assert_non_null(strstr(r->out, "ordförande"));
	assert_non_null(strstr(r->out, "kassör"));
	snprintf(show_a, sizeof show_a, "%s", r->out);
	r = ok(sl(&b, "contact", "show", id, "--json", NULL));
	assert_string_equal(show_a, r->out);
	r = ok(sl(&b, "contact", "show", id, NULL));
	assert_non_null(strstr(r->out, "competing:"));
	assert_same(all, 2);
	/* An edit that saw both resolves it, everywhere. */
	ok(sl(&a, "contact", "update", id, "--role", "sekreterare", NULL));
	wait_events(all, 2, 6);
	r = ok(sl(&b, "contact", "show", id, "--json", NULL));
	assert_non_null(strstr(r->out, "\"conflict\": false"));
	assert_non_null(strstr(r->out, "sekreterare"));
	assert_non_null(strstr(r->out, "08-123"));
	assert_null(strstr(r->out, "competing"));
	assert_same(all, 2);
	/* Either node's audit bundle proves the same history: both origins'
	 * events, each origin named by its own signed announcement. */
	static char rec_a[sizeof ((struct tu_run *)0)->out];
	char *fa, *fb;

	if (asprintf(&fa, "%s/a.audit", cl_tmp) < 0 ||
	    asprintf(&fb, "%s/b.audit", cl_tmp) < 0)
		abort();
	ok(sl(&a, "audit", id, "--out", fa, NULL));
	ok(sl(&b, "audit", id, "--out", fb, NULL));
	r = ok(sl(&b, "audit", "--check", fa, "--json", NULL));
	assert_int_equal(tu_json_num(r->out, "origins"), 2);
	assert_int_equal(tu_json_num(r->out, "events"), 4);
	assert_non_null(strstr(r->out, "\"org\": \"A\""));
	assert_non_null(strstr(r->out, "\"org\": \"B\""));
	assert_non_null(strstr(r->out, "\"role\": \"sekreterare\""));
	assert_non_null(strstr(r->out, "\"phone\": \"08-123\""));
	assert_non_null(strstr(r->out, "\"conflict\": false"));
	snprintf(rec_a, sizeof rec_a, "%s", strstr(r->out, "\"record\": "));
	r = ok(sl(&a, "audit", "--check", fb, "--json", NULL));
	assert_string_equal(rec_a, strstr(r->out, "\"record\": "));
	free(fa);
	free(fb);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_two_nodes, cl_reap),
		cmocka_unit_test_teardown(test_memory_after_catch_up, cl_reap),
		cmocka_unit_test_teardown(test_line_of_three, cl_reap),
		cmocka_unit_test_teardown(test_members_through_hub, cl_reap),
		cmocka_unit_test_teardown(test_member_retired, cl_reap),
		cmocka_unit_test_teardown(test_join, cl_reap),
		cmocka_unit_test_teardown(test_upgrade_peer_lines, cl_reap),
		cmocka_unit_test_teardown(test_star_offline, cl_reap),
		cmocka_unit_test_teardown(test_non_member_refused, cl_reap),
		cmocka_unit_test_teardown(test_tampered, cl_reap),
		cmocka_unit_test_teardown(test_fork_detected, cl_reap),
		cmocka_unit_test_teardown(test_killed_mid_transfer, cl_reap),
		cmocka_unit_test_teardown(test_restored_backup, cl_reap),
		cmocka_unit_test_teardown(test_restored_far_behind, cl_reap),
		cmocka_unit_test_teardown(test_concurrent_edits, cl_reap),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
