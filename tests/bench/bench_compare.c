/*
 * bench_compare.c - samlog beside SQLite and the machine's own limits, in
 * one run (make bench-compare).
 *
 * The workload is contacts as offices make them: a name (Swedish first and
 * last names), a role, an e-mail address, a phone number and one of the 26
 * municipalities of a region, the larger ones more often (weights 1/k).
 * samlog gets them the way users write them: contact.add requests to a
 * real samlogd's control socket, each one checked, made into a signed,
 * hash-chained event and folded into the contact records and their
 * indexes (org, role, municipality) in the same durable commit.  SQLite
 * (Debian's libsqlite3, WAL, synchronous=FULL) gets the same rows the way
 * an event-sourced program on SQLite would keep them: an events table
 * (origin, seq, SHA-256 hash with a unique index, the event as JSON, and
 * an Ed25519 signature on each commit's last event, as samlog signs
 * commits) and a contacts table with the same three secondary indexes,
 * both written in the same transaction.
 *
 * Measured, each on a fresh node or database:
 *   - pipelined writes with records, 100 and 1,000 per commit (the
 *     client sends that many and waits for the answers), the first
 *     BENCH_COMPARE_N (default 100,000) and, at 1,000 per commit, on to
 *     BENCH_COMPARE_BIG (default 1,000,000): the last 100,000's rate;
 *   - one durable write per commit (one request, its answer, the next);
 *   - a filtered query: the contacts of one role in one municipality,
 *     as a process (samlog's CLI; for SQLite a program that links only
 *     libsqlite3), p50 over 200 runs, beside a bare process start;
 *   - a full rebuild of the contact records from the events;
 *   - the store's bytes per event on disk, and the bytes the disk wrote
 *     per event during the first load (its sectors written, /sys);
 *   - 32 concurrent CLI processes adding contacts, beside 32 concurrent
 *     bare processes (/bin/true) started and reaped;
 *   - catch-up of a fresh node from the node of CLI-made contacts, and
 *     from a node filled straight into its store (tests/unit/fill.c);
 *   - live propagation of one write to a linked node, p50 and p99;
 *   - the daemon's resident memory idle after the big load;
 *   - a plain durable LMDB commit loop (one 363-byte put per commit).
 * Each ratio is printed with the target it is held to.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <msgpack.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchnode.h"
#include "samlog_proto.h"
#include "../unit/fill.h"
#include "../unit/testutil.h"

/* ---- the workload ---------------------------------------------------- */

static const char *const first_names[] = { "Anna", "Erik", "Maria", "Lars",
	"Karin", "Johan", "Eva", "Per", "Sara", "Anders", "Lena", "Mikael",
	"Åsa", "Björn", "Ingrid", "Özlem", "Fatima", "Mohammed", "Kerstin",
	"Göran", "Elin", "Jonas", "Linnéa", "Ali" };
static const char *const first_ascii[] = { "anna", "erik", "maria", "lars",
	"karin", "johan", "eva", "per", "sara", "anders", "lena", "mikael",
	"asa", "bjorn", "ingrid", "ozlem", "fatima", "mohammed", "kerstin",
	"goran", "elin", "jonas", "linnea", "ali" };
static const char *const last_names[] = { "Andersson", "Johansson",
	"Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
	"Svensson", "Gustafsson", "Pettersson", "Jonsson", "Lindberg",
	"Åberg", "Öberg", "Hassan", "Lindqvist", "Sjöberg" };
static const char *const last_ascii[] = { "andersson", "johansson",
	"karlsson", "nilsson", "eriksson", "larsson", "olsson", "persson",
	"svensson", "gustafsson", "pettersson", "jonsson", "lindberg",
	"aberg", "oberg", "hassan", "lindqvist", "sjoberg" };
static const char *const roles[] = { "samordnare", "handläggare",
	"enhetschef", "arbetskonsulent", "verksamhetsledare", "politiker",
	"processledare", "socialsekreterare" };
static const char *const munis[] = { "Stockholm", "Huddinge", "Botkyrka",
	"Södertälje", "Haninge", "Nacka", "Järfälla", "Sollentuna", "Täby",
	"Solna", "Norrtälje", "Sundbyberg", "Lidingö", "Tyresö", "Värmdö",
	"Österåker", "Upplands Väsby", "Sigtuna", "Vallentuna", "Nynäshamn",
	"Ekerö", "Danderyd", "Upplands-Bro", "Salem", "Nykvarn", "Vaxholm" };
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* The filtered query: one role in the smallest municipality, about 1 in
 * 800 rows (125 of 100,000). */
#define QUERY_MUNI "Vaxholm"
#define QUERY_ROLE "samordnare"

struct contact {
	char name[64], role[32], email[80], phone[24];
	const char *muni;
};

/* Contact number i, the same in every run and for both stores. */
static void
contact_make(struct contact *c, size_t i)
{
	static double cum[NELEM(munis)];
	uint64_t x = (uint64_t)i * 0x9E3779B97F4A7C15u + 0x632BE59BD9B4E019u;
	size_t f, m, l, round;
	double u;

	if (cum[NELEM(munis) - 1] == 0) {
		double sum = 0;

		for (size_t k = 0; k < NELEM(munis); k++)
			cum[k] = sum += 1.0 / (double)(k + 1);
		for (size_t k = 0; k < NELEM(munis); k++)
			cum[k] /= sum;
	}
	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9u;
	x ^= x >> 29;
	/* Names are unique, as samlog refuses a second contact of the same
	 * name unless told --force: first, middle and last name in turn,
	 * then a number for each round through them. */
	f = i % NELEM(first_names);
	m = (i / NELEM(first_names)) % NELEM(first_names);
	l = (i / NELEM(first_names) / NELEM(first_names)) % NELEM(last_names);
	round = i / NELEM(first_names) / NELEM(first_names) /
	    NELEM(last_names);
	u = (double)((x >> 20) & 0xFFFFF) / (double)0x100000;
	c->muni = munis[NELEM(munis) - 1];
	for (size_t k = 0; k < NELEM(munis); k++)
		if (u < cum[k]) {
			c->muni = munis[k];
			break;
		}
	if (round == 0)
		snprintf(c->name, sizeof c->name, "%s %s %s", first_names[f],
		    first_names[m], last_names[l]);
	else
		snprintf(c->name, sizeof c->name, "%s %s %s %zu",
		    first_names[f], first_names[m], last_names[l], round);
	snprintf(c->role, sizeof c->role, "%s", roles[(x >> 40) %
	    NELEM(roles)]);
	snprintf(c->email, sizeof c->email, "%s.%s.%zu@example.se",
	    first_ascii[f], last_ascii[l], i);
	snprintf(c->phone, sizeof c->phone, "08-%03zu %02zu %02zu",
	    (i / 10000) % 1000, (i / 100) % 100, i % 100);
}

/* ---- the machine's limits --------------------------------------------- */

static double
p50_of(double *t, int n)
{
	qsort(t, (size_t)n, sizeof *t, cmp_double);
	return t[n / 2];
}

/* Process wall time of argv (run through the tests' runner, which
 * captures what it prints), p50 over runs, in ms. */
static double
time_process(char *const *argv, int runs, size_t *lines)
{
	static struct tu_run r;
	double *t = calloc((size_t)runs, sizeof *t), p;

	for (int i = 0; i < runs; i++) {
		double t0 = tu_now_s();

		if (tu_run(&r, argv, NULL) != 0 || r.status != 0) {
			fprintf(stderr, "bench: %s failed: %s\n", argv[0], r.err);
			exit(1);
		}
		t[i] = (tu_now_s() - t0) * 1000;
	}
	if (lines != NULL)
		*lines = tu_lines(r.out);
	p = p50_of(t, runs);
	free(t);
	return p;
}

/* 32 processes, each starting argv_of(k, i) and reaping it back to back
 * for secs seconds: completed runs per second in all.  Any failure is
 * fatal (nothing acknowledged may be lost or refused). */
typedef void argv_fn(char **argv, size_t k, size_t i, void *arg);

static double
concurrent(argv_fn *argv_of, void *arg, double secs, size_t *done_out)
{
	enum { K = 32 };
	size_t *done = mmap(NULL, K * sizeof *done, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t kids[K];
	double t0 = tu_now_s(), t;
	size_t all = 0;
	int bad = 0;

	if (done == MAP_FAILED)
		die("mmap");
	for (size_t k = 0; k < K; k++) {
		if ((kids[k] = fork()) < 0)
			die("cannot fork");
		if (kids[k] == 0) {
			int null = open("/dev/null", O_WRONLY);

			for (size_t i = 0; tu_now_s() - t0 < secs; i++) {
				char *argv[24];
				pid_t p;
				int st;

				argv_of(argv, k, i, arg);
				if ((p = fork()) == 0) {
					dup2(null, 1);
					execv(argv[0], argv);
					_exit(127);
				}
				if (p < 0 || waitpid(p, &st, 0) != p ||
				    !WIFEXITED(st) || WEXITSTATUS(st) != 0)
					_exit(1);
				done[k]++;
			}
			_exit(0);
		}
	}
	for (size_t k = 0; k < K; k++) {
		int st;

		if (waitpid(kids[k], &st, 0) != kids[k] || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			bad = 1;
		all += done[k];
	}
	t = tu_now_s() - t0;
	munmap(done, K * sizeof *done);
	if (bad)
		die("a concurrent client failed");
	if (done_out != NULL)
		*done_out = all;
	return (double)all / t;
}

static void
argv_true(char **argv, size_t k, size_t i, void *arg)
{
	(void)k, (void)i, (void)arg;
	argv[0] = "/bin/true";
	argv[1] = NULL;
}

/* One durable LMDB commit per 363-byte put, n of them: commits/s. */
static double
lmdb_loop(const char *dir, int n)
{
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn;
	uint8_t val[363] = { 1 };
	double t0;

	if (mkdir(dir, 0700) != 0 || mdb_env_create(&env) != 0 ||
	    mdb_env_set_mapsize(env, 64u << 20) != 0 ||
	    mdb_env_open(env, dir, 0, 0600) != 0)
		die("plain LMDB: cannot open");
	t0 = tu_now_s();
	for (int i = 0; i < n; i++) {
		uint64_t key = __builtin_bswap64((uint64_t)i); /* in order */
		MDB_val k = { sizeof key, &key }, v = { sizeof val, val };

		if (mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
		    mdb_dbi_open(txn, NULL, 0, &dbi) != 0 ||
		    mdb_put(txn, dbi, &k, &v, MDB_APPEND) != 0 ||
		    mdb_txn_commit(txn) != 0)
			die("plain LMDB: a commit failed");
	}
	t0 = tu_now_s() - t0;
	mdb_env_close(env);
	return n / t0;
}

/* ---- /proc ------------------------------------------------------------ */

/* Bytes the disk holding path has written since it started (its
 * sectors written, from /sys), or -1: what reached the disk from every
 * process, so a load's figure includes whatever else wrote meanwhile. */
static long long
disk_written(const char *path)
{
	char sys[96];
	unsigned long long f[7];
	struct stat st;
	FILE *fp;
	int got;

	if (stat(path, &st) != 0)
		return -1;
	snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/stat",
	    major(st.st_dev), minor(st.st_dev));
	if ((fp = fopen(sys, "r")) == NULL)
		return -1;
	got = fscanf(fp, "%llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1],
	    &f[2], &f[3], &f[4], &f[5], &f[6]);
	fclose(fp);
	return got == 7 ? (long long)f[6] * 512 : -1;
}

static long long
disk_bytes(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_blocks * 512 : 0;
}

/* ---- samlog ----------------------------------------------------------- */

static void
pack_add(msgpack_sbuffer *sb, size_t i)
{
	msgpack_sbuffer one;
	msgpack_packer pk;
	struct contact c;
	uint8_t hdr[SL_FRAME_HDR];

	contact_make(&c, i);
	msgpack_sbuffer_init(&one);
	msgpack_packer_init(&pk, &one, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	sl_pack_cstr(&pk, "cmd");
	sl_pack_cstr(&pk, "contact.add");
	sl_pack_cstr(&pk, "args");
	msgpack_pack_map(&pk, 5);
	sl_pack_cstr(&pk, "name");
	sl_pack_cstr(&pk, c.name);
	sl_pack_cstr(&pk, "role");
	sl_pack_cstr(&pk, c.role);
	sl_pack_cstr(&pk, "email");
	sl_pack_cstr(&pk, c.email);
	sl_pack_cstr(&pk, "phone");
	sl_pack_cstr(&pk, c.phone);
	sl_pack_cstr(&pk, "municipality");
	sl_pack_cstr(&pk, c.muni);
	sl_frame_hdr_encode(hdr, &(struct sl_frame_hdr){ SL_CTL_VERSION,
	    SL_MSG_REQUEST, 0, (uint32_t)i, (uint32_t)one.size });
	msgpack_sbuffer_write(sb, (const char *)hdr, sizeof hdr);
	msgpack_sbuffer_write(sb, one.data, one.size);
	msgpack_sbuffer_destroy(&one);
}

/* Sends contacts [first, first + n) as n requests at once, then waits
 * for their n answers, each a success. */
static void
samlog_batch(int fd, size_t first, size_t n)
{
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	for (size_t i = first; i < first + n; i++)
		pack_add(&sb, i);
	pipeline(fd, sb.data, sb.size, n);
	msgpack_sbuffer_destroy(&sb);
}

/* Loads contacts [from, to) into n, batch at a time: writes/s. */
static double
samlog_load(const struct node *n, size_t from, size_t to, size_t batch)
{
	int fd = connect_ctl(n);
	double t0 = tu_now_s();

	if (fd < 0)
		die("cannot connect to the control socket");
	for (size_t i = from; i < to; i += batch)
		samlog_batch(fd, i, to - i < batch ? to - i : batch);
	t0 = tu_now_s() - t0;
	close(fd);
	return (double)(to - from) / t0;
}

static void
status_num(const struct node *n, const char *key, double *v)
{
	static char out[65536];

	cli(n, (char *const[]){ "status", "--json", NULL }, out, sizeof out);
	*v = (double)tu_json_num(out, key);
}

static void
node_up(struct node *n, const char *tmp, const char *name)
{
	node_init(n, tmp, name);
	node_start(n);
}

/* The store's bytes on disk: LMDB's file and the write-ahead file (as
 * SQLite's are its database and its -wal). */
static long long
store_bytes(const struct node *n)
{
	char *p;
	long long b;

	if (asprintf(&p, "%s/%s/data.mdb", n->dir, SL_NODE_STORE_DIR) < 0)
		die("out of memory");
	b = disk_bytes(p);
	free(p);
	if (asprintf(&p, "%s/%s/wal", n->dir, SL_NODE_STORE_DIR) < 0)
		die("out of memory");
	b += disk_bytes(p);
	free(p);
	return b;
}

/* A fresh node dials `from`: seconds until it holds every event `from`
 * held when it was told to dial, besides its own; *got says how many
 * those were. */
static double
catch_up(struct node *to, const struct node *from, long *got)
{
	long own, want;
	double t0;

	node_start(to);
	trust(from, to, false);
	*got = events(from);
	own = events(to) + 1; /* and the admission `trust` adds */
	want = *got + own;
	t0 = tu_now_s();
	trust(to, from, true);
	while (events(to) < want) {
		if (tu_now_s() - t0 > 1800)
			die("a node did not catch up within 30 minutes");
		usleep(20000);
	}
	return tu_now_s() - t0;
}

/* ---- SQLite ------------------------------------------------------------ */

static const char sql_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE events(origin INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " hash BLOB NOT NULL UNIQUE, body TEXT NOT NULL, sig BLOB,"
    " PRIMARY KEY (origin, seq)) WITHOUT ROWID;"
    "CREATE TABLE contacts(id TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " org TEXT, role TEXT, email TEXT, phone TEXT, municipality TEXT,"
    " head BLOB NOT NULL);"
    "CREATE INDEX contacts_org ON contacts(org);"
    "CREATE INDEX contacts_role ON contacts(role);"
    "CREATE INDEX contacts_municipality ON contacts(municipality);";

struct sq {
	sqlite3 *db;
	sqlite3_stmt *ev, *ct;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t prev[SL_HASH_LEN];
	uint64_t seq;
};

static void
sq_check(const struct sq *q, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "bench: SQLite %s: %s\n", what,
		    sqlite3_errmsg(q->db));
		exit(1);
	}
}

static void
sq_open(struct sq *q, const char *path)
{
	memset(q, 0, sizeof *q);
	crypto_sign_keypair(q->pk, q->sk);
	sq_check(q, sqlite3_open(path, &q->db), "open");
	sq_check(q, sqlite3_exec(q->db, sql_schema, NULL, NULL, NULL),
	    "schema");
	sq_check(q, sqlite3_prepare_v2(q->db, "INSERT INTO events VALUES "
	    "(1, ?, ?, ?, ?)", -1, &q->ev, NULL), "prepare");
	sq_check(q, sqlite3_prepare_v2(q->db, "INSERT INTO contacts VALUES "
	    "(?, ?, NULL, ?, ?, ?, ?, ?)", -1, &q->ct, NULL), "prepare");
}

static void
sq_close(struct sq *q)
{
	sqlite3_finalize(q->ev);
	sqlite3_finalize(q->ct);
	sqlite3_close(q->db);
}

/* One event and its record, as samlog makes them: the event names the
 * one before it (the chain), is hashed, and the commit's last one is
 * signed. */
static void
sq_put(struct sq *q, size_t i, bool last)
{
	char body[512], id[11];
	uint8_t h[SL_HASH_LEN], sig[crypto_sign_BYTES];
	char prev[2 * SL_HASH_LEN + 1];
	struct contact c;
	int len;

	contact_make(&c, i);
	sodium_bin2hex(prev, sizeof prev, q->prev, sizeof q->prev);
	len = snprintf(body, sizeof body, "{\"type\":\"contact.created\","
	    "\"seq\":%llu,\"prev\":\"%s\",\"author\":\"bench\","
	    "\"payload\":{\"name\":\"%s\",\"role\":\"%s\",\"email\":\"%s\","
	    "\"phone\":\"%s\",\"municipality\":\"%s\"}}",
	    (unsigned long long)++q->seq, prev, c.name, c.role, c.email,
	    c.phone, c.muni);
	sl_sha256(h, body, (size_t)len);
	memcpy(q->prev, h, sizeof h);
	for (int k = 0; k < 10; k++)
		id[k] = "abcdefghijkmnpqrstuvwxyz23456789"[h[k] & 31];
	id[10] = 0;
	if (last)
		crypto_sign_detached(sig, NULL, h, sizeof h, q->sk);
	sqlite3_bind_int64(q->ev, 1, (sqlite3_int64)q->seq);
	sqlite3_bind_blob(q->ev, 2, h, sizeof h, SQLITE_TRANSIENT);
	sqlite3_bind_text(q->ev, 3, body, len, SQLITE_TRANSIENT);
	if (last)
		sqlite3_bind_blob(q->ev, 4, sig, sizeof sig, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q->ev, 4);
	sq_check(q, sqlite3_step(q->ev), "insert event");
	sqlite3_reset(q->ev);
	sqlite3_bind_text(q->ct, 1, id, 10, SQLITE_TRANSIENT);
	sqlite3_bind_text(q->ct, 2, c.name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q->ct, 3, c.role, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q->ct, 4, c.email, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q->ct, 5, c.phone, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q->ct, 6, c.muni, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q->ct, 7, h, sizeof h, SQLITE_TRANSIENT);
	sq_check(q, sqlite3_step(q->ct), "insert contact");
	sqlite3_reset(q->ct);
}

/* Rows [from, to), batch per transaction: rows/s. */
static double
sq_load(struct sq *q, size_t from, size_t to, size_t batch)
{
	double t0 = tu_now_s();

	for (size_t i = from; i < to;) {
		size_t end = to - i < batch ? to : i + batch;

		sq_check(q, sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL),
		    "begin");
		for (; i < end; i++)
			sq_put(q, i, i + 1 == end);
		sq_check(q, sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL),
		    "commit");
	}
	return (double)(to - from) / (tu_now_s() - t0);
}

/* The contact records again from the events: rows/s. */
static double
sq_rebuild(struct sq *q, size_t rows)
{
	double t0 = tu_now_s();

	sq_check(q, sqlite3_exec(q->db, "BEGIN;"
	    "DELETE FROM contacts;"
	    "INSERT INTO contacts SELECT substr(hex(hash), 1, 16),"
	    " json_extract(body, '$.payload.name'), NULL,"
	    " json_extract(body, '$.payload.role'),"
	    " json_extract(body, '$.payload.email'),"
	    " json_extract(body, '$.payload.phone'),"
	    " json_extract(body, '$.payload.municipality'), hash"
	    " FROM events;"
	    "COMMIT;", NULL, NULL, NULL), "rebuild");
	return (double)rows / (tu_now_s() - t0);
}

static long long
sq_size(struct sq *q, const char *path)
{
	char *wal;
	long long n;

	sq_check(q, sqlite3_exec(q->db, "PRAGMA wal_checkpoint(TRUNCATE)",
	    NULL, NULL, NULL), "checkpoint");
	if (asprintf(&wal, "%s-wal", path) < 0)
		die("out of memory");
	n = disk_bytes(path) + disk_bytes(wal);
	free(wal);
	return n;
}

/* ---- the table ---------------------------------------------------------- */

static void
row(const char *what, const char *ours, const char *theirs, double ratio,
    const char *target, bool met)
{
	char r[32] = "";

	if (ratio > 0)
		snprintf(r, sizeof r, "%.2fx", ratio);
	printf("| %s | %s | %s | %s | %s%s |\n", what, ours, theirs, r, target,
	    target[0] == '\0' ? "" : met ? " (met)" : " (NOT met)");
	fflush(stdout);
}

static char *
fmt(const char *f, double v)
{
	static char bufs[8][64];
	static int k;
	char *b = bufs[k++ % 8];

	snprintf(b, sizeof bufs[0], f, v);
	return b;
}

/* ---- main ---------------------------------------------------------------- */

struct add_arg {
	const struct node *n;
};

static void
argv_add(char **argv, size_t k, size_t i, void *arg)
{
	const struct add_arg *a = arg;
	static char name[64];
	int j = 0;

	snprintf(name, sizeof name, "Klient %zu-%zu", k, i);
	argv[j++] = (char *)tu_prog("samlog");
	argv[j++] = "-d";
	argv[j++] = (char *)a->n->dir;
	argv[j++] = "contact";
	argv[j++] = "add";
	argv[j++] = "--name";
	argv[j++] = name;
	argv[j++] = "--municipality";
	argv[j++] = (char *)munis[k % NELEM(munis)];
	argv[j] = NULL;
}

int
main(void)
{
	const char *e;
	size_t n = (e = getenv("BENCH_COMPARE_N")) ? strtoul(e, NULL, 10) :
	    100000;
	size_t big = (e = getenv("BENCH_COMPARE_BIG")) ? strtoul(e, NULL, 10) :
	    1000000;
	double secs = (e = getenv("BENCH_COMPARE_SECONDS")) ? atof(e) : 10;
	enum { ONE = 2000, RUNS = 200 };
	struct node a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 }, g = { 0 };
	struct sq q100, q1000;
	char *tmp, *p100, *p1000, *lm;
	size_t lines_s, lines_q;

	if (n < 1000 || (big != n && big < 2 * n) || secs <= 0) {
		fprintf(stderr, "usage: bench_compare (BENCH_COMPARE_N >= 1000, "
		    "BENCH_COMPARE_BIG = N or >= 2N, BENCH_COMPARE_SECONDS > 0)"
		    "\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0 || sl_crypto_init() != 0)
		die("cannot start the crypto libraries");
	tmp = tu_tmpdir();
	if (asprintf(&p100, "%s/sq100.db", tmp) < 0 ||
	    asprintf(&p1000, "%s/sq1000.db", tmp) < 0 ||
	    asprintf(&lm, "%s/lmdb", tmp) < 0)
		die("out of memory");
	printf("samlog beside SQLite %s (WAL, synchronous=FULL): %zu contacts, "
	    "%zu at 1,000 per commit; in %s\n\n", sqlite3_libversion(), n, big,
	    tmp);
	printf("| measure | samlog | SQLite or the machine | ratio | target |\n"
	    "|---|---|---|---|---|\n");

	/* The machine. */
	double t_true = time_process((char *const[]){ "/bin/true", NULL },
	    RUNS, NULL);
	double true32 = concurrent(argv_true, NULL, secs / 2, NULL);
	double lmdb = lmdb_loop(lm, ONE);

	row("bare process start (/bin/true), p50", "", fmt("%.2f ms", t_true),
	    0, "", true);
	row("32 concurrent bare processes started and reaped", "",
	    fmt("%.0f/s", true32), 0, "", true);
	row("plain LMDB, one durable commit per 363-byte put", "",
	    fmt("%.0f commits/s", lmdb), 0, "", true);

	/* Pipelined writes with records, 100 per commit. */
	long long w0, w1;

	sq_open(&q100, p100);
	w0 = disk_written(tmp);
	double sq100 = sq_load(&q100, 0, n, 100);

	long long sq_bytes = sq_size(&q100, p100); /* checkpoints */

	w1 = disk_written(tmp);
	double sq_wb = (double)(w1 - w0) / (double)n;

	node_up(&a, tmp, "a");
	w0 = disk_written(tmp);
	double s100 = samlog_load(&a, 0, n, 100);

	w1 = disk_written(tmp);
	double s_wb = (double)(w1 - w0) / (double)n, commits, writes;
	long long s_bytes = store_bytes(&a);

	status_num(&a, "commits", &commits);
	status_num(&a, "writes", &writes);
	row("pipelined writes with records, 100 per commit",
	    fmt("%.0f/s", s100), fmt("%.0f/s", sq100), s100 / sq100,
	    ">= 3.5x", s100 / sq100 >= 3.5);
	row("  events per commit in that load", fmt("%.1f", writes / commits),
	    "100", 0, "", true);
	row("store on disk per event (after the 100-per-commit load)",
	    fmt("%.0f bytes", (double)s_bytes / (double)n),
	    fmt("%.0f bytes", (double)sq_bytes / (double)n),
	    (double)s_bytes / (double)sq_bytes, "<= 2x", (double)s_bytes <=
	    2.0 * (double)sq_bytes);
	if (w0 >= 0 && w1 >= 0)
		row("bytes the disk wrote per event during that load",
		    fmt("%.0f", s_wb), fmt("%.0f", sq_wb), s_wb / sq_wb, "",
		    true);

	/* One durable write per commit. */
	double sq1 = sq_load(&q100, n, n + ONE, 1);

	/* The statistics SQLite's planner chooses an index by. */
	sq_check(&q100, sqlite3_exec(q100.db, "ANALYZE", NULL, NULL, NULL),
	    "analyze");
	double s1 = 0;
	int fd = connect_ctl(&a);

	if (fd < 0)
		die("cannot connect to the control socket");
	double t0 = tu_now_s();

	for (size_t i = n; i < n + ONE; i++)
		samlog_batch(fd, i, 1);
	s1 = ONE / (tu_now_s() - t0);
	close(fd);
	row("one durable write per commit", fmt("%.0f/s", s1),
	    fmt("%.0f/s", sq1), s1 / sq1, ">= 1x", s1 >= sq1);

	/* The filtered query, as a process: samlog's CLI, and a program
	 * that links only libsqlite3 (tests/bench/sqlite_query.c). */
	double t_s = time_process((char *const[]){ (char *)tu_prog("samlog"),
	    "-d", a.dir, "contact", "list", "--municipality", QUERY_MUNI,
	    "--role", QUERY_ROLE, NULL }, RUNS, &lines_s);
	double t_q = time_process((char *const[]){
	    (char *)tu_prog("bench_sqlite_query"), p100, QUERY_MUNI, QUERY_ROLE,
	    NULL }, RUNS, &lines_q);

	if (lines_s != lines_q + 1) /* samlog prints a heading */
		die("samlog and SQLite found different rows");
	row(fmt("one role in one municipality (%.0f rows), process p50",
	    (double)lines_q), fmt("%.2f ms", t_s), fmt("%.2f ms", t_q),
	    t_q / t_s, "", true);
	row("  that query's p50 beyond a bare process start",
	    fmt("%.2f ms", t_s - t_true), fmt("%.2f ms", t_q - t_true), 0,
	    "<= 0.4 ms", t_s - t_true <= 0.4);

	/* Rebuild. */
	static char out[65536];

	cli(&a, (char *const[]){ "--json", "rebuild", NULL }, out, sizeof out);
	double reb = (double)tu_json_num(out, "events") /
	    ((double)tu_json_num(out, "ms") / 1000);
	double sq_reb = sq_rebuild(&q100, n + ONE);

	row("full rebuild of the records", fmt("%.0f events/s", reb),
	    fmt("%.0f rows/s", sq_reb), reb / sq_reb, ">= 1,000,000 events/s",
	    reb >= 1e6);
	sq_close(&q100);

	/* 32 concurrent CLI clients. */
	double c0, c1, w_0, w_1;
	size_t ops;

	status_num(&a, "commits", &c0);
	status_num(&a, "writes", &w_0);
	double cl32 = concurrent(argv_add, &(struct add_arg){ &a }, secs, &ops);

	status_num(&a, "commits", &c1);
	status_num(&a, "writes", &w_1);
	row("32 concurrent CLI processes adding contacts",
	    fmt("%.0f/s", cl32), fmt("%.0f/s", true32), cl32 / true32,
	    ">= 0.5x", cl32 >= true32 / 2);
	row("  events per commit while they wrote",
	    fmt("%.2f", (w_1 - w_0) / (c1 - c0)), "", 0, "", true);

	/* Catch-up: of the CLI-made contacts, and of store-filled ones. */
	long have_a, have_c;
	char err[256];

	node_init(&b, tmp, "b");
	double tb = catch_up(&b, &a, &have_a);

	node_init(&c, tmp, "c");
	node_start(&c);
	node_stop(&c);
	if (tu_fill(c.dir, n, err, sizeof err) != 0)
		die(err);
	node_start(&c);
	node_init(&d, tmp, "d");
	double td = catch_up(&d, &c, &have_c);
	double rb = (double)have_a / tb, rd = (double)have_c / td;

	row("catch-up of CLI-made contacts, verified, stored, folded",
	    fmt("%.0f events/s", rb), "", 0, ">= 1,000,000 events/s",
	    rb >= 1e6);
	row("catch-up of store-filled contacts (one field each)",
	    fmt("%.0f events/s", rd), "", rb / rd,
	    "CLI-made >= 0.8x", rb >= 0.8 * rd);
	node_stop(&c);
	node_stop(&d);

	/* Live propagation A -> B. */
	int fa = connect_ctl(&a), fb = connect_ctl(&b);
	double lat[RUNS];
	char id[64], name[64];

	if (fa < 0 || fb < 0)
		die("cannot connect to the control sockets");
	for (int i = 0; i < RUNS; i++) {
		snprintf(name, sizeof name, "Live %d", i);
		id[0] = 0;
		if (request(fa, "contact.add", "name", name, id, sizeof id) !=
		    0 || id[0] == 0)
			die("contact.add failed");
		t0 = tu_now_s();
		while (request(fb, "contact.show", "id", id, NULL, 0) != 0) {
			if (tu_now_s() - t0 > 10)
				die("a write did not reach the peer in 10 s");
			usleep(100); /* leave the peer's core to its sync */
		}
		lat[i] = (tu_now_s() - t0) * 1000;
		usleep(5000);
	}
	close(fa);
	close(fb);
	qsort(lat, RUNS, sizeof *lat, cmp_double);
	row("live propagation to a linked node, p50 / p99",
	    fmt("%.2f ms", lat[RUNS / 2]), "", 0, "", true);
	row("  p99", fmt("%.2f ms", lat[RUNS * 99 / 100]), "", 0, "<= 3 ms",
	    lat[RUNS * 99 / 100] <= 3);
	node_stop(&a);
	node_stop(&b);

	/* 1,000 per commit, on to `big`. */
	sq_open(&q1000, p1000);
	double sq1k = sq_load(&q1000, 0, n, 1000);
	double sq1k_last = big >= 2 * n ? (sq_load(&q1000, n, big - n, 1000),
	    sq_load(&q1000, big - n, big, 1000)) : sq1k;

	sq_close(&q1000);
	node_up(&g, tmp, "g");
	double g1k = samlog_load(&g, 0, n, 1000);
	double g1k_last = big >= 2 * n ? (samlog_load(&g, n, big - n, 1000),
	    samlog_load(&g, big - n, big, 1000)) : g1k;

	row("pipelined writes with records, 1,000 per commit",
	    fmt("%.0f/s", g1k), fmt("%.0f/s", sq1k), g1k / sq1k, ">= 3.5x",
	    g1k / sq1k >= 3.5);
	if (big >= 2 * n) {
		row(fmt("  the same, from %.0f records on", (double)(big - n)),
		    fmt("%.0f/s", g1k_last), fmt("%.0f/s", sq1k_last),
		    g1k_last / sq1k_last, "", true);
		row(fmt("  samlog's first %.0f against its last", (double)n),
		    "", "", g1k / g1k_last, "<= 2x", g1k <= 2 * g1k_last);
	}
	sleep(5); /* the daemon trims itself after 2-4 s without requests */
	long anon, file;

	rss_kib(g.pid, &anon, &file);
	row(fmt("daemon resident memory idle after %.0f events", (double)big),
	    fmt("%.1f MiB", (double)(anon + file) / 1024), "", 0, "<= 16 MiB",
	    anon + file <= 16 * 1024);
	printf("\n(the daemon's own memory %.1f MiB, its mapped store %.1f MiB)"
	    "\n", (double)anon / 1024, (double)file / 1024);
	node_stop(&g);
	free(p100);
	free(p1000);
	free(lm);
	tu_rmtree(tmp);
	return 0;
}
