/* Helpers shared by the test eUICC suites (see euicc_test.h). */
#include "test/unit/euicc/euicc_test.h"

#include <stdio.h>
#include <string.h>

#include "pki/asn1/tlv.h"
#include "pki/crypto/ecdsa.h"
#include "test/support/support.h"

const uint8_t euicc_test_ctx_params[16] = { 0xA0, 0x0E, 0x80, 0x02, 0x32, 0x33, 0xA1, 0x08,
					    0x80, 0x04, 0x35, 0x55, 0x06, 0x07, 0xA1, 0x00 };

static const char *sfx(enum dp_curve curve)
{
	return curve == DP_CURVE_BRAINPOOL_P256R1 ? "BRP" : "NIST";
}

struct dp_euicc_identity *euicc_test_identity(enum dp_curve curve)
{
	struct dp_euicc_identity *id = NULL;
	int r = dp_euicc_identity_load_sgp26(dp_test_shared("sgp26"), curve, &id);
	if (r != DP_OK)
		fail_msg("SGP.26 eUICC: %s: %s", dp_strerror(r), dp_err_detail());
	return id;
}

void euicc_test_server(const char *dir, const char *name, enum dp_curve curve,
		       struct dp_cert **cert, EVP_PKEY **key)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "sgp26/%s/CERT_S_SM_%s_ECDSA_%s.der", dir, name, sfx(curve));
	assert_int_equal(dp_cert_load_file(dp_test_shared(rel), cert), DP_OK);
	snprintf(rel, sizeof(rel), "sgp26/%s/SK_S_SM_%s_ECDSA_%s.pem", dir, name, sfx(curve));
	assert_int_equal(dp_cert_key_load_file(dp_test_shared(rel), key), DP_OK);
}

void euicc_test_ci_ski(enum dp_curve curve, struct dp_ci_ski *ski)
{
	char rel[256];
	struct dp_cert *ci = NULL;
	const uint8_t *p;
	snprintf(rel, sizeof(rel), "sgp26/CertificateIssuer/CERT_CI_ECDSA_%s.der", sfx(curve));
	assert_int_equal(dp_cert_load_file(dp_test_shared(rel), &ci), DP_OK);
	assert_int_equal(dp_cert_ski(ci, &p, &ski->len), DP_OK);
	memcpy(ski->v, p, ski->len);
	dp_cert_free(ci);
}

void euicc_test_auth_request(const struct euicc_test_auth *a, struct dp_buf *out)
{
	struct dp_buf s1, body;
	dp_buf_init(&s1, 1024);
	dp_buf_init(&body, 8192);
	assert_int_equal(dp_tlv_append(&s1, 0x80, a->tid, a->tid_len), DP_OK);
	assert_int_equal(dp_tlv_append(&s1, 0x81, a->challenge, 16), DP_OK);
	assert_int_equal(dp_tlv_append(&s1, 0x83, a->address, strlen(a->address)), DP_OK);
	assert_int_equal(dp_tlv_append(&s1, 0x84, a->server_challenge, 16), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x30, s1.data, s1.len), DP_OK);
	uint8_t sig[DP_ECDSA_RS_BYTES];
	assert_int_equal(dp_ecdsa_sign(a->key, body.data, body.len, sig), DP_OK);
	if (a->corrupt_signature)
		sig[10] ^= 0x40;
	assert_int_equal(dp_tlv_append(&body, DP_ECDSA_TAG, sig, sizeof(sig)), DP_OK);
	if (a->ci_pkid != NULL)
		assert_int_equal(dp_tlv_append(&body, 0x04, a->ci_pkid, a->ci_pkid_len), DP_OK);
	size_t len;
	const uint8_t *der = dp_cert_der(a->cert, &len);
	assert_int_equal(dp_buf_append(&body, der, len), DP_OK);
	assert_int_equal(dp_buf_append(&body, euicc_test_ctx_params,
				       sizeof(euicc_test_ctx_params)), DP_OK);
	assert_int_equal(dp_tlv_append(out, 0xBF38, body.data, body.len), DP_OK);
	dp_buf_deinit(&s1);
	dp_buf_deinit(&body);
}
