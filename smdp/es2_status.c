/* The ES2+ status table (contract in es2_status.h; SGP.22 5.3, es2-lifecycle-sgp32.md 1.6). */
#include "smdp/es2_status.h"

#include "smdp/status.h"

static const struct dp_es2_code table[] = {
#define DP_X_ES2(id, s, r, m) {s, r, m},
    DP_ES2_STATUS_LIST(DP_X_ES2)
#undef DP_X_ES2
};

int dp_es2_code(enum dp_es2_status st, struct dp_es2_code *out)
{
	if ((int)st < 0 || st >= DP_ES2_STATUS_COUNT)
		return dp_err_set(DP_ERR_INVAL, "ES2+ status %d", (int)st);
	*out = table[st];
	return DP_OK;
}

int dp_es2_failed_json(enum dp_es2_status st, const char *detail, struct dp_buf *out)
{
	struct dp_es2_code c;
	int r = dp_es2_code(st, &c);
	if (r)
		return r;
	return dp_status_failed_json(c.subject, c.reason, c.message, detail, out);
}
