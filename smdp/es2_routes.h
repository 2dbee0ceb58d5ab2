/* The ES2+ JSON binding's paths (SGP.22 6.5.2 ES2+ functions), their handlers, and the
 * ES2+ listener: its own port with mutual TLS (es2-lifecycle-sgp32.md 1.7), so that the
 * ES9+ port never asks a device for a client certificate. */
#ifndef DP_SMDP_ES2_ROUTES_H
#define DP_SMDP_ES2_ROUTES_H

#include <stddef.h>

#include "pki/base/error.h"
#include "smdp/http.h"
#include "smdp/server.h"

/* The route table; handlers take a struct dp_smdp * as ctx. */
const struct dp_http_route *dp_es2_routes(size_t *n);

/* Starts the ES2+ listener: lc as the caller filled it (address, port, TLS certificate,
 * threads, limits) plus the client CAs of the configuration (es2_ca_certs, else the
 * ci-cert.pem of each pki_dirs folder) and the operator check. smdp->operators must be
 * loaded. *ca_pem receives the CA text, to free (free()) after dp_http_stop. */
int dp_es2_listen(struct dp_smdp *smdp, struct dp_http_listener_config *lc, char **ca_pem,
		  struct dp_http_server **out) DP_WUR;

#endif
