/*
 * text.c - comparing and ordering the text people type.
 *
 * Names and titles are matched case-insensitively, Swedish letters
 * included (Å and å are one letter), whether a keyboard sent "å" as one
 * code point or as "a" and a combining ring (NFC and NFD look the same
 * on screen), and they are listed in Swedish alphabetical order: a-z,
 * then å, ä, ö.  This is not full Unicode collation: it covers the Latin
 * letters Swedish offices meet (Latin-1 and the combining marks that
 * build å, ä, ö, é, ü), and leaves every other character as it is, so a
 * comparison is always exact where it is not folded.
 */
#include <string.h>

#include "samlog_proto.h"

/* Latin-1 letter (U+00C0..U+00FF) folded to its lower case. */
static unsigned
lower1(unsigned cp)
{
	if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
		return cp + 0x20;
	return cp;
}

/* The composed letter for base + combining mark, or 0. */
static unsigned
compose(unsigned base, unsigned mark)
{
	static const struct {
		char base;
		unsigned mark, out;
	} t[] = {
		{ 'a', 0x30a, 0xe5 }, { 'a', 0x308, 0xe4 }, { 'o', 0x308, 0xf6 },
		{ 'e', 0x301, 0xe9 }, { 'e', 0x300, 0xe8 }, { 'u', 0x308, 0xfc },
		{ 'a', 0x301, 0xe1 }, { 'a', 0x300, 0xe0 }, { 'e', 0x308, 0xeb },
		{ 'i', 0x308, 0xef }, { 'n', 0x303, 0xf1 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if ((unsigned)t[i].base == base && t[i].mark == mark)
			return t[i].out;
	return 0;
}

/* Decodes one UTF-8 code point at s[*i] (invalid bytes as themselves). */
static unsigned
next_cp(const char *s, size_t n, size_t *i, size_t *len)
{
	const unsigned char *u = (const unsigned char *)s + *i;
	size_t left = n - *i;

	if (u[0] < 0x80 || left < 2) {
		*len = 1;
		return u[0];
	}
	if ((u[0] & 0xe0) == 0xc0 && (u[1] & 0xc0) == 0x80) {
		*len = 2;
		return ((unsigned)(u[0] & 0x1f) << 6) | (u[1] & 0x3f);
	}
	if ((u[0] & 0xf0) == 0xe0 && left >= 3 && (u[1] & 0xc0) == 0x80 &&
	    (u[2] & 0xc0) == 0x80) {
		*len = 3;
		return ((unsigned)(u[0] & 0x0f) << 12) |
		    ((unsigned)(u[1] & 0x3f) << 6) | (u[2] & 0x3f);
	}
	*len = 1;
	return u[0];
}

static size_t
put_cp(char *out, size_t o, size_t max, unsigned cp)
{
	if (cp < 0x80) {
		if (o + 1 <= max)
			out[o] = (char)cp;
		return o + 1;
	}
	if (cp < 0x800) {
		if (o + 2 <= max) {
			out[o] = (char)(0xc0 | (cp >> 6));
			out[o + 1] = (char)(0x80 | (cp & 0x3f));
		}
		return o + 2;
	}
	if (o + 3 <= max) {
		out[o] = (char)(0xe0 | (cp >> 12));
		out[o + 1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[o + 2] = (char)(0x80 | (cp & 0x3f));
	}
	return o + 3;
}

size_t
sl_text_fold(const char *s, size_t n, char *out, size_t max)
{
	size_t o = 0, i = 0, len;
	unsigned prev = 0;
	size_t prev_at = 0;

	if (max == 0)
		return 0;
	/* Plain ASCII: lower case is all there is to do. */
	while (o < n && (unsigned char)s[o] < 0x80)
		o++;
	if (o == n) {
		if (n >= max)
			n = max - 1;
		for (i = 0; i < n; i++)
			out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ?
			    s[i] + ('a' - 'A') : s[i]);
		out[n] = '\0';
		return n;
	}
	o = 0;

	while (i < n) {
		unsigned cp = next_cp(s, n, &i, &len);
		unsigned c;

		i += len;
		if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		cp = lower1(cp);
		/* A combining mark after a base letter: one letter. */
		if (prev != 0 && (c = compose(prev, cp)) != 0) {
			o = put_cp(out, prev_at, max, c);
			prev = 0;
			continue;
		}
		prev_at = o;
		prev = cp < 0x80 ? cp : 0;
		o = put_cp(out, o, max, cp);
	}
	if (o < max)
		out[o] = '\0';
	else if (max > 0)
		out[max - 1] = '\0';
	return o < max ? o : max ? max - 1 : 0;
}

size_t
sl_text_key(const char *s, size_t n, uint8_t *out, size_t max)
{
	char f[4 * SL_TEXT_MAX + 4];
	size_t ascii = 0;

	/* Most keys are plain ASCII (ids, dates, words): lower case is all
	 * there is to do. */
	while (ascii < n && ascii < max && (unsigned char)s[ascii] < 0x80)
		ascii++;
	if (ascii == n || ascii == max) {
		for (size_t i = 0; i < ascii; i++)
			out[i] = (uint8_t)(s[i] >= 'A' && s[i] <= 'Z' ?
			    s[i] + ('a' - 'A') : s[i]);
		return ascii;
	}
	size_t cap = (size_t)SL_TEXT_MAX * 2;
	size_t fn = sl_text_fold(s, n < cap ? n : cap, f, sizeof f);
	size_t o = 0, i = 0, len;

	while (i < fn && o < max) {
		unsigned cp = next_cp(f, fn, &i, &len);
		int k = -1;

		switch (cp) {
		case 0xe5: k = 0x7b; break;            /* å after z */
		case 0xe4: case 0xe6: k = 0x7c; break; /* ä, æ */
		case 0xf6: case 0xf8: k = 0x7d; break; /* ö, ø */
		case 0xe9: case 0xe8: case 0xea: case 0xeb: k = 'e'; break;
		case 0xe1: case 0xe0: case 0xe2: k = 'a'; break;
		case 0xfc: k = 'y'; break;             /* ü sorts as y */
		case 0xef: case 0xed: case 0xee: k = 'i'; break;
		case 0xf3: case 0xf2: case 0xf4: k = 'o'; break;
		case 0xf1: k = 'n'; break;
		default: break;
		}
		if (k >= 0) {
			out[o++] = (uint8_t)k;
		} else {
			for (size_t j = 0; j < len && o < max; j++)
				out[o++] = (uint8_t)f[i + j];
		}
		i += len;
	}
	return o;
}

bool
sl_text_contains(const char *hay, size_t hn, const char *needle_folded,
    size_t nn)
{
	char f[4 * SL_LONGTEXT_MAX + 4];
	size_t fn;

	if (nn == 0)
		return true;
	if (hn > SL_LONGTEXT_MAX)
		hn = SL_LONGTEXT_MAX;
	fn = sl_text_fold(hay, hn, f, sizeof f);
	return memmem(f, fn, needle_folded, nn) != NULL;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* d[0..10): YYMMDDNNNN; a real month, a day 1..31 (or 61..91, a
 * samordningsnummer) and the Luhn check digit last. */
static bool
pnr_ten(const char *d)
{
	int mm = (d[2] - '0') * 10 + (d[3] - '0');
	int dd = (d[4] - '0') * 10 + (d[5] - '0');
	int sum = 0;

	if (mm < 1 || mm > 12)
		return false;
	if (dd > 60)
		dd -= 60;
	if (dd < 1 || dd > 31)
		return false;
	for (int i = 0; i < 9; i++) {
		int v = (d[i] - '0') * (i % 2 == 0 ? 2 : 1);

		sum += v > 9 ? v - 9 : v;
	}
	return (10 - sum % 10) % 10 == d[9] - '0';
}

bool
sl_text_pnr(const char *s, size_t n, size_t *at)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || (i > 0 && s[i - 1] >= '0' &&
		    s[i - 1] <= '9'))
			continue;
		/* YYMMDD-NNNN (or +), or YYYYMMDD with 19 or 20 first and
		 * the dash optional: a bare ten digits is a phone number
		 * more often than not. */
		for (size_t cent = 0; cent <= 2; cent += 2) {
			size_t j = i + cent;
			char d[10];
			bool sep;

			if (j + 6 > n || !all_digits(s + i, cent + 6) ||
			    (cent && !((s[i] == '1' && s[i + 1] == '9') ||
			    (s[i] == '2' && s[i + 1] == '0'))))
				continue;
			memcpy(d, s + j, 6);
			j += 6;
			sep = j < n && (s[j] == '-' || (!cent && s[j] == '+'));
			j += sep;
			if ((!cent && !sep) || j + 4 > n ||
			    !all_digits(s + j, 4) ||
			    (j + 4 < n && s[j + 4] >= '0' && s[j + 4] <= '9'))
				continue;
			memcpy(d + 6, s + j, 4);
			if (pnr_ten(d)) {
				if (at != NULL)
					*at = i;
				return true;
			}
		}
	}
	return false;
}
