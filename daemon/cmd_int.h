/*
 * cmd_int.h - what the parts of the request handler share (not for the
 * rest of the daemon: cmd.h is its interface).
 *
 *   cmd.c         the command table and dispatch, the context's life
 *   cmd_args.c    replies, request decoding, values and ids as typed
 *   cmd_write.c   record writes built from the schema, the group commit
 *   cmd_read.c    record replies, lists, show, history, audit, log,
 *                 status, verify, rebuild
 *   cmd_peer.c    the peer commands (samlog.conf, then sync), peers packed
 *   cmd_import.c  imports: rows held per connection, written in one commit
 *   cmd_member.c  the federation's members: list, retire
 *   cmd_ledger.c  admission by majority: member policy, member approve
 *   cmd_events.c  the raw event export (PROTOCOL.md section 14)
 *   cmd_ckpt.c    this node's checkpoints (PROTOCOL.md section 15)
 *   cmd_fork.c    this node's fork proofs (PROTOCOL.md section 16)
 *   cmd_backup.c  samlog backup: the node as a verified tar archive
 *   cmd_erase.c   erasure: the erase command, applying erasures by the
 *                 node's policy (PROTOCOL.md section 5.2)
 *
 * Every function returns SL_OK or an SL_E* code with one sentence in msg
 * (msg, mlen), unless it says otherwise.
 */
#ifndef SAMLOG_CMD_INT_H
#define SAMLOG_CMD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "cmd.h"
#include "log.h"
#include "rights.h"

#define MAX_ARGS 32
#define GROUP_MAX 512
#define MAX_ELEMS 64

struct arg {
	char name[24];
	enum { ARG_STR, ARG_ARR, ARG_TRUE } type;
	const char *s;
	uint32_t slen;
	uint32_t n;
	const char *e[MAX_ELEMS];
	uint32_t elen[MAX_ELEMS];
};

struct args {
	char cmd[32];
	uint32_t n;
	struct arg a[MAX_ARGS];
	bool import;         /* a row of an import: it finds duplicates by
				name itself (cmd_import.c) */
};

struct pending {
	struct pending *next;
	struct ctl_conn *c;
	uint32_t id;
	uint8_t *body;
	size_t len;
	char author[SL_AUTHOR_MAX + 8];
	int code;
	char msg[1024];
	uint8_t rec_id[SL_ID_LEN];
};

/* An import in progress on one connection: its rows, as [line, request
 * body] msgpack pairs, until import.commit writes them in one commit. */
struct import_sess {
	struct import_sess *next;
	struct ctl_conn *c;
	struct sl_buf rows;
	uint32_t n;
};

#define IMPORT_MAX_BYTES (256u << 20)  /* rows held per import */
#define IMPORT_MAX_ERRORS 20           /* bad rows reported */

struct cmd_ctx {
	uv_loop_t *loop;
	uv_idle_t idle;
	struct store *s;
	struct project *p;
	uint8_t node[SL_KEY_LEN];     /* this node's key: its chain */
	uint8_t orgkey[SL_KEY_LEN];   /* the organisation it signs for: its
					own key, or as a device (12.3) */
	char org[SL_ORG_MAX + 1];
	struct pending *head, **tail;
	uint64_t commits, writes, requests;
	struct sync *sync;   /* NULL: no peers (tests) */
	const char *conf_path; /* samlog.conf, for the peer commands */
	struct import_sess *imports;
	bool held;           /* writes wait: see sync_hold_fn */
	bool ckpt_done;      /* a checkpoint was written since the start */
	bool restart;        /* device rotate: start again with the new key */
	bool scrub;          /* an erasure was applied: start again on a
				compacted store */
	bool erasure_decision; /* erasure = with-decision (samlog.conf) */
	uint64_t erase_seen; /* the event count the erasures were last
				looked at with (cmd_erase_tick) */
	bool erase_more;     /* that look stopped at its budget ... */
	uint8_t erase_from[SL_ID_LEN + SL_HASH_LEN]; /* ... here */
	const char *dir;     /* the node directory (backup), or NULL */
	bool restoring;      /* restored from a backup, not caught up yet */
	/* Retention rules (samlog.conf retain), when each last ran (ms)
	 * and how many records' erasures it wrote since the start. */
	struct config_retain retain[CONFIG_RETAIN_MAX];
	size_t nretain;
	uint64_t retain_runs[CONFIG_RETAIN_MAX];
	uint64_t retain_erased[CONFIG_RETAIN_MAX];
	uint64_t retain_last;
	uint64_t ledger_warned; /* when cmd_ledger_tick last logged a
				   failure (ms): once a minute at most */
	/* Peers that moved to a new key, their lines to rewrite soon. */
	uv_timer_t moved_timer;
	char moved[8][CONFIG_NAME_MAX + 1];
	size_t nmoved;
	uint8_t ckpt_digest[SL_HASH_LEN]; /* the tips right after it */
};

/* ---- cmd_backup.c ---------------------------------------------------- */

/* backup FILE: the node, as a tar archive, written and verified. */
int cmd_backup(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen);

/* ---- cmd_erase.c ----------------------------------------------------- */

int cmd_erase(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen);
/* The erasures not applied here, for status: with pk NULL only counts
 * them; else packs each as {record, by, time, why}.  Returns how many. */
uint32_t cmd_erase_status(struct cmd_ctx *d, MDB_txn *txn,
    msgpack_packer *pk);
/* The retention rules, for status: an array of {rule, last_run,
 * erased_since_start}. */
void cmd_retention_status(struct cmd_ctx *d, msgpack_packer *pk);
/* "erased on DATE by ORG, ground: G" for field of record id (event, or
 * any event when NULL) into out. */
bool cmd_erase_note(struct cmd_ctx *d, MDB_txn *txn,
    const uint8_t id[SL_ID_LEN], const uint8_t *event, const char *field,
    char *out, size_t len);

/* ---- cmd_fork.c ------------------------------------------------------ */

/* The fork proofs held, for status (PROTOCOL.md 16): with pk NULL only
 * counts them; else packs each as a map (warnings false) or as one
 * warning line (true).  Returns how many. */
uint32_t cmd_fork_status(struct cmd_ctx *d, MDB_txn *txn, msgpack_packer *pk,
    bool warnings);

/* ---- cmd_args.c ------------------------------------------------------ */

/* One RESULT frame (rec_id: the record a write made, or NULL) / one END. */
void cmd_reply_result(struct ctl_conn *c, uint32_t id, int code,
    const char *msg, const uint8_t *rec_id);
void cmd_reply_end(struct ctl_conn *c, uint32_t id);
/* Writes the message into msg and returns code. */
int cmd_fail(char *msg, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Decodes a request body into a (which borrows body's bytes). */
int cmd_args_parse(struct args *a, const uint8_t *body, size_t len,
    char *msg, size_t mlen);
/* The argument called name, or NULL. */
const struct arg *cmd_arg_get(const struct args *a, const char *name);
/* A single string argument copied into out; false if absent. */
bool cmd_arg_str(const struct args *a, const char *name, char *out,
    size_t outlen);
/* Refuses arguments not in allowed (NULL-terminated). */
int cmd_args_only(const struct args *a, const char *const *allowed,
    char *msg, size_t mlen);
/* A field's text as typed, checked by the schema; the message names the
 * flag and what would do. */
int cmd_check_field(const struct sl_field *f, const char *s, size_t n,
    char *msg, size_t mlen);
int cmd_check_date(const char *flag, const char *s, char *msg, size_t mlen);
/* The daemon's local day now, YYYY-MM-DD ("" if unknown). */
void cmd_local_day(char out[11]);
/* An id argument (prefix) to a record of kind (0: any); flag (may be
 * NULL) is named in the message.  _text writes the full id's text. */
int cmd_resolve(struct cmd_ctx *d, MDB_txn *txn, const char *flag,
    const char *text, const char *kinds, uint8_t id[SL_ID_LEN], char *msg,
    size_t mlen);
int cmd_resolve_text(struct cmd_ctx *d, MDB_txn *txn, const char *flag,
    const char *text, const char *kinds, char out[SL_ID_TEXT + 1],
    char *msg,
    size_t mlen);

/* ---- cmd_write.c ----------------------------------------------------- */

/* The event type a write command makes ("decision.adopt"), or NULL. */
const struct sl_evtype *cmd_write_type(const char *cmd);
bool cmd_is_write(const char *cmd);
/* KIND add, and KIND update/STEP ID, inside batch b: id receives the
 * record's id; *dead is set when the batch itself failed. */
int cmd_write_add(struct cmd_ctx *d, struct store_batch *b, MDB_txn *txn,
    const struct args *a, const struct sl_evtype *et, const char *author,
    uint8_t id[SL_ID_LEN], bool *dead, char *msg, size_t mlen);
int cmd_write_change(struct cmd_ctx *d, struct store_batch *b, MDB_txn *txn,
    const struct args *a, const struct sl_evtype *et, const char *author,
    uint8_t id[SL_ID_LEN], bool *dead, char *msg, size_t mlen);
/* Commits up to GROUP_MAX queued writes and answers them; the idle
 * callback that calls it once per loop turn. */
void cmd_commit(struct cmd_ctx *d);
void cmd_idle_cb(uv_idle_t *h);

/* ---- cmd_read.c ------------------------------------------------------ */

/* One RECORD frame with r as replies show it (competing: with the
 * competing edits of a record in conflict). */
void cmd_send_record(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct sl_rec *r, bool competing);
int cmd_read_list(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct args *a, char kind, char *msg, size_t mlen);
int cmd_read_show(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct args *a, char kind, char *msg, size_t mlen);
/* person ID: one object of what this node holds about a contact. */
int cmd_read_person(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct args *a, char *msg, size_t mlen);
int cmd_read_find(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct args *a, char *msg, size_t mlen);
int cmd_read_conflicts(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct args *a, char *msg, size_t mlen);
int cmd_read_timeline(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct args *a, char *msg, size_t mlen);
int cmd_read_history(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct args *a, char *msg, size_t mlen);
int cmd_read_audit(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct args *a, char *msg, size_t mlen);
int cmd_read_log(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn);
int cmd_read_status(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id);
int cmd_read_verify(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    char *msg, size_t mlen);
int cmd_read_rebuild(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    char *msg, size_t mlen);

/* ---- cmd_peer.c ------------------------------------------------------ */

int cmd_peer(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen);
/* One peer as a map, as `peer list` and `status` show it. */
void cmd_pack_peer(const struct sync_peer_info *pi, msgpack_packer *pk);

/* ---- cmd.c ----------------------------------------------------------- */

/* Appends one membership event of type {"name": name (NULL: none),
 * "org": org, "upto": upto (0: none)} to this node's chain. */
int cmd_member_append(struct cmd_ctx *d, const char *type,
    const uint8_t org[SL_KEY_LEN], const char *name, uint64_t upto,
    char *err, size_t errlen);
/* member.retired of org up to upto, with each of its devices' last seq
 * this node holds (PROTOCOL.md 12.3: a device not listed is cut at 0). */
int cmd_member_retire_append(struct cmd_ctx *d, const uint8_t org[SL_KEY_LEN],
    uint64_t upto, const struct sl_mcut *cuts, uint32_t ncuts, char *err,
    size_t errlen);
/* Is this node's key a device of another organisation's (12.3)? */
bool cmd_is_device(const struct cmd_ctx *d);

/* A peer NAME for key made of name's [A-Za-z0-9._-] (else from its
 * fingerprint), not another peer's; cmd_peer_line writes (or rewrites)
 * the peer line for key (addr NULL: keep it; "" none) and applies it. */
void cmd_peer_label(const struct cmd_ctx *d, const char *name,
    const uint8_t key[SL_KEY_LEN], char out[CONFIG_NAME_MAX + 1]);
int cmd_peer_line(struct cmd_ctx *d, const uint8_t key[SL_KEY_LEN],
    const char *label, const char *addr, char *msg, size_t mlen);

/* ---- cmd_device.c ---------------------------------------------------- */

/* device.list, device.request, device.add, device.revoke, device.rotate
 * (PROTOCOL.md 12.3). */
int cmd_device(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen);
/* Is text an enrolment line (device add's)?  join ENROLMENT: this node
 * becomes a device of the line's organisation and dials the node named. */
bool cmd_is_enrolment(const char *text);
int cmd_device_join(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const char *text, char *msg, size_t mlen);
/* Did the last request ask the daemon to start again with its new key
 * (device rotate)? */
bool cmd_restart_wanted(const struct cmd_ctx *d);

/* ---- cmd_member.c ---------------------------------------------------- */

/* The members in a new read transaction *txn (the caller aborts it),
 * or NULL with *txn NULL and the reason in msg (*rc its code). */
const struct sl_members *cmd_members_read(struct cmd_ctx *d, MDB_txn **txn,
    int *rc, char *msg, size_t mlen);

/* Where `who` (a newcomer, a device) reaches this node: --addr, else
 * where it listens; one that names no single address is refused. */
int cmd_reach_addr(const struct cmd_ctx *d, const struct args *a,
    const char *who, char addr[CONFIG_ADDR_MAX + 2], char *msg, size_t mlen);

/* The organisation NAME, a fingerprint or a node id prefix, among the
 * members; SL_OK and org filled, or why not. */
int cmd_member_find(const struct sl_members *ms, const char *text,
    uint8_t org[SL_KEY_LEN], char *msg, size_t mlen);

/* One member as member list shows it. */
void cmd_member_row(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms, const struct sl_member *m);

/* ---- cmd_ledger.c ---------------------------------------------------- */

/* member.policy and member.approve, in read transaction txn (which they
 * end) over members ms. */
int cmd_ledger(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, MDB_txn *txn, const struct sl_members *ms,
    char *msg, size_t mlen);
/* What waits for the members' approval, as member list rows; the row of
 * what is asked about org (act), else org's member row. */
void cmd_ledger_pending(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms);
void cmd_ledger_row(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct sl_members *ms, enum sl_mact act,
    const uint8_t org[SL_KEY_LEN]);
/* Does this node's own organisation wait for the members' approval
 * (it joined a federation that admits by majority and is not admitted
 * yet)?  Where it stands in *approved of *needed.  cmd_ledger_refuse_
 * waiting: SL_OK if not, else SL_EPERM with one line saying so, for the
 * commands only a member may give. */
bool cmd_ledger_self_waiting(const struct sl_members *ms, size_t *approved,
    size_t *needed);
int cmd_ledger_refuse_waiting(const struct sl_members *ms, char *msg,
    size_t mlen);
/* How many admissions and retirements wait for the members' approval
 * (*ready of them have it and wait for the keeper's node). */
size_t cmd_ledger_waiting(const struct sl_members *ms, size_t *ready);
/* Where the admission policy stands, in one sentence (note, len); true
 * if something waits for people. */
bool cmd_ledger_note(struct cmd_ctx *d, const struct sl_members *ms,
    char *note, size_t len);
/* This node approves admitting org under name, or retiring it (12.4);
 * where the motion stands after it in *approved of *needed. */
int cmd_ledger_approve(struct cmd_ctx *d, enum sl_mact act,
    const uint8_t org[SL_KEY_LEN], const char *name, size_t *approved,
    size_t *needed, char *msg, size_t mlen);

/* member.list, member.retire. */
int cmd_member(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen);

/*
 * An invitation (PROTOCOL.md 12.2), one line:
 *   samlog-invite:1:INVITER:SECRET:EXPIRES:HOST:PORT
 * INVITER the inviting node's id, SECRET 16 random bytes in base32,
 * EXPIRES unix seconds, then the address the newcomer dials.
 */
#define SL_INVITE_PREFIX "samlog-invite:1:"
/* From a device (12.3): the inviting device's key, then its
 * organisation's. */
#define SL_INVITE_PREFIX2 "samlog-invite:2:"
#define SL_INVITE_MAX 512
struct invitation {
	uint8_t inviter[SL_KEY_LEN];
	uint8_t org[SL_KEY_LEN];     /* the inviter's organisation */
	uint8_t secret[STORE_SECRET_LEN];
	uint64_t expires_s;
	char addr[CONFIG_ADDR_MAX + 1];
	char host[CONFIG_ADDR_MAX + 1];
	unsigned port;
};
/* invite: a new invitation, kept (hashed) in the store, printed once. */
int cmd_invite(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen);
/* join INVITATION: SL_OK when the request waits for the inviter (it is
 * answered then, or after 20 s), else an error answered at once. */
int cmd_join(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const struct args *a, char *msg, size_t mlen);
/* Reads an invitation's text; false (msg says why) if it is none. */
bool cmd_invite_parse(const char *text, struct invitation *inv, char *msg,
    size_t mlen);
/* ---- cmd_events.c ---------------------------------------------------- */

/* events [--origin ID]... [--since TIME|SEQ]: the raw event export, sent
 * as RECORD frames {"data": bin} whose bytes, joined, are the file. */
int cmd_events(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    MDB_txn *txn, const struct args *a, char *msg, size_t mlen);

/* ---- cmd_import.c ---------------------------------------------------- */

/* Handles import.rows/commit/abort; false if body is no import request
 * (then cmd_request handles it). */
bool cmd_import_dispatch(struct cmd_ctx *d, struct ctl_conn *c, uint32_t id,
    const uint8_t *body, size_t len);
void cmd_import_drop(struct cmd_ctx *d, struct import_sess *x);

#endif
