/*
 * control.c - accepting clients on the Unix socket and framing messages.
 *
 * Each connection reads into a buffer that only ever holds one frame: the
 * 12-byte header is checked (version, type, flags, length against the
 * cap) before the body is buffered, so a malformed or oversized frame
 * closes that connection, with one log line, and costs nothing more.
 * Replies are queued with uv_write; when a client stops reading and more
 * than CTL_HIGH_MARK bytes are waiting, we stop reading its requests until
 * the queue drains below CTL_LOW_MARK (bgpd's CTL_MSG_HIGH_MARK idea).
 *
 * A connection is freed when it is closed and no pending reply holds a
 * reference to it (group-committed writes answer one loop turn later).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "samlog_proto.h"

#define CTL_HIGH_MARK (8u << 20)
#define CTL_LOW_MARK (1u << 20)

struct control {
	uv_loop_t *loop;
	uv_pipe_t server;
	char *path;
	control_request_fn fn;
	void *ctx;
	struct ctl_conn *conns; /* open connections */
	size_t n_conns;
};

struct ctl_conn {
	uv_pipe_t pipe;
	struct control *ctl;
	struct ctl_conn *next;
	uint8_t *buf;
	size_t len, cap;
	size_t queued;     /* bytes written but not yet flushed */
	uint8_t *out;      /* replies gathered until ctl_flush */
	size_t out_len, out_cap;
	bool reading_paused;
	bool closed;
	int refs;
	uid_t uid;         /* (uid_t)-1: unknown */
	char user[SL_AUTHOR_MAX + 8];
};

struct ctl_write {
	uv_write_t req;
	struct ctl_conn *c;
	size_t len;
	uint8_t data[];
};

static void conn_close(struct ctl_conn *c, const char *why);

static void
conn_free_if_done(struct ctl_conn *c)
{
	if (c->closed && c->refs == 0) {
		free(c->buf);
		free(c->out);
		free(c);
	}
}

void
ctl_conn_ref(struct ctl_conn *c)
{
	c->refs++;
}

void
ctl_conn_unref(struct ctl_conn *c)
{
	c->refs--;
	conn_free_if_done(c);
}

bool
ctl_conn_alive(const struct ctl_conn *c)
{
	return !c->closed && !uv_is_closing((const uv_handle_t *)&c->pipe);
}

const char *
ctl_conn_user(const struct ctl_conn *c)
{
	return c->user;
}

uid_t
ctl_conn_uid(const struct ctl_conn *c)
{
	return c->uid;
}

size_t
control_conn_count(const struct control *ctl)
{
	return ctl->n_conns;
}

static void
conn_close_cb(uv_handle_t *h)
{
	struct ctl_conn *c = h->data;

	c->closed = true;
	conn_free_if_done(c);
}

static void
conn_close(struct ctl_conn *c, const char *why)
{
	struct control *ctl = c->ctl;

	if (uv_is_closing((uv_handle_t *)&c->pipe))
		return;
	if (why != NULL)
		log_warn("control: closing the connection of %s: %s", c->user,
		    why);
	for (struct ctl_conn **pp = &ctl->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			ctl->n_conns--;
			break;
		}
	}
	uv_close((uv_handle_t *)&c->pipe, conn_close_cb);
}

static void
write_cb(uv_write_t *req, int status)
{
	struct ctl_write *w = (struct ctl_write *)req;
	struct ctl_conn *c = w->c;

	c->queued -= w->len;
	if (status < 0 && status != UV_ECANCELED)
		conn_close(c, uv_strerror(status));
	else if (c->reading_paused && c->queued < CTL_LOW_MARK &&
	    !uv_is_closing((uv_handle_t *)&c->pipe)) {
		c->reading_paused = false;
		uv_read_start((uv_stream_t *)&c->pipe, NULL, NULL);
	}
	free(w);
	ctl_conn_unref(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* Replies are gathered per connection and written with one uv_write per
 * request (ctl_flush), not one per frame: a list of 100 records is one
 * system call on each side instead of a hundred. */
void
ctl_send(struct ctl_conn *c, uint8_t type, uint32_t id, const void *body,
    size_t len)
{
	struct sl_frame_hdr h = { SL_CTL_VERSION, type, 0, id, (uint32_t)len };

	if (!ctl_conn_alive(c))
		return;
	if (c->out_len + SL_FRAME_HDR + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;

		while (cap < c->out_len + SL_FRAME_HDR + len)
			cap *= 2;
		uint8_t *nb = realloc(c->out, cap);

		if (nb == NULL) {
			conn_close(c, "out of memory for a reply");
			return;
		}
		c->out = nb;
		c->out_cap = cap;
	}
	sl_frame_hdr_encode(c->out + c->out_len, &h);
	if (len > 0)
		memcpy(c->out + c->out_len + SL_FRAME_HDR, body, len);
	c->out_len += SL_FRAME_HDR + len;
}

void
ctl_flush(struct ctl_conn *c)
{
	struct ctl_write *w;

	if (c->out_len == 0)
		return;
	if (!ctl_conn_alive(c)) {
		c->out_len = 0;
		return;
	}
	if ((w = malloc(sizeof *w + c->out_len)) == NULL) {
		conn_close(c, "out of memory for a reply");
		return;
	}
	memcpy(w->data, c->out, c->out_len);
	w->c = c;
	w->len = c->out_len;
	c->out_len = 0;
	if (c->out_cap > (1u << 20)) { /* do not keep a huge buffer idle */
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);

	c->queued += w->len;
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, write_cb) != 0) {
		c->queued -= w->len;
		free(w);
		conn_close(c, "cannot write");
		return;
	}
	/* write_cb's reference: libuv calls it on a later loop turn, never
	 * from inside uv_write. */
	ctl_conn_ref(c);
	if (!c->reading_paused && c->queued > CTL_HIGH_MARK) {
		c->reading_paused = true;
		uv_read_stop((uv_stream_t *)&c->pipe);
	}
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ctl_conn *c = h->data;
	size_t want = c->len + 65536;

	(void)suggested;
	if (want > SL_FRAME_HDR + SL_CTL_FRAME_MAX)
		want = SL_FRAME_HDR + SL_CTL_FRAME_MAX;
	if (want > c->cap) {
		uint8_t *nb = realloc(c->buf, want);

		if (nb == NULL) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		c->buf = nb;
		c->cap = want;
	}
	*buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct ctl_conn *c = s->data;
	struct control *ctl = c->ctl;

	(void)buf;
	if (n < 0) {
		conn_close(c, n == UV_EOF ? NULL : uv_strerror((int)n));
		return;
	}
	c->len += (size_t)n;
	/* Handle every complete frame in the buffer. */
	ctl_conn_ref(c);
	while (c->len >= SL_FRAME_HDR && !uv_is_closing((uv_handle_t *)s)) {
		struct sl_frame_hdr h;
		int rc = sl_frame_hdr_decode(&h, c->buf, SL_CTL_FRAME_MAX);
		char why[96];

		if (rc != SL_OK) {
			snprintf(why, sizeof why, "bad frame header: %s",
			    sl_strerror(rc));
			conn_close(c, why);
			break;
		}
		if (h.type != SL_MSG_REQUEST) {
			snprintf(why, sizeof why, "unexpected %s frame",
			    sl_msg_name(h.type));
			conn_close(c, why);
			break;
		}
		if (c->len < SL_FRAME_HDR + h.len)
			break;
		ctl->fn(ctl->ctx, c, h.id, c->buf + SL_FRAME_HDR, h.len);
		memmove(c->buf, c->buf + SL_FRAME_HDR + h.len,
		    c->len - SL_FRAME_HDR - h.len);
		c->len -= SL_FRAME_HDR + h.len;
	}
	ctl_flush(c);
	ctl_conn_unref(c);
}

static void
peer_user(struct ctl_conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	uv_os_fd_t fd;
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	snprintf(c->user, sizeof c->user, "unknown");
	c->uid = (uid_t)-1;
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return;
	c->uid = cred.uid;
	if (getpwuid_r(cred.uid, &pw, pwbuf, sizeof pwbuf, &res) == 0 &&
	    res != NULL && sl_utf8_valid(pw.pw_name, strlen(pw.pw_name)) &&
	    strlen(pw.pw_name) <= SL_AUTHOR_MAX)
		snprintf(c->user, sizeof c->user, "%s", pw.pw_name);
	else
		snprintf(c->user, sizeof c->user, "uid%u", (unsigned)cred.uid);
}

static void
connection_cb(uv_stream_t *server, int status)
{
	struct control *ctl = server->data;
	struct ctl_conn *c;

	if (status < 0) {
		log_warn("control: accept: %s", uv_strerror(status));
		return;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		log_warn("control: out of memory for a connection");
		return;
	}
	c->ctl = ctl;
	uv_pipe_init(ctl->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		c->closed = false;
		uv_close((uv_handle_t *)&c->pipe, conn_close_cb);
		return;
	}
	peer_user(c);
	c->next = ctl->conns;
	ctl->conns = c;
	ctl->n_conns++;
	uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
}

static void
server_close_cb(uv_handle_t *h)
{
	struct control *ctl = h->data;

	free(ctl->path);
	free(ctl);
}

int
control_open(struct control **out, uv_loop_t *loop, const char *path,
    const char *group, control_request_fn fn, void *ctx, char *err,
    size_t errlen)
{
	struct control *ctl = calloc(1, sizeof *ctl);
	int rc;

	*out = NULL;
	if (ctl == NULL || (ctl->path = strdup(path)) == NULL) {
		free(ctl);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ctl->loop = loop;
	ctl->fn = fn;
	ctl->ctx = ctx;
	uv_pipe_init(loop, &ctl->server, 0);
	ctl->server.data = ctl;
	unlink(path); /* stale: the node lock says no daemon owns it */
	mode_t old = umask(0177);

	rc = uv_pipe_bind(&ctl->server, path);
	umask(old);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&ctl->server, 128, connection_cb);
	if (rc != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
		    uv_strerror(rc));
		uv_close((uv_handle_t *)&ctl->server, server_close_cb);
		return -1;
	}
	if (group != NULL && group[0] != '\0') {
		struct group *g = getgrnam(group);

		if (g == NULL || chown(path, (uid_t)-1, g->gr_gid) != 0 ||
		    chmod(path, 0660) != 0) {
			snprintf(err, errlen, "cannot give group %s the socket %s: "
			    "%s", group, path, g ? strerror(errno) :
			    "no such group");
			uv_close((uv_handle_t *)&ctl->server, server_close_cb);
			return -1;
		}
	} else {
		chmod(path, 0600);
	}
	*out = ctl;
	return 0;
}

void
control_close(struct control *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->conns != NULL)
		conn_close(ctl->conns, NULL);
	if (!uv_is_closing((uv_handle_t *)&ctl->server)) {
		unlink(ctl->path);
		uv_close((uv_handle_t *)&ctl->server, server_close_cb);
	}
}
