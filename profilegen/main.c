/* profilegen: the command line of the profilegen library (build, dump, check, batch, bench).
 * YAML schema: config/profiles/README.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pki/base/codec.h"
#include "pki/base/secure.h"
#include "profilegen/pgio.h"
#include "profilegen/profilegen.h"

static const char usage[] =
	"usage: profilegen <command> [options]\n"
	"\n"
	"commands:\n"
	"  build IN.yaml -o OUT.der [--metadata-out OUT.meta.der]\n"
	"                               YAML (schema: config/profiles/README.md) to a SAIP package;\n"
	"                               --metadata-out also writes the profile metadata from the\n"
	"                               YAML's metadata: as DER StoreMetadataRequest (BF25)\n"
	"  dump IN.der [-o OUT.yaml]    package to YAML; build of the YAML gives the same bytes\n"
	"  check IN.der|IN.yaml         validate; prints the rule that failed (exit 1)\n"
	"  batch TEMPLATE -n N --iccid FIRST --imsi FIRST [--csv-in IN.csv] [--op HEX]\n"
	"        -d OUTDIR --csv OUT.csv   N personalised packages OUTDIR/<ICCID>.der and the\n"
	"                                  operator file (ICCID,IMSI,Ki,OPc,PIN1,PUK1,PIN2,PUK2,ADM1)\n"
	"  bench TEMPLATE [-n N]        personalise N profiles in memory; prints profiles/s and\n"
	"                               peak memory (default N = 100000)\n"
	"  help [command]               this text\n"
	"\n"
	"TEMPLATE is a .yaml or a .der package. Ki/OPc/PIN/PUK/ADM are random (OpenSSL CSPRNG)\n"
	"unless the CSV gives them; ICCIDs count up from FIRST with the Luhn digit recomputed.\n";

static int fail(int r, const char *what)
{
	fprintf(stderr, "profilegen: %s: %s%s%s\n", what, dp_strerror(r),
		dp_err_detail()[0] ? ": " : "", dp_err_detail());
	return 1;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* A .yaml/.yml file is built; anything else is read as a DER package. */
static int load(const char *path, struct dp_pg_package *p)
{
	if (ends_with(path, ".yaml") || ends_with(path, ".yml"))
		return dp_pg_build_file(path, p);
	struct dp_buf b;
	dp_buf_init_secret(&b, DP_PG_MAX_PACKAGE);
	int r = dp_pg_read_file(path, DP_PG_MAX_PACKAGE, &b);
	r = r ? r : dp_pg_package_parse(b.data, b.len, p);
	dp_buf_deinit(&b);
	return r;
}

static int write_out(const char *path, const struct dp_buf *b)
{
	FILE *f = path && strcmp(path, "-") != 0 ? fopen(path, "wb") : stdout;
	if (f == NULL)
		return dp_err_set(DP_ERR_IO, "%s: %s", path, strerror(errno));
	size_t w = fwrite(b->data, 1, b->len, f);
	int c = f == stdout ? fflush(f) : fclose(f);
	if (w != b->len || c != 0)
		return dp_err_set(DP_ERR_IO, "%s: write failed", path ? path : "stdout");
	return DP_OK;
}

struct opts {
	const char *in, *out, *dir, *csv, *csv_in, *iccid, *imsi, *op, *meta_out;
	size_t n;
	bool help;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			o->help = true;
			continue;
		}
		if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0)
			slot = &o->out;
		else if (strcmp(a, "-d") == 0 || strcmp(a, "--dir") == 0)
			slot = &o->dir;
		else if (strcmp(a, "--csv") == 0)
			slot = &o->csv;
		else if (strcmp(a, "--csv-in") == 0)
			slot = &o->csv_in;
		else if (strcmp(a, "--iccid") == 0)
			slot = &o->iccid;
		else if (strcmp(a, "--imsi") == 0)
			slot = &o->imsi;
		else if (strcmp(a, "--op") == 0)
			slot = &o->op;
		else if (strcmp(a, "--metadata-out") == 0)
			slot = &o->meta_out;
		else if (strcmp(a, "-n") == 0 || strcmp(a, "--count") == 0) {
			if (i + 1 >= argc)
				return dp_err_set(DP_ERR_USAGE, "%s needs a value", a);
			char *end;
			unsigned long long v = strtoull(argv[++i], &end, 10);
			if (*end || v == 0 || v > 100000000ULL)
				return dp_err_set(DP_ERR_USAGE, "bad count '%s'", argv[i]);
			o->n = (size_t)v;
			continue;
		} else if (a[0] == '-' && a[1]) {
			return dp_err_set(DP_ERR_USAGE, "unknown option %s", a);
		} else if (o->in == NULL) {
			o->in = a;
			continue;
		} else {
			return dp_err_set(DP_ERR_USAGE, "unexpected argument %s", a);
		}
		if (i + 1 >= argc)
			return dp_err_set(DP_ERR_USAGE, "%s needs a value", a);
		*slot = argv[++i];
	}
	return DP_OK;
}

static int cmd_build(struct opts *o)
{
	struct dp_pg_package p;
	struct dp_buf der, meta_der;
	static struct dp_pg_metadata meta;
	dp_pg_package_init(&p);
	dp_buf_init_secret(&der, DP_PG_MAX_PACKAGE);
	dp_buf_init(&meta_der, 64u << 10);
	int r = o->in && o->out ? DP_OK
				: dp_err_set(DP_ERR_USAGE, "build IN.yaml -o OUT.der "
							   "[--metadata-out OUT.meta.der]");
	r = r ? r : dp_pg_build_file_meta(o->in, &p, &meta);
	r = r ? r : dp_pg_package_der(&p, &der);
	if (r == DP_OK && o->meta_out) {
		r = dp_pg_metadata_der(&p, &meta, &meta_der);
		if (r == DP_ERR_NOT_FOUND)
			r = dp_err_set(DP_ERR_USAGE, "%s has no metadata: mapping (--metadata-out)",
				       o->in);
	}
	r = r ? r : write_out(o->out, &der);
	if (r == DP_OK && o->meta_out)
		r = write_out(o->meta_out, &meta_der);
	dp_buf_deinit(&meta_der);
	dp_buf_deinit(&der);
	dp_pg_package_deinit(&p);
	return r ? fail(r, "build") : 0;
}

static int cmd_dump(struct opts *o)
{
	struct dp_pg_package p;
	struct dp_buf y;
	dp_pg_package_init(&p);
	dp_buf_init_secret(&y, DP_PG_MAX_YAML);
	int r = o->in ? DP_OK : dp_err_set(DP_ERR_USAGE, "dump IN.der [-o OUT.yaml]");
	r = r ? r : load(o->in, &p);
	r = r ? r : dp_pg_dump(&p, &y);
	r = r ? r : write_out(o->out, &y);
	dp_buf_deinit(&y);
	dp_pg_package_deinit(&p);
	return r ? fail(r, "dump") : 0;
}

static int cmd_check(struct opts *o)
{
	struct dp_pg_package p;
	const char *rule = NULL;
	dp_pg_package_init(&p);
	int r = o->in ? DP_OK : dp_err_set(DP_ERR_USAGE, "check IN.der");
	r = r ? r : load(o->in, &p);
	if (r == DP_OK) {
		r = dp_pg_check(&p, &rule);
		if (r)
			fprintf(stderr, "profilegen: check: %s: rule %s failed: %s\n", o->in,
				rule ? rule : "(decode)", dp_err_detail());
		else
			printf("%s: ok (%zu profile elements)\n", o->in, p.n);
		dp_pg_package_deinit(&p);
		return r ? 1 : 0;
	}
	dp_pg_package_deinit(&p);
	return fail(r, "check");
}

static void progress(size_t done, size_t total, void *arg)
{
	(void)arg;
	if (total == 0 || (done % 64 != 0 && done != total))
		return;
	int w = 40, fill = (int)(done * (size_t)w / total);
	fprintf(stderr, "\r[%.*s%*s] %zu/%zu", fill, "========================================",
		w - fill, "", done, total);
	if (done == total)
		fputc('\n', stderr);
}

static int cmd_batch(struct opts *o)
{
	struct dp_pg_package tpl;
	struct dp_pg_batch b;
	uint8_t op[16];
	size_t oplen = 0;
	FILE *csv = NULL;
	memset(&b, 0, sizeof(b));
	dp_pg_package_init(&tpl);
	int r = o->in && o->dir && o->csv && (o->n || o->csv_in)
			? DP_OK
			: dp_err_set(DP_ERR_USAGE, "batch TEMPLATE -n N -d DIR --csv OUT.csv "
						   "(see profilegen help)");
	if (r == DP_OK && o->op &&
	    (dp_hex_decode(o->op, strlen(o->op), op, sizeof(op), &oplen) != DP_OK || oplen != 16))
		r = dp_err_set(DP_ERR_USAGE, "--op must be 16 bytes of hex");
	r = r ? r : load(o->in, &tpl);
	if (r == DP_OK && mkdir(o->dir, 0700) != 0 && errno != EEXIST)
		r = dp_err_set(DP_ERR_IO, "%s: %s", o->dir, strerror(errno));
	if (r == DP_OK && (csv = fopen(o->csv, "w")) == NULL)
		r = dp_err_set(DP_ERR_IO, "%s: %s", o->csv, strerror(errno));
	if (r == DP_OK) {
		b.count = o->n;
		b.iccid_first = o->iccid;
		b.imsi_first = o->imsi;
		b.csv_in = o->csv_in;
		b.op = oplen ? op : NULL;
		b.out_dir = o->dir;
		b.csv_out = csv;
		b.progress = isatty(2) ? progress : NULL;
		r = dp_pg_batch_run(&tpl, &b);
	}
	if (csv && fclose(csv) != 0 && r == DP_OK)
		r = dp_err_set(DP_ERR_IO, "%s: close failed", o->csv);
	dp_wipe(op, sizeof(op));
	dp_pg_package_deinit(&tpl);
	return r ? fail(r, "batch") : 0;
}

static int cmd_bench(struct opts *o)
{
	struct dp_pg_package tpl;
	struct dp_pg_batch b;
	struct timespec t0, t1;
	struct rusage ru;
	memset(&b, 0, sizeof(b));
	dp_pg_package_init(&tpl);
	int r = o->in ? DP_OK : dp_err_set(DP_ERR_USAGE, "bench TEMPLATE [-n N]");
	r = r ? r : load(o->in, &tpl);
	if (r == DP_OK) {
		b.count = o->n ? o->n : 100000;
		b.iccid_first = o->iccid ? o->iccid : "894944000000000000";
		b.imsi_first = o->imsi ? o->imsi : "001010000000000";
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = dp_pg_batch_run(&tpl, &b);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	}
	if (r == DP_OK) {
		double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		getrusage(RUSAGE_SELF, &ru);
		printf("profiles: %zu\nseconds: %.3f\nprofiles/s: %.0f\npeak RSS: %ld KiB\n", b.count,
		       s, (double)b.count / s, ru.ru_maxrss);
	}
	dp_pg_package_deinit(&tpl);
	return r ? fail(r, "bench") : 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage, stdout);
		return argc < 2 ? 2 : 0;
	}
	int r = parse_opts(argc - 2, argv + 2, &o);
	if (r)
		return fail(r, argv[1]) ? 2 : 2;
	if (o.help) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "build") == 0)
		return cmd_build(&o);
	if (strcmp(argv[1], "dump") == 0)
		return cmd_dump(&o);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(&o);
	if (strcmp(argv[1], "batch") == 0)
		return cmd_batch(&o);
	if (strcmp(argv[1], "bench") == 0)
		return cmd_bench(&o);
	fprintf(stderr, "profilegen: unknown command '%s'\n%s", argv[1], usage);
	return 2;
}
