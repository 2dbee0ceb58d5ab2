/* The test LPA: one instance drives one test eUICC (in-process, through dp_euicc_es10)
 * against any SM-DP+ over ES9+ (HTTPS, JSON binding). SGP.22 3.1.3 (the download), 5.6
 * (ES9+), 5.7 (ES10b), 2.5.5 (the segmented BPP); download-path.md 1, 2, 3.2, 4.7, 4.8.
 *
 * The download is exposed as separate steps so that tests can stop, retry and cancel
 * between any two: initiate_authentication -> authenticate_client -> prepare_download ->
 * get_bound_profile_package -> load_bound_profile_package, then handle_notification; or
 * cancel_session at any point after the first. dp_lpa_download runs them all.
 *
 * Errors of every step: DP_ERR_LPA_REFUSED (the SM-DP+ answered Failed/Expired; the codes
 * are in dp_lpa_status), DP_ERR_LPA_HTTP (transport, non-2xx), DP_ERR_LPA_RESPONSE
 * (malformed response), DP_ERR_LPA_EUICC (the eUICC answered an error; dp_lpa_euicc_error
 * gives its code), DP_ERR_INVAL (a step out of order, bad argument), DP_ERR_NOMEM.
 * Instances are independent: one per thread, no shared state besides curl_global_init. */
#ifndef DP_TEST_LPA_LPA_H
#define DP_TEST_LPA_LPA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"
#include "test/euicc/es10.h"
#include "test/lpa/activation_code.h"
#include "test/lpa/es9_client.h"

/* TAC sent in DeviceInfo (the one lpac sends), with empty DeviceCapabilities. */
#define DP_LPA_TAC 0x35290611u
/* The largest ES10 segment of a BPP: a 1020-byte 86 (SGP.22 2.5.3) and a little slack
 * for the BF36 + BF23 first segment. */
#define DP_LPA_SEGMENT_MAX  2048
#define DP_LPA_SEGMENTS_MAX 4096
#define DP_LPA_BPP_MAX	    (2u * 1024 * 1024)

/* CancelSessionReason (SGP.22 5.7.14 / schemas/rsp_definitions.asn). */
enum dp_lpa_cancel_reason {
	DP_LPA_CANCEL_END_USER_REJECTION = 0,
	DP_LPA_CANCEL_POSTPONED = 1,
	DP_LPA_CANCEL_TIMEOUT = 2,
	DP_LPA_CANCEL_PPR_NOT_ALLOWED = 3,
	DP_LPA_CANCEL_METADATA_MISMATCH = 4,
	DP_LPA_CANCEL_LOAD_BPP_EXECUTION_ERROR = 5,
	DP_LPA_CANCEL_UNDEFINED = 127,
};

/* ---- pure helpers (no instance) ---- */

/* hashCc = SHA256(SHA256(cc) || transactionId) (download-path.md 4.8). */
int dp_lpa_hash_cc(const char *cc, const uint8_t *tid, size_t tid_len, uint8_t out[32]) DP_WUR;

/* One ES10 LoadBoundProfilePackage command: a slice of the BPP (borrowed). */
struct dp_lpa_segment {
	const uint8_t *p;
	size_t len;
};

/* Cuts a BoundProfilePackage (BF36) as SGP.22 2.5.5 says: BF36 header + BF23; A0 header
 * + its 87s; the A1 header; each 88; if present the A2 header + its 87s; the A3 header;
 * each 86. DP_ERR_DER_* / DP_ERR_DER_UNEXPECTED_TAG for a BPP of another shape,
 * DP_ERR_TOO_LONG past max segments. */
int dp_lpa_bpp_cut(const uint8_t *bpp, size_t len, struct dp_lpa_segment *seg, size_t max,
		   size_t *n) DP_WUR;

/* ---- the instance ---- */

struct dp_lpa;

/* Stands in for HTTPS (tests): answers one POST; *resp must stay valid until the next
 * call. Returns 0 or a transport error. */
typedef int (*dp_lpa_transport_fn)(void *ctx, const char *address, const char *function,
				   const struct dp_buf *body, struct dp_lpa_http_response *resp);

struct dp_lpa_options {
	struct dp_lpa_http_options http; /* CA file, insecure, timeouts, fresh connections */
	bool keep_euicc_errors;		 /* don't forward eUICC error responses to the SM-DP+ */
	dp_lpa_transport_fn transport;	 /* NULL: HTTPS with libcurl */
	void *transport_ctx;
};

/* e is borrowed and must outlive the instance. */
int dp_lpa_new(struct dp_euicc *e, const struct dp_lpa_options *o, struct dp_lpa **out) DP_WUR;
void dp_lpa_free(struct dp_lpa *l);

/* Step 1: GetEUICCChallenge, GetEUICCInfo1, ES9+ initiateAuthentication; starts a new
 * session (forgetting any earlier one) and keeps the transactionId and server data. */
int dp_lpa_initiate_authentication(struct dp_lpa *l, const char *smdp_address) DP_WUR;
/* Step 2: AuthenticateServer with ctxParams1 (matchingId omitted when NULL, sent empty
 * when ""), ES9+ authenticateClient; keeps profileMetadata, smdpSigned2 and friends and
 * ccRequired. An eUICC error is still sent to the SM-DP+ (SGP.22 3.1.3.2) unless
 * keep_euicc_errors, and gives DP_ERR_LPA_EUICC. */
int dp_lpa_authenticate_client(struct dp_lpa *l, const char *matching_id) DP_WUR;
/* Step 3 (ES10 only): PrepareDownload with hashCc when cc != NULL (whether or not the
 * SM-DP+ asked for one). Callable again (a new otPK). An eUICC error gives
 * DP_ERR_LPA_EUICC; its response is kept and step 4 sends it on. */
int dp_lpa_prepare_download(struct dp_lpa *l, const char *cc) DP_WUR;
/* Step 4: ES9+ getBoundProfilePackage with the last PrepareDownloadResponse; keeps the
 * BPP (dp_lpa_bpp). */
int dp_lpa_get_bound_profile_package(struct dp_lpa *l) DP_WUR;

/* The ProfileInstallationResult, as read from the eUICC's answer. */
struct dp_lpa_install_result {
	bool success;
	uint8_t aid[16]; /* ISD-P AID on success */
	size_t aid_len;
	int bpp_command;  /* errorResult bppCommandId, -1 on success */
	int error_reason; /* errorResult errorReason, 0 on success */
};

/* Step 5: the kept BPP to the eUICC, segment by segment, until it answers (after the
 * last segment, or the first it refuses). 0 on a successful PIR; DP_ERR_LPA_EUICC with
 * *res filled on an errorResult. The PIR bytes stay available (dp_lpa_pir) and the eUICC
 * keeps it as a pending notification. The session is over either way. */
int dp_lpa_load_bound_profile_package(struct dp_lpa *l, struct dp_lpa_install_result *res) DP_WUR;
/* Step 7: ES10 CancelSession(reason), then ES9+ cancelSession with the eUICC's response
 * (also an error one: the eUICC may have no session any more). 0 when the SM-DP+
 * accepted (an eUICC error is then only logged and kept in dp_lpa_euicc_error). */
int dp_lpa_cancel_session(struct dp_lpa *l, int reason) DP_WUR;
/* Restores a session's address and transactionId (hex) to cancel it from a new process. */
int dp_lpa_set_session(struct dp_lpa *l, const char *smdp_address, const char *tid_hex) DP_WUR;

/* Steps 1-5 in order. On a failure after step 1 the session is cancelled (reason
 * undefinedReason(127), endUserRejection(0) when a needed confirmation code is missing)
 * and the first error is returned. Unless keep_pir, the PIR is then sent with
 * handleNotification (and removed from the eUICC on 204). */
struct dp_lpa_download_params {
	const char *smdp_address;
	const char *matching_id;       /* NULL: none (default SM-DP+) */
	const char *confirmation_code; /* NULL: none */
	bool keep_pir;
};
int dp_lpa_download(struct dp_lpa *l, const struct dp_lpa_download_params *p,
		    struct dp_lpa_install_result *res) DP_WUR;

/* ---- notifications (step 6) ---- */

enum dp_lpa_event {
	DP_LPA_EVENT_INSTALL = 0,
	DP_LPA_EVENT_ENABLE = 1,
	DP_LPA_EVENT_DISABLE = 2,
	DP_LPA_EVENT_DELETE = 3,
};

/* NotificationMetadata of one pending notification. */
struct dp_lpa_notification {
	uint64_t seq;
	int event;	   /* enum dp_lpa_event, -1 for another bit */
	char address[256]; /* notificationAddress */
	char iccid[21];	   /* digits, "" when absent */
};

/* ListNotification: up to max entries into out. */
int dp_lpa_notification_list(struct dp_lpa *l, struct dp_lpa_notification *out, size_t max,
			     size_t *n) DP_WUR;
/* RetrieveNotificationsList(seq), ES9+ handleNotification to its notificationAddress,
 * and on success NotificationSent(seq) so that the eUICC removes it. DP_ERR_NOT_FOUND
 * when the eUICC has no such notification. */
int dp_lpa_notification_send(struct dp_lpa *l, uint64_t seq) DP_WUR;
/* Every pending notification, oldest first; *sent counts the successes. The first error
 * is returned after trying them all. */
int dp_lpa_notification_send_all(struct dp_lpa *l, size_t *sent) DP_WUR;

/* ---- profiles (ES10c only; each change leaves a notification) ---- */

struct dp_lpa_profile {
	char iccid[21]; /* digits */
	uint8_t aid[16];
	size_t aid_len;
	bool enabled;
	char sp_name[33];
	char name[65];
	int profile_class; /* 0 test, 1 provisioning, 2 operational */
};

int dp_lpa_profile_list(struct dp_lpa *l, struct dp_lpa_profile *out, size_t max, size_t *n) DP_WUR;
/* iccid as digits (19 or 20). *result: the eUICC's result code (0 ok); DP_ERR_LPA_EUICC
 * when it is not 0. */
int dp_lpa_profile_enable(struct dp_lpa *l, const char *iccid, int *result) DP_WUR;
int dp_lpa_profile_disable(struct dp_lpa *l, const char *iccid, int *result) DP_WUR;
int dp_lpa_profile_delete(struct dp_lpa *l, const char *iccid, int *result) DP_WUR;

/* ---- what the caller can read ---- */

/* The last ES9+ call: function name, HTTP status (0 when none came), execution status. */
struct dp_lpa_call {
	char function[32];
	long http_status;
	struct dp_lpa_es9_status st;
	double ms; /* time taken */
};
const struct dp_lpa_call *dp_lpa_last_call(const struct dp_lpa *l);
/* The session's transactionId as upper-case hex ("" before step 1). */
const char *dp_lpa_transaction_id(const struct dp_lpa *l);
const char *dp_lpa_smdp_address(const struct dp_lpa *l);
/* The last eUICC error code (authenticateErrorCode, downloadErrorCode, cancel error,
 * PIR errorReason, profile result), 0 when none. */
int dp_lpa_euicc_error(const struct dp_lpa *l);
bool dp_lpa_cc_required(const struct dp_lpa *l);
/* Kept bytes (NULL/0 when not yet received): profileMetadata (BF25), the BPP (BF36), the
 * last ProfileInstallationResult (BF37). */
const uint8_t *dp_lpa_profile_metadata(const struct dp_lpa *l, size_t *len);
const uint8_t *dp_lpa_bpp(const struct dp_lpa *l, size_t *len);
const uint8_t *dp_lpa_pir(const struct dp_lpa *l, size_t *len);
/* The request body of the last ES9+ call (what was sent, for tests and debugging). */
const struct dp_buf *dp_lpa_last_request(const struct dp_lpa *l);

/* ICCID helpers: EF.ICCID bytes (nibble-swapped BCD, F-padded) <-> digits. */
int dp_lpa_iccid_to_digits(const uint8_t *bcd, size_t len, char out[21]) DP_WUR;
int dp_lpa_iccid_from_digits(const char *digits, uint8_t out[10]) DP_WUR;

#endif
