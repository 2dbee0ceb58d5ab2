/* The test-PKI command line (`smdp pki ...`, dp_testpki_main): help for every command,
 * exit 2 with a message for each kind of bad command line, exit 1 with the project error on
 * failures, and the sets and certificates it writes (including a fresh DPtls for
 * testsmdpplus1.example.com under the GSMA SGP.26 test CI). */
#include "test/unit/pki/pki_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "pki/crypto/testpki.h"

static const char *tmp;
static char out[65536];

static int setup(void **state)
{
	tmp = pki_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	pki_rmdir(tmp);
	return 0;
}

/* Runs `smdp pki <args>` with stdout and stderr captured into `out`; returns the status.
 * The argument list ends with NULL. */
static int run(const char *first, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;
	argv[argc++] = (char *)"pki";
	va_start(ap, first);
	for (const char *a = first; a != NULL && argc < 63; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	char path[600];
	snprintf(path, sizeof(path), "%s/cli-output.txt", tmp);
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	dup2(fileno(f), 1);
	dup2(fileno(f), 2);
	int rc = dp_testpki_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	fclose(f);
	f = fopen(path, "r");
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	return rc;
}

static const char *p(const char *rel)
{
	static char buf[8][600];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, rel);
	return buf[i];
}

static const char *shared(const char *rel)
{
	static char buf[8][600];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s", dp_test_shared(rel));
	return buf[i];
}

#define CONTAINS(s) \
	do { \
		if (strstr(out, (s)) == NULL) \
			fail_msg("output lacks \"%s\":\n%s", (s), out); \
	} while (0)

static void test_help(void **state)
{
	static const char *const cmds[] = { "init", "issue", "verify", "show", "eid" };
	assert_int_equal(run("--help", NULL), 0);
	CONTAINS("usage: smdp pki <command>");
	for (size_t i = 0; i < 5; i++) {
		char want[64];
		assert_int_equal(run(cmds[i], "--help", NULL), 0);
		snprintf(want, sizeof(want), "usage: smdp pki %s", cmds[i]);
		CONTAINS(want);
	}
	assert_int_equal(run(NULL), 2);
}

static void test_usage_errors(void **state)
{
	static const struct {
		const char *args[10];
		const char *message;
	} cases[] = {
		{ { "frobnicate" }, "unknown command frobnicate" },
		{ { "init" }, "--dir is required" },
		{ { "init", "--dir" }, "option --dir needs a value" },
		{ { "init", "--dir", "x", "--curve", "p384" }, "unknown curve p384" },
		{ { "init", "--dir", "x", "--bogus" }, "unknown option --bogus" },
		{ { "init", "--dir", "x", "--eid", "1234" }, "--eid 1234 is not 32 digits" },
		{ { "init", "--dir", "x", "--ci-cert", "a" }, "--ci-cert and --ci-key go together" },
		{ { "init", "--dir", "x", "extra" }, "unexpected argument extra" },
		{ { "issue" }, "ROLE is missing" },
		{ { "issue", "wizard" }, "unknown role wizard" },
		{ { "issue", "dpauth" }, "needs the issuer's certificate and key" },
		{ { "issue", "ci", "--ci-cert", "a" }, "a ci is self-signed" },
		{ { "issue", "euicc", "--eum-cert", "a", "--eum-key", "b" }, "euicc needs --eid" },
		{ { "issue", "eum", "--ci-cert", "a", "--ci-key", "b" }, "eum needs --ein" },
		{ { "issue", "dptls", "--ci-cert", "a", "--ci-key", "b" }, "dptls needs --host" },
		{ { "issue", "ci", "--days", "soon" }, "--days soon is not a number" },
		{ { "issue", "ci", "--not-after", "2030-01-01" }, "is not YYYYMMDDHHMMSSZ" },
		{ { "issue", "ci", "--not-after", "20300231000000Z" }, "is not YYYYMMDDHHMMSSZ" },
		{ { "issue", "ci", "--serial", "-5" }, "--serial -5 is not a positive number" },
		{ { "issue", "ci", "--dir", "x" }, "unknown option --dir" },
		{ { "verify" }, "at least one --ci is required" },
		{ { "verify", "--ci", "a", "--euicc", "b" }, "give --euicc and --eum" },
		{ { "verify", "--ci", "a", "--cert", "b", "--role", "ci" }, "--role ci" },
		{ { "verify", "--ci", "a", "--cert", "b", "--role", "dpauth", "--at", "now" },
		  "--at now is not" },
		{ { "show" }, "no FILE given" },
		{ { "eid", "--ein", "12ab" }, "--ein 12ab must be 0..30 digits" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;
		int rc = run(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], NULL);
		if (rc != 2 || strstr(out, cases[i].message) == NULL)
			fail_msg("case %zu (%s %s): exit %d, output:\n%s", i, a[0], a[1] ? a[1] : "",
				 rc, out);
		CONTAINS("--help");
	}
}

static void test_failures(void **state)
{
	assert_int_equal(run("issue", "dpauth", "--ci-cert", "/nonexistent/ci.pem", "--ci-key",
			     "/nonexistent/ci.key", "--out-cert", p("x.pem"), "--out-key",
			     p("x.key"), NULL), 1);
	CONTAINS("DP_ERR_IO");
	CONTAINS("/nonexistent/ci.pem");
	/* the key of another CI */
	assert_int_equal(run("issue", "dpauth", "--ci-cert",
			     shared("sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.pem"), "--ci-key",
			     shared("sgp26/CertificateIssuer/SK_CI_ECDSA_BRP.pem"), "--out-cert",
			     p("x.pem"), "--out-key", p("x.key"), NULL), 1);
	CONTAINS("DP_ERR_KEY_MISMATCH");
	/* an expired SGP.26 TLS certificate */
	assert_int_equal(run("verify", "--ci", shared("sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.der"),
			     "--cert", shared("sgp26/DPtls/CERT_S_SM_DP2_TLS.der"), "--role", "dptls",
			     "--at", "20270101000000Z", NULL), 1);
	CONTAINS("DP_ERR_CERT_EXPIRED");
}

static void test_init_sets(void **state)
{
	struct stat st;
	static const char *const names[] = { "ci", "eum", "euicc", "dpauth", "dppb", "dptls",
					     "operator" };

	assert_int_equal(run("init", "--dir", p("nist"), NULL), 0);
	CONTAINS("EID 89049032");
	for (size_t i = 0; i < 7; i++) {
		char f[64];
		snprintf(f, sizeof(f), "nist/%s-cert.pem", names[i]);
		assert_int_equal(stat(p(f), &st), 0);
		snprintf(f, sizeof(f), "nist/%s-key.pem", names[i]);
		assert_int_equal(stat(p(f), &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_int_equal(run("verify", "--ci", p("nist/ci-cert.pem"), "--euicc",
			     p("nist/euicc-cert.pem"), "--eum", p("nist/eum-cert.pem"), NULL), 0);
	CONTAINS("valid eUICC chain, EID 89049032");
	static const char *const roles[] = { "dpauth", "dppb", "dptls", "operator", "eum" };
	for (size_t i = 0; i < 5; i++) {
		char f[64];
		snprintf(f, sizeof(f), "nist/%s-cert.pem", roles[i]);
		assert_int_equal(run("verify", "--ci", p("nist/ci-cert.pem"), "--cert", p(f), "--role",
				     roles[i], NULL), 0);
	}
	/* a set under an existing CI keeps the CI's curve */
	assert_int_equal(run("init", "--dir", p("mixed"), "--curve", "brainpool", "--ci-cert",
			     p("nist/ci-cert.pem"), "--ci-key", p("nist/ci-key.pem"), NULL), 1);
	CONTAINS("the CI is on P-256");
	assert_int_equal(run("init", "--dir", p("under-nist"), "--ci-cert", p("nist/ci-cert.pem"),
			     "--ci-key", p("nist/ci-key.pem"), NULL), 0);
	CONTAINS("wrote a nist test PKI");
	/* files are not replaced without --force */
	assert_int_equal(run("init", "--dir", p("nist"), NULL), 1);
	CONTAINS("use --force");
	assert_int_equal(run("init", "--dir", p("nist"), "--force", NULL), 0);

	/* Brainpool with a given EID, host and SM-DP+ OID */
	assert_int_equal(run("init", "--dir", p("brp"), "--curve", "brainpool", "--eid",
			     "89049032123451234512345678901235", "--host", "smdp.test.example",
			     "--smdp-oid", "2.999.77", NULL), 0);
	struct dp_cert *c = NULL;
	char eid[33], oid[32];
	assert_int_equal(dp_cert_load_file(p("brp/euicc-cert.pem"), &c), 0);
	assert_int_equal(dp_cert_curve(c), DP_CURVE_BRAINPOOL_P256R1);
	assert_int_equal(dp_cert_eid(c, eid), 0);
	assert_string_equal(eid, "89049032123451234512345678901235");
	dp_cert_free(c);
	assert_int_equal(dp_cert_load_file(p("brp/dptls-cert.pem"), &c), 0);
	assert_int_equal(X509_check_host(dp_cert_x509(c), "smdp.test.example", 0, 0, NULL), 1);
	assert_int_equal(dp_cert_san_oid(c, oid, sizeof(oid)), 0);
	assert_string_equal(oid, "2.999.77");
	dp_cert_free(c);
	/* two CIs of different curves in one verify call */
	assert_int_equal(run("verify", "--ci", p("nist/ci-cert.pem"), "--ci", p("brp/ci-cert.pem"),
			     "--euicc", p("brp/euicc-cert.pem"), "--eum", p("brp/eum-cert.pem"),
			     NULL), 0);
	/* the NIST eUICC with the Brainpool EUM */
	assert_int_equal(run("verify", "--ci", p("nist/ci-cert.pem"), "--ci", p("brp/ci-cert.pem"),
			     "--euicc", p("nist/euicc-cert.pem"), "--eum", p("brp/eum-cert.pem"),
			     NULL), 1);
	CONTAINS("DP_ERR_CERT_ISSUER");
}

/* The GSMA SGP.26 test CI: a fresh DPtls for testsmdpplus1.example.com and whole sets. */
static void test_under_sgp26_ci(void **state)
{
	static const char *const curves[] = { "NIST", "BRP" };
	for (int i = 0; i < 2; i++) {
		char ci[128], key[128], cert_out[64], key_out[64], dir[64];
		snprintf(ci, sizeof(ci), "sgp26/CertificateIssuer/CERT_CI_ECDSA_%s.pem", curves[i]);
		snprintf(key, sizeof(key), "sgp26/CertificateIssuer/SK_CI_ECDSA_%s.pem", curves[i]);
		snprintf(cert_out, sizeof(cert_out), "tls-%s.pem", curves[i]);
		snprintf(key_out, sizeof(key_out), "tls-%s.key", curves[i]);
		assert_int_equal(run("issue", "dptls", "--ci-cert", shared(ci), "--ci-key", shared(key),
				     "--host", "testsmdpplus1.example.com", "--out-cert", p(cert_out),
				     "--out-key", p(key_out), NULL), 0);
		CONTAINS("CN=testsmdpplus1.example.com");

		struct dp_ci_store *s = NULL;
		struct dp_cert *c = NULL, *out_cert = NULL;
		EVP_PKEY *k = NULL;
		assert_int_equal(dp_ci_store_new(&s), 0);
		assert_int_equal(dp_ci_store_load_ci(s, shared(ci)), 0);
		assert_int_equal(dp_cert_load_file(p(cert_out), &c), 0);
		assert_int_equal(dp_cert_key_load_file(p(key_out), &k), 0);
		assert_int_equal(dp_cert_check_key(c, k), 0);
		size_t l;
		const uint8_t *d = dp_cert_der(c, &l);
		assert_int_equal(dp_ci_store_verify(s, DP_CERT_DPTLS, d, l, time(NULL), &out_cert), 0);
		assert_int_equal(X509_check_host(dp_cert_x509(c), "testsmdpplus1.example.com", 0, 0,
						 NULL), 1);
		const uint8_t *aki;
		size_t aki_len;
		assert_int_equal(dp_cert_aki(c, &aki, &aki_len), 0);
		assert_memory_equal(aki, i == 0 ? "\xF5\x41\x72\xBD" : "\xC0\xBC\x70\xBA", 4);
		dp_cert_free(out_cert);
		dp_cert_free(c);
		EVP_PKEY_free(k);

		/* a whole set under the SGP.26 CI: no CI key is written */
		snprintf(dir, sizeof(dir), "sgp26-%s", curves[i]);
		assert_int_equal(run("init", "--dir", p(dir), "--ci-cert", shared(ci), "--ci-key",
				     shared(key), NULL), 0);
		char f[128];
		struct stat st;
		snprintf(f, sizeof(f), "%s/ci-key.pem", dir);
		assert_int_not_equal(stat(p(f), &st), 0);
		char eum[128], euicc[128], dpauth[128], dpauth_key[128];
		snprintf(eum, sizeof(eum), "%s", p("x"));
		snprintf(eum, sizeof(eum), "%s/%s/eum-cert.pem", tmp, dir);
		snprintf(euicc, sizeof(euicc), "%s/%s/euicc-cert.pem", tmp, dir);
		snprintf(dpauth, sizeof(dpauth), "%s/%s/dpauth-cert.pem", tmp, dir);
		snprintf(dpauth_key, sizeof(dpauth_key), "%s/%s/dpauth-key.pem", tmp, dir);
		assert_int_equal(run("verify", "--ci", shared(ci), "--euicc", euicc, "--eum", eum, NULL),
				 0);
		/* the new DPauth can serve next to nothing else under that CI */
		assert_int_equal(dp_ci_store_load_signer(s, dpauth, dpauth_key), 0);
		dp_ci_store_free(s);
	}
}

static void test_issue_one_by_one(void **state)
{
	/* ci -> eum -> euicc, then an expired euicc and a reused key */
	assert_int_equal(run("issue", "ci", "--curve", "brainpool", "--cn", "My Test CI",
			     "--out-cert", p("ci.pem"), "--out-key", p("ci.key"), NULL), 0);
	assert_int_equal(run("issue", "eum", "--ci-cert", p("ci.pem"), "--ci-key", p("ci.key"),
			     "--ein", "89049032", "--org", "My EUM", "--out-cert", p("eum.pem"),
			     "--out-key", p("eum.key"), NULL), 0);
	assert_int_equal(run("issue", "euicc", "--eum-cert", p("eum.pem"), "--eum-key", p("eum.key"),
			     "--eid", "89049032123451234512345678901235", "--out-cert", p("eu.pem"),
			     "--out-key", p("eu.key"), NULL), 0);
	CONTAINS("O=My EUM");
	assert_int_equal(run("verify", "--ci", p("ci.pem"), "--euicc", p("eu.pem"), "--eum",
			     p("eum.pem"), NULL), 0);
	assert_int_equal(run("issue", "euicc", "--eum-cert", p("eum.pem"), "--eum-key", p("eum.key"),
			     "--eid", "89049032123451234512345678901235", "--key", p("eu.key"),
			     "--not-before", "20200101000000Z", "--not-after", "20210101000000Z",
			     "--serial", "4242", "--out-cert", p("eu-old.pem"), NULL), 0);
	assert_int_equal(run("verify", "--ci", p("ci.pem"), "--euicc", p("eu-old.pem"), "--eum",
			     p("eum.pem"), NULL), 1);
	CONTAINS("DP_ERR_CERT_EXPIRED");
	/* in 2020 the eUICC was valid, but its EUM (issued today) was not yet */
	assert_int_equal(run("verify", "--ci", p("ci.pem"), "--euicc", p("eu-old.pem"), "--eum",
			     p("eum.pem"), "--at", "20200601000000Z", NULL), 1);
	CONTAINS("DP_ERR_CERT_NOT_YET_VALID");
	CONTAINS("EUM");
	/* the reused key: both certificates carry the same public key */
	struct dp_cert *a = NULL, *b = NULL;
	assert_int_equal(dp_cert_load_file(p("eu.pem"), &a), 0);
	assert_int_equal(dp_cert_load_file(p("eu-old.pem"), &b), 0);
	assert_int_equal(EVP_PKEY_eq(dp_cert_pubkey(a), dp_cert_pubkey(b)), 1);
	assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(dp_cert_x509(b))), 4242);
	dp_cert_free(a);
	dp_cert_free(b);
	/* permitted-EINs EUM, operator, dpauth with a CRL URL and a validity in days */
	assert_int_equal(run("issue", "eum", "--ci-cert", p("ci.pem"), "--ci-key", p("ci.key"),
			     "--ein", "8904903212", "--ein-extension", "--out-cert", p("eum3.pem"),
			     "--out-key", p("eum3.key"), NULL), 0);
	assert_int_equal(run("issue", "operator", "--ci-cert", p("ci.pem"), "--ci-key", p("ci.key"),
			     "--cn", "ACME operator", "--out-cert", p("op.pem"), "--out-key",
			     p("op.key"), NULL), 0);
	assert_int_equal(run("verify", "--ci", p("ci.pem"), "--cert", p("op.pem"), "--role",
			     "operator", NULL), 0);
	assert_int_equal(run("issue", "dpauth", "--ci-cert", p("ci.pem"), "--ci-key", p("ci.key"),
			     "--days", "30", "--crl-url", "http://ci.test.example.com/CRL-A.crl",
			     "--out-cert", p("dpa.pem"), "--out-key", p("dpa.key"), NULL), 0);
	assert_int_equal(run("verify", "--ci", p("ci.pem"), "--cert", p("dpa.pem"), "--role",
			     "dpauth", "--at", "20990101000000Z", NULL), 1);
	CONTAINS("DP_ERR_CERT_EXPIRED");

	/* show: the SGP.26 CI's SKI and the EID of a generated eUICC */
	assert_int_equal(run("show", shared("sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.der"),
			     p("eu.pem"), NULL), 0);
	CONTAINS("F54172BDF98A95D65CBEB88A38A1C11D800A85C3");
	CONTAINS("EID        89049032123451234512345678901235");
	CONTAINS("roles      eUICC");
	assert_int_equal(run("eid", "--ein", "89033023", NULL), 0);
	assert_int_equal(strncmp(out, "89033023", 8), 0);
	out[32] = '\0';
	assert_int_equal(dp_cert_eid_valid(out), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_init_sets),
		cmocka_unit_test(test_under_sgp26_ci),
		cmocka_unit_test(test_issue_one_by_one),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
