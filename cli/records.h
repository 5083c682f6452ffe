/*
 * records.h - what the CLI's modules read from the record schema
 * (protocol/schema.c) in common: the record kinds in the order an import
 * needs them, their names for messages, and the keys replies add to a
 * record's fields.
 */
#ifndef SAMLOG_RECORDS_H
#define SAMLOG_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "samlog_proto.h"

/* The record kinds, NULL-terminated: each after the kinds its references
 * name (so that an import meets a record before the records referring to
 * it), otherwise in the schema's order.  Static; never freed. */
const struct sl_kind *const *records_kinds(void);

/* Their words ("org", ...), NULL-terminated, in the same order. */
const char *const *records_words(void);

/* The words as a phrase for messages: "org, contact, meeting or
 * decision". */
const char *records_words_text(void);

/* The record kind called word, or NULL (node announcements are no
 * records). */
const struct sl_kind *records_kind(const char *word);

/* The event type that creates records of kind k, or NULL. */
const struct sl_evtype *records_create(const struct sl_kind *k);

/*
 * The key under which samlogd's replies carry the name of the record
 * field f refers to ("org_name" for a contact's org: see pack_record in
 * daemon/cmd.c, which adds one for each single reference to an
 * organisation), written into key; false if replies carry none.
 */
bool records_ref_name(const struct sl_field *f, char *key, size_t n);

/* True if key is such a name key of some field of some kind. */
bool records_is_ref_name(const char *key);

#endif
