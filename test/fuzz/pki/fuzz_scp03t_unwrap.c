/* Fuzz target: the eUICC side of SCP03t (dp_scp03t_unwrap) over a stream of TLVs, with the
 * session keys of test/data/pki/vectors.txt (nist.*), so the seed stream (87, 88, 88, 87
 * ReplaceSessionKeys, then PPK 86 segments) unwraps completely; a 87 carrying a
 * ReplaceSessionKeysRequest switches keys as the eUICC would. Stops at the first error,
 * which must leave the output untouched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pki/asn1/tlv.h"
#include "pki/crypto/scp03t.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct dp_session_keys keys = {
	.mcv = { 0x32, 0x89, 0xa2, 0x37, 0xe0, 0x19, 0x1a, 0xe6, 0x32, 0xe6, 0xbb, 0xcb, 0x10,
		 0xb3, 0x08, 0xa7 },
	.s_enc = { 0x42, 0xa1, 0x4e, 0x33, 0x85, 0xb1, 0x94, 0xc6, 0x20, 0x3d, 0x64, 0x03, 0x3a,
		   0xeb, 0xb0, 0xd7 },
	.s_mac = { 0xe9, 0xa0, 0xfd, 0xaa, 0xdd, 0x35, 0x63, 0x9b, 0xe6, 0xde, 0xfc, 0xe1, 0x43,
		   0x52, 0xb0, 0x54 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_scp03t *ctx = NULL;
	struct dp_buf plain;
	struct dp_cursor c = dp_cursor_make(data, size);

	if (dp_scp03t_new(&keys, &ctx) != DP_OK)
		abort();
	dp_buf_init(&plain, 4096);
	while (!dp_cursor_done(&c)) {
		struct dp_tlv t;
		const uint8_t *start = c.p;
		uint8_t tag;
		int r = dp_tlv_next(&c, &t);
		size_t n = r == DP_OK ? t.raw_len : c.len;
		if (r != DP_OK)
			c.len = 0; /* unreadable: hand the rest over once, as it is */
		dp_buf_reset(&plain);
		if (dp_scp03t_unwrap(ctx, start, n, &tag, &plain) != DP_OK) {
			if (plain.len != 0)
				abort();
			break;
		}
		struct dp_session_keys ppk;
		if (tag == 0x87 && dp_scp03t_parse_replace_keys(plain.data, plain.len, &ppk) == DP_OK &&
		    dp_scp03t_replace_keys(ctx, &ppk) != DP_OK)
			abort();
	}
	dp_buf_deinit(&plain);
	dp_scp03t_free(ctx);
	return 0;
}
