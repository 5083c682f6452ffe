/*
 * benchnode.h - real nodes for the benchmarks that need more than one
 * (bench_sync, bench_compare): make one, start its samlogd, link two,
 * ask it things through its control socket or the CLI.
 */
#ifndef SAMLOG_BENCHNODE_H
#define SAMLOG_BENCHNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "samlog_proto.h"

struct node {
	char dir[512];
	char id[SL_NODE_ID_TEXT + 1];
	char listen[64];
	pid_t pid;
};

/* Prints "bench: what" and exits 1. */
void die(const char *what);
/* A connection to n's control socket, or -1. */
int connect_ctl(const struct node *n);
/* One request {"cmd": cmd, "args": {key: val}} (key NULL: no args);
 * returns the result code and copies the "id" of the first record sent
 * back (if any) into id_out. */
int request(int fd, const char *cmd, const char *key, const char *val,
    char *id_out, size_t idlen);
/* Writes reqs[0..len), n control requests framed, to fd at once, then
 * reads until n results came back; exits unless each was a success. */
void pipeline(int fd, const char *reqs, size_t len, size_t n);
/* Runs `samlog -d DIR args...`; exits on failure; copies what it printed
 * into out (may be NULL). */
void cli(const struct node *n, char *const *args, char *out, size_t outlen);
/* How many events n holds (samlog status). */
long events(const struct node *n);
/* samlog init of tmp/name, with the organisation called name. */
void node_init(struct node *n, const char *tmp, const char *name);
/* Starts n's samlogd (listening on a free loopback port) and waits until
 * it answers; its log goes to DIR.log. */
void node_start(struct node *n);
/* SIGTERM, and waits for it. */
void node_stop(struct node *n);
/* n trusts m (peer add), and dials it when dial is set. */
void trust(const struct node *n, const struct node *m, bool dial);
/* pid's resident memory: anonymous (heap, stacks) and file-backed (the
 * mapped store), in KiB; -1 where unknown. */
void rss_kib(pid_t pid, long *anon, long *file);
/* qsort order of doubles. */
int cmp_double(const void *a, const void *b);

#endif
