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
/* Daemons still running, killed by the teardown when a test fails. */
static pid_t running[32];

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
	return tu_json_num(ok(sl(n, "status", "--json", NULL))->out, "events");
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
	for (size_t i = 0; i < sizeof running / sizeof running[0]; i++) {
		if (running[i] == 0) {
			running[i] = n->pid;
			break;
		}
	}
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
	for (size_t i = 0; i < sizeof running / sizeof running[0]; i++)
		if (running[i] == n->pid)
			running[i] = 0;
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

/* Waits until every node holds `want` events; fails after WAIT_MS. */
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
		if (now_ms() - t0 > WAIT_MS) {
			for (int i = 0; i < k; i++)
				print_message("%s: %ld events (want %ld)\n",
				    ns[i]->name, events(ns[i]), want);
			fail_msg("no convergence within %d ms", WAIT_MS);
		}
		usleep(50000);
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
		if (now_ms() - t0 > WAIT_MS)
			fail_msg("%s's log never said \"%s\"", n->name, needle);
		usleep(50000);
	}
}

char *
add_contact(const struct node *n, const char *name)
{
	return line1(sl(n, "contact", "add", "--name", name, "--role",
	    "first", NULL));
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
	for (size_t i = 0; i < sizeof running / sizeof running[0]; i++) {
		if (running[i] != 0) {
			kill(running[i], SIGKILL);
			waitpid(running[i], NULL, 0);
			running[i] = 0;
		}
	}
	return 0;
}

