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
#include <string.h>

#include "samlog_proto.h"

void
sl_mp_init(struct sl_mp *r, const void *buf, size_t len)
{
	r->p = buf;
	r->end = r->p + len;
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
	return mp_read_bytes(r, true, (const uint8_t **)s, len, min, max);
}

int
sl_mp_read_array(struct sl_mp *r, uint32_t *n, uint32_t max)
{
	if (mp_left(r) < 1)
		return SL_ETRUNC;
	uint8_t b = r->p[0];
	uint64_t x;
	size_t hdr;

	if (b >= 0x90 && b <= 0x9f) {
		x = b & 0x0f;
		hdr = 1;
	} else if (b == 0xdc || b == 0xdd) {
		hdr = b == 0xdc ? 3 : 5;
		if (mp_left(r) < hdr)
			return SL_ETRUNC;
		x = sl_get_be(r->p + 1, (int)hdr - 1);
		if (x < (b == 0xdc ? 0x10u : 0x10000u))
			return SL_ENONCANON;
	} else {
		return SL_ETYPE;
	}
	if (x > max)
		return SL_EFIELDS;
	/* Each element takes at least one byte: a count larger than what is
	 * left can never be satisfied. */
	if (x > mp_left(r) - hdr)
		return SL_ETRUNC;
	*n = (uint32_t)x;
	r->p += hdr;
	return SL_OK;
}

bool
sl_utf8_valid(const char *str, size_t len)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
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
