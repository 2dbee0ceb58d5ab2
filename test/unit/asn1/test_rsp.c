/* RSPDefinitions through the wrapper:
 * - byte-exact round trips of every vector in test/data/asn1/rsp (real captures: EUICCInfo1,
 *   ServerSigned1 and the sample BPP from ../shared; the others were assembled TLV by TLV
 *   from the SGP.22 tag tables, with the real SGP.26 certificates read from ../shared where
 *   a vector says {sgp26/...});
 * - the neg-* vectors are refused;
 * - one tagged CHOICE built field by field and pinned to its exact bytes;
 * - EUICCInfo2 and DeviceInfo carrying members the schema does not know decode, those
 *   members are skipped and every known field reads correctly. */
#include "test/support/support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/base/codec.h"

/* Loads a vector: "# Module.Type -- note" then hex lines; a line "{rel/path}" stands for
 * the bytes of that file under ../shared. */
static void load_vector(const char *path, char *type, size_t cap, struct dp_buf *out)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	if (f == NULL)
		fail_msg("cannot open %s", path);
	dp_buf_init(out, 1 << 20);
	type[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#') {
			if (type[0] == '\0')
				sscanf(line, "# %127s", type);
			continue;
		}
		if (line[0] == '{') {
			char *end = strchr(line, '}');
			assert_non_null(end);
			*end = '\0';
			struct dp_buf file;
			dp_test_read_file(dp_test_shared(line + 1), &file);
			assert_int_equal(dp_buf_append(out, file.data, file.len), 0);
			dp_buf_deinit(&file);
			continue;
		}
		if (dp_hex_decode_buf(line, strlen(line), out) != DP_OK)
			fail_msg("%s: bad hex line '%s'", path, line);
	}
	fclose(f);
	assert_true(strlen(type) < cap);
	assert_non_null(strchr(type, '.'));
}

static int vector_files(const char *prefix_wanted, bool negative,
			void (*fn)(const char *path, const char *name))
{
	const char *dir = dp_test_data("asn1/rsp");
	char dirpath[4096];
	snprintf(dirpath, sizeof(dirpath), "%s", dir);
	DIR *d = opendir(dirpath);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".hex") != 0)
			continue;
		bool neg = strncmp(e->d_name, "neg-", 4) == 0;
		if (neg != negative || strncmp(e->d_name, prefix_wanted, strlen(prefix_wanted)) != 0)
			continue;
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
		fn(path, e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static void round_trip_one(const char *path, const char *name)
{
	char type[128];
	struct dp_buf in, out;
	asn1_node node;
	load_vector(path, type, sizeof(type), &in);
	if (dp_asn1_decode_exact(type, in.data, in.len, &node) != DP_OK)
		fail_msg("%s as %s: %s", name, type, dp_err_detail());
	dp_buf_init(&out, in.len + 16);
	if (dp_asn1_encode(node, "", &out) != DP_OK)
		fail_msg("%s: encode: %s", name, dp_err_detail());
	if (out.len != in.len || memcmp(out.data, in.data, in.len) != 0)
		print_error("vector %s\n", name);
	assert_bytes_equal(out.data, out.len, in.data, in.len);
	dp_asn1_free(&node);
	/* the tolerant path gives the same bytes when nothing is unknown */
	size_t dropped = 99;
	dp_buf_reset(&out);
	assert_int_equal(dp_asn1_prune(type, in.data, in.len, &out, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_bytes_equal(out.data, out.len, in.data, in.len);
	dp_buf_deinit(&out);
	dp_buf_deinit(&in);
}

static void negative_one(const char *path, const char *name)
{
	char type[128];
	struct dp_buf in;
	asn1_node node = NULL;
	load_vector(path, type, sizeof(type), &in);
	assert_int_not_equal(dp_asn1_decode_exact(type, in.data, in.len, &node), DP_OK);
	assert_null(node);
	int r = dp_asn1_decode(type, in.data, in.len, &node);
	if (strcmp(name, "neg-unknown-member.hex") == 0) {
		/* refused by the exact decoder above, skipped by the tolerant one */
		assert_int_equal(r, DP_OK);
		dp_asn1_free(&node);
	} else if (r == DP_OK) {
		fail_msg("%s decoded as %s but must be refused", name, type);
	}
	dp_buf_deinit(&in);
}

static void all_vectors_round_trip(void **state)
{
	assert_true(vector_files("", false, round_trip_one) >= 80);
}

static void the_named_messages(void **state)
{
	/* the messages the foundation issue names, each present and exact */
	static const char *const names[] = {
		"euiccinfo1",   "euiccinfo2",	       "serversigned1", "authserverresp",
		"preparedownloadresp", "pir",	       "cancelresp-ok", "deviceinfo-v3",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char prefix[64];
		snprintf(prefix, sizeof(prefix), "%s.hex", names[i]);
		assert_int_equal(vector_files(prefix, false, round_trip_one), 1);
	}
}

static void sample_bpp(void **state)
{
	struct dp_buf in, out;
	asn1_node node;
	dp_test_read_file(dp_test_shared("samples/bound-profile-package.der"), &in);
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.BoundProfilePackage", in.data,
					      in.len, &node),
			 0);
	size_t n86;
	assert_int_equal(dp_asn1_count(node, "sequenceOf86", &n86), 0);
	assert_true(n86 >= 12);
	dp_buf_init(&out, in.len);
	assert_int_equal(dp_asn1_encode(node, "", &out), 0);
	assert_bytes_equal(out.data, out.len, in.data, in.len);
	dp_asn1_free(&node);
	dp_buf_deinit(&in);
	dp_buf_deinit(&out);
}

static void negative_vectors(void **state)
{
	assert_true(vector_files("neg-", true, negative_one) >= 8);
}

static void tagged_choice_pinned(void **state)
{
	/* AuthenticateServerResponse ::= [56] CHOICE: the tag is explicit, the chosen
	 * alternative keeps its own [1]: BF38 17 A1 15 80 10 <tid> 02 01 02 */
	asn1_node n;
	const uint8_t tid[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
				  0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF };
	assert_int_equal(dp_asn1_create("RSPDefinitions.AuthenticateServerResponse", &n), 0);
	assert_int_equal(dp_asn1_choose(n, "", "authenticateResponseError"), 0);
	assert_int_equal(dp_asn1_write(n, "authenticateResponseError.transactionId", tid, 16), 0);
	assert_int_equal(dp_asn1_write_uint(n, "authenticateResponseError.authenticateErrorCode",
					    2),
			 0);
	struct dp_buf out, want;
	dp_buf_init(&out, 64);
	assert_int_equal(dp_asn1_encode(n, "", &out), 0);
	dp_test_hex("BF38 17 A1 15 8010 0123456789ABCDEF8899AABBCCDDEEFF 020102", &want);
	assert_bytes_equal(out.data, out.len, want.data, want.len);
	dp_asn1_free(&n);

	/* and back: the alternative and the code read out */
	assert_int_equal(dp_asn1_decode("RSPDefinitions.AuthenticateServerResponse", want.data,
					want.len, &n),
			 0);
	char alt[64];
	uint64_t code;
	assert_int_equal(dp_asn1_read_choice(n, "", alt, sizeof(alt)), 0);
	assert_string_equal(alt, "authenticateResponseError");
	assert_int_equal(dp_asn1_read_uint(n, "authenticateResponseError.authenticateErrorCode",
					   &code),
			 0);
	assert_int_equal(code, 2);
	dp_asn1_free(&n);
	dp_buf_deinit(&out);
	dp_buf_deinit(&want);
}

/* Inserts `extra` (hex) right after the first `after_len` bytes of the value of the
 * outer TLV in `in`, and fixes up the outer length. */
static void insert_member(struct dp_buf *in, size_t after_len, const char *extra_hex,
			  struct dp_buf *out)
{
	struct dp_tlv t;
	struct dp_buf extra;
	assert_int_equal(dp_tlv_read(in->data, in->len, &t), 0);
	dp_test_hex(extra_hex, &extra);
	dp_buf_init(out, in->len + extra.len + 8);
	assert_int_equal(dp_tlv_append_header(out, t.tag, t.len + extra.len), 0);
	assert_int_equal(dp_buf_append(out, t.value, after_len), 0);
	assert_int_equal(dp_buf_append(out, extra.data, extra.len), 0);
	assert_int_equal(dp_buf_append(out, t.value + after_len, t.len - after_len), 0);
	dp_buf_deinit(&extra);
}

static void euicc_info2_unknown_members(void **state)
{
	char type[128];
	struct dp_buf base, mid, full;
	asn1_node n;
	load_vector(dp_test_data("asn1/rsp/euiccinfo2.hex"), type, sizeof(type), &base);
	/* after svn (81 03 .. 82 03 ..): an unknown constructed member [30];
	 * at the end: an unknown primitive member [127] (two-byte tag) */
	insert_member(&base, 10, "BE 05 80 03 AABBCC", &mid);
	struct dp_tlv t;
	assert_int_equal(dp_tlv_read(mid.data, mid.len, &t), 0);
	insert_member(&mid, t.len, "9F7F 02 1234", &full);

	assert_int_not_equal(dp_asn1_decode_exact(type, full.data, full.len, &n), 0);
	size_t dropped;
	struct dp_buf pruned;
	dp_buf_init(&pruned, full.len);
	assert_int_equal(dp_asn1_prune(type, full.data, full.len, &pruned, &dropped), 0);
	assert_int_equal(dropped, 2);
	assert_bytes_equal(pruned.data, pruned.len, base.data, base.len);
	dp_buf_deinit(&pruned);

	assert_int_equal(dp_asn1_decode(type, full.data, full.len, &n), 0);
	uint8_t v[64];
	size_t len;
	assert_int_equal(dp_asn1_read(n, "svn", v, sizeof(v), &len), 0);
	assert_bytes_equal(v, len, (const uint8_t *)"\x02\x02\x00", 3);
	assert_int_equal(dp_asn1_read(n, "profileVersion", v, sizeof(v), &len), 0);
	assert_bytes_equal(v, len, (const uint8_t *)"\x02\x01\x00", 3);
	assert_int_equal(dp_asn1_read(n, "ppVersion", v, sizeof(v), &len), 0);
	assert_bytes_equal(v, len, (const uint8_t *)"\x00\x00\x01", 3);
	char s[80];
	assert_int_equal(dp_asn1_read_str(n, "sasAcreditationNumber", s, sizeof(s)), 0);
	assert_string_equal(s, "G&DAccreditationNbr");
	assert_int_equal(dp_asn1_read_str(n, "certificationDataObject.platformLabel", s, sizeof(s)),
			 0);
	assert_string_equal(s, "1.2.840.1234567/myPlatformLabel");
	size_t count;
	assert_int_equal(dp_asn1_count(n, "euiccCiPKIdListForSigning", &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(dp_asn1_read(n, "euiccCiPKIdListForSigning.?2", v, sizeof(v), &len), 0);
	assert_int_equal(len, 20);
	assert_int_equal(v[0], 0xF5);
	size_t bits;
	assert_int_equal(dp_asn1_read_bits(n, "rspCapability", v, sizeof(v), &bits), 0);
	assert_int_equal(bits, 4);
	assert_int_equal(v[0], 0x90);
	assert_false(dp_asn1_present(n, "lpaMode"));
	assert_true(dp_asn1_present(n, "forbiddenProfilePolicyRules"));
	dp_asn1_free(&n);
	dp_buf_deinit(&base);
	dp_buf_deinit(&mid);
	dp_buf_deinit(&full);
}

static void device_info_unknown_members(void **state)
{
	char type[128];
	struct dp_buf base, with;
	asn1_node n;
	load_vector(dp_test_data("asn1/rsp/deviceinfo-v3.hex"), type, sizeof(type), &base);
	/* an unknown member [31] between tac (6 bytes) and deviceCapabilities */
	insert_member(&base, 6, "9F1F 03 010203", &with);
	assert_int_not_equal(dp_asn1_decode_exact(type, with.data, with.len, &n), 0);
	assert_int_equal(dp_asn1_decode(type, with.data, with.len, &n), 0);
	uint8_t v[16];
	size_t len;
	assert_int_equal(dp_asn1_read(n, "tac", v, sizeof(v), &len), 0);
	assert_bytes_equal(v, len, (const uint8_t *)"\x35\x29\x06\x11", 4);
	assert_int_equal(dp_asn1_read(n, "imei", v, sizeof(v), &len), 0);
	assert_int_equal(len, 8);
	assert_int_equal(v[0], 0x35);
	assert_int_equal(dp_asn1_read(n, "deviceCapabilities.eutranEpcSupportedRelease", v, sizeof(v), &len), 0);
	assert_bytes_equal(v, len, (const uint8_t *)"\x0F\x00\x00", 3);
	char s[16];
	assert_int_equal(dp_asn1_read_str(n, "preferredLanguages.?2", s, sizeof(s)), 0);
	assert_string_equal(s, "de");
	assert_true(dp_asn1_present(n, "deviceTestMode"));
	dp_asn1_free(&n);
	dp_buf_deinit(&base);
	dp_buf_deinit(&with);

	/* an unknown member inside deviceCapabilities (a nested SEQUENCE) is skipped too */
	const char *hex = "30 15 8004 35290611 A1 0B 8503 0F0000 9F3F 03 AABBCC 8200"
			  "";
	struct dp_buf in;
	dp_test_hex(hex, &in);
	/* 8200 is an empty imei: wrong for Octet8 but the tolerance pass does not judge
	 * values; drop it to keep the case about the unknown member */
	in.len -= 2;
	in.data[1] -= 2;
	assert_int_equal(dp_asn1_decode(type, in.data, in.len, &n), 0);
	assert_int_equal(dp_asn1_read(n, "deviceCapabilities.eutranEpcSupportedRelease", v, sizeof(v), &len), 0);
	assert_int_equal(len, 3);
	assert_false(dp_asn1_present(n, "imei"));
	dp_asn1_free(&n);
	dp_buf_deinit(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(all_vectors_round_trip),
		cmocka_unit_test(the_named_messages),
		cmocka_unit_test(sample_bpp),
		cmocka_unit_test(negative_vectors),
		cmocka_unit_test(tagged_choice_pinned),
		cmocka_unit_test(euicc_info2_unknown_members),
		cmocka_unit_test(device_info_unknown_members),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
