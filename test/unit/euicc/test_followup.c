/* Test eUICC after (or instead of) a download (test/euicc/es10.c): CancelSession, the
 * notification functions (ES10b) and profile management (ES10c), and saving/loading its
 * state; download-path.md 3.2, 4.2, 7.2. This file plays the SM-DP+ and the LPA with
 * euicc_download.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/crypto/ecdsa.h"
#include "test/euicc/es10.h"
#include "test/support/support.h"
#include "test/unit/euicc/euicc_download.h"

/* Sends one ES10 command given in hex (spaces allowed); the answer is left in fx->resp. */
static int es10_hex(struct euicc_dl *fx, const char *hex)
{
	struct dp_buf cmd;
	dp_test_hex(hex, &cmd);
	dp_buf_reset(&fx->resp);
	int r = dp_euicc_es10(fx->e, cmd.data, cmd.len, &fx->resp);
	dp_buf_deinit(&cmd);
	return r;
}

/* Hex of up to 32 bytes, in a static buffer (one use per expression). */
static const char *tohex(const uint8_t *p, size_t n)
{
	static char out[65];
	assert_true(n <= 32);
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", p[i]);
	out[2 * n] = '\0';
	return out;
}

/* Sends fx->req; must be answered. */
static void send_req(struct euicc_dl *fx)
{
	dp_buf_reset(&fx->resp);
	assert_int_equal(dp_euicc_es10(fx->e, fx->req.data, fx->req.len, &fx->resp), DP_OK);
}

/* BF41 { 80 tid, 81 reason } */
static void cancel_request(struct euicc_dl *fx, const uint8_t *tid, uint8_t reason)
{
	struct dp_buf body;
	dp_buf_init(&body, 64);
	assert_int_equal(dp_tlv_append(&body, 0x80, tid, fx->auth.tid_len), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x81, &reason, 1), DP_OK);
	dp_buf_reset(&fx->req);
	assert_int_equal(dp_tlv_append(&fx->req, 0xBF41, body.data, body.len), DP_OK);
	dp_buf_deinit(&body);
}

static void cancel_session(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_tlv t, ok, signed_, sig, m, signed2;
	asn1_node n = NULL;
	uint8_t wrong[16];
	/* no session yet: invalidTransactionId */
	cancel_request(fx, fx->auth.tid, 1);
	send_req(fx);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x41\x03\x81\x01\x05",
			   6);
	euicc_dl_authenticate(fx);
	/* another tid: invalidTransactionId, the session stays */
	memcpy(wrong, fx->auth.tid, sizeof(wrong));
	wrong[0] ^= 0x01;
	cancel_request(fx, wrong, 1);
	send_req(fx);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x41\x03\x81\x01\x05",
			   6);
	/* the session's tid, reason postponed(1) */
	cancel_request(fx, fx->auth.tid, 1);
	send_req(fx);
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.CancelSessionResponse", fx->resp.data,
					      fx->resp.len, &n),
			 DP_OK);
	dp_asn1_free(&n);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF41, &t), DP_OK);
	assert_int_equal(dp_tlv_expect(t.value, t.len, 0xA0, &ok), DP_OK);
	struct dp_cursor c = dp_cursor_make(ok.value, ok.len);
	assert_int_equal(dp_tlv_next(&c, &signed_), DP_OK);
	assert_int_equal(dp_tlv_next(&c, &sig), DP_OK);
	assert_true(dp_cursor_done(&c));
	assert_int_equal(signed_.tag, 0x30);
	assert_int_equal(sig.tag, DP_ECDSA_TAG);
	assert_int_equal(
	    dp_ecdsa_verify(dp_cert_pubkey(dp_euicc_identity_cert(dp_euicc_identity(fx->e))),
			    signed_.raw, signed_.raw_len, sig.value, sig.len),
	    DP_OK);
	/* 30 { 80 tid, 81 2.999.10 (SM-DP+ OID of the SGP.26 CERT.DPauth), 82 01 } */
	c = dp_cursor_make(signed_.value, signed_.len);
	assert_int_equal(dp_tlv_next(&c, &m), DP_OK);
	assert_int_equal(m.tag, 0x80);
	assert_bytes_equal(m.value, m.len, fx->auth.tid, fx->auth.tid_len);
	assert_int_equal(dp_tlv_next(&c, &m), DP_OK);
	assert_bytes_equal(m.raw, m.raw_len, (const uint8_t *)"\x81\x03\x88\x37\x0A", 5);
	assert_int_equal(dp_tlv_next(&c, &m), DP_OK);
	assert_bytes_equal(m.raw, m.raw_len, (const uint8_t *)"\x82\x01\x01", 3);
	assert_true(dp_cursor_done(&c));
	/* the session is gone: a second cancel and PrepareDownload find none */
	cancel_request(fx, fx->auth.tid, 1);
	send_req(fx);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x41\x03\x81\x01\x05",
			   6);
	assert_int_equal(euicc_dl_prepare_download(fx, &(struct euicc_dl_prepare){0}, &signed2),
			 DP_EUICC_DL_NO_SESSION_CONTEXT);
	/* after PrepareDownload too: the cancel drops the one-time key, so no BPP is taken */
	euicc_dl_prepared(fx);
	cancel_request(fx, fx->auth.tid, 0);
	send_req(fx);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF41, &t), DP_OK);
	assert_int_equal(t.value[0], 0xA0);
	euicc_dl_build_bpp(fx, false);
	dp_buf_reset(&fx->resp);
	assert_int_equal(dp_euicc_es10(fx->e, fx->seg[0].p, fx->seg[0].len, &fx->resp),
			 DP_ERR_EUICC_REQUEST);
	/* malformed */
	assert_int_equal(es10_hex(fx, "BF4103800101"), DP_ERR_EUICC_REQUEST);
	assert_int_equal(fx->resp.len, 0);
}

/* One successful download of the TS.48 profile; leaves its PIR in fx->resp. */
static void install(struct euicc_dl *fx)
{
	uint8_t aid[16];
	int command = -1;
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp(fx, false);
	assert_int_equal(euicc_dl_load(fx), fx->n_seg - 1);
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), 0);
}

static void notifications(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_buf pir, want;
	struct dp_tlv t, list, meta, m;
	asn1_node n = NULL;
	/* nothing pending: empty lists */
	assert_int_equal(es10_hex(fx, "BF2800"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x28\x02\xA0\x00", 5);
	assert_int_equal(es10_hex(fx, "BF2B00"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x2B\x02\xA0\x00", 5);
	install(fx);
	dp_buf_init(&pir, 4096);
	assert_int_equal(dp_buf_append(&pir, fx->resp.data, fx->resp.len), DP_OK);
	/* ListNotification: the PIR's metadata, seqNumber 1, install, address, ICCID */
	assert_int_equal(es10_hex(fx, "BF2800"), DP_OK);
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.ListNotificationResponse",
					      fx->resp.data, fx->resp.len, &n),
			 DP_OK);
	dp_asn1_free(&n);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF28, &t), DP_OK);
	assert_int_equal(dp_tlv_expect(t.value, t.len, 0xA0, &list), DP_OK);
	assert_int_equal(dp_tlv_expect(list.value, list.len, 0xBF2F, &meta), DP_OK);
	assert_int_equal(dp_tlv_find(meta.value, meta.len, 0x80, &m), DP_OK);
	assert_bytes_equal(m.raw, m.raw_len, (const uint8_t *)"\x80\x01\x01", 3);
	assert_int_equal(dp_tlv_find(meta.value, meta.len, 0x81, &m), DP_OK);
	assert_bytes_equal(m.value, m.len, (const uint8_t *)"\x07\x80", 2);
	assert_int_equal(dp_tlv_find(meta.value, meta.len, 0x0C, &m), DP_OK);
	assert_bytes_equal(m.value, m.len, (const uint8_t *)EUICC_DL_ADDRESS,
			   strlen(EUICC_DL_ADDRESS));
	assert_int_equal(dp_tlv_find(meta.value, meta.len, 0x5A, &m), DP_OK);
	assert_bytes_equal(m.value, m.len, fx->iccid, 10);
	/* the same with the install filter; none with the enable filter */
	dp_buf_init(&want, 4096);
	assert_int_equal(dp_buf_append(&want, fx->resp.data, fx->resp.len), DP_OK);
	assert_int_equal(es10_hex(fx, "BF28 04 81020780"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, want.data, want.len);
	assert_int_equal(es10_hex(fx, "BF28 04 81020640"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x28\x02\xA0\x00", 5);
	/* RetrieveNotificationsList: all, by seqNumber 1, by event: the PIR byte for byte */
	dp_buf_reset(&want);
	assert_int_equal(dp_tlv_append(&want, 0xA0, pir.data, pir.len), DP_OK);
	dp_buf_reset(&fx->req);
	assert_int_equal(dp_tlv_append(&fx->req, 0xBF2B, want.data, want.len), DP_OK);
	static const char *const queries[] = {"BF2B00", "BF2B05 A003800101", "BF2B06 A00481020780"};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(es10_hex(fx, queries[i]), DP_OK);
		assert_bytes_equal(fx->resp.data, fx->resp.len, fx->req.data, fx->req.len);
	}
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.RetrieveNotificationsListResponse",
					      fx->resp.data, fx->resp.len, &n),
			 DP_OK);
	dp_asn1_free(&n);
	assert_int_equal(es10_hex(fx, "BF2B05 A003800102"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x2B\x02\xA0\x00", 5);
	/* NotificationSent: another seq deletes nothing; 1 is removed; then nothing again */
	assert_int_equal(es10_hex(fx, "BF30 03 800102"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x30\x03\x80\x01\x01",
			   6);
	assert_int_equal(dp_euicc_notification_count(fx->e), 1);
	assert_int_equal(es10_hex(fx, "BF30 03 800101"), DP_OK);
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.NotificationSentResponse",
					      fx->resp.data, fx->resp.len, &n),
			 DP_OK);
	dp_asn1_free(&n);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x30\x03\x80\x01\x00",
			   6);
	assert_int_equal(dp_euicc_notification_count(fx->e), 0);
	assert_int_equal(es10_hex(fx, "BF30 03 800101"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x30\x03\x80\x01\x01",
			   6);
	assert_int_equal(es10_hex(fx, "BF2800"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x28\x02\xA0\x00", 5);
	/* malformed requests are not answered */
	assert_int_equal(es10_hex(fx, "BF3000"), DP_ERR_EUICC_REQUEST);
	assert_int_equal(es10_hex(fx, "BF2B03 820101"), DP_ERR_EUICC_REQUEST);
	assert_int_equal(es10_hex(fx, "BF2803 810100"), DP_ERR_EUICC_REQUEST);
	dp_buf_deinit(&pir);
	dp_buf_deinit(&want);
}

/* <tag> { 80 result }: the result of Enable/Disable/DeleteProfile given in hex. */
static int profile_op(struct euicc_dl *fx, const char *hex, const char *type)
{
	struct dp_tlv t, m;
	asn1_node n = NULL;
	assert_int_equal(es10_hex(fx, hex), DP_OK);
	assert_int_equal(dp_asn1_decode_exact(type, fx->resp.data, fx->resp.len, &n), DP_OK);
	dp_asn1_free(&n);
	assert_int_equal(dp_tlv_read(fx->resp.data, fx->resp.len, &t), DP_OK);
	assert_int_equal(dp_tlv_expect(t.value, t.len, 0x80, &m), DP_OK);
	assert_int_equal(m.len, 1);
	return m.value[0];
}

/* Checks the last pending notification: an OtherSignedNotification (schema), signed over
 * its BF2F with SK.EUICC, carrying both certificates, with this seqNumber, event, address
 * and ICCID. */
static void check_other_notification(struct euicc_dl *fx, uint8_t seq, const char *event,
				     const char *address, const uint8_t iccid[10])
{
	const struct dp_euicc_identity *id = dp_euicc_identity(fx->e);
	const uint8_t *der, *cert;
	size_t len, cert_len;
	struct dp_tlv note, meta, sig, c1, c2, m;
	asn1_node n = NULL;
	size_t count = dp_euicc_notification_count(fx->e);
	assert_true(count > 0);
	assert_int_equal(dp_euicc_notification_get(fx->e, count - 1, &der, &len), DP_OK);
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.PendingNotification", der, len, &n),
			 DP_OK);
	dp_asn1_free(&n);
	assert_int_equal(dp_tlv_expect(der, len, 0x30, &note), DP_OK);
	struct dp_cursor c = dp_cursor_make(note.value, note.len);
	assert_int_equal(dp_tlv_next(&c, &meta), DP_OK);
	assert_int_equal(dp_tlv_next(&c, &sig), DP_OK);
	assert_int_equal(dp_tlv_next(&c, &c1), DP_OK);
	assert_int_equal(dp_tlv_next(&c, &c2), DP_OK);
	assert_true(dp_cursor_done(&c));
	assert_int_equal(meta.tag, 0xBF2F);
	assert_int_equal(sig.tag, DP_ECDSA_TAG);
	assert_int_equal(dp_ecdsa_verify(dp_cert_pubkey(dp_euicc_identity_cert(id)), meta.raw,
					 meta.raw_len, sig.value, sig.len),
			 DP_OK);
	cert = dp_cert_der(dp_euicc_identity_cert(id), &cert_len);
	assert_bytes_equal(c1.raw, c1.raw_len, cert, cert_len);
	cert = dp_cert_der(dp_euicc_identity_eum(id), &cert_len);
	assert_bytes_equal(c2.raw, c2.raw_len, cert, cert_len);
	c = dp_cursor_make(meta.value, meta.len);
	assert_int_equal(dp_tlv_next(&c, &m), DP_OK);
	assert_int_equal(m.tag, 0x80);
	assert_int_equal(m.len, 1);
	assert_int_equal(m.value[0], seq);
	assert_int_equal(dp_tlv_next(&c, &m), DP_OK);
	assert_bytes_equal(m.raw, m.raw_len, (const uint8_t *)event, 4);
	assert_int_equal(dp_tlv_next(&c, &m), DP_OK);
	assert_int_equal(m.tag, 0x0C);
	assert_bytes_equal(m.value, m.len, (const uint8_t *)address, strlen(address));
	assert_int_equal(dp_tlv_next(&c, &m), DP_OK);
	assert_int_equal(m.tag, 0x5A);
	assert_bytes_equal(m.value, m.len, iccid, 10);
	assert_true(dp_cursor_done(&c));
}

#define ENABLE	      "\x81\x02\x06\x40"
#define DISABLE	      "\x81\x02\x05\x20"
#define DELETE	      "\x81\x02\x04\x10"
#define OTHER_ADDRESS "notify.example.org"

static void profile_management(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_tlv t, list, info, m;
	asn1_node n = NULL;
	char hex[128];
	uint8_t iccid1[10], iccid2[10], aid1[16], aid2[16];
	/* nothing installed */
	assert_int_equal(es10_hex(fx, "BF2D00"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x2D\x02\xA0\x00", 5);
	assert_int_equal(profile_op(fx, "BF31 11 A00C5A0A98001032547698103214 810100",
				    "RSPDefinitions.EnableProfileResponse"),
			 1);
	/* profile 1: the TS.48 one; profile 2: another ICCID whose metadata sends
	 * enable and delete notifications elsewhere:
	 * B6 { 30 { 80 02 04 50 (enable, delete), 81 OTHER_ADDRESS } } */
	install(fx);
	memcpy(iccid1, fx->iccid, 10);
	memcpy(aid1, dp_euicc_profile_get(fx->e, 0)->aid, 16);
	static const uint8_t nci[] = {0xB6, 0x1A, 0x30, 0x18, 0x80, 0x02, 0x04, 0x50, 0x81, 0x12,
				      'n',  'o',  't',	'i',  'f',  'y',  '.',	'e',  'x',  'a',
				      'm',  'p',  'l',	'e',  '.',  'o',  'r',	'g'};
	fx->iccid[9] ^= 0x01;
	memcpy(iccid2, fx->iccid, 10);
	fx->extra_metadata = nci;
	fx->extra_metadata_len = sizeof(nci);
	install(fx);
	memcpy(aid2, dp_euicc_profile_get(fx->e, 1)->aid, 16);
	assert_memory_not_equal(aid1, aid2, 16);
	/* GetProfilesInfo: both, disabled, with the metadata's names and class */
	assert_int_equal(es10_hex(fx, "BF2D00"), DP_OK);
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.ProfileInfoListResponse",
					      fx->resp.data, fx->resp.len, &n),
			 DP_OK);
	dp_asn1_free(&n);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF2D, &t), DP_OK);
	assert_int_equal(dp_tlv_expect(t.value, t.len, 0xA0, &list), DP_OK);
	struct dp_cursor c = dp_cursor_make(list.value, list.len);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(dp_tlv_next(&c, &info), DP_OK);
		assert_int_equal(info.tag, 0xE3);
		assert_int_equal(dp_tlv_find(info.value, info.len, 0x5A, &m), DP_OK);
		assert_bytes_equal(m.value, m.len, i == 0 ? iccid1 : iccid2, 10);
		assert_int_equal(dp_tlv_find(info.value, info.len, 0x4F, &m), DP_OK);
		assert_bytes_equal(m.value, m.len, i == 0 ? aid1 : aid2, 16);
		assert_int_equal(dp_tlv_find(info.value, info.len, 0x9F70, &m), DP_OK);
		assert_bytes_equal(m.raw, m.raw_len, (const uint8_t *)"\x9F\x70\x01\x00", 4);
		assert_int_equal(dp_tlv_find(info.value, info.len, 0x91, &m), DP_OK);
		assert_bytes_equal(m.value, m.len, (const uint8_t *)"GSMA_TEST", 9);
		assert_int_equal(dp_tlv_find(info.value, info.len, 0x92, &m), DP_OK);
		assert_bytes_equal(m.value, m.len, (const uint8_t *)"TS48 v1 A", 9);
		assert_int_equal(dp_tlv_find(info.value, info.len, 0x95, &m), DP_OK);
		assert_bytes_equal(m.raw, m.raw_len, (const uint8_t *)"\x95\x01\x00", 3);
		assert_int_equal(dp_tlv_find(info.value, info.len, 0xB6, &m),
				 i == 0 ? DP_ERR_NOT_FOUND : DP_OK);
	}
	assert_true(dp_cursor_done(&c));
	/* search by ICCID (the second), by class (operational: none) */
	snprintf(hex, sizeof(hex), "BF2D 0E A00C5A0A%s", tohex(iccid2, 10));
	assert_int_equal(es10_hex(fx, hex), DP_OK);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF2D, &t), DP_OK);
	assert_int_equal(dp_tlv_expect(t.value, t.len, 0xA0, &list), DP_OK);
	assert_int_equal(dp_tlv_expect(list.value, list.len, 0xE3, &info), DP_OK);
	assert_int_equal(dp_tlv_find(info.value, info.len, 0x4F, &m), DP_OK);
	assert_bytes_equal(m.value, m.len, aid2, 16);
	assert_int_equal(es10_hex(fx, "BF2D05 A003950102"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x2D\x02\xA0\x00", 5);
	/* enable profile 1 by AID: notification 3 to the installing SM-DP+ */
	snprintf(hex, sizeof(hex), "BF31 17 A0124F10%s 8101FF", tohex(aid1, 16));
	assert_int_equal(profile_op(fx, hex, "RSPDefinitions.EnableProfileResponse"), 0);
	assert_true(dp_euicc_profile_get(fx->e, 0)->enabled);
	assert_int_equal(dp_euicc_notification_count(fx->e), 3);
	check_other_notification(fx, 3, ENABLE, EUICC_DL_ADDRESS, iccid1);
	/* again: profileNotInDisabledState; deleting it: profileNotInDisabledState */
	assert_int_equal(profile_op(fx, hex, "RSPDefinitions.EnableProfileResponse"), 2);
	snprintf(hex, sizeof(hex), "BF33 12 4F10%s", tohex(aid1, 16));
	assert_int_equal(profile_op(fx, hex, "RSPDefinitions.DeleteProfileResponse"), 2);
	assert_int_equal(dp_euicc_notification_count(fx->e), 3);
	/* enable profile 2 by ICCID: profile 1 is disabled first (notification 4), then 2 is
	 * enabled (notification 5, to its notificationConfigurationInfo address) */
	snprintf(hex, sizeof(hex), "BF31 11 A00C5A0A%s 810100", tohex(iccid2, 10));
	assert_int_equal(profile_op(fx, hex, "RSPDefinitions.EnableProfileResponse"), 0);
	assert_false(dp_euicc_profile_get(fx->e, 0)->enabled);
	assert_true(dp_euicc_profile_get(fx->e, 1)->enabled);
	assert_int_equal(dp_euicc_notification_count(fx->e), 5);
	check_other_notification(fx, 5, ENABLE, OTHER_ADDRESS, iccid2);
	/* notification 4 (the disable of profile 1) through RetrieveNotificationsList */
	assert_int_equal(es10_hex(fx, "BF2B05 A003800104"), DP_OK);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF2B, &t), DP_OK);
	assert_int_equal(dp_tlv_expect(t.value, t.len, 0xA0, &list), DP_OK);
	assert_int_equal(dp_tlv_expect(list.value, list.len, 0x30, &info), DP_OK);
	assert_int_equal(dp_tlv_find(info.value, info.len, 0xBF2F, &m), DP_OK);
	assert_int_equal(dp_tlv_find(m.value, m.len, 0x81, &t), DP_OK);
	assert_bytes_equal(t.raw, t.raw_len, (const uint8_t *)DISABLE, 4);
	/* disable profile 1 (disabled): profileNotInEnabledState; unknown ICCID: not found */
	snprintf(hex, sizeof(hex), "BF32 11 A00C5A0A%s 810100", tohex(iccid1, 10));
	assert_int_equal(profile_op(fx, hex, "RSPDefinitions.DisableProfileResponse"), 2);
	assert_int_equal(profile_op(fx, "BF32 11 A00C5A0A98001032547698103214 810100",
				    "RSPDefinitions.DisableProfileResponse"),
			 1);
	/* disable profile 2 by AID: notification 6 to the installing SM-DP+ (its
	 * notificationConfigurationInfo has no disable) */
	snprintf(hex, sizeof(hex), "BF32 17 A0124F10%s 810100", tohex(aid2, 16));
	assert_int_equal(profile_op(fx, hex, "RSPDefinitions.DisableProfileResponse"), 0);
	assert_false(dp_euicc_profile_get(fx->e, 1)->enabled);
	check_other_notification(fx, 6, DISABLE, EUICC_DL_ADDRESS, iccid2);
	/* delete profile 2 by ICCID (notification 7 to OTHER_ADDRESS), then profile 1 by AID */
	snprintf(hex, sizeof(hex), "BF33 0C 5A0A%s", tohex(iccid2, 10));
	assert_int_equal(profile_op(fx, hex, "RSPDefinitions.DeleteProfileResponse"), 0);
	check_other_notification(fx, 7, DELETE, OTHER_ADDRESS, iccid2);
	assert_int_equal(profile_op(fx, hex, "RSPDefinitions.DeleteProfileResponse"), 1);
	assert_int_equal(dp_euicc_profile_count(fx->e), 1);
	snprintf(hex, sizeof(hex), "BF33 12 4F10%s", tohex(aid1, 16));
	assert_int_equal(profile_op(fx, hex, "RSPDefinitions.DeleteProfileResponse"), 0);
	check_other_notification(fx, 8, DELETE, EUICC_DL_ADDRESS, iccid1);
	assert_int_equal(dp_euicc_profile_count(fx->e), 0);
	assert_int_equal(dp_euicc_notification_count(fx->e), 8);
	assert_int_equal(es10_hex(fx, "BF2D00"), DP_OK);
	assert_bytes_equal(fx->resp.data, fx->resp.len, (const uint8_t *)"\xBF\x2D\x02\xA0\x00", 5);
	/* malformed: no identifier, another tag inside */
	assert_int_equal(es10_hex(fx, "BF3100"), DP_ERR_EUICC_REQUEST);
	assert_int_equal(es10_hex(fx, "BF3303 800100"), DP_ERR_EUICC_REQUEST);
	assert_int_equal(fx->resp.len, 0);
}

/* The eUICC's profiles and notifications equal those of another. */
static void assert_same_state(const struct dp_euicc *a, const struct dp_euicc *b)
{
	assert_int_equal(dp_euicc_profile_count(a), dp_euicc_profile_count(b));
	for (size_t i = 0; i < dp_euicc_profile_count(a); i++) {
		const struct dp_euicc_profile *p = dp_euicc_profile_get(a, i);
		const struct dp_euicc_profile *q = dp_euicc_profile_get(b, i);
		assert_memory_equal(p->iccid, q->iccid, 10);
		assert_memory_equal(p->aid, q->aid, 16);
		assert_string_equal(p->sp_name, q->sp_name);
		assert_string_equal(p->name, q->name);
		assert_string_equal(p->smdp_address, q->smdp_address);
		assert_int_equal(p->profile_class, q->profile_class);
		assert_int_equal(p->enabled, q->enabled);
		assert_bytes_equal(p->metadata, p->metadata_len, q->metadata, q->metadata_len);
		assert_bytes_equal(p->package, p->package_len, q->package, q->package_len);
	}
	assert_int_equal(dp_euicc_notification_count(a), dp_euicc_notification_count(b));
	for (size_t i = 0; i < dp_euicc_notification_count(a); i++) {
		const uint8_t *x, *y;
		size_t xl, yl;
		assert_int_equal(dp_euicc_notification_get(a, i, &x, &xl), DP_OK);
		assert_int_equal(dp_euicc_notification_get(b, i, &y, &yl), DP_OK);
		assert_bytes_equal(x, xl, y, yl);
	}
}

static void save_and_load(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_euicc *other = NULL;
	char dir[512], path[600], hex[128];
	const char *base = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/smdp-euicc-XXXXXX", base != NULL && *base ? base : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.der", dir);
	/* one enabled profile, PIR + enable notification */
	install(fx);
	snprintf(hex, sizeof(hex), "BF31 11 A00C5A0A%s 810100", tohex(fx->iccid, 10));
	assert_int_equal(profile_op(fx, hex, "RSPDefinitions.EnableProfileResponse"), 0);
	assert_int_equal(dp_euicc_save(fx->e, path), DP_OK);
	assert_int_equal(dp_euicc_new(euicc_test_identity(DP_CURVE_NIST_P256), &other), DP_OK);
	/* a missing file and a malformed one leave the eUICC as it was */
	char missing[620];
	snprintf(missing, sizeof(missing), "%s/none.der", dir);
	assert_int_equal(dp_euicc_load(other, missing), DP_ERR_IO);
	assert_int_equal(dp_euicc_save(other, missing), DP_OK);
	FILE *f = fopen(missing, "r+b");
	assert_non_null(f);
	assert_int_equal(fputc(0x31, f), 0x31); /* 30 -> 31 */
	assert_int_equal(fclose(f), 0);
	assert_int_equal(dp_euicc_load(other, missing), DP_ERR_EUICC_STATE);
	assert_int_equal(dp_euicc_profile_count(other), 0);
	/* the saved state comes back as it was */
	assert_int_equal(dp_euicc_load(other, path), DP_OK);
	assert_same_state(fx->e, other);
	assert_int_equal(dp_euicc_profile_count(other), 1);
	assert_true(dp_euicc_profile_get(other, 0)->enabled);
	/* and goes on: disable gets seqNumber 3, to the installing SM-DP+ */
	struct dp_euicc *mine = fx->e;
	fx->e = other;
	snprintf(hex, sizeof(hex), "BF32 11 A00C5A0A%s 810100", tohex(fx->iccid, 10));
	assert_int_equal(profile_op(fx, hex, "RSPDefinitions.DisableProfileResponse"), 0);
	check_other_notification(fx, 3, DISABLE, EUICC_DL_ADDRESS, fx->iccid);
	/* save over the old file and load into the first eUICC */
	assert_int_equal(dp_euicc_save(other, path), DP_OK);
	assert_int_equal(dp_euicc_load(mine, path), DP_OK);
	assert_same_state(mine, other);
	fx->e = mine;
	dp_euicc_free(other);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unlink(missing), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* After a delete, the next install takes the lowest free ISD-P AID, never one in use. */
static void aid_after_delete(void **state)
{
	struct euicc_dl *fx = *state;
	char hex[128];
	uint8_t aid1[16], aid2[16];
	install(fx);
	memcpy(aid1, dp_euicc_profile_get(fx->e, 0)->aid, 16);
	fx->iccid[9] ^= 0x01;
	install(fx);
	memcpy(aid2, dp_euicc_profile_get(fx->e, 1)->aid, 16);
	snprintf(hex, sizeof(hex), "BF33 12 4F10%s", tohex(aid1, 16));
	assert_int_equal(profile_op(fx, hex, "RSPDefinitions.DeleteProfileResponse"), 0);
	fx->iccid[9] ^= 0x02;
	install(fx);
	assert_int_equal(dp_euicc_profile_count(fx->e), 2);
	assert_memory_equal(dp_euicc_profile_get(fx->e, 0)->aid, aid2, 16);
	assert_memory_equal(dp_euicc_profile_get(fx->e, 1)->aid, aid1, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(cancel_session, euicc_dl_setup, euicc_dl_teardown),
		cmocka_unit_test_setup_teardown(notifications, euicc_dl_setup, euicc_dl_teardown),
		cmocka_unit_test_setup_teardown(profile_management, euicc_dl_setup,
						euicc_dl_teardown),
		cmocka_unit_test_setup_teardown(aid_after_delete, euicc_dl_setup,
						euicc_dl_teardown),
		cmocka_unit_test_setup_teardown(save_and_load, euicc_dl_setup, euicc_dl_teardown),
	};
	return cmocka_run_group_tests_name("euicc-followup", tests, NULL, NULL);
}
