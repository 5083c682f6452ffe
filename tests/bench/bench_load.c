/*
 * bench_load.c - many clients at once on one node while two peers sync
 * from it (make bench).
 *
 * BENCH_LOAD_CLIENTS processes (default 32) run `samlog contact add` (and
 * now and then `contact update`) back to back against node A for
 * BENCH_LOAD_SECONDS (default 60), while nodes B and C, linked to A over
 * TLS on loopback, take every event live.  Prints the acknowledged
 * operations per second, the time from a client's call to its answer
 * (p50, p99), the events per group commit, and how long the peers took
 * to hold everything once the clients stopped.  Then checks what the
 * load must not break: no client saw an error, every acknowledged
 * operation is on all three nodes with its last value, the exports match
 * and verify is clean.
 *
 * It runs under cmocka only for the harness (tests/unit/cluster.c) and
 * its clean-up; nothing here is timed against a target.
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

#include "../unit/cluster.h"

static long
env_num(const char *name, long def)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? strtol(v, NULL, 10) : def;
}

static void
counters(const struct node *n, long *commits, long *writes)
{
	struct tu_run *r = ok(sl(n, "status", "--json", NULL));

	*commits = tu_json_num(r->out, "commits");
	*writes = tu_json_num(r->out, "writes");
}

static void
bench_load(void **state)
{
	struct node a, b, c, *all[] = { &a, &b, &c };
	long clients = env_num("BENCH_LOAD_CLIENTS", 32);
	long secs = env_num("BENCH_LOAD_SECONDS", 60);
	long commits0, writes0, commits1, writes1, acked;
	uint64_t t0, t1, t2;
	struct writers *w;

	(void)state;
	assert_true(clients > 0 && clients <= 32 && secs > 0);
	node_init(&a, "la", "A");
	node_init(&b, "lb", "B");
	node_init(&c, "lc", "C");
	node_start(&a);
	node_start(&b);
	node_start(&c);
	trust(&a, &b, false);
	trust(&a, &c, false);
	trust(&b, &a, true);
	trust(&c, &a, true);
	trust(&b, &c, false);   /* members of each other, linked through A */
	trust(&c, &b, false);
	wait_converged(all, 3);
	counters(&a, &commits0, &writes0);
	t0 = now_ms();
	w = writers_start(&a, (int)clients, "l", 1, true);
	sleep((unsigned)secs);
	acked = writers_stop(w);
	t1 = now_ms();
	counters(&a, &commits1, &writes1);
	wait_converged(all, 3);
	t2 = now_ms();

	double s = (double)(t1 - t0) / 1000.0;

	printf("%ld clients for %.1f s: %ld operations acknowledged, "
	    "%.0f/s\n", clients, s, acked, (double)acked / s);
	printf("  call to answer: p50 %.1f ms, p99 %.1f ms\n",
	    (double)writers_latency_us(w, 0.50) / 1000.0,
	    (double)writers_latency_us(w, 0.99) / 1000.0);
	printf("  group commit: %ld commits, %.1f events per commit\n",
	    commits1 - commits0, commits1 > commits0 ?
	    (double)(writes1 - writes0) / (double)(commits1 - commits0) : 0.0);
	printf("  the two peers held everything %.1f s after the clients "
	    "stopped\n", (double)(t2 - t1) / 1000.0);
	fflush(stdout);
	/* What the load must not break. */
	assert_int_equal(writers_failures(w), 0);
	writers_check(w, all, 3);
	assert_same_export(all, 3);
	writers_free(w);
	for (int i = 0; i < 3; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(bench_load, cl_reap),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
