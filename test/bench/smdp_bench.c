/* smdp-bench: the load generator of issue 8. `load` puts N profiles and one pool order
 * into an order book; `run` drives full downloads (SGP.22 3.1.3: initiateAuthentication,
 * authenticateClient, getBoundProfilePackage with the BPP decrypted and MAC-checked by the
 * test eUICC, handleNotification with the PIR) from C device threads against an SM-DP+
 * over HTTPS, and prints downloads/s, latency percentiles per ES9+ function, errors by
 * code, and the server's CPU per download and peak RSS from /proc.
 * A tool, not a test: nothing here is asserted. */
#define _GNU_SOURCE
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "pki/asn1/asn1.h"
#include "pki/base/log.h"
#include "test/bench/bench.h"
#include "test/euicc/pe_memo.h"

#define EXIT_USAGE  2
#define THREADS_MAX 1024

static const char usage[] =
    "usage: smdp-bench load --db FILE --package FILE.der -n N [options]\n"
    "       smdp-bench run --address HOST:PORT --pki DIR -n N -c C [options]\n"
    "\n"
    "load: N copies of the SAIP package as Available profiles of one type and one pool\n"
    "order for them, written into the order book FILE (created when missing)\n"
    "  --type T             profile type (default bench)\n"
    "  --matching-id M      the pool order's matching ID (default BENCH)\n"
    "  --iccid-base D       first ICCID, 18 digits (default 894944999000000000)\n"
    "\n"
    "run: N full downloads from C concurrent devices (threads), each a test eUICC with\n"
    "its own EID issued under DIR's EUM and a test LPA with one kept-alive HTTPS\n"
    "connection; DIR is a 'smdp pki init' folder (its ci-cert.pem is the TLS anchor)\n"
    "  --matching-id M      matching ID to present (default BENCH)\n"
    "  --fresh-connection   a new TLS connection for every ES9+ call\n"
    "  --server-pid PID     read the server's CPU time and peak RSS from /proc/PID\n"
    "  --floor-us US        the crypto floor per download (bench-pki), for the ratio\n"
    "  --hold H             first open H sessions up to authenticateClient, report the\n"
    "                       server's RSS with them open, then cancel them (postponed)\n"
    "  --work-dir DIR       where device certificates go (default: a temp folder)\n"
    "  --decode-every-pe    the eUICCs decode every profile element of every package;\n"
    "                       by default a PE whose exact bytes already passed in this\n"
    "                       process is not decoded again (test/euicc/pe_memo.h)\n"
    "\n"
    "run prints a report and ends with one line 'summary: key=value ...'.\n";

/* ---- run: shared by the device threads ---- */

static struct {
	const char *address;
	const char *matching_id;
	size_t count;
	atomic_size_t next;
	atomic_size_t done;
} R;

struct worker {
	struct dp_bench_device d;
	struct dp_bench_stats st;
	unsigned long ok;
	size_t hold; /* sessions this device opens in the hold phase */
	char (*tids)[2 * DP_LPA_TID_MAX + 1];
	size_t n_tids;
	pthread_t thread;
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double self_cpu_s(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
	       (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

/* Counts a failed step under its function and code. */
static void fail(struct worker *w, const char *step, int r)
{
	char key[DP_BENCH_ERROR_KEY];
	const struct dp_lpa_call *c = dp_lpa_last_call(w->d.lpa);
	if (r == DP_ERR_LPA_REFUSED)
		snprintf(key, sizeof(key), "%s %s/%s", step, c->st.subject, c->st.reason);
	else if (r == DP_ERR_LPA_HTTP && c->http_status != 0)
		snprintf(key, sizeof(key), "%s HTTP %ld", step, c->http_status);
	else if (r == DP_ERR_LPA_EUICC)
		snprintf(key, sizeof(key), "%s eUICC error %d", step, dp_lpa_euicc_error(w->d.lpa));
	else
		snprintf(key, sizeof(key), "%s %s", step, dp_errname(r));
	dp_bench_stats_error(&w->st, key);
}

/* Keeps the latency of the ES9+ call a step just made (when an answer came). */
static int timed(struct worker *w, enum dp_bench_fn f, int r)
{
	if (r == DP_OK || r == DP_ERR_LPA_REFUSED) {
		int e = dp_bench_stats_add(&w->st, f, dp_lpa_last_call(w->d.lpa)->ms);
		if (e)
			return e;
	}
	return r;
}

/* One full download; 0 when the profile was installed and its PIR accepted. */
static int download(struct worker *w)
{
	struct dp_lpa *l = w->d.lpa;
	struct dp_lpa_install_result res;
	const char *step = "initiateAuthentication";
	size_t sent = 0;
	int r = timed(w, DP_BENCH_INITIATE, dp_lpa_initiate_authentication(l, R.address));
	if (r)
		goto fail_nosession;
	step = "authenticateClient";
	r = timed(w, DP_BENCH_AUTHENTICATE, dp_lpa_authenticate_client(l, R.matching_id));
	if (r)
		goto fail;
	step = "prepareDownload";
	r = dp_lpa_prepare_download(l, NULL);
	if (r)
		goto fail;
	step = "getBoundProfilePackage";
	r = timed(w, DP_BENCH_GET_BPP, dp_lpa_get_bound_profile_package(l));
	if (r)
		goto fail;
	/* every segment decrypted and MAC-checked by the eUICC; the PIR is then pending */
	step = "loadBoundProfilePackage";
	r = dp_lpa_load_bound_profile_package(l, &res);
	if (r) {
		fail(w, step, r);
		/* an error PIR is still reported to the SM-DP+ */
		int rn = dp_lpa_notification_send_all(l, &sent);
		if (rn)
			fail(w, "handleNotification (error PIR)", rn);
		goto out;
	}
	step = "handleNotification";
	r = timed(w, DP_BENCH_NOTIFICATION, dp_lpa_notification_send_all(l, &sent));
	if (r == DP_OK && sent != 1)
		r = dp_err_set(DP_ERR_INTERNAL, "%zu notifications sent", sent);
	if (r)
		goto fail_nosession;
	goto out;
fail:
	fail(w, step, r);
	/* end the server's session too, as an LPA would (a refusal has ended it already) */
	if (r != DP_ERR_LPA_REFUSED) {
		int rc0 = dp_lpa_cancel_session(l, DP_LPA_CANCEL_UNDEFINED);
		if (rc0)
			fail(w, "cancelSession (after an error)", rc0);
	}
	goto out;
fail_nosession:
	fail(w, step, r);
out:;
	int rc = dp_bench_device_recycle(&w->d);
	if (rc) {
		fail(w, "recycle", rc);
		r = r ? r : rc;
	}
	return r;
}

static void *download_thread(void *arg)
{
	struct worker *w = arg;
	while (atomic_fetch_add(&R.next, 1) < R.count) {
		if (download(w) == DP_OK)
			w->ok++;
		atomic_fetch_add(&R.done, 1);
	}
	return NULL;
}

/* Hold phase 1: sessions up to authenticateClient, left open (the eUICC forgets them). */
static void *hold_open_thread(void *arg)
{
	struct worker *w = arg;
	for (size_t i = 0; i < w->hold; i++) {
		int r = dp_lpa_initiate_authentication(w->d.lpa, R.address);
		if (r) {
			fail(w, "hold initiateAuthentication", r);
			continue;
		}
		r = dp_lpa_authenticate_client(w->d.lpa, R.matching_id);
		if (r) {
			fail(w, "hold authenticateClient", r);
			r = dp_lpa_cancel_session(w->d.lpa, DP_LPA_CANCEL_UNDEFINED);
			if (r)
				fail(w, "hold cancelSession (after an error)", r);
			continue;
		}
		snprintf(w->tids[w->n_tids++], sizeof(w->tids[0]), "%s",
			 dp_lpa_transaction_id(w->d.lpa));
	}
	return NULL;
}

/* Hold phase 2: each session cancelled (postponed: the pool gets its profile back). */
static void *hold_cancel_thread(void *arg)
{
	struct worker *w = arg;
	for (size_t i = 0; i < w->n_tids; i++) {
		int r = dp_lpa_set_session(w->d.lpa, R.address, w->tids[i]);
		if (r == DP_OK)
			r = timed(w, DP_BENCH_CANCEL,
				  dp_lpa_cancel_session(w->d.lpa, DP_LPA_CANCEL_POSTPONED));
		if (r)
			fail(w, "hold cancelSession", r);
	}
	return NULL;
}

static int run_threads(struct worker *w, size_t c, void *(*fn)(void *))
{
	size_t started = 0;
	int r = DP_OK;
	for (; started < c; started++) {
		if (pthread_create(&w[started].thread, NULL, fn, &w[started]) != 0) {
			r = dp_err_set(DP_ERR_INTERNAL, "pthread_create");
			break;
		}
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	return r;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static void load_average(double v[3])
{
	FILE *f = fopen("/proc/loadavg", "r");
	v[0] = v[1] = v[2] = -1;
	if (f != NULL) {
		if (fscanf(f, "%lf %lf %lf", &v[0], &v[1], &v[2]) != 3)
			v[0] = v[1] = v[2] = -1;
		fclose(f);
	}
}

struct run_opts {
	const char *pki_dir;
	const char *work_dir;
	bool fresh;
	bool decode_every_pe;
	long server_pid;
	double floor_us;
	size_t concurrency, hold;
};

/* The server's CPU seconds over the run. */
struct server_cpu {
	bool known;
	double user, sys;
};

static void report(const struct run_opts *o, struct dp_bench_stats *all, unsigned long ok,
		   double wall, const struct server_cpu *sc, double client_cpu,
		   unsigned long hwm_kib, unsigned long hold_rss_kib, const double la0[3],
		   const double la1[3])
{
	printf("smdp-bench: %zu downloads, %zu devices, TLS %s, against %s\n", R.count,
	       o->concurrency, o->fresh ? "new connection per call" : "keep-alive", R.address);
	printf("downloads      %lu ok, %lu errors in %.2f s: %.1f downloads/s\n", ok, all->errors,
	       wall, (double)ok / wall);
	printf("%-24s %9s %9s %9s %9s %8s\n", "latency (ms)", "p50", "p90", "p99", "max", "calls");
	for (int f = 0; f < DP_BENCH_FN_COUNT; f++) {
		if (all->n[f] == 0)
			continue;
		printf("%-24s %9.2f %9.2f %9.2f %9.2f %8zu\n", dp_bench_fn_name(f),
		       dp_bench_stats_percentile(all, f, 50), dp_bench_stats_percentile(all, f, 90),
		       dp_bench_stats_percentile(all, f, 99),
		       dp_bench_stats_percentile(all, f, 100), all->n[f]);
	}
	if (all->errors == 0)
		printf("errors         none\n");
	for (size_t i = 0; i < all->n_err; i++)
		printf("error          %-60s %lu\n", all->err[i].key, all->err[i].n);
	if (all->other_errors)
		printf("error          %-60s %lu\n", "(other kinds)", all->other_errors);
	double per = ok ? 1e3 / (double)ok : 0;
	double cpu = sc->user + sc->sys;
	if (sc->known) {
		double ms = cpu * per;
		printf("server         %.2f CPU s (%.2f user, %.2f system), %.3f ms per download",
		       cpu, sc->user, sc->sys, ms);
		if (o->floor_us > 0)
			printf(" = %.2f x the crypto floor (%.3f ms)", ms / (o->floor_us / 1e3),
			       o->floor_us / 1e3);
		printf(", peak RSS %.1f MB\n", (double)hwm_kib / 1024);
		if (o->hold)
			printf("server         RSS %.1f MB with %zu sessions open after "
			       "authenticateClient\n",
			       (double)hold_rss_kib / 1024, o->hold);
	}
	printf("client         %.2f CPU s, %.3f ms per download (eUICC + LPA + TLS)\n", client_cpu,
	       client_cpu * per);
	struct dp_euicc_pe_memo_stats ms;
	dp_euicc_pe_memo_stats(&ms);
	if (o->decode_every_pe)
		printf("client         every profile element decoded (--decode-every-pe)\n");
	else
		printf("client         profile elements: %llu decoded, %llu from the memo "
		       "(%zu held, %zu bytes)\n",
		       (unsigned long long)ms.decodes, (unsigned long long)ms.hits, ms.entries,
		       ms.bytes);
	printf("load average   %.2f %.2f %.2f before, %.2f %.2f %.2f after (%ld CPUs)\n", la0[0],
	       la0[1], la0[2], la1[0], la1[1], la1[2], sysconf(_SC_NPROCESSORS_ONLN));
	/* the one line scripts read */
	printf("summary: downloads=%lu errors=%lu seconds=%.2f rate=%.1f", ok, all->errors, wall,
	       (double)ok / wall);
	static const char *const short_names[DP_BENCH_FN_COUNT] = {"init", "auth", "bpp", "notif",
								   "cancel"};
	for (int f = 0; f < DP_BENCH_FN_COUNT; f++) {
		if (all->n[f] > 0)
			printf(" p99_%s_ms=%.2f", short_names[f],
			       dp_bench_stats_percentile(all, f, 99));
	}
	if (sc->known) {
		printf(" server_cpu_ms=%.3f server_sys_ms=%.3f", cpu * per, sc->sys * per);
		if (o->floor_us > 0)
			printf(" floor_ms=%.3f ratio=%.2f", o->floor_us / 1e3,
			       cpu * per / (o->floor_us / 1e3));
		printf(" peak_rss_mb=%.1f", (double)hwm_kib / 1024);
		if (o->hold)
			printf(" hold=%zu hold_rss_mb=%.1f", o->hold, (double)hold_rss_kib / 1024);
	}
	printf(" client_cpu_ms=%.3f load=%.2f\n", client_cpu * per, la1[0]);
}

static int run(const struct run_opts *o)
{
	struct dp_bench_pki pki;
	struct worker *w = NULL;
	struct dp_bench_stats all;
	char work[256], ca[512];
	bool own_work = o->work_dir == NULL;
	size_t made = 0;
	unsigned long ok = 0, hwm = 0, rss = 0, hold_rss = 0;
	double user0 = 0, sys0 = 0, user1 = 0, sys1 = 0, la0[3], la1[3];
	bool have_cpu = o->server_pid > 0;
	dp_bench_stats_init(&all, SIZE_MAX / sizeof(double));
	snprintf(work, sizeof(work), "%s", own_work ? "/tmp/smdp-bench-XXXXXX" : o->work_dir);
	if (own_work && mkdtemp(work) == NULL)
		return dp_err_set(DP_ERR_IO, "mkdtemp %s", work);
	/* the same package in every download: its PEs are checked once (pe_memo.h) */
	dp_euicc_pe_memo_enable(!o->decode_every_pe);
	int r = dp_bench_pki_load(o->pki_dir, work, &pki);
	if (r)
		goto out;
	w = calloc(o->concurrency, sizeof(*w));
	if (w == NULL) {
		r = dp_err_set(DP_ERR_NOMEM, "workers");
		goto out;
	}
	snprintf(ca, sizeof(ca), "%s/ci-cert.pem", o->pki_dir);
	struct dp_lpa_http_options http = {.ca_file = ca, .fresh_connection = o->fresh};
	for (; made < o->concurrency; made++) {
		r = dp_bench_device_new(&pki, &http, &w[made].d);
		if (r)
			goto out;
		/* each thread keeps at most every sample of its function */
		dp_bench_stats_init(&w[made].st, R.count + o->hold);
		w[made].hold = o->hold / o->concurrency + (made < o->hold % o->concurrency);
		if (w[made].hold > 0) {
			w[made].tids = calloc(w[made].hold, sizeof(w[made].tids[0]));
			if (w[made].tids == NULL) {
				r = dp_err_set(DP_ERR_NOMEM, "held sessions");
				goto out;
			}
		}
	}
	if (o->hold > 0) {
		fprintf(stderr, "smdp-bench: opening %zu sessions\n", o->hold);
		r = run_threads(w, o->concurrency, hold_open_thread);
		if (r == DP_OK && have_cpu)
			r = dp_bench_proc_mem(o->server_pid, &hwm, &hold_rss);
		if (r == DP_OK)
			r = run_threads(w, o->concurrency, hold_cancel_thread);
		if (r)
			goto out;
	}
	load_average(la0);
	if (have_cpu && (r = dp_bench_proc_cpu(o->server_pid, &user0, &sys0)) != DP_OK)
		goto out;
	double c0 = self_cpu_s(), t0 = now_s();
	r = run_threads(w, o->concurrency, download_thread);
	double wall = now_s() - t0, client_cpu = self_cpu_s() - c0;
	if (r)
		goto out;
	if (have_cpu && ((r = dp_bench_proc_cpu(o->server_pid, &user1, &sys1)) != DP_OK ||
			 (r = dp_bench_proc_mem(o->server_pid, &hwm, &rss)) != DP_OK))
		goto out;
	load_average(la1);
	for (size_t i = 0; i < made; i++) {
		ok += w[i].ok;
		r = dp_bench_stats_merge(&all, &w[i].st);
		if (r)
			goto out;
	}
	struct server_cpu sc = {have_cpu, user1 - user0, sys1 - sys0};
	report(o, &all, ok, wall, &sc, client_cpu, hwm, hold_rss, la0, la1);
out:
	for (size_t i = 0; w != NULL && i < o->concurrency; i++) {
		if (i < made)
			dp_bench_device_deinit(&w[i].d);
		dp_bench_stats_deinit(&w[i].st);
		free(w[i].tids);
	}
	free(w);
	dp_bench_stats_deinit(&all);
	dp_bench_pki_deinit(&pki);
	dp_euicc_pe_memo_enable(false);
	if (own_work)
		nftw(work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}

static bool parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || *s == '-' || v < lo || v > hi)
		return false;
	*out = (size_t)v;
	return true;
}

int main(int argc, char **argv)
{
	enum {
		O_DB = 256,
		O_PACKAGE,
		O_TYPE,
		O_MID,
		O_ICCID,
		O_ADDRESS,
		O_PKI,
		O_FRESH,
		O_PID,
		O_FLOOR,
		O_HOLD,
		O_WORK,
		O_EVERY_PE
	};
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, O_DB},
	    {"package", required_argument, NULL, O_PACKAGE},
	    {"type", required_argument, NULL, O_TYPE},
	    {"matching-id", required_argument, NULL, O_MID},
	    {"iccid-base", required_argument, NULL, O_ICCID},
	    {"address", required_argument, NULL, O_ADDRESS},
	    {"pki", required_argument, NULL, O_PKI},
	    {"fresh-connection", no_argument, NULL, O_FRESH},
	    {"server-pid", required_argument, NULL, O_PID},
	    {"floor-us", required_argument, NULL, O_FLOOR},
	    {"hold", required_argument, NULL, O_HOLD},
	    {"work-dir", required_argument, NULL, O_WORK},
	    {"decode-every-pe", no_argument, NULL, O_EVERY_PE},
	    {"count", required_argument, NULL, 'n'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	const char *cmd = argv[1];
	struct dp_bench_load lo = {.profile_type = "bench",
				   .matching_id = "BENCH",
				   .iccid_base = "894944999000000000",
				   .n = 0};
	struct run_opts ro = {.concurrency = 64};
	R.matching_id = "BENCH";
	R.count = 1000;
	bool load = strcmp(cmd, "load") == 0;
	if (!load && strcmp(cmd, "run") != 0) {
		fprintf(stderr, "smdp-bench: unknown command '%s'\n%s", cmd, usage);
		return EXIT_USAGE;
	}
	int c;
	size_t v;
	optind = 2;
	while ((c = getopt_long(argc, argv, "n:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_DB: lo.db_path = optarg; break;
		case O_PACKAGE: lo.package_path = optarg; break;
		case O_TYPE: lo.profile_type = optarg; break;
		case O_MID: lo.matching_id = R.matching_id = optarg; break;
		case O_ICCID: lo.iccid_base = optarg; break;
		case O_ADDRESS: R.address = optarg; break;
		case O_PKI: ro.pki_dir = optarg; break;
		case O_FRESH: ro.fresh = true; break;
		case O_WORK: ro.work_dir = optarg; break;
		case O_EVERY_PE: ro.decode_every_pe = true; break;
		case O_PID: ro.server_pid = atol(optarg); break;
		case O_FLOOR: ro.floor_us = atof(optarg); break;
		case O_HOLD:
			if (!parse_size(optarg, 0, 1000000, &ro.hold))
				goto bad;
			break;
		case 'n':
			if (!parse_size(optarg, 1, 100000000, &v))
				goto bad;
			lo.n = R.count = v;
			break;
		case 'c':
			if (!parse_size(optarg, 1, THREADS_MAX, &ro.concurrency))
				goto bad;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	/* the client's own log lines would only slow it down (and --hold makes every eUICC
	 * refuse a CancelSession it has forgotten, a warning each); errors are counted anyway */
	if (dp_log_configure("error") != DP_OK || dp_asn1_init() != DP_OK) {
		fprintf(stderr, "smdp-bench: start-up: %s\n", dp_err_detail());
		return 1;
	}
	int r;
	if (load) {
		if (lo.db_path == NULL || lo.package_path == NULL || lo.n == 0)
			goto bad;
		lo.progress = isatty(2);
		r = dp_bench_load(&lo);
		if (r == DP_OK)
			printf("smdp-bench: %zu profiles of type %s, pool order %s\n", lo.n,
			       lo.profile_type, lo.matching_id);
	} else {
		if (R.address == NULL || ro.pki_dir == NULL)
			goto bad;
		r = run(&ro);
	}
	if (r) {
		fprintf(stderr, "smdp-bench: %s: %s (%s)\n", cmd, dp_strerror(r), dp_err_detail());
		return 1;
	}
	return 0;
bad:
	fprintf(stderr, "smdp-bench: bad or missing option (see smdp-bench --help)\n");
	return EXIT_USAGE;
}
