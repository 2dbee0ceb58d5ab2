/* Fuzz target: the ES9+ JSON request reader with the members of getBoundProfilePackage. */
#include <stdint.h>
#include <stdlib.h>

#include "smdp/es9_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct dp_es9_member spec[] = {
	{ "transactionId", DP_ES9_KIND_TID, true, 16 },
	{ "prepareDownloadResponse", DP_ES9_KIND_B64_TLV, true, 4096 },
	{ "smdpAddress", DP_ES9_KIND_STRING, false, 255 },
	{ "euiccChallenge", DP_ES9_KIND_B64_RAW, false, 16 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_http_request req = { "POST", "/", "application/json", "gsma/rsp/v2.2.0", data,
				       size, NULL, 0 };
	struct dp_es9_request r;
	enum dp_es9_status st;
	if (dp_es9_request_parse(&req, spec, 4, &r, &st) == DP_OK) {
		if (!r.v[0].present || r.v[0].bytes.len < 1 || r.v[0].bytes.len > 16)
			abort();
	}
	dp_es9_request_deinit(&r);
	return 0;
}
