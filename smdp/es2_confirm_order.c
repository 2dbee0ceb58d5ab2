/* ES2+.ConfirmOrder: the operator completes a reservation (SGP.22 5.3.2;
 * es2-lifecycle-sgp32.md 1.3, 2.2-2.6): binds an EID if given, takes its matching ID or
 * gets a generated one ("" = none: the default SM-DP+ path, which needs an EID), stores
 * the confirmation code as SHA-256 only, sets expiry and retry limits from the
 * configuration, and moves the profile to Released (releaseFlag true) or Confirmed.
 * An smdsAddress is checked, but registering an event on an SM-DS (ES12) is not
 * implemented: such an order is refused with 8.9/5.1 rather than silently unannounced. */
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "pki/base/secure.h"
#include "smdp/activation.h"
#include "smdp/es2.h"

enum { M_ICCID, M_EID, M_MATCHING_ID, M_CC, M_SMDS, M_RELEASE };

static const struct dp_es2_member spec[] = {
    [M_ICCID] = {"iccid", DP_ES2_KIND_ICCID, true, 0},
    [M_EID] = {"eid", DP_ES2_KIND_EID, false, 0},
    [M_MATCHING_ID] = {"matchingId", DP_ES2_KIND_MATCHING_ID, false, 0},
    [M_CC] = {"confirmationCode", DP_ES2_KIND_CC, false, 64},
    [M_SMDS] = {"smdsAddress", DP_ES2_KIND_ADDRESS, false, 0},
    [M_RELEASE] = {"releaseFlag", DP_ES2_KIND_BOOL, true, 0},
};

int dp_es2_confirm_order(void *ctx, const struct dp_http_request *hreq,
			 struct dp_http_response *resp)
{
	struct dp_smdp *smdp = ctx;
	const struct dp_config *cfg = smdp->cfg;
	struct dp_es2_reply rp;
	struct dp_es2_request req;
	const struct dp_operator *op;
	enum dp_db_es2_outcome o;
	char mid[DP_AC_MATCHING_ID_MAX + 1] = "", eid[DP_DB_EID_LEN + 1] = "";
	uint8_t cc_hash[32];
	unsigned int hl = 0;

	dp_es2_reply_init(&rp, "confirmOrder");
	int r = dp_es2_begin(smdp, &rp, hreq, spec, 6, &req, &op);
	if (r)
		goto out;
	if (req.v[M_SMDS].present) {
		/* the event ID on the SM-DS is the matching ID: it cannot be empty */
		if (req.v[M_MATCHING_ID].present && req.v[M_MATCHING_ID].text[0] == '\0')
			r = dp_es2_refuse(&rp, DP_ES2_MATCHING_ID_MISSING,
					  "an SM-DS event needs a matching ID");
		else
			r = dp_es2_refuse(&rp, DP_ES2_SMDS_ADDRESS,
					  "%s: this SM-DP+ does not register events on an SM-DS",
					  req.v[M_SMDS].text);
		goto out;
	}
	if (req.v[M_MATCHING_ID].present) {
		/* the reader allowed at most DP_AC_MATCHING_ID_MAX characters */
		snprintf(mid, sizeof(mid), "%.64s", req.v[M_MATCHING_ID].text);
	} else {
		r = dp_activation_matching_id_generate(mid, sizeof(mid));
		if (r)
			goto out;
	}
	/* SGP.22: hashCc = SHA-256(SHA-256(code) || transactionId); we keep the inner hash */
	if (req.v[M_CC].present && (EVP_Digest(req.v[M_CC].text, strlen(req.v[M_CC].text), cc_hash,
					       &hl, EVP_sha256(), NULL) != 1 ||
				    hl != 32)) {
		r = dp_err_set(DP_ERR_CRYPTO, "SHA-256");
		goto out;
	}
	struct dp_db_es2_confirm c = {
	    .owner = op->id,
	    .iccid = req.v[M_ICCID].text,
	    .eid = req.v[M_EID].present ? req.v[M_EID].text : NULL,
	    .matching_id = mid,
	    .cc_hash = req.v[M_CC].present ? cc_hash : NULL,
	    .release = req.v[M_RELEASE].flag,
	    .expires_at = cfg->order_ttl_s != 0 ? time(NULL) + (time_t)cfg->order_ttl_s : 0,
	    .max_attempts = cfg->order_max_attempts,
	    .cc_max_attempts = cfg->cc_max_attempts,
	    .reuse_on_delete = cfg->reuse_on_delete,
	};
	r = dp_db_es2_confirm_order(smdp->db, &c, &o, eid);
	if (r == DP_OK)
		r = dp_es2_refuse_outcome(&rp, o, c.iccid);
	if (r)
		goto out;
	/* output: eid when the order has one, matchingId, smdpAddress for the activation code */
	if (eid[0] != '\0')
		r = dp_es2_put_string(&rp, "eid", eid);
	if (r == DP_OK)
		r = dp_es2_put_string(&rp, "matchingId", mid);
	if (r == DP_OK)
		r = dp_es2_put_string(&rp, "smdpAddress", smdp->address);
out:
	r = dp_es2_reply_finish(&rp, r, resp);
	dp_wipe(cc_hash, sizeof(cc_hash));
	dp_es2_request_wipe(&req);
	return r;
}
