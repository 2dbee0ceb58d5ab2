/* ES9+ routes (SGP.22 6.5.2): the five functions of the JSON binding, one file each. */
#include "smdp/es9_routes.h"

#include "smdp/es9.h"

static const struct dp_http_route routes[] = {
	{ DP_ES9_PREFIX "initiateAuthentication", "POST", dp_es9_initiate_authentication },
	{ DP_ES9_PREFIX "authenticateClient", "POST", dp_es9_authenticate_client },
	{ DP_ES9_PREFIX "getBoundProfilePackage", "POST", dp_es9_get_bound_profile_package },
	{ DP_ES9_PREFIX "handleNotification", "POST", dp_es9_handle_notification },
	{ DP_ES9_PREFIX "cancelSession", "POST", dp_es9_cancel_session },
};

const struct dp_http_route *dp_es9_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
