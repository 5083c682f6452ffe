/*
 * fuzz_config.c - libFuzzer target for samlog.conf: the daemon reads it at
 * start and on SIGHUP, and a bad line must stop it with FILE:LINE: reason,
 * never crash it.  The input is written to an in-memory file and read
 * through config_load, as the daemon reads the real one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "samlog_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct config c;
	char err[512] = "";
	int rc;

	if (fd < 0) {
		if ((fd = memfd_create("samlog.conf", 0)) < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();
	rc = config_load(&c, path, err, sizeof err);
	if (rc == SL_OK) {
		/* What was accepted is within its limits. */
		if (strlen(c.org) > SL_ORG_MAX || c.npeers > CONFIG_PEERS_MAX)
			abort();
		for (size_t i = 0; i < c.npeers; i++)
			if (!config_name_valid(c.peers[i].name))
				abort();
		config_free(&c);
	} else if (strncmp(err, path, strlen(path)) != 0) {
		abort(); /* a refusal names the file (and line) */
	}
	return 0;
}
