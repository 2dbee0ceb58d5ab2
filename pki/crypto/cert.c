/* GSMA RSP certificate checks and the CI store (see cert.h).
 * SGP.22 4.5.2.x (certificate profiles), 5.6.1/5.6.2 (ES9+ checks); SGP.26 Variant O. */
#include "pki/crypto/cert.h"

#include "pki/base/codec.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki/asn1/tlv.h"
#include "pki/base/buf.h"
#include "pki/base/log.h"
#include "pki/base/secure.h"
#include "pki/crypto/ecdsa.h"
#include "pki/crypto/kdf.h"
#include "pki/crypto/ossl.h"

/* Certificates, keys and CRLs larger than this are refused before parsing. */
#define CERT_DER_MAX 16384
#define FILE_MAX (1u << 20)

struct dp_cert {
	atomic_int refs;        /* the EUM cache shares certificates */
	X509 *x509;
	EVP_PKEY *pkey;         /* borrowed from x509, or owned when own_pkey */
	bool own_pkey;          /* key-less parse (cert_parse, fast): our import of the SPKI point */
	uint8_t *der;
	size_t der_len;
	/* The signature as our own verification reads it from the DER (sig_shape, see
	 * read_signature): the TBSCertificate TLV and the ECDSA-Sig-Value in der. */
	int sig_shape;
	size_t tbs_off, tbs_len, sig_off, sig_len;
	enum dp_curve curve;
	unsigned policies;      /* bit (1u << role) for every role whose policy OID is listed */
	bool bad_ext;           /* an extension read here is malformed or repeated */
	bool has_ku;            /* keyUsage present; ku holds its KU_* bits */
	uint32_t ku;
	bool ca;                /* basicConstraints cA TRUE */
	bool has_eku;           /* extendedKeyUsage present */
	bool eku_server, eku_client;
	uint8_t ski[DP_CERT_SKI_MAX];
	size_t ski_len;         /* 0: no SKI */
	uint8_t aki[DP_CERT_SKI_MAX];
	size_t aki_len;         /* 0: no AKI keyIdentifier */
};

static const struct {
	enum dp_cert_role role;
	const char *name;
	const char *v2; /* SGP.22 v2 / SGP.26 Variant O */
	const char *v3; /* SGP.22 v3 tree under id-rspRole-ci */
} roles[] = {
	{ DP_CERT_ANY, "any", NULL, NULL },
	{ DP_CERT_CI, "CI", "2.23.146.1.2.1.0", NULL },
	{ DP_CERT_EUM, "EUM", "2.23.146.1.2.1.2", "2.23.146.1.2.1.0.0.0" },
	{ DP_CERT_EUICC, "eUICC", "2.23.146.1.2.1.1", "2.23.146.1.2.1.0.0.0.0.0" },
	{ DP_CERT_DPTLS, "DPtls", "2.23.146.1.2.1.3", "2.23.146.1.2.1.0.1.0" },
	{ DP_CERT_DPAUTH, "DPauth", "2.23.146.1.2.1.4", "2.23.146.1.2.1.0.1.1" },
	{ DP_CERT_DPPB, "DPpb", "2.23.146.1.2.1.5", "2.23.146.1.2.1.0.1.2" },
	{ DP_CERT_OPERATOR, "operator", NULL, NULL },
};
#define N_ROLES (sizeof(roles) / sizeof(roles[0]))

const char *dp_cert_role_name(enum dp_cert_role role)
{
	return (size_t)role < N_ROLES ? roles[role].name : "?";
}

const char *dp_cert_role_policy(enum dp_cert_role role)
{
	return (size_t)role < N_ROLES ? roles[role].v2 : NULL;
}

/* ---- parsing ---- */

static struct dp_cert *cert_ref(struct dp_cert *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void dp_cert_free(struct dp_cert *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) > 1)
		return;
	X509_free(c->x509);
	if (c->own_pkey)
		EVP_PKEY_free(c->pkey);
	free(c->der);
	free(c);
}

static int copy_keyid(const ASN1_OCTET_STRING *s, uint8_t *dst, size_t *len, const char *what)
{
	*len = 0;
	if (s == NULL)
		return DP_OK;
	int n = ASN1_STRING_length(s);
	if (n <= 0 || n > DP_CERT_SKI_MAX)
		return dp_err_set(DP_ERR_CERT_EXTENSION, "%s of %d bytes", what, n);
	memcpy(dst, ASN1_STRING_get0_data(s), (size_t)n);
	*len = (size_t)n;
	return DP_OK;
}

/* Decodes extension nid: the decoded value when present and well-formed; NULL when absent,
 * or when repeated or malformed (then bad_ext is set). */
static void *get_ext(struct dp_cert *c, int nid)
{
	int crit = -1;
	void *v = X509_get_ext_d2i(c->x509, nid, &crit, NULL);
	if (v == NULL && crit != -1) /* -2: repeated; >= 0: present but unreadable */
		c->bad_ext = true;
	return v;
}

/* Reads the extensions the RSP checks use, once. X509_check_purpose would cache them too
 * but decodes every extension and hashes the certificate: 11 us per certificate in
 * OpenSSL 3.0, a tenth of a whole chain check. */
static int read_extensions(struct dp_cert *c)
{
	ASN1_OCTET_STRING *ski = get_ext(c, NID_subject_key_identifier);
	AUTHORITY_KEYID *aki = get_ext(c, NID_authority_key_identifier);
	ASN1_BIT_STRING *ku = get_ext(c, NID_key_usage);
	BASIC_CONSTRAINTS *bc = get_ext(c, NID_basic_constraints);
	EXTENDED_KEY_USAGE *eku = get_ext(c, NID_ext_key_usage);
	int r = DP_OK;

	if (ski != NULL)
		r = copy_keyid(ski, c->ski, &c->ski_len, "SKI");
	if (r == DP_OK && aki != NULL)
		r = copy_keyid(aki->keyid, c->aki, &c->aki_len, "AKI");
	if (ku != NULL) {
		/* KU_* bits as OpenSSL numbers them: first octet, then the second in bits 8..15 */
		const uint8_t *b = ASN1_STRING_get0_data(ku);
		int n = ASN1_STRING_length(ku);
		c->has_ku = true;
		c->ku = (n > 0 ? b[0] : 0) | (uint32_t)(n > 1 ? b[1] : 0) << 8;
	}
	c->ca = bc != NULL && bc->ca != 0;
	c->has_eku = eku != NULL;
	for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++) {
		int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		c->eku_server |= nid == NID_server_auth;
		c->eku_client |= nid == NID_client_auth;
	}
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(aki);
	ASN1_BIT_STRING_free(ku);
	BASIC_CONSTRAINTS_free(bc);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	ERR_clear_error();
	return r;
}

/* Records which role policy OIDs the certificate lists. */
static void read_policies(struct dp_cert *c)
{
	char oid[80];
	CERTIFICATEPOLICIES *cp = get_ext(c, NID_certificate_policies);

	if (cp == NULL) {
		ERR_clear_error();
		return;
	}
	for (int i = 0; i < sk_POLICYINFO_num(cp); i++) {
		const POLICYINFO *pi = sk_POLICYINFO_value(cp, i);
		if (OBJ_obj2txt(oid, sizeof(oid), pi->policyid, 1) <= 0)
			continue;
		for (size_t k = 1; k < N_ROLES; k++) {
			if ((roles[k].v2 && strcmp(oid, roles[k].v2) == 0) ||
			    (roles[k].v3 && strcmp(oid, roles[k].v3) == 0))
				c->policies |= 1u << roles[k].role;
		}
	}
	CERTIFICATEPOLICIES_free(cp);
}

/* ---- the certificate's own DER: signature and key without OpenSSL objects ---- */

/* sig_shape values */
#define SIG_UNREAD 0 /* the DER is not strict DER down to the SPKI: X509_verify judges */
#define SIG_READ 1   /* tbs_* and sig_* are set */
#define SIG_BAD 2    /* an outer algorithm differing from the TBS one, or unused bits in
		      * the signature BIT STRING: X509_verify refuses these too */

/* The TLVs of Certificate { TBSCertificate { [0] version OPTIONAL, serialNumber,
 * signature, issuer, validity, subject, subjectPublicKeyInfo, ... }, signatureAlgorithm,
 * signatureValue } that the checks read, with the strict TLV reader. */
struct cert_tlvs {
	struct dp_tlv tbs, tbs_alg, spki, alg, sig;
};

static int read_tlvs(const uint8_t *der, size_t len, struct cert_tlvs *t)
{
	struct dp_tlv cert, x;
	struct dp_cursor c;

	if (dp_tlv_expect(der, len, 0x30, &cert) != DP_OK)
		return DP_ERR_CERT_PARSE;
	c = dp_cursor_make(cert.value, cert.len);
	if (dp_tlv_next(&c, &t->tbs) != DP_OK || t->tbs.tag != 0x30 ||
	    dp_tlv_next(&c, &t->alg) != DP_OK || t->alg.tag != 0x30 ||
	    dp_tlv_next(&c, &t->sig) != DP_OK || t->sig.tag != 0x03 || !dp_cursor_done(&c))
		return DP_ERR_CERT_PARSE;
	c = dp_cursor_make(t->tbs.value, t->tbs.len);
	if (dp_tlv_next(&c, &x) != DP_OK || (x.tag == 0xA0 && dp_tlv_next(&c, &x) != DP_OK) ||
	    dp_tlv_next(&c, &t->tbs_alg) != DP_OK)
		return DP_ERR_CERT_PARSE;
	for (int i = 0; i < 3; i++) /* issuer, validity, subject */
		if (dp_tlv_next(&c, &x) != DP_OK)
			return DP_ERR_CERT_PARSE;
	if (dp_tlv_next(&c, &t->spki) != DP_OK || t->spki.tag != 0x30)
		return DP_ERR_CERT_PARSE;
	return DP_OK;
}

/* Records where the signed bytes and the signature are (SIG_READ), as X509_verify reads
 * them: the TBSCertificate bytes as received, the outer algorithm identical to the TBS
 * one (X509_ALGOR_cmp; compared as DER bytes), a BIT STRING without unused bits. */
static void read_signature(struct dp_cert *c, const struct cert_tlvs *t)
{
	c->sig_shape = SIG_BAD;
	if (t->alg.raw_len != t->tbs_alg.raw_len ||
	    memcmp(t->alg.raw, t->tbs_alg.raw, t->alg.raw_len) != 0 || t->sig.len < 1 ||
	    t->sig.value[0] != 0)
		return;
	c->tbs_off = (size_t)(t->tbs.raw - c->der);
	c->tbs_len = t->tbs.raw_len;
	c->sig_off = (size_t)(t->sig.value + 1 - c->der);
	c->sig_len = t->sig.len - 1;
	c->sig_shape = SIG_READ;
}

/* The curve and 65-byte point of a SubjectPublicKeyInfo in the one form the RSP PKI uses:
 * id-ecPublicKey with a named curve (P-256 or brainpoolP256r1) and a 65-byte point (its
 * encoding and curve membership are the import's to check). DP_ERR_CERT_PARSE when it is
 * not an EC point, DP_ERR_CERT_CURVE for another key type or curve. */
static int spki_point(const struct dp_tlv *spki, enum dp_curve *curve, const uint8_t **pt)
{
	/* id-ecPublicKey, prime256v1, brainpoolP256r1 (RFC 5480, RFC 5639) */
	static const uint8_t ec_oid[] = { 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01 };
	static const uint8_t p256[] = { 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };
	static const uint8_t bp256[] = { 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07 };
	struct dp_tlv alg, bits, oid, named;
	struct dp_cursor c = dp_cursor_make(spki->value, spki->len);

	if (dp_tlv_next(&c, &alg) != DP_OK || alg.tag != 0x30 || dp_tlv_next(&c, &bits) != DP_OK ||
	    !dp_cursor_done(&c) || bits.tag != 0x03 || bits.len != 1 + DP_CURVE_POINT_BYTES ||
	    bits.value[0] != 0)
		return dp_err_set(DP_ERR_CERT_PARSE, "SubjectPublicKeyInfo is not an EC point");
	c = dp_cursor_make(alg.value, alg.len);
	if (dp_tlv_next(&c, &oid) != DP_OK || dp_tlv_next(&c, &named) != DP_OK ||
	    !dp_cursor_done(&c) || oid.tag != 0x06 || oid.len != sizeof(ec_oid) ||
	    memcmp(oid.value, ec_oid, sizeof(ec_oid)) != 0 || named.tag != 0x06)
		return dp_err_set(DP_ERR_CERT_CURVE, "SubjectPublicKeyInfo: not an EC key");
	if (named.len == sizeof(p256) && memcmp(named.value, p256, sizeof(p256)) == 0)
		*curve = DP_CURVE_NIST_P256;
	else if (named.len == sizeof(bp256) && memcmp(named.value, bp256, sizeof(bp256)) == 0)
		*curve = DP_CURVE_BRAINPOOL_P256R1;
	else
		return dp_err_set(DP_ERR_CERT_CURVE, "SubjectPublicKeyInfo: another curve");
	*pt = bits.value + 1;
	return DP_OK;
}

/* The certificate signature under key: our ECDSA over the TBSCertificate bytes when the
 * DER was read (what X509_verify computes, without its ASN.1 and EVP set-up), else
 * X509_verify. Returns true when it verifies. */
static bool signature_ok(const struct dp_cert *c, EVP_PKEY *key)
{
	uint8_t rs[DP_ECDSA_RS_BYTES];
	int r;

	if (c->sig_shape == SIG_UNREAD) {
		r = X509_verify(c->x509, key) == 1 ? DP_OK : DP_ERR_CERT_SIGNATURE;
		ERR_clear_error();
		return r == DP_OK;
	}
	if (c->sig_shape != SIG_READ)
		return false;
	/* der_to_rs refuses only encodings whose r or s OpenSSL would refuse too (negative,
	 * zero, longer than the order, not DER) */
	if (dp_ecdsa_der_to_rs(c->der + c->sig_off, c->sig_len, rs) != DP_OK)
		return false;
	r = dp_ecdsa_verify(key, c->der + c->tbs_off, c->tbs_len, rs, sizeof(rs));
	return r == DP_OK;
}

/* Parses der. fast: when the DER reads as strict DER down to a SubjectPublicKeyInfo of the
 * RSP form whose point imports, the X509 is decoded in the key-less library context (no
 * OpenSSL 3.0 decoder set-up, ~1.3 M instructions) and the key is our import of that
 * point; anything else takes the ordinary d2i_X509 path, so both accept and refuse the same
 * inputs with the same errors. */
static int cert_parse(const uint8_t *der, size_t len, bool fast, struct dp_cert **out)
{
	struct dp_cert *c = NULL;
	const unsigned char *p = der;
	struct cert_tlvs t;
	bool read = false;
	OSSL_LIB_CTX *nokey = NULL;
	EVP_PKEY *key = NULL;
	int r;

	*out = NULL;
	if (len == 0 || len > CERT_DER_MAX)
		return dp_err_set(DP_ERR_CERT_PARSE, "certificate of %zu bytes (1..%d)", len,
				  CERT_DER_MAX);
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->der = malloc(len)) == NULL) {
		r = dp_err_set(DP_ERR_NOMEM, "certificate");
		goto out;
	}
	atomic_init(&c->refs, 1);
	memcpy(c->der, der, len);
	c->der_len = len;
	read = read_tlvs(c->der, len, &t) == DP_OK;
	if (read)
		read_signature(c, &t);
	if (fast && read) {
		enum dp_curve cv;
		const uint8_t *pt;
		if (spki_point(&t.spki, &cv, &pt) != DP_OK || dp_ossl_nokey_ctx(&nokey) != DP_OK ||
		    dp_kdf_import_point(cv, pt, DP_CURVE_POINT_BYTES, &key) != DP_OK) {
			nokey = NULL; /* the ordinary path judges it, with its own error */
			dp_err_clear();
		}
	}
	if (nokey != NULL) {
		p = c->der;
		c->x509 = (X509 *)ASN1_item_d2i_ex(NULL, &p, (long)len, ASN1_ITEM_rptr(X509), nokey,
						   NULL);
		p = der + (p - c->der);
	} else {
		c->x509 = d2i_X509(NULL, &p, (long)len);
	}
	if (c->x509 == NULL) {
		r = dp_ossl_err(DP_ERR_CERT_PARSE, "certificate DER");
		goto out;
	}
	if (p != der + len) {
		r = dp_err_set(DP_ERR_CERT_PARSE, "%zu bytes after the certificate",
			       (size_t)(der + len - p));
		goto out;
	}
	if (X509_get_version(c->x509) != X509_VERSION_3) {
		r = dp_err_set(DP_ERR_CERT_PARSE, "certificate is not X.509 v3");
		goto out;
	}
	if (X509_get_signature_nid(c->x509) != NID_ecdsa_with_SHA256) {
		r = dp_err_set(DP_ERR_CERT_CURVE, "certificate is not signed with ecdsa-with-SHA256");
		goto out;
	}
	if (key != NULL) {
		c->pkey = key;
		c->own_pkey = true;
		key = NULL;
	} else if ((c->pkey = X509_get0_pubkey(c->x509)) == NULL) {
		r = dp_ossl_err(DP_ERR_CERT_PARSE, "certificate public key");
		goto out;
	}
	if ((r = dp_curve_of_key(c->pkey, &c->curve)))
		goto out;
	/* a malformed extension (bad_ext) is judged in dp_cert_check_role */
	if ((r = read_extensions(c)))
		goto out;
	read_policies(c);
	ERR_clear_error();
	*out = c;
	c = NULL;
	r = DP_OK;
out:
	EVP_PKEY_free(key);
	dp_cert_free(c);
	return r;
}

int dp_cert_from_der(const uint8_t *der, size_t len, struct dp_cert **out)
{
	return cert_parse(der, len, false, out);
}

int dp_cert_from_der_nokey(const uint8_t *der, size_t len, struct dp_cert **out)
{
	return cert_parse(der, len, true, out);
}

/* Reads PEM block `name` (the first one) from text into DER. */
static int pem_block(const char *pem, size_t len, const char *name, struct dp_buf *der)
{
	char *nm = NULL, *hdr = NULL;
	unsigned char *data = NULL;
	long n = 0;
	int r = DP_ERR_CERT_PARSE;
	BIO *b = len <= INT_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;

	if (b == NULL)
		return dp_ossl_err(DP_ERR_NOMEM, "PEM");
	while (PEM_read_bio(b, &nm, &hdr, &data, &n) == 1) {
		if (strcmp(nm, name) == 0) {
			r = dp_buf_append(der, data, (size_t)n);
			break;
		}
		OPENSSL_free(nm);
		OPENSSL_free(hdr);
		OPENSSL_clear_free(data, (size_t)n);
		nm = hdr = NULL;
		data = NULL;
	}
	if (r == DP_ERR_CERT_PARSE)
		dp_err_set(r, "no PEM block '%s'", name);
	OPENSSL_free(nm);
	OPENSSL_free(hdr);
	OPENSSL_clear_free(data, (size_t)n);
	BIO_free(b);
	ERR_clear_error();
	return r;
}

int dp_cert_from_pem(const char *pem, size_t len, struct dp_cert **out)
{
	struct dp_buf der;
	dp_buf_init(&der, CERT_DER_MAX);
	int r = pem_block(pem, len, "CERTIFICATE", &der);
	if (r == DP_OK)
		r = dp_cert_from_der(der.data, der.len, out);
	dp_buf_deinit(&der);
	return r;
}

static int read_file(const char *path, struct dp_buf *out)
{
	return dp_buf_read_file(out, path);
}

static bool is_pem(const struct dp_buf *b)
{
	static const char tag[] = "-----BEGIN ";
	for (size_t i = 0; i + sizeof(tag) - 1 <= b->len; i++)
		if (memcmp(b->data + i, tag, sizeof(tag) - 1) == 0)
			return true;
	return false;
}

int dp_cert_load_file(const char *path, struct dp_cert **out)
{
	struct dp_buf b;
	int r;

	*out = NULL;
	dp_buf_init(&b, FILE_MAX);
	if ((r = read_file(path, &b)))
		goto out;
	if (b.len == 0)
		r = dp_err_set(DP_ERR_CERT_PARSE, "%s is empty", path);
	else if (is_pem(&b))
		r = dp_cert_from_pem((const char *)b.data, b.len, out);
	else
		r = dp_cert_from_der(b.data, b.len, out);
	if (r)
		dp_err_wrap(r, "%s", path);
out:
	dp_buf_deinit(&b);
	return r;
}

/* ---- accessors ---- */

const uint8_t *dp_cert_der(const struct dp_cert *c, size_t *len)
{
	*len = c->der_len;
	return c->der;
}

X509 *dp_cert_x509(const struct dp_cert *c)
{
	return c->x509;
}

EVP_PKEY *dp_cert_pubkey(const struct dp_cert *c)
{
	return c->pkey;
}

int dp_cert_pubkey_from_der(const uint8_t *der, size_t len, EVP_PKEY **out)
{
	struct cert_tlvs t;
	enum dp_curve cv;
	const uint8_t *pt;
	int r;

	*out = NULL;
	if (read_tlvs(der, len, &t) != DP_OK)
		return dp_err_set(DP_ERR_CERT_PARSE, "certificate DER: no SubjectPublicKeyInfo");
	if ((r = spki_point(&t.spki, &cv, &pt)))
		return r;
	/* the import checks the encoding and that the point is on the curve */
	return dp_kdf_import_point(cv, pt, DP_CURVE_POINT_BYTES, out);
}

enum dp_curve dp_cert_curve(const struct dp_cert *c)
{
	return c->curve;
}

int dp_cert_ski(const struct dp_cert *c, const uint8_t **ski, size_t *len)
{
	if (c->ski_len == 0)
		return dp_err_set(DP_ERR_NOT_FOUND, "certificate has no subjectKeyIdentifier");
	*ski = c->ski;
	*len = c->ski_len;
	return DP_OK;
}

int dp_cert_aki(const struct dp_cert *c, const uint8_t **aki, size_t *len)
{
	if (c->aki_len == 0)
		return dp_err_set(DP_ERR_NOT_FOUND, "certificate has no authorityKeyIdentifier");
	*aki = c->aki;
	*len = c->aki_len;
	return DP_OK;
}

/* The value of the only attribute `nid` of a name; DP_ERR_NOT_FOUND when absent,
 * DP_ERR_INVAL when it occurs more than once. */
static int name_value(const X509_NAME *n, int nid, const uint8_t **v, size_t *len)
{
	int i = X509_NAME_get_index_by_NID(n, nid, -1);
	if (i < 0)
		return DP_ERR_NOT_FOUND;
	if (X509_NAME_get_index_by_NID(n, nid, i) >= 0)
		return DP_ERR_INVAL;
	const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	*v = ASN1_STRING_get0_data(s);
	*len = (size_t)ASN1_STRING_length(s);
	return DP_OK;
}

int dp_cert_eid_valid(const char *eid)
{
	unsigned rem = 0;
	if (eid == NULL || strlen(eid) != DP_CERT_EID_DIGITS)
		return dp_err_set(DP_ERR_CERT_EID, "EID must have 32 digits");
	for (size_t i = 0; i < DP_CERT_EID_DIGITS; i++) {
		if (eid[i] < '0' || eid[i] > '9')
			return dp_err_set(DP_ERR_CERT_EID, "EID has a non-digit at %zu", i);
		rem = (rem * 10 + (unsigned)(eid[i] - '0')) % 97;
	}
	if (rem != 1)
		return dp_err_set(DP_ERR_CERT_EID, "EID %s fails the mod-97 check digits", eid);
	return DP_OK;
}

int dp_cert_eid(const struct dp_cert *c, char eid[DP_CERT_EID_DIGITS + 1])
{
	const uint8_t *v;
	size_t len;
	int r = name_value(X509_get_subject_name(c->x509), NID_serialNumber, &v, &len);
	if (r == DP_ERR_NOT_FOUND)
		return dp_err_set(DP_ERR_CERT_EID, "subject has no serialNumber (EID)");
	if (r)
		return dp_err_set(DP_ERR_CERT_EID, "subject has more than one serialNumber");
	if (len != DP_CERT_EID_DIGITS)
		return dp_err_set(DP_ERR_CERT_EID, "subject serialNumber has %zu characters, not 32",
				  len);
	memcpy(eid, v, len);
	eid[len] = '\0';
	return dp_cert_eid_valid(eid);
}

int dp_cert_san_oid(const struct dp_cert *c, char *buf, size_t cap)
{
	GENERAL_NAMES *san = X509_get_ext_d2i(c->x509, NID_subject_alt_name, NULL, NULL);
	int r = dp_err_set(DP_ERR_NOT_FOUND, "no registeredID in subjectAltName");

	for (int i = 0; san != NULL && i < sk_GENERAL_NAME_num(san); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
		if (g->type != GEN_RID)
			continue;
		int n = OBJ_obj2txt(buf, (int)(cap > INT_MAX ? INT_MAX : cap), g->d.registeredID, 1);
		if (n <= 0 || (size_t)n >= cap)
			r = dp_err_set(DP_ERR_TOO_LONG, "SM-DP+ OID does not fit %zu bytes", cap);
		else
			r = DP_OK;
		break;
	}
	GENERAL_NAMES_free(san);
	ERR_clear_error();
	return r;
}

void dp_cert_subject(const struct dp_cert *c, char *buf, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n = 0;

	if (cap == 0)
		return;
	buf[0] = '\0';
	if (b != NULL && X509_NAME_print_ex(b, X509_get_subject_name(c->x509), 0,
					    XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		n = BIO_get_mem_data(b, &p);
	if (n > 0) {
		size_t k = (size_t)n < cap - 1 ? (size_t)n : cap - 1;
		memcpy(buf, p, k);
		buf[k] = '\0';
	}
	BIO_free(b);
	ERR_clear_error();
}

/* Upper-case hex of a key identifier, for logs and error details. */
static const char *keyid_hex(const uint8_t *id, size_t len, char buf[2 * DP_CERT_SKI_MAX + 1])
{
	if (dp_hex_encode(id, len < DP_CERT_SKI_MAX ? len : DP_CERT_SKI_MAX, true, buf,
			  2 * DP_CERT_SKI_MAX + 1) != DP_OK)
		buf[0] = '\0';
	return buf;
}

/* ---- single-certificate checks ---- */

/* The permitted-EINs OID, made once (OBJ_txt2obj allocates and parses). */
static ASN1_OBJECT *eins_obj;
static pthread_once_t eins_once = PTHREAD_ONCE_INIT;

static void make_eins_obj(void)
{
	eins_obj = OBJ_txt2obj(DP_CERT_OID_PERMITTED_EINS, 1);
}

static const ASN1_OBJECT *permitted_eins_oid(void)
{
	pthread_once(&eins_once, make_eins_obj);
	return eins_obj;
}

static bool critical_allowed(X509_EXTENSION *ext)
{
	static const int nids[] = { NID_key_usage, NID_basic_constraints,
				    NID_certificate_policies, NID_name_constraints,
				    NID_ext_key_usage, NID_subject_alt_name };
	const ASN1_OBJECT *o = X509_EXTENSION_get_object(ext);
	int nid = OBJ_obj2nid(o);

	for (size_t i = 0; i < sizeof(nids) / sizeof(nids[0]); i++)
		if (nid == nids[i])
			return true;
	return permitted_eins_oid() != NULL && OBJ_cmp(o, permitted_eins_oid()) == 0;
}

/* Calls fn(prefix, ctx) for every EIN of the permitted-EINs extension. DP_ERR_NOT_FOUND when
 * the extension is absent, DP_ERR_CERT_EXTENSION when it is malformed. */
static int each_permitted_ein(const struct dp_cert *eum,
			      bool (*fn)(const uint8_t *p, size_t n, const char *eid),
			      const char *eid, bool *matched)
{
	const ASN1_OBJECT *obj = permitted_eins_oid();
	int idx = obj ? X509_get_ext_by_OBJ(eum->x509, obj, -1) : -1;
	struct dp_tlv seq, s;
	int r;

	*matched = false;
	if (idx < 0)
		return DP_ERR_NOT_FOUND;
	const ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(eum->x509, idx));
	if ((r = dp_tlv_expect(ASN1_STRING_get0_data(d), (size_t)ASN1_STRING_length(d), 0x30,
			       &seq)))
		return dp_err_set(DP_ERR_CERT_EXTENSION, "permitted EINs: %s", dp_strerror(r));
	struct dp_cursor c = dp_cursor_make(seq.value, seq.len);
	while (!dp_cursor_done(&c)) {
		if ((r = dp_tlv_next(&c, &s)) || s.tag != 0x13 || s.len == 0 ||
		    s.len > DP_CERT_EID_DIGITS)
			return dp_err_set(DP_ERR_CERT_EXTENSION,
					  "permitted EINs: an entry is not a PrintableString of 1..32");
		for (size_t i = 0; i < s.len; i++)
			if (s.value[i] < '0' || s.value[i] > '9')
				return dp_err_set(DP_ERR_CERT_EXTENSION,
						  "permitted EINs: an entry is not digits");
		if (fn(s.value, s.len, eid))
			*matched = true;
	}
	return DP_OK;
}

static bool no_match(const uint8_t *p, size_t n, const char *eid)
{
	return false;
}

static bool prefix_match(const uint8_t *p, size_t n, const char *eid)
{
	return eid != NULL && strlen(eid) >= n && memcmp(eid, p, n) == 0;
}

int dp_cert_check_role(const struct dp_cert *c, enum dp_cert_role role)
{
	bool matched;
	int r;

	if (c->bad_ext)
		return dp_err_set(DP_ERR_CERT_EXTENSION, "%s certificate has a malformed or repeated "
				  "extension", dp_cert_role_name(role));
	for (int i = 0; i < X509_get_ext_count(c->x509); i++) {
		X509_EXTENSION *ext = X509_get_ext(c->x509, i);
		char oid[80];
		if (X509_EXTENSION_get_critical(ext) && !critical_allowed(ext)) {
			OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1);
			return dp_err_set(DP_ERR_CERT_EXTENSION, "unknown critical extension %s", oid);
		}
	}
	if (role == DP_CERT_ANY)
		return DP_OK;
	if ((size_t)role >= N_ROLES)
		return dp_err_set(DP_ERR_INVAL, "unknown certificate role %d", role);

	const char *name = dp_cert_role_name(role);
	const bool is_ca = role == DP_CERT_CI || role == DP_CERT_EUM;
	const uint32_t ku = c->ku;
	if (!c->has_ku)
		return dp_err_set(DP_ERR_CERT_KEY_USAGE, "%s certificate has no keyUsage", name);
	if (is_ca) {
		if (!(ku & KU_KEY_CERT_SIGN))
			return dp_err_set(DP_ERR_CERT_KEY_USAGE, "%s keyUsage lacks keyCertSign",
					  name);
		if (!c->ca)
			return dp_err_set(DP_ERR_CERT_KEY_USAGE,
					  "%s certificate is not a CA (basicConstraints)", name);
		if (c->ski_len == 0)
			return dp_err_set(DP_ERR_CERT_EXTENSION, "%s certificate has no SKI", name);
	} else {
		if (!(ku & KU_DIGITAL_SIGNATURE))
			return dp_err_set(DP_ERR_CERT_KEY_USAGE, "%s keyUsage lacks digitalSignature",
					  name);
		if (ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN))
			return dp_err_set(DP_ERR_CERT_KEY_USAGE,
					  "%s keyUsage allows certificate or CRL signing", name);
		if (c->ca)
			return dp_err_set(DP_ERR_CERT_KEY_USAGE, "%s certificate is a CA", name);
	}
	if (role == DP_CERT_DPTLS || role == DP_CERT_OPERATOR) {
		bool ok = role == DP_CERT_DPTLS ? c->eku_server : c->eku_client;
		if (!c->has_eku || !ok)
			return dp_err_set(DP_ERR_CERT_KEY_USAGE, "%s certificate lacks EKU %s", name,
					  role == DP_CERT_DPTLS ? "serverAuth" : "clientAuth");
	}
	if (roles[role].v2 != NULL && !(c->policies & (1u << role)))
		return dp_err_set(DP_ERR_CERT_POLICY, "%s certificate lacks policy %s", name,
				  roles[role].v2);
	if (role == DP_CERT_EUM) {
		/* a malformed EID range is the EUM's fault: reject it here */
		r = each_permitted_ein(c, no_match, NULL, &matched);
		if (r != DP_OK && r != DP_ERR_NOT_FOUND)
			return r;
	}
	return DP_OK;
}

int dp_cert_check_time(const struct dp_cert *c, time_t at)
{
	int nb = X509_cmp_time(X509_get0_notBefore(c->x509), &at);
	int na = X509_cmp_time(X509_get0_notAfter(c->x509), &at);
	if (nb == 0 || na == 0)
		return dp_ossl_err(DP_ERR_CERT_PARSE, "certificate validity is unreadable");
	if (nb > 0)
		return dp_err_set(DP_ERR_CERT_NOT_YET_VALID, "certificate is valid from a later "
				  "time");
	if (na < 0)
		return dp_err_set(DP_ERR_CERT_EXPIRED, "certificate expired before the "
				  "verification time");
	return DP_OK;
}

int dp_cert_check_issued_by(const struct dp_cert *c, const struct dp_cert *issuer)
{
	if (c->aki_len == 0)
		return dp_err_set(DP_ERR_CERT_EXTENSION, "certificate has no authorityKeyIdentifier");
	if (issuer->ski_len == 0 || c->aki_len != issuer->ski_len ||
	    memcmp(c->aki, issuer->ski, c->aki_len) != 0)
		return dp_err_set(DP_ERR_CERT_ISSUER,
				  "authorityKeyIdentifier does not name the issuer's key");
	if (!signature_ok(c, issuer->pkey))
		return dp_err_set(DP_ERR_CERT_SIGNATURE, "certificate signature does not verify "
				  "with the issuer's key");
	return DP_OK;
}

int dp_cert_check_eid_range(const struct dp_cert *eum, const struct dp_cert *euicc,
			    const char *eid)
{
	bool any_range = false, matched = false;
	int crit = -1;
	int r = each_permitted_ein(eum, prefix_match, eid, &matched);

	if (r != DP_OK && r != DP_ERR_NOT_FOUND)
		return r;
	if (r == DP_OK) {
		any_range = true;
		if (!matched)
			return dp_err_set(DP_ERR_CERT_EID_RANGE,
					  "EID %s is under none of the EUM's permitted EINs", eid);
	}

	NAME_CONSTRAINTS *nc = X509_get_ext_d2i(eum->x509, NID_name_constraints, &crit, NULL);
	if (nc == NULL && crit != -1) {
		ERR_clear_error();
		return dp_err_set(DP_ERR_CERT_EXTENSION, "EUM nameConstraints is malformed");
	}
	if (nc != NULL) {
		any_range = true;
		matched = false;
		for (int i = 0; !matched && i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); i++) {
			const GENERAL_SUBTREE *st = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i);
			const uint8_t *sn, *o, *eo;
			size_t sn_len, o_len, eo_len;
			if (st->base->type != GEN_DIRNAME)
				continue;
			const X509_NAME *dn = st->base->d.directoryName;
			if (name_value(dn, NID_serialNumber, &sn, &sn_len) != DP_OK ||
			    !prefix_match(sn, sn_len, eid))
				continue;
			/* The EUM's organisation, when constrained, must be the eUICC's too. */
			if (euicc != NULL && name_value(dn, NID_organizationName, &o, &o_len) == DP_OK &&
			    (name_value(X509_get_subject_name(euicc->x509), NID_organizationName, &eo,
					&eo_len) != DP_OK ||
			     eo_len != o_len || memcmp(o, eo, o_len) != 0))
				continue;
			matched = true;
		}
		NAME_CONSTRAINTS_free(nc);
		if (!matched)
			return dp_err_set(DP_ERR_CERT_EID_RANGE,
					  "EID %s (or the eUICC's O) is outside the EUM's "
					  "nameConstraints", eid);
	}
	if (!any_range)
		return dp_err_set(DP_ERR_CERT_EID_RANGE, "EUM certificate carries no permitted EID "
				  "range");
	return DP_OK;
}

int dp_cert_check_key(const struct dp_cert *c, const EVP_PKEY *key)
{
	if (EVP_PKEY_eq(c->pkey, key) != 1) {
		ERR_clear_error();
		return dp_err_set(DP_ERR_KEY_MISMATCH, "private key is not the certificate's");
	}
	return DP_OK;
}

/* ---- private keys ---- */

static int no_password(char *buf, int size, int rwflag, void *u)
{
	return 0; /* encrypted keys are refused rather than prompting */
}

static int check_key(EVP_PKEY *k, EVP_PKEY **out)
{
	enum dp_curve curve;
	int r = dp_curve_of_key(k, &curve);
	if (r) {
		EVP_PKEY_free(k);
		return r;
	}
	*out = k;
	return DP_OK;
}

int dp_cert_key_from_pem(const char *pem, size_t len, EVP_PKEY **out)
{
	EVP_PKEY *k = NULL;
	BIO *b = len <= INT_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;

	*out = NULL;
	if (b == NULL)
		return dp_ossl_err(DP_ERR_NOMEM, "PEM");
	k = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
	BIO_free(b);
	if (k == NULL)
		return dp_ossl_err(DP_ERR_CERT_PARSE, "PEM private key");
	ERR_clear_error();
	return check_key(k, out);
}

int dp_cert_key_load_file(const char *path, EVP_PKEY **out)
{
	struct dp_buf b;
	int r;

	*out = NULL;
	dp_buf_init_secret(&b, FILE_MAX);
	if ((r = read_file(path, &b)))
		goto out;
	if (is_pem(&b)) {
		r = dp_cert_key_from_pem((const char *)b.data, b.len, out);
	} else {
		const unsigned char *p = b.data;
		EVP_PKEY *k = b.len <= LONG_MAX ? d2i_AutoPrivateKey(NULL, &p, (long)b.len) : NULL;
		r = k ? check_key(k, out) : dp_ossl_err(DP_ERR_CERT_PARSE, "DER private key");
	}
	if (r)
		dp_err_wrap(r, "%s", path);
out:
	dp_buf_deinit(&b);
	return r;
}

/* ---- the CI store ---- */

#define SIGNER_AUTH 0
#define SIGNER_PB 1
#define EUM_CACHE 32

struct dp_ci_entry {
	struct dp_cert *ci;
	struct dp_cert *signer[2]; /* DPauth, DPpb */
	EVP_PKEY *signer_key[2];
	STACK_OF(X509_CRL) *crls;
};

struct eum_slot {
	struct dp_cert *eum; /* checked: issued by ci, role EUM (time and CRL are per call) */
	const struct dp_ci_entry *ci;
};

struct dp_ci_store {
	struct dp_ci_entry **entries;
	size_t n;
	pthread_mutex_t lock; /* guards the EUM cache only; the rest is read-only after load */
	struct eum_slot cache[EUM_CACHE];
	size_t cache_next;
};

int dp_ci_store_new(struct dp_ci_store **out)
{
	struct dp_ci_store *s = calloc(1, sizeof(*s));
	*out = NULL;
	if (s == NULL)
		return dp_err_set(DP_ERR_NOMEM, "CI store");
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return dp_err_set(DP_ERR_INTERNAL, "CI store mutex");
	}
	*out = s;
	return DP_OK;
}

static void entry_free(struct dp_ci_entry *e)
{
	if (e == NULL)
		return;
	dp_cert_free(e->ci);
	for (int i = 0; i < 2; i++) {
		dp_cert_free(e->signer[i]);
		EVP_PKEY_free(e->signer_key[i]);
	}
	sk_X509_CRL_pop_free(e->crls, X509_CRL_free);
	free(e);
}

void dp_ci_store_free(struct dp_ci_store *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < EUM_CACHE; i++)
		dp_cert_free(s->cache[i].eum);
	for (size_t i = 0; i < s->n; i++)
		entry_free(s->entries[i]);
	free(s->entries);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

size_t dp_ci_store_count(const struct dp_ci_store *s)
{
	return s->n;
}

static struct dp_ci_entry *find_entry(const struct dp_ci_store *s, const uint8_t *ski,
				      size_t len)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct dp_cert *ci = s->entries[i]->ci;
		if (ci->ski_len == len && memcmp(ci->ski, ski, len) == 0)
			return s->entries[i];
	}
	return NULL;
}

const struct dp_ci_entry *dp_ci_store_find(const struct dp_ci_store *s, const uint8_t *ski,
					   size_t len)
{
	return find_entry(s, ski, len);
}

int dp_ci_store_add_ci_take(struct dp_ci_store *s, struct dp_cert *ci)
{
	struct dp_ci_entry *e = NULL, **grown;
	int r;

	if ((r = dp_cert_check_role(ci, DP_CERT_CI)))
		goto out;
	if (ci->aki_len != 0 &&
	    (ci->aki_len != ci->ski_len || memcmp(ci->aki, ci->ski, ci->aki_len) != 0)) {
		r = dp_err_set(DP_ERR_CERT_ISSUER, "CI certificate is not self-issued");
		goto out;
	}
	if (X509_verify(ci->x509, ci->pkey) != 1) {
		ERR_clear_error();
		r = dp_err_set(DP_ERR_CERT_SIGNATURE, "CI certificate is not self-signed");
		goto out;
	}
	if (dp_ci_store_find(s, ci->ski, ci->ski_len) != NULL) {
		r = dp_err_set(DP_ERR_INVAL, "CI is already in the store");
		goto out;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->crls = sk_X509_CRL_new_null()) == NULL ||
	    (grown = realloc(s->entries, (s->n + 1) * sizeof(*grown))) == NULL) {
		r = dp_err_set(DP_ERR_NOMEM, "CI store");
		goto out;
	}
	s->entries = grown;
	e->ci = ci;
	ci = NULL;
	s->entries[s->n++] = e;
	char subject[160], hex[2 * DP_CERT_SKI_MAX + 1];
	dp_cert_subject(e->ci, subject, sizeof(subject));
	dp_log_info(DP_LOG_PKI, "CI %s (%s, SKI %s) added", subject,
		    dp_curve_name(e->ci->curve), keyid_hex(e->ci->ski, e->ci->ski_len, hex));
	e = NULL;
	r = DP_OK;
out:
	entry_free(e);
	dp_cert_free(ci);
	return r;
}

/* The store entry of the CI that issued c (by AKI). */
static int issuer_of(const struct dp_ci_store *s, const struct dp_cert *c,
		     struct dp_ci_entry **out)
{
	char hex[2 * DP_CERT_SKI_MAX + 1];
	if (c->aki_len == 0)
		return dp_err_set(DP_ERR_CERT_EXTENSION, "certificate has no authorityKeyIdentifier");
	if ((*out = find_entry(s, c->aki, c->aki_len)) != NULL)
		return DP_OK;
	keyid_hex(c->aki, c->aki_len, hex);
	return dp_err_set(DP_ERR_CERT_UNKNOWN_CI, "issuer key %s is not a CI of the store", hex);
}

int dp_ci_store_add_signer_take(struct dp_ci_store *s, struct dp_cert *cert, EVP_PKEY *key)
{
	struct dp_ci_entry *e;
	int r, slot;

	if (cert->policies & (1u << DP_CERT_DPAUTH))
		slot = SIGNER_AUTH;
	else if (cert->policies & (1u << DP_CERT_DPPB))
		slot = SIGNER_PB;
	else {
		r = dp_err_set(DP_ERR_CERT_POLICY, "certificate is neither DPauth nor DPpb");
		goto out;
	}
	if ((r = issuer_of(s, cert, &e)) || (r = dp_cert_check_issued_by(cert, e->ci)) ||
	    (r = dp_cert_check_role(cert, slot == SIGNER_AUTH ? DP_CERT_DPAUTH : DP_CERT_DPPB)) ||
	    (r = dp_cert_check_key(cert, key)))
		goto out;
	if (e->signer[slot] != NULL) {
		r = dp_err_set(DP_ERR_INVAL, "the CI already has a %s certificate",
			       slot == SIGNER_AUTH ? "DPauth" : "DPpb");
		goto out;
	}
	e->signer[slot] = cert;
	e->signer_key[slot] = key;
	char subject[160], hex[2 * DP_CERT_SKI_MAX + 1];
	dp_cert_subject(cert, subject, sizeof(subject));
	dp_log_info(DP_LOG_PKI, "%s %s added under CI %s", slot == SIGNER_AUTH ? "DPauth" : "DPpb",
		    subject, keyid_hex(e->ci->ski, e->ci->ski_len, hex));
	cert = NULL;
	key = NULL;
out:
	dp_cert_free(cert);
	EVP_PKEY_free(key);
	return r;
}

int dp_ci_store_load_ci(struct dp_ci_store *s, const char *path)
{
	struct dp_cert *ci;
	int r = dp_cert_load_file(path, &ci);
	if (r)
		return r;
	if ((r = dp_ci_store_add_ci_take(s, ci)))
		dp_err_wrap(r, "%s", path);
	return r;
}

int dp_ci_store_load_signer(struct dp_ci_store *s, const char *cert_path, const char *key_path)
{
	struct dp_cert *c = NULL;
	EVP_PKEY *k = NULL;
	int r;
	if ((r = dp_cert_load_file(cert_path, &c)) || (r = dp_cert_key_load_file(key_path, &k))) {
		dp_cert_free(c);
		return r;
	}
	if ((r = dp_ci_store_add_signer_take(s, c, k)))
		dp_err_wrap(r, "%s", cert_path);
	return r;
}

int dp_ci_store_add_crl(struct dp_ci_store *s, const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509_CRL *crl = NULL;
	AUTHORITY_KEYID *akid = NULL;
	struct dp_ci_entry *e = NULL;
	int r;

	if (len == 0 || len > FILE_MAX || (crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL) {
		r = dp_ossl_err(DP_ERR_CERT_PARSE, "CRL DER");
		goto out;
	}
	if (p != der + len) {
		r = dp_err_set(DP_ERR_CERT_PARSE, "bytes after the CRL");
		goto out;
	}
	akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	if (akid != NULL && akid->keyid != NULL) {
		e = find_entry(s, ASN1_STRING_get0_data(akid->keyid),
			       (size_t)ASN1_STRING_length(akid->keyid));
	} else {
		for (size_t i = 0; e == NULL && i < s->n; i++)
			if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
					  X509_get_subject_name(s->entries[i]->ci->x509)) == 0)
				e = s->entries[i];
	}
	if (e == NULL) {
		r = dp_err_set(DP_ERR_CERT_CRL, "CRL issuer is not a CI of the store");
		goto out;
	}
	if (X509_CRL_verify(crl, e->ci->pkey) != 1) {
		r = dp_ossl_err(DP_ERR_CERT_CRL, "CRL signature does not verify with the CI key");
		goto out;
	}
	/* sort the revoked list now, so that later lookups from many threads only read */
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *zero = ASN1_INTEGER_new();
	if (zero != NULL)
		X509_CRL_get0_by_serial(crl, &rev, zero);
	ASN1_INTEGER_free(zero);
	if (!sk_X509_CRL_push(e->crls, crl)) {
		r = dp_err_set(DP_ERR_NOMEM, "CRL");
		goto out;
	}
	crl = NULL;
	r = DP_OK;
out:
	AUTHORITY_KEYID_free(akid);
	X509_CRL_free(crl);
	ERR_clear_error();
	return r;
}

/* c (issued by e's CI) against e's CRLs at time `at`. */
static int check_crls(const struct dp_ci_entry *e, const struct dp_cert *c, time_t at)
{
	ASN1_INTEGER *serial = NULL;
	int r = DP_OK;

	if (sk_X509_CRL_num(e->crls) <= 0)
		return DP_OK;
	/* X509_CRL_get0_by_serial wants a mutable serial */
	if ((serial = ASN1_INTEGER_dup(X509_get0_serialNumber(c->x509))) == NULL)
		return dp_ossl_err(DP_ERR_NOMEM, "CRL check");
	for (int i = 0; r == DP_OK && i < sk_X509_CRL_num(e->crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(e->crls, i);
		const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
		X509_REVOKED *rev = NULL;
		if (next != NULL && X509_cmp_time(next, &at) < 0)
			r = dp_err_set(DP_ERR_CERT_CRL, "the CI's CRL is past its nextUpdate");
		else if (X509_CRL_get0_by_serial(crl, &rev, serial) == 1)
			r = dp_err_set(DP_ERR_CERT_REVOKED, "certificate serial is on the CI's CRL");
	}
	ASN1_INTEGER_free(serial);
	return r;
}

int dp_ci_store_select(const struct dp_ci_store *s, const struct dp_ci_ski *signing,
		       size_t n_signing, const struct dp_ci_ski *verification,
		       size_t n_verification, const struct dp_ci_entry **out)
{
	bool common = false;

	*out = NULL;
	for (size_t i = 0; i < n_signing; i++) {
		const struct dp_ci_entry *e = dp_ci_store_find(s, signing[i].v, signing[i].len);
		if (e == NULL || e->signer[SIGNER_AUTH] == NULL || e->signer[SIGNER_PB] == NULL)
			continue;
		common = true;
		bool verifiable = verification == NULL;
		for (size_t k = 0; !verifiable && k < n_verification; k++)
			verifiable = verification[k].len == signing[i].len &&
				     memcmp(verification[k].v, signing[i].v, signing[i].len) == 0;
		if (verifiable) {
			*out = e;
			return DP_OK;
		}
	}
	if (common)
		return dp_err_set(DP_ERR_CI_NOT_VERIFIABLE,
				  "the eUICC can verify none of the CIs it signs with and we hold");
	return dp_err_set(DP_ERR_CI_NONE_COMMON, "none of the eUICC's %zu signing CIs is ours",
			  n_signing);
}

const struct dp_cert *dp_ci_entry_ci(const struct dp_ci_entry *e)
{
	return e->ci;
}

int dp_ci_entry_signer(const struct dp_ci_entry *e, enum dp_cert_role role,
		       const struct dp_cert **cert, EVP_PKEY **key)
{
	int slot = role == DP_CERT_DPAUTH ? SIGNER_AUTH : role == DP_CERT_DPPB ? SIGNER_PB : -1;
	if (slot < 0)
		return dp_err_set(DP_ERR_INVAL, "signers are DPauth or DPpb");
	if (e->signer[slot] == NULL)
		return dp_err_set(DP_ERR_NOT_FOUND, "no %s certificate for this CI",
				  dp_cert_role_name(role));
	*cert = e->signer[slot];
	*key = e->signer_key[slot];
	return DP_OK;
}

int dp_ci_store_verify(const struct dp_ci_store *s, enum dp_cert_role role, const uint8_t *der,
		       size_t len, time_t at, struct dp_cert **out)
{
	struct dp_cert *c = NULL;
	struct dp_ci_entry *e;
	int r;

	if (out)
		*out = NULL;
	if (role == DP_CERT_CI || role == DP_CERT_EUICC)
		return dp_err_set(DP_ERR_INVAL, "%s certificates are not issued by a CI",
				  dp_cert_role_name(role));
	if ((r = dp_cert_from_der_nokey(der, len, &c)) || (r = issuer_of(s, c, &e)) ||
	    (r = dp_cert_check_issued_by(c, e->ci)) || (r = dp_cert_check_time(c, at)) ||
	    (r = dp_cert_check_role(c, role)) || (r = check_crls(e, c, at)))
		goto out;
	if (out) {
		*out = c;
		c = NULL;
	}
out:
	if (r)
		dp_err_wrap(r, "%s", dp_cert_role_name(role));
	dp_cert_free(c);
	return r;
}

/* A CERT.EUM checked except for time and CRL (those depend on the call): from the cache or
 * parsed, chained to its CI and role-checked, then cached. Returns a reference. */
static int eum_get(struct dp_ci_store *s, const uint8_t *der, size_t len, struct dp_cert **out,
		   const struct dp_ci_entry **ci)
{
	struct dp_cert *eum = NULL;
	struct dp_ci_entry *e = NULL;
	int r;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < EUM_CACHE; i++) {
		struct eum_slot *sl = &s->cache[i];
		if (sl->eum != NULL && sl->eum->der_len == len && memcmp(sl->eum->der, der, len) == 0) {
			*out = cert_ref(sl->eum);
			*ci = sl->ci;
			pthread_mutex_unlock(&s->lock);
			return DP_OK;
		}
	}
	pthread_mutex_unlock(&s->lock);

	if ((r = dp_cert_from_der_nokey(der, len, &eum)) || (r = issuer_of(s, eum, &e)) ||
	    (r = dp_cert_check_issued_by(eum, e->ci)) ||
	    (r = dp_cert_check_role(eum, DP_CERT_EUM))) {
		dp_cert_free(eum);
		return r;
	}
	pthread_mutex_lock(&s->lock);
	struct eum_slot *sl = &s->cache[s->cache_next];
	s->cache_next = (s->cache_next + 1) % EUM_CACHE;
	dp_cert_free(sl->eum);
	sl->eum = cert_ref(eum);
	sl->ci = e;
	pthread_mutex_unlock(&s->lock);
	*out = eum;
	*ci = e;
	return DP_OK;
}

int dp_ci_store_verify_euicc(struct dp_ci_store *s, const uint8_t *euicc_der, size_t euicc_len,
			     const uint8_t *eum_der, size_t eum_len, const uint8_t *ci_ski,
			     size_t ci_ski_len, time_t at, struct dp_cert_chain *out)
{
	struct dp_cert *eum = NULL, *euicc = NULL;
	const struct dp_ci_entry *ci = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	out->failed = DP_CERT_EUM;
	if ((r = eum_get(s, eum_der, eum_len, &eum, &ci)))
		goto out;
	if (ci_ski != NULL && (ci->ci->ski_len != ci_ski_len ||
			       memcmp(ci->ci->ski, ci_ski, ci_ski_len) != 0)) {
		r = dp_err_set(DP_ERR_CERT_UNKNOWN_CI,
			       "EUM is not issued by the CI chosen for this session");
		goto out;
	}
	if ((r = dp_cert_check_time(eum, at)) || (r = check_crls(ci, eum, at)))
		goto out;

	out->failed = DP_CERT_EUICC;
	if ((r = dp_cert_from_der_nokey(euicc_der, euicc_len, &euicc)) ||
	    (r = dp_cert_check_issued_by(euicc, eum)) || (r = dp_cert_check_time(euicc, at)) ||
	    (r = dp_cert_check_role(euicc, DP_CERT_EUICC)) || (r = dp_cert_eid(euicc, out->eid)) ||
	    (r = dp_cert_check_eid_range(eum, euicc, out->eid)))
		goto out;
	out->euicc = euicc;
	out->ci = ci;
	out->failed = DP_CERT_ANY;
	euicc = NULL;
out:
	if (r) {
		dp_err_wrap(r, "%s", dp_cert_role_name(out->failed));
		dp_log_debug(DP_LOG_PKI, "eUICC chain rejected: %s (%s)", dp_errname(r),
			     dp_err_detail());
		out->eid[0] = '\0';
	}
	dp_cert_free(euicc);
	dp_cert_free(eum);
	return r;
}

void dp_cert_chain_deinit(struct dp_cert_chain *chain)
{
	dp_cert_free(chain->euicc);
	chain->euicc = NULL;
	chain->ci = NULL;
}
