/* Test eUICC identity (test/euicc/identity.c): the SGP.26 NIST and BRP eUICCs load, sign
 * verifiably, and report EUICCInfo1/2 that match the schema. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/crypto/ecdsa.h"
#include "test/support/support.h"
#include "test/unit/euicc/euicc_test.h"

#define SGP26_EID "89049032123451234512345678901235"

/* Loads, checks EID and lists, signs and verifies with the certificate's public key. */
static void sgp26_loads_and_signs(enum dp_curve curve)
{
	struct dp_euicc_identity *id = euicc_test_identity(curve);
	struct dp_ci_ski own, other;
	size_t n;
	euicc_test_ci_ski(curve, &own);
	euicc_test_ci_ski(curve == DP_CURVE_NIST_P256 ? DP_CURVE_BRAINPOOL_P256R1
						      : DP_CURVE_NIST_P256, &other);
	assert_string_equal(dp_euicc_identity_eid(id), SGP26_EID);
	enum dp_curve c;
	assert_int_equal(dp_curve_of_key(dp_cert_pubkey(dp_euicc_identity_cert(id)), &c), DP_OK);
	assert_int_equal(c, curve);
	/* signing: its own CI only; verification: both SGP.26 CIs */
	const struct dp_ci_ski *l = dp_euicc_identity_ski_list(id, true, &n);
	assert_int_equal(n, 1);
	assert_bytes_equal(l[0].v, l[0].len, own.v, own.len);
	dp_euicc_identity_ski_list(id, false, &n);
	assert_int_equal(n, 2);
	assert_true(dp_euicc_identity_ski_listed(id, false, own.v, own.len));
	assert_true(dp_euicc_identity_ski_listed(id, false, other.v, other.len));
	assert_false(dp_euicc_identity_ski_listed(id, true, other.v, other.len));

	static const uint8_t msg[] = "euiccSigned1 stand-in";
	struct dp_buf sig;
	struct dp_tlv t;
	dp_buf_init(&sig, 128);
	assert_int_equal(dp_euicc_identity_sign_tlv(id, msg, sizeof(msg), &sig), DP_OK);
	assert_int_equal(dp_tlv_expect(sig.data, sig.len, DP_ECDSA_TAG, &t), DP_OK);
	assert_int_equal(t.len, DP_ECDSA_RS_BYTES);
	EVP_PKEY *pk = dp_cert_pubkey(dp_euicc_identity_cert(id));
	assert_int_equal(dp_ecdsa_verify(pk, msg, sizeof(msg), t.value, t.len), DP_OK);
	assert_int_equal(dp_ecdsa_verify(pk, msg, sizeof(msg) - 1, t.value, t.len),
			 DP_ERR_SIGNATURE);
	/* the bad-signature fault really breaks it */
	dp_euicc_identity_set_faults(id, DP_EUICC_FAULT_BAD_SIGNATURE);
	dp_buf_reset(&sig);
	assert_int_equal(dp_euicc_identity_sign_tlv(id, msg, sizeof(msg), &sig), DP_OK);
	assert_int_equal(dp_tlv_expect(sig.data, sig.len, DP_ECDSA_TAG, &t), DP_OK);
	assert_int_equal(dp_ecdsa_verify(pk, msg, sizeof(msg), t.value, t.len), DP_ERR_SIGNATURE);
	dp_buf_deinit(&sig);
	dp_euicc_identity_free(id);
}

static void sgp26_nist(void **state)
{
	(void)state;
	sgp26_loads_and_signs(DP_CURVE_NIST_P256);
}

static void sgp26_brainpool(void **state)
{
	(void)state;
	sgp26_loads_and_signs(DP_CURVE_BRAINPOOL_P256R1);
}

static void info1_matches_schema(void **state)
{
	(void)state;
	struct dp_euicc_identity *id = euicc_test_identity(DP_CURVE_NIST_P256);
	struct dp_buf b;
	asn1_node n = NULL;
	uint8_t v[8];
	size_t len, count;
	dp_buf_init(&b, 4096);
	dp_euicc_identity_set_svn(id, 2, 3, 1);
	assert_int_equal(dp_euicc_identity_info1(id, &b), DP_OK);
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.EUICCInfo1", b.data, b.len, &n),
			 DP_OK);
	assert_int_equal(dp_asn1_read(n, "svn", v, sizeof(v), &len), DP_OK);
	assert_bytes_equal(v, len, (const uint8_t *)"\x02\x03\x01", 3);
	assert_int_equal(dp_asn1_count(n, "euiccCiPKIdListForVerification", &count), DP_OK);
	assert_int_equal(count, 2);
	assert_int_equal(dp_asn1_count(n, "euiccCiPKIdListForSigning", &count), DP_OK);
	assert_int_equal(count, 1);
	dp_asn1_free(&n);
	/* a list set by hand, also empty */
	struct dp_ci_ski fake = { .v = { 1, 2, 3, 4 }, .len = 4 };
	assert_int_equal(dp_euicc_identity_set_ski_list(id, true, &fake, 1), DP_OK);
	assert_int_equal(dp_euicc_identity_set_ski_list(id, false, NULL, 0), DP_OK);
	dp_buf_reset(&b);
	assert_int_equal(dp_euicc_identity_info1(id, &b), DP_OK);
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.EUICCInfo1", b.data, b.len, &n),
			 DP_OK);
	assert_int_equal(dp_asn1_count(n, "euiccCiPKIdListForVerification", &count), DP_OK);
	assert_int_equal(count, 0);
	assert_int_equal(dp_asn1_read(n, "euiccCiPKIdListForSigning.?1", v, sizeof(v), &len),
			 DP_OK);
	assert_bytes_equal(v, len, fake.v, fake.len);
	dp_asn1_free(&n);
	dp_buf_deinit(&b);
	dp_euicc_identity_free(id);
}

static void info2_matches_schema_and_extras(void **state)
{
	(void)state;
	struct dp_euicc_identity *id = euicc_test_identity(DP_CURVE_BRAINPOOL_P256R1);
	struct dp_buf b;
	asn1_node n = NULL;
	uint8_t v[8];
	size_t len;
	dp_buf_init(&b, 8192);
	assert_int_equal(dp_euicc_identity_info2(id, &b), DP_OK);
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.EUICCInfo2", b.data, b.len, &n),
			 DP_OK);
	assert_int_equal(dp_asn1_read(n, "svn", v, sizeof(v), &len), DP_OK);
	assert_bytes_equal(v, len, (const uint8_t *)"\x02\x02\x00", 3);
	assert_int_equal(dp_asn1_read(n, "profileVersion", v, sizeof(v), &len), DP_OK);
	assert_bytes_equal(v, len, (const uint8_t *)"\x02\x01\x00", 3);
	dp_asn1_free(&n);
	/* v3 highestSvn (93) is in the schema; 9F7F is nobody's: the tolerant decoder skips it,
	 * the exact one refuses it, and the raw bytes end with both as given */
	static const uint8_t v3[] = { 0x93, 0x03, 0x03, 0x01, 0x00 };
	static const uint8_t unknown[] = { 0x9F, 0x7F, 0x02, 0xAB, 0xCD };
	dp_euicc_identity_set_profile_version(id, 3, 3, 1);
	assert_int_equal(dp_euicc_identity_add_info2_extra(id, v3, sizeof(v3)), DP_OK);
	dp_buf_reset(&b);
	assert_int_equal(dp_euicc_identity_info2(id, &b), DP_OK);
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.EUICCInfo2", b.data, b.len, &n),
			 DP_OK);
	assert_int_equal(dp_asn1_read(n, "highestSvn", v, sizeof(v), &len), DP_OK);
	assert_bytes_equal(v, len, (const uint8_t *)"\x03\x01\x00", 3);
	assert_int_equal(dp_asn1_read(n, "profileVersion", v, sizeof(v), &len), DP_OK);
	assert_bytes_equal(v, len, (const uint8_t *)"\x03\x03\x01", 3);
	dp_asn1_free(&n);
	assert_int_equal(dp_euicc_identity_add_info2_extra(id, unknown, sizeof(unknown)), DP_OK);
	dp_buf_reset(&b);
	assert_int_equal(dp_euicc_identity_info2(id, &b), DP_OK);
	assert_memory_equal(b.data + b.len - sizeof(unknown), unknown, sizeof(unknown));
	assert_memory_equal(b.data + b.len - sizeof(unknown) - sizeof(v3), v3, sizeof(v3));
	assert_int_equal(dp_asn1_decode("RSPDefinitions.EUICCInfo2", b.data, b.len, &n), DP_OK);
	dp_asn1_free(&n);
	assert_int_not_equal(dp_asn1_decode_exact("RSPDefinitions.EUICCInfo2", b.data, b.len, &n),
			     DP_OK);
	/* extras must be well-formed TLVs */
	static const uint8_t bad[] = { 0x93, 0x05, 0x01 };
	assert_int_not_equal(dp_euicc_identity_add_info2_extra(id, bad, sizeof(bad)), DP_OK);
	dp_buf_deinit(&b);
	dp_euicc_identity_free(id);
}

/* The raw TLV of an EUICCInfo2 member (tag) as the identity encodes it. */
static void info2_member(struct dp_euicc_identity *id, uint32_t tag, struct dp_buf *out,
			 bool *found)
{
	struct dp_buf b;
	struct dp_tlv top, m;
	dp_buf_init(&b, 8192);
	assert_int_equal(dp_euicc_identity_info2(id, &b), DP_OK);
	assert_int_equal(dp_tlv_expect(b.data, b.len, 0xBF22, &top), DP_OK);
	*found = dp_tlv_find(top.value, top.len, tag, &m) == DP_OK;
	dp_buf_reset(out);
	if (*found)
		assert_int_equal(dp_buf_append(out, m.raw, m.raw_len), DP_OK);
	/* whatever the settings, the whole is exactly the schema's EUICCInfo2 */
	asn1_node n = NULL;
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.EUICCInfo2", b.data, b.len, &n),
			 DP_OK);
	dp_asn1_free(&n);
	dp_buf_deinit(&b);
}

/* rspCapability and forbiddenProfilePolicyRules as DER named-bit strings, in schema order
 * (99 before ppVersion, also with v3 extras after it), readable by the server's reader. */
static void info2_capability_and_forbidden_ppr(void **state)
{
	(void)state;
	struct dp_euicc_identity *id = euicc_test_identity(DP_CURVE_NIST_P256);
	struct dp_buf m;
	bool found;
	dp_buf_init(&m, 64);
	/* the default: additionalProfile and testProfileSupport, no forbidden PPRs */
	assert_int_equal(dp_euicc_identity_rsp_capability(id), DP_EUICC_RSP_CAPABILITY_DEFAULT);
	info2_member(id, 0x88, &m, &found);
	assert_true(found);
	assert_bytes_equal(m.data, m.len, (const uint8_t *)"\x88\x02\x04\x90", 4);
	info2_member(id, 0x99, &m, &found);
	assert_false(found);
	/* trailing zero bits dropped; no bits at all is the empty string */
	const struct {
		uint32_t bits;
		const char *der;
		size_t len;
	} caps[] = {
		{ DP_EUICC_RSP_ADDITIONAL_PROFILE, "\x88\x02\x07\x80", 4 },
		{ 0, "\x88\x01\x00", 3 },
		{ (1u << 0) | (1u << 5), "\x88\x02\x02\x84", 4 },
		{ (1u << 3) | (1u << 8), "\x88\x03\x07\x10\x80", 5 },
		{ 1u << 31, "\x88\x05\x00\x00\x00\x00\x01", 7 },
	};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		dp_euicc_identity_set_rsp_capability(id, caps[i].bits);
		assert_int_equal(dp_euicc_identity_rsp_capability(id), caps[i].bits);
		info2_member(id, 0x88, &m, &found);
		assert_true(found);
		assert_bytes_equal(m.data, m.len, (const uint8_t *)caps[i].der, caps[i].len);
	}
	/* forbidden PPRs: ppr1, ppr2, both, the empty list; then absent again */
	static const uint8_t v3[] = { 0x93, 0x03, 0x03, 0x01, 0x00 };
	assert_int_equal(dp_euicc_identity_add_info2_extra(id, v3, sizeof(v3)), DP_OK);
	const struct {
		uint8_t bits;
		const char *der;
		size_t len;
		size_t nbits;
	} pprs[] = {
		{ 1u << 1, "\x99\x02\x06\x40", 4, 2 },
		{ 1u << 2, "\x99\x02\x05\x20", 4, 3 },
		{ (1u << 1) | (1u << 2), "\x99\x02\x05\x60", 4, 3 },
		{ 0, "\x99\x01\x00", 3, 0 },
	};
	for (size_t i = 0; i < sizeof(pprs) / sizeof(pprs[0]); i++) {
		dp_euicc_identity_set_forbidden_ppr(id, true, pprs[i].bits);
		info2_member(id, 0x99, &m, &found);
		assert_true(found);
		assert_bytes_equal(m.data, m.len, (const uint8_t *)pprs[i].der, pprs[i].len);
		/* the way the SM-DP+ reads it */
		struct dp_buf b;
		asn1_node n = NULL;
		uint8_t bits[4] = { 0 };
		size_t nbits = 99;
		dp_buf_init(&b, 8192);
		assert_int_equal(dp_euicc_identity_info2(id, &b), DP_OK);
		assert_int_equal(dp_asn1_decode("RSPDefinitions.EUICCInfo2", b.data, b.len, &n),
				 DP_OK);
		assert_int_equal(dp_asn1_read_bits(n, "forbiddenProfilePolicyRules", bits,
						   sizeof(bits), &nbits),
				 DP_OK);
		assert_int_equal(nbits, pprs[i].nbits);
		if (nbits > 0)
			assert_int_equal(bits[0], pprs[i].der[3]);
		dp_asn1_free(&n);
		dp_buf_deinit(&b);
	}
	dp_euicc_identity_set_forbidden_ppr(id, false, 0x06);
	info2_member(id, 0x99, &m, &found);
	assert_false(found);
	dp_buf_deinit(&m);
	dp_euicc_identity_free(id);
}

static void eid_override(void **state)
{
	(void)state;
	struct dp_euicc_identity *id = euicc_test_identity(DP_CURVE_NIST_P256);
	/* a wrong check digit, a short one */
	assert_int_equal(dp_euicc_identity_set_eid(id, "89049032123451234512345678901234"),
			 DP_ERR_CERT_EID);
	assert_int_equal(dp_euicc_identity_set_eid(id, "8904"), DP_ERR_CERT_EID);
	assert_string_equal(dp_euicc_identity_eid(id), SGP26_EID);
	assert_int_equal(dp_euicc_identity_set_eid(id, "89049032123451234512345678909965"), DP_OK);
	assert_string_equal(dp_euicc_identity_eid(id), "89049032123451234512345678909965");
	dp_euicc_identity_free(id);
}

static void load_refuses_mismatches(void **state)
{
	(void)state;
	struct dp_euicc_identity *id = (void *)1;
	char cert[512], key[512], eum[512];
	snprintf(cert, sizeof(cert), "%s", dp_test_shared("sgp26/eUICC/CERT_EUICC_ECDSA_NIST.der"));
	snprintf(key, sizeof(key), "%s", dp_test_shared("sgp26/eUICC/SK_EUICC_ECDSA_BRP.pem"));
	snprintf(eum, sizeof(eum), "%s", dp_test_shared("sgp26/EUM/CERT_EUM_ECDSA_NIST.der"));
	/* the BRP key does not belong to the NIST certificate */
	assert_int_not_equal(dp_euicc_identity_load(cert, key, eum, &id), DP_OK);
	assert_null(id);
	/* the BRP EUM did not issue the NIST eUICC */
	snprintf(key, sizeof(key), "%s", dp_test_shared("sgp26/eUICC/SK_EUICC_ECDSA_NIST.pem"));
	snprintf(eum, sizeof(eum), "%s", dp_test_shared("sgp26/EUM/CERT_EUM_ECDSA_BRP.der"));
	assert_int_equal(dp_euicc_identity_load(cert, key, eum, &id), DP_ERR_EUICC_IDENTITY);
	/* missing files */
	assert_int_not_equal(dp_euicc_identity_load_sgp26("/nonexistent", DP_CURVE_NIST_P256, &id),
			     DP_OK);
	assert_null(id);
	/* a good set, plus a CI from a file */
	snprintf(eum, sizeof(eum), "%s", dp_test_shared("sgp26/EUM/CERT_EUM_ECDSA_NIST.der"));
	assert_int_equal(dp_euicc_identity_load(cert, key, eum, &id), DP_OK);
	assert_int_equal(dp_euicc_identity_add_ci(
				 id, dp_test_shared("sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.der"),
				 true),
			 DP_OK);
	size_t n;
	dp_euicc_identity_ski_list(id, true, &n);
	assert_int_equal(n, 1);
	dp_euicc_identity_free(id);
	dp_euicc_identity_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sgp26_nist),
		cmocka_unit_test(sgp26_brainpool),
		cmocka_unit_test(info1_matches_schema),
		cmocka_unit_test(info2_matches_schema_and_extras),
		cmocka_unit_test(info2_capability_and_forbidden_ppr),
		cmocka_unit_test(eid_override),
		cmocka_unit_test(load_refuses_mismatches),
	};
	return cmocka_run_group_tests_name("euicc-identity", tests, NULL, NULL);
}
