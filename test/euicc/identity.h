/* The test eUICC's identity: CERT.EUICC + SK.EUICC, CERT.EUM, the CIs it trusts, its EID,
 * version numbers, EUICCInfo2 extras and deliberate faults for negative tests.
 * SGP.22 4.5 / download-path.md 6.1, 6.3 (SGP.26 test eUICC), 3.2 (EUICCInfo1/2).
 *
 * Load it once (files are parsed here, never per command), adjust it, then hand it to
 * dp_euicc_new(), which takes ownership. */
#ifndef DP_TEST_EUICC_IDENTITY_H
#define DP_TEST_EUICC_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"
#include "pki/crypto/cert.h"
#include "pki/crypto/curve.h"

/* At most this many SKIs per PKID list. */
#define DP_EUICC_SKI_LIST_MAX 8
/* Bytes of raw extra members appended to EUICCInfo2. */
#define DP_EUICC_INFO2_EXTRA_MAX 1024
/* Free non-volatile memory reported and enforced by default (bytes). */
#define DP_EUICC_FREE_MEMORY_DEFAULT 526302u

/* Deliberate faults (bits for dp_euicc_identity_set_faults). */
enum {
	DP_EUICC_FAULT_BAD_SIGNATURE = 1u << 0,   /* flip a bit of every eUICC signature */
	DP_EUICC_FAULT_WRONG_TID_ECHO = 1u << 1,  /* euiccSigned1 echoes a different tid */
	DP_EUICC_FAULT_SKIP_SERVER_CHECKS = 1u << 2, /* accept any DPauth / serverSignature1 */
	DP_EUICC_FAULT_IGNORE_CC_FLAG = 1u << 3, /* PrepareDownload without a hashCc even when
						  * smdpSigned2 asks for one (an LPA/eUICC
						  * that skips the code) */
};

struct dp_euicc_identity;

/* The SGP.26 test eUICC (EID 89049032123451234512345678901235) from sgp26_dir
 * (../shared/sgp26): eUICC/{CERT_EUICC,SK_EUICC}_ECDSA_<NIST|BRP>, EUM/CERT_EUM_ECDSA_*,
 * and both CertificateIssuer/CERT_CI_ECDSA_{NIST,BRP} as trusted CIs. Verification list:
 * both CI SKIs; signing list: the CI its own chain leads to. */
int dp_euicc_identity_load_sgp26(const char *sgp26_dir, enum dp_curve curve,
				 struct dp_euicc_identity **out) DP_WUR;
/* Any identity from files (PEM or DER): the eUICC certificate and key (must match), the EUM
 * certificate. The EID is read from the eUICC certificate. Add CIs afterwards. */
int dp_euicc_identity_load(const char *euicc_cert, const char *euicc_key, const char *eum_cert,
			   struct dp_euicc_identity **out) DP_WUR;
void dp_euicc_identity_free(struct dp_euicc_identity *id);

/* Trusts a CI certificate (file): adds it to the store used for CERT.DPauth / CERT.DPpb and
 * its SKI to the verification list; also to the signing list when for_signing. */
int dp_euicc_identity_add_ci(struct dp_euicc_identity *id, const char *ci_cert,
			     bool for_signing) DP_WUR;
/* Replaces a PKID list with exactly these SKIs (n may be 0), e.g. to announce a CI the
 * eUICC does not really hold. */
int dp_euicc_identity_set_ski_list(struct dp_euicc_identity *id, bool signing,
				   const struct dp_ci_ski *skis, size_t n) DP_WUR;
/* Overrides the EID (32 digits, check digits valid) used in GetEID and the KDF; the
 * certificate keeps its own (a mismatch is a fault an SM-DP+ should catch). */
int dp_euicc_identity_set_eid(struct dp_euicc_identity *id, const char *eid) DP_WUR;
/* SVN (EUICCInfo1/2 82, default 2.2.0) and profileVersion (81, default 2.1.0). */
void dp_euicc_identity_set_svn(struct dp_euicc_identity *id, uint8_t major, uint8_t minor,
			       uint8_t rev);
void dp_euicc_identity_set_profile_version(struct dp_euicc_identity *id, uint8_t major,
					   uint8_t minor, uint8_t rev);
/* Appends raw TLVs (checked well-formed) to the end of EUICCInfo2, e.g. v3 `93 03 030100`
 * highestSvn or SGP.32 `B4 …` iotSpecificInfo. */
int dp_euicc_identity_add_info2_extra(struct dp_euicc_identity *id, const uint8_t *tlvs,
				      size_t len) DP_WUR;
void dp_euicc_identity_set_faults(struct dp_euicc_identity *id, unsigned faults);
/* Free non-volatile memory in bytes, reported in EUICCInfo2 extCardResource (84 { 82 ... },
 * ETSI TS 102 226 8.2.1.3.2) and enforced by LoadBoundProfilePackage: a profile package
 * larger than this is refused with installFailedDueToInsufficientMemoryForProfile(10).
 * Default 526302 (0x000807DE, the SGP.26 test eUICC's trace value); the value stays fixed
 * as profiles are installed (a test knob, not a memory model). */
void dp_euicc_identity_set_free_memory(struct dp_euicc_identity *id, uint32_t bytes);
uint32_t dp_euicc_identity_free_memory(const struct dp_euicc_identity *id);
/* rspCapability (EUICCInfo2 88) as bits: bit i = SGP.22 RspCapability named bit i
 * (additionalProfile 0, crlSupport 1, rpmSupport 2, testProfileSupport 3, ...; up to 31),
 * encoded as a DER named-bit string (trailing zero bits dropped; 0 gives `88 01 00`).
 * Default additionalProfile | testProfileSupport (`88 02 04 90`, the SGP.26 test eUICC's
 * trace value). Reported only: the test eUICC does not act on the bits. */
#define DP_EUICC_RSP_ADDITIONAL_PROFILE (1u << 0)
#define DP_EUICC_RSP_TEST_PROFILE	(1u << 3)
#define DP_EUICC_RSP_CAPABILITY_DEFAULT \
	(DP_EUICC_RSP_ADDITIONAL_PROFILE | DP_EUICC_RSP_TEST_PROFILE)
void dp_euicc_identity_set_rsp_capability(struct dp_euicc_identity *id, uint32_t bits);
uint32_t dp_euicc_identity_rsp_capability(const struct dp_euicc_identity *id);
/* forbiddenProfilePolicyRules (EUICCInfo2 99, PprIds: pprUpdateControl 0, ppr1 1, ppr2 2;
 * bit i = named bit i), placed where the schema has it (before ppVersion). Absent by
 * default; present with bits 0 it is the empty list `99 01 00`. Reported only: the test
 * eUICC does not refuse a profile for its PPRs. */
void dp_euicc_identity_set_forbidden_ppr(struct dp_euicc_identity *id, bool present,
					 uint8_t bits);

/* Reading. */
const char *dp_euicc_identity_eid(const struct dp_euicc_identity *id);
const struct dp_cert *dp_euicc_identity_cert(const struct dp_euicc_identity *id);
const struct dp_cert *dp_euicc_identity_eum(const struct dp_euicc_identity *id);
unsigned dp_euicc_identity_faults(const struct dp_euicc_identity *id);
/* Borrowed store of trusted CIs (for dp_ci_store_verify). */
struct dp_ci_store *dp_euicc_identity_ci_store(const struct dp_euicc_identity *id);
/* The PKID list; *n receives its length. */
const struct dp_ci_ski *dp_euicc_identity_ski_list(const struct dp_euicc_identity *id,
						   bool signing, size_t *n);
bool dp_euicc_identity_ski_listed(const struct dp_euicc_identity *id, bool signing,
				  const uint8_t *ski, size_t len);

/* Appends EUICCInfo1 (BF20) / EUICCInfo2 (BF22) as this identity reports them. */
int dp_euicc_identity_info1(const struct dp_euicc_identity *id, struct dp_buf *out) DP_WUR;
int dp_euicc_identity_info2(const struct dp_euicc_identity *id, struct dp_buf *out) DP_WUR;

/* Signs msg with SK.EUICC (r||s; corrupted when DP_EUICC_FAULT_BAD_SIGNATURE is set) and
 * appends the TLV 5F37 40 r||s to out. */
int dp_euicc_identity_sign_tlv(const struct dp_euicc_identity *id, const uint8_t *msg,
			       size_t len, struct dp_buf *out) DP_WUR;

#endif
