/* Fuzz target: the ES2+ JSON request reader with every member kind (the union of the
 * confirmOrder and cancelOrder members); what it accepts must hold its promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smdp/es2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct dp_es2_member spec[] = {
    {"iccid", DP_ES2_KIND_ICCID, true, 0},
    {"eid", DP_ES2_KIND_EID, false, 0},
    {"matchingId", DP_ES2_KIND_MATCHING_ID, false, 0},
    {"confirmationCode", DP_ES2_KIND_CC, false, 64},
    {"smdsAddress", DP_ES2_KIND_ADDRESS, false, 0},
    {"releaseFlag", DP_ES2_KIND_BOOL, false, 0},
    {"profileType", DP_ES2_KIND_STRING, false, 64},
    {"finalProfileStatusIndicator", DP_ES2_KIND_FINAL_STATE, false, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_http_request req = {.method = "POST",
				      .path = "/",
				      .content_type = "application/json",
				      .admin_protocol = "gsma/rsp/v2.5.0",
				      .body = data,
				      .body_len = size};
	struct dp_es2_request r;
	enum dp_es2_status st;
	if (dp_es2_request_parse(&req, spec, 8, &r, &st) == DP_OK) {
		/* an accepted ICCID is 19 or 20 digits, an EID 32, the header filled */
		size_t n = strlen(r.v[0].text);
		if (!r.v[0].present || n < 19 || n > 20 || strspn(r.v[0].text, "0123456789") != n)
			abort();
		if (r.v[1].present && strlen(r.v[1].text) != 32)
			abort();
		if (r.requester[0] == '\0' || r.call_id[0] == '\0')
			abort();
	} else if (st < 0 || st >= DP_ES2_STATUS_COUNT) {
		abort();
	}
	dp_es2_request_wipe(&r);
	return 0;
}
