/*
 * crypto.c - the two primitives the log rests on: SHA-256 from OpenSSL
 * (which uses the CPU's SHA extensions, about three times libsodium's rate
 * here) and Ed25519 from libsodium (about 2.4 times OpenSSL's sign and
 * verify rate here).
 *
 * The digest context is fetched once and reused: fetching an EVP_MD per
 * call costs more than hashing a 200-byte event.  That makes sl_sha256 not
 * thread-safe; both programs are single-threaded by design (one libuv loop).
 */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "samlog_proto.h"

/* Domain prefix of every event signature: a signature made for an event
 * can never be replayed as a signature over anything else we sign. */
static const char sig_domain[] = "samlog/event/v1";

static EVP_MD *sha256_md;
static EVP_MD_CTX *sha256_ctx;

int
sl_crypto_init(void)
{
	if (sha256_ctx != NULL)
		return 0;
	if (sodium_init() < 0)
		return -1;
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

	if (sha256_ctx == NULL && sl_crypto_init() != 0)
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

void
sl_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

void
sl_random_stream(void *buf, size_t len)
{
	uint8_t seed[randombytes_SEEDBYTES];

	randombytes_buf(seed, sizeof seed);
	randombytes_buf_deterministic(buf, len, seed);
	sodium_memzero(seed, sizeof seed);
}

void
sl_key_from_seed(struct sl_key *k, const uint8_t seed[SL_SEED_LEN])
{
	crypto_sign_seed_keypair(k->pub, k->secret, seed);
}

void
sl_key_generate(struct sl_key *k, uint8_t seed_out[SL_SEED_LEN])
{
	uint8_t seed[SL_SEED_LEN];

	randombytes_buf(seed, sizeof seed);
	sl_key_from_seed(k, seed);
	if (seed_out != NULL)
		memcpy(seed_out, seed, sizeof seed);
	sodium_memzero(seed, sizeof seed);
}

void
sl_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

void
sl_key_wipe(struct sl_key *k)
{
	sodium_memzero(k, sizeof *k);
}

static void
sig_message(uint8_t *msg, const uint8_t hash[SL_HASH_LEN])
{
	memcpy(msg, sig_domain, sizeof sig_domain - 1);
	memcpy(msg + sizeof sig_domain - 1, hash, SL_HASH_LEN);
}

void
sl_sign_hash(uint8_t sig[SL_SIG_LEN], const struct sl_key *k,
    const uint8_t hash[SL_HASH_LEN])
{
	uint8_t msg[sizeof sig_domain - 1 + SL_HASH_LEN];

	sig_message(msg, hash);
	crypto_sign_detached(sig, NULL, msg, sizeof msg, k->secret);
}

bool
sl_verify_hash(const uint8_t sig[SL_SIG_LEN], const uint8_t origin[SL_KEY_LEN],
    const uint8_t hash[SL_HASH_LEN])
{
	uint8_t msg[sizeof sig_domain - 1 + SL_HASH_LEN];

	sig_message(msg, hash);
	return crypto_sign_verify_detached(sig, msg, sizeof msg, origin) == 0;
}
