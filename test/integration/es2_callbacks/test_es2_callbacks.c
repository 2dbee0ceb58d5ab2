/* Integration: ES2+.HandleDownloadProgressInfo callbacks (issue 7 item 4) from the real
 * smdp binary to a test HTTPS receiver, driven by ES9+ downloads of the test LPA with a
 * software eUICC. Points 3 and 4 of a download in order with their fields (the PIR as
 * resultData), points 1 and 2, the receiver down then up while downloads go on unhindered,
 * and a server restart with callbacks still queued. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "pki/base/codec.h"
#include "smdp/db.h"
#include "test/integration/support/callback_receiver.h"
#include "test/integration/support/harness.h"
#include "test/lpa/lpa.h"
#include "test/support/support.h"

static struct dp_harness H;
static struct {
	struct dp_test_receiver *rx;	/* callback_default_url */
	struct dp_test_receiver *rx_op; /* the callback_url of operator OP-TEST */
	char url[160];
	struct dp_harness_device dev; /* the "pki" set's eUICC */
} G;

/* ---- helpers ---- */

/* smdp serve on the "pki" set with the callbacks to G.url (trusting the set's CI), quick
 * retries, the operators file and an ES2+ listener. */
static void server_start(void)
{
	char url[200], ca[200], ops[200], ci[160], opsf[160];
	dp_harness_path(&H, ci, sizeof(ci), "pki/ci-cert.pem");
	dp_harness_path(&H, opsf, sizeof(opsf), "operators.yaml");
	snprintf(url, sizeof(url), "callback_default_url=%s", G.url);
	snprintf(ca, sizeof(ca), "callback_ca_file=%s", ci);
	snprintf(ops, sizeof(ops), "operators_file=%s", opsf);
	const char *options[] = {"--set", url,
				 "--set", ca,
				 "--set", "callback_retry_min_s=1",
				 "--set", "callback_retry_max_s=2",
				 "--set", ops,
				 "--set", "es2_listen=127.0.0.1:0",
				 NULL};
	dp_harness_server_start(&H, 0, options, 0);
}

/* A copy of TS48v1_A of type CB-TYPE with a fresh ICCID owned by `owner`, and an order for
 * it (two confirmation code tries). */
static void add_order_of(const char *owner, const char *mid, const char *cc, time_t expires_at,
			 char iccid[21])
{
	struct dp_harness_order o = {
	    .matching_id = mid,
	    .cc = cc,
	    .expires_at = expires_at,
	    .cc_max_attempts = 2,
	    .profile = {.type = "CB-TYPE", .owner = owner},
	};
	dp_harness_order_add(&H, &o, iccid);
}

/* A profile of an owner that is no operator: its callbacks go to callback_default_url. */
static void add_order(const char *mid, const char *cc, time_t expires_at, char iccid[21])
{
	add_order_of("nobody", mid, cc, expires_at, iccid);
}

static json_t *received(size_t i)
{
	const struct dp_test_callback *c = dp_test_receiver_get(G.rx, i);
	assert_non_null(c);
	json_error_t e;
	json_t *j = json_loads(c->body, 0, &e);
	if (j == NULL)
		fail_msg("callback %zu is not JSON: %s", i, c->body);
	return j;
}

static const char *str(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);
	return json_string_value(b != NULL ? json_object_get(v, b) : v);
}

static const char *code(json_t *j, const char *which)
{
	return json_string_value(json_object_get(
	    json_object_get(json_object_get(j, "notificationPointStatus"), "statusCodeData"),
	    which));
}

static int point(json_t *j)
{
	return (int)json_integer_value(json_object_get(j, "notificationPointId"));
}

/* Callback i is point pt of iccid, in status st ("Executed-Success" / "Failed"). */
static json_t *expect_callback(size_t i, const char *iccid, int pt, const char *st)
{
	json_t *j = received(i);
	if (strcmp(str(j, "iccid", NULL), iccid) != 0 || point(j) != pt ||
	    strcmp(str(j, "notificationPointStatus", "status"), st) != 0)
		fail_msg("callback %zu: expected %s point %d %s, got %s", i, iccid, pt, st,
			 dp_test_receiver_get(G.rx, i)->body);
	return j;
}

static int count_queued(void *ctx, const struct dp_db_callback *c)
{
	(*(size_t *)ctx)++;
	return DP_OK;
}

static size_t queued(void)
{
	size_t n = 0;
	assert_int_equal(dp_db_callback_list(H.db, false, count_queued, &n), DP_OK);
	return n;
}

/* The sender records a delivery just after the receiver has answered: wait for it. */
static bool queue_drained(unsigned timeout_ms)
{
	for (unsigned t = 0; t < timeout_ms; t += 50) {
		if (queued() == 0)
			return true;
		usleep(50 * 1000);
	}
	return queued() == 0;
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	dp_harness_init(&H, "es2cb", "pki");
	dp_harness_pki_init(&H, "pki", NULL);
	/* the operator's server: its TLS certificate is issued by the test CI, which the
	 * SM-DP+ trusts through callback_ca_file */
	char cert[160], key[160];
	dp_harness_path(&H, cert, sizeof(cert), "pki/dptls-cert.pem");
	dp_harness_path(&H, key, sizeof(key), "pki/dptls-key.pem");
	assert_int_equal(dp_test_receiver_start(cert, key, 0, &G.rx), DP_OK);
	dp_test_receiver_url(G.rx, G.url, sizeof(G.url));
	assert_int_equal(dp_test_receiver_start(cert, key, 0, &G.rx_op), DP_OK);
	/* one operator with its own callback URL (its client certificate plays no part here) */
	char ops[128], op_url[160];
	dp_harness_path(&H, ops, sizeof(ops), "operators.yaml");
	dp_test_receiver_url(G.rx_op, op_url, sizeof(op_url));
	FILE *f = fopen(ops, "w");
	assert_non_null(f);
	fprintf(f, "operators:\n  - id: OP-TEST\n    cert_sha256: %064d\n    callback_url: %s\n", 0,
		op_url);
	fclose(f);
	server_start();
	/* the device: the set's eUICC */
	dp_harness_device_of_set(&H, "pki", &G.dev);
	return 0;
}

static int group_teardown(void **state)
{
	int r = dp_harness_deinit(&H);
	dp_harness_device_free(&G.dev);
	dp_test_receiver_free(G.rx);
	dp_test_receiver_free(G.rx_op);
	return r;
}

/* ---- scenarios ---- */

/* A download: point 3 (BPP delivered) then point 4 (installed, the PIR as resultData). */
static void download_reports_points_3_and_4(void **state)
{
	char iccid[21];
	size_t base = dp_test_receiver_count(G.rx);
	add_order("CB-1", NULL, 0, iccid);
	assert_int_equal(dp_harness_download(&H, &G.dev, "CB-1", NULL), DP_OK);
	assert_true(dp_test_receiver_wait(G.rx, base + 2, 10000));
	const char *eid = G.dev.eid;
	json_t *j3 = expect_callback(base, iccid, 3, "Executed-Success");
	json_t *j4 = expect_callback(base + 1, iccid, 4, "Executed-Success");
	for (int k = 0; k < 2; k++) {
		json_t *j = k == 0 ? j3 : j4;
		assert_string_equal(str(j, "eid", NULL), eid);
		assert_string_equal(str(j, "profileType", NULL), "CB-TYPE");
		assert_string_equal(str(j, "header", "functionRequesterIdentifier"), "2.999.10");
		assert_non_null(str(j, "header", "functionCallIdentifier"));
		const char *ts = str(j, "timestamp", NULL);
		assert_non_null(ts);
		assert_int_equal(strlen(ts), 20);
		assert_int_equal(ts[10], 'T');
		assert_int_equal(ts[19], 'Z');
	}
	assert_string_not_equal(str(j3, "header", "functionCallIdentifier"),
				str(j4, "header", "functionCallIdentifier"));
	assert_null(json_object_get(j3, "resultData"));
	/* resultData: the ProfileInstallationResult BF37 as the eUICC signed it */
	const char *b64 = str(j4, "resultData", NULL);
	assert_non_null(b64);
	struct dp_buf pir;
	dp_buf_init(&pir, 4096);
	assert_int_equal(dp_b64_decode(b64, strlen(b64), 0, &pir), DP_OK);
	assert_true(pir.len > 16);
	assert_int_equal(pir.data[0], 0xBF);
	assert_int_equal(pir.data[1], 0x37);
	dp_buf_deinit(&pir);
	const struct dp_test_callback *c = dp_test_receiver_get(G.rx, base);
	assert_string_equal(c->path, "/gsma/rsp2/es2plus/handleDownloadProgressInfo");
	assert_string_equal(c->content_type, "application/json");
	assert_int_equal(strncmp(c->admin_protocol, "gsma/rsp/v2.", 12), 0);
	json_decref(j3);
	json_decref(j4);
	assert_true(queue_drained(5000));
}

/* Point 2: the confirmation code retries run out (8.2.7/6.4); point 1: an expired order
 * (8.8.5/4.10). A wrong code that leaves tries reports nothing. */
static void failures_report_points_1_and_2(void **state)
{
	char cc_iccid[21], exp_iccid[21];
	size_t base = dp_test_receiver_count(G.rx);
	add_order("CB-CC", "4711", 0, cc_iccid);
	assert_int_equal(dp_harness_download(&H, &G.dev, "CB-CC", "1"), DP_ERR_LPA_REFUSED);
	assert_int_equal(dp_harness_download(&H, &G.dev, "CB-CC", "2"), DP_ERR_LPA_REFUSED);
	assert_true(dp_test_receiver_wait(G.rx, base + 1, 10000));
	json_t *j = expect_callback(base, cc_iccid, 2, "Failed");
	assert_string_equal(code(j, "subjectCode"), "8.2.7");
	assert_string_equal(code(j, "reasonCode"), "6.4");
	json_decref(j);
	add_order("CB-EXP", NULL, time(NULL) - 10, exp_iccid);
	assert_int_equal(dp_harness_download(&H, &G.dev, "CB-EXP", NULL), DP_ERR_LPA_REFUSED);
	assert_true(dp_test_receiver_wait(G.rx, base + 2, 10000));
	j = expect_callback(base + 1, exp_iccid, 1, "Failed");
	assert_string_equal(code(j, "subjectCode"), "8.8.5");
	assert_string_equal(code(j, "reasonCode"), "4.10");
	json_decref(j);
	assert_int_equal(dp_test_receiver_count(G.rx), base + 2);
}

/* The receiver is down: downloads go on (they never wait for an operator), the callbacks
 * wait in the queue and arrive, in order, once it is back. An error answer is retried
 * like a refused connection. */
static void receiver_down_then_up(void **state)
{
	char a[21], b[21];
	size_t base = dp_test_receiver_count(G.rx);
	dp_test_receiver_down(G.rx);
	add_order("CB-DOWN-1", NULL, 0, a);
	add_order("CB-DOWN-2", NULL, 0, b);
	time_t t0 = time(NULL);
	assert_int_equal(dp_harness_download(&H, &G.dev, "CB-DOWN-1", NULL), DP_OK);
	assert_int_equal(dp_harness_download(&H, &G.dev, "CB-DOWN-2", NULL), DP_OK);
	assert_true(time(NULL) - t0 < 20);
	assert_int_equal(queued(), 4);
	sleep(2); /* a few failed tries */
	dp_test_receiver_fail(G.rx, 503, 1);
	assert_int_equal(dp_test_receiver_up(G.rx), DP_OK);
	assert_true(dp_test_receiver_wait(G.rx, base + 4, 15000));
	assert_true(dp_test_receiver_refused(G.rx) >= 1);
	/* one profile's callbacks in order (3 before 4); the two profiles may interleave */
	int seen_a = 0, seen_b = 0;
	for (size_t i = base; i < base + 4; i++) {
		json_t *j = received(i);
		const char *ic = str(j, "iccid", NULL);
		int *seen = strcmp(ic, a) == 0 ? &seen_a : &seen_b;
		assert_true(strcmp(ic, a) == 0 || strcmp(ic, b) == 0);
		assert_int_equal(point(j), *seen == 0 ? 3 : 4);
		(*seen)++;
		json_decref(j);
	}
	assert_int_equal(seen_a, 2);
	assert_int_equal(seen_b, 2);
	assert_true(queue_drained(5000));
}

/* The server stops with callbacks still queued; the new process sends them. */
static void restart_with_callbacks_queued(void **state)
{
	char a[21];
	size_t base = dp_test_receiver_count(G.rx);
	dp_test_receiver_down(G.rx);
	add_order("CB-RESTART", NULL, 0, a);
	assert_int_equal(dp_harness_download(&H, &G.dev, "CB-RESTART", NULL), DP_OK);
	assert_int_equal(queued(), 2);
	assert_true(dp_harness_server_stop(&H));
	assert_int_equal(queued(), 2);
	assert_int_equal(dp_test_receiver_up(G.rx), DP_OK);
	server_start();
	assert_true(dp_test_receiver_wait(G.rx, base + 2, 15000));
	json_decref(expect_callback(base, a, 3, "Executed-Success"));
	json_decref(expect_callback(base + 1, a, 4, "Executed-Success"));
	assert_true(queue_drained(5000));
}

/* A profile of an operator: its callbacks go to the operator's callback_url, not to the
 * default URL. */
static void operator_callback_url(void **state)
{
	char a[21];
	size_t base = dp_test_receiver_count(G.rx_op), other = dp_test_receiver_count(G.rx);
	add_order_of("OP-TEST", "CB-OP-1", NULL, 0, a);
	assert_int_equal(dp_harness_download(&H, &G.dev, "CB-OP-1", NULL), DP_OK);
	assert_true(dp_test_receiver_wait(G.rx_op, base + 2, 10000));
	assert_true(queue_drained(5000));
	assert_int_equal(dp_test_receiver_count(G.rx), other);
	const struct dp_test_callback *c = dp_test_receiver_get(G.rx_op, base + 1);
	json_error_t e;
	json_t *j = json_loads(c->body, 0, &e);
	assert_non_null(j);
	assert_string_equal(str(j, "iccid", NULL), a);
	assert_int_equal(point(j), 4);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(download_reports_points_3_and_4),
	    cmocka_unit_test(failures_report_points_1_and_2),
	    cmocka_unit_test(receiver_down_then_up),
	    cmocka_unit_test(restart_with_callbacks_queued),
	    cmocka_unit_test(operator_callback_url),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
