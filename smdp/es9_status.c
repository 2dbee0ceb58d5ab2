/* The ES9+ status table (contract in es9_status.h). */
#include "smdp/es9_status.h"

#include "smdp/status.h"

static const struct dp_es9_code table[] = {
#define DP_X_ES9(id, s, r, m) { s, r, m },
	DP_ES9_STATUS_LIST(DP_X_ES9)
#undef DP_X_ES9
};

int dp_es9_code(enum dp_es9_status st, struct dp_es9_code *out)
{
	if ((int)st < 0 || st >= DP_ES9_STATUS_COUNT)
		return dp_err_set(DP_ERR_INVAL, "ES9+ status %d", (int)st);
	*out = table[st];
	return DP_OK;
}

int dp_es9_failed_json(enum dp_es9_status st, const char *detail, struct dp_buf *out)
{
	struct dp_es9_code c;
	int r = dp_es9_code(st, &c);
	if (r)
		return r;
	return dp_status_failed_json(c.subject, c.reason, c.message, detail, out);
}
