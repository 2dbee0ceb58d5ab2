/* The bound profile package builder (smdp/bpp.c; SGP.22 2.5.3-2.5.5, download-path.md
 * 4.2, 4.4-4.7): BPPs built by dp_bpp_build are cut as the LPA does and loaded into the
 * test eUICC, which must install TS.48 v1 profile A (PIR success), on both curves, with
 * session keys and with a pre-protected profile; plus the byte structure, the re-binding
 * with a kept otSK.DP and the refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/crypto/ecdsa.h"
#include "pki/crypto/kdf.h"
#include "pki/crypto/scp03t.h"
#include "smdp/bpp.h"
#include "test/euicc/es10.h"
#include "test/support/support.h"
#include "test/unit/euicc/euicc_download.h"
#include "test/unit/euicc/euicc_test.h"

#define BPP_MAX (256 * 1024)
/* what every out buffer holds before the BPP is appended */
static const uint8_t prefix[] = {0xDE, 0xAD, 0xBE, 0xEF};

/* What the LPA's cut found (SGP.22 2.5.5). */
struct cut {
	size_t n87_a0, n88, n87_a2, n86;
	bool has_a2;
};

/* The SGP.26 Brainpool set in place of the NIST one that euicc_dl_setup loads. */
static int setup_brainpool(void **state)
{
	euicc_dl_setup(state);
	struct euicc_dl *fx = *state;
	dp_euicc_free(fx->e);
	dp_cert_free(fx->dpauth);
	dp_cert_free(fx->dppb);
	EVP_PKEY_free(fx->auth_key);
	EVP_PKEY_free(fx->pb_key);
	assert_int_equal(dp_euicc_new(euicc_test_identity(DP_CURVE_BRAINPOOL_P256R1), &fx->e),
			 DP_OK);
	dp_euicc_set_time(fx->e, EUICC_TEST_TIME);
	euicc_test_server("DPauth", "DPauth", DP_CURVE_BRAINPOOL_P256R1, &fx->dpauth,
			  &fx->auth_key);
	euicc_test_server("DPpb", "DPpb", DP_CURVE_BRAINPOOL_P256R1, &fx->dppb, &fx->pb_key);
	euicc_test_ci_ski(DP_CURVE_BRAINPOOL_P256R1, &fx->ci);
	fx->auth.ci_pkid = fx->ci.v;
	fx->auth.ci_pkid_len = fx->ci.len;
	fx->auth.cert = fx->dpauth;
	fx->auth.key = fx->auth_key;
	return 0;
}

/* StoreMetadataRequest BF25 { 5A iccid, 91, 92, 95 test, [extra] } into a fresh buffer. */
static void make_metadata(const struct euicc_dl *fx, const uint8_t *extra, size_t extra_len,
			  struct dp_buf *meta)
{
	struct dp_buf body;
	dp_buf_init(&body, 8192);
	dp_buf_init(meta, 8192);
	assert_int_equal(dp_tlv_append(&body, 0x5A, fx->iccid, 10), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x91, "GSMA_TEST", 9), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x92, "TS48 v1 A", 9), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x95, "\x00", 1), DP_OK);
	assert_int_equal(dp_buf_append(&body, extra, extra_len), DP_OK);
	assert_int_equal(dp_tlv_append(meta, 0xBF25, body.data, body.len), DP_OK);
	dp_buf_deinit(&body);
}

/* The input for the prepared session in fx: its tid, otPK.EUICC, EID, SK.DPpb. */
static struct dp_bpp_input input_for(const struct euicc_dl *fx, const struct dp_buf *meta)
{
	struct dp_bpp_input in = {0};
	assert_int_equal(dp_curve_of_key(fx->pb_key, &in.curve), DP_OK);
	in.dppb_key = fx->pb_key;
	in.tid = fx->auth.tid;
	in.tid_len = fx->auth.tid_len;
	in.otpk_euicc = fx->otpk_euicc;
	in.eid = dp_euicc_identity_eid(dp_euicc_identity(fx->e));
	in.host_id = (const uint8_t *)EUICC_DL_HOST_ID;
	in.host_id_len = strlen(EUICC_DL_HOST_ID);
	in.metadata = meta->data;
	in.metadata_len = meta->len;
	in.profile = fx->upp.data;
	in.profile_len = fx->upp.len;
	return in;
}

/* fx->bpp := prefix, then dp_bpp_build's output (which must succeed). */
static void build(struct euicc_dl *fx, const struct dp_bpp_input *in, EVP_PKEY **otsk)
{
	dp_buf_deinit(&fx->bpp);
	dp_buf_init(&fx->bpp, BPP_MAX);
	assert_int_equal(dp_buf_append(&fx->bpp, prefix, sizeof(prefix)), DP_OK);
	int r = dp_bpp_build(in, &fx->bpp, otsk);
	if (r != DP_OK)
		fail_msg("dp_bpp_build: %s: %s", dp_strerror(r), dp_err_detail());
	assert_memory_equal(fx->bpp.data, prefix, sizeof(prefix));
}

/* One protected TLV inside A0/A1/A2/A3: the right tag and at most 1020 bytes. */
static void check_segment(const struct dp_tlv *el, uint32_t tag)
{
	assert_int_equal(el->tag, tag);
	assert_true(el->raw_len <= DP_SCP03T_SEGMENT_MAX);
}

/* Cuts the BF36 after the prefix into fx->seg as the LPA does (SGP.22 2.5.5): BF36 header
 * + BF23; A0 with its 87; A1 header; each 88; A2 with its 87; A3 header; each 86. Checks
 * the order of the parts and every segment's tag and size on the way. */
static void cut(struct euicc_dl *fx, struct cut *k)
{
	struct dp_tlv bpp, t, el;
	const uint32_t order[] = {0xBF23, 0xA0, 0xA1, 0xA2, 0xA3};
	size_t next = 0;
	memset(k, 0, sizeof(*k));
	assert_int_equal(dp_tlv_expect(fx->bpp.data + sizeof(prefix), fx->bpp.len - sizeof(prefix),
				       0xBF36, &bpp),
			 DP_OK);
	struct dp_cursor c = dp_cursor_make(bpp.value, bpp.len);
	fx->n_seg = 0;
	while (!dp_cursor_done(&c)) {
		assert_int_equal(dp_tlv_next(&c, &t), DP_OK);
		while (next < 5 && order[next] != t.tag)
			next++;
		assert_true(next < 5); /* a known part, in order, at most once */
		next++;
		assert_true(fx->n_seg + 1 < EUICC_DL_SEGMENTS_MAX);
		if (t.tag == 0xBF23) {
			fx->seg[fx->n_seg++] = (struct euicc_dl_segment){
			    bpp.raw, (size_t)(t.raw - bpp.raw) + t.raw_len};
			continue;
		}
		const bool whole = t.tag == 0xA0 || t.tag == 0xA2;
		if (whole)
			fx->seg[fx->n_seg++] = (struct euicc_dl_segment){t.raw, t.raw_len};
		else
			fx->seg[fx->n_seg++] = (struct euicc_dl_segment){t.raw, t.raw_len - t.len};
		struct dp_cursor e = dp_cursor_make(t.value, t.len);
		while (!dp_cursor_done(&e)) {
			assert_int_equal(dp_tlv_next(&e, &el), DP_OK);
			switch (t.tag) {
			case 0xA0: check_segment(&el, 0x87), k->n87_a0++; break;
			case 0xA1: check_segment(&el, 0x88), k->n88++; break;
			case 0xA2: check_segment(&el, 0x87), k->n87_a2++; break;
			default: check_segment(&el, 0x86), k->n86++; break;
			}
			if (!whole) {
				assert_true(fx->n_seg < EUICC_DL_SEGMENTS_MAX);
				fx->seg[fx->n_seg++] =
				    (struct euicc_dl_segment){el.raw, el.raw_len};
			}
		}
		if (t.tag == 0xA2)
			k->has_a2 = true;
	}
	/* the BoundProfilePackage schema accepts it as well */
	asn1_node n = NULL;
	assert_int_equal(
	    dp_asn1_decode_exact("RSPDefinitions.BoundProfilePackage", bpp.raw, bpp.raw_len, &n),
	    DP_OK);
	dp_asn1_free(&n);
}

/* Loads the cut BPP; the last segment answers with a successful PIR and the eUICC holds
 * the profile (the whole UPP, the metadata as sent) as profile number `index`. */
static void install(struct euicc_dl *fx, const struct dp_buf *meta, size_t index)
{
	uint8_t aid[16];
	int command = -1;
	assert_int_equal(euicc_dl_load(fx), fx->n_seg - 1);
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), 0);
	assert_int_equal(dp_euicc_profile_count(fx->e), index + 1);
	const struct dp_euicc_profile *p = dp_euicc_profile_get(fx->e, index);
	assert_non_null(p);
	assert_memory_equal(p->aid, aid, 16);
	assert_memory_equal(p->iccid, fx->iccid, 10);
	assert_string_equal(p->sp_name, "GSMA_TEST");
	assert_string_equal(p->name, "TS48 v1 A");
	assert_bytes_equal(p->metadata, p->metadata_len, meta->data, meta->len);
	assert_bytes_equal(p->package, p->package_len, fx->upp.data, fx->upp.len);
}

static size_t n_slices(size_t len, size_t per)
{
	return (len + per - 1) / per;
}

/* 1. session keys: prepared session, BPP, install; on the fixture's curve */
static void install_session_keys(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_buf meta;
	struct cut k;
	euicc_dl_prepared(fx);
	make_metadata(fx, NULL, 0, &meta);
	struct dp_bpp_input in = input_for(fx, &meta);
	build(fx, &in, NULL);
	cut(fx, &k);
	assert_int_equal(k.n87_a0, 1);
	assert_int_equal(k.n88, 1);
	assert_false(k.has_a2);
	assert_int_equal(k.n86, n_slices(fx->upp.len, DP_SCP03T_PLAIN_MAX_ENC));
	assert_int_equal(fx->n_seg, 5 + k.n86);
	install(fx, &meta, 0);
	dp_buf_deinit(&meta);
}

/* 2. the PPK variant: the UPP protected once, A2 ReplaceSessionKeys per download */
static void install_ppk(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_buf meta, prot, again;
	struct dp_session_keys ppk, ppk2;
	struct cut k;
	dp_buf_init(&prot, BPP_MAX);
	dp_buf_init(&again, BPP_MAX);
	assert_int_equal(dp_bpp_protect(fx->upp.data, fx->upp.len, &ppk, &prot), DP_OK);
	/* 86 segments of 1020 bytes (1007 plaintext bytes each), the last one shorter */
	struct dp_cursor c = dp_cursor_make(prot.data, prot.len);
	struct dp_tlv t;
	size_t n = 0;
	while (!dp_cursor_done(&c)) {
		assert_int_equal(dp_tlv_next(&c, &t), DP_OK);
		check_segment(&t, 0x86);
		if (!dp_cursor_done(&c))
			assert_int_equal(t.raw_len, DP_SCP03T_SEGMENT_MAX);
		n++;
	}
	assert_int_equal(n, n_slices(fx->upp.len, DP_SCP03T_PLAIN_MAX_ENC));
	/* fresh keys every time: a second protection differs in keys and bytes */
	assert_int_equal(dp_bpp_protect(fx->upp.data, fx->upp.len, &ppk2, &again), DP_OK);
	assert_memory_not_equal(&ppk, &ppk2, sizeof(ppk));
	assert_int_equal(again.len, prot.len);
	assert_memory_not_equal(again.data, prot.data, prot.len);

	euicc_dl_prepared(fx);
	make_metadata(fx, NULL, 0, &meta);
	struct dp_bpp_input in = input_for(fx, &meta);
	in.profile = prot.data;
	in.profile_len = prot.len;
	in.ppk = &ppk;
	build(fx, &in, NULL);
	cut(fx, &k);
	assert_true(k.has_a2);
	assert_int_equal(k.n87_a2, 1);
	assert_int_equal(k.n86, n);
	assert_int_equal(fx->n_seg, 6 + n);
	/* A3 carries the pre-protected segments byte for byte */
	struct dp_tlv bpp, a3;
	assert_int_equal(dp_tlv_expect(fx->bpp.data + sizeof(prefix), fx->bpp.len - sizeof(prefix),
				       0xBF36, &bpp),
			 DP_OK);
	assert_int_equal(dp_tlv_find(bpp.value, bpp.len, 0xA3, &a3), DP_OK);
	assert_bytes_equal(a3.value, a3.len, prot.data, prot.len);
	install(fx, &meta, 0);
	dp_kdf_keys_wipe(&ppk);
	dp_kdf_keys_wipe(&ppk2);
	dp_buf_deinit(&meta);
	dp_buf_deinit(&prot);
	dp_buf_deinit(&again);
}

/* 3. structure: the ISC bytes, smdpSign over the documented input, segment sizes, one
 * reservation of the output */
static void structure(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_buf meta, msg, out;
	struct dp_tlv bpp, isc, m[5], a3, el;
	EVP_PKEY *otsk = NULL;
	uint8_t otpk_dp[DP_CURVE_POINT_BYTES];
	euicc_dl_prepared(fx);
	make_metadata(fx, NULL, 0, &meta);
	struct dp_bpp_input in = input_for(fx, &meta);
	build(fx, &in, &otsk);
	assert_non_null(otsk);
	assert_int_equal(dp_kdf_export_point(otsk, otpk_dp), DP_OK);
	assert_int_equal(dp_tlv_expect(fx->bpp.data + sizeof(prefix), fx->bpp.len - sizeof(prefix),
				       0xBF36, &bpp),
			 DP_OK);
	assert_int_equal(dp_tlv_read(bpp.value, bpp.len, &isc), DP_OK);
	assert_int_equal(isc.tag, 0xBF23);
	/* exactly 82 01 01, 80 tid, A6 CRT, 5F49 otPK.DP, 5F37 smdpSign */
	struct dp_cursor c = dp_cursor_make(isc.value, isc.len);
	for (int i = 0; i < 5; i++)
		assert_int_equal(dp_tlv_next(&c, &m[i]), DP_OK);
	assert_true(dp_cursor_done(&c));
	assert_bytes_equal(m[0].raw, m[0].raw_len, (const uint8_t *)"\x82\x01\x01", 3);
	assert_int_equal(m[1].tag, 0x80);
	assert_bytes_equal(m[1].value, m[1].len, fx->auth.tid, fx->auth.tid_len);
	assert_bytes_equal(m[2].raw, m[2].raw_len,
			   (const uint8_t *)"\xA6\x10\x80\x01\x88\x81\x01\x10\x84\x08mahlzeit", 18);
	assert_int_equal(m[3].tag, 0x5F49);
	assert_bytes_equal(m[3].value, m[3].len, otpk_dp, sizeof(otpk_dp));
	assert_int_equal(m[4].tag, DP_ECDSA_TAG);
	assert_int_equal(m[4].len, DP_ECDSA_RS_BYTES);
	/* smdpSign = ECDSA(SK.DPpb, BF23 value without 5F37 || 5F49 41 otPK.EUICC) */
	dp_buf_init(&msg, 1024);
	assert_int_equal(dp_buf_append(&msg, isc.value, (size_t)(m[4].raw - isc.value)), DP_OK);
	assert_int_equal(
	    dp_ecdsa_verify(dp_cert_pubkey(fx->dppb), msg.data, msg.len, m[4].value, m[4].len),
	    DP_ERR_SIGNATURE);
	assert_int_equal(dp_tlv_append(&msg, 0x5F49, fx->otpk_euicc, DP_CURVE_POINT_BYTES), DP_OK);
	assert_int_equal(
	    dp_ecdsa_verify(dp_cert_pubkey(fx->dppb), msg.data, msg.len, m[4].value, m[4].len),
	    DP_OK);
	/* the 86 segments: 1020 bytes each, the last one the rest of the UPP */
	assert_int_equal(dp_tlv_find(bpp.value, bpp.len, 0xA3, &a3), DP_OK);
	c = dp_cursor_make(a3.value, a3.len);
	size_t n86 = 0;
	while (!dp_cursor_done(&c)) {
		assert_int_equal(dp_tlv_next(&c, &el), DP_OK);
		if (!dp_cursor_done(&c))
			assert_int_equal(el.raw_len, DP_SCP03T_SEGMENT_MAX);
		n86++;
	}
	size_t last = fx->upp.len % DP_SCP03T_PLAIN_MAX_ENC;
	size_t last_body = (last / 16 + 1) * 16 + 8;
	assert_int_equal(el.len, last_body);
	assert_int_equal(n86, n_slices(fx->upp.len, DP_SCP03T_PLAIN_MAX_ENC));
	/* the size is known before anything is written: a buffer of exactly the BPP's size
	 * takes it, one byte less is refused up front and stays empty */
	const size_t total = fx->bpp.len - sizeof(prefix);
	dp_buf_init(&out, total - 1);
	assert_int_equal(dp_bpp_build(&in, &out, NULL), DP_ERR_TOO_LONG);
	assert_int_equal(out.len, 0);
	dp_buf_deinit(&out);
	dp_buf_init(&out, total);
	assert_int_equal(dp_bpp_build(&in, &out, NULL), DP_OK);
	assert_int_equal(out.len, total);
	dp_buf_deinit(&out);
	dp_buf_init(&out, BPP_MAX);
	/* the boundaries: tid of 1 and 16 bytes, hostId of 16 bytes */
	in.tid_len = 1;
	in.host_id = (const uint8_t *)"0123456789abcdef";
	in.host_id_len = 16;
	dp_buf_reset(&out);
	assert_int_equal(dp_bpp_build(&in, &out, NULL), DP_OK);
	in.tid_len = 16;
	dp_buf_reset(&out);
	assert_int_equal(dp_bpp_build(&in, &out, NULL), DP_OK);
	/* the CRT of such a build carries the 16-byte hostId */
	assert_int_equal(dp_tlv_expect(out.data, out.len, 0xBF36, &bpp), DP_OK);
	assert_int_equal(dp_tlv_read(bpp.value, bpp.len, &isc), DP_OK);
	assert_int_equal(dp_tlv_find(isc.value, isc.len, 0xA6, &m[2]), DP_OK);
	assert_bytes_equal(m[2].raw, m[2].raw_len,
			   (const uint8_t *)"\xA6\x18\x80\x01\x88\x81\x01\x10\x84\x10"
					    "0123456789abcdef",
			   26);
	EVP_PKEY_free(otsk);
	dp_buf_deinit(&out);
	dp_buf_deinit(&msg);
	dp_buf_deinit(&meta);
}

/* 3b. a metadata longer than one 88 (a 1024-byte icon): two 88s, still installed */
static void long_metadata(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_buf meta, extra;
	struct cut k;
	struct dp_tlv bpp, a1, el;
	uint8_t icon[1024];
	for (size_t i = 0; i < sizeof(icon); i++)
		icon[i] = (uint8_t)(i * 7);
	dp_buf_init(&extra, 2048);
	assert_int_equal(dp_tlv_append(&extra, 0x93, "\x01", 1), DP_OK); /* png */
	assert_int_equal(dp_tlv_append(&extra, 0x94, icon, sizeof(icon)), DP_OK);
	make_metadata(fx, extra.data, extra.len, &meta);
	assert_true(meta.len > DP_SCP03T_PLAIN_MAX_MAC);
	assert_true(meta.len <= 2 * DP_SCP03T_PLAIN_MAX_MAC);
	euicc_dl_prepared(fx);
	struct dp_bpp_input in = input_for(fx, &meta);
	build(fx, &in, NULL);
	cut(fx, &k);
	assert_int_equal(k.n88, 2);
	assert_int_equal(fx->n_seg, 6 + k.n86);
	/* the first 88 carries 1008 bytes (1020 in all), the second the rest */
	assert_int_equal(dp_tlv_expect(fx->bpp.data + sizeof(prefix), fx->bpp.len - sizeof(prefix),
				       0xBF36, &bpp),
			 DP_OK);
	assert_int_equal(dp_tlv_find(bpp.value, bpp.len, 0xA1, &a1), DP_OK);
	assert_int_equal(dp_tlv_read(a1.value, a1.len, &el), DP_OK);
	assert_int_equal(el.raw_len, DP_SCP03T_SEGMENT_MAX);
	assert_bytes_equal(el.value, DP_SCP03T_PLAIN_MAX_MAC, meta.data, DP_SCP03T_PLAIN_MAX_MAC);
	assert_int_equal(dp_tlv_read(a1.value + el.raw_len, a1.len - el.raw_len, &el), DP_OK);
	assert_int_equal(el.len, meta.len - DP_SCP03T_PLAIN_MAX_MAC + 8);
	install(fx, &meta, 0);
	dp_buf_deinit(&extra);
	dp_buf_deinit(&meta);
}

/* 4. re-binding: the otSK.DP of a first build reused in a later session (another tid)
 * gives the same otPK.DP and the same protected segments, and installs */
static void reuse_otsk(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_buf meta, first;
	struct dp_tlv bpp1, bpp2, isc1, isc2, pk1, pk2;
	struct cut k;
	EVP_PKEY *otsk = NULL, *otsk2 = NULL;
	uint8_t otpk_euicc[DP_CURVE_POINT_BYTES];
	euicc_dl_prepared(fx);
	memcpy(otpk_euicc, fx->otpk_euicc, sizeof(otpk_euicc));
	make_metadata(fx, NULL, 0, &meta);
	struct dp_bpp_input in = input_for(fx, &meta);
	build(fx, &in, &otsk);
	assert_non_null(otsk);
	dp_buf_init(&first, BPP_MAX);
	assert_int_equal(dp_buf_append(&first, fx->bpp.data, fx->bpp.len), DP_OK);
	/* the BPP never reached the eUICC; a new session with an 8-byte tid, where the
	 * SM-DP+ names the old otPK.EUICC (bppEuiccOtpk) and the eUICC keeps it */
	memcpy(fx->auth.tid, "\x10\x20\x30\x40\x50\x60\x70\x80", 8);
	fx->auth.tid_len = 8;
	euicc_dl_authenticate(fx);
	struct dp_tlv signed2;
	assert_int_equal(
	    euicc_dl_prepare_download(fx, &(struct euicc_dl_prepare){.otpk = otpk_euicc}, &signed2),
	    0);
	assert_memory_equal(fx->otpk_euicc, otpk_euicc, sizeof(otpk_euicc));
	in = input_for(fx, &meta);
	in.otsk_dp = otsk;
	build(fx, &in, &otsk2);
	assert_ptr_equal(otsk2, otsk); /* the same key, one more reference */
	EVP_PKEY_free(otsk2);
	assert_int_equal(
	    dp_tlv_expect(first.data + sizeof(prefix), first.len - sizeof(prefix), 0xBF36, &bpp1),
	    DP_OK);
	assert_int_equal(dp_tlv_expect(fx->bpp.data + sizeof(prefix), fx->bpp.len - sizeof(prefix),
				       0xBF36, &bpp2),
			 DP_OK);
	assert_int_equal(dp_tlv_read(bpp1.value, bpp1.len, &isc1), DP_OK);
	assert_int_equal(dp_tlv_read(bpp2.value, bpp2.len, &isc2), DP_OK);
	assert_int_equal(dp_tlv_find(isc1.value, isc1.len, 0x5F49, &pk1), DP_OK);
	assert_int_equal(dp_tlv_find(isc2.value, isc2.len, 0x5F49, &pk2), DP_OK);
	assert_bytes_equal(pk2.value, pk2.len, pk1.value, pk1.len);
	/* same keys, same counter: A0..A3 byte-identical; only the BF23 differs */
	assert_bytes_equal(isc2.raw + isc2.raw_len, bpp2.len - isc2.raw_len,
			   isc1.raw + isc1.raw_len, bpp1.len - isc1.raw_len);
	assert_memory_not_equal(isc1.raw, isc2.raw,
				isc1.raw_len < isc2.raw_len ? isc1.raw_len : isc2.raw_len);
	cut(fx, &k);
	install(fx, &meta, 0);
	EVP_PKEY_free(otsk);
	dp_buf_deinit(&first);
	dp_buf_deinit(&meta);
}

/* dp_bpp_build must fail with want and leave out (prefix only) and *otsk alone. */
static void refused(const struct dp_bpp_input *in, struct dp_buf *out, int want)
{
	EVP_PKEY *otsk = (EVP_PKEY *)1;
	assert_int_equal(dp_bpp_build(in, out, &otsk), want);
	assert_null(otsk);
	assert_bytes_equal(out->data, out->len, prefix, sizeof(prefix));
}

/* 5. refusals: a point off the curve, out-of-range fields, a too small output */
static void errors(void **state)
{
	struct euicc_dl *fx = *state;
	struct dp_buf meta, out, bad_meta, prot, small;
	struct dp_session_keys ppk;
	uint8_t bad[DP_CURVE_POINT_BYTES];
	euicc_dl_prepared(fx);
	make_metadata(fx, NULL, 0, &meta);
	dp_buf_init(&out, BPP_MAX);
	assert_int_equal(dp_buf_append(&out, prefix, sizeof(prefix)), DP_OK);
	struct dp_bpp_input good = input_for(fx, &meta), in;
	/* otPK.EUICC not on the curve: Y changed; not uncompressed */
	memcpy(bad, fx->otpk_euicc, sizeof(bad));
	bad[64] ^= 0x01;
	in = good;
	in.otpk_euicc = bad;
	refused(&in, &out, DP_ERR_EC_POINT);
	bad[64] ^= 0x01;
	bad[0] = 0x02;
	refused(&in, &out, DP_ERR_EC_POINT);
	/* tid and hostId of 0 and 17 bytes */
	uint8_t long_field[17];
	memset(long_field, 0x42, sizeof(long_field));
	in = good;
	in.tid_len = 0;
	refused(&in, &out, DP_ERR_INVAL);
	in.tid = long_field;
	in.tid_len = 17;
	refused(&in, &out, DP_ERR_INVAL);
	in = good;
	in.host_id_len = 0;
	refused(&in, &out, DP_ERR_INVAL);
	in.host_id = long_field;
	in.host_id_len = 17;
	refused(&in, &out, DP_ERR_INVAL);
	/* an EID that is not 32 digits, metadata that is not one BF25, a BF24 that is not */
	in = good;
	in.eid = "8904903212345123451234567890123";
	refused(&in, &out, DP_ERR_INVAL);
	dp_test_hex("BF2403 5A0100", &bad_meta);
	in = good;
	in.metadata = bad_meta.data;
	in.metadata_len = bad_meta.len;
	refused(&in, &out, DP_ERR_INVAL);
	in.metadata = meta.data;
	in.metadata_len = meta.len;
	in.configure_isdp = meta.data;
	in.configure_isdp_len = meta.len;
	refused(&in, &out, DP_ERR_INVAL);
	/* SK.DPpb or a kept otSK.DP on the other curve */
	enum dp_curve other =
	    good.curve == DP_CURVE_NIST_P256 ? DP_CURVE_BRAINPOOL_P256R1 : DP_CURVE_NIST_P256;
	EVP_PKEY *other_key = NULL;
	assert_int_equal(dp_kdf_generate(other, &other_key), DP_OK);
	in = good;
	in.otsk_dp = other_key;
	refused(&in, &out, DP_ERR_INVAL);
	in = good;
	in.dppb_key = other_key;
	refused(&in, &out, DP_ERR_INVAL);
	EVP_PKEY_free(other_key);
	/* a PPK build whose profile is the plain UPP, not 86 segments */
	in = good;
	in.ppk = &ppk;
	memset(&ppk, 0x33, sizeof(ppk));
	refused(&in, &out, DP_ERR_INVAL);
	/* an output buffer too small for the BPP */
	dp_buf_init(&small, 4096);
	assert_int_equal(dp_buf_append(&small, prefix, sizeof(prefix)), DP_OK);
	refused(&good, &small, DP_ERR_TOO_LONG);
	/* dp_bpp_protect: empty profile, too small a buffer (keys wiped, out unchanged) */
	dp_buf_init(&prot, 4096);
	assert_int_equal(dp_bpp_protect(fx->upp.data, 0, &ppk, &prot), DP_ERR_INVAL);
	assert_int_equal(dp_buf_append(&prot, prefix, sizeof(prefix)), DP_OK);
	assert_int_equal(dp_bpp_protect(fx->upp.data, fx->upp.len, &ppk, &prot), DP_ERR_TOO_LONG);
	assert_bytes_equal(prot.data, prot.len, prefix, sizeof(prefix));
	static const struct dp_session_keys zero;
	assert_memory_equal(&ppk, &zero, sizeof(ppk));
	/* after all that, the good input still builds and installs */
	build(fx, &good, NULL);
	struct cut k;
	cut(fx, &k);
	install(fx, &meta, 0);
	dp_buf_deinit(&prot);
	dp_buf_deinit(&small);
	dp_buf_deinit(&bad_meta);
	dp_buf_deinit(&out);
	dp_buf_deinit(&meta);
}

/* Each test on both curves, under its own name. */
#define BOTH(fn)                                                                                   \
	{#fn "_nist", fn, euicc_dl_setup, euicc_dl_teardown, NULL},                                \
	{                                                                                          \
#fn "_brainpool", fn, setup_brainpool, euicc_dl_teardown, NULL                     \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BOTH(install_session_keys), BOTH(install_ppk), BOTH(structure),
	    BOTH(long_metadata),	BOTH(reuse_otsk),  BOTH(errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
