/* Fuzz target: the strict TLV reader, walked to a bounded depth. */
#include <stdint.h>
#include <stdlib.h>

#include "pki/asn1/tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_tlv t;
	int whole = dp_tlv_check(data, size, 32);
	struct dp_cursor c = dp_cursor_make(data, size);
	int r = DP_OK;
	while (r == DP_OK && !dp_cursor_done(&c)) {
		r = dp_tlv_next(&c, &t);
		if (r == DP_OK && (t.raw_len > size || t.value + t.len > data + size))
			abort();
	}
	/* the checker and the reader agree on the top level */
	if (whole == DP_OK && r != DP_OK)
		abort();
	return 0;
}
