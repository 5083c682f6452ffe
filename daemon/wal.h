/*
 * wal.h - the store's write-ahead file: one fdatasync per commit.
 *
 * The store commits LMDB without syncing and appends each commit's
 * events here, synced, before it answers.  Now and then it syncs LMDB
 * and writes a checkpoint: a header holding a copy of LMDB's two meta
 * pages as the commit it was taken after wrote them.  After a crash the
 * store puts those meta pages back (the pages of that snapshot were kept
 * from reuse, see store.c) and takes the events written since in again.
 *
 * The checkpoint's slow part, LMDB's sync, runs beside the commits (see
 * store.c): records appended while it runs follow the point it was taken
 * at, so the header names where its records start, and the records run
 * on past it.  The file is a ring: once the records pass WAL_WRAP bytes
 * they start again at WAL_DATA, behind the oldest record a crash could
 * still need.
 *
 * The file:
 *   two header slots (WAL_SLOT bytes each): a checkpoint writes the slot
 *   its generation's parity names, so a torn header write leaves the
 *   other, older one standing.  Each: "samlogW2", generation (8), state
 *   (4: 1 open, 2 clean), page size (4), data file's device and inode
 *   (8 + 8), the first record's offset and number (8 + 8), the meta
 *   pages (2 x page size, open only), SHA-256 of all that.
 *   records from WAL_DATA on: "SLWR", event count (4), payload bytes (8),
 *   the record's number (8, one more than the record before), the
 *   events (each: length (4), bytes), SHA-256 of all that.  A record
 *   lies right after the one before it, or, where the ring starts
 *   again, at WAL_DATA; the records a header names end at the first
 *   number found at neither place.  Numbers only grow (after a
 *   crash, far past the last record read), so no record left from an
 *   earlier round can be taken for the next.
 * All integers big-endian.  A "samlogW1" file (samlog before the ring:
 * no offset or number in the header, records numbered with the
 * header's generation, all from WAL_DATA) is still read after a crash.
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
#define WAL_WRAP ((long)4 << 20)   /* the ring's records start again */

struct wal;

/* What the newest header that checks says. */
struct wal_head {
	uint64_t gen;        /* 0: no header (a new file) */
	bool open;           /* a checkpoint to go back to after a crash */
	uint32_t psize;
	uint64_t dev, ino;   /* the data file it was taken of */
	uint8_t *meta;       /* 2 x psize bytes (open), malloc'd, or NULL */
	long start;          /* where its first record lies (or WAL_DATA) */
	uint64_t lsn;        /* and that record's number */
	bool legacy;         /* a samlogW1 header */
};

/* Where a checkpoint is taken: the records written after this point are
 * the ones its header names. */
struct wal_mark {
	uint64_t gen;        /* the header's generation */
	uint64_t lsn;        /* the first record's number */
	long start;          /* and where it goes (or WAL_DATA) */
};

/* Opens path, creating it (mode 0600).  head receives the newest valid
 * header.  0, or -1 with err set. */
int wal_open(struct wal **out, const char *path, struct wal_head *head,
    char *err, size_t errlen);
void wal_close(struct wal *w);
void wal_head_free(struct wal_head *h);

/* A checkpoint, in three steps, so that the middle one may run on
 * another thread while wal_append goes on (one checkpoint at a time):
 * wal_mark names the next generation and the records after this point
 * and builds its header (meta: 2 x psize bytes for an open checkpoint,
 * NULL for a clean stop; -1 with errno EINVAL for a page size out of
 * bounds); wal_head_write writes that header and syncs the file,
 * touching nothing else of w (no hashing either: sl_sha256 is for one
 * thread); wal_landed, once that returned 0, lets the records before
 * the point be overwritten.  wal_head_write: 0 or -1 (errno). */
int wal_mark(struct wal *w, struct wal_mark *m, const uint8_t *meta,
    uint32_t psize, uint64_t dev, uint64_t ino);
int wal_head_write(struct wal *w, const struct wal_mark *m);
void wal_landed(struct wal *w, const struct wal_mark *m);
/* The three at once. */
int wal_checkpoint(struct wal *w, const uint8_t *meta, uint32_t psize,
    uint64_t dev, uint64_t ino);

/* A record's payload: wal_put_event adds one event to it. */
void wal_put_event(struct sl_buf *payload, const uint8_t *rec, size_t len);
/* Appends one record of the n events in payload and syncs it: 0 or -1
 * (errno; ENOSPC: the ring has no room before the oldest record a crash
 * could need, and nothing was written: a checkpoint makes room; EINVAL:
 * a crash's records were read to their end (wal_scan) and no checkpoint
 * has landed since, which the next records' numbers need). */
int wal_append(struct wal *w, const struct sl_buf *payload, size_t n);

/* Calls fn for each record the newest header names, in order; stops at
 * the first nonzero return, which it returns, or -1 when memory ran out
 * (then the records did not end there).  *count (may be NULL) counts
 * the records read.  Read to their end, the records are followed by the
 * next wal_append, once a checkpoint has landed: numbered far past the
 * last one read, since the end may have been a damaged record with
 * others after it. */
typedef int (*wal_record_fn)(void *ctx, const uint8_t *const *recs,
    const size_t *lens, size_t n);
int wal_scan(struct wal *w, wal_record_fn fn, void *ctx, size_t *count);

/* Bytes of records written since the last checkpoint that landed. */
uint64_t wal_used(const struct wal *w);

#endif
