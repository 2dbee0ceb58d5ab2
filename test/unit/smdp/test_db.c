/* The order book through db.h on a temporary SQLite file: profiles, orders (by ICCID, by
 * type, pool, default SM-DP+), every transition of the state table and refused ones, ES9+
 * sessions, confirmation-code and attempt limits, pool claims and their expiry, delete
 * notifications, persistence across close/reopen, and pool claims from many threads. */
#include "test/support/support.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pki/base/log.h"
#include "smdp/db.h"
#include "smdp/state.h"

#define EID1 "89049032123451234512345678901235"
#define EID2 "89049032123451234512345678901236"
#define EID3 "89049032123451234512345678901237"

struct fx {
	char dir[64];
	char path[96];
	struct dp_db *db;
	unsigned next_iccid;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/smdp-test-db-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/smdp.db", f->dir);
	assert_int_equal(dp_db_open(f->path, &f->db), 0);
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

/* A profile with a fake package and metadata (the order book does not parse them). */
static const uint8_t fake_pkg[] = {0xA0, 0x03, 0x80, 0x01, 0x02};
static const uint8_t fake_meta[] = {0xBF, 0x25, 0x00};

static struct dp_db_profile_new fake_profile(const char *iccid, const char *type)
{
	return (struct dp_db_profile_new){
	    .iccid = iccid,
	    .profile_type = type,
	    .owner = "op",
	    .package = fake_pkg,
	    .package_len = sizeof(fake_pkg),
	    .metadata = fake_meta,
	    .metadata_len = sizeof(fake_meta),
	    .profile_class = 2,
	    .ppr = 0,
	};
}

/* iccid (21 bytes) receives its ICCID. */
static int64_t add_profile(struct fx *f, const char *type, char *iccid)
{
	snprintf(iccid, DP_DB_ICCID_MAX + 1, "8900000000000%07u", f->next_iccid++);
	struct dp_db_profile_new p = fake_profile(iccid, type);
	int64_t id = 0;
	assert_int_equal(dp_db_profile_add(f->db, &p, "test", &id), 0);
	assert_true(id > 0);
	return id;
}

static enum dp_profile_state state_of(struct fx *f, const char *iccid, char *eid_out)
{
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(f->db, iccid, false, &p), 0);
	enum dp_profile_state s = p.state;
	if (eid_out != NULL)
		snprintf(eid_out, DP_DB_EID_LEN + 1, "%s", p.eid);
	dp_db_profile_deinit(&p);
	return s;
}

static int64_t order(struct fx *f, const char *mid, const char *iccid, const char *type, bool pool,
		     const char *eid, char *iccid_out)
{
	struct dp_db_order_new o = {
	    .matching_id = mid,
	    .iccid = iccid,
	    .profile_type = type,
	    .pool = pool,
	    .eid = eid,
	    .max_attempts = 3,
	    .cc_max_attempts = 3,
	    .owner = "op",
	};
	int64_t id = 0;
	assert_int_equal(dp_db_order_add(f->db, &o, "test", &id, iccid_out), 0);
	return id;
}

/* An INITIATED session with tid = {n, n, n, n}. */
static void new_session(struct fx *f, uint8_t n, time_t expires_at, struct dp_db_session *s)
{
	dp_db_session_init(s);
	memset(s->tid, n, 4);
	s->tid_len = 4;
	s->created_at = time(NULL);
	s->expires_at = expires_at;
	snprintf(s->smdp_address, sizeof(s->smdp_address), "smdp.example.com");
	memset(s->server_challenge, 0x5A, 16);
	memset(s->euicc_challenge, 0xA5, 16);
	memset(s->ci_ski, 0xC1, 20);
	s->ci_ski_len = 20;
	assert_int_equal(dp_db_session_add(f->db, s), 0);
}

/* authenticateClient's part: eid, order, certificates, smdpSigned2. */
static int authenticate(struct fx *f, struct dp_db_session *s, int64_t order_id, const char *eid)
{
	snprintf(s->eid, sizeof(s->eid), "%s", eid);
	s->order_id = order_id;
	dp_buf_reset(&s->euicc_cert);
	dp_buf_reset(&s->smdp_signed2);
	assert_int_equal(dp_buf_append(&s->euicc_cert, "\x30\x03\x02\x01\x07", 5), 0);
	assert_int_equal(dp_buf_append(&s->eum_cert, "\x30\x03\x02\x01\x08", 5), 0);
	assert_int_equal(dp_buf_append(&s->smdp_signed2, "\x30\x02\x80\x00", 4), 0);
	memset(s->smdp_signature2, 0x37, sizeof(s->smdp_signature2));
	/* the bound profile comes back read in the same transaction, as a later read sees it */
	struct dp_db_profile p, again;
	dp_db_profile_init(&p);
	dp_db_profile_init(&again);
	memset(p.iccid, 'x', sizeof(p.iccid) - 1);
	int r = dp_db_session_authenticate(f->db, s, time(NULL), &p);
	if (r == DP_OK) {
		assert_int_equal(dp_db_profile_get_by_id(f->db, s->profile_id, false, &again), 0);
		assert_int_equal(p.id, s->profile_id);
		assert_string_equal(p.iccid, again.iccid);
		assert_string_equal(p.eid, eid);
		assert_int_equal(p.state, again.state);
		assert_bytes_equal(p.metadata.data, p.metadata.len, again.metadata.data,
				   again.metadata.len);
		assert_int_equal(p.package.len, 0);
		/* and the session read afterwards names the profile's ICCID */
		struct dp_db_session g;
		dp_db_session_init(&g);
		assert_int_equal(dp_db_session_get(f->db, s->tid, s->tid_len, &g), 0);
		assert_string_equal(g.profile_iccid, again.iccid);
		dp_db_session_deinit(&g);
	}
	dp_db_profile_deinit(&p);
	dp_db_profile_deinit(&again);
	return r;
}

static void bind(struct fx *f, struct dp_db_session *s)
{
	memset(s->otpk_euicc, 0x04, sizeof(s->otpk_euicc));
	dp_buf_reset(&s->bpp);
	assert_int_equal(dp_buf_append(&s->bpp, "\xBF\x36\x00", 3), 0);
	assert_int_equal(dp_db_session_bind(f->db, s), 0);
}

/* ---- profiles ---- */

static void import_and_duplicate(void **state)
{
	struct fx *f = *state;
	char iccid[21];
	add_profile(f, "t1", iccid);
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(f->db, iccid, true, &p), 0);
	assert_string_equal(p.iccid, iccid);
	assert_string_equal(p.profile_type, "t1");
	assert_string_equal(p.owner, "op");
	assert_int_equal(p.state, DP_PROFILE_AVAILABLE);
	assert_string_equal(p.eid, "");
	assert_int_equal(p.package.len, 5);
	assert_int_equal(p.metadata.len, 3);
	assert_false(p.has_ppk);
	dp_db_profile_deinit(&p);
	/* without the package: the same row, its length, not its bytes */
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(f->db, iccid, false, &p), 0);
	assert_string_equal(p.iccid, iccid);
	assert_int_equal(p.package.len, 0);
	assert_int_equal(p.package_len, 5);
	assert_int_equal(p.metadata.len, 3);
	int64_t pid = p.id;
	dp_db_profile_deinit(&p);
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get_by_id(f->db, pid, false, &p), 0);
	assert_string_equal(p.iccid, iccid);
	assert_int_equal(p.package.len, 0);
	assert_int_equal(p.package_len, 5);
	dp_db_profile_deinit(&p);
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get_by_id(f->db, pid, true, &p), 0);
	assert_int_equal(p.package.len, 5);
	dp_db_profile_deinit(&p);

	/* the same ICCID again: refused, naming it */
	static const uint8_t x[] = {1};
	struct dp_db_profile_new again = {.iccid = iccid,
					  .profile_type = "t2",
					  .package = x,
					  .package_len = 1,
					  .metadata = x,
					  .metadata_len = 1};
	assert_int_equal(dp_db_profile_add(f->db, &again, "test", NULL), DP_ERR_DB_EXISTS);
	assert_non_null(strstr(dp_err_detail(), iccid));
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(f->db, iccid, false, &p), 0);
	assert_string_equal(p.profile_type, "t1"); /* untouched */
	dp_db_profile_deinit(&p);
	assert_int_equal(dp_db_profile_get(f->db, "89000000000000000999", false, &p),
			 DP_ERR_NOT_FOUND);

	/* a pre-protected profile keeps its keys */
	struct dp_session_keys k;
	memset(k.mcv, 1, 16);
	memset(k.s_enc, 2, 16);
	memset(k.s_mac, 3, 16);
	struct dp_db_profile_new pp = {.iccid = "89000000000000000888",
				       .package = x,
				       .package_len = 1,
				       .metadata = x,
				       .metadata_len = 1,
				       .ppk = &k,
				       .profile_class = 0,
				       .ppr = 6};
	int64_t id;
	assert_int_equal(dp_db_profile_add(f->db, &pp, "test", &id), 0);
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get_by_id(f->db, id, true, &p), 0);
	assert_true(p.has_ppk);
	assert_memory_equal(p.ppk.s_enc, k.s_enc, 16);
	assert_memory_equal(p.ppk.s_mac, k.s_mac, 16);
	assert_memory_equal(p.ppk.mcv, k.mcv, 16);
	assert_int_equal(p.profile_class, 0);
	assert_int_equal(p.ppr, 6);
	dp_db_profile_deinit(&p);
}

static int count_cb(void *ctx, const struct dp_db_profile *p)
{
	(void)p;
	(*(int *)ctx)++;
	return 0;
}

/* A batch is one transaction: all or nothing. */
static void batch_all_or_nothing(void **state)
{
	struct fx *f = *state;
	char a[21], b[21], c[21];
	size_t counts[DP_PROFILE_STATE_COUNT];
	assert_int_equal(dp_db_batch_begin(f->db), 0);
	assert_int_equal(dp_db_batch_begin(f->db), DP_ERR_INVAL); /* no nesting */
	add_profile(f, "batch", a);
	add_profile(f, "batch", b);
	assert_int_equal(dp_db_batch_end(f->db, true), 0);
	assert_int_equal(dp_db_profile_count(f->db, "batch", counts), 0);
	assert_int_equal(counts[DP_PROFILE_AVAILABLE], 2);
	/* a failure inside (a duplicate ICCID) rolls back what came before it */
	assert_int_equal(dp_db_batch_begin(f->db), 0);
	add_profile(f, "batch", c);
	static const uint8_t x[] = {1};
	struct dp_db_profile_new dup = {.iccid = a,
					.profile_type = "batch",
					.package = x,
					.package_len = 1,
					.metadata = x,
					.metadata_len = 1};
	assert_int_equal(dp_db_profile_add(f->db, &dup, "test", NULL), DP_ERR_DB_EXISTS);
	assert_int_equal(dp_db_batch_end(f->db, true), DP_ERR_DB_EXISTS);
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(f->db, c, false, &p), DP_ERR_NOT_FOUND);
	dp_db_profile_deinit(&p);
	/* abandoned on purpose */
	assert_int_equal(dp_db_batch_begin(f->db), 0);
	add_profile(f, "batch", c);
	assert_int_equal(dp_db_batch_end(f->db, false), DP_ERR_INVAL);
	assert_int_equal(dp_db_profile_count(f->db, "batch", counts), 0);
	assert_int_equal(counts[DP_PROFILE_AVAILABLE], 2);
	assert_int_equal(dp_db_batch_end(f->db, true), DP_ERR_INVAL); /* none open */
}

static void list_and_count(void **state)
{
	struct fx *f = *state;
	char a[21], b[21], c[21];
	add_profile(f, "t1", a);
	add_profile(f, "t1", b);
	add_profile(f, "t2", c);
	assert_int_equal(dp_db_profile_event(f->db, b, DP_EV_ADMIN_RETIRE, DP_PROFILE_STATE_COUNT,
					     "test", "gone"),
			 0);
	int n = 0;
	struct dp_db_profile_filter all = {.state = DP_PROFILE_STATE_COUNT};
	assert_int_equal(dp_db_profile_list(f->db, &all, count_cb, &n), 0);
	assert_int_equal(n, 3);
	struct dp_db_profile_filter t1 = {.state = DP_PROFILE_STATE_COUNT, .profile_type = "t1"};
	n = 0;
	assert_int_equal(dp_db_profile_list(f->db, &t1, count_cb, &n), 0);
	assert_int_equal(n, 2);
	struct dp_db_profile_filter avail1 = {.state = DP_PROFILE_AVAILABLE, .profile_type = "t1"};
	n = 0;
	assert_int_equal(dp_db_profile_list(f->db, &avail1, count_cb, &n), 0);
	assert_int_equal(n, 1);
	struct dp_db_profile_filter owner = {.state = DP_PROFILE_STATE_COUNT, .owner = "nobody"};
	n = 0;
	assert_int_equal(dp_db_profile_list(f->db, &owner, count_cb, &n), 0);
	assert_int_equal(n, 0);
	size_t counts[DP_PROFILE_STATE_COUNT];
	assert_int_equal(dp_db_profile_count(f->db, "t1", counts), 0);
	assert_int_equal(counts[DP_PROFILE_AVAILABLE], 1);
	assert_int_equal(counts[DP_PROFILE_UNAVAILABLE], 1);
	assert_int_equal(dp_db_profile_count(f->db, NULL, counts), 0);
	assert_int_equal(counts[DP_PROFILE_AVAILABLE], 2);
}

/* ---- orders ---- */

static void orders_by_iccid_type_pool_default(void **state)
{
	struct fx *f = *state;
	char a[21], b[21], c[21], got[21];
	add_profile(f, "t1", a);
	add_profile(f, "t1", b);
	add_profile(f, "pool", c);

	/* by ICCID */
	int64_t o1 = order(f, "MID-1", a, NULL, false, NULL, got);
	assert_string_equal(got, a);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_RELEASED);
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find(f->db, "MID-1", &o), 0);
	assert_int_equal(o.id, o1);
	assert_string_equal(o.iccid, a);
	assert_false(o.pool);
	assert_int_equal(o.profile_state, DP_PROFILE_RELEASED);
	assert_int_equal(o.max_attempts, 3);
	assert_false(o.closed);
	/* the same profile again: not Available any more */
	struct dp_db_order_new again = {
	    .matching_id = "MID-X", .iccid = a, .max_attempts = 1, .cc_max_attempts = 1};
	assert_int_equal(dp_db_order_add(f->db, &again, "test", NULL, NULL), DP_ERR_DB_STATE);
	again.iccid = "89000000000000000999";
	assert_int_equal(dp_db_order_add(f->db, &again, "test", NULL, NULL), DP_ERR_NOT_FOUND);

	/* by type: the first Available one (b); then none is left */
	order(f, "MID-2", NULL, "t1", false, EID1, got);
	assert_string_equal(got, b);
	char eid[33];
	assert_int_equal(state_of(f, b, eid), DP_PROFILE_RELEASED);
	assert_string_equal(eid, EID1);
	struct dp_db_order_new none = {
	    .matching_id = "MID-3", .profile_type = "t1", .max_attempts = 1, .cc_max_attempts = 1};
	assert_int_equal(dp_db_order_add(f->db, &none, "test", NULL, NULL), DP_ERR_NOT_FOUND);
	assert_int_equal(dp_db_order_find(f->db, "MID-3", &o), DP_ERR_NOT_FOUND);

	/* pool: no profile chosen yet, nothing Released */
	int64_t op = order(f, "POOL-1", NULL, "pool", true, NULL, got);
	assert_string_equal(got, "");
	assert_int_equal(state_of(f, c, NULL), DP_PROFILE_AVAILABLE);
	assert_int_equal(dp_db_order_find(f->db, "POOL-1", &o), 0);
	assert_int_equal(o.id, op);
	assert_true(o.pool);
	assert_int_equal(o.profile_id, 0);
	assert_string_equal(o.profile_type, "pool");

	/* default SM-DP+: no matching ID, found by EID */
	char d[21];
	add_profile(f, "t3", d);
	int64_t od = order(f, NULL, d, NULL, false, EID2, NULL);
	assert_int_equal(dp_db_order_find_for_eid(f->db, EID2, &o), 0);
	assert_int_equal(o.id, od);
	assert_string_equal(o.matching_id, "");
	assert_string_equal(o.iccid, d);
	assert_int_equal(dp_db_order_find_for_eid(f->db, EID3, &o), DP_ERR_NOT_FOUND);
	/* EID1's order has a matching ID: not a default SM-DP+ order */
	assert_int_equal(dp_db_order_find_for_eid(f->db, EID1, &o), DP_ERR_NOT_FOUND);
	/* a second order without matching ID does not clash with the first (NULLs) */
	char e[21];
	add_profile(f, "t3", e);
	order(f, "", e, NULL, false, EID3, NULL);
	assert_int_equal(dp_db_order_find_for_eid(f->db, EID3, &o), 0);
	assert_string_equal(o.iccid, e);
}

static int count_orders(void *ctx, const struct dp_db_order *o)
{
	(void)o;
	(*(int *)ctx)++;
	return 0;
}

static void matching_id_unique_among_open(void **state)
{
	struct fx *f = *state;
	char a[21], b[21];
	add_profile(f, "t", a);
	add_profile(f, "t", b);
	order(f, "SAME", a, NULL, false, NULL, NULL);
	struct dp_db_order_new dup = {
	    .matching_id = "SAME", .iccid = b, .max_attempts = 1, .cc_max_attempts = 1};
	assert_int_equal(dp_db_order_add(f->db, &dup, "test", NULL, NULL), DP_ERR_DB_EXISTS);
	assert_non_null(strstr(dp_err_detail(), "SAME"));
	/* nothing of the refused order stayed: b is still Available */
	assert_int_equal(state_of(f, b, NULL), DP_PROFILE_AVAILABLE);
	int n = 0;
	assert_int_equal(dp_db_order_list(f->db, true, count_orders, &n), 0);
	assert_int_equal(n, 1);
	/* once the first order is closed (its profile retired) the ID may be used again */
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find(f->db, "SAME", &o), 0);
	assert_int_equal(dp_db_order_fail(f->db, o.id, DP_EV_ORDER_EXPIRED, "expired"), 0);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_ERROR);
	assert_int_equal(dp_db_order_find(f->db, "SAME", &o), DP_ERR_NOT_FOUND);
	assert_int_equal(dp_db_order_add(f->db, &dup, "test", NULL, NULL), 0);
	n = 0;
	assert_int_equal(dp_db_order_list(f->db, false, count_orders, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(dp_db_order_list(f->db, true, count_orders, &n), 0);
	assert_int_equal(n, 2);
}

/* ---- the state table through the order book ---- */

/* Events that bring a fresh (Available) profile into each state, ending with the hint. */
struct step {
	enum dp_profile_event ev;
	enum dp_profile_state hint;
};
#define S_END                                                                                      \
	{                                                                                          \
		DP_PROFILE_EVENT_COUNT, DP_PROFILE_STATE_COUNT                                     \
	}
#define NO DP_PROFILE_STATE_COUNT
static const struct step path_to[DP_PROFILE_STATE_COUNT][4] = {
    [DP_PROFILE_AVAILABLE] = {S_END},
    [DP_PROFILE_ALLOCATED] = {{DP_EV_DOWNLOAD_ORDER, DP_PROFILE_ALLOCATED}, S_END},
    [DP_PROFILE_LINKED] = {{DP_EV_DOWNLOAD_ORDER, DP_PROFILE_LINKED}, S_END},
    [DP_PROFILE_CONFIRMED] = {{DP_EV_DOWNLOAD_ORDER, DP_PROFILE_ALLOCATED},
			      {DP_EV_CONFIRM_ORDER, DP_PROFILE_CONFIRMED},
			      S_END},
    [DP_PROFILE_RELEASED] = {{DP_EV_ADMIN_ORDER, NO}, S_END},
    [DP_PROFILE_DOWNLOADED] = {{DP_EV_ADMIN_ORDER, NO}, {DP_EV_BPP_DOWNLOADED, NO}, S_END},
    [DP_PROFILE_INSTALLED] = {{DP_EV_ADMIN_ORDER, NO},
			      {DP_EV_BPP_DOWNLOADED, NO},
			      {DP_EV_INSTALLED, NO},
			      S_END},
    [DP_PROFILE_ERROR] = {{DP_EV_ADMIN_ORDER, NO}, {DP_EV_ELIGIBILITY_FAILED, NO}, S_END},
    [DP_PROFILE_UNAVAILABLE] = {{DP_EV_ADMIN_RETIRE, NO}, S_END},
};

static void drive_to(struct fx *f, const char *iccid, enum dp_profile_state target)
{
	for (const struct step *s = path_to[target]; s->ev != DP_PROFILE_EVENT_COUNT; s++)
		assert_int_equal(dp_db_profile_event(f->db, iccid, s->ev, s->hint, "test", "path"),
				 0);
	assert_int_equal(state_of(f, iccid, NULL), target);
}

struct last_history {
	int n;
	struct dp_db_history h;
};

static int last_cb(void *ctx, const struct dp_db_history *h)
{
	struct last_history *l = ctx;
	l->n++;
	l->h = *h;
	return 0;
}

/* Every (from, event, to) that dp_profile_transition allows happens through
 * dp_db_profile_event on a profile in `from`, lands in `to` and writes a history row;
 * every (from, event) it refuses is DP_ERR_DB_STATE and changes nothing. */
static void every_transition(void **state)
{
	struct fx *f = *state;
	int allowed = 0, refused = 0;
	char ref[DP_PROFILE_STATE_COUNT][21];
	for (int s = 0; s < DP_PROFILE_STATE_COUNT; s++) {
		add_profile(f, "st", ref[s]);
		drive_to(f, ref[s], (enum dp_profile_state)s);
	}
	for (int from = 0; from < DP_PROFILE_STATE_COUNT; from++) {
		for (int ev = 0; ev < DP_PROFILE_EVENT_COUNT; ev++) {
			bool any = false;
			for (int to = 0; to < DP_PROFILE_STATE_COUNT; to++) {
				enum dp_profile_state got;
				if (dp_profile_transition(from, ev, to, &got) != DP_OK)
					continue;
				assert_int_equal(got, to);
				any = true;
				allowed++;
				char iccid[21];
				add_profile(f, "st", iccid);
				drive_to(f, iccid, (enum dp_profile_state)from);
				assert_int_equal(
				    dp_db_profile_event(f->db, iccid, ev, to, "test", "every"), 0);
				assert_int_equal(state_of(f, iccid, NULL), to);
				struct last_history l = {0};
				assert_int_equal(dp_db_profile_history(f->db, iccid, last_cb, &l),
						 0);
				assert_int_equal(l.h.from, from);
				assert_int_equal(l.h.to, to);
				assert_string_equal(l.h.event, dp_profile_event_name(ev));
				assert_string_equal(l.h.why, "every");
				assert_string_equal(l.h.actor, "test");
			}
			if (any)
				continue;
			refused++;
			assert_int_equal(dp_db_profile_event(f->db, ref[from], ev,
							     DP_PROFILE_STATE_COUNT, "test", "no"),
					 DP_ERR_DB_STATE);
			assert_non_null(strstr(dp_err_detail(), dp_profile_state_name(from)));
			assert_int_equal(state_of(f, ref[from], NULL), from);
		}
	}
	/* a hint the table does not have for an allowed event is refused too */
	assert_int_equal(dp_db_profile_event(f->db, ref[DP_PROFILE_AVAILABLE], DP_EV_ADMIN_ORDER,
					     DP_PROFILE_INSTALLED, "test", "no"),
			 DP_ERR_DB_STATE);
	assert_int_equal(state_of(f, ref[DP_PROFILE_AVAILABLE], NULL), DP_PROFILE_AVAILABLE);
	assert_true(allowed >= 40);
	assert_true(refused > 100);
	assert_int_equal(
	    dp_db_profile_event(f->db, "89000000000000000999", DP_EV_ADMIN_RESET, NO, "test", ""),
	    DP_ERR_NOT_FOUND);
}

/* docs/order-book.md lists the same transitions as the table: every "| From | event |
 * To |" row of its transitions table is allowed, and it has as many rows as the table. */
static void docs_match_state_table(void **state)
{
	(void)state;
	char path[4096];
	snprintf(path, sizeof(path), "%s/../../docs/order-book.md", dp_test_data("."));
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char line[512];
	int rows = 0, allowed = 0;
	bool in_table = false;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "<!-- transitions -->", 20) == 0) {
			in_table = !in_table;
			continue;
		}
		if (!in_table || line[0] != '|' || strstr(line, "---") != NULL ||
		    strstr(line, "| from |") != NULL)
			continue;
		char from[32], ev[64], to[32];
		assert_int_equal(
		    sscanf(line, "| %31[A-Za-z] | %63[^|]| %31[A-Za-z] |", from, ev, to), 3);
		size_t n = strlen(ev);
		while (n > 0 && ev[n - 1] == ' ')
			ev[--n] = '\0';
		/* the event column holds the event's history name in backquotes */
		assert_true(n > 2 && ev[0] == '`' && ev[n - 1] == '`');
		ev[n - 1] = '\0';
		enum dp_profile_state fs, ts, got;
		assert_int_equal(dp_profile_state_parse(from, &fs), 0);
		assert_int_equal(dp_profile_state_parse(to, &ts), 0);
		int e = -1;
		for (int i = 0; i < DP_PROFILE_EVENT_COUNT; i++)
			if (strcmp(dp_profile_event_name(i), ev + 1) == 0)
				e = i;
		if (e < 0)
			fail_msg("docs/order-book.md: unknown event %s", ev + 1);
		if (dp_profile_transition(fs, e, ts, &got) != DP_OK || got != ts)
			fail_msg("docs/order-book.md: %s --%s--> %s is not in state.c", from,
				 ev + 1, to);
		rows++;
	}
	fclose(fp);
	for (int from = 0; from < DP_PROFILE_STATE_COUNT; from++)
		for (int ev = 0; ev < DP_PROFILE_EVENT_COUNT; ev++)
			for (int to = 0; to < DP_PROFILE_STATE_COUNT; to++) {
				enum dp_profile_state got;
				if (dp_profile_transition(from, ev, to, &got) == DP_OK)
					allowed++;
			}
	assert_int_equal(rows, allowed);
}

/* ---- sessions ---- */

static void session_lifecycle(void **state)
{
	struct fx *f = *state;
	char a[21];
	int64_t pid = add_profile(f, "t", a);
	int64_t oid = order(f, "LIFE", a, NULL, false, NULL, NULL);
	struct dp_db_session s, g;
	time_t now = time(NULL);
	new_session(f, 1, now + 300, &s);
	/* the same tid again */
	assert_int_equal(dp_db_session_add(f->db, &s), DP_ERR_DB_EXISTS);

	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, s.tid, s.tid_len, &g), 0);
	assert_int_equal(g.stage, DP_DB_STAGE_INITIATED);
	assert_string_equal(g.smdp_address, "smdp.example.com");
	assert_memory_equal(g.server_challenge, s.server_challenge, 16);
	assert_memory_equal(g.euicc_challenge, s.euicc_challenge, 16);
	assert_int_equal(g.ci_ski_len, 20);
	assert_int_equal(g.expires_at, now + 300);
	dp_db_session_deinit(&g);
	static const uint8_t other[4] = {9, 9, 9, 9};
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, other, 4, &g), DP_ERR_NOT_FOUND);

	/* authenticateClient: bound to EID1, attempt counted */
	assert_int_equal(authenticate(f, &s, oid, EID1), 0);
	assert_int_equal(s.profile_id, pid);
	char eid[33];
	assert_int_equal(state_of(f, a, eid), DP_PROFILE_RELEASED);
	assert_string_equal(eid, EID1);
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find(f->db, "LIFE", &o), 0);
	assert_int_equal(o.attempts, 1);
	assert_string_equal(o.profile_eid, EID1);
	assert_int_equal(dp_db_session_get(f->db, s.tid, s.tid_len, &g), 0);
	assert_int_equal(g.stage, DP_DB_STAGE_AUTHENTICATED);
	assert_string_equal(g.eid, EID1);
	assert_int_equal(g.order_id, oid);
	assert_int_equal(g.profile_id, pid);
	assert_int_equal(g.euicc_cert.len, 5);
	assert_int_equal(g.smdp_signed2.len, 4);
	assert_int_equal(g.smdp_signature2[66], 0x37);
	dp_db_session_deinit(&g);
	/* a second authenticateClient in the same session is refused */
	assert_int_equal(authenticate(f, &s, oid, EID1), DP_ERR_NOT_FOUND);

	/* getBoundProfilePackage */
	bind(f, &s);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_DOWNLOADED);
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, s.tid, s.tid_len, &g), 0);
	assert_int_equal(g.stage, DP_DB_STAGE_BOUND);
	assert_true(g.bound);
	assert_int_equal(g.bpp.len, 3);
	dp_db_session_deinit(&g);
	/* the same row without the BPP: everything else as read with it */
	struct dp_db_session full, bare;
	dp_db_session_init(&full);
	dp_db_session_init(&bare);
	assert_int_equal(dp_buf_append(&bare.bpp, "stale", 5), 0);
	assert_int_equal(dp_db_session_get(f->db, s.tid, s.tid_len, &full), 0);
	assert_int_equal(dp_db_session_get_without_bpp(f->db, s.tid, s.tid_len, &bare), 0);
	assert_int_equal(bare.bpp.len, 0);
	assert_int_equal(bare.stage, full.stage);
	assert_true(bare.bound);
	assert_memory_equal(bare.otpk_euicc, full.otpk_euicc, sizeof(full.otpk_euicc));
	assert_int_equal(bare.profile_id, full.profile_id);
	assert_int_equal(bare.order_id, full.order_id);
	assert_string_equal(bare.eid, full.eid);
	assert_bytes_equal(bare.euicc_cert.data, bare.euicc_cert.len, full.euicc_cert.data,
			   full.euicc_cert.len);
	assert_bytes_equal(bare.smdp_signed2.data, bare.smdp_signed2.len, full.smdp_signed2.data,
			   full.smdp_signed2.len);
	dp_db_session_deinit(&full);
	dp_db_session_deinit(&bare);
	assert_int_equal(dp_db_session_get_without_bpp(f->db, (const uint8_t *)"none", 4, &g),
			 DP_ERR_NOT_FOUND);
	/* a re-binding in the same session (a new otPK) keeps the profile Downloaded */
	bind(f, &s);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_DOWNLOADED);

	/* the PIR: Installed, the order closed, the session finished */
	assert_int_equal(dp_db_session_install_result(f->db, s.tid, s.tid_len, true,
						      (const uint8_t *)"\xA0\x00", 2,
						      DP_PROFILE_EVENT_COUNT, "installed"),
			 0);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_INSTALLED);
	assert_int_equal(dp_db_order_find(f->db, "LIFE", &o), DP_ERR_NOT_FOUND);
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, s.tid, s.tid_len, &g), 0);
	assert_int_equal(g.stage, DP_DB_STAGE_FINISHED);
	assert_string_equal(g.end, "installed");
	dp_db_session_deinit(&g);
	/* a late second PIR, a finish of a finished session */
	assert_int_equal(dp_db_session_install_result(f->db, s.tid, s.tid_len, true, NULL, 0,
						      DP_PROFILE_EVENT_COUNT, "again"),
			 DP_ERR_NOT_FOUND);
	assert_int_equal(
	    dp_db_session_finish(f->db, s.tid, s.tid_len, DP_PROFILE_EVENT_COUNT, NO, "late"),
	    DP_ERR_NOT_FOUND);
	dp_db_session_deinit(&s);
}

static int count_sessions(void *ctx, const struct dp_db_session *s)
{
	(void)s;
	(*(int *)ctx)++;
	return 0;
}

static void session_finish_and_install_errors(void **state)
{
	struct fx *f = *state;
	char a[21], b[21], c[21];
	add_profile(f, "t", a);
	add_profile(f, "t", b);
	add_profile(f, "t", c);
	int64_t oa = order(f, "FIN-A", a, NULL, false, NULL, NULL);
	int64_t ob = order(f, "FIN-B", b, NULL, false, NULL, NULL);
	int64_t oc = order(f, "FIN-C", c, NULL, false, NULL, NULL);
	time_t later = time(NULL) + 300;
	struct dp_db_session s1, s2, s3, s4;

	/* cancelSession with a final reason: Error, the order closed */
	new_session(f, 1, later, &s1);
	assert_int_equal(authenticate(f, &s1, oa, EID1), 0);
	assert_int_equal(dp_db_session_finish(f->db, s1.tid, s1.tid_len, DP_EV_SESSION_CANCELLED,
					      NO, "endUserRejection"),
			 0);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_ERROR);
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find(f->db, "FIN-A", &o), DP_ERR_NOT_FOUND);

	/* postponed after the binding: back to Released, the order stays open */
	new_session(f, 2, later, &s2);
	assert_int_equal(authenticate(f, &s2, ob, EID1), 0);
	bind(f, &s2);
	int n = 0;
	assert_int_equal(dp_db_session_list(f->db, count_sessions, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(dp_db_session_finish(f->db, s2.tid, s2.tid_len, DP_EV_SESSION_POSTPONED,
					      NO, "postponed"),
			 0);
	assert_int_equal(state_of(f, b, NULL), DP_PROFILE_RELEASED);
	assert_int_equal(dp_db_order_find(f->db, "FIN-B", &o), 0);
	n = 0;
	assert_int_equal(dp_db_session_list(f->db, count_sessions, &n), 0);
	assert_int_equal(n, 0);

	/* an install error with retry allowed: Released, order open; a new session works
	 * without a new order */
	new_session(f, 3, later, &s3);
	assert_int_equal(authenticate(f, &s3, oc, EID2), 0);
	bind(f, &s3);
	assert_int_equal(dp_db_session_install_result(f->db, s3.tid, s3.tid_len, false, NULL, 0,
						      DP_EV_INSTALL_RETRY, "interrupted"),
			 0);
	assert_int_equal(state_of(f, c, NULL), DP_PROFILE_RELEASED);
	assert_int_equal(dp_db_order_find(f->db, "FIN-C", &o), 0);
	new_session(f, 4, later, &s4);
	assert_int_equal(authenticate(f, &s4, oc, EID2), 0);
	bind(f, &s4);
	/* a permanent install error: Error and the order closed */
	assert_int_equal(dp_db_session_install_result(f->db, s4.tid, s4.tid_len, false, NULL, 0,
						      DP_EV_INSTALL_FAILED, "bad"),
			 0);
	assert_int_equal(state_of(f, c, NULL), DP_PROFILE_ERROR);
	assert_int_equal(dp_db_order_find(f->db, "FIN-C", &o), DP_ERR_NOT_FOUND);
	/* the admin can reset it */
	assert_int_equal(dp_db_profile_event(f->db, c, DP_EV_ADMIN_RESET, NO, "test", "retry"), 0);
	char eid[33];
	assert_int_equal(state_of(f, c, eid), DP_PROFILE_AVAILABLE);
	assert_string_equal(eid, "");
	dp_db_session_deinit(&s1);
	dp_db_session_deinit(&s2);
	dp_db_session_deinit(&s3);
	dp_db_session_deinit(&s4);
}

static void attempts_and_expiry_of_session(void **state)
{
	struct fx *f = *state;
	char a[21];
	add_profile(f, "t", a);
	struct dp_db_order_new on = {
	    .matching_id = "TRY", .iccid = a, .max_attempts = 2, .cc_max_attempts = 1};
	int64_t oid;
	assert_int_equal(dp_db_order_add(f->db, &on, "test", &oid, NULL), 0);
	time_t later = time(NULL) + 300;
	struct dp_db_session s[3], old;
	for (int i = 0; i < 2; i++) {
		new_session(f, (uint8_t)(10 + i), later, &s[i]);
		assert_int_equal(authenticate(f, &s[i], oid, EID1), 0);
	}
	new_session(f, 12, later, &s[2]);
	assert_int_equal(authenticate(f, &s[2], oid, EID1), DP_ERR_DB_STATE);
	assert_non_null(strstr(dp_err_detail(), "attempts"));
	/* an expired session cannot authenticate */
	new_session(f, 13, time(NULL) - 1, &old);
	assert_int_equal(authenticate(f, &old, oid, EID1), DP_ERR_NOT_FOUND);
	assert_non_null(strstr(dp_err_detail(), "expired"));
	/* the order's profile fails on exhaustion */
	assert_int_equal(dp_db_order_fail(f->db, oid, DP_EV_RETRIES_EXHAUSTED, "attempts"), 0);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_ERROR);
	for (int i = 0; i < 3; i++)
		dp_db_session_deinit(&s[i]);
	dp_db_session_deinit(&old);
}

static void cc_failures_until_exhausted(void **state)
{
	struct fx *f = *state;
	char a[21];
	add_profile(f, "t", a);
	static const uint8_t h[32] = {0xCC};
	struct dp_db_order_new on = {
	    .matching_id = "CC", .iccid = a, .max_attempts = 5, .cc_max_attempts = 3, .cc_hash = h};
	int64_t oid;
	assert_int_equal(dp_db_order_add(f->db, &on, "test", &oid, NULL), 0);
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find(f->db, "CC", &o), 0);
	assert_true(o.has_cc);
	assert_memory_equal(o.cc_hash, h, 32);
	struct dp_db_session s;
	new_session(f, 1, time(NULL) + 300, &s);
	s.cc_required = true;
	assert_int_equal(authenticate(f, &s, oid, EID1), 0);
	bool exhausted = true;
	for (int i = 1; i <= 2; i++) {
		assert_int_equal(dp_db_session_cc_failure(f->db, &s, &exhausted), 0);
		assert_false(exhausted);
		assert_int_equal(dp_db_order_find(f->db, "CC", &o), 0);
		assert_int_equal(o.cc_failures, (unsigned)i);
		assert_int_equal(state_of(f, a, NULL), DP_PROFILE_RELEASED);
	}
	assert_int_equal(dp_db_session_cc_failure(f->db, &s, &exhausted), 0);
	assert_true(exhausted);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_ERROR);
	assert_int_equal(dp_db_order_find(f->db, "CC", &o), DP_ERR_NOT_FOUND);
	struct dp_db_session g;
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, s.tid, s.tid_len, &g), 0);
	assert_int_equal(g.stage, DP_DB_STAGE_FINISHED);
	assert_true(g.cc_required);
	dp_db_session_deinit(&g);
	dp_db_session_deinit(&s);
}

/* ---- pools and bindings ---- */

static void pool_claims_until_exhausted(void **state)
{
	struct fx *f = *state;
	char p[3][21];
	for (int i = 0; i < 3; i++)
		add_profile(f, "pool", p[i]);
	int64_t oid = order(f, "POOL", NULL, "pool", true, NULL, NULL);
	static const char *const eids[] = {EID1, EID2, EID3};
	struct dp_db_session s[4];
	int64_t seen[3];
	for (int i = 0; i < 3; i++) {
		new_session(f, (uint8_t)(20 + i), time(NULL) + 300, &s[i]);
		assert_int_equal(authenticate(f, &s[i], oid, eids[i]), 0);
		seen[i] = s[i].profile_id;
		for (int j = 0; j < i; j++)
			assert_true(seen[j] != seen[i]);
		char eid[33];
		assert_int_equal(state_of(f, p[i], eid), DP_PROFILE_RELEASED);
		assert_string_equal(eid, eids[i]);
	}
	new_session(f, 23, time(NULL) + 300, &s[3]);
	assert_int_equal(authenticate(f, &s[3], oid, "89049032123451234512345678901238"),
			 DP_ERR_NOT_FOUND);
	/* the pool order stays open for the claims that are under way */
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find(f->db, "POOL", &o), 0);
	/* a postponed claim goes back to the pool, unbound, and can be claimed again */
	assert_int_equal(dp_db_session_finish(f->db, s[1].tid, s[1].tid_len,
					      DP_EV_SESSION_POSTPONED, NO, "later"),
			 0);
	char eid[33];
	assert_int_equal(state_of(f, p[1], eid), DP_PROFILE_AVAILABLE);
	assert_string_equal(eid, "");
	dp_db_session_deinit(&s[3]);
	new_session(f, 24, time(NULL) + 300, &s[3]);
	assert_int_equal(authenticate(f, &s[3], oid, "89049032123451234512345678901238"), 0);
	assert_int_equal(s[3].profile_id, seen[1]);
	for (int i = 0; i < 4; i++)
		dp_db_session_deinit(&s[i]);
}

static void profile_never_bound_to_two_eids(void **state)
{
	struct fx *f = *state;
	char a[21], b[21];
	add_profile(f, "t", a);
	add_profile(f, "t", b);
	int64_t oa = order(f, "ANY", a, NULL, false, NULL, NULL);
	int64_t ob = order(f, "FOR-EID1", b, NULL, false, EID1, NULL);
	struct dp_db_session s1, s2, s3;
	new_session(f, 1, time(NULL) + 300, &s1);
	new_session(f, 2, time(NULL) + 300, &s2);
	new_session(f, 3, time(NULL) + 300, &s3);
	/* an order for any eUICC binds the first one that authenticates */
	assert_int_equal(authenticate(f, &s1, oa, EID1), 0);
	assert_int_equal(authenticate(f, &s2, oa, EID2), DP_ERR_DB_CONFLICT);
	char eid[33];
	assert_int_equal(state_of(f, a, eid), DP_PROFILE_RELEASED);
	assert_string_equal(eid, EID1);
	/* an order bound at creation refuses another EID */
	assert_int_equal(authenticate(f, &s3, ob, EID2), DP_ERR_DB_CONFLICT);
	assert_int_equal(state_of(f, b, eid), DP_PROFILE_RELEASED);
	assert_string_equal(eid, EID1);
	/* the refused sessions are still INITIATED (nothing was written) */
	struct dp_db_session g;
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, s2.tid, s2.tid_len, &g), 0);
	assert_int_equal(g.stage, DP_DB_STAGE_INITIATED);
	assert_string_equal(g.eid, "");
	dp_db_session_deinit(&g);
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find(f->db, "FOR-EID1", &o), 0);
	assert_int_equal(o.attempts, 0);
	dp_db_session_deinit(&s1);
	dp_db_session_deinit(&s2);
	dp_db_session_deinit(&s3);
}

static void session_expiry_returns_pool_claim(void **state)
{
	struct fx *f = *state;
	char p[2][21], a[21];
	add_profile(f, "pool", p[0]);
	add_profile(f, "pool", p[1]);
	add_profile(f, "t", a);
	int64_t op = order(f, "POOL-EXP", NULL, "pool", true, NULL, NULL);
	int64_t oa = order(f, "SINGLE-EXP", a, NULL, false, NULL, NULL);
	time_t now = time(NULL);
	struct dp_db_session s1, s2, s3;
	new_session(f, 1, now + 10, &s1);
	new_session(f, 2, now + 10, &s2);
	new_session(f, 3, now + 10, &s3);
	assert_int_equal(authenticate(f, &s1, op, EID1), 0);
	assert_int_equal(authenticate(f, &s2, oa, EID2), 0);
	size_t n = 99;
	assert_int_equal(dp_db_session_expire(f->db, now, 3600, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(dp_db_session_expire(f->db, now + 20, 3600, &n), 0);
	assert_int_equal(n, 3);
	/* the pool claim is back, unbound; the single order keeps its profile and binding */
	char eid[33];
	assert_int_equal(state_of(f, p[0], eid), DP_PROFILE_AVAILABLE);
	assert_string_equal(eid, "");
	assert_int_equal(state_of(f, a, eid), DP_PROFILE_RELEASED);
	assert_string_equal(eid, EID2);
	struct dp_db_session g;
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, s1.tid, s1.tid_len, &g), 0);
	assert_int_equal(g.stage, DP_DB_STAGE_FINISHED);
	assert_string_equal(g.end, "expired");
	/* ended sessions older than keep_s are deleted */
	assert_int_equal(dp_db_session_expire(f->db, now + 20 + 3600, 3600, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(dp_db_session_get(f->db, s1.tid, s1.tid_len, &g), DP_ERR_NOT_FOUND);
	dp_db_session_deinit(&g);
	dp_db_session_deinit(&s1);
	dp_db_session_deinit(&s2);
	dp_db_session_deinit(&s3);
}

/* ---- notifications ---- */

/* Runs a whole download of the profile of order oid for eid. */
static void install(struct fx *f, uint8_t tid, int64_t oid, const char *eid)
{
	struct dp_db_session s;
	new_session(f, tid, time(NULL) + 300, &s);
	assert_int_equal(authenticate(f, &s, oid, eid), 0);
	bind(f, &s);
	static const uint8_t aid[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0x01, 0x11};
	assert_int_equal(dp_db_session_install_result(f->db, s.tid, s.tid_len, true, aid,
						      sizeof(aid), DP_PROFILE_EVENT_COUNT, "ok"),
			 0);
	dp_db_session_deinit(&s);
}

static size_t aid_len_of(struct fx *f, const char *iccid)
{
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(f->db, iccid, false, &p), 0);
	size_t n = p.isdp_aid_len;
	dp_db_profile_deinit(&p);
	return n;
}

static void delete_notification_per_order(void **state)
{
	struct fx *f = *state;
	char a[21], b[21];
	add_profile(f, "t", a);
	add_profile(f, "t", b);
	struct dp_db_order_new reuse = {.matching_id = "REUSE",
					.iccid = a,
					.max_attempts = 2,
					.cc_max_attempts = 1,
					.reuse_on_delete = true};
	struct dp_db_order_new once = {.matching_id = "ONCE",
				       .iccid = b,
				       .max_attempts = 2,
				       .cc_max_attempts = 1,
				       .reuse_on_delete = false};
	int64_t oa, ob;
	assert_int_equal(dp_db_order_add(f->db, &reuse, "test", &oa, NULL), 0);
	assert_int_equal(dp_db_order_add(f->db, &once, "test", &ob, NULL), 0);
	install(f, 1, oa, EID1);
	install(f, 2, ob, EID1);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_INSTALLED);
	/* not bound to that eUICC / not ours */
	assert_int_equal(dp_db_profile_deleted(f->db, a, EID2), DP_ERR_NOT_FOUND);
	assert_int_equal(dp_db_profile_deleted(f->db, "89000000000000000999", EID1),
			 DP_ERR_NOT_FOUND);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_INSTALLED);
	char eid[33];
	assert_int_equal(aid_len_of(f, a), 16);
	assert_int_equal(dp_db_profile_deleted(f->db, a, EID1), 0);
	assert_int_equal(state_of(f, a, eid), DP_PROFILE_AVAILABLE);
	assert_string_equal(eid, "");
	assert_int_equal(aid_len_of(f, a), 0); /* no ISD-P once deleted */
	assert_int_equal(dp_db_profile_deleted(f->db, b, EID1), 0);
	assert_int_equal(state_of(f, b, eid), DP_PROFILE_UNAVAILABLE);
	assert_string_equal(eid, "");
	/* a second delete of the same profile: no longer bound */
	assert_int_equal(dp_db_profile_deleted(f->db, a, EID1), DP_ERR_NOT_FOUND);
}

static void notification_dedup(void **state)
{
	struct fx *f = *state;
	assert_int_equal(dp_db_notification_add(f->db, EID1, 7, "install", "8900", "ok"), 0);
	assert_int_equal(dp_db_notification_add(f->db, EID1, 7, "install", "8900", "ok"),
			 DP_ERR_DB_EXISTS);
	assert_non_null(strstr(dp_err_detail(), EID1));
	/* the key is (eid, seq, kind, iccid): another kind or profile under one sequence
	 * number is another notification (db.h); NULL and "" ICCIDs are the same */
	assert_int_equal(dp_db_notification_add(f->db, EID1, 7, "delete", "8900", "ok"), 0);
	assert_int_equal(dp_db_notification_add(f->db, EID1, 7, "install", "8901", "ok"), 0);
	assert_int_equal(dp_db_notification_add(f->db, EID1, 9, "enable", NULL, "ok"), 0);
	assert_int_equal(dp_db_notification_add(f->db, EID1, 9, "enable", "", "ok"),
			 DP_ERR_DB_EXISTS);
	/* the sequence number is per eUICC */
	assert_int_equal(dp_db_notification_add(f->db, EID2, 7, "install", NULL, "ok"), 0);
	assert_int_equal(dp_db_notification_add(f->db, EID1, 8, "enable", NULL, "ok"), 0);
}

/* The install result and its notification's record commit together; a note seen before
 * does not fail the result, and a refused result records no note. */
static void install_result_with_note(void **state)
{
	struct fx *f = *state;
	char a[21], b[21];
	add_profile(f, "t", a);
	add_profile(f, "t", b);
	int64_t oa = order(f, "NOTE-A", a, NULL, false, NULL, NULL);
	int64_t ob = order(f, "NOTE-B", b, NULL, false, NULL, NULL);
	struct dp_db_session s1, s2;
	new_session(f, 0x31, time(NULL) + 300, &s1);
	new_session(f, 0x32, time(NULL) + 300, &s2);
	assert_int_equal(authenticate(f, &s1, oa, EID1), 0);
	assert_int_equal(authenticate(f, &s2, ob, EID1), 0);
	bind(f, &s1);
	bind(f, &s2);
	struct dp_db_note n1 = {.eid = EID1, .seq = 7, .kind = "install", .iccid = a};
	assert_int_equal(dp_db_session_install_result_noted(f->db, s1.tid, s1.tid_len, true, NULL,
							    0, DP_PROFILE_EVENT_COUNT, "installed",
							    &n1),
			 0);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_INSTALLED);
	assert_int_equal(dp_db_notification_add(f->db, EID1, 7, "install", a, "x"),
			 DP_ERR_DB_EXISTS);
	/* the session has ended: refused, and its note is not recorded */
	struct dp_db_note n11 = {.eid = EID1, .seq = 11, .kind = "install", .iccid = a};
	assert_int_equal(dp_db_session_install_result_noted(f->db, s1.tid, s1.tid_len, true, NULL,
							    0, DP_PROFILE_EVENT_COUNT, "installed",
							    &n11),
			 DP_ERR_NOT_FOUND);
	assert_int_equal(dp_db_notification_add(f->db, EID1, 11, "install", a, "x"), 0);
	/* a note recorded before does not undo the result */
	assert_int_equal(dp_db_notification_add(f->db, EID1, 9, "install", b, "x"), 0);
	struct dp_db_note n9 = {.eid = EID1, .seq = 9, .kind = "install", .iccid = b};
	assert_int_equal(dp_db_session_install_result_noted(f->db, s2.tid, s2.tid_len, true, NULL,
							    0, DP_PROFILE_EVENT_COUNT, "installed",
							    &n9),
			 0);
	assert_int_equal(state_of(f, b, NULL), DP_PROFILE_INSTALLED);
	/* an ended session keeps no BPP */
	struct dp_db_session g;
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, s2.tid, s2.tid_len, &g), 0);
	assert_int_equal(g.stage, DP_DB_STAGE_FINISHED);
	assert_int_equal(g.bpp.len, 0);
	dp_db_session_deinit(&g);
	dp_db_session_deinit(&s1);
	dp_db_session_deinit(&s2);
}

/* ---- history ---- */

struct hist {
	int n;
	char events[8][64];
	enum dp_profile_state to[8];
};

static int hist_cb(void *ctx, const struct dp_db_history *h)
{
	struct hist *x = ctx;
	if (x->n < 8) {
		snprintf(x->events[x->n], sizeof(x->events[0]), "%s", h->event);
		x->to[x->n] = h->to;
	}
	x->n++;
	return 0;
}

static void history_rows(void **state)
{
	struct fx *f = *state;
	char a[21];
	add_profile(f, "t", a);
	int64_t oid = order(f, "HIST", a, NULL, false, NULL, NULL);
	install(f, 1, oid, EID1);
	struct hist x = {0};
	assert_int_equal(dp_db_profile_history(f->db, a, hist_cb, &x), 0);
	assert_int_equal(x.n, 4);
	assert_string_equal(x.events[0], "import");
	assert_int_equal(x.to[0], DP_PROFILE_AVAILABLE);
	assert_string_equal(x.events[1], "admin order");
	assert_int_equal(x.to[1], DP_PROFILE_RELEASED);
	assert_string_equal(x.events[2], "getBoundProfilePackage");
	assert_int_equal(x.to[2], DP_PROFILE_DOWNLOADED);
	assert_string_equal(x.events[3], "install success");
	assert_int_equal(x.to[3], DP_PROFILE_INSTALLED);
	assert_int_equal(dp_db_profile_history(f->db, "89000000000000000999", hist_cb, &x),
			 DP_ERR_NOT_FOUND);
}

/* ---- persistence ---- */

static void survives_close_reopen(void **state)
{
	struct fx *f = *state;
	char a[21];
	add_profile(f, "t", a);
	int64_t oid = order(f, "KEEP", a, NULL, false, NULL, NULL);
	struct dp_db_session s, g;
	new_session(f, 7, time(NULL) + 300, &s);
	assert_int_equal(authenticate(f, &s, oid, EID1), 0);
	bind(f, &s);
	dp_db_close(f->db);
	f->db = NULL;
	assert_int_equal(dp_db_open(f->path, &f->db), 0);
	int v = 0;
	assert_int_equal(dp_db_schema_version(f->db, &v), 0);
	assert_int_equal(v, 7); /* 3: callback queue; 4: kept binding; 5: blobs apart; 6: pages;
				   * 7: the session index keyed by ended */
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, s.tid, s.tid_len, &g), 0);
	assert_int_equal(g.stage, DP_DB_STAGE_BOUND);
	assert_memory_equal(g.tid, s.tid, 4);
	assert_int_equal(g.created_at, s.created_at);
	assert_int_equal(g.expires_at, s.expires_at);
	assert_string_equal(g.smdp_address, s.smdp_address);
	assert_memory_equal(g.server_challenge, s.server_challenge, 16);
	assert_memory_equal(g.euicc_challenge, s.euicc_challenge, 16);
	assert_memory_equal(g.ci_ski, s.ci_ski, 20);
	assert_string_equal(g.eid, EID1);
	assert_bytes_equal(g.euicc_cert.data, g.euicc_cert.len, s.euicc_cert.data,
			   s.euicc_cert.len);
	assert_bytes_equal(g.eum_cert.data, g.eum_cert.len, s.eum_cert.data, s.eum_cert.len);
	assert_bytes_equal(g.smdp_signed2.data, g.smdp_signed2.len, s.smdp_signed2.data,
			   s.smdp_signed2.len);
	assert_memory_equal(g.smdp_signature2, s.smdp_signature2, sizeof(s.smdp_signature2));
	assert_int_equal(g.order_id, oid);
	assert_int_equal(g.profile_id, s.profile_id);
	assert_memory_equal(g.otpk_euicc, s.otpk_euicc, 65);
	assert_bytes_equal(g.bpp.data, g.bpp.len, s.bpp.data, s.bpp.len);
	dp_db_session_deinit(&g);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_DOWNLOADED);
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find(f->db, "KEEP", &o), 0);
	assert_int_equal(o.attempts, 1);
	/* the download goes on after the restart */
	assert_int_equal(dp_db_session_install_result(f->db, s.tid, s.tid_len, true, NULL, 0,
						      DP_PROFILE_EVENT_COUNT, "ok"),
			 0);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_INSTALLED);
	dp_db_session_deinit(&s);
	/* a file that is not a database */
	char bad[128];
	snprintf(bad, sizeof(bad), "%s/not-a-db", f->dir);
	FILE *fp = fopen(bad, "w");
	assert_non_null(fp);
	fputs("this is not SQLite, but long enough to look like a header........\n", fp);
	fclose(fp);
	struct dp_db *x = NULL;
	assert_int_not_equal(dp_db_open(bad, &x), 0);
	assert_null(x);
	unlink(bad);
}

struct hist_log {
	int n;
	char why[4][256];
};

static int hist_collect(void *ctx, const struct dp_db_history *h)
{
	struct hist_log *l = ctx;
	if (l->n < 4)
		snprintf(l->why[l->n], sizeof(l->why[0]), "%s", h->why);
	l->n++;
	return 0;
}

/* A schema 4 file (package in the profile row, BPP in the session row) opens as the current
 * schema with its package and its open session's BPP where schema 5 keeps them, and its
 * history and notifications carried through schema 6. The rows
 * are written with SQLite directly: the schema 4 code is gone. */
static void migrates_schema_4(void **state)
{
	struct fx *f = *state;
	dp_db_close(f->db);
	f->db = NULL;
	unlink(f->path);
	struct dp_db *old = NULL;
	assert_int_equal(dp_db_open_schema(f->path, 4, &old), 0);
	int v = 0;
	assert_int_equal(dp_db_schema_version(old, &v), 0);
	assert_int_equal(v, 4);
	dp_db_close(old);
	assert_int_not_equal(dp_db_open_schema(f->path, 3, &old), 0);
	sqlite3 *c = NULL;
	assert_int_equal(sqlite3_open(f->path, &c), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(
	    c,
	    "INSERT INTO profiles(id, iccid, state, metadata, package, updated_at)"
	    " VALUES (1, '89000000000000000042', 5, x'BF2500', x'A003800102', 1);"
	    "INSERT INTO profiles(id, iccid, state, metadata, package, updated_at)"
	    " VALUES (2, '89000000000000000043', 0, x'BF2500', zeroblob(70000), 1);"
	    "INSERT INTO sessions(tid, stage, created_at, expires_at, smdp_address,"
	    " server_challenge, euicc_challenge, ci_ski, eid, profile_id, otpk_euicc, bpp)"
	    " VALUES (x'01020304', 3, 1, 4102444800, 'a', zeroblob(16), zeroblob(16),"
	    " zeroblob(20), '" EID1 "', 1, zeroblob(65), x'BF3603800101');"
	    "INSERT INTO sessions(tid, stage, created_at, expires_at, smdp_address,"
	    " server_challenge, euicc_challenge, ci_ski, bpp)"
	    " VALUES (x'05060708', 4, 1, 1, 'a', zeroblob(16), zeroblob(16), zeroblob(20),"
	    " x'BF3600');"
	    /* history rows out of insertion order: read back in id order after the migration */
	    "INSERT INTO history(id, profile_id, at, actor, from_state, to_state, event, why)"
	    " VALUES (9, 1, 2, 'es2', 0, 2, 'confirmed', 'second'),"
	    " (4, 1, 1, 'cli', 0, 0, 'import', 'first'), (5, 2, 1, 'cli', 0, 0, 'import', '');"
	    "INSERT INTO notifications(eid, seq, kind, iccid, result, at)"
	    " VALUES ('" EID1 "', 7, 'install', '89000000000000000042', 'ok', 1);",
	    NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("schema 4 rows: %s", msg);
	sqlite3_close(c);

	assert_int_equal(dp_db_open(f->path, &f->db), 0);
	assert_int_equal(dp_db_schema_version(f->db, &v), 0);
	assert_int_equal(v, 7);
	struct hist_log hl = { 0 };
	assert_int_equal(dp_db_profile_history(f->db, "89000000000000000042", hist_collect, &hl),
			 0);
	assert_int_equal(hl.n, 2);
	assert_string_equal(hl.why[0], "first");
	assert_string_equal(hl.why[1], "second");
	/* the carried-over notification still dedupes */
	assert_int_equal(dp_db_notification_add(f->db, EID1, 7, "install", "89000000000000000042",
						"ok"),
			 DP_ERR_DB_EXISTS);
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(f->db, "89000000000000000042", true, &p), 0);
	assert_int_equal(p.package_len, 5);
	assert_bytes_equal(p.package.data, p.package.len, (const uint8_t *)"\xA0\x03\x80\x01\x02",
			   5);
	dp_db_profile_deinit(&p);
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(f->db, "89000000000000000043", false, &p), 0);
	assert_int_equal(p.package_len, 70000);
	assert_int_equal(p.package.len, 0); /* not read without with_package */
	dp_db_profile_deinit(&p);
	struct dp_db_session g;
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, (const uint8_t *)"\x01\x02\x03\x04", 4, &g), 0);
	assert_int_equal(g.stage, DP_DB_STAGE_BOUND);
	assert_bytes_equal(g.bpp.data, g.bpp.len, (const uint8_t *)"\xBF\x36\x03\x80\x01\x01", 6);
	dp_db_session_deinit(&g);
	/* a finished session's BPP is not carried over */
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, (const uint8_t *)"\x05\x06\x07\x08", 4, &g), 0);
	assert_int_equal(g.bpp.len, 0);
	dp_db_session_deinit(&g);
	/* and the migrated book works on: the bound profile installs */
	assert_int_equal(dp_db_session_install_result(f->db, (const uint8_t *)"\x01\x02\x03\x04", 4,
						      true, NULL, 0, DP_PROFILE_EVENT_COUNT, "ok"),
			 0);
	assert_int_equal(state_of(f, "89000000000000000042", NULL), DP_PROFILE_INSTALLED);
	/* schema 7 marked the finished session ended: its expiry (1) is long past, so the
	 * clean-up deletes it, and the session the PIR just ended is kept until its own */
	size_t n = 99;
	assert_int_equal(dp_db_session_expire(f->db, time(NULL), 3600, &n), 0);
	assert_int_equal(n, 0);
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, (const uint8_t *)"\x05\x06\x07\x08", 4, &g),
			 DP_ERR_NOT_FOUND);
	assert_int_equal(dp_db_session_get(f->db, (const uint8_t *)"\x01\x02\x03\x04", 4, &g), 0);
	assert_int_equal(g.stage, DP_DB_STAGE_FINISHED);
	dp_db_session_deinit(&g);
}

/* Schema 7's triggers: sessions.ended says whether stage is FINISHED, and no statement can
 * make them disagree (written with SQLite directly: the storage module never tries). */
static void session_ended_guarded(void **state)
{
	struct fx *f = *state;
	struct dp_db_session s;
	new_session(f, 7, time(NULL) + 300, &s);
	assert_string_equal(s.profile_iccid, ""); /* no profile yet */
	sqlite3 *c = NULL;
	assert_int_equal(sqlite3_open(f->path, &c), SQLITE_OK);
	sqlite3_busy_timeout(c, 5000);
	static const char *const refused[] = {
		"UPDATE sessions SET stage = 4",
		"UPDATE sessions SET ended = 1",
		"UPDATE sessions SET stage = 2, ended = 1",
		"INSERT INTO sessions(tid, stage, created_at, expires_at, smdp_address,"
		" server_challenge, euicc_challenge, ci_ski, ended)"
		" VALUES (x'0A', 1, 1, 1, 'a', zeroblob(16), zeroblob(16), zeroblob(20), 1)",
		"INSERT INTO sessions(tid, stage, created_at, expires_at, smdp_address,"
		" server_challenge, euicc_challenge, ci_ski)"
		" VALUES (x'0B', 4, 1, 1, 'a', zeroblob(16), zeroblob(16), zeroblob(20))",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char *msg = NULL;
		assert_int_equal(sqlite3_exec(c, refused[i], NULL, NULL, &msg), SQLITE_CONSTRAINT);
		assert_non_null(strstr(msg, "ended must be 1 exactly when stage is 4"));
		sqlite3_free(msg);
	}
	assert_int_equal(sqlite3_exec(c, "UPDATE sessions SET stage = 4, ended = 1", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	sqlite3_close(c);
	/* the session the statement ended is ended for the storage module too */
	struct dp_db_session g;
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, s.tid, s.tid_len, &g), 0);
	assert_int_equal(g.stage, DP_DB_STAGE_FINISHED);
	dp_db_session_deinit(&g);
	dp_db_session_deinit(&s);
}

/* ---- concurrency ---- */

#define POOL_N	24
#define THREADS 6

struct claimer {
	struct fx *f;
	struct dp_db *db; /* shared handle, or this thread's own connection */
	bool own;
	int64_t order_id;
	int index;
	int64_t got[POOL_N];
	int n_got;
	int errors;
};

static void *claim_thread(void *arg)
{
	struct claimer *c = arg;
	struct dp_db *db = c->db;
	if (c->own && dp_db_open(c->f->path, &db) != DP_OK) {
		c->errors++;
		return NULL;
	}
	for (int k = 0; k < POOL_N; k++) {
		struct dp_db_session s;
		dp_db_session_init(&s);
		s.tid[0] = (uint8_t)c->index;
		s.tid[1] = (uint8_t)k;
		s.tid[2] = c->own ? 1 : 0;
		s.tid_len = 3;
		s.created_at = time(NULL);
		s.expires_at = s.created_at + 300;
		memset(s.ci_ski, 1, 20);
		s.ci_ski_len = 20;
		snprintf(s.smdp_address, sizeof(s.smdp_address), "x");
		/* each attempt is another eUICC */
		snprintf(s.eid, sizeof(s.eid), "890490321234512345123456%02d%06d", c->index, k);
		s.order_id = c->order_id;
		int r = dp_db_session_add(db, &s);
		if (r == DP_OK)
			r = dp_db_session_authenticate(db, &s, time(NULL), NULL);
		if (r == DP_OK)
			c->got[c->n_got++] = s.profile_id;
		else if (r != DP_ERR_NOT_FOUND)
			c->errors++;
		dp_db_session_deinit(&s);
		if (r == DP_ERR_NOT_FOUND)
			break;
	}
	if (c->own)
		dp_db_close(db);
	return NULL;
}

struct bound_check {
	int released;
	char eids[POOL_N][DP_DB_EID_LEN + 1];
};

static int bound_cb(void *ctx, const struct dp_db_profile *p)
{
	struct bound_check *b = ctx;
	if (p->state == DP_PROFILE_RELEASED && b->released < POOL_N)
		snprintf(b->eids[b->released++], DP_DB_EID_LEN + 1, "%s", p->eid);
	return 0;
}

static void concurrent_pool_claims(struct fx *f, bool own)
{
	char iccid[21];
	for (int i = 0; i < POOL_N; i++)
		add_profile(f, "crowd", iccid);
	int64_t oid = order(f, "CROWD", NULL, "crowd", true, NULL, NULL);
	struct claimer c[THREADS];
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		c[i] = (struct claimer){
		    .f = f, .db = f->db, .own = own && i % 2 == 1, .order_id = oid, .index = i};
		assert_int_equal(pthread_create(&th[i], NULL, claim_thread, &c[i]), 0);
	}
	int total = 0;
	int64_t all[POOL_N * THREADS];
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(c[i].errors, 0);
		for (int k = 0; k < c[i].n_got; k++)
			all[total++] = c[i].got[k];
	}
	/* every profile handed out exactly once */
	assert_int_equal(total, POOL_N);
	for (int i = 0; i < total; i++)
		for (int j = i + 1; j < total; j++)
			assert_true(all[i] != all[j]);
	struct bound_check b = {0};
	struct dp_db_profile_filter fl = {.state = DP_PROFILE_STATE_COUNT, .profile_type = "crowd"};
	assert_int_equal(dp_db_profile_list(f->db, &fl, bound_cb, &b), 0);
	assert_int_equal(b.released, POOL_N);
	for (int i = 0; i < POOL_N; i++)
		for (int j = i + 1; j < POOL_N; j++)
			assert_string_not_equal(b.eids[i], b.eids[j]);
	size_t counts[DP_PROFILE_STATE_COUNT];
	assert_int_equal(dp_db_profile_count(f->db, "crowd", counts), 0);
	assert_int_equal(counts[DP_PROFILE_AVAILABLE], 0);
}

static void concurrent_claims_one_handle(void **state)
{
	concurrent_pool_claims(*state, false);
}

/* half the threads on their own connection: what several smdp nodes sharing the file do */
static void concurrent_claims_several_connections(void **state)
{
	concurrent_pool_claims(*state, true);
}

/* ---- durability: group commit ---- */

static void sync_stats_delta(struct fx *f, uint64_t *durable, uint64_t *syncs)
{
	static uint64_t last_d, last_s;
	uint64_t d, s;
	dp_db_sync_stats(f->db, &d, &s);
	if (durable != NULL) {
		*durable = d - last_d;
		*syncs = s - last_s;
	}
	last_d = d;
	last_s = s;
}

/* A durable commit returns after a sync of the log; reads, refusals and unsynced commits
 * (a new session) issue none; the next durable commit's sync covers an unsynced one; with
 * synchronous off nothing waits. */
static void group_commit_counts(void **state)
{
	struct fx *f = *state;
	uint64_t d, s;
	char iccid[21], again[21];
	sync_stats_delta(f, NULL, NULL);
	add_profile(f, "t", iccid);
	sync_stats_delta(f, &d, &s);
	assert_int_equal(d, 1);
	assert_int_equal(s, 1);
	assert_int_equal(state_of(f, iccid, NULL), DP_PROFILE_AVAILABLE);
	sync_stats_delta(f, &d, &s);
	assert_int_equal(d, 0);
	assert_int_equal(s, 0);
	struct dp_db_session ses;
	new_session(f, 7, time(NULL) + 60, &ses);
	dp_db_session_deinit(&ses);
	assert_int_equal(state_of(f, iccid, NULL), DP_PROFILE_AVAILABLE);
	sync_stats_delta(f, &d, &s);
	assert_int_equal(d, 0);
	assert_int_equal(s, 0);
	/* a refused write (the same ICCID again) commits nothing */
	struct dp_db_profile_new dup = fake_profile(iccid, "t");
	int64_t id;
	assert_int_not_equal(dp_db_profile_add(f->db, &dup, "test", &id), 0);
	sync_stats_delta(f, &d, &s);
	assert_int_equal(d, 0);
	assert_int_equal(s, 0);
	order(f, "SYNC1", iccid, NULL, false, NULL, NULL);
	sync_stats_delta(f, &d, &s);
	assert_int_equal(d, 1);
	assert_int_equal(s, 1);
	assert_int_equal(dp_db_set_synchronous(f->db, false), 0);
	add_profile(f, "t", again);
	sync_stats_delta(f, &d, &s);
	assert_int_equal(d, 0);
	assert_int_equal(s, 0);
	assert_int_equal(dp_db_set_synchronous(f->db, true), 0);
	add_profile(f, "t", again);
	sync_stats_delta(f, &d, &s);
	assert_int_equal(d, 1);
	assert_int_equal(s, 1);
	/* the session and the profiles are there after a reopen */
	dp_db_close(f->db);
	assert_int_equal(dp_db_open(f->path, &f->db), 0);
	struct dp_db_session g;
	dp_db_session_init(&g);
	assert_int_equal(dp_db_session_get(f->db, ses.tid, ses.tid_len, &g), 0);
	dp_db_session_deinit(&g);
	assert_int_equal(state_of(f, again, NULL), DP_PROFILE_AVAILABLE);
}

#define SYNC_THREADS 8
#define SYNC_EACH 25

/* ---- durability: deferred (a server thread that must not wait for the disk) ---- */

struct settled {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int calls;
	int errors;
	bool other_thread; /* every call came from a thread other than the test's */
	pthread_t test_thread;
};

static void settled_init(struct settled *z)
{
	memset(z, 0, sizeof(*z));
	pthread_mutex_init(&z->lock, NULL);
	pthread_cond_init(&z->cond, NULL);
	z->other_thread = true;
	z->test_thread = pthread_self();
}

static void on_durable(void *arg, int r)
{
	struct settled *z = arg;
	pthread_mutex_lock(&z->lock);
	z->calls++;
	if (r != DP_OK)
		z->errors++;
	if (pthread_equal(pthread_self(), z->test_thread))
		z->other_thread = false;
	pthread_cond_broadcast(&z->cond);
	pthread_mutex_unlock(&z->lock);
}

static int settled_calls(struct settled *z, int at_least)
{
	pthread_mutex_lock(&z->lock);
	while (z->calls < at_least)
		pthread_cond_wait(&z->cond, &z->lock);
	int n = z->calls;
	pthread_mutex_unlock(&z->lock);
	return n;
}

/* A thread's share of the commits: waiting for each sync (z NULL), or deferring and
 * handing each ticket to dp_db_when_durable, settled into z. */
struct committer {
	struct dp_db *db;
	struct settled *z;
	int index;
	int errors;
	int waits; /* tickets handed to dp_db_when_durable that answered 0 */
};

static void *commit_thread(void *arg)
{
	struct committer *a = arg;
	for (int k = 0; k < SYNC_EACH; k++) {
		char iccid[21];
		snprintf(iccid, sizeof(iccid), "8900000000000%d%02d%04d", a->z ? 8 : 7, a->index,
			 k);
		struct dp_db_profile_new p = fake_profile(iccid, a->z ? "deferred" : "many");
		int64_t id;
		if (a->z != NULL)
			dp_db_defer_begin(a->db);
		if (dp_db_profile_add(a->db, &p, "test", &id) != DP_OK)
			a->errors++;
		if (a->z == NULL)
			continue;
		uint64_t t = dp_db_defer_end(a->db);
		if (t == 0)
			continue; /* already covered by a sync another ticket started */
		int w = dp_db_when_durable(a->db, t, on_durable, a->z);
		if (w == 0)
			a->waits++;
		else if (w != 1)
			a->errors++;
	}
	return NULL;
}

/* SYNC_THREADS committers at once (deferring into z unless NULL): none fails, every
 * commit counts as durable and is there, and no more syncs than commits. Returns the
 * tickets that waited; *syncs the syncs made. */
static int run_committers(struct fx *f, struct settled *z, uint64_t *syncs)
{
	uint64_t d;
	sync_stats_delta(f, NULL, NULL);
	pthread_t th[SYNC_THREADS];
	struct committer a[SYNC_THREADS];
	for (int i = 0; i < SYNC_THREADS; i++) {
		a[i] = (struct committer){.db = f->db, .z = z, .index = i};
		assert_int_equal(pthread_create(&th[i], NULL, commit_thread, &a[i]), 0);
	}
	int waits = 0;
	for (int i = 0; i < SYNC_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].errors, 0);
		waits += a[i].waits;
	}
	if (z != NULL) /* every ticket settled once */
		assert_int_equal(settled_calls(z, waits), waits);
	sync_stats_delta(f, &d, syncs);
	assert_int_equal(d, SYNC_THREADS * SYNC_EACH);
	assert_true(*syncs >= 1);
	assert_true(*syncs <= d);
	size_t counts[DP_PROFILE_STATE_COUNT];
	assert_int_equal(dp_db_profile_count(f->db, z ? "deferred" : "many", counts), 0);
	assert_int_equal(counts[DP_PROFILE_AVAILABLE], SYNC_THREADS * SYNC_EACH);
	return waits;
}

/* Threads committing at once: each commit waits for a sync, none is lost, and a sync may
 * cover several (never more syncs than commits). */
static void group_commit_threads(void **state)
{
	uint64_t s;
	run_committers(*state, NULL, &s);
	printf("# group commit: %d commits, %llu syncs\n", SYNC_THREADS * SYNC_EACH,
	       (unsigned long long)s);
}

/* Inside a deferral a durable commit returns before its sync and yields a ticket; reads of
 * it yield the same ticket until it is on disk; the sync thread settles it; a settled
 * ticket, an unsynced commit, synchronous off and no deferral yield nothing to wait for;
 * closing the handle settles what still waits. */
static void deferred_durability(void **state)
{
	struct fx *f = *state;
	uint64_t d, s;
	char iccid[21], other[21];
	struct settled z;
	settled_init(&z);
	sync_stats_delta(f, NULL, NULL);

	dp_db_defer_begin(f->db);
	add_profile(f, "t", iccid);
	uint64_t ticket = dp_db_defer_end(f->db);
	assert_true(ticket != 0);
	sync_stats_delta(f, &d, &s);
	assert_int_equal(d, 1);
	assert_int_equal(s, 0); /* not synced yet: the commit did not wait */
	dp_db_defer_begin(f->db);
	assert_int_equal(state_of(f, iccid, NULL), DP_PROFILE_AVAILABLE);
	assert_true(dp_db_defer_end(f->db) == ticket); /* a read of it waits for it too */

	assert_int_equal(dp_db_when_durable(f->db, ticket, on_durable, &z), 0);
	assert_int_equal(settled_calls(&z, 1), 1);
	assert_int_equal(z.errors, 0);
	assert_true(z.other_thread);
	sync_stats_delta(f, &d, &s);
	assert_int_equal(s, 1);
	assert_int_equal(dp_db_when_durable(f->db, ticket, on_durable, &z), 1);
	dp_db_defer_begin(f->db);
	assert_int_equal(state_of(f, iccid, NULL), DP_PROFILE_AVAILABLE);
	assert_true(dp_db_defer_end(f->db) == 0);

	/* a new session need not be durable; an end without a begin has nothing */
	struct dp_db_session ses;
	dp_db_defer_begin(f->db);
	new_session(f, 9, time(NULL) + 60, &ses);
	dp_db_session_deinit(&ses);
	assert_true(dp_db_defer_end(f->db) == 0);
	assert_true(dp_db_defer_end(f->db) == 0);
	assert_int_equal(dp_db_set_synchronous(f->db, false), 0);
	dp_db_defer_begin(f->db);
	add_profile(f, "t", other);
	assert_true(dp_db_defer_end(f->db) == 0);
	assert_int_equal(dp_db_set_synchronous(f->db, true), 0);

	/* a ticket still waiting when the handle closes is settled before close returns */
	dp_db_defer_begin(f->db);
	add_profile(f, "t", other);
	ticket = dp_db_defer_end(f->db);
	assert_true(ticket != 0);
	int w = dp_db_when_durable(f->db, ticket, on_durable, &z);
	assert_true(w == 0 || w == 1);
	dp_db_close(f->db);
	f->db = NULL;
	pthread_mutex_lock(&z.lock);
	assert_int_equal(z.calls, w == 0 ? 2 : 1);
	assert_int_equal(z.errors, 0);
	pthread_mutex_unlock(&z.lock);
	assert_int_equal(dp_db_open(f->path, &f->db), 0);
	assert_int_equal(state_of(f, other, NULL), DP_PROFILE_AVAILABLE);
}

/* Threads that never wait: every ticket is settled once, none with an error, nothing is
 * lost, and the sync thread covers several commits per sync when they come faster than
 * it syncs. */
static void deferred_durability_threads(void **state)
{
	uint64_t s;
	struct settled z;
	settled_init(&z);
	int waits = run_committers(*state, &z, &s);
	assert_int_equal(z.errors, 0);
	printf("# deferred: %d commits, %d waited, %llu syncs\n", SYNC_THREADS * SYNC_EACH, waits,
	       (unsigned long long)s);
}

/* getBoundProfilePackage's binding with the otSK.DP scalar kept on the profile. */
static void bind_keeping(struct fx *f, struct dp_db_session *s, uint8_t otpk, uint8_t sk)
{
	uint8_t scalar[DP_DB_OTSK_LEN];
	memset(scalar, sk, sizeof(scalar));
	memset(s->otpk_euicc, otpk, sizeof(s->otpk_euicc));
	dp_buf_reset(&s->bpp);
	assert_int_equal(dp_buf_append(&s->bpp, "\xBF\x36\x00", 3), 0);
	assert_int_equal(dp_db_session_bind_kept(f->db, s, scalar), 0);
}

static int64_t profile_id(struct fx *f, const char *iccid)
{
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(f->db, iccid, false, &p), 0);
	int64_t id = p.id;
	dp_db_profile_deinit(&p);
	return id;
}

/* The binding kept for a re-offer (bppEuiccOtpk): per EID, survives an install error with
 * retry, replaced by a new binding, forgotten on install, on Error and without a key. */
static void kept_binding_until_installed(void **state)
{
	struct fx *f = *state;
	char a[21], b[21];
	struct dp_db_session s1, s2, s3;
	struct dp_db_binding kb;
	uint8_t want[DP_DB_OTSK_LEN];
	add_profile(f, "t", a);
	int64_t pa = profile_id(f, a);
	int64_t oid = order(f, "KEPT", a, NULL, false, NULL, NULL);
	assert_int_equal(dp_db_profile_kept_binding(f->db, pa, EID1, &kb), DP_ERR_NOT_FOUND);
	new_session(f, 21, time(NULL) + 300, &s1);
	assert_int_equal(authenticate(f, &s1, oid, EID1), 0);
	bind_keeping(f, &s1, 0x41, 0x11);
	assert_int_equal(dp_db_profile_kept_binding(f->db, pa, EID1, &kb), 0);
	assert_memory_equal(kb.otpk_euicc, s1.otpk_euicc, 65);
	memset(want, 0x11, sizeof(want));
	assert_memory_equal(kb.otsk_dp, want, sizeof(want));
	assert_int_equal(dp_db_profile_kept_binding(f->db, pa, EID2, &kb), DP_ERR_NOT_FOUND);
	/* an install error with retry: Released, and forgotten (the eUICC dropped its
	 * one-time key with the PIR) */
	assert_int_equal(dp_db_session_install_result(f->db, s1.tid, s1.tid_len, false, NULL, 0,
						      DP_EV_INSTALL_RETRY, "reason 10"),
			 0);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_RELEASED);
	assert_int_equal(dp_db_profile_kept_binding(f->db, pa, EID1, &kb), DP_ERR_NOT_FOUND);
	/* a new session binds anew: replaced */
	new_session(f, 22, time(NULL) + 300, &s2);
	assert_int_equal(authenticate(f, &s2, oid, EID1), 0);
	bind_keeping(f, &s2, 0x42, 0x22);
	assert_int_equal(dp_db_profile_kept_binding(f->db, pa, EID1, &kb), 0);
	assert_memory_equal(kb.otpk_euicc, s2.otpk_euicc, 65);
	memset(want, 0x22, sizeof(want));
	assert_memory_equal(kb.otsk_dp, want, sizeof(want));
	/* installed: forgotten */
	assert_int_equal(dp_db_session_install_result(f->db, s2.tid, s2.tid_len, true,
						      (const uint8_t *)"\xA0\x00", 2,
						      DP_PROFILE_EVENT_COUNT, "installed"),
			 0);
	assert_int_equal(state_of(f, a, NULL), DP_PROFILE_INSTALLED);
	assert_int_equal(dp_db_profile_kept_binding(f->db, pa, EID1, &kb), DP_ERR_NOT_FOUND);
	for (size_t i = 0; i < sizeof(kb); i++)
		assert_int_equal(((const uint8_t *)&kb)[i], 0);

	/* an install error without retry (Error) forgets it too; so does a binding without
	 * a key */
	add_profile(f, "t", b);
	int64_t pb = profile_id(f, b);
	int64_t ob = order(f, "KEPT-2", b, NULL, false, NULL, NULL);
	new_session(f, 23, time(NULL) + 300, &s3);
	assert_int_equal(authenticate(f, &s3, ob, EID2), 0);
	bind_keeping(f, &s3, 0x43, 0x33);
	assert_int_equal(dp_db_profile_kept_binding(f->db, pb, EID2, &kb), 0);
	bind(f, &s3);
	assert_int_equal(dp_db_profile_kept_binding(f->db, pb, EID2, &kb), DP_ERR_NOT_FOUND);
	bind_keeping(f, &s3, 0x44, 0x44);
	assert_int_equal(dp_db_session_install_result(f->db, s3.tid, s3.tid_len, false, NULL, 0,
						      DP_EV_INSTALL_FAILED, "reason 1"),
			 0);
	assert_int_equal(state_of(f, b, NULL), DP_PROFILE_ERROR);
	assert_int_equal(dp_db_profile_kept_binding(f->db, pb, EID2, &kb), DP_ERR_NOT_FOUND);
	dp_db_session_deinit(&s1);
	dp_db_session_deinit(&s2);
	dp_db_session_deinit(&s3);
}

int main(void)
{
	/* the order book logs every state change at info */
	if (dp_log_configure("warn") != DP_OK)
		return 1;
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(import_and_duplicate),
	    T(batch_all_or_nothing),
	    T(list_and_count),
	    T(orders_by_iccid_type_pool_default),
	    T(matching_id_unique_among_open),
	    T(every_transition),
	    cmocka_unit_test(docs_match_state_table),
	    T(session_lifecycle),
	    T(session_finish_and_install_errors),
	    T(kept_binding_until_installed),
	    T(attempts_and_expiry_of_session),
	    T(cc_failures_until_exhausted),
	    T(pool_claims_until_exhausted),
	    T(profile_never_bound_to_two_eids),
	    T(session_expiry_returns_pool_claim),
	    T(delete_notification_per_order),
	    T(notification_dedup),
	    T(install_result_with_note),
	    T(history_rows),
	    T(survives_close_reopen),
	    T(migrates_schema_4),
	    T(session_ended_guarded),
	    T(concurrent_claims_one_handle),
	    T(concurrent_claims_several_connections),
	    T(group_commit_counts),
	    T(group_commit_threads),
	    T(deferred_durability),
	    T(deferred_durability_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
