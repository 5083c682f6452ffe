/*
 * pins.h - the keys an auditor expects (PROTOCOL.md 14.3): --expect
 * FINGERPRINT and --members FILE of `samlog verify --file` and `samlog
 * audit --check`, held against the keys a file shows.
 */
#ifndef SAMLOG_PINS_H
#define SAMLOG_PINS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parser.h"
#include "samlog_proto.h"

struct pin {
	char text[SL_NODE_ID_TEXT + 1];   /* a fingerprint or longer id
					     prefix, as given */
	char name[SL_ORG_MAX + 1];        /* the members file's name, or "" */
};

struct pins {
	struct pin *v;
	size_t n;
};

/* A key the file shows, with the organisation its own events announce
 * (NULL/0: none) and its part ("origin", "exporter"). */
struct ident {
	const uint8_t *key;
	const char *org;
	uint32_t org_len;
	const char *role;
	bool is_device;              /* a certificate in the file makes it */
	uint8_t device_of[SL_KEY_LEN]; /* a device of this organisation key
					(PROTOCOL.md 12.3) */
};

/*
 * Reads r's --expect values and --members file into p.  0, or the exit
 * status with one line printed: 2 for an --expect that is no
 * fingerprint, 1 for a members file that cannot be read or has a bad
 * line (named as FILE:LINE).
 */
int pins_load(struct pins *p, const struct parse_result *r);
void pins_free(struct pins *p);

/* The pin that key matches, or NULL. */
struct pin *pins_find(struct pins *p, const uint8_t key[SL_KEY_LEN]);
/* The pin that the identity's key matches, or its organisation key's
 * when it is a device: pinning an organisation pins its devices. */
struct pin *pins_find_ident(struct pins *p, const struct ident *id);

/*
 * With pins: one "samlog: FILE: ..." line for each identity of v[0..n)
 * that no pin matches (a key listed twice, once), and their number.
 * Without pins: 0.
 */
size_t pins_check(struct pins *p, const char *file, const struct ident *v,
    size_t n);

/*
 * Packs two map entries: "identities", each key's fingerprint, id,
 * role, the organisation it claims and the pinned name; and "note":
 * whether the keys were pinned, or what to do since they were not.
 */
void pins_pack(msgpack_packer *pk, struct pins *p, const struct ident *v,
    size_t n);

#endif
