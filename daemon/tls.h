/*
 * tls.h - TLS 1.3 for peer connections, on memory BIOs so that libuv owns
 * the sockets and OpenSSL only transforms bytes.
 *
 * Each node presents a self-signed certificate made from its Ed25519 node
 * key; the certificate carries nothing the peer trusts except that key.
 * Whether a key may connect is decided by the caller's check function,
 * called during the handshake: a key that is not a member fails the
 * handshake before a single application byte is read.
 */
#ifndef SAMLOG_TLS_H
#define SAMLOG_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "samlog_proto.h"

/* Decides whether the peer presenting key may connect; ctx is the value
 * given to tls_new. */
typedef bool (*tls_check_fn)(void *ctx, const uint8_t key[SL_KEY_LEN]);

/*
 * Makes the shared context (both roles) with a certificate from key.
 * NULL with err set on failure.
 */
SSL_CTX *tls_ctx_new(const struct sl_key *key, char *err, size_t errlen);
void tls_ctx_free(SSL_CTX *ctx);

/*
 * One connection's TLS state.  Bytes from the network go in with
 * tls_feed; application bytes come out of tls_read; tls_write takes
 * application bytes; what must go to the network is taken with
 * tls_pending_out/tls_take_out.
 */
struct tls {
	SSL *ssl;
	BIO *in, *out;          /* network side, memory BIOs */
	tls_check_fn check;
	void *check_ctx;
	bool has_key;           /* the peer's certificate has been checked */
	uint8_t key[SL_KEY_LEN];/* its node key */
	char why[160];          /* why the handshake failed, if it did */
};

int tls_init(struct tls *t, SSL_CTX *ctx, bool client, tls_check_fn check,
    void *check_ctx);
void tls_free(struct tls *t);

/* Feeds bytes read from the socket.  0 or -1 (out of memory). */
int tls_feed(struct tls *t, const void *buf, size_t len);
/* Advances the handshake: 1 done, 0 needs more input, -1 failed (t->why). */
int tls_handshake(struct tls *t);
/* Reads decrypted bytes: >0 count, 0 none available now, -1 the
 * connection is closed or broken (t->why). */
int tls_read(struct tls *t, void *buf, size_t len);
/* Encrypts len application bytes (all of them, or -1). */
int tls_write(struct tls *t, const void *buf, size_t len);
/* Bytes waiting to go to the network, and taking them (into a new
 * malloc'd buffer: *buf, caller frees; returns its length, 0 if none). */
size_t tls_take_out(struct tls *t, char **buf);

#endif
