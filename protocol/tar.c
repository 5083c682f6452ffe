/*
 * tar.c - the ustar headers of backup archives (samlog backup, samlog
 * restore): a plain tar file, so that an administrator can list and
 * unpack a backup with tar(1) too.
 *
 * Only what the backups need: regular files, names under 100 bytes,
 * sizes in octal (below 8 GiB) or, above, in the base-256 form GNU tar
 * and every tar since reads.
 */
#include <stdio.h>
#include <string.h>

#include "samlog_proto.h"

/* "ustar", a NUL, and the version "00". */
static const uint8_t magic[8] = { 'u', 's', 't', 'a', 'r', 0, '0', '0' };

static void
octal(char *out, size_t width, uint64_t v)
{
	/* width - 1 digits and a NUL. */
	snprintf(out, width, "%0*llo", (int)width - 1, (unsigned long long)v);
}

static uint32_t
checksum(const uint8_t h[SL_TAR_BLOCK])
{
	uint32_t sum = 0;

	for (size_t i = 0; i < SL_TAR_BLOCK; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	return sum;
}

int
sl_tar_header(uint8_t h[SL_TAR_BLOCK], const char *name, uint64_t size,
    unsigned mode, uint64_t mtime)
{
	size_t n = strlen(name);
	char tmp[16];

	memset(h, 0, SL_TAR_BLOCK);
	if (n == 0 || n > 99)
		return SL_EINVAL;
	for (size_t i = 0; i < n; i++)
		h[i] = (uint8_t)name[i];
	octal(tmp, 8, mode & 07777);
	memcpy(h + 100, tmp, 8);
	octal(tmp, 8, 0);
	memcpy(h + 108, tmp, 8);          /* uid */
	memcpy(h + 116, tmp, 8);          /* gid */
	if (size <= 077777777777ull) {
		octal(tmp, 12, size);
		memcpy(h + 124, tmp, 12);
	} else {
		h[124] = 0x80;            /* base-256, big-endian */
		for (int i = 0; i < 8; i++)
			h[135 - i] = (uint8_t)(size >> (8 * i));
	}
	octal(tmp, 12, mtime);
	memcpy(h + 136, tmp, 12);
	h[156] = '0';                     /* a regular file */
	memcpy(h + 257, magic, sizeof magic);
	snprintf(tmp, sizeof tmp, "%06o", checksum(h));
	memcpy(h + 148, tmp, 7);          /* six digits and a NUL */
	h[155] = ' ';
	return SL_OK;
}

static bool
parse_octal(const uint8_t *p, size_t width, uint64_t *v)
{
	size_t i = 0;

	*v = 0;
	while (i < width && p[i] == ' ')
		i++;
	for (; i < width && p[i] >= '0' && p[i] <= '7'; i++) {
		if (*v > (UINT64_MAX >> 3))
			return false;
		*v = (*v << 3) | (uint64_t)(p[i] - '0');
	}
	for (; i < width; i++)
		if (p[i] != '\0' && p[i] != ' ')
			return false;
	return true;
}

int
sl_tar_parse(const uint8_t h[SL_TAR_BLOCK], char name[100], uint64_t *size,
    char *type)
{
	uint64_t sum;
	size_t n;

	for (n = 0; n < SL_TAR_BLOCK && h[n] == 0; n++)
		;
	if (n == SL_TAR_BLOCK)
		return SL_ENOENT;         /* an end-of-archive block */
	if (!parse_octal(h + 148, 8, &sum) || sum != checksum(h) ||
	    memcmp(h + 257, "ustar", 5) != 0)
		return SL_EINVAL;
	n = strnlen((const char *)h, 100);
	if (n == 0 || n == 100 || h[345] != '\0')
		return SL_EINVAL;         /* no prefix (names are short) */
	memcpy(name, h, n);
	name[n] = '\0';
	if (h[124] & 0x80) {
		if (h[124] != 0x80 || h[125] || h[126] || h[127])
			return SL_EINVAL;
		*size = 0;
		for (int i = 128; i < 136; i++)
			*size = (*size << 8) | h[i];
	} else if (!parse_octal(h + 124, 12, size)) {
		return SL_EINVAL;
	}
	*type = h[156] == '\0' ? '0' : (char)h[156];
	return SL_OK;
}
