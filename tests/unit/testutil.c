/*
 * testutil.c - see testutil.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "testutil.h"

char *
tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (asprintf(&p, "%s/samlog-test-XXXXXX", base) < 0)
		abort();
	if (mkdtemp(p) == NULL)
		abort();
	return p;
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void
tu_rmtree(char *path)
{
	if (path != NULL)
		nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(path);
}

char *
tu_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) !=
	    NULL) {
		if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

int
tu_spit(const char *path, const char *s)
{
	FILE *f = fopen(path, "wb");
	size_t n = strlen(s);

	if (f == NULL)
		return -1;
	if (fwrite(s, 1, n, f) != n) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

const char *
tu_prog(const char *name)
{
	static char buf[8][512];
	static int next;
	const char *dir = getenv("SAMLOG_BUILD");
	char *b = buf[next++ % 8];

	snprintf(b, sizeof buf[0], "%s/%s", dir && *dir ? dir : "build", name);
	return b;
}

size_t
tu_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

int
tu_run(struct tu_run *r, char *const *argv, char *const *env)
{
	return tu_run_as(r, NULL, argv, env);
}

/* In the child: become cred's user, or _exit(126). */
static void
become(const struct tu_cred *cred)
{
	if (setgroups(cred->ngroups, cred->groups) != 0 ||
	    setgid(cred->gid) != 0 || setuid(cred->uid) != 0 ||
	    (cred->cwd != NULL && chdir(cred->cwd) != 0))
		_exit(126);
}

int
tu_run_as(struct tu_run *r, const struct tu_cred *cred, char *const *argv,
    char *const *env)
{
	int po[2], pe[2], status;
	size_t no = 0, ne = 0;
	pid_t pid;

	memset(r, 0, sizeof *r);
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		if (cred != NULL)
			become(cred);
		for (size_t i = 0; env != NULL && env[i] != NULL; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	struct pollfd fds[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
	int open_fds = 2;

	while (open_fds > 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			char tmp[4096];
			char *dst = i == 0 ? r->out : r->err;
			size_t *n = i == 0 ? &no : &ne;
			ssize_t got;

			if (fds[i].fd < 0 || fds[i].revents == 0)
				continue;
			got = read(fds[i].fd, tmp, sizeof tmp);
			if (got <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			size_t room = (i == 0 ? sizeof r->out : sizeof r->err) - 1 -
			    *n;
			size_t take = (size_t)got < room ? (size_t)got : room;

			memcpy(dst + *n, tmp, take);
			*n += take;
		}
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	return 0;
}

int
tu_flip_record(const char *path, uint64_t seq, size_t byte, uint8_t mask)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, d;
	uint8_t key[8], *copy = NULL;
	int rc;

	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)(seq >> (56 - 8 * i));
	k = (MDB_val){ sizeof key, key };
	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_maxdbs(env, 2000);
	if ((rc = mdb_env_open(env, path, 0, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		goto out;
	if (mdb_dbi_open(txn, "log.00000001", 0, &dbi) != 0 ||
	    mdb_get(txn, dbi, &k, &d) != 0 || byte >= d.mv_size ||
	    (copy = malloc(d.mv_size)) == NULL) {
		mdb_txn_abort(txn);
		rc = -1;
		goto out;
	}
	memcpy(copy, d.mv_data, d.mv_size);
	copy[byte] ^= mask;
	d.mv_data = copy;
	if ((rc = mdb_put(txn, dbi, &k, &d, 0)) != 0)
		mdb_txn_abort(txn);
	else
		rc = mdb_txn_commit(txn);
out:
	mdb_env_close(env);
	free(copy);
	return rc == 0 ? 0 : -1;
}

long
tu_json_num(const char *s, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof pat, "\"%s\": ", key);
	if ((p = strstr(s, pat)) == NULL)
		return -1;
	return strtol(p + strlen(pat), NULL, 10);
}

long
tu_unsafe_at(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\n') || c == 0x7f)
				return (long)i;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return (long)i;
		}
		if (n - i - 1 < k)
			return (long)i;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return (long)i;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (cp >= 0x80 && cp <= 0x9f))
			return (long)i;
		i += k + 1;
	}
	return -1;
}

size_t
tu_unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;

		if (sscanf(hex, "%2x", &v) != 1 || n >= cap) {
			fprintf(stderr, "tu_unhex: %s at \"%.8s\"\n", n >= cap ?
			    "more bytes than fit" : "not hex", hex);
			abort();
		}
		out[n++] = (uint8_t)v;
	}
	return n;
}

double
tu_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long
tu_proc_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':' &&
		    sscanf(line + n + 1, "%ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

long
tu_idle_own_kib(pid_t pid, long limit_kib)
{
	long kib = -1;

	for (int i = 0; i < 100; i++) {
		usleep(100000);
		if ((kib = tu_proc_kib(pid, "RssAnon")) >= 0 &&
		    kib <= limit_kib && i >= 50)
			break;
	}
	return kib;
}

void
tu_contacts_csv(const char *path, int n)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		abort();
	fputs("name,role,email,municipality\n", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "Kontakt nummer %05d med ett långt namn,handledare "
		    "inom arbetsintegrering,kontakt%d@example.se,Upplands "
		    "Väsby\n", i, i);
	if (fclose(f) != 0)
		abort();
}
