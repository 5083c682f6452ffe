/*
 * request.c - talking to samlogd: connect to DIR/samlogd.sock, send one
 * REQUEST frame ({"cmd", "args"}), then read RECORD frames until END and
 * the one RESULT.  The CLI holds no business logic: arguments go to the
 * daemon as the user typed them, and the daemon's verdict comes back.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "request.h"
#include "samlog_proto.h"

#define REPLY_MAX (SL_CTL_FRAME_MAX * 4)

/* {"cmd": remote, "args": {flag: value | [values] | true, "id": pos}} */
static void
build_request(struct sl_buf *w, const struct parse_result *r,
    const char *const *fields, size_t nfields)
{
	msgpack_packer pk;
	const struct flag_def *done[MAX_VALUES];
	size_t ndone = 0, nargs = r->pos != NULL;
	/* A record change takes effect today by default: the user's day
	 * (TZ), which the daemon's may not be. */
	const char *verb = r->def->remote != NULL ?
	    strchr(r->def->remote, '.') : NULL;
	bool change = r->def->kind != NULL && r->def->out == OUT_ID &&
	    verb != NULL && strcmp(verb, ".list") != 0 &&
	    strcmp(verb, ".show") != 0;
	char today[16] = "";
	time_t now = time(NULL);
	struct tm tm;

	if (change && localtime_r(&now, &tm) != NULL)
		strftime(today, sizeof today, "%Y-%m-%d", &tm);
	nargs += today[0] != '\0';
	nargs += nfields > 0;
	for (const struct flag_def *f = r->def->flags; f->name; f++)
		nargs += parse_value(r, f->name) != NULL;
	msgpack_packer_init(&pk, w, sl_buf_write);
	msgpack_pack_map(&pk, 2);
	sl_pack_cstr(&pk, "cmd");
	sl_pack_cstr(&pk, r->def->remote != NULL ? r->def->remote : "");
	sl_pack_cstr(&pk, "args");
	msgpack_pack_map(&pk, nargs);
	if (r->pos != NULL) {
		sl_pack_cstr(&pk, "id");
		sl_pack_cstr(&pk, r->pos);
	}
	if (today[0] != '\0') {
		sl_pack_cstr(&pk, "today");
		sl_pack_cstr(&pk, today);
	}
	if (nfields > 0) {
		sl_pack_cstr(&pk, "fields");
		msgpack_pack_array(&pk, nfields);
		for (size_t i = 0; i < nfields; i++)
			sl_pack_cstr(&pk, fields[i]);
	}
	for (size_t i = 0; i < r->nvals; i++) {
		const struct flag_def *f = r->vals[i].flag;
		bool seen = false;

		for (size_t k = 0; k < ndone; k++)
			seen = seen || done[k] == f;
		if (seen)
			continue;
		done[ndone++] = f;
		sl_pack_cstr(&pk, f->name);
		if (f->flags & FL_SWITCH) {
			msgpack_pack_true(&pk);
		} else if (f->flags & FL_REPEAT) {
			size_t n = 0;

			for (size_t k = 0; k < r->nvals; k++)
				n += r->vals[k].flag == f;
			msgpack_pack_array(&pk, n);
			for (size_t k = 0; k < r->nvals; k++)
				if (r->vals[k].flag == f)
					sl_pack_cstr(&pk, r->vals[k].value);
		} else {
			sl_pack_cstr(&pk, parse_value(r, f->name));
		}
	}
}

/* Replies are read in large chunks: a list of a hundred records arrives
 * in one or two reads instead of two per frame. */
static uint8_t rbuf[65536];
static size_t rpos, rlen;

/* Forgets what a reply left unread (before the next connection). */
static void
read_reset(void)
{
	rpos = rlen = 0;
}

bool
read_full(int fd, void *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		if (rpos == rlen) {
			ssize_t got = read(fd, rbuf, sizeof rbuf);

			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				return false;
			rpos = 0;
			rlen = (size_t)got;
		}
		size_t take = rlen - rpos < n - off ? rlen - rpos : n - off;

		memcpy((uint8_t *)buf + off, rbuf + rpos, take);
		rpos += take;
		off += take;
	}
	return true;
}

bool
write_full(int fd, const void *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t put = write(fd, (const char *)buf + off, n - off);

		if (put < 0 && errno == EINTR)
			continue;
		if (put <= 0)
			return false;
		off += (size_t)put;
	}
	return true;
}

/* One "samlog: ..." line; the daemon's messages quote values from the
 * log, so the line is escaped (cli_error). */
static int
say(int status, const char *fmt, const char *a, const char *b)
{
	cli_error(fmt, a, b);
	return status;
}

/* The socket DIR's samlog.conf names ("socket = PATH", an absolute
 * path), into path; false if it names none or cannot be read. */
static bool
conf_socket(const char *dir, char *path, size_t plen)
{
	char conf[4096], line[1024];
	bool found = false;
	FILE *f;

	if ((size_t)snprintf(conf, sizeof conf, "%s/samlog.conf", dir) >=
	    sizeof conf || (f = fopen(conf, "re")) == NULL)
		return false;
	while (fgets(line, sizeof line, f) != NULL) {
		char *s = line, *e;

		while (*s == ' ' || *s == '\t')
			s++;
		if (strncmp(s, "socket", 6) != 0)
			continue;
		s += 6;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s++ != '=')
			continue;
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' ||
		    e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (s[0] == '/' && (size_t)(e - s) < plen) {
			snprintf(path, plen, "%s", s);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static int reply_timeout_s;     /* request_set_timeout; 0: none */

int
request_connect(const char *dir, bool dir_named, char *path, size_t plen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	/* $SAMLOG_SOCKET (main drops it when -d DIR was given), else the
	 * node directory's socket (its samlog.conf's "socket =", else
	 * DIR/samlogd.sock); a system service's socket in /run/samlog
	 * serves when no directory was named and the user has no node of
	 * their own. */
	const char *env = getenv("SAMLOG_SOCKET");
	struct stat st;

	if (env != NULL && env[0] != '\0')
		snprintf(path, plen, "%s", env);
	else if (!conf_socket(dir, path, plen))
		snprintf(path, plen, "%s/%s", dir, SL_CTL_SOCKET);
	if ((env == NULL || env[0] == '\0') && !dir_named &&
	    stat(path, &st) != 0 && stat(SL_SYSTEM_SOCKET, &st) == 0)
		snprintf(path, plen, "%s", SL_SYSTEM_SOCKET);
	if (strlen(path) >= sizeof sa.sun_path) {
		say(1, "the node directory path is too long for a socket: %s%s",
		    dir, "");
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		say(1, "cannot reach samlogd at %s (is it running? start it "
		    "with: samlogd -d %s)", path, dir);
		return -1;
	}
	if (reply_timeout_s > 0) {
		struct timeval tv = { .tv_sec = reply_timeout_s };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	return fd;
}

void
request_set_timeout(int seconds)
{
	reply_timeout_s = seconds;
}

/* {"ok": true, "command": "peer remove", "name": NAME} through out. */
static void
print_done(const struct parse_result *r, const struct output *out)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	char key[32] = "";

	for (size_t i = 0; r->pos && r->def->pos && r->def->pos[i] &&
	    i + 1 < sizeof key; i++)
		if (isalpha((unsigned char)r->def->pos[i]))
			key[strlen(key)] = (char)tolower(
			    (unsigned char)r->def->pos[i]);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2 + (key[0] != '\0'));
	sl_pack_cstr(&pk, "ok");
	msgpack_pack_true(&pk);
	sl_pack_cstr(&pk, "command");
	sl_pack_cstr(&pk, r->def->name);
	if (key[0] != '\0') {
		sl_pack_cstr(&pk, key);
		sl_pack_cstr(&pk, r->pos);
	}
	out->begin(stdout, r->def->out, r->def->table);
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, sb.data, sb.size, NULL) ==
	    MSGPACK_UNPACK_SUCCESS)
		out->record(stdout, &u.data);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

/* Where request_run prints: stdout, or a file; and a second backend
 * and file that get every reply too (samlog person). */
static FILE *sink_file;
static const struct output *tee_out;
static FILE *tee_file;

void
request_sinks(FILE *main, const struct output *tee, FILE *tf)
{
	sink_file = main;
	tee_out = tee;
	tee_file = tf;
}

static void
sink_begin(const struct output *out, enum out_mode mode, const char *table)
{
	out->begin(sink_file ? sink_file : stdout, mode, table);
	if (tee_out != NULL)
		tee_out->begin(tee_file, mode, table);
}

static void
sink_record(const struct output *out, const msgpack_object *o)
{
	out->record(sink_file ? sink_file : stdout, o);
	if (tee_out != NULL)
		tee_out->record(tee_file, o);
}

static void
sink_end(const struct output *out)
{
	out->end(sink_file ? sink_file : stdout);
	if (tee_out != NULL)
		tee_out->end(tee_file);
}

/* The daemon's code for the last request's result (request_last_code). */
static int last_code = -1;

int
request_last_code(void)
{
	return last_code;
}

int
request_run(const char *dir, bool dir_named, const struct parse_result *r,
    const struct output *out)
{
	struct sl_buf w = { 0 };
	uint8_t hdr[SL_FRAME_HDR], *body = NULL;
	char path[256];
	int fd, status = 1;
	bool got_result = false, began = false, again = false;

	last_code = -1;

	/* An organisation key file is read here, by its user, and passed
	 * for this one request (the daemon may not be able to read it). */
	struct parse_result keyed;
	char seed_text[SL_B32_LEN(SL_SEED_LEN) + 1];

	for (size_t i = 0; i < r->nvals; i++) {
		struct sl_key k;
		char err[512];

		if (strcmp(r->vals[i].flag->name, "org-key") != 0)
			continue;
		if (sl_key_load_file(r->vals[i].value, &k, err, sizeof err) !=
		    SL_OK)
			return say(1, "--org-key: %s%s", err, "");
		/* libsodium's secret key is the seed, then the public key. */
		sl_b32_encode(seed_text, k.secret, SL_SEED_LEN);
		sl_key_wipe(&k);
		keyed = *r;
		keyed.vals[i].value = seed_text;
		r = &keyed;
		break;
	}
	/* A list printed as a table: samlogd sends only the fields it
	 * shows. */
	const char *fields[16];
	size_t nfields = 0;
	const char *verb = r->def->remote != NULL ?
	    strrchr(r->def->remote, '.') : NULL;

	if (out == &output_text && tee_out == NULL && r != &keyed &&
	    r->def->out == OUT_LIST && verb != NULL &&
	    strcmp(verb, ".list") == 0)
		nfields = output_list_fields(r->def->table, fields,
		    sizeof fields / sizeof fields[0]);
ask:
	if ((fd = request_connect(dir, dir_named, path, sizeof path)) < 0)
		return 1;
	build_request(&w, r, fields, nfields);
	sl_wipe(seed_text, sizeof seed_text);
	output_set_filtered(r->nvals > 0);
	struct sl_frame_hdr h = { SL_CTL_VERSION, SL_MSG_REQUEST, 0, 1,
		(uint32_t)w.len };

	sl_frame_hdr_encode(hdr, &h);
	if (w.p == NULL || !write_full(fd, hdr, sizeof hdr) ||
	    !write_full(fd, w.p, w.len)) {
		free(w.p);
		close(fd);
		return say(1, "cannot send the request to samlogd at %s%s", path,
		    "");
	}
	if (w.p != NULL)
		sl_wipe(w.p, w.len);
	free(w.p);
	while (!got_result) {
		struct sl_frame_hdr rh;

		if (!read_full(fd, hdr, sizeof hdr)) {
			status = say(1, "samlogd closed the connection before "
			    "answering (see its log)%s%s", "", "");
			break;
		}
		if (sl_frame_hdr_decode(&rh, hdr, REPLY_MAX) != SL_OK ||
		    rh.id != 1 || (body = malloc(rh.len ? rh.len : 1)) == NULL ||
		    !read_full(fd, body, rh.len)) {
			status = say(1, "malformed reply from samlogd%s%s", "", "");
			break;
		}
		msgpack_unpacked u;

		msgpack_unpacked_init(&u);
		if (msgpack_unpack_next(&u, (const char *)body, rh.len, NULL) !=
		    MSGPACK_UNPACK_SUCCESS) {
			msgpack_unpacked_destroy(&u);
			status = say(1, "malformed reply from samlogd%s%s", "", "");
			break;
		}
		if (rh.type == SL_MSG_RECORD) {
			if (!began) {
				sink_begin(out, r->def->out, r->def->table);
				began = true;
			}
			sink_record(out, &u.data);
		} else if (rh.type == SL_MSG_RESULT) {
			uint64_t code = 1;
			char msg[1024] = "request failed";
			const msgpack_object *o = &u.data;

			got_result = true;
			for (uint32_t i = 0; o->type == MSGPACK_OBJECT_MAP &&
			    i < o->via.map.size; i++) {
				const msgpack_object_kv *kv = &o->via.map.ptr[i];

				if (kv->key.type != MSGPACK_OBJECT_STR)
					continue;
				if (kv->key.via.str.size == 4 &&
				    memcmp(kv->key.via.str.ptr, "code", 4) == 0 &&
				    kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
					code = kv->val.via.u64;
				if (kv->key.via.str.size == 7 &&
				    memcmp(kv->key.via.str.ptr, "message", 7) == 0 &&
				    kv->val.type == MSGPACK_OBJECT_STR)
					snprintf(msg, sizeof msg, "%.*s",
					    (int)kv->val.via.str.size,
					    kv->val.via.str.ptr);
			}
			last_code = code > INT_MAX ? INT_MAX : (int)code;
			if (code == SL_EUSAGE && nfields > 0 && !began) {
				/* A samlogd older than "fields" refuses it
				 * (and a real usage error comes back the
				 * same): ask again, for whole records. */
				again = true;
			} else if (code == SL_OK) {
				if (!began && r->def->out == OUT_LIST) {
					/* An empty list is still a list. */
					sink_begin(out, r->def->out,
					    r->def->table);
					began = true;
				}
				status = 0;
			} else {
				status = say(code == SL_EUSAGE ? 2 : 1, "%s%s",
				    msg, "");
			}
		}
		msgpack_unpacked_destroy(&u);
		free(body);
		body = NULL;
	}
	free(body);
	if (again) {
		close(fd);
		read_reset();
		nfields = 0;
		again = got_result = false;
		w = (struct sl_buf){ 0 };
		body = NULL;
		goto ask;
	}
	if (!began && status == 0 && out == &output_json &&
	    (r->def->out == OUT_OBJECT || r->def->out == OUT_ID)) {
		/* A command whose reply is no record (peer remove): --json
		 * still prints one object, saying what was done. */
		print_done(r, out);
		began = true;
	}
	if (began)
		sink_end(out);
	close(fd);
	return status;
}

int
request_list(const char *dir, bool dir_named, const char *kind,
    enum out_mode mode, const struct output *out)
{
	struct parse_result r = { .cmd = CMD_REMOTE };
	const struct command_def *c;
	struct command_def def;
	char name[32];

	snprintf(name, sizeof name, "%s list", kind);
	if ((c = parse_find(name)) == NULL)
		return 2;
	def = *c;
	def.out = mode;
	r.def = &def;
	return request_run(dir, dir_named, &r, out);
}

/* ---- replies that are bytes (audit --out, export --events) ------------- */

static struct sl_buf *fetch_to;
static size_t fetch_max;

static void
fetch_begin(FILE *f, enum out_mode mode, const char *table)
{
	(void)f;
	(void)mode;
	(void)table;
}

static void
fetch_record(FILE *f, const msgpack_object *rec)
{
	const msgpack_object *d = map_get(rec, "data");

	(void)f;
	if (d == NULL || d->type != MSGPACK_OBJECT_BIN ||
	    fetch_to->len + d->via.bin.size > fetch_max) {
		fetch_to->failed = true;
		return;
	}
	sl_buf_write(fetch_to, d->via.bin.ptr, d->via.bin.size);
}

static void
fetch_end(FILE *f)
{
	(void)f;
}

static const struct output fetch_output = { fetch_begin, fetch_record,
	fetch_end };

int
request_fetch(const char *dir, bool dir_named, const struct parse_result *r,
    size_t max, struct sl_buf *out)
{
	*out = (struct sl_buf){ 0 };
	fetch_to = out;
	fetch_max = max;
	return request_run(dir, dir_named, r, &fetch_output);
}

/* ---- replies kept as msgpack objects (report, ui) ----------------------- */

static struct rset *collect_into;

static void
collect_begin(FILE *f, enum out_mode mode, const char *table)
{
	(void)f;
	(void)mode;
	(void)table;
}

/* One record: packed again into a buffer of its own and unpacked from
 * it (its strings point into that buffer), so that it outlives the
 * reply. */
static void
collect_record(FILE *f, const msgpack_object *rec)
{
	struct rset *s = collect_into;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t off = 0;

	(void)f;
	if (s->failed)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		msgpack_unpacked *v = realloc(s->v, cap * sizeof *v);
		char **b = v != NULL ? realloc(s->buf, cap * sizeof *b) : NULL;

		if (v != NULL)
			s->v = v;
		if (b == NULL) {
			s->failed = true;
			return;
		}
		s->buf = b;
		s->cap = cap;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_unpacked_init(&s->v[s->n]);
	if (msgpack_pack_object(&pk, *rec) != 0 ||
	    msgpack_unpack_next(&s->v[s->n], sb.data, sb.size, &off) !=
	    MSGPACK_UNPACK_SUCCESS ||
	    s->v[s->n].data.type != MSGPACK_OBJECT_MAP) {
		msgpack_unpacked_destroy(&s->v[s->n]);
		msgpack_sbuffer_destroy(&sb);
		s->failed = true;
		return;
	}
	s->buf[s->n++] = msgpack_sbuffer_release(&sb);
}

static void
collect_end(FILE *f)
{
	(void)f;
}

static const struct output collect_output = {
	collect_begin, collect_record, collect_end,
};

void
rset_free(struct rset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		msgpack_unpacked_destroy(&s->v[i]);
		free(s->buf[i]);
	}
	free(s->v);
	free(s->buf);
	memset(s, 0, sizeof *s);
}

int
request_collect_run(const char *dir, bool named, const struct parse_result *q,
    struct rset *s)
{
	int status;

	collect_into = s;
	request_sinks(stdout, NULL, NULL);
	status = request_run(dir, named, q, &collect_output);
	collect_into = NULL;
	if (status == 0 && s->failed) {
		cli_error("out of memory reading the answer to %s",
		    q->def->name);
		status = 1;
	}
	return status;
}

int
request_collect(const char *dir, bool named, const char *name,
    const char *asof, struct rset *s)
{
	struct parse_result q = { .cmd = CMD_REMOTE };
	const struct command_def *c = parse_find(name);

	if (c == NULL) {
		cli_error("no command %s", name);
		return 1;
	}
	q.def = c;
	for (const struct flag_def *fl = c->flags; asof != NULL &&
	    fl->name != NULL; fl++)
		if (strcmp(fl->name, "as-of") == 0) {
			q.vals[0].flag = fl;
			q.vals[0].value = asof;
			q.nvals = 1;
		}
	return request_collect_run(dir, named, &q, s);
}
