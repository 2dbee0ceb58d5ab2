/* The test eUICC's identity: certificates, key, trusted CIs, EUICCInfo1/2 contents.
 * SGP.22 4.5 and 5.7.8/5.7.9 (GetEUICCInfo); download-path.md 3.2, 6.1, 6.3. */
#include "test/euicc/identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/asn1/tlv.h"
#include "pki/base/secure.h"
#include "pki/crypto/ecdsa.h"

struct ski_list {
	struct dp_ci_ski v[DP_EUICC_SKI_LIST_MAX];
	size_t n;
};

struct dp_euicc_identity {
	struct dp_cert *euicc;
	struct dp_cert *eum;
	EVP_PKEY *key; /* SK.EUICC */
	struct dp_ci_store *cis;
	char eid[DP_CERT_EID_DIGITS + 1];
	struct ski_list verification, signing;
	uint8_t svn[3];
	uint8_t profile_version[3];
	uint8_t extra[DP_EUICC_INFO2_EXTRA_MAX];
	size_t extra_len;
	unsigned faults;
	uint32_t free_nvm; /* extCardResource 82, enforced on LoadBoundProfilePackage */
	uint32_t rsp_capability; /* bit i = RspCapability bit i */
	bool has_forbidden_ppr;
	uint8_t forbidden_ppr; /* bit i = PprIds bit i */
};

static int list_add(struct ski_list *l, const uint8_t *ski, size_t len)
{
	if (len == 0 || len > DP_CERT_SKI_MAX)
		return dp_err_set(DP_ERR_EUICC_IDENTITY, "SKI of %zu bytes", len);
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].len == len && memcmp(l->v[i].v, ski, len) == 0)
			return DP_OK;
	if (l->n == DP_EUICC_SKI_LIST_MAX)
		return dp_err_set(DP_ERR_TOO_LONG, "more than %d SKIs", DP_EUICC_SKI_LIST_MAX);
	memcpy(l->v[l->n].v, ski, len);
	l->v[l->n].len = len;
	l->n++;
	return DP_OK;
}

int dp_euicc_identity_load(const char *euicc_cert, const char *euicc_key, const char *eum_cert,
			   struct dp_euicc_identity **out)
{
	*out = NULL;
	struct dp_euicc_identity *id = calloc(1, sizeof(*id));
	if (id == NULL)
		return DP_ERR_NOMEM;
	int r = dp_cert_load_file(euicc_cert, &id->euicc);
	if (r != DP_OK)
		goto out;
	if ((r = dp_cert_key_load_file(euicc_key, &id->key)) != DP_OK)
		goto out;
	if ((r = dp_cert_check_key(id->euicc, id->key)) != DP_OK)
		goto out;
	if ((r = dp_cert_load_file(eum_cert, &id->eum)) != DP_OK)
		goto out;
	if ((r = dp_cert_check_issued_by(id->euicc, id->eum)) != DP_OK) {
		r = dp_err_wrap(DP_ERR_EUICC_IDENTITY, "CERT.EUICC is not issued by CERT.EUM");
		goto out;
	}
	if ((r = dp_cert_eid(id->euicc, id->eid)) != DP_OK)
		goto out;
	if ((r = dp_ci_store_new(&id->cis)) != DP_OK)
		goto out;
	/* SGP.26 test eUICC values (mode51 trace). */
	id->svn[0] = 2, id->svn[1] = 2, id->svn[2] = 0;
	id->profile_version[0] = 2, id->profile_version[1] = 1, id->profile_version[2] = 0;
	id->free_nvm = DP_EUICC_FREE_MEMORY_DEFAULT;
	id->rsp_capability = DP_EUICC_RSP_CAPABILITY_DEFAULT;
	*out = id;
	id = NULL;
	r = DP_OK;
out:
	dp_euicc_identity_free(id);
	return r;
}

void dp_euicc_identity_free(struct dp_euicc_identity *id)
{
	if (id == NULL)
		return;
	dp_cert_free(id->euicc);
	dp_cert_free(id->eum);
	EVP_PKEY_free(id->key); /* OpenSSL cleanses EC private scalars on free */
	dp_ci_store_free(id->cis);
	free(id);
}

int dp_euicc_identity_add_ci(struct dp_euicc_identity *id, const char *ci_cert, bool for_signing)
{
	struct dp_cert *ci = NULL;
	const uint8_t *ski;
	size_t len;
	uint8_t copy[DP_CERT_SKI_MAX];
	int r = dp_cert_load_file(ci_cert, &ci);
	if (r != DP_OK)
		return r;
	if ((r = dp_cert_ski(ci, &ski, &len)) != DP_OK || len > sizeof(copy)) {
		dp_cert_free(ci);
		return dp_err_set(DP_ERR_EUICC_IDENTITY, "CI %s has no usable SKI", ci_cert);
	}
	memcpy(copy, ski, len);
	/* The store owns ci from here on, also on error. */
	if ((r = dp_ci_store_add_ci_take(id->cis, ci)) != DP_OK)
		return r;
	if ((r = list_add(&id->verification, copy, len)) != DP_OK)
		return r;
	if (for_signing)
		r = list_add(&id->signing, copy, len);
	return r;
}

int dp_euicc_identity_load_sgp26(const char *sgp26_dir, enum dp_curve curve,
				 struct dp_euicc_identity **out)
{
	static const char *const sfx[] = { "NIST", "BRP" };
	const char *s = curve == DP_CURVE_BRAINPOOL_P256R1 ? "BRP" : "NIST";
	char cert[1024], key[1024], eum[1024], ci[1024];
	struct dp_euicc_identity *id = NULL;
	*out = NULL;
	if (curve != DP_CURVE_NIST_P256 && curve != DP_CURVE_BRAINPOOL_P256R1)
		return dp_err_set(DP_ERR_INVAL, "curve %d", (int)curve);
	if ((size_t)snprintf(cert, sizeof(cert), "%s/eUICC/CERT_EUICC_ECDSA_%s.der", sgp26_dir, s) >=
		    sizeof(cert) ||
	    (size_t)snprintf(key, sizeof(key), "%s/eUICC/SK_EUICC_ECDSA_%s.pem", sgp26_dir, s) >=
		    sizeof(key) ||
	    (size_t)snprintf(eum, sizeof(eum), "%s/EUM/CERT_EUM_ECDSA_%s.der", sgp26_dir, s) >=
		    sizeof(eum))
		return dp_err_set(DP_ERR_TOO_LONG, "SGP.26 folder path");
	int r = dp_euicc_identity_load(cert, key, eum, &id);
	if (r != DP_OK)
		goto out;
	const uint8_t *aki;
	size_t aki_len;
	if ((r = dp_cert_aki(id->eum, &aki, &aki_len)) != DP_OK)
		goto out;
	for (size_t i = 0; i < 2; i++) {
		if ((size_t)snprintf(ci, sizeof(ci), "%s/CertificateIssuer/CERT_CI_ECDSA_%s.der",
				     sgp26_dir, sfx[i]) >= sizeof(ci)) {
			r = dp_err_set(DP_ERR_TOO_LONG, "SGP.26 folder path");
			goto out;
		}
		if ((r = dp_euicc_identity_add_ci(id, ci, false)) != DP_OK)
			goto out;
		/* The signing list names the CI our own chain leads to. */
		const struct dp_ci_ski *v = &id->verification.v[id->verification.n - 1];
		if (v->len == aki_len && memcmp(v->v, aki, aki_len) == 0 &&
		    (r = list_add(&id->signing, aki, aki_len)) != DP_OK)
			goto out;
	}
	if (id->signing.n == 0) {
		r = dp_err_set(DP_ERR_EUICC_IDENTITY, "CERT.EUM is not issued by an SGP.26 CI");
		goto out;
	}
	*out = id;
	id = NULL;
	r = DP_OK;
out:
	dp_euicc_identity_free(id);
	return r;
}

int dp_euicc_identity_set_ski_list(struct dp_euicc_identity *id, bool signing,
				   const struct dp_ci_ski *skis, size_t n)
{
	struct ski_list l = { .n = 0 };
	for (size_t i = 0; i < n; i++) {
		int r = list_add(&l, skis[i].v, skis[i].len);
		if (r != DP_OK)
			return r;
	}
	*(signing ? &id->signing : &id->verification) = l;
	return DP_OK;
}

int dp_euicc_identity_set_eid(struct dp_euicc_identity *id, const char *eid)
{
	int r = dp_cert_eid_valid(eid);
	if (r != DP_OK)
		return r;
	memcpy(id->eid, eid, DP_CERT_EID_DIGITS + 1);
	return DP_OK;
}

void dp_euicc_identity_set_svn(struct dp_euicc_identity *id, uint8_t major, uint8_t minor,
			       uint8_t rev)
{
	id->svn[0] = major, id->svn[1] = minor, id->svn[2] = rev;
}

void dp_euicc_identity_set_profile_version(struct dp_euicc_identity *id, uint8_t major,
					   uint8_t minor, uint8_t rev)
{
	id->profile_version[0] = major, id->profile_version[1] = minor,
	id->profile_version[2] = rev;
}

int dp_euicc_identity_add_info2_extra(struct dp_euicc_identity *id, const uint8_t *tlvs,
				      size_t len)
{
	int r = dp_tlv_check(tlvs, len, 8);
	if (r != DP_OK)
		return dp_err_wrap(r, "EUICCInfo2 extra: ");
	if (len > sizeof(id->extra) - id->extra_len)
		return dp_err_set(DP_ERR_TOO_LONG, "EUICCInfo2 extras over %d bytes",
				  DP_EUICC_INFO2_EXTRA_MAX);
	memcpy(id->extra + id->extra_len, tlvs, len);
	id->extra_len += len;
	return DP_OK;
}

void dp_euicc_identity_set_faults(struct dp_euicc_identity *id, unsigned faults)
{
	id->faults = faults;
}

void dp_euicc_identity_set_free_memory(struct dp_euicc_identity *id, uint32_t bytes)
{
	id->free_nvm = bytes;
}

uint32_t dp_euicc_identity_free_memory(const struct dp_euicc_identity *id)
{
	return id->free_nvm;
}

void dp_euicc_identity_set_rsp_capability(struct dp_euicc_identity *id, uint32_t bits)
{
	id->rsp_capability = bits;
}

uint32_t dp_euicc_identity_rsp_capability(const struct dp_euicc_identity *id)
{
	return id->rsp_capability;
}

void dp_euicc_identity_set_forbidden_ppr(struct dp_euicc_identity *id, bool present,
					 uint8_t bits)
{
	id->has_forbidden_ppr = present;
	id->forbidden_ppr = present ? bits : 0;
}

const char *dp_euicc_identity_eid(const struct dp_euicc_identity *id)
{
	return id->eid;
}

const struct dp_cert *dp_euicc_identity_cert(const struct dp_euicc_identity *id)
{
	return id->euicc;
}

const struct dp_cert *dp_euicc_identity_eum(const struct dp_euicc_identity *id)
{
	return id->eum;
}

unsigned dp_euicc_identity_faults(const struct dp_euicc_identity *id)
{
	return id->faults;
}

struct dp_ci_store *dp_euicc_identity_ci_store(const struct dp_euicc_identity *id)
{
	return id->cis;
}

const struct dp_ci_ski *dp_euicc_identity_ski_list(const struct dp_euicc_identity *id,
						   bool signing, size_t *n)
{
	const struct ski_list *l = signing ? &id->signing : &id->verification;
	*n = l->n;
	return l->v;
}

bool dp_euicc_identity_ski_listed(const struct dp_euicc_identity *id, bool signing,
				  const uint8_t *ski, size_t len)
{
	const struct ski_list *l = signing ? &id->signing : &id->verification;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].len == len && memcmp(l->v[i].v, ski, len) == 0)
			return true;
	return false;
}

/* A9 / AA: SEQUENCE OF SubjectKeyIdentifier (04 14 <ski>). */
static int append_ski_list(struct dp_buf *out, uint32_t tag, const struct ski_list *l)
{
	size_t len = 0;
	for (size_t i = 0; i < l->n; i++)
		len += 2 + l->v[i].len;
	int r = dp_tlv_append_header(out, tag, len);
	for (size_t i = 0; r == DP_OK && i < l->n; i++)
		r = dp_tlv_append(out, 0x04, l->v[i].v, l->v[i].len);
	return r;
}

/* A BIT STRING with named bits (bit i of `bits` = named bit i) in DER: trailing zero bits
 * dropped (X.690 11.2.2), the unused-bit count first. */
static int append_named_bits(struct dp_buf *out, uint32_t tag, uint32_t bits)
{
	uint8_t v[5] = { 0 };
	size_t nbits = 0;
	for (size_t i = 0; i < 32; i++)
		if (bits & (1u << i))
			nbits = i + 1;
	size_t nbytes = (nbits + 7) / 8;
	v[0] = (uint8_t)(nbytes * 8 - nbits);
	for (size_t i = 0; i < nbits; i++)
		if (bits & (1u << i))
			v[1 + i / 8] |= (uint8_t)(0x80 >> (i % 8));
	return dp_tlv_append(out, tag, v, 1 + nbytes);
}

/* Builds the value of a BF20/BF22 into body, then appends the whole TLV to out. The
 * encoding is written with tlv.h; the unit tests check it against the schema
 * (dp_asn1_decode_exact). */
int dp_euicc_identity_info1(const struct dp_euicc_identity *id, struct dp_buf *out)
{
	struct dp_buf body;
	dp_buf_init(&body, 4096);
	int r = dp_tlv_append(&body, 0x82, id->svn, 3);
	if (r == DP_OK)
		r = append_ski_list(&body, 0xA9, &id->verification);
	if (r == DP_OK)
		r = append_ski_list(&body, 0xAA, &id->signing);
	if (r == DP_OK)
		r = dp_tlv_append(out, 0xBF20, body.data, body.len);
	dp_buf_deinit(&body);
	return r;
}

int dp_euicc_identity_info2(const struct dp_euicc_identity *id, struct dp_buf *out)
{
	/* SGP.26 test eUICC values from the mode51 trace (download-path.md 3.2). */
	static const uint8_t firmware[] = { 0x04, 0x04, 0x00 };
	/* 81 installed applications, 82 free NVM (ours), 83 free volatile memory */
	uint8_t ext_card_resource[] = { 0x81, 0x01, 0x00, 0x82, 0x04, 0x00, 0x00, 0x00, 0x00,
					0x83, 0x04, 0x00, 0x00, 0x1C, 0x08 };
	for (int i = 0; i < 4; i++)
		ext_card_resource[5 + i] = (uint8_t)(id->free_nvm >> (24 - 8 * i));
	static const uint8_t uicc_capability[] = { 0x06, 0x7F, 0x16, 0xC0 };
	static const uint8_t ts102241[] = { 0x09, 0x02, 0x00 };
	static const uint8_t gp_version[] = { 0x02, 0x03, 0x00 };
	static const uint8_t pp_version[] = { 0x00, 0x00, 0x01 };
	static const char sas[] = "smdp-test-euicc";
	struct dp_buf body;
	dp_buf_init(&body, 8192);
	int r = dp_tlv_append(&body, 0x81, id->profile_version, 3);
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x82, id->svn, 3);
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x83, firmware, sizeof(firmware));
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x84, ext_card_resource, sizeof(ext_card_resource));
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x85, uicc_capability, sizeof(uicc_capability));
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x86, ts102241, sizeof(ts102241));
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x87, gp_version, sizeof(gp_version));
	if (r == DP_OK)
		r = append_named_bits(&body, 0x88, id->rsp_capability);
	if (r == DP_OK)
		r = append_ski_list(&body, 0xA9, &id->verification);
	if (r == DP_OK)
		r = append_ski_list(&body, 0xAA, &id->signing);
	if (r == DP_OK && id->has_forbidden_ppr)
		r = append_named_bits(&body, 0x99, id->forbidden_ppr);
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x04, pp_version, sizeof(pp_version));
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x0C, sas, strlen(sas));
	if (r == DP_OK)
		r = dp_buf_append(&body, id->extra, id->extra_len);
	if (r == DP_OK)
		r = dp_tlv_append(out, 0xBF22, body.data, body.len);
	dp_buf_deinit(&body);
	return r;
}

int dp_euicc_identity_sign_tlv(const struct dp_euicc_identity *id, const uint8_t *msg,
			       size_t len, struct dp_buf *out)
{
	uint8_t sig[DP_ECDSA_RS_BYTES];
	int r = dp_ecdsa_sign(id->key, msg, len, sig);
	if (r != DP_OK)
		return r;
	if (id->faults & DP_EUICC_FAULT_BAD_SIGNATURE)
		sig[DP_ECDSA_RS_BYTES - 1] ^= 0x01;
	return dp_tlv_append(out, DP_ECDSA_TAG, sig, sizeof(sig));
}
