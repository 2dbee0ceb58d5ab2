/* Fuzz target: base64 decoding in both whitespace modes; a strict decode must re-encode to
 * the same text (the decoder accepts only canonical base64), and a decode that skips
 * whitespace (symbol by symbol) must agree with a strict decode of the text with its
 * whitespace taken out (whole groups). */
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
	int skip = dp_b64_decode((const char *)data, size, DP_B64_SKIP_SPACE, &out);
	if (skip == DP_OK && out.len > size)
		abort();
	char *bare = malloc(size + 1);
	if (bare == NULL)
		abort();
	size_t n = 0;
	for (size_t i = 0; i < size; i++)
		if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r' && data[i] != '\n')
			bare[n++] = (char)data[i];
	dp_buf_reset(&back);
	int strict = dp_b64_decode(bare, n, DP_B64_STRICT, &back);
	if ((skip == DP_OK) != (strict == DP_OK) ||
	    (skip == DP_OK && (out.len != back.len || (out.len && memcmp(out.data, back.data,
									 out.len) != 0))))
		abort();
	free(bare);
	dp_buf_deinit(&out);
	dp_buf_deinit(&back);
	return 0;
}
