/* ES9+.HandleNotification: the ProfileInstallationResult of a download and the signed
 * enable/disable/delete notifications that follow it (SGP.22 5.6.4, 6.5.2.9, 2.6.4;
 * download-path.md 3.2, 5.5). Answers 204 once the notification is verified and recorded,
 * including an install error result; a notification that does not verify is refused. */
#include <string.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/base/codec.h"
#include "pki/base/log.h"
#include "pki/crypto/ecdsa.h"
#include "profilegen/profilegen.h"
#include "smdp/es2_callbacks.h"
#include "smdp/es9.h"

enum { M_NOTIFICATION };

static const struct dp_es9_member spec[] = {
	[M_NOTIFICATION] = { "pendingNotification", DP_ES9_KIND_B64_TLV, true, 32768 },
};

/* PIR errorReasons after which the same order may be tried again (es2-lifecycle-sgp32.md
 * 2.2: insufficient memory 10, interruption 11). */
static bool retry_allowed(unsigned reason)
{
	return reason == 10 || reason == 11;
}

/* NotificationMetadata BF2F { 80 seqNumber, 81 operation, 0C address, [5A iccid] }. */
struct meta {
	uint64_t seq;
	uint8_t op;   /* the byte of the one-bit NotificationEvent: 80 install .. 10 delete */
	char iccid[21];
};

static int read_meta(struct dp_es9_reply *rp, const struct dp_tlv *bf2f, struct meta *m)
{
	struct dp_tlv f;
	memset(m, 0, sizeof(*m));
	if (dp_tlv_find(bf2f->value, bf2f->len, 0x80, &f) != DP_OK || f.len == 0 || f.len > 8)
		return dp_es9_refuse(rp, DP_ES9_INVALID_INPUT, "notificationMetadata: seqNumber");
	for (size_t i = 0; i < f.len; i++)
		m->seq = m->seq << 8 | f.value[i];
	if (dp_tlv_find(bf2f->value, bf2f->len, 0x81, &f) != DP_OK || f.len != 2)
		return dp_es9_refuse(rp, DP_ES9_INVALID_INPUT,
				     "notificationMetadata: profileManagementOperation");
	m->op = f.value[1];
	if (dp_tlv_find(bf2f->value, bf2f->len, 0x5A, &f) == DP_OK) {
		if (f.len != 10 || dp_pg_iccid_from_ef(f.value, m->iccid) != DP_OK)
			return dp_es9_refuse(rp, DP_ES9_INVALID_INPUT, "notificationMetadata: iccid");
	}
	return DP_OK;
}

static const char *op_name(uint8_t op)
{
	switch (op) {
	case 0x80: return "install";
	case 0x40: return "enable";
	case 0x20: return "disable";
	case 0x10: return "delete";
	default: return "other";
	}
}

/* BF37 { BF27 { 80 tid, BF2F metadata, 06 smdpOid, A2 finalResult }, 5F37 euiccSignPIR } */
static int install_result(struct dp_smdp *smdp, struct dp_es9_reply *rp, const struct dp_buf *b)
{
	struct dp_tlv pir, data, sig, tid, bf2f, oid, result, choice, f;
	struct dp_db_session s;
	EVP_PKEY *euicc = NULL; /* PK.EUICC of the session's verified CERT.EUICC */
	struct meta m;
	asn1_node n = NULL;
	int r;

	dp_db_session_init(&s);
	if (dp_asn1_decode("RSPDefinitions.ProfileInstallationResult", b->data, b->len, &n) !=
		    DP_OK ||
	    dp_tlv_expect(b->data, b->len, 0xBF37, &pir) != DP_OK) {
		r = dp_es9_refuse(rp, DP_ES9_INVALID_INPUT, "ProfileInstallationResult: %s",
				  dp_err_detail());
		goto out;
	}
	struct dp_cursor c = dp_cursor_make(pir.value, pir.len);
	if (dp_tlv_next(&c, &data) != DP_OK || dp_tlv_next(&c, &sig) != DP_OK ||
	    data.tag != 0xBF27 || sig.tag != DP_ECDSA_TAG ||
	    dp_tlv_find(data.value, data.len, 0x80, &tid) != DP_OK ||
	    dp_tlv_find(data.value, data.len, 0xBF2F, &bf2f) != DP_OK ||
	    dp_tlv_find(data.value, data.len, 0xA2, &result) != DP_OK ||
	    dp_tlv_expect(result.value, result.len, 0, &choice) != DP_OK ||
	    tid.len == 0 || tid.len > DP_DB_TID_MAX) {
		r = dp_es9_refuse(rp, DP_ES9_INVALID_INPUT, "ProfileInstallationResult: structure");
		goto out;
	}
	dp_es9_reply_tid(rp, tid.value, tid.len);
	r = dp_db_session_get_without_bpp(smdp->db, tid.value, tid.len, &s);
	if (r == DP_ERR_NOT_FOUND) {
		/* the session is gone (cleaned up long ago, or never ours): nothing to verify it
		 * with; the LPA may drop the notification */
		dp_log_warn(DP_LOG_ES9, "handleNotification tid=%s: PIR for an unknown session, "
					"ignored", rp->tid_hex);
		rp->no_content = true;
		r = DP_OK;
		goto out;
	}
	if (r)
		goto out;
	if (s.euicc_cert.len == 0) {
		r = dp_es9_refuse(rp, DP_ES9_TRANSACTION_ID, "the session never authenticated");
		goto out;
	}
	r = dp_cert_pubkey_from_der(s.euicc_cert.data, s.euicc_cert.len, &euicc);
	if (r)
		goto out;
	if (dp_ecdsa_verify(euicc, data.raw, data.raw_len, sig.value, sig.len) !=
	    DP_OK) {
		r = dp_es9_refuse(rp, DP_ES9_EUICC_SIGNATURE, "euiccSignPIR does not verify");
		goto out;
	}
	if (dp_tlv_find(data.value, data.len, 0x06, &oid) == DP_OK) {
		char text[64];
		size_t len = 0;
		if (dp_asn1_read(n, "profileInstallationResultData.smdpOid", (uint8_t *)text,
				 sizeof(text) - 1, &len) != DP_OK ||
		    strcmp(text, smdp->oid) != 0) {
			r = dp_es9_refuse(rp, DP_ES9_SMDP_OID, "smdpOid in the PIR");
			goto out;
		}
	}
	r = read_meta(rp, &bf2f, &m);
	if (r)
		goto out;
	/* the result must be about the profile this session bound */
	if (m.iccid[0] != '\0' && s.profile_id != 0) {
		if (strcmp(s.profile_iccid, m.iccid) != 0) {
			r = dp_es9_refuse(rp, DP_ES9_INVALID_INPUT,
					  "the PIR names ICCID %s, not the session's profile", m.iccid);
			goto out;
		}
	}
	bool success = choice.tag == 0xA0;
	char what[160];
	const uint8_t *aid = NULL;
	size_t aid_len = 0;
	unsigned cmd = 0, reason = 0;
	if (success) {
		if (dp_tlv_find(choice.value, choice.len, 0x4F, &f) == DP_OK) {
			aid = f.value;
			aid_len = f.len;
		}
		/* SuccessResult.aid is SIZE(5..16), which the decoder does not check; the order
		 * book keeps at most 16 bytes */
		if (aid_len < 5 || aid_len > 16) {
			r = dp_es9_refuse(rp, DP_ES9_INVALID_INPUT,
					  "ProfileInstallationResult: ISD-P AID of %zu bytes", aid_len);
			goto out;
		}
		snprintf(what, sizeof(what), "installed");
	} else {
		if (dp_tlv_find(choice.value, choice.len, 0x80, &f) == DP_OK && f.len == 1)
			cmd = f.value[0];
		if (dp_tlv_find(choice.value, choice.len, 0x81, &f) == DP_OK && f.len == 1)
			reason = f.value[0];
		snprintf(what, sizeof(what), "install error: bppCommandId %u, errorReason %u", cmd,
			 reason);
	}
	/* the session takes one result; a repeated delivery finds it ended */
	/* ES2+ notification point 4 with the PIR as resultData */
	struct dp_es2_report rep = { .point = DP_ES2_POINT_INSTALLATION };
	if (!success) {
		r = dp_es2_report_failed(&rep, DP_ES2_POINT_INSTALLATION,
					 DP_ES2_PROGRESS_INSTALL_FAILED);
		if (r)
			goto out;
	}
	rep.result_data = b->data;
	rep.result_len = b->len;
	dp_es2_callbacks_expect(&rep);
	/* the result and the notification's record in one commit */
	r = dp_db_session_install_result_noted(
		smdp->db, tid.value, tid.len, success, aid, aid_len,
		retry_allowed(reason) ? DP_EV_INSTALL_RETRY : DP_EV_INSTALL_FAILED, what,
		&(struct dp_db_note){ .eid = s.eid, .seq = m.seq, .kind = "install",
				      .iccid = m.iccid });
	dp_es2_callbacks_expect(NULL);
	if (r == DP_ERR_NOT_FOUND || r == DP_ERR_DB_STATE) {
		dp_log_info(DP_LOG_ES9, "handleNotification tid=%s: %s (%s); not applied again",
			    rp->tid_hex, what, dp_err_detail());
		r = DP_OK;
		rp->no_content = true;
		goto out;
	}
	if (r)
		goto out;
	dp_log_info(DP_LOG_ES9, "handleNotification tid=%s: EID %s %s", rp->tid_hex, s.eid, what);
	rp->no_content = true;
out:
	dp_asn1_free(&n);
	EVP_PKEY_free(euicc);
	dp_db_session_deinit(&s);
	return r;
}

/* 30 { BF2F tbsOtherNotification, 5F37 signature, 30 CERT.EUICC, 30 CERT.EUM } */
static int other_notification(struct dp_smdp *smdp, struct dp_es9_reply *rp,
			      const struct dp_buf *b)
{
	struct dp_tlv top, bf2f, sig, cert, eum;
	struct dp_cert_chain chain = { 0 };
	struct meta m;
	asn1_node n = NULL;
	int r;
	if (dp_asn1_decode("RSPDefinitions.OtherSignedNotification", b->data, b->len, &n) !=
		    DP_OK ||
	    dp_tlv_expect(b->data, b->len, 0x30, &top) != DP_OK) {
		r = dp_es9_refuse(rp, DP_ES9_INVALID_INPUT, "OtherSignedNotification: %s",
				  dp_err_detail());
		goto out;
	}
	struct dp_cursor c = dp_cursor_make(top.value, top.len);
	if (dp_tlv_next(&c, &bf2f) != DP_OK || dp_tlv_next(&c, &sig) != DP_OK ||
	    dp_tlv_next(&c, &cert) != DP_OK || dp_tlv_next(&c, &eum) != DP_OK ||
	    bf2f.tag != 0xBF2F || sig.tag != DP_ECDSA_TAG) {
		r = dp_es9_refuse(rp, DP_ES9_INVALID_INPUT, "OtherSignedNotification: structure");
		goto out;
	}
	r = dp_ci_store_verify_euicc(smdp->ci, cert.raw, cert.raw_len, eum.raw, eum.raw_len, NULL,
				     0, time(NULL), &chain);
	if (r) {
		r = dp_es9_refuse_chain(rp, r, chain.failed);
		goto out;
	}
	if (dp_ecdsa_verify(dp_cert_pubkey(chain.euicc), bf2f.raw, bf2f.raw_len, sig.value,
			    sig.len) != DP_OK) {
		r = dp_es9_refuse(rp, DP_ES9_EUICC_SIGNATURE,
				  "euiccNotificationSignature does not verify");
		goto out;
	}
	r = read_meta(rp, &bf2f, &m);
	if (r)
		goto out;
	const char *kind = op_name(m.op);
	r = dp_db_notification_add(smdp->db, chain.eid, m.seq, kind, m.iccid, "received");
	if (r == DP_ERR_DB_EXISTS) {
		r = DP_OK;
		rp->no_content = true;
		goto out;
	}
	if (r)
		goto out;
	if (m.op == 0x10 && m.iccid[0] != '\0') {
		r = dp_db_profile_deleted(smdp->db, m.iccid, chain.eid);
		if (r == DP_ERR_NOT_FOUND || r == DP_ERR_DB_STATE) {
			dp_log_warn(DP_LOG_ES9, "handleNotification: delete of %s by %s: %s",
				    m.iccid, chain.eid, dp_err_detail());
			r = DP_OK;
		}
		if (r)
			goto out;
	}
	dp_log_info(DP_LOG_ES9, "handleNotification: %s of %s by EID %s (seq %llu)", kind,
		    m.iccid[0] ? m.iccid : "-", chain.eid, (unsigned long long)m.seq);
	rp->no_content = true;
out:
	dp_cert_chain_deinit(&chain);
	dp_asn1_free(&n);
	return r;
}

int dp_es9_handle_notification(void *ctx, const struct dp_http_request *hreq,
			       struct dp_http_response *resp)
{
	struct dp_smdp *smdp = ctx;
	struct dp_es9_reply rp;
	struct dp_es9_request req;
	dp_es9_reply_init(&rp, "handleNotification");
	memset(&req, 0, sizeof(req));
	int r = dp_es9_parse(&rp, hreq, spec, 1, &req);
	if (r == DP_OK) {
		const struct dp_buf *b = &req.v[M_NOTIFICATION].bytes;
		if (b->len >= 2 && b->data[0] == 0xBF && b->data[1] == 0x37)
			r = install_result(smdp, &rp, b);
		else if (b->data[0] == 0x30)
			r = other_notification(smdp, &rp, b);
		else
			r = dp_es9_refuse(&rp, DP_ES9_INVALID_INPUT,
					  "pendingNotification is neither BF37 nor 30");
	}
	r = dp_es9_reply_finish(&rp, r, resp);
	dp_es9_request_deinit(&req);
	return r;
}
