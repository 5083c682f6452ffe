/*
 * project.h - the records (organisations, contacts, meetings, decisions)
 * as projections of the event log, kept in the store's LMDB environment.
 *
 * Every event that enters the log is folded into its record inside the
 * same write transaction (store hook), so the records can never disagree
 * with the log.  Folding is field-level last-writer-wins by (clock,
 * origin), and a record's heads are its events that no other event names
 * as a parent: both are independent of the order events arrive in, so
 * every node that holds the same events holds byte-identical records.
 */
#ifndef SAMLOG_PROJECT_H
#define SAMLOG_PROJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Bump when the fold or the encoding changes: a node rebuilds its
 * records from the log at start when its stored version differs. */
#define PROJECT_VERSION 2

#define PREC_MAX_FIELDS 24
#define PFIELD_NAME_MAX 15

struct project;

struct pfield {
	char name[PFIELD_NAME_MAX + 1];
	uint8_t *val;             /* raw msgpack bytes, owned */
	uint32_t len;
	uint64_t hlc;             /* the write that won */
	uint8_t origin[SL_KEY_LEN];
};

/* One record.  prec_free releases what decoding or folding allocated. */
struct prec {
	uint8_t id[SL_ID_LEN];
	char kind;                /* 'o', 'c', 'm', 'd'; 0 if not known yet */
	bool created;             /* its creating event has been seen */
	uint64_t c_hlc, u_hlc;    /* created, last updated */
	uint8_t c_origin[SL_KEY_LEN];
	char c_author[SL_AUTHOR_MAX + 1];
	uint32_t nf;
	struct pfield f[PREC_MAX_FIELDS]; /* sorted by name */
	uint8_t (*evs)[SL_HASH_LEN];      /* its events, sorted */
	uint32_t nevs;
	uint8_t (*sup)[SL_HASH_LEN];      /* events named as parents, sorted */
	uint32_t nsup;
};

void prec_free(struct prec *r);
/* The field called name, or NULL. */
const struct pfield *prec_field(const struct prec *r, const char *name);
/* Copies a string field into out (empty if absent or not a string);
 * returns true if it was a string. */
bool prec_str(const struct prec *r, const char *name, char *out,
    size_t outlen);
/* True if the record has more than one head: concurrent edits. */
bool prec_conflict(const struct prec *r);
/* Writes the record's current heads (at most max) into out; returns the
 * count. */
uint32_t prec_heads(const struct prec *r, uint8_t (*out)[SL_HASH_LEN],
    uint32_t max);

/* The record kind char for "org", "contact", "meeting", "decision". */
char project_kind(const char *word);
/* And back. */
const char *project_kind_word(char kind);

/*
 * Opens the projection databases in s's environment and installs the
 * fold as s's hook.  Rebuilds from the log when the stored projection
 * version is not PROJECT_VERSION.  On failure err says why.
 */
int project_open(struct project **out, struct store *s, char *err,
    size_t errlen);
void project_close(struct project *p);

/* Empties the projections and folds every event again, in one write
 * transaction.  *events (may be NULL) receives the count. */
int project_rebuild(struct project *p, uint64_t *events, char *err,
    size_t errlen);

/* Reads record id.  SL_OK, SL_ENOENT (absent or not created yet). */
int project_get(struct project *p, MDB_txn *txn, const uint8_t id[SL_ID_LEN],
    struct prec *r);

/*
 * Resolves an id prefix (4 or more base32 characters) to one record of
 * kind (0: any).  SL_EINVAL for a malformed prefix, SL_ENOENT, SL_EAMBIG
 * (cands then lists the candidates' full ids, space-separated).
 */
int project_resolve(struct project *p, MDB_txn *txn, const char *prefix,
    char kind, uint8_t id[SL_ID_LEN], char *cands, size_t candlen);

/* Called per record; a nonzero return stops the listing and is returned. */
typedef int (*project_rec_fn)(void *ctx, const struct prec *r);

/*
 * Lists the records of kind through one index: field (NULL: the kind's
 * sort order) equal to value, or for a range (value NULL) between from
 * and to inclusive (either may be NULL).  Reads only the index entries in
 * range and the records they name.
 */
int project_list(struct project *p, MDB_txn *txn, char kind,
    const char *field, const char *value, const char *from, const char *to,
    project_rec_fn fn, void *ctx);

/* True if kind has an index on field. */
bool project_indexed(char kind, const char *field);

/* Called per event of a record, oldest first by (clock, origin). */
typedef int (*project_ev_fn)(void *ctx, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN]);

/* The events of record id with clock <= until (UINT64_MAX: all). */
int project_history(struct project *p, MDB_txn *txn,
    const uint8_t id[SL_ID_LEN], uint64_t until, project_ev_fn fn, void *ctx);

/* Folds record id from its events with clock <= until. */
int project_as_of(struct project *p, MDB_txn *txn, const uint8_t id[SL_ID_LEN],
    uint64_t until, struct prec *r);

/* The organisation name origin last announced (node.org), or "". */
void project_node_org(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], char *org, size_t len);
/* The seq of that announcement in origin's chain, or 0 if none. */
uint64_t project_node_org_seq(struct project *p, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN]);

/* Calls fn for every key and value of every projection database, in
 * order: for comparing two nodes' projections byte for byte. */
typedef void (*project_dump_fn)(void *ctx, const void *k, size_t klen,
    const void *v, size_t vlen);
int project_dump(struct project *p, project_dump_fn fn, void *ctx);

#endif
