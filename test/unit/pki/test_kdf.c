/* Session keys (SGP.22 Annex G): one-time keys, ECKA-DH, X9.63 KDF, the key split.
 * Vectors: pySim's two (one from a third-party SM-DP+ trace; recomputed independently in
 * download-path.md 4.4) and our own from test/data/pki/make_vectors.py (python3
 * cryptography + hashlib, no project code), on both curves. */
#include "test/unit/pki/pki_test.h"

#include <string.h>

#include "pki/crypto/kdf.h"

static void hexbuf(const char *hex, struct dp_buf *b)
{
	dp_test_hex(hex, b);
}

static void check_kdf(const char *z_hex, const char *eid_hex, const char *mcv, const char *enc,
		      const char *mac)
{
	struct dp_buf z, eid, want;
	struct dp_session_keys k;
	uint8_t host[8], si[DP_KDF_SHARED_INFO_MAX];
	size_t si_len;

	memset(host, 0x80, sizeof(host));
	hexbuf(z_hex, &z);
	hexbuf(eid_hex, &eid);
	assert_int_equal(dp_kdf_shared_info(host, sizeof(host), eid.data, si, sizeof(si), &si_len),
			 0);
	assert_int_equal(dp_kdf_x963(z.data, z.len, si, si_len, &k), 0);
	hexbuf(mcv, &want);
	assert_bytes_equal(k.mcv, 16, want.data, want.len);
	dp_buf_deinit(&want);
	hexbuf(enc, &want);
	assert_bytes_equal(k.s_enc, 16, want.data, want.len);
	dp_buf_deinit(&want);
	hexbuf(mac, &want);
	assert_bytes_equal(k.s_mac, 16, want.data, want.len);
	dp_buf_deinit(&want);
	dp_kdf_keys_wipe(&k);
	dp_buf_deinit(&z);
	dp_buf_deinit(&eid);
}

static void test_pysim_vectors(void **state)
{
	check_kdf("8902dca391bbb22570fe60c176076246f568b1941265dff1d729e63039658089",
		  "89049032123451234512345678901335", "734bc93ddb10c71c5ad13d420dc08b5b",
		  "d782d575b22a38334556a3d9a1e2ae6b", "a35addc192ae8f934e2932116c7e89e7");
	/* the third-party SM-DP+ trace */
	check_kdf("c9a993dd4879a8f7161f2085410edd4f9652f1df37be097ba96ba2ca6be528fe",
		  "89049032123451234512345678901235", "406d507b448a699e7a36a38494debbde",
		  "472f5bfadd97f21d34f3ce9b51b92751", "9ec07f5b36a13e12a991d66e294e6242");
}

static void test_shared_info_bytes(void **state)
{
	struct dp_buf want;
	uint8_t host[8], eid[16], si[DP_KDF_SHARED_INFO_MAX];
	size_t len;

	memset(host, 0x80, sizeof(host));
	assert_int_equal(dp_kdf_eid_bytes("89049032123451234512345678901235", eid), 0);
	assert_int_equal(dp_kdf_shared_info(host, 8, eid, si, sizeof(si), &len), 0);
	dp_test_hex("88 10 08 8080808080808080 10 89049032123451234512345678901235", &want);
	assert_bytes_equal(si, len, want.data, want.len);
	dp_buf_deinit(&want);

	/* hostId is 1..16 bytes; the buffer must fit */
	uint8_t big[17] = { 0 };
	assert_int_equal(dp_kdf_shared_info(big, 0, eid, si, sizeof(si), &len), DP_ERR_INVAL);
	assert_int_equal(dp_kdf_shared_info(big, 17, eid, si, sizeof(si), &len), DP_ERR_INVAL);
	assert_int_equal(dp_kdf_shared_info(big, 16, eid, si, sizeof(si), &len), 0);
	assert_int_equal(len, 3 + 16 + 1 + 16);
	assert_int_equal(dp_kdf_shared_info(big, 16, eid, si, 10, &len), DP_ERR_TOO_LONG);
	assert_int_equal(dp_kdf_eid_bytes("8904903212345123451234567890123", eid), DP_ERR_INVAL);
	assert_int_equal(dp_kdf_eid_bytes("8904903212345123451234567890123A", eid), DP_ERR_INVAL);
}

static void vec_name(char *buf, size_t cap, const char *curve, const char *what)
{
	snprintf(buf, cap, "%s.%s", curve, what);
}

static void own_vectors(const char *name, enum dp_curve curve)
{
	char n[64];
	struct dp_buf sk_dp, pk_dp, sk_eu, pk_eu, z, si, host, eid, mcv, enc, mac;
	EVP_PKEY *dp = NULL, *eu = NULL, *peer = NULL;
	uint8_t pt[DP_CURVE_POINT_BYTES], zz[32], si_mine[DP_KDF_SHARED_INFO_MAX];
	size_t si_len;
	struct dp_session_keys k_dp, k_eu;

#define V(field, buf) (vec_name(n, sizeof(n), name, field), pki_vec(n, buf))
	V("otsk_dp", &sk_dp);
	V("otpk_dp", &pk_dp);
	V("otsk_euicc", &sk_eu);
	V("otpk_euicc", &pk_eu);
	V("z", &z);
	V("shared_info", &si);
	V("mcv", &mcv);
	V("s_enc", &enc);
	V("s_mac", &mac);
#undef V
	pki_vec("host_id", &host);
	pki_vec("eid", &eid);

	/* scalar -> point as python's cryptography computed it */
	assert_int_equal(dp_kdf_import_private(curve, sk_dp.data, &dp), 0);
	assert_int_equal(dp_kdf_export_point(dp, pt), 0);
	assert_bytes_equal(pt, sizeof(pt), pk_dp.data, pk_dp.len);
	assert_int_equal(dp_kdf_import_private(curve, sk_eu.data, &eu), 0);
	assert_int_equal(dp_kdf_export_point(eu, pt), 0);
	assert_bytes_equal(pt, sizeof(pt), pk_eu.data, pk_eu.len);

	/* Z, SharedInfo, keys step by step */
	assert_int_equal(dp_kdf_import_point(curve, pk_eu.data, pk_eu.len, &peer), 0);
	assert_int_equal(dp_kdf_ecdh(dp, peer, zz), 0);
	assert_bytes_equal(zz, 32, z.data, z.len);
	assert_int_equal(dp_kdf_shared_info(host.data, host.len, eid.data, si_mine,
					    sizeof(si_mine), &si_len), 0);
	assert_bytes_equal(si_mine, si_len, si.data, si.len);

	/* both sides in one call each: SM-DP+ with otPK.EUICC, eUICC with otPK.DP */
	assert_int_equal(dp_kdf_session_keys(dp, pk_eu.data, pk_eu.len, host.data, host.len,
					     eid.data, &k_dp), 0);
	assert_int_equal(dp_kdf_session_keys(eu, pk_dp.data, pk_dp.len, host.data, host.len,
					     eid.data, &k_eu), 0);
	assert_bytes_equal(k_dp.mcv, 16, mcv.data, mcv.len);
	assert_bytes_equal(k_dp.s_enc, 16, enc.data, enc.len);
	assert_bytes_equal(k_dp.s_mac, 16, mac.data, mac.len);
	assert_memory_equal(&k_dp, &k_eu, sizeof(k_dp));
	dp_kdf_keys_wipe(&k_dp);
	uint8_t zero[sizeof(k_dp)] = { 0 };
	assert_memory_equal(&k_dp, zero, sizeof(zero));

	EVP_PKEY_free(dp);
	EVP_PKEY_free(eu);
	EVP_PKEY_free(peer);
	struct dp_buf *all[] = { &sk_dp, &pk_dp, &sk_eu, &pk_eu, &z, &si, &host, &eid, &mcv, &enc,
				 &mac };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		dp_buf_deinit(all[i]);
}

static void test_own_vectors_nist(void **state)
{
	own_vectors("nist", DP_CURVE_NIST_P256);
}

static void test_own_vectors_brainpool(void **state)
{
	own_vectors("brainpool", DP_CURVE_BRAINPOOL_P256R1);
}

static void test_generated_pairs_agree(void **state)
{
	static const enum dp_curve curves[] = { DP_CURVE_NIST_P256, DP_CURVE_BRAINPOOL_P256R1 };
	uint8_t host[3] = { 1, 2, 3 }, eid[16];
	assert_int_equal(dp_kdf_eid_bytes("89049032123451234512345678901235", eid), 0);
	for (size_t i = 0; i < 2; i++) {
		EVP_PKEY *a = NULL, *b = NULL;
		uint8_t pa[65], pb[65];
		struct dp_session_keys ka, kb;
		enum dp_curve c;
		assert_int_equal(dp_kdf_generate(curves[i], &a), 0);
		assert_int_equal(dp_kdf_generate(curves[i], &b), 0);
		assert_int_equal(dp_curve_of_key(a, &c), 0);
		assert_int_equal(c, curves[i]);
		assert_int_equal(dp_kdf_export_point(a, pa), 0);
		assert_int_equal(dp_kdf_export_point(b, pb), 0);
		assert_int_equal(pa[0], 0x04);
		assert_memory_not_equal(pa, pb, 65);
		assert_int_equal(dp_kdf_session_keys(a, pb, 65, host, 3, eid, &ka), 0);
		assert_int_equal(dp_kdf_session_keys(b, pa, 65, host, 3, eid, &kb), 0);
		assert_memory_equal(&ka, &kb, sizeof(ka));
		EVP_PKEY_free(a);
		EVP_PKEY_free(b);
	}
}

static void test_bad_points(void **state)
{
	struct dp_buf pk;
	EVP_PKEY *k = NULL, *bp = NULL, *nist = NULL;
	uint8_t pt[65], z[32];

	pki_vec("nist.otpk_euicc", &pk);
	memcpy(pt, pk.data, 65);
	/* a changed Y is off the curve */
	pt[64] ^= 0x01;
	assert_int_equal(dp_kdf_import_point(DP_CURVE_NIST_P256, pt, 65, &k), DP_ERR_EC_POINT);
	assert_null(k);
	assert_true(strlen(dp_err_detail()) > 0);
	/* the NIST point is not on brainpoolP256r1 */
	assert_int_equal(dp_kdf_import_point(DP_CURVE_BRAINPOOL_P256R1, pk.data, 65, &k),
			 DP_ERR_EC_POINT);
	/* wrong length, compressed or hybrid prefix, the point at infinity */
	assert_int_equal(dp_kdf_import_point(DP_CURVE_NIST_P256, pk.data, 64, &k), DP_ERR_EC_POINT);
	memcpy(pt, pk.data, 65);
	pt[0] = 0x02;
	assert_int_equal(dp_kdf_import_point(DP_CURVE_NIST_P256, pt, 65, &k), DP_ERR_EC_POINT);
	pt[0] = 0x06;
	assert_int_equal(dp_kdf_import_point(DP_CURVE_NIST_P256, pt, 65, &k), DP_ERR_EC_POINT);
	uint8_t inf[1] = { 0 };
	assert_int_equal(dp_kdf_import_point(DP_CURVE_NIST_P256, inf, 1, &k), DP_ERR_EC_POINT);
	memset(pt, 0, sizeof(pt));
	pt[0] = 0x04;
	assert_int_equal(dp_kdf_import_point(DP_CURVE_NIST_P256, pt, 65, &k), DP_ERR_EC_POINT);

	/* ECDH across curves is refused with a project error */
	assert_int_equal(dp_kdf_generate(DP_CURVE_BRAINPOOL_P256R1, &bp), 0);
	assert_int_equal(dp_kdf_import_point(DP_CURVE_NIST_P256, pk.data, 65, &nist), 0);
	assert_int_equal(dp_kdf_ecdh(bp, nist, z), DP_ERR_CERT_CURVE);

	/* scalars outside 1..n-1 */
	uint8_t zero[32] = { 0 }, ff[32];
	memset(ff, 0xFF, sizeof(ff));
	assert_int_equal(dp_kdf_import_private(DP_CURVE_NIST_P256, zero, &k), DP_ERR_INVAL);
	assert_int_equal(dp_kdf_import_private(DP_CURVE_NIST_P256, ff, &k), DP_ERR_INVAL);
	EVP_PKEY_free(bp);
	EVP_PKEY_free(nist);
	dp_buf_deinit(&pk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pysim_vectors),
		cmocka_unit_test(test_shared_info_bytes),
		cmocka_unit_test(test_own_vectors_nist),
		cmocka_unit_test(test_own_vectors_brainpool),
		cmocka_unit_test(test_generated_pairs_agree),
		cmocka_unit_test(test_bad_points),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
