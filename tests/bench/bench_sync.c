/*
 * bench_sync.c - sync between two real daemons over TLS on loopback
 * (make bench).
 *
 *   catch-up   node A holds BENCH_SYNC_EVENTS events (default 1,000,000,
 *              written straight into its store); a fresh node B is told
 *              to dial A; timed from that command until B holds them all,
 *              every one verified, stored and folded into B's records.
 *   slow peer  a third node C starts catching up from A and is then
 *              stopped (SIGSTOP) so it reads nothing: A's memory is read
 *              before and while C stalls.
 *   live       with A and B connected, one contact is added on A through
 *              the control socket; from A's answer (the event is durable
 *              on A) until B answers `contact show` for it, polled over
 *              B's control socket: p50 and p99 over BENCH_LIVE_RUNS (200).
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

#include "samlog_proto.h"
#include "../unit/fill.h"
#include "../unit/testutil.h"

struct node {
	char dir[512];
	char id[SL_NODE_ID_TEXT + 1];
	char listen[64];
	pid_t pid;
};

static char *tmp;

static void
die(const char *what)
{
	fprintf(stderr, "bench_sync: %s\n", what);
	exit(1);
}

static int
connect_ctl(const struct node *n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[600];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(path, sizeof path, "%s/%s", n->dir, SL_CTL_SOCKET);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
read_full(int fd, void *buf, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t r = read(fd, (char *)buf + off, n - off);

		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

/*
 * One request {"cmd": cmd, "args": {key: val}}; returns the result code
 * and copies the "id" of the first record (if any) into id_out.
 */
static int
request(int fd, const char *cmd, const char *key, const char *val,
    char *id_out, size_t idlen)
{
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	uint8_t hdr[SL_FRAME_HDR];
	static uint8_t body[1 << 20];
	int code = -1;

	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 2);
	sl_pack_cstr(&pk, "cmd");
	sl_pack_cstr(&pk, cmd);
	sl_pack_cstr(&pk, "args");
	msgpack_pack_map(&pk, 1);
	sl_pack_cstr(&pk, key);
	sl_pack_cstr(&pk, val);
	sl_frame_hdr_encode(hdr, &(struct sl_frame_hdr){ SL_CTL_VERSION,
	    SL_MSG_REQUEST, 0, 1, (uint32_t)g.len });
	if (write(fd, hdr, sizeof hdr) != (ssize_t)sizeof hdr ||
	    write(fd, g.p, g.len) != (ssize_t)g.len)
		die("cannot write to the control socket");
	free(g.p);
	for (;;) {
		struct sl_frame_hdr h;

		if (read_full(fd, hdr, sizeof hdr) != 0 ||
		    sl_frame_hdr_decode(&h, hdr, sizeof body) != SL_OK ||
		    read_full(fd, body, h.len) != 0)
			die("cannot read from the control socket");
		msgpack_object_kv *kv;
		msgpack_unpacked u;

		msgpack_unpacked_init(&u);
		if (msgpack_unpack_next(&u, (const char *)body, h.len, NULL) ==
		    MSGPACK_UNPACK_SUCCESS && u.data.type == MSGPACK_OBJECT_MAP) {
			for (uint32_t i = 0; i < u.data.via.map.size; i++) {
				kv = &u.data.via.map.ptr[i];
				if (h.type == SL_MSG_RESULT &&
				    kv->key.via.str.size == 4 &&
				    memcmp(kv->key.via.str.ptr, "code", 4) == 0)
					code = (int)kv->val.via.u64;
				if (h.type == SL_MSG_RECORD && id_out != NULL &&
				    kv->key.via.str.size == 2 &&
				    memcmp(kv->key.via.str.ptr, "id", 2) == 0)
					snprintf(id_out, idlen, "%.*s",
					    (int)kv->val.via.str.size,
					    kv->val.via.str.ptr);
			}
		}
		msgpack_unpacked_destroy(&u);
		if (h.type == SL_MSG_RESULT)
			return code;
	}
}

static void
cli(const struct node *n, char *const *args, char *out, size_t outlen)
{
	struct tu_run *r = malloc(sizeof *r);
	char *argv[16];
	int k = 0;

	argv[k++] = (char *)tu_prog("samlog");
	argv[k++] = "-d";
	argv[k++] = (char *)n->dir;
	for (; *args; args++)
		argv[k++] = *args;
	argv[k] = NULL;
	if (r == NULL || tu_run(r, argv, NULL) != 0 || r->status != 0) {
		fprintf(stderr, "bench_sync: samlog %s failed: %s\n", argv[3],
		    r ? r->err : "");
		exit(1);
	}
	if (out != NULL) {
		size_t len = strnlen(r->out, sizeof r->out);

		len = len < outlen - 1 ? len : outlen - 1;
		memcpy(out, r->out, len);
		out[len] = 0;
	}
	free(r);
}

static long
events(const struct node *n)
{
	static char out[65536];

	cli(n, (char *const[]){ "status", "--json", NULL }, out, sizeof out);
	return tu_json_num(out, "events");
}

static void
node_init(struct node *n, const char *name)
{
	char out[4096];
	const char *p;

	snprintf(n->dir, sizeof n->dir, "%s/%s", tmp, name);
	cli(n, (char *const[]){ "init", "--org", (char *)name, NULL }, out,
	    sizeof out);
	if ((p = strstr(out, "node_id:")) == NULL)
		die("init printed no node id");
	p += 8 + strspn(p + 8, " ");
	snprintf(n->id, sizeof n->id, "%.*s", (int)strcspn(p, "\n"), p);
}

static void
node_start(struct node *n)
{
	char out[65536], log[600];
	const char *p;
	int fd = -1;

	snprintf(log, sizeof log, "%s.log", n->dir);
	if ((n->pid = fork()) == 0) {
		if (freopen(log, "a", stderr) == NULL)
			_exit(126);
		execl(tu_prog("samlogd"), "samlogd", "-d", n->dir, "--listen",
		    "127.0.0.1:0", "--foreground", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 3000 && (fd = connect_ctl(n)) < 0; i++)
		usleep(10000);
	if (fd < 0)
		die("samlogd did not start");
	close(fd);
	cli(n, (char *const[]){ "status", "--json", NULL }, out, sizeof out);
	if ((p = strstr(out, "\"listen\": \"")) == NULL)
		die("no listen address in status");
	p += 11;
	snprintf(n->listen, sizeof n->listen, "%.*s", (int)strcspn(p, "\""), p);
}

static void
node_stop(struct node *n)
{
	if (n->pid > 0) {
		kill(n->pid, SIGCONT);
		kill(n->pid, SIGTERM);
		waitpid(n->pid, NULL, 0);
		n->pid = 0;
	}
}

static void
trust(const struct node *n, const struct node *m, bool dial)
{
	char name[8];

	snprintf(name, sizeof name, "%s", strrchr(m->dir, '/') + 1);
	if (dial)
		cli(n, (char *const[]){ "peer", "add", name, "--key",
		    (char *)m->id, "--addr", (char *)m->listen, NULL }, NULL, 0);
	else
		cli(n, (char *const[]){ "peer", "add", name, "--key",
		    (char *)m->id, NULL }, NULL, 0);
}

static void
rss_kib(pid_t pid, long *anon, long *file)
{
	char path[64], line[256];
	FILE *f;

	*anon = *file = -1;
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		sscanf(line, "RssAnon: %ld", anon);
		sscanf(line, "RssFile: %ld", file);
	}
	fclose(f);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(void)
{
	const char *e = getenv("BENCH_SYNC_EVENTS");
	const char *lr = getenv("BENCH_LIVE_RUNS");
	long total = e ? atol(e) : 1000000, runs = lr ? atol(lr) : 200;
	struct node a, b, c;
	char err[256];
	double t0, t;
	long anon0, file0, anon1, file1, want;

	signal(SIGPIPE, SIG_IGN);
	if (total < 1 || runs < 1)
		die("BENCH_SYNC_EVENTS and BENCH_LIVE_RUNS must be positive");
	tmp = tu_tmpdir();
	node_init(&a, "a");
	node_init(&b, "b");
	node_init(&c, "c");
	node_start(&a);                     /* its genesis event */
	node_stop(&a);
	t0 = tu_now_s();
	if (tu_fill(a.dir, (size_t)total, err, sizeof err) != 0)
		die(err);
	printf("sync: wrote %ld events into node A in %.1f s\n", total,
	    tu_now_s() - t0);
	node_start(&a);
	node_start(&b);
	want = total + 2;                   /* A's log and B's genesis */

	/* Catch-up, end to end. */
	trust(&a, &b, false);
	t0 = tu_now_s();
	trust(&b, &a, true);
	while (events(&b) < want) {
		if (tu_now_s() - t0 > 1800)
			die("B did not catch up within 30 minutes");
		usleep(20000);
	}
	t = tu_now_s() - t0;
	printf("sync: catch-up of %ld events over TLS, verified, stored and "
	    "projected: %.2f s, %.0f events/s\n", total, t, (double)total / t);

	/* A slow peer: C reads nothing while A has everything to send. */
	node_start(&c);
	rss_kib(a.pid, &anon0, &file0);
	trust(&a, &c, false);
	trust(&c, &a, true);
	for (int i = 0; i < 3000 && events(&c) < 50000; i++)
		usleep(1000);
	kill(c.pid, SIGSTOP);
	sleep(3);
	rss_kib(a.pid, &anon1, &file1);
	printf("sync: node A's memory before a peer connects: RssAnon %ld "
	    "KiB, RssFile %ld KiB; while that peer has stopped reading: "
	    "RssAnon %ld KiB, RssFile %ld KiB\n", anon0, file0, anon1, file1);
	node_stop(&c);

	/* Live propagation. */
	int fa = connect_ctl(&a), fb = connect_ctl(&b);
	double *lat = calloc((size_t)runs, sizeof *lat);
	char name[64], id[64];

	if (fa < 0 || fb < 0 || lat == NULL)
		die("cannot connect to the control sockets");
	for (long i = 0; i < runs; i++) {
		snprintf(name, sizeof name, "Live %ld", i);
		id[0] = '\0';
		if (request(fa, "contact.add", "name", name, id,
		    sizeof id) != 0 || id[0] == '\0')
			die("contact.add failed on A");
		t0 = tu_now_s();
		while (request(fb, "contact.show", "id", id, NULL, 0) != 0) {
			if (tu_now_s() - t0 > 10)
				die("an event did not reach B within 10 s");
		}
		lat[i] = (tu_now_s() - t0) * 1000;
		usleep(5000);
	}
	qsort(lat, (size_t)runs, sizeof *lat, cmp_double);
	printf("sync: live propagation A -> B (A's commit answered until B "
	    "shows the record), %ld runs: p50 %.2f ms, p99 %.2f ms\n", runs,
	    lat[runs / 2], lat[(runs * 99) / 100 < runs ? (runs * 99) / 100 :
	    runs - 1]);
	free(lat);
	close(fa);
	close(fb);
	node_stop(&a);
	node_stop(&b);
	tu_rmtree(tmp);
	return 0;
}
