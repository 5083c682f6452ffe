/*
 * mp.c - a strict, canonical msgpack reader for the fixed-shape structures
 * of the protocol (event records, frames).
 *
 * msgpack-c's unpacker builds an object tree and accepts any encoding of a
 * value (a 5 stored in eight bytes is still 5).  Our hashes cover bytes, so
 * the decoder must see the bytes themselves: this reader walks the buffer
 * in place, checks every length against what is left before touching it,
 * and refuses any value that is not in its shortest form.  It allocates
 * nothing and is small enough to read in one sitting, which matters for
 * the one piece of code every byte from outside passes through.
 */
#include <stdlib.h>
#include <string.h>

#include "samlog_proto.h"

void
sl_mp_init(struct sl_mp *r, const void *buf, size_t len)
{
	r->p = buf;
	/* NULL with 0 is an empty reader (NULL + 0 is undefined in C). */
	r->end = buf != NULL ? r->p + len : r->p;
}

static size_t
mp_left(const struct sl_mp *r)
{
	return (size_t)(r->end - r->p);
}

uint64_t
sl_get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

bool
sl_mp_at_end(const struct sl_mp *r)
{
	return r->p == r->end;
}

bool
sl_mp_peek_nil(const struct sl_mp *r)
{
	return r->p < r->end && *r->p == 0xc0;
}

bool
sl_mp_read_nil(struct sl_mp *r)
{
	if (!sl_mp_peek_nil(r))
		return false;
	r->p++;
	return true;
}

int
sl_mp_read_uint(struct sl_mp *r, uint64_t *v)
{
	int n;
	uint64_t min;

	if (mp_left(r) < 1)
		return SL_ETRUNC;
	uint8_t b = r->p[0];
	if (b <= 0x7f) {
		*v = b;
		r->p++;
		return SL_OK;
	}
	switch (b) {
	case 0xcc: n = 1; min = 0x80; break;
	case 0xcd: n = 2; min = 0x100; break;
	case 0xce: n = 4; min = 0x10000; break;
	case 0xcf: n = 8; min = 0x100000000ULL; break;
	default: return SL_ETYPE;
	}
	if (mp_left(r) < (size_t)n + 1)
		return SL_ETRUNC;
	uint64_t x = sl_get_be(r->p + 1, n);
	if (x < min)
		return SL_ENONCANON;
	*v = x;
	r->p += 1 + n;
	return SL_OK;
}

/* Reads the length prefix of a bin (is_str false) or str; on success the
 * cursor is left on the first data byte and *len is checked against what
 * remains. */
static int
mp_read_len(struct sl_mp *r, bool is_str, uint32_t *len, size_t *hdr)
{
	if (mp_left(r) < 1)
		return SL_ETRUNC;
	uint8_t b = r->p[0];
	int n;
	uint64_t min;

	if (is_str && b >= 0xa0 && b <= 0xbf) {
		*len = b & 0x1f;
		*hdr = 1;
		goto check;
	}
	switch (b) {
	case 0xc4: if (is_str) return SL_ETYPE; n = 1; min = 0; break;
	case 0xc5: if (is_str) return SL_ETYPE; n = 2; min = 0x100; break;
	case 0xc6: if (is_str) return SL_ETYPE; n = 4; min = 0x10000; break;
	case 0xd9: if (!is_str) return SL_ETYPE; n = 1; min = 0x20; break;
	case 0xda: if (!is_str) return SL_ETYPE; n = 2; min = 0x100; break;
	case 0xdb: if (!is_str) return SL_ETYPE; n = 4; min = 0x10000; break;
	default: return SL_ETYPE;
	}
	if (mp_left(r) < (size_t)n + 1)
		return SL_ETRUNC;
	uint64_t x = sl_get_be(r->p + 1, n);
	if (x < min)
		return SL_ENONCANON;
	*len = (uint32_t)x;
	*hdr = 1 + (size_t)n;
check:
	if (mp_left(r) - *hdr < *len)
		return SL_ETRUNC;
	return SL_OK;
}

/* A bin (is_str false) or str of length in [min, max]. */
static int
mp_read_bytes(struct sl_mp *r, bool is_str, const uint8_t **data,
    uint32_t *len, uint32_t min, uint32_t max)
{
	uint32_t l;
	size_t hdr;
	int rc = mp_read_len(r, is_str, &l, &hdr);

	if (rc != SL_OK)
		return rc;
	if (l < min || l > max)
		return SL_ESIZE;
	*data = r->p + hdr;
	*len = l;
	r->p += hdr + l;
	return SL_OK;
}

int
sl_mp_read_bin(struct sl_mp *r, const uint8_t **data, uint32_t *len,
    uint32_t min, uint32_t max)
{
	return mp_read_bytes(r, false, data, len, min, max);
}

int
sl_mp_read_str(struct sl_mp *r, const char **s, uint32_t *len, uint32_t min,
    uint32_t max)
{
	/* Through a pointer of the right type: writing a char pointer
	 * through a uint8_t ** breaks the aliasing rules, and once inlined
	 * the compiler may act on that. */
	const uint8_t *d;
	int rc = mp_read_bytes(r, true, &d, len, min, max);

	if (rc == SL_OK)
		*s = (const char *)d;
	return rc;
}

/* Reads an array (fix 0x90, 16-bit 0xdc, 32-bit 0xdd) or map (0x80,
 * 0xde, 0xdf) header.  per is the fewest bytes one element takes (1 for
 * an array, 2 for a map's key and value): a count larger than what is
 * left can never be satisfied and is refused before anyone loops on it. */
static int
mp_read_count(struct sl_mp *r, uint32_t *n, uint32_t max, uint8_t fix,
    uint8_t t16, size_t per)
{
	if (mp_left(r) < 1)
		return SL_ETRUNC;
	uint8_t b = r->p[0];
	uint64_t x;
	size_t hdr;

	if (b >= fix && b <= fix + 0x0f) {
		x = b & 0x0f;
		hdr = 1;
	} else if (b == t16 || b == t16 + 1) {
		hdr = b == t16 ? 3 : 5;
		if (mp_left(r) < hdr)
			return SL_ETRUNC;
		x = sl_get_be(r->p + 1, (int)hdr - 1);
		if (x < (b == t16 ? 0x10u : 0x10000u))
			return SL_ENONCANON;
	} else {
		return SL_ETYPE;
	}
	if (x > max)
		return SL_EFIELDS;
	if (x > (mp_left(r) - hdr) / per)
		return SL_ETRUNC;
	*n = (uint32_t)x;
	r->p += hdr;
	return SL_OK;
}

int
sl_mp_read_array(struct sl_mp *r, uint32_t *n, uint32_t max)
{
	return mp_read_count(r, n, max, 0x90, 0xdc, 1);
}

int
sl_mp_read_map(struct sl_mp *r, uint32_t *n, uint32_t max)
{
	return mp_read_count(r, n, max, 0x80, 0xde, 2);
}

bool
sl_mp_is_map(const struct sl_mp *r)
{
	if (r->p >= r->end)
		return false;
	return (*r->p >= 0x80 && *r->p <= 0x8f) || *r->p == 0xde ||
	    *r->p == 0xdf;
}

/* Well-formed UTF-8; with controls false, also no C0 control or DEL. */
static bool
utf8_ok(const char *str, size_t len, bool controls)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			if (!controls && (c < 0x20 || c == 0x7f))
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and values above U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

bool
sl_utf8_valid(const char *str, size_t len)
{
	return utf8_ok(str, len, false);
}

static int
mp_repack(struct sl_mp *r, msgpack_packer *pk, int depth)
{
	const uint8_t *b = NULL;
	const char *s = NULL;
	uint32_t n;
	uint64_t u;
	bool t;
	int rc;

	if (depth < 0)
		return SL_ESIZE;
	if (sl_mp_read_nil(r)) {
		msgpack_pack_nil(pk);
		return SL_OK;
	}
	if (sl_mp_read_bool(r, &t) == SL_OK) {
		sl_pack_bool(pk, t);
		return SL_OK;
	}
	if (sl_mp_read_uint(r, &u) == SL_OK) {
		msgpack_pack_uint64(pk, u);
		return SL_OK;
	}
	if (sl_mp_read_str(r, &s, &n, 0, UINT32_MAX) == SL_OK) {
		/* Controls are the printer's to escape; a str must still be
		 * text. */
		if (!utf8_ok(s, n, true))
			return SL_EVALUE;
		sl_pack_str(pk, s, n);
		return SL_OK;
	}
	if (sl_mp_read_bin(r, &b, &n, 0, UINT32_MAX) == SL_OK) {
		sl_pack_bin(pk, b, n);
		return SL_OK;
	}
	if (sl_mp_read_array(r, &n, UINT32_MAX) == SL_OK) {
		msgpack_pack_array(pk, n);
		for (uint32_t i = 0; i < n; i++)
			if ((rc = mp_repack(r, pk, depth - 1)) != SL_OK)
				return rc;
		return SL_OK;
	}
	if (sl_mp_read_map(r, &n, UINT32_MAX) == SL_OK) {
		msgpack_pack_map(pk, n);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t kl;

			if (sl_mp_read_str(r, &s, &kl, 0, UINT32_MAX) != SL_OK)
				return SL_ETYPE;
			if (!utf8_ok(s, kl, true))
				return SL_EVALUE;
			sl_pack_str(pk, s, kl);
			if ((rc = mp_repack(r, pk, depth - 1)) != SL_OK)
				return rc;
		}
		return SL_OK;
	}
	return SL_ETYPE;
}

int
sl_mp_repack(struct sl_mp *r, msgpack_packer *pk, int depth)
{
	struct sl_buf g = { 0 };
	struct sl_mp m = *r;
	msgpack_packer tmp;
	int rc;

	/* Into a scratch buffer first: a value that fails half-way must
	 * leave nothing in the reply. */
	msgpack_packer_init(&tmp, &g, sl_buf_write);
	if ((rc = mp_repack(&m, &tmp, depth)) == SL_OK && g.failed)
		rc = SL_ENOMEM;
	if (rc == SL_OK) {
		pk->callback(pk->data, (const char *)g.p, g.len);
		*r = m;
	}
	free(g.p);
	return rc;
}

int
sl_mp_read_bool(struct sl_mp *r, bool *v)
{
	if (mp_left(r) < 1)
		return SL_ETRUNC;
	if (r->p[0] != 0xc2 && r->p[0] != 0xc3)
		return SL_ETYPE;
	*v = r->p[0] == 0xc3;
	r->p++;
	return SL_OK;
}

/* Skips one value; depth bounds the recursion on hostile input. */
static int
mp_skip(struct sl_mp *r, int depth)
{
	uint8_t b;
	uint64_t n = 0, body = 0, count = 0;
	size_t hdr = 1;

	if (depth > 16)
		return SL_ESIZE;
	if (mp_left(r) < 1)
		return SL_ETRUNC;
	b = r->p[0];
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
		body = 0;
	} else if (b >= 0x80 && b <= 0x8f) {
		count = 2 * (uint64_t)(b & 0x0f);
	} else if (b >= 0x90 && b <= 0x9f) {
		count = b & 0x0f;
	} else if (b >= 0xa0 && b <= 0xbf) {
		body = b & 0x1f;
	} else {
		static const struct { uint8_t tag, lenbytes, fixed, kind; } t[] = {
			/* kind 0: fixed body; 1: length-prefixed body;
			 * 2: array count; 3: map count; 4: ext (len + type) */
			{ 0xc4, 1, 0, 1 }, { 0xc5, 2, 0, 1 }, { 0xc6, 4, 0, 1 },
			{ 0xc7, 1, 1, 4 }, { 0xc8, 2, 1, 4 }, { 0xc9, 4, 1, 4 },
			{ 0xca, 0, 4, 0 }, { 0xcb, 0, 8, 0 }, { 0xcc, 0, 1, 0 },
			{ 0xcd, 0, 2, 0 }, { 0xce, 0, 4, 0 }, { 0xcf, 0, 8, 0 },
			{ 0xd0, 0, 1, 0 }, { 0xd1, 0, 2, 0 }, { 0xd2, 0, 4, 0 },
			{ 0xd3, 0, 8, 0 }, { 0xd4, 0, 2, 0 }, { 0xd5, 0, 3, 0 },
			{ 0xd6, 0, 5, 0 }, { 0xd7, 0, 9, 0 }, { 0xd8, 0, 17, 0 },
			{ 0xd9, 1, 0, 1 }, { 0xda, 2, 0, 1 }, { 0xdb, 4, 0, 1 },
			{ 0xdc, 2, 0, 2 }, { 0xdd, 4, 0, 2 }, { 0xde, 2, 0, 3 },
			{ 0xdf, 4, 0, 3 },
		};
		size_t i;

		for (i = 0; i < sizeof t / sizeof t[0] && t[i].tag != b; i++)
			;
		if (i == sizeof t / sizeof t[0])
			return SL_ETYPE; /* 0xc1, never used */
		if (mp_left(r) < 1u + t[i].lenbytes)
			return SL_ETRUNC;
		n = t[i].lenbytes ? sl_get_be(r->p + 1, t[i].lenbytes) : 0;
		hdr = 1u + t[i].lenbytes;
		switch (t[i].kind) {
		case 0: body = t[i].fixed; break;
		case 1: body = n; break;
		case 2: count = n; break;
		case 3: count = 2 * n; break;
		default: body = n + 1; break;
		}
	}
	if (body > mp_left(r) - hdr || count > mp_left(r) - hdr)
		return SL_ETRUNC;
	r->p += hdr + body;
	for (uint64_t i = 0; i < count; i++) {
		int rc = mp_skip(r, depth + 1);

		if (rc != SL_OK)
			return rc;
	}
	return SL_OK;
}

int
sl_mp_skip(struct sl_mp *r, const uint8_t **start, size_t *len)
{
	const uint8_t *s = r->p;
	int rc = mp_skip(r, 0);

	if (rc != SL_OK) {
		r->p = s;
		return rc;
	}
	if (start != NULL)
		*start = s;
	if (len != NULL)
		*len = (size_t)(r->p - s);
	return SL_OK;
}

int
sl_buf_write(void *buf, const char *data, size_t len)
{
	struct sl_buf *b = buf;

	if (b->failed)
		return -1;
	if (len > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap - b->len < len)
			cap *= 2;
		uint8_t *np = realloc(b->p, cap);

		if (np == NULL) {
			free(b->p);
			*b = (struct sl_buf){ .failed = true };
			return -1;
		}
		b->p = np;
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}
