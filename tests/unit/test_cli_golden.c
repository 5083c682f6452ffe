/*
 * test_cli_golden.c - what samlog prints, compared with the files under
 * tests/golden/ (`diff -u expected actual` is printed on a mismatch).
 *
 * Two real daemons on temporary nodes (the second one only to make a
 * real conflict), and a fake daemon: a socket of this test's own that
 * records the request samlog sends and answers with fixed replies, so
 * that history's wrapping and the printing of times can be compared to
 * the byte, whoever runs the test and whenever.  Output from the real
 * daemons is compared after its ids, times and user name are replaced
 * by placeholders of the same width (columns stay aligned).
 *
 * Commands run with TZ and COLUMNS fixed, through a pipe or on a
 * pseudo-terminal (openpty, so that isatty holds) of a given width.
 *
 * SAMLOG_GOLDEN_UPDATE=1 rewrites the golden files from what samlog
 * prints now, and fails each comparison it rewrote, so that an update
 * never passes unseen: review the change with git diff.
 * SAMLOG_GOLDEN_DIR: where they are (default tests/golden).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>

#include "cluster.h"

static struct node A, B;
static bool b_made;
static char fake_sock[600], fake_req[600];

/* ---- placeholders ------------------------------------------------------- */

/* Exact strings replaced by placeholders of the same length. */
static struct {
	char from[128];
	char to[128];
} subst[64];
static size_t nsubst;

/* Registers text (an id, a node id, a user name) as placeholder tag:
 * "ID1" becomes ID1_______ for a 10-character text.  A record id's
 * 10-character prefix (tables show those) gets its own entry. */
static void
placeholder(const char *text, const char *tag)
{
	size_t n = strlen(text);

	assert_true(nsubst + 2 <= sizeof subst / sizeof subst[0]);
	assert_true(n < sizeof subst[0].from);
	for (size_t i = 0; i < nsubst; i++)
		if (strcmp(subst[i].from, text) == 0)
			return;
	snprintf(subst[nsubst].from, sizeof subst[0].from, "%s", text);
	snprintf(subst[nsubst].to, sizeof subst[0].to, "%-*s", (int)n, tag);
	for (size_t i = strlen(tag); i < n; i++)
		subst[nsubst].to[i] = '_';
	nsubst++;
	if (n == SL_ID_TEXT) {
		snprintf(subst[nsubst].from, sizeof subst[0].from, "%.10s", text);
		memcpy(subst[nsubst].to, subst[nsubst - 1].to, 10);
		subst[nsubst].to[10] = '\0';
		nsubst++;
	}
}

static bool
is_digit_at(const char *s, const char *pat)
{
	for (; *pat; s++, pat++) {
		if (*pat == 'd' ? (*s < '0' || *s > '9') : *s != *pat)
			return false;
	}
	return true;
}

/* Every date left in s (normalised: a bare YYYY-MM-DD, such as a
 * record's created_on, the day the test runs) as YYYY-MM-DD, in place:
 * the golden files must not hold the day they were written. */
static void
mask_days(char *s)
{
	for (; *s; s++)
		if (is_digit_at(s, "dddd-dd-dd"))
			memcpy(s, "YYYY-MM-DD", 10);
}

/* s with every registered text and every time replaced (a new string):
 * "2026-12-02 06:27:25" becomes YYYY-MM-DD hh:mm:ss (the offset after it
 * stays), "2026-12-02T00:57:25.228Z" YYYY-MM-DDThh:mm:ss.sssZ. */
static char *
normalise(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(n + 1), *p = o;

	assert_non_null(o);
	while (*s) {
		bool done = false;

		/* The longest registered text first: a full id before its
		 * prefix. */
		for (size_t i = 0; i < nsubst && !done; i++) {
			size_t k = strlen(subst[i].from);

			if (k == SL_ID_TEXT || k > 30) {
				if (strncmp(s, subst[i].from, k) == 0) {
					memcpy(p, subst[i].to, k);
					p += k;
					s += k;
					done = true;
				}
			}
		}
		for (size_t i = 0; i < nsubst && !done; i++) {
			size_t k = strlen(subst[i].from);

			if (strncmp(s, subst[i].from, k) == 0) {
				memcpy(p, subst[i].to, k);
				p += k;
				s += k;
				done = true;
			}
		}
		if (done)
			continue;
		if (is_digit_at(s, "dddd-dd-dd dd:dd:dd")) {
			memcpy(p, "YYYY-MM-DD hh:mm:ss", 19);
			p += 19;
			s += 19;
		} else if (is_digit_at(s, "dddd-dd-ddTdd:dd:dd")) {
			memcpy(p, "YYYY-MM-DDThh:mm:ss", 19);
			p += 19;
			s += 19;
			if (is_digit_at(s, ".ddd")) {
				memcpy(p, ".sss", 4);
				p += 4;
				s += 4;
			}
		} else {
			*p++ = *s++;
		}
	}
	*p = '\0';
	return o;
}

/* ---- golden files ---------------------------------------------------------- */

static const char *
golden_dir(void)
{
	const char *d = getenv("SAMLOG_GOLDEN_DIR");

	return d != NULL && *d ? d : "tests/golden";
}

static char *
slurp(const char *path)
{
	return tu_slurp(path);
}

static void
spit(const char *path, const char *s)
{
	assert_int_equal(tu_spit(path, s), 0);
}

/* Fails with `diff -u` of the golden file name against actual unless
 * they are the same. */
static void
golden(const char *name, const char *actual)
{
	char path[512], got[700];
	char *want;

	snprintf(path, sizeof path, "%s/%s", golden_dir(), name);
	if (getenv("SAMLOG_GOLDEN_UPDATE") != NULL) {
		bool same;

		want = slurp(path);
		same = want != NULL && strcmp(want, actual) == 0;
		free(want);
		if (!same) {
			spit(path, actual);
			fail_msg("rewrote %s (SAMLOG_GOLDEN_UPDATE): review it",
			    path);
		}
		return;
	}
	want = slurp(path);
	if (want == NULL)
		fail_msg("no golden file %s (SAMLOG_GOLDEN_UPDATE=1 makes it); "
		    "samlog printed:\n%s", path, actual);
	if (strcmp(want, actual) == 0) {
		free(want);
		return;
	}
	free(want);
	snprintf(got, sizeof got, "%s/%s.actual", cl_tmp, name);
	spit(got, actual);

	struct tu_run *r = malloc(sizeof *r);

	assert_non_null(r);
	assert_int_equal(tu_run(r, (char *const[]){ "diff", "-u", path, got,
	    NULL }, NULL), 0);
	print_message("%s", r->out);
	free(r);
	fail_msg("samlog's output differs from %s (diff above)", path);
}

/* ---- running samlog ------------------------------------------------------ */

static struct tu_run R;

/*
 * Runs samlog with argv[] (after the program), the environment env
 * ("K=V", NULL-terminated, may be NULL) added, TZ=tz, and COLUMNS
 * unset unless env sets it.  cols 0: stdout and stderr are pipes; else
 * stdout is a pseudo-terminal cols wide (stderr still a pipe).
 */
static struct tu_run *
run_v(const char *tz, int cols, char *const *env, char *const *args)
{
	char *argv[64], tzv[64];
	int n = 0, master = -1, slave = -1, pe[2], status;
	pid_t pid;

	memset(&R, 0, sizeof R);
	argv[n++] = (char *)tu_prog("samlog");
	for (size_t i = 0; args[i] != NULL; i++) {
		assert_true(n < 63);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	snprintf(tzv, sizeof tzv, "TZ=%s", tz);
	if (cols == 0) {
		char *e[16];
		size_t k = 0;

		e[k++] = tzv;
		for (size_t i = 0; env != NULL && env[i] != NULL; i++)
			e[k++] = env[i];
		e[k] = NULL;
		unsetenv("COLUMNS");
		assert_int_equal(tu_run(&R, argv, e), 0);
		return &R;
	}
	struct winsize ws = { .ws_row = 24, .ws_col = (unsigned short)cols };
	struct termios t;

	assert_int_equal(openpty(&master, &slave, NULL, NULL, &ws), 0);
	assert_int_equal(tcgetattr(slave, &t), 0);
	cfmakeraw(&t);   /* no \r added to line breaks */
	assert_int_equal(tcsetattr(slave, TCSANOW, &t), 0);
	assert_int_equal(pipe(pe), 0);
	if ((pid = fork()) == 0) {
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(pe[1], 2);
		close(master);
		close(pe[0]);
		unsetenv("COLUMNS");
		putenv(tzv);
		for (size_t i = 0; env != NULL && env[i] != NULL; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(slave);
	close(pe[1]);

	size_t no = 0, ne = 0;
	struct pollfd fds[2] = { { master, POLLIN, 0 }, { pe[0], POLLIN, 0 } };
	int open_fds = 2;

	while (open_fds > 0) {
		if (poll(fds, 2, 10000) <= 0)
			break;
		for (int i = 0; i < 2; i++) {
			char *buf = i ? R.err : R.out;
			size_t cap = i ? sizeof R.err : sizeof R.out;
			size_t *len = i ? &ne : &no;
			ssize_t got;

			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP |
			    POLLERR)))
				continue;
			got = read(fds[i].fd, buf + *len, cap - 1 - *len);
			if (got <= 0) {   /* EIO on the master: no slave left */
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
			} else {
				*len += (size_t)got;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	R.status = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	return &R;
}

#define ARGS(...) ((char *const[]){ __VA_ARGS__, NULL })

/* samlog -d node's directory ARGS..., through a pipe, TZ fixed. */
#define SLA(n, ...) run_v("Asia/Kolkata", 0, NULL, ARGS("-d", (n)->dir, \
    __VA_ARGS__))
/* The same on a terminal cols wide. */
#define SLT(n, cols, ...) run_v("Asia/Kolkata", cols, NULL, ARGS("-d", \
    (n)->dir, __VA_ARGS__))

static struct tu_run *
okr(struct tu_run *r)
{
	if (r->status != 0)
		fail_msg("samlog failed (%d): out=[%s] err=[%s]", r->status,
		    r->out, r->err);
	if (r->err[0] != '\0')
		fail_msg("samlog wrote to stderr: %s", r->err);
	return r;
}

/* A failure: status, one "samlog: " line on stderr. */
static void
one_error(struct tu_run *r, int status)
{
	if (r->status != status || tu_lines(r->err) != 1 ||
	    strncmp(r->err, "samlog: ", 8) != 0)
		fail_msg("expected exit %d and one error line, got %d: out=[%s] "
		    "err=[%s]", status, r->status, r->out, r->err);
}

static char *
first_line(const char *s)
{
	static char b[256];

	snprintf(b, sizeof b, "%.*s", (int)strcspn(s, "\n"), s);
	return b;
}

/* Code points of the longest line of s. */
static size_t
widest_line(const char *s)
{
	size_t w = 0, cur = 0;

	for (; *s; s++) {
		if (*s == '\n') {
			cur = 0;
			continue;
		}
		cur += ((unsigned char)*s & 0xc0) != 0x80;
		if (cur > w)
			w = cur;
	}
	return w;
}

/* ---- JSON syntax, strictly ----------------------------------------------- */

static const char *json_val(const char *s);

static const char *
json_ws(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

static const char *
json_str(const char *s)
{
	if (*s++ != '"')
		return NULL;
	while (*s != '"') {
		if ((unsigned char)*s < 0x20)
			return NULL;
		if (*s == '\\') {
			s++;
			if (*s == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", s[i]) ||
					    s[i] == '\0')
						return NULL;
				s += 4;
			} else if (!strchr("\"\\/bfnrt", *s) || *s == '\0') {
				return NULL;
			}
		}
		s++;
	}
	return s + 1;
}

static const char *
json_val(const char *s)
{
	s = json_ws(s);
	if (*s == '{' || *s == '[') {
		char close = *s == '{' ? '}' : ']';
		bool obj = *s == '{';

		s = json_ws(s + 1);
		if (*s == close)
			return s + 1;
		for (;;) {
			if (obj) {
				if ((s = json_str(json_ws(s))) == NULL)
					return NULL;
				s = json_ws(s);
				if (*s++ != ':')
					return NULL;
			}
			if ((s = json_val(s)) == NULL)
				return NULL;
			s = json_ws(s);
			if (*s == close)
				return s + 1;
			if (*s++ != ',')
				return NULL;
		}
	}
	if (*s == '"')
		return json_str(s);
	if (strncmp(s, "true", 4) == 0 || strncmp(s, "null", 4) == 0)
		return s + 4;
	if (strncmp(s, "false", 5) == 0)
		return s + 5;
	if (*s == '-' || (*s >= '0' && *s <= '9')) {
		char *end;

		strtod(s, &end);
		return end;
	}
	return NULL;
}

/* r printed exactly one JSON value of the shape ('{' or '['), and a
 * line break after it. */
static void
one_json(struct tu_run *r, char shape, const char *what)
{
	const char *end;

	okr(r);
	if (r->out[0] != shape || (end = json_val(r->out)) == NULL ||
	    strcmp(end, "\n") != 0)
		fail_msg("%s --json: not one JSON %s: [%s]", what,
		    shape == '{' ? "object" : "array", r->out);
}

/* ---- a fake daemon ---------------------------------------------------------- */

/* The replies the fake daemon sends: records (packed maps), then a
 * RESULT with code. */
struct fake_reply {
	msgpack_sbuffer recs[8];
	size_t n;
	unsigned code;
};

static bool
write_all(int fd, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return false;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return true;
}

static bool
read_all(int fd, void *p, size_t n)
{
	while (n > 0) {
		ssize_t g = read(fd, p, n);

		if (g <= 0)
			return false;
		p = (char *)p + g;
		n -= (size_t)g;
	}
	return true;
}

static void
send_frame(int fd, int type, const void *body, size_t len)
{
	uint8_t hdr[SL_FRAME_HDR];
	struct sl_frame_hdr h = { SL_CTL_VERSION, (uint8_t)type, 0, 1,
		(uint32_t)len };

	sl_frame_hdr_encode(hdr, &h);
	if (!write_all(fd, hdr, sizeof hdr) || !write_all(fd, body, len))
		_exit(3);
}

/* Forks a server that takes one connection on fake_sock, writes the
 * request's body to fake_req and answers with rep; returns its pid. */
static pid_t
fake_start(const struct fake_reply *rep)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	unlink(fake_sock);
	unlink(fake_req);
	memcpy(sa.sun_path, fake_sock, strlen(fake_sock) + 1);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(ls, 4), 0);
	if ((pid = fork()) == 0) {
		uint8_t hdr[SL_FRAME_HDR], *body;
		struct sl_frame_hdr h;
		int c;

		alarm(20);
		if ((c = accept(ls, NULL, NULL)) < 0 ||
		    !read_all(c, hdr, sizeof hdr) ||
		    sl_frame_hdr_decode(&h, hdr, 1u << 20) != SL_OK ||
		    (body = malloc(h.len + 1)) == NULL ||
		    !read_all(c, body, h.len))
			_exit(2);
		FILE *f = fopen(fake_req, "wb");

		if (f == NULL || fwrite(body, 1, h.len, f) != h.len ||
		    fclose(f) != 0)
			_exit(2);
		for (size_t i = 0; i < rep->n; i++)
			send_frame(c, SL_MSG_RECORD, rep->recs[i].data,
			    rep->recs[i].size);
		msgpack_sbuffer sb;
		msgpack_packer pk;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 2);
		sl_pack_cstr(&pk, "code");
		msgpack_pack_uint32(&pk, rep->code);
		sl_pack_cstr(&pk, "message");
		sl_pack_cstr(&pk, rep->code ? "refused by the fake" : "");
		send_frame(c, SL_MSG_RESULT, sb.data, sb.size);
		close(c);
		_exit(0);
	}
	close(ls);
	return pid;
}

/* Waits for the fake server: true if it served a request. */
static bool
fake_wait(pid_t pid, bool expect_request)
{
	int status;

	if (!expect_request) {
		kill(pid, SIGTERM);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		return access(fake_req, F_OK) == 0;
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return true;
}

/* samlog ARGS... against the fake daemon replying rep; TZ tz, cols as
 * run_v.  The fake daemon must have been asked. */
static struct tu_run *
fake_run(const struct fake_reply *rep, const char *tz, int cols,
    const char *columns, char *const *args)
{
	static char env[700];
	pid_t pid = fake_start(rep);

	snprintf(env, sizeof env, "SAMLOG_SOCKET=%s", fake_sock);
	run_v(tz, cols, (char *const[]){ env, (char *)columns, NULL }, args);
	fake_wait(pid, true);
	return &R;
}

/* The same, where samlog must refuse before it asks anything. */
static struct tu_run *
fake_refused(char *const *args)
{
	static char env[700];
	struct fake_reply none = { .n = 0, .code = 0 };
	pid_t pid = fake_start(&none);

	snprintf(env, sizeof env, "SAMLOG_SOCKET=%s", fake_sock);
	run_v("Europe/Stockholm", 0, (char *const[]){ env, NULL }, args);
	assert_false(fake_wait(pid, false));
	return &R;
}

/* The string the last request carried as args[key], or NULL. */
static char *
req_arg(const char *key)
{
	static char val[256];
	char *body = slurp(fake_req);
	struct stat st;
	msgpack_unpacked u;
	bool found = false;

	assert_non_null(body);
	assert_int_equal(stat(fake_req, &st), 0);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, body, (size_t)st.st_size,
	    NULL), MSGPACK_UNPACK_SUCCESS);
	for (uint32_t i = 0; i < u.data.via.map.size; i++) {
		msgpack_object_kv *kv = &u.data.via.map.ptr[i];

		if (kv->key.via.str.size != 4 ||
		    memcmp(kv->key.via.str.ptr, "args", 4) != 0)
			continue;
		for (uint32_t j = 0; j < kv->val.via.map.size; j++) {
			msgpack_object_kv *a = &kv->val.via.map.ptr[j];

			if (a->key.via.str.size == strlen(key) &&
			    memcmp(a->key.via.str.ptr, key, strlen(key)) == 0 &&
			    a->val.type == MSGPACK_OBJECT_STR) {
				snprintf(val, sizeof val, "%.*s",
				    (int)a->val.via.str.size, a->val.via.str.ptr);
				found = true;
			}
		}
	}
	msgpack_unpacked_destroy(&u);
	free(body);
	return found ? val : NULL;
}

static void
kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	sl_pack_cstr(pk, k);
	if (v != NULL)
		sl_pack_cstr(pk, v);
	else
		msgpack_pack_nil(pk);
}

/* One event of a history reply, as samlogd packs them. */
static void
history_event(struct fake_reply *rep, unsigned seq, const char *org,
    const char *author, const char *time, const char *type,
    const char *const *changes, const char *effect)
{
	msgpack_sbuffer *sb = &rep->recs[rep->n++];
	msgpack_packer pk;
	size_t nc = 0;

	while (changes[nc] != NULL)
		nc += 2;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 9);
	sl_pack_cstr(&pk, "seq");
	msgpack_pack_uint32(&pk, seq);
	kv_str(&pk, "origin", "3gfaq90ktr3aeayry7k7cc3ves8hnxm7abm1dketym22m4eg3m20");
	kv_str(&pk, "org", org);
	kv_str(&pk, "author", author);
	kv_str(&pk, "time", time);
	kv_str(&pk, "type", type);
	sl_pack_cstr(&pk, "changes");
	msgpack_pack_map(&pk, nc / 2);
	for (size_t i = 0; i < nc; i += 2)
		kv_str(&pk, changes[i], changes[i + 1]);
	sl_pack_cstr(&pk, "verified");
	msgpack_pack_true(&pk);
	kv_str(&pk, "effect", effect);
}

static void
fake_free(struct fake_reply *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		msgpack_sbuffer_destroy(&rep->recs[i]);
	rep->n = 0;
}

/* ---- set-up ------------------------------------------------------------------ */

static int
setup(void **state)
{
	struct passwd *pw = getpwuid(getuid());

	cl_setup(state);
	snprintf(fake_sock, sizeof fake_sock, "%s/fake.sock", cl_tmp);
	snprintf(fake_req, sizeof fake_req, "%s/fake.req", cl_tmp);
	/* The author of the real daemons' events: whoever runs this. */
	if (pw != NULL)
		placeholder(pw->pw_name, "USER");
	return 0;
}

static int
teardown(void **state)
{
	if (A.pid > 0)
		node_stop(&A, SIGTERM);
	if (b_made && B.pid > 0)
		node_stop(&B, SIGTERM);
	return cl_teardown(state);
}

/* The first node, started once for every test that needs it. */
static struct node *
node_a(void)
{
	if (A.pid == 0) {
		if (A.dir[0] == '\0') {
			node_init(&A, "a", "Samordningsförbundet");
			placeholder(A.id, "NODE_A");
		}
		node_start(&A);
	}
	return &A;
}

/* ---- the tests ---------------------------------------------------------------- */

/* The shared time parser: ISO 8601 days and times, with offsets, Z or
 * none (local time), fractions; everything else refused. */
static void
test_time_parse(void **state)
{
	static const struct {
		const char *in;
		int kind;
		const char *utc;   /* NULL: refused */
	} cases[] = {
		{ "2026-12-01T22:06:21+01:00", SL_TIME_OFFSET,
		    "2026-12-01T21:06:21.000Z" },
		{ "2026-12-01T21:06:21Z", SL_TIME_OFFSET,
		    "2026-12-01T21:06:21.000Z" },
		{ "2026-12-01t21:06:21z", SL_TIME_OFFSET,
		    "2026-12-01T21:06:21.000Z" },
		{ "2026-12-01T21:06:21.5Z", SL_TIME_OFFSET,
		    "2026-12-01T21:06:21.500Z" },
		{ "2026-12-01T21:06:21.123456789-05:30", SL_TIME_OFFSET,
		    "2026-12-02T02:36:21.123Z" },
		{ "2026-12-01 22:06 +0100", SL_TIME_OFFSET,
		    "2026-12-01T21:06:00.000Z" },
		{ "2026-12-01T22:06+01", SL_TIME_OFFSET,
		    "2026-12-01T21:06:00.000Z" },
		{ "2026-12-01 22:06", SL_TIME_LOCAL, "2026-12-01T21:06:00.000Z" },
		{ "2026-07-01T12:00:00", SL_TIME_LOCAL,
		    "2026-07-01T10:00:00.000Z" },
		{ "2026-12-01", SL_TIME_DATE, "2026-11-30T23:00:00.000Z" },
		{ "2024-02-29", SL_TIME_DATE, "2024-02-28T23:00:00.000Z" },
		{ "2016-12-31T23:59:60Z", SL_TIME_OFFSET,
		    "2017-01-01T00:00:00.000Z" },
		{ "1969-12-31T23:59:59.999Z", SL_TIME_OFFSET,
		    "1969-12-31T23:59:59.999Z" },
		{ "2026-02-29", 0, NULL },
		{ "2026-13-01", 0, NULL },
		{ "2026-12-01T24:00:00Z", 0, NULL },
		{ "2026-12-01T22:06:21+01:00 ", 0, NULL },
		{ "2026-12-01T22:06:21+24:00", 0, NULL },
		{ "2026-12-01T22:06:21.Z", 0, NULL },
		{ "2026-12-01T22:06:21.1234567890Z", 0, NULL },
		{ "2026-12-01T22", 0, NULL },
		{ "2026-1-01", 0, NULL },
		{ "", 0, NULL },
		{ "yesterday", 0, NULL },
	};
	char buf[64];

	(void)state;
	setenv("TZ", "Europe/Stockholm", 1);
	tzset();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t ms = 0;
		int kind = 0, rc = sl_time_parse(cases[i].in, &ms, &kind);

		if (cases[i].utc == NULL) {
			if (rc == SL_OK)
				fail_msg("\"%s\" was taken", cases[i].in);
			continue;
		}
		if (rc != SL_OK)
			fail_msg("\"%s\" was refused", cases[i].in);
		sl_time_format_utc(ms, buf, sizeof buf);
		if (strcmp(buf, cases[i].utc) != 0 || kind != cases[i].kind)
			fail_msg("\"%s\": %s (kind %d), want %s (kind %d)",
			    cases[i].in, buf, kind, cases[i].utc, cases[i].kind);
	}
	/* Local time with the offset of its day. */
	sl_time_format_local(1796159181000, buf, sizeof buf);
	assert_string_equal(buf, "2026-12-01 22:06:21 +01:00");
	sl_time_format_local(1782900000000, buf, sizeof buf);
	assert_string_equal(buf, "2026-07-01 12:00:00 +02:00");
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	sl_time_format_local(1796159181000, buf, sizeof buf);
	assert_string_equal(buf, "2026-12-02 02:36:21 +05:30");
	setenv("TZ", "America/St_Johns", 1);
	tzset();
	sl_time_format_local(1796159181000, buf, sizeof buf);
	assert_string_equal(buf, "2026-12-01 17:36:21 -03:30");
	unsetenv("TZ");
	tzset();
}

/* help KIND, KIND --help and KIND alone list the kind's commands;
 * samlog alone is wrong usage. */
static void
test_help(void **state)
{
	static char help[sizeof R.out];

	(void)state;
	okr(run_v("UTC", 0, NULL, ARGS("help", "contact")));
	snprintf(help, sizeof help, "%s", R.out);
	golden("help-contact.txt", help);
	okr(run_v("UTC", 0, NULL, ARGS("contact", "--help")));
	assert_string_equal(R.out, help);
	okr(run_v("UTC", 0, NULL, ARGS("help", "decision")));
	golden("help-decision.txt", R.out);
	/* No subcommand: the same list, and wrong usage. */
	run_v("UTC", 0, NULL, ARGS("contact"));
	one_error(&R, 2);
	assert_string_equal(R.out, help);
	assert_non_null(strstr(R.err, "contact"));
	/* samlog alone: the usage, exit 2. */
	run_v("UTC", 0, NULL, ARGS("-d", "/nonexistent"));
	one_error(&R, 2);
	assert_non_null(strstr(R.out, "usage: samlog"));
	okr(run_v("UTC", 0, NULL, ARGS("help")));
	assert_non_null(strstr(R.out, "  contact add "));
	assert_non_null(strstr(R.out, "  history "));
	/* The precedence of -d and the environment is documented. */
	assert_non_null(strstr(R.out, "SAMLOG_SOCKET"));
	okr(run_v("UTC", 0, NULL, ARGS("help", "contact", "add")));
	assert_non_null(strstr(R.out, "--name NAME"));
	run_v("UTC", 0, NULL, ARGS("help", "nosuch"));
	one_error(&R, 2);
	run_v("UTC", 0, NULL, ARGS("nosuch"));
	one_error(&R, 2);
	/* --json: the commands as data. */
	one_json(run_v("UTC", 0, NULL, ARGS("help", "contact", "--json")), '[',
	    "help contact");
	assert_non_null(strstr(R.out, "\"contact show\""));
	one_json(run_v("UTC", 0, NULL, ARGS("--json", "help", "contact",
	    "add")), '{', "help contact add");
	one_json(run_v("UTC", 0, NULL, ARGS("--json", "help")), '[', "help");
	one_json(run_v("UTC", 0, NULL, ARGS("--json", "version")), '{',
	    "version");
}

/* An empty list says so on a terminal; a pipe gets nothing, JSON []. */
static void
test_empty(void **state)
{
	struct node *a = node_a();

	(void)state;
	okr(SLT(a, 80, "org", "list"));
	golden("empty-org-list.txt", R.out);
	okr(SLT(a, 80, "contact", "list", "--role", "kassör"));
	golden("empty-contact-list-filtered.txt", R.out);
	okr(SLA(a, "org", "list"));
	assert_string_equal(R.out, "");
	okr(SLA(a, "org", "list", "--json"));
	assert_string_equal(R.out, "[]\n");
	okr(SLT(a, 80, "--json", "org", "list"));
	assert_string_equal(R.out, "[]\n");
}

/* Times print in local time with their offset (TZ); JSON keeps RFC 3339
 * UTC; a false yes/no field prints "no". */
static void
test_show_times(void **state)
{
	struct node *a = node_a();
	char id[256], local[256], utc[64], want[64];
	const char *p;
	int64_t ms;

	(void)state;
	snprintf(id, sizeof id, "%s", first_line(okr(SLA(a, "org", "add",
	    "--name", "Värmekällan", "--kind", "asf", "--municipality",
	    "Upplands Väsby"))->out));
	placeholder(id, "ORG1");
	okr(SLA(a, "org", "show", id));
	p = strstr(R.out, "created:");
	assert_non_null(p);
	snprintf(local, sizeof local, "%s", first_line(p + 8 + strspn(p + 8,
	    " ")));
	{
		char *norm = normalise(R.out);

		mask_days(norm);
		golden("org-show.txt", norm);
		free(norm);
	}
	okr(SLA(a, "org", "list"));
	{
		char *norm = normalise(R.out);

		golden("org-list.txt", norm);
		free(norm);
	}
	one_json(SLA(a, "org", "show", id, "--json"), '{', "org show");
	assert_non_null(strstr(R.out, "\"iop\": false"));
	p = strstr(R.out, "\"created\": \"");
	assert_non_null(p);
	snprintf(utc, sizeof utc, "%.*s", (int)strcspn(p + 12, "\""), p + 12);
	/* The same instant, to the second, in Kolkata's time. */
	assert_int_equal(sl_time_parse(utc, &ms, NULL), SL_OK);
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	sl_time_format_local(ms - ms % 1000, want, sizeof want);
	unsetenv("TZ");
	tzset();
	assert_string_equal(local, want);
	assert_non_null(strstr(local, " +05:30"));
	{
		char *norm = normalise(R.out);

		mask_days(norm);
		golden("org-show.json", norm);
		free(norm);
	}
}

/* The fixed history of a decision with a long text: wrapped within 60
 * columns on a terminal (COLUMNS or the terminal's own width), never
 * cut, multibyte characters whole; one line per event into a pipe.
 * Times in Stockholm's winter and summer time. */
static void
test_history_wrap(void **state)
{
	static const char *const created[] = { "title", "Budget 2027",
		"text", "Samordningsförbundet beslutar att fördela 1 200 000 "
		"kronor till arbetsintegrerande sociala företag i Sigtuna, "
		"Upplands Väsby och Knivsta under år 2027, enligt bilaga 3.",
		NULL };
	static const char *const adopted[] = { "status", "adopted", NULL };
	static const char *const amended[] = { "text", "Beloppet höjs till "
		"1 350 000 kronor: "
		"arbetsintegrerandesocialaföretagsutvecklingsprogrammet "
		"får 150 000 kronor.", "reason", "styrelsemöte 2027-06-12",
		NULL };
	struct fake_reply rep = { .n = 0, .code = 0 };
	static char tty[sizeof R.out];

	(void)state;
	history_event(&rep, 2, "Samordningsförbundet", "anna",
	    "2026-12-01T21:06:21.228Z", "decision.proposed", created,
	    "applied");
	history_event(&rep, 3, "Sigtuna kommun", "bertil",
	    "2027-01-15T08:30:00.000Z", "decision.adopted", adopted, "applied");
	history_event(&rep, 4, "Samordningsförbundet", "anna",
	    "2027-06-12T14:45:09.999Z", "decision.amended", amended,
	    "applied");
	/* COLUMNS on a terminal wider than that. */
	okr(fake_run(&rep, "Europe/Stockholm", 200, "COLUMNS=60",
	    ARGS("history", "kvgb")));
	golden("history-60.txt", R.out);
	if (widest_line(R.out) > 60)
		fail_msg("a line wider than 60 columns:\n%s", R.out);
	snprintf(tty, sizeof tty, "%s", R.out);
	/* The terminal's own width. */
	okr(fake_run(&rep, "Europe/Stockholm", 60, NULL, ARGS("history",
	    "kvgb")));
	assert_string_equal(R.out, tty);
	okr(fake_run(&rep, "Europe/Stockholm", 44, NULL, ARGS("history",
	    "kvgb")));
	golden("history-44.txt", R.out);
	if (widest_line(R.out) > 44)
		fail_msg("a line wider than 44 columns:\n%s", R.out);
	/* Into a pipe: every value whole, one line per event. */
	okr(fake_run(&rep, "Europe/Stockholm", 0, "COLUMNS=60",
	    ARGS("history", "kvgb")));
	golden("history-pipe.txt", R.out);
	assert_int_equal(tu_lines(R.out), 4);
	/* JSON keeps RFC 3339 UTC. */
	one_json(fake_run(&rep, "Europe/Stockholm", 0, NULL, ARGS("history",
	    "kvgb", "--json")), '[', "history");
	assert_non_null(strstr(R.out, "\"time\": \"2026-12-01T21:06:21.228Z\""));
	fake_free(&rep);
}

/* A real decision's history on a terminal 60 wide: no line wider, and
 * the whole text there; into a pipe, the text whole on its line. */
static void
test_history_real(void **state)
{
	struct node *a = node_a();
	const char *text = "Styrelsen ger kansliet i uppdrag att ta fram en "
	    "handlingsplan för arbetsintegrerande sociala företag tillsammans "
	    "med Arbetsförmedlingen och kommunerna, senast den 1 mars 2027.";
	char id[256];

	(void)state;
	snprintf(id, sizeof id, "%s", first_line(okr(SLA(a, "decision", "add",
	    "--title", "Handlingsplan", "--text", (char *)text))->out));
	okr(SLT(a, 60, "history", id));
	if (widest_line(R.out) > 60)
		fail_msg("a line wider than 60 columns:\n%s", R.out);
	/* The words of the text, in order, in the CHANGES column. */
	for (const char *w = text; *w;) {
		size_t n = strcspn(w, " ");
		char word[128];

		snprintf(word, sizeof word, "%.*s", (int)n, w);
		if (strstr(R.out, word) == NULL)
			fail_msg("\"%s\" is missing:\n%s", word, R.out);
		w += n + (w[n] == ' ');
	}
	okr(SLA(a, "history", id));
	assert_int_equal(tu_lines(R.out), 2);
	assert_non_null(strstr(R.out, text));
}

/* A real conflict (two daemons, concurrent edits) is marked in the
 * table, also when the table is squeezed into a narrow terminal. */
static void
test_conflict(void **state)
{
	struct node *a = node_a(), *all[] = { &A, &B };
	char id[256];
	long base;

	(void)state;
	node_init(&B, "b", "Sigtuna kommun");
	b_made = true;
	placeholder(B.id, "NODE_B");
	node_start(&B);
	trust(a, &B, true);
	trust(&B, a, true);
	snprintf(id, sizeof id, "%s", first_line(okr(SLA(a, "contact", "add",
	    "--name", "Anna-Karin Ölund Långnamn", "--municipality",
	    "Upplands Väsby kommun", "--email",
	    "anna-karin.olund@vaermekaellan.example.se"))->out));
	placeholder(id, "C1");
	base = wait_converged(all, 2);
	node_stop(&B, SIGTERM);
	okr(SLA(a, "contact", "update", id, "--role", "ordförande"));
	node_stop(a, SIGTERM);
	node_start(&B);
	okr(SLA(&B, "contact", "update", id, "--role", "kassör"));
	node_start(a);
	wait_events(all, 2, base + 2);
	okr(SLA(a, "contact", "show", id, "--json"));
	assert_non_null(strstr(R.out, "\"conflict\": true"));
	okr(SLT(a, 60, "contact", "list", "--municipality",
	    "Upplands Väsby kommun"));
	if (widest_line(R.out) > 60)
		fail_msg("a line wider than 60 columns:\n%s", R.out);
	{
		char *norm = normalise(R.out);

		golden("conflict-list-60.txt", norm);
		free(norm);
	}
	okr(SLA(a, "contact", "list", "--municipality",
	    "Upplands Väsby kommun"));
	{
		char *norm = normalise(R.out);

		golden("conflict-list-pipe.txt", norm);
		free(norm);
	}
	okr(SLA(a, "contact", "show", id));
	/* The key column is as wide as the longest key: match by words. */
	assert_non_null(strstr(R.out, "\nconflict:"));
	assert_non_null(strstr(strstr(R.out, "\nconflict:"), " yes\n"));
	node_stop(&B, SIGTERM);
}

/* -d DIR wins over SAMLOG_SOCKET; without -d the variable serves. */
static void
test_socket_precedence(void **state)
{
	struct node *a = node_a();
	struct fake_reply none = { .n = 0, .code = 0 };
	char env[700];
	pid_t pid;

	(void)state;
	okr(run_v("UTC", 0, ARGS("SAMLOG_SOCKET=/nonexistent/x.sock"),
	    ARGS("-d", a->dir, "status")));
	okr(run_v("UTC", 0, ARGS("SAMLOG_SOCKET=/nonexistent/x.sock"),
	    ARGS("status", "--dir", a->dir)));
	pid = fake_start(&none);
	snprintf(env, sizeof env, "SAMLOG_SOCKET=%s", fake_sock);
	okr(run_v("UTC", 0, ARGS(env), ARGS("status")));
	assert_true(fake_wait(pid, true));
}

/* --as-of goes out as a day, --known-at as RFC 3339 UTC; bad times are
 * refused before anything is asked. */
static void
test_time_args(void **state)
{
	static const struct {
		const char *flag, *in, *sent;
	} cases[] = {
		{ "as-of", "2026-12-01", "2026-12-01" },
		{ "as-of", "2026-12-01T22:06:21+01:00", "2026-12-01" },
		/* Its own day: in UTC it is already the 2nd. */
		{ "as-of", "2026-12-01T23:30:00-05:00", "2026-12-01" },
		{ "as-of", "2026-12-01T23:30:00Z", "2026-12-01" },
		/* Local time: Stockholm's day. */
		{ "as-of", "2026-12-01 23:30", "2026-12-01" },
		{ "known-at", "2026-12-01T22:06:21+01:00",
		    "2026-12-01T21:06:21.000Z" },
		{ "known-at", "2026-12-01T21:06:21.5Z",
		    "2026-12-01T21:06:21.500Z" },
		{ "known-at", "2026-12-01 22:06", "2026-12-01T21:06:00.000Z" },
		{ "known-at", "2026-07-01 22:06", "2026-07-01T20:06:00.000Z" },
		/* A day: its end, local time. */
		{ "known-at", "2026-12-01", "2026-12-01T22:59:59.999Z" },
		{ "known-at", "2026-07-01", "2026-07-01T21:59:59.999Z" },
	};
	struct fake_reply none = { .n = 0, .code = 0 };

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char flag[32];
		const char *got;

		snprintf(flag, sizeof flag, "--%s", cases[i].flag);
		okr(fake_run(&none, "Europe/Stockholm", 0, NULL,
		    ARGS("contact", "show", "abcd", flag, (char *)cases[i].in)));
		got = req_arg(cases[i].flag);
		if (got == NULL || strcmp(got, cases[i].sent) != 0)
			fail_msg("%s %s sent %s, want %s", flag, cases[i].in,
			    got ? got : "nothing", cases[i].sent);
	}
	okr(fake_run(&none, "Europe/Stockholm", 0, NULL, ARGS("decision",
	    "list", "--known-at", "2026-12-01T22:06:21+01:00")));
	assert_string_equal(req_arg("known-at"), "2026-12-01T21:06:21.000Z");
	static const char *const bad[] = { "2026-13-01", "yesterday",
		"2026-12-01T25:00Z", "" };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		fake_refused(ARGS("contact", "show", "abcd", "--as-of",
		    (char *)bad[i]));
		one_error(&R, 1);
		assert_non_null(strstr(R.err, "--as-of"));
		fake_refused(ARGS("org", "list", "--known-at", (char *)bad[i]));
		one_error(&R, 1);
		assert_non_null(strstr(R.err, "--known-at"));
	}
}

/* Every command takes --json: one object, or one array for lists. */
static void
test_json_everywhere(void **state)
{
	struct node *a = node_a();
	char c[600], csv[600], audit[600], id[256], did[256];

	(void)state;
	snprintf(c, sizeof c, "%s/c", cl_tmp);
	one_json(run_v("UTC", 0, NULL, ARGS("-d", c, "init", "--org", "C",
	    "--json")), '{', "init");
	one_json(SLA(a, "--json", "status"), '{', "status");
	one_json(SLA(a, "verify", "--json"), '{', "verify");
	one_json(SLA(a, "peer", "add", "c", "--key",
	    "v0sa7ww6eh078kba0se8mmmy397z7xrmsqjhg7n7wszsngznzwd0", "--json"),
	    '{', "peer add");
	one_json(SLA(a, "peer", "list", "--json"), '[', "peer list");
	one_json(SLA(a, "peer", "remove", "c", "--json"), '{', "peer remove");
	one_json(SLA(a, "log", "--json"), '[', "log");
	one_json(SLA(a, "rebuild", "--json"), '{', "rebuild");
	one_json(SLA(a, "contact", "add", "--name", "Json Person", "--json"),
	    '{', "contact add");
	const char *p = strstr(R.out, "\"id\": \"");

	assert_non_null(p);
	snprintf(id, sizeof id, "%.*s", SL_ID_TEXT, p + 7);
	one_json(SLA(a, "contact", "update", id, "--role", "r", "--json"), '{',
	    "contact update");
	one_json(SLA(a, "contact", "show", id, "--json"), '{', "contact show");
	one_json(SLA(a, "contact", "list", "--json"), '[', "contact list");
	one_json(SLA(a, "history", id, "--json"), '[', "history");
	snprintf(did, sizeof did, "%s", first_line(okr(SLA(a, "decision",
	    "add", "--title", "T", "--text", "x"))->out));
	one_json(SLA(a, "decision", "adopt", did, "--json"), '{',
	    "decision adopt");
	snprintf(csv, sizeof csv, "%s/in.csv", cl_tmp);
	spit(csv, "name,role\nImport Person,kassör\n");
	one_json(SLA(a, "import", csv, "--kind", "contact", "--json"), '{',
	    "import");
	assert_int_equal(tu_json_num(R.out, "imported"), 1);
	snprintf(audit, sizeof audit, "%s/x.audit", cl_tmp);
	one_json(SLA(a, "audit", id, "--out", audit, "--json"), '{', "audit");
	one_json(SLA(a, "audit", "--check", audit, "--json"), '{',
	    "audit --check");
	/* export --json is JSON Lines, an object a line (what import
	 * reads); with --format csv it is a contradiction. */
	okr(SLA(a, "export", "--json"));
	for (char *l = R.out; *l;) {
		size_t n = strcspn(l, "\n");
		char line[8192];
		const char *end;

		snprintf(line, sizeof line, "%.*s", (int)n, l);
		if (line[0] != '{' || (end = json_val(line)) == NULL ||
		    *end != '\0')
			fail_msg("export --json: not an object: %s", line);
		l += n + (l[n] == '\n');
	}
	SLA(a, "export", "--json", "--format", "csv");
	one_error(&R, 2);
	/* A bad request is still one error line, no JSON. */
	SLA(a, "contact", "show", "zzzz", "--json");
	one_error(&R, 1);
	assert_string_equal(R.out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_show_times),
		cmocka_unit_test(test_history_wrap),
		cmocka_unit_test(test_history_real),
		cmocka_unit_test(test_socket_precedence),
		cmocka_unit_test(test_time_args),
		cmocka_unit_test(test_json_everywhere),
		cmocka_unit_test(test_conflict),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
