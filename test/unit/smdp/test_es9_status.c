/* The ES9+ status table: codes as the reference table gives them, the JSON header. */
#include "test/support/support.h"

#include <jansson.h>
#include <string.h>

#include "smdp/es9_status.h"

static void codes(void **state)
{
	struct dp_es9_code c;
	assert_int_equal(dp_es9_code(DP_ES9_SMDP_ADDRESS, &c), 0);
	assert_string_equal(c.subject, "8.8.1");
	assert_string_equal(c.reason, "3.8");
	assert_int_equal(dp_es9_code(DP_ES9_TRANSACTION_ID, &c), 0);
	assert_string_equal(c.subject, "8.10.1");
	assert_string_equal(c.reason, "3.9");
	assert_int_equal(dp_es9_code(DP_ES9_ORDER_EXPIRED, &c), 0);
	assert_string_equal(c.reason, "4.10"); /* not lpac's truncated 4.1 */
	assert_int_equal(dp_es9_code(DP_ES9_SMDP_OID, &c), 0);
	assert_string_equal(c.subject, "8.8");
	assert_string_equal(c.reason, "3.10");
	assert_int_equal(dp_es9_code(DP_ES9_EUM_EXPIRED, &c), 0);
	assert_string_equal(c.subject, "8.1.2");
	assert_string_equal(c.reason, "6.3");
	assert_int_equal(dp_es9_code(DP_ES9_STATUS_COUNT, &c), DP_ERR_INVAL);
	assert_int_equal(dp_es9_code((enum dp_es9_status)-1, &c), DP_ERR_INVAL);
	/* every code is dotted digits, and no two situations share subject+reason+message */
	for (int i = 0; i < DP_ES9_STATUS_COUNT; i++) {
		struct dp_es9_code a;
		assert_int_equal(dp_es9_code((enum dp_es9_status)i, &a), 0);
		assert_int_equal(strspn(a.subject, "0123456789."), strlen(a.subject));
		assert_int_equal(strspn(a.reason, "0123456789."), strlen(a.reason));
		assert_true(strlen(a.message) > 10);
		for (int j = i + 1; j < DP_ES9_STATUS_COUNT; j++) {
			struct dp_es9_code b;
			assert_int_equal(dp_es9_code((enum dp_es9_status)j, &b), 0);
			assert_false(strcmp(a.subject, b.subject) == 0 &&
				     strcmp(a.reason, b.reason) == 0 &&
				     strcmp(a.message, b.message) == 0);
		}
	}
}

static void json_header(void **state)
{
	struct dp_buf b;
	dp_buf_init(&b, 4096);
	assert_int_equal(dp_es9_failed_json(DP_ES9_CC_REFUSED, "attempt 2 of 3", &b), 0);
	const char *text;
	assert_int_equal(dp_buf_cstr(&b, &text), 0);
	assert_string_equal(text,
			    "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
			    "\"statusCodeData\":{\"subjectCode\":\"8.2.7\",\"reasonCode\":\"3.8\","
			    "\"message\":\"the confirmation code is wrong: attempt 2 of 3\"}}}}");
	dp_buf_reset(&b);
	assert_int_equal(dp_es9_failed_json(DP_ES9_NOT_RELEASED, NULL, &b), 0);
	assert_int_equal(dp_buf_cstr(&b, &text), 0);
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	assert_non_null(j);
	json_t *scd = json_object_get(
		json_object_get(json_object_get(j, "header"), "functionExecutionStatus"),
		"statusCodeData");
	assert_string_equal(json_string_value(json_object_get(scd, "subjectCode")), "8.2");
	assert_string_equal(json_string_value(json_object_get(scd, "reasonCode")), "1.2");
	assert_string_equal(json_string_value(json_object_get(scd, "message")),
			    "the profile is not released yet");
	json_decref(j);
	dp_buf_deinit(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(codes),
		cmocka_unit_test(json_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
