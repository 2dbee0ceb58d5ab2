/* Integration: ES2+.HandleDownloadProgressInfo callbacks (issue 7 item 4) from the real
 * smdp binary to a test HTTPS receiver, driven by ES9+ downloads of the test LPA with a
 * software eUICC. Points 3 and 4 of a download in order with their fields (the PIR as
 * resultData), points 1 and 2, the receiver down then up while downloads go on unhindered,
 * and a server restart with callbacks still queued. */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "pki/asn1/asn1.h"
#include "pki/base/codec.h"
#include "profilegen/profilegen.h"
#include "smdp/db.h"
#include "test/integration/support/callback_receiver.h"
#include "test/lpa/lpa.h"
#include "test/support/support.h"

static struct {
	char dir[64];
	const char *smdp;
	pid_t pid;
	char address[64];
	struct dp_db *db;
	struct dp_test_receiver *rx;	/* callback_default_url */
	struct dp_test_receiver *rx_op; /* the callback_url of operator OP-TEST */
	char url[160];
	struct dp_euicc *e;
	struct dp_lpa *lpa;
	unsigned next_iccid;
} G;

/* ---- helpers ---- */

static void path(char *out, size_t cap, const char *rel)
{
	snprintf(out, cap, "%s/%s", G.dir, rel);
}

static void server_start(void)
{
	char state[128], pki[128], cert[160], key[160], log[128];
	char url[200], ca[200], ops[200];
	path(state, sizeof(state), "state");
	path(pki, sizeof(pki), "pki");
	path(cert, sizeof(cert), "pki/dptls-cert.pem");
	path(key, sizeof(key), "pki/dptls-key.pem");
	path(log, sizeof(log), "server.log");
	snprintf(url, sizeof(url), "callback_default_url=%s", G.url);
	snprintf(ca, sizeof(ca), "callback_ca_file=%s/pki/ci-cert.pem", G.dir);
	snprintf(ops, sizeof(ops), "operators_file=%s/operators.yaml", G.dir);
	int out[2];
	assert_int_equal(pipe(out), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 2);
		close(out[0]);
		const char *argv[] = {G.smdp,	     "serve",
				      "--state-dir", state,
				      "--listen",    "127.0.0.1:0",
				      "--tls-cert",  cert,
				      "--tls-key",   key,
				      "--pki-dir",   pki,
				      "--log",	     "info,db=warn",
				      "--set",	     url,
				      "--set",	     ca,
				      "--set",	     "callback_retry_min_s=1",
				      "--set",	     "callback_retry_max_s=2",
				      "--set",	     ops,
				      "--set",	     "es2_listen=127.0.0.1:0",
				      NULL};
		execv(G.smdp, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	FILE *f = fdopen(out[0], "r");
	char line[512] = "";
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	char *a = strstr(line, "address=");
	assert_non_null(a);
	sscanf(a + 8, "%63s", G.address);
	G.pid = pid;
}

static void server_stop(void)
{
	if (G.pid <= 0)
		return;
	kill(G.pid, SIGTERM);
	int st = 0;
	waitpid(G.pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	G.pid = 0;
}

/* A copy of TS48v1_A with a fresh ICCID owned by `owner`, and an order for it. */
static void add_order_of(const char *owner, const char *mid, const char *cc, time_t expires_at,
			 char iccid[21])
{
	struct dp_buf der, meta, out;
	struct dp_pg_package pkg;
	struct dp_pg_personal pers = {0};
	struct dp_pg_metadata m = {0};
	dp_test_read_file(dp_test_shared("ts48/TS48v1_A.der"), &der);
	dp_pg_package_init(&pkg);
	assert_int_equal(dp_pg_package_parse(der.data, der.len, &pkg), DP_OK);
	char base[19];
	snprintf(base, sizeof(base), "8949449%011u", 7000 + G.next_iccid++);
	assert_int_equal(dp_pg_iccid_normalise(base, pers.iccid), DP_OK);
	pers.has_iccid = true;
	assert_int_equal(dp_pg_personalise(&pkg, &pers), DP_OK);
	dp_buf_init(&out, 1 << 20);
	assert_int_equal(dp_pg_package_der(&pkg, &out), DP_OK);
	m.present = true;
	snprintf(m.spn, sizeof(m.spn), "callbacks");
	snprintf(m.name, sizeof(m.name), "TS48 A %s", pers.iccid);
	m.profile_class = 2;
	m.icon_type = -1;
	dp_buf_init(&meta, 4096);
	assert_int_equal(dp_pg_metadata_der(&pkg, &m, &meta), DP_OK);
	struct dp_db_profile_new p = {
	    .iccid = pers.iccid,
	    .profile_type = "CB-TYPE",
	    .owner = owner,
	    .package = out.data,
	    .package_len = out.len,
	    .metadata = meta.data,
	    .metadata_len = meta.len,
	    .profile_class = 2,
	};
	assert_int_equal(dp_db_profile_add(G.db, &p, "test", NULL), DP_OK);
	uint8_t cc_hash[32];
	unsigned int n;
	if (cc != NULL)
		assert_int_equal(EVP_Digest(cc, strlen(cc), cc_hash, &n, EVP_sha256(), NULL), 1);
	struct dp_db_order_new o = {
	    .matching_id = mid,
	    .iccid = pers.iccid,
	    .cc_hash = cc != NULL ? cc_hash : NULL,
	    .expires_at = expires_at,
	    .max_attempts = 5,
	    .cc_max_attempts = 2,
	    .owner = owner,
	};
	assert_int_equal(dp_db_order_add(G.db, &o, "test", NULL, NULL), DP_OK);
	memcpy(iccid, pers.iccid, 21);
	dp_buf_deinit(&meta);
	dp_buf_deinit(&out);
	dp_buf_deinit(&der);
	dp_pg_package_deinit(&pkg);
}

/* A profile of an owner that is no operator: its callbacks go to callback_default_url. */
static void add_order(const char *mid, const char *cc, time_t expires_at, char iccid[21])
{
	add_order_of("nobody", mid, cc, expires_at, iccid);
}

static int download(const char *mid, const char *cc)
{
	struct dp_lpa_install_result res;
	struct dp_lpa_download_params p = {
	    .smdp_address = G.address, .matching_id = mid, .confirmation_code = cc};
	return dp_lpa_download(G.lpa, &p, &res);
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
	assert_int_equal(dp_db_callback_list(G.db, false, count_queued, &n), DP_OK);
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
	snprintf(G.dir, sizeof(G.dir), "/tmp/smdp-es2cb-XXXXXX");
	assert_non_null(mkdtemp(G.dir));
	G.smdp = getenv("SMDP_BIN");
	assert_non_null(G.smdp);
	char pki[128];
	path(pki, sizeof(pki), "pki");
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		execl(G.smdp, G.smdp, "pki", "init", "--dir", pki, "--host", "localhost", NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(dp_asn1_init(), DP_OK);
	/* the operator's server: its TLS certificate is issued by the test CI, which the
	 * SM-DP+ trusts through callback_ca_file */
	char cert[160], key[160], ci[160];
	path(cert, sizeof(cert), "pki/dptls-cert.pem");
	path(key, sizeof(key), "pki/dptls-key.pem");
	assert_int_equal(dp_test_receiver_start(cert, key, 0, &G.rx), DP_OK);
	dp_test_receiver_url(G.rx, G.url, sizeof(G.url));
	assert_int_equal(dp_test_receiver_start(cert, key, 0, &G.rx_op), DP_OK);
	/* one operator with its own callback URL (its client certificate plays no part here) */
	char ops[128], op_url[160];
	path(ops, sizeof(ops), "operators.yaml");
	dp_test_receiver_url(G.rx_op, op_url, sizeof(op_url));
	FILE *f = fopen(ops, "w");
	assert_non_null(f);
	fprintf(f, "operators:\n  - id: OP-TEST\n    cert_sha256: %064d\n    callback_url: %s\n", 0,
		op_url);
	fclose(f);
	server_start();
	char db[128];
	path(db, sizeof(db), "state/smdp.db");
	assert_int_equal(dp_db_open(db, &G.db), DP_OK);
	/* the device: the set's eUICC */
	char ecert[160], ekey[160], eum[160];
	struct dp_euicc_identity *id = NULL;
	path(ecert, sizeof(ecert), "pki/euicc-cert.pem");
	path(ekey, sizeof(ekey), "pki/euicc-key.pem");
	path(eum, sizeof(eum), "pki/eum-cert.pem");
	path(ci, sizeof(ci), "pki/ci-cert.pem");
	assert_int_equal(dp_euicc_identity_load(ecert, ekey, eum, &id), DP_OK);
	assert_int_equal(dp_euicc_identity_add_ci(id, ci, true), DP_OK);
	assert_int_equal(dp_euicc_new(id, &G.e), DP_OK);
	struct dp_lpa_options o = {.http = {.ca_file = ci}};
	assert_int_equal(dp_lpa_new(G.e, &o, &G.lpa), DP_OK);
	return 0;
}

static int group_teardown(void **state)
{
	server_stop();
	dp_lpa_free(G.lpa);
	dp_euicc_free(G.e);
	dp_db_close(G.db);
	dp_test_receiver_free(G.rx);
	dp_test_receiver_free(G.rx_op);
	char cmd[128];
	if (getenv("SMDP_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", G.dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}

/* ---- scenarios ---- */

/* A download: point 3 (BPP delivered) then point 4 (installed, the PIR as resultData). */
static void download_reports_points_3_and_4(void **state)
{
	char iccid[21];
	size_t base = dp_test_receiver_count(G.rx);
	add_order("CB-1", NULL, 0, iccid);
	assert_int_equal(download("CB-1", NULL), DP_OK);
	assert_true(dp_test_receiver_wait(G.rx, base + 2, 10000));
	const char *eid = dp_euicc_identity_eid(dp_euicc_identity(G.e));
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
	assert_int_equal(download("CB-CC", "1"), DP_ERR_LPA_REFUSED);
	assert_int_equal(download("CB-CC", "2"), DP_ERR_LPA_REFUSED);
	assert_true(dp_test_receiver_wait(G.rx, base + 1, 10000));
	json_t *j = expect_callback(base, cc_iccid, 2, "Failed");
	assert_string_equal(code(j, "subjectCode"), "8.2.7");
	assert_string_equal(code(j, "reasonCode"), "6.4");
	json_decref(j);
	add_order("CB-EXP", NULL, time(NULL) - 10, exp_iccid);
	assert_int_equal(download("CB-EXP", NULL), DP_ERR_LPA_REFUSED);
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
	assert_int_equal(download("CB-DOWN-1", NULL), DP_OK);
	assert_int_equal(download("CB-DOWN-2", NULL), DP_OK);
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
	assert_int_equal(download("CB-RESTART", NULL), DP_OK);
	assert_int_equal(queued(), 2);
	server_stop();
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
	assert_int_equal(download("CB-OP-1", NULL), DP_OK);
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
