/*
 * wal.c - the store's write-ahead file (see wal.h for what it holds and
 * store.c for how the store uses it).
 *
 * The file grows a mebibyte at a time, in zeros written out, so that a
 * record's fdatasync has only the record's own blocks to write and no
 * file size to record; it never shrinks, and a checkpoint starts the
 * records at WAL_DATA again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "samlog_proto.h"
#include "wal.h"

#define WAL_MAGIC "samlogW1"
#define REC_MAGIC "SLWR"
#define HEAD_FIXED 40              /* magic, gen, state, psize, dev, ino */
#define REC_HEAD 24                /* magic, count, bytes, gen */
#define WAL_GROW ((off_t)1 << 20)
#define STATE_OPEN 1
#define STATE_CLEAN 2

struct wal {
	int fd;
	uint64_t gen;     /* the newest header's */
	off_t off;        /* where the next record goes */
	off_t size;       /* the file's size (all of it written) */
	uint8_t *buf;     /* one record, for appends and scans */
	size_t cap;
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
	size_t len;

	if (full_pread(w->fd, b, WAL_SLOT, (off_t)i * WAL_SLOT) != 0 ||
	    memcmp(b, WAL_MAGIC, 8) != 0)
		return false;
	uint32_t state = (uint32_t)sl_get_be(b + 16, 4);
	uint32_t psize = (uint32_t)sl_get_be(b + 20, 4);

	if (state == STATE_OPEN) {
		if (psize < 512 || psize > WAL_PSIZE_MAX)
			return false;
		len = HEAD_FIXED + 2 * (size_t)psize;
	} else if (state == STATE_CLEAN) {
		len = HEAD_FIXED;
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
	if (h->open) {
		if ((h->meta = malloc(2 * (size_t)psize)) == NULL)
			return false;
		memcpy(h->meta, b + HEAD_FIXED, 2 * (size_t)psize);
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
	if (w == NULL || reserve(w, WAL_SLOT) != 0) {
		free(w);
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
	w->off = WAL_DATA;
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
	free(w);
}

int
wal_checkpoint(struct wal *w, const uint8_t *meta, uint32_t psize,
    uint64_t dev, uint64_t ino)
{
	uint64_t gen = w->gen + 1;
	size_t len = HEAD_FIXED + (meta != NULL ? 2 * (size_t)psize : 0);
	uint8_t *b = w->buf;

	if (meta != NULL && (psize < 512 || psize > WAL_PSIZE_MAX)) {
		errno = EINVAL;
		return -1;
	}
	memset(b, 0, WAL_SLOT);
	memcpy(b, WAL_MAGIC, 8);
	be_put(b + 8, gen, 8);
	be_put(b + 16, meta != NULL ? STATE_OPEN : STATE_CLEAN, 4);
	be_put(b + 20, meta != NULL ? psize : 0, 4);
	be_put(b + 24, dev, 8);
	be_put(b + 32, ino, 8);
	if (meta != NULL)
		memcpy(b + HEAD_FIXED, meta, 2 * (size_t)psize);
	sl_sha256(b + len, b, len);
	if (full_pwrite(w->fd, b, WAL_SLOT, (off_t)(gen & 1) * WAL_SLOT) != 0 ||
	    fdatasync(w->fd) != 0)
		return -1;
	if (w->size < WAL_DATA)
		w->size = WAL_DATA;
	w->gen = gen;
	w->off = WAL_DATA;
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
	size_t at = REC_HEAD + payload->len + SL_HASH_LEN;

	if (payload->failed || n > UINT32_MAX) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(head, REC_MAGIC, 4);
	be_put(head + 4, n, 4);
	be_put(head + 8, payload->len, 8);
	be_put(head + 16, w->gen, 8);
	sl_sha256_2(hash, head, sizeof head, payload->p, payload->len);

	/* Zeros ahead of the record, so the file's size stays put. */
	off_t end = w->off + (off_t)at;

	if (end > w->size) {
		static const uint8_t zero[65536];
		off_t to = (end + WAL_GROW - 1) / WAL_GROW * WAL_GROW;

		for (off_t o = w->size; o < to; o += (off_t)sizeof zero) {
			size_t k = to - o < (off_t)sizeof zero ?
			    (size_t)(to - o) : sizeof zero;

			if (full_pwrite(w->fd, zero, k, o) != 0)
				return -1;
		}
		w->size = to;
	}
	if (full_pwrite(w->fd, head, sizeof head, w->off) != 0 ||
	    (payload->len > 0 && full_pwrite(w->fd, payload->p, payload->len,
	    w->off + REC_HEAD) != 0) ||
	    full_pwrite(w->fd, hash, sizeof hash, end - SL_HASH_LEN) != 0 ||
	    fdatasync(w->fd) != 0)
		return -1;
	w->off = end;
	return 0;
}

int
wal_scan(struct wal *w, wal_record_fn fn, void *ctx, size_t *count)
{
	off_t off = WAL_DATA;
	uint8_t head[REC_HEAD], hash[SL_HASH_LEN];
	const uint8_t **recs = NULL;
	size_t *lens = NULL, got = 0;
	int rc = 0;

	while (w->gen != 0 && off + REC_HEAD + SL_HASH_LEN <= w->size) {
		if (full_pread(w->fd, head, REC_HEAD, off) != 0 ||
		    memcmp(head, REC_MAGIC, 4) != 0 ||
		    sl_get_be(head + 16, 8) != w->gen)
			break;
		uint64_t n = sl_get_be(head + 4, 4);
		uint64_t bytes = sl_get_be(head + 8, 8);

		if (bytes > (uint64_t)(w->size - off - REC_HEAD - SL_HASH_LEN) ||
		    n > bytes / 4)
			break;
		if (reserve(w, REC_HEAD + bytes + SL_HASH_LEN) != 0) {
			rc = -1; /* not the end of the records */
			break;
		}
		size_t len = REC_HEAD + (size_t)bytes;

		if (full_pread(w->fd, w->buf, len + SL_HASH_LEN, off) != 0)
			break;
		sl_sha256(hash, w->buf, len);
		if (memcmp(hash, w->buf + len, SL_HASH_LEN) != 0)
			break;
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

		for (uint64_t i = 0; i < n && !bad; i++) {
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
		if (bad || at != len)
			break;
		got++;
		if (fn != NULL && (rc = fn(ctx, recs, lens, (size_t)n)) != 0)
			break;
		off += (off_t)(len + SL_HASH_LEN);
	}
	free(recs);
	free(lens);
	if (count != NULL)
		*count = got;
	return rc;
}

uint64_t
wal_used(const struct wal *w)
{
	return (uint64_t)(w->off - WAL_DATA);
}
