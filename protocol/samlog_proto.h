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
#define SL_FSALT_LEN 16         /* per-field salt of a committed field */
#define SL_OPENS_MAX 15         /* committed fields in one event */
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
	SL_EPERM,      /* the client lacks the right (the node owner's) */
	SL_ESCHEMA,    /* an event breaks the record schema (PROTOCOL.md 11) */
	SL_ECLOCK,     /* an event's clock does not rise along its chain */
	SL_RESULT_COUNT
};

/* Writes why a content rule refuses something into w (if w is not NULL)
 * and returns SL_ESCHEMA: the one way the rules say why. */
int sl_why(char *w, size_t wlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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
/* True if the next value starts as a map (does not consume). */
bool sl_mp_is_map(const struct sl_mp *r);
/*
 * Reads one value strictly (canonical nil, bool, unsigned integer, UTF-8
 * str, bin, array, map with str keys; at most depth levels) and packs it
 * again into pk: what replies carry instead of the stored bytes, so
 * nothing but decoded values reaches a client.  On an error nothing is
 * consumed, but pk may hold part of the value: pack into a scratch
 * buffer when that matters.
 */
int sl_mp_repack(struct sl_mp *r, msgpack_packer *pk, int depth);

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
/* The same for the hash of a device certificate's statement (its own
 * domain prefix, PROTOCOL.md 12.3). */
void sl_sign_cert(uint8_t sig[SL_SIG_LEN], const struct sl_key *k,
    const uint8_t hash[SL_HASH_LEN]);
bool sl_verify_cert(const uint8_t sig[SL_SIG_LEN],
    const uint8_t signer[SL_KEY_LEN], const uint8_t hash[SL_HASH_LEN]);

/* ---------------------------------------------------------------------------
 * Base32 (base32.c): lowercase, alphabet 0-9 a-z without i l o u, no
 * padding.  Decoding accepts either case and nothing else.
 */

/* Writes 2 * len lowercase hex digits and a NUL to out. */
void sl_hex_encode(char *out, const uint8_t *data, size_t len);
/* Writes SL_B32_LEN(len) characters and a NUL to out (size >= that + 1). */
void sl_b32_encode(char *out, const uint8_t *data, size_t len);
/* Decodes exactly SL_B32_LEN(len) characters of text into out[len].
 * Returns false on a wrong length, a character outside the alphabet or
 * nonzero trailing bits. */
bool sl_b32_decode(uint8_t *out, size_t len, const char *text);
/* True if every character of text[0..n) is in the alphabet. */
bool sl_b32_valid_prefix(const char *text, size_t n);

/*
 * A key's fingerprint (PROTOCOL.md 14.3): the first SL_FPR_TEXT
 * characters of its node id, what an auditor pins and reads aloud.
 * sl_fingerprint writes it and a NUL.  sl_fingerprint_valid: text[0..n)
 * is a fingerprint or a longer prefix of a node id (SL_FPR_TEXT to
 * SL_NODE_ID_TEXT characters of the alphabet, either case).
 * sl_fingerprint_match: such a text is a prefix of key's node id.
 */
#define SL_FPR_TEXT 16
void sl_fingerprint(char out[SL_FPR_TEXT + 1], const uint8_t key[SL_KEY_LEN]);
bool sl_fingerprint_valid(const char *text, size_t n);
bool sl_fingerprint_match(const char *text, size_t n,
    const uint8_t key[SL_KEY_LEN]);

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
	/* The openings of its committed fields (an array, see
	 * sl_seal_payload), or NULL: payload_len + opens_len <=
	 * SL_PAYLOAD_MAX. */
	const uint8_t *opens;
	uint32_t opens_len;
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
	/* The openings of committed fields: the raw array (its header
	 * included), NULL when the body has none (PROTOCOL.md 5.1). */
	const uint8_t *opens;
	uint32_t opens_len;
	uint32_t n_opens;
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
/* The same with the openings of committed fields (opens NULL or an
 * array of 1..SL_OPENS_MAX openings); the size counts opens_len. */
size_t sl_record_encode_opens(uint8_t *out, const uint8_t *hdr,
    size_t hdr_len, const uint8_t *sig, const uint8_t *salt,
    const uint8_t *payload, size_t payload_len, const uint8_t *opens,
    size_t opens_len);
/* A decoded record encoded again with its signature and the openings
 * in opens (NULL: none) in place of its own; out holds SL_EVENT_MAX. */
size_t sl_record_reopen(uint8_t *out, const struct sl_event *ev,
    const uint8_t *opens, size_t opens_len);

/*
 * Decodes a record strictly: every field present with its type, within
 * its limits, in canonical form, and nothing after it.  Does not check
 * hashes or signatures.  Returns SL_OK or the first error found.
 */
int sl_event_decode(struct sl_event *ev, const uint8_t *buf, size_t len);
/* Decodes a header alone (len bytes, at most SL_HEADER_MAX) into ev's
 * header fields; rec, sig and the body are NULL.  The same checks. */
int sl_header_decode(struct sl_event *ev, const uint8_t *hdr, size_t len);

/* SHA-256 of the event's header bytes. */
void sl_event_hash(uint8_t out[SL_HASH_LEN], const struct sl_event *ev);
/* Payload hash of salt || payload. */
void sl_payload_hash(uint8_t out[SL_HASH_LEN], const uint8_t *salt,
    const uint8_t *payload, size_t len);
/* SL_OK if the body is erased or matches payload_hash, and every opening
 * opens the commitment its key holds in the payload (PROTOCOL.md 5.1);
 * else SL_EPAYLOAD. */
int sl_event_check_payload(const struct sl_event *ev);

/*
 * Field commitments (PROTOCOL.md 5.1).  A personal field of a record
 * event may travel committed: its payload value is the bin(32)
 * SHA-256("samlog/field/v1" || fsalt || len(key) || key || value), and the
 * body carries its opening [key, fsalt, value].  Dropping the opening
 * erases the value; the payload, its hash, the header and every signature
 * stay as they were.
 */
void sl_field_commit(uint8_t out[SL_HASH_LEN], const uint8_t *fsalt,
    const char *key, size_t klen, const uint8_t *v, size_t vlen);
/* True if v (one msgpack value) is a commitment: a bin of 32 bytes. */
bool sl_is_commitment(const uint8_t *v, size_t vlen);
/* Reads the next opening of an openings array (after its header). */
int sl_opening_read(struct sl_mp *m, const char **key, uint32_t *klen,
    const uint8_t **fsalt, const uint8_t **v, size_t *vlen);
/* The opened value of key in ev: SL_OK, or SL_ENOENT (no such opening:
 * erased, or never committed). */
int sl_event_opening(const struct sl_event *ev, const char *key,
    uint32_t klen, const uint8_t **v, size_t *vlen);
/* Packs the payload as readers see it: a map, committed fields opened,
 * erased ones nil (an empty map for a body that is gone or no map). */
int sl_event_pack_changes(msgpack_packer *pk, const struct sl_event *ev);
/* The keys of ev's erased fields (committed, no opening): how many, the
 * first max of them into keys/klens. */
uint32_t sl_event_erased(const struct sl_event *ev, const char **keys,
    uint32_t *klens, uint32_t max);
/*
 * Seals a canonical payload map: every entry whose key is in personal
 * (n names) is replaced by its commitment and its opening appended to
 * opens (an array, empty buffer when none).  fsalts: SL_FSALT_LEN bytes
 * per sealed field in key order, or NULL to draw them at random (in one
 * call, at the first field sealed).  SL_OK,
 * SL_EINVAL (not a map), SL_ENOMEM.
 */
int sl_seal_payload(const uint8_t *plain, size_t plen,
    bool (*personal)(void *ctx, const char *key, size_t klen), void *ctx,
    const uint8_t *fsalts, struct sl_buf *payload, struct sl_buf *opens);
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
#define SL_AUDIT_VERSION 2 /* 1: no list of missing parents */
#define SL_AUDIT_STATEMENT_MAX (256u << 20)

/* ---------------------------------------------------------------------------
 * Raw event exports (evfile.c, PROTOCOL.md section 14): the magic, a
 * head [version, time, since_hlc, since_seq, origins], the records as
 * stored, each a bin, and a trailer [count, SHA-256 of all bytes before
 * it].  Pure functions: the daemon writes, the CLI reads.
 */
#define SL_EVFILE_MAGIC "samlog-events-1\n"
#define SL_EVFILE_MAGIC_LEN 16
#define SL_EVFILE_VERSION 1
#define SL_EVFILE_MAX ((size_t)1 << 30)  /* bytes a reader takes */

/* One origin of the head: the first seq in the file and the exporter's
 * tip.  The pointers borrow SL_KEY_LEN and SL_HASH_LEN bytes. */
struct sl_evfile_origin {
	const uint8_t *origin;
	uint64_t first, tip;
	const uint8_t *tip_hash;
};

/* Writing: the magic and head into an empty out, then each record, then
 * the trailer, which hashes everything out holds.  out->failed says if
 * memory ran out. */
void sl_evfile_begin(struct sl_buf *out, uint64_t time_ms, uint64_t since_hlc,
    uint64_t since_seq, const struct sl_evfile_origin *o, uint32_t n);
void sl_evfile_record(struct sl_buf *out, const uint8_t *rec, size_t len);
void sl_evfile_end(struct sl_buf *out, uint64_t count);

struct sl_evfile_rec {
	const uint8_t *p;
	uint32_t len;
	size_t at;           /* offset of its bin in the file */
};

/* A parsed file.  Pointers borrow the buffer given to sl_evfile_parse;
 * origins and recs are allocated (sl_evfile_free). */
struct sl_evfile {
	uint64_t version, time_ms, since_hlc, since_seq;
	struct sl_evfile_origin *origins; /* ascending by key */
	uint32_t norigins;
	struct sl_evfile_rec *recs;       /* in file order, not decoded */
	uint32_t nrecs;
	uint64_t count;                   /* the trailer's */
	bool hash_ok;                     /* the trailer's hash matches */
};

/*
 * Reads the frame of a file strictly: magic, head, records as bins,
 * trailer, nothing after.  Records are not decoded (sl_event_decode);
 * a trailer whose count or hash disagrees is reported through f, not
 * refused.  SL_OK, or an error with one sentence in err (a file that is
 * no export, cut short, or does not decode); f is then to be freed too.
 */
int sl_evfile_parse(struct sl_evfile *f, const uint8_t *buf, size_t len,
    char *err, size_t errlen);
void sl_evfile_free(struct sl_evfile *f);

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
/* A sender ends an EVENTS frame on the first signed event at or past
 * either: a frame that reaches one (a full frame) says more follows. */
#define SL_PEER_FULL_EVENTS 4096
#define SL_PEER_FULL_BYTES (768u << 10) /* records, 5 bytes each counted */
#define SL_PEER_PORT 7420            /* the default listening port */

enum sl_peer_msg {
	SL_PEER_HELLO = 1, /* {"version": uint, "org": str, "vector": VEC} */
	SL_PEER_HAVE,      /* VEC: origins wanted and held since the last */
	SL_PEER_EVENTS,    /* [record bin, ...]: one origin, consecutive seqs */
	SL_PEER_PING,      /* nil: keepalive */
	SL_PEER_BYE,       /* {"reason": str}: closing, and why */
	SL_PEER_JOIN,      /* {"name": str, "secret": bin(16)}: a newcomer's
			      first frame (12.2) */
	SL_PEER_WANT,      /* VEC of at most SL_PEER_WANT_MAX: held events
			      whose openings are missing (5.1) */
	SL_PEER_WHOLE,     /* [record bin, ...]: whole copies of held events,
			      answering WANT */
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
/* The same for a key file anywhere (an organisation key kept apart). */
int sl_key_load_file(const char *path, struct sl_key *k, char *err,
    size_t errlen);
/* Writes k's seed to path (created 0600 with O_EXCL, synced): SL_OK,
 * SL_EEXIST if path exists, or SL_EIO with a reason in err. */
int sl_key_save_file(const char *path, const struct sl_key *k,
    const uint8_t seed[SL_SEED_LEN], char *err, size_t errlen);

/* True if name is a valid organisation name: 1..SL_ORG_MAX bytes of
 * UTF-8 without control characters, not starting or ending with a space. */
bool sl_org_valid(const char *name);

/* ---------------------------------------------------------------------------
 * The record schema (schema.c): every record kind, its fields with their
 * types and limits, the event types that create and change records, and
 * the lifecycles.  It is data: validation (at local write and at ingest),
 * the fold (record.c), the projections' indexes, replies and the CLI's
 * flags all read this one table.  PROTOCOL.md section 11 states it.
 */
enum sl_ftype {
	SL_F_TEXT,      /* str: UTF-8, no controls but \n and \t, trimmed */
	SL_F_EMAIL,     /* a TEXT with one @ inside and no space */
	SL_F_DATE,      /* str YYYY-MM-DD, a real day from 1900 on */
	SL_F_ENUM,      /* str, one of values */
	SL_F_BOOL,      /* true or false */
	SL_F_REF,       /* str: the 26-character id of a record of a kind in
			   ref */
	SL_F_REFS,      /* array of REF, no repeats */
	SL_F_TEXTS,     /* array of TEXT, no repeats */
	SL_F_STATE,     /* str: the lifecycle state, set by the fold */
	SL_F_KEY,       /* str: a signing key, 52 characters of base32 */
	SL_F_SEQ,       /* a positive integer: a seq of a chain */
	SL_F_TIPS,      /* a checkpoint's tips (checkpoint.c) */
	SL_F_SIG,       /* bin: an Ed25519 signature (64 bytes) */
	SL_F_CUTS,      /* array of [key bin32, seq], keys ascending
			   (member.c): the last seq of each device that
			   counts */
	SL_F_FORK,      /* a fork proof (forkproof.c) */
	SL_F_KEYS,      /* array of key bin32, ascending (member.c) */
	SL_F_APPROVALS, /* array of [key bin32, seq, CUTS, sig bin64],
			   keys ascending (member.c): members' approvals */
	SL_F_HASHES     /* array of 1..SL_ERASE_MAX event hashes bin32,
			   ascending (erasure.c) */
};

/* Field flags. */
#define SL_FF_REQUIRED 0x01  /* a creating event must carry it */
#define SL_FF_UPDATE   0x02  /* KIND.updated may set it */
#define SL_FF_INDEX    0x04  /* indexed: a list filter */
#define SL_FF_SORT     0x08  /* indexed: the kind's list order */
#define SL_FF_NULL     0x10  /* nil is a value (cleared / none given) */
#define SL_FF_TALLY    0x20  /* TEXTS: each "CATEGORY=N" (a headcount) */
#define SL_FF_NOFLAG   0x40  /* set only by its event types (archived) */
#define SL_FF_EFFECTIVE 0x80 /* a change that sets it takes effect on
				its day (a DATE) or its record's date (a
				REF: an action closed at a meeting) unless
				it says otherwise */
#define SL_FF_ZERO     0x100 /* SEQ: 0 is a value (none of the chain) */
#define SL_FF_PERSONAL 0x200 /* personal data: written committed, so that
				it can be erased alone (PROTOCOL.md 5.1) */

#define SL_SCHEMA_MAX_FIELDS 16
#define SL_FIELD_NAME_MAX 32  /* bytes of a payload key, known or not */
#define SL_LIST_MAX 64        /* elements of an array field */
#define SL_TEXT_MAX 200       /* bytes of a one-line text */
#define SL_LONGTEXT_MAX 20000 /* bytes of notes, decision texts, reasons */

struct sl_field {
	const char *name;        /* payload key = JSON key */
	const char *flag;        /* CLI flag (without --) */
	enum sl_ftype type;
	uint32_t max;            /* bytes of each text */
	const char *ref;         /* REF/REFS: the kinds referred to ("oc") */
	const char *const *values; /* ENUM: allowed values, NULL-terminated */
	const char *dflt;        /* shown when absent (ENUM), or NULL */
	unsigned flags;          /* SL_FF_* */
	/* What the value is, for the CLI's help: a noun phrase ("the
	 * person's name") that also reads after "only those where this
	 * is" (a list filter); for a BOOL, what true says. */
	const char *help;
};

struct sl_kind {
	char c;                  /* one byte, used in stored keys */
	const char *word;        /* "org", "contact", ... */
	bool record;             /* false: node announcements, not records */
	const struct sl_field *fields;
	uint32_t nfields;
	const char *const *states; /* lifecycle states (index 1..), or NULL */
	bool owned;              /* only the organisation that created a
				    record may change it at all (decisions:
				    the deciding organisation) */
};

enum sl_role { SL_ET_CREATE, SL_ET_UPDATE, SL_ET_STEP };

/* An event type: what it may carry and, for a step, from which states
 * (bit s for state s) to which state it leads. */
struct sl_evtype {
	const char *type;
	const char *verb;        /* the command: KIND VERB ("decision adopt") */
	const struct sl_kind *kind;
	enum sl_role role;
	uint32_t fields;         /* bit i: kind->fields[i] may be carried */
	uint32_t required;       /* bit i: must be carried */
	uint32_t from;           /* STEP: states it may leave */
	uint8_t to;              /* the state after it (CREATE, STEP) */
	uint8_t sets;            /* SL_SETS_*: the BOOL value it carries */
};
#define SL_SETS_TRUE 1       /* KIND.archived: archived is true */
#define SL_SETS_FALSE 2      /* KIND.restored: archived is false */
/* Does et count only from the organisation that created the record?
 * Every event of an owned kind (a decision), and archiving and
 * restoring any record: a member may correct a shared record, never
 * take it out of sight (PROTOCOL.md 11.6). */
bool sl_evtype_owner_only(const struct sl_evtype *et);
/* May et carry free text (a TEXT or TEXTS field)? */
bool sl_evtype_has_text(const struct sl_evtype *et);

/* Kinds: count, by index, by word ("contact"), by stored byte. */
size_t sl_schema_kind_count(void);
const struct sl_kind *sl_schema_kind_at(size_t i);
const struct sl_kind *sl_schema_kind(const char *word);
const struct sl_kind *sl_schema_kind_c(char c);
/* The field called name (n bytes) of kind k, or NULL; *idx its index. */
const struct sl_field *sl_schema_field(const struct sl_kind *k,
    const char *name, size_t n, uint32_t *idx);
/* The event type of type[0..n), or NULL for a type this version does not
 * know (such events are stored and relayed but change no record). */
const struct sl_evtype *sl_schema_evtype(const char *type, size_t n);
/* The event type of kind k made by command verb ("adopt"), or NULL. */
const struct sl_evtype *sl_schema_verb(const struct sl_kind *k,
    const char *verb);
/* Event types by index (NULL past the end). */
const struct sl_evtype *sl_schema_evtype_at(size_t i);
/* The step type of kind k that leads to state s, or NULL. */
const struct sl_evtype *sl_schema_step_to(const struct sl_kind *k,
    uint8_t s);
/* State index of name in k's lifecycle (1..), 0 if none. */
uint8_t sl_schema_state(const struct sl_kind *k, const char *name);
const char *sl_schema_state_name(const struct sl_kind *k, uint8_t s);

/*
 * Checks one value (msgpack bytes) against field f: type, limits, UTF-8,
 * controls.  SL_OK, or SL_ESCHEMA with why (a phrase without the field
 * name, e.g. "must not be empty") filled in.
 */
int sl_schema_check_value(const struct sl_field *f, const uint8_t *v,
    size_t len, char *why, size_t wlen);
/* The same for a text the user typed (no msgpack around it). */
int sl_schema_check_text(const struct sl_field *f, const char *s, size_t n,
    char *why, size_t wlen);

/*
 * The content rules of an event (PROTOCOL.md 11.2), applied to every
 * event a node writes and every event it accepts from a peer: the payload
 * is exactly one canonical map with ascending, unique keys of
 * [a-z][a-z0-9_]*; for a known type, entity and parents fit its role and
 * every field it may carry has its type, required ones are there, and a
 * state field names the state the type leads to.  payload NULL: the body
 * is erased (nothing to check).  SL_OK or SL_ESCHEMA with why filled in.
 */
int sl_schema_check_event(const char *type, size_t tlen,
    const uint8_t *entity, uint32_t n_parents, const uint8_t *payload,
    size_t plen, uint64_t hlc, char *why, size_t wlen);
/* The openings of an event's committed fields (PROTOCOL.md 5.1): each
 * names a personal field its type may carry, with a value that field
 * takes.  SL_OK or SL_ESCHEMA with why filled in. */
int sl_schema_check_opens(const char *type, size_t tlen,
    const uint8_t *opens, size_t olen, char *why, size_t wlen);
/* How far ahead of its own clock's day an event's "on" may be (11.5): a
 * meeting planned within a year, no further. */
#define SL_ON_AHEAD_DAYS 400

/* ---------------------------------------------------------------------------
 * The fold (record.c): the one code that turns a record's events into
 * the record, used by samlogd (live, per event, and when rebuilding),
 * by `samlog audit --check` and by the tests.
 *
 * An event of a record is *evaluated* once all its parents are settled:
 * a creating event at once; any other event once every parent it names
 * is held and, if that parent names the same record, evaluated (one
 * naming another record is settled by its header alone).  It then
 * *belongs* to the record if its type is of the record's kind, it names
 * at least one parent, all of them belong to the same record and all
 * have smaller clocks; otherwise it is IGNORED (no effect, anywhere).
 * A belonging step is APPLIED if sl_fold_step_allowed says so, else a
 * NOOP (it stays in the history and changes nothing, heads included).
 * Fields: per field, the APPLIED event with the greatest (effective
 * date, clock, origin) wins.  Heads: APPLIED events no APPLIED event names.  State: the
 * state after the head with the greatest (clock, origin).  Every step
 * depends only on an event and its causal past, so the result is the
 * same for any arrival order, and each event costs O(log n).
 */
/* How far ahead of the wall clock an event may be stamped and still be
 * folded at once, unless a node's max_skew says otherwise. */
#define SL_SKEW_DEFAULT_MS ((uint64_t)10 * 60 * 1000)

enum sl_ev_status {
	SL_EV_PENDING = 0,  /* waiting for a parent not (yet) held */
	SL_EV_APPLIED,
	SL_EV_NOOP,         /* belongs, but the step was not allowed */
	SL_EV_IGNORED,      /* does not belong to the record */
	SL_EV_FUTURE,       /* a node's own note, never a verdict: stamped
			       further ahead of its clock than the skew */
	SL_EV_STATUS_COUNT
};

/* Why an event is a NOOP or IGNORED (stored; sl_fold_why names it). */
enum sl_ev_why {
	SL_WHY_NONE = 0,
	SL_WHY_KIND,        /* its type is of another kind than the record */
	SL_WHY_NOPARENT,    /* names no parent */
	SL_WHY_FOREIGN,     /* a parent belongs to another record, or none */
	SL_WHY_CLOCK,       /* not later than a parent */
	SL_WHY_STEP,        /* the lifecycle does not allow the step */
	SL_WHY_AUTHORITY,   /* a record only its organisation may change
			       (a decision), changed by another */
	SL_WHY_CREATOR,     /* archived or restored by an organisation that
			       did not create the record */
	SL_WHY_COUNT
};
const char *sl_fold_status_name(int status);
/*
 * True if step et, made by origin self, may follow n parents in
 * states[i], made by origins[i], whose pasts went through the states
 * seens[i] (bit s for state s), parents[best] being the greatest by
 * (clock, origin).  When the greatest parent has seen every other
 * parent's state, the lifecycle must allow the step from its state.
 * Otherwise the parents are branches it did not know (a clash), and the
 * step must re-state one of them that no other went through and that
 * another origin made.  The fold and a node's local write both ask this.
 */
bool sl_fold_step_allowed(const struct sl_evtype *et, const uint8_t *states,
    const uint16_t *seens, const uint8_t (*origins)[SL_KEY_LEN], uint32_t n,
    uint32_t best, const uint8_t self[SL_KEY_LEN]);
const char *sl_fold_why(int why);

/* What the fold keeps of one event, keyed by its hash. */
struct sl_evmeta {
	uint8_t id[SL_ID_LEN];       /* the record it names or creates */
	uint64_t hlc;
	uint8_t origin[SL_KEY_LEN];
	uint64_t seq;
	uint8_t status;              /* enum sl_ev_status */
	uint8_t why;                 /* enum sl_ev_why */
	uint8_t state;               /* lifecycle state after it */
	char kind;                   /* its type's kind byte */
	uint16_t seen;               /* states its causal past went through
					(bit s for state s) */
	uint32_t order;              /* the day its values are ordered by:
					its effective day, or a parent's
					if later (11.5) */
	uint32_t eff;                /* its own effective day (not stored:
					the fold's, while it folds) */
	uint8_t owner[SL_KEY_LEN];   /* the organisation that created the
					record (11.6) */
};
#define SL_EVMETA_LEN (SL_ID_LEN + 8 + SL_KEY_LEN + 8 + 10 + SL_KEY_LEN)
void sl_evmeta_encode(uint8_t out[SL_EVMETA_LEN], const struct sl_evmeta *m);
void sl_evmeta_decode(struct sl_evmeta *m, const uint8_t in[SL_EVMETA_LEN]);

/* One field's winning value: owned bytes. */
struct sl_recfield {
	uint8_t *val;                /* msgpack bytes, malloc'd */
	uint32_t len;
	uint32_t eff;                /* its event's effective date (YYYYMMDD) */
	uint64_t hlc;
	uint8_t origin[SL_KEY_LEN];
};

/* A record as the fold leaves it.  sl_rec_free releases the values. */
struct sl_rec {
	uint8_t id[SL_ID_LEN];
	const struct sl_kind *kind;  /* NULL until its creating event */
	uint64_t c_hlc, u_hlc;       /* created; last event that belongs */
	uint32_t c_eff, w_eff;       /* effective dates (YYYYMMDD) of the
					creating event and the winning head */
	uint8_t c_origin[SL_KEY_LEN];
	char c_author[SL_AUTHOR_MAX + 1];
	uint32_t nheads;
	uint8_t state;               /* lifecycle state (0: none) */
	uint64_t w_hlc;              /* the winning head */
	uint8_t w_origin[SL_KEY_LEN];
	struct sl_recfield f[SL_SCHEMA_MAX_FIELDS]; /* by schema index */
};
void sl_rec_free(struct sl_rec *r);
/* True if field i holds a value (not absent, not cleared by nil, not
 * erased). */
bool sl_rec_has(const struct sl_rec *r, uint32_t i);
/* True if field i's winning value was erased (5.1): it holds the
 * commitment, and shows as nil. */
bool sl_rec_erased(const struct sl_rec *r, uint32_t i);
/* The value of field name (or NULL if absent or cleared). */
const struct sl_recfield *sl_rec_get(const struct sl_rec *r,
    const char *name);
/* Packs field i of r's kind as replies show it: the value decoded and
 * packed again, the state's name for the state field; when absent the
 * field's default, false, an empty list or nil.  Daemon replies and the
 * audit checker's report both use it, so they cannot differ. */
void sl_rec_pack_field(msgpack_packer *pk, const struct sl_rec *r,
    uint32_t i);
/* Canonical bytes of a record (for storing it); g is reset first.
 * sl_rec_decode fills r (which it owns afterwards) or returns an error. */
int sl_rec_encode(const struct sl_rec *r, struct sl_buf *g);
int sl_rec_decode(struct sl_rec *r, const uint8_t id[SL_ID_LEN],
    const uint8_t *buf, size_t len);

/*
 * Where the fold keeps its state: the daemon's backend writes LMDB
 * databases, the in-memory one (sl_fold_mem) serves the audit checker,
 * rebuilds and as-of queries.  Each returns SL_OK, SL_ENOENT where said,
 * or another code, which stops the fold and is returned.
 */
struct sl_fold_ops {
	int (*meta_get)(void *ctx, const uint8_t h[SL_HASH_LEN],
	    struct sl_evmeta *m);                      /* SL_ENOENT: unknown */
	int (*meta_put)(void *ctx, const uint8_t h[SL_HASH_LEN],
	    const struct sl_evmeta *m);
	/* child waits for parent; take removes and returns one child. */
	int (*wait_add)(void *ctx, const uint8_t parent[SL_HASH_LEN],
	    const uint8_t child[SL_HASH_LEN]);
	int (*wait_take)(void *ctx, const uint8_t parent[SL_HASH_LEN],
	    uint8_t child[SL_HASH_LEN]);               /* SL_ENOENT: none */
	/* Event h (whose meta m is pending), decoded; its bytes live until
	 * the next call. */
	int (*event_load)(void *ctx, const uint8_t h[SL_HASH_LEN],
	    const struct sl_evmeta *m, struct sl_event *ev);
	int (*rec_get)(void *ctx, const uint8_t id[SL_ID_LEN],
	    struct sl_rec *r);                         /* SL_ENOENT: none */
	/* May take r's values (leaving NULL in their place). */
	int (*rec_put)(void *ctx, struct sl_rec *r);
	int (*head_add)(void *ctx, const uint8_t id[SL_ID_LEN],
	    const uint8_t h[SL_HASH_LEN]);
	int (*head_del)(void *ctx, const uint8_t id[SL_ID_LEN],
	    const uint8_t h[SL_HASH_LEN]);             /* SL_ENOENT: no head */
	/* The organisation a signing key speaks for (11.6).  NULL: every
	 * key is an organisation of its own. */
	void (*org_of)(void *ctx, const uint8_t key[SL_KEY_LEN],
	    uint8_t org[SL_KEY_LEN]);
};

/*
 * Folds one event (and then every event that was waiting for it).  An
 * event already folded is folded again only to add fields its body
 * carries that were missing (a copy whose body was erased in transit).
 * Events of types the schema does not know, and node announcements, are
 * not record events: SL_OK, nothing done.
 */
int sl_fold_event(const struct sl_fold_ops *ops, void *ctx,
    const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN]);

/* The record an event is about: false if it is no record event. */
bool sl_fold_target(const struct sl_event *ev, const uint8_t hash[SL_HASH_LEN],
    uint8_t id[SL_ID_LEN], const struct sl_evtype **et);

/*
 * Erasures (erasure.c, PROTOCOL.md 5.2): an organisation's signed word
 * that personal fields of some events of one record are to be erased.
 */
#define SL_ERASE_TYPE "erasure"
#define SL_ERASE_MAX 1024    /* events one erasure names */
struct sl_erasure {
	uint8_t record[SL_ID_LEN];
	bool has_record;
	uint8_t decision[SL_ID_LEN]; /* a disposal decision, if has_decision */
	bool has_decision;
	const char *ground;          /* NULL if none; not NUL-terminated */
	uint32_t ground_len;
	uint32_t nfields;            /* 0: every personal field */
	const char *field[SL_OPENS_MAX];
	uint32_t field_len[SL_OPENS_MAX];
	uint32_t ntargets;
	const uint8_t *targets;      /* see sl_erasure_target */
};
/* Decodes an erasure's payload (pointers borrow it): SL_OK or
 * SL_ESCHEMA. */
int sl_erasure_decode(const uint8_t *payload, size_t plen,
    struct sl_erasure *e);
/* The hash of target i (< ntargets). */
const uint8_t *sl_erasure_target(const struct sl_erasure *e, uint32_t i);
/* Does the erasure erase field (n bytes)? */
bool sl_erasure_names(const struct sl_erasure *e, const char *field,
    size_t n);
/* The content rule of an erasure: SL_OK or SL_ESCHEMA with why. */
int sl_erasure_check(const uint8_t *payload, size_t plen, char *why,
    size_t wlen);
/* A HASHES value: SL_OK or SL_ESCHEMA with why. */
int sl_hashes_check(const uint8_t *v, size_t len, char *why, size_t wlen);

/*
 * Backup archives (tar.c): ustar headers.  sl_tar_header: a regular
 * file's header (name of 1..99 bytes); sl_tar_parse: SL_OK with name,
 * size and type ('0' a file), SL_ENOENT for an end block of zeros,
 * SL_EINVAL for anything else.
 */
#define SL_TAR_BLOCK 512
int sl_tar_header(uint8_t h[SL_TAR_BLOCK], const char *name, uint64_t size,
    unsigned mode, uint64_t mtime);
int sl_tar_parse(const uint8_t h[SL_TAR_BLOCK], char name[100],
    uint64_t *size, char *type);

/*
 * Checkpoints (checkpoint.c, PROTOCOL.md 15): a node's signed word of the
 * tips it holds, {"tips": [[origin bin(32), seq uint, hash bin(32)], ...]},
 * strictly ascending by origin.  SL_CKPT_MAX keeps the payload within
 * SL_PAYLOAD_MAX (a tip takes 77 bytes at most).
 */
#define SL_CKPT_MAX 512
#define SL_CKPT_TYPE "checkpoint"
struct sl_ckpt_tip {
	uint8_t origin[SL_KEY_LEN];
	uint64_t seq;
	uint8_t hash[SL_HASH_LEN];
};
/* Appends the payload of n tips (already sorted by origin, distinct,
 * n <= SL_CKPT_MAX) to g.  SL_OK, SL_EINVAL (not sorted, too many) or
 * SL_ENOMEM. */
int sl_ckpt_encode(struct sl_buf *g, const struct sl_ckpt_tip *tips,
    size_t n);
/* Checks the value of "tips" (msgpack bytes): SL_OK, or SL_ESCHEMA with
 * why filled in (a phrase without the field name). */
int sl_ckpt_check_tips(const uint8_t *v, size_t len, char *why,
    size_t wlen);
/* Decodes a whole checkpoint payload into *tips (caller frees; NULL
 * when n is 0).  SL_OK, SL_ESCHEMA if it breaks the rules, SL_ENOMEM. */
int sl_ckpt_decode(const uint8_t *payload, size_t plen,
    struct sl_ckpt_tip **tips, size_t *n);

/*
 * Fork proofs (forkproof.c, PROTOCOL.md 16): a node's signed word that an
 * origin signed two histories, {"proof": [origin bin(32), seq uint, run,
 * run]}, each run [[header bin, ...], sig bin(64)]: consecutive headers
 * of that origin, chained by prev, the last one signed.  A run names a
 * hash for seq: its first header's (when that header is at seq) or that
 * header's prev (when it is at seq + 1).  The two runs name different
 * hashes, the lower one first.  No body travels: the headers commit to
 * the payloads only through their salted hashes.
 */
#define SL_FORK_TYPE "fork.proof"
#define SL_FORK_RUN_MAX SL_SIGN_INTERVAL /* headers in one run */
struct sl_fork_run {
	const uint8_t *hdr[SL_FORK_RUN_MAX]; /* in seq order */
	size_t hdr_len[SL_FORK_RUN_MAX];
	size_t n;
	const uint8_t *sig;                  /* the last header's */
};
struct sl_fork {
	uint8_t origin[SL_KEY_LEN];
	uint64_t seq;
	uint8_t hash[2][SL_HASH_LEN];        /* what each run names, ascending */
};
/* Appends the payload proving that origin signed the two runs (in either
 * order: the encoder puts them in the canonical one) to g, after checking
 * it as a receiver would.  SL_OK, SL_ESCHEMA (no proof; why says why),
 * SL_ESIZE (larger than a payload may be) or SL_ENOMEM. */
int sl_fork_encode(struct sl_buf *g, const uint8_t origin[SL_KEY_LEN],
    uint64_t seq, const struct sl_fork_run *a, const struct sl_fork_run *b,
    char *why, size_t wlen);
/* Checks the value of "proof" (msgpack bytes): SL_OK, or SL_ESCHEMA with
 * why filled in; *out (may be NULL) receives what it proves. */
int sl_fork_check(const uint8_t *v, size_t len, struct sl_fork *out,
    char *why, size_t wlen);
/* Decodes and checks a whole fork proof payload.  SL_OK or SL_ESCHEMA. */
int sl_fork_decode(const uint8_t *payload, size_t plen, struct sl_fork *out);

/*
 * Membership (member.c, PROTOCOL.md 12.1): the federation's members as
 * the membership events a node holds say, the same on every node that
 * holds the same events.
 */
enum sl_mev_type { SL_MEV_ADMIT = 1, SL_MEV_RETIRE, SL_MEV_RENAME,
	SL_MEV_DEVICE, SL_MEV_REVOKE, SL_MEV_APPROVE, SL_MEV_POLICY };
/* What a member approves under the majority policy (12.4). */
enum sl_mact { SL_MACT_NONE = 0, SL_MACT_ADMIT, SL_MACT_RETIRE,
	SL_MACT_POLICY, SL_MACT_KEEPER };
#define SL_CUTS_MAX 32          /* devices a retirement lists */
#define SL_APPROVALS_MAX 32     /* approvals an entry carries; members a
				   policy lists */
struct sl_mcut {
	uint8_t device[SL_KEY_LEN];
	uint64_t upto;
};
struct sl_mev {
	uint8_t origin[SL_KEY_LEN];
	uint64_t seq, hlc;
	enum sl_mev_type type;
	uint8_t org[SL_KEY_LEN];     /* admitted, retired, renamed; the
					device's organisation */
	char name[SL_ORG_MAX + 1];   /* admitted, renamed or device as
					("" none) */
	uint64_t upto;               /* retired, revoked: the last seq that
					counts */
	uint8_t device[SL_KEY_LEN];  /* device.added, device.revoked */
	bool certified;              /* device.revoked: by the organisation
					key (else by the device itself) */
	uint32_t ncuts;              /* member.retired: its devices';
					member.policy and a policy's
					approval: the members (upto 0) */
	struct sl_mcut cuts[SL_CUTS_MAX];
	/* The majority policy (12.4). */
	bool ledgered;               /* carries "ledger": an entry of a
					ledger, or an approval */
	uint8_t ledger[SL_KEY_LEN];  /* the ledger's key */
	uint64_t term;               /* entries about org before it */
	enum sl_mact act;            /* member.approved: what */
	uint8_t sig[SL_SIG_LEN];     /* member.approved: the approval */
	bool entered;                /* (settled) an entry of the governing
					ledger that took effect */
	uint32_t napp;               /* an entry's approvers' keys */
	uint8_t app[SL_APPROVALS_MAX][SL_KEY_LEN];
	uint64_t app_upto[SL_APPROVALS_MAX]; /* and the seq each names */
};
/* SL_OK and e filled if ev is a membership event; SL_ENOENT if it is
 * of another type; SL_EINVAL if its payload says nothing usable (erased,
 * or not what the content rules let through). */
int sl_mev_decode(const struct sl_event *ev, struct sl_mev *e);
/* Is an event of this type (type_len bytes) a membership event, one
 * sl_mev_decode reads? */
bool sl_mev_type(const char *type, size_t type_len);

/*
 * Devices (PROTOCOL.md 12.3).  An organisation key certifies a device
 * key with two signatures over one statement: the organisation's (the
 * certificate) and the device's (proof that the device holds its key).
 * A revocation is the organisation's signature over another.
 * sl_device_added_hash / sl_device_revoked_hash: the statements' hashes.
 * sl_device_check: the content rule for a device event's payload (both
 * signatures verify): SL_OK or SL_ESCHEMA with why filled in.
 * sl_cuts_check: the content rule for a CUTS value.
 */
void sl_device_added_hash(uint8_t out[SL_HASH_LEN],
    const uint8_t org[SL_KEY_LEN], const uint8_t device[SL_KEY_LEN],
    const char *name);
void sl_device_revoked_hash(uint8_t out[SL_HASH_LEN],
    const uint8_t org[SL_KEY_LEN], const uint8_t device[SL_KEY_LEN],
    uint64_t upto);
int sl_device_check(const char *type, size_t tlen, const uint8_t *payload,
    size_t plen, char *why, size_t wlen);
int sl_cuts_check(const uint8_t *v, size_t len, char *why, size_t wlen);

/*
 * Admission by majority (PROTOCOL.md 12.4).  A member approves a motion
 * (admit an organisation, retire one, take the majority policy) by
 * signing its statement; the ledger's keeper records it with the
 * approvals once enough members gave one.  sl_approval_hash: the
 * statement (extra: a retirement's devices, a policy's members, each
 * upto 0).  sl_keys_check, sl_approvals_check: the content rules for a
 * KEYS and an APPROVALS value.  sl_ledger_check: the content rule for a
 * whole member.approved or member.policy payload, or an entry that
 * carries approvals (every approval verifies): SL_OK or SL_ESCHEMA.
 */
void sl_approval_hash(uint8_t out[SL_HASH_LEN], enum sl_mact act,
    const uint8_t ledger[SL_KEY_LEN], const uint8_t org[SL_KEY_LEN],
    uint64_t term, const char *name, uint64_t upto,
    const struct sl_mcut *extra, uint32_t nextra);
int sl_keys_check(const uint8_t *v, size_t len, char *why, size_t wlen);
int sl_approvals_check(const uint8_t *v, size_t len, char *why,
    size_t wlen);
int sl_ledger_check(const char *type, size_t tlen, const uint8_t *payload,
    size_t plen, char *why, size_t wlen);
const char *sl_mact_name(enum sl_mact act);
enum sl_mact sl_mact_parse(const char *s, size_t n);

struct sl_device {
	uint8_t key[SL_KEY_LEN];
	uint8_t org[SL_KEY_LEN];
	char name[SL_ORG_MAX + 1];
	uint64_t since;              /* clock of the certificate that counts */
	uint8_t cert_origin[SL_KEY_LEN]; /* the chain that carries it */
	uint64_t cert_seq;           /* and where */
	uint64_t upto;               /* its events after this seq do not count
					(UINT64_MAX: current) */
	uint64_t revoked_hlc;        /* the revocation that cut it (0: none, or
					its organisation's retirement) */
	bool contested;              /* two organisations certified it: it
					signs for neither */
	bool replaced;               /* (settled) it retired itself (moved to
					a new key) rather than was revoked */
};
struct sl_member {
	uint8_t org[SL_KEY_LEN];
	bool member;                 /* admitted (or the anchor) */
	uint64_t upto;               /* its events after this seq do not
					count (UINT64_MAX: not retired) */
	uint64_t chain_upto;         /* its own key's events after this seq
					do not count: it moved to a device
					(12.3; UINT64_MAX: not) */
	uint64_t since;              /* clock of its first admission that
					counts (0: the anchor, not admitted) */
	uint8_t by[SL_KEY_LEN];      /* who admitted it then */
	uint64_t retired_hlc;        /* the retirement that cut it */
	uint8_t retired_by[SL_KEY_LEN];
	bool named;                  /* (settling) an admission named it */
	bool contested;              /* another member holds its name */
};
struct sl_mname {
	uint8_t org[SL_KEY_LEN];
	uint64_t hlc, seq;
	char name[SL_ORG_MAX + 1];
};
/* The ledger of the majority policy that governs (12.4). */
struct sl_ledger_info {
	uint8_t ledger[SL_KEY_LEN];  /* its key: the policy's origin */
	uint8_t keeper[SL_KEY_LEN];  /* the key that carries it now */
	uint64_t policy_hlc;
	size_t voters;               /* members that vote now */
	uint64_t handoffs;           /* keepers it had before this one */
};
struct sl_members {
	uint8_t anchor[SL_KEY_LEN];  /* this node's own organisation */
	struct sl_mev *ev;           /* held membership events */
	size_t nev, cap;
	struct sl_member *m;         /* every organisation named (check
					->member) */
	size_t nm, mcap;
	struct sl_mname *names;      /* names given, by org and seq */
	size_t nnames, ncap;
	struct sl_device *d;         /* every device certified, by key */
	size_t nd, dcap;
	struct sl_mcut *dcut;        /* the devices' cut-offs of the last
					round of a settle, by key */
	size_t ndcut;
	uint8_t (*dorg)[2 * SL_KEY_LEN]; /* a contested key and an
					organisation that certified it,
					sorted */
	size_t ndorg;
	bool dirty;                  /* events added since the last settle */
	size_t nretire;              /* retirements and revocations held
					(none: no cut-offs) */
	/* The majority policy (12.4), settled. */
	size_t nledger;              /* approvals and policies held (none:
					one member admits) */
	bool gov;                    /* a ledger governs */
	size_t gov_ev;               /* its policy (into ev) */
	struct sl_ledger_info li;
	size_t *lret;                /* its retirements (into ev) */
	size_t nlret;
	uint8_t (*voters)[SL_KEY_LEN]; /* the members who vote now */
	size_t nvoters;
	struct sl_mcut *terms;       /* entries about each organisation */
	size_t nterms;
	uint64_t *lret_upto;         /* each retirement's cut-off */
	uint8_t inviter[SL_KEY_LEN]; /* the organisation this node joined
					through (sl_members_set_inviter) */
	bool has_inviter;
};
/* Starts with the anchor alone; free with sl_members_free. */
void sl_members_init(struct sl_members *ms, const uint8_t anchor[SL_KEY_LEN]);
void sl_members_free(struct sl_members *ms);
/* Holds e (once: a repeat changes nothing); sl_members_settle then
 * recomputes who is a member. */
int sl_members_add(struct sl_members *ms, const struct sl_mev *e);
int sl_members_settle(struct sl_members *ms);
/* The member org (NULL if it is none). */
const struct sl_member *sl_members_get(const struct sl_members *ms,
    const uint8_t org[SL_KEY_LEN]);
/* Does the event seq of origin count (its organisation a member, not
 * after its cut-off)?  Is origin a member's that no retirement cut? */
bool sl_members_counts(const struct sl_members *ms,
    const uint8_t origin[SL_KEY_LEN], uint64_t seq);
bool sl_members_current(const struct sl_members *ms,
    const uint8_t origin[SL_KEY_LEN]);
/* The organisation origin signs for: a member's key for itself, a
 * device's its organisation's (whatever their standing), else origin. */
const uint8_t *sl_members_org_of(const struct sl_members *ms,
    const uint8_t origin[SL_KEY_LEN]);
/* Is key a signer whose events count (a member's own key or a device of
 * a member, certified and not contested)?  *upto: its last seq that
 * counts.  sl_members_signers: every such key, in keys[0..max); returns
 * how many there are. */
bool sl_members_signer(const struct sl_members *ms,
    const uint8_t key[SL_KEY_LEN], uint64_t *upto);
size_t sl_members_signers(const struct sl_members *ms,
    uint8_t (*keys)[SL_KEY_LEN], size_t max);
/* The device key (NULL if key is none). */
const struct sl_device *sl_members_device(const struct sl_members *ms,
    const uint8_t key[SL_KEY_LEN]);
/* org's name at clock hlc (its first if it had none yet); NULL if the
 * log gave it none, or if another member holds the same name (contested:
 * neither is shown by it). */
const char *sl_members_name_at(const struct sl_members *ms,
    const uint8_t org[SL_KEY_LEN], uint64_t hlc);
bool sl_members_contested(const struct sl_members *ms,
    const uint8_t org[SL_KEY_LEN]);
/* A member other than `except` (may be NULL) whose name now is name
 * (compared folded, as names are: case and composition aside), or
 * NULL. */
const uint8_t *sl_members_name_holder(const struct sl_members *ms,
    const char *name, const uint8_t *except);
size_t sl_members_count(const struct sl_members *ms);

/*
 * The majority policy (12.4).  sl_members_ledger: the ledger that
 * governs this node's members (false: none, one member admits), with the
 * key that keeps it now and how many members vote.  sl_members_motions:
 * what members have approved and no ledger has recorded yet: under the
 * governing ledger, or (none governing) proposals to take the policy;
 * up to max of them, returns how many there are.  sl_members_to_ack: a
 * ledger that admitted this node's organisation, that an organisation
 * this node's own chain admitted (its inviter) approved, and that this
 * node has not yet approved: the node approves it to be governed by it.
 */
bool sl_members_ledger(const struct sl_members *ms,
    struct sl_ledger_info *out);
struct sl_motion {
	enum sl_mact act;
	uint8_t ledger[SL_KEY_LEN];
	uint8_t org[SL_KEY_LEN];
	char name[SL_ORG_MAX + 1];
	uint64_t term;
	const struct sl_mev *first;  /* an approval of it (a policy's
					members are its cuts) */
	size_t approved, needed;     /* organisations that approved; how
					many it takes */
	size_t nev;                  /* the approvals that count: */
	const struct sl_mev *ev[SL_APPROVALS_MAX];
};
size_t sl_members_motions(const struct sl_members *ms,
    struct sl_motion *out, size_t max);
/* The organisation this node joined through (NULL: none, it founded
 * its federation or joined before this was kept): the only one whose
 * ledger a newcomer follows on its own. */
void sl_members_set_inviter(struct sl_members *ms, const uint8_t *org);
bool sl_members_to_ack(const struct sl_members *ms,
    uint8_t ledger[SL_KEY_LEN], uint64_t *term);

/*
 * Text people type (text.c).  sl_text_fold: lower case (ASCII and the
 * Latin-1 letters) and "a" + combining ring etc. composed (NFC for the
 * letters Swedish uses); returns the length written (out is
 * NUL-terminated, cut at max).  sl_text_key: a byte string that sorts in
 * Swedish alphabetical order (a-z, then å, ä, ö) and compares equal for
 * texts that differ only in case or composition.  sl_text_contains: does
 * the folded hay contain needle (already folded)?
 */
size_t sl_text_fold(const char *s, size_t n, char *out, size_t max);
size_t sl_text_key(const char *s, size_t n, uint8_t *out, size_t max);
bool sl_text_contains(const char *hay, size_t hn, const char *needle_folded,
    size_t nn);
/* Does s hold what looks like a Swedish personal identity number
 * (personnummer or samordningsnummer): YYMMDD-NNNN (or +), or
 * YYYYMMDD-NNNN or YYYYMMDDNNNN with the century 19 or 20; a real month
 * and day (or day + 60), a valid check digit, and no digit right before
 * or after?  *at (may be NULL) gets its offset. */
bool sl_text_pnr(const char *s, size_t n, size_t *at);

/*
 * Effective time (PROTOCOL.md 11.5): the day a change takes effect, as
 * the author says it (payload key "on", a DATE), else the UTC day of the
 * event's clock.  As YYYYMMDD, so that dates compare as integers.
 */
uint32_t sl_event_effective(const struct sl_event *ev);
/* YYYY-MM-DD (a real day) to YYYYMMDD; false if it is none. */
bool sl_date_parse(const char *s, size_t n, uint32_t *ymd);
/* YYYYMMDD to "YYYY-MM-DD" ("" for 0). */
void sl_date_format(uint32_t ymd, char out[11]);
/* The UTC day of a clock (ms since the epoch in its upper bits). */
uint32_t sl_hlc_day(uint64_t hlc);

/* The in-memory backend: holds copies of the events it is given. */
struct sl_fold_mem;
struct sl_fold_mem *sl_fold_mem_new(void);
void sl_fold_mem_free(struct sl_fold_mem *m);
extern const struct sl_fold_ops sl_fold_mem_ops;
/* Folds a copy of the record bytes rec.  Refuses, as a node's store
 * does, a body that does not match its payload hash (SL_EPAYLOAD) and
 * an event the content rules refuse (SL_ESCHEMA); nothing is folded. */
int sl_fold_mem_add(struct sl_fold_mem *m, const uint8_t *rec, size_t len);
/* Takes the device certificate rec (device.added, PROTOCOL.md 12.3) if
 * it is a valid one, so that the device's events fold as its
 * organisation's; anything else is passed over.  Give every certificate
 * before the first event they concern.  SL_OK or SL_ENOMEM. */
int sl_fold_mem_certify(struct sl_fold_mem *m, const uint8_t *rec,
    size_t len);
/* Is key a device of an organisation by the certificates given?  Its
 * organisation key into org if so. */
bool sl_fold_mem_device_org(const struct sl_fold_mem *m,
    const uint8_t key[SL_KEY_LEN], uint8_t org[SL_KEY_LEN]);
/* The record id (SL_ENOENT if absent or never created; r owned by the
 * caller afterwards). */
int sl_fold_mem_record(struct sl_fold_mem *m, const uint8_t id[SL_ID_LEN],
    struct sl_rec *r);
/* The meta of event h. */
int sl_fold_mem_meta(struct sl_fold_mem *m, const uint8_t h[SL_HASH_LEN],
    struct sl_evmeta *out);
/* Calls fn for every (parent, child) still waiting, and for every head
 * of record id. */
typedef void (*sl_fold_pair_fn)(void *ctx, const uint8_t a[SL_HASH_LEN],
    const uint8_t b[SL_HASH_LEN]);
void sl_fold_mem_waits(struct sl_fold_mem *m, sl_fold_pair_fn fn, void *ctx);
typedef void (*sl_fold_hash_fn)(void *ctx, const uint8_t h[SL_HASH_LEN]);
void sl_fold_mem_heads(struct sl_fold_mem *m, const uint8_t id[SL_ID_LEN],
    sl_fold_hash_fn fn, void *ctx);

/* ---------------------------------------------------------------------------
 * Peer frame bodies (peer_wire.c): pure functions with no session state,
 * used by samlogd's frame handlers and driven by the fuzzer.  A VECTOR is
 * [[origin bin(32), seq uint, tip hash bin(32)], ...].  The decoders
 * return SL_OK or the first decoding error, hand out pointers into the
 * frame (valid as long as it is) and trust nothing before they accept it.
 */

#define SL_PEER_VECTOR_MAX 4096 /* entries of a VECTOR */
#define SL_PEER_BYE_MAX 180     /* bytes of a BYE's reason */
#define SL_PEER_WANT_MAX 256    /* entries of a WANT, records of a WHOLE */

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
	bool refill;              /* it answers WANT and takes WHOLE */
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
/* A record's type (borrowed, *len bytes) from its header alone: false
 * if that much does not decode.  Nothing is verified. */
bool sl_wire_peek_type(const uint8_t *rec, size_t len, const char **type,
    uint32_t *type_len);

/* HELLO of this version for org (saying it answers WANT), up to the
 * header of its vector: the caller packs nvec entries next. */
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
/* JOIN (12.2): the invitation's secret and the newcomer's organisation
 * name.  The decoder wants exactly these two keys, a name that is an
 * organisation name (sl_org_valid) and nothing after the map. */
#define SL_JOIN_SECRET_LEN 16
void sl_wire_pack_join(msgpack_packer *pk, const char *name,
    const uint8_t secret[SL_JOIN_SECRET_LEN]);
int sl_wire_join(struct sl_mp *r, char name[SL_ORG_MAX + 1],
    uint8_t secret[SL_JOIN_SECRET_LEN]);

/* ---------------------------------------------------------------------------
 * Swedish labels of the schema's fields (labels.c), for people rather
 * than programs: the header a Swedish spreadsheet gives a column, and
 * the label reports and web pages show.  A field's label and its other
 * accepted spellings are a small table keyed by the field's name, so a
 * kind that gains a field with a known name is labelled at once.
 */
/* The Swedish label of the field called field ("Namn" for name), or NULL
 * if the table has none. */
const char *sl_label_sv(const char *field);
/* The English label of field name ("Line of business"), or NULL. */
const char *sl_label_en(const char *field);
/* The field of kind k that a column header names: the field's name, its
 * flag, its Swedish label or one of the label's aliases, in any case
 * (A-Z and the Latin-1 letters, Å Ä Ö among them) and with surrounding
 * spaces ignored.  NULL if none; *idx (may be NULL) its index in k. */
const struct sl_field *sl_field_by_header(const struct sl_kind *k,
    const char *header, uint32_t *idx);

/* ---------------------------------------------------------------------------
 * Times as people write and read them (timefmt.c)
 *
 * sl_time_parse reads ISO 8601 as a person gives it: a day
 * (2026-12-01), a time with its offset (2026-12-01T22:06:21+01:00, ...Z,
 * with a space for the T, seconds optional, a fraction of 1-9 digits cut
 * to milliseconds), or a time without an offset, which is local time
 * (TZ).  *ms is milliseconds since 1970-01-01T00:00Z: the instant, or for
 * a day the local midnight that starts it; *kind (may be NULL) says
 * which form it was.  SL_OK, or SL_EVALUE for anything else.
 */
enum {
	SL_TIME_DATE = 1,    /* YYYY-MM-DD */
	SL_TIME_OFFSET = 2,  /* a time with Z or +HH:MM */
	SL_TIME_LOCAL = 3,   /* a time without an offset: local time */
};

struct sl_time_parts {
	int y, mo, d, h, mi, s, ms;
	int frac;      /* digits of the fraction given (0: none) */
	int off_min;   /* the offset east of UTC, SL_TIME_OFFSET only */
	int kind;      /* SL_TIME_* */
};

int sl_time_parse(const char *s, int64_t *ms, int *kind);
/* The same, into its parts as written (no zone applied). */
int sl_time_parse_parts(const char *s, struct sl_time_parts *p);
/* The local time y-mo-d h:mi:sec.ms (fields may overflow: day 32 is
 * the next month's first) as milliseconds since the epoch. */
int64_t sl_time_local_ms(int y, int mo, int d, int h, int mi, int sec,
    int ms);
/* "2026-12-01 22:06:21 +01:00": local time (TZ) with its offset. */
void sl_time_format_local(int64_t ms, char *buf, size_t len);
/* "2026-12-01T21:06:21.000Z": RFC 3339 UTC with milliseconds. */
void sl_time_format_utc(int64_t ms, char *buf, size_t len);
/* "2026-12-01": the day of p as written (in its own offset). */
void sl_time_format_date(const struct sl_time_parts *p, char *buf, size_t len);

#endif /* SAMLOG_PROTO_H */
