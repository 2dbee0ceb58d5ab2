/* Strict hex and base64: valid inputs, every rejection rule, empty input. */
#include "test/support/support.h"

#include <string.h>

#include "pki/base/codec.h"

static void hex_round_trip(void **state)
{
	const uint8_t in[] = { 0x00, 0x1f, 0xa0, 0xff };
	char out[9];
	assert_int_equal(dp_hex_encode(in, 4, true, out, sizeof(out)), 0);
	assert_string_equal(out, "001FA0FF");
	assert_int_equal(dp_hex_encode(in, 4, false, out, sizeof(out)), 0);
	assert_string_equal(out, "001fa0ff");
	uint8_t back[4];
	size_t n;
	assert_int_equal(dp_hex_decode("001fA0Ff", 8, back, sizeof(back), &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(back, in, 4);
}

static void hex_rejects(void **state)
{
	uint8_t b[8];
	size_t n = 99;
	assert_int_equal(dp_hex_decode("ABC", 3, b, sizeof(b), &n), DP_ERR_HEX_LENGTH);
	assert_int_equal(dp_hex_decode("AG", 2, b, sizeof(b), &n), DP_ERR_HEX_CHAR);
	assert_int_equal(dp_hex_decode("AB CD", 5, b, sizeof(b), &n), DP_ERR_HEX_LENGTH);
	assert_int_equal(dp_hex_decode("AB  CD", 6, b, sizeof(b), &n), DP_ERR_HEX_CHAR);
	assert_non_null(strstr(dp_err_detail(), "offset 2"));
	assert_int_equal(dp_hex_decode("0x12", 4, b, sizeof(b), &n), DP_ERR_HEX_CHAR);
	assert_int_equal(dp_hex_decode("00112233445566778899", 20, b, sizeof(b), &n),
			 DP_ERR_TOO_LONG);
	assert_int_equal(n, 99); /* untouched on error */
	char small[4];
	assert_int_equal(dp_hex_encode(b, 2, true, small, sizeof(small)), DP_ERR_TOO_LONG);
}

static void hex_empty(void **state)
{
	uint8_t b[1];
	size_t n = 99;
	assert_int_equal(dp_hex_decode("", 0, b, sizeof(b), &n), 0);
	assert_int_equal(n, 0);
	struct dp_buf o;
	dp_buf_init(&o, 16);
	assert_int_equal(dp_hex_decode_buf("", 0, &o), 0);
	assert_int_equal(o.len, 0);
	dp_buf_deinit(&o);
}

static void check_b64(const char *text, unsigned flags, const char *expect_hex)
{
	struct dp_buf o, e;
	dp_buf_init(&o, 1024);
	assert_int_equal(dp_b64_decode(text, strlen(text), flags, &o), 0);
	dp_test_hex(expect_hex, &e);
	assert_bytes_equal(o.data, o.len, e.data, e.len);
	dp_buf_deinit(&o);
	dp_buf_deinit(&e);
}

static void check_b64_fails(const char *text, unsigned flags, int err)
{
	struct dp_buf o;
	dp_buf_init(&o, 1024);
	assert_int_equal(dp_b64_decode(text, strlen(text), flags, &o), err);
	assert_int_equal(o.len, 0); /* nothing appended on error */
	dp_buf_deinit(&o);
}

static void b64_vectors(void **state)
{
	/* RFC 4648 section 10 */
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
					   "Zm9vYmFy" };
	for (size_t i = 0; i < 7; i++) {
		struct dp_buf o;
		dp_buf_init(&o, 64);
		assert_int_equal(dp_b64_encode((const uint8_t *)plain[i], strlen(plain[i]), &o), 0);
		assert_int_equal(o.len, strlen(enc[i]));
		assert_memory_equal(o.data, enc[i], o.len);
		dp_buf_reset(&o);
		assert_int_equal(dp_b64_decode(enc[i], strlen(enc[i]), DP_B64_STRICT, &o), 0);
		assert_int_equal(o.len, strlen(plain[i]));
		if (o.len)
			assert_memory_equal(o.data, plain[i], o.len);
		dp_buf_deinit(&o);
	}
	/* the serverSignature1 TLV prefix 5F 37 40 of a real trace */
	check_b64("XzdA", DP_B64_STRICT, "5F3740");
	check_b64("+/+/", DP_B64_STRICT, "FBFFBF");
}

static void b64_rejects(void **state)
{
	check_b64_fails("Zg=", DP_B64_STRICT, DP_ERR_B64_LENGTH);
	check_b64_fails("Zg", DP_B64_STRICT, DP_ERR_B64_LENGTH);
	check_b64_fails("Z===", DP_B64_STRICT, DP_ERR_B64_PADDING);
	check_b64_fails("====", DP_B64_STRICT, DP_ERR_B64_PADDING);
	check_b64_fails("Zg==Zg==", DP_B64_STRICT, DP_ERR_B64_PADDING);
	check_b64_fails("Z=g=", DP_B64_STRICT, DP_ERR_B64_PADDING);
	check_b64_fails("Zh==", DP_B64_STRICT, DP_ERR_B64_PADDING); /* non-zero dropped bits */
	check_b64_fails("Zm9=", DP_B64_STRICT, DP_ERR_B64_PADDING);
	check_b64_fails("Zm9v!A==", DP_B64_STRICT, DP_ERR_B64_CHAR);
	check_b64_fails("Zm9v-_==", DP_B64_STRICT, DP_ERR_B64_CHAR); /* base64url alphabet */
	check_b64_fails("Zm 9v", DP_B64_STRICT, DP_ERR_B64_CHAR);
	check_b64_fails("Zm9v\n", DP_B64_STRICT, DP_ERR_B64_CHAR);
	char with_nul[] = { 'Z', 'm', '9', 'v', '\0', 'A', '=', '=' };
	struct dp_buf o;
	dp_buf_init(&o, 64);
	assert_int_equal(dp_b64_decode(with_nul, sizeof(with_nul), DP_B64_SKIP_SPACE, &o),
			 DP_ERR_B64_CHAR);
	dp_buf_deinit(&o);
}

static void b64_whitespace(void **state)
{
	check_b64("Zm9v\r\nYmFy", DP_B64_SKIP_SPACE, "666F6F626172");
	check_b64(" Zm 9v\tYg ==\n", DP_B64_SKIP_SPACE, "666F6F62");
	check_b64_fails("Zm9v Yg=", DP_B64_SKIP_SPACE, DP_ERR_B64_LENGTH);
	check_b64_fails("Zg= =x", DP_B64_SKIP_SPACE, DP_ERR_B64_PADDING);
	check_b64("   ", DP_B64_SKIP_SPACE, "");
}

/* Both decode paths (whole groups when there is no whitespace; symbol by symbol with it)
 * against the encoder, for every length up to 3 x 100 and each padding. */
static void b64_round_trip(void **state)
{
	(void)state;
	uint8_t plain[300];
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 167 + 13);
	struct dp_buf enc, spaced, dec;
	dp_buf_init(&enc, 1024);
	dp_buf_init(&spaced, 2048);
	dp_buf_init(&dec, 1024);
	for (size_t n = 0; n <= sizeof(plain); n++) {
		dp_buf_reset(&enc);
		dp_buf_reset(&spaced);
		dp_buf_reset(&dec);
		assert_int_equal(dp_b64_encode(plain, n, &enc), 0);
		assert_int_equal(enc.len, (n + 2) / 3 * 4);
		assert_int_equal(dp_b64_decode((const char *)enc.data, enc.len, DP_B64_STRICT, &dec),
				 0);
		assert_int_equal(dec.len, n);
		assert_memory_equal(dec.data, plain, n);
		for (size_t i = 0; i < enc.len; i++) {
			assert_int_equal(dp_buf_append(&spaced, &enc.data[i], 1), 0);
			if (i % 7 == 3)
				assert_int_equal(dp_buf_append(&spaced, "\r\n", 2), 0);
		}
		dp_buf_reset(&dec);
		assert_int_equal(dp_b64_decode((const char *)spaced.data, spaced.len,
					       DP_B64_SKIP_SPACE, &dec),
				 0);
		assert_int_equal(dec.len, n);
		assert_memory_equal(dec.data, plain, n);
	}
	/* every byte value outside the alphabet, at the start, the middle and the end */
	for (unsigned c = 0; c < 256; c++) {
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '/' || c == '=')
			continue;
		for (size_t at = 0; at < 8; at += 3) {
			char text[9] = "Zm9vYmFy";
			text[at] = (char)c;
			dp_buf_reset(&dec);
			assert_int_equal(dp_b64_decode(text, 8, DP_B64_STRICT, &dec), DP_ERR_B64_CHAR);
			assert_int_equal(dec.len, 0);
		}
	}
	dp_buf_deinit(&enc);
	dp_buf_deinit(&spaced);
	dp_buf_deinit(&dec);
}

static void b64_limit(void **state)
{
	struct dp_buf o;
	dp_buf_init(&o, 2);
	assert_int_equal(dp_b64_decode("Zm9v", 4, DP_B64_STRICT, &o), DP_ERR_TOO_LONG);
	assert_int_equal(o.len, 0);
	dp_buf_deinit(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hex_round_trip), cmocka_unit_test(hex_rejects),
		cmocka_unit_test(hex_empty),      cmocka_unit_test(b64_vectors),
		cmocka_unit_test(b64_rejects),    cmocka_unit_test(b64_whitespace),
		cmocka_unit_test(b64_limit),      cmocka_unit_test(b64_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
