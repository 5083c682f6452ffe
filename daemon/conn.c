/*
 * conn.c - peer connections: TCP, TLS and frames (see conn.h).
 *
 * A connection is a TCP handle, a TLS state on memory BIOs (tls.c) and a
 * keepalive timer; it is freed when both handles have closed, never
 * before, and the set's list keeps it until then so that conn_set_close
 * finds it.  Bytes read are decrypted into a per-connection buffer that
 * grows to one frame at most (SL_PEER_FRAME_MAX and its header); frames
 * are handed up as soon as they are complete.  Writes are counted while
 * libuv holds them: the owner asks conn_has_room() before producing
 * more, so a slow reader costs its queue and nothing else, and one that
 * lets CONN_QUEUE_MAX pile up is cut off.
 *
 * Anyone can open a TCP connection, so until the owner claims one (a
 * member's key, conn_set_data) it is a stranger's: strangers share a few
 * handshake slots, fewer per address, and what is logged about them is
 * rate-limited.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "log.h"

#define KEEPALIVE_MS 10000        /* PING after this much quiet */
#define SILENCE_MS 30000          /* nothing heard this long: give up */
#define HANDSHAKE_MS 5000
#define CLOSE_MS 5000             /* a closing connection's last words */
#define MAX_CONNS 256              /* accepted connections */
#define MAX_HANDSHAKES 64         /* accepted, not yet through TLS */
#define MAX_HANDSHAKES_ADDR 8     /* of those, from one address */
#define STRANGER_LOG_MAX 20       /* lines on strangers' connections */
#define STRANGER_LOG_MS 60000     /* per this long (and one on drops) */
#define IN_ROOM 16384             /* free input space wanted per read */
#define IN_MAX (SL_PEER_FRAME_MAX + SL_FRAME_HDR + 65536)

struct wreq {
	uv_write_t req;
	size_t len;
	char *buf;
};

struct conn {
	struct conn_set *set;
	struct conn *next;
	void *data;               /* the owner's; NULL: a stranger's */
	uv_tcp_t tcp;
	uv_timer_t ka;
	uv_connect_t connect;
	uv_shutdown_t shut;
	int handles;
	struct tls tls;
	bool outgoing, established, framed, closing, in_close;
	char addr[80];
	uint8_t src[16];          /* the address it came from (addr_source) */
	size_t srclen;
	uint8_t *in;
	size_t in_off, in_len, in_cap;
	size_t queued;
	uint64_t opened, last_rx, last_tx, closing_at;
};

struct conn_set {
	uv_loop_t *loop;
	struct conn_cbs cb;
	void *ctx;
	SSL_CTX *ssl;
	uv_tcp_t *listener;     /* NULL: not listening */
	char listen_addr[CONFIG_ADDR_MAX + 1];
	struct conn *conns;
	bool closing;
	uint64_t drops, drop_logged; /* connections dropped since the last
	                                line that said so, and when (ms) */
	uint64_t slog_since, slog_lines, slog_quiet; /* stranger_log */
	struct sl_buf frame;
	char rbuf[64 * 1024];
};

/* A lookup in progress for conn_resolve. */
struct resolve {
	uv_getaddrinfo_t req;
	conn_resolved_fn cb;
	void *data;
};

static void conn_close_handles(struct conn *c);

/*
 * A line about a connection from a stranger: one that has not shown a
 * member's key (yet).  Anyone can open connections, so at most
 * STRANGER_LOG_MAX such lines are written per STRANGER_LOG_MS; past that
 * they are counted, and the count goes out with the next line written.
 */
static void
stranger_log(struct conn_set *set, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
stranger_log(struct conn_set *set, const char *fmt, ...)
{
	uint64_t now = sl_now_ms();
	char line[400], left[64] = "";
	va_list ap;

	if (now - set->slog_since >= STRANGER_LOG_MS) {
		set->slog_since = now;
		set->slog_lines = 0;
	}
	if (set->slog_lines >= STRANGER_LOG_MAX) {
		set->slog_quiet++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (set->slog_quiet > 0)
		snprintf(left, sizeof left, " (%llu like it left out before)",
		    (unsigned long long)set->slog_quiet);
	log_warn("%s%s%s", line, left, ++set->slog_lines == STRANGER_LOG_MAX ?
	    " (more like it this minute are only counted)" : "");
	set->slog_quiet = 0;
}

/* ---- writing ---------------------------------------------------------- */

static void
write_cb(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = req->handle->data;

	c->queued -= w->len;
	free(w->buf);
	free(w);
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c, false, "write failed: %s", uv_strerror(status));
		return;
	}
	if (c->queued < CONN_LOW_WATER)
		c->set->cb.writable(c->set->ctx, c);
}

/* Sends whatever TLS has produced for the network. */
static void
conn_flush(struct conn *c)
{
	struct wreq *w;
	char *buf;
	size_t n;

	while ((n = tls_take_out(&c->tls, &buf)) > 0) {
		if ((w = malloc(sizeof *w)) == NULL) {
			free(buf);
			return;
		}
		w->buf = buf;
		w->len = n;
		uv_buf_t b = uv_buf_init(buf, (unsigned)n);
		int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1,
		    write_cb);

		if (rc != 0) {
			free(buf);
			free(w);
			if (!c->closing)
				conn_close(c, false, "write failed: %s",
				    uv_strerror(rc));
			return;
		}
		c->queued += n;
	}
}

/* Sends one frame (header and body in one TLS write). */
static int
conn_send(struct conn *c, uint8_t type, const void *body, size_t len)
{
	struct sl_frame_hdr h = { SL_CTL_VERSION, type, 0, 0, (uint32_t)len };
	struct sl_buf *g = &c->set->frame;
	uint8_t hb[SL_FRAME_HDR];

	if (c->closing || !c->established)
		return -1;
	if (c->queued > CONN_QUEUE_MAX) {
		conn_close(c, false, "the peer is not reading (%zu bytes "
		    "queued)", c->queued);
		return -1;
	}
	sl_frame_hdr_encode(hb, &h);
	if (body == g->p) {
		/* The body was built in the frame buffer with room for the
		 * header. */
		memcpy(g->p, hb, SL_FRAME_HDR);
		if (tls_write(&c->tls, g->p, SL_FRAME_HDR + len) != 0)
			goto fail;
	} else if (tls_write(&c->tls, hb, SL_FRAME_HDR) != 0 ||
	    (len > 0 && tls_write(&c->tls, body, len) != 0)) {
		goto fail;
	}
	c->last_tx = sl_now_ms();
	conn_flush(c);
	return c->closing ? -1 : 0;
fail:
	conn_close(c, false, "%s", c->tls.why[0] ? c->tls.why :
	    "TLS write failed");
	return -1;
}

/* Frames are built in the frame buffer behind SL_FRAME_HDR bytes of room,
 * where conn_send puts the header: one TLS record write per frame. */
struct sl_buf *
conn_frame_begin(struct conn_set *set)
{
	set->frame.len = 0;
	set->frame.failed = false;
	sl_buf_write(&set->frame, "\0\0\0\0\0\0\0\0\0\0\0\0", SL_FRAME_HDR);
	return &set->frame;
}

int
conn_frame_send(struct conn *c, uint8_t type)
{
	struct sl_buf *g = &c->set->frame;

	if (g->p == NULL || g->failed)
		return -1;
	return conn_send(c, type, g->p, g->len - SL_FRAME_HDR);
}

/* ---- closing ---------------------------------------------------------- */

static void
conn_free(struct conn *c)
{
	struct conn_set *set = c->set;

	for (struct conn **pp = &set->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (c->data != NULL)
		set->cb.freed(set->ctx, c->data);
	tls_free(&c->tls);
	free(c->in);
	free(c);
}

static void
handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (--c->handles == 0)
		conn_free(c);
}

static void
conn_close_handles(struct conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, handle_closed);
	if (!uv_is_closing((uv_handle_t *)&c->ka))
		uv_close((uv_handle_t *)&c->ka, handle_closed);
}

static void
shutdown_cb(uv_shutdown_t *req, int status)
{
	(void)status;
	conn_close_handles(req->data);
}

void
conn_close(struct conn *c, bool bye, const char *fmt, ...)
{
	struct conn_set *set = c->set;
	char why[300];
	va_list ap;

	if (c->closing || c->in_close)
		return;
	c->in_close = true;   /* a failing BYE must not close us twice */
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (bye && c->established) {
		msgpack_packer pk;

		msgpack_packer_init(&pk, conn_frame_begin(set), sl_buf_write);
		sl_wire_pack_bye(&pk, why);
		conn_frame_send(c, SL_PEER_BYE);
	}
	c->closing = true;
	c->closing_at = sl_now_ms();
	if (c->data == NULL && !set->closing)
		stranger_log(set, "connection from %s refused: %s", c->addr,
		    why);
	uv_read_stop((uv_stream_t *)&c->tcp);
	/* Let what is queued (the TLS alert or BYE) go out first, but only
	 * for CLOSE_MS: the keepalive timer cuts it off. */
	conn_flush(c);
	c->shut.data = c;
	if (c->tcp.type != UV_TCP || !uv_is_writable((uv_stream_t *)&c->tcp) ||
	    uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, shutdown_cb) != 0)
		conn_close_handles(c);
	set->cb.closed(set->ctx, c, bye, why);
}

static void
ka_cb(uv_timer_t *t)
{
	struct conn *c = t->data;
	uint64_t now = sl_now_ms();

	c->set->cb.tick(c->set->ctx);
	if (c->closing) {
		if (now - c->closing_at >= CLOSE_MS)
			conn_close_handles(c);
		return;
	}
	if (!c->established && now - c->opened >= HANDSHAKE_MS) {
		conn_close(c, false, "no TLS handshake within %d s",
		    HANDSHAKE_MS / 1000);
		return;
	}
	if (c->established && now - c->last_rx >= SILENCE_MS) {
		conn_close(c, false, "nothing heard for %d s", SILENCE_MS /
		    1000);
		return;
	}
	if (c->established && now - c->last_tx >= KEEPALIVE_MS)
		conn_send(c, SL_PEER_PING, "\xc0", 1);
}

/* ---- reading ------------------------------------------------------------ */

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->set->rbuf, sizeof c->set->rbuf);
}

/* Room for IN_ROOM more bytes in c->in: compacts, then grows up to
 * IN_MAX.  0, or -1 with c closed. */
static int
in_reserve(struct conn *c)
{
	if (c->in_cap - c->in_len >= IN_ROOM)
		return 0;
	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_cap - c->in_len < IN_ROOM) {
		size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
		uint8_t *n;

		if (cap > IN_MAX)
			cap = IN_MAX;
		if (cap <= c->in_cap || (n = realloc(c->in, cap)) == NULL) {
			conn_close(c, false, "out of memory");
			return -1;
		}
		c->in = n;
		c->in_cap = cap;
	}
	return 0;
}

/* Decrypts what is available and hands up every complete frame. */
static void
conn_progress(struct conn *c)
{
	struct conn_set *set = c->set;

	if (!c->established) {
		int r = tls_handshake(&c->tls);

		conn_flush(c);
		if (r < 0) {
			conn_close(c, false, "%s", c->tls.why);
			return;
		}
		if (r == 0)
			return;
		c->established = true;
		c->last_rx = c->last_tx = sl_now_ms();
		set->cb.established(set->ctx, c);
		if (c->closing)
			return;
	}
	for (;;) {
		if (in_reserve(c) != 0)
			return;
		int got = tls_read(&c->tls, c->in + c->in_len,
		    c->in_cap - c->in_len);

		if (got < 0) {
			/* A TLS 1.3 server checks the client's certificate
			 * after the client's handshake is done: a dialled
			 * peer that does not take this node says so with an
			 * alert in place of its first frame. */
			if (c->outgoing && !c->framed &&
			    strstr(c->tls.why, "alert") != NULL)
				conn_close(c, false, "the peer refused this node "
				    "(is it a member there?): %s", c->tls.why);
			else
				conn_close(c, false, "%s", c->tls.why);
			return;
		}
		if (got == 0)
			break;
		c->in_len += (size_t)got;
		c->last_rx = sl_now_ms();
		while (!c->closing && c->in_len - c->in_off >= SL_FRAME_HDR) {
			struct sl_frame_hdr h;
			int rc = sl_frame_hdr_decode_n(&h, c->in + c->in_off,
			    SL_PEER_FRAME_MAX, SL_PEER_COUNT);

			if (rc != SL_OK) {
				conn_close(c, true, "bad frame header (%s)",
				    sl_strerror(rc));
				return;
			}
			if (c->in_len - c->in_off < SL_FRAME_HDR + h.len)
				break;
			c->framed = true;
			set->cb.frame(set->ctx, c, &h,
			    c->in + c->in_off + SL_FRAME_HDR);
			c->in_off += SL_FRAME_HDR + h.len;
		}
		if (c->closing)
			return;
		if (c->in_off == c->in_len)
			c->in_off = c->in_len = 0;
	}
	conn_flush(c);
}

static void
read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	if (c->closing || nread == 0)
		return;
	if (nread < 0) {
		conn_close(c, false, "%s", nread == UV_EOF ?
		    "connection closed by the peer" : uv_strerror((int)nread));
		return;
	}
	if (tls_feed(&c->tls, buf->base, (size_t)nread) != 0) {
		conn_close(c, false, "out of memory");
		return;
	}
	conn_progress(c);
}

/* ---- accepting ---------------------------------------------------------- */

static struct conn *
conn_new(struct conn_set *set, bool outgoing)
{
	struct conn *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	c->set = set;
	c->outgoing = outgoing;
	c->opened = sl_now_ms();
	if (tls_init(&c->tls, set->ssl, outgoing, set->cb.admit,
	    set->ctx) != 0) {
		free(c);
		return NULL;
	}
	uv_tcp_init(set->loop, &c->tcp);
	uv_timer_init(set->loop, &c->ka);
	c->tcp.data = c->ka.data = c;
	c->handles = 2;
	c->next = set->conns;
	set->conns = c;
	uv_timer_start(&c->ka, ka_cb, 1000, 1000);
	return c;
}

static void
addr_text(char *out, size_t len, const struct sockaddr *sa)
{
	char host[64] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		uv_ip4_name(in, host, sizeof host);
		port = ntohs(in->sin_port);
		snprintf(out, len, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		uv_ip6_name(in6, host, sizeof host);
		port = ntohs(in6->sin6_port);
		snprintf(out, len, "[%s]:%d", host, port);
	} else {
		snprintf(out, len, "?");
	}
}

/* Where a connection comes from, for the limit per address: an IPv4
 * address, or the /64 of an IPv6 one (what one host is given). */
static size_t
addr_source(uint8_t out[16], const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		memcpy(out, &in->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		const uint8_t *b = in6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			memcpy(out, b + 12, 4);
			return 4;
		}
		memcpy(out, b, 8);
		return 8;
	}
	return 0;
}

/* Notes a connection dropped at accept.  A flood of them must not flood
 * the log: one line, then at most one a minute, with the count. */
static void
drop_note(struct conn_set *set, const char *addr, const char *why)
{
	uint64_t now = sl_now_ms();

	if (set->drop_logged != 0 && now - set->drop_logged < STRANGER_LOG_MS) {
		set->drops++;
		return;
	}
	if (set->drops > 0)
		log_warn("connection from %s dropped: %s (and %llu more in the "
		    "last %d s)", addr, why, (unsigned long long)set->drops,
		    (int)((now - set->drop_logged) / 1000));
	else
		log_warn("connection from %s dropped: %s (more such drops are "
		    "logged at most once a minute)", addr, why);
	set->drops = 0;
	set->drop_logged = now;
}

/*
 * Why c, just accepted, may not stay ("" if it may).  Strangers may hold
 * only a few slots, and only for the handshake (HANDSHAKE_MS); outgoing
 * dials are never refused for want of a slot.  The limit per address
 * keeps one host's idle connections from locking every other peer out;
 * many hosts together still can, for as long as they keep it up.
 */
static void
accept_limits(const struct conn_set *set, const struct conn *c, char *why,
    size_t wlen)
{
	size_t pending = 0, same = 0, in = 0;

	for (const struct conn *k = set->conns; k != NULL; k = k->next) {
		if (k == c || k->outgoing || k->closing)
			continue;
		in++;
		if (k->established)
			continue;
		pending++;
		same += k->srclen == c->srclen &&
		    memcmp(k->src, c->src, c->srclen) == 0;
	}
	why[0] = '\0';
	if (same >= MAX_HANDSHAKES_ADDR)
		snprintf(why, wlen, "%zu TLS handshakes pending from that "
		    "address already", same);
	else if (pending >= MAX_HANDSHAKES)
		snprintf(why, wlen, "%zu TLS handshakes pending already",
		    pending);
	else if (in >= MAX_CONNS)
		snprintf(why, wlen, "%zu peer connections already", in);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct conn_set *set = server->data;
	struct sockaddr_storage ss;
	int sl = sizeof ss;
	struct conn *c;
	char why[80];

	if (status < 0) {
		log_warn("accepting a peer failed: %s", uv_strerror(status));
		return;
	}
	if ((c = conn_new(set, false)) == NULL) {
		uv_tcp_t *tmp = malloc(sizeof *tmp);

		/* Out of memory: take it and close it at once. */
		if (tmp == NULL)
			return;
		uv_tcp_init(set->loop, tmp);
		if (uv_accept(server, (uv_stream_t *)tmp) == 0)
			drop_note(set, "?", "out of memory");
		uv_close((uv_handle_t *)tmp, (uv_close_cb)free);
		return;
	}
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c, false, "accept failed");
		return;
	}
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
		addr_text(c->addr, sizeof c->addr, (struct sockaddr *)&ss);
		c->srclen = addr_source(c->src, (struct sockaddr *)&ss);
	}
	accept_limits(set, c, why, sizeof why);
	if (why[0] != '\0') {
		/* Dropped before the owner could see it: not reported. */
		drop_note(set, c->addr, why);
		c->closing = true;
		c->closing_at = sl_now_ms();
		conn_close_handles(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

int
conn_listen(struct conn_set *set, const char *addr, char *err, size_t errlen)
{
	char host[CONFIG_ADDR_MAX + 1], why[160];
	unsigned port;
	struct sockaddr_storage ss;
	int len = sizeof ss, rc;
	uv_tcp_t *l;

	if (addr[0] == '\0') {
		if (set->listener != NULL) {
			uv_close((uv_handle_t *)set->listener,
			    (uv_close_cb)free);
			set->listener = NULL;
			log_info("no longer listening for peers on %s",
			    set->listen_addr);
		}
		set->listen_addr[0] = '\0';
		return 0;
	}
	if (!config_addr_split(addr, host, sizeof host, &port, true, why,
	    sizeof why)) {
		snprintf(err, errlen, "listen: %s", why);
		return -1;
	}
	if (strcmp(host, "*") == 0)
		snprintf(host, sizeof host, "0.0.0.0");
	if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)&ss) != 0) {
		snprintf(err, errlen, "listen: \"%s\" is not an IP address",
		    host);
		return -1;
	}
	/* The new listener is bound before the old one closes: a reload to
	 * an address that cannot be had keeps the node reachable. */
	if ((l = malloc(sizeof *l)) == NULL) {
		snprintf(err, errlen, "cannot listen on %s: out of memory",
		    addr);
		return -1;
	}
	uv_tcp_init(set->loop, l);
	l->data = set;
	if ((rc = uv_tcp_bind(l, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)l, 64, on_connection)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr,
		    uv_strerror(rc));
		uv_close((uv_handle_t *)l, (uv_close_cb)free);
		return -1;
	}
	if (set->listener != NULL) {
		uv_close((uv_handle_t *)set->listener, (uv_close_cb)free);
		log_info("no longer listening for peers on %s",
		    set->listen_addr);
	}
	set->listener = l;
	if (uv_tcp_getsockname(l, (struct sockaddr *)&ss, &len) == 0)
		addr_text(set->listen_addr, sizeof set->listen_addr,
		    (struct sockaddr *)&ss);
	log_info("listening for peers on %s", set->listen_addr);
	return 0;
}

const char *
conn_listen_addr(const struct conn_set *set)
{
	return set->listen_addr;
}

/* ---- dialling ------------------------------------------------------------ */

static void
resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct resolve *r = (struct resolve *)req;

	r->cb(r->data, status < 0 || res == NULL ? status : 0,
	    status < 0 || res == NULL ? NULL : res->ai_addr);
	uv_freeaddrinfo(res);
	free(r);
}

int
conn_resolve(struct conn_set *set, const char *addr, conn_resolved_fn cb,
    void *data, char *err, size_t errlen)
{
	char host[CONFIG_ADDR_MAX + 1], port[8];
	unsigned pn;
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM };
	struct resolve *r;
	int rc;

	if (!config_addr_split(addr, host, sizeof host, &pn, false, err,
	    errlen))
		return SL_EVALUE;
	if ((r = malloc(sizeof *r)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return SL_ENOMEM;
	}
	snprintf(port, sizeof port, "%u", pn);
	r->cb = cb;
	r->data = data;
	if ((rc = uv_getaddrinfo(set->loop, &r->req, resolved_cb, host, port,
	    &hints)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", addr,
		    uv_strerror(rc));
		free(r);
		return SL_EIO;
	}
	return SL_OK;
}

static void
connect_cb(uv_connect_t *req, int status)
{
	struct conn *c = req->data;

	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c, false, "cannot connect to %s: %s", c->addr,
		    uv_strerror(status));
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
	conn_progress(c);   /* the ClientHello */
}

int
conn_dial(struct conn_set *set, const struct sockaddr *sa, void *data,
    struct conn **out)
{
	struct conn *c;
	int rc;

	*out = NULL;
	if (set->closing)
		return SL_EINVAL;
	if ((c = conn_new(set, true)) == NULL)
		return SL_ENOMEM;
	c->data = data;
	*out = c;
	addr_text(c->addr, sizeof c->addr, sa);
	c->connect.data = c;
	if ((rc = uv_tcp_connect(&c->connect, &c->tcp, sa, connect_cb)) != 0)
		conn_close(c, false, "cannot connect to %s: %s", c->addr,
		    uv_strerror(rc));
	return SL_OK;
}

/* ---- one connection ------------------------------------------------------ */

void *
conn_data(const struct conn *c)
{
	return c->data;
}

void
conn_set_data(struct conn *c, void *data)
{
	c->data = data;
}

const char *
conn_addr(const struct conn *c)
{
	return c->addr;
}

const uint8_t *
conn_key(const struct conn *c)
{
	return c->tls.key;
}

bool
conn_outgoing(const struct conn *c)
{
	return c->outgoing;
}

bool
conn_closing(const struct conn *c)
{
	return c->closing;
}

bool
conn_has_room(const struct conn *c)
{
	return !c->closing && c->queued < CONN_HIGH_WATER;
}

uint64_t
conn_last_rx(const struct conn *c)
{
	return c->last_rx;
}

/* ---- the set --------------------------------------------------------------- */

int
conn_set_new(struct conn_set **out, uv_loop_t *loop, const struct sl_key *key,
    const struct conn_cbs *cbs, void *ctx, char *err, size_t errlen)
{
	struct conn_set *set = calloc(1, sizeof *set);

	*out = NULL;
	if (set == NULL) {
		snprintf(err, errlen, "out of memory");
		return SL_ENOMEM;
	}
	if ((set->ssl = tls_ctx_new(key, err, errlen)) == NULL) {
		free(set);
		return SL_EINVAL;
	}
	set->loop = loop;
	set->cb = *cbs;
	set->ctx = ctx;
	*out = set;
	return SL_OK;
}

void
conn_set_close(struct conn_set *set, const char *why)
{
	set->closing = true;
	for (struct conn *c = set->conns; c != NULL; c = c->next) {
		conn_close(c, true, "%s", why);
		conn_close_handles(c);
	}
	if (set->listener != NULL)
		uv_close((uv_handle_t *)set->listener, (uv_close_cb)free);
	set->listener = NULL;
}

void
conn_set_free(struct conn_set *set)
{
	if (set == NULL)
		return;
	tls_ctx_free(set->ssl);
	free(set->frame.p);
	free(set);
}
