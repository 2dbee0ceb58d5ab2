/* One-time keys, ECKA-DH and the X9.63 KDF of SGP.22 Annex G (see kdf.h). */
#include "pki/crypto/kdf.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "pki/base/codec.h"
#include "pki/base/log.h"
#include "pki/base/secure.h"
#include "pki/crypto/ossl.h"

/* Key generation from the curve's parameters-only template: the generator copies the
 * template's group instead of building one from the curve name (EVP_PKEY_Q_keygen). */
int dp_kdf_generate(enum dp_curve curve, EVP_PKEY **otsk)
{
	EVP_PKEY *tmpl;
	EVP_PKEY_CTX *ctx = NULL;
	int r;

	*otsk = NULL;
	if ((r = dp_ossl_curve_params(curve, &tmpl)))
		return r == DP_ERR_CERT_CURVE ? dp_err_wrap(DP_ERR_CRYPTO, "one-time key generation")
					      : r;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, tmpl, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, otsk) != 1) {
		EVP_PKEY_free(*otsk);
		*otsk = NULL;
		r = dp_ossl_err(DP_ERR_CRYPTO, "one-time key generation");
	}
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* EVP_PKEY_fromdata with the given parameters; the EC key manager validates the point. */
static int from_params(OSSL_PARAM *params, int selection, EVP_PKEY **out, int bad_err,
		       const char *what)
{
	int r = DP_OK;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

	*out = NULL;
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) {
		r = dp_ossl_err(DP_ERR_CRYPTO, what);
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, out, selection, params) != 1) {
		r = dp_ossl_err(bad_err, what);
		goto out;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int dp_kdf_import_point(enum dp_curve curve, const uint8_t *pt, size_t len, EVP_PKEY **out)
{
	*out = NULL;
	if (len != DP_CURVE_POINT_BYTES || pt[0] != 0x04)
		return dp_err_set(DP_ERR_EC_POINT,
				  "public key must be 65 bytes 04||X||Y (got %zu bytes)", len);
	/* A copy of the curve's parameters-only key, then the point: the copy shares nothing
	 * with the template and costs a group copy, not a group build (about 50k instructions
	 * against 215k for EVP_PKEY_fromdata on OpenSSL 3.0). Setting the encoded point goes
	 * through EC_POINT_oct2point, which refuses coordinates >= p and points off the curve;
	 * the infinity encoding (00) was refused above by its length. */
	EVP_PKEY *tmpl, *k;
	int r = dp_ossl_curve_params(curve, &tmpl);
	if (r)
		return r == DP_ERR_CERT_CURVE ? dp_err_wrap(DP_ERR_EC_POINT, "public key import") : r;
	if ((k = EVP_PKEY_dup(tmpl)) == NULL)
		return dp_ossl_err(DP_ERR_NOMEM, "public key import");
	if (EVP_PKEY_set1_encoded_public_key(k, pt, len) != 1) {
		EVP_PKEY_free(k);
		return dp_ossl_err(DP_ERR_EC_POINT, "public key point on the curve");
	}
	*out = k;
	return DP_OK;
}

int dp_kdf_import_private(enum dp_curve curve, const uint8_t scalar[32], EVP_PKEY **out)
{
	int r;
	uint8_t pub[DP_CURVE_POINT_BYTES];
	uint8_t le[32]; /* OSSL_PARAM_BN takes native (little-endian here) byte order */
	const EC_GROUP *group = NULL;
	EC_POINT *point = NULL;
	BIGNUM *priv = NULL;

	*out = NULL;
	/* the shared group of the curve for the multiplication (read-only use); the key itself
	 * still comes from EVP_PKEY_fromdata, as the EC key manager of OpenSSL 3.0 sets a
	 * private scalar only on import */
	if ((r = dp_ossl_curve_group(curve, &group)))
		return r == DP_ERR_CERT_CURVE ? dp_err_wrap(DP_ERR_CRYPTO, "private key import") : r;
	point = EC_POINT_new(group);
	priv = BN_bin2bn(scalar, 32, NULL);
	if (point == NULL || priv == NULL) {
		r = dp_ossl_err(DP_ERR_NOMEM, "private key import");
		goto out;
	}
	if (BN_is_zero(priv) || BN_cmp(priv, EC_GROUP_get0_order(group)) >= 0) {
		r = dp_err_set(DP_ERR_INVAL, "private scalar is out of range");
		goto out;
	}
	if (EC_POINT_mul(group, point, priv, NULL, NULL, NULL) != 1 ||
	    EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub),
			       NULL) != sizeof(pub) ||
	    BN_bn2nativepad(priv, le, sizeof(le)) != (int)sizeof(le)) {
		r = dp_ossl_err(DP_ERR_CRYPTO, "private key import");
		goto out;
	}
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, dp_ossl_unconst(dp_curve_name(curve)), 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, le, sizeof(le)),
		OSSL_PARAM_END,
	};
	r = from_params(params, EVP_PKEY_KEYPAIR, out, DP_ERR_CRYPTO, "private key import");
out:
	dp_wipe(le, sizeof(le));
	BN_clear_free(priv);
	EC_POINT_free(point);
	return r;
}

int dp_kdf_export_point(const EVP_PKEY *key, uint8_t pt[DP_CURVE_POINT_BYTES])
{
	size_t len = 0;
	if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt,
					    DP_CURVE_POINT_BYTES, &len) != 1)
		return dp_ossl_err(DP_ERR_CRYPTO, "public point export");
	if (len != DP_CURVE_POINT_BYTES || pt[0] != 0x04)
		return dp_err_set(DP_ERR_EC_POINT, "public point is not in uncompressed form");
	return DP_OK;
}

int dp_kdf_ecdh(EVP_PKEY *otsk, EVP_PKEY *peer, uint8_t z[32])
{
	int r;
	enum dp_curve a, b;
	size_t zlen = 32;
	EVP_PKEY_CTX *ctx = NULL;

	if ((r = dp_curve_of_key(otsk, &a)) || (r = dp_curve_of_key(peer, &b)))
		return r;
	if (a != b)
		return dp_err_set(DP_ERR_CERT_CURVE, "ECDH between %s and %s keys",
				  dp_curve_name(a), dp_curve_name(b));
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, otsk, NULL);
	/* The peer point was validated at import; both curves have cofactor 1, so the full
	 * public-key check of EVP_PKEY_derive_set_peer would only repeat it (+70% cost). */
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) != 1 ||
	    EVP_PKEY_derive(ctx, z, &zlen) != 1 || zlen != 32) {
		dp_wipe(z, 32);
		r = dp_ossl_err(DP_ERR_CRYPTO, "ECKA-DH");
		goto out;
	}
	r = DP_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int dp_kdf_shared_info(const uint8_t *host_id, size_t host_id_len,
		       const uint8_t eid[DP_KDF_EID_BYTES], uint8_t *out, size_t cap, size_t *len)
{
	if (host_id_len < 1 || host_id_len > DP_KDF_HOST_ID_MAX)
		return dp_err_set(DP_ERR_INVAL, "hostId must be 1..16 bytes (got %zu)", host_id_len);
	size_t n = 3 + host_id_len + 1 + DP_KDF_EID_BYTES;
	if (cap < n)
		return dp_err_set(DP_ERR_TOO_LONG, "SharedInfo needs %zu bytes", n);
	out[0] = DP_KDF_KEY_TYPE;
	out[1] = DP_KDF_KEY_LENGTH;
	out[2] = (uint8_t)host_id_len;
	memcpy(out + 3, host_id, host_id_len);
	out[3 + host_id_len] = DP_KDF_EID_BYTES;
	memcpy(out + 4 + host_id_len, eid, DP_KDF_EID_BYTES);
	*len = n;
	return DP_OK;
}

int dp_kdf_x963(const uint8_t *z, size_t z_len, const uint8_t *shared_info, size_t si_len,
		struct dp_session_keys *keys)
{
	const struct dp_ossl_algs *a;
	uint8_t out[48];
	EVP_KDF_CTX *k = NULL;
	int r = dp_ossl_algs(&a);
	if (r)
		return r;

	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_KEY, dp_ossl_unconst(z), z_len),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO, dp_ossl_unconst(shared_info), si_len),
		OSSL_PARAM_END,
	};
	if ((k = EVP_KDF_CTX_new(a->x963)) == NULL ||
	    EVP_KDF_derive(k, out, sizeof(out), params) != 1) {
		r = dp_ossl_err(DP_ERR_CRYPTO, "X9.63 KDF");
		goto out;
	}
	memcpy(keys->mcv, out, 16);
	memcpy(keys->s_enc, out + 16, 16);
	memcpy(keys->s_mac, out + 32, 16);
	r = DP_OK;
out:
	dp_wipe(out, sizeof(out));
	EVP_KDF_CTX_free(k);
	return r;
}

int dp_kdf_session_keys(EVP_PKEY *otsk, const uint8_t *peer_point, size_t peer_len,
			const uint8_t *host_id, size_t host_id_len,
			const uint8_t eid[DP_KDF_EID_BYTES], struct dp_session_keys *keys)
{
	enum dp_curve curve;
	uint8_t z[32];
	uint8_t si[DP_KDF_SHARED_INFO_MAX];
	size_t si_len;
	EVP_PKEY *peer = NULL;
	int r;

	if ((r = dp_curve_of_key(otsk, &curve)) ||
	    (r = dp_kdf_shared_info(host_id, host_id_len, eid, si, sizeof(si), &si_len)) ||
	    (r = dp_kdf_import_point(curve, peer_point, peer_len, &peer)))
		goto out;
	if ((r = dp_kdf_ecdh(otsk, peer, z)))
		goto out;
	r = dp_kdf_x963(z, sizeof(z), si, si_len, keys);
	if (r == DP_OK)
		dp_log_debug(DP_LOG_PKI, "session keys derived on %s (hostId of %zu bytes)",
			     dp_curve_name(curve), host_id_len);
out:
	dp_wipe(z, sizeof(z));
	EVP_PKEY_free(peer);
	return r;
}

int dp_kdf_eid_bytes(const char *eid, uint8_t out[DP_KDF_EID_BYTES])
{
	size_t n = 0;
	if (eid == NULL || strlen(eid) != 32)
		return dp_err_set(DP_ERR_INVAL, "EID must be 32 digits");
	for (size_t i = 0; i < 32; i++)
		if (eid[i] < '0' || eid[i] > '9')
			return dp_err_set(DP_ERR_INVAL, "EID has a non-digit at %zu", i);
	return dp_hex_decode(eid, 32, out, DP_KDF_EID_BYTES, &n);
}

void dp_kdf_keys_wipe(struct dp_session_keys *keys)
{
	dp_wipe(keys, sizeof(*keys));
}
