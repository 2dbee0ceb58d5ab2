/* ES2+ routes (SGP.22 5.3.1-5.3.4): the four operator functions, one file each, and the
 * mutual-TLS listener that serves them (contract in es2_routes.h). */
#include "smdp/es2_routes.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/base/buf.h"
#include "pki/base/log.h"
#include "smdp/es2.h"

#define CA_PEM_MAX (1 << 20)

static const struct dp_http_route routes[] = {
    {DP_ES2_PREFIX "downloadOrder", "POST", dp_es2_download_order},
    {DP_ES2_PREFIX "confirmOrder", "POST", dp_es2_confirm_order},
    {DP_ES2_PREFIX "cancelOrder", "POST", dp_es2_cancel_order},
    {DP_ES2_PREFIX "releaseProfile", "POST", dp_es2_release_profile},
};

const struct dp_http_route *dp_es2_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

/* Appends each file of a comma-separated list (suffix appended to each item) to pem. */
static int append_files(const char *list, const char *suffix, struct dp_buf *pem)
{
	int r = DP_OK;
	const char *p = list;
	while (r == DP_OK && *p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		char path[PATH_MAX];
		struct dp_buf one;
		if (n > 0 && (size_t)snprintf(path, sizeof(path), "%.*s%s", (int)n, p, suffix) <
				 sizeof(path)) {
			dp_buf_init(&one, CA_PEM_MAX);
			const char *t = NULL;
			r = dp_buf_read_file(&one, path);
			if (r == DP_OK)
				r = dp_buf_cstr(&one, &t);
			if (r == DP_OK && strstr(t, "-----BEGIN CERTIFICATE") == NULL)
				r = dp_err_set(DP_ERR_CONFIG, "%s: not a PEM certificate", path);
			if (r == DP_OK)
				r = dp_buf_append_str(pem, t);
			if (r == DP_OK)
				r = dp_buf_append_byte(pem, '\n');
			if (r == DP_OK)
				dp_log_info(DP_LOG_ES2, "client certificates may chain to %s",
					    path);
			dp_buf_deinit(&one);
		}
		p += n + (comma != NULL);
	}
	return r;
}

int dp_es2_listen(struct dp_smdp *smdp, struct dp_http_listener_config *lc, char **ca_pem,
		  struct dp_http_server **out)
{
	const struct dp_config *cfg = smdp->cfg;
	struct dp_buf pem;
	const char *text;
	size_t n_routes;
	*ca_pem = NULL;
	dp_buf_init(&pem, CA_PEM_MAX);
	int r = cfg->es2_ca_certs[0] != '\0' ? append_files(cfg->es2_ca_certs, "", &pem)
					     : append_files(cfg->pki_dirs, "/ci-cert.pem", &pem);
	if (r == DP_OK && pem.len == 0)
		r = dp_err_set(DP_ERR_CONFIG, "ES2+ needs the CAs of the operators' client "
					      "certificates: es2_ca_certs or pki_dirs");
	if (r == DP_OK)
		r = dp_buf_cstr(&pem, &text);
	if (r) {
		dp_buf_deinit(&pem);
		return r;
	}
	*ca_pem = (char *)dp_buf_take(&pem, NULL);
	lc->client_ca_pem = *ca_pem;
	lc->authorize = dp_es2_authorize;
	const struct dp_http_route *table = dp_es2_routes(&n_routes);
	r = dp_http_start(lc, table, n_routes, smdp, out);
	if (r) {
		free(*ca_pem);
		*ca_pem = NULL;
		return dp_err_wrap(r, "ES2+ listener");
	}
	dp_log_info(DP_LOG_ES2, "ES2+ on %s port %u for %zu operator(s)", lc->address,
		    dp_http_port(*out), dp_operators_count(smdp->operators));
	return DP_OK;
}
