/* QR codes as terminal text and PNG (contract in qr.h; SGP.22 4.1; PNG: RFC 2083, zlib:
 * RFC 1950, deflate stored blocks: RFC 1951 3.2.4). */
#include "smdp/qr.h"

#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#define PNG_RAW_MAX                                                                                \
	(8u << 20) /* filtered image bytes at most (a 2k x 2k 1-bit image is 0.5 MB)               \
		    */

/* The symbol of text; QRcode_free it. */
static int encode(const char *text, QRcode **out)
{
	if (text[0] == '\0')
		return dp_err_set(DP_ERR_INVAL, "QR code of an empty text");
	/* case-sensitive: matching IDs are upper case but OIDs/addresses need not be */
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (q == NULL)
		return dp_err_set(DP_ERR_TOO_LONG, "text does not fit into a QR code");
	*out = q;
	return DP_OK;
}

/* Module (x, y) of the symbol with its quiet zone: true when dark. */
static bool dark(const QRcode *q, int x, int y)
{
	x -= DP_QR_QUIET;
	y -= DP_QR_QUIET;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return false;
	return (q->data[y * q->width + x] & 1) != 0;
}

int dp_qr_text(const char *text, enum dp_qr_style style, struct dp_buf *out)
{
	/* U+2588 full block, U+2580 upper half, U+2584 lower half */
	static const char *const cell[4] = {"\xE2\x96\x88", "\xE2\x96\x80", "\xE2\x96\x84", " "};
	QRcode *q = NULL;
	int r = encode(text, &q);
	if (r)
		return r;
	size_t before = out->len;
	int size = q->width + 2 * DP_QR_QUIET;
	if (style == DP_QR_UTF8) {
		/* two rows per line; index: bit 0 = top dark, bit 1 = bottom dark (light drawn) */
		for (int y = 0; r == DP_OK && y < size; y += 2) {
			for (int x = 0; r == DP_OK && x < size; x++) {
				int i = (dark(q, x, y) ? 1 : 0) | (dark(q, x, y + 1) ? 2 : 0);
				/* 0: both light, 1: top dark -> lower half, 2: upper half, 3: none
				 */
				static const int map[4] = {0, 2, 1, 3};
				r = dp_buf_append_str(out, cell[map[i]]);
			}
			if (r == DP_OK)
				r = dp_buf_append_byte(out, '\n');
		}
	} else {
		for (int y = 0; r == DP_OK && y < size; y++) {
			for (int x = 0; r == DP_OK && x < size; x++)
				r = dp_buf_append_str(out, dark(q, x, y) ? "##" : "  ");
			if (r == DP_OK)
				r = dp_buf_append_byte(out, '\n');
		}
	}
	if (r)
		out->len = before;
	QRcode_free(q);
	return r;
}

uint32_t dp_png_crc32(const uint8_t *p, size_t n, uint32_t crc)
{
	/* bitwise CRC-32 (reflected polynomial 0xEDB88320); images here are small */
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static uint32_t adler32(const uint8_t *p, size_t n)
{
	uint32_t a = 1, b = 0;
	for (size_t i = 0; i < n; i++) {
		a = (a + p[i]) % 65521u;
		b = (b + a) % 65521u;
	}
	return (b << 16) | a;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One chunk: length, type, data, CRC over type and data. */
static int chunk(struct dp_buf *out, const char type[4], const uint8_t *data, size_t n)
{
	uint8_t hdr[8], crc[4];
	if (n > 0x7FFFFFFFu)
		return dp_err_set(DP_ERR_TOO_LONG, "PNG chunk");
	be32(hdr, (uint32_t)n);
	memcpy(hdr + 4, type, 4);
	be32(crc, dp_png_crc32(data, n, dp_png_crc32((const uint8_t *)type, 4, 0)));
	int r = dp_buf_append(out, hdr, sizeof(hdr));
	if (r == DP_OK && n > 0)
		r = dp_buf_append(out, data, n);
	if (r == DP_OK)
		r = dp_buf_append(out, crc, sizeof(crc));
	return r;
}

int dp_png_gray1(const uint8_t *rows, unsigned width, unsigned height, struct dp_buf *out)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	struct dp_buf raw, z;
	size_t stride = ((size_t)width + 7) / 8;
	size_t before = out->len;
	int r;
	if (width == 0 || height == 0 || width > 65535 || height > 65535)
		return dp_err_set(DP_ERR_INVAL, "PNG size %ux%u", width, height);
	if ((stride + 1) * height > PNG_RAW_MAX)
		return dp_err_set(DP_ERR_TOO_LONG, "PNG of %ux%u pixels", width, height);
	dp_buf_init(&raw, PNG_RAW_MAX);
	dp_buf_init(&z, PNG_RAW_MAX + PNG_RAW_MAX / 65535 * 5 + 16);
	/* every row: filter type 0 (None), then the packed pixels */
	r = DP_OK;
	for (unsigned y = 0; r == DP_OK && y < height; y++) {
		r = dp_buf_append_byte(&raw, 0);
		if (r == DP_OK)
			r = dp_buf_append(&raw, rows + (size_t)y * stride, stride);
	}
	/* zlib: CMF 0x78 (deflate, 32K window), FLG 0x01 (check bits, no dictionary) */
	if (r == DP_OK)
		r = dp_buf_append(&z, "\x78\x01", 2);
	for (size_t off = 0; r == DP_OK && off < raw.len;) {
		size_t n = raw.len - off > 65535 ? 65535 : raw.len - off;
		uint8_t h[5] = {off + n == raw.len ? 1 : 0, (uint8_t)n, (uint8_t)(n >> 8),
				(uint8_t)~n, (uint8_t)(~n >> 8)};
		r = dp_buf_append(&z, h, sizeof(h));
		if (r == DP_OK)
			r = dp_buf_append(&z, raw.data + off, n);
		off += n;
	}
	uint8_t ad[4];
	be32(ad, adler32(raw.data, raw.len));
	if (r == DP_OK)
		r = dp_buf_append(&z, ad, sizeof(ad));
	/* IHDR: width, height, bit depth 1, colour type 0 (greyscale), deflate, filter set 0,
	 * no interlace */
	uint8_t ihdr[13];
	be32(ihdr, width);
	be32(ihdr + 4, height);
	ihdr[8] = 1;
	ihdr[9] = 0;
	ihdr[10] = 0;
	ihdr[11] = 0;
	ihdr[12] = 0;
	if (r == DP_OK)
		r = dp_buf_append(out, sig, sizeof(sig));
	if (r == DP_OK)
		r = chunk(out, "IHDR", ihdr, sizeof(ihdr));
	if (r == DP_OK)
		r = chunk(out, "IDAT", z.data, z.len);
	if (r == DP_OK)
		r = chunk(out, "IEND", NULL, 0);
	if (r)
		out->len = before;
	dp_buf_deinit(&raw);
	dp_buf_deinit(&z);
	return r;
}

int dp_qr_png(const char *text, unsigned scale, struct dp_buf *out, unsigned *width_out)
{
	QRcode *q = NULL;
	uint8_t *rows = NULL;
	if (scale < 1 || scale > 32)
		return dp_err_set(DP_ERR_INVAL, "QR scale %u is not in 1..32", scale);
	int r = encode(text, &q);
	if (r)
		return r;
	unsigned modules = (unsigned)q->width + 2 * DP_QR_QUIET, w = modules * scale;
	size_t stride = ((size_t)w + 7) / 8;
	rows = calloc(stride, w);
	if (rows == NULL) {
		r = dp_err_set(DP_ERR_NOMEM, "PNG rows");
		goto out;
	}
	/* 1 = white: set every light pixel */
	for (unsigned y = 0; y < w; y++)
		for (unsigned x = 0; x < w; x++)
			if (!dark(q, (int)(x / scale), (int)(y / scale)))
				rows[(size_t)y * stride + x / 8] |= (uint8_t)(0x80u >> (x % 8));
	r = dp_png_gray1(rows, w, w, out);
	if (r == DP_OK && width_out != NULL)
		*width_out = w;
out:
	free(rows);
	QRcode_free(q);
	return r;
}
