/* AES-128-CMAC on one AES-128-CBC context (see cmac.h). */
#include "pki/crypto/cmac.h"

#include <stdlib.h>
#include <string.h>

#include "pki/base/secure.h"
#include "pki/crypto/ossl.h"

#define BLOCK 16
/* bytes of message enciphered per EVP_EncryptUpdate; a multiple of BLOCK */
#define RUN 1024

struct dp_cmac {
	EVP_CIPHER_CTX *cbc; /* AES-128-CBC with the key, no padding */
	uint8_t k1[BLOCK], k2[BLOCK];
};

static const uint8_t zero[BLOCK];

/* out = in doubled in GF(2^128): shifted left one bit, 0x87 folded in on carry. */
static void dbl(const uint8_t in[BLOCK], uint8_t out[BLOCK])
{
	const uint8_t carry = (uint8_t)(in[0] >> 7);
	for (int i = 0; i < BLOCK - 1; i++)
		out[i] = (uint8_t)(in[i] << 1 | in[i + 1] >> 7);
	out[BLOCK - 1] = (uint8_t)(in[BLOCK - 1] << 1) ^ (uint8_t)(0x87 & -carry);
}

/* AES-CBC from IV 0 over len bytes (a multiple of BLOCK) of buf, in place. */
static int encipher(struct dp_cmac *c, uint8_t *buf, size_t len)
{
	int n = 0;
	if (EVP_EncryptUpdate(c->cbc, buf, &n, buf, (int)len) != 1 || (size_t)n != len)
		return dp_ossl_err(DP_ERR_CRYPTO, "AES-CMAC");
	return DP_OK;
}

int dp_cmac_set_key(struct dp_cmac *c, const uint8_t key[DP_CMAC_KEY_BYTES])
{
	const struct dp_ossl_algs *a;
	uint8_t l[BLOCK];
	int r = dp_ossl_algs(&a);
	if (r)
		return r;
	/* L = AES(key, 0^128): the first block of CBC from IV 0 */
	memset(l, 0, sizeof(l));
	if (EVP_EncryptInit_ex2(c->cbc, a->aes128_cbc, key, zero, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->cbc, 0) != 1)
		return dp_ossl_err(DP_ERR_CRYPTO, "AES-CMAC key");
	if ((r = encipher(c, l, BLOCK)) == DP_OK) {
		dbl(l, c->k1);
		dbl(c->k1, c->k2);
	}
	dp_wipe(l, sizeof(l));
	return r;
}

int dp_cmac_new(const uint8_t key[DP_CMAC_KEY_BYTES], struct dp_cmac **out)
{
	struct dp_cmac *c;
	int r;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return dp_err_set(DP_ERR_NOMEM, "AES-CMAC context");
	if ((c->cbc = EVP_CIPHER_CTX_new()) == NULL) {
		dp_cmac_free(c);
		return dp_ossl_err(DP_ERR_NOMEM, "AES-CMAC context");
	}
	if ((r = dp_cmac_set_key(c, key))) {
		dp_cmac_free(c);
		return r;
	}
	*out = c;
	return DP_OK;
}

void dp_cmac_free(struct dp_cmac *c)
{
	if (c == NULL)
		return;
	EVP_CIPHER_CTX_free(c->cbc);
	dp_free_secret(c, sizeof(*c));
}

/* The message is copied into buf and enciphered RUN bytes at a time, always holding back
 * the last BLOCK bytes gathered: they may be the last block, which is changed first. */
int dp_cmac(struct dp_cmac *c, const struct dp_cmac_part *parts, size_t n,
	    uint8_t mac[DP_CMAC_BYTES])
{
	uint8_t buf[RUN + BLOCK];
	size_t fill = 0;
	int r;

	if (EVP_EncryptInit_ex2(c->cbc, NULL, NULL, zero, NULL) != 1)
		return dp_ossl_err(DP_ERR_CRYPTO, "AES-CMAC");
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = parts[i].p;
		size_t left = parts[i].len;
		while (left > 0) {
			if (fill == sizeof(buf)) {
				if ((r = encipher(c, buf, RUN)))
					return r;
				memcpy(buf, buf + RUN, BLOCK);
				fill = BLOCK;
			}
			size_t take = sizeof(buf) - fill < left ? sizeof(buf) - fill : left;
			memcpy(buf + fill, p, take);
			fill += take;
			p += take;
			left -= take;
		}
	}
	/* the last block: buf[last, fill), 1..16 bytes, or none for an empty message */
	const size_t last = fill == 0 ? 0 : (fill - 1) / BLOCK * BLOCK;
	const uint8_t *k = c->k1;
	if (fill - last < BLOCK) {
		buf[fill] = 0x80;
		memset(buf + fill + 1, 0, last + BLOCK - fill - 1);
		k = c->k2;
	}
	for (int j = 0; j < BLOCK; j++)
		buf[last + j] ^= k[j];
	if ((r = encipher(c, buf, last + BLOCK)))
		return r;
	memcpy(mac, buf + last, BLOCK);
	return DP_OK;
}
