/* Issuing a test PKI shaped like GSMA SGP.26 Variant O (see testpki.h).
 * Extension sets and their order follow the SGP.26 certificates (download-path.md 6.1):
 *   CI     SKI, basicConstraints CA (crit), policies .0 (crit), keyUsage (crit), SAN RID
 *   EUM    AKI, SKI, keyUsage (crit), policies .2 (crit), SAN RID, basicConstraints CA
 *          pathlen 0 (crit), nameConstraints O + serialNumber prefix (crit)
 *   eUICC  AKI, SKI, keyUsage (crit), policies .1 (crit); EID in subject serialNumber
 *   DPauth AKI, SKI, SAN RID, keyUsage (crit), policies .4 (crit)   (DPpb: .5)
 *   DPtls  keyUsage (crit), EKU server+client (crit), policies .3, SKI, AKI, SAN DNS + RID
 * SKI = SHA-1 of the public key point ("hash"), AKI = the issuer's SKI. */
#include "pki/crypto/testpki.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki/asn1/tlv.h"
#include "pki/crypto/ossl.h"

#define DAY ((time_t)86400)
#define YEAR (365 * DAY)

struct role_defaults {
	const char *cn, *org, *country, *oid;
	time_t life;
};

static struct role_defaults defaults_of(enum dp_cert_role role)
{
	struct role_defaults d = { NULL, NULL, NULL, NULL, 0 };
	switch (role) {
	case DP_CERT_CI:
		d = (struct role_defaults){ "Test CI", "RSPTEST", "IT", "2.999.1", 35 * YEAR };
		break;
	case DP_CERT_EUM:
		d = (struct role_defaults){ "EUM Test", "RSP Test EUM", "ES", "2.999.5", 34 * YEAR };
		break;
	case DP_CERT_EUICC:
		d = (struct role_defaults){ "Test eUICC", NULL, NULL, NULL, 0 };
		break;
	case DP_CERT_DPAUTH:
	case DP_CERT_DPPB:
		d = (struct role_defaults){ "TEST SM-DP+", "ACME", NULL, "2.999.10", 10 * YEAR };
		break;
	case DP_CERT_DPTLS:
		d = (struct role_defaults){ NULL, "ACME", NULL, "2.999.10", YEAR };
		break;
	case DP_CERT_OPERATOR:
		d = (struct role_defaults){ "ES2+ operator", "Test Operator", NULL, NULL, 2 * YEAR };
		break;
	case DP_CERT_ANY:
		break;
	}
	return d;
}

/* Adds one extension from OpenSSL's config syntax ("critical,CA:TRUE"). */
static int add_conf(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	if (ext == NULL || !X509_add_ext(x, ext, -1)) {
		X509_EXTENSION_free(ext);
		return dp_ossl_err(DP_ERR_CRYPTO, OBJ_nid2sn(nid));
	}
	X509_EXTENSION_free(ext);
	return DP_OK;
}

static int name_add(X509_NAME *n, int nid, const char *v)
{
	if (v == NULL || *v == '\0')
		return DP_OK;
	if (!X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8, (const unsigned char *)v, -1, -1,
					0))
		return dp_ossl_err(DP_ERR_INVAL, OBJ_nid2sn(nid));
	return DP_OK;
}

/* The value of attribute nid in the issuer's subject, as text in buf ("" when absent). */
static void issuer_attr(const struct dp_cert *issuer, int nid, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (issuer != NULL)
		X509_NAME_get_text_by_NID(X509_get_subject_name(dp_cert_x509(issuer)), nid, buf,
					  (int)cap);
	ERR_clear_error();
}

static int subject_of(const struct dp_testpki_req *q, const struct dp_cert *issuer,
		      X509_NAME *n)
{
	struct role_defaults d = defaults_of(q->role);
	char c[64], o[256];
	const char *cn = q->cn ? q->cn : (q->role == DP_CERT_DPTLS ? q->host : d.cn);
	const char *org = q->org ? q->org : d.org;
	const char *country = q->country ? q->country : d.country;
	int r = DP_OK;

	if (q->role == DP_CERT_EUICC) {
		issuer_attr(issuer, NID_countryName, c, sizeof(c));
		issuer_attr(issuer, NID_organizationName, o, sizeof(o));
		if (!q->country)
			country = c;
		if (!q->org)
			org = o;
	}
	/* attribute order as in the SGP.26 certificates */
	switch (q->role) {
	case DP_CERT_CI:
		if ((r = name_add(n, NID_commonName, cn)) ||
		    (r = name_add(n, NID_organizationalUnitName, "TESTCERT")) ||
		    (r = name_add(n, NID_organizationName, org)) ||
		    (r = name_add(n, NID_countryName, country)))
			return r;
		break;
	case DP_CERT_EUM:
	case DP_CERT_EUICC:
		if ((r = name_add(n, NID_countryName, country)) ||
		    (r = name_add(n, NID_organizationName, org)) ||
		    (q->role == DP_CERT_EUICC && (r = name_add(n, NID_serialNumber, q->eid))) ||
		    (r = name_add(n, NID_commonName, cn)))
			return r;
		break;
	default:
		if ((r = name_add(n, NID_countryName, country)) ||
		    (r = name_add(n, NID_organizationName, org)) ||
		    (r = name_add(n, NID_commonName, cn)))
			return r;
		break;
	}
	return DP_OK;
}

static const char *ku_text(unsigned ku, char *buf, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ KU_DIGITAL_SIGNATURE, "digitalSignature" }, { KU_NON_REPUDIATION, "nonRepudiation" },
		{ KU_KEY_ENCIPHERMENT, "keyEncipherment" },   { KU_DATA_ENCIPHERMENT, "dataEncipherment" },
		{ KU_KEY_AGREEMENT, "keyAgreement" },         { KU_KEY_CERT_SIGN, "keyCertSign" },
		{ KU_CRL_SIGN, "cRLSign" },
	};
	snprintf(buf, cap, "critical");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (ku & names[i].bit) {
			size_t l = strlen(buf);
			snprintf(buf + l, cap - l, ",%s", names[i].name);
		}
	return buf;
}

/* certificatePolicies with one policy OID (nconf would need a config database). */
static int add_policy(X509 *x, const char *oid, int critical)
{
	CERTIFICATEPOLICIES *cp = sk_POLICYINFO_new_null();
	POLICYINFO *pi = POLICYINFO_new();
	int r = DP_OK;

	if (cp == NULL || pi == NULL) {
		r = dp_ossl_err(DP_ERR_NOMEM, "certificatePolicies");
		goto out;
	}
	ASN1_OBJECT_free(pi->policyid);
	if ((pi->policyid = OBJ_txt2obj(oid, 1)) == NULL) {
		r = dp_ossl_err(DP_ERR_INVAL, "policy OID");
		goto out;
	}
	if (!sk_POLICYINFO_push(cp, pi)) {
		r = dp_ossl_err(DP_ERR_NOMEM, "certificatePolicies");
		goto out;
	}
	pi = NULL;
	if (X509_add1_ext_i2d(x, NID_certificate_policies, cp, critical, X509V3_ADD_DEFAULT) != 1)
		r = dp_ossl_err(DP_ERR_CRYPTO, "certificatePolicies");
out:
	POLICYINFO_free(pi);
	sk_POLICYINFO_pop_free(cp, POLICYINFO_free);
	return r;
}

/* nameConstraints permitted directoryName O=<org>, serialNumber=<ein> (critical). */
static int add_name_constraints(X509 *x, const char *org, const char *ein)
{
	NAME_CONSTRAINTS *nc = NAME_CONSTRAINTS_new();
	GENERAL_SUBTREE *st = GENERAL_SUBTREE_new();
	X509_NAME *dn = X509_NAME_new();
	int r = DP_ERR_NOMEM;

	if (nc == NULL || st == NULL || dn == NULL ||
	    (nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null()) == NULL)
		goto out;
	if ((r = name_add(dn, NID_organizationName, org)) ||
	    (r = name_add(dn, NID_serialNumber, ein)))
		goto out;
	st->base->type = GEN_DIRNAME;
	st->base->d.directoryName = dn;
	dn = NULL;
	if (!sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, st)) {
		r = DP_ERR_NOMEM;
		goto out;
	}
	st = NULL;
	if (X509_add1_ext_i2d(x, NID_name_constraints, nc, 1, X509V3_ADD_DEFAULT) != 1) {
		r = dp_ossl_err(DP_ERR_CRYPTO, "nameConstraints");
		goto out;
	}
	r = DP_OK;
out:
	if (r == DP_ERR_NOMEM)
		dp_err_set(r, "nameConstraints");
	X509_NAME_free(dn);
	GENERAL_SUBTREE_free(st);
	NAME_CONSTRAINTS_free(nc);
	return r;
}

/* id-rsp-extension-permitted-eins: PermittedEins ::= SEQUENCE OF PrintableString. */
static int add_permitted_eins(X509 *x, const char *ein)
{
	struct dp_buf v, seq;
	ASN1_OBJECT *obj = OBJ_txt2obj(DP_CERT_OID_PERMITTED_EINS, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int r;

	dp_buf_init(&v, 64);
	dp_buf_init(&seq, 64);
	if (obj == NULL || os == NULL) {
		r = dp_ossl_err(DP_ERR_NOMEM, "permitted EINs");
		goto out;
	}
	if ((r = dp_tlv_append(&v, 0x13, ein, strlen(ein))) ||
	    (r = dp_tlv_append(&seq, 0x30, v.data, v.len)))
		goto out;
	if (!ASN1_OCTET_STRING_set(os, seq.data, (int)seq.len) ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL ||
	    !X509_add_ext(x, ext, -1)) {
		r = dp_ossl_err(DP_ERR_CRYPTO, "permitted EINs");
		goto out;
	}
	r = DP_OK;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	dp_buf_deinit(&v);
	dp_buf_deinit(&seq);
	return r;
}

static int add_extensions(X509 *x, X509 *issuer_x, const struct dp_testpki_req *q,
			  const char *org)
{
	struct role_defaults d = defaults_of(q->role);
	X509V3_CTX ctx;
	char ku[160], san[300];
	const char *oid = q->oid ? q->oid : d.oid;
	const char *policy = q->policy ? q->policy : dp_cert_role_policy(q->role);
	unsigned ku_bits = q->key_usage ? q->key_usage
			 : q->role == DP_CERT_CI ? KU_KEY_CERT_SIGN | KU_CRL_SIGN
			 : q->role == DP_CERT_EUM ? KU_KEY_CERT_SIGN
						  : KU_DIGITAL_SIGNATURE;
	int r = DP_OK;

	X509V3_set_ctx(&ctx, issuer_x ? issuer_x : x, x, NULL, NULL, 0);
	ku_text(ku_bits, ku, sizeof(ku));
	/* DPtls carries its policy non-critical in SGP.26; all others critical */
	const bool with_policy = policy != NULL && *policy != '\0';
	if (q->role == DP_CERT_DPTLS)
		snprintf(san, sizeof(san), "DNS:%s%s%s", q->host, oid ? ",RID:" : "", oid ? oid : "");
	else if (oid)
		snprintf(san, sizeof(san), "RID:%s", oid);
	else
		san[0] = '\0';

#define ADD(nid, v) \
	do { \
		if ((r = add_conf(x, &ctx, (nid), (v)))) \
			return r; \
	} while (0)
	switch (q->role) {
	case DP_CERT_CI:
		ADD(NID_subject_key_identifier, "hash");
		ADD(NID_basic_constraints, "critical,CA:TRUE");
		if (with_policy && (r = add_policy(x, policy, q->role != DP_CERT_DPTLS)))
			return r;
		ADD(NID_key_usage, ku);
		if (san[0])
			ADD(NID_subject_alt_name, san);
		break;
	case DP_CERT_EUM:
		ADD(NID_authority_key_identifier, "keyid:always");
		ADD(NID_subject_key_identifier, "hash");
		ADD(NID_key_usage, ku);
		if (with_policy && (r = add_policy(x, policy, q->role != DP_CERT_DPTLS)))
			return r;
		if (san[0])
			ADD(NID_subject_alt_name, san);
		ADD(NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
		break;
	case DP_CERT_DPTLS:
		ADD(NID_key_usage, ku);
		ADD(NID_ext_key_usage, "critical,serverAuth,clientAuth");
		if (with_policy && (r = add_policy(x, policy, q->role != DP_CERT_DPTLS)))
			return r;
		ADD(NID_subject_key_identifier, "hash");
		ADD(NID_authority_key_identifier, "keyid:always");
		ADD(NID_subject_alt_name, san);
		break;
	case DP_CERT_OPERATOR:
		ADD(NID_authority_key_identifier, "keyid:always");
		ADD(NID_subject_key_identifier, "hash");
		ADD(NID_key_usage, ku);
		ADD(NID_ext_key_usage, "clientAuth");
		if (with_policy && (r = add_policy(x, policy, q->role != DP_CERT_DPTLS)))
			return r;
		break;
	default: /* eUICC, DPauth, DPpb */
		ADD(NID_authority_key_identifier, "keyid:always");
		ADD(NID_subject_key_identifier, "hash");
		if (san[0] && q->role != DP_CERT_EUICC)
			ADD(NID_subject_alt_name, san);
		ADD(NID_key_usage, ku);
		if (with_policy && (r = add_policy(x, policy, q->role != DP_CERT_DPTLS)))
			return r;
		break;
	}
	if (q->crl_url != NULL) {
		char dp[300];
		snprintf(dp, sizeof(dp), "URI:%s", q->crl_url);
		ADD(NID_crl_distribution_points, dp);
	}
#undef ADD
	if (q->role == DP_CERT_EUM)
		r = q->ein_extension ? add_permitted_eins(x, q->ein)
				     : add_name_constraints(x, org, q->ein);
	return r;
}

static int check_req(const struct dp_testpki_req *q, const struct dp_cert *issuer,
		     EVP_PKEY *issuer_key)
{
	if (q->role == DP_CERT_ANY || q->role > DP_CERT_OPERATOR)
		return dp_err_set(DP_ERR_INVAL, "no role to issue");
	if ((q->role == DP_CERT_CI) != (issuer == NULL) || (issuer == NULL) != (issuer_key == NULL))
		return dp_err_set(DP_ERR_INVAL, "a CI is self-signed; every other role needs an "
				  "issuer certificate and key");
	if (q->role == DP_CERT_EUICC && (q->eid == NULL || strlen(q->eid) != DP_CERT_EID_DIGITS))
		return dp_err_set(DP_ERR_INVAL, "an eUICC certificate needs a 32-digit EID");
	if (q->role == DP_CERT_EUM && (q->ein == NULL || *q->ein == '\0' ||
				       strspn(q->ein, "0123456789") != strlen(q->ein) ||
				       strlen(q->ein) > DP_CERT_EID_DIGITS))
		return dp_err_set(DP_ERR_INVAL, "an EUM certificate needs a permitted EID prefix "
				  "(digits)");
	if (q->role == DP_CERT_DPTLS && (q->host == NULL || *q->host == '\0'))
		return dp_err_set(DP_ERR_INVAL, "a DPtls certificate needs a host name");
	if (issuer_key != NULL && dp_cert_check_key(issuer, issuer_key) != DP_OK)
		return dp_err_set(DP_ERR_KEY_MISMATCH, "the issuer key is not the issuer "
				  "certificate's");
	return DP_OK;
}

static int set_serial(X509 *x, uint64_t serial)
{
	uint8_t b[8];
	if (serial == 0) {
		do {
			if (RAND_bytes(b, sizeof(b)) != 1)
				return dp_ossl_err(DP_ERR_CRYPTO, "serial number");
			b[0] &= 0x7F;
			serial = 0;
			for (int i = 0; i < 8; i++)
				serial = serial << 8 | b[i];
		} while (serial == 0);
	}
	if (!ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial))
		return dp_ossl_err(DP_ERR_CRYPTO, "serial number");
	return DP_OK;
}

int dp_testpki_issue(const struct dp_testpki_req *q, const struct dp_cert *issuer,
		     EVP_PKEY *issuer_key, struct dp_cert **cert, EVP_PKEY **key)
{
	const struct dp_ossl_algs *a;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	X509_NAME *subj = NULL;
	unsigned char *der = NULL;
	char org[256];
	int r, len;

	*cert = NULL;
	if (key)
		*key = NULL;
	if ((r = dp_ossl_algs(&a)) || (r = check_req(q, issuer, issuer_key)))
		return r;
	if (q->key != NULL) {
		if (!EVP_PKEY_up_ref(q->key)) {
			r = dp_ossl_err(DP_ERR_CRYPTO, "subject key");
			goto out;
		}
		k = q->key;
	} else {
		enum dp_curve curve = q->curve ? q->curve
				    : issuer ? dp_cert_curve(issuer) : DP_CURVE_NIST_P256;
		if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", dp_curve_name(curve))) == NULL) {
			r = dp_ossl_err(DP_ERR_CRYPTO, "key generation");
			goto out;
		}
	}
	if ((x = X509_new()) == NULL || (subj = X509_NAME_new()) == NULL) {
		r = dp_ossl_err(DP_ERR_NOMEM, "certificate");
		goto out;
	}
	time_t now = time(NULL);
	struct role_defaults d = defaults_of(q->role);
	time_t nb = q->not_before ? q->not_before : now - 3600;
	time_t na = q->not_after ? q->not_after : d.life ? nb + d.life : DP_TESTPKI_NO_EXPIRY;
	if ((r = subject_of(q, issuer, subj)))
		goto out;
	if (!X509_set_version(x, X509_VERSION_3) || (r = set_serial(x, q->serial)) ||
	    !X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(dp_cert_x509(issuer)) : subj) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), nb) || !ASN1_TIME_set(X509_getm_notAfter(x), na) ||
	    !X509_set_pubkey(x, k)) {
		r = r ? r : dp_ossl_err(DP_ERR_CRYPTO, "certificate fields");
		goto out;
	}
	X509_NAME_get_text_by_NID(subj, NID_organizationName, org, sizeof(org));
	if ((r = add_extensions(x, issuer ? dp_cert_x509(issuer) : NULL, q, org)))
		goto out;
	if (X509_sign(x, issuer_key ? issuer_key : k, a->sha256) <= 0 ||
	    (len = i2d_X509(x, &der)) <= 0) {
		r = dp_ossl_err(DP_ERR_CRYPTO, "certificate signature");
		goto out;
	}
	if ((r = dp_cert_from_der(der, (size_t)len, cert)))
		goto out;
	if (key) {
		*key = k;
		k = NULL;
	}
out:
	OPENSSL_free(der);
	X509_NAME_free(subj);
	X509_free(x);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return r;
}

int dp_testpki_issue_crl(const struct dp_cert *ci, EVP_PKEY *ci_key,
			 const struct dp_cert *const *revoked, size_t n_revoked,
			 time_t this_update, time_t next_update, struct dp_buf *out)
{
	const struct dp_ossl_algs *a;
	X509_CRL *crl = NULL;
	ASN1_TIME *t = NULL;
	X509V3_CTX ctx;
	unsigned char *der = NULL;
	int r, len;

	if ((r = dp_ossl_algs(&a)))
		return r;
	time_t tu = this_update ? this_update : time(NULL);
	time_t nu = next_update ? next_update : tu + 30 * DAY;
	if ((crl = X509_CRL_new()) == NULL || (t = ASN1_TIME_new()) == NULL) {
		r = dp_ossl_err(DP_ERR_NOMEM, "CRL");
		goto out;
	}
	if (!X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(dp_cert_x509(ci))) ||
	    !ASN1_TIME_set(t, tu) || !X509_CRL_set1_lastUpdate(crl, t) || !ASN1_TIME_set(t, nu) ||
	    !X509_CRL_set1_nextUpdate(crl, t)) {
		r = dp_ossl_err(DP_ERR_CRYPTO, "CRL fields");
		goto out;
	}
	for (size_t i = 0; i < n_revoked; i++) {
		X509_REVOKED *rev = X509_REVOKED_new();
		if (rev == NULL ||
		    !X509_REVOKED_set_serialNumber(
			    rev, X509_get_serialNumber(dp_cert_x509(revoked[i]))) ||
		    !ASN1_TIME_set(t, tu) || !X509_REVOKED_set_revocationDate(rev, t) ||
		    !X509_CRL_add0_revoked(crl, rev)) {
			X509_REVOKED_free(rev);
			r = dp_ossl_err(DP_ERR_CRYPTO, "CRL entry");
			goto out;
		}
	}
	X509V3_set_ctx(&ctx, dp_cert_x509(ci), NULL, NULL, crl, 0);
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier,
						   "keyid:always");
	if (ext == NULL || !X509_CRL_add_ext(crl, ext, -1)) {
		X509_EXTENSION_free(ext);
		r = dp_ossl_err(DP_ERR_CRYPTO, "CRL authorityKeyIdentifier");
		goto out;
	}
	X509_EXTENSION_free(ext);
	if (!X509_CRL_sort(crl) || X509_CRL_sign(crl, ci_key, a->sha256) <= 0 ||
	    (len = i2d_X509_CRL(crl, &der)) <= 0) {
		r = dp_ossl_err(DP_ERR_CRYPTO, "CRL signature");
		goto out;
	}
	r = dp_buf_append(out, der, (size_t)len);
out:
	OPENSSL_free(der);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return r;
}

int dp_testpki_make_eid(const char *prefix, char eid[DP_CERT_EID_DIGITS + 1])
{
	size_t n = prefix ? strlen(prefix) : 0;
	uint8_t rnd[DP_CERT_EID_DIGITS];
	unsigned rem = 0;

	if (n > 30 || strspn(prefix ? prefix : "", "0123456789") != n)
		return dp_err_set(DP_ERR_INVAL, "EID prefix must be 0..30 digits");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return dp_ossl_err(DP_ERR_CRYPTO, "EID digits");
	memcpy(eid, prefix, n);
	for (size_t i = n; i < 30; i++)
		eid[i] = (char)('0' + rnd[i] % 10);
	/* check digits: the 32-digit number mod 97 must be 1 (SGP.29, as IBAN) */
	for (size_t i = 0; i < 30; i++)
		rem = (rem * 10 + (unsigned)(eid[i] - '0')) % 97;
	rem = (rem * 100) % 97;
	unsigned check = 98 - rem;
	eid[30] = (char)('0' + check / 10);
	eid[31] = (char)('0' + check % 10);
	eid[32] = '\0';
	return dp_cert_eid_valid(eid);
}

static int open_out(const char *path, mode_t mode, bool overwrite, FILE **f)
{
	int flags = O_WRONLY | O_CREAT | (overwrite ? O_TRUNC : O_EXCL);
	int fd = open(path, flags, mode);
	if (fd < 0)
		return dp_err_set(DP_ERR_IO, "cannot create %s: %s%s", path, strerror(errno),
				  errno == EEXIST ? " (use --force to replace it)" : "");
	if (overwrite && fchmod(fd, mode) != 0) {
		close(fd);
		return dp_err_set(DP_ERR_IO, "cannot chmod %s: %s", path, strerror(errno));
	}
	if ((*f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return dp_err_set(DP_ERR_IO, "cannot open %s", path);
	}
	return DP_OK;
}

int dp_testpki_write_cert(const char *path, const struct dp_cert *cert, bool overwrite)
{
	FILE *f;
	int r = open_out(path, 0644, overwrite, &f);
	if (r)
		return r;
	if (!PEM_write_X509(f, dp_cert_x509(cert)))
		r = dp_ossl_err(DP_ERR_IO, path);
	if (fclose(f) != 0 && r == DP_OK)
		r = dp_err_set(DP_ERR_IO, "cannot write %s", path);
	return r;
}

int dp_testpki_write_key(const char *path, EVP_PKEY *key, bool overwrite)
{
	FILE *f;
	int r = open_out(path, 0600, overwrite, &f);
	if (r)
		return r;
	if (!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL))
		r = dp_ossl_err(DP_ERR_IO, path);
	if (fclose(f) != 0 && r == DP_OK)
		r = dp_err_set(DP_ERR_IO, "cannot write %s", path);
	return r;
}

/* Writes <dir>/<name>-cert.pem and, when key != NULL, <dir>/<name>-key.pem. */
static int write_pair(const struct dp_testpki_set *s, const char *name,
		      const struct dp_cert *cert, EVP_PKEY *key)
{
	char path[4096];
	int r;
	snprintf(path, sizeof(path), "%s/%s-cert.pem", s->dir, name);
	if ((r = dp_testpki_write_cert(path, cert, s->overwrite)))
		return r;
	if (key == NULL)
		return DP_OK;
	snprintf(path, sizeof(path), "%s/%s-key.pem", s->dir, name);
	return dp_testpki_write_key(path, key, s->overwrite);
}

int dp_testpki_init(const struct dp_testpki_set *s, char eid[DP_CERT_EID_DIGITS + 1])
{
	enum { CI, EUM, EUICC, DPAUTH, DPPB, DPTLS, OPERATOR, N };
	static const char *const names[N] = { "ci", "eum", "euicc", "dpauth", "dppb", "dptls",
					       "operator" };
	struct dp_cert *cert[N] = { NULL };
	EVP_PKEY *key[N] = { NULL };
	struct dp_testpki_req q;
	const char *ein = s->ein ? s->ein : "89049032";
	int r;

	if (s->dir == NULL || *s->dir == '\0')
		return dp_err_set(DP_ERR_INVAL, "no output folder");
	if ((s->ci_cert == NULL) != (s->ci_key == NULL))
		return dp_err_set(DP_ERR_INVAL, "an existing CI needs both its certificate and key");
	if (mkdir(s->dir, 0755) != 0 && errno != EEXIST)
		return dp_err_set(DP_ERR_IO, "cannot create %s: %s", s->dir, strerror(errno));
	if (s->eid) {
		if ((r = dp_cert_eid_valid(s->eid)))
			return r;
		memcpy(eid, s->eid, DP_CERT_EID_DIGITS + 1);
	} else if ((r = dp_testpki_make_eid(ein, eid))) {
		return r;
	}

	if (s->ci_cert) {
		if ((r = dp_cert_load_file(s->ci_cert, &cert[CI])) ||
		    (r = dp_cert_key_load_file(s->ci_key, &key[CI])) ||
		    (r = dp_cert_check_key(cert[CI], key[CI])))
			goto out;
	} else {
		q = (struct dp_testpki_req){ .role = DP_CERT_CI, .curve = s->curve };
		if ((r = dp_testpki_issue(&q, NULL, NULL, &cert[CI], &key[CI])))
			goto out;
	}
	if (s->curve && s->curve != dp_cert_curve(cert[CI])) {
		r = dp_err_set(DP_ERR_INVAL, "the CI is on %s; a set uses its CI's curve",
			       dp_curve_name(dp_cert_curve(cert[CI])));
		goto out;
	}
	const enum dp_curve curve = dp_cert_curve(cert[CI]);
	for (int i = EUM; i < N; i++) {
		static const enum dp_cert_role role[N] = {
			DP_CERT_CI, DP_CERT_EUM, DP_CERT_EUICC, DP_CERT_DPAUTH,
			DP_CERT_DPPB, DP_CERT_DPTLS, DP_CERT_OPERATOR };
		q = (struct dp_testpki_req){ .role = role[i], .curve = curve, .ein = ein,
					     .eid = eid, .oid = s->oid,
					     .host = s->host ? s->host : "testsmdpplus1.example.com" };
		const int by = i == EUICC ? EUM : CI;
		if ((r = dp_testpki_issue(&q, cert[by], key[by], &cert[i], &key[i])))
			goto out;
	}
	for (int i = 0; i < N; i++)
		if ((r = write_pair(s, names[i], cert[i], i == CI && s->ci_cert ? NULL : key[i])))
			goto out;
out:
	for (int i = 0; i < N; i++) {
		dp_cert_free(cert[i]);
		EVP_PKEY_free(key[i]);
	}
	return r;
}
