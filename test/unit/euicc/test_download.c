/* Test eUICC download phase (test/euicc/es10.c): PrepareDownload and
 * LoadBoundProfilePackage as SGP.22 5.7.14 / 5.7.15 and the segments of 2.5.5, with this
 * file playing the SM-DP+ (SGP.26 DPauth/DPpb keys) and the LPA (cutting the BPP).
 * The profile is the TS.48 v1 test profile A from ../shared/ts48, read at test time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/crypto/ecdsa.h"
#include "pki/crypto/kdf.h"
#include "pki/crypto/scp03t.h"
#include "pki/crypto/testpki.h"
#include "test/euicc/apdu.h"
#include "test/euicc/es10.h"
#include "test/support/support.h"
#include "test/unit/euicc/euicc_download.h"
#include "test/unit/euicc/euicc_test.h"


static void download_ok(void **state)
{
	struct euicc_dl *fx = *state;
	uint8_t aid[16];
	int command = -1;
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp(fx, false);
	assert_int_equal(euicc_dl_load(fx), fx->n_seg - 1);
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), 0);
	/* installed, disabled, with the package's ICCID, the metadata and the whole UPP */
	assert_int_equal(dp_euicc_profile_count(fx->e), 1);
	const struct dp_euicc_profile *p = dp_euicc_profile_get(fx->e, 0);
	assert_non_null(p);
	assert_memory_equal(p->iccid, fx->iccid, 10);
	assert_memory_equal(p->aid, aid, 16);
	assert_false(p->enabled);
	assert_string_equal(p->sp_name, "GSMA_TEST");
	assert_string_equal(p->name, "TS48 v1 A");
	assert_int_equal(p->profile_class, 0);
	assert_bytes_equal(p->package, p->package_len, fx->upp.data, fx->upp.len);
	/* the PIR waits as a pending notification */
	const uint8_t *der;
	size_t len;
	assert_int_equal(dp_euicc_notification_count(fx->e), 1);
	assert_int_equal(dp_euicc_notification_get(fx->e, 0, &der, &len), DP_OK);
	assert_bytes_equal(der, len, fx->resp.data, fx->resp.len);
	/* the session is over: the same BPP again is not accepted */
	struct dp_buf out;
	dp_buf_init(&out, 1024);
	assert_int_equal(dp_euicc_es10(fx->e, fx->seg[0].p, fx->seg[0].len, &out),
			 DP_ERR_EUICC_REQUEST);
	assert_int_equal(out.len, 0);
	/* a second download of the same ICCID: installFailedDueToIccidAlreadyExistsOnEuicc */
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp(fx, false);
	assert_int_equal(euicc_dl_load(fx), 3); /* the last 88 */
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), DP_EUICC_BPP_ICCID_EXISTS);
	assert_int_equal(command, DP_EUICC_BPP_STORE_METADATA);
	assert_int_equal(dp_euicc_profile_count(fx->e), 1);
	assert_int_equal(dp_euicc_notification_count(fx->e), 2);
	dp_buf_deinit(&out);
}

static void prepare_refusals(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_tlv signed2;
	struct dp_cert *ci = NULL, *other = NULL;
	EVP_PKEY *ci_key = NULL, *other_key = NULL;
	/* no AuthenticateServer yet */
	assert_int_equal(euicc_dl_prepare_download(fx, &(struct euicc_dl_prepare){ 0 }, &signed2),
			 DP_EUICC_DL_NO_SESSION_CONTEXT);
	euicc_dl_authenticate(fx);
	/* a flipped byte of smdpSignature2 */
	assert_int_equal(euicc_dl_prepare_download(
			 fx, &(struct euicc_dl_prepare){ .corrupt_signature = true },
					  &signed2),
			 DP_EUICC_DL_INVALID_SIGNATURE);
	/* signed with the DPauth key instead of the DPpb one */
	assert_int_equal(euicc_dl_prepare_download(
			 fx, &(struct euicc_dl_prepare){ .key = fx->auth_key }, &signed2),
			 DP_EUICC_DL_INVALID_SIGNATURE);
	/* another transactionId */
	uint8_t tid[16];
	memcpy(tid, fx->auth.tid, 16);
	tid[15] ^= 0x01;
	assert_int_equal(euicc_dl_prepare_download(
			 fx, &(struct euicc_dl_prepare){ .tid = tid }, &signed2),
			 DP_EUICC_DL_INVALID_TRANSACTION_ID);
	/* CERT.DPauth where CERT.DPpb belongs */
	assert_int_equal(euicc_dl_prepare_download(
			 fx, &(struct euicc_dl_prepare){ .cert = fx->dpauth,
								 .key = fx->auth_key },
					  &signed2),
			 DP_EUICC_DL_INVALID_CERTIFICATE);
	/* a DPpb under a CI the eUICC does not know, properly signed with its key */
	assert_int_equal(dp_testpki_issue(&(struct dp_testpki_req){ .role = DP_CERT_CI }, NULL, NULL,
					  &ci, &ci_key),
			 DP_OK);
	assert_int_equal(dp_testpki_issue(&(struct dp_testpki_req){ .role = DP_CERT_DPPB }, ci,
					  ci_key, &other, &other_key),
			 DP_OK);
	assert_int_equal(euicc_dl_prepare_download(
			 fx, &(struct euicc_dl_prepare){ .cert = other, .key = other_key },
					  &signed2),
			 DP_EUICC_DL_INVALID_CERTIFICATE);
	/* ccRequiredFlag without hashCc: undefinedError (the code is UNVERIFIED) */
	assert_int_equal(euicc_dl_prepare_download(
			 fx, &(struct euicc_dl_prepare){ .cc_required = true }, &signed2),
			 DP_EUICC_DL_UNDEFINED);
	/* after all that the session still works */
	assert_int_equal(euicc_dl_prepare_download(
			 fx, &(struct euicc_dl_prepare){ 0 }, &signed2), 0);
	/* the Brainpool DPpb (another CI than the session's DPauth) */
	dp_cert_free(other);
	EVP_PKEY_free(other_key);
	other = NULL;
	other_key = NULL;
	euicc_test_server("DPpb", "DPpb", DP_CURVE_BRAINPOOL_P256R1, &other, &other_key);
	assert_int_equal(euicc_dl_prepare_download(
			 fx, &(struct euicc_dl_prepare){ .cert = other, .key = other_key },
					  &signed2),
			 DP_EUICC_DL_INVALID_CERTIFICATE);
	dp_cert_free(other);
	EVP_PKEY_free(other_key);
	dp_cert_free(ci);
	EVP_PKEY_free(ci_key);
}

/* The eUICC does not check hashCc (it cannot know the code); it copies it into
 * euiccSigned2 byte for byte. A stored otPK is reused when the server names it. */
static void hash_cc_and_otpk(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_tlv signed2, m;
	uint8_t hash_cc[32], first[DP_CURVE_POINT_BYTES];
	for (size_t i = 0; i < sizeof(hash_cc); i++)
		hash_cc[i] = (uint8_t)(0xC0 + i);
	euicc_dl_authenticate(fx);
	assert_int_equal(euicc_dl_prepare_download(
			 fx, &(struct euicc_dl_prepare){ .cc_required = true,
								 .hash_cc = hash_cc },
					  &signed2),
			 0);
	assert_int_equal(dp_tlv_find(signed2.value, signed2.len, 0x04, &m), DP_OK);
	assert_bytes_equal(m.value, m.len, hash_cc, sizeof(hash_cc));
	/* euiccSigned2 is exactly 30 { 80 tid, 5F49 otPK, 04 hashCc } */
	assert_int_equal(signed2.len, (2 + 16) + (3 + 65) + (2 + 32));
	memcpy(first, fx->otpk_euicc, sizeof(first));
	/* a retry naming the stored otPK gets it back; without it, a fresh one */
	assert_int_equal(euicc_dl_prepare_download(
			 fx, &(struct euicc_dl_prepare){ .otpk = first }, &signed2), 0);
	assert_memory_equal(fx->otpk_euicc, first, sizeof(first));
	assert_int_equal(dp_tlv_find(signed2.value, signed2.len, 0x04, &m), DP_ERR_NOT_FOUND);
	assert_int_equal(euicc_dl_prepare_download(
			 fx, &(struct euicc_dl_prepare){ 0 }, &signed2), 0);
	assert_memory_not_equal(fx->otpk_euicc, first, sizeof(first));
}

/* Refused BPPs: the PIR carries the errorResult, nothing is installed, the rest of the
 * segments is ignored. */
static void bpp_refusals(void **state)
{
	struct euicc_dl *fx = *state;
	uint8_t aid[16], copy[DP_SCP03T_SEGMENT_MAX];
	int command = -1;
	/* segments: 0 BF36+BF23, 1 A0+87, 2 A1, 3 88, 4 A3, 5..16 the 86s */
	/* a tampered 86 (a ciphertext byte of the second one): scp03tSecurityError */
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp(fx, false);
	memcpy(copy, fx->seg[6].p, fx->seg[6].len);
	copy[100] ^= 0x01;
	fx->seg[6].p = copy;
	assert_int_equal(euicc_dl_load(fx), 6);
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), DP_EUICC_BPP_SCP03T_SECURITY);
	assert_int_equal(command, DP_EUICC_BPP_LOAD_PROFILE_ELEMENTS);
	assert_int_equal(dp_euicc_profile_count(fx->e), 0);
	assert_int_equal(dp_euicc_notification_count(fx->e), 1);
	/* two 86 segments swapped: the MAC chain breaks at the first of them */
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp(fx, false);
	struct euicc_dl_segment s = fx->seg[5];
	fx->seg[5] = fx->seg[6];
	fx->seg[6] = s;
	assert_int_equal(euicc_dl_load(fx), 5);
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), DP_EUICC_BPP_SCP03T_SECURITY);
	assert_int_equal(command, DP_EUICC_BPP_LOAD_PROFILE_ELEMENTS);
	/* the A1 header before the A0 segment: out of sequence */
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp(fx, false);
	s = fx->seg[1];
	fx->seg[1] = fx->seg[2];
	fx->seg[2] = s;
	assert_int_equal(euicc_dl_load(fx), 1);
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), DP_EUICC_BPP_SCP03T_STRUCTURE);
	assert_int_equal(command, DP_EUICC_BPP_CONFIGURE_ISDP);
	/* smdpSign of the BF23 does not verify */
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp(fx, true);
	assert_int_equal(euicc_dl_load(fx), 0);
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), DP_EUICC_BPP_INVALID_SIGNATURE);
	assert_int_equal(command, DP_EUICC_BPP_INITIALISE_SECURE_CHANNEL);
	assert_int_equal(dp_euicc_profile_count(fx->e), 0);
	assert_int_equal(dp_euicc_notification_count(fx->e), 4);
	/* and a good one still installs afterwards */
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp(fx, false);
	assert_int_equal(euicc_dl_load(fx), fx->n_seg - 1);
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), 0);
	assert_int_equal(dp_euicc_profile_count(fx->e), 1);
}

/* The PPK variant: A2 switches to the profile protection keys for the 86 segments. */
static void download_ppk(void **state)
{
	struct euicc_dl *fx = *state;
	uint8_t aid[16];
	int command = -1;
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp_ppk(fx, false, true);
	assert_int_equal(euicc_dl_load(fx), fx->n_seg - 1);
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), 0);
	assert_int_equal(dp_euicc_profile_count(fx->e), 1);
	const struct dp_euicc_profile *p = dp_euicc_profile_get(fx->e, 0);
	assert_bytes_equal(p->package, p->package_len, fx->upp.data, fx->upp.len);
	/* the 86 segments alone do not verify under the session keys: drop the A2 */
	fx->iccid[9] ^= 0x10; /* not the ICCID installed above */
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp_ppk(fx, false, true);
	memmove(&fx->seg[4], &fx->seg[5], (fx->n_seg - 5) * sizeof(fx->seg[0]));
	fx->n_seg--;
	assert_int_equal(euicc_dl_load(fx), 5); /* the first 86 */
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), DP_EUICC_BPP_SCP03T_SECURITY);
	assert_int_equal(command, DP_EUICC_BPP_LOAD_PROFILE_ELEMENTS);
}

/* The same BPP through the card: every segment as chained STORE DATA blocks; the segments
 * before the last answer a bare 9000, the last the PIR (via GET RESPONSE). */
static void download_through_apdus(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_euicc_card *card = NULL;
	struct dp_buf resp;
	uint8_t apdu[5 + 255], aid[16];
	unsigned sw;
	int command = -1;
	dp_buf_init(&resp, 4096);
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp(fx, false);
	assert_int_equal(dp_euicc_card_new(dp_euicc_es10_cb, fx->e, &card), DP_OK);
	memcpy(apdu, "\x00\xA4\x04\x00\x10", 5);
	memcpy(apdu + 5, dp_euicc_isdr_aid, 16);
	assert_int_equal(dp_euicc_apdu(card, apdu, 21, &resp, &sw), DP_OK);
	assert_int_equal(sw, 0x9000);
	dp_buf_reset(&fx->resp);
	for (size_t i = 0; i < fx->n_seg; i++) {
		size_t off = 0;
		unsigned block = 0;
		while (off < fx->seg[i].len) {
			size_t n = fx->seg[i].len - off < 255 ? fx->seg[i].len - off : 255;
			bool last = off + n == fx->seg[i].len;
			memcpy(apdu, "\x80\xE2", 2);
			apdu[2] = last ? 0x91 : 0x11;
			apdu[3] = (uint8_t)block++;
			apdu[4] = (uint8_t)n;
			memcpy(apdu + 5, fx->seg[i].p + off, n);
			dp_buf_reset(&resp);
			assert_int_equal(dp_euicc_apdu(card, apdu, 5 + n, &resp, &sw), DP_OK);
			off += n;
		}
		if (i + 1 < fx->n_seg) {
			assert_int_equal(sw, 0x9000);
			assert_int_equal(resp.len, 2);
			continue;
		}
		for (;;) {
			assert_int_equal(dp_buf_append(&fx->resp, resp.data, resp.len - 2), DP_OK);
			if (sw == 0x9000)
				break;
			assert_int_equal(sw & 0xFF00, 0x6100);
			memcpy(apdu, "\x80\xC0\x00\x00", 4);
			apdu[4] = (uint8_t)sw;
			dp_buf_reset(&resp);
			assert_int_equal(dp_euicc_apdu(card, apdu, 5, &resp, &sw), DP_OK);
		}
	}
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), 0);
	assert_int_equal(dp_euicc_profile_count(fx->e), 1);
	dp_euicc_card_free(card);
	dp_buf_deinit(&resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(download_ok, euicc_dl_setup, euicc_dl_teardown),
		cmocka_unit_test_setup_teardown(prepare_refusals, euicc_dl_setup, euicc_dl_teardown),
		cmocka_unit_test_setup_teardown(hash_cc_and_otpk, euicc_dl_setup, euicc_dl_teardown),
		cmocka_unit_test_setup_teardown(bpp_refusals, euicc_dl_setup, euicc_dl_teardown),
		cmocka_unit_test_setup_teardown(download_ppk, euicc_dl_setup, euicc_dl_teardown),
		cmocka_unit_test_setup_teardown(download_through_apdus, euicc_dl_setup, euicc_dl_teardown),
	};
	return cmocka_run_group_tests_name("euicc-download", tests, NULL, NULL);
}
