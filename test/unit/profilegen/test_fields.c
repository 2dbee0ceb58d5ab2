/* profilegen readable fields: EF.SPN and EF.SMSP content (3GPP TS 31.102 4.2.12/4.2.27,
 * TS 51.011 10.5.6), the AKA sequence-number settings (SAIP 3.3.1 PE-AKAParameter) and
 * TUAK TOPc from TOP (3GPP TS 35.231 6.1).
 *
 * How the expected bytes were verified, independently of the code:
 *  - "GSMA_TEST" in the SMS default alphabet (TS 23.038 6.2.1) is 47 53 4D 41 11 54 45 53
 *    54 ('_' is 0x11 there), as the TS.48 packages carry it; '@' is 0x00, '$' 0x02, and
 *    the euro sign is the extension 1B 65;
 *  - the SMSP record E1, 12 x FF, 08 91 94 51 97 10 90 99 F9 FF FF FF, 00 00 A9 is the
 *    research note's example (SMSC +4915790109999, TP-VP A9 = 169 = 3 days, TS 23.040
 *    9.2.3.12.1: (169 - 166) days); 14 FF of empty alpha id before it (record length 42);
 *  - sqnDelta 268435456 = 0x10000000 -> 00 00 10 00 00 00 (the SAIP DEFAULT);
 *  - TOPc: the six TUAK test sets of 3GPP TS 35.232/35.233 (K, TOP, Keccak iterations). */
#include <stdio.h>
#include <string.h>

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

/* Builds the YAML text into der; returns the error (der then empty). */
static int build(const char *yaml, struct dp_buf *der)
{
	struct dp_pg_package p;
	dp_pg_package_init(&p);
	dp_buf_init(der, DP_PG_MAX_PACKAGE);
	int r = dp_pg_build_yaml("t.yaml", yaml, strlen(yaml), NULL, &p);
	if (r == DP_OK)
		assert_int_equal(dp_pg_package_der(&p, der), 0);
	dp_pg_package_deinit(&p);
	return r;
}

static void build_ok(const char *yaml, struct dp_buf *der)
{
	if (build(yaml, der) != DP_OK)
		fail_msg("%s", dp_err_detail());
}

/* The build error must name this file:line:col and field path. */
static void build_fails(const char *yaml, int err, const char *where)
{
	struct dp_buf der;
	int r = build(yaml, &der);
	dp_buf_deinit(&der);
	if (r != err || strstr(dp_err_detail(), where) == NULL)
		fail_msg("want %d '%s', got %d '%s'", err, where, r, dp_err_detail());
}

/* dump(der) must contain `want` and build back to the same bytes; returns nothing. */
static void dump_has(const struct dp_buf *der, const char *want)
{
	struct dp_pg_package p, q;
	struct dp_buf y, again;
	dp_pg_package_init(&p);
	dp_pg_package_init(&q);
	dp_buf_init(&y, DP_PG_MAX_YAML);
	dp_buf_init(&again, DP_PG_MAX_PACKAGE);
	assert_int_equal(dp_pg_package_parse(der->data, der->len, &p), 0);
	assert_int_equal(dp_pg_dump(&p, &y), 0);
	assert_int_equal(dp_buf_append_byte(&y, 0), 0);
	if (strstr((const char *)y.data, want) == NULL)
		fail_msg("dump lacks '%s':\n%s", want, (const char *)y.data);
	if (dp_pg_build_yaml("dump", (const char *)y.data, y.len - 1, NULL, &q) != 0)
		fail_msg("%s", dp_err_detail());
	assert_int_equal(dp_pg_package_der(&q, &again), 0);
	assert_bytes_equal(again.data, again.len, der->data, der->len);
	dp_pg_package_deinit(&p);
	dp_pg_package_deinit(&q);
	dp_buf_deinit(&y);
	dp_buf_deinit(&again);
}

/* A USIM PE with one file member given as `member` (already indented YAML lines). */
static void usim_with(char *out, size_t cap, const char *member)
{
	snprintf(out, cap,
		 "elements:\n"
		 "  - usim:\n"
		 "      usim-header: {mandated: true, identification: 4}\n"
		 "      templateID: 2.23.143.1.2.4\n"
		 "      adf-usim: []\n"
		 "      ef-imsi:\n"
		 "        - imsi: \"262019876543210\"\n"
		 "      ef-arr: []\n"
		 "      ef-ust: []\n"
		 "%s%s"
		 "      ef-est: []\n"
		 "      ef-acc: []\n"
		 "      ef-ecc: []\n",
		 member, strstr(member, "ef-spn:") ? "" : "      ef-spn: []\n");
}

/* The USIM with ef-spn (and no ef-smsp): spn is the fillFileContent value lines. */
static void spn_doc(char *out, size_t cap, const char *spn)
{
	char m[2048];
	snprintf(m, sizeof(m), "      ef-spn:\n        - fillFileContent:\n%s", spn);
	usim_with(out, cap, m);
}

static void test_spn_gsm7(void **s)
{
	(void)s;
	char y[4096];
	struct dp_buf der;
	spn_doc(y, sizeof(y),
		"            showPlmnNameAtHome: true\n"
		"            showSpnWhenRoaming: true\n"
		"            name: \"GSMA_TEST\"\n");
	build_ok(y, &der);
	/* display condition 01, the name, FF up to 17 bytes */
	assert_true(contains(&der, "8311 01 47534D41 11 54455354 FFFFFFFFFFFFFF"));
	dump_has(&der, "name: \"GSMA_TEST\"");
	dump_has(&der, "showPlmnNameAtHome: true");
	dp_buf_deinit(&der);

	/* '@' 00, '$' 02, euro 1B 65 (extension table); SPN not wanted abroad: b2 = 1 */
	spn_doc(y, sizeof(y),
		"            showSpnWhenRoaming: false\n"
		"            name: \"@$\xE2\x82\xAC\"\n"
		"            size: 6\n");
	build_ok(y, &der);
	assert_true(contains(&der, "8306 02 00 02 1B65 FF"));
	dump_has(&der, "size: 6");
	dp_buf_deinit(&der);
}

static void test_spn_ucs2(void **s)
{
	(void)s;
	char y[4096];
	struct dp_buf der;
	/* "Ωß€" coded as '80' + UCS2 big-endian */
	spn_doc(y, sizeof(y),
		"            name: \"\xCE\xA9\xC3\x9F\xE2\x82\xAC\"\n"
		"            coding: ucs2\n");
	build_ok(y, &der);
	assert_true(contains(&der, "8311 00 80 03A9 00DF 20AC FFFFFFFFFFFFFFFFFF"));
	dump_has(&der, "coding: ucs2");
	dp_buf_deinit(&der);
}

static void test_spn_hex_kept(void **s)
{
	(void)s;
	char y[4096];
	struct dp_buf der;
	/* RFU bit b3 of the display condition, and a name byte >= 0x80 that is no coding:
	 * the dump keeps hex (and still round-trips) */
	usim_with(y, sizeof(y), "      ef-spn:\n        - fillFileContent: 0441FF\n");
	build_ok(y, &der);
	dump_has(&der, "fillFileContent: 0441FF");
	dp_buf_deinit(&der);
	usim_with(y, sizeof(y), "      ef-spn:\n        - fillFileContent: 0041C1FF\n");
	build_ok(y, &der);
	dump_has(&der, "fillFileContent: 0041C1FF");
	dp_buf_deinit(&der);
}

static void test_spn_bad(void **s)
{
	(void)s;
	char y[4096];
	spn_doc(y, sizeof(y), "            name: \"\xE4\xB8\xAD\"\n"); /* U+4E2D, not GSM */
	build_fails(y, DP_ERR_PG_VALUE,
		    "t.yaml:12:19: elements[0].usim.ef-spn[0].fillFileContent.name: U+4E2D is "
		    "not in the GSM 7-bit default alphabet");
	spn_doc(y, sizeof(y), "            name: \"Seventeen bytes!!\"\n");
	build_fails(y, DP_ERR_PG_VALUE, "ef-spn[0].fillFileContent.name: text needs 17 bytes");
	spn_doc(y, sizeof(y), "            colour: red\n");
	build_fails(y, DP_ERR_PG_SCHEMA,
		    "t.yaml:12:13: elements[0].usim.ef-spn[0]."
		    "fillFileContent: unknown key 'colour'");
	spn_doc(y, sizeof(y), "            showPlmnNameAtHome: maybe\n");
	build_fails(y, DP_ERR_PG_VALUE, "fillFileContent.showPlmnNameAtHome: expected true");
	spn_doc(y, sizeof(y), "            coding: utf16\n");
	build_fails(y, DP_ERR_PG_VALUE, "fillFileContent.coding: unknown coding 'utf16'");
}

static const char smsp_record[] =
    "      ef-smsp:\n"
    "        - fileDescriptor: {fileDescriptor: 4221002A, efFileSize: \"54\"}\n"
    "        - fillFileContent:\n"
    "            - alphaIdLength: 14\n"
    "              serviceCentreAddress: \"+4915790109999\"\n"
    "              protocolId: 0\n"
    "              dataCodingScheme: 0\n"
    "              validityPeriod: 3d\n"
    "            - alphaIdLength: 14\n"
    "              alphaId: \"SMSC 2\"\n"
    "              destinationAddress: {tonNpi: 0xA1, digits: \"12*#\"}\n"
    "              serviceCentreAddress: \"4915790109999\"\n"
    "              validityPeriod: 12h\n";

static void test_smsp(void **s)
{
	(void)s;
	char y[4096];
	struct dp_buf der;
	usim_with(y, sizeof(y), smsp_record);
	build_ok(y, &der);
	/* record 1: the reference record behind 14 bytes of empty alpha id */
	assert_true(contains(&der, "FFFFFFFFFFFFFFFFFFFFFFFFFFFF E1 FFFFFFFFFFFFFFFFFFFFFFFF "
				   "08 91 94 51 97 10 90 99 F9 FF FF FF 00 00 A9"));
	/* record 2: alpha id "SMSC 2", TP-DA (4 digits, TON/NPI A1, 1 2 * #), SC with 81,
	 * no PID/DCS (indicators b3, b4 = 1), VP 12 h = 143 */
	assert_true(contains(&der, "534D53432032 FFFFFFFFFFFFFFFF EC 04 A1 21 BA FFFFFFFFFFFFFFFF "
				   "08 81 94 51 97 10 90 99 F9 FF FF FF FF FF 8F"));
	dump_has(&der, "serviceCentreAddress: \"+4915790109999\"");
	dump_has(&der, "validityPeriod: 3d");
	dump_has(&der, "destinationAddress: {tonNpi: 0xA1, digits: \"12*#\"}");
	dump_has(&der, "alphaId: \"SMSC 2\"");
	dp_buf_deinit(&der);

	/* reserved indicator bits cleared: not the builder's form, hex is kept */
	usim_with(y, sizeof(y),
		  "      ef-smsp:\n        - fillFileContent: FFFFFFFFFFFFFFFFFFFFFFFFFFFF01"
		  "FFFFFFFFFFFFFFFFFFFFFFFF0891945197109099F9FFFFFF0000A9\n");
	build_ok(y, &der);
	dump_has(&der, "fillFileContent: FFFFFFFFFFFFFFFFFFFFFFFFFFFF01");
	dp_buf_deinit(&der);
}

static void test_smsp_bad(void **s)
{
	(void)s;
	char y[4096];
	usim_with(y, sizeof(y),
		  "      ef-smsp:\n        - fillFileContent:\n"
		  "            - serviceCentreAddress: \"+49x\"\n");
	build_fails(y, DP_ERR_PG_VALUE,
		    "t.yaml:12:37: elements[0].usim.ef-smsp[0].fillFileContent[0]."
		    "serviceCentreAddress: 'x' is not a digit");
	usim_with(y, sizeof(y),
		  "      ef-smsp:\n        - fillFileContent:\n"
		  "            - validityPeriod: 7m\n");
	build_fails(y, DP_ERR_PG_VALUE,
		    "fillFileContent[0].validityPeriod: '7m' is not a validity period");
	usim_with(y, sizeof(y),
		  "      ef-smsp:\n        - fillFileContent:\n"
		  "            - destinationAddress: \"123456789012345678901\"\n");
	build_fails(y, DP_ERR_PG_VALUE, "destinationAddress: at most 20 digits");
	usim_with(y, sizeof(y),
		  "      ef-smsp:\n        - fillFileContent:\n"
		  "            - alphaIdLength: 2\n              alphaId: \"abc\"\n");
	build_fails(y, DP_ERR_PG_VALUE, "fillFileContent[0].alphaId: text needs 3 bytes");
	usim_with(y, sizeof(y), "      ef-smsp:\n        - fillFileContent: {protocolId: 0}\n");
	build_fails(y, DP_ERR_PG_SCHEMA,
		    "t.yaml:11:28: elements[0].usim.ef-smsp[0]."
		    "fillFileContent: expected a list of EF.SMSP records");
	usim_with(y, sizeof(y),
		  "      ef-smsp:\n        - fillFileContent:\n"
		  "            - protocolId: 256\n");
	build_fails(y, DP_ERR_PG_VALUE, "fillFileContent[0].protocolId: '256' is not an integer");
}

/* ---- AKA ---- */

static void aka_doc(char *out, size_t cap, const char *algo, const char *sqn)
{
	snprintf(out, cap,
		 "elements:\n"
		 "  - akaParameter:\n"
		 "      aka-header: {mandated: true, identification: 6}\n"
		 "      algoConfiguration:\n"
		 "        algoParameter:\n"
		 "%s"
		 "%s",
		 algo, sqn);
}

static const char milenage[] = "          algorithmID: milenage\n"
			       "          algorithmOptions: \"01\"\n"
			       "          key: 000102030405060708090A0B0C0D0E0F\n"
			       "          opc: 0F0E0D0C0B0A09080706050403020100\n";

static void test_sqn(void **s)
{
	(void)s;
	char y[4096];
	struct dp_buf der;
	aka_doc(y, sizeof(y), milenage,
		"      sqnOptions: \"02\"\n"
		"      sqnDelta: 268435456\n"
		"      sqnAgeLimit: 0x07FFFFFFFFFF\n"
		"      sqnInit: 5\n");
	build_ok(y, &der);
	/* sqnOptions [2], sqnDelta [3], sqnAgeLimit [4] */
	assert_true(contains(&der, "8201 02 8306 000010000000 8406 07FFFFFFFFFF"));
	/* sqnInit [5]: 32 OCTET STRINGs of 6 bytes (256 content bytes), all 5 */
	char want[600] = "A5820100";
	for (int i = 0; i < 32; i++)
		strcat(want, " 0406000000000005");
	assert_true(contains(&der, want));
	dump_has(&der, "sqnDelta: 268435456");
	dump_has(&der, "sqnAgeLimit: 8796093022207");
	dump_has(&der, "sqnInit: 5\n");
	dp_buf_deinit(&der);

	/* 32 different values are listed */
	char list[1024] = "      sqnInit: [";
	for (int i = 0; i < 32; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d", i ? ", " : "",
			 i * 32);
	strcat(list, "]\n");
	aka_doc(y, sizeof(y), milenage, list);
	build_ok(y, &der);
	assert_true(contains(&der, "0406000000000000 0406000000000020 0406000000000040"));
	dump_has(&der, "sqnInit: [0, 32, 64,");
	dp_buf_deinit(&der);
}

static void test_sqn_bad(void **s)
{
	(void)s;
	char y[4096];
	aka_doc(y, sizeof(y), milenage, "      sqnDelta: 0x080000000000\n");
	build_fails(y, DP_ERR_PG_VALUE,
		    "t.yaml:10:17: elements[0].akaParameter.sqnDelta: "
		    "'0x080000000000' is not an integer in 0..8796093022207");
	aka_doc(y, sizeof(y), milenage, "      sqnInit: [0, 1, 2]\n");
	build_fails(y, DP_ERR_PG_VALUE,
		    "t.yaml:10:16: elements[0].akaParameter.sqnInit: "
		    "sqnInit has 32 values (one per IND), not 3");
	aka_doc(y, sizeof(y), milenage, "      sqnAgeLimit: lots\n");
	build_fails(y, DP_ERR_PG_SCHEMA, "akaParameter.sqnAgeLimit: expected an integer");
}

/* 3GPP TS 35.232/35.233 TUAK test sets 1..6: K, TOP, iterations, TOPc. */
static const struct {
	const char *k, *top;
	unsigned iter;
	const char *topc;
} tuak_sets[] = {
    {"abababababababababababababababab",
     "5555555555555555555555555555555555555555555555555555555555555555", 1,
     "bd04d9530e87513c5d837ac2ad954623a8e2330c115305a73eb45d1f40cccbff"},
    {"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0",
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", 1,
     "305425427e18c503c8a4b294ea72c95d0c36c6c6b29d0c65de5974d5977f8524"},
    {"b8da837a50652d6ac7c97da14f6acc61",
     "0952be13556c32ebc58195d9dd930493e12a9003669988ffde5fa1f0fe35cc01", 1,
     "2bc16eb657a68e1f446f08f57c0efb1d493527a2e652ce281eb6ca0e4487760a"},
    {"1574ca56881d05c189c82880f789c9cd4244955f4426aa2b69c29f15770e5aa5",
     "e59f6eb10ea406813f4991b0b9e02f181edf4c7e17b480f66d34da35ee88c95e", 1,
     "3c6052e41532a28a47aa3cbb89f223e8f3aaa976aecd48bc3e7d6165a55eff62"},
    {"1574ca56881d05c189c82880f789c9cd4244955f4426aa2b69c29f15770e5aa5",
     "e59f6eb10ea406813f4991b0b9e02f181edf4c7e17b480f66d34da35ee88c95e", 2,
     "b04a66f26c62fcd6c82de22a179ab65506ecf47f56245cd149966cfa9cec7a51"},
};

static void test_topc_vectors(void **s)
{
	(void)s;
	for (size_t i = 0; i < sizeof(tuak_sets) / sizeof(tuak_sets[0]); i++) {
		struct dp_buf k, top, want;
		uint8_t topc[32];
		dp_test_hex(tuak_sets[i].k, &k);
		dp_test_hex(tuak_sets[i].top, &top);
		dp_test_hex(tuak_sets[i].topc, &want);
		assert_int_equal(
		    dp_pg_topc_from_top(k.data, k.len, top.data, tuak_sets[i].iter, topc), 0);
		assert_bytes_equal(topc, 32, want.data, want.len);
		dp_buf_deinit(&k);
		dp_buf_deinit(&top);
		dp_buf_deinit(&want);
	}
	uint8_t k[20] = {0}, top[32] = {0}, out[32];
	assert_int_equal(dp_pg_topc_from_top(k, 20, top, 1, out), DP_ERR_PG_VALUE);
	assert_int_equal(dp_pg_topc_from_top(k, 16, top, 0, out), DP_ERR_PG_VALUE);
}

static void test_topc_yaml(void **s)
{
	(void)s;
	char y[4096];
	struct dp_buf der;
	/* test set 6: 256-bit K, 2 Keccak iterations */
	aka_doc(y, sizeof(y),
		"          algorithmID: tuak\n"
		"          algorithmOptions: \"01\"\n"
		"          key: 1574ca56881d05c189c82880f789c9cd4244955f4426aa2b69c29f15770e5aa5\n"
		"          top: e59f6eb10ea406813f4991b0b9e02f181edf4c7e17b480f66d34da35ee88c95e\n"
		"          numberOfKeccak: 2\n",
		"");
	build_ok(y, &der);
	assert_true(contains(&der, "8320 b04a66f26c62fcd6c82de22a179ab65506ecf47f56245cd149966cfa9c"
				   "ec7a51"));
	dp_buf_deinit(&der);
	/* test set 3 (128-bit K, numberOfKeccak DEFAULT 1) */
	aka_doc(y, sizeof(y),
		"          algorithmID: tuak\n"
		"          algorithmOptions: \"01\"\n"
		"          key: b8da837a50652d6ac7c97da14f6acc61\n"
		"          top: 0952be13556c32ebc58195d9dd930493e12a9003669988ffde5fa1f0fe35cc01\n",
		"");
	build_ok(y, &der);
	assert_true(contains(&der, "8320 2bc16eb657a68e1f446f08f57c0efb1d493527a2e652ce281eb6ca0e44"
				   "87760a"));
	dp_buf_deinit(&der);
}

static void test_topc_bad(void **s)
{
	(void)s;
	char y[4096];
	aka_doc(y, sizeof(y),
		"          algorithmID: milenage\n"
		"          algorithmOptions: \"01\"\n"
		"          key: 000102030405060708090A0B0C0D0E0F\n"
		"          top: 00\n",
		"");
	build_fails(y, DP_ERR_PG_VALUE,
		    "t.yaml:9:16: elements[0].akaParameter.algoConfiguration."
		    "algoParameter.top: top (TOP -> TOPc) needs algorithmID tuak");
	aka_doc(y, sizeof(y),
		"          algorithmID: tuak\n"
		"          algorithmOptions: \"01\"\n"
		"          key: 000102030405060708090A0B0C0D0E0F\n"
		"          top: 0011\n",
		"");
	build_fails(y, DP_ERR_PG_VALUE, "algoParameter.top: TOP must be 32 bytes, not 2");
	aka_doc(y, sizeof(y),
		"          algorithmID: tuak\n"
		"          algorithmOptions: \"01\"\n"
		"          key: 000102030405060708090A0B0C0D0E0F\n"
		"          opc: 000102030405060708090A0B0C0D0E0F000102030405060708090A0B0C0D0E0F\n"
		"          top: 000102030405060708090A0B0C0D0E0F000102030405060708090A0B0C0D0E0F\n",
		"");
	build_fails(y, DP_ERR_PG_SCHEMA, "algoParameter.top: give one of opc, op or top");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spn_gsm7),	 cmocka_unit_test(test_spn_ucs2),
	    cmocka_unit_test(test_spn_hex_kept), cmocka_unit_test(test_spn_bad),
	    cmocka_unit_test(test_smsp),	 cmocka_unit_test(test_smsp_bad),
	    cmocka_unit_test(test_sqn),		 cmocka_unit_test(test_sqn_bad),
	    cmocka_unit_test(test_topc_vectors), cmocka_unit_test(test_topc_yaml),
	    cmocka_unit_test(test_topc_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
