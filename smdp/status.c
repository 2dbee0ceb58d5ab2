/* The failed functionExecutionStatus of the JSON binding (contract in status.h). */
#include "smdp/status.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

int dp_status_failed_json(const char *subject, const char *reason, const char *message,
			  const char *detail, struct dp_buf *out)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "%s%s%s", message, detail ? ": " : "", detail ? detail : "");
	json_t *root = json_pack("{s:{s:{s:s,s:{s:s,s:s,s:s}}}}", "header",
				 "functionExecutionStatus", "status", "Failed", "statusCodeData",
				 "subjectCode", subject, "reasonCode", reason, "message", msg);
	if (root == NULL)
		return dp_err_set(DP_ERR_NOMEM, "JSON status");
	char *text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(root);
	if (text == NULL)
		return dp_err_set(DP_ERR_NOMEM, "JSON status");
	int r = dp_buf_append_str(out, text);
	free(text);
	return r;
}
