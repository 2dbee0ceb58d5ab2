/* The SM-DP+ and LPA side of a download against the test eUICC (see euicc_download.h). */
#include "test/unit/euicc/euicc_download.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pki/asn1/asn1.h"
#include "pki/crypto/kdf.h"
#include "pki/crypto/scp03t.h"
#include "test/support/support.h"

int euicc_dl_setup(void **state)
{
	struct euicc_dl *fx = test_calloc(1, sizeof(*fx));
	assert_int_equal(dp_euicc_new(euicc_test_identity(DP_CURVE_NIST_P256), &fx->e), DP_OK);
	dp_euicc_set_time(fx->e, EUICC_TEST_TIME);
	euicc_test_server("DPauth", "DPauth", DP_CURVE_NIST_P256, &fx->dpauth, &fx->auth_key);
	euicc_test_server("DPpb", "DPpb", DP_CURVE_NIST_P256, &fx->dppb, &fx->pb_key);
	euicc_test_ci_ski(DP_CURVE_NIST_P256, &fx->ci);
	dp_buf_init(&fx->req, 16384);
	dp_buf_init(&fx->resp, DP_EUICC_ES10_RESP_MAX);
	dp_buf_init(&fx->bpp, 64 * 1024);
	struct euicc_test_auth *a = &fx->auth;
	memcpy(a->tid, "\x01\x23\x45\x67\x89\xAB\xCD\xEF\x88\x99\xAA\xBB\xCC\xDD\xEE\xFF", 16);
	a->tid_len = 16;
	a->address = EUICC_DL_ADDRESS;
	memset(a->server_challenge, 0x5A, 16);
	a->ci_pkid = fx->ci.v;
	a->ci_pkid_len = fx->ci.len;
	a->cert = fx->dpauth;
	a->key = fx->auth_key;
	/* the UPP and the ICCID of its ProfileHeader (A0 { ..., 83 iccid }) */
	dp_test_read_file(dp_test_shared("ts48/TS48v1_A.der"), &fx->upp);
	struct dp_tlv header, iccid;
	assert_int_equal(dp_tlv_read(fx->upp.data, fx->upp.len, &header), DP_OK);
	assert_int_equal(header.tag, 0xA0);
	assert_int_equal(dp_tlv_find(header.value, header.len, 0x83, &iccid), DP_OK);
	assert_int_equal(iccid.len, 10);
	memcpy(fx->iccid, iccid.value, 10);
	*state = fx;
	return 0;
}

int euicc_dl_teardown(void **state)
{
	struct euicc_dl *fx = *state;
	dp_euicc_free(fx->e);
	dp_cert_free(fx->dpauth);
	dp_cert_free(fx->dppb);
	EVP_PKEY_free(fx->auth_key);
	EVP_PKEY_free(fx->pb_key);
	dp_buf_deinit(&fx->req);
	dp_buf_deinit(&fx->resp);
	dp_buf_deinit(&fx->upp);
	dp_buf_deinit(&fx->bpp);
	test_free(fx);
	return 0;
}

/* GetEUICCChallenge + AuthenticateServer, which must succeed; keeps euiccSignature1. */
void euicc_dl_authenticate(struct euicc_dl *fx)
{
	struct dp_tlv t, ok, signed1, sig;
	dp_buf_reset(&fx->resp);
	dp_buf_reset(&fx->req);
	assert_int_equal(dp_euicc_es10(fx->e, (const uint8_t *)"\xBF\x2E\x00", 3, &fx->resp),
			 DP_OK);
	memcpy(fx->auth.challenge, fx->resp.data + 5, 16);
	dp_buf_reset(&fx->resp);
	euicc_test_auth_request(&fx->auth, &fx->req);
	assert_int_equal(dp_euicc_es10(fx->e, fx->req.data, fx->req.len, &fx->resp), DP_OK);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF38, &t), DP_OK);
	assert_int_equal(dp_tlv_expect(t.value, t.len, 0xA0, &ok), DP_OK);
	struct dp_cursor c = dp_cursor_make(ok.value, ok.len);
	assert_int_equal(dp_tlv_next(&c, &signed1), DP_OK);
	assert_int_equal(dp_tlv_next(&c, &sig), DP_OK);
	assert_int_equal(sig.raw_len, sizeof(fx->signature1));
	memcpy(fx->signature1, sig.raw, sig.raw_len);
}

/* Sends PrepareDownload; returns the downloadErrorCode (0: ok, euiccSignature2 checked,
 * euiccSigned2 left in *signed2 as a slice of fx->resp, otPK.EUICC in fx->otpk_euicc). */
int euicc_dl_prepare_download(struct euicc_dl *fx, const struct euicc_dl_prepare *p,
			      struct dp_tlv *signed2)
{
	struct dp_buf s2, body;
	struct dp_tlv t, choice, sig2, m;
	dp_buf_init(&s2, 1024);
	dp_buf_init(&body, 8192);
	const uint8_t *tid = p->tid != NULL ? p->tid : fx->auth.tid;
	assert_int_equal(dp_tlv_append(&s2, 0x80, tid, fx->auth.tid_len), DP_OK);
	assert_int_equal(dp_tlv_append(&s2, 0x01, p->cc_required ? "\xFF" : "\x00", 1), DP_OK);
	if (p->otpk != NULL)
		assert_int_equal(dp_tlv_append(&s2, 0x5F49, p->otpk, DP_CURVE_POINT_BYTES), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x30, s2.data, s2.len), DP_OK);
	/* smdpSignature2 over smdpSigned2 || euiccSignature1 TLV */
	dp_buf_reset(&s2);
	assert_int_equal(dp_buf_append(&s2, body.data, body.len), DP_OK);
	assert_int_equal(dp_buf_append(&s2, fx->signature1, sizeof(fx->signature1)), DP_OK);
	size_t sig_at = body.len;
	assert_int_equal(
	    dp_ecdsa_sign_tlv(p->key != NULL ? p->key : fx->pb_key, s2.data, s2.len, &body), DP_OK);
	if (p->corrupt_signature)
		body.data[sig_at + 20] ^= 0x01;
	uint8_t signature2[3 + DP_ECDSA_RS_BYTES];
	memcpy(signature2, body.data + sig_at, sizeof(signature2));
	if (p->hash_cc != NULL)
		assert_int_equal(dp_tlv_append(&body, 0x04, p->hash_cc, 32), DP_OK);
	size_t len;
	const uint8_t *der = dp_cert_der(p->cert != NULL ? p->cert : fx->dppb, &len);
	assert_int_equal(dp_buf_append(&body, der, len), DP_OK);
	dp_buf_reset(&fx->req);
	assert_int_equal(dp_tlv_append(&fx->req, 0xBF21, body.data, body.len), DP_OK);
	dp_buf_deinit(&s2);
	dp_buf_deinit(&body);
	dp_buf_reset(&fx->resp);
	assert_int_equal(dp_euicc_es10(fx->e, fx->req.data, fx->req.len, &fx->resp), DP_OK);
	asn1_node n = NULL;
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.PrepareDownloadResponse",
					      fx->resp.data, fx->resp.len, &n),
			 DP_OK);
	dp_asn1_free(&n);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF21, &t), DP_OK);
	assert_int_equal(dp_tlv_expect(t.value, t.len, 0, &choice), DP_OK);
	if (choice.tag == 0xA1) {
		assert_int_equal(dp_tlv_find(choice.value, choice.len, 0x80, &m), DP_OK);
		assert_bytes_equal(m.value, m.len, tid, fx->auth.tid_len);
		assert_int_equal(dp_tlv_find(choice.value, choice.len, 0x02, &m), DP_OK);
		assert_int_equal(m.len, 1);
		return m.value[0];
	}
	assert_int_equal(choice.tag, 0xA0);
	struct dp_cursor c = dp_cursor_make(choice.value, choice.len);
	assert_int_equal(dp_tlv_next(&c, signed2), DP_OK);
	assert_int_equal(dp_tlv_next(&c, &sig2), DP_OK);
	assert_true(dp_cursor_done(&c));
	assert_int_equal(signed2->tag, 0x30);
	assert_int_equal(sig2.tag, DP_ECDSA_TAG);
	/* euiccSignature2 over euiccSigned2 || smdpSignature2 TLV, with PK.EUICC */
	struct dp_buf msg;
	dp_buf_init(&msg, 4096);
	assert_int_equal(dp_buf_append(&msg, signed2->raw, signed2->raw_len), DP_OK);
	assert_int_equal(dp_buf_append(&msg, signature2, sizeof(signature2)), DP_OK);
	assert_int_equal(
	    dp_ecdsa_verify(dp_cert_pubkey(dp_euicc_identity_cert(dp_euicc_identity(fx->e))),
			    msg.data, msg.len, sig2.value, sig2.len),
	    DP_OK);
	dp_buf_deinit(&msg);
	assert_int_equal(dp_tlv_find(signed2->value, signed2->len, 0x80, &m), DP_OK);
	assert_bytes_equal(m.value, m.len, fx->auth.tid, fx->auth.tid_len);
	assert_int_equal(dp_tlv_find(signed2->value, signed2->len, 0x5F49, &m), DP_OK);
	assert_int_equal(m.len, DP_CURVE_POINT_BYTES);
	memcpy(fx->otpk_euicc, m.value, m.len);
	return 0;
}

/* Builds the BPP into fx->bpp and cuts it as the LPA does (SGP.22 2.5.5) into fx->seg.
 * With ppk, the UPP is protected with fixed profile protection keys announced in an A2
 * ReplaceSessionKeys (download-path.md 4.6). */
void euicc_dl_build_bpp_ppk(struct euicc_dl *fx, bool corrupt_smdp_sign, bool ppk)
{
	static const uint8_t configure_isdp[] = {0xBF, 0x24, 0x00};
	struct dp_buf body, part, bpp_body;
	EVP_PKEY *otsk = NULL;
	uint8_t otpk[DP_CURVE_POINT_BYTES], eid[DP_KDF_EID_BYTES];
	struct dp_session_keys keys;
	struct dp_scp03t *scp = NULL;
	dp_buf_init(&body, 4096);
	dp_buf_init(&part, 64 * 1024);
	dp_buf_init(&bpp_body, 64 * 1024);
	assert_int_equal(dp_kdf_generate(DP_CURVE_NIST_P256, &otsk), DP_OK);
	assert_int_equal(dp_kdf_export_point(otsk, otpk), DP_OK);
	/* BF23 { 82 01 01, 80 tid, A6 CRT, 5F49 otPK.DP, 5F37 smdpSign } */
	assert_int_equal(dp_tlv_append(&body, 0x82, "\x01", 1), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x80, fx->auth.tid, fx->auth.tid_len), DP_OK);
	assert_int_equal(dp_buf_append(&part, "\x80\x01\x88\x81\x01\x10", 6), DP_OK);
	assert_int_equal(dp_tlv_append(&part, 0x84, EUICC_DL_HOST_ID, strlen(EUICC_DL_HOST_ID)),
			 DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0xA6, part.data, part.len), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x5F49, otpk, sizeof(otpk)), DP_OK);
	dp_buf_reset(&part);
	assert_int_equal(dp_buf_append(&part, body.data, body.len), DP_OK);
	assert_int_equal(dp_tlv_append(&part, 0x5F49, fx->otpk_euicc, DP_CURVE_POINT_BYTES), DP_OK);
	size_t sig_at = body.len;
	assert_int_equal(dp_ecdsa_sign_tlv(fx->pb_key, part.data, part.len, &body), DP_OK);
	if (corrupt_smdp_sign)
		body.data[sig_at + 9] ^= 0x80;
	assert_int_equal(dp_tlv_append(&bpp_body, 0xBF23, body.data, body.len), DP_OK);
	/* session keys: ECDH with otPK.EUICC, hostId, the EID */
	assert_int_equal(dp_kdf_eid_bytes(dp_euicc_identity_eid(dp_euicc_identity(fx->e)), eid),
			 DP_OK);
	assert_int_equal(dp_kdf_session_keys(otsk, fx->otpk_euicc, DP_CURVE_POINT_BYTES,
					     (const uint8_t *)EUICC_DL_HOST_ID,
					     strlen(EUICC_DL_HOST_ID), eid, &keys),
			 DP_OK);
	assert_int_equal(dp_scp03t_new(&keys, &scp), DP_OK);
	/* A0 { 87 ConfigureISDP }, A1 { 88 StoreMetadata... }, A3 { 86 UPP slices } */
	dp_buf_reset(&part);
	assert_int_equal(dp_scp03t_wrap(scp, 0x87, configure_isdp, sizeof(configure_isdp), &part),
			 DP_OK);
	assert_int_equal(dp_tlv_append(&bpp_body, 0xA0, part.data, part.len), DP_OK);
	dp_buf_reset(&body);
	assert_int_equal(dp_tlv_append(&body, 0x5A, fx->iccid, 10), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x91, "GSMA_TEST", 9), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x92, "TS48 v1 A", 9), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x95, "\x00", 1), DP_OK);
	if (fx->extra_metadata_len != 0)
		assert_int_equal(dp_buf_append(&body, fx->extra_metadata, fx->extra_metadata_len),
				 DP_OK);
	dp_buf_reset(&part);
	assert_int_equal(dp_tlv_append(&part, 0xBF25, body.data, body.len), DP_OK);
	dp_buf_reset(&body);
	assert_int_equal(dp_scp03t_wrap_all(scp, 0x88, part.data, part.len, &body), DP_OK);
	assert_int_equal(dp_tlv_append(&bpp_body, 0xA1, body.data, body.len), DP_OK);
	if (ppk) {
		struct dp_session_keys pk;
		memset(pk.mcv, 0x00, 16);
		memset(pk.s_enc, 0x11, 16);
		memset(pk.s_mac, 0x22, 16);
		dp_buf_reset(&part);
		dp_buf_reset(&body);
		assert_int_equal(dp_scp03t_replace_keys_request(&pk, &part), DP_OK);
		assert_int_equal(dp_scp03t_wrap(scp, 0x87, part.data, part.len, &body), DP_OK);
		assert_int_equal(dp_tlv_append(&bpp_body, 0xA2, body.data, body.len), DP_OK);
		assert_int_equal(dp_scp03t_replace_keys(scp, &pk), DP_OK);
	}
	dp_buf_reset(&part);
	assert_int_equal(dp_scp03t_wrap_all(scp, 0x86, fx->upp.data, fx->upp.len, &part), DP_OK);
	assert_int_equal(dp_tlv_append(&bpp_body, 0xA3, part.data, part.len), DP_OK);
	dp_buf_reset(&fx->bpp);
	assert_int_equal(dp_tlv_append(&fx->bpp, 0xBF36, bpp_body.data, bpp_body.len), DP_OK);
	/* the LPA's cut: BF36 header + BF23; A0 with its 87; A1 header; each 88; A3 header;
	 * each 86 */
	struct dp_tlv bpp, t, el;
	assert_int_equal(dp_tlv_expect(fx->bpp.data, fx->bpp.len, 0xBF36, &bpp), DP_OK);
	struct dp_cursor c = dp_cursor_make(bpp.value, bpp.len);
	fx->n_seg = 0;
	while (!dp_cursor_done(&c)) {
		assert_int_equal(dp_tlv_next(&c, &t), DP_OK);
		assert_true(fx->n_seg + 1 < EUICC_DL_SEGMENTS_MAX);
		if (t.tag == 0xBF23) {
			fx->seg[fx->n_seg++] = (struct euicc_dl_segment){
			    bpp.raw, (size_t)(t.raw - bpp.raw) + t.raw_len};
		} else if (t.tag == 0xA0 || t.tag == 0xA2) {
			fx->seg[fx->n_seg++] = (struct euicc_dl_segment){t.raw, t.raw_len};
		} else {
			fx->seg[fx->n_seg++] = (struct euicc_dl_segment){t.raw, t.raw_len - t.len};
			struct dp_cursor e = dp_cursor_make(t.value, t.len);
			while (!dp_cursor_done(&e)) {
				assert_int_equal(dp_tlv_next(&e, &el), DP_OK);
				assert_true(fx->n_seg < EUICC_DL_SEGMENTS_MAX);
				fx->seg[fx->n_seg++] =
				    (struct euicc_dl_segment){el.raw, el.raw_len};
			}
		}
	}
	/* 1 + 1 + (1 + 1) [+ 1] + (1 + 12): 11768 bytes of UPP in 1007-byte slices */
	assert_int_equal(fx->n_seg, ppk ? 18 : 17);
	dp_scp03t_free(scp);
	dp_kdf_keys_wipe(&keys);
	EVP_PKEY_free(otsk);
	dp_buf_deinit(&body);
	dp_buf_deinit(&part);
	dp_buf_deinit(&bpp_body);
}

void euicc_dl_build_bpp(struct euicc_dl *fx, bool corrupt_smdp_sign)
{
	euicc_dl_build_bpp_ppk(fx, corrupt_smdp_sign, false);
}

/* Sends the segments in fx->seg; exactly one of them (the last, or the first that fails)
 * answers, and that answer is left in fx->resp; returns its index. */
size_t euicc_dl_load(struct euicc_dl *fx)
{
	struct dp_buf out;
	size_t answered = SIZE_MAX;
	dp_buf_init(&out, DP_EUICC_ES10_RESP_MAX);
	dp_buf_reset(&fx->resp);
	for (size_t i = 0; i < fx->n_seg; i++) {
		dp_buf_reset(&out);
		assert_int_equal(dp_euicc_es10(fx->e, fx->seg[i].p, fx->seg[i].len, &out), DP_OK);
		if (out.len == 0)
			continue;
		assert_int_equal(answered, SIZE_MAX);
		answered = i;
		assert_int_equal(dp_buf_append(&fx->resp, out.data, out.len), DP_OK);
	}
	dp_buf_deinit(&out);
	assert_int_not_equal(answered, SIZE_MAX);
	return answered;
}

/* Checks a ProfileInstallationResult as an SM-DP+ would (schema, signature with
 * CERT.EUICC, tid, notification metadata, OID); returns 0 for success (the ISD-P AID in
 * aid) or the errorReason (the bppCommandId in *command). */
int euicc_dl_check_pir(struct euicc_dl *fx, uint8_t aid[16], int *command)
{
	struct dp_tlv pir, data, sig, m, meta, result, choice;
	asn1_node n = NULL;
	assert_int_equal(dp_asn1_decode_exact("RSPDefinitions.ProfileInstallationResult",
					      fx->resp.data, fx->resp.len, &n),
			 DP_OK);
	dp_asn1_free(&n);
	assert_int_equal(dp_tlv_expect(fx->resp.data, fx->resp.len, 0xBF37, &pir), DP_OK);
	struct dp_cursor c = dp_cursor_make(pir.value, pir.len);
	assert_int_equal(dp_tlv_next(&c, &data), DP_OK);
	assert_int_equal(dp_tlv_next(&c, &sig), DP_OK);
	assert_int_equal(data.tag, 0xBF27);
	assert_int_equal(sig.tag, DP_ECDSA_TAG);
	assert_int_equal(
	    dp_ecdsa_verify(dp_cert_pubkey(dp_euicc_identity_cert(dp_euicc_identity(fx->e))),
			    data.raw, data.raw_len, sig.value, sig.len),
	    DP_OK);
	assert_int_equal(dp_tlv_find(data.value, data.len, 0x80, &m), DP_OK);
	assert_bytes_equal(m.value, m.len, fx->auth.tid, fx->auth.tid_len);
	assert_int_equal(dp_tlv_find(data.value, data.len, 0xBF2F, &meta), DP_OK);
	assert_int_equal(dp_tlv_find(meta.value, meta.len, 0x81, &m), DP_OK);
	assert_bytes_equal(m.value, m.len, (const uint8_t *)"\x07\x80", 2);
	assert_int_equal(dp_tlv_find(meta.value, meta.len, 0x0C, &m), DP_OK);
	assert_bytes_equal(m.value, m.len, (const uint8_t *)EUICC_DL_ADDRESS,
			   strlen(EUICC_DL_ADDRESS));
	/* 06: the SGP.26 SM-DP+ OID 2.999.10 */
	assert_int_equal(dp_tlv_find(data.value, data.len, 0x06, &m), DP_OK);
	assert_bytes_equal(m.raw, m.raw_len, (const uint8_t *)"\x06\x03\x88\x37\x0A", 5);
	assert_int_equal(dp_tlv_find(data.value, data.len, 0xA2, &result), DP_OK);
	assert_int_equal(dp_tlv_expect(result.value, result.len, 0, &choice), DP_OK);
	if (choice.tag == 0xA0) {
		assert_int_equal(dp_tlv_find(meta.value, meta.len, 0x5A, &m), DP_OK);
		assert_bytes_equal(m.value, m.len, fx->iccid, 10);
		assert_int_equal(dp_tlv_find(choice.value, choice.len, 0x4F, &m), DP_OK);
		assert_int_equal(m.len, 16);
		memcpy(aid, m.value, 16);
		assert_int_equal(dp_tlv_find(choice.value, choice.len, 0x04, &m), DP_OK);
		assert_bytes_equal(m.value, m.len,
				   (const uint8_t *)"\x30\x07\xA0\x05\x30\x03\x80\x01\x00", 9);
		return 0;
	}
	assert_int_equal(choice.tag, 0xA1);
	assert_int_equal(dp_tlv_find(choice.value, choice.len, 0x80, &m), DP_OK);
	assert_int_equal(m.len, 1);
	*command = m.value[0];
	assert_int_equal(dp_tlv_find(choice.value, choice.len, 0x81, &m), DP_OK);
	assert_int_equal(m.len, 1);
	return m.value[0];
}

/* AuthenticateServer + PrepareDownload, both fine. */
void euicc_dl_prepared(struct euicc_dl *fx)
{
	struct dp_tlv signed2;
	euicc_dl_authenticate(fx);
	assert_int_equal(euicc_dl_prepare_download(fx, &(struct euicc_dl_prepare){0}, &signed2), 0);
}
