/* Fuzz target: a SAIP profile package, decoded one ProfileElement at a time. */
#include <stdint.h>
#include <stdlib.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_cursor c = dp_cursor_make(data, size);
	struct dp_tlv t;
	while (!dp_cursor_done(&c) && dp_tlv_next(&c, &t) == DP_OK) {
		asn1_node node = NULL;
		const char *alt;
		if (dp_asn1_decode_pe(t.raw, t.raw_len, &node, &alt) == DP_OK) {
			struct dp_buf out;
			dp_buf_init(&out, t.raw_len * 2 + 64);
			if (dp_asn1_encode(node, "", &out) != DP_OK)
				abort();
			dp_buf_deinit(&out);
			dp_asn1_free(&node);
		}
	}
	return 0;
}
