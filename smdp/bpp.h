/* The bound profile package: InitialiseSecureChannel, ConfigureISDP, StoreMetadata,
 * optional ReplaceSessionKeys, the profile segments (SGP.22 2.5.3-2.5.5, 5.6.2;
 * download-path.md 4.4-4.7). Built per download by getBoundProfilePackage.
 *
 *   BF36 { BF23 { 82 01 01, 80 tid, A6 {80 01 88, 81 01 10, 84 hostId}, 5F49 otPK.DP,
 *                 5F37 smdpSign },
 *          A0 { 87 ConfigureISDPRequest },          counter 1, session keys
 *          A1 { 88 StoreMetadataRequest... },       MAC only, one 88 per 1008 bytes
 *          [A2 { 87 ReplaceSessionKeysRequest }],   only for a pre-protected profile
 *          A3 { 86 ... } }                          UPP slices of 1007 bytes
 *
 * smdpSign = ECDSA(SK.DPpb, BF23 content without smdpSign || 5F49 otPK.EUICC).
 * Every protected TLV is at most 1020 bytes. */
#ifndef DP_SMDP_BPP_H
#define DP_SMDP_BPP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"
#include "pki/crypto/curve.h"
#include "pki/crypto/kdf.h"

/* What one binding needs. A plain data carrier; every pointer is borrowed. */
struct dp_bpp_input {
	enum dp_curve curve;           /* the curve of CERT.DPpb (otPK.DP is made on it) */
	EVP_PKEY *dppb_key;            /* SK.DPpb, signs the InitialiseSecureChannelRequest */
	const uint8_t *tid;            /* transactionId, 1..16 bytes */
	size_t tid_len;
	const uint8_t *otpk_euicc;     /* otPK.EUICC.ECKA, 04||X||Y, 65 bytes */
	const char *eid;               /* 32 digits (the KDF's SharedInfo) */
	const uint8_t *host_id;        /* 1..16 bytes */
	size_t host_id_len;
	const uint8_t *metadata;       /* StoreMetadataRequest BF25, byte-identical to the
					* profileMetadata sent in authenticateClient */
	size_t metadata_len;
	const uint8_t *configure_isdp; /* ConfigureISDPRequest BF24; NULL: BF24 00 */
	size_t configure_isdp_len;
	/* The profile: either the plain UPP (SAIP DER), protected here with the session keys;
	 * or, when ppk != NULL, the 86 TLVs made once by dp_bpp_protect (the A3 content) and
	 * announced with ReplaceSessionKeys under ppk. */
	const uint8_t *profile;
	size_t profile_len;
	const struct dp_session_keys *ppk;
	/* otSK.DP.ECKA to reuse (a retry that must give the same binding); NULL: a fresh
	 * one-time key pair. */
	EVP_PKEY *otsk_dp;
};

/* Builds the whole BoundProfilePackage (BF36) and appends it to out. When otsk_out is not
 * NULL it receives the one-time private key used (new reference; free it), so that the
 * caller can keep it for a re-binding. Errors: DP_ERR_INVAL (a field out of range),
 * DP_ERR_EC_POINT (otPK.EUICC not on the curve), DP_ERR_TOO_LONG, DP_ERR_CRYPTO. On error
 * out is as before. */
int dp_bpp_build(const struct dp_bpp_input *in, struct dp_buf *out, EVP_PKEY **otsk_out) DP_WUR;

/* Pre-protection of a profile (the PPK variant): fresh random PPK-ENC, PPK-MAC and initial
 * MCV into *ppk, and the UPP wrapped under them (counter from 1) as consecutive 86 TLVs
 * appended to out. Done once at import; the result is the `profile` of dp_bpp_input. */
int dp_bpp_protect(const uint8_t *upp, size_t len, struct dp_session_keys *ppk,
		   struct dp_buf *out) DP_WUR;

#endif
