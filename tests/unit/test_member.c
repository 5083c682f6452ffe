/*
 * test_member.c - membership from the log (protocol/member.c).
 *
 * Who is a member must be a function of the membership events held,
 * whatever order they arrive in and whichever member's node computes
 * it: every case here adds the same events in every order (or many
 * random ones) and from several anchors, and expects one answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>

#include "samlog_proto.h"

/* Keys A, B, C... : 32 bytes of one letter. */
static const uint8_t *
key(char c)
{
	static uint8_t k[26][SL_KEY_LEN];

	memset(k[c - 'A'], c, SL_KEY_LEN);
	return k[c - 'A'];
}

/* The key whose seed is the bytes base, base + 1, ... (as PROTOCOL.md's
 * examples make theirs). */
static void
seeded(struct sl_key *k, uint8_t base)
{
	uint8_t seed[SL_SEED_LEN];

	for (int i = 0; i < SL_SEED_LEN; i++)
		seed[i] = (uint8_t)(base + i);
	sl_key_from_seed(k, seed);
}

static struct sl_mev
ev(char origin, uint64_t seq, uint64_t hlc, enum sl_mev_type t, char org,
    const char *name, uint64_t upto)
{
	struct sl_mev e;

	memset(&e, 0, sizeof e);
	memcpy(e.origin, key(origin), SL_KEY_LEN);
	e.seq = seq;
	e.hlc = hlc;
	e.type = t;
	memcpy(e.org, key(org), SL_KEY_LEN);
	snprintf(e.name, sizeof e.name, "%s", name != NULL ? name : "");
	e.upto = upto;
	return e;
}

/* The member set as letters ("ABC"), and each one's cut-off. */
static void
summary(const struct sl_members *ms, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (char c = 'A'; c <= 'H'; c++) {
		const struct sl_member *m = sl_members_get(ms, key(c));

		if (m == NULL)
			continue;
		if (m->upto == UINT64_MAX)
			used += (size_t)snprintf(out + used, len - used, "%c", c);
		else
			used += (size_t)snprintf(out + used, len - used,
			    "%c<=%llu", c, (unsigned long long)m->upto);
		if (used >= len)
			break;
	}
}

/* Folds e[0..n) from anchor in the order perm, and returns the summary. */
static void
fold(const struct sl_mev *e, size_t n, const size_t *perm, char anchor,
    char *out, size_t len)
{
	struct sl_members ms;

	sl_members_init(&ms, key(anchor));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sl_members_add(&ms, &e[perm[i]]), SL_OK);
		/* Settling after each, as a node does, must not matter. */
		assert_int_equal(sl_members_settle(&ms), SL_OK);
	}
	summary(&ms, out, len);
	sl_members_free(&ms);
}

/* Every anchor in anchors and 200 random orders give want. */
static void
expect_all(const struct sl_mev *e, size_t n, const char *anchors,
    const char *want)
{
	size_t perm[32];
	char got[256];

	assert_true(n <= 32);
	srand(7);
	for (const char *a = anchors; *a; a++)
		for (int round = 0; round < 200; round++) {
			for (size_t i = 0; i < n; i++)
				perm[i] = i;
			for (size_t i = n; round > 0 && i > 1; i--) {
				size_t j = (size_t)rand() % i, t = perm[i - 1];

				perm[i - 1] = perm[j];
				perm[j] = t;
			}
			fold(e, n, perm, *a, got, sizeof got);
			if (strcmp(got, want) != 0)
				fail_msg("anchor %c, order %d: members %s, want "
				    "%s", *a, round, got, want);
		}
}

/* A admits B, B admits C (and each admits back, as joining does): the
 * same three on every member's node; D, admitted by no member, is none,
 * though it admits itself and A. */
static void
test_closure(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 10, SL_MEV_ADMIT, 'B', "Bee", 0),
		ev('B', 1, 11, SL_MEV_ADMIT, 'A', "Ay", 0),
		ev('B', 2, 20, SL_MEV_ADMIT, 'C', "Cee", 0),
		ev('C', 1, 21, SL_MEV_ADMIT, 'B', "Bee", 0),
		ev('D', 1, 5, SL_MEV_ADMIT, 'D', "Dee", 0),
		ev('D', 2, 6, SL_MEV_ADMIT, 'A', "Ay", 0),
	};

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "ABC", "ABC");
}

/* Told only of the hub (B), a node (A) still learns of C: the case of a
 * node that was given one peer's key. */
static void
test_through_hub(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 10, SL_MEV_ADMIT, 'B', "Hub", 0),
		ev('B', 1, 11, SL_MEV_ADMIT, 'A', "Väsby", 0),
		ev('B', 2, 12, SL_MEV_ADMIT, 'C', "Sigtuna", 0),
		ev('C', 1, 13, SL_MEV_ADMIT, 'B', "Hub", 0),
	};

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "ABC", "ABC");
}

/* B retires C at seq 3: C's events after 3 no longer count, its
 * admission of D at seq 5 does not either, its admission of E at 2
 * does. */
static void
test_retired(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 10, SL_MEV_ADMIT, 'B', "B", 0),
		ev('B', 1, 11, SL_MEV_ADMIT, 'A', "A", 0),
		ev('B', 2, 12, SL_MEV_ADMIT, 'C', "C", 0),
		ev('C', 2, 13, SL_MEV_ADMIT, 'E', "E", 0),
		ev('C', 5, 30, SL_MEV_ADMIT, 'D', "D", 0),
		ev('B', 3, 40, SL_MEV_RETIRE, 'C', NULL, 3),
	};
	struct sl_members ms;

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "AB", "ABC<=3E");
	sl_members_init(&ms, key('A'));
	for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
		assert_int_equal(sl_members_add(&ms, &e[i]), SL_OK);
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_true(sl_members_counts(&ms, key('C'), 3));
	assert_false(sl_members_counts(&ms, key('C'), 4));
	assert_false(sl_members_current(&ms, key('C')));
	assert_true(sl_members_current(&ms, key('B')));
	assert_false(sl_members_counts(&ms, key('D'), 1));
	sl_members_free(&ms);
}

/* Retiring another takes every organisation that admitted it: C and B
 * retire each other, but neither admitted the other, so neither counts;
 * A, which alone admitted C, retires it at seq 1.  In any order. */
static void
test_mutual_retire(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 10, SL_MEV_ADMIT, 'B', "B", 0),
		ev('B', 1, 11, SL_MEV_ADMIT, 'A', "A", 0),
		ev('A', 2, 12, SL_MEV_ADMIT, 'C', "C", 0),
		ev('C', 1, 13, SL_MEV_ADMIT, 'A', "A", 0),
		ev('B', 4, 50, SL_MEV_RETIRE, 'C', NULL, 1),
		ev('C', 3, 40, SL_MEV_RETIRE, 'B', NULL, 2),
	};
	struct sl_mev f[sizeof e / sizeof e[0] + 1];

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "A", "ABC");
	memcpy(f, e, sizeof e);
	f[sizeof e / sizeof e[0]] = ev('A', 3, 60, SL_MEV_RETIRE, 'C', NULL,
	    1);
	expect_all(f, sizeof f / sizeof f[0], "AB", "ABC<=1");
}

/* An organisation that retires itself is cut after its retirement,
 * never before it, whatever upto it names: the retirement itself counts
 * (and so reaches every node). */
static void
test_self_retire(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 10, SL_MEV_ADMIT, 'B', "B", 0),
		ev('B', 1, 11, SL_MEV_ADMIT, 'A', "A", 0),
		ev('B', 5, 20, SL_MEV_RETIRE, 'B', NULL, 2),
	};

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "AB", "AB<=5");
}

/* Names: an organisation names itself; a name from an admission counts
 * only for one that never did; a name two members hold is given to
 * neither (no clock decides who had it first); renaming another does
 * nothing; history asks by clock. */
static void
test_names(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 10, SL_MEV_ADMIT, 'B', "Sigtuna kommun", 0),
		ev('B', 1, 11, SL_MEV_ADMIT, 'A', "Samordningsförbundet", 0),
		ev('A', 2, 12, SL_MEV_ADMIT, 'C', "SIGTUNA KOMMUN", 0),
		ev('C', 1, 13, SL_MEV_ADMIT, 'B', "Impostor", 0),
		ev('A', 3, 14, SL_MEV_RENAME, 'B', "Kapad", 0),
		ev('B', 2, 20, SL_MEV_RENAME, 'B', "Sigtuna kommun (KS)", 0),
	};
	struct sl_members ms;

	(void)state;
	sl_members_init(&ms, key('C'));
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(sl_members_add(&ms, &e[i]), SL_OK);
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	/* B and C are both "Sigtuna kommun": neither is. */
	assert_null(sl_members_name_at(&ms, key('B'), 15));
	assert_null(sl_members_name_at(&ms, key('C'), 15));
	assert_true(sl_members_contested(&ms, key('B')));
	assert_string_equal(sl_members_name_at(&ms, key('A'), 25),
	    "Samordningsförbundet");
	/* B names itself: its own name wins over what admitted it, and
	 * the clash is gone. */
	assert_int_equal(sl_members_add(&ms, &e[5]), SL_OK);
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_false(sl_members_contested(&ms, key('B')));
	assert_string_equal(sl_members_name_at(&ms, key('B'), 25),
	    "Sigtuna kommun (KS)");
	assert_string_equal(sl_members_name_at(&ms, key('C'), 25),
	    "SIGTUNA KOMMUN");
	sl_members_free(&ms);
}

/* Many admissions settle fast (each member found by key, names checked
 * once): 4,000 admissions by one member. */
static void
test_many(void **state)
{
	struct sl_members ms;
	uint8_t a[SL_KEY_LEN];
	struct sl_mev e;

	(void)state;
	memset(a, 'A', sizeof a);
	sl_members_init(&ms, a);
	for (uint32_t i = 0; i < 4000; i++) {
		memset(&e, 0, sizeof e);
		memcpy(e.origin, a, SL_KEY_LEN);
		e.seq = i + 1;
		e.hlc = 100 + i;
		e.type = SL_MEV_ADMIT;
		memcpy(e.org, &i, sizeof i);
		memset(e.org + sizeof i, 'x', SL_KEY_LEN - sizeof i);
		snprintf(e.name, sizeof e.name, "Organisation %u", i % 100);
		assert_int_equal(sl_members_add(&ms, &e), SL_OK);
	}
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_int_equal(sl_members_count(&ms), 4001);
	sl_members_free(&ms);
}

/* Decoding from real events: the payload keys, an erased payload, a
 * type of another kind. */
static void
test_decode(void **state)
{
	/* {"name": "Nya", "org": <52 chars>} */
	char org[SL_NODE_ID_TEXT + 1];
	uint8_t payload[128], origin[SL_KEY_LEN];
	size_t n = 0;
	struct sl_event e;
	struct sl_mev m;

	(void)state;
	sl_b32_encode(org, key('B'), SL_KEY_LEN);
	payload[n++] = 0x82;
	payload[n++] = 0xa4;
	memcpy(payload + n, "name", 4);
	n += 4;
	payload[n++] = 0xa3;
	memcpy(payload + n, "Nya", 3);
	n += 3;
	payload[n++] = 0xa3;
	memcpy(payload + n, "org", 3);
	n += 3;
	payload[n++] = 0xd9;
	payload[n++] = SL_NODE_ID_TEXT;
	memcpy(payload + n, org, SL_NODE_ID_TEXT);
	n += SL_NODE_ID_TEXT;
	memset(&e, 0, sizeof e);
	memcpy(origin, key('A'), SL_KEY_LEN);
	e.origin = origin;
	e.seq = 4;
	e.hlc = 99;
	e.type = "member.admitted";
	e.type_len = strlen(e.type);
	e.payload = payload;
	e.payload_len = (uint32_t)n;
	assert_int_equal(sl_mev_decode(&e, &m), SL_OK);
	assert_int_equal(m.type, SL_MEV_ADMIT);
	assert_memory_equal(m.org, key('B'), SL_KEY_LEN);
	assert_string_equal(m.name, "Nya");
	assert_int_equal(m.seq, 4);
	e.payload = NULL;
	assert_int_equal(sl_mev_decode(&e, &m), SL_EINVAL);
	e.type = "contact.created";
	e.type_len = strlen(e.type);
	assert_int_equal(sl_mev_decode(&e, &m), SL_ENOENT);
}

/* The record of PROTOCOL.md's vector `name`, from its hex. */
static size_t
documented_record(const char *name, uint8_t *out, size_t cap)
{
	char head[64];
	FILE *f = fopen("protocol/PROTOCOL.md", "r");
	char line[512], hex[4096] = "";
	bool in = false, rec = false;
	size_t n = 0;

	assert_non_null(f);
	snprintf(head, sizeof head, "```vector %s", name);
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, head) == 0) {
			in = true;
			continue;
		}
		if (!in)
			continue;
		if (strcmp(line, "```") == 0)
			break;
		if (strncmp(line, "record ", 7) == 0) {
			rec = true;
			strncat(hex, line + 13, sizeof hex - strlen(hex) - 1);
		} else if (rec && line[0] == ' ') {
			strncat(hex, line + 13, sizeof hex - strlen(hex) - 1);
		} else {
			rec = false;
		}
	}
	fclose(f);
	for (const char *h = hex; h[0] && h[1] && n < cap; h += 2) {
		unsigned v;

		assert_int_equal(sscanf(h, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* PROTOCOL.md 12.1's example means what the text says: an admission of
 * section 9's node under "Sigtuna kommun", which the content rules take
 * and which makes that organisation a member of the admitting one's. */
static void
test_documented(void **state)
{
	uint8_t rec[1024], org[SL_KEY_LEN];
	size_t n = documented_record("member-admitted", rec, sizeof rec);
	struct sl_event ev;
	struct sl_mev m;
	struct sl_members ms;
	char w[256];

	(void)state;
	assert_true(n > 100);
	assert_int_equal(sl_event_decode(&ev, rec, n), SL_OK);
	assert_int_equal(sl_schema_check_event(ev.type, ev.type_len, ev.entity,
	    ev.n_parents, ev.payload, ev.payload_len, ev.hlc, w, sizeof w),
	    SL_OK);
	assert_int_equal(sl_mev_decode(&ev, &m), SL_OK);
	assert_int_equal(m.type, SL_MEV_ADMIT);
	assert_string_equal(m.name, "Sigtuna kommun");
	assert_true(sl_b32_decode(org, SL_KEY_LEN,
	    "0eggffzksr8bw7bgvmceejy0k5ky9nhgkejgtqrxvj3684jn66w0"));
	assert_memory_equal(m.org, org, SL_KEY_LEN);
	sl_members_init(&ms, ev.origin);
	assert_int_equal(sl_members_add(&ms, &m), SL_OK);
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_non_null(sl_members_get(&ms, org));
	assert_string_equal(sl_members_name_at(&ms, org, UINT64_MAX),
	    "Sigtuna kommun");
	sl_members_free(&ms);
}

/* {cert, device, name, org, proof} (keys ascending) into out. */
static size_t
device_payload(uint8_t *out, size_t cap, const uint8_t *org,
    const uint8_t *dev, const char *name, const uint8_t *cert,
    const uint8_t *proof)
{
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	size_t n;

	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 5);
	sl_pack_cstr(&pk, "cert");
	sl_pack_bin(&pk, cert, SL_SIG_LEN);
	sl_pack_cstr(&pk, "device");
	sl_pack_b32(&pk, dev, SL_KEY_LEN);
	sl_pack_cstr(&pk, "name");
	sl_pack_cstr(&pk, name);
	sl_pack_cstr(&pk, "org");
	sl_pack_b32(&pk, org, SL_KEY_LEN);
	sl_pack_cstr(&pk, "proof");
	sl_pack_bin(&pk, proof, SL_SIG_LEN);
	assert_false(g.failed);
	assert_true(g.len <= cap);
	memcpy(out, g.p, g.len);
	n = g.len;
	free(g.p);
	return n;
}

/* A retired organisation's own node sees its retirement too (its
 * anchor is no exception: a first version of the device rules skipped
 * it, and the retired node went on writing). */
static void
test_retired_sees_itself(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 10, SL_MEV_ADMIT, 'B', "Bee", 0),
		ev('B', 1, 11, SL_MEV_ADMIT, 'A', "Aye", 0),
		ev('A', 2, 20, SL_MEV_RETIRE, 'B', NULL, 3),
	};

	(void)state;
	expect_all(e, 3, "AB", "AB<=3");
}

/* ---- devices (12.3) ------------------------------------------------------ */

/* PROTOCOL.md 12.3's example means what the text says: the node of
 * 12.1's example certifies the key of seed 40..5f as "laptop"; the
 * content rules take it (both signatures verify), and the laptop then
 * signs for that organisation.  With its name changed, the signatures
 * no longer hold. */
static void
test_documented_device(void **state)
{
	uint8_t rec[2048], h[SL_HASH_LEN];
	size_t n = documented_record("device-added", rec, sizeof rec);
	struct sl_key dev;
	struct sl_event ev;
	struct sl_mev m;
	struct sl_members ms;
	char w[256];

	(void)state;
	assert_true(n > 200);
	seeded(&dev, 0x40);
	assert_int_equal(sl_event_decode(&ev, rec, n), SL_OK);
	assert_int_equal(sl_schema_check_event(ev.type, ev.type_len, ev.entity,
	    ev.n_parents, ev.payload, ev.payload_len, ev.hlc, w, sizeof w),
	    SL_OK);
	assert_int_equal(sl_mev_decode(&ev, &m), SL_OK);
	assert_int_equal(m.type, SL_MEV_DEVICE);
	assert_string_equal(m.name, "laptop");
	assert_memory_equal(m.org, ev.origin, SL_KEY_LEN);
	assert_memory_equal(m.device, dev.pub, SL_KEY_LEN);
	sl_device_added_hash(h, m.org, m.device, "laptop");
	{
		static const char want[] = "1ddd4c82f5f7baa93c2659f1c24f55f7"
		    "8abd7b33b48756873730f80c462cb35a";
		char got[2 * SL_HASH_LEN + 1];

		for (int i = 0; i < SL_HASH_LEN; i++)
			snprintf(got + 2 * i, 3, "%02x", h[i]);
		assert_string_equal(got, want);
	}
	sl_members_init(&ms, ev.origin);
	assert_int_equal(sl_members_add(&ms, &m), SL_OK);
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_true(sl_members_current(&ms, dev.pub));
	assert_memory_equal(sl_members_org_of(&ms, dev.pub), ev.origin,
	    SL_KEY_LEN);
	sl_members_free(&ms);
	/* "laptop" -> "laptoq" inside the payload: refused. */
	{
		uint8_t *p = memmem(rec, n, "laptop", 6);

		assert_non_null(p);
		p[5] = 'q';
		assert_int_equal(sl_event_decode(&ev, rec, n), SL_OK);
		assert_int_equal(sl_schema_check_event(ev.type, ev.type_len,
		    ev.entity, ev.n_parents, ev.payload, ev.payload_len, ev.hlc,
		    w, sizeof w), SL_ESCHEMA);
	}
	sl_key_wipe(&dev);
}

/* A device event: device dev of org, carried by origin. */
static struct sl_mev
dev_ev(char origin, uint64_t seq, uint64_t hlc, enum sl_mev_type t, char org,
    char dev, uint64_t upto, bool certified)
{
	struct sl_mev e = ev(origin, seq, hlc, t, org, NULL, upto);

	memcpy(e.device, key(dev), SL_KEY_LEN);
	e.certified = certified;
	return e;
}

/* Which of the keys P..W sign, for whom, and up to which seq:
 * "X:A<=5 Y:A". */
static void
dev_summary(const struct sl_members *ms, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	summary(ms, out, len);
	used = strlen(out);
	for (char c = 'P'; c <= 'W' && used < len; c++) {
		uint64_t upto;

		if (!sl_members_signer(ms, key(c), &upto))
			continue;
		used += (size_t)snprintf(out + used, len - used, " %c:%c", c,
		    sl_members_org_of(ms, key(c))[0]);
		if (upto != UINT64_MAX && used < len)
			used += (size_t)snprintf(out + used, len - used,
			    "<=%llu", (unsigned long long)upto);
	}
}

/* Every order of e[0..n) from anchor gives want. */
static void
dev_expect(const struct sl_mev *e, size_t n, const char *anchors,
    const char *want)
{
	size_t perm[32];
	char got[256];

	assert_true(n <= 32);
	srand(11);
	for (const char *a = anchors; *a; a++)
		for (int round = 0; round < 200; round++) {
			struct sl_members ms;

			for (size_t i = 0; i < n; i++)
				perm[i] = i;
			for (size_t i = n; round > 0 && i > 1; i--) {
				size_t j = (size_t)rand() % i, t = perm[i - 1];

				perm[i - 1] = perm[j];
				perm[j] = t;
			}
			sl_members_init(&ms, key(*a));
			for (size_t i = 0; i < n; i++) {
				assert_int_equal(sl_members_add(&ms,
				    &e[perm[i]]), SL_OK);
				assert_int_equal(sl_members_settle(&ms), SL_OK);
			}
			dev_summary(&ms, got, sizeof got);
			sl_members_free(&ms);
			if (strcmp(got, want) != 0)
				fail_msg("anchor %c, order %d: %s, want %s", *a,
				    round, got, want);
		}
}

/* A certifies P; P signs for A: its admission of B counts (B is a
 * member through it), and on B's node too. */
static void
test_device(void **state)
{
	const struct sl_mev e[] = {
		dev_ev('A', 1, 10, SL_MEV_DEVICE, 'A', 'P', 0, true),
		ev('P', 1, 20, SL_MEV_ADMIT, 'B', "Bee", 0),
		ev('B', 1, 21, SL_MEV_ADMIT, 'A', "Aye", 0),
	};

	(void)state;
	dev_expect(e, 3, "AB", "AB P:A");
}

/* Revocation: A's word cuts P at 5; P's own word (rotation) cuts Q at
 * its own seq at the earliest; a revocation without A's certificate in
 * another chain says nothing; one by B (another organisation) neither. */
static void
test_revoke(void **state)
{
	const struct sl_mev e[] = {
		dev_ev('A', 1, 10, SL_MEV_DEVICE, 'A', 'P', 0, true),
		dev_ev('A', 2, 11, SL_MEV_DEVICE, 'A', 'Q', 0, true),
		dev_ev('A', 3, 12, SL_MEV_DEVICE, 'A', 'R', 0, true),
		ev('A', 4, 13, SL_MEV_ADMIT, 'B', "Bee", 0),
		dev_ev('A', 5, 30, SL_MEV_REVOKE, 'A', 'P', 5, true),
		dev_ev('Q', 7, 31, SL_MEV_REVOKE, 'A', 'Q', 3, false),
		dev_ev('P', 2, 32, SL_MEV_REVOKE, 'A', 'R', 1, false),
		dev_ev('B', 1, 33, SL_MEV_REVOKE, 'B', 'R', 1, true),
		ev('B', 2, 34, SL_MEV_ADMIT, 'A', "Aye", 0),
	};

	(void)state;
	dev_expect(e, 9, "AB", "AB P:A<=5 Q:A<=7 R:A");
}

/* A key two organisations certified signs for neither; a key certified
 * as a device is no member of its own, though it admitted itself. */
static void
test_device_contested(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 10, SL_MEV_ADMIT, 'B', "Bee", 0),
		dev_ev('A', 2, 11, SL_MEV_DEVICE, 'A', 'P', 0, true),
		dev_ev('B', 1, 12, SL_MEV_DEVICE, 'B', 'P', 0, true),
		ev('B', 2, 14, SL_MEV_ADMIT, 'A', "Aye", 0),
		ev('Q', 1, 5, SL_MEV_ADMIT, 'Q', "Cue", 0),
		dev_ev('A', 3, 15, SL_MEV_DEVICE, 'A', 'Q', 0, true),
		ev('A', 4, 16, SL_MEV_ADMIT, 'Q', "Cue", 0),
	};
	struct sl_members ms;

	(void)state;
	dev_expect(e, 7, "AB", "AB Q:A");
	sl_members_init(&ms, key('A'));
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(sl_members_add(&ms, &e[i]), SL_OK);
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_memory_equal(sl_members_org_of(&ms, key('Q')), key('A'),
	    SL_KEY_LEN);
	assert_null(sl_members_get(&ms, key('Q')));
	assert_true(sl_members_device(&ms, key('P'))->contested);
	sl_members_free(&ms);
}

/* A device's admission after its revocation's cut-off makes no member,
 * on B's node too (where A's devices are found only once A is: the
 * device's cut-off must outlive that). */
static void
test_revoked_admits(void **state)
{
	const struct sl_mev e[] = {
		ev('B', 1, 5, SL_MEV_ADMIT, 'A', "Aye", 0),
		ev('A', 1, 6, SL_MEV_ADMIT, 'B', "Bee", 0),
		dev_ev('A', 2, 10, SL_MEV_DEVICE, 'A', 'P', 0, true),
		ev('P', 2, 20, SL_MEV_ADMIT, 'C', "Cee", 0),
		dev_ev('A', 3, 30, SL_MEV_REVOKE, 'A', 'P', 1, true),
	};

	(void)state;
	dev_expect(e, 5, "AB", "AB P:A<=1");
}

/* A contested key signs for no one but keeps the cut-off its
 * organisation's revocation gave it, whichever certificate is first by
 * clock (B's, dated before A's): a second certificate does not bring
 * back the events a revocation cut. */
static void
test_contested_keeps_cut(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 10, SL_MEV_ADMIT, 'B', "Bee", 0),
		ev('B', 1, 11, SL_MEV_ADMIT, 'A', "Aye", 0),
		dev_ev('A', 2, 20, SL_MEV_DEVICE, 'A', 'P', 0, true),
		dev_ev('A', 3, 30, SL_MEV_REVOKE, 'A', 'P', 2, true),
		dev_ev('B', 2, 1, SL_MEV_DEVICE, 'B', 'P', 0, true),
		/* Not B's own revocation's business to lift A's. */
		dev_ev('P', 5, 31, SL_MEV_REVOKE, 'B', 'P', 9, false),
	};
	size_t perm[6] = { 0, 1, 2, 3, 4, 5 };

	(void)state;
	srand(13);
	for (int round = 0; round < 200; round++) {
		struct sl_members ms;
		const struct sl_device *d;

		for (size_t i = 6; round > 0 && i > 1; i--) {
			size_t j = (size_t)rand() % i, t = perm[i - 1];

			perm[i - 1] = perm[j];
			perm[j] = t;
		}
		sl_members_init(&ms, key(round % 2 ? 'A' : 'B'));
		for (size_t i = 0; i < 6; i++) {
			assert_int_equal(sl_members_add(&ms, &e[perm[i]]),
			    SL_OK);
			assert_int_equal(sl_members_settle(&ms), SL_OK);
		}
		d = sl_members_device(&ms, key('P'));
		assert_non_null(d);
		assert_true(d->contested);
		assert_int_equal(d->upto, 2);
		assert_false(sl_members_counts(&ms, key('P'), 1));
		sl_members_free(&ms);
	}
}

/* Retiring B (admitted by A alone) cuts B's key at 4, and its devices
 * at what the retirement lists: P at 6, Q (unlisted) at 0.  C "leaving"
 * by its device R's word says nothing: leaving takes the organisation
 * key (a stolen device must not end its organisation). */
static void
test_retire_devices(void **state)
{
	struct sl_mev e[] = {
		ev('A', 1, 10, SL_MEV_ADMIT, 'B', "Bee", 0),
		dev_ev('B', 1, 11, SL_MEV_DEVICE, 'B', 'P', 0, true),
		dev_ev('B', 2, 12, SL_MEV_DEVICE, 'B', 'Q', 0, true),
		ev('A', 2, 20, SL_MEV_RETIRE, 'B', NULL, 4),
		ev('A', 3, 21, SL_MEV_ADMIT, 'C', "Cee", 0),
		dev_ev('C', 1, 22, SL_MEV_DEVICE, 'C', 'R', 0, true),
		ev('R', 9, 23, SL_MEV_RETIRE, 'C', NULL, 2),
	};

	(void)state;
	memcpy(e[3].cuts[0].device, key('P'), SL_KEY_LEN);
	e[3].cuts[0].upto = 6;
	e[3].ncuts = 1;
	dev_expect(e, 7, "A", "AB<=4C P:B<=6 Q:B<=0 R:C");
}

/* Two rotations: the organisation key certifies P and ends its chain, P
 * certifies Q and retires itself, and Q admits C.  Every member's node
 * has C (a first version settled the devices once per round of
 * admissions, so from B's node Q's certificate, carried by P, came one
 * round late and C was never admitted there). */
static void
test_device_chain(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 10, SL_MEV_ADMIT, 'B', "Bee", 0),
		ev('B', 1, 11, SL_MEV_ADMIT, 'A', "Aye", 0),
		dev_ev('A', 2, 12, SL_MEV_DEVICE, 'A', 'P', 0, true),
		dev_ev('A', 3, 13, SL_MEV_REVOKE, 'A', 'A', 0, false),
		dev_ev('P', 1, 14, SL_MEV_DEVICE, 'A', 'Q', 0, true),
		dev_ev('P', 2, 15, SL_MEV_REVOKE, 'A', 'P', 0, false),
		ev('Q', 1, 16, SL_MEV_ADMIT, 'C', "Cee", 0),
	};

	(void)state;
	dev_expect(e, 7, "AB", "ABC P:A<=2 Q:A");
}

/* An organisation key that moved to a device (rotation) ends its own
 * chain at its own word, and only there: it stays the member, and its
 * device signs for it. */
static void
test_org_key_retires_chain(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 10, SL_MEV_ADMIT, 'B', "Bee", 0),
		dev_ev('A', 2, 11, SL_MEV_DEVICE, 'A', 'P', 0, true),
		dev_ev('A', 3, 12, SL_MEV_REVOKE, 'A', 'A', 0, false),
		/* Not A's own chain: says nothing of A's. */
		dev_ev('B', 1, 13, SL_MEV_REVOKE, 'A', 'A', 0, false),
		ev('B', 2, 14, SL_MEV_ADMIT, 'A', "Aye", 0),
	};
	struct sl_members ms;
	uint64_t upto;

	(void)state;
	dev_expect(e, 5, "AB", "AB P:A");
	sl_members_init(&ms, key('B'));
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(sl_members_add(&ms, &e[i]), SL_OK);
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_true(sl_members_signer(&ms, key('A'), &upto));
	assert_int_equal(upto, 3);
	assert_false(sl_members_current(&ms, key('A')));
	assert_true(sl_members_current(&ms, key('P')));
	assert_non_null(sl_members_get(&ms, key('A')));
	sl_members_free(&ms);
}

/* The content rule: both signatures over the statement, from the right
 * keys, and a revocation's certificate if it has one. */
static void
test_device_check(void **state)
{
	struct sl_key org, dev, other;
	uint8_t h[SL_HASH_LEN], cert[SL_SIG_LEN], proof[SL_SIG_LEN];
	uint8_t pl[512];
	char w[256];
	size_t n;

	(void)state;
	sl_key_generate(&org, NULL);
	sl_key_generate(&dev, NULL);
	sl_key_generate(&other, NULL);
	sl_device_added_hash(h, org.pub, dev.pub, "laptop");
	sl_sign_cert(cert, &org, h);
	sl_sign_cert(proof, &dev, h);
#define PAYLOAD(o, d, nm, c, p) \
	(n = device_payload(pl, sizeof pl, (o), (d), (nm), (c), (p)))
	PAYLOAD(org.pub, dev.pub, "laptop", cert, proof);
	assert_int_equal(sl_schema_check_event("device.added", 12, NULL, 0, pl,
	    n, UINT64_MAX, w, sizeof w), SL_OK);
	/* Another name than the one signed. */
	PAYLOAD(org.pub, dev.pub, "laptoq", cert, proof);
	assert_int_equal(sl_schema_check_event("device.added", 12, NULL, 0, pl,
	    n, UINT64_MAX, w, sizeof w), SL_ESCHEMA);
	/* A certificate by a key that is not the organisation's. */
	sl_sign_cert(cert, &other, h);
	PAYLOAD(org.pub, dev.pub, "laptop", cert, proof);
	assert_int_equal(sl_schema_check_event("device.added", 12, NULL, 0, pl,
	    n, UINT64_MAX, w, sizeof w), SL_ESCHEMA);
	assert_non_null(strstr(w, "certificate"));
	/* No proof that the device holds its key (someone else's public
	 * key certified, to contest it). */
	sl_sign_cert(cert, &org, h);
	sl_sign_cert(proof, &other, h);
	PAYLOAD(org.pub, dev.pub, "laptop", cert, proof);
	assert_int_equal(sl_schema_check_event("device.added", 12, NULL, 0, pl,
	    n, UINT64_MAX, w, sizeof w), SL_ESCHEMA);
	assert_non_null(strstr(w, "proof"));
	/* An event signature is not a certificate (domains differ). */
	sl_sign_hash(cert, &org, h);
	sl_sign_cert(proof, &dev, h);
	PAYLOAD(org.pub, dev.pub, "laptop", cert, proof);
	assert_int_equal(sl_schema_check_event("device.added", 12, NULL, 0, pl,
	    n, UINT64_MAX, w, sizeof w), SL_ESCHEMA);
	sl_key_wipe(&org);
	sl_key_wipe(&dev);
	sl_key_wipe(&other);
#undef PAYLOAD
}

/* PROTOCOL.md 12.4's worked example: a ledger's entry whose approval
 * verifies over the documented statement; a changed name, or the
 * approval of a key that did not sign, is refused by the content rules.
 * An approval event counts only with its origin's signature. */
static void
test_documented_majority(void **state)
{
	uint8_t rec[2048], h[SL_HASH_LEN];
	size_t n = documented_record("member-admitted-majority", rec,
	    sizeof rec);
	struct sl_key cand, other;
	struct sl_event ev;
	struct sl_mev m;
	char w[256];

	(void)state;
	assert_true(n > 200);
	seeded(&cand, 0x40);
	seeded(&other, 0x60);
	assert_int_equal(sl_event_decode(&ev, rec, n), SL_OK);
	assert_int_equal(sl_schema_check_event(ev.type, ev.type_len, ev.entity,
	    ev.n_parents, ev.payload, ev.payload_len, ev.hlc, w, sizeof w),
	    SL_OK);
	assert_int_equal(sl_mev_decode(&ev, &m), SL_OK);
	assert_int_equal(m.type, SL_MEV_ADMIT);
	assert_true(m.ledgered);
	assert_int_equal(m.napp, 1);
	assert_memory_equal(m.app[0], ev.origin, SL_KEY_LEN);
	assert_memory_equal(m.ledger, ev.origin, SL_KEY_LEN);
	assert_memory_equal(m.org, cand.pub, SL_KEY_LEN);
	sl_approval_hash(h, SL_MACT_ADMIT, m.ledger, m.org, 0,
	    "Sigtuna kommun", 0, NULL, 0);
	{
		static const char want[] = "d25a91ea0165e0a950c944fa1fa0477e"
		    "601e1db3d15398f5fcd15b04c6a142ac";
		char got[2 * SL_HASH_LEN + 1];

		for (int i = 0; i < SL_HASH_LEN; i++)
			snprintf(got + 2 * i, 3, "%02x", h[i]);
		assert_string_equal(got, want);
	}
	/* Its approval by another key: the signature is not that key's. */
	{
		uint8_t *p = memmem(ev.payload, ev.payload_len, ev.origin,
		    SL_KEY_LEN);
		uint8_t pl[1024];

		assert_non_null(p);
		memcpy(pl, ev.payload, ev.payload_len);
		memcpy(pl + (p - ev.payload), other.pub, SL_KEY_LEN);
		assert_int_equal(sl_schema_check_event(ev.type, ev.type_len,
		    ev.entity, ev.n_parents, pl, ev.payload_len, ev.hlc, w,
		    sizeof w), SL_ESCHEMA);
		assert_non_null(strstr(w, "approval 1"));
	}
	/* "Sigtuna" -> "Sigtunb": the approval is of another name. */
	{
		uint8_t *p = memmem(rec, n, "Sigtuna", 7);

		assert_non_null(p);
		p[6] = 'b';
		assert_int_equal(sl_event_decode(&ev, rec, n), SL_OK);
		assert_int_equal(sl_schema_check_event(ev.type, ev.type_len,
		    ev.entity, ev.n_parents, ev.payload, ev.payload_len, ev.hlc,
		    w, sizeof w), SL_ESCHEMA);
	}
	/* An approval event: counts with its origin's signature only. */
	{
		struct sl_buf g = { 0 };
		msgpack_packer pk;
		uint8_t sig[SL_SIG_LEN];
		struct sl_event ae;

		sl_approval_hash(h, SL_MACT_ADMIT, other.pub, cand.pub, 0, "",
		    0, NULL, 0);
		sl_sign_cert(sig, &other, h);
		msgpack_packer_init(&pk, &g, sl_buf_write);
		msgpack_pack_map(&pk, 5);
		sl_pack_cstr(&pk, "act");
		sl_pack_cstr(&pk, "admit");
		sl_pack_cstr(&pk, "ledger");
		sl_pack_b32(&pk, other.pub, SL_KEY_LEN);
		sl_pack_cstr(&pk, "org");
		sl_pack_b32(&pk, cand.pub, SL_KEY_LEN);
		sl_pack_cstr(&pk, "sig");
		sl_pack_bin(&pk, sig, SL_SIG_LEN);
		sl_pack_cstr(&pk, "term");
		msgpack_pack_uint64(&pk, 0);
		memset(&ae, 0, sizeof ae);
		ae.origin = other.pub;
		ae.seq = 3;
		ae.hlc = 7;
		ae.type = "member.approved";
		ae.type_len = strlen(ae.type);
		ae.payload = (const uint8_t *)g.p;
		ae.payload_len = (uint32_t)g.len;
		assert_int_equal(sl_schema_check_event(ae.type, ae.type_len,
		    NULL, 0, ae.payload, ae.payload_len, ae.hlc, w, sizeof w),
		    SL_OK);
		assert_int_equal(sl_mev_decode(&ae, &m), SL_OK);
		assert_int_equal(m.type, SL_MEV_APPROVE);
		assert_int_equal(m.act, SL_MACT_ADMIT);
		ae.origin = cand.pub;
		assert_int_equal(sl_mev_decode(&ae, &m), SL_EINVAL);
		free(g.p);
	}
	sl_key_wipe(&cand);
	sl_key_wipe(&other);
}

/* ---- the majority policy (12.4) ---------------------------------------- */

/* Keys from letters: "ABC" into cuts (as a policy's members, ascending)
 * or into an entry's approvers. */
static void
keys_into(struct sl_mev *e, const char *members, const char *approvers)
{
	for (const char *c = members; c != NULL && *c; c++) {
		memcpy(e->cuts[e->ncuts].device, key(*c), SL_KEY_LEN);
		e->cuts[e->ncuts++].upto = 0;
	}
	for (const char *c = approvers; c != NULL && *c; c++)
		memcpy(e->app[e->napp++], key(*c), SL_KEY_LEN);
}

/* origin proposes the policy with members, approved by approvers. */
static struct sl_mev
policy(char origin, uint64_t seq, uint64_t hlc, const char *members,
    const char *approvers)
{
	struct sl_mev e = ev(origin, seq, hlc, SL_MEV_POLICY, origin, NULL, 0);

	e.ledgered = true;
	memcpy(e.ledger, key(origin), SL_KEY_LEN);
	keys_into(&e, members, approvers);
	return e;
}

/* An entry of ledger `ledger` in origin's chain. */
static struct sl_mev
entry(char origin, uint64_t seq, uint64_t hlc, enum sl_mev_type t, char org,
    char ledger, uint64_t term, const char *approvers, uint64_t upto)
{
	struct sl_mev e = ev(origin, seq, hlc, t, org, NULL, upto);

	e.ledgered = true;
	memcpy(e.ledger, key(ledger), SL_KEY_LEN);
	e.term = term;
	keys_into(&e, NULL, approvers);
	/* Each approver names the same seq (a retirement's cut-off). */
	for (uint32_t i = 0; i < e.napp; i++)
		e.app_upto[i] = upto;
	return e;
}

/* origin approves admitting org in ledger (and so takes it as its own). */
static struct sl_mev
approve(char origin, uint64_t seq, uint64_t hlc, enum sl_mact act, char org,
    char ledger, uint64_t term)
{
	struct sl_mev e = ev(origin, seq, hlc, SL_MEV_APPROVE, org, NULL, 0);

	e.ledgered = true;
	e.act = act;
	memcpy(e.ledger, key(ledger), SL_KEY_LEN);
	e.term = term;
	return e;
}

/* A founds a federation under the majority policy; each admission takes
 * more than half of the members of that moment, in the ledger's order:
 * B by A alone (1 of 1), C by A and B (2 of 2; A alone is 1 of 2 and
 * does nothing), D by two of three.  Every member's node, in any order
 * of arrival, derives the same four. */
static void
test_majority(void **state)
{
	const struct sl_mev e[] = {
		policy('A', 1, 10, "A", "A"),
		entry('A', 2, 20, SL_MEV_ADMIT, 'B', 'A', 0, "A", 0),
		approve('B', 1, 21, SL_MACT_ADMIT, 'B', 'A', 0),
		entry('A', 3, 30, SL_MEV_ADMIT, 'C', 'A', 0, "A", 0),
		entry('A', 4, 40, SL_MEV_ADMIT, 'C', 'A', 0, "AB", 0),
		approve('C', 1, 41, SL_MACT_ADMIT, 'C', 'A', 0),
		entry('A', 5, 50, SL_MEV_ADMIT, 'D', 'A', 0, "BC", 0),
		approve('D', 1, 51, SL_MACT_ADMIT, 'D', 'A', 0),
		/* A lone admission by a member: under the ledger, none. */
		ev('B', 2, 60, SL_MEV_ADMIT, 'E', "Puppet", 0),
		/* An entry of A's ledger in B's chain orders nothing. */
		entry('B', 3, 61, SL_MEV_ADMIT, 'F', 'A', 0, "ABCD", 0),
	};
	struct sl_members ms;
	struct sl_ledger_info li;

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "ABCD", "ABCD");
	sl_members_init(&ms, key('C'));
	for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
		assert_int_equal(sl_members_add(&ms, &e[i]), SL_OK);
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_true(sl_members_ledger(&ms, &li));
	assert_memory_equal(li.ledger, key('A'), SL_KEY_LEN);
	assert_int_equal(li.voters, 4);
	assert_false(sl_members_counts(&ms, key('E'), 1));
	sl_members_free(&ms);
}

/* Approvals from when a few were a majority count for nothing later:
 * A and B were two of three when they could admit alone; with C and D
 * in, their two approvals of P are two of four, not a majority, in
 * whatever order the entries' events arrive.  A third organisation's
 * approval makes it. */
static void
test_majority_stale(void **state)
{
	struct sl_mev e[] = {
		policy('A', 1, 10, "AB", "AB"),
		approve('B', 1, 11, SL_MACT_POLICY, 'A', 'A', 0),
		entry('A', 2, 20, SL_MEV_ADMIT, 'C', 'A', 0, "AB", 0),
		approve('C', 1, 21, SL_MACT_ADMIT, 'C', 'A', 0),
		entry('A', 3, 30, SL_MEV_ADMIT, 'D', 'A', 0, "ABC", 0),
		approve('D', 1, 31, SL_MACT_ADMIT, 'D', 'A', 0),
		entry('A', 4, 40, SL_MEV_ADMIT, 'E', 'A', 0, "AB", 0),
	};

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "ABCD", "ABCD");
	e[6] = entry('A', 4, 40, SL_MEV_ADMIT, 'E', 'A', 0, "ABD", 0);
	expect_all(e, sizeof e / sizeof e[0], "ABCD", "ABCDE");
}

/* A policy needs every member it lists: B never approved A's list, so
 * A's policy starts nothing and one member admits (A's lone admission
 * of E counts). */
static void
test_majority_unanimous(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 5, SL_MEV_ADMIT, 'B', "B", 0),
		ev('B', 1, 6, SL_MEV_ADMIT, 'A', "A", 0),
		policy('A', 2, 10, "AB", "A"),
		approve('A', 3, 11, SL_MACT_POLICY, 'A', 'A', 0),
		ev('A', 4, 20, SL_MEV_ADMIT, 'E', "E", 0),
	};
	struct sl_members ms;

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "AB", "ABE");
	sl_members_init(&ms, key('A'));
	for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
		assert_int_equal(sl_members_add(&ms, &e[i]), SL_OK);
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_false(sl_members_ledger(&ms, NULL));
	sl_members_free(&ms);
}

/* A member cannot take another's node over with a ledger of its own:
 * F (a member of A's ledger) starts one with its puppet E and "admits"
 * B in it.  B never approved anything in F's ledger, so A's governs B's
 * node still, where E is none.  F's backdated clock changes nothing. */
static void
test_majority_hijack(void **state)
{
	const struct sl_mev e[] = {
		policy('A', 1, 10, "A", "A"),
		entry('A', 2, 20, SL_MEV_ADMIT, 'B', 'A', 0, "A", 0),
		approve('B', 1, 21, SL_MACT_ADMIT, 'B', 'A', 0),
		entry('A', 3, 30, SL_MEV_ADMIT, 'F', 'A', 0, "AB", 0),
		approve('F', 1, 31, SL_MACT_ADMIT, 'F', 'A', 0),
		policy('F', 2, 1, "EF", "EF"),
		entry('F', 3, 2, SL_MEV_ADMIT, 'B', 'F', 0, "EF", 0),
		ev('E', 1, 3, SL_MEV_ADMIT, 'E', "Puppet", 0),
	};

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "AB", "ABF");
}

/* Retiring under the ledger: more than half of the members, or the
 * organisation itself (it leaves); the cut-off is the highest seq its
 * approvers had seen.  An admission of the old term does nothing, nor
 * does one of the next: a retired key stays retired (as under one
 * member admits: it joins again as a new node). */
static void
test_majority_retire(void **state)
{
	struct sl_mev e[] = {
		policy('A', 1, 10, "ABC", "ABC"),
		approve('B', 1, 11, SL_MACT_POLICY, 'A', 'A', 0),
		approve('C', 1, 12, SL_MACT_POLICY, 'A', 'A', 0),
		entry('A', 2, 20, SL_MEV_RETIRE, 'C', 'A', 0, "A", 7),
		entry('A', 3, 30, SL_MEV_RETIRE, 'C', 'A', 0, "AB", 5),
		entry('A', 4, 40, SL_MEV_ADMIT, 'C', 'A', 0, "AB", 0),
	};

	(void)state;
	/* A alone (1 of 3) retires no one; A and B do, at 5; the old
	 * term's admission does nothing. */
	expect_all(e, sizeof e / sizeof e[0], "AB", "ABC<=5");
	/* C leaves by its own approval alone. */
	e[4] = entry('A', 3, 30, SL_MEV_RETIRE, 'C', 'A', 0, "C", 9);
	expect_all(e, sizeof e / sizeof e[0], "AB", "ABC<=9");
	e[4] = entry('A', 3, 30, SL_MEV_RETIRE, 'C', 'A', 0, "AB", 5);
	e[5] = entry('A', 4, 40, SL_MEV_ADMIT, 'C', 'A', 1, "AB", 0);
	expect_all(e, sizeof e / sizeof e[0], "AB", "ABC<=5");
}

/* The ledger goes on in the key a rotation hands it to: A certifies A2
 * and retires its own key's chain; A2's entries count, A's after its end
 * do not. */
static void
test_majority_rotation(void **state)
{
	struct sl_mev dev = ev('A', 3, 30, SL_MEV_DEVICE, 'A', "new", 0);
	struct sl_mev end = ev('A', 4, 31, SL_MEV_REVOKE, 'A', NULL, 4);
	struct sl_mev e[] = {
		policy('A', 1, 10, "AB", "AB"),
		approve('B', 1, 11, SL_MACT_POLICY, 'A', 'A', 0),
		dev, end,
		entry('G', 1, 40, SL_MEV_ADMIT, 'C', 'A', 0, "AB", 0),
		approve('C', 1, 41, SL_MACT_ADMIT, 'C', 'A', 0),
		entry('A', 5, 50, SL_MEV_ADMIT, 'D', 'A', 0, "AB", 0),
	};

	(void)state;
	memcpy(e[2].device, key('G'), SL_KEY_LEN);
	memcpy(e[3].device, key('A'), SL_KEY_LEN);
	expect_all(e, sizeof e / sizeof e[0], "AB", "ABC");
}

/* HOSTILE: a member's approval of a *proposal* is no approval of the
 * policy its proposer then appends with a different list.  A, B and C
 * federate (one member admits); C proposes the policy for ABC and A and
 * B approve that proposal; C instead appends a policy listing only
 * itself, admits its puppets E and F, then A and B, and retires B.  A
 * and B never approved C's one-member list: C's ledger must govern no
 * one but C, and B (admitted by A too) cannot be retired by C. */
static void
test_majority_proposal_hijack(void **state)
{
	struct sl_mev pa = approve('A', 2, 12, SL_MACT_POLICY, 'C', 'C', 0);
	struct sl_mev pb = approve('B', 2, 13, SL_MACT_POLICY, 'C', 'C', 0);
	struct sl_mev pc = approve('C', 2, 11, SL_MACT_POLICY, 'C', 'C', 0);
	struct sl_mev e[] = {
		ev('A', 1, 1, SL_MEV_ADMIT, 'B', NULL, 0),
		ev('B', 1, 2, SL_MEV_ADMIT, 'A', NULL, 0),
		ev('A', 3, 3, SL_MEV_ADMIT, 'C', NULL, 0),
		ev('C', 1, 4, SL_MEV_ADMIT, 'A', NULL, 0),
		pc, pa, pb,
		policy('C', 3, 20, "C", "C"),
		entry('C', 4, 21, SL_MEV_ADMIT, 'E', 'C', 0, "C", 0),
		entry('C', 5, 22, SL_MEV_ADMIT, 'F', 'C', 0, "CE", 0),
		entry('C', 6, 23, SL_MEV_ADMIT, 'A', 'C', 0, "CEF", 0),
		entry('C', 7, 24, SL_MEV_ADMIT, 'B', 'C', 0, "CEF", 0),
		entry('C', 8, 25, SL_MEV_RETIRE, 'B', 'C', 1, "CEF", 1),
	};

	(void)state;
	keys_into(&e[4], "ABC", NULL);
	keys_into(&e[5], "ABC", NULL);
	keys_into(&e[6], "ABC", NULL);
	/* One member admits still: C's entries admit its puppets as its
	 * lone admissions would, and retire no one A admitted too. */
	expect_all(e, sizeof e / sizeof e[0], "AB", "ABCEF");
}

/* HOSTILE: a device key its organisation revoked (stolen) speaks for
 * it no more.  Under A's ledger of A, B and C, B certifies P and then
 * revokes it by its own word (upto 0: none of P's events count).  The
 * keeper A, with the thief of P, records E's admission "approved" by A
 * and P: P's approval must not count as B's, so E has one approval of
 * three and is no member. */
static void
test_majority_revoked_device(void **state)
{
	const struct sl_mev e[] = {
		policy('A', 1, 10, "ABC", "ABC"),
		dev_ev('B', 1, 20, SL_MEV_DEVICE, 'B', 'P', 0, true),
		dev_ev('B', 2, 30, SL_MEV_REVOKE, 'B', 'P', 0, true),
		entry('A', 2, 40, SL_MEV_ADMIT, 'E', 'A', 0, "AP", 0),
	};
	/* P approved before its revocation (its approval event at seq 1,
	 * within the cut-off): that approval is B's still. */
	struct sl_mev f[] = {
		policy('A', 1, 10, "ABC", "ABC"),
		dev_ev('B', 1, 20, SL_MEV_DEVICE, 'B', 'P', 0, true),
		approve('P', 1, 25, SL_MACT_ADMIT, 'E', 'A', 0),
		dev_ev('B', 2, 30, SL_MEV_REVOKE, 'B', 'P', 1, true),
		entry('A', 2, 40, SL_MEV_ADMIT, 'E', 'A', 0, "AP", 0),
	};

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "ABC", "ABC");
	expect_all(f, sizeof f / sizeof f[0], "ABC", "ABCE");
}

/* HOSTILE: a retirement entry the content rules accept must mean what it
 * says.  Two approvers of Z's retirement list 17 devices each (34 in
 * all, the second's bogus): the entry passes sl_ledger_check, so the
 * keeper appends it, but sl_mev_decode refuses it (more than 32 cuts
 * merged), so it retires no one, the motion stays approved, and the
 * keeper appends it again every tick.  Both must agree. */
static void
test_majority_cuts_overflow(void **state)
{
	uint8_t seed[SL_SEED_LEN], h[SL_HASH_LEN], sig[SL_SIG_LEN];
	struct sl_key k[2];
	uint8_t z[SL_KEY_LEN];
	struct sl_mcut cuts[2][17];
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	struct sl_event ev;
	struct sl_mev m;
	char w[256];
	int ck, dk;

	(void)state;
	memset(z, 'Z', sizeof z);
	for (int j = 0; j < 2; j++) {
		for (int i = 0; i < SL_SEED_LEN; i++)
			seed[i] = (uint8_t)(0x10 * (j + 1) + i);
		sl_key_from_seed(&k[j], seed);
		for (int c = 0; c < 17; c++) {
			memset(cuts[j][c].device, 0, SL_KEY_LEN);
			cuts[j][c].device[0] = (uint8_t)j;
			cuts[j][c].device[1] = (uint8_t)c;
			cuts[j][c].upto = 1;
		}
	}
	if (memcmp(k[0].pub, k[1].pub, SL_KEY_LEN) > 0) {
		struct sl_key t = k[0];

		k[0] = k[1];
		k[1] = t;
	}
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 5);
	sl_pack_cstr(&pk, "approvals");
	msgpack_pack_array(&pk, 2);
	for (int j = 0; j < 2; j++) {
		sl_approval_hash(h, SL_MACT_RETIRE, k[0].pub, z, 0, "", 1,
		    cuts[j], 17);
		sl_sign_cert(sig, &k[j], h);
		msgpack_pack_array(&pk, 4);
		sl_pack_bin(&pk, k[j].pub, SL_KEY_LEN);
		msgpack_pack_uint64(&pk, 1);
		msgpack_pack_array(&pk, 17);
		for (int c = 0; c < 17; c++) {
			msgpack_pack_array(&pk, 2);
			sl_pack_bin(&pk, cuts[j][c].device, SL_KEY_LEN);
			msgpack_pack_uint64(&pk, 1);
		}
		sl_pack_bin(&pk, sig, SL_SIG_LEN);
	}
	sl_pack_cstr(&pk, "ledger");
	sl_pack_b32(&pk, k[0].pub, SL_KEY_LEN);
	sl_pack_cstr(&pk, "org");
	sl_pack_b32(&pk, z, SL_KEY_LEN);
	sl_pack_cstr(&pk, "term");
	msgpack_pack_uint64(&pk, 0);
	sl_pack_cstr(&pk, "upto");
	msgpack_pack_uint64(&pk, 1);
	memset(&ev, 0, sizeof ev);
	ev.origin = k[0].pub;
	ev.seq = 2;
	ev.hlc = 7;
	ev.type = "member.retired";
	ev.type_len = strlen(ev.type);
	ev.payload = (const uint8_t *)g.p;
	ev.payload_len = (uint32_t)g.len;
	ck = sl_schema_check_event(ev.type, ev.type_len, NULL, 0, ev.payload,
	    ev.payload_len, ev.hlc, w, sizeof w);
	dk = sl_mev_decode(&ev, &m);
	free(g.p);
	sl_key_wipe(&k[0]);
	sl_key_wipe(&k[1]);
	/* Accepted and meaningful, or refused by the content rules. */
	assert_true((ck == SL_OK) == (dk == SL_OK));
}

/* In the chain of `to`: the ledger `ledger` goes on in to's chain after
 * the old keeper's seq `upto`, in handoff term `term`. */
static struct sl_mev
handoff_ev(char to, uint64_t seq, uint64_t hlc, char ledger, uint64_t term,
    uint64_t upto, const char *approvers)
{
	struct sl_mev e = ev(to, seq, hlc, SL_MEV_POLICY, to, NULL, upto);

	e.ledgered = true;
	e.act = SL_MACT_KEEPER;
	memcpy(e.ledger, key(ledger), SL_KEY_LEN);
	e.term = term;
	keys_into(&e, NULL, approvers);
	for (uint32_t i = 0; i < e.napp; i++)
		e.app_upto[i] = upto;
	return e;
}

/* The members hand the ledger on (its keeper gone): with more than half
 * of them, B keeps it after A's seq 2; A's later entries count for
 * nothing, B's do.  With two of four the handoff is none, and A's entry
 * counts while B's does not.  A second handoff needs the next term. */
static void
test_majority_keeper(void **state)
{
	struct sl_mev e[] = {
		policy('A', 1, 10, "ABC", "ABC"),
		approve('B', 1, 11, SL_MACT_POLICY, 'A', 'A', 0),
		approve('C', 1, 12, SL_MACT_POLICY, 'A', 'A', 0),
		entry('A', 2, 20, SL_MEV_ADMIT, 'D', 'A', 0, "AB", 0),
		approve('D', 1, 21, SL_MACT_ADMIT, 'D', 'A', 0),
		handoff_ev('B', 2, 30, 'A', 0, 2, "BCD"),
		entry('A', 3, 40, SL_MEV_ADMIT, 'F', 'A', 0, "ABCD", 0),
		entry('B', 3, 41, SL_MEV_ADMIT, 'E', 'A', 0, "BCD", 0),
		approve('E', 1, 42, SL_MACT_ADMIT, 'E', 'A', 0),
		handoff_ev('C', 2, 50, 'A', 0, 3, "BCDE"),
	};

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "ABCD", "ABCDE");
	e[5] = handoff_ev('B', 2, 30, 'A', 0, 2, "BC");
	expect_all(e, sizeof e / sizeof e[0], "ABCD", "ABCDF");
}

/* HOSTILE: an organisation a node admitted under "one member admits"
 * cannot make that node follow a ledger of its own puppets.  A founded
 * the federation and admitted B and C (each admits back).  B starts a
 * ledger of B and its puppets E and F, and "admits" A in it with B's and
 * E's approvals.  A is no newcomer waiting for anyone: its node must not
 * take B's ledger as its own (sl_members_to_ack), which would make it
 * govern A's node and end C's membership there.  A newcomer that joined
 * through B under a majority ledger B approved still takes it. */
static void
test_majority_ack_hijack(void **state)
{
	const struct sl_mev e[] = {
		ev('A', 1, 1, SL_MEV_ADMIT, 'B', "B", 0),
		ev('B', 1, 2, SL_MEV_ADMIT, 'A', "A", 0),
		ev('A', 2, 3, SL_MEV_ADMIT, 'C', "C", 0),
		ev('C', 1, 4, SL_MEV_ADMIT, 'A', "A", 0),
		policy('B', 2, 10, "BEF", "BEF"),
		entry('B', 3, 11, SL_MEV_ADMIT, 'A', 'B', 0, "BE", 0),
	};
	/* The real thing: A's ledger of A and B; C joins through B. */
	const struct sl_mev f[] = {
		policy('A', 1, 10, "AB", "AB"),
		approve('B', 1, 11, SL_MACT_POLICY, 'A', 'A', 0),
		ev('C', 1, 12, SL_MEV_ADMIT, 'B', "B", 0),
		approve('B', 2, 13, SL_MACT_ADMIT, 'C', 'A', 0),
		entry('A', 2, 14, SL_MEV_ADMIT, 'C', 'A', 0, "AB", 0),
	};
	struct sl_members ms;
	uint8_t ledger[SL_KEY_LEN];
	uint64_t term = 9;

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "AC", "ABC");
	/* A founded its federation: it follows no ledger on its own; nor
	 * would it if it had joined through B, which admitted it under
	 * one member admits. */
	sl_members_init(&ms, key('A'));
	for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
		assert_int_equal(sl_members_add(&ms, &e[i]), SL_OK);
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_false(sl_members_to_ack(&ms, ledger, &term));
	sl_members_set_inviter(&ms, key('B'));
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_false(sl_members_to_ack(&ms, ledger, &term));
	sl_members_free(&ms);

	/* C joined through B, which asked the majority: C follows. */
	sl_members_init(&ms, key('C'));
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		assert_int_equal(sl_members_add(&ms, &f[i]), SL_OK);
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_false(sl_members_to_ack(&ms, ledger, &term));
	sl_members_set_inviter(&ms, key('B'));
	assert_int_equal(sl_members_settle(&ms), SL_OK);
	assert_true(sl_members_to_ack(&ms, ledger, &term));
	assert_memory_equal(ledger, key('A'), SL_KEY_LEN);
	assert_int_equal(term, 1); /* the entries about C so far */
	sl_members_free(&ms);
}

/* A handoff as its bytes say it (sl_mev_decode): in to's chain at seq,
 * of ledger `ledger`, term 0, approvals by keys[i] with uptos[i] (the
 * signatures are not checked here: the content rules did). */
static struct sl_mev
handoff_decoded(char to, uint64_t seq, uint64_t hlc, char ledger,
    const char *keys, const uint64_t *uptos)
{
	uint8_t sig[SL_SIG_LEN];
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	struct sl_event ev;
	struct sl_mev m;

	memset(sig, 0, sizeof sig);
	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 5);
	sl_pack_cstr(&pk, "admission");
	sl_pack_cstr(&pk, "majority");
	sl_pack_cstr(&pk, "approvals");
	msgpack_pack_array(&pk, strlen(keys));
	for (size_t i = 0; keys[i]; i++) {
		msgpack_pack_array(&pk, 4);
		sl_pack_bin(&pk, key(keys[i]), SL_KEY_LEN);
		msgpack_pack_uint64(&pk, uptos[i]);
		msgpack_pack_array(&pk, 0);
		sl_pack_bin(&pk, sig, SL_SIG_LEN);
	}
	sl_pack_cstr(&pk, "ledger");
	sl_pack_b32(&pk, key(ledger), SL_KEY_LEN);
	sl_pack_cstr(&pk, "org");
	sl_pack_b32(&pk, key(to), SL_KEY_LEN);
	sl_pack_cstr(&pk, "term");
	msgpack_pack_uint64(&pk, 0);
	memset(&ev, 0, sizeof ev);
	ev.origin = key(to);
	ev.seq = seq;
	ev.hlc = hlc;
	ev.type = "member.policy";
	ev.type_len = strlen(ev.type);
	ev.payload = (const uint8_t *)g.p;
	ev.payload_len = (uint32_t)g.len;
	assert_int_equal(sl_mev_decode(&ev, &m), SL_OK);
	free(g.p);
	assert_int_equal(m.act, SL_MACT_KEEPER);
	return m;
}

/* HOSTILE: a key that is no member's speaks for no one, also not for
 * where a handoff cuts the old keeper's chain.  B, C and D (three of
 * four) hand A's ledger to B, each having seen A's chain to seq 2; B
 * adds an approval by its puppet P "having seen" seq 99.  A's entry at
 * seq 3 (admitting F) must count for nothing, as without P. */
static void
test_majority_keeper_puppet_cut(void **state)
{
	static const uint64_t honest[] = { 2, 2, 2 };
	static const uint64_t puppet[] = { 2, 2, 2, 99 };
	struct sl_mev e[] = {
		policy('A', 1, 10, "ABC", "ABC"),
		entry('A', 2, 20, SL_MEV_ADMIT, 'D', 'A', 0, "AB", 0),
		approve('D', 1, 21, SL_MACT_ADMIT, 'D', 'A', 0),
		handoff_decoded('B', 2, 30, 'A', "BCD", honest),
		entry('A', 3, 40, SL_MEV_ADMIT, 'F', 'A', 0, "ABCD", 0),
	};

	(void)state;
	expect_all(e, sizeof e / sizeof e[0], "ABCD", "ABCD");
	e[3] = handoff_decoded('B', 2, 30, 'A', "BCDP", puppet);
	expect_all(e, sizeof e / sizeof e[0], "ABCD", "ABCD");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_closure),
		cmocka_unit_test(test_through_hub),
		cmocka_unit_test(test_retired),
		cmocka_unit_test(test_mutual_retire),
		cmocka_unit_test(test_self_retire),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_documented),
		cmocka_unit_test(test_retired_sees_itself),
		cmocka_unit_test(test_documented_device),
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_device_contested),
		cmocka_unit_test(test_retire_devices),
		cmocka_unit_test(test_contested_keeps_cut),
		cmocka_unit_test(test_revoked_admits),
		cmocka_unit_test(test_org_key_retires_chain),
		cmocka_unit_test(test_device_chain),
		cmocka_unit_test(test_device_check),
		cmocka_unit_test(test_documented_majority),
		cmocka_unit_test(test_majority),
		cmocka_unit_test(test_majority_stale),
		cmocka_unit_test(test_majority_unanimous),
		cmocka_unit_test(test_majority_hijack),
		cmocka_unit_test(test_majority_retire),
		cmocka_unit_test(test_majority_rotation),
		cmocka_unit_test(test_majority_keeper),
		cmocka_unit_test(test_majority_proposal_hijack),
		cmocka_unit_test(test_majority_revoked_device),
		cmocka_unit_test(test_majority_cuts_overflow),
		cmocka_unit_test(test_majority_ack_hijack),
		cmocka_unit_test(test_majority_keeper_puppet_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
