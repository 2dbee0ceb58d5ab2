/* Secret hygiene on top of OpenSSL's cleanse and constant-time compare. */
#include "pki/base/secure.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void dp_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void dp_free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	dp_wipe(p, n);
	free(p);
}

void dp_free_secret_str(char *s)
{
	if (s != NULL)
		dp_free_secret(s, strlen(s));
}

bool dp_ct_equal(const void *a, const void *b, size_t n)
{
	return n == 0 || CRYPTO_memcmp(a, b, n) == 0;
}
