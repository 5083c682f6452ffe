/*
 * tls.c - TLS 1.3 with self-signed Ed25519 node certificates, on memory
 * BIOs (see tls.h).
 *
 * Trust is decided by key alone: the certificate's signature, names and
 * dates mean nothing here, so the usual chain verification is replaced
 * with one callback that reads the peer's Ed25519 key and asks the
 * membership check.  The handshake's CertificateVerify, which OpenSSL
 * still checks, proves the peer holds that key's secret half.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tls.h"

static void
ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", buf);
	ERR_clear_error();
}

/* Replaces chain verification: accept exactly the members' keys. */
static int
verify_cb(X509_STORE_CTX *xs, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls *t = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	X509 *cert = X509_STORE_CTX_get0_cert(xs);
	EVP_PKEY *pk = cert != NULL ? X509_get0_pubkey(cert) : NULL;
	size_t len = SL_KEY_LEN;

	(void)arg;
	if (t == NULL)
		return 0;
	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(pk, t->key, &len) != 1 ||
	    len != SL_KEY_LEN) {
		snprintf(t->why, sizeof t->why, "the peer's certificate does "
		    "not carry an Ed25519 node key");
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	t->has_key = true;
	if (!t->check(t->check_ctx, t->key)) {
		char id[SL_NODE_ID_TEXT + 1];

		sl_b32_encode(id, t->key, SL_KEY_LEN);
		snprintf(t->why, sizeof t->why, "node %s is not a member", id);
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

SSL_CTX *
tls_ctx_new(const struct sl_key *key, char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	char id[SL_NODE_ID_TEXT + 1];

	sl_b32_encode(id, key->pub, SL_KEY_LEN);
	/* libsodium's secret key is seed || public key. */
	if ((pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    key->secret, SL_SEED_LEN)) == NULL) {
		ssl_err(err, errlen, "cannot load the node key into OpenSSL");
		goto fail;
	}
	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -86400) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 36500, 0, NULL) == NULL ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)id, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, pk) != 1 ||
	    X509_sign(x, pk, NULL) == 0) {
		ssl_err(err, errlen, "cannot make the node certificate");
		goto fail;
	}
	if ((ctx = SSL_CTX_new(TLS_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pk) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, errlen, "cannot set up TLS 1.3");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, verify_cb, NULL);
	/* No resumption: every connection proves its key afresh. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_RELEASE_BUFFERS);
	X509_free(x);
	EVP_PKEY_free(pk);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	X509_free(x);
	EVP_PKEY_free(pk);
	return NULL;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

int
tls_init(struct tls *t, SSL_CTX *ctx, bool client, tls_check_fn check,
    void *check_ctx)
{
	memset(t, 0, sizeof *t);
	t->check = check;
	t->check_ctx = check_ctx;
	if ((t->ssl = SSL_new(ctx)) == NULL ||
	    (t->in = BIO_new(BIO_s_mem())) == NULL ||
	    (t->out = BIO_new(BIO_s_mem())) == NULL) {
		BIO_free(t->in);
		BIO_free(t->out);
		SSL_free(t->ssl);
		memset(t, 0, sizeof *t);
		return -1;
	}
	/* An empty memory BIO reads as "retry", not end of file. */
	BIO_set_mem_eof_return(t->in, -1);
	SSL_set_bio(t->ssl, t->in, t->out);
	SSL_set_app_data(t->ssl, t);
	if (client)
		SSL_set_connect_state(t->ssl);
	else
		SSL_set_accept_state(t->ssl);
	return 0;
}

void
tls_free(struct tls *t)
{
	SSL_free(t->ssl);  /* frees both BIOs */
	memset(t, 0, sizeof *t);
}

int
tls_feed(struct tls *t, const void *buf, size_t len)
{
	return BIO_write(t->in, buf, (int)len) == (int)len ? 0 : -1;
}

/* Turns an SSL error into -1 with a reason, or 0 for "wants more". */
static int
ssl_result(struct tls *t, int r, const char *what)
{
	int e = SSL_get_error(t->ssl, r);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	if (e == SSL_ERROR_ZERO_RETURN) {
		snprintf(t->why, sizeof t->why, "closed by the peer");
		return -1;
	}
	if (t->why[0] == '\0') {
		char buf[160];

		ssl_err(buf, sizeof buf, what);
		snprintf(t->why, sizeof t->why, "%s", buf);
	}
	ERR_clear_error();
	return -1;
}

int
tls_handshake(struct tls *t)
{
	int r;

	ERR_clear_error();   /* SSL_get_error looks at the queue */
	r = SSL_do_handshake(t->ssl);

	if (r == 1)
		return 1;
	return ssl_result(t, r, "TLS handshake failed") == 0 ? 0 : -1;
}

int
tls_read(struct tls *t, void *buf, size_t len)
{
	int r;

	ERR_clear_error();
	r = SSL_read(t->ssl, buf, (int)len);

	if (r > 0)
		return r;
	return ssl_result(t, r, "TLS read failed");
}

int
tls_write(struct tls *t, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ERR_clear_error();
		int r = SSL_write(t->ssl, p, (int)(len > 1u << 30 ? 1u << 30 :
		    len));

		if (r <= 0) {
			ssl_result(t, r, "TLS write failed");
			return -1;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

size_t
tls_take_out(struct tls *t, char **buf)
{
	size_t n = (size_t)BIO_ctrl_pending(t->out);

	*buf = NULL;
	if (n == 0 || (*buf = malloc(n)) == NULL)
		return 0;
	if (BIO_read(t->out, *buf, (int)n) != (int)n) {
		free(*buf);
		*buf = NULL;
		return 0;
	}
	return n;
}
