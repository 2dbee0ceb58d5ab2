/* The admin CLI's libraries: activation codes (good and bad), matching IDs, QR text and
 * PNG (decoded back here), profile import from TS.48 DER and profilegen YAML, with
 * malformed files, duplicates and folders. */
#define _GNU_SOURCE /* memmem */
#include "test/support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smdp/activation.h"
#include "smdp/db.h"
#include "smdp/import.h"
#include "smdp/qr.h"

/* ---- activation codes ---- */

static void ac_good(void **state)
{
	(void)state;
	struct dp_activation_code ac;
	assert_int_equal(dp_activation_code_parse("LPA:1$rsp.example.com$K3T9Q-0ZP2M", &ac), 0);
	assert_string_equal(ac.address, "rsp.example.com");
	assert_string_equal(ac.matching_id, "K3T9Q-0ZP2M");
	assert_string_equal(ac.oid, "");
	assert_false(ac.cc_required);
	/* without the QR prefix; the SGP.22 example with an empty OID and the flag */
	assert_int_equal(
	    dp_activation_code_parse("1$SMDP.EXAMPLE.COM$04386-AGYFT-A74Y8-3F815$$1", &ac), 0);
	assert_string_equal(ac.address, "SMDP.EXAMPLE.COM");
	assert_true(ac.cc_required);
	assert_string_equal(ac.oid, "");
	assert_int_equal(dp_activation_code_parse("LPA:1$smdp.io:8443$abc$1.3.6.1.4.1.31746", &ac),
			 0);
	assert_string_equal(ac.address, "smdp.io:8443");
	assert_string_equal(ac.oid, "1.3.6.1.4.1.31746");
	assert_false(ac.cc_required);
	assert_int_equal(dp_activation_code_parse("LPA:1$127.0.0.1:1$X$2.999$1", &ac), 0);
	assert_true(ac.cc_required);
	assert_string_equal(ac.oid, "2.999");
	assert_int_equal(dp_activation_code_parse("LPA:1$[::1]:8443$TS48V1-B-UNIQUE", &ac), 0);
	assert_string_equal(ac.address, "[::1]:8443");
	assert_int_equal(dp_activation_code_parse("1$[2001:db8::1]$M", &ac), 0);
}

static void ac_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "LPA:",
	    "LPA:2$smdp.example.com$X", /* format qualifier */
	    "LPA:$smdp.example.com$X",
	    "LPA:11$smdp.example.com$X",
	    "LPA:1$smdp.example.com",	 /* no matching ID */
	    "LPA:1$smdp.example.com$",	 /* empty matching ID */
	    "LPA:1$$X",			 /* empty address */
	    "LPA:1$smdp..example.com$X", /* empty label */
	    "LPA:1$-smdp.example.com$X", /* label starting with '-' */
	    "LPA:1$smdp-.example.com$X",
	    "LPA:1$smdp_example.com$X",	  /* '_' */
	    "LPA:1$smdp.example.com:0$X", /* port */
	    "LPA:1$smdp.example.com:65536$X",
	    "LPA:1$smdp.example.com:08443$X",
	    "LPA:1$smdp.example.com:$X",
	    "LPA:1$[::1$X", /* IPv6 */
	    "LPA:1$[zz::1]$X",
	    "LPA:1$[::1]8443$X",
	    "LPA:1$smdp.example.com$A B", /* space in the matching ID */
	    "LPA:1$smdp.example.com$A\tB",
	    "LPA:1$smdp.example.com$A\xC3\xA9", /* not ASCII */
	    "LPA:1$smdp.example.com$X$",	/* empty OID with no flag */
	    "LPA:1$smdp.example.com$X$3.1",	/* OID first arc */
	    "LPA:1$smdp.example.com$X$1",	/* one arc */
	    "LPA:1$smdp.example.com$X$1.03",
	    "LPA:1$smdp.example.com$X$1..3",
	    "LPA:1$smdp.example.com$X$1.3.",
	    "LPA:1$smdp.example.com$X$12.3",
	    "LPA:1$smdp.example.com$X$$0", /* flag must be 1 */
	    "LPA:1$smdp.example.com$X$$",
	    "LPA:1$smdp.example.com$X$$11",
	    "LPA:1$smdp.example.com$X$$1$", /* a sixth field */
	    "LPA:1$smdp.example.com$X$$1$1",
	    "lpa:1$smdp.example.com$X", /* the prefix is upper case */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dp_activation_code ac;
		int r = dp_activation_code_parse(bad[i], &ac);
		if (r != DP_ERR_ACTIVATION_CODE)
			fail_msg("accepted or wrong error %d: '%s'", r, bad[i]);
		assert_true(dp_err_detail()[0] != '\0');
	}
	/* too long: 256 characters after the prefix */
	char longer[300];
	memset(longer, 'A', sizeof(longer));
	memcpy(longer, "1$a.b$", 6);
	longer[256] = '\0';
	struct dp_activation_code ac;
	assert_int_equal(dp_activation_code_parse(longer, &ac), DP_ERR_ACTIVATION_CODE);
	longer[255] = '\0';
	assert_int_equal(dp_activation_code_parse(longer, &ac), 0);
	/* a NUL inside a counted string */
	assert_int_equal(dp_activation_code_parse_n("1$a.b$X\0Y", 9, &ac), DP_ERR_ACTIVATION_CODE);
}

static void ac_build(void **state)
{
	(void)state;
	char out[DP_AC_MAX + 8];
	struct dp_activation_code ac = {.address = "smdp.example.com",
					.matching_id = "K3T9Q-0ZP2M"};
	assert_int_equal(dp_activation_code_build(&ac, out, sizeof(out)), 0);
	assert_string_equal(out, "LPA:1$smdp.example.com$K3T9Q-0ZP2M");
	ac.cc_required = true;
	assert_int_equal(dp_activation_code_build(&ac, out, sizeof(out)), 0);
	assert_string_equal(out, "LPA:1$smdp.example.com$K3T9Q-0ZP2M$$1");
	snprintf(ac.oid, sizeof(ac.oid), "1.3.6.1.4.1.31746");
	assert_int_equal(dp_activation_code_build(&ac, out, sizeof(out)), 0);
	assert_string_equal(out, "LPA:1$smdp.example.com$K3T9Q-0ZP2M$1.3.6.1.4.1.31746$1");
	ac.cc_required = false;
	assert_int_equal(dp_activation_code_build(&ac, out, sizeof(out)), 0);
	assert_string_equal(out, "LPA:1$smdp.example.com$K3T9Q-0ZP2M$1.3.6.1.4.1.31746");
	/* what is built parses back to the same fields */
	struct dp_activation_code back;
	assert_int_equal(dp_activation_code_parse(out, &back), 0);
	assert_string_equal(back.address, ac.address);
	assert_string_equal(back.matching_id, ac.matching_id);
	assert_string_equal(back.oid, ac.oid);
	/* bad fields are refused, the output left empty */
	struct dp_activation_code bad = {.address = "smdp example", .matching_id = "X"};
	assert_int_equal(dp_activation_code_build(&bad, out, sizeof(out)), DP_ERR_ACTIVATION_CODE);
	struct dp_activation_code bad2 = {.address = "a.b", .matching_id = "X$Y"};
	assert_int_equal(dp_activation_code_build(&bad2, out, sizeof(out)), DP_ERR_ACTIVATION_CODE);
	struct dp_activation_code bad3 = {.address = "a.b", .matching_id = "X", .oid = "9.9"};
	assert_int_equal(dp_activation_code_build(&bad3, out, sizeof(out)), DP_ERR_ACTIVATION_CODE);
	assert_int_equal(dp_activation_code_build(&ac, out, 10), DP_ERR_TOO_LONG);
	assert_string_equal(out, "");
	/* longer than 255 characters in all */
	struct dp_activation_code big = {.address = "a.b"};
	memset(big.matching_id, 'M', 251);
	assert_int_equal(dp_activation_code_build(&big, out, sizeof(out)), DP_ERR_TOO_LONG);
	big.matching_id[249] = '\0';
	assert_int_equal(dp_activation_code_build(&big, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 4 + 255);
}

static void matching_ids(void **state)
{
	(void)state;
	assert_int_equal(dp_activation_matching_id_valid("K3T9Q-0ZP2M-7WX4D-R8N1B"), 0);
	assert_int_equal(dp_activation_matching_id_valid("A"), 0);
	assert_int_equal(dp_activation_matching_id_valid(""), DP_ERR_INVAL);
	assert_int_equal(dp_activation_matching_id_valid("abc"), DP_ERR_INVAL);
	assert_int_equal(dp_activation_matching_id_valid("A_B"), DP_ERR_INVAL);
	assert_int_equal(dp_activation_matching_id_valid("A B"), DP_ERR_INVAL);
	assert_int_equal(dp_activation_matching_id_valid("A$B"), DP_ERR_INVAL);
	char max[66];
	memset(max, 'Z', 64);
	max[64] = '\0';
	assert_int_equal(dp_activation_matching_id_valid(max), 0);
	max[64] = 'Z';
	max[65] = '\0';
	assert_int_equal(dp_activation_matching_id_valid(max), DP_ERR_INVAL);

	/* generated: the shape, valid, different each time, every symbol used */
	char a[DP_AC_MATCHING_ID_GEN_LEN + 1], b[DP_AC_MATCHING_ID_GEN_LEN + 1];
	int seen[128] = {0};
	assert_int_equal(dp_activation_matching_id_generate(a, 5), DP_ERR_INVAL);
	for (int i = 0; i < 400; i++) {
		assert_int_equal(dp_activation_matching_id_generate(a, sizeof(a)), 0);
		assert_int_equal(strlen(a), DP_AC_MATCHING_ID_GEN_LEN);
		assert_int_equal(dp_activation_matching_id_valid(a), 0);
		for (int k = 0; k < DP_AC_MATCHING_ID_GEN_LEN; k++) {
			if (k % 6 == 5)
				assert_int_equal(a[k], '-');
			else
				seen[(unsigned char)a[k]]++;
		}
	}
	assert_int_equal(dp_activation_matching_id_generate(b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	for (const char *s = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"; *s; s++)
		assert_true(seen[(unsigned char)*s] > 0);
}

/* ---- QR codes ---- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decodes our PNG back: checks signature, chunk CRCs, IHDR, the zlib stream of stored
 * blocks and its Adler-32; returns the filtered rows. */
static void png_decode(const struct dp_buf *png, unsigned *w, unsigned *h, struct dp_buf *raw)
{
	assert_true(png->len > 8 + 25 + 12);
	assert_memory_equal(png->data, "\x89PNG\r\n\x1a\n", 8);
	size_t off = 8;
	struct dp_buf z;
	dp_buf_init(&z, 16u << 20);
	dp_buf_init(raw, 16u << 20);
	bool end = false;
	int n = 0;
	while (!end) {
		assert_true(off + 12 <= png->len);
		uint32_t len = be32(png->data + off);
		assert_true(off + 12 + len <= png->len);
		const uint8_t *type = png->data + off + 4, *data = type + 4;
		assert_int_equal(be32(data + len), dp_png_crc32(type, len + 4, 0));
		if (n == 0) {
			assert_memory_equal(type, "IHDR", 4);
			assert_int_equal(len, 13);
			*w = be32(data);
			*h = be32(data + 4);
			assert_memory_equal(data + 8, "\x01\x00\x00\x00\x00", 5);
		} else if (memcmp(type, "IDAT", 4) == 0) {
			assert_int_equal(dp_buf_append(&z, data, len), 0);
		} else {
			assert_memory_equal(type, "IEND", 4);
			assert_int_equal(len, 0);
			end = true;
		}
		off += 12 + len;
		n++;
	}
	assert_int_equal(off, png->len);
	/* zlib header, stored blocks, Adler-32 */
	assert_true(z.len >= 2 + 5 + 4);
	assert_int_equal((z.data[0] * 256 + z.data[1]) % 31, 0);
	assert_int_equal(z.data[0] & 0x0F, 8);
	size_t p = 2;
	bool final = false;
	while (!final) {
		assert_true(p + 5 <= z.len);
		final = z.data[p] & 1;
		assert_int_equal(z.data[p] >> 1, 0); /* BTYPE 00 */
		unsigned l = z.data[p + 1] | z.data[p + 2] << 8;
		unsigned nl = z.data[p + 3] | z.data[p + 4] << 8;
		assert_int_equal(l ^ 0xFFFF, nl);
		assert_true(p + 5 + l <= z.len);
		assert_int_equal(dp_buf_append(raw, z.data + p + 5, l), 0);
		p += 5 + l;
	}
	assert_int_equal(p + 4, z.len);
	uint32_t a = 1, b = 0;
	for (size_t i = 0; i < raw->len; i++) {
		a = (a + raw->data[i]) % 65521;
		b = (b + a) % 65521;
	}
	assert_int_equal(be32(z.data + p), (b << 16) | a);
	dp_buf_deinit(&z);
}

static void crc32_vector(void **state)
{
	(void)state;
	/* the CRC-32 check value of "123456789"; and the IEND chunk's well-known CRC */
	assert_int_equal(dp_png_crc32((const uint8_t *)"123456789", 9, 0), 0xCBF43926u);
	assert_int_equal(dp_png_crc32((const uint8_t *)"IEND", 4, 0), 0xAE426082u);
	/* incremental == one shot */
	assert_int_equal(
	    dp_png_crc32((const uint8_t *)"56789", 5, dp_png_crc32((const uint8_t *)"1234", 4, 0)),
	    0xCBF43926u);
}

static void png_small_image(void **state)
{
	(void)state;
	/* 10x2: a checkerboard row and a white row */
	static const uint8_t rows[] = {0xAA, 0x80, 0xFF, 0xC0};
	struct dp_buf png, raw;
	dp_buf_init(&png, 1 << 16);
	assert_int_equal(dp_png_gray1(rows, 10, 2, &png), 0);
	unsigned w = 0, h = 0;
	png_decode(&png, &w, &h, &raw);
	assert_int_equal(w, 10);
	assert_int_equal(h, 2);
	assert_int_equal(raw.len, 2 * 3);
	assert_memory_equal(raw.data, "\x00\xAA\x80\x00\xFF\xC0", 6);
	dp_buf_deinit(&raw);
	/* bad sizes; the buffer is left as it was */
	size_t before = png.len;
	assert_int_equal(dp_png_gray1(rows, 0, 2, &png), DP_ERR_INVAL);
	assert_int_equal(dp_png_gray1(rows, 70000, 1, &png), DP_ERR_INVAL);
	assert_int_equal(png.len, before);
	dp_buf_deinit(&png);
	/* a raw image over 64 KiB takes several stored blocks */
	unsigned big = 800;
	uint8_t *px = calloc(100, big);
	assert_non_null(px);
	px[0] = 0x12;
	px[100 * big - 1] = 0x34;
	dp_buf_init(&png, 1 << 20);
	assert_int_equal(dp_png_gray1(px, big, big, &png), 0);
	png_decode(&png, &w, &h, &raw);
	assert_int_equal(w, big);
	assert_int_equal(raw.len, 101 * big);
	assert_int_equal(raw.data[1], 0x12);
	assert_int_equal(raw.data[raw.len - 1], 0x34);
	dp_buf_deinit(&raw);
	dp_buf_deinit(&png);
	free(px);
}

static void qr_text_and_png_agree(void **state)
{
	(void)state;
	const char *code = "LPA:1$smdp.example.com$K3T9Q-0ZP2M-7WX4D-R8N1B$$1";
	struct dp_buf ascii, utf8, png, raw;
	dp_buf_init(&ascii, 1 << 20);
	dp_buf_init(&utf8, 1 << 20);
	dp_buf_init(&png, 1 << 20);
	assert_int_equal(dp_qr_text(code, DP_QR_ASCII, &ascii), 0);
	assert_int_equal(dp_qr_text(code, DP_QR_UTF8, &utf8), 0);
	/* ASCII: a square of "##"/"  " cells, quiet zone all light */
	const char *s;
	assert_int_equal(dp_buf_cstr(&ascii, &s), 0);
	const char *nl = strchr(s, '\n');
	assert_non_null(nl);
	size_t cols = (size_t)(nl - s);
	assert_int_equal(cols % 2, 0);
	size_t modules = cols / 2;
	assert_true(modules >= 21 + 2 * DP_QR_QUIET);
	assert_int_equal((modules - 2 * DP_QR_QUIET - 21) % 4, 0); /* 21 + 4 (version - 1) */
	assert_int_equal(ascii.len, modules * (cols + 1));
	for (size_t i = 0; i < cols; i++)
		assert_int_equal(s[i], ' ');
	/* the finder pattern's top-left corner is dark */
	assert_memory_equal(s + DP_QR_QUIET * (cols + 1) + 2 * DP_QR_QUIET, "##############", 14);
	/* UTF-8: half as many lines (rounded up) */
	size_t lines = 0;
	for (size_t i = 0; i < utf8.len; i++)
		lines += utf8.data[i] == '\n';
	assert_int_equal(lines, (modules + 1) / 2);

	/* the PNG: scale 3, every pixel equals the module of the ASCII rendering */
	unsigned w = 0, h = 0, pw = 0;
	assert_int_equal(dp_qr_png(code, 3, &png, &pw), 0);
	png_decode(&png, &w, &h, &raw);
	assert_int_equal(w, pw);
	assert_int_equal(w, modules * 3);
	assert_int_equal(h, w);
	size_t stride = (w + 7) / 8 + 1;
	for (unsigned y = 0; y < h; y++) {
		assert_int_equal(raw.data[y * stride], 0);
		for (unsigned x = 0; x < w; x++) {
			bool white = raw.data[y * stride + 1 + x / 8] & (0x80 >> (x % 8));
			bool dark = s[(y / 3) * (cols + 1) + (x / 3) * 2] == '#';
			if (white == dark)
				fail_msg("pixel %u,%u differs from the module", x, y);
		}
	}
	dp_buf_deinit(&raw);
	size_t before = png.len;
	assert_int_equal(dp_qr_png(code, 0, &png, NULL), DP_ERR_INVAL);
	assert_int_equal(dp_qr_png(code, 33, &png, NULL), DP_ERR_INVAL);
	assert_int_equal(dp_qr_png("", 3, &png, NULL), DP_ERR_INVAL);
	assert_int_equal(png.len, before);
	/* far too long for any QR version */
	char *huge = malloc(8000);
	assert_non_null(huge);
	memset(huge, 'x', 7999);
	huge[7999] = '\0';
	assert_int_equal(dp_qr_text(huge, DP_QR_ASCII, &ascii), DP_ERR_TOO_LONG);
	free(huge);
	dp_buf_deinit(&ascii);
	dp_buf_deinit(&utf8);
	dp_buf_deinit(&png);
}

/* ---- import ---- */

struct fx {
	char dir[64];
	char db_path[96];
	struct dp_db *db;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/smdp-test-admin-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db_path, sizeof(f->db_path), "%s/smdp.db", f->dir);
	assert_int_equal(dp_db_open(f->db_path, &f->db), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	dp_db_close(f->db);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static const char *config_profile(void)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/../../config/profiles/operator-milenage.yaml",
		 dp_test_data("."));
	return path;
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	fclose(fp);
}

static void prepare_der(void **state)
{
	(void)state;
	struct dp_buf der;
	dp_test_read_file(dp_test_shared("ts48/TS48v1_A.der"), &der);
	struct dp_import_options o = {.profile_class = -1};
	struct dp_import_item it;
	dp_import_item_init(&it);
	assert_int_equal(dp_import_prepare("a.der", der.data, der.len, false, ".", &o, &it), 0);
	assert_string_equal(it.iccid, "89000123456789012341");
	assert_bytes_equal(it.package.data, it.package.len, der.data, der.len);
	assert_false(it.has_ppk);
	assert_int_equal(it.profile_class, 2);
	/* BF25 { 5A iccid (EF.ICCID coding), 91 "smdp", 92 ICCID }: operational left out */
	assert_int_equal(it.metadata.data[0], 0xBF);
	assert_int_equal(it.metadata.data[1], 0x25);
	assert_memory_equal(it.metadata.data + 3,
			    "\x5A\x0A\x98\x00\x10\x32\x54\x76\x98\x10\x32\x14", 12);
	assert_memory_equal(it.metadata.data + 15,
			    "\x91\x04smdp\x92\x14"
			    "89000123456789012341",
			    28);
	assert_int_equal(it.metadata.len, 43);
	dp_import_item_deinit(&it);

	/* options: names, class, pre-protection */
	struct dp_import_options o2 = {
	    .sp_name = "GSMA_TEST", .name = "TS48 A", .profile_class = 0, .ppk = true};
	dp_import_item_init(&it);
	assert_int_equal(dp_import_prepare("a.der", der.data, der.len, false, ".", &o2, &it), 0);
	assert_int_equal(it.profile_class, 0);
	assert_true(it.has_ppk);
	/* 86 TLVs, not the plain package */
	assert_int_equal(it.package.data[0], 0x86);
	assert_true(it.package.len > der.len);
	assert_non_null(memmem(it.metadata.data, it.metadata.len, "\x91\x09GSMA_TEST", 11));
	assert_non_null(memmem(it.metadata.data, it.metadata.len, "\x95\x01\x00", 3));
	dp_import_item_deinit(&it);

	/* a name over 64 bytes, a service provider name over 32 */
	char longname[80];
	memset(longname, 'n', 79);
	longname[79] = '\0';
	struct dp_import_options o3 = {.name = longname, .profile_class = -1};
	dp_import_item_init(&it);
	assert_int_equal(dp_import_prepare("a.der", der.data, der.len, false, ".", &o3, &it),
			 DP_ERR_INVAL);
	dp_import_item_deinit(&it);
	longname[33] = '\0';
	struct dp_import_options o4 = {.sp_name = longname, .profile_class = -1};
	dp_import_item_init(&it);
	assert_int_equal(dp_import_prepare("a.der", der.data, der.len, false, ".", &o4, &it),
			 DP_ERR_INVAL);
	dp_import_item_deinit(&it);
	dp_buf_deinit(&der);
}

static void prepare_malformed(void **state)
{
	(void)state;
	struct dp_buf der;
	dp_test_read_file(dp_test_shared("ts48/TS48v1_A.der"), &der);
	struct dp_import_options o = {.profile_class = -1};
	struct dp_import_item it;
	/* empty, truncated, garbage, a wrong first tag, a flipped byte in the header ICCID */
	static const uint8_t garbage[] = {0x30, 0x03, 0x01, 0x01, 0xFF};
	const struct {
		const uint8_t *p;
		size_t n;
	} cases[] = {
	    {der.data, 0},
	    {der.data, der.len - 1},
	    {der.data, 10},
	    {garbage, sizeof(garbage)},
	    {(const uint8_t *)"not a package", 13},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dp_import_item_init(&it);
		int r = dp_import_prepare("x.der", cases[i].p, cases[i].n, false, ".", &o, &it);
		if (r == DP_OK)
			fail_msg("malformed case %zu accepted", i);
		dp_import_item_deinit(&it);
	}
	/* YAML that is not a profile */
	static const char *const yamls[] = {"", "elements: 3\n", "elements:\n  - nonsense: {}\n",
					    ": : :\n", "elements:\n  - header:\n      iccid: x\n"};
	for (size_t i = 0; i < sizeof(yamls) / sizeof(yamls[0]); i++) {
		dp_import_item_init(&it);
		int r = dp_import_prepare("bad.yaml", (const uint8_t *)yamls[i], strlen(yamls[i]),
					  true, ".", &o, &it);
		if (r == DP_OK)
			fail_msg("bad YAML %zu accepted", i);
		dp_import_item_deinit(&it);
	}
	int c = -1;
	assert_int_equal(dp_import_class_parse("provisioning", &c), 0);
	assert_int_equal(c, 1);
	assert_int_equal(dp_import_class_parse("Operational", &c), 0);
	assert_int_equal(c, 2);
	assert_int_equal(dp_import_class_parse("prod", &c), DP_ERR_INVAL);
	dp_buf_deinit(&der);
}

static void import_yaml_into_db(void **state)
{
	struct fx *f = *state;
	char iccid[21];
	struct dp_import_options o = {.profile_type = "op", .owner = "acme", .profile_class = -1};
	assert_int_equal(dp_import_file(f->db, config_profile(), &o, iccid), 0);
	assert_int_equal(strlen(iccid), 19);
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(f->db, iccid, true, &p), 0);
	assert_string_equal(p.profile_type, "op");
	assert_string_equal(p.owner, "acme");
	assert_int_equal(p.state, DP_PROFILE_AVAILABLE);
	assert_int_equal(p.metadata.data[0], 0xBF);
	assert_int_equal(p.metadata.data[1], 0x25);
	assert_true(p.package.len > 100);
	assert_int_equal(p.package.data[0], 0xA0); /* the ProfileHeader first */
	dp_db_profile_deinit(&p);
	/* the same file again: the ICCID is named */
	assert_int_equal(dp_import_file(f->db, config_profile(), &o, iccid), DP_ERR_DB_EXISTS);
	assert_non_null(strstr(dp_err_detail(), iccid));
	assert_non_null(strstr(dp_err_detail(), "operator-milenage.yaml"));
}

struct seen {
	int ok, bad;
	char last_bad[256];
};

static void on_file(void *ctx, const char *path, int r, const char *iccid)
{
	struct seen *s = ctx;
	if (r == DP_OK) {
		s->ok++;
		assert_true(strlen(iccid) >= 19);
	} else {
		s->bad++;
		snprintf(s->last_bad, sizeof(s->last_bad), "%s", dp_err_detail());
		/* every error names its file */
		assert_non_null(strstr(dp_err_detail(), path));
	}
}

static void import_folder_and_bad_files(void **state)
{
	struct fx *f = *state;
	char sub[128], path[192];
	snprintf(sub, sizeof(sub), "%s/in", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	/* a good DER, a truncated one, a bad YAML, an ignored text file */
	struct dp_buf der;
	dp_test_read_file(dp_test_shared("ts48/TS48v2_SAIP2.1_NoBERTLV.der"), &der);
	snprintf(path, sizeof(path), "%s/a.der", sub);
	write_file(path, der.data, der.len);
	snprintf(path, sizeof(path), "%s/b.der", sub);
	write_file(path, der.data, der.len / 2);
	snprintf(path, sizeof(path), "%s/c.yaml", sub);
	write_file(path, "elements: [\n", 12);
	snprintf(path, sizeof(path), "%s/notes.txt", sub);
	write_file(path, "x", 1);
	dp_buf_deinit(&der);

	struct dp_import_options o = {.profile_type = "ts48", .profile_class = -1};
	struct seen s = {0};
	size_t ok = 0, failed = 0;
	char *paths[] = {sub, (char *)dp_test_shared("ts48/TS48v1_A.der"),
			 (char *)"/nonexistent/x.der"};
	int r = dp_import_paths(f->db, paths, 3, &o, on_file, &s, &ok, &failed);
	assert_int_not_equal(r, 0);
	assert_int_equal(ok, 2);
	assert_int_equal(failed, 3);
	assert_int_equal(s.ok, 2);
	assert_int_equal(s.bad, 3);
	size_t counts[DP_PROFILE_STATE_COUNT];
	assert_int_equal(dp_db_profile_count(f->db, "ts48", counts), 0);
	assert_int_equal(counts[DP_PROFILE_AVAILABLE], 2);

	/* TS.48 v1 A and B share their ICCID: the second is a duplicate, named */
	struct seen s2 = {0};
	char *dup[] = {(char *)dp_test_shared("ts48/TS48v1_B.der")};
	assert_int_equal(dp_import_paths(f->db, dup, 1, &o, on_file, &s2, &ok, &failed),
			 DP_ERR_DB_EXISTS);
	assert_non_null(strstr(s2.last_bad, "89000123456789012341"));
	/* a folder with nothing to import is a failure */
	char empty[128];
	snprintf(empty, sizeof(empty), "%s/empty", f->dir);
	assert_int_equal(mkdir(empty, 0700), 0);
	char *e[] = {empty};
	assert_int_equal(dp_import_paths(f->db, e, 1, &o, NULL, NULL, &ok, &failed),
			 DP_ERR_NOT_FOUND);
	assert_int_equal(failed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ac_good),
	    cmocka_unit_test(ac_bad),
	    cmocka_unit_test(ac_build),
	    cmocka_unit_test(matching_ids),
	    cmocka_unit_test(crc32_vector),
	    cmocka_unit_test(png_small_image),
	    cmocka_unit_test(qr_text_and_png_agree),
	    cmocka_unit_test(prepare_der),
	    cmocka_unit_test(prepare_malformed),
	    cmocka_unit_test_setup_teardown(import_yaml_into_db, setup, teardown),
	    cmocka_unit_test_setup_teardown(import_folder_and_bad_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
