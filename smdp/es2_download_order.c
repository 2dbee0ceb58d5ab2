/* ES2+.DownloadOrder: the operator reserves one of its profiles, by ICCID or by profile
 * type, optionally for one eUICC (SGP.22 5.3.1; es2-lifecycle-sgp32.md 1.3, 2.2):
 * Available -> Allocated (no EID) or Linked (EID). Answers the profile's ICCID. */
#include "smdp/es2.h"

enum { M_EID, M_ICCID, M_TYPE };

static const struct dp_es2_member spec[] = {
    [M_EID] = {"eid", DP_ES2_KIND_EID, false, 0},
    [M_ICCID] = {"iccid", DP_ES2_KIND_ICCID, false, 0},
    [M_TYPE] = {"profileType", DP_ES2_KIND_STRING, false, DP_DB_TEXT_MAX},
};

int dp_es2_download_order(void *ctx, const struct dp_http_request *hreq,
			  struct dp_http_response *resp)
{
	struct dp_smdp *smdp = ctx;
	struct dp_es2_reply rp;
	struct dp_es2_request req;
	const struct dp_operator *op;
	enum dp_db_es2_outcome o;
	char iccid[DP_DB_ICCID_MAX + 1] = "";

	dp_es2_reply_init(&rp, "downloadOrder");
	int r = dp_es2_begin(smdp, &rp, hreq, spec, 3, &req, &op);
	if (r)
		goto out;
	/* one of the two names the profile (SGP.22 5.3.1: iccid or profileType) */
	if (!req.v[M_ICCID].present && !req.v[M_TYPE].present) {
		r = dp_es2_refuse(&rp, DP_ES2_CONDITIONAL_MISSING,
				  "iccid or profileType is needed");
		goto out;
	}
	struct dp_db_es2_download d = {
	    .owner = op->id,
	    .iccid = req.v[M_ICCID].present ? req.v[M_ICCID].text : NULL,
	    .profile_type = req.v[M_TYPE].present ? req.v[M_TYPE].text : NULL,
	    .eid = req.v[M_EID].present ? req.v[M_EID].text : NULL,
	};
	r = dp_db_es2_download_order(smdp->db, &d, &o, iccid);
	if (r == DP_OK)
		r = dp_es2_refuse_outcome(&rp, o, d.iccid);
	if (r == DP_OK)
		r = dp_es2_put_string(&rp, "iccid", iccid);
out:
	r = dp_es2_reply_finish(&rp, r, resp);
	dp_es2_request_wipe(&req);
	return r;
}
