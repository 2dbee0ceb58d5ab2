/* ECDSA sign/verify over raw bytes and the r||s <-> DER conversion (see ecdsa.h).
 * SGP.22 2.6.5 / BSI TR-03111 5.2.2 plain format. The conversion is done with the strict
 * TLV reader rather than d2i_ECDSA_SIG: it sits on every signature of every download and
 * needs no bignum allocations; tlv.h already rejects non-minimal lengths. */
#include "pki/crypto/ecdsa.h"

#include <pthread.h>
#include <stdlib.h>
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

/* The signing and verifying contexts a thread keeps, KEPT of each, for the keys it used last.
 * OpenSSL 3.0 looks the key's manager up by name (EVP_KEYMGMT_names_do_all) every time an
 * EVP_PKEY_CTX is made, about 12,000 instructions, and EVP_DigestSignInit/VerifyInit fetch the
 * signature algorithm again: together about 10% of a P-256 signature. Our own keys (DPauth
 * and DPpb, on each curve) sign in turn over and over, and an EUM key verifies every eUICC
 * of its batch, so the same few keys come back on the same thread. A kept context holds a
 * reference to its key (EVP_PKEY_CTX_new_from_pkey takes one), so the key's address cannot
 * be reused for another key while the context is kept; the least recently used context
 * makes way for a new key, and all go when the thread ends. The message is hashed first
 * (EVP_Digest with the fetched SHA-256) and the digest signed or verified: the same
 * ECDSA-with-SHA-256 as EVP_DigestSign. */
#define KEPT 4

struct kept_ctx {
	EVP_PKEY *key;
	EVP_PKEY_CTX *ctx;
	unsigned long used; /* the set's clock at the last use */
};

struct kept_set {
	struct kept_ctx slot[KEPT];
	unsigned long clock;
};

struct thread_ctxs {
	struct kept_set sign, verify;
};

static pthread_key_t ctxs_key;
static pthread_once_t ctxs_once = PTHREAD_ONCE_INIT;
static int ctxs_ok;

static void ctxs_free(void *p)
{
	struct thread_ctxs *t = p;
	for (int i = 0; i < KEPT; i++) {
		EVP_PKEY_CTX_free(t->sign.slot[i].ctx);
		EVP_PKEY_CTX_free(t->verify.slot[i].ctx);
	}
	free(t);
}

static void ctxs_init(void)
{
	ctxs_ok = pthread_key_create(&ctxs_key, ctxs_free) == 0;
}

/* The calling thread's kept contexts for signing or verifying (NULL when thread-specific
 * data cannot be had: the caller then makes a context of its own). */
static struct kept_set *kept(int sign)
{
	struct thread_ctxs *t;
	if (pthread_once(&ctxs_once, ctxs_init) != 0 || !ctxs_ok)
		return NULL;
	if ((t = pthread_getspecific(ctxs_key)) == NULL) {
		if ((t = calloc(1, sizeof(*t))) == NULL)
			return NULL;
		if (pthread_setspecific(ctxs_key, t) != 0) {
			free(t);
			return NULL;
		}
	}
	return sign ? &t->sign : &t->verify;
}

/* A context for key initialised for signing or verifying: the kept one for key, else a new
 * one, kept in place of the least recently used when set is not NULL (*slot then says
 * where; NULL when the context is not kept). NULL on failure (OpenSSL's error queue says
 * why). */
static EVP_PKEY_CTX *ctx_for(struct kept_set *set, EVP_PKEY *key, int sign,
			     struct kept_ctx **slot)
{
	struct kept_ctx *old = NULL;
	EVP_PKEY_CTX *ctx;

	*slot = NULL;
	if (set != NULL) {
		set->clock++;
		for (int i = 0; i < KEPT; i++) {
			struct kept_ctx *k = &set->slot[i];
			if (k->ctx != NULL && k->key == key) {
				k->used = set->clock;
				*slot = k;
				return k->ctx;
			}
			if (old == NULL || k->used < old->used)
				old = k;
		}
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL ||
	    (sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	if (old != NULL) {
		EVP_PKEY_CTX_free(old->ctx);
		*old = (struct kept_ctx){ key, ctx, set->clock };
		*slot = old;
	}
	return ctx;
}

/* Ends the use of ctx: a context not kept is freed; a kept one that failed is dropped, as
 * its state is then unknown. */
static void ctx_done(struct kept_ctx *slot, EVP_PKEY_CTX *ctx, int failed)
{
	if (slot == NULL) {
		EVP_PKEY_CTX_free(ctx);
	} else if (failed) {
		EVP_PKEY_CTX_free(slot->ctx);
		*slot = (struct kept_ctx){ NULL, NULL, 0 };
	}
}

static int digest(const uint8_t *msg, size_t len, uint8_t md[32])
{
	const struct dp_ossl_algs *a;
	unsigned int n = 0;
	int r = dp_ossl_algs(&a);
	if (r)
		return r;
	if (EVP_Digest(msg, len, md, &n, a->sha256, NULL) != 1 || n != 32)
		return dp_ossl_err(DP_ERR_CRYPTO, "SHA-256");
	return DP_OK;
}

int dp_ecdsa_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t sig[DP_ECDSA_RS_BYTES])
{
	uint8_t md[32], der[DP_ECDSA_DER_MAX + 8];
	size_t der_len = sizeof(der);
	struct kept_ctx *k;
	EVP_PKEY_CTX *ctx;
	int r = digest(msg, len, md);
	if (r)
		return r;

	if ((ctx = ctx_for(kept(1), key, 1, &k)) == NULL)
		return dp_ossl_err(DP_ERR_CRYPTO, "ECDSA sign");
	if (EVP_PKEY_sign(ctx, der, &der_len, md, sizeof(md)) != 1) {
		ctx_done(k, ctx, 1);
		return dp_ossl_err(DP_ERR_CRYPTO, "ECDSA sign");
	}
	ctx_done(k, ctx, 0);
	r = dp_ecdsa_der_to_rs(der, der_len, sig);
	if (r)
		r = dp_err_wrap(DP_ERR_CRYPTO, "ECDSA sign produced an unexpected signature");
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
	uint8_t md[32], der[DP_ECDSA_DER_MAX];
	size_t der_len;
	struct kept_ctx *k;
	EVP_PKEY_CTX *ctx;
	int r;

	if (sig_len != DP_ECDSA_RS_BYTES)
		return dp_err_set(DP_ERR_ECDSA_FORMAT, "r||s signature has %zu bytes, not 64",
				  sig_len);
	if ((r = dp_ecdsa_rs_to_der(sig, der, sizeof(der), &der_len)) ||
	    (r = digest(msg, len, md)))
		return r;
	if ((ctx = ctx_for(kept(0), key, 0, &k)) == NULL)
		return dp_ossl_err(DP_ERR_CRYPTO, "ECDSA verify");
	switch (EVP_PKEY_verify(ctx, der, der_len, md, sizeof(md))) {
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
	/* a signature that does not verify leaves the context as it was */
	ctx_done(k, ctx, r != DP_OK && r != DP_ERR_SIGNATURE);
	return r;
}
