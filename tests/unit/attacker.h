/*
 * attacker.h - a hostile member built from the project's own code, for
 * the suites that attack a real samlogd (test_hostile, test_meaning).
 *
 * An identity is a node directory made by `samlog init` whose daemon
 * never runs: its key is loaded as samlogd loads it, and it writes signed
 * events into a store of its own (store_append).  Its connection to a
 * victim is real TLS 1.3 from daemon/tls.c on memory BIOs over a plain
 * blocking socket, with frames encoded as the daemon encodes them.  A
 * scene is a victim daemon and an honest peer syncing with it.
 *
 * Failures go through cmocka, so all of this is for use inside cmocka
 * tests (with cluster.h's cl_setup and a cl_reap teardown).
 */
#ifndef SAMLOG_ATTACKER_H
#define SAMLOG_ATTACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "cluster.h"
#include "samlog_proto.h"
#include "store.h"
#include "tls.h"

/* Room for the victim's decrypted bytes: a whole frame and a bit. */
#define ATK_IN_CAP (SL_FRAME_HDR + SL_PEER_FRAME_MAX + 65536)
/* EVENTS bodies kept when an atk captures. */
#define ATK_CAPTURE 64

/* ---- the attacker's identities and events ----------------------------- */

struct ident {
	struct node n;       /* its directory (samlog init); no daemon runs */
	struct sl_key key;
	SSL_CTX *ssl;        /* its certificate, as samlogd makes one */
};

/* One event as it travels: its record bytes (owned: free(p)), seq and
 * hash. */
struct rec {
	uint8_t *p;
	size_t len;
	uint64_t seq;
	uint8_t hash[SL_HASH_LEN];
};

/* `samlog init` in cl_tmp/name (organisation "Angripare"), then the key
 * and a TLS context with its certificate. */
void ident_init(struct ident *id, const char *name);
/* Frees the TLS context and wipes the key (the directory stays). */
void ident_free(struct ident *id);

/* A store in the identity's directory (sub: "store", or another for a
 * second history), written with its key; store_close it. */
struct store *chain_open(const struct ident *id, const char *sub);
/* Appends one signed contact.created event {"name": name} to s and
 * returns its record. */
struct rec chain_add(struct store *s, const struct ident *id,
    const char *name);
/* Appends n contact.created events in one commit, signed as the store
 * signs them (every SL_SIGN_INTERVAL-th seq and the last), and returns
 * their records in out[0..n) (each p for the caller to free). */
void chain_many(struct store *s, const struct ident *id, struct rec *out,
    size_t n);
/* The same with every signature taken out (nil in its place): a run no
 * one has signed. */
void chain_unsigned(struct store *s, const struct ident *id, struct rec *out,
    size_t n);

/* ---- frame bodies ---------------------------------------------------- */

/* One entry of a version vector. */
struct vent {
	const uint8_t *origin;
	uint64_t seq;
	const uint8_t *hash;   /* NULL: 32 zero bytes */
};

/* Packs a VECTOR (PROTOCOL.md section 12) of v[0..n). */
void pack_vector(msgpack_packer *pk, const struct vent *v, size_t n);
/* HELLO's body with that version and vector; the caller frees b->p. */
void hello_body(struct sl_buf *b, uint64_t version, const struct vent *v,
    size_t n);
/* EVENTS' body: the records r[0..n), in order; the caller frees b->p. */
void events_body(struct sl_buf *b, const struct rec *r, size_t n);

/* ---- the attacker's connection ------------------------------------- */

struct atk {
	int fd;
	char addr[64];        /* this end, as the victim names it */
	struct tls tls;
	bool tls_on, up;      /* TLS state made; handshake done this side */
	bool tls_dead;        /* TLS failed or was closed (an alert...) */
	bool closed;          /* the TCP connection has ended */
	uint8_t want[SL_KEY_LEN]; /* the victim's key */
	uint8_t *in;          /* decrypted, not yet parsed */
	size_t in_len;
	bool hello;           /* the victim's HELLO arrived */
	bool junk;            /* the victim sent something that is no frame */
	char bye[200];        /* the reason of its BYE, "" if none */
	bool capture;         /* keep the bodies of EVENTS it sends */
	struct sl_buf cap[ATK_CAPTURE];
	size_t ncap;
	bool taping;          /* keep every application byte sent */
	struct sl_buf tape;
};

/* A TCP connection to v's listening address (from address src, NULL:
 * any); no TLS yet.  a is initialised here; end it with atk_close. */
void atk_connect(struct atk *a, const struct node *v, const char *src);
/* Raw bytes to the socket; false once the victim has gone. */
bool atk_send(struct atk *a, const void *p, size_t n);
/* Sends what TLS has for the network. */
void atk_flush(struct atk *a);
/* Splits the decrypted bytes into the victim's frames (HELLO, BYE and,
 * when capturing, EVENTS are noted; a bad header sets a->junk). */
void atk_frames(struct atk *a);
/* Waits up to ms for bytes from the victim and takes them in; false
 * once the TCP connection has ended. */
bool atk_poll(struct atk *a, int ms);
/* Reads until the victim closes the connection or ms pass; true if it
 * closed. */
bool atk_wait_closed(struct atk *a, int ms);
/* Reads until the victim's HELLO arrives, it closes, or ms pass; true
 * if the HELLO arrived. */
bool atk_wait_hello(struct atk *a, int ms);
/* The TLS check function: ctx is the atk; true for the victim's key. */
bool want_victim(void *ctx, const uint8_t key[SL_KEY_LEN]);
/* The client side of the TLS handshake with ctx; true once it is done on
 * this side (for TLS 1.3, before the victim has checked our key). */
bool atk_tls(struct atk *a, SSL_CTX *ctx);
/* Application bytes through TLS (taped when a->taping). */
void atk_write(struct atk *a, const void *p, size_t n);
/* A frame with any header at all, and blen bytes of body (len is what
 * the header claims). */
void atk_hdr(struct atk *a, uint8_t version, uint8_t type, uint16_t flags,
    uint32_t len, const void *body, size_t blen);
/* A well-formed frame of that type and body. */
void atk_frame(struct atk *a, uint8_t type, const void *body, size_t len);
/* One EVENTS frame of the records r[0..n). */
void atk_events(struct atk *a, const struct rec *r, size_t n);
/* Our HELLO, with the vector v[0..n). */
void atk_hello(struct atk *a, const struct vent *v, size_t n);
/* Connects as id and completes TLS; fails the test if it cannot. */
void atk_start(struct atk *a, const struct ident *id, const struct node *v);
/* A session as a member: TLS, our HELLO (vector vec[0..n)), the
 * victim's HELLO; fails the test if the HELLO does not come. */
void atk_session(struct atk *a, const struct ident *id, const struct node *v,
    const struct vent *vec, size_t n);
/* Closes the socket and frees everything a holds. */
void atk_close(struct atk *a);
/* Ends our side cleanly and waits for the victim to close its side: once
 * it has, it has handled every frame sent before.  Then atk_close. */
void atk_end(struct atk *a);

/* ---- the victim and its honest peer ----------------------------------- */

struct scene {
	struct node v, h;
	long count;         /* events both hold once converged */
	char asan_env[512];
	char *env[2];
};

/* Under ASan, keeps the victim's allocator quarantine small (16 MiB) so
 * that its memory can be measured; nothing otherwise. */
void scene_env(struct scene *s, struct node *n);
/* Makes and starts the victim v-TAG (organisation "Offret") and the
 * honest peer h-TAG ("Hederlig"), which trust each other (the honest
 * peer dials), and waits until both hold both node.org events. */
void scene_start(struct scene *s, const char *tag);
/* m is a member of the victim, and of the honest peer too so that the
 * two fold the same records. */
void scene_member(struct scene *s, const struct ident *m);
/* Fails the test if the victim's process has ended. */
void victim_alive(const struct scene *s, const char *when);
/* Waits until both nodes hold s->count events, for at most ms. */
void scene_wait(struct scene *s, unsigned ms);
/* The victim still runs, answers the CLI, takes a new event of its own
 * and one of its honest peer's across, and verifies clean. */
void scene_check(struct scene *s, const char *when);
/* The integer key of the victim's status --json. */
long victim_num(const struct scene *s, const char *key);
/* Stops both daemons with SIGTERM; both must exit 0. */
void scene_stop(struct scene *s);

/* ---- forged events -------------------------------------------------------- */

/*
 * An identity's chain kept by hand, so that any header at all can be
 * forged onto it: the seq, hash and clock of the last event made.  The
 * chain itself stays valid (seq 1, 2, 3..., each prev the hash of the
 * one before, each event signed), whatever the events say.
 */
struct forger {
	const struct ident *id;
	uint64_t seq;                /* of the last event made; 0: none yet */
	uint8_t prev[SL_HASH_LEN];   /* its hash */
	uint64_t hlc;                /* its clock */
};

/* What to forge.  Anything the header's encoding can carry, and any
 * payload bytes at all (not necessarily a map). */
struct forgery {
	const char *type;            /* e.g. "contact.updated" */
	const uint8_t *entity;       /* SL_ID_LEN bytes, or NULL */
	const uint8_t (*parents)[SL_HASH_LEN]; /* n_parents, any order */
	uint32_t n_parents;          /* at most SL_MAX_PARENTS */
	uint64_t hlc;                /* the clock; 0: the wall clock now */
	const char *author;          /* NULL: "mallory" */
	const uint8_t *payload;      /* payload_len bytes (NULL if 0) */
	uint32_t payload_len;        /* at most SL_PAYLOAD_MAX */
	bool erased;                 /* the record's body is nil */
};

/* A chain of id's key that has no event yet (seq 1 comes next). */
void forger_init(struct forger *f, const struct ident *id);
/*
 * The next event of f's chain with exactly the header values of e (its
 * parents sorted ascending, as the format wants; a random salt),
 * signed with the identity's key, and its record: the caller frees
 * r.p.  The record decodes and its payload hash matches (checked).
 */
struct rec forge(struct forger *f, const struct forgery *e);
/* A copy of r with its body erased (nil): header and signature as they
 * were, so it still verifies; the caller frees the copy's p. */
struct rec rec_erased(const struct rec *r);
/* A copy of r, a signed record, with one bit of its signature flipped:
 * it no longer verifies.  The caller frees the copy's p. */
struct rec rec_bad_sig(const struct rec *r);
/* A 16-byte record id from its base32 text; fails the test if it is
 * not one. */
void id_of(uint8_t out[SL_ID_LEN], const char *text);
/* The id of the record r's event creates (the first bytes of its hash),
 * as base32 text into out (SL_ID_TEXT + 1 bytes); returns out. */
char *id_created(char *out, const struct rec *r);

/*
 * Sends r[0..n) to the victim v as id, a member of v: a session (TLS,
 * HELLO with an empty vector, so that v sends nothing back), one EVENTS
 * frame per record in order, then the end of our stream.  Returns once
 * v has closed its side, that is once it has handled every frame.
 */
void atk_deliver(const struct ident *id, const struct node *v,
    const struct rec *r, size_t n);

#endif
