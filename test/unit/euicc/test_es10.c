/* Test eUICC ES10 layer (test/euicc/es10.c): GetEUICCChallenge, GetEUICCInfo1/2, GetEID,
 * AuthenticateServer with the eUICC's checks, and the whole path through the APDU layer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/crypto/ecdsa.h"
#include "pki/crypto/testpki.h"
#include "test/euicc/apdu.h"
#include "test/euicc/es10.h"
#include "test/support/support.h"
#include "test/unit/euicc/euicc_test.h"

#define ADDRESS "testsmdpplus1.example.com"

struct fixture {
	struct dp_euicc *e;
	struct dp_cert *dpauth;
	EVP_PKEY *key;
	struct euicc_test_auth auth;
	struct dp_ci_ski ci;
	struct dp_buf req, resp;
};

static int setup_curve(void **state, enum dp_curve curve)
{
	struct fixture *fx = test_calloc(1, sizeof(*fx));
	assert_int_equal(dp_euicc_new(euicc_test_identity(curve), &fx->e), DP_OK);
	dp_euicc_set_time(fx->e, EUICC_TEST_TIME);
	euicc_test_server("DPauth", "DPauth", curve, &fx->dpauth, &fx->key);
	euicc_test_ci_ski(curve, &fx->ci);
	dp_buf_init(&fx->req, 16384);
	dp_buf_init(&fx->resp, DP_EUICC_ES10_RESP_MAX);
	struct euicc_test_auth *a = &fx->auth;
	memcpy(a->tid, "\x01\x23\x45\x67\x89\xAB\xCD\xEF\x88\x99\xAA\xBB\xCC\xDD\xEE\xFF", 16);
	a->tid_len = 16;
	a->address = ADDRESS;
	memcpy(a->server_challenge, "\x88\x99\xAA\xBB\xCC\xDD\xEE\xFF\x00\x11\x22\x33\x44\x55\x66\x77",
	       16);
	a->ci_pkid = fx->ci.v;
	a->ci_pkid_len = fx->ci.len;
	a->cert = fx->dpauth;
	a->key = fx->key;
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return setup_curve(state, DP_CURVE_NIST_P256);
}

static int setup_brp(void **state)
{
	return setup_curve(state, DP_CURVE_BRAINPOOL_P256R1);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	dp_euicc_free(fx->e);
	dp_cert_free(fx->dpauth);
	EVP_PKEY_free(fx->key);
	dp_buf_deinit(&fx->req);
	dp_buf_deinit(&fx->resp);
	test_free(fx);
	return 0;
}

/* Runs one ES10 command given in hex; returns the layer's result. */
static int es10_hex(struct fixture *fx, const char *hex)
{
	struct dp_buf req; /* dp_test_hex initialises it */
	dp_buf_reset(&fx->resp);
	dp_test_hex(hex, &req);
	int r = dp_euicc_es10(fx->e, req.data, req.len, &fx->resp);
	dp_buf_deinit(&req);
	return r;
}

/* GetEUICCChallenge; the 16 bytes go into fx->auth.challenge. */
static void get_challenge(struct fixture *fx)
{
	struct dp_tlv t, c;
	assert_int_equal(es10_hex(fx, "BF2E00"), DP_OK);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF2E, &t), DP_OK);
	assert_int_equal(dp_tlv_expect(t.value, t.len, 0x80, &c), DP_OK);
	assert_int_equal(c.len, 16);
	memcpy(fx->auth.challenge, c.value, 16);
}

/* Sends fx->auth as AuthenticateServer; returns the authenticateErrorCode (0 for ok). */
static int authenticate(struct fixture *fx)
{
	struct dp_tlv t, choice, code;
	asn1_node n = NULL;
	dp_buf_reset(&fx->req);
	dp_buf_reset(&fx->resp);
	euicc_test_auth_request(&fx->auth, &fx->req);
	assert_int_equal(dp_euicc_es10(fx->e, fx->req.data, fx->req.len, &fx->resp), DP_OK);
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.AuthenticateServerResponse",
					      fx->resp.data, fx->resp.len, &n),
			 DP_OK);
	dp_asn1_free(&n);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF38, &t), DP_OK);
	assert_int_equal(dp_tlv_expect(t.value, t.len, 0, &choice), DP_OK);
	if (choice.tag == 0xA0)
		return 0;
	assert_int_equal(choice.tag, 0xA1);
	assert_int_equal(dp_tlv_find(choice.value, choice.len, 0x80, &code), DP_OK);
	assert_bytes_equal(code.value, code.len, fx->auth.tid, fx->auth.tid_len);
	assert_int_equal(dp_tlv_find(choice.value, choice.len, 0x02, &code), DP_OK);
	assert_int_equal(code.len, 1);
	return code.value[0];
}

static void challenge_is_fresh(void **state)
{
	struct fixture *fx = *state;
	uint8_t first[16];
	get_challenge(fx);
	memcpy(first, fx->auth.challenge, 16);
	get_challenge(fx);
	assert_memory_not_equal(first, fx->auth.challenge, 16);
	assert_int_equal(es10_hex(fx, "BF2E03800100"), DP_ERR_EUICC_REQUEST);
	assert_int_equal(fx->resp.len, 0);
}

static void info_and_eid(void **state)
{
	struct fixture *fx = *state;
	struct dp_buf want;
	dp_buf_init(&want, 8192);
	assert_int_equal(es10_hex(fx, "BF2000"), DP_OK);
	assert_int_equal(dp_euicc_identity_info1(dp_euicc_identity(fx->e), &want), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, want.data, want.len);
	dp_buf_reset(&want);
	assert_int_equal(es10_hex(fx, "BF2200"), DP_OK);
	assert_int_equal(dp_euicc_identity_info2(dp_euicc_identity(fx->e), &want), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, want.data, want.len);
	/* GetEID: the vector test/data/asn1/rsp/eid-resp.hex */
	dp_buf_deinit(&want);
	dp_test_hex("BF3E125A1089049032123451234512345678901235", &want);
	assert_int_equal(es10_hex(fx, "BF3E035C015A"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, want.data, want.len);
	/* a tag list without 5A: nothing to report */
	assert_int_equal(es10_hex(fx, "BF3E035C0142"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x3E\x00", 3);
	assert_int_equal(es10_hex(fx, "BF3E00"), DP_ERR_EUICC_REQUEST);
	/* malformed requests and functions not there yet */
	assert_int_equal(es10_hex(fx, "BF2003820100"), DP_ERR_EUICC_REQUEST);
	assert_int_equal(es10_hex(fx, "BF2100"), DP_ERR_EUICC_REQUEST);
	assert_int_equal(es10_hex(fx, "BF4100"), DP_ERR_EUICC_REQUEST);
	assert_int_equal(es10_hex(fx, "BF3400"), DP_ERR_EUICC_FUNCTION);
	assert_int_equal(es10_hex(fx, "BF2000 00"), DP_ERR_DER_TRAILING);
	assert_int_not_equal(es10_hex(fx, "BF2005"), DP_OK);
	assert_int_equal(fx->resp.len, 0);
	dp_buf_deinit(&want);
}

/* The happy path, checked as an SM-DP+ would: structure, echoes, signature, certificates. */
static void authenticate_ok(void **state)
{
	struct fixture *fx = *state;
	const struct dp_euicc_identity *id = dp_euicc_identity(fx->e);
	struct dp_tlv t, ok, signed1, sig, cert, eum, m;
	get_challenge(fx);
	assert_int_equal(authenticate(fx), 0);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF38, &t), DP_OK);
	assert_int_equal(dp_tlv_expect(t.value, t.len, 0xA0, &ok), DP_OK);
	struct dp_cursor c = dp_cursor_make(ok.value, ok.len);
	assert_int_equal(dp_tlv_next(&c, &signed1), DP_OK);
	assert_int_equal(dp_tlv_next(&c, &sig), DP_OK);
	assert_int_equal(dp_tlv_next(&c, &cert), DP_OK);
	assert_int_equal(dp_tlv_next(&c, &eum), DP_OK);
	assert_true(dp_cursor_done(&c));
	assert_int_equal(signed1.tag, 0x30);
	assert_int_equal(sig.tag, DP_ECDSA_TAG);
	/* euiccSignature1 over euiccSigned1 as sent, with PK.EUICC from the certificate sent */
	struct dp_cert *euicc = NULL;
	assert_int_equal(dp_cert_from_der(cert.raw, cert.raw_len, &euicc), DP_OK);
	assert_int_equal(dp_ecdsa_verify(dp_cert_pubkey(euicc), signed1.raw, signed1.raw_len,
					 sig.value, sig.len),
			 DP_OK);
	dp_cert_free(euicc);
	size_t len;
	const uint8_t *der = dp_cert_der(dp_euicc_identity_cert(id), &len);
	assert_bytes_equal(cert.raw, cert.raw_len, der, len);
	der = dp_cert_der(dp_euicc_identity_eum(id), &len);
	assert_bytes_equal(eum.raw, eum.raw_len, der, len);
	/* the echoes */
	assert_int_equal(dp_tlv_find(signed1.value, signed1.len, 0x80, &m), DP_OK);
	assert_bytes_equal(m.value, m.len, fx->auth.tid, fx->auth.tid_len);
	assert_int_equal(dp_tlv_find(signed1.value, signed1.len, 0x83, &m), DP_OK);
	assert_bytes_equal(m.value, m.len, (const uint8_t *)ADDRESS, strlen(ADDRESS));
	assert_int_equal(dp_tlv_find(signed1.value, signed1.len, 0x84, &m), DP_OK);
	assert_bytes_equal(m.value, m.len, fx->auth.server_challenge, 16);
	assert_int_equal(dp_tlv_find(signed1.value, signed1.len, 0xA0, &m), DP_OK);
	assert_bytes_equal(m.raw, m.raw_len, euicc_test_ctx_params, sizeof(euicc_test_ctx_params));
	struct dp_buf info2;
	dp_buf_init(&info2, 8192);
	assert_int_equal(dp_euicc_identity_info2(id, &info2), DP_OK);
	assert_int_equal(dp_tlv_find(signed1.value, signed1.len, 0xBF22, &m), DP_OK);
	assert_bytes_equal(m.raw, m.raw_len, info2.data, info2.len);
	dp_buf_deinit(&info2);
	/* the challenge was single-use */
	assert_int_equal(authenticate(fx), DP_EUICC_AUTH_CHALLENGE_MISMATCH);
	/* v3: euiccCiPKIdToBeUsed zero-length is accepted; left out, the v2.5 schema (which
	 * keeps it mandatory) refuses the request */
	get_challenge(fx);
	fx->auth.ci_pkid_len = 0;
	assert_int_equal(authenticate(fx), 0);
	get_challenge(fx);
	fx->auth.ci_pkid = NULL;
	dp_buf_reset(&fx->req);
	dp_buf_reset(&fx->resp);
	euicc_test_auth_request(&fx->auth, &fx->req);
	assert_int_equal(dp_euicc_es10(fx->e, fx->req.data, fx->req.len, &fx->resp),
			 DP_ERR_EUICC_REQUEST);
}

static void authenticate_brainpool(void **state)
{
	struct fixture *fx = *state;
	get_challenge(fx);
	assert_int_equal(authenticate(fx), 0);
}

static void authenticate_refusals(void **state)
{
	struct fixture *fx = *state;
	struct dp_cert *other = NULL, *ci = NULL;
	EVP_PKEY *other_key = NULL, *ci_key = NULL;
	struct dp_ci_ski brp;
	/* no challenge given out yet */
	assert_int_equal(authenticate(fx), DP_EUICC_AUTH_CHALLENGE_MISMATCH);
	/* a wrong echo */
	get_challenge(fx);
	fx->auth.challenge[3] ^= 1;
	assert_int_equal(authenticate(fx), DP_EUICC_AUTH_CHALLENGE_MISMATCH);
	/* serverSignature1 does not verify */
	get_challenge(fx);
	fx->auth.corrupt_signature = 1;
	assert_int_equal(authenticate(fx), DP_EUICC_AUTH_INVALID_SIGNATURE);
	fx->auth.corrupt_signature = 0;
	/* signed by another key than CERT.DPauth's (the DPpb key) */
	euicc_test_server("DPpb", "DPpb", DP_CURVE_NIST_P256, &other, &other_key);
	get_challenge(fx);
	fx->auth.key = other_key;
	assert_int_equal(authenticate(fx), DP_EUICC_AUTH_INVALID_SIGNATURE);
	/* CERT.DPpb presented as CERT.DPauth: wrong role */
	get_challenge(fx);
	fx->auth.cert = other;
	assert_int_equal(authenticate(fx), DP_EUICC_AUTH_INVALID_CERTIFICATE);
	fx->auth.cert = fx->dpauth;
	fx->auth.key = fx->key;
	/* a CI we can verify but cannot sign for */
	euicc_test_ci_ski(DP_CURVE_BRAINPOOL_P256R1, &brp);
	get_challenge(fx);
	fx->auth.ci_pkid = brp.v;
	fx->auth.ci_pkid_len = brp.len;
	assert_int_equal(authenticate(fx), DP_EUICC_AUTH_CI_PK_UNKNOWN);
	fx->auth.ci_pkid = fx->ci.v;
	fx->auth.ci_pkid_len = fx->ci.len;
	/* CERT.DPauth past its notAfter (2030-03-30) */
	dp_euicc_set_time(fx->e, (time_t)1956528000); /* 2032-01-01 */
	get_challenge(fx);
	assert_int_equal(authenticate(fx), DP_EUICC_AUTH_INVALID_CERTIFICATE);
	dp_euicc_set_time(fx->e, EUICC_TEST_TIME);
	/* a DPauth under a CI the eUICC does not know */
	dp_cert_free(other);
	EVP_PKEY_free(other_key);
	other = NULL;
	other_key = NULL;
	assert_int_equal(dp_testpki_issue(&(struct dp_testpki_req){ .role = DP_CERT_CI }, NULL, NULL,
					  &ci, &ci_key),
			 DP_OK);
	assert_int_equal(dp_testpki_issue(&(struct dp_testpki_req){ .role = DP_CERT_DPAUTH }, ci,
					  ci_key, &other, &other_key),
			 DP_OK);
	get_challenge(fx);
	fx->auth.cert = other;
	fx->auth.key = other_key;
	assert_int_equal(authenticate(fx), DP_EUICC_AUTH_CI_PK_UNKNOWN);
	fx->auth.cert = fx->dpauth;
	fx->auth.key = fx->key;
	/* the NIST CI held but no longer announced for verification */
	assert_int_equal(dp_euicc_identity_set_ski_list(
				 (struct dp_euicc_identity *)dp_euicc_identity(fx->e), false, &brp, 1),
			 DP_OK);
	get_challenge(fx);
	assert_int_equal(authenticate(fx), DP_EUICC_AUTH_CI_PK_UNKNOWN);
	/* a malformed request is not answered at all (the card says 6A80) */
	dp_buf_reset(&fx->resp);
	assert_int_equal(es10_hex(fx, "BF3803800101"), DP_ERR_EUICC_REQUEST);
	dp_cert_free(other);
	EVP_PKEY_free(other_key);
	dp_cert_free(ci);
	EVP_PKEY_free(ci_key);
}

static void authenticate_faults(void **state)
{
	struct fixture *fx = *state;
	struct dp_euicc_identity *id = (struct dp_euicc_identity *)dp_euicc_identity(fx->e);
	struct dp_tlv t, ok, signed1, sig, m;
	/* skip-server-checks: a bad server signature passes, the challenge still counts */
	dp_euicc_identity_set_faults(id, DP_EUICC_FAULT_SKIP_SERVER_CHECKS);
	get_challenge(fx);
	fx->auth.corrupt_signature = 1;
	assert_int_equal(authenticate(fx), 0);
	assert_int_equal(authenticate(fx), DP_EUICC_AUTH_CHALLENGE_MISMATCH);
	fx->auth.corrupt_signature = 0;
	/* wrong-tid and bad-signature: an SM-DP+ must catch both */
	dp_euicc_identity_set_faults(id, DP_EUICC_FAULT_WRONG_TID_ECHO |
						 DP_EUICC_FAULT_BAD_SIGNATURE);
	get_challenge(fx);
	assert_int_equal(authenticate(fx), 0);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF38, &t), DP_OK);
	assert_int_equal(dp_tlv_expect(t.value, t.len, 0xA0, &ok), DP_OK);
	struct dp_cursor c = dp_cursor_make(ok.value, ok.len);
	assert_int_equal(dp_tlv_next(&c, &signed1), DP_OK);
	assert_int_equal(dp_tlv_next(&c, &sig), DP_OK);
	assert_int_equal(dp_tlv_find(signed1.value, signed1.len, 0x80, &m), DP_OK);
	assert_int_equal(m.len, fx->auth.tid_len);
	assert_memory_not_equal(m.value, fx->auth.tid, m.len);
	assert_int_equal(dp_ecdsa_verify(dp_cert_pubkey(dp_euicc_identity_cert(id)), signed1.raw,
					 signed1.raw_len, sig.value, sig.len),
			 DP_ERR_SIGNATURE);
}

/* SELECT, chained STORE DATA in 120-byte blocks, GET RESPONSE until 9000: the same bytes
 * as the ES10 layer gives directly. */
static void through_apdus(void **state)
{
	struct fixture *fx = *state;
	struct dp_euicc_card *card = NULL;
	struct dp_buf resp, all;
	unsigned sw;
	uint8_t apdu[261];
	dp_buf_init(&resp, 1024);
	dp_buf_init(&all, DP_EUICC_ES10_RESP_MAX);
	assert_int_equal(dp_euicc_card_new(dp_euicc_es10_cb, fx->e, &card), DP_OK);
	memcpy(apdu, "\x00\xA4\x04\x00\x10", 5);
	memcpy(apdu + 5, dp_euicc_isdr_aid, 16);
	assert_int_equal(dp_euicc_apdu(card, apdu, 21, &resp, &sw), DP_OK);
	assert_int_equal(sw, 0x9000);
	/* GetEUICCChallenge */
	dp_buf_reset(&resp);
	assert_int_equal(dp_euicc_apdu(card, (const uint8_t *)"\x80\xE2\x91\x00\x03\xBF\x2E\x00", 8,
				       &resp, &sw),
			 DP_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(resp.len, 3 + 18 + 2); /* BF2E 12 { 80 10 ... } 9000 */
	memcpy(fx->auth.challenge, resp.data + 5, 16);
	/* AuthenticateServer, about 0.9 KiB in */
	dp_buf_reset(&fx->req);
	euicc_test_auth_request(&fx->auth, &fx->req);
	size_t off = 0;
	unsigned block = 0;
	while (off < fx->req.len) {
		size_t n = fx->req.len - off < 120 ? fx->req.len - off : 120;
		bool last = off + n == fx->req.len;
		memcpy(apdu, "\x80\xE2", 2);
		apdu[2] = last ? 0x91 : 0x11;
		apdu[3] = (uint8_t)block++;
		apdu[4] = (uint8_t)n;
		memcpy(apdu + 5, fx->req.data + off, n);
		dp_buf_reset(&resp);
		assert_int_equal(dp_euicc_apdu(card, apdu, 5 + n, &resp, &sw), DP_OK);
		off += n;
		if (!last)
			assert_int_equal(sw, 0x9000);
	}
	assert_true(block > 5);
	/* about 1.6 KiB out: 61xx, GET RESPONSE ... 9000 */
	unsigned pieces = 1;
	for (;;) {
		assert_int_equal(dp_buf_append(&all, resp.data, resp.len - 2), DP_OK);
		if (sw == 0x9000)
			break;
		assert_int_equal(sw & 0xFF00, 0x6100);
		apdu[0] = 0x80, apdu[1] = 0xC0, apdu[2] = 0, apdu[3] = 0, apdu[4] = (uint8_t)sw;
		dp_buf_reset(&resp);
		assert_int_equal(dp_euicc_apdu(card, apdu, 5, &resp, &sw), DP_OK);
		pieces++;
	}
	assert_true(pieces > 5);
	asn1_node n = NULL;
	struct dp_tlv t;
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.AuthenticateServerResponse", all.data,
					      all.len, &n),
			 DP_OK);
	dp_asn1_free(&n);
	assert_int_equal(dp_tlv_expect(all.data, all.len, 0xBF38, &t), DP_OK);
	assert_int_equal(t.value[0], 0xA0);
	dp_euicc_card_free(card);
	dp_buf_deinit(&resp);
	dp_buf_deinit(&all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(challenge_is_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(info_and_eid, setup, teardown),
		cmocka_unit_test_setup_teardown(authenticate_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(authenticate_brainpool, setup_brp, teardown),
		cmocka_unit_test_setup_teardown(authenticate_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(authenticate_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(through_apdus, setup, teardown),
	};
	return cmocka_run_group_tests_name("euicc-es10", tests, NULL, NULL);
}
