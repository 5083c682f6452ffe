/*
 * test_node.c - `samlog init` and `samlogd` as a user meets them: the real
 * binaries run in a temporary directory, checked for exit codes, output,
 * file modes and the one-line errors; plus the config parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "samlog_proto.h"
#include "testutil.h"

static char *
path2(const char *a, const char *b)
{
	char *p;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		abort();
	return p;
}

static int
file_mode(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return (int)(st.st_mode & 07777);
}

#define SAMLOG(r, ...) \
	assert_int_equal(tu_run((r), (char *const[]){ (char *)tu_prog("samlog"), \
	    __VA_ARGS__, NULL }, NULL), 0)

static void
test_init_creates_node(void **state)
{
	char *tmp = tu_tmpdir(), *dir = path2(tmp, "deep/er/node");
	char *key = path2(dir, "node.key"), *conf = path2(dir, "samlog.conf");
	struct tu_run r;
	struct sl_key k;
	char err[256], id[SL_NODE_ID_TEXT + 1];

	(void)state;
	SAMLOG(&r, "init", "--org", "Coompanion Roslagen & Norrort", "-d", dir);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_int_equal(file_mode(dir), 0700);
	assert_int_equal(file_mode(key), 0600);
	assert_int_equal(file_mode(conf), 0600);
	/* The printed id is the key's public half. */
	assert_int_equal(sl_node_load_key(dir, &k, err, sizeof err), SL_OK);
	sl_b32_encode(id, k.pub, SL_KEY_LEN);
	sl_key_wipe(&k);
	assert_non_null(strstr(r.out, id));
	assert_true(strncmp(r.out, "node_id: ", 9) == 0);
	/* The config names the organisation and the daemon's parser reads it. */
	struct config c;

	assert_int_equal(config_load(&c, conf, err, sizeof err), SL_OK);
	assert_string_equal(c.org, "Coompanion Roslagen & Norrort");

	/* A second init refuses, exit 1, one line, and changes nothing. */
	struct stat before, after;

	assert_int_equal(stat(key, &before), 0);
	SAMLOG(&r, "-d", dir, "init", "--org", "Other");
	assert_int_equal(r.status, 1);
	assert_int_equal(tu_lines(r.err), 1);
	assert_true(strncmp(r.err, "samlog: ", 8) == 0);
	assert_non_null(strstr(r.err, "already holds a node"));
	assert_string_equal(r.out, "");
	assert_int_equal(stat(key, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(config_load(&c, conf, err, sizeof err), SL_OK);
	assert_string_equal(c.org, "Coompanion Roslagen & Norrort");
	free(key);
	free(conf);
	free(dir);
	tu_rmtree(tmp);
}

static void
test_init_json_and_env(void **state)
{
	char *tmp = tu_tmpdir(), *dir = path2(tmp, "n"), *env;
	struct tu_run r;

	(void)state;
	if (asprintf(&env, "SAMLOG_DIR=%s", dir) < 0)
		abort();
	/* --json after the command, directory from SAMLOG_DIR. */
	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlog"),
	    "init", "--org=Sigtuna kommun", "--json", NULL },
	    (char *const[]){ env, NULL }), 0);
	assert_int_equal(r.status, 0);
	assert_true(strncmp(r.out, "{\"node_id\": \"", 13) == 0);
	assert_int_equal(strlen(r.out), strlen("{\"node_id\": \"\", \"org\": "
	    "\"Sigtuna kommun\", \"dir\": \"\"}\n") + SL_NODE_ID_TEXT +
	    strlen(dir));
	assert_non_null(strstr(r.out, "\"org\": \"Sigtuna kommun\""));
	char *keyp = path2(dir, "node.key");

	assert_int_equal(file_mode(keyp), 0600);
	free(keyp);
	free(env);
	free(dir);
	tu_rmtree(tmp);
}

static void
test_usage_errors(void **state)
{
	char *tmp = tu_tmpdir(), *dir = path2(tmp, "n");
	struct tu_run r;

	(void)state;
	SAMLOG(&r, "-d", dir, "init");                        /* no --org */
	assert_int_equal(r.status, 2);
	assert_string_equal(r.err, "samlog: init needs --org NAME\n");
	SAMLOG(&r, "-d", dir, "init", "--org");               /* no value */
	assert_int_equal(r.status, 2);
	SAMLOG(&r, "-d", dir, "init", "--org", "X", "--colour", "red");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "unknown flag '--colour'"));
	SAMLOG(&r, "-d", dir, "frobnicate");
	assert_int_equal(r.status, 2);
	assert_string_equal(r.err,
	    "samlog: unknown command 'frobnicate' (see: samlog help)\n");
	SAMLOG(&r, "-d", dir, "init", "--org", "X", "extra");
	assert_int_equal(r.status, 2);
	SAMLOG(&r, "-q");
	assert_int_equal(r.status, 2);
	SAMLOG(&r, "help", "nosuch");
	assert_int_equal(r.status, 2);
	/* Invalid values are a failed request (1), not usage (2). */
	SAMLOG(&r, "-d", dir, "init", "--org", "");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "invalid organisation name"));
	SAMLOG(&r, "-d", dir, "init", "--org", "bad\tname");
	assert_int_equal(r.status, 1);
	/* None of that made a node. */
	struct stat st;

	assert_int_not_equal(stat(dir, &st), 0);
	/* Help is not an error. */
	SAMLOG(&r, "help");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "init"));
	SAMLOG(&r, "init", "--help");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--org NAME"));
	SAMLOG(&r, "--version");
	assert_int_equal(r.status, 0);
	free(dir);
	tu_rmtree(tmp);
}

static void
test_key_permissions_checked(void **state)
{
	char *tmp = tu_tmpdir(), *dir = path2(tmp, "n");
	char *key = path2(dir, "node.key");
	struct tu_run r;
	struct sl_key k;
	char err[512];

	(void)state;
	SAMLOG(&r, "-d", dir, "init", "--org", "M29");
	assert_int_equal(r.status, 0);
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(sl_node_load_key(dir, &k, err, sizeof err), SL_EINVAL);
	assert_non_null(strstr(err, "chmod 600"));
	/* And the daemon will not start on it. */
	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlogd"),
	    "-d", dir, "--foreground", NULL }, NULL), 0);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "may be read by other users"));
	free(key);
	free(dir);
	tu_rmtree(tmp);
}

static void
write_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_config_errors(void **state)
{
	char *tmp = tu_tmpdir(), *p = path2(tmp, "samlog.conf");
	struct config c;
	char err[512], want[600];

	(void)state;
	write_file(p, "# comment\n\n  org =  Café #1  \n");
	assert_int_equal(config_load(&c, p, err, sizeof err), SL_OK);
	assert_string_equal(c.org, "Café #1");
	write_file(p, "org = A\nlisten 1.2.3.4\n");
	assert_int_equal(config_load(&c, p, err, sizeof err), SL_EINVAL);
	snprintf(want, sizeof want, "%s:2: expected \"key = value\"", p);
	assert_string_equal(err, want);
	write_file(p, "org = A\ncolour = red\n");
	assert_int_equal(config_load(&c, p, err, sizeof err), SL_EINVAL);
	snprintf(want, sizeof want, "%s:2: unknown setting \"colour\"", p);
	assert_string_equal(err, want);
	write_file(p, "org = A\norg = B\n");
	assert_int_equal(config_load(&c, p, err, sizeof err), SL_EINVAL);
	write_file(p, "org =\n");
	assert_int_equal(config_load(&c, p, err, sizeof err), SL_EINVAL);
	write_file(p, "org = A\ngroup = root\n");
	assert_int_equal(config_load(&c, p, err, sizeof err), SL_OK);
	assert_string_equal(c.group, "root");
	write_file(p, "org = A\ngroup = no-such-group-here\n");
	assert_int_equal(config_load(&c, p, err, sizeof err), SL_EINVAL);
	snprintf(want, sizeof want, "%s:2: group \"no-such-group-here\" does "
	    "not exist", p);
	assert_string_equal(err, want);
	write_file(p, "# nothing\n");
	assert_int_equal(config_load(&c, p, err, sizeof err), SL_EINVAL);
	assert_non_null(strstr(err, "org is not set"));
	free(p);
	tu_rmtree(tmp);
}

/* Waits up to 10 s for a file to contain needle. */
static bool
wait_for(const char *path, const char *needle)
{
	for (int i = 0; i < 1000; i++) {
		char buf[4096] = "";
		FILE *f = fopen(path, "r");

		if (f != NULL) {
			size_t n = fread(buf, 1, sizeof buf - 1, f);

			buf[n] = '\0';
			fclose(f);
			if (strstr(buf, needle) != NULL)
				return true;
		}
		usleep(10000);
	}
	return false;
}

static void
test_daemon_lifecycle(void **state)
{
	char *tmp = tu_tmpdir(), *dir = path2(tmp, "n");
	char *logp = path2(tmp, "fg.log");
	struct tu_run r;
	pid_t pid;
	int status;

	(void)state;
	/* No node yet: a clear refusal. */
	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlogd"),
	    "-d", dir, "-f", NULL }, NULL), 0);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "samlog init --org NAME"));
	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlogd"),
	    "--bogus", NULL }, NULL), 0);
	assert_int_equal(r.status, 2);

	SAMLOG(&r, "-d", dir, "init", "--org", "Upplands Väsby kommun");
	assert_int_equal(r.status, 0);
	/* Foreground: ready line, a second daemon refused, SIGTERM -> 0. */
	if ((pid = fork()) == 0) {
		if (freopen(logp, "w", stderr) == NULL)
			_exit(126);
		execl(tu_prog("samlogd"), "samlogd", "-d", dir, "--foreground",
		    (char *)NULL);
		_exit(127);
	}
	assert_true(wait_for(logp, "ready"));
	assert_true(wait_for(logp, "Upplands Väsby kommun"));
	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlogd"),
	    "-d", dir, "-f", NULL }, NULL), 0);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "already running"));
	/* SIGHUP reloads the config and keeps running. */
	kill(pid, SIGHUP);
	assert_true(wait_for(logp, "configuration reloaded"));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(wait_for(logp, "stopped"));

	/* Background: the parent returns once the child is ready. */
	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlogd"),
	    "-d", dir, NULL }, NULL), 0);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "running in the background"));
	char *lock = path2(dir, "samlogd.lock"), *dlog = path2(dir,
	    "samlogd.log");
	FILE *f = fopen(lock, "r");
	long dpid = 0;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &dpid), 1);
	fclose(f);
	assert_true(dpid > 0);
	assert_true(wait_for(dlog, "ready"));
	assert_int_equal(kill((pid_t)dpid, SIGTERM), 0);
	assert_true(wait_for(dlog, "stopped"));
	/* Gone: a new daemon can take the node. */
	for (int i = 0; i < 500 && kill((pid_t)dpid, 0) == 0; i++)
		usleep(10000);
	assert_int_not_equal(kill((pid_t)dpid, 0), 0);
	free(lock);
	free(dlog);
	free(logp);
	free(dir);
	tu_rmtree(tmp);
}

/* The next datagram on fd within 10 s, as a string ("" on timeout). */
static const char *
notify_next(int fd)
{
	static char buf[512];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	buf[0] = '\0';
	if (poll(&p, 1, 10000) == 1 &&
	    (n = recv(fd, buf, sizeof buf - 1, 0)) > 0)
		buf[n] = '\0';
	return buf;
}

/* Type=notify: READY=1 once serving (with the control socket where
 * --socket says), RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on
 * SIGTERM; and the flags win over samlog.conf. */
static void
test_systemd_notify(void **state)
{
	char *tmp = tu_tmpdir(), *dir = path2(tmp, "n");
	char *ns = path2(tmp, "notify"), *sock = path2(tmp, "ctl.sock");
	char *logp = path2(tmp, "log"), env[700];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tu_run r;
	pid_t pid;
	int fd, status;

	(void)state;
	SAMLOG(&r, "-d", dir, "init", "--org", "Sigtuna kommun");
	assert_int_equal(r.status, 0);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, ns, strlen(ns) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", ns);
	if ((pid = fork()) == 0) {
		if (freopen(logp, "w", stderr) == NULL)
			_exit(126);
		putenv(env);
		execl(tu_prog("samlogd"), "samlogd", "-d", dir, "--foreground",
		    "--socket", sock, "--org", "Märsta", (char *)NULL);
		_exit(127);
	}
	assert_non_null(strstr(notify_next(fd), "READY=1"));
	/* The control socket is where --socket put it, and --org won. */
	char se[700];

	snprintf(se, sizeof se, "SAMLOG_SOCKET=%s", sock);
	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlog"),
	    "-d", dir, "status", NULL }, (char *const[]){ se, NULL }), 0);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "Märsta"));
	kill(pid, SIGHUP);
	assert_non_null(strstr(notify_next(fd), "RELOADING=1"));
	assert_non_null(strstr(notify_next(fd), "READY=1"));
	kill(pid, SIGTERM);
	assert_non_null(strstr(notify_next(fd), "STOPPING=1"));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* A bad flag value is wrong usage, before anything starts. */
	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlogd"),
	    "-d", dir, "-f", "--group", "no-such-group-here", NULL }, NULL), 0);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "no-such-group-here"));
	close(fd);
	free(ns);
	free(sock);
	free(logp);
	free(dir);
	tu_rmtree(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_creates_node),
		cmocka_unit_test(test_init_json_and_env),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_key_permissions_checked),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_daemon_lifecycle),
		cmocka_unit_test(test_systemd_notify),
	};

	if (sl_crypto_init() != 0)
		return 1;
	int rc = cmocka_run_group_tests_name("node", tests, NULL, NULL);

	sl_crypto_shutdown();
	return rc;
}
