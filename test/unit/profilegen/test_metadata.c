/* profilegen metadata: the YAML `metadata:` mapping -> SGP.22 StoreMetadataRequest (BF25).
 *
 * Expected bytes:
 *  - pySim's public StoreMetadataRequest test vector (pySim tests, SGP.22 ES8+ encoding):
 *      BF25 2D
 *        5A 0A 98 00 10 32 54 76 98 10 32 14      iccid 89000123456789012341, EF.ICCID coding
 *        91 09 "GSMA_TEST"                        serviceProviderName
 *        92 11 "GSMA_TEST_PROFILE"                profileName
 *        95 01 00                                 profileClass test
 *    Luhn digit of 8900012345678901234 checked by hand: digits from the right
 *    4 3 2 1 0 9 8 7 6 5 4 3 2 1 0 0 0 9 8; doubled (1st, 3rd, ...: 4 2 0 8 6 4 2 0 0 8)
 *    -> 8 4 0 7 3 8 4 0 0 7 = 41 (digit sums); the others 3 1 9 7 5 3 1 0 9 = 38;
 *    41 + 38 = 79 -> check digit 1 (a separate Python snippet agrees).
 *  - metadata_full.yaml, assembled TLV by TLV (X.690 DER; SGP.22 tags):
 *      5A 0A 98 00 10 32 54 76 98 10 32 14            12 bytes
 *      91 02 4F 70                     "Op"              4
 *      92 07 4F 70 20 54 65 73 74      "Op Test"         9
 *      93 01 01                        iconType png      3
 *      94 10 89 50 4E 47 0D 0A 1A 0A 00 00 00 0D 49 48 44 52   icon.png (16 bytes)  18
 *      95 01 01                        provisioning      3
 *      B6 29                           2 + 41 = 43
 *        30 16  80 02 04 90            install(0)+delete(3): bits 1001, 4 unused bits
 *               81 10 "smdp.example.com"
 *        30 0F  80 02 05 60            enable(1)+disable(2): bits 011, 5 unused bits
 *               81 09 "n.example"
 *      B7 08  80 03 62 F2 10           mccMnc 26201: MCC2|MCC1 MNC3(F)|MCC3 MNC2|MNC1
 *             81 01 AB                 gid1           10
 *      99 02 05 60                     ppr1(1)+ppr2(2): bits 011, 5 unused   4
 *    content 12+4+9+3+18+3+43+10+4 = 106 = 0x6A -> BF25 6A.
 *  - the SGP.32 / v3 members (test_v3), in schema order:
 *      9F7B 01 FF                      ecallIndication TRUE ([123])          4
 *      9F67 01 00                      fallbackAllowed FALSE ([103])         4
 *      9B 0B "hri.example"             hriServerAddress ([27])              13
 *      BE 0B 80 02 "de" 81 05 "Hallo"  serviceProviderMessage ([30])        13
 *      BC 13 80 0C "pcmp.example" 81 01 "1" 82 00   lprConfiguration ([28]) 21
 *      9F1F 02 06 C0                   serviceDescription voice+data, 6 unused  5
 *      9F21 03 00 9C 40                estimatedProfileSize 40000 (sign byte)   6
 *    with iccid (12) and names A, B (3 + 3): 84 = 0x54 -> BF25 54. */
#include <stdio.h>
#include <string.h>

#include "pki/asn1/asn1.h"
#include "profilegen/profilegen.h"
#include "test/support/support.h"

static void meta_file(const char *rel, struct dp_buf *der)
{
	struct dp_pg_package p;
	static struct dp_pg_metadata m;
	dp_pg_package_init(&p);
	int r = dp_pg_build_file_meta(dp_test_data(rel), &p, &m);
	if (r)
		fail_msg("%s: %s", rel, dp_err_detail());
	assert_true(m.present);
	dp_buf_init(der, 4096);
	r = dp_pg_metadata_der(&p, &m, der);
	if (r)
		fail_msg("%s: %s", rel, dp_err_detail());
	dp_pg_package_deinit(&p);
	/* the output decodes as the schema type, with no unknown member */
	asn1_node n = NULL;
	r = dp_asn1_decode_exact("RSPDefinitions.StoreMetadataRequest", der->data, der->len, &n);
	if (r)
		fail_msg("%s: decode: %s", rel, dp_err_detail());
	dp_asn1_free(&n);
}

static void expect(const struct dp_buf *got, const char *hex)
{
	struct dp_buf want;
	dp_test_hex(hex, &want);
	assert_bytes_equal(got->data, got->len, want.data, want.len);
	dp_buf_deinit(&want);
}

static void test_golden_pysim(void **s)
{
	(void)s;
	struct dp_buf b;
	meta_file("profilegen/metadata_pysim.yaml", &b);
	expect(&b, "BF25 2D"
		   "5A0A 98001032547698103214"
		   "9109 47534D415F54455354"                     /* GSMA_TEST */
		   "9211 47534D415F544553545F50524F46494C45"     /* GSMA_TEST_PROFILE */
		   "9501 00");
	dp_buf_deinit(&b);
}

static void test_golden_full(void **s)
{
	(void)s;
	struct dp_buf b;
	meta_file("profilegen/metadata_full.yaml", &b);
	expect(&b, "BF25 6A"
		   "5A0A 98001032547698103214"
		   "9102 4F70"
		   "9207 4F702054657374"
		   "9301 01"
		   "9410 89504E470D0A1A0A0000000D49484452"
		   "9501 01"
		   "B629"
		   "  3016 8002 0490 8110 736D64702E6578616D706C652E636F6D"
		   "  300F 8002 0560 8109 6E2E6578616D706C65"
		   "B708 8003 62F210 8101 AB"
		   "9902 0560");
	/* field by field through the schema */
	asn1_node n = NULL;
	uint64_t v;
	uint8_t bits[4], mm[3];
	size_t nb, len;
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.StoreMetadataRequest", b.data, b.len,
					      &n), 0);
	assert_int_equal(dp_asn1_read_uint(n, "profileClass", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(dp_asn1_read_uint(n, "iconType", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(dp_asn1_count(n, "notificationConfigurationInfo", &nb), 0);
	assert_int_equal(nb, 2);
	assert_int_equal(dp_asn1_read_bits(n, "notificationConfigurationInfo.?1."
					      "profileManagementOperation", bits, sizeof(bits), &nb), 0);
	assert_int_equal(nb, 4);
	assert_int_equal(bits[0], 0x90);
	assert_int_equal(dp_asn1_read(n, "profileOwner.mccMnc", mm, sizeof(mm), &len), 0);
	assert_bytes_equal(mm, len, (const uint8_t *)"\x62\xF2\x10", 3);
	assert_false(dp_asn1_present(n, "profileOwner.gid2"));
	dp_asn1_free(&n);
	dp_buf_deinit(&b);
}

/* In-memory YAML over the milenage_opc package. */
static int meta_yaml(const char *md, struct dp_buf *der)
{
	char y[2048];
	struct dp_pg_package p;
	static struct dp_pg_metadata m;
	snprintf(y, sizeof(y), "base: milenage_opc.der\nmetadata:\n%s", md);
	dp_pg_package_init(&p);
	int r = dp_pg_build_yaml_meta("md.yaml", y, strlen(y), dp_test_data("profilegen"), &p, &m);
	if (r == DP_OK && der) {
		dp_buf_init(der, 4096);
		r = dp_pg_metadata_der(&p, &m, der);
	}
	dp_pg_package_deinit(&p);
	return r;
}

static void test_variants(void **s)
{
	(void)s;
	struct dp_buf b;
	/* operational is the DEFAULT: left out; 6-digit MNC; JPEG icon; empty PPR list */
	if (meta_yaml("  serviceProviderName: \"\"\n  profileName: X\n"
		      "  profileClass: operational\n  icon: icon.jpg\n"
		      "  profileOwner: {mccMnc: \"310410\", gid1: \"\", gid2: 0102}\n"
		      "  profilePolicyRules: [pprUpdateControl]\n"
		      "  notificationConfigurationInfo:\n"
		      "    - {events: [notificationInstall], address: a}\n", &b))
		fail_msg("%s", dp_err_detail());
	/* milenage_opc ICCID 8949440000000000016: EF coding 98 94 44 00 00 00 00 00 10 F6 */
	expect(&b, "BF25 3D"
		   "5A0A 9894440000000000 10F6"
		   "9100 9201 58"
		   "9301 00 940B FFD8FFE000104A46494600"
		   "B609 3007 8002 0780 8101 61"
		   "B70B 8003 130014 8100 8202 0102"
		   "9902 0780");
	dp_buf_deinit(&b);
	/* no icon, no class */
	if (meta_yaml("  serviceProviderName: A\n  profileName: B\n", &b))
		fail_msg("%s", dp_err_detail());
	expect(&b, "BF25 12 5A0A 9894440000000000 10F6 9101 41 9201 42");
	dp_buf_deinit(&b);
	/* a YAML without metadata: builds; the DER is refused */
	struct dp_pg_package p;
	static struct dp_pg_metadata m;
	const char *y = "base: milenage_opc.der\n";
	dp_pg_package_init(&p);
	assert_int_equal(dp_pg_build_yaml_meta("x.yaml", y, strlen(y), dp_test_data("profilegen"),
					       &p, &m), 0);
	assert_false(m.present);
	dp_buf_init(&b, 4096);
	assert_int_equal(dp_pg_metadata_der(&p, &m, &b), DP_ERR_NOT_FOUND);
	dp_buf_deinit(&b);
	dp_pg_package_deinit(&p);
	/* the plain build API accepts (and validates) metadata too */
	dp_pg_package_init(&p);
	assert_int_equal(dp_pg_build_file(dp_test_data("profilegen/metadata_full.yaml"), &p), 0);
	dp_pg_package_deinit(&p);
}

static void bad(const char *md, int want, const char *where, const char *what)
{
	int r = meta_yaml(md, NULL);
	const char *d = dp_err_detail();
	if (r != want || strstr(d, where) == NULL || strstr(d, what) == NULL)
		fail_msg("got %s \"%s\", want %s with \"%s\" and \"%s\"", dp_errname(r), d,
			 dp_errname(want), where, what);
}

#define NAMES "  serviceProviderName: S\n  profileName: P\n"

static void test_bad_inputs(void **s)
{
	(void)s;
	bad(NAMES "  colour: blue\n", DP_ERR_PG_SCHEMA, "md.yaml:5:3: metadata",
	    "unknown key 'colour'");
	bad("  profileName: P\n", DP_ERR_PG_SCHEMA, "md.yaml:3:3: metadata",
	    "missing 'serviceProviderName'");
	bad("  serviceProviderName: [a]\n  profileName: P\n", DP_ERR_PG_SCHEMA,
	    "md.yaml:3:24: metadata.serviceProviderName", "expected a scalar");
	bad("  serviceProviderName: 123456789012345678901234567890123\n  profileName: P\n",
	    DP_ERR_PG_VALUE, "md.yaml:3:24: metadata.serviceProviderName", "33 bytes, at most 32");
	bad("  serviceProviderName: S\n  profileName: "
	    "12345678901234567890123456789012345678901234567890123456789012345\n",
	    DP_ERR_PG_VALUE, "md.yaml:4:16: metadata.profileName", "65 bytes, at most 64");
	bad(NAMES "  profileClass: gold\n", DP_ERR_PG_VALUE, "md.yaml:5:17: metadata.profileClass",
	    "unknown class 'gold'");
	bad(NAMES "  icon: icon-big.png\n", DP_ERR_PG_VALUE, "md.yaml:5:9: metadata.icon",
	    "larger than 1024 bytes");
	bad(NAMES "  icon: icon.gif\n", DP_ERR_PG_VALUE, "md.yaml:5:9: metadata.icon",
	    "neither PNG nor JPEG");
	bad(NAMES "  icon: no-such-icon.png\n", DP_ERR_IO, "md.yaml:5:9: metadata.icon", "");
	bad(NAMES "  profileOwner: {mccMnc: \"2620\"}\n", DP_ERR_PG_VALUE,
	    "md.yaml:5:26: metadata.profileOwner.mccMnc", "5 or 6 digits");
	bad(NAMES "  profileOwner: {mccMnc: 2620A}\n", DP_ERR_PG_VALUE,
	    "md.yaml:5:26: metadata.profileOwner.mccMnc", "5 or 6 digits");
	bad(NAMES "  profileOwner: {gid1: AB}\n", DP_ERR_PG_SCHEMA, "md.yaml:5:17: metadata.profileOwner",
	    "missing 'mccMnc'");
	bad(NAMES "  profileOwner: {mccMnc: \"26201\", gid1: XY}\n", DP_ERR_PG_VALUE,
	    "md.yaml:5:41: metadata.profileOwner.gid1", "hex");
	bad(NAMES "  notificationConfigurationInfo: smdp.example.com\n", DP_ERR_PG_SCHEMA,
	    "md.yaml:5:34: metadata.notificationConfigurationInfo", "expected a list");
	bad(NAMES "  notificationConfigurationInfo:\n    - {events: [install, reboot], address: a}\n",
	    DP_ERR_PG_VALUE, "md.yaml:6:26: metadata.notificationConfigurationInfo[0].events[1]",
	    "unknown event 'reboot'");
	bad(NAMES "  notificationConfigurationInfo:\n    - {events: [install]}\n", DP_ERR_PG_SCHEMA,
	    "md.yaml:6:7: metadata.notificationConfigurationInfo[0]", "missing 'address'");
	bad(NAMES "  profilePolicyRules: [ppr3]\n", DP_ERR_PG_VALUE,
	    "md.yaml:5:24: metadata.profilePolicyRules[0]", "unknown profile policy rule 'ppr3'");
	bad(NAMES "  profilePolicyRules: [ppr1, ppr1]\n", DP_ERR_PG_DUPLICATE,
	    "md.yaml:5:30: metadata.profilePolicyRules[1]", "given twice");
	bad("  [a]\n", DP_ERR_PG_SCHEMA, "md.yaml:3:3: metadata", "expected a mapping");
}

static void test_v3(void **s)
{
	(void)s;
	struct dp_buf b;
	if (meta_yaml("  serviceProviderName: A\n  profileName: B\n"
		      "  ecallIndication: true\n  fallbackAllowed: false\n"
		      "  hriServerAddress: hri.example\n"
		      "  serviceProviderMessage: {languageTag: de, message: Hallo}\n"
		      "  serviceDescription: [voice, data]\n"
		      "  estimatedProfileSize: 40000\n"
		      "  lprConfiguration: {pcmpAddress: pcmp.example, dpiEnable: \"1\",\n"
		      "                     triggerLprOnEnableProfile: true}\n", &b))
		fail_msg("%s", dp_err_detail());
	expect(&b, "BF25 54 5A0A 9894440000000000 10F6 9101 41 9201 42"
		   "9F7B01FF 9F670100"
		   "9B0B 6872692E6578616D706C65"
		   "BE0B 8002 6465 8105 48616C6C6F"
		   "BC13 800C 70636D702E6578616D706C65 8101 31 8200"
		   "9F1F02 06C0 9F2103 009C40");
	dp_buf_deinit(&b);
	/* optional parts left out: no languageTag, no dpiEnable, trigger false */
	if (meta_yaml("  serviceProviderName: A\n  profileName: B\n"
		      "  serviceProviderMessage: {message: Hi}\n"
		      "  lprConfiguration: {pcmpAddress: p, triggerLprOnEnableProfile: false}\n",
		      &b))
		fail_msg("%s", dp_err_detail());
	expect(&b, "BF25 1D 5A0A 9894440000000000 10F6 9101 41 9201 42" /* 12+3+3+6+5 = 29 */
		   "BE04 8102 4869 BC03 8001 70");
	dp_buf_deinit(&b);
	bad(NAMES "  ecallIndication: yes\n", DP_ERR_PG_VALUE,
	    "md.yaml:5:20: metadata.ecallIndication", "expected true or false");
	bad(NAMES "  estimatedProfileSize: -1\n", DP_ERR_PG_VALUE,
	    "md.yaml:5:25: metadata.estimatedProfileSize", "expected a size in bytes");
	bad(NAMES "  serviceDescription: [sms]\n", DP_ERR_PG_VALUE,
	    "md.yaml:5:24: metadata.serviceDescription[0]", "unknown service 'sms'");
	bad(NAMES "  lprConfiguration: {dpiEnable: x}\n", DP_ERR_PG_SCHEMA,
	    "md.yaml:5:21: metadata.lprConfiguration", "missing 'pcmpAddress'");
	bad(NAMES "  serviceProviderMessage: {message: m, lang: en}\n", DP_ERR_PG_SCHEMA,
	    "md.yaml:5:40: metadata.serviceProviderMessage", "unknown key 'lang'");
	bad(NAMES "  hriServerAddress: [a]\n", DP_ERR_PG_SCHEMA,
	    "md.yaml:5:21: metadata.hriServerAddress", "expected a scalar");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v3),
		cmocka_unit_test(test_golden_pysim),
		cmocka_unit_test(test_golden_full),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_bad_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
