/* Strict hex and base64 codecs (rules in codec.h). */
#include "pki/base/codec.h"

#include <string.h>

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int dp_hex_encode(const uint8_t *in, size_t n, bool upper, char *out, size_t out_cap)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	if (n > (SIZE_MAX - 1) / 2 || out_cap < 2 * n + 1)
		return dp_err_set(DP_ERR_TOO_LONG, "hex output needs %zu bytes", 2 * n + 1);
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
	return DP_OK;
}

int dp_hex_encode_buf(const uint8_t *in, size_t n, bool upper, struct dp_buf *out)
{
	if (n > (SIZE_MAX - 1) / 2)
		return dp_err_set(DP_ERR_TOO_LONG, "hex input too long");
	int r = dp_buf_reserve(out, 2 * n);
	if (r)
		return r;
	r = dp_hex_encode(in, n, upper, (char *)out->data + out->len, out->cap - out->len);
	if (r)
		return r;
	out->len += 2 * n;
	return DP_OK;
}

static int hex_check(const char *in, size_t n)
{
	if (n % 2 != 0)
		return dp_err_set(DP_ERR_HEX_LENGTH, "%zu hex digits", n);
	for (size_t i = 0; i < n; i++) {
		if (hex_value(in[i]) < 0)
			return dp_err_set(DP_ERR_HEX_CHAR, "character 0x%02X at offset %zu",
					  (unsigned char)in[i], i);
	}
	return DP_OK;
}

int dp_hex_decode(const char *in, size_t n, uint8_t *out, size_t out_cap, size_t *out_len)
{
	int r = hex_check(in, n);
	if (r)
		return r;
	if (n / 2 > out_cap)
		return dp_err_set(DP_ERR_TOO_LONG, "%zu bytes of hex for %zu bytes of room", n / 2,
				  out_cap);
	for (size_t i = 0; i < n / 2; i++)
		out[i] = (uint8_t)(hex_value(in[2 * i]) << 4 | hex_value(in[2 * i + 1]));
	*out_len = n / 2;
	return DP_OK;
}

int dp_hex_decode_buf(const char *in, size_t n, struct dp_buf *out)
{
	int r = hex_check(in, n);
	if (r)
		return r;
	r = dp_buf_reserve(out, n / 2);
	if (r)
		return r;
	size_t got;
	r = dp_hex_decode(in, n, out->data + out->len, out->cap - out->len, &got);
	if (r)
		return r;
	out->len += got;
	return DP_OK;
}

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int dp_b64_encode(const uint8_t *in, size_t n, struct dp_buf *out)
{
	if (n > (SIZE_MAX / 4) * 3 - 3)
		return dp_err_set(DP_ERR_TOO_LONG, "base64 input too long");
	size_t olen = (n + 2) / 3 * 4;
	int r = dp_buf_reserve(out, olen);
	if (r)
		return r;
	char *o = (char *)out->data + out->len;
	size_t i = 0, j = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		o[j++] = b64_alphabet[v >> 18];
		o[j++] = b64_alphabet[(v >> 12) & 63];
		o[j++] = b64_alphabet[(v >> 6) & 63];
		o[j++] = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		o[j++] = b64_alphabet[v >> 18];
		o[j++] = b64_alphabet[(v >> 12) & 63];
		o[j++] = '=';
		o[j++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		o[j++] = b64_alphabet[v >> 18];
		o[j++] = b64_alphabet[(v >> 12) & 63];
		o[j++] = b64_alphabet[(v >> 6) & 63];
		o[j++] = '=';
	}
	out->len += j;
	return DP_OK;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int dp_b64_decode(const char *in, size_t n, unsigned flags, struct dp_buf *out)
{
	/* First pass: validate and count significant characters, so that nothing is
	 * appended to out on error. */
	size_t sig = 0, pad = 0;
	size_t last_sym = 0; /* offset of the last alphabet character */
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (is_space(c)) {
			if (!(flags & DP_B64_SKIP_SPACE))
				return dp_err_set(DP_ERR_B64_CHAR,
						  "whitespace 0x%02X at offset %zu",
						  (unsigned char)c, i);
			continue;
		}
		if (c == '=') {
			pad++;
			sig++;
			continue;
		}
		if (b64_value(c) < 0)
			return dp_err_set(DP_ERR_B64_CHAR, "character 0x%02X at offset %zu",
					  (unsigned char)c, i);
		if (pad > 0)
			return dp_err_set(DP_ERR_B64_PADDING, "data after '=' at offset %zu", i);
		last_sym = i;
		sig++;
	}
	if (sig % 4 != 0)
		return dp_err_set(DP_ERR_B64_LENGTH, "%zu base64 characters", sig);
	if (pad > 2)
		return dp_err_set(DP_ERR_B64_PADDING, "%zu '=' characters", pad);
	if (sig == 0)
		return DP_OK;
	/* Canonical form: the bits dropped by the padding must be zero. */
	int lv = b64_value(in[last_sym]);
	if ((pad == 1 && (lv & 3) != 0) || (pad == 2 && (lv & 15) != 0))
		return dp_err_set(DP_ERR_B64_PADDING, "non-zero bits before the padding");

	size_t olen = sig / 4 * 3 - pad;
	int r = dp_buf_reserve(out, olen);
	if (r)
		return r;
	uint8_t *o = out->data + out->len;
	uint32_t acc = 0;
	int nacc = 0;
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value(in[i]);
		if (v < 0)
			continue; /* whitespace (allowed) or padding */
		acc = acc << 6 | (uint32_t)v;
		if (++nacc == 4) {
			o[j++] = (uint8_t)(acc >> 16);
			o[j++] = (uint8_t)(acc >> 8);
			o[j++] = (uint8_t)acc;
			acc = 0;
			nacc = 0;
		}
	}
	if (nacc == 3) { /* one '=' */
		o[j++] = (uint8_t)(acc >> 10);
		o[j++] = (uint8_t)(acc >> 2);
	} else if (nacc == 2) { /* two '=' */
		o[j++] = (uint8_t)(acc >> 4);
	}
	out->len += j;
	return DP_OK;
}
