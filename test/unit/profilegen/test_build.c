/* profilegen build: golden YAML -> exact DER, identifier encodings, bad input naming the
 * YAML line and field, template overrides.
 *
 * How the expected bytes were verified: the golden .der files under test/data/profilegen
 * were produced once by `profilegen build` and then checked independently of the code:
 *  - ICCID 894944000000000001 + Luhn 6 (computed by hand: doubled-digit sum 44 -> 6):
 *    header 83 0A 89 49 44 00 00 00 00 00 01 6F, EF.ICCID 83 0A 98 94 44 00 00 00 00 00 10 F6;
 *  - IMSI 262019876543210: EF.IMSI 08 29 26 10 89 67 45 23 01 (length 8, parity nibble 9);
 *  - OPc from OP: 3GPP TS 35.207 test set 1 (K 465B..A6BC, OP CDC2..B318 -> OPc CD63..2BAF);
 *  - 20-digit ICCID 89882280000000000014 and 19-digit 8949440000000000024: Luhn digits
 *    computed with a separate Python snippet;
 *  - PIN "1234" -> 31 32 33 34 FF FF FF FF.
 * The asserts below look for exactly these byte strings in the packages. */
#include <stdio.h>
#include <string.h>

#include "pki/asn1/asn1.h"
#include "profilegen/profilegen.h"
#include "test/support/support.h"

static bool contains(const struct dp_buf *b, const char *hex)
{
	struct dp_buf h;
	dp_test_hex(hex, &h);
	bool found = false;
	for (size_t i = 0; !found && i + h.len <= b->len; i++)
		found = memcmp(b->data + i, h.data, h.len) == 0;
	dp_buf_deinit(&h);
	return found;
}

static void build_file(const char *rel, struct dp_buf *der)
{
	struct dp_pg_package p;
	dp_pg_package_init(&p);
	int r = dp_pg_build_file(dp_test_data(rel), &p);
	if (r)
		fail_msg("%s: %s", rel, dp_err_detail());
	dp_buf_init(der, DP_PG_MAX_PACKAGE);
	assert_int_equal(dp_pg_package_der(&p, der), 0);
	const char *rule;
	r = dp_pg_check(&p, &rule);
	if (r)
		fail_msg("%s: check %s: %s", rel, rule, dp_err_detail());
	dp_pg_package_deinit(&p);
}

static void golden(const char *name)
{
	char y[128], d[128];
	struct dp_buf got, want;
	snprintf(y, sizeof(y), "profilegen/%s.yaml", name);
	snprintf(d, sizeof(d), "profilegen/%s.der", name);
	build_file(y, &got);
	dp_buf_init(&want, DP_PG_MAX_PACKAGE);
	dp_test_read_file(dp_test_data(d), &want);
	assert_bytes_equal(got.data, got.len, want.data, want.len);
	dp_buf_deinit(&got);
	dp_buf_deinit(&want);
}

static void test_golden_milenage_opc(void **s)
{
	(void)s;
	struct dp_buf b;
	golden("milenage_opc");
	build_file("profilegen/milenage_opc.yaml", &b);
	assert_true(contains(&b, "830A 8949 4400 0000 0000 016F"));      /* header ICCID */
	assert_true(contains(&b, "830A 9894 4400 0000 0000 10F6"));      /* EF.ICCID */
	assert_true(contains(&b, "8309 08 29 26 10 89 67 45 23 01"));    /* EF.IMSI */
	assert_true(contains(&b, "8108 31323334 FFFFFFFF"));             /* PIN1 1234 */
	assert_true(contains(&b, "8210 000102030405060708090A0B0C0D0E0F")); /* Ki */
	assert_true(contains(&b, "8310 0F0E0D0C0B0A09080706050403020100")); /* OPc */
	dp_buf_deinit(&b);
}

static void test_golden_milenage_op(void **s)
{
	(void)s;
	struct dp_buf b;
	golden("milenage_op");
	build_file("profilegen/milenage_op.yaml", &b);
	assert_true(contains(&b, "8310 CD63CB71954A9F4E48A5994E37A02BAF")); /* TS 35.207 OPc */
	assert_true(contains(&b, "830A 8988 2280 0000 0000 0014"));         /* 20 digits */
	assert_true(contains(&b, "830A 9888 2208 0000 0000 0041"));
	dp_buf_deinit(&b);
}

static void test_golden_tuak(void **s)
{
	(void)s;
	struct dp_buf b;
	golden("tuak");
	build_file("profilegen/tuak.yaml", &b);
	assert_true(contains(&b, "8001 02"));                        /* algorithmID tuak */
	assert_true(contains(&b, "8720 000102030405060708090A0B0C0D0E0F"
				 "101112131415161718191A1B1C1D1E1F") ||
		    contains(&b, "8220 000102030405060708090A0B0C0D0E0F"
				 "101112131415161718191A1B1C1D1E1F"));
	assert_true(contains(&b, "8701 02"));                        /* numberOfKeccak 2 */
	assert_true(contains(&b, "830A 8949 4400 0000 0000 024F"));  /* 19 digits kept */
	assert_true(contains(&b, "830A 9894 4400 0000 0000 20F4"));
	dp_buf_deinit(&b);
}

static void test_golden_isim(void **s)
{
	(void)s;
	golden("isim");
}

static void test_golden_template_override(void **s)
{
	(void)s;
	struct dp_buf b, base;
	golden("template_override");
	build_file("profilegen/template_override.yaml", &b);
	assert_true(contains(&b, "830A 8988 2280 0000 0000 5559"));
	assert_true(contains(&b, "830A 9888 2208 0000 0000 5595"));
	assert_true(contains(&b, "8309 08 09 10 10 00 00 00 10 32"));  /* IMSI 001010000000123 */
	assert_true(contains(&b, "8302 0008"));                         /* ACC 1 << 3 */
	assert_true(contains(&b, "8108 30303030 FFFFFFFF"));            /* PIN1 0000 */
	assert_true(contains(&b, "8108 3132333435363738"));             /* ADM1 */
	assert_true(contains(&b, "8108 3837363534333231"));             /* PUK1 */
	/* same length as the template, overridden fields only */
	dp_buf_init(&base, DP_PG_MAX_PACKAGE);
	dp_test_read_file(dp_test_data("profilegen/milenage_opc.der"), &base);
	assert_int_equal(base.len, b.len);
	dp_buf_deinit(&base);
	dp_buf_deinit(&b);
}

/* TS.48 as a base package, with overrides. */
static void test_ts48_base_override(void **s)
{
	(void)s;
	char yaml[512];
	struct dp_pg_package p;
	const char *rule;
	struct dp_buf b;
	snprintf(yaml, sizeof(yaml),
		 "base: %s\npersonalisation:\n  iccid: \"894944000000000001\"\n"
		 "  imsi: \"262019876543210\"\n  pin1: \"4321\"\n",
		 dp_test_shared("ts48/TS48v2_SAIP2.3_BERTLV.der"));
	dp_pg_package_init(&p);
	int r = dp_pg_build_yaml("ts48.yaml", yaml, strlen(yaml), NULL, &p);
	if (r)
		fail_msg("%s", dp_err_detail());
	assert_int_equal(dp_pg_check(&p, &rule), 0);
	dp_buf_init(&b, DP_PG_MAX_PACKAGE);
	assert_int_equal(dp_pg_package_der(&p, &b), 0);
	assert_true(contains(&b, "830A 8949 4400 0000 0000 016F"));
	assert_true(contains(&b, "830A 9894 4400 0000 0000 10F6"));
	assert_true(contains(&b, "8309 08 29 26 10 89 67 45 23 01"));
	dp_buf_deinit(&b);
	dp_pg_package_deinit(&p);
}

static void test_identifiers(void **s)
{
	(void)s;
	char out[21];
	uint8_t b[10];
	assert_int_equal(dp_pg_iccid_normalise("894944999999999016", out), 0);
	assert_string_equal(out, "8949449999999990163"); /* reference doc 5.5 */
	assert_int_equal(dp_pg_iccid_normalise("8949449999999990163", out), 0);
	assert_string_equal(out, "8949449999999990163");
	assert_int_equal(dp_pg_iccid_normalise("89882280000000000015", out), DP_ERR_PG_LUHN);
	assert_int_equal(dp_pg_iccid_header("8949449999999990163", b), 0);
	assert_bytes_equal(b, 10, (const uint8_t *)"\x89\x49\x44\x99\x99\x99\x99\x90\x16\x3F", 10);
	assert_int_equal(dp_pg_iccid_ef("8949449999999990163", b), 0);
	assert_bytes_equal(b, 10, (const uint8_t *)"\x98\x94\x44\x99\x99\x99\x99\x09\x61\xF3", 10);
	uint8_t imsi[9];
	assert_int_equal(dp_pg_imsi_ef("001010123456063", imsi), 0);
	assert_bytes_equal(imsi, 9, (const uint8_t *)"\x08\x09\x10\x10\x10\x32\x54\x06\x36", 9);
	assert_int_equal(dp_pg_imsi_ef("00101012345606", imsi), 0); /* even: parity 1, F pad */
	assert_bytes_equal(imsi, 9, (const uint8_t *)"\x08\x01\x10\x10\x10\x32\x54\x06\xF6", 9);
	char back[16];
	assert_int_equal(dp_pg_imsi_from_ef(imsi, back), 0);
	assert_string_equal(back, "00101012345606");
	assert_int_equal(dp_pg_imsi_ef("0010101234560631", imsi), DP_ERR_PG_VALUE);
	uint8_t acc[2];
	dp_pg_acc_from_imsi("001010123456063", acc);
	assert_bytes_equal(acc, 2, (const uint8_t *)"\x00\x08", 2);
}

/* Bad input: the error names file:line:col and the field. */
static void bad(const char *yaml, int want, const char *where, const char *what)
{
	struct dp_pg_package p;
	dp_pg_package_init(&p);
	int r = dp_pg_build_yaml("bad.yaml", yaml, strlen(yaml), dp_test_data("profilegen"), &p);
	const char *d = dp_err_detail();
	if (r != want || strstr(d, where) == NULL || strstr(d, what) == NULL)
		fail_msg("got %s \"%s\", want %s with \"%s\" and \"%s\"", dp_errname(r), d,
			 dp_errname(want), where, what);
	dp_pg_package_deinit(&p);
}

static const char hdr[] = "elements:\n"
			  "  - header:\n"
			  "      major-version: 2\n"
			  "      minor-version: 3\n";

static void test_bad_inputs(void **s)
{
	(void)s;
	char y[1024];
	snprintf(y, sizeof(y),
		 "%s      iccid: \"89882280000000000015\"\n"
		 "      eUICC-Mandatory-services: []\n      eUICC-Mandatory-GFSTEList: []\n", hdr);
	bad(y, DP_ERR_PG_LUHN, "bad.yaml:5:14: elements[0].header.iccid", "Luhn");
	bad("base: milenage_opc.der\npersonalisation:\n  imsi: \"2620198765432101\"\n",
	    DP_ERR_PG_VALUE, "bad.yaml:3:9: personalisation.imsi", "at most 15");
	bad("base: milenage_opc.der\npersonalisation:\n  ki: 000102030405060708090A0B0C0D0E\n",
	    DP_ERR_PG_VALUE, "bad.yaml:3:7: personalisation.ki", "16 or 32 bytes");
	snprintf(y, sizeof(y), "%s      colour: blue\n", hdr);
	bad(y, DP_ERR_PG_SCHEMA, "bad.yaml:5:7: elements[0].header", "unknown key 'colour'");
	snprintf(y, sizeof(y), "%s      iccid: [1, 2]\n", hdr);
	bad(y, DP_ERR_PG_SCHEMA, "bad.yaml:5:14: elements[0].header.iccid", "expected a scalar");
	bad("elements:\n  - mf:\n      mf-header: {identification: 1}\n"
	    "      templateID: 2.23.143.1.2.1\n      ef-iccid: []\n      ef-iccid: []\n",
	    DP_ERR_PG_DUPLICATE, "bad.yaml:6:7: elements[0].mf", "duplicate key 'ef-iccid'");
	bad("base: bad-base.der\n", DP_ERR_PG_PACKAGE, "bad.yaml:1:7: base", "does not decode");
	{
		/* a base path too long for the path buffer is refused, not truncated */
		char text[5000] = "base: ";
		memset(text + 6, 'a', 4500);
		strcpy(text + 4506, "\n");
		bad(text, DP_ERR_PG_VALUE, "bad.yaml:1:7: base", "path longer than");
	}
	bad("elements:\n  - usim:\n      usim-header: {identification: x}\n",
	    DP_ERR_PG_SCHEMA, "bad.yaml:3:37: elements[0].usim.usim-header.identification",
	    "expected an integer");
	bad("elements:\n  - akaParameter:\n      aka-header: {identification: 1}\n"
	    "      algoConfiguration:\n        algoParameter:\n          algorithmID: milenage\n"
	    "          algorithmOptions: \"01\"\n"
	    "          key: 000102030405060708090A0B0C0D0E\n"
	    "          opc: 000102030405060708090A0B0C0D0E0F\n",
	    DP_ERR_PG_VALUE, "bad.yaml:8:16: elements[0].akaParameter.algoConfiguration."
			     "algoParameter.key", "15 bytes");
	bad("elements: [\n", DP_ERR_PG_YAML, "bad.yaml:2:1", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identifiers),
		cmocka_unit_test(test_golden_milenage_opc),
		cmocka_unit_test(test_golden_milenage_op),
		cmocka_unit_test(test_golden_tuak),
		cmocka_unit_test(test_golden_isim),
		cmocka_unit_test(test_golden_template_override),
		cmocka_unit_test(test_ts48_base_override),
		cmocka_unit_test(test_bad_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
