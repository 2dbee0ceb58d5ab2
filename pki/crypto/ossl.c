/* OpenSSL error capture, algorithms, curve templates and the key-less library context,
 * each made once per process (see ossl.h). */
#include "pki/crypto/ossl.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>

int dp_ossl_err(int err, const char *what)
{
	unsigned long e = ERR_get_error();
	char text[256];

	if (e == 0) {
		dp_err_set(err, "%s", what);
	} else {
		ERR_error_string_n(e, text, sizeof(text));
		dp_err_set(err, "%s: %s", what, text);
	}
	ERR_clear_error();
	return err;
}

static struct dp_ossl_algs algs;
static int algs_status = DP_ERR_CRYPTO;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void fetch_algs(void)
{
	algs.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	algs.aes128_cbc = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
	algs.aes128_ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	algs.x963 = EVP_KDF_fetch(NULL, "X963KDF", NULL);
	if (algs.sha256 && algs.aes128_cbc && algs.aes128_ecb && algs.x963)
		algs_status = DP_OK;
	ERR_clear_error();
}

int dp_ossl_algs(const struct dp_ossl_algs **out)
{
	pthread_once(&algs_once, fetch_algs);
	if (algs_status != DP_OK)
		return dp_err_set(DP_ERR_CRYPTO,
				  "OpenSSL default provider lacks SHA256/AES-128/X963KDF");
	*out = &algs;
	return DP_OK;
}

/* ---- per-curve objects ---- */

/* Indexed by enum dp_curve (1 and 2); slot 0 unused. */
static EVP_PKEY *curve_params[3];
static EC_GROUP *curve_groups[3];
static int curves_status = DP_ERR_CRYPTO;
static pthread_once_t curves_once = PTHREAD_ONCE_INIT;

/* A parameters-only key of the named group: what EVP_PKEY_dup copies and keygen templates
 * from (the group is copied, not rebuilt from its name). */
static EVP_PKEY *make_params(const char *group)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, dp_ossl_unconst(group), 0),
		OSSL_PARAM_END,
	};
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEY_PARAMETERS, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static void make_curves(void)
{
	static const struct {
		enum dp_curve curve;
		int nid;
	} c[] = { { DP_CURVE_NIST_P256, NID_X9_62_prime256v1 },
		  { DP_CURVE_BRAINPOOL_P256R1, NID_brainpoolP256r1 } };
	bool ok = true;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		curve_params[c[i].curve] = make_params(dp_curve_name(c[i].curve));
		curve_groups[c[i].curve] = EC_GROUP_new_by_curve_name(c[i].nid);
		ok = ok && curve_params[c[i].curve] != NULL && curve_groups[c[i].curve] != NULL;
	}
	if (ok)
		curves_status = DP_OK;
	ERR_clear_error();
}

static int curve_index(enum dp_curve curve)
{
	if (curve != DP_CURVE_NIST_P256 && curve != DP_CURVE_BRAINPOOL_P256R1)
		return dp_err_set(DP_ERR_CERT_CURVE, "curve %d is not used in the RSP PKI", curve);
	pthread_once(&curves_once, make_curves);
	if (curves_status != DP_OK)
		return dp_err_set(DP_ERR_CRYPTO, "OpenSSL cannot make the P-256/brainpoolP256r1 "
				  "groups");
	return (int)curve;
}

int dp_ossl_curve_params(enum dp_curve curve, EVP_PKEY **out)
{
	int i = curve_index(curve);
	if (i < 0)
		return i;
	*out = curve_params[i];
	return DP_OK;
}

int dp_ossl_curve_group(enum dp_curve curve, const EC_GROUP **out)
{
	int i = curve_index(curve);
	if (i < 0)
		return i;
	*out = curve_groups[i];
	return DP_OK;
}

/* ---- the key-less library context ---- */

static OSSL_LIB_CTX *nokey_ctx;
static pthread_once_t nokey_once = PTHREAD_ONCE_INIT;

static void make_nokey_ctx(void)
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
	/* loading any provider explicitly stops the fallback to the default one */
	if (ctx != NULL && OSSL_PROVIDER_load(ctx, "null") == NULL) {
		OSSL_LIB_CTX_free(ctx);
		ctx = NULL;
	}
	nokey_ctx = ctx;
	ERR_clear_error();
}

int dp_ossl_nokey_ctx(OSSL_LIB_CTX **out)
{
	pthread_once(&nokey_once, make_nokey_ctx);
	if (nokey_ctx == NULL)
		return dp_err_set(DP_ERR_CRYPTO, "OpenSSL null-provider library context");
	*out = nokey_ctx;
	return DP_OK;
}
