/*
 * fill.c - see fill.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fill.h"
#include "project.h"
#include "store.h"

#define FILL_BATCH 1000

int
tu_fill(const char *dir, size_t n, char *err, size_t errlen)
{
	struct sl_key key;
	struct store *s = NULL;
	struct project *p = NULL;
	struct sl_event_draft *d = calloc(FILL_BATCH, sizeof *d);
	uint8_t (*pay)[64] = calloc(FILL_BATCH, sizeof *pay);
	char path[4096];
	int ret = -1;

	if (d == NULL || pay == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (sl_node_load_key(dir, &key, err, errlen) != SL_OK)
		goto out;
	snprintf(path, sizeof path, "%s/%s", dir, SL_NODE_STORE_DIR);
	if (store_open(&s, path, &key, NULL, err, errlen) != SL_OK ||
	    project_open(&p, s, err, errlen) != SL_OK)
		goto out;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < FILL_BATCH ? n - done : FILL_BATCH;

		for (size_t i = 0; i < k; i++) {
			/* {"name": "Contact 000000123"}: map of 1, "name" */
			static const uint8_t map_name[] = { 0x81, 0xa4, 'n',
				'a', 'm', 'e' };
			int len = snprintf((char *)pay[i] + 6, 58,
			    "Contact %09zu", done + i);

			memcpy(pay[i], map_name, sizeof map_name);
			memmove(pay[i] + 7, pay[i] + 6, (size_t)len);
			pay[i][6] = (uint8_t)(0xa0 | len);
			d[i] = (struct sl_event_draft){ .author = "fill",
				.type = "contact.created", .payload = pay[i],
				.payload_len = (uint32_t)(7 + len) };
		}
		if (store_append(s, d, k, NULL, err, errlen) != SL_OK)
			goto out;
		done += k;
	}
	ret = 0;
out:
	project_close(p);
	store_close(s);
	sl_key_wipe(&key);
	free(d);
	free(pay);
	return ret;
}
