/* The ES9+ client pieces (test/lpa/es9_client.h): request bodies byte for byte, and the
 * response reader on good, refused and malformed responses (SGP.22 6.5;
 * download-path.md 2.3-2.5). */
#include "test/support/support.h"

#include <stdio.h>
#include <string.h>

#include "test/lpa/es9_client.h"

/* initiateAuthentication's members */
static const struct dp_lpa_es9_member spec[] = {
    {"transactionId", DP_LPA_ES9_TID, 0, 0},
    {"serverSignature1", DP_LPA_ES9_B64_TLV, 0x5F37, 128},
};

#define OK_HEADER "\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\"}}"
/* "XzcA" = 5F 37 00 */
#define GOOD "{" OK_HEADER ",\"transactionId\":\"0a1B\",\"serverSignature1\":\"Xzc\\nA\"}"

static int parse_full(long status, const char *ct, const char *ap, const char *body, bool allow_204,
		      struct dp_lpa_es9_response *out)
{
	struct dp_lpa_http_response resp = {status, ct, ap, (const uint8_t *)body, strlen(body)};
	return dp_lpa_es9_response_parse(&resp, spec, 2, allow_204, out);
}

static int parse(const char *body, struct dp_lpa_es9_response *out)
{
	return parse_full(200, "application/json;charset=UTF-8", "gsma/rsp/v2.1.0", body, false,
			  out);
}

static void bodies(void **state)
{
	static const uint8_t tid[] = {0x01, 0x23, 0xAB, 0xCD};
	static const uint8_t info1[] = {0xBF, 0x20, 0x00};
	uint8_t challenge[16];
	memset(challenge, 0x11, sizeof(challenge));
	const struct dp_lpa_es9_field init[] = {
	    {"smdpAddress", DP_LPA_ES9_FIELD_STRING, "localhost:8443", 0},
	    {"euiccChallenge", DP_LPA_ES9_FIELD_BASE64, challenge, 16},
	    {"euiccInfo1", DP_LPA_ES9_FIELD_BASE64, info1, 3},
	};
	struct dp_buf out;
	const char *s;
	dp_buf_init(&out, 4096);
	assert_int_equal(dp_lpa_es9_body(init, 3, &out), 0);
	assert_int_equal(dp_buf_cstr(&out, &s), 0);
	assert_string_equal(s, "{\"smdpAddress\":\"localhost:8443\","
			       "\"euiccChallenge\":\"EREREREREREREREREREREQ==\","
			       "\"euiccInfo1\":\"vyAA\"}");
	/* the transactionId in upper-case hex; strings escaped */
	const struct dp_lpa_es9_field cancel[] = {
	    {"transactionId", DP_LPA_ES9_FIELD_HEX, tid, sizeof(tid)},
	    {"note", DP_LPA_ES9_FIELD_STRING, "a\"b\\c", 0},
	};
	dp_buf_reset(&out);
	assert_int_equal(dp_lpa_es9_body(cancel, 2, &out), 0);
	assert_int_equal(dp_buf_cstr(&out, &s), 0);
	assert_string_equal(s, "{\"transactionId\":\"0123ABCD\",\"note\":\"a\\\"b\\\\c\"}");
	/* text that is not UTF-8 is refused, not sent */
	const struct dp_lpa_es9_field bad[] = {
	    {"smdpAddress", DP_LPA_ES9_FIELD_STRING, "\xFF\xFE", 0},
	};
	dp_buf_reset(&out);
	assert_int_equal(dp_lpa_es9_body(bad, 1, &out), DP_ERR_INVAL);
	dp_buf_deinit(&out);
}

static void good(void **state)
{
	struct dp_lpa_es9_response r;
	assert_int_equal(parse(GOOD, &r), 0);
	assert_string_equal(r.st.status, "Executed-Success");
	static const uint8_t tid[] = {0x0A, 0x1B}, sig[] = {0x5F, 0x37, 0x00};
	assert_bytes_equal(r.v[0].data, r.v[0].len, tid, 2);
	assert_bytes_equal(r.v[1].data, r.v[1].len, sig, 3);
	dp_lpa_es9_response_deinit(&r);
	/* a warning is a success that keeps its codes; unknown members are ignored */
	assert_int_equal(
	    parse("{\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-WithWarning\","
		  "\"statusCodeData\":{\"subjectCode\":\"8.1\",\"reasonCode\":\"1.2\"}}},"
		  "\"transactionId\":\"00\",\"serverSignature1\":\"XzcA\",\"new\":[1]}",
		  &r),
	    0);
	assert_string_equal(r.st.subject, "8.1");
	dp_lpa_es9_response_deinit(&r);
	/* 204 where the function allows it (handleNotification) */
	assert_int_equal(parse_full(204, NULL, NULL, "", true, &r), 0);
	assert_true(r.no_content);
	dp_lpa_es9_response_deinit(&r);
}

static void refused(void **state)
{
	struct dp_lpa_es9_response r;
	assert_int_equal(
	    parse("{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
		  "\"statusCodeData\":{\"subjectCode\":\"8.10.1\",\"reasonCode\":\"3.9\","
		  "\"subjectIdentifier\":\"x\",\"message\":\"unknown transaction\"}}}}",
		  &r),
	    DP_ERR_LPA_REFUSED);
	assert_string_equal(r.st.status, "Failed");
	assert_string_equal(r.st.subject, "8.10.1");
	assert_string_equal(r.st.reason, "3.9");
	assert_string_equal(r.st.subject_id, "x");
	assert_string_equal(r.st.message, "unknown transaction");
	dp_lpa_es9_response_deinit(&r);
	assert_int_equal(
	    parse("{\"header\":{\"functionExecutionStatus\":{\"status\":\"Expired\","
		  "\"statusCodeData\":{\"subjectCode\":\"8.8.5\",\"reasonCode\":\"4.10\"}}}}",
		  &r),
	    DP_ERR_LPA_REFUSED);
	assert_string_equal(r.st.message, "");
	dp_lpa_es9_response_deinit(&r);
}

static void malformed(void **state)
{
	static const char *const cases[] = {
	    "",
	    "not json",
	    "[1,2]",
	    "{" OK_HEADER ",\"transactionId\":\"0a1B\"",     /* truncated */
	    "{}",					     /* no header */
	    "{\"header\":1}",				     /* header not an object */
	    "{\"header\":{}}",				     /* no functionExecutionStatus */
	    "{\"header\":{\"functionExecutionStatus\":{}}}", /* no status */
	    "{\"header\":{\"functionExecutionStatus\":{\"status\":\"ExecutedSuccess\"}}}",
	    "{\"header\":{\"functionExecutionStatus\":{\"status\":7}}}",
	    "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\"}}}",
	    "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
	    "\"statusCodeData\":{\"reasonCode\":\"3.9\"}}}}",
	    "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
	    "\"statusCodeData\":{\"subjectCode\":\"8..1\",\"reasonCode\":\"3.9\"}}}}",
	    "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
	    "\"statusCodeData\":{\"subjectCode\":\"8.1\",\"reasonCode\":\"x\"}}}}",
	    "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
	    "\"statusCodeData\":{\"subjectCode\":\"8.1\",\"reasonCode\":\"3.9\",\"message\":1}}}}",
	    "{" OK_HEADER ",\"serverSignature1\":\"XzcA\"}",			 /* no tid */
	    "{" OK_HEADER ",\"transactionId\":5,\"serverSignature1\":\"XzcA\"}", /* tid a number */
	    "{" OK_HEADER ",\"transactionId\":\"0a1\",\"serverSignature1\":\"XzcA\"}", /* odd */
	    "{" OK_HEADER ",\"transactionId\":\"\",\"serverSignature1\":\"XzcA\"}",    /* empty */
	    "{" OK_HEADER ",\"transactionId\":\"0g\",\"serverSignature1\":\"XzcA\"}",  /* not hex */
	    "{" OK_HEADER ",\"transactionId\":\"00112233445566778899AABBCCDDEEFF00\","
	    "\"serverSignature1\":\"XzcA\"}",		/* 17 octets */
	    "{" OK_HEADER ",\"transactionId\":\"00\"}", /* member missing */
	    "{" OK_HEADER ",\"transactionId\":\"00\",\"serverSignature1\":\"Xzc\"}",  /* b64 */
	    "{" OK_HEADER ",\"transactionId\":\"00\",\"serverSignature1\":\"MAA=\"}", /* tag 30 */
	    "{" OK_HEADER
	    ",\"transactionId\":\"00\",\"serverSignature1\":\"XzcAAA==\"}",	      /* trail */
	    "{" OK_HEADER ",\"transactionId\":\"00\",\"serverSignature1\":\"XzcB\"}", /* short */
	    "{" OK_HEADER ",\"transactionId\":\"00\",\"transactionId\":\"01\","
	    "\"serverSignature1\":\"XzcA\"}", /* duplicate member */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dp_lpa_es9_response r;
		int got = parse(cases[i], &r);
		dp_lpa_es9_response_deinit(&r);
		if (got != DP_ERR_LPA_RESPONSE)
			fail_msg("case %zu %s: %s", i, cases[i], dp_errname(got));
	}
	/* over the member's maximum */
	char big[1024];
	snprintf(big, sizeof(big),
		 "{" OK_HEADER ",\"transactionId\":\"00\",\"serverSignature1\":\"");
	size_t n = strlen(big);
	/* 5F37 81 95 + 149 zero bytes = 153 bytes = 204 base64 characters */
	memcpy(big + n, "XzeBlQ", 6);
	memset(big + n + 6, 'A', 198);
	strcpy(big + n + 204, "\"}");
	struct dp_lpa_es9_response r;
	assert_int_equal(parse(big, &r), DP_ERR_LPA_RESPONSE);
	dp_lpa_es9_response_deinit(&r);
}

static void transport_rules(void **state)
{
	struct dp_lpa_es9_response r;
	/* HTTP errors are transport failures; other 2xx are malformed */
	assert_int_equal(parse_full(500, "application/json", "gsma/rsp/v2.1.0", GOOD, false, &r),
			 DP_ERR_LPA_HTTP);
	dp_lpa_es9_response_deinit(&r);
	assert_int_equal(parse_full(404, NULL, NULL, "", true, &r), DP_ERR_LPA_HTTP);
	dp_lpa_es9_response_deinit(&r);
	assert_int_equal(parse_full(204, NULL, NULL, "", false, &r), DP_ERR_LPA_RESPONSE);
	dp_lpa_es9_response_deinit(&r);
	assert_int_equal(parse_full(201, "application/json", "gsma/rsp/v2.1.0", GOOD, false, &r),
			 DP_ERR_LPA_RESPONSE);
	dp_lpa_es9_response_deinit(&r);
	/* headers: Content-Type and X-Admin-Protocol */
	assert_int_equal(parse_full(200, "text/html", "gsma/rsp/v2.1.0", GOOD, false, &r),
			 DP_ERR_LPA_RESPONSE);
	dp_lpa_es9_response_deinit(&r);
	assert_int_equal(parse_full(200, NULL, "gsma/rsp/v2.1.0", GOOD, false, &r),
			 DP_ERR_LPA_RESPONSE);
	dp_lpa_es9_response_deinit(&r);
	assert_int_equal(parse_full(200, "application/json", NULL, GOOD, false, &r),
			 DP_ERR_LPA_RESPONSE);
	dp_lpa_es9_response_deinit(&r);
	assert_int_equal(parse_full(200, "APPLICATION/JSON", "gsma/rsp/v3.1.0", GOOD, false, &r),
			 0);
	dp_lpa_es9_response_deinit(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bodies),	       cmocka_unit_test(good),
	    cmocka_unit_test(refused),	       cmocka_unit_test(malformed),
	    cmocka_unit_test(transport_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
