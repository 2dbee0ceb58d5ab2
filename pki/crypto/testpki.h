/* A test PKI in the shape of GSMA SGP.26 (Variant O): issue CI, EUM, eUICC, DPauth, DPpb,
 * DPtls and ES2+ operator client certificates with the extensions and OIDs of the SGP.26
 * set (download-path.md 6.1), on NIST P-256 or brainpoolP256r1; issue under an existing CI
 * (e.g. the SGP.26 test CI, whose key is published) given its key.
 * For tests and lab set-ups only: the keys this makes protect nothing real. */
#ifndef DP_CRYPTO_TESTPKI_H
#define DP_CRYPTO_TESTPKI_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"
#include "pki/crypto/cert.h"
#include "pki/crypto/curve.h"

/* notAfter 9999-12-31 23:59:59Z, RFC 5280's "no well-defined expiration" (eUICC default). */
#define DP_TESTPKI_NO_EXPIRY ((time_t)253402300799LL)

/* What to issue. A plain data carrier: zero it, set role and what the role needs; every
 * other NULL/0 field takes the role default. */
struct dp_testpki_req {
	enum dp_cert_role role;
	EVP_PKEY *key;        /* subject key (borrowed); NULL: generate one on `curve` */
	enum dp_curve curve;  /* for a generated key; 0: the issuer's curve (NIST for a new CI) */
	const char *cn;       /* subject CN; default per role ("Test CI", "EUM Test", ...) */
	const char *org;      /* subject O; eUICC default: the EUM's O (nameConstraints) */
	const char *country;  /* subject C; eUICC default: the EUM's C */
	const char *eid;      /* eUICC: 32-digit EID (subject serialNumber) */
	const char *ein;      /* EUM: permitted EID prefix, e.g. "89049032" */
	bool ein_extension;   /* EUM: v3 permitted-EINs extension instead of nameConstraints */
	const char *host;     /* DPtls: dNSName, also the default CN */
	const char *oid;      /* SAN registeredID; default CI 2.999.1, EUM 2.999.5, DP* 2.999.10 */
	const char *crl_url;  /* crlDistributionPoints URI; NULL: none */
	uint64_t serial;      /* 0: random 63-bit */
	time_t not_before;    /* 0: now - 1 hour */
	time_t not_after;     /* 0: role default (CI 35 y, EUM 34 y, eUICC no expiry,
			       * DPauth/DPpb 10 y, DPtls 1 y, operator 2 y) */
	/* Deliberate defects, for negative tests only. */
	unsigned key_usage;   /* 0: the role's; else KU_* bits of <openssl/x509v3.h> */
	const char *policy;   /* NULL: the role's policy OID; "": no certificatePolicies */
};

/* Issues req under issuer/issuer_key (both NULL for a self-signed CI). *cert receives the
 * certificate, *key (when key != NULL) the subject key (a new reference; free it). */
int dp_testpki_issue(const struct dp_testpki_req *req, const struct dp_cert *issuer,
		     EVP_PKEY *issuer_key, struct dp_cert **cert, EVP_PKEY **key) DP_WUR;

/* A CRL by ci revoking the given certificates; thisUpdate/nextUpdate as given (0: now /
 * now + 30 days). Appends the DER to out. */
int dp_testpki_issue_crl(const struct dp_cert *ci, EVP_PKEY *ci_key,
			 const struct dp_cert *const *revoked, size_t n_revoked,
			 time_t this_update, time_t next_update, struct dp_buf *out) DP_WUR;

/* An EID with valid check digits: prefix (1..30 digits) + random digits + check digits. */
int dp_testpki_make_eid(const char *prefix, char eid[DP_CERT_EID_DIGITS + 1]) DP_WUR;

/* PEM files. Keys are written PKCS#8 with mode 0600. Existing files are replaced only when
 * overwrite is true (else DP_ERR_IO). */
int dp_testpki_write_cert(const char *path, const struct dp_cert *cert, bool overwrite) DP_WUR;
int dp_testpki_write_key(const char *path, EVP_PKEY *key, bool overwrite) DP_WUR;

/* A whole set in one folder (smdp pki init). */
struct dp_testpki_set {
	const char *dir;      /* created if missing */
	enum dp_curve curve;  /* 0: NIST, or the curve of ci_cert (which it must match) */
	const char *host;     /* DPtls host; default testsmdpplus1.example.com */
	const char *eid;      /* eUICC EID; NULL: generated under ein */
	const char *ein;      /* EUM range; default 89049032 */
	const char *oid;      /* SM-DP+ OID; default 2.999.10 */
	const char *ci_cert;  /* issue under this existing CI (with ci_key) instead of a new one */
	const char *ci_key;
	bool overwrite;
};

/* Writes ci-cert.pem (+ ci-key.pem for a new CI), eum-, euicc-, dpauth-, dppb-, dptls- and
 * operator-cert.pem / -key.pem into set->dir; eid receives the eUICC's EID. */
int dp_testpki_init(const struct dp_testpki_set *set, char eid[DP_CERT_EID_DIGITS + 1]) DP_WUR;

/* The CLI: argv[0] is "pki" (as in `smdp pki init ...`). Exit status 0 on success, 1 when
 * the work failed, 2 for a bad command line. */
int dp_testpki_main(int argc, char **argv);

#endif
