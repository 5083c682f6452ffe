/*
 * test_fault.c - faults injected under real daemons syncing over TLS on
 * loopback: a relay that cuts, delays, splits, corrupts and stalls the
 * stream; kill -9 of the sender during catch-up and of both nodes during
 * heavy appends; the disk filling up under a node; clocks a year ahead
 * and a year behind.  After each, the nodes converge to the same
 * projections, verify is clean everywhere, and every operation a client
 * saw acknowledged is there.
 *
 * SAMLOG_FAULT_SEED replays a run's dice (the seed is printed).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cluster.h"
#include "fill.h"
#include "relay.h"

#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

static unsigned seed;
static struct relay relay;
static char mounted[600];

static int
setup(void **state)
{
	const char *s = getenv("SAMLOG_FAULT_SEED");

	seed = s != NULL ? (unsigned)strtoul(s, NULL, 10) :
	    (unsigned)time(NULL);
	srandom(seed);
	print_message("fault seed %u (SAMLOG_FAULT_SEED=%u replays it)\n",
	    seed, seed);
	return cl_setup(state);
}

/* After each test: the relay and any tmpfs go too. */
static int
reap(void **state)
{
	relay_stop(&relay);
	cl_reap(state);
	if (mounted[0] != '\0') {
		umount2(mounted, MNT_DETACH);
		mounted[0] = '\0';
	}
	return 0;
}

static void
sleep_ms(unsigned ms)
{
	usleep(ms * 1000u);
}

/* ---- a misbehaving network ----------------------------------------------- */

static void
test_relay_chaos(void **state)
{
	struct node a, b, *all[] = { &a, &b };
	char err[256], stats[640];
	struct writers *wa, *wb;
	uint64_t t0;

	(void)state;
	node_init(&a, "ra", "A");
	node_init(&b, "rb", "B");
	/* A history worth catching up on: some 2 MB. */
	assert_int_equal(tu_fill(a.dir, 10000, err, sizeof err), 0);
	node_start(&a);
	node_start(&b);
	snprintf(stats, sizeof stats, "%s/relay.stats", cl_tmp);
	assert_int_equal(relay_start(&relay, a.listen, RELAY_CUT |
	    RELAY_DELAY | RELAY_SPLIT | RELAY_DROP | RELAY_STALL, seed,
	    stats), 0);
	trust(&a, &b, false);
	trust_at(&b, &a, relay.addr);
	/* Clients write on both sides all through. */
	wa = writers_start(&a, 2, "ra", seed, true);
	wb = writers_start(&b, 2, "rb", seed + 1, true);
	t0 = now_ms();
	while (now_ms() - t0 < 40000 &&
	    (now_ms() - t0 < 8000 || relay_broken(&relay) < 8))
		sleep_ms(200);
	print_message("relay broke %d connections in %llu ms\n",
	    relay_broken(&relay), (unsigned long long)(now_ms() - t0));
	assert_true(relay_broken(&relay) >= 8);
	long acked = writers_stop(wa) + writers_stop(wb);

	assert_true(acked > 0);
	/* The network heals; everything arrives. */
	relay_calm(&relay);
	wait_converged(all, 2);
	assert_same_export(all, 2);
	writers_check(wa, all, 2);
	writers_check(wb, all, 2);
	/* A corrupted or cut stream is a broken connection, never a
	 * refused event or a fork. */
	struct tu_run *r = ok(sl(&b, "status", "--json", NULL));

	assert_int_equal(tu_json_num(r->out, "refused"), 0);
	assert_int_equal(tu_json_num(r->out, "forks"), 0);
	writers_free(wa);
	writers_free(wb);
	relay_stop(&relay);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

/* ---- kill -9 --------------------------------------------------------------- */

static void
test_kill_sender_in_catch_up(void **state)
{
	struct node a, b, *all[] = { &a, &b };
	char err[256], stats[640];
	long n = 0;

	(void)state;
	node_init(&a, "ka", "A");
	node_init(&b, "kb", "B");
	assert_int_equal(tu_fill(a.dir, 30000, err, sizeof err), 0);
	node_start(&a);
	node_start(&b);
	/* A slow line (each 16 KiB held up to 20 ms), so that there is a
	 * transfer to interrupt. */
	snprintf(stats, sizeof stats, "%s/slow.stats", cl_tmp);
	assert_int_equal(relay_start(&relay, a.listen, RELAY_DELAY, seed,
	    stats), 0);
	trust(&a, &b, false);
	trust_at(&b, &a, relay.addr);
	/* The sender dies with part of its log across. */
	for (int i = 0; i < 5000 && (n = events(&b)) < 3000; i++)
		sleep_ms(2);
	assert_int_equal(node_stop(&a, SIGKILL), 128 + SIGKILL);
	assert_true(n < 30002);
	node_start(&a);   /* same port: b redials */
	/* And then the receiver, further on. */
	for (int i = 0; i < 5000 && (n = events(&b)) < 15000; i++)
		sleep_ms(2);
	assert_int_equal(node_stop(&b, SIGKILL), 128 + SIGKILL);
	assert_true(n < 30002);
	node_start(&b);
	wait_events(all, 2, 30002);
	assert_same(all, 2);
	relay_stop(&relay);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

static void
test_kill_during_appends(void **state)
{
	struct node a, b, *all[] = { &a, &b };
	struct writers *wa, *wb;

	(void)state;
	node_init(&a, "wa", "A");
	node_init(&b, "wb", "B");
	node_start(&a);
	node_start(&b);
	trust(&a, &b, false);
	trust(&b, &a, true);
	wa = writers_start(&a, 4, "wa", seed, true);
	wb = writers_start(&b, 2, "wb", seed + 1, true);
	/* Each node dies twice, hard, while its clients write. */
	for (int round = 0; round < 2; round++) {
		struct node *victim[] = { &a, &b };

		for (int v = 0; v < 2; v++) {
			sleep_ms(700 + (unsigned)(random() % 800));
			assert_int_equal(node_stop(victim[v], SIGKILL),
			    128 + SIGKILL);
			sleep_ms(300);
			node_start(victim[v]);
		}
	}
	sleep_ms(500);
	long acked = writers_stop(wa) + writers_stop(wb);
	long failed = writers_failures(wa) + writers_failures(wb);

	print_message("%ld operations acknowledged, %ld failed and retried\n",
	    acked, failed);
	/* The kills did land while clients were writing. */
	assert_true(failed > 0);
	wait_converged(all, 2);
	assert_same_export(all, 2);
	writers_check(wa, all, 2);
	writers_check(wb, all, 2);
	writers_free(wa);
	writers_free(wb);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

/* ---- a power cut ----------------------------------------------------------- */

/* Reads all of path (NULL if there is none); *len its size. */
static uint8_t *
file_get(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *b;

	*len = 0;
	if (fd < 0 && errno == ENOENT)
		return NULL;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	assert_non_null(b = malloc(*len + 1));
	assert_int_equal(pread(fd, b, *len, 0), (ssize_t)*len);
	close(fd);
	return b;
}

static void
file_put(const char *path, const uint8_t *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, b, len, 0), (ssize_t)len);
	assert_int_equal(fsync(fd), 0);
	close(fd);
}

/* Every contact named in names[0..n) is listed by a, once. */
static void
assert_contacts(const struct node *a, char names[][32], int n)
{
	const char *out = ok(sl(a, "contact", "list", NULL))->out;

	for (int i = 0; i < n; i++) {
		const char *at = strstr(out, names[i]);

		if (at == NULL || strstr(at + 1, names[i]) != NULL)
			fail_msg("contact %s is %s after the power cut",
			    names[i], at == NULL ? "missing" : "there twice");
	}
}

/*
 * samlogd syncs once per commit: the commit's events go to the
 * write-ahead file, synced, and LMDB's own pages are synced only at a
 * checkpoint.  A power cut may then leave LMDB's file with any of the
 * writes made since the checkpoint, or none, and its meta pages (which
 * carry no checksum) naming pages that never reached the disk.  Both
 * ends of that are made by hand here, from the files a kill -9 left:
 *   - every page written since the checkpoint on disk, but the two
 *     meta pages torn (random bytes);
 *   - no page written since the checkpoint on disk, the meta pages
 *     written since are.
 * After each, every contact a client saw acknowledged is there once and
 * the log verifies.
 */
#define REPLAYED "events written after the store's last checkpoint"

static void
test_power_cut(void **state)
{
	struct node a;
	char names[60][32], data[700], wal[700], lock[700];
	size_t psize = (size_t)sysconf(_SC_PAGESIZE), len0, len1, lenw;
	uint8_t *f0, *f1, *w1, *cut;
	int n = 0;

	(void)state;
	node_init(&a, "pc", "A");
	node_start(&a);
	snprintf(data, sizeof data, "%s/store/data.mdb", a.dir);
	snprintf(wal, sizeof wal, "%s/store/wal", a.dir);
	snprintf(lock, sizeof lock, "%s/store/lock.mdb", a.dir);
	for (; n < 30; n++) {
		snprintf(names[n], sizeof names[n], "Kontakt Före %02d", n);
		add_contact(&a, names[n]);
	}
	/* Idle: samlogd checkpoints.  This file is what the disk holds
	 * for certain from here on. */
	sleep_ms(5000);
	f0 = file_get(data, &len0);
	/* Acknowledged one by one, then the cut, before the next idle
	 * checkpoint could come (two seconds without a request). */
	for (; n < 50; n++) {
		snprintf(names[n], sizeof names[n], "Kontakt Efter %02d", n);
		add_contact(&a, names[n]);
	}
	assert_int_equal(node_stop(&a, SIGKILL), 128 + SIGKILL);
	f1 = file_get(data, &len1);
	w1 = file_get(wal, &lenw);
	assert_true(len0 >= 2 * psize && len1 >= len0);

	/* Every page since the checkpoint there, the meta pages torn. */
	assert_non_null(cut = malloc(len1));
	memcpy(cut, f1, len1);
	for (size_t i = 0; i < 2 * psize; i++)
		cut[i] = (uint8_t)random();
	file_put(data, cut, len1);
	unlink(lock);
	node_start(&a);
	assert_int_equal(log_count(&a, REPLAYED), 1);
	assert_contacts(&a, names, n);
	assert_int_equal(ok(sl(&a, "verify", NULL))->status, 0);
	assert_int_equal(node_stop(&a, SIGTERM), 0);

	/* No page since the checkpoint there but the meta pages. */
	memset(cut, 0, len1);
	memcpy(cut, f0, len0);
	memcpy(cut, f1, 2 * psize);
	file_put(data, cut, len1);
	if (w1 != NULL)
		file_put(wal, w1, lenw);
	unlink(lock);
	node_start(&a);
	assert_int_equal(log_count(&a, REPLAYED), 2);
	assert_contacts(&a, names, n);
	assert_int_equal(ok(sl(&a, "verify", NULL))->status, 0);
	/* And one more write on top of it all. */
	snprintf(names[n], sizeof names[n], "Kontakt Sist");
	add_contact(&a, names[n++]);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	node_start(&a);
	assert_contacts(&a, names, n);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	free(cut);
	free(f0);
	free(f1);
	free(w1);
}

/* ---- a full disk ----------------------------------------------------------- */

/* Fills the file system under dir with a ballast file until it is full. */
static void
fill_disk(const char *path)
{
	static char block[65536];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	memset(block, 0xa5, sizeof block);
	for (;;) {
		ssize_t w = write(fd, block, sizeof block);

		if (w < (ssize_t)sizeof block) {
			/* The last few pages, byte by bytes' worth. */
			while (write(fd, block, 512) > 0)
				;
			assert_int_equal(errno, ENOSPC);
			break;
		}
	}
	close(fd);
}

static void
test_disk_full(void **state)
{
	struct node a, b, *all[] = { &a, &b };
	char ballast[640], dir[600];
	struct tu_run *r;
	struct writers *wb;
	int refused = 0;
	long held;

	(void)state;
	snprintf(dir, sizeof dir, "%s/da", cl_tmp);
	assert_int_equal(mkdir(dir, 0700), 0);
	if (mount("tmpfs", dir, "tmpfs", 0, "size=16m,mode=0700") != 0) {
		print_message("cannot mount a tmpfs (%s): needs root; "
		    "skipped\n", strerror(errno));
		skip();
	}
	snprintf(mounted, sizeof mounted, "%s", dir);
	node_init(&a, "da", "A");
	node_init(&b, "db", "B");
	node_start(&a);
	node_start(&b);
	trust(&a, &b, false);
	trust(&b, &a, true);
	add_contact(&a, "Före");
	wait_events(all, 2, 3);
	/* The disk under a fills up; b's clients go on writing. */
	snprintf(ballast, sizeof ballast, "%s/ballast", dir);
	fill_disk(ballast);
	wb = writers_start(&b, 2, "db", seed, false);
	/* Appends on a fail, one clear line, exit 1; LMDB may still find a
	 * freed page or two for the first ones. */
	for (int i = 0; i < 400 && refused == 0; i++) {
		char name[32];

		snprintf(name, sizeof name, "Full %d", i);
		r = sl(&a, "contact", "add", "--name", name, NULL);
		if (r->status == 0)
			continue;
		assert_int_equal(r->status, 1);
		assert_int_equal(tu_lines(r->err), 1);
		print_message("a full disk says: %s", r->err);
		assert_non_null(strstr(r->err, "space"));
		refused++;
	}
	assert_int_equal(refused, 1);
	/* It keeps serving reads and stays whole. */
	held = events(&a);
	ok(sl(&a, "contact", "list", NULL));
	assert_int_equal(ok(sl(&a, "verify", NULL))->status, 0);
	sleep_ms(1500);
	assert_int_equal(events(&a), held);
	/* Space comes back: appends and sync resume by themselves. */
	assert_int_equal(unlink(ballast), 0);
	add_contact(&a, "Efter");
	assert_int_equal(kill(a.pid, 0), 0);
	sleep_ms(500);
	writers_stop(wb);
	wait_converged(all, 2);
	assert_same_export(all, 2);
	writers_check(wb, all, 2);
	writers_free(wb);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
	assert_int_equal(umount2(dir, 0), 0);
	mounted[0] = '\0';
}

/* ---- clocks ---------------------------------------------------------------- */

static void
test_clock_skew(void **state)
{
	static char *ahead[] = { "LD_PRELOAD=" FAKETIME_LIB,
		"FAKETIME=+400d", "FAKETIME_DONT_FAKE_MONOTONIC=1",
		"ASAN_OPTIONS=verify_asan_link_order=0", NULL };
	static char *behind[] = { "LD_PRELOAD=" FAKETIME_LIB,
		"FAKETIME=-400d", "FAKETIME_DONT_FAKE_MONOTONIC=1",
		"ASAN_OPTIONS=verify_asan_link_order=0", NULL };
	static char *later[] = { "LD_PRELOAD=" FAKETIME_LIB,
		"FAKETIME=+401d", "FAKETIME_DONT_FAKE_MONOTONIC=1",
		"ASAN_OPTIONS=verify_asan_link_order=0", NULL };
	struct node a, f, p, *all[] = { &a, &f, &p };
	struct writers *w[3];
	char id[64];

	(void)state;
	if (access(FAKETIME_LIB, R_OK) != 0)
		fail_msg("%s is missing (Debian package faketime)",
		    FAKETIME_LIB);
	node_init(&a, "ca", "A");
	node_init(&f, "cf", "Ahead");
	node_init(&p, "cp", "Behind");
	f.env = ahead;
	p.env = behind;
	node_start(&a);
	node_start(&f);
	node_start(&p);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			if (i != j)
				trust(all[i], all[j], i < j);
	/* A contact made by the node ahead: every event it stamps is next
	 * year's, and waits on the others until their clocks get there. */
	char *show = ok(sl(&f, "contact", "add", "--name", "Framtid",
	    NULL))->out;
	char fid[64];

	snprintf(fid, sizeof fid, "%.*s", (int)strcspn(show, "\n"), show);
	snprintf(id, sizeof id, "%s", add_contact(&a, "Delad"));
	for (int i = 0; i < 3; i++)
		w[i] = writers_start(all[i], 2, all[i]->name, seed + (unsigned)i,
		    true);
	sleep_ms(2000);
	for (int i = 0; i < 3; i++)
		writers_stop(w[i]);
	/* Every event is stored everywhere (the logs converge)... */
	wait_converged(all, 3);
	struct tu_run *r = ok(sl(&f, "contact", "show", fid, "--json", NULL));
	time_t then = time(NULL) + 400 * 86400;
	struct tm tm;
	char year[32];

	gmtime_r(&then, &tm);
	snprintf(year, sizeof year, "\"created\": \"%d-", tm.tm_year + 1900);
	if (strstr(r->out, year) == NULL)
		fail_msg("the node ahead did not stamp %s: %s", year, r->out);
	/* ...but a member's clock is a claim: a shows nothing of what the
	 * node ahead wrote, and counts it as waiting; the node behind holds
	 * everyone else's events the same way. */
	r = sl(&a, "contact", "show", fid, NULL);
	if (r->status != 1)
		fail_msg("a shows the contact stamped next year: %s", r->out);
	r = ok(sl(&a, "status", "--json", NULL));
	if (tu_json_num(r->out, "future") < 1)
		fail_msg("a counts nothing as waiting for the clock: %s", r->out);
	r = ok(sl(&p, "status", "--json", NULL));
	if (tu_json_num(r->out, "future") < 1)
		fail_msg("p counts nothing as waiting for the clock: %s", r->out);
	/* Having heard from it does not drag a's own clock along: a's next
	 * event is stamped this year, not next. */
	char *mine = add_contact(&a, "Nutid");

	then = time(NULL);
	gmtime_r(&then, &tm);
	snprintf(year, sizeof year, "\"created\": \"%d-", tm.tm_year + 1900);
	r = ok(sl(&a, "contact", "show", mine, "--json", NULL));
	if (strstr(r->out, year) == NULL)
		fail_msg("a's own clock was dragged along: %s", r->out);
	wait_converged(all, 3);
	/* When every clock has got there (a day past the node ahead), every
	 * waiting event is folded and the three show the same records, with
	 * every acknowledged write. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
		all[i]->env = later;
		node_start(all[i]);
	}
	wait_converged(all, 3);
	for (int k = 0; k < 100; k++) {
		long waiting = 0;

		for (int i = 0; i < 3; i++)
			waiting += tu_json_num(ok(sl(all[i], "status", "--json",
			    NULL))->out, "future");
		if (waiting == 0)
			break;
		sleep_ms(100);
	}
	assert_same_export(all, 3);
	for (int i = 0; i < 3; i++)
		writers_check(w[i], all, 3);
	ok(sl(&a, "contact", "show", fid, NULL));
	for (int i = 0; i < 3; i++) {
		writers_free(w[i]);
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_relay_chaos, reap),
		cmocka_unit_test_teardown(test_kill_sender_in_catch_up, reap),
		cmocka_unit_test_teardown(test_kill_during_appends, reap),
		cmocka_unit_test_teardown(test_power_cut, reap),
		cmocka_unit_test_teardown(test_disk_full, reap),
		cmocka_unit_test_teardown(test_clock_skew, reap),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, cl_teardown);
}
