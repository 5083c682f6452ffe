/*
 * test_raw.c - auditors who are not writers: `samlog export --events`
 * from real daemons (two nodes synced, so two origins), and `samlog
 * verify --file` and `samlog audit --check` offline, with and without
 * pinned keys (PROTOCOL.md section 14).
 *
 * The files are taken apart and put together again here with msgpack-c
 * and SHA-256 alone, not with samlog's own encoder: a forger has the
 * format, not our code.  Each damage must fail with a line that says
 * what is wrong, exit 1; wrong usage exits 2.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <msgpack.h>

#include "cluster.h"
#include "samlog_proto.h"
#include "testutil.h"

#define MAGIC "samlog-events-1\n"
#define MAGIC_LEN 16
#define MAX_RECS 512

/* ---- the file, taken apart ------------------------------------------- */

struct xfile {
	uint8_t *buf;
	size_t len;
	size_t head_end;               /* magic and head */
	size_t nrec;
	size_t start[MAX_RECS];        /* each record's bin */
	size_t at[MAX_RECS], n[MAX_RECS]; /* and its bytes inside */
	size_t trailer;                /* where the trailer starts */
};

static void
xload(struct xfile *x, const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t off;
	msgpack_unpacked u;

	assert_non_null(f);
	memset(x, 0, sizeof *x);
	x->buf = malloc(1 << 22);
	assert_non_null(x->buf);
	x->len = fread(x->buf, 1, 1 << 22, f);
	fclose(f);
	assert_true(x->len > MAGIC_LEN && memcmp(x->buf, MAGIC, MAGIC_LEN) == 0);
	msgpack_unpacked_init(&u);
	off = MAGIC_LEN;
	assert_int_equal(msgpack_unpack_next(&u, (const char *)x->buf, x->len,
	    &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(u.data.type, MSGPACK_OBJECT_ARRAY);
	x->head_end = off;
	for (;;) {
		size_t start = off;

		assert_int_equal(msgpack_unpack_next(&u, (const char *)x->buf,
		    x->len, &off), MSGPACK_UNPACK_SUCCESS);
		if (u.data.type == MSGPACK_OBJECT_ARRAY) {
			x->trailer = start;
			break;
		}
		assert_int_equal(u.data.type, MSGPACK_OBJECT_BIN);
		assert_true(x->nrec < MAX_RECS);
		x->start[x->nrec] = start;
		x->at[x->nrec] = (size_t)((const uint8_t *)u.data.via.bin.ptr -
		    x->buf);
		x->n[x->nrec++] = u.data.via.bin.size;
	}
	assert_int_equal(off, x->len);
	msgpack_unpacked_destroy(&u);
}

/* The index of the first record holding needle (from index from). */
static size_t
xfind(const struct xfile *x, const char *needle, size_t from)
{
	for (size_t i = from; i < x->nrec; i++)
		if (memmem(x->buf + x->at[i], x->n[i], needle, strlen(needle)))
			return i;
	fail_msg("no record holds \"%s\"", needle);
	return 0;
}

/* The index of origin's (a node id) record seq. */
static size_t
xat(const struct xfile *x, const char *origin, uint64_t seq)
{
	uint8_t key[SL_KEY_LEN];
	struct sl_event ev;

	assert_true(sl_b32_decode(key, SL_KEY_LEN, origin));
	for (size_t i = 0; i < x->nrec; i++) {
		assert_int_equal(sl_event_decode(&ev, x->buf + x->at[i], x->n[i]),
		    SL_OK);
		if (memcmp(ev.origin, key, SL_KEY_LEN) == 0 && ev.seq == seq)
			return i;
	}
	fail_msg("no record %s seq %llu", origin, (unsigned long long)seq);
	return 0;
}

static char *
put(const char *name, const void *data, size_t len)
{
	char *path;
	FILE *f;

	if (asprintf(&path, "%s/%s", cl_tmp, name) < 0 ||
	    (f = fopen(path, "wb")) == NULL)
		abort();
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

/* A change to the file: record skip left out, record repl replaced by
 * rec (or rec inserted after record ins), head replaced by head. */
struct xedit {
	long skip, repl, ins;
	const uint8_t *rec;
	size_t rec_len;
	const uint8_t *head;
	size_t head_len;
};

/* Writes the file again with the edit and a new trailer (the count and
 * hash a forger would compute), as name. */
static char *
xreseal(const struct xfile *x, const char *name, const struct xedit *e)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint8_t h[SL_HASH_LEN];
	size_t count = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (e->head != NULL) {
		msgpack_sbuffer_write(&sb, MAGIC, MAGIC_LEN);
		msgpack_sbuffer_write(&sb, (const char *)e->head, e->head_len);
	} else {
		msgpack_sbuffer_write(&sb, (const char *)x->buf, x->head_end);
	}
	for (size_t i = 0; i < x->nrec; i++) {
		if ((long)i == e->skip)
			continue;
		if ((long)i == e->repl)
			sl_pack_bin(&pk, e->rec, e->rec_len);
		else
			sl_pack_bin(&pk, x->buf + x->at[i], x->n[i]);
		count++;
		if ((long)i == e->ins) {
			sl_pack_bin(&pk, e->rec, e->rec_len);
			count++;
		}
	}
	sl_sha256(h, sb.data, sb.size);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, count);
	sl_pack_bin(&pk, h, SL_HASH_LEN);
	char *p = put(name, sb.data, sb.size);

	msgpack_sbuffer_destroy(&sb);
	return p;
}

#define NO_EDIT { -1, -1, -1, NULL, 0, NULL, 0 }

/* ---- running samlog offline -------------------------------------------- */

/* samlog ARGS... with no node directory, no HOME, no daemon. */
static struct tu_run *
offline(const char *first, ...)
{
	static struct tu_run r;
	char *argv[32];
	int k = 0;
	va_list ap;

	argv[k++] = (char *)tu_prog("samlog");
	argv[k++] = "-d";
	argv[k++] = "/nonexistent/node";
	argv[k++] = (char *)first;
	va_start(ap, first);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[k++] = a;
	va_end(ap);
	argv[k] = NULL;
	assert_int_equal(tu_run(&r, argv, (char *const[]){ "HOME=/nonexistent",
	    "SAMLOG_SOCKET=/nonexistent.sock", NULL }), 0);
	return &r;
}

/* Fails unless r exited status with a line on stderr holding needle. */
static void
fails(const struct tu_run *r, int status, const char *needle)
{
	if (r->status != status || strstr(r->err, needle) == NULL ||
	    strncmp(r->err, "samlog: ", 8) != 0)
		fail_msg("expected exit %d with \"%s\", got %d: out=[%.400s] "
		    "err=[%s]", status, needle, r->status, r->out, r->err);
}

/* The same, and that line is the only one and stdout is empty. */
static void
fails1(const struct tu_run *r, int status, const char *needle)
{
	fails(r, status, needle);
	if (tu_lines(r->err) != 1 || r->out[0] != '\0')
		fail_msg("expected one line, got out=[%.400s] err=[%s]", r->out,
		    r->err);
}

static void
passes(const struct tu_run *r)
{
	if (r->status != 0)
		fail_msg("expected success, got %d: out=[%.400s] err=[%s]",
		    r->status, r->out, r->err);
}

static char *
fpr(const struct node *n)
{
	static char buf[4][32];
	static int k;
	char *b = buf[k++ % 4];

	snprintf(b, sizeof buf[0], "%.16s", n->id);
	return b;
}

/* Two members, each with events of its own, synced: a holds both
 * origins.  a's contact "Åsa Häggvik" is updated after b's events
 * arrive, so a's chain has events before and after a clock between. */
static struct node a, b;
static uint64_t mid_ms;

static void
two_members(void)
{
	static int rounds;
	struct node *all[] = { &a, &b };
	char na[16], nb[16];

	rounds++;
	snprintf(na, sizeof na, "ra%d", rounds);
	snprintf(nb, sizeof nb, "rb%d", rounds);
	node_init(&a, na, "Samordningsförbundet");
	node_init(&b, nb, "Sigtuna kommun");
	node_start(&a);
	node_start(&b);
	ok(sl(&a, "org", "add", "--name", "Väsby Företag", "--kind", "asf",
	    NULL));
	char *c = add_contact(&a, "Åsa Häggvik");
	char id[64];

	snprintf(id, sizeof id, "%s", c);
	add_contact(&b, "Per Märsta");
	ok(sl(&b, "decision", "add", "--title", "Budget", "--text", "Ram 1 Mkr",
	    NULL));
	trust(&a, &b, true);
	trust(&b, &a, false);
	wait_converged(all, 2);
	usleep(20000);
	mid_ms = sl_now_ms();
	usleep(20000);
	ok(sl(&a, "contact", "update", id, "--role", "samordnare", NULL));
	ok(sl(&a, "contact", "update", id, "--role", "chef", NULL));
	wait_converged(all, 2);
}

static char *
export_events(const struct node *n, const char *name, ...)
{
	struct tu_run *r;
	char *path, *argv[32] = { NULL };
	int k = 0;
	va_list ap;

	if (asprintf(&path, "%s/%s", cl_tmp, name) < 0)
		abort();
	argv[k++] = "export";
	argv[k++] = "--events";
	argv[k++] = path;
	va_start(ap, name);
	for (char *x; (x = va_arg(ap, char *)) != NULL;)
		argv[k++] = x;
	va_end(ap);
	argv[k] = NULL;
	r = sl(n, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5],
	    argv[6], argv[7], argv[8], NULL);
	passes(r);
	return path;
}

/* ---- the tests ---------------------------------------------------------- */

static void
test_export_verify(void **state)
{
	struct tu_run *r;
	struct xfile x;
	char *path;

	(void)state;
	two_members();
	path = export_events(&a, "all.events", "--json", NULL);
	r = ok(sl(&a, "status", "--json", NULL));
	long n = tu_json_num(r->out, "events");

	/* What was written, from a file the CLI checked before writing. */
	r = ok(sl(&a, "export", "--events", path, "--json", NULL));
	assert_int_equal(tu_json_num(r->out, "events"), n);
	assert_int_equal(tu_json_num(r->out, "origins"), 2);
	/* Offline, from the file alone. */
	r = offline("verify", "--file", path, "--json", NULL);
	passes(r);
	assert_non_null(strstr(r->out, "\"verified\": true"));
	assert_int_equal(tu_json_num(r->out, "events"), n);
	assert_int_equal(tu_json_num(r->out, "origins"), 2);
	assert_int_equal(tu_json_num(r->out, "erased"), 0);
	/* Unpinned: every fingerprint, each name a claim, and what to do. */
	assert_non_null(strstr(r->out, fpr(&a)));
	assert_non_null(strstr(r->out, fpr(&b)));
	assert_non_null(strstr(r->out, "\"claimed_org\": \"Sigtuna kommun\""));
	assert_non_null(strstr(r->out, "out of band"));
	r = offline("verify", "--file", path, NULL);
	passes(r);
	assert_non_null(strstr(r->out, "verified:"));
	assert_non_null(strstr(r->out, "Samordningsförbundet"));
	/* The records as stored: the same bytes as the log holds (a's
	 * names are in it, salts and signatures too). */
	xload(&x, path);
	assert_int_equal(x.nrec, n);
	xfind(&x, "Åsa Häggvik", 0);
	/* - is standard output: the same bytes. */
	r = ok(sl(&a, "export", "--events", "-", NULL));
	assert_true(memcmp(r->out, MAGIC, MAGIC_LEN) == 0);
	/* The node's own `verify` still checks the store. */
	r = ok(sl(&a, "verify", "--json", NULL));
	assert_non_null(strstr(r->out, "\"ok\": true"));
	free(x.buf);
	free(path);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

static void
test_pins(void **state)
{
	struct tu_run *r;
	char *path, *members, line[512];

	(void)state;
	two_members();
	path = export_events(&a, "pins.events", NULL);
	r = offline("verify", "--file", path, "--expect", fpr(&a), "--expect",
	    fpr(&b), "--json", NULL);
	passes(r);
	assert_null(strstr(r->out, "out of band"));
	/* A whole node id, and upper case, do too. */
	char up[64];

	snprintf(up, sizeof up, "%s", b.id);
	for (char *p = up; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	passes(offline("verify", "--file", path, "--expect", a.id, "--expect", up,
	    NULL));
	/* One origin not pinned: one line naming it and its claim. */
	r = offline("verify", "--file", path, "--expect", fpr(&a), NULL);
	fails1(r, 1, fpr(&b));
	assert_non_null(strstr(r->err, "Sigtuna kommun"));
	/* A members file, with names and comments. */
	snprintf(line, sizeof line, "# who is who, by phone 2026-01-12\n\n"
	    "%s  Samordningsförbundet Östra Uppland\n"
	    "   # Sigtuna's, read aloud\n%s Sigtuna kommun\n", fpr(&a), fpr(&b));
	members = put("members.txt", line, strlen(line));
	r = offline("verify", "--file", path, "--members", members, "--json",
	    NULL);
	passes(r);
	assert_non_null(strstr(r->out, "Samordningsförbundet Östra Uppland"));
	snprintf(line, sizeof line, "%s Samordningsförbundet\n", fpr(&a));
	free(members);
	members = put("half.txt", line, strlen(line));
	fails1(offline("verify", "--file", path, "--members", members, NULL), 1,
	    fpr(&b));
	free(members);
	members = put("bad.txt", "not a fingerprint\n", 18);
	fails1(offline("verify", "--file", path, "--members", members, NULL), 1,
	    "bad.txt:1");
	free(members);
	/* A key nobody expects: both origins fail. */
	struct sl_key k;
	char other[SL_NODE_ID_TEXT + 1];

	sl_key_generate(&k, NULL);
	sl_b32_encode(other, k.pub, SL_KEY_LEN);
	other[16] = '\0';
	r = offline("verify", "--file", path, "--expect", other, NULL);
	fails(r, 1, fpr(&a));
	assert_non_null(strstr(r->err, fpr(&b)));
	assert_int_equal(tu_lines(r->err), 2);
	/* Usage. */
	fails1(offline("verify", "--file", path, "--expect", "xyz", NULL), 2,
	    "--expect");
	fails1(offline("verify", "--expect", fpr(&a), NULL), 2, "--file");
	fails1(offline("audit", "--expect", fpr(&a), NULL), 2, "--check");
	fails1(offline("verify", "--file", path, "--members", "/nonexistent",
	    NULL), 1, "cannot read");
	free(path);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

/* A fresh node that calls itself what a member is called: its bundle
 * checks, and says so, but not against the key the auditor expects. */
static void
test_fake_org_bundle(void **state)
{
	struct node real, fake;
	struct tu_run *r;
	char *bundle, d[64];

	(void)state;
	node_init(&real, "real", "Samordningsförbundet");
	node_init(&fake, "fake", "Samordningsförbundet");
	node_start(&fake);
	snprintf(d, sizeof d, "%s", line1(ok(sl(&fake, "decision", "add",
	    "--title", "Budget 2027", "--text", "Ram 9 Mkr", NULL))));
	if (asprintf(&bundle, "%s/fake.audit", cl_tmp) < 0)
		abort();
	ok(sl(&fake, "audit", d, "--out", bundle, NULL));
	r = offline("audit", "--check", bundle, "--json", NULL);
	passes(r);
	assert_non_null(strstr(r->out, "\"exporter_org\": "
	    "\"Samordningsförbundet\""));
	assert_non_null(strstr(r->out, fpr(&fake)));
	assert_non_null(strstr(r->out, "out of band"));
	r = offline("audit", "--check", bundle, "--expect", fpr(&real), NULL);
	fails1(r, 1, fpr(&fake));
	assert_non_null(strstr(r->err, "Samordningsförbundet"));
	passes(offline("audit", "--check", bundle, "--expect", fpr(&fake),
	    NULL));
	free(bundle);
	assert_int_equal(node_stop(&fake, SIGTERM), 0);
}

static void
test_damage(void **state)
{
	struct xfile x;
	struct tu_run *r;
	char *path, *p;
	size_t i;

	(void)state;
	two_members();
	path = export_events(&a, "dmg.events", NULL);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
	xload(&x, path);
	passes(offline("verify", "--file", path, NULL));

	/* One byte of a payload: as it is, the trailer sees it, and so does
	 * the payload hash; sealed again, the payload hash alone. */
	i = xfind(&x, "Åsa Häggvik", 0);
	uint8_t *q = memmem(x.buf + x.at[i], x.n[i], "Häggvik", 7);

	q[1] ^= 0x01;
	p = put("payload.events", x.buf, x.len);
	r = offline("verify", "--file", p, NULL);
	fails(r, 1, "payload does not match its hash");
	assert_non_null(strstr(r->err, "trailer"));
	free(p);
	struct xedit e = NO_EDIT;

	p = xreseal(&x, "payload-sealed.events", &e);
	r = offline("verify", "--file", p, NULL);
	fails1(r, 1, "payload does not match its hash");
	free(p);
	q[1] ^= 0x01;

	/* One byte of a signature. */
	p = NULL;
	for (i = 0; i < x.nrec && p == NULL; i++) {
		struct sl_event ev;

		assert_int_equal(sl_event_decode(&ev, x.buf + x.at[i], x.n[i]),
		    SL_OK);
		if (ev.sig != NULL && ev.seq > 1) {
			((uint8_t *)ev.sig)[5] ^= 0x40;
			p = xreseal(&x, "sig.events", &e);
			((uint8_t *)ev.sig)[5] ^= 0x40;
		}
	}
	assert_non_null(p);
	fails(offline("verify", "--file", p, NULL), 1,
	    "signature does not verify");
	free(p);

	/* One event dropped from the middle of a chain (a's seq 3 of 5). */
	i = xat(&x, a.id, 3);
	e.skip = (long)i;
	p = xreseal(&x, "drop.events", &e);
	r = offline("verify", "--file", p, NULL);
	fails1(r, 1, "missing");
	free(p);
	/* ... and not sealed again: the trailer too. */
	uint8_t *cut = malloc(x.len);
	size_t after = x.at[i] + x.n[i];

	memcpy(cut, x.buf, x.start[i]);
	memcpy(cut + x.start[i], x.buf + after, x.len - after);
	p = put("drop-raw.events", cut, x.len - (after - x.start[i]));
	r = offline("verify", "--file", p, NULL);
	fails(r, 1, "missing");
	assert_non_null(strstr(r->err, "trailer"));
	free(p);
	free(cut);
	e.skip = -1;

	/* Truncated: anywhere, one line. */
	p = put("short.events", x.buf, x.len - 10);
	fails1(offline("verify", "--file", p, NULL), 1, "cut short");
	free(p);
	p = put("notrailer.events", x.buf, x.trailer);
	fails1(offline("verify", "--file", p, NULL), 1, "cut short");
	free(p);
	p = put("half.events", x.buf, x.len / 2);
	fails1(offline("verify", "--file", p, NULL), 1, "cut short");
	free(p);
	/* The last event of a chain left out, sealed again: the head's tip
	 * says it is missing. */
	e.skip = (long)x.nrec - 1;
	p = xreseal(&x, "tip.events", &e);
	fails(offline("verify", "--file", p, NULL), 1, "tip");
	free(p);
	e.skip = -1;
	/* Not the format; nothing; a file that is not there. */
	p = put("text.events", "hello\n", 6);
	fails1(offline("verify", "--file", p, NULL), 1, "not a samlog event "
	    "export");
	free(p);
	p = put("empty.events", "", 0);
	fails1(offline("verify", "--file", p, NULL), 1, "not a samlog event "
	    "export");
	free(p);
	fails1(offline("verify", "--file", "/nonexistent.events", NULL), 1,
	    "cannot read");
	/* An audit bundle is not an event export, and the other way round. */
	fails1(offline("audit", "--check", path, NULL), 1, "not a samlog audit");
	free(x.buf);
	free(path);
}

/* Erased payloads keep header and signature: the file still verifies. */
static void
test_erased(void **state)
{
	struct xfile x;
	struct tu_run *r;
	char *path, *p;
	struct sl_event ev;
	uint8_t rec[SL_EVENT_MAX];
	size_t i, n;

	(void)state;
	two_members();
	path = export_events(&a, "erase.events", NULL);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
	xload(&x, path);
	i = xfind(&x, "Per Märsta", 0);
	assert_int_equal(sl_event_decode(&ev, x.buf + x.at[i], x.n[i]), SL_OK);
	n = sl_record_encode(rec, ev.hdr, ev.hdr_len, ev.sig, NULL, NULL, 0);
	struct xedit e = NO_EDIT;

	e.repl = (long)i;
	e.rec = rec;
	e.rec_len = n;
	p = xreseal(&x, "erased.events", &e);
	r = offline("verify", "--file", p, "--json", NULL);
	passes(r);
	assert_int_equal(tu_json_num(r->out, "erased"), 1);
	assert_null(strstr(r->out, "Per Märsta"));
	free(p);
	free(x.buf);
	free(path);
}

/* --since and --origin: a part of the log, verified as such. */
static void
test_filters(void **state)
{
	struct tu_run *r;
	char *path, when[64], pre[16];
	long all;

	(void)state;
	two_members();
	/* Every event, membership events included (events() counts record
	 * events only). */
	all = tu_json_num(ok(sl(&a, "status", "--json", NULL))->out, "events");
	/* By clock: a's two updates (and nothing of b's, all earlier). */
	sl_time_format_utc((int64_t)mid_ms, when, sizeof when);
	path = export_events(&a, "since.events", "--since", when, NULL);
	r = offline("verify", "--file", path, "--json", NULL);
	passes(r);
	assert_int_equal(tu_json_num(r->out, "events"), 2);
	assert_int_equal(tu_json_num(r->out, "origins"), 1);
	assert_non_null(strstr(r->out, "taken as given"));
	free(path);
	/* By seq. */
	path = export_events(&a, "seq.events", "--since", "2", NULL);
	r = offline("verify", "--file", path, "--json", NULL);
	passes(r);
	assert_int_equal(tu_json_num(r->out, "events"), all - 2);
	assert_non_null(strstr(r->out, "taken as given"));
	free(path);
	/* One origin, by a prefix of its id. */
	snprintf(pre, sizeof pre, "%.6s", b.id);
	path = export_events(&a, "origin.events", "--origin", pre, NULL);
	r = offline("verify", "--file", path, "--json", "--expect", fpr(&b),
	    NULL);
	passes(r);
	assert_int_equal(tu_json_num(r->out, "origins"), 1);
	assert_null(strstr(r->out, "taken as given"));
	free(path);
	/* Both, as a comma list and by a repeated flag. */
	char list[128];

	snprintf(list, sizeof list, "%.8s,%.8s", a.id, b.id);
	path = export_events(&a, "both.events", "--origin", list, NULL);
	r = offline("verify", "--file", path, "--json", NULL);
	passes(r);
	assert_int_equal(tu_json_num(r->out, "events"), all);
	free(path);
	path = export_events(&a, "both2.events", "--origin", a.id, "--origin",
	    pre, "--since", "2019-01-01", NULL);
	r = offline("verify", "--file", path, "--json", NULL);
	passes(r);
	assert_int_equal(tu_json_num(r->out, "events"), all);
	free(path);
	/* Wrong ones. */
	fails1(sl(&a, "export", "--events", "x", "--origin", "zzzzzz", NULL), 1,
	    "zzzzzz");
	fails1(sl(&a, "export", "--events", "x", "--since", "yesterday", NULL),
	    1, "yesterday");
	fails1(sl(&a, "export", "--origin", pre, NULL), 2, "--events");
	fails1(sl(&a, "export", "--events", "x", "--format", "csv", NULL), 2,
	    "--events");
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

/* Forks and content: what only an origin's own key can make, made. */
static struct sl_key akey;

/* A signed event of a's: seq, prev, clock, type, payload as given. */
static size_t
forge(uint8_t *rec, uint64_t seq, const uint8_t *prev, uint64_t hlc,
    const char *type, const uint8_t *entity, const uint8_t (*parents)[32],
    uint32_t np, const uint8_t *payload, size_t plen)
{
	struct sl_event_draft d = { .author = "mallory", .type = type,
		.entity = entity, .parents = parents, .n_parents = np,
		.payload = payload, .payload_len = (uint32_t)plen };
	uint8_t salt[SL_SALT_LEN] = { 7 }, ph[SL_HASH_LEN], hash[SL_HASH_LEN];
	uint8_t hdr[SL_HEADER_MAX], sig[SL_SIG_LEN];
	struct sl_header_in h = { akey.pub, seq, prev, hlc, ph };
	size_t hl;

	sl_payload_hash(ph, salt, payload, plen);
	hl = sl_header_encode(hdr, &d, &h);
	sl_sha256(hash, hdr, hl);
	sl_sign_hash(sig, &akey, hash);
	return sl_record_encode(rec, hdr, hl, sig, salt, payload, plen);
}

static void
test_fork_and_content(void **state)
{
	struct xfile x;
	struct sl_event ev = { 0 }, tip = { 0 };
	struct tu_run *r;
	char *path, *p, err[256];
	uint8_t rec[SL_EVENT_MAX];
	size_t i, n;

	(void)state;
	two_members();
	assert_int_equal(sl_node_load_key(a.dir, &akey, err, sizeof err),
	    SL_OK);
	path = export_events(&a, "fork.events", NULL);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
	xload(&x, path);
	/* a's seq 3 and another seq 3, both signed by a: a fork. */
	for (i = 0; i < x.nrec; i++) {
		assert_int_equal(sl_event_decode(&ev, x.buf + x.at[i], x.n[i]),
		    SL_OK);
		if (memcmp(ev.origin, akey.pub, SL_KEY_LEN) == 0 && ev.seq == 3)
			break;
	}
	assert_true(i < x.nrec);
	static const uint8_t org[] = { 0x82, 0xa4, 'k', 'i', 'n', 'd', 0xa3,
		'a', 's', 'f', 0xa4, 'n', 'a', 'm', 'e', 0xa5, 'A', 'n', 'd',
		'r', 'a' };

	n = forge(rec, 3, ev.prev, ev.hlc, "org.created", NULL, NULL, 0, org,
	    sizeof org);
	struct xedit e = NO_EDIT;

	e.ins = (long)i;
	e.rec = rec;
	e.rec_len = n;
	p = xreseal(&x, "forked.events", &e);
	r = offline("verify", "--file", p, NULL);
	fails(r, 1, "fork");
	free(p);

	/* After a's tip, a signed event that breaks the content rules (an
	 * org without its name), the head's tip moved to it. */
	for (i = 0; i < x.nrec; i++) {
		assert_int_equal(sl_event_decode(&ev, x.buf + x.at[i], x.n[i]),
		    SL_OK);
		if (memcmp(ev.origin, akey.pub, SL_KEY_LEN) == 0)
			tip = ev, n = i;
	}
	uint8_t h[SL_HASH_LEN];
	static const uint8_t noname[] = { 0x81, 0xa4, 'k', 'i', 'n', 'd', 0xa3,
		'a', 's', 'f' };
	size_t rl;

	sl_event_hash(h, &tip);
	rl = forge(rec, tip.seq + 1, h, tip.hlc + 1, "org.created", NULL, NULL,
	    0, noname, sizeof noname);
	uint8_t nh[SL_HASH_LEN];
	struct sl_event fe;

	assert_int_equal(sl_event_decode(&fe, rec, rl), SL_OK);
	sl_event_hash(nh, &fe);
	/* The head again, a's tip now the forged event. */
	msgpack_unpacked u;
	size_t off = MAGIC_LEN;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)x.buf, x.len,
	    &off), MSGPACK_UNPACK_SUCCESS);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	const msgpack_object_array *hd = &u.data.via.array;

	msgpack_pack_array(&pk, hd->size);
	for (uint32_t k = 0; k + 1 < hd->size; k++)
		msgpack_pack_object(&pk, hd->ptr[k]);
	const msgpack_object_array *os = &hd->ptr[hd->size - 1].via.array;

	msgpack_pack_array(&pk, os->size);
	for (uint32_t k = 0; k < os->size; k++) {
		const msgpack_object *o = os->ptr[k].via.array.ptr;

		if (memcmp(o[0].via.bin.ptr, akey.pub, SL_KEY_LEN) != 0) {
			msgpack_pack_object(&pk, os->ptr[k]);
			continue;
		}
		msgpack_pack_array(&pk, 4);
		msgpack_pack_object(&pk, o[0]);
		msgpack_pack_object(&pk, o[1]);
		msgpack_pack_uint64(&pk, tip.seq + 1);
		sl_pack_bin(&pk, nh, SL_HASH_LEN);
	}
	e = (struct xedit)NO_EDIT;
	e.ins = (long)n;
	e.rec = rec;
	e.rec_len = rl;
	e.head = (const uint8_t *)sb.data;
	e.head_len = sb.size;
	p = xreseal(&x, "content.events", &e);
	r = offline("verify", "--file", p, NULL);
	fails(r, 1, "org.created");
	assert_non_null(strstr(r->err, "name"));
	free(p);
	msgpack_sbuffer_destroy(&sb);
	msgpack_unpacked_destroy(&u);
	sl_key_wipe(&akey);
	free(x.buf);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_export_verify, cl_reap),
		cmocka_unit_test_teardown(test_pins, cl_reap),
		cmocka_unit_test_teardown(test_fake_org_bundle, cl_reap),
		cmocka_unit_test_teardown(test_damage, cl_reap),
		cmocka_unit_test_teardown(test_erased, cl_reap),
		cmocka_unit_test_teardown(test_filters, cl_reap),
		cmocka_unit_test_teardown(test_fork_and_content, cl_reap),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
