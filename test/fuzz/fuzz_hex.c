/* Fuzz target: strict hex decoding, and encode(decode(x)) == x up to case. */
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#include "pki/base/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_buf out, back;
	dp_buf_init(&out, size / 2 + 1);
	dp_buf_init(&back, size + 1);
	if (dp_hex_decode_buf((const char *)data, size, &out) == DP_OK) {
		if (dp_hex_encode_buf(out.data, out.len, true, &back) != DP_OK || back.len != size ||
		    (size && strncasecmp((const char *)back.data, (const char *)data, size) != 0))
			abort();
	}
	dp_buf_deinit(&out);
	dp_buf_deinit(&back);
	return 0;
}
