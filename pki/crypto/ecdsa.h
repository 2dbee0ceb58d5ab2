/* ECDSA with SHA-256 in the RSP formats (SGP.22 2.6.5, download-path.md 4.1, 4.2).
 * Protocol signatures travel as plain r||s, 64 bytes (BSI TR-03111), inside 5F37; X.509
 * uses the DER ECDSA-Sig-Value. The signature always covers the message bytes exactly as
 * given (slice them out of the received buffer; never re-encode), hashed with SHA-256.
 * Keys are pre-parsed EVP_PKEYs (parse once at start-up, cert.h); they are only read here,
 * so one key may be used from several threads. Each thread keeps signing and verifying
 * contexts for the last four keys it used, each with a reference to its key (ecdsa.c): a
 * key freed by its caller lives on until the thread has used four others or ends. */
#ifndef DP_CRYPTO_ECDSA_H
#define DP_CRYPTO_ECDSA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"

/* r||s, each left-padded to 32 bytes. */
#define DP_ECDSA_RS_BYTES 64
/* Longest DER ECDSA-Sig-Value for a 256-bit curve: 30 46 02 21 00.. 02 21 00.. */
#define DP_ECDSA_DER_MAX 72
/* The 5F37 tag of the RSP signature fields. */
#define DP_ECDSA_TAG 0x5F37

/* Signs msg with key (P-256 or brainpoolP256r1), writing r||s. */
int dp_ecdsa_sign(EVP_PKEY *key, const uint8_t *msg, size_t len,
		  uint8_t sig[DP_ECDSA_RS_BYTES]) DP_WUR;
/* Signs msg and appends the whole TLV 5F37 40 r||s to out (what smdpSignature2 and the
 * next signature's input need). */
int dp_ecdsa_sign_tlv(EVP_PKEY *key, const uint8_t *msg, size_t len, struct dp_buf *out) DP_WUR;
/* 0 when sig (r||s; sig_len must be 64, else DP_ERR_ECDSA_FORMAT) is a valid signature of
 * msg under key; DP_ERR_SIGNATURE when it is not. */
int dp_ecdsa_verify(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t *sig,
		    size_t sig_len) DP_WUR;

/* Strict DER ECDSA-Sig-Value -> r||s. Rejects trailing bytes, non-minimal (BER) encodings,
 * negative or zero integers and integers longer than 32 bytes (DP_ERR_ECDSA_FORMAT). */
int dp_ecdsa_der_to_rs(const uint8_t *der, size_t len, uint8_t rs[DP_ECDSA_RS_BYTES]) DP_WUR;
/* r||s -> DER ECDSA-Sig-Value in der[0..*len); cap >= DP_ECDSA_DER_MAX always suffices.
 * r or s equal to zero is DP_ERR_ECDSA_FORMAT. */
int dp_ecdsa_rs_to_der(const uint8_t rs[DP_ECDSA_RS_BYTES], uint8_t *der, size_t cap,
		       size_t *len) DP_WUR;

#endif
