/*
 * fuzz_bundle.c - libFuzzer target for samlog audit --check: an audit
 * bundle is a file from anywhere, checked by an auditor's CLI.  Whatever
 * the bytes, the check must end in a verdict, and a refusal says why.
 *
 * First byte even: the rest is a whole bundle file.  Odd: the rest is a
 * statement, which is framed and signed here with a fixed key, so that
 * the fuzzer gets past the exporter's signature into the statement, the
 * records, the chains and the history checks.
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "samlog_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sl_key key;
	static bool have_key;
	char err[512] = "";
	struct sl_buf b = { 0 };

	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		if (!audit_check_buffer(data + 1, size - 1, err, sizeof err) &&
		    err[0] == '\0')
			abort();
		return 0;
	}
	if (!have_key) {
		static const uint8_t seed[SL_SEED_LEN] = { 1 };

		if (sl_crypto_init() != 0)
			abort();
		sl_key_from_seed(&key, seed);
		have_key = true;
	}
	/* Where the statement names its exporter, make it the fixed key,
	 * then sign: the check goes on past the signature. */
	uint8_t *st = malloc(size - 1 ? size - 1 : 1);
	uint8_t h[SL_HASH_LEN], sig[SL_SIG_LEN];
	const uint8_t *p;
	const char *s;
	uint32_t n, l;
	uint64_t v;
	struct sl_mp m;
	msgpack_packer pk;

	if (st == NULL)
		abort();
	memcpy(st, data + 1, size - 1);
	sl_mp_init(&m, st, size - 1);
	if (sl_mp_read_array(&m, &n, 8) == SL_OK &&
	    sl_mp_read_uint(&m, &v) == SL_OK &&
	    sl_mp_read_bin(&m, &p, &l, 0, 64) == SL_OK &&
	    sl_mp_read_str(&m, &s, &l, 0, 64) == SL_OK &&
	    sl_mp_read_bin(&m, &p, &l, SL_KEY_LEN, SL_KEY_LEN) == SL_OK)
		memcpy(st + (p - st), key.pub, SL_KEY_LEN);
	sl_sha256(h, st, size - 1);
	sl_sign_audit(sig, &key, h);
	sl_buf_write(&b, SL_AUDIT_MAGIC, SL_AUDIT_MAGIC_LEN);
	msgpack_packer_init(&pk, &b, sl_buf_write);
	msgpack_pack_array(&pk, 2);
	sl_pack_bin(&pk, st, size - 1);
	sl_pack_bin(&pk, sig, SL_SIG_LEN);
	free(st);
	if (!b.failed && !audit_check_buffer(b.p, b.len, err, sizeof err) &&
	    err[0] == '\0')
		abort();
	free(b.p);
	return 0;
}
