/*
 * bench_sync.c - sync between two real daemons over TLS on loopback
 * (make bench).
 *
 *   catch-up   node A holds BENCH_SYNC_EVENTS events (default 1,000,000,
 *              written straight into its store); a fresh node B is told
 *              to dial A; timed from that command until B holds them all,
 *              every one verified, stored and folded into B's records.
 *   slow peer  a third node C starts catching up from A and is then
 *              stopped (SIGSTOP) so it reads nothing: A's memory is read
 *              before and while C stalls.
 *   live       with A and B connected, one contact is added on A through
 *              the control socket; from A's answer (the event is durable
 *              on A) until B answers `contact show` for it, polled over
 *              B's control socket: p50 and p99 over BENCH_LIVE_RUNS (200).
 */
#include <errno.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "samlog_proto.h"
#include "benchnode.h"
#include "../unit/fill.h"
#include "../unit/testutil.h"

static char *tmp;

int
main(void)
{
	const char *e = getenv("BENCH_SYNC_EVENTS");
	const char *lr = getenv("BENCH_LIVE_RUNS");
	long total = e ? atol(e) : 1000000, runs = lr ? atol(lr) : 200;
	struct node a = { 0 }, b = { 0 }, c = { 0 };
	char err[256];
	double t0, t;
	long anon0, file0, anon1, file1, want;

	signal(SIGPIPE, SIG_IGN);
	if (total < 1 || runs < 1)
		die("BENCH_SYNC_EVENTS and BENCH_LIVE_RUNS must be positive");
	tmp = tu_tmpdir();
	node_init(&a, tmp, "a");
	node_init(&b, tmp, "b");
	node_init(&c, tmp, "c");
	node_start(&a);                     /* its genesis event */
	node_stop(&a);
	t0 = tu_now_s();
	if (tu_fill(a.dir, (size_t)total, err, sizeof err) != 0)
		die(err);
	printf("sync: wrote %ld events into node A in %.1f s\n", total,
	    tu_now_s() - t0);
	node_start(&a);
	node_start(&b);
	want = total + 2;                   /* A's log and B's genesis */

	/* Catch-up, end to end. */
	trust(&a, &b, false);
	t0 = tu_now_s();
	trust(&b, &a, true);
	while (events(&b) < want) {
		if (tu_now_s() - t0 > 1800)
			die("B did not catch up within 30 minutes");
		usleep(20000);
	}
	t = tu_now_s() - t0;
	printf("sync: catch-up of %ld events over TLS, verified, stored and "
	    "projected: %.2f s, %.0f events/s\n", total, t, (double)total / t);

	/* A slow peer: C reads nothing while A has everything to send. */
	node_start(&c);
	rss_kib(a.pid, &anon0, &file0);
	trust(&a, &c, false);
	trust(&c, &a, true);
	for (int i = 0; i < 3000 && events(&c) < 50000; i++)
		usleep(1000);
	kill(c.pid, SIGSTOP);
	sleep(3);
	rss_kib(a.pid, &anon1, &file1);
	printf("sync: node A's memory before a peer connects: RssAnon %ld "
	    "KiB, RssFile %ld KiB; while that peer has stopped reading: "
	    "RssAnon %ld KiB, RssFile %ld KiB\n", anon0, file0, anon1, file1);
	node_stop(&c);

	/* Live propagation. */
	int fa = connect_ctl(&a), fb = connect_ctl(&b);
	double *lat = calloc((size_t)runs, sizeof *lat);
	char name[64], id[64];

	if (fa < 0 || fb < 0 || lat == NULL)
		die("cannot connect to the control sockets");
	for (long i = 0; i < runs; i++) {
		snprintf(name, sizeof name, "Live %ld", i);
		id[0] = '\0';
		if (request(fa, "contact.add", "name", name, id,
		    sizeof id) != 0 || id[0] == '\0')
			die("contact.add failed on A");
		t0 = tu_now_s();
		while (request(fb, "contact.show", "id", id, NULL, 0) != 0) {
			if (tu_now_s() - t0 > 10)
				die("an event did not reach B within 10 s");
		}
		lat[i] = (tu_now_s() - t0) * 1000;
		usleep(5000);
	}
	qsort(lat, (size_t)runs, sizeof *lat, cmp_double);
	printf("sync: live propagation A -> B (A's commit answered until B "
	    "shows the record), %ld runs: p50 %.2f ms, p99 %.2f ms\n", runs,
	    lat[runs / 2], lat[(runs * 99) / 100 < runs ? (runs * 99) / 100 :
	    runs - 1]);
	free(lat);
	close(fa);
	close(fb);
	node_stop(&a);
	node_stop(&b);
	tu_rmtree(tmp);
	return 0;
}
