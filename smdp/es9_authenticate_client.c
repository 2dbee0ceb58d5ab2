/* ES9+.AuthenticateClient: the eUICC's chain and signature, the order behind the matching
 * ID (or the EID, for the default SM-DP+), eligibility, and the signed smdpSigned2
 * (SGP.22 5.6.3, 6.5.2.8; download-path.md 4.3, 5.3; es2-lifecycle-sgp32.md 2.2-2.6). */
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
	[M_RESPONSE] = { "authenticateServerResponse", DP_ES9_KIND_B64_TLV, true, 32768 },
};

/* The pieces of AuthenticateServerResponse, sliced from the received bytes. */
struct auth_response {
	struct dp_tlv signed1, signature1, euicc_cert, eum_cert;
	struct dp_tlv tid, address, challenge, info2, ctx;
	asn1_node tree; /* the whole response, decoded once: eligibility reads euiccInfo2 */
	bool has_matching_id;
	char matching_id[DP_DB_MATCHING_ID_MAX + 1];
	bool euicc_error; /* the error alternative; tid is its transactionId */
};

/* BF38 A0 { 30 euiccSigned1, 5F37 euiccSignature1, 30 CERT.EUICC, 30 CERT.EUM (, v3 more) };
 * the error alternative A1 { 80 tid, 02 authenticateErrorCode } is refused (and ends the
 * session it names, in the handler). */
static int slice(struct dp_es9_reply *rp, const struct dp_buf *b, struct auth_response *a)
{
	struct dp_tlv top, ok;
	if (dp_asn1_decode("RSPDefinitions.AuthenticateServerResponse", b->data, b->len,
			   &a->tree) != DP_OK)
		return dp_es9_refuse(rp, DP_ES9_INVALID_INPUT, "authenticateServerResponse: %s",
				     dp_err_detail());
	if (dp_tlv_expect(b->data, b->len, 0xBF38, &top) != DP_OK ||
	    dp_tlv_expect(top.value, top.len, 0, &ok) != DP_OK)
		return dp_es9_refuse(rp, DP_ES9_INVALID_INPUT, "authenticateServerResponse: %s",
				     dp_err_detail());
	if (ok.tag == 0xA1) {
		struct dp_tlv code;
		unsigned v = dp_tlv_find(ok.value, ok.len, 0x02, &code) == DP_OK && code.len == 1
				     ? code.value[0]
				     : 0;
		a->euicc_error = dp_tlv_find(ok.value, ok.len, 0x80, &a->tid) == DP_OK;
		return dp_es9_refuse(rp, DP_ES9_EUICC_SIGNATURE,
				     "the eUICC refused AuthenticateServer (authenticateErrorCode %u)",
				     v);
	}
	struct dp_cursor c = dp_cursor_make(ok.value, ok.len);
	if (ok.tag != 0xA0 || dp_tlv_next(&c, &a->signed1) != DP_OK ||
	    dp_tlv_next(&c, &a->signature1) != DP_OK || dp_tlv_next(&c, &a->euicc_cert) != DP_OK ||
	    dp_tlv_next(&c, &a->eum_cert) != DP_OK || a->signed1.tag != 0x30 ||
	    a->signature1.tag != DP_ECDSA_TAG || a->euicc_cert.tag != 0x30 ||
	    a->eum_cert.tag != 0x30)
		return dp_es9_refuse(rp, DP_ES9_INVALID_INPUT,
				     "authenticateServerResponse: not authenticateResponseOk");
	/* euiccSigned1 = 30 { 80 tid, 83 serverAddress, 84 serverChallenge, BF22 euiccInfo2,
	 * A0 ctxParams1 } */
	const uint8_t *v = a->signed1.value;
	size_t n_v = a->signed1.len;
	if (dp_tlv_find(v, n_v, 0x80, &a->tid) != DP_OK ||
	    dp_tlv_find(v, n_v, 0x83, &a->address) != DP_OK ||
	    dp_tlv_find(v, n_v, 0x84, &a->challenge) != DP_OK ||
	    dp_tlv_find(v, n_v, 0xBF22, &a->info2) != DP_OK ||
	    dp_tlv_find(v, n_v, 0xA0, &a->ctx) != DP_OK)
		return dp_es9_refuse(rp, DP_ES9_INVALID_INPUT, "euiccSigned1: a member is missing");
	/* ctxParams1 must be ctxParamsForCommonAuthentication (A0 { [80 matchingId], A1 ... }) */
	struct dp_tlv mid;
	if (dp_tlv_find(a->ctx.value, a->ctx.len, 0x80, &mid) == DP_OK) {
		if (mid.len > DP_DB_MATCHING_ID_MAX || memchr(mid.value, 0, mid.len) != NULL)
			return dp_es9_refuse(rp, DP_ES9_MATCHING_ID_REFUSED,
					     "matchingId longer than %d", DP_DB_MATCHING_ID_MAX);
		a->has_matching_id = mid.len > 0;
		memcpy(a->matching_id, mid.value, mid.len);
		a->matching_id[mid.len] = '\0';
	}
	return DP_OK;
}

/* euiccInfo2's members in the decoded AuthenticateServerResponse */
#define INFO2 "authenticateResponseOk.euiccSigned1.euiccInfo2."

/* Eligibility of a profile for this eUICC (SGP.22 3.1.3 step "eligibility check"): a test
 * profile needs testProfileSupport, the profile's PPRs must not be forbidden, and the
 * package must fit the free memory the eUICC reports. `n` is the response slice() decoded
 * (and so checked against the schema, euiccInfo2 included). */
static int eligible(struct dp_es9_reply *rp, asn1_node_const n, const struct dp_db_profile *p)
{
	uint8_t bits[8] = { 0 };
	size_t nbits = 0;
	if (p->profile_class == 0 &&
	    (dp_asn1_read_bits(n, INFO2 "rspCapability", bits, sizeof(bits), &nbits) != DP_OK ||
	     nbits <= 3 || (bits[0] & 0x10) == 0)) {
		return dp_es9_refuse(rp, DP_ES9_NO_ELIGIBLE_PROFILE,
				     "a test profile for an eUICC without testProfileSupport");
	}
	memset(bits, 0, sizeof(bits));
	if (p->ppr != 0 &&
	    dp_asn1_read_bits(n, INFO2 "forbiddenProfilePolicyRules", bits, sizeof(bits), &nbits) ==
		    DP_OK) {
		uint32_t forbidden = 0;
		for (size_t i = 0; i < nbits && i < 32; i++)
			if (bits[i / 8] & (0x80 >> (i % 8)))
				forbidden |= 1u << i;
		if (forbidden & p->ppr) {
			return dp_es9_refuse(rp, DP_ES9_NO_ELIGIBLE_PROFILE,
					     "the profile's policy rules are forbidden on this eUICC");
		}
	}
	/* extCardResource (ETSI TS 102 226): 82 free non-volatile memory */
	uint8_t ext[64];
	size_t ext_len = 0;
	struct dp_tlv mem;
	if (dp_asn1_read(n, INFO2 "extCardResource", ext, sizeof(ext), &ext_len) == DP_OK &&
	    dp_tlv_find(ext, ext_len, 0x82, &mem) == DP_OK && mem.len >= 1 && mem.len <= 8) {
		uint64_t free_bytes = 0;
		for (size_t i = 0; i < mem.len; i++)
			free_bytes = free_bytes << 8 | mem.value[i];
		if (free_bytes < p->package_len) {
			return dp_es9_refuse(rp, DP_ES9_INSUFFICIENT_MEMORY,
					     "the profile needs %zu bytes, the eUICC has %llu free",
					     p->package_len, (unsigned long long)free_bytes);
		}
	}
	return DP_OK;
}

/* Ends an order (expiry, attempts) and reports ES2+ notification point 1 with the
 * refusal's codes (issue 7 item 4). */
static int fail_order(struct dp_smdp *smdp, const struct dp_db_order *o, enum dp_profile_event ev,
		      enum dp_es9_status st, const char *why)
{
	struct dp_es2_report rep;
	int r = dp_es2_report_es9(&rep, DP_ES2_POINT_ELIGIBILITY, st);
	if (r)
		return r;
	dp_es2_callbacks_expect(&rep);
	r = dp_db_order_fail(smdp->db, o->id, ev, why);
	dp_es2_callbacks_expect(NULL);
	return r;
}

/* The order checks that need no write (SGP.22 5.6.3 / es2-lifecycle-sgp32.md 2.2):
 * expiry and attempts end the order; EID and state refuse. */
static int check_order(struct dp_smdp *smdp, struct dp_es9_reply *rp,
		       const struct dp_db_order *o, const char *eid)
{
	time_t now = time(NULL);
	int r;
	if (o->eid[0] != '\0' && strcmp(o->eid, eid) != 0)
		return dp_es9_refuse(rp, DP_ES9_EID_REFUSED, "the order is for another eUICC");
	if (o->expires_at != 0 && now > o->expires_at) {
		r = fail_order(smdp, o, DP_EV_ORDER_EXPIRED, DP_ES9_ORDER_EXPIRED, "order expired");
		if (r && r != DP_ERR_DB_STATE)
			return r;
		return dp_es9_refuse(rp, DP_ES9_ORDER_EXPIRED, "at %lld", (long long)o->expires_at);
	}
	if (o->pool)
		return DP_OK;
	if (o->profile_eid[0] != '\0' && strcmp(o->profile_eid, eid) != 0)
		return dp_es9_refuse(rp, DP_ES9_EID_OTHER_BOUND, "profile %s", o->iccid);
	if (o->attempts >= o->max_attempts) {
		r = fail_order(smdp, o, DP_EV_RETRIES_EXHAUSTED, DP_ES9_ORDER_RETRIES,
			       "attempts used up");
		if (r && r != DP_ERR_DB_STATE)
			return r;
		return dp_es9_refuse(rp, DP_ES9_ORDER_RETRIES, "%u of %u", o->attempts,
				     o->max_attempts);
	}
	switch (o->profile_state) {
	case DP_PROFILE_RELEASED:
	case DP_PROFILE_DOWNLOADED:
		return DP_OK;
	case DP_PROFILE_ALLOCATED:
	case DP_PROFILE_LINKED:
	case DP_PROFILE_CONFIRMED:
		return dp_es9_refuse(rp, DP_ES9_NOT_RELEASED, "profile %s is %s", o->iccid,
				     dp_profile_state_name(o->profile_state));
	default:
		return dp_es9_refuse(rp, DP_ES9_MATCHING_ID_REFUSED, "profile %s is %s", o->iccid,
				     dp_profile_state_name(o->profile_state));
	}
}

int dp_es9_authenticate_client(void *ctx, const struct dp_http_request *hreq,
			       struct dp_http_response *resp)
{
	struct dp_smdp *smdp = ctx;
	struct dp_es9_reply rp;
	struct dp_es9_request req;
	struct dp_db_session s;
	struct dp_db_profile p;
	struct dp_db_order o;
	struct dp_cert_chain chain = { 0 };
	struct auth_response a;
	struct dp_buf msg, sig;
	struct dp_db_binding kept; /* secret: wiped at out */
	int r;

	dp_es9_reply_init(&rp, "authenticateClient");
	memset(&kept, 0, sizeof(kept));
	dp_db_session_init(&s);
	dp_db_profile_init(&p);
	memset(&req, 0, sizeof(req));
	memset(&a, 0, sizeof(a));
	dp_buf_init(&msg, 1024);
	dp_buf_init(&sig, 128);
	r = dp_es9_parse(&rp, hreq, spec, 2, &req);
	if (r)
		goto out;
	const struct dp_buf *tid = &req.v[M_TID].bytes;
	r = dp_es9_session(smdp, &rp, tid, 1u << DP_DB_STAGE_INITIATED, false, &s);
	if (r)
		goto out;
	r = slice(&rp, &req.v[M_RESPONSE].bytes, &a);
	if (r == DP_ES9_REFUSED && a.euicc_error && a.tid.len == tid->len &&
	    memcmp(a.tid.value, tid->data, tid->len) == 0) {
		/* the eUICC dropped this session: end ours too (download-path.md 5.3 step 1);
		 * no profile was chosen yet, the order is untouched */
		if (dp_db_session_finish(smdp->db, s.tid, s.tid_len, DP_PROFILE_EVENT_COUNT,
					 DP_PROFILE_STATE_COUNT, rp.detail) != DP_OK)
			dp_log_warn(DP_LOG_ES9, "ending the session: %s", dp_err_detail());
	}
	if (r)
		goto out;

	/* the chain CERT.EUICC -> CERT.EUM -> the CI chosen in initiateAuthentication */
	r = dp_ci_store_verify_euicc(smdp->ci, a.euicc_cert.raw, a.euicc_cert.raw_len,
				     a.eum_cert.raw, a.eum_cert.raw_len, s.ci_ski, s.ci_ski_len,
				     time(NULL), &chain);
	if (r) {
		r = dp_es9_refuse_chain(&rp, r, chain.failed);
		goto out;
	}
	if (dp_ecdsa_verify(dp_cert_pubkey(chain.euicc), a.signed1.raw, a.signed1.raw_len,
			    a.signature1.value, a.signature1.len) != DP_OK) {
		r = dp_es9_refuse(&rp, DP_ES9_EUICC_SIGNATURE, "euiccSignature1 does not verify");
		goto out;
	}
	if (a.tid.len != tid->len || memcmp(a.tid.value, tid->data, tid->len) != 0) {
		r = dp_es9_refuse(&rp, DP_ES9_EUICC_SIGNATURE,
				  "euiccSigned1 carries another transactionId");
		goto out;
	}
	if (a.challenge.len != 16 || memcmp(a.challenge.value, s.server_challenge, 16) != 0) {
		r = dp_es9_refuse(&rp, DP_ES9_EUICC_SIGNATURE,
				  "euiccSigned1 does not echo the serverChallenge");
		goto out;
	}
	if (a.address.len != strlen(s.smdp_address) ||
	    memcmp(a.address.value, s.smdp_address, a.address.len) != 0) {
		r = dp_es9_refuse(&rp, DP_ES9_EUICC_SIGNATURE,
				  "euiccSigned1 does not echo the serverAddress");
		goto out;
	}

	/* the order: by matching ID, or (none or empty) the EID's default-SM-DP+ order */
	r = a.has_matching_id ? dp_db_order_find(smdp->db, a.matching_id, &o)
			      : dp_db_order_find_for_eid(smdp->db, chain.eid, &o);
	if (r == DP_ERR_NOT_FOUND) {
		r = a.has_matching_id
			    ? dp_es9_refuse(&rp, DP_ES9_MATCHING_ID_REFUSED, "'%s'", a.matching_id)
			    : dp_es9_refuse(&rp, DP_ES9_MATCHING_ID_REFUSED,
					    "no matching ID and no pending order for EID %s",
					    chain.eid);
		goto out;
	}
	if (r)
		goto out;
	r = check_order(smdp, &rp, &o, chain.eid);
	if (r)
		goto out;

	/* a binding kept from an earlier session for this EID is offered again (SGP.22
	 * 3.1.3, 5.6.3: bppEuiccOtpk); a pool claim is always a fresh profile */
	bool offer = false;
	if (!o.pool && o.profile_id != 0) {
		r = dp_db_profile_kept_binding(smdp->db, o.profile_id, chain.eid, &kept);
		if (r != DP_OK && r != DP_ERR_NOT_FOUND)
			goto out;
		offer = r == DP_OK;
		r = DP_OK;
	}

	/* smdpSigned2 = 30 { 80 tid, 01 ccRequiredFlag, [5F49 bppEuiccOtpk] }; smdpSignature2
	 * over it and the euiccSignature1 TLV as received */
	const struct dp_ci_entry *ci = dp_ci_store_find(smdp->ci, s.ci_ski, s.ci_ski_len);
	const struct dp_cert *dppb;
	EVP_PKEY *key;
	if (ci == NULL) {
		r = dp_err_set(DP_ERR_INTERNAL, "the session's CI is no longer loaded");
		goto out;
	}
	r = dp_ci_entry_signer(ci, DP_CERT_DPPB, &dppb, &key);
	if (r)
		goto out;
	struct dp_buf body;
	dp_buf_init(&body, 128); /* 80 tid, 01, 5F49 otPK: at most 92 bytes */
	r = dp_tlv_append(&body, 0x80, tid->data, tid->len);
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x01, o.has_cc ? "\xFF" : "\x00", 1);
	if (r == DP_OK && offer)
		r = dp_tlv_append(&body, 0x5F49, kept.otpk_euicc, sizeof(kept.otpk_euicc));
	if (r == DP_OK)
		r = dp_tlv_append(&s.smdp_signed2, 0x30, body.data, body.len);
	dp_buf_deinit(&body);
	if (r == DP_OK)
		r = dp_buf_append(&msg, s.smdp_signed2.data, s.smdp_signed2.len);
	if (r == DP_OK)
		r = dp_buf_append(&msg, a.signature1.raw, a.signature1.raw_len);
	if (r == DP_OK)
		r = dp_ecdsa_sign_tlv(key, msg.data, msg.len, &sig);
	if (r)
		goto out;
	if (sig.len != sizeof(s.smdp_signature2)) {
		r = dp_err_set(DP_ERR_INTERNAL, "smdpSignature2 length %zu", sig.len);
		goto out;
	}
	memcpy(s.smdp_signature2, sig.data, sig.len);
	memcpy(s.eid, chain.eid, sizeof(s.eid));
	s.order_id = o.id;
	s.cc_required = o.has_cc;
	r = dp_buf_append(&s.euicc_cert, a.euicc_cert.raw, a.euicc_cert.raw_len);
	if (r == DP_OK)
		r = dp_buf_append(&s.eum_cert, a.eum_cert.raw, a.eum_cert.raw_len);
	if (r)
		goto out;

	/* bind (one transaction: attempts, pool claim, profile bound to this EID) */
	r = dp_db_session_authenticate(smdp->db, &s, time(NULL), &p);
	if (r == DP_ERR_NOT_FOUND && o.pool) {
		r = dp_es9_refuse(&rp, DP_ES9_NO_ELIGIBLE_PROFILE, "%s", dp_err_detail());
		goto out;
	}
	if (r == DP_ERR_NOT_FOUND) {
		r = dp_es9_refuse(&rp, DP_ES9_TRANSACTION_ID, "%s", dp_err_detail());
		goto out;
	}
	if (r == DP_ERR_DB_STATE) {
		r = dp_es9_refuse(&rp, DP_ES9_ORDER_RETRIES, "%s", dp_err_detail());
		goto out;
	}
	if (r == DP_ERR_DB_CONFLICT) {
		r = dp_es9_refuse(&rp, DP_ES9_EID_OTHER_BOUND, "%s", dp_err_detail());
		goto out;
	}
	if (r)
		goto out;
	r = eligible(&rp, a.tree, &p);
	if (r == DP_ES9_REFUSED) {
		/* ES2+ notification point 1 when the order ends (a pool claim goes back) */
		struct dp_es2_report rep;
		if (!o.pool && dp_es2_report_es9(&rep, DP_ES2_POINT_ELIGIBILITY, rp.status) == DP_OK)
			dp_es2_callbacks_expect(&rep);
		int r2 = dp_db_session_finish(
			smdp->db, s.tid, s.tid_len,
			o.pool ? DP_EV_SESSION_POSTPONED : DP_EV_ELIGIBILITY_FAILED,
			DP_PROFILE_STATE_COUNT, rp.detail);
		dp_es2_callbacks_expect(NULL);
		if (r2)
			dp_log_warn(DP_LOG_ES9, "ending the session: %s", dp_err_detail());
		goto out;
	}
	if (r)
		goto out;
	dp_log_info(DP_LOG_ES9, "authenticateClient tid=%s: EID %s, order %lld, profile %s%s%s",
		    rp.tid_hex, chain.eid, (long long)o.id, p.iccid,
		    o.has_cc ? ", confirmation code required" : "",
		    offer ? ", the kept binding offered" : "");

	size_t cert_len;
	const uint8_t *cert = dp_cert_der(dppb, &cert_len);
	r = dp_es9_put_tid(&rp, tid->data, tid->len);
	if (r == DP_OK)
		r = dp_es9_put_b64(&rp, "profileMetadata", p.metadata.data, p.metadata.len);
	if (r == DP_OK)
		r = dp_es9_put_b64(&rp, "smdpSigned2", s.smdp_signed2.data, s.smdp_signed2.len);
	if (r == DP_OK)
		r = dp_es9_put_b64(&rp, "smdpSignature2", s.smdp_signature2,
				   sizeof(s.smdp_signature2));
	if (r == DP_OK)
		r = dp_es9_put_b64(&rp, "smdpCertificate", cert, cert_len);
out:
	r = dp_es9_reply_finish(&rp, r, resp);
	dp_asn1_free(&a.tree);
	dp_db_binding_wipe(&kept);
	dp_cert_chain_deinit(&chain);
	dp_buf_deinit(&msg);
	dp_buf_deinit(&sig);
	dp_db_profile_deinit(&p);
	dp_db_session_deinit(&s);
	dp_es9_request_deinit(&req);
	return r;
}
