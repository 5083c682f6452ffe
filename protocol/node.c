/*
 * node.c - the node directory: where it is, and the two files `samlog
 * init` writes into it (the secret key and the configuration).
 *
 * Creation is careful because it happens once and guards a secret: the
 * directory is 0700, the files are created with O_EXCL at 0600 and synced,
 * an existing node is never overwritten, and a half-made node is removed
 * again so that a second try starts clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "samlog_proto.h"

static void
node_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static char *
path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

char *
sl_node_dir_resolve(const char *explicit_dir)
{
	const char *v;

	if (explicit_dir != NULL && explicit_dir[0] != '\0')
		return strdup(explicit_dir);
	if ((v = getenv("SAMLOG_DIR")) != NULL && v[0] != '\0')
		return strdup(v);
	if ((v = getenv("XDG_DATA_HOME")) != NULL && v[0] == '/')
		return path_join(v, "samlog");
	if ((v = getenv("HOME")) != NULL && v[0] != '\0')
		return path_join(v, ".local/share/samlog");
	return NULL;
}

bool
sl_org_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= SL_ORG_MAX && sl_utf8_valid(name, n) &&
	    name[0] != ' ' && name[n - 1] != ' ';
}

/* mkdir -p for the parents of dir (mode 0755 less umask). */
static int
mkdir_parents(const char *dir)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/* Writes a new file (refusing to replace one) and syncs it. */
static int
write_new_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t len = strlen(text), off = 0;

	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;

			close(fd);
			unlink(path);
			errno = e;
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		int e = errno;

		unlink(path);
		errno = e;
		return -1;
	}
	return 0;
}

static void
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int
sl_node_create(const char *dir, const char *org, char *node_id, char *err,
    size_t errlen)
{
	char *keyp = path_join(dir, SL_NODE_KEY_FILE);
	char *confp = path_join(dir, SL_NODE_CONF_FILE);
	char text[512], seed_text[SL_B32_LEN(SL_SEED_LEN) + 1];
	uint8_t seed[SL_SEED_LEN];
	struct sl_key key;
	struct stat st;
	bool made_dir = false, made_key = false;
	int ret = SL_EIO;

	if (keyp == NULL || confp == NULL) {
		node_err(err, errlen, "out of memory");
		ret = SL_ENOMEM;
		goto out;
	}
	if (!sl_org_valid(org)) {
		node_err(err, errlen, "invalid organisation name \"%s\": use 1 "
		    "to %d characters, no control characters", org, SL_ORG_MAX);
		ret = SL_EINVAL;
		goto out;
	}
	if (lstat(keyp, &st) == 0 || lstat(confp, &st) == 0) {
		node_err(err, errlen, "%s already holds a node; refusing to "
		    "overwrite it", dir);
		ret = SL_EEXIST;
		goto out;
	}
	if (mkdir_parents(dir) != 0) {
		node_err(err, errlen, "cannot create the parents of %s: %s",
		    dir, strerror(errno));
		goto out;
	}
	if (mkdir(dir, 0700) == 0) {
		made_dir = true;
	} else if (errno != EEXIST) {
		node_err(err, errlen, "cannot create %s: %s", dir,
		    strerror(errno));
		goto out;
	} else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		node_err(err, errlen, "%s exists and is not a directory", dir);
		goto out;
	} else if (chmod(dir, 0700) != 0) {
		node_err(err, errlen, "cannot make %s private: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (sl_crypto_init() != 0) {
		node_err(err, errlen, "cannot initialise the crypto libraries");
		goto fail;
	}
	sl_key_generate(&key, seed);
	sl_b32_encode(seed_text, seed, sizeof seed);
	snprintf(text, sizeof text,
	    "# samlog node key: the Ed25519 seed of this node, in base32.\n"
	    "# Keep it secret and back it up: whoever holds it can sign as "
	    "this node.\n%s\n", seed_text);
	sl_b32_encode(node_id, key.pub, SL_KEY_LEN);
	sl_key_wipe(&key);
	sl_wipe(seed, sizeof seed);
	if (write_new_file(keyp, text) != 0) {
		sl_wipe(text, sizeof text);
		sl_wipe(seed_text, sizeof seed_text);
		node_err(err, errlen, "cannot write %s: %s", keyp,
		    strerror(errno));
		goto fail;
	}
	sl_wipe(text, sizeof text);
	sl_wipe(seed_text, sizeof seed_text);
	made_key = true;
	snprintf(text, sizeof text,
	    "# samlog.conf: the configuration of this samlog node.\n"
	    "# Lines are \"key = value\"; lines starting with # are comments.\n"
	    "\n"
	    "# The organisation this node speaks for, as the other members "
	    "see it.\n"
	    "org = %s\n", org);
	if (write_new_file(confp, text) != 0) {
		node_err(err, errlen, "cannot write %s: %s", confp,
		    strerror(errno));
		goto fail;
	}
	fsync_dir(dir);
	ret = SL_OK;
	goto out;
fail:
	if (made_key)
		unlink(keyp);
	if (made_dir)
		rmdir(dir);
out:
	free(keyp);
	free(confp);
	return ret;
}

int
sl_node_load_key(const char *dir, struct sl_key *k, char *err, size_t errlen)
{
	char *keyp = path_join(dir, SL_NODE_KEY_FILE);
	int ret;

	if (keyp == NULL) {
		node_err(err, errlen, "out of memory");
		return SL_ENOMEM;
	}
	ret = sl_key_load_file(keyp, k, err, errlen);
	free(keyp);
	return ret;
}

int
sl_key_load_file(const char *keyp, struct sl_key *k, char *err, size_t errlen)
{
	char line[256];
	uint8_t seed[SL_SEED_LEN];
	struct stat st;
	FILE *f = NULL;
	int ret = SL_EIO;
	bool found = false;

	if ((f = fopen(keyp, "re")) == NULL) {
		node_err(err, errlen, "cannot read %s: %s", keyp,
		    strerror(errno));
		ret = errno == ENOENT ? SL_ENOENT : SL_EIO;
		goto out;
	}
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
		node_err(err, errlen, "%s is not a file", keyp);
		ret = SL_EINVAL;
		goto out;
	}
	if (fstat(fileno(f), &st) != 0 || (st.st_mode & 077) != 0) {
		node_err(err, errlen, "%s may be read by other users (mode "
		    "%04o); fix it with: chmod 600 %s", keyp,
		    (unsigned)(st.st_mode & 07777), keyp);
		ret = SL_EINVAL;
		goto out;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		found = sl_b32_decode(seed, sizeof seed, line);
		break;
	}
	sl_wipe(line, sizeof line);
	if (!found) {
		node_err(err, errlen, "%s does not hold a valid key", keyp);
		ret = SL_EINVAL;
		goto out;
	}
	if (sl_crypto_init() != 0) {
		node_err(err, errlen, "cannot initialise the crypto libraries");
		goto out;
	}
	sl_key_from_seed(k, seed);
	sl_wipe(seed, sizeof seed);
	ret = SL_OK;
out:
	if (f != NULL)
		fclose(f);
	return ret;
}

int
sl_key_save_file(const char *path, const struct sl_key *k,
    const uint8_t seed[SL_SEED_LEN], char *err, size_t errlen)
{
	char text[512], seed_text[SL_B32_LEN(SL_SEED_LEN) + 1];
	char id[SL_NODE_ID_TEXT + 1];
	struct stat st;
	int ret = SL_OK;

	if (lstat(path, &st) == 0) {
		node_err(err, errlen, "%s exists; refusing to overwrite it",
		    path);
		return SL_EEXIST;
	}
	sl_b32_encode(seed_text, seed, SL_SEED_LEN);
	sl_b32_encode(id, k->pub, SL_KEY_LEN);
	snprintf(text, sizeof text,
	    "# samlog key %s: an Ed25519 seed, in base32.\n"
	    "# Keep it secret and back it up: whoever holds it can sign "
	    "with it.\n%s\n", id, seed_text);
	if (write_new_file(path, text) != 0) {
		node_err(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		ret = SL_EIO;
	}
	sl_wipe(text, sizeof text);
	sl_wipe(seed_text, sizeof seed_text);
	return ret;
}
