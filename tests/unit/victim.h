/*
 * victim.h - what the hostile-member suites (test_meaning, test_attack)
 * check on a victim node: a verdict that gathers every failed check of a
 * test and reports them at once, a small JSON reader for the CLI's
 * --json output, the record and status checks, and forging events of an
 * attacker's chain with any header values.
 */
#ifndef SAMLOG_TEST_VICTIM_H
#define SAMLOG_TEST_VICTIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attacker.h"
#include "cluster.h"
#include "samlog_proto.h"
#include "testutil.h"

#define YEAR_MS ((uint64_t)365 * 24 * 3600 * 1000)
/* How long a test waits for an outcome that may never come. */
#define OUTCOME_MS 10000

struct verdict {
	char text[32768];   /* the failures, one line each */
	size_t len;
	int checks, bad;
};

/* One check: counts it, and when cond is false records the message. */
void expect(struct verdict *v, bool cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fails the test if any check failed: the list, then one line. */
void verdict_end(const struct verdict *v);

/* Skips JSON white space at *p. */
void jws(const char **p);

/* True if s is one JSON value and nothing else but white space. */
bool json_valid(const char *s);

/* The same for the elements of an array (*p first at its '['). */
int jelem(const char **p, const char **v, size_t *vl);

/* The raw text of the value of key in the object obj (its first
 * occurrence at the top level) into out; false (and out "") if there is
 * none. */
bool jget(const char *obj, const char *key, char *out, size_t outlen);

/* A JSON string of s (which holds nothing to escape); rotating
 * buffers. */
const char *js(const char *s);

/* The raw JSON of key in `samlog KIND show ID --json` on n; if there is
 * none, a text in <> saying why.  Rotating buffers. */
const char *shown(const struct node *n, const char *kind, const char *id, const char *key);

/* Expects key of a record on n to be the JSON text want. */
void expect_shown(struct verdict *v, const struct node *n, const char *kind, const char *id,
    const char *key, const char *want);

/* Waits up to ms for key of a record on n to read want; returns what it
 * read last. */
const char *shown_within(const struct node *n, const char *kind, const char *id,
    const char *key, const char *want, unsigned ms);

/* Runs samlog on n and expects exit 0; returns the run (sl's buffer). */
struct tu_run *expect_run(struct verdict *v, const struct node *n, const char *what,
    struct tu_run *r);

/* Expects `samlog verify` on n to be clean. */
void expect_verify(struct verdict *v, const struct node *n);

/* `samlog audit --check FILE [--json]` with no daemon, no node directory
 * and no HOME. */
struct tu_run *check_offline(const char *path, bool json);

/* A number of n's `status --json`. */
long status_num(const struct node *n, const char *key);

/*
 * Delivers r[0..n) to the victim as id and expects the last of them to
 * be refused at ingest: the victim's refused count grows (and, with
 * per_peer, the count of its peer id), and it stores only the n - 1
 * before it.
 */
void expect_refused(struct verdict *v, const struct node *victim, const struct ident *id,
    const struct rec *r, size_t n, bool per_peer, const char *what);

/* `samlog log --json` on n is one JSON array of objects with no key but
 * log_keys; says what is wrong otherwise. */
void expect_log_json(struct verdict *v, const struct node *n);

/*
 * `samlog audit ID --out path` on n, then `samlog audit --check path
 * --json` with no daemon: the record the checker prints must be what
 * `samlog contact show ID --json` shows on n, field by field (a field
 * the node does not show counts as null), and the checker's record must
 * hold nothing else the node does not show the same.
 */
void expect_check_is_node(struct verdict *v, const struct node *n, const char *c,
    const char *path);

/* Adds a contact on n; its id (a static buffer). */
char *contact_add(const struct node *n, const char *name, const char *role);

/* The heads of record id on n (its events that no other of its events
 * names), into heads[0..max); returns their count.  *created (may be
 * NULL) gets the clock of its creating event. */
uint32_t heads_of(const struct node *n, const char *id, uint8_t (*heads)[SL_HASH_LEN],
    uint32_t max, uint64_t *created);

/* Waits until n holds the event with hash h. */
void wait_holds(const struct node *n, const uint8_t h[SL_HASH_LEN]);

/* The only head of record id on n (fails the test if it has several). */
void head_of(const struct node *n, const char *id, uint8_t head[SL_HASH_LEN]);

/* A payload map of text fields: key, value, key, value..., NULL (a
 * NULL value is nil).  The caller frees the buffer. */
struct sl_buf pmap(const char *k, ...);

/* An event of f's chain about record id (NULL: one that creates),
 * naming parents[0..np), with clock hlc (0: now) and payload g. */
struct rec forge_on(struct forger *f, const char *type, const char *id, const uint8_t (*parents)[SL_HASH_LEN],
    uint32_t np, uint64_t hlc, const struct sl_buf *g);

/* Waits until the scene's victim and honest node hold the same events. */
void scene_converge(struct scene *s);

/* A decision the honest node proposes (title, text "Förslag"), once the
 * victim holds it; created (may be NULL) gets its creating event. */
const char *scene_decision(struct scene *s, const char *title,
    uint8_t created[SL_HASH_LEN]);

#endif
