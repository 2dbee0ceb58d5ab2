/* Integration: the real smdp binary on a free port over HTTPS, a temp database and a
 * generated test PKI (NIST and Brainpool sets, plus the GSMA SGP.26 chain from ../shared),
 * driven by the test LPA with software eUICCs. Every ES9+ function end to end, the
 * refusals with their exact subject/reason codes, a restart between two calls, retries,
 * cancellations, notifications, and 50 devices against a pool of 40 profiles.
 * Orders and profiles are put into the order book through the storage interface (the
 * admin CLI that does the same is tested by its own scenario). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/crypto/testpki.h"
#include "profilegen/profilegen.h"
#include "smdp/bpp.h"
#include "smdp/db.h"
#include "test/lpa/lpa.h"
#include "test/support/support.h"

#define PATHN 512
#define N_DEVICES 50
#define N_POOL 40

struct server {
	pid_t pid;
	uint16_t port;
	char address[64];
	char brp_address[64]; /* the second endpoint: the Brainpool set only */
};

static struct {
	char dir[64];
	char db_path[PATHN];
	const char *smdp;
	struct server srv;
	struct dp_db *db;
	unsigned next_iccid;
} G;

/* ---- helpers ---- */

static void path(char *out, size_t cap, const char *rel)
{
	snprintf(out, cap, "%s/%s", G.dir, rel);
}

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

/* Starts smdp serve (port 0 = any) and reads its ready line. */
static void server_start(uint16_t port, const char *extra)
{
	char state[PATHN], nist[PATHN], brp[PATHN], cert[PATHN], key[PATHN], listen[64], log[PATHN];
	char sgp26_ci[4 * PATHN], signers[8 * PATHN], endpoint[8 * PATHN];
	path(state, sizeof(state), "state");
	path(nist, sizeof(nist), "nist");
	path(brp, sizeof(brp), "brp");
	path(cert, sizeof(cert), "nist/dptls-cert.pem");
	path(key, sizeof(key), "nist/dptls-key.pem");
	path(log, sizeof(log), "server.log");
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	snprintf(endpoint, sizeof(endpoint), "127.0.0.1:0,%s,%s,%s", cert, key, brp);
	/* dp_test_shared returns static storage: one call per copy */
	char a[4][PATHN];
	snprintf(a[0], sizeof(a[0]), "%s", dp_test_shared("sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.der"));
	snprintf(a[1], sizeof(a[1]), "%s", dp_test_shared("sgp26/CertificateIssuer/CERT_CI_ECDSA_BRP.der"));
	snprintf(sgp26_ci, sizeof(sgp26_ci), "ci_certs=%s,%s", a[0], a[1]);
	snprintf(a[0], sizeof(a[0]), "%s", dp_test_shared("sgp26/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der"));
	snprintf(a[1], sizeof(a[1]), "%s", dp_test_shared("sgp26/DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem"));
	snprintf(a[2], sizeof(a[2]), "%s", dp_test_shared("sgp26/DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der"));
	snprintf(a[3], sizeof(a[3]), "%s", dp_test_shared("sgp26/DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem"));
	snprintf(signers, sizeof(signers), "signers=%s:%s,%s:%s", a[0], a[1], a[2], a[3]);
	int out[2];
	assert_int_equal(pipe(out), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 2);
		close(out[0]);
		const char *argv[32] = { G.smdp, "serve", "--state-dir", state, "--listen", listen,
					 "--tls-cert", cert, "--tls-key", key, "--pki-dir", nist,
					 "--pki-dir", brp, "--set", sgp26_ci, "--set", signers,
					 "--log", "info,db=warn", "--endpoint", endpoint };
		size_t n = 22;
		if (extra != NULL) {
			argv[n++] = "--set";
			argv[n++] = extra;
		}
		argv[n] = NULL;
		execv(G.smdp, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	FILE *f = fdopen(out[0], "r");
	char line[512] = "", line2[512] = "";
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(fgets(line2, sizeof(line2), f));
	fclose(f);
	char *e2 = strstr(line2, "address=");
	assert_true(strncmp(line2, "smdp: endpoint https://127.0.0.1:", 33) == 0);
	assert_non_null(e2);
	sscanf(e2 + 8, "%63s", G.srv.brp_address);
	char *p = strstr(line, "port="), *a2 = strstr(line, "address=");
	assert_non_null(p);
	assert_non_null(a2);
	G.srv.pid = pid;
	G.srv.port = (uint16_t)atoi(p + 5);
	sscanf(a2 + 8, "%63s", G.srv.address);
	assert_true(G.srv.port > 0);
}

static void server_stop(void)
{
	if (G.srv.pid <= 0)
		return;
	kill(G.srv.pid, SIGTERM);
	int st = 0;
	waitpid(G.srv.pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	G.srv.pid = 0;
}

/* Imports a copy of TS48v1_A with a fresh ICCID; returns its ICCID. */
static void add_profile(const char *type, bool ppk, int profile_class, char iccid[21])
{
	struct dp_buf der, meta, out;
	struct dp_pg_package pkg;
	struct dp_pg_personal pers = { 0 };
	struct dp_pg_metadata m = { 0 };
	dp_test_read_file(dp_test_shared("ts48/TS48v1_A.der"), &der);
	dp_pg_package_init(&pkg);
	assert_int_equal(dp_pg_package_parse(der.data, der.len, &pkg), DP_OK);
	char base[19];
	snprintf(base, sizeof(base), "8949449%011u", 1000 + G.next_iccid++);
	assert_int_equal(dp_pg_iccid_normalise(base, pers.iccid), DP_OK);
	pers.has_iccid = true;
	assert_int_equal(dp_pg_personalise(&pkg, &pers), DP_OK);
	dp_buf_init(&out, 1 << 20);
	assert_int_equal(dp_pg_package_der(&pkg, &out), DP_OK);
	m.present = true;
	snprintf(m.spn, sizeof(m.spn), "smdp test");
	snprintf(m.name, sizeof(m.name), "TS48 A %s", pers.iccid);
	m.profile_class = profile_class;
	m.icon_type = -1;
	dp_buf_init(&meta, 4096);
	assert_int_equal(dp_pg_metadata_der(&pkg, &m, &meta), DP_OK);
	struct dp_db_profile_new p = {
		.iccid = pers.iccid, .profile_type = type, .owner = "test",
		.package = out.data, .package_len = out.len,
		.metadata = meta.data, .metadata_len = meta.len,
		.profile_class = profile_class,
	};
	struct dp_buf prot;
	struct dp_session_keys k;
	dp_buf_init(&prot, 1 << 20);
	if (ppk) {
		/* pre-protected at import (the PPK variant of the BPP) */
		assert_int_equal(dp_bpp_protect(out.data, out.len, &k, &prot), DP_OK);
		p.package = prot.data;
		p.package_len = prot.len;
		p.ppk = &k;
	}
	assert_int_equal(dp_db_profile_add(G.db, &p, "test", NULL), DP_OK);
	memcpy(iccid, pers.iccid, 21);
	dp_buf_deinit(&prot);
	dp_buf_deinit(&meta);
	dp_buf_deinit(&out);
	dp_buf_deinit(&der);
	dp_pg_package_deinit(&pkg);
}

struct order_opts {
	const char *matching_id;
	const char *eid;
	const char *cc;
	time_t expires_at;
	unsigned max_attempts;
	bool reuse_on_delete;
	bool pool;
	const char *type;
	bool ppk;
	int profile_class;
};

/* A profile and an order for it; iccid receives the profile's. */
static void add_order(const struct order_opts *o, char iccid[21])
{
	uint8_t cc_hash[32];
	unsigned int n;
	char ic[21] = "";
	if (!o->pool)
		add_profile(o->type ? o->type : "single", o->ppk,
			    o->profile_class ? o->profile_class : 2, ic);
	if (o->cc)
		assert_int_equal(EVP_Digest(o->cc, strlen(o->cc), cc_hash, &n, EVP_sha256(), NULL), 1);
	struct dp_db_order_new on = {
		.matching_id = o->matching_id,
		.iccid = o->pool ? NULL : ic,
		.profile_type = o->type,
		.pool = o->pool,
		.eid = o->eid,
		.cc_hash = o->cc ? cc_hash : NULL,
		.expires_at = o->expires_at,
		.max_attempts = o->max_attempts ? o->max_attempts : 5,
		.cc_max_attempts = 3,
		.reuse_on_delete = o->reuse_on_delete,
		.owner = "test",
	};
	assert_int_equal(dp_db_order_add(G.db, &on, "test", NULL, NULL), DP_OK);
	if (iccid != NULL)
		memcpy(iccid, ic, 21);
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

/* A device: a test eUICC of the generated NIST set (or another set / SGP.26) and an LPA. */
struct device {
	struct dp_euicc *e;
	struct dp_lpa *lpa;
};

static void device_from(struct device *d, struct dp_euicc_identity *id, const char *ca_dir)
{
	char ci[PATHN], ca[PATHN];
	/* trust both generated CIs for verification (one may be there already, for signing) */
	const char *sets[] = { "nist", "brp" };
	for (int i = 0; i < 2; i++) {
		snprintf(ci, sizeof(ci), "%s/%s/ci-cert.pem", G.dir, sets[i]);
		int r = dp_euicc_identity_add_ci(id, ci, false);
		assert_true(r == DP_OK || r == DP_ERR_INVAL);
	}
	(void)ca_dir;
	assert_int_equal(dp_euicc_new(id, &d->e), DP_OK);
	path(ca, sizeof(ca), "nist/ci-cert.pem");
	struct dp_lpa_options o = { .http = { .ca_file = ca } };
	assert_int_equal(dp_lpa_new(d->e, &o, &d->lpa), DP_OK);
}

/* set: "nist" or "brp": the eUICC of that generated set, signing with its CI. */
static void device_new(struct device *d, const char *set)
{
	char cert[PATHN], key[PATHN], eum[PATHN], ci[PATHN];
	struct dp_euicc_identity *id = NULL;
	snprintf(cert, sizeof(cert), "%s/%s/euicc-cert.pem", G.dir, set);
	snprintf(key, sizeof(key), "%s/%s/euicc-key.pem", G.dir, set);
	snprintf(eum, sizeof(eum), "%s/%s/eum-cert.pem", G.dir, set);
	snprintf(ci, sizeof(ci), "%s/%s/ci-cert.pem", G.dir, set);
	assert_int_equal(dp_euicc_identity_load(cert, key, eum, &id), DP_OK);
	assert_int_equal(dp_euicc_identity_add_ci(id, ci, true), DP_OK);
	device_from(d, id, set);
}

/* A device with a fresh eUICC certificate (its own EID) under the NIST EUM. */
static void device_fresh_eid(struct device *d, time_t not_after, const char *prefix,
			     char eid[33]);

static void device_fresh(struct device *d, time_t not_after, char eid[33])
{
	device_fresh_eid(d, not_after, "89049032", eid);
}

/* prefix: the EID's first digits (the EUM's range is 89049032) */
static void device_fresh_eid(struct device *d, time_t not_after, const char *prefix,
			     char eid[33])
{
	char eum_cert[PATHN], eum_key[PATHN], ci[PATHN];
	struct dp_cert *eum = NULL, *cert = NULL;
	EVP_PKEY *eum_k = NULL, *k = NULL;
	struct dp_euicc_identity *id = NULL;
	path(eum_cert, sizeof(eum_cert), "nist/eum-cert.pem");
	path(eum_key, sizeof(eum_key), "nist/eum-key.pem");
	path(ci, sizeof(ci), "nist/ci-cert.pem");
	assert_int_equal(dp_cert_load_file(eum_cert, &eum), DP_OK);
	assert_int_equal(dp_cert_key_load_file(eum_key, &eum_k), DP_OK);
	char e[33];
	assert_int_equal(dp_testpki_make_eid(prefix, e), DP_OK);
	struct dp_testpki_req req = { .role = DP_CERT_EUICC, .eid = e, .not_after = not_after };
	if (not_after != 0)
		req.not_before = not_after - 86400;
	assert_int_equal(dp_testpki_issue(&req, eum, eum_k, &cert, &k), DP_OK);
	char cp[PATHN], kp[PATHN];
	snprintf(cp, sizeof(cp), "%s/euicc-%s-cert.pem", G.dir, e);
	snprintf(kp, sizeof(kp), "%s/euicc-%s-key.pem", G.dir, e);
	assert_int_equal(dp_testpki_write_cert(cp, cert, true), DP_OK);
	assert_int_equal(dp_testpki_write_key(kp, k, true), DP_OK);
	assert_int_equal(dp_euicc_identity_load(cp, kp, eum_cert, &id), DP_OK);
	assert_int_equal(dp_euicc_identity_add_ci(id, ci, true), DP_OK);
	device_from(d, id, "nist");
	if (eid != NULL)
		memcpy(eid, e, 33);
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

static const char *eid_of(const struct device *d)
{
	return dp_euicc_identity_eid(dp_euicc_identity(d->e));
}

/* Asserts that the last ES9+ call was refused with subject/reason. */
static void assert_refused(const struct device *d, int r, const char *subject, const char *reason)
{
	const struct dp_lpa_call *c = dp_lpa_last_call(d->lpa);
	if (r != DP_ERR_LPA_REFUSED || strcmp(c->st.subject, subject) != 0 ||
	    strcmp(c->st.reason, reason) != 0)
		fail_msg("%s: expected refusal %s/%s, got r=%s %s/%s (%s) [%s]", c->function,
			 subject, reason, dp_errname(r), c->st.subject, c->st.reason, c->st.message,
			 dp_err_detail());
}

static int download(struct device *d, const char *mid, const char *cc)
{
	struct dp_lpa_install_result res;
	struct dp_lpa_download_params p = {
		.smdp_address = G.srv.address, .matching_id = mid, .confirmation_code = cc,
	};
	return dp_lpa_download(d->lpa, &p, &res);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	snprintf(G.dir, sizeof(G.dir), "/tmp/smdp-es9-XXXXXX");
	assert_non_null(mkdtemp(G.dir));
	G.smdp = getenv("SMDP_BIN");
	assert_non_null(G.smdp);
	char nist[PATHN], brp[PATHN];
	path(nist, sizeof(nist), "nist");
	path(brp, sizeof(brp), "brp");
	const char *a1[] = { G.smdp, "pki", "init", "--dir", nist, "--host", "localhost", NULL };
	assert_int_equal(run(a1), 0);
	const char *a2[] = { G.smdp, "pki", "init", "--dir", brp, "--host", "localhost", "--curve",
			     "brainpool", NULL };
	assert_int_equal(run(a2), 0);
	assert_int_equal(dp_asn1_init(), DP_OK);
	server_start(0, NULL);
	path(G.db_path, sizeof(G.db_path), "state/smdp.db");
	assert_int_equal(dp_db_open(G.db_path, &G.db), DP_OK);
	return 0;
}

static int group_teardown(void **state)
{
	server_stop();
	dp_db_close(G.db);
	char cmd[400];
	if (getenv("SMDP_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", G.dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}

/* ---- scenarios ---- */

static void full_download(void **state)
{
	struct device d;
	char iccid[21];
	device_new(&d, "nist");
	add_order(&(struct order_opts){ .matching_id = "FULL-1" }, iccid);
	assert_int_equal(download(&d, "FULL-1", NULL), DP_OK);
	/* the PIR went with handleNotification: the profile is Installed */
	assert_int_equal(state_of(iccid), DP_PROFILE_INSTALLED);
	assert_int_equal(dp_euicc_profile_count(d.e), 1);
	/* the same matching ID again: the order is done */
	assert_refused(&d, download(&d, "FULL-1", NULL), "8.2.6", "3.8");
	device_free(&d);
}

static void full_download_ppk_and_brainpool(void **state)
{
	struct device d;
	char iccid[21];
	device_new(&d, "brp");
	add_order(&(struct order_opts){ .matching_id = "BRP-1", .ppk = true }, iccid);
	assert_int_equal(download(&d, "BRP-1", NULL), DP_OK);
	assert_int_equal(state_of(iccid), DP_PROFILE_INSTALLED);
	device_free(&d);
}

/* The second endpoint serves only the Brainpool set: a Brainpool device downloads there,
 * a NIST device is refused with 8.8.2/3.1 (no CI in common). */
static void brainpool_endpoint(void **state)
{
	struct device d, nist;
	char iccid[21];
	struct dp_lpa_install_result res;
	device_new(&d, "brp");
	device_new(&nist, "nist");
	add_order(&(struct order_opts){ .matching_id = "BRP-EP-1" }, iccid);
	struct dp_lpa_download_params p = { .smdp_address = G.srv.brp_address,
					    .matching_id = "BRP-EP-1" };
	assert_refused(&nist, dp_lpa_download(nist.lpa, &p, &res), "8.8.2", "3.1");
	assert_int_equal(dp_lpa_download(d.lpa, &p, &res), DP_OK);
	assert_int_equal(state_of(iccid), DP_PROFILE_INSTALLED);
	device_free(&d);
	device_free(&nist);
}

static void full_download_sgp26(void **state)
{
	struct device d;
	struct dp_euicc_identity *id = NULL;
	char iccid[21];
	assert_int_equal(dp_euicc_identity_load_sgp26(dp_test_shared("sgp26"), DP_CURVE_NIST_P256,
						       &id),
			 DP_OK);
	device_from(&d, id, "nist");
	add_order(&(struct order_opts){ .matching_id = "SGP26-1", .eid = eid_of(&d) }, iccid);
	assert_int_equal(download(&d, "SGP26-1", NULL), DP_OK);
	assert_int_equal(state_of(iccid), DP_PROFILE_INSTALLED);
	device_free(&d);
}

static void confirmation_code(void **state)
{
	struct device d;
	char iccid[21];
	device_fresh(&d, 0, NULL);
	add_order(&(struct order_opts){ .matching_id = "CC-1", .cc = "4711" }, iccid);
	/* the eUICC itself refuses PrepareDownload without a code when ccRequiredFlag is set;
	 * the LPA forwards its error and the server ends the session (8.1/6.1) */
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, G.srv.address), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, "CC-1"), DP_OK);
	assert_true(dp_lpa_cc_required(d.lpa));
	assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_ERR_LPA_EUICC);
	assert_refused(&d, dp_lpa_get_bound_profile_package(d.lpa), "8.1", "6.1");
	assert_int_equal(state_of(iccid), DP_PROFILE_RELEASED);
	assert_refused(&d, download(&d, "CC-1", "1234"), "8.2.7", "3.8");
	assert_int_equal(download(&d, "CC-1", "4711"), DP_OK);
	assert_int_equal(state_of(iccid), DP_PROFILE_INSTALLED);
	/* three wrong codes end the order */
	add_order(&(struct order_opts){ .matching_id = "CC-2", .cc = "4711" }, iccid);
	assert_refused(&d, download(&d, "CC-2", "1"), "8.2.7", "3.8");
	assert_refused(&d, download(&d, "CC-2", "2"), "8.2.7", "3.8");
	assert_refused(&d, download(&d, "CC-2", "3"), "8.2.7", "6.4");
	assert_int_equal(state_of(iccid), DP_PROFILE_ERROR);
	assert_refused(&d, download(&d, "CC-2", "4711"), "8.2.6", "3.8");
	device_free(&d);
}

static void default_smdp(void **state)
{
	struct device d;
	char a[21], b[21];
	device_fresh(&d, 0, NULL);
	/* no order for this EID yet */
	assert_refused(&d, download(&d, NULL, NULL), "8.2.6", "3.8");
	add_order(&(struct order_opts){ .eid = eid_of(&d) }, a);
	assert_int_equal(download(&d, NULL, NULL), DP_OK);
	assert_int_equal(state_of(a), DP_PROFILE_INSTALLED);
	add_order(&(struct order_opts){ .eid = eid_of(&d) }, b);
	assert_int_equal(download(&d, "", NULL), DP_OK);
	assert_int_equal(state_of(b), DP_PROFILE_INSTALLED);
	device_free(&d);
}

static void refusals(void **state)
{
	struct device d, other;
	char iccid[21];
	device_fresh(&d, 0, NULL);
	device_fresh(&other, 0, NULL);
	/* 8.8.1/3.8: not our address (the same server reached as 127.0.0.1, TLS unchecked) */
	struct device lab;
	{
		struct dp_euicc_identity *id = NULL;
		char cert[PATHN], key[PATHN], eum[PATHN];
		path(cert, sizeof(cert), "nist/euicc-cert.pem");
		path(key, sizeof(key), "nist/euicc-key.pem");
		path(eum, sizeof(eum), "nist/eum-cert.pem");
		assert_int_equal(dp_euicc_identity_load(cert, key, eum, &id), DP_OK);
		path(cert, sizeof(cert), "nist/ci-cert.pem");
		assert_int_equal(dp_euicc_identity_add_ci(id, cert, true), DP_OK);
		assert_int_equal(dp_euicc_new(id, &lab.e), DP_OK);
		struct dp_lpa_options o = { .http = { .insecure = true } };
		assert_int_equal(dp_lpa_new(lab.e, &o, &lab.lpa), DP_OK);
		char ip[64];
		snprintf(ip, sizeof(ip), "127.0.0.1:%u", G.srv.port);
		assert_refused(&lab, dp_lpa_initiate_authentication(lab.lpa, ip), "8.8.1", "3.8");
		/* the address is compared without regard to case */
		snprintf(ip, sizeof(ip), "LocalHost:%u", G.srv.port);
		assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ip), DP_OK);
		assert_int_equal(dp_lpa_cancel_session(d.lpa, DP_LPA_CANCEL_POSTPONED), DP_OK);
		device_free(&lab);
	}
	/* 8.2.6/3.8: unknown matching ID */
	assert_refused(&d, download(&d, "NO-SUCH-ORDER", NULL), "8.2.6", "3.8");
	/* 8.1.1/3.8: the order is for another EID */
	add_order(&(struct order_opts){ .matching_id = "EID-1", .eid = eid_of(&other) }, iccid);
	assert_refused(&d, download(&d, "EID-1", NULL), "8.1.1", "3.8");
	assert_int_equal(download(&other, "EID-1", NULL), DP_OK);
	/* 8.8.5/4.10: expired order */
	add_order(&(struct order_opts){ .matching_id = "EXP-1", .expires_at = time(NULL) - 10 },
		  iccid);
	assert_refused(&d, download(&d, "EXP-1", NULL), "8.8.5", "4.10");
	assert_int_equal(state_of(iccid), DP_PROFILE_ERROR);
	/* 8.8.5/6.4: attempts used up (two attempts cancelled, the third refused) */
	add_order(&(struct order_opts){ .matching_id = "ATT-1", .max_attempts = 2 }, iccid);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(dp_lpa_initiate_authentication(d.lpa, G.srv.address), DP_OK);
		assert_int_equal(dp_lpa_authenticate_client(d.lpa, "ATT-1"), DP_OK);
		assert_int_equal(dp_lpa_cancel_session(d.lpa, DP_LPA_CANCEL_POSTPONED), DP_OK);
	}
	assert_refused(&d, download(&d, "ATT-1", NULL), "8.8.5", "6.4");
	/* 8.10.1/3.9: an unknown transactionId */
	assert_int_equal(dp_lpa_set_session(d.lpa, G.srv.address, "00112233445566778899AABBCCDDEEFF"),
			 DP_OK);
	assert_refused(&d, dp_lpa_cancel_session(d.lpa, DP_LPA_CANCEL_POSTPONED), "8.10.1", "3.9");
	device_free(&d);
	device_free(&other);
}

static void refusals_euicc(void **state)
{
	struct device d;
	char iccid[21];
	/* 8.1/6.1: the eUICC's signatures do not verify */
	device_fresh(&d, 0, NULL);
	add_order(&(struct order_opts){ .matching_id = "SIG-1" }, iccid);
	dp_euicc_identity_set_faults((struct dp_euicc_identity *)dp_euicc_identity(d.e),
				     DP_EUICC_FAULT_BAD_SIGNATURE);
	assert_refused(&d, download(&d, "SIG-1", NULL), "8.1", "6.1");
	dp_euicc_identity_set_faults((struct dp_euicc_identity *)dp_euicc_identity(d.e), 0);
	assert_int_equal(download(&d, "SIG-1", NULL), DP_OK);
	/* 8.8.3/3.1: SVN out of range */
	dp_euicc_identity_set_svn((struct dp_euicc_identity *)dp_euicc_identity(d.e), 1, 0, 0);
	assert_refused(&d, dp_lpa_initiate_authentication(d.lpa, G.srv.address), "8.8.3", "3.1");
	dp_euicc_identity_set_svn((struct dp_euicc_identity *)dp_euicc_identity(d.e), 2, 2, 0);
	/* 8.8.2/3.1: no CI in common for signing */
	struct dp_ci_ski unknown = { .len = 20 };
	memset(unknown.v, 0x42, 20);
	struct dp_euicc_identity *id = (struct dp_euicc_identity *)dp_euicc_identity(d.e);
	size_t n_sign;
	const struct dp_ci_ski *sign = dp_euicc_identity_ski_list(id, true, &n_sign);
	struct dp_ci_ski saved[8];
	memcpy(saved, sign, n_sign * sizeof(*sign));
	assert_int_equal(dp_euicc_identity_set_ski_list(id, true, &unknown, 1), DP_OK);
	assert_refused(&d, dp_lpa_initiate_authentication(d.lpa, G.srv.address), "8.8.2", "3.1");
	/* 8.8.4/3.7: we could sign, but the eUICC cannot verify our chain */
	assert_int_equal(dp_euicc_identity_set_ski_list(id, true, saved, n_sign), DP_OK);
	size_t n_ver;
	const struct dp_ci_ski *ver = dp_euicc_identity_ski_list(id, false, &n_ver);
	struct dp_ci_ski saved_ver[8];
	memcpy(saved_ver, ver, n_ver * sizeof(*ver));
	assert_int_equal(dp_euicc_identity_set_ski_list(id, false, &unknown, 1), DP_OK);
	assert_refused(&d, dp_lpa_initiate_authentication(d.lpa, G.srv.address), "8.8.4", "3.7");
	assert_int_equal(dp_euicc_identity_set_ski_list(id, false, saved_ver, n_ver), DP_OK);
	/* 8.1/4.8: the eUICC has too little memory for the profile */
	add_order(&(struct order_opts){ .matching_id = "MEM-1" }, iccid);
	dp_euicc_identity_set_free_memory(id, 1000);
	assert_refused(&d, download(&d, "MEM-1", NULL), "8.1", "4.8");
	assert_int_equal(state_of(iccid), DP_PROFILE_ERROR);
	device_free(&d);
	/* 8.1.3/6.3: CERT.EUICC expired */
	device_fresh(&d, time(NULL) - 3600, NULL);
	add_order(&(struct order_opts){ .matching_id = "EXPCERT-1" }, iccid);
	assert_refused(&d, download(&d, "EXPCERT-1", NULL), "8.1.3", "6.3");
	device_free(&d);
}

/* Chains and bindings: an EUM of another CI than the one chosen (8.11.1/3.9), an EID
 * outside the EUM's range (8.1.3/6.1), a profile already bound to another eUICC
 * (8.1.1/3.1), an expired session (8.10.1/3.9). */
static void refusals_chain(void **state)
{
	struct device d, a, b;
	char iccid[21];
	/* the Brainpool eUICC announcing the NIST CI for signing: its EUM does not chain to it */
	struct dp_euicc_identity *id = NULL;
	char cert[PATHN], key[PATHN], eum[PATHN], ci[PATHN];
	path(cert, sizeof(cert), "brp/euicc-cert.pem");
	path(key, sizeof(key), "brp/euicc-key.pem");
	path(eum, sizeof(eum), "brp/eum-cert.pem");
	path(ci, sizeof(ci), "nist/ci-cert.pem");
	assert_int_equal(dp_euicc_identity_load(cert, key, eum, &id), DP_OK);
	assert_int_equal(dp_euicc_identity_add_ci(id, ci, true), DP_OK);
	device_from(&d, id, "nist");
	add_order(&(struct order_opts){ .matching_id = "CHAIN-1" }, iccid);
	assert_refused(&d, download(&d, "CHAIN-1", NULL), "8.11.1", "3.9");
	device_free(&d);
	/* an EID outside 89049032... */
	device_fresh_eid(&d, 0, "89049099", NULL);
	assert_refused(&d, download(&d, "CHAIN-1", NULL), "8.1.3", "6.1");
	device_free(&d);
	/* bound to the first eUICC that authenticated */
	device_fresh(&a, 0, NULL);
	device_fresh(&b, 0, NULL);
	assert_int_equal(dp_lpa_initiate_authentication(a.lpa, G.srv.address), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(a.lpa, "CHAIN-1"), DP_OK);
	assert_int_equal(dp_lpa_cancel_session(a.lpa, DP_LPA_CANCEL_POSTPONED), DP_OK);
	assert_refused(&b, download(&b, "CHAIN-1", NULL), "8.1.1", "3.1");
	assert_int_equal(download(&a, "CHAIN-1", NULL), DP_OK);
	assert_int_equal(state_of(iccid), DP_PROFILE_INSTALLED);
	/* a session older than session_ttl_s (10 s on this server start) has expired */
	uint16_t port = G.srv.port;
	server_stop();
	server_start(port, "session_ttl_s=10");
	add_order(&(struct order_opts){ .matching_id = "TTL-1" }, iccid);
	assert_int_equal(dp_lpa_initiate_authentication(b.lpa, G.srv.address), DP_OK);
	sleep(11);
	assert_refused(&b, dp_lpa_authenticate_client(b.lpa, "TTL-1"), "8.10.1", "3.9");
	assert_int_equal(state_of(iccid), DP_PROFILE_RELEASED);
	server_stop();
	server_start(port, NULL);
	assert_int_equal(download(&b, "TTL-1", NULL), DP_OK);
	device_free(&a);
	device_free(&b);
}

/* The session lives in the database: a restart between authenticateClient and
 * getBoundProfilePackage loses nothing. */
static void restart_between_calls(void **state)
{
	struct device d;
	char iccid[21];
	struct dp_lpa_install_result res;
	device_fresh(&d, 0, NULL);
	add_order(&(struct order_opts){ .matching_id = "RESTART-1" }, iccid);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, G.srv.address), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, "RESTART-1"), DP_OK);
	assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_OK);
	uint16_t port = G.srv.port;
	server_stop();
	server_start(port, NULL);
	assert_int_equal(G.srv.port, port);
	assert_int_equal(dp_lpa_get_bound_profile_package(d.lpa), DP_OK);
	assert_int_equal(dp_lpa_load_bound_profile_package(d.lpa, &res), DP_OK);
	assert_true(res.success);
	size_t sent = 0;
	assert_int_equal(dp_lpa_notification_send_all(d.lpa, &sent), DP_OK);
	assert_int_equal(sent, 1);
	assert_int_equal(state_of(iccid), DP_PROFILE_INSTALLED);
	device_free(&d);
}

/* The 5F49 otPK.DP inside a BPP's BF23. */
static void bpp_otpk(const struct device *d, uint8_t out[65])
{
	size_t len;
	const uint8_t *bpp = dp_lpa_bpp(d->lpa, &len);
	struct dp_tlv t, isc, pk;
	assert_int_equal(dp_tlv_expect(bpp, len, 0xBF36, &t), DP_OK);
	assert_int_equal(dp_tlv_find(t.value, t.len, 0xBF23, &isc), DP_OK);
	assert_int_equal(dp_tlv_find(isc.value, isc.len, 0x5F49, &pk), DP_OK);
	assert_int_equal(pk.len, 65);
	memcpy(out, pk.value, 65);
}

static void bpp_retries(void **state)
{
	struct device d;
	char iccid[21];
	struct dp_lpa_install_result res;
	uint8_t first[65], again[65], fresh[65];
	size_t len;
	device_fresh(&d, 0, NULL);
	add_order(&(struct order_opts){ .matching_id = "RETRY-1" }, iccid);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, G.srv.address), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, "RETRY-1"), DP_OK);
	assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_OK);
	assert_int_equal(dp_lpa_get_bound_profile_package(d.lpa), DP_OK);
	bpp_otpk(&d, first);
	struct dp_buf copy;
	dp_buf_init(&copy, 1 << 21);
	const uint8_t *b = dp_lpa_bpp(d.lpa, &len);
	assert_int_equal(dp_buf_append(&copy, b, len), DP_OK);
	/* the same otPK.EUICC again: the same binding, byte for byte */
	assert_int_equal(dp_lpa_get_bound_profile_package(d.lpa), DP_OK);
	bpp_otpk(&d, again);
	assert_memory_equal(first, again, 65);
	b = dp_lpa_bpp(d.lpa, &len);
	assert_bytes_equal(b, len, copy.data, copy.len);
	/* a new otPK.EUICC: bound anew, with a new otPK.DP; that one installs */
	assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_OK);
	assert_int_equal(dp_lpa_get_bound_profile_package(d.lpa), DP_OK);
	bpp_otpk(&d, fresh);
	assert_memory_not_equal(first, fresh, 65);
	assert_int_equal(dp_lpa_load_bound_profile_package(d.lpa, &res), DP_OK);
	assert_true(res.success);
	size_t sent;
	assert_int_equal(dp_lpa_notification_send_all(d.lpa, &sent), DP_OK);
	assert_int_equal(state_of(iccid), DP_PROFILE_INSTALLED);
	dp_buf_deinit(&copy);
	device_free(&d);
}

static void cancel_reasons(void **state)
{
	static const struct {
		int reason;
		enum dp_profile_state after;
	} cases[] = {
		{ DP_LPA_CANCEL_END_USER_REJECTION, DP_PROFILE_ERROR },
		{ DP_LPA_CANCEL_POSTPONED, DP_PROFILE_RELEASED },
		{ DP_LPA_CANCEL_TIMEOUT, DP_PROFILE_RELEASED },
		{ DP_LPA_CANCEL_PPR_NOT_ALLOWED, DP_PROFILE_ERROR },
		{ DP_LPA_CANCEL_METADATA_MISMATCH, DP_PROFILE_ERROR },
		{ DP_LPA_CANCEL_LOAD_BPP_EXECUTION_ERROR, DP_PROFILE_RELEASED },
		{ DP_LPA_CANCEL_UNDEFINED, DP_PROFILE_RELEASED },
	};
	struct device d;
	device_fresh(&d, 0, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char mid[32], iccid[21];
		snprintf(mid, sizeof(mid), "CANCEL-%d", cases[i].reason);
		add_order(&(struct order_opts){ .matching_id = mid }, iccid);
		assert_int_equal(dp_lpa_initiate_authentication(d.lpa, G.srv.address), DP_OK);
		assert_int_equal(dp_lpa_authenticate_client(d.lpa, mid), DP_OK);
		if (i % 2 == 1) {
			/* also after the binding */
			assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_OK);
			assert_int_equal(dp_lpa_get_bound_profile_package(d.lpa), DP_OK);
		}
		assert_int_equal(dp_lpa_cancel_session(d.lpa, cases[i].reason), DP_OK);
		assert_int_equal(state_of(iccid), cases[i].after);
		/* the session is over */
		assert_refused(&d, dp_lpa_cancel_session(d.lpa, cases[i].reason), "8.10.1", "3.9");
		if (cases[i].after == DP_PROFILE_RELEASED) {
			/* a new session works without a new order */
			assert_int_equal(download(&d, mid, NULL), DP_OK);
			assert_int_equal(state_of(iccid), DP_PROFILE_INSTALLED);
		}
	}
	device_free(&d);
}

static void notifications(void **state)
{
	struct device d;
	char iccid[21], keep[21];
	device_fresh(&d, 0, NULL);
	/* an install error result (a tampered segment) is accepted and recorded */
	add_order(&(struct order_opts){ .matching_id = "NOTIF-ERR" }, iccid);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, G.srv.address), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, "NOTIF-ERR"), DP_OK);
	assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_OK);
	assert_int_equal(dp_lpa_get_bound_profile_package(d.lpa), DP_OK);
	size_t len;
	uint8_t *bpp = (uint8_t *)dp_lpa_bpp(d.lpa, &len);
	bpp[len - 20] ^= 0x01; /* inside the last 86's ciphertext */
	struct dp_lpa_install_result res;
	assert_int_equal(dp_lpa_load_bound_profile_package(d.lpa, &res), DP_ERR_LPA_EUICC);
	assert_false(res.success);
	size_t sent = 0;
	assert_int_equal(dp_lpa_notification_send_all(d.lpa, &sent), DP_OK);
	assert_int_equal(sent, 1);
	assert_int_equal(dp_lpa_last_call(d.lpa)->http_status, 204);
	assert_int_equal(state_of(iccid), DP_PROFILE_ERROR);

	/* install, then delete: reusable (Available) or not (Unavailable) per the order */
	add_order(&(struct order_opts){ .matching_id = "NOTIF-REUSE", .reuse_on_delete = true },
		  iccid);
	add_order(&(struct order_opts){ .matching_id = "NOTIF-KEEP" }, keep);
	assert_int_equal(download(&d, "NOTIF-REUSE", NULL), DP_OK);
	assert_int_equal(download(&d, "NOTIF-KEEP", NULL), DP_OK);
	int result = -1;
	assert_int_equal(dp_lpa_profile_enable(d.lpa, iccid, &result), DP_OK);
	assert_int_equal(result, 0);
	assert_int_equal(dp_lpa_profile_disable(d.lpa, iccid, &result), DP_OK);
	assert_int_equal(dp_lpa_profile_delete(d.lpa, iccid, &result), DP_OK);
	assert_int_equal(dp_lpa_profile_delete(d.lpa, keep, &result), DP_OK);
	assert_int_equal(dp_lpa_notification_send_all(d.lpa, &sent), DP_OK);
	assert_int_equal(sent, 4);
	assert_int_equal(state_of(iccid), DP_PROFILE_AVAILABLE);
	assert_int_equal(state_of(keep), DP_PROFILE_UNAVAILABLE);
	device_free(&d);
}

/* 50 devices at once against a pool order of 40 profiles. */
struct racer {
	struct device d;
	int r;
	char subject[32], reason[32];
	char eid[33];
};

static void *race(void *arg)
{
	struct racer *x = arg;
	x->r = download(&x->d, "POOL-40", NULL);
	const struct dp_lpa_call *c = dp_lpa_last_call(x->d.lpa);
	snprintf(x->subject, sizeof(x->subject), "%s", c->st.subject);
	snprintf(x->reason, sizeof(x->reason), "%s", c->st.reason);
	return NULL;
}

static int count_installed(void *ctx, const struct dp_db_profile *p)
{
	size_t *n = ctx;
	if (p->state == DP_PROFILE_INSTALLED)
		(*n)++;
	return 0;
}

struct seen {
	char eids[N_POOL][33];
	size_t n;
};

static int collect_eids(void *ctx, const struct dp_db_profile *p)
{
	struct seen *s = ctx;
	if (p->state != DP_PROFILE_INSTALLED)
		return 0;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->eids[i], p->eid) == 0)
			return DP_ERR_DB_EXISTS; /* one eUICC holding two profiles */
	if (s->n < N_POOL)
		memcpy(s->eids[s->n++], p->eid, 33);
	return 0;
}

static void pool_race(void **state)
{
	static struct racer x[N_DEVICES];
	pthread_t t[N_DEVICES];
	char ignored[21];
	for (int i = 0; i < N_POOL; i++)
		add_profile("pool40", false, 2, ignored);
	add_order(&(struct order_opts){ .matching_id = "POOL-40", .pool = true, .type = "pool40" },
		  NULL);
	for (int i = 0; i < N_DEVICES; i++)
		device_fresh(&x[i].d, 0, x[i].eid);
	for (int i = 0; i < N_DEVICES; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race, &x[i]), 0);
	int ok = 0, refused = 0;
	for (int i = 0; i < N_DEVICES; i++) {
		pthread_join(t[i], NULL);
		if (x[i].r == DP_OK) {
			ok++;
			assert_int_equal(dp_euicc_profile_count(x[i].d.e), 1);
		} else {
			refused++;
			assert_int_equal(x[i].r, DP_ERR_LPA_REFUSED);
			assert_string_equal(x[i].subject, "8.2.5");
			assert_string_equal(x[i].reason, "4.3");
			assert_int_equal(dp_euicc_profile_count(x[i].d.e), 0);
		}
	}
	assert_int_equal(ok, N_POOL);
	assert_int_equal(refused, N_DEVICES - N_POOL);
	size_t installed = 0;
	struct dp_db_profile_filter f = { .state = DP_PROFILE_STATE_COUNT, .profile_type = "pool40" };
	assert_int_equal(dp_db_profile_list(G.db, &f, count_installed, &installed), DP_OK);
	assert_int_equal(installed, N_POOL);
	/* no profile went to two eUICCs and no eUICC got two profiles */
	struct seen s = { .n = 0 };
	assert_int_equal(dp_db_profile_list(G.db, &f, collect_eids, &s), DP_OK);
	assert_int_equal(s.n, N_POOL);
	for (int i = 0; i < N_DEVICES; i++)
		device_free(&x[i].d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_download),
		cmocka_unit_test(full_download_ppk_and_brainpool),
		cmocka_unit_test(brainpool_endpoint),
		cmocka_unit_test(full_download_sgp26),
		cmocka_unit_test(confirmation_code),
		cmocka_unit_test(default_smdp),
		cmocka_unit_test(refusals),
		cmocka_unit_test(refusals_euicc),
		cmocka_unit_test(refusals_chain),
		cmocka_unit_test(restart_between_calls),
		cmocka_unit_test(bpp_retries),
		cmocka_unit_test(cancel_reasons),
		cmocka_unit_test(notifications),
		cmocka_unit_test(pool_race),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
