/* The test eUICC's ES10 layer: one DER command in, its DER response out, by outer tag.
 * SGP.22 5.7 (ES10b), 5.7.13 AuthenticateServer; download-path.md 3.2, 7.2.
 *
 * Done: GetEUICCChallenge (BF2E), GetEUICCInfo1 (BF20), GetEUICCInfo2 (BF22), GetEID
 * (GetEuiccData BF3E), AuthenticateServer (BF38) with the eUICC's checks.
 * Not yet: PrepareDownload, LoadBoundProfilePackage, CancelSession, notifications, profile
 * management (they answer DP_ERR_EUICC_FUNCTION, which the card turns into 6A80). */
#ifndef DP_TEST_EUICC_ES10_H
#define DP_TEST_EUICC_ES10_H

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

/* Runs one ES10 command (exactly one DER TLV) and appends its DER response to resp.
 * Function-level failures (a bad server signature, ...) are answered in the response as
 * the spec says; the return value is non-zero only for a request this layer cannot answer:
 * DP_ERR_EUICC_FUNCTION (unknown or not yet implemented tag), DP_ERR_EUICC_REQUEST /
 * DER errors (malformed), DP_ERR_NOMEM, DP_ERR_CRYPTO. */
int dp_euicc_es10(struct dp_euicc *e, const uint8_t *cmd, size_t len,
		  struct dp_buf *resp) DP_WUR;
/* The same with a void context, for dp_euicc_card_new(dp_euicc_es10_cb, e, ...). */
int dp_euicc_es10_cb(void *e, const uint8_t *cmd, size_t len, struct dp_buf *resp) DP_WUR;

#endif
