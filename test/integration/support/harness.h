/* The shared fixture of the C integration tests: a temp folder with test PKI sets made by
 * `smdp pki init`, the real `smdp serve` started on port 0 (fork/exec, the ready line read
 * back), the order book it writes opened beside it, profiles with fresh ICCIDs and orders
 * put in through the storage interface, and devices (a software eUICC and a test LPA).
 * Every helper fails the running cmocka test on error, so scenarios read as their steps.
 * One harness per test program; not thread-safe except dp_harness_download (one device per
 * thread). */
#ifndef DP_TEST_HARNESS_H
#define DP_TEST_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/types.h>
#include <time.h>

#include <cmocka.h>

#include "smdp/db.h"
#include "test/lpa/lpa.h"

#define DP_HARNESS_ENDPOINTS 4 /* extra ES9+ endpoints whose ready lines are read */

/* The running server, from its ready lines. */
struct dp_harness_server {
	pid_t pid;	   /* 0 when not running */
	uint16_t port;	   /* the ES9+ port (the one asked for, or the one port 0 got) */
	uint16_t es2_port; /* the ES2+ port, 0 when the ready line names none */
	char address[64];  /* the SM-DP+ address LPAs use (address= of the ready line) */
	char endpoint[DP_HARNESS_ENDPOINTS][64]; /* address= of each `--endpoint` line */
};

/* Plain data the scenarios read: set up by dp_harness_init, the server fields by
 * dp_harness_server_start. */
struct dp_harness {
	char dir[64];	  /* the temp folder: PKI sets, state/, server.log, device keys */
	const char *smdp; /* the smdp binary ($SMDP_BIN) */
	/* The main PKI set (a folder of `dir`): the server's TLS certificate and first
	 * --pki-dir, the EUM of fresh devices, the CI the LPAs trust for TLS. */
	const char *set;
	/* More sets whose CI every new device trusts for verification (NULL-terminated;
	 * NULL: only the CI a device signs with). */
	const char *const *verify_sets;
	struct dp_harness_server srv;
	struct dp_db *db; /* the server's order book, opened at its first start */
	unsigned next_iccid;
};

/* A device: a software eUICC and a test LPA talking to the server over HTTPS. */
struct dp_harness_device {
	struct dp_euicc *e;
	struct dp_lpa *lpa;
	char eid[33];
};

/* ---- the fixture ---- */

/* Makes /tmp/smdp-<name>-XXXXXX, reads $SMDP_BIN and loads the ASN.1 tables. set: the
 * main PKI set's folder name (made later by dp_harness_pki_init). */
void dp_harness_init(struct dp_harness *h, const char *name, const char *set);
/* Stops the server, closes the order book and removes the folder (kept when $SMDP_KEEP is
 * set, or when the server did not exit cleanly: its server.log is there). 0, or 1 when
 * the server's exit status was not 0 (for a cmocka group teardown). */
int dp_harness_deinit(struct dp_harness *h);
/* out = dir/<printf(fmt, ...)>; fails the test when it does not fit. */
void dp_harness_path(const struct dp_harness *h, char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Runs argv[0] with argv (stdout to /dev/null, stderr kept); its exit status, -1 when it
 * did not exit normally. */
int dp_harness_run(const char *const argv[]);
/* `smdp pki init --dir dir/<set> --host localhost` (with `--curve curve` unless NULL). */
void dp_harness_pki_init(struct dp_harness *h, const char *set, const char *curve);

/* ---- the server ---- */

/* Starts `smdp serve --state-dir dir/state --listen 127.0.0.1:<port> --tls-cert and
 * --tls-key <set>/dptls-*.pem --pki-dir <set> --log info,db=warn` followed by `options`
 * (NULL-terminated; NULL: none), stderr appended to dir/server.log. Reads the ready line
 * into h->srv (it must name address=, a port, and es2_port= when the ES2+ listener is on),
 * then `endpoints` endpoint lines (`smdp: endpoint https://127.0.0.1:... address=...`).
 * Opens h->db after the first start. */
void dp_harness_server_start(struct dp_harness *h, uint16_t port, const char *const *options,
			     size_t endpoints);
/* SIGTERM and wait. True when the server exited with status 0 (or was not running). */
bool dp_harness_server_stop(struct dp_harness *h) DP_WUR;

/* ---- the order book ---- */

/* A profile: a copy of ../shared/ts48/TS48v1_A.der with a fresh ICCID and its metadata. */
struct dp_harness_profile {
	const char *type;  /* profile type; NULL: "single" */
	const char *owner; /* the operator owning it; NULL: "test" */
	int profile_class; /* metadata profileClass; 0: 2 (operational) */
	bool ppk;	   /* pre-protected at import (the PPK form of the BPP) */
};
/* Imports a profile (Available); iccid receives its ICCID (20 characters). */
void dp_harness_profile_add(struct dp_harness *h, const struct dp_harness_profile *p,
			    char iccid[21]);
/* The profile's state in the order book. */
enum dp_profile_state dp_harness_state(struct dp_harness *h, const char *iccid);
/* Asserts a profile's state, naming both states when they differ. */
#define dp_harness_assert_state(h, iccid, st)                                                      \
	assert_string_equal(dp_profile_state_name(dp_harness_state(h, iccid)),                     \
			    dp_profile_state_name(st))

/* A download order (and, unless pool, a fresh profile for it). */
struct dp_harness_order {
	const char *matching_id;  /* NULL: none (a default SM-DP+ order, with eid) */
	const char *eid;	  /* bound to this EID; NULL: any eUICC */
	const char *cc;		  /* confirmation code (stored as its SHA-256); NULL: none */
	time_t expires_at;	  /* 0: never */
	unsigned max_attempts;	  /* download attempts; 0: 5 */
	unsigned cc_max_attempts; /* wrong confirmation codes; 0: 3 */
	bool reuse_on_delete;	  /* the profile becomes Available again when deleted */
	bool pool;		  /* a pool order of profile.type: no profile is made */
	struct dp_harness_profile profile; /* its profile; its owner owns the order too */
};
/* Adds the order; iccid (may be NULL) receives its profile's ICCID ("" for a pool). */
void dp_harness_order_add(struct dp_harness *h, const struct dp_harness_order *o, char iccid[21]);

/* ---- devices ---- */

/* A device from an identity (taken): the identity also trusts every verify_sets CI; the LPA
 * trusts the main set's CI for TLS. d->eid is the identity's EID. */
void dp_harness_device_from(struct dp_harness *h, struct dp_euicc_identity *id,
			    struct dp_harness_device *d);
/* The eUICC of a generated set (its euicc-cert.pem and key), signing with that set's CI. */
void dp_harness_device_of_set(struct dp_harness *h, const char *set, struct dp_harness_device *d);
/* A fresh eUICC certificate and key under the main set's EUM, for a new EID starting with
 * prefix (NULL: "89049032", the EUM's range), valid until not_after (0: the default
 * validity; otherwise from one day before); signing with the main set's CI. */
void dp_harness_device_fresh(struct dp_harness *h, const char *prefix, time_t not_after,
			     struct dp_harness_device *d);
void dp_harness_device_free(struct dp_harness_device *d);
/* A whole download from the server's address (matching ID and code may be NULL). */
int dp_harness_download(struct dp_harness *h, struct dp_harness_device *d, const char *mid,
			const char *cc) DP_WUR;
/* Asserts that r is DP_ERR_LPA_REFUSED by the device's last ES9+ call with subject/reason;
 * the failure names the function, the codes and message got, and the error detail. */
#define dp_harness_assert_refused(d, r, subject, reason)                                           \
	dp_harness_check_refused(d, r, subject, reason, __FILE__, __LINE__)
void dp_harness_check_refused(const struct dp_harness_device *d, int r, const char *subject,
			      const char *reason, const char *file, int line);

#endif
