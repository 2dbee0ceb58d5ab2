/* Curve names and detection (see curve.h). */
#include "pki/crypto/curve.h"

#include <strings.h>

#include <openssl/core_names.h>

const char *dp_curve_name(enum dp_curve c)
{
	switch (c) {
	case DP_CURVE_NIST_P256:
		return "P-256";
	case DP_CURVE_BRAINPOOL_P256R1:
		return "brainpoolP256r1";
	}
	return "?";
}

const char *dp_curve_short(enum dp_curve c)
{
	switch (c) {
	case DP_CURVE_NIST_P256:
		return "nist";
	case DP_CURVE_BRAINPOOL_P256R1:
		return "brainpool";
	}
	return "?";
}

static const struct {
	const char *name;
	enum dp_curve curve;
} curve_names[] = {
	{ "nist", DP_CURVE_NIST_P256 },
	{ "p256", DP_CURVE_NIST_P256 },
	{ "P-256", DP_CURVE_NIST_P256 },
	{ "prime256v1", DP_CURVE_NIST_P256 },
	{ "secp256r1", DP_CURVE_NIST_P256 },
	{ "brainpool", DP_CURVE_BRAINPOOL_P256R1 },
	{ "brp", DP_CURVE_BRAINPOOL_P256R1 },
	{ "brainpoolP256r1", DP_CURVE_BRAINPOOL_P256R1 },
};

int dp_curve_parse(const char *s, enum dp_curve *out)
{
	for (size_t i = 0; s != NULL && i < sizeof(curve_names) / sizeof(curve_names[0]); i++) {
		if (strcasecmp(s, curve_names[i].name) == 0) {
			*out = curve_names[i].curve;
			return DP_OK;
		}
	}
	return dp_err_set(DP_ERR_CERT_CURVE, "unknown curve '%s' (use nist or brainpool)",
			  s ? s : "(null)");
}

int dp_curve_of_key(const EVP_PKEY *key, enum dp_curve *out)
{
	char group[64];
	size_t len = 0;

	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return dp_err_set(DP_ERR_CERT_CURVE, "not an EC key");
	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
					    sizeof(group), &len))
		return dp_err_set(DP_ERR_CERT_CURVE, "EC key without a named curve");
	if (strcasecmp(group, "prime256v1") == 0 || strcasecmp(group, "P-256") == 0) {
		*out = DP_CURVE_NIST_P256;
		return DP_OK;
	}
	if (strcasecmp(group, "brainpoolP256r1") == 0) {
		*out = DP_CURVE_BRAINPOOL_P256R1;
		return DP_OK;
	}
	return dp_err_set(DP_ERR_CERT_CURVE, "curve %s is not used in the RSP PKI", group);
}
