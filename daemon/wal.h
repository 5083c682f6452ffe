/*
 * wal.h - the store's write-ahead file: one fdatasync per commit.
 *
 * The store commits LMDB without syncing and appends each commit's
 * events here, synced, before it answers.  Now and then it syncs LMDB
 * and writes a checkpoint: a header holding a copy of LMDB's two meta
 * pages as they were on disk right after that sync.  After a crash the
 * store puts those meta pages back (the pages of that snapshot were kept
 * from reuse, see store.c) and takes the events written since in again.
 *
 * The file:
 *   two header slots (WAL_SLOT bytes each): a checkpoint writes the slot
 *   its generation's parity names, so a torn header write leaves the
 *   other, older one standing.  Each: "samlogW1", generation (8), state
 *   (4: 1 open, 2 clean), page size (4), data file's device and inode
 *   (8 + 8), the meta pages (2 x page size, open only), SHA-256 of all
 *   that.
 *   records from WAL_DATA on: "SLWR", event count (4), payload bytes (8),
 *   generation (8), the events (each: length (4), bytes), SHA-256 of
 *   all that.  Only records of the newest header's generation count, up
 *   to the first that does not check.
 * All integers big-endian.
 */
#ifndef SAMLOG_WAL_H
#define SAMLOG_WAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "samlog_proto.h"

#define WAL_PSIZE_MAX 65536
#define WAL_SLOT ((long)4096 + 2L * WAL_PSIZE_MAX)
#define WAL_DATA (2L * WAL_SLOT)

struct wal;

/* What the newest header that checks says. */
struct wal_head {
	uint64_t gen;        /* 0: no header (a new file) */
	bool open;           /* a checkpoint to go back to after a crash */
	uint32_t psize;
	uint64_t dev, ino;   /* the data file it was taken of */
	uint8_t *meta;       /* 2 x psize bytes (open), malloc'd, or NULL */
};

/* Opens path, creating it (mode 0600).  head receives the newest valid
 * header.  0, or -1 with err set. */
int wal_open(struct wal **out, const char *path, struct wal_head *head,
    char *err, size_t errlen);
void wal_close(struct wal *w);
void wal_head_free(struct wal_head *h);

/* Writes the next generation's header and syncs the file: meta (2 x
 * psize bytes) for an open checkpoint, NULL for a clean stop.  Records
 * written after it start again at WAL_DATA.  0 or -1 (errno). */
int wal_checkpoint(struct wal *w, const uint8_t *meta, uint32_t psize,
    uint64_t dev, uint64_t ino);

/* A record's payload: wal_put_event adds one event to it. */
void wal_put_event(struct sl_buf *payload, const uint8_t *rec, size_t len);
/* Appends one record of the n events in payload and syncs it: 0 or -1
 * (errno). */
int wal_append(struct wal *w, const struct sl_buf *payload, size_t n);

/* Calls fn for each record of the current generation, in order; stops
 * at the first nonzero return, which it returns, or -1 when memory ran
 * out (then the records did not end there).  *count (may be NULL)
 * counts the records read. */
typedef int (*wal_record_fn)(void *ctx, const uint8_t *const *recs,
    const size_t *lens, size_t n);
int wal_scan(struct wal *w, wal_record_fn fn, void *ctx, size_t *count);

/* Bytes of records written since the checkpoint. */
uint64_t wal_used(const struct wal *w);

#endif
