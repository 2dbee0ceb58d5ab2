/* The wire status of every ES2+ refusal, derived in one place (SGP.22 5.3 function
 * descriptions and the subject/reason code tables; es2-lifecycle-sgp32.md 1.2, 1.6).
 * Handlers name a situation; they never write codes by hand. */
#ifndef DP_SMDP_ES2_STATUS_H
#define DP_SMDP_ES2_STATUS_H

#include "pki/base/buf.h"
#include "pki/base/error.h"

/* X(id, subjectCode, reasonCode, message). Choices where the public sources leave room:
 * a malformed body or a non-identifying member (releaseFlag, profileType) is 1.3.1/2.1 and
 * a missing one 1.3.1/2.2 (osmo-smdpp uses 1.3.1 "Protocol Format"); a wrong
 * X-Admin-Protocol 1.3.2/3.1; a functionRequesterIdentifier that is not the operator of
 * the client certificate 1.1/1.2; any state that does not allow the function 8.2.1/3.5
 * (the reference gives it for releaseProfile; we use it for every function); an SM-DS
 * address we cannot use 8.9/5.1 (ES12 registration is not implemented). */
#define DP_ES2_STATUS_LIST(X)                                                                      \
	X(DP_ES2_FORMAT, "1.3.1", "2.1", "the request is not well-formed")                         \
	X(DP_ES2_MISSING, "1.3.1", "2.2", "a mandatory element is missing")                        \
	X(DP_ES2_CONDITIONAL_MISSING, "1.3.1", "2.3", "a conditional element is missing")          \
	X(DP_ES2_PROTOCOL_VERSION, "1.3.2", "3.1", "unsupported protocol version")                 \
	X(DP_ES2_REQUESTER_NOT_ALLOWED, "1.1", "1.2",                                              \
	  "functionRequesterIdentifier is not the operator of the client certificate")             \
	X(DP_ES2_EID_INVALID, "8.1.1", "2.1", "the EID is invalid")                                \
	X(DP_ES2_EID_MISSING, "8.1.1", "2.2", "an EID is required for this order")                 \
	X(DP_ES2_EID_DIFFERENT, "8.1.1", "3.10",                                                   \
	  "a different EID is associated with this profile")                                       \
	X(DP_ES2_ICCID_INVALID, "8.2.1", "2.1", "the ICCID is invalid")                            \
	X(DP_ES2_ICCID_MISSING, "8.2.1", "2.2", "the ICCID is missing")                            \
	X(DP_ES2_ICCID_NOT_ALLOWED, "8.2.1", "1.2", "this operator may not use this profile")      \
	X(DP_ES2_ICCID_IN_USE, "8.2.1", "3.3", "the profile is not available (already in use)")    \
	X(DP_ES2_ICCID_UNKNOWN, "8.2.1", "3.9", "unknown ICCID")                                   \
	X(DP_ES2_ICCID_TRANSITION, "8.2.1", "3.5",                                                 \
	  "the profile's current state does not allow this function")                              \
	X(DP_ES2_FINAL_STATE_MISSING, "8.2.1", "2.2", "finalProfileStatusIndicator is missing")    \
	X(DP_ES2_FINAL_STATE_INVALID, "8.2.1", "2.1",                                              \
	  "finalProfileStatusIndicator is not Available or Unavailable")                           \
	X(DP_ES2_TYPE_NOT_ALLOWED, "8.2.5", "1.2", "this operator may not use this profile type")  \
	X(DP_ES2_TYPE_EXHAUSTED, "8.2.5", "3.7", "no profile of this type is available")           \
	X(DP_ES2_TYPE_MISMATCH, "8.2.5", "3.8", "the profile type is not the ICCID's")             \
	X(DP_ES2_TYPE_UNKNOWN, "8.2.5", "3.9", "unknown profile type")                             \
	X(DP_ES2_MATCHING_ID_INVALID, "8.2.6", "2.1", "the matching ID is invalid")                \
	X(DP_ES2_MATCHING_ID_MISSING, "8.2.6", "2.2", "a matching ID is required here")            \
	X(DP_ES2_MATCHING_ID_CONFLICT, "8.2.6", "3.3", "the matching ID is already in use")        \
	X(DP_ES2_MATCHING_ID_DIFFERENT, "8.2.6", "3.10",                                           \
	  "a different matching ID is associated with this profile")                               \
	X(DP_ES2_CC_INVALID, "8.2.7", "2.1", "the confirmation code is invalid")                   \
	X(DP_ES2_SMDS_ADDRESS, "8.9", "5.1", "the SM-DS address is invalid or inaccessible")       \
	X(DP_ES2_EXECUTION_ERROR, "1.2", "4.2", "the function could not be executed")

enum dp_es2_status {
#define DP_X_ES2(id, s, r, m) id,
	DP_ES2_STATUS_LIST(DP_X_ES2)
#undef DP_X_ES2
	    DP_ES2_STATUS_COUNT
};

struct dp_es2_code {
	const char *subject; /* "8.2.1" */
	const char *reason;  /* "3.9" */
	const char *message; /* readable, English */
};

/* The codes of a situation; DP_ERR_INVAL for a value outside the enum. */
int dp_es2_code(enum dp_es2_status st, struct dp_es2_code *out) DP_WUR;
/* Appends the response for a refusal:
 * {"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{...}}}};
 * `detail` (may be NULL) is appended to the message after ": ". */
int dp_es2_failed_json(enum dp_es2_status st, const char *detail, struct dp_buf *out) DP_WUR;

#endif
