/* The test eUICC's identity faults for negative SM-DP+ tests (issue 5 item 3;
 * test/euicc/identity.h): a wrong reported EID, an expired CERT.EUICC, and insufficient
 * memory (EUICCInfo2 extCardResource, installFailedDueToInsufficientMemoryForProfile). */
#include "test/support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pki/asn1/tlv.h"
#include "pki/crypto/testpki.h"
#include "test/euicc/identity_options.h"
#include "test/unit/euicc/euicc_download.h"

/* GetEID reports the overridden EID; the certificate keeps its own. */
static void wrong_eid(void **state)
{
	struct dp_euicc_identity *id = euicc_test_identity(DP_CURVE_NIST_P256);
	struct dp_euicc *e;
	char cert_eid[DP_CERT_EID_DIGITS + 1];
	/* check digits are checked (…1335 fails mod 97) */
	assert_int_equal(dp_euicc_identity_set_eid(id, "89049032123451234512345678901335"),
			 DP_ERR_CERT_EID);
	assert_int_equal(dp_euicc_identity_set_eid(id, "89049032123451234512345678901332"), 0);
	assert_int_equal(dp_euicc_new(id, &e), 0);
	struct dp_buf cmd, resp, want;
	dp_test_hex("BF3E 03 5C 01 5A", &cmd);
	dp_buf_init(&resp, 256);
	assert_int_equal(dp_euicc_es10(e, cmd.data, cmd.len, &resp), 0);
	dp_test_hex("BF3E 12 5A 10 89049032123451234512345678901332", &want);
	assert_bytes_equal(resp.data, resp.len, want.data, want.len);
	assert_int_equal(dp_cert_eid(dp_euicc_identity_cert(dp_euicc_identity(e)), cert_eid), 0);
	assert_string_equal(cert_eid, "89049032123451234512345678901235");
	/* and through the command-line options */
	struct dp_euicc_identity_options o = {0};
	struct dp_euicc_identity *id2;
	assert_int_equal(dp_euicc_identity_option(&o, "--eid", "89049032123451234512345678901332"),
			 1);
	assert_int_equal(dp_euicc_identity_option(&o, "--sgp26", dp_test_shared("sgp26")), 1);
	assert_int_equal(dp_euicc_identity_from_options(&o, &id2), 0);
	assert_string_equal(dp_euicc_identity_eid(id2), "89049032123451234512345678901332");
	dp_euicc_identity_free(id2);
	o.eid = "89049032123451234512345678901335";
	assert_int_equal(dp_euicc_identity_from_options(&o, &id2), DP_ERR_USAGE);
	dp_buf_deinit(&cmd);
	dp_buf_deinit(&resp);
	dp_buf_deinit(&want);
	dp_euicc_free(e);
}

/* An identity whose CERT.EUICC expired yesterday (what `smdp pki issue euicc --not-after`
 * makes) loads and signs; the SM-DP+'s chain check then fails with DP_ERR_CERT_EXPIRED. */
static void expired_certificate(void **state)
{
	char dir[] = "/tmp/lpa-expired-XXXXXX", path[4][128];
	assert_non_null(mkdtemp(dir));
	static const char *const names[] = {"ci-cert.pem", "eum-cert.pem", "euicc-cert.pem",
					    "euicc-key.pem"};
	for (int i = 0; i < 4; i++)
		snprintf(path[i], sizeof(path[i]), "%s/%s", dir, names[i]);
	struct dp_cert *ci, *eum, *euicc;
	EVP_PKEY *ci_key, *eum_key, *euicc_key;
	struct dp_testpki_req q = {.role = DP_CERT_CI};
	assert_int_equal(dp_testpki_issue(&q, NULL, NULL, &ci, &ci_key), 0);
	q = (struct dp_testpki_req){.role = DP_CERT_EUM, .ein = "89049032"};
	assert_int_equal(dp_testpki_issue(&q, ci, ci_key, &eum, &eum_key), 0);
	time_t now = time(NULL);
	q = (struct dp_testpki_req){.role = DP_CERT_EUICC,
				    .eid = "89049032123451234512345678901235",
				    .not_before = now - 10 * 86400,
				    .not_after = now - 86400};
	assert_int_equal(dp_testpki_issue(&q, eum, eum_key, &euicc, &euicc_key), 0);
	assert_int_equal(dp_testpki_write_cert(path[0], ci, true), 0);
	assert_int_equal(dp_testpki_write_cert(path[1], eum, true), 0);
	assert_int_equal(dp_testpki_write_cert(path[2], euicc, true), 0);
	assert_int_equal(dp_testpki_write_key(path[3], euicc_key, true), 0);
	/* the identity loads from the files, like --euicc-cert/--euicc-key/--eum-cert/--ci */
	struct dp_euicc_identity_options o = {.euicc_cert = path[2],
					      .euicc_key = path[3],
					      .eum_cert = path[1],
					      .ci = {path[0]},
					      .n_ci = 1};
	struct dp_euicc_identity *id;
	assert_int_equal(dp_euicc_identity_from_options(&o, &id), 0);
	const struct dp_cert *cert = dp_euicc_identity_cert(id);
	assert_int_equal(dp_cert_check_time(cert, now), DP_ERR_CERT_EXPIRED);
	assert_int_equal(dp_cert_check_time(cert, now - 5 * 86400), 0);
	/* it still signs (the eUICC does not check its own certificate) */
	struct dp_buf sig;
	dp_buf_init(&sig, 128);
	assert_int_equal(dp_euicc_identity_sign_tlv(id, (const uint8_t *)"x", 1, &sig), 0);
	assert_int_equal(sig.len, 3 + 64);
	/* what an SM-DP+ sees: the chain fails on CERT.EUICC's validity */
	struct dp_cert_chain chain;
	size_t len;
	const uint8_t *der = dp_cert_der(cert, &len), *eum_der;
	size_t eum_len;
	eum_der = dp_cert_der(dp_euicc_identity_eum(id), &eum_len);
	assert_int_equal(dp_ci_store_verify_euicc(dp_euicc_identity_ci_store(id), der, len, eum_der,
						  eum_len, NULL, 0, now, &chain),
			 DP_ERR_CERT_EXPIRED);
	assert_int_equal(chain.failed, DP_CERT_EUICC);
	dp_cert_chain_deinit(&chain);
	dp_buf_deinit(&sig);
	dp_euicc_identity_free(id);
	for (int i = 0; i < 4; i++)
		unlink(path[i]);
	rmdir(dir);
	dp_cert_free(ci);
	dp_cert_free(eum);
	dp_cert_free(euicc);
	EVP_PKEY_free(ci_key);
	EVP_PKEY_free(eum_key);
	EVP_PKEY_free(euicc_key);
}

/* EUICCInfo2 84 { 81 01 00, 82 04 <free NVM>, 83 04 ... }. */
static uint32_t reported_memory(const struct dp_euicc_identity *id)
{
	struct dp_buf info2;
	struct dp_tlv top, ecr, nvm;
	dp_buf_init(&info2, 8192);
	assert_int_equal(dp_euicc_identity_info2(id, &info2), 0);
	assert_int_equal(dp_tlv_read(info2.data, info2.len, &top), 0);
	assert_int_equal(dp_tlv_find(top.value, top.len, 0x84, &ecr), 0);
	assert_int_equal(dp_tlv_find(ecr.value, ecr.len, 0x82, &nvm), 0);
	assert_int_equal(nvm.len, 4);
	uint32_t v = (uint32_t)nvm.value[0] << 24 | (uint32_t)nvm.value[1] << 16 |
		     (uint32_t)nvm.value[2] << 8 | nvm.value[3];
	dp_buf_deinit(&info2);
	return v;
}

/* The fixture's eUICC replaced by one with `bytes` of free memory. */
static void with_memory(struct euicc_dl *fx, uint32_t bytes)
{
	struct dp_euicc_identity *id = euicc_test_identity(DP_CURVE_NIST_P256);
	dp_euicc_identity_set_free_memory(id, bytes);
	assert_int_equal(reported_memory(id), bytes);
	dp_euicc_free(fx->e);
	assert_int_equal(dp_euicc_new(id, &fx->e), 0);
	dp_euicc_set_time(fx->e, EUICC_TEST_TIME);
}

static void insufficient_memory(void **state)
{
	struct euicc_dl *fx = *state;
	uint8_t aid[16];
	int command = -1;
	struct dp_euicc_identity *id = euicc_test_identity(DP_CURVE_NIST_P256);
	assert_int_equal(reported_memory(id), DP_EUICC_FREE_MEMORY_DEFAULT);
	dp_euicc_identity_free(id);
	/* one byte short of the profile package: refused at the 86 that crosses the limit */
	with_memory(fx, (uint32_t)fx->upp.len - 1);
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp(fx, false);
	size_t at = euicc_dl_load(fx);
	assert_int_equal(at, fx->n_seg - 1); /* the last 86 carries the last byte */
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), DP_EUICC_BPP_INSUFFICIENT_MEMORY);
	assert_int_equal(command, DP_EUICC_BPP_LOAD_PROFILE_ELEMENTS);
	assert_int_equal(dp_euicc_profile_count(fx->e), 0);
	/* 1500 bytes: the first 86 (1007 bytes) fits, the second does not */
	with_memory(fx, 1500);
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp(fx, false);
	at = euicc_dl_load(fx);
	assert_int_equal(fx->seg[at].p[0], 0x86);
	assert_int_equal(fx->seg[at - 1].p[0], 0x86);
	assert_int_equal(fx->seg[at - 2].p[0], 0xA3);
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), DP_EUICC_BPP_INSUFFICIENT_MEMORY);
	/* exactly enough: installed */
	with_memory(fx, (uint32_t)fx->upp.len);
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp(fx, false);
	assert_int_equal(euicc_dl_load(fx), fx->n_seg - 1);
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), 0);
	assert_int_equal(dp_euicc_profile_count(fx->e), 1);
	/* the option */
	struct dp_euicc_identity_options o = {.sgp26 = dp_test_shared("sgp26")};
	assert_int_equal(dp_euicc_identity_option(&o, "--free-memory", "4096"), 1);
	assert_int_equal(dp_euicc_identity_from_options(&o, &id), 0);
	assert_int_equal(dp_euicc_identity_free_memory(id), 4096);
	dp_euicc_identity_free(id);
	static const char *const bad[] = {"", "-1", "4294967296", "12x", " 5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.free_memory = bad[i];
		assert_int_equal(dp_euicc_identity_from_options(&o, &id), DP_ERR_USAGE);
	}
	o.free_memory = NULL;
	assert_int_equal(dp_euicc_identity_option(&o, "--fault", "nonsense"), DP_ERR_USAGE);
	assert_int_equal(dp_euicc_identity_option(&o, "--other", "x"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(wrong_eid),
	    cmocka_unit_test(expired_certificate),
	    cmocka_unit_test_setup_teardown(insufficient_memory, euicc_dl_setup, euicc_dl_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
