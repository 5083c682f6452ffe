/*
 * words.c - looking up words for people (words.h).
 */
#include <string.h>

#include "words.h"

const char *
word_find(const struct word *t, const char *key, bool en)
{
	for (size_t i = 0; key != NULL && t[i].key != NULL; i++)
		if (strcmp(t[i].key, key) == 0)
			return en ? t[i].en : t[i].sv;
	return NULL;
}
