/* profilegen batch: 1,000 profiles from one template with unique ICCIDs, IMSIs and keys;
 * the operator CSV matches what is inside each package. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pki/asn1/asn1.h"
#include "pki/base/codec.h"
#include "profilegen/profilegen.h"
#include "test/support/support.h"

#define COUNT 1000

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void assert_unique(char (*v)[80], size_t n)
{
	qsort(v, n, 80, cmp_str);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i - 1], v[i]) == 0)
			fail_msg("duplicate %s", v[i]);
}

/* The first PE with tag `alt` decoded. */
static asn1_node pe_of(const struct dp_pg_package *p, const char *want)
{
	for (size_t i = 0; i < p->n; i++) {
		asn1_node n = NULL;
		const char *alt;
		assert_int_equal(dp_asn1_decode_pe(p->pes[i].der, p->pes[i].len, &n, &alt), 0);
		if (strcmp(alt, want) == 0)
			return n;
		dp_asn1_free(&n);
	}
	fail_msg("no %s PE", want);
	return NULL;
}

static void test_batch_1000(void **s)
{
	(void)s;
	char dir[] = "/tmp/pg-batch-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct dp_pg_package tpl;
	dp_pg_package_init(&tpl);
	if (dp_pg_build_file(dp_test_data("profilegen/milenage_opc.yaml"), &tpl) != 0)
		fail_msg("%s", dp_err_detail());
	char csvpath[256];
	snprintf(csvpath, sizeof(csvpath), "%s/operator.csv", dir);
	FILE *csv = fopen(csvpath, "w");
	assert_non_null(csv);
	struct dp_pg_batch b = { 0 };
	b.count = COUNT;
	b.iccid_first = "894944000000000990"; /* crosses a decade: 99x -> 1000 */
	b.imsi_first = "262019000000990";
	b.out_dir = dir;
	b.csv_out = csv;
	if (dp_pg_batch_run(&tpl, &b) != 0)
		fail_msg("%s", dp_err_detail());
	assert_int_equal(fclose(csv), 0);

	static char iccids[COUNT][80], imsis[COUNT][80], kis[COUNT][80], opcs[COUNT][80];
	FILE *f = fopen(csvpath, "r");
	assert_non_null(f);
	char line[512];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "ICCID,IMSI,Ki,OPc,PIN1,PUK1,PIN2,PUK2,ADM1\n");
	size_t n = 0;
	while (fgets(line, sizeof(line), f)) {
		char iccid[32], imsi[32], ki[80], opc[80], pin1[16], puk1[16], pin2[16], puk2[16],
			adm1[16];
		assert_true(n < COUNT);
		assert_int_equal(sscanf(line, "%31[^,],%31[^,],%79[^,],%79[^,],%15[^,],%15[^,],"
					      "%15[^,],%15[^,],%15[^,\n]",
					iccid, imsi, ki, opc, pin1, puk1, pin2, puk2, adm1), 9);
		char norm[21];
		assert_int_equal(dp_pg_iccid_normalise(iccid, norm), 0); /* Luhn valid */
		assert_string_equal(norm, iccid);
		assert_int_equal(strlen(pin1), 4);
		assert_int_equal(strlen(puk1), 8);
		assert_int_equal(strlen(adm1), 8);
		/* the package holds exactly these values */
		char path[512];
		struct dp_buf der;
		struct dp_pg_package p;
		const char *rule;
		snprintf(path, sizeof(path), "%s/%s.der", dir, iccid);
		dp_buf_init(&der, DP_PG_MAX_PACKAGE);
		dp_test_read_file(path, &der);
		dp_pg_package_init(&p);
		assert_int_equal(dp_pg_package_parse(der.data, der.len, &p), 0);
		assert_int_equal(dp_pg_check(&p, &rule), 0);
		asn1_node h = pe_of(&p, "header");
		uint8_t v[64], want[64];
		size_t vl, wl;
		char digits[21];
		assert_int_equal(dp_asn1_read(h, "header.iccid", v, sizeof(v), &vl), 0);
		assert_int_equal(dp_pg_iccid_from_header(v, digits), 0);
		assert_string_equal(digits, iccid);
		dp_asn1_free(&h);
		asn1_node u = pe_of(&p, "usim");
		assert_int_equal(dp_asn1_read(u, "usim.ef-imsi.?1.fillFileContent", v, sizeof(v),
					      &vl), 0);
		assert_int_equal(dp_pg_imsi_from_ef(v, digits), 0);
		assert_string_equal(digits, imsi);
		dp_asn1_free(&u);
		asn1_node a = pe_of(&p, "akaParameter");
		assert_int_equal(dp_asn1_read(a, "akaParameter.algoConfiguration.algoParameter.key",
					      v, sizeof(v), &vl), 0);
		assert_int_equal(dp_hex_decode(ki, strlen(ki), want, sizeof(want), &wl), 0);
		assert_bytes_equal(v, vl, want, wl);
		assert_int_equal(dp_asn1_read(a, "akaParameter.algoConfiguration.algoParameter.opc",
					      v, sizeof(v), &vl), 0);
		assert_int_equal(dp_hex_decode(opc, strlen(opc), want, sizeof(want), &wl), 0);
		assert_bytes_equal(v, vl, want, wl);
		dp_asn1_free(&a);
		asn1_node pin = pe_of(&p, "pinCodes");
		assert_int_equal(dp_asn1_read(pin, "pinCodes.pinCodes.pinconfig.?1.pinValue", v,
					      sizeof(v), &vl), 0);
		assert_int_equal(dp_pg_pin_decode(v, digits), 0);
		assert_string_equal(digits, pin1);
		assert_int_equal(dp_asn1_read(pin, "pinCodes.pinCodes.pinconfig.?2.pinValue", v,
					      sizeof(v), &vl), 0);
		assert_int_equal(dp_pg_pin_decode(v, digits), 0);
		assert_string_equal(digits, adm1);
		dp_asn1_free(&pin);
		snprintf(iccids[n], 80, "%s", iccid);
		snprintf(imsis[n], 80, "%s", imsi);
		snprintf(kis[n], 80, "%s", ki);
		snprintf(opcs[n], 80, "%s", opc);
		n++;
		dp_pg_package_deinit(&p);
		dp_buf_deinit(&der);
		unlink(path);
	}
	fclose(f);
	assert_int_equal(n, COUNT);
	assert_unique(iccids, n);
	assert_unique(imsis, n);
	assert_unique(kis, n);
	assert_unique(opcs, n);
	unlink(csvpath);
	rmdir(dir);
	dp_pg_package_deinit(&tpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_batch_1000) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
