/* SAIP packages: every file of ../shared/ts48 decodes as a sequence of ProfileElements
 * (one PEW-<alt> wrapper per element) and re-encodes to identical bytes. */
#include "test/support/support.h"

#include <dirent.h>
#include <string.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"

static void round_trip_file(const char *path, size_t *n_pes)
{
	struct dp_buf pkg, out;
	dp_test_read_file(path, &pkg);
	dp_buf_init(&out, pkg.len);
	struct dp_cursor c = dp_cursor_make(pkg.data, pkg.len);
	const char *first = NULL, *last = NULL;
	*n_pes = 0;
	while (!dp_cursor_done(&c)) {
		struct dp_tlv t;
		asn1_node pe;
		const char *alt;
		assert_int_equal(dp_tlv_next(&c, &t), 0);
		int r = dp_asn1_decode_pe(t.raw, t.raw_len, &pe, &alt);
		if (r)
			fail_msg("%s PE %zu: %s", path, *n_pes, dp_err_detail());
		/* strict: a TS.48 package has nothing this schema does not know */
		asn1_node exact;
		char wrapper[80];
		snprintf(wrapper, sizeof(wrapper), "PEDefinitions.PEW-%s", alt);
		assert_int_equal(dp_asn1_decode_exact(wrapper, t.raw, t.raw_len, &exact), 0);
		dp_asn1_free(&exact);
		size_t before = out.len;
		assert_int_equal(dp_asn1_encode(pe, "", &out), 0);
		assert_bytes_equal(out.data + before, out.len - before, t.raw, t.raw_len);
		if (first == NULL)
			first = alt;
		last = alt;
		dp_asn1_free(&pe);
		(*n_pes)++;
	}
	assert_bytes_equal(out.data, out.len, pkg.data, pkg.len);
	assert_string_equal(first, "header");
	assert_string_equal(last, "end");
	dp_buf_deinit(&out);
	dp_buf_deinit(&pkg);
}

static void ts48_round_trip(void **state)
{
	const char *dir = dp_test_shared("ts48");
	char dirpath[4096];
	snprintf(dirpath, sizeof(dirpath), "%s", dir);
	DIR *d = opendir(dirpath);
	assert_non_null(d);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".der") != 0)
			continue;
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
		size_t n;
		round_trip_file(path, &n);
		assert_true(n >= 20);
		files++;
	}
	closedir(d);
	assert_true(files >= 2);
}

static void read_header_fields(void **state)
{
	struct dp_buf pkg;
	struct dp_tlv t;
	asn1_node pe;
	const char *alt;
	dp_test_read_file(dp_test_shared("ts48/TS48v1_A.der"), &pkg);
	assert_int_equal(dp_tlv_read(pkg.data, pkg.len, &t), 0);
	assert_int_equal(t.tag, 0xA0);
	assert_int_equal(dp_asn1_decode_pe(t.raw, t.raw_len, &pe, &alt), 0);
	assert_string_equal(alt, "header");
	uint64_t major;
	assert_int_equal(dp_asn1_read_uint(pe, "header.major-version", &major), 0);
	assert_int_equal(major, 2);
	uint8_t iccid[10];
	size_t n;
	assert_int_equal(dp_asn1_read(pe, "header.iccid", iccid, sizeof(iccid), &n), 0);
	assert_int_equal(n, 10);
	/* the header ICCID is the BCD value of the TLV as found in the file */
	struct dp_tlv hdr_iccid;
	assert_int_equal(dp_tlv_find(t.value, t.len, 0x83, &hdr_iccid), 0);
	assert_bytes_equal(iccid, n, hdr_iccid.value, hdr_iccid.len);
	dp_asn1_free(&pe);
	dp_buf_deinit(&pkg);
}

static void pe_tags(void **state)
{
	const char *alt;
	assert_int_equal(dp_asn1_pe_alternative(0xA0, &alt), 0);
	assert_string_equal(alt, "header");
	assert_int_equal(dp_asn1_pe_alternative(0xB3, &alt), 0);
	assert_string_equal(alt, "usim");
	assert_int_equal(dp_asn1_pe_alternative(0xAA, &alt), 0);
	assert_string_equal(alt, "end");
	assert_int_equal(dp_asn1_pe_alternative(0xBF20, &alt), 0);
	assert_string_equal(alt, "iot");
	assert_int_equal(dp_asn1_pe_alternative(0x30, &alt), DP_ERR_NOT_FOUND);
}

static void explicit_choice_pinned(void **state)
{
	/* PE-PINCodes.pinCodes is an automatically tagged CHOICE: [1] must be explicit */
	struct dp_buf in;
	asn1_node pe;
	const char *alt;
	dp_test_hex("A20B A003 810102 A104 81023F00", &in);
	assert_int_equal(dp_asn1_decode_pe(in.data, in.len, &pe, &alt), 0);
	assert_string_equal(alt, "pinCodes");
	char choice[32];
	assert_int_equal(dp_asn1_read_choice(pe, "pinCodes.pinCodes", choice, sizeof(choice)), 0);
	assert_string_equal(choice, "filePath");
	struct dp_buf out;
	dp_buf_init(&out, 64);
	assert_int_equal(dp_asn1_encode(pe, "", &out), 0);
	assert_bytes_equal(out.data, out.len, in.data, in.len);
	dp_asn1_free(&pe);
	dp_buf_deinit(&in);
	dp_buf_deinit(&out);
	/* the implicit (wrong) form is refused */
	dp_test_hex("A209 A003 810102 81023F00", &in);
	assert_int_not_equal(dp_asn1_decode_pe(in.data, in.len, &pe, &alt), 0);
	assert_null(pe);
	dp_buf_deinit(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ts48_round_trip),
		cmocka_unit_test(read_header_fields),
		cmocka_unit_test(pe_tags),
		cmocka_unit_test(explicit_choice_pinned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
