/* OpenSSL glue shared by the pki/crypto files (internal; not for other layers).
 * - dp_ossl_err: turns the OpenSSL error queue into the project's error detail, so an
 *   OpenSSL failure always surfaces as a project error with text, and clears the queue.
 * - dp_ossl_algs: algorithm objects fetched once per process (EVP_*_fetch is not free and
 *   the per-download budget is tight, dependencies.md 3.1).
 * - dp_ossl_curve_params / dp_ossl_curve_group: per-curve objects made once, so that keys
 *   made from raw bytes per request do not build an EC_GROUP each time (OpenSSL 3.0 builds
 *   one, with its Montgomery context, in every EVP_PKEY_fromdata and by-name keygen).
 * - dp_ossl_nokey_ctx: a library context with only the null provider, for parsing
 *   certificates without OpenSSL 3.0's per-certificate key decoder set-up (cert.c). */
#ifndef DP_CRYPTO_OSSL_H
#define DP_CRYPTO_OSSL_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <openssl/ec.h>

#include "pki/base/error.h"
#include "pki/crypto/curve.h"

/* OSSL_PARAM has no const variant; OpenSSL only reads the buffers we pass as input
 * parameters, so dropping const for them is safe (and avoids copies on the hot path). */
static inline void *dp_ossl_unconst(const void *p)
{
	return (void *)(uintptr_t)p;
}

/* Records err with the detail "<what>: <first OpenSSL error text>" and returns err. */
int dp_ossl_err(int err, const char *what);

struct dp_ossl_algs {
	EVP_MD *sha256;
	EVP_CIPHER *aes128_cbc;
	EVP_CIPHER *aes128_ecb;
	EVP_KDF *x963;
};

/* The fetched algorithms (fetched on first use, thread-safe); DP_ERR_CRYPTO when the
 * default provider lacks one of them. The objects live until process exit. */
int dp_ossl_algs(const struct dp_ossl_algs **out) DP_WUR;

/* A parameters-only EC key (the named group, no key) of curve, made on first use
 * (thread-safe) and kept until exit; borrowed, read-only: duplicate it (EVP_PKEY_dup) or use
 * it as a key-generation template. DP_ERR_CRYPTO when it cannot be made. */
int dp_ossl_curve_params(enum dp_curve curve, EVP_PKEY **out) DP_WUR;
/* The EC_GROUP of curve for read-only use (EC_POINT_mul, the order), made once. */
int dp_ossl_curve_group(enum dp_curve curve, const EC_GROUP **out) DP_WUR;
/* A library context holding only the "null" provider (no algorithms, so no decoders and
 * no fallback to the default provider), made once. Objects decoded in it carry no
 * provider keys; see cert.c for the one use. DP_ERR_CRYPTO when it cannot be made. */
int dp_ossl_nokey_ctx(OSSL_LIB_CTX **out) DP_WUR;

#endif
