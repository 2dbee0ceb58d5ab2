/* The two curves of the GSMA RSP PKI (SGP.22 section 2.6.5; download-path.md 4.1):
 * NIST P-256 and brainpoolP256r1, both with SHA-256 and 32-byte scalars. */
#ifndef DP_CRYPTO_CURVE_H
#define DP_CRYPTO_CURVE_H

#include <openssl/evp.h>

#include "pki/base/error.h"

enum dp_curve {
	DP_CURVE_NIST_P256 = 1,
	DP_CURVE_BRAINPOOL_P256R1 = 2,
};

/* Bytes of one coordinate / one signature half (both curves are 256-bit). */
#define DP_CURVE_BYTES 32
/* An uncompressed public point 04 || X || Y as carried in 5F49. */
#define DP_CURVE_POINT_BYTES 65

/* OpenSSL group name: "P-256" or "brainpoolP256r1"; "?" for anything else. */
const char *dp_curve_name(enum dp_curve c);
/* Short name used on the command line and in file names: "nist" or "brainpool". */
const char *dp_curve_short(enum dp_curve c);
/* Parses "nist", "p256", "P-256", "prime256v1", "brainpool", "brainpoolP256r1" (any case). */
int dp_curve_parse(const char *s, enum dp_curve *out) DP_WUR;
/* The curve of an EC key; DP_ERR_CERT_CURVE for other key types and curves. */
int dp_curve_of_key(const EVP_PKEY *key, enum dp_curve *out) DP_WUR;

#endif
