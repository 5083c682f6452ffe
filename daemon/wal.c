/*
 * wal.c - the store's write-ahead file (see wal.h for what it holds and
 * store.c for how the store uses it).
 *
 * The file grows a mebibyte at a time, in zeros written out, so that a
 * record's fdatasync has only the record's own blocks to write and no
 * file size to record; it never shrinks.  Once the records pass
 * WAL_WRAP bytes, the next one goes to WAL_DATA again if everything
 * there is older than the last checkpoint that landed (so the file stays
 * near WAL_WRAP plus the records of one checkpoint's time).
 */
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "samlog_proto.h"
#include "wal.h"

#define REC_MAGIC "SLWR"
#define HEAD_FIXED 56   /* magic, gen, state, psize, dev, ino, start, lsn */
#define HEAD_FIXED1 40  /* magic, gen, state, psize, dev, ino */
#define REC_HEAD 24                /* magic, count, bytes, number */
/* More records than the file can hold since a header's first. */
#define WAL_LSN_SKIP ((uint64_t)1 << 32)
#define WAL_GROW ((off_t)1 << 20)
#define STATE_OPEN 1
#define STATE_CLEAN 2

/* Eight bytes each, no NUL. */
static const uint8_t wal_magic[8] = "samlogW2";
static const uint8_t wal_magic1[8] = "samlogW1"; /* before the ring */

struct wal {
	int fd;
	uint64_t gen;     /* the newest header's (landed) */
	bool open;        /* it names records to go back to */
	bool legacy;      /* it is a samlogW1 header */
	uint64_t head_lsn; /* the number of its first record */
	off_t live;       /* and where that lies (or WAL_DATA) */
	uint64_t lsn;     /* the next record's number */
	off_t off;        /* where the next record goes, in line */
	off_t size;       /* the file's size (all of it written) */
	bool wrapped;     /* the records from live went on at WAL_DATA */
	bool renumbered;  /* a crash's scan read to the end: the next
	                   * numbers are for the next header's records */
	bool m_wrapped;   /* ... since the last wal_mark */
	uint64_t used, m_used; /* record bytes since live, since the mark */
	uint8_t *buf;     /* one record, for appends and scans */
	size_t cap;
	uint8_t *hbuf;    /* one header slot, for wal_head_write */
};

static void
be_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static int
full_pwrite(int fd, const void *p, size_t n, off_t off)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, b, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static int
full_pread(int fd, void *p, size_t n, off_t off)
{
	uint8_t *b = p;

	while (n > 0) {
		ssize_t r = pread(fd, b, n, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

static int
reserve(struct wal *w, size_t n)
{
	if (n <= w->cap)
		return 0;
	uint8_t *b = realloc(w->buf, n);

	if (b == NULL)
		return -1;
	w->buf = b;
	w->cap = n;
	return 0;
}

/* Reads header slot i into h: true if it checks. */
static bool
slot_read(struct wal *w, int i, struct wal_head *h)
{
	uint8_t *b = w->buf, hash[SL_HASH_LEN];
	size_t len, fixed;

	if (full_pread(w->fd, b, WAL_SLOT, (off_t)i * WAL_SLOT) != 0)
		return false;
	if (memcmp(b, wal_magic, 8) == 0)
		fixed = HEAD_FIXED;
	else if (memcmp(b, wal_magic1, 8) == 0)
		fixed = HEAD_FIXED1;
	else
		return false;
	uint32_t state = (uint32_t)sl_get_be(b + 16, 4);
	uint32_t psize = (uint32_t)sl_get_be(b + 20, 4);

	if (state == STATE_OPEN) {
		if (psize < 512 || psize > WAL_PSIZE_MAX)
			return false;
		len = fixed + 2 * (size_t)psize;
	} else if (state == STATE_CLEAN) {
		len = fixed;
	} else {
		return false;
	}
	sl_sha256(hash, b, len);
	if (memcmp(hash, b + len, SL_HASH_LEN) != 0)
		return false;
	h->gen = sl_get_be(b + 8, 8);
	h->open = state == STATE_OPEN;
	h->psize = h->open ? psize : 0;
	h->dev = sl_get_be(b + 24, 8);
	h->ino = sl_get_be(b + 32, 8);
	h->meta = NULL;
	h->legacy = fixed == HEAD_FIXED1;
	if (h->legacy) {
		/* Its records: from WAL_DATA, each numbered gen. */
		h->start = WAL_DATA;
		h->lsn = h->gen;
	} else {
		h->start = (long)sl_get_be(b + 40, 8);
		h->lsn = sl_get_be(b + 48, 8);
		if (h->start < WAL_DATA || h->lsn == 0)
			return false;
	}
	if (h->open) {
		if ((h->meta = malloc(2 * (size_t)psize)) == NULL)
			return false;
		memcpy(h->meta, b + fixed, 2 * (size_t)psize);
	}
	return true;
}

int
wal_open(struct wal **out, const char *path, struct wal_head *head,
    char *err, size_t errlen)
{
	struct wal *w = calloc(1, sizeof *w);
	struct wal_head h[2] = { { 0 }, { 0 } };
	bool ok[2];
	struct stat st;

	*out = NULL;
	memset(head, 0, sizeof *head);
	if (w != NULL)
		w->fd = -1;
	if (w == NULL || reserve(w, WAL_SLOT) != 0 ||
	    (w->hbuf = malloc(WAL_SLOT)) == NULL) {
		wal_close(w);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    fstat(w->fd, &st) != 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		wal_close(w);
		return -1;
	}
	w->size = st.st_size;
	for (int i = 0; i < 2; i++)
		ok[i] = slot_read(w, i, &h[i]);
	int pick = ok[0] && ok[1] ? (h[1].gen > h[0].gen) : ok[1] ? 1 : 0;

	if (ok[pick]) {
		*head = h[pick];
		wal_head_free(&h[!pick]);
	}
	w->gen = head->gen;
	w->open = head->open;
	w->legacy = head->legacy;
	if (w->open) {
		/* The records to go back to; wal_scan finds their end. */
		w->live = w->off = head->start;
		w->head_lsn = head->lsn;
		w->lsn = head->legacy ? head->gen + 1 : head->lsn;
	} else {
		/* Nothing to go back to: the ring starts again.  The
		 * numbers go on, past any record left in the file. */
		w->live = w->off = WAL_DATA;
		w->lsn = head->gen == 0 ? 1 : head->legacy ? head->gen + 1 :
		    head->lsn;
		w->head_lsn = w->lsn;
	}
	*out = w;
	return 0;
}

void
wal_head_free(struct wal_head *h)
{
	free(h->meta);
	h->meta = NULL;
}

void
wal_close(struct wal *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->buf);
	free(w->hbuf);
	free(w);
}

int
wal_mark(struct wal *w, struct wal_mark *m, const uint8_t *meta,
    uint32_t psize, uint64_t dev, uint64_t ino)
{
	size_t len = HEAD_FIXED + (meta != NULL ? 2 * (size_t)psize : 0);
	uint8_t *b = w->hbuf;

	if (meta != NULL && (psize < 512 || psize > WAL_PSIZE_MAX)) {
		errno = EINVAL;
		return -1;
	}
	m->gen = w->gen + 1;
	m->lsn = w->lsn;
	m->start = (long)w->off;
	w->m_wrapped = false;
	w->m_used = 0;
	/* Built here, not in wal_head_write: hashing is for one thread. */
	memset(b, 0, WAL_SLOT);
	memcpy(b, wal_magic, sizeof wal_magic);
	be_put(b + 8, m->gen, 8);
	be_put(b + 16, meta != NULL ? STATE_OPEN : STATE_CLEAN, 4);
	be_put(b + 20, meta != NULL ? psize : 0, 4);
	be_put(b + 24, dev, 8);
	be_put(b + 32, ino, 8);
	be_put(b + 40, (uint64_t)m->start, 8);
	be_put(b + 48, m->lsn, 8);
	if (meta != NULL)
		memcpy(b + HEAD_FIXED, meta, 2 * (size_t)psize);
	sl_sha256(b + len, b, len);
	return 0;
}

int
wal_head_write(struct wal *w, const struct wal_mark *m)
{
	return full_pwrite(w->fd, w->hbuf, WAL_SLOT, (off_t)(m->gen & 1) *
	    WAL_SLOT) != 0 || fdatasync(w->fd) != 0 ? -1 : 0;
}

void
wal_landed(struct wal *w, const struct wal_mark *m)
{
	w->gen = m->gen;
	w->open = true;
	w->legacy = false;
	w->head_lsn = m->lsn;
	w->live = m->start;
	w->wrapped = w->m_wrapped;
	w->used = w->m_used;
	w->renumbered = false;
	if (w->size < WAL_DATA)
		w->size = WAL_DATA;
}

int
wal_checkpoint(struct wal *w, const uint8_t *meta, uint32_t psize,
    uint64_t dev, uint64_t ino)
{
	struct wal_mark m;

	if (wal_mark(w, &m, meta, psize, dev, ino) != 0 ||
	    wal_head_write(w, &m) != 0)
		return -1;
	wal_landed(w, &m);
	w->open = meta != NULL;
	return 0;
}

void
wal_put_event(struct sl_buf *payload, const uint8_t *rec, size_t len)
{
	uint8_t l[4];

	be_put(l, len, 4);
	sl_buf_write(payload, (const char *)l, sizeof l);
	sl_buf_write(payload, (const char *)rec, len);
}

int
wal_append(struct wal *w, const struct sl_buf *payload, size_t n)
{
	uint8_t head[REC_HEAD], hash[SL_HASH_LEN];
	off_t need = REC_HEAD + (off_t)payload->len + SL_HASH_LEN;
	off_t at = w->off;
	bool wrap = false;

	if (payload->failed || n > UINT32_MAX) {
		errno = ENOMEM;
		return -1;
	}
	if (w->renumbered) {
		errno = EINVAL; /* the header names other numbers */
		return -1;
	}
	/* Far enough on, and the start of the ring holds nothing a crash
	 * could need: start again there. */
	if (!w->wrapped && at >= WAL_WRAP && WAL_DATA + need <= w->live) {
		at = WAL_DATA;
		wrap = true;
	}
	if ((w->wrapped || wrap) && at + need > w->live) {
		errno = ENOSPC; /* would overwrite a record still needed */
		return -1;
	}
	memcpy(head, REC_MAGIC, 4);
	be_put(head + 4, n, 4);
	be_put(head + 8, payload->len, 8);
	be_put(head + 16, w->lsn, 8);
	sl_sha256_2(hash, head, sizeof head, payload->p, payload->len);
	/* Written or not, the number is used: a record that failed half
	 * way is never taken for a later one. */
	w->lsn++;

	/* Zeros ahead of the record, so the file's size stays put. */
	off_t end = at + need;

	if (end > w->size) {
		static const uint8_t zero[65536];
		off_t to = (end + WAL_GROW - 1) / WAL_GROW * WAL_GROW;
		off_t from = w->size < WAL_DATA ? WAL_DATA : w->size;

		for (off_t o = from; o < to; o += (off_t)sizeof zero) {
			size_t k = to - o < (off_t)sizeof zero ?
			    (size_t)(to - o) : sizeof zero;

			if (full_pwrite(w->fd, zero, k, o) != 0)
				return -1;
		}
		w->size = to;
	}
	if (full_pwrite(w->fd, head, sizeof head, at) != 0 ||
	    (payload->len > 0 && full_pwrite(w->fd, payload->p, payload->len,
	    at + REC_HEAD) != 0) ||
	    full_pwrite(w->fd, hash, sizeof hash, end - SL_HASH_LEN) != 0 ||
	    fdatasync(w->fd) != 0)
		return -1;
	w->off = end;
	if (wrap)
		w->wrapped = w->m_wrapped = true;
	w->used += (uint64_t)need;
	w->m_used += (uint64_t)need;
	return 0;
}

/* Reads the record at off into w->buf if it is there, whole, numbered
 * lsn: 1 and its payload's length and event count, 0 if not, -1 when
 * memory ran out. */
static int
record_at(struct wal *w, off_t off, uint64_t lsn, size_t *len, size_t *n)
{
	uint8_t head[REC_HEAD], hash[SL_HASH_LEN];

	if (off + REC_HEAD + SL_HASH_LEN > w->size ||
	    full_pread(w->fd, head, REC_HEAD, off) != 0 ||
	    memcmp(head, REC_MAGIC, 4) != 0 || sl_get_be(head + 16, 8) != lsn)
		return 0;
	uint64_t count = sl_get_be(head + 4, 4);
	uint64_t bytes = sl_get_be(head + 8, 8);

	if (bytes > (uint64_t)(w->size - off - REC_HEAD - SL_HASH_LEN) ||
	    count > bytes / 4)
		return 0;
	if (reserve(w, REC_HEAD + bytes + SL_HASH_LEN) != 0)
		return -1;
	*len = REC_HEAD + (size_t)bytes;
	*n = (size_t)count;
	if (full_pread(w->fd, w->buf, *len + SL_HASH_LEN, off) != 0)
		return 0;
	sl_sha256(hash, w->buf, *len);
	return memcmp(hash, w->buf + *len, SL_HASH_LEN) == 0;
}

int
wal_scan(struct wal *w, wal_record_fn fn, void *ctx, size_t *count)
{
	off_t off = w->live;
	uint64_t lsn = w->head_lsn;
	const uint8_t **recs = NULL;
	size_t *lens = NULL, got = 0, len = 0, n = 0;
	bool wrapped = false, end = false;
	int rc = 0;

	while (w->open && !end) {
		int r = record_at(w, off, lsn, &len, &n);

		/* Not in line: where the ring started again?  (A samlogW1
		 * file's records are all in line, with one number.) */
		if (r == 0 && !w->legacy && off != WAL_DATA &&
		    (r = record_at(w, WAL_DATA, lsn, &len, &n)) == 1) {
			off = WAL_DATA;
			wrapped = true;
		}
		if (r < 0) {
			rc = -1; /* not the end of the records */
			break;
		}
		if (r == 0) {
			end = true;
			break;
		}
		const uint8_t **r2 = realloc(recs, (n ? n : 1) * sizeof *recs);
		size_t *l2 = r2 != NULL ? realloc(lens, (n ? n : 1) *
		    sizeof *lens) : NULL;

		if (r2 != NULL)
			recs = r2;
		if (l2 == NULL) {
			rc = -1;
			break;
		}
		lens = l2;
		size_t at = REC_HEAD;
		bool bad = false;

		for (size_t i = 0; i < n && !bad; i++) {
			if (at + 4 > len) {
				bad = true;
				break;
			}
			lens[i] = (size_t)sl_get_be(w->buf + at, 4);
			recs[i] = w->buf + at + 4;
			if (lens[i] > len - at - 4)
				bad = true;
			at += 4 + lens[i];
		}
		if (bad || at != len) {
			end = true;
			break;
		}
		got++;
		if (fn != NULL && (rc = fn(ctx, recs, lens, n)) != 0)
			break;
		off += (off_t)(len + SL_HASH_LEN);
		if (!w->legacy)
			lsn++;
	}
	free(recs);
	free(lens);
	if (count != NULL)
		*count = got;
	if (end || !w->open) {
		/* The next record follows the last one read, numbered far
		 * past it: where the records ended on damage (a bad sector)
		 * rather than at a torn last append, the ones after it are
		 * still in the file, and none may pass for the next. */
		w->off = off;
		w->lsn = w->legacy ? w->gen + 1 : lsn + WAL_LSN_SKIP;
		w->wrapped = wrapped;
		w->renumbered = w->open;
	}
	return rc;
}

uint64_t
wal_used(const struct wal *w)
{
	return w->used;
}
