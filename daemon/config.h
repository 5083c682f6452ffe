/*
 * config.h - the node's samlog.conf: "key = value" lines, # comments.
 *
 *     org = Samordningsförbundet Norrort
 *     group = samlog                      # may use the control socket
 *     listen = 0.0.0.0:7420               # accept peers here
 *     max_skew = 10m                      # clocks further ahead wait
 *     socket = /run/samlog/samlogd.sock   # the control socket
 *     peer = sigtuna 7x3k...q0 [host:port] # a member; with an address, dialled
 */
#ifndef SAMLOG_CONFIG_H
#define SAMLOG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "samlog_proto.h"

#define CONFIG_NAME_MAX 64    /* bytes of a peer's name */
#define CONFIG_ADDR_MAX 255   /* bytes of HOST:PORT */
#define CONFIG_PEERS_MAX 1000 /* members, as many as the store has origins */
#define CONFIG_PATH_MAX 108   /* a Unix socket path (sun_path) */

struct config_peer {
	char name[CONFIG_NAME_MAX + 1];
	uint8_t key[SL_KEY_LEN];
	char addr[CONFIG_ADDR_MAX + 1]; /* "" = a member that is not dialled */
};

#define CONFIG_CHECKPOINT_DEFAULT ((uint64_t)5 * 60 * 1000)
#define CONFIG_RETAIN_MAX 32

/* A retention rule (samlog.conf: retain = KIND.FIELD AGE [after FIELD]
 * [under DECISION_ID]): a personal field is erased once AGE has passed
 * since the record's date field (or since its last change). */
struct config_retain {
	char kind[16];
	char field[SL_FIELD_NAME_MAX + 1];
	unsigned days, months;          /* the age: days + months */
	char after[SL_FIELD_NAME_MAX + 1]; /* a DATE field, "" = last change */
	char decision[SL_ID_TEXT + 1];  /* "" = none */
	char text[160];                 /* the rule as written */
};

struct config {
	char org[SL_ORG_MAX + 1];
	char group[64];   /* members may use the control socket; "" = owner only */
	char listen[CONFIG_ADDR_MAX + 1]; /* "" = do not listen */
	char socket[CONFIG_PATH_MAX];     /* "" = DIR/samlogd.sock */
	uint64_t max_skew_ms;  /* 0 = the default (PROJECT_SKEW_DEFAULT_MS) */
	/* How often, at most, the node writes a checkpoint (PROTOCOL.md
	 * 15); CONFIG_CHECKPOINT_DEFAULT unless set, 0 = never. */
	uint64_t checkpoint_ms;
	/* erasure = with-decision: erasures are applied only under an
	 * adopted disposal decision (PROTOCOL.md 5.2); apply (false): at
	 * once. */
	bool erasure_decision;
	struct config_retain retain[CONFIG_RETAIN_MAX];
	size_t nretain;
	struct config_peer *peers;        /* owned; config_free */
	size_t npeers;
};

/*
 * Reads the config file at path into c.  Any unknown key, repeated key,
 * malformed line or invalid value refuses the whole file: err gets
 * "PATH:LINE: reason".  Returns SL_OK or an SL_E* code.
 */
int config_load(struct config *c, const char *path, char *err,
    size_t errlen);
void config_free(struct config *c);
/* Parses one retain rule's value into r; false with why if it is not
 * one. */
bool config_retain_parse(struct config_retain *r, const char *val, char *why,
    size_t wlen);

/* Parses a checkpoint interval: "0" (never) or a duration of
 * config_duration_parse's form. */
bool config_interval_parse(const char *s, uint64_t *ms);

/* True for a valid peer name: 1..CONFIG_NAME_MAX of [A-Za-z0-9._-]. */
bool config_name_valid(const char *name);

/*
 * Splits "HOST:PORT" ("[v6]:PORT" for IPv6 literals) into host and port.
 * Returns false (err says why) if it is malformed or the port is not
 * 1..65535 (0 too when allow_zero: listen on any free port).
 */
bool config_addr_split(const char *addr, char *host, size_t hostlen,
    unsigned *port, bool allow_zero, char *err, size_t errlen);

/* Parses a duration "N", "Ns", "Nm", "Nh" or "Nd" into milliseconds;
 * false unless it is from 1 s to 7 days. */
bool config_duration_parse(const char *s, uint64_t *ms);

/* The peer called name, or NULL. */
const struct config_peer *config_peer_find(const struct config *c,
    const char *name);

/*
 * Rewrites the file at path with the peer line of p->name replaced by p
 * (or removed when remove is true), keeping every other line and comment.
 * The new file replaces the old one atomically (write, fsync, rename).
 */
int config_write_peer(const char *path, const struct config_peer *p,
    bool remove, char *err, size_t errlen);

#endif
