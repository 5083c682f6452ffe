/*
 * sync.h - peers: the members this node syncs with, and the sync session
 * with each over the connections conn.c keeps (PROTOCOL.md, "Sync").
 *
 * Every connection starts with both sides sending HELLO with their version
 * vector (for each origin they accept, the highest seq they hold); each
 * side then streams what the other lacks, per origin in seq order, in
 * EVENTS frames that end on a signed event, and afterwards pushes new
 * events as they enter its log (its own and those it received from other
 * peers, which is how events cross nodes that are not directly connected).
 * HAVE frames keep each side's view of the other's vector current.
 *
 * The peer set is what the caller applies (sync_apply): this module never
 * reads or writes samlog.conf, and answers no control request itself; it
 * tells what it knows of a peer as a plain struct (sync_peer_get).
 *
 * Everything runs on the daemon's one loop thread; nothing here is
 * thread-safe.
 */
#ifndef SAMLOG_SYNC_H
#define SAMLOG_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "store.h"

struct sync;

/* Called with true to hold local writes (this node is taking back events
 * of its own chain from a peer) and false to let them go on; always
 * alternating, starting with true.  ctx is the value given to
 * sync_set_hold. */
typedef void (*sync_hold_fn)(void *ctx, bool hold);

/*
 * Makes the sync state on loop for store s (borrowed: it must outlive the
 * sync) as the node with key (copied; the copy is wiped by sync_free),
 * and applies the peers of c (read during the call only: sync_apply),
 * which starts dialling those with an address.  It does not listen until
 * sync_listen.  SL_OK; on failure *out is NULL and err says why:
 * SL_ENOMEM, or SL_EINVAL when the TLS context cannot be made from key.
 */
int sync_new(struct sync **out, uv_loop_t *loop, struct store *s,
    const struct sl_key *key, const struct config *c, char *err,
    size_t errlen);
/* Quiet: send no events to any peer (a node restored from a backup,
 * until it holds what they hold); receiving goes on. */
void sync_set_quiet(struct sync *sy, bool quiet);
/* Sets who is told to hold local writes (fn may be NULL: nobody). */
void sync_set_hold(struct sync *sy, sync_hold_fn fn, void *ctx);
/* Sets who is told that a peer's events were refused as a fork of origin
 * at seq (the store kept the evidence from there on, or was at its cap):
 * fn may be NULL. */
typedef void (*sync_fork_fn)(void *ctx, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq);
void sync_set_fork(struct sync *sy, sync_fork_fn fn, void *ctx);

/*
 * Who the members are, as the log says (PROTOCOL.md 12.1): member(ctx,
 * key, &upto) is true for a member organisation's key and sets upto to
 * the last seq of its that counts (UINT64_MAX: not retired); list(ctx,
 * keys, max) writes up to max members' keys and returns how many there
 * are.  Without them (tests that build a sync alone) the members are
 * this node and its configured peers.  Both are called from the loop,
 * as often as once per frame; the context is borrowed.
 */
typedef bool (*sync_member_fn)(void *ctx, const uint8_t key[SL_KEY_LEN],
    uint64_t *upto);
typedef size_t (*sync_members_fn)(void *ctx, uint8_t (*keys)[SL_KEY_LEN],
    size_t max);
void sync_set_members(struct sync *sy, sync_member_fn member,
    sync_members_fn list, void *ctx);
/*
 * A reader: a key that is no member but may connect and take this
 * node's events (none of its own are taken): a newcomer waiting for
 * the members' approval (PROTOCOL.md 12.4).  reader(ctx, key) is called
 * for keys that are no member, on a handshake and when the log grows;
 * NULL (the default): none.  The context is borrowed.
 */
typedef bool (*sync_reader_fn)(void *ctx, const uint8_t key[SL_KEY_LEN]);
void sync_set_reader(struct sync *sy, sync_reader_fn reader, void *ctx);
/*
 * A peer's node moved to a new key (samlog device rotate, PROTOCOL.md
 * 12.3): a connection shows key `now` where this node knows the peer
 * called name by key `was`.  moved(ctx, was, now, name) says whether the
 * log makes `now` the same organisation's current key and `was` one that
 * no longer signs; if so the peer takes the new key (and the callback
 * may keep it in the configuration, later: not from inside this call).
 */
typedef bool (*sync_moved_fn)(void *ctx, const uint8_t was[SL_KEY_LEN],
    const uint8_t now[SL_KEY_LEN], const char *name);
void sync_set_moved(struct sync *sy, sync_moved_fn moved, void *ctx);

/*
 * Joining (PROTOCOL.md 12.2).  As the inviter: while invites_open(ctx)
 * says invitations are open, a node whose key is no member may finish
 * the TLS handshake, but its connection carries nothing until its first
 * frame, JOIN, is accepted by join(ctx, key, secret, name, why, wlen):
 * SL_OK once the newcomer is admitted and has a peer line (the session
 * then goes on as a member's), else an SL_E* code and why, sent back in
 * a BYE.  As the newcomer: sync_join makes the configured peer with key
 * (it must have an address) get JOIN {secret, name} first on the next
 * connection this node dials to it; done(ctx, code, why) is called once:
 * SL_OK when the inviter answers with HELLO, SL_EPERM with the reason of
 * its BYE.  Until then the peer's key is let through TLS though it is no
 * member yet.  sync_join_cancel forgets a join (done is not called).
 * sync_join returns SL_OK, SL_ENOENT (no such peer, or no address) or
 * SL_EEXIST (a join through it is under way).
 */
typedef int (*sync_join_fn)(void *ctx, const uint8_t key[SL_KEY_LEN],
    const uint8_t secret[SL_JOIN_SECRET_LEN], const char *name, char *why,
    size_t wlen);
typedef bool (*sync_invites_fn)(void *ctx);
void sync_set_join(struct sync *sy, sync_join_fn join, sync_invites_fn open,
    void *ctx);
typedef void (*sync_joined_fn)(void *ctx, int code, const char *why);
int sync_join(struct sync *sy, const uint8_t key[SL_KEY_LEN],
    const uint8_t secret[SL_JOIN_SECRET_LEN], const char *name,
    sync_joined_fn done, void *ctx);
void sync_join_cancel(struct sync *sy, const uint8_t key[SL_KEY_LEN]);
/* This node was enrolled as a device through the configured peer with
 * key (it must have an address): that key is let through TLS, though
 * this node does not know it is a member's yet, until the log says
 * (a known key's standing always decides).  Dials it.  SL_OK or
 * SL_ENOENT. */
int sync_enrol(struct sync *sy, const uint8_t key[SL_KEY_LEN]);

/* Listens for peers on "HOST:PORT" (port 0: any free port) instead of
 * where it listened before; "" stops listening.  The old listener closes
 * only once the new one listens: on failure (-1, err set) nothing
 * changed.  0 on success. */
int sync_listen(struct sync *sy, const char *addr, char *err, size_t errlen);
/* The address actually listened on ("" if none).  Borrowed: valid until
 * the next sync_listen. */
const char *sync_listen_addr(const struct sync *sy);

/*
 * Makes the peer set that of c (read during the call only), after a
 * reload or a peer command: new peers are dialled, removed ones
 * disconnected (with a BYE) and forgotten, and those whose address
 * changed redialled; a peer whose key changed under the same name is
 * removed and added anew.  Peer indexes (below) change.  New members are
 * announced to connected peers.
 */
void sync_apply(struct sync *sy, const struct config *c);

/* The log has grown (a local commit or an import): announce and push to
 * peers, once per loop turn however often it is called. */
void sync_log_grew(struct sync *sy);

/* What this node knows of one peer, as `peer list` and `status` show
 * it: a copy, which the caller owns. */
struct sync_peer_info {
	struct config_peer cfg;  /* name, key, and where it is dialled
	                            ("": not dialled) */
	bool connected;          /* in a sync session now (HELLO received) */
	bool outgoing;           /* that session's connection was dialled
	                            by this node; false when not connected */
	uint64_t last_contact;   /* ms: when the peer was last heard from,
	                            0 never (while connected, the last read) */
	uint64_t behind;         /* events this node holds that it lacks */
	uint64_t ahead;          /* events of members it says it holds and
	                            this node lacks (its claim; one to this
	                            node's own chain proved false is left
	                            out) */
	uint64_t sent, received; /* events, since this daemon started */
	uint64_t refused;        /* refusals of what it sent, likewise */
	uint32_t strangers;      /* origins it holds events of, as a member's,
	                            that are no members here */
	char last_error[256];    /* the last thing that went wrong with it;
	                            "" again after a good HELLO */
};

/* Peers now; indexes below it are valid until the next sync_apply. */
size_t sync_peer_count(const struct sync *sy);
/* Index of the peer called name, or of the peer with key; -1 if none. */
long sync_peer_index(const struct sync *sy, const char *name);
long sync_peer_index_key(const struct sync *sy,
    const uint8_t key[SL_KEY_LEN]);
/* Fills *out with peer i (below sync_peer_count). */
void sync_peer_get(const struct sync *sy, size_t i,
    struct sync_peer_info *out);

/* The organisation this node speaks for, sent in HELLO (copied; sessions
 * already begun keep what they sent). */
void sync_set_org(struct sync *sy, const char *org);

/* Closes every connection (with a BYE), the listener and every handle,
 * and stops dialling; the loop must then run until they have finished
 * closing, and then sync_free frees sy (NULL is fine). */
void sync_close(struct sync *sy);
void sync_free(struct sync *sy);

#endif
