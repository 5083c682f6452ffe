/*
 * test_soak.c - five nodes, each pair linked through a relay, clients
 * adding and updating contacts on every node at once, while the dice
 * partition links, heal them, and kill (-9 or TERM) and restart nodes.
 * At the end every link heals and every node runs: the exports must be
 * byte for byte the same everywhere, verify clean, no fork or refusal
 * seen, and every acknowledged operation present with its last
 * acknowledged value.
 *
 *   SAMLOG_SOAK_SEED=n       the dice (default: the time; always printed)
 *   SAMLOG_SOAK_DURATION=s   how long the chaos lasts (default 60)
 *
 * `make soak SEED=n DURATION=s` runs it.  A seed replays the schedule of
 * partitions, kills and client choices; the interleaving with the
 * daemons' own timing differs from run to run.
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

#include "cluster.h"
#include "relay.h"

#define NODES 5
#define WRITERS 2      /* clients per node */
#define PACE_MS 40     /* a client rests up to this long between writes */

static unsigned seed, duration;
static struct relay link_[NODES][NODES];   /* i < j: i dials j through it */

/* The soak's own dice (xorshift32): the schedule depends on the seed
 * alone, not on how often anything else drew from random(). */
static uint32_t dice_state;

static uint32_t
dice(uint32_t n)
{
	uint32_t x = dice_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	dice_state = x;
	return x % n;
}

/* The sum of every number after key in s (each peer has its own). */
static long
peers_sum(const char *s, const char *key)
{
	long sum = 0;

	while ((s = strstr(s, key)) != NULL) {
		s += strlen(key);
		sum += strtol(s, NULL, 10);
	}
	return sum;
}

static int
setup(void **state)
{
	const char *s = getenv("SAMLOG_SOAK_SEED");
	const char *d = getenv("SAMLOG_SOAK_DURATION");

	seed = s != NULL && s[0] != '\0' ? (unsigned)strtoul(s, NULL, 10) :
	    (unsigned)time(NULL);
	duration = d != NULL && d[0] != '\0' ? (unsigned)strtoul(d, NULL, 10) :
	    60;
	dice_state = seed * 2654435761u | 1u;
	print_message("soak seed %u, %u s (make soak SEED=%u DURATION=%u "
	    "replays it)\n", seed, duration, seed, duration);
	return cl_setup(state);
}

static int
reap(void **state)
{
	for (int i = 0; i < NODES; i++)
		for (int j = 0; j < NODES; j++)
			relay_stop(&link_[i][j]);
	return cl_reap(state);
}

static void
test_soak(void **state)
{
	struct node n[NODES], *all[NODES];
	struct writers *w[NODES];
	bool cut[NODES][NODES] = { { false } };
	char name[16], org[32], stats[640];
	int kills = 0, terms = 0, parts = 0;
	long acked = 0, failed = 0;
	uint64_t t0;

	(void)state;
	for (int i = 0; i < NODES; i++) {
		snprintf(name, sizeof name, "n%d", i);
		snprintf(org, sizeof org, "Organisation %d", i);
		node_init(&n[i], name, org);
		node_start(&n[i]);
		all[i] = &n[i];
	}
	for (int i = 0; i < NODES; i++) {
		for (int j = i + 1; j < NODES; j++) {
			snprintf(stats, sizeof stats, "%s/link-%d-%d", cl_tmp,
			    i, j);
			assert_int_equal(relay_start(&link_[i][j], n[j].listen,
			    RELAY_DELAY, seed + (unsigned)(i * NODES + j),
			    stats), 0);
			trust_at(&n[i], &n[j], link_[i][j].addr);
			trust(&n[j], &n[i], false);
		}
	}
	for (int i = 0; i < NODES; i++) {
		snprintf(name, sizeof name, "n%d", i);
		w[i] = writers_start_paced(&n[i], WRITERS, name,
		    seed + (unsigned)i, true, PACE_MS);
	}
	t0 = now_ms();
	while (now_ms() - t0 < (uint64_t)duration * 1000) {
		usleep((useconds_t)(300 + dice(1200)) * 1000u);
		uint32_t act = dice(10);
		int i = (int)dice(NODES), j = (int)dice(NODES);

		if (act < 5 && i != j) {
			/* Partition or heal one link. */
			int a = i < j ? i : j, b = i < j ? j : i;

			if (cut[a][b])
				relay_up(&link_[a][b]);
			else
				relay_down(&link_[a][b]);
			cut[a][b] = !cut[a][b];
			parts += cut[a][b];
		} else if (act < 8) {
			/* A crash: kill -9, back after a moment. */
			assert_int_equal(node_stop(&n[i], SIGKILL),
			    128 + SIGKILL);
			usleep((useconds_t)(100 + dice(1500)) * 1000u);
			node_start(&n[i]);
			kills++;
		} else if (act < 9) {
			/* An orderly restart. */
			assert_int_equal(node_stop(&n[i], SIGTERM), 0);
			node_start(&n[i]);
			terms++;
		}
	}
	for (int i = 0; i < NODES; i++) {
		acked += writers_stop(w[i]);
		failed += writers_failures(w[i]);
	}
	for (int i = 0; i < NODES; i++)
		for (int j = i + 1; j < NODES; j++)
			if (cut[i][j])
				relay_up(&link_[i][j]);
	print_message("%d partitions, %d kills, %d restarts; %ld operations "
	    "acknowledged, %ld failed and retried\n", parts, kills, terms,
	    acked, failed);
	/* A link that kept failing may wait out its longest redial delay
	 * (60 s) before it tries again. */
	cl_wait_ms = 150000;
	long total = wait_converged(all, NODES);

	cl_wait_ms = WAIT_MS;
	print_message("converged at %ld events after %llu ms\n", total,
	    (unsigned long long)(now_ms() - t0) - (uint64_t)duration * 1000);
	assert_same_export(all, NODES);
	for (int i = 0; i < NODES; i++)
		writers_check(w[i], all, NODES);
	for (int i = 0; i < NODES; i++) {
		struct tu_run *r = ok(sl(&n[i], "status", "--json", NULL));

		assert_int_equal(peers_sum(r->out, "\"forks\": "), 0);
		assert_int_equal(peers_sum(r->out, "\"refused\": "), 0);
	}
	assert_true(acked > 0);
	for (int i = 0; i < NODES; i++) {
		writers_free(w[i]);
		assert_int_equal(node_stop(&n[i], SIGTERM), 0);
	}
	for (int i = 0; i < NODES; i++)
		for (int j = 0; j < NODES; j++)
			relay_stop(&link_[i][j]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_soak, reap),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, cl_teardown);
}
