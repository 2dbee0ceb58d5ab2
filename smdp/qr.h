/* QR codes of activation codes (SGP.22 4.1: the "LPA:"-prefixed code in a QR code), for
 * the admin CLI: as text for a terminal and as a PNG file. The symbol comes from
 * libqrencode (error correction level M, the text's own case kept); the PNG is written
 * by a small encoder here (PNG 1.2 / RFC 2083: 1-bit greyscale, zlib stream of stored
 * deflate blocks, RFC 1950/1951), so no image library is needed. */
#ifndef DP_SMDP_QR_H
#define DP_SMDP_QR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"

#define DP_QR_QUIET 4 /* quiet zone in modules (ISO/IEC 18004) */

enum dp_qr_style {
	DP_QR_UTF8,  /* half blocks, two modules per character cell; light modules drawn, for
		      * the usual light-on-dark terminal */
	DP_QR_ASCII, /* "##" per dark module, "  " per light one, for dark-on-light output */
};

/* Appends the symbol for text as terminal lines (with the quiet zone) to out. */
int dp_qr_text(const char *text, enum dp_qr_style style, struct dp_buf *out) DP_WUR;
/* Appends a PNG of the symbol to out: `scale` pixels per module (1..32), quiet zone
 * included, black on white. *width_out (may be NULL) receives the image width (= height). */
int dp_qr_png(const char *text, unsigned scale, struct dp_buf *out, unsigned *width_out) DP_WUR;

/* The PNG encoder alone: a 1-bit greyscale image of width x height pixels, rows of
 * (width + 7) / 8 bytes, most significant bit first, 1 = white. */
int dp_png_gray1(const uint8_t *rows, unsigned width, unsigned height, struct dp_buf *out) DP_WUR;
/* CRC-32 of PNG chunks (ISO 3309 / ITU-T V.42 polynomial, as PNG 1.2 section 5). */
uint32_t dp_png_crc32(const uint8_t *p, size_t n, uint32_t crc);

#endif
