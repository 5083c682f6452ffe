/*
 * records.c - the record kinds as the CLI's modules need them, read from
 * the schema (protocol/schema.c) once and kept: the parser, import,
 * export, the table output and completion all list kinds, and none of
 * them names one.
 *
 * The order: a kind whose fields refer to another kind comes after it,
 * found by repeated passes over the schema's kinds (a handful: the
 * quadratic walk costs nothing).  A cycle of references between kinds
 * cannot be ordered; its kinds keep the schema's order, and an import of
 * such records would need two passes (none exists today).
 */
#include <stdio.h>
#include <string.h>

#include "records.h"

#define MAX_KINDS 32

static const struct sl_kind *kinds[MAX_KINDS + 1];
static const char *words[MAX_KINDS + 1];
static char words_text[MAX_KINDS * (SL_FIELD_NAME_MAX + 4)];
static bool ready;

/* True if every kind k refers to (itself aside) is among done[0..n). */
static bool
refs_done(const struct sl_kind *k, const struct sl_kind **done, size_t n)
{
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *f = &k->fields[i];

		if (f->type != SL_F_REF && f->type != SL_F_REFS)
			continue;
		for (const char *r = f->ref; r != NULL && *r; r++) {
			const struct sl_kind *to = sl_schema_kind_c(*r);
			bool found = false;

			if (to == NULL || to == k || !to->record)
				continue;
			for (size_t j = 0; j < n && !found; j++)
				found = done[j] == to;
			if (!found)
				return false;
		}
	}
	return true;
}

static bool
taken(const struct sl_kind *k, size_t n)
{
	for (size_t j = 0; j < n; j++)
		if (kinds[j] == k)
			return true;
	return false;
}

static void
records_init(void)
{
	size_t n = 0, nk = sl_schema_kind_count(), used = 0;

	if (ready)
		return;
	ready = true;
	while (n < MAX_KINDS) {
		const struct sl_kind *pick = NULL, *first = NULL;

		for (size_t i = 0; i < nk && pick == NULL; i++) {
			const struct sl_kind *k = sl_schema_kind_at(i);

			if (k == NULL || !k->record || taken(k, n))
				continue;
			if (first == NULL)
				first = k;
			if (refs_done(k, kinds, n))
				pick = k;
		}
		if (pick == NULL)
			pick = first;   /* a cycle: the schema's order */
		if (pick == NULL)
			break;          /* every record kind is placed */
		kinds[n++] = pick;
	}
	for (size_t i = 0; i < n; i++) {
		words[i] = kinds[i]->word;
		used += (size_t)snprintf(words_text + used, sizeof words_text -
		    used, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
		    words[i]);
		if (used >= sizeof words_text)
			break;
	}
}

const struct sl_kind *const *
records_kinds(void)
{
	records_init();
	return kinds;
}

const char *const *
records_words(void)
{
	records_init();
	return words;
}

const char *
records_words_text(void)
{
	records_init();
	return words_text;
}

const struct sl_kind *
records_kind(const char *word)
{
	const struct sl_kind *k = sl_schema_kind(word);

	return k != NULL && k->record ? k : NULL;
}

const struct sl_evtype *
records_create(const struct sl_kind *k)
{
	const struct sl_evtype *et;

	for (size_t i = 0; (et = sl_schema_evtype_at(i)) != NULL; i++)
		if (et->kind == k && et->role == SL_ET_CREATE)
			return et;
	return NULL;
}

bool
records_ref_name(const struct sl_field *f, char *key, size_t n)
{
	/* Exactly samlogd's rule (pack_record): every reference brings
	 * the names of what it names along, FIELD_name (one) or
	 * FIELD_names (a list). */
	if (f->type != SL_F_REF && f->type != SL_F_REFS)
		return false;
	snprintf(key, n, "%s_name%s", f->name, f->type == SL_F_REFS ? "s" : "");
	return true;
}

bool
records_is_ref_name(const char *key)
{
	size_t n = strlen(key), bl;
	enum sl_ftype want;

	/* FIELD_name (a REF) or FIELD_names (a REFS), as records_ref_name
	 * makes them. */
	if (n > 5 && strcmp(key + n - 5, "_name") == 0) {
		bl = n - 5;
		want = SL_F_REF;
	} else if (n > 6 && strcmp(key + n - 6, "_names") == 0) {
		bl = n - 6;
		want = SL_F_REFS;
	} else {
		return false;
	}
	for (const struct sl_kind *const *kp = records_kinds(); *kp; kp++)
		for (uint32_t i = 0; i < (*kp)->nfields; i++) {
			const struct sl_field *f = &(*kp)->fields[i];

			if (f->type == want && strlen(f->name) == bl &&
			    memcmp(f->name, key, bl) == 0)
				return true;
		}
	return false;
}
