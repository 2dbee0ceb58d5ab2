/* The admin CLI's libraries: activation codes (good and bad), matching IDs, QR text and
 * PNG (decoded back here), profile import from TS.48 DER and profilegen YAML, with
 * malformed files, duplicates and folders; the operator CSV reader and the import of a
 * real profilegen batch against it (a missing or extra package, a wrong IMSI/Ki/OPc, a
 * malformed line, a duplicate ICCID: all refused whole, nothing stored). */
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
#include "profilegen/profilegen.h"
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

/* ---- the operator CSV of a profilegen batch ---- */

static const char HDR[] = "ICCID,IMSI,Ki,OPc,PIN1,PUK1,PIN2,PUK2,ADM1\n";
static const char KI1[] = "000102030405060708090A0B0C0D0E0F";
static const char OPC1[] = "0F0E0D0C0B0A09080706050403020100";

static int csv_parse_str(const char *text, struct dp_import_csv *c)
{
	return dp_import_csv_parse("op.csv", text, strlen(text), c);
}

static void csv_good(void **state)
{
	(void)state;
	struct dp_import_csv c;
	char text[1024];
	dp_import_csv_init(&c);
	/* profilegen's own output: two rows */
	snprintf(text, sizeof(text),
		 "%s8949440000000009900,262019000000990,%s,%s,1234,12345678,5678,87654321,"
		 "11223344\n8949440000000009918,262019000000991,%s,%s,0000,00000000,9999,"
		 "99999999,12345678\n",
		 HDR, KI1, OPC1, OPC1, KI1);
	assert_int_equal(csv_parse_str(text, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.rows[0].line, 2);
	assert_string_equal(c.rows[0].iccid, "8949440000000009900");
	assert_string_equal(c.rows[0].imsi, "262019000000990");
	assert_int_equal(c.rows[0].ki_len, 16);
	assert_memory_equal(c.rows[0].ki, "\x00\x01\x02\x03\x04\x05\x06\x07", 8);
	assert_int_equal(c.rows[1].opc_len, 16);
	assert_int_equal(c.rows[1].opc[0], 0x00);
	assert_int_equal(c.rows[1].ki[0], 0x0F);
	/* a spreadsheet's: BOM, CRLF, lower-case names, spaces, blank lines, other order,
	 * only the two required columns, no final newline, a 20-digit ICCID */
	assert_int_equal(csv_parse_str("\xEF\xBB\xBFimsi , iccid\r\n\r\n 262019000000990 ,\t"
				       "89494400000000099007\r\n\n001010000000001,"
				       "8949440000000009918",
				       &c),
			 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.rows[0].iccid, "89494400000000099007");
	assert_string_equal(c.rows[0].imsi, "262019000000990");
	assert_int_equal(c.rows[0].line, 3);
	assert_int_equal(c.rows[0].ki_len, 0);
	assert_int_equal(c.rows[1].line, 5);
	/* TUAK: a 32-byte K and TOPc */
	snprintf(text, sizeof(text),
		 "ICCID,IMSI,Ki,OPc\n8949440000000009900,262019000000990,%s%s,%s%s\n", KI1, KI1,
		 OPC1, OPC1);
	assert_int_equal(csv_parse_str(text, &c), 0);
	assert_int_equal(c.rows[0].ki_len, 32);
	assert_int_equal(c.rows[0].opc_len, 32);
	dp_import_csv_deinit(&c);
	assert_null(c.rows);
	assert_int_equal(c.n, 0);
}

static void csv_malformed(void **state)
{
	(void)state;
	static const char ROW[] =
	    "8949440000000009900,262019000000990,"
	    "000102030405060708090A0B0C0D0E0F,0F0E0D0C0B0A09080706050403020100,"
	    "1234,12345678,5678,87654321,11223344\n";
	static const char ROW2[] =
	    "8949440000000009918,262019000000991,"
	    "000102030405060708090A0B0C0D0E0F,0F0E0D0C0B0A09080706050403020100,"
	    "1234,12345678,5678,87654321,11223344\n";
	char longline[1200];
	memset(longline, '1', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	const struct {
		const char *a, *b, *c; /* concatenated */
		const char *want;      /* in the detail */
	} cases[] = {
	    {"", "", "", "op.csv: empty file"},
	    {"\n", HDR, ROW, "op.csv:1: no header line"},
	    {HDR, "", "", "op.csv: no rows after the header"},
	    {HDR, "\n\n", "", "op.csv: no rows after the header"},
	    {"ICCID,IMSI,Kc\n", "", "", "op.csv:1: unknown column 'Kc'"},
	    {"ICCID,IMSI,K\x01\n", "", "", "op.csv:1: column 3 is not a known column name"},
	    {"ICCID,IMSI,iccid\n", "", "", "op.csv:1: column ICCID appears twice"},
	    {"ICCID,Ki\n", "", "", "op.csv:1: the header has no IMSI column"},
	    {"IMSI\n", "", "", "op.csv:1: the header has no ICCID column"},
	    {"ICCID,IMSI,Ki,OPc,PIN1,PUK1,PIN2,PUK2,ADM1,ADM2\n", "", "", "op.csv:1: more than 9"},
	    /* rows: the line is named */
	    {HDR, ROW, "8949440000000009918,262019000000991\n",
	     "op.csv:3: 2 fields, the header has 9"},
	    {HDR, ROW, "1,2,3,4,5,6,7,8,9,10,11\n", "op.csv:3: more than 9 fields"},
	    {HDR, ROW, ",,,,,,,,\n", "op.csv:3: empty ICCID"},
	    {HDR, "894944000000000990,262019000000990,a,b,1,2,3,4,5\n", "",
	     "op.csv:2: ICCID must be 19 or 20 digits"},
	    {HDR, "8949440000000009904,262019000000990,a,b,1,2,3,4,5\n", "",
	     "op.csv:2: ICCID 8949440000000009904: the Luhn digit should be 0"},
	    {HDR, "894944000000000990X,262019000000990,a,b,1,2,3,4,5\n", "",
	     "op.csv:2: ICCID must be 19 or 20 digits"},
	    {HDR, ROW, "8949440000000009918,26201,a,b,1,2,3,4,5\n",
	     "op.csv:3: IMSI must be 6 to 15"},
	    {HDR,
	     "8949440000000009918,262019000000991,00010203,"
	     "0F0E0D0C0B0A09080706050403020100,1234,12345678,5678,87654321,11223344\n",
	     "", "op.csv:2: Ki must be 32 or 64 hex digits"},
	    {HDR,
	     "8949440000000009918,262019000000991,000102030405060708090A0B0C0D0E0G,"
	     "0F0E0D0C0B0A09080706050403020100,1234,12345678,5678,87654321,11223344\n",
	     "", "op.csv:2: Ki must be 32 or 64"},
	    {HDR,
	     "8949440000000009918,262019000000991,000102030405060708090A0B0C0D0E0F,"
	     "0F0E0D0C,1234,12345678,5678,87654321,11223344\n",
	     "", "op.csv:2: OPc must be"},
	    {HDR,
	     "8949440000000009918,262019000000991,000102030405060708090A0B0C0D0E0F,"
	     "0F0E0D0C0B0A09080706050403020100,123,12345678,5678,87654321,11223344\n",
	     "", "op.csv:2: PIN1 must be 4 to 8 digits"},
	    {HDR,
	     "8949440000000009918,262019000000991,000102030405060708090A0B0C0D0E0F,"
	     "0F0E0D0C0B0A09080706050403020100,1234,123456789,5678,87654321,11223344\n",
	     "", "op.csv:2: PUK1 must be"},
	    {HDR,
	     "8949440000000009918,262019000000991,000102030405060708090A0B0C0D0E0F,"
	     "0F0E0D0C0B0A09080706050403020100,1234,12345678,5678,87654321,1122334A\n",
	     "", "op.csv:2: ADM1 must be"},
	    {HDR, ROW, "\"8949440000000009918\",262019000000991,a,b,1,2,3,4,5\n",
	     "op.csv:3: a NUL byte or a quote"},
	    {HDR, ROW, longline, "op.csv:3: longer than 1024 bytes"},
	    /* unique ICCIDs and IMSIs: the later line names the earlier */
	    {HDR, ROW, ROW, "op.csv:3: ICCID 8949440000000009900 again (first on line 2)"},
	    {HDR, ROW2,
	     "8949440000000009900,262019000000991,000102030405060708090A0B0C0D0E0F,"
	     "0F0E0D0C0B0A09080706050403020100,1234,12345678,5678,87654321,11223344\n",
	     "op.csv:3: IMSI 262019000000991 again (first on line 2)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[4096];
		snprintf(text, sizeof(text), "%s%s%s", cases[i].a, cases[i].b, cases[i].c);
		struct dp_import_csv c;
		dp_import_csv_init(&c);
		int r = csv_parse_str(text, &c);
		if (r != DP_ERR_BATCH_CSV || strstr(dp_err_detail(), cases[i].want) == NULL)
			fail_msg("case %zu: %d '%s', want '%s'", i, r, dp_err_detail(),
				 cases[i].want);
		/* nothing is left behind, and no key or code is echoed */
		assert_null(c.rows);
		assert_int_equal(c.n, 0);
		assert_null(strstr(dp_err_detail(), "0F0E0D0C"));
		assert_null(strstr(dp_err_detail(), "00010203"));
		assert_null(strstr(dp_err_detail(), "12345678"));
		dp_import_csv_deinit(&c);
	}
	/* a NUL inside the counted text */
	struct dp_import_csv c;
	dp_import_csv_init(&c);
	char nul[200];
	int n = snprintf(nul, sizeof(nul), "ICCID,IMSI\n8949440000000009900,262019000000990\n");
	nul[20] = '\0';
	assert_int_equal(dp_import_csv_parse("op.csv", nul, (size_t)n, &c), DP_ERR_BATCH_CSV);
	assert_non_null(strstr(dp_err_detail(), "op.csv:2: a NUL byte"));
	dp_import_csv_deinit(&c);
}

/* A real `profilegen batch` of 5 from the example YAML in <dir>/batch with its operator
 * file <dir>/batch.csv. */
struct bfx {
	struct fx f;
	char batch[128], csv[128];
};

static int batch_setup(void **state)
{
	struct bfx *b = calloc(1, sizeof(*b));
	assert_non_null(b);
	snprintf(b->f.dir, sizeof(b->f.dir), "/tmp/smdp-test-batch-XXXXXX");
	assert_non_null(mkdtemp(b->f.dir));
	snprintf(b->f.db_path, sizeof(b->f.db_path), "%s/smdp.db", b->f.dir);
	assert_int_equal(dp_db_open(b->f.db_path, &b->f.db), 0);
	snprintf(b->batch, sizeof(b->batch), "%s/batch", b->f.dir);
	snprintf(b->csv, sizeof(b->csv), "%s/batch.csv", b->f.dir);
	assert_int_equal(mkdir(b->batch, 0700), 0);
	struct dp_pg_package tpl;
	dp_pg_package_init(&tpl);
	assert_int_equal(dp_pg_build_file(config_profile(), &tpl), 0);
	FILE *out = fopen(b->csv, "w");
	assert_non_null(out);
	struct dp_pg_batch job = {.count = 5,
				  .iccid_first = "894944000000000990",
				  .imsi_first = "262019000000990",
				  .out_dir = b->batch,
				  .csv_out = out};
	assert_int_equal(dp_pg_batch_run(&tpl, &job), 0);
	assert_int_equal(fclose(out), 0);
	dp_pg_package_deinit(&tpl);
	*state = b;
	return 0;
}

static int batch_teardown(void **state)
{
	struct bfx *b = *state;
	dp_db_close(b->f.db);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->f.dir);
	assert_int_equal(system(cmd), 0);
	free(b);
	return 0;
}

/* The operator file's lines (line 1 the header); free with free_lines. */
static size_t read_lines(const char *path, char lines[16][512])
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	size_t n = 0;
	while (n < 16 && fgets(lines[n], 512, fp) != NULL)
		n++;
	fclose(fp);
	return n;
}

static void write_lines(const char *path, char lines[16][512], size_t n)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	for (size_t i = 0; i < n; i++)
		fputs(lines[i], fp);
	fclose(fp);
}

/* The comma-separated field i of a CSV line (a copy). */
static void csv_get(const char *line, int i, char *out, size_t cap)
{
	const char *p = line;
	for (int k = 0; k < i; k++)
		p = strchr(p, ',') + 1;
	size_t n = strcspn(p, ",\n");
	assert_true(n < cap);
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Replaces field i of a CSV line by v. */
static void csv_set(char *line, int i, const char *v)
{
	char out[512] = "", f[128];
	for (int k = 0; k < 9; k++) {
		csv_get(line, k, f, sizeof(f));
		strcat(out, k == i ? v : f);
		strcat(out, k < 8 ? "," : "\n");
	}
	snprintf(line, 512, "%s", out);
}

struct reports {
	int ok, bad;
	char all[4096]; /* every problem's detail, one a line */
};

static void on_batch(void *ctx, const char *path, int r, const char *iccid)
{
	struct reports *s = ctx;
	(void)iccid;
	assert_non_null(path);
	if (r == DP_OK) {
		s->ok++;
		return;
	}
	s->bad++;
	size_t n = strlen(s->all);
	snprintf(s->all + n, sizeof(s->all) - n, "%s\n", dp_err_detail());
}

static size_t count_type(struct dp_db *db, const char *type)
{
	size_t counts[DP_PROFILE_STATE_COUNT], all = 0;
	assert_int_equal(dp_db_profile_count(db, type, counts), 0);
	for (int i = 0; i < DP_PROFILE_STATE_COUNT; i++)
		all += counts[i];
	return all;
}

static int run_batch(struct bfx *b, struct reports *s, size_t *imported)
{
	struct dp_import_options o = {.profile_type = "op", .owner = "acme", .profile_class = -1};
	memset(s, 0, sizeof(*s));
	return dp_import_batch(b->f.db, b->csv, b->batch, &o, on_batch, s, imported);
}

/* The file's text appears nowhere in the database files (keys are in the packages only
 * as their bytes, never as the operator file's hex). */
static void assert_not_in_db(struct bfx *b, const char *text)
{
	static const char *const suffix[] = {"", "-wal"};
	for (int i = 0; i < 2; i++) {
		char path[160];
		snprintf(path, sizeof(path), "%s%s", b->f.db_path, suffix[i]);
		FILE *fp = fopen(path, "rb");
		if (fp == NULL)
			continue;
		fclose(fp);
		struct dp_buf db;
		dp_test_read_file(path, &db);
		assert_null(memmem(db.data, db.len, text, strlen(text)));
		dp_buf_deinit(&db);
	}
}

static void batch_identity(void **state)
{
	struct bfx *b = *state;
	char lines[16][512], iccid[32], imsi[32], ki[80], path[256];
	assert_int_equal(read_lines(b->csv, lines), 6);
	csv_get(lines[2], 0, iccid, sizeof(iccid));
	csv_get(lines[2], 1, imsi, sizeof(imsi));
	csv_get(lines[2], 2, ki, sizeof(ki));
	assert_string_equal(iccid, "8949440000000009918");
	snprintf(path, sizeof(path), "%s/%s.der", b->batch, iccid);
	struct dp_buf der, want;
	dp_test_read_file(path, &der);
	struct dp_import_identity id;
	assert_int_equal(dp_import_identity_read(der.data, der.len, &id), 0);
	assert_string_equal(id.iccid, iccid);
	assert_string_equal(id.imsi, imsi);
	assert_int_equal(id.n_aka, 1);
	dp_test_hex(ki, &want);
	assert_bytes_equal(id.ki, id.ki_len, want.data, want.len);
	assert_int_equal(id.opc_len, 16);
	dp_import_identity_wipe(&id);
	dp_buf_deinit(&want);
	/* a TS.48 package: its IMSI and keys */
	struct dp_buf ts48;
	dp_test_read_file(dp_test_shared("ts48/TS48v1_A.der"), &ts48);
	assert_int_equal(dp_import_identity_read(ts48.data, ts48.len, &id), 0);
	assert_string_equal(id.iccid, "89000123456789012341");
	assert_true(strlen(id.imsi) >= 6);
	dp_import_identity_wipe(&id);
	/* malformed: truncated, empty, garbage; the output is left wiped */
	assert_int_not_equal(dp_import_identity_read(der.data, der.len - 3, &id), 0);
	assert_string_equal(id.iccid, "");
	assert_int_not_equal(dp_import_identity_read(der.data, 0, &id), 0);
	assert_int_not_equal(dp_import_identity_read((const uint8_t *)"\x30\x00", 2, &id), 0);
	dp_buf_deinit(&ts48);
	dp_buf_deinit(&der);
}

static void batch_good(void **state)
{
	struct bfx *b = *state;
	struct reports s;
	size_t imported = 99;
	/* a file that is not a package is ignored */
	char notes[192], lines[16][512], ki[80];
	snprintf(notes, sizeof(notes), "%s/README.txt", b->batch);
	write_file(notes, "x", 1);
	assert_int_equal(run_batch(b, &s, &imported), 0);
	assert_int_equal(imported, 5);
	assert_int_equal(s.ok, 5);
	assert_int_equal(s.bad, 0);
	assert_int_equal(count_type(b->f.db, "op"), 5);
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(b->f.db, "8949440000000009934", true, &p), 0);
	assert_string_equal(p.owner, "acme");
	assert_string_equal(p.profile_type, "op");
	assert_int_equal(p.state, DP_PROFILE_AVAILABLE);
	assert_int_equal(p.package.data[0], 0xA0);
	dp_db_profile_deinit(&p);
	/* the operator file's hex keys are nowhere in the order book */
	assert_int_equal(read_lines(b->csv, lines), 6);
	for (size_t i = 1; i < 6; i++) {
		csv_get(lines[i], 2, ki, sizeof(ki));
		assert_not_in_db(b, ki);
		csv_get(lines[i], 3, ki, sizeof(ki));
		assert_not_in_db(b, ki);
	}
	/* the same batch again: every ICCID is there already, each named, nothing added */
	assert_int_equal(run_batch(b, &s, &imported), DP_ERR_DB_EXISTS);
	assert_int_equal(s.bad, 5);
	assert_int_equal(imported, 0);
	assert_non_null(strstr(dp_err_detail(), "8949440000000009900"));
	assert_non_null(strstr(dp_err_detail(), "is already in the order book"));
	assert_non_null(strstr(dp_err_detail(), "5 problems; nothing was imported"));
	assert_int_equal(count_type(b->f.db, "op"), 5);
}

static void batch_missing_and_extra_file(void **state)
{
	struct bfx *b = *state;
	struct reports s;
	size_t imported;
	char path[256];
	/* row 4 (line 4) loses its package; a TS.48 package that no row names is added */
	snprintf(path, sizeof(path), "%s/8949440000000009926.der", b->batch);
	assert_int_equal(unlink(path), 0);
	struct dp_buf der;
	dp_test_read_file(dp_test_shared("ts48/TS48v1_A.der"), &der);
	snprintf(path, sizeof(path), "%s/89000123456789012341.der", b->batch);
	write_file(path, der.data, der.len);
	dp_buf_deinit(&der);
	assert_int_equal(run_batch(b, &s, &imported), DP_ERR_BATCH_MISMATCH);
	assert_int_equal(imported, 0);
	assert_int_equal(s.ok, 0);
	assert_int_equal(s.bad, 2);
	assert_non_null(strstr(s.all, "89000123456789012341.der: no row of "));
	assert_non_null(strstr(s.all, "batch.csv:4: ICCID 8949440000000009926 has no package "
				      "8949440000000009926.der"));
	assert_int_equal(count_type(b->f.db, "op"), 0);
	/* only the extra file */
	unlink(path);
	write_file(path, "junk", 4);
	struct dp_buf good;
	snprintf(path, sizeof(path), "%s/8949440000000009918.der", b->batch);
	dp_test_read_file(path, &good);
	snprintf(path, sizeof(path), "%s/8949440000000009926.der", b->batch);
	write_file(path, good.data, good.len);
	dp_buf_deinit(&good);
	/* 8949440000000009926.der now holds 8949440000000009918's package */
	assert_int_equal(run_batch(b, &s, &imported), DP_ERR_BATCH_MISMATCH);
	assert_int_equal(s.bad, 2);
	assert_non_null(strstr(s.all, "8949440000000009926.der: header ICCID 8949440000000009918, "
				      "but "));
	assert_non_null(strstr(s.all, "batch.csv:4 has 8949440000000009926"));
	assert_int_equal(count_type(b->f.db, "op"), 0);
}

static void batch_wrong_imsi_and_keys(void **state)
{
	struct bfx *b = *state;
	struct reports s;
	size_t imported;
	char lines[16][512], ki[80];
	size_t n = read_lines(b->csv, lines);
	/* line 3: another IMSI; line 5: another Ki (a valid one, of the right length) */
	csv_set(lines[2], 1, "262019000000999");
	csv_get(lines[4], 2, ki, sizeof(ki));
	char other[80];
	snprintf(other, sizeof(other), "%s", ki);
	other[0] = other[0] == 'A' ? 'B' : 'A';
	csv_set(lines[4], 2, other);
	write_lines(b->csv, lines, n);
	assert_int_equal(run_batch(b, &s, &imported), DP_ERR_BATCH_MISMATCH);
	assert_int_equal(imported, 0);
	assert_int_equal(s.bad, 2);
	assert_non_null(strstr(s.all, "8949440000000009918.der: IMSI 262019000000991, but "));
	assert_non_null(strstr(s.all, "batch.csv:3 has 262019000000999"));
	assert_non_null(strstr(s.all, "8949440000000009934.der: Ki differs from "));
	assert_non_null(strstr(s.all, "batch.csv:5"));
	/* neither key is shown */
	assert_null(strstr(s.all, ki));
	assert_null(strstr(s.all, other));
	assert_non_null(strstr(dp_err_detail(), "IMSI 262019000000991"));
	assert_non_null(strstr(dp_err_detail(), "2 problems; nothing was imported"));
	assert_int_equal(count_type(b->f.db, "op"), 0);
	/* an OPc from another batch */
	n = read_lines(b->csv, lines);
	csv_set(lines[2], 1, "262019000000991");
	csv_set(lines[4], 2, ki);
	csv_set(lines[5], 3, "00000000000000000000000000000000");
	write_lines(b->csv, lines, n);
	assert_int_equal(run_batch(b, &s, &imported), DP_ERR_BATCH_MISMATCH);
	assert_int_equal(s.bad, 1);
	assert_non_null(strstr(s.all, "8949440000000009942.der: OPc differs from "));
	assert_int_equal(count_type(b->f.db, "op"), 0);
}

static void batch_malformed_csv(void **state)
{
	struct bfx *b = *state;
	struct reports s;
	size_t imported;
	char lines[16][512];
	size_t n = read_lines(b->csv, lines);
	/* line 4 loses its last field */
	char *comma = strrchr(lines[3], ',');
	snprintf(comma, 2, "\n");
	write_lines(b->csv, lines, n);
	assert_int_equal(run_batch(b, &s, &imported), DP_ERR_BATCH_CSV);
	assert_int_equal(s.bad, 1);
	assert_non_null(strstr(dp_err_detail(), "batch.csv:4: 8 fields, the header has 9"));
	assert_int_equal(count_type(b->f.db, "op"), 0);
	/* an empty operator file */
	FILE *fp = fopen(b->csv, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(run_batch(b, &s, &imported), DP_ERR_BATCH_CSV);
	assert_non_null(strstr(dp_err_detail(), "batch.csv: empty file"));
	assert_int_equal(count_type(b->f.db, "op"), 0);
	/* no such file, no such folder */
	struct dp_import_options o = {.profile_class = -1};
	assert_int_equal(
	    dp_import_batch(b->f.db, "/nonexistent.csv", b->batch, &o, NULL, NULL, &imported),
	    DP_ERR_IO);
	assert_non_null(strstr(dp_err_detail(), "/nonexistent.csv"));
}

static void batch_duplicate_iccid(void **state)
{
	struct bfx *b = *state;
	struct reports s;
	size_t imported;
	char lines[16][512];
	size_t n = read_lines(b->csv, lines);
	/* line 7: line 2's row again, its IMSI changed (so that the ICCID is the problem) */
	snprintf(lines[n], 512, "%s", lines[1]);
	csv_set(lines[n], 1, "262019000000999");
	write_lines(b->csv, lines, n + 1);
	assert_int_equal(run_batch(b, &s, &imported), DP_ERR_BATCH_CSV);
	assert_int_equal(s.bad, 1);
	assert_non_null(strstr(dp_err_detail(),
			       "batch.csv:7: ICCID 8949440000000009900 again (first on line 2)"));
	assert_int_equal(imported, 0);
	assert_int_equal(count_type(b->f.db, "op"), 0);
	/* a package that fails its own checks is named, nothing imported */
	write_lines(b->csv, lines, n);
	char path[256];
	snprintf(path, sizeof(path), "%s/8949440000000009900.der", b->batch);
	struct dp_buf der;
	dp_test_read_file(path, &der);
	write_file(path, der.data, der.len - 1);
	dp_buf_deinit(&der);
	assert_int_not_equal(run_batch(b, &s, &imported), 0);
	assert_int_equal(s.bad, 1);
	assert_non_null(strstr(s.all, "8949440000000009900.der"));
	assert_int_equal(count_type(b->f.db, "op"), 0);
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
	    cmocka_unit_test(csv_good),
	    cmocka_unit_test(csv_malformed),
	    cmocka_unit_test_setup_teardown(batch_identity, batch_setup, batch_teardown),
	    cmocka_unit_test_setup_teardown(batch_good, batch_setup, batch_teardown),
	    cmocka_unit_test_setup_teardown(batch_missing_and_extra_file, batch_setup,
					    batch_teardown),
	    cmocka_unit_test_setup_teardown(batch_wrong_imsi_and_keys, batch_setup, batch_teardown),
	    cmocka_unit_test_setup_teardown(batch_malformed_csv, batch_setup, batch_teardown),
	    cmocka_unit_test_setup_teardown(batch_duplicate_iccid, batch_setup, batch_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
