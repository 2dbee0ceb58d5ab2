/* Integration: the real smdp binary on a free port over HTTPS, a temp database and a
 * generated test PKI (NIST and Brainpool sets, plus the GSMA SGP.26 chain from ../shared),
 * driven by the test LPA with software eUICCs. Every ES9+ function end to end, the
 * refusals with their exact subject/reason codes, a restart between two calls, retries,
 * cancellations, notifications, and 50 devices against a pool of 40 profiles.
 * Orders and profiles are put into the order book through the storage interface (the
 * admin CLI that does the same is tested by its own scenario); the fixture is
 * test/integration/support/harness.h. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pki/asn1/tlv.h"
#include "pki/base/codec.h"
#include "smdp/db.h"
#include "test/euicc/es10.h"
#include "test/euicc/identity.h"
#include "test/integration/support/harness.h"
#include "test/lpa/lpa.h"
#include "test/support/support.h"

#define PATHN	  512
#define N_DEVICES 50
#define N_POOL	  40

/* The main set "nist"; devices also trust the Brainpool set's CI for verification. */
static const char *const verify_sets[] = {"nist", "brp", NULL};
static struct dp_harness H;

/* ---- the server ---- */

/* Starts smdp serve (port 0 = any) with both generated sets, the SGP.26 CIs and signers,
 * a second endpoint serving the Brainpool set only (H.srv.endpoint[0]), and one more
 * `--set extra` unless NULL. */
static void server_start(uint16_t port, const char *extra)
{
	char brp[PATHN], cert[PATHN], key[PATHN];
	char sgp26_ci[4 * PATHN], signers[8 * PATHN], endpoint[8 * PATHN];
	dp_harness_path(&H, brp, sizeof(brp), "brp");
	dp_harness_path(&H, cert, sizeof(cert), "nist/dptls-cert.pem");
	dp_harness_path(&H, key, sizeof(key), "nist/dptls-key.pem");
	snprintf(endpoint, sizeof(endpoint), "127.0.0.1:0,%s,%s,%s", cert, key, brp);
	/* dp_test_shared returns static storage: one call per copy */
	char a[4][PATHN];
	snprintf(a[0], sizeof(a[0]), "%s",
		 dp_test_shared("sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.der"));
	snprintf(a[1], sizeof(a[1]), "%s",
		 dp_test_shared("sgp26/CertificateIssuer/CERT_CI_ECDSA_BRP.der"));
	snprintf(sgp26_ci, sizeof(sgp26_ci), "ci_certs=%s,%s", a[0], a[1]);
	snprintf(a[0], sizeof(a[0]), "%s",
		 dp_test_shared("sgp26/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der"));
	snprintf(a[1], sizeof(a[1]), "%s",
		 dp_test_shared("sgp26/DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem"));
	snprintf(a[2], sizeof(a[2]), "%s",
		 dp_test_shared("sgp26/DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der"));
	snprintf(a[3], sizeof(a[3]), "%s",
		 dp_test_shared("sgp26/DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem"));
	snprintf(signers, sizeof(signers), "signers=%s:%s,%s:%s", a[0], a[1], a[2], a[3]);
	const char *options[] = {"--pki-dir",  brp,	 "--set",
				 sgp26_ci,     "--set",	 signers,
				 "--endpoint", endpoint, extra ? "--set" : NULL,
				 extra,	       NULL};
	dp_harness_server_start(&H, port, options, 1);
}

/* Stops the server and starts it again on the same port (with `--set extra` unless NULL). */
static void server_restart(const char *extra)
{
	uint16_t port = H.srv.port;
	assert_true(dp_harness_server_stop(&H));
	server_start(port, extra);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	dp_harness_init(&H, "es9", "nist");
	H.verify_sets = verify_sets;
	dp_harness_pki_init(&H, "nist", NULL);
	dp_harness_pki_init(&H, "brp", "brainpool");
	server_start(0, NULL);
	return 0;
}

static int group_teardown(void **state)
{
	return dp_harness_deinit(&H);
}

/* ---- scenarios ---- */

static void full_download(void **state)
{
	struct dp_harness_device d;
	char iccid[21];
	dp_harness_device_of_set(&H, "nist", &d);
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "FULL-1"}, iccid);
	assert_int_equal(dp_harness_download(&H, &d, "FULL-1", NULL), DP_OK);
	/* the PIR went with handleNotification: the profile is Installed */
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_INSTALLED);
	assert_int_equal(dp_euicc_profile_count(d.e), 1);
	/* the same matching ID again: the order is done */
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "FULL-1", NULL), "8.2.6", "3.8");
	dp_harness_device_free(&d);
}

static void full_download_ppk_and_brainpool(void **state)
{
	struct dp_harness_device d;
	char iccid[21];
	dp_harness_device_of_set(&H, "brp", &d);
	dp_harness_order_add(
	    &H, &(struct dp_harness_order){.matching_id = "BRP-1", .profile.ppk = true}, iccid);
	assert_int_equal(dp_harness_download(&H, &d, "BRP-1", NULL), DP_OK);
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_INSTALLED);
	dp_harness_device_free(&d);
}

/* The second endpoint serves only the Brainpool set: a Brainpool device downloads there,
 * a NIST device is refused with 8.8.2/3.1 (no CI in common). */
static void brainpool_endpoint(void **state)
{
	struct dp_harness_device d, nist;
	char iccid[21];
	struct dp_lpa_install_result res;
	dp_harness_device_of_set(&H, "brp", &d);
	dp_harness_device_of_set(&H, "nist", &nist);
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "BRP-EP-1"}, iccid);
	struct dp_lpa_download_params p = {.smdp_address = H.srv.endpoint[0],
					   .matching_id = "BRP-EP-1"};
	dp_harness_assert_refused(&nist, dp_lpa_download(nist.lpa, &p, &res), "8.8.2", "3.1");
	assert_int_equal(dp_lpa_download(d.lpa, &p, &res), DP_OK);
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_INSTALLED);
	dp_harness_device_free(&d);
	dp_harness_device_free(&nist);
}

static void full_download_sgp26(void **state)
{
	struct dp_harness_device d;
	struct dp_euicc_identity *id = NULL;
	char iccid[21];
	assert_int_equal(
	    dp_euicc_identity_load_sgp26(dp_test_shared("sgp26"), DP_CURVE_NIST_P256, &id), DP_OK);
	dp_harness_device_from(&H, id, &d);
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "SGP26-1", .eid = d.eid},
			     iccid);
	assert_int_equal(dp_harness_download(&H, &d, "SGP26-1", NULL), DP_OK);
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_INSTALLED);
	dp_harness_device_free(&d);
}

static void confirmation_code(void **state)
{
	struct dp_harness_device d;
	char iccid[21];
	dp_harness_device_fresh(&H, NULL, 0, &d);
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "CC-1", .cc = "4711"},
			     iccid);
	/* the eUICC itself refuses PrepareDownload without a code when ccRequiredFlag is set;
	 * the LPA forwards its error and the server ends the session (8.1/6.1) */
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, H.srv.address), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, "CC-1"), DP_OK);
	assert_true(dp_lpa_cc_required(d.lpa));
	assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_ERR_LPA_EUICC);
	dp_harness_assert_refused(&d, dp_lpa_get_bound_profile_package(d.lpa), "8.1", "6.1");
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_RELEASED);
	/* an eUICC that skips the code anyway: the SM-DP+ finds no hashCc (8.2.7/2.2) */
	struct dp_euicc_identity *id = (struct dp_euicc_identity *)dp_euicc_identity(d.e);
	dp_euicc_identity_set_faults(id, DP_EUICC_FAULT_IGNORE_CC_FLAG);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, H.srv.address), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, "CC-1"), DP_OK);
	assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_OK);
	dp_harness_assert_refused(&d, dp_lpa_get_bound_profile_package(d.lpa), "8.2.7", "2.2");
	assert_int_equal(dp_lpa_cancel_session(d.lpa, DP_LPA_CANCEL_POSTPONED), DP_OK);
	dp_euicc_identity_set_faults(id, 0);
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_RELEASED);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "CC-1", "1234"), "8.2.7", "3.8");
	assert_int_equal(dp_harness_download(&H, &d, "CC-1", "4711"), DP_OK);
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_INSTALLED);
	/* three wrong codes end the order */
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "CC-2", .cc = "4711"},
			     iccid);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "CC-2", "1"), "8.2.7", "3.8");
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "CC-2", "2"), "8.2.7", "3.8");
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "CC-2", "3"), "8.2.7", "6.4");
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_ERROR);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "CC-2", "4711"), "8.2.6", "3.8");
	dp_harness_device_free(&d);
}

static void default_smdp(void **state)
{
	struct dp_harness_device d;
	char a[21], b[21];
	dp_harness_device_fresh(&H, NULL, 0, &d);
	/* no order for this EID yet */
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, NULL, NULL), "8.2.6", "3.8");
	dp_harness_order_add(&H, &(struct dp_harness_order){.eid = d.eid}, a);
	assert_int_equal(dp_harness_download(&H, &d, NULL, NULL), DP_OK);
	assert_int_equal(dp_harness_state(&H, a), DP_PROFILE_INSTALLED);
	dp_harness_order_add(&H, &(struct dp_harness_order){.eid = d.eid}, b);
	assert_int_equal(dp_harness_download(&H, &d, "", NULL), DP_OK);
	assert_int_equal(dp_harness_state(&H, b), DP_PROFILE_INSTALLED);
	dp_harness_device_free(&d);
}

static void refusals(void **state)
{
	struct dp_harness_device d, other;
	char iccid[21];
	dp_harness_device_fresh(&H, NULL, 0, &d);
	dp_harness_device_fresh(&H, NULL, 0, &other);
	/* 8.8.1/3.8: not our address (the same server reached as 127.0.0.1, TLS unchecked) */
	struct dp_harness_device lab;
	{
		struct dp_euicc_identity *id = NULL;
		char cert[PATHN], key[PATHN], eum[PATHN];
		dp_harness_path(&H, cert, sizeof(cert), "nist/euicc-cert.pem");
		dp_harness_path(&H, key, sizeof(key), "nist/euicc-key.pem");
		dp_harness_path(&H, eum, sizeof(eum), "nist/eum-cert.pem");
		assert_int_equal(dp_euicc_identity_load(cert, key, eum, &id), DP_OK);
		dp_harness_path(&H, cert, sizeof(cert), "nist/ci-cert.pem");
		assert_int_equal(dp_euicc_identity_add_ci(id, cert, true), DP_OK);
		assert_int_equal(dp_euicc_new(id, &lab.e), DP_OK);
		struct dp_lpa_options o = {.http = {.insecure = true}};
		assert_int_equal(dp_lpa_new(lab.e, &o, &lab.lpa), DP_OK);
		char ip[64];
		snprintf(ip, sizeof(ip), "127.0.0.1:%u", H.srv.port);
		dp_harness_assert_refused(&lab, dp_lpa_initiate_authentication(lab.lpa, ip),
					  "8.8.1", "3.8");
		/* the address is compared without regard to case */
		snprintf(ip, sizeof(ip), "LocalHost:%u", H.srv.port);
		assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ip), DP_OK);
		assert_int_equal(dp_lpa_cancel_session(d.lpa, DP_LPA_CANCEL_POSTPONED), DP_OK);
		dp_harness_device_free(&lab);
	}
	/* 8.2.6/3.8: unknown matching ID */
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "NO-SUCH-ORDER", NULL), "8.2.6",
				  "3.8");
	/* 8.1.1/3.8: the order is for another EID */
	dp_harness_order_add(
	    &H, &(struct dp_harness_order){.matching_id = "EID-1", .eid = other.eid}, iccid);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "EID-1", NULL), "8.1.1", "3.8");
	assert_int_equal(dp_harness_download(&H, &other, "EID-1", NULL), DP_OK);
	/* 8.8.5/4.10: expired order */
	dp_harness_order_add(
	    &H, &(struct dp_harness_order){.matching_id = "EXP-1", .expires_at = time(NULL) - 10},
	    iccid);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "EXP-1", NULL), "8.8.5", "4.10");
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_ERROR);
	/* 8.8.5/6.4: attempts used up (two attempts cancelled, the third refused) */
	dp_harness_order_add(
	    &H, &(struct dp_harness_order){.matching_id = "ATT-1", .max_attempts = 2}, iccid);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(dp_lpa_initiate_authentication(d.lpa, H.srv.address), DP_OK);
		assert_int_equal(dp_lpa_authenticate_client(d.lpa, "ATT-1"), DP_OK);
		assert_int_equal(dp_lpa_cancel_session(d.lpa, DP_LPA_CANCEL_POSTPONED), DP_OK);
	}
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "ATT-1", NULL), "8.8.5", "6.4");
	/* 8.10.1/3.9: an unknown transactionId */
	assert_int_equal(
	    dp_lpa_set_session(d.lpa, H.srv.address, "00112233445566778899AABBCCDDEEFF"), DP_OK);
	dp_harness_assert_refused(&d, dp_lpa_cancel_session(d.lpa, DP_LPA_CANCEL_POSTPONED),
				  "8.10.1", "3.9");
	dp_harness_device_free(&d);
	dp_harness_device_free(&other);
}

static void refusals_euicc(void **state)
{
	struct dp_harness_device d;
	char iccid[21];
	/* 8.1/6.1: the eUICC's signatures do not verify */
	dp_harness_device_fresh(&H, NULL, 0, &d);
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "SIG-1"}, iccid);
	dp_euicc_identity_set_faults((struct dp_euicc_identity *)dp_euicc_identity(d.e),
				     DP_EUICC_FAULT_BAD_SIGNATURE);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "SIG-1", NULL), "8.1", "6.1");
	dp_euicc_identity_set_faults((struct dp_euicc_identity *)dp_euicc_identity(d.e), 0);
	assert_int_equal(dp_harness_download(&H, &d, "SIG-1", NULL), DP_OK);
	/* 8.8.3/3.1: SVN out of range */
	dp_euicc_identity_set_svn((struct dp_euicc_identity *)dp_euicc_identity(d.e), 1, 0, 0);
	dp_harness_assert_refused(&d, dp_lpa_initiate_authentication(d.lpa, H.srv.address), "8.8.3",
				  "3.1");
	dp_euicc_identity_set_svn((struct dp_euicc_identity *)dp_euicc_identity(d.e), 2, 2, 0);
	/* 8.8.2/3.1: no CI in common for signing */
	struct dp_ci_ski unknown = {.len = 20};
	memset(unknown.v, 0x42, 20);
	struct dp_euicc_identity *id = (struct dp_euicc_identity *)dp_euicc_identity(d.e);
	size_t n_sign;
	const struct dp_ci_ski *sign = dp_euicc_identity_ski_list(id, true, &n_sign);
	struct dp_ci_ski saved[8];
	memcpy(saved, sign, n_sign * sizeof(*sign));
	assert_int_equal(dp_euicc_identity_set_ski_list(id, true, &unknown, 1), DP_OK);
	dp_harness_assert_refused(&d, dp_lpa_initiate_authentication(d.lpa, H.srv.address), "8.8.2",
				  "3.1");
	/* 8.8.4/3.7: we could sign, but the eUICC cannot verify our chain */
	assert_int_equal(dp_euicc_identity_set_ski_list(id, true, saved, n_sign), DP_OK);
	size_t n_ver;
	const struct dp_ci_ski *ver = dp_euicc_identity_ski_list(id, false, &n_ver);
	struct dp_ci_ski saved_ver[8];
	memcpy(saved_ver, ver, n_ver * sizeof(*ver));
	assert_int_equal(dp_euicc_identity_set_ski_list(id, false, &unknown, 1), DP_OK);
	dp_harness_assert_refused(&d, dp_lpa_initiate_authentication(d.lpa, H.srv.address), "8.8.4",
				  "3.7");
	assert_int_equal(dp_euicc_identity_set_ski_list(id, false, saved_ver, n_ver), DP_OK);
	/* 8.1/4.8: the eUICC has too little memory for the profile */
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "MEM-1"}, iccid);
	dp_euicc_identity_set_free_memory(id, 1000);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "MEM-1", NULL), "8.1", "4.8");
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_ERROR);
	dp_harness_device_free(&d);
	/* 8.1.3/6.3: CERT.EUICC expired */
	dp_harness_device_fresh(&H, NULL, time(NULL) - 3600, &d);
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "EXPCERT-1"}, iccid);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "EXPCERT-1", NULL), "8.1.3",
				  "6.3");
	dp_harness_device_free(&d);
}

/* Chains and bindings: an EUM of another CI than the one chosen (8.11.1/3.9), an EID
 * outside the EUM's range (8.1.3/6.1), a profile already bound to another eUICC
 * (8.1.1/3.1), an expired session (8.10.1/3.9). */
static void refusals_chain(void **state)
{
	struct dp_harness_device d, a, b;
	char iccid[21];
	/* the Brainpool eUICC announcing the NIST CI for signing: its EUM does not chain to it */
	struct dp_euicc_identity *id = NULL;
	char cert[PATHN], key[PATHN], eum[PATHN], ci[PATHN];
	dp_harness_path(&H, cert, sizeof(cert), "brp/euicc-cert.pem");
	dp_harness_path(&H, key, sizeof(key), "brp/euicc-key.pem");
	dp_harness_path(&H, eum, sizeof(eum), "brp/eum-cert.pem");
	dp_harness_path(&H, ci, sizeof(ci), "nist/ci-cert.pem");
	assert_int_equal(dp_euicc_identity_load(cert, key, eum, &id), DP_OK);
	assert_int_equal(dp_euicc_identity_add_ci(id, ci, true), DP_OK);
	dp_harness_device_from(&H, id, &d);
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "CHAIN-1"}, iccid);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "CHAIN-1", NULL), "8.11.1",
				  "3.9");
	dp_harness_device_free(&d);
	/* an EID outside 89049032... */
	dp_harness_device_fresh(&H, "89049099", 0, &d);
	dp_harness_assert_refused(&d, dp_harness_download(&H, &d, "CHAIN-1", NULL), "8.1.3", "6.1");
	dp_harness_device_free(&d);
	/* bound to the first eUICC that authenticated */
	dp_harness_device_fresh(&H, NULL, 0, &a);
	dp_harness_device_fresh(&H, NULL, 0, &b);
	assert_int_equal(dp_lpa_initiate_authentication(a.lpa, H.srv.address), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(a.lpa, "CHAIN-1"), DP_OK);
	assert_int_equal(dp_lpa_cancel_session(a.lpa, DP_LPA_CANCEL_POSTPONED), DP_OK);
	dp_harness_assert_refused(&b, dp_harness_download(&H, &b, "CHAIN-1", NULL), "8.1.1", "3.1");
	assert_int_equal(dp_harness_download(&H, &a, "CHAIN-1", NULL), DP_OK);
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_INSTALLED);
	/* a session older than session_ttl_s (10 s on this server start) has expired */
	server_restart("session_ttl_s=10");
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "TTL-1"}, iccid);
	assert_int_equal(dp_lpa_initiate_authentication(b.lpa, H.srv.address), DP_OK);
	sleep(11);
	dp_harness_assert_refused(&b, dp_lpa_authenticate_client(b.lpa, "TTL-1"), "8.10.1", "3.9");
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_RELEASED);
	server_restart(NULL);
	assert_int_equal(dp_harness_download(&H, &b, "TTL-1", NULL), DP_OK);
	dp_harness_device_free(&a);
	dp_harness_device_free(&b);
}

/* The session lives in the database: a restart between authenticateClient and
 * getBoundProfilePackage loses nothing. */
static void restart_between_calls(void **state)
{
	struct dp_harness_device d;
	char iccid[21];
	struct dp_lpa_install_result res;
	dp_harness_device_fresh(&H, NULL, 0, &d);
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "RESTART-1"}, iccid);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, H.srv.address), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, "RESTART-1"), DP_OK);
	assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_OK);
	uint16_t port = H.srv.port;
	server_restart(NULL);
	assert_int_equal(H.srv.port, port);
	assert_int_equal(dp_lpa_get_bound_profile_package(d.lpa), DP_OK);
	assert_int_equal(dp_lpa_load_bound_profile_package(d.lpa, &res), DP_OK);
	assert_true(res.success);
	size_t sent = 0;
	assert_int_equal(dp_lpa_notification_send_all(d.lpa, &sent), DP_OK);
	assert_int_equal(sent, 1);
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_INSTALLED);
	dp_harness_device_free(&d);
}

/* The 5F49 otPK.DP inside a BPP's BF23. */
static void bpp_otpk(const struct dp_harness_device *d, uint8_t out[65])
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
	struct dp_harness_device d;
	char iccid[21];
	struct dp_lpa_install_result res;
	uint8_t first[65], again[65], fresh[65];
	size_t len;
	dp_harness_device_fresh(&H, NULL, 0, &d);
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "RETRY-1"}, iccid);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, H.srv.address), DP_OK);
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
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_INSTALLED);
	dp_buf_deinit(&copy);
	dp_harness_device_free(&d);
}

/* The order book's row of the device's current ES9+ session. */
static void device_session(const struct dp_harness_device *d, struct dp_db_session *s)
{
	uint8_t tid[16];
	size_t n;
	const char *th = dp_lpa_transaction_id(d->lpa);
	assert_int_equal(dp_hex_decode(th, strlen(th), tid, sizeof(tid), &n), DP_OK);
	dp_db_session_init(s);
	assert_int_equal(dp_db_session_get(H.db, tid, n, s), DP_OK);
}

/* The 5F49 bppEuiccOtpk of a session's smdpSigned2; false when it offered none. */
static bool offered_otpk(const struct dp_db_session *s, uint8_t out[65])
{
	struct dp_tlv t, pk;
	assert_int_equal(dp_tlv_expect(s->smdp_signed2.data, s->smdp_signed2.len, 0x30, &t), DP_OK);
	if (dp_tlv_find(t.value, t.len, 0x5F49, &pk) != DP_OK)
		return false;
	assert_int_equal(pk.len, 65);
	memcpy(out, pk.value, 65);
	return true;
}

/* initiateAuthentication .. getBoundProfilePackage of one session. */
static void to_the_bpp(struct dp_harness_device *d, const char *mid)
{
	assert_int_equal(dp_lpa_initiate_authentication(d->lpa, H.srv.address), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d->lpa, mid), DP_OK);
	assert_int_equal(dp_lpa_prepare_download(d->lpa, NULL), DP_OK);
	assert_int_equal(dp_lpa_get_bound_profile_package(d->lpa), DP_OK);
}

/* Loads the BPP, expects success, sends the PIR. */
static void install(struct dp_harness_device *d, const char *iccid)
{
	struct dp_lpa_install_result res;
	size_t sent = 0;
	assert_int_equal(dp_lpa_load_bound_profile_package(d->lpa, &res), DP_OK);
	assert_true(res.success);
	assert_int_equal(dp_lpa_notification_send_all(d->lpa, &sent), DP_OK);
	dp_harness_assert_state(&H, iccid, DP_PROFILE_INSTALLED);
}

/* The profile's kept binding for eid: DP_OK or DP_ERR_NOT_FOUND. */
static int kept_binding(const char *iccid, const char *eid, struct dp_db_binding *b)
{
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(H.db, iccid, false, &p), DP_OK);
	int r = dp_db_profile_kept_binding(H.db, p.id, eid, b);
	dp_db_profile_deinit(&p);
	return r;
}

/* A BPP the LPA lost before loading it (SGP.23 4.3.13.2.4): the next session's
 * smdpSigned2 offers bppEuiccOtpk = the first otPK.EUICC, the eUICC (still holding that
 * otSK) answers with it, and the new BPP is bound to the same otPK.DP (a new transactionId
 * and smdpSign); it installs and the profile forgets the binding. */
static void bpp_rebind_new_session(void **state)
{
	struct dp_harness_device d;
	struct dp_db_session s1, s2;
	struct dp_db_binding b;
	char iccid[21];
	uint8_t dp1[65], dp2[65], offer[65];
	(void)state;
	dp_harness_device_fresh(&H, NULL, 0, &d);
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "REBIND-1"}, iccid);
	to_the_bpp(&d, "REBIND-1");
	bpp_otpk(&d, dp1);
	device_session(&d, &s1);
	assert_false(offered_otpk(&s1, offer));
	dp_harness_assert_state(&H, iccid, DP_PROFILE_DOWNLOADED);
	assert_int_equal(kept_binding(iccid, d.eid, &b), DP_OK);
	assert_memory_equal(b.otpk_euicc, s1.otpk_euicc, 65);
	/* another EID is offered nothing */
	assert_int_equal(kept_binding(iccid, "89049032000000000000000000000999", &b),
			 DP_ERR_NOT_FOUND);
	/* the BPP is lost: a new session of the same order */
	to_the_bpp(&d, "REBIND-1");
	device_session(&d, &s2);
	assert_memory_not_equal(s1.tid, s2.tid, s1.tid_len);
	assert_true(offered_otpk(&s2, offer));
	assert_memory_equal(offer, s1.otpk_euicc, 65);
	assert_memory_equal(s2.otpk_euicc, s1.otpk_euicc, 65);
	bpp_otpk(&d, dp2);
	assert_memory_equal(dp1, dp2, 65);
	install(&d, iccid);
	assert_int_equal(kept_binding(iccid, d.eid, &b), DP_ERR_NOT_FOUND);
	dp_db_session_deinit(&s1);
	dp_db_session_deinit(&s2);
	dp_harness_device_free(&d);
}

/* An install error with retry (free memory: PIR errorReason 10) keeps the order
 * downloadable; the eUICC deletes its otSK with the PIR (download-path.md 7.2), so the
 * server forgets the kept binding and offers nothing: the new session binds anew (new
 * otPK.DP), is kept in its place, and installs. */
static void bpp_rebind_after_install_error(void **state)
{
	struct dp_harness_device d;
	struct dp_db_session s1, s2;
	struct dp_db_binding b;
	struct dp_lpa_install_result res;
	char iccid[21];
	uint8_t dp1[65], dp2[65], offer[65];
	size_t sent = 0;
	(void)state;
	dp_harness_device_fresh(&H, NULL, 0, &d);
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "REBIND-2"}, iccid);
	to_the_bpp(&d, "REBIND-2");
	bpp_otpk(&d, dp1);
	device_session(&d, &s1);
	/* the identity is the eUICC's own (taken by dp_euicc_new) */
	struct dp_euicc_identity *id = (struct dp_euicc_identity *)dp_euicc_identity(d.e);
	uint32_t mem = dp_euicc_identity_free_memory(id);
	dp_euicc_identity_set_free_memory(id, 100);
	assert_int_equal(dp_lpa_load_bound_profile_package(d.lpa, &res), DP_ERR_LPA_EUICC);
	assert_false(res.success);
	assert_int_equal(res.error_reason, 10);
	assert_int_equal(dp_lpa_notification_send_all(d.lpa, &sent), DP_OK);
	assert_int_equal(sent, 1);
	dp_harness_assert_state(&H, iccid, DP_PROFILE_RELEASED);
	/* the eUICC dropped its one-time key with the PIR: nothing is offered again */
	assert_int_equal(kept_binding(iccid, d.eid, &b), DP_ERR_NOT_FOUND);
	dp_euicc_identity_set_free_memory(id, mem);
	to_the_bpp(&d, "REBIND-2");
	device_session(&d, &s2);
	assert_false(offered_otpk(&s2, offer));
	assert_memory_not_equal(s2.otpk_euicc, s1.otpk_euicc, 65);
	bpp_otpk(&d, dp2);
	assert_memory_not_equal(dp1, dp2, 65);
	assert_int_equal(kept_binding(iccid, d.eid, &b), DP_OK);
	assert_memory_equal(b.otpk_euicc, s2.otpk_euicc, 65);
	install(&d, iccid);
	assert_int_equal(kept_binding(iccid, d.eid, &b), DP_ERR_NOT_FOUND);
	dp_db_session_deinit(&s1);
	dp_db_session_deinit(&s2);
	dp_harness_device_free(&d);
}

static void cancel_reasons(void **state)
{
	static const struct {
		int reason;
		enum dp_profile_state after;
	} cases[] = {
	    {DP_LPA_CANCEL_END_USER_REJECTION, DP_PROFILE_ERROR},
	    {DP_LPA_CANCEL_POSTPONED, DP_PROFILE_RELEASED},
	    {DP_LPA_CANCEL_TIMEOUT, DP_PROFILE_RELEASED},
	    {DP_LPA_CANCEL_PPR_NOT_ALLOWED, DP_PROFILE_ERROR},
	    {DP_LPA_CANCEL_METADATA_MISMATCH, DP_PROFILE_ERROR},
	    {DP_LPA_CANCEL_LOAD_BPP_EXECUTION_ERROR, DP_PROFILE_RELEASED},
	    {DP_LPA_CANCEL_UNDEFINED, DP_PROFILE_RELEASED},
	};
	struct dp_harness_device d;
	dp_harness_device_fresh(&H, NULL, 0, &d);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char mid[32], iccid[21];
		snprintf(mid, sizeof(mid), "CANCEL-%d", cases[i].reason);
		dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = mid}, iccid);
		assert_int_equal(dp_lpa_initiate_authentication(d.lpa, H.srv.address), DP_OK);
		assert_int_equal(dp_lpa_authenticate_client(d.lpa, mid), DP_OK);
		if (i % 2 == 1) {
			/* also after the binding */
			assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_OK);
			assert_int_equal(dp_lpa_get_bound_profile_package(d.lpa), DP_OK);
		}
		assert_int_equal(dp_lpa_cancel_session(d.lpa, cases[i].reason), DP_OK);
		assert_int_equal(dp_harness_state(&H, iccid), cases[i].after);
		/* the session is over */
		dp_harness_assert_refused(&d, dp_lpa_cancel_session(d.lpa, cases[i].reason),
					  "8.10.1", "3.9");
		if (cases[i].after == DP_PROFILE_RELEASED) {
			/* a new session works without a new order */
			assert_int_equal(dp_harness_download(&H, &d, mid, NULL), DP_OK);
			assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_INSTALLED);
		}
	}
	dp_harness_device_free(&d);
}

static void notifications(void **state)
{
	struct dp_harness_device d;
	char iccid[21], keep[21];
	dp_harness_device_fresh(&H, NULL, 0, &d);
	/* an install error result (a tampered segment) is accepted and recorded */
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "NOTIF-ERR"}, iccid);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, H.srv.address), DP_OK);
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
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_ERROR);

	/* install, then delete: reusable (Available) or not (Unavailable) per the order */
	dp_harness_order_add(
	    &H, &(struct dp_harness_order){.matching_id = "NOTIF-REUSE", .reuse_on_delete = true},
	    iccid);
	dp_harness_order_add(&H, &(struct dp_harness_order){.matching_id = "NOTIF-KEEP"}, keep);
	assert_int_equal(dp_harness_download(&H, &d, "NOTIF-REUSE", NULL), DP_OK);
	assert_int_equal(dp_harness_download(&H, &d, "NOTIF-KEEP", NULL), DP_OK);
	int result = -1;
	assert_int_equal(dp_lpa_profile_enable(d.lpa, iccid, &result), DP_OK);
	assert_int_equal(result, 0);
	assert_int_equal(dp_lpa_profile_disable(d.lpa, iccid, &result), DP_OK);
	assert_int_equal(dp_lpa_profile_delete(d.lpa, iccid, &result), DP_OK);
	assert_int_equal(dp_lpa_profile_delete(d.lpa, keep, &result), DP_OK);
	assert_int_equal(dp_lpa_notification_send_all(d.lpa, &sent), DP_OK);
	assert_int_equal(sent, 4);
	assert_int_equal(dp_harness_state(&H, iccid), DP_PROFILE_AVAILABLE);
	assert_int_equal(dp_harness_state(&H, keep), DP_PROFILE_UNAVAILABLE);
	dp_harness_device_free(&d);
}

/* 50 devices at once against a pool order of 40 profiles. */
struct racer {
	struct dp_harness_device d;
	int r;
	char subject[32], reason[32];
};

static void *race(void *arg)
{
	struct racer *x = arg;
	x->r = dp_harness_download(&H, &x->d, "POOL-40", NULL);
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
		dp_harness_profile_add(&H, &(struct dp_harness_profile){.type = "pool40"}, ignored);
	dp_harness_order_add(&H,
			     &(struct dp_harness_order){
				 .matching_id = "POOL-40", .pool = true, .profile.type = "pool40"},
			     NULL);
	for (int i = 0; i < N_DEVICES; i++)
		dp_harness_device_fresh(&H, NULL, 0, &x[i].d);
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
	struct dp_db_profile_filter f = {.state = DP_PROFILE_STATE_COUNT, .profile_type = "pool40"};
	assert_int_equal(dp_db_profile_list(H.db, &f, count_installed, &installed), DP_OK);
	assert_int_equal(installed, N_POOL);
	/* no profile went to two eUICCs and no eUICC got two profiles */
	struct seen s = {.n = 0};
	assert_int_equal(dp_db_profile_list(H.db, &f, collect_eids, &s), DP_OK);
	assert_int_equal(s.n, N_POOL);
	for (int i = 0; i < N_DEVICES; i++)
		dp_harness_device_free(&x[i].d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(full_download),	  cmocka_unit_test(full_download_ppk_and_brainpool),
	    cmocka_unit_test(brainpool_endpoint), cmocka_unit_test(full_download_sgp26),
	    cmocka_unit_test(confirmation_code),  cmocka_unit_test(default_smdp),
	    cmocka_unit_test(refusals),		  cmocka_unit_test(refusals_euicc),
	    cmocka_unit_test(refusals_chain),	  cmocka_unit_test(restart_between_calls),
	    cmocka_unit_test(bpp_retries),	  cmocka_unit_test(bpp_rebind_new_session),
	    cmocka_unit_test(bpp_rebind_after_install_error), cmocka_unit_test(cancel_reasons),
	    cmocka_unit_test(notifications),	  cmocka_unit_test(pool_race),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
