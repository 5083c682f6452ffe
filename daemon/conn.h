/*
 * conn.h - peer connections: TCP and TLS (tls.c) on the daemon's loop,
 * and the length-prefixed msgpack frames of the peer protocol over them.
 *
 * A connection set owns a listener, every connection it accepted or
 * dialled, the TLS context made from the node key and the one read
 * buffer they share.  It frames bytes (header checked, body capped at
 * SL_PEER_FRAME_MAX), queues writes and says when a queue has room again,
 * sends PING when a connection has been quiet and BYE when it closes one
 * for what the other side did, times out handshakes and silent peers,
 * limits what strangers may hold at accept, and dials addresses.  It knows
 * no peers, no version vectors and no store: what a connection is for is
 * its owner's business (sync.c), told through the callbacks of struct
 * conn_cbs and an opaque pointer kept per connection (conn_set_data).
 *
 * Everything runs on one libuv loop; nothing here is thread-safe.
 */
#ifndef SAMLOG_CONN_H
#define SAMLOG_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "samlog_proto.h"
#include "tls.h"

struct conn_set;
struct conn;

/* Output queued per connection above which conn_has_room() says no (the
 * owner stops reading the log for it), below which writable is called
 * again; and the hard cap at which a peer that does not read is
 * disconnected. */
#define CONN_HIGH_WATER (4u << 20)
#define CONN_LOW_WATER (1u << 20)
#define CONN_QUEUE_MAX (16u << 20)

/*
 * What a connection set tells its owner.  ctx is the value given to
 * conn_set_new.  Every callback is called from the loop, never from inside
 * a conn_* call made by the owner, except closed: any call that closes a
 * connection (conn_close, conn_frame_send, conn_dial, conn_set_close)
 * calls closed before it returns.  A connection stays valid during every
 * callback about it, even one that closes it.
 */
struct conn_cbs {
	/* During the TLS handshake: may the node presenting key connect?
	 * False fails the handshake before a byte of application data. */
	tls_check_fn admit;
	/* The handshake is done (conn_key(c) is the peer's key).  The owner
	 * binds c with conn_set_data (a dial came with its data already) or
	 * closes it; frames follow only while c is open. */
	void (*established)(void *ctx, struct conn *c);
	/* One complete frame: h has been checked (version, a type from 1
	 * to below SL_PEER_COUNT, no flags, h->len at most
	 * SL_PEER_FRAME_MAX: a bad header closes c with a BYE); body holds
	 * h->len bytes, borrowed from the read buffer for the call.  May
	 * send on c or close it. */
	void (*frame)(void *ctx, struct conn *c, const struct sl_frame_hdr *h,
	    const uint8_t *body);
	/* A write on c completed and its queue is below CONN_LOW_WATER:
	 * there is room to send more.  Not called once c is closing. */
	void (*writable)(void *ctx, struct conn *c);
	/* c is closing, once per connection that was dialled or got past
	 * the accept limits: why says why in one phrase; bye is true when it
	 * was closed for what the other side did (a BYE was sent if the
	 * handshake had finished).  No other callback follows for c;
	 * conn_data(c) is still what it was, and c is no longer to be used
	 * (its memory lasts until freed). */
	void (*closed)(void *ctx, struct conn *c, bool bye, const char *why);
	/* c's handles have closed and its memory is about to go: data (the
	 * value of conn_set_data, never NULL here) may be freed now.  Not
	 * called for a connection whose data was never set. */
	void (*freed)(void *ctx, void *data);
	/* Once a second for each connection, closing ones too (the
	 * keepalive timer's beat, before it judges the connection). */
	void (*tick)(void *ctx);
};

/*
 * Makes a connection set on loop with a TLS context from key (its
 * certificate carries key's public half; key is not kept).  cbs is copied;
 * ctx is borrowed and passed to every callback.  SL_OK, SL_ENOMEM, or
 * SL_EINVAL when the TLS context cannot be made; on failure *out is NULL
 * and err says why.
 */
int conn_set_new(struct conn_set **out, uv_loop_t *loop,
    const struct sl_key *key, const struct conn_cbs *cbs, void *ctx,
    char *err, size_t errlen);

/*
 * Listens for connections on "HOST:PORT" (HOST "*": every IPv4 address;
 * port 0: any free port) instead of where it listened before; "" stops
 * listening.  The old listener closes only once the new one listens: on
 * failure (-1, err set) nothing changed.  0 on success.  Each change is
 * logged.
 */
int conn_listen(struct conn_set *set, const char *addr, char *err,
    size_t errlen);
/* The address actually listened on, "HOST:PORT" ("" if none).  Borrowed:
 * valid until the next conn_listen. */
const char *conn_listen_addr(const struct conn_set *set);

/*
 * Resolves "HOST:PORT" (getaddrinfo, off the loop thread) and then calls
 * cb(data, status, sa) once, from the loop: status 0 and sa the first
 * address found (borrowed for the call), or a libuv error code and sa
 * NULL.  data is borrowed and must stay valid until cb.  SL_OK when cb
 * will be called; otherwise cb is never called and err says why:
 * SL_EVALUE for a malformed address or port, SL_ENOMEM or SL_EIO when the
 * lookup could not start.
 */
typedef void (*conn_resolved_fn)(void *data, int status,
    const struct sockaddr *sa);
int conn_resolve(struct conn_set *set, const char *addr, conn_resolved_fn cb,
    void *data, char *err, size_t errlen);

/*
 * Dials sa (TCP, then the TLS handshake as client) for an owner that has
 * data ready for it: the connection starts with conn_set_data(c, data).
 * *out is set before anything can close the connection, so it may point
 * into data.  SL_OK: the dial is under way, and its failure will come
 * through closed, which may already have been called when conn_dial
 * returns (a connect refused at once).  Otherwise *out is NULL and no
 * callback will come: SL_ENOMEM, or SL_EINVAL once the set is closing.
 */
int conn_dial(struct conn_set *set, const struct sockaddr *sa, void *data,
    struct conn **out);

/*
 * Starts a frame: returns the set's frame buffer, emptied but for
 * SL_FRAME_HDR bytes of room for the header, for the body to be appended
 * (sl_buf_write; a msgpack_packer may write into it).  Borrowed: it is
 * overwritten by the next conn_frame_begin and by a conn_close with bye.
 */
struct sl_buf *conn_frame_begin(struct conn_set *set);
/*
 * Sends what was built since conn_frame_begin as one frame of type on c,
 * in one TLS record write.  0, or -1 if the body could not be built (out
 * of memory), c has not finished its handshake or is closing, or the send
 * failed; a failed send (TLS, the socket, or a queue past CONN_QUEUE_MAX)
 * closes c.
 */
int conn_frame_send(struct conn *c, uint8_t type);

/*
 * Closes c: stops reading, sends a BYE saying why first when bye is set
 * and the handshake has finished, lets what is queued go out for a few
 * seconds, then closes the socket.  The owner hears of it through closed
 * before this returns; a second call (or one from inside closed) does
 * nothing.  A connection whose data was never set is a stranger's: its
 * closing is logged here, a few lines a minute at most, unless the set
 * is closing.
 */
void conn_close(struct conn *c, bool bye, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The owner's pointer for c (NULL until set), and setting it. */
void *conn_data(const struct conn *c);
void conn_set_data(struct conn *c, void *data);
/* "HOST:PORT" of the other end ("" until known; "?" if unknown).
 * Borrowed: valid as long as c. */
const char *conn_addr(const struct conn *c);
/* The other end's node key, once established has been called. */
const uint8_t *conn_key(const struct conn *c);
/* True if this node dialled c. */
bool conn_outgoing(const struct conn *c);
/* True once c is closing (conn_close has been called on it). */
bool conn_closing(const struct conn *c);
/* True while c is open and its output queue is below CONN_HIGH_WATER. */
bool conn_has_room(const struct conn *c);
/* When bytes last came in on c, in ms (sl_now_ms); the time of the
 * handshake's end before any frame. */
uint64_t conn_last_rx(const struct conn *c);

/*
 * Stops listening and closes every connection at once, sending a BYE
 * saying why on those established (closed is called for each one not
 * yet closing).  No new connection is made or accepted afterwards.  The
 * loop must then run until every handle has closed (freed is called for
 * each connection with data), and then conn_set_free frees set.
 */
void conn_set_close(struct conn_set *set, const char *why);
void conn_set_free(struct conn_set *set);

#endif
