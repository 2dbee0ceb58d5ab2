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

/* The decode table: 0-63 a symbol's value, B64_PAD '=', B64_SPACE the whitespace
 * DP_B64_SKIP_SPACE allows, B64_BAD anything else. Built by the preprocessor, so it is
 * read-only data and needs no set-up. */
enum { B64_PAD = 64, B64_SPACE = 65, B64_BAD = 255 };
#define B64V(c)                                                                            \
	((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                            \
	 : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                       \
	 : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                       \
	 : (c) == '+'               ? 62                                                   \
	 : (c) == '/'               ? 63                                                   \
	 : (c) == '='               ? B64_PAD                                              \
	 : (c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n' ? B64_SPACE             \
								   : B64_BAD)
/* cast: clang checks the arms not taken against uint8_t too */
#define B64V1(c) (uint8_t)(B64V(c))
#define B64V4(c) B64V1(c), B64V1((c) + 1), B64V1((c) + 2), B64V1((c) + 3)
#define B64V16(c) B64V4(c), B64V4((c) + 4), B64V4((c) + 8), B64V4((c) + 12)
#define B64V64(c) B64V16(c), B64V16((c) + 16), B64V16((c) + 32), B64V16((c) + 48)
static const uint8_t b64_dec[256] = { B64V64(0), B64V64(64), B64V64(128), B64V64(192) };
#undef B64V64
#undef B64V16
#undef B64V4
#undef B64V1
#undef B64V

int dp_b64_decode(const char *in, size_t n, unsigned flags, struct dp_buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	/* First pass: validate and count significant characters, so that nothing is
	 * appended to out on error. */
	size_t sig = 0, pad = 0;
	size_t last_sym = 0; /* offset of the last alphabet character */
	bool spaces = false;
	size_t i = 0;
	while (i < n && b64_dec[s[i]] < 64) /* the run of symbols before any '=' or space */
		i++;
	if (i > 0) {
		last_sym = i - 1;
		sig = i;
	}
	for (; i < n; i++) {
		uint8_t v = b64_dec[s[i]];
		if (v < 64) {
			if (pad > 0)
				return dp_err_set(DP_ERR_B64_PADDING,
						  "data after '=' at offset %zu", i);
			last_sym = i;
			sig++;
		} else if (v == B64_PAD) {
			pad++;
			sig++;
		} else if (v == B64_SPACE && (flags & DP_B64_SKIP_SPACE)) {
			spaces = true;
		} else {
			return dp_err_set(DP_ERR_B64_CHAR, "%s 0x%02X at offset %zu",
					  v == B64_SPACE ? "whitespace" : "character", s[i], i);
		}
	}
	if (sig % 4 != 0)
		return dp_err_set(DP_ERR_B64_LENGTH, "%zu base64 characters", sig);
	if (pad > 2)
		return dp_err_set(DP_ERR_B64_PADDING, "%zu '=' characters", pad);
	if (sig == 0)
		return DP_OK;
	/* Canonical form: the bits dropped by the padding must be zero. */
	unsigned lv = b64_dec[s[last_sym]];
	if ((pad == 1 && (lv & 3) != 0) || (pad == 2 && (lv & 15) != 0))
		return dp_err_set(DP_ERR_B64_PADDING, "non-zero bits before the padding");

	size_t olen = sig / 4 * 3 - pad;
	int r = dp_buf_reserve(out, olen);
	if (r)
		return r;
	uint8_t *o = out->data + out->len;
	size_t j = 0;
	if (!spaces) {
		/* the common case, checked above: whole groups of four symbols, then the
		 * last group with its padding */
		size_t full = pad > 0 ? sig - 4 : sig;
		for (size_t k = 0; k < full; k += 4) {
			uint32_t v = (uint32_t)b64_dec[s[k]] << 18 |
				     (uint32_t)b64_dec[s[k + 1]] << 12 |
				     (uint32_t)b64_dec[s[k + 2]] << 6 | b64_dec[s[k + 3]];
			o[j++] = (uint8_t)(v >> 16);
			o[j++] = (uint8_t)(v >> 8);
			o[j++] = (uint8_t)v;
		}
		if (pad > 0) {
			uint32_t v = (uint32_t)b64_dec[s[full]] << 18 |
				     (uint32_t)b64_dec[s[full + 1]] << 12;
			o[j++] = (uint8_t)(v >> 16);
			if (pad == 1)
				o[j++] = (uint8_t)((v | (uint32_t)b64_dec[s[full + 2]] << 6) >> 8);
		}
		out->len += j;
		return DP_OK;
	}
	uint32_t acc = 0;
	int nacc = 0;
	for (size_t k = 0; k < n; k++) {
		uint8_t v = b64_dec[s[k]];
		if (v >= 64)
			continue; /* whitespace (allowed) or padding */
		acc = acc << 6 | v;
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
