/* GSMA RSP certificates: loading, the checks SGP.22 asks for, and the CI store.
 * SGP.22 4.5.2 / 5.6.1 (AuthenticateClient), SGP.26 Variant O profiles; download-path.md
 * 4.3 and 6.1.
 *
 * Chains are followed by key identifiers (AKI -> SKI) and signatures, never by issuer DN
 * text (the SGP.26 EUM names its CI "GSMA Test CI" in one issue and "Test CI" in another).
 * OpenSSL's X509_verify_cert is not used: GSMA role policies differ per level (EUM .1.2
 * over eUICC .1.1), so RFC 5280 policy processing fails them, and the EUM's nameConstraints
 * use serialNumber as a prefix, which RFC 5280 directoryName matching does not know. Each
 * check below is explicit and has its own error code.
 *
 * Parse once: the server builds one dp_ci_store at start-up (several CIs, each with its own
 * DPauth/DPpb certificate and key; NIST and Brainpool side by side) and only reads it
 * afterwards. The store also caches CERT.EUMs it has verified (thread-safe), so a download
 * parses only the eUICC certificate. */
#ifndef DP_CRYPTO_CERT_H
#define DP_CRYPTO_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/base/error.h"
#include "pki/crypto/curve.h"

/* Roles of the RSP PKI. The policy OIDs are SGP.22 v2 (id-rspRole 2.23.146.1.2.1.x, used
 * by SGP.26 Variant O); the v3 OIDs of the same role are accepted too. */
enum dp_cert_role {
	DP_CERT_ANY = 0,  /* no role check */
	DP_CERT_CI,       /* 2.23.146.1.2.1.0 */
	DP_CERT_EUM,      /* 2.23.146.1.2.1.2 (v3 .1.0.0.0) */
	DP_CERT_EUICC,    /* 2.23.146.1.2.1.1 (v3 .1.0.0.0.0.0) */
	DP_CERT_DPTLS,    /* 2.23.146.1.2.1.3 (v3 .1.0.1.0) */
	DP_CERT_DPAUTH,   /* 2.23.146.1.2.1.4 (v3 .1.0.1.1) */
	DP_CERT_DPPB,     /* 2.23.146.1.2.1.5 (v3 .1.0.1.2) */
	DP_CERT_OPERATOR, /* ES2+ client (TLS clientAuth); no GSMA policy */
};

#define DP_CERT_SKI_MAX 32
#define DP_CERT_EID_DIGITS 32
/* id-rsp-extension-permitted-eins (SGP.22 v3): PermittedEins ::= SEQUENCE OF PrintableString */
#define DP_CERT_OID_PERMITTED_EINS "2.23.146.1.2.2.0"

/* "CI", "EUM", "eUICC", "DPtls", "DPauth", "DPpb", "operator". */
const char *dp_cert_role_name(enum dp_cert_role role);
/* The v2 policy OID of a role (dotted text); NULL for DP_CERT_ANY and DP_CERT_OPERATOR. */
const char *dp_cert_role_policy(enum dp_cert_role role);

/* A parsed certificate with the DER as received and fields extracted once. */
struct dp_cert;

/* Exactly one DER certificate (trailing bytes are an error), X.509 v3, EC key on P-256 or
 * brainpoolP256r1, signed with ecdsa-with-SHA256. DP_ERR_CERT_PARSE / DP_ERR_CERT_CURVE. */
int dp_cert_from_der(const uint8_t *der, size_t len, struct dp_cert **out) DP_WUR;
/* The same checks and results as dp_cert_from_der, parsed without OpenSSL 3.0's key
 * decoder (whose set-up is ~1.3 M instructions, most of a certificate parse): the public
 * key is imported from the SubjectPublicKeyInfo's point (on-curve checked), and the X509
 * object is decoded in a library context without providers, so dp_cert_x509 of such a
 * certificate carries no key (X509_get0_pubkey is NULL, X509_verify fails): use it for
 * the checks below and dp_cert_pubkey, not for TLS. A certificate not in the RSP form
 * (strict DER, named P-256/brainpoolP256r1 curve, uncompressed point) is parsed exactly as
 * by dp_cert_from_der. dp_ci_store_verify_euicc parses CERT.EUM and CERT.EUICC this way,
 * dp_ci_store_verify (CERT.DPauth and CERT.DPpb at the test eUICC) too. */
int dp_cert_from_der_nokey(const uint8_t *der, size_t len, struct dp_cert **out) DP_WUR;
/* The first CERTIFICATE block of PEM text. */
int dp_cert_from_pem(const char *pem, size_t len, struct dp_cert **out) DP_WUR;
/* A file holding PEM or DER. */
int dp_cert_load_file(const char *path, struct dp_cert **out) DP_WUR;
void dp_cert_free(struct dp_cert *cert);

/* The DER as received (what ES9+ sends on, e.g. serverCertificate). */
const uint8_t *dp_cert_der(const struct dp_cert *cert, size_t *len);
/* Borrowed OpenSSL objects, valid as long as cert (TLS setup; read-only use). */
X509 *dp_cert_x509(const struct dp_cert *cert);
EVP_PKEY *dp_cert_pubkey(const struct dp_cert *cert);
/* The public key of a certificate we verified earlier and kept (CERT.EUICC in a session
 * row), read from its SubjectPublicKeyInfo without parsing the whole certificate: in
 * OpenSSL 3.0 d2i_X509 spends most of its ~250 us in the key decoder. No certificate
 * check is made here. P-256 and brainpoolP256r1 keys only; *out is a new key. */
int dp_cert_pubkey_from_der(const uint8_t *der, size_t len, EVP_PKEY **out) DP_WUR;
enum dp_curve dp_cert_curve(const struct dp_cert *cert);
/* Subject / authority key identifier; DP_ERR_NOT_FOUND when the extension is absent. */
int dp_cert_ski(const struct dp_cert *cert, const uint8_t **ski, size_t *len) DP_WUR;
int dp_cert_aki(const struct dp_cert *cert, const uint8_t **aki, size_t *len) DP_WUR;
/* The EID: subject serialNumber, 32 digits with valid check digits (DP_ERR_CERT_EID). */
int dp_cert_eid(const struct dp_cert *cert, char eid[DP_CERT_EID_DIGITS + 1]) DP_WUR;
/* The first SAN registeredID as dotted text (the SM-DP+ OID, e.g. "2.999.10"). */
int dp_cert_san_oid(const struct dp_cert *cert, char *buf, size_t cap) DP_WUR;
/* One-line subject for logs and tools ("CN=..., O=..."). */
void dp_cert_subject(const struct dp_cert *cert, char *buf, size_t cap);

/* The single-certificate checks (the chain functions below call them in order).
 * Role: no malformed or unknown critical extension (DP_ERR_CERT_EXTENSION), key usage and
 * basicConstraints / EKU of the role (DP_ERR_CERT_KEY_USAGE), the role's policy OID
 * (DP_ERR_CERT_POLICY), SKI present on CI and EUM. */
int dp_cert_check_role(const struct dp_cert *cert, enum dp_cert_role role) DP_WUR;
/* notBefore <= at <= notAfter: DP_ERR_CERT_NOT_YET_VALID / DP_ERR_CERT_EXPIRED. */
int dp_cert_check_time(const struct dp_cert *cert, time_t at) DP_WUR;
/* cert's AKI equals issuer's SKI (DP_ERR_CERT_ISSUER) and issuer's key verifies cert's
 * signature (DP_ERR_CERT_SIGNATURE): ECDSA/SHA-256 over the TBSCertificate bytes as
 * received, with the checks of X509_verify (signatureAlgorithm equal to the TBS signature
 * field, no unused bits); X509_verify itself for a certificate that is not strict DER. */
int dp_cert_check_issued_by(const struct dp_cert *cert, const struct dp_cert *issuer) DP_WUR;
/* eid lies in the EUM's permitted range: the permitted-EINs extension (any listed prefix)
 * and/or the nameConstraints permitted directoryNames (serialNumber is a prefix of the EID,
 * O equals the eUICC subject's O when euicc is given). DP_ERR_CERT_EID_RANGE otherwise,
 * also when the EUM carries no range at all. */
int dp_cert_check_eid_range(const struct dp_cert *eum, const struct dp_cert *euicc,
			    const char *eid) DP_WUR;
/* 0 when key is the private key of cert, DP_ERR_KEY_MISMATCH otherwise. */
int dp_cert_check_key(const struct dp_cert *cert, const EVP_PKEY *key) DP_WUR;

/* 32 digits and mod-97 check digits (SGP.29): DP_ERR_CERT_EID otherwise. */
int dp_cert_eid_valid(const char *eid) DP_WUR;

/* Private keys: PEM (PKCS#8 or SEC1, an "EC PARAMETERS" block before it is skipped) or DER,
 * on P-256 or brainpoolP256r1. DP_ERR_CERT_PARSE / DP_ERR_CERT_CURVE. */
int dp_cert_key_from_pem(const char *pem, size_t len, EVP_PKEY **out) DP_WUR;
int dp_cert_key_load_file(const char *path, EVP_PKEY **out) DP_WUR;

/* ---- The CI store ---- */

struct dp_ci_store;
/* One CI with the SM-DP+ certificates and keys issued under it. */
struct dp_ci_entry;

/* A SubjectKeyIdentifier from euiccCiPKIdListForVerification / ForSigning. */
struct dp_ci_ski {
	uint8_t v[DP_CERT_SKI_MAX];
	size_t len;
};

int dp_ci_store_new(struct dp_ci_store **out) DP_WUR;
void dp_ci_store_free(struct dp_ci_store *store);
/* Adds a CI certificate (self-signed, role CI, SKI present, not yet in the store). The store
 * owns ci afterwards, also on error. */
int dp_ci_store_add_ci_take(struct dp_ci_store *store, struct dp_cert *ci) DP_WUR;
/* Adds an SM-DP+ signing identity (a DPauth or DPpb certificate, by its policy) and its
 * private key: issued by a CI already in the store, role checks passed, key matching. One
 * of each per CI. The store owns cert and key afterwards, also on error. */
int dp_ci_store_add_signer_take(struct dp_ci_store *store, struct dp_cert *cert,
				EVP_PKEY *key) DP_WUR;
/* File conveniences for start-up (PEM or DER). */
int dp_ci_store_load_ci(struct dp_ci_store *store, const char *path) DP_WUR;
int dp_ci_store_load_signer(struct dp_ci_store *store, const char *cert_path,
			    const char *key_path) DP_WUR;
/* Adds a DER CRL issued by a CI in the store (found by the CRL's AKI, signature checked).
 * Certificates issued by that CI (EUM, DPauth, DPpb, DPtls) are then checked against it, and
 * verification fails with DP_ERR_CERT_CRL once the verification time is past its
 * nextUpdate. CRLs of EUMs (revoking eUICCs) are not supported. */
int dp_ci_store_add_crl(struct dp_ci_store *store, const uint8_t *der, size_t len) DP_WUR;

size_t dp_ci_store_count(const struct dp_ci_store *store);
/* The CI with that SKI, or NULL. */
const struct dp_ci_entry *dp_ci_store_find(const struct dp_ci_store *store, const uint8_t *ski,
					   size_t len);
/* Chooses the CI for a download (InitiateAuthentication, SGP.22 5.6.1): the first entry of
 * the eUICC's ForSigning list that is in the store with a DPauth and a DPpb, and that is in
 * ForVerification when that list is present (verification != NULL, even if n is 0).
 * DP_ERR_CI_NONE_COMMON when no signing CI is ours (8.8.2/3.1), DP_ERR_CI_NOT_VERIFIABLE
 * when some is but the eUICC cannot verify it (8.8.4/3.7). */
int dp_ci_store_select(const struct dp_ci_store *store, const struct dp_ci_ski *signing,
		       size_t n_signing, const struct dp_ci_ski *verification,
		       size_t n_verification, const struct dp_ci_entry **out) DP_WUR;

const struct dp_cert *dp_ci_entry_ci(const struct dp_ci_entry *entry);
/* The DPauth or DPpb certificate and key of an entry; DP_ERR_NOT_FOUND when not loaded. */
int dp_ci_entry_signer(const struct dp_ci_entry *entry, enum dp_cert_role role,
		       const struct dp_cert **cert, EVP_PKEY **key) DP_WUR;

/* Verifies DER certificate of `role` issued directly by a CI of the store (CERT.DPauth /
 * CERT.DPpb as the eUICC checks them, DPtls, EUM, operator): CI known by AKI, signature,
 * validity at `at`, role, CRL. On success *out (may be NULL) receives the parsed cert,
 * parsed as by dp_cert_from_der_nokey: its X509 carries no key, so it is not for TLS. */
int dp_ci_store_verify(const struct dp_ci_store *store, enum dp_cert_role role,
		       const uint8_t *der, size_t len, time_t at, struct dp_cert **out) DP_WUR;

/* Result of dp_ci_store_verify_euicc. A plain data carrier; release with
 * dp_cert_chain_deinit. */
struct dp_cert_chain {
	struct dp_cert *euicc;          /* owned; PK.EUICC for euiccSignature1/2 and the PIR */
	char eid[DP_CERT_EID_DIGITS + 1]; /* from the eUICC subject serialNumber */
	const struct dp_ci_entry *ci;   /* the anchoring CI (borrowed from the store) */
	enum dp_cert_role failed;       /* on error: DP_CERT_EUM or DP_CERT_EUICC, the
					 * certificate at fault (SGP.22 8.1.2 vs 8.1.3);
					 * DP_CERT_ANY when neither (bad arguments) */
};

/* Verifies CERT.EUICC -> CERT.EUM -> CI (AuthenticateClient): the EUM's AKI names a CI of
 * the store (and equals ci_ski when given: euiccCiPKIdToBeUsed), signatures, validity at
 * `at`, roles (policy, key usage, basicConstraints), key identifiers, the EID and the EUM's
 * permitted EID range, CRLs. Errors as in the single checks above, plus
 * DP_ERR_CERT_UNKNOWN_CI; out->failed tells which certificate failed. */
int dp_ci_store_verify_euicc(struct dp_ci_store *store, const uint8_t *euicc_der,
			     size_t euicc_len, const uint8_t *eum_der, size_t eum_len,
			     const uint8_t *ci_ski, size_t ci_ski_len, time_t at,
			     struct dp_cert_chain *out) DP_WUR;
void dp_cert_chain_deinit(struct dp_cert_chain *chain);

#endif
