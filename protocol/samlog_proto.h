/*
 * samlog_proto.h - the one header both samlogd and samlog include.
 *
 * It defines the event format (see protocol/PROTOCOL.md for the bytes), the
 * result codes every layer reports, and the small libraries both programs
 * link: a strict msgpack reader, SHA-256 and Ed25519 wrappers, base32 ids,
 * the hybrid logical clock and the node directory's files; and the codec
 * of the peer protocol's frame bodies, which only samlogd links.
 * Everything here is prefixed sl_ / SL_.  Nothing in this library allocates unless its
 * contract says so; decoded structures borrow the caller's bytes.
 */
#ifndef SAMLOG_PROTO_H
#define SAMLOG_PROTO_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SL_VERSION_STRING "0.1.0"

/* Event format version written into every header. */
#define SL_FORMAT_VERSION 1

#define SL_KEY_LEN 32           /* Ed25519 public key = node id */
#define SL_SEED_LEN 32          /* Ed25519 seed kept in node.key */
#define SL_SECRET_LEN 64        /* libsodium's expanded secret key */
#define SL_HASH_LEN 32          /* SHA-256 */
#define SL_SIG_LEN 64           /* Ed25519 signature */
#define SL_SALT_LEN 16          /* per-event payload salt */
#define SL_ID_LEN 16            /* entity id: first bytes of creating hash */
#define SL_MAX_PARENTS 16       /* entity heads an event may name */
#define SL_AUTHOR_MAX 64        /* bytes of UTF-8 */
#define SL_TYPE_MAX 64          /* bytes, [a-z0-9._-] */
#define SL_PAYLOAD_MAX 65536    /* bytes */
#define SL_HEADER_MAX 1024      /* an encoded header never exceeds this */
#define SL_EVENT_MAX (SL_PAYLOAD_MAX + SL_HEADER_MAX + 128)
/* A chain must carry a signature at least on every seq divisible by this. */
#define SL_SIGN_INTERVAL 256

/* Base32 text lengths (no padding) of the binary values above. */
#define SL_B32_LEN(n) (((n) * 8 + 4) / 5)
#define SL_NODE_ID_TEXT SL_B32_LEN(SL_KEY_LEN) /* 52 */
#define SL_ID_TEXT SL_B32_LEN(SL_ID_LEN)       /* 26 */

/*
 * Result codes.  New values go at the end; never renumber: they travel in
 * replies and are written in logs.  sl_strerror() maps each to a phrase.
 */
enum sl_result {
	SL_OK = 0,
	SL_ETRUNC,     /* input ends inside a value */
	SL_ETYPE,      /* a value has the wrong msgpack type */
	SL_EFIELDS,    /* an array has the wrong number of fields */
	SL_ETRAIL,     /* bytes follow the last value */
	SL_ESIZE,      /* a value is longer or larger than its limit */
	SL_ENONCANON,  /* a value is not in its shortest encoding */
	SL_EVALUE,     /* a value is out of its domain (seq 0, bad UTF-8...) */
	SL_EVERSION,   /* unknown format version */
	SL_EPAYLOAD,   /* payload does not match the header's payload hash */
	SL_ECHAIN,     /* prev does not match the previous event's hash */
	SL_EGAP,       /* events are missing before this one */
	SL_ESIG,       /* a signature does not verify */
	SL_EUNSIGNED,  /* an event is not covered by a signature */
	SL_EFORK,      /* a second, different event for an existing seq */
	SL_ESTORE,     /* the storage engine failed (see the log) */
	SL_ENOMEM,     /* out of memory */
	SL_EORIGIN,    /* event's origin does not match its place */
	SL_EIO,        /* a file could not be read or written */
	SL_EEXIST,     /* the thing to create exists already */
	SL_ENOENT,     /* the thing asked for does not exist */
	SL_EINVAL,     /* an argument is invalid */
	SL_EFULL,      /* storage is full and cannot grow */
	SL_ERETRY,     /* storage grew: replay the operation */
	SL_EUSAGE,     /* a request is malformed (wrong usage) */
	SL_EAMBIG,     /* an id prefix matches more than one record */
	SL_ESTATE,     /* the step is not allowed in the record's state */
	SL_RESULT_COUNT
};

/* Phrase for a result code; "unknown error" for values out of range. */
const char *sl_strerror(int code);

/* ---------------------------------------------------------------------------
 * Strict msgpack reader (mp.c)
 *
 * A cursor over a byte range.  Each sl_mp_read_* either consumes one value
 * of the expected type and returns SL_OK, or returns an SL_E* code and
 * leaves the cursor where it was.  Every length is bounds-checked before it
 * is used, and every value must be in its shortest encoding (SL_ENONCANON
 * otherwise), so that one logical value has exactly one byte string.
 */
struct sl_mp {
	const uint8_t *p;
	const uint8_t *end;
};

void sl_mp_init(struct sl_mp *r, const void *buf, size_t len);
/* Reads an array header; *n is its element count, at most max. */
int sl_mp_read_array(struct sl_mp *r, uint32_t *n, uint32_t max);
int sl_mp_read_uint(struct sl_mp *r, uint64_t *v);
/* Bin of length in [min, max]; *data borrows the buffer. */
int sl_mp_read_bin(struct sl_mp *r, const uint8_t **data, uint32_t *len,
    uint32_t min, uint32_t max);
/* Str of length in [min, max] bytes; UTF-8 is not checked here. */
int sl_mp_read_str(struct sl_mp *r, const char **s, uint32_t *len,
    uint32_t min, uint32_t max);
/* Reads a map header; *n is its pair count, at most max. */
int sl_mp_read_map(struct sl_mp *r, uint32_t *n, uint32_t max);
int sl_mp_read_bool(struct sl_mp *r, bool *v);
/* Skips one value of any type (nesting at most 16 deep); start and len
 * (may be NULL) receive its raw bytes.  Not canonical-checked. */
int sl_mp_skip(struct sl_mp *r, const uint8_t **start, size_t *len);
/* True (and consumes it) if the next value is nil; false otherwise. */
bool sl_mp_read_nil(struct sl_mp *r);
/* True if the next byte starts a nil; does not consume. */
bool sl_mp_peek_nil(const struct sl_mp *r);
/* True if every byte has been consumed. */
bool sl_mp_at_end(const struct sl_mp *r);

/* The n-byte (n <= 8) big-endian unsigned integer at p. */
uint64_t sl_get_be(const uint8_t *p, int n);

/*
 * A growable byte buffer, usable as msgpack-c's write callback
 * (msgpack_packer_init(&pk, &buf, sl_buf_write)).  Starts zeroed; the
 * owner frees p.  On allocation failure p is freed and set to NULL and
 * every later write fails, so one check at the end is enough.
 */
struct sl_buf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

int sl_buf_write(void *buf, const char *data, size_t len);

/* msgpack-c packs a str or bin as a header call and a body call; these
 * do both. */
static inline void
sl_pack_str(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static inline void
sl_pack_cstr(msgpack_packer *pk, const char *s)
{
	sl_pack_str(pk, s, strlen(s));
}

static inline void
sl_pack_bin(msgpack_packer *pk, const void *p, size_t n)
{
	msgpack_pack_bin(pk, n);
	msgpack_pack_bin_body(pk, p, n);
}

static inline void
sl_pack_bool(msgpack_packer *pk, bool v)
{
	if (v)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

/* True if s[0..len) is well-formed UTF-8 without C0 controls or DEL. */
bool sl_utf8_valid(const char *s, size_t len);

/* ---------------------------------------------------------------------------
 * Crypto (crypto.c): Ed25519 through libsodium; SHA-256 through OpenSSL
 * (hash.c, the daemon) or libsodium (hash_sodium.c, the CLI).
 */

/* Must be called once before keys, signatures or randomness are used
 * (libsodium); 0 or -1.  SHA-256 sets itself up on first use. */
int sl_crypto_init(void);
/* Frees the SHA-256 state (hash.c). */
void sl_crypto_shutdown(void);
/* out = SHA-256(a || b); b may be NULL with blen 0. */
void sl_sha256_2(uint8_t out[SL_HASH_LEN], const void *a, size_t alen,
    const void *b, size_t blen);
void sl_sha256(uint8_t out[SL_HASH_LEN], const void *data, size_t len);
/* Fills buf with len bytes from the OS's CSPRNG. */
void sl_random(void *buf, size_t len);
/* Fills buf with len unpredictable bytes: a ChaCha20 stream keyed by 32
 * fresh bytes from the OS.  One system call whatever len is, where the
 * OS interface hands out 256 bytes per call. */
void sl_random_stream(void *buf, size_t len);

struct sl_key {
	uint8_t pub[SL_KEY_LEN];
	uint8_t secret[SL_SECRET_LEN];
};

/* Derives a key pair from a 32-byte seed. */
void sl_key_from_seed(struct sl_key *k, const uint8_t seed[SL_SEED_LEN]);
/* Generates a new key pair; seed_out (may be NULL) receives its seed. */
void sl_key_generate(struct sl_key *k, uint8_t seed_out[SL_SEED_LEN]);
/* Wipes the secret. */
void sl_key_wipe(struct sl_key *k);
/* Overwrites len bytes at p with zeros in a way the compiler keeps. */
void sl_wipe(void *p, size_t len);
/* Signs an event hash (with the event domain prefix, see PROTOCOL.md). */
void sl_sign_hash(uint8_t sig[SL_SIG_LEN], const struct sl_key *k,
    const uint8_t hash[SL_HASH_LEN]);
/* True if sig is origin's signature over hash. */
bool sl_verify_hash(const uint8_t sig[SL_SIG_LEN],
    const uint8_t origin[SL_KEY_LEN], const uint8_t hash[SL_HASH_LEN]);
/* The same for the hash of an audit bundle's statement (its own domain
 * prefix, PROTOCOL.md section 13). */
void sl_sign_audit(uint8_t sig[SL_SIG_LEN], const struct sl_key *k,
    const uint8_t hash[SL_HASH_LEN]);
bool sl_verify_audit(const uint8_t sig[SL_SIG_LEN],
    const uint8_t signer[SL_KEY_LEN], const uint8_t hash[SL_HASH_LEN]);

/* ---------------------------------------------------------------------------
 * Base32 (base32.c): lowercase, alphabet 0-9 a-z without i l o u, no
 * padding.  Decoding accepts either case and nothing else.
 */

/* Writes SL_B32_LEN(len) characters and a NUL to out (size >= that + 1). */
void sl_b32_encode(char *out, const uint8_t *data, size_t len);
/* Decodes exactly SL_B32_LEN(len) characters of text into out[len].
 * Returns false on a wrong length, a character outside the alphabet or
 * nonzero trailing bits. */
bool sl_b32_decode(uint8_t *out, size_t len, const char *text);
/* True if every character of text[0..n) is in the alphabet. */
bool sl_b32_valid_prefix(const char *text, size_t n);

/* ---------------------------------------------------------------------------
 * Hybrid logical clock: milliseconds since the epoch << 16 | counter.
 * Ordered as one unsigned integer.
 */
#define SL_HLC_MS(h) ((h) >> 16)
#define SL_HLC_COUNT(h) ((h)&0xffff)

/* The next local clock value after last, given the wall clock now_ms:
 * max(now_ms << 16, last + 1). */
uint64_t sl_hlc_next(uint64_t last, uint64_t now_ms);
/* Wall clock in milliseconds since the epoch. */
uint64_t sl_now_ms(void);
/* Formats an HLC as RFC 3339 UTC with milliseconds into out (>= 25 bytes). */
void sl_hlc_format(char *out, size_t outlen, uint64_t hlc);

/* Packs n bytes (a key, id or hash) as their base32 text, and a clock as
 * its RFC 3339 time: how replies and reports show them. */
static inline void
sl_pack_b32(msgpack_packer *pk, const uint8_t *b, size_t n)
{
	char t[SL_B32_LEN(64) + 1];

	sl_b32_encode(t, b, n);
	sl_pack_cstr(pk, t);
}

static inline void
sl_pack_time(msgpack_packer *pk, uint64_t hlc)
{
	char t[40];

	sl_hlc_format(t, sizeof t, hlc);
	sl_pack_cstr(pk, t);
}

/* ---------------------------------------------------------------------------
 * Events (event.c)
 *
 * A stored or transmitted event is a *record*:
 *     [ header: bin, sig: bin(64) | nil, body: [salt: bin(16), payload: bin] | nil ]
 * and the header bin holds the canonical encoding of
 *     [ version, origin, seq, prev, hlc, author, type, entity, parents,
 *       payload_hash ]
 * The event hash is SHA-256 over the header bytes alone.  PROTOCOL.md has
 * the exact rules and worked examples.
 */

/* What a writer supplies; the store fills in origin, seq, prev and hlc. */
struct sl_event_draft {
	const char *author;       /* local user name, UTF-8 */
	const char *type;         /* e.g. "org.created" */
	const uint8_t *entity;    /* SL_ID_LEN bytes, or NULL (creating event) */
	const uint8_t (*parents)[SL_HASH_LEN]; /* n_parents hashes, sorted */
	uint32_t n_parents;
	const uint8_t *payload;   /* msgpack bytes, opaque here */
	uint32_t payload_len;
};

/* A decoded record.  Every pointer borrows the buffer given to
 * sl_event_decode and lives as long as it does. */
struct sl_event {
	const uint8_t *rec;
	size_t rec_len;
	const uint8_t *hdr;
	size_t hdr_len;
	uint64_t version;
	const uint8_t *origin;       /* SL_KEY_LEN */
	uint64_t seq;                /* >= 1 */
	const uint8_t *prev;         /* SL_HASH_LEN, NULL iff seq == 1 */
	uint64_t hlc;
	const char *author;          /* not NUL-terminated */
	uint32_t author_len;
	const char *type;            /* not NUL-terminated */
	uint32_t type_len;
	const uint8_t *entity;       /* SL_ID_LEN or NULL */
	uint32_t n_parents;
	const uint8_t *parents[SL_MAX_PARENTS]; /* each SL_HASH_LEN */
	const uint8_t *payload_hash; /* SL_HASH_LEN */
	const uint8_t *sig;          /* SL_SIG_LEN or NULL */
	const uint8_t *salt;         /* SL_SALT_LEN, NULL if erased */
	const uint8_t *payload;      /* NULL if erased */
	uint32_t payload_len;
};

/* Header fields the encoder needs besides the draft. */
struct sl_header_in {
	const uint8_t *origin;       /* SL_KEY_LEN */
	uint64_t seq;
	const uint8_t *prev;         /* NULL iff seq == 1 */
	uint64_t hlc;
	const uint8_t *payload_hash;
};

/*
 * Validates a draft's fields against the format's limits (author UTF-8 and
 * length, type characters, parent count and order, payload size).
 * Returns SL_OK or SL_EVALUE / SL_ESIZE.
 */
int sl_draft_check(const struct sl_event_draft *d);

/*
 * Encodes a canonical header into out (capacity SL_HEADER_MAX).  The draft
 * must have passed sl_draft_check.  Returns the number of bytes written.
 */
size_t sl_header_encode(uint8_t *out, const struct sl_event_draft *d,
    const struct sl_header_in *h);

/*
 * Encodes a record around an encoded header.  sig and salt/payload may be
 * NULL (unsigned; erased).  out must hold sl_record_size() bytes.
 * Returns the number of bytes written.
 */
size_t sl_record_size(size_t hdr_len, bool has_body, size_t payload_len);
size_t sl_record_encode(uint8_t *out, const uint8_t *hdr, size_t hdr_len,
    const uint8_t *sig, const uint8_t *salt, const uint8_t *payload,
    size_t payload_len);

/*
 * Decodes a record strictly: every field present with its type, within
 * its limits, in canonical form, and nothing after it.  Does not check
 * hashes or signatures.  Returns SL_OK or the first error found.
 */
int sl_event_decode(struct sl_event *ev, const uint8_t *buf, size_t len);

/* SHA-256 of the event's header bytes. */
void sl_event_hash(uint8_t out[SL_HASH_LEN], const struct sl_event *ev);
/* Payload hash of salt || payload. */
void sl_payload_hash(uint8_t out[SL_HASH_LEN], const uint8_t *salt,
    const uint8_t *payload, size_t len);
/* SL_OK if the body is erased or matches payload_hash, else SL_EPAYLOAD. */
int sl_event_check_payload(const struct sl_event *ev);
/* Entity id of the record an event creates: first SL_ID_LEN hash bytes. */
void sl_entity_id(uint8_t out[SL_ID_LEN], const uint8_t hash[SL_HASH_LEN]);

/* ---------------------------------------------------------------------------
 * Control frames (frame.c): a 12-byte header then a msgpack body.
 *
 *     version u8 | type u8 | flags u16 (0) | request id u32 | length u32
 *
 * all big-endian.  A request gets any number of RECORD frames, then END,
 * then exactly one RESULT.  See PROTOCOL.md, "Control socket".
 */
/* Audit bundles (PROTOCOL.md section 13): the file starts with the magic,
 * then [statement: bin, sig: bin(64)].  A statement larger than
 * SL_AUDIT_STATEMENT_MAX is refused at both ends. */
#define SL_AUDIT_MAGIC "samlog-audit-1\n"
#define SL_AUDIT_MAGIC_LEN 15
#define SL_AUDIT_VERSION 1
#define SL_AUDIT_STATEMENT_MAX (256u << 20)

#define SL_FRAME_HDR 12
#define SL_CTL_VERSION 1
#define SL_CTL_FRAME_MAX (1u << 20) /* body bytes */
#define SL_CTL_SOCKET "samlogd.sock"
/* Where the systemd service puts it (RuntimeDirectory=samlog). */
#define SL_SYSTEM_SOCKET "/run/samlog/samlogd.sock"

enum sl_msg {
	SL_MSG_REQUEST = 1, /* {"cmd": str, "args": map} */
	SL_MSG_RECORD,      /* one record or row: a map */
	SL_MSG_END,         /* no more records: nil */
	SL_MSG_RESULT,      /* {"code": uint, "message": str, ...} */
	SL_MSG_COUNT
};

struct sl_frame_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t id;
	uint32_t len;
};

void sl_frame_hdr_encode(uint8_t out[SL_FRAME_HDR],
    const struct sl_frame_hdr *h);
/* SL_OK, or SL_EVERSION / SL_ETYPE / SL_EVALUE (flags) / SL_ESIZE (len >
 * max). */
int sl_frame_hdr_decode(struct sl_frame_hdr *h, const uint8_t in[SL_FRAME_HDR],
    uint32_t max);
/* The same for a protocol with ntypes message types (1..ntypes-1). */
int sl_frame_hdr_decode_n(struct sl_frame_hdr *h,
    const uint8_t in[SL_FRAME_HDR], uint32_t max, unsigned ntypes);
/* Name of a message type, "unknown" out of range. */
const char *sl_msg_name(int type);

/*
 * Peer protocol (see PROTOCOL.md, "Sync"): the same 12-byte frame header
 * inside TLS 1.3, id always 0, with these message types.
 */
#define SL_PEER_VERSION 1
#define SL_PEER_FRAME_MAX (1u << 20) /* body bytes */
#define SL_PEER_PORT 7420            /* the default listening port */

enum sl_peer_msg {
	SL_PEER_HELLO = 1, /* {"version": uint, "org": str, "vector": VEC} */
	SL_PEER_HAVE,      /* VEC: origins wanted and held since the last */
	SL_PEER_EVENTS,    /* [record bin, ...]: one origin, consecutive seqs */
	SL_PEER_PING,      /* nil: keepalive */
	SL_PEER_BYE,       /* {"reason": str}: closing, and why */
	SL_PEER_COUNT
};

/* ---------------------------------------------------------------------------
 * Node directory (node.c): the files `samlog init` writes and samlogd reads.
 *
 *     DIR/            mode 0700
 *     DIR/node.key    mode 0600, the Ed25519 seed in base32
 *     DIR/samlog.conf mode 0600, key = value lines
 *     DIR/store/      the LMDB environment (made by samlogd)
 */
#define SL_NODE_KEY_FILE "node.key"
#define SL_NODE_CONF_FILE "samlog.conf"
#define SL_NODE_STORE_DIR "store"
#define SL_ORG_MAX 200 /* bytes of an organisation's name */

/*
 * Resolves the node directory: explicit (if non-NULL), else $SAMLOG_DIR,
 * else $XDG_DATA_HOME/samlog, else $HOME/.local/share/samlog.  Returns a
 * string the caller frees, or NULL if none can be determined.
 */
char *sl_node_dir_resolve(const char *explicit_dir);

/*
 * Creates a node in dir: the directory (and missing parents), a fresh key
 * and a config naming org.  Refuses with SL_EEXIST if dir already holds a
 * node key or config.  On success fills node_id (SL_NODE_ID_TEXT + 1
 * bytes).  On failure writes a reason into err and removes what it made.
 */
int sl_node_create(const char *dir, const char *org, char *node_id,
    char *err, size_t errlen);

/*
 * Loads the key of the node in dir into k.  Refuses a key file that other
 * users may read.  Returns SL_OK, or an error with a reason in err.
 */
int sl_node_load_key(const char *dir, struct sl_key *k, char *err,
    size_t errlen);

/* True if name is a valid organisation name: 1..SL_ORG_MAX bytes of
 * UTF-8 without control characters, not starting or ending with a space. */
bool sl_org_valid(const char *name);

/* ---------------------------------------------------------------------------
 * Peer frame bodies (peer_wire.c): pure functions with no session state,
 * used by samlogd's frame handlers and driven by the fuzzer.  A VECTOR is
 * [[origin bin(32), seq uint, tip hash bin(32)], ...].  The decoders
 * return SL_OK or the first decoding error, hand out pointers into the
 * frame (valid as long as it is) and trust nothing before they accept it.
 */

#define SL_PEER_VECTOR_MAX 4096 /* entries of a VECTOR */
#define SL_PEER_BYE_MAX 180     /* bytes of a BYE's reason */

/* Called per vector entry; a return other than SL_OK stops the decoding
 * and is returned. */
typedef int (*sl_peer_vec_fn)(void *ctx, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq, const uint8_t hash[SL_HASH_LEN]);
/* A VECTOR of at most SL_PEER_VECTOR_MAX entries, fn called on each in
 * order.  What follows it is left to the caller (HAVE: nothing). */
int sl_wire_vector(struct sl_mp *r, sl_peer_vec_fn fn, void *ctx);

struct sl_peer_hello {
	uint64_t version;         /* 0 if absent */
	char org[SL_ORG_MAX + 1]; /* "" if absent or not UTF-8 */
	bool have_vec;            /* the vector was there (fn saw it) */
};
/* HELLO's map (at most 16 keys); unknown keys are skipped (a later
 * version's), a second "vector" too.  Trailing bytes are the caller's to
 * refuse. */
int sl_wire_hello(struct sl_mp *r, struct sl_peer_hello *out,
    sl_peer_vec_fn fn, void *ctx);
/* EVENTS after its array header: n records of 1..SL_EVENT_MAX bytes into
 * recs/lens (borrowed), then the end of the body (SL_ETRAIL if not). */
int sl_wire_records(struct sl_mp *r, uint32_t n, const uint8_t **recs,
    size_t *lens);
/* BYE's reason (valid UTF-8, at most SL_PEER_BYE_MAX bytes) into why,
 * or "no reason given"; never fails. */
void sl_wire_bye(struct sl_mp *r, char *why, size_t len);
/* A record's origin (borrowed), seq and whether it carries a signature,
 * from the start of its header alone: false if that much does not
 * decode.  Nothing is verified; sl_event_decode does the rest. */
bool sl_wire_peek(const uint8_t *rec, size_t len, const uint8_t **origin,
    uint64_t *seq, bool *is_signed);

/* HELLO of this version for org, up to the header of its vector: the
 * caller packs nvec entries next. */
void sl_wire_pack_hello(msgpack_packer *pk, const char *org, uint32_t nvec);
/* One vector entry (HELLO's or HAVE's; HAVE's array header is the
 * caller's). */
void sl_wire_pack_entry(msgpack_packer *pk, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq, const uint8_t hash[SL_HASH_LEN]);
/* EVENTS: the n records as they are. */
void sl_wire_pack_events(msgpack_packer *pk, const uint8_t *const *recs,
    const size_t *lens, size_t n);
/* BYE with why, cut to SL_PEER_BYE_MAX bytes. */
void sl_wire_pack_bye(msgpack_packer *pk, const char *why);

#endif /* SAMLOG_PROTO_H */
