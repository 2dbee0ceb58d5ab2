/* Fuzz target: a DER profile package through check and dump; a dump must build back to the
 * same bytes (abort otherwise). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profilegen/profilegen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_pg_package p, q;
	struct dp_buf y, a, b;
	const char *rule;
	dp_pg_package_init(&p);
	dp_pg_package_init(&q);
	dp_buf_init(&y, DP_PG_MAX_YAML);
	dp_buf_init(&a, DP_PG_MAX_PACKAGE);
	dp_buf_init(&b, DP_PG_MAX_PACKAGE);
	if (dp_pg_package_parse(data, size, &p) == DP_OK) {
		(void)!dp_pg_check(&p, &rule);
		if (dp_pg_dump(&p, &y) == DP_OK) {
			if (dp_pg_build_yaml("dump", y.len ? (const char *)y.data : "", y.len, NULL,
					     &q) != DP_OK ||
			    dp_pg_package_der(&p, &a) != DP_OK || dp_pg_package_der(&q, &b) != DP_OK ||
			    a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
				abort();
		}
	}
	dp_buf_deinit(&y);
	dp_buf_deinit(&a);
	dp_buf_deinit(&b);
	dp_pg_package_deinit(&p);
	dp_pg_package_deinit(&q);
	return 0;
}
