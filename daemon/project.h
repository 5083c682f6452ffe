/*
 * project.h - the records (organisations, contacts, meetings, decisions)
 * as projections of the event log, kept in the store's LMDB environment.
 *
 * Every event that enters the log is folded into its record inside the
 * same write transaction (store hook), so the records can never disagree
 * with the log.  The fold itself is protocol/record.c (sl_fold_event),
 * the same code `samlog audit --check` runs; this module is its LMDB
 * backend, the indexes the schema asks for, rebuilds and queries.
 */
#ifndef SAMLOG_PROJECT_H
#define SAMLOG_PROJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Bump when the fold or the encoding changes: a node rebuilds its
 * records from the log at start when its stored version differs. */
#define PROJECT_VERSION 23

/* How far ahead of the wall clock an event's clock may be and still be
 * folded at once (milliseconds); later ones wait for the clock. */
#define PROJECT_SKEW_DEFAULT_MS SL_SKEW_DEFAULT_MS

struct project;

/* Copies a string field into out (empty if absent or not a string);
 * returns true if it was a string.  The state field reads the state. */
bool project_str(const struct sl_rec *r, const char *name, char *out,
    size_t outlen);

/* The record kind char for "org", "contact", "meeting", "decision", or 0;
 * and back ("?" for none). */
char project_kind(const char *word);
const char *project_kind_word(char kind);

/*
 * Opens the projection databases in s's environment, installs the fold
 * as s's hook and the schema's content rules as s's check.  Rebuilds
 * from the log when the stored projection version is not
 * PROJECT_VERSION.  On failure err says why.
 */
int project_open(struct project **out, struct store *s, char *err,
    size_t errlen);
void project_close(struct project *p);
/* Opens the projections' databases again after store_renew. */
int project_renew(struct project *p);

/* The allowed clock skew in milliseconds (default above). */
void project_set_skew(struct project *p, uint64_t ms);

/* Empties the projections and folds every event again.  *events (may be
 * NULL) receives the count. */
int project_rebuild(struct project *p, uint64_t *events, char *err,
    size_t errlen);

/* For tests: a rebuild writes the index keys in sorted batches of about
 * bytes (0: the default, 16 MiB). */
void project_test_rebuild_batch(size_t bytes);

/*
 * Folds the events whose clock the wall clock has now come close enough
 * to (within the skew), in one write transaction.  *n (may be NULL)
 * receives how many.  SL_OK or SL_ESTORE.
 */
int project_due(struct project *p, uint64_t *n);
/* Events waiting for the wall clock. */
uint64_t project_future_count(struct project *p);

/* Reads record id.  SL_OK, SL_ENOENT (absent or not created yet).  The
 * caller frees r with sl_rec_free. */
int project_get(struct project *p, MDB_txn *txn, const uint8_t id[SL_ID_LEN],
    struct sl_rec *r);

/* Writes the record's current heads into out, oldest first by (clock,
 * origin), and returns how many: all of them, or the first
 * SL_MAX_PARENTS in hash order when there are more (an event names at
 * most that many; the record's nheads has the full count).  max <=
 * SL_MAX_PARENTS. */
uint32_t project_heads(struct project *p, MDB_txn *txn,
    const uint8_t id[SL_ID_LEN], uint8_t (*out)[SL_HASH_LEN], uint32_t max);

/* The fold's verdict on event h, SL_OK or SL_ENOENT. */
int project_meta(struct project *p, MDB_txn *txn, const uint8_t h[SL_HASH_LEN],
    struct sl_evmeta *m);

/*
 * Resolves what a user typed for a record of one of kinds (NULL or "":
 * any) to its id: an id prefix (4 or more base32 characters), else a
 * name (the kind's first field, compared case-insensitively, Swedish
 * letters included; an active record before archived ones); a text
 * shorter than an id that is both a prefix and another record's name is
 * ambiguous.  SL_ENOENT,
 * SL_EAMBIG (cands then lists the candidates: "id (name)", comma-
 * separated) or SL_EINVAL (neither an id prefix nor a name).
 */
int project_resolve(struct project *p, MDB_txn *txn, const char *text,
    const char *kinds, uint8_t id[SL_ID_LEN], char *cands, size_t candlen);
/* The label of a record (its first field: a name or a title) into out;
 * false if it has none. */
bool project_label(const struct sl_rec *r, char *out, size_t outlen);
/* True if the record is archived. */
bool project_archived(const struct sl_rec *r);

/* Called per record; a nonzero return stops the listing and is returned. */
typedef int (*project_rec_fn)(void *ctx, const struct sl_rec *r);

/*
 * Lists the records of kind through one index: field (NULL: the kind's
 * sort order) equal to value, or for a range (value NULL) between from
 * and to inclusive (either may be NULL).  Reads only the index entries in
 * range and the records they name: by value, and records of one value in
 * the order they were made (their creating event's clock, as its signer
 * gave it, then id).
 */
int project_list(struct project *p, MDB_txn *txn, char kind,
    const char *field, const char *value, const char *from, const char *to,
    project_rec_fn fn, void *ctx);

/*
 * Lists the records of kind whose field fields[i] equals values[i] for
 * each of the n (1 to PROJECT_LIST_ALL_MAX) indexed fields, in the order
 * they were made (their creating event's clock, then id).  The indexes
 * are walked together: each seeks past the records another has already
 * passed, so only records in every list are read.
 */
#define PROJECT_LIST_ALL_MAX 8
int project_list_all(struct project *p, MDB_txn *txn, char kind, size_t n,
    const char *const *fields, const char *const *values, project_rec_fn fn,
    void *ctx);

/* True if kind has an index on field. */
bool project_indexed(char kind, const char *field);

/* Called per event naming a record, oldest first by (clock, origin), with
 * the fold's verdict on it. */
typedef int (*project_ev_fn)(void *ctx, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN], const struct sl_evmeta *m);

/* The events naming record id with clock <= until (UINT64_MAX: all). */
int project_history(struct project *p, MDB_txn *txn,
    const uint8_t id[SL_ID_LEN], uint64_t until, project_ev_fn fn, void *ctx);

/* Folds record id from its events with clock <= known that are in
 * effect on day eff (YYYYMMDD; UINT32_MAX: any): the same fold, in
 * memory.  An event left out leaves out every event after it. */
int project_as_of(struct project *p, MDB_txn *txn, const uint8_t id[SL_ID_LEN],
    uint64_t known, uint32_t eff, struct sl_rec *r);

/* The federation's members as the log says (protocol/member.c); valid
 * until the next call with another transaction.  NULL on a store
 * error. */
const struct sl_members *project_members(struct project *p, MDB_txn *txn);
/* The members are read again from the store at the next ask (a store
 * setting they depend on changed: the organisation joined through). */
void project_members_forget(struct project *p);
/* This node's organisation changed (it became a device: the store's
 * "org"): the members are derived again, and the records rebuilt at the
 * next project_due.  SL_OK or SL_ESTORE. */
int project_anchor_changed(struct project *p);
/* The name of origin's organisation at clock hlc (UINT64_MAX: now): the
 * one membership binds, else the one its node last announced, else "". */
void project_org_at(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t hlc, char *org, size_t len);
/* The same now. */
void project_node_org(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], char *org, size_t len);
/* The seq of that announcement in origin's chain, or 0 if none. */
uint64_t project_node_org_seq(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN]);

/*
 * Witnesses (PROTOCOL.md 15).  project_checkpoint_count: the checkpoint
 * events held, of every origin.  project_witnessed: how many other
 * organisations' checkpoints name origin (*k) and the highest seq all of
 * them name (*upto; 0 when *k is 0).  project_contradictions calls fn
 * for each checkpoint tip that names another event than the one held
 * (origin, seq, then witness order); a nonzero return stops and is
 * returned.
 */
uint64_t project_checkpoint_count(struct project *p, MDB_txn *txn);
/* The seq of witness's last checkpoint below seq `before` (UINT64_MAX:
 * its last): SL_OK, SL_ENOENT (none), SL_ESTORE. */
int project_checkpoint_before(struct project *p, MDB_txn *txn,
    const uint8_t witness[SL_KEY_LEN], uint64_t before, uint64_t *seq);
int project_witnessed(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint32_t *k, uint64_t *upto);
struct project_contra {
	uint8_t origin[SL_KEY_LEN];
	uint64_t seq;
	uint8_t witness[SL_KEY_LEN];
	uint8_t claimed[SL_HASH_LEN]; /* what the checkpoint names */
	uint8_t held[SL_HASH_LEN];    /* what this node holds */
};
typedef int (*project_contra_fn)(void *ctx, const struct project_contra *c);
int project_contradictions(struct project *p, MDB_txn *txn,
    project_contra_fn fn, void *ctx);

/*
 * Fork proofs (PROTOCOL.md 16).  project_fork_proven: some proof held
 * says origin forked at seq.  project_fork_proofs calls fn for every
 * proof held, by (origin, seq, prover, prover's seq); a nonzero return
 * stops and is returned.
 */
bool project_fork_proven(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq);
/* How many seqs of origin proofs held say it forked at. */
uint32_t project_fork_seqs(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN]);
struct project_fork {
	uint8_t origin[SL_KEY_LEN];   /* the origin that forked */
	uint64_t seq;                 /* where */
	uint8_t prover[SL_KEY_LEN];   /* whose chain holds the proof */
	uint64_t prover_seq;          /* at which seq */
	uint64_t hlc;                 /* the proof's clock */
};
typedef int (*project_fork_fn)(void *ctx, const struct project_fork *f);
int project_fork_proofs(struct project *p, MDB_txn *txn, project_fork_fn fn,
    void *ctx);

/* Calls fn for every key and value of every projection database, in
 * order: for comparing two nodes' projections byte for byte. */
typedef void (*project_dump_fn)(void *ctx, const void *k, size_t klen,
    const void *v, size_t vlen);
/* The erasures held (PROTOCOL.md 5.2), of record id (NULL: of every
 * record): fn(ctx, hash, origin, seq) for each, until it returns other
 * than SL_OK. */
typedef int (*project_erasure_fn)(void *ctx, const uint8_t hash[SL_HASH_LEN],
    const uint8_t origin[SL_KEY_LEN], uint64_t seq);
int project_erasures(struct project *p, MDB_txn *txn, const uint8_t *id,
    project_erasure_fn fn, void *ctx);
/* The same for those not applied yet (of every record), in the order of
 * record (16) + hash (32), from that key from on (NULL: the first). */
int project_erasures_open(struct project *p, MDB_txn *txn, const uint8_t *from,
    project_erasure_fn fn, void *ctx);
/* The erasure hash of record was applied (store_txn_erasure_mark): it
 * leaves project_erasures_open. */
int project_erasure_done(struct project *p, MDB_txn *txn,
    const uint8_t record[SL_ID_LEN], const uint8_t hash[SL_HASH_LEN]);
/* The erasure event held at (origin, seq), decoded into ev and e: from
 * the store's copy (valid until txn writes) when buf is NULL, else from
 * a copy in buf (SL_EVENT_MAX bytes).  SL_OK, or SL_ENOENT. */
int project_erasure_read(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq, uint8_t *buf,
    struct sl_event *ev, struct sl_erasure *e);
/* After ev (as stored now, with openings dropped) lost openings: its
 * record shows those of its fields it still wins as erased, and leaves
 * the indexes of their values. */
int project_erase_fields(struct project *p, MDB_txn *txn,
    const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN]);
/* Does an erasure this node holds (by the organisation that wrote the
 * event or created its record, and counting) take field key out of
 * event hash of origin (entity: its record, NULL if it creates one)? */
/* This node applies erasures only under a disposal decision in force
 * (erasure = with-decision): one without explains nothing. */
void project_set_erasure(struct project *p, bool with_decision);
/* Is decision id adopted or amended? */
bool project_decision_in_force(struct project *p, MDB_txn *txn,
    const uint8_t id[SL_ID_LEN]);
bool project_erasure_explains(struct project *p, MDB_txn *txn,
    const uint8_t *hash, const uint8_t *entity, const uint8_t *origin,
    const char *key, uint32_t klen);
int project_dump(struct project *p, project_dump_fn fn, void *ctx);

#endif
