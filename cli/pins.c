/*
 * pins.c - expected keys (pins.h).  A file proves which key made each
 * event; which organisation holds a key it cannot prove, since anyone
 * can make a key and announce any name.  So the auditor says which keys
 * they expect, learned out of band, and every key of the file must be
 * one of them; without that, the checkers show each key's fingerprint
 * beside the name it claims and say that the names are claims.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "pins.h"

static bool
pin_add(struct pins *p, const char *text, size_t n, const char *name,
    size_t nl)
{
	struct pin *nv = realloc(p->v, (p->n + 1) * sizeof *nv);

	if (nv == NULL)
		return false;
	p->v = nv;
	for (size_t i = 0; i < n; i++)
		nv[p->n].text[i] = (char)tolower((unsigned char)text[i]);
	nv[p->n].text[n] = '\0';
	if (nl > SL_ORG_MAX)
		nl = SL_ORG_MAX;
	memcpy(nv[p->n].name, name, nl);
	nv[p->n].name[nl] = '\0';
	p->n++;
	return true;
}

/* One line of a members file: FINGERPRINT [NAME], or a comment. */
static int
members_line(struct pins *p, const char *file, unsigned no, char *s)
{
	size_t n;

	s[strcspn(s, "\r\n")] = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '#')
		return 0;
	n = strcspn(s, " \t");
	if (!sl_fingerprint_valid(s, n)) {
		cli_error("%s:%u: \"%.*s\" is no fingerprint (16 or more of a "
		    "node id's first characters)", file, no,
		    (int)(n < 60 ? n : 60), s);
		return 1;
	}
	char *name = s + n;

	while (*name == ' ' || *name == '\t')
		name++;
	size_t nl = strlen(name);

	while (nl > 0 && (name[nl - 1] == ' ' || name[nl - 1] == '\t'))
		nl--;
	if (!sl_utf8_valid(name, nl)) {
		cli_error("%s:%u: the name is not UTF-8", file, no);
		return 1;
	}
	if (!pin_add(p, s, n, name, nl)) {
		cli_error("out of memory");
		return 1;
	}
	return 0;
}

static int
members_load(struct pins *p, const char *file)
{
	FILE *f = fopen(file, "r");
	char line[1024];
	unsigned no = 0;
	int rc = 0;

	if (f == NULL) {
		cli_error("cannot read %s: %s", file, strerror(errno));
		return 1;
	}
	while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
		no++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			cli_error("%s:%u: the line is too long", file, no);
			rc = 1;
			break;
		}
		rc = members_line(p, file, no, line);
	}
	if (rc == 0 && ferror(f)) {
		cli_error("cannot read %s: %s", file, strerror(errno));
		rc = 1;
	}
	fclose(f);
	return rc;
}

int
pins_load(struct pins *p, const struct parse_result *r)
{
	*p = (struct pins){ 0 };
	for (size_t i = 0; i < r->nvals; i++) {
		const char *v = r->vals[i].value;

		if (strcmp(r->vals[i].flag->name, "expect") != 0)
			continue;
		if (v == NULL || !sl_fingerprint_valid(v, strlen(v))) {
			cli_error("invalid --expect \"%.60s\" (a fingerprint: 16 "
			    "or more of a node id's first characters)",
			    v ? v : "");
			return 2;
		}
		if (!pin_add(p, v, strlen(v), "", 0)) {
			cli_error("out of memory");
			return 1;
		}
	}
	const char *m = parse_value(r, "members");

	return m != NULL ? members_load(p, m) : 0;
}

void
pins_free(struct pins *p)
{
	free(p->v);
	*p = (struct pins){ 0 };
}

struct pin *
pins_find(struct pins *p, const uint8_t key[SL_KEY_LEN])
{
	for (size_t i = 0; i < p->n; i++)
		if (sl_fingerprint_match(p->v[i].text, strlen(p->v[i].text),
		    key))
			return &p->v[i];
	return NULL;
}

struct pin *
pins_find_ident(struct pins *p, const struct ident *id)
{
	struct pin *pin = pins_find(p, id->key);

	if (pin == NULL && id->is_device)
		pin = pins_find(p, id->device_of);
	return pin;
}

/* True if v[i]'s key came earlier in v. */
static bool
listed_before(const struct ident *v, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (memcmp(v[j].key, v[i].key, SL_KEY_LEN) == 0)
			return true;
	return false;
}

size_t
pins_check(struct pins *p, const char *file, const struct ident *v, size_t n)
{
	size_t bad = 0;
	char fp[SL_FPR_TEXT + 1];

	if (p->n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct pin *pin = pins_find_ident(p, &v[i]);

		if (pin != NULL || listed_before(v, i))
			continue;
		sl_fingerprint(fp, v[i].key);
		if (v[i].org_len > 0)
			cli_error("%s: %s %s, which claims to be \"%.*s\", is not "
			    "an expected key (--expect, --members)", file,
			    v[i].role, fp, (int)v[i].org_len, v[i].org);
		else
			cli_error("%s: %s %s is not an expected key (--expect, "
			    "--members)", file, v[i].role, fp);
		bad++;
	}
	return bad;
}

void
pins_pack(msgpack_packer *pk, struct pins *p, const struct ident *v,
    size_t n)
{
	char fp[SL_FPR_TEXT + 1];
	size_t k = 0, unseen = 0;

	for (size_t i = 0; i < n; i++)
		k += !listed_before(v, i);
	sl_pack_cstr(pk, "identities");
	msgpack_pack_array(pk, k);
	for (size_t i = 0; i < n; i++) {
		const struct pin *pin = pins_find_ident(p, &v[i]);

		if (listed_before(v, i))
			continue;
		sl_fingerprint(fp, v[i].key);
		msgpack_pack_map(pk, 6);
		sl_pack_cstr(pk, "fingerprint");
		sl_pack_cstr(pk, fp);
		sl_pack_cstr(pk, "role");
		sl_pack_cstr(pk, v[i].role);
		sl_pack_cstr(pk, "claimed_org");
		sl_pack_str(pk, v[i].org != NULL ? v[i].org : "", v[i].org_len);
		sl_pack_cstr(pk, "pinned");
		if (pin == NULL)
			sl_pack_cstr(pk, "no: the name is an unverified claim");
		else if (pin->name[0] != '\0')
			sl_pack_cstr(pk, pin->name);
		else
			sl_pack_cstr(pk, "yes (--expect)");
		sl_pack_cstr(pk, "key");
		sl_pack_b32(pk, v[i].key, SL_KEY_LEN);
		/* A device: the organisation key that certified it. */
		sl_pack_cstr(pk, "device_of");
		if (v[i].is_device) {
			sl_fingerprint(fp, v[i].device_of);
			sl_pack_cstr(pk, fp);
		} else {
			msgpack_pack_nil(pk);
		}
	}
	for (size_t i = 0; i < p->n; i++) {
		bool seen = false;

		for (size_t j = 0; j < n && !seen; j++)
			seen = sl_fingerprint_match(p->v[i].text,
			    strlen(p->v[i].text), v[j].key);
		unseen += !seen;
	}
	sl_pack_cstr(pk, "note");
	if (p->n == 0)
		sl_pack_cstr(pk, "no keys were pinned: the organisation names "
		    "are the keys' own unverified claims. Compare each "
		    "fingerprint with its organisation out of band (by phone, "
		    "on paper), then check again with --expect FINGERPRINT or "
		    "--members FILE");
	else if (unseen > 0)
		sl_pack_cstr(pk, "every key is an expected one; some expected "
		    "keys made nothing in this file");
	else
		sl_pack_cstr(pk, "every key is an expected one");
}
