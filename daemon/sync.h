/*
 * sync.h - peers: membership, the TLS connections to other nodes, and the
 * sync protocol over them (PROTOCOL.md, "Sync").
 *
 * Every connection starts with both sides sending HELLO with their version
 * vector (for each origin they accept, the highest seq they hold); each
 * side then streams what the other lacks, per origin in seq order, in
 * EVENTS frames that end on a signed event, and afterwards pushes new
 * events as they enter its log (its own and those it received from other
 * peers, which is how events cross nodes that are not directly connected).
 * HAVE frames keep each side's view of the other's vector current.
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

/* Output queued per connection above which no more events are read from
 * the log for it, and below which sending resumes; and the hard cap at
 * which a peer that does not read is disconnected. */
#define SYNC_HIGH_WATER (4u << 20)
#define SYNC_LOW_WATER (1u << 20)
#define SYNC_QUEUE_MAX (16u << 20)

/* Called with true to hold local writes (this node is taking back events
 * of its own chain from a peer) and false to let them go on. */
typedef void (*sync_hold_fn)(void *ctx, bool hold);

int sync_new(struct sync **out, uv_loop_t *loop, struct store *s,
    const struct sl_key *key, const char *conf_path, const struct config *c,
    char *err, size_t errlen);
void sync_set_hold(struct sync *sy, sync_hold_fn fn, void *ctx);

/* Listens for peers on "HOST:PORT" (port 0: any free port) instead of
 * where it listened before; "" stops listening.  The old listener closes
 * only once the new one listens: on failure (-1, err set) nothing
 * changed.  0 on success. */
int sync_listen(struct sync *sy, const char *addr, char *err, size_t errlen);
/* The address actually listened on ("" if none). */
const char *sync_listen_addr(const struct sync *sy);

/* Takes the peers of c (after a reload): new ones are dialled, removed
 * ones disconnected, changed ones redialled. */
void sync_apply(struct sync *sy, const struct config *c);

/* The log has grown (a local commit): announce and push to peers. */
void sync_log_grew(struct sync *sy);

/*
 * The peer commands: they change samlog.conf and take effect at once.
 * SL_OK, or an SL_E* code with msg saying why.
 */
int sync_peer_add(struct sync *sy, const char *name, const char *node_id,
    const char *addr, char *msg, size_t mlen);
int sync_peer_remove(struct sync *sy, const char *name, char *msg,
    size_t mlen);

/* Packs peer i (below sync_peer_count) as a map, for `peer list` and
 * `status`. */
void sync_pack_peer(const struct sync *sy, size_t i, msgpack_packer *pk);
size_t sync_peer_count(const struct sync *sy);
/* Index of the peer called name, or -1. */
long sync_peer_index(const struct sync *sy, const char *name);

/* The organisation this node speaks for, sent in HELLO. */
void sync_set_org(struct sync *sy, const char *org);

/* Closes every connection and handle; the loop must then run until they
 * have finished closing, and then sync_free frees sy. */
void sync_close(struct sync *sy);
void sync_free(struct sync *sy);

#endif
