/*
 * erasure.c - the erasure event (PROTOCOL.md 5.2): an organisation's
 * signed word that the personal fields of some events are to be erased,
 * and on what ground.
 *
 * The payload, keys ascending:
 *     decision  str: a disposal decision's record id (optional)
 *     fields    array of str: the fields to erase (absent: every
 *               personal field the events carry)
 *     ground    str: the ground, in words (optional)
 *     record    str: the record the events belong to
 *     targets   array of bin(32): the events, by hash, ascending
 * with a ground, a decision or both.  What a node does with it (at once,
 * or once the decision is adopted) is the node's policy; whose events it
 * may touch is the rule of 5.2, checked where it is applied.
 */
#include <string.h>

#include "samlog_proto.h"

/* Each target is a bin8 of 32 bytes: two bytes of header, then the hash. */
#define TARGET_SIZE (2 + SL_HASH_LEN)

int
sl_hashes_check(const uint8_t *v, size_t len, char *w, size_t wlen)
{
	struct sl_mp m;
	const uint8_t *prev = NULL;
	uint32_t n;

	sl_mp_init(&m, v, len);
	if (sl_mp_read_array(&m, &n, SL_ERASE_MAX) != SL_OK || n == 0)
		return sl_why(w, wlen, "is not a list of 1 to %d event hashes",
		    SL_ERASE_MAX);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *h;
		uint32_t hl;

		if (sl_mp_read_bin(&m, &h, &hl, SL_HASH_LEN, SL_HASH_LEN) !=
		    SL_OK)
			return sl_why(w, wlen, "holds a value that is not an "
			    "event hash (%d bytes)", SL_HASH_LEN);
		if (prev != NULL && memcmp(prev, h, SL_HASH_LEN) >= 0)
			return sl_why(w, wlen, "is not in ascending order or "
			    "repeats a hash");
		prev = h;
	}
	if (!sl_mp_at_end(&m))
		return sl_why(w, wlen, "has bytes after its value");
	return SL_OK;
}

static bool
field_name_ok(const char *s, uint32_t n)
{
	if (n == 0 || n > SL_FIELD_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static bool
id_text(const char *s, uint32_t n, uint8_t out[SL_ID_LEN])
{
	char t[SL_ID_TEXT + 1];

	if (n != SL_ID_TEXT)
		return false;
	memcpy(t, s, n);
	t[n] = '\0';
	return sl_b32_decode(out, SL_ID_LEN, t);
}

int
sl_erasure_decode(const uint8_t *payload, size_t plen, struct sl_erasure *e)
{
	struct sl_mp m;
	uint32_t n;

	memset(e, 0, sizeof *e);
	if (payload == NULL)
		return SL_EINVAL;
	sl_mp_init(&m, payload, plen);
	if (sl_mp_read_map(&m, &n, 16) != SL_OK)
		return SL_ESCHEMA;
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *s;
		uint32_t kl, sl;
		const uint8_t *v;
		size_t vl;

		if (sl_mp_read_str(&m, &k, &kl, 1, SL_FIELD_NAME_MAX) != SL_OK)
			return SL_ESCHEMA;
		if (kl == 8 && memcmp(k, "decision", 8) == 0) {
			if (sl_mp_read_str(&m, &s, &sl, 0, SL_ID_TEXT) != SL_OK ||
			    !id_text(s, sl, e->decision))
				return SL_ESCHEMA;
			e->has_decision = true;
		} else if (kl == 6 && memcmp(k, "fields", 6) == 0) {
			if (sl_mp_read_array(&m, &e->nfields, SL_OPENS_MAX) !=
			    SL_OK || e->nfields == 0)
				return SL_ESCHEMA;
			for (uint32_t j = 0; j < e->nfields; j++) {
				if (sl_mp_read_str(&m, &e->field[j],
				    &e->field_len[j], 1, SL_FIELD_NAME_MAX) !=
				    SL_OK || !field_name_ok(e->field[j],
				    e->field_len[j]))
					return SL_ESCHEMA;
				for (uint32_t q = 0; q < j; q++)
					if (e->field_len[q] == e->field_len[j] &&
					    memcmp(e->field[q], e->field[j],
					    e->field_len[j]) == 0)
						return SL_ESCHEMA;
			}
		} else if (kl == 6 && memcmp(k, "ground", 6) == 0) {
			if (sl_mp_read_str(&m, &e->ground, &e->ground_len, 1,
			    SL_TEXT_MAX) != SL_OK ||
			    !sl_utf8_valid(e->ground, e->ground_len))
				return SL_ESCHEMA;
		} else if (kl == 6 && memcmp(k, "record", 6) == 0) {
			if (sl_mp_read_str(&m, &s, &sl, 0, SL_ID_TEXT) != SL_OK ||
			    !id_text(s, sl, e->record))
				return SL_ESCHEMA;
			e->has_record = true;
		} else if (kl == 7 && memcmp(k, "targets", 7) == 0) {
			size_t hl;

			if (sl_mp_skip(&m, &v, &vl) != SL_OK ||
			    sl_hashes_check(v, vl, NULL, 0) != SL_OK)
				return SL_ESCHEMA;
			/* A fixarray or array16 header, then TARGET_SIZE
			 * bytes each. */
			hl = (v[0] & 0xf0) == 0x90 ? 1 : 3;
			e->ntargets = (uint32_t)((vl - hl) / TARGET_SIZE);
			e->targets = v + hl;
		} else {
			return SL_ESCHEMA; /* no other field */
		}
	}
	if (!sl_mp_at_end(&m) || !e->has_record || e->ntargets == 0 ||
	    (e->ground == NULL && !e->has_decision))
		return SL_ESCHEMA;
	return SL_OK;
}

const uint8_t *
sl_erasure_target(const struct sl_erasure *e, uint32_t i)
{
	return e->targets + (size_t)i * TARGET_SIZE + 2;
}

bool
sl_erasure_names(const struct sl_erasure *e, const char *field, size_t n)
{
	if (e->nfields == 0)
		return true;
	for (uint32_t i = 0; i < e->nfields; i++)
		if (e->field_len[i] == n && memcmp(e->field[i], field, n) == 0)
			return true;
	return false;
}

int
sl_erasure_check(const uint8_t *payload, size_t plen, char *w, size_t wlen)
{
	struct sl_erasure e;

	if (sl_erasure_decode(payload, plen, &e) != SL_OK)
		return sl_why(w, wlen, "an erasure needs a record, its events "
		    "(ascending, 1 to %d), a ground or a decision, and "
		    "distinct field names, and nothing else", SL_ERASE_MAX);
	return SL_OK;
}
