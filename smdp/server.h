/* The running SM-DP+: what every ES9+ handler reads. Built once at start-up (keys and
 * certificates parsed once), read-only afterwards except through the database. */
#ifndef DP_SMDP_SERVER_H
#define DP_SMDP_SERVER_H

#include <stdint.h>

#include "pki/base/error.h"
#include "pki/crypto/cert.h"
#include "smdp/config.h"
#include "smdp/db.h"
#include "smdp/operators.h"

#define DP_SMDP_ADDRESS_MAX 255

struct dp_smdp {
	const struct dp_config *cfg;
	struct dp_db *db;
	struct dp_ci_store *ci;              /* CIs with our DPauth/DPpb under each */
	char address[DP_SMDP_ADDRESS_MAX + 1]; /* serverAddress, as in activation codes */
	char oid[64];                        /* SM-DP+ OID (SAN registeredID of CERT.DPauth) */
	uint8_t svn_min[3], svn_max[3];      /* accepted eUICC SVN range */
	struct dp_operators *operators;      /* ES2+ clients (may be empty) */
};

/* Loads every CI and DPauth/DPpb the configuration names (pki_dirs, ci_certs, signers)
 * into a new store; oid receives the SM-DP+ OID of the first CERT.DPauth (all should
 * carry the same; a different one is logged). DP_ERR_CONFIG when nothing usable. */
int dp_smdp_load_pki(const struct dp_config *cfg, struct dp_ci_store **out, char oid[64]) DP_WUR;
/* Parses "X.Y.Z" (each 0..255). */
int dp_smdp_parse_svn(const char *s, uint8_t out[3]) DP_WUR;
/* The address for activation codes: cfg->smdp_address, else the first dNSName of the PEM
 * certificate tls_cert_pem with ":port" unless the port is 443. */
int dp_smdp_address(const struct dp_config *cfg, const char *tls_cert_pem, uint16_t port,
		    char out[DP_SMDP_ADDRESS_MAX + 1]) DP_WUR;

#endif
