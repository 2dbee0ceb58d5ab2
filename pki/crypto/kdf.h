/* Session keys for the bound profile package (SGP.22 3.1.3 and Annex G;
 * download-path.md 4.4): the one-time key pair otPK/otSK on the curve of CERT.DPpb,
 * ECKA-DH with the peer's otPK, and the ANSI X9.63 KDF with SHA-256 over
 * SharedInfo = 88 || 10 || len(hostId) || hostId || 10 || EID(16 bytes),
 * whose 48 bytes split into the initial MAC chaining value, S-ENC and S-MAC. */
#ifndef DP_CRYPTO_KDF_H
#define DP_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pki/base/error.h"
#include "pki/crypto/curve.h"

/* The SCP03t key set. A plain data carrier; wipe with dp_kdf_keys_wipe. Also used for the
 * profile protection keys (PPK-ENC, PPK-MAC, initial MCV) of a pre-protected profile. */
struct dp_session_keys {
	uint8_t mcv[16];   /* initial MAC chaining value (KeyData bytes 1..16) */
	uint8_t s_enc[16]; /* S-ENC (bytes 17..32) */
	uint8_t s_mac[16]; /* S-MAC (bytes 33..48) */
};

/* The SharedInfo constants of SGP.22 (CRT in the A6 of InitialiseSecureChannel). */
#define DP_KDF_KEY_TYPE 0x88   /* AES */
#define DP_KDF_KEY_LENGTH 0x10 /* 16 bytes */
#define DP_KDF_HOST_ID_MAX 16
#define DP_KDF_EID_BYTES 16
#define DP_KDF_SHARED_INFO_MAX (3 + DP_KDF_HOST_ID_MAX + 1 + DP_KDF_EID_BYTES)

/* A fresh one-time key pair on curve. */
int dp_kdf_generate(enum dp_curve curve, EVP_PKEY **otsk) DP_WUR;
/* Imports a public point 04||X||Y (exactly 65 bytes) on curve; DP_ERR_EC_POINT when it is
 * malformed or not on the curve. */
int dp_kdf_import_point(enum dp_curve curve, const uint8_t *pt, size_t len,
			EVP_PKEY **out) DP_WUR;
/* Imports a private scalar (32 bytes, big-endian) with its public point (known-answer
 * tests, the test eUICC). */
int dp_kdf_import_private(enum dp_curve curve, const uint8_t scalar[32], EVP_PKEY **out) DP_WUR;
/* The uncompressed public point of a key (the 5F49 value). */
int dp_kdf_export_point(const EVP_PKEY *key, uint8_t pt[DP_CURVE_POINT_BYTES]) DP_WUR;
/* Z = x-coordinate of otsk * peer (ECKA-DH, BSI TR-03111). Both keys on one curve; peer
 * must come from dp_kdf_import_point (its on-curve check is not repeated here). */
int dp_kdf_ecdh(EVP_PKEY *otsk, EVP_PKEY *peer, uint8_t z[32]) DP_WUR;
/* Builds SharedInfo into out[0..*len); host_id is 1..16 bytes. */
int dp_kdf_shared_info(const uint8_t *host_id, size_t host_id_len,
		       const uint8_t eid[DP_KDF_EID_BYTES], uint8_t *out, size_t cap,
		       size_t *len) DP_WUR;
/* X9.63 KDF (SHA-256) of Z and SharedInfo, 48 bytes, split into keys. */
int dp_kdf_x963(const uint8_t *z, size_t z_len, const uint8_t *shared_info, size_t si_len,
		struct dp_session_keys *keys) DP_WUR;
/* All of it for one side: ECDH of otsk with the peer's 65-byte point, SharedInfo from
 * host_id and the EID, KDF. The point is on-curve checked. */
int dp_kdf_session_keys(EVP_PKEY *otsk, const uint8_t *peer_point, size_t peer_len,
			const uint8_t *host_id, size_t host_id_len,
			const uint8_t eid[DP_KDF_EID_BYTES], struct dp_session_keys *keys) DP_WUR;
/* The 32 EID digits as 16 bytes ("8904..." -> 89 04 ...; no nibble swap). */
int dp_kdf_eid_bytes(const char *eid, uint8_t out[DP_KDF_EID_BYTES]) DP_WUR;
void dp_kdf_keys_wipe(struct dp_session_keys *keys);

#endif
