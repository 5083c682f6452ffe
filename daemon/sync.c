/*
 * sync.c - peers and the sync protocol (see sync.h and PROTOCOL.md).
 *
 * Everything runs on the daemon's one libuv loop.  A connection is a TCP
 * handle, a TLS state on memory BIOs (tls.c) and a keepalive timer.  What
 * a peer holds and wants is kept per peer as a small table of origins
 * (struct ostate): `has` is what the peer said it holds, `sent` what this
 * connection has sent since it began.  The pump reads the next batch of
 * events for the peer straight from the log whenever the connection's
 * output queue is below SYNC_HIGH_WATER, so a slow reader holds back only
 * the reading of the log, never memory: catch-up and live push are the
 * same loop.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sync.h"
#include "tls.h"

#define BATCH_BYTES (256u << 10)  /* an EVENTS frame ends on the first
                                     signed event past this */
#define BATCH_EVENTS 4096
#define FRAME_BODY_MAX SL_PEER_FRAME_MAX
#define KEEPALIVE_MS 10000        /* PING after this much quiet */
#define SILENCE_MS 30000          /* nothing heard this long: give up */
#define HANDSHAKE_MS 5000
#define HOLD_MS 10000             /* own events claimed but not coming */
#define HOLD_TEXT "10 s"          /* HOLD_MS, for the log */
#define CLOSE_MS 5000             /* a closing connection's last words */
#define BACKOFF_MIN_MS 2000       /* redial after [b/2, b], b doubling */
#define BACKOFF_MAX_MS 60000
#define MAX_CONNS 256              /* accepted connections */
#define MAX_HANDSHAKES 64         /* accepted, not yet through TLS */
#define MAX_HANDSHAKES_ADDR 8     /* of those, from one address */
#define STRANGER_LOG_MAX 20       /* lines on strangers' connections */
#define STRANGER_LOG_MS 60000     /* per this long (and one on drops) */
#define VECTOR_MAX SL_PEER_VECTOR_MAX
#define CARRY_MAX SL_SIGN_INTERVAL

struct ostate {
	uint8_t origin[SL_KEY_LEN];
	uint64_t has;   /* the peer holds up to here (its HELLO/HAVE) */
	uint64_t sent;  /* this connection sent up to here */
	bool want;      /* in the peer's vector: it accepts this origin */
	bool refused;   /* refused from this peer until it reconnects */
	bool unsendable;/* this node cannot read it from its log */
	bool bodywait;  /* stopped before an event whose body we lack */
};

struct ann {
	uint8_t origin[SL_KEY_LEN];
	uint64_t seq;   /* last seq this node announced to the connection */
};

struct conn;

struct peer {
	struct sync *sy;
	struct config_peer cfg;
	struct conn *conn;       /* the established connection, or NULL */
	struct conn *dialing;    /* an outgoing attempt in progress */
	uv_timer_t redial;
	uv_getaddrinfo_t gai;
	bool resolving, removed, timer_open;
	unsigned backoff;
	uint64_t since, last_contact; /* ms */
	struct ostate *os;
	size_t nos, cap;
	uint64_t received, sent, refused;
	char last_error[256];
	uint64_t last_error_at;
	/* Claims to more of this node's own chain than it holds
	 * (check_self): when this session's began (ms, 0: none) and this
	 * node's tip then, whether this session has sent any of those
	 * events, and whether an earlier claim proved false, which stays
	 * until the peer sends some. */
	uint64_t claim_at, claim_base;
	bool self_given, claim_false;
};

struct wreq {
	uv_write_t req;
	size_t len;
	char *buf;
};

struct conn {
	struct sync *sy;
	struct conn *next;
	struct peer *peer;        /* outgoing: target; incoming: once known */
	uv_tcp_t tcp;
	uv_timer_t ka;
	uv_connect_t connect;
	uv_shutdown_t shut;
	int handles;
	struct tls tls;
	bool outgoing, established, hello_got, closing, in_close;
	char addr[80];
	uint8_t src[16];          /* the address it came from (addr_source) */
	size_t srclen;
	uint8_t *in;
	size_t in_off, in_len, in_cap;
	size_t queued;
	uint64_t opened, last_rx, last_tx, closing_at;
	struct ann *ann;
	size_t nann, annc;
	size_t rr;
	long stick;               /* ostate index to continue, or -1 */
	uint8_t *crec[CARRY_MAX]; /* unsigned tail held for the next frame */
	size_t clen[CARRY_MAX], cn;
};

struct sync {
	uv_loop_t *loop;
	struct store *s;
	struct sl_key key;
	SSL_CTX *ssl;
	uv_tcp_t *listener;     /* NULL: not listening */
	char listen_addr[CONFIG_ADDR_MAX + 1];
	struct peer **peers;
	size_t npeers;
	struct conn *conns;
	uv_idle_t idle;
	bool grew;
	sync_hold_fn hold;
	void *hold_ctx;
	bool holding, self_forked;
	uint64_t hold_tip, hold_since;
	bool closing;
	uint64_t drops, drop_logged; /* connections dropped since the last
	                                line that said so, and when (ms) */
	uint64_t slog_since, slog_lines, slog_quiet; /* stranger_log */
	char org[SL_ORG_MAX + 1];
	char rbuf[64 * 1024];
	struct sl_buf scratch;
	const uint8_t **recs;
	size_t *lens;
	size_t recs_cap;
};

static void conn_close(struct conn *c, bool bye, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void pump(struct conn *c);
static void peer_schedule(struct peer *p);
static void check_self(struct sync *sy);
static void claim_check(struct peer *p, bool ended);
static void hold_watch(struct sync *sy);

/* ---- small helpers ---------------------------------------------------- */

static uint64_t
tip_seq(const struct sync *sy, const uint8_t origin[SL_KEY_LEN])
{
	const struct store_tip *t = store_tip_of(sy->s, origin);

	return t != NULL ? t->seq : 0;
}

static const char *
peer_name(const struct conn *c)
{
	return c->peer != NULL ? c->peer->cfg.name : c->addr;
}

static void
key_text(char out[SL_NODE_ID_TEXT + 1], const uint8_t key[SL_KEY_LEN])
{
	sl_b32_encode(out, key, SL_KEY_LEN);
}

/*
 * A line about a connection from a stranger: one that has not shown a
 * member's key (yet).  Anyone can open connections, so at most
 * STRANGER_LOG_MAX such lines are written per STRANGER_LOG_MS; past that
 * they are counted, and the count goes out with the next line written.
 */
static void
stranger_log(struct sync *sy, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
stranger_log(struct sync *sy, const char *fmt, ...)
{
	uint64_t now = sl_now_ms();
	char line[400], left[64] = "";
	va_list ap;

	if (now - sy->slog_since >= STRANGER_LOG_MS) {
		sy->slog_since = now;
		sy->slog_lines = 0;
	}
	if (sy->slog_lines >= STRANGER_LOG_MAX) {
		sy->slog_quiet++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (sy->slog_quiet > 0)
		snprintf(left, sizeof left, " (%llu like it left out before)",
		    (unsigned long long)sy->slog_quiet);
	log_warn("%s%s%s", line, left, ++sy->slog_lines == STRANGER_LOG_MAX ?
	    " (more like it this minute are only counted)" : "");
	sy->slog_quiet = 0;
}

static struct peer *
peer_by_key(const struct sync *sy, const uint8_t key[SL_KEY_LEN])
{
	for (size_t i = 0; i < sy->npeers; i++)
		if (!sy->peers[i]->removed &&
		    memcmp(sy->peers[i]->cfg.key, key, SL_KEY_LEN) == 0)
			return sy->peers[i];
	return NULL;
}

static struct peer *
peer_by_name(const struct sync *sy, const char *name)
{
	for (size_t i = 0; i < sy->npeers; i++)
		if (!sy->peers[i]->removed &&
		    strcmp(sy->peers[i]->cfg.name, name) == 0)
			return sy->peers[i];
	return NULL;
}

/* Members: this node and every configured peer. */
static bool
is_member(const struct sync *sy, const uint8_t key[SL_KEY_LEN])
{
	return memcmp(key, sy->key.pub, SL_KEY_LEN) == 0 ||
	    peer_by_key(sy, key) != NULL;
}

static bool
tls_check(void *ctx, const uint8_t key[SL_KEY_LEN])
{
	struct conn *c = ctx;

	/* A node may not connect to itself, and must be a member. */
	return memcmp(key, c->sy->key.pub, SL_KEY_LEN) != 0 &&
	    is_member(c->sy, key);
}

static struct ostate *
os_find(struct peer *p, const uint8_t origin[SL_KEY_LEN], bool add)
{
	for (size_t i = 0; i < p->nos; i++)
		if (memcmp(p->os[i].origin, origin, SL_KEY_LEN) == 0)
			return &p->os[i];
	if (!add || p->nos >= VECTOR_MAX)
		return NULL;   /* a peer may not make this table grow forever */
	if (p->nos == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct ostate *n = realloc(p->os, cap * sizeof *n);

		if (n == NULL)
			return NULL;
		p->os = n;
		p->cap = cap;
	}
	struct ostate *o = &p->os[p->nos++];

	memset(o, 0, sizeof *o);
	memcpy(o->origin, origin, SL_KEY_LEN);
	return o;
}

static void
peer_error(struct peer *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
peer_error(struct peer *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->last_error, sizeof p->last_error, fmt, ap);
	va_end(ap);
	p->last_error_at = sl_now_ms();
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
	if (c->queued < SYNC_LOW_WATER)
		pump(c);
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
	struct sl_buf *g = &c->sy->scratch;
	uint8_t hb[SL_FRAME_HDR];

	if (c->closing || !c->established)
		return -1;
	if (c->queued > SYNC_QUEUE_MAX) {
		conn_close(c, false, "the peer is not reading (%zu bytes "
		    "queued)", c->queued);
		return -1;
	}
	sl_frame_hdr_encode(hb, &h);
	if (body == g->p) {
		/* The body was built in scratch with room for the header. */
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

/* Frames are built in scratch behind SL_FRAME_HDR bytes of room, where
 * conn_send puts the header: one TLS record write per frame. */
static void
scratch_reset(struct sync *sy)
{
	sy->scratch.len = 0;
	sy->scratch.failed = false;
	sl_buf_write(&sy->scratch, "\0\0\0\0\0\0\0\0\0\0\0\0", SL_FRAME_HDR);
}

static int
send_scratch(struct conn *c, uint8_t type)
{
	struct sl_buf *g = &c->sy->scratch;

	if (g->p == NULL || g->failed)
		return -1;
	return conn_send(c, type, g->p, g->len - SL_FRAME_HDR);
}

/* ---- vectors ---------------------------------------------------------- */

/* Appends [origin, seq] for each member whose tip differs from what c
 * was last told (all of them when all is true); returns the count. */
static size_t
pack_vector(struct conn *c, msgpack_packer *pk, bool all, bool count_only)
{
	struct sync *sy = c->sy;
	size_t n = 0;

	for (size_t i = 0; i <= sy->npeers; i++) {
		const uint8_t *k;

		if (i == sy->npeers)
			k = sy->key.pub;
		else if (sy->peers[i]->removed)
			continue;
		else
			k = sy->peers[i]->cfg.key;
		const struct store_tip *tip = store_tip_of(sy->s, k);
		uint64_t seq = tip != NULL ? tip->seq : 0;
		static const uint8_t zero[SL_HASH_LEN];
		struct ann *a = NULL;

		for (size_t j = 0; j < c->nann; j++)
			if (memcmp(c->ann[j].origin, k, SL_KEY_LEN) == 0)
				a = &c->ann[j];
		if (!all && a != NULL && a->seq == seq)
			continue;
		n++;
		if (count_only)
			continue;
		if (a == NULL && c->nann < c->annc) {
			a = &c->ann[c->nann++];
			memcpy(a->origin, k, SL_KEY_LEN);
		}
		if (a != NULL)
			a->seq = seq;
		sl_wire_pack_entry(pk, k, seq, tip != NULL ? tip->hash : zero);
	}
	return n;
}

static int
ann_reserve(struct conn *c)
{
	size_t need = c->sy->npeers + 1;

	if (c->annc >= need)
		return 0;
	struct ann *n = realloc(c->ann, need * sizeof *n);

	if (n == NULL)
		return -1;
	c->ann = n;
	c->annc = need;
	return 0;
}

static void
send_hello(struct conn *c, const char *org)
{
	struct sync *sy = c->sy;
	msgpack_packer pk;

	if (ann_reserve(c) != 0) {
		conn_close(c, false, "out of memory");
		return;
	}
	c->nann = 0;
	scratch_reset(sy);
	msgpack_packer_init(&pk, &sy->scratch, sl_buf_write);
	sl_wire_pack_hello(&pk, org, (uint32_t)pack_vector(c, NULL, true,
	    true));
	pack_vector(c, &pk, true, false);
	send_scratch(c, SL_PEER_HELLO);
}

/* HAVE with what changed since the last announcement, if anything. */
static void
send_have(struct conn *c)
{
	struct sync *sy = c->sy;
	msgpack_packer pk;
	size_t n;

	if (ann_reserve(c) != 0 || (n = pack_vector(c, NULL, false,
	    true)) == 0)
		return;
	scratch_reset(sy);
	msgpack_packer_init(&pk, &sy->scratch, sl_buf_write);
	msgpack_pack_array(&pk, (uint32_t)n);
	pack_vector(c, &pk, false, false);
	send_scratch(c, SL_PEER_HAVE);
}

/*
 * The peer says it holds event seq of origin with hash h.  If this node
 * holds a different event there, the two hold different histories of the
 * origin, which a version vector alone would call equal; but a hash in a
 * vector is only the peer's word (any member can name any hash), so it is
 * logged as that peer's claim, never as a fork of the origin.  Sending
 * this node's events from seq shows the peer this history: if it really
 * holds another signed one, its store keeps both as evidence, and when it
 * sends its own this node's store does; only that evidence says an origin
 * forked.
 */
static void
check_fork(struct peer *p, struct ostate *o, uint64_t seq,
    const uint8_t h[SL_HASH_LEN])
{
	struct sync *sy = p->sy;
	const struct store_tip *tip = store_tip_of(sy->s, o->origin);
	uint8_t mine[SL_HASH_LEN], *rec;
	size_t len;
	struct sl_event ev;
	char id[SL_NODE_ID_TEXT + 1];

	if (tip == NULL || seq == 0 || seq > tip->seq)
		return;
	if (seq == tip->seq) {
		memcpy(mine, tip->hash, SL_HASH_LEN);
	} else {
		if (store_event_get(sy->s, o->origin, seq, &rec, &len) != SL_OK)
			return;
		if (sl_event_decode(&ev, rec, len) == SL_OK)
			sl_event_hash(mine, &ev);
		else
			memcpy(mine, h, SL_HASH_LEN);
		free(rec);
	}
	if (memcmp(mine, h, SL_HASH_LEN) == 0)
		return;
	key_text(id, o->origin);
	log_warn("peer %s claims another event at seq %llu of origin %s than "
	    "this node holds (its claim, unproven: only two signed events "
	    "show a fork); sending this node's history from there",
	    p->cfg.name, (unsigned long long)seq, id);
	peer_error(p, "claims another event at seq %llu of origin %s",
	    (unsigned long long)seq, id);
	o->has = seq - 1;
	o->sent = 0;
}

struct vec_ctx {
	struct peer *p;
	bool hello;
};

/* A vector entry into the peer's table.  Other histories are looked for
 * once per connection, in the HELLO: a peer cannot make this node resend
 * a history over and over. */
static int
vector_entry(void *ctx, const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    const uint8_t hash[SL_HASH_LEN])
{
	struct vec_ctx *v = ctx;
	struct ostate *o = os_find(v->p, origin, true);

	if (o == NULL)
		return SL_ENOMEM;
	o->want = true;
	o->has = seq;
	if (v->hello)
		check_fork(v->p, o, seq, hash);
	return SL_OK;
}

/* ---- sending events ---------------------------------------------------- */

static int
recs_reserve(struct sync *sy, size_t n)
{
	if (n <= sy->recs_cap)
		return 0;
	size_t cap = sy->recs_cap ? sy->recs_cap : 1024;

	while (cap < n)
		cap *= 2;
	const uint8_t **r = realloc(sy->recs, cap * sizeof *r);

	if (r == NULL)
		return -1;
	sy->recs = r;
	size_t *l = realloc(sy->lens, cap * sizeof *l);

	if (l == NULL)
		return -1;
	sy->lens = l;
	sy->recs_cap = cap;
	return 0;
}

/* The next origin with events the peer lacks, round robin; NULL if none. */
static struct ostate *
next_origin(struct conn *c)
{
	struct peer *p = c->peer;

	if (c->stick >= 0) {
		/* Continue a run cut before its signed event, if there is
		 * still something to continue. */
		if ((size_t)c->stick < p->nos) {
			struct ostate *o = &p->os[c->stick];

			if (o->want && !o->unsendable && !o->bodywait &&
			    tip_seq(c->sy, o->origin) > o->sent)
				return o;
		}
		c->stick = -1;
	}
	for (size_t k = 0; k < p->nos; k++) {
		size_t i = (c->rr + k) % p->nos;
		struct ostate *o = &p->os[i];
		uint64_t from = o->has > o->sent ? o->has : o->sent;

		if (o->want && !o->unsendable && !o->bodywait &&
		    tip_seq(c->sy, o->origin) > from) {
			c->rr = i + 1;
			return o;
		}
	}
	return NULL;
}

/* True if the record's body is missing (nil): a copy a relay stripped. */
static bool
rec_bodyless(const uint8_t *rec, size_t len)
{
	struct sl_mp r;
	uint32_t n;

	sl_mp_init(&r, rec, len);
	return sl_mp_read_array(&r, &n, 3) == SL_OK && n == 3 &&
	    sl_mp_skip(&r, NULL, NULL) == SL_OK &&
	    sl_mp_skip(&r, NULL, NULL) == SL_OK && sl_mp_peek_nil(&r);
}

/*
 * One EVENTS frame of o's events from the log.  0 when one was sent, 1
 * if there was nothing to send, -1 if the connection has failed.
 *
 * A copy whose body this node lacks (a relay dropped it) is not passed
 * on: the frame ends at the last signed event before it and the origin
 * waits (bodywait) until the whole copy arrives and restores it, so
 * stripped copies do not spread and the restored ones do.
 */
static int
send_batch(struct conn *c, MDB_txn *txn, struct ostate *o)
{
	struct sync *sy = c->sy;
	uint64_t tip = tip_seq(sy, o->origin);
	/* A cut run continues exactly where it stopped, whatever the peer
	 * has said since: the receiver holds its unsigned tail. */
	uint64_t seq = (c->stick >= 0 || o->sent > o->has ? o->sent : o->has) +
	    1;
	size_t n = 0, bytes = 0, upto_signed = 0;
	bool last_signed = false;

	for (; seq <= tip; seq++) {
		const uint8_t *rec, *org;
		size_t len;
		uint64_t s2;

		if (store_txn_event(sy->s, txn, o->origin, seq, &rec,
		    &len) != SL_OK) {
			log_warn("cannot read seq %llu of an origin from the "
			    "log; not sending it", (unsigned long long)seq);
			o->unsendable = true;
			c->stick = -1;
			return 0;
		}
		if (rec_bodyless(rec, len)) {
			o->bodywait = true;
			seq -= n - upto_signed;
			n = upto_signed;
			last_signed = n > 0;
			break;
		}
		if (n > 0 && bytes + len + 5 > FRAME_BODY_MAX - 5)
			break;
		if (recs_reserve(sy, n + 1) != 0) {
			conn_close(c, false, "out of memory");
			return -1;
		}
		if (!sl_wire_peek(rec, len, &org, &s2, &last_signed))
			last_signed = false;
		sy->recs[n] = rec;
		sy->lens[n++] = len;
		bytes += len + 5;
		if (last_signed)
			upto_signed = n;
		if (last_signed && (bytes >= BATCH_BYTES || n >= BATCH_EVENTS)) {
			seq++;
			break;
		}
	}
	if (n == 0) {
		c->stick = -1;
		return 1;   /* nothing to send after all: no progress */
	}
	/* Cut before a signed event only by the frame cap: then the next
	 * frame must continue this origin, so the receiver can complete
	 * the run. */
	c->stick = last_signed ? -1 : (long)(o - c->peer->os);

	msgpack_packer pk;

	scratch_reset(sy);
	msgpack_packer_init(&pk, &sy->scratch, sl_buf_write);
	sl_wire_pack_events(&pk, sy->recs, sy->lens, n);
	o->sent = seq - 1;
	c->peer->sent += n;
	return send_scratch(c, SL_PEER_EVENTS);
}

/* Sends what the peer lacks while the output queue has room. */
static void
pump(struct conn *c)
{
	MDB_txn *txn = NULL;
	struct ostate *o;

	if (c->closing || !c->hello_got || c->peer == NULL)
		return;
	while (!c->closing && c->queued < SYNC_HIGH_WATER &&
	    (o = next_origin(c)) != NULL) {
		if (txn == NULL && store_read_begin(c->sy->s, &txn) != SL_OK) {
			log_warn("cannot read the log to send to %s",
			    peer_name(c));
			return;
		}
		if (send_batch(c, txn, o) != 0)
			break;   /* failed, or made no progress */
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
}

/* ---- receiving events ------------------------------------------------- */

static void
carry_clear(struct conn *c)
{
	for (size_t i = 0; i < c->cn; i++)
		free(c->crec[i]);
	c->cn = 0;
}

/* A content refusal: keep the evidence, stop taking this origin from
 * this peer until it reconnects, and carry on with the others. */
static void
refuse_origin(struct conn *c, const uint8_t origin[SL_KEY_LEN],
    const struct store_ingest_result *res, const uint8_t *rec, size_t len)
{
	struct sync *sy = c->sy;
	struct peer *p = c->peer;
	struct ostate *o = os_find(p, origin, true);

	int kept = SL_OK;

	if (o != NULL)
		o->refused = true;
	p->refused++;
	peer_error(p, "refused: %s", res->reason);
	/* Forks are kept (or, past their cap, not) by the store itself. */
	if (res->code != SL_EFORK && rec != NULL)
		kept = store_keep_refused(sy->s, p->cfg.key, rec, len,
		    res->code, res->reason);
	log_warn("peer %s: refused events: %s%s; other origins go on",
	    p->cfg.name, res->reason, kept == SL_EFULL ? " (not kept: the "
	    "refused records kept as evidence are at their cap)" : "");
	if (kept != SL_OK && kept != SL_EFULL)
		log_warn("cannot keep the refused record as evidence");
	if (res->code == SL_EFORK &&
	    memcmp(origin, sy->key.pub, SL_KEY_LEN) == 0) {
		log_warn("this node's own chain differs from the copy peer %s "
		    "holds: it was written to after being restored from a "
		    "backup; both histories are kept as evidence",
		    p->cfg.name);
		sy->self_forked = true;
		check_self(sy);
	}
}

/*
 * Peer p has sent verified events of this node's own chain up to seq top,
 * of which `added` were new (this node held up to seq before).  Signed by
 * this node's own key, events this node lacked show that its store really
 * is behind (restored from a backup): this, not a claim in a vector, is
 * what check_self believes.  Events that another peer brought first count
 * as well, if this node lacked them when p's claim began.
 */
static void
self_taken(struct peer *p, uint64_t before, uint64_t top, size_t added)
{
	struct sync *sy = p->sy;
	struct ostate *o = os_find(p, sy->key.pub, false);
	uint64_t now = tip_seq(sy, sy->key.pub);

	if (added == 0 && (p->claim_at == 0 || top <= p->claim_base))
		return;
	if (added > 0 && !p->self_given)
		log_warn("peer %s sent this node's own events %llu to %llu, "
		    "which this node lacked (restored from a backup?), and "
		    "says it holds up to seq %llu: taking them back before "
		    "appending again", p->cfg.name,
		    (unsigned long long)before + 1, (unsigned long long)now,
		    (unsigned long long)(o != NULL && o->has > now ? o->has :
		    now));
	p->self_given = true;
	p->claim_false = false;
}

static void
handle_events(struct conn *c, struct sl_mp *r)
{
	struct sync *sy = c->sy;
	struct peer *p = c->peer;
	const uint8_t *origin = NULL;
	uint32_t n;
	size_t total, last_signed = SIZE_MAX;

	if (sl_mp_read_array(r, &n, FRAME_BODY_MAX) != SL_OK || n == 0) {
		conn_close(c, true, "malformed EVENTS frame");
		return;
	}
	total = c->cn + n;
	if (recs_reserve(sy, total) != 0) {
		conn_close(c, false, "out of memory");
		return;
	}
	for (size_t i = 0; i < c->cn; i++) {
		sy->recs[i] = c->crec[i];
		sy->lens[i] = c->clen[i];
	}
	if (sl_wire_records(r, n, sy->recs + c->cn, sy->lens + c->cn) !=
	    SL_OK) {
		conn_close(c, true, "malformed EVENTS frame");
		return;
	}
	for (size_t i = 0; i < total; i++) {
		const uint8_t *o;
		uint64_t seq;
		bool sgn;

		if (!sl_wire_peek(sy->recs[i], sy->lens[i], &o, &seq, &sgn)) {
			/* Not even a header: let the store say why. */
			last_signed = i;
			continue;
		}
		if (origin == NULL)
			origin = o;
		else if (memcmp(o, origin, SL_KEY_LEN) != 0) {
			conn_close(c, true, "an EVENTS frame mixes origins");
			return;
		}
		if (sgn)
			last_signed = i;
	}
	if (origin == NULL) {
		struct store_ingest_result res = { .code = SL_EINVAL };

		snprintf(res.reason, sizeof res.reason, "a record that does "
		    "not decode");
		/* Logged once, by conn_close, with the peer's address. */
		p->refused++;
		peer_error(p, "refused: %s", res.reason);
		store_keep_refused(sy->s, p->cfg.key, sy->recs[0], sy->lens[0],
		    SL_EINVAL, res.reason);
		conn_close(c, true, "sent a record that does not decode");
		return;
	}
	struct ostate *os = os_find(p, origin, false);

	if (!is_member(sy, origin) || (os != NULL && os->refused)) {
		/* Not wanted (membership changed since the HELLO) or
		 * already refused from this peer: drop quietly. */
		carry_clear(c);
		return;
	}
	size_t upto = last_signed == SIZE_MAX ? 0 : last_signed + 1;

	if (total - upto > CARRY_MAX) {
		conn_close(c, true, "more than %d unsigned events in a row",
		    CARRY_MAX);
		return;
	}
	if (upto > 0) {
		struct store_ingest_result res;
		uint64_t before = tip_seq(sy, origin);
		int rc = store_ingest(sy->s, sy->recs, sy->lens, upto, &res);

		if (rc == SL_OK) {
			const uint8_t *o;
			uint64_t top = 0;
			bool sgn;

			p->received += res.added;
			if (memcmp(origin, sy->key.pub, SL_KEY_LEN) == 0 &&
			    sl_wire_peek(sy->recs[upto - 1], sy->lens[upto - 1],
			    &o, &top, &sgn))
				self_taken(p, before, top, res.added);
			if (res.added > 0 || res.restored > 0)
				sync_log_grew(sy);
		} else if (rc == SL_ESTORE || rc == SL_EFULL ||
		    rc == SL_ENOMEM) {
			conn_close(c, false, "cannot store events: %s",
			    res.reason);
			return;
		} else {
			refuse_origin(c, origin, &res, res.index < upto ?
			    sy->recs[res.index] : NULL, res.index < upto ?
			    sy->lens[res.index] : 0);
			carry_clear(c);
			return;
		}
	}
	/* Keep the unsigned tail (copies: the frame buffer is reused). */
	uint8_t *keep[CARRY_MAX];
	size_t klen[CARRY_MAX], kn = 0;

	for (size_t i = upto; i < total; i++) {
		if ((keep[kn] = malloc(sy->lens[i])) == NULL) {
			for (size_t j = 0; j < kn; j++)
				free(keep[j]);
			conn_close(c, false, "out of memory");
			return;
		}
		memcpy(keep[kn], sy->recs[i], sy->lens[i]);
		klen[kn++] = sy->lens[i];
	}
	carry_clear(c);
	if (kn > 0) {
		memcpy(c->crec, keep, kn * sizeof keep[0]);
		memcpy(c->clen, klen, kn * sizeof klen[0]);
	}
	c->cn = kn;
	if (memcmp(origin, sy->key.pub, SL_KEY_LEN) == 0)
		check_self(sy);
}

/* ---- frames ------------------------------------------------------------ */

static void
handle_hello(struct conn *c, struct sl_mp *r)
{
	struct peer *p = c->peer;
	struct vec_ctx v = { p, true };
	struct sl_peer_hello h;
	int rc;

	if (c->hello_got) {
		conn_close(c, true, "a second HELLO");
		return;
	}
	for (size_t j = 0; j < p->nos; j++) {
		p->os[j].want = false;
		p->os[j].has = 0;
	}
	rc = sl_wire_hello(r, &h, vector_entry, &v);
	if (rc == SL_OK && !sl_mp_at_end(r))
		rc = SL_ETRAIL;
	if (rc != SL_OK || !h.have_vec || h.version == 0) {
		conn_close(c, true, "malformed HELLO (%s)", rc != SL_OK ?
		    sl_strerror(rc) : "version or vector missing");
		return;
	}
	uint64_t version = h.version;
	const char *org = h.org;

	if (version != SL_PEER_VERSION) {
		conn_close(c, true, "protocol version %llu, this node speaks "
		    "%d", (unsigned long long)version, SL_PEER_VERSION);
		return;
	}
	for (size_t j = 0; j < p->nos; j++) {
		p->os[j].sent = 0;
		p->os[j].refused = false;
		p->os[j].unsendable = false;
	}
	c->hello_got = true;
	p->claim_at = 0;
	p->self_given = false;
	p->since = sl_now_ms();
	p->backoff = 0;
	p->last_error[0] = '\0';
	log_info("peer %s (%s, %s) is in sync session: %s", p->cfg.name,
	    org[0] ? org : "?", c->addr, c->outgoing ? "dialled" :
	    "accepted");
	check_self(c->sy);
	pump(c);
}

static void
handle_frame(struct conn *c, const struct sl_frame_hdr *h,
    const uint8_t *body)
{
	struct sl_mp r;

	/* Frames are read only once on_established() has bound the
	 * connection to its peer, and conn_close() stops the reading when
	 * it unbinds it: every handler may use c->peer. */
	assert(c->peer != NULL);
	sl_mp_init(&r, body, h->len);
	if (h->type != SL_PEER_HELLO && h->type != SL_PEER_BYE &&
	    !c->hello_got) {
		conn_close(c, true, "%s before HELLO", h->type ==
		    SL_PEER_EVENTS ? "EVENTS" : "a frame");
		return;
	}
	switch (h->type) {
	case SL_PEER_HELLO:
		handle_hello(c, &r);
		break;
	case SL_PEER_HAVE: {
		struct vec_ctx v = { c->peer, false };
		int rc = sl_wire_vector(&r, vector_entry, &v);

		if (rc != SL_OK || !sl_mp_at_end(&r)) {
			conn_close(c, true, "malformed HAVE (%s)",
			    sl_strerror(rc != SL_OK ? rc : SL_ETRAIL));
			return;
		}
		check_self(c->sy);
		pump(c);
		break;
	}
	case SL_PEER_EVENTS:
		handle_events(c, &r);
		break;
	case SL_PEER_PING:
		/* nil, and nothing else: any other body does not decode. */
		if (!sl_mp_read_nil(&r) || !sl_mp_at_end(&r))
			conn_close(c, true, "malformed PING");
		break;
	case SL_PEER_BYE: {
		char why[200];

		sl_wire_bye(&r, why, sizeof why);
		conn_close(c, false, "the peer closed: %s", why);
		break;
	}
	}
}

/* ---- connection life --------------------------------------------------- */

static void
conn_free(struct conn *c)
{
	struct sync *sy = c->sy;

	for (struct conn **pp = &sy->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	carry_clear(c);
	tls_free(&c->tls);
	free(c->in);
	free(c->ann);
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

static void
conn_close(struct conn *c, bool bye, const char *fmt, ...)
{
	struct sync *sy = c->sy;
	struct peer *p = c->peer;
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

		scratch_reset(sy);
		msgpack_packer_init(&pk, &sy->scratch, sl_buf_write);
		sl_wire_pack_bye(&pk, why);
		send_scratch(c, SL_PEER_BYE);
	}
	c->closing = true;
	c->closing_at = sl_now_ms();
	if (p != NULL && p->conn == c && c->hello_got && !sy->closing)
		claim_check(p, true);
	if (p != NULL && !sy->closing) {
		/* With a BYE, it is for what the peer sent (or it is no
		 * longer a member): worth a warning. */
		if (c->hello_got && !bye)
			log_info("peer %s (%s): disconnected: %s", p->cfg.name,
			    c->addr, why);
		else if (c->hello_got)
			log_warn("peer %s (%s): disconnected: %s", p->cfg.name,
			    c->addr, why);
		else
			log_warn("peer %s (%s): %s", p->cfg.name, c->addr,
			    why);
		/* A duplicate connection closing while another one serves
		 * the peer is not the peer's problem. */
		if (!(c->hello_got && strstr(why, "closed") != NULL) &&
		    (p->conn == NULL || p->conn == c))
			peer_error(p, "%s", why);
	} else if (!sy->closing) {
		stranger_log(sy, "connection from %s refused: %s", c->addr,
		    why);
	}
	/* Unlink from the peer (the connection list keeps it until it is
	 * freed, so that shutdown finds it). */
	if (p != NULL) {
		if (p->conn == c) {
			p->conn = NULL;
			p->last_contact = c->last_rx;
		}
		if (p->dialing == c)
			p->dialing = NULL;
		if (!sy->closing && !p->removed && p->cfg.addr[0] &&
		    p->conn == NULL && p->dialing == NULL)
			peer_schedule(p);
	}
	c->peer = NULL;
	uv_read_stop((uv_stream_t *)&c->tcp);
	/* Let what is queued (the TLS alert or BYE) go out first, but only
	 * for CLOSE_MS: the keepalive timer cuts it off. */
	conn_flush(c);
	c->shut.data = c;
	if (c->tcp.type != UV_TCP || !uv_is_writable((uv_stream_t *)&c->tcp) ||
	    uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, shutdown_cb) != 0)
		conn_close_handles(c);
	if (!sy->closing)
		check_self(sy);
}

static void
ka_cb(uv_timer_t *t)
{
	struct conn *c = t->data;
	uint64_t now = sl_now_ms();

	hold_watch(c->sy);
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

/* The handshake is done and the key is a member: bind it to its peer. */
static void
on_established(struct conn *c)
{
	struct sync *sy = c->sy;
	struct peer *p = peer_by_key(sy, c->tls.key);
	char id[SL_NODE_ID_TEXT + 1];

	c->established = true;
	c->last_rx = c->last_tx = sl_now_ms();
	key_text(id, c->tls.key);
	if (p == NULL) {
		conn_close(c, false, "node %s is not a member", id);
		return;
	}
	if (c->outgoing && c->peer != p) {
		conn_close(c, false, "dialled %s but node %s answered",
		    c->peer->cfg.name, id);
		return;
	}
	c->peer = p;
	if (c->outgoing && p->dialing == c)
		p->dialing = NULL;
	if (p->conn != NULL) {
		/* Both sides dialled: keep the connection dialled by the
		 * lower key (both ends choose the same one); a second one
		 * from the same dialer replaces the old (it was cut). */
		struct conn *old = p->conn;
		const uint8_t *dn = c->outgoing ? sy->key.pub : p->cfg.key;
		const uint8_t *dold = old->outgoing ? sy->key.pub : p->cfg.key;
		bool keep_new = dn == dold ||
		    memcmp(dn, dold, SL_KEY_LEN) < 0;

		if (!keep_new) {
			conn_close(c, false, "already connected");
			return;
		}
		p->conn = c;
		conn_close(old, false, "replaced by a newer connection");
	}
	p->conn = c;
	if (p->timer_open)
		uv_timer_stop(&p->redial);
	p->last_contact = c->last_rx;
	send_hello(c, sy->org);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->sy->rbuf, sizeof c->sy->rbuf);
}

/* Decrypts what is available and handles every complete frame. */
static void
conn_progress(struct conn *c)
{
	if (!c->established) {
		int r = tls_handshake(&c->tls);

		conn_flush(c);
		if (r < 0) {
			conn_close(c, false, "%s", c->tls.why);
			return;
		}
		if (r == 0)
			return;
		on_established(c);
		if (c->closing)
			return;
	}
	for (;;) {
		if (c->in_cap - c->in_len < 16384) {
			/* Compact, then grow if still short. */
			if (c->in_off > 0) {
				memmove(c->in, c->in + c->in_off,
				    c->in_len - c->in_off);
				c->in_len -= c->in_off;
				c->in_off = 0;
			}
			if (c->in_cap - c->in_len < 16384) {
				size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
				uint8_t *n;

				if (cap > SL_PEER_FRAME_MAX + SL_FRAME_HDR +
				    65536)
					cap = SL_PEER_FRAME_MAX + SL_FRAME_HDR +
					    65536;
				if (cap <= c->in_cap ||
				    (n = realloc(c->in, cap)) == NULL) {
					conn_close(c, false, "out of memory");
					return;
				}
				c->in = n;
				c->in_cap = cap;
			}
		}
		int got = tls_read(&c->tls, c->in + c->in_len,
		    c->in_cap - c->in_len);

		if (got < 0) {
			if (c->outgoing && !c->hello_got &&
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
		if (c->peer != NULL)
			c->peer->last_contact = c->last_rx;
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
			handle_frame(c, &h, c->in + c->in_off + SL_FRAME_HDR);
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

static struct conn *
conn_new(struct sync *sy, bool outgoing)
{
	struct conn *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	c->sy = sy;
	c->outgoing = outgoing;
	c->stick = -1;
	c->opened = sl_now_ms();
	if (tls_init(&c->tls, sy->ssl, outgoing, tls_check, c) != 0) {
		free(c);
		return NULL;
	}
	uv_tcp_init(sy->loop, &c->tcp);
	uv_timer_init(sy->loop, &c->ka);
	c->tcp.data = c->ka.data = c;
	c->handles = 2;
	c->next = sy->conns;
	sy->conns = c;
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
drop_note(struct sync *sy, const char *addr, const char *why)
{
	uint64_t now = sl_now_ms();

	if (sy->drop_logged != 0 && now - sy->drop_logged < STRANGER_LOG_MS) {
		sy->drops++;
		return;
	}
	if (sy->drops > 0)
		log_warn("connection from %s dropped: %s (and %llu more in the "
		    "last %d s)", addr, why, (unsigned long long)sy->drops,
		    (int)((now - sy->drop_logged) / 1000));
	else
		log_warn("connection from %s dropped: %s (more such drops are "
		    "logged at most once a minute)", addr, why);
	sy->drops = 0;
	sy->drop_logged = now;
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct sync *sy = server->data;
	struct sockaddr_storage ss;
	int sl = sizeof ss;
	struct conn *c;
	char why[80];

	if (status < 0) {
		log_warn("accepting a peer failed: %s", uv_strerror(status));
		return;
	}
	if ((c = conn_new(sy, false)) == NULL) {
		uv_tcp_t *tmp = malloc(sizeof *tmp);

		/* Out of memory: take it and close it at once. */
		if (tmp == NULL)
			return;
		uv_tcp_init(sy->loop, tmp);
		if (uv_accept(server, (uv_stream_t *)tmp) == 0)
			drop_note(sy, "?", "out of memory");
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
	/*
	 * Strangers may hold only a few slots, and only for the handshake
	 * (HANDSHAKE_MS); outgoing dials are never refused for want of a
	 * slot.  The limit per address keeps one host's idle connections
	 * from locking every other peer out; many hosts together still
	 * can, for as long as they keep it up.
	 */
	size_t pending = 0, same = 0, in = 0;

	for (struct conn *k = sy->conns; k != NULL; k = k->next) {
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
		snprintf(why, sizeof why, "%zu TLS handshakes pending from "
		    "that address already", same);
	else if (pending >= MAX_HANDSHAKES)
		snprintf(why, sizeof why, "%zu TLS handshakes pending already",
		    pending);
	else if (in >= MAX_CONNS)
		snprintf(why, sizeof why, "%zu peer connections already", in);
	if (why[0] != '\0') {
		drop_note(sy, c->addr, why);
		c->closing = true;
		c->closing_at = sl_now_ms();
		conn_close_handles(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

/* ---- dialling ---------------------------------------------------------- */

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

static void peer_maybe_free(struct peer *p);

static void
resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct peer *p = req->data;
	struct sync *sy = p->sy;
	struct conn *c;

	p->resolving = false;
	if (p->removed || sy->closing) {
		uv_freeaddrinfo(res);
		peer_maybe_free(p);
		return;
	}
	if (status < 0 || res == NULL) {
		peer_error(p, "cannot resolve %s: %s", p->cfg.addr,
		    uv_strerror(status));
		log_warn("peer %s: cannot resolve %s: %s", p->cfg.name,
		    p->cfg.addr, uv_strerror(status));
		uv_freeaddrinfo(res);
		peer_schedule(p);
		return;
	}
	if (p->conn != NULL || (c = conn_new(sy, true)) == NULL) {
		uv_freeaddrinfo(res);
		if (p->conn == NULL)
			peer_schedule(p);
		return;
	}
	c->peer = p;
	p->dialing = c;
	addr_text(c->addr, sizeof c->addr, res->ai_addr);
	c->connect.data = c;
	int rc = uv_tcp_connect(&c->connect, &c->tcp, res->ai_addr,
	    connect_cb);

	uv_freeaddrinfo(res);
	if (rc != 0)
		conn_close(c, false, "cannot connect to %s: %s", c->addr,
		    uv_strerror(rc));
}

static void
peer_dial(struct peer *p)
{
	struct sync *sy = p->sy;
	char host[CONFIG_ADDR_MAX + 1], port[8], err[160];
	unsigned pn;
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM };

	if (p->removed || sy->closing || p->conn != NULL || p->dialing != NULL ||
	    p->resolving || p->cfg.addr[0] == '\0')
		return;
	if (!config_addr_split(p->cfg.addr, host, sizeof host, &pn, false, err,
	    sizeof err)) {
		peer_error(p, "%s", err);
		return;
	}
	snprintf(port, sizeof port, "%u", pn);
	p->gai.data = p;
	if (uv_getaddrinfo(sy->loop, &p->gai, resolved_cb, host, port,
	    &hints) == 0)
		p->resolving = true;
	else
		peer_schedule(p);
}

static void
redial_cb(uv_timer_t *t)
{
	peer_dial(t->data);
}

/* Next dial after [b/2, b] ms, b doubling from BACKOFF_MIN_MS up to
 * BACKOFF_MAX_MS; the jitter keeps a restarted network from dialling in
 * step. */
static void
peer_schedule(struct peer *p)
{
	uint32_t r;
	uint64_t delay;

	if (!p->timer_open || p->removed || p->sy->closing)
		return;
	p->backoff = p->backoff == 0 ? BACKOFF_MIN_MS :
	    p->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff * 2;
	sl_random(&r, sizeof r);
	delay = p->backoff / 2 + r % (p->backoff / 2 + 1);
	uv_timer_start(&p->redial, redial_cb, delay, 0);
}

static void
peer_timer_closed(uv_handle_t *h)
{
	struct peer *p = h->data;

	p->timer_open = false;
	peer_maybe_free(p);
}

static void
peer_maybe_free(struct peer *p)
{

	if (!p->removed || p->resolving || p->timer_open)
		return;
	free(p->os);
	free(p);
}

static struct peer *
peer_new(struct sync *sy, const struct config_peer *cfg)
{
	struct peer *p = calloc(1, sizeof *p);
	struct peer **np;

	if (p == NULL || (np = realloc(sy->peers, (sy->npeers + 1) *
	    sizeof(struct peer *))) == NULL) {
		free(p);
		return NULL;
	}
	sy->peers = np;
	p->sy = sy;
	p->cfg = *cfg;
	uv_timer_init(sy->loop, &p->redial);
	p->redial.data = p;
	p->timer_open = true;
	sy->peers[sy->npeers++] = p;
	peer_dial(p);
	return p;
}

/* Disconnects and forgets p (freed once its handles have closed). */
static void
peer_drop(struct sync *sy, struct peer *p)
{
	size_t i;

	p->removed = true;
	if (p->conn != NULL)
		conn_close(p->conn, true, "no longer a member of this node");
	if (p->dialing != NULL)
		conn_close(p->dialing, false, "no longer a member");
	for (i = 0; i < sy->npeers && sy->peers[i] != p; i++)
		;
	if (i < sy->npeers) {
		memmove(&sy->peers[i], &sy->peers[i + 1],
		    (sy->npeers - i - 1) * sizeof(struct peer *));
		sy->npeers--;
	}
	uv_close((uv_handle_t *)&p->redial, peer_timer_closed);
}

/* ---- holding local writes ----------------------------------------------- */

/*
 * A node restored from an old backup holds less of its own chain than its
 * peers do; appending at once would fork it.  A peer's vector saying it
 * holds more of this node's chain is only a claim, though, and any member
 * can make it: believing it would let a member stall this node's writes
 * at will.  So writes wait only for a peer that has also sent some of
 * those events (self_given: signed by this node's own key, which no other
 * node can forge), until the rest has come.  A restored node thus still
 * takes its events back before it appends again, and a false claim holds
 * nothing.  (The first frame comes right after HELLO; a local write in
 * between is appended and then found as a fork of this node's own chain,
 * as one made before any peer connected is.)
 */
static void
check_self(struct sync *sy)
{
	uint64_t mine = tip_seq(sy, sy->key.pub), most = 0, now = sl_now_ms();
	const char *who = NULL;

	for (size_t i = 0; i < sy->npeers; i++) {
		struct peer *p = sy->peers[i];
		struct ostate *o;

		if (p->conn == NULL || !p->conn->hello_got ||
		    (o = os_find(p, sy->key.pub, false)) == NULL || !o->want ||
		    o->refused || o->has <= mine) {
			p->claim_at = 0;
			continue;
		}
		if (p->claim_at == 0) {
			p->claim_at = now;
			p->claim_base = mine;
		}
		if (p->self_given && !p->claim_false && o->has > most) {
			most = o->has;
			who = p->cfg.name;
		}
	}
	bool hold = most > mine && !sy->self_forked;

	if (hold && !sy->holding) {
		log_info("holding local writes until peer %s has sent the rest "
		    "of this node's own events, up to seq %llu (this node holds "
		    "up to %llu)", who, (unsigned long long)most,
		    (unsigned long long)mine);
	} else if (!hold && sy->holding) {
		if (most > mine)
			log_warn("could not take back this node's own events; "
			    "appending again at seq %llu",
			    (unsigned long long)mine + 1);
		else
			log_info("took back this node's own events up to seq "
			    "%llu; appending again", (unsigned long long)mine);
	} else {
		return;
	}
	sy->holding = hold;
	sy->hold_tip = mine;
	sy->hold_since = now;
	if (sy->hold != NULL)
		sy->hold(sy->hold_ctx, hold);
}

/*
 * A claim to more of this node's own chain is false if the session that
 * made it ends (ended), or HOLD_MS pass, without the peer sending a
 * single one of those events.  The peer is remembered for it, across its
 * reconnects, with one line in the log: its later claims are not logged
 * or counted (`ahead`) until it does send some.
 */
static void
claim_check(struct peer *p, bool ended)
{
	struct sync *sy = p->sy;
	struct ostate *o = os_find(p, sy->key.pub, false);
	uint64_t mine = tip_seq(sy, sy->key.pub);

	if (p->claim_false || p->self_given || p->claim_at == 0 || o == NULL ||
	    !o->want || o->refused || o->has <= mine)
		return;
	if (!ended && sl_now_ms() - p->claim_at < HOLD_MS)
		return;
	log_warn("peer %s claims this node's own events up to seq %llu but "
	    "sent none beyond seq %llu %s: a false claim, not believed until "
	    "it sends some", p->cfg.name, (unsigned long long)o->has,
	    (unsigned long long)mine, ended ? "before its session ended" :
	    "in " HOLD_TEXT);
	peer_error(p, "claimed this node's own events it did not send");
	p->claim_false = true;
}

/*
 * Claims are judged once HOLD_MS old.  And a peer that has sent some of
 * this node's own events must also send the rest: if the chain has not
 * grown for HOLD_MS while writes are held, that peer's claim is ignored
 * for the rest of its session (its frames of this origin too), it is
 * remembered as a false claim, and writes go on.
 */
static void
hold_watch(struct sync *sy)
{
	uint64_t mine = tip_seq(sy, sy->key.pub), now = sl_now_ms();

	for (size_t i = 0; i < sy->npeers; i++)
		if (sy->peers[i]->conn != NULL &&
		    sy->peers[i]->conn->hello_got)
			claim_check(sy->peers[i], false);
	if (!sy->holding)
		return;
	if (mine != sy->hold_tip) {
		sy->hold_tip = mine;
		sy->hold_since = now;
		return;
	}
	if (now - sy->hold_since < HOLD_MS)
		return;
	for (size_t i = 0; i < sy->npeers; i++) {
		struct peer *p = sy->peers[i];
		struct ostate *o = os_find(p, sy->key.pub, false);

		if (p->conn != NULL && o != NULL && o->want && !o->refused &&
		    p->self_given && !p->claim_false && o->has > mine) {
			log_warn("peer %s said it holds this node's own events "
			    "up to seq %llu but sent none past seq %llu in "
			    HOLD_TEXT ": a false claim, not believed until it "
			    "sends more", p->cfg.name,
			    (unsigned long long)o->has,
			    (unsigned long long)mine);
			peer_error(p, "claimed this node's own events it did "
			    "not send");
			o->refused = true;
			p->claim_false = true;
		}
	}
	check_self(sy);
}

/* ---- the log grew --------------------------------------------------------- */

static void
idle_cb(uv_idle_t *h)
{
	struct sync *sy = h->data;
	struct conn *c, *next;

	uv_idle_stop(h);
	sy->grew = false;
	for (c = sy->conns; c != NULL; c = next) {
		next = c->next;
		/* The log changed: an origin waiting for a body may have it. */
		for (size_t i = 0; c->peer != NULL && i < c->peer->nos; i++)
			c->peer->os[i].bodywait = false;
		if (c->hello_got && !c->closing) {
			send_have(c);
			pump(c);
		}
	}
	check_self(sy);
}

void
sync_log_grew(struct sync *sy)
{
	if (sy->closing || sy->grew)
		return;
	sy->grew = true;
	uv_idle_start(&sy->idle, idle_cb);
}

/* ---- public ---------------------------------------------------------------- */

int
sync_new(struct sync **out, uv_loop_t *loop, struct store *s,
    const struct sl_key *key, const struct config *c, char *err,
    size_t errlen)
{
	struct sync *sy = calloc(1, sizeof *sy);

	*out = NULL;
	if (sy == NULL) {
		snprintf(err, errlen, "out of memory");
		return SL_ENOMEM;
	}
	sy->loop = loop;
	sy->s = s;
	sy->key = *key;
	if ((sy->ssl = tls_ctx_new(key, err, errlen)) == NULL) {
		sl_key_wipe(&sy->key);
		free(sy);
		return SL_EINVAL;
	}
	uv_idle_init(loop, &sy->idle);
	sy->idle.data = sy;
	*out = sy;
	sync_apply(sy, c);
	return SL_OK;
}

void
sync_set_hold(struct sync *sy, sync_hold_fn fn, void *ctx)
{
	sy->hold = fn;
	sy->hold_ctx = ctx;
}

int
sync_listen(struct sync *sy, const char *addr, char *err, size_t errlen)
{
	char host[CONFIG_ADDR_MAX + 1], why[160];
	unsigned port;
	struct sockaddr_storage ss;
	int len = sizeof ss, rc;
	uv_tcp_t *l;

	if (addr[0] == '\0') {
		if (sy->listener != NULL) {
			uv_close((uv_handle_t *)sy->listener, (uv_close_cb)free);
			sy->listener = NULL;
			log_info("no longer listening for peers on %s",
			    sy->listen_addr);
		}
		sy->listen_addr[0] = '\0';
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
	uv_tcp_init(sy->loop, l);
	l->data = sy;
	if ((rc = uv_tcp_bind(l, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)l, 64, on_connection)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr,
		    uv_strerror(rc));
		uv_close((uv_handle_t *)l, (uv_close_cb)free);
		return -1;
	}
	if (sy->listener != NULL) {
		uv_close((uv_handle_t *)sy->listener, (uv_close_cb)free);
		log_info("no longer listening for peers on %s",
		    sy->listen_addr);
	}
	sy->listener = l;
	if (uv_tcp_getsockname(l, (struct sockaddr *)&ss, &len) == 0)
		addr_text(sy->listen_addr, sizeof sy->listen_addr,
		    (struct sockaddr *)&ss);
	log_info("listening for peers on %s", sy->listen_addr);
	return 0;
}

const char *
sync_listen_addr(const struct sync *sy)
{
	return sy->listen_addr;
}

void
sync_apply(struct sync *sy, const struct config *c)
{
	/* Removed or changed peers go; new or changed ones come. */
	for (size_t i = 0; i < sy->npeers;) {
		struct peer *p = sy->peers[i];
		const struct config_peer *n = config_peer_find(c, p->cfg.name);

		if (n != NULL && memcmp(n->key, p->cfg.key, SL_KEY_LEN) == 0) {
			if (strcmp(n->addr, p->cfg.addr) != 0) {
				snprintf(p->cfg.addr, sizeof p->cfg.addr, "%s",
				    n->addr);
				if (p->dialing != NULL)
					conn_close(p->dialing, false,
					    "address changed");
				p->backoff = 0;
				if (p->timer_open)
					uv_timer_stop(&p->redial);
				peer_dial(p);
			}
			i++;
			continue;
		}
		log_info("peer %s removed", p->cfg.name);
		peer_drop(sy, p);
	}
	for (size_t i = 0; i < c->npeers; i++) {
		if (peer_by_name(sy, c->peers[i].name) != NULL)
			continue;
		if (peer_new(sy, &c->peers[i]) == NULL)
			log_warn("out of memory adding peer %s",
			    c->peers[i].name);
	}
	/* New members are announced (with what this node holds of them)
	 * so that connected peers start sending them. */
	sync_log_grew(sy);
}

size_t
sync_peer_count(const struct sync *sy)
{
	return sy->npeers;
}

long
sync_peer_index(const struct sync *sy, const char *name)
{
	for (size_t i = 0; i < sy->npeers; i++)
		if (strcmp(sy->peers[i]->cfg.name, name) == 0)
			return (long)i;
	return -1;
}

long
sync_peer_index_key(const struct sync *sy, const uint8_t key[SL_KEY_LEN])
{
	for (size_t i = 0; i < sy->npeers; i++)
		if (memcmp(sy->peers[i]->cfg.key, key, SL_KEY_LEN) == 0)
			return (long)i;
	return -1;
}

void
sync_peer_get(const struct sync *sy, size_t i, struct sync_peer_info *out)
{
	const struct peer *p = sy->peers[i];
	const struct conn *c = p->conn;

	memset(out, 0, sizeof *out);
	out->cfg = p->cfg;
	out->connected = c != NULL && c->hello_got && !c->closing;
	out->outgoing = c != NULL && c->outgoing;
	out->last_contact = p->last_contact;
	/* behind: events this node holds that the peer lacks; ahead: events
	 * the peer holds (of origins this node accepts) that it lacks. */
	for (size_t k = 0; k < p->nos; k++) {
		const struct ostate *o = &p->os[k];
		uint64_t mine = tip_seq(sy, o->origin);

		if (!o->want)
			continue;
		if (mine > o->has)
			out->behind += mine - o->has;
		else if (is_member(sy, o->origin) && !(p->claim_false &&
		    memcmp(o->origin, sy->key.pub, SL_KEY_LEN) == 0))
			out->ahead += o->has - mine;
	}
	out->sent = p->sent;
	out->received = p->received;
	out->refused = p->refused;
	snprintf(out->last_error, sizeof out->last_error, "%s",
	    p->last_error);
}

void
sync_close(struct sync *sy)
{
	struct conn *c;

	sy->closing = true;
	for (c = sy->conns; c != NULL; c = c->next) {
		c->peer = NULL;
		conn_close(c, true, "the node is shutting down");
		conn_close_handles(c);
	}
	while (sy->npeers > 0)
		peer_drop(sy, sy->peers[sy->npeers - 1]);
	uv_idle_stop(&sy->idle);
	uv_close((uv_handle_t *)&sy->idle, NULL);
	if (sy->listener != NULL)
		uv_close((uv_handle_t *)sy->listener, (uv_close_cb)free);
	sy->listener = NULL;
}

void
sync_free(struct sync *sy)
{
	if (sy == NULL)
		return;
	tls_ctx_free(sy->ssl);
	sl_key_wipe(&sy->key);
	free(sy->peers);
	free(sy->scratch.p);
	free(sy->recs);
	free(sy->lens);
	free(sy);
}

void
sync_set_org(struct sync *sy, const char *org)
{
	snprintf(sy->org, sizeof sy->org, "%s", org);
}
