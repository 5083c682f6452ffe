/*
 * fileio.c - whole-file reads and atomic whole-file writes for the CLI's
 * file commands (import, audit).  Errors are printed as one
 * "samlog: ..." line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "request.h"

bool
file_slurp(const char *path, size_t max, char **out, size_t *outlen)
{
	bool in = strcmp(path, "-") == 0;
	FILE *f = in ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	bool ok = false;

	if (f == NULL) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		return false;
	}
	for (;;) {
		char *nb;
		size_t got;

		if (len > max) {
			cli_error("%s is larger than %zu MiB", path, max >> 20);
			goto out;
		}
		if ((nb = realloc(buf, len + 65536)) == NULL) {
			cli_error("%s: out of memory", path);
			goto out;
		}
		buf = nb;
		got = fread(buf + len, 1, 65536, f);
		len += got;
		if (got < 65536)
			break;
	}
	if (ferror(f)) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	ok = true;
out:
	if (!in)
		fclose(f);
	if (!ok) {
		free(buf);
		return false;
	}
	*out = buf;
	*outlen = len;
	return true;
}

bool
file_replace(const char *path, const void *data, size_t len)
{
	char tmp[4096];
	int fd;

	if (strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
			cli_error("cannot write to standard output");
			return false;
		}
		return true;
	}
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= sizeof tmp) {
		cli_error("the path is too long: %s", path);
		return false;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		return false;
	}
	if (!write_full(fd, data, len) || fsync(fd) != 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		cli_error("cannot write %s: %s", path, strerror(e));
		return false;
	}
	mode_t mask = umask(0);

	umask(mask); /* mkstemp made it 0600: give it an ordinary file's */
	if (fchmod(fd, 0666 & ~mask) != 0 || close(fd) != 0 ||
	    rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		cli_error("cannot write %s: %s", path, strerror(e));
		return false;
	}
	return true;
}
