/*
 * test_hostile.c - hostile input against a real samlogd: a victim daemon
 * and an honest peer syncing with it over TLS on loopback, and an
 * attacker that lives in this process.
 *
 * The attacker is a real peer built from the project's own code: a node
 * directory made by `samlog init` (its daemon never runs), its key loaded
 * as samlogd loads it, TLS 1.3 from daemon/tls.c on memory BIOs over a
 * plain blocking socket, frames encoded as the daemon encodes them, and
 * signed events written into its own store with store_append.  What it
 * does: connect as a non-member; replay old frames as a member; send a
 * second, validly signed history of its own key, and a new one on every
 * connection; claim the victim's own events it does not have, and
 * another tip for an honest origin; send frames that are empty,
 * oversize, cut short or of the wrong type, and bytes that are not TLS
 * at all; hold a thousand idle connections open; and write text with
 * terminal control sequences (and maps keyed by integers) into the
 * shared record, which no command may then print raw; and send full
 * frames, which the victim holds back to commit together: the last or
 * the first of them with a broken signature, a WHOLE behind them, and
 * the victim's own events, which it lacks.
 *
 * After every case the victim must still run, answer the CLI, sync new
 * events with its honest peer, verify clean, and have logged the case
 * exactly once, naming the attacker's key or address; a flood of
 * connections, in a bounded number of lines.  Its memory and descriptors
 * are measured (/proc) and must stay bounded.
 *
 * Time: about 70 s: 40 s for the first cases, most of it the 30 s a member
 * stalled inside a frame takes to be cut off, during which the other
 * cases run; 30 s of claims to the victim's own chain; 15 s of forks.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/ssl.h>

#include "attacker.h"
#include "cluster.h"
#include "samlog_proto.h"
#include "store.h"
#include "sync.h"
#include "testutil.h"
#include "tls.h"

/*
 * Growth allowed in the victim's resident memory on top of each case's
 * own bound.  Under ASan freed memory waits in a quarantine (16 MiB for
 * the victim, see scene_env) before it is reused, and the allocator has
 * shadow pages and caches of its own: measured at 26-27 MiB in both the
 * malformed frames and the flood.
 */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_EXTRA_KB (32 * 1024)
#else
#define RSS_EXTRA_KB 0
#endif

/* The victim's timeouts (daemon/sync.c), as the tests observe them. */
#define HANDSHAKE_S 5
#define SILENCE_S 30

#define GARBAGE_SRC "127.0.0.3"

/* ---- the victim's log --------------------------------------------------- */

static long
log_mark(const struct node *n)
{
	struct stat st;

	return stat(n->log, &st) == 0 ? (long)st.st_size : 0;
}

/* True if line names w: a name or key anywhere, an address only where
 * it is not the start of a longer port. */
static bool
names(const char *line, const char *w)
{
	size_t wl = strlen(w);

	for (const char *p = line; (p = strstr(p, w)) != NULL; p += wl)
		if (!isdigit((unsigned char)p[wl]))
			return true;
	return false;
}

/* Lines of n's log after mark that name any of who (NULL-terminated)
 * and, if need is not NULL, contain it; copies of them go to out. */
static int
log_lines(const struct node *n, long mark, const char *const *who,
    const char *need, char *out, size_t olen)
{
	FILE *f = fopen(n->log, "r");
	char line[4096];
	size_t used = 0;
	int k = 0;

	if (out != NULL && olen > 0)
		out[0] = '\0';
	if (f == NULL)
		return 0;
	fseek(f, mark, SEEK_SET);
	while (fgets(line, sizeof line, f) != NULL) {
		bool hit = false;

		for (size_t i = 0; who[i] != NULL && !hit; i++)
			hit = names(line, who[i]);
		if (!hit || (need != NULL && strstr(line, need) == NULL))
			continue;
		k++;
		if (out != NULL && used < olen) {
			int w = snprintf(out + used, olen - used, "  %s", line);

			used += w > 0 ? (size_t)w : 0;
		}
	}
	fclose(f);
	return k;
}

/*
 * The case is in n's log exactly once: after mark, one line names one of
 * who and says need, and it also carries must (the key or address); in
 * all, total lines name one of who (a session's start and its end, say).
 * Waits up to 5 s for the line to appear.
 */
static void
expect_logged(const struct node *n, long mark, const char *const *who,
    const char *must, const char *need, int total)
{
	static char got[16384];
	uint64_t end = now_ms() + 5000;
	int k, all;

	while (log_lines(n, mark, who, need, NULL, 0) == 0 && now_ms() < end)
		usleep(20000);
	k = log_lines(n, mark, who, need, got, sizeof got);
	if (k != 1 || !names(got, must))
		fail_msg("%s: %d lines say \"%s\" naming %s (want 1 that "
		    "names %s):\n%s", n->name, k, need, who[0], must, got);
	all = log_lines(n, mark, who, NULL, got, sizeof got);
	if (all != total)
		fail_msg("%s: %d lines name %s (want %d):\n%s", n->name, all,
		    who[0], total, got);
}

/* ---- /proc -------------------------------------------------------------- */

static int
fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- 1. a non-member --------------------------------------------------- */

static void
test_non_member(void **state)
{
	struct scene s;
	struct ident x;
	struct atk a;
	struct sl_buf b;
	long mark;
	char needle[128];

	(void)state;
	scene_start(&s, "nm");
	ident_init(&x, "x-nm");
	struct store *xs = chain_open(&x, "store");
	struct rec r1 = chain_add(xs, &x, "Inkräktare");
	struct vent vec[] = { { x.key.pub, 1, r1.hash } };

	store_close(xs);
	/* A valid Ed25519 node key that the victim has never heard of.  TLS
	 * 1.3 finishes on the client's side before the server has checked
	 * the client's certificate, so the frames go out; none may be
	 * read. */
	mark = log_mark(&s.v);
	atk_connect(&a, &s.v, NULL);
	if (atk_tls(&a, x.ssl)) {
		atk_hello(&a, vec, 1);
		atk_events(&a, &r1, 1);
	}
	assert_true(atk_wait_closed(&a, 10000));
	assert_false(a.hello);
	snprintf(needle, sizeof needle, "node %s is not a member", x.n.id);
	expect_logged(&s.v, mark, (const char *[]){ a.addr, x.n.id, NULL },
	    a.addr, needle, 1);
	atk_close(&a);

	/* No certificate at all. */
	SSL_CTX *bare = SSL_CTX_new(TLS_client_method());

	assert_non_null(bare);
	SSL_CTX_set_min_proto_version(bare, TLS1_3_VERSION);
	SSL_CTX_set_verify(bare, SSL_VERIFY_NONE, NULL);
	mark = log_mark(&s.v);
	atk_connect(&a, &s.v, NULL);
	if (atk_tls(&a, bare)) {
		hello_body(&b, SL_PEER_VERSION, vec, 1);
		atk_frame(&a, SL_PEER_HELLO, b.p, b.len);
		free(b.p);
	}
	assert_true(atk_wait_closed(&a, 10000));
	assert_false(a.hello);
	expect_logged(&s.v, mark, (const char *[]){ a.addr, NULL }, a.addr,
	    "TLS handshake failed", 1);
	atk_close(&a);
	SSL_CTX_free(bare);

	/* Nothing of the stranger's arrived, nothing was kept of it, and
	 * the victim goes on. */
	assert_int_equal(events(&s.v), s.count);
	assert_int_equal(victim_num(&s, "refused"), 0);
	assert_null(strstr(ok(sl(&s.v, "peer", "list", NULL))->out, x.n.id));
	scene_check(&s, "after a non-member");
	free(r1.p);
	ident_free(&x);
	scene_stop(&s);
}

/* ---- 2. a member replaying old frames ---------------------------------- */

static void
test_replay(void **state)
{
	struct scene s;
	struct ident m;
	struct atk a;
	struct rec r[5];
	uint8_t vk[SL_KEY_LEN], hk[SL_KEY_LEN];
	long mark, base;

	(void)state;
	scene_start(&s, "rp");
	ident_init(&m, "m-rp");
	scene_member(&s, &m);
	assert_true(sl_b32_decode(vk, SL_KEY_LEN, s.v.id));
	assert_true(sl_b32_decode(hk, SL_KEY_LEN, s.h.id));
	struct store *ms = chain_open(&m, "store");

	for (int i = 0; i < 3; i++)
		r[i] = chain_add(ms, &m, "Återspelad");
	/* It says it holds nothing, so the victim sends it everything: its
	 * own events, the honest peer's, and later the member's own back. */
	struct vent vec[] = { { m.key.pub, 0, NULL }, { vk, 0, NULL },
		{ hk, 0, NULL } };

	mark = log_mark(&s.v);
	base = s.count;
	/* The first session, on tape (its HELLO too). */
	atk_start(&a, &m, &s.v);
	a.capture = true;
	a.taping = true;
	atk_hello(&a, vec, 3);
	assert_true(atk_wait_hello(&a, 10000));
	for (int i = 0; i < 3; i++)
		atk_events(&a, &r[i], 1);
	a.taping = false;
	s.count += 3;
	scene_wait(&s, WAIT_MS);
	/* The same records again on the same connection: one by one, the
	 * oldest alone, all three in one frame, a suffix. */
	atk_events(&a, &r[0], 1);
	atk_events(&a, &r[1], 2);
	atk_events(&a, &r[0], 3);
	atk_events(&a, &r[2], 1);
	atk_events(&a, &r[0], 1);
	/* Every EVENTS frame the victim sent us, sent back to it. */
	for (int k = 0; k < 20 && a.ncap < 3; k++)
		atk_poll(&a, 100);
	assert_true(a.ncap >= 2);
	for (size_t i = 0; i < a.ncap; i++)
		atk_frame(&a, SL_PEER_EVENTS, a.cap[i].p, a.cap[i].len);
	/* A new event behind all that: it is taken, so the replays neither
	 * broke the session nor got the member refused. */
	r[3] = chain_add(ms, &m, "Ny efter återspelning");
	atk_events(&a, &r[3], 1);
	s.count += 1;
	scene_wait(&s, WAIT_MS);
	assert_false(a.closed);
	struct sl_buf tape = a.tape, caps[ATK_CAPTURE];
	size_t ncap = a.ncap;

	a.tape = (struct sl_buf){ 0 };
	memcpy(caps, a.cap, ncap * sizeof caps[0]);
	a.ncap = 0;
	char addr1[64];

	snprintf(addr1, sizeof addr1, "%s", a.addr);
	atk_end(&a);
	expect_logged(&s.v, mark, (const char *[]){ addr1, NULL }, addr1,
	    "connection closed by the peer", 2);

	/* A new connection replays the whole first session byte for byte
	 * (HELLO and all), then the victim's own frames again. */
	mark = log_mark(&s.v);
	atk_start(&a, &m, &s.v);
	atk_write(&a, tape.p, tape.len);
	assert_true(atk_wait_hello(&a, 10000));
	for (size_t i = 0; i < ncap; i++)
		atk_frame(&a, SL_PEER_EVENTS, caps[i].p, caps[i].len);
	r[4] = chain_add(ms, &m, "Andra sessionen");
	atk_events(&a, &r[4], 1);
	s.count += 1;
	scene_wait(&s, WAIT_MS);
	assert_false(a.closed);
	snprintf(addr1, sizeof addr1, "%s", a.addr);
	atk_end(&a);
	expect_logged(&s.v, mark, (const char *[]){ addr1, NULL }, addr1,
	    "connection closed by the peer", 2);

	/* Nothing changed but the two new events: no refusal, no fork, no
	 * complaint in the log. */
	assert_int_equal(events(&s.v), base + 5);
	assert_int_equal(victim_num(&s, "refused"), 0);
	assert_int_equal(victim_num(&s, "forks"), 0);
	assert_int_equal(log_lines(&s.v, 0, (const char *[]){ m.n.name,
	    m.n.id, NULL }, "refused", NULL, 0), 0);
	assert_int_equal(log_lines(&s.v, 0, (const char *[]){ m.n.name,
	    NULL }, "malformed", NULL, 0), 0);
	scene_check(&s, "after replays");
	free(tape.p);
	for (size_t i = 0; i < ncap; i++)
		free(caps[i].p);
	for (int i = 0; i < 5; i++)
		free(r[i].p);
	store_close(ms);
	ident_free(&m);
	scene_stop(&s);
}

/* ---- 3. a member sending a fork ------------------------------------------ */

static void
test_fork(void **state)
{
	struct scene s;
	struct ident m;
	struct atk a;
	struct store_ingest_result res;
	long mark;
	char needle[160];

	(void)state;
	scene_start(&s, "fk");
	ident_init(&m, "m-fk");
	scene_member(&s, &m);
	/* Two histories of the member's own key that share seq 1: a2 and
	 * b2 are both validly signed events at seq 2. */
	struct store *sa = chain_open(&m, "store");
	struct store *sb = chain_open(&m, "fork");
	struct rec a1 = chain_add(sa, &m, "Gemensam början");
	struct rec a2 = chain_add(sa, &m, "Historia A");

	assert_int_equal(store_ingest(sb, (const uint8_t *const[]){ a1.p },
	    (const size_t[]){ a1.len }, 1, &res), SL_OK);
	struct rec b2 = chain_add(sb, &m, "Historia B");

	assert_int_equal(b2.seq, 2);
	assert_memory_not_equal(a2.hash, b2.hash, SL_HASH_LEN);
	struct vent vec[] = { { m.key.pub, 1, a1.hash } };

	atk_session(&a, &m, &s.v, vec, 1);
	atk_events(&a, &a1, 1);
	atk_events(&a, &a2, 1);
	s.count += 2;
	scene_wait(&s, WAIT_MS);
	/* Now the other history's seq 2, twice, and a2 again. */
	mark = log_mark(&s.v);
	atk_events(&a, &b2, 1);
	atk_events(&a, &b2, 1);
	atk_events(&a, &a2, 1);
	char addr[64];

	snprintf(addr, sizeof addr, "%s", a.addr);
	atk_end(&a);
	/* The victim proves the fork to its peers (PROTOCOL.md 16): one
	 * event of its own, which the honest peer takes too. */
	s.count++;
	scene_wait(&s, WAIT_MS);
	assert_int_equal(victim_num(&s, "forks"), 1);
	assert_int_equal(victim_num(&s, "refused"), 0);
	assert_int_equal(events(&s.v), s.count);
	assert_non_null(strstr(ok(sl(&s.h, "status", "--json", NULL))->out,
	    "signed two histories"));
	/* One line for the fork, with the key; one for the end of the
	 * session. */
	expect_logged(&s.v, mark, (const char *[]){ m.n.name, m.n.id, addr,
	    NULL }, m.n.id, "kept as evidence", 2);
	assert_non_null(strstr(ok(sl(&s.v, "status", "--json", NULL))->out,
	    "differs from the event"));

	/* A second session that shows the other history in its HELLO: the
	 * victim logs the member's claim, sends its own seq 2, and the
	 * fork, sent again, changes nothing and is logged once more for
	 * this session. */
	struct vent vec2[] = { { m.key.pub, 2, b2.hash } };

	mark = log_mark(&s.v);
	atk_start(&a, &m, &s.v);
	a.capture = true;
	atk_hello(&a, vec2, 1);
	assert_true(atk_wait_hello(&a, 10000));
	for (int k = 0; k < 50 && a.ncap == 0; k++)
		atk_poll(&a, 100);
	assert_true(a.ncap >= 1);
	assert_non_null(memmem(a.cap[0].p, a.cap[0].len, a2.p, a2.len));
	atk_events(&a, &b2, 1);
	snprintf(addr, sizeof addr, "%s", a.addr);
	atk_end(&a);
	snprintf(needle, sizeof needle, "claims another event at seq 2 of "
	    "origin %s", m.n.id);
	expect_logged(&s.v, mark, (const char *[]){ m.n.name, m.n.id, addr,
	    NULL }, m.n.id, needle, 4);
	expect_logged(&s.v, mark, (const char *[]){ m.n.name, m.n.id, addr,
	    NULL }, m.n.id, "kept as evidence", 4);
	assert_int_equal(victim_num(&s, "forks"), 1);
	assert_int_equal(events(&s.v), s.count);
	/* The honest peer has history A, like the victim. */
	scene_check(&s, "after a fork");
	free(a1.p);
	free(a2.p);
	free(b2.p);
	store_close(sa);
	store_close(sb);
	ident_free(&m);
	scene_stop(&s);
}

/* ---- 4 and 5. malformed frames, and no TLS at all ------------------------ */

enum bad_kind {
	BAD_EVENTS_FIRST,
	BAD_HELLO_EMPTY,
	BAD_HELLO_VECTOR,
	BAD_HELLO_VERSION,
	BAD_HELLO_TRAIL,
	BAD_EVENTS_EMPTY,
	BAD_HAVE_EMPTY,
	BAD_PING_EMPTY,
	BAD_OVERSIZE,
	BAD_TYPE,
	BAD_VERSION,
	BAD_FLAGS,
	BAD_HELLO_TWICE,
	BAD_EVENTS_MAP,
	BAD_EVENTS_INT,
	BAD_HAVE_VECTOR,
	BAD_MIXED,
	BAD_TINY,
	BAD_GARBAGE,
	BAD_UNSIGNED,
	BAD_TRUNC,
	BAD_COUNT
};

static const struct bad {
	const char *what;
	bool after_hello;     /* a valid HELLO each way first */
	const char *reason;   /* in the victim's log line (and BYE) */
	bool bye;             /* the victim says BYE before closing */
} bads[BAD_COUNT] = {
	[BAD_EVENTS_FIRST] = { "EVENTS before HELLO", false,
	    "EVENTS before HELLO", true },
	[BAD_HELLO_EMPTY] = { "a 0-byte HELLO", false, "malformed HELLO",
	    true },
	[BAD_HELLO_VECTOR] = { "a HELLO whose vector has the wrong types",
	    false, "malformed HELLO (value of the wrong type)", true },
	[BAD_HELLO_VERSION] = { "a HELLO of protocol version 2", false,
	    "protocol version 2", true },
	[BAD_HELLO_TRAIL] = { "a HELLO with a byte after its map", false,
	    "malformed HELLO (trailing bytes", true },
	[BAD_EVENTS_EMPTY] = { "a 0-byte EVENTS", true,
	    "malformed EVENTS frame", true },
	[BAD_HAVE_EMPTY] = { "a 0-byte HAVE", true, "malformed HAVE", true },
	[BAD_PING_EMPTY] = { "a 0-byte PING", true, "malformed PING", true },
	[BAD_OVERSIZE] = { "a length of the cap + 1", true,
	    "bad frame header (value too long or too large)", true },
	[BAD_TYPE] = { "frame type 99", true,
	    "bad frame header (value of the wrong type)", true },
	[BAD_VERSION] = { "frame version 2", true,
	    "bad frame header (unknown format version)", true },
	[BAD_FLAGS] = { "nonzero flags", true,
	    "bad frame header (invalid value)", true },
	[BAD_HELLO_TWICE] = { "HELLO twice", true, "a second HELLO", true },
	[BAD_EVENTS_MAP] = { "EVENTS whose body is a map", true,
	    "malformed EVENTS frame", true },
	[BAD_EVENTS_INT] = { "EVENTS with an integer for a record", true,
	    "malformed EVENTS frame", true },
	[BAD_HAVE_VECTOR] = { "HAVE whose vector has the wrong types", true,
	    "malformed HAVE (value of the wrong type)", true },
	[BAD_MIXED] = { "EVENTS mixing two origins", true,
	    "an EVENTS frame mixes origins", true },
	[BAD_TINY] = { "EVENTS of exactly the cap in 1-byte records", true,
	    "an EVENTS frame of more than 4352 events", true },
	[BAD_GARBAGE] = { "EVENTS of three 1-byte records", true,
	    "sent a record that does not decode", true },
	[BAD_UNSIGNED] = { "257 events without a signature", true,
	    "more than 256 unsigned events in a row", true },
	[BAD_TRUNC] = { "a frame cut short, then the end of the stream",
	    true, "connection closed by the peer", false },
};

/* What the malformed frames are made of. */
struct ammo {
	struct rec r1;        /* a signed event of the member's */
	struct rec run[SL_SIGN_INTERVAL + 1]; /* its next events, unsigned */
};

/* Each case's connection, to look for late duplicates at the end. */
struct seen {
	char addr[64];
	int lines;
};

/* EVENTS of exactly SL_PEER_FRAME_MAX bytes: an array32 of 349,523
 * bins, all of one byte but the last (three). */
static void
tiny_body(struct sl_buf *b)
{
	uint32_t n = 349523;
	uint8_t *p = malloc(SL_PEER_FRAME_MAX);
	size_t k = 0;

	assert_non_null(p);
	p[k++] = 0xdd;
	for (int i = 3; i >= 0; i--)
		p[k++] = (uint8_t)(n >> (8 * i));
	for (uint32_t i = 0; i + 1 < n; i++) {
		p[k++] = 0xc4;
		p[k++] = 1;
		p[k++] = (uint8_t)i;
	}
	memcpy(p + k, "\xc4\x03xyz", 5);
	k += 5;
	assert_int_equal(k, SL_PEER_FRAME_MAX);
	*b = (struct sl_buf){ .p = p, .len = k, .cap = k };
}

static void
bad_send(struct atk *a, int kind, const struct ammo *am)
{
	const struct rec *r1 = &am->r1;
	struct sl_buf b = { 0 };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &b, sl_buf_write);
	switch (kind) {
	case BAD_EVENTS_FIRST:
		atk_events(a, r1, 1);
		break;
	case BAD_HELLO_EMPTY:
		atk_frame(a, SL_PEER_HELLO, NULL, 0);
		break;
	case BAD_HELLO_VECTOR:
		msgpack_pack_map(&pk, 3);
		sl_pack_cstr(&pk, "version");
		msgpack_pack_uint64(&pk, SL_PEER_VERSION);
		sl_pack_cstr(&pk, "org");
		sl_pack_cstr(&pk, "Angripare");
		sl_pack_cstr(&pk, "vector");
		msgpack_pack_array(&pk, 1);
		msgpack_pack_array(&pk, 3);
		sl_pack_cstr(&pk, "inte en nyckel");
		msgpack_pack_int(&pk, -1);
		msgpack_pack_true(&pk);
		atk_frame(a, SL_PEER_HELLO, b.p, b.len);
		break;
	case BAD_HELLO_VERSION:
		free(b.p);
		hello_body(&b, 2, NULL, 0);
		atk_frame(a, SL_PEER_HELLO, b.p, b.len);
		break;
	case BAD_HELLO_TRAIL:
		free(b.p);
		hello_body(&b, SL_PEER_VERSION, NULL, 0);
		sl_buf_write(&b, "\xc0", 1);
		atk_frame(a, SL_PEER_HELLO, b.p, b.len);
		break;
	case BAD_EVENTS_EMPTY:
		atk_frame(a, SL_PEER_EVENTS, NULL, 0);
		break;
	case BAD_HAVE_EMPTY:
		atk_frame(a, SL_PEER_HAVE, NULL, 0);
		break;
	case BAD_PING_EMPTY:
		atk_frame(a, SL_PEER_PING, NULL, 0);
		break;
	case BAD_OVERSIZE:
		/* The header alone: it is refused before any body. */
		atk_hdr(a, SL_CTL_VERSION, SL_PEER_EVENTS, 0,
		    SL_PEER_FRAME_MAX + 1, NULL, 0);
		break;
	case BAD_TYPE:
		atk_hdr(a, SL_CTL_VERSION, 99, 0, 1, "\xc0", 1);
		break;
	case BAD_VERSION:
		atk_hdr(a, 2, SL_PEER_PING, 0, 1, "\xc0", 1);
		break;
	case BAD_FLAGS:
		atk_hdr(a, SL_CTL_VERSION, SL_PEER_PING, 1, 1, "\xc0", 1);
		break;
	case BAD_HELLO_TWICE:
		atk_hello(a, NULL, 0);
		break;
	case BAD_EVENTS_MAP:
		atk_frame(a, SL_PEER_EVENTS, "\x81\xa1" "a" "\x01", 4);
		break;
	case BAD_EVENTS_INT:
		atk_frame(a, SL_PEER_EVENTS, "\x91\x2a", 2);
		break;
	case BAD_HAVE_VECTOR:
		atk_frame(a, SL_PEER_HAVE, "\x91\x93\x01\x02\x03", 5);
		break;
	case BAD_MIXED: {
		/* r1, then a record whose header names another origin (as far
		 * as the header is read before the origins are compared). */
		uint8_t hdr[4 + 32 + 1], fake[5 + sizeof hdr];
		struct rec two[2];

		memcpy(hdr, "\x9a\x01\xc4\x20", 4);
		memset(hdr + 4, 0x42, 32);
		hdr[sizeof hdr - 1] = 0x01;
		fake[0] = 0x93;
		fake[1] = 0xc4;
		fake[2] = (uint8_t)sizeof hdr;
		memcpy(fake + 3, hdr, sizeof hdr);
		fake[3 + sizeof hdr] = 0xc0;
		fake[4 + sizeof hdr] = 0xc0;
		two[0] = *r1;
		two[1] = (struct rec){ .p = fake, .len = sizeof fake };
		atk_events(a, two, 2);
		break;
	}
	case BAD_TINY:
		free(b.p);
		tiny_body(&b);
		atk_frame(a, SL_PEER_EVENTS, b.p, b.len);
		break;
	case BAD_GARBAGE:
		atk_frame(a, SL_PEER_EVENTS, "\x93\xc4\x01\x00\xc4\x01\x01"
		    "\xc4\x01\x02", 10);
		break;
	case BAD_UNSIGNED:
		atk_events(a, am->run, SL_SIGN_INTERVAL + 1);
		break;
	case BAD_TRUNC: {
		uint8_t half[500];

		memset(half, 0x90, sizeof half);
		atk_hdr(a, SL_CTL_VERSION, SL_PEER_EVENTS, 0, 1000, half,
		    sizeof half);
		shutdown(a->fd, SHUT_WR);
		break;
	}
	default:
		fail();
	}
	free(b.p);
}

static void
bad_case(struct scene *s, const struct ident *m, const struct ammo *am,
    int kind, struct seen *seen)
{
	const struct bad *b = &bads[kind];
	struct vent vec[] = { { m->key.pub, 0, NULL } };
	struct atk a;
	long mark = log_mark(&s->v);

	if (b->after_hello)
		atk_session(&a, m, &s->v, vec, 1);
	else
		atk_start(&a, m, &s->v);
	bad_send(&a, kind, am);
	if (!atk_wait_closed(&a, 10000))
		fail_msg("%s: the victim kept the connection open", b->what);
	assert_false(a.junk);
	if (b->bye && strstr(a.bye, b->reason) == NULL)
		fail_msg("%s: the victim's BYE said \"%s\", want \"%s\"",
		    b->what, a.bye, b->reason);
	expect_logged(&s->v, mark, (const char *[]){ m->n.name, a.addr, NULL },
	    a.addr, b->reason, b->after_hello ? 2 : 1);
	snprintf(seen->addr, sizeof seen->addr, "%s", a.addr);
	seen->lines = b->after_hello ? 2 : 1;
	atk_close(&a);
}

/* The first bytes of a ClientHello, from a client that never goes on. */
static size_t
half_hello(const struct ident *id, char *out, size_t cap)
{
	struct tls t;
	char *buf;
	size_t n;

	assert_int_equal(tls_init(&t, id->ssl, true, want_victim, NULL), 0);
	assert_int_equal(tls_handshake(&t), 0);
	n = tls_take_out(&t, &buf);
	assert_true(n > 20);
	n = n / 2 < cap ? n / 2 : cap;
	memcpy(out, buf, n);
	free(buf);
	tls_free(&t);
	return n;
}

static void
test_malformed(void **state)
{
	struct scene s;
	struct ident m, w;
	struct seen seen[BAD_COUNT];
	struct atk g[3], slow;
	long gmark[3], smark, rss0, rss1;
	uint64_t t_g, t_slow;
	char hh[512];
	size_t hn;

	(void)state;
	scene_start(&s, "mf");
	ident_init(&m, "evil-mf");
	ident_init(&w, "slow-mf");
	scene_member(&s, &m);
	scene_member(&s, &w);
	struct store *ms = chain_open(&m, "store");
	struct ammo *am = calloc(1, sizeof *am);

	assert_non_null(am);
	am->r1 = chain_add(ms, &m, "Aldrig mottagen");
	chain_unsigned(ms, &m, am->run, SL_SIGN_INTERVAL + 1);
	store_close(ms);
	rss0 = rss_kib(s.v.pid);

	/* Before TLS: plain text, half a ClientHello, and nothing at all.
	 * The last two sit until the handshake timeout while the rest
	 * runs. */
	hn = half_hello(&m, hh, sizeof hh);
	t_g = now_ms();
	for (int i = 0; i < 3; i++) {
		gmark[i] = log_mark(&s.v);
		atk_connect(&g[i], &s.v, NULL);
	}
	assert_true(atk_send(&g[0], "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27));
	assert_true(atk_send(&g[1], hh, hn));

	/* A member that starts a frame and stops: only the silence
	 * timeout can end it. */
	struct vent wvec[] = { { w.key.pub, 0, NULL } };
	uint8_t part[500];

	smark = log_mark(&s.v);
	atk_session(&slow, &w, &s.v, wvec, 1);
	memset(part, 0x90, sizeof part);
	atk_hdr(&slow, SL_CTL_VERSION, SL_PEER_EVENTS, 0, 1000, part,
	    sizeof part);
	t_slow = now_ms();

	/* Frames after the handshake, one connection each. */
	for (int k = 0; k < BAD_COUNT; k++)
		bad_case(&s, &m, am, k, &seen[k]);
	scene_check(&s, "after malformed frames");

	/* The plain text failed the handshake at once; the other two were
	 * closed by the handshake timeout (the line says so). */
	assert_true(atk_wait_closed(&g[0], 5000));
	expect_logged(&s.v, gmark[0], (const char *[]){ g[0].addr, NULL },
	    g[0].addr, "TLS handshake failed", 1);
	for (int i = 1; i < 3; i++) {
		uint64_t left = t_g + (HANDSHAKE_S + 5) * 1000;

		if (!atk_wait_closed(&g[i], (int)(left > now_ms() ?
		    left - now_ms() : 0)))
			fail_msg("pre-TLS connection %d still open after %d s",
			    i, HANDSHAKE_S + 5);
		expect_logged(&s.v, gmark[i], (const char *[]){ g[i].addr,
		    NULL }, g[i].addr, "no TLS handshake within", 1);
	}
	for (int i = 0; i < 3; i++)
		atk_close(&g[i]);

	/* 500 more connections that each send a line of plain text: every
	 * one fails its handshake at once; some are logged, not all. */
	long cmark = log_mark(&s.v);

	for (int i = 0; i < 500; i++) {
		struct atk a;

		atk_connect(&a, &s.v, GARBAGE_SRC);
		assert_true(atk_send(&a, "GET / HTTP/1.0\r\n\r\n", 18));
		assert_true(atk_wait_closed(&a, 5000));
		atk_close(&a);
	}
	int churn = log_lines(&s.v, cmark, (const char *[]){ GARBAGE_SRC,
	    NULL }, NULL, NULL, 0);

	print_message("victim log: %d lines about 500 connections of plain "
	    "text\n", churn);
	assert_true(churn >= 1 && churn <= 20);
	victim_alive(&s, "after 500 plain-text connections");

	/* The stalled member is cut off by the silence timeout. */
	if (!atk_wait_closed(&slow, (int)(t_slow + (SILENCE_S + 5) * 1000 -
	    now_ms())))
		fail_msg("a member stalled inside a frame is still connected "
		    "after %d s", SILENCE_S + 5);
	print_message("stalled member cut off after %.1f s\n",
	    (double)(now_ms() - t_slow) / 1000);
	assert_true(now_ms() - t_slow >= SILENCE_S * 1000 - 1000);
	expect_logged(&s.v, smark, (const char *[]){ w.n.name, slow.addr,
	    NULL }, slow.addr, "nothing heard for", 2);
	atk_close(&slow);

	/* No case was logged again later. */
	for (int k = 0; k < BAD_COUNT; k++)
		if (log_lines(&s.v, 0, (const char *[]){ seen[k].addr, NULL },
		    NULL, NULL, 0) != seen[k].lines)
			fail_msg("%s: logged again later", bads[k].what);

	/* Only the frame of undecodable records left evidence; no event
	 * arrived.  Memory grew by what one connection may hold (a 1 MiB
	 * frame in its read buffer), not by what was sent: the frame of
	 * 349,523 records was refused before a table for them was made
	 * (5.6 MiB, kept for reuse, before).  32 MiB leaves room for the
	 * allocator. */
	rss1 = rss_kib(s.v.pid);
	print_message("victim VmRSS: %ld kB before, %ld kB after %d malformed "
	    "frames\n", rss0, rss1, BAD_COUNT);
	assert_true(rss1 - rss0 < 32 * 1024 + RSS_EXTRA_KB);
	assert_int_equal(victim_num(&s, "refused"), 1);
	assert_int_equal(victim_num(&s, "forks"), 0);
	scene_check(&s, "at the end");
	free(am->r1.p);
	for (size_t i = 0; i < SL_SIGN_INTERVAL + 1; i++)
		free(am->run[i].p);
	free(am);
	ident_free(&m);
	ident_free(&w);
	scene_stop(&s);
}

/* ---- 6. a thousand idle connections -------------------------------------- */

#define FLOOD_CONNS 1000
#define FLOOD_SRC "127.0.0.2"

struct flood_stats {
	long opened;    /* connections opened */
	long closed;    /* of those, closed by the victim */
	long most;      /* the most open at once, on this side */
	long failed;    /* connects refused outright */
};

static pid_t flood_pid;
static int flood_ctl = -1, flood_rep = -1;

/* The flooding process: holds n idle connections from FLOOD_SRC open,
 * opening a new one (at most 250 each 200 ms) for each the victim closes,
 * until told to stop; then reports. */
static void
flood_child(const char *listen, int n, int ctl, int rep)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct flood_stats st = { 0 };
	int *fd = malloc((size_t)n * sizeof *fd);
	struct pollfd *pf = malloc(((size_t)n + 1) * sizeof *pf);
	long open = 0;
	bool told = false;
	uint64_t refill = 0;
	int budget = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (fd == NULL || pf == NULL)
		_exit(1);
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	to.sin_port = htons((uint16_t)atoi(strrchr(listen, ':') + 1));
	inet_pton(AF_INET, FLOOD_SRC, &from.sin_addr);
	for (int i = 0; i < n; i++)
		fd[i] = -1;
	for (uint64_t end = now_ms() + 120000; now_ms() < end;) {
		if (now_ms() >= refill) {
			budget = told ? 250 : n;
			refill = now_ms() + 200;
		}
		for (int i = 0; i < n && budget > 0; i++) {
			int s;

			if (fd[i] >= 0)
				continue;
			s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, 0);
			if (s < 0)
				break;
			if (bind(s, (struct sockaddr *)&from,
			    sizeof from) != 0 || (connect(s,
			    (struct sockaddr *)&to, sizeof to) != 0 &&
			    errno != EINPROGRESS)) {
				close(s);
				st.failed++;
				continue;
			}
			fd[i] = s;
			st.opened++;
			open++;
			budget--;
		}
		if (open > st.most)
			st.most = open;
		if (!told) {
			told = true;
			if (write(rep, "r", 1) != 1)
				_exit(1);
		}
		pf[0] = (struct pollfd){ ctl, POLLIN, 0 };
		for (int i = 0; i < n; i++)
			pf[i + 1] = (struct pollfd){ fd[i], POLLIN, 0 };
		if (poll(pf, (nfds_t)n + 1, (int)(refill > now_ms() ?
		    refill - now_ms() : 0)) < 0 && errno != EINTR)
			break;
		if (pf[0].revents != 0)
			break;
		for (int i = 0; i < n; i++) {
			char b[256];
			ssize_t r;

			if (fd[i] < 0 || pf[i + 1].revents == 0)
				continue;
			r = recv(fd[i], b, sizeof b, 0);
			if (r > 0 || (r < 0 && errno == EAGAIN))
				continue;
			close(fd[i]);
			fd[i] = -1;
			open--;
			st.closed++;
		}
	}
	if (write(rep, &st, sizeof st) != (ssize_t)sizeof st)
		_exit(1);
	_exit(0);
}

static void
flood_start(const struct node *v, int n)
{
	int c[2], r[2];
	char b;
	struct pollfd p;

	assert_int_equal(pipe2(c, O_CLOEXEC), 0);
	assert_int_equal(pipe2(r, O_CLOEXEC), 0);
	if ((flood_pid = fork()) == 0) {
		close(c[1]);
		close(r[0]);
		flood_child(v->listen, n, c[0], r[1]);
	}
	assert_true(flood_pid > 0);
	close(c[0]);
	close(r[1]);
	flood_ctl = c[1];
	flood_rep = r[0];
	p = (struct pollfd){ flood_rep, POLLIN, 0 };
	assert_int_equal(poll(&p, 1, 30000), 1);
	assert_int_equal(read(flood_rep, &b, 1), 1);
}

static struct flood_stats
flood_stop(void)
{
	struct flood_stats st = { 0 };
	struct pollfd p = { flood_rep, POLLIN, 0 };

	assert_int_equal(write(flood_ctl, "x", 1), 1);
	assert_int_equal(poll(&p, 1, 30000), 1);
	assert_int_equal(read(flood_rep, &st, sizeof st), (ssize_t)sizeof st);
	assert_int_equal(waitpid(flood_pid, NULL, 0), flood_pid);
	flood_pid = 0;
	close(flood_ctl);
	close(flood_rep);
	flood_ctl = flood_rep = -1;
	return st;
}

/* Per-test teardown: the flooder too, if a failed test left it. */
static int
hostile_reap(void **state)
{
	if (flood_pid > 0) {
		kill(flood_pid, SIGKILL);
		waitpid(flood_pid, NULL, 0);
		flood_pid = 0;
		close(flood_ctl);
		close(flood_rep);
		flood_ctl = flood_rep = -1;
	}
	return cl_reap(state);
}

static void
sample(const struct scene *s, long *rss_max, int *fds_max)
{
	long r = rss_kib(s->v.pid);
	int f = fd_count(s->v.pid);

	if (r > *rss_max)
		*rss_max = r;
	if (f > *fds_max)
		*fds_max = f;
}

static void
test_idle_flood(void **state)
{
	struct scene s;
	struct rlimit rl;
	struct flood_stats st;
	long rss0, rss_max = 0, rss1, mark;
	int fds0, fds_max = 0;
	uint64_t t0, t;

	(void)state;
	/* The flooder needs more than a thousand descriptors. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 4096 && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	if (rl.rlim_cur < FLOOD_CONNS + 64)
		skip();
	scene_start(&s, "fl");
	/* Warm up: the victim has served a few requests and syncs. */
	scene_check(&s, "before the flood");
	rss0 = rss_kib(s.v.pid);
	fds0 = fd_count(s.v.pid);
	mark = log_mark(&s.v);

	t0 = now_ms();
	flood_start(&s.v, FLOOD_CONNS);
	usleep(1000000);
	sample(&s, &rss_max, &fds_max);
	/* The CLI answers at once. */
	t = now_ms();
	ok(sl(&s.v, "status", NULL));
	assert_true(now_ms() - t < 3000);
	/* The established honest peer keeps syncing both ways. */
	add_contact(&s.v, "Under flod");
	add_contact(&s.h, "Ärlig under flod");
	s.count += 2;
	scene_wait(&s, 10000);
	sample(&s, &rss_max, &fds_max);
	/* The honest peer restarts and must get in while the flood goes
	 * on: it dials the victim as soon as it starts. */
	assert_int_equal(node_stop(&s.h, SIGTERM), 0);
	add_contact(&s.v, "Medan den var borta");
	s.count += 1;
	t = now_ms();
	node_start(&s.h);
	scene_wait(&s, 10000);
	print_message("honest peer back in sync %.1f s after its restart, "
	    "during the flood\n", (double)(now_ms() - t) / 1000);
	sample(&s, &rss_max, &fds_max);
	/* Keep it up past the handshake timeout, so that the victim has
	 * cut the idle ones it took and the flooder has opened more. */
	while (now_ms() - t0 < (HANDSHAKE_S + 3) * 1000) {
		usleep(250000);
		sample(&s, &rss_max, &fds_max);
	}
	victim_alive(&s, "during the flood");
	ok(sl(&s.v, "status", NULL));
	st = flood_stop();
	double secs = (double)(now_ms() - t0) / 1000;

	usleep(500000);
	rss1 = rss_kib(s.v.pid);
	print_message("flood from %s for %.1f s: %ld connections opened, "
	    "%ld at most at once, %ld closed by the victim, %ld refused\n",
	    FLOOD_SRC, secs, st.opened, st.most, st.closed, st.failed);
	print_message("victim VmRSS: %ld kB before, %ld kB at most during, "
	    "%ld kB after; descriptors: %d before, %d at most during\n", rss0,
	    rss_max, rss1, fds0, fds_max);
	assert_true(st.most >= FLOOD_CONNS);
	/* Bounded: a pending handshake costs the victim one descriptor and
	 * tens of kilobytes, and it holds at most 64 of them (here 8); 16
	 * MiB leaves room for the allocator after 10,000 came and went, a
	 * tenth of what holding a thousand SSL objects would take. */
	assert_true(fds_max - fds0 <= 64 + 8);
	assert_true(rss_max - rss0 < 16 * 1024 + RSS_EXTRA_KB);
	assert_true(rss1 - rss0 < 16 * 1024 + RSS_EXTRA_KB);
	/* Ten thousand connections, a handful of lines, each naming the
	 * address: one for the drops (then at most one a minute), and at
	 * most 20 a minute about strangers' connections the victim took
	 * and then closed (daemon/sync.c, STRANGER_LOG_MAX). */
	int all = log_lines(&s.v, mark, (const char *[]){ FLOOD_SRC, NULL },
	    NULL, NULL, 0);
	int dropped = log_lines(&s.v, mark, (const char *[]){ FLOOD_SRC,
	    NULL }, "dropped", NULL, 0);

	print_message("victim log: %d lines about %s, %d of them on drops\n",
	    all, FLOOD_SRC, dropped);
	assert_int_equal(dropped, 1);
	assert_true(all <= 1 + 20);
	/* Afterwards: the honest peer reconnects once more and everything
	 * converges. */
	assert_int_equal(node_stop(&s.h, SIGTERM), 0);
	node_start(&s.h);
	scene_check(&s, "after the flood");
	scene_stop(&s);
}

/* ---- 7. terminal controls in a member's text ------------------------------ */

/*
 * What a member can write into the shared record to take over the
 * terminal of whoever reads it: OSC 52 sets the clipboard, CSI 2K erases
 * a line and CSI 1A goes up one, CSI and OSC in their one-character C1
 * forms (U+009B, U+009D ... U+009C), DEL and invalid UTF-8.
 */
#define OSC52 "\x1b]52;c;cm0gLXJmIH4K\x07"
#define ERASE "\x1b[2K\x1b[1A"
#define C1CSI "\xc2\x9b" "2J"
#define C1OSC "\xc2\x9d" "52;c;eA==\xc2\x9c"

/* Appends one signed event of any type and author, with payload pl (raw
 * msgpack), naming entity (NULL: it creates a record) and one parent
 * (or none). */
static struct rec
chain_raw(struct store *s, const struct ident *id, const char *author,
    const char *type, const uint8_t *entity, const struct rec *parent,
    const struct sl_buf *pl)
{
	struct store_appended ap;
	struct rec r;
	char err[256];
	struct sl_event_draft d = { .author = author, .type = type,
		.entity = entity, .payload = pl->p,
		.payload_len = (uint32_t)pl->len };

	assert_false(pl->failed);
	if (parent != NULL) {
		d.parents = (const uint8_t (*)[SL_HASH_LEN])parent->hash;
		d.n_parents = 1;
	}
	if (store_append(s, &d, 1, &ap, err, sizeof err) != SL_OK)
		fail_msg("%s: %s", type, err);
	assert_int_equal(store_event_get(s, id->key.pub, ap.seq, &r.p, &r.len),
	    SL_OK);
	r.seq = ap.seq;
	memcpy(r.hash, ap.hash, SL_HASH_LEN);
	return r;
}

/* A payload of string fields: key, value, ..., NULL; the caller frees
 * b->p. */
static void
text_payload(struct sl_buf *b, const char *k, ...)
{
	msgpack_packer pk;
	va_list ap;
	uint32_t n = 0;

	va_start(ap, k);
	for (const char *x = k; x != NULL; x = va_arg(ap, const char *)) {
		(void)va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	*b = (struct sl_buf){ 0 };
	msgpack_packer_init(&pk, b, sl_buf_write);
	msgpack_pack_map(&pk, n);
	va_start(ap, k);
	for (const char *x = k; x != NULL; x = va_arg(ap, const char *)) {
		sl_pack_cstr(&pk, x);
		sl_pack_cstr(&pk, va_arg(ap, const char *));
	}
	va_end(ap);
}

/* The member's chain, sent in one session; when the victim has closed
 * its side it has handled all of it (taken, or refused). */
static void
send_chain(struct scene *s, const struct ident *m, const struct rec *r,
    size_t n)
{
	struct vent vec[] = { { m->key.pub, 0, NULL } };
	struct atk a;

	atk_session(&a, m, &s->v, vec, 1);
	atk_events(&a, r, n);
	atk_end(&a);
}


/* The length of what tu_run captured in buf (zeroed before): up to its
 * last byte that is not NUL, so that a NUL printed inside counts. */
static size_t
captured(const char *buf, size_t cap)
{
	size_t n = cap - 1;

	while (n > 0 && buf[n - 1] == '\0')
		n--;
	return n;
}

static void
safe_or_fail(const char *cmd, const char *where, const char *s, size_t n)
{
	static char shown[8192];
	long at = tu_unsafe_at(s, n);
	size_t k = 0, from;

	if (at < 0)
		return;
	from = (size_t)at > 200 ? (size_t)at - 200 : 0;
	for (size_t i = from; i < n && i < (size_t)at + 200; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' || (c >= 0x20 && c < 0x7f))
			shown[k++] = (char)c;
		else
			k += (size_t)snprintf(shown + k, sizeof shown - k,
			    "<%02X>", c);
	}
	shown[k] = '\0';
	fail_msg("samlog %s: its %s holds byte 0x%02x at offset %ld, which a "
	    "terminal acts on:\n%s", cmd, where, (unsigned char)s[at], at,
	    shown);
}

/*
 * samlog -d VICTIM ARGS... (NULL-terminated), and the same with --json:
 * whatever either printed, on standard output or standard error, must be
 * safe on a terminal.  Returns the run of the form asked for (json or
 * not), in a static buffer.
 */
static struct tu_run *
look(const struct node *v, bool json, const char *first, ...)
{
	static struct tu_run r[2];
	char *argv[16], cmd[256] = "";
	int n = 0, base;
	va_list ap;

	argv[n++] = (char *)tu_prog("samlog");
	argv[n++] = "-d";
	argv[n++] = (char *)v->dir;
	base = n;
	va_start(ap, first);
	for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	for (int i = base; i < n; i++)
		snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "%s%s",
		    i > base ? " " : "", argv[i]);
	for (int j = 0; j < 2; j++) {
		argv[n] = j ? "--json" : NULL;
		argv[n + 1] = NULL;
		assert_int_equal(tu_run(&r[j], argv, NULL), 0);
		if (r[j].status != 0 && r[j].status != 1)
			fail_msg("samlog %s%s: exit %d: %s", cmd, j ? " --json" :
			    "", r[j].status, r[j].err);
		safe_or_fail(cmd, j ? "JSON" : "output", r[j].out,
		    captured(r[j].out, sizeof r[j].out));
		safe_or_fail(cmd, j ? "JSON's standard error" :
		    "standard error", r[j].err, captured(r[j].err,
		    sizeof r[j].err));
	}
	return &r[json];
}

/* If the record was taken (the victim may refuse such text instead),
 * out shows it escaped: it contains want. */
static void
shown_as(bool taken, const struct tu_run *r, const char *what,
    const char *want)
{
	if (taken && strstr(r->out, want) == NULL && strstr(r->err,
	    want) == NULL)
		fail_msg("%s does not show \"%s\":\n%s%s", what, want, r->out,
		    r->err);
}

static void
test_terminal_controls(void **state)
{
	struct scene s;
	struct ident a, b, c, d;
	struct sl_buf pl;
	struct rec ra[2], rb[2], rc[2], rd[1];
	char org[SL_ID_TEXT + 1], eve[SL_ID_TEXT + 1], dec[SL_ID_TEXT + 1];
	char map[SL_ID_TEXT + 1], file[700];
	uint8_t ent[SL_ID_LEN];

	(void)state;
	scene_start(&s, "tc");
	ident_init(&a, "tc-org");
	ident_init(&b, "tc-contact");
	ident_init(&c, "tc-decision");
	ident_init(&d, "tc-map");
	scene_member(&s, &a);
	scene_member(&s, &b);
	scene_member(&s, &c);
	scene_member(&s, &d);

	/* A: its organisation's announced name, and an organisation
	 * record. */
	struct store *st = chain_open(&a, "store");

	text_payload(&pl, "org", "Angripare " OSC52 C1CSI, NULL);
	ra[0] = chain_raw(st, &a, "samlogd", "node.org", NULL, NULL, &pl);
	free(pl.p);
	text_payload(&pl, "name", "Mallory AB" OSC52, "kind", "other",
	    "municipality", "Sigtuna" C1CSI, NULL);
	ra[1] = chain_raw(st, &a, "mallory", "org.created", NULL, NULL, &pl);
	free(pl.p);
	store_close(st);
	sl_b32_encode(org, ra[1].hash, SL_ID_LEN);

	/* B: a contact of that organisation, written by an author whose
	 * name (in the event's header) holds a C1 CSI; the header decoder
	 * refuses C0 controls and DEL there, and so does store_append. */
	st = chain_open(&b, "store");
	text_payload(&pl, "name", "Eve" ERASE, "org", org, "role",
	    "chef\x7f\x7f\x7f", "email", "eve" C1OSC "@example.se",
	    "municipality", "Bad \xff\xfe UTF-8", "phone", "\r070\b\b", NULL);
	rb[0] = chain_raw(st, &b, "mal" C1CSI "lory", "contact.created", NULL,
	    NULL, &pl);
	free(pl.p);
	sl_entity_id(ent, rb[0].hash);
	text_payload(&pl, "role", "\x1b[31mröd\x1b[0m" C1CSI, NULL);
	rb[1] = chain_raw(st, &b, "mal" C1CSI "lory", "contact.updated", ent,
	    &rb[0], &pl);
	free(pl.p);
	store_close(st);
	sl_b32_encode(eve, rb[0].hash, SL_ID_LEN);

	/* C: a decision whose status is a control sequence (quoted back by
	 * the victim's refusal of a lifecycle step) and whose payload has
	 * a field name of one (an audit shows every field); then an
	 * organisation name in C1 form for the audit's history. */
	st = chain_open(&c, "store");
	text_payload(&pl, "title", "Budget" OSC52, "text",
	    "Rad ett\nRad två" ERASE "\r", "body", "styrelsen" C1CSI,
	    "status", "\x1b]52;c;eA==\x07", "\x1b[2Kextra", "x", NULL);
	rc[0] = chain_raw(st, &c, "mallory", "decision.created", NULL, NULL,
	    &pl);
	free(pl.p);
	text_payload(&pl, "org", "Beslutare " C1OSC, NULL);
	rc[1] = chain_raw(st, &c, "samlogd", "node.org", NULL, NULL, &pl);
	free(pl.p);
	store_close(st);
	sl_b32_encode(dec, rc[0].hash, SL_ID_LEN);

	/* D: field values that are maps and arrays, with keys that are
	 * integers and binaries, and a payload key that is an integer. */
	msgpack_packer pk;

	st = chain_open(&d, "store");
	pl = (struct sl_buf){ 0 };
	msgpack_packer_init(&pk, &pl, sl_buf_write);
	msgpack_pack_map(&pk, 4);
	sl_pack_cstr(&pk, "name");
	sl_pack_cstr(&pk, "Kartvärden");
	sl_pack_cstr(&pk, "role");
	msgpack_pack_map(&pk, 3);
	msgpack_pack_uint64(&pk, 0x4141414100000001ull);
	sl_pack_cstr(&pk, "dold");
	sl_pack_bin(&pk, (const uint8_t *)"k", 1);
	sl_pack_cstr(&pk, "dold");
	sl_pack_cstr(&pk, "n");
	msgpack_pack_map(&pk, 2);
	msgpack_pack_uint64(&pk, 2);
	sl_pack_cstr(&pk, "dold");
	sl_pack_cstr(&pk, "djup");
	sl_pack_cstr(&pk, ERASE);
	sl_pack_cstr(&pk, "phone");
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_uint64(&pk, 3);
	sl_pack_cstr(&pk, "dold");
	sl_pack_cstr(&pk, OSC52);
	msgpack_pack_uint64(&pk, 9);
	sl_pack_cstr(&pk, "dold");
	rd[0] = chain_raw(st, &d, "mallory", "contact.created", NULL, NULL,
	    &pl);
	free(pl.p);
	store_close(st);
	sl_b32_encode(map, rd[0].hash, SL_ID_LEN);

	send_chain(&s, &a, ra, 2);
	send_chain(&s, &b, rb, 2);
	send_chain(&s, &c, rc, 2);
	send_chain(&s, &d, rd, 1);

	/* A BYE before HELLO: its reason becomes the peer's last error in
	 * the victim's status. */
	struct atk at;
	msgpack_packer bp;
	struct sl_buf bye = { 0 };

	msgpack_packer_init(&bp, &bye, sl_buf_write);
	msgpack_pack_map(&bp, 1);
	sl_pack_cstr(&bp, "reason");
	sl_pack_cstr(&bp, "Hej då " C1CSI C1OSC);
	atk_start(&at, &a, &s.v);
	atk_frame(&at, SL_PEER_BYE, bye.p, bye.len);
	assert_true(atk_wait_closed(&at, 10000));
	atk_close(&at);
	free(bye.p);

	/* Whatever the victim took, the honest peer takes too. */
	s.count = events(&s.v);
	scene_wait(&s, WAIT_MS);
	victim_alive(&s, "after text with terminal controls");

	/* Every view of it, as a table and as JSON. */
	bool org_in = look(&s.v, false, "org", "show", org, NULL)->status == 0;
	bool eve_in = look(&s.v, false, "contact", "show", eve, NULL)->status
	    == 0;
	bool dec_in = look(&s.v, false, "decision", "show", dec, NULL)->status
	    == 0;
	bool map_in = look(&s.v, false, "contact", "show", map, NULL)->status
	    == 0;

	print_message("taken by the victim: organisation %s, contact %s, "
	    "decision %s, map values %s\n", org_in ? "yes" : "no",
	    eve_in ? "yes" : "no", dec_in ? "yes" : "no",
	    map_in ? "yes" : "no");
	shown_as(org_in, look(&s.v, false, "org", "list", NULL), "org list",
	    "Mallory AB\\x1b]52;c;cm0gLXJmIH4K\\x07");
	shown_as(org_in, look(&s.v, true, "org", "list", NULL),
	    "org list --json", "Mallory AB\\u001b]52;c;cm0gLXJmIH4K\\u0007");
	shown_as(org_in, look(&s.v, false, "org", "show", org, NULL),
	    "org show", "Sigtuna\\xc2\\x9b2J");
	shown_as(org_in, look(&s.v, false, "history", org, NULL),
	    "history of the organisation",
	    "Angripare \\x1b]52;c;cm0gLXJmIH4K\\x07\\xc2\\x9b2J");
	shown_as(eve_in, look(&s.v, false, "contact", "list", NULL),
	    "contact list", "Eve\\x1b[2K\\x1b[1A");
	shown_as(eve_in && org_in, look(&s.v, false, "contact", "list", NULL),
	    "contact list", "Mallory AB\\x1b]52;c;");
	shown_as(eve_in, look(&s.v, true, "contact", "list", NULL),
	    "contact list --json", "Eve\\u001b[2K\\u001b[1A");
	shown_as(eve_in, look(&s.v, false, "contact", "show", eve, NULL),
	    "contact show", "\\x1b[31mröd\\x1b[0m\\xc2\\x9b2J");
	shown_as(eve_in, look(&s.v, false, "history", eve, NULL),
	    "history of the contact", "role=chef\\x7f\\x7f\\x7f");
	shown_as(eve_in, look(&s.v, false, "contact", "show", eve, NULL),
	    "contact show", "Bad \\xff\\xfe UTF-8");
	shown_as(eve_in, look(&s.v, true, "contact", "show", eve, NULL),
	    "contact show --json", "eve\\u009d52;c;eA==\\u009c@example.se");
	shown_as(eve_in, look(&s.v, false, "history", eve, NULL),
	    "history of the contact", "mal\\xc2\\x9b2Jlory");
	shown_as(eve_in, look(&s.v, false, "log", NULL), "log",
	    "mal\\xc2\\x9b2Jlory");
	shown_as(eve_in, look(&s.v, true, "log", NULL), "log --json",
	    "mal\\u009b2Jlory");
	shown_as(dec_in, look(&s.v, false, "decision", "list", NULL),
	    "decision list", "Budget\\x1b]52;c;");
	shown_as(dec_in, look(&s.v, false, "decision", "show", dec, NULL),
	    "decision show", "Rad två\\x1b[2K\\x1b[1A\\x0d");
	look(&s.v, false, "decision", "show", dec, "--as-of", "2099-01-01",
	    NULL);
	shown_as(dec_in, look(&s.v, false, "history", dec, NULL),
	    "history of the decision", "Budget\\x1b]52;c;");
	look(&s.v, false, "meeting", "list", NULL);
	look(&s.v, false, "history", map, NULL);
	look(&s.v, false, "export", NULL);
	look(&s.v, false, "verify", NULL);
	/* The victim refuses to adopt a decision "adopted" by nobody, and
	 * says what its status is. */
	struct tu_run *r = look(&s.v, false, "decision", "adopt", dec, NULL);

	shown_as(dec_in, r, "decision adopt's refusal", "is \\x1b]52;c;eA==\\x07");
	if (dec_in)
		assert_int_equal(r->status, 1);
	/* A value that is a map with keys that are not strings: no key
	 * read as a string, no crash; those entries are left out. */
	if (map_in) {
		r = look(&s.v, false, "contact", "show", map, NULL);
		assert_null(strstr(r->out, "dold"));
		assert_non_null(strstr(r->out, "djup"));
		r = look(&s.v, true, "contact", "show", map, NULL);
		assert_null(strstr(r->out, "dold"));
		r = look(&s.v, false, "history", map, NULL);
		assert_null(strstr(r->out, "dold"));
		assert_non_null(strstr(r->out, "Kartvärden"));
	}
	/* The peer that said goodbye in C1 controls. */
	r = look(&s.v, false, "status", NULL);
	shown_as(true, r, "status", "Hej då \\xc2\\x9b2J\\xc2\\x9d52;c;");
	shown_as(true, look(&s.v, true, "status", NULL), "status --json",
	    "Hej då \\u009b2J\\u009d52;c;");
	look(&s.v, false, "peer", "list", NULL);

	/* The audit bundle of the decision, and its check, which prints
	 * every field the events carry. */
	snprintf(file, sizeof file, "%s/tc.audit", cl_tmp);
	r = look(&s.v, false, "audit", dec, "--out", file, NULL);
	if (dec_in) {
		assert_int_equal(r->status, 0);
		shown_as(true, look(&s.v, false, "audit", "--check", file, NULL),
		    "audit --check", "\\x1b[2Kextra:");
		shown_as(true, look(&s.v, false, "audit", "--check", file, NULL),
		    "audit --check", "Beslutare \\xc2\\x9d52;c;eA==\\xc2\\x9c");
		shown_as(true, look(&s.v, true, "audit", "--check", file, NULL),
		    "audit --check --json", "\"\\u001b[2Kextra\": \"x\"");
	}

	scene_check(&s, "after text with terminal controls");
	for (int i = 0; i < 2; i++) {
		free(ra[i].p);
		free(rb[i].p);
		free(rc[i].p);
	}
	free(rd[0].p);
	ident_free(&a);
	ident_free(&b);
	ident_free(&c);
	ident_free(&d);
	scene_stop(&s);
}

/* ---- 8. a second history on every connection ----------------------------- */

#define FORK_CONNS 32        /* connections, each with its own history */
#define FORK_RUN 16          /* events per history, signed at the end */
#define FORK_PAD 60000       /* bytes of each event's payload: a run of
                                16 fills most of a 1 MiB frame */
/* The victim's caps on fork evidence (daemon/store.c). */
#define FORKS_BYTES_MAX (16 << 20)

/* A history of m's key that shares seq 1 (r1) with the one the victim
 * holds and goes its own way from seq 2: FORK_RUN events of FORK_PAD
 * bytes in one commit, so only the last is signed.  Written in its own
 * store (sub); its records go to out. */
static void
chain_fork(const struct ident *m, const char *sub, const struct rec *r1,
    int k, struct rec *out)
{
	struct store *s = chain_open(m, sub);
	struct store_ingest_result res;
	struct sl_event_draft d[FORK_RUN];
	struct store_appended ap[FORK_RUN];
	struct sl_buf g[FORK_RUN];
	char *pad = malloc(FORK_PAD + 1), name[64], err[256];

	assert_non_null(pad);
	memset(pad, 'x', FORK_PAD);
	pad[FORK_PAD] = '\0';
	assert_int_equal(store_ingest(s, (const uint8_t *const[]){ r1->p },
	    (const size_t[]){ r1->len }, 1, &res), SL_OK);
	for (int i = 0; i < FORK_RUN; i++) {
		msgpack_packer pk;

		g[i] = (struct sl_buf){ 0 };
		msgpack_packer_init(&pk, &g[i], sl_buf_write);
		msgpack_pack_map(&pk, 2);
		snprintf(name, sizeof name, "Historia %d.%d", k, i);
		sl_pack_cstr(&pk, "name");
		sl_pack_cstr(&pk, name);
		/* A field no version knows: carried, whatever its size
		 * (contacts' "notes" is known, and limited). */
		sl_pack_cstr(&pk, "padding");
		sl_pack_cstr(&pk, pad);
		assert_false(g[i].failed);
		d[i] = (struct sl_event_draft){ .author = "mallory",
			.type = "contact.created", .payload = g[i].p,
			.payload_len = (uint32_t)g[i].len };
	}
	if (store_append(s, d, FORK_RUN, ap, err, sizeof err) != SL_OK)
		fail_msg("%s", err);
	for (int i = 0; i < FORK_RUN; i++) {
		out[i].seq = ap[i].seq;
		memcpy(out[i].hash, ap[i].hash, SL_HASH_LEN);
		assert_int_equal(store_event_get(s, m->key.pub, ap[i].seq,
		    &out[i].p, &out[i].len), SL_OK);
		free(g[i].p);
	}
	assert_int_equal(out[0].seq, 2);
	free(pad);
	store_close(s);
}

static long
file_size(const char *dir, const char *name)
{
	char path[700];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void
test_fork_flood(void **state)
{
	struct scene s;
	struct ident m;
	struct rec run[FORK_RUN];
	long mark, size0, size1, rss0, rss1, forks;
	int kept = 0, unkept = 0;
	char store_dir[600];

	(void)state;
	scene_start(&s, "ff");
	ident_init(&m, "m-ff");
	scene_member(&s, &m);
	snprintf(store_dir, sizeof store_dir, "%s/%s", s.v.dir,
	    SL_NODE_STORE_DIR);
	/* The victim holds the member's seq 1 and 2. */
	struct store *ms = chain_open(&m, "store");
	struct rec r1 = chain_add(ms, &m, "Gemensam början");
	struct rec r2 = chain_add(ms, &m, "Den riktiga historien");
	struct vent vec0[] = { { m.key.pub, 0, NULL } };
	struct atk a;

	store_close(ms);
	atk_session(&a, &m, &s.v, vec0, 1);
	atk_events(&a, &r1, 1);
	atk_events(&a, &r2, 1);
	s.count += 2;
	scene_wait(&s, WAIT_MS);
	atk_end(&a);
	size0 = file_size(store_dir, "data.mdb");
	rss0 = rss_kib(s.v.pid);

	/* Each connection shows a history of its own from seq 2 on (about
	 * 1 MiB, one frame), as a modified node could make any number of. */
	for (int k = 0; k < FORK_CONNS; k++) {
		char sub[16], addr[64];

		snprintf(sub, sizeof sub, "fork%02d", k);
		chain_fork(&m, sub, &r1, k, run);
		struct vent vec[] = { { m.key.pub, run[FORK_RUN - 1].seq,
			run[FORK_RUN - 1].hash } };

		mark = log_mark(&s.v);
		atk_session(&a, &m, &s.v, vec, 1);
		atk_events(&a, run, FORK_RUN);
		snprintf(addr, sizeof addr, "%s", a.addr);
		atk_end(&a);
		/* Logged once each, kept or not: the session, the fork, the
		 * end. */
		expect_logged(&s.v, mark, (const char *[]){ m.n.name, m.n.id,
		    addr, NULL }, m.n.id, "differs from the event", 3);
		if (log_lines(&s.v, mark, (const char *[]){ m.n.id, NULL },
		    "not kept", NULL, 0) == 1)
			unkept++;
		else
			kept++;
		for (int i = 0; i < FORK_RUN; i++)
			free(run[i].p);
	}
	size1 = file_size(store_dir, "data.mdb");
	rss1 = rss_kib(s.v.pid);
	forks = victim_num(&s, "forks");
	print_message("victim store: data.mdb %ld kB before, %ld kB after %d "
	    "histories of %d events (%d kept, %d not); forks: %ld\n",
	    size0 / 1024, size1 / 1024, FORK_CONNS, FORK_RUN, kept, unkept,
	    forks);
	print_message("victim VmRSS: %ld kB before, %ld kB after\n", rss0,
	    rss1);
	/* The evidence stops at its cap (and the last kept one was still
	 * whole); later forks are refused, counted and logged all the
	 * same. */
	assert_true(unkept > 0);
	assert_true(kept > 0);
	assert_int_equal(forks, (long)kept * FORK_RUN);
	/* One proof of the fork at seq 2, however many histories. */
	s.count++;
	scene_wait(&s, WAIT_MS);
	assert_true(size1 - size0 < FORKS_BYTES_MAX + (2 << 20));
	assert_true(rss1 - rss0 < 16 * 1024 + RSS_EXTRA_KB);
	assert_int_equal(victim_num(&s, "refused"), 0);
	assert_int_equal(events(&s.v), s.count);
	/* Still syncing, and clean. */
	scene_check(&s, "after a history on every connection");
	free(r1.p);
	free(r2.p);
	ident_free(&m);
	scene_stop(&s);
}

/* ---- 9. a member claiming more of the victim's own chain ----------------- */

#define CLAIM_S 30           /* how long the attack goes on */
#define CLAIM_SESSION_MS 3000

static bool
victim_held(const struct scene *s)
{
	return strstr(ok(sl(&s->v, "status", "--json", NULL))->out,
	    "\"writes_held\": true") != NULL;
}

static void
test_own_claim(void **state)
{
	struct scene s;
	struct ident m;
	struct writers *w;
	uint8_t vk[SL_KEY_LEN], fake[SL_HASH_LEN];
	long mark, acked;
	int sessions = 0, held = 0, samples = 0;
	uint64_t t0;

	(void)state;
	scene_start(&s, "oc");
	ident_init(&m, "m-oc");
	scene_member(&s, &m);
	assert_true(sl_b32_decode(vk, SL_KEY_LEN, s.v.id));
	memset(fake, 0x5a, sizeof fake);
	/* 2^40 events of the victim's own chain, none of which it sends. */
	struct vent vec[] = { { vk, (uint64_t)1 << 40, fake },
		{ m.key.pub, 0, NULL } };

	mark = log_mark(&s.v);
	w = writers_start_paced(&s.v, 1, "oc", 9, false, 50);
	t0 = now_ms();
	while (now_ms() - t0 < CLAIM_S * 1000) {
		struct atk a;
		uint64_t until;

		atk_session(&a, &m, &s.v, vec, 2);
		sessions++;
		until = now_ms() + CLAIM_SESSION_MS;
		for (int k = 0; now_ms() < until; k++) {
			atk_poll(&a, 100);
			if (k == 3 || k == 20) {
				samples++;
				held += victim_held(&s);
			}
		}
		atk_end(&a);
	}
	acked = writers_stop(w);
	unsigned long long p50 = writers_latency_us(w, 0.5);
	unsigned long long p99 = writers_latency_us(w, 0.99);
	unsigned long long max = writers_latency_us(w, 1.0);

	print_message("%d sessions claiming 2^40 own events in %d s: %ld "
	    "writes acknowledged, p50 %.1f ms, p99 %.1f ms, slowest %.1f "
	    "ms; writes held in %d of %d samples\n", sessions, CLAIM_S, acked,
	    p50 / 1e3, p99 / 1e3, max / 1e3, held, samples);
	/* Nothing was held, every write was answered at once (a pace of
	 * one every 25 ms on average), and none was lost. */
	assert_int_equal(held, 0);
	assert_true(acked >= 100);
	assert_true(p99 < 1000000);
	assert_true(max < 3000000);
	assert_int_equal(writers_failures(w), 0);
	s.count += acked;
	scene_wait(&s, WAIT_MS);
	writers_check(w, (struct node *[]){ &s.v, &s.h }, 2);
	writers_free(w);
	/* The false claim is logged once, for all the sessions: each had
	 * its start and its end, and nothing else was said about it. */
	char needle[80];

	snprintf(needle, sizeof needle, "up to seq %llu",
	    (unsigned long long)1 << 40);
	expect_logged(&s.v, mark, (const char *[]){ m.n.name, NULL },
	    m.n.name, "false claim", 2 * sessions + 1);
	assert_int_equal(log_lines(&s.v, mark, (const char *[]){ m.n.name,
	    NULL }, needle, NULL, 0), 1);
	assert_true(sessions >= 5);
	assert_int_equal(victim_num(&s, "forks"), 0);
	assert_int_equal(victim_num(&s, "refused"), 0);
	scene_check(&s, "after false claims to its own chain");
	ident_free(&m);
	scene_stop(&s);
}

/* ---- 10. a member naming another tip for an honest origin ----------------- */

static void
test_tip_claim(void **state)
{
	struct scene s;
	struct ident m;
	struct atk a;
	uint8_t hk[SL_KEY_LEN], fake[SL_HASH_LEN];
	long mark;
	char addr[64], needle[160];

	(void)state;
	scene_start(&s, "tp");
	ident_init(&m, "m-tp");
	scene_member(&s, &m);
	assert_true(sl_b32_decode(hk, SL_KEY_LEN, s.h.id));
	memset(fake, 0xa5, sizeof fake);
	/* Both nodes hold the honest peer's seq 1 (its node.org); the
	 * member names another event there, with nothing to show for it. */
	struct vent vec[] = { { hk, 1, fake }, { m.key.pub, 0, NULL } };

	mark = log_mark(&s.v);
	atk_start(&a, &m, &s.v);
	a.capture = true;
	atk_hello(&a, vec, 2);
	assert_true(atk_wait_hello(&a, 10000));
	/* The victim answers with its own seq 1 of that origin. */
	for (int k = 0; k < 50 && a.ncap == 0; k++)
		atk_poll(&a, 100);
	assert_true(a.ncap >= 1);
	snprintf(addr, sizeof addr, "%s", a.addr);
	atk_end(&a);
	/* One line, as the member's claim; none says the honest origin
	 * forked. */
	snprintf(needle, sizeof needle, "claims another event at seq 1 of "
	    "origin %s", s.h.id);
	expect_logged(&s.v, mark, (const char *[]){ m.n.name, addr, NULL },
	    m.n.name, needle, 3);
	assert_int_equal(log_lines(&s.v, 0, (const char *[]){ s.h.id,
	    s.h.name, NULL }, "forked", NULL, 0), 0);
	assert_int_equal(victim_num(&s, "forks"), 0);
	assert_int_equal(victim_num(&s, "refused"), 0);
	scene_check(&s, "after a claimed tip");
	ident_free(&m);
	scene_stop(&s);
}

/* ---- 10. full frames committed together --------------------------------- */

/*
 * A receiver may commit several full EVENTS frames of one origin at once
 * (a full frame says that more follows).  What it stores must still be
 * what taking each frame in its own commit stored:
 *  - a run that stops on a full frame is stored at once, not when the
 *    connection ends;
 *  - a frame refused for its content costs only itself: the full frame
 *    before it, held back with it, is stored;
 *  - a full frame held back when the connection ends is stored.
 */
#define FULL_FRAMES 3

static void
test_full_frames(void **state)
{
	enum { F = SL_PEER_FULL_EVENTS };
	struct scene s;
	struct ident m;
	struct atk a;
	struct rec *r = calloc(FULL_FRAMES * F, sizeof *r), bad;
	struct rec *f2 = calloc(F, sizeof *f2);
	long base, got = 0, refused;
	uint64_t end;

	(void)state;
	assert_non_null(r);
	assert_non_null(f2);
	scene_start(&s, "fu");
	ident_init(&m, "m-fu");
	scene_member(&s, &m);
	struct store *ms = chain_open(&m, "store");

	chain_many(ms, &m, r, FULL_FRAMES * F);
	base = events(&s.v);
	refused = victim_num(&s, "refused");

	/* A full frame, then nothing: the connection stays open. */
	atk_session(&a, &m, &s.v, NULL, 0);
	atk_events(&a, &r[0], F);
	for (end = now_ms() + 10000; now_ms() < end &&
	    (got = events(&s.v)) < base + F;)
		atk_poll(&a, 100);
	assert_false(a.closed);
	if (got != base + F)
		fail_msg("v-fu holds %ld of a full frame of %d events 10 s "
		    "after it came, on an open connection", got - base, F);

	/* A full frame, then one whose last (signed) event's signature is
	 * broken. */
	bad = rec_bad_sig(&r[3 * F - 1]);
	memcpy(f2, &r[2 * F], F * sizeof *f2);
	f2[F - 1] = bad;
	atk_events(&a, &r[F], F);
	atk_events(&a, f2, F);
	atk_end(&a);
	for (end = now_ms() + 10000; now_ms() < end &&
	    victim_num(&s, "refused") == refused;)
		usleep(20000);
	assert_int_equal(victim_num(&s, "refused"), refused + 1);
	got = events(&s.v);
	if (got != base + 2 * F)
		fail_msg("v-fu holds %ld events of two good full frames and "
		    "a bad one (want %d)", got - base, 2 * F);

	/* The refused frame again, good this time; then the end of the
	 * stream at once. */
	atk_session(&a, &m, &s.v, NULL, 0);
	atk_events(&a, &r[2 * F], F);
	atk_end(&a);
	s.count += FULL_FRAMES * F;
	scene_wait(&s, WAIT_MS);
	assert_int_equal(events(&s.v), base + FULL_FRAMES * F);
	assert_int_equal(victim_num(&s, "refused"), refused + 1);
	scene_check(&s, "after full frames");
	free(bad.p);
	free(f2);
	for (size_t i = 0; i < FULL_FRAMES * F; i++)
		free(r[i].p);
	free(r);
	store_close(ms);
	ident_free(&m);
	scene_stop(&s);
}

/*
 * A full frame of one origin is held, broken at its end; a short, good
 * frame of another origin follows on the same connection.  The held
 * frame is stored (refused) before the other is looked at, as frame by
 * frame: the refusal is its origin's, and the other origin's events are
 * stored.  Taken together as one origin's, the refusal fell on the
 * short frame's origin and stopped its events.
 */
static void
test_full_frames_other_origin(void **state)
{
	enum { F = SL_PEER_FULL_EVENTS, R = 10 };
	struct scene s;
	struct ident m, r;
	struct atk a;
	struct rec *mr = calloc(F, sizeof *mr), rr[R], bad;
	long base, refused, got = 0;

	(void)state;
	assert_non_null(mr);
	scene_start(&s, "fo");
	ident_init(&m, "m-fo");
	ident_init(&r, "r-fo");
	scene_member(&s, &m);
	scene_member(&s, &r);
	struct store *ms = chain_open(&m, "store");
	struct store *rs = chain_open(&r, "store");

	chain_many(ms, &m, mr, F);
	chain_many(rs, &r, rr, R);
	base = events(&s.v);
	refused = victim_num(&s, "refused");

	/* m's full frame, broken at its end (held), then r's short one,
	 * relayed by m; the connection stays open. */
	bad = rec_bad_sig(&mr[F - 1]);
	struct rec keep = mr[F - 1];

	mr[F - 1] = bad;
	atk_session(&a, &m, &s.v, NULL, 0);
	atk_events(&a, mr, F);
	atk_events(&a, rr, R);
	for (uint64_t end = now_ms() + 10000; now_ms() < end &&
	    victim_num(&s, "refused") == refused;)
		atk_poll(&a, 100);
	atk_poll(&a, 200);
	got = events(&s.v);
	assert_int_equal(victim_num(&s, "refused"), refused + 1);
	if (got != base + R)
		fail_msg("v-fo holds %ld events of r's good frame, sent after "
		    "m's refused full frame (want %d)", got - base, R);
	atk_end(&a);

	/* m's frame again, good, from m itself: both nodes converge. */
	mr[F - 1] = keep;
	atk_session(&a, &m, &s.v, NULL, 0);
	atk_events(&a, mr, F);
	atk_end(&a);
	s.count += F + R;
	scene_wait(&s, WAIT_MS);
	scene_check(&s, "after a refused held frame and another origin's");
	free(bad.p);
	for (size_t i = 0; i < F; i++)
		free(mr[i].p);
	for (size_t i = 0; i < R; i++)
		free(rr[i].p);
	free(mr);
	store_close(ms);
	store_close(rs);
	ident_free(&m);
	ident_free(&r);
	scene_stop(&s);
}

/*
 * A frame a retirement's cut-off ends comes behind a held full frame of
 * the same origin (relayed by another member), whose last signature is
 * broken.  Frame by frame, the held frame was refused first and the one
 * past the cut-off dropped unseen: one refused record kept, not two.
 */
static void
test_full_frames_cutoff(void **state)
{
	enum { F = SL_PEER_FULL_EVENTS };
	struct scene s;
	struct ident m, r;
	struct atk a;
	struct rec *rr = calloc(2 * F, sizeof *rr);
	struct rec *f1 = calloc(F, sizeof *f1), bad;
	char fpr[SL_FPR_TEXT + 1];
	long base, kept, me;
	uint64_t end;

	(void)state;
	assert_non_null(rr);
	assert_non_null(f1);
	scene_start(&s, "fc");
	ident_init(&m, "m-fc");
	ident_init(&r, "r-fc");
	scene_member(&s, &m);
	scene_member(&s, &r);
	struct store *rs = chain_open(&r, "store");

	chain_many(rs, &r, rr, 2 * F);
	base = events(&s.v);
	/* r's first F events reach both nodes; then both retire r, which
	 * cuts it off at seq F. */
	atk_session(&a, &r, &s.v, NULL, 0);
	atk_events(&a, rr, F);
	atk_end(&a);
	s.count += F;
	scene_wait(&s, WAIT_MS);
	sl_fingerprint(fpr, r.key.pub);
	me = victim_num(&s, "member_events");
	ok(sl(&s.v, "member", "retire", fpr, NULL));
	ok(sl(&s.h, "member", "retire", fpr, NULL));
	for (end = now_ms() + WAIT_MS; now_ms() < end &&
	    victim_num(&s, "member_events") < me + 2;)
		usleep(50000);
	assert_int_equal(victim_num(&s, "member_events"), me + 2);
	kept = victim_num(&s, "refused");

	/* m relays r's first frame again, broken at its end, then one event
	 * past the cut-off. */
	memcpy(f1, rr, F * sizeof *f1);
	bad = rec_bad_sig(&rr[F - 1]);
	f1[F - 1] = bad;
	atk_session(&a, &m, &s.v, NULL, 0);
	atk_events(&a, f1, F);
	atk_events(&a, &rr[F], 1);
	atk_end(&a);
	for (end = now_ms() + 10000; now_ms() < end &&
	    victim_num(&s, "refused") == kept;)
		usleep(20000);
	usleep(200000);
	victim_alive(&s, "after the frames");
	if (victim_num(&s, "refused") != kept + 1)
		fail_msg("v-fc kept %ld refused records for one refused frame "
		    "(frame by frame: 1)", victim_num(&s, "refused") - kept);
	assert_int_equal(events(&s.v), base + F);
	free(bad.p);
	free(f1);
	for (size_t i = 0; i < 2 * F; i++)
		free(rr[i].p);
	free(rr);
	store_close(rs);
	ident_free(&r);
	ident_free(&m);
	scene_stop(&s);
}

/*
 * Two full frames of one origin are held and committed together; the
 * first is broken at its end.  Stored again frame by frame, the first is
 * refused and nothing after it is offered: the second, which builds on
 * it, is dropped unseen, as when each frame was a commit of its own (one
 * refusal, one refused record kept).  Offered all the same, the second
 * was refused too (it follows an event the victim lacks), and a second
 * record was kept for one bad frame.
 */
static void
test_full_frames_first_refused(void **state)
{
	enum { F = SL_PEER_FULL_EVENTS };
	struct scene s;
	struct ident m;
	struct atk a;
	struct rec *r = calloc(2 * F, sizeof *r), bad, keep;
	long base, refused, mark;
	uint64_t end;

	(void)state;
	assert_non_null(r);
	scene_start(&s, "f1");
	ident_init(&m, "m-f1");
	scene_member(&s, &m);
	struct store *ms = chain_open(&m, "store");

	chain_many(ms, &m, r, 2 * F);
	base = events(&s.v);
	refused = victim_num(&s, "refused");
	mark = log_mark(&s.v);

	/* The first frame broken at its end (its last signature), then the
	 * second, good; both full, so both are held; then the end of the
	 * stream. */
	keep = r[F - 1];
	bad = rec_bad_sig(&keep);
	r[F - 1] = bad;
	atk_session(&a, &m, &s.v, NULL, 0);
	atk_events(&a, r, F);
	atk_events(&a, &r[F], F);
	atk_end(&a);
	for (end = now_ms() + 10000; now_ms() < end &&
	    victim_num(&s, "refused") == refused;)
		usleep(20000);
	usleep(200000);
	victim_alive(&s, "after the frames");
	if (victim_num(&s, "refused") != refused + 1)
		fail_msg("v-f1 kept %ld refused records for one refused frame "
		    "and the frame after it (frame by frame: 1)",
		    victim_num(&s, "refused") - refused);
	assert_int_equal(log_lines(&s.v, mark, (const char *[]){ m.n.name,
	    NULL }, "refused events", NULL, 0), 1);
	assert_int_equal(events(&s.v), base);

	/* Both frames again, good: the victim takes them all. */
	r[F - 1] = keep;
	atk_session(&a, &m, &s.v, NULL, 0);
	atk_events(&a, r, F);
	atk_events(&a, &r[F], F);
	atk_end(&a);
	s.count += 2 * F;
	scene_wait(&s, WAIT_MS);
	assert_int_equal(victim_num(&s, "refused"), refused + 1);
	scene_check(&s, "after a refused first frame of two held");
	free(bad.p);
	for (size_t i = 0; i < 2 * F; i++)
		free(r[i].p);
	free(r);
	store_close(ms);
	ident_free(&m);
	scene_stop(&s);
}

/* sl_seal_payload's choice: the name alone. */
static bool
sealed_name(void *ctx, const char *key, size_t klen)
{
	(void)ctx;
	return klen == 4 && memcmp(key, "name", 4) == 0;
}

/*
 * A full frame is held whose last event came without the opening of its
 * committed name (as a relay that dropped it passes it on); a WHOLE frame
 * with the whole copy of that event follows on the same connection.  The
 * held frame is stored before the WHOLE is looked at, as frame by frame,
 * and the whole copy gives the name back.  Looked at first, the WHOLE
 * found no such event to give it back to, and the name stayed lost: the
 * victim asks its peers for it, but none holds it whole.
 */
static void
test_full_frames_whole(void **state)
{
	enum { F = SL_PEER_FULL_EVENTS };
	struct scene s;
	struct ident m;
	struct atk a;
	struct rec *r = calloc(F, sizeof *r), full;
	struct sl_buf g = { 0 }, pl = { 0 }, op = { 0 }, wb = { 0 };
	struct store_appended ap;
	struct sl_event ev;
	msgpack_packer pk;
	char err[256], id[SL_ID_TEXT + 1];
	long base, mark;

	(void)state;
	assert_non_null(r);
	scene_start(&s, "fw");
	ident_init(&m, "m-fw");
	scene_member(&s, &m);
	struct store *ms = chain_open(&m, "store");

	/* F - 1 contacts, then one whose name is committed, with its
	 * opening. */
	chain_many(ms, &m, r, F - 1);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 2);
	sl_pack_cstr(&pk, "name");
	sl_pack_cstr(&pk, "Qwpx Kvarhallen");
	sl_pack_cstr(&pk, "role");
	sl_pack_cstr(&pk, "kurator");
	assert_int_equal(sl_seal_payload(g.p, g.len, sealed_name, NULL, NULL,
	    &pl, &op), SL_OK);
	struct sl_event_draft d = { .author = "mallory",
		.type = "contact.created", .payload = pl.p,
		.payload_len = (uint32_t)pl.len, .opens = op.p,
		.opens_len = (uint32_t)op.len };

	if (store_append(ms, &d, 1, &ap, err, sizeof err) != SL_OK)
		fail_msg("%s", err);
	full = (struct rec){ .seq = ap.seq };
	memcpy(full.hash, ap.hash, SL_HASH_LEN);
	assert_int_equal(store_event_get(ms, m.key.pub, ap.seq, &full.p,
	    &full.len), SL_OK);
	assert_int_equal(sl_event_decode(&ev, full.p, full.len), SL_OK);
	assert_true(ev.n_opens > 0);
	/* The copy without the opening ends the frame. */
	r[F - 1] = full;
	assert_non_null(r[F - 1].p = malloc(SL_EVENT_MAX));
	r[F - 1].len = sl_record_reopen(r[F - 1].p, &ev, NULL, 0);
	id_created(id, &full);
	events_body(&wb, &full, 1);
	base = events(&s.v);
	mark = log_mark(&s.v);

	/* The full frame (held), then the WHOLE, then the end. */
	atk_session(&a, &m, &s.v, NULL, 0);
	atk_events(&a, r, F);
	atk_frame(&a, SL_PEER_WHOLE, wb.p, wb.len);
	atk_end(&a);
	victim_alive(&s, "after the frames");
	assert_int_equal(events(&s.v), base + F);
	if (log_lines(&s.v, mark, (const char *[]){ m.n.name, NULL },
	    "gave back the openings of 1 event", NULL, 0) != 1)
		fail_msg("v-fw did not take the opening from a WHOLE that came "
		    "right after the held frame holding its event");
	if (strstr(ok(sl(&s.v, "contact", "show", id, "--json", NULL))->out,
	    "Qwpx Kvarhallen") == NULL)
		fail_msg("v-fw shows contact %s without its name", id);
	assert_int_equal(victim_num(&s, "refused"), 0);
	s.count += F;
	scene_wait(&s, WAIT_MS);
	scene_check(&s, "after a WHOLE behind a held frame");
	free(g.p);
	free(pl.p);
	free(op.p);
	free(wb.p);
	free(full.p);
	for (size_t i = 0; i < F; i++)
		free(r[i].p);
	free(r);
	store_close(ms);
	ident_free(&m);
	scene_stop(&s);
}

/*
 * A node restored from a backup takes its own events back from a peer
 * before it appends again: its writes wait from the first of them it
 * stores until the rest has come (check_self), so that none is appended
 * at a seq the rest will fill.  A full frame of them is therefore stored
 * at once, never held back to be committed with the next.  Held, the
 * first frame was stored only with the second, and writes never waited:
 * one made while it was held was appended at a seq the frames then
 * filled, a fork of the node's own chain.
 */
static void
test_full_frames_own(void **state)
{
	enum { F = SL_PEER_FULL_EVENTS, R = 10 };
	struct scene s;
	struct ident m, v;
	struct atk a;
	struct rec *r = calloc(F + SL_SIGN_INTERVAL + R, sizeof *r);
	char src[600], dst[600], cmd[1400], err[256], needle[96];
	long base, mark;
	uint64_t k0, top;
	size_t n1, n;
	struct store *vs;

	(void)state;
	assert_non_null(r);
	scene_start(&s, "fs");
	ident_init(&m, "m-fs");
	scene_member(&s, &m);
	/* The victim's next events, made in a copy of its store: the victim
	 * never holds them, as if restored from a backup taken before. */
	assert_int_equal(node_stop(&s.v, SIGTERM), 0);
	snprintf(src, sizeof src, "%s/%s", s.v.dir, SL_NODE_STORE_DIR);
	snprintf(dst, sizeof dst, "%s/v-fs-ahead", cl_tmp);
	snprintf(cmd, sizeof cmd, "cp -a %s %s", src, dst);
	assert_int_equal(system(cmd), 0);
	node_start(&s.v);
	memset(&v, 0, sizeof v);
	if (sl_node_load_key(s.v.dir, &v.key, err, sizeof err) != SL_OK ||
	    store_open(&vs, dst, &v.key, NULL, err, sizeof err) != SL_OK)
		fail_msg("%s", err);
	assert_non_null(store_tip_of(vs, v.key.pub));
	k0 = store_tip_of(vs, v.key.pub)->seq;
	/* A full frame ends on the first signed event past F (each
	 * SL_SIGN_INTERVAL-th is), a short one on the last. */
	n1 = (size_t)((k0 + F + SL_SIGN_INTERVAL - 1) / SL_SIGN_INTERVAL *
	    SL_SIGN_INTERVAL - k0);
	n = n1 + R;
	chain_many(vs, &v, r, n);
	store_close(vs);
	top = k0 + n;
	assert_int_equal(r[n - 1].seq, top);
	base = events(&s.v);
	mark = log_mark(&s.v);

	/* m says it holds them all, and sends them in a full frame and a
	 * short one, back to back. */
	struct vent vec[] = { { v.key.pub, top, r[n - 1].hash },
		{ m.key.pub, 0, NULL } };

	atk_session(&a, &m, &s.v, vec, 2);
	atk_events(&a, r, n1);
	atk_events(&a, &r[n1], R);
	atk_end(&a);
	victim_alive(&s, "after its own events");
	assert_int_equal(events(&s.v), base + (long)n);
	if (log_lines(&s.v, mark, (const char *[]){ m.n.name, NULL },
	    "holding local writes until peer", NULL, 0) != 1)
		fail_msg("v-fs did not hold its writes once the first frame "
		    "of its own events (%zu of %zu) was in", n1, n);
	snprintf(needle, sizeof needle, "took back this node's own events up "
	    "to seq %llu;", (unsigned long long)top);
	assert_int_equal(log_lines(&s.v, mark, (const char *[]){ needle,
	    NULL }, NULL, NULL, 0), 1);
	assert_int_equal(victim_num(&s, "forks"), 0);
	assert_int_equal(victim_num(&s, "refused"), 0);
	/* The next write goes on at top + 1 on both nodes. */
	s.count += (long)n;
	scene_wait(&s, WAIT_MS);
	scene_check(&s, "after its own events in a full frame");
	assert_int_equal(victim_num(&s, "forks"), 0);
	for (size_t i = 0; i < n; i++)
		free(r[i].p);
	free(r);
	sl_key_wipe(&v.key);
	ident_free(&m);
	scene_stop(&s);
}

/*
 * A run cut before its signed event (a sender does so at the frame cap)
 * and completed by the next frame: the unsigned tail the victim kept
 * from the first frame is where handle_events finds the origin of the
 * second, and it frees that tail (carry_clear) before its last look at
 * the origin (memcmp with its own key): a read of freed memory, which
 * ends an ASan build of samlogd.
 */
static void
test_carry_origin(void **state)
{
	struct scene s;
	struct ident m;
	struct atk a;
	struct rec r[SL_SIGN_INTERVAL];
	long base;

	(void)state;
	scene_start(&s, "co");
	ident_init(&m, "m-co");
	scene_member(&s, &m);
	struct store *ms = chain_open(&m, "store");

	/* One commit: only its last event (seq SL_SIGN_INTERVAL) is
	 * signed. */
	chain_many(ms, &m, r, SL_SIGN_INTERVAL);
	base = events(&s.v);
	atk_session(&a, &m, &s.v, NULL, 0);
	atk_events(&a, r, 10);
	atk_events(&a, &r[10], SL_SIGN_INTERVAL - 10);
	atk_end(&a);
	victim_alive(&s, "after a run cut before its signed event");
	assert_int_equal(events(&s.v), base + SL_SIGN_INTERVAL);
	s.count += SL_SIGN_INTERVAL;
	scene_wait(&s, WAIT_MS);
	scene_check(&s, "after a run cut before its signed event");
	for (size_t i = 0; i < SL_SIGN_INTERVAL; i++)
		free(r[i].p);
	store_close(ms);
	ident_free(&m);
	scene_stop(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_non_member, hostile_reap),
		cmocka_unit_test_teardown(test_replay, hostile_reap),
		cmocka_unit_test_teardown(test_fork, hostile_reap),
		cmocka_unit_test_teardown(test_malformed, hostile_reap),
		cmocka_unit_test_teardown(test_idle_flood, hostile_reap),
		cmocka_unit_test_teardown(test_terminal_controls, hostile_reap),
		cmocka_unit_test_teardown(test_fork_flood, hostile_reap),
		cmocka_unit_test_teardown(test_own_claim, hostile_reap),
		cmocka_unit_test_teardown(test_tip_claim, hostile_reap),
		cmocka_unit_test_teardown(test_full_frames, hostile_reap),
		cmocka_unit_test_teardown(test_full_frames_cutoff, hostile_reap),
		cmocka_unit_test_teardown(test_full_frames_other_origin,
		    hostile_reap),
		cmocka_unit_test_teardown(test_full_frames_first_refused,
		    hostile_reap),
		cmocka_unit_test_teardown(test_full_frames_whole, hostile_reap),
		cmocka_unit_test_teardown(test_full_frames_own, hostile_reap),
		cmocka_unit_test_teardown(test_carry_origin, hostile_reap),
	};

	signal(SIGPIPE, SIG_IGN);
	if (sl_crypto_init() != 0)
		return 1;
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
