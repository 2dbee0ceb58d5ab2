/* Malformed DER given to the ASN.1 wrapper: each case a clear coded error, nothing leaks
 * (the suite runs under ASan/LeakSanitizer and valgrind). */
#include "test/support/support.h"

#include <stdlib.h>
#include <string.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"

/* EUICCInfo1 of the SGP.26 test eUICC (download-path.md 3.2, mode51 trace). */
static const char euicc_info1[] =
	"BF2061 820302020 0 A92C 0414C0BC70BA36929D43B467FF57570530E57AB8FCD8"
	"0414F54172BDF98A95D65CBEB88A38A1C11D800A85C3"
	"AA2C 0414C0BC70BA36929D43B467FF57570530E57AB8FCD8"
	"0414F54172BDF98A95D65CBEB88A38A1C11D800A85C3";

static void decode_fails(const uint8_t *p, size_t n, int err)
{
	asn1_node node = (asn1_node)1;
	int r = dp_asn1_decode("RSPDefinitions.EUICCInfo1", p, n, &node);
	if (r != err)
		fail_msg("expected %s, got %s (%s)", dp_errname(err), dp_errname(r), dp_err_detail());
	assert_null(node);
	assert_true(strlen(dp_err_detail()) > 0);
}

static void valid_baseline(void **state)
{
	struct dp_buf b;
	asn1_node node;
	dp_test_hex(euicc_info1, &b);
	assert_int_equal(dp_asn1_decode("RSPDefinitions.EUICCInfo1", b.data, b.len, &node), 0);
	dp_asn1_free(&node);
	assert_null(node);
	dp_buf_deinit(&b);
}

static void truncated(void **state)
{
	struct dp_buf b;
	dp_test_hex(euicc_info1, &b);
	for (size_t n = 0; n < b.len; n++)
		decode_fails(b.data, n, n == 0 || n == 1 || n == 2 ? DP_ERR_DER_TRUNCATED
								   : DP_ERR_DER_LENGTH);
	dp_buf_deinit(&b);
}

static void inner_length_past_buffer(void **state)
{
	struct dp_buf b;
	dp_test_hex(euicc_info1, &b);
	b.data[9] = 0x7F; /* A9 2C -> A9 7F: runs past its parent */
	decode_fails(b.data, b.len, DP_ERR_DER_LENGTH);
	dp_buf_deinit(&b);
}

static void indefinite_length(void **state)
{
	struct dp_buf b;
	dp_test_hex("BF20 80 820302020 0 0000", &b);
	decode_fails(b.data, b.len, DP_ERR_DER_INDEFINITE);
	dp_buf_deinit(&b);
}

static void wrong_outer_tag(void **state)
{
	struct dp_buf b;
	dp_test_hex(euicc_info1, &b);
	b.data[1] = 0x22; /* BF22 = EUICCInfo2 */
	decode_fails(b.data, b.len, DP_ERR_DER_UNEXPECTED_TAG);
	b.data[0] = 0x30;
	decode_fails(b.data, b.len, DP_ERR_DER_UNEXPECTED_TAG);
	dp_buf_deinit(&b);
}

static void deep_nesting(void **state)
{
	/* 10,000 nested SEQUENCEs inside an EUICCInfo1 wrapper */
	size_t cap = 10000 * 4 + 64, len = 0;
	uint8_t *p = malloc(cap);
	for (int i = 0; i < 10000; i++) {
		uint8_t h[9];
		size_t hl = dp_tlv_header(0x30, len, h);
		memmove(p + hl, p, len);
		memcpy(p, h, hl);
		len += hl;
	}
	uint8_t h[9];
	size_t hl = dp_tlv_header(0xBF20, len, h);
	memmove(p + hl, p, len);
	memcpy(p, h, hl);
	len += hl;
	/* an unknown member (tag 30) at the top level: dropped, then svn is missing */
	asn1_node node = NULL;
	int r = dp_asn1_decode("RSPDefinitions.EUICCInfo1", p, len, &node);
	assert_int_equal(r, DP_ERR_ASN1_DECODE);
	assert_non_null(strstr(dp_err_detail(), "'svn' is missing"));
	assert_null(node);
	/* the nest where a list of SKIs is expected: refused without recursing into it */
	struct dp_buf b;
	dp_buf_init(&b, len + 64);
	uint8_t a9[9];
	size_t a9l = dp_tlv_header(0xA9, len - hl, a9);
	assert_int_equal(dp_tlv_append_header(&b, 0xBF20, 5 + a9l + (len - hl) + 2), 0);
	assert_int_equal(dp_buf_append(&b, "\x82\x03\x02\x02\x00", 5), 0);
	assert_int_equal(dp_tlv_append_header(&b, 0xA9, len - hl), 0);
	assert_int_equal(dp_buf_append(&b, p + hl, len - hl), 0);
	assert_int_equal(dp_buf_append(&b, "\xAA\x00", 2), 0);
	r = dp_asn1_decode("RSPDefinitions.EUICCInfo1", b.data, b.len, &node);
	assert_int_equal(r, DP_ERR_ASN1_DECODE);
	assert_null(node);
	dp_buf_deinit(&b);
	/* the whole nest as one TLV of a type whose member is a SEQUENCE of SEQUENCEs */
	r = dp_asn1_decode("RSPDefinitions.EUICCInfo1", p + hl, len - hl, &node);
	assert_int_equal(r, DP_ERR_DER_UNEXPECTED_TAG);
	free(p);
}

static void huge_length_claim(void **state)
{
	/* a 16 MB length in a 20-byte buffer */
	struct dp_buf b;
	dp_test_hex("BF20 84 01000000 8203020200 A900 AA00 00000000", &b);
	assert_int_equal(b.len, 20);
	decode_fails(b.data, b.len, DP_ERR_DER_LENGTH);
	dp_buf_deinit(&b);
}

static void non_minimal_length(void **state)
{
	struct dp_buf b;
	dp_test_hex("BF20 81 61 820302020 0 A92C 0414C0BC70BA36929D43B467FF57570530E57AB8FCD8"
		    "0414F54172BDF98A95D65CBEB88A38A1C11D800A85C3"
		    "AA2C 0414C0BC70BA36929D43B467FF57570530E57AB8FCD8"
		    "0414F54172BDF98A95D65CBEB88A38A1C11D800A85C3",
		    &b);
	decode_fails(b.data, b.len, DP_ERR_DER_NONMINIMAL);
	dp_buf_deinit(&b);
	/* non-minimal inside a member */
	dp_test_hex("BF20 0A 82 81 03 020200 A9 00 AA 00", &b);
	decode_fails(b.data, b.len, DP_ERR_DER_NONMINIMAL);
	dp_buf_deinit(&b);
}

static void trailing_bytes(void **state)
{
	struct dp_buf b;
	dp_test_hex(euicc_info1, &b);
	assert_int_equal(dp_buf_append_byte(&b, 0), 0);
	decode_fails(b.data, b.len, DP_ERR_DER_TRAILING);
	dp_buf_deinit(&b);
}

static void unknown_type(void **state)
{
	asn1_node node;
	const uint8_t d[] = { 0x30, 0x00 };
	assert_int_equal(dp_asn1_decode("RSPDefinitions.NoSuchType", d, 2, &node),
			 DP_ERR_ASN1_TYPE);
	assert_int_equal(dp_asn1_decode("Nope.EUICCInfo1", d, 2, &node), DP_ERR_ASN1_TYPE);
	assert_int_equal(dp_asn1_decode("EUICCInfo1", d, 2, &node), DP_ERR_ASN1_TYPE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_baseline),    cmocka_unit_test(truncated),
		cmocka_unit_test(inner_length_past_buffer),
		cmocka_unit_test(indefinite_length), cmocka_unit_test(wrong_outer_tag),
		cmocka_unit_test(deep_nesting),      cmocka_unit_test(huge_length_claim),
		cmocka_unit_test(non_minimal_length), cmocka_unit_test(trailing_bytes),
		cmocka_unit_test(unknown_type),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
