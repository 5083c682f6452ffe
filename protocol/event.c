/*
 * event.c - encoding and strict decoding of event records.
 *
 * Encoding goes through msgpack-c's packer (its pack functions always pick
 * the shortest form, which is what makes a header canonical); decoding
 * goes through mp.c, which checks that canonical form byte by byte.  The
 * event hash covers the header bytes exactly as they were received:
 * nothing is ever re-encoded before hashing, so a record that decodes is
 * hashed as it is, and a record in any other form does not decode.
 */
#include <msgpack.h>
#include <string.h>

#include "samlog_proto.h"

static const char *const result_names[SL_RESULT_COUNT] = {
	[SL_OK] = "ok",
	[SL_ETRUNC] = "truncated input",
	[SL_ETYPE] = "value of the wrong type",
	[SL_EFIELDS] = "wrong number of fields",
	[SL_ETRAIL] = "trailing bytes after the value",
	[SL_ESIZE] = "value too long or too large",
	[SL_ENONCANON] = "value not in canonical encoding",
	[SL_EVALUE] = "invalid value",
	[SL_EVERSION] = "unknown format version",
	[SL_EPAYLOAD] = "payload does not match its hash",
	[SL_ECHAIN] = "prev does not match the previous event's hash",
	[SL_EGAP] = "events missing before this one",
	[SL_ESIG] = "bad signature",
	[SL_EUNSIGNED] = "event not covered by a signature",
	[SL_EFORK] = "fork: a different event exists for this seq",
	[SL_ESTORE] = "storage error",
	[SL_ENOMEM] = "out of memory",
	[SL_EORIGIN] = "event stored under the wrong origin or seq",
	[SL_EIO] = "input/output error",
	[SL_EEXIST] = "already exists",
	[SL_ENOENT] = "not found",
	[SL_EINVAL] = "invalid argument",
	[SL_EFULL] = "storage full",
	[SL_ERETRY] = "storage grew; try again",
	[SL_EUSAGE] = "malformed request",
	[SL_EAMBIG] = "ambiguous id",
	[SL_ESTATE] = "not allowed in this state",
	[SL_EPERM] = "not permitted",
	[SL_ESCHEMA] = "breaks the record schema",
	[SL_ECLOCK] = "clock does not rise along the chain",
};

const char *
sl_strerror(int code)
{
	if (code < 0 || code >= SL_RESULT_COUNT || result_names[code] == NULL)
		return "unknown error";
	return result_names[code];
}

/* msgpack-c writes through a callback; ours appends to a buffer whose
 * capacity the caller has already proven sufficient. */
struct out_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static int
out_write_cb(void *data, const char *buf, size_t len)
{
	struct out_buf *o = data;

	if (len > o->cap - o->len)
		return -1;
	if (len == 0)
		return 0; /* an empty payload may come as NULL */
	memcpy(o->p + o->len, buf, len);
	o->len += len;
	return 0;
}

static bool
type_valid(const char *s, size_t len)
{
	if (len < 1 || len > SL_TYPE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int
sl_draft_check(const struct sl_event_draft *d)
{
	if (d->author == NULL || d->type == NULL)
		return SL_EINVAL;
	size_t alen = strlen(d->author);

	if (alen < 1 || alen > SL_AUTHOR_MAX)
		return SL_ESIZE;
	if (!sl_utf8_valid(d->author, alen))
		return SL_EVALUE;
	if (!type_valid(d->type, strlen(d->type)))
		return SL_EVALUE;
	if (d->n_parents > SL_MAX_PARENTS)
		return SL_ESIZE;
	for (uint32_t i = 1; i < d->n_parents; i++)
		if (memcmp(d->parents[i - 1], d->parents[i], SL_HASH_LEN) >= 0)
			return SL_EVALUE;
	if (d->payload_len > SL_PAYLOAD_MAX)
		return SL_ESIZE;
	if (d->payload == NULL && d->payload_len > 0)
		return SL_EINVAL;
	return SL_OK;
}

size_t
sl_header_encode(uint8_t *out, const struct sl_event_draft *d,
    const struct sl_header_in *h)
{
	struct out_buf o = { out, 0, SL_HEADER_MAX };
	msgpack_packer pk;
	size_t alen = strlen(d->author), tlen = strlen(d->type);

	msgpack_packer_init(&pk, &o, out_write_cb);
	msgpack_pack_array(&pk, 10);
	msgpack_pack_uint64(&pk, SL_FORMAT_VERSION);
	sl_pack_bin(&pk, h->origin, SL_KEY_LEN);
	msgpack_pack_uint64(&pk, h->seq);
	if (h->prev != NULL)
		sl_pack_bin(&pk, h->prev, SL_HASH_LEN);
	else
		msgpack_pack_nil(&pk);
	msgpack_pack_uint64(&pk, h->hlc);
	sl_pack_str(&pk, d->author, alen);
	sl_pack_str(&pk, d->type, tlen);
	if (d->entity != NULL)
		sl_pack_bin(&pk, d->entity, SL_ID_LEN);
	else
		msgpack_pack_nil(&pk);
	msgpack_pack_array(&pk, d->n_parents);
	for (uint32_t i = 0; i < d->n_parents; i++)
		sl_pack_bin(&pk, d->parents[i], SL_HASH_LEN);
	sl_pack_bin(&pk, h->payload_hash, SL_HASH_LEN);
	return o.len;
}

static size_t
bin_prefix_len(size_t len)
{
	return len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
}

size_t
sl_record_size(size_t hdr_len, bool has_body, size_t payload_len)
{
	size_t n = 1 + bin_prefix_len(hdr_len) + hdr_len + 2 + SL_SIG_LEN;

	if (has_body)
		n += 1 + 2 + SL_SALT_LEN + bin_prefix_len(payload_len) +
		    payload_len;
	else
		n += 1;
	return n;
}

size_t
sl_record_encode(uint8_t *out, const uint8_t *hdr, size_t hdr_len,
    const uint8_t *sig, const uint8_t *salt, const uint8_t *payload,
    size_t payload_len)
{
	return sl_record_encode_opens(out, hdr, hdr_len, sig, salt, payload,
	    payload_len, NULL, 0);
}

size_t
sl_record_encode_opens(uint8_t *out, const uint8_t *hdr, size_t hdr_len,
    const uint8_t *sig, const uint8_t *salt, const uint8_t *payload,
    size_t payload_len, const uint8_t *opens, size_t opens_len)
{
	bool body = salt != NULL;
	struct out_buf o = { out, 0, sl_record_size(hdr_len, body,
	    payload_len) + (body && opens != NULL ? opens_len : 0) };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &o, out_write_cb);
	msgpack_pack_array(&pk, 3);
	sl_pack_bin(&pk, hdr, hdr_len);
	if (sig != NULL)
		sl_pack_bin(&pk, sig, SL_SIG_LEN);
	else
		msgpack_pack_nil(&pk);
	if (body) {
		msgpack_pack_array(&pk, opens != NULL ? 3 : 2);
		sl_pack_bin(&pk, salt, SL_SALT_LEN);
		sl_pack_bin(&pk, payload, payload_len);
		if (opens != NULL)
			out_write_cb(&o, (const char *)opens, opens_len);
	} else {
		msgpack_pack_nil(&pk);
	}
	return o.len;
}

size_t
sl_record_reopen(uint8_t *out, const struct sl_event *ev,
    const uint8_t *opens, size_t opens_len)
{
	return sl_record_encode_opens(out, ev->hdr, ev->hdr_len, ev->sig,
	    ev->salt, ev->payload, ev->payload_len, opens, opens_len);
}

/* Reads a fixed-length bin, or nil when nil_ok; *out is NULL for nil. */
static int
read_fixed_bin(struct sl_mp *r, const uint8_t **out, uint32_t len,
    bool nil_ok)
{
	uint32_t got;

	if (nil_ok && sl_mp_read_nil(r)) {
		*out = NULL;
		return SL_OK;
	}
	return sl_mp_read_bin(r, out, &got, len, len);
}

static int
header_decode(struct sl_event *ev)
{
	struct sl_mp r;
	uint32_t n;
	int rc;

	sl_mp_init(&r, ev->hdr, ev->hdr_len);
	if ((rc = sl_mp_read_array(&r, &n, 10)) != SL_OK)
		return rc;
	if (n != 10)
		return SL_EFIELDS;
	if ((rc = sl_mp_read_uint(&r, &ev->version)) != SL_OK)
		return rc;
	if (ev->version != SL_FORMAT_VERSION)
		return SL_EVERSION;
	if ((rc = read_fixed_bin(&r, &ev->origin, SL_KEY_LEN, false)) != SL_OK ||
	    (rc = sl_mp_read_uint(&r, &ev->seq)) != SL_OK ||
	    (rc = read_fixed_bin(&r, &ev->prev, SL_HASH_LEN, true)) != SL_OK ||
	    (rc = sl_mp_read_uint(&r, &ev->hlc)) != SL_OK ||
	    (rc = sl_mp_read_str(&r, &ev->author, &ev->author_len, 1,
	    SL_AUTHOR_MAX)) != SL_OK ||
	    (rc = sl_mp_read_str(&r, &ev->type, &ev->type_len, 1,
	    SL_TYPE_MAX)) != SL_OK ||
	    (rc = read_fixed_bin(&r, &ev->entity, SL_ID_LEN, true)) != SL_OK ||
	    (rc = sl_mp_read_array(&r, &ev->n_parents, SL_MAX_PARENTS)) != SL_OK)
		return rc;
	for (uint32_t i = 0; i < ev->n_parents; i++) {
		if ((rc = read_fixed_bin(&r, &ev->parents[i], SL_HASH_LEN,
		    false)) != SL_OK)
			return rc;
		/* One order only, so one set of parents has one encoding. */
		if (i > 0 && memcmp(ev->parents[i - 1], ev->parents[i],
		    SL_HASH_LEN) >= 0)
			return SL_ENONCANON;
	}
	if ((rc = read_fixed_bin(&r, &ev->payload_hash, SL_HASH_LEN,
	    false)) != SL_OK)
		return rc;
	if (!sl_mp_at_end(&r))
		return SL_ETRAIL;
	if (ev->seq == 0 || (ev->seq == 1) != (ev->prev == NULL))
		return SL_EVALUE;
	if (!sl_utf8_valid(ev->author, ev->author_len) ||
	    !type_valid(ev->type, ev->type_len))
		return SL_EVALUE;
	return SL_OK;
}

/* The openings of committed fields: an array of 1..SL_OPENS_MAX
 * [key str, fsalt bin(16), value], keys strictly ascending, and with the
 * payload within SL_PAYLOAD_MAX. */
static int
opens_decode(struct sl_event *ev, struct sl_mp *r)
{
	const uint8_t *start = r->p;
	const char *prev = NULL;
	uint32_t n, prevlen = 0;
	int rc;

	if ((rc = sl_mp_read_array(r, &n, SL_OPENS_MAX)) != SL_OK)
		return rc;
	if (n == 0)
		return SL_ENONCANON; /* no openings: a body of two */
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		const uint8_t *fs, *v;
		uint32_t kl;
		size_t vl;

		if ((rc = sl_opening_read(r, &k, &kl, &fs, &v, &vl)) != SL_OK)
			return rc;
		if (prev != NULL) {
			int c = memcmp(prev, k, kl < prevlen ? kl : prevlen);

			if (c > 0 || (c == 0 && prevlen >= kl))
				return SL_ENONCANON;
		}
		prev = k;
		prevlen = kl;
	}
	ev->opens = start;
	ev->opens_len = (uint32_t)(r->p - start);
	ev->n_opens = n;
	if ((size_t)ev->payload_len + ev->opens_len > SL_PAYLOAD_MAX)
		return SL_ESIZE;
	return SL_OK;
}

int
sl_event_decode(struct sl_event *ev, const uint8_t *buf, size_t len)
{
	struct sl_mp r;
	uint32_t n, hlen;
	int rc;

	memset(ev, 0, sizeof *ev);
	if (len > SL_EVENT_MAX)
		return SL_ESIZE;
	ev->rec = buf;
	ev->rec_len = len;
	sl_mp_init(&r, buf, len);
	if ((rc = sl_mp_read_array(&r, &n, 3)) != SL_OK)
		return rc;
	if (n != 3)
		return SL_EFIELDS;
	if ((rc = sl_mp_read_bin(&r, &ev->hdr, &hlen, 1, SL_HEADER_MAX)) != SL_OK)
		return rc;
	ev->hdr_len = hlen;
	if ((rc = read_fixed_bin(&r, &ev->sig, SL_SIG_LEN, true)) != SL_OK)
		return rc;
	if (!sl_mp_read_nil(&r)) {
		if ((rc = sl_mp_read_array(&r, &n, 3)) != SL_OK)
			return rc;
		if (n != 2 && n != 3)
			return SL_EFIELDS;
		if ((rc = read_fixed_bin(&r, &ev->salt, SL_SALT_LEN,
		    false)) != SL_OK ||
		    (rc = sl_mp_read_bin(&r, &ev->payload, &ev->payload_len, 0,
		    SL_PAYLOAD_MAX)) != SL_OK)
			return rc;
		if (n == 3 && (rc = opens_decode(ev, &r)) != SL_OK)
			return rc;
	}
	if (!sl_mp_at_end(&r))
		return SL_ETRAIL;
	return header_decode(ev);
}

int
sl_header_decode(struct sl_event *ev, const uint8_t *hdr, size_t len)
{
	memset(ev, 0, sizeof *ev);
	if (len == 0 || len > SL_HEADER_MAX)
		return SL_ESIZE;
	ev->hdr = hdr;
	ev->hdr_len = len;
	return header_decode(ev);
}

void
sl_event_hash(uint8_t out[SL_HASH_LEN], const struct sl_event *ev)
{
	sl_sha256(out, ev->hdr, ev->hdr_len);
}

void
sl_payload_hash(uint8_t out[SL_HASH_LEN], const uint8_t *salt,
    const uint8_t *payload, size_t len)
{
	sl_sha256_2(out, salt, SL_SALT_LEN, payload, len);
}

#define FIELD_DOMAIN "samlog/field/v1"

void
sl_field_commit(uint8_t out[SL_HASH_LEN], const uint8_t *fsalt,
    const char *key, size_t klen, const uint8_t *v, size_t vlen)
{
	uint8_t pre[sizeof FIELD_DOMAIN - 1 + SL_FSALT_LEN + 1 +
	    SL_FIELD_NAME_MAX];
	size_t n = sizeof FIELD_DOMAIN - 1;

	if (klen > SL_FIELD_NAME_MAX)
		klen = SL_FIELD_NAME_MAX; /* never: keys are checked first */
	memcpy(pre, FIELD_DOMAIN, n);
	memcpy(pre + n, fsalt, SL_FSALT_LEN);
	n += SL_FSALT_LEN;
	pre[n++] = (uint8_t)klen;
	memcpy(pre + n, key, klen);
	n += klen;
	sl_sha256_2(out, pre, n, v, vlen);
}

bool
sl_is_commitment(const uint8_t *v, size_t vlen)
{
	return vlen == 2 + SL_HASH_LEN && v[0] == 0xc4 && v[1] == SL_HASH_LEN;
}

int
sl_opening_read(struct sl_mp *m, const char **key, uint32_t *klen,
    const uint8_t **fsalt, const uint8_t **v, size_t *vlen)
{
	uint32_t n;
	int rc;

	if ((rc = sl_mp_read_array(m, &n, 3)) != SL_OK)
		return rc;
	if (n != 3)
		return SL_EFIELDS;
	if ((rc = sl_mp_read_str(m, key, klen, 1, SL_FIELD_NAME_MAX)) !=
	    SL_OK ||
	    (rc = read_fixed_bin(m, fsalt, SL_FSALT_LEN, false)) != SL_OK)
		return rc;
	return sl_mp_skip(m, v, vlen);
}

int
sl_event_opening(const struct sl_event *ev, const char *key, uint32_t klen,
    const uint8_t **v, size_t *vlen)
{
	struct sl_mp m;
	uint32_t n;

	if (ev->opens == NULL)
		return SL_ENOENT;
	sl_mp_init(&m, ev->opens, ev->opens_len);
	if (sl_mp_read_array(&m, &n, SL_OPENS_MAX) != SL_OK)
		return SL_ENOENT;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		const uint8_t *fs;
		uint32_t kl;

		if (sl_opening_read(&m, &k, &kl, &fs, v, vlen) != SL_OK)
			return SL_ENOENT;
		if (kl == klen && memcmp(k, key, kl) == 0)
			return SL_OK;
	}
	return SL_ENOENT;
}

/* The payload's value of key (one msgpack value), or false. */
static bool
payload_value(const struct sl_event *ev, const char *key, uint32_t klen,
    const uint8_t **v, size_t *vlen)
{
	struct sl_mp m;
	uint32_t n;

	sl_mp_init(&m, ev->payload, ev->payload_len);
	if (sl_mp_read_map(&m, &n, 256) != SL_OK)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;

		if (sl_mp_read_str(&m, &k, &kl, 0, SL_PAYLOAD_MAX) != SL_OK ||
		    sl_mp_skip(&m, v, vlen) != SL_OK)
			return false;
		if (kl == klen && memcmp(k, key, kl) == 0)
			return true;
	}
	return false;
}

int
sl_event_check_payload(const struct sl_event *ev)
{
	uint8_t h[SL_HASH_LEN];
	struct sl_mp m;
	uint32_t n;

	if (ev->salt == NULL)
		return SL_OK;
	sl_payload_hash(h, ev->salt, ev->payload, ev->payload_len);
	if (memcmp(h, ev->payload_hash, SL_HASH_LEN) != 0)
		return SL_EPAYLOAD;
	if (ev->opens == NULL)
		return SL_OK;
	/* Each opening opens the commitment its key holds. */
	sl_mp_init(&m, ev->opens, ev->opens_len);
	if (sl_mp_read_array(&m, &n, SL_OPENS_MAX) != SL_OK)
		return SL_EPAYLOAD;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		const uint8_t *fs, *v, *c;
		uint32_t kl;
		size_t vl, cl;

		if (sl_opening_read(&m, &k, &kl, &fs, &v, &vl) != SL_OK ||
		    !payload_value(ev, k, kl, &c, &cl) ||
		    !sl_is_commitment(c, cl))
			return SL_EPAYLOAD;
		sl_field_commit(h, fs, k, kl, v, vl);
		if (memcmp(h, c + 2, SL_HASH_LEN) != 0)
			return SL_EPAYLOAD;
	}
	return SL_OK;
}

int
sl_seal_payload(const uint8_t *plain, size_t plen,
    bool (*personal)(void *ctx, const char *key, size_t klen), void *ctx,
    const uint8_t *fsalts, struct sl_buf *payload, struct sl_buf *opens)
{
	uint32_t n, ns = 0;
	struct sl_mp m;
	msgpack_packer pp, po;
	/* Drawn at the first field sealed, for all of them: one call to
	 * the OS per event, none for an event with no personal field. */
	uint8_t drawn[SL_OPENS_MAX * SL_FSALT_LEN];

	payload->len = 0;
	opens->len = 0;
	msgpack_packer_init(&pp, payload, sl_buf_write);
	msgpack_packer_init(&po, opens, sl_buf_write);
	sl_mp_init(&m, plain, plen);
	if (sl_mp_read_map(&m, &n, 256) != SL_OK)
		return SL_EINVAL;
	msgpack_pack_map(&pp, n);
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		const uint8_t *v;
		size_t vl;

		if (sl_mp_read_str(&m, &k, &kl, 1, SL_FIELD_NAME_MAX) !=
		    SL_OK || sl_mp_skip(&m, &v, &vl) != SL_OK)
			return SL_EINVAL;
		sl_pack_str(&pp, k, kl);
		/* nil clears a field: nothing personal to commit. */
		if (ns < SL_OPENS_MAX && !(vl == 1 && v[0] == 0xc0) &&
		    personal(ctx, k, kl)) {
			uint8_t c[SL_HASH_LEN];
			uint8_t fs[SL_FSALT_LEN];

			if (fsalts == NULL && ns == 0)
				sl_random(drawn, sizeof drawn);
			memcpy(fs, (fsalts != NULL ? fsalts : drawn) +
			    (size_t)ns * SL_FSALT_LEN, SL_FSALT_LEN);
			sl_field_commit(c, fs, k, kl, v, vl);
			sl_pack_bin(&pp, c, SL_HASH_LEN);
			if (ns == 0)
				msgpack_pack_array(&po, 0); /* patched below */
			msgpack_pack_array(&po, 3);
			sl_pack_str(&po, k, kl);
			sl_pack_bin(&po, fs, SL_FSALT_LEN);
			sl_buf_write(opens, (const char *)v, vl);
			ns++;
		} else {
			sl_buf_write(payload, (const char *)v, vl);
		}
	}
	if (!sl_mp_at_end(&m))
		return SL_EINVAL;
	if (payload->failed || opens->failed)
		return SL_ENOMEM;
	if (ns == 0) {
		opens->len = 0;
		return SL_OK;
	}
	/* SL_OPENS_MAX <= 15: the array header is one byte (fixarray). */
	opens->p[0] = (uint8_t)(0x90 | ns);
	return SL_OK;
}

void
sl_entity_id(uint8_t out[SL_ID_LEN], const uint8_t hash[SL_HASH_LEN])
{
	memcpy(out, hash, SL_ID_LEN);
}

int
sl_event_pack_changes(msgpack_packer *pk, const struct sl_event *ev)
{
	struct sl_mp m;
	uint32_t n;

	if (ev->payload == NULL) {
		msgpack_pack_map(pk, 0);
		return SL_OK;
	}
	sl_mp_init(&m, ev->payload, ev->payload_len);
	if (sl_mp_read_map(&m, &n, 256) != SL_OK) {
		msgpack_pack_map(pk, 0);
		return SL_OK;
	}
	msgpack_pack_map(pk, n);
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		const uint8_t *v;
		size_t vl;
		struct sl_mp vm;

		if (sl_mp_read_str(&m, &k, &kl, 0, SL_PAYLOAD_MAX) != SL_OK ||
		    sl_mp_skip(&m, &v, &vl) != SL_OK)
			return SL_EINVAL; /* checked at ingest: never */
		sl_pack_str(pk, k, kl);
		if (sl_is_commitment(v, vl) &&
		    sl_event_opening(ev, k, kl, &v, &vl) != SL_OK) {
			msgpack_pack_nil(pk); /* erased */
			continue;
		}
		sl_mp_init(&vm, v, vl);
		if (sl_mp_repack(&vm, pk, 8) != SL_OK)
			msgpack_pack_nil(pk);
	}
	return SL_OK;
}

uint32_t
sl_event_erased(const struct sl_event *ev, const char **keys, uint32_t *klens,
    uint32_t max)
{
	struct sl_mp m;
	uint32_t n, found = 0;

	if (ev->payload == NULL)
		return 0;
	sl_mp_init(&m, ev->payload, ev->payload_len);
	if (sl_mp_read_map(&m, &n, 256) != SL_OK)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		const uint8_t *v, *ov;
		size_t vl, ovl;

		if (sl_mp_read_str(&m, &k, &kl, 0, SL_PAYLOAD_MAX) != SL_OK ||
		    sl_mp_skip(&m, &v, &vl) != SL_OK)
			break;
		if (!sl_is_commitment(v, vl) ||
		    sl_event_opening(ev, k, kl, &ov, &ovl) == SL_OK)
			continue;
		if (found < max) {
			keys[found] = k;
			klens[found] = kl;
		}
		found++;
	}
	return found;
}
