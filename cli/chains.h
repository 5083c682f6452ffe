/*
 * chains.h - what every offline checker proves of a set of records:
 * chains linked by prev, signatures, coverage, clocks and the content
 * rules (PROTOCOL.md sections 6 and 11.2), the checks every node makes
 * at ingest.  Audit bundles (bundle.c) and raw event exports (events.c)
 * both run them, so the two cannot come to differ.
 */
#ifndef SAMLOG_CHAINS_H
#define SAMLOG_CHAINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "samlog_proto.h"

/* One decoded record and what the checks learn of it. */
struct chain_ev {
	struct sl_event ev;
	uint8_t hash[SL_HASH_LEN];
	uint64_t covered_by;    /* seq of the signed event covering it; 0:
				   none */
	bool subject;           /* bundle.c: one of the record's events */
	bool foreign;           /* bundle.c: another record's, a parent */
	bool twin;              /* a second record for its (origin, seq) */
	bool bad;               /* a problem was reported for it */
};

/*
 * Reports one problem (one sentence, no newline); returns true to go on
 * checking, false to stop.
 */
typedef bool (*chain_report_fn)(void *ctx, const char *problem);

struct chain_opts {
	/* Each origin's records must be one run of consecutive seqs (a
	 * raw export); else runs with gaps between them (a bundle). */
	bool contiguous;
	chain_report_fn report;
	void *ctx;
	/* Called for each record after its signature is checked, before
	 * its clock (may be NULL): false with one sentence in msg. */
	bool (*each)(void *ctx, const struct chain_ev *e, char *msg,
	    size_t mlen);
};

/* The origin's first 8 id characters, for messages. */
const char *chain_short_id(const uint8_t *k, char out[SL_NODE_ID_TEXT + 1]);

/*
 * Sorts ev[0..n) by (origin, seq, hash) and checks them: two records for
 * one (origin, seq) (a fork, or the same one twice: the second is marked
 * twin), each record linked to the one before it by prev, no gap inside
 * a run where o->contiguous, every signature present good, every
 * multiple of SL_SIGN_INTERVAL signed, clocks rising along each chain,
 * the content rules, and every record covered by a good signature at or
 * after it.  Each problem goes to o->report (and marks its record bad);
 * returns the number reported, stopping early when report says so.
 * *norigins and *nsigs count the origins and the good signatures.
 */
/* The organisation origin announces in its latest node.org event among
 * evs[0..nev) (one with a body), or "" (len 0); *org borrows evs' bytes.
 * A claim: anyone can announce any name. */
void chain_origin_org(const struct chain_ev *evs, uint32_t nev,
    const uint8_t *origin, const char **org, uint32_t *len);

uint32_t chains_check(struct chain_ev *ev, uint32_t n,
    const struct chain_opts *o, uint32_t *norigins, uint32_t *nsigs);

#endif
