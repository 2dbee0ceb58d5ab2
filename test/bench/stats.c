/* Latency samples, error counts and the /proc probe of the load generator (contract in
 * bench.h). One stats set per device thread, so nothing here takes a lock. */
#include "test/bench/bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const fn_names[DP_BENCH_FN_COUNT] = {
    "initiateAuthentication", "authenticateClient", "getBoundProfilePackage",
    "handleNotification",     "cancelSession",
};

const char *dp_bench_fn_name(enum dp_bench_fn f)
{
	return f < DP_BENCH_FN_COUNT ? fn_names[f] : "?";
}

void dp_bench_stats_init(struct dp_bench_stats *s, size_t max_samples)
{
	memset(s, 0, sizeof(*s));
	s->max_samples = max_samples;
}

void dp_bench_stats_deinit(struct dp_bench_stats *s)
{
	for (int f = 0; f < DP_BENCH_FN_COUNT; f++)
		free(s->ms[f]);
	memset(s, 0, sizeof(*s));
}

int dp_bench_stats_add(struct dp_bench_stats *s, enum dp_bench_fn f, double ms)
{
	if (s->n[f] == s->max_samples) {
		s->dropped++;
		return DP_OK;
	}
	if (s->n[f] == s->cap[f]) {
		/* doubling, never past the bound */
		size_t cap = s->cap[f] ? 2 * s->cap[f] : 1024;
		if (cap > s->max_samples)
			cap = s->max_samples;
		double *v = realloc(s->ms[f], cap * sizeof(*v));
		if (v == NULL)
			return dp_err_set(DP_ERR_NOMEM, "latency samples");
		s->ms[f] = v;
		s->cap[f] = cap;
	}
	s->ms[f][s->n[f]++] = ms;
	return DP_OK;
}

void dp_bench_stats_error(struct dp_bench_stats *s, const char *key)
{
	s->errors++;
	for (size_t i = 0; i < s->n_err; i++) {
		if (strncmp(s->err[i].key, key, DP_BENCH_ERROR_KEY - 1) == 0) {
			s->err[i].n++;
			return;
		}
	}
	if (s->n_err == DP_BENCH_ERRORS_MAX) {
		s->other_errors++;
		return;
	}
	snprintf(s->err[s->n_err].key, DP_BENCH_ERROR_KEY, "%s", key);
	s->err[s->n_err++].n = 1;
}

int dp_bench_stats_merge(struct dp_bench_stats *to, struct dp_bench_stats *from)
{
	for (int f = 0; f < DP_BENCH_FN_COUNT; f++) {
		for (size_t i = 0; i < from->n[f]; i++) {
			int r = dp_bench_stats_add(to, f, from->ms[f][i]);
			if (r)
				return r;
		}
		from->n[f] = 0;
	}
	to->dropped += from->dropped;
	for (size_t i = 0; i < from->n_err; i++) {
		for (unsigned long k = 0; k < from->err[i].n; k++)
			dp_bench_stats_error(to, from->err[i].key);
	}
	/* errors past the other set's table stay "other" here too */
	to->other_errors += from->other_errors;
	to->errors += from->other_errors;
	from->n_err = 0;
	from->errors = from->other_errors = from->dropped = 0;
	return DP_OK;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double dp_bench_stats_percentile(struct dp_bench_stats *s, enum dp_bench_fn f, double p)
{
	size_t n = s->n[f];
	if (n == 0)
		return 0;
	qsort(s->ms[f], n, sizeof(double), cmp_double);
	/* nearest rank: the smallest value with at least p% of the samples at or below it */
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	return s->ms[f][(rank > n ? n : rank) - 1];
}

/* ---- /proc ---- */

int dp_bench_proc_cpu(long pid, double *user, double *sys)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return dp_err_set(DP_ERR_IO, "%s: cannot open", path);
	size_t len = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[len] = '\0';
	/* the command name (field 2) may hold spaces: count fields after its ')' */
	const char *p = strrchr(line, ')');
	unsigned long long utime, stime;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&utime, &stime) != 2)
		return dp_err_set(DP_ERR_IO, "%s: unexpected format", path);
	*user = (double)utime / (double)sysconf(_SC_CLK_TCK);
	*sys = (double)stime / (double)sysconf(_SC_CLK_TCK);
	return DP_OK;
}

int dp_bench_proc_mem(long pid, unsigned long *hwm_kib, unsigned long *rss_kib)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return dp_err_set(DP_ERR_IO, "%s: cannot open", path);
	int found = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmHWM: %lu", hwm_kib) == 1)
			found |= 1;
		else if (sscanf(line, "VmRSS: %lu", rss_kib) == 1)
			found |= 2;
	}
	fclose(f);
	return found == 3 ? DP_OK : dp_err_set(DP_ERR_IO, "%s: no VmHWM/VmRSS", path);
}
