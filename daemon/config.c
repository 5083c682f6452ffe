/*
 * config.c - parsing samlog.conf.
 *
 * The format is deliberately small: one "key = value" per line, blank
 * lines and lines starting with # ignored, surrounding spaces trimmed.  A
 * value runs to the end of its line (a # inside it is part of it), so an
 * organisation may be called "Café #1".  Every problem names the file and
 * line, and nothing of a bad file is used.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	char line[1024];
	unsigned lineno = 0;
	bool have_org = false;
	FILE *f;
	int ret = SL_OK;

	memset(c, 0, sizeof *c);
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return errno == ENOENT ? SL_ENOENT : SL_EIO;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path,
			    lineno);
			ret = SL_EINVAL;
			break;
		}
		char *s = trim(line), *eq, *key, *val;

		if (*s == '\0' || *s == '#')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			snprintf(err, errlen, "%s:%u: expected \"key = value\"",
			    path, lineno);
			ret = SL_EINVAL;
			break;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (strcmp(key, "org") == 0) {
			if (have_org) {
				snprintf(err, errlen, "%s:%u: org is set twice",
				    path, lineno);
				ret = SL_EINVAL;
				break;
			}
			if (!sl_org_valid(val)) {
				snprintf(err, errlen, "%s:%u: invalid org \"%s\"",
				    path, lineno, val);
				ret = SL_EINVAL;
				break;
			}
			snprintf(c->org, sizeof c->org, "%s", val);
			have_org = true;
		} else if (strcmp(key, "group") == 0) {
			if (val[0] == '\0' || strlen(val) >= sizeof c->group ||
			    getgrnam(val) == NULL) {
				snprintf(err, errlen, "%s:%u: group \"%s\" does not "
				    "exist", path, lineno, val);
				ret = SL_EINVAL;
				break;
			}
			snprintf(c->group, sizeof c->group, "%s", val);
		} else {
			snprintf(err, errlen, "%s:%u: unknown setting \"%s\"",
			    path, lineno, key);
			ret = SL_EINVAL;
			break;
		}
	}
	if (ret == SL_OK && ferror(f)) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		ret = SL_EIO;
	}
	if (ret == SL_OK && !have_org) {
		snprintf(err, errlen, "%s: org is not set", path);
		ret = SL_EINVAL;
	}
	fclose(f);
	return ret;
}
