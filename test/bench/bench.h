/* The load generator's pieces (issue 8): latency samples and error counts, bench devices
 * (a test eUICC with its own EID and a test LPA, one per thread), the order loader, and
 * the server probe (/proc). SGP.22 3.1.3 (the download it drives), 5.6 (ES9+).
 * A tool, not a test: it prints figures and never asserts timings. */
#ifndef DP_TEST_BENCH_BENCH_H
#define DP_TEST_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pki/base/error.h"
#include "pki/crypto/cert.h"
#include "test/lpa/lpa.h"

/* ---- latency samples and errors (one set per thread, merged at the end) ---- */

/* The ES9+ functions timed, in download order (cancelSession only in --hold). */
enum dp_bench_fn {
	DP_BENCH_INITIATE,
	DP_BENCH_AUTHENTICATE,
	DP_BENCH_GET_BPP,
	DP_BENCH_NOTIFICATION,
	DP_BENCH_CANCEL,
	DP_BENCH_FN_COUNT
};

const char *dp_bench_fn_name(enum dp_bench_fn f);

/* Distinct error kinds kept per set; the rest are counted under "other". */
#define DP_BENCH_ERRORS_MAX 32
#define DP_BENCH_ERROR_KEY  96

struct dp_bench_error {
	char key[DP_BENCH_ERROR_KEY]; /* "authenticateClient 8.2.5/4.3", "load DP_ERR_..." */
	unsigned long n;
};

/* Milliseconds per call of each function, and errors by kind. Growable arrays bounded
 * by max_samples per function; samples past it are dropped (and counted). */
struct dp_bench_stats {
	double *ms[DP_BENCH_FN_COUNT];
	size_t n[DP_BENCH_FN_COUNT], cap[DP_BENCH_FN_COUNT];
	size_t max_samples;
	unsigned long dropped;
	struct dp_bench_error err[DP_BENCH_ERRORS_MAX];
	size_t n_err;
	unsigned long other_errors, errors;
};

void dp_bench_stats_init(struct dp_bench_stats *s, size_t max_samples);
void dp_bench_stats_deinit(struct dp_bench_stats *s);
int dp_bench_stats_add(struct dp_bench_stats *s, enum dp_bench_fn f, double ms) DP_WUR;
/* Counts one error of kind key (truncated to DP_BENCH_ERROR_KEY - 1 bytes). */
void dp_bench_stats_error(struct dp_bench_stats *s, const char *key);
/* Moves every sample and error of from into to (from is left empty). */
int dp_bench_stats_merge(struct dp_bench_stats *to, struct dp_bench_stats *from) DP_WUR;
/* Sorts the samples of f and gives the nearest-rank percentile p (0 < p <= 100); 0 when
 * there are none. */
double dp_bench_stats_percentile(struct dp_bench_stats *s, enum dp_bench_fn f, double p);

/* ---- devices ---- */

/* What every device is issued from: the EUM of a `smdp pki init` folder (loaded once). */
struct dp_bench_pki {
	char dir[256];	    /* the folder: eum-cert.pem, eum-key.pem, ci-cert.pem */
	char work_dir[256]; /* where each device's certificate and key are written */
	struct dp_cert *eum;
	EVP_PKEY *eum_key;
};

int dp_bench_pki_load(const char *dir, const char *work_dir, struct dp_bench_pki *p) DP_WUR;
void dp_bench_pki_deinit(struct dp_bench_pki *p);

/* One device: a software eUICC with a fresh eUICC certificate (its own EID, under the EUM)
 * and the test LPA in front of it (its own HTTPS connection, kept alive unless
 * http.fresh_connection). */
struct dp_bench_device {
	char eid[33];
	struct dp_euicc *e;
	struct dp_lpa *lpa;
};

/* http: the LPA's transport options (the CA file it trusts for TLS, fresh connections). */
int dp_bench_device_new(const struct dp_bench_pki *p, const struct dp_lpa_http_options *http,
			struct dp_bench_device *d) DP_WUR;
void dp_bench_device_deinit(struct dp_bench_device *d);
/* Makes room for the next download without any ES9+ call: deletes every installed
 * profile (ES10c DeleteProfile) and drops every pending notification (ES10b
 * NotificationSent), as if the user had deleted them offline. */
int dp_bench_device_recycle(struct dp_bench_device *d) DP_WUR;

/* ---- the order loader ---- */

/* Imports n copies of the package (SAIP DER; each with its own ICCID from iccid_base on,
 * 18 digits + Luhn) as Available profiles of profile_type, then one pool order with
 * matching_id for them, through the storage interface (db.h) into the database file.
 * progress: print a dot per 1000 on stderr. */
struct dp_bench_load {
	const char *db_path;
	const char *package_path;
	const char *profile_type;
	const char *matching_id;
	const char *iccid_base; /* 18 digits; default "894944999000000000" */
	size_t n;
	bool progress;
};

int dp_bench_load(const struct dp_bench_load *o) DP_WUR;

/* ---- the server probe ---- */

/* CPU seconds in user and system mode of a process, from /proc/<pid>/stat. */
int dp_bench_proc_cpu(long pid, double *user, double *sys) DP_WUR;
/* VmHWM and VmRSS of a process in KiB, from /proc/<pid>/status. */
int dp_bench_proc_mem(long pid, unsigned long *hwm_kib, unsigned long *rss_kib) DP_WUR;

#endif
