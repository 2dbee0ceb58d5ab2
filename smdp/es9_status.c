/* The ES9+ status table (contract in es9_status.h). */
#include "smdp/es9_status.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

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
	char msg[512];
	snprintf(msg, sizeof(msg), "%s%s%s", c.message, detail ? ": " : "", detail ? detail : "");
	json_t *root = json_pack("{s:{s:{s:s,s:{s:s,s:s,s:s}}}}", "header",
				 "functionExecutionStatus", "status", "Failed", "statusCodeData",
				 "subjectCode", c.subject, "reasonCode", c.reason, "message", msg);
	if (root == NULL)
		return dp_err_set(DP_ERR_NOMEM, "JSON status");
	char *text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(root);
	if (text == NULL)
		return dp_err_set(DP_ERR_NOMEM, "JSON status");
	r = dp_buf_append_str(out, text);
	free(text);
	return r;
}
