/*
 * cmd.h - what the control socket's requests mean: the record commands
 * of samlog(1) (add, list, show, update, decision steps, history), and the
 * node commands (status, verify, log, rebuild).
 *
 * Reads are answered at once from a read transaction.  Writes are queued
 * and committed together once per loop turn (group commit): every write
 * request that arrived while the previous commit was being made shares the
 * next one, and each is answered only once its event is durable.
 */
#ifndef SAMLOG_CMD_H
#define SAMLOG_CMD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "control.h"
#include "project.h"
#include "store.h"
#include "sync.h"

struct cmd_ctx;

/* sync_moved_fn (sync.h): does the log make `now` the new key of the
 * peer that had `was`? */
bool cmd_sync_moved(void *ctx, const uint8_t was[SL_KEY_LEN],
    const uint8_t now[SL_KEY_LEN], const char *name);
/* Did a request (device rotate) ask samlogd to start again with its
 * new key? */
bool cmd_restart_wanted(const struct cmd_ctx *d);
struct cmd_ctx *cmd_new(uv_loop_t *loop, struct store *s, struct project *p,
    const uint8_t node[SL_KEY_LEN], const char *org);
/* Commits and answers the writes still queued (at shutdown). */
void cmd_flush(struct cmd_ctx *d);

/* Decodes a request body ({"cmd", "args"}) as cmd_request does, and
 * nothing more: SL_OK or SL_EUSAGE with msg saying why (the fuzzer's
 * entry to the control-socket decoder). */
int cmd_parse_request(const uint8_t *body, size_t len, char *msg,
    size_t mlen);
/* Frees d; its idle handle must already be closed (uv_walk at exit). */
void cmd_free(struct cmd_ctx *d);
/* The control_request_fn for control_open.  Every request is checked
 * against the client's rights (rights.h) before it does anything. */
void cmd_request(void *ctx, struct ctl_conn *c, uint32_t id,
    const uint8_t *body, size_t len);
/*
 * Appends a checkpoint (PROTOCOL.md 15) of the members' tips this node
 * holds, alone in its commit so that it is signed, unless nothing changed
 * since the last one or writes are held.  *wrote says whether one was
 * written.  SL_OK or an SL_E* code (err says why).
 */
int cmd_checkpoint(struct cmd_ctx *d, bool *wrote, char *err,
    size_t errlen);
/*
 * Admission by majority (PROTOCOL.md 12.4), on the node's own: records
 * what enough members approved where this node keeps the ledger, starts
 * the ledger this node proposed once every member approved, and follows
 * the ledger that admitted this node.  At most one event a call; cheap
 * when the log holds no approval.  Call it every second or so.
 */
void cmd_ledger_tick(struct cmd_ctx *d);
/*
 * Appends a fork proof (PROTOCOL.md 16) for each fork this node keeps
 * evidence of that no proof held proves yet, each alone in its commit,
 * unless writes are held: of all the evidence, or with origin not NULL
 * of the evidence whose run starts at (origin, seq) (what one refusal
 * kept: the whole database need not be read).  *wrote says how many.  SL_OK, SL_ERETRY (call
 * again later: writes are held, or there is more to prove than one call
 * writes) or an SL_E* code (err says why).
 */
int cmd_fork_proofs(struct cmd_ctx *d, const uint8_t *origin, uint64_t seq,
    size_t *wrote, char *err, size_t errlen);
/*
 * Makes sure the log says which organisation this node speaks for: appends
 * a node.org event when the last one differs from org.  SL_OK or an error
 * with err set.
 */
int cmd_announce(struct cmd_ctx *d, const char *org, char *err, size_t errlen);
/*
 * Makes sure the log says what c says of membership (PROTOCOL.md 12.1):
 * this node's organisation admitted by itself under c->org (the founding
 * of a federation, or an older node's first start with membership), or
 * renamed by itself when c->org changed; each peer line admitted by this
 * node (an older version's peer lines were its trust), at a start
 * (startup) only the first time.  SL_OK or an error with err set.
 */
int cmd_members_sync(struct cmd_ctx *d, const struct config *c,
    bool startup, char *err, size_t errlen);
/* Admits org under name (peer add): SL_OK or an error in err. */
int cmd_member_admit(struct cmd_ctx *d, const uint8_t org[SL_KEY_LEN],
    const char *name, char *err, size_t errlen);
/* Gives cmd the peers: status lists them, the peer commands change them
 * (in samlog.conf at conf_path, then in sy), and every commit is pushed
 * to them.  sy and conf_path are borrowed and must outlive d. */
void cmd_set_sync(struct cmd_ctx *d, struct sync *sy, const char *conf_path);
/* A node restored from a backup (DIR/restored) answers only status and
 * its peers' and members' lists until it has caught up. */
void cmd_set_restoring(struct cmd_ctx *d, bool on);
bool cmd_restoring(const struct cmd_ctx *d);
/* The node directory (borrowed), for samlog backup. */
void cmd_set_dir(struct cmd_ctx *d, const char *dir);
/* The erasure policy (samlog.conf erasure = with-decision: true). */
void cmd_set_erasure(struct cmd_ctx *d, bool with_decision);
/* Applies the erasures this node holds that its policy lets it apply
 * (PROTOCOL.md 5.2); true if a value was taken out, and the daemon
 * should start again on a compacted store (cmd_scrub_wanted). */
bool cmd_erase_tick(struct cmd_ctx *d);
bool cmd_scrub_wanted(const struct cmd_ctx *d);
/* The retention rules of samlog.conf (copied). */
void cmd_set_retention(struct cmd_ctx *d, const struct config_retain *r,
    size_t n);
/* Writes an erasure for every record a retention rule finds due today
 * (PROTOCOL.md 5.2), then applies what the policy lets it. */
void cmd_retention_run(struct cmd_ctx *d);
/* When the rules last ran (ms, 0: never). */
uint64_t cmd_retention_last(const struct cmd_ctx *d);
/* sync's sync_member_fn and sync_members_fn: the members as the log
 * says (ctx: the cmd_ctx). */
bool cmd_sync_member(void *ctx, const uint8_t key[SL_KEY_LEN], uint64_t *upto);
size_t cmd_sync_members(void *ctx, uint8_t (*keys)[SL_KEY_LEN], size_t max);
/* sync_reader_fn: a newcomer this node asked the members to admit (12.4). */
bool cmd_sync_reader(void *ctx, const uint8_t key[SL_KEY_LEN]);
/* sync's sync_join_fn and sync_invites_fn (ctx: the cmd_ctx). */
int cmd_sync_join(void *ctx, const uint8_t key[SL_KEY_LEN],
    const uint8_t secret[SL_JOIN_SECRET_LEN], const char *name, char *why,
    size_t wlen);
bool cmd_invites_open(void *ctx);
/* A sync_hold_fn: while held, writes queue and are not committed. */
void cmd_hold(void *ctx, bool hold);
/* Statistics: group commits made, write requests answered, requests
 * received. */
void cmd_stats(const struct cmd_ctx *d, uint64_t *commits, uint64_t *writes,
    uint64_t *requests);

#endif
