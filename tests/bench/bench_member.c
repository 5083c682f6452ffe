/*
 * bench_member.c - how long the members take to settle (protocol/
 * member.c), which every node does whenever a membership event arrives:
 * a federation where one member admits (4,000 admissions, as a flood
 * would bring), and one under the majority policy (32 members, then
 * 1,000 entries of its ledger with 17 approvals each, and 1,000
 * approvals waiting).  Best of five runs each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "samlog_proto.h"
#include "../unit/testutil.h"

static void
key_of(uint8_t k[SL_KEY_LEN], uint32_t i)
{
	memset(k, 'x', SL_KEY_LEN);
	memcpy(k, &i, sizeof i);
}

static double
one_member_admits(void)
{
	struct sl_members ms;
	uint8_t a[SL_KEY_LEN];
	struct sl_mev e;
	double t0, t;

	key_of(a, 0);
	sl_members_init(&ms, a);
	for (uint32_t i = 1; i <= 4000; i++) {
		memset(&e, 0, sizeof e);
		memcpy(e.origin, a, SL_KEY_LEN);
		e.seq = i;
		e.hlc = 100 + i;
		e.type = SL_MEV_ADMIT;
		key_of(e.org, i);
		snprintf(e.name, sizeof e.name, "Organisation %u", i);
		if (sl_members_add(&ms, &e) != SL_OK)
			exit(1);
	}
	t0 = tu_now_s();
	if (sl_members_settle(&ms) != SL_OK)
		exit(1);
	t = tu_now_s() - t0;
	if (sl_members_count(&ms) != 4001)
		exit(1);
	sl_members_free(&ms);
	return t;
}

static double
majority(void)
{
	struct sl_members ms;
	uint8_t a[SL_KEY_LEN];
	struct sl_mev e;
	double t0, t;
	uint64_t seq = 1;

	key_of(a, 0);
	sl_members_init(&ms, a);
	/* The policy: 32 members, each approving. */
	memset(&e, 0, sizeof e);
	memcpy(e.origin, a, SL_KEY_LEN);
	e.seq = seq++;
	e.hlc = 10;
	e.type = SL_MEV_POLICY;
	e.ledgered = true;
	memcpy(e.ledger, a, SL_KEY_LEN);
	memcpy(e.org, a, SL_KEY_LEN);
	for (uint32_t i = 0; i < 32; i++) {
		key_of(e.cuts[e.ncuts++].device, i);
		key_of(e.app[e.napp++], i);
	}
	/* Keys sort ascending only by their first byte here: enough. */
	if (sl_members_add(&ms, &e) != SL_OK)
		exit(1);
	/* 1,000 admissions, each approved by 17 of the 32 founders. */
	for (uint32_t i = 0; i < 1000; i++) {
		memset(&e, 0, sizeof e);
		memcpy(e.origin, a, SL_KEY_LEN);
		e.seq = seq++;
		e.hlc = 100 + i;
		e.type = SL_MEV_ADMIT;
		e.ledgered = true;
		memcpy(e.ledger, a, SL_KEY_LEN);
		key_of(e.org, 1000 + i);
		for (uint32_t k = 0; k < 17; k++)
			key_of(e.app[e.napp++], k);
		if (sl_members_add(&ms, &e) != SL_OK)
			exit(1);
	}
	/* 1,000 approvals waiting (of a candidate each). */
	for (uint32_t i = 0; i < 1000; i++) {
		memset(&e, 0, sizeof e);
		key_of(e.origin, i % 32);
		e.seq = 10 + i;
		e.hlc = 5000 + i;
		e.type = SL_MEV_APPROVE;
		e.act = SL_MACT_ADMIT;
		e.ledgered = true;
		memcpy(e.ledger, a, SL_KEY_LEN);
		key_of(e.org, 5000 + i);
		if (sl_members_add(&ms, &e) != SL_OK)
			exit(1);
	}
	t0 = tu_now_s();
	if (sl_members_settle(&ms) != SL_OK)
		exit(1);
	t = tu_now_s() - t0;
	sl_members_free(&ms);
	return t;
}

int
main(void)
{
	double best1 = 1e9, best2 = 1e9;

	for (int r = 0; r < 5; r++) {
		double t1 = one_member_admits(), t2 = majority();

		if (t1 < best1)
			best1 = t1;
		if (t2 < best2)
			best2 = t2;
	}
	printf("settle, 4,000 admissions (one member admits): %.1f ms\n",
	    best1 * 1e3);
	printf("settle, majority ledger of 32 + 1,000 entries, 1,000 "
	    "approvals waiting: %.1f ms\n", best2 * 1e3);
	return 0;
}
