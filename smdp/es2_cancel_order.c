/* ES2+.CancelOrder: the operator withdraws an order (SGP.22 5.3.3; es2-lifecycle-sgp32.md
 * 1.3, 2.2): the profile goes to finalProfileStatusIndicator (Available or Unavailable),
 * unbound, with its order closed and any ES9+ session in flight ended. From Allocated,
 * Linked, Confirmed, Released and Error (the state table); an EID or matching ID given
 * must be the order's (8.1.1/3.10, 8.2.6/3.10). */
#include <string.h>

#include "smdp/es2.h"

enum { M_ICCID, M_EID, M_MATCHING_ID, M_FINAL };

static const struct dp_es2_member spec[] = {
    [M_ICCID] = {"iccid", DP_ES2_KIND_ICCID, true, 0},
    [M_EID] = {"eid", DP_ES2_KIND_EID, false, 0},
    [M_MATCHING_ID] = {"matchingId", DP_ES2_KIND_MATCHING_ID, false, 0},
    [M_FINAL] = {"finalProfileStatusIndicator", DP_ES2_KIND_FINAL_STATE, true, 0},
};

int dp_es2_cancel_order(void *ctx, const struct dp_http_request *hreq,
			struct dp_http_response *resp)
{
	struct dp_smdp *smdp = ctx;
	struct dp_es2_reply rp;
	struct dp_es2_request req;
	const struct dp_operator *op;
	enum dp_db_es2_outcome o;

	dp_es2_reply_init(&rp, "cancelOrder");
	int r = dp_es2_begin(smdp, &rp, hreq, spec, 4, &req, &op);
	if (r)
		goto out;
	/* the reader allows only the two names */
	enum dp_profile_state final = strcmp(req.v[M_FINAL].text, "Available") == 0
					  ? DP_PROFILE_AVAILABLE
					  : DP_PROFILE_UNAVAILABLE;
	r = dp_db_es2_cancel_order(
	    smdp->db, op->id, req.v[M_ICCID].text, req.v[M_EID].present ? req.v[M_EID].text : NULL,
	    req.v[M_MATCHING_ID].present ? req.v[M_MATCHING_ID].text : NULL, final, &o);
	if (r == DP_OK)
		r = dp_es2_refuse_outcome(&rp, o, req.v[M_ICCID].text);
out:
	r = dp_es2_reply_finish(&rp, r, resp);
	dp_es2_request_wipe(&req);
	return r;
}
