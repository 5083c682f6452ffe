/*
 * hash.c - SHA-256 through OpenSSL, which uses the CPU's SHA extensions
 * (about three times libsodium's rate here).
 *
 * The digest context is fetched once and reused: fetching an EVP_MD per
 * call costs more than hashing a 200-byte event.  That makes sl_sha256 not
 * thread-safe: every hash is taken on the one libuv loop's thread (the
 * store's syncer thread only syncs and writes bytes hashed before).
 */
#include <openssl/evp.h>
#include <stdlib.h>

#include "samlog_proto.h"

static EVP_MD *sha256_md;
static EVP_MD_CTX *sha256_ctx;

static int hash_init(void);

static int
hash_init(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	sha256_ctx = EVP_MD_CTX_new();
	if (sha256_md == NULL || sha256_ctx == NULL) {
		sl_crypto_shutdown();
		return -1;
	}
	return 0;
}

void
sl_crypto_shutdown(void)
{
	EVP_MD_CTX_free(sha256_ctx);
	EVP_MD_free(sha256_md);
	sha256_ctx = NULL;
	sha256_md = NULL;
}

void
sl_sha256_2(uint8_t out[SL_HASH_LEN], const void *a, size_t alen,
    const void *b, size_t blen)
{
	unsigned int n = 0;

	if (sha256_ctx == NULL && hash_init() != 0)
		abort(); /* no digest means no log: nothing sane to do */
	if (EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) != 1 ||
	    EVP_DigestUpdate(sha256_ctx, a, alen) != 1 ||
	    (blen > 0 && EVP_DigestUpdate(sha256_ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(sha256_ctx, out, &n) != 1 || n != SL_HASH_LEN)
		abort();
}

void
sl_sha256(uint8_t out[SL_HASH_LEN], const void *data, size_t len)
{
	sl_sha256_2(out, data, len, NULL, 0);
}

