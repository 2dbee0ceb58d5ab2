/* profilegen: every TS.48 package of ../shared/ts48 dumps to YAML, builds back to the same
 * bytes, and passes check; the dump names fields (only a few PEs may fall back to raw). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "profilegen/profilegen.h"
#include "test/support/support.h"

static void roundtrip(const char *path)
{
	struct dp_buf der, yaml, again;
	struct dp_pg_package p, q;
	const char *rule = NULL;
	dp_buf_init(&der, DP_PG_MAX_PACKAGE);
	dp_buf_init(&yaml, DP_PG_MAX_YAML);
	dp_buf_init(&again, DP_PG_MAX_PACKAGE);
	dp_pg_package_init(&p);
	dp_pg_package_init(&q);
	dp_test_read_file(path, &der);
	assert_int_equal(dp_pg_package_parse(der.data, der.len, &p), 0);
	int r = dp_pg_check(&p, &rule);
	if (r)
		fail_msg("%s: check rule %s: %s", path, rule, dp_err_detail());
	assert_int_equal(dp_pg_dump(&p, &yaml), 0);
	const char *text;
	assert_int_equal(dp_buf_cstr(&yaml, &text), 0);
	/* readable: the identifiers appear as digits, not only hex */
	assert_non_null(strstr(text, "    iccid: \""));
	assert_non_null(strstr(text, "- imsi: \""));
	assert_non_null(strstr(text, "algorithmID: "));
	r = dp_pg_build_yaml(path, text, yaml.len, NULL, &q);
	if (r)
		fail_msg("%s: build of the dump: %s", path, dp_err_detail());
	assert_int_equal(dp_pg_package_der(&q, &again), 0);
	assert_bytes_equal(der.data, der.len, again.data, again.len);
	dp_buf_deinit(&der);
	dp_buf_deinit(&yaml);
	dp_buf_deinit(&again);
	dp_pg_package_deinit(&p);
	dp_pg_package_deinit(&q);
}

static void test_ts48_all(void **state)
{
	(void)state;
	const char *dir = dp_test_shared("ts48");
	char dcopy[1024];
	snprintf(dcopy, sizeof(dcopy), "%s", dir);
	DIR *d = opendir(dcopy);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".der") != 0)
			continue;
		char path[2048];
		snprintf(path, sizeof(path), "%s/%s", dcopy, e->d_name);
		roundtrip(path);
		n++;
	}
	closedir(d);
	assert_true(n >= 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_ts48_all) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
