/*
 * store.h - the node's event log in one LMDB environment.
 *
 * Named databases (all in one environment, all written in one transaction
 * per commit):
 *   meta     format version, the local node's key, the hybrid clock
 *   origins  origin key -> (local index, tip seq, tip hash): the version vector
 *   log      (origin index, seq) -> record bytes exactly as received
 *   arrival  arrival number -> (origin index, seq): local arrival order
 *   forks    (origin index, seq, hash) -> record: evidence of equivocation
 *   refused  (time, record hash) -> [code, from, reason, record]: records
 *            peers sent that failed their checks
 * The two evidence databases are capped (10,000 records and 16 MiB of
 * pages each), so that no peer can fill the disk with them.
 *
 * The store is the only writer of its environment and is not thread-safe:
 * samlogd calls it from its one loop thread.
 */
#ifndef SAMLOG_STORE_H
#define SAMLOG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "samlog_proto.h"

struct store;
struct store_batch;

struct store_options {
	size_t initial_map; /* bytes; 0 = 64 MiB.  The map doubles when full. */
	size_t max_map;     /* bytes; 0 = 1 TiB.  Beyond it appends fail SL_EFULL. */
	/* For tests: the syncer thread waits this long before each
	 * checkpoint's sync, so that a test can stop the process while
	 * one is under way.  0 in use. */
	unsigned syncer_delay_ms;
};

/*
 * Opens (creating if needed, mode 0700) the environment in directory path.
 * key is the local node's key pair, needed by store_append; it may be NULL
 * for a store that only ingests and reads.  A store remembers the first key
 * it was opened with and refuses another (SL_EINVAL).  On failure *out is
 * NULL and err holds one line saying why.
 */
int store_open(struct store **out, const char *path, const struct sl_key *key,
    const struct store_options *opt, char *err, size_t errlen);

/* Closes the environment and frees the store (NULL is fine). */
void store_close(struct store *s);

/* What a local append assigned to one event. */
struct store_appended {
	uint8_t hash[SL_HASH_LEN];
	uint64_t seq;
	uint64_t hlc;
};

/*
 * Appends n events of the local origin in one durable commit: assigns seq,
 * prev and clock, signs the last event and every SL_SIGN_INTERVAL-th seq,
 * and returns only once the commit is on disk.  out (may be NULL) receives
 * n entries.  A draft that fails sl_draft_check refuses the whole call and
 * nothing is written.  Returns SL_OK or an SL_E* code (err says why).
 */
int store_append(struct store *s, const struct sl_event_draft *drafts,
    size_t n, struct store_appended *out, char *err, size_t errlen);

/*
 * Called for every event that enters the log (local or foreign, never for
 * a duplicate) inside the write transaction that adds it, so what it
 * writes commits or aborts with the event.  ev borrows bytes valid for the
 * call.  Returns 0 or an LMDB error code, which aborts the transaction.
 */
typedef int (*store_hook_fn)(void *ctx, MDB_txn *txn, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN]);
void store_set_hook(struct store *s, store_hook_fn fn, void *ctx);

/*
 * Called for every event before it enters the log, local or foreign,
 * with its type, entity, parent count and payload (NULL: body erased):
 * the content rules (samlogd installs the schema's).  SL_OK, or another
 * code with why filled in: a local append is refused (SL_EVALUE, the
 * batch stays usable), an ingest batch refused (SL_ESCHEMA).  Also
 * called for the lost body of a duplicate (see store_ingest).
 */
typedef int (*store_check_fn)(void *ctx, const char *type, size_t tlen,
    const uint8_t *entity, uint32_t n_parents, const uint8_t *payload,
    size_t plen, const uint8_t *opens, size_t olen, uint64_t hlc,
    const uint8_t *origin, const uint8_t *hash, char *why, size_t wlen);
void store_set_check(struct store *s, store_check_fn fn, void *ctx);
/* Asked, inside the ingest transaction, before a fuller copy of an event
 * the store holds replaces it: does an erasure explain field key
 * missing from the held copy (then it stays out)?  PROTOCOL.md 5.2. */
typedef bool (*store_explain_fn)(void *ctx, MDB_txn *txn,
    const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN],
    const char *key, size_t klen);
void store_set_explain(struct store *s, store_explain_fn fn, void *ctx);

/* How far ahead of the wall clock a foreign event's clock may move this
 * node's hybrid clock (default 5 minutes); see project_set_skew. */
void store_set_follow(struct store *s, uint64_t ms);

/*
 * A write batch: local appends sharing one durable commit (group commit).
 * begin opens the write transaction; each append assigns seq, prev and
 * clock and calls the hook; commit signs the last event and makes them all
 * durable.  Reads made through store_batch_txn() see the batch's own
 * writes.  Any call may return SL_ERETRY: the map was full and has grown;
 * the batch is void and must be aborted and replayed from the start.  On
 * any error other than a refused draft (SL_EVALUE/SL_ESIZE/SL_EINVAL from
 * the draft check, which leaves the batch usable) the batch is void.
 * commit and abort free the batch.
 */
int store_batch_begin(struct store *s, struct store_batch **out, char *err,
    size_t errlen);
MDB_txn *store_batch_txn(const struct store_batch *b);
int store_batch_append(struct store_batch *b, const struct sl_event_draft *d,
    struct store_appended *out, char *err, size_t errlen);
int store_batch_commit(struct store_batch *b, char *err, size_t errlen);
void store_batch_abort(struct store_batch *b);
/* The batch's next event gets a clock greater than hlc (and so do those
 * after it): an event must be later than every parent it names, or the
 * fold ignores it (PROTOCOL.md 11.3), and a parent may be up to
 * max_skew ahead of this node's clock. */
void store_batch_after(struct store_batch *b, uint64_t hlc);

/*
 * Reads the record of (origin, seq) inside txn without copying: *rec is
 * valid until txn ends.  SL_OK, SL_ENOENT or SL_ESTORE.
 */
int store_txn_event(struct store *s, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq, const uint8_t **rec,
    size_t *len);

/* The hash of the event (origin, seq), in its own read transaction or
 * inside txn: SL_OK, SL_ENOENT or SL_ESTORE. */
int store_event_hash(struct store *s, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq, uint8_t hash[SL_HASH_LEN]);
int store_txn_event_hash(struct store *s, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq, uint8_t hash[SL_HASH_LEN]);

/*
 * Calls fn (the hook's signature) for every event in arrival order inside
 * txn; stops at a nonzero return, which is returned.  *n counts events.
 */
int store_txn_scan(struct store *s, MDB_txn *txn, store_hook_fn fn,
    void *ctx, uint64_t *n);

/* Grows the map after MDB_MAP_FULL (no transaction may be open). */
int store_grow_map(struct store *s);

/* The LMDB environment, for modules that keep their own databases in it
 * (the projections).  Borrowed. */
MDB_env *store_env(struct store *s);

/* Drops the map's pages from the process's resident set (they stay in
 * the page cache).  Only with no transaction open. */
void store_release_pages(struct store *s);

/*
 * Closes the LMDB environment and opens it again, for the memory: LMDB
 * keeps every page a write transaction dirtied for the next one and
 * frees none until the environment closes, so one large commit (an
 * import, a catch-up frame) would hold its pages for the life of the
 * process.  The database handles change: the projections reopen theirs
 * (project_renew).  SL_ERETRY, with nothing done, while this process
 * has a read transaction open (or the file cannot be looked at); it must
 * have no write transaction open.  Any other failure (said in err)
 * leaves the store unusable: the caller stops.
 */
int store_renew(struct store *s, char *err, size_t errlen);

/*
 * Durability.  LMDB commits unsynced; a commit that adds events is made
 * durable by one synced append to the store's write-ahead file ("wal"
 * in its directory), any other by a checkpoint (store.c says how).
 *
 * store_commit commits a write transaction of the caller's (the
 * projections', the erasures') and makes it durable: every write
 * transaction on the environment ends here, never in mdb_txn_commit.
 * Returns 0 or an LMDB/errno code, like mdb_txn_commit.
 *
 * store_checkpoint syncs what was committed since the last checkpoint
 * and makes it the one a crash goes back to, so that the pages held for
 * the one before are free (samlogd calls it when idle).  A failed sync
 * stops the process, as after any commit.
 *
 * After a crash store_open goes back to the last checkpoint; the events
 * written since are taken in again by store_replay, which must be called
 * once the hooks (store_set_hook, store_set_check, store_set_explain)
 * are in place, before anything else is written: until then commits are
 * not durable, and store_close leaves the write-ahead file as it is.
 * *events (may be NULL) counts the events taken in.  SL_OK, or SL_ESTORE
 * / SL_EIO with err saying why (the file is left for the next start).
 * store_replay_owed says whether there is anything to take in.
 */
int store_commit(struct store *s, MDB_txn *txn);
void store_checkpoint(struct store *s);
int store_replay(struct store *s, size_t *events, char *err, size_t errlen);
bool store_replay_owed(const struct store *s);
/* Opens a read transaction (caller aborts it). */
int store_read_begin(struct store *s, MDB_txn **txn);

/* Outcome of an ingest; reason is one line when code != SL_OK. */
struct store_ingest_result {
	int code;
	uint8_t origin[SL_KEY_LEN]; /* where the refusal happened */
	uint64_t seq;
	size_t index;               /* position of that event in the batch */
	size_t added;
	size_t duplicates;
	size_t restored;            /* duplicates that brought a lost body
	                               or openings back */
	size_t gaps;                /* events held without an opening no
	                               erasure explains (store_gaps) */
	char reason[256];
};

/*
 * Ingests a batch of foreign records (any origins; each origin's events in
 * ascending, consecutive seq order).  Every record is decoded strictly, its
 * payload and chain checked, and every event must be covered by a verified
 * signature of its origin within the batch, pass the check hook, and
 * have a clock greater than the previous event of its origin's.  Events
 * already held are counted as duplicates and skipped, except that a
 * duplicate with its body replaces a held copy whose body is missing
 * (the hook is called again for it: restored).  Anything else wrong refuses the whole
 * batch and writes nothing, except a fork: a signed, different event for an
 * existing (origin, seq) is refused and reported with SL_EFORK, and it and
 * the events after it up to the first signed one are kept as evidence in
 * the forks database, all or none: none once that would take the database
 * past 10,000 records or 16 MiB.  res->reason ends in "kept as evidence"
 * or "not kept: ...".
 */
int store_ingest(struct store *s, const uint8_t *const *recs,
    const size_t *lens, size_t n, struct store_ingest_result *res);

/*
 * Whole copies of events this store holds (PROTOCOL.md 12, WANT and
 * WHOLE): each record must have the held copy's header exactly (the
 * chain proves it, so no signature is needed), a body whose payload hash
 * and openings check, and openings that pass the content rules.  One
 * that carries openings the held copy lacks replaces it, less those an
 * erasure took out; anything else is skipped.  *refilled counts the
 * copies replaced.  SL_OK, or SL_ESTORE / SL_EFULL / SL_ENOMEM.
 */
int store_refill(struct store *s, const uint8_t *const *recs,
    const size_t *lens, size_t n, size_t *refilled);

/* An event held without an opening that no erasure explains. */
struct store_gap {
	uint8_t origin[SL_KEY_LEN];
	uint64_t seq;
	uint8_t hash[SL_HASH_LEN];
};
/* Up to max of them into out, going round the index from where the last
 * call stopped; entries an erasure has since explained leave the index.
 * Returns how many, 0 on any failure. */
size_t store_gaps(struct store *s, struct store_gap *out, size_t max);
/* How many the index holds (entries an erasure explains included). */
uint64_t store_gap_count(struct store *s);

/* One entry of the version vector. */
struct store_tip {
	uint8_t origin[SL_KEY_LEN];
	uint64_t seq;
	uint8_t hash[SL_HASH_LEN];
};

/* Number of origins; store_tip_at(i) for i below it (borrowed, valid until
 * the next write). */
size_t store_origin_count(const struct store *s);
const struct store_tip *store_tip_at(const struct store *s, size_t i);
/* Tip of one origin, or NULL if none of its events are held. */
/* The node key's public half this store was opened with: false if it
 * was opened without one. */
bool store_key_pub(const struct store *s, uint8_t pub[SL_KEY_LEN]);
const struct store_tip *store_tip_of(const struct store *s,
    const uint8_t origin[SL_KEY_LEN]);

/* Total events in the log. */
uint64_t store_event_count(const struct store *s);
/* Fork evidence records kept. */
uint64_t store_fork_count(struct store *s);
/*
 * The fork evidence kept (PROTOCOL.md 16): fn is called inside txn for
 * every record in the forks database, by origin (in the store's order),
 * seq and hash, or with origin not NULL only for those of (origin, seq);
 * *rec is valid until txn ends.  A nonzero return stops and is
 * returned.  store_txn_fork_next finds the evidence record of
 * (origin, seq) whose prev is prev: SL_OK, SL_ENOENT or SL_ESTORE.
 */
typedef int (*store_fork_fn)(void *ctx, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq, const uint8_t *rec, size_t len);
int store_txn_forks(struct store *s, MDB_txn *txn,
    const uint8_t *origin, uint64_t seq, store_fork_fn fn, void *ctx);
int store_txn_fork_next(struct store *s, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    const uint8_t prev[SL_HASH_LEN], const uint8_t **rec, size_t *len);
/* True if the forks database holds the event (origin, seq) of hash. */
bool store_txn_fork_has(struct store *s, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    const uint8_t hash[SL_HASH_LEN]);

/*
 * Keeps a record a peer sent that was refused for its content (a bad
 * signature, payload or chain) in the "refused" database, keyed by (time,
 * SHA-256 of the record), with the sender's key, the code and reason: the
 * evidence an auditor needs.  At most 10,000 are kept, in at most 16 MiB
 * of pages (SL_EFULL beyond).  SL_OK, SL_EFULL or SL_ESTORE.
 */
int store_keep_refused(struct store *s, const uint8_t from[SL_KEY_LEN],
    const uint8_t *rec, size_t len, int code, const char *reason);
/* Refused records kept. */
uint64_t store_refused_count(struct store *s);
/* Current map size in bytes. */
/* Signs the hash of an audit bundle's statement with the node key
 * (sl_sign_audit).  SL_EINVAL when the store was opened without a key. */
int store_sign_audit(struct store *s, const uint8_t hash[SL_HASH_LEN],
    uint8_t sig[SL_SIG_LEN]);

/* The same with the certificate domain (sl_sign_cert): a device
 * certificate or revocation by this node's key, or its proof. */
int store_sign_cert(struct store *s, const uint8_t hash[SL_HASH_LEN],
    uint8_t sig[SL_SIG_LEN]);

/*
 * Keys the store keeps beside the log: "org" (the organisation this
 * node's key signs for, when it is a device: PROTOCOL.md 12.3), "next"
 * (a rotation under way: the key that takes over) and "node" (the key
 * this store belongs to).  store_meta_key: SL_OK, SL_ENOENT or
 * SL_ESTORE.  store_meta_key_put: durable; key NULL deletes.  SL_OK,
 * SL_EFULL or SL_ESTORE.  store_org_pub: "org", else the node key.
 */
int store_meta_key(struct store *s, const char *name, uint8_t out[SL_KEY_LEN]);
int store_meta_key_put(struct store *s, const char *name,
    const uint8_t key[SL_KEY_LEN]);
void store_org_pub(struct store *s, uint8_t out[SL_KEY_LEN]);

size_t store_map_size(struct store *s);
/* Last hybrid clock value issued or seen. */
uint64_t store_hlc(const struct store *s);

/*
 * Copies the record of (origin, seq) into a new buffer (*buf, caller
 * frees).  SL_OK, SL_ENOENT or SL_ESTORE.
 */
int store_event_get(struct store *s, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq, uint8_t **buf, size_t *len);

/*
 * Calls fn for every event in arrival order, starting after arrival
 * number `after` (0 = from the start), until fn returns nonzero (which is
 * returned) or the log ends (SL_OK).  rec is valid only during the call.
 */
typedef int (*store_event_fn)(void *ctx, uint64_t arrival, const uint8_t *rec,
    size_t len);
int store_scan(struct store *s, uint64_t after, store_event_fn fn, void *ctx);

/* Result of a full verification. */
struct store_verify_report {
	int code;               /* SL_OK or the first failure */
	uint64_t events;        /* events checked */
	uint64_t signatures;    /* signatures verified */
	uint64_t origins;
	uint8_t origin[SL_KEY_LEN]; /* where the first failure is */
	uint64_t seq;
	char reason[256];
};

/*
 * Re-checks the whole log: every record decodes, sits under its own
 * (origin, seq), matches its payload hash, links to its predecessor, every
 * signature verifies, every SL_SIGN_INTERVAL-th seq and every tip is
 * signed, the tips match the chains and the arrival index covers the log.
 * Returns rep->code.
 */
int store_verify(struct store *s, struct store_verify_report *rep);

/*
 * Invitations this node has given (samlog invite), by the SHA-256 of
 * their secret: store_invite_add keeps one until expires_ms (and drops
 * the expired ones); store_invite_take removes the one for secret: SL_OK
 * if it was there and had not expired, SL_EVALUE if it had expired,
 * SL_ENOENT if it is unknown or was used (a secret admits once), and
 * its expiry (expires_ms, may be NULL) when it was there;
 * store_invite_count says how many are still open.
 */
#define STORE_SECRET_LEN 16
int store_invite_add(struct store *s, const uint8_t secret[STORE_SECRET_LEN],
    uint64_t expires_ms);
int store_invite_take(struct store *s, const uint8_t secret[STORE_SECRET_LEN],
    uint64_t now_ms, uint64_t *expires_ms);
size_t store_invite_count(struct store *s, uint64_t now_ms);

/* While on, nothing is appended to this node's chain (a node restored
 * from a backup whose later events its peers may hold: writing would
 * sign a second history); ingest goes on. */
void store_set_no_appends(struct store *s, bool on);

/* ---- erasure (PROTOCOL.md 5.2) ---- */

/* A write transaction for the caller to commit or abort. */
int store_write_begin(struct store *s, MDB_txn **txn);
/* Writes the event (origin, seq) again without the openings drop(ctx,
 * field) says to drop; *dropped how many.  SL_OK (nothing to drop is
 * fine), SL_ENOENT if not held, or an error. */
int store_txn_drop_opens(struct store *s, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    bool (*drop)(void *ctx, const char *k, size_t kl), void *ctx,
    uint32_t *dropped);
/* Refused and fork evidence about record id keeps headers and
 * signatures only; *n how many were stripped. */
int store_txn_strip_evidence(struct store *s, MDB_txn *txn,
    const uint8_t id[SL_ID_LEN], uint64_t *n);
/* The erasure hash was applied at ms; when it was (0: not). */
int store_txn_erasure_mark(struct store *s, MDB_txn *txn,
    const uint8_t hash[SL_HASH_LEN], uint64_t ms);
uint64_t store_txn_erasure_applied(struct store *s, MDB_txn *txn,
    const uint8_t hash[SL_HASH_LEN]);
/* Erasure hash took values out on this node (some of its targets: one
 * waiting for the rest is not applied yet).  An erasure that took
 * something out keeps it out whatever comes later (its decision
 * revoked, its author retired): store_txn_erasure_took says so. */
int store_txn_erasure_acted(struct store *s, MDB_txn *txn,
    const uint8_t hash[SL_HASH_LEN]);
bool store_txn_erasure_took(struct store *s, MDB_txn *txn,
    const uint8_t hash[SL_HASH_LEN]);
/*
 * Compaction: a copy of the store with its live pages only (no free page
 * keeps an erased value), written beside path as path.ready.  With the
 * store closed, store_swap puts it in path's place and removes the old
 * files (overwritten with zeros first); at start-up it finishes a swap a
 * crash cut short.  *swapped tells whether it swapped.
 */
int store_compact(struct store *s, const char *path, char *err,
    size_t errlen);
/* An erasure took values out in txn: a compaction is owed, at the
 * latest at the next start (store_scrub_owed), even after a crash. */
int store_txn_scrub_owed(struct store *s, MDB_txn *txn);
bool store_scrub_owed(struct store *s);
/* Removes a store's directory (data.mdb, lock.mdb, wal), the data and
 * write-ahead files overwritten with zeros first (a check's leftover
 * copy). */
int store_remove_scrubbed(const char *dir);
/* When the store was last compacted (ms; 0: never). */
uint64_t store_compacted_at(struct store *s);
/* How long after the last compaction the next may be (ms): a minute, and
 * twice the last wait each time one follows the last within an hour
 * (erasures keep coming: a member erasing its own fields one by one, at
 * any pace, must not keep every node restarting), up to an hour; a
 * minute again after an hour without one. */
#define STORE_COMPACT_MIN_MS ((uint64_t)60 * 1000)
#define STORE_COMPACT_MAX_MS ((uint64_t)3600 * 1000)
uint64_t store_compact_every(struct store *s);
int store_swap(const char *path, bool *swapped, char *err, size_t errlen);
/* A compacted copy of the store's data file, a consistent snapshot,
 * written to fd from its current offset (samlog backup). */
int store_copy_fd(struct store *s, int fd, char *err, size_t errlen);

#endif /* SAMLOG_STORE_H */
