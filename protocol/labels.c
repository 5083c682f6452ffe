/*
 * labels.c - the Swedish (and English) names of the schema's fields.
 *
 * The schema (schema.c) names fields for programs: payload keys, JSON
 * keys, flags.  People in a Swedish office name them otherwise: a
 * spreadsheet's header says "Namn", "E-post", "Kommun".  This table
 * gives each field name its Swedish label (first) and the other
 * spellings a header may use; it is keyed by field name, not by kind, so
 * "name" is "Namn" wherever a kind has a name, and a field a kind gains
 * later is labelled here by one line.  Fields of kinds still to come
 * (agreements, actions) are here already.
 *
 * Headers are compared folded: ASCII and Latin-1 capitals lowercased
 * (Å Ä Ö included), surrounding spaces dropped.
 */
#include <string.h>

#include "samlog_proto.h"

#define MAX_ALIASES 4

static const struct label {
	const char *field;
	const char *en;                  /* the English label */
	const char *sv[MAX_ALIASES + 1]; /* the label, then aliases; NULL */
} labels[] = {
	{ "name", "Name", { "Namn" } },
	{ "role", "Role", { "Roll" } },
	{ "email", "Email", { "E-post", "Epost", "Mejl", "E-mail" } },
	{ "phone", "Phone", { "Telefon", "Tel", "Telefonnummer" } },
	{ "municipality", "Municipality", { "Kommun" } },
	{ "org", "Organisation", { "Organisation" } },
	{ "orgs", "Organisations", { "Organisationer" } },
	{ "kind", "Kind", { "Typ", "Sort" } },
	{ "type", "Type", { "Typ" } },
	{ "sector", "Line of business", { "Bransch", "Sektor" } },
	{ "title", "Title", { "Titel", "Rubrik" } },
	{ "date", "Date", { "Datum" } },
	{ "notes", "Notes", { "Anteckningar" } },
	{ "text", "Text", { "Text", "Beslutstext" } },
	{ "status", "Status", { "Status" } },
	{ "reason", "Reason", { "Motivering", "Skäl" } },
	{ "body", "Deciding body", { "Organ", "Beslutsorgan" } },
	{ "meeting", "Meeting", { "Möte" } },
	{ "with", "Attendees", { "Deltagare" } },
	{ "iop", "IOP", { "IOP" } },
	{ "party", "Party", { "Part", "Parter" } },
	{ "purpose", "Purpose", { "Syfte" } },
	{ "start", "Start", { "Start", "Startdatum" } },
	{ "end", "End", { "Slut", "Slutdatum" } },
	{ "case", "Case number", { "Diarienummer", "Dnr" } },
	{ "owner", "Owner", { "Ansvarig" } },
	{ "due", "Due", { "Förfallodatum", "Klart senast" } },
	{ "minutes", "Minutes", { "Protokoll", "Paragraf" } },
	{ "left", "Left", { "Slutade" } },
	{ "founded", "Founded", { "Grundad" } },
	{ "network", "Network", { "Nätverk" } },
	{ "networks", "Networks", { "Nätverk" } },
	{ "parties", "Parties", { "Parter", "Part" } },
	{ "invited", "Invited", { "Inbjudna" } },
	{ "counts", "Attendance", { "Antal", "Deltagarantal" } },
	{ "replaced_by", "Replaced by", { "Ersatt av", "Efterträdare" } },
	{ "closed_at", "Closed at", { "Avslutad vid", "Avslutat på möte" } },
	{ "from", "From", { "Från", "Ursprung" } },
	{ "archived", "Archived", { "Arkiverad" } },
	{ "valid_until", "Valid until", { "Gäller till" } },
};

#define NLABELS (sizeof labels / sizeof labels[0])

static const struct label *
label_of(const char *field)
{
	for (size_t i = 0; field != NULL && i < NLABELS; i++)
		if (strcmp(labels[i].field, field) == 0)
			return &labels[i];
	return NULL;
}

const char *
sl_label_sv(const char *field)
{
	const struct label *l = label_of(field);

	return l != NULL ? l->sv[0] : NULL;
}

const char *
sl_label_en(const char *field)
{
	const struct label *l = label_of(field);

	return l != NULL ? l->en : NULL;
}


/* True if folded header h (hl bytes) spells word. */
static bool
spells(const char *h, size_t hl, const char *word)
{
	char w[128];
	size_t wl;

	if (word == NULL)
		return false;
	wl = sl_text_fold(word, strlen(word), w, sizeof w);
	return wl == hl && memcmp(w, h, hl) == 0;
}

const struct sl_field *
sl_field_by_header(const struct sl_kind *k, const char *header, uint32_t *idx)
{
	char h[256];
	size_t n, hl;

	if (k == NULL || header == NULL)
		return NULL;
	while (*header == ' ')
		header++;
	n = strlen(header);
	while (n > 0 && header[n - 1] == ' ')
		n--;
	if (n == 0 || n >= sizeof h)
		return NULL;
	hl = sl_text_fold(header, n, h, sizeof h);
	/* Names and flags first: a program's spelling wins over a label
	 * that happens to equal another field's name. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < k->nfields; i++) {
			const struct sl_field *f = &k->fields[i];
			const struct label *l = label_of(f->name);
			bool hit = false;

			if (pass == 0)
				hit = spells(h, hl, f->name) ||
				    spells(h, hl, f->flag);
			for (int a = 0; pass == 1 && l != NULL && !hit &&
			    a < MAX_ALIASES && l->sv[a] != NULL; a++)
				hit = spells(h, hl, l->sv[a]);
			if (hit) {
				if (idx != NULL)
					*idx = i;
				return f;
			}
		}
	}
	return NULL;
}
