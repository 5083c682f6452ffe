/*
 * words.h - words for people, in Swedish and English, looked up by a
 * key: the schema's values (report.c), the page's labels, steps and
 * history (ui.c).  Each table is an array of struct word ended by one
 * whose key is NULL.
 */
#ifndef SAMLOG_WORDS_H
#define SAMLOG_WORDS_H

#include <stdbool.h>

struct word {
	const char *key, *sv, *en;
};

/* The word for key in table t (English with en), or NULL if t has none
 * (or key is NULL). */
const char *word_find(const struct word *t, const char *key, bool en);

#endif
