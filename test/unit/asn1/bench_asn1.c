/* bench-asn1: the cost of the libtasn1 wrapper's decoding (pki/asn1/asn1.c) on the objects
 * the download path decodes: every ProfileElement of a SAIP package (the test eUICC does
 * this for each profile it installs) and, optionally, RSP objects given as TYPE=FILE.
 * Not a test: it prints figures. Run it under callgrind for instruction counts:
 *   valgrind --tool=callgrind bench-asn1 -n 20 ../shared/ts48/TS48v1_A.der
 * Usage: bench-asn1 [-n ROUNDS] PACKAGE.der|- [RSPDefinitions.Type=FILE.der ...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x)) {                                                                        \
			fprintf(stderr, "bench-asn1: %s failed at line %d: %s\n", #x, __LINE__,    \
				dp_err_detail());                                                  \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/* CPU time of this thread: the machine may be shared. */
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void read_file(const char *path, struct dp_buf *out)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "bench-asn1: cannot open %s\n", path);
		exit(1);
	}
	dp_buf_init(out, (size_t)64 << 20);
	uint8_t chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		CHECK(dp_buf_append(out, chunk, n) == DP_OK);
	fclose(f);
}

/* One round: every PE of the package decoded (tolerant, as the eUICC does) and freed. */
static size_t decode_package(const struct dp_buf *pkg)
{
	struct dp_cursor c = dp_cursor_make(pkg->data, pkg->len);
	size_t n = 0;
	while (!dp_cursor_done(&c)) {
		struct dp_tlv t;
		asn1_node pe;
		const char *alt;
		CHECK(dp_tlv_next(&c, &t) == DP_OK);
		CHECK(dp_asn1_decode_pe(t.raw, t.raw_len, &pe, &alt) == DP_OK);
		dp_asn1_free(&pe);
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	int rounds = 20, a = 1;
	if (a + 1 < argc && strcmp(argv[a], "-n") == 0) {
		rounds = atoi(argv[a + 1]);
		a += 2;
	}
	if (a >= argc || rounds < 1) {
		fprintf(stderr,
			"usage: bench-asn1 [-n ROUNDS] PACKAGE.der|- [Module.Type=FILE ...]\n");
		return 2;
	}
	CHECK(dp_asn1_init() == DP_OK);

	double t0, dt;
	if (strcmp(argv[a], "-") != 0) { /* "-": RSP objects only */
		struct dp_buf pkg;
		read_file(argv[a], &pkg);
		size_t pes = 0;
		t0 = now();
		for (int i = 0; i < rounds; i++)
			pes = decode_package(&pkg);
		dt = now() - t0;
		printf("package: %zu PEs, %zu bytes: %.3f ms per package, %.2f us per PE\n", pes,
		       pkg.len, dt * 1e3 / rounds, dt * 1e6 / ((double)rounds * (double)pes));
		dp_buf_deinit(&pkg);
	}
	a++;

	/* RSP objects: Module.Type=FILE, each decoded `rounds` times */
	for (; a < argc; a++) {
		char type[128];
		const char *eq = strchr(argv[a], '=');
		CHECK(eq != NULL && (size_t)(eq - argv[a]) < sizeof(type));
		memcpy(type, argv[a], (size_t)(eq - argv[a]));
		type[eq - argv[a]] = '\0';
		struct dp_buf der;
		read_file(eq + 1, &der);
		t0 = now();
		for (int i = 0; i < rounds; i++) {
			asn1_node n;
			CHECK(dp_asn1_decode(type, der.data, der.len, &n) == DP_OK);
			dp_asn1_free(&n);
		}
		dt = now() - t0;
		printf("%s: %zu bytes: %.2f us per decode\n", type, der.len, dt * 1e6 / rounds);
		dp_buf_deinit(&der);
	}
	return 0;
}
