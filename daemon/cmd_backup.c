/*
 * cmd_backup.c - samlog backup FILE: a consistent online copy of the
 * node, as a tar archive that samlog restore (or tar) unpacks:
 *
 *     samlog-backup/node.key      the node's key
 *     samlog-backup/samlog.conf   its configuration
 *     samlog-backup/store/data.mdb  the store, compacted (live pages
 *                                 only: no erased value on a free page)
 *     samlog-backup/MANIFEST      what it is, and the SHA-256 of each
 *                                 other member
 *
 * The copy is one read transaction's snapshot (LMDB's compacting copy),
 * taken while the daemon goes on.  Once written and synced, the archive
 * is read back: the manifest's digest must match, and the store it holds
 * must open and verify (every chain and signature) with the number of
 * events the node had.  Only then does the command say it is done; a
 * failed backup leaves no file.
 *
 * The daemon writes FILE itself (its absolute path, given by the CLI),
 * created new and readable by its owner only: it holds the node's key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd_int.h"

#define BACKUP_DIR "samlog-backup/"

/* Zeros: a header to fill in later, and an archive's two end blocks. */
static const uint8_t end_blocks[2 * SL_TAR_BLOCK];

static bool
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

static bool
pad_block(int fd, uint64_t size)
{
	static const uint8_t zero[SL_TAR_BLOCK];
	size_t pad = (size_t)((SL_TAR_BLOCK - size % SL_TAR_BLOCK) %
	    SL_TAR_BLOCK);

	return pad == 0 || write_all(fd, zero, pad);
}

/* One archive member from memory. */
static bool
put_member(int fd, const char *name, const void *p, size_t n, uint64_t now)
{
	uint8_t h[SL_TAR_BLOCK];

	return sl_tar_header(h, name, n, 0600, now) == SL_OK &&
	    write_all(fd, h, sizeof h) && write_all(fd, p, n) &&
	    pad_block(fd, n);
}

/* A small file of the node directory, whole, into *buf (caller frees). */
static int
slurp(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	*buf = NULL;
	*len = 0;
	if (f == NULL)
		return errno == ENOENT ? SL_ENOENT : SL_EIO;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    n > (1L << 20) || fseek(f, 0, SEEK_SET) != 0 ||
	    (*buf = malloc((size_t)n + 1)) == NULL ||
	    fread(*buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(*buf);
		*buf = NULL;
		return SL_EIO;
	}
	fclose(f);
	*len = (size_t)n;
	return SL_OK;
}

/* SHA-256 of fd's bytes [off, off + n), and, when out >= 0, a copy of
 * them into out. */
static bool
digest_range(int fd, off_t off, uint64_t n, uint8_t h[SL_HASH_LEN], int out)
{
	crypto_hash_sha256_state st;
	uint8_t *buf = malloc(1 << 20);

	if (buf == NULL)
		return false;
	crypto_hash_sha256_init(&st);
	while (n > 0) {
		size_t want = n < (1u << 20) ? (size_t)n : (1u << 20);
		ssize_t r = pread(fd, buf, want, off);

		if (r <= 0 || (out >= 0 && !write_all(out, buf, (size_t)r))) {
			free(buf);
			return false;
		}
		crypto_hash_sha256_update(&st, buf, (size_t)r);
		off += r;
		n -= (uint64_t)r;
	}
	crypto_hash_sha256_final(&st, h);
	free(buf);
	return true;
}

/* Reads the archive back: its members in order, the data file's digest
 * against the manifest's, and the store it holds opened and verified. */
static int
backup_check(struct cmd_ctx *d, int fd, uint64_t want_events,
    char *msg, size_t mlen)
{
	uint8_t h[SL_TAR_BLOCK], dh[SL_HASH_LEN];
	char name[100], type, tmp[PATH_MAX], data[PATH_MAX + 16];
	char hex[2 * SL_HASH_LEN + 1], want[2 * SL_HASH_LEN + 1] = "";
	off_t off = 0, data_off = -1;
	uint64_t size, data_size = 0;
	struct store *s2 = NULL;
	struct store_verify_report rep;
	int rc = SL_EIO, out;

	for (;;) {
		if (pread(fd, h, sizeof h, off) != (ssize_t)sizeof h)
			return cmd_fail(msg, mlen, SL_EIO, "the backup reads back "
			    "short at byte %lld", (long long)off);
		if ((rc = sl_tar_parse(h, name, &size, &type)) == SL_ENOENT)
			break;
		if (rc != SL_OK || type != '0')
			return cmd_fail(msg, mlen, SL_EIO, "the backup reads back "
			    "wrong at byte %lld", (long long)off);
		off += SL_TAR_BLOCK;
		if (strcmp(name, BACKUP_DIR "store/data.mdb") == 0) {
			data_off = off;
			data_size = size;
		} else if (strcmp(name, BACKUP_DIR "MANIFEST") == 0 &&
		    size < 4096) {
			char m[4096];
			const char *p;

			if (pread(fd, m, size, off) != (ssize_t)size)
				return cmd_fail(msg, mlen, SL_EIO, "the backup's "
				    "manifest reads back short");
			m[size] = '\0';
			if ((p = strstr(m, "data_sha256 ")) != NULL)
				snprintf(want, sizeof want, "%.64s", p + 12);
		}
		off += (off_t)((size + SL_TAR_BLOCK - 1) / SL_TAR_BLOCK *
		    SL_TAR_BLOCK);
	}
	if (data_off < 0 || want[0] == '\0')
		return cmd_fail(msg, mlen, SL_EIO, "the backup reads back without "
		    "its store or its manifest");
	/* The data file, copied out to be opened on its own. */
	snprintf(tmp, sizeof tmp, "%s/backup-check.%ld", d->dir,
	    (long)getpid());
	snprintf(data, sizeof data, "%s/data.mdb", tmp);
	if (mkdir(tmp, 0700) != 0 ||
	    (out = open(data, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0) {
		rc = cmd_fail(msg, mlen, SL_EIO, "cannot check the backup in "
		    "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (!digest_range(fd, data_off, data_size, dh, out)) {
		close(out);
		rc = cmd_fail(msg, mlen, SL_EIO, "the backup's store reads back "
		    "short");
		goto out;
	}
	close(out);
	sl_hex_encode(hex, dh, SL_HASH_LEN);
	if (strcmp(hex, want) != 0) {
		rc = cmd_fail(msg, mlen, SL_EIO, "the backup's store does not "
		    "match its manifest's digest");
		goto out;
	}
	if (store_open(&s2, tmp, NULL, NULL, msg, mlen) != SL_OK) {
		rc = SL_ESTORE;
		goto out;
	}
	if (store_verify(s2, &rep) != SL_OK) {
		rc = cmd_fail(msg, mlen, SL_ESTORE, "the backup's store does not "
		    "verify: %s", rep.reason);
		goto out;
	}
	if (rep.events != want_events) {
		rc = cmd_fail(msg, mlen, SL_ESTORE, "the backup's store holds "
		    "%llu events, the node %llu", (unsigned long long)rep.events,
		    (unsigned long long)want_events);
		goto out;
	}
	rc = SL_OK;
out:
	if (s2 != NULL)
		store_close(s2);
	snprintf(data, sizeof data, "%s/data.mdb", tmp);
	(void)unlink(data);
	snprintf(data, sizeof data, "%s/lock.mdb", tmp);
	(void)unlink(data);
	snprintf(data, sizeof data, "%s/wal", tmp);
	(void)unlink(data);
	(void)rmdir(tmp);
	return rc;
}

int
cmd_backup(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen)
{
	static const char *const allowed[] = { "id", NULL };
	char file[PATH_MAX], path[PATH_MAX + 32], man[1280];
	char hex[2 * SL_HASH_LEN + 1], node[SL_NODE_ID_TEXT + 1], when[40];
	char khex[2 * SL_HASH_LEN + 1], chex[2 * SL_HASH_LEN + 1];
	uint8_t h[SL_TAR_BLOCK], dh[SL_HASH_LEN], *kb = NULL, *cb = NULL;
	size_t kl = 0, cl = 0;
	uint64_t now = (uint64_t)time(NULL), events = store_event_count(d->s);
	off_t hoff, end;
	int fd = -1, rc;

	if ((rc = cmd_args_only(a, allowed, msg, mlen)) != SL_OK)
		return rc;
	if (!cmd_arg_str(a, "id", file, sizeof file) || file[0] != '/')
		return cmd_fail(msg, mlen, SL_EUSAGE, "backup needs a FILE (an "
		    "absolute path)");
	if (d->dir == NULL)
		return cmd_fail(msg, mlen, SL_ESTATE, "this daemon does not know "
		    "its node directory");
	snprintf(path, sizeof path, "%s/%s", d->dir, SL_NODE_KEY_FILE);
	if (slurp(path, &kb, &kl) != SL_OK) {
		rc = cmd_fail(msg, mlen, SL_EIO, "cannot read %s", path);
		goto out;
	}
	snprintf(path, sizeof path, "%s/%s", d->dir, SL_NODE_CONF_FILE);
	if (slurp(path, &cb, &cl) != SL_OK) {
		rc = cmd_fail(msg, mlen, SL_EIO, "cannot read %s", path);
		goto out;
	}
	if ((fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) <
	    0) {
		rc = cmd_fail(msg, mlen, SL_EIO, "cannot create %s: %s%s", file,
		    strerror(errno), errno == EEXIST ? " (a backup never "
		    "overwrites a file)" : errno == EACCES ? " (samlogd writes "
		    "it: give a place its user may write)" : "");
		goto out;
	}
	if (!put_member(fd, BACKUP_DIR "node.key", kb, kl, now) ||
	    !put_member(fd, BACKUP_DIR "samlog.conf", cb, cl, now) ||
	    (hoff = lseek(fd, 0, SEEK_CUR)) < 0 ||
	    !write_all(fd, end_blocks, SL_TAR_BLOCK)) {
		rc = cmd_fail(msg, mlen, SL_EIO, "cannot write %s: %s", file,
		    strerror(errno));
		goto fail;
	}
	/* The store: one snapshot, compacted, then its header. */
	if ((rc = store_copy_fd(d->s, fd, msg, mlen)) != SL_OK)
		goto fail;
	if ((end = lseek(fd, 0, SEEK_END)) < 0 ||
	    sl_tar_header(h, BACKUP_DIR "store/data.mdb",
	    (uint64_t)(end - hoff - SL_TAR_BLOCK), 0600, now) != SL_OK ||
	    pwrite(fd, h, sizeof h, hoff) != (ssize_t)sizeof h ||
	    !pad_block(fd, (uint64_t)(end - hoff - SL_TAR_BLOCK)) ||
	    !digest_range(fd, hoff + SL_TAR_BLOCK,
	    (uint64_t)(end - hoff - SL_TAR_BLOCK), dh, -1)) {
		rc = cmd_fail(msg, mlen, SL_EIO, "cannot write %s: %s", file,
		    strerror(errno));
		goto fail;
	}
	sl_hex_encode(hex, dh, SL_HASH_LEN);
	sl_b32_encode(node, d->node, SL_KEY_LEN);
	sl_hlc_format(when, sizeof when, sl_now_ms() << 16);
	{
		uint8_t kh[SL_HASH_LEN], ch[SL_HASH_LEN];

		sl_sha256(kh, kb, kl);
		sl_sha256(ch, cb, cl);
		sl_hex_encode(khex, kh, SL_HASH_LEN);
		sl_hex_encode(chex, ch, SL_HASH_LEN);
	}
	snprintf(man, sizeof man, "samlog backup 1\nnode_id %s\norg %s\n"
	    "events %llu\ntime %s\ndata_bytes %lld\ndata_sha256 %s\n"
	    "key_sha256 %s\nconf_sha256 %s\n", node, d->org,
	    (unsigned long long)events, when,
	    (long long)(end - hoff - SL_TAR_BLOCK), hex, khex, chex);
	if (!put_member(fd, BACKUP_DIR "MANIFEST", man, strlen(man), now) ||
	    !write_all(fd, end_blocks, sizeof end_blocks) || fsync(fd) != 0) {
		rc = cmd_fail(msg, mlen, SL_EIO, "cannot write %s: %s", file,
		    strerror(errno));
		goto fail;
	}
	if ((rc = backup_check(d, fd, events, msg, mlen)) != SL_OK)
		goto fail;
	end = lseek(fd, 0, SEEK_END);
	{
		struct sl_buf g = { 0 };
		msgpack_packer pk;

		msgpack_packer_init(&pk, &g, sl_buf_write);
		msgpack_pack_map(&pk, 5);
		sl_pack_cstr(&pk, "file");
		sl_pack_cstr(&pk, file);
		sl_pack_cstr(&pk, "bytes");
		msgpack_pack_uint64(&pk, (uint64_t)end);
		sl_pack_cstr(&pk, "events");
		msgpack_pack_uint64(&pk, events);
		sl_pack_cstr(&pk, "data_sha256");
		sl_pack_cstr(&pk, hex);
		sl_pack_cstr(&pk, "verified");
		msgpack_pack_true(&pk);
		if (!g.failed)
			ctl_send(c, SL_MSG_RECORD, id, g.p, g.len);
		free(g.p);
	}
	log_info("backup written to %s: %llu events, %lld bytes, verified",
	    file, (unsigned long long)events, (long long)end);
	rc = SL_OK;
	goto out;
fail:
	/* No half backup is left to be mistaken for one. */
	(void)unlink(file);
out:
	if (fd >= 0)
		close(fd);
	if (kb != NULL)
		sl_wipe(kb, kl);
	free(kb);
	free(cb);
	return rc;
}
