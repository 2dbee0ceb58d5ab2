/* Fuzz target: base64 decoding in both whitespace modes; a strict decode must re-encode to
 * the same text (the decoder accepts only canonical base64). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pki/base/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_buf out, back;
	dp_buf_init(&out, size);
	dp_buf_init(&back, size + 4);
	if (dp_b64_decode((const char *)data, size, DP_B64_STRICT, &out) == DP_OK) {
		if (dp_b64_encode(out.data, out.len, &back) != DP_OK || back.len != size ||
		    (size && memcmp(back.data, data, size) != 0))
			abort();
	}
	dp_buf_reset(&out);
	if (dp_b64_decode((const char *)data, size, DP_B64_SKIP_SPACE, &out) == DP_OK &&
	    out.len > size)
		abort();
	dp_buf_deinit(&out);
	dp_buf_deinit(&back);
	return 0;
}
