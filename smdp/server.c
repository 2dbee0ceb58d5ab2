/* Start-up of the SM-DP+ runtime (contract in server.h): the PKI named by the
 * configuration, the SVN range, our address. */
#include "smdp/server.h"

#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pki/base/log.h"

#define PATH_MAX_LEN 4096

/* Calls fn(ctx, item) for each comma-separated, space-trimmed item of list. */
static int each_item(const char *list, int (*fn)(void *, const char *), void *ctx)
{
	const char *p = list;
	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char item[PATH_MAX_LEN];
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n >= sizeof(item))
			return dp_err_set(DP_ERR_CONFIG, "list item too long");
		memcpy(item, p, n);
		item[n] = '\0';
		if (n > 0) {
			int r = fn(ctx, item);
			if (r)
				return r;
		}
		p = comma ? comma + 1 : NULL;
	}
	return DP_OK;
}

struct load {
	struct dp_ci_store *store;
	size_t signers;
	char oid[64]; /* the SM-DP+ OID of the first CERT.DPauth */
};

static int add_ci(void *ctx, const char *path)
{
	struct load *l = ctx;
	int r = dp_ci_store_load_ci(l->store, path);
	if (r)
		return dp_err_wrap(DP_ERR_CONFIG, "CI %s: %s", path, dp_strerror(r));
	dp_log_info(DP_LOG_PKI, "CI %s", path);
	return DP_OK;
}

static int add_signer(struct load *l, const char *cert, const char *key)
{
	int r = dp_ci_store_load_signer(l->store, cert, key);
	if (r)
		return dp_err_wrap(DP_ERR_CONFIG, "%s with %s: %s", cert, key, dp_strerror(r));
	l->signers++;
	dp_log_info(DP_LOG_PKI, "signer %s", cert);
	struct dp_cert *c = NULL;
	char oid[64];
	if (dp_cert_load_file(cert, &c) == DP_OK && dp_cert_check_role(c, DP_CERT_DPAUTH) == DP_OK &&
	    dp_cert_san_oid(c, oid, sizeof(oid)) == DP_OK) {
		if (l->oid[0] == '\0')
			snprintf(l->oid, sizeof(l->oid), "%s", oid);
		else if (strcmp(l->oid, oid) != 0)
			dp_log_warn(DP_LOG_PKI, "%s has SM-DP+ OID %s, not %s as the first CERT.DPauth",
				    cert, oid, l->oid);
	}
	dp_cert_free(c);
	dp_err_clear();
	return DP_OK;
}

static int add_pair(void *ctx, const char *item)
{
	const char *colon = strchr(item, ':');
	if (colon == NULL)
		return dp_err_set(DP_ERR_CONFIG, "signers: '%s' is not CERT:KEY", item);
	char cert[PATH_MAX_LEN];
	snprintf(cert, sizeof(cert), "%.*s", (int)(colon - item), item);
	return add_signer(ctx, cert, colon + 1);
}

static int add_dir(void *ctx, const char *dir)
{
	char a[PATH_MAX_LEN], b[PATH_MAX_LEN];
	snprintf(a, sizeof(a), "%s/ci-cert.pem", dir);
	int r = add_ci(ctx, a);
	for (int i = 0; r == DP_OK && i < 2; i++) {
		const char *role = i == 0 ? "dpauth" : "dppb";
		snprintf(a, sizeof(a), "%s/%s-cert.pem", dir, role);
		snprintf(b, sizeof(b), "%s/%s-key.pem", dir, role);
		r = add_signer(ctx, a, b);
	}
	return r;
}

int dp_smdp_load_pki(const struct dp_config *cfg, struct dp_ci_store **out, char oid[64])
{
	struct load l = { 0 };
	int r = dp_ci_store_new(&l.store);
	if (r)
		return r;
	r = each_item(cfg->pki_dirs, add_dir, &l);
	if (r == DP_OK)
		r = each_item(cfg->ci_certs, add_ci, &l);
	if (r == DP_OK)
		r = each_item(cfg->signers, add_pair, &l);
	if (r == DP_OK && l.signers < 2)
		r = dp_err_set(DP_ERR_CONFIG, "no CERT.DPauth and CERT.DPpb: give pki_dirs (a folder "
					      "made by 'smdp pki init') or ci_certs and signers");
	if (r) {
		dp_ci_store_free(l.store);
		return r;
	}
	if (l.oid[0] == '\0') {
		dp_ci_store_free(l.store);
		return dp_err_set(DP_ERR_CONFIG, "no CERT.DPauth carries an SM-DP+ OID (SAN registeredID)");
	}
	*out = l.store;
	memcpy(oid, l.oid, sizeof(l.oid));
	return DP_OK;
}

int dp_smdp_parse_svn(const char *s, uint8_t out[3])
{
	unsigned a, b, c;
	char tail;
	if (sscanf(s, "%u.%u.%u%c", &a, &b, &c, &tail) != 3 || a > 255 || b > 255 || c > 255)
		return dp_err_set(DP_ERR_CONFIG, "'%s' is not a version X.Y.Z", s);
	out[0] = (uint8_t)a;
	out[1] = (uint8_t)b;
	out[2] = (uint8_t)c;
	return DP_OK;
}

int dp_smdp_address(const struct dp_config *cfg, const char *tls_cert_pem, uint16_t port,
		    char out[DP_SMDP_ADDRESS_MAX + 1])
{
	if (cfg->smdp_address[0] != '\0') {
		if (strlen(cfg->smdp_address) > DP_SMDP_ADDRESS_MAX)
			return dp_err_set(DP_ERR_CONFIG, "smdp_address is too long");
		snprintf(out, DP_SMDP_ADDRESS_MAX + 1, "%s", cfg->smdp_address);
		return DP_OK;
	}
	struct dp_cert *cert = NULL;
	char host[DP_SMDP_ADDRESS_MAX + 1] = "";
	int r = tls_cert_pem != NULL ? dp_cert_from_pem(tls_cert_pem, strlen(tls_cert_pem), &cert)
				     : dp_err_set(DP_ERR_CONFIG, "no tls_cert");
	if (r == DP_OK) {
		GENERAL_NAMES *names = X509_get_ext_d2i(dp_cert_x509(cert), NID_subject_alt_name,
							NULL, NULL);
		for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
			if (g->type == GEN_DNS) {
				const ASN1_IA5STRING *d = g->d.dNSName;
				snprintf(host, sizeof(host), "%.*s", d->length, (const char *)d->data);
				break;
			}
		}
		GENERAL_NAMES_free(names);
		dp_cert_free(cert);
	}
	if (r == DP_OK && host[0] == '\0')
		r = dp_err_set(DP_ERR_CONFIG, "tls_cert has no dNSName; set smdp_address");
	if (r)
		return dp_err_wrap(DP_ERR_CONFIG, "the SM-DP+ address: %s", dp_strerror(r));
	if (port == 443)
		snprintf(out, DP_SMDP_ADDRESS_MAX + 1, "%s", host);
	else
		snprintf(out, DP_SMDP_ADDRESS_MAX + 1, "%s:%u", host, port);
	return DP_OK;
}
