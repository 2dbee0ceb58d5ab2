/* OpenSSL error capture and algorithms fetched once (see ossl.h). */
#include "pki/crypto/ossl.h"

#include <pthread.h>
#include <stdio.h>

#include <openssl/err.h>

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
	algs.cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	algs.x963 = EVP_KDF_fetch(NULL, "X963KDF", NULL);
	if (algs.sha256 && algs.aes128_cbc && algs.aes128_ecb && algs.cmac && algs.x963)
		algs_status = DP_OK;
	ERR_clear_error();
}

int dp_ossl_algs(const struct dp_ossl_algs **out)
{
	pthread_once(&algs_once, fetch_algs);
	if (algs_status != DP_OK)
		return dp_err_set(DP_ERR_CRYPTO,
				  "OpenSSL default provider lacks SHA256/AES-128/CMAC/X963KDF");
	*out = &algs;
	return DP_OK;
}
