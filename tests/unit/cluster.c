/*
 * cluster.c - real samlogd nodes for the multi-node tests (cluster.h).
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

char *cl_tmp;
unsigned cl_wait_ms = WAIT_MS;
/* Daemons still running, killed by the teardown when a test fails. */
static pid_t running[64];

/* Remembers a child for cl_reap; fails when there are too many. */
static void
track(pid_t pid)
{
	for (size_t i = 0; i < sizeof running / sizeof running[0]; i++) {
		if (running[i] == 0) {
			running[i] = pid;
			return;
		}
	}
	fail_msg("more than %zu children", sizeof running / sizeof running[0]);
}

static void
untrack(pid_t pid)
{
	for (size_t i = 0; i < sizeof running / sizeof running[0]; i++)
		if (running[i] == pid)
			running[i] = 0;
}

void
node_init(struct node *n, const char *name, const char *org)
{
	struct tu_run *r = malloc(sizeof *r);

	assert_non_null(r);
	memset(n, 0, sizeof *n);
	snprintf(n->name, sizeof n->name, "%s", name);
	snprintf(n->dir, sizeof n->dir, "%s/%s", cl_tmp, name);
	snprintf(n->log, sizeof n->log, "%s/%s.log", cl_tmp, name);
	assert_int_equal(tu_run(r, (char *const[]){ (char *)tu_prog("samlog"),
	    "-d", n->dir, "init", "--org", (char *)org, NULL }, NULL), 0);
	assert_int_equal(r->status, 0);
	const char *p = strstr(r->out, "node_id:");

	assert_non_null(p);
	p += strspn(p + 8, " ") + 8;
	snprintf(n->id, sizeof n->id, "%.*s", (int)strcspn(p, "\n"), p);
	assert_int_equal(strlen(n->id), SL_NODE_ID_TEXT);
	free(r);
}

/* Runs samlog -d n->dir ARGS... (NULL-terminated). */
struct tu_run *
sl(const struct node *n, const char *first, ...)
{
	static struct tu_run r;
	char *argv[32];
	int k = 0;
	va_list ap;

	argv[k++] = (char *)tu_prog("samlog");
	argv[k++] = "-d";
	argv[k++] = (char *)n->dir;
	argv[k++] = (char *)first;
	va_start(ap, first);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[k++] = a;
	va_end(ap);
	argv[k] = NULL;
	assert_int_equal(tu_run(&r, argv, NULL), 0);
	return &r;
}

struct tu_run *
ok(struct tu_run *r)
{
	if (r->status != 0)
		fail_msg("samlog failed (%d): %s", r->status, r->err);
	return r;
}

/* The first line of stdout. */
char *
line1(struct tu_run *r)
{
	static char buf[4][256];
	static int k;
	char *b = buf[k++ % 4];

	ok(r);
	snprintf(b, sizeof buf[0], "%.*s", (int)strcspn(r->out, "\n"), r->out);
	return b;
}

long
events(const struct node *n)
{
	const char *out = ok(sl(n, "status", "--json", NULL))->out;

	/* The events of records and announcements: membership events
	 * (one per admission) and checkpoints (PROTOCOL.md 15) are counted
	 * apart, so that a test counts what it wrote. */
	return tu_json_num(out, "events") - tu_json_num(out, "member_events") -
	    tu_json_num(out, "checkpoint_events");
}

/* Starts samlogd on n, listening on `listen` (NULL: any free port, or
 * the port it had before), and waits until it answers. */
void
node_start(struct node *n)
{
	char sock[600], listen[64];

	snprintf(sock, sizeof sock, "%s/%s", n->dir, SL_CTL_SOCKET);
	snprintf(listen, sizeof listen, "%s", n->listen[0] ? n->listen :
	    "127.0.0.1:0");
	if ((n->pid = fork()) == 0) {
		if (freopen(n->log, "a", stderr) == NULL)
			_exit(126);
		for (size_t i = 0; n->env != NULL && n->env[i] != NULL; i++)
			putenv(n->env[i]);
		execl(tu_prog("samlogd"), "samlogd", "-d", n->dir, "--listen",
		    listen, "--foreground", (char *)NULL);
		_exit(127);
	}
	track(n->pid);
	for (int i = 0; i < 1000; i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		memcpy(sa.sun_path, sock, strlen(sock) + 1);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			close(fd);
			break;
		}
		close(fd);
		usleep(10000);
	}
	struct tu_run *r = ok(sl(n, "status", "--json", NULL));
	const char *p = strstr(r->out, "\"listen\": \"");

	assert_non_null(p);
	p += 11;
	snprintf(n->listen, sizeof n->listen, "%.*s", (int)strcspn(p, "\""),
	    p);
	assert_non_null(strchr(n->listen, ':'));
}

int
node_stop(struct node *n, int sig)
{
	int status;

	if (n->pid <= 0)
		return -1;
	kill(n->pid, sig);
	untrack(n->pid);
	assert_int_equal(waitpid(n->pid, &status, 0), n->pid);
	n->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void
trust_at(const struct node *n, const struct node *m, const char *addr)
{
	if (addr != NULL)
		ok(sl(n, "peer", "add", m->name, "--key", m->id, "--addr",
		    addr, NULL));
	else
		ok(sl(n, "peer", "add", m->name, "--key", m->id, NULL));
}

void
trust(const struct node *n, const struct node *m, bool dial)
{
	trust_at(n, m, dial ? m->listen : NULL);
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits until every node holds `want` events; fails after cl_wait_ms. */
void
wait_events(struct node **ns, int k, long want)
{
	uint64_t t0 = now_ms();

	for (;;) {
		int done = 0;

		for (int i = 0; i < k; i++)
			done += events(ns[i]) == want;
		if (done == k)
			return;
		if (now_ms() - t0 > cl_wait_ms) {
			for (int i = 0; i < k; i++)
				print_message("%s: %ld events (want %ld)\n",
				    ns[i]->name, events(ns[i]), want);
			fail_msg("no convergence within %u ms", cl_wait_ms);
		}
		usleep(50000);
	}
}

long
wait_converged(struct node **ns, int k)
{
	uint64_t t0 = now_ms();
	long last = -1;

	for (;;) {
		long first = events(ns[0]);
		bool same = true;

		for (int i = 1; i < k; i++)
			same = same && events(ns[i]) == first;
		if (same && first == last)
			return first;
		last = same ? first : -1;
		if (now_ms() - t0 > cl_wait_ms) {
			for (int i = 0; i < k; i++)
				print_message("%s: %ld events\n", ns[i]->name,
				    events(ns[i]));
			fail_msg("no convergence within %u ms", cl_wait_ms);
		}
		usleep(200000);
	}
}

/* Every query gives the same answer on every node. */
void
assert_same(struct node **ns, int k)
{
	static const char *const q[][3] = {
		{ "org", "list", "--json" }, { "contact", "list", "--json" },
		{ "meeting", "list", "--json" }, { "decision", "list", "--json" },
	};
	char *first = malloc(sizeof ((struct tu_run *)0)->out);

	assert_non_null(first);
	for (size_t j = 0; j < sizeof q / sizeof q[0]; j++) {
		snprintf(first, sizeof ((struct tu_run *)0)->out, "%s",
		    ok(sl(ns[0], q[j][0], q[j][1], q[j][2], NULL))->out);
		for (int i = 1; i < k; i++) {
			struct tu_run *r = ok(sl(ns[i], q[j][0], q[j][1],
			    q[j][2], NULL));

			if (strcmp(first, r->out) != 0)
				fail_msg("%s %s differs between %s and %s",
				    q[j][0], q[j][1], ns[0]->name, ns[i]->name);
		}
	}
	free(first);
	for (int i = 0; i < k; i++)
		assert_int_equal(ok(sl(ns[i], "verify", NULL))->status, 0);
}

int
log_count(const struct node *n, const char *needle)
{
	FILE *f = fopen(n->log, "r");
	char line[2048];
	int found = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		found += strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

bool
log_has(const struct node *n, const char *needle)
{
	return log_count(n, needle) > 0;
}

void
wait_log(const struct node *n, const char *needle)
{
	uint64_t t0 = now_ms();

	while (!log_has(n, needle)) {
		if (now_ms() - t0 > cl_wait_ms)
			fail_msg("%s's log never said \"%s\"", n->name, needle);
		usleep(50000);
	}
}

char *
add_contact(const struct node *n, const char *name)
{
	/* --force: the tests add many contacts of one name on purpose. */
	return line1(sl(n, "contact", "add", "--name", name, "--role",
	    "first", "--force", NULL));
}

int
cl_setup(void **state)
{
	(void)state;
	cl_tmp = tu_tmpdir();
	return 0;
}

int
cl_teardown(void **state)
{
	(void)state;
	if (getenv("SAMLOG_KEEP") == NULL)
		tu_rmtree(cl_tmp);
	else
		print_message("kept %s\n", cl_tmp);
	return 0;
}

/* After each test: stop what a failed test left running. */
int
cl_reap(void **state)
{
	(void)state;
	cl_wait_ms = WAIT_MS;   /* a failed test may have left it changed */
	for (size_t i = 0; i < sizeof running / sizeof running[0]; i++) {
		if (running[i] != 0) {
			kill(running[i], SIGKILL);
			waitpid(running[i], NULL, 0);
			running[i] = 0;
		}
	}
	return 0;
}


/* ---- clients writing at once --------------------------------------------- */

struct writers {
	int k;
	pid_t pid[32];
	char path[32][640];
	long acked, failed;
	/* After stop: every acknowledged contact and its last role, one
	 * entry per contact, sorted by id. */
	size_t n;
	struct acked *set;
	unsigned long long *us; /* each acknowledged operation's latency */
};

struct acked {
	char id[64];
	char role[32];
	size_t at;      /* its line among all the clients' lines */
};

static volatile sig_atomic_t writer_quit;

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
writer_on_term(int sig)
{
	(void)sig;
	writer_quit = 1;
}

/* One client: runs until SIGTERM, then finishes the operation at hand
 * (retrying it for up to a minute if the daemon is away). */
static void
writer_main(const struct node *n, const char *path, const char *tag,
    unsigned seed, bool updates, unsigned pace_ms)
{
	static struct tu_run r;
	static char ids[4096][64];
	size_t nids = 0;
	FILE *f = fopen(path, "w");
	uint64_t quit_at = 0;

	if (f == NULL)
		_exit(3);
	setvbuf(f, NULL, _IOLBF, 0);
	signal(SIGTERM, writer_on_term);
	/* A crash here is the writer's own: not cmocka's to catch (its
	 * handler would go on running the remaining tests in this child). */
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	signal(SIGABRT, SIG_DFL);
	srandom(seed);
	for (unsigned op = 0; !writer_quit; op++) {
		char name[96], role[32], *argv[16];
		/* A full list of ids takes updates only (an add beyond it
		 * would write past the list: it did once the daemon was
		 * fast enough for 4,096 adds in a run). */
		bool add = nids < 4096 && (!updates || nids == 0 ||
		    random() % 3 != 0);
		size_t pick = nids ? (size_t)random() % nids : 0;
		int a = 0;

		snprintf(role, sizeof role, "r%u", op);
		argv[a++] = (char *)tu_prog("samlog");
		argv[a++] = "-d";
		argv[a++] = (char *)n->dir;
		argv[a++] = "contact";
		if (add) {
			snprintf(name, sizeof name, "%s-%u", tag, op);
			/* --force: a retry of an add whose answer was lost
			 * (the daemon killed after its commit) adds again,
			 * as a client that cannot know would. */
			argv[a++] = "add";
			argv[a++] = "--force";
			argv[a++] = "--name";
			argv[a++] = name;
		} else {
			argv[a++] = "update";
			argv[a++] = ids[pick];
		}
		argv[a++] = "--role";
		argv[a++] = role;
		argv[a] = NULL;
		uint64_t began = now_us();

		for (;;) {
			if (tu_run(&r, argv, NULL) != 0)
				_exit(4);
			if (r.status == 0)
				break;
			fprintf(f, "fail %d %.*s\n", r.status,
			    (int)strcspn(r.err, "\n"), r.err);
			if (writer_quit && quit_at == 0)
				quit_at = now_ms() + 60000;
			if (quit_at != 0 && now_ms() > quit_at)
				_exit(5);
			usleep(20000);
		}
		/* The time to an acknowledgement, retries included. */
		unsigned long long us = (unsigned long long)(now_us() - began);

		if (add) {
			snprintf(ids[nids], sizeof ids[0], "%.*s",
			    (int)strcspn(r.out, "\n"), r.out);
			fprintf(f, "set %s %s %llu\n", ids[nids++], role, us);
		} else {
			fprintf(f, "set %s %s %llu\n", ids[pick], role, us);
		}
		if (pace_ms > 0)
			usleep((useconds_t)(random() % pace_ms) * 1000u);
	}
	fclose(f);
	_exit(0);
}

struct writers *
writers_start(const struct node *n, int k, const char *tag, unsigned seed,
    bool updates)
{
	return writers_start_paced(n, k, tag, seed, updates, 0);
}

struct writers *
writers_start_paced(const struct node *n, int k, const char *tag,
    unsigned seed, bool updates, unsigned pace_ms)
{
	struct writers *w = calloc(1, sizeof *w);

	assert_non_null(w);
	assert_true(k > 0 && k <= 32);
	w->k = k;
	for (int i = 0; i < k; i++) {
		char t[64];

		snprintf(w->path[i], sizeof w->path[i], "%s/writer-%s-%d",
		    cl_tmp, tag, i);
		snprintf(t, sizeof t, "%s%d", tag, i);
		if ((w->pid[i] = fork()) == 0)
			writer_main(n, w->path[i], t, seed * 131u + (unsigned)i,
			    updates, pace_ms);
		assert_true(w->pid[i] > 0);
		track(w->pid[i]);
	}
	return w;
}

/* Makes room for one more of n elements of size bytes, doubling. */
static void *
grow(void *p, size_t n, size_t size)
{
	if ((n & (n - 1)) != 0)
		return p;
	p = realloc(p, (n ? n * 2 : 64) * size);
	assert_non_null(p);
	return p;
}

/* By id; for one id, in the order the operations were acknowledged. */
static int
acked_cmp(const void *a, const void *b)
{
	const struct acked *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c != 0 ? c : (x->at > y->at) - (x->at < y->at);
}

static int
id_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct acked *)elem)->id);
}

static int
find_id(const struct writers *w, const char *id)
{
	const struct acked *e = bsearch(id, w->set, w->n, sizeof *w->set,
	    id_cmp);

	return e != NULL ? (int)(e - w->set) : -1;
}

long
writers_stop(struct writers *w)
{
	for (int i = 0; i < w->k; i++)
		kill(w->pid[i], SIGTERM);
	for (int i = 0; i < w->k; i++) {
		int status;

		assert_int_equal(waitpid(w->pid[i], &status, 0), w->pid[i]);
		untrack(w->pid[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("client %d ended with status %d", i, status);
	}
	for (int i = 0; i < w->k; i++) {
		FILE *f = fopen(w->path[i], "r");
		char line[512], id[64], role[32];

		assert_non_null(f);
		while (fgets(line, sizeof line, f) != NULL) {
			if (strncmp(line, "fail ", 5) == 0) {
				w->failed++;
				continue;
			}
			unsigned long long us;

			assert_int_equal(sscanf(line, "set %63s %31s %llu", id,
			    role, &us), 3);
			w->us = grow(w->us, (size_t)w->acked, sizeof *w->us);
			w->us[w->acked++] = us;
			w->set = grow(w->set, w->n, sizeof *w->set);
			snprintf(w->set[w->n].id, sizeof w->set[0].id, "%s", id);
			snprintf(w->set[w->n].role, sizeof w->set[0].role, "%s",
			    role);
			w->set[w->n].at = w->n;
			w->n++;
		}
		fclose(f);
	}
	/* One entry per contact: the last of each id's run. */
	size_t keep = 0;

	qsort(w->set, w->n, sizeof *w->set, acked_cmp);
	for (size_t i = 0; i < w->n; i++) {
		if (keep > 0 && strcmp(w->set[keep - 1].id, w->set[i].id) == 0)
			keep--;
		w->set[keep++] = w->set[i];
	}
	w->n = keep;
	return w->acked;
}

long
writers_failures(const struct writers *w)
{
	return w->failed;
}

static int
cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return (x > y) - (x < y);
}

unsigned long long
writers_latency_us(struct writers *w, double q)
{
	if (w->acked == 0)
		return 0;
	qsort(w->us, (size_t)w->acked, sizeof *w->us, cmp_ull);
	return w->us[(size_t)(q * (double)(w->acked - 1))];
}

/* Runs a shell command line; fails the test unless it exits 0. */
static void
shell(const char *cmd)
{
	static struct tu_run r;

	assert_int_equal(tu_run(&r, (char *const[]){ "/bin/sh", "-c",
	    (char *)cmd, NULL }, NULL), 0);
	if (r.status != 0)
		fail_msg("`%s` failed (%d): %s", cmd, r.status, r.err);
}

void
export_to(const struct node *n, const char *path)
{
	char *cmd;

	if (asprintf(&cmd, "'%s' -d '%s' export --format csv > '%s'",
	    tu_prog("samlog"), n->dir, path) < 0)
		abort();
	shell(cmd);
	free(cmd);
}

void
writers_check(struct writers *w, struct node **ns, int k)
{
	char path[640];
	char *seen = malloc(w->n + 1);

	assert_non_null(seen);
	for (int i = 0; i < k; i++) {
		snprintf(path, sizeof path, "%s/%s.check.csv", cl_tmp,
		    ns[i]->name);
		export_to(ns[i], path);
		FILE *f = fopen(path, "r");
		char line[4096];
		size_t found = 0;

		assert_non_null(f);
		memset(seen, 0, w->n + 1);
		/* The header names the columns (record,id,...,role,...);
		 * the writers' values hold no comma or quote. */
		int rc_col = -1;

		while (fgets(line, sizeof line, f) != NULL) {
			char *col[64];
			int c = 0;

			line[strcspn(line, "\r\n")] = '\0';
			for (char *p = line, *q; c < 64; p = q + 1) {
				col[c++] = p;
				if ((q = strchr(p, ',')) == NULL)
					break;
				*q = '\0';
			}
			if (rc_col < 0 && strcmp(col[0], "record") == 0) {
				for (int x = 0; x < c; x++)
					if (strcmp(col[x], "role") == 0)
						rc_col = x;
				continue;
			}
			if (strcmp(col[0], "contact") != 0 || rc_col < 0)
				continue;
			int j = c > rc_col ? find_id(w, col[1]) : -1;

			if (j < 0)
				continue;
			if (strcmp(w->set[j].role, col[rc_col]) != 0)
				fail_msg("%s: contact %s has role %s, but %s "
				    "was acknowledged last", ns[i]->name,
				    col[1], col[rc_col], w->set[j].role);
			found += !seen[j];
			seen[j] = 1;
		}
		fclose(f);
		for (size_t j = 0; j < w->n; j++)
			if (!seen[j])
				fail_msg("%s: acknowledged contact %s is "
				    "missing", ns[i]->name, w->set[j].id);
		assert_int_equal(found, w->n);
	}
	free(seen);
}

void
writers_free(struct writers *w)
{
	if (w == NULL)
		return;
	free(w->set);
	free(w->us);
	free(w);
}

void
assert_same_export(struct node **ns, int k)
{
	char first[640], other[640], *cmd;

	snprintf(first, sizeof first, "%s/%s.same.csv", cl_tmp, ns[0]->name);
	export_to(ns[0], first);
	for (int i = 1; i < k; i++) {
		snprintf(other, sizeof other, "%s/%s.same.csv", cl_tmp,
		    ns[i]->name);
		export_to(ns[i], other);
		if (asprintf(&cmd, "cmp '%s' '%s'", first, other) < 0)
			abort();
		shell(cmd);
		free(cmd);
	}
	for (int i = 0; i < k; i++)
		assert_int_equal(ok(sl(ns[i], "verify", NULL))->status, 0);
}

long
rss_kib(pid_t pid)
{
	return tu_proc_kib(pid, "VmRSS");
}

void
refused(struct tu_run *r, int want, const char *needle)
{
	if (r->status != want || strstr(r->err, needle) == NULL ||
	    strchr(r->err, '\n') != r->err + strlen(r->err) - 1)
		fail_msg("exited %d, want %d and \"%s\": %s%s", r->status, want,
		    needle, r->out, r->err);
}

const char *
invite_line(const struct node *n, const char *expires)
{
	static char line[1024];
	struct tu_run *r = expires != NULL ? sl(n, "invite", "--expires",
	    expires, NULL) : sl(n, "invite", NULL);

	if (r->status != 0)
		fail_msg("%s: invite exited %d: %s", n->name, r->status, r->err);
	snprintf(line, sizeof line, "%.*s", (int)strcspn(r->out, "\n"),
	    r->out);
	if (strncmp(line, "samlog-invite:", 14) != 0)
		fail_msg("%s: invite printed %s", n->name, r->out);
	return line;
}
