/* The strict TLV reader and writer. */
#include "test/support/support.h"

#include <stdlib.h>
#include <string.h>

#include "pki/asn1/tlv.h"

static void reads_multibyte_tags(void **state)
{
	struct dp_buf b;
	struct dp_tlv t;
	dp_test_hex("BF38 03 A0 01 00", &b);
	assert_int_equal(dp_tlv_expect(b.data, b.len, 0xBF38, &t), 0);
	assert_int_equal(t.cls, DP_TLV_CONTEXT);
	assert_true(t.constructed);
	assert_int_equal(t.number, 56);
	assert_int_equal(t.len, 3);
	assert_int_equal(t.raw_len, 6);
	struct dp_tlv inner;
	assert_int_equal(dp_tlv_path(&t, &inner, 1, 0xA0), 0);
	assert_int_equal(inner.len, 1);
	assert_int_equal(inner.value[0], 0);
	dp_buf_deinit(&b);

	dp_test_hex("5F37 02 AABB", &b);
	assert_int_equal(dp_tlv_read(b.data, b.len, &t), 0);
	assert_int_equal(t.tag, 0x5F37);
	assert_int_equal(t.cls, DP_TLV_APPLICATION);
	assert_false(t.constructed);
	assert_int_equal(t.number, 55);
	dp_buf_deinit(&b);

	dp_test_hex("9F8101 00", &b); /* 3-byte tag, number 129 */
	assert_int_equal(dp_tlv_read(b.data, b.len, &t), 0);
	assert_int_equal(t.tag, 0x9F8101);
	assert_int_equal(t.number, 129);
	dp_buf_deinit(&b);
}

static void long_lengths(void **state)
{
	struct dp_buf b;
	dp_buf_init(&b, 70000);
	uint8_t v[300] = { 0 };
	assert_int_equal(dp_tlv_append(&b, 0x04, v, 300), 0);
	assert_int_equal(b.len, 304);
	assert_int_equal(b.data[1], 0x82);
	assert_int_equal(b.data[2], 0x01);
	assert_int_equal(b.data[3], 0x2C);
	struct dp_tlv t;
	assert_int_equal(dp_tlv_expect(b.data, b.len, 0x04, &t), 0);
	assert_int_equal(t.len, 300);
	dp_buf_reset(&b);
	assert_int_equal(dp_tlv_append(&b, 0x86, v, 128), 0);
	assert_int_equal(b.data[1], 0x81);
	assert_int_equal(b.data[2], 0x80);
	dp_buf_reset(&b);
	assert_int_equal(dp_tlv_append(&b, 0xBF36, v, 127), 0);
	assert_int_equal(b.data[0], 0xBF);
	assert_int_equal(b.data[1], 0x36);
	assert_int_equal(b.data[2], 0x7F);
	dp_buf_deinit(&b);
}

static void expect_err(const char *hex, uint32_t tag, int err)
{
	struct dp_buf b;
	struct dp_tlv t;
	dp_test_hex(hex, &b);
	assert_int_equal(dp_tlv_expect(b.data, b.len, tag, &t), err);
	assert_true(dp_err_detail()[0] != '\0');
	dp_buf_deinit(&b);
}

static void rejects(void **state)
{
	expect_err("", 0, DP_ERR_DER_TRUNCATED);
	expect_err("30", 0, DP_ERR_DER_TRUNCATED);
	expect_err("30 03 01 01", 0, DP_ERR_DER_LENGTH);
	expect_err("30 80 00 00", 0, DP_ERR_DER_INDEFINITE);
	expect_err("30 81 05 0000000000", 0, DP_ERR_DER_NONMINIMAL);
	expect_err("30 82 0005 0000000000", 0, DP_ERR_DER_NONMINIMAL);
	expect_err("30 82 00FF", 0, DP_ERR_DER_NONMINIMAL);
	expect_err("30 89 010000000000000000", 0, DP_ERR_DER_LENGTH);
	expect_err("30 84 01000000 00", 0, DP_ERR_DER_LENGTH); /* 16 MB claimed */
	expect_err("BF 80 38 00", 0, DP_ERR_DER_NONMINIMAL);
	expect_err("BF 1E 00", 0, DP_ERR_DER_NONMINIMAL);
	expect_err("BF 81 81 81 01 00", 0, DP_ERR_DER_TAG);
	expect_err("BF", 0, DP_ERR_DER_TRUNCATED);
	expect_err("30 00", 0x31, DP_ERR_DER_UNEXPECTED_TAG);
	expect_err("30 00 00", 0x30, DP_ERR_DER_TRAILING);
}

static void find_and_check(void **state)
{
	struct dp_buf b;
	struct dp_tlv t;
	dp_test_hex("80 01 01 81 02 AABB 0C 00", &b);
	assert_int_equal(dp_tlv_find(b.data, b.len, 0x81, &t), 0);
	assert_int_equal(t.len, 2);
	assert_int_equal(dp_tlv_find(b.data, b.len, 0x0C, &t), 0);
	assert_int_equal(t.len, 0);
	assert_int_equal(dp_tlv_find(b.data, b.len, 0x82, &t), DP_ERR_NOT_FOUND);
	assert_int_equal(dp_tlv_check(b.data, b.len, 1), 0);
	dp_buf_deinit(&b);

	/* 10,000 levels of nesting: the checker stops at its limit, no recursion blow-up */
	/* built from the inside out */
	uint8_t *p = malloc(60000);
	size_t len = 0;
	for (int i = 0; i < 10000; i++) {
		uint8_t h[9];
		size_t hl = dp_tlv_header(0x30, len, h);
		memmove(p + hl, p, len);
		memcpy(p, h, hl);
		len += hl;
		assert_true(len < 60000);
	}
	assert_int_equal(dp_tlv_check(p, len, 64), DP_ERR_DER_DEPTH);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_multibyte_tags),
		cmocka_unit_test(long_lengths),
		cmocka_unit_test(rejects),
		cmocka_unit_test(find_and_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
