/*
 * base32.c - the text form of node ids and record ids.
 *
 * Crockford's alphabet in lower case (digits, then letters without i, l, o
 * and u), most significant bit first, no padding.  Ids are read aloud and
 * typed by hand, so the alphabet avoids look-alike letters; decoding
 * accepts upper case too but no other substitutions, so that every id has
 * exactly one spelling up to case.
 */
#include <string.h>

#include "samlog_proto.h"

static const char b32_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* Value of a character, or -1. */
static int
b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	const char *p = c != '\0' ? strchr(b32_alphabet, c) : NULL;

	return p != NULL ? (int)(p - b32_alphabet) : -1;
}

void
sl_b32_encode(char *out, const uint8_t *data, size_t len)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

bool
sl_b32_decode(uint8_t *out, size_t len, const char *text)
{
	size_t want = SL_B32_LEN(len);
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (strlen(text) != want)
		return false;
	for (size_t i = 0; i < want; i++) {
		int v = b32_value(text[i]);

		if (v < 0)
			return false;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* The last character's spare bits must be zero: one spelling only. */
	return (acc & ((1u << bits) - 1)) == 0;
}

bool
sl_b32_valid_prefix(const char *text, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b32_value(text[i]) < 0)
			return false;
	return true;
}

/*
 * Fingerprints are prefixes of the id rather than a hash of the key, so
 * that an auditor can hold one against the node ids the members'
 * configurations already name.  16 characters are the key's first 80
 * bits: finding another key with the same ones takes some 2^80 key
 * generations.
 */
void
sl_fingerprint(char out[SL_FPR_TEXT + 1], const uint8_t key[SL_KEY_LEN])
{
	char id[SL_NODE_ID_TEXT + 1];

	sl_b32_encode(id, key, SL_KEY_LEN);
	memcpy(out, id, SL_FPR_TEXT);
	out[SL_FPR_TEXT] = '\0';
}

bool
sl_fingerprint_valid(const char *text, size_t n)
{
	return n >= SL_FPR_TEXT && n <= SL_NODE_ID_TEXT &&
	    sl_b32_valid_prefix(text, n);
}

bool
sl_fingerprint_match(const char *text, size_t n, const uint8_t key[SL_KEY_LEN])
{
	char id[SL_NODE_ID_TEXT + 1];

	if (!sl_fingerprint_valid(text, n))
		return false;
	sl_b32_encode(id, key, SL_KEY_LEN);
	for (size_t i = 0; i < n; i++)
		if (b32_value(text[i]) != b32_value(id[i]))
			return false;
	return true;
}

void
sl_hex_encode(char *out, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = '\0';
}
