/* ES2+.HandleDownloadProgressInfo callbacks (smdp/es2_callbacks.h, db.h "callbacks"): the
 * body's fields, the codes, the backoff, queueing in the state change's transaction, and
 * the sender against a test HTTPS receiver: order per profile, retries, the receiver down
 * then up, TLS verification, a reopened database, the sender thread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "pki/asn1/asn1.h"
#include "pki/base/codec.h"
#include "pki/crypto/testpki.h"
#include "smdp/db.h"
#include "smdp/es2_callbacks.h"
#include "test/integration/support/callback_receiver.h"
#include "test/support/support.h"

static struct {
	char dir[64];
	char db_path[128];
	char ca_a[256], ca_b[256]; /* two unrelated test CIs; the receiver's is a */
	struct dp_test_receiver *rx;
	char url[160];
	unsigned next_iccid;
} G;

static const struct dp_es2_callbacks_options base_opts = {
    .requester = "2.999.10",
    .timeout_s = 5,
    .retry_min_s = 1,
    .retry_max_s = 8,
    .keep_s = 3600,
};

/* ---- helpers ---- */

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (j == NULL)
		fail_msg("not JSON (%s): %s", e.text, text);
	return j;
}

static const char *str_at(json_t *j, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(j, a);
	if (b != NULL)
		v = json_object_get(v, b);
	if (c != NULL)
		v = json_object_get(v, c);
	return json_string_value(v);
}

static struct dp_db *open_db(void)
{
	struct dp_db *db = NULL;
	assert_int_equal(dp_db_open(G.db_path, &db), DP_OK);
	return db;
}

/* A Released profile of `owner` with an order; iccid receives its ICCID. Returns the
 * order's id. */
static int64_t released_profile(struct dp_db *db, const char *owner, char iccid[21])
{
	static const uint8_t blob[] = {0x30, 0x00};
	snprintf(iccid, 21, "89%017u", 100 + G.next_iccid++);
	struct dp_db_profile_new p = {
	    .iccid = iccid,
	    .profile_type = "P-TEST",
	    .owner = owner,
	    .package = blob,
	    .package_len = sizeof(blob),
	    .metadata = blob,
	    .metadata_len = sizeof(blob),
	    .profile_class = 2,
	};
	assert_int_equal(dp_db_profile_add(db, &p, "test", NULL), DP_OK);
	struct dp_db_order_new o = {
	    .iccid = iccid, .max_attempts = 3, .cc_max_attempts = 3, .owner = owner};
	int64_t id = 0;
	assert_int_equal(dp_db_order_add(db, &o, "test", &id, NULL), DP_OK);
	return id;
}

/* The undelivered (or all) callbacks, copied out. */
struct listing {
	size_t n;
	struct {
		int64_t id, profile_id;
		char url[DP_DB_URL_MAX + 1];
		char body[4096];
		unsigned attempts;
		time_t next_at, delivered_at;
		char last_error[256];
	} c[16];
};

static int collect(void *ctx, const struct dp_db_callback *c)
{
	struct listing *l = ctx;
	if (l->n == 16)
		return DP_OK;
	l->c[l->n].id = c->id;
	l->c[l->n].profile_id = c->profile_id;
	snprintf(l->c[l->n].url, sizeof(l->c[l->n].url), "%s", c->url);
	snprintf(l->c[l->n].body, sizeof(l->c[l->n].body), "%.*s", (int)c->body.len,
		 (const char *)c->body.data);
	l->c[l->n].attempts = c->attempts;
	l->c[l->n].next_at = c->next_at;
	l->c[l->n].delivered_at = c->delivered_at;
	snprintf(l->c[l->n].last_error, sizeof(l->c[l->n].last_error), "%s", c->last_error);
	l->n++;
	return DP_OK;
}

static void list(struct dp_db *db, bool all, struct listing *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(dp_db_callback_list(db, all, collect, l), DP_OK);
}

/* Forgets every queued callback (each test starts with an empty queue). */
static void drain(struct dp_db *db)
{
	struct listing l;
	list(db, false, &l);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(dp_db_callback_delivered(db, l.c[i].id, 1), DP_OK);
}

static const char *url_of(void *ctx, const char *owner)
{
	if (strcmp(owner, "op-a") == 0)
		return "https://op-a.example/cb";
	return NULL;
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	snprintf(G.dir, sizeof(G.dir), "/tmp/smdp-cb-XXXXXX");
	assert_non_null(mkdtemp(G.dir));
	snprintf(G.db_path, sizeof(G.db_path), "%s/smdp.db", G.dir);
	assert_int_equal(dp_asn1_init(), DP_OK);
	char a[128], b[128], eid[33];
	snprintf(a, sizeof(a), "%s/a", G.dir);
	snprintf(b, sizeof(b), "%s/b", G.dir);
	assert_int_equal(
	    dp_testpki_init(&(struct dp_testpki_set){.dir = a, .host = "localhost"}, eid), DP_OK);
	assert_int_equal(
	    dp_testpki_init(&(struct dp_testpki_set){.dir = b, .host = "localhost"}, eid), DP_OK);
	snprintf(G.ca_a, sizeof(G.ca_a), "%s/ci-cert.pem", a);
	snprintf(G.ca_b, sizeof(G.ca_b), "%s/ci-cert.pem", b);
	char cert[160], key[160];
	snprintf(cert, sizeof(cert), "%s/dptls-cert.pem", a);
	snprintf(key, sizeof(key), "%s/dptls-key.pem", a);
	assert_int_equal(dp_test_receiver_start(cert, key, 0, &G.rx), DP_OK);
	dp_test_receiver_url(G.rx, G.url, sizeof(G.url));
	return 0;
}

static int group_teardown(void **state)
{
	dp_test_receiver_free(G.rx);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", G.dir);
	return system(cmd) == 0 ? 0 : 1;
}

/* ---- the body and the codes ---- */

static void body_success(void **state)
{
	struct dp_es2_report rep = {.point = DP_ES2_POINT_BPP_DOWNLOAD};
	struct dp_es2_progress_info p = {
	    .requester = "2.999.10",
	    .call_id = "smdp-1",
	    .eid = "89049032123451234512345678901235",
	    .iccid = "8949449000000001000",
	    .profile_type = "P-TEST",
	    .at = 1700000000,
	    .report = &rep,
	};
	struct dp_buf out;
	dp_buf_init(&out, 8192);
	assert_int_equal(dp_es2_progress_body(&p, &out), DP_OK);
	const char *text;
	assert_int_equal(dp_buf_cstr(&out, &text), DP_OK);
	json_t *j = parse(text);
	assert_string_equal(str_at(j, "header", "functionRequesterIdentifier", NULL), "2.999.10");
	assert_string_equal(str_at(j, "header", "functionCallIdentifier", NULL), "smdp-1");
	assert_string_equal(str_at(j, "eid", NULL, NULL), "89049032123451234512345678901235");
	assert_string_equal(str_at(j, "iccid", NULL, NULL), "8949449000000001000");
	assert_string_equal(str_at(j, "profileType", NULL, NULL), "P-TEST");
	assert_string_equal(str_at(j, "timestamp", NULL, NULL), "2023-11-14T22:13:20Z");
	assert_int_equal(json_integer_value(json_object_get(j, "notificationPointId")), 3);
	assert_string_equal(str_at(j, "notificationPointStatus", "status", NULL),
			    "Executed-Success");
	assert_null(
	    json_object_get(json_object_get(j, "notificationPointStatus"), "statusCodeData"));
	assert_null(json_object_get(j, "resultData"));
	json_decref(j);
	/* without an EID the optional member is left out */
	p.eid = "";
	dp_buf_reset(&out);
	assert_int_equal(dp_es2_progress_body(&p, &out), DP_OK);
	assert_int_equal(dp_buf_cstr(&out, &text), DP_OK);
	j = parse(text);
	assert_null(json_object_get(j, "eid"));
	json_decref(j);
	dp_buf_deinit(&out);
}

static void body_failed_with_result(void **state)
{
	static const uint8_t pir[] = {0xBF, 0x37, 0x03, 0xBF, 0x27, 0x00};
	struct dp_es2_report rep;
	assert_int_equal(
	    dp_es2_report_failed(&rep, DP_ES2_POINT_INSTALLATION, DP_ES2_PROGRESS_INSTALL_FAILED),
	    DP_OK);
	rep.result_data = pir;
	rep.result_len = sizeof(pir);
	struct dp_es2_progress_info p = {.requester = "x",
					 .call_id = "y",
					 .iccid = "1",
					 .profile_type = "T",
					 .at = 0,
					 .report = &rep};
	struct dp_buf out, raw;
	dp_buf_init(&out, 8192);
	dp_buf_init(&raw, 64);
	assert_int_equal(dp_es2_progress_body(&p, &out), DP_OK);
	const char *text;
	assert_int_equal(dp_buf_cstr(&out, &text), DP_OK);
	json_t *j = parse(text);
	assert_string_equal(str_at(j, "timestamp", NULL, NULL), "1970-01-01T00:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(j, "notificationPointId")), 4);
	assert_string_equal(str_at(j, "notificationPointStatus", "status", NULL), "Failed");
	assert_string_equal(str_at(j, "notificationPointStatus", "statusCodeData", "subjectCode"),
			    "8.2.10");
	assert_string_equal(str_at(j, "notificationPointStatus", "statusCodeData", "reasonCode"),
			    "4.2");
	assert_non_null(str_at(j, "notificationPointStatus", "statusCodeData", "message"));
	const char *b64 = str_at(j, "resultData", NULL, NULL);
	assert_non_null(b64);
	assert_int_equal(dp_b64_decode(b64, strlen(b64), 0, &raw), DP_OK);
	assert_bytes_equal(raw.data, raw.len, pir, sizeof(pir));
	json_decref(j);
	dp_buf_deinit(&raw);
	dp_buf_deinit(&out);
}

static void codes(void **state)
{
	struct dp_es2_report rep;
	assert_int_equal(dp_es2_report_es9(&rep, DP_ES2_POINT_CONFIRMATION, DP_ES9_CC_RETRIES),
			 DP_OK);
	assert_true(rep.failed);
	assert_int_equal(rep.point, 2);
	assert_string_equal(rep.subject, "8.2.7");
	assert_string_equal(rep.reason, "6.4");
	assert_int_equal(dp_es2_report_es9(&rep, DP_ES2_POINT_ELIGIBILITY, DP_ES9_ORDER_EXPIRED),
			 DP_OK);
	assert_string_equal(rep.subject, "8.8.5");
	assert_string_equal(rep.reason, "4.10");
	assert_int_equal(dp_es2_report_es9(&rep, 1, DP_ES9_STATUS_COUNT), DP_ERR_INVAL);
	assert_int_equal(dp_es2_report_failed(&rep, 1, DP_ES2_PROGRESS_COUNT), DP_ERR_INVAL);
	/* CancelSessionReason -> status (es2-lifecycle-sgp32.md 1.5) */
	static const struct {
		uint64_t reason;
		const char *subject, *code;
	} cancel[] = {
	    {0, "8.8.5", "3.8"},  {3, "8.2.8", "1.2"}, {4, "8.2.9", "3.11"},
	    {5, "8.2.10", "4.2"}, {127, "8", "4.2"},   {17, "8", "4.2"},
	};
	for (size_t i = 0; i < sizeof(cancel) / sizeof(cancel[0]); i++) {
		assert_int_equal(
		    dp_es2_report_failed(&rep, 1, dp_es2_progress_for_cancel(cancel[i].reason)),
		    DP_OK);
		assert_string_equal(rep.subject, cancel[i].subject);
		assert_string_equal(rep.reason, cancel[i].code);
	}
}

static void backoff(void **state)
{
	struct dp_es2_callbacks_options o = {.retry_min_s = 5, .retry_max_s = 3600};
	assert_int_equal(dp_es2_callbacks_backoff(&o, 1), 5);
	assert_int_equal(dp_es2_callbacks_backoff(&o, 2), 10);
	assert_int_equal(dp_es2_callbacks_backoff(&o, 3), 20);
	assert_int_equal(dp_es2_callbacks_backoff(&o, 10), 2560);
	assert_int_equal(dp_es2_callbacks_backoff(&o, 11), 3600);
	assert_int_equal(dp_es2_callbacks_backoff(&o, 4000000000u), 3600);
	o.retry_max_s = 5;
	assert_int_equal(dp_es2_callbacks_backoff(&o, 3), 5);
}

/* ---- queueing ---- */

/* A report is queued with the state change, in its transaction: none without a report, none
 * when the change is refused, one report for one change only; the operator's URL first,
 * else the default one, else nothing. */
static void queued_with_state_change(void **state)
{
	struct dp_db *db = open_db();
	struct dp_es2_callbacks *cb = NULL;
	struct dp_es2_callbacks_options o = base_opts;
	o.url_of = url_of;
	o.default_url = "https://default.example/cb";
	assert_int_equal(dp_es2_callbacks_new(db, &o, &cb), DP_OK);
	drain(db);
	struct listing l;
	char a[21], b[21], c[21];
	/* the order's creation (Available -> Released) reports nothing */
	int64_t oa = released_profile(db, "op-a", a);
	int64_t ob = released_profile(db, "someone", b), oc;
	list(db, false, &l);
	assert_int_equal(l.n, 0);

	struct dp_es2_report rep;
	assert_int_equal(dp_es2_report_es9(&rep, DP_ES2_POINT_ELIGIBILITY, DP_ES9_ORDER_EXPIRED),
			 DP_OK);
	dp_es2_callbacks_expect(&rep);
	assert_int_equal(dp_db_order_fail(db, oa, DP_EV_ORDER_EXPIRED, "expired"), DP_OK);
	/* the report was used: the next change reports nothing */
	assert_int_equal(dp_db_order_fail(db, ob, DP_EV_ORDER_EXPIRED, "expired"), DP_OK);
	dp_es2_callbacks_expect(NULL);
	list(db, false, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.c[0].url, "https://op-a.example/cb");
	json_t *j = parse(l.c[0].body);
	assert_string_equal(str_at(j, "iccid", NULL, NULL), a);
	assert_string_equal(str_at(j, "profileType", NULL, NULL), "P-TEST");
	assert_string_equal(str_at(j, "header", "functionRequesterIdentifier", NULL), "2.999.10");
	assert_int_equal(strncmp(str_at(j, "header", "functionCallIdentifier", NULL), "smdp-", 5),
			 0);
	assert_int_equal(json_integer_value(json_object_get(j, "notificationPointId")), 1);
	assert_string_equal(str_at(j, "notificationPointStatus", "statusCodeData", "subjectCode"),
			    "8.8.5");
	assert_string_equal(str_at(j, "notificationPointStatus", "statusCodeData", "reasonCode"),
			    "4.10");
	assert_int_equal(strlen(str_at(j, "timestamp", NULL, NULL)), 20);
	json_decref(j);

	/* a refused change (Error has no ORDER_EXPIRED row) rolls the callback back too */
	dp_es2_callbacks_expect(&rep);
	assert_int_equal(dp_db_order_fail(db, oa, DP_EV_ORDER_EXPIRED, "again"), DP_ERR_DB_STATE);
	dp_es2_callbacks_expect(NULL);
	list(db, false, &l);
	assert_int_equal(l.n, 1);

	/* an owner without an operator URL: the default URL */
	oc = released_profile(db, "someone", c);
	dp_es2_callbacks_expect(&rep);
	assert_int_equal(dp_db_order_fail(db, oc, DP_EV_ORDER_EXPIRED, "expired"), DP_OK);
	dp_es2_callbacks_expect(NULL);
	list(db, false, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.c[1].url, "https://default.example/cb");
	dp_es2_callbacks_free(cb);

	/* no default URL: nothing for such an owner */
	o.default_url = "";
	assert_int_equal(dp_es2_callbacks_new(db, &o, &cb), DP_OK);
	oc = released_profile(db, "someone", c);
	dp_es2_callbacks_expect(&rep);
	assert_int_equal(dp_db_order_fail(db, oc, DP_EV_ORDER_EXPIRED, "expired"), DP_OK);
	dp_es2_callbacks_expect(NULL);
	list(db, false, &l);
	assert_int_equal(l.n, 2);
	dp_es2_callbacks_free(cb);

	/* without a queue object the hook is gone: a report does nothing */
	oc = released_profile(db, "op-a", c);
	dp_es2_callbacks_expect(&rep);
	assert_int_equal(dp_db_order_fail(db, oc, DP_EV_ORDER_EXPIRED, "expired"), DP_OK);
	dp_es2_callbacks_expect(NULL);
	list(db, false, &l);
	assert_int_equal(l.n, 2);
	drain(db);
	dp_db_close(db);
}

static void bad_options(void **state)
{
	struct dp_db *db = open_db();
	struct dp_es2_callbacks *cb = NULL;
	struct dp_es2_callbacks_options o = base_opts;
	o.client_cert = "/x.pem";
	assert_int_equal(dp_es2_callbacks_new(db, &o, &cb), DP_ERR_CONFIG);
	o = base_opts;
	o.retry_max_s = 0;
	assert_int_equal(dp_es2_callbacks_new(db, &o, &cb), DP_ERR_CONFIG);
	dp_db_close(db);
}

/* ---- sending ---- */

static struct dp_es2_callbacks *sender_for(struct dp_db *db, const char *ca)
{
	struct dp_es2_callbacks *cb = NULL;
	struct dp_es2_callbacks_options o = base_opts;
	o.ca_file = ca;
	assert_int_equal(dp_es2_callbacks_new(db, &o, &cb), DP_OK);
	return cb;
}

static void add(struct dp_db *db, int64_t profile, const char *url, const char *tag, time_t now)
{
	char body[64];
	snprintf(body, sizeof(body), "{\"n\":\"%s\"}", tag);
	assert_int_equal(
	    dp_db_callback_add(db, profile, "8900000000000000001", url, body, now, NULL), DP_OK);
}

static void assert_received(size_t from, const char *const *tags, size_t n)
{
	assert_int_equal(dp_test_receiver_count(G.rx), from + n);
	for (size_t i = 0; i < n; i++) {
		const struct dp_test_callback *c = dp_test_receiver_get(G.rx, from + i);
		json_t *j = parse(c->body);
		assert_string_equal(str_at(j, "n", NULL, NULL), tags[i]);
		json_decref(j);
		assert_string_equal(c->path, DP_ES2_CALLBACK_PATH);
		assert_string_equal(c->content_type, "application/json");
		assert_int_equal(strncmp(c->admin_protocol, "gsma/rsp/v2.", 12), 0);
	}
}

/* With the receiver down, two callbacks of one profile are queued at `now` and a run fails
 * on the first (the second waits behind it). */
static void queued_while_down(struct dp_db *db, struct dp_es2_callbacks *cb, int64_t profile,
			      const char *first, const char *second, time_t now)
{
	size_t sent, failed;
	dp_test_receiver_down(G.rx);
	add(db, profile, G.url, first, now);
	add(db, profile, G.url, second, now);
	assert_int_equal(dp_es2_callbacks_run(cb, now, &sent, &failed), DP_OK);
	assert_int_equal(failed, 1);
}

/* One profile's callbacks go strictly in order: while its first is retried, the later
 * ones wait; another profile's go on. */
static void order_per_profile_and_retry(void **state)
{
	struct dp_db *db = open_db();
	struct dp_es2_callbacks *cb = sender_for(db, G.ca_a);
	drain(db);
	time_t now = time(NULL);
	size_t base = dp_test_receiver_count(G.rx), sent, failed;
	add(db, 9001, G.url, "A1", now);
	add(db, 9001, G.url, "A2", now);
	add(db, 9002, G.url, "B1", now);
	add(db, 9001, G.url, "A3", now);
	dp_test_receiver_fail(G.rx, 503, 1);
	assert_int_equal(dp_es2_callbacks_run(cb, now, &sent, &failed), DP_OK);
	assert_int_equal(failed, 1);
	assert_int_equal(sent, 1);
	assert_received(base, (const char *[]){"B1"}, 1);
	struct listing l;
	list(db, false, &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.c[0].attempts, 1);
	assert_int_equal(l.c[0].next_at, now + 1);
	assert_non_null(strstr(l.c[0].last_error, "HTTP 503"));
	/* not yet due: nothing goes, A2 and A3 wait behind A1 */
	assert_int_equal(dp_es2_callbacks_run(cb, now, &sent, &failed), DP_OK);
	assert_int_equal(sent + failed, 0);
	time_t at = 0;
	assert_int_equal(dp_db_callback_next_time(db, &at), DP_OK);
	assert_int_equal(at, now + 1);
	/* a second failure doubles the wait */
	dp_test_receiver_fail(G.rx, 500, 1);
	assert_int_equal(dp_es2_callbacks_run(cb, now + 1, &sent, &failed), DP_OK);
	assert_int_equal(failed, 1);
	list(db, false, &l);
	assert_int_equal(l.c[0].attempts, 2);
	assert_int_equal(l.c[0].next_at, now + 1 + 2);
	assert_int_equal(dp_es2_callbacks_run(cb, now + 3, &sent, &failed), DP_OK);
	assert_int_equal(sent, 3);
	assert_int_equal(failed, 0);
	assert_received(base, (const char *[]){"B1", "A1", "A2", "A3"}, 4);
	list(db, false, &l);
	assert_int_equal(l.n, 0);
	assert_int_equal(dp_db_callback_next_time(db, &at), DP_ERR_NOT_FOUND);
	/* delivered ones are kept until purged */
	list(db, true, &l);
	assert_true(l.n >= 4);
	assert_true(l.c[l.n - 1].delivered_at >= now);
	size_t n = 0;
	assert_int_equal(dp_db_callback_purge(db, time(NULL) + 1, &n), DP_OK);
	assert_true(n >= 4);
	list(db, true, &l);
	assert_int_equal(l.n, 0);
	dp_es2_callbacks_free(cb);
	dp_db_close(db);
}

static void receiver_down_then_up(void **state)
{
	struct dp_db *db = open_db();
	struct dp_es2_callbacks *cb = sender_for(db, G.ca_a);
	time_t now = time(NULL);
	size_t base = dp_test_receiver_count(G.rx), sent, failed;
	queued_while_down(db, cb, 9003, "C1", "C2", now);
	struct listing l;
	list(db, false, &l);
	assert_int_equal(l.n, 2);
	assert_true(l.c[0].last_error[0] != '\0');
	assert_int_equal(dp_es2_callbacks_run(cb, now + 1, &sent, &failed), DP_OK);
	assert_int_equal(failed, 1);
	assert_int_equal(dp_test_receiver_up(G.rx), DP_OK);
	assert_int_equal(dp_es2_callbacks_run(cb, now + 3, &sent, &failed), DP_OK);
	assert_int_equal(sent, 2);
	assert_received(base, (const char *[]){"C1", "C2"}, 2);
	dp_es2_callbacks_free(cb);
	dp_db_close(db);
}

/* Only verified TLS: a receiver whose certificate the CA file does not vouch for, and a
 * plain http URL, are never sent to. */
static void tls_verified_only(void **state)
{
	struct dp_db *db = open_db();
	struct dp_es2_callbacks *cb = sender_for(db, G.ca_b);
	time_t now = time(NULL);
	size_t base = dp_test_receiver_count(G.rx), sent, failed;
	char plain[160];
	snprintf(plain, sizeof(plain), "http://localhost:%u%s", dp_test_receiver_port(G.rx),
		 DP_ES2_CALLBACK_PATH);
	add(db, 9004, G.url, "D1", now);
	add(db, 9005, plain, "E1", now);
	assert_int_equal(dp_es2_callbacks_run(cb, now, &sent, &failed), DP_OK);
	assert_int_equal(sent, 0);
	assert_int_equal(failed, 2);
	assert_int_equal(dp_test_receiver_count(G.rx), base);
	struct listing l;
	list(db, false, &l);
	assert_int_equal(l.n, 2);
	if (strstr(l.c[0].last_error, "certificate") == NULL ||
	    strstr(l.c[1].last_error, "http") == NULL)
		fail_msg("unexpected errors: '%s', '%s'", l.c[0].last_error, l.c[1].last_error);
	dp_es2_callbacks_free(cb);
	drain(db);
	dp_db_close(db);
}

/* Queued callbacks survive closing and reopening the database (a restart). */
static void survives_reopen(void **state)
{
	struct dp_db *db = open_db();
	struct dp_es2_callbacks *cb = sender_for(db, G.ca_a);
	time_t now = time(NULL);
	size_t base = dp_test_receiver_count(G.rx), sent, failed;
	queued_while_down(db, cb, 9006, "F1", "F2", now);
	dp_es2_callbacks_free(cb);
	dp_db_close(db);
	db = open_db();
	int v = 0;
	assert_int_equal(dp_db_schema_version(db, &v), DP_OK);
	assert_int_equal(v, 7); /* 6, 7: fewer pages per commit (db.c) */
	cb = sender_for(db, G.ca_a);
	assert_int_equal(dp_test_receiver_up(G.rx), DP_OK);
	assert_int_equal(dp_es2_callbacks_run(cb, now + 2, &sent, &failed), DP_OK);
	assert_int_equal(sent, 2);
	assert_received(base, (const char *[]){"F1", "F2"}, 2);
	dp_es2_callbacks_free(cb);
	dp_db_close(db);
}

/* The sender thread sends a callback queued by a state change (woken by the hook). */
static void sender_thread(void **state)
{
	struct dp_db *db = open_db();
	struct dp_es2_callbacks *cb = NULL;
	struct dp_es2_callbacks_options o = base_opts;
	o.ca_file = G.ca_a;
	o.default_url = G.url;
	assert_int_equal(dp_es2_callbacks_new(db, &o, &cb), DP_OK);
	assert_int_equal(dp_es2_callbacks_start(cb), DP_OK);
	size_t base = dp_test_receiver_count(G.rx);
	char a[21];
	int64_t oa = released_profile(db, "anyone", a);
	struct dp_es2_report rep;
	assert_int_equal(dp_es2_report_es9(&rep, DP_ES2_POINT_ELIGIBILITY, DP_ES9_ORDER_RETRIES),
			 DP_OK);
	/* a thread of its own reports, as an HTTP worker would */
	dp_es2_callbacks_expect(&rep);
	assert_int_equal(dp_db_order_fail(db, oa, DP_EV_RETRIES_EXHAUSTED, "used"), DP_OK);
	dp_es2_callbacks_expect(NULL);
	assert_true(dp_test_receiver_wait(G.rx, base + 1, 20000));
	json_t *j = parse(dp_test_receiver_get(G.rx, base)->body);
	assert_string_equal(str_at(j, "iccid", NULL, NULL), a);
	assert_string_equal(str_at(j, "notificationPointStatus", "statusCodeData", "reasonCode"),
			    "6.4");
	json_decref(j);
	dp_es2_callbacks_free(cb);
	dp_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(body_success),
	    cmocka_unit_test(body_failed_with_result),
	    cmocka_unit_test(codes),
	    cmocka_unit_test(backoff),
	    cmocka_unit_test(queued_with_state_change),
	    cmocka_unit_test(bad_options),
	    cmocka_unit_test(order_per_profile_and_retry),
	    cmocka_unit_test(receiver_down_then_up),
	    cmocka_unit_test(tls_verified_only),
	    cmocka_unit_test(survives_reopen),
	    cmocka_unit_test(sender_thread),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
