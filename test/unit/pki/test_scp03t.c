/* SCP03t for the BPP (SGP.22 2.5.4), both directions.
 * Vectors: pySim's third-party SM-DP+ trace (tests/unittests/test_esim_bsp.py: 87, 88, 87
 * ReplaceSessionKeys, then two 1007-byte PPK segments of 1020 bytes each; recomputed
 * independently per download-path.md 4.5/4.6), and our own stream from
 * test/data/pki/make_vectors.py (python3 cryptography, no project code): 88 at the 1008-byte
 * limit, PPK 86 at the 1007-byte limit, short segments, a bad-padding segment.
 * The CMAC under it: the four AES-128 examples of RFC 4493 section 4, and OpenSSL's own
 * CMAC (EVP_MAC) over every length up to 2,100 bytes, split into parts three ways. */
#include "test/unit/pki/pki_test.h"

#include <string.h>

#include <openssl/evp.h>

#include "pki/asn1/tlv.h"
#include "pki/crypto/cmac.h"
#include "pki/crypto/scp03t.h"

#define PYSIM_ENC "472f5bfadd97f21d34f3ce9b51b92751"
#define PYSIM_MAC "9ec07f5b36a13e12a991d66e294e6242"
#define PYSIM_MCV "406d507b448a699e7a36a38494debbde"

static void keys_from_hex(const char *enc, const char *mac, const char *mcv,
			  struct dp_session_keys *k)
{
	struct dp_buf b;
	dp_test_hex(enc, &b);
	memcpy(k->s_enc, b.data, 16);
	dp_buf_deinit(&b);
	dp_test_hex(mac, &b);
	memcpy(k->s_mac, b.data, 16);
	dp_buf_deinit(&b);
	dp_test_hex(mcv, &b);
	memcpy(k->mcv, b.data, 16);
	dp_buf_deinit(&b);
}

static void keys_from_vec(const char *enc, const char *mac, const char *mcv,
			  struct dp_session_keys *k)
{
	struct dp_buf b;
	pki_vec(enc, &b);
	memcpy(k->s_enc, b.data, 16);
	dp_buf_deinit(&b);
	pki_vec(mac, &b);
	memcpy(k->s_mac, b.data, 16);
	dp_buf_deinit(&b);
	pki_vec(mcv, &b);
	memcpy(k->mcv, b.data, 16);
	dp_buf_deinit(&b);
}

/* wraps vector `plain` with tag, compares with vector `want`, and unwraps it again */
static void wrap_vec(struct dp_scp03t *w, struct dp_scp03t *u, uint8_t tag, const char *plain,
		     const char *want)
{
	struct dp_buf p, t, out, back;
	uint8_t got;
	pki_vec(plain, &p);
	pki_vec(want, &t);
	dp_buf_init(&out, 4096);
	dp_buf_init(&back, 4096);
	assert_int_equal(dp_scp03t_wrap(w, tag, p.data, p.len, &out), 0);
	assert_bytes_equal(out.data, out.len, t.data, t.len);
	if (u != NULL) {
		assert_int_equal(dp_scp03t_unwrap(u, t.data, t.len, &got, &back), 0);
		assert_int_equal(got, tag);
		assert_bytes_equal(back.data, back.len, p.data, p.len);
	}
	dp_buf_deinit(&p);
	dp_buf_deinit(&t);
	dp_buf_deinit(&out);
	dp_buf_deinit(&back);
}

static void test_pysim_session_and_ppk(void **state)
{
	struct dp_session_keys k, ppk, parsed;
	struct dp_scp03t *w = NULL, *u = NULL, *again = NULL;
	struct dp_buf rsk, want, s0, s1, both, out;
	uint8_t bpp87[] = { 0xBF, 0x24, 0x00 };
	uint8_t tag;

	keys_from_hex(PYSIM_ENC, PYSIM_MAC, PYSIM_MCV, &k);
	assert_int_equal(dp_scp03t_new(&k, &w), 0);
	assert_int_equal(dp_scp03t_new(&k, &u), 0);
	assert_int_equal(dp_scp03t_counter(w), 1);

	/* counter 1: 87 over ConfigureISDP BF2400 */
	dp_buf_init(&out, 4096);
	assert_int_equal(dp_scp03t_wrap(w, 0x87, bpp87, sizeof(bpp87), &out), 0);
	dp_test_hex("8718f6fe031e4b9cfe87c8e1e62f3fde85c49412d7722a6a2d89", &want);
	assert_bytes_equal(out.data, out.len, want.data, want.len);
	dp_buf_reset(&out);
	assert_int_equal(dp_scp03t_unwrap(u, want.data, want.len, &tag, &out), 0);
	assert_int_equal(tag, 0x87);
	assert_bytes_equal(out.data, out.len, bpp87, sizeof(bpp87));
	dp_buf_deinit(&want);
	dp_buf_deinit(&out);
	/* counter 2: the MAC-only 88 advances the counter too */
	wrap_vec(w, u, 0x88, "pysim.metadata", "pysim.metadata_tlv");
	assert_int_equal(dp_scp03t_counter(w), 3);

	/* counter 3: ReplaceSessionKeys, built from the PPK set, equals the trace's plaintext */
	keys_from_hex("01010203040506070809" "0a0b0c0d0e0f", "02010203040506070809" "0a0b0c0d0e0f",
		      "00010203040506070809" "0a0b0c0d0e0f", &ppk);
	dp_buf_init(&rsk, 256);
	assert_int_equal(dp_scp03t_replace_keys_request(&ppk, &rsk), 0);
	pki_vec("pysim.rsk", &want);
	assert_bytes_equal(rsk.data, rsk.len, want.data, want.len);
	/* the eUICC parses BF26 back into the same keys */
	assert_int_equal(dp_scp03t_parse_replace_keys(want.data, want.len, &parsed), 0);
	assert_memory_equal(&parsed, &ppk, sizeof(ppk));
	dp_buf_deinit(&want);
	dp_buf_deinit(&rsk);
	wrap_vec(w, u, 0x87, "pysim.rsk", "pysim.rsk_tlv");

	/* both switch to the PPK; counter back to 1 */
	assert_int_equal(dp_scp03t_replace_keys(w, &ppk), 0);
	assert_int_equal(dp_scp03t_replace_keys(u, &parsed), 0);
	assert_int_equal(dp_scp03t_counter(w), 1);

	/* two 1007-byte slices give 1020-byte 86 TLVs (the size limit), counters 1 and 2 */
	pki_vec("pysim.segment0", &s0);
	pki_vec("pysim.segment0_tlv", &want);
	assert_int_equal(s0.len, DP_SCP03T_PLAIN_MAX_ENC);
	assert_int_equal(want.len, DP_SCP03T_SEGMENT_MAX);
	dp_buf_deinit(&want);
	wrap_vec(w, u, 0x86, "pysim.segment0", "pysim.segment0_tlv");
	wrap_vec(w, u, 0x86, "pysim.segment1", "pysim.segment1_tlv");
	assert_int_equal(dp_scp03t_counter(u), 3);

	/* wrap_all cuts the same 2014 bytes into the same two segments */
	pki_vec("pysim.segment1", &s1);
	dp_buf_init(&both, 4096);
	assert_int_equal(dp_buf_append(&both, s0.data, s0.len), 0);
	assert_int_equal(dp_buf_append(&both, s1.data, s1.len), 0);
	assert_int_equal(dp_scp03t_new(&ppk, &again), 0);
	dp_buf_init(&out, 4096);
	assert_int_equal(dp_scp03t_wrap_all(again, 0x86, both.data, both.len, &out), 0);
	pki_vec("pysim.segment0_tlv", &want);
	assert_int_equal(out.len, 2 * DP_SCP03T_SEGMENT_MAX);
	assert_bytes_equal(out.data, want.len, want.data, want.len);
	dp_buf_deinit(&want);
	pki_vec("pysim.segment1_tlv", &want);
	assert_bytes_equal(out.data + 1020, out.len - 1020, want.data, want.len);
	dp_buf_deinit(&want);
	dp_buf_deinit(&out);
	dp_buf_deinit(&both);
	dp_buf_deinit(&s0);
	dp_buf_deinit(&s1);
	dp_scp03t_free(again);
	dp_scp03t_free(w);
	dp_scp03t_free(u);
}

static void test_own_stream(void **state)
{
	static const char *const session[] = { "s1", "s2", "s3", "s4" };
	static const uint8_t session_tags[] = { 0x87, 0x88, 0x88, 0x87 };
	static const char *const ppk_segs[] = { "p1", "p2", "p3", "p4" };
	struct dp_session_keys k, ppk;
	struct dp_scp03t *w = NULL, *u = NULL;
	struct dp_buf plain, tlv, out, back;
	char name[32];
	uint8_t tag;

	keys_from_vec("nist.s_enc", "nist.s_mac", "nist.mcv", &k);
	keys_from_vec("ppk.enc", "ppk.mac", "ppk.mcv", &ppk);
	assert_int_equal(dp_scp03t_new(&k, &w), 0);
	assert_int_equal(dp_scp03t_new(&k, &u), 0);
	for (int i = 0; i < 8; i++) {
		const bool is_ppk = i >= 4;
		const char *seg = is_ppk ? ppk_segs[i - 4] : session[i];
		uint8_t t = is_ppk ? 0x86 : session_tags[i];
		snprintf(name, sizeof(name), "%s.plain", seg);
		pki_vec(name, &plain);
		snprintf(name, sizeof(name), "%s.tlv", seg);
		pki_vec(name, &tlv);
		dp_buf_init(&out, 2048);
		dp_buf_init(&back, 2048);
		assert_int_equal(dp_scp03t_wrap(w, t, plain.data, plain.len, &out), 0);
		assert_bytes_equal(out.data, out.len, tlv.data, tlv.len);
		assert_true(out.len <= DP_SCP03T_SEGMENT_MAX);
		assert_int_equal(dp_scp03t_unwrap(u, tlv.data, tlv.len, &tag, &back), 0);
		assert_int_equal(tag, t);
		assert_bytes_equal(back.data, back.len, plain.data, plain.len);
		if (i == 3) {
			/* s4 is the ReplaceSessionKeysRequest: both sides switch to the PPK */
			struct dp_session_keys parsed;
			assert_int_equal(dp_scp03t_parse_replace_keys(back.data, back.len, &parsed), 0);
			assert_memory_equal(&parsed, &ppk, sizeof(ppk));
			assert_int_equal(dp_scp03t_counter(w), 5);
			assert_int_equal(dp_scp03t_replace_keys(w, &ppk), 0);
			assert_int_equal(dp_scp03t_replace_keys(u, &parsed), 0);
			assert_int_equal(dp_scp03t_counter(u), 1);
		}
		/* the limits: s2 is an 88 of 1008 bytes, p1 an 86 of 1007, both 1020 on the wire */
		if (i == 1 || i == 4)
			assert_int_equal(out.len, DP_SCP03T_SEGMENT_MAX);
		dp_buf_deinit(&plain);
		dp_buf_deinit(&tlv);
		dp_buf_deinit(&out);
		dp_buf_deinit(&back);
	}
	assert_int_equal(dp_scp03t_counter(w), 5);

	/* a well-MACed segment whose plaintext lacks the 80 marker: structure error */
	pki_vec("badpad.tlv", &tlv);
	dp_buf_init(&back, 2048);
	assert_int_equal(dp_scp03t_unwrap(u, tlv.data, tlv.len, &tag, &back),
			 DP_ERR_SCP03T_STRUCTURE);
	assert_int_equal(back.len, 0);
	assert_int_equal(dp_scp03t_counter(u), 5);
	dp_buf_deinit(&tlv);
	dp_buf_deinit(&back);
	dp_scp03t_free(w);
	dp_scp03t_free(u);
}

static void test_limits_and_splitting(void **state)
{
	struct dp_session_keys k;
	struct dp_scp03t *w = NULL, *u = NULL;
	struct dp_buf out, back;
	uint8_t big[3000];
	uint8_t tag;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13);
	keys_from_vec("nist.s_enc", "nist.s_mac", "nist.mcv", &k);
	assert_int_equal(dp_scp03t_new(&k, &w), 0);
	assert_int_equal(dp_scp03t_new(&k, &u), 0);
	dp_buf_init(&out, 8192);

	/* one past the limit is refused, and nothing changes */
	assert_int_equal(dp_scp03t_wrap(w, 0x86, big, 1008, &out), DP_ERR_TOO_LONG);
	assert_int_equal(dp_scp03t_wrap(w, 0x88, big, 1009, &out), DP_ERR_TOO_LONG);
	assert_int_equal(dp_scp03t_wrap(w, 0x99, big, 10, &out), DP_ERR_INVAL);
	assert_int_equal(out.len, 0);
	assert_int_equal(dp_scp03t_counter(w), 1);

	/* 3000 bytes -> 1007 + 1007 + 986, the first two exactly 1020 bytes */
	assert_int_equal(dp_scp03t_wrap_all(w, 0x86, big, sizeof(big), &out), 0);
	assert_int_equal(dp_scp03t_counter(w), 4);
	struct dp_cursor c = dp_cursor_make(out.data, out.len);
	size_t sizes[3], n = 0;
	dp_buf_init(&back, 4096);
	while (!dp_cursor_done(&c)) {
		const uint8_t *p = c.p;
		struct dp_tlv t;
		assert_int_equal(dp_tlv_next(&c, &t), 0);
		assert_true(n < 3);
		sizes[n++] = t.raw_len;
		assert_int_equal(dp_scp03t_unwrap(u, p, t.raw_len, &tag, &back), 0);
		assert_int_equal(tag, 0x86);
	}
	assert_int_equal(n, 3);
	assert_int_equal(sizes[0], 1020);
	assert_int_equal(sizes[1], 1020);
	/* 986 -> 992 padded + 8 MAC = 1000 -> 86 82 03 E8 + 1000 */
	assert_int_equal(sizes[2], 1004);
	assert_bytes_equal(back.data, back.len, big, sizeof(big));
	/* 88 segments are cut at 1008 */
	dp_buf_reset(&out);
	assert_int_equal(dp_scp03t_wrap_all(w, 0x88, big, 2016, &out), 0);
	assert_int_equal(out.len, 2 * 1020);
	/* a bounded output buffer that is too small: TOO_LONG, buffer and state unchanged */
	struct dp_buf small;
	dp_buf_init(&small, 100);
	uint64_t before = dp_scp03t_counter(w);
	assert_int_equal(dp_scp03t_wrap(w, 0x86, big, 200, &small), DP_ERR_TOO_LONG);
	assert_int_equal(small.len, 0);
	assert_int_equal(dp_scp03t_counter(w), before);
	dp_buf_deinit(&small);
	dp_buf_deinit(&back);
	dp_buf_deinit(&out);
	dp_scp03t_free(w);
	dp_scp03t_free(u);
}

static void test_unwrap_rejects(void **state)
{
	struct dp_session_keys k;
	struct dp_scp03t *w = NULL, *u = NULL;
	struct dp_buf seg, back;
	uint8_t tag, plain[40];

	memset(plain, 0x5A, sizeof(plain));
	keys_from_vec("nist.s_enc", "nist.s_mac", "nist.mcv", &k);
	assert_int_equal(dp_scp03t_new(&k, &w), 0);
	assert_int_equal(dp_scp03t_new(&k, &u), 0);
	dp_buf_init(&seg, 2048);
	dp_buf_init(&back, 2048);
	assert_int_equal(dp_scp03t_wrap(w, 0x87, plain, sizeof(plain), &seg), 0);
	/* 40 -> 48 ciphertext + 8 MAC = 56 */
	assert_int_equal(seg.len, 58);

	/* a flipped bit anywhere (ciphertext, MAC, tag) */
	for (size_t i = 2; i < seg.len; i += 9) {
		seg.data[i] ^= 0x01;
		assert_int_equal(dp_scp03t_unwrap(u, seg.data, seg.len, &tag, &back),
				 DP_ERR_SCP03T_MAC);
		seg.data[i] ^= 0x01;
	}
	seg.data[0] = 0x86; /* the tag is MACed too */
	assert_int_equal(dp_scp03t_unwrap(u, seg.data, seg.len, &tag, &back), DP_ERR_SCP03T_MAC);
	seg.data[0] = 0x85;
	assert_int_equal(dp_scp03t_unwrap(u, seg.data, seg.len, &tag, &back),
			 DP_ERR_SCP03T_STRUCTURE);
	seg.data[0] = 0x87;
	/* truncated, trailing byte, length not data + 8, empty */
	assert_int_equal(dp_scp03t_unwrap(u, seg.data, seg.len - 1, &tag, &back),
			 DP_ERR_SCP03T_STRUCTURE);
	assert_int_equal(dp_buf_append_byte(&seg, 0), 0);
	assert_int_equal(dp_scp03t_unwrap(u, seg.data, seg.len, &tag, &back),
			 DP_ERR_SCP03T_STRUCTURE);
	seg.len--;
	uint8_t odd[] = { 0x87, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	assert_int_equal(dp_scp03t_unwrap(u, odd, sizeof(odd), &tag, &back),
			 DP_ERR_SCP03T_STRUCTURE);
	uint8_t mac_only_short[] = { 0x88, 0x03, 1, 2, 3 };
	assert_int_equal(dp_scp03t_unwrap(u, mac_only_short, sizeof(mac_only_short), &tag, &back),
			 DP_ERR_SCP03T_STRUCTURE);
	assert_int_equal(dp_scp03t_unwrap(u, seg.data, 0, &tag, &back), DP_ERR_SCP03T_STRUCTURE);
	/* more than 1020 bytes is a structure error before anything else */
	uint8_t huge[1100] = { 0x86, 0x82, 0x04, 0x48 };
	assert_int_equal(dp_scp03t_unwrap(u, huge, sizeof(huge), &tag, &back),
			 DP_ERR_SCP03T_STRUCTURE);
	assert_int_equal(back.len, 0);

	/* after all that the receiver's state is untouched: the real segment still opens */
	assert_int_equal(dp_scp03t_counter(u), 1);
	assert_int_equal(dp_scp03t_unwrap(u, seg.data, seg.len, &tag, &back), 0);
	assert_bytes_equal(back.data, back.len, plain, sizeof(plain));
	/* a replayed segment does not verify any more (MAC chain and counter moved on) */
	dp_buf_reset(&back);
	assert_int_equal(dp_scp03t_unwrap(u, seg.data, seg.len, &tag, &back), DP_ERR_SCP03T_MAC);

	/* malformed ReplaceSessionKeysRequest */
	struct dp_session_keys ppk;
	uint8_t rsk[57] = { 0xBF, 0x26, 0x36, 0x80, 0x10 };
	rsk[21] = 0x81;
	rsk[22] = 0x10;
	rsk[39] = 0x82;
	rsk[40] = 0x10;
	assert_int_equal(dp_scp03t_parse_replace_keys(rsk, sizeof(rsk), &ppk), 0);
	rsk[39] = 0x83;
	assert_int_equal(dp_scp03t_parse_replace_keys(rsk, sizeof(rsk), &ppk),
			 DP_ERR_SCP03T_STRUCTURE);
	assert_int_equal(dp_scp03t_parse_replace_keys(rsk, 20, &ppk), DP_ERR_SCP03T_STRUCTURE);
	dp_buf_deinit(&seg);
	dp_buf_deinit(&back);
	dp_scp03t_free(w);
	dp_scp03t_free(u);
}

#define RFC4493_KEY "2b7e151628aed2a6abf7158809cf4f3c"
#define RFC4493_MSG \
	"6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" \
	"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"

static void test_cmac_rfc4493(void **state)
{
	(void)state;
	static const struct {
		size_t len;
		const char *mac;
	} ex[] = {
		{ 0, "bb1d6929e95937287fa37d129b756746" },
		{ 16, "070a16b46b4d4144f79bdd9dd04a287c" },
		{ 40, "dfa66747de9ae63030ca32611497c827" },
		{ 64, "51f0bebf7e3b9d92fc49741779363cfe" },
	};
	struct dp_buf key, msg, want;
	struct dp_cmac *c = NULL;
	uint8_t mac[DP_CMAC_BYTES];

	dp_test_hex(RFC4493_KEY, &key);
	dp_test_hex(RFC4493_MSG, &msg);
	assert_int_equal(dp_cmac_new(key.data, &c), 0);
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		const struct dp_cmac_part whole = { msg.data, ex[i].len };
		dp_test_hex(ex[i].mac, &want);
		memset(mac, 0, sizeof(mac));
		assert_int_equal(dp_cmac(c, &whole, 1, mac), 0);
		assert_memory_equal(mac, want.data, DP_CMAC_BYTES);
		/* the same message as three parts, one of them empty */
		const struct dp_cmac_part three[] = {
			{ msg.data, ex[i].len / 3 },
			{ NULL, 0 },
			{ msg.data + ex[i].len / 3, ex[i].len - ex[i].len / 3 },
		};
		memset(mac, 0, sizeof(mac));
		assert_int_equal(dp_cmac(c, three, 3, mac), 0);
		assert_memory_equal(mac, want.data, DP_CMAC_BYTES);
		dp_buf_deinit(&want);
	}
	/* a re-key gives the new key's MAC */
	key.data[0] ^= 1;
	const struct dp_cmac_part first = { msg.data, 16 };
	assert_int_equal(dp_cmac_set_key(c, key.data), 0);
	assert_int_equal(dp_cmac(c, &first, 1, mac), 0);
	dp_test_hex(ex[1].mac, &want);
	assert_memory_not_equal(mac, want.data, DP_CMAC_BYTES);
	dp_buf_deinit(&want);
	dp_cmac_free(c);
	dp_cmac_free(NULL);
	dp_buf_deinit(&key);
	dp_buf_deinit(&msg);
}

/* OpenSSL's CMAC of m[0, len) */
static void openssl_cmac(const uint8_t key[16], const uint8_t *m, size_t len, uint8_t out[16])
{
	EVP_MAC *alg = EVP_MAC_fetch(NULL, "CMAC", NULL);
	EVP_MAC_CTX *x = alg ? EVP_MAC_CTX_new(alg) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string("cipher", (char *)"AES-128-CBC", 0),
		OSSL_PARAM_END,
	};
	size_t n = 0;
	assert_non_null(x);
	assert_int_equal(EVP_MAC_init(x, key, 16, params), 1);
	assert_int_equal(EVP_MAC_update(x, m, len), 1);
	assert_int_equal(EVP_MAC_final(x, out, &n, 16), 1);
	assert_int_equal(n, 16);
	EVP_MAC_CTX_free(x);
	EVP_MAC_free(alg);
}

static void test_cmac_matches_openssl(void **state)
{
	(void)state;
	uint8_t key[16], m[2100], want[16], got[16];
	struct dp_cmac *c = NULL;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0xA5 ^ (i * 29));
	for (size_t i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)(i * 131 + (i >> 7));
	assert_int_equal(dp_cmac_new(key, &c), 0);
	for (size_t len = 0; len <= sizeof(m); len++) {
		openssl_cmac(key, m, len, want);
		/* splits: whole; 16 | 1..9 | rest (the SCP03t shape); odd thirds */
		const size_t h = len < 16 ? len : 16;
		const size_t t = len - h < 1 + len % 9 ? len - h : 1 + len % 9;
		const struct dp_cmac_part shapes[3][3] = {
			{ { m, len }, { NULL, 0 }, { NULL, 0 } },
			{ { m, h }, { m + h, t }, { m + h + t, len - h - t } },
			{ { m, len / 3 }, { m + len / 3, len / 3 }, { m + 2 * (len / 3),
								       len - 2 * (len / 3) } },
		};
		for (int s = 0; s < 3; s++) {
			memset(got, 0, sizeof(got));
			assert_int_equal(dp_cmac(c, shapes[s], 3, got), 0);
			if (memcmp(got, want, sizeof(want)) != 0)
				fail_msg("CMAC of %zu bytes, split %d, differs from OpenSSL's", len, s);
		}
	}
	dp_cmac_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pysim_session_and_ppk),
		cmocka_unit_test(test_own_stream),
		cmocka_unit_test(test_limits_and_splitting),
		cmocka_unit_test(test_unwrap_rejects),
		cmocka_unit_test(test_cmac_rfc4493),
		cmocka_unit_test(test_cmac_matches_openssl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
