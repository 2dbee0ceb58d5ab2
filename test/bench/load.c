/* The order loader of the load generator (contract in bench.h): n personalised copies of
 * one SAIP package as Available profiles and one pool order for them, through the
 * storage interface (smdp/db.h), as the admin CLI's import and order commands do.
 * Profile content: SAIP 3.3.1 PEDefinitions; metadata: SGP.22 2.4a StoreMetadataRequest. */
#include "test/bench/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/base/buf.h"
#include "profilegen/profilegen.h"
#include "smdp/db.h"

#define PACKAGE_MAX (1u << 20)
#define META_MAX    4096

/* One profile: the package with the ICCID base + i (and its Luhn digit). */
static int add_one(struct dp_db *db, struct dp_pg_package *pkg, const struct dp_bench_load *o,
		   size_t i, struct dp_buf *der, struct dp_buf *meta)
{
	struct dp_pg_personal pers = {0};
	struct dp_pg_metadata m = {0};
	char digits[19];
	/* the last 9 digits of the base count up */
	unsigned long long low = strtoull(o->iccid_base + 9, NULL, 10) + i;
	if (low > 999999999ull)
		return dp_err_set(DP_ERR_INVAL, "ICCID base %s + %zu leaves 18 digits",
				  o->iccid_base, i);
	snprintf(digits, sizeof(digits), "%.9s%09llu", o->iccid_base, low);
	int r = dp_pg_iccid_normalise(digits, pers.iccid);
	if (r)
		return r;
	pers.has_iccid = true;
	r = dp_pg_personalise(pkg, &pers);
	if (r)
		return r;
	dp_buf_reset(der);
	dp_buf_reset(meta);
	r = dp_pg_package_der(pkg, der);
	if (r)
		return r;
	m.present = true;
	snprintf(m.spn, sizeof(m.spn), "smdp bench");
	snprintf(m.name, sizeof(m.name), "bench %s", pers.iccid);
	m.profile_class = 2;
	m.icon_type = -1;
	r = dp_pg_metadata_der(pkg, &m, meta);
	if (r)
		return r;
	struct dp_db_profile_new p = {
	    .iccid = pers.iccid,
	    .profile_type = o->profile_type,
	    .owner = "bench",
	    .package = der->data,
	    .package_len = der->len,
	    .metadata = meta->data,
	    .metadata_len = meta->len,
	    .profile_class = 2,
	};
	return dp_db_profile_add(db, &p, "bench", NULL);
}

int dp_bench_load(const struct dp_bench_load *o)
{
	struct dp_db *db = NULL;
	struct dp_buf file, der, meta;
	struct dp_pg_package pkg;
	dp_buf_init(&file, PACKAGE_MAX);
	dp_buf_init(&der, PACKAGE_MAX);
	dp_buf_init(&meta, META_MAX);
	dp_pg_package_init(&pkg);
	int r = DP_OK;
	if (o->iccid_base == NULL || strlen(o->iccid_base) != 18 ||
	    strspn(o->iccid_base, "0123456789") != 18) {
		r = dp_err_set(DP_ERR_INVAL, "ICCID base: 18 digits");
		goto out;
	}
	r = dp_buf_read_file(&file, o->package_path);
	if (r == DP_OK)
		r = dp_pg_package_parse(file.data, file.len, &pkg);
	if (r == DP_OK)
		r = dp_db_open(o->db_path, &db);
	for (size_t i = 0; r == DP_OK && i < o->n; i++) {
		r = add_one(db, &pkg, o, i, &der, &meta);
		if (o->progress && (i + 1) % 1000 == 0)
			fputc('.', stderr);
	}
	if (o->progress)
		fputc('\n', stderr);
	if (r)
		goto out;
	struct dp_db_order_new on = {
	    .matching_id = o->matching_id,
	    .profile_type = o->profile_type,
	    .pool = true,
	    .max_attempts = 5,
	    .cc_max_attempts = 3,
	    .owner = "bench",
	};
	r = dp_db_order_add(db, &on, "bench", NULL, NULL);
out:
	dp_db_close(db);
	dp_pg_package_deinit(&pkg);
	dp_buf_deinit(&file);
	dp_buf_deinit(&der);
	dp_buf_deinit(&meta);
	return r;
}
