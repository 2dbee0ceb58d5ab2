/* ES2+ shared parts: the status table, the request reader with every member kind and its
 * refusal codes (malformed input), the W3C timestamps, and the operator registry file. */
#include "test/support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smdp/es2.h"
#include "smdp/es2_status.h"
#include "smdp/operators.h"

/* ---- status table ---- */

static void status_table(void **state)
{
	struct dp_es2_code c;
	for (int i = 0; i < DP_ES2_STATUS_COUNT; i++) {
		assert_int_equal(dp_es2_code((enum dp_es2_status)i, &c), DP_OK);
		assert_true(strlen(c.subject) > 0 && strlen(c.reason) > 0 && strlen(c.message) > 0);
	}
	assert_int_equal(dp_es2_code(DP_ES2_STATUS_COUNT, &c), DP_ERR_INVAL);
	assert_int_equal(dp_es2_code(DP_ES2_ICCID_UNKNOWN, &c), DP_OK);
	assert_string_equal(c.subject, "8.2.1");
	assert_string_equal(c.reason, "3.9");
	assert_int_equal(dp_es2_code(DP_ES2_MATCHING_ID_CONFLICT, &c), DP_OK);
	assert_string_equal(c.subject, "8.2.6");
	assert_string_equal(c.reason, "3.3");
	assert_int_equal(dp_es2_code(DP_ES2_SMDS_ADDRESS, &c), DP_OK);
	assert_string_equal(c.subject, "8.9");
	assert_string_equal(c.reason, "5.1");
	struct dp_buf b;
	dp_buf_init(&b, 4096);
	assert_int_equal(dp_es2_failed_json(DP_ES2_EID_DIFFERENT, "x\"y", &b), DP_OK);
	assert_int_equal(dp_buf_append_byte(&b, 0), DP_OK);
	assert_string_equal(
	    (const char *)b.data,
	    "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
	    "\"statusCodeData\":{\"subjectCode\":\"8.1.1\",\"reasonCode\":\"3.10\","
	    "\"message\":\"a different EID is associated with this profile: x\\\"y\"}}}}");
	dp_buf_deinit(&b);
}

/* ---- request reader ---- */

enum { M_EID, M_ICCID, M_MID, M_TYPE, M_FLAG, M_CC, M_SMDS, M_FINAL };

static const struct dp_es2_member all[] = {
    [M_EID] = {"eid", DP_ES2_KIND_EID, false, 0},
    [M_ICCID] = {"iccid", DP_ES2_KIND_ICCID, false, 0},
    [M_MID] = {"matchingId", DP_ES2_KIND_MATCHING_ID, false, 0},
    [M_TYPE] = {"profileType", DP_ES2_KIND_STRING, false, 8},
    [M_FLAG] = {"releaseFlag", DP_ES2_KIND_BOOL, false, 0},
    [M_CC] = {"confirmationCode", DP_ES2_KIND_CC, false, 8},
    [M_SMDS] = {"smdsAddress", DP_ES2_KIND_ADDRESS, false, 0},
    [M_FINAL] = {"finalProfileStatusIndicator", DP_ES2_KIND_FINAL_STATE, false, 0},
};

static const struct dp_es2_member required[] = {
    {"eid", DP_ES2_KIND_EID, true, 0},
    {"iccid", DP_ES2_KIND_ICCID, true, 0},
    {"matchingId", DP_ES2_KIND_MATCHING_ID, true, 0},
    {"profileType", DP_ES2_KIND_STRING, true, 8},
    {"finalProfileStatusIndicator", DP_ES2_KIND_FINAL_STATE, true, 0},
};

#define HDR                                                                                        \
	"\"header\":{\"functionRequesterIdentifier\":\"ACME\",\"functionCallIdentifier\":\"TX-"    \
	"1\"}"
#define EID   "89049032123451234512345678901235"
#define ICCID "89444400000000000018" /* 20 digits, Luhn right */

static int parse_with(const char *ct, const char *proto, const char *body,
		      const struct dp_es2_member *spec, size_t n, struct dp_es2_request *out,
		      enum dp_es2_status *st)
{
	struct dp_http_request req = {"POST",	    "/x", ct, proto, (const uint8_t *)body,
				      strlen(body), NULL, 0};
	return dp_es2_request_parse(&req, spec, n, out, st);
}

static int parse(const char *body, struct dp_es2_request *out, enum dp_es2_status *st)
{
	return parse_with("application/json", "gsma/rsp/v2.5.0", body, all, 8, out, st);
}

/* The body refused with exactly st_want. */
static void refused(const char *body, enum dp_es2_status st_want)
{
	struct dp_es2_request r;
	enum dp_es2_status st;
	int rc = parse(body, &r, &st);
	if (rc != DP_ERR_INVAL || st != st_want)
		fail_msg("%s: expected status %d, got rc %d status %d (%s)", body, st_want, rc, st,
			 dp_err_detail());
	dp_es2_request_wipe(&r);
}

static void valid(void **state)
{
	struct dp_es2_request r;
	enum dp_es2_status st;
	assert_int_equal(parse("{" HDR ",\"eid\":\"" EID "\",\"iccid\":\"" ICCID "\","
			       "\"matchingId\":\"ABC-123\",\"profileType\":\"P9054-2\","
			       "\"releaseFlag\":true,\"confirmationCode\":\"47 11\","
			       "\"smdsAddress\":\"lpa.ds.gsma.com\","
			       "\"finalProfileStatusIndicator\":\"Unavailable\","
			       "\"vendorExtra\":{\"x\":[1]}}",
			       &r, &st),
			 DP_OK);
	assert_string_equal(r.requester, "ACME");
	assert_string_equal(r.call_id, "TX-1");
	assert_string_equal(r.v[M_EID].text, EID);
	assert_string_equal(r.v[M_ICCID].text, ICCID);
	assert_string_equal(r.v[M_MID].text, "ABC-123");
	assert_string_equal(r.v[M_TYPE].text, "P9054-2");
	assert_true(r.v[M_FLAG].present && r.v[M_FLAG].flag);
	assert_string_equal(r.v[M_CC].text, "47 11");
	assert_string_equal(r.v[M_SMDS].text, "lpa.ds.gsma.com");
	assert_string_equal(r.v[M_FINAL].text, "Unavailable");
	dp_es2_request_wipe(&r);
	assert_int_equal(r.v[M_CC].text[0], 0);

	/* absent optional members; a 19-digit ICCID with its F; an empty matching ID; no
	 * X-Admin-Protocol; a charset in the content type */
	assert_int_equal(parse_with("application/json;charset=UTF-8", NULL,
				    "{" HDR
				    ",\"iccid\":\"8944440000000000009f\",\"matchingId\":\"\","
				    "\"releaseFlag\":false}",
				    all, 8, &r, &st),
			 DP_OK);
	assert_false(r.v[M_EID].present);
	assert_string_equal(r.v[M_ICCID].text, "8944440000000000009");
	assert_true(r.v[M_MID].present);
	assert_string_equal(r.v[M_MID].text, "");
	assert_true(r.v[M_FLAG].present && !r.v[M_FLAG].flag);
	dp_es2_request_wipe(&r);
	assert_int_equal(
	    parse_with("application/json", "gsma/rsp/v3.1.0", "{" HDR "}", all, 8, &r, &st), DP_OK);
	dp_es2_request_wipe(&r);
}

static void transport_refusals(void **state)
{
	struct dp_es2_request r;
	enum dp_es2_status st;
	assert_int_equal(parse_with("text/plain", NULL, "{" HDR "}", all, 8, &r, &st),
			 DP_ERR_INVAL);
	assert_int_equal(st, DP_ES2_FORMAT);
	assert_int_equal(parse_with(NULL, NULL, "{" HDR "}", all, 8, &r, &st), DP_ERR_INVAL);
	assert_int_equal(st, DP_ES2_FORMAT);
	assert_int_equal(parse_with("application/jsonx", NULL, "{" HDR "}", all, 8, &r, &st),
			 DP_ERR_INVAL);
	assert_int_equal(
	    parse_with("application/json", "gsma/rsp/v1.0", "{" HDR "}", all, 8, &r, &st),
	    DP_ERR_INVAL);
	assert_int_equal(st, DP_ES2_PROTOCOL_VERSION);
	refused("", DP_ES2_FORMAT);
	refused("{", DP_ES2_FORMAT);
	refused("[1,2]", DP_ES2_FORMAT);
	refused("{" HDR ",\"iccid\":\"" ICCID "\",\"iccid\":\"" ICCID "\"}", DP_ES2_FORMAT);
	/* the header */
	refused("{}", DP_ES2_MISSING);
	refused("{\"header\":1}", DP_ES2_FORMAT);
	refused("{\"header\":{\"functionCallIdentifier\":\"x\"}}", DP_ES2_MISSING);
	refused("{\"header\":{\"functionRequesterIdentifier\":\"A\"}}", DP_ES2_MISSING);
	refused(
	    "{\"header\":{\"functionRequesterIdentifier\":\"\",\"functionCallIdentifier\":\"x\"}}",
	    DP_ES2_FORMAT);
	refused("{\"header\":{\"functionRequesterIdentifier\":7,\"functionCallIdentifier\":\"x\"}}",
		DP_ES2_FORMAT);
	refused("{\"header\":{\"functionRequesterIdentifier\":\"A\\nB\",\"functionCallIdentifier\":"
		"\"x\"}}",
		DP_ES2_FORMAT);
	refused(
	    "{\"header\":{\"functionRequesterIdentifier\":\"0123456789012345678901234567890123456"
	    "789012345678901234567890123456789\",\"functionCallIdentifier\":\"x\"}}",
	    DP_ES2_FORMAT);
}

static void member_refusals(void **state)
{
	/* EID: length, digits, check digits */
	refused("{" HDR ",\"eid\":\"8904903212345123451234567890123\"}", DP_ES2_EID_INVALID);
	refused("{" HDR ",\"eid\":\"89049032123451234512345678901234\"}", DP_ES2_EID_INVALID);
	refused("{" HDR ",\"eid\":\"8904903212345123451234567890123X\"}", DP_ES2_EID_INVALID);
	refused("{" HDR ",\"eid\":8904903212345}", DP_ES2_EID_INVALID);
	/* ICCID: Luhn, length (18 digits are not completed for an operator), digits, F only
	 * at the end */
	refused("{" HDR ",\"iccid\":\"89444400000000000016\"}", DP_ES2_ICCID_INVALID);
	refused("{" HDR ",\"iccid\":\"894444000000000000\"}", DP_ES2_ICCID_INVALID);
	refused("{" HDR ",\"iccid\":\"8944440000000000009F5\"}", DP_ES2_ICCID_INVALID);
	refused("{" HDR ",\"iccid\":\"89444400000000000018F\"}", DP_ES2_ICCID_INVALID);
	refused("{" HDR ",\"iccid\":\"894444000000000000 \"}", DP_ES2_ICCID_INVALID);
	refused("{" HDR ",\"iccid\":\"F\"}", DP_ES2_ICCID_INVALID);
	refused("{" HDR ",\"iccid\":\"\"}", DP_ES2_ICCID_INVALID);
	refused("{" HDR ",\"iccid\":null}", DP_ES2_ICCID_INVALID);
	/* matching ID: upper-case alphanumerics and '-' */
	refused("{" HDR ",\"matchingId\":\"abc\"}", DP_ES2_MATCHING_ID_INVALID);
	refused("{" HDR ",\"matchingId\":\"A B\"}", DP_ES2_MATCHING_ID_INVALID);
	refused("{" HDR ",\"matchingId\":\"A$B\"}", DP_ES2_MATCHING_ID_INVALID);
	refused("{" HDR ",\"matchingId\":"
			"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
		DP_ES2_MATCHING_ID_INVALID);
	/* strings: length, control characters, NUL, non-ASCII */
	refused("{" HDR ",\"profileType\":\"\"}", DP_ES2_FORMAT);
	refused("{" HDR ",\"profileType\":\"123456789\"}", DP_ES2_FORMAT);
	refused("{" HDR ",\"profileType\":\"a\\u0000b\"}", DP_ES2_FORMAT);
	refused("{" HDR ",\"profileType\":\"a\\tb\"}", DP_ES2_FORMAT);
	refused("{" HDR ",\"profileType\":\"\\u00e9\"}", DP_ES2_FORMAT);
	refused("{" HDR ",\"profileType\":[\"x\"]}", DP_ES2_FORMAT);
	/* booleans */
	refused("{" HDR ",\"releaseFlag\":\"true\"}", DP_ES2_FORMAT);
	refused("{" HDR ",\"releaseFlag\":1}", DP_ES2_FORMAT);
	refused("{" HDR ",\"releaseFlag\":null}", DP_ES2_FORMAT);
	/* confirmation code */
	refused("{" HDR ",\"confirmationCode\":\"\"}", DP_ES2_CC_INVALID);
	refused("{" HDR ",\"confirmationCode\":\"123456789\"}", DP_ES2_CC_INVALID);
	refused("{" HDR ",\"confirmationCode\":\"1\\n2\"}", DP_ES2_CC_INVALID);
	/* SM-DS address */
	refused("{" HDR ",\"smdsAddress\":\"\"}", DP_ES2_SMDS_ADDRESS);
	refused("{" HDR ",\"smdsAddress\":\"-x.example.com\"}", DP_ES2_SMDS_ADDRESS);
	refused("{" HDR ",\"smdsAddress\":\"ds.example.com:99999\"}", DP_ES2_SMDS_ADDRESS);
	refused("{" HDR ",\"smdsAddress\":\"https://ds.example.com\"}", DP_ES2_SMDS_ADDRESS);
	/* final state: exactly the two names */
	refused("{" HDR ",\"finalProfileStatusIndicator\":\"available\"}",
		DP_ES2_FINAL_STATE_INVALID);
	refused("{" HDR ",\"finalProfileStatusIndicator\":\"Error\"}", DP_ES2_FINAL_STATE_INVALID);
	refused("{" HDR ",\"finalProfileStatusIndicator\":true}", DP_ES2_FINAL_STATE_INVALID);
	/* too long for any member */
	char big[600];
	snprintf(big, sizeof(big), "{" HDR ",\"matchingId\":\"%0300d\"}", 0);
	refused(big, DP_ES2_MATCHING_ID_INVALID);
}

static void missing_members(void **state)
{
	struct dp_es2_request r;
	enum dp_es2_status st;
	/* each required member missing gives its own code, in table order */
	static const char *const bodies[] = {
	    "{" HDR "}",
	    "{" HDR ",\"eid\":\"" EID "\"}",
	    "{" HDR ",\"eid\":\"" EID "\",\"iccid\":\"" ICCID "\"}",
	    "{" HDR ",\"eid\":\"" EID "\",\"iccid\":\"" ICCID "\",\"matchingId\":\"\"}",
	    "{" HDR ",\"eid\":\"" EID "\",\"iccid\":\"" ICCID "\",\"matchingId\":\"\","
	    "\"profileType\":\"t\"}",
	};
	static const enum dp_es2_status want[] = {
	    DP_ES2_EID_MISSING, DP_ES2_ICCID_MISSING,	    DP_ES2_MATCHING_ID_MISSING,
	    DP_ES2_MISSING,	DP_ES2_FINAL_STATE_MISSING,
	};
	for (size_t i = 0; i < 5; i++) {
		struct dp_http_request req = {.method = "POST",
					      .path = "/x",
					      .content_type = "application/json",
					      .body = (const uint8_t *)bodies[i],
					      .body_len = strlen(bodies[i])};
		assert_int_equal(dp_es2_request_parse(&req, required, 5, &r, &st), DP_ERR_INVAL);
		assert_int_equal(st, want[i]);
	}
	struct dp_http_request req = {.method = "POST",
				      .path = "/x",
				      .content_type = "application/json",
				      .body = (const uint8_t *)"{}",
				      .body_len = 2};
	static struct dp_es2_member many[DP_ES2_MAX_MEMBERS + 1];
	assert_int_equal(dp_es2_request_parse(&req, many, DP_ES2_MAX_MEMBERS + 1, &r, &st),
			 DP_ERR_INTERNAL);
}

/* ---- timestamps ---- */

static void timestamps(void **state)
{
	time_t t;
	char out[21];
	assert_int_equal(dp_es2_timestamp_parse("2001-12-17T09:30:47Z", &t), DP_OK);
	assert_int_equal((long long)t, 1008581447LL);
	assert_int_equal(dp_es2_timestamp_format(t, out), DP_OK);
	assert_string_equal(out, "2001-12-17T09:30:47Z");
	assert_int_equal(dp_es2_timestamp_parse("2001-12-17T10:30:47+01:00", &t), DP_OK);
	assert_int_equal((long long)t, 1008581447LL);
	assert_int_equal(dp_es2_timestamp_parse("2001-12-17T04:00:47-05:30", &t), DP_OK);
	assert_int_equal((long long)t, 1008581447LL);
	assert_int_equal(dp_es2_timestamp_parse("2024-02-29T00:00:00Z", &t), DP_OK);
	assert_int_equal(dp_es2_timestamp_format(0, out), DP_OK);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	static const char *const bad[] = {
	    "",
	    "2001-12-17",
	    "2001-12-17T09:30:47",
	    "2001-12-17 09:30:47Z",
	    "2001-12-17T09:30:47z",
	    "2001-12-17T09:30:47.5Z",
	    "2001-13-17T09:30:47Z",
	    "2001-02-29T09:30:47Z",
	    "2001-04-31T09:30:47Z",
	    "2001-12-17T24:00:00Z",
	    "2001-12-17T09:60:00Z",
	    "2001-12-17T09:30:47+24:00",
	    "2001-12-17T09:30:47+0100",
	    "2001-12-17T09:30:47*01:00",
	    "1969-12-31T23:59:59Z",
	    "20O1-12-17T09:30:47Z",
	    "2001-12-17T09:30:47Z ",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dp_es2_timestamp_parse(bad[i], &t) != DP_ERR_INVAL)
			fail_msg("'%s' was accepted", bad[i]);
	}
}

/* ---- the operators file ---- */

struct opfx {
	char dir[64];
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int load_text(const char *dir, const char *text, struct dp_operators **ops)
{
	char p[128];
	write_file(dir, "ops.yaml", text);
	snprintf(p, sizeof(p), "%s/ops.yaml", dir);
	return dp_operators_load(p, ops);
}

/* A load that fails with DP_ERR_CONFIG and a detail containing want. */
static void load_fails(const char *dir, const char *text, const char *want)
{
	struct dp_operators *ops = NULL;
	int r = load_text(dir, text, &ops);
	if (r != DP_ERR_CONFIG && r != DP_ERR_IO)
		fail_msg("accepted (%d): %s", r, text);
	if (strstr(dp_err_detail(), want) == NULL)
		fail_msg("detail '%s' lacks '%s'", dp_err_detail(), want);
	assert_null(ops);
}

static void operators_file(void **state)
{
	char dir[64], cert[128];
	snprintf(dir, sizeof(dir), "/tmp/smdp-test-ops-XXXXXX");
	assert_non_null(mkdtemp(dir));
	/* the SGP.26 CI certificate stands in for a client certificate */
	struct dp_buf der;
	dp_test_read_file(dp_test_shared("sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.der"), &der);
	snprintf(cert, sizeof(cert), "%s/acme.der", dir);
	FILE *f = fopen(cert, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(der.data, 1, der.len, f), der.len);
	fclose(f);

	struct dp_operators *ops = NULL;
	assert_int_equal(dp_operators_load("", &ops), DP_OK);
	assert_int_equal(dp_operators_count(ops), 0);
	assert_null(dp_operators_by_id(ops, "ACME"));
	dp_operators_free(ops);

	assert_int_equal(load_text(dir,
				   "# two operators\n"
				   "operators:\n"
				   "  - id: ACME\n"
				   "    certificate: acme.der\n"
				   "    callback_url: https://acme.example/es2plus\n"
				   "  - id: OTHER-1\n"
				   "    cert_sha256: 00112233445566778899aabbccddeeff"
				   "00112233445566778899AABBCCDDEEFF\n",
				   &ops),
			 DP_OK);
	assert_int_equal(dp_operators_count(ops), 2);
	const struct dp_operator *a = dp_operators_by_cert(ops, der.data, der.len);
	assert_non_null(a);
	assert_string_equal(a->id, "ACME");
	assert_string_equal(a->callback_url, "https://acme.example/es2plus");
	assert_ptr_equal(dp_operators_by_id(ops, "ACME"), a);
	const struct dp_operator *o = dp_operators_by_id(ops, "OTHER-1");
	assert_non_null(o);
	assert_string_equal(o->callback_url, "");
	assert_int_equal(o->cert_sha256[31], 0xFF);
	assert_null(dp_operators_by_id(ops, "acme"));
	assert_null(dp_operators_by_cert(ops, der.data, der.len - 1));
	assert_null(dp_operators_by_cert(ops, NULL, 0));
	dp_operators_free(ops);
	dp_operators_free(NULL);

	/* errors name the line and column */
	load_fails(dir, "", "ops.yaml:1:1");
	load_fails(dir, "operators: 3\n", "expected 'operators:' and a list");
	load_fails(dir, "ops:\n  - id: A\n", "ops.yaml:1:1: expected one key 'operators'");
	load_fails(dir, "operators:\n  - id: A\n", "ops.yaml:2:5: an operator needs an id");
	load_fails(dir, "operators:\n  - certificate: acme.der\n", "needs an id");
	load_fails(dir, "operators:\n  - id: A B\n    certificate: acme.der\n", "ops.yaml:2:9: id");
	load_fails(dir, "operators:\n  - id: A\n    certificate: acme.der\n    colour: red\n",
		   "ops.yaml:4:5: unknown or repeated key 'colour'");
	load_fails(dir, "operators:\n  - id: A\n    id: B\n", "ops.yaml:3:5: unknown or repeated");
	load_fails(dir, "operators:\n  - id: A\n    cert_sha256: 0011\n",
		   "ops.yaml:3:18: cert_sha256");
	load_fails(dir, "operators:\n  - id: A\n    certificate: nowhere.pem\n", "ops.yaml:3:18");
	load_fails(dir,
		   "operators:\n  - id: A\n    certificate: acme.der\n"
		   "    callback_url: http://a.example/\n",
		   "ops.yaml:4:19: callback_url");
	load_fails(dir,
		   "operators:\n  - id: A\n    certificate: acme.der\n"
		   "  - id: A\n    cert_sha256: 00112233445566778899aabbccddeeff"
		   "00112233445566778899AABBCCDDEEFF\n",
		   "ops.yaml:4:5: operator 'A': id or certificate already used by 'A'");
	load_fails(dir,
		   "operators:\n  - id: A\n    certificate: acme.der\n"
		   "  - id: B\n    certificate: acme.der\n",
		   "already used by 'A'");
	load_fails(dir, "operators:\n  - [1]\n", "ops.yaml:2:5: expected a mapping");
	load_fails(dir, "operators: [\n", "ops.yaml:");
	ops = NULL;
	assert_int_equal(dp_operators_load("/nonexistent/ops.yaml", &ops), DP_ERR_IO);

	char p[128];
	snprintf(p, sizeof(p), "%s/ops.yaml", dir);
	unlink(p);
	unlink(cert);
	rmdir(dir);
	dp_buf_deinit(&der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(status_table),	  cmocka_unit_test(valid),
	    cmocka_unit_test(transport_refusals), cmocka_unit_test(member_refusals),
	    cmocka_unit_test(missing_members),	  cmocka_unit_test(timestamps),
	    cmocka_unit_test(operators_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
