/*
 * cluster.h - real samlogd nodes for the tests that need several: each in
 * its own directory under a temporary root, started as a child process,
 * driven through the samlog binary.  Failures go through cmocka, so these
 * are for use inside cmocka tests.
 */
#ifndef SAMLOG_CLUSTER_H
#define SAMLOG_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "samlog_proto.h"
#include "testutil.h"

#define WAIT_MS 30000
/* How long the wait_ functions wait before they fail the test (default
 * WAIT_MS). */
extern unsigned cl_wait_ms;

struct node {
	char name[16];
	char dir[512];
	char log[600];
	char id[SL_NODE_ID_TEXT + 1];
	char listen[64];   /* 127.0.0.1:PORT once started */
	char *const *env;  /* extra "K=V" for the daemon, or NULL */
	pid_t pid;
};

/* The temporary root: set by cl_setup, removed by cl_teardown (kept,
 * and its path printed, when SAMLOG_KEEP is set). */
extern char *cl_tmp;

int cl_setup(void **state);
int cl_teardown(void **state);
/* A per-test teardown: kills whatever daemons a failed test left. */
int cl_reap(void **state);

/* samlog init in cl_tmp/name; fills in the node id. */
void node_init(struct node *n, const char *name, const char *org);
/* Starts samlogd on n->listen (any free port the first time, the same
 * one after) and waits until it answers on its control socket. */
void node_start(struct node *n);
/* Sends sig, waits; the exit status, or 128 + the signal. */
int node_stop(struct node *n, int sig);
/* n trusts m; with dial, n also dials m at addr (NULL: m->listen). */
void trust(const struct node *n, const struct node *m, bool dial);
void trust_at(const struct node *n, const struct node *m, const char *addr);

/* Runs samlog -d n->dir ARGS... (NULL-terminated) into a static buffer. */
struct tu_run *sl(const struct node *n, const char *first, ...);
/* Fails the test unless r exited 0; returns r. */
struct tu_run *ok(struct tu_run *r);
/* The first line of r's stdout (r must have exited 0). */
char *line1(struct tu_run *r);
/* Fails the test unless r exited with status want and printed one line
 * on stderr holding needle. */
void refused(struct tu_run *r, int want, const char *needle);
/* `samlog invite` on n (with --expires if expires is not NULL): the
 * line it printed (a static buffer). */
const char *invite_line(const struct node *n, const char *expires);
/* The node's event count (status --json). */
long events(const struct node *n);
char *add_contact(const struct node *n, const char *name);

uint64_t now_ms(void);
/* Waits until each of ns[0..k) holds want events; fails after WAIT_MS. */
void wait_events(struct node **ns, int k, long want);
/* Waits until ns[0..k) hold the same number of events, twice in a row
 * 200 ms apart; fails after WAIT_MS.  Returns the count. */
long wait_converged(struct node **ns, int k);
/* Every projection lists the same on every node, and verify is clean. */
void assert_same(struct node **ns, int k);
bool log_has(const struct node *n, const char *needle);
/* How many lines of n's log contain needle. */
int log_count(const struct node *n, const char *needle);
void wait_log(const struct node *n, const char *needle);

/*
 * Clients writing at once: k processes, each adding contacts to node n
 * through the CLI as fast as it answers and, with updates, changing the
 * role of its own contacts at random.  A client records an operation only
 * when samlog exited 0 (the daemon acknowledged it); one that failed (the
 * daemon down, the disk full) is retried until acknowledged, so a
 * client's last acknowledged role is its contact's final role.
 */
struct writers;
struct writers *writers_start(const struct node *n, int k, const char *tag,
    unsigned seed, bool updates);
/* The same, each client resting up to pace_ms between operations. */
struct writers *writers_start_paced(const struct node *n, int k,
    const char *tag, unsigned seed, bool updates, unsigned pace_ms);
/* Asks every client to stop after its current operation and waits;
 * returns the number of operations acknowledged. */
long writers_stop(struct writers *w);
/* Fails unless every acknowledged contact is on each of ns[0..k) with its
 * last acknowledged role.  Needs writers_stop first. */
void writers_check(struct writers *w, struct node **ns, int k);
void writers_free(struct writers *w);
/* How many operations failed and were retried. */
long writers_failures(const struct writers *w);
/* The q-quantile (0..1) of the time from a client's first try of an
 * operation to its acknowledgement, in microseconds. */
unsigned long long writers_latency_us(struct writers *w, double q);

/* samlog export of n into path (JSON Lines, every kind). */
void export_to(const struct node *n, const char *path);
/* Fails unless the exports of ns[0..k) are byte for byte the same and
 * verify is clean on each; for projections too large for assert_same. */
void assert_same_export(struct node **ns, int k);
/* The daemon's resident memory in KiB (VmRSS), or -1. */
long rss_kib(pid_t pid);

#endif
