/* Fuzz target: DER ECDSA-Sig-Value parsing (dp_ecdsa_der_to_rs). Strict DER is canonical, so
 * whatever parses must encode back to exactly the input; and 64-byte inputs read as r||s
 * must survive r||s -> DER -> r||s. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pki/crypto/ecdsa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t rs[DP_ECDSA_RS_BYTES], back[DP_ECDSA_RS_BYTES], der[DP_ECDSA_DER_MAX];
	size_t len;

	if (dp_ecdsa_der_to_rs(data, size, rs) == DP_OK) {
		if (dp_ecdsa_rs_to_der(rs, der, sizeof(der), &len) != DP_OK || len != size ||
		    memcmp(der, data, size) != 0)
			abort();
	}
	if (size == DP_ECDSA_RS_BYTES && dp_ecdsa_rs_to_der(data, der, sizeof(der), &len) == DP_OK) {
		if (dp_ecdsa_der_to_rs(der, len, back) != DP_OK || memcmp(back, data, size) != 0)
			abort();
	}
	return 0;
}
