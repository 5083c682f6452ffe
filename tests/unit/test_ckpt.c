/*
 * test_ckpt.c - witnessed checkpoints (PROTOCOL.md section 15).
 *
 * The payload's content rules, strictly: tips sorted by origin, no origin
 * twice, at most SL_CKPT_MAX, each [bin(32), positive uint, bin(32)]; the
 * worked example of section 15, byte for byte; and real daemons: three
 * nodes with a checkpoint interval of one second that sync, each showing
 * every origin witnessed by the two other organisations; and audit
 * bundles that carry those checkpoints, honest and forged.
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

/* ---- the payload's content rules ------------------------------------------ */

/* A checkpoint payload {"tips": [...]} of n tips; origin i is o[i] in its
 * first two bytes and o[i]'s low byte in the rest, seq s[i]; shape GOOD
 * is the valid one, the others break one thing each. */
enum shape { GOOD, ORIGIN_STR, SEQ_ZERO, SHORT_HASH, PAIR, NOT_LIST };

static void
payload(struct sl_buf *g, const uint16_t *o, const uint64_t *s, size_t n,
    enum shape sh)
{
	msgpack_packer pk;
	uint8_t b[SL_HASH_LEN];

	memset(g, 0, sizeof *g);
	msgpack_packer_init(&pk, g, sl_buf_write);
	msgpack_pack_map(&pk, 1);
	sl_pack_cstr(&pk, "tips");
	if (sh == NOT_LIST) {
		sl_pack_cstr(&pk, "none");
		return;
	}
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < n; i++) {
		msgpack_pack_array(&pk, sh == PAIR ? 2 : 3);
		memset(b, o[i] & 0xff, sizeof b);
		b[0] = (uint8_t)(o[i] >> 8);
		b[1] = (uint8_t)o[i];
		if (sh == ORIGIN_STR) {
			sl_pack_cstr(&pk, "0eggffzksr8bw7bgvmceejy0k5ky9nhgkejg"
			    "tqrxvj3684jn66w0");
		} else {
			msgpack_pack_bin(&pk, SL_KEY_LEN);
			msgpack_pack_bin_body(&pk, b, SL_KEY_LEN);
		}
		msgpack_pack_uint64(&pk, sh == SEQ_ZERO ? 0 : s[i]);
		if (sh == PAIR)
			continue;
		memset(b, 0x5a, sizeof b);
		msgpack_pack_bin(&pk, sh == SHORT_HASH ? 31 : SL_HASH_LEN);
		msgpack_pack_bin_body(&pk, b, sh == SHORT_HASH ? 31 :
		    SL_HASH_LEN);
	}
}

static int
check(const struct sl_buf *g, const uint8_t *entity)
{
	char why[256] = "";
	int rc = sl_schema_check_event("checkpoint", 10, entity, 0, g->p,
	    g->len, 1, why, sizeof why);

	if (rc != SL_OK)
		printf("refused: %s\n", why);
	return rc;
}

static void
test_payload_rules(void **state)
{
	uint16_t o[SL_CKPT_MAX + 1];
	uint8_t id[SL_ID_LEN] = { 1 };
	uint64_t s[SL_CKPT_MAX + 1];
	struct sl_buf g;
	struct sl_ckpt_tip *tips = NULL;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < SL_CKPT_MAX + 1; i++) {
		o[i] = (uint16_t)i;
		s[i] = i + 1;
	}
	/* Sorted, distinct: accepted, and decoded as written. */
	payload(&g, (const uint16_t[]){ 1, 2, 9 }, (const uint64_t[]){ 5, 1,
	    300 }, 3, GOOD);
	assert_int_equal(check(&g, NULL), SL_OK);
	assert_int_equal(sl_ckpt_decode(g.p, g.len, &tips, &n), SL_OK);
	assert_int_equal(n, 3);
	assert_int_equal(tips[2].origin[31], 9);
	assert_int_equal(tips[2].seq, 300);
	assert_int_equal(tips[1].hash[31], 0x5a);
	free(tips);
	/* A checkpoint names no record. */
	assert_int_not_equal(check(&g, id), SL_OK);
	free(g.p);
	/* None held: an empty list is a checkpoint too. */
	payload(&g, o, s, 0, GOOD);
	assert_int_equal(check(&g, NULL), SL_OK);
	free(g.p);
	/* Out of order, and the same origin twice. */
	payload(&g, (const uint16_t[]){ 2, 1 }, s, 2, GOOD);
	assert_int_not_equal(check(&g, NULL), SL_OK);
	assert_int_not_equal(sl_ckpt_decode(g.p, g.len, &tips, &n), SL_OK);
	free(g.p);
	payload(&g, (const uint16_t[]){ 3, 3 }, s, 2, GOOD);
	assert_int_not_equal(check(&g, NULL), SL_OK);
	free(g.p);
	/* The most allowed, and one more. */
	payload(&g, o, s, SL_CKPT_MAX, GOOD);
	assert_true(g.len <= SL_PAYLOAD_MAX);
	assert_int_equal(check(&g, NULL), SL_OK);
	free(g.p);
	payload(&g, o, s, SL_CKPT_MAX + 1, GOOD);
	assert_int_not_equal(check(&g, NULL), SL_OK);
	free(g.p);
	/* Wrong types. */
	for (enum shape sh = ORIGIN_STR; sh <= NOT_LIST; sh++) {
		payload(&g, o, s, 2, sh);
		assert_int_not_equal(check(&g, NULL), SL_OK);
		assert_int_not_equal(sl_ckpt_decode(g.p, g.len, &tips, &n),
		    SL_OK);
		free(g.p);
	}
	/* A checkpoint without tips. */
	{
		msgpack_packer pk;

		memset(&g, 0, sizeof g);
		msgpack_packer_init(&pk, &g, sl_buf_write);
		msgpack_pack_map(&pk, 0);
		assert_int_not_equal(check(&g, NULL), SL_OK);
		free(g.p);
	}
}

/* ---- section 15's worked example ------------------------------------------ */

#define FIELD_MAX 8192

/* The ```checkpoint block of PROTOCOL.md: "tip ORIGIN SEQ HASH" lines and
 * a "payload" in hex, continued on indented lines. */
static void
test_example(void **state)
{
	const char *path = getenv("SAMLOG_PROTOCOL_MD");
	FILE *f = fopen(path ? path : "protocol/PROTOCOL.md", "r");
	char line[1024], hex[FIELD_MAX] = "";
	struct sl_ckpt_tip tips[8];
	static uint8_t want[FIELD_MAX / 2];
	size_t n = 0, wl;
	bool in = false, inpay = false;
	struct sl_buf g = { 0 };

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "```checkpoint example") == 0) {
			in = true;
			continue;
		}
		if (!in)
			continue;
		if (strcmp(line, "```") == 0)
			break;
		if (strncmp(line, "tip ", 4) == 0) {
			char o[65], h[65];
			unsigned long long s;

			inpay = false;
			assert_true(n < 8);
			assert_int_equal(sscanf(line + 4, "%64s %llu %64s", o,
			    &s, h), 3);
			assert_int_equal(tu_unhex(tips[n].origin, SL_KEY_LEN, o),
			    SL_KEY_LEN);
			assert_int_equal(tu_unhex(tips[n].hash, SL_HASH_LEN, h),
			    SL_HASH_LEN);
			tips[n++].seq = s;
		} else if (strncmp(line, "payload ", 8) == 0) {
			inpay = true;
			strncat(hex, line + 8 + strspn(line + 8, " "),
			    sizeof hex - 1 - strlen(hex));
		} else if (inpay && line[0] == ' ') {
			strncat(hex, line + strspn(line, " "),
			    sizeof hex - 1 - strlen(hex));
		}
	}
	fclose(f);
	assert_true(in);
	assert_int_equal(n, 2);
	wl = tu_unhex(want, sizeof want, hex);
	assert_int_equal(sl_ckpt_encode(&g, tips, n), SL_OK);
	if (g.len != wl || memcmp(g.p, want, wl) != 0) {
		printf("payload      ");
		for (size_t i = 0; i < g.len; i++)
			printf("%s%02x", i > 0 && i % 32 == 0 ? "\n             " :
			    "", g.p[i]);
		printf("\n");
		fail_msg("section 15's payload differs from the encoder's");
	}
	assert_int_equal(check(&g, NULL), SL_OK);
	free(g.p);
}

/* ---- real daemons --------------------------------------------------------- */

static void
set_interval(const struct node *n, const char *v)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", n->dir, SL_NODE_CONF_FILE);
	assert_non_null(f = fopen(path, "a"));
	fprintf(f, "checkpoint_interval = %s\n", v);
	fclose(f);
}

static int
count(const char *s, const char *needle)
{
	int k = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
		k++;
	return k;
}

/* Waits until n's status shows `want` origins witnessed by k others. */
static void
wait_witnessed(const struct node *n, int want, int k)
{
	char needle[64];
	uint64_t t0 = now_ms();

	snprintf(needle, sizeof needle, "\"witnesses\": %d", k);
	for (;;) {
		const char *out = ok(sl(n, "status", "--json", NULL))->out;

		if (count(out, needle) == want)
			return;
		if (now_ms() - t0 > cl_wait_ms)
			fail_msg("%s: not %d origins witnessed by %d:\n%s",
			    n->name, want, k, out);
		usleep(200000);
	}
}

static void
test_three_witness(void **state)
{
	struct node a, b, c, *all[] = { &a, &b, &c };
	struct tu_run *r;

	(void)state;
	node_init(&a, "wa", "Samordningsförbundet");
	node_init(&b, "wb", "Sigtuna kommun");
	node_init(&c, "wc", "Knivsta kommun");
	for (int i = 0; i < 3; i++)
		set_interval(all[i], "1s");
	for (int i = 0; i < 3; i++)
		node_start(all[i]);
	add_contact(&a, "Anna Ölund");
	add_contact(&b, "Per Märsta");
	add_contact(&c, "Åsa Häggvik");
	trust(&a, &b, true);
	trust(&b, &a, false);
	trust(&b, &c, true);
	trust(&c, &b, false);
	trust(&a, &c, true);
	trust(&c, &a, false);
	/* Checkpoints are counted apart: the contacts are what is left. */
	wait_events(all, 3, 3 + 3);
	for (int i = 0; i < 3; i++)
		wait_witnessed(all[i], 3, 2);
	r = ok(sl(&a, "status", "--json", NULL));
	assert_true(tu_json_num(r->out, "checkpoint_events") >= 3);
	assert_int_equal(count(r->out, "\"contradictions\": []"), 1);
	r = ok(sl(&b, "status", NULL));
	assert_non_null(strstr(r->out, "witnessed"));
	assert_same(all, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
}

/* ---- bundles carrying witnesses -------------------------------------------- */

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 22);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 22, f);
	fclose(f);
	return buf;
}

static void
spill(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* The statement of a bundle in buf, and its signature, in place. */
static void
statement(uint8_t *buf, size_t len, uint8_t **st, uint32_t *stlen,
    uint8_t **sig)
{
	struct sl_mp m;
	const uint8_t *s, *g;
	uint32_t n, gl;

	sl_mp_init(&m, buf + SL_AUDIT_MAGIC_LEN, len - SL_AUDIT_MAGIC_LEN);
	assert_int_equal(sl_mp_read_array(&m, &n, 2), SL_OK);
	assert_int_equal(sl_mp_read_bin(&m, &s, stlen, 1, 1u << 30), SL_OK);
	assert_int_equal(sl_mp_read_bin(&m, &g, &gl, 64, 64), SL_OK);
	*st = buf + (s - buf);
	*sig = buf + (g - buf);
}

/* Signs the statement again with the exporter's key: what a dishonest
 * exporter does after changing it. */
static void
resign(uint8_t *buf, size_t len, const struct sl_key *k)
{
	uint8_t *st, *sig, h[SL_HASH_LEN];
	uint32_t stlen;

	statement(buf, len, &st, &stlen, &sig);
	sl_sha256(h, st, stlen);
	sl_sign_audit(sig, k, h);
}

/* The record of origin at seq inside the statement, decoded in place. */
static bool
find_event(uint8_t *st, uint32_t stlen, const uint8_t *origin, uint64_t seq,
    struct sl_event *ev)
{
	for (uint32_t i = 0; i + 40 < stlen; i++) {
		struct sl_mp m;
		const uint8_t *rec;
		uint32_t rl;

		if (st[i] != 0xc4 && st[i] != 0xc5)
			continue;
		sl_mp_init(&m, st + i, stlen - i);
		if (sl_mp_read_bin(&m, &rec, &rl, 1, SL_EVENT_MAX) != SL_OK ||
		    sl_event_decode(ev, rec, rl) != SL_OK)
			continue;
		if (ev->seq == seq && memcmp(ev->origin, origin,
		    SL_KEY_LEN) == 0)
			return true;
	}
	return false;
}

/* The highest seq of origin's records in the statement. */
static uint64_t
last_seq(uint8_t *st, uint32_t stlen, const uint8_t *origin)
{
	struct sl_event ev;
	uint64_t best = 0;

	for (uint64_t q = 1; q < 128; q++)
		if (find_event(st, stlen, origin, q, &ev))
			best = q;
	return best;
}

/* The bundle in buf again without origin's record at seq, its vector
 * entry for origin set to (seq - 1, prev_hash), signed with k. */
static size_t
drop_event(const uint8_t *buf, size_t len, const uint8_t *origin,
    uint64_t seq, const uint8_t prev_hash[SL_HASH_LEN],
    const struct sl_key *k, struct sl_buf *out)
{
	struct sl_mp m;
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	const uint8_t *st, *b;
	const char *str;
	uint32_t stlen, n, l;
	uint64_t u;
	uint8_t h[SL_HASH_LEN], sig[SL_SIG_LEN];

	sl_mp_init(&m, buf + SL_AUDIT_MAGIC_LEN, len - SL_AUDIT_MAGIC_LEN);
	assert_int_equal(sl_mp_read_array(&m, &n, 2), SL_OK);
	assert_int_equal(sl_mp_read_bin(&m, &st, &stlen, 1, 1u << 30), SL_OK);
	sl_mp_init(&m, st, stlen);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	assert_int_equal(sl_mp_read_array(&m, &n, 9), SL_OK);
	msgpack_pack_array(&pk, n);
	assert_int_equal(sl_mp_read_uint(&m, &u), SL_OK);
	msgpack_pack_uint64(&pk, u);
	assert_int_equal(sl_mp_read_bin(&m, &b, &l, 0, 64), SL_OK);
	sl_pack_bin(&pk, b, l);
	assert_int_equal(sl_mp_read_str(&m, &str, &l, 0, 64), SL_OK);
	sl_pack_str(&pk, str, l);
	assert_int_equal(sl_mp_read_bin(&m, &b, &l, 0, 64), SL_OK);
	sl_pack_bin(&pk, b, l);
	assert_int_equal(sl_mp_read_str(&m, &str, &l, 0, 256), SL_OK);
	sl_pack_str(&pk, str, l);
	assert_int_equal(sl_mp_read_uint(&m, &u), SL_OK);
	msgpack_pack_uint64(&pk, u);
	assert_int_equal(sl_mp_read_array(&m, &n, 1u << 16), SL_OK);
	msgpack_pack_array(&pk, n);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *o, *th;
		uint32_t three;

		assert_int_equal(sl_mp_read_array(&m, &three, 3), SL_OK);
		assert_int_equal(sl_mp_read_bin(&m, &o, &l, 32, 32), SL_OK);
		assert_int_equal(sl_mp_read_uint(&m, &u), SL_OK);
		assert_int_equal(sl_mp_read_bin(&m, &th, &l, 32, 32), SL_OK);
		msgpack_pack_array(&pk, 3);
		sl_pack_bin(&pk, o, SL_KEY_LEN);
		if (memcmp(o, origin, SL_KEY_LEN) == 0) {
			msgpack_pack_uint64(&pk, seq - 1);
			sl_pack_bin(&pk, prev_hash, SL_HASH_LEN);
		} else {
			msgpack_pack_uint64(&pk, u);
			sl_pack_bin(&pk, th, SL_HASH_LEN);
		}
	}
	assert_int_equal(sl_mp_read_array(&m, &n, 1u << 20), SL_OK);
	{
		/* Count first: the array header comes before its records. */
		struct sl_mp c = m;
		uint32_t keep = 0;

		for (uint32_t i = 0; i < n; i++) {
			struct sl_event ev;

			assert_int_equal(sl_mp_read_bin(&c, &b, &l, 1,
			    SL_EVENT_MAX), SL_OK);
			assert_int_equal(sl_event_decode(&ev, b, l), SL_OK);
			keep += !(ev.seq == seq && memcmp(ev.origin, origin,
			    SL_KEY_LEN) == 0);
		}
		msgpack_pack_array(&pk, keep);
		for (uint32_t i = 0; i < n; i++) {
			struct sl_event ev;

			assert_int_equal(sl_mp_read_bin(&m, &b, &l, 1,
			    SL_EVENT_MAX), SL_OK);
			assert_int_equal(sl_event_decode(&ev, b, l), SL_OK);
			if (ev.seq == seq && memcmp(ev.origin, origin,
			    SL_KEY_LEN) == 0)
				continue;
			sl_pack_bin(&pk, b, l);
		}
	}
	/* The missing parents, as they were. */
	msgpack_pack_array(&pk, 0);
	assert_int_equal(sl_mp_read_array(&m, &n, 0), SL_OK);
	sl_sha256(h, g.p, g.len);
	sl_sign_audit(sig, k, h);
	memset(out, 0, sizeof *out);
	sl_buf_write(out, SL_AUDIT_MAGIC, SL_AUDIT_MAGIC_LEN);
	msgpack_packer_init(&pk, out, sl_buf_write);
	msgpack_pack_array(&pk, 2);
	sl_pack_bin(&pk, g.p, g.len);
	sl_pack_bin(&pk, sig, SL_SIG_LEN);
	free(g.p);
	return out->len;
}

/*
 * a (no checkpoints of its own), b and c (every second) sync; a contact
 * made and changed on a is witnessed by b and c.  An honest bundle says
 * so; a bundle whose last event of a was changed and signed again with
 * a's own key (a second history, for the auditor only) fails, because
 * b's and c's checkpoints name the real one; so does a bundle that
 * leaves that event out and says a's chain ends before it.
 */
static void
test_bundle_witnessed(void **state)
{
	struct node a, b, c, *all[] = { &a, &b, &c };
	char id[64], file[700], bad[700], err[256];
	struct sl_key key;
	struct tu_run *r;
	uint8_t *buf, *st, *sig, origin[SL_KEY_LEN], h[SL_HASH_LEN];
	uint32_t stlen;
	size_t len;
	uint64_t t0, tip;
	struct sl_event ev;

	(void)state;
	node_init(&a, "ba", "Samordningsförbundet");
	node_init(&b, "bb", "Sigtuna kommun");
	node_init(&c, "bc", "Knivsta kommun");
	set_interval(&a, "0");
	set_interval(&b, "1s");
	set_interval(&c, "1s");
	for (int i = 0; i < 3; i++)
		node_start(all[i]);
	trust(&a, &b, true);
	trust(&b, &a, false);
	trust(&a, &c, true);
	trust(&c, &a, false);
	trust(&b, &c, true);
	trust(&c, &b, false);
	snprintf(id, sizeof id, "%s", add_contact(&a, "Anna Ölund"));
	ok(sl(&a, "contact", "update", id, "--role", "ordförande", NULL));
	wait_events(all, 3, 3 + 2);
	snprintf(file, sizeof file, "%s/ba.bundle", cl_tmp);
	snprintf(bad, sizeof bad, "%s/bad.bundle", cl_tmp);
	/* Until both checkpoints have reached a and name its last event. */
	t0 = now_ms();
	for (;;) {
		ok(sl(&a, "audit", id, "--out", file, NULL));
		r = ok(sl(&a, "audit", "--check", file, "--json", NULL));
		if (tu_json_num(r->out, "witnessed_by") == 2)
			break;
		if (now_ms() - t0 > cl_wait_ms)
			fail_msg("not witnessed by 2:\n%s", r->out);
		usleep(300000);
	}
	r = ok(sl(&b, "audit", "--check", file, NULL));
	assert_non_null(strstr(r->out, "witnessed by 2 organisations"));

	/* A second history of a's last event, for the auditor alone. */
	assert_int_equal(sl_node_load_key(a.dir, &key, err, sizeof err),
	    SL_OK);
	memcpy(origin, key.pub, SL_KEY_LEN);
	buf = slurp(file, &len);
	statement(buf, len, &st, &stlen, &sig);
	tip = last_seq(st, stlen, origin);
	assert_true(tip > 1);
	assert_true(find_event(st, stlen, origin, tip, &ev));
	{
		uint8_t *hdr = buf + (ev.hdr - buf), old[SL_HASH_LEN];
		uint8_t *esig = buf + (ev.sig - buf), pat[9];
		uint8_t *at;

		pat[0] = 0xcf;
		for (int i = 0; i < 8; i++)
			pat[1 + i] = (uint8_t)(ev.hlc >> (56 - 8 * i));
		at = memmem(hdr, ev.hdr_len, pat, sizeof pat);
		assert_non_null(at);
		sl_sha256(old, hdr, ev.hdr_len);
		at[8] ^= 1;             /* another clock: another event */
		sl_sha256(h, hdr, ev.hdr_len);
		sl_sign_hash(esig, &key, h);
		/* The vector names the tip: the new one now. */
		at = memmem(st, stlen, old, SL_HASH_LEN);
		assert_non_null(at);
		memcpy(at, h, SL_HASH_LEN);
	}
	resign(buf, len, &key);
	spill(bad, buf, len);
	free(buf);
	r = sl(&b, "audit", "--check", bad, NULL);
	assert_int_equal(r->status, 1);
	assert_int_equal(tu_lines(r->err), 1);
	assert_non_null(strstr(r->err, "fork"));

	/* The same event left out, the vector ending before it: the
	 * history is closed without it (an update names its parents, no
	 * one names it), and only the witnesses know better. */
	buf = slurp(file, &len);
	statement(buf, len, &st, &stlen, &sig);
	{
		struct sl_event prev;
		struct sl_buf out;

		assert_true(find_event(st, stlen, origin, tip - 1, &prev));
		sl_event_hash(h, &prev);
		drop_event(buf, len, origin, tip, h, &key, &out);
		spill(bad, out.p, out.len);
		free(out.p);
	}
	free(buf);
	r = sl(&b, "audit", "--check", bad, NULL);
	assert_int_equal(r->status, 1);
	assert_int_equal(tu_lines(r->err), 1);
	assert_non_null(strstr(r->err, "left out"));
	sl_key_wipe(&key);
	for (int i = 0; i < 3; i++)
		assert_int_equal(node_stop(all[i], SIGTERM), 0);
}

/* Without the key, the default interval (5 min) writes no checkpoint in
 * a short test; 0 writes none at all. */
static void
test_default_none(void **state)
{
	struct node a;

	(void)state;
	node_init(&a, "wd", "Samordningsförbundet");
	node_start(&a);
	add_contact(&a, "Anna Ölund");
	sleep(2);
	assert_int_equal(tu_json_num(ok(sl(&a, "status", "--json",
	    NULL))->out, "checkpoint_events"), 0);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
	node_init(&a, "we", "Samordningsförbundet");
	set_interval(&a, "0");
	node_start(&a);
	add_contact(&a, "Anna Ölund");
	sleep(2);
	assert_int_equal(tu_json_num(ok(sl(&a, "status", "--json",
	    NULL))->out, "checkpoint_events"), 0);
	assert_int_equal(node_stop(&a, SIGTERM), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_rules),
		cmocka_unit_test(test_example),
		cmocka_unit_test_teardown(test_three_witness, cl_reap),
		cmocka_unit_test_teardown(test_default_none, cl_reap),
		cmocka_unit_test_teardown(test_bundle_witnessed, cl_reap),
	};

	return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
