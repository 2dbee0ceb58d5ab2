/* The SM-DP+ and LPA side of a download against the test eUICC, shared by the suites that
 * need an installed profile: SGP.26 DPauth/DPpb keys, the TS.48 v1 test profile A from
 * ../shared/ts48, the BPP cut as SGP.22 2.5.5 says. Every helper fails the test on error. */
#ifndef DP_TEST_UNIT_EUICC_DOWNLOAD_H
#define DP_TEST_UNIT_EUICC_DOWNLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pki/asn1/tlv.h"
#include "pki/crypto/cert.h"
#include "pki/crypto/ecdsa.h"
#include "test/euicc/es10.h"
#include "test/unit/euicc/euicc_test.h"

#define EUICC_DL_ADDRESS      "testsmdpplus1.example.com"
#define EUICC_DL_HOST_ID      "mahlzeit"
#define EUICC_DL_SEGMENTS_MAX 64

struct euicc_dl_segment {
	const uint8_t *p;
	size_t len;
};

struct euicc_dl {
	struct dp_euicc *e;
	struct dp_cert *dpauth, *dppb;
	EVP_PKEY *auth_key, *pb_key;
	struct euicc_test_auth auth;
	struct dp_ci_ski ci;
	struct dp_buf req, resp;
	uint8_t signature1[3 + DP_ECDSA_RS_BYTES]; /* euiccSignature1 TLV */
	uint8_t otpk_euicc[DP_CURVE_POINT_BYTES];
	struct dp_buf upp;	       /* the profile package */
	uint8_t iccid[10];	       /* from its ProfileHeader; the metadata's */
	const uint8_t *extra_metadata; /* DER appended to the StoreMetadata */
	size_t extra_metadata_len;
	struct dp_buf bpp;
	struct euicc_dl_segment seg[EUICC_DL_SEGMENTS_MAX];
	size_t n_seg;
};

/* What goes into a PrepareDownloadRequest. */
struct euicc_dl_prepare {
	const uint8_t *tid; /* NULL: the session's */
	bool cc_required;
	const uint8_t *hash_cc;	    /* 32 bytes or NULL */
	const uint8_t *otpk;	    /* bppEuiccOtpk or NULL */
	const struct dp_cert *cert; /* NULL: SGP.26 DPpb */
	EVP_PKEY *key;
	bool corrupt_signature;
};

int euicc_dl_setup(void **state);

int euicc_dl_teardown(void **state);

/* GetEUICCChallenge + AuthenticateServer, which must succeed; keeps euiccSignature1. */
void euicc_dl_authenticate(struct euicc_dl *fx);

/* Sends PrepareDownload; returns the downloadErrorCode (0: ok, euiccSignature2 checked,
 * euiccSigned2 left in *signed2 as a slice of fx->resp, otPK.EUICC in fx->otpk_euicc). */
int euicc_dl_prepare_download(struct euicc_dl *fx, const struct euicc_dl_prepare *p,
			      struct dp_tlv *signed2);

/* Builds the BPP into fx->bpp and cuts it as the LPA does (SGP.22 2.5.5) into fx->seg.
 * With ppk, the UPP is protected with fixed profile protection keys announced in an A2
 * ReplaceSessionKeys (download-path.md 4.6). */
void euicc_dl_build_bpp_ppk(struct euicc_dl *fx, bool corrupt_smdp_sign, bool ppk);

void euicc_dl_build_bpp(struct euicc_dl *fx, bool corrupt_smdp_sign);

/* Sends the segments in fx->seg; exactly one of them (the last, or the first that fails)
 * answers, and that answer is left in fx->resp; returns its index. */
size_t euicc_dl_load(struct euicc_dl *fx);

/* Checks a ProfileInstallationResult as an SM-DP+ would (schema, signature with
 * CERT.EUICC, tid, notification metadata, OID); returns 0 for success (the ISD-P AID in
 * aid) or the errorReason (the bppCommandId in *command). */
int euicc_dl_check_pir(struct euicc_dl *fx, uint8_t aid[16], int *command);

/* AuthenticateServer + PrepareDownload, both fine. */
void euicc_dl_prepared(struct euicc_dl *fx);

#endif
