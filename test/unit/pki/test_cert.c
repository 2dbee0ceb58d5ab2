/* Certificates and chains (SGP.22 4.5.2 / 5.6.2, SGP.26 Variant O): the SGP.26 chains in
 * ../shared/sgp26 (NIST and Brainpool), chains made by the test-PKI library, every
 * rejection with its own error, the CI store and CI selection, malformed input.
 * Bad certificates are issued at test time into a temp folder and loaded from there. */
#include "test/unit/pki/pki_test.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki/base/codec.h"
#include "pki/base/log.h"
#include "pki/crypto/ecdsa.h"
#include "pki/crypto/kdf.h"
#include "pki/crypto/scp03t.h"
#include "pki/crypto/testpki.h"

#define SGP26_EID "89049032123451234512345678901235"
#define CI_NIST "CertificateIssuer/CERT_CI_ECDSA_NIST.der"
#define CI_BRP "CertificateIssuer/CERT_CI_ECDSA_BRP.der"

static const char *tmp;

static int setup(void **state)
{
	tmp = pki_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	pki_rmdir(tmp);
	return 0;
}

static void ski_is(const struct dp_cert *c, const char *hex)
{
	const uint8_t *ski;
	size_t len;
	struct dp_buf want;
	assert_int_equal(dp_cert_ski(c, &ski, &len), 0);
	dp_test_hex(hex, &want);
	assert_bytes_equal(ski, len, want.data, want.len);
	dp_buf_deinit(&want);
}

static struct dp_ci_store *sgp26_store(bool signers)
{
	struct dp_ci_store *s = NULL;
	assert_int_equal(dp_ci_store_new(&s), 0);
	assert_int_equal(dp_ci_store_load_ci(s, dp_test_shared("sgp26/" CI_NIST)), 0);
	assert_int_equal(dp_ci_store_load_ci(s, dp_test_shared("sgp26/" CI_BRP)), 0);
	if (signers) {
		static const char *const files[][2] = {
			{ "DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der", "DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem" },
			{ "DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der", "DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem" },
			{ "DPauth/CERT_S_SM_DPauth_ECDSA_BRP.der", "DPauth/SK_S_SM_DPauth_ECDSA_BRP.pem" },
			{ "DPpb/CERT_S_SM_DPpb_ECDSA_BRP.der", "DPpb/SK_S_SM_DPpb_ECDSA_BRP.pem" },
		};
		for (size_t i = 0; i < 4; i++) {
			char rel[300], c[600], k[600];
			/* dp_test_shared returns static storage: copy each path */
			snprintf(rel, sizeof(rel), "sgp26/%s", files[i][0]);
			snprintf(c, sizeof(c), "%s", dp_test_shared(rel));
			snprintf(rel, sizeof(rel), "sgp26/%s", files[i][1]);
			snprintf(k, sizeof(k), "%s", dp_test_shared(rel));
			int r = dp_ci_store_load_signer(s, c, k);
			if (r)
				fail_msg("%s: %s", files[i][0], dp_err_detail());
		}
	}
	assert_int_equal(dp_ci_store_count(s), 2);
	return s;
}

static void sgp26_chain(struct dp_ci_store *s, const char *curve, const char *ci_ski)
{
	char eu[128], em[128];
	struct dp_cert_chain chain;
	snprintf(eu, sizeof(eu), "eUICC/CERT_EUICC_ECDSA_%s.der", curve);
	snprintf(em, sizeof(em), "EUM/CERT_EUM_ECDSA_%s.der", curve);
	struct dp_cert *euicc = pki_sgp26_cert(eu), *eum = pki_sgp26_cert(em);
	size_t el, ml;
	const uint8_t *ed = dp_cert_der(euicc, &el), *md = dp_cert_der(eum, &ml);
	struct dp_buf ski;
	dp_test_hex(ci_ski, &ski);

	assert_int_equal(dp_ci_store_verify_euicc(s, ed, el, md, ml, ski.data, ski.len,
						  pki_date("2026-10-01"), &chain), 0);
	assert_string_equal(chain.eid, SGP26_EID);
	assert_int_equal(chain.failed, DP_CERT_ANY);
	assert_ptr_equal(chain.ci, dp_ci_store_find(s, ski.data, ski.len));
	/* PK.EUICC from the chain verifies what SK.EUICC signs */
	char skp[128];
	snprintf(skp, sizeof(skp), "eUICC/SK_EUICC_ECDSA_%s.pem", curve);
	EVP_PKEY *sk = pki_sgp26_key(skp);
	uint8_t msg[] = "euiccSigned1", sig[64];
	assert_int_equal(dp_ecdsa_sign(sk, msg, sizeof(msg), sig), 0);
	assert_int_equal(dp_ecdsa_verify(dp_cert_pubkey(chain.euicc), msg, sizeof(msg), sig, 64), 0);
	dp_cert_chain_deinit(&chain);
	/* the same chain, a second time (EUM from the cache) */
	assert_int_equal(dp_ci_store_verify_euicc(s, ed, el, md, ml, NULL, 0,
						  pki_date("2040-01-01"), &chain), 0);
	dp_cert_chain_deinit(&chain);
	EVP_PKEY_free(sk);
	dp_buf_deinit(&ski);
	dp_cert_free(euicc);
	dp_cert_free(eum);
}

static void test_sgp26_chains(void **state)
{
	struct dp_ci_store *s = sgp26_store(false);
	struct dp_cert *ci = pki_sgp26_cert(CI_NIST), *ci_brp = pki_sgp26_cert(CI_BRP);
	ski_is(ci, "F54172BDF98A95D65CBEB88A38A1C11D800A85C3");
	ski_is(ci_brp, "C0BC70BA36929D43B467FF57570530E57AB8FCD8");
	assert_int_equal(dp_cert_curve(ci), DP_CURVE_NIST_P256);
	assert_int_equal(dp_cert_curve(ci_brp), DP_CURVE_BRAINPOOL_P256R1);

	sgp26_chain(s, "NIST", "F54172BDF98A95D65CBEB88A38A1C11D800A85C3");
	sgp26_chain(s, "BRP", "C0BC70BA36929D43B467FF57570530E57AB8FCD8");

	/* a chain under the other CI than the one chosen for the session */
	struct dp_cert *euicc = pki_sgp26_cert("eUICC/CERT_EUICC_ECDSA_NIST.der");
	struct dp_cert *eum = pki_sgp26_cert("EUM/CERT_EUM_ECDSA_NIST.der");
	struct dp_cert *eum_brp = pki_sgp26_cert("EUM/CERT_EUM_ECDSA_BRP.der");
	struct dp_cert_chain chain;
	size_t el, ml, bl;
	const uint8_t *ed = dp_cert_der(euicc, &el), *md = dp_cert_der(eum, &ml);
	const uint8_t *bd = dp_cert_der(eum_brp, &bl);
	const uint8_t *brp_ski;
	size_t brp_len;
	assert_int_equal(dp_cert_ski(ci_brp, &brp_ski, &brp_len), 0);
	assert_int_equal(dp_ci_store_verify_euicc(s, ed, el, md, ml, brp_ski, brp_len,
						  pki_date("2026-10-01"), &chain),
			 DP_ERR_CERT_UNKNOWN_CI);
	assert_int_equal(chain.failed, DP_CERT_EUM);
	assert_null(chain.euicc);
	/* the NIST eUICC presented with the Brainpool EUM: not its issuer */
	assert_int_equal(dp_ci_store_verify_euicc(s, ed, el, bd, bl, NULL, 0,
						  pki_date("2026-10-01"), &chain),
			 DP_ERR_CERT_ISSUER);
	assert_int_equal(chain.failed, DP_CERT_EUICC);
	/* 2019: before the SGP.26 EUM's notBefore (2020-04-01) */
	assert_int_equal(dp_ci_store_verify_euicc(s, ed, el, md, ml, NULL, 0,
						  pki_date("2019-06-01"), &chain),
			 DP_ERR_CERT_NOT_YET_VALID);
	assert_int_equal(chain.failed, DP_CERT_EUM);

	/* the SM-DP+ certificates under the CIs, the way a test eUICC checks them */
	static const struct {
		const char *file;
		enum dp_cert_role role;
		const char *date;
		int want;
	} dp[] = {
		{ "DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der", DP_CERT_DPAUTH, "2026-10-01", 0 },
		{ "DPauth/CERT_S_SM_DPauth_ECDSA_BRP.der", DP_CERT_DPAUTH, "2026-10-01", 0 },
		{ "DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der", DP_CERT_DPPB, "2026-10-01", 0 },
		{ "DPpb/CERT_S_SM_DPpb_ECDSA_BRP.der", DP_CERT_DPPB, "2026-10-01", 0 },
		{ "DPtls/CERT_S_SM_DP_VARO_TLS_NIST.der", DP_CERT_DPTLS, "2026-10-01", 0 },
		{ "DPtls/CERT_S_SM_DP_VARO_TLS_BRP.der", DP_CERT_DPTLS, "2026-10-01", 0 },
		{ "DPtls/CERT_S_SM_DP_VARO_TLS_NIST.der", DP_CERT_DPTLS, "2027-03-01",
		  DP_ERR_CERT_EXPIRED },
		{ "DPtls/CERT_S_SM_DP2_TLS.der", DP_CERT_DPTLS, "2026-10-01", DP_ERR_CERT_EXPIRED },
		{ "DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der", DP_CERT_DPAUTH, "2030-04-01",
		  DP_ERR_CERT_EXPIRED },
		{ "DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der", DP_CERT_DPPB, "2026-10-01",
		  DP_ERR_CERT_POLICY },
		{ "DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der", DP_CERT_DPAUTH, "2026-10-01",
		  DP_ERR_CERT_POLICY },
		{ "EUM/CERT_EUM_ECDSA_NIST.der", DP_CERT_EUM, "2026-10-01", 0 },
		{ "EUM/CERT_EUM_ECDSA_NIST.der", DP_CERT_DPAUTH, "2026-10-01", DP_ERR_CERT_KEY_USAGE },
	};
	for (size_t i = 0; i < sizeof(dp) / sizeof(dp[0]); i++) {
		struct dp_cert *c = pki_sgp26_cert(dp[i].file), *out = NULL;
		size_t l;
		const uint8_t *d = dp_cert_der(c, &l);
		int r = dp_ci_store_verify(s, dp[i].role, d, l, pki_date(dp[i].date), &out);
		if (r != dp[i].want)
			fail_msg("%s as %s: %s: %s", dp[i].file, dp_cert_role_name(dp[i].role),
				 dp_errname(r), dp_err_detail());
		assert_true(r ? out == NULL : out != NULL);
		dp_cert_free(out);
		dp_cert_free(c);
	}

	/* SM-DP+ OIDs and the EID as the getters read them */
	char oid[32], eid[33];
	struct dp_cert *dpauth = pki_sgp26_cert("DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der");
	struct dp_cert *dp2 = pki_sgp26_cert("DPauth/CERT_S_SM_DP2auth_ECDSA_NIST.der");
	assert_int_equal(dp_cert_san_oid(dpauth, oid, sizeof(oid)), 0);
	assert_string_equal(oid, "2.999.10");
	assert_int_equal(dp_cert_san_oid(dp2, oid, sizeof(oid)), 0);
	assert_string_equal(oid, "2.999.12");
	assert_int_equal(dp_cert_san_oid(dp2, oid, 4), DP_ERR_TOO_LONG);
	assert_int_equal(dp_cert_san_oid(euicc, oid, sizeof(oid)), DP_ERR_NOT_FOUND);
	ski_is(dpauth, "BD5A82CC1A96602118BA7560A1FF83A78B210BE5");
	assert_int_equal(dp_cert_eid(euicc, eid), 0);
	assert_string_equal(eid, SGP26_EID);
	assert_int_equal(dp_cert_eid(dpauth, eid), DP_ERR_CERT_EID);

	dp_cert_free(dpauth);
	dp_cert_free(dp2);
	dp_cert_free(euicc);
	dp_cert_free(eum);
	dp_cert_free(eum_brp);
	dp_cert_free(ci);
	dp_cert_free(ci_brp);
	dp_ci_store_free(s);
}

static void fill_ski(struct dp_ci_ski *s, const char *hex)
{
	struct dp_buf b;
	dp_test_hex(hex, &b);
	memcpy(s->v, b.data, b.len);
	s->len = b.len;
	dp_buf_deinit(&b);
}

static void test_store_and_select(void **state)
{
	struct dp_ci_store *s = sgp26_store(true);
	struct dp_ci_ski nist, brp, other;
	const struct dp_ci_entry *e = NULL;
	const struct dp_cert *cert;
	EVP_PKEY *key;
	const uint8_t *ski;
	size_t len;

	fill_ski(&nist, "F54172BDF98A95D65CBEB88A38A1C11D800A85C3");
	fill_ski(&brp, "C0BC70BA36929D43B467FF57570530E57AB8FCD8");
	fill_ski(&other, "0102030405060708090A0B0C0D0E0F1011121314");

	/* the eUICC's signing order decides; ForVerification filters */
	struct dp_ci_ski sign1[] = { brp, nist };
	struct dp_ci_ski verif1[] = { nist };
	assert_int_equal(dp_ci_store_select(s, sign1, 2, verif1, 1, &e), 0);
	assert_int_equal(dp_cert_ski(dp_ci_entry_ci(e), &ski, &len), 0);
	assert_memory_equal(ski, nist.v, nist.len);
	assert_int_equal(dp_ci_store_select(s, sign1, 2, NULL, 0, &e), 0);
	assert_int_equal(dp_cert_ski(dp_ci_entry_ci(e), &ski, &len), 0);
	assert_memory_equal(ski, brp.v, brp.len);
	struct dp_ci_ski sign2[] = { other, nist };
	assert_int_equal(dp_ci_store_select(s, sign2, 2, sign2, 2, &e), 0);
	assert_int_equal(dp_cert_ski(dp_ci_entry_ci(e), &ski, &len), 0);
	assert_memory_equal(ski, nist.v, nist.len);
	/* 8.8.2/3.1 and 8.8.4/3.7 */
	struct dp_ci_ski sign3[] = { other };
	assert_int_equal(dp_ci_store_select(s, sign3, 1, NULL, 0, &e), DP_ERR_CI_NONE_COMMON);
	assert_null(e);
	struct dp_ci_ski sign4[] = { brp };
	assert_int_equal(dp_ci_store_select(s, sign4, 1, verif1, 1, &e), DP_ERR_CI_NOT_VERIFIABLE);
	assert_int_equal(dp_ci_store_select(s, sign4, 1, verif1, 0, &e), DP_ERR_CI_NOT_VERIFIABLE);
	assert_int_equal(dp_ci_store_select(s, NULL, 0, NULL, 0, &e), DP_ERR_CI_NONE_COMMON);

	/* both curves' signers at once: each signs, its certificate verifies */
	for (int i = 0; i < 2; i++) {
		e = dp_ci_store_find(s, i ? brp.v : nist.v, 20);
		assert_non_null(e);
		for (int k = 0; k < 2; k++) {
			enum dp_cert_role role = k ? DP_CERT_DPPB : DP_CERT_DPAUTH;
			uint8_t sig[64], msg[4] = { 9, 8, 7, 6 };
			assert_int_equal(dp_ci_entry_signer(e, role, &cert, &key), 0);
			assert_int_equal(dp_cert_curve(cert),
					 i ? DP_CURVE_BRAINPOOL_P256R1 : DP_CURVE_NIST_P256);
			assert_int_equal(dp_ecdsa_sign(key, msg, 4, sig), 0);
			assert_int_equal(dp_ecdsa_verify(dp_cert_pubkey(cert), msg, 4, sig, 64), 0);
		}
	}
	assert_int_equal(dp_ci_entry_signer(e, DP_CERT_EUM, &cert, &key), DP_ERR_INVAL);
	assert_null(dp_ci_store_find(s, other.v, other.len));

	/* refusals when loading */
	char c[300], k[300];
	snprintf(c, sizeof(c), "%s", dp_test_shared("sgp26/DPauth/CERT_S_SM_DP2auth_ECDSA_NIST.der"));
	snprintf(k, sizeof(k), "%s", dp_test_shared("sgp26/DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem"));
	assert_int_equal(dp_ci_store_load_signer(s, c, k), DP_ERR_KEY_MISMATCH);
	snprintf(k, sizeof(k), "%s", dp_test_shared("sgp26/DPauth/SK_S_SM_DP2auth_ECDSA_NIST.pem"));
	assert_int_equal(dp_ci_store_load_signer(s, c, k), DP_ERR_INVAL); /* one DPauth per CI */
	assert_int_equal(dp_ci_store_load_ci(s, dp_test_shared("sgp26/" CI_NIST)), DP_ERR_INVAL);
	assert_int_equal(dp_ci_store_load_ci(s, dp_test_shared("sgp26/EUM/CERT_EUM_ECDSA_NIST.der")),
			 DP_ERR_CERT_POLICY);
	dp_ci_store_free(s);

	/* a signer under a CI the store does not have; an entry without signers */
	struct dp_ci_store *empty = NULL;
	assert_int_equal(dp_ci_store_new(&empty), 0);
	snprintf(k, sizeof(k), "%s", dp_test_shared("sgp26/DPauth/SK_S_SM_DP2auth_ECDSA_NIST.pem"));
	assert_int_equal(dp_ci_store_load_signer(empty, c, k), DP_ERR_CERT_UNKNOWN_CI);
	assert_int_equal(dp_ci_store_load_ci(empty, dp_test_shared("sgp26/" CI_NIST)), 0);
	e = dp_ci_store_find(empty, nist.v, nist.len);
	assert_int_equal(dp_ci_entry_signer(e, DP_CERT_DPPB, &cert, &key), DP_ERR_NOT_FOUND);
	struct dp_ci_ski only[] = { nist };
	assert_int_equal(dp_ci_store_select(empty, only, 1, NULL, 0, &e), DP_ERR_CI_NONE_COMMON);
	dp_ci_store_free(empty);
}

/* ---- chains made with the test-PKI library ---- */

struct chain {
	struct dp_cert *ci, *eum, *euicc, *dpauth, *dppb, *dptls;
	EVP_PKEY *ci_key, *eum_key, *euicc_key, *dpauth_key, *dppb_key, *dptls_key;
};

#define GOOD_FROM "2020-01-01"
#define GOOD_TO "2045-01-01"
#define AT "2030-06-01"

/* Issues, writes to tmp/<name>.pem and reads back from the file. */
static struct dp_cert *issue(const struct dp_testpki_req *q, const struct dp_cert *by,
			     EVP_PKEY *by_key, EVP_PKEY **key, const char *name)
{
	struct dp_testpki_req r = *q;
	struct dp_cert *c = NULL, *back = NULL;
	char path[600];
	if (r.not_before == 0)
		r.not_before = pki_date(GOOD_FROM);
	if (r.not_after == 0 && r.role != DP_CERT_EUICC)
		r.not_after = pki_date(GOOD_TO);
	int rc = dp_testpki_issue(&r, by, by_key, &c, key);
	if (rc)
		fail_msg("issue %s: %s: %s", name, dp_errname(rc), dp_err_detail());
	snprintf(path, sizeof(path), "%s/%s.pem", tmp, name);
	assert_int_equal(dp_testpki_write_cert(path, c, true), 0);
	dp_cert_free(c);
	assert_int_equal(dp_cert_load_file(path, &back), 0);
	if (key) {
		EVP_PKEY *k2 = NULL;
		snprintf(path, sizeof(path), "%s/%s-key.pem", tmp, name);
		assert_int_equal(dp_testpki_write_key(path, *key, true), 0);
		assert_int_equal(dp_cert_key_load_file(path, &k2), 0);
		assert_int_equal(dp_cert_check_key(back, k2), 0);
		EVP_PKEY_free(*key);
		*key = k2;
	}
	return back;
}

static void make_chain(struct chain *ch, enum dp_curve curve, const char *tag)
{
	char n[64];
	memset(ch, 0, sizeof(*ch));
#define NAME(x) (snprintf(n, sizeof(n), "%s-%s", tag, x), n)
	ch->ci = issue(&(struct dp_testpki_req){ .role = DP_CERT_CI, .curve = curve }, NULL, NULL,
		       &ch->ci_key, NAME("ci"));
	ch->eum = issue(&(struct dp_testpki_req){ .role = DP_CERT_EUM, .ein = "89049032" }, ch->ci,
			ch->ci_key, &ch->eum_key, NAME("eum"));
	ch->euicc = issue(&(struct dp_testpki_req){ .role = DP_CERT_EUICC, .eid = SGP26_EID },
			  ch->eum, ch->eum_key, &ch->euicc_key, NAME("euicc"));
	ch->dpauth = issue(&(struct dp_testpki_req){ .role = DP_CERT_DPAUTH }, ch->ci, ch->ci_key,
			   &ch->dpauth_key, NAME("dpauth"));
	ch->dppb = issue(&(struct dp_testpki_req){ .role = DP_CERT_DPPB }, ch->ci, ch->ci_key,
			 &ch->dppb_key, NAME("dppb"));
	ch->dptls = issue(&(struct dp_testpki_req){ .role = DP_CERT_DPTLS,
						    .host = "testsmdpplus1.example.com" },
			  ch->ci, ch->ci_key, &ch->dptls_key, NAME("dptls"));
#undef NAME
}

static void free_chain(struct chain *ch)
{
	struct dp_cert *c[] = { ch->ci, ch->eum, ch->euicc, ch->dpauth, ch->dppb, ch->dptls };
	EVP_PKEY *k[] = { ch->ci_key, ch->eum_key, ch->euicc_key, ch->dpauth_key, ch->dppb_key,
			  ch->dptls_key };
	for (size_t i = 0; i < 6; i++) {
		dp_cert_free(c[i]);
		EVP_PKEY_free(k[i]);
	}
}

static struct dp_ci_store *store_of(const struct dp_cert *ci)
{
	struct dp_ci_store *s = NULL;
	struct dp_cert *copy = NULL;
	size_t l;
	const uint8_t *d = dp_cert_der(ci, &l);
	assert_int_equal(dp_ci_store_new(&s), 0);
	assert_int_equal(dp_cert_from_der(d, l, &copy), 0);
	assert_int_equal(dp_ci_store_add_ci_take(s, copy), 0);
	return s;
}

/* verify_euicc with certificates; returns the error and the failed role */
static int verify(struct dp_ci_store *s, const struct dp_cert *euicc, const struct dp_cert *eum,
		  const char *at, enum dp_cert_role *failed, char *eid)
{
	struct dp_cert_chain chain;
	size_t el, ml;
	const uint8_t *ed = dp_cert_der(euicc, &el), *md = dp_cert_der(eum, &ml);
	int r = dp_ci_store_verify_euicc(s, ed, el, md, ml, NULL, 0, pki_date(at), &chain);
	if (failed)
		*failed = chain.failed;
	if (eid)
		strcpy(eid, chain.eid);
	assert_true(r ? chain.euicc == NULL : chain.euicc != NULL);
	dp_cert_chain_deinit(&chain);
	return r;
}

/* SKI = SHA-1 of the public key point, as in SGP.26 */
static void ski_is_sha1_of_point(const struct dp_cert *c)
{
	uint8_t pt[65], md[20];
	unsigned mdlen = 0;
	const uint8_t *ski;
	size_t len;
	assert_int_equal(dp_kdf_export_point(dp_cert_pubkey(c), pt), 0);
	assert_int_equal(EVP_Digest(pt, sizeof(pt), md, &mdlen, EVP_sha1(), NULL), 1);
	assert_int_equal(dp_cert_ski(c, &ski, &len), 0);
	assert_bytes_equal(ski, len, md, mdlen);
}

static void tool_chain(enum dp_curve curve, const char *tag)
{
	struct chain ch;
	enum dp_cert_role failed;
	char eid[33];
	make_chain(&ch, curve, tag);
	struct dp_ci_store *s = store_of(ch.ci);

	assert_int_equal(verify(s, ch.euicc, ch.eum, AT, &failed, eid), 0);
	assert_string_equal(eid, SGP26_EID);
	assert_int_equal(dp_cert_curve(ch.euicc), curve);
	/* the eUICC certificate never expires (9999-12-31) */
	assert_int_equal(verify(s, ch.euicc, ch.eum, "2044-12-01", NULL, NULL), 0);

	const struct dp_cert *dps[] = { ch.dpauth, ch.dppb, ch.dptls };
	const enum dp_cert_role roles[] = { DP_CERT_DPAUTH, DP_CERT_DPPB, DP_CERT_DPTLS };
	for (int i = 0; i < 3; i++) {
		size_t l;
		const uint8_t *d = dp_cert_der(dps[i], &l);
		assert_int_equal(dp_ci_store_verify(s, roles[i], d, l, pki_date(AT), NULL), 0);
		ski_is_sha1_of_point(dps[i]);
		/* and each against every other role is refused */
		for (int k = 0; k < 3; k++)
			if (k != i)
				assert_int_not_equal(dp_ci_store_verify(s, roles[k], d, l,
									pki_date(AT), NULL), 0);
	}
	ski_is_sha1_of_point(ch.ci);
	ski_is_sha1_of_point(ch.eum);
	ski_is_sha1_of_point(ch.euicc);
	char oid[32];
	assert_int_equal(dp_cert_san_oid(ch.dpauth, oid, sizeof(oid)), 0);
	assert_string_equal(oid, "2.999.10");
	assert_int_equal(X509_check_host(dp_cert_x509(ch.dptls), "testsmdpplus1.example.com", 0, 0,
					 NULL), 1);

	/* the signers join the store; the CI is selectable */
	EVP_PKEY_up_ref(ch.dpauth_key);
	EVP_PKEY_up_ref(ch.dppb_key);
	struct dp_cert *a = NULL, *b = NULL;
	size_t l;
	const uint8_t *d = dp_cert_der(ch.dpauth, &l);
	assert_int_equal(dp_cert_from_der(d, l, &a), 0);
	d = dp_cert_der(ch.dppb, &l);
	assert_int_equal(dp_cert_from_der(d, l, &b), 0);
	assert_int_equal(dp_ci_store_add_signer_take(s, a, ch.dpauth_key), 0);
	assert_int_equal(dp_ci_store_add_signer_take(s, b, ch.dppb_key), 0);
	struct dp_ci_ski want;
	const uint8_t *ski;
	assert_int_equal(dp_cert_ski(ch.ci, &ski, &want.len), 0);
	memcpy(want.v, ski, want.len);
	const struct dp_ci_entry *e;
	assert_int_equal(dp_ci_store_select(s, &want, 1, &want, 1, &e), 0);

	/* openssl's own verifier agrees that the DPtls chain is a valid TLS server chain */
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_STORE_add_cert(st, dp_cert_x509(ch.ci));
	X509_STORE_CTX_init(ctx, st, dp_cert_x509(ch.dptls), NULL);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), pki_date(AT));
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	assert_int_equal(X509_verify_cert(ctx), 1);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);

	dp_ci_store_free(s);
	free_chain(&ch);
}

static void test_tool_chains(void **state)
{
	tool_chain(DP_CURVE_NIST_P256, "nist");
	tool_chain(DP_CURVE_BRAINPOOL_P256R1, "brp");
}

static void test_bad_chains(void **state)
{
	struct chain ch;
	enum dp_cert_role failed;
	EVP_PKEY *k = NULL;
	make_chain(&ch, DP_CURVE_NIST_P256, "bad");
	struct dp_ci_store *s = store_of(ch.ci);
	assert_int_equal(verify(s, ch.euicc, ch.eum, AT, &failed, NULL), 0);

#define EUICC(name, ...) \
	issue(&(struct dp_testpki_req){ .role = DP_CERT_EUICC, .eid = SGP26_EID, __VA_ARGS__ }, \
	      ch.eum, ch.eum_key, NULL, name)
#define EUM(name, ...) \
	issue(&(struct dp_testpki_req){ .role = DP_CERT_EUM, .ein = "89049032", __VA_ARGS__ }, \
	      ch.ci, ch.ci_key, &k, name)
#define EXPECT(euicc, eum, err, who) \
	do { \
		int r_ = verify(s, (euicc), (eum), AT, &failed, NULL); \
		if (r_ != (err)) \
			fail_msg("got %s (%s), want %s", dp_errname(r_), dp_err_detail(), \
				 dp_errname(err)); \
		assert_int_equal(failed, (who)); \
	} while (0)

	/* expired EUM */
	struct dp_cert *eum_old = EUM("eum-expired", .not_after = pki_date("2025-01-01"));
	EVP_PKEY *eum_old_key = k;
	struct dp_cert *under_old = issue(&(struct dp_testpki_req){ .role = DP_CERT_EUICC,
								    .eid = SGP26_EID },
					  eum_old, eum_old_key, NULL, "euicc-under-expired");
	EXPECT(under_old, eum_old, DP_ERR_CERT_EXPIRED, DP_CERT_EUM);
	assert_int_equal(verify(s, under_old, eum_old, "2024-06-01", NULL, NULL), 0);
	/* the cached EUM still has its validity checked per call */
	EXPECT(under_old, eum_old, DP_ERR_CERT_EXPIRED, DP_CERT_EUM);

	/* expired and not-yet-valid eUICC */
	struct dp_cert *c = EUICC("euicc-expired", .not_after = pki_date("2029-01-01"));
	EXPECT(c, ch.eum, DP_ERR_CERT_EXPIRED, DP_CERT_EUICC);
	dp_cert_free(c);
	c = EUICC("euicc-future", .not_before = pki_date("2031-01-01"));
	EXPECT(c, ch.eum, DP_ERR_CERT_NOT_YET_VALID, DP_CERT_EUICC);
	dp_cert_free(c);

	/* eUICC signed by another EUM (of the same CI), presented with ours */
	EVP_PKEY *eum2_key = NULL;
	struct dp_cert *eum2 = EUM("eum-2");
	eum2_key = k;
	c = issue(&(struct dp_testpki_req){ .role = DP_CERT_EUICC, .eid = SGP26_EID }, eum2,
		  eum2_key, NULL, "euicc-other-eum");
	EXPECT(c, ch.eum, DP_ERR_CERT_ISSUER, DP_CERT_EUICC);
	assert_int_equal(verify(s, c, eum2, AT, NULL, NULL), 0); /* with its own EUM it is fine */
	dp_cert_free(c);

	/* EUM under an unknown CI */
	struct chain other;
	make_chain(&other, DP_CURVE_NIST_P256, "other");
	EXPECT(other.euicc, other.eum, DP_ERR_CERT_UNKNOWN_CI, DP_CERT_EUM);
	free_chain(&other);

	/* EID outside the EUM range; EID with wrong check digits; O not the EUM's */
	char eid[33];
	assert_int_equal(dp_testpki_make_eid("89049033", eid), 0);
	c = issue(&(struct dp_testpki_req){ .role = DP_CERT_EUICC, .eid = eid }, ch.eum,
		  ch.eum_key, NULL, "euicc-outside");
	EXPECT(c, ch.eum, DP_ERR_CERT_EID_RANGE, DP_CERT_EUICC);
	dp_cert_free(c);
	c = issue(&(struct dp_testpki_req){ .role = DP_CERT_EUICC,
					    .eid = "89049032123451234512345678901335" },
		  ch.eum, ch.eum_key, NULL, "euicc-check-digits");
	EXPECT(c, ch.eum, DP_ERR_CERT_EID, DP_CERT_EUICC);
	dp_cert_free(c);
	c = EUICC("euicc-other-org", .org = "Another EUM");
	EXPECT(c, ch.eum, DP_ERR_CERT_EID_RANGE, DP_CERT_EUICC);
	dp_cert_free(c);

	/* wrong key usage (eUICC, EUM) */
	c = EUICC("euicc-keycertsign", .key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN);
	EXPECT(c, ch.eum, DP_ERR_CERT_KEY_USAGE, DP_CERT_EUICC);
	dp_cert_free(c);
	c = EUICC("euicc-keyagreement", .key_usage = KU_KEY_AGREEMENT);
	EXPECT(c, ch.eum, DP_ERR_CERT_KEY_USAGE, DP_CERT_EUICC);
	dp_cert_free(c);
	struct dp_cert *eum_ku = EUM("eum-ku", .key_usage = KU_DIGITAL_SIGNATURE);
	EVP_PKEY_free(k);
	EXPECT(ch.euicc, eum_ku, DP_ERR_CERT_KEY_USAGE, DP_CERT_EUM);

	/* wrong or missing policy OID */
	c = EUICC("euicc-dpauth-policy", .policy = "2.23.146.1.2.1.4");
	EXPECT(c, ch.eum, DP_ERR_CERT_POLICY, DP_CERT_EUICC);
	dp_cert_free(c);
	c = EUICC("euicc-no-policy", .policy = "");
	EXPECT(c, ch.eum, DP_ERR_CERT_POLICY, DP_CERT_EUICC);
	dp_cert_free(c);
	struct dp_cert *eum_pol = EUM("eum-euicc-policy", .policy = "2.23.146.1.2.1.1");
	EVP_PKEY_free(k);
	EXPECT(ch.euicc, eum_pol, DP_ERR_CERT_POLICY, DP_CERT_EUM);
	/* the SGP.22 v3 role OIDs are accepted */
	c = EUICC("euicc-v3-policy", .policy = "2.23.146.1.2.1.0.0.0.0.0");
	EXPECT(c, ch.eum, 0, DP_CERT_ANY);
	dp_cert_free(c);

	/* a flipped signature byte (the last byte of the DER is the last byte of s) */
	struct dp_cert *flipped = NULL;
	size_t l;
	const uint8_t *d = dp_cert_der(ch.euicc, &l);
	uint8_t *copy = malloc(l);
	memcpy(copy, d, l);
	copy[l - 1] ^= 0x01;
	assert_int_equal(dp_cert_from_der(copy, l, &flipped), 0);
	EXPECT(flipped, ch.eum, DP_ERR_CERT_SIGNATURE, DP_CERT_EUICC);
	dp_cert_free(flipped);
	free(copy);
	d = dp_cert_der(ch.eum, &l);
	copy = malloc(l);
	memcpy(copy, d, l);
	copy[l - 1] ^= 0x80;
	assert_int_equal(dp_cert_from_der(copy, l, &flipped), 0);
	EXPECT(ch.euicc, flipped, DP_ERR_CERT_SIGNATURE, DP_CERT_EUM);
	dp_cert_free(flipped);
	free(copy);

	/* the v3 permitted-EINs form of the EUM range */
	struct dp_cert *eum_eins = issue(&(struct dp_testpki_req){ .role = DP_CERT_EUM,
							    .ein = "8904903212",
							    .ein_extension = true },
					 ch.ci, ch.ci_key, &k, "eum-eins");
	EVP_PKEY *eins_key = k;
	c = issue(&(struct dp_testpki_req){ .role = DP_CERT_EUICC, .eid = SGP26_EID }, eum_eins,
		  eins_key, NULL, "euicc-eins");
	EXPECT(c, eum_eins, 0, DP_CERT_ANY);
	dp_cert_free(c);
	c = issue(&(struct dp_testpki_req){ .role = DP_CERT_EUICC, .eid = eid }, eum_eins, eins_key,
		  NULL, "euicc-eins-outside");
	EXPECT(c, eum_eins, DP_ERR_CERT_EID_RANGE, DP_CERT_EUICC);
	dp_cert_free(c);
	/* a nameConstraints EUM whose prefix is longer than the EID's common part */
	struct dp_cert *eum_narrow = issue(&(struct dp_testpki_req){ .role = DP_CERT_EUM,
							      .ein = "890490321234512345" },
					   ch.ci, ch.ci_key, &k, "eum-narrow");
	EVP_PKEY *narrow_key = k;
	c = issue(&(struct dp_testpki_req){ .role = DP_CERT_EUICC,
					    .eid = "89049032123451234612345678901279" },
		  eum_narrow, narrow_key, NULL, "euicc-narrow");
	assert_int_equal(dp_cert_eid_valid("89049032123451234612345678901279"), 0);
	EXPECT(c, eum_narrow, DP_ERR_CERT_EID_RANGE, DP_CERT_EUICC);
	dp_cert_free(c);

	/* CRL: a revoked EUM, a CRL past nextUpdate, a CRL by a stranger */
	struct dp_buf crl;
	const struct dp_cert *revoked[] = { eum2 };
	dp_buf_init(&crl, 1 << 16);
	assert_int_equal(dp_testpki_issue_crl(ch.ci, ch.ci_key, revoked, 1, pki_date("2030-01-01"),
					      pki_date("2030-12-01"), &crl), 0);
	assert_int_equal(dp_ci_store_add_crl(s, crl.data, crl.len), 0);
	c = issue(&(struct dp_testpki_req){ .role = DP_CERT_EUICC, .eid = SGP26_EID }, eum2,
		  eum2_key, NULL, "euicc-revoked-eum");
	EXPECT(c, eum2, DP_ERR_CERT_REVOKED, DP_CERT_EUM);
	EXPECT(ch.euicc, ch.eum, 0, DP_CERT_ANY);
	assert_int_equal(verify(s, ch.euicc, ch.eum, "2031-01-01", &failed, NULL), DP_ERR_CERT_CRL);
	dp_cert_free(c);
	make_chain(&other, DP_CURVE_NIST_P256, "other2");
	dp_buf_reset(&crl);
	assert_int_equal(dp_testpki_issue_crl(other.ci, other.ci_key, revoked, 1, 0, 0, &crl), 0);
	assert_int_equal(dp_ci_store_add_crl(s, crl.data, crl.len), DP_ERR_CERT_CRL);
	assert_int_equal(dp_ci_store_add_crl(s, crl.data, crl.len - 1), DP_ERR_CERT_PARSE);
	free_chain(&other);
	dp_buf_deinit(&crl);

	/* a DPauth issued under an EUM is not accepted as a DPauth of the CI */
	struct dp_cert *dp_bad = issue(&(struct dp_testpki_req){ .role = DP_CERT_DPAUTH }, ch.eum,
				       ch.eum_key, NULL, "dpauth-under-eum");
	d = dp_cert_der(dp_bad, &l);
	assert_int_equal(dp_ci_store_verify(s, DP_CERT_DPAUTH, d, l, pki_date(AT), NULL),
			 DP_ERR_CERT_UNKNOWN_CI);
	dp_cert_free(dp_bad);
#undef EUICC
#undef EUM
#undef EXPECT
	dp_cert_free(under_old);
	dp_cert_free(eum_old);
	EVP_PKEY_free(eum_old_key);
	dp_cert_free(eum2);
	EVP_PKEY_free(eum2_key);
	dp_cert_free(eum_ku);
	dp_cert_free(eum_pol);
	dp_cert_free(eum_eins);
	EVP_PKEY_free(eins_key);
	dp_cert_free(eum_narrow);
	EVP_PKEY_free(narrow_key);
	dp_ci_store_free(s);
	free_chain(&ch);
}

static void test_malformed_input(void **state)
{
	struct dp_cert *c = NULL;
	EVP_PKEY *k = NULL;
	struct dp_buf der;
	dp_test_read_file(dp_test_shared("sgp26/" CI_NIST), &der);

	/* every failure is a project error with a text, and OpenSSL's queue is left empty */
	static const size_t cuts[] = { 0, 1, 4, 100, 595 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		assert_int_equal(dp_cert_from_der(der.data, cuts[i], &c), DP_ERR_CERT_PARSE);
		assert_null(c);
		assert_true(strlen(dp_err_detail()) > 0);
		assert_int_equal(ERR_peek_error(), 0);
	}
	assert_int_equal(dp_cert_from_der(der.data, 100, &c), DP_ERR_CERT_PARSE);
	assert_non_null(strstr(dp_err_detail(), "certificate DER: error:"));
	assert_int_equal(dp_buf_append_byte(&der, 0), 0);
	assert_int_equal(dp_cert_from_der(der.data, der.len, &c), DP_ERR_CERT_PARSE);
	assert_non_null(strstr(dp_err_detail(), "after the certificate"));
	uint8_t junk[64];
	memset(junk, 0x30, sizeof(junk));
	assert_int_equal(dp_cert_from_der(junk, sizeof(junk), &c), DP_ERR_CERT_PARSE);
	assert_int_equal(dp_cert_from_pem("hello", 5, &c), DP_ERR_CERT_PARSE);
	const char pem_junk[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	assert_int_equal(dp_cert_from_pem(pem_junk, sizeof(pem_junk) - 1, &c), DP_ERR_CERT_PARSE);
	assert_int_equal(dp_cert_load_file("/nonexistent/ci.pem", &c), DP_ERR_IO);
	assert_int_equal(dp_cert_key_load_file("/nonexistent/key.pem", &k), DP_ERR_IO);
	assert_int_equal(dp_cert_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE "
					      "KEY-----\n", 60, &k), DP_ERR_CERT_PARSE);
	/* a certificate file read as a key, a key file read as a certificate */
	assert_int_equal(dp_cert_key_load_file(dp_test_shared("sgp26/" CI_NIST), &k),
			 DP_ERR_CERT_PARSE);
	assert_int_equal(dp_cert_load_file(dp_test_shared("sgp26/DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem"),
					   &c), DP_ERR_CERT_PARSE);
	assert_int_equal(ERR_peek_error(), 0);

	/* keys and certificates on other curves or algorithms */
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	PEM_write_bio_PrivateKey(b, rsa, NULL, NULL, 0, NULL, NULL);
	long n = BIO_get_mem_data(b, &pem);
	assert_int_equal(dp_cert_key_from_pem(pem, (size_t)n, &k), DP_ERR_CERT_CURVE);
	BIO_free(b);
	struct dp_cert *ci = NULL;
	EVP_PKEY *ci_key = NULL;
	assert_int_equal(dp_testpki_issue(&(struct dp_testpki_req){ .role = DP_CERT_CI }, NULL, NULL,
					  &ci, &ci_key), 0);
	assert_int_equal(dp_testpki_issue(&(struct dp_testpki_req){ .role = DP_CERT_DPAUTH,
								    .key = p384 },
					  ci, ci_key, &c, NULL), DP_ERR_CERT_CURVE);
	/* the tool refuses nonsense requests */
	assert_int_equal(dp_testpki_issue(&(struct dp_testpki_req){ .role = DP_CERT_EUICC }, ci,
					  ci_key, &c, NULL), DP_ERR_INVAL);
	assert_int_equal(dp_testpki_issue(&(struct dp_testpki_req){ .role = DP_CERT_DPAUTH }, NULL,
					  NULL, &c, NULL), DP_ERR_INVAL);
	assert_int_equal(dp_testpki_issue(&(struct dp_testpki_req){ .role = DP_CERT_DPAUTH }, ci,
					  p384, &c, NULL), DP_ERR_KEY_MISMATCH);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa);

	/* outside input to the chain check: garbage EUM, garbage eUICC */
	struct dp_ci_store *s = store_of(ci);
	struct dp_cert_chain chain;
	size_t l;
	const uint8_t *d = dp_cert_der(ci, &l);
	assert_int_equal(dp_ci_store_verify_euicc(s, d, l, junk, sizeof(junk), NULL, 0, time(NULL),
						  &chain), DP_ERR_CERT_PARSE);
	assert_int_equal(chain.failed, DP_CERT_EUM);
	/* the CI itself presented as EUM: it has no AKI to chain by, the EUM's fault */
	assert_int_equal(dp_ci_store_verify_euicc(s, junk, sizeof(junk), d, l, NULL, 0, time(NULL),
						  &chain), DP_ERR_CERT_EXTENSION);
	assert_int_equal(chain.failed, DP_CERT_EUM);
	assert_int_equal(ERR_peek_error(), 0);
	dp_ci_store_free(s);
	dp_cert_free(ci);
	EVP_PKEY_free(ci_key);
	dp_buf_deinit(&der);
}

/* Private keys in every form a test set or an operator may hand over. */
static void test_key_formats(void **state)
{
	EVP_PKEY *sgp26 = pki_sgp26_key("DPpb/SK_S_SM_DPpb_ECDSA_BRP.pem"); /* SEC1 + EC PARAMETERS */
	struct dp_cert *cert = pki_sgp26_cert("DPpb/CERT_S_SM_DPpb_ECDSA_BRP.der");
	char path[600];
	EVP_PKEY *k = NULL;
	FILE *f;

	assert_int_equal(dp_cert_check_key(cert, sgp26), 0);
	/* DER, PKCS#8 and traditional (SEC1) */
	for (int form = 0; form < 2; form++) {
		snprintf(path, sizeof(path), "%s/key-%d.der", tmp, form);
		f = fopen(path, "wb");
		assert_non_null(f);
		if (form == 0) {
			assert_true(i2d_PKCS8PrivateKey_fp(f, sgp26, NULL, NULL, 0, NULL, NULL) == 1);
		} else {
			unsigned char *der = NULL;
			int n = i2d_PrivateKey(sgp26, &der);
			assert_true(n > 0);
			assert_int_equal(fwrite(der, 1, (size_t)n, f), (size_t)n);
			OPENSSL_free(der);
		}
		fclose(f);
		assert_int_equal(dp_cert_key_load_file(path, &k), 0);
		assert_int_equal(dp_cert_check_key(cert, k), 0);
		EVP_PKEY_free(k);
	}
	/* an encrypted PEM is refused (no password prompt), with a project error */
	snprintf(path, sizeof(path), "%s/key-enc.pem", tmp);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PKCS8PrivateKey(f, sgp26, EVP_aes_128_cbc(), NULL, 0, NULL,
						   (void *)"secret"), 1);
	fclose(f);
	assert_int_equal(dp_cert_key_load_file(path, &k), DP_ERR_CERT_PARSE);
	assert_null(k);
	assert_int_equal(ERR_peek_error(), 0);
	/* a certificate in PEM and in DER gives the same bytes */
	struct dp_cert *pem = pki_sgp26_cert("CertificateIssuer/CERT_CI_ECDSA_BRP.pem");
	struct dp_cert *der = pki_sgp26_cert(CI_BRP);
	size_t a, b;
	const uint8_t *pa = dp_cert_der(pem, &a), *pb = dp_cert_der(der, &b);
	assert_bytes_equal(pa, a, pb, b);
	dp_cert_free(pem);
	dp_cert_free(der);
	dp_cert_free(cert);
	EVP_PKEY_free(sgp26);
}

static void test_eid_helpers(void **state)
{
	char eid[33];
	assert_int_equal(dp_cert_eid_valid(SGP26_EID), 0);
	assert_int_equal(dp_cert_eid_valid("89049032123451234512345678901335"), DP_ERR_CERT_EID);
	assert_int_equal(dp_cert_eid_valid("8904903212345123451234567890123"), DP_ERR_CERT_EID);
	assert_int_equal(dp_cert_eid_valid("8904903212345123451234567890123X"), DP_ERR_CERT_EID);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(dp_testpki_make_eid("89049032", eid), 0);
		assert_int_equal(strncmp(eid, "89049032", 8), 0);
		assert_int_equal(dp_cert_eid_valid(eid), 0);
	}
	/* 30 given digits: only the check digits are computed; they match the SGP.26 EID's */
	assert_int_equal(dp_testpki_make_eid("890490321234512345123456789012", eid), 0);
	assert_string_equal(eid, SGP26_EID);
	assert_int_equal(dp_testpki_make_eid("8904903212345123451234567890123", eid), DP_ERR_INVAL);
	assert_int_equal(dp_testpki_make_eid("89x", eid), DP_ERR_INVAL);
}

struct worker {
	struct dp_ci_store *s;
	const struct dp_cert *euicc[2], *eum[2];
	int errors;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 200; i++) {
		struct dp_cert_chain chain;
		size_t el, ml;
		const uint8_t *ed = dp_cert_der(w->euicc[i % 2], &el);
		const uint8_t *md = dp_cert_der(w->eum[i % 2], &ml);
		if (dp_ci_store_verify_euicc(w->s, ed, el, md, ml, NULL, 0, pki_date(AT), &chain))
			w->errors++;
		dp_cert_chain_deinit(&chain);
	}
	return NULL;
}

static void test_threads_share_the_store(void **state)
{
	struct chain a, b;
	make_chain(&a, DP_CURVE_NIST_P256, "thr-a");
	make_chain(&b, DP_CURVE_NIST_P256, "thr-b");
	struct dp_ci_store *s = store_of(a.ci);
	struct dp_cert *bci = NULL;
	size_t l;
	const uint8_t *d = dp_cert_der(b.ci, &l);
	assert_int_equal(dp_cert_from_der(d, l, &bci), 0);
	assert_int_equal(dp_ci_store_add_ci_take(s, bci), 0);
	struct worker w[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ s, { a.euicc, b.euicc }, { a.eum, b.eum }, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].errors, 0);
	}
	dp_ci_store_free(s);
	free_chain(&a);
	free_chain(&b);
}

/* Runs the key-handling paths with debug logging on and checks that none of the secrets
 * (private scalars, Z, session keys) appears in what was logged. */
static void test_no_key_material_in_logs(void **state)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/log.txt", tmp);
	fflush(stderr);
	int saved = dup(2);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	dup2(fileno(f), 2);
	assert_int_equal(dp_log_configure("debug"), 0);

	struct dp_ci_store *s = sgp26_store(true);
	struct dp_buf sk_dp, pk_eu, host, eid, z;
	pki_vec("nist.otsk_dp", &sk_dp);
	pki_vec("nist.otpk_euicc", &pk_eu);
	pki_vec("host_id", &host);
	pki_vec("eid", &eid);
	pki_vec("nist.z", &z);
	EVP_PKEY *otsk = NULL;
	struct dp_session_keys keys;
	struct dp_scp03t *ctx = NULL;
	struct dp_buf seg, back;
	uint8_t tag;
	assert_int_equal(dp_kdf_import_private(DP_CURVE_NIST_P256, sk_dp.data, &otsk), 0);
	assert_int_equal(dp_kdf_session_keys(otsk, pk_eu.data, pk_eu.len, host.data, host.len,
					     eid.data, &keys), 0);
	assert_int_equal(dp_scp03t_new(&keys, &ctx), 0);
	dp_buf_init(&seg, 4096);
	dp_buf_init(&back, 4096);
	assert_int_equal(dp_scp03t_wrap(ctx, 0x86, keys.s_enc, 16, &seg), 0);
	seg.data[5] ^= 1;
	assert_int_equal(dp_scp03t_unwrap(ctx, seg.data, seg.len, &tag, &back), DP_ERR_SCP03T_MAC);
	/* a rejected chain logs at debug level */
	struct dp_cert *euicc = pki_sgp26_cert("eUICC/CERT_EUICC_ECDSA_NIST.der");
	struct dp_cert_chain chain;
	size_t l;
	const uint8_t *d = dp_cert_der(euicc, &l);
	assert_int_equal(dp_ci_store_verify_euicc(s, d, l, d, l, NULL, 0, time(NULL), &chain),
			 DP_ERR_CERT_UNKNOWN_CI);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fclose(f);
	assert_int_equal(dp_log_configure("info"), 0);

	struct dp_buf log;
	dp_test_read_file(path, &log);
	assert_int_equal(dp_buf_append_byte(&log, 0), 0);
	/* something was logged */
	assert_non_null(strstr((char *)log.data, "DPauth"));
	assert_non_null(strstr((char *)log.data, "failed its MAC"));
	assert_non_null(strstr((char *)log.data, "eUICC chain rejected"));
	/* but no secret, in either case of hex, nor any 8-byte piece of one */
	EVP_PKEY *dpauth = pki_sgp26_key("DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem");
	BIGNUM *bn = NULL;
	uint8_t dpauth_priv[32];
	assert_int_equal(EVP_PKEY_get_bn_param(dpauth, "priv", &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, dpauth_priv, 32), 32);
	const struct {
		const uint8_t *p;
		size_t n;
	} secrets[] = { { sk_dp.data, 32 },   { z.data, 32 },     { keys.s_enc, 16 },
			{ keys.s_mac, 16 },   { keys.mcv, 16 },   { dpauth_priv, 32 } };
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		for (size_t off = 0; off + 8 <= secrets[i].n; off += 4) {
			char lo[17], up[17];
			assert_int_equal(dp_hex_encode(secrets[i].p + off, 8, false, lo, sizeof(lo)), 0);
			assert_int_equal(dp_hex_encode(secrets[i].p + off, 8, true, up, sizeof(up)), 0);
			assert_null(strstr((char *)log.data, lo));
			assert_null(strstr((char *)log.data, up));
		}
	}
	BN_free(bn);
	EVP_PKEY_free(dpauth);
	dp_buf_deinit(&log);
	dp_cert_free(euicc);
	dp_buf_deinit(&seg);
	dp_buf_deinit(&back);
	dp_scp03t_free(ctx);
	dp_kdf_keys_wipe(&keys);
	EVP_PKEY_free(otsk);
	dp_buf_deinit(&sk_dp);
	dp_buf_deinit(&pk_eu);
	dp_buf_deinit(&host);
	dp_buf_deinit(&eid);
	dp_buf_deinit(&z);
	dp_ci_store_free(s);
}

/* dp_cert_pubkey_from_der: the same key as a full parse, for both curves (with and without
 * the version field) and the SGP.26 certificates; refusals of anything else. */
static void test_pubkey_from_der(void **state)
{
	static const char *const files[] = { ("sgp26/" CI_NIST),
					     "sgp26/eUICC/CERT_EUICC_ECDSA_NIST.der",
					     "sgp26/eUICC/CERT_EUICC_ECDSA_BRP.der" };
	struct chain ch;
	EVP_PKEY *k = NULL;
	size_t len;
	make_chain(&ch, DP_CURVE_BRAINPOOL_P256R1, "fast");
	const struct dp_cert *mine[] = { ch.euicc, ch.eum, ch.dpauth };
	for (size_t i = 0; i < 3; i++) {
		const uint8_t *d = dp_cert_der(mine[i], &len);
		assert_int_equal(dp_cert_pubkey_from_der(d, len, &k), DP_OK);
		assert_int_equal(EVP_PKEY_eq(k, dp_cert_pubkey(mine[i])), 1);
		EVP_PKEY_free(k);
	}
	for (size_t i = 0; i < 3; i++) {
		struct dp_buf der;
		struct dp_cert *c = NULL;
		dp_test_read_file(dp_test_shared(files[i]), &der);
		assert_int_equal(dp_cert_from_der(der.data, der.len, &c), DP_OK);
		assert_int_equal(dp_cert_pubkey_from_der(der.data, der.len, &k), DP_OK);
		assert_int_equal(EVP_PKEY_eq(k, dp_cert_pubkey(c)), 1);
		EVP_PKEY_free(k);
		/* every truncation is refused, never read past */
		for (size_t cut = 0; cut < der.len; cut += 7) {
			int r = dp_cert_pubkey_from_der(der.data, cut, &k);
			assert_true(r == DP_ERR_CERT_PARSE || r == DP_ERR_CERT_CURVE);
			assert_null(k);
		}
		/* the point off the curve: the import refuses it */
		uint8_t pt[65];
		size_t at = 0;
		assert_int_equal(dp_kdf_export_point(dp_cert_pubkey(c), pt), 0);
		while (at + sizeof(pt) <= der.len && memcmp(der.data + at, pt, sizeof(pt)) != 0)
			at++;
		assert_true(at + sizeof(pt) <= der.len);
		der.data[at + 64] ^= 0x01;
		assert_int_not_equal(dp_cert_pubkey_from_der(der.data, der.len, &k), DP_OK);
		assert_null(k);
		dp_cert_free(c);
		dp_buf_deinit(&der);
	}
	/* junk, and a curve OID we do not serve (prime256v1's last arc changed) */
	uint8_t junk[64];
	memset(junk, 0x30, sizeof(junk));
	assert_int_equal(dp_cert_pubkey_from_der(junk, sizeof(junk), &k), DP_ERR_CERT_PARSE);
	static const uint8_t p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };
	struct dp_buf der;
	dp_test_read_file(dp_test_shared(files[1]), &der);
	size_t at = 0;
	while (at + sizeof(p256) <= der.len && memcmp(der.data + at, p256, sizeof(p256)) != 0)
		at++;
	assert_true(at + sizeof(p256) <= der.len);
	der.data[at + sizeof(p256) - 1] = 0x08;
	assert_int_equal(dp_cert_pubkey_from_der(der.data, der.len, &k), DP_ERR_CERT_CURVE);
	dp_buf_deinit(&der);
	free_chain(&ch);
	ERR_clear_error();
}

/* ---- dp_cert_from_der_nokey: the same verdicts and results as dp_cert_from_der ---- */

/* Parses der both ways; returns the common result and, when both load, checks that every
 * getter and check agrees and that each checks issued_by the same against issuer (NULL: no
 * issuer check); *issued gets that verdict. */
static int both_ways(const uint8_t *der, size_t len, const struct dp_cert *issuer, int *issued)
{
	struct dp_cert *a = NULL, *b = NULL;
	int ra = dp_cert_from_der(der, len, &a);
	int rb = dp_cert_from_der_nokey(der, len, &b);
	if (ra != rb)
		fail_msg("dp_cert_from_der %s, dp_cert_from_der_nokey %s", dp_errname(ra),
			 dp_errname(rb));
	if (ra != DP_OK) {
		assert_null(a);
		assert_null(b);
		return ra;
	}
	char sa[256], sb[256], ea[DP_CERT_EID_DIGITS + 1] = "", eb[DP_CERT_EID_DIGITS + 1] = "";
	const uint8_t *ka, *kb;
	size_t la, lb;
	assert_int_equal(dp_cert_curve(a), dp_cert_curve(b));
	assert_int_equal(EVP_PKEY_eq(dp_cert_pubkey(a), dp_cert_pubkey(b)), 1);
	dp_cert_subject(a, sa, sizeof(sa));
	dp_cert_subject(b, sb, sizeof(sb));
	assert_string_equal(sa, sb);
	assert_int_equal(dp_cert_ski(a, &ka, &la), dp_cert_ski(b, &kb, &lb));
	assert_int_equal(dp_cert_aki(a, &ka, &la), dp_cert_aki(b, &kb, &lb));
	for (enum dp_cert_role r = DP_CERT_ANY; r <= DP_CERT_OPERATOR; r++)
		assert_int_equal(dp_cert_check_role(a, r), dp_cert_check_role(b, r));
	assert_int_equal(dp_cert_eid(a, ea), dp_cert_eid(b, eb));
	assert_string_equal(ea, eb);
	assert_int_equal(dp_cert_check_time(a, pki_date("2026-10-01")),
			 dp_cert_check_time(b, pki_date("2026-10-01")));
	assert_int_equal(dp_cert_check_time(a, pki_date("2090-01-01")),
			 dp_cert_check_time(b, pki_date("2090-01-01")));
	if (issuer != NULL) {
		*issued = dp_cert_check_issued_by(a, issuer);
		assert_int_equal(dp_cert_check_issued_by(b, issuer), *issued);
		if (*issued == DP_OK)
			assert_int_equal(dp_cert_check_eid_range(issuer, a, ea),
					 dp_cert_check_eid_range(issuer, b, eb));
	}
	dp_cert_free(a);
	dp_cert_free(b);
	ERR_clear_error();
	return DP_OK;
}

/* Position of the n-th (0-based) occurrence of pat in d, or fails. */
static size_t find_nth(const struct dp_buf *d, const uint8_t *pat, size_t n, size_t nth)
{
	for (size_t at = 0; at + n <= d->len; at++)
		if (memcmp(d->data + at, pat, n) == 0 && nth-- == 0)
			return at;
	fail_msg("pattern not found");
	return 0;
}

static void test_nokey_parse(void **state)
{
	static const char *const files[] = {
		"CertificateIssuer/CERT_CI_ECDSA_NIST.der", "CertificateIssuer/CERT_CI_ECDSA_BRP.der",
		"EUM/CERT_EUM_ECDSA_NIST.der", "EUM/CERT_EUM_ECDSA_BRP.der",
		"eUICC/CERT_EUICC_ECDSA_NIST.der", "eUICC/CERT_EUICC_ECDSA_BRP.der",
		"DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der", "DPauth/CERT_S_SM_DPauth_ECDSA_BRP.der",
		"DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der", "DPpb/CERT_S_SM_DPpb_ECDSA_BRP.der",
		"DPtls/CERT_S_SM_DP_VARO_TLS_NIST.der", "DPtls/CERT_S_SM_DP_VARO_TLS_BRP.der",
		"DPauth/CERT_S_SM_DP2auth_ECDSA_NIST.der", "DPtls/CERT_S_SM_DP8_TLS.der",
	};
	/* index of each file's issuer in files (-1: none; a CI has no authorityKeyIdentifier) */
	static const int issuer_of_file[] = { -1, -1, 0, 1, 2, 3, 0, 1, 0, 1, 0, 1, 0, 0 };
	struct dp_cert *certs[sizeof(files) / sizeof(files[0])];
	int issued;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		certs[i] = pki_sgp26_cert(files[i]);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t n;
		const uint8_t *d = dp_cert_der(certs[i], &n);
		const struct dp_cert *iss = issuer_of_file[i] < 0 ? NULL : certs[issuer_of_file[i]];
		issued = DP_OK;
		assert_int_equal(both_ways(d, n, iss, &issued), DP_OK);
		if (issued != DP_OK)
			fail_msg("%s: %s (%s)", files[i], dp_errname(issued), dp_err_detail());
		/* with the other curve's CI: refused the same way (AKI) */
		const struct dp_cert *other =
		    certs[dp_cert_curve(certs[i]) == DP_CURVE_NIST_P256 ? 1 : 0];
		assert_int_equal(both_ways(d, n, other, &issued), DP_OK);
		if (i > 1)
			assert_int_equal(issued, DP_ERR_CERT_ISSUER);
		/* the key-less parse really is key-less: the X509 object carries no key */
		struct dp_cert *b = NULL;
		assert_int_equal(dp_cert_from_der_nokey(d, n, &b), DP_OK);
		assert_null(X509_get0_pubkey(dp_cert_x509(b)));
		ERR_clear_error();
		dp_cert_free(b);
	}

	/* PK.EUICC of the key-less parse verifies what SK.EUICC signs */
	struct dp_buf der;
	struct dp_cert *b = NULL;
	dp_test_read_file(dp_test_shared("sgp26/eUICC/CERT_EUICC_ECDSA_NIST.der"), &der);
	EVP_PKEY *sk = pki_sgp26_key("eUICC/SK_EUICC_ECDSA_NIST.pem");
	uint8_t msg[] = "euiccSigned1", sig[64];
	assert_int_equal(dp_ecdsa_sign(sk, msg, sizeof(msg), sig), 0);
	assert_int_equal(dp_cert_from_der_nokey(der.data, der.len, &b), DP_OK);
	assert_int_equal(dp_ecdsa_verify(dp_cert_pubkey(b), msg, sizeof(msg), sig, 64), 0);
	dp_cert_free(b);
	EVP_PKEY_free(sk);

	/* changed copies of CERT.EUICC (NIST) against CERT.EUM (NIST) */
	const struct dp_cert *eum = certs[2];
	static const uint8_t sha256_oid[] = { 0x06, 0x08, 0x2A, 0x86, 0x48,
					      0xCE, 0x3D, 0x04, 0x03, 0x02 };
	static const uint8_t p256_oid[] = { 0x06, 0x08, 0x2A, 0x86, 0x48,
					    0xCE, 0x3D, 0x03, 0x01, 0x07 };
	struct dp_buf m;
	dp_buf_init(&m, der.len + 16);
#define MUTANT() (dp_buf_reset(&m), dp_buf_append(&m, der.data, der.len))
	/* the TBS signature field says ecdsa-with-SHA384, the outer one SHA256 */
	assert_int_equal(MUTANT(), 0);
	m.data[find_nth(&m, sha256_oid, sizeof(sha256_oid), 0) + 9] = 0x03;
	assert_int_equal(both_ways(m.data, m.len, eum, &issued), DP_OK);
	assert_int_equal(issued, DP_ERR_CERT_SIGNATURE);
	/* the outer signatureAlgorithm says SHA384: refused at parse, both ways */
	assert_int_equal(MUTANT(), 0);
	m.data[find_nth(&m, sha256_oid, sizeof(sha256_oid), 1) + 9] = 0x03;
	assert_int_equal(both_ways(m.data, m.len, eum, &issued), DP_ERR_CERT_CURVE);
	/* unused bits in the signature BIT STRING (03 len 00 after the outer algorithm) */
	assert_int_equal(MUTANT(), 0);
	size_t bits = find_nth(&m, sha256_oid, sizeof(sha256_oid), 1) + sizeof(sha256_oid);
	assert_int_equal(m.data[bits], 0x03);
	assert_int_equal(m.data[bits + 2], 0x00);
	m.data[bits + 2] = 0x01;
	assert_int_equal(both_ways(m.data, m.len, eum, &issued), DP_OK);
	assert_int_equal(issued, DP_ERR_CERT_SIGNATURE);
	/* a changed signed byte (in the serial number) */
	assert_int_equal(MUTANT(), 0);
	assert_int_equal(m.data[13], 0x02); /* serialNumber INTEGER, after the version */
	m.data[16] ^= 0x01;
	assert_int_equal(both_ways(m.data, m.len, eum, &issued), DP_OK);
	assert_int_equal(issued, DP_ERR_CERT_SIGNATURE);
	/* a point off the curve, and a curve we do not serve: the same refusal both ways */
	assert_int_equal(MUTANT(), 0);
	size_t curve_at = find_nth(&m, p256_oid, sizeof(p256_oid), 0);
	m.data[curve_at + sizeof(p256_oid) + 2 + 1 + 64] ^= 0x01; /* BIT STRING hdr, 00, 04|X|Y */
	assert_int_not_equal(both_ways(m.data, m.len, eum, &issued), DP_OK);
	assert_int_equal(MUTANT(), 0);
	m.data[curve_at + sizeof(p256_oid) - 1] = 0x08;
	assert_int_not_equal(both_ways(m.data, m.len, eum, &issued), DP_OK);
	/* an outer length in a longer form than DER allows: not strict DER, so OpenSSL's
	 * d2i_X509 and X509_verify judge it, for both */
	assert_int_equal(der.data[0], 0x30);
	assert_int_equal(der.data[1], 0x82);
	dp_buf_reset(&m);
	assert_int_equal(dp_buf_append(&m, (const uint8_t *)"\x30\x83\x00", 3), 0);
	assert_int_equal(dp_buf_append(&m, der.data + 2, der.len - 2), 0);
	int r = both_ways(m.data, m.len, eum, &issued);
	assert_true(r == DP_ERR_CERT_PARSE || (r == DP_OK && issued == DP_OK));
	/* every truncation and every single-byte change in the first 40 bytes */
	for (size_t cut = 0; cut < der.len; cut += 5)
		assert_int_not_equal(both_ways(der.data, cut, eum, &issued), DP_OK);
	for (size_t at = 0; at < 40; at++) {
		assert_int_equal(MUTANT(), 0);
		m.data[at] ^= 0x5A;
		if (both_ways(m.data, m.len, eum, &issued) == DP_OK)
			assert_int_not_equal(issued, DP_OK);
	}
#undef MUTANT
	dp_buf_deinit(&m);
	dp_buf_deinit(&der);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		dp_cert_free(certs[i]);
	ERR_clear_error();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgp26_chains),
		cmocka_unit_test(test_store_and_select),
		cmocka_unit_test(test_tool_chains),
		cmocka_unit_test(test_bad_chains),
		cmocka_unit_test(test_malformed_input),
		cmocka_unit_test(test_key_formats),
		cmocka_unit_test(test_eid_helpers),
		cmocka_unit_test(test_threads_share_the_store),
		cmocka_unit_test(test_no_key_material_in_logs),
		cmocka_unit_test(test_pubkey_from_der),
		cmocka_unit_test(test_nokey_parse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
