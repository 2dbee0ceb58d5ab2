/* Reading an ES9+ JSON-binding request (SGP.22 6.5): content type, X-Admin-Protocol, the
 * JSON object, and each member as the function's table says: base64 of a complete DER
 * TLV (whitespace tolerated, as LPAs wrap base64), an upper- or lower-case hex
 * transactionId of 1..16 octets, or a string. Unknown members are ignored (eIMs send a
 * "header" object). Every refusal names the member and gives an ES9+ status. */
#ifndef DP_SMDP_ES9_REQUEST_H
#define DP_SMDP_ES9_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"
#include "smdp/es9_status.h"
#include "smdp/http.h"

enum dp_es9_kind {
	DP_ES9_KIND_B64_TLV, /* base64 of one complete DER TLV (checked with the TLV reader) */
	DP_ES9_KIND_B64_RAW, /* base64 of raw bytes (euiccChallenge) */
	DP_ES9_KIND_TID,
	DP_ES9_KIND_STRING,
};

struct dp_es9_member {
	const char *name;
	enum dp_es9_kind kind;
	bool required;
	size_t max; /* decoded bytes (string length for DP_ES9_KIND_STRING) */
};

#define DP_ES9_MAX_MEMBERS 8

struct dp_es9_request {
	size_t n;
	struct {
		bool present;
		struct dp_buf bytes; /* decoded value; NUL-terminated text for DP_ES9_KIND_STRING */
	} v[DP_ES9_MAX_MEMBERS];
	char requester[128]; /* header.functionRequesterIdentifier, "" when absent */
};

/* Parses req against spec[0..n). On a refusal returns DP_ERR_INVAL with *status set and
 * the detail (dp_err_detail) naming the member; out is always safe to deinit. */
int dp_es9_request_parse(const struct dp_http_request *req, const struct dp_es9_member *spec,
			 size_t n, struct dp_es9_request *out,
			 enum dp_es9_status *status) DP_WUR;
void dp_es9_request_deinit(struct dp_es9_request *r);

#endif
