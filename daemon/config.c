/*
 * config.c - parsing samlog.conf.
 *
 * The format is deliberately small: one "key = value" per line, blank
 * lines and lines starting with # ignored, surrounding spaces trimmed.  A
 * value runs to the end of its line (a # inside it is part of it), so an
 * organisation may be called "Café #1".  Every problem names the file and
 * line, and nothing of a bad file is used.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

bool
config_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CONFIG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-'))
			return false;
	}
	return true;
}

bool
config_addr_split(const char *addr, char *host, size_t hostlen,
    unsigned *port, bool allow_zero, char *err, size_t errlen)
{
	const char *colon, *h = addr, *he;
	char *end;
	unsigned long pn;

	if (strlen(addr) > CONFIG_ADDR_MAX) {
		snprintf(err, errlen, "address is too long");
		return false;
	}
	if (addr[0] == '[') {
		h = addr + 1;
		if ((he = strchr(h, ']')) == NULL || he[1] != ':') {
			snprintf(err, errlen, "invalid address \"%s\" (use "
			    "[IPV6]:PORT)", addr);
			return false;
		}
		colon = he + 1;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL ||
		    memchr(addr, ':', (size_t)(colon - addr)) != NULL) {
			snprintf(err, errlen, "invalid address \"%s\" (use "
			    "HOST:PORT)", addr);
			return false;
		}
		he = colon;
	}
	/* A host name, an IPv4 or IPv6 address (with a %zone): nothing that
	 * could break a config line. */
	if (he == h || (size_t)(he - h) >= hostlen ||
	    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_:%*") < (size_t)(he - h)) {
		snprintf(err, errlen, "invalid host in \"%s\"", addr);
		return false;
	}
	errno = 0;
	pn = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    pn > 65535 || (pn == 0 && !allow_zero)) {
		snprintf(err, errlen, "invalid port in \"%s\" (1 to 65535)",
		    addr);
		return false;
	}
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	*port = (unsigned)pn;
	return true;
}

const struct config_peer *
config_peer_find(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->npeers; i++)
		if (strcmp(c->peers[i].name, name) == 0)
			return &c->peers[i];
	return NULL;
}

/* "NAME NODEID [HOST:PORT]" into p; false with err on anything else. */
static bool
peer_parse(struct config_peer *p, char *val, char *err, size_t errlen)
{
	char *name, *key, *addr, *rest, *save = NULL;
	char host[CONFIG_ADDR_MAX + 1];
	unsigned port;

	memset(p, 0, sizeof *p);
	name = strtok_r(val, " \t", &save);
	key = strtok_r(NULL, " \t", &save);
	addr = strtok_r(NULL, " \t", &save);
	rest = strtok_r(NULL, " \t", &save);
	if (name == NULL || key == NULL || rest != NULL) {
		snprintf(err, errlen, "expected \"peer = NAME NODEID "
		    "[HOST:PORT]\"");
		return false;
	}
	if (!config_name_valid(name)) {
		snprintf(err, errlen, "invalid peer name \"%s\" (1 to %d "
		    "letters, digits, '.', '_' or '-')", name,
		    CONFIG_NAME_MAX);
		return false;
	}
	if (strlen(key) != SL_NODE_ID_TEXT ||
	    !sl_b32_decode(p->key, SL_KEY_LEN, key)) {
		snprintf(err, errlen, "invalid node id \"%s\" for peer %s "
		    "(%d base32 characters, as 'samlog init' prints)", key,
		    name, SL_NODE_ID_TEXT);
		return false;
	}
	if (addr != NULL && !config_addr_split(addr, host, sizeof host, &port,
	    false, err, errlen))
		return false;
	snprintf(p->name, sizeof p->name, "%s", name);
	snprintf(p->addr, sizeof p->addr, "%s", addr ? addr : "");
	return true;
}

void
config_free(struct config *c)
{
	free(c->peers);
	c->peers = NULL;
	c->npeers = 0;
}

bool
config_duration_parse(const char *s, uint64_t *ms)
{
	uint64_t n = 0, unit = 1000;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p) && n < 1000000000)
		n = n * 10 + (uint64_t)(*p++ - '0');
	switch (*p) {
	case '\0': case 's': break;
	case 'm': unit = (uint64_t)60 * 1000; break;
	case 'h': unit = (uint64_t)3600 * 1000; break;
	case 'd': unit = (uint64_t)86400 * 1000; break;
	default: return false;
	}
	if (*p != '\0' && p[1] != '\0')
		return false;
	*ms = n * unit;
	return *ms >= 1000 && *ms <= 7ull * 86400 * 1000;
}

bool
config_interval_parse(const char *s, uint64_t *ms)
{
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return true;
	}
	return config_duration_parse(s, ms);
}

bool
config_retain_parse(struct config_retain *r, const char *val, char *why,
    size_t wlen)
{
	char buf[200], *w[6], *save = NULL, *dot, *end;
	const struct sl_kind *k;
	const struct sl_field *f;
	size_t n = 0;
	unsigned long v;

	memset(r, 0, sizeof *r);
	if (strlen(val) >= sizeof buf || strlen(val) >= sizeof r->text) {
		snprintf(why, wlen, "retain: the rule is too long");
		return false;
	}
	snprintf(r->text, sizeof r->text, "%s", val);
	snprintf(buf, sizeof buf, "%s", val);
	for (char *t = strtok_r(buf, " \t", &save); t != NULL && n < 6;
	    t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	if (n != 2 && n != 4 && n != 6) {
		snprintf(why, wlen, "retain \"%s\" is not KIND.FIELD AGE "
		    "[after FIELD] [under DECISION_ID] (e.g. contact.phone 2y "
		    "after left)", val);
		return false;
	}
	if ((dot = strchr(w[0], '.')) == NULL ||
	    (size_t)(dot - w[0]) >= sizeof r->kind) {
		snprintf(why, wlen, "retain: \"%s\" is not KIND.FIELD", w[0]);
		return false;
	}
	*dot = '\0';
	if ((k = sl_schema_kind(w[0])) == NULL || !k->record ||
	    (f = sl_schema_field(k, dot + 1, strlen(dot + 1), NULL)) == NULL ||
	    !(f->flags & SL_FF_PERSONAL)) {
		char list[160] = "";
		size_t o = 0;

		for (uint32_t i = 0; k != NULL && k->record && i < k->nfields &&
		    o < sizeof list; i++)
			if (k->fields[i].flags & SL_FF_PERSONAL)
				o += (size_t)snprintf(list + o, sizeof list - o,
				    "%s%s", o ? ", " : "", k->fields[i].name);
		snprintf(why, wlen, "retain: %s.%s is not a personal field of a "
		    "record kind%s%s%s", w[0], dot + 1, list[0] ? " (its personal "
		    "fields: " : "", list, list[0] ? ")" : "");
		return false;
	}
	snprintf(r->kind, sizeof r->kind, "%s", w[0]);
	snprintf(r->field, sizeof r->field, "%s", f->name);
	errno = 0;
	v = strtoul(w[1], &end, 10);
	if (errno == 0 && end != w[1] && v == 0) {
		snprintf(why, wlen, "retain: the age \"%s\" must be at least 1 "
		    "(e.g. 30d, 6m, 2y)", w[1]);
		return false;
	}
	if (errno != 0 || end == w[1] || v == 0 || v > 1200 ||
	    end[0] == '\0' || strchr("dwmy", end[0]) == NULL ||
	    end[1] != '\0') {
		snprintf(why, wlen, "retain: the age \"%s\" is not N followed by "
		    "d, w, m or y (e.g. 30d, 6m, 2y)", w[1]);
		return false;
	}
	if (end[0] == 'd')
		r->days = (unsigned)v;
	else if (end[0] == 'w')
		r->days = (unsigned)v * 7;
	else if (end[0] == 'm')
		r->months = (unsigned)v;
	else
		r->months = (unsigned)v * 12;
	for (size_t i = 2; i + 1 < n; i += 2) {
		if (strcmp(w[i], "after") == 0 && r->after[0] == '\0') {
			const struct sl_field *af = sl_schema_field(k, w[i + 1],
			    strlen(w[i + 1]), NULL);

			if (af == NULL || af->type != SL_F_DATE) {
				char list[120] = "";
				size_t o = 0;

				for (uint32_t j = 0; j < k->nfields &&
				    o < sizeof list; j++)
					if (k->fields[j].type == SL_F_DATE)
						o += (size_t)snprintf(list + o,
						    sizeof list - o, "%s%s", o ?
						    ", " : "", k->fields[j].name);
				snprintf(why, wlen, "retain: %s has no date field "
				    "\"%s\" (its date fields: %s)", k->word,
				    w[i + 1], list[0] ? list : "none");
				return false;
			}
			snprintf(r->after, sizeof r->after, "%s", af->name);
		} else if (strcmp(w[i], "under") == 0 && r->decision[0] ==
		    '\0') {
			uint8_t id[SL_ID_LEN];

			if (strlen(w[i + 1]) != SL_ID_TEXT ||
			    !sl_b32_decode(id, SL_ID_LEN, w[i + 1])) {
				snprintf(why, wlen, "retain: \"%s\" is not a "
				    "decision's full id (26 characters: samlog "
				    "decision show ID prints it)", w[i + 1]);
				return false;
			}
			snprintf(r->decision, sizeof r->decision, "%s", w[i + 1]);
		} else {
			snprintf(why, wlen, "retain: expected \"after FIELD\" or "
			    "\"under DECISION_ID\", not \"%s\"", w[i]);
			return false;
		}
	}
	return true;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	char line[1024];
	unsigned lineno = 0;
	/* Every key but peer may be set once. */
	static const char *const single[] = { "org", "group", "listen",
		"socket", "max_skew", "checkpoint_interval", "erasure" };
	unsigned seen = 0;
	FILE *f;
	int ret = SL_OK;

	memset(c, 0, sizeof *c);
	c->checkpoint_ms = CONFIG_CHECKPOINT_DEFAULT;
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
		for (unsigned k = 0; k < sizeof single / sizeof single[0]; k++) {
			if (strcmp(key, single[k]) != 0)
				continue;
			if (seen & 1u << k) {
				snprintf(err, errlen, "%s:%u: %s is set twice",
				    path, lineno, key);
				ret = SL_EINVAL;
			}
			seen |= 1u << k;
		}
		if (ret != SL_OK)
			break;
		if (strcmp(key, "org") == 0) {
			if (!sl_org_valid(val)) {
				snprintf(err, errlen, "%s:%u: invalid org \"%s\"",
				    path, lineno, val);
				ret = SL_EINVAL;
				break;
			}
			snprintf(c->org, sizeof c->org, "%s", val);
		} else if (strcmp(key, "group") == 0) {
			if (val[0] == '\0' || strlen(val) >= sizeof c->group ||
			    getgrnam(val) == NULL) {
				snprintf(err, errlen, "%s:%u: group \"%s\" does not "
				    "exist", path, lineno, val);
				ret = SL_EINVAL;
				break;
			}
			snprintf(c->group, sizeof c->group, "%s", val);
		} else if (strcmp(key, "listen") == 0) {
			char host[CONFIG_ADDR_MAX + 1], why[160];
			unsigned port;

			if (!config_addr_split(val, host, sizeof host, &port,
			    true, why, sizeof why)) {
				snprintf(err, errlen, "%s:%u: %s", path, lineno,
				    why);
				ret = SL_EINVAL;
				break;
			}
			snprintf(c->listen, sizeof c->listen, "%s", val);
		} else if (strcmp(key, "checkpoint_interval") == 0) {
			if (!config_interval_parse(val, &c->checkpoint_ms)) {
				snprintf(err, errlen, "%s:%u: checkpoint_interval "
				    "\"%s\" is not 0 (never) or a duration from "
				    "1s to 7d (e.g. 300s, 5m)", path, lineno, val);
				ret = SL_EINVAL;
				break;
			}
		} else if (strcmp(key, "max_skew") == 0) {
			if (!config_duration_parse(val, &c->max_skew_ms)) {
				snprintf(err, errlen, "%s:%u: max_skew \"%s\" is "
				    "not a duration from 1s to 7d (e.g. 600s, 10m, "
				    "2h)", path, lineno, val);
				ret = SL_EINVAL;
				break;
			}
		} else if (strcmp(key, "retain") == 0) {
			char why[200];

			if (c->nretain == CONFIG_RETAIN_MAX) {
				snprintf(err, errlen, "%s:%u: more than %d retain "
				    "rules", path, lineno, CONFIG_RETAIN_MAX);
				ret = SL_EINVAL;
				break;
			}
			if (!config_retain_parse(&c->retain[c->nretain], val,
			    why, sizeof why)) {
				snprintf(err, errlen, "%s:%u: %s", path, lineno,
				    why);
				ret = SL_EINVAL;
				break;
			}
			c->nretain++;
		} else if (strcmp(key, "erasure") == 0) {
			if (strcmp(val, "apply") == 0) {
				c->erasure_decision = false;
			} else if (strcmp(val, "with-decision") == 0) {
				c->erasure_decision = true;
			} else {
				snprintf(err, errlen, "%s:%u: erasure \"%s\" is not "
				    "apply or with-decision", path, lineno, val);
				ret = SL_EINVAL;
				break;
			}
		} else if (strcmp(key, "socket") == 0) {
			if (val[0] != '/' || strlen(val) >= sizeof c->socket) {
				snprintf(err, errlen, "%s:%u: socket must be an "
				    "absolute path under 108 bytes", path, lineno);
				ret = SL_EINVAL;
				break;
			}
			snprintf(c->socket, sizeof c->socket, "%s", val);
		} else if (strcmp(key, "peer") == 0) {
			struct config_peer p, *np;
			char why[200];

			if (!peer_parse(&p, val, why, sizeof why)) {
				snprintf(err, errlen, "%s:%u: %s", path, lineno,
				    why);
				ret = SL_EINVAL;
				break;
			}
			bool dup = false;

			for (size_t i = 0; i < c->npeers; i++)
				dup |= strcmp(c->peers[i].name, p.name) == 0 ||
				    memcmp(c->peers[i].key, p.key,
				    SL_KEY_LEN) == 0;
			if (dup) {
				snprintf(err, errlen, "%s:%u: peer %s or its node "
				    "id is listed twice", path, lineno, p.name);
				ret = SL_EINVAL;
				break;
			}
			if (c->npeers == CONFIG_PEERS_MAX) {
				snprintf(err, errlen, "%s:%u: more than %d peers",
				    path, lineno, CONFIG_PEERS_MAX);
				ret = SL_EINVAL;
				break;
			}
			if ((np = realloc(c->peers, (c->npeers + 1) *
			    sizeof *np)) == NULL) {
				snprintf(err, errlen, "out of memory");
				ret = SL_ENOMEM;
				break;
			}
			c->peers = np;
			c->peers[c->npeers++] = p;
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
	if (ret == SL_OK && !(seen & 1u)) {   /* single[0]: org */
		snprintf(err, errlen, "%s: org is not set", path);
		ret = SL_EINVAL;
	}
	fclose(f);
	if (ret != SL_OK)
		config_free(c);
	return ret;
}

/* True if line (as read) is the peer line of name. */
static bool
is_peer_line(const char *line, const char *name)
{
	char buf[1024], *s, *eq, *v;
	size_t n = strlen(name);

	snprintf(buf, sizeof buf, "%s", line);
	s = trim(buf);
	if ((eq = strchr(s, '=')) == NULL)
		return false;
	*eq = '\0';
	if (strcmp(trim(s), "peer") != 0)
		return false;
	v = trim(eq + 1);
	return strncmp(v, name, n) == 0 && (v[n] == ' ' || v[n] == '\t' ||
	    v[n] == '\0');
}

/* Writes p's line: "peer = NAME NODEID [ADDR]". */
static void
peer_line(FILE *out, const struct config_peer *p)
{
	char id[SL_NODE_ID_TEXT + 1];

	sl_b32_encode(id, p->key, SL_KEY_LEN);
	fprintf(out, "peer = %s %s%s%s\n", p->name, id, p->addr[0] ? " " : "",
	    p->addr);
}

int
config_write_peer(const char *path, const struct config_peer *p,
    bool remove, char *err, size_t errlen)
{
	char tmp[4096], line[1024];
	FILE *in, *out = NULL;
	int fd;
	bool done = false;

	if ((in = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return SL_EIO;
	}
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.new", path) >= sizeof tmp) {
		snprintf(err, errlen, "the path of %s is too long", path);
		fclose(in);
		return SL_EINVAL;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0 || (out = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		fclose(in);
		return SL_EIO;
	}
	while (fgets(line, sizeof line, in) != NULL) {
		if (is_peer_line(line, p->name)) {
			/* Replaced where it stood, so the file keeps its
			 * order and the comments around the line. */
			if (!remove && !done)
				peer_line(out, p);
			done = true;
			continue;
		}
		fputs(line, out);
		if (strchr(line, '\n') == NULL)
			fputc('\n', out);
	}
	if (!remove && !done)
		peer_line(out, p);
	bool bad = ferror(in) || fflush(out) != 0 || fsync(fd) != 0;

	fclose(in);
	if (fclose(out) != 0 || bad || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		return SL_EIO;
	}
	/* Make the rename itself durable. */
	char dir[4096];
	const char *slash = strrchr(path, '/');

	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1,
	    slash ? path : ".");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return SL_OK;
}
