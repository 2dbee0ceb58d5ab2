/* ES9+.CancelSession: the eUICC's signed cancellation, and what its reason does to the
 * order (SGP.22 5.6.5, 6.5.2.10; download-path.md 3.2, 5.6).
 * Reasons that end the order (the profile goes to Error): endUserRejection(0),
 * pprNotAllowed(3), metadataMismatch(4) and the v3 enterprise/LPR refusals (17-25); every
 * other reason (postponed, timeout, loadBppExecutionError, undefined, ...) lets the device
 * try again with a new session. The SGP.22 mapping is UNVERIFIED (download-path.md 5.6). */
#include <string.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/base/log.h"
#include "pki/crypto/ecdsa.h"
#include "smdp/es2_callbacks.h"
#include "smdp/es9.h"

enum { M_TID, M_RESPONSE };

static const struct dp_es9_member spec[] = {
	[M_TID] = { "transactionId", DP_ES9_KIND_TID, true, 16 },
	[M_RESPONSE] = { "cancelSessionResponse", DP_ES9_KIND_B64_TLV, true, 4096 },
};

static bool reason_is_final(uint64_t reason)
{
	return reason == 0 || reason == 3 || reason == 4 || (reason >= 17 && reason <= 25);
}

int dp_es9_cancel_session(void *ctx, const struct dp_http_request *hreq,
			  struct dp_http_response *resp)
{
	struct dp_smdp *smdp = ctx;
	struct dp_es9_reply rp;
	struct dp_es9_request req;
	struct dp_db_session s;
	struct dp_cert *euicc = NULL;
	struct dp_tlv top, ok, signed_, sig, f;
	asn1_node n = NULL;
	char why[96];
	int r;

	dp_es9_reply_init(&rp, "cancelSession");
	dp_db_session_init(&s);
	memset(&req, 0, sizeof(req));
	r = dp_es9_parse(&rp, hreq, spec, 2, &req);
	if (r)
		goto out;
	const struct dp_buf *tid = &req.v[M_TID].bytes;
	const struct dp_buf *b = &req.v[M_RESPONSE].bytes;
	r = dp_es9_session(smdp, &rp, tid,
			   1u << DP_DB_STAGE_INITIATED | 1u << DP_DB_STAGE_AUTHENTICATED |
				   1u << DP_DB_STAGE_BOUND,
			   true, &s);
	if (r)
		goto out;
	if (dp_asn1_decode("RSPDefinitions.CancelSessionResponse", b->data, b->len, &n) != DP_OK ||
	    dp_tlv_expect(b->data, b->len, 0xBF41, &top) != DP_OK ||
	    dp_tlv_expect(top.value, top.len, 0, &ok) != DP_OK) {
		r = dp_es9_refuse(&rp, DP_ES9_INVALID_INPUT, "cancelSessionResponse: %s",
				  dp_err_detail());
		goto out;
	}
	enum dp_profile_event ev = DP_EV_SESSION_POSTPONED;
	struct dp_es2_report rep;
	bool report = false;
	if (ok.tag == 0x81) {
		/* the eUICC has no session any more (e.g. after a failed load): end ours */
		snprintf(why, sizeof(why), "cancelSession: the eUICC answered error %u",
			 ok.len == 1 ? ok.value[0] : 0);
	} else {
		struct dp_cursor c = dp_cursor_make(ok.value, ok.len);
		uint64_t reason = 0;
		char oid[64];
		size_t oid_len = 0;
		if (ok.tag != 0xA0 || dp_tlv_next(&c, &signed_) != DP_OK ||
		    dp_tlv_next(&c, &sig) != DP_OK || signed_.tag != 0x30 ||
		    sig.tag != DP_ECDSA_TAG ||
		    dp_asn1_read_uint(n, "cancelSessionResponseOk.euiccCancelSessionSigned.reason",
				      &reason) != DP_OK ||
		    dp_asn1_read(n, "cancelSessionResponseOk.euiccCancelSessionSigned.smdpOid",
				 (uint8_t *)oid, sizeof(oid) - 1, &oid_len) != DP_OK) {
			r = dp_es9_refuse(&rp, DP_ES9_INVALID_INPUT,
					  "cancelSessionResponse: not a signed cancellation");
			goto out;
		}
		oid[oid_len] = '\0';
		if (s.euicc_cert.len != 0) {
			/* after authenticateClient we know PK.EUICC: the signature must verify */
			r = dp_cert_from_der(s.euicc_cert.data, s.euicc_cert.len, &euicc);
			if (r)
				goto out;
			if (dp_ecdsa_verify(dp_cert_pubkey(euicc), signed_.raw, signed_.raw_len,
					    sig.value, sig.len) != DP_OK) {
				r = dp_es9_refuse(&rp, DP_ES9_EUICC_SIGNATURE,
						  "euiccCancelSessionSignature does not verify");
				goto out;
			}
		}
		if (dp_tlv_find(signed_.value, signed_.len, 0x80, &f) != DP_OK ||
		    f.len != tid->len || memcmp(f.value, tid->data, tid->len) != 0) {
			r = dp_es9_refuse(&rp, DP_ES9_TRANSACTION_ID,
					  "euiccCancelSessionSigned carries another transactionId");
			goto out;
		}
		if (strcmp(oid, smdp->oid) != 0) {
			r = dp_es9_refuse(&rp, DP_ES9_SMDP_OID, "'%s' (ours is %s)", oid, smdp->oid);
			goto out;
		}
		if (reason_is_final(reason)) {
			ev = DP_EV_SESSION_CANCELLED;
			/* ES2+: the order ends; reported at point 1 before the BPP went out, at
			 * point 4 after (our choice: the reference names no point) */
			r = dp_es2_report_failed(&rep,
						 s.stage == DP_DB_STAGE_BOUND ? DP_ES2_POINT_INSTALLATION
									      : DP_ES2_POINT_ELIGIBILITY,
						 dp_es2_progress_for_cancel(reason));
			if (r)
				goto out;
			report = true;
		}
		snprintf(why, sizeof(why), "cancelSession reason %llu", (unsigned long long)reason);
	}
	/* a session before authenticateClient has no profile yet */
	dp_es2_callbacks_expect(report ? &rep : NULL);
	r = dp_db_session_finish(smdp->db, s.tid, s.tid_len,
				 s.profile_id != 0 ? ev : DP_PROFILE_EVENT_COUNT,
				 DP_PROFILE_STATE_COUNT, why);
	dp_es2_callbacks_expect(NULL);
	if (r == DP_ERR_NOT_FOUND) {
		r = dp_es9_refuse(&rp, DP_ES9_TRANSACTION_ID, "%s", dp_err_detail());
		goto out;
	}
	if (r == DP_ERR_DB_STATE) {
		/* e.g. a cancel after the install result: end the session, leave the profile */
		dp_log_warn(DP_LOG_ES9, "cancelSession tid=%s: %s", rp.tid_hex, dp_err_detail());
		r = dp_db_session_finish(smdp->db, s.tid, s.tid_len, DP_PROFILE_EVENT_COUNT,
					 DP_PROFILE_STATE_COUNT, why);
	}
	if (r)
		goto out;
	dp_log_info(DP_LOG_ES9, "cancelSession tid=%s: %s", rp.tid_hex, why);
	r = dp_es9_put_tid(&rp, tid->data, tid->len);
out:
	r = dp_es9_reply_finish(&rp, r, resp);
	dp_asn1_free(&n);
	dp_cert_free(euicc);
	dp_db_session_deinit(&s);
	dp_es9_request_deinit(&req);
	return r;
}
