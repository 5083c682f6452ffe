/*
 * restore.c - samlog restore FILE DIR: a node directory from a backup
 * (samlog backup), offline, no daemon.
 *
 * Every member of the archive is checked before the directory is left
 * behind: the names are the four a backup has, the store's bytes match
 * the manifest's SHA-256, and the key is the node the manifest names.
 * DIR must not exist or be empty; on any failure what was written is
 * removed again.  The restored directory carries a "restored" mark: its
 * samlogd then takes back what its peers hold (the erasures made since
 * the backup among it) before it serves records or sends events
 * (samlogd(8)).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "output.h"
#include "restore.h"
#include "samlog_proto.h"

#define PREFIX "samlog-backup/"

static const char *const members[] = { "node.key", "samlog.conf",
	"store/data.mdb", "MANIFEST" };

struct made {
	char path[8][4200];
	int n;
};

static void
made_add(struct made *m, const char *p)
{
	if (m->n < 8)
		snprintf(m->path[m->n++], sizeof m->path[0], "%s", p);
}

/* Removes what was made, newest first (files, then directories). */
static void
made_undo(const struct made *m)
{
	for (int i = m->n - 1; i >= 0; i--)
		if (unlink(m->path[i]) != 0)
			(void)rmdir(m->path[i]);
}

static bool
dir_empty_or_absent(const char *dir, bool *exists)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	*exists = d != NULL;
	if (d == NULL)
		return errno == ENOENT;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			closedir(d);
			return false;
		}
	closedir(d);
	return true;
}

/* The value of "key VALUE" in the manifest, into out. */
static bool
manifest_get(const char *m, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);

	for (const char *p = m; p != NULL && *p; p = strchr(p, '\n'),
	    p = p ? p + 1 : NULL)
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			size_t n = strcspn(p + kl + 1, "\n");

			if (n >= len)
				return false;
			memcpy(out, p + kl + 1, n);
			out[n] = '\0';
			return true;
		}
	return false;
}

int
cmd_restore(const char *file, const char *dir, bool json)
{
	struct made made = { .n = 0 };
	char path[4200], name[100], type, manifest[4096] = "";
	char hex[2 * SL_HASH_LEN + 1] = "", want[80], node[80], org[256];
	char events[32], when[64], err[512];
	uint8_t h[SL_TAR_BLOCK], dh[SL_HASH_LEN], *buf = NULL;
	bool exists, seen[4] = { false };
	char digests[3][2 * SL_HASH_LEN + 1] = { "", "", "" };
	uint64_t size;
	struct sl_key k;
	FILE *in = NULL;
	int status = 1, rc;

	if (!dir_empty_or_absent(dir, &exists)) {
		cli_error("restore: %s is not empty: give a new directory", dir);
		return 1;
	}
	if ((in = fopen(file, "rb")) == NULL) {
		cli_error("restore: cannot read %s: %s", file, strerror(errno));
		return 1;
	}
	if (!exists) {
		if (mkdir(dir, 0700) != 0) {
			cli_error("restore: cannot create %s: %s", dir,
			    strerror(errno));
			fclose(in);
			return 1;
		}
		made_add(&made, dir);
	}
	if ((buf = malloc(1 << 20)) == NULL)
		goto fail_mem;
	for (;;) {
		int idx = -1;

		if (fread(h, 1, sizeof h, in) != sizeof h) {
			cli_error("restore: %s ends before its end mark: not a "
			    "whole samlog backup", file);
			goto fail;
		}
		if ((rc = sl_tar_parse(h, name, &size, &type)) == SL_ENOENT)
			break;
		for (int i = 0; i < 4 && rc == SL_OK; i++)
			if (strncmp(name, PREFIX, sizeof PREFIX - 1) == 0 &&
			    strcmp(name + sizeof PREFIX - 1, members[i]) == 0)
				idx = i;
		if (rc != SL_OK || type != '0' || idx < 0 || seen[idx]) {
			cli_error("restore: %s is not a samlog backup (%s)", file,
			    rc != SL_OK ? "a damaged tar header" : name);
			goto fail;
		}
		seen[idx] = true;
		if (idx == 3) {
			if (size >= sizeof manifest || fread(manifest, 1, size,
			    in) != size) {
				cli_error("restore: %s: its manifest is damaged",
				    file);
				goto fail;
			}
			manifest[size] = '\0';
		} else {
			crypto_hash_sha256_state st;
			int fd;

			if (idx == 2) {
				snprintf(path, sizeof path, "%s/%s", dir,
				    SL_NODE_STORE_DIR);
				if (mkdir(path, 0700) != 0) {
					cli_error("restore: cannot create %s: %s",
					    path, strerror(errno));
					goto fail;
				}
				made_add(&made, path);
			}
			snprintf(path, sizeof path, "%s/%s", dir, members[idx]);
			if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) <
			    0) {
				cli_error("restore: cannot create %s: %s", path,
				    strerror(errno));
				goto fail;
			}
			made_add(&made, path);
			crypto_hash_sha256_init(&st);
			for (uint64_t left = size; left > 0;) {
				size_t want_n = left < (1u << 20) ? (size_t)left :
				    (1u << 20);

				if (fread(buf, 1, want_n, in) != want_n ||
				    write(fd, buf, want_n) != (ssize_t)want_n) {
					cli_error("restore: cannot copy %s: %s",
					    members[idx], ferror(in) || feof(in) ?
					    "the backup ends short" :
					    strerror(errno));
					close(fd);
					goto fail;
				}
				crypto_hash_sha256_update(&st, buf, want_n);
				left -= want_n;
			}
			if (fsync(fd) != 0 || close(fd) != 0) {
				cli_error("restore: cannot write %s: %s", path,
				    strerror(errno));
				goto fail;
			}
			crypto_hash_sha256_final(&st, dh);
			sl_hex_encode(digests[idx], dh, SL_HASH_LEN);
			if (idx == 2)
				snprintf(hex, sizeof hex, "%s", digests[2]);
		}
		/* To the next block. */
		size_t pad = (size_t)((SL_TAR_BLOCK - size % SL_TAR_BLOCK) %
		    SL_TAR_BLOCK);

		if (pad > 0 && fread(h, 1, pad, in) != pad) {
			cli_error("restore: %s ends short", file);
			goto fail;
		}
	}
	if (!seen[0] || !seen[1] || !seen[2] || !seen[3]) {
		cli_error("restore: %s lacks part of a backup (it needs the key, "
		    "the configuration, the store and the manifest)", file);
		goto fail;
	}
	if (!manifest_get(manifest, "data_sha256", want, sizeof want) ||
	    strcmp(want, hex) != 0) {
		cli_error("restore: the store in %s does not match its manifest: "
		    "the backup is damaged", file);
		goto fail;
	}
	/* The key and the configuration, when the manifest has their
	 * digests (backups since they were added). */
	if ((manifest_get(manifest, "key_sha256", want, sizeof want) &&
	    strcmp(want, digests[0]) != 0) ||
	    (manifest_get(manifest, "conf_sha256", want, sizeof want) &&
	    strcmp(want, digests[1]) != 0)) {
		cli_error("restore: the key or configuration in %s does not "
		    "match its manifest: the backup is damaged", file);
		goto fail;
	}
	if (sl_node_load_key(dir, &k, err, sizeof err) != SL_OK) {
		cli_error("restore: %s", err);
		goto fail;
	}
	char id[SL_NODE_ID_TEXT + 1];

	sl_b32_encode(id, k.pub, SL_KEY_LEN);
	sl_key_wipe(&k);
	if (!manifest_get(manifest, "node_id", node, sizeof node) ||
	    strcmp(node, id) != 0) {
		cli_error("restore: the key in %s is not the node its manifest "
		    "names", file);
		goto fail;
	}
	if (!manifest_get(manifest, "org", org, sizeof org))
		org[0] = '\0';
	if (!manifest_get(manifest, "events", events, sizeof events))
		snprintf(events, sizeof events, "?");
	if (!manifest_get(manifest, "time", when, sizeof when))
		snprintf(when, sizeof when, "?");
	snprintf(path, sizeof path, "%s/restored", dir);
	{
		int mfd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		FILE *m = mfd >= 0 ? fdopen(mfd, "w") : NULL;

		if (m == NULL || fprintf(m, "restored from %s, a backup of %s\n",
		    file, when) < 0 || fclose(m) != 0) {
			if (m == NULL && mfd >= 0)
				close(mfd);
			cli_error("restore: cannot write %s", path);
			goto fail;
		}
		made_add(&made, path);
	}
	if (json) {
		printf("{\"dir\": ");
		json_text(stdout, dir, strlen(dir));
		printf(", \"node_id\": \"%s\", \"org\": ", id);
		json_text(stdout, org, strlen(org));
		printf(", \"events\": %llu, \"backup_time\": ",
		    strtoull(events, NULL, 10));
		json_text(stdout, when, strlen(when));
		printf("}\n");
	} else
		printf("restored node %s (%s, %s events as of %s) into %s\n"
		    "start samlogd -d %s: it takes back what its peers hold, "
		    "and the erasures made since the backup, before it serves\n",
		    id, org, events, when, dir, dir);
	status = 0;
	goto out;
fail_mem:
	cli_error("restore: out of memory");
fail:
	made_undo(&made);
out:
	free(buf);
	if (in != NULL)
		fclose(in);
	return status;
}
