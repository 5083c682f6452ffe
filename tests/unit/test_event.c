/*
 * test_event.c - the event format: round trips, the worked examples of
 * protocol/PROTOCOL.md checked byte for byte, and the strict decoder's
 * refusals (truncation, trailing bytes, wrong types, missing fields,
 * oversize and non-canonical values, any flipped byte).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>

#include "samlog_proto.h"

/* ---- helpers ------------------------------------------------------------ */

static size_t
hex_decode(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;

	while (hex[0] && hex[1]) {
		unsigned v;

		if (hex[0] == ' ') {
			hex++;
			continue;
		}
		assert_true(sscanf(hex, "%2x", &v) == 1);
		assert_true(n < cap);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static void
hex_encode(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

struct built {
	uint8_t hdr[SL_HEADER_MAX];
	size_t hdr_len;
	uint8_t hash[SL_HASH_LEN];
	uint8_t rec[SL_EVENT_MAX];
	size_t rec_len;
};

/* Builds a record the way the store does, with caller-chosen fields. */
static void
build(struct built *b, const struct sl_key *k, const struct sl_event_draft *d,
    uint64_t seq, const uint8_t *prev, uint64_t hlc, const uint8_t *salt,
    bool sign, bool erased, const uint8_t *opens, size_t olen)
{
	uint8_t ph[SL_HASH_LEN], sig[SL_SIG_LEN];
	struct sl_header_in h = { k->pub, seq, prev, hlc, ph };

	assert_int_equal(sl_draft_check(d), SL_OK);
	sl_payload_hash(ph, salt, d->payload, d->payload_len);
	b->hdr_len = sl_header_encode(b->hdr, d, &h);
	sl_sha256(b->hash, b->hdr, b->hdr_len);
	if (sign)
		sl_sign_hash(sig, k, b->hash);
	b->rec_len = sl_record_encode_opens(b->rec, b->hdr, b->hdr_len,
	    sign ? sig : NULL, erased ? NULL : salt, d->payload,
	    d->payload_len, opens, olen);
}

static struct sl_key test_key;
static const uint8_t test_salt[SL_SALT_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const uint8_t test_payload[] = { 0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa3,
	'M', '2', '9' };

static struct sl_event_draft
test_draft(void)
{
	return (struct sl_event_draft){ .author = "oskar", .type =
	    "org.created", .payload = test_payload, .payload_len =
	    sizeof test_payload };
}

/* ---- round trip ----------------------------------------------------------- */

static void
test_round_trip(void **state)
{
	static struct built b;
	uint8_t parents[2][SL_HASH_LEN], ent[SL_ID_LEN], h[SL_HASH_LEN];
	struct sl_event_draft d = test_draft();
	struct sl_event ev;

	(void)state;
	memset(parents[0], 0x11, SL_HASH_LEN);
	memset(parents[1], 0x22, SL_HASH_LEN);
	memset(ent, 0xab, sizeof ent);
	d.entity = ent;
	d.parents = (const uint8_t (*)[SL_HASH_LEN])parents;
	d.n_parents = 2;
	d.author = "Anna Ölund";
	memset(h, 0x5a, sizeof h);
	build(&b, &test_key, &d, 7, h, 123456789, test_salt, true, false, NULL, 0);

	assert_int_equal(sl_event_decode(&ev, b.rec, b.rec_len), SL_OK);
	assert_int_equal(ev.version, SL_FORMAT_VERSION);
	assert_memory_equal(ev.origin, test_key.pub, SL_KEY_LEN);
	assert_int_equal(ev.seq, 7);
	assert_memory_equal(ev.prev, h, SL_HASH_LEN);
	assert_int_equal(ev.hlc, 123456789);
	assert_int_equal(ev.author_len, strlen("Anna Ölund"));
	assert_memory_equal(ev.author, "Anna Ölund", ev.author_len);
	assert_int_equal(ev.type_len, strlen("org.created"));
	assert_memory_equal(ev.entity, ent, SL_ID_LEN);
	assert_int_equal(ev.n_parents, 2);
	assert_memory_equal(ev.parents[1], parents[1], SL_HASH_LEN);
	assert_memory_equal(ev.salt, test_salt, SL_SALT_LEN);
	assert_int_equal(ev.payload_len, sizeof test_payload);
	assert_memory_equal(ev.payload, test_payload, sizeof test_payload);
	assert_non_null(ev.sig);
	assert_int_equal(sl_event_check_payload(&ev), SL_OK);
	sl_event_hash(h, &ev);
	assert_memory_equal(h, b.hash, SL_HASH_LEN);
	assert_true(sl_verify_hash(ev.sig, ev.origin, h));
	/* Same header, erased body: same hash, still decodes. */
	static struct built e;

	memset(h, 0x5a, sizeof h);
	build(&e, &test_key, &d, 7, h, 123456789, test_salt, true, true, NULL, 0);
	assert_int_equal(sl_event_decode(&ev, e.rec, e.rec_len), SL_OK);
	assert_null(ev.salt);
	assert_null(ev.payload);
	assert_int_equal(sl_event_check_payload(&ev), SL_OK);
	sl_event_hash(h, &ev);
	assert_memory_equal(h, b.hash, SL_HASH_LEN);
}

/* ---- PROTOCOL.md vectors --------------------------------------------------- */

struct vector {
	char name[64];
	char field[24][2][2048];
	int n;
};

static const char *
vget(const struct vector *v, const char *key)
{
	for (int i = 0; i < v->n; i++)
		if (strcmp(v->field[i][0], key) == 0)
			return v->field[i][1];
	fail_msg("vector %s has no field %s", v->name, key);
	return NULL;
}

static const char *
vfind(const struct vector *v, const char *key)
{
	for (int i = 0; i < v->n; i++)
		if (strcmp(v->field[i][0], key) == 0)
			return v->field[i][1];
	return NULL;
}

/* For a vector's "sealed" list: is key one of its comma-separated
 * names? */
static bool
sealed_key(void *ctx, const char *key, size_t klen)
{
	const char *p = ctx;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == klen && memcmp(p, key, n) == 0)
			return true;
		p += n;
		p += *p == ',';
	}
	return false;
}

static void
scopy(char *d, size_t n, const char *s)
{
	size_t l = strlen(s);

	if (l >= n)
		l = n - 1;
	memcpy(d, s, l);
	d[l] = '\0';
}

/* Reads every ```vector block of PROTOCOL.md. */
static int
load_vectors(struct vector *vs, int max)
{
	const char *path = getenv("SAMLOG_PROTOCOL_MD");
	FILE *f = fopen(path ? path : "protocol/PROTOCOL.md", "r");
	char line[4096];
	int n = 0;
	struct vector *cur = NULL;

	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "```vector ", 10) == 0) {
			assert_true(n < max);
			cur = &vs[n++];
			memset(cur, 0, sizeof *cur);
			scopy(cur->name, sizeof cur->name, line + 10);
			continue;
		}
		if (cur == NULL)
			continue;
		if (strcmp(line, "```") == 0) {
			cur = NULL;
			continue;
		}
		if (line[0] == ' ' && cur->n > 0) {
			/* Long hex continues, indented, on the next lines. */
			char *val = line + strspn(line, " ");
			char *dst = cur->field[cur->n - 1][1];

			strncat(dst, val, sizeof cur->field[0][1] - 1 - strlen(dst));
			continue;
		}
		char *sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		char *val = sp + 1;

		while (*val == ' ')
			val++;
		assert_true(cur->n < 24);
		scopy(cur->field[cur->n][0], sizeof cur->field[0][0], line);
		scopy(cur->field[cur->n][1], sizeof cur->field[0][1], val);
		cur->n++;
	}
	fclose(f);
	return n;
}

static void
check_hex(const struct vector *v, const char *key, const uint8_t *b, size_t n,
    bool print)
{
	char hex[2 * SL_EVENT_MAX + 1];

	hex_encode(hex, b, n);
	if (print)
		printf("%-12s %s\n", key, hex);
	else if (strcmp(vget(v, key), hex) != 0)
		fail_msg("vector %s: %s is\n  %s\nbut PROTOCOL.md says\n  %s",
		    v->name, key, hex, vget(v, key));
}

static void
test_vectors(void **state)
{
	static struct vector vs[20];
	static struct built b;
	bool print = getenv("SAMLOG_PRINT_VECTORS") != NULL;
	int n = load_vectors(vs, 20);

	(void)state;
	assert_true(n >= 3);
	for (int i = 0; i < n; i++) {
		const struct vector *v = &vs[i];
		uint8_t seed[SL_SEED_LEN], salt[SL_SALT_LEN], prev[SL_HASH_LEN];
		uint8_t ent[SL_ID_LEN], payload[1024], par[SL_MAX_PARENTS][SL_HASH_LEN];
		uint8_t ph[SL_HASH_LEN];
		struct sl_key k;
		struct sl_event_draft d = { 0 };
		struct sl_event ev;
		const char *p;

		assert_int_equal(hex_decode(seed, sizeof seed, vget(v, "seed")),
		    SL_SEED_LEN);
		sl_key_from_seed(&k, seed);
		hex_decode(salt, sizeof salt, vget(v, "salt"));
		d.author = vget(v, "author");
		d.type = vget(v, "type");
		d.payload = payload;
		if (vfind(v, "sealed") == NULL)
			d.payload_len = (uint32_t)hex_decode(payload,
			    sizeof payload, vget(v, "payload"));
		if (strcmp(vget(v, "entity"), "nil") != 0) {
			hex_decode(ent, sizeof ent, vget(v, "entity"));
			d.entity = ent;
		}
		p = vget(v, "parents");
		while (strcmp(p, "none") != 0 && *p) {
			hex_decode(par[d.n_parents++], SL_HASH_LEN, p);
			p += strcspn(p, ",");
			p += *p == ',';
		}
		d.parents = (const uint8_t (*)[SL_HASH_LEN])par;
		bool has_prev = strcmp(vget(v, "prev"), "nil") != 0;

		if (has_prev)
			hex_decode(prev, sizeof prev, vget(v, "prev"));
		uint64_t seq = strtoull(vget(v, "seq"), NULL, 10);
		uint64_t hlc = strtoull(vget(v, "hlc"), NULL, 10);
		bool sign = strcmp(vget(v, "signed"), "yes") == 0;
		bool erased = strcmp(vget(v, "erased"), "yes") == 0;

		/* Committed fields (5.1): the payload is sealed from the
		 * plain one, and the openings travel in the body. */
		static uint8_t plain[1024], fsalts[SL_OPENS_MAX * SL_FSALT_LEN];
		struct sl_buf sp = { 0 }, so = { 0 }, kept = { 0 };
		const char *sealed = vfind(v, "sealed");

		if (print)
			printf("--- %s\n", v->name);
		if (sealed != NULL) {
			size_t pl = hex_decode(plain, sizeof plain,
			    vget(v, "plain"));

			hex_decode(fsalts, sizeof fsalts, vget(v, "fsalts"));
			assert_int_equal(sl_seal_payload(plain, pl, sealed_key,
			    (void *)(uintptr_t)sealed, fsalts, &sp, &so), SL_OK);
			check_hex(v, "payload", sp.p, sp.len, print);
			check_hex(v, "opens", so.p, so.len, print);
			assert_true(sp.len <= sizeof payload);
			memcpy(payload, sp.p, sp.len);
			d.payload_len = (uint32_t)sp.len;
			/* An erased field leaves its opening out. */
			const char *gone = vfind(v, "erased_fields");
			struct sl_mp m;
			uint32_t no, nk = 0;
			msgpack_packer kp;

			msgpack_packer_init(&kp, &kept, sl_buf_write);
			msgpack_pack_array(&kp, 0);
			sl_mp_init(&m, so.p, so.len);
			assert_int_equal(sl_mp_read_array(&m, &no, 15), SL_OK);
			for (uint32_t j = 0; j < no; j++) {
				const uint8_t *st = m.p, *fs, *ov;
				const char *key;
				uint32_t kl;
				size_t ol;

				assert_int_equal(sl_opening_read(&m, &key, &kl,
				    &fs, &ov, &ol), SL_OK);
				if (gone != NULL && sealed_key((void *)(uintptr_t)
				    gone, key, kl))
					continue;
				sl_buf_write(&kept, (const char *)st,
				    (size_t)(m.p - st));
				nk++;
			}
			kept.p[0] = (uint8_t)(0x90 | nk);
		}
		build(&b, &k, &d, seq, has_prev ? prev : NULL, hlc, salt, sign,
		    erased, sealed != NULL ? kept.p : NULL, kept.len);
		free(sp.p);
		free(so.p);
		free(kept.p);
		sl_payload_hash(ph, salt, d.payload, d.payload_len);
		check_hex(v, "origin", k.pub, SL_KEY_LEN, print);
		check_hex(v, "payload_hash", ph, SL_HASH_LEN, print);
		check_hex(v, "header", b.hdr, b.hdr_len, print);
		check_hex(v, "hash", b.hash, SL_HASH_LEN, print);
		check_hex(v, "record", b.rec, b.rec_len, print);
		char id[SL_ID_TEXT + 1];
		uint8_t idb[SL_ID_LEN];

		sl_entity_id(idb, b.hash);
		sl_b32_encode(id, idb, SL_ID_LEN);
		if (print)
			printf("%-12s %s\n", "entity_id", id);
		else
			assert_string_equal(vget(v, "entity_id"), id);
		char nid[SL_NODE_ID_TEXT + 1];

		sl_b32_encode(nid, k.pub, SL_KEY_LEN);
		if (print)
			printf("%-12s %s\n", "node_id", nid);
		else
			assert_string_equal(vget(v, "node_id"), nid);
		if (print) {
			sl_key_wipe(&k);
			continue;
		}
		/* And the decoder reads the documented bytes back. */
		uint8_t rec[SL_EVENT_MAX];
		size_t rl = hex_decode(rec, sizeof rec, vget(v, "record"));

		assert_int_equal(sl_event_decode(&ev, rec, rl), SL_OK);
		assert_int_equal(ev.seq, seq);
		assert_int_equal(ev.hlc, hlc);
		assert_int_equal(ev.sig != NULL, sign);
		assert_int_equal(ev.salt == NULL, erased);
		assert_int_equal(sl_event_check_payload(&ev), SL_OK);
		if (sealed != NULL) {
			char why[200];

			assert_int_equal(sl_schema_check_event(ev.type,
			    ev.type_len, ev.entity, ev.n_parents, ev.payload,
			    ev.payload_len, ev.hlc, why, sizeof why), SL_OK);
			assert_int_equal(sl_schema_check_opens(ev.type,
			    ev.type_len, ev.opens, ev.opens_len, why,
			    sizeof why), SL_OK);
		}
		if (sign)
			assert_true(sl_verify_hash(ev.sig, k.pub, b.hash));
		sl_key_wipe(&k);
	}
}

/* ---- strictness ------------------------------------------------------------ */

/* Packs a header with one field replaced by `bad` msgpack bytes. */
struct sbuf {
	uint8_t b[4096];
	size_t n;
};

static int
sbuf_write(void *data, const char *buf, size_t len)
{
	struct sbuf *s = data;

	assert_true(s->n + len <= sizeof s->b);
	memcpy(s->b + s->n, buf, len);
	s->n += len;
	return 0;
}

/* Writes a record around an arbitrary header byte string. */
static size_t
wrap(uint8_t *out, const uint8_t *hdr, size_t hl)
{
	return sl_record_encode(out, hdr, hl, NULL, test_salt, test_payload,
	    sizeof test_payload);
}

/* A header of nfields fields, where field `bad` is replaced by raw bytes. */
static size_t
make_header(uint8_t *out, int nfields, int bad, const uint8_t *raw,
    size_t rawlen)
{
	struct sbuf s = { .n = 0 };
	msgpack_packer pk;
	uint8_t z[64] = { 0 };

	msgpack_packer_init(&pk, &s, sbuf_write);
	msgpack_pack_array(&pk, (size_t)nfields);
	for (int f = 0; f < nfields; f++) {
		if (f == bad) {
			sbuf_write(&s, (const char *)raw, rawlen);
			continue;
		}
		switch (f) {
		case 0: msgpack_pack_uint64(&pk, 1); break;
		case 1: msgpack_pack_bin(&pk, 32); msgpack_pack_bin_body(&pk, z, 32); break;
		case 2: msgpack_pack_uint64(&pk, 1); break;
		case 3: msgpack_pack_nil(&pk); break;
		case 4: msgpack_pack_uint64(&pk, 99); break;
		case 5: msgpack_pack_str(&pk, 1); msgpack_pack_str_body(&pk, "a", 1); break;
		case 6: msgpack_pack_str(&pk, 1); msgpack_pack_str_body(&pk, "t", 1); break;
		case 7: msgpack_pack_nil(&pk); break;
		case 8: msgpack_pack_array(&pk, 0); break;
		case 9: msgpack_pack_bin(&pk, 32); msgpack_pack_bin_body(&pk, z, 32); break;
		default: msgpack_pack_nil(&pk); break;
		}
	}
	memcpy(out, s.b, s.n);
	return s.n;
}

static int
decode_header_variant(int nfields, int bad, const uint8_t *raw, size_t rawlen)
{
	uint8_t hdr[4096], rec[8192];
	struct sl_event ev;
	size_t hl = make_header(hdr, nfields, bad, raw, rawlen);
	size_t rl = wrap(rec, hdr, hl);

	return sl_event_decode(&ev, rec, rl);
}

#define RAW(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

static void
test_header_refusals(void **state)
{
	uint8_t prev[34] = { 0xc4, 32 };
	uint8_t big[80] = { 0xc4, 65 };

	(void)state;
	/* The reference header itself is fine. */
	assert_int_equal(decode_header_variant(10, -1, NULL, 0), SL_OK);
	/* Missing and extra fields. */
	assert_int_equal(decode_header_variant(9, -1, NULL, 0), SL_EFIELDS);
	assert_int_equal(decode_header_variant(11, -1, NULL, 0), SL_EFIELDS);
	/* Wrong types per field. */
	assert_int_equal(decode_header_variant(10, 0, RAW(0xa1, 'x')), SL_ETYPE);
	assert_int_equal(decode_header_variant(10, 1, RAW(0xc0)), SL_ETYPE);
	assert_int_equal(decode_header_variant(10, 2, RAW(0xc0)), SL_ETYPE);
	assert_int_equal(decode_header_variant(10, 4, RAW(0xd0, 1)), SL_ETYPE);
	assert_int_equal(decode_header_variant(10, 5, RAW(0xc4, 1, 'a')), SL_ETYPE);
	assert_int_equal(decode_header_variant(10, 8, RAW(0xc0)), SL_ETYPE);
	assert_int_equal(decode_header_variant(10, 9, RAW(0xc0)), SL_ETYPE);
	/* Values out of their domain. */
	assert_int_equal(decode_header_variant(10, 0, RAW(0x02)), SL_EVERSION);
	assert_int_equal(decode_header_variant(10, 2, RAW(0x00)), SL_EVALUE);
	assert_int_equal(decode_header_variant(10, 3, prev, sizeof prev),
	    SL_EVALUE); /* prev given for seq 1 */
	assert_int_equal(decode_header_variant(10, 2, RAW(0x02)), SL_EVALUE);
	assert_int_equal(decode_header_variant(10, 5, RAW(0xa1, '\n')), SL_EVALUE);
	assert_int_equal(decode_header_variant(10, 5, RAW(0xa0)), SL_ESIZE);
	assert_int_equal(decode_header_variant(10, 6, RAW(0xa1, 'T')), SL_EVALUE);
	assert_int_equal(decode_header_variant(10, 1, RAW(0xc4, 1, 0)), SL_ESIZE);
	assert_int_equal(decode_header_variant(10, 7, big, 67), SL_ESIZE);
	/* Non-canonical forms. */
	assert_int_equal(decode_header_variant(10, 4, RAW(0xcc, 99)),
	    SL_ENONCANON);
	assert_int_equal(decode_header_variant(10, 5, RAW(0xd9, 1, 'a')),
	    SL_ENONCANON);
	/* Parents out of order. */
	uint8_t pars[1 + 2 * 34] = { 0x92, 0xc4, 32 };

	pars[3] = 2;
	pars[35] = 0xc4;
	pars[36] = 32;
	pars[37] = 1;
	assert_int_equal(decode_header_variant(10, 8, pars, sizeof pars),
	    SL_ENONCANON);
	pars[37] = 3;
	assert_int_equal(decode_header_variant(10, 8, pars, sizeof pars), SL_OK);
	/* Too many parents. */
	assert_int_equal(decode_header_variant(10, 8, RAW(0xdc, 0, 17)),
	    SL_EFIELDS);
}

static void
test_record_refusals(void **state)
{
	static struct built b;
	struct sl_event_draft d = test_draft();
	struct sl_event ev;
	uint8_t buf[SL_EVENT_MAX + 16];

	(void)state;
	build(&b, &test_key, &d, 1, NULL, 5, test_salt, true, false, NULL, 0);
	assert_int_equal(sl_event_decode(&ev, b.rec, b.rec_len), SL_OK);
	/* Every truncation fails, never reads past the end (ASan watches). */
	for (size_t n = 0; n < b.rec_len; n++) {
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, b.rec, n);
		assert_int_not_equal(sl_event_decode(&ev, cut, n), SL_OK);
		free(cut);
	}
	/* A trailing byte. */
	memcpy(buf, b.rec, b.rec_len);
	buf[b.rec_len] = 0xc0;
	assert_int_equal(sl_event_decode(&ev, buf, b.rec_len + 1), SL_ETRAIL);
	/* Wrong outer shapes. */
	assert_int_equal(sl_event_decode(&ev, RAW(0x92, 0xc0, 0xc0)), SL_EFIELDS);
	assert_int_equal(sl_event_decode(&ev, RAW(0x80)), SL_ETYPE);
	assert_int_equal(sl_event_decode(&ev, RAW(0x93, 0xc0, 0xc0, 0xc0)),
	    SL_ETYPE);
	/* A signature of the wrong length. */
	size_t hl = b.hdr_len;
	size_t o = sl_record_encode(buf, b.hdr, hl, NULL, NULL, NULL, 0);

	assert_int_equal(sl_event_decode(&ev, buf, o), SL_OK);
	buf[o - 2] = 0xc4; /* replace sig nil with a 1-byte bin */
	buf[o - 1] = 0x01;
	buf[o] = 0x00;
	buf[o + 1] = 0xc0;
	assert_int_equal(sl_event_decode(&ev, buf, o + 2), SL_ESIZE);
	/* An oversize payload and an oversize record. */
	static uint8_t big[SL_PAYLOAD_MAX + 1];

	d.payload = big;
	d.payload_len = sizeof big;
	assert_int_equal(sl_draft_check(&d), SL_ESIZE);
	assert_int_equal(sl_event_decode(&ev, big, SL_EVENT_MAX + 1), SL_ESIZE);
	/* A payload that does not match its hash. */
	memcpy(buf, b.rec, b.rec_len);
	buf[b.rec_len - 1] ^= 1;
	assert_int_equal(sl_event_decode(&ev, buf, b.rec_len), SL_OK);
	assert_int_equal(sl_event_check_payload(&ev), SL_EPAYLOAD);
}

/* Any single flipped byte is caught by decoding, the payload hash, or the
 * signature over the header hash. */
static void
test_flip_every_byte(void **state)
{
	static struct built b;
	struct sl_event_draft d = test_draft();
	uint8_t buf[SL_EVENT_MAX], h[SL_HASH_LEN];
	struct sl_event ev;

	(void)state;
	build(&b, &test_key, &d, 1, NULL, 5, test_salt, true, false, NULL, 0);
	for (size_t i = 0; i < b.rec_len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(buf, b.rec, b.rec_len);
			buf[i] ^= (uint8_t)(1u << bit);
			if (sl_event_decode(&ev, buf, b.rec_len) != SL_OK)
				continue;
			if (sl_event_check_payload(&ev) != SL_OK)
				continue;
			sl_event_hash(h, &ev);
			if (ev.sig == NULL || !sl_verify_hash(ev.sig, ev.origin, h))
				continue;
			fail_msg("flipping bit %d of byte %zu went unnoticed", bit,
			    i);
		}
	}
}

static void
test_draft_check(void **state)
{
	struct sl_event_draft d = test_draft();
	uint8_t par[2][SL_HASH_LEN];
	char longname[SL_AUTHOR_MAX + 2];

	(void)state;
	assert_int_equal(sl_draft_check(&d), SL_OK);
	d.author = "";
	assert_int_equal(sl_draft_check(&d), SL_ESIZE);
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	d.author = longname;
	assert_int_equal(sl_draft_check(&d), SL_ESIZE);
	d.author = "bad\xff";
	assert_int_equal(sl_draft_check(&d), SL_EVALUE);
	d.author = "ok";
	d.type = "Org Created";
	assert_int_equal(sl_draft_check(&d), SL_EVALUE);
	d.type = "org.created";
	memset(par[0], 2, SL_HASH_LEN);
	memset(par[1], 1, SL_HASH_LEN);
	d.parents = (const uint8_t (*)[SL_HASH_LEN])par;
	d.n_parents = 2;
	assert_int_equal(sl_draft_check(&d), SL_EVALUE);
	d.n_parents = SL_MAX_PARENTS + 1;
	assert_int_equal(sl_draft_check(&d), SL_ESIZE);
}

static int
setup(void **state)
{
	uint8_t seed[SL_SEED_LEN];

	(void)state;
	memset(seed, 7, sizeof seed);
	sl_key_from_seed(&test_key, seed);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_header_refusals),
		cmocka_unit_test(test_record_refusals),
		cmocka_unit_test(test_flip_every_byte),
		cmocka_unit_test(test_draft_check),
	};

	if (sl_crypto_init() != 0)
		return 1;
	int rc = cmocka_run_group_tests_name("event", tests, setup, NULL);

	sl_crypto_shutdown();
	return rc;
}
