/* The ES9+ JSON request reader: members by kind, and every refusal with its status; the
 * reply writer's bytes against jansson's. */
#include "test/support/support.h"

#include <stdlib.h>
#include <string.h>

#include "smdp/es9.h"
#include "smdp/es9_request.h"

static const struct dp_es9_member init_auth[] = {
	{ "smdpAddress", DP_ES9_KIND_STRING, true, 255 },
	{ "euiccChallenge", DP_ES9_KIND_B64_RAW, true, 16 },
	{ "euiccInfo1", DP_ES9_KIND_B64_TLV, true, 1024 },
};
static const struct dp_es9_member with_tid[] = {
	{ "transactionId", DP_ES9_KIND_TID, true, 16 },
	{ "note", DP_ES9_KIND_STRING, false, 8 },
};

static int parse(const char *ct, const char *proto, const char *body,
		 const struct dp_es9_member *spec, size_t n, struct dp_es9_request *out,
		 enum dp_es9_status *st)
{
	struct dp_http_request req = { "POST", "/x", ct, proto, (const uint8_t *)body,
				       strlen(body), NULL, 0 };
	return dp_es9_request_parse(&req, spec, n, out, st);
}

/* "XzdA" = 5F 37 40 is cut; "BF20 00" -> "vyAA"; 16 bytes of 0x11 -> "ERERERERERERERERERERERERERERER==" */
#define CHALLENGE "\"EREREREREREREREREREREQ==\""

static void valid(void **state)
{
	struct dp_es9_request r;
	enum dp_es9_status st;
	assert_int_equal(parse("application/json;charset=UTF-8", "gsma/rsp/v2.2.0",
			       "{\"header\":{\"functionRequesterIdentifier\":\"eim-1\","
			       "\"functionCallIdentifier\":\"x\"},\"smdpAddress\":\"smdp.example.com\","
			       "\"euiccChallenge\":" CHALLENGE ",\"euiccInfo1\":\"vy\\nAA\","
			       "\"somethingNew\":[1,2]}",
			       init_auth, 3, &r, &st),
			 0);
	assert_string_equal((const char *)r.v[0].bytes.data, "smdp.example.com");
	assert_int_equal(r.v[1].bytes.len, 16);
	assert_int_equal(r.v[1].bytes.data[15], 0x11);
	assert_int_equal(r.v[2].bytes.len, 3);
	assert_memory_equal(r.v[2].bytes.data, "\xBF\x20\x00", 3);
	assert_string_equal(r.requester, "eim-1");
	dp_es9_request_deinit(&r);

	assert_int_equal(parse("application/json", "gsma/rsp/v3.1.0",
			       "{\"transactionId\":\"0123456789abcdefABCDEF0123456789\"}", with_tid,
			       2, &r, &st),
			 0);
	assert_true(r.v[0].present);
	assert_false(r.v[1].present);
	assert_int_equal(r.v[0].bytes.len, 16);
	assert_int_equal(r.v[0].bytes.data[7], 0xEF);
	dp_es9_request_deinit(&r);
	/* no X-Admin-Protocol at all is accepted (lenient, like osmo-smdpp's prefix check) */
	assert_int_equal(parse("application/json", NULL, "{\"transactionId\":\"01\"}", with_tid, 2,
			       &r, &st),
			 0);
	dp_es9_request_deinit(&r);
}

static void refused(const char *ct, const char *proto, const char *body,
		    const struct dp_es9_member *spec, size_t n, enum dp_es9_status want,
		    const char *detail)
{
	struct dp_es9_request r;
	enum dp_es9_status st = DP_ES9_STATUS_COUNT;
	int rc = parse(ct, proto, body, spec, n, &r, &st);
	if (rc != DP_ERR_INVAL || st != want || strstr(dp_err_detail(), detail) == NULL)
		fail_msg("body %s: rc %d status %d detail '%s'", body, rc, (int)st,
			 dp_err_detail());
	dp_es9_request_deinit(&r);
}

static void refusals(void **state)
{
	const char *j = "application/json";
	const char *v2 = "gsma/rsp/v2.5.0";
	refused("text/plain", v2, "{}", init_auth, 3, DP_ES9_INVALID_INPUT, "Content-Type");
	refused(NULL, v2, "{}", init_auth, 3, DP_ES9_INVALID_INPUT, "(none)");
	refused("application/jsonx", v2, "{}", init_auth, 3, DP_ES9_INVALID_INPUT, "Content-Type");
	refused(j, "gsma/rsp/v1.0", "{}", init_auth, 3, DP_ES9_INVALID_INPUT, "X-Admin-Protocol");
	refused(j, v2, "{\"smdpAddress\":", init_auth, 3, DP_ES9_INVALID_INPUT, "not JSON");
	refused(j, v2, "", init_auth, 3, DP_ES9_INVALID_INPUT, "not JSON");
	refused(j, v2, "[1]", init_auth, 3, DP_ES9_INVALID_INPUT, "not a JSON object");
	refused(j, v2, "{\"transactionId\":\"01\",\"transactionId\":\"02\"}", with_tid, 2,
		DP_ES9_INVALID_INPUT, "not JSON");
	refused(j, v2, "{}", init_auth, 3, DP_ES9_MISSING_INPUT, "smdpAddress is missing");
	refused(j, v2, "{\"smdpAddress\":\"a\",\"euiccChallenge\":" CHALLENGE "}", init_auth, 3,
		DP_ES9_MISSING_INPUT, "euiccInfo1 is missing");
	refused(j, v2, "{\"smdpAddress\":7}", init_auth, 3, DP_ES9_INVALID_INPUT,
		"smdpAddress: expected a JSON string");
	refused(j, v2, "{\"transactionId\":\"\"}", with_tid, 2, DP_ES9_INVALID_INPUT,
		"transactionId");
	refused(j, v2, "{\"transactionId\":\"0G\"}", with_tid, 2, DP_ES9_INVALID_INPUT,
		"transactionId");
	refused(j, v2, "{\"transactionId\":\"123\"}", with_tid, 2, DP_ES9_INVALID_INPUT,
		"transactionId");
	refused(j, v2, "{\"transactionId\":\"000102030405060708090A0B0C0D0E0F10\"}", with_tid, 2,
		DP_ES9_INVALID_INPUT, "transactionId");
	refused(j, v2, "{\"transactionId\":\"01\",\"note\":\"far too long\"}", with_tid, 2,
		DP_ES9_INVALID_INPUT, "note: string too long");
	refused(j, v2, "{\"smdpAddress\":\"a\",\"euiccChallenge\":\"!!!!\",\"euiccInfo1\":\"vyAA\"}",
		init_auth, 3, DP_ES9_INVALID_INPUT, "euiccChallenge: bad base64");
	refused(j, v2,
		"{\"smdpAddress\":\"a\",\"euiccChallenge\":\"" "AAAAAAAAAAAAAAAAAAAAAAAAAAAA" "\","
		"\"euiccInfo1\":\"vyAA\"}",
		init_auth, 3, DP_ES9_INVALID_INPUT, "euiccChallenge: longer than allowed");
	refused(j, v2, "{\"smdpAddress\":\"a\",\"euiccChallenge\":" CHALLENGE ",\"euiccInfo1\":\"\"}",
		init_auth, 3, DP_ES9_INVALID_INPUT, "euiccInfo1: empty");
	/* BF20 05 00: length past the end; BF2000 BF2000: two TLVs */
	refused(j, v2,
		"{\"smdpAddress\":\"a\",\"euiccChallenge\":" CHALLENGE ",\"euiccInfo1\":\"vyAFAA==\"}",
		init_auth, 3, DP_ES9_INVALID_INPUT, "euiccInfo1: not one DER TLV");
	refused(j, v2,
		"{\"smdpAddress\":\"a\",\"euiccChallenge\":" CHALLENGE
		",\"euiccInfo1\":\"vyAAvyAA\"}",
		init_auth, 3, DP_ES9_INVALID_INPUT, "euiccInfo1: not one DER TLV");
	/* jansson itself refuses \u0000 in strings */
	refused(j, v2, "{\"smdpAddress\":\"a\\u0000b\"}", init_auth, 3, DP_ES9_INVALID_INPUT,
		"not JSON");
}

/* A success reply is the bytes json_dumps(JSON_COMPACT | JSON_ENSURE_ASCII) writes for the
 * same members, whether a member is written as it is (base64, hex) or through jansson. */
static void reply_bytes_as_jansson(void **state)
{
	uint8_t big[3001];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	struct dp_es9_reply rp;
	dp_es9_reply_init(&rp, "test");
	assert_int_equal(dp_es9_put_tid(&rp, (const uint8_t *)"\x01\xAB", 2), DP_OK);
	assert_int_equal(dp_es9_put_b64(&rp, "boundProfilePackage", big, sizeof(big)), DP_OK);
	assert_int_equal(dp_es9_put_b64(&rp, "empty", big, 0), DP_OK);
	/* a member that needs escaping goes through jansson */
	assert_int_equal(json_object_set_new(rp.members, "odd", json_string("a\"b\\c\n\xc3\xa9")),
			 0);
	json_t *want = json_deep_copy(rp.members);
	assert_non_null(want);
	assert_int_equal(json_object_set_new(want, "header",
					     json_pack("{s:{s:s}}", "functionExecutionStatus",
						       "status", "Executed-Success")),
			 0);
	char *text = json_dumps(want, JSON_COMPACT | JSON_ENSURE_ASCII);
	assert_non_null(text);
	struct dp_http_response resp = { 0 };
	dp_buf_init(&resp.body, 1 << 20);
	assert_int_equal(dp_es9_reply_finish(&rp, DP_OK, &resp), DP_OK);
	assert_int_equal(resp.status, 200);
	assert_bytes_equal(resp.body.data, resp.body.len, (const uint8_t *)text, strlen(text));
	assert_non_null(strstr(text, "\"transactionId\":\"01AB\""));
	assert_non_null(strstr(text, "\"empty\":\"\""));
	free(text);
	json_decref(want);
	dp_buf_deinit(&resp.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid),
		cmocka_unit_test(refusals),
		cmocka_unit_test(reply_bytes_as_jansson),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
