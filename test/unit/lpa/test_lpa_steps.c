/* The test LPA's pieces that need no server (test/lpa/lpa.h): hashCc, ICCIDs, the BPP
 * cutter (SGP.22 2.5.5) against the test eUICC, and the first two download steps through
 * a transport hook that plays the SM-DP+ with the SGP.26 DPauth key: the exact request
 * bodies, ctxParams1 with and without a matching ID, refusals and eUICC errors. */
#include "test/support/support.h"

#include <string.h>

#include <jansson.h>

#include "pki/asn1/tlv.h"
#include "pki/base/codec.h"
#include "test/lpa/lpa.h"
#include "test/unit/euicc/euicc_download.h"

static void hash_cc(void **state)
{
	/* python3: tid = bytes.fromhex('0123456789ABCDEF8899AABBCCDDEEFF')
	 * hashlib.sha256(hashlib.sha256(b'12345678').digest() + tid).hexdigest() */
	static const uint8_t tid[] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
				      0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
	struct dp_buf want;
	uint8_t got[32];
	dp_test_hex("d36dfe02fcc86970ea290811663ce9a5ae3b58d1e24a0f5f6ea0ff870635b864", &want);
	assert_int_equal(dp_lpa_hash_cc("12345678", tid, sizeof(tid), got), 0);
	assert_bytes_equal(got, 32, want.data, want.len);
	dp_buf_deinit(&want);
}

static void iccid(void **state)
{
	static const uint8_t bcd[10] = {0x98, 0x00, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0xF4};
	char digits[21];
	uint8_t back[10];
	assert_int_equal(dp_lpa_iccid_to_digits(bcd, 10, digits), 0);
	assert_string_equal(digits, "8900012345678901234");
	assert_int_equal(dp_lpa_iccid_from_digits(digits, back), 0);
	assert_memory_equal(back, bcd, 10);
	assert_int_equal(dp_lpa_iccid_from_digits("89000123456789012345", back), 0);
	assert_int_equal(back[9], 0x54);
	assert_int_equal(dp_lpa_iccid_from_digits("8900012345678901", back), DP_ERR_INVAL);
	assert_int_equal(dp_lpa_iccid_from_digits("890001234567890123a", back), DP_ERR_INVAL);
	static const uint8_t bad[2] = {0xA9, 0x00};
	assert_int_equal(dp_lpa_iccid_to_digits(bad, 2, digits), DP_ERR_INVAL);
}

/* The cutter gives exactly the test eUICC suite's segments, and they install. */
static void cut_and_load(struct euicc_dl *fx, bool ppk)
{
	struct dp_lpa_segment seg[EUICC_DL_SEGMENTS_MAX];
	size_t n;
	uint8_t aid[16];
	int command;
	euicc_dl_prepared(fx);
	euicc_dl_build_bpp_ppk(fx, false, ppk);
	assert_int_equal(dp_lpa_bpp_cut(fx->bpp.data, fx->bpp.len, seg, EUICC_DL_SEGMENTS_MAX, &n),
			 0);
	assert_int_equal(n, fx->n_seg);
	for (size_t i = 0; i < n; i++) {
		assert_bytes_equal(seg[i].p, seg[i].len, fx->seg[i].p, fx->seg[i].len);
		assert_true(seg[i].len <= DP_LPA_SEGMENT_MAX);
	}
	/* first segment BF36 header + BF23; second A0 + 87; third the A1 header alone */
	assert_int_equal(seg[0].p[0], 0xBF);
	assert_int_equal(seg[1].p[0], 0xA0);
	assert_int_equal(seg[2].p[0], 0xA1);
	assert_int_equal(seg[3].p[0], 0x88);
	if (ppk)
		assert_int_equal(seg[4].p[0], 0xA2);
	assert_int_equal(seg[ppk ? 5 : 4].p[0], 0xA3);
	assert_int_equal(seg[n - 1].p[0], 0x86);
	assert_int_equal(euicc_dl_load(fx), n - 1);
	assert_int_equal(euicc_dl_check_pir(fx, aid, &command), 0);
}

static void bpp_cut(void **state)
{
	cut_and_load(*state, false);
}

static void bpp_cut_ppk(void **state)
{
	cut_and_load(*state, true);
}

static void bpp_cut_malformed(void **state)
{
	static const char *const cases[] = {
	    "30 00",				       /* not BF36 */
	    "BF36 00",				       /* empty */
	    "BF36 03 A0 01 00",			       /* no BF23 first */
	    "BF36 02 BF23",			       /* truncated */
	    "BF36 03 BF23 00",			       /* length past the end */
	    "BF36 03 BF23 00 A1 00",		       /* BF23 alone fits; then garbage */
	    "BF36 05 BF23 00 A1 00",		       /* A1 where A0 belongs */
	    "BF36 09 BF23 00 A0 02 87 00 A3 00",       /* empty A3, no A1 */
	    "BF36 0B BF23 00 A0 02 87 00 A1 02 86 00", /* 86 inside A1 */
	    "BF36 0F BF23 00 A0 02 87 00 A1 02 88 00 A3 02 86 00 00",	 /* trailing inside */
	    "BF36 0E BF23 00 A0 02 87 00 A1 02 88 00 A3 00",		 /* empty A3 */
	    "BF36 0F BF23 00 A0 02 87 00 A1 02 88 00 A3 02 86 00 00 00", /* bytes after BF36 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dp_buf b;
		struct dp_lpa_segment seg[16];
		size_t n;
		dp_test_hex(cases[i], &b);
		int r = dp_lpa_bpp_cut(b.data, b.len, seg, 16, &n);
		if (r == DP_OK)
			fail_msg("case %zu (%s) was accepted", i, cases[i]);
		dp_buf_deinit(&b);
	}
	/* the smallest well-formed shape, and the segment limit */
	struct dp_buf b;
	struct dp_lpa_segment seg[8];
	size_t n;
	dp_test_hex("BF36 11 BF23 00 A0 02 87 00 A1 02 88 00 A3 04 86 00 86 00", &b);
	assert_int_equal(dp_lpa_bpp_cut(b.data, b.len, seg, 8, &n), 0);
	assert_int_equal(n, 7); /* BF36+BF23, A0+87, A1, 88, A3, 86, 86 */
	assert_int_equal(seg[0].len, 6);
	assert_int_equal(seg[1].len, 4);
	assert_int_equal(seg[2].len, 2);
	assert_int_equal(dp_lpa_bpp_cut(b.data, b.len, seg, 6, &n), DP_ERR_TOO_LONG);
	dp_buf_deinit(&b);
}

/* ---- steps 1 and 2 against a hook playing the SM-DP+ ---- */

struct peer {
	struct euicc_dl *fx;
	char function[64], address[256];
	struct dp_buf request; /* the last body */
	struct dp_buf reply;
	const char *refuse; /* a Failed response body for authenticateClient */
};

#define OK_HEADER "\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\"}}"

static const char *member(json_t *root, const char *name)
{
	json_t *v = json_object_get(root, name);
	assert_non_null(v);
	return json_string_value(v);
}

static void b64_member(json_t *root, const char *name, struct dp_buf *out)
{
	const char *s = member(root, name);
	assert_int_equal(dp_b64_decode(s, strlen(s), DP_B64_STRICT, out), 0);
}

static int peer_call(void *ctx, const char *address, const char *function,
		     const struct dp_buf *body, struct dp_lpa_http_response *resp)
{
	struct peer *p = ctx;
	snprintf(p->function, sizeof(p->function), "%s", function);
	snprintf(p->address, sizeof(p->address), "%s", address);
	dp_buf_reset(&p->request);
	assert_int_equal(dp_buf_append(&p->request, body->data, body->len), 0);
	dp_buf_reset(&p->reply);
	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	resp->content_type = "application/json";
	resp->admin_protocol = "gsma/rsp/v2.1.0";
	if (strcmp(function, "initiateAuthentication") == 0) {
		/* serverSigned1 echoes the challenge the LPA sent */
		json_t *root = json_loadb((const char *)body->data, body->len, 0, NULL);
		struct dp_buf ch, asr;
		dp_buf_init(&ch, 64);
		dp_buf_init(&asr, 16384);
		b64_member(root, "euiccChallenge", &ch);
		assert_int_equal(ch.len, 16);
		memcpy(p->fx->auth.challenge, ch.data, 16);
		euicc_test_auth_request(&p->fx->auth, &asr);
		/* BF38 { 30 serverSigned1, 5F37, 04, 30 cert, A0 ctx }: the first four */
		struct dp_tlv top, part;
		assert_int_equal(dp_tlv_read(asr.data, asr.len, &top), 0);
		struct dp_cursor c = dp_cursor_make(top.value, top.len);
		static const char *const names[] = {"serverSigned1", "serverSignature1",
						    "euiccCiPKIdToBeUsed", "serverCertificate"};
		assert_int_equal(dp_buf_append_str(&p->reply, "{" OK_HEADER), 0);
		assert_int_equal(
		    dp_buf_append_str(&p->reply,
				      ",\"transactionId\":\"0123456789abcdef8899AABBCCDDEEFF\""),
		    0);
		for (int i = 0; i < 4; i++) {
			assert_int_equal(dp_tlv_next(&c, &part), 0);
			assert_int_equal(dp_buf_printf(&p->reply, ",\"%s\":\"", names[i]), 0);
			assert_int_equal(dp_b64_encode(part.raw, part.raw_len, &p->reply), 0);
			assert_int_equal(dp_buf_append_str(&p->reply, "\""), 0);
		}
		assert_int_equal(dp_buf_append_str(&p->reply, "}"), 0);
		json_decref(root);
		dp_buf_deinit(&ch);
		dp_buf_deinit(&asr);
	} else {
		assert_int_equal(dp_buf_append_str(&p->reply, p->refuse), 0);
	}
	resp->body = p->reply.data;
	resp->len = p->reply.len;
	return 0;
}

static int peer_setup(void **state)
{
	euicc_dl_setup(state);
	struct peer *p = test_calloc(1, sizeof(*p));
	p->fx = *state;
	dp_buf_init(&p->request, 1 << 20);
	dp_buf_init(&p->reply, 1 << 20);
	p->refuse = "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
		    "\"statusCodeData\":{\"subjectCode\":\"8.2.6\",\"reasonCode\":\"3.8\","
		    "\"message\":\"matching ID refused\"}}}}";
	*state = p;
	return 0;
}

static int peer_teardown(void **state)
{
	struct peer *p = *state;
	void *fx = p->fx;
	dp_buf_deinit(&p->request);
	dp_buf_deinit(&p->reply);
	test_free(p);
	return euicc_dl_teardown(&fx);
}

static struct dp_lpa *peer_lpa(struct peer *p)
{
	struct dp_lpa_options o = {.transport = peer_call, .transport_ctx = p};
	struct dp_lpa *l;
	assert_int_equal(dp_lpa_new(p->fx->e, &o, &l), 0);
	return l;
}

/* Runs steps 1 and 2 with matching_id; returns ctxParams1 as the eUICC signed it (in
 * euiccSigned1 of the forwarded authenticateServerResponse) into ctx. */
static void run_two_steps(struct peer *p, const char *matching_id, struct dp_buf *ctx)
{
	struct dp_lpa *l = peer_lpa(p);
	assert_int_equal(dp_lpa_initiate_authentication(l, EUICC_DL_ADDRESS), 0);
	assert_string_equal(p->function, "initiateAuthentication");
	assert_string_equal(p->address, EUICC_DL_ADDRESS);
	/* the body: exactly smdpAddress, euiccChallenge (16 raw bytes), euiccInfo1 (BF20) */
	json_t *root = json_loadb((const char *)p->request.data, p->request.len, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_object_size(root), 3);
	assert_string_equal(member(root, "smdpAddress"), EUICC_DL_ADDRESS);
	struct dp_buf info1, want;
	dp_buf_init(&info1, 4096);
	dp_buf_init(&want, 4096);
	b64_member(root, "euiccInfo1", &info1);
	assert_int_equal(dp_euicc_identity_info1(dp_euicc_identity(p->fx->e), &want), 0);
	assert_bytes_equal(info1.data, info1.len, want.data, want.len);
	json_decref(root);
	assert_string_equal(dp_lpa_transaction_id(l), "0123456789ABCDEF8899AABBCCDDEEFF");
	assert_int_equal(dp_lpa_last_call(l)->http_status, 200);
	assert_string_equal(dp_lpa_last_call(l)->st.status, "Executed-Success");
	/* step 2: AuthenticateServer succeeds; the SM-DP+ refuses */
	assert_int_equal(dp_lpa_authenticate_client(l, matching_id), DP_ERR_LPA_REFUSED);
	assert_string_equal(p->function, "authenticateClient");
	const struct dp_lpa_call *call = dp_lpa_last_call(l);
	assert_string_equal(call->function, "authenticateClient");
	assert_string_equal(call->st.subject, "8.2.6");
	assert_string_equal(call->st.reason, "3.8");
	assert_string_equal(call->st.message, "matching ID refused");
	root = json_loadb((const char *)p->request.data, p->request.len, 0, NULL);
	assert_int_equal(json_object_size(root), 2);
	assert_string_equal(member(root, "transactionId"), "0123456789ABCDEF8899AABBCCDDEEFF");
	struct dp_buf asr;
	dp_buf_init(&asr, 16384);
	b64_member(root, "authenticateServerResponse", &asr);
	struct dp_tlv top, ok, signed1, c;
	assert_int_equal(dp_tlv_expect(asr.data, asr.len, 0xBF38, &top), 0);
	assert_int_equal(dp_tlv_read(top.value, top.len, &ok), 0);
	assert_int_equal(ok.tag, 0xA0);
	assert_int_equal(dp_tlv_read(ok.value, ok.len, &signed1), 0);
	assert_int_equal(dp_tlv_find(signed1.value, signed1.len, 0xA0, &c), 0);
	assert_int_equal(dp_buf_append(ctx, c.raw, c.raw_len), 0);
	json_decref(root);
	dp_buf_deinit(&asr);
	dp_buf_deinit(&info1);
	dp_buf_deinit(&want);
	dp_lpa_free(l);
}

static void ctx_params(void **state)
{
	struct peer *p = *state;
	struct dp_buf got, want;
	/* matchingId "MID", deviceInfo { tac 35290611, empty capabilities } */
	dp_buf_init(&got, 256);
	run_two_steps(p, "MID", &got);
	dp_test_hex("A0 0F 80 03 4D4944 A1 08 80 04 35290611 A1 00", &want);
	assert_bytes_equal(got.data, got.len, want.data, want.len);
	dp_buf_deinit(&want);
	/* empty matching ID: sent as an empty 80 */
	dp_buf_reset(&got);
	run_two_steps(p, "", &got);
	dp_test_hex("A0 0C 80 00 A1 08 80 04 35290611 A1 00", &want);
	assert_bytes_equal(got.data, got.len, want.data, want.len);
	dp_buf_deinit(&want);
	/* none (default SM-DP+): no 80 at all */
	dp_buf_reset(&got);
	run_two_steps(p, NULL, &got);
	dp_test_hex("A0 0A A1 08 80 04 35290611 A1 00", &want);
	assert_bytes_equal(got.data, got.len, want.data, want.len);
	dp_buf_deinit(&want);
	dp_buf_deinit(&got);
}

static void euicc_error_forwarded(void **state)
{
	struct peer *p = *state;
	struct dp_lpa *l = peer_lpa(p);
	/* a flipped serverSignature1: the eUICC answers invalidSignature(2), which still goes
	 * to the SM-DP+ */
	p->fx->auth.corrupt_signature = 1;
	assert_int_equal(dp_lpa_initiate_authentication(l, EUICC_DL_ADDRESS), 0);
	assert_int_equal(dp_lpa_authenticate_client(l, "MID"), DP_ERR_LPA_EUICC);
	assert_int_equal(dp_lpa_euicc_error(l), DP_EUICC_AUTH_INVALID_SIGNATURE);
	assert_string_equal(p->function, "authenticateClient");
	json_t *root = json_loadb((const char *)p->request.data, p->request.len, 0, NULL);
	struct dp_buf asr;
	dp_buf_init(&asr, 1024);
	b64_member(root, "authenticateServerResponse", &asr);
	struct dp_tlv top, err;
	assert_int_equal(dp_tlv_expect(asr.data, asr.len, 0xBF38, &top), 0);
	assert_int_equal(dp_tlv_read(top.value, top.len, &err), 0);
	assert_int_equal(err.tag, 0xA1);
	json_decref(root);
	dp_buf_deinit(&asr);
	/* steps out of order are refused without a call */
	p->function[0] = '\0';
	assert_int_equal(dp_lpa_prepare_download(l, NULL), DP_ERR_INVAL);
	assert_int_equal(dp_lpa_get_bound_profile_package(l), DP_ERR_INVAL);
	struct dp_lpa_install_result res;
	assert_int_equal(dp_lpa_load_bound_profile_package(l, &res), DP_ERR_INVAL);
	assert_string_equal(p->function, "");
	dp_lpa_free(l);
}

static void cancel_forwards(void **state)
{
	struct peer *p = *state;
	struct dp_lpa *l = peer_lpa(p);
	/* no session on the eUICC: its error response (BF41 81 01 05) still goes out */
	p->refuse = "{" OK_HEADER "}";
	assert_int_equal(dp_lpa_set_session(l, "smdp.example:8443", "0A0B"), 0);
	assert_int_equal(dp_lpa_cancel_session(l, DP_LPA_CANCEL_POSTPONED), 0);
	assert_int_equal(dp_lpa_euicc_error(l), 5);
	assert_string_equal(p->function, "cancelSession");
	assert_string_equal(p->address, "smdp.example:8443");
	const char *s;
	assert_int_equal(dp_buf_cstr(&p->request, &s), 0);
	/* BF41 03 81 01 05 = vwEDgQEF */
	assert_string_equal(s,
			    "{\"transactionId\":\"0A0B\",\"cancelSessionResponse\":\"v0EDgQEF\"}");
	assert_int_equal(dp_lpa_set_session(l, "smdp.example", "0A0"), DP_ERR_INVAL);
	dp_lpa_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hash_cc),
	    cmocka_unit_test(iccid),
	    cmocka_unit_test_setup_teardown(bpp_cut, euicc_dl_setup, euicc_dl_teardown),
	    cmocka_unit_test_setup_teardown(bpp_cut_ppk, euicc_dl_setup, euicc_dl_teardown),
	    cmocka_unit_test(bpp_cut_malformed),
	    cmocka_unit_test_setup_teardown(ctx_params, peer_setup, peer_teardown),
	    cmocka_unit_test_setup_teardown(euicc_error_forwarded, peer_setup, peer_teardown),
	    cmocka_unit_test_setup_teardown(cancel_forwards, peer_setup, peer_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
