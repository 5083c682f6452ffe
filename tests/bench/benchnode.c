/*
 * benchnode.c - see benchnode.h.
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
#include <unistd.h>

#include "benchnode.h"
#include "../unit/testutil.h"

void
die(const char *what)
{
	fprintf(stderr, "bench: %s\n", what);
	exit(1);
}

int
connect_ctl(const struct node *n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[600];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(path, sizeof path, "%s/%s", n->dir, SL_CTL_SOCKET);
	if (strlen(path) >= sizeof sa.sun_path)
		die("the node's path is too long for a socket (set TMPDIR)");
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
int
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
	msgpack_pack_map(&pk, key != NULL);
	if (key != NULL) {
		sl_pack_cstr(&pk, key);
		sl_pack_cstr(&pk, val);
	}
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

void
pipeline(int fd, const char *reqs, size_t len, size_t n)
{
	static uint8_t buf[1 << 20];
	size_t results = 0, have = 0;

	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, reqs + off, len - off);

		if (w <= 0)
			die("cannot write to the control socket");
		off += (size_t)w;
	}
	while (results < n) {
		ssize_t r = read(fd, buf + have, sizeof buf - have);
		size_t p = 0;

		if (r <= 0)
			die("the daemon closed the control connection");
		have += (size_t)r;
		while (have - p >= SL_FRAME_HDR) {
			struct sl_frame_hdr h;

			if (sl_frame_hdr_decode(&h, buf + p, sizeof buf -
			    SL_FRAME_HDR) != SL_OK)
				die("a frame from the daemon does not decode");
			if (have - p < SL_FRAME_HDR + h.len)
				break;
			/* code 0 is the byte after "code" */
			if (h.type == SL_MSG_RESULT && (results++, memmem(buf +
			    p + SL_FRAME_HDR, h.len, "\xa4" "code\x00", 6) ==
			    NULL)) {
				fprintf(stderr, "bench: a write failed: %.*s\n",
				    (int)h.len, buf + p + SL_FRAME_HDR);
				exit(1);
			}
			p += SL_FRAME_HDR + h.len;
		}
		memmove(buf, buf + p, have - p);
		have -= p;
	}
}

void
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
		fprintf(stderr, "bench: samlog %s failed: %s\n", argv[3],
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

long
events(const struct node *n)
{
	static char out[65536];

	cli(n, (char *const[]){ "status", "--json", NULL }, out, sizeof out);
	return tu_json_num(out, "events");
}

void
node_init(struct node *n, const char *tmp, const char *name)
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

/* The daemons started and not yet stopped: stopped at exit, so that a
 * benchmark that dies leaves none behind. */
static pid_t running[16];

static void
stop_all(void)
{
	for (size_t i = 0; i < sizeof running / sizeof running[0]; i++)
		if (running[i] > 0) {
			kill(running[i], SIGCONT);
			kill(running[i], SIGTERM);
			waitpid(running[i], NULL, 0);
		}
}

static void
note_running(pid_t was, pid_t now)
{
	static bool registered;

	if (!registered && atexit(stop_all) == 0)
		registered = true;
	for (size_t i = 0; i < sizeof running / sizeof running[0]; i++)
		if (running[i] == was) {
			running[i] = now;
			return;
		}
	if (now > 0)
		die("more than 16 daemons at once");
}

void
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
	note_running(0, n->pid);
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

void
node_stop(struct node *n)
{
	if (n->pid > 0) {
		kill(n->pid, SIGCONT);
		kill(n->pid, SIGTERM);
		waitpid(n->pid, NULL, 0);
		note_running(n->pid, 0);
		n->pid = 0;
	}
}

void
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

void
rss_kib(pid_t pid, long *anon, long *file)
{
	*anon = tu_proc_kib(pid, "RssAnon");
	*file = tu_proc_kib(pid, "RssFile");
}

int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

