/*
 * test_node.c - `samlog init` and `samlogd` as a user meets them: the real
 * binaries run in a temporary directory, checked for exit codes, output,
 * file modes and the one-line errors; plus the config parser.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "rights.h"
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
	    "status", NULL }, (char *const[]){ se, NULL }), 0);
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

/* ---- the two rights on the control socket ------------------------------- */

/*
 * A node run as a service is: a node directory owned by the user samlogd
 * runs as (A), its control socket in a directory of A's that a group may
 * enter, mode 0660 for that group, and people in the group (B).  B may use
 * the record commands; only A and root may change who is trusted or
 * rebuild.  Real uids from Debian's base-passwd: A is "daemon", B is
 * "nobody", the group is "users" (both get it as a supplementary group,
 * as "usermod -aG" would).
 */
struct rights {
	char *tmp, *node, *sock, *conf, *samlog, *samlogd;
	struct tu_cred owner, member, stranger;
	uid_t owner_uid;
};

static void
copy_prog(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	char buf[65536];
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof buf)) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	assert_int_equal(fchmod(out, 0755), 0);
	assert_int_equal(close(out), 0);
}

/* The whole of a small file, as a string the caller frees. */
static char *
slurp(const char *p)
{
	char *buf = calloc(1, 65536);
	FILE *f = fopen(p, "r");

	assert_non_null(buf);
	assert_non_null(f);
	size_t n = fread(buf, 1, 65535, f);

	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* samlog ARGS... on the node's socket, as who (NULL: root). */
static void
samlog_as(struct tu_run *r, const struct rights *e, const struct tu_cred *who,
    ...)
{
	/* No -d: an explicit node directory would win over
	 * $SAMLOG_SOCKET, and this socket is not the directory's. */
	char *argv[16] = { e->samlog }, env[700];
	size_t n = 1;
	va_list ap;

	va_start(ap, who);
	while ((argv[n] = va_arg(ap, char *)) != NULL)
		assert_true(++n < 15);
	va_end(ap);
	snprintf(env, sizeof env, "SAMLOG_SOCKET=%s", e->sock);
	assert_int_equal(tu_run_as(r, who, argv, (char *const[]){ env, NULL }),
	    0);
}

/* samlog as who must be refused: exit 1, one line naming the owner, no
 * output. */
static void
refused(const struct rights *e, const struct tu_cred *who, const char *what,
    ...)
{
	char *argv[16] = { e->samlog }, env[700], want[200];
	struct tu_run r;
	size_t n = 1;
	va_list ap;

	va_start(ap, what);
	while ((argv[n] = va_arg(ap, char *)) != NULL)
		assert_true(++n < 15);
	va_end(ap);
	snprintf(env, sizeof env, "SAMLOG_SOCKET=%s", e->sock);
	assert_int_equal(tu_run_as(&r, who, argv, (char *const[]){ env, NULL }),
	    0);
	snprintf(want, sizeof want, "samlog: %s needs the node owner (uid %u) "
	    "or root\n", what, (unsigned)e->owner_uid);
	assert_string_equal(r.err, want);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
}

/* Stops the node's detached daemon, if it runs: SIGTERM, then up to 10 s
 * for it to go.  True once it is gone. */
static bool
rights_stop(const struct rights *e)
{
	char *lock = path2(e->node, "samlogd.lock");
	FILE *f = fopen(lock, "r");
	long pid = 0;
	bool gone = true;

	if (f != NULL && fscanf(f, "%ld", &pid) == 1 && pid > 0 &&
	    kill((pid_t)pid, SIGTERM) == 0) {
		for (int i = 0; i < 1000 && kill((pid_t)pid, 0) == 0; i++)
			usleep(10000);
		gone = kill((pid_t)pid, 0) != 0;
	}
	if (f != NULL)
		fclose(f);
	free(lock);
	return gone;
}

static int
rights_teardown(void **state)
{
	struct rights *e = *state;

	if (e == NULL)
		return 0;
	if (e->node != NULL)
		rights_stop(e); /* a failed check left it running */
	free(e->node);
	free(e->sock);
	free(e->conf);
	free(e->samlog);
	free(e->samlogd);
	tu_rmtree(e->tmp);
	free(e);
	return 0;
}

/* Every command the CLI sends has its right in the one table; a name
 * the table does not know is the owner's. */
static void
test_rights_table(void **state)
{
	static const char *const record[] = { "org.add", "org.list",
		"org.show", "contact.add", "contact.update", "contact.list",
		"contact.show", "meeting.add", "meeting.list", "meeting.show",
		"decision.add", "decision.adopt", "decision.reject",
		"decision.revoke", "decision.amend", "decision.list",
		"decision.show", "import.rows", "import.commit", "import.abort",
		"history", "audit", "log", "status", "peer.list", "verify",
		NULL };
	static const char *const admin[] = { "peer.add", "peer.remove",
		"rebuild", "config.set", "frobnicate", "", NULL };

	(void)state;
	for (const char *const *p = record; *p != NULL; p++)
		assert_int_equal(rights_needed(*p), RIGHT_RECORD);
	for (const char *const *p = admin; *p != NULL; p++)
		assert_int_equal(rights_needed(*p), RIGHT_ADMIN);
	assert_int_equal(SL_EPERM, 27); /* on the wire: PROTOCOL.md */
	assert_string_equal(sl_strerror(SL_EPERM), "not permitted");
}

static void
test_control_rights(void **state)
{
	struct passwd *pw;
	struct group *g = NULL;
	uid_t ua = 0, ub = 0;
	gid_t ga = 0, gb = 0, gg = 0;
	struct rights *e;
	struct tu_run r;
	struct sl_key k;
	uint8_t seed[SL_SEED_LEN];
	char k1[SL_NODE_ID_TEXT + 1], k2[SL_NODE_ID_TEXT + 1];

	if (geteuid() != 0) {
		print_message("skipped: two real users need root to set up "
		    "(run as root)\n");
		skip();
	}
	/* getpw* and getgr* answer in static storage: copy at once. */
	if ((pw = getpwnam("daemon")) != NULL) {
		ua = pw->pw_uid;
		ga = pw->pw_gid;
	}
	if (pw != NULL && (pw = getpwnam("nobody")) != NULL) {
		ub = pw->pw_uid;
		gb = pw->pw_gid;
	}
	if (pw != NULL && (g = getgrnam("users")) != NULL)
		gg = g->gr_gid;
	if (pw == NULL || g == NULL || ua == 0 || ub == 0 || ua == ub) {
		print_message("skipped: no user daemon or nobody, or no group "
		    "users\n");
		skip();
	}
	assert_non_null(e = calloc(1, sizeof *e));
	*state = e;
	e->tmp = tu_tmpdir();
	e->owner_uid = ua;
	e->owner = (struct tu_cred){ ua, ga, 1, { gg },
		e->tmp };
	e->member = (struct tu_cred){ ub, gb, 1, { gg },
		e->tmp };
	e->stranger = (struct tu_cred){ ub, gb, 0, { 0 },
		e->tmp };
	/* Installed programs, where any user may run them. */
	assert_int_equal(chmod(e->tmp, 0755), 0);
	char *bin = path2(e->tmp, "bin"), *home = path2(e->tmp, "home");
	char *run = path2(e->tmp, "run");

	assert_int_equal(mkdir(bin, 0755), 0);
	e->samlog = path2(bin, "samlog");
	e->samlogd = path2(bin, "samlogd");
	copy_prog(tu_prog("samlog"), e->samlog);
	copy_prog(tu_prog("samlogd"), e->samlogd);
	/* A's node directory, and A's runtime directory the group enters. */
	assert_int_equal(mkdir(home, 0700), 0);
	assert_int_equal(chown(home, ua, ga), 0);
	assert_int_equal(mkdir(run, 0750), 0);
	assert_int_equal(chown(run, ua, gg), 0);
	e->node = path2(home, "node");
	e->sock = path2(run, "samlogd.sock");
	e->conf = path2(e->node, "samlog.conf");
	assert_int_equal(tu_run_as(&r, &e->owner, (char *const[]){ e->samlog,
	    "-d", e->node, "init", "--org", "Märsta", NULL }, NULL), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(tu_run_as(&r, &e->owner, (char *const[]){ e->samlogd,
	    "-d", e->node, "--socket", e->sock, "--group", "users", NULL },
	    NULL), 0);
	assert_int_equal(r.status, 0);
	struct stat st;

	assert_int_equal(stat(e->sock, &st), 0);
	assert_int_equal(st.st_uid, ua);
	assert_int_equal(st.st_gid, gg);
	assert_int_equal(st.st_mode & 0777, 0660);

	sl_key_generate(&k, seed);
	sl_b32_encode(k1, k.pub, SL_KEY_LEN);
	sl_key_generate(&k, seed);
	sl_b32_encode(k2, k.pub, SL_KEY_LEN);
	sl_key_wipe(&k);
	/* The owner trusts a member node. */
	samlog_as(&r, e, &e->owner, "peer", "add", "sigtuna", "--key", k1,
	    NULL);
	assert_int_equal(r.status, 0);
	char *conf0 = slurp(e->conf);

	assert_non_null(strstr(conf0, k1));

	/* A member of the group: records yes, and as themselves. */
	samlog_as(&r, e, &e->member, "contact", "add", "--name", "Anna Berg",
	    NULL);
	assert_string_equal(r.err, "");
	assert_int_equal(r.status, 0);
	samlog_as(&r, e, &e->member, "contact", "list", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "Anna Berg"));
	samlog_as(&r, e, &e->member, "log", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "nobody"));
	samlog_as(&r, e, &e->member, "status", NULL);
	assert_int_equal(r.status, 0);
	samlog_as(&r, e, &e->member, "verify", NULL);
	assert_int_equal(r.status, 0);
	samlog_as(&r, e, &e->member, "peer", "list", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "sigtuna"));

	/* ...but not the node: trust and rebuild are refused, and nothing
	 * changes. */
	refused(e, &e->member, "peer add", "peer", "add", "evil", "--key", k2,
	    NULL);
	refused(e, &e->member, "peer add", "peer", "add", "sigtuna", "--key",
	    k1, "--addr", "127.0.0.1:9", NULL);
	refused(e, &e->member, "peer remove", "peer", "remove", "sigtuna",
	    NULL);
	refused(e, &e->member, "rebuild", "rebuild", NULL);
	char *conf1 = slurp(e->conf);

	assert_string_equal(conf1, conf0);
	free(conf1);
	samlog_as(&r, e, &e->member, "peer", "list", "--json", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "sigtuna"));
	assert_null(strstr(r.out, "evil"));
	assert_null(strstr(r.out, k2));
	assert_null(strstr(r.out, "127.0.0.1:9"));

	/* Outside the group: not even the socket. */
	samlog_as(&r, e, &e->stranger, "status", NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "cannot reach samlogd"));

	/* The owner, then root, may. */
	samlog_as(&r, e, &e->owner, "rebuild", NULL);
	assert_string_equal(r.err, "");
	assert_int_equal(r.status, 0);
	samlog_as(&r, e, &e->owner, "peer", "remove", "sigtuna", NULL);
	assert_string_equal(r.err, "");
	assert_int_equal(r.status, 0);
	char *conf2 = slurp(e->conf);

	assert_null(strstr(conf2, k1));
	free(conf2);
	samlog_as(&r, e, NULL, "peer", "add", "upplands-vasby", "--key", k2,
	    NULL);
	assert_string_equal(r.err, "");
	assert_int_equal(r.status, 0);
	samlog_as(&r, e, NULL, "rebuild", NULL);
	assert_int_equal(r.status, 0);
	samlog_as(&r, e, NULL, "peer", "remove", "upplands-vasby", NULL);
	assert_int_equal(r.status, 0);
	char *conf3 = slurp(e->conf);

	assert_null(strstr(conf3, k2));
	free(conf3);
	/* The refusals are in the log, and the daemon stops cleanly. */
	assert_true(rights_stop(e));
	char *logp = path2(e->node, "samlogd.log"), *log = slurp(logp);

	assert_non_null(strstr(log, "refused peer add to nobody"));
	assert_non_null(strstr(log, "refused rebuild to nobody"));
	assert_non_null(strstr(log, "stopped"));
	assert_null(strstr(log, "Sanitizer"));
	free(log);
	free(logp);
	free(conf0);
	free(bin);
	free(home);
	free(run);
}

/* ---- reload and the first start ------------------------------------------ */

/* Waits up to 30 s for the whole file at path to hold needle at least n
 * times. */
static bool
wait_count(const char *path, const char *needle, int n)
{
	for (int i = 0; i < 3000; i++) {
		char *text;
		int k = 0;

		if (access(path, R_OK) != 0) {
			usleep(10000);
			continue;
		}
		text = slurp(path);

		for (const char *p = text; (p = strstr(p, needle)) != NULL;
		    p += strlen(needle))
			k++;
		free(text);
		if (k >= n)
			return true;
		usleep(10000);
	}
	return false;
}

/* True if a TCP connection to 127.0.0.x:port is accepted. */
static bool
tcp_accepts(const char *hostport)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, rc;

	assert_non_null(colon);
	snprintf(host, sizeof host, "%.*s", (int)(colon - hostport), hostport);
	assert_int_equal(inet_pton(AF_INET, host, &sa.sin_addr), 1);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	close(fd);
	return rc == 0;
}

/* The value of "listen" in status --json, into out. */
static void
status_listen(const char *dir, char *out, size_t len)
{
	struct tu_run r;
	const char *p;

	SAMLOG(&r, "-d", (char *)dir, "status", "--json");
	assert_int_equal(r.status, 0);
	assert_non_null(p = strstr(r.out, "\"listen\": \""));
	p += strlen("\"listen\": \"");
	snprintf(out, len, "%.*s", (int)strcspn(p, "\""), p);
}

/*
 * SIGHUP (systemctl reload) re-reads samlog.conf and applies it to the
 * running daemon, seen through the CLI: the organisation, the peers, a
 * new listen address (the old port closed, the new one open), max_skew;
 * a listen address that cannot be had keeps the old one; no listen line
 * stops listening.
 */
static void
test_reload_applies(void **state)
{
	char *tmp = tu_tmpdir(), *dir = path2(tmp, "n"), *other = path2(tmp,
	    "o");
	char *conf = path2(dir, "samlog.conf"), *logp = path2(tmp, "log");
	char old[64], now[64], text[512], oid[SL_NODE_ID_TEXT + 1];
	struct tu_run r;
	pid_t pid;
	int status;

	(void)state;
	SAMLOG(&r, "-d", other, "init", "--org", "Sollentuna kommun");
	assert_int_equal(r.status, 0);
	assert_int_equal(sscanf(r.out, "node_id: %52s", oid), 1);
	SAMLOG(&r, "-d", dir, "init", "--org", "Sigtuna kommun");
	assert_int_equal(r.status, 0);
	write_file(conf, "org = Sigtuna kommun\nlisten = 127.0.0.1:0\n");
	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (freopen(logp, "w", stderr) == NULL)
			_exit(126);
		execl(tu_prog("samlogd"), "samlogd", "-d", dir, "--foreground",
		    (char *)NULL);
		_exit(127);
	}
	assert_true(wait_for(logp, "ready"));
	status_listen(dir, old, sizeof old);
	assert_true(strncmp(old, "127.0.0.1:", 10) == 0);
	assert_true(tcp_accepts(old));

	snprintf(text, sizeof text, "org = Märsta kommun\nlisten = "
	    "127.0.0.2:0\nmax_skew = 5m\npeer = sollentuna %s\n", oid);
	write_file(conf, text);
	kill(pid, SIGHUP);
	assert_true(wait_count(logp, "configuration reloaded", 1));
	status_listen(dir, now, sizeof now);
	assert_true(strncmp(now, "127.0.0.2:", 10) == 0);
	assert_true(tcp_accepts(now));
	assert_false(tcp_accepts(old));
	SAMLOG(&r, "-d", dir, "status");
	assert_non_null(strstr(r.out, "Märsta kommun"));
	SAMLOG(&r, "-d", dir, "peer", "list", "--json");
	assert_non_null(strstr(r.out, "\"name\": \"sollentuna\""));
	assert_non_null(strstr(r.out, oid));
	assert_true(wait_count(logp, "max_skew is now 300 s (was 600 s)", 1));

	/* An address this host does not have: the old listener stays. */
	snprintf(text, sizeof text, "org = Märsta kommun\nlisten = "
	    "192.0.2.1:7420\npeer = sollentuna %s\n", oid);
	write_file(conf, text);
	kill(pid, SIGHUP);
	assert_true(wait_count(logp, "configuration reloaded", 2));
	assert_true(wait_count(logp, "listen address not changed", 1));
	status_listen(dir, old, sizeof old);
	assert_string_equal(old, now);
	assert_true(tcp_accepts(now));
	/* The peer is gone with its line; no listen line: not listening. */
	write_file(conf, "org = Märsta kommun\n");
	kill(pid, SIGHUP);
	assert_true(wait_count(logp, "configuration reloaded", 3));
	status_listen(dir, old, sizeof old);
	assert_string_equal(old, "");
	assert_false(tcp_accepts(now));
	SAMLOG(&r, "-d", dir, "peer", "list", "--json");
	assert_null(strstr(r.out, "sollentuna"));

	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	free(conf);
	free(logp);
	free(other);
	free(dir);
	tu_rmtree(tmp);
}

/*
 * make run's first start (scripts/run.sh): the organisation is the one
 * ORG names; without it, and without a terminal to ask on, one line
 * naming ORG and no node.
 */
static void
test_run_first_start(void **state)
{
	const char *build = getenv("SAMLOG_BUILD") ? getenv("SAMLOG_BUILD") :
	    "build";
	char *tmp = tu_tmpdir(), *dir = path2(tmp, "n"), *logp = path2(tmp,
	    "log"), *key = path2(dir, "node.key");
	char envdir[600];
	struct tu_run r;
	struct stat st;
	pid_t pid;
	int status;

	(void)state;
	snprintf(envdir, sizeof envdir, "SAMLOG_DIR=%s", dir);
	assert_int_equal(tu_run(&r, (char *const[]){ "/bin/sh",
	    "scripts/run.sh", (char *)build, NULL }, (char *const[]){ envdir,
	    "ORG=", "SAMLOG_ORG=", NULL }), 0);
	assert_int_equal(r.status, 1);
	assert_int_equal(tu_lines(r.err), 1);
	assert_non_null(strstr(r.err, "make run ORG=\"NAME\""));
	assert_int_not_equal(stat(key, &st), 0);

	if ((pid = fork()) == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);

		/* Gone with the test, even one that failed half-way (the
		 * script stops its samlogd on SIGTERM). */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		putenv(envdir);
		putenv("ORG=Samordningsförbundet Väsby");
		execl("/bin/sh", "sh", "scripts/run.sh", build, (char *)NULL);
		_exit(127);
	}
	assert_true(wait_count(logp, "samlogd is serving", 1));
	SAMLOG(&r, "-d", dir, "status");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "Samordningsförbundet Väsby"));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(wait_count(logp, "stopped", 1));
	free(key);
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
		cmocka_unit_test(test_reload_applies),
		cmocka_unit_test(test_run_first_start),
		cmocka_unit_test(test_rights_table),
		cmocka_unit_test_teardown(test_control_rights, rights_teardown),
	};

	if (sl_crypto_init() != 0)
		return 1;
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	int rc = cmocka_run_group_tests_name("node", tests, NULL, NULL);

	sl_crypto_shutdown();
	return rc;
}
