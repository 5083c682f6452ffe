/*
 * attacker.c - a hostile member built from the project's own code, and
 * the victim it attacks (attacker.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "attacker.h"
#include "sync.h"
#include "testutil.h"

/* ---- the attacker's identities and events ----------------------------- */

void
ident_init(struct ident *id, const char *name)
{
	char err[256];

	node_init(&id->n, name, "Angripare");
	if (sl_node_load_key(id->n.dir, &id->key, err, sizeof err) != SL_OK)
		fail_msg("%s", err);
	if ((id->ssl = tls_ctx_new(&id->key, err, sizeof err)) == NULL)
		fail_msg("%s", err);
}

void
ident_free(struct ident *id)
{
	tls_ctx_free(id->ssl);
	sl_key_wipe(&id->key);
}

/* A store in the identity's directory (sub: "store", or another for a
 * second history), written with its key. */
struct store *
chain_open(const struct ident *id, const char *sub)
{
	char path[700], err[256];
	struct store *s;

	snprintf(path, sizeof path, "%s/%s", id->n.dir, sub);
	if (store_open(&s, path, &id->key, NULL, err, sizeof err) != SL_OK)
		fail_msg("%s", err);
	return s;
}

/* Appends one signed contact.created event and returns its record. */
struct rec
chain_add(struct store *s, const struct ident *id, const char *name)
{
	struct sl_buf g = { 0 };
	msgpack_packer pk;
	struct store_appended ap;
	struct rec r;
	char err[256];

	msgpack_packer_init(&pk, &g, sl_buf_write);
	msgpack_pack_map(&pk, 1);
	sl_pack_cstr(&pk, "name");
	sl_pack_cstr(&pk, name);
	assert_false(g.failed);
	struct sl_event_draft d = { .author = "mallory",
		.type = "contact.created", .payload = g.p,
		.payload_len = (uint32_t)g.len };

	if (store_append(s, &d, 1, &ap, err, sizeof err) != SL_OK)
		fail_msg("%s", err);
	free(g.p);
	assert_int_equal(store_event_get(s, id->key.pub, ap.seq, &r.p, &r.len),
	    SL_OK);
	r.seq = ap.seq;
	memcpy(r.hash, ap.hash, SL_HASH_LEN);
	return r;
}

/* Appends n contact.created events in one commit, signed as the store
 * signs (every SL_SIGN_INTERVAL-th seq and the last), and returns their
 * records. */
void
chain_many(struct store *s, const struct ident *id, struct rec *out,
    size_t n)
{
	struct sl_event_draft *d = calloc(n, sizeof *d);
	struct store_appended *ap = calloc(n, sizeof *ap);
	char err[256];

	assert_non_null(d);
	assert_non_null(ap);
	for (size_t i = 0; i < n; i++)
		d[i] = (struct sl_event_draft){ .author = "mallory",
			.type = "contact.created",
			.payload = (const uint8_t *)"\x81\xa4name\xa3Nix",
			.payload_len = 10 };
	if (store_append(s, d, n, ap, err, sizeof err) != SL_OK)
		fail_msg("%s", err);
	for (size_t i = 0; i < n; i++) {
		out[i] = (struct rec){ .seq = ap[i].seq };
		memcpy(out[i].hash, ap[i].hash, SL_HASH_LEN);
		assert_int_equal(store_event_get(s, id->key.pub, ap[i].seq,
		    &out[i].p, &out[i].len), SL_OK);
	}
	free(d);
	free(ap);
}

/* chain_many's run with every signature taken out (nil in its place): a
 * run no one has signed. */
void
chain_unsigned(struct store *s, const struct ident *id, struct rec *out,
    size_t n)
{
	chain_many(s, id, out, n);
	for (size_t i = 0; i < n; i++) {
		struct sl_event ev;
		struct sl_buf b = { 0 };
		msgpack_packer pk;

		assert_int_equal(sl_event_decode(&ev, out[i].p, out[i].len),
		    SL_OK);
		msgpack_packer_init(&pk, &b, sl_buf_write);
		msgpack_pack_array(&pk, 3);
		sl_pack_bin(&pk, ev.hdr, ev.hdr_len);
		msgpack_pack_nil(&pk);
		msgpack_pack_array(&pk, 2);
		sl_pack_bin(&pk, ev.salt, SL_SALT_LEN);
		sl_pack_bin(&pk, ev.payload, ev.payload_len);
		assert_false(b.failed);
		free(out[i].p);
		out[i].p = b.p;
		out[i].len = b.len;
	}
}

/* ---- frame bodies ---------------------------------------------------- */

void
pack_vector(msgpack_packer *pk, const struct vent *v, size_t n)
{
	static const uint8_t zero[SL_HASH_LEN];

	msgpack_pack_array(pk, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		msgpack_pack_array(pk, 3);
		sl_pack_bin(pk, v[i].origin, SL_KEY_LEN);
		msgpack_pack_uint64(pk, v[i].seq);
		sl_pack_bin(pk, v[i].hash != NULL ? v[i].hash : zero,
		    SL_HASH_LEN);
	}
}

/* HELLO's body; the caller frees b->p. */
void
hello_body(struct sl_buf *b, uint64_t version, const struct vent *v, size_t n)
{
	msgpack_packer pk;

	*b = (struct sl_buf){ 0 };
	msgpack_packer_init(&pk, b, sl_buf_write);
	msgpack_pack_map(&pk, 3);
	sl_pack_cstr(&pk, "version");
	msgpack_pack_uint64(&pk, version);
	sl_pack_cstr(&pk, "org");
	sl_pack_cstr(&pk, "Angripare");
	sl_pack_cstr(&pk, "vector");
	pack_vector(&pk, v, n);
	assert_false(b->failed);
}

/* EVENTS' body: the records, in order; the caller frees b->p. */
void
events_body(struct sl_buf *b, const struct rec *r, size_t n)
{
	msgpack_packer pk;

	*b = (struct sl_buf){ 0 };
	msgpack_packer_init(&pk, b, sl_buf_write);
	msgpack_pack_array(&pk, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		sl_pack_bin(&pk, r[i].p, r[i].len);
	assert_false(b->failed);
}

/* ---- the attacker's connection ------------------------------------- */

void
atk_connect(struct atk *a, const struct node *v, const char *src)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct sockaddr_in me = { .sin_family = AF_INET };
	socklen_t ml = sizeof me;
	struct timeval tv = { 10, 0 };
	char host[64];
	const char *colon = strrchr(v->listen, ':');

	memset(a, 0, sizeof *a);
	a->in = malloc(ATK_IN_CAP);
	assert_non_null(a->in);
	assert_non_null(colon);
	snprintf(host, sizeof host, "%.*s", (int)(colon - v->listen),
	    v->listen);
	assert_true(sl_b32_decode(a->want, SL_KEY_LEN, v->id));
	a->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(a->fd >= 0);
	/* A blocked send must end even if the victim stops reading. */
	setsockopt(a->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (src != NULL) {
		struct sockaddr_in b = { .sin_family = AF_INET };

		assert_int_equal(inet_pton(AF_INET, src, &b.sin_addr), 1);
		assert_int_equal(bind(a->fd, (struct sockaddr *)&b, sizeof b),
		    0);
	}
	assert_int_equal(inet_pton(AF_INET, host, &to.sin_addr), 1);
	to.sin_port = htons((uint16_t)atoi(colon + 1));
	if (connect(a->fd, (struct sockaddr *)&to, sizeof to) != 0)
		fail_msg("connect %s: %s", v->listen, strerror(errno));
	assert_int_equal(getsockname(a->fd, (struct sockaddr *)&me, &ml), 0);
	snprintf(a->addr, sizeof a->addr, "%s:%u", inet_ntoa(me.sin_addr),
	    ntohs(me.sin_port));
}

/* Raw bytes to the socket; false once the victim has gone. */
bool
atk_send(struct atk *a, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(a->fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

void
atk_flush(struct atk *a)
{
	char *buf;
	size_t n;

	while ((n = tls_take_out(&a->tls, &buf)) > 0) {
		atk_send(a, buf, n);
		free(buf);
	}
}

/* Splits the decrypted bytes into the victim's frames. */
void
atk_frames(struct atk *a)
{
	struct sl_frame_hdr h;
	size_t off = 0;

	while (a->in_len - off >= SL_FRAME_HDR) {
		if (sl_frame_hdr_decode_n(&h, a->in + off, SL_PEER_FRAME_MAX,
		    SL_PEER_COUNT) != SL_OK) {
			a->junk = true;
			a->in_len = 0;
			return;
		}
		if (a->in_len - off < SL_FRAME_HDR + h.len)
			break;
		const uint8_t *body = a->in + off + SL_FRAME_HDR;
		struct sl_mp r;

		switch (h.type) {
		case SL_PEER_HELLO:
			a->hello = true;
			break;
		case SL_PEER_BYE:
			sl_mp_init(&r, body, h.len);
			sl_wire_bye(&r, a->bye, sizeof a->bye);
			break;
		case SL_PEER_EVENTS:
			if (a->capture && a->ncap < ATK_CAPTURE) {
				a->cap[a->ncap] = (struct sl_buf){ 0 };
				sl_buf_write(&a->cap[a->ncap++],
				    (const char *)body, h.len);
			}
			break;
		default:
			break;
		}
		off += SL_FRAME_HDR + h.len;
	}
	memmove(a->in, a->in + off, a->in_len - off);
	a->in_len -= off;
}

/* Waits up to ms for bytes from the victim and takes them in; false
 * once the TCP connection has ended. */
bool
atk_poll(struct atk *a, int ms)
{
	struct pollfd p = { a->fd, POLLIN, 0 };
	char buf[65536];
	ssize_t n;

	if (a->closed)
		return false;
	if (poll(&p, 1, ms) <= 0)
		return true;
	n = recv(a->fd, buf, sizeof buf, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		a->closed = true;
		return false;
	}
	if (!a->tls_on || a->tls_dead)
		return true;
	if (tls_feed(&a->tls, buf, (size_t)n) != 0)
		fail_msg("out of memory");
	if (!a->up)
		return true;
	for (;;) {
		int got = tls_read(&a->tls, a->in + a->in_len,
		    ATK_IN_CAP - a->in_len);

		if (got < 0)
			a->tls_dead = true;
		if (got <= 0)
			break;
		a->in_len += (size_t)got;
		atk_frames(a);
	}
	atk_flush(a);
	return true;
}

/* Reads until the victim closes the connection or ms pass. */
bool
atk_wait_closed(struct atk *a, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (!a->closed && now_ms() < end)
		atk_poll(a, (int)(end - now_ms()));
	return a->closed;
}

bool
atk_wait_hello(struct atk *a, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (!a->hello && !a->closed && now_ms() < end)
		atk_poll(a, (int)(end - now_ms()));
	return a->hello;
}

bool
want_victim(void *ctx, const uint8_t key[SL_KEY_LEN])
{
	const struct atk *a = ctx;

	return memcmp(key, a->want, SL_KEY_LEN) == 0;
}

/* The client side of the TLS handshake with ctx; true once it is done on
 * this side (for TLS 1.3, before the victim has checked our key). */
bool
atk_tls(struct atk *a, SSL_CTX *ctx)
{
	uint64_t end = now_ms() + 10000;

	assert_int_equal(tls_init(&a->tls, ctx, true, want_victim, a), 0);
	a->tls_on = true;
	for (;;) {
		int r = tls_handshake(&a->tls);

		atk_flush(a);
		if (r == 1)
			return a->up = true;
		if (r < 0 || now_ms() > end || !atk_poll(a, 200)) {
			a->tls_dead = true;
			return false;
		}
	}
}

/* Application bytes through TLS. */
void
atk_write(struct atk *a, const void *p, size_t n)
{
	if (a->taping)
		sl_buf_write(&a->tape, p, n);
	if (tls_write(&a->tls, p, n) != 0)
		fail_msg("TLS write: %s", a->tls.why);
	atk_flush(a);
}

/* A frame with any header at all, and up to len bytes of body. */
void
atk_hdr(struct atk *a, uint8_t version, uint8_t type, uint16_t flags,
    uint32_t len, const void *body, size_t blen)
{
	struct sl_frame_hdr h = { version, type, flags, 0, len };
	uint8_t *b = malloc(SL_FRAME_HDR + blen);

	assert_non_null(b);
	sl_frame_hdr_encode(b, &h);
	if (blen > 0)
		memcpy(b + SL_FRAME_HDR, body, blen);
	atk_write(a, b, SL_FRAME_HDR + blen);
	free(b);
}

void
atk_frame(struct atk *a, uint8_t type, const void *body, size_t len)
{
	atk_hdr(a, SL_CTL_VERSION, type, 0, (uint32_t)len, body, len);
}

void
atk_events(struct atk *a, const struct rec *r, size_t n)
{
	struct sl_buf b;

	events_body(&b, r, n);
	atk_frame(a, SL_PEER_EVENTS, b.p, b.len);
	free(b.p);
}

void
atk_hello(struct atk *a, const struct vent *v, size_t n)
{
	struct sl_buf b;

	hello_body(&b, SL_PEER_VERSION, v, n);
	atk_frame(a, SL_PEER_HELLO, b.p, b.len);
	free(b.p);
}

/* Connects as id and completes TLS; fails the test if it cannot. */
void
atk_start(struct atk *a, const struct ident *id, const struct node *v)
{
	atk_connect(a, v, NULL);
	if (!atk_tls(a, id->ssl))
		fail_msg("%s: TLS handshake with %s failed: %s", id->n.name,
		    v->name, a->tls.why);
}

/* A session as a member: TLS, our HELLO, the victim's HELLO. */
void
atk_session(struct atk *a, const struct ident *id, const struct node *v,
    const struct vent *vec, size_t n)
{
	atk_start(a, id, v);
	atk_hello(a, vec, n);
	if (!atk_wait_hello(a, 10000))
		fail_msg("%s: no HELLO from %s (BYE \"%s\")", id->n.name,
		    v->name, a->bye);
}

void
atk_close(struct atk *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (a->tls_on)
		tls_free(&a->tls);
	a->tls_on = false;
	for (size_t i = 0; i < a->ncap; i++)
		free(a->cap[i].p);
	a->ncap = 0;
	free(a->tape.p);
	a->tape = (struct sl_buf){ 0 };
	free(a->in);
	a->in = NULL;
}

/* Ends our side cleanly and waits for the victim to close its side: once
 * it has, it has handled every frame sent before. */
void
atk_end(struct atk *a)
{
	shutdown(a->fd, SHUT_WR);
	if (!atk_wait_closed(a, 10000))
		fail_msg("the victim did not close after our end of stream");
	assert_false(a->junk);
	atk_close(a);
}

/* ---- the victim and its honest peer ----------------------------------- */

/* Under ASan, the victim's freed memory sits in a quarantine (256 MiB by
 * default) that would hide whether its memory is bounded; keep it small. */
void
scene_env(struct scene *s, struct node *n)
{
#if defined(__SANITIZE_ADDRESS__)
	const char *old = getenv("ASAN_OPTIONS");

	snprintf(s->asan_env, sizeof s->asan_env,
	    "ASAN_OPTIONS=%s%squarantine_size_mb=16", old != NULL ? old : "",
	    old != NULL && old[0] ? ":" : "");
	s->env[0] = s->asan_env;
	s->env[1] = NULL;
	n->env = s->env;
#else
	(void)s;
	(void)n;
#endif
}

void
scene_start(struct scene *s, const char *tag)
{
	char name[16];

	memset(s, 0, sizeof *s);
	snprintf(name, sizeof name, "v-%s", tag);
	node_init(&s->v, name, "Offret");
	snprintf(name, sizeof name, "h-%s", tag);
	node_init(&s->h, name, "Hederlig");
	scene_env(s, &s->v);
	node_start(&s->v);
	node_start(&s->h);
	trust(&s->v, &s->h, false);
	trust(&s->h, &s->v, true);
	s->count = 2;   /* each node's node.org */
	wait_events((struct node *[]){ &s->v, &s->h }, 2, s->count);
}

/* m is a member of the victim, and of the honest peer too so that the
 * two fold the same records. */
void
scene_member(struct scene *s, const struct ident *m)
{
	trust(&s->v, &m->n, false);
	trust(&s->h, &m->n, false);
}

void
victim_alive(const struct scene *s, const char *when)
{
	int st = 0;
	pid_t r = waitpid(s->v.pid, &st, WNOHANG);

	if (r != 0)
		fail_msg("the victim died %s (%s %d)", when,
		    WIFSIGNALED(st) ? "signal" : "status",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

/* Waits until both nodes hold s->count events, for at most ms. */
void
scene_wait(struct scene *s, unsigned ms)
{
	struct node *both[] = { &s->v, &s->h };

	cl_wait_ms = ms;
	wait_events(both, 2, s->count);
	cl_wait_ms = WAIT_MS;
}

/* The victim still runs, answers the CLI, takes a new event of its own
 * and one of its honest peer's across, and verifies clean. */
void
scene_check(struct scene *s, const char *when)
{
	struct node *both[] = { &s->v, &s->h };

	victim_alive(s, when);
	ok(sl(&s->v, "status", NULL));
	add_contact(&s->v, "Offrets kontakt");
	add_contact(&s->h, "Ärlig kontakt");
	s->count += 2;
	scene_wait(s, WAIT_MS);
	assert_same(both, 2);
}

long
victim_num(const struct scene *s, const char *key)
{
	return tu_json_num(ok(sl(&s->v, "status", "--json", NULL))->out, key);
}

void
scene_stop(struct scene *s)
{
	victim_alive(s, "at the end");
	assert_int_equal(node_stop(&s->v, SIGTERM), 0);
	assert_int_equal(node_stop(&s->h, SIGTERM), 0);
}


/* ---- forged events -------------------------------------------------------- */

void
forger_init(struct forger *f, const struct ident *id)
{
	memset(f, 0, sizeof *f);
	f->id = id;
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SL_HASH_LEN);
}

struct rec
forge(struct forger *f, const struct forgery *e)
{
	uint8_t parents[SL_MAX_PARENTS][SL_HASH_LEN] = { { 0 } };
	uint8_t hdr[SL_HEADER_MAX], salt[SL_SALT_LEN], ph[SL_HASH_LEN];
	uint8_t sig[SL_SIG_LEN];
	struct sl_event ev;
	struct rec r;
	size_t hlen;

	assert_true(e->n_parents <= SL_MAX_PARENTS);
	assert_true(e->payload_len <= SL_PAYLOAD_MAX);
	if (e->n_parents > 0)
		memcpy(parents, e->parents, e->n_parents * sizeof parents[0]);
	qsort(parents, e->n_parents, sizeof parents[0], hash_cmp);
	struct sl_event_draft d = { .author = e->author != NULL ? e->author :
		"mallory", .type = e->type, .entity = e->entity,
		.parents = (const uint8_t (*)[SL_HASH_LEN])parents,
		.n_parents = e->n_parents, .payload = e->payload,
		.payload_len = e->payload_len };

	assert_int_equal(sl_draft_check(&d), SL_OK);
	sl_random(salt, sizeof salt);
	sl_payload_hash(ph, salt, e->payload != NULL ? e->payload :
	    (const uint8_t *)"", e->payload_len);
	struct sl_header_in h = { .origin = f->id->key.pub, .seq = f->seq + 1,
		.prev = f->seq > 0 ? f->prev : NULL,
		.hlc = e->hlc != 0 ? e->hlc : sl_now_ms() << 16,
		.payload_hash = ph };

	hlen = sl_header_encode(hdr, &d, &h);
	assert_true(hlen > 0 && hlen <= SL_HEADER_MAX);
	r.seq = h.seq;
	sl_sha256(r.hash, hdr, hlen);
	sl_sign_hash(sig, &f->id->key, r.hash);
	r.p = malloc(sl_record_size(hlen, !e->erased, e->payload_len));
	assert_non_null(r.p);
	r.len = sl_record_encode(r.p, hdr, hlen, sig, e->erased ? NULL : salt,
	    e->erased ? NULL : (e->payload != NULL ? e->payload :
	    (const uint8_t *)""), e->erased ? 0 : e->payload_len);
	/* What the victim will check first: the record is well formed. */
	assert_int_equal(sl_event_decode(&ev, r.p, r.len), SL_OK);
	assert_int_equal(sl_event_check_payload(&ev), SL_OK);
	f->seq = h.seq;
	f->hlc = h.hlc;
	memcpy(f->prev, r.hash, SL_HASH_LEN);
	return r;
}

struct rec
rec_erased(const struct rec *r)
{
	struct sl_event ev;
	struct rec e = *r;

	assert_int_equal(sl_event_decode(&ev, r->p, r->len), SL_OK);
	e.p = malloc(sl_record_size(ev.hdr_len, false, 0));
	assert_non_null(e.p);
	e.len = sl_record_encode(e.p, ev.hdr, ev.hdr_len, ev.sig, NULL, NULL,
	    0);
	assert_int_equal(sl_event_decode(&ev, e.p, e.len), SL_OK);
	assert_null(ev.payload);
	return e;
}

struct rec
rec_bad_sig(const struct rec *r)
{
	struct sl_event ev;
	struct rec e = *r;

	e.p = malloc(r->len);
	assert_non_null(e.p);
	memcpy(e.p, r->p, r->len);
	assert_int_equal(sl_event_decode(&ev, e.p, e.len), SL_OK);
	assert_non_null(ev.sig);
	e.p[ev.sig - e.p] ^= 0x01;
	return e;
}

void
id_of(uint8_t out[SL_ID_LEN], const char *text)
{
	if (!sl_b32_decode(out, SL_ID_LEN, text))
		fail_msg("\"%s\" is not a record id", text);
}

char *
id_created(char *out, const struct rec *r)
{
	uint8_t id[SL_ID_LEN];

	sl_entity_id(id, r->hash);
	sl_b32_encode(out, id, SL_ID_LEN);
	return out;
}

void
atk_deliver(const struct ident *id, const struct node *v,
    const struct rec *r, size_t n)
{
	struct atk a;

	atk_session(&a, id, v, NULL, 0);
	for (size_t i = 0; i < n; i++)
		atk_events(&a, &r[i], 1);
	atk_end(&a);
}
