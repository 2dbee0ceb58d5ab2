/* RSPDefinitions: byte-exact round trips of real messages, tolerant decoding. */
#include "test/support/support.h"

#include <string.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"

/* Decodes hex as type (tolerantly), re-encodes, and requires identical bytes. */
static void round_trip_hex(const char *type, const char *hex)
{
	struct dp_buf in, out;
	asn1_node node;
	dp_test_hex(hex, &in);
	int r = dp_asn1_decode_exact(type, in.data, in.len, &node);
	if (r)
		fail_msg("%s: %s", type, dp_err_detail());
	dp_buf_init(&out, in.len + 16);
	r = dp_asn1_encode(node, "", &out);
	if (r)
		fail_msg("%s encode: %s", type, dp_err_detail());
	assert_bytes_equal(out.data, out.len, in.data, in.len);
	dp_asn1_free(&node);
	dp_buf_deinit(&in);
	dp_buf_deinit(&out);
}

static void euicc_info1(void **state)
{
	round_trip_hex("RSPDefinitions.EUICCInfo1",
		       "BF2061 82030202 00 A92C 0414C0BC70BA36929D43B467FF57570530E57AB8FCD8"
		       "0414F54172BDF98A95D65CBEB88A38A1C11D800A85C3"
		       "AA2C 0414C0BC70BA36929D43B467FF57570530E57AB8FCD8"
		       "0414F54172BDF98A95D65CBEB88A38A1C11D800A85C3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(euicc_info1),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
