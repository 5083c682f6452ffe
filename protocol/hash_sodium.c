/*
 * hash_sodium.c - SHA-256 through libsodium, for the CLI.
 *
 * The CLI hashes only when it checks an audit bundle (a few thousand
 * records), where libsodium's portable code is fast enough and spares the
 * CLI OpenSSL's start-up cost.  The daemon, which hashes every event it
 * stores or receives, uses hash.c instead.  Both give the same digests.
 */
#include <sodium.h>

#include "samlog_proto.h"

void
sl_crypto_shutdown(void)
{
}

void
sl_sha256_2(uint8_t out[SL_HASH_LEN], const void *a, size_t alen,
    const void *b, size_t blen)
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, a, alen);
	if (blen > 0)
		crypto_hash_sha256_update(&st, b, blen);
	crypto_hash_sha256_final(&st, out);
}

void
sl_sha256(uint8_t out[SL_HASH_LEN], const void *data, size_t len)
{
	sl_sha256_2(out, data, len, NULL, 0);
}
