/* The test eUICC's ES10 layer: one DER command in, its DER response out, by outer tag.
 * SGP.22 5.7 (ES10b), 5.7.13 AuthenticateServer; download-path.md 3.2, 7.2.
 *
 * Done: GetEUICCChallenge (BF2E), GetEUICCInfo1 (BF20), GetEUICCInfo2 (BF22), GetEID
 * (GetEuiccData BF3E), AuthenticateServer (BF38) with the eUICC's checks, PrepareDownload
 * (BF21, SGP.22 5.7.14), LoadBoundProfilePackage (BF36 as the segments of SGP.22 2.5.5,
 * 5.7.15) with the profiles installed and the PIR kept as a pending notification,
 * CancelSession (BF41), ListNotification (BF28), RetrieveNotificationsList (BF2B),
 * NotificationSent (BF30), GetProfilesInfo (BF2D), Enable/Disable/DeleteProfile
 * (BF31/BF32/BF33, each leaving a signed OtherSignedNotification).
 * Other tags answer DP_ERR_EUICC_FUNCTION, which the card turns into 6A80. */
#ifndef DP_TEST_EUICC_ES10_H
#define DP_TEST_EUICC_ES10_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"
#include "test/euicc/identity.h"

/* AuthenticateErrorCode (SGP.22 5.7.13). */
enum dp_euicc_auth_error {
	DP_EUICC_AUTH_INVALID_CERTIFICATE = 1,
	DP_EUICC_AUTH_INVALID_SIGNATURE = 2,
	DP_EUICC_AUTH_UNSUPPORTED_CURVE = 3,
	DP_EUICC_AUTH_NO_SESSION_CONTEXT = 4,
	DP_EUICC_AUTH_INVALID_OID = 5,
	DP_EUICC_AUTH_CHALLENGE_MISMATCH = 6,
	DP_EUICC_AUTH_CI_PK_UNKNOWN = 7,
	DP_EUICC_AUTH_UNDEFINED = 127,
};

/* DownloadErrorCode (SGP.22 5.7.14). invalidTransactionId is 5 there, unlike the BPP's 3. */
enum dp_euicc_download_error {
	DP_EUICC_DL_INVALID_CERTIFICATE = 1,
	DP_EUICC_DL_INVALID_SIGNATURE = 2,
	DP_EUICC_DL_UNSUPPORTED_CURVE = 3,
	DP_EUICC_DL_NO_SESSION_CONTEXT = 4,
	DP_EUICC_DL_INVALID_TRANSACTION_ID = 5,
	DP_EUICC_DL_UNDEFINED = 127, /* also: ccRequiredFlag without hashCc (code UNVERIFIED) */
};

/* BppCommandId of a PIR errorResult (SGP.22 5.7.15). */
enum dp_euicc_bpp_command {
	DP_EUICC_BPP_INITIALISE_SECURE_CHANNEL = 0,
	DP_EUICC_BPP_CONFIGURE_ISDP = 1,
	DP_EUICC_BPP_STORE_METADATA = 2,
	DP_EUICC_BPP_STORE_METADATA2 = 3,
	DP_EUICC_BPP_REPLACE_SESSION_KEYS = 4,
	DP_EUICC_BPP_LOAD_PROFILE_ELEMENTS = 5,
};

/* ErrorReason of a PIR errorResult (the ones this eUICC gives). */
enum dp_euicc_bpp_reason {
	DP_EUICC_BPP_INCORRECT_INPUT = 1,
	DP_EUICC_BPP_INVALID_SIGNATURE = 2,
	DP_EUICC_BPP_INVALID_TRANSACTION_ID = 3,
	DP_EUICC_BPP_UNSUPPORTED_CRT = 4,
	DP_EUICC_BPP_UNSUPPORTED_OPERATION = 5,
	DP_EUICC_BPP_SCP03T_STRUCTURE = 7,
	DP_EUICC_BPP_SCP03T_SECURITY = 8,
	DP_EUICC_BPP_ICCID_EXISTS = 9,
	DP_EUICC_BPP_INSUFFICIENT_MEMORY = 10,
	DP_EUICC_BPP_PE_PROCESSING = 12,
};

/* An installed profile (plain data carrier, owned by the eUICC; valid until the next
 * command). */
struct dp_euicc_profile {
	uint8_t iccid[10];        /* 5A of the metadata, as stored (nibble-swapped BCD) */
	uint8_t aid[16];          /* ISD-P AID */
	char sp_name[33];         /* 91 serviceProviderName */
	char name[65];            /* 92 profileName */
	int profile_class;        /* 95: test 0, provisioning 1, operational 2 (default) */
	bool enabled;             /* false after installation */
	char smdp_address[256];   /* the SM-DP+ address of the session that installed it */
	const uint8_t *metadata;  /* the StoreMetadataRequest (BF25) as received */
	size_t metadata_len;
	const uint8_t *package;   /* the profile package: the 86 plaintexts, concatenated */
	size_t package_len;
};

/* Longest ES10 response this layer builds. */
#define DP_EUICC_ES10_RESP_MAX (64 * 1024)

/* The eUICC behind the card: identity, the last challenge, the download session. */
struct dp_euicc;

/* Takes ownership of id (also on error). */
int dp_euicc_new(struct dp_euicc_identity *id, struct dp_euicc **out) DP_WUR;
void dp_euicc_free(struct dp_euicc *e);
const struct dp_euicc_identity *dp_euicc_identity(const struct dp_euicc *e);
/* Time used for certificate validity checks; 0 (default) = the system clock. */
void dp_euicc_set_time(struct dp_euicc *e, time_t at);

/* Installed profiles, in installation order. */
size_t dp_euicc_profile_count(const struct dp_euicc *e);
const struct dp_euicc_profile *dp_euicc_profile_get(const struct dp_euicc *e, size_t i);
/* Pending notifications (DER, e.g. a BF37 ProfileInstallationResult), oldest first. */
size_t dp_euicc_notification_count(const struct dp_euicc *e);
int dp_euicc_notification_get(const struct dp_euicc *e, size_t i, const uint8_t **der,
			      size_t *len) DP_WUR;

/* Installed profiles and pending notifications (with the next seqNumber) to a file, and
 * back. The file is DER of this layer's own making: 30 { 02 version 1, 02 nextSeq, A0 { 30
 * { 4F aid, 01 enabled, 0C SM-DP+ address, BF25 metadata, 04 package } ... }, A1 {
 * notification ... } }. Save writes path.tmp and renames it. Load replaces the eUICC's
 * profiles and notifications only when the whole file is valid (else DP_ERR_EUICC_STATE,
 * DP_ERR_IO, DP_ERR_NOMEM and the eUICC unchanged); a download session is not saved. */
int dp_euicc_save(const struct dp_euicc *e, const char *path) DP_WUR;
int dp_euicc_load(struct dp_euicc *e, const char *path) DP_WUR;

/* Runs one ES10 command (exactly one DER TLV, or one segment of a bound profile package
 * cut as SGP.22 2.5.5 says) and appends its DER response to resp (nothing for the
 * segments before the last).
 * Function-level failures (a bad server signature, ...) are answered in the response as
 * the spec says; the return value is non-zero only for a request this layer cannot answer:
 * DP_ERR_EUICC_FUNCTION (unknown or not yet implemented tag), DP_ERR_EUICC_REQUEST /
 * DER errors (malformed), DP_ERR_NOMEM, DP_ERR_CRYPTO. */
int dp_euicc_es10(struct dp_euicc *e, const uint8_t *cmd, size_t len,
		  struct dp_buf *resp) DP_WUR;
/* The same with a void context, for dp_euicc_card_new(dp_euicc_es10_cb, e, ...). */
int dp_euicc_es10_cb(void *e, const uint8_t *cmd, size_t len, struct dp_buf *resp) DP_WUR;

#endif
