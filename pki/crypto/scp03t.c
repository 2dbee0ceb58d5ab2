/* SCP03t segment protection for the BPP, both directions (see scp03t.h).
 * SGP.22 2.5.4 (tags 86/87/88, counter rules), GlobalPlatform SCP03 (C-MAC chaining,
 * ICV = AES-ECB(S-ENC, counter)). The OpenSSL contexts are keyed once per key set and
 * only re-IV'd / restarted per segment. */
#include "pki/crypto/scp03t.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "pki/asn1/tlv.h"
#include "pki/base/log.h"
#include "pki/base/secure.h"
#include "pki/crypto/cmac.h"
#include "pki/crypto/ossl.h"

#define MAC_LEN 8
#define BLOCK 16

struct dp_scp03t {
	EVP_CIPHER_CTX *ecb;     /* AES-128-ECB with S-ENC: the ICV */
	EVP_CIPHER_CTX *cbc_enc; /* AES-128-CBC with S-ENC, no padding; IV per segment */
	EVP_CIPHER_CTX *cbc_dec;
	struct dp_cmac *cmac;    /* AES-CMAC with S-MAC */
	uint8_t mcv[BLOCK];      /* MAC chaining value */
	uint64_t counter;        /* block counter of the next TLV */
};

static int set_keys(struct dp_scp03t *c, const struct dp_session_keys *k)
{
	const struct dp_ossl_algs *a;
	int r = dp_ossl_algs(&a);
	if (r)
		return r;
	if (EVP_EncryptInit_ex2(c->ecb, a->aes128_ecb, k->s_enc, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->ecb, 0) != 1 ||
	    EVP_EncryptInit_ex2(c->cbc_enc, a->aes128_cbc, k->s_enc, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->cbc_enc, 0) != 1 ||
	    EVP_DecryptInit_ex2(c->cbc_dec, a->aes128_cbc, k->s_enc, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->cbc_dec, 0) != 1)
		return dp_ossl_err(DP_ERR_CRYPTO, "SCP03t keys");
	r = c->cmac == NULL ? dp_cmac_new(k->s_mac, &c->cmac) : dp_cmac_set_key(c->cmac, k->s_mac);
	if (r)
		return r;
	memcpy(c->mcv, k->mcv, BLOCK);
	c->counter = 1;
	return DP_OK;
}

int dp_scp03t_new(const struct dp_session_keys *keys, struct dp_scp03t **out)
{
	const struct dp_ossl_algs *a;
	struct dp_scp03t *c = NULL;
	int r = dp_ossl_algs(&a);

	*out = NULL;
	if (r)
		return r;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return dp_err_set(DP_ERR_NOMEM, "SCP03t context");
	c->ecb = EVP_CIPHER_CTX_new();
	c->cbc_enc = EVP_CIPHER_CTX_new();
	c->cbc_dec = EVP_CIPHER_CTX_new();
	if (!c->ecb || !c->cbc_enc || !c->cbc_dec) {
		r = dp_ossl_err(DP_ERR_NOMEM, "SCP03t context");
		goto out;
	}
	if ((r = set_keys(c, keys)))
		goto out;
	*out = c;
	c = NULL;
out:
	dp_scp03t_free(c);
	return r;
}

void dp_scp03t_free(struct dp_scp03t *c)
{
	if (c == NULL)
		return;
	/* OpenSSL cleanses the key schedules when it frees its contexts */
	EVP_CIPHER_CTX_free(c->ecb);
	EVP_CIPHER_CTX_free(c->cbc_enc);
	EVP_CIPHER_CTX_free(c->cbc_dec);
	dp_cmac_free(c->cmac);
	dp_free_secret(c, sizeof(*c));
}

int dp_scp03t_replace_keys(struct dp_scp03t *c, const struct dp_session_keys *keys)
{
	return set_keys(c, keys);
}

uint64_t dp_scp03t_counter(const struct dp_scp03t *c)
{
	return c->counter;
}

/* ICV = AES-ECB(S-ENC, counter as a 16-byte big-endian number). */
static int make_icv(struct dp_scp03t *c, uint8_t icv[BLOCK])
{
	uint8_t block[BLOCK] = { 0 };
	int n = 0;
	for (int i = 0; i < 8; i++)
		block[15 - i] = (uint8_t)(c->counter >> (8 * i));
	if (EVP_EncryptUpdate(c->ecb, icv, &n, block, BLOCK) != 1 || n != BLOCK)
		return dp_ossl_err(DP_ERR_CRYPTO, "SCP03t ICV");
	return DP_OK;
}

/* full = AES-CMAC(S-MAC, MCV || header || data). */
static int cmac(struct dp_scp03t *c, const uint8_t *hdr, size_t hdr_len, const uint8_t *data,
		size_t len, uint8_t full[BLOCK])
{
	const struct dp_cmac_part parts[] = { { c->mcv, BLOCK }, { hdr, hdr_len }, { data, len } };
	int r = dp_cmac(c->cmac, parts, 3, full);
	return r ? dp_err_wrap(r, "SCP03t C-MAC") : DP_OK;
}

/* AES-CBC over whole blocks, in place allowed; enc selects the direction. */
static int cbc(struct dp_scp03t *c, int enc, const uint8_t iv[BLOCK], const uint8_t *in,
	       uint8_t *out, size_t len)
{
	EVP_CIPHER_CTX *x = enc ? c->cbc_enc : c->cbc_dec;
	int n = 0;
	if (EVP_CipherInit_ex2(x, NULL, NULL, iv, enc, NULL) != 1 ||
	    EVP_CipherUpdate(x, out, &n, in, (int)len) != 1 || (size_t)n != len)
		return dp_ossl_err(DP_ERR_CRYPTO, "SCP03t AES-CBC");
	return DP_OK;
}

static int is_tag(uint32_t tag)
{
	return tag == DP_SCP03T_TAG_LOAD || tag == DP_SCP03T_TAG_CONFIGURE ||
	       tag == DP_SCP03T_TAG_METADATA;
}

int dp_scp03t_wrap(struct dp_scp03t *c, uint8_t tag, const uint8_t *plain, size_t len,
		   struct dp_buf *out)
{
	uint8_t hdr[9], icv[BLOCK], full[BLOCK];
	int r;

	if (!is_tag(tag))
		return dp_err_set(DP_ERR_INVAL, "SCP03t tag %02X is not 86, 87 or 88", tag);
	const int encrypt = tag != DP_SCP03T_TAG_METADATA;
	const size_t max = encrypt ? DP_SCP03T_PLAIN_MAX_ENC : DP_SCP03T_PLAIN_MAX_MAC;
	if (len > max)
		return dp_err_set(DP_ERR_TOO_LONG, "SCP03t segment of %zu bytes (max %zu)", len, max);
	/* padding 80 00.. is always added for 86/87: 1..16 bytes */
	const size_t body = encrypt ? (len / BLOCK + 1) * BLOCK : len;
	const size_t hdr_len = dp_tlv_header(tag, body + MAC_LEN, hdr);
	const size_t total = hdr_len + body + MAC_LEN;

	if ((r = dp_buf_reserve(out, total)))
		return r;
	/* Write after out->len and commit only at the end: on error out is as before. */
	uint8_t *dst = out->data + out->len;
	memcpy(dst, hdr, hdr_len);
	uint8_t *data = dst + hdr_len;
	if (len > 0)
		memcpy(data, plain, len);
	if (encrypt) {
		data[len] = 0x80;
		memset(data + len + 1, 0, body - len - 1);
		if ((r = make_icv(c, icv)) || (r = cbc(c, 1, icv, data, data, body)))
			goto out;
	}
	if ((r = cmac(c, hdr, hdr_len, data, body, full)))
		goto out;
	memcpy(data + body, full, MAC_LEN);
	memcpy(c->mcv, full, BLOCK);
	c->counter++;
	out->len += total;
out:
	if (r && out->secret)
		dp_wipe(dst, total);
	return r;
}

int dp_scp03t_wrap_all(struct dp_scp03t *c, uint8_t tag, const uint8_t *plain, size_t len,
		       struct dp_buf *out)
{
	const size_t max = tag == DP_SCP03T_TAG_METADATA ? DP_SCP03T_PLAIN_MAX_MAC
							 : DP_SCP03T_PLAIN_MAX_ENC;
	for (size_t off = 0; off < len; off += max) {
		size_t n = len - off < max ? len - off : max;
		int r = dp_scp03t_wrap(c, tag, plain + off, n, out);
		if (r)
			return dp_err_wrap(r, "segment at offset %zu", off);
	}
	return DP_OK;
}

int dp_scp03t_unwrap(struct dp_scp03t *c, const uint8_t *tlv, size_t len, uint8_t *tag,
		     struct dp_buf *plain)
{
	struct dp_tlv t;
	uint8_t icv[BLOCK], full[BLOCK];
	uint8_t clear[DP_SCP03T_SEGMENT_MAX];
	size_t clear_len = 0;
	int r;

	if (len > DP_SCP03T_SEGMENT_MAX)
		return dp_err_set(DP_ERR_SCP03T_STRUCTURE, "SCP03t TLV of %zu bytes (max %d)", len,
				  DP_SCP03T_SEGMENT_MAX);
	if ((r = dp_tlv_expect(tlv, len, 0, &t)))
		return dp_err_set(DP_ERR_SCP03T_STRUCTURE, "SCP03t TLV: %s", dp_strerror(r));
	if (!is_tag(t.tag))
		return dp_err_set(DP_ERR_SCP03T_STRUCTURE, "tag %X is not 86, 87 or 88", t.tag);
	const int encrypt = t.tag != DP_SCP03T_TAG_METADATA;
	if (t.len < MAC_LEN || (encrypt && (t.len - MAC_LEN == 0 ||
					    (t.len - MAC_LEN) % BLOCK != 0)))
		return dp_err_set(DP_ERR_SCP03T_STRUCTURE,
				  "SCP03t %X value of %zu bytes is not data + 8-byte MAC", t.tag,
				  t.len);
	const size_t body = t.len - MAC_LEN;
	const size_t hdr_len = (size_t)(t.value - t.raw);

	if ((r = cmac(c, t.raw, hdr_len, t.value, body, full)))
		goto out;
	if (!dp_ct_equal(full, t.value + body, MAC_LEN)) {
		dp_log_debug(DP_LOG_PKI, "SCP03t %X segment of %zu bytes failed its MAC", t.tag, len);
		r = dp_err_set(DP_ERR_SCP03T_MAC, "C-MAC of %X segment (counter %llu)", t.tag,
			       (unsigned long long)c->counter);
		goto out;
	}
	if (encrypt) {
		if ((r = make_icv(c, icv)) || (r = cbc(c, 0, icv, t.value, clear, body)))
			goto out;
		clear_len = body;
		while (clear_len > body - BLOCK && clear[clear_len - 1] == 0x00)
			clear_len--;
		if (clear_len == body - BLOCK || clear[clear_len - 1] != 0x80) {
			r = dp_err_set(DP_ERR_SCP03T_STRUCTURE, "SCP03t padding is not 80 00..");
			goto out;
		}
		clear_len--;
		r = dp_buf_append(plain, clear, clear_len);
	} else {
		r = dp_buf_append(plain, t.value, body);
	}
	if (r)
		goto out;
	*tag = (uint8_t)t.tag;
	memcpy(c->mcv, full, BLOCK);
	c->counter++;
out:
	dp_wipe(clear, sizeof(clear));
	return r;
}

int dp_scp03t_replace_keys_request(const struct dp_session_keys *ppk, struct dp_buf *out)
{
	uint8_t v[3 * (2 + 16)];
	for (int i = 0; i < 3; i++) {
		v[18 * i] = (uint8_t)(0x80 + i);
		v[18 * i + 1] = 16;
	}
	memcpy(v + 2, ppk->mcv, 16);
	memcpy(v + 20, ppk->s_enc, 16);
	memcpy(v + 38, ppk->s_mac, 16);
	int r = dp_tlv_append(out, 0xBF26, v, sizeof(v));
	dp_wipe(v, sizeof(v));
	return r;
}

int dp_scp03t_parse_replace_keys(const uint8_t *p, size_t len, struct dp_session_keys *ppk)
{
	struct dp_tlv outer, m;
	uint8_t *dst[3] = { ppk->mcv, ppk->s_enc, ppk->s_mac };
	int r = dp_tlv_expect(p, len, 0xBF26, &outer);
	if (r)
		return dp_err_set(DP_ERR_SCP03T_STRUCTURE, "ReplaceSessionKeysRequest: %s",
				  dp_strerror(r));
	struct dp_cursor c = dp_cursor_make(outer.value, outer.len);
	for (int i = 0; i < 3; i++) {
		if ((r = dp_tlv_next(&c, &m)) || m.tag != (uint32_t)(0x80 + i) || m.len != 16) {
			dp_kdf_keys_wipe(ppk);
			return dp_err_set(DP_ERR_SCP03T_STRUCTURE,
					  "ReplaceSessionKeysRequest member %d is not [%d] of 16 bytes",
					  i, i);
		}
		memcpy(dst[i], m.value, 16);
	}
	if (!dp_cursor_done(&c)) {
		dp_kdf_keys_wipe(ppk);
		return dp_err_set(DP_ERR_SCP03T_STRUCTURE,
				  "ReplaceSessionKeysRequest has extra members");
	}
	return DP_OK;
}
