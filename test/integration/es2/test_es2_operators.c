/* Integration: ES2+ over mutual TLS against the real smdp binary (port 0 for ES9+ and for
 * ES2+, a temp database, a test PKI from `smdp pki init`), with libcurl as the operators'
 * client and the test LPA with a software eUICC for the downloads. Covers the refusals of
 * the TLS layer (no client certificate, an expired one, one from an unknown CA, one of no
 * operator), two operators who cannot see or order each other's profiles, every ES2+
 * transition and refusal with its code, and whole cycles: downloadOrder (by ICCID, by
 * profile type) -> confirmOrder (with/without EID and confirmation code, releaseFlag true,
 * or false then releaseProfile) -> ES9+ download -> install and delete notifications ->
 * the profile Available again (reuse_on_delete). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "profilegen/profilegen.h"
#include "smdp/db.h"
#include "test/integration/support/callback_receiver.h"
#include "test/integration/support/harness.h"
#include "test/lpa/lpa.h"
#include "test/support/support.h"

static struct dp_harness H;
/* ACME's HandleDownloadProgressInfo receiver (its callback_url) */
static struct dp_test_receiver *acme_rx;
static unsigned next_call; /* a fresh functionCallIdentifier per request */

/* An operator client certificate under a set's CI, with optional validity. */
static void issue_operator(const char *set, const char *name, const char *nb, const char *na)
{
	char ci[400], key[400], oc[400], ok[400];
	dp_harness_path(&H, ci, sizeof(ci), "%s/ci-cert.pem", set);
	dp_harness_path(&H, key, sizeof(key), "%s/ci-key.pem", set);
	dp_harness_path(&H, oc, sizeof(oc), "%s-cert.pem", name);
	dp_harness_path(&H, ok, sizeof(ok), "%s-key.pem", name);
	const char *argv[20] = {H.smdp,	      "pki",	  "issue",     "operator", "--ci-cert",
				ci,	      "--ci-key", key,	       "--cn",	   name,
				"--out-cert", oc,	  "--out-key", ok};
	size_t n = 14;
	if (nb != NULL) {
		argv[n++] = "--not-before";
		argv[n++] = nb;
		argv[n++] = "--not-after";
		argv[n++] = na;
	}
	argv[n] = NULL;
	assert_int_equal(dp_harness_run(argv), 0);
}

/* smdp serve on the "nist" set with the operators file, the ES2+ listener on a port of its
 * own, reuse_on_delete and two confirmation code tries. */
static void server_start(void)
{
	char ops[400], set_ops[420], ci[400], set_ca[420];
	dp_harness_path(&H, ops, sizeof(ops), "operators.yaml");
	snprintf(set_ops, sizeof(set_ops), "operators_file=%s", ops);
	dp_harness_path(&H, ci, sizeof(ci), "nist/ci-cert.pem");
	snprintf(set_ca, sizeof(set_ca), "callback_ca_file=%s", ci);
	const char *options[] = {"--set", set_ops,
				 "--set", set_ca,
				 "--set", "callback_retry_min_s=1",
				 "--set", "es2_listen=127.0.0.1:0",
				 "--set", "reuse_on_delete=true",
				 "--set", "cc_max_attempts=2",
				 NULL};
	dp_harness_server_start(&H, 0, options, 0);
	assert_true(H.srv.port > 0 && H.srv.es2_port > 0 && H.srv.port != H.srv.es2_port);
}

/* ---- the operators' client ---- */

struct answer {
	long http;
	char status[32], subject[16], reason[16], message[512];
	char iccid[32], matching_id[80], eid[40], smdp_address[80];
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct dp_buf *b = ctx;
	return dp_buf_append(b, p, size * n) == DP_OK ? size * n : 0;
}

static void copy_member(json_t *root, const char *name, char *out, size_t cap)
{
	json_t *v = json_object_get(root, name);
	snprintf(out, cap, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* POSTs body to an ES2+ function as `who` (a <who>-cert.pem / -key.pem pair in the test
 * folder, or NULL for no client certificate). */
static void es2(const char *who, const char *function, const char *body, struct answer *a)
{
	char url[256], resolve[64], cert[400], key[400], ca[400];
	struct dp_buf resp;
	memset(a, 0, sizeof(*a));
	dp_buf_init(&resp, 1 << 20);
	snprintf(url, sizeof(url), "https://localhost:%u/gsma/rsp2/es2plus/%s", H.srv.es2_port,
		 function);
	snprintf(resolve, sizeof(resolve), "localhost:%u:127.0.0.1", H.srv.es2_port);
	dp_harness_path(&H, ca, sizeof(ca), "nist/ci-cert.pem");
	CURL *c = curl_easy_init();
	assert_non_null(c);
	struct curl_slist *hosts = curl_slist_append(NULL, resolve);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, "X-Admin-Protocol: gsma/rsp/v2.5.0");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_RESOLVE, hosts);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	if (who != NULL) {
		dp_harness_path(&H, cert, sizeof(cert), "%s-cert.pem", who);
		dp_harness_path(&H, key, sizeof(key), "%s-key.pem", who);
		curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	}
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s: %s", function, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->http);
	curl_slist_free_all(h);
	curl_slist_free_all(hosts);
	curl_easy_cleanup(c);
	if (a->http == 200) {
		json_error_t je;
		json_t *root = json_loadb((const char *)resp.data, resp.len, 0, &je);
		assert_non_null(root);
		json_t *st = json_object_get(
		    json_object_get(json_object_get(root, "header"), "functionExecutionStatus"),
		    "status");
		assert_true(json_is_string(st));
		snprintf(a->status, sizeof(a->status), "%s", json_string_value(st));
		json_t *scd = json_object_get(
		    json_object_get(json_object_get(root, "header"), "functionExecutionStatus"),
		    "statusCodeData");
		copy_member(scd, "subjectCode", a->subject, sizeof(a->subject));
		copy_member(scd, "reasonCode", a->reason, sizeof(a->reason));
		copy_member(scd, "message", a->message, sizeof(a->message));
		copy_member(root, "iccid", a->iccid, sizeof(a->iccid));
		copy_member(root, "matchingId", a->matching_id, sizeof(a->matching_id));
		copy_member(root, "eid", a->eid, sizeof(a->eid));
		copy_member(root, "smdpAddress", a->smdp_address, sizeof(a->smdp_address));
		json_decref(root);
	}
	dp_buf_deinit(&resp);
}

/* A request body: the header of `requester` and the members (JSON text without braces). */
__attribute__((format(printf, 2, 3))) static const char *body(const char *requester,
								 const char *fmt, ...)
{
	static char out[2048];
	char members[1800];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(members, sizeof(members), fmt, ap);
	va_end(ap);
	snprintf(out, sizeof(out),
		 "{\"header\":{\"functionRequesterIdentifier\":\"%s\",\"functionCallIdentifier\":"
		 "\"TX-%u\"}%s%s}",
		 requester, next_call++, members[0] ? "," : "", members);
	return out;
}

static void assert_ok(const struct answer *a)
{
	if (a->http != 200 || strcmp(a->status, "Executed-Success") != 0)
		fail_msg("expected Executed-Success, got HTTP %ld %s %s/%s %s", a->http, a->status,
			 a->subject, a->reason, a->message);
}

static void assert_code(const struct answer *a, const char *subject, const char *reason)
{
	if (a->http != 200 || strcmp(a->status, "Failed") != 0 ||
	    strcmp(a->subject, subject) != 0 || strcmp(a->reason, reason) != 0)
		fail_msg("expected Failed %s/%s, got HTTP %ld %s %s/%s %s", subject, reason,
			 a->http, a->status, a->subject, a->reason, a->message);
}

/* The eUICC deletes the profile and the LPA sends the notifications. */
static void delete_on_device(struct dp_harness_device *d, const char *iccid)
{
	int result = -1;
	size_t sent = 0;
	assert_int_equal(dp_lpa_profile_delete(d->lpa, iccid, &result), DP_OK);
	assert_int_equal(result, 0);
	assert_int_equal(dp_lpa_notification_send_all(d->lpa, &sent), DP_OK);
	assert_true(sent >= 1);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	char ops[400], a[400], b[400];
	dp_harness_init(&H, "es2", "nist");
	dp_harness_pki_init(&H, "nist", NULL);
	dp_harness_pki_init(&H, "rogue", NULL);
	/* ACME is the set's operator; OTHER a second one; the rest are refused */
	issue_operator("nist", "other", NULL, NULL);
	issue_operator("nist", "stranger", NULL, NULL);
	issue_operator("nist", "expired", "20200101000000Z", "20210101000000Z");
	/* the generated operators under the names the client uses (<who>-cert.pem) */
	const char *as[][2] = {{"nist", "acme"}, {"rogue", "rogue"}};
	for (size_t i = 0; i < 2; i++)
		for (int k = 0; k < 2; k++) {
			const char *part = k == 0 ? "cert" : "key";
			dp_harness_path(&H, a, sizeof(a), "%s/operator-%s.pem", as[i][0], part);
			dp_harness_path(&H, b, sizeof(b), "%s-%s.pem", as[i][1], part);
			assert_int_equal(link(a, b), 0);
		}
	/* ACME's callback receiver, with a TLS certificate of the test CI */
	char rx_cert[400], rx_key[400], url[200];
	dp_harness_path(&H, rx_cert, sizeof(rx_cert), "nist/dptls-cert.pem");
	dp_harness_path(&H, rx_key, sizeof(rx_key), "nist/dptls-key.pem");
	assert_int_equal(dp_test_receiver_start(rx_cert, rx_key, 0, &acme_rx), DP_OK);
	dp_test_receiver_url(acme_rx, url, sizeof(url));
	dp_harness_path(&H, ops, sizeof(ops), "operators.yaml");
	FILE *f = fopen(ops, "w");
	assert_non_null(f);
	fprintf(f, "operators:\n"
		   "  - id: ACME\n    certificate: acme-cert.pem\n    callback_url: %s\n"
		   "  - id: OTHER\n    certificate: other-cert.pem\n"
		   /* the expired certificate is registered: TLS must refuse it anyway */
		   "  - id: LATE\n    certificate: expired-cert.pem\n",
		url);
	fclose(f);
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	server_start();
	return 0;
}

static int group_teardown(void **state)
{
	int r = dp_harness_deinit(&H);
	dp_test_receiver_free(acme_rx);
	curl_global_cleanup();
	return r;
}

/* ---- scenarios ---- */

/* Refused before any handler: 403 for no certificate, an expired one, an unknown CA's,
 * and a valid one that is no operator's. */
static void tls_refusals(void **state)
{
	char iccid[21];
	struct answer a;
	dp_harness_profile_add(&H, &(struct dp_harness_profile){.type = "tls", .owner = "ACME"},
			       iccid);
	const char *b = body("ACME", "\"iccid\":\"%s\"", iccid);
	const char *who[] = {NULL, "expired", "rogue", "stranger"};
	for (size_t i = 0; i < 4; i++) {
		es2(who[i], "downloadOrder", b, &a);
		if (a.http != 403)
			fail_msg("%s: expected 403, got %ld", who[i] ? who[i] : "no certificate",
				 a.http);
	}
	/* nothing happened to the profile */
	dp_harness_assert_state(&H, iccid, DP_PROFILE_AVAILABLE);
	/* the operator's own certificate passes */
	es2("acme", "downloadOrder", b, &a);
	assert_ok(&a);
	assert_string_equal(a.iccid, iccid);
	dp_harness_assert_state(&H, iccid, DP_PROFILE_ALLOCATED);
}

/* Only the ES2+ port asks for a client certificate (openssl s_client shows the CA names
 * a server sends in its CertificateRequest). */
static void only_es2_asks_for_certificates(void **state)
{
	for (int i = 0; i < 2; i++) {
		char cmd[400], out[8192];
		snprintf(
		    cmd, sizeof(cmd),
		    "openssl s_client -connect 127.0.0.1:%u -servername localhost </dev/null 2>&1",
		    i == 0 ? H.srv.port : H.srv.es2_port);
		FILE *p = popen(cmd, "r");
		assert_non_null(p);
		size_t n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		pclose(p);
		bool asked = strstr(out, "Acceptable client certificate CA names") != NULL;
		if (asked != (i == 1))
			fail_msg("%s port: client certificate %srequested:\n%s",
				 i == 0 ? "ES9+" : "ES2+", asked ? "" : "not ", out);
	}
}

/* Two operators: neither sees nor orders the other's profiles; the requester identifier
 * must be the certificate's operator. */
static void two_operators(void **state)
{
	char mine[21], theirs[21];
	struct answer a;
	dp_harness_profile_add(
	    &H, &(struct dp_harness_profile){.type = "acme-only", .owner = "ACME"}, mine);
	dp_harness_profile_add(
	    &H, &(struct dp_harness_profile){.type = "other-only", .owner = "OTHER"}, theirs);
	es2("other", "downloadOrder", body("OTHER", "\"iccid\":\"%s\"", mine), &a);
	assert_code(&a, "8.2.1", "1.2");
	es2("other", "downloadOrder", body("OTHER", "\"profileType\":\"acme-only\""), &a);
	assert_code(&a, "8.2.5", "1.2");
	/* ACME's certificate claiming to be OTHER */
	es2("acme", "downloadOrder", body("OTHER", "\"iccid\":\"%s\"", theirs), &a);
	assert_code(&a, "1.1", "1.2");
	dp_harness_assert_state(&H, theirs, DP_PROFILE_AVAILABLE);
	/* each reserves its own; the other cannot confirm, release or cancel it */
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\"", mine), &a);
	assert_ok(&a);
	es2("other", "confirmOrder", body("OTHER", "\"iccid\":\"%s\",\"releaseFlag\":true", mine),
	    &a);
	assert_code(&a, "8.2.1", "1.2");
	es2("other", "cancelOrder",
	    body("OTHER", "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\"", mine),
	    &a);
	assert_code(&a, "8.2.1", "1.2");
	es2("other", "releaseProfile", body("OTHER", "\"iccid\":\"%s\"", mine), &a);
	assert_code(&a, "8.2.1", "1.2");
	dp_harness_assert_state(&H, mine, DP_PROFILE_ALLOCATED);
	es2("other", "downloadOrder", body("OTHER", "\"profileType\":\"other-only\""), &a);
	assert_ok(&a);
	assert_string_equal(a.iccid, theirs);
	dp_harness_assert_state(&H, theirs, DP_PROFILE_ALLOCATED);
}

/* Format refusals, each with its own code. */
static void format_refusals(void **state)
{
	struct answer a;
	char iccid[21], bad[21];
	dp_harness_profile_add(&H, &(struct dp_harness_profile){.type = "fmt", .owner = "ACME"},
			       iccid);
	memcpy(bad, iccid, 21);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '9' ? '0' : bad[strlen(bad) - 1] + 1;
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\"", bad), &a);
	assert_code(&a, "8.2.1", "2.1");
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\",\"eid\":\"1234\"", iccid), &a);
	assert_code(&a, "8.1.1", "2.1");
	es2("acme", "downloadOrder",
	    body("ACME", "\"iccid\":\"%s\",\"eid\":\"89049032123451234512345678901234\"", iccid),
	    &a);
	assert_code(&a, "8.1.1", "2.1"); /* mod 97 is not 1 */
	es2("acme", "downloadOrder", body("ACME", "%s", ""), &a);
	assert_code(&a, "1.3.1", "2.3");
	es2("acme", "downloadOrder", "{\"iccid\":\"1\"}", &a);
	assert_code(&a, "1.3.1", "2.2"); /* no header */
	es2("acme", "downloadOrder", "not json", &a);
	assert_code(&a, "1.3.1", "2.1");
	es2("acme", "confirmOrder", body("ACME", "\"iccid\":\"%s\"", iccid), &a);
	assert_code(&a, "1.3.1", "2.2"); /* releaseFlag */
	es2("acme", "confirmOrder", body("ACME", "\"iccid\":\"%s\",\"releaseFlag\":\"yes\"", iccid),
	    &a);
	assert_code(&a, "1.3.1", "2.1");
	es2("acme", "confirmOrder",
	    body("ACME", "\"iccid\":\"%s\",\"releaseFlag\":true,\"matchingId\":\"abc\"", iccid),
	    &a);
	assert_code(&a, "8.2.6", "2.1");
	es2("acme", "confirmOrder",
	    body("ACME", "\"iccid\":\"%s\",\"releaseFlag\":true,\"smdsAddress\":\"-bad-\"", iccid),
	    &a);
	assert_code(&a, "8.9", "5.1");
	es2("acme", "cancelOrder", body("ACME", "\"iccid\":\"%s\"", iccid), &a);
	assert_code(&a, "8.2.1", "2.2");
	es2("acme", "cancelOrder",
	    body("ACME", "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Gone\"", iccid), &a);
	assert_code(&a, "8.2.1", "2.1");
	es2("acme", "releaseProfile", body("ACME", "%s", ""), &a);
	assert_code(&a, "8.2.1", "2.2");
	/* unknown ICCID and profile type */
	char unknown[21];
	assert_int_equal(dp_pg_iccid_normalise("894944999999999999", unknown), DP_OK);
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\"", unknown), &a);
	assert_code(&a, "8.2.1", "3.9");
	es2("acme", "downloadOrder", body("ACME", "\"profileType\":\"no-such-type\""), &a);
	assert_code(&a, "8.2.5", "3.9");
	es2("acme", "downloadOrder",
	    body("ACME", "\"iccid\":\"%s\",\"profileType\":\"other\"", iccid), &a);
	assert_code(&a, "8.2.5", "3.8");
	dp_harness_assert_state(&H, iccid, DP_PROFILE_AVAILABLE);
}

/* Every ES2+ transition and the refusals of states that do not allow a function. */
static void transitions(void **state)
{
	struct answer a;
	char p[21], q[21];
	struct dp_harness_device d;
	dp_harness_device_fresh(&H, NULL, 0, &d);
	dp_harness_profile_add(&H, &(struct dp_harness_profile){.type = "trans", .owner = "ACME"},
			       p);
	/* nothing to confirm, release or cancel on an Available profile */
	es2("acme", "confirmOrder", body("ACME", "\"iccid\":\"%s\",\"releaseFlag\":true", p), &a);
	assert_code(&a, "8.2.1", "3.5");
	es2("acme", "releaseProfile", body("ACME", "\"iccid\":\"%s\"", p), &a);
	assert_code(&a, "8.2.1", "3.5");
	es2("acme", "cancelOrder",
	    body("ACME", "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\"", p), &a);
	assert_code(&a, "8.2.1", "3.5");
	/* Available -> Linked; a second order of the same profile or type is refused */
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%sF\",\"eid\":\"%s\"", p, d.eid),
	    &a);
	assert_ok(&a);
	assert_string_equal(a.iccid, p); /* the trailing F is dropped */
	dp_harness_assert_state(&H, p, DP_PROFILE_LINKED);
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\"", p), &a);
	assert_code(&a, "8.2.1", "3.3");
	es2("acme", "downloadOrder", body("ACME", "\"profileType\":\"trans\""), &a);
	assert_code(&a, "8.2.5", "3.7");
	/* Linked: release not yet; another EID at confirmation is refused */
	es2("acme", "releaseProfile", body("ACME", "\"iccid\":\"%s\"", p), &a);
	assert_code(&a, "8.2.1", "3.5");
	es2("acme", "confirmOrder",
	    body("ACME",
		 "\"iccid\":\"%s\",\"releaseFlag\":false,"
		 "\"eid\":\"89049032123451234512345678901235\"",
		 p),
	    &a);
	assert_code(&a, "8.1.1", "3.10");
	/* Linked -> Confirmed with the operator's matching ID; then it is taken */
	es2("acme", "confirmOrder",
	    body("ACME", "\"iccid\":\"%s\",\"releaseFlag\":false,\"matchingId\":\"TRANS-1\"", p),
	    &a);
	assert_ok(&a);
	assert_string_equal(a.matching_id, "TRANS-1");
	assert_string_equal(a.eid, d.eid);
	assert_string_equal(a.smdp_address, H.srv.address);
	dp_harness_assert_state(&H, p, DP_PROFILE_CONFIRMED);
	es2("acme", "confirmOrder", body("ACME", "\"iccid\":\"%s\",\"releaseFlag\":true", p), &a);
	assert_code(&a, "8.2.1", "3.5");
	/* Confirmed: ES9+ refuses until released */
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "TRANS-1", NULL), "8.2", "1.2");
	dp_harness_profile_add(&H, &(struct dp_harness_profile){.type = "trans", .owner = "ACME"},
			       q);
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\"", q), &a);
	assert_ok(&a);
	dp_harness_assert_state(&H, q, DP_PROFILE_ALLOCATED);
	es2("acme", "confirmOrder",
	    body("ACME", "\"iccid\":\"%s\",\"releaseFlag\":true,\"matchingId\":\"TRANS-1\"", q),
	    &a);
	assert_code(&a, "8.2.6", "3.3");
	/* no matching ID (default SM-DP+) needs an EID */
	es2("acme", "confirmOrder",
	    body("ACME", "\"iccid\":\"%s\",\"releaseFlag\":true,\"matchingId\":\"\"", q), &a);
	assert_code(&a, "8.1.1", "2.2");
	/* cancel with the wrong EID or matching ID, then right: Confirmed -> Unavailable */
	es2("acme", "cancelOrder",
	    body("ACME",
		 "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\","
		 "\"eid\":\"89049032123451234512345678901235\"",
		 p),
	    &a);
	assert_code(&a, "8.1.1", "3.10");
	es2("acme", "cancelOrder",
	    body("ACME",
		 "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\","
		 "\"matchingId\":\"TRANS-2\"",
		 p),
	    &a);
	assert_code(&a, "8.2.6", "3.10");
	es2("acme", "cancelOrder",
	    body("ACME",
		 "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Unavailable\","
		 "\"matchingId\":\"TRANS-1\",\"eid\":\"%s\"",
		 p, d.eid),
	    &a);
	assert_ok(&a);
	dp_harness_assert_state(&H, p, DP_PROFILE_UNAVAILABLE);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "TRANS-1", NULL), "8.2.6", "3.8");
	es2("acme", "cancelOrder",
	    body("ACME", "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\"", p), &a);
	assert_code(&a, "8.2.1", "3.5");
	/* Allocated -> Available: the matching ID is free again */
	es2("acme", "cancelOrder",
	    body("ACME", "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\"", q), &a);
	assert_ok(&a);
	dp_harness_assert_state(&H, q, DP_PROFILE_AVAILABLE);
	/* Released -> Available by cancel */
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\"", q), &a);
	assert_ok(&a);
	es2("acme", "confirmOrder",
	    body("ACME", "\"iccid\":\"%s\",\"releaseFlag\":true,\"matchingId\":\"TRANS-1\"", q),
	    &a);
	assert_ok(&a);
	dp_harness_assert_state(&H, q, DP_PROFILE_RELEASED);
	es2("acme", "releaseProfile", body("ACME", "\"iccid\":\"%s\"", q), &a);
	assert_code(&a, "8.2.1", "3.5");
	es2("acme", "cancelOrder",
	    body("ACME", "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\"", q), &a);
	assert_ok(&a);
	dp_harness_assert_state(&H, q, DP_PROFILE_AVAILABLE);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "TRANS-1", NULL), "8.2.6", "3.8");
	dp_harness_device_free(&d);
}

/* downloadOrder by ICCID, confirmOrder with EID and a confirmation code, released at once;
 * the download; install and delete notifications; Available again. */
/* Waits for ACME's callback of point pt for iccid; returns its parsed body (decref it). */
static json_t *acme_callback(const char *iccid, int pt)
{
	for (unsigned t = 0; t < 15000; t += 100) {
		size_t n = dp_test_receiver_count(acme_rx);
		for (size_t i = 0; i < n; i++) {
			json_t *j = json_loads(dp_test_receiver_get(acme_rx, i)->body, 0, NULL);
			const char *ic = json_string_value(json_object_get(j, "iccid"));
			if (ic != NULL && strcmp(ic, iccid) == 0 &&
			    json_integer_value(json_object_get(j, "notificationPointId")) == pt)
				return j;
			json_decref(j);
		}
		usleep(100 * 1000);
	}
	fail_msg("no callback of point %d for %s", pt, iccid);
	return NULL;
}

static void cycle_by_iccid_with_cc(void **state)
{
	struct answer a;
	char iccid[21];
	struct dp_harness_device d;
	dp_harness_device_fresh(&H, NULL, 0, &d);
	dp_harness_profile_add(&H, &(struct dp_harness_profile){.type = "cycle", .owner = "ACME"},
			       iccid);
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\"", iccid), &a);
	assert_ok(&a);
	es2("acme", "confirmOrder",
	    body("ACME",
		 "\"iccid\":\"%s\",\"eid\":\"%s\",\"confirmationCode\":\"4711\","
		 "\"releaseFlag\":true",
		 iccid, d.eid),
	    &a);
	assert_ok(&a);
	assert_string_equal(a.eid, d.eid);
	assert_int_equal(strlen(a.matching_id), 23); /* generated: 4 groups of 5 */
	dp_harness_assert_state(&H, iccid, DP_PROFILE_RELEASED);
	/* the code is kept as a hash only */
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find(H.db, a.matching_id, &o), DP_OK);
	assert_true(o.has_cc);
	assert_int_equal(o.cc_max_attempts, 2);
	assert_string_equal(o.eid, d.eid);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, a.matching_id, "1234"), "8.2.7",
				  "3.8");
	assert_int_equal(dp_harness_download(&H, &d, a.matching_id, "4711"), DP_OK);
	dp_harness_assert_state(&H, iccid, DP_PROFILE_INSTALLED);
	/* ACME is told: BPP downloaded (3) and installed (4, with the PIR as resultData) */
	json_t *j3 = acme_callback(iccid, 3), *j4 = acme_callback(iccid, 4);
	assert_string_equal(json_string_value(json_object_get(j3, "eid")), d.eid);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(j4, "notificationPointStatus"), "status")),
			    "Executed-Success");
	assert_non_null(json_string_value(json_object_get(j4, "resultData")));
	json_decref(j3);
	json_decref(j4);
	delete_on_device(&d, iccid);
	dp_harness_assert_state(&H, iccid, DP_PROFILE_AVAILABLE);
	/* and it can be ordered again */
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\"", iccid), &a);
	assert_ok(&a);
	dp_harness_device_free(&d);
}

/* downloadOrder by profile type without EID, confirmOrder without EID or code and
 * releaseFlag false, then releaseProfile; the download. */
static void cycle_by_type_then_release(void **state)
{
	struct answer a;
	char iccid[21];
	struct dp_harness_device d;
	dp_harness_device_fresh(&H, NULL, 0, &d);
	dp_harness_profile_add(
	    &H, &(struct dp_harness_profile){.type = "cycle-type", .owner = "ACME"}, iccid);
	es2("acme", "downloadOrder", body("ACME", "\"profileType\":\"cycle-type\""), &a);
	assert_ok(&a);
	assert_string_equal(a.iccid, iccid);
	dp_harness_assert_state(&H, iccid, DP_PROFILE_ALLOCATED);
	es2("acme", "confirmOrder",
	    body("ACME", "\"iccid\":\"%s\",\"matchingId\":\"TYPE-1\",\"releaseFlag\":false", iccid),
	    &a);
	assert_ok(&a);
	assert_string_equal(a.eid, "");
	dp_harness_assert_state(&H, iccid, DP_PROFILE_CONFIRMED);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "TYPE-1", NULL), "8.2", "1.2");
	es2("acme", "releaseProfile", body("ACME", "\"iccid\":\"%s\"", iccid), &a);
	assert_ok(&a);
	dp_harness_assert_state(&H, iccid, DP_PROFILE_RELEASED);
	assert_int_equal(dp_harness_download(&H, &d, "TYPE-1", NULL), DP_OK);
	dp_harness_assert_state(&H, iccid, DP_PROFILE_INSTALLED);
	/* Installed: the order is done, nothing to cancel */
	es2("acme", "cancelOrder",
	    body("ACME", "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\"", iccid),
	    &a);
	assert_code(&a, "8.2.1", "3.5");
	delete_on_device(&d, iccid);
	dp_harness_assert_state(&H, iccid, DP_PROFILE_AVAILABLE);
	dp_harness_device_free(&d);
}

/* The default SM-DP+: EID bound at downloadOrder, an empty matching ID. */
static void cycle_default_smdp(void **state)
{
	struct answer a;
	char iccid[21];
	struct dp_harness_device d;
	dp_harness_device_fresh(&H, NULL, 0, &d);
	dp_harness_profile_add(
	    &H, &(struct dp_harness_profile){.type = "cycle-default", .owner = "ACME"}, iccid);
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\",\"eid\":\"%s\"", iccid, d.eid),
	    &a);
	assert_ok(&a);
	es2("acme", "confirmOrder",
	    body("ACME", "\"iccid\":\"%s\",\"matchingId\":\"\",\"releaseFlag\":true", iccid), &a);
	assert_ok(&a);
	assert_string_equal(a.matching_id, "");
	assert_string_equal(a.eid, d.eid);
	assert_int_equal(dp_harness_download(&H, &d, NULL, NULL), DP_OK);
	dp_harness_assert_state(&H, iccid, DP_PROFILE_INSTALLED);
	dp_harness_device_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tls_refusals),
	    cmocka_unit_test(only_es2_asks_for_certificates),
	    cmocka_unit_test(two_operators),
	    cmocka_unit_test(format_refusals),
	    cmocka_unit_test(transitions),
	    cmocka_unit_test(cycle_by_iccid_with_cc),
	    cmocka_unit_test(cycle_by_type_then_release),
	    cmocka_unit_test(cycle_default_smdp),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
