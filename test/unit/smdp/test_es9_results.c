/* Every install result of handleNotification and every eligibility refusal of
 * authenticateClient, asserted (issue 6 tests: "notifications with success and with each
 * error result", "a profile class or PPR the eUICC cannot take"). SGP.22 5.6.3 / 3.1.3
 * (eligibility: 8.2.5/4.3, memory 8.1/4.8), 5.6.4 and 5.5 ProfileInstallationResult
 * (ErrorReason 1-15, 127); download-path.md 5.3, 5.5; es2-lifecycle-sgp32.md 2.2.
 *
 * The ES9+ fuzz fixture (test/fuzz/es9_functions_fixture.h) stands behind the handlers:
 * an SM-DP+ on the published SGP.26 keys with a fresh copy of its order book per test,
 * holding a BOUND session. PIRs for it are built here and signed with the SGP.26 eUICC key,
 * as that eUICC would; eligibility runs the test LPA with the SGP.26 test eUICC, whose
 * EUICCInfo2 (rspCapability, forbiddenProfilePolicyRules, free memory) each case sets. */
#include "test/support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pki/asn1/tlv.h"
#include "pki/base/codec.h"
#include "pki/crypto/cert.h"
#include "pki/crypto/ecdsa.h"
#include "profilegen/profilegen.h"
#include "test/euicc/es10.h"
#include "test/fuzz/es9_functions_fixture.h"
#include "test/lpa/lpa.h"

#define JSON_CT	  "application/json"
#define SGP26_EID "89049032123451234512345678901235"

static struct {
	struct es9f f;
	EVP_PKEY *euicc_key; /* SK.EUICC of the SGP.26 NIST test eUICC */
	struct dp_buf ts48;  /* the TS.48 package the eligibility profiles are made from */
	unsigned next_iccid; /* a fresh ICCID per profile */
	unsigned next_mid;   /* a fresh matching ID per order */
} G;

/* ---- calling a handler ---- */

struct result {
	unsigned status;
	char exec[32], subject[16], reason[16];
};

static unsigned function_index(const char *function)
{
	for (unsigned i = 0; i < 5; i++)
		if (strcmp(es9f_functions[i], function) == 0)
			return i;
	fail_msg("no function %s", function);
	return 0;
}

/* One call through the fixture; the handler must return DP_OK and answer 204 with nothing
 * or 200 with a JSON status. body_out (may be NULL) receives the response body. */
static void call(const char *function, const uint8_t *body, size_t len, struct result *res,
		 struct dp_buf *body_out)
{
	struct dp_buf out;
	dp_buf_init(&out, (size_t)16 << 20);
	memset(res, 0, sizeof(*res));
	assert_int_equal(es9f_call(&G.f, function_index(function), body, len, &res->status, &out),
			 DP_OK);
	if (res->status == 204) {
		assert_int_equal(out.len, 0);
	} else {
		assert_int_equal(res->status, 200);
		json_t *o = json_loadb((const char *)out.data, out.len, 0, NULL);
		assert_non_null(o);
		json_t *st =
		    json_object_get(json_object_get(o, "header"), "functionExecutionStatus");
		json_t *cd = json_object_get(st, "statusCodeData");
		const char *s = json_string_value(json_object_get(st, "status"));
		assert_non_null(s);
		snprintf(res->exec, sizeof(res->exec), "%s", s);
		s = json_string_value(json_object_get(cd, "subjectCode"));
		snprintf(res->subject, sizeof(res->subject), "%s", s ? s : "");
		s = json_string_value(json_object_get(cd, "reasonCode"));
		snprintf(res->reason, sizeof(res->reason), "%s", s ? s : "");
		json_decref(o);
	}
	if (body_out != NULL)
		assert_int_equal(dp_buf_append(body_out, out.data, out.len), DP_OK);
	dp_buf_deinit(&out);
}

/* ---- the order book, as text ---- */

static int count_history(void *ctx, const struct dp_db_history *h)
{
	(void)h;
	(*(size_t *)ctx)++;
	return DP_OK;
}

/* The last history row of a profile. */
static int last_history(void *ctx, const struct dp_db_history *h)
{
	*(struct dp_db_history *)ctx = *h;
	return DP_OK;
}

/* Profile lines without their history count (the order book takes no call from inside a
 * listing); the ICCIDs go to a second list for that. */
struct snap {
	struct dp_buf text;
	char iccid[64][DP_DB_ICCID_MAX + 1];
	size_t n;
};

static int snap_profile(void *ctx, const struct dp_db_profile *p)
{
	struct snap *sn = ctx;
	char aid[33] = "";
	if (p->isdp_aid_len > 0 &&
	    dp_hex_encode(p->isdp_aid, p->isdp_aid_len, true, aid, sizeof(aid)) != DP_OK)
		return DP_ERR_INTERNAL;
	if (sn->n == sizeof(sn->iccid) / sizeof(sn->iccid[0]))
		return DP_ERR_TOO_LONG;
	memcpy(sn->iccid[sn->n++], p->iccid, sizeof(p->iccid));
	return dp_buf_printf(&sn->text, "P %s %s %s aid %s\n", p->iccid,
			     dp_profile_state_name(p->state), p->eid, aid);
}

static int snap_order(void *ctx, const struct dp_db_order *o)
{
	return dp_buf_printf(ctx, "O %lld %s %u/%u %s\n", (long long)o->id, o->matching_id,
			     o->attempts, o->max_attempts, o->closed ? "closed" : "open");
}

static int snap_session(void *ctx, const struct dp_db_session *s)
{
	char t[33];
	if (dp_hex_encode(s->tid, s->tid_len, true, t, sizeof(t)) != DP_OK)
		return DP_ERR_INTERNAL;
	return dp_buf_printf(ctx, "S %s stage %d\n", t, (int)s->stage);
}

/* Profiles (state, EID, ISD-P AID, history rows), every order, the open sessions. */
static char *snapshot(void)
{
	struct snap sn;
	struct dp_db_profile_filter flt = {.state = DP_PROFILE_STATE_COUNT};
	const char *s;
	memset(&sn, 0, sizeof(sn));
	dp_buf_init(&sn.text, 1 << 20);
	assert_int_equal(dp_db_profile_list(G.f.smdp.db, &flt, snap_profile, &sn), DP_OK);
	for (size_t i = 0; i < sn.n; i++) {
		size_t rows = 0;
		assert_int_equal(
		    dp_db_profile_history(G.f.smdp.db, sn.iccid[i], count_history, &rows), DP_OK);
		assert_int_equal(dp_buf_printf(&sn.text, "H %s %zu\n", sn.iccid[i], rows), DP_OK);
	}
	assert_int_equal(dp_db_order_list(G.f.smdp.db, true, snap_order, &sn.text), DP_OK);
	assert_int_equal(dp_db_session_list(G.f.smdp.db, snap_session, &sn.text), DP_OK);
	assert_int_equal(dp_buf_cstr(&sn.text, &s), DP_OK);
	char *out = strdup(s);
	dp_buf_deinit(&sn.text);
	return out;
}

static void session_get(const uint8_t *tid, size_t len, struct dp_db_session *s)
{
	dp_db_session_init(s);
	assert_int_equal(dp_db_session_get(G.f.smdp.db, tid, len, s), DP_OK);
}

static void profile_get(const char *iccid, struct dp_db_profile *p)
{
	dp_db_profile_init(p);
	assert_int_equal(dp_db_profile_get(G.f.smdp.db, iccid, false, p), DP_OK);
}

static void order_get(int64_t id, struct dp_db_order *o)
{
	assert_int_equal(dp_db_order_get(G.f.smdp.db, id, o), DP_OK);
}

/* Whether handleNotification recorded (eid, seq, install, iccid). The probe is the order
 * book's own duplicate check: an insert that must find the row there. */
static bool install_recorded(const char *eid, uint64_t seq, const char *iccid)
{
	int r = dp_db_notification_add(G.f.smdp.db, eid, seq, "install", iccid, "probe");
	return r == DP_ERR_DB_EXISTS;
}

/* ---- ProfileInstallationResult, as the SGP.26 eUICC signs it ---- */

/* A non-negative INTEGER in minimal DER (a leading 00 when the top bit is set). */
static void append_uint(struct dp_buf *out, uint32_t tag, uint64_t v)
{
	uint8_t b[9];
	size_t n = 0;
	for (int i = 7; i >= 0; i--) {
		uint8_t byte = (uint8_t)(v >> (8 * i));
		if (n == 0 && byte == 0 && i > 0)
			continue;
		if (n == 0 && (byte & 0x80))
			b[n++] = 0x00;
		b[n++] = byte;
	}
	assert_int_equal(dp_tlv_append(out, tag, b, n), DP_OK);
}

/* finalResult errorResult: A1 { 80 bppCommandId, 81 errorReason [, 82 simaResponse] } */
static void error_result(unsigned cmd, unsigned reason, bool sima, struct dp_buf *out)
{
	static const uint8_t sima_err[] = {0x30, 0x03, 0x80, 0x01, 0x02};
	struct dp_buf v;
	dp_buf_init(&v, 64);
	dp_buf_init(out, 64);
	append_uint(&v, 0x80, cmd);
	append_uint(&v, 0x81, reason);
	if (sima)
		assert_int_equal(dp_tlv_append(&v, 0x82, sima_err, sizeof(sima_err)), DP_OK);
	assert_int_equal(dp_tlv_append(out, 0xA1, v.data, v.len), DP_OK);
	dp_buf_deinit(&v);
}

/* finalResult successResult: A0 { 4F ISD-P AID, 04 simaResponse } */
static void success_result(const uint8_t *aid, size_t aid_len, struct dp_buf *out)
{
	static const uint8_t sima_ok[] = {0x30, 0x07, 0xA0, 0x05, 0x30, 0x03, 0x80, 0x01, 0x00};
	struct dp_buf v;
	dp_buf_init(&v, 64);
	dp_buf_init(out, 64);
	assert_int_equal(dp_tlv_append(&v, 0x4F, aid, aid_len), DP_OK);
	assert_int_equal(dp_tlv_append(&v, 0x04, sima_ok, sizeof(sima_ok)), DP_OK);
	assert_int_equal(dp_tlv_append(out, 0xA0, v.data, v.len), DP_OK);
	dp_buf_deinit(&v);
}

/* BF37 { BF27 { 80 tid, BF2F { 80 seq, 81 install, 0C address, 5A iccid }, 06 smdpOid,
 * A2 { final } }, 5F37 euiccSignPIR over the BF27 TLV } */
static void pir_of(const uint8_t *tid, size_t tid_len, uint64_t seq, const char *iccid,
		   const struct dp_buf *final, struct dp_buf *out)
{
	static const uint8_t install[] = {0x07, 0x80};
	struct dp_buf meta, data, body;
	uint8_t ef[10];
	dp_buf_init(&meta, 256);
	dp_buf_init(&data, 1024);
	dp_buf_init(&body, 1024);
	dp_buf_init(out, 1024);
	append_uint(&meta, 0x80, seq);
	assert_int_equal(dp_tlv_append(&meta, 0x81, install, sizeof(install)), DP_OK);
	assert_int_equal(dp_tlv_append(&meta, 0x0C, ES9F_ADDRESS, strlen(ES9F_ADDRESS)), DP_OK);
	assert_int_equal(dp_pg_iccid_ef(iccid, ef), DP_OK);
	assert_int_equal(dp_tlv_append(&meta, 0x5A, ef, sizeof(ef)), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x80, tid, tid_len), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0xBF2F, meta.data, meta.len), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0x06, ES9F_SMDP_OID_DER, 3), DP_OK);
	assert_int_equal(dp_tlv_append(&body, 0xA2, final->data, final->len), DP_OK);
	assert_int_equal(dp_tlv_append(&data, 0xBF27, body.data, body.len), DP_OK);
	assert_int_equal(dp_ecdsa_sign_tlv(G.euicc_key, data.data, data.len, &data), DP_OK);
	assert_int_equal(dp_tlv_append(out, 0xBF37, data.data, data.len), DP_OK);
	dp_buf_deinit(&meta);
	dp_buf_deinit(&data);
	dp_buf_deinit(&body);
}

/* handleNotification with this PIR; *res its answer. */
static void post_pir(const struct dp_buf *pir, struct result *res)
{
	struct dp_buf body;
	dp_buf_init(&body, 1 << 16);
	assert_int_equal(es9f_wrap(3, ES9F_BOUND, pir->data, pir->len, &body), DP_OK);
	call("handleNotification", body.data, body.len, res, NULL);
	dp_buf_deinit(&body);
}

/* Posts the PIR; it must answer 204 (a coded refusal is printed first). */
static void post_pir_204(const struct dp_buf *pir)
{
	struct result res;
	post_pir(pir, &res);
	if (res.status != 204)
		fprintf(stderr, "handleNotification: %u %s %s/%s\n", res.status, res.exec,
			res.subject, res.reason);
	assert_int_equal(res.status, 204);
}

/* Posts the PIR again: 204, and the order book is exactly as before. */
static void post_pir_changes_nothing(const struct dp_buf *pir)
{
	char *before = snapshot();
	post_pir_204(pir);
	char *after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* The fixture's BOUND session and its profile (Downloaded). */
static void bound(struct dp_db_session *s, struct dp_db_profile *p)
{
	session_get(es9f_tid[ES9F_BOUND], 16, s);
	assert_int_equal(s->stage, DP_DB_STAGE_BOUND);
	dp_db_profile_init(p);
	assert_int_equal(dp_db_profile_get_by_id(G.f.smdp.db, s->profile_id, false, p), DP_OK);
	assert_int_equal(p->state, DP_PROFILE_DOWNLOADED);
	assert_string_equal(p->eid, s->eid);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	(void)state;
	memset(&G, 0, sizeof(G));
	assert_int_equal(es9f_setup(&G.f), DP_OK);
	assert_int_equal(dp_cert_key_load_file(
			     dp_test_shared("sgp26/eUICC/SK_EUICC_ECDSA_NIST.pem"), &G.euicc_key),
			 DP_OK);
	dp_test_read_file(dp_test_shared("ts48/TS48v1_A.der"), &G.ts48);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	es9f_teardown(&G.f);
	EVP_PKEY_free(G.euicc_key);
	dp_buf_deinit(&G.ts48);
	return 0;
}

/* Every test starts from the fixture's pristine order book. */
static int reset(void **state)
{
	(void)state;
	assert_int_equal(es9f_reset(&G.f), DP_OK);
	return 0;
}

/* ---- handleNotification: the install results ---- */

/* Each errorReason of SGP.22 v2.5 (and the later v2.x 31, 32), with loadProfileElements and
 * with other bppCommandIds: 204; Released for 10 and 11 (the order may be tried again, it
 * stays open), Error otherwise (the order closes); the session ends; the notification and
 * the history row are recorded; delivered again, or followed by another result for the
 * same session, nothing more changes. */
/* A PIR naming another ICCID than the session's profile is refused; nothing changes. */
static void install_result_other_iccid(void **state)
{
	struct dp_db_session s;
	struct dp_db_profile p;
	struct dp_buf fin, pir;
	struct result res;
	static const uint8_t aid[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0x01};
	(void)state;
	bound(&s, &p);
	success_result(aid, sizeof(aid), &fin);
	pir_of(s.tid, s.tid_len, 99, "89000000000000000006", &fin, &pir);
	char *before = snapshot();
	post_pir(&pir, &res);
	char *after = snapshot();
	assert_int_equal(res.status, 200);
	assert_string_equal(res.subject, "1.6");
	assert_string_equal(res.reason, "2.1");
	assert_string_equal(before, after);
	free(before);
	free(after);
	dp_buf_deinit(&fin);
	dp_buf_deinit(&pir);
	dp_db_profile_deinit(&p);
	dp_db_session_deinit(&s);
}

static void install_error_results(void **state)
{
	static const struct {
		unsigned cmd, reason;
		bool sima;
	} cases[] = {
	    {5, 1, false},
	    {5, 2, false},
	    {5, 3, false},
	    {5, 4, false},
	    {5, 5, false},
	    {5, 6, false},
	    {5, 7, false},
	    {5, 8, false},
	    {5, 9, false},
	    {5, 10, false},
	    {5, 11, false},
	    {5, 12, true},
	    {5, 13, false},
	    {5, 14, false},
	    {5, 15, false},
	    {5, 127, false},
	    {5, 31, false},
	    {5, 32, false},
	    /* other commands: SCP03t errors where the secure channel opens or a key changes,
	     * interruption and memory during metadata and the key replacement */
	    {0, 2, false},
	    {0, 8, false},
	    {1, 7, false},
	    {1, 10, false},
	    {2, 11, false},
	    {3, 11, false},
	    {4, 8, true},
	    {4, 10, false},
	    {2, 127, false},
	    {3, 1, false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const unsigned cmd = cases[i].cmd, reason = cases[i].reason;
		const bool retry = reason == 10 || reason == 11;
		const uint64_t seq = 20 + i;
		struct dp_db_session s, after;
		struct dp_db_profile p, q;
		struct dp_db_order o;
		struct dp_db_history h;
		struct dp_buf fin, pir, other, other_pir;
		char why[96];
		if (i > 0)
			assert_int_equal(es9f_reset(&G.f), DP_OK);
		bound(&s, &p);
		order_get(s.order_id, &o);
		const unsigned attempts = o.attempts;
		assert_false(o.closed);
		error_result(cmd, reason, cases[i].sima, &fin);
		pir_of(s.tid, s.tid_len, seq, p.iccid, &fin, &pir);
		post_pir_204(&pir);
		/* the profile: Released (retry) or Error, still bound to the eUICC */
		profile_get(p.iccid, &q);
		if (q.state != (retry ? DP_PROFILE_RELEASED : DP_PROFILE_ERROR))
			fail_msg("bppCommandId %u errorReason %u: profile %s", cmd, reason,
				 dp_profile_state_name(q.state));
		assert_string_equal(q.eid, s.eid);
		assert_int_equal(q.isdp_aid_len, 0);
		/* the session ended, naming the result */
		snprintf(why, sizeof(why), "install error: bppCommandId %u, errorReason %u", cmd,
			 reason);
		session_get(s.tid, s.tid_len, &after);
		assert_int_equal(after.stage, DP_DB_STAGE_FINISHED);
		assert_string_equal(after.end, why);
		/* the order: open for another try, closed after a permanent error; the attempt
		 * was counted at authenticateClient, not here */
		order_get(s.order_id, &o);
		assert_int_equal(o.closed, !retry);
		assert_int_equal(o.attempts, attempts);
		/* the history row and the notification */
		memset(&h, 0, sizeof(h));
		assert_int_equal(dp_db_profile_history(G.f.smdp.db, p.iccid, last_history, &h),
				 DP_OK);
		assert_int_equal(h.from, DP_PROFILE_DOWNLOADED);
		assert_int_equal(h.to, q.state);
		assert_string_equal(h.why, why);
		assert_true(install_recorded(s.eid, seq, p.iccid));
		/* delivered again; then a success for the finished session, as another seq */
		post_pir_changes_nothing(&pir);
		success_result((const uint8_t *)"\xA0\x00\x00\x05\x59\x10\x10\xFF\xFF\xFF\xFF\x89"
						"\x00\x00\x11\x00",
			       16, &other);
		pir_of(s.tid, s.tid_len, seq + 100, p.iccid, &other, &other_pir);
		post_pir_changes_nothing(&other_pir);
		dp_buf_deinit(&other);
		dp_buf_deinit(&other_pir);
		dp_buf_deinit(&fin);
		dp_buf_deinit(&pir);
		dp_db_profile_deinit(&p);
		dp_db_profile_deinit(&q);
		dp_db_session_deinit(&s);
		dp_db_session_deinit(&after);
	}
}

/* successResult: Installed with the ISD-P AID recorded, the order closed, the session
 * ended; an AID outside SIZE(5..16) is refused and changes nothing; delivered again, or
 * followed by an error result, nothing more changes. */
static void install_success_result(void **state)
{
	static const uint8_t aid[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
					0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x12, 0x00};
	struct dp_db_session s, after;
	struct dp_db_profile p, q;
	struct dp_db_order o;
	struct dp_db_history h;
	struct dp_buf fin, pir;
	struct result res;
	(void)state;
	bound(&s, &p);
	/* ISD-P AIDs of 4 and 17 bytes: 1.6/2.1, nothing recorded */
	const size_t bad_len[] = {4, 17};
	uint8_t long_aid[17];
	memcpy(long_aid, aid, 16);
	long_aid[16] = 0x01;
	for (size_t i = 0; i < 2; i++) {
		char *before = snapshot();
		success_result(long_aid, bad_len[i], &fin);
		pir_of(s.tid, s.tid_len, 7, p.iccid, &fin, &pir);
		post_pir(&pir, &res);
		assert_int_equal(res.status, 200);
		assert_string_equal(res.subject, "1.6");
		assert_string_equal(res.reason, "2.1");
		char *now = snapshot();
		assert_string_equal(before, now);
		free(before);
		free(now);
		dp_buf_deinit(&fin);
		dp_buf_deinit(&pir);
	}
	/* (a probe that finds nothing adds the row: seq 7 is not used again) */
	assert_false(install_recorded(s.eid, 7, p.iccid));
	success_result(aid, sizeof(aid), &fin);
	pir_of(s.tid, s.tid_len, 8, p.iccid, &fin, &pir);
	post_pir_204(&pir);
	profile_get(p.iccid, &q);
	assert_int_equal(q.state, DP_PROFILE_INSTALLED);
	assert_string_equal(q.eid, s.eid);
	assert_bytes_equal(q.isdp_aid, q.isdp_aid_len, aid, sizeof(aid));
	session_get(s.tid, s.tid_len, &after);
	assert_int_equal(after.stage, DP_DB_STAGE_FINISHED);
	assert_string_equal(after.end, "installed");
	order_get(s.order_id, &o);
	assert_true(o.closed);
	memset(&h, 0, sizeof(h));
	assert_int_equal(dp_db_profile_history(G.f.smdp.db, p.iccid, last_history, &h), DP_OK);
	assert_int_equal(h.from, DP_PROFILE_DOWNLOADED);
	assert_int_equal(h.to, DP_PROFILE_INSTALLED);
	assert_true(install_recorded(s.eid, 8, p.iccid));
	post_pir_changes_nothing(&pir);
	dp_buf_deinit(&fin);
	dp_buf_deinit(&pir);
	/* an error result for the finished session: still Installed */
	error_result(5, 12, false, &fin);
	pir_of(s.tid, s.tid_len, 9, p.iccid, &fin, &pir);
	post_pir_changes_nothing(&pir);
	assert_false(install_recorded(s.eid, 9, p.iccid));
	dp_buf_deinit(&fin);
	dp_buf_deinit(&pir);
	dp_db_profile_deinit(&p);
	dp_db_profile_deinit(&q);
	dp_db_session_deinit(&s);
	dp_db_session_deinit(&after);
}

/* ---- the test LPA with the SGP.26 test eUICC ---- */

struct device {
	struct dp_euicc_identity *id; /* owned by e; kept to change its memory between steps */
	struct dp_euicc *e;
	struct dp_lpa *lpa;
	struct dp_buf resp; /* the last answer, valid until the next call */
	struct result last; /* its status and codes */
};

static int hook_call(void *ctx, const char *address, const char *function,
		     const struct dp_buf *body, struct dp_lpa_http_response *out)
{
	struct device *d = ctx;
	(void)address;
	dp_buf_reset(&d->resp);
	call(function, body->data, body->len, &d->last, &d->resp);
	memset(out, 0, sizeof(*out));
	out->status = d->last.status;
	out->admin_protocol = "gsma/rsp/v2.5.0";
	out->content_type = d->last.status == 204 ? NULL : JSON_CT;
	out->body = d->resp.data;
	out->len = d->resp.len;
	return DP_OK;
}

/* The SGP.26 NIST test eUICC reporting these rspCapability bits, forbidden PPRs (has_ppr
 * false: the member absent) and free memory. */
static void device_new(struct device *d, uint32_t rsp, bool has_ppr, uint8_t forbidden,
		       uint32_t free_memory)
{
	memset(d, 0, sizeof(*d));
	assert_int_equal(
	    dp_euicc_identity_load_sgp26(dp_test_shared("sgp26"), DP_CURVE_NIST_P256, &d->id),
	    DP_OK);
	dp_euicc_identity_set_rsp_capability(d->id, rsp);
	dp_euicc_identity_set_forbidden_ppr(d->id, has_ppr, forbidden);
	dp_euicc_identity_set_free_memory(d->id, free_memory);
	assert_int_equal(dp_euicc_new(d->id, &d->e), DP_OK);
	dp_buf_init(&d->resp, (size_t)16 << 20);
	struct dp_lpa_options o = {.transport = hook_call, .transport_ctx = d};
	assert_int_equal(dp_lpa_new(d->e, &o, &d->lpa), DP_OK);
}

static void device_free(struct device *d)
{
	dp_lpa_free(d->lpa);
	dp_euicc_free(d->e);
	dp_buf_deinit(&d->resp);
}

/* A profile (TS.48 A under a fresh ICCID, Available) of this type, class and PPRs, its
 * metadata saying the same; iccid receives the ICCID. */
static void new_profile(const char *type, int profile_class, uint8_t ppr, char iccid[21])
{
	assert_int_equal(es9f_profile_add(G.f.smdp.db, G.ts48.data, G.ts48.len,
					  6000 + G.next_iccid++, type, "results", profile_class,
					  ppr, iccid),
			 DP_OK);
}

/* A new profile as above and an order for it; mid receives the matching ID. */
static void new_order(int profile_class, uint8_t ppr, char mid[16], char iccid[21])
{
	new_profile("results", profile_class, ppr, iccid);
	snprintf(mid, 16, "RES-%u", G.next_mid++);
	struct dp_db_order_new o = {
	    .matching_id = mid,
	    .iccid = iccid,
	    .max_attempts = 5,
	    .cc_max_attempts = 3,
	    .owner = "test",
	};
	assert_int_equal(dp_db_order_add(G.f.smdp.db, &o, "test", NULL, NULL), DP_OK);
}

static enum dp_profile_state state_of(const char *iccid)
{
	struct dp_db_profile p;
	profile_get(iccid, &p);
	enum dp_profile_state s = p.state;
	dp_db_profile_deinit(&p);
	return s;
}

/* The stored session of the LPA's current transactionId. */
static void lpa_session(struct dp_lpa *l, struct dp_db_session *s)
{
	uint8_t tid[16];
	size_t n;
	const char *th = dp_lpa_transaction_id(l);
	assert_int_equal(dp_hex_decode(th, strlen(th), tid, sizeof(tid), &n), DP_OK);
	session_get(tid, n, s);
}

/* authenticateClient for the order is refused with subject/reason: the profile goes to
 * Error, the session ends, the order closes (the matching ID is refused from then on). */
static void refused_at_eligibility(struct device *d, const char *mid, const char *iccid,
				   const char *subject, const char *reason)
{
	struct dp_db_session s;
	struct dp_db_order o;
	assert_int_equal(state_of(iccid), DP_PROFILE_RELEASED);
	assert_int_equal(dp_lpa_initiate_authentication(d->lpa, ES9F_ADDRESS), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d->lpa, mid), DP_ERR_LPA_REFUSED);
	if (strcmp(d->last.subject, subject) != 0 || strcmp(d->last.reason, reason) != 0)
		fail_msg("%s: expected %s/%s, got %s %s/%s", mid, subject, reason, d->last.exec,
			 d->last.subject, d->last.reason);
	assert_string_equal(d->last.exec, "Failed");
	assert_int_equal(state_of(iccid), DP_PROFILE_ERROR);
	lpa_session(d->lpa, &s);
	assert_int_equal(s.stage, DP_DB_STAGE_FINISHED);
	assert_string_equal(s.eid, SGP26_EID);
	assert_int_not_equal(s.end[0], '\0');
	assert_int_equal(dp_db_order_find(G.f.smdp.db, mid, &o), DP_ERR_NOT_FOUND);
	dp_db_session_deinit(&s);
	/* the next session for the same order: its matching ID is refused */
	assert_int_equal(dp_lpa_initiate_authentication(d->lpa, ES9F_ADDRESS), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d->lpa, mid), DP_ERR_LPA_REFUSED);
	assert_string_equal(d->last.subject, "8.2.6");
	assert_string_equal(d->last.reason, "3.8");
	assert_int_equal(state_of(iccid), DP_PROFILE_ERROR);
}

/* authenticateClient for the order is accepted (the profile stays Released, bound to the
 * eUICC); with `install`, the download goes on to Installed. */
static void accepted_at_eligibility(struct device *d, const char *mid, const char *iccid,
				    bool install)
{
	struct dp_db_profile p;
	struct dp_db_session s;
	assert_int_equal(dp_lpa_initiate_authentication(d->lpa, ES9F_ADDRESS), DP_OK);
	int r = dp_lpa_authenticate_client(d->lpa, mid);
	if (r != DP_OK)
		fail_msg("%s: %s %s/%s", mid, d->last.exec, d->last.subject, d->last.reason);
	profile_get(iccid, &p);
	assert_int_equal(p.state, DP_PROFILE_RELEASED);
	assert_string_equal(p.eid, SGP26_EID);
	dp_db_profile_deinit(&p);
	lpa_session(d->lpa, &s);
	assert_int_equal(s.stage, DP_DB_STAGE_AUTHENTICATED);
	dp_db_session_deinit(&s);
	if (!install) {
		/* end it cleanly for the next case */
		assert_int_equal(dp_lpa_cancel_session(d->lpa, DP_LPA_CANCEL_POSTPONED), DP_OK);
		return;
	}
	struct dp_lpa_install_result ir;
	size_t sent = 0;
	assert_int_equal(dp_lpa_prepare_download(d->lpa, NULL), DP_OK);
	assert_int_equal(dp_lpa_get_bound_profile_package(d->lpa), DP_OK);
	assert_int_equal(dp_lpa_load_bound_profile_package(d->lpa, &ir), DP_OK);
	assert_true(ir.success);
	assert_int_equal(dp_lpa_notification_send_all(d->lpa, &sent), DP_OK);
	assert_int_equal(sent, 1);
	profile_get(iccid, &p);
	assert_int_equal(p.state, DP_PROFILE_INSTALLED);
	assert_bytes_equal(p.isdp_aid, p.isdp_aid_len, ir.aid, ir.aid_len);
	dp_db_profile_deinit(&p);
}

/* ---- authenticateClient: eligibility ---- */

/* A test profile (class 0) needs rspCapability testProfileSupport (bit 3): refused
 * 8.2.5/4.3 without it (no bits, additionalProfile only, a longer string without bit 3),
 * accepted and installed with it; other classes need no such bit. */
static void eligibility_test_profile(void **state)
{
	const uint32_t without[] = {0, DP_EUICC_RSP_ADDITIONAL_PROFILE,
				    DP_EUICC_RSP_ADDITIONAL_PROFILE | (1u << 5) | (1u << 9)};
	char mid[16], iccid[21];
	struct device d;
	(void)state;
	for (size_t i = 0; i < sizeof(without) / sizeof(without[0]); i++) {
		device_new(&d, without[i], false, 0, DP_EUICC_FREE_MEMORY_DEFAULT);
		new_order(0, 0, mid, iccid);
		refused_at_eligibility(&d, mid, iccid, "8.2.5", "4.3");
		/* an operational and a provisioning profile are fine for it */
		new_order(2, 0, mid, iccid);
		accepted_at_eligibility(&d, mid, iccid, false);
		new_order(1, 0, mid, iccid);
		accepted_at_eligibility(&d, mid, iccid, false);
		device_free(&d);
	}
	device_new(&d, DP_EUICC_RSP_CAPABILITY_DEFAULT, false, 0, DP_EUICC_FREE_MEMORY_DEFAULT);
	new_order(0, 0, mid, iccid);
	accepted_at_eligibility(&d, mid, iccid, true);
	device_free(&d);
	device_new(&d, DP_EUICC_RSP_TEST_PROFILE, false, 0, DP_EUICC_FREE_MEMORY_DEFAULT);
	new_order(0, 0, mid, iccid);
	accepted_at_eligibility(&d, mid, iccid, false);
	device_free(&d);
}

/* A profile whose PPRs the eUICC forbids (forbiddenProfilePolicyRules) is refused
 * 8.2.5/4.3; PPRs not in the list, an empty list, no list, or no PPRs are accepted. */
static void eligibility_ppr(void **state)
{
	enum { PPR1 = 1u << 1, PPR2 = 1u << 2 };
	static const struct {
		uint8_t profile;    /* the profile's PPRs */
		bool has_forbidden; /* the eUICC reports the member */
		uint8_t forbidden;
		bool refused;
	} cases[] = {
	    {PPR1, true, PPR1, true},	     {PPR2, true, PPR2, true},
	    {PPR1 | PPR2, true, PPR2, true}, {PPR2, true, PPR1 | PPR2, true},
	    {PPR1, true, PPR2, false},	     {PPR2, true, PPR1, false},
	    {PPR1 | PPR2, true, 0, false},   {PPR1 | PPR2, false, 0, false},
	    {0, true, PPR1 | PPR2, false},
	};
	char mid[16], iccid[21];
	struct device d;
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		device_new(&d, DP_EUICC_RSP_CAPABILITY_DEFAULT, cases[i].has_forbidden,
			   cases[i].forbidden, DP_EUICC_FREE_MEMORY_DEFAULT);
		new_order(2, cases[i].profile, mid, iccid);
		if (cases[i].refused)
			refused_at_eligibility(&d, mid, iccid, "8.2.5", "4.3");
		else
			accepted_at_eligibility(&d, mid, iccid, i == 4);
		device_free(&d);
	}
}

/* A pool order: the refusal (8.2.5/4.3, a test profile for an eUICC without
 * testProfileSupport) gives the claimed profile back to the pool, Available and unbound,
 * and the order stays open; an eUICC that can take it then gets one. */
static void eligibility_pool(void **state)
{
	char a[21], b[21], mid[16] = "RES-POOL";
	struct dp_db_profile p;
	struct dp_db_order o;
	struct device d;
	(void)state;
	new_profile("pool-test", 0, 0, a);
	new_profile("pool-test", 0, 0, b);
	struct dp_db_order_new on = {
	    .matching_id = mid,
	    .profile_type = "pool-test",
	    .pool = true,
	    .max_attempts = 5,
	    .cc_max_attempts = 3,
	    .owner = "test",
	};
	assert_int_equal(dp_db_order_add(G.f.smdp.db, &on, "test", NULL, NULL), DP_OK);
	device_new(&d, DP_EUICC_RSP_ADDITIONAL_PROFILE, false, 0, DP_EUICC_FREE_MEMORY_DEFAULT);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ES9F_ADDRESS), DP_OK);
		assert_int_equal(dp_lpa_authenticate_client(d.lpa, mid), DP_ERR_LPA_REFUSED);
		assert_string_equal(d.last.subject, "8.2.5");
		assert_string_equal(d.last.reason, "4.3");
		const char *both[] = {a, b};
		for (int k = 0; k < 2; k++) {
			profile_get(both[k], &p);
			assert_int_equal(p.state, DP_PROFILE_AVAILABLE);
			assert_string_equal(p.eid, "");
			dp_db_profile_deinit(&p);
		}
		assert_int_equal(dp_db_order_find(G.f.smdp.db, mid, &o), DP_OK);
		assert_false(o.closed);
	}
	device_free(&d);
	device_new(&d, DP_EUICC_RSP_CAPABILITY_DEFAULT, false, 0, DP_EUICC_FREE_MEMORY_DEFAULT);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ES9F_ADDRESS), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, mid), DP_OK);
	size_t claimed = 0;
	const char *both[] = {a, b};
	for (int k = 0; k < 2; k++) {
		profile_get(both[k], &p);
		if (p.state == DP_PROFILE_RELEASED) {
			assert_string_equal(p.eid, SGP26_EID);
			claimed++;
		} else {
			assert_int_equal(p.state, DP_PROFILE_AVAILABLE);
		}
		dp_db_profile_deinit(&p);
	}
	assert_int_equal(claimed, 1);
	device_free(&d);
}

/* A package larger than the free memory in extCardResource is refused 8.1/4.8; one that
 * fits exactly is accepted and installs (the eUICC applies the same limit). */
static void eligibility_memory(void **state)
{
	char mid[16], iccid[21];
	struct dp_db_profile p;
	struct device d;
	(void)state;
	new_order(2, 0, mid, iccid);
	profile_get(iccid, &p);
	const size_t need = p.package_len;
	dp_db_profile_deinit(&p);
	assert_true(need > 1000);
	const uint32_t too_little[] = {0, 1, (uint32_t)need - 1};
	for (size_t i = 0; i < 3; i++) {
		device_new(&d, DP_EUICC_RSP_CAPABILITY_DEFAULT, false, 0, too_little[i]);
		if (i > 0)
			new_order(2, 0, mid, iccid);
		refused_at_eligibility(&d, mid, iccid, "8.1", "4.8");
		device_free(&d);
	}
	device_new(&d, DP_EUICC_RSP_CAPABILITY_DEFAULT, false, 0, (uint32_t)need);
	new_order(2, 0, mid, iccid);
	accepted_at_eligibility(&d, mid, iccid, true);
	device_free(&d);
}

/* The eUICC's own errorReason 10: it reported enough memory at authenticateClient, then
 * has less when the package arrives (LoadBoundProfilePackage refuses it, bppCommandId
 * loadProfileElements). The LPA sends that PIR: 204, Released, the order open; a new
 * session for the same order, with the memory back, installs. */
static void install_error_from_the_euicc_then_retry(void **state)
{
	char mid[16], iccid[21];
	struct dp_lpa_install_result ir;
	struct dp_db_session s;
	struct dp_db_order o;
	struct device d;
	size_t sent = 0;
	(void)state;
	device_new(&d, DP_EUICC_RSP_CAPABILITY_DEFAULT, false, 0, DP_EUICC_FREE_MEMORY_DEFAULT);
	new_order(2, 0, mid, iccid);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ES9F_ADDRESS), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, mid), DP_OK);
	assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_OK);
	assert_int_equal(dp_lpa_get_bound_profile_package(d.lpa), DP_OK);
	assert_int_equal(state_of(iccid), DP_PROFILE_DOWNLOADED);
	lpa_session(d.lpa, &s);
	dp_euicc_identity_set_free_memory(d.id, 100);
	assert_int_equal(dp_lpa_load_bound_profile_package(d.lpa, &ir), DP_ERR_LPA_EUICC);
	assert_false(ir.success);
	assert_int_equal(ir.error_reason, 10);
	assert_int_equal(ir.bpp_command, 5);
	assert_int_equal(state_of(iccid), DP_PROFILE_DOWNLOADED);
	assert_int_equal(dp_lpa_notification_send_all(d.lpa, &sent), DP_OK);
	assert_int_equal(sent, 1);
	assert_int_equal(d.last.status, 204);
	assert_int_equal(state_of(iccid), DP_PROFILE_RELEASED);
	struct dp_db_session after;
	session_get(s.tid, s.tid_len, &after);
	assert_int_equal(after.stage, DP_DB_STAGE_FINISHED);
	assert_string_equal(after.end, "install error: bppCommandId 5, errorReason 10");
	order_get(s.order_id, &o);
	assert_false(o.closed);
	assert_int_equal(o.attempts, 1);
	/* the retry: a new session, same order, the memory back */
	dp_euicc_identity_set_free_memory(d.id, DP_EUICC_FREE_MEMORY_DEFAULT);
	struct dp_lpa_download_params dl = {.smdp_address = ES9F_ADDRESS, .matching_id = mid};
	assert_int_equal(dp_lpa_download(d.lpa, &dl, &ir), DP_OK);
	assert_true(ir.success);
	assert_int_equal(state_of(iccid), DP_PROFILE_INSTALLED);
	order_get(s.order_id, &o);
	assert_true(o.closed);
	assert_int_equal(o.attempts, 2);
	dp_db_session_deinit(&s);
	dp_db_session_deinit(&after);
	device_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(install_error_results, reset),
	    cmocka_unit_test_setup(install_result_other_iccid, reset),
	    cmocka_unit_test_setup(install_success_result, reset),
	    cmocka_unit_test_setup(install_error_from_the_euicc_then_retry, reset),
	    cmocka_unit_test_setup(eligibility_test_profile, reset),
	    cmocka_unit_test_setup(eligibility_ppr, reset),
	    cmocka_unit_test_setup(eligibility_memory, reset),
	    cmocka_unit_test_setup(eligibility_pool, reset),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
