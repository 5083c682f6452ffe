/*
 * sync.c - peers and the sync session (see sync.h and PROTOCOL.md).
 *
 * Everything runs on the daemon's one libuv loop.  Connections, their
 * TLS, frames, write queues and timers are conn.c's; this file is what
 * happens over them.  A connection this node uses has a session (struct
 * session, its conn_data) bound to a configured peer: made when the peer
 * is dialled, or when an accepted connection shows a member's key.  What
 * a peer holds and wants is kept per peer as a small table of origins
 * (struct ostate): `has` is what the peer said it holds, `sent` what this
 * session has sent since it began.  The pump reads the next batch of
 * events for the peer straight from the log whenever the connection has
 * room (conn_has_room: its queue below CONN_HIGH_WATER), so a slow reader
 * holds back only the reading of the log, never memory: catch-up and live
 * push are the same loop.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "sync.h"

/* A sender ends an EVENTS frame on the first signed event at or past
 * SL_PEER_FULL_BYTES or SL_PEER_FULL_EVENTS (at 256 KiB a catch-up of
 * CLI-made contacts ran at half the speed: every commit rewrites the
 * record trees' pages it touches).  A receiver holds such full frames of
 * one origin back and commits up to PEND_EVENTS or PEND_BYTES of them
 * at once: catch-up of imported contacts ran about 20 % faster so, and
 * no faster with twice as much (which doubled the memory a commit
 * dirties, and how long it keeps the loop). */
#define BATCH_BYTES SL_PEER_FULL_BYTES
#define BATCH_EVENTS SL_PEER_FULL_EVENTS
#define FRAME_EVENTS_MAX (BATCH_EVENTS + SL_SIGN_INTERVAL) /* received */
#define PEND_EVENTS ((size_t)2 * FRAME_EVENTS_MAX) /* two small frames */
#define PEND_BYTES (3u << 20)
#define PEND_FRAMES 16             /* more than the caps let in */
#define PEND_ALL_BYTES (12u << 20) /* records held by all sessions together
                                      (their buffers: up to twice that) */
#define PEND_WAIT_MS 10           /* a run that stops on a full frame */
#define FRAME_BODY_MAX SL_PEER_FRAME_MAX
#define HOLD_MS 10000             /* own events claimed but not coming */
#define HOLD_TEXT "10 s"          /* HOLD_MS, for the log */
#define BACKOFF_MIN_MS 2000       /* redial after [b/2, b], b doubling */
#define BACKOFF_MAX_MS 60000
#define VECTOR_MAX SL_PEER_VECTOR_MAX
#define CARRY_MAX SL_SIGN_INTERVAL
#define WANT_EVERY_MS 60000       /* openings still missing: ask again */
#define WANT_SOON_MS 10000        /* rounds an ingest asks for, apart */

struct ostate {
	uint8_t origin[SL_KEY_LEN];
	uint64_t has;   /* the peer holds up to here (its HELLO/HAVE) */
	uint64_t sent;  /* this session sent up to here */
	bool want;      /* in the peer's vector: it accepts this origin */
	bool refused;   /* refused from this peer until it reconnects */
	bool unsendable;/* this node cannot read it from its log */
	bool bodywait;  /* stopped before an event whose body we lack */
};

struct ann {
	uint8_t origin[SL_KEY_LEN];
	uint64_t seq;   /* last seq this node announced to the connection */
};

struct session;

struct peer {
	struct sync *sy;
	struct config_peer cfg;
	struct session *ses;     /* the established session, or NULL */
	struct session *dialing; /* an outgoing attempt in progress */
	uv_timer_t redial;
	bool resolving, removed, timer_open;
	unsigned backoff;
	uint64_t since, last_contact; /* ms; last_contact: when a session's
	                                 connection last heard from it */
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
	/* This node joins through this peer (sync_join): JOIN goes first
	 * on each connection until the inviter answers. */
	bool join_pending;
	uint8_t join_secret[SL_JOIN_SECRET_LEN];
	char join_name[SL_ORG_MAX + 1];
	sync_joined_fn join_done;
	void *join_done_ctx;
	/* This node is a new device enrolled through this peer (12.3):
	 * its key is let through until the log says whose it is. */
	bool enrolling;
};

/*
 * The sync state of one connection (its conn_data), from the dial or the
 * handshake until conn.c frees the connection (freed_cb).  peer is the
 * peer it serves (for a dial, the one dialled) until the connection
 * closes, then NULL.
 */
struct session {
	struct sync *sy;
	struct session *next;
	struct peer *peer;
	struct conn *conn;
	bool hello_got;
	bool refill;              /* its HELLO says it answers WANT */
	bool joining;             /* a newcomer's: JOIN must come first */
	struct ann *ann;
	size_t nann, annc;
	size_t rr;
	long stick;               /* ostate index to continue, or -1 */
	uint8_t *crec[CARRY_MAX]; /* unsigned tail held for the next frame */
	size_t clen[CARRY_MAX], cn;
	/* Full frames held back to be committed together (pend_*): one
	 * origin's records, back to back in pb, each one's length in plen,
	 * and where each frame ends. */
	uint8_t porigin[SL_KEY_LEN];
	struct sl_buf pb;
	size_t *plen, pn, pcap;
	size_t pend[PEND_FRAMES], pnf;
	uint64_t pdue;            /* committed then (uv_now), if nothing came */
};

struct sync {
	uv_loop_t *loop;
	struct store *s;
	struct sl_key key;
	struct conn_set *net;
	struct peer **peers;
	size_t npeers;
	struct session *sessions;
	uv_idle_t idle;
	uv_timer_t pend_timer;  /* commits frames held back (PEND_WAIT_MS) */
	size_t pend_bytes;      /* the records all sessions hold back */
	bool grew;
	bool want_now;          /* an ingest left openings missing: ask */
	uint64_t want_at;       /* ms: the last round of WANT */
	struct store_gap want[SL_PEER_WANT_MAX]; /* that round's list */
	size_t nwant;
	sync_hold_fn hold;
	bool quiet;             /* sync_set_quiet */
	void *hold_ctx;
	sync_fork_fn on_fork;   /* a fork was refused (PROTOCOL.md 16) */
	void *fork_ctx;
	bool holding, self_forked;
	uint64_t hold_tip, hold_since;
	bool closing;
	char org[SL_ORG_MAX + 1];
	const uint8_t **recs;
	size_t *lens;
	size_t recs_cap;
	sync_moved_fn moved;        /* NULL: peers keep their keys */
	void *moved_ctx;
	sync_member_fn member;      /* NULL: this node and its peers */
	sync_members_fn members;
	sync_reader_fn reader;
	void *reader_ctx;
	void *members_ctx;
	uint8_t (*mkeys)[SL_KEY_LEN]; /* the members, for a vector */
	size_t nmkeys, mkeys_cap;
	sync_join_fn join;          /* NULL: no invitations */
	sync_invites_fn invites_open;
	void *join_ctx;
};

static void pump(struct session *ss);
static void want_one(struct session *ss);
static void join_end(struct peer *p, int code, const char *why);
static void peer_dial(struct peer *p);
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
peer_name(const struct session *ss)
{
	return ss->peer != NULL ? ss->peer->cfg.name : conn_addr(ss->conn);
}

static void
key_text(char out[SL_NODE_ID_TEXT + 1], const uint8_t key[SL_KEY_LEN])
{
	sl_b32_encode(out, key, SL_KEY_LEN);
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

/* Members: as the log says; without it, this node and every configured
 * peer.  *upto (may be NULL): the last seq of key's that counts. */
static bool
member_upto(const struct sync *sy, const uint8_t key[SL_KEY_LEN],
    uint64_t *upto)
{
	uint64_t u = UINT64_MAX;
	bool yes;

	if (sy->member != NULL)
		yes = sy->member(sy->members_ctx, key, &u);
	else
		yes = memcmp(key, sy->key.pub, SL_KEY_LEN) == 0 ||
		    peer_by_key(sy, key) != NULL;
	if (upto != NULL)
		*upto = u;
	return yes;
}

static bool
is_member(const struct sync *sy, const uint8_t key[SL_KEY_LEN])
{
	return member_upto(sy, key, NULL);
}

/* conn.c's admit: who may finish a TLS handshake with this node. */
static bool
admit_cb(void *ctx, const uint8_t key[SL_KEY_LEN])
{
	struct sync *sy = ctx;
	uint64_t upto;

	struct peer *p;

	/* A node may not connect to itself, and must be a current member
	 * (a retired one's events after its cut-off count nowhere). */
	if (memcmp(key, sy->key.pub, SL_KEY_LEN) == 0)
		return false;
	if (member_upto(sy, key, &upto))
		return upto == UINT64_MAX;
	/* A newcomer the members are still asked about: it reads. */
	if (sy->reader != NULL && sy->reader(sy->reader_ctx, key))
		return true;
	/* This node is joining through that peer: it is no member of
	 * this node's yet. */
	if ((p = peer_by_key(sy, key)) != NULL &&
	    (p->join_pending || p->enrolling))
		return true;
	/* A newcomer with an invitation: it may send JOIN, and nothing
	 * else, until it is admitted (12.2). */
	return sy->invites_open != NULL && sy->invites_open(sy->join_ctx);
}

/* The last seq of origin this node holds that counts: what it may
 * announce and send. */
static uint64_t
tip_counts(const struct sync *sy, const uint8_t origin[SL_KEY_LEN])
{
	uint64_t upto, t = tip_seq(sy, origin);

	if (member_upto(sy, origin, &upto) && upto < t)
		return upto;
	return t;
}

/* The members' keys into sy->mkeys (sy->nmkeys); -1 out of memory. */
static int
members_load(struct sync *sy)
{
	size_t n;

	if (sy->members == NULL) {
		size_t need = sy->npeers + 1;

		if (need > sy->mkeys_cap) {
			uint8_t (*k)[SL_KEY_LEN] = realloc(sy->mkeys,
			    need * sizeof *k);

			if (k == NULL)
				return -1;
			sy->mkeys = k;
			sy->mkeys_cap = need;
		}
		sy->nmkeys = 0;
		for (size_t i = 0; i < sy->npeers; i++)
			if (!sy->peers[i]->removed)
				memcpy(sy->mkeys[sy->nmkeys++],
				    sy->peers[i]->cfg.key, SL_KEY_LEN);
		memcpy(sy->mkeys[sy->nmkeys++], sy->key.pub, SL_KEY_LEN);
		return 0;
	}
	for (;;) {
		n = sy->members(sy->members_ctx, sy->mkeys, sy->mkeys_cap);
		if (n <= sy->mkeys_cap)
			break;
		uint8_t (*k)[SL_KEY_LEN] = realloc(sy->mkeys, n * sizeof *k);

		if (k == NULL)
			return -1;
		sy->mkeys = k;
		sy->mkeys_cap = n;
	}
	sy->nmkeys = n;
	return 0;
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

/* ---- vectors ---------------------------------------------------------- */

/* Appends [origin, seq] for each member whose tip differs from what ss
 * was last told (all of them when all is true); returns the count. */
static size_t
pack_vector(struct session *ss, msgpack_packer *pk, bool all,
    bool count_only)
{
	struct sync *sy = ss->sy;
	size_t n = 0;

	for (size_t i = 0; i < sy->nmkeys; i++) {
		const uint8_t *k = sy->mkeys[i];
		const struct store_tip *tip = store_tip_of(sy->s, k);
		uint64_t seq = tip_counts(sy, k);
		static const uint8_t zero[SL_HASH_LEN];
		uint8_t h[SL_HASH_LEN];
		struct ann *a = NULL;

		for (size_t j = 0; j < ss->nann; j++)
			if (memcmp(ss->ann[j].origin, k, SL_KEY_LEN) == 0)
				a = &ss->ann[j];
		if (!all && a != NULL && a->seq == seq)
			continue;
		n++;
		if (count_only)
			continue;
		if (a == NULL && ss->nann < ss->annc) {
			a = &ss->ann[ss->nann++];
			memcpy(a->origin, k, SL_KEY_LEN);
		}
		if (a != NULL)
			a->seq = seq;
		/* Past a retirement's cut-off the vector names the last
		 * event that counts, and its hash. */
		memcpy(h, tip != NULL ? tip->hash : zero, SL_HASH_LEN);
		if (tip != NULL && seq < tip->seq && store_event_hash(sy->s,
		    k, seq, h) != SL_OK)
			memcpy(h, zero, SL_HASH_LEN);
		sl_wire_pack_entry(pk, k, seq, h);
	}
	return n;
}

/* Room to remember what ss was told of every member (and the members'
 * keys loaded); -1 out of memory. */
static int
ann_reserve(struct session *ss)
{
	size_t need;

	if (members_load(ss->sy) != 0)
		return -1;
	need = ss->sy->nmkeys;
	if (ss->annc >= need)
		return 0;
	struct ann *n = realloc(ss->ann, need * sizeof *n);

	if (n == NULL)
		return -1;
	ss->ann = n;
	ss->annc = need;
	return 0;
}

static void
send_hello(struct session *ss, const char *org)
{
	msgpack_packer pk;

	if (ann_reserve(ss) != 0) {
		conn_close(ss->conn, false, "out of memory");
		return;
	}
	ss->nann = 0;
	msgpack_packer_init(&pk, conn_frame_begin(ss->sy->net), sl_buf_write);
	sl_wire_pack_hello(&pk, org, (uint32_t)pack_vector(ss, NULL, true,
	    true));
	pack_vector(ss, &pk, true, false);
	conn_frame_send(ss->conn, SL_PEER_HELLO);
}

/* HAVE with what changed since the last announcement, if anything. */
static void
send_have(struct session *ss)
{
	msgpack_packer pk;
	size_t n;

	if (ann_reserve(ss) != 0 || (n = pack_vector(ss, NULL, false,
	    true)) == 0)
		return;
	msgpack_packer_init(&pk, conn_frame_begin(ss->sy->net), sl_buf_write);
	msgpack_pack_array(&pk, (uint32_t)n);
	pack_vector(ss, &pk, false, false);
	conn_frame_send(ss->conn, SL_PEER_HAVE);
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
next_origin(struct session *ss)
{
	struct peer *p = ss->peer;

	if (ss->stick >= 0) {
		/* Continue a run cut before its signed event, if there is
		 * still something to continue. */
		if ((size_t)ss->stick < p->nos) {
			struct ostate *o = &p->os[ss->stick];

			if (o->want && !o->unsendable && !o->bodywait &&
			    tip_counts(ss->sy, o->origin) > o->sent)
				return o;
		}
		ss->stick = -1;
	}
	for (size_t k = 0; k < p->nos; k++) {
		size_t i = (ss->rr + k) % p->nos;
		struct ostate *o = &p->os[i];
		uint64_t from = o->has > o->sent ? o->has : o->sent;

		if (o->want && !o->unsendable && !o->bodywait &&
		    tip_counts(ss->sy, o->origin) > from) {
			ss->rr = i + 1;
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
send_batch(struct session *ss, MDB_txn *txn, struct ostate *o)
{
	struct sync *sy = ss->sy;
	uint64_t tip = tip_counts(sy, o->origin);
	/* A cut run continues exactly where it stopped, whatever the peer
	 * has said since: the receiver holds its unsigned tail. */
	uint64_t seq = (ss->stick >= 0 || o->sent > o->has ? o->sent :
	    o->has) + 1;
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
			ss->stick = -1;
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
			conn_close(ss->conn, false, "out of memory");
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
		ss->stick = -1;
		return 1;   /* nothing to send after all: no progress */
	}
	/* Cut before a signed event only by the frame cap: then the next
	 * frame must continue this origin, so the receiver can complete
	 * the run. */
	ss->stick = last_signed ? -1 : (long)(o - ss->peer->os);

	msgpack_packer pk;

	msgpack_packer_init(&pk, conn_frame_begin(sy->net), sl_buf_write);
	sl_wire_pack_events(&pk, sy->recs, sy->lens, n);
	o->sent = seq - 1;
	ss->peer->sent += n;
	return conn_frame_send(ss->conn, SL_PEER_EVENTS);
}

/* Sends what the peer lacks while the connection has room. */
static void
pump(struct session *ss)
{
	MDB_txn *txn = NULL;
	struct ostate *o;

	if (conn_closing(ss->conn) || !ss->hello_got || ss->peer == NULL ||
	    ss->sy->quiet)
		return;
	while (conn_has_room(ss->conn) && (o = next_origin(ss)) != NULL) {
		if (txn == NULL && store_read_begin(ss->sy->s, &txn) != SL_OK) {
			log_warn("cannot read the log to send to %s",
			    peer_name(ss));
			return;
		}
		if (send_batch(ss, txn, o) != 0)
			break;   /* failed, or made no progress */
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
}

/* ---- receiving events ------------------------------------------------- */

static void
carry_clear(struct session *ss)
{
	for (size_t i = 0; i < ss->cn; i++)
		free(ss->crec[i]);
	ss->cn = 0;
}

/* A content refusal: keep the evidence, stop taking this origin from
 * this peer until it reconnects, and carry on with the others. */
static void
refuse_origin(struct session *ss, const uint8_t origin[SL_KEY_LEN],
    const struct store_ingest_result *res, const uint8_t *rec, size_t len)
{
	struct sync *sy = ss->sy;
	struct peer *p = ss->peer;
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
	if (res->code == SL_EFORK && sy->on_fork != NULL)
		sy->on_fork(sy->fork_ctx, res->origin, res->seq);
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

/* What became of a run of frames offered to the store. */
enum taken { TAKEN, STOPPED /* its origin is refused */, CLOSED };

/* recs[0..n) of origin, from ss's peer, stored: count them, and tell
 * whoever waits on the log. */
static void
taken(struct session *ss, const uint8_t origin[SL_KEY_LEN], uint64_t before,
    const uint8_t *last, size_t last_len,
    const struct store_ingest_result *res)
{
	struct sync *sy = ss->sy;
	const uint8_t *o;
	uint64_t top = 0;
	bool sgn;

	ss->peer->received += res->added;
	if (memcmp(origin, sy->key.pub, SL_KEY_LEN) == 0 &&
	    sl_wire_peek(last, last_len, &o, &top, &sgn))
		self_taken(ss->peer, before, top, res->added);
	if (res->gaps > 0)
		sy->want_now = true;
	if (res->added > 0 || res->restored > 0)
		sync_log_grew(sy);
}

/*
 * Stores recs[0..n) of one origin from ss, frames that end at fend[0..nf)
 * (each on a signed event): in one commit, and if that is refused, frame
 * by frame as they came, so that a refusal costs what it did when each
 * frame was a commit of its own (the frames before the refused one are
 * stored, and none after it).
 */
static enum taken
ingest_frames(struct session *ss, const uint8_t origin[SL_KEY_LEN],
    const uint8_t *const *recs, const size_t *lens, size_t n,
    const size_t *fend, size_t nf)
{
	struct sync *sy = ss->sy;
	struct store_ingest_result res;
	uint64_t before = tip_seq(sy, origin);
	int rc = store_ingest(sy->s, recs, lens, n, &res);

	if (rc == SL_OK) {
		taken(ss, origin, before, recs[n - 1], lens[n - 1], &res);
		return TAKEN;
	}
	bool failed = rc == SL_ESTORE || rc == SL_EFULL || rc == SL_ENOMEM;

	if (failed && nf == 1) {
		conn_close(ss->conn, false, "cannot store events: %s",
		    res.reason);
		return CLOSED;
	}
	/* Refused, or too much for the store at once (a full disk or map
	 * may still take a frame): one frame at a time. */
	if (nf > 1) {
		enum taken t = TAKEN;

		for (size_t k = 0, from = 0; k < nf && t == TAKEN; k++) {
			t = ingest_frames(ss, origin, recs + from, lens + from,
			    fend[k] - from, &fend[k], 1);
			from = fend[k];
		}
		return t;
	}
	refuse_origin(ss, origin, &res, res.index < n ? recs[res.index] :
	    NULL, res.index < n ? lens[res.index] : 0);
	return STOPPED;
}

/* Commits the frames ss holds back (none: TAKEN). */
static enum taken
pend_flush(struct session *ss)
{
	struct sl_buf b = ss->pb;
	size_t *len = ss->plen, n = ss->pn, nf = ss->pnf;
	size_t fend[PEND_FRAMES];
	const uint8_t **recs;
	enum taken t = TAKEN;

	if (nf == 0)
		return TAKEN;
	/* Detached first: a close this causes flushes nothing twice. */
	memcpy(fend, ss->pend, nf * sizeof fend[0]);
	ss->sy->pend_bytes -= b.len;
	ss->pb = (struct sl_buf){ 0 };
	ss->plen = NULL;
	ss->pn = ss->pcap = ss->pnf = 0;
	if ((recs = malloc(n * sizeof *recs)) == NULL) {
		conn_close(ss->conn, false, "out of memory");
		t = CLOSED;
	} else {
		for (size_t i = 0, off = 0; i < n; off += len[i++])
			recs[i] = b.p + off;
		t = ingest_frames(ss, ss->porigin, recs, len, n, fend, nf);
	}
	/* An unsigned tail held for the next frame is of the same origin,
	 * refused now. */
	if (t == STOPPED)
		carry_clear(ss);
	free(recs);
	free(len);
	free(b.p);
	return t;
}

/* Forgets the frames ss holds back. */
static void
pend_drop(struct session *ss)
{
	ss->sy->pend_bytes -= ss->pb.len;
	free(ss->pb.p);
	free(ss->plen);
	ss->pb = (struct sl_buf){ 0 };
	ss->plen = NULL;
	ss->pn = ss->pcap = ss->pnf = 0;
}

/* Holds recs[0..n) of origin (bytes in all) back as one more frame; -1
 * out of memory, with what was held before still held. */
static int
pend_add(struct session *ss, const uint8_t origin[SL_KEY_LEN],
    const uint8_t *const *recs, const size_t *lens, size_t n, size_t bytes)
{
	struct sl_buf *b = &ss->pb;

	if (ss->pn + n > ss->pcap) {
		size_t cap = ss->pn + n + FRAME_EVENTS_MAX;
		size_t *l = realloc(ss->plen, cap * sizeof *l);

		if (l == NULL)
			return -1;
		ss->plen = l;
		ss->pcap = cap;
	}
	if (bytes > b->cap - b->len) {
		size_t cap = b->len + bytes > 2 * b->cap ? b->len + bytes :
		    2 * b->cap;
		uint8_t *p = realloc(b->p, cap);

		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(b->p + b->len, recs[i], lens[i]);
		b->len += lens[i];
		ss->plen[ss->pn++] = lens[i];
	}
	ss->sy->pend_bytes += bytes;
	memcpy(ss->porigin, origin, SL_KEY_LEN);
	ss->pend[ss->pnf++] = ss->pn;
	return 0;
}

static void pend_cb(uv_timer_t *t);

/* Commits what sessions hold back: all, or those whose wait is over
 * (and waits again for the others). */
static void
pend_all(struct sync *sy, bool all)
{
	uint64_t now = uv_now(sy->loop), next = UINT64_MAX;

	for (struct session *ss = sy->sessions; ss != NULL; ss = ss->next) {
		if (ss->peer == NULL || ss->pnf == 0)
			continue;
		if (all || ss->pdue <= now)
			(void)pend_flush(ss);
		else if (ss->pdue < next)
			next = ss->pdue;
	}
	if (!all && next != UINT64_MAX)
		uv_timer_start(&sy->pend_timer, pend_cb, next - now, 0);
}

static void
pend_cb(uv_timer_t *t)
{
	pend_all(t->data, false);
}

/* Does one of recs[0..n) change who counts (a membership event)?  The
 * next frame's checks must see it stored. */
static bool
has_members(const uint8_t *const *recs, const size_t *lens, size_t n)
{
	const char *type;
	uint32_t tlen;

	for (size_t i = 0; i < n; i++)
		if (!sl_wire_peek_type(recs[i], lens[i], &type, &tlen) ||
		    sl_mev_type(type, tlen))
			return true;
	return false;
}

static void
handle_events(struct session *ss, struct sl_mp *r, size_t body_len)
{
	struct sync *sy = ss->sy;
	struct peer *p = ss->peer;
	const uint8_t *origin = NULL;
	uint32_t n;
	size_t total, last_signed = SIZE_MAX;

	if (sl_mp_read_array(r, &n, FRAME_BODY_MAX) != SL_OK || n == 0) {
		conn_close(ss->conn, true, "malformed EVENTS frame");
		return;
	}
	/* A sender cuts a frame on the first signed event past
	 * BATCH_EVENTS, and signs at least every SL_SIGN_INTERVAL: more is
	 * no honest frame, and only costs us room for its records. */
	if (n > FRAME_EVENTS_MAX) {
		conn_close(ss->conn, true, "an EVENTS frame of more than %d "
		    "events", FRAME_EVENTS_MAX);
		return;
	}
	total = ss->cn + n;
	if (recs_reserve(sy, total) != 0) {
		conn_close(ss->conn, false, "out of memory");
		return;
	}
	for (size_t i = 0; i < ss->cn; i++) {
		sy->recs[i] = ss->crec[i];
		sy->lens[i] = ss->clen[i];
	}
	if (sl_wire_records(r, n, sy->recs + ss->cn, sy->lens + ss->cn) !=
	    SL_OK) {
		conn_close(ss->conn, true, "malformed EVENTS frame");
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
			conn_close(ss->conn, true, "an EVENTS frame mixes "
			    "origins");
			return;
		}
		if (sgn)
			last_signed = i;
	}
	/* Frames held back are of one origin, and are stored before
	 * another's is looked at (a membership event among them counts). */
	if (ss->pnf > 0 && (origin == NULL ||
	    memcmp(ss->porigin, origin, SL_KEY_LEN) != 0) &&
	    pend_flush(ss) == CLOSED)
		return;
	if (origin == NULL) {
		struct store_ingest_result res = { .code = SL_EINVAL };

		snprintf(res.reason, sizeof res.reason, "a record that does "
		    "not decode");
		/* Logged once, by conn_close, with the peer's address. */
		p->refused++;
		peer_error(p, "refused: %s", res.reason);
		store_keep_refused(sy->s, p->cfg.key, sy->recs[0], sy->lens[0],
		    SL_EINVAL, res.reason);
		conn_close(ss->conn, true, "sent a record that does not "
		    "decode");
		return;
	}
	struct ostate *os = os_find(p, origin, false);

	uint64_t cut;

	if (!member_upto(sy, origin, &cut) || (os != NULL && os->refused)) {
		/* Not wanted (membership changed since the HELLO) or
		 * already refused from this peer: drop quietly. */
		carry_clear(ss);
		return;
	}
	/* A retired organisation's events after its cut-off count nowhere
	 * (12.1): the first is kept as evidence, none is stored.  The
	 * cut-off is an event its retirer had verified, so a signed one:
	 * what comes before it verifies without what follows. */
	size_t beyond = SIZE_MAX;

	for (size_t i = 0; cut != UINT64_MAX && i < total; i++) {
		const uint8_t *o;
		uint64_t seq;
		bool sgn;

		if (sl_wire_peek(sy->recs[i], sy->lens[i], &o, &seq, &sgn) &&
		    seq > cut) {
			beyond = i;
			break;
		}
	}
	/* Nothing is refused or kept as evidence for an origin while frames
	 * of it are held: they came first.  Refused, they stop this frame
	 * too, unseen, as they did frame by frame. */
	if (beyond != SIZE_MAX && ss->pnf > 0 && pend_flush(ss) != TAKEN)
		return;
	if (beyond != SIZE_MAX) {
		struct store_ingest_result res = { .code = SL_ESCHEMA,
			.index = SIZE_MAX };
		char oid[SL_NODE_ID_TEXT + 1];

		key_text(oid, origin);
		snprintf(res.reason, sizeof res.reason, "origin %.16s was "
		    "retired: its events after seq %llu count nowhere", oid,
		    (unsigned long long)cut);
		store_keep_refused(sy->s, p->cfg.key, sy->recs[beyond],
		    sy->lens[beyond], SL_ESCHEMA, res.reason);
		total = beyond;
		last_signed = SIZE_MAX;
		for (size_t i = 0; i < total; i++) {
			const uint8_t *o;
			uint64_t seq;
			bool sgn;

			if (!sl_wire_peek(sy->recs[i], sy->lens[i], &o, &seq,
			    &sgn) || sgn)
				last_signed = i;
		}
		if (total == 0 || last_signed + 1 != total) {
			refuse_origin(ss, origin, &res, NULL, 0);
			carry_clear(ss);
			return;
		}
	}
	size_t upto = last_signed == SIZE_MAX ? 0 : last_signed + 1;

	if (total - upto > CARRY_MAX) {
		conn_close(ss->conn, true, "more than %d unsigned events in a "
		    "row", CARRY_MAX);
		return;
	}
	if (upto > 0) {
		/* A full frame says more of this origin follows: held back
		 * (PEND_WAIT_MS at most) to be committed with it.  Not one
		 * that changes who counts, this node's own events (self_taken
		 * counts them as they come), nor a run a cut-off ends. */
		bool full = n >= BATCH_EVENTS ||
		    body_len + 5 * (size_t)n >= BATCH_BYTES;
		bool hold = full && beyond == SIZE_MAX &&
		    memcmp(origin, sy->key.pub, SL_KEY_LEN) != 0 &&
		    !has_members(sy->recs, sy->lens, upto);
		size_t bytes = 0;
		enum taken t;

		for (size_t i = 0; i < upto; i++)
			bytes += sy->lens[i];
		/* A commit stays within the caps: what is held goes first
		 * if this frame would take it past one.  Refused, it stops
		 * this frame too. */
		if (ss->pnf > 0 && (ss->pn + upto > PEND_EVENTS ||
		    ss->pb.len + bytes > PEND_BYTES ||
		    ss->pnf == PEND_FRAMES) && pend_flush(ss) != TAKEN)
			return;
		/* And all sessions together hold at most PEND_ALL_BYTES. */
		if (sy->pend_bytes + bytes > PEND_ALL_BYTES)
			hold = false;
		if (!hold && ss->pnf == 0) {
			t = ingest_frames(ss, origin, sy->recs, sy->lens, upto,
			    &upto, 1);
		} else if (pend_add(ss, origin, sy->recs, sy->lens, upto,
		    bytes) != 0) {
			/* What is held is stored as the connection closes. */
			conn_close(ss->conn, false, "out of memory");
			return;
		} else if (!hold || ss->pn >= PEND_EVENTS ||
		    ss->pb.len >= PEND_BYTES) {
			t = pend_flush(ss);
		} else {
			t = TAKEN;
			ss->pdue = uv_now(sy->loop) + PEND_WAIT_MS;
			if (!uv_is_active((uv_handle_t *)&sy->pend_timer))
				uv_timer_start(&sy->pend_timer, pend_cb,
				    PEND_WAIT_MS, 0);
		}
		if (t == CLOSED)
			return;
		if (t == STOPPED) {
			carry_clear(ss);
			return;
		}
	}
	if (beyond != SIZE_MAX) {
		struct store_ingest_result res = { .code = SL_ESCHEMA };

		snprintf(res.reason, sizeof res.reason, "events after a "
		    "retirement's cut-off (seq %llu)", (unsigned long long)cut);
		refuse_origin(ss, origin, &res, NULL, 0);
		carry_clear(ss);
		return;
	}
	/* Keep the unsigned tail (copies: the frame buffer is reused).
	 * origin may point into the tail kept before, which goes now. */
	bool own = memcmp(origin, sy->key.pub, SL_KEY_LEN) == 0;
	uint8_t *keep[CARRY_MAX];
	size_t klen[CARRY_MAX], kn = 0;

	for (size_t i = upto; i < total; i++) {
		if ((keep[kn] = malloc(sy->lens[i])) == NULL) {
			for (size_t j = 0; j < kn; j++)
				free(keep[j]);
			conn_close(ss->conn, false, "out of memory");
			return;
		}
		memcpy(keep[kn], sy->recs[i], sy->lens[i]);
		klen[kn++] = sy->lens[i];
	}
	carry_clear(ss);
	if (kn > 0) {
		memcpy(ss->crec, keep, kn * sizeof keep[0]);
		memcpy(ss->clen, klen, kn * sizeof klen[0]);
	}
	ss->cn = kn;
	if (own)
		check_self(sy);
}

/* ---- openings a relay dropped (WANT, WHOLE) ---------------------------- */

/*
 * A relay may drop an opening (PROTOCOL.md 5.1): the event still
 * verifies, and sync never sends a held event again.  So a node asks its
 * peers for the events it holds without an opening that no erasure
 * explains (WANT: at a session's start, when an ingest leaves one
 * missing, and every minute while any is), and a peer that holds one
 * with openings answers with its whole copy (WHOLE), which the store
 * checks against the header it holds.
 */
static void
send_want(struct session *ss, const struct store_gap *g, size_t n)
{
	msgpack_packer pk;

	if (!ss->refill || !ss->hello_got || conn_closing(ss->conn) || n == 0)
		return;
	msgpack_packer_init(&pk, conn_frame_begin(ss->sy->net), sl_buf_write);
	msgpack_pack_array(&pk, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		sl_wire_pack_entry(&pk, g[i].origin, g[i].seq, g[i].hash);
	conn_frame_send(ss->conn, SL_PEER_WANT);
}

/* A round: the same list to every peer that answers WANT (each peer
 * gets every entry, so no peer is the only one asked for one). */
static void
want_all(struct sync *sy)
{
	sy->want_at = sl_now_ms();
	sy->want_now = false;
	if ((sy->nwant = store_gaps(sy->s, sy->want, SL_PEER_WANT_MAX)) == 0)
		return;
	for (struct session *ss = sy->sessions; ss != NULL; ss = ss->next)
		if (ss->peer != NULL)
			send_want(ss, sy->want, sy->nwant);
}

/* A session starts: the last round's list, so that a peer that connects
 * again and again does not move the rounds on (and sees only what every
 * peer is asked); a new round if that one is a minute old. */
static void
want_one(struct session *ss)
{
	struct sync *sy = ss->sy;

	if (!ss->refill)
		return;
	if (sl_now_ms() - sy->want_at < WANT_EVERY_MS)
		send_want(ss, sy->want, sy->nwant);
	else
		want_all(sy);
}

/* An ingest left openings missing (want_now), or a minute passed with
 * some missing: a round, at most one per WANT_SOON_MS. */
static void
want_maybe(struct sync *sy)
{
	uint64_t since = sl_now_ms() - sy->want_at;

	if ((sy->want_now && since >= WANT_SOON_MS) ||
	    (since >= WANT_EVERY_MS && store_gap_count(sy->s) > 0))
		want_all(sy);
}

struct whole_ctx {
	struct session *ss;
	MDB_txn *txn;
	size_t seen, n, bytes;
};

static int
whole_entry(void *ctx, const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    const uint8_t hash[SL_HASH_LEN])
{
	struct whole_ctx *w = ctx;
	struct sync *sy = w->ss->sy;
	const uint8_t *rec;
	size_t len;
	struct sl_event ev;
	uint8_t h[SL_HASH_LEN];
	uint64_t cut;

	if (w->seen++ >= SL_PEER_WANT_MAX)
		return SL_ESIZE;
	/* What ordinary sync would send: a member's, up to its cut-off. */
	if (!member_upto(sy, origin, &cut) || seq > cut)
		return SL_OK;
	if (store_txn_event(sy->s, w->txn, origin, seq, &rec, &len) != SL_OK ||
	    sl_event_decode(&ev, rec, len) != SL_OK || ev.n_opens == 0)
		return SL_OK;
	sl_event_hash(h, &ev);
	if (memcmp(h, hash, SL_HASH_LEN) != 0 ||
	    w->bytes + len + 5 > FRAME_BODY_MAX - 5)
		return SL_OK;
	sy->recs[w->n] = rec;
	sy->lens[w->n] = len;
	w->n++;
	w->bytes += len + 5;
	return SL_OK;
}

/* WANT: the peer's list; answered with what this node holds whole, in
 * one frame, while the connection has room (a peer asking again and
 * again gets no more than it reads). */
static void
handle_want(struct session *ss, struct sl_mp *r)
{
	struct sync *sy = ss->sy;
	struct whole_ctx w = { ss, NULL, 0, 0, 0 };
	msgpack_packer pk;
	int rc;

	if (sy->quiet || !conn_has_room(ss->conn))
		return;  /* a restored node gives nothing back (5.2) */
	if (recs_reserve(sy, SL_PEER_WANT_MAX) != 0 ||
	    store_read_begin(sy->s, &w.txn) != SL_OK)
		return;
	rc = sl_wire_vector(r, whole_entry, &w);
	if (rc == SL_OK && !sl_mp_at_end(r))
		rc = SL_ETRAIL;
	if (rc != SL_OK) {
		mdb_txn_abort(w.txn);
		conn_close(ss->conn, true, "malformed WANT (%s)",
		    rc == SL_ESIZE ? "more than 256 events" : sl_strerror(rc));
		return;
	}
	if (w.n > 0) {
		msgpack_packer_init(&pk, conn_frame_begin(sy->net),
		    sl_buf_write);
		sl_wire_pack_events(&pk, sy->recs, sy->lens, w.n);
		conn_frame_send(ss->conn, SL_PEER_WHOLE);
	}
	mdb_txn_abort(w.txn);
}

/* WHOLE: copies of events this node holds, to give back what relays
 * dropped.  Each is checked against the held header (store_refill);
 * one that does not match, or brings nothing, is skipped. */
static void
handle_whole(struct session *ss, struct sl_mp *r)
{
	struct sync *sy = ss->sy;
	uint32_t n;
	size_t refilled;
	int rc;

	if (sl_mp_read_array(r, &n, SL_PEER_WANT_MAX) != SL_OK || n == 0 ||
	    recs_reserve(sy, n) != 0 ||
	    sl_wire_records(r, n, sy->recs, sy->lens) != SL_OK) {
		conn_close(ss->conn, true, "malformed WHOLE frame");
		return;
	}
	rc = store_refill(sy->s, sy->recs, sy->lens, n, &refilled);
	if (rc != SL_OK) {
		conn_close(ss->conn, false, "cannot store events: %s",
		    sl_strerror(rc));
		return;
	}
	if (refilled > 0) {
		log_info("peer %s gave back the openings of %zu event%s a relay "
		    "had dropped", peer_name(ss), refilled, refilled == 1 ?
		    "" : "s");
		sync_log_grew(sy);
	}
}

/* ---- frames ------------------------------------------------------------ */

static void
handle_hello(struct session *ss, struct sl_mp *r)
{
	struct peer *p = ss->peer;
	struct vec_ctx v = { p, true };
	struct sl_peer_hello h;
	int rc;

	if (ss->hello_got) {
		conn_close(ss->conn, true, "a second HELLO");
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
		conn_close(ss->conn, true, "malformed HELLO (%s)", rc != SL_OK ?
		    sl_strerror(rc) : "version or vector missing");
		return;
	}
	uint64_t version = h.version;
	const char *org = h.org;

	if (version != SL_PEER_VERSION) {
		conn_close(ss->conn, true, "protocol version %llu, this node "
		    "speaks %d", (unsigned long long)version, SL_PEER_VERSION);
		return;
	}
	for (size_t j = 0; j < p->nos; j++) {
		p->os[j].sent = 0;
		p->os[j].refused = false;
		p->os[j].unsendable = false;
	}
	ss->hello_got = true;
	ss->refill = h.refill;
	p->claim_at = 0;
	p->self_given = false;
	p->since = sl_now_ms();
	p->backoff = 0;
	p->last_error[0] = '\0';
	log_info("peer %s (%s, %s) is in sync session: %s", p->cfg.name,
	    org[0] ? org : "?", conn_addr(ss->conn),
	    conn_outgoing(ss->conn) ? "dialled" : "accepted");
	/* The inviter answers a JOIN it accepts with its HELLO. */
	if (p->join_pending && conn_outgoing(ss->conn))
		join_end(p, SL_OK, "");
	check_self(ss->sy);
	pump(ss);
	want_one(ss);
}

/*
 * The first frame of a newcomer's connection (12.2): JOIN with the
 * invitation's secret.  The daemon admits it (sync->join: takes the
 * invitation, writes the admission and the peer line); the session then
 * goes on as any member's, starting with this node's HELLO, which tells
 * the newcomer it is in.  Anything else, or a refusal, ends it with a
 * BYE that says why.
 */
static void
handle_join(struct session *ss, uint8_t type, struct sl_mp *r)
{
	struct sync *sy = ss->sy;
	const uint8_t *key = conn_key(ss->conn);
	char name[SL_ORG_MAX + 1], why[SL_PEER_BYE_MAX + 1];
	uint8_t secret[SL_JOIN_SECRET_LEN];
	struct peer *p;
	int rc;

	if (type == SL_PEER_BYE) {
		conn_close(ss->conn, false, "the newcomer closed");
		return;
	}
	if (type != SL_PEER_JOIN) {
		conn_close(ss->conn, true, "this node does not know your key: "
		    "join with an invitation first");
		return;
	}
	if ((rc = sl_wire_join(r, name, secret)) != SL_OK) {
		conn_close(ss->conn, true, "malformed JOIN (%s)",
		    sl_strerror(rc));
		return;
	}
	why[0] = '\0';
	rc = sy->join(sy->join_ctx, key, secret, name, why, sizeof why);
	sl_wipe(secret, sizeof secret);
	if (rc != SL_OK) {
		conn_close(ss->conn, true, "%s", why[0] ? why : sl_strerror(rc));
		return;
	}
	if ((p = peer_by_key(sy, key)) == NULL) {
		conn_close(ss->conn, true, "admitted, but this node has no peer "
		    "line for you: dial again");
		return;
	}
	ss->joining = false;
	ss->peer = p;
	if (p->ses != NULL)
		conn_close(p->ses->conn, false, "replaced by the joining one");
	p->ses = ss;
	p->last_contact = conn_last_rx(ss->conn);
	send_hello(ss, sy->org);
}

/* conn.c's frame: one frame of a session. */
static void
frame_cb(void *ctx, struct conn *c, const struct sl_frame_hdr *h,
    const uint8_t *body)
{
	struct session *ss = conn_data(c);
	struct sl_mp r;

	(void)ctx;
	assert(ss != NULL);
	sl_mp_init(&r, body, h->len);
	if (ss->joining) {
		handle_join(ss, h->type, &r);
		return;
	}
	/* Frames come only once established_cb() has bound the connection
	 * to its peer (or closed it), and none come once it is closing,
	 * which is when closed_cb() unbinds it: every handler may use
	 * ss->peer. */
	assert(ss->peer != NULL);
	if (h->type == SL_PEER_JOIN)
		return; /* a member's (it joined before): nothing to do */
	if (h->type != SL_PEER_HELLO && h->type != SL_PEER_BYE &&
	    !ss->hello_got) {
		conn_close(ss->conn, true, "%s before HELLO", h->type ==
		    SL_PEER_EVENTS ? "EVENTS" : "a frame");
		return;
	}
	/* Frames held back are stored before anything else is done. */
	if (h->type != SL_PEER_EVENTS && pend_flush(ss) == CLOSED)
		return;
	switch (h->type) {
	case SL_PEER_HELLO:
		handle_hello(ss, &r);
		break;
	case SL_PEER_HAVE: {
		struct vec_ctx v = { ss->peer, false };
		int rc = sl_wire_vector(&r, vector_entry, &v);

		if (rc != SL_OK || !sl_mp_at_end(&r)) {
			conn_close(ss->conn, true, "malformed HAVE (%s)",
			    sl_strerror(rc != SL_OK ? rc : SL_ETRAIL));
			return;
		}
		check_self(ss->sy);
		pump(ss);
		break;
	}
	case SL_PEER_EVENTS:
		handle_events(ss, &r, h->len);
		break;
	case SL_PEER_WANT:
		handle_want(ss, &r);
		break;
	case SL_PEER_WHOLE:
		handle_whole(ss, &r);
		break;
	case SL_PEER_PING:
		/* nil, and nothing else: any other body does not decode. */
		if (!sl_mp_read_nil(&r) || !sl_mp_at_end(&r))
			conn_close(ss->conn, true, "malformed PING");
		break;
	case SL_PEER_BYE: {
		char why[200];

		sl_wire_bye(&r, why, sizeof why);
		conn_close(ss->conn, false, "the peer closed: %s", why);
		break;
	}
	}
}

/* ---- joining ------------------------------------------------------------- */

/* Ends this node's join through p: done is told, once. */
static void
join_end(struct peer *p, int code, const char *why)
{
	sync_joined_fn done = p->join_done;
	void *ctx = p->join_done_ctx;

	p->join_pending = false;
	sl_wipe(p->join_secret, sizeof p->join_secret);
	p->join_done = NULL;
	p->join_done_ctx = NULL;
	if (done != NULL)
		done(ctx, code, why);
}

int
sync_join(struct sync *sy, const uint8_t key[SL_KEY_LEN],
    const uint8_t secret[SL_JOIN_SECRET_LEN], const char *name,
    sync_joined_fn done, void *ctx)
{
	struct peer *p = peer_by_key(sy, key);

	if (p == NULL || p->cfg.addr[0] == '\0')
		return SL_ENOENT;
	if (p->join_pending)
		return SL_EEXIST;
	p->join_pending = true;
	memcpy(p->join_secret, secret, SL_JOIN_SECRET_LEN);
	snprintf(p->join_name, sizeof p->join_name, "%s", name);
	p->join_done = done;
	p->join_done_ctx = ctx;
	if (p->ses != NULL)
		conn_close(p->ses->conn, false, "joining: dialling again");
	else if (p->dialing == NULL)
		peer_dial(p);
	return SL_OK;
}

int
sync_enrol(struct sync *sy, const uint8_t key[SL_KEY_LEN])
{
	struct peer *p = peer_by_key(sy, key);

	if (p == NULL || p->cfg.addr[0] == '\0')
		return SL_ENOENT;
	p->enrolling = true;
	if (p->ses == NULL && p->dialing == NULL)
		peer_dial(p);
	return SL_OK;
}

void
sync_join_cancel(struct sync *sy, const uint8_t key[SL_KEY_LEN])
{
	struct peer *p = peer_by_key(sy, key);

	if (p != NULL && p->join_pending) {
		p->join_done = NULL;
		p->join_done_ctx = NULL;
		p->join_pending = false;
		sl_wipe(p->join_secret, sizeof p->join_secret);
	}
}

void
sync_set_join(struct sync *sy, sync_join_fn join, sync_invites_fn open,
    void *ctx)
{
	sy->join = join;
	sy->invites_open = open;
	sy->join_ctx = ctx;
}

/* ---- sessions ------------------------------------------------------------ */

static struct session *
session_new(struct sync *sy, struct peer *p)
{
	struct session *ss = calloc(1, sizeof *ss);

	if (ss == NULL)
		return NULL;
	ss->sy = sy;
	ss->peer = p;
	ss->stick = -1;
	ss->next = sy->sessions;
	sy->sessions = ss;
	return ss;
}

/* conn.c's freed: the connection is gone, and so is its session. */
static void
freed_cb(void *ctx, void *data)
{
	struct sync *sy = ctx;
	struct session *ss = data;

	for (struct session **pp = &sy->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == ss) {
			*pp = ss->next;
			break;
		}
	}
	carry_clear(ss);
	pend_drop(ss);
	free(ss->ann);
	free(ss);
}

/* conn.c's closed: log why, unbind the session from its peer, and
 * redial the peer if it is dialled and nothing else serves it. */
static void
closed_cb(void *ctx, struct conn *c, bool bye, const char *why)
{
	struct sync *sy = ctx;
	struct session *ss = conn_data(c);
	struct peer *p = ss != NULL ? ss->peer : NULL;

	/* What it sent is stored, as if each frame had been at once. */
	if (p != NULL)
		(void)pend_flush(ss);
	/* ss is NULL for a stranger's connection, which conn.c logs. */
	if (p != NULL && p->ses == ss && ss->hello_got && !sy->closing)
		claim_check(p, true);
	/* The inviter refused the invitation (a BYE that says why), or had
	 * no invitation open at all (it refused this node's key in the
	 * handshake): the join is over. */
	if (p != NULL && p->join_pending && !ss->hello_got &&
	    strncmp(why, "the peer closed: ", 17) == 0)
		join_end(p, SL_EPERM, why + 17);
	else if (p != NULL && p->join_pending && !ss->hello_got &&
	    conn_outgoing(c) && strstr(why, "refused this node") != NULL)
		join_end(p, SL_EPERM, "it has no invitation open: yours is "
		    "unknown to it, was used already, or has expired; ask for "
		    "a new one (samlog invite)");
	if (p != NULL && !sy->closing) {
		/* With a BYE, it is for what the peer sent (or it is no
		 * longer a member): worth a warning. */
		if (ss->hello_got && !bye)
			log_info("peer %s (%s): disconnected: %s", p->cfg.name,
			    conn_addr(c), why);
		else if (ss->hello_got)
			log_warn("peer %s (%s): disconnected: %s", p->cfg.name,
			    conn_addr(c), why);
		else
			log_warn("peer %s (%s): %s", p->cfg.name, conn_addr(c),
			    why);
		/* A duplicate connection closing while another one serves
		 * the peer is not the peer's problem. */
		if (!(ss->hello_got && strstr(why, "closed") != NULL) &&
		    (p->ses == NULL || p->ses == ss))
			peer_error(p, "%s", why);
	}
	/* Unlink from the peer (the session stays, unbound, until conn.c
	 * frees the connection: freed_cb). */
	if (p != NULL) {
		if (p->ses == ss) {
			p->ses = NULL;
			p->last_contact = conn_last_rx(c);
		}
		if (p->dialing == ss)
			p->dialing = NULL;
		if (!sy->closing && !p->removed && p->cfg.addr[0] &&
		    p->ses == NULL && p->dialing == NULL)
			peer_schedule(p);
		ss->peer = NULL;
	}
	if (!sy->closing)
		check_self(sy);
}

/* conn.c's writable: the queue has drained, send on. */
static void
writable_cb(void *ctx, struct conn *c)
{
	struct session *ss = conn_data(c);

	(void)ctx;
	if (ss != NULL)
		pump(ss);
}

/* conn.c's tick, once a second per connection. */
static void
tick_cb(void *ctx)
{
	struct sync *sy = ctx;

	hold_watch(sy);
	want_maybe(sy);
}

/* conn.c's established: the handshake is done and the key was a member
 * then; bind the connection to its peer. */
static void
established_cb(void *ctx, struct conn *c)
{
	struct sync *sy = ctx;
	struct session *ss = conn_data(c); /* dialled: made by resolved_cb */
	struct peer *p = peer_by_key(sy, conn_key(c));
	char id[SL_NODE_ID_TEXT + 1];

	key_text(id, conn_key(c));
	/* A peer that moved to a new key: the one dialled, or (coming in)
	 * the first whose key the log says the new one replaced. */
	if (p == NULL && sy->moved != NULL && is_member(sy, conn_key(c))) {
		for (size_t i = 0; i < sy->npeers && p == NULL; i++) {
			struct peer *q = sy->peers[i];

			if (q->removed || (ss != NULL && ss->peer != q))
				continue;
			if (sy->moved(sy->moved_ctx, q->cfg.key, conn_key(c),
			    q->cfg.name)) {
				log_info("peer %s moved to key %.16s", q->cfg.name,
				    id);
				memcpy(q->cfg.key, conn_key(c), SL_KEY_LEN);
				p = q;
			}
		}
	}
	if (p == NULL && ss == NULL && !is_member(sy, conn_key(c)) &&
	    sy->invites_open != NULL && sy->invites_open(sy->join_ctx)) {
		/* A newcomer: it has the handshake's time to send JOIN. */
		if ((ss = session_new(sy, NULL)) == NULL) {
			conn_close(c, false, "out of memory");
			return;
		}
		ss->conn = c;
		ss->joining = true;
		conn_set_data(c, ss);
		return;
	}
	if (p == NULL) {
		conn_close(c, false, "node %s is not a member", id);
		return;
	}
	if (ss != NULL && ss->peer != p) {
		conn_close(c, false, "dialled %s but node %s answered",
		    ss->peer != NULL ? ss->peer->cfg.name : "?", id);
		return;
	}
	if (ss == NULL) {
		if ((ss = session_new(sy, p)) == NULL) {
			conn_close(c, false, "out of memory");
			return;
		}
		ss->conn = c;
		conn_set_data(c, ss);
	}
	if (p->dialing == ss)
		p->dialing = NULL;
	if (p->ses != NULL) {
		/* Both sides dialled: keep the connection dialled by the
		 * lower key (both ends choose the same one); a second one
		 * from the same dialer replaces the old (it was cut). */
		struct session *old = p->ses;
		const uint8_t *dn = conn_outgoing(c) ? sy->key.pub : p->cfg.key;
		const uint8_t *dold = conn_outgoing(old->conn) ? sy->key.pub :
		    p->cfg.key;
		bool keep_new = dn == dold ||
		    memcmp(dn, dold, SL_KEY_LEN) < 0;

		if (!keep_new) {
			conn_close(c, false, "already connected");
			return;
		}
		p->ses = ss;
		conn_close(old->conn, false, "replaced by a newer connection");
	}
	p->ses = ss;
	if (p->timer_open)
		uv_timer_stop(&p->redial);
	p->last_contact = conn_last_rx(c);
	if (p->join_pending && conn_outgoing(c)) {
		msgpack_packer pk;

		msgpack_packer_init(&pk, conn_frame_begin(sy->net),
		    sl_buf_write);
		sl_wire_pack_join(&pk, p->join_name, p->join_secret);
		conn_frame_send(c, SL_PEER_JOIN);
	}
	send_hello(ss, sy->org);
}

/* ---- dialling ---------------------------------------------------------- */

static void peer_maybe_free(struct peer *p);

static void
resolved_cb(void *data, int status, const struct sockaddr *sa)
{
	struct peer *p = data;
	struct sync *sy = p->sy;
	struct session *ss;

	p->resolving = false;
	if (p->removed || sy->closing) {
		peer_maybe_free(p);
		return;
	}
	if (sa == NULL) {
		peer_error(p, "cannot resolve %s: %s", p->cfg.addr,
		    uv_strerror(status));
		log_warn("peer %s: cannot resolve %s: %s", p->cfg.name,
		    p->cfg.addr, uv_strerror(status));
		peer_schedule(p);
		return;
	}
	if (p->ses != NULL)
		return;
	if ((ss = session_new(sy, p)) == NULL) {
		peer_schedule(p);
		return;
	}
	p->dialing = ss;
	/* A connect refused at once has been reported (closed_cb) when
	 * conn_dial returns; ss lasts until freed_cb all the same. */
	if (conn_dial(sy->net, sa, ss, &ss->conn) != SL_OK) {
		p->dialing = NULL;
		freed_cb(sy, ss);
		peer_schedule(p);
	}
}

static void
peer_dial(struct peer *p)
{
	struct sync *sy = p->sy;
	char err[160];
	int rc;

	if (p->removed || sy->closing || p->ses != NULL || p->dialing != NULL ||
	    p->resolving || p->cfg.addr[0] == '\0')
		return;
	rc = conn_resolve(sy->net, p->cfg.addr, resolved_cb, p, err,
	    sizeof err);
	if (rc == SL_OK)
		p->resolving = true;
	else if (rc == SL_EVALUE)
		peer_error(p, "%s", err);
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
	if (p->ses != NULL)
		conn_close(p->ses->conn, true, "no longer a member of this "
		    "node");
	if (p->dialing != NULL)
		conn_close(p->dialing->conn, false, "no longer a member");
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

		if (p->ses == NULL || !p->ses->hello_got ||
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
		if (sy->peers[i]->ses != NULL &&
		    sy->peers[i]->ses->hello_got)
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

		if (p->ses != NULL && o != NULL && o->want && !o->refused &&
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
	struct session *ss, *next;

	uv_idle_stop(h);
	sy->grew = false;
	for (ss = sy->sessions; ss != NULL; ss = next) {
		uint64_t upto;

		next = ss->next;
		/* The log changed: it may have retired a peer, whose
		 * connection then ends as a new one would be refused. */
		bool known = ss->peer != NULL && sy->member != NULL &&
		    member_upto(sy, ss->peer->cfg.key, &upto);

		if (ss->peer != NULL && sy->member != NULL &&
		    !conn_closing(ss->conn) && (known ? upto != UINT64_MAX :
		    !ss->peer->enrolling && !ss->peer->join_pending &&
		    (sy->reader == NULL || !sy->reader(sy->reader_ctx,
		    ss->peer->cfg.key)))) {
			/* What it lacks goes first (its retirement among
			 * it), then the BYE. */
			if (ss->hello_got) {
				send_have(ss);
				pump(ss);
			}
			conn_close(ss->conn, true, "the key no longer signs for "
			    "a current member (its organisation retired, or "
			    "the device revoked)");
			continue;
		}
		/* The log changed: an origin waiting for a body may have it. */
		for (size_t i = 0; ss->peer != NULL && i < ss->peer->nos; i++)
			ss->peer->os[i].bodywait = false;
		if (ss->hello_got && !conn_closing(ss->conn)) {
			send_have(ss);
			pump(ss);
		}
	}
	check_self(sy);
	want_maybe(sy);
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
	static const struct conn_cbs cbs = {
		.admit = admit_cb,
		.established = established_cb,
		.frame = frame_cb,
		.writable = writable_cb,
		.closed = closed_cb,
		.freed = freed_cb,
		.tick = tick_cb,
	};
	struct sync *sy = calloc(1, sizeof *sy);
	int rc;

	*out = NULL;
	if (sy == NULL) {
		snprintf(err, errlen, "out of memory");
		return SL_ENOMEM;
	}
	sy->loop = loop;
	sy->s = s;
	sy->key = *key;
	if ((rc = conn_set_new(&sy->net, loop, key, &cbs, sy, err,
	    errlen)) != SL_OK) {
		sl_key_wipe(&sy->key);
		free(sy);
		return rc;
	}
	uv_idle_init(loop, &sy->idle);
	sy->idle.data = sy;
	uv_timer_init(loop, &sy->pend_timer);
	sy->pend_timer.data = sy;
	*out = sy;
	sync_apply(sy, c);
	return SL_OK;
}

void
sync_set_quiet(struct sync *sy, bool quiet)
{
	sy->quiet = quiet;
	if (!quiet)
		sync_log_grew(sy);
}

void
sync_set_hold(struct sync *sy, sync_hold_fn fn, void *ctx)
{
	sy->hold = fn;
	sy->hold_ctx = ctx;
}

void
sync_set_fork(struct sync *sy, sync_fork_fn fn, void *ctx)
{
	sy->on_fork = fn;
	sy->fork_ctx = ctx;
}

void
sync_set_reader(struct sync *sy, sync_reader_fn reader, void *ctx)
{
	sy->reader = reader;
	sy->reader_ctx = ctx;
}

void
sync_set_members(struct sync *sy, sync_member_fn member,
    sync_members_fn list, void *ctx)
{
	sy->member = member;
	sy->members = list;
	sy->members_ctx = ctx;
}

void
sync_set_moved(struct sync *sy, sync_moved_fn moved, void *ctx)
{
	sy->moved = moved;
	sy->moved_ctx = ctx;
}

int
sync_listen(struct sync *sy, const char *addr, char *err, size_t errlen)
{
	return conn_listen(sy->net, addr, err, errlen);
}

const char *
sync_listen_addr(const struct sync *sy)
{
	return conn_listen_addr(sy->net);
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
					conn_close(p->dialing->conn, false,
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
	const struct session *ss = p->ses;

	memset(out, 0, sizeof *out);
	out->cfg = p->cfg;
	out->connected = ss != NULL && ss->hello_got &&
	    !conn_closing(ss->conn);
	out->outgoing = ss != NULL && conn_outgoing(ss->conn);
	/* While a session is up, its connection knows when it last heard
	 * from the peer; the peer's own copy is from the session's start
	 * and end. */
	out->last_contact = ss != NULL ? conn_last_rx(ss->conn) :
	    p->last_contact;
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
		/* The peer accepts, and holds events of, an origin this
		 * node does not: the two disagree on who is a member. */
		if (o->has > 0 && !is_member(sy, o->origin))
			out->strangers++;
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
	/* What peers sent is stored before the connections go. */
	pend_all(sy, true);
	uv_timer_stop(&sy->pend_timer);
	uv_close((uv_handle_t *)&sy->pend_timer, NULL);
	sy->closing = true;
	conn_set_close(sy->net, "the node is shutting down");
	while (sy->npeers > 0)
		peer_drop(sy, sy->peers[sy->npeers - 1]);
	uv_idle_stop(&sy->idle);
	uv_close((uv_handle_t *)&sy->idle, NULL);
}

void
sync_free(struct sync *sy)
{
	if (sy == NULL)
		return;
	conn_set_free(sy->net);
	sl_key_wipe(&sy->key);
	free(sy->peers);
	free(sy->recs);
	free(sy->lens);
	free(sy->mkeys);
	free(sy);
}

void
sync_set_org(struct sync *sy, const char *org)
{
	snprintf(sy->org, sizeof sy->org, "%s", org);
}
