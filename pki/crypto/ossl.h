/* OpenSSL glue shared by the pki/crypto files (internal; not for other layers).
 * - dp_ossl_err: turns the OpenSSL error queue into the project's error detail, so an
 *   OpenSSL failure always surfaces as a project error with text, and clears the queue.
 * - dp_ossl_algs: algorithm objects fetched once per process (EVP_*_fetch is not free and
 *   the per-download budget is tight, dependencies.md 3.1). */
#ifndef DP_CRYPTO_OSSL_H
#define DP_CRYPTO_OSSL_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "pki/base/error.h"

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
	EVP_MAC *cmac;
	EVP_KDF *x963;
};

/* The fetched algorithms (fetched on first use, thread-safe); DP_ERR_CRYPTO when the
 * default provider lacks one of them. The objects live until process exit. */
int dp_ossl_algs(const struct dp_ossl_algs **out) DP_WUR;

#endif
