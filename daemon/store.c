/*
 * store.c - the append-only, hash-chained, signed event log in LMDB.
 *
 * One environment (see store.h).  Each local append and each accepted
 * foreign batch is one write transaction that updates the origin's log and
 * the arrival index together, so a crash can never leave them disagreeing;
 * one synced append to the write-ahead file is what makes it durable (see
 * "the write-ahead file" below).
 *
 * Each origin's chain is its own named database, "log.<index>", keyed by
 * seq.  Appends to a chain are then always at the end of its B-tree, which
 * lets every put use MDB_APPEND: LMDB fills pages completely instead of
 * splitting them in half, which halves the bytes written (and fsync'd) per
 * event and skips the key search.  The per-origin tip (the version vector)
 * is the last entry of that database, read in O(1) at open and kept in
 * memory: storing it a second time would be one more page to write on
 * every commit and one more copy that could disagree with the chain.  For
 * the same reason the hybrid clock is not written per commit: at open it is
 * the highest clock among the tips.
 *
 * Origins are few (one per member organisation), so they live in a small
 * array; a transaction that is aborted reloads that array from the
 * `origins` database rather than trying to undo its edits.
 *
 * The map starts small and doubles whenever LMDB reports it full: the
 * transaction is aborted, the map resized (legal only with no transaction
 * open, which holds because the store never keeps one across calls), and
 * the whole operation replayed from its inputs.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "wal.h"

#define STORE_FORMAT 1
#define STORE_DEFAULT_MAP ((size_t)64 << 20)
#define STORE_DEFAULT_MAX ((size_t)1 << 40)
#define STORE_GROW_STEP ((size_t)1 << 30)
/* A foreign clock more than this far ahead of ours is not adopted, so one
 * node with a wrong clock cannot drag every later local event into the
 * future. */
#define STORE_MAX_SKEW_MS ((uint64_t)5 * 60 * 1000)

#define LOG_KEY_LEN 12     /* origin index (4, BE) + seq (8, BE) */
#define ORIGIN_VAL_LEN 4   /* origin index (4, BE) */
/* Each origin costs LMDB one named-database slot, fixed at open. */
#define STORE_MAX_ORIGINS 1000
/* Evidence is bounded by count and by the pages it fills, so that a
 * member sending refusable records or second histories without end cannot
 * fill the disk (PROTOCOL.md section 12). */
#define STORE_REFUSED_MAX 10000   /* refused records kept as evidence */
#define STORE_REFUSED_BYTES ((uint64_t)16 << 20)
#define STORE_FORKS_MAX 10000     /* fork evidence records kept */
#define STORE_FORKS_BYTES ((uint64_t)16 << 20)
#define FORK_KEY_LEN (LOG_KEY_LEN + SL_HASH_LEN)

struct origin_entry {
	struct store_tip tip;
	uint64_t tip_hlc; /* the tip's clock: the next must be greater */
	uint32_t idx;
	MDB_dbi dbi;    /* its log database */
	bool damaged;   /* its tip record does not decode: no appends */
};

struct store {
	MDB_env *env;
	MDB_dbi meta, origins, arrival, forks, refused, invites, erasures;
	/* Held events missing an opening no erasure explains (a relay
	 * dropped it): what this node asks its peers for (WANT). */
	MDB_dbi gaps;
	uint32_t gap_origin;  /* the origin the next store_gaps starts at */
	/* Per origin index, the last of its seqs store_gaps asked for
	 * (apart from the origins, which a reload reads again). */
	struct gap_pos {
		uint32_t idx;
		uint64_t after;
	} *gpos;
	size_t ngpos, capgpos;
	bool has_key;
	struct sl_key key;
	struct origin_entry *orig;
	size_t n_orig, cap_orig;
	uint32_t next_idx;
	uint64_t next_arrival;
	uint64_t hlc;
	uint64_t events;
	size_t max_map;
	uint8_t *buf; /* SL_EVENT_MAX bytes of scratch for encoding */
	store_hook_fn hook;
	void *hook_ctx;
	store_check_fn check;
	void *check_ctx;
	store_explain_fn explain;
	void *explain_ctx;
	uint64_t follow_ms;  /* a foreign clock moves ours up to this ahead */
	bool no_appends;     /* store_set_no_appends */
	/* Durability (see "the write-ahead file" below). */
	struct wal *wal;
	MDB_txn *pin;        /* a read of the checkpoint's snapshot */
	bool wal_pending;    /* records since the checkpoint not taken in */
	size_t ckpt_freed;   /* pages commits freed since the checkpoint */
	size_t ckpt_txnid;   /* LMDB's last transaction at the checkpoint */
	bool opening;        /* in store_open: durability_lost returns */
	bool sync_lost;      /* a sync failed: never say "clean" */
	struct ckpt {        /* the checkpoint on the syncer thread */
		pthread_t thread;
		pthread_mutex_t mu;
		pthread_cond_t cv;
		bool started;        /* the thread runs (mu, cv are set) */
		bool busy;           /* one is under way (this thread's) */
		unsigned delay_ms;   /* store_options.syncer_delay_ms */
		/* Under mu: */
		int state;           /* CK_IDLE, CK_POSTED, CK_DONE */
		bool stop;
		const char *what;    /* on CK_DONE: what failed, or NULL */
		int err;
		/* Set before it is posted, read by the syncer: */
		struct wal_mark mark;
		MDB_txn *pin;        /* its snapshot's */
		int data_fd;
		uint8_t meta[2 * WAL_PSIZE_MAX]; /* read at ckpt_begin */
	} ck;
};

static int gaps_index_once(struct store *s);
static int opens_without(const struct sl_event *ev,
    bool (*drop)(void *ctx, const char *k, size_t kl), void *ctx,
    struct sl_buf *out, uint32_t *n);

static void
put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Short printable form of an origin key for messages. */
static const char *
origin_text(char *buf, const uint8_t *origin)
{
	sl_b32_encode(buf, origin, SL_KEY_LEN);
	return buf;
}

static MDB_val
log_key(uint8_t *k, uint32_t idx, uint64_t seq)
{
	put_be32(k, idx);
	put_be64(k + 4, seq);
	return (MDB_val){ LOG_KEY_LEN, k };
}

static MDB_val
seq_key(uint8_t *k, uint64_t seq)
{
	put_be64(k, seq);
	return (MDB_val){ 8, k };
}

static int commit_sync(struct store *s, MDB_txn *txn);

/* Commits txn (durably) if rc is 0, else aborts it; returns what came of
 * it. */
static int
txn_end(struct store *s, MDB_txn *txn, int rc)
{
	if (rc == 0)
		return commit_sync(s, txn);
	mdb_txn_abort(txn);
	return rc;
}

static int
txn_begin(struct store *s, unsigned flags, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, flags, txn);

	if (rc == MDB_MAP_RESIZED) {
		/* Another process grew the map: adopt its size and retry. */
		mdb_env_set_mapsize(s->env, 0);
		rc = mdb_txn_begin(s->env, NULL, flags, txn);
	}
	return rc;
}

static struct origin_entry *
origin_find(const struct store *s, const uint8_t *pub)
{
	for (size_t i = 0; i < s->n_orig; i++)
		if (memcmp(s->orig[i].tip.origin, pub, SL_KEY_LEN) == 0)
			return &s->orig[i];
	return NULL;
}

static struct origin_entry *
origin_by_idx(const struct store *s, uint32_t idx)
{
	for (size_t i = 0; i < s->n_orig; i++)
		if (s->orig[i].idx == idx)
			return &s->orig[i];
	return NULL;
}

/* Adds an origin in memory only; the caller persists it in its txn. */
static struct origin_entry *
origin_add(struct store *s, const uint8_t *pub)
{
	if (s->n_orig == s->cap_orig) {
		size_t cap = s->cap_orig ? s->cap_orig * 2 : 8;
		struct origin_entry *n = realloc(s->orig, cap * sizeof *n);

		if (n == NULL)
			return NULL;
		s->orig = n;
		s->cap_orig = cap;
	}
	struct origin_entry *o = &s->orig[s->n_orig++];

	memset(o, 0, sizeof *o);
	memcpy(o->tip.origin, pub, SL_KEY_LEN);
	o->idx = s->next_idx++;
	return o;
}

/* Opens (create: creating) the log database of o in txn. */
static int
origin_dbi_open(MDB_txn *txn, struct origin_entry *o, bool create)
{
	char name[16];

	snprintf(name, sizeof name, "log.%08x", (unsigned)o->idx);
	return mdb_dbi_open(txn, name, create ? MDB_CREATE : 0, &o->dbi);
}

/* Records a new origin: its index in `origins` and its log database. */
static int
origin_create(struct store *s, MDB_txn *txn, struct origin_entry *o)
{
	uint8_t v[ORIGIN_VAL_LEN];
	MDB_val k = { SL_KEY_LEN, (void *)o->tip.origin }, d = { sizeof v, v };
	int rc;

	if (o->idx >= STORE_MAX_ORIGINS)
		return MDB_DBS_FULL;
	put_be32(v, o->idx);
	if ((rc = mdb_put(txn, s->origins, &k, &d, MDB_NOOVERWRITE)) != 0)
		return rc;
	return origin_dbi_open(txn, o, true);
}

/* Reads an origin's tip from the last entry of its log. */
static int
origin_load_tip(MDB_txn *txn, struct origin_entry *o, uint64_t *hlc)
{
	MDB_cursor *c;
	MDB_val k, d;
	struct sl_event ev;
	int rc;

	if ((rc = mdb_cursor_open(txn, o->dbi, &c)) != 0)
		return rc;
	rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
	if (rc == 0) {
		o->tip.seq = k.mv_size == 8 ? sl_get_be(k.mv_data, 8) : 0;
		/* A damaged tip must not stop the node from opening (verify
		 * has to be able to say what is wrong), but nothing may be
		 * chained onto it. */
		o->damaged = k.mv_size != 8 ||
		    sl_event_decode(&ev, d.mv_data, d.mv_size) != SL_OK;
		*hlc = 0;
		if (!o->damaged) {
			sl_event_hash(o->tip.hash, &ev);
			*hlc = ev.hlc;
		}
		o->tip_hlc = *hlc;
	} else if (rc == MDB_NOTFOUND) {
		o->tip.seq = 0;
		o->tip_hlc = 0;
		*hlc = 0;
		rc = 0;
	}
	mdb_cursor_close(c);
	return rc;
}

/* (Re)loads the origins, their log handles and tips, and the clock. */
static int
origins_load(struct store *s, MDB_txn *txn)
{
	uint64_t cap = (sl_now_ms() + s->follow_ms) << 16;
	MDB_cursor *c;
	MDB_val k, d;
	MDB_stat st;
	int rc;

	s->n_orig = 0;
	s->next_idx = 1;
	s->events = 0;
	s->hlc = 0;
	if ((rc = mdb_cursor_open(txn, s->origins, &c)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) == 0) {
		struct origin_entry *o;
		uint64_t hlc;

		if (k.mv_size != SL_KEY_LEN || d.mv_size != ORIGIN_VAL_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		if ((o = origin_add(s, k.mv_data)) == NULL) {
			rc = ENOMEM;
			break;
		}
		o->idx = (uint32_t)sl_get_be(d.mv_data, 4);
		if (o->idx >= s->next_idx)
			s->next_idx = o->idx + 1;
		if ((rc = origin_dbi_open(txn, o, false)) != 0 ||
		    (rc = origin_load_tip(txn, o, &hlc)) != 0 ||
		    (rc = mdb_stat(txn, o->dbi, &st)) != 0)
			break;
		s->events += st.ms_entries;
		/* Our own clock values are ours; a foreign clock counts only
		 * up to the skew limit, as at ingest. */
		if (!(s->has_key && memcmp(o->tip.origin, s->key.pub,
		    SL_KEY_LEN) == 0) && hlc > cap)
			hlc = cap;
		if (hlc > s->hlc)
			s->hlc = hlc;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
meta_get_u64(struct store *s, MDB_txn *txn, const char *name, uint64_t *v)
{
	MDB_val k = { strlen(name), (void *)name }, d;
	int rc = mdb_get(txn, s->meta, &k, &d);

	if (rc != 0)
		return rc;
	if (d.mv_size != 8)
		return MDB_CORRUPTED;
	*v = sl_get_be(d.mv_data, 8);
	return 0;
}

static int
meta_put_u64(struct store *s, MDB_txn *txn, const char *name, uint64_t v)
{
	uint8_t b[8];
	MDB_val k = { strlen(name), (void *)name }, d = { 8, b };

	put_be64(b, v);
	return mdb_put(txn, s->meta, &k, &d, 0);
}

/* A meta value read on its own, dflt if it is not there (or unreadable). */
static uint64_t
meta_read_u64(struct store *s, const char *name, uint64_t dflt)
{
	MDB_txn *txn;
	uint64_t v;

	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return dflt;
	if (meta_get_u64(s, txn, name, &v) != 0)
		v = dflt;
	mdb_txn_abort(txn);
	return v;
}

/* Reloads everything cached in memory: used at open and after any
 * aborted write.  The read transaction is committed, not aborted, so that
 * the log handles it opened stay valid. */
static int
store_reload(struct store *s)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != 0)
		return rc;
	if ((rc = origins_load(s, txn)) != 0)
		goto fail;
	s->next_arrival = 1;
	if ((rc = mdb_cursor_open(txn, s->arrival, &c)) != 0)
		goto fail;
	rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
	if (rc == 0 && k.mv_size == 8)
		s->next_arrival = sl_get_be(k.mv_data, 8) + 1;
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		goto fail;
	return mdb_txn_commit(txn);
fail:
	mdb_txn_abort(txn);
	return rc;
}

/* The store's own databases (each origin's log is opened by
 * origins_load). */
static int
dbs_open(struct store *s, MDB_txn *txn, unsigned flags)
{
	static const char *const names[] = { "meta", "origins", "arrival",
		"forks", "refused", "invites", "erasures", "gaps" };
	MDB_dbi *dbis[] = { &s->meta, &s->origins, &s->arrival, &s->forks,
		&s->refused, &s->invites, &s->erasures, &s->gaps };
	int rc;

	for (size_t i = 0; i < sizeof dbis / sizeof dbis[0]; i++)
		if ((rc = mdb_dbi_open(txn, names[i], flags, dbis[i])) != 0)
			return rc;
	return 0;
}

/* First-time setup inside one write txn: databases, format, node key. */
static int
store_init_txn(struct store *s, char *err, size_t errlen)
{
	MDB_txn *txn;
	uint64_t fmt;
	int rc;

	if ((rc = txn_begin(s, 0, &txn)) != 0)
		goto fail;
	if ((rc = dbs_open(s, txn, MDB_CREATE)) != 0)
		goto fail_txn;
	rc = meta_get_u64(s, txn, "format", &fmt);
	if (rc == MDB_NOTFOUND)
		rc = meta_put_u64(s, txn, "format", STORE_FORMAT);
	else if (rc == 0 && fmt != STORE_FORMAT) {
		mdb_txn_abort(txn);
		set_err(err, errlen, "store format %llu is not the %d this "
		    "samlogd reads", (unsigned long long)fmt, STORE_FORMAT);
		return SL_EVERSION;
	}
	if (rc != 0)
		goto fail_txn;
	if (s->has_key) {
		MDB_val k = { 4, "node" }, d;

		rc = mdb_get(txn, s->meta, &k, &d);
		if (rc == MDB_NOTFOUND) {
			d = (MDB_val){ SL_KEY_LEN, s->key.pub };
			rc = mdb_put(txn, s->meta, &k, &d, 0);
		} else if (rc == 0 && (d.mv_size != SL_KEY_LEN ||
		    memcmp(d.mv_data, s->key.pub, SL_KEY_LEN) != 0)) {
			mdb_txn_abort(txn);
			set_err(err, errlen, "this store belongs to another "
			    "node key; refusing to open it with this one");
			return SL_EINVAL;
		}
		if (rc != 0)
			goto fail_txn;
	}
	if ((rc = commit_sync(s, txn)) != 0)
		goto fail;
	return SL_OK;
fail_txn:
	mdb_txn_abort(txn);
fail:
	set_err(err, errlen, "cannot set up the store: %s", mdb_strerror(rc));
	return rc == MDB_MAP_FULL ? SL_EFULL : SL_ESTORE;
}

/* s->env: the LMDB environment in path with a map of map bytes, as
 * store_open and store_renew both open it; NULL on failure. */
static int
env_open(struct store *s, const char *path, size_t map)
{
	int rc;

	if ((rc = mdb_env_create(&s->env)) != 0) {
		s->env = NULL;
		return rc;
	}
	if ((rc = mdb_env_set_maxdbs(s->env, STORE_MAX_ORIGINS + 32)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, map)) != 0 ||
	    (rc = mdb_env_open(s->env, path, MDB_NOTLS | MDB_NOSYNC,
	    0600)) != 0) {
		mdb_env_close(s->env);
		s->env = NULL;
	}
	return rc;
}

/* ---- durability: the write-ahead file ----------------------------------
 *
 * LMDB runs unsynced (MDB_NOSYNC).  A commit that adds events (a local
 * batch, an accepted foreign batch) is made durable by one synced append
 * of those events to the write-ahead file (wal.c): one fdatasync, of a
 * few sequential blocks, where LMDB's own commit syncs every page the
 * commit touched and then its meta page.  Any other commit is made
 * durable by a checkpoint: LMDB synced, a copy of its two meta pages as
 * they now are on disk written into the write-ahead file's header
 * (synced), and then a read transaction held on that snapshot (the pin)
 * until the next checkpoint.
 *
 * Why the pin and the copy: unsynced, LMDB may reuse the pages of the
 * last synced snapshot two commits later, and its meta pages carry no
 * checksum, so after a power cut the newest meta page on disk may name
 * pages that never reached it, and the snapshot before it may be
 * overwritten.  The pin keeps every page of the checkpoint's snapshot
 * from reuse.  After a crash, store_open writes the copied meta pages
 * back, which brings LMDB to exactly that snapshot, and store_replay
 * takes the events appended since in again, through store_ingest and
 * so through the same checks and fold as when they first came.
 *
 * The checkpoint's slow part, LMDB's sync (several megabytes of pages),
 * runs on a thread of its own, the syncer, while commits go on: the
 * commit that starts one copies the two meta pages it just wrote and
 * pins that snapshot; the syncer syncs the data file (everything that
 * snapshot holds was written before) and writes the header, naming
 * the records appended after that commit (wal.h); the next commit to
 * see it done drops the snapshot before.  Until then a crash goes back
 * to the one before, whose pages its own pin still keeps, and takes in
 * the records since it, those appended while the syncer ran included.
 * The syncer makes no LMDB call: it only syncs one file and writes
 * the other's header slot.
 *
 * A checkpoint starts when the pin has held CKPT_PAGES pages back from
 * reuse or the records since the last pass WAL_START bytes; it is
 * waited for when they pass WAL_WAIT (so that the ring, WAL_WRAP bytes,
 * seldom runs into records still needed), for a commit larger than WAL_BIG
 * (written once, to LMDB, not twice), for any commit that does not add
 * events, when samlogd is idle (store_checkpoint) and at close (then
 * the header says "clean": nothing to go back to, so a tool that
 * writes the store with LMDB directly while samlogd is stopped is not
 * undone).
 */
#define WAL_FILE "wal"
#define CKPT_PAGES 1024
#define WAL_START ((uint64_t)WAL_WRAP / 4)
#define WAL_WAIT ((uint64_t)WAL_WRAP / 2)
#define WAL_BIG ((uint64_t)4 << 20)
#define CK_IDLE 0
#define CK_POSTED 1
#define CK_DONE 2

static void
pin_drop(struct store *s)
{
	if (s->pin != NULL)
		mdb_txn_abort(s->pin);
	s->pin = NULL;
}

/* The data file's device and inode, for the header. */
static int
data_file_id(struct store *s, int *fd, struct stat *st)
{
	*fd = -1;
	return mdb_env_get_fd(s->env, fd) == 0 && fstat(*fd, st) == 0 ? 0 :
	    EIO;
}

/* A sync failed after a commit, or a checkpoint's header may be half on
 * disk: what the process holds is no longer what the disk holds, and
 * going on could acknowledge what a crash then loses (a failed fsync
 * may also have dropped the pages it did not write).  samlogd stops;
 * its next start goes back to the last checkpoint and takes in what
 * the write-ahead file holds, which is everything acknowledged.  While
 * the store opens nothing has been acknowledged yet: store_open fails
 * instead (the backup check opens a copy beside the running node). */
static int
durability_lost(struct store *s, const char *what, int rc)
{
	if (rc == 0)
		rc = EIO;
	/* A second sync may succeed where this one failed (the kernel
	 * reports a writeback error once): store_close must not then call
	 * the store clean. */
	s->sync_lost = true;
	if (s->opening)
		return rc;
	log_warn("cannot %s: %s; stopping, so that nothing that is not on "
	    "disk is acknowledged", what, mdb_strerror(rc));
	exit(1);
}

/* The syncer thread: takes one posted checkpoint at a time. */
static void *
syncer(void *arg)
{
	struct store *s = arg;
	struct ckpt *c = &s->ck;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->state != CK_POSTED && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->state != CK_POSTED)
			break;
		pthread_mutex_unlock(&c->mu);
		if (c->delay_ms > 0) {
			struct timespec ts = { (time_t)(c->delay_ms / 1000),
			    (long)(c->delay_ms % 1000) * 1000000L };

			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
		/* LMDB's sync, unforced (MDB_NOSYNC, no MDB_WRITEMAP), is
		 * this fdatasync. */
		const char *what = NULL;
		int err = 0;

		if (fdatasync(c->data_fd) != 0) {
			what = "sync the store";
			err = errno;
		} else if (wal_head_write(s->wal, &c->mark) != 0) {
			what = "write the write-ahead file's header";
			err = errno;
		}
		pthread_mutex_lock(&c->mu);
		c->what = what;
		c->err = err;
		c->state = CK_DONE;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static int
syncer_start(struct store *s)
{
	struct ckpt *c = &s->ck;

	if (pthread_mutex_init(&c->mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&c->cv, NULL) != 0) {
		pthread_mutex_destroy(&c->mu);
		return -1;
	}
	/* With every signal blocked: they are the main thread's (samlogd
	 * blocks its stop signals there while it starts itself again, and
	 * one taken here then would find no handler). */
	sigset_t all, was;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &was);
	rc = pthread_create(&c->thread, NULL, syncer, s);
	pthread_sigmask(SIG_SETMASK, &was, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		errno = rc;
		return -1;
	}
	c->started = true;
	return 0;
}

static void
syncer_stop(struct store *s)
{
	struct ckpt *c = &s->ck;

	if (!c->started)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	c->started = false;
}

/* Lands the checkpoint under way once the syncer is done with it (with
 * wait, waits for that): its snapshot becomes the one a crash goes back
 * to, and the one before may go.  A failure stops the process
 * (durability_lost).  0, or while opening an error code. */
static int
ckpt_land(struct store *s, bool wait)
{
	struct ckpt *c = &s->ck;
	const char *what;
	int err;

	if (!c->busy)
		return 0;
	pthread_mutex_lock(&c->mu);
	if (!wait && c->state != CK_DONE) {
		pthread_mutex_unlock(&c->mu);
		return 0;
	}
	while (c->state != CK_DONE)
		pthread_cond_wait(&c->cv, &c->mu);
	c->state = CK_IDLE;
	what = c->what;
	err = c->err;
	pthread_mutex_unlock(&c->mu);
	c->busy = false;
	if (what != NULL) {
		if (c->pin != NULL)
			mdb_txn_abort(c->pin);
		c->pin = NULL;
		return durability_lost(s, what, err);
	}
	wal_landed(s->wal, &c->mark);
	pin_drop(s);
	s->pin = c->pin;
	c->pin = NULL;
	return 0;
}

/* Starts a checkpoint of the snapshot just committed, on the syncer.
 * Not while one is under way (land it first), nor while records of the
 * last wait to be taken in (store_replay): the snapshot they build on
 * must stay.  0, or (opening) an error code. */
static int
ckpt_begin(struct store *s)
{
	struct ckpt *c = &s->ck;
	MDB_stat st;
	MDB_envinfo info;
	struct stat fs;
	size_t len;
	int fd = -1, rc;

	if (s->wal == NULL || s->wal_pending || c->busy)
		return 0;
	if ((rc = mdb_env_info(s->env, &info)) != 0)
		return durability_lost(s, "read the store's state", rc);
	if (s->pin != NULL && info.me_last_txnid == s->ckpt_txnid)
		return 0; /* nothing committed since */
	if ((rc = mdb_env_stat(s->env, &st)) != 0 ||
	    (rc = data_file_id(s, &fd, &fs)) != 0)
		return durability_lost(s, "read the store's state", rc);
	if (st.ms_psize < 512 || st.ms_psize > WAL_PSIZE_MAX)
		return durability_lost(s, "keep the store's meta pages (page "
		    "size)", EINVAL);
	/* The meta pages as the commit just wrote them: this snapshot's
	 * and the one before (later commits overwrite them on disk; the
	 * header keeps this copy). */
	len = 2 * (size_t)st.ms_psize;
	errno = 0;
	if (pread(fd, c->meta, len, 0) != (ssize_t)len)
		return durability_lost(s, "read the store's meta pages",
		    errno);
	if (wal_mark(s->wal, &c->mark, c->meta, st.ms_psize,
	    (uint64_t)fs.st_dev, (uint64_t)fs.st_ino) != 0)
		return durability_lost(s, "write the write-ahead file's "
		    "header", errno);
	/* Pinned before any later commit may reuse its pages. */
	if (txn_begin(s, MDB_RDONLY, &c->pin) != 0)
		c->pin = NULL;
	c->data_fd = fd;
	c->busy = true;
	s->ckpt_freed = 0;
	s->ckpt_txnid = info.me_last_txnid;
	pthread_mutex_lock(&c->mu);
	c->state = CK_POSTED;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	/* Unpinned (no reader slot), nothing may commit before it is on
	 * disk; after it, each commit checkpoints (commit_logged). */
	return c->pin == NULL ? ckpt_land(s, true) : 0;
}

/* Syncs LMDB and makes this snapshot the one a crash goes back to,
 * before it returns (a failure stops the process: durability_lost).
 * 0, or while opening an error code. */
static int
checkpoint(struct store *s)
{
	int rc;

	if ((rc = ckpt_land(s, true)) != 0 || (rc = ckpt_begin(s)) != 0)
		return rc;
	return ckpt_land(s, true);
}

/*
 * The pages transaction txnid freed (copied on write, so about those it
 * wrote), from LMDB's free list (database 0, keyed by transaction, each
 * value a count and the page numbers), as mdb_stat reads it.  Counting
 * these, and not the file's growth, is what bounds the pages the pin
 * keeps from reuse: the pages freed since one checkpoint are reused
 * after the next, so a file that grew only when reuse ran out would grow
 * by CKPT_PAGES on every round.  0 when it cannot be read.
 */
static size_t
pages_freed(struct store *s, size_t txnid)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k = { sizeof txnid, &txnid }, d;
	size_t n = 0;

	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return 0;
	if (mdb_cursor_open(txn, 0, &c) == 0) {
		if (mdb_cursor_get(c, &k, &d, MDB_SET) == 0 &&
		    d.mv_size >= sizeof n)
			memcpy(&n, d.mv_data, sizeof n);
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	return n;
}

/* Commits the write transaction txn and makes it durable: a checkpoint. */
static int
commit_sync(struct store *s, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);

	return rc != 0 ? rc : checkpoint(s);
}

/* Commits txn, which added the n events of payload (wal_put_event), and
 * makes it durable with one synced append to the write-ahead file. */
static int
commit_logged(struct store *s, MDB_txn *txn, const struct sl_buf *payload,
    size_t n)
{
	MDB_envinfo info;
	int rc = mdb_txn_commit(txn);

	if (rc != 0 || s->wal_pending)
		return rc;
	if ((rc = ckpt_land(s, false)) != 0)
		return rc;
	/* A failed append leaves at most a record that does not check;
	 * its number is not used again.  The checkpoint makes this commit
	 * durable (and the ring room, when it had none: ENOSPC). */
	if (s->pin == NULL || payload->failed || payload->len > WAL_BIG ||
	    wal_append(s->wal, payload, n) != 0)
		return checkpoint(s);
	/* Durable.  Time for the next checkpoint? */
	if (mdb_env_info(s->env, &info) == 0)
		s->ckpt_freed += pages_freed(s, info.me_last_txnid);
	if (s->ck.busy && wal_used(s->wal) > WAL_WAIT)
		rc = ckpt_land(s, true);
	if (rc == 0 && !s->ck.busy && (s->ckpt_freed > CKPT_PAGES ||
	    wal_used(s->wal) > WAL_START))
		rc = ckpt_begin(s);
	return rc;
}

int
store_commit(struct store *s, MDB_txn *txn)
{
	return commit_sync(s, txn);
}

void
store_checkpoint(struct store *s)
{
	(void)checkpoint(s);
}

/* Opens path's write-ahead file; after a crash (its header says open),
 * writes the checkpoint's meta pages back into the data file, before
 * LMDB opens it. */
static int
wal_start(struct store *s, const char *path, char *err, size_t errlen)
{
	char f[PATH_MAX + 16];
	struct wal_head h;
	struct stat st;
	int fd, ret = SL_OK;

	snprintf(f, sizeof f, "%s/%s", path, WAL_FILE);
	if (wal_open(&s->wal, f, &h, err, errlen) != 0)
		return SL_EIO;
	if (!h.open)
		return SL_OK;
	snprintf(f, sizeof f, "%s/data.mdb", path);
	size_t len = 2 * (size_t)h.psize;

	if ((fd = open(f, O_RDWR | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		set_err(err, errlen, "the store's write-ahead file is there "
		    "but its data file is not: %s: %s", f, strerror(errno));
		ret = SL_ESTORE;
	} else if ((uint64_t)st.st_ino != h.ino) {
		/* The inode, not the device: a device number (btrfs,
		 * device-mapper) may change at every boot, and a power
		 * cut is a boot. */
		set_err(err, errlen, "%s is not the file the write-ahead file "
		    "%s/%s was written for (copied or replaced after a crash?); "
		    "nothing was changed", f, path, WAL_FILE);
		ret = SL_ESTORE;
	} else if (pwrite(fd, h.meta, len, 0) != (ssize_t)len ||
	    fdatasync(fd) != 0) {
		set_err(err, errlen, "cannot write %s: %s", f,
		    strerror(errno));
		ret = SL_EIO;
	} else {
		size_t n = 0;

		if (wal_scan(s->wal, NULL, NULL, &n) != 0) {
			set_err(err, errlen, "cannot read the write-ahead file "
			    "%s/%s: out of memory", path, WAL_FILE);
			ret = SL_ENOMEM;
		}
		s->wal_pending = n > 0;
	}
	if (fd >= 0)
		close(fd);
	wal_head_free(&h);
	return ret;
}

struct replay {
	struct store *s;
	size_t records, events;
	char why[300];
};

static int
replay_one(void *ctx, const uint8_t *const *recs, const size_t *lens,
    size_t n)
{
	struct replay *r = ctx;
	struct store_ingest_result res;
	int rc = store_ingest(r->s, recs, lens, n, &res);

	if (rc != SL_OK || res.code != SL_OK) {
		snprintf(r->why, sizeof r->why, "%s", res.reason[0] ?
		    res.reason : sl_strerror(rc));
		return -1;
	}
	r->records++;
	r->events += res.added + res.restored;
	return 0;
}

int
store_replay(struct store *s, size_t *events, char *err, size_t errlen)
{
	struct replay r = { .s = s };
	int rc;

	if (events != NULL)
		*events = 0;
	if (!s->wal_pending)
		return SL_OK;
	if (wal_scan(s->wal, replay_one, &r, NULL) != 0) {
		set_err(err, errlen, "cannot take in record %zu of the "
		    "write-ahead file: %s", r.records + 1, r.why[0] != '\0' ?
		    r.why : "out of memory");
		return SL_ESTORE;
	}
	s->wal_pending = false;
	if ((rc = checkpoint(s)) != 0) {
		set_err(err, errlen, "cannot sync the store: %s",
		    mdb_strerror(rc));
		return SL_EIO;
	}
	if (events != NULL)
		*events = r.events;
	return SL_OK;
}

bool
store_replay_owed(const struct store *s)
{
	return s->wal_pending;
}

int
store_open(struct store **out, const char *path, const struct sl_key *key,
    const struct store_options *opt, char *err, size_t errlen)
{
	struct store *s;
	size_t initial = opt && opt->initial_map ? opt->initial_map :
	    STORE_DEFAULT_MAP;
	int rc, ret = SL_ESTORE;

	*out = NULL;
	if (sl_crypto_init() != 0) {
		set_err(err, errlen, "cannot initialise the crypto libraries");
		return SL_ESTORE;
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		set_err(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		return SL_EIO;
	}
	if ((s = calloc(1, sizeof *s)) == NULL ||
	    (s->buf = malloc(SL_EVENT_MAX)) == NULL) {
		free(s);
		set_err(err, errlen, "out of memory");
		return SL_ENOMEM;
	}
	s->max_map = opt && opt->max_map ? opt->max_map : STORE_DEFAULT_MAX;
	s->ck.delay_ms = opt ? opt->syncer_delay_ms : 0;
	s->follow_ms = STORE_MAX_SKEW_MS;
	s->opening = true;
	if (key != NULL) {
		s->key = *key;
		s->has_key = true;
	}
	if ((ret = wal_start(s, path, err, errlen)) != SL_OK)
		goto fail;
	if (syncer_start(s) != 0) {
		set_err(err, errlen, "cannot start the store's syncer thread: "
		    "%s", strerror(errno));
		ret = SL_ENOMEM;
		goto fail;
	}
	ret = SL_ESTORE;
	if ((rc = env_open(s, path, initial)) != 0) {
		set_err(err, errlen, "cannot open the store in %s: %s", path,
		    mdb_strerror(rc));
		goto fail;
	}
	/* Records to take in (store_replay): the snapshot they build on is
	 * pinned before anything is written. */
	if (s->wal_pending && (rc = txn_begin(s, MDB_RDONLY, &s->pin)) != 0) {
		set_err(err, errlen, "cannot read the store in %s: %s", path,
		    mdb_strerror(rc));
		goto fail;
	}
	if ((ret = store_init_txn(s, err, errlen)) != SL_OK)
		goto fail;
	if ((rc = store_reload(s)) != 0 || (rc = gaps_index_once(s)) != 0) {
		set_err(err, errlen, "cannot read the store: %s",
		    mdb_strerror(rc));
		ret = SL_ESTORE;
		goto fail;
	}
	if ((rc = checkpoint(s)) != 0) { /* none to take in: this snapshot */
		set_err(err, errlen, "cannot sync the store in %s: %s", path,
		    mdb_strerror(rc));
		ret = SL_EIO;
		goto fail;
	}
	s->opening = false;
	*out = s;
	return SL_OK;
fail:
	store_close(s);
	return ret;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	/* Synced and said clean; with records not taken in, left as it
	 * is for the next start. */
	(void)ckpt_land(s, true);
	if (s->env != NULL && s->wal != NULL && !s->wal_pending &&
	    !s->sync_lost && mdb_env_sync(s->env, 1) == 0) {
		struct stat fs;
		int fd;

		pin_drop(s);
		if (data_file_id(s, &fd, &fs) == 0)
			(void)wal_checkpoint(s->wal, NULL, 0,
			    (uint64_t)fs.st_dev, (uint64_t)fs.st_ino);
	}
	pin_drop(s);
	syncer_stop(s);
	wal_close(s->wal);
	if (s->env != NULL)
		mdb_env_close(s->env);
	sl_key_wipe(&s->key);
	free(s->gpos);
	free(s->orig);
	free(s->buf);
	free(s);
}

/* Grows the map after MDB_MAP_FULL.  No transaction may be open but the
 * pin: LMDB maps the file anew, and the pin is never read through (only
 * its reader slot, which is in the lock file, keeps pages from reuse), so
 * it may span the change. */
static int
store_grow(struct store *s)
{
	MDB_envinfo info;
	size_t cur, next;

	if (mdb_env_info(s->env, &info) != 0)
		return SL_ESTORE;
	/* The pages the pin keeps from reuse are free after a checkpoint:
	 * at the map's limit the replayed transaction may fit then (if
	 * not, it comes back with nothing committed since: full). */
	bool freed = s->pin != NULL && !s->wal_pending && (s->ck.busy ||
	    info.me_last_txnid != s->ckpt_txnid) && checkpoint(s) == 0;

	cur = info.me_mapsize;
	if (cur >= s->max_map)
		return freed ? SL_OK : SL_EFULL;
	next = cur < STORE_GROW_STEP ? cur * 2 : cur + STORE_GROW_STEP;
	if (next > s->max_map)
		next = s->max_map;
	return mdb_env_set_mapsize(s->env, next) == 0 ? SL_OK : SL_ESTORE;
}

static int
arrival_put(struct store *s, MDB_txn *txn, uint64_t n, uint32_t idx,
    uint64_t seq)
{
	uint8_t kb[8], vb[LOG_KEY_LEN];
	MDB_val k = { 8, kb }, d = log_key(vb, idx, seq);

	put_be64(kb, n);
	return mdb_put(txn, s->arrival, &k, &d, MDB_APPEND);
}

/* ---- local appends: write batches ------------------------------------ */

#define SALT_POOL 256 /* salts drawn per call to the OS */

struct store_batch {
	struct store *s;
	MDB_txn *txn;
	size_t oi;            /* local origin's slot in s->orig */
	uint64_t seq, hlc, arrival, now, first_seq;
	uint8_t prev[SL_HASH_LEN];
	bool pending;         /* s->buf holds the last record, not yet put */
	size_t pending_len;
	bool dead;            /* the txn is gone: only abort is allowed */
	struct sl_buf wal;    /* the events put, for the write-ahead file */
	size_t wal_n;
	uint8_t salts[SALT_POOL * SL_SALT_LEN];
	size_t salt_next;
};

void
store_set_hook(struct store *s, store_hook_fn fn, void *ctx)
{
	s->hook = fn;
	s->hook_ctx = ctx;
}

void
store_set_follow(struct store *s, uint64_t ms)
{
	s->follow_ms = ms;
}

void
store_set_explain(struct store *s, store_explain_fn fn, void *ctx)
{
	s->explain = fn;
	s->explain_ctx = ctx;
}

void
store_set_check(struct store *s, store_check_fn fn, void *ctx)
{
	s->check = fn;
	s->check_ctx = ctx;
}

/* Ends a batch whose transaction failed with LMDB code rc: aborts, grows
 * the map when it was full, and maps the code to a result. */
static int
batch_fail(struct store_batch *b, int rc, char *err, size_t errlen)
{
	struct store *s = b->s;

	if (b->txn != NULL)
		mdb_txn_abort(b->txn);
	b->txn = NULL;
	b->dead = true;
	store_reload(s);
	if (rc == MDB_MAP_FULL) {
		if (store_grow(s) == SL_OK)
			return SL_ERETRY;
		set_err(err, errlen, "the store is full (map at its limit of "
		    "%zu bytes)", s->max_map);
		return SL_EFULL;
	}
	if (rc == MDB_CORRUPTED) {
		set_err(err, errlen, "the last event of this node's own chain "
		    "is damaged; nothing can be appended (see verify)");
		return SL_ESTORE;
	}
	if (rc == MDB_KEYEXIST) {
		set_err(err, errlen, "the log already holds the next local seq: "
		    "the store's tips disagree with its log");
		return SL_ESTORE;
	}
	set_err(err, errlen, "cannot append: %s", mdb_strerror(rc));
	return rc == ENOSPC ? SL_EFULL : SL_ESTORE;
}

static void
batch_free(struct store_batch *b)
{
	free(b->wal.p);
	free(b);
}

int
store_batch_begin(struct store *s, struct store_batch **out, char *err,
    size_t errlen)
{
	struct store_batch *b;
	struct origin_entry *o;
	int rc;

	*out = NULL;
	if (!s->has_key) {
		set_err(err, errlen, "store opened without a node key");
		return SL_EINVAL;
	}
	if (s->no_appends) {
		set_err(err, errlen, "this node was restored from a backup and "
		    "writes nothing until it has caught up with its peers");
		return SL_ESTATE;
	}
	if ((b = calloc(1, sizeof *b)) == NULL) {
		set_err(err, errlen, "out of memory");
		return SL_ENOMEM;
	}
	b->s = s;
	b->salt_next = SALT_POOL;
	if ((rc = txn_begin(s, 0, &b->txn)) != 0) {
		batch_free(b);
		set_err(err, errlen, "cannot begin a write: %s",
		    mdb_strerror(rc));
		return SL_ESTORE;
	}
	if ((o = origin_find(s, s->key.pub)) == NULL) {
		if ((o = origin_add(s, s->key.pub)) == NULL) {
			rc = ENOMEM;
			goto fail;
		}
		if ((rc = origin_create(s, b->txn, o)) != 0)
			goto fail;
	}
	if (o->damaged) {
		rc = MDB_CORRUPTED;
		goto fail;
	}
	b->oi = (size_t)(o - s->orig);
	b->seq = b->first_seq = o->tip.seq;
	memcpy(b->prev, o->tip.hash, SL_HASH_LEN);
	b->hlc = s->hlc;
	b->arrival = s->next_arrival;
	b->now = sl_now_ms();
	*out = b;
	return SL_OK;
fail:
	rc = batch_fail(b, rc, err, errlen);
	assert(rc != SL_OK);   /* *out stays NULL only on an error */
	batch_free(b);
	return rc;
}

MDB_txn *
store_batch_txn(const struct store_batch *b)
{
	return b->txn;
}

void
store_batch_after(struct store_batch *b, uint64_t hlc)
{
	if (hlc > b->hlc)
		b->hlc = hlc;
}

/* Puts the pending record (the batch's last so far) into the log. */
static int
batch_put_pending(struct store_batch *b, const uint8_t *rec, size_t len)
{
	struct store *s = b->s;
	const struct origin_entry *o = &s->orig[b->oi];
	uint8_t kb[8];
	MDB_val k = seq_key(kb, b->seq), v = { len, (void *)rec };
	int rc;

	if ((rc = mdb_put(b->txn, o->dbi, &k, &v, MDB_APPEND)) != 0)
		return rc;
	wal_put_event(&b->wal, rec, len);
	b->wal_n++;
	b->pending = false;
	return arrival_put(s, b->txn, b->arrival++, o->idx, b->seq);
}

int
store_batch_append(struct store_batch *b, const struct sl_event_draft *d,
    struct store_appended *out, char *err, size_t errlen)
{
	struct store *s = b->s;
	uint8_t hdr[SL_HEADER_MAX], ph[SL_HASH_LEN], hash[SL_HASH_LEN];
	uint8_t sig[SL_SIG_LEN];
	struct sl_event ev;
	int rc;

	if (b->dead)
		return SL_EINVAL;
	if ((rc = sl_draft_check(d)) != SL_OK) {
		set_err(err, errlen, "invalid event: %s", sl_strerror(rc));
		return rc;
	}
	if (s->check != NULL) {
		char why[200];

		/* Stamped now, or later (after its parents). */
		if (s->check(s->check_ctx, d->type, strlen(d->type),
		    d->entity, d->n_parents, d->payload, d->payload_len,
		    d->opens, d->opens_len, sl_now_ms() << 16, NULL, NULL,
		    why, sizeof why) != SL_OK) {
			set_err(err, errlen, "invalid event: %s", why);
			return SL_EVALUE;
		}
	}
	/* The previous event is final now: it is not the commit's last. */
	if (b->pending && (rc = batch_put_pending(b, s->buf,
	    b->pending_len)) != 0)
		return batch_fail(b, rc, err, errlen);
	if (b->salt_next == SALT_POOL) {
		sl_random_stream(b->salts, sizeof b->salts);
		b->salt_next = 0;
	}
	const uint8_t *salt = b->salts + b->salt_next++ * SL_SALT_LEN;
	uint64_t seq = b->seq + 1;

	b->hlc = sl_hlc_next(b->hlc, b->now);
	sl_payload_hash(ph, salt, d->payload, d->payload_len);
	struct sl_header_in h = { s->key.pub, seq, seq > 1 ? b->prev : NULL,
		b->hlc, ph };
	size_t hl = sl_header_encode(hdr, d, &h);
	bool sign = seq % SL_SIGN_INTERVAL == 0;

	sl_sha256(hash, hdr, hl);
	if (sign)
		sl_sign_hash(sig, &s->key, hash);
	b->pending_len = sl_record_encode_opens(s->buf, hdr, hl,
	    sign ? sig : NULL, salt, d->payload, d->payload_len, d->opens,
	    d->opens_len);
	b->pending = true;
	b->seq = seq;
	memcpy(b->prev, hash, SL_HASH_LEN);
	if (s->hook != NULL) {
		if (sl_event_decode(&ev, s->buf, b->pending_len) != SL_OK)
			return batch_fail(b, MDB_CORRUPTED, err, errlen);
		if ((rc = s->hook(s->hook_ctx, b->txn, &ev, hash)) != 0) {
			int ret = batch_fail(b, rc, err, errlen);

			/* The fold read something it could not: the
			 * records, not the chain, are damaged. */
			if (rc == MDB_CORRUPTED)
				set_err(err, errlen, "the records are damaged "
				    "(what the fold keeps of an earlier event "
				    "does not read); nothing can be appended "
				    "until samlog rebuild");
			return ret;
		}
	}
	if (out != NULL) {
		memcpy(out->hash, hash, SL_HASH_LEN);
		out->seq = seq;
		out->hlc = b->hlc;
	}
	return SL_OK;
}

int
store_batch_commit(struct store_batch *b, char *err, size_t errlen)
{
	struct store *s = b->s;
	int rc = SL_OK;

	if (b->dead) {
		batch_free(b);
		return SL_EINVAL;
	}
	if (b->pending) {
		/* The commit's last event: signed, so the batch is covered. */
		struct sl_event ev;
		uint8_t sig[SL_SIG_LEN], *rec = malloc(SL_EVENT_MAX);
		size_t len;

		if (rec == NULL) {
			rc = batch_fail(b, ENOMEM, err, errlen);
			batch_free(b);
			return rc;
		}
		if (sl_event_decode(&ev, s->buf, b->pending_len) != SL_OK) {
			free(rec);
			rc = batch_fail(b, MDB_CORRUPTED, err, errlen);
			batch_free(b);
			return rc;
		}
		if (ev.sig == NULL) {
			sl_sign_hash(sig, &s->key, b->prev);
			len = sl_record_encode_opens(rec, ev.hdr, ev.hdr_len,
			    sig, ev.salt, ev.payload, ev.payload_len, ev.opens,
			    ev.opens_len);
		} else {
			memcpy(rec, s->buf, b->pending_len);
			len = b->pending_len;
		}
		rc = batch_put_pending(b, rec, len);
		free(rec);
		if (rc != 0) {
			rc = batch_fail(b, rc, err, errlen);
			batch_free(b);
			return rc;
		}
	}
	rc = commit_logged(s, b->txn, &b->wal, b->wal_n);
	if (rc != 0) {
		b->txn = NULL; /* a failed commit has freed it */
		rc = batch_fail(b, rc, err, errlen);
		batch_free(b);
		return rc;
	}
	struct origin_entry *o = &s->orig[b->oi];

	s->events += b->seq - b->first_seq;
	o->tip.seq = b->seq;
	o->tip_hlc = b->hlc;
	memcpy(o->tip.hash, b->prev, SL_HASH_LEN);
	s->hlc = b->hlc;
	s->next_arrival = b->arrival;
	batch_free(b);
	return SL_OK;
}

void
store_batch_abort(struct store_batch *b)
{
	if (b == NULL)
		return;
	if (!b->dead) {
		mdb_txn_abort(b->txn);
		store_reload(b->s);
	}
	batch_free(b);
}

int
store_append(struct store *s, const struct sl_event_draft *drafts, size_t n,
    struct store_appended *out, char *err, size_t errlen)
{
	struct store_batch *b;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if ((rc = sl_draft_check(&drafts[i])) != SL_OK) {
			set_err(err, errlen, "event %zu: %s", i + 1,
			    sl_strerror(rc));
			return rc;
		}
	}
	if (n == 0)
		return SL_OK;
	do {
		/* SL_ERETRY: the map grew under the first own write; again. */
		if ((rc = store_batch_begin(s, &b, err, errlen)) != SL_OK)
			continue;
		for (size_t i = 0; i < n && rc == SL_OK; i++)
			rc = store_batch_append(b, &drafts[i],
			    out != NULL ? &out[i] : NULL, err, errlen);
		if (rc == SL_OK)
			rc = store_batch_commit(b, err, errlen);
		else
			store_batch_abort(b);
	} while (rc == SL_ERETRY);
	return rc;
}

/* ---- ingest ---------------------------------------------------------- */

/* Per-origin run of a batch: indices first..last, linked by next[]. */
struct seg {
	const uint8_t *origin;
	size_t first, last;
};

struct ingest {
	struct sl_event *evs;
	uint8_t (*hash)[SL_HASH_LEN];
	size_t *next;        /* next index of the same origin, or n */
	struct seg *segs;
	size_t n, n_segs;
	size_t fork_at;      /* index where a fork was found, or n */
};

static int
refuse(struct store_ingest_result *res, int code, size_t index,
    const uint8_t *origin, uint64_t seq, const char *fmt, ...)
{
	va_list ap;
	char o[SL_NODE_ID_TEXT + 1];
	char why[160];

	res->code = code;
	res->index = index;
	res->seq = seq;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	/* A failure of the store itself (full, out of memory) is about no
	 * event in particular. */
	if (origin == NULL) {
		snprintf(res->reason, sizeof res->reason, "%s", why);
		return code;
	}
	memcpy(res->origin, origin, SL_KEY_LEN);
	origin_text(o, origin);
	snprintf(res->reason, sizeof res->reason, "origin %s seq %llu: %s", o,
	    (unsigned long long)seq, why);
	return code;
}

/* Everything that can be checked without the store: decoding, payload
 * hashes, the content rules, per-origin order, clocks and chain links,
 * and signature coverage. */
static int
ingest_check(struct store *s, struct ingest *g, struct store_ingest_result *res)
{
	size_t n = g->n;

	for (size_t i = 0; i < n; i++) {
		struct sl_event *e = &g->evs[i];
		int rc;

		g->next[i] = n;
		if ((rc = sl_event_decode(e, e->rec, e->rec_len)) != SL_OK)
			return refuse(res, rc, i, NULL, 0,
			    "event %zu of the batch does not decode: %s", i + 1,
			    sl_strerror(rc));
		if ((rc = sl_event_check_payload(e)) != SL_OK)
			return refuse(res, rc, i, e->origin, e->seq, "%s",
			    sl_strerror(rc));
		sl_event_hash(g->hash[i], e);
		/* Taken in again from the write-ahead file (store_replay):
		 * checked when they came, by rules that may look at the
		 * clock, which has moved on. */
		if (s->check != NULL && !s->wal_pending) {
			char why[200];

			if (s->check(s->check_ctx, e->type, e->type_len,
			    e->entity, e->n_parents, e->payload, e->payload_len,
			    e->opens, e->opens_len, e->hlc, e->origin,
			    g->hash[i], why, sizeof why) != SL_OK)
				return refuse(res, SL_ESCHEMA, i, e->origin,
				    e->seq, "%.*s: %s", (int)e->type_len,
				    e->type, why);
		}

		struct seg *sg = NULL;

		for (size_t k = 0; k < g->n_segs; k++)
			if (memcmp(g->segs[k].origin, e->origin, SL_KEY_LEN) == 0)
				sg = &g->segs[k];
		if (sg == NULL) {
			sg = &g->segs[g->n_segs++];
			sg->origin = e->origin;
			sg->first = sg->last = i;
		} else {
			const struct sl_event *p = &g->evs[sg->last];

			if (e->seq != p->seq + 1)
				return refuse(res, e->seq > p->seq ? SL_EGAP :
				    SL_EINVAL, i, e->origin, e->seq,
				    "follows seq %llu in the batch",
				    (unsigned long long)p->seq);
			if (memcmp(e->prev, g->hash[sg->last], SL_HASH_LEN) != 0)
				return refuse(res, SL_ECHAIN, i, e->origin,
				    e->seq, "%s", sl_strerror(SL_ECHAIN));
			if (e->hlc <= p->hlc)
				return refuse(res, SL_ECLOCK, i, e->origin,
				    e->seq, "its clock is not after seq %llu's",
				    (unsigned long long)p->seq);
			g->next[sg->last] = i;
			sg->last = i;
		}
		if (e->sig != NULL) {
			if (!sl_verify_hash(e->sig, e->origin, g->hash[i]))
				return refuse(res, SL_ESIG, i, e->origin, e->seq,
				    "%s", sl_strerror(SL_ESIG));
		} else if (e->seq % SL_SIGN_INTERVAL == 0) {
			return refuse(res, SL_EUNSIGNED, i, e->origin, e->seq,
			    "seq divisible by %d must be signed",
			    SL_SIGN_INTERVAL);
		}
	}
	for (size_t k = 0; k < g->n_segs; k++) {
		const struct sl_event *l = &g->evs[g->segs[k].last];

		if (l->sig == NULL)
			return refuse(res, SL_EUNSIGNED, g->segs[k].last,
			    l->origin, l->seq, "the batch does not end this "
			    "origin's events on a signed one");
	}
	return SL_OK;
}

/* True if the stored record at (idx, seq) has exactly header hdr;
 * *bodyless if that stored copy has lost its body; *opens how many
 * openings it has. */
static int
same_as_stored(MDB_txn *txn, const struct origin_entry *o,
    const struct sl_event *e, bool *same, bool *bodyless, uint32_t *opens)
{
	uint8_t kb[8];
	MDB_val k = seq_key(kb, e->seq), d;
	struct sl_event old;
	int rc = mdb_get(txn, o->dbi, &k, &d);

	if (rc != 0)
		return rc;
	if (sl_event_decode(&old, d.mv_data, d.mv_size) != SL_OK)
		return MDB_CORRUPTED;
	*same = old.hdr_len == e->hdr_len &&
	    memcmp(old.hdr, e->hdr, e->hdr_len) == 0;
	*bodyless = old.payload == NULL;
	*opens = old.n_opens;
	return 0;
}

/* Does e carry every opening the held copy has?  (A fuller copy
 * replaces the held one only then: two relays may have dropped
 * different ones.) */
static bool
opens_cover(const struct sl_event *held, const struct sl_event *e)
{
	struct sl_mp m;
	uint32_t n;

	if (held->opens == NULL)
		return true;
	sl_mp_init(&m, held->opens, held->opens_len);
	if (sl_mp_read_array(&m, &n, SL_OPENS_MAX) != SL_OK)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		const char *key;
		const uint8_t *fs, *v, *ov;
		uint32_t kl;
		size_t vl, ovl;

		if (sl_opening_read(&m, &key, &kl, &fs, &v, &vl) != SL_OK ||
		    sl_event_opening(e, key, kl, &ov, &ovl) != SL_OK)
			return false;
	}
	return true;
}

struct explain_drop {
	struct store *s;
	MDB_txn *txn;
	const struct sl_event *ev;
	const uint8_t *hash;
};

static bool
explained_cb(void *ctx, const char *k, size_t kl)
{
	const struct explain_drop *x = ctx;

	return x->s->explain != NULL && x->s->explain(x->s->explain_ctx,
	    x->txn, x->ev, x->hash, k, kl);
}

/* Does ev (with its body) miss an opening that no erasure this node
 * holds explains?  Then a relay dropped it (PROTOCOL.md 5.1). */
static bool
gap_open(struct store *s, MDB_txn *txn, const struct sl_event *ev,
    const uint8_t hash[SL_HASH_LEN])
{
	const char *keys[SL_OPENS_MAX];
	uint32_t kl[SL_OPENS_MAX], n;

	/* No commitment's marker bytes, no commitment: no parse. */
	if (ev->payload == NULL || memmem(ev->payload, ev->payload_len,
	    "\xc4\x20", 2) == NULL)
		return false;
	if ((n = sl_event_erased(ev, keys, kl, SL_OPENS_MAX)) > SL_OPENS_MAX)
		return true;
	for (uint32_t i = 0; i < n; i++)
		if (s->explain == NULL || !s->explain(s->explain_ctx, txn, ev,
		    hash, keys[i], kl[i]))
			return true;
	return false;
}

/* (o, seq) goes in the gaps index. */
static int
gap_put(struct store *s, MDB_txn *txn, const struct origin_entry *o,
    uint64_t seq)
{
	uint8_t kb[LOG_KEY_LEN];
	MDB_val k = log_key(kb, o->idx, seq), d = { 0, NULL };

	return mdb_put(txn, s->gaps, &k, &d, 0);
}

/* Keeps the gaps index right for ev, just written as held at (o, seq). */
static int
gap_note(struct store *s, MDB_txn *txn, const struct origin_entry *o,
    const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN])
{
	uint8_t kb[LOG_KEY_LEN];
	MDB_val k = log_key(kb, o->idx, ev->seq);
	int rc;

	if (gap_open(s, txn, ev, hash))
		return gap_put(s, txn, o, ev->seq);
	rc = mdb_del(txn, s->gaps, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * e has the header of the copy held at (o, e->seq) and a body that checks.
 * If the held copy lost its body, or e carries every opening the held
 * copy has and more, the held copy gets e's body back, less the openings
 * an erasure took out (5.2); *done then.  The header and signature stay
 * the held copy's (the chain proved them; a copy's own signature was
 * never checked here), and so do its salt and payload (the payload hash
 * makes them e's).
 */
static int
refill_txn(struct store *s, MDB_txn *txn, const struct origin_entry *o,
    const struct sl_event *e, const uint8_t hash[SL_HASH_LEN], bool *done)
{
	struct explain_drop x = { s, txn, e, hash };
	struct sl_buf ob = { 0 };
	uint32_t dropped = 0;
	uint8_t kb[8], *nr;
	MDB_val key = seq_key(kb, e->seq), d;
	struct sl_event held, ne;
	size_t nl;
	int rc;

	*done = false;
	if (e->payload == NULL)
		return 0;
	if ((rc = mdb_get(txn, o->dbi, &key, &d)) != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;
	if (sl_event_decode(&held, d.mv_data, d.mv_size) != SL_OK)
		return MDB_CORRUPTED;
	if (held.hdr_len != e->hdr_len ||
	    memcmp(held.hdr, e->hdr, e->hdr_len) != 0)
		return 0;
	if (held.payload != NULL && (e->n_opens <= held.n_opens ||
	    !opens_cover(&held, e)))
		return 0;
	if (opens_without(e, explained_cb, &x, &ob, &dropped) != SL_OK) {
		free(ob.p);
		return ENOMEM;
	}
	if (held.payload != NULL && e->n_opens - dropped <= held.n_opens) {
		free(ob.p);
		return 0;
	}
	if ((nr = malloc(SL_EVENT_MAX)) == NULL) {
		free(ob.p);
		return ENOMEM;
	}
	nl = sl_record_encode_opens(nr, held.hdr, held.hdr_len, held.sig,
	    e->salt, e->payload, e->payload_len, ob.len ? ob.p : NULL, ob.len);
	MDB_val val = { nl, nr };

	rc = mdb_put(txn, o->dbi, &key, &val, 0);
	if (rc == 0 && sl_event_decode(&ne, nr, nl) == SL_OK) {
		if (s->hook != NULL)
			rc = s->hook(s->hook_ctx, txn, &ne, hash);
		if (rc == 0)
			rc = gap_note(s, txn, o, &ne, hash);
	}
	free(nr);
	free(ob.p);
	*done = rc == 0;
	return rc;
}

/* One ingest transaction.  Returns an LMDB code; refusals are reported in
 * res->code with the transaction aborted. */
static int
ingest_txn(struct store *s, struct ingest *g, struct store_ingest_result *res)
{
	uint8_t kb[8];
	MDB_txn *txn;
	uint64_t arrival = s->next_arrival, hlc = s->hlc;
	uint64_t cap = (sl_now_ms() + s->follow_ms) << 16;
	size_t added = 0, dups = 0, restored = 0, gaps = 0;
	/* The events added, as they came and are stored: for the
	 * write-ahead file.  Each origin's are the end of its run in the
	 * batch, so they still end on a signed one. */
	struct sl_buf wp = { 0 };
	int rc;

	if ((rc = txn_begin(s, 0, &txn)) != 0)
		return rc;
	for (size_t k = 0; k < g->n_segs; k++) {
		const struct seg *sg = &g->segs[k];
		struct origin_entry *o = origin_find(s, sg->origin);
		uint64_t tip = o != NULL ? o->tip.seq : 0;

		if (o != NULL && o->damaged) {
			refuse(res, SL_ESTORE, sg->first, sg->origin,
			    g->evs[sg->first].seq, "this origin's stored chain "
			    "is damaged at its tip");
			goto refused;
		}
		if (g->evs[sg->first].seq > tip + 1) {
			refuse(res, SL_EGAP, sg->first, sg->origin,
			    g->evs[sg->first].seq, "this node holds only up to "
			    "seq %llu of this origin", (unsigned long long)tip);
			goto refused;
		}
		for (size_t i = sg->first; i < g->n; i = g->next[i]) {
			const struct sl_event *e = &g->evs[i];

			/* An origin new to this node (o == NULL) has tip 0
			 * and decoded events start at seq 1: nothing of it
			 * is stored to compare with. */
			if (o != NULL && e->seq <= tip) {
				bool same, bodyless;
				uint32_t held_opens = 0;

				if ((rc = same_as_stored(txn, o, e, &same,
				    &bodyless, &held_opens)) != 0)
					goto fail;
				/* A copy that lost its body, or openings, in
				 * transit (a relay may drop them) gets them
				 * back: the payload hash and the commitments
				 * prove them.  Not those an erasure took out
				 * (5.2). */
				if (same && e->payload != NULL && (bodyless ||
				    e->n_opens > held_opens)) {
					bool done;

					if ((rc = refill_txn(s, txn, o, e,
					    g->hash[i], &done)) != 0)
						goto fail;
					if (done) {
						restored++;
						continue;
					}
				}
				if (same) {
					dups++;
					continue;
				}
				g->fork_at = i;
				refuse(res, SL_EFORK, i, e->origin, e->seq,
				    "differs from the event this node holds");
				goto refused;
			}
			if (o != NULL && e->seq == tip + 1 &&
			    e->hlc <= o->tip_hlc) {
				refuse(res, SL_ECLOCK, i, e->origin, e->seq,
				    "its clock is not after seq %llu's",
				    (unsigned long long)tip);
				goto refused;
			}
			if (e->seq > 1 && memcmp(e->prev, o->tip.hash,
			    SL_HASH_LEN) != 0) {
				g->fork_at = i;
				refuse(res, SL_EFORK, i, e->origin, e->seq,
				    "builds on a different seq %llu than the "
				    "one this node holds",
				    (unsigned long long)(e->seq - 1));
				goto refused;
			}
			if (o == NULL) {
				if ((o = origin_add(s, sg->origin)) == NULL) {
					rc = ENOMEM;
					goto fail;
				}
				if ((rc = origin_create(s, txn, o)) != 0)
					goto fail;
			}
			MDB_val key = seq_key(kb, e->seq);
			MDB_val val = { e->rec_len, (void *)e->rec };

			if ((rc = mdb_put(txn, o->dbi, &key, &val,
			    MDB_APPEND)) != 0 ||
			    (rc = arrival_put(s, txn, arrival++, o->idx,
			    e->seq)) != 0)
				goto fail;
			tip = o->tip.seq = e->seq;
			o->tip_hlc = e->hlc;
			memcpy(o->tip.hash, g->hash[i], SL_HASH_LEN);
			added++;
			wal_put_event(&wp, e->rec, e->rec_len);
			if (s->hook != NULL &&
			    (rc = s->hook(s->hook_ctx, txn, e, g->hash[i])) != 0)
				goto fail;
			/* A copy a relay stripped of an opening: asked for
			 * whole (the hook has folded any erasure before it). */
			if (gap_open(s, txn, e, g->hash[i])) {
				if ((rc = gap_put(s, txn, o, e->seq)) != 0)
					goto fail;
				gaps++;
			}
			uint64_t eh = e->hlc < cap ? e->hlc : cap;

			if (eh > hlc)
				hlc = eh;
		}
	}
	/* A copy that got its openings back is not logged: as it came it
	 * may hold what an erasure took out (the store keeps it without),
	 * and the write-ahead file is no place for that.  That rare commit
	 * is made durable by a checkpoint. */
	rc = added > 0 && restored == 0 ? commit_logged(s, txn, &wp, added) :
	    commit_sync(s, txn);
	free(wp.p);
	wp.p = NULL;
	if (rc != 0)
		goto reload;
	s->next_arrival = arrival;
	s->hlc = hlc;
	s->events += added;
	res->added = added;
	res->duplicates = dups;
	res->restored = restored;
	res->gaps = gaps;
	return 0;
refused:
	rc = 0;
fail:
	mdb_txn_abort(txn);
reload:
	free(wp.p);
	store_reload(s);
	return rc;
}

/* Pages a database fills, in bytes, as txn sees it. */
static uint64_t
db_bytes(MDB_txn *txn, MDB_dbi dbi, uint64_t *entries)
{
	MDB_stat st;

	if (mdb_stat(txn, dbi, &st) != 0) {
		*entries = 0;
		return 0;
	}
	*entries = st.ms_entries;
	return (uint64_t)st.ms_psize * (st.ms_branch_pages + st.ms_leaf_pages +
	    st.ms_overflow_pages);
}

/*
 * Keeps the forked event and the rest of its origin's run in the batch,
 * up to the first signed event (the one that authenticates them), as
 * evidence: all of it, or, when it would take the forks database past
 * STORE_FORKS_MAX records or STORE_FORKS_BYTES, none (*kept false).
 */
static int
fork_keep_txn(struct store *s, const struct ingest *g, bool *kept)
{
	const struct sl_event *first = &g->evs[g->fork_at];
	const struct origin_entry *o = origin_find(s, first->origin);
	uint8_t kb[FORK_KEY_LEN];
	MDB_val k = { sizeof kb, kb }, d;
	uint64_t n = 0, bytes = 0, have_n, have_bytes;
	size_t i;
	MDB_txn *txn;
	int rc;

	*kept = false;
	if (o == NULL)
		return MDB_NOTFOUND;
	if ((rc = txn_begin(s, 0, &txn)) != 0)
		return rc;
	/* Only what is not kept yet counts against the caps: the same
	 * refusal again (sync stores a refused batch of frames again frame
	 * by frame) is kept already, and another run may share its first
	 * records. */
	for (i = g->fork_at; i < g->n; i = g->next[i]) {
		log_key(kb, o->idx, g->evs[i].seq);
		memcpy(kb + LOG_KEY_LEN, g->hash[i], SL_HASH_LEN);
		if ((rc = mdb_get(txn, s->forks, &k, &d)) == MDB_NOTFOUND) {
			n++;
			bytes += g->evs[i].rec_len + FORK_KEY_LEN;
		} else if (rc != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
		if (g->evs[i].sig != NULL)
			break;
	}
	if (n == 0) {
		mdb_txn_abort(txn);
		*kept = true;
		return 0;
	}
	have_bytes = db_bytes(txn, s->forks, &have_n);
	if (have_n + n > STORE_FORKS_MAX ||
	    have_bytes + bytes > STORE_FORKS_BYTES) {
		mdb_txn_abort(txn);
		return 0;
	}
	for (i = g->fork_at; i < g->n; i = g->next[i]) {
		const struct sl_event *e = &g->evs[i];

		log_key(kb, o->idx, e->seq);
		memcpy(kb + LOG_KEY_LEN, g->hash[i], SL_HASH_LEN);
		d = (MDB_val){ e->rec_len, (void *)e->rec };
		rc = mdb_put(txn, s->forks, &k, &d, MDB_NOOVERWRITE);
		if (rc != 0 && rc != MDB_KEYEXIST) {
			mdb_txn_abort(txn);
			return rc;
		}
		if (e->sig != NULL)
			break;
	}
	if ((rc = commit_sync(s, txn)) == 0)
		*kept = true;
	return rc;
}

int
store_ingest(struct store *s, const uint8_t *const *recs, const size_t *lens,
    size_t n, struct store_ingest_result *res)
{
	struct ingest g = { .n = n, .fork_at = n };
	bool kept = false;
	int rc;

	memset(res, 0, sizeof *res);
	if (n == 0)
		return SL_OK;
	g.evs = calloc(n, sizeof *g.evs);
	g.hash = malloc(n * sizeof *g.hash);
	g.next = malloc(n * sizeof *g.next);
	g.segs = malloc(n * sizeof *g.segs);
	if (g.evs == NULL || g.hash == NULL || g.next == NULL ||
	    g.segs == NULL) {
		rc = refuse(res, SL_ENOMEM, 0, NULL, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		g.evs[i].rec = recs[i];
		g.evs[i].rec_len = lens[i];
	}
	if ((rc = ingest_check(s, &g, res)) != SL_OK)
		goto out;
	for (;;) {
		rc = ingest_txn(s, &g, res);
		if (rc == 0 && res->code == SL_EFORK)
			rc = fork_keep_txn(s, &g, &kept);
		if (rc != MDB_MAP_FULL)
			break;
		if (store_grow(s) != SL_OK) {
			rc = refuse(res, SL_EFULL, 0, NULL, 0,
			    "the store is full (map at its limit)");
			goto out;
		}
		res->code = SL_OK;
	}
	if (rc != 0) {
		rc = refuse(res, rc == ENOSPC ? SL_EFULL : SL_ESTORE, 0, NULL, 0,
		    "cannot write: %s", mdb_strerror(rc));
	} else if ((rc = res->code) == SL_EFORK) {
		size_t l = strlen(res->reason);

		snprintf(res->reason + l, sizeof res->reason - l, "%s", kept ?
		    "; kept as evidence" : "; not kept: the fork evidence is "
		    "at its cap (10,000 records or 16 MiB)");
	}
out:
	free(g.evs);
	free(g.hash);
	free(g.next);
	free(g.segs);
	return rc;
}

/* ---- whole copies: openings a relay dropped -------------------------- */

static int
refill_one(struct store *s, MDB_txn *txn, const struct sl_event *e,
    const uint8_t hash[SL_HASH_LEN], bool *done)
{
	const struct origin_entry *o = origin_find(s, e->origin);

	*done = false;
	if (o == NULL || e->seq > o->tip.seq)
		return 0;
	/* refill_txn compares with the held copy itself. */
	return refill_txn(s, txn, o, e, hash, done);
}

int
store_refill(struct store *s, const uint8_t *const *recs, const size_t *lens,
    size_t n, size_t *refilled)
{
	struct sl_event *evs;
	uint8_t (*hash)[SL_HASH_LEN];
	size_t ok = 0, done_n;
	MDB_txn *txn;
	int rc;

	*refilled = 0;
	if (n == 0)
		return SL_OK;
	evs = calloc(n, sizeof *evs);
	hash = malloc(n * sizeof *hash);
	if (evs == NULL || hash == NULL) {
		free(evs);
		free(hash);
		return SL_ENOMEM;
	}
	/* What needs no store: a body that checks, with openings, and
	 * openings the content rules take. */
	for (size_t i = 0; i < n; i++) {
		struct sl_event *e = &evs[ok];
		char why[200];

		if (sl_event_decode(e, recs[i], lens[i]) != SL_OK ||
		    e->payload == NULL || e->n_opens == 0 ||
		    sl_event_check_payload(e) != SL_OK)
			continue;
		sl_event_hash(hash[ok], e);
		if (s->check != NULL && s->check(s->check_ctx, e->type,
		    e->type_len, e->entity, e->n_parents, e->payload,
		    e->payload_len, e->opens, e->opens_len, e->hlc, e->origin,
		    hash[ok], why, sizeof why) != SL_OK)
			continue;
		ok++;
	}
	for (;;) {
		done_n = 0;
		if ((rc = txn_begin(s, 0, &txn)) != 0)
			break;
		for (size_t i = 0; i < ok && rc == 0; i++) {
			bool done;

			rc = refill_one(s, txn, &evs[i], hash[i], &done);
			done_n += done;
		}
		if (rc == 0 && done_n == 0) {
			mdb_txn_abort(txn);
			break;
		}
		if ((rc = txn_end(s, txn, rc)) != MDB_MAP_FULL ||
		    store_grow(s) != SL_OK)
			break;
	}
	free(evs);
	free(hash);
	if (rc != 0) {
		store_reload(s);
		return rc == MDB_MAP_FULL || rc == ENOSPC ? SL_EFULL :
		    rc == ENOMEM ? SL_ENOMEM : SL_ESTORE;
	}
	*refilled = done_n;
	return SL_OK;
}

/* The gap at cursor key k, if its event is still held without an
 * opening no erasure explains: into out. */
static bool
gap_at(struct store *s, MDB_txn *txn, const MDB_val *k, struct store_gap *out)
{
	const struct origin_entry *o;
	const uint8_t *rec;
	size_t len;
	struct sl_event ev;

	if (k->mv_size != LOG_KEY_LEN || (o = origin_by_idx(s,
	    (uint32_t)sl_get_be(k->mv_data, 4))) == NULL)
		return false;
	out->seq = sl_get_be((const uint8_t *)k->mv_data + 4, 8);
	if (store_txn_event(s, txn, o->tip.origin, out->seq, &rec, &len) !=
	    SL_OK || sl_event_decode(&ev, rec, len) != SL_OK)
		return false;
	sl_event_hash(out->hash, &ev);
	memcpy(out->origin, o->tip.origin, SL_KEY_LEN);
	return gap_open(s, txn, &ev, out->hash);
}

/* Entries of one origin a round asks for, at most: a member that fills
 * the index with its own events, whose openings nobody has, cannot
 * crowd out the others'. */
#define GAPS_PER_ORIGIN 32

static uint64_t
gap_after(const struct store *s, uint32_t idx)
{
	for (size_t i = 0; i < s->ngpos; i++)
		if (s->gpos[i].idx == idx)
			return s->gpos[i].after;
	return 0;
}

static int
gap_after_set(struct store *s, uint32_t idx, uint64_t seq)
{
	for (size_t i = 0; i < s->ngpos; i++)
		if (s->gpos[i].idx == idx) {
			s->gpos[i].after = seq;
			return 0;
		}
	if (s->ngpos == s->capgpos) {
		size_t cap = s->capgpos ? s->capgpos * 2 : 8;
		struct gap_pos *g = realloc(s->gpos, cap * sizeof *g);

		if (g == NULL)
			return ENOMEM;
		s->gpos = g;
		s->capgpos = cap;
	}
	s->gpos[s->ngpos++] = (struct gap_pos){ idx, seq };
	return 0;
}

/* Up to max entries of origin o from the index into out, from the one
 * after the last asked for (gap_after) round to it; entries whose
 * copy is whole by now, or explained, leave the index.  Their count. */
static size_t
gaps_of(struct store *s, MDB_txn *txn, MDB_cursor *c,
    struct origin_entry *o, struct store_gap *out, size_t max)
{
	uint8_t kb[LOG_KEY_LEN];
	uint64_t after = gap_after(s, o->idx), seq;
	MDB_val k, d;
	size_t n = 0;
	bool round = false;
	int rc;

	k = log_key(kb, o->idx, after + 1);
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	while (n < max) {
		if (rc != 0 && rc != MDB_NOTFOUND)
			break;
		if (rc == MDB_NOTFOUND || k.mv_size != LOG_KEY_LEN ||
		    sl_get_be(k.mv_data, 4) != o->idx) {
			if (round || after == 0)
				break;
			round = true;  /* from the origin's first entry */
			k = log_key(kb, o->idx, 0);
			rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
			continue;
		}
		seq = sl_get_be((const uint8_t *)k.mv_data + 4, 8);
		if (round && seq > after)
			break;
		if (gap_at(s, txn, &k, &out[n])) {
			if (gap_after_set(s, o->idx, seq) != 0)
				break;
			n++;
		} else if (mdb_cursor_del(c, 0) != 0) {
			break;
		}
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	return n;
}

/* One round: the origins that have entries, from s->gap_origin round to
 * it, at most GAPS_PER_ORIGIN of each, up to max in all. */
static size_t
gaps_txn(struct store *s, MDB_txn *txn, struct store_gap *out, size_t max)
{
	uint8_t kb[LOG_KEY_LEN];
	uint32_t start = s->gap_origin, idx = start;
	MDB_cursor *c;
	MDB_val k, d;
	size_t n = 0, got;
	bool round = false;
	int rc;

	if (mdb_cursor_open(txn, s->gaps, &c) != 0)
		return 0;
	for (;;) {
		k = log_key(kb, idx, 0);
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND && !round) {
			round = true;
			rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
		}
		if (rc != 0 || k.mv_size != LOG_KEY_LEN)
			break;
		idx = (uint32_t)sl_get_be(k.mv_data, 4);
		if (round && idx >= start)
			break;
		struct origin_entry *o = origin_by_idx(s, idx);

		if (o == NULL) {
			/* No such origin: the entry means nothing. */
			if (mdb_cursor_del(c, 0) != 0)
				break;
			continue;
		}
		got = gaps_of(s, txn, c, o, out + n, max - n <
		    GAPS_PER_ORIGIN ? max - n : GAPS_PER_ORIGIN);
		n += got;
		if (n >= max) {
			/* Full: the next round starts with the next origin,
			 * or this one again if it was cut short. */
			s->gap_origin = got == GAPS_PER_ORIGIN ? idx + 1 : idx;
			break;
		}
		if (idx == UINT32_MAX)
			break;
		idx++;
	}
	mdb_cursor_close(c);
	return n;
}

size_t
store_gaps(struct store *s, struct store_gap *out, size_t max)
{
	uint32_t from = s->gap_origin;
	struct gap_pos *was = NULL;
	size_t nwas = s->ngpos;
	MDB_txn *txn;
	size_t n = 0;

	if (max == 0)
		return 0;
	if (nwas > 0 && (was = malloc(nwas * sizeof *was)) == NULL)
		return 0;
	if (nwas > 0)
		memcpy(was, s->gpos, nwas * sizeof *was);
	for (;;) {
		if (txn_begin(s, 0, &txn) != 0)
			break;
		/* A retry starts where this call did. */
		s->gap_origin = from;
		if (nwas > 0)
			memcpy(s->gpos, was, nwas * sizeof *was);
		s->ngpos = nwas;
		n = gaps_txn(s, txn, out, max);
		/* A commit that failed only leaves explained entries in the
		 * index for the next round. */
		if (commit_sync(s, txn) != MDB_MAP_FULL ||
		    store_grow(s) != SL_OK)
			break;
	}
	free(was);
	return n;
}

uint64_t
store_gap_count(struct store *s)
{
	MDB_txn *txn;
	MDB_stat st;
	uint64_t n = 0;

	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return 0;
	if (mdb_stat(txn, s->gaps, &st) == 0)
		n = st.ms_entries;
	mdb_txn_abort(txn);
	return n;
}

/* Once, for a store written before the gaps index: every event held
 * with a committed field and no opening for it goes in (store_gaps
 * weeds out those an erasure explains). */
static int
gaps_index_txn(struct store *s)
{
	MDB_txn *txn;
	uint64_t done;
	int rc;

	if ((rc = txn_begin(s, 0, &txn)) != 0)
		return rc;
	if ((rc = meta_get_u64(s, txn, "gaps", &done)) != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return rc;
	}
	for (size_t i = 0; i < s->n_orig && rc == MDB_NOTFOUND; i++) {
		const struct origin_entry *o = &s->orig[i];
		MDB_cursor *c;
		MDB_val k, d;
		int g;

		if ((g = mdb_cursor_open(txn, o->dbi, &c)) != 0) {
			rc = g;
			break;
		}
		for (g = mdb_cursor_get(c, &k, &d, MDB_FIRST); g == 0;
		    g = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
			struct sl_event ev;

			if (sl_event_decode(&ev, d.mv_data, d.mv_size) != SL_OK ||
			    ev.payload == NULL ||
			    sl_event_erased(&ev, NULL, NULL, 0) == 0)
				continue;
			if ((g = gap_put(s, txn, o, ev.seq)) != 0)
				break;
		}
		mdb_cursor_close(c);
		if (g != MDB_NOTFOUND) {
			rc = g;
			break;
		}
	}
	if (rc == MDB_NOTFOUND)
		rc = meta_put_u64(s, txn, "gaps", 1);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return commit_sync(s, txn);
}

static int
gaps_index_once(struct store *s)
{
	int rc;

	while ((rc = gaps_index_txn(s)) == MDB_MAP_FULL &&
	    store_grow(s) == SL_OK)
		;
	return rc;
}

/* ---- reading ---------------------------------------------------------- */

size_t
store_origin_count(const struct store *s)
{
	return s->n_orig;
}

const struct store_tip *
store_tip_at(const struct store *s, size_t i)
{
	return i < s->n_orig ? &s->orig[i].tip : NULL;
}

bool
store_key_pub(const struct store *s, uint8_t pub[SL_KEY_LEN])
{
	if (!s->has_key)
		return false;
	memcpy(pub, s->key.pub, SL_KEY_LEN);
	return true;
}

const struct store_tip *
store_tip_of(const struct store *s, const uint8_t origin[SL_KEY_LEN])
{
	const struct origin_entry *o = origin_find(s, origin);

	return o != NULL ? &o->tip : NULL;
}

uint64_t
store_event_count(const struct store *s)
{
	return s->events;
}

uint64_t
store_hlc(const struct store *s)
{
	return s->hlc;
}

size_t
store_map_size(struct store *s)
{
	MDB_envinfo info;

	return mdb_env_info(s->env, &info) == 0 ? info.me_mapsize : 0;
}

/* Entries in one database (0 if it cannot be read). */
static uint64_t
db_entries(struct store *s, MDB_dbi dbi)
{
	MDB_txn *txn;
	MDB_stat st;
	uint64_t n = 0;

	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return 0;
	if (mdb_stat(txn, dbi, &st) == 0)
		n = st.ms_entries;
	mdb_txn_abort(txn);
	return n;
}

int
store_keep_refused(struct store *s, const uint8_t from[SL_KEY_LEN],
    const uint8_t *rec, size_t len, int code, const char *reason)
{
	uint8_t kb[8 + SL_HASH_LEN];
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	MDB_txn *txn;
	uint64_t have_n, have_bytes;
	int rc;

	/* Evidence is bounded: a member sending junk forever must not fill
	 * the disk.  Past the cap refusals are still counted and logged. */
	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return SL_ESTORE;
	have_bytes = db_bytes(txn, s->refused, &have_n);
	mdb_txn_abort(txn);
	if (have_n >= STORE_REFUSED_MAX ||
	    have_bytes + len + sizeof kb > STORE_REFUSED_BYTES)
		return SL_EFULL;
	put_be64(kb, sl_now_ms());
	sl_sha256(kb + 8, rec, len);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint64(&pk, (uint64_t)code);
	sl_pack_bin(&pk, from, SL_KEY_LEN);
	sl_pack_cstr(&pk, reason);
	sl_pack_bin(&pk, rec, len);
	if (g.p == NULL)
		return SL_ENOMEM;
	MDB_val k = { sizeof kb, kb }, d = { g.len, g.p };

	for (;;) {
		if ((rc = txn_begin(s, 0, &txn)) != 0)
			break;
		rc = mdb_put(txn, s->refused, &k, &d, MDB_NOOVERWRITE);
		if (rc == 0 || rc == MDB_KEYEXIST)
			rc = commit_sync(s, txn);
		else
			mdb_txn_abort(txn);
		if (rc != MDB_MAP_FULL || store_grow(s) != SL_OK)
			break;
	}
	free(g.p);
	return rc == 0 ? SL_OK : rc == MDB_MAP_FULL ? SL_EFULL : SL_ESTORE;
}

uint64_t
store_refused_count(struct store *s)
{
	return db_entries(s, s->refused);
}

uint64_t
store_fork_count(struct store *s)
{
	return db_entries(s, s->forks);
}

int
store_txn_forks(struct store *s, MDB_txn *txn, const uint8_t *origin,
    uint64_t seq, store_fork_fn fn, void *ctx)
{
	const struct origin_entry *want = NULL;
	uint8_t kb[FORK_KEY_LEN];
	MDB_cursor *c;
	MDB_val k, d;
	int rc = 0, op = MDB_FIRST;

	/* One (origin, seq): from its first key on, while keys are its. */
	if (origin != NULL) {
		if ((want = origin_find(s, origin)) == NULL)
			return 0;
		k = log_key(kb, want->idx, seq);
		op = MDB_SET_RANGE;
	}
	if (mdb_cursor_open(txn, s->forks, &c) != 0)
		return SL_ESTORE;
	while (rc == 0 && mdb_cursor_get(c, &k, &d, op) == 0) {
		const uint8_t *kp = k.mv_data;
		const struct origin_entry *o;

		op = MDB_NEXT;
		if (want != NULL && (k.mv_size < LOG_KEY_LEN ||
		    memcmp(kp, kb, LOG_KEY_LEN) != 0))
			break;
		if (k.mv_size != FORK_KEY_LEN ||
		    (o = origin_by_idx(s,
		    (uint32_t)sl_get_be(kp, 4))) == NULL)
			continue;
		rc = fn(ctx, o->tip.origin, sl_get_be(kp + 4, 8), d.mv_data,
		    d.mv_size);
	}
	mdb_cursor_close(c);
	return rc;
}

bool
store_txn_fork_has(struct store *s, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    const uint8_t hash[SL_HASH_LEN])
{
	const struct origin_entry *o = origin_find(s, origin);
	uint8_t kb[FORK_KEY_LEN];
	MDB_val k = { sizeof kb, kb }, d;

	if (o == NULL)
		return false;
	log_key(kb, o->idx, seq);
	memcpy(kb + LOG_KEY_LEN, hash, SL_HASH_LEN);
	return mdb_get(txn, s->forks, &k, &d) == 0;
}

int
store_txn_fork_next(struct store *s, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    const uint8_t prev[SL_HASH_LEN], const uint8_t **rec, size_t *len)
{
	const struct origin_entry *o = origin_find(s, origin);
	uint8_t kb[FORK_KEY_LEN];
	MDB_cursor *c;
	MDB_val k, d;
	int rc = SL_ENOENT;

	if (o == NULL)
		return SL_ENOENT;
	k = log_key(kb, o->idx, seq);
	if (mdb_cursor_open(txn, s->forks, &c) != 0)
		return SL_ESTORE;
	/* Every record of (origin, seq), one per hash kept. */
	for (int op = MDB_SET_RANGE; mdb_cursor_get(c, &k, &d, op) == 0;
	    op = MDB_NEXT) {
		struct sl_event ev;

		if (k.mv_size != FORK_KEY_LEN ||
		    memcmp(k.mv_data, kb, LOG_KEY_LEN) != 0)
			break;
		if (sl_event_decode(&ev, d.mv_data, d.mv_size) == SL_OK &&
		    ev.prev != NULL && memcmp(ev.prev, prev, SL_HASH_LEN) == 0) {
			*rec = d.mv_data;
			*len = d.mv_size;
			rc = SL_OK;
			break;
		}
	}
	mdb_cursor_close(c);
	return rc;
}

int
store_event_get(struct store *s, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq, uint8_t **buf, size_t *len)
{
	const struct origin_entry *o = origin_find(s, origin);
	uint8_t kb[8];
	MDB_txn *txn;
	MDB_val k, d;
	int rc, ret = SL_ESTORE;

	*buf = NULL;
	*len = 0;
	if (o == NULL || seq == 0 || seq > o->tip.seq)
		return SL_ENOENT;
	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return SL_ESTORE;
	k = seq_key(kb, seq);
	rc = mdb_get(txn, o->dbi, &k, &d);
	if (rc == 0) {
		if ((*buf = malloc(d.mv_size)) != NULL) {
			memcpy(*buf, d.mv_data, d.mv_size);
			*len = d.mv_size;
			ret = SL_OK;
		} else {
			ret = SL_ENOMEM;
		}
	} else if (rc == MDB_NOTFOUND) {
		ret = SL_ENOENT;
	}
	mdb_txn_abort(txn);
	return ret;
}

int
store_scan(struct store *s, uint64_t after, store_event_fn fn, void *ctx)
{
	uint8_t kb[8];
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k = { 8, kb }, d, lv;
	int rc, ret = SL_OK;

	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return SL_ESTORE;
	if (mdb_cursor_open(txn, s->arrival, &c) != 0) {
		mdb_txn_abort(txn);
		return SL_ESTORE;
	}
	put_be64(kb, after + 1);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const struct origin_entry *o = d.mv_size == LOG_KEY_LEN ?
		    origin_by_idx(s, (uint32_t)sl_get_be(d.mv_data, 4)) : NULL;
		uint8_t sk[8];
		MDB_val lk;

		if (k.mv_size != 8 || o == NULL) {
			ret = SL_ESTORE;
			break;
		}
		lk = seq_key(sk, sl_get_be((const uint8_t *)d.mv_data + 4, 8));
		if (mdb_get(txn, o->dbi, &lk, &lv) != 0) {
			ret = SL_ESTORE;
			break;
		}
		if ((ret = fn(ctx, sl_get_be(k.mv_data, 8), lv.mv_data,
		    lv.mv_size)) != 0)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		ret = SL_ESTORE;
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return ret;
}

/* ---- verification ----------------------------------------------------- */

static int
vfail(struct store_verify_report *rep, int code, const uint8_t *origin,
    uint64_t seq, const char *why)
{
	char o[SL_NODE_ID_TEXT + 1];

	rep->code = code;
	rep->seq = seq;
	if (origin == NULL) {
		snprintf(rep->reason, sizeof rep->reason, "%s", why);
		return code;
	}
	memcpy(rep->origin, origin, SL_KEY_LEN);
	origin_text(o, origin);
	snprintf(rep->reason, sizeof rep->reason, "origin %s seq %llu: %s", o,
	    (unsigned long long)seq, why);
	return code;
}

/* Re-checks one origin's chain from seq 1 to its tip. */
static int
verify_origin(MDB_txn *txn, const struct origin_entry *o,
    struct store_verify_report *rep)
{
	uint8_t prev[SL_HASH_LEN], hash[SL_HASH_LEN];
	const uint8_t *pub = o->tip.origin;
	uint64_t seq = 0;
	bool last_signed = false;
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	if (mdb_cursor_open(txn, o->dbi, &c) != 0)
		return vfail(rep, SL_ESTORE, pub, 0, "cannot read the log");
	while ((rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) == 0) {
		struct sl_event e;
		uint64_t kseq = k.mv_size == 8 ? sl_get_be(k.mv_data, 8) : 0;
		int r;

		if (kseq != seq + 1) {
			vfail(rep, SL_EGAP, pub, kseq,
			    "events missing before this one");
			goto out;
		}
		if ((r = sl_event_decode(&e, d.mv_data, d.mv_size)) != SL_OK) {
			vfail(rep, r, pub, kseq, sl_strerror(r));
			goto out;
		}
		if (e.seq != kseq || memcmp(e.origin, pub, SL_KEY_LEN) != 0) {
			vfail(rep, SL_EORIGIN, pub, kseq, sl_strerror(SL_EORIGIN));
			goto out;
		}
		if ((r = sl_event_check_payload(&e)) != SL_OK) {
			vfail(rep, r, pub, kseq, sl_strerror(r));
			goto out;
		}
		if (e.seq > 1 && memcmp(e.prev, prev, SL_HASH_LEN) != 0) {
			vfail(rep, SL_ECHAIN, pub, kseq, sl_strerror(SL_ECHAIN));
			goto out;
		}
		sl_event_hash(hash, &e);
		last_signed = e.sig != NULL;
		if (e.sig != NULL) {
			if (!sl_verify_hash(e.sig, pub, hash)) {
				vfail(rep, SL_ESIG, pub, kseq, sl_strerror(SL_ESIG));
				goto out;
			}
			rep->signatures++;
		} else if (e.seq % SL_SIGN_INTERVAL == 0) {
			vfail(rep, SL_EUNSIGNED, pub, kseq,
			    "seq divisible by the signing interval is unsigned");
			goto out;
		}
		memcpy(prev, hash, SL_HASH_LEN);
		seq = kseq;
		rep->events++;
	}
	if (rc != MDB_NOTFOUND)
		vfail(rep, SL_ESTORE, pub, seq, mdb_strerror(rc));
	else if (seq != o->tip.seq || (seq > 0 &&
	    memcmp(prev, o->tip.hash, SL_HASH_LEN) != 0))
		vfail(rep, SL_ECHAIN, pub, seq,
		    "the chain does not end at the tip held in memory");
	else if (seq > 0 && !last_signed)
		vfail(rep, SL_EUNSIGNED, pub, seq, "the last event is not signed");
out:
	mdb_cursor_close(c);
	return rep->code;
}

int
store_verify(struct store *s, struct store_verify_report *rep)
{
	MDB_txn *txn;
	MDB_stat st;

	memset(rep, 0, sizeof *rep);
	rep->origins = s->n_orig;
	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return vfail(rep, SL_ESTORE, NULL, 0, "cannot read the store");
	for (size_t i = 0; i < s->n_orig && rep->code == SL_OK; i++)
		verify_origin(txn, &s->orig[i], rep);
	if (rep->code == SL_OK && (mdb_stat(txn, s->arrival, &st) != 0 ||
	    st.ms_entries != rep->events))
		vfail(rep, SL_ESTORE, NULL, 0,
		    "the arrival index does not cover the log");
	mdb_txn_abort(txn);
	return rep->code;
}

int
store_txn_event(struct store *s, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq, const uint8_t **rec,
    size_t *len)
{
	const struct origin_entry *o = origin_find(s, origin);
	uint8_t kb[8];
	MDB_val k, d;
	int rc;

	if (o == NULL)
		return SL_ENOENT;
	k = seq_key(kb, seq);
	if ((rc = mdb_get(txn, o->dbi, &k, &d)) != 0)
		return rc == MDB_NOTFOUND ? SL_ENOENT : SL_ESTORE;
	*rec = d.mv_data;
	*len = d.mv_size;
	return SL_OK;
}

int
store_txn_event_hash(struct store *s, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq, uint8_t hash[SL_HASH_LEN])
{
	const uint8_t *rec;
	size_t len;
	struct sl_event ev;
	int rc = store_txn_event(s, txn, origin, seq, &rec, &len);

	if (rc != SL_OK)
		return rc;
	if (sl_event_decode(&ev, rec, len) != SL_OK)
		return SL_ESTORE;
	sl_event_hash(hash, &ev);
	return SL_OK;
}

int
store_event_hash(struct store *s, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq, uint8_t hash[SL_HASH_LEN])
{
	MDB_txn *txn;
	int rc;

	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return SL_ESTORE;
	rc = store_txn_event_hash(s, txn, origin, seq, hash);
	mdb_txn_abort(txn);
	return rc;
}

int
store_sign_audit(struct store *s, const uint8_t hash[SL_HASH_LEN],
    uint8_t sig[SL_SIG_LEN])
{
	if (!s->has_key)
		return SL_EINVAL;
	sl_sign_audit(sig, &s->key, hash);
	return SL_OK;
}

int
store_sign_cert(struct store *s, const uint8_t hash[SL_HASH_LEN],
    uint8_t sig[SL_SIG_LEN])
{
	if (!s->has_key)
		return SL_EINVAL;
	sl_sign_cert(sig, &s->key, hash);
	return SL_OK;
}

int
store_meta_key(struct store *s, const char *name, uint8_t out[SL_KEY_LEN])
{
	MDB_txn *txn;
	MDB_val k = { strlen(name), (void *)name }, d;
	int rc;

	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return SL_ESTORE;
	rc = mdb_get(txn, s->meta, &k, &d);
	if (rc == 0 && d.mv_size == SL_KEY_LEN)
		memcpy(out, d.mv_data, SL_KEY_LEN);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return SL_ENOENT;
	return rc == 0 && d.mv_size == SL_KEY_LEN ? SL_OK : SL_ESTORE;
}

int
store_meta_key_put(struct store *s, const char *name,
    const uint8_t key[SL_KEY_LEN])
{
	MDB_txn *txn;
	MDB_val k = { strlen(name), (void *)name },
	    d = { SL_KEY_LEN, (void *)key };
	int rc;

	if (txn_begin(s, 0, &txn) != 0)
		return SL_ESTORE;
	if (key != NULL)
		rc = mdb_put(txn, s->meta, &k, &d, 0);
	else if ((rc = mdb_del(txn, s->meta, &k, NULL)) == MDB_NOTFOUND)
		rc = 0;
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc == MDB_MAP_FULL ? SL_EFULL : SL_ESTORE;
	}
	return commit_sync(s, txn) == 0 ? SL_OK : SL_ESTORE;
}

void
store_org_pub(struct store *s, uint8_t out[SL_KEY_LEN])
{
	if (store_meta_key(s, "org", out) != SL_OK && s->has_key)
		memcpy(out, s->key.pub, SL_KEY_LEN);
}

MDB_env *
store_env(struct store *s)
{
	return s->env;
}

int
store_read_begin(struct store *s, MDB_txn **txn)
{
	return txn_begin(s, MDB_RDONLY, txn) == 0 ? SL_OK : SL_ESTORE;
}

int
store_grow_map(struct store *s)
{
	return store_grow(s);
}

int
store_txn_scan(struct store *s, MDB_txn *txn, store_hook_fn fn, void *ctx,
    uint64_t *n)
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc, ret = 0;

	*n = 0;
	if ((rc = mdb_cursor_open(txn, s->arrival, &c)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) == 0) {
		const struct origin_entry *o = d.mv_size == LOG_KEY_LEN ?
		    origin_by_idx(s, (uint32_t)sl_get_be(d.mv_data, 4)) : NULL;
		uint8_t sk[8], hash[SL_HASH_LEN];
		MDB_val lk, lv;
		struct sl_event ev;

		if (o == NULL) {
			ret = MDB_CORRUPTED;
			break;
		}
		lk = seq_key(sk, sl_get_be((const uint8_t *)d.mv_data + 4, 8));
		if ((ret = mdb_get(txn, o->dbi, &lk, &lv)) != 0)
			break;
		if (sl_event_decode(&ev, lv.mv_data, lv.mv_size) != SL_OK) {
			ret = MDB_CORRUPTED;
			break;
		}
		sl_event_hash(hash, &ev);
		if ((ret = fn(ctx, txn, &ev, hash)) != 0)
			break;
		(*n)++;
	}
	mdb_cursor_close(c);
	if (ret == 0 && rc != MDB_NOTFOUND)
		ret = rc;
	return ret;
}

void
store_release_pages(struct store *s)
{
	const char *dir = NULL;
	char want[PATH_MAX], line[PATH_MAX + 128];
	FILE *f;

	/* LMDB does not say where its map is (mm_address is only set with
	 * MDB_FIXEDMAP), so find our data file's mapping by name. */
	if (mdb_env_get_path(s->env, &dir) != 0 || dir == NULL)
		return;
	snprintf(want, sizeof want, "%s/data.mdb", dir);
	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long lo, hi;
		char *path = strchr(line, '/');

		if (path == NULL)
			continue;
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(path, want) != 0 ||
		    sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
	}
	fclose(f);
}

/* mdb_reader_list's lines: "pid thread txnid", the txnid "-" for a
 * slot without a transaction. */
static int
reader_line_cb(const char *msg, void *ctx)
{
	int pid;
	unsigned long long txnid;

	if (sscanf(msg, "%d %*x %llu", &pid, &txnid) == 2 &&
	    pid == (int)getpid())
		(*(int *)ctx)++;
	return 0;
}

int
store_renew(struct store *s, char *err, size_t errlen)
{
	MDB_envinfo info;
	const char *p = NULL;
	char path[PATH_MAX];
	uint64_t hlc = s->hlc;
	MDB_txn *txn;
	struct stat was, is;
	int readers = 0, rc, fd;

	/* Until the close, a failure leaves the store as it was. */
	if (mdb_env_info(s->env, &info) != 0 ||
	    mdb_env_get_path(s->env, &p) != 0 || p == NULL ||
	    strlen(p) >= sizeof path || mdb_env_get_fd(s->env, &fd) != 0 ||
	    fstat(fd, &was) != 0) {
		set_err(err, errlen, "cannot find the store's file");
		return SL_ERETRY;
	}
	memcpy(path, p, strlen(p) + 1);
	/* The pin goes with the environment: first a checkpoint, so that
	 * the snapshot a crash goes back to is this one, pinned again
	 * below. */
	if (s->wal_pending || checkpoint(s) != 0) {
		set_err(err, errlen, "the store cannot be synced now");
		return SL_ERETRY;
	}
	pin_drop(s);
	if (mdb_reader_list(s->env, reader_line_cb, &readers) < 0 ||
	    readers != 0) {
		if (txn_begin(s, MDB_RDONLY, &s->pin) != 0)
			s->pin = NULL;
		set_err(err, errlen, "a read transaction is open");
		return SL_ERETRY;
	}
	mdb_env_close(s->env);
	if ((rc = env_open(s, path, info.me_mapsize)) != 0)
		goto fail;
	/* The file it had, not one put in its place meanwhile. */
	if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &is) != 0 ||
	    is.st_dev != was.st_dev || is.st_ino != was.st_ino) {
		set_err(err, errlen, "the store in %s is not the one this "
		    "samlogd opened", path);
		return SL_ESTORE;
	}
	if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != 0)
		goto fail;
	if ((rc = dbs_open(s, txn, 0)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0 || (rc = store_reload(s)) != 0 ||
	    (rc = txn_begin(s, MDB_RDONLY, &s->pin)) != 0)
		goto fail;
	/* The clock never goes back (a foreign clock may have moved it
	 * further than the tips say). */
	if (hlc > s->hlc)
		s->hlc = hlc;
	return SL_OK;
fail:
	set_err(err, errlen, "cannot open the store again: %s",
	    mdb_strerror(rc));
	return SL_ESTORE;
}

/* ---- invitations ------------------------------------------------------ */

int
store_invite_add(struct store *s, const uint8_t secret[STORE_SECRET_LEN],
    uint64_t expires_ms)
{
	uint8_t kb[SL_HASH_LEN], v[8];
	MDB_val k = { sizeof kb, kb }, d = { sizeof v, v };
	MDB_txn *txn;
	int rc;

	sl_sha256(kb, secret, STORE_SECRET_LEN);
	put_be64(v, expires_ms);
	for (;;) {
		if ((rc = txn_begin(s, 0, &txn)) != 0)
			break;
		/* Expired invitations go when a new one is made. */
		MDB_cursor *c;
		MDB_val ck, cd;

		if ((rc = mdb_cursor_open(txn, s->invites, &c)) == 0) {
			while (mdb_cursor_get(c, &ck, &cd, MDB_NEXT) == 0)
				if (cd.mv_size == 8 &&
				    sl_get_be(cd.mv_data, 8) < sl_now_ms())
					mdb_cursor_del(c, 0);
			mdb_cursor_close(c);
		}
		if (rc == 0)
			rc = mdb_put(txn, s->invites, &k, &d, 0);
		if ((rc = txn_end(s, txn, rc)) != MDB_MAP_FULL ||
		    store_grow(s) != SL_OK)
			break;
	}
	return rc == 0 ? SL_OK : SL_ESTORE;
}

int
store_invite_take(struct store *s, const uint8_t secret[STORE_SECRET_LEN],
    uint64_t now_ms, uint64_t *expires_ms)
{
	uint8_t kb[SL_HASH_LEN];
	MDB_val k = { sizeof kb, kb }, d;
	MDB_txn *txn;
	uint64_t exp = 0;
	int rc;

	sl_sha256(kb, secret, STORE_SECRET_LEN);
	if (txn_begin(s, 0, &txn) != 0)
		return SL_ESTORE;
	rc = mdb_get(txn, s->invites, &k, &d);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return SL_ENOENT;
	}
	if (rc != 0 || d.mv_size != 8) {
		mdb_txn_abort(txn);
		return SL_ESTORE;
	}
	exp = sl_get_be(d.mv_data, 8);
	if (expires_ms != NULL)
		*expires_ms = exp;
	/* Used or expired, it is gone: a secret never admits twice. */
	if (mdb_del(txn, s->invites, &k, NULL) != 0) {
		mdb_txn_abort(txn);
		return SL_ESTORE;
	}
	if (commit_sync(s, txn) != 0)
		return SL_ESTORE;
	return exp < now_ms ? SL_EVALUE : SL_OK;
}

size_t
store_invite_count(struct store *s, uint64_t now_ms)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, d;
	size_t n = 0;

	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return 0;
	if (mdb_cursor_open(txn, s->invites, &c) == 0) {
		while (mdb_cursor_get(c, &k, &d, MDB_NEXT) == 0)
			if (d.mv_size == 8 && sl_get_be(d.mv_data, 8) >= now_ms)
				n++;
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	return n;
}

/* ---- erasure (PROTOCOL.md 5.2) -------------------------------------------- */

int
store_write_begin(struct store *s, MDB_txn **txn)
{
	return txn_begin(s, 0, txn) == 0 ? SL_OK : SL_ESTORE;
}

/* A copy of the openings of ev without those drop says to drop, into
 * out (an array, or empty when none is left); *n how many were dropped. */
static int
opens_without(const struct sl_event *ev,
    bool (*drop)(void *ctx, const char *k, size_t kl), void *ctx,
    struct sl_buf *out, uint32_t *n)
{
	struct sl_mp m;
	uint32_t cnt, kept = 0;
	msgpack_packer pk;

	out->len = 0;
	*n = 0;
	if (ev->opens == NULL)
		return SL_OK;
	msgpack_packer_init(&pk, out, sl_buf_write);
	msgpack_pack_array(&pk, 0); /* patched below: at most 15 */
	sl_mp_init(&m, ev->opens, ev->opens_len);
	if (sl_mp_read_array(&m, &cnt, SL_OPENS_MAX) != SL_OK)
		return SL_ESTORE;
	for (uint32_t i = 0; i < cnt; i++) {
		const uint8_t *start = m.p, *fs, *v;
		const char *k;
		uint32_t kl;
		size_t vl;

		if (sl_opening_read(&m, &k, &kl, &fs, &v, &vl) != SL_OK)
			return SL_ESTORE;
		if (drop(ctx, k, kl)) {
			(*n)++;
			continue;
		}
		sl_buf_write(out, (const char *)start, (size_t)(m.p - start));
		kept++;
	}
	if (out->failed)
		return SL_ENOMEM;
	if (kept == 0)
		out->len = 0;
	else
		out->p[0] = (uint8_t)(0x90 | kept);
	return SL_OK;
}

int
store_txn_drop_opens(struct store *s, MDB_txn *txn,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq,
    bool (*drop)(void *ctx, const char *k, size_t kl), void *ctx,
    uint32_t *dropped)
{
	const struct origin_entry *o = origin_find(s, origin);
	uint8_t kb[8], *rec;
	MDB_val k = seq_key(kb, seq), d;
	struct sl_event ev;
	struct sl_buf opens = { 0 };
	int rc;

	*dropped = 0;
	if (o == NULL)
		return SL_ENOENT;
	if ((rc = mdb_get(txn, o->dbi, &k, &d)) != 0)
		return rc == MDB_NOTFOUND ? SL_ENOENT : SL_ESTORE;
	if (sl_event_decode(&ev, d.mv_data, d.mv_size) != SL_OK)
		return SL_ESTORE;
	if ((rc = opens_without(&ev, drop, ctx, &opens, dropped)) != SL_OK ||
	    *dropped == 0) {
		free(opens.p);
		return rc;
	}
	if ((rec = malloc(SL_EVENT_MAX)) == NULL) {
		free(opens.p);
		return SL_ENOMEM;
	}
	size_t len = sl_record_reopen(rec, &ev, opens.len ? opens.p : NULL,
	    opens.len);
	MDB_val nv = { len, rec };

	/* The new record is shorter: LMDB writes it in place or on a fresh
	 * page; either way the old bytes leave the live tree, and the
	 * compaction (store_compact) takes them off the free pages. */
	rc = mdb_put(txn, o->dbi, &k, &nv, 0);
	free(rec);
	free(opens.p);
	return rc == 0 ? SL_OK : rc == MDB_MAP_FULL ? SL_EFULL : SL_ESTORE;
}

/* If rec (with a body) is an event of record id, or creates it: its
 * header and signature alone, into out; their length, else 0. */
static size_t
bare_about(const uint8_t *rec, size_t len, const uint8_t id[SL_ID_LEN],
    uint8_t out[SL_HEADER_MAX + 128])
{
	struct sl_event ev;
	uint8_t h[SL_HASH_LEN], eid[SL_ID_LEN];

	if (sl_event_decode(&ev, rec, len) != SL_OK || ev.salt == NULL)
		return 0;
	sl_event_hash(h, &ev);
	sl_entity_id(eid, h);
	if (!(ev.entity != NULL && memcmp(ev.entity, id, SL_ID_LEN) == 0) &&
	    memcmp(eid, id, SL_ID_LEN) != 0)
		return 0;
	return sl_record_encode(out, ev.hdr, ev.hdr_len, ev.sig, NULL, NULL, 0);
}

/* Evidence about the record id keeps its header and signature only. */
static int
strip_db(MDB_txn *txn, MDB_dbi dbi, bool wrapped, const uint8_t id[SL_ID_LEN],
    uint64_t *n)
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *rec = d.mv_data;
		size_t len = d.mv_size, tl;
		struct sl_mp m;
		uint8_t tmp[SL_HEADER_MAX + 128];
		struct sl_buf g = { 0 };
		msgpack_packer pk;

		if (wrapped) {
			/* [code, from, reason, record] */
			uint32_t an;
			uint64_t code;
			const uint8_t *from, *r;
			const char *why;
			uint32_t fl, wl, rl;

			sl_mp_init(&m, rec, len);
			if (sl_mp_read_array(&m, &an, 4) != SL_OK || an != 4 ||
			    sl_mp_read_uint(&m, &code) != SL_OK ||
			    sl_mp_read_bin(&m, &from, &fl, SL_KEY_LEN,
			    SL_KEY_LEN) != SL_OK ||
			    sl_mp_read_str(&m, &why, &wl, 0, 65535) != SL_OK ||
			    sl_mp_read_bin(&m, &r, &rl, 0, SL_EVENT_MAX) !=
			    SL_OK)
				continue;
			if ((tl = bare_about(r, rl, id, tmp)) == 0)
				continue;
			msgpack_packer_init(&pk, &g, sl_buf_write);
			msgpack_pack_array(&pk, 4);
			msgpack_pack_uint64(&pk, code);
			sl_pack_bin(&pk, from, SL_KEY_LEN);
			sl_pack_str(&pk, why, wl);
			sl_pack_bin(&pk, tmp, tl);
		} else {
			if ((tl = bare_about(rec, len, id, tmp)) == 0)
				continue;
			sl_buf_write(&g, (const char *)tmp, tl);
		}
		if (g.failed) {
			free(g.p);
			mdb_cursor_close(c);
			return ENOMEM;
		}
		MDB_val nv = { g.len, g.p };

		rc = mdb_cursor_put(c, &k, &nv, MDB_CURRENT);
		free(g.p);
		if (rc != 0) {
			mdb_cursor_close(c);
			return rc;
		}
		(*n)++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
store_txn_strip_evidence(struct store *s, MDB_txn *txn,
    const uint8_t id[SL_ID_LEN], uint64_t *n)
{
	int rc;

	*n = 0;
	if ((rc = strip_db(txn, s->refused, true, id, n)) != 0 ||
	    (rc = strip_db(txn, s->forks, false, id, n)) != 0)
		return rc == MDB_MAP_FULL ? SL_EFULL : SL_ESTORE;
	return SL_OK;
}

int
store_txn_erasure_mark(struct store *s, MDB_txn *txn,
    const uint8_t hash[SL_HASH_LEN], uint64_t ms)
{
	uint8_t v[8];
	MDB_val k = { SL_HASH_LEN, (void *)hash }, d = { sizeof v, v };
	int rc;

	put_be64(v, ms);
	rc = mdb_put(txn, s->erasures, &k, &d, 0);
	return rc == 0 ? SL_OK : rc == MDB_MAP_FULL ? SL_EFULL : SL_ESTORE;
}

uint64_t
store_txn_erasure_applied(struct store *s, MDB_txn *txn,
    const uint8_t hash[SL_HASH_LEN])
{
	MDB_val k = { SL_HASH_LEN, (void *)hash }, d;

	if (mdb_get(txn, s->erasures, &k, &d) != 0 || d.mv_size != 8)
		return 0;
	return sl_get_be(d.mv_data, 8);
}

/* The erasure's "took something out here" mark: its hash and 'a'. */
static MDB_val
acted_key(uint8_t kb[SL_HASH_LEN + 1], const uint8_t hash[SL_HASH_LEN])
{
	memcpy(kb, hash, SL_HASH_LEN);
	kb[SL_HASH_LEN] = 'a';
	return (MDB_val){ SL_HASH_LEN + 1, kb };
}

int
store_txn_erasure_acted(struct store *s, MDB_txn *txn,
    const uint8_t hash[SL_HASH_LEN])
{
	uint8_t kb[SL_HASH_LEN + 1];
	MDB_val k = acted_key(kb, hash), d = { 0, NULL };
	int rc = mdb_put(txn, s->erasures, &k, &d, 0);

	return rc == 0 ? SL_OK : rc == MDB_MAP_FULL ? SL_EFULL : SL_ESTORE;
}

bool
store_txn_erasure_took(struct store *s, MDB_txn *txn,
    const uint8_t hash[SL_HASH_LEN])
{
	uint8_t kb[SL_HASH_LEN + 1];
	MDB_val k = acted_key(kb, hash), d;

	return store_txn_erasure_applied(s, txn, hash) != 0 ||
	    mdb_get(txn, s->erasures, &k, &d) == 0;
}

/* path with suffix, in buf. */
static const char *
path_with(char *buf, size_t len, const char *path, const char *suffix)
{
	snprintf(buf, len, "%s%s", path, suffix);
	return buf;
}

/* Removes dir's files (the data file's and the write-ahead file's bytes
 * overwritten with zeros first, when scrub) and dir itself. */
static int
dir_remove(const char *dir, bool scrub)
{
	static const char *const files[] = { "data.mdb", "lock.mdb",
		WAL_FILE };
	char f[PATH_MAX + 16];

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(f, sizeof f, "%s/%s", dir, files[i]);
		if (scrub && i != 1) { /* the events' bytes: not lock.mdb */
			int fd = open(f, O_WRONLY);
			struct stat st;

			if (fd >= 0 && fstat(fd, &st) == 0) {
				static const uint8_t zero[65536];
				off_t off = 0;

				while (off < st.st_size) {
					size_t n = (size_t)(st.st_size - off) <
					    sizeof zero ? (size_t)(st.st_size -
					    off) : sizeof zero;
					ssize_t w = pwrite(fd, zero, n, off);

					if (w <= 0)
						break;
					off += w;
				}
				(void)fsync(fd);
			}
			if (fd >= 0)
				close(fd);
		}
		if (unlink(f) != 0 && errno != ENOENT)
			return -1;
	}
	return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

int
store_txn_scrub_owed(struct store *s, MDB_txn *txn)
{
	int rc = meta_put_u64(s, txn, "scrub", 1);

	return rc == 0 ? SL_OK : rc == MDB_MAP_FULL ? SL_EFULL : SL_ESTORE;
}

bool
store_scrub_owed(struct store *s)
{
	return meta_read_u64(s, "scrub", 0) != 0;
}

/* A compaction that failed is owed still, and may be tried at once. */
static void
scrub_still_owed(struct store *s)
{
	MDB_txn *txn;

	if (txn_begin(s, 0, &txn) != 0)
		return;
	if (meta_put_u64(s, txn, "scrub", 1) == 0 &&
	    meta_put_u64(s, txn, "compacted", 0) == 0)
		(void)commit_sync(s, txn);
	else
		mdb_txn_abort(txn);
}

int
store_remove_scrubbed(const char *dir)
{
	return dir_remove(dir, true) == 0 ? SL_OK : SL_EIO;
}

uint64_t
store_compacted_at(struct store *s)
{
	return meta_read_u64(s, "compacted", 0);
}

uint64_t
store_compact_every(struct store *s)
{
	uint64_t v = meta_read_u64(s, "compact_every", 0);

	return v < STORE_COMPACT_MIN_MS ? STORE_COMPACT_MIN_MS : v;
}

int
store_compact(struct store *s, const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX], ready[PATH_MAX], f[PATH_MAX + 16];
	MDB_txn *txn;
	int rc, fd;

	/* When, in the copy: the next start knows how long ago it was,
	 * and how long to wait before the next (store_compact_every); the
	 * copy owes no compaction. */
	if (txn_begin(s, 0, &txn) == 0) {
		uint64_t now = sl_now_ms(), last = 0, every = 0;

		(void)meta_get_u64(s, txn, "compacted", &last);
		if (meta_get_u64(s, txn, "compact_every", &every) != 0 ||
		    every < STORE_COMPACT_MIN_MS)
			every = STORE_COMPACT_MIN_MS;
		/* Erasures keep coming (the last compaction was less than
		 * an hour ago): wait twice as long each time; after a quiet
		 * hour, a minute again. */
		if (last != 0 && now >= last && now - last <
		    STORE_COMPACT_MAX_MS)
			every = every * 2 < STORE_COMPACT_MAX_MS ? every * 2 :
			    STORE_COMPACT_MAX_MS;
		else
			every = STORE_COMPACT_MIN_MS;
		if (meta_put_u64(s, txn, "compacted", now) == 0 &&
		    meta_put_u64(s, txn, "compact_every", every) == 0 &&
		    meta_put_u64(s, txn, "scrub", 0) == 0)
			(void)commit_sync(s, txn);
		else
			mdb_txn_abort(txn);
	}

	path_with(tmp, sizeof tmp, path, ".compact");
	path_with(ready, sizeof ready, path, ".ready");
	if (dir_remove(tmp, false) != 0 || mkdir(tmp, 0700) != 0) {
		set_err(err, errlen, "cannot make %s: %s", tmp,
		    strerror(errno));
		return SL_EIO;
	}
	if ((rc = mdb_env_copy2(s->env, tmp, MDB_CP_COMPACT)) != 0) {
		set_err(err, errlen, "cannot copy the store: %s",
		    mdb_strerror(rc));
		(void)dir_remove(tmp, true);
		scrub_still_owed(s);
		return SL_ESTORE;
	}
	snprintf(f, sizeof f, "%s/data.mdb", tmp);
	if ((fd = open(f, O_RDONLY)) < 0 || fchmod(fd, 0600) != 0 ||
	    fsync(fd) != 0) {
		set_err(err, errlen, "cannot write %s: %s", f,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		(void)dir_remove(tmp, true);
		scrub_still_owed(s);
		return SL_EIO;
	}
	close(fd);
	/* The finished copy's name says it is whole: store_swap takes it. */
	if (rename(tmp, ready) != 0) {
		set_err(err, errlen, "cannot rename %s: %s", tmp,
		    strerror(errno));
		(void)dir_remove(tmp, true);
		scrub_still_owed(s);
		return SL_EIO;
	}
	return SL_OK;
}

int
store_swap(const char *path, bool *swapped, char *err, size_t errlen)
{
	char ready[PATH_MAX], old[PATH_MAX], tmp[PATH_MAX];

	*swapped = false;
	path_with(ready, sizeof ready, path, ".ready");
	path_with(old, sizeof old, path, ".old");
	path_with(tmp, sizeof tmp, path, ".compact");
	(void)dir_remove(tmp, true); /* a copy cut short */
	if (access(ready, F_OK) == 0) {
		if (access(path, F_OK) == 0 && rename(path, old) != 0) {
			set_err(err, errlen, "cannot rename %s: %s", path,
			    strerror(errno));
			return SL_EIO;
		}
		if (rename(ready, path) != 0) {
			set_err(err, errlen, "cannot rename %s: %s", ready,
			    strerror(errno));
			return SL_EIO;
		}
		*swapped = true;
	}
	if (access(old, F_OK) == 0 && dir_remove(old, true) != 0) {
		set_err(err, errlen, "cannot remove %s: %s", old,
		    strerror(errno));
		return SL_EIO;
	}
	return SL_OK;
}

int
store_copy_fd(struct store *s, int fd, char *err, size_t errlen)
{
	int rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);

	if (rc != 0) {
		set_err(err, errlen, "cannot copy the store: %s",
		    mdb_strerror(rc));
		return SL_ESTORE;
	}
	return SL_OK;
}

void
store_set_no_appends(struct store *s, bool on)
{
	s->no_appends = on;
}
