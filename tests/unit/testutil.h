/*
 * testutil.h - small helpers the test suites share: temporary
 * directories, running a program and capturing what it printed.
 */
#ifndef SAMLOG_TESTUTIL_H
#define SAMLOG_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Makes a fresh directory under $TMPDIR (or /tmp); caller frees. */
char *tu_tmpdir(void);
/* Removes a directory tree (best effort) and frees the path. */
void tu_rmtree(char *path);
/* A whole file as a new NUL-terminated string, or NULL if it cannot be
 * read; the caller frees it. */
char *tu_slurp(const char *path);
/* Writes s as path's whole content; 0, or -1 (errno set). */
int tu_spit(const char *path, const char *s);

struct tu_run {
	int status;   /* exit status, or 128 + signal */
	char out[262144];
	char err[8192];
};

/*
 * Runs argv (NULL-terminated) with extra environment assignments env
 * (NULL-terminated "K=V" strings, may be NULL), waits, and captures up to
 * 256 KiB of stdout and 8 KiB of stderr.  Returns 0, or -1 if it could not run.
 */
int tu_run(struct tu_run *r, char *const *argv, char *const *env);

/* Who runs a program, for tu_run_as. */
struct tu_cred {
	uid_t uid;
	gid_t gid;         /* primary group */
	size_t ngroups;    /* supplementary groups */
	gid_t groups[4];
	const char *cwd;   /* working directory, or NULL: the caller's */
};

/*
 * tu_run as another user: the child sets cred's groups, gid and uid (in
 * that order; the caller must be root) and changes to cred->cwd before it
 * runs argv.  A child that cannot become cred exits 126.  cred NULL is
 * tu_run.
 */
int tu_run_as(struct tu_run *r, const struct tu_cred *cred, char *const *argv,
    char *const *env);

/* Path of a built program: $SAMLOG_BUILD/name (default build/name). */
const char *tu_prog(const char *name);

/*
 * Rewrites the record seq of the node's own chain (the first origin a
 * store makes, "log.00000001") in the LMDB environment at path with byte
 * `byte` XORed with mask, through LMDB itself, while no store has it
 * open: what an attacker with the disk could do.  0, or -1 if anything
 * failed (no such record, byte out of range).
 */
int tu_flip_record(const char *path, uint64_t seq, size_t byte,
    uint8_t mask);

/* The integer after "key": in JSON text s (samlog's --json output), or
 * -1 if the key is not there. */
long tu_json_num(const char *s, const char *key);
/* A "Field: N kB" line of /proc/PID/status (VmRSS, RssAnon...), in KiB;
 * -1 if there is none. */
long tu_proc_kib(pid_t pid, const char *field);
/* pid's own memory (RssAnon, KiB) once it has been idle: samlogd gives
 * memory back 2 to 4 s after its last request or event, so this waits
 * 5 s, and up to 10 s while the figure is above limit_kib. */
long tu_idle_own_kib(pid_t pid, long limit_kib);
/* n contacts, all in Upplands Väsby, as an import CSV in path (12,000:
 * about 1.3 MB); exits on failure. */
void tu_contacts_csv(const char *path, int n);

/* Counts the lines of s. */
size_t tu_lines(const char *s);

/*
 * The offset of the first byte of s[0..n) that is not safe on a
 * terminal, or -1: a C0 control other than the line break, DEL, a C1
 * control (U+0080-U+009F, encoded C2 80..C2 9F), or invalid UTF-8.
 */
long tu_unsafe_at(const char *s, size_t n);

/* Decodes the hex text hex (pairs of digits) into out[0..cap): the
 * number of bytes.  Aborts, saying why, on a pair that is no hex or on
 * more than cap bytes (a worked example of PROTOCOL.md misread). */
size_t tu_unhex(uint8_t *out, size_t cap, const char *hex);
/* Seconds on the monotonic clock (for the benchmarks' timings). */
double tu_now_s(void);

#endif
