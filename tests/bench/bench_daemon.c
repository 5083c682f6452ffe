/*
 * bench_daemon.c - the daemon and CLI as a user feels them (make bench).
 *
 * Starts a real samlogd on a temporary node, loads BENCH_CONTACTS contacts
 * (default 100,000) spread over municipalities of 100 contacts each
 * through pipelined control requests (group commit), then measures:
 *   - `samlog contact list --municipality M` (100 rows of 100,000):
 *     process wall time of the CLI call, p50 and p99 over 200 runs,
 *   - `samlog contact show ID` the same way,
 *   - `samlog rebuild`: events folded per second,
 *   - the daemon's resident memory (VmRSS) idle after loading, and after
 *     loading BENCH_EVENTS events in all (default 1,000,000),
 *   - the load itself: writes per second and events per group commit.
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

#include "benchnode.h"
#include "samlog_proto.h"
#include "../unit/testutil.h"

static char *dir;
static pid_t dpid;

static int
ctl_connect(void)
{
	struct node n = { 0 };

	snprintf(n.dir, sizeof n.dir, "%s", dir);
	return connect_ctl(&n);
}

/* Sends n contact.add requests on one connection, then reads until n
 * RESULT frames came back. */
static void
load_batch(int fd, size_t first, size_t n)
{
	msgpack_sbuffer sb, one;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_sbuffer_init(&one);
	msgpack_packer_init(&pk, &one, msgpack_sbuffer_write);
	for (size_t i = first; i < first + n; i++) {
		char name[64], mun[64];
		uint8_t hdr[SL_FRAME_HDR];

		snprintf(name, sizeof name, "Kontakt %zu", i);
		snprintf(mun, sizeof mun, "Kommun %zu", i / 100);
		msgpack_sbuffer_clear(&one);
		msgpack_pack_map(&pk, 2);
		sl_pack_cstr(&pk, "cmd");
		sl_pack_cstr(&pk, "contact.add");
		sl_pack_cstr(&pk, "args");
		msgpack_pack_map(&pk, 3);
		sl_pack_cstr(&pk, "name");
		sl_pack_cstr(&pk, name);
		sl_pack_cstr(&pk, "municipality");
		sl_pack_cstr(&pk, mun);
		sl_pack_cstr(&pk, "role");
		sl_pack_cstr(&pk, i % 2 ? "tjänsteman" : "politiker");
		struct sl_frame_hdr h = { SL_CTL_VERSION, SL_MSG_REQUEST, 0,
			(uint32_t)i, (uint32_t)one.size };

		sl_frame_hdr_encode(hdr, &h);
		msgpack_sbuffer_write(&sb, (const char *)hdr, sizeof hdr);
		msgpack_sbuffer_write(&sb, one.data, one.size);
	}
	msgpack_sbuffer_destroy(&one);
	pipeline(fd, sb.data, sb.size, n);
	msgpack_sbuffer_destroy(&sb);
}

static void
load(size_t from, size_t total)
{
	int fd = ctl_connect();

	if (fd < 0) {
		fprintf(stderr, "bench: cannot connect\n");
		exit(1);
	}
	for (size_t i = from; i < total; i += 2000)
		load_batch(fd, i, total - i < 2000 ? total - i : 2000);
	close(fd);
}

/* Runs argv `runs` times; prints p50 and p99 wall time in ms. */
static void
time_cli(const char *what, char *const *argv, int runs)
{
	double *t = calloc((size_t)runs, sizeof *t);
	struct tu_run *r = malloc(sizeof *r);

	for (int i = 0; i < runs; i++) {
		double t0 = tu_now_s();

		if (tu_run(r, argv, NULL) != 0 || r->status != 0) {
			fprintf(stderr, "bench: %s failed: %s\n", what, r->err);
			exit(1);
		}
		t[i] = (tu_now_s() - t0) * 1000;
	}
	qsort(t, (size_t)runs, sizeof *t, cmp_double);
	printf("%-44s p50 %6.2f ms  p99 %6.2f ms  (%d runs, %zu lines)\n",
	    what, t[runs / 2], t[runs * 99 / 100], runs, tu_lines(r->out));
	free(t);
	free(r);
}

/* The daemon's resident memory in KiB: all of it, its own (anonymous:
 * heap and stacks) and the mapped store pages (file: LMDB's map, shared
 * with the page cache and given back by the kernel under pressure). */
static long
daemon_rss_kib(long *anon, long *file)
{
	char path[64], line[256];
	long kib = -1, v;
	FILE *f;

	*anon = *file = -1;
	snprintf(path, sizeof path, "/proc/%ld/status", (long)dpid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			kib = v;
		if (sscanf(line, "RssAnon: %ld kB", &v) == 1)
			*anon = v;
		if (sscanf(line, "RssFile: %ld kB", &v) == 1)
			*file = v;
	}
	fclose(f);
	return kib;
}

static void
print_rss(const char *when)
{
	long anon, file, all = daemon_rss_kib(&anon, &file);

	printf("daemon RSS %-34s %7ld KiB  (own %ld KiB, mapped store %ld KiB)\n",
	    when, all, anon, file);
}

static void
wait_ready(void)
{
	for (int i = 0; i < 1000; i++) {
		int fd = ctl_connect();

		if (fd >= 0) {
			close(fd);
			return;
		}
		usleep(10000);
	}
	fprintf(stderr, "bench: samlogd did not start\n");
	exit(1);
}

/*
 * samlog import of a CSV of n contacts (the way offices add records in
 * bulk: a spreadsheet) into a fresh node, CLI process wall time: read,
 * checked row by row, sent, written in one commit.
 */
static void
bench_import(const char *tmp, size_t n)
{
	static struct tu_run run;
	char *d2, *csv, *lg;
	FILE *f;
	pid_t p2;
	double t0;

	if (asprintf(&d2, "%s/import", tmp) < 0 ||
	    asprintf(&csv, "%s/contacts.csv", tmp) < 0 ||
	    asprintf(&lg, "%s/import.log", tmp) < 0)
		exit(1);
	if ((f = fopen(csv, "w")) == NULL)
		exit(1);
	fputs("name,role,email,phone,municipality\n", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "Kontakt %zu Åberg,samordnare,k%zu@example.org,"
		    "08-%06zu,Kommun %zu\n", i, i, i, i / 100);
	fclose(f);
	if (tu_run(&run, (char *const[]){ (char *)tu_prog("samlog"), "-d", d2,
	    "init", "--org", "Import", NULL }, NULL) != 0 || run.status != 0)
		exit(1);
	if ((p2 = fork()) == 0) {
		if (freopen(lg, "w", stderr) == NULL)
			_exit(126);
		execl(tu_prog("samlogd"), "samlogd", "-d", d2, "-f",
		    (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if (tu_run(&run, (char *const[]){ (char *)tu_prog("samlog"),
		    "-d", d2, "status", NULL }, NULL) == 0 && run.status == 0)
			break;
		usleep(10000);
	}
	t0 = tu_now_s();
	if (tu_run(&run, (char *const[]){ (char *)tu_prog("samlog"), "-d", d2,
	    "import", csv, "--kind", "contact", NULL }, NULL) != 0 ||
	    run.status != 0) {
		fprintf(stderr, "import failed: %s\n", run.err);
		exit(1);
	}
	printf("import of a %zu-row CSV into a fresh node: %9.0f rows/s  "
	    "(%.2f s)\n", n, (double)n / (tu_now_s() - t0), tu_now_s() - t0);
	kill(p2, SIGTERM);
	waitpid(p2, NULL, 0);
	free(d2);
	free(csv);
	free(lg);
}

int
main(void)
{
	const char *e1 = getenv("BENCH_CONTACTS"), *e2 = getenv("BENCH_EVENTS");
	size_t contacts = e1 ? strtoul(e1, NULL, 10) : 100000;
	size_t events = e2 ? strtoul(e2, NULL, 10) : 1000000;
	char *tmp = tu_tmpdir(), *logp;
	static struct tu_run run; /* large: not on the stack */
	struct tu_run *r = &run;

	if (asprintf(&dir, "%s/node", tmp) < 0 ||
	    asprintf(&logp, "%s/samlogd.log", tmp) < 0)
		return 1;
	if (tu_run(r, (char *const[]){ (char *)tu_prog("samlog"), "-d", dir,
	    "init", "--org", "Bench", NULL }, NULL) != 0 || r->status != 0)
		return 1;
	if ((dpid = fork()) == 0) {
		if (freopen(logp, "w", stderr) == NULL)
			_exit(126);
		execl(tu_prog("samlogd"), "samlogd", "-d", dir, "-f", (char *)NULL);
		_exit(127);
	}
	wait_ready();
	printf("samlog daemon benchmark: %zu contacts, node in %s\n", contacts,
	    dir);
	print_rss("at start, idle:");

	double t0 = tu_now_s();

	load(0, contacts);
	double t = tu_now_s() - t0;

	if (tu_run(r, (char *const[]){ (char *)tu_prog("samlog"), "-d", dir,
	    "status", "--json", NULL }, NULL) != 0)
		return 1;
	const char *cm = strstr(r->out, "\"commits\": ");
	const char *wr = strstr(r->out, "\"writes\": ");
	double commits = cm ? strtod(cm + 11, NULL) : 0;
	double writes = wr ? strtod(wr + 10, NULL) : 0;

	printf("load through the control socket:          %9.0f writes/s  "
	    "(%.0f events per group commit)\n", (double)contacts / t,
	    commits > 0 ? writes / commits : 0);
	print_rss("right after the contacts:");
	sleep(5); /* the daemon trims itself after 2-4 s without requests */
	print_rss("idle after the contacts:");
	time_cli("samlog contact list --municipality M", (char *const[]){
	    (char *)tu_prog("samlog"), "-d", dir, "contact", "list",
	    "--municipality", "Kommun 300", NULL }, 200);
	/* An id to show: the first contact of that municipality. */
	if (tu_run(r, (char *const[]){ (char *)tu_prog("samlog"), "-d", dir,
	    "contact", "list", "--municipality", "Kommun 7", NULL }, NULL) != 0)
		return 1;
	char id[16] = "";
	const char *nl = strchr(r->out, '\n');

	if (nl != NULL)
		snprintf(id, sizeof id, "%.10s", nl + 1);
	time_cli("samlog contact show ID", (char *const[]){
	    (char *)tu_prog("samlog"), "-d", dir, "contact", "show", id, NULL },
	    200);
	time_cli("samlog contact list --municipality M --json", (char *const[]){
	    (char *)tu_prog("samlog"), "-d", dir, "--json", "contact", "list",
	    "--municipality", "Kommun 301", NULL }, 200);
	if (tu_run(r, (char *const[]){ (char *)tu_prog("samlog"), "-d", dir,
	    "--json", "rebuild", NULL }, NULL) != 0 || r->status != 0)
		return 1;
	const char *ev = strstr(r->out, "\"events\": ");
	const char *ms = strstr(r->out, "\"ms\": ");
	double ne = ev ? strtod(ev + 10, NULL) : 0, nms = ms ? strtod(ms + 6,
	    NULL) : 1;

	printf("rebuild of every record from the log:     %9.0f events/s  "
	    "(%.0f events in %.0f ms)\n", ne / (nms / 1000), ne, nms);
	if (events > contacts) {
		t0 = tu_now_s();
		load(contacts, events);
		t = tu_now_s() - t0;
		printf("load of %zu more events:             %9.0f writes/s\n",
		    events - contacts, (double)(events - contacts) / t);
		sleep(5);
		print_rss("idle after all events:");
	}
	kill(dpid, SIGTERM);
	waitpid(dpid, NULL, 0);
	bench_import(tmp, contacts);
	free(dir);
	free(logp);
	tu_rmtree(tmp);
	return 0;
}
