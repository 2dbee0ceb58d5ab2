/* ES2+.ReleaseProfile: a Confirmed profile becomes downloadable (SGP.22 5.3.4;
 * es2-lifecycle-sgp32.md 2.2): Confirmed -> Released, otherwise 8.2.1/3.5. */
#include "smdp/es2.h"

enum { M_ICCID };

static const struct dp_es2_member spec[] = {
    [M_ICCID] = {"iccid", DP_ES2_KIND_ICCID, true, 0},
};

int dp_es2_release_profile(void *ctx, const struct dp_http_request *hreq,
			   struct dp_http_response *resp)
{
	struct dp_smdp *smdp = ctx;
	struct dp_es2_reply rp;
	struct dp_es2_request req;
	const struct dp_operator *op;
	enum dp_db_es2_outcome o;

	dp_es2_reply_init(&rp, "releaseProfile");
	int r = dp_es2_begin(smdp, &rp, hreq, spec, 1, &req, &op);
	if (r == DP_OK)
		r = dp_db_es2_release_profile(smdp->db, op->id, req.v[M_ICCID].text, &o);
	if (r == DP_OK)
		r = dp_es2_refuse_outcome(&rp, o, req.v[M_ICCID].text);
	r = dp_es2_reply_finish(&rp, r, resp);
	dp_es2_request_wipe(&req);
	return r;
}
