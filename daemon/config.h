/*
 * config.h - the node's samlog.conf: "key = value" lines, # comments.
 */
#ifndef SAMLOG_CONFIG_H
#define SAMLOG_CONFIG_H

#include <stddef.h>

#include "samlog_proto.h"

struct config {
	char org[SL_ORG_MAX + 1];
	char group[64];   /* members may use the control socket; "" = owner only */
};

/*
 * Reads the config file at path into c.  Any unknown key, repeated key,
 * malformed line or invalid value refuses the whole file: err gets
 * "PATH:LINE: reason".  Returns SL_OK or an SL_E* code.
 */
int config_load(struct config *c, const char *path, char *err,
    size_t errlen);

#endif
