/* The order book's ES2+ section (db.h) on a temporary SQLite file: every ES2+ transition
 * of the state table, each refusal outcome, ownership, the history rows, and that a
 * refusal changes nothing. */
#include "test/support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smdp/db.h"
#include "smdp/state.h"

#define EID1 "89049032123451234512345678901235"
#define EID2 "89049032123451234512345678901236"

struct fx {
	char dir[64];
	char path[96];
	struct dp_db *db;
	unsigned next;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/smdp-test-dbes2-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/smdp.db", f->dir);
	assert_int_equal(dp_db_open(f->path, &f->db), DP_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[128];
	dp_db_close(f->db);
	static const char *const suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void add(struct fx *f, const char *owner, const char *type, char *iccid)
{
	static const uint8_t pkg[] = {0xA0, 0x03, 0x80, 0x01, 0x02};
	static const uint8_t meta[] = {0xBF, 0x25, 0x00};
	snprintf(iccid, DP_DB_ICCID_MAX + 1, "8900000000000%07u", f->next++);
	struct dp_db_profile_new p = {
	    .iccid = iccid,
	    .profile_type = type,
	    .owner = owner,
	    .package = pkg,
	    .package_len = sizeof(pkg),
	    .metadata = meta,
	    .metadata_len = sizeof(meta),
	    .profile_class = 2,
	};
	assert_int_equal(dp_db_profile_add(f->db, &p, "test", NULL), DP_OK);
}

static enum dp_profile_state st(struct fx *f, const char *iccid, char *eid)
{
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(f->db, iccid, false, &p), DP_OK);
	if (eid != NULL)
		memcpy(eid, p.eid, sizeof(p.eid));
	enum dp_profile_state s = p.state;
	dp_db_profile_deinit(&p);
	return s;
}

static enum dp_db_es2_outcome order(struct fx *f, const char *owner, const char *iccid,
				    const char *type, const char *eid, char *out)
{
	enum dp_db_es2_outcome o = DP_DB_ES2_STATE;
	struct dp_db_es2_download d = {
	    .owner = owner, .iccid = iccid, .profile_type = type, .eid = eid};
	assert_int_equal(dp_db_es2_download_order(f->db, &d, &o, out), DP_OK);
	return o;
}

static enum dp_db_es2_outcome confirm(struct fx *f, const char *owner, const char *iccid,
				      const char *eid, const char *mid, bool release, char *eid_out)
{
	enum dp_db_es2_outcome o = DP_DB_ES2_STATE;
	static const uint8_t cc[32] = {1, 2, 3};
	struct dp_db_es2_confirm c = {
	    .owner = owner,
	    .iccid = iccid,
	    .eid = eid,
	    .matching_id = mid,
	    .cc_hash = cc,
	    .release = release,
	    .expires_at = 12345,
	    .max_attempts = 4,
	    .cc_max_attempts = 2,
	    .reuse_on_delete = true,
	};
	assert_int_equal(dp_db_es2_confirm_order(f->db, &c, &o, eid_out), DP_OK);
	return o;
}

static enum dp_db_es2_outcome cancel(struct fx *f, const char *owner, const char *iccid,
				     const char *eid, const char *mid, enum dp_profile_state fin)
{
	enum dp_db_es2_outcome o = DP_DB_ES2_STATE;
	assert_int_equal(dp_db_es2_cancel_order(f->db, owner, iccid, eid, mid, fin, &o), DP_OK);
	return o;
}

static enum dp_db_es2_outcome release(struct fx *f, const char *owner, const char *iccid)
{
	enum dp_db_es2_outcome o = DP_DB_ES2_STATE;
	assert_int_equal(dp_db_es2_release_profile(f->db, owner, iccid, &o), DP_OK);
	return o;
}

static void download_order(void **state)
{
	struct fx *f = *state;
	char a[21], b[21], c[21], got[21] = "", eid[33];
	add(f, "ACME", "t1", a);
	add(f, "ACME", "t1", b);
	add(f, "OTHER", "t2", c);
	/* by type: the operator's first Available one, Allocated */
	assert_int_equal(order(f, "ACME", NULL, "t1", NULL, got), DP_DB_ES2_OK);
	assert_string_equal(got, a);
	assert_int_equal(st(f, a, eid), DP_PROFILE_ALLOCATED);
	assert_string_equal(eid, "");
	/* by ICCID with an EID: Linked and bound */
	assert_int_equal(order(f, "ACME", b, "t1", EID1, got), DP_DB_ES2_OK);
	assert_string_equal(got, b);
	assert_int_equal(st(f, b, eid), DP_PROFILE_LINKED);
	assert_string_equal(eid, EID1);
	/* refusals */
	assert_int_equal(order(f, "ACME", NULL, "t1", NULL, got), DP_DB_ES2_TYPE_EXHAUSTED);
	assert_int_equal(order(f, "ACME", NULL, "t2", NULL, got), DP_DB_ES2_TYPE_NOT_OWNER);
	assert_int_equal(order(f, "ACME", NULL, "t9", NULL, got), DP_DB_ES2_TYPE_UNKNOWN);
	assert_int_equal(order(f, "ACME", a, NULL, NULL, got), DP_DB_ES2_IN_USE);
	assert_int_equal(order(f, "ACME", c, NULL, NULL, got), DP_DB_ES2_NOT_OWNER);
	assert_int_equal(order(f, "OTHER", c, "t1", NULL, got), DP_DB_ES2_TYPE_MISMATCH);
	assert_int_equal(order(f, "ACME", "89000000000000999999", NULL, NULL, got),
			 DP_DB_ES2_ICCID_UNKNOWN);
	assert_int_equal(st(f, c, NULL), DP_PROFILE_AVAILABLE);
	/* history: who, from, to */
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find_for_eid(f->db, EID1, &o), DP_ERR_NOT_FOUND);
}

static int last_history(void *ctx, const struct dp_db_history *h)
{
	memcpy(ctx, h, sizeof(*h));
	return 0;
}

static void confirm_and_release(void **state)
{
	struct fx *f = *state;
	char a[21], b[21], c[21], eid[33] = "";
	add(f, "ACME", "t", a);
	add(f, "ACME", "t", b);
	add(f, "ACME", "t", c);
	/* nothing to confirm or release yet */
	assert_int_equal(confirm(f, "ACME", a, NULL, "M-1", true, eid), DP_DB_ES2_STATE);
	assert_int_equal(release(f, "ACME", a), DP_DB_ES2_STATE);
	assert_int_equal(order(f, "ACME", a, NULL, EID1, NULL), DP_DB_ES2_OK);
	assert_int_equal(order(f, "ACME", b, NULL, NULL, NULL), DP_DB_ES2_OK);
	assert_int_equal(order(f, "ACME", c, NULL, NULL, NULL), DP_DB_ES2_OK);
	/* other operator, other EID, no EID for an order without matching ID */
	assert_int_equal(confirm(f, "OTHER", a, NULL, "M-1", true, eid), DP_DB_ES2_NOT_OWNER);
	assert_int_equal(confirm(f, "ACME", a, EID2, "M-1", true, eid), DP_DB_ES2_EID_DIFFERENT);
	assert_int_equal(confirm(f, "ACME", b, NULL, "", true, eid), DP_DB_ES2_EID_MISSING);
	assert_int_equal(confirm(f, "ACME", b, NULL, NULL, true, eid), DP_DB_ES2_EID_MISSING);
	/* Linked -> Confirmed, the EID of downloadOrder answered */
	assert_int_equal(confirm(f, "ACME", a, NULL, "M-1", false, eid), DP_DB_ES2_OK);
	assert_string_equal(eid, EID1);
	assert_int_equal(st(f, a, NULL), DP_PROFILE_CONFIRMED);
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find(f->db, "M-1", &o), DP_OK);
	assert_string_equal(o.eid, EID1);
	assert_true(o.has_cc);
	assert_int_equal(o.cc_hash[2], 3);
	assert_int_equal(o.expires_at, 12345);
	assert_int_equal(o.max_attempts, 4);
	assert_int_equal(o.cc_max_attempts, 2);
	assert_true(o.reuse_on_delete);
	assert_int_equal(o.profile_state, DP_PROFILE_CONFIRMED);
	/* the matching ID is taken; a refused confirmation changes nothing */
	assert_int_equal(confirm(f, "ACME", b, EID2, "M-1", true, eid),
			 DP_DB_ES2_MATCHING_ID_TAKEN);
	assert_int_equal(st(f, b, eid), DP_PROFILE_ALLOCATED);
	assert_string_equal(eid, "");
	/* Allocated -> Released with an EID given now and no matching ID (default SM-DP+) */
	assert_int_equal(confirm(f, "ACME", b, EID2, "", true, eid), DP_DB_ES2_OK);
	assert_int_equal(st(f, b, eid), DP_PROFILE_RELEASED);
	assert_string_equal(eid, EID2);
	assert_int_equal(dp_db_order_find_for_eid(f->db, EID2, &o), DP_OK);
	assert_string_equal(o.iccid, b);
	assert_int_equal(confirm(f, "ACME", b, NULL, "M-2", true, eid), DP_DB_ES2_STATE);
	/* Allocated -> Confirmed -> Released */
	assert_int_equal(confirm(f, "ACME", c, NULL, "M-3", false, eid), DP_DB_ES2_OK);
	assert_int_equal(release(f, "OTHER", c), DP_DB_ES2_NOT_OWNER);
	assert_int_equal(release(f, "ACME", c), DP_DB_ES2_OK);
	assert_int_equal(st(f, c, NULL), DP_PROFILE_RELEASED);
	assert_int_equal(release(f, "ACME", c), DP_DB_ES2_STATE);
	assert_int_equal(release(f, "ACME", "89000000000000999999"), DP_DB_ES2_ICCID_UNKNOWN);
	struct dp_db_history h;
	assert_int_equal(dp_db_profile_history(f->db, c, last_history, &h), DP_OK);
	assert_string_equal(h.actor, "ACME");
	assert_int_equal(h.from, DP_PROFILE_CONFIRMED);
	assert_int_equal(h.to, DP_PROFILE_RELEASED);
	assert_string_equal(h.event, "releaseProfile");
}

static void cancel_order(void **state)
{
	struct fx *f = *state;
	char a[21], b[21], eid[33];
	add(f, "ACME", "t", a);
	add(f, "ACME", "t", b);
	assert_int_equal(cancel(f, "ACME", a, NULL, NULL, DP_PROFILE_AVAILABLE), DP_DB_ES2_STATE);
	/* from each of Allocated, Linked, Confirmed, Released, to each final state */
	static const struct {
		bool eid, confirm, rel;
		enum dp_profile_state fin;
	} cases[] = {
	    {false, false, false, DP_PROFILE_AVAILABLE},
	    {true, false, false, DP_PROFILE_AVAILABLE},
	    {true, true, false, DP_PROFILE_AVAILABLE},
	    {true, true, true, DP_PROFILE_AVAILABLE},
	    {false, false, false, DP_PROFILE_UNAVAILABLE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(order(f, "ACME", a, NULL, cases[i].eid ? EID1 : NULL, NULL),
				 DP_DB_ES2_OK);
		if (cases[i].confirm)
			assert_int_equal(confirm(f, "ACME", a, NULL, "C-1", cases[i].rel, eid),
					 DP_DB_ES2_OK);
		if (cases[i].eid)
			assert_int_equal(cancel(f, "ACME", a, EID2, NULL, cases[i].fin),
					 DP_DB_ES2_EID_DIFFERENT);
		if (cases[i].confirm) {
			assert_int_equal(cancel(f, "ACME", a, NULL, "C-2", cases[i].fin),
					 DP_DB_ES2_MATCHING_ID_DIFFERENT);
			assert_int_equal(cancel(f, "ACME", a, EID1, "C-1", cases[i].fin),
					 DP_DB_ES2_OK);
		} else {
			assert_int_equal(cancel(f, "ACME", a, NULL, "C-1", cases[i].fin),
					 DP_DB_ES2_MATCHING_ID_DIFFERENT);
			assert_int_equal(cancel(f, "OTHER", a, NULL, NULL, cases[i].fin),
					 DP_DB_ES2_NOT_OWNER);
			assert_int_equal(cancel(f, "ACME", a, NULL, NULL, cases[i].fin),
					 DP_DB_ES2_OK);
		}
		assert_int_equal(st(f, a, eid), cases[i].fin);
		assert_string_equal(eid, "");
		/* the order is closed: its matching ID is free */
		struct dp_db_order o;
		assert_int_equal(dp_db_order_find(f->db, "C-1", &o), DP_ERR_NOT_FOUND);
		if (cases[i].fin == DP_PROFILE_UNAVAILABLE)
			assert_int_equal(cancel(f, "ACME", a, NULL, NULL, DP_PROFILE_AVAILABLE),
					 DP_DB_ES2_STATE);
	}
	/* an Error profile (e.g. retries exhausted) may be cancelled back to Available */
	assert_int_equal(order(f, "ACME", b, NULL, NULL, NULL), DP_DB_ES2_OK);
	assert_int_equal(confirm(f, "ACME", b, EID1, "E-1", true, eid), DP_DB_ES2_OK);
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find(f->db, "E-1", &o), DP_OK);
	assert_int_equal(dp_db_order_fail(f->db, o.id, DP_EV_RETRIES_EXHAUSTED, "test"), DP_OK);
	assert_int_equal(st(f, b, NULL), DP_PROFILE_ERROR);
	assert_int_equal(cancel(f, "ACME", b, NULL, "E-1", DP_PROFILE_AVAILABLE),
			 DP_DB_ES2_MATCHING_ID_DIFFERENT);
	assert_int_equal(cancel(f, "ACME", b, NULL, NULL, DP_PROFILE_AVAILABLE), DP_DB_ES2_OK);
	assert_int_equal(st(f, b, NULL), DP_PROFILE_AVAILABLE);
	assert_int_equal(
	    cancel(f, "ACME", "89000000000000999999", NULL, NULL, DP_PROFILE_AVAILABLE),
	    DP_DB_ES2_ICCID_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(download_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(confirm_and_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(cancel_order, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
