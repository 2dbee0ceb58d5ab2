/* The activation code parser (test/lpa/activation_code.h): accepted codes and every
 * refusal rule (SGP.22 4.1; es2-lifecycle-sgp32.md 3). */
#include "test/support/support.h"

#include <string.h>

#include "test/lpa/activation_code.h"

static void good(void **state)
{
	struct dp_lpa_activation_code ac;
	assert_int_equal(dp_lpa_activation_code_parse("LPA:1$localhost:8443$MATCH-1", &ac), 0);
	assert_string_equal(ac.address, "localhost:8443");
	assert_string_equal(ac.matching_id, "MATCH-1");
	assert_string_equal(ac.oid, "");
	assert_false(ac.cc_required);
	/* without the QR prefix, with an empty OID and the flag (the SGP.22 example) */
	assert_int_equal(
	    dp_lpa_activation_code_parse("1$SMDP.EXAMPLE.COM$04386-AGYFT-A74Y8-3F815$$1", &ac), 0);
	assert_string_equal(ac.address, "SMDP.EXAMPLE.COM");
	assert_string_equal(ac.matching_id, "04386-AGYFT-A74Y8-3F815");
	assert_string_equal(ac.oid, "");
	assert_true(ac.cc_required);
	assert_int_equal(
	    dp_lpa_activation_code_parse("LPA:1$rsp.example.com$TOKEN$1.3.6.1.4.1.31746", &ac), 0);
	assert_string_equal(ac.oid, "1.3.6.1.4.1.31746");
	assert_false(ac.cc_required);
	assert_int_equal(dp_lpa_activation_code_parse("LPA:1$127.0.0.1:443$a_b.c$2.999.10$1", &ac),
			 0);
	assert_string_equal(ac.address, "127.0.0.1:443");
	assert_string_equal(ac.oid, "2.999.10");
	assert_true(ac.cc_required);
	assert_int_equal(dp_lpa_activation_code_parse("LPA:1$[::1]:8443$TS48V1-B-mixed", &ac), 0);
	assert_string_equal(ac.address, "[::1]:8443");
	assert_string_equal(ac.matching_id, "TS48V1-B-mixed");
	/* 255 characters in all is the limit */
	char longest[300] = "1$a.example$";
	memset(longest + strlen(longest), 'X', 255 - strlen(longest));
	longest[255] = '\0';
	assert_int_equal(dp_lpa_activation_code_parse(longest, &ac), 0);
}

static void bad(void **state)
{
	static const char *const cases[] = {
	    "",				 /* empty */
	    "LPA:",			 /* nothing after the prefix */
	    "LPA:2$a.example$X",	 /* format 2 */
	    "LPA:11$a.example$X",	 /* format 11 */
	    "lpa:1$a.example$X",	 /* the prefix is upper case */
	    "LPA:1$a.example",		 /* no matching ID field */
	    "LPA:1$$X",			 /* empty address */
	    "LPA:1$a.example$",		 /* empty matching ID */
	    "LPA:1$a..example$X",	 /* empty label */
	    "LPA:1$-a.example$X",	 /* label starts with '-' */
	    "LPA:1$a-.example$X",	 /* label ends with '-' */
	    "LPA:1$a_b.example$X",	 /* '_' in a host */
	    "LPA:1$a.example:$X",	 /* empty port */
	    "LPA:1$a.example:0$X",	 /* port 0 */
	    "LPA:1$a.example:65536$X",	 /* port too big */
	    "LPA:1$a.example:08443$X",	 /* leading zero */
	    "LPA:1$a.example/path$X",	 /* a path */
	    "LPA:1$user@a.example$X",	 /* userinfo */
	    "LPA:1$[::1$X",		 /* unclosed bracket */
	    "LPA:1$[zz]:1$X",		 /* not IPv6 */
	    "LPA:1$a.example$X Y",	 /* space in the matching ID */
	    "LPA:1$a.example$X\tY",	 /* control character */
	    "LPA:1$a.example$X\xC3\xA9", /* non-ASCII */
	    "LPA:1$a.example$X$",	 /* empty OID with nothing after it */
	    "LPA:1$a.example$X$1",	 /* one-arc OID */
	    "LPA:1$a.example$X$3.1",	 /* first arc 3 */
	    "LPA:1$a.example$X$1..2",	 /* empty arc */
	    "LPA:1$a.example$X$1.02",	 /* leading zero in an arc */
	    "LPA:1$a.example$X$1.2.",	 /* trailing dot */
	    "LPA:1$a.example$X$1.2x",	 /* not a digit */
	    "LPA:1$a.example$X$1.2$0",	 /* flag 0 */
	    "LPA:1$a.example$X$1.2$",	 /* empty flag */
	    "LPA:1$a.example$X$1.2$11",	 /* flag 11 */
	    "LPA:1$a.example$X$$1$1",	 /* a sixth field */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dp_lpa_activation_code ac;
		int r = dp_lpa_activation_code_parse(cases[i], &ac);
		if (r != DP_ERR_ACTIVATION_CODE)
			fail_msg("case %zu \"%s\": %d", i, cases[i], r);
		assert_string_equal(ac.address, ""); /* nothing half-filled */
		assert_true(strlen(dp_err_detail()) > 0);
	}
	/* 256 characters */
	char over[300] = "1$a.example$";
	memset(over + strlen(over), 'X', 256 - strlen(over));
	over[256] = '\0';
	struct dp_lpa_activation_code ac;
	assert_int_equal(dp_lpa_activation_code_parse(over, &ac), DP_ERR_ACTIVATION_CODE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(good),
	    cmocka_unit_test(bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
