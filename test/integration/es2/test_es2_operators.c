/* Integration: ES2+ over mutual TLS against the real smdp binary (port 0 for ES9+ and for
 * ES2+, a temp database, a test PKI from `smdp pki init`), with libcurl as the operators'
 * client and the test LPA with a software eUICC for the downloads. Covers the refusals of
 * the TLS layer (no client certificate, an expired one, one from an unknown CA, one of no
 * operator), two operators who cannot see or order each other's profiles, every ES2+
 * transition and refusal with its code, and whole cycles: downloadOrder (by ICCID, by
 * profile type) -> confirmOrder (with/without EID and confirmation code, releaseFlag true,
 * or false then releaseProfile) -> ES9+ download -> install and delete notifications ->
 * the profile Available again (reuse_on_delete). */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "pki/asn1/asn1.h"
#include "pki/crypto/testpki.h"
#include "profilegen/profilegen.h"
#include "smdp/db.h"
#include "test/lpa/lpa.h"
#include "test/support/support.h"

static struct {
	char dir[256];
	const char *smdp;
	pid_t pid;
	uint16_t port, es2_port;
	char address[64];
	struct dp_db *db;
	unsigned next_iccid;
} G;

static void path(char *out, size_t cap, const char *rel)
{
	snprintf(out, cap, "%s/%s", G.dir, rel);
}

/* Runs argv (stdout to /dev/null); its exit status. */
static int run(const char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* An operator client certificate under a set's CI, with optional validity. */
static void issue_operator(const char *set, const char *name, const char *nb, const char *na)
{
	char ci[400], key[400], oc[400], ok[400];
	snprintf(ci, sizeof(ci), "%s/%s/ci-cert.pem", G.dir, set);
	snprintf(key, sizeof(key), "%s/%s/ci-key.pem", G.dir, set);
	snprintf(oc, sizeof(oc), "%s/%s-cert.pem", G.dir, name);
	snprintf(ok, sizeof(ok), "%s/%s-key.pem", G.dir, name);
	const char *argv[20] = {G.smdp,	      "pki",	  "issue",     "operator", "--ci-cert",
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
	assert_int_equal(run(argv), 0);
}

static void server_start(void)
{
	char state[400], nist[400], cert[400], key[400], ops[400], log[400], set_ops[420];
	path(state, sizeof(state), "state");
	path(nist, sizeof(nist), "nist");
	path(cert, sizeof(cert), "nist/dptls-cert.pem");
	path(key, sizeof(key), "nist/dptls-key.pem");
	path(ops, sizeof(ops), "operators.yaml");
	path(log, sizeof(log), "server.log");
	snprintf(set_ops, sizeof(set_ops), "operators_file=%s", ops);
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
				      "--pki-dir",   nist,
				      "--set",	     set_ops,
				      "--set",	     "es2_listen=127.0.0.1:0",
				      "--set",	     "reuse_on_delete=true",
				      "--set",	     "cc_max_attempts=2",
				      "--log",	     "info,db=warn",
				      NULL};
		execv(G.smdp, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	FILE *f = fdopen(out[0], "r");
	char line[512] = "";
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	char *p = strstr(line, " port="), *a = strstr(line, "address="),
	     *e = strstr(line, "es2_port=");
	if (p == NULL || a == NULL || e == NULL)
		fail_msg("ready line without ports: %s", line);
	G.pid = pid;
	G.port = (uint16_t)atoi(p + 6);
	G.es2_port = (uint16_t)atoi(e + 9);
	sscanf(a + 8, "%63s", G.address);
	assert_true(G.port > 0 && G.es2_port > 0 && G.port != G.es2_port);
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
	snprintf(url, sizeof(url), "https://localhost:%u/gsma/rsp2/es2plus/%s", G.es2_port,
		 function);
	snprintf(resolve, sizeof(resolve), "localhost:%u:127.0.0.1", G.es2_port);
	path(ca, sizeof(ca), "nist/ci-cert.pem");
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
		snprintf(cert, sizeof(cert), "%s/%s-cert.pem", G.dir, who);
		snprintf(key, sizeof(key), "%s/%s-key.pem", G.dir, who);
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
static const char *body(const char *requester, const char *fmt, ...)
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
		 requester, G.next_iccid, members[0] ? "," : "", members);
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

/* ---- the order book ---- */

/* A copy of TS48v1_A with a fresh ICCID, owned by owner, of the type. */
static void add_profile(const char *owner, const char *type, char iccid[21])
{
	struct dp_buf der, meta, out;
	struct dp_pg_package pkg;
	struct dp_pg_personal pers = {0};
	struct dp_pg_metadata m = {0};
	dp_test_read_file(dp_test_shared("ts48/TS48v1_A.der"), &der);
	dp_pg_package_init(&pkg);
	assert_int_equal(dp_pg_package_parse(der.data, der.len, &pkg), DP_OK);
	char base[19];
	snprintf(base, sizeof(base), "8949449%011u", 5000 + G.next_iccid++);
	assert_int_equal(dp_pg_iccid_normalise(base, pers.iccid), DP_OK);
	pers.has_iccid = true;
	assert_int_equal(dp_pg_personalise(&pkg, &pers), DP_OK);
	dp_buf_init(&out, 1 << 20);
	assert_int_equal(dp_pg_package_der(&pkg, &out), DP_OK);
	m.present = true;
	snprintf(m.spn, sizeof(m.spn), "es2 test");
	snprintf(m.name, sizeof(m.name), "TS48 A %s", pers.iccid);
	m.profile_class = 2;
	m.icon_type = -1;
	dp_buf_init(&meta, 4096);
	assert_int_equal(dp_pg_metadata_der(&pkg, &m, &meta), DP_OK);
	struct dp_db_profile_new p = {
	    .iccid = pers.iccid,
	    .profile_type = type,
	    .owner = owner,
	    .package = out.data,
	    .package_len = out.len,
	    .metadata = meta.data,
	    .metadata_len = meta.len,
	    .profile_class = 2,
	};
	assert_int_equal(dp_db_profile_add(G.db, &p, "test", NULL), DP_OK);
	memcpy(iccid, pers.iccid, 21);
	dp_buf_deinit(&meta);
	dp_buf_deinit(&out);
	dp_buf_deinit(&der);
	dp_pg_package_deinit(&pkg);
}

static enum dp_profile_state state_of(const char *iccid)
{
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(G.db, iccid, false, &p), DP_OK);
	enum dp_profile_state s = p.state;
	dp_db_profile_deinit(&p);
	return s;
}

#define assert_state(iccid, st)                                                                    \
	assert_string_equal(dp_profile_state_name(state_of(iccid)), dp_profile_state_name(st))

/* ---- devices ---- */

struct device {
	struct dp_euicc *e;
	struct dp_lpa *lpa;
	char eid[33];
};

/* A fresh eUICC (its own EID) under the set's EUM, and an LPA trusting the set's CI. */
static void device_new(struct device *d)
{
	char eum_cert[400], eum_key[400], ci[400], cp[400], kp[400];
	struct dp_cert *eum = NULL, *cert = NULL;
	EVP_PKEY *eum_k = NULL, *k = NULL;
	struct dp_euicc_identity *id = NULL;
	path(eum_cert, sizeof(eum_cert), "nist/eum-cert.pem");
	path(eum_key, sizeof(eum_key), "nist/eum-key.pem");
	path(ci, sizeof(ci), "nist/ci-cert.pem");
	assert_int_equal(dp_cert_load_file(eum_cert, &eum), DP_OK);
	assert_int_equal(dp_cert_key_load_file(eum_key, &eum_k), DP_OK);
	assert_int_equal(dp_testpki_make_eid("89049032", d->eid), DP_OK);
	struct dp_testpki_req req = {.role = DP_CERT_EUICC, .eid = d->eid};
	assert_int_equal(dp_testpki_issue(&req, eum, eum_k, &cert, &k), DP_OK);
	snprintf(cp, sizeof(cp), "%s/euicc-%s-cert.pem", G.dir, d->eid);
	snprintf(kp, sizeof(kp), "%s/euicc-%s-key.pem", G.dir, d->eid);
	assert_int_equal(dp_testpki_write_cert(cp, cert, true), DP_OK);
	assert_int_equal(dp_testpki_write_key(kp, k, true), DP_OK);
	assert_int_equal(dp_euicc_identity_load(cp, kp, eum_cert, &id), DP_OK);
	assert_int_equal(dp_euicc_identity_add_ci(id, ci, true), DP_OK);
	assert_int_equal(dp_euicc_new(id, &d->e), DP_OK);
	struct dp_lpa_options o = {.http = {.ca_file = ci}};
	assert_int_equal(dp_lpa_new(d->e, &o, &d->lpa), DP_OK);
	dp_cert_free(eum);
	dp_cert_free(cert);
	EVP_PKEY_free(eum_k);
	EVP_PKEY_free(k);
}

static void device_free(struct device *d)
{
	dp_lpa_free(d->lpa);
	dp_euicc_free(d->e);
}

static int download(struct device *d, const char *mid, const char *cc)
{
	struct dp_lpa_install_result res;
	struct dp_lpa_download_params p = {
	    .smdp_address = G.address,
	    .matching_id = mid,
	    .confirmation_code = cc,
	};
	return dp_lpa_download(d->lpa, &p, &res);
}

static void assert_es9_refused(const struct device *d, int r, const char *subject,
			       const char *reason)
{
	const struct dp_lpa_call *c = dp_lpa_last_call(d->lpa);
	if (r != DP_ERR_LPA_REFUSED || strcmp(c->st.subject, subject) != 0 ||
	    strcmp(c->st.reason, reason) != 0)
		fail_msg("%s: expected %s/%s, got %s %s/%s", c->function, subject, reason,
			 dp_errname(r), c->st.subject, c->st.reason);
}

/* The eUICC deletes the profile and the LPA sends the notifications. */
static void delete_on_device(struct device *d, const char *iccid)
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
	snprintf(G.dir, sizeof(G.dir), "/tmp/smdp-es2-XXXXXX");
	assert_non_null(mkdtemp(G.dir));
	G.smdp = getenv("SMDP_BIN");
	assert_non_null(G.smdp);
	char nist[400], rogue[400], ops[400], a[400], b[400];
	path(nist, sizeof(nist), "nist");
	path(rogue, sizeof(rogue), "rogue");
	const char *a1[] = {G.smdp, "pki", "init", "--dir", nist, "--host", "localhost", NULL};
	assert_int_equal(run(a1), 0);
	const char *a2[] = {G.smdp, "pki", "init", "--dir", rogue, "--host", "localhost", NULL};
	assert_int_equal(run(a2), 0);
	/* ACME is the set's operator; OTHER a second one; the rest are refused */
	issue_operator("nist", "other", NULL, NULL);
	issue_operator("nist", "stranger", NULL, NULL);
	issue_operator("nist", "expired", "20200101000000Z", "20210101000000Z");
	snprintf(a, sizeof(a), "%s/nist/operator-cert.pem", G.dir);
	snprintf(b, sizeof(b), "%s/acme-cert.pem", G.dir);
	assert_int_equal(link(a, b), 0);
	snprintf(a, sizeof(a), "%s/nist/operator-key.pem", G.dir);
	snprintf(b, sizeof(b), "%s/acme-key.pem", G.dir);
	assert_int_equal(link(a, b), 0);
	snprintf(a, sizeof(a), "%s/rogue/operator-cert.pem", G.dir);
	snprintf(b, sizeof(b), "%s/rogue-cert.pem", G.dir);
	assert_int_equal(link(a, b), 0);
	snprintf(a, sizeof(a), "%s/rogue/operator-key.pem", G.dir);
	snprintf(b, sizeof(b), "%s/rogue-key.pem", G.dir);
	assert_int_equal(link(a, b), 0);
	path(ops, sizeof(ops), "operators.yaml");
	FILE *f = fopen(ops, "w");
	assert_non_null(f);
	fprintf(f, "operators:\n"
		   "  - id: ACME\n    certificate: acme-cert.pem\n"
		   "  - id: OTHER\n    certificate: other-cert.pem\n"
		   /* the expired certificate is registered: TLS must refuse it anyway */
		   "  - id: LATE\n    certificate: expired-cert.pem\n");
	fclose(f);
	assert_int_equal(dp_asn1_init(), DP_OK);
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	server_start();
	char db[400];
	path(db, sizeof(db), "state/smdp.db");
	assert_int_equal(dp_db_open(db, &G.db), DP_OK);
	return 0;
}

static int group_teardown(void **state)
{
	if (G.pid > 0) {
		kill(G.pid, SIGTERM);
		int st = 0;
		waitpid(G.pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
	}
	dp_db_close(G.db);
	curl_global_cleanup();
	if (getenv("SMDP_KEEP") == NULL) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", G.dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}

/* ---- scenarios ---- */

/* Refused before any handler: 403 for no certificate, an expired one, an unknown CA's,
 * and a valid one that is no operator's. */
static void tls_refusals(void **state)
{
	char iccid[21];
	struct answer a;
	add_profile("ACME", "tls", iccid);
	const char *b = body("ACME", "\"iccid\":\"%s\"", iccid);
	const char *who[] = {NULL, "expired", "rogue", "stranger"};
	for (size_t i = 0; i < 4; i++) {
		es2(who[i], "downloadOrder", b, &a);
		if (a.http != 403)
			fail_msg("%s: expected 403, got %ld", who[i] ? who[i] : "no certificate",
				 a.http);
	}
	/* nothing happened to the profile */
	assert_state(iccid, DP_PROFILE_AVAILABLE);
	/* the operator's own certificate passes */
	es2("acme", "downloadOrder", b, &a);
	assert_ok(&a);
	assert_string_equal(a.iccid, iccid);
	assert_state(iccid, DP_PROFILE_ALLOCATED);
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
		    i == 0 ? G.port : G.es2_port);
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
	add_profile("ACME", "acme-only", mine);
	add_profile("OTHER", "other-only", theirs);
	es2("other", "downloadOrder", body("OTHER", "\"iccid\":\"%s\"", mine), &a);
	assert_code(&a, "8.2.1", "1.2");
	es2("other", "downloadOrder", body("OTHER", "\"profileType\":\"acme-only\""), &a);
	assert_code(&a, "8.2.5", "1.2");
	/* ACME's certificate claiming to be OTHER */
	es2("acme", "downloadOrder", body("OTHER", "\"iccid\":\"%s\"", theirs), &a);
	assert_code(&a, "1.1", "1.2");
	assert_state(theirs, DP_PROFILE_AVAILABLE);
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
	assert_state(mine, DP_PROFILE_ALLOCATED);
	es2("other", "downloadOrder", body("OTHER", "\"profileType\":\"other-only\""), &a);
	assert_ok(&a);
	assert_string_equal(a.iccid, theirs);
	assert_state(theirs, DP_PROFILE_ALLOCATED);
}

/* Format refusals, each with its own code. */
static void format_refusals(void **state)
{
	struct answer a;
	char iccid[21], bad[21];
	add_profile("ACME", "fmt", iccid);
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
	es2("acme", "downloadOrder", body("ACME", ""), &a);
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
	es2("acme", "releaseProfile", body("ACME", ""), &a);
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
	assert_state(iccid, DP_PROFILE_AVAILABLE);
}

/* Every ES2+ transition and the refusals of states that do not allow a function. */
static void transitions(void **state)
{
	struct answer a;
	char p[21], q[21];
	struct device d;
	device_new(&d);
	add_profile("ACME", "trans", p);
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
	assert_state(p, DP_PROFILE_LINKED);
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
	assert_string_equal(a.smdp_address, G.address);
	assert_state(p, DP_PROFILE_CONFIRMED);
	es2("acme", "confirmOrder", body("ACME", "\"iccid\":\"%s\",\"releaseFlag\":true", p), &a);
	assert_code(&a, "8.2.1", "3.5");
	/* Confirmed: ES9+ refuses until released */
	assert_es9_refused(&d, download(&d, "TRANS-1", NULL), "8.2", "1.2");
	add_profile("ACME", "trans", q);
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\"", q), &a);
	assert_ok(&a);
	assert_state(q, DP_PROFILE_ALLOCATED);
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
	assert_state(p, DP_PROFILE_UNAVAILABLE);
	assert_es9_refused(&d, download(&d, "TRANS-1", NULL), "8.2.6", "3.8");
	es2("acme", "cancelOrder",
	    body("ACME", "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\"", p), &a);
	assert_code(&a, "8.2.1", "3.5");
	/* Allocated -> Available: the matching ID is free again */
	es2("acme", "cancelOrder",
	    body("ACME", "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\"", q), &a);
	assert_ok(&a);
	assert_state(q, DP_PROFILE_AVAILABLE);
	/* Released -> Available by cancel */
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\"", q), &a);
	assert_ok(&a);
	es2("acme", "confirmOrder",
	    body("ACME", "\"iccid\":\"%s\",\"releaseFlag\":true,\"matchingId\":\"TRANS-1\"", q),
	    &a);
	assert_ok(&a);
	assert_state(q, DP_PROFILE_RELEASED);
	es2("acme", "releaseProfile", body("ACME", "\"iccid\":\"%s\"", q), &a);
	assert_code(&a, "8.2.1", "3.5");
	es2("acme", "cancelOrder",
	    body("ACME", "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\"", q), &a);
	assert_ok(&a);
	assert_state(q, DP_PROFILE_AVAILABLE);
	assert_es9_refused(&d, download(&d, "TRANS-1", NULL), "8.2.6", "3.8");
	device_free(&d);
}

/* downloadOrder by ICCID, confirmOrder with EID and a confirmation code, released at once;
 * the download; install and delete notifications; Available again. */
static void cycle_by_iccid_with_cc(void **state)
{
	struct answer a;
	char iccid[21];
	struct device d;
	device_new(&d);
	add_profile("ACME", "cycle", iccid);
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
	assert_state(iccid, DP_PROFILE_RELEASED);
	/* the code is kept as a hash only */
	struct dp_db_order o;
	assert_int_equal(dp_db_order_find(G.db, a.matching_id, &o), DP_OK);
	assert_true(o.has_cc);
	assert_int_equal(o.cc_max_attempts, 2);
	assert_string_equal(o.eid, d.eid);
	assert_es9_refused(&d, download(&d, a.matching_id, "1234"), "8.2.7", "3.8");
	assert_int_equal(download(&d, a.matching_id, "4711"), DP_OK);
	assert_state(iccid, DP_PROFILE_INSTALLED);
	delete_on_device(&d, iccid);
	assert_state(iccid, DP_PROFILE_AVAILABLE);
	/* and it can be ordered again */
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\"", iccid), &a);
	assert_ok(&a);
	device_free(&d);
}

/* downloadOrder by profile type without EID, confirmOrder without EID or code and
 * releaseFlag false, then releaseProfile; the download. */
static void cycle_by_type_then_release(void **state)
{
	struct answer a;
	char iccid[21];
	struct device d;
	device_new(&d);
	add_profile("ACME", "cycle-type", iccid);
	es2("acme", "downloadOrder", body("ACME", "\"profileType\":\"cycle-type\""), &a);
	assert_ok(&a);
	assert_string_equal(a.iccid, iccid);
	assert_state(iccid, DP_PROFILE_ALLOCATED);
	es2("acme", "confirmOrder",
	    body("ACME", "\"iccid\":\"%s\",\"matchingId\":\"TYPE-1\",\"releaseFlag\":false", iccid),
	    &a);
	assert_ok(&a);
	assert_string_equal(a.eid, "");
	assert_state(iccid, DP_PROFILE_CONFIRMED);
	assert_es9_refused(&d, download(&d, "TYPE-1", NULL), "8.2", "1.2");
	es2("acme", "releaseProfile", body("ACME", "\"iccid\":\"%s\"", iccid), &a);
	assert_ok(&a);
	assert_state(iccid, DP_PROFILE_RELEASED);
	assert_int_equal(download(&d, "TYPE-1", NULL), DP_OK);
	assert_state(iccid, DP_PROFILE_INSTALLED);
	/* Installed: the order is done, nothing to cancel */
	es2("acme", "cancelOrder",
	    body("ACME", "\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\"", iccid),
	    &a);
	assert_code(&a, "8.2.1", "3.5");
	delete_on_device(&d, iccid);
	assert_state(iccid, DP_PROFILE_AVAILABLE);
	device_free(&d);
}

/* The default SM-DP+: EID bound at downloadOrder, an empty matching ID. */
static void cycle_default_smdp(void **state)
{
	struct answer a;
	char iccid[21];
	struct device d;
	device_new(&d);
	add_profile("ACME", "cycle-default", iccid);
	es2("acme", "downloadOrder", body("ACME", "\"iccid\":\"%s\",\"eid\":\"%s\"", iccid, d.eid),
	    &a);
	assert_ok(&a);
	es2("acme", "confirmOrder",
	    body("ACME", "\"iccid\":\"%s\",\"matchingId\":\"\",\"releaseFlag\":true", iccid), &a);
	assert_ok(&a);
	assert_string_equal(a.matching_id, "");
	assert_string_equal(a.eid, d.eid);
	assert_int_equal(download(&d, NULL, NULL), DP_OK);
	assert_state(iccid, DP_PROFILE_INSTALLED);
	device_free(&d);
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
