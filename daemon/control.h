/*
 * control.h - the control socket: a Unix stream socket in the node
 * directory where samlog sends requests (length-prefixed msgpack frames,
 * see PROTOCOL.md) and reads replies.  This module owns connections and
 * framing; what a request means is the request callback's business.
 */
#ifndef SAMLOG_CONTROL_H
#define SAMLOG_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct control;
struct ctl_conn;

/* Called once per complete REQUEST frame; body borrows the read buffer
 * for the duration of the call. */
typedef void (*control_request_fn)(void *ctx, struct ctl_conn *c, uint32_t id,
    const uint8_t *body, size_t len);

/*
 * Listens on path (replacing a stale socket file; the caller holds the
 * node lock), mode 0600, or 0660 owned by group when group is not empty.
 * Returns 0, or -1 with err set.
 */
int control_open(struct control **out, uv_loop_t *loop, const char *path,
    const char *group, control_request_fn fn, void *ctx, char *err,
    size_t errlen);
/* Stops listening, closes every connection, removes the socket file. */
void control_close(struct control *ctl);

/* Adds one frame to c's pending reply (dropped silently if c has gone
 * away).  Frames go out at ctl_flush, which the read path calls after
 * each batch of requests; replies made outside it must flush. */
void ctl_send(struct ctl_conn *c, uint8_t type, uint32_t id, const void *body,
    size_t len);
void ctl_flush(struct ctl_conn *c);
/* The local user name of the peer (SO_PEERCRED), e.g. "anna". */
const char *ctl_conn_user(const struct ctl_conn *c);
/* The peer's uid (SO_PEERCRED), or (uid_t)-1 if it could not be read. */
uid_t ctl_conn_uid(const struct ctl_conn *c);
/* Keeps c's memory valid across loop iterations (pending replies). */
void ctl_conn_ref(struct ctl_conn *c);
void ctl_conn_unref(struct ctl_conn *c);
/* False once the connection has closed. */
bool ctl_conn_alive(const struct ctl_conn *c);
/* Connections open now. */
size_t control_conn_count(const struct control *ctl);

#endif
