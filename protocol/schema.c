/*
 * schema.c - the record schema as data, and the content rules of events.
 *
 * Every kind of record, its fields (type, limits, flags), the event types
 * that create and change records and the lifecycles are the tables below.
 * Nothing else in samlog lists fields per kind: validation at local write
 * and at ingest, the fold, the projection indexes, the daemon's replies
 * and the CLI's commands, flags, help, import and export columns and
 * completion all read these tables, so adding a field is one line here
 * (and its tests).
 *
 * The content rules are stateless: they look at one event alone, so a
 * node can apply them when the event arrives, before it knows anything
 * else, and every node reaches the same verdict.  Rules that need other
 * events (the record's kind, the lifecycle, clocks against parents) are
 * the fold's (record.c).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "samlog_proto.h"

static const char *const org_kinds[] = { "asf", "municipality", "authority",
	"partner", "company", "other", NULL };
static const char *const org_statuses[] = { "idea", "starting", "active",
	"dormant", "closed", NULL };
static const char *const meeting_types[] = { "meeting", "check-in",
	"seminar", "committee", NULL };
static const char *const agreement_types[] = { "iop", "samverkansavtal",
	"uppdrag", "upphandling", "pilot", NULL };
/* Lifecycle states: index 0 is "none"; new states are appended so that
 * the numbers stay what they were (they are stored, never sent). */
static const char *const decision_states[] = { "", "proposed", "adopted",
	"rejected", "amended", "revoked", "referred", "tabled", "expired",
	NULL };
static const char *const action_states[] = { "", "open", "done", "dropped",
	NULL };

#define T SL_TEXT_MAX
#define L SL_LONGTEXT_MAX
#define RQ SL_FF_REQUIRED
#define UP SL_FF_UPDATE
#define IX SL_FF_INDEX
#define SO SL_FF_SORT
#define NL SL_FF_NULL
#define NF SL_FF_NOFLAG
#define EF SL_FF_EFFECTIVE
#define PD SL_FF_PERSONAL

/* Every kind ends with its notes and the archived mark (set only by
 * KIND.archived and KIND.restored). */
#define NOTES_ARCHIVED \
	{ "notes", "notes", SL_F_TEXT, L, NULL, NULL, NULL, UP | PD, \
	    "notes" }, \
	{ "archived", "archived", SL_F_BOOL, 0, NULL, NULL, NULL, NF, \
	    "it is archived (hidden from lists)" }

static const struct sl_field org_fields[] = {
	{ "name", "name", SL_F_TEXT, T, NULL, NULL, NULL, RQ | UP | SO,
	    "the organisation's name" },
	{ "kind", "kind", SL_F_ENUM, T, NULL, org_kinds, "other", UP | IX,
	    "the kind of organisation" },
	{ "municipality", "municipality", SL_F_TEXT, T, NULL, NULL, NULL,
	    UP | IX, "the municipality it works in" },
	{ "sector", "sector", SL_F_TEXTS, T, NULL, NULL, NULL, UP | IX,
	    "a line of business" },
	{ "iop", "iop", SL_F_BOOL, 0, NULL, NULL, NULL, UP | IX,
	    "it has an idea-based public partnership (IOP)" },
	{ "status", "status", SL_F_ENUM, T, NULL, org_statuses, NULL, UP | IX,
	    "where it stands" },
	{ "founded", "founded", SL_F_DATE, 10, NULL, NULL, NULL, UP | EF,
	    "the day it was founded" },
	{ "networks", "network", SL_F_TEXTS, T, NULL, NULL, NULL, UP | IX,
	    "a network it is a member of" },
	NOTES_ARCHIVED,
};

static const struct sl_field contact_fields[] = {
	{ "name", "name", SL_F_TEXT, T, NULL, NULL, NULL, RQ | UP | SO | PD,
	    "the person's name" },
	{ "org", "org", SL_F_REF, 0, "o", NULL, NULL, UP | IX,
	    "the organisation they belong to" },
	{ "role", "role", SL_F_TEXT, T, NULL, NULL, NULL, UP | IX,
	    "their role" },
	{ "email", "email", SL_F_EMAIL, T, NULL, NULL, NULL, UP | PD,
	    "their e-mail address" },
	{ "phone", "phone", SL_F_TEXT, T, NULL, NULL, NULL, UP | PD,
	    "their phone number" },
	{ "municipality", "municipality", SL_F_TEXT, T, NULL, NULL, NULL,
	    UP | IX, "the municipality they work in" },
	{ "left", "left", SL_F_DATE, 10, NULL, NULL, NULL, UP | EF,
	    "the day they left their post" },
	{ "replaced_by", "replaced-by", SL_F_REF, 0, "c", NULL, NULL, UP,
	    "the contact who took over" },
	NOTES_ARCHIVED,
};

static const struct sl_field meeting_fields[] = {
	{ "title", "title", SL_F_TEXT, T, NULL, NULL, NULL, RQ | UP | IX,
	    "what the meeting was" },
	{ "date", "date", SL_F_DATE, 10, NULL, NULL, NULL, RQ | UP | SO | EF,
	    "the day it was held" },
	{ "type", "type", SL_F_ENUM, T, NULL, meeting_types, "meeting",
	    UP | IX, "the kind of meeting" },
	{ "with", "with", SL_F_REFS, 0, "c", NULL, NULL, UP | IX | PD,
	    "a participant who attended" },
	{ "invited", "invited", SL_F_REFS, 0, "c", NULL, NULL, UP | IX | PD,
	    "a person invited" },
	{ "orgs", "org", SL_F_REFS, 0, "o", NULL, NULL, UP | IX,
	    "an organisation taking part" },
	{ "municipality", "municipality", SL_F_TEXT, T, NULL, NULL, NULL,
	    UP | IX, "the municipality it concerned" },
	{ "counts", "count", SL_F_TEXTS, T, NULL, NULL, NULL,
	    UP | SL_FF_TALLY, "a headcount by category, as CATEGORY=N" },
	NOTES_ARCHIVED,
};

static const struct sl_field decision_fields[] = {
	{ "title", "title", SL_F_TEXT, T, NULL, NULL, NULL, RQ | UP | SO,
	    "a short title" },
	{ "text", "text", SL_F_TEXT, L, NULL, NULL, NULL, RQ,
	    "the decision's text" },
	{ "body", "body", SL_F_REF, 0, "o", NULL, NULL, UP | IX,
	    "the organisation whose body decides" },
	{ "meeting", "meeting", SL_F_REF, 0, "m", NULL, NULL, UP | IX,
	    "the meeting it was taken at" },
	{ "status", "status", SL_F_STATE, T, NULL, decision_states + 1, NULL,
	    IX, "its status" },
	{ "reason", "reason", SL_F_TEXT, L, NULL, NULL, NULL, NL, "why" },
	{ "minutes", "minutes", SL_F_TEXT, T, NULL, NULL, NULL, UP,
	    "the minutes reference (e.g. KS 2019-10-25 § 12)" },
	{ "valid_until", "valid-until", SL_F_DATE, 10, NULL, NULL, NULL,
	    UP | IX, "the last day it is in force" },
	NOTES_ARCHIVED,
};

static const struct sl_field agreement_fields[] = {
	{ "title", "title", SL_F_TEXT, T, NULL, NULL, NULL, RQ | UP | SO,
	    "what the agreement is called" },
	{ "type", "type", SL_F_ENUM, T, NULL, agreement_types, NULL,
	    RQ | UP | IX, "the kind of agreement" },
	{ "parties", "party", SL_F_REFS, 0, "o", NULL, NULL, RQ | UP | IX,
	    "an organisation party to it" },
	{ "purpose", "purpose", SL_F_TEXT, L, NULL, NULL, NULL, UP,
	    "what it is for" },
	{ "start", "start", SL_F_DATE, 10, NULL, NULL, NULL, UP | IX | EF,
	    "the first day it runs" },
	{ "end", "end", SL_F_DATE, 10, NULL, NULL, NULL, UP | IX,
	    "the last day it runs" },
	{ "case", "case", SL_F_TEXT, T, NULL, NULL, NULL, UP | IX,
	    "the municipality's case number (diarienummer)" },
	{ "municipality", "municipality", SL_F_TEXT, T, NULL, NULL, NULL,
	    UP | IX, "the municipality it concerns" },
	NOTES_ARCHIVED,
};

static const struct sl_field action_fields[] = {
	{ "title", "title", SL_F_TEXT, T, NULL, NULL, NULL, RQ | UP | SO,
	    "what is to be done" },
	{ "owner", "owner", SL_F_REFS, 0, "oc", NULL, NULL, UP | IX,
	    "who is responsible (an organisation or a contact)" },
	{ "due", "due", SL_F_DATE, 10, NULL, NULL, NULL, UP | IX,
	    "the day it is due" },
	{ "status", "status", SL_F_STATE, T, NULL, action_states + 1, NULL,
	    IX, "its status" },
	{ "from", "from", SL_F_REF, 0, "md", NULL, NULL, UP | IX,
	    "the meeting or decision it came from" },
	{ "closed_at", "meeting", SL_F_REF, 0, "m", NULL, NULL, NL | EF,
	    "the meeting that closed it" },
	{ "reason", "reason", SL_F_TEXT, L, NULL, NULL, NULL, NL, "why" },
	{ "municipality", "municipality", SL_F_TEXT, T, NULL, NULL, NULL,
	    UP | IX, "the municipality it concerns" },
	NOTES_ARCHIVED,
};

static const struct sl_field node_fields[] = {
	{ "org", "org", SL_F_TEXT, SL_ORG_MAX, NULL, NULL, NULL, RQ,
	    "the organisation the node speaks for" },
};

/* Membership (PROTOCOL.md 12.1): no records, a federation's members. */
static const struct sl_field member_fields[] = {
	{ "org", "org", SL_F_KEY, SL_NODE_ID_TEXT, NULL, NULL, NULL, RQ,
	    "the organisation's key" },
	{ "name", "name", SL_F_TEXT, SL_ORG_MAX, NULL, NULL, NULL, 0,
	    "the organisation's name" },
	{ "upto", "upto", SL_F_SEQ, 0, NULL, NULL, NULL, 0,
	    "the last of its events that count" },
	{ "devices", "devices", SL_F_CUTS, 0, NULL, NULL, NULL, 0,
	    "the last event of each of its devices that counts" },
	{ "ledger", "ledger", SL_F_KEY, SL_NODE_ID_TEXT, NULL, NULL, NULL, 0,
	    "the ledger of the majority policy: its proposer's key" },
	{ "term", "term", SL_F_SEQ, 0, NULL, NULL, NULL, SL_FF_ZERO,
	    "the ledger's entries about the organisation before it" },
	{ "approvals", "approvals", SL_F_APPROVALS, 0, NULL, NULL, NULL, 0,
	    "the members' signed approvals" },
	{ "act", "act", SL_F_TEXT, 16, NULL, NULL, NULL, 0,
	    "what is approved: admit, retire or policy" },
	{ "members", "members", SL_F_KEYS, 0, NULL, NULL, NULL, 0,
	    "the members a policy starts with" },
	{ "sig", "sig", SL_F_SIG, 0, NULL, NULL, NULL, 0,
	    "the approver's signature of what it approves" },
	{ "admission", "admission", SL_F_TEXT, 16, NULL, NULL, NULL, 0,
	    "the admission policy: majority" },
};

/* Devices (PROTOCOL.md 12.3): no records, an organisation's signing
 * keys. */
static const struct sl_field device_fields[] = {
	{ "org", "org", SL_F_KEY, SL_NODE_ID_TEXT, NULL, NULL, NULL, RQ,
	    "the organisation's key" },
	{ "device", "device", SL_F_KEY, SL_NODE_ID_TEXT, NULL, NULL, NULL, RQ,
	    "the device's key" },
	{ "name", "name", SL_F_TEXT, SL_ORG_MAX, NULL, NULL, NULL, 0,
	    "the device's name" },
	{ "upto", "upto", SL_F_SEQ, 0, NULL, NULL, NULL, SL_FF_ZERO,
	    "the last of its events that count (0: none)" },
	{ "cert", "cert", SL_F_SIG, 0, NULL, NULL, NULL, 0,
	    "the organisation key's signature" },
	{ "proof", "proof", SL_F_SIG, 0, NULL, NULL, NULL, 0,
	    "the device key's signature" },
};

/* Checkpoints (PROTOCOL.md 15): no records, a node's word on the tips
 * it holds. */
static const struct sl_field checkpoint_fields[] = {
	{ "tips", "tips", SL_F_TIPS, 0, NULL, NULL, NULL, RQ,
	    "the tips the node holds" },
};

/* Fork proofs (PROTOCOL.md 16): no records, a node's proof that an
 * origin signed two histories. */
static const struct sl_field fork_fields[] = {
	{ "proof", "proof", SL_F_FORK, 0, NULL, NULL, NULL, RQ,
	    "the two signed runs" },
};

/* Erasures (PROTOCOL.md 5.2): no records, an organisation's word that
 * personal fields of some events are to be erased. */
static const struct sl_field erasure_fields[] = {
	{ "decision", "decision", SL_F_REF, 0, "d", NULL, NULL, 0,
	    "the disposal decision it rests on" },
	{ "fields", "field", SL_F_TEXTS, SL_FIELD_NAME_MAX, NULL, NULL, NULL,
	    0, "a field to erase" },
	{ "ground", "ground", SL_F_TEXT, T, NULL, NULL, NULL, 0,
	    "the ground for erasing" },
	{ "record", "record", SL_F_REF, 0, "ocmdat", NULL, NULL, RQ,
	    "the record whose events it erases" },
	{ "targets", "targets", SL_F_HASHES, 0, NULL, NULL, NULL, RQ,
	    "the events it erases" },
};

#undef T
#undef L
#undef RQ
#undef UP
#undef IX
#undef SO
#undef NL
#undef NF
#undef EF
#undef PD
#undef NOTES_ARCHIVED

#define N(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static const struct sl_kind kinds[] = {
	{ 'o', "org", true, org_fields, N(org_fields), NULL, false },
	{ 'c', "contact", true, contact_fields, N(contact_fields), NULL,
	    false },
	{ 'm', "meeting", true, meeting_fields, N(meeting_fields), NULL,
	    false },
	/* A decision is its deciding organisation's word: no one else may
	 * step, amend, update, archive or restore it. */
	{ 'd', "decision", true, decision_fields, N(decision_fields),
	    decision_states, true },
	{ 'a', "agreement", true, agreement_fields, N(agreement_fields), NULL,
	    false },
	{ 't', "action", true, action_fields, N(action_fields), action_states,
	    false },
	{ 'n', "node", false, node_fields, N(node_fields), NULL, false },
	{ 'M', "member", false, member_fields, N(member_fields), NULL, false },
	{ 'C', "checkpoint", false, checkpoint_fields, N(checkpoint_fields),
	    NULL, false },
	{ 'D', "device", false, device_fields, N(device_fields), NULL, false },
	{ 'F', "fork", false, fork_fields, N(fork_fields), NULL, false },
	{ 'E', "erasure", false, erasure_fields, N(erasure_fields), NULL,
	    false },
};

#define K_ORG (&kinds[0])
#define K_CONTACT (&kinds[1])
#define K_MEETING (&kinds[2])
#define K_DECISION (&kinds[3])
#define K_AGREEMENT (&kinds[4])
#define K_ACTION (&kinds[5])
#define K_NODE (&kinds[6])
#define K_MEMBER (&kinds[7])
#define K_CHECKPOINT (&kinds[8])
#define K_DEVICE (&kinds[9])
#define K_FORK (&kinds[10])
#define K_ERASURE (&kinds[11])

enum { D_PROPOSED = 1, D_ADOPTED, D_REJECTED, D_AMENDED, D_REVOKED,
	D_REFERRED, D_TABLED, D_EXPIRED };
enum { A_OPEN = 1, A_DONE, A_DROPPED };
#define B(s) (1u << (s))
/* Field bits by position in the kind's table. */
#define F(i) (1u << (i))
#define ALL(k) ((1u << N(k)) - 1)
/* Every field but the last (archived). */
#define MOST(k) (ALL(k) >> 1)
/* The archived mark: the last field. */
#define ARCH(k) (1u << (N(k) - 1))

/* Decision fields: 0 title, 1 text, 2 body, 3 meeting, 4 status,
 * 5 reason, 6 minutes, 7 valid_until, 8 notes, 9 archived.  Action:
 * 0 title, 1 owner, 2 due, 3 status, 4 from, 5 closed_at, 6 reason,
 * 7 municipality, 8 notes, 9 archived. */
#define D_UPD (F(0) | F(2) | F(3) | F(6) | F(7) | F(8))
#define D_STEP (F(4) | F(5) | F(6))
#define D_OPEN (B(D_PROPOSED) | B(D_REFERRED) | B(D_TABLED))
#define D_INFORCE (B(D_ADOPTED) | B(D_AMENDED))
#define A_UPD (F(0) | F(1) | F(2) | F(4) | F(7) | F(8))
#define A_STEP (F(3) | F(5) | F(6))

#define ARCHIVE(k, kind) \
	{ #kind ".archived", "archive", k, SL_ET_UPDATE, ARCH(kind##_fields), \
	    ARCH(kind##_fields), 0, 0, SL_SETS_TRUE }, \
	{ #kind ".restored", "restore", k, SL_ET_UPDATE, ARCH(kind##_fields), \
	    ARCH(kind##_fields), 0, 0, SL_SETS_FALSE }

static const struct sl_evtype evtypes[] = {
	{ "org.created", "add", K_ORG, SL_ET_CREATE, MOST(org_fields), F(0),
	    0, 0, 0 },
	{ "org.updated", "update", K_ORG, SL_ET_UPDATE, MOST(org_fields), 0,
	    0, 0, 0 },
	ARCHIVE(K_ORG, org),
	{ "contact.created", "add", K_CONTACT, SL_ET_CREATE,
	    MOST(contact_fields), F(0), 0, 0, 0 },
	{ "contact.updated", "update", K_CONTACT, SL_ET_UPDATE,
	    MOST(contact_fields), 0, 0, 0, 0 },
	ARCHIVE(K_CONTACT, contact),
	{ "meeting.created", "add", K_MEETING, SL_ET_CREATE,
	    MOST(meeting_fields), F(0) | F(1), 0, 0, 0 },
	{ "meeting.updated", "update", K_MEETING, SL_ET_UPDATE,
	    MOST(meeting_fields), 0, 0, 0, 0 },
	ARCHIVE(K_MEETING, meeting),
	{ "decision.created", "add", K_DECISION, SL_ET_CREATE,
	    D_UPD | F(1) | F(4), F(0) | F(1), 0, D_PROPOSED, 0 },
	/* The text changes only by amendment: an adopted text is never
	 * rewritten by an update. */
	{ "decision.updated", "update", K_DECISION, SL_ET_UPDATE, D_UPD, 0,
	    0, 0, 0 },
	{ "decision.adopted", "adopt", K_DECISION, SL_ET_STEP, D_STEP, 0,
	    D_OPEN, D_ADOPTED, 0 },
	{ "decision.rejected", "reject", K_DECISION, SL_ET_STEP, D_STEP, 0,
	    D_OPEN, D_REJECTED, 0 },
	{ "decision.referred", "refer-back", K_DECISION, SL_ET_STEP, D_STEP,
	    0, D_OPEN, D_REFERRED, 0 },
	{ "decision.tabled", "table", K_DECISION, SL_ET_STEP, D_STEP, 0,
	    D_OPEN, D_TABLED, 0 },
	{ "decision.amended", "amend", K_DECISION, SL_ET_STEP, D_STEP | F(1),
	    F(1), D_INFORCE, D_AMENDED, 0 },
	{ "decision.revoked", "revoke", K_DECISION, SL_ET_STEP, D_STEP, 0,
	    D_INFORCE, D_REVOKED, 0 },
	{ "decision.expired", "expire", K_DECISION, SL_ET_STEP, D_STEP, 0,
	    D_INFORCE, D_EXPIRED, 0 },
	ARCHIVE(K_DECISION, decision),
	{ "agreement.created", "add", K_AGREEMENT, SL_ET_CREATE,
	    MOST(agreement_fields), F(0) | F(1) | F(2), 0, 0, 0 },
	{ "agreement.updated", "update", K_AGREEMENT, SL_ET_UPDATE,
	    MOST(agreement_fields), 0, 0, 0, 0 },
	ARCHIVE(K_AGREEMENT, agreement),
	{ "action.created", "add", K_ACTION, SL_ET_CREATE, A_UPD | F(3),
	    F(0), 0, A_OPEN, 0 },
	{ "action.updated", "update", K_ACTION, SL_ET_UPDATE, A_UPD, 0, 0, 0,
	    0 },
	{ "action.done", "done", K_ACTION, SL_ET_STEP, A_STEP, 0, B(A_OPEN),
	    A_DONE, 0 },
	{ "action.dropped", "drop", K_ACTION, SL_ET_STEP, A_STEP, 0,
	    B(A_OPEN), A_DROPPED, 0 },
	{ "action.reopened", "reopen", K_ACTION, SL_ET_STEP, A_STEP, 0,
	    B(A_DONE) | B(A_DROPPED), A_OPEN, 0 },
	ARCHIVE(K_ACTION, action),
	{ "node.org", NULL, K_NODE, SL_ET_UPDATE, F(0), F(0), 0, 0, 0 },
	/* Fields: 0 org, 1 name, 2 upto, 3 devices, 4 ledger, 5 term,
	 * 6 approvals, 7 act, 8 members, 9 sig, 10 admission.  A renaming
	 * names the organisation it renames: its own (12.1).  An entry of a
	 * ledger carries 4, 5 and 6 (12.4). */
	{ "member.admitted", NULL, K_MEMBER, SL_ET_UPDATE,
	    F(0) | F(1) | F(4) | F(5) | F(6), F(0), 0, 0, 0 },
	{ "member.retired", NULL, K_MEMBER, SL_ET_UPDATE,
	    F(0) | F(2) | F(3) | F(4) | F(5) | F(6), F(0) | F(2), 0, 0, 0 },
	{ "member.approved", NULL, K_MEMBER, SL_ET_UPDATE,
	    F(0) | F(1) | F(2) | F(3) | F(4) | F(5) | F(7) | F(8) | F(9),
	    F(0) | F(4) | F(5) | F(7) | F(9), 0, 0, 0 },
	{ "member.policy", NULL, K_MEMBER, SL_ET_UPDATE,
	    F(0) | F(4) | F(5) | F(6) | F(8) | F(10), F(4) | F(6) | F(10), 0,
	    0, 0 },
	{ "member.renamed", NULL, K_MEMBER, SL_ET_UPDATE, F(0) | F(1),
	    F(0) | F(1), 0, 0, 0 },
	{ SL_CKPT_TYPE, NULL, K_CHECKPOINT, SL_ET_UPDATE, F(0), F(0), 0, 0,
	    0 },
	/* Fields: 0 org, 1 device, 2 name, 3 upto, 4 cert, 5 proof.  A
	 * revocation without a certificate is the device's own (12.3). */
	{ "device.added", NULL, K_DEVICE, SL_ET_UPDATE,
	    F(0) | F(1) | F(2) | F(4) | F(5), F(0) | F(1) | F(2) | F(4) | F(5),
	    0, 0, 0 },
	{ "device.revoked", NULL, K_DEVICE, SL_ET_UPDATE,
	    F(0) | F(1) | F(3) | F(4), F(0) | F(1) | F(3), 0, 0, 0 },
	{ SL_FORK_TYPE, NULL, K_FORK, SL_ET_UPDATE, F(0), F(0), 0, 0, 0 },
	{ SL_ERASE_TYPE, NULL, K_ERASURE, SL_ET_UPDATE, ALL(erasure_fields),
	    F(3) | F(4), 0, 0, 0 },
};

#undef B
#undef F
#undef ALL
#undef MOST
#undef ARCH
#undef ARCHIVE

bool
sl_evtype_has_text(const struct sl_evtype *et)
{
	for (uint32_t i = 0; i < et->kind->nfields; i++)
		if ((et->fields & (1u << i)) &&
		    (et->kind->fields[i].type == SL_F_TEXT ||
		    et->kind->fields[i].type == SL_F_TEXTS))
			return true;
	return false;
}

bool
sl_evtype_owner_only(const struct sl_evtype *et)
{
	return et->kind->owned || et->sets != 0;
}

size_t
sl_schema_kind_count(void)
{
	return N(kinds);
}

const struct sl_kind *
sl_schema_kind_at(size_t i)
{
	return i < N(kinds) ? &kinds[i] : NULL;
}

const struct sl_kind *
sl_schema_kind(const char *word)
{
	for (size_t i = 0; i < N(kinds); i++)
		if (strcmp(kinds[i].word, word) == 0)
			return &kinds[i];
	return NULL;
}

const struct sl_kind *
sl_schema_kind_c(char c)
{
	for (size_t i = 0; i < N(kinds); i++)
		if (kinds[i].c == c)
			return &kinds[i];
	return NULL;
}

const struct sl_field *
sl_schema_field(const struct sl_kind *k, const char *name, size_t n,
    uint32_t *idx)
{
	for (uint32_t i = 0; k != NULL && i < k->nfields; i++) {
		const char *f = k->fields[i].name;

		if (strlen(f) == n && memcmp(f, name, n) == 0) {
			if (idx != NULL)
				*idx = i;
			return &k->fields[i];
		}
	}
	return NULL;
}

const struct sl_evtype *
sl_schema_evtype(const char *type, size_t n)
{
	for (size_t i = 0; i < N(evtypes); i++)
		if (strlen(evtypes[i].type) == n &&
		    memcmp(evtypes[i].type, type, n) == 0)
			return &evtypes[i];
	return NULL;
}

const struct sl_evtype *
sl_schema_verb(const struct sl_kind *k, const char *verb)
{
	for (size_t i = 0; i < N(evtypes); i++)
		if (evtypes[i].kind == k && evtypes[i].verb != NULL &&
		    strcmp(evtypes[i].verb, verb) == 0)
			return &evtypes[i];
	return NULL;
}

const struct sl_evtype *
sl_schema_evtype_at(size_t i)
{
	return i < N(evtypes) ? &evtypes[i] : NULL;
}

const struct sl_evtype *
sl_schema_step_to(const struct sl_kind *k, uint8_t s)
{
	for (size_t i = 0; i < N(evtypes); i++)
		if (evtypes[i].kind == k && evtypes[i].role == SL_ET_STEP &&
		    evtypes[i].to == s)
			return &evtypes[i];
	return NULL;
}

uint8_t
sl_schema_state(const struct sl_kind *k, const char *name)
{
	if (k == NULL || k->states == NULL)
		return 0;
	for (uint8_t s = 1; k->states[s] != NULL; s++)
		if (strcmp(k->states[s], name) == 0)
			return s;
	return 0;
}

const char *
sl_schema_state_name(const struct sl_kind *k, uint8_t s)
{
	if (k == NULL || k->states == NULL || s == 0)
		return "";
	for (uint8_t i = 1; k->states[i] != NULL; i++)
		if (i == s)
			return k->states[i];
	return "";
}

/* ---- values ------------------------------------------------------------- */

int
sl_why(char *w, size_t wlen, const char *fmt, ...)
{
	va_list ap;

	if (w == NULL || wlen == 0)
		return SL_ESCHEMA;
	va_start(ap, fmt);
	vsnprintf(w, wlen, fmt, ap);
	va_end(ap);
	return SL_ESCHEMA;
}

/* C1 controls (U+0080..U+009F) are C2 80..C2 9F in UTF-8. */
static bool
has_c1(const char *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if ((unsigned char)s[i] == 0xc2 &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return true;
	return false;
}

static bool
date_ok(const char *s, size_t n)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	int y = 0, m, d;

	if (n != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	for (int i = 0; i < 4; i++)
		y = y * 10 + (s[i] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	return true;
}

bool
sl_date_parse(const char *s, size_t n, uint32_t *ymd)
{
	if (!date_ok(s, n))
		return false;
	*ymd = (uint32_t)((s[0] - '0') * 10000000 + (s[1] - '0') * 1000000 +
	    (s[2] - '0') * 100000 + (s[3] - '0') * 10000 +
	    (s[5] - '0') * 1000 + (s[6] - '0') * 100 + (s[8] - '0') * 10 +
	    (s[9] - '0'));
	return true;
}

void
sl_date_format(uint32_t ymd, char out[11])
{
	if (ymd == 0) {
		out[0] = '\0';
		return;
	}
	uint32_t y = (ymd / 10000) % 10000, m = (ymd / 100) % 100, d = ymd % 100;

	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
}

int
sl_schema_check_text(const struct sl_field *f, const char *s, size_t n,
    char *w, size_t wlen)
{
	uint32_t max = f->max ? f->max : SL_TEXT_MAX;

	if (n == 0)
		return sl_why(w, wlen, "must not be empty");
	if (n > max)
		return sl_why(w, wlen, "is too long (%zu bytes; at most %u)", n, max);
	/* Text may hold line breaks and tabs; no other control character
	 * (C0, DEL or C1) reaches a record, so none reaches a terminal. */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
			return sl_why(w, wlen, "contains a control character");
	}
	if (has_c1(s, n))
		return sl_why(w, wlen, "contains a control character");
	/* sl_utf8_valid refuses \n and \t too; look past them. */
	for (size_t i = 0, st = 0; i <= n; i++) {
		if (i < n && s[i] != '\n' && s[i] != '\t')
			continue;
		if (i > st && !sl_utf8_valid(s + st, i - st))
			return sl_why(w, wlen, "is not valid UTF-8");
		st = i + 1;
	}
	if (isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]))
		return sl_why(w, wlen, "must not start or end with a space");
	switch (f->type) {
	case SL_F_KEY: {
		uint8_t k[SL_KEY_LEN];
		char t[SL_NODE_ID_TEXT + 1];

		if (n != SL_NODE_ID_TEXT)
			return sl_why(w, wlen, "is not a key (%d characters of "
			    "base32)", SL_NODE_ID_TEXT);
		memcpy(t, s, n);
		t[n] = '\0';
		if (!sl_b32_decode(k, sizeof k, t))
			return sl_why(w, wlen, "is not a key (%d characters of "
			    "base32)", SL_NODE_ID_TEXT);
		break;
	}
	case SL_F_EMAIL: {
		const char *at = memchr(s, '@', n);

		if (at == NULL || at == s || at == s + n - 1 ||
		    memchr(s, ' ', n) != NULL)
			return sl_why(w, wlen, "is not an email address");
		break;
	}
	case SL_F_DATE:
		if (!date_ok(s, n))
			return sl_why(w, wlen, "is not a date (use YYYY-MM-DD, "
			    "e.g. 2019-11-14)");
		break;
	case SL_F_ENUM:
	case SL_F_STATE:
		for (const char *const *v = f->values; v != NULL && *v; v++)
			if (strlen(*v) == n && memcmp(*v, s, n) == 0)
				return SL_OK;
		return sl_why(w, wlen, "is not one of the allowed values");
	case SL_F_REF:
	case SL_F_REFS: {
		uint8_t id[SL_ID_LEN];
		char t[SL_ID_TEXT + 1];

		if (n != SL_ID_TEXT)
			return sl_why(w, wlen, "is not a record id");
		memcpy(t, s, n);
		t[n] = '\0';
		if (!sl_b32_decode(id, SL_ID_LEN, t))
			return sl_why(w, wlen, "is not a record id");
		for (size_t i = 0; i < n; i++)
			if (isupper((unsigned char)t[i]))
				return sl_why(w, wlen, "is not a record id");
		break;
	}
	default:
		break;
	}
	if (f->flags & SL_FF_TALLY) {
		const char *eq = memchr(s, '=', n);
		size_t dn = eq ? n - (size_t)(eq - s) - 1 : 0;

		if (eq == NULL || eq == s || dn == 0 || dn > 6)
			return sl_why(w, wlen, "is not a headcount (use CATEGORY=N, "
			    "e.g. participants=12)");
		for (size_t i = 0; i < dn; i++)
			if (!isdigit((unsigned char)eq[1 + i]))
				return sl_why(w, wlen, "is not a headcount (use "
				    "CATEGORY=N, e.g. participants=12)");
	}
	return SL_OK;
}

static int
check_str(const struct sl_field *f, struct sl_mp *m, char *w, size_t wlen)
{
	const char *s;
	uint32_t n;
	int rc = sl_mp_read_str(m, &s, &n, 0, SL_PAYLOAD_MAX);

	if (rc != SL_OK)
		return sl_why(w, wlen, "is not a string (%s)", sl_strerror(rc));
	return sl_schema_check_text(f, s, n, w, wlen);
}

int
sl_schema_check_value(const struct sl_field *f, const uint8_t *v, size_t len,
    char *w, size_t wlen)
{
	struct sl_mp m;
	int rc = SL_OK;

	sl_mp_init(&m, v, len);
	/* nil clears a field (--unset); a required field is never cleared. */
	if (!(f->flags & SL_FF_REQUIRED) && sl_mp_read_nil(&m))
		goto end;
	switch (f->type) {
	case SL_F_TIPS:
		return sl_ckpt_check_tips(v, len, w, wlen);
	case SL_F_CUTS:
		return sl_cuts_check(v, len, w, wlen);
	case SL_F_KEYS:
		return sl_keys_check(v, len, w, wlen);
	case SL_F_APPROVALS:
		return sl_approvals_check(v, len, w, wlen);
	case SL_F_HASHES:
		return sl_hashes_check(v, len, w, wlen);
	case SL_F_SIG: {
		const uint8_t *b;
		uint32_t n;

		if (sl_mp_read_bin(&m, &b, &n, SL_SIG_LEN, SL_SIG_LEN) != SL_OK)
			return sl_why(w, wlen, "is not a signature (%d bytes)",
			    SL_SIG_LEN);
		break;
	}
	case SL_F_FORK:
		return sl_fork_check(v, len, NULL, w, wlen);
	case SL_F_SEQ: {
		uint64_t u;

		if (sl_mp_read_uint(&m, &u) != SL_OK ||
		    (u == 0 && !(f->flags & SL_FF_ZERO)))
			return sl_why(w, wlen, "is not a positive integer");
		break;
	}
	case SL_F_BOOL: {
		bool b;

		if (sl_mp_read_bool(&m, &b) != SL_OK)
			return sl_why(w, wlen, "is not true or false");
		break;
	}
	case SL_F_REFS:
	case SL_F_TEXTS: {
		uint32_t n;
		const uint8_t *seen[SL_LIST_MAX];
		size_t seenl[SL_LIST_MAX];

		if ((rc = sl_mp_read_array(&m, &n, SL_LIST_MAX)) != SL_OK)
			return sl_why(w, wlen, "is not a list of at most %d values "
			    "(%s)", SL_LIST_MAX, sl_strerror(rc));
		for (uint32_t i = 0; i < n; i++) {
			seen[i] = m.p;
			if ((rc = check_str(f, &m, w, wlen)) != SL_OK)
				return rc;
			seenl[i] = (size_t)(m.p - seen[i]);
			for (uint32_t j = 0; j < i; j++)
				if (seenl[j] == seenl[i] &&
				    memcmp(seen[j], seen[i], seenl[i]) == 0)
					return sl_why(w, wlen, "repeats a value");
		}
		break;
	}
	default:
		if ((rc = check_str(f, &m, w, wlen)) != SL_OK)
			return rc;
		break;
	}
end:
	if (!sl_mp_at_end(&m))
		return sl_why(w, wlen, "has bytes after its value");
	return SL_OK;
}

/* A value of a field this version does not know: any canonical msgpack
 * of nil, booleans, unsigned integers, UTF-8 strings, binaries, and
 * arrays and maps of them, at most 8 deep. */
static int
check_any(struct sl_mp *m, int depth)
{
	const char *s;
	const uint8_t *b;
	uint32_t n;
	uint64_t u;
	bool t;

	if (depth > 8)
		return SL_ESIZE;
	if (sl_mp_read_nil(m) || sl_mp_read_bool(m, &t) == SL_OK ||
	    sl_mp_read_uint(m, &u) == SL_OK ||
	    sl_mp_read_bin(m, &b, &n, 0, SL_PAYLOAD_MAX) == SL_OK)
		return SL_OK;
	if (sl_mp_read_str(m, &s, &n, 0, SL_PAYLOAD_MAX) == SL_OK)
		return sl_utf8_valid(s, n) || n == 0 ? SL_OK : SL_EVALUE;
	if (sl_mp_read_array(m, &n, SL_PAYLOAD_MAX) == SL_OK) {
		for (uint32_t i = 0; i < n; i++) {
			int rc = check_any(m, depth + 1);

			if (rc != SL_OK)
				return rc;
		}
		return SL_OK;
	}
	if (sl_mp_read_map(m, &n, SL_PAYLOAD_MAX) == SL_OK) {
		for (uint32_t i = 0; i < n; i++) {
			uint32_t kl;
			int rc;

			/* The key's length in its own variable: n counts the
			 * map's entries. */
			if (sl_mp_read_str(m, &s, &kl, 1, SL_FIELD_NAME_MAX) !=
			    SL_OK)
				return SL_ETYPE;
			if ((rc = check_any(m, depth + 1)) != SL_OK)
				return rc;
		}
		return SL_OK;
	}
	return SL_ETYPE;
}

static bool
key_ok(const char *s, uint32_t n)
{
	if (n == 0 || n > SL_FIELD_NAME_MAX || !islower((unsigned char)s[0]))
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

int
sl_schema_check_event(const char *type, size_t tlen, const uint8_t *entity,
    uint32_t n_parents, const uint8_t *payload, size_t plen, uint64_t hlc,
    char *w, size_t wlen)
{
	const struct sl_evtype *et = sl_schema_evtype(type, tlen);
	const char *prev = NULL;
	uint32_t n, prevl = 0, seen = 0;
	struct sl_mp m;
	int rc;

	if (et != NULL && !et->kind->record && (entity != NULL || n_parents))
		return sl_why(w, wlen, "%s names a record or parents", et->type);
	if (et != NULL && et->kind->record) {
		if (et->role == SL_ET_CREATE && (entity != NULL || n_parents))
			return sl_why(w, wlen, "%s names a record or parents",
			    et->type);
		if (et->role != SL_ET_CREATE && (entity == NULL ||
		    n_parents == 0))
			return sl_why(w, wlen, "%s must name its record and the "
			    "heads it saw", et->type);
	}
	if (payload == NULL)
		return SL_OK; /* erased: nothing left to check */
	sl_mp_init(&m, payload, plen);
	if ((rc = sl_mp_read_map(&m, &n, 256)) != SL_OK)
		return sl_why(w, wlen, "the payload is not a map (%s)",
		    sl_strerror(rc));
	for (uint32_t i = 0; i < n; i++) {
		const struct sl_field *f = NULL;
		const uint8_t *v;
		const char *k;
		uint32_t kl, idx = 0;
		size_t vl;
		char fw[160];

		if (sl_mp_read_str(&m, &k, &kl, 0, SL_PAYLOAD_MAX) != SL_OK ||
		    !key_ok(k, kl))
			return sl_why(w, wlen, "payload key %u is not a field name "
			    "([a-z][a-z0-9_]*, at most %d bytes)", i + 1,
			    SL_FIELD_NAME_MAX);
		if (prev != NULL) {
			int c = memcmp(prev, k, prevl < kl ? prevl : kl);

			if (c > 0 || (c == 0 && prevl >= kl))
				return sl_why(w, wlen, "payload keys are not in "
				    "ascending order or repeat (\"%.*s\")",
				    (int)kl, k);
		}
		prev = k;
		prevl = kl;
		v = m.p;
		if (kl == 2 && memcmp(k, "on", 2) == 0 && et != NULL &&
		    et->kind->record) {
			/* The effective date of a record event (11.5). */
			const char *ds;
			uint32_t dl, ymd;

			if (sl_mp_read_str(&m, &ds, &dl, 0, 16) != SL_OK ||
			    !sl_date_parse(ds, dl, &ymd))
				return sl_why(w, wlen, "\"on\" is not a date "
				    "(YYYY-MM-DD)");
			/* Far ahead, a change would hide every later one
			 * from --as-of views for as long (11.5). */
			if (hlc != UINT64_MAX && ymd > sl_hlc_day(hlc +
			    ((uint64_t)SL_ON_AHEAD_DAYS * 86400000u << 16)))
				return sl_why(w, wlen, "\"on\" is more than %d days "
				    "after the event's clock", SL_ON_AHEAD_DAYS);
			continue;
		}
		if (et != NULL)
			f = sl_schema_field(et->kind, k, kl, &idx);
		if (f == NULL) {
			/* A field this version does not know: kept and
			 * carried, folded by nobody who does not know it. */
			if (check_any(&m, 0) != SL_OK)
				return sl_why(w, wlen, "field \"%.*s\" is not a "
				    "canonical value", (int)kl, k);
			continue;
		}
		if (!(et->fields & (1u << idx)))
			return sl_why(w, wlen, "%s cannot carry \"%s\"", et->type,
			    f->name);
		if (sl_mp_skip(&m, &v, &vl) != SL_OK)
			return sl_why(w, wlen, "field \"%s\" is cut short",
			    f->name);
		/* A personal field may travel committed (5.1): its value
		 * is checked where its opening is. */
		if ((f->flags & SL_FF_PERSONAL) && sl_is_commitment(v, vl)) {
			seen |= 1u << idx;
			continue;
		}
		if (sl_schema_check_value(f, v, vl, fw, sizeof fw) != SL_OK)
			return sl_why(w, wlen, "\"%s\" %s", f->name, fw);
		if (f->type == SL_F_STATE) {
			const char *want = sl_schema_state_name(et->kind, et->to);
			const char *st;
			uint32_t sn;
			struct sl_mp sm;

			sl_mp_init(&sm, v, vl);
			if (sl_mp_read_str(&sm, &st, &sn, 0, SL_TEXT_MAX) !=
			    SL_OK || strlen(want) != sn ||
			    memcmp(want, st, sn) != 0)
				return sl_why(w, wlen, "\"%s\" is not the state %s "
				    "leads to", f->name, et->type);
		}
		if (f->type == SL_F_BOOL && et->sets != 0) {
			struct sl_mp bm;
			bool b = false;

			sl_mp_init(&bm, v, vl);
			if (sl_mp_read_bool(&bm, &b) != SL_OK ||
			    b != (et->sets == SL_SETS_TRUE))
				return sl_why(w, wlen, "\"%s\" is not the value %s "
				    "sets", f->name, et->type);
		}
		seen |= 1u << idx;
	}
	if (!sl_mp_at_end(&m))
		return sl_why(w, wlen, "bytes follow the payload's map");
	if (et != NULL && (seen & et->required) != et->required) {
		for (uint32_t i = 0; i < et->kind->nfields; i++)
			if ((et->required & (1u << i)) && !(seen & (1u << i)))
				return sl_why(w, wlen, "%s needs \"%s\"", et->type,
				    et->kind->fields[i].name);
	}
	if (et != NULL && et->role == SL_ET_UPDATE && et->kind->record &&
	    seen == 0)
		return sl_why(w, wlen, "%s changes no field", et->type);
	/* A certificate or revocation is checked whole: its signatures
	 * are over the statement the fields make (12.3). */
	if (et != NULL && et->kind == K_DEVICE)
		return sl_device_check(type, tlen, payload, plen, w, wlen);
	/* So is an approval, a policy or an entry of a ledger (12.4). */
	if (et != NULL && et->kind == K_MEMBER)
		return sl_ledger_check(type, tlen, payload, plen, w, wlen);
	/* And an erasure (5.2). */
	if (et != NULL && et->kind == K_ERASURE)
		return sl_erasure_check(payload, plen, w, wlen);
	return SL_OK;
}

int
sl_schema_check_opens(const char *type, size_t tlen, const uint8_t *opens,
    size_t olen, char *w, size_t wlen)
{
	const struct sl_evtype *et = sl_schema_evtype(type, tlen);
	struct sl_mp m;
	uint32_t n;

	if (opens == NULL)
		return SL_OK;
	sl_mp_init(&m, opens, olen);
	if (sl_mp_read_array(&m, &n, SL_OPENS_MAX) != SL_OK)
		return sl_why(w, wlen, "the openings are not a list");
	for (uint32_t i = 0; i < n; i++) {
		const struct sl_field *f = NULL;
		const char *k;
		const uint8_t *fs, *v;
		uint32_t kl, idx = 0;
		size_t vl;
		char fw[160];

		if (sl_opening_read(&m, &k, &kl, &fs, &v, &vl) != SL_OK ||
		    !key_ok(k, kl))
			return sl_why(w, wlen, "opening %u is not [field, salt, "
			    "value]", i + 1);
		if (et == NULL) {
			/* A type this version does not know: any value. */
			struct sl_mp am;

			sl_mp_init(&am, v, vl);
			if (check_any(&am, 0) != SL_OK)
				return sl_why(w, wlen, "opening \"%.*s\" is not a "
				    "canonical value", (int)kl, k);
			continue;
		}
		f = sl_schema_field(et->kind, k, kl, &idx);
		if (f == NULL || !(f->flags & SL_FF_PERSONAL) ||
		    !(et->fields & (1u << idx)))
			return sl_why(w, wlen, "%s cannot carry \"%.*s\" "
			    "committed", et->type, (int)kl, k);
		if (sl_schema_check_value(f, v, vl, fw, sizeof fw) != SL_OK)
			return sl_why(w, wlen, "\"%s\" %s", f->name, fw);
	}
	return SL_OK;
}
