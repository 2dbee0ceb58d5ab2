/* The shared fixture of the C integration tests (contract in harness.h): the real smdp
 * binary on port 0, its order book, profiles, orders and test devices. */
#include "test/integration/support/harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "pki/asn1/asn1.h"
#include "pki/base/secure.h"
#include "pki/crypto/testpki.h"
#include "profilegen/profilegen.h"
#include "smdp/bpp.h"
#include "test/support/support.h"

#define PATHN 512
#define ARGN  64 /* room for the server's argv: the common options and the caller's */

/* ---- the fixture ---- */

void dp_harness_init(struct dp_harness *h, const char *name, const char *set)
{
	memset(h, 0, sizeof(*h));
	int n = snprintf(h->dir, sizeof(h->dir), "/tmp/smdp-%s-XXXXXX", name);
	assert_true(n > 0 && (size_t)n < sizeof(h->dir));
	assert_non_null(mkdtemp(h->dir));
	h->smdp = getenv("SMDP_BIN");
	assert_non_null(h->smdp);
	h->set = set;
	assert_int_equal(dp_asn1_init(), DP_OK);
}

int dp_harness_deinit(struct dp_harness *h)
{
	int r = dp_harness_server_stop(h) ? 0 : 1;
	dp_db_close(h->db);
	h->db = NULL;
	if (r != 0 || getenv("SMDP_KEEP") != NULL) {
		fprintf(stderr, "# kept %s\n", h->dir);
		return r;
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	return system(cmd) == 0 ? 0 : 1;
}

void dp_harness_path(const struct dp_harness *h, char *out, size_t cap, const char *fmt, ...)
{
	char rel[PATHN];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(rel));
	n = snprintf(out, cap, "%s/%s", h->dir, rel);
	assert_true(n >= 0 && (size_t)n < cap);
}

int dp_harness_run(const char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0)
		return -1;
	int st = 0;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void dp_harness_pki_init(struct dp_harness *h, const char *set, const char *curve)
{
	char dir[PATHN];
	dp_harness_path(h, dir, sizeof(dir), "%s", set);
	const char *argv[] = {h->smdp, "pki",	 "init",      "--dir",
			      dir,     "--host", "localhost", curve != NULL ? "--curve" : NULL,
			      curve,   NULL};
	assert_int_equal(dp_harness_run(argv), 0);
}

/* ---- the server ---- */

/* Reads one line of the server's stdout; fails the test at end of file. */
static void read_line(FILE *f, char *line, size_t cap, const char *what)
{
	if (fgets(line, (int)cap, f) == NULL)
		fail_msg("the server ended before its %s line (see server.log)", what);
}

/* The number after `key` in line (which must have it): a port, 1 to 65535. */
static uint16_t port_after(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	if (p == NULL)
		fail_msg("no %s in the server's line: %s", key, line);
	long v = strtol(p + strlen(key), NULL, 10);
	if (v <= 0 || v > 65535)
		fail_msg("bad %s in the server's line: %s", key, line);
	return (uint16_t)v;
}

/* The word after "address=" in line (which must have it). */
static void address_after(const char *line, char out[64])
{
	const char *a = strstr(line, "address=");
	if (a == NULL || sscanf(a + 8, "%63s", out) != 1)
		fail_msg("no address= in the server's line: %s", line);
}

void dp_harness_server_start(struct dp_harness *h, uint16_t port, const char *const *options,
			     size_t endpoints)
{
	char state[PATHN], pki[PATHN], cert[PATHN], key[PATHN], log[PATHN], listen[32];
	dp_harness_path(h, state, sizeof(state), "state");
	dp_harness_path(h, pki, sizeof(pki), "%s", h->set);
	dp_harness_path(h, cert, sizeof(cert), "%s/dptls-cert.pem", h->set);
	dp_harness_path(h, key, sizeof(key), "%s/dptls-key.pem", h->set);
	dp_harness_path(h, log, sizeof(log), "server.log");
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	assert_true(endpoints <= DP_HARNESS_ENDPOINTS);
	const char *argv[ARGN] = {
	    h->smdp, "serve",	  "--state-dir", state,	      "--listen", listen,  "--tls-cert",
	    cert,    "--tls-key", key,		 "--pki-dir", pki,	  "--log", "info,db=warn"};
	size_t n = 14;
	for (size_t i = 0; options != NULL && options[i] != NULL; i++) {
		assert_true(n < ARGN - 1);
		argv[n++] = options[i];
	}
	argv[n] = NULL;
	int out[2];
	assert_int_equal(pipe(out), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 2);
		close(out[0]);
		execv(h->smdp, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	/* the server's pid first: a failed check below still leaves it to be stopped */
	memset(&h->srv, 0, sizeof(h->srv));
	h->srv.pid = pid;
	FILE *f = fdopen(out[0], "r");
	assert_non_null(f);
	char line[512] = "";
	read_line(f, line, sizeof(line), "ready");
	if (strncmp(line, "smdp: ready ", 12) != 0)
		fail_msg("not the ready line: %s", line);
	h->srv.port = port_after(line, " port=");
	address_after(line, h->srv.address);
	if (strstr(line, "es2_port=") != NULL)
		h->srv.es2_port = port_after(line, "es2_port=");
	for (size_t i = 0; i < endpoints; i++) {
		read_line(f, line, sizeof(line), "endpoint");
		if (strncmp(line, "smdp: endpoint https://127.0.0.1:", 33) != 0)
			fail_msg("not an endpoint line: %s", line);
		address_after(line, h->srv.endpoint[i]);
	}
	fclose(f);
	if (port != 0)
		assert_int_equal(h->srv.port, port);
	if (h->db == NULL) {
		char db[PATHN];
		dp_harness_path(h, db, sizeof(db), "state/smdp.db");
		assert_int_equal(dp_db_open(db, &h->db), DP_OK);
	}
}

bool dp_harness_server_stop(struct dp_harness *h)
{
	if (h->srv.pid <= 0)
		return true;
	kill(h->srv.pid, SIGTERM);
	int st = 0;
	pid_t w = waitpid(h->srv.pid, &st, 0);
	h->srv.pid = 0;
	return w > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- the order book ---- */

void dp_harness_profile_add(struct dp_harness *h, const struct dp_harness_profile *p,
			    char iccid[21])
{
	struct dp_buf der, meta, out, prot;
	struct dp_pg_package pkg;
	struct dp_pg_personal pers = {0};
	struct dp_pg_metadata m = {0};
	struct dp_session_keys k;
	int profile_class = p->profile_class != 0 ? p->profile_class : 2;
	dp_test_read_file(dp_test_shared("ts48/TS48v1_A.der"), &der);
	dp_pg_package_init(&pkg);
	assert_int_equal(dp_pg_package_parse(der.data, der.len, &pkg), DP_OK);
	/* 18 digits; the Luhn digit and the F filler come from dp_pg_iccid_normalise */
	char base[19];
	snprintf(base, sizeof(base), "8949449%011u", 1000 + h->next_iccid++);
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
	struct dp_db_profile_new np = {
	    .iccid = pers.iccid,
	    .profile_type = p->type != NULL ? p->type : "single",
	    .owner = p->owner != NULL ? p->owner : "test",
	    .package = out.data,
	    .package_len = out.len,
	    .metadata = meta.data,
	    .metadata_len = meta.len,
	    .profile_class = profile_class,
	};
	dp_buf_init(&prot, 1 << 20);
	if (p->ppk) {
		/* pre-protected at import: the 86 TLVs under fresh PPKs */
		assert_int_equal(dp_bpp_protect(out.data, out.len, &k, &prot), DP_OK);
		np.package = prot.data;
		np.package_len = prot.len;
		np.ppk = &k;
	}
	assert_int_equal(dp_db_profile_add(h->db, &np, "test", NULL), DP_OK);
	memcpy(iccid, pers.iccid, 21);
	dp_wipe(&k, sizeof(k));
	dp_buf_deinit(&prot);
	dp_buf_deinit(&meta);
	dp_buf_deinit(&out);
	dp_buf_deinit(&der);
	dp_pg_package_deinit(&pkg);
}

enum dp_profile_state dp_harness_state(struct dp_harness *h, const char *iccid)
{
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(h->db, iccid, false, &p), DP_OK);
	enum dp_profile_state s = p.state;
	dp_db_profile_deinit(&p);
	return s;
}

void dp_harness_order_add(struct dp_harness *h, const struct dp_harness_order *o, char iccid[21])
{
	uint8_t cc_hash[32];
	unsigned int n;
	char ic[21] = "";
	if (!o->pool)
		dp_harness_profile_add(h, &o->profile, ic);
	if (o->cc != NULL)
		assert_int_equal(EVP_Digest(o->cc, strlen(o->cc), cc_hash, &n, EVP_sha256(), NULL),
				 1);
	struct dp_db_order_new on = {
	    .matching_id = o->matching_id,
	    .iccid = o->pool ? NULL : ic,
	    .profile_type = o->pool ? o->profile.type : NULL,
	    .pool = o->pool,
	    .eid = o->eid,
	    .cc_hash = o->cc != NULL ? cc_hash : NULL,
	    .expires_at = o->expires_at,
	    .max_attempts = o->max_attempts != 0 ? o->max_attempts : 5,
	    .cc_max_attempts = o->cc_max_attempts != 0 ? o->cc_max_attempts : 3,
	    .reuse_on_delete = o->reuse_on_delete,
	    .owner = o->profile.owner != NULL ? o->profile.owner : "test",
	};
	assert_int_equal(dp_db_order_add(h->db, &on, "test", NULL, NULL), DP_OK);
	if (iccid != NULL)
		memcpy(iccid, ic, 21);
}

/* ---- devices ---- */

void dp_harness_device_from(struct dp_harness *h, struct dp_euicc_identity *id,
			    struct dp_harness_device *d)
{
	char ci[PATHN];
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; h->verify_sets != NULL && h->verify_sets[i] != NULL; i++) {
		dp_harness_path(h, ci, sizeof(ci), "%s/ci-cert.pem", h->verify_sets[i]);
		/* DP_ERR_INVAL: the identity trusts it already (for signing) */
		int r = dp_euicc_identity_add_ci(id, ci, false);
		assert_true(r == DP_OK || r == DP_ERR_INVAL);
	}
	snprintf(d->eid, sizeof(d->eid), "%s", dp_euicc_identity_eid(id));
	assert_int_equal(dp_euicc_new(id, &d->e), DP_OK);
	dp_harness_path(h, ci, sizeof(ci), "%s/ci-cert.pem", h->set);
	struct dp_lpa_options o = {.http = {.ca_file = ci}};
	assert_int_equal(dp_lpa_new(d->e, &o, &d->lpa), DP_OK);
}

void dp_harness_device_of_set(struct dp_harness *h, const char *set, struct dp_harness_device *d)
{
	char cert[PATHN], key[PATHN], eum[PATHN], ci[PATHN];
	struct dp_euicc_identity *id = NULL;
	dp_harness_path(h, cert, sizeof(cert), "%s/euicc-cert.pem", set);
	dp_harness_path(h, key, sizeof(key), "%s/euicc-key.pem", set);
	dp_harness_path(h, eum, sizeof(eum), "%s/eum-cert.pem", set);
	dp_harness_path(h, ci, sizeof(ci), "%s/ci-cert.pem", set);
	assert_int_equal(dp_euicc_identity_load(cert, key, eum, &id), DP_OK);
	assert_int_equal(dp_euicc_identity_add_ci(id, ci, true), DP_OK);
	dp_harness_device_from(h, id, d);
}

void dp_harness_device_fresh(struct dp_harness *h, const char *prefix, time_t not_after,
			     struct dp_harness_device *d)
{
	char eum_cert[PATHN], eum_key[PATHN], ci[PATHN], cp[PATHN], kp[PATHN], eid[33];
	struct dp_cert *eum = NULL, *cert = NULL;
	EVP_PKEY *eum_k = NULL, *k = NULL;
	struct dp_euicc_identity *id = NULL;
	dp_harness_path(h, eum_cert, sizeof(eum_cert), "%s/eum-cert.pem", h->set);
	dp_harness_path(h, eum_key, sizeof(eum_key), "%s/eum-key.pem", h->set);
	dp_harness_path(h, ci, sizeof(ci), "%s/ci-cert.pem", h->set);
	assert_int_equal(dp_cert_load_file(eum_cert, &eum), DP_OK);
	assert_int_equal(dp_cert_key_load_file(eum_key, &eum_k), DP_OK);
	assert_int_equal(dp_testpki_make_eid(prefix != NULL ? prefix : "89049032", eid), DP_OK);
	struct dp_testpki_req req = {.role = DP_CERT_EUICC, .eid = eid, .not_after = not_after};
	if (not_after != 0)
		req.not_before = not_after - 86400;
	assert_int_equal(dp_testpki_issue(&req, eum, eum_k, &cert, &k), DP_OK);
	/* written out: the identity loads from files, and SMDP_KEEP leaves them to look at */
	dp_harness_path(h, cp, sizeof(cp), "euicc-%s-cert.pem", eid);
	dp_harness_path(h, kp, sizeof(kp), "euicc-%s-key.pem", eid);
	assert_int_equal(dp_testpki_write_cert(cp, cert, true), DP_OK);
	assert_int_equal(dp_testpki_write_key(kp, k, true), DP_OK);
	assert_int_equal(dp_euicc_identity_load(cp, kp, eum_cert, &id), DP_OK);
	assert_int_equal(dp_euicc_identity_add_ci(id, ci, true), DP_OK);
	dp_harness_device_from(h, id, d);
	dp_cert_free(eum);
	dp_cert_free(cert);
	EVP_PKEY_free(eum_k);
	EVP_PKEY_free(k);
}

void dp_harness_device_free(struct dp_harness_device *d)
{
	dp_lpa_free(d->lpa);
	dp_euicc_free(d->e);
	d->lpa = NULL;
	d->e = NULL;
}

int dp_harness_download(struct dp_harness *h, struct dp_harness_device *d, const char *mid,
			const char *cc)
{
	struct dp_lpa_install_result res;
	struct dp_lpa_download_params p = {
	    .smdp_address = h->srv.address,
	    .matching_id = mid,
	    .confirmation_code = cc,
	};
	return dp_lpa_download(d->lpa, &p, &res);
}

void dp_harness_check_refused(const struct dp_harness_device *d, int r, const char *subject,
			      const char *reason, const char *file, int line)
{
	const struct dp_lpa_call *c = dp_lpa_last_call(d->lpa);
	if (r == DP_ERR_LPA_REFUSED && strcmp(c->st.subject, subject) == 0 &&
	    strcmp(c->st.reason, reason) == 0)
		return;
	print_error("%s: expected refusal %s/%s, got r=%s %s/%s (%s) [%s]\n", c->function, subject,
		    reason, dp_errname(r), c->st.subject, c->st.reason, c->st.message,
		    dp_err_detail());
	_fail(file, line);
}
