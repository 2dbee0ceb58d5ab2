/* Fuzz target: the ES9+ JSON response reader (test/lpa/es9_client.h) with the members of
 * authenticateClient. The input is the body of an HTTP 200 application/json response. */
#include <stdint.h>
#include <stdlib.h>

#include "pki/asn1/tlv.h"
#include "test/lpa/es9_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct dp_lpa_es9_member spec[] = {
    {"transactionId", DP_LPA_ES9_TID, 0, 0},
    {"profileMetadata", DP_LPA_ES9_B64_TLV, 0xBF25, 4096},
    {"smdpSigned2", DP_LPA_ES9_B64_TLV, 0x30, 1024},
    {"smdpSignature2", DP_LPA_ES9_B64_TLV, 0x5F37, 128},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_lpa_http_response resp = {200, "application/json", "gsma/rsp/v2.5.0", data, size};
	struct dp_lpa_es9_response out;
	if (dp_lpa_es9_response_parse(&resp, spec, 4, false, &out) == DP_OK) {
		struct dp_tlv t;
		/* accepted: a tid of 1..16 bytes and exactly one TLV of each tag */
		if (out.v[0].len < 1 || out.v[0].len > 16 ||
		    dp_tlv_expect(out.v[1].data, out.v[1].len, 0xBF25, &t) != DP_OK)
			abort();
	}
	dp_lpa_es9_response_deinit(&out);
	return 0;
}
