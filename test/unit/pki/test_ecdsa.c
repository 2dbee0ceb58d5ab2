/* ECDSA in the RSP formats (SGP.22 2.6.5): r||s <-> DER, sign and verify over raw bytes.
 * Known answers: RFC 6979 signatures made by python3 cryptography (make_vectors.py) on both
 * curves, picked so that r or s has a leading zero byte; the SGP.26 keys for signing. */
#include "test/unit/pki/pki_test.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/asn1/tlv.h"
#include "pki/crypto/ecdsa.h"
#include "pki/crypto/kdf.h"

static void known_answer(const char *curve_name, enum dp_curve curve, const char *kind)
{
	char n[64];
	struct dp_buf pub, msg, der, rs;
	uint8_t got_rs[64], got_der[DP_ECDSA_DER_MAX];
	size_t der_len;
	EVP_PKEY *key = NULL;

	snprintf(n, sizeof(n), "ecdsa.%s.pub", curve_name);
	pki_vec(n, &pub);
	snprintf(n, sizeof(n), "ecdsa.%s.%s.msg", curve_name, kind);
	pki_vec(n, &msg);
	snprintf(n, sizeof(n), "ecdsa.%s.%s.der", curve_name, kind);
	pki_vec(n, &der);
	snprintf(n, sizeof(n), "ecdsa.%s.%s.rs", curve_name, kind);
	pki_vec(n, &rs);

	/* DER -> r||s -> DER gives exactly the bytes python made */
	assert_int_equal(dp_ecdsa_der_to_rs(der.data, der.len, got_rs), 0);
	assert_bytes_equal(got_rs, 64, rs.data, rs.len);
	assert_int_equal(dp_ecdsa_rs_to_der(rs.data, got_der, sizeof(got_der), &der_len), 0);
	assert_bytes_equal(got_der, der_len, der.data, der.len);

	/* and the signature verifies over the message */
	assert_int_equal(dp_kdf_import_point(curve, pub.data, pub.len, &key), 0);
	assert_int_equal(dp_ecdsa_verify(key, msg.data, msg.len, rs.data, rs.len), 0);
	/* a flipped bit in r, in s, or in the message */
	rs.data[5] ^= 0x10;
	assert_int_equal(dp_ecdsa_verify(key, msg.data, msg.len, rs.data, rs.len),
			 DP_ERR_SIGNATURE);
	rs.data[5] ^= 0x10;
	rs.data[63] ^= 0x01;
	assert_int_equal(dp_ecdsa_verify(key, msg.data, msg.len, rs.data, rs.len),
			 DP_ERR_SIGNATURE);
	rs.data[63] ^= 0x01;
	msg.data[0] ^= 0x01;
	assert_int_equal(dp_ecdsa_verify(key, msg.data, msg.len, rs.data, rs.len),
			 DP_ERR_SIGNATURE);
	EVP_PKEY_free(key);
	dp_buf_deinit(&pub);
	dp_buf_deinit(&msg);
	dp_buf_deinit(&der);
	dp_buf_deinit(&rs);
}

static void test_known_answers(void **state)
{
	static const char *const kinds[] = { "plain", "r0", "s0" };
	for (size_t i = 0; i < 3; i++) {
		known_answer("nist", DP_CURVE_NIST_P256, kinds[i]);
		known_answer("brainpool", DP_CURVE_BRAINPOOL_P256R1, kinds[i]);
	}
	/* the leading-zero cases really are: NIST r0 keeps a 00 sign byte, brainpool s0 drops
	 * the zero byte (a 31-byte INTEGER) */
	struct dp_buf der;
	pki_vec("ecdsa.brainpool.s0.der", &der);
	struct dp_tlv seq, r, s;
	assert_int_equal(dp_tlv_expect(der.data, der.len, 0x30, &seq), 0);
	struct dp_cursor c = dp_cursor_make(seq.value, seq.len);
	assert_int_equal(dp_tlv_next(&c, &r), 0);
	assert_int_equal(dp_tlv_next(&c, &s), 0);
	assert_int_equal(s.len, 31);
	dp_buf_deinit(&der);
}

static void test_conversion_edges(void **state)
{
	uint8_t rs[64], back[64], der[DP_ECDSA_DER_MAX];
	size_t len;
	struct dp_buf want;

	/* r = 00 00 01 02 .. (two leading zeros), s = 80 .. (high bit: a 00 pad in DER) */
	memset(rs, 0, sizeof(rs));
	for (int i = 2; i < 32; i++)
		rs[i] = (uint8_t)(i - 1);
	rs[32] = 0x80;
	for (int i = 33; i < 64; i++)
		rs[i] = (uint8_t)i;
	assert_int_equal(dp_ecdsa_rs_to_der(rs, der, sizeof(der), &len), 0);
	dp_test_hex("30 43"
		    " 02 1E 0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E"
		    " 02 21 00 80 2122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F",
		    &want);
	assert_bytes_equal(der, len, want.data, want.len);
	dp_buf_deinit(&want);
	assert_int_equal(dp_ecdsa_der_to_rs(der, len, back), 0);
	assert_memory_equal(back, rs, 64);

	/* the smallest values: r = 1, s = 0x7F */
	memset(rs, 0, sizeof(rs));
	rs[31] = 1;
	rs[63] = 0x7F;
	assert_int_equal(dp_ecdsa_rs_to_der(rs, der, sizeof(der), &len), 0);
	dp_test_hex("3006 020101 02017F", &want);
	assert_bytes_equal(der, len, want.data, want.len);
	dp_buf_deinit(&want);
	assert_int_equal(dp_ecdsa_der_to_rs(der, len, back), 0);
	assert_memory_equal(back, rs, 64);

	/* the largest: both 0xFF.. -> 72 bytes */
	memset(rs, 0xFF, sizeof(rs));
	assert_int_equal(dp_ecdsa_rs_to_der(rs, der, sizeof(der), &len), 0);
	assert_int_equal(len, DP_ECDSA_DER_MAX);
	assert_int_equal(dp_ecdsa_rs_to_der(rs, der, 71, &len), DP_ERR_TOO_LONG);
	assert_int_equal(dp_ecdsa_der_to_rs(der, DP_ECDSA_DER_MAX, back), 0);
	assert_memory_equal(back, rs, 64);

	/* zero r or s has no signature */
	memset(rs, 0, 32);
	assert_int_equal(dp_ecdsa_rs_to_der(rs, der, sizeof(der), &len), DP_ERR_ECDSA_FORMAT);
}

static void test_der_rejects(void **state)
{
	static const char *const bad[] = {
		"",                                  /* empty */
		"3006 020101 020101 00",             /* trailing byte */
		"3007 020101 020101 00",             /* trailing byte inside */
		"3106 020101 020101",                /* SET, not SEQUENCE */
		"3003 020101",                       /* s missing */
		"3006 020181 020101",                /* negative r */
		"3007 02020001 020101",              /* non-minimal r (00 before 01) */
		"3006 020100 020101",                /* r = 0 */
		"3006 020101 020100",                /* s = 0 */
		"3005 0200 020101",                  /* empty INTEGER */
		"3006 040101 020101",                /* OCTET STRING */
		"3081 06 020101 020101",             /* non-minimal length */
		"3080 020101 020101 0000",           /* indefinite length */
		"3026 0221 01 0000000000000000000000000000000000000000000000000000000000000000 020101",
		/* 33-byte r without a sign pad: longer than 32 bytes */
	};
	uint8_t rs[64];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dp_buf b;
		dp_test_hex(bad[i], &b);
		int r = dp_ecdsa_der_to_rs(b.data, b.len, rs);
		if (r != DP_ERR_ECDSA_FORMAT)
			fail_msg("case %zu (%s) gave %d", i, bad[i], r);
		assert_true(strlen(dp_err_detail()) > 0);
		dp_buf_deinit(&b);
	}
}

static void sign_verify(EVP_PKEY *sk, EVP_PKEY *pk)
{
	/* a message shaped like serverSigned1 with a non-minimal length inside: the signature
	 * covers these bytes as they are, nothing is re-encoded */
	uint8_t msg[] = { 0x30, 0x81, 0x05, 0x80, 0x03, 0x01, 0x02, 0x03 };
	uint8_t sig[64];
	struct dp_buf tlv;

	assert_int_equal(dp_ecdsa_sign(sk, msg, sizeof(msg), sig), 0);
	assert_int_equal(dp_ecdsa_verify(pk, msg, sizeof(msg), sig, 64), 0);
	assert_int_equal(dp_ecdsa_verify(sk, msg, sizeof(msg), sig, 64), 0);
	assert_int_equal(dp_ecdsa_verify(pk, msg, sizeof(msg) - 1, sig, 64), DP_ERR_SIGNATURE);
	assert_int_equal(dp_ecdsa_verify(pk, msg, sizeof(msg), sig, 63), DP_ERR_ECDSA_FORMAT);
	assert_int_equal(dp_ecdsa_verify(pk, msg, sizeof(msg), sig, 65), DP_ERR_ECDSA_FORMAT);

	/* the same check as OpenSSL's own DER verify */
	uint8_t der[DP_ECDSA_DER_MAX];
	size_t der_len;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	assert_int_equal(dp_ecdsa_rs_to_der(sig, der, sizeof(der), &der_len), 0);
	assert_int_equal(EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, pk), 1);
	assert_int_equal(EVP_DigestVerify(m, der, der_len, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(m);

	/* 5F37 40 r||s */
	dp_buf_init(&tlv, 128);
	assert_int_equal(dp_ecdsa_sign_tlv(sk, msg, sizeof(msg), &tlv), 0);
	assert_int_equal(tlv.len, 3 + 64);
	assert_int_equal(tlv.data[0], 0x5F);
	assert_int_equal(tlv.data[1], 0x37);
	assert_int_equal(tlv.data[2], 0x40);
	assert_int_equal(dp_ecdsa_verify(pk, msg, sizeof(msg), tlv.data + 3, 64), 0);
	dp_buf_deinit(&tlv);
}

static void test_sign_verify_sgp26_keys(void **state)
{
	static const char *const pairs[][2] = {
		{ "DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem", "DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der" },
		{ "DPauth/SK_S_SM_DPauth_ECDSA_BRP.pem", "DPauth/CERT_S_SM_DPauth_ECDSA_BRP.der" },
		{ "eUICC/SK_EUICC_ECDSA_NIST.pem", "eUICC/CERT_EUICC_ECDSA_NIST.der" },
		{ "eUICC/SK_EUICC_ECDSA_BRP.pem", "eUICC/CERT_EUICC_ECDSA_BRP.der" },
	};
	for (size_t i = 0; i < 4; i++) {
		EVP_PKEY *sk = pki_sgp26_key(pairs[i][0]);
		struct dp_cert *c = pki_sgp26_cert(pairs[i][1]);
		assert_int_equal(dp_cert_check_key(c, sk), 0);
		sign_verify(sk, dp_cert_pubkey(c));
		dp_cert_free(c);
		EVP_PKEY_free(sk);
	}
	/* a signature by one key does not verify under another */
	EVP_PKEY *a = pki_sgp26_key("DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem");
	EVP_PKEY *b = pki_sgp26_key("DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem");
	uint8_t sig[64], msg[3] = { 1, 2, 3 };
	assert_int_equal(dp_ecdsa_sign(a, msg, 3, sig), 0);
	assert_int_equal(dp_ecdsa_verify(b, msg, 3, sig, 64), DP_ERR_SIGNATURE);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

static void test_leading_zeros_in_real_signatures(void **state)
{
	/* sign until r and s each came out with a leading zero byte (p = 1/256 each); every
	 * one must verify and survive r||s -> DER -> r||s unchanged */
	EVP_PKEY *k = NULL;
	uint8_t msg[8] = { 0 }, sig[64], der[DP_ECDSA_DER_MAX], back[64];
	size_t len;
	bool r0 = false, s0 = false;
	assert_int_equal(dp_kdf_generate(DP_CURVE_NIST_P256, &k), 0);
	for (int i = 0; i < 20000 && !(r0 && s0); i++) {
		memcpy(msg, &i, sizeof(i));
		assert_int_equal(dp_ecdsa_sign(k, msg, sizeof(msg), sig), 0);
		r0 |= sig[0] == 0;
		s0 |= sig[32] == 0;
		assert_int_equal(dp_ecdsa_rs_to_der(sig, der, sizeof(der), &len), 0);
		assert_int_equal(dp_ecdsa_der_to_rs(der, len, back), 0);
		assert_memory_equal(back, sig, 64);
		if (sig[0] == 0 || sig[32] == 0)
			assert_int_equal(dp_ecdsa_verify(k, msg, sizeof(msg), sig, 64), 0);
	}
	assert_true(r0 && s0);
	EVP_PKEY_free(k);
}

/* pk's public key alone, as a new EVP_PKEY (so no private half can be used to verify) */
static EVP_PKEY *public_only(EVP_PKEY *k)
{
	uint8_t *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	const uint8_t *p = der;
	assert_true(n > 0);
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, n);
	assert_non_null(pub);
	OPENSSL_free(der);
	return pub;
}

/* Each thread keeps its signing and verifying context for the last key it used (ecdsa.c).
 * Keys come and go: a key freed by its owner while its context is kept, and a new key that
 * may be allocated at the freed key's address, must each sign as themselves. */
static void test_kept_contexts_follow_the_key(void **state)
{
	uint8_t msg[4] = { 9, 8, 7, 6 }, sig[64];
	EVP_PKEY *a = NULL, *b = NULL, *pa, *pb;

	for (int round = 0; round < 50; round++) {
		assert_int_equal(dp_kdf_generate(round % 2 ? DP_CURVE_BRAINPOOL_P256R1 :
							     DP_CURVE_NIST_P256, &a), 0);
		pa = public_only(a);
		assert_int_equal(dp_ecdsa_sign(a, msg, sizeof(msg), sig), 0);
		assert_int_equal(dp_ecdsa_verify(pa, msg, sizeof(msg), sig, 64), 0);
		if (b != NULL) {
			/* the kept contexts are for a now: b and its public half still work, and
			 * a signature by one does not verify under the other */
			assert_int_equal(dp_ecdsa_verify(pb, msg, sizeof(msg), sig, 64),
					 DP_ERR_SIGNATURE);
			assert_int_equal(dp_ecdsa_sign(b, msg, sizeof(msg), sig), 0);
			assert_int_equal(dp_ecdsa_verify(pa, msg, sizeof(msg), sig, 64),
					 DP_ERR_SIGNATURE);
			assert_int_equal(dp_ecdsa_verify(pb, msg, sizeof(msg), sig, 64), 0);
			EVP_PKEY_free(b);
			EVP_PKEY_free(pb);
		}
		/* a is freed while its contexts are kept; the next round's a may reuse the
		 * address of this b */
		b = a;
		pb = pa;
		a = NULL;
	}
	EVP_PKEY_free(b);
	EVP_PKEY_free(pb);

	/* more keys in turn than a thread keeps contexts for (4): each signs as itself */
	EVP_PKEY *many[6], *pub[6];
	for (int i = 0; i < 6; i++) {
		many[i] = NULL;
		assert_int_equal(dp_kdf_generate(DP_CURVE_NIST_P256, &many[i]), 0);
		pub[i] = public_only(many[i]);
	}
	for (int i = 0; i < 60; i++) {
		const int j = i % 6, other = (i * 5 + 1) % 6;
		assert_int_equal(dp_ecdsa_sign(many[j], msg, sizeof(msg), sig), 0);
		assert_int_equal(dp_ecdsa_verify(pub[j], msg, sizeof(msg), sig, 64), 0);
		if (other != j)
			assert_int_equal(dp_ecdsa_verify(pub[other], msg, sizeof(msg), sig, 64),
					 DP_ERR_SIGNATURE);
	}
	for (int i = 0; i < 6; i++) {
		EVP_PKEY_free(many[i]);
		EVP_PKEY_free(pub[i]);
	}
}

struct signer {
	EVP_PKEY *shared, *pub;
	int failures;
};

static void *sign_in_thread(void *arg)
{
	struct signer *s = arg;
	EVP_PKEY *own = NULL;
	uint8_t msg[8] = { 0 }, sig[64];
	if (dp_kdf_generate(DP_CURVE_NIST_P256, &own) != 0)
		s->failures++;
	for (int i = 0; i < 40 && own != NULL; i++) {
		memcpy(msg, &i, sizeof(i));
		EVP_PKEY *k = i % 3 ? s->shared : own;
		if (dp_ecdsa_sign(k, msg, sizeof(msg), sig) != 0 ||
		    dp_ecdsa_verify(k == own ? own : s->pub, msg, sizeof(msg), sig, 64) != 0)
			s->failures++;
		if (i % 3 && dp_ecdsa_verify(own, msg, sizeof(msg), sig, 64) != DP_ERR_SIGNATURE)
			s->failures++;
	}
	EVP_PKEY_free(own);
	return NULL;
}

/* one key used from four threads at once, each also using a key of its own */
static void test_kept_contexts_per_thread(void **state)
{
	pthread_t t[4];
	struct signer s[4];
	EVP_PKEY *shared = NULL;
	assert_int_equal(dp_kdf_generate(DP_CURVE_NIST_P256, &shared), 0);
	EVP_PKEY *pub = public_only(shared);
	for (int i = 0; i < 4; i++) {
		s[i] = (struct signer){ shared, pub, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, sign_in_thread, &s[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(s[i].failures, 0);
	}
	EVP_PKEY_free(pub);
	EVP_PKEY_free(shared);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_conversion_edges),
		cmocka_unit_test(test_der_rejects),
		cmocka_unit_test(test_sign_verify_sgp26_keys),
		cmocka_unit_test(test_leading_zeros_in_real_signatures),
		cmocka_unit_test(test_kept_contexts_follow_the_key),
		cmocka_unit_test(test_kept_contexts_per_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
