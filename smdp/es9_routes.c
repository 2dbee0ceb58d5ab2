/* ES9+ routes (SGP.22 6.5.2). Until the ES9+ functions land (issue 6) every function
 * answers 501 with a JSON body saying so, in the binding's header format. */
#include "smdp/es9_routes.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "pki/base/log.h"

static int not_yet(void *ctx, const struct dp_http_request *req, struct dp_http_response *resp)
{
	const char *fn = req->path + strlen(DP_ES9_PREFIX);
	char msg[200];
	snprintf(msg, sizeof(msg), "ES9+ %s is not implemented in this build yet", fn);
	json_t *root = json_pack("{s:{s:{s:s,s:{s:s,s:s,s:s}}}}", "header", "functionExecutionStatus",
				 "status", "Failed", "statusCodeData", "subjectCode", "1.2",
				 "reasonCode", "4.2", "message", msg);
	if (root == NULL)
		return dp_err_set(DP_ERR_NOMEM, "JSON response");
	char *text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (text == NULL)
		return dp_err_set(DP_ERR_NOMEM, "JSON response");
	int r = dp_buf_append_str(&resp->body, text);
	free(text);
	resp->status = 501;
	resp->content_type = "application/json;charset=UTF-8";
	resp->admin_protocol = "gsma/rsp/v2.5.0";
	dp_log_warn(DP_LOG_ES9, "%s called: not implemented yet", fn);
	return r;
}

static const struct dp_http_route routes[] = {
	{ DP_ES9_PREFIX "initiateAuthentication", "POST", not_yet },
	{ DP_ES9_PREFIX "authenticateClient", "POST", not_yet },
	{ DP_ES9_PREFIX "getBoundProfilePackage", "POST", not_yet },
	{ DP_ES9_PREFIX "handleNotification", "POST", not_yet },
	{ DP_ES9_PREFIX "cancelSession", "POST", not_yet },
};

const struct dp_http_route *dp_es9_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
