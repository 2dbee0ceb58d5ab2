/* The ES9+ JSON binding's paths (SGP.22 6.5) and their handlers. */
#ifndef DP_SMDP_ES9_ROUTES_H
#define DP_SMDP_ES9_ROUTES_H

#include <stddef.h>

#include "smdp/http.h"

#define DP_ES9_PREFIX "/gsma/rsp2/es9plus/"

/* The route table; handlers take a struct dp_smdp * as ctx. */
const struct dp_http_route *dp_es9_routes(size_t *n);

#endif
