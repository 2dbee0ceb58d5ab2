/* AES-128-CMAC (NIST SP 800-38B, RFC 4493) over a message given in parts.
 *
 * OpenSSL's CMAC (EVP_MAC "CMAC" in 3.0) runs the cipher once per 16-byte block through
 * EVP_Cipher, about 200 instructions of call overhead per block; SCP03t MACs every byte of
 * the BPP on both sides. This CMAC is the same function on one keyed AES-128-CBC context:
 * the subkeys K1 and K2 are derived once per key, and the message goes through
 * EVP_EncryptUpdate in runs of up to 1 KiB, the last block XORed with K1 (whole) or padded
 * 80 00.. and XORed with K2 (partial or empty message).
 *
 * One context = one key. It is not thread-safe: each user owns its own. The subkeys are
 * wiped and OpenSSL cleanses the key schedule on free. The message and the chaining values
 * are not secret (the C-MAC of SCP03t covers ciphertext and plain metadata). */
#ifndef DP_CRYPTO_CMAC_H
#define DP_CRYPTO_CMAC_H

#include <stddef.h>
#include <stdint.h>

#include "pki/base/error.h"

#define DP_CMAC_KEY_BYTES 16
#define DP_CMAC_BYTES 16

struct dp_cmac;

/* One part of the message: len bytes at p (p may be NULL when len is 0). */
struct dp_cmac_part {
	const uint8_t *p;
	size_t len;
};

/* A context keyed with key. DP_ERR_NOMEM or DP_ERR_CRYPTO on failure (*out NULL). */
int dp_cmac_new(const uint8_t key[DP_CMAC_KEY_BYTES], struct dp_cmac **out) DP_WUR;
/* Re-keys ctx (on failure ctx must not be used until a re-key succeeds). */
int dp_cmac_set_key(struct dp_cmac *ctx, const uint8_t key[DP_CMAC_KEY_BYTES]) DP_WUR;
void dp_cmac_free(struct dp_cmac *ctx);
/* mac = CMAC(key, parts[0] || parts[1] || .. || parts[n - 1]). */
int dp_cmac(struct dp_cmac *ctx, const struct dp_cmac_part *parts, size_t n,
	    uint8_t mac[DP_CMAC_BYTES]) DP_WUR;

#endif
