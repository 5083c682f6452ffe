/*
 * audit.h - building audit bundles (PROTOCOL.md section 13).  The CLI
 * checks them (cli/audit.c) with nothing but the file.
 */
#ifndef SAMLOG_AUDIT_H
#define SAMLOG_AUDIT_H

#include <lmdb.h>

#include "project.h"
#include "samlog_proto.h"
#include "store.h"

/*
 * Appends to out the bundle of record id (of the given kind char) as
 * read in txn: its events, their covering chain segments, every
 * origin's tip, signed by this node (node, org) through the store's key.
 * SL_OK, or an SL_E* code with err saying why (out is then partial).
 */
int audit_build(struct store *s, struct project *p, MDB_txn *txn,
    const uint8_t id[SL_ID_LEN], char kind, const uint8_t node[SL_KEY_LEN],
    const char *org, struct sl_buf *out, char *err, size_t errlen);

#endif
