/* The wire status of every ES9+ refusal, derived in one place (SGP.22 6.5.2.x and the
 * subject/reason codes table; ../shared/reference/download-path.md 2.5). Handlers name a
 * situation; they never write codes by hand. */
#ifndef DP_SMDP_ES9_STATUS_H
#define DP_SMDP_ES9_STATUS_H

#include "pki/base/buf.h"
#include "pki/base/error.h"

/* X(id, subjectCode, reasonCode, message). Where public sources disagree the choice is
 * noted: order expired is 8.8.5/4.10 (SGP.23 suites; lpac's "4.1" looks truncated), a
 * foreign smdpOid in a cancel is 8.8/3.10 (osmo-smdpp, SGP.23 suites). The generic
 * codes 1.2/4.2 (execution error), 1.6/2.1 (invalid input) and 1.6/2.2 (mandatory element
 * missing) are from a public GSMA code table; their use for ES9+ is UNVERIFIED. */
#define DP_ES9_STATUS_LIST(X) \
	X(DP_ES9_SMDP_ADDRESS, "8.8.1", "3.8", "the SM-DP+ address is not this server's") \
	X(DP_ES9_CI_NOT_SUPPORTED, "8.8.2", "3.1", \
	  "none of the eUICC's CI keys for signing is supported") \
	X(DP_ES9_SVN_NOT_SUPPORTED, "8.8.3", "3.1", "the eUICC's SVN is not supported") \
	X(DP_ES9_CI_NOT_VERIFIABLE, "8.8.4", "3.7", \
	  "no CERT.DPauth chains to a CI key the eUICC can verify") \
	X(DP_ES9_TRANSACTION_ID, "8.10.1", "3.9", "unknown or finished transactionId") \
	X(DP_ES9_EUM_CI_UNKNOWN, "8.11.1", "3.9", "CERT.EUM does not chain to the CI in use") \
	X(DP_ES9_EUM_INVALID, "8.1.2", "6.1", "CERT.EUM is invalid") \
	X(DP_ES9_EUM_EXPIRED, "8.1.2", "6.3", "CERT.EUM has expired") \
	X(DP_ES9_EUICC_INVALID, "8.1.3", "6.1", "CERT.EUICC is invalid") \
	X(DP_ES9_EUICC_EXPIRED, "8.1.3", "6.3", "CERT.EUICC has expired") \
	X(DP_ES9_EUICC_SIGNATURE, "8.1", "6.1", \
	  "the eUICC's signature or an echoed value is wrong") \
	X(DP_ES9_EID_REFUSED, "8.1.1", "3.8", "the EID is not the one of the order") \
	X(DP_ES9_EID_MISSING, "8.1.1", "2.2", "the order needs an EID") \
	X(DP_ES9_EID_OTHER_BOUND, "8.1.1", "3.1", "another EID is bound to this profile") \
	X(DP_ES9_MATCHING_ID_REFUSED, "8.2.6", "3.8", "the matching ID is unknown or refused") \
	X(DP_ES9_MATCHING_ID_CONFLICT, "8.2.6", "3.3", "the matching ID conflicts with an order") \
	X(DP_ES9_CC_MISSING, "8.2.7", "2.2", "the confirmation code is missing") \
	X(DP_ES9_CC_REFUSED, "8.2.7", "3.8", "the confirmation code is wrong") \
	X(DP_ES9_CC_RETRIES, "8.2.7", "6.4", "too many wrong confirmation codes") \
	X(DP_ES9_NOT_RELEASED, "8.2", "1.2", "the profile is not released yet") \
	X(DP_ES9_REBIND_REFUSED, "8.2", "3.7", "the profile cannot be bound anew") \
	X(DP_ES9_NO_ELIGIBLE_PROFILE, "8.2.5", "4.3", "no profile is eligible for this eUICC") \
	X(DP_ES9_INSUFFICIENT_MEMORY, "8.1", "4.8", "the eUICC lacks memory for the profile") \
	X(DP_ES9_ORDER_EXPIRED, "8.8.5", "4.10", "the download order has expired") \
	X(DP_ES9_ORDER_RETRIES, "8.8.5", "6.4", "the download order's attempts are used up") \
	X(DP_ES9_SMDP_OID, "8.8", "3.10", "the SM-DP+ OID is not this server's") \
	X(DP_ES9_EXECUTION_ERROR, "1.2", "4.2", "the function could not be executed") \
	X(DP_ES9_INVALID_INPUT, "1.6", "2.1", "invalid input") \
	X(DP_ES9_MISSING_INPUT, "1.6", "2.2", "a mandatory element is missing")

enum dp_es9_status {
#define DP_X_ES9(id, s, r, m) id,
	DP_ES9_STATUS_LIST(DP_X_ES9)
#undef DP_X_ES9
	DP_ES9_STATUS_COUNT
};

struct dp_es9_code {
	const char *subject; /* "8.8.1" */
	const char *reason;  /* "3.8" */
	const char *message; /* readable, English */
};

/* The codes of a situation; DP_ERR_INVAL for a value outside the enum. */
int dp_es9_code(enum dp_es9_status st, struct dp_es9_code *out) DP_WUR;
/* Appends the JSON binding's response header for a refusal:
 * {"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{...}}}};
 * `detail` (may be NULL) is appended to the message after ": ". */
int dp_es9_failed_json(enum dp_es9_status st, const char *detail, struct dp_buf *out) DP_WUR;

#endif
