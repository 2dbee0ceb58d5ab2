/* ES9+.GetBoundProfilePackage: euiccSignature2, the confirmation code, and the profile
 * bound to otPK.EUICC (SGP.22 5.6.2, 6.5.2.7; download-path.md 4.4-4.8, 5.4, 5.7). */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <string.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/base/log.h"
#include "pki/base/secure.h"
#include "pki/crypto/ecdsa.h"
#include "smdp/bpp.h"
#include "smdp/es2_callbacks.h"
#include "smdp/es9.h"

enum { M_TID, M_RESPONSE };

static const struct dp_es9_member spec[] = {
	[M_TID] = { "transactionId", DP_ES9_KIND_TID, true, 16 },
	[M_RESPONSE] = { "prepareDownloadResponse", DP_ES9_KIND_B64_TLV, true, 8192 },
};

/* The hostId of the key derivation (any 1..16 bytes, SGP.22 Annex G). */
static const uint8_t host_id[] = { 's', 'm', 'd', 'p' };

/* hashCc = SHA-256(SHA-256(CC) || transactionId); the order keeps SHA-256(CC). */
static int expected_hash_cc(const uint8_t cc_hash[32], const uint8_t *tid, size_t tid_len,
			    uint8_t out[32])
{
	uint8_t in[32 + DP_DB_TID_MAX];
	unsigned int n = 0;
	memcpy(in, cc_hash, 32);
	memcpy(in + 32, tid, tid_len);
	int ok = EVP_Digest(in, 32 + tid_len, out, &n, EVP_sha256(), NULL);
	dp_wipe(in, sizeof(in));
	return ok == 1 && n == 32 ? DP_OK : dp_err_set(DP_ERR_CRYPTO, "SHA-256");
}

/* The 32-byte big-endian scalar of a one-time private key (kept for a re-binding). */
static int export_scalar(const EVP_PKEY *key, uint8_t out[DP_DB_OTSK_LEN])
{
	BIGNUM *bn = NULL;
	int r = DP_OK;
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &bn) != 1 ||
	    BN_bn2binpad(bn, out, DP_DB_OTSK_LEN) != DP_DB_OTSK_LEN)
		r = dp_err_set(DP_ERR_CRYPTO, "otSK.DP: no 32-byte scalar");
	BN_clear_free(bn);
	return r;
}

/* True when smdpSigned2 (30 { 80, 01, [5F49] }) offered this otPK.EUICC as bppEuiccOtpk;
 * *any tells whether it offered one at all. */
static bool offered(const struct dp_buf *smdp_signed2, const struct dp_tlv *otpk, bool *any)
{
	struct dp_tlv t, pk;
	*any = dp_tlv_expect(smdp_signed2->data, smdp_signed2->len, 0x30, &t) == DP_OK &&
	       dp_tlv_find(t.value, t.len, 0x5F49, &pk) == DP_OK;
	return *any && pk.len == otpk->len && memcmp(pk.value, otpk->value, pk.len) == 0;
}

int dp_es9_get_bound_profile_package(void *ctx, const struct dp_http_request *hreq,
				     struct dp_http_response *resp)
{
	struct dp_smdp *smdp = ctx;
	struct dp_es9_reply rp;
	struct dp_es9_request req;
	struct dp_db_session s;
	struct dp_db_profile p;
	struct dp_db_order o;
	EVP_PKEY *euicc = NULL; /* PK.EUICC of the session's verified CERT.EUICC */
	EVP_PKEY *otsk = NULL;  /* otSK.DP kept from an earlier session, to reuse */
	EVP_PKEY *used = NULL;  /* otSK.DP of this binding */
	struct dp_db_binding kept;      /* secret: wiped at out */
	uint8_t scalar[DP_DB_OTSK_LEN]; /* secret: wiped at out */
	struct dp_buf msg;
	struct dp_tlv top, ok, signed2, sig2, f, otpk;
	asn1_node n = NULL;
	int r;

	dp_es9_reply_init(&rp, "getBoundProfilePackage");
	memset(&kept, 0, sizeof(kept));
	memset(scalar, 0, sizeof(scalar));
	dp_db_session_init(&s);
	dp_db_profile_init(&p);
	memset(&req, 0, sizeof(req));
	dp_buf_init(&msg, 1024);
	r = dp_es9_parse(&rp, hreq, spec, 2, &req);
	if (r)
		goto out;
	const struct dp_buf *tid = &req.v[M_TID].bytes;
	const struct dp_buf *pdr = &req.v[M_RESPONSE].bytes;
	r = dp_es9_session(smdp, &rp, tid,
			   1u << DP_DB_STAGE_AUTHENTICATED | 1u << DP_DB_STAGE_BOUND, false, &s);
	if (r)
		goto out;

	/* BF21 A0 { 30 euiccSigned2, 5F37 euiccSignature2 } or A1 downloadResponseError */
	if (dp_asn1_decode("RSPDefinitions.PrepareDownloadResponse", pdr->data, pdr->len, &n) !=
		    DP_OK ||
	    dp_tlv_expect(pdr->data, pdr->len, 0xBF21, &top) != DP_OK ||
	    dp_tlv_expect(top.value, top.len, 0, &ok) != DP_OK) {
		r = dp_es9_refuse(&rp, DP_ES9_INVALID_INPUT, "prepareDownloadResponse: %s",
				  dp_err_detail());
		goto out;
	}
	if (ok.tag == 0xA1) {
		unsigned code = dp_tlv_find(ok.value, ok.len, 0x02, &f) == DP_OK && f.len == 1
					? f.value[0]
					: 0;
		r = dp_es9_refuse(&rp, DP_ES9_EUICC_SIGNATURE,
				  "the eUICC refused PrepareDownload (downloadErrorCode %u)", code);
		/* the eUICC dropped this session: end ours; an error naming another
		 * transactionId changes nothing */
		struct dp_tlv et;
		if (dp_tlv_find(ok.value, ok.len, 0x80, &et) == DP_OK && et.len == tid->len &&
		    memcmp(et.value, tid->data, tid->len) == 0 &&
		    dp_db_session_finish(smdp->db, s.tid, s.tid_len, DP_EV_SESSION_POSTPONED,
					 DP_PROFILE_STATE_COUNT, rp.detail) != DP_OK)
			dp_log_warn(DP_LOG_ES9, "ending the session: %s", dp_err_detail());
		goto out;
	}
	struct dp_cursor c = dp_cursor_make(ok.value, ok.len);
	if (ok.tag != 0xA0 || dp_tlv_next(&c, &signed2) != DP_OK ||
	    dp_tlv_next(&c, &sig2) != DP_OK || signed2.tag != 0x30 || sig2.tag != DP_ECDSA_TAG) {
		r = dp_es9_refuse(&rp, DP_ES9_INVALID_INPUT, "prepareDownloadResponse: not ok");
		goto out;
	}
	/* euiccSignature2 over euiccSigned2 || smdpSignature2 TLV, with PK.EUICC */
	r = dp_cert_pubkey_from_der(s.euicc_cert.data, s.euicc_cert.len, &euicc);
	if (r == DP_OK)
		r = dp_buf_append(&msg, signed2.raw, signed2.raw_len);
	if (r == DP_OK)
		r = dp_buf_append(&msg, s.smdp_signature2, sizeof(s.smdp_signature2));
	if (r)
		goto out;
	if (dp_ecdsa_verify(euicc, msg.data, msg.len, sig2.value, sig2.len) !=
	    DP_OK) {
		r = dp_es9_refuse(&rp, DP_ES9_EUICC_SIGNATURE, "euiccSignature2 does not verify");
		goto out;
	}
	if (dp_tlv_find(signed2.value, signed2.len, 0x80, &f) != DP_OK || f.len != tid->len ||
	    memcmp(f.value, tid->data, tid->len) != 0) {
		r = dp_es9_refuse(&rp, DP_ES9_EUICC_SIGNATURE,
				  "euiccSigned2 carries another transactionId");
		goto out;
	}
	if (dp_tlv_find(signed2.value, signed2.len, 0x5F49, &otpk) != DP_OK ||
	    otpk.len != sizeof(s.otpk_euicc)) {
		r = dp_es9_refuse(&rp, DP_ES9_INVALID_INPUT, "euiccSigned2: no 65-byte euiccOtpk");
		goto out;
	}

	/* the confirmation code, when the order has one */
	if (s.cc_required) {
		uint8_t want[32];
		r = dp_db_order_get(smdp->db, s.order_id, &o);
		if (r)
			goto out;
		if (dp_tlv_find(signed2.value, signed2.len, 0x04, &f) != DP_OK) {
			r = dp_es9_refuse(&rp, DP_ES9_CC_MISSING, "no hashCc in euiccSigned2");
			goto out;
		}
		r = expected_hash_cc(o.cc_hash, tid->data, tid->len, want);
		if (r)
			goto out;
		if (f.len != 32 || !dp_ct_equal(f.value, want, 32)) {
			bool exhausted = false;
			/* ES2+ notification point 2, used only when the retries run out */
			struct dp_es2_report rep;
			r = dp_es2_report_es9(&rep, DP_ES2_POINT_CONFIRMATION, DP_ES9_CC_RETRIES);
			if (r)
				goto out;
			dp_es2_callbacks_expect(&rep);
			r = dp_db_session_cc_failure(smdp->db, &s, &exhausted);
			dp_es2_callbacks_expect(NULL);
			if (r)
				goto out;
			r = exhausted ? dp_es9_refuse(&rp, DP_ES9_CC_RETRIES, "%u allowed",
						      o.cc_max_attempts)
				      : dp_es9_refuse(&rp, DP_ES9_CC_REFUSED, "%u of %u tries used",
						      o.cc_failures + 1, o.cc_max_attempts);
			goto out;
		}
	}

	/* a second call: the same otPK.EUICC gets the same binding; a new one binds anew
	 * (or is refused, per rebind_new_otpk). A new session whose smdpSigned2 offered the
	 * kept bppEuiccOtpk and got it back is bound with the kept otSK.DP (SGP.22 3.1.3:
	 * the same otPK.DP; new transactionId and smdpSign). */
	bool any_offer;
	bool reuse = offered(&s.smdp_signed2, &otpk, &any_offer);
	if (s.bound && memcmp(s.otpk_euicc, otpk.value, otpk.len) == 0) {
		dp_log_info(DP_LOG_ES9, "getBoundProfilePackage tid=%s: the same otPK.EUICC again, "
					"the same binding", rp.tid_hex);
	} else {
		if ((s.bound || any_offer) && !reuse && !smdp->cfg->rebind_new_otpk) {
			r = dp_es9_refuse(&rp, DP_ES9_REBIND_REFUSED, "%s",
					  s.bound ? "a new otPK.EUICC in this session"
						  : "not the offered bppEuiccOtpk");
			goto out;
		}
		const struct dp_ci_entry *ci = dp_ci_store_find(smdp->ci, s.ci_ski, s.ci_ski_len);
		const struct dp_cert *dppb;
		EVP_PKEY *key;
		if (ci == NULL) {
			r = dp_err_set(DP_ERR_INTERNAL, "the session's CI is no longer loaded");
			goto out;
		}
		r = dp_ci_entry_signer(ci, DP_CERT_DPPB, &dppb, &key);
		if (r == DP_OK)
			r = dp_db_profile_get_by_id(smdp->db, s.profile_id, true, &p);
		if (r)
			goto out;
		if (reuse) {
			/* the binding may have been forgotten meanwhile: then bind anew */
			r = dp_db_profile_kept_binding(smdp->db, s.profile_id, s.eid, &kept);
			if (r == DP_OK &&
			    memcmp(kept.otpk_euicc, otpk.value, sizeof(kept.otpk_euicc)) == 0)
				r = dp_kdf_import_private(dp_cert_curve(dppb), kept.otsk_dp, &otsk);
			else if (r == DP_OK || r == DP_ERR_NOT_FOUND)
				r = DP_OK;
			dp_db_binding_wipe(&kept);
			if (r)
				goto out;
		}
		struct dp_bpp_input in = {
			.curve = dp_cert_curve(dppb),
			.dppb_key = key,
			.tid = tid->data,
			.tid_len = tid->len,
			.otpk_euicc = otpk.value,
			.eid = s.eid,
			.host_id = host_id,
			.host_id_len = sizeof(host_id),
			.metadata = p.metadata.data,
			.metadata_len = p.metadata.len,
			.profile = p.package.data,
			.profile_len = p.package.len,
			.ppk = p.has_ppk ? &p.ppk : NULL,
			.otsk_dp = otsk,
		};
		dp_buf_reset(&s.bpp);
		r = dp_bpp_build(&in, &s.bpp, &used);
		if (r == DP_ERR_EC_POINT) {
			r = dp_es9_refuse(&rp, DP_ES9_INVALID_INPUT, "euiccOtpk: %s", dp_err_detail());
			goto out;
		}
		if (r)
			goto out;
		memcpy(s.otpk_euicc, otpk.value, otpk.len);
		r = export_scalar(used, scalar);
		if (r)
			goto out;
		/* ES2+ notification point 3: the BPP is delivered; the binding is kept */
		dp_es2_callbacks_expect(&(struct dp_es2_report){ .point = DP_ES2_POINT_BPP_DOWNLOAD });
		r = dp_db_session_bind_kept(smdp->db, &s, scalar);
		dp_es2_callbacks_expect(NULL);
		if (r == DP_ERR_NOT_FOUND) {
			r = dp_es9_refuse(&rp, DP_ES9_TRANSACTION_ID, "%s", dp_err_detail());
			goto out;
		}
		if (r)
			goto out;
		dp_log_info(DP_LOG_ES9, "getBoundProfilePackage tid=%s: profile %s bound to EID %s "
					"(%zu bytes%s%s)",
			    rp.tid_hex, p.iccid, s.eid, s.bpp.len, p.has_ppk ? ", PPK" : "",
			    otsk != NULL ? ", the kept otSK.DP" : "");
	}
	r = dp_es9_put_tid(&rp, tid->data, tid->len);
	if (r == DP_OK)
		r = dp_es9_put_b64(&rp, "boundProfilePackage", s.bpp.data, s.bpp.len);
out:
	r = dp_es9_reply_finish(&rp, r, resp);
	dp_asn1_free(&n);
	EVP_PKEY_free(euicc);
	EVP_PKEY_free(otsk);
	EVP_PKEY_free(used);
	dp_db_binding_wipe(&kept);
	dp_wipe(scalar, sizeof(scalar));
	dp_buf_deinit(&msg);
	dp_db_profile_deinit(&p);
	dp_db_session_deinit(&s);
	dp_es9_request_deinit(&req);
	return r;
}
