/* ECDSA sign/verify over raw bytes and the r||s <-> DER conversion (see ecdsa.h).
 * SGP.22 2.6.5 / BSI TR-03111 5.2.2 plain format. The conversion is done with the strict
 * TLV reader rather than d2i_ECDSA_SIG: it sits on every signature of every download and
 * needs no bignum allocations; tlv.h already rejects non-minimal lengths. */
#include "pki/crypto/ecdsa.h"

#include <string.h>

#include <openssl/err.h>

#include "pki/asn1/tlv.h"
#include "pki/crypto/ossl.h"

/* Reads one INTEGER of ECDSA-Sig-Value into a 32-byte big-endian field. */
static int get_int(struct dp_cursor *c, uint8_t out[32], const char *name)
{
	struct dp_tlv t;
	int r = dp_tlv_next(c, &t);
	if (r)
		return dp_err_set(DP_ERR_ECDSA_FORMAT, "%s: %s", name, dp_strerror(r));
	if (t.tag != 0x02 || t.len == 0)
		return dp_err_set(DP_ERR_ECDSA_FORMAT, "%s is not an INTEGER", name);
	const uint8_t *v = t.value;
	size_t n = t.len;
	if (v[0] & 0x80)
		return dp_err_set(DP_ERR_ECDSA_FORMAT, "%s is negative", name);
	if (v[0] == 0x00 && n > 1) {
		if (!(v[1] & 0x80))
			return dp_err_set(DP_ERR_ECDSA_FORMAT, "%s has a non-minimal encoding", name);
		v++;
		n--;
	}
	if (n > 32)
		return dp_err_set(DP_ERR_ECDSA_FORMAT, "%s is longer than 32 bytes", name);
	memset(out, 0, 32);
	memcpy(out + 32 - n, v, n);
	for (size_t i = 0; i < 32; i++)
		if (out[i] != 0)
			return DP_OK;
	return dp_err_set(DP_ERR_ECDSA_FORMAT, "%s is zero", name);
}

int dp_ecdsa_der_to_rs(const uint8_t *der, size_t len, uint8_t rs[DP_ECDSA_RS_BYTES])
{
	struct dp_tlv seq;
	int r = dp_tlv_expect(der, len, 0x30, &seq);
	if (r)
		return dp_err_set(DP_ERR_ECDSA_FORMAT, "ECDSA-Sig-Value: %s", dp_strerror(r));
	struct dp_cursor c = dp_cursor_make(seq.value, seq.len);
	if ((r = get_int(&c, rs, "r")) || (r = get_int(&c, rs + 32, "s")))
		return r;
	if (!dp_cursor_done(&c))
		return dp_err_set(DP_ERR_ECDSA_FORMAT, "ECDSA-Sig-Value has extra members");
	return DP_OK;
}

/* Writes one minimal positive INTEGER for a 32-byte big-endian value; returns bytes. */
static size_t put_int(const uint8_t v[32], uint8_t *out)
{
	size_t skip = 0;
	while (skip < 31 && v[skip] == 0)
		skip++;
	size_t n = 32 - skip;
	size_t pad = (v[skip] & 0x80) ? 1 : 0;
	out[0] = 0x02;
	out[1] = (uint8_t)(n + pad);
	out[2] = 0x00;
	memcpy(out + 2 + pad, v + skip, n);
	return 2 + pad + n;
}

int dp_ecdsa_rs_to_der(const uint8_t rs[DP_ECDSA_RS_BYTES], uint8_t *der, size_t cap,
		       size_t *len)
{
	static const uint8_t zero[32];
	uint8_t tmp[DP_ECDSA_DER_MAX];

	if (memcmp(rs, zero, 32) == 0 || memcmp(rs + 32, zero, 32) == 0)
		return dp_err_set(DP_ERR_ECDSA_FORMAT, "r or s is zero");
	size_t n = put_int(rs, tmp + 2);
	n += put_int(rs + 32, tmp + 2 + n);
	tmp[0] = 0x30;
	tmp[1] = (uint8_t)n; /* at most 70: short form */
	if (n + 2 > cap)
		return dp_err_set(DP_ERR_TOO_LONG, "DER signature needs %zu bytes", n + 2);
	memcpy(der, tmp, n + 2);
	*len = n + 2;
	return DP_OK;
}

int dp_ecdsa_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t sig[DP_ECDSA_RS_BYTES])
{
	const struct dp_ossl_algs *a;
	uint8_t der[DP_ECDSA_DER_MAX + 8];
	size_t der_len = sizeof(der);
	EVP_MD_CTX *m = NULL;
	int r = dp_ossl_algs(&a);
	if (r)
		return r;

	if ((m = EVP_MD_CTX_new()) == NULL) {
		r = dp_ossl_err(DP_ERR_NOMEM, "ECDSA sign");
		goto out;
	}
	if (EVP_DigestSignInit(m, NULL, a->sha256, NULL, key) != 1 ||
	    EVP_DigestSign(m, der, &der_len, msg, len) != 1) {
		r = dp_ossl_err(DP_ERR_CRYPTO, "ECDSA sign");
		goto out;
	}
	r = dp_ecdsa_der_to_rs(der, der_len, sig);
	if (r)
		r = dp_err_wrap(DP_ERR_CRYPTO, "ECDSA sign produced an unexpected signature");
out:
	EVP_MD_CTX_free(m);
	return r;
}

int dp_ecdsa_sign_tlv(EVP_PKEY *key, const uint8_t *msg, size_t len, struct dp_buf *out)
{
	uint8_t sig[DP_ECDSA_RS_BYTES];
	int r = dp_ecdsa_sign(key, msg, len, sig);
	if (r)
		return r;
	return dp_tlv_append(out, DP_ECDSA_TAG, sig, sizeof(sig));
}

int dp_ecdsa_verify(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t *sig,
		    size_t sig_len)
{
	const struct dp_ossl_algs *a;
	uint8_t der[DP_ECDSA_DER_MAX];
	size_t der_len;
	EVP_MD_CTX *m = NULL;
	int r = dp_ossl_algs(&a);
	if (r)
		return r;

	if (sig_len != DP_ECDSA_RS_BYTES)
		return dp_err_set(DP_ERR_ECDSA_FORMAT, "r||s signature has %zu bytes, not 64",
				  sig_len);
	if ((r = dp_ecdsa_rs_to_der(sig, der, sizeof(der), &der_len)))
		return r;
	if ((m = EVP_MD_CTX_new()) == NULL) {
		r = dp_ossl_err(DP_ERR_NOMEM, "ECDSA verify");
		goto out;
	}
	if (EVP_DigestVerifyInit(m, NULL, a->sha256, NULL, key) != 1) {
		r = dp_ossl_err(DP_ERR_CRYPTO, "ECDSA verify");
		goto out;
	}
	switch (EVP_DigestVerify(m, der, der_len, msg, len)) {
	case 1:
		r = DP_OK;
		break;
	case 0:
		ERR_clear_error();
		r = dp_err_set(DP_ERR_SIGNATURE, "ECDSA signature does not verify");
		break;
	default:
		r = dp_ossl_err(DP_ERR_CRYPTO, "ECDSA verify");
		break;
	}
out:
	EVP_MD_CTX_free(m);
	return r;
}
