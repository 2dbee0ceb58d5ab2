/* SAIP packages: every file of ../shared/ts48 decodes as a sequence of ProfileElements
 * (one PEW-<alt> wrapper per element) and re-encodes to identical bytes. */
#include "test/support/support.h"

#include <dirent.h>
#include <pthread.h>
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

/* Calls fn on every TS.48 package of ../shared/ts48. */
static void each_package(void (*fn)(const char *path))
{
	const char *dir = dp_test_shared("ts48");
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".der") != 0)
			continue;
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fn(path);
		files++;
	}
	closedir(d);
	assert_true(files >= 2);
}

/* The decoder hands the received bytes to libtasn1 unchanged when the tolerance pass has
 * nothing to drop: that is only right if the pass would have rewritten them identically. */
static void prune_identity_file(const char *path)
{
	struct dp_buf pkg;
	dp_test_read_file(path, &pkg);
	struct dp_cursor c = dp_cursor_make(pkg.data, pkg.len);
	while (!dp_cursor_done(&c)) {
		struct dp_tlv t;
		const char *alt;
		char wrapper[80];
		struct dp_buf out;
		size_t dropped = 99;
		assert_int_equal(dp_tlv_next(&c, &t), 0);
		assert_int_equal(dp_asn1_pe_alternative(t.tag, &alt), 0);
		snprintf(wrapper, sizeof(wrapper), "PEDefinitions.PEW-%s", alt);
		dp_buf_init(&out, t.raw_len);
		assert_int_equal(dp_asn1_prune(wrapper, t.raw, t.raw_len, &out, &dropped), 0);
		assert_int_equal(dropped, 0);
		assert_bytes_equal(out.data, out.len, t.raw, t.raw_len);
		dp_buf_deinit(&out);
	}
	dp_buf_deinit(&pkg);
}

static void prune_is_identity_without_unknowns(void **state)
{
	each_package(prune_identity_file);
}

/* Several threads decode the same package at once from a cold start: they race to make
 * the first element of each type (one template per type, shared), and every result must
 * still be whole. Runs first, before any other test has decoded a PE. */
struct decoder_arg {
	pthread_barrier_t *start;
	const struct dp_buf *pkg;
	int failures;
};

static void *decoder_thread(void *p)
{
	struct decoder_arg *a = p;
	struct dp_buf out;
	dp_buf_init(&out, a->pkg->len);
	pthread_barrier_wait(a->start);
	for (int round = 0; round < 3; round++) {
		struct dp_cursor c = dp_cursor_make(a->pkg->data, a->pkg->len);
		dp_buf_reset(&out);
		while (!dp_cursor_done(&c)) {
			struct dp_tlv t;
			asn1_node pe = NULL;
			const char *alt;
			if (dp_tlv_next(&c, &t) != DP_OK ||
			    dp_asn1_decode_pe(t.raw, t.raw_len, &pe, &alt) != DP_OK ||
			    dp_asn1_encode(pe, "", &out) != DP_OK)
				a->failures++;
			dp_asn1_free(&pe);
		}
		if (out.len != a->pkg->len || memcmp(out.data, a->pkg->data, out.len) != 0)
			a->failures++;
	}
	dp_buf_deinit(&out);
	return NULL;
}

static void threads_share_templates(void **state)
{
	enum { N = 4 };
	struct dp_buf pkg;
	pthread_t th[N];
	struct decoder_arg args[N];
	pthread_barrier_t start;
	dp_test_read_file(dp_test_shared("ts48/TS48v2_SAIP2.3_BERTLV.der"), &pkg);
	assert_int_equal(pthread_barrier_init(&start, NULL, N), 0);
	for (int i = 0; i < N; i++) {
		args[i] = (struct decoder_arg){&start, &pkg, 0};
		assert_int_equal(pthread_create(&th[i], NULL, decoder_thread, &args[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].failures, 0);
	}
	pthread_barrier_destroy(&start);
	dp_buf_deinit(&pkg);
}

/* A mandatory member missing deep inside (an empty PINConfiguration, the second element of
 * a SEQUENCE OF under an explicit CHOICE): refused, and the message names its whole path. */
static void missing_member_named_by_path(void **state)
{
	struct dp_buf in;
	asn1_node pe;
	const char *alt;
	/* A2 { pin-Header { identification 2 },
	 *      [1] { pinconfig [0] { { keyReference 1, pinValue "12345" FF FF FF }, { } } } } */
	dp_test_hex("A21A A003 810102 A113 A011 300D 800101 81083132333435FFFFFF 3000", &in);
	assert_int_equal(dp_asn1_decode_pe(in.data, in.len, &pe, &alt), DP_ERR_ASN1_DECODE);
	assert_null(pe);
	assert_non_null(strstr(dp_err_detail(),
			       "mandatory member 'pinCodes.pinCodes.pinconfig.?2.keyReference' "
			       "is missing"));
	dp_buf_deinit(&in);
	/* the same without the empty element decodes, its one element whole */
	dp_test_hex("A218 A003 810102 A111 A00F 300D 800101 81083132333435FFFFFF", &in);
	assert_int_equal(dp_asn1_decode_pe(in.data, in.len, &pe, &alt), 0);
	uint8_t pin[8];
	size_t n;
	assert_int_equal(
	    dp_asn1_read(pe, "pinCodes.pinCodes.pinconfig.?1.pinValue", pin, sizeof(pin), &n), 0);
	assert_bytes_equal(pin, n, (const uint8_t *)"12345\xFF\xFF\xFF", 8);
	size_t count;
	assert_int_equal(dp_asn1_count(pe, "pinCodes.pinCodes.pinconfig", &count), 0);
	assert_int_equal(count, 1);
	dp_asn1_free(&pe);
	dp_buf_deinit(&in);
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
		cmocka_unit_test(threads_share_templates),
		cmocka_unit_test(ts48_round_trip),
		cmocka_unit_test(prune_is_identity_without_unknowns),
		cmocka_unit_test(missing_member_named_by_path),
		cmocka_unit_test(read_header_fields),
		cmocka_unit_test(pe_tags),
		cmocka_unit_test(explicit_choice_pinned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
