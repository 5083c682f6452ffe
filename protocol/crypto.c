/*
 * crypto.c - keys, signatures and randomness: Ed25519 from libsodium
 * (about 2.4 times OpenSSL's sign and verify rate here).  SHA-256 lives in
 * hash.c (OpenSSL, for the daemon) and hash_sodium.c (libsodium, for the
 * CLI, which hashes only to check audit bundles and so need not link
 * OpenSSL nor pay its start-up cost).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "samlog_proto.h"

/* Domain prefixes: a signature made for an event can never be replayed
 * as a signature over an audit bundle or a device certificate, nor the
 * other way round.  All are 15 bytes. */
static const char sig_domain[] = "samlog/event/v1";
static const char audit_domain[] = "samlog/audit/v1";
static const char cert_domain[] = "samlog/certs/v1";

int
sl_crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
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
sig_message(uint8_t *msg, const char *domain, const uint8_t hash[SL_HASH_LEN])
{
	memcpy(msg, domain, sizeof sig_domain - 1);
	memcpy(msg + sizeof sig_domain - 1, hash, SL_HASH_LEN);
}

static void
sign_in(uint8_t sig[SL_SIG_LEN], const struct sl_key *k, const char *domain,
    const uint8_t hash[SL_HASH_LEN])
{
	uint8_t msg[sizeof sig_domain - 1 + SL_HASH_LEN];

	sig_message(msg, domain, hash);
	crypto_sign_detached(sig, NULL, msg, sizeof msg, k->secret);
}

static bool
verify_in(const uint8_t sig[SL_SIG_LEN], const uint8_t origin[SL_KEY_LEN],
    const char *domain, const uint8_t hash[SL_HASH_LEN])
{
	uint8_t msg[sizeof sig_domain - 1 + SL_HASH_LEN];

	sig_message(msg, domain, hash);
	return crypto_sign_verify_detached(sig, msg, sizeof msg, origin) == 0;
}

void
sl_sign_hash(uint8_t sig[SL_SIG_LEN], const struct sl_key *k,
    const uint8_t hash[SL_HASH_LEN])
{
	sign_in(sig, k, sig_domain, hash);
}

bool
sl_verify_hash(const uint8_t sig[SL_SIG_LEN], const uint8_t origin[SL_KEY_LEN],
    const uint8_t hash[SL_HASH_LEN])
{
	return verify_in(sig, origin, sig_domain, hash);
}

void
sl_sign_audit(uint8_t sig[SL_SIG_LEN], const struct sl_key *k,
    const uint8_t hash[SL_HASH_LEN])
{
	sign_in(sig, k, audit_domain, hash);
}

bool
sl_verify_audit(const uint8_t sig[SL_SIG_LEN], const uint8_t signer[SL_KEY_LEN],
    const uint8_t hash[SL_HASH_LEN])
{
	return verify_in(sig, signer, audit_domain, hash);
}

void
sl_sign_cert(uint8_t sig[SL_SIG_LEN], const struct sl_key *k,
    const uint8_t hash[SL_HASH_LEN])
{
	sign_in(sig, k, cert_domain, hash);
}

bool
sl_verify_cert(const uint8_t sig[SL_SIG_LEN], const uint8_t signer[SL_KEY_LEN],
    const uint8_t hash[SL_HASH_LEN])
{
	return verify_in(sig, signer, cert_domain, hash);
}
