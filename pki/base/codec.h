/* Strict hex and base64.
 * hex: digits 0-9 a-f A-F only, an even count; no separators, no whitespace.
 * base64: RFC 4648 standard alphabet with '=' padding to a multiple of 4 characters;
 * padding only at the end; the unused low bits of the last symbol must be zero.
 * Whitespace (CR, LF, space, tab) is an error unless DP_B64_SKIP_SPACE is given, in which
 * case it is ignored wherever it appears (LPAs are known to wrap base64).
 * An empty input decodes to zero bytes; callers check the lengths they need. */
#ifndef DP_BASE_CODEC_H
#define DP_BASE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"

/* Writes 2n digits and a NUL; out_cap must be at least 2n+1. */
int dp_hex_encode(const uint8_t *in, size_t n, bool upper, char *out, size_t out_cap) DP_WUR;
/* Appends 2n digits (no NUL counted) to out. */
int dp_hex_encode_buf(const uint8_t *in, size_t n, bool upper, struct dp_buf *out) DP_WUR;
/* Decodes n characters into out[0..*out_len); DP_ERR_TOO_LONG when out_cap is too small. */
int dp_hex_decode(const char *in, size_t n, uint8_t *out, size_t out_cap,
		  size_t *out_len) DP_WUR;
/* Decodes n characters, appending to out. */
int dp_hex_decode_buf(const char *in, size_t n, struct dp_buf *out) DP_WUR;

enum { DP_B64_STRICT = 0, DP_B64_SKIP_SPACE = 1 };

/* Appends the base64 text of in (no line breaks, no NUL counted) to out. */
int dp_b64_encode(const uint8_t *in, size_t n, struct dp_buf *out) DP_WUR;
/* Decodes n characters of base64 text, appending the bytes to out. */
int dp_b64_decode(const char *in, size_t n, unsigned flags, struct dp_buf *out) DP_WUR;

#endif
