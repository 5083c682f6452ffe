/*
 * test_e2e.c - samlog and samlogd as users meet them: a real daemon in a
 * temporary node directory, driven only through the samlog binary (and,
 * for hostile input, a raw socket).  Every record command and flag, the
 * error paths with their exit codes and one-line messages, a crash with
 * kill -9, and concurrent clients.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>

#include "samlog_proto.h"
#include "testutil.h"

static char *tmp, *dir, *logpath;
static pid_t daemon_pid;

static void
daemon_start(void)
{
	char sock[600];

	snprintf(sock, sizeof sock, "%s/%s", dir, SL_CTL_SOCKET);
	if ((daemon_pid = fork()) == 0) {
		if (freopen(logpath, "a", stderr) == NULL)
			_exit(126);
		execl(tu_prog("samlogd"), "samlogd", "-d", dir, "--foreground",
		    (char *)NULL);
		_exit(127);
	}
	/* Ready when the socket accepts. */
	for (int i = 0; i < 1000; i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		assert_true(strlen(sock) < sizeof sa.sun_path);
		memcpy(sa.sun_path, sock, strlen(sock) + 1);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			close(fd);
			return;
		}
		close(fd);
		usleep(10000);
	}
	fail_msg("samlogd did not start (see %s)", logpath);
}

static int
daemon_stop(int sig)
{
	int status;

	kill(daemon_pid, sig);
	assert_int_equal(waitpid(daemon_pid, &status, 0), daemon_pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs samlog -d DIR ARGS...; NULL-terminated. */
static struct tu_run *
sl(const char *first, ...)
{
	static struct tu_run r;
	char *argv[64];
	int n = 0;
	va_list ap;

	argv[n++] = (char *)tu_prog("samlog");
	argv[n++] = "-d";
	argv[n++] = dir;
	argv[n++] = (char *)first;
	va_start(ap, first);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(tu_run(&r, argv, NULL), 0);
	return &r;
}

/* The one line of stdout, without its newline. */
static char *
out1(struct tu_run *r)
{
	static char buf[8][256];
	static int k;
	char *b = buf[k++ % 8];

	if (r->status != 0)
		fail_msg("samlog failed (%d): %s", r->status, r->err);
	snprintf(b, sizeof buf[0], "%.*s", (int)strcspn(r->out, "\n"), r->out);
	return b;
}

/* A copy of an id that outlives out1's few buffers. */
static char *
keep(const char *s)
{
	static char pool[32][256];
	static int k;
	char *b = pool[k++ % 32];

	snprintf(b, sizeof pool[0], "%s", s);
	return b;
}

/* Checks a failure: status, exactly one "samlog: " line with needle,
 * nothing on stdout. */
static void
refused(struct tu_run *r, int status, const char *needle)
{
	if (r->status != status || tu_lines(r->err) != 1 ||
	    strncmp(r->err, "samlog: ", 8) != 0 || strstr(r->err, needle) == NULL ||
	    r->out[0] != '\0')
		fail_msg("expected exit %d with \"%s\", got %d: out=[%s] err=[%s]",
		    status, needle, r->status, r->out, r->err);
}

static long
event_count(void)
{
	struct tu_run *r = sl("status", "--json", NULL);
	long n = tu_json_num(r->out, "events");

	assert_int_equal(r->status, 0);
	assert_true(n >= 0);
	return n;
}

static int
setup(void **state)
{
	struct tu_run r;

	(void)state;
	tmp = tu_tmpdir();
	if (asprintf(&dir, "%s/node", tmp) < 0 ||
	    asprintf(&logpath, "%s/samlogd.log", tmp) < 0)
		abort();
	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlog"),
	    "-d", dir, "init", "--org", "Samordningsförbundet", NULL }, NULL), 0);
	assert_int_equal(r.status, 0);
	daemon_start();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (daemon_pid > 0)
		assert_int_equal(daemon_stop(SIGTERM), 0);
	daemon_pid = 0;
	tu_rmtree(tmp);
	free(dir);
	free(logpath);
	return 0;
}

static void
test_records(void **state)
{
	(void)state;
	char *o1 = out1(sl("org", "add", "--name", "Värmekällan", "--kind", "asf",
	    "--municipality", "Upplands Väsby", "--sector", "second hand",
	    "--sector", "café", "--iop", NULL));
	char *o2 = out1(sl("org", "add", "--name", "Sigtuna kommun", "--kind",
	    "municipality", "--municipality", "Sigtuna", NULL));
	char p1[8], p2[8];

	assert_int_equal(strlen(o1), SL_ID_TEXT);
	snprintf(p1, sizeof p1, "%.6s", o1);
	snprintf(p2, sizeof p2, "%.6s", o2);

	struct tu_run *r = sl("org", "list", NULL);

	assert_int_equal(r->status, 0);
	assert_int_equal(tu_lines(r->out), 3); /* header + 2 */
	assert_non_null(strstr(r->out, "Värmekällan"));
	r = sl("org", "list", "--kind", "asf", "--json", NULL);
	assert_non_null(strstr(r->out, "\"name\": \"Värmekällan\""));
	assert_null(strstr(r->out, "Sigtuna kommun"));
	assert_non_null(strstr(r->out, "\"sector\": [\"second hand\", \"café\"]"));
	assert_non_null(strstr(r->out, "\"iop\": true"));
	r = sl("--json", "org", "list", "--municipality", "sigtuna", NULL);
	assert_non_null(strstr(r->out, "Sigtuna kommun"));
	assert_null(strstr(r->out, "Värmekällan"));
	r = sl("org", "show", p1, "--json", NULL);
	for (const char *k = "id\0kind\0name\0municipality\0sector\0iop\0updated\0"
	    "conflict\0"; *k; k += strlen(k) + 1) {
		char key[32];

		snprintf(key, sizeof key, "\"%s\": ", k);
		if (strstr(r->out, key) == NULL)
			fail_msg("org show --json lacks %s: %s", key, r->out);
	}

	char *c1 = out1(sl("contact", "add", "--name", "Anna Ölund", "--org", p1,
	    "--role", "verksamhetsledare", "--email", "anna@example.org",
	    "--phone", "08-590 000 00", "--municipality", "Upplands Väsby",
	    NULL));
	char *c2 = out1(sl("contact", "add", "--name", "Oskar Berg", "--org", p2,
	    "--role", "tjänsteman", "--municipality", "Sigtuna", NULL));
	char cp1[8];

	snprintf(cp1, sizeof cp1, "%.5s", c1);
	r = sl("contact", "list", "--org", p1, "--json", NULL);
	assert_non_null(strstr(r->out, "Anna Ölund"));
	assert_null(strstr(r->out, "Oskar Berg"));
	r = sl("contact", "list", "--role", "tjänsteman", NULL);
	assert_non_null(strstr(r->out, "Oskar Berg"));
	assert_null(strstr(r->out, "Anna"));
	r = sl("contact", "list", "--municipality", "Sigtuna", "--json", NULL);
	assert_non_null(strstr(r->out, c2));
	/* Several filters walk their indexes together: only records in
	 * every list, any case of the value, a reference (--org) too. */
	r = sl("contact", "list", "--municipality", "sigtuna", "--role",
	    "Tjänsteman", "--org", p2, "--json", NULL);
	assert_non_null(strstr(r->out, c2));
	assert_null(strstr(r->out, c1));
	r = sl("contact", "list", "--municipality", "Sigtuna", "--role",
	    "verksamhetsledare", "--json", NULL);
	assert_null(strstr(r->out, c1));
	assert_null(strstr(r->out, c2));
	/* Update: the new value shows, the id stays. */
	assert_string_equal(out1(sl("contact", "update", cp1, "--role",
	    "ordförande", "--org", p2, NULL)), c1);
	out1(sl("contact", "update", c2, "--name", "Oskar Bergström", "--email",
	    "oskar@example.org", "--phone", "08-123", "--municipality",
	    "Märsta", NULL));
	r = sl("contact", "show", c2, "--json", NULL);
	assert_non_null(strstr(r->out, "\"name\": \"Oskar Bergström\""));
	assert_non_null(strstr(r->out, "\"email\": \"oskar@example.org\""));
	assert_non_null(strstr(r->out, "\"phone\": \"08-123\""));
	assert_non_null(strstr(r->out, "\"municipality\": \"Märsta\""));
	assert_non_null(strstr(r->out, "\"role\": \"tjänsteman\""));
		r = sl("contact", "show", c1, "--json", NULL);
	assert_non_null(strstr(r->out, "\"role\": \"ordförande\""));
	assert_non_null(strstr(r->out, "\"org_name\": \"Sigtuna kommun\""));
	assert_non_null(strstr(r->out, "\"conflict\": false"));

	char *m1 = out1(sl("meeting", "add", "--title", "Uppstartsmöte", "--date",
	    "2019-04-15", "--with", cp1, "--with", c2, "--org", p1,
	    "--municipality", "Upplands Väsby", "--notes", "Behov av nätverk",
	    NULL));
	out1(sl("meeting", "add", "--title", "Lunchseminarium", "--date",
	    "2019-10-03", "--municipality", "Sigtuna", NULL));
	r = sl("meeting", "list", "--from", "2019-04-01", "--to", "2019-06-30",
	    NULL);
	assert_non_null(strstr(r->out, "Uppstartsmöte"));
	assert_null(strstr(r->out, "Lunchseminarium"));
	r = sl("meeting", "list", "--with", c2, "--json", NULL);
	assert_non_null(strstr(r->out, m1));
	assert_non_null(strstr(r->out, "\"with\": [\""));
	assert_non_null(strstr(r->out, "\"orgs\": [\""));
	r = sl("meeting", "show", m1, "--json", NULL);
	assert_non_null(strstr(r->out, "\"title\": \"Uppstartsmöte\""));
	assert_non_null(strstr(r->out, "\"date\": \"2019-04-15\""));
	assert_non_null(strstr(r->out, "\"notes\": \"Behov av nätverk\""));
	r = sl("meeting", "show", m1, NULL);
	assert_non_null(strstr(r->out, "title:"));
		r = sl("meeting", "list", "--municipality", "sigtuna", NULL);
	assert_non_null(strstr(r->out, "Lunchseminarium"));
	assert_null(strstr(r->out, "Uppstartsmöte"));
	/* Every indexed field filters, a list field by one of its values. */
	r = sl("meeting", "list", "--org", p1, NULL);
	assert_non_null(strstr(r->out, "Uppstartsmöte"));
	assert_null(strstr(r->out, "Lunchseminarium"));

	/* The decision lifecycle; the deciding body is an organisation,
	 * named. */
	out1(sl("org", "add", "--name", "Styrelsen", NULL));
	char *d1 = out1(sl("decision", "add", "--title", "Handlingsplan 2020",
	    "--text", "Fortsätta arbetet med ASF", "--body", "Styrelsen",
	    "--meeting", m1, NULL));
	char *d2 = out1(sl("decision", "add", "--title", "Nätverk",
	    "--text", "Starta ett nätverk", NULL));
	r = sl("decision", "list", "--status", "proposed", NULL);
	assert_non_null(strstr(r->out, "Handlingsplan 2020"));
	r = sl("decision", "list", "--meeting", m1, "--json", NULL);
	assert_non_null(strstr(r->out, d1));
	assert_null(strstr(r->out, d2));
	out1(sl("decision", "adopt", d1, "--reason", "enhälligt", NULL));
	out1(sl("decision", "reject", d2, NULL));
	out1(sl("decision", "amend", d1, "--text", "Ny text", "--reason",
	    "budget", NULL));
	r = sl("decision", "show", d1, "--json", NULL);
	assert_non_null(strstr(r->out, "\"status\": \"amended\""));
	assert_non_null(strstr(r->out, "\"text\": \"Ny text\""));
	assert_non_null(strstr(r->out, "\"body_name\": \"Styrelsen\""));
	out1(sl("decision", "revoke", d1, NULL));
	r = sl("decision", "list", "--status", "revoked", "--json", NULL);
	assert_non_null(strstr(r->out, d1));
	assert_null(strstr(r->out, d2));
	/* History: every step, oldest first, old text kept. */
	r = sl("history", d1, "--json", NULL);
	assert_int_equal(r->status, 0);
	const char *steps[] = { "decision.created", "decision.adopted",
		"decision.amended", "decision.revoked" };
	const char *at = r->out;

	for (size_t i = 0; i < 4; i++) {
		const char *p = strstr(at, steps[i]);

		if (p == NULL) {
			fail_msg("history lacks %s after: %s", steps[i], at);
			return;   /* cmocka 1.1 does not mark _fail noreturn */
		}
		at = p;
	}
	assert_non_null(strstr(r->out, "Fortsätta arbetet med ASF"));
	for (const char *k = "seq\0origin\0org\0author\0time\0type\0changes\0"
	    "verified\0"; *k; k += strlen(k) + 1) {
		char key[32];

		snprintf(key, sizeof key, "\"%s\": ", k);
		assert_non_null(strstr(r->out, key));
	}
	assert_non_null(strstr(r->out, "\"org\": \"Samordningsförbundet\""));
	/* As of a time before the decision existed, and after. */
	r = sl("decision", "show", d1, "--as-of", "2019-01-01", NULL);
	refused(r, 1, "did not exist yet");
	r = sl("decision", "show", d1, "--as-of", "2099-01-01", "--json", NULL);
	assert_non_null(strstr(r->out, "\"status\": \"revoked\""));

	/* The control socket is the owner's alone by default. */
	char sock[600];
	struct stat st;

	snprintf(sock, sizeof sock, "%s/%s", dir, SL_CTL_SOCKET);
	assert_int_equal(stat(sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Node commands. */
	r = sl("status", "--json", NULL);
	for (const char *k = "node_id\0org\0events\0peers\0"; *k;
	    k += strlen(k) + 1) {
		char key[32];

		snprintf(key, sizeof key, "\"%s\": ", k);
		assert_non_null(strstr(r->out, key));
	}
	r = sl("log", "--json", NULL);
	assert_int_equal(r->status, 0);
	assert_true(r->out[0] == '[');
	assert_non_null(strstr(r->out, "\"type\": \"org.created\""));
	r = sl("verify", NULL);
	assert_int_equal(r->status, 0);
	assert_non_null(strstr(r->out, "ok:"));
	r = sl("rebuild", NULL);
	assert_int_equal(r->status, 0);
	r = sl("decision", "show", d1, "--json", NULL);
	assert_non_null(strstr(r->out, "\"status\": \"revoked\""));
}

static void
test_refusals(void **state)
{
	(void)state;
	char *o = out1(sl("org", "add", "--name", "Coompanion", "--kind",
	    "partner", NULL));
	char *c = out1(sl("contact", "add", "--name", "Eva", NULL));
	char *d = out1(sl("decision", "add", "--title", "T", "--text", "X", NULL));
	char longname[300];
	long before = event_count();

	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	refused(sl("org", "add", "--name", "", NULL), 1, "must not be empty");
	refused(sl("org", "add", "--name", longname, NULL), 1, "too long");
	refused(sl("org", "add", "--name", "A", "--kind", "bank", NULL), 1,
	    "unknown kind");
	refused(sl("meeting", "add", "--title", "M", "--date", "2019-13-45",
	    NULL), 1, "invalid date \"2019-13-45\"");
	refused(sl("meeting", "add", "--title", "M", "--date", "2019-02-29",
	    NULL), 1, "invalid date");
	refused(sl("meeting", "list", "--from", "yesterday", NULL), 1,
	    "invalid date");
	refused(sl("decision", "list", "--status", "pending", NULL), 1,
	    "unknown status");
	refused(sl("org", "list", "--kind", "bank", NULL), 1, "unknown kind");
	refused(sl("contact", "add", "--name", "N", "--email", "nope", NULL), 1,
	    "invalid email");
	/* References must name a record of the right kind. */
	refused(sl("contact", "add", "--name", "N", "--org", c, NULL), 1,
	    "no org with id");
	refused(sl("meeting", "add", "--title", "M", "--date", "2019-01-01",
	    "--with", o, NULL), 1, "no contact with id");
	refused(sl("decision", "add", "--title", "T", "--text", "X",
	    "--meeting", d, NULL), 1, "no meeting with id");
	refused(sl("contact", "show", "zzzzzz", NULL), 1, "no contact with id");
	/* Not an id: a name, and nobody has it. */
	refused(sl("contact", "show", "ab", NULL), 1,
	    "no contact with id or name \"ab\"");
	refused(sl("contact", "show", "abcl", NULL), 1,
	    "no contact with id or name \"abcl\"");
	refused(sl("org", "show", c, NULL), 1, "no org with id");
	/* Lifecycle. */
	refused(sl("decision", "revoke", d, NULL), 1, "cannot be revoked");
	refused(sl("decision", "amend", d, "--text", "Y", NULL), 1,
	    "cannot be amended");
	out1(sl("decision", "reject", d, NULL));
	refused(sl("decision", "adopt", d, NULL), 1, "cannot be adopted");
	before++;
	refused(sl("contact", "update", c, NULL), 2, "needs at least one");
	/* Nothing above was written. */
	assert_int_equal(event_count(), before);
	/* Wrong usage: exit 2 before reaching the daemon. */
	refused(sl("org", "add", NULL), 2, "needs --name");
	refused(sl("org", "frob", NULL), 2, "unknown command 'org frob'");
	refused(sl("org", "list", "--colour", "red", NULL), 2, "unknown flag");
	refused(sl("org", "show", NULL), 2, "needs ID");
	refused(sl("decision", "amend", d, NULL), 2, "needs --text");
	refused(sl("org", "add", "--name", "A", "--name", "B", NULL), 2,
	    "given twice");
}

static void
test_not_running(void **state)
{
	char want[1024];

	(void)state;
	assert_int_equal(daemon_stop(SIGTERM), 0);
	daemon_pid = 0;
	struct tu_run *r = sl("org", "list", NULL);

	snprintf(want, sizeof want, "samlog: cannot reach samlogd at "
	    "%s/samlogd.sock (is it running? start it with: samlogd -d %s)\n",
	    dir, dir);
	assert_int_equal(r->status, 1);
	assert_string_equal(r->err, want);
	daemon_start();
}

static int
raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	char path[600];

	snprintf(path, sizeof path, "%s/%s", dir, SL_CTL_SOCKET);
	assert_true(strlen(path) < sizeof sa.sun_path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* True once the daemon has closed fd (read returns 0 or an error). */
static bool
closed_by_daemon(int fd)
{
	char buf[4096];
	struct timeval tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);

		if (n <= 0)
			return n == 0 || errno == ECONNRESET;
	}
}

static void
test_hostile_frames(void **state)
{
	uint8_t hdr[SL_FRAME_HDR];
	struct sl_frame_hdr h = { SL_CTL_VERSION, SL_MSG_REQUEST, 0, 1, 0 };
	int held = raw_connect(); /* an idle client stays connected */

	(void)state;
	/* Garbage. */
	int fd = raw_connect();

	assert_int_equal(write(fd, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	assert_true(closed_by_daemon(fd));
	close(fd);
	/* A frame one byte over the cap. */
	fd = raw_connect();
	h.len = SL_CTL_FRAME_MAX + 1;
	sl_frame_hdr_encode(hdr, &h);
	assert_int_equal(write(fd, hdr, sizeof hdr), (ssize_t)sizeof hdr);
	assert_true(closed_by_daemon(fd));
	close(fd);
	/* A well-framed body that is not a request. */
	fd = raw_connect();
	h.len = 3;
	sl_frame_hdr_encode(hdr, &h);
	assert_int_equal(write(fd, hdr, sizeof hdr), (ssize_t)sizeof hdr);
	assert_int_equal(write(fd, "\x93\x01\x02", 3), 3);
	char buf[512];
	ssize_t n = read(fd, buf, sizeof buf); /* END + RESULT, not a crash */

	assert_true(n > 0);
	close(fd);
	/* A truncated frame, then the client goes away. */
	fd = raw_connect();
	h.len = 100;
	sl_frame_hdr_encode(hdr, &h);
	assert_int_equal(write(fd, hdr, sizeof hdr), (ssize_t)sizeof hdr);
	assert_int_equal(write(fd, "\x82", 1), 1);
	close(fd);
	/* Everyone else is still served. */
	struct tu_run *r = sl("status", NULL);

	assert_int_equal(r->status, 0);
	close(held);
}

/* Reads exactly n bytes from fd into buf; false at an error or the end. */
static bool
read_n(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* Sends one request {"cmd": cmd, "args": {"fields": fields[0..n)}} (of
 * lengths lens, or NUL-terminated when lens is NULL) on
 * a raw connection; the RECORD replies' maps into recs and the bytes they
 * point into into bodies (the caller frees both), their count into
 * *nrecs; the RESULT's code, and its message into msg. */
static uint64_t
raw_list(const char *cmd, const char *const *fields, const size_t *lens,
    size_t n, msgpack_unpacked *recs, char **bodies, size_t cap,
    size_t *nrecs, char *msg, size_t mlen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint8_t hdr[SL_FRAME_HDR];
	struct sl_frame_hdr h = { SL_CTL_VERSION, SL_MSG_REQUEST, 0, 1, 0 };
	uint64_t code = UINT64_MAX;
	int fd = raw_connect();

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	sl_pack_cstr(&pk, "cmd");
	sl_pack_cstr(&pk, cmd);
	sl_pack_cstr(&pk, "args");
	msgpack_pack_map(&pk, 1);
	sl_pack_cstr(&pk, "fields");
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_str_with_body(&pk, fields[i], lens != NULL ?
		    lens[i] : strlen(fields[i]));
	h.len = (uint32_t)sb.size;
	sl_frame_hdr_encode(hdr, &h);
	assert_int_equal(write(fd, hdr, sizeof hdr), (ssize_t)sizeof hdr);
	assert_int_equal(write(fd, sb.data, sb.size), (ssize_t)sb.size);
	msgpack_sbuffer_destroy(&sb);
	*nrecs = 0;
	msg[0] = '\0';
	while (code == UINT64_MAX) {
		struct sl_frame_hdr rh;
		char *body;

		assert_true(read_n(fd, hdr, sizeof hdr));
		assert_int_equal(sl_frame_hdr_decode(&rh, hdr, SL_CTL_FRAME_MAX),
		    SL_OK);
		assert_non_null(body = malloc(rh.len + 1));
		assert_true(read_n(fd, body, rh.len));
		msgpack_unpacked u;

		msgpack_unpacked_init(&u);
		assert_int_equal(msgpack_unpack_next(&u, body, rh.len, NULL),
		    MSGPACK_UNPACK_SUCCESS);
		/* The objects point into body. */
		if (rh.type == SL_MSG_RECORD && *nrecs < cap) {
			bodies[*nrecs] = body;
			recs[(*nrecs)++] = u;
			continue;
		}
		for (uint32_t i = 0; rh.type == SL_MSG_RESULT &&
		    i < u.data.via.map.size; i++) {
			const msgpack_object_kv *kv = &u.data.via.map.ptr[i];

			if (kv->key.via.str.size == 4 &&
			    memcmp(kv->key.via.str.ptr, "code", 4) == 0)
				code = kv->val.via.u64;
			if (kv->key.via.str.size == 7 &&
			    memcmp(kv->key.via.str.ptr, "message", 7) == 0)
				snprintf(msg, mlen, "%.*s",
				    (int)kv->val.via.str.size,
				    kv->val.via.str.ptr);
		}
		if (rh.type == SL_MSG_RESULT && code == UINT64_MAX)
			fail_msg("a RESULT without its code");
		msgpack_unpacked_destroy(&u);
		free(body);
	}
	close(fd);
	return code;
}

/* The string under key in map o, or NULL. */
static const msgpack_object *
map_val(const msgpack_object *o, const char *key)
{
	for (uint32_t i = 0; i < o->via.map.size; i++)
		if (o->via.map.ptr[i].key.via.str.size == strlen(key) &&
		    memcmp(o->via.map.ptr[i].key.via.str.ptr, key,
		    strlen(key)) == 0)
			return &o->via.map.ptr[i].val;
	return NULL;
}

/*
 * A list asked for some fields (as samlog's tables ask) carries the id,
 * the conflict mark and those fields, each reference with the names it
 * names, and nothing else; a field the kind does not have is a usage
 * error, with no record sent.  The tables look the same (the golden
 * tests).
 */
static void
test_list_fields(void **state)
{
	static const char *const shown[] = { "name", "org", "municipality" };
	static const char *const want[] = { "id", "conflict", "name", "org",
		"org_name", "municipality" };
	msgpack_unpacked recs[4];
	char *bodies[4], msg[256];
	size_t n;

	(void)state;
	char *org = keep(out1(sl("org", "add", "--name", "Navet", "--kind",
	    "municipality", NULL)));
	char *c = keep(out1(sl("contact", "add", "--name", "Lisa Berg",
	    "--org", org, "--role", "samordnare", "--municipality",
	    "Vaxholm", "--email", "lisa@example.se", NULL)));

	assert_int_equal(raw_list("contact.list", shown, NULL, 3, recs, bodies, 4, &n, msg,
	    sizeof msg), SL_OK);
	assert_int_equal(n, 1);
	const msgpack_object *o = &recs[0].data;

	assert_int_equal(o->via.map.size, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (map_val(o, want[i]) == NULL)
			fail_msg("the reply has no \"%s\"", want[i]);
	const msgpack_object *v = map_val(o, "id");

	assert_int_equal(v->via.str.size, strlen(c));
	assert_memory_equal(v->via.str.ptr, c, strlen(c));
	v = map_val(o, "org_name");
	assert_int_equal(v->via.str.size, 5);
	assert_memory_equal(v->via.str.ptr, "Navet", 5);
	v = map_val(o, "conflict");
	assert_int_equal(v->type, MSGPACK_OBJECT_BOOLEAN);
	assert_false(v->via.boolean);
	msgpack_unpacked_destroy(&recs[0]);
	free(bodies[0]);
	/* A field contacts do not have. */
	static const char *const bad[] = { "name", "salary" };

	assert_int_equal(raw_list("contact.list", bad, NULL, 2, recs, bodies, 4, &n, msg,
	    sizeof msg), SL_EUSAGE);
	assert_int_equal(n, 0);
	assert_non_null(strstr(msg, "\"salary\""));
	/* A name with a NUL byte in it is said to be so, not cut short. */
	static const char *const nul[] = { "name\0x" };
	static const size_t nul_len[] = { 6 };

	assert_int_equal(raw_list("contact.list", nul, nul_len, 1, recs,
	    bodies, 4, &n, msg, sizeof msg), SL_EUSAGE);
	assert_int_equal(n, 0);
	assert_non_null(strstr(msg, "NUL"));
	/* None at all. */
	assert_int_equal(raw_list("contact.list", bad, NULL, 0, recs, bodies, 4, &n, msg,
	    sizeof msg), SL_EUSAGE);
	assert_int_equal(n, 0);
	/* The table shows what it showed; --json still every key. */
	struct tu_run *r = sl("contact", "list", NULL);

	assert_int_equal(r->status, 0);
	assert_non_null(strstr(r->out, "Lisa Berg"));
	assert_non_null(strstr(r->out, "Navet"));
	assert_non_null(strstr(r->out, "lisa@example.se"));
	r = sl("contact", "list", "--json", NULL);
	assert_non_null(strstr(r->out, "\"created_on\""));
	assert_non_null(strstr(r->out, "\"label\""));
}

/* Writes one reply frame of type `type` with body sb, and empties sb. */
static void
old_reply(int fd, uint8_t type, msgpack_sbuffer *sb)
{
	uint8_t hdr[SL_FRAME_HDR];
	struct sl_frame_hdr h = { SL_CTL_VERSION, type, 0, 1,
		(uint32_t)sb->size };

	sl_frame_hdr_encode(hdr, &h);
	if (write(fd, hdr, sizeof hdr) != (ssize_t)sizeof hdr ||
	    write(fd, sb->data, sb->size) != (ssize_t)sb->size)
		_exit(100);
	msgpack_sbuffer_clear(sb);
}

/* A RESULT body: {"code": code, "message": msg}. */
static void
old_result(msgpack_packer *pk, unsigned code, const char *msg)
{
	msgpack_pack_map(pk, 2);
	sl_pack_cstr(pk, "code");
	msgpack_pack_unsigned_int(pk, code);
	sl_pack_cstr(pk, "message");
	sl_pack_cstr(pk, msg);
}

/*
 * A samlogd from before "fields", as far as a list goes: it answers a
 * request that carries the argument with the usage error that samlogd
 * gave for any argument it did not know (its words), and one without
 * with one contact.  (The older daemon itself is not built here; this
 * speaks its part of the control protocol.)  Exits with the number of
 * requests it answered.
 */
static void
old_daemon(int lfd)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int served = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	alarm(20);
	for (int fd; served < 3 && (fd = accept(lfd, NULL, NULL)) >= 0;
	    served++) {
		uint8_t hdr[SL_FRAME_HDR], body[4096];
		struct sl_frame_hdr h;

		if (!read_n(fd, hdr, sizeof hdr))
			_exit(101);
		if (sl_frame_hdr_decode(&h, hdr, sizeof body) != SL_OK)
			_exit(102);
		if (!read_n(fd, body, h.len))
			_exit(103);
		if (memmem(body, h.len, "fields", 6) != NULL) {
			old_result(&pk, SL_EUSAGE, "unknown flag '--fields' "
			    "for contact.list");
			old_reply(fd, SL_MSG_RESULT, &sb);
			close(fd);
			continue;
		}
		msgpack_pack_map(&pk, 3);
		sl_pack_cstr(&pk, "id");
		sl_pack_cstr(&pk, "aaaaaaaaaaaaaaaaaaaaaaaaaa");
		sl_pack_cstr(&pk, "name");
		sl_pack_cstr(&pk, "Lisa Berg");
		sl_pack_cstr(&pk, "conflict");
		msgpack_pack_false(&pk);
		old_reply(fd, SL_MSG_RECORD, &sb);
		msgpack_pack_nil(&pk);
		old_reply(fd, SL_MSG_END, &sb);
		old_result(&pk, SL_OK, "");
		old_reply(fd, SL_MSG_RESULT, &sb);
		close(fd);
		_exit(served + 1);
	}
	_exit(104);
}

/* A new samlog against a samlogd from before "fields" (one left running
 * after an upgrade, until it is restarted): the table is asked for again
 * with whole records, and shows. */
static void
test_list_fields_old_daemon(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char sock[600], env_sock[700], env_dir[700];
	struct tu_run r;
	int lfd, st;
	pid_t kid;

	(void)state;
	snprintf(sock, sizeof sock, "%s/old.sock", tmp);
	assert_true(strlen(sock) < sizeof sa.sun_path);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	assert_true((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 4), 0);
	if ((kid = fork()) == 0)
		old_daemon(lfd);
	close(lfd);
	snprintf(env_sock, sizeof env_sock, "SAMLOG_SOCKET=%s", sock);
	snprintf(env_dir, sizeof env_dir, "SAMLOG_DIR=%s", dir);
	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlog"),
	    "contact", "list", NULL }, (char *const[]){ env_sock, env_dir,
	    NULL }), 0);
	assert_int_equal(waitpid(kid, &st, 0), kid);
	unlink(sock);
	if (r.status != 0 || strstr(r.out, "Lisa Berg") == NULL)
		fail_msg("against an older samlogd: exit %d, out=[%s] "
		    "err=[%s]", r.status, r.out, r.err);
	/* Asked twice: with fields, then without. */
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
}

static void
test_crash_keeps_acknowledged(void **state)
{
	char ids[40][SL_ID_TEXT + 1];
	char name[32];

	(void)state;
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof name, "Företag %d", i);
		snprintf(ids[i], sizeof ids[i], "%s", out1(sl("org", "add",
		    "--name", name, "--kind", "asf", NULL)));
	}
	assert_int_equal(daemon_stop(SIGKILL), 128 + SIGKILL);
	daemon_start();
	for (int i = 0; i < 40; i++) {
		struct tu_run *r = sl("org", "show", ids[i], NULL);

		if (r->status != 0)
			fail_msg("acknowledged org %s lost: %s", ids[i], r->err);
	}
	assert_int_equal(sl("verify", NULL)->status, 0);
}

static void
test_concurrent_clients(void **state)
{
	enum { CLIENTS = 6, EACH = 15 };
	pid_t kids[CLIENTS];

	(void)state;
	long before = event_count();

	for (int c = 0; c < CLIENTS; c++) {
		if ((kids[c] = fork()) == 0) {
			for (int i = 0; i < EACH; i++) {
				char name[32];
				struct tu_run r;

				snprintf(name, sizeof name, "K%d-%d", c, i);
				if (tu_run(&r, (char *const[]){
				    (char *)tu_prog("samlog"), "-d", dir, "contact",
				    "add", "--name", name, NULL }, NULL) != 0 ||
				    r.status != 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int c = 0; c < CLIENTS; c++) {
		int st;

		assert_int_equal(waitpid(kids[c], &st, 0), kids[c]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(event_count(), before + (long)CLIENTS * EACH);
	struct tu_run *r = sl("contact", "list", "--json", NULL);

	assert_non_null(strstr(r->out, "\"K5-14\""));
	assert_non_null(strstr(r->out, "\"K0-0\""));
}

static char *
write_file(const char *name, const char *text)
{
	char *path;
	FILE *f;

	if (asprintf(&path, "%s/%s", tmp, name) < 0 ||
	    (f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	return path;
}

/* n contacts (12,000: about 1.3 MB) in tmp/big.csv, and a bad last row
 * when bad is true. */
static char *
big_csv_n(int n, bool bad)
{
	char *big;
	FILE *f;

	if (asprintf(&big, "%s/big.csv", tmp) < 0)
		abort();
	tu_contacts_csv(big, n);
	if (bad) {
		if ((f = fopen(big, "a")) == NULL)
			abort();
		fputs("Sista,,inte-en-adress,\n", f);
		fclose(f);
	}
	return big;
}

static char *
big_csv(bool bad)
{
	return big_csv_n(12000, bad);
}

static void
test_import(void **state)
{
	struct tu_run *r;
	char *p;
	long before;

	(void)state;
	/* CSV: a header of the schema's field names, quoting, lists by ';'. */
	p = write_file("orgs.csv", "\xef\xbb\xbfname,kind,municipality,sector,iop\r\n"
	    "\"Värmekällan, Märsta\",asf,Sigtuna,\"café; second hand\",yes\r\n"
	    "Kom i kapp,asf,Upplands Väsby,,no\r\n"
	    "\"Vi \"\"Tillsammans\"\"\nAB\",company,Sollentuna,,\r\n");
	r = sl("import", p, "--kind", "org", NULL);
	if (r->status != 0)
		fail_msg("%s", r->err);
	assert_int_equal(strncmp(r->out, "imported 3 records from ", 24), 0);
	free(p);
	r = sl("org", "list", "--kind", "asf", "--json", NULL);
	assert_non_null(strstr(r->out, "\"Värmekällan, Märsta\""));
	assert_non_null(strstr(r->out, "[\"café\", \"second hand\"]"));
	/* A table cell is one line: its line break shows as \n. */
	assert_non_null(strstr(sl("org", "list", NULL)->out,
	    "Vi \"Tillsammans\"\\nAB"));
	/* JSON Lines: a kind per line, escapes, arrays, a decision's status. */
	char *org = out1(sl("org", "list", "--municipality", "Sigtuna",
	    "--json", NULL)) + 9;
	char line[2048];

	org[SL_ID_TEXT] = '\0';
	snprintf(line, sizeof line,
	    "{\"kind\": \"contact\", \"name\": \"\\u00c5sa \\\"Lill\\\" Ek\", "
	    "\"org\": \"%s\", \"role\": \"ordf\u00f6rande\"}\n"
	    "\n"
	    "{\"record\": \"meeting\", \"kind\": \"meeting\", \"title\": "
	    "\"Uppstart\", \"date\": \"2019-11-14\", \"orgs\": [\"%s\"]}\n"
	    "{\"kind\": \"decision\", \"title\": \"Hyra\", \"text\": "
	    "\"Vi hyr.\", \"status\": \"adopted\", \"body\": null}\n", org, org);
	p = write_file("recs.jsonl", line);
	r = sl("import", p, NULL);
	if (r->status != 0)
		fail_msg("%s", r->err);
	free(p);
	assert_non_null(strstr(sl("contact", "list", "--json", NULL)->out,
	    "\"Åsa \\\"Lill\\\" Ek\""));
	assert_non_null(strstr(sl("decision", "list", "--status", "adopted",
	    NULL)->out, "Hyra"));
	assert_int_equal(tu_lines(sl("meeting", "list", "--json",
	    NULL)->out), 1);
	/* Bad rows: each named by its line, and nothing is written. */
	before = event_count();
	p = write_file("bad.csv", "name,kind,municipality\n"
	    "Bra,asf,Sigtuna\n"
	    "Dålig,bogus,Sigtuna\n"
	    ",asf,Sigtuna\n"
	    "Också bra,other,Knivsta\n");
	r = sl("import", p, "--kind", "org", NULL);
	assert_int_equal(r->status, 1);
	assert_non_null(strstr(r->err, "bad.csv:3: unknown kind \"bogus\""));
	assert_non_null(strstr(r->err, "bad.csv:4: "));
	assert_non_null(strstr(r->err, "nothing imported"));
	assert_string_equal(r->out, "");
	assert_int_equal(event_count(), before);
	free(p);
	/* Syntax errors are found before the daemon is asked. */
	p = write_file("broken.jsonl", "{\"kind\": \"org\", \"name\": \"A\"}\n"
	    "{\"kind\": \"org\", \"name\": \"B\"\n");
	r = sl("import", p, NULL);
	assert_int_equal(r->status, 1);
	assert_non_null(strstr(r->err, "broken.jsonl:2: not valid JSON"));
	free(p);
	p = write_file("fields.csv", "name,colour\nA,red\n");
	r = sl("import", p, "--kind", "org", NULL);
	assert_int_equal(r->status, 1);
	assert_non_null(strstr(r->err, "fields.csv:1: unknown column "
	    "\"colour\""));
	free(p);
	assert_int_equal(event_count(), before);
	r = sl("import", "/nonexistent.csv", "--kind", "org", NULL);
	assert_int_equal(r->status, 1);
	r = sl("import", "file.txt", NULL);
	assert_int_equal(r->status, 2);
	r = sl("import", NULL);
	assert_int_equal(r->status, 2);
	/* A large file goes in several chunks and still in one commit: a bad
	 * last row keeps all 12,000 others out. */
	char *big = big_csv(true);

	r = sl("import", big, "--kind", "contact", NULL);
	assert_int_equal(r->status, 1);
	assert_non_null(strstr(r->err, "big.csv:12002: "));
	assert_int_equal(event_count(), before);
	/* Without the bad row: all of them. */
	free(big);
	big = big_csv(false);
	r = sl("import", big, "--kind", "contact", NULL);
	if (r->status != 0)
		fail_msg("%s", r->err);
	assert_int_equal(event_count(), before + 12000);
	free(big);
}

/*
 * An import is one commit, however large.  LMDB keeps each page a write
 * transaction dirtied for the next one and frees none of them while
 * the store is open, so after 30,000 contacts the daemon held about
 * 45 MiB more, for good (100,000: 147 MiB).  Idle, it gives that back,
 * and goes on as before: the records are all there, new writes work,
 * and so does a restart.
 */
static void
test_memory_after_import(void **state)
{
	struct tu_run *r;
	long before, anon;
	char *big;

	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	skip(); /* ASan's shadow and quarantine are most of the memory */
#endif
	before = event_count();
	big = big_csv_n(30000, false);
	r = sl("import", big, "--kind", "contact", NULL);
	if (r->status != 0)
		fail_msg("%s", r->err);
	free(big);
	anon = tu_idle_own_kib(daemon_pid, 16 * 1024);
	print_message("samlogd's own memory idle after importing 30,000 "
	    "contacts: %ld KiB\n", anon);
	assert_true(anon > 0 && anon <= 16 * 1024);
	assert_int_equal(event_count(), before + 30000);
	assert_non_null(strstr(sl("contact", "list", "--municipality",
	    "Upplands Väsby", NULL)->out, "Kontakt nummer 00000 "));
	r = sl("contact", "add", "--name", "Efter importen", NULL);
	assert_int_equal(r->status, 0);
	assert_int_equal(daemon_stop(SIGTERM), 0);
	daemon_start();
	assert_int_equal(event_count(), before + 30001);
	r = sl("verify", NULL);
	if (r->status != 0)
		fail_msg("%s", r->err);
}

/* Starts a second daemon on node directory d (made here). */
static pid_t
other_node(const char *d)
{
	struct tu_run r;
	pid_t pid;
	char sock[600];

	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlog"),
	    "-d", (char *)d, "init", "--org", "Ny nod", NULL }, NULL), 0);
	assert_int_equal(r.status, 0);
	if ((pid = fork()) == 0) {
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(126);
		execl(tu_prog("samlogd"), "samlogd", "-d", d, "--foreground",
		    (char *)NULL);
		_exit(127);
	}
	snprintf(sock, sizeof sock, "%s/%s", d, SL_CTL_SOCKET);
	for (int i = 0; i < 1000 && access(sock, F_OK) != 0; i++)
		usleep(10000);
	usleep(50000);
	return pid;
}

/* Runs samlog -d d ARGS and returns stdout with each line's first
 * `skip` characters (a table's id column) cut. */
static char *
table_without_ids(const char *d, const char *kind, size_t skip)
{
	struct tu_run r;
	char *out, *o;

	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlog"),
	    "-d", (char *)d, (char *)kind, "list", NULL }, NULL), 0);
	assert_int_equal(r.status, 0);
	o = out = calloc(1, strlen(r.out) + 1);
	for (char *l = r.out; *l;) {
		size_t n = strcspn(l, "\n");

		if (n > skip) {
			memcpy(o, l + skip, n - skip);
			o += n - skip;
		}
		*o++ = '\n';
		l += n + (l[n] == '\n');
	}
	return out;
}

static void
test_export_roundtrip(void **state)
{
	static const char *const kinds[] = { "org", "contact", "meeting",
		"decision" };
	struct tu_run *r;

	char a[64], b[64], c[64], m[64];

	(void)state;
	snprintf(a, sizeof a, "%s", out1(sl("org", "add", "--name",
	    "Värmekällan", "--kind", "asf", "--municipality", "Sigtuna",
	    "--sector", "café", "--sector", "second hand, begagnat", "--iop",
	    NULL)));
	snprintf(b, sizeof b, "%s", out1(sl("org", "add", "--name",
	    "Sigtuna kommun", "--kind", "municipality", NULL)));
	snprintf(c, sizeof c, "%s", out1(sl("contact", "add", "--name",
	    "Åsa \"Lill\" Ek", "--org", a, "--role", "ordförande", "--email",
	    "asa@example.se", NULL)));
	snprintf(m, sizeof m, "%s", out1(sl("meeting", "add", "--title",
	    "Uppstart, del 1", "--date", "2019-11-14", "--with", c, "--org", a,
	    "--org", b, "--notes", "rad ett\nrad två", NULL)));
	const char *st[] = { "proposed", "adopted", "amended", "revoked",
		"rejected" };

	out1(sl("org", "add", "--name", "Styrelsen", NULL));
	for (int i = 0; i < 5; i++) {
		char title[32], d[64];

		snprintf(title, sizeof title, "Beslut %d (%s)", i, st[i]);
		snprintf(d, sizeof d, "%s", out1(sl("decision", "add", "--title",
		    title, "--text", "Texten", "--meeting", m, "--body",
		    "styrelsen", NULL)));
		if (i >= 1 && i <= 3)
			out1(sl("decision", "adopt", d, NULL));
		if (i == 2)
			out1(sl("decision", "amend", d, "--text", "Ny text", NULL));
		if (i == 3)
			out1(sl("decision", "revoke", d, NULL));
		if (i == 4)
			out1(sl("decision", "reject", d, NULL));
	}
	for (int fmt = 0; fmt < 2; fmt++) {
		const char *ext = fmt ? "csv" : "jsonl";
		char *file, *d2;
		FILE *f;
		pid_t pid;
		int status;

		r = sl("export", "--format", ext, NULL);
		assert_int_equal(r->status, 0);
		if (asprintf(&file, "%s/all.%s", tmp, ext) < 0 ||
		    asprintf(&d2, "%s/copy-%s", tmp, ext) < 0 ||
		    (f = fopen(file, "w")) == NULL)
			abort();
		fputs(r->out, f);
		fclose(f);
		pid = other_node(d2);
		struct tu_run ir;

		assert_int_equal(tu_run(&ir, (char *const[]){
		    (char *)tu_prog("samlog"), "-d", d2, "import", file, NULL },
		    NULL), 0);
		if (ir.status != 0)
			fail_msg("import of the %s export: %s", ext, ir.err);
		/* The same lists, but for the new ids. */
		for (int k = 0; k < 4; k++) {
			char *x = table_without_ids(dir, kinds[k], 12);
			char *y = table_without_ids(d2, kinds[k], 12);

			if (strcmp(x, y) != 0)
				fail_msg("%s list differs after a %s round trip:"
				    "\n%s\n--\n%s", kinds[k], ext, x, y);
			free(x);
			free(y);
		}
		/* References point at the new records. */
		assert_int_equal(tu_run(&ir, (char *const[]){
		    (char *)tu_prog("samlog"), "-d", d2, "meeting", "list",
		    "--json", NULL }, NULL), 0);
		const char *w = strstr(ir.out, "\"with\": [\"");

		assert_non_null(w);
		char cid[SL_ID_TEXT + 1];

		snprintf(cid, sizeof cid, "%.26s", w + 10);
		assert_int_equal(tu_run(&ir, (char *const[]){
		    (char *)tu_prog("samlog"), "-d", d2, "contact", "show", cid,
		    NULL }, NULL), 0);
		assert_int_equal(ir.status, 0);
		assert_non_null(strstr(ir.out, "Värmekällan"));
		kill(pid, SIGTERM);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		free(file);
		free(d2);
	}
	r = sl("export", "--format", "xml", NULL);
	assert_int_equal(r->status, 2);
	r = sl("export", "--kind", "person", NULL);
	assert_int_equal(r->status, 2);
	r = sl("export", "--kind", "org", NULL);
	assert_int_equal(tu_lines(r->out), 3); /* header, org, Styrelsen */
}

/* ---- audit bundles ------------------------------------------------------ */

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 22);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 22, f);
	assert_true(*len > 0 && *len < (1 << 22));
	fclose(f);
	return buf;
}

static char *
put_file(const char *name, const void *data, size_t len)
{
	char *path;
	FILE *f;

	if (asprintf(&path, "%s/%s", tmp, name) < 0 ||
	    (f = fopen(path, "wb")) == NULL)
		abort();
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

/* What a forger with the bundle and a key of their own could do to it:
 * pick the record holding `find` (then `shift` records on), and drop it,
 * or replace `from` by `to` in it, or flip its byte `flip` from the end;
 * then sign the statement anew with the new key, as "the exporter". */
struct forgery {
	const char *find;
	int shift;
	bool drop;
	const char *from, *to;
	size_t flip;
};

static char *
forge(const uint8_t *buf, size_t len, const char *name,
    const struct forgery *fg)
{
	msgpack_unpacked outer, st;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct sl_key key;
	uint8_t h[SL_HASH_LEN], sig[SL_SIG_LEN];
	int target = -1;

	msgpack_unpacked_init(&outer);
	msgpack_unpacked_init(&st);
	assert_int_equal(msgpack_unpack_next(&outer, (const char *)buf +
	    SL_AUDIT_MAGIC_LEN, len - SL_AUDIT_MAGIC_LEN, NULL),
	    MSGPACK_UNPACK_SUCCESS);
	const msgpack_object_bin *sb_in = &outer.data.via.array.ptr[0].via.bin;

	assert_int_equal(msgpack_unpack_next(&st, sb_in->ptr, sb_in->size,
	    NULL), MSGPACK_UNPACK_SUCCESS);
	const msgpack_object *f = st.data.via.array.ptr;
	const msgpack_object_array *recs = &f[7].via.array;

	for (uint32_t i = 0; i < recs->size && target < 0; i++)
		if (fg->find == NULL || memmem(recs->ptr[i].via.bin.ptr,
		    recs->ptr[i].via.bin.size, fg->find, strlen(fg->find)))
			target = (int)i + fg->shift;
	assert_true(target >= 0 && (uint32_t)target < recs->size);
	sl_key_generate(&key, NULL);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, st.data.via.array.size);
	for (int i = 0; i < 7; i++)
		if (i == 3)
			sl_pack_bin(&pk, key.pub, SL_KEY_LEN);
		else
			msgpack_pack_object(&pk, f[i]);
	msgpack_pack_array(&pk, recs->size - fg->drop);
	for (uint32_t i = 0; i < recs->size; i++) {
		uint8_t rec[SL_EVENT_MAX];
		uint32_t n = recs->ptr[i].via.bin.size;

		memcpy(rec, recs->ptr[i].via.bin.ptr, n);
		if ((int)i == target && fg->drop)
			continue;
		if ((int)i == target && fg->from != NULL) {
			uint8_t *at = memmem(rec, n, fg->from, strlen(fg->from));

			assert_non_null(at);
			assert_int_equal(strlen(fg->from), strlen(fg->to));
			memcpy(at, fg->to, strlen(fg->to));
		}
		if ((int)i == target && fg->flip > 0)
			rec[n - fg->flip] ^= 0x01;
		sl_pack_bin(&pk, rec, n);
	}
	for (uint32_t i = 8; i < st.data.via.array.size; i++)
		msgpack_pack_object(&pk, f[i]); /* the missing parents */
	/* The new statement, signed with the forger's key. */
	msgpack_sbuffer outbuf;
	msgpack_packer opk;

	sl_sha256(h, sb.data, sb.size);
	sl_sign_audit(sig, &key, h);
	msgpack_sbuffer_init(&outbuf);
	msgpack_sbuffer_write(&outbuf, SL_AUDIT_MAGIC, SL_AUDIT_MAGIC_LEN);
	msgpack_packer_init(&opk, &outbuf, msgpack_sbuffer_write);
	msgpack_pack_array(&opk, 2);
	sl_pack_bin(&opk, sb.data, sb.size);
	sl_pack_bin(&opk, sig, SL_SIG_LEN);
	char *path = put_file(name, outbuf.data, outbuf.size);

	msgpack_sbuffer_destroy(&outbuf);
	msgpack_sbuffer_destroy(&sb);
	msgpack_unpacked_destroy(&st);
	msgpack_unpacked_destroy(&outer);
	return path;
}

/* samlog audit --check path, offline: no daemon, a node directory that
 * does not exist, no HOME. */
static struct tu_run *
check_offline(const char *path, bool json)
{
	static struct tu_run r;

	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlog"),
	    "-d", "/nonexistent/node", "audit", "--check", (char *)path,
	    json ? "--json" : NULL, NULL }, (char *const[]){
	    "HOME=/nonexistent", "SAMLOG_SOCKET=/nonexistent.sock", NULL }), 0);
	return &r;
}

static void
test_audit(void **state)
{
	struct tu_run *r;
	char d[64], a[64], *bundle, *bundle_a, *p;
	size_t len;

	(void)state;
	/* A decision with a signed event per step. */
	out1(sl("org", "add", "--name", "Styrelsen", NULL));
	snprintf(d, sizeof d, "%s", out1(sl("decision", "add", "--title",
	    "Budget 2027", "--text", "Ram 1,2 Mkr", "--body", "styrelsen",
	    NULL)));
	out1(sl("contact", "add", "--name", "Annan Person", NULL));
	out1(sl("decision", "adopt", d, "--reason", "enhälligt", NULL));
	out1(sl("decision", "amend", d, "--text", "Ram 1,4 Mkr", NULL));
	/* And one written in a commit with others: only the commit's last
	 * event is signed, so its proof is the run up to there. */
	p = write_file("three.jsonl",
	    "{\"kind\": \"decision\", \"title\": \"Hemlig A\", \"text\": \"a\"}\n"
	    "{\"kind\": \"decision\", \"title\": \"Hemlig B\", \"text\": \"b\"}\n"
	    "{\"kind\": \"decision\", \"title\": \"Hemlig C\", \"text\": \"c\"}\n");
	r = sl("import", p, NULL);
	if (r->status != 0)
		fail_msg("%s", r->err);
	free(p);
	r = sl("decision", "list", "--json", NULL);
	p = strstr(r->out, "\"Hemlig A\"");
	assert_non_null(p);
	while (p > r->out && strncmp(p, "\"id\": \"", 7) != 0)
		p--;
	snprintf(a, sizeof a, "%.26s", p + 7);
	out1(sl("decision", "adopt", a, NULL));

	if (asprintf(&bundle, "%s/budget.audit", tmp) < 0 ||
	    asprintf(&bundle_a, "%s/a.audit", tmp) < 0)
		abort();
	r = sl("audit", d, "--out", bundle, "--json", NULL);
	if (r->status != 0)
		fail_msg("%s", r->err);
	assert_int_equal(tu_json_num(r->out, "events"), 3);
	/* A prefix of the id will do, as everywhere. */
	char pre[8];

	snprintf(pre, sizeof pre, "%.6s", a);
	r = sl("audit", pre, "--out", bundle_a, "--json", NULL);
	if (r->status != 0)
		fail_msg("%s", r->err);
	assert_int_equal(tu_json_num(r->out, "events"), 2);
	/* node.org, A, B, C (signed), the adoption. */
	assert_int_equal(tu_json_num(r->out, "chain_records"), 5);

	/* A record of 64 events, the size at which the daemon's list of
	 * wanted events grows while the origins' announcements are added. */
	char c[64], *many;

	snprintf(c, sizeof c, "%s", out1(sl("contact", "add", "--name",
	    "Ofta Ändrad", NULL)));
	for (int i = 1; i < 64; i++) {
		char role[32];

		snprintf(role, sizeof role, "roll %d", i);
		out1(sl("contact", "update", c, "--role", role, NULL));
	}
	if (asprintf(&many, "%s/many.audit", tmp) < 0)
		abort();
	r = sl("audit", c, "--out", many, "--json", NULL);
	if (r->status != 0)
		fail_msg("%s", r->err);
	assert_int_equal(tu_json_num(r->out, "events"), 64);
	r = sl("audit", "--check", many, "--json", NULL);
	assert_int_equal(r->status, 0);
	assert_non_null(strstr(r->out, "\"role\": \"roll 63\""));
	free(many);

	/* The records as the daemon shows them, before it goes away. */
	char *show = strdup(sl("decision", "show", d, "--json", NULL)->out);

	assert_int_equal(daemon_stop(SIGTERM), 0);
	daemon_pid = 0;

	/* Offline, from the file alone. */
	r = check_offline(bundle, true);
	if (r->status != 0)
		fail_msg("check failed: %s", r->err);
	assert_non_null(strstr(r->out, "\"verified\": true"));
	assert_non_null(strstr(r->out, "\"status\": \"amended\""));
	assert_non_null(strstr(r->out, "\"text\": \"Ram 1,4 Mkr\""));
	assert_non_null(strstr(show, "\"status\": \"amended\""));
	assert_non_null(strstr(show, "\"text\": \"Ram 1,4 Mkr\""));
	free(show);
	assert_non_null(strstr(r->out, "\"type\": \"decision.created\""));
	assert_non_null(strstr(r->out, "\"reason\": \"enhälligt\""));
	assert_non_null(strstr(r->out, "\"org\": \"Samordningsförbundet\""));
	assert_null(strstr(r->out, "Annan Person"));
	r = check_offline(bundle, false);
	assert_int_equal(r->status, 0);
	assert_non_null(strstr(r->out, "verified:"));
	assert_non_null(strstr(r->out, "decision.amended"));
	/* The other records in A's proof keep no body: not a byte of them. */
	uint8_t *buf = slurp(bundle_a, &len);

	assert_non_null(memmem(buf, len, "Hemlig A", 8));
	assert_null(memmem(buf, len, "Hemlig B", 8));
	assert_null(memmem(buf, len, "Hemlig C", 8));
	r = check_offline(bundle_a, true);
	if (r->status != 0)
		fail_msg("check failed: %s", r->err);
	assert_non_null(strstr(r->out, "\"status\": \"adopted\""));
	assert_int_equal(tu_json_num(r->out, "chain_records"), 5);
	/* B's header changed: C, which signs the run, no longer links. */
	p = forge(buf, len, "a-link.audit", &(struct forgery){ .find =
	    "Hemlig A", .shift = 1, .flip = 3 });
	refused(check_offline(p, false), 1, "does not link");
	free(p);
	/* A re-signed bundle with nothing changed still checks, under its
	 * new signer: the exporter is attribution, the events are proof. */
	p = forge(buf, len, "a-same.audit", &(struct forgery){ .find =
	    "Hemlig A" });
	r = check_offline(p, true);
	assert_int_equal(r->status, 0);
	free(p);
	free(buf);

	buf = slurp(bundle, &len);
	/* One changed byte anywhere: the exporter's signature fails. */
	buf[len / 2] ^= 0x20;
	p = put_file("flipped.audit", buf, len);
	refused(check_offline(p, false), 1, "was changed after it was made");
	buf[len / 2] ^= 0x20;
	free(p);
	p = put_file("short.audit", buf, len - 9);
	refused(check_offline(p, false), 1, "damaged");
	free(p);
	p = put_file("text.audit", "hello\n", 6);
	refused(check_offline(p, false), 1, "not a samlog audit bundle");
	free(p);
	/* Forgeries re-signed by the forger: the events' own proofs fail. */
	p = forge(buf, len, "reason.audit", &(struct forgery){ .find =
	    "enh", .from = "lligt", .to = "llig!" });
	refused(check_offline(p, false), 1, "payload does not match its hash");
	free(p);
	p = forge(buf, len, "type.audit", &(struct forgery){ .find =
	    "decision.amended", .from = "decision.amended", .to =
	    "decision.revoked" });
	refused(check_offline(p, false), 1, "signature does not verify");
	free(p);
	p = forge(buf, len, "drop.audit", &(struct forgery){ .find =
	    "decision.adopted", .drop = true });
	refused(check_offline(p, false), 1, "the history is incomplete");
	free(p);
	p = forge(buf, len, "creator.audit", &(struct forgery){ .find =
	    "decision.created", .drop = true });
	refused(check_offline(p, false), 1, "lacks the creating event");
	free(p);
	free(buf);

	/* Usage and missing things. */
	refused(check_offline("/nonexistent.audit", false), 1, "cannot read");
	r = sl("audit", "--check", bundle, d, NULL);
	assert_int_equal(r->status, 2);
	r = sl("audit", d, NULL);
	assert_int_equal(r->status, 2);
	r = sl("audit", d, "--out", "/nonexistent/x.audit", NULL);
	assert_int_equal(r->status, 1); /* no daemon */
	free(bundle);
	free(bundle_a);
}

/* Runs the bash completion function on words (after "samlog"); returns
 * the candidates, one per line. */
static const char *
complete(const char *words)
{
	static struct tu_run r;
	char script[4096], path[1200], bin[600];
	const char *prog = tu_prog("samlog");

	snprintf(bin, sizeof bin, "%.*s", (int)(strrchr(prog, '/') - prog),
	    prog);
	snprintf(path, sizeof path, "PATH=%s:/usr/bin:/bin", bin);
	snprintf(script, sizeof script, "source completion/samlog.bash; "
	    "COMP_WORDS=(samlog %s); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
	    "_samlog; for w in \"${COMPREPLY[@]}\"; do echo \"$w\"; done", words);
	assert_int_equal(tu_run(&r, (char *const[]){ "/bin/bash", "-c", script,
	    NULL }, (char *const[]){ path, NULL }), 0);
	assert_int_equal(r.status, 0);
	return r.out;
}

static void
test_completion(void **state)
{
	char words[800];

	(void)state;
	char *id = out1(sl("contact", "add", "--name", "Åsa Märsta", NULL));

	assert_non_null(strstr(complete("con"), "contact\n"));
	assert_string_equal(complete("contact u"), "update\n");
	assert_string_equal(complete("decision a"), "add\nadopt\namend\narchive\n");
	assert_string_equal(complete("contact add --na"), "--name\n");
	assert_string_equal(complete("org list --kind m"), "municipality\n");
	assert_string_equal(complete("decision list --status re"),
	    "rejected\nrevoked\nreferred\n");
	assert_string_equal(complete("help pe"), "peer\nperson\n");
	/* A FILE is a file name. */
	assert_non_null(strstr(complete("import completion/"),
	    "completion/samlog.bash\n"));
	assert_string_equal(complete("export --format c"), "csv\n");
	/* --kind of import and export: the record kinds. */
	assert_string_equal(complete("import x.csv --kind c"), "contact\n");
	assert_string_equal(complete("export --kind d"), "decision\n");
	assert_string_equal(complete("decision list --me"), "--meeting\n");
	assert_non_null(strstr(complete("audit --check completion/"),
	    "completion/samlog.bash\n"));
	/* Record ids come from the daemon, for the kind the command takes. */
	snprintf(words, sizeof words, "-d '%s' contact show ''", dir);
	assert_non_null(strstr(complete(words), id));
	snprintf(words, sizeof words, "-d '%s' org show ''", dir);
	assert_null(strstr(complete(words), id));
	snprintf(words, sizeof words, "-d '%s' meeting add --with ''", dir);
	assert_non_null(strstr(complete(words), id));
	/* No daemon: no ids and no noise, the rest still works. */
	assert_int_equal(daemon_stop(SIGTERM), 0);
	daemon_pid = 0;
	snprintf(words, sizeof words, "-d '%s' contact show ''", dir);
	assert_string_equal(complete(words), "");
	assert_string_equal(complete("pe"), "peer\nperson\n");
}

/*
 * The report's work, by name: an ASF mapped, an IOP with its period, a
 * meeting with attendees, a board decision with its date and minutes,
 * referred back and later adopted, an action from it, closed at a
 * meeting.  Then asked by effective date (--as-of), by record time
 * (--known-at), by word (find), by several values, and corrected.
 */
static void
test_report_work(void **state)
{
	struct tu_run *r;

	(void)state;
	char *asf = keep(out1(sl("org", "add", "--name", "Återbruket i Märsta",
	    "--kind", "asf", "--municipality", "Sigtuna", "--status", "active",
	    "--founded", "2015-03-01", NULL)));
	char *fb = keep(out1(sl("org", "add", "--name", "Samordningsförbundet",
	    "--kind", "authority", NULL)));
	/* Names wherever ids are asked, any case, Swedish letters too. */
	char *anna = keep(out1(sl("contact", "add", "--name", "Anna Berg", "--org",
	    "återbruket i MÄRSTA", "--role", "ordförande", NULL)));
	r = sl("contact", "show", "anna berg", "--json", NULL);
	assert_non_null(strstr(r->out, asf));
	assert_non_null(strstr(r->out, "\"org_name\": \"Återbruket i Märsta\""));
	/* The same name again in the same organisation: --force or not. */
	refused(sl("contact", "add", "--name", "ANNA BERG", "--org", asf, NULL),
	    1, anna);
	out1(sl("contact", "add", "--name", "Anna Berg", "--org", fb,
	    NULL));
	/* Now the name is ambiguous: the candidates are listed. */
	refused(sl("contact", "show", "Anna Berg", NULL), 1, "more than one");
	/* An IOP with its period. */
	char *iop = keep(out1(sl("agreement", "add", "--title", "IOP Återbruket",
	    "--type", "iop", "--party", "Återbruket i Märsta", "--party",
	    "Samordningsförbundet", "--start", "2019-01-01", "--end",
	    "2021-12-31", "--case", "KS 2018/123", NULL)));
	r = sl("agreement", "list", "--party", "Återbruket i Märsta", "--json",
	    NULL);
	assert_non_null(strstr(r->out, iop));
	/* A meeting held in 2019 with attendees, recorded today. */
	char *m = keep(out1(sl("meeting", "add", "--title", "Uppstart", "--date",
	    "2019-11-14", "--with", anna, "--org", "Återbruket i Märsta",
	    "--type", "check-in", "--count", "deltagare=12", NULL)));
	r = sl("meeting", "show", m, "--json", NULL);
	assert_non_null(strstr(r->out, "\"with_names\": [\"Anna Berg\"]"));
	assert_non_null(strstr(r->out, "\"on\": \"2019-11-14\""));
	/* A board decision: proposed, referred back, adopted, with dates. */
	char *d = keep(out1(sl("decision", "add", "--title", "Handlingsplan 2020",
	    "--text", "Styrelsen antar handlingsplanen.", "--body",
	    "Samordningsförbundet", "--meeting", "Uppstart", "--on",
	    "2019-10-01", NULL)));
	out1(sl("decision", "refer-back", "Handlingsplan 2020", "--on",
	    "2019-10-25", "--minutes", "Styrelsen 2019-10-25 § 12", NULL));
	out1(sl("decision", "adopt", d, "--on", "2019-12-06", "--minutes",
	    "Styrelsen 2019-12-06 § 4", NULL));
	r = sl("decision", "show", d, "--as-of", "2019-10-31", "--json", NULL);
	assert_non_null(strstr(r->out, "\"status\": \"referred\""));
	assert_non_null(strstr(r->out, "§ 12"));
	r = sl("decision", "show", d, "--as-of", "2019-12-31", "--json", NULL);
	assert_non_null(strstr(r->out, "\"status\": \"adopted\""));
	assert_non_null(strstr(r->out, "\"on\": \"2019-12-06\""));
	refused(sl("decision", "show", d, "--as-of", "2019-09-30", NULL), 1,
	    "did not exist yet");
	/* An ISO 8601 time with an offset is its own day. */
	r = sl("decision", "show", d, "--as-of", "2019-10-31T22:06:21+01:00",
	    "--json", NULL);
	assert_non_null(strstr(r->out, "\"status\": \"referred\""));
	/* --known-at: by record time, all of it was typed in just now. */
	r = sl("decision", "show", d, "--known-at", "2019-12-31", NULL);
	assert_int_equal(r->status, 1);
	/* In force: adopted and amended alike; several values at once. */
	r = sl("decision", "list", "--in-force", "--json", NULL);
	assert_non_null(strstr(r->out, d));
	r = sl("decision", "list", "--status", "adopted,amended", "--json",
	    NULL);
	assert_non_null(strstr(r->out, d));
	r = sl("decision", "list", "--from", "2019-12-01", "--to",
	    "2019-12-31", "--json", NULL);
	assert_non_null(strstr(r->out, d));
	r = sl("decision", "list", "--from", "2020-01-01", "--json", NULL);
	assert_string_equal(r->out, "[]\n");
	/* An action from it, owned by the ASF, closed at a meeting. */
	char *t = keep(out1(sl("action", "add", "--title", "Ta fram underlag",
	    "--owner", "Återbruket i Märsta", "--due", "2020-02-01", "--from",
	    "Handlingsplan 2020", "--on", "2019-12-06", NULL)));
	r = sl("action", "list", "--overdue", "--owner", asf, "--json", NULL);
	assert_non_null(strstr(r->out, t));
	out1(sl("action", "done", t, "--meeting", "Uppstart", "--on",
	    "2020-01-20", NULL));
	r = sl("action", "list", "--open", "--json", NULL);
	assert_string_equal(r->out, "[]\n");
	/* Closed at a meeting: on the meeting's day unless --on says. */
	char *t2 = keep(out1(sl("action", "add", "--title", "Boka lokal",
	    "--on", "2019-11-01", NULL)));
	out1(sl("action", "done", t2, "--meeting", "Uppstart", NULL));
	r = sl("action", "show", t2, "--json", NULL);
	assert_non_null(strstr(r->out, "\"on\": \"2019-11-14\""));
	/* A period that ends before it starts. */
	refused(sl("agreement", "update", iop, "--end", "2018-12-31", NULL),
	    1, "before it starts");
	/* Finding things: any case, Swedish letters, across kinds. */
	r = sl("find", "ÅTERBRUKET", "--json", NULL);
	assert_non_null(strstr(r->out, asf));
	assert_non_null(strstr(r->out, iop));
	r = sl("find", "handlingsplanen", "--json", NULL);
	assert_non_null(strstr(r->out, d));
	/* Everything about one organisation, by date. */
	r = sl("timeline", "Återbruket i Märsta", "--json", NULL);
	assert_non_null(strstr(r->out, m));
	assert_non_null(strstr(r->out, iop));
	assert_non_null(strstr(r->out, anna));
	(void)fb;
}

/* Corrections: update every kind, clear a field, archive and restore. */
static void
test_corrections(void **state)
{
	struct tu_run *r;

	(void)state;
	char *o = keep(out1(sl("org", "add", "--name", "Väsby Cykel", "--kind",
	    "asf", NULL)));
	char *dup = keep(out1(sl("org", "add", "--name", "Vasby Cykel", NULL)));
	out1(sl("org", "update", o, "--municipality", "Upplands Väsby",
	    "--status", "starting", NULL));
	char *c = keep(out1(sl("contact", "add", "--name", "Bo Ek", "--phone",
	    "070-1", "--org", o, "--on", "2019-01-01", NULL)));
	out1(sl("contact", "update", c, "--unset", "phone", "--left",
	    "2020-06-30", NULL));
	r = sl("contact", "show", c, "--json", NULL);
	assert_non_null(strstr(r->out, "\"phone\": null"));
	assert_non_null(strstr(r->out, "\"left\": \"2020-06-30\""));
	/* The day he left is when that change took effect. */
	r = sl("contact", "show", c, "--as-of", "2020-06-29", "--json", NULL);
	assert_non_null(strstr(r->out, "\"phone\": \"070-1\""));
	refused(sl("contact", "update", c, "--unset", "name", NULL), 1,
	    "every contact has a name");
	char *m = keep(out1(sl("meeting", "add", "--title", "Möte", "--date",
	    "2019-11-14", NULL)));
	out1(sl("meeting", "update", m, "--notes", "Protokoll skickat",
	    NULL));
	/* The duplicate goes; lists hide it, --archived shows it. */
	out1(sl("org", "archive", dup, NULL));
	r = sl("org", "list", "--json", NULL);
	assert_null(strstr(r->out, dup));
	assert_non_null(strstr(r->out, o));
	r = sl("org", "list", "--archived", "--json", NULL);
	assert_non_null(strstr(r->out, dup));
	refused(sl("org", "archive", dup, NULL), 1, "already archived");
	/* Nothing takes effect before its record existed, nor a step
	 * before the change it follows (--as-of would show neither). */
	refused(sl("org", "restore", dup, "--on", "2019-01-01", NULL), 1,
	    "not on 2019-01-01");
	char *t = keep(out1(sl("action", "add", "--title", "Följ upp",
	    "--on", "2019-01-01", NULL)));
	out1(sl("action", "drop", t, "--on", "2020-05-01", NULL));
	out1(sl("action", "reopen", t, "--on", "2020-05-02", NULL));
	refused(sl("action", "done", t, "--on", "2020-04-17", NULL), 1,
	    "cannot take effect on 2020-04-17");
	out1(sl("org", "restore", dup, NULL));
	r = sl("org", "list", "--json", NULL);
	assert_non_null(strstr(r->out, dup));
	r = sl("history", dup, "--json", NULL);
	assert_non_null(strstr(r->out, "org.archived"));
	assert_non_null(strstr(r->out, "org.restored"));
	/* Filters by a yes/no field and an enum, several values. */
	r = sl("org", "list", "--status", "starting,active", "--json", NULL);
	assert_non_null(strstr(r->out, o));
	assert_null(strstr(r->out, dup));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_work, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrections, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_completion, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_after_import, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_fields, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_fields_old_daemon,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_frames, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crash_keeps_acknowledged,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_clients, setup,
		    teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("e2e", tests, NULL, NULL);
}
