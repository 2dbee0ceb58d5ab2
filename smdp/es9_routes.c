/* ES9+ routes (SGP.22 6.5.2). Until the ES9+ functions land (issue 6) every function
 * answers 501 with a JSON body saying so, in the binding's header format. */
#include "smdp/es9_routes.h"

#include <stdio.h>
#include <string.h>

#include "pki/base/log.h"
#include "smdp/es9_status.h"

static int not_yet(void *ctx, const struct dp_http_request *req, struct dp_http_response *resp)
{
	const char *fn = req->path + strlen(DP_ES9_PREFIX);
	char msg[200];
	snprintf(msg, sizeof(msg), "ES9+ %s is not implemented in this build yet", fn);
	resp->status = 501;
	resp->content_type = "application/json;charset=UTF-8";
	resp->admin_protocol = "gsma/rsp/v2.5.0";
	dp_log_warn(DP_LOG_ES9, "%s called: not implemented yet", fn);
	return dp_es9_failed_json(DP_ES9_EXECUTION_ERROR, msg, &resp->body);
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
