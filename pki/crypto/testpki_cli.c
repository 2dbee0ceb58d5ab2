/* `smdp pki ...`: the test-PKI tool (see testpki.h and README.md in this folder).
 * argv[0] is "pki"; every subcommand has --help; a bad command line exits with 2 and a
 * message naming the problem, a failure with 1 and the project error code. */
#include "pki/crypto/testpki.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pki/base/codec.h"
#include "pki/base/log.h"

#define EXIT_USAGE 2

/* Every option of every subcommand; each subcommand lists which ones it takes. */
struct opts {
	const char *dir, *curve, *host, *eid, *ein, *smdp_oid, *ci_cert, *ci_key;
	const char *issuer_cert, *issuer_key, *key, *out_cert, *out_key;
	const char *cn, *org, *country, *days, *not_before, *not_after, *serial, *crl_url;
	const char *role, *at, *cert, *eum, *euicc;
	const char *ci[8];
	int n_ci;
	int force, ein_extension, help;
	const char *files[32];
	int n_files;
};

struct opt_def {
	const char *name;
	size_t field; /* offsetof in struct opts; for flags the int */
	int flag;
};

#define OPT(n, f) { n, offsetof(struct opts, f), 0 }
#define FLAG(n, f) { n, offsetof(struct opts, f), 1 }

static const struct opt_def all_opts[] = {
	OPT("--dir", dir), OPT("--curve", curve), OPT("--host", host), OPT("--eid", eid),
	OPT("--ein", ein), OPT("--eid-prefix", ein), OPT("--smdp-oid", smdp_oid),
	OPT("--ci-cert", issuer_cert), OPT("--ci-key", issuer_key),
	OPT("--eum-cert", issuer_cert), OPT("--eum-key", issuer_key),
	OPT("--issuer-cert", issuer_cert), OPT("--issuer-key", issuer_key), OPT("--key", key),
	OPT("--out-cert", out_cert), OPT("--out-key", out_key), OPT("--cn", cn), OPT("--org", org),
	OPT("--country", country), OPT("--days", days), OPT("--not-before", not_before),
	OPT("--not-after", not_after), OPT("--serial", serial), OPT("--crl-url", crl_url),
	OPT("--role", role), OPT("--at", at), OPT("--cert", cert), OPT("--eum", eum),
	OPT("--euicc", euicc), OPT("--ci", ci), FLAG("--force", force),
	FLAG("--ein-extension", ein_extension), FLAG("--help", help), FLAG("-h", help),
};

static const char usage_main[] =
	"usage: smdp pki <command> [options]\n"
	"\n"
	"A GSMA SGP.26-shaped test PKI (CI, EUM, eUICC, DPauth, DPpb, DPtls, ES2+ operator),\n"
	"on NIST P-256 or brainpoolP256r1. Test use only.\n"
	"\n"
	"commands:\n"
	"  init     create a whole set of certificates and keys in a folder\n"
	"  issue    issue one certificate (ci, eum, euicc, dpauth, dppb, dptls, operator)\n"
	"  verify   check a certificate or an eUICC chain against CI certificates\n"
	"  show     print what the RSP checks see in certificates\n"
	"  eid      print a fresh EID with valid check digits\n"
	"\n"
	"`smdp pki <command> --help` describes each command.\n";

static const char usage_init[] =
	"usage: smdp pki init --dir DIR [options]\n"
	"\n"
	"Creates ci-, eum-, euicc-, dpauth-, dppb-, dptls- and operator-cert.pem with their\n"
	"-key.pem (mode 0600) in DIR, all under one CI: a new one, or an existing CI given\n"
	"with --ci-cert/--ci-key (then ci-cert.pem is a copy and no CI key is written).\n"
	"\n"
	"  --dir DIR           output folder (created if missing)\n"
	"  --curve C           nist (default) or brainpool\n"
	"  --host NAME         DPtls host name (default testsmdpplus1.example.com)\n"
	"  --eid EID           the eUICC's EID (32 digits, valid check digits)\n"
	"  --ein PREFIX        the EUM's permitted EID prefix (default 89049032); without\n"
	"                      --eid a random EID under it is made (alias --eid-prefix)\n"
	"  --smdp-oid OID      SM-DP+ OID in the SAN of DPauth/DPpb/DPtls (default 2.999.10)\n"
	"  --ci-cert F --ci-key F  issue under this existing CI (PEM or DER)\n"
	"  --force             replace existing files\n";

static const char usage_issue[] =
	"usage: smdp pki issue ROLE [options]\n"
	"\n"
	"ROLE is ci, eum, euicc, dpauth, dppb, dptls or operator. A ci is self-signed; an euicc\n"
	"is issued by an EUM (--eum-cert/--eum-key); the others by a CI (--ci-cert/--ci-key).\n"
	"\n"
	"  --ci-cert F --ci-key F     issuing CI (aliases --issuer-cert/--issuer-key)\n"
	"  --eum-cert F --eum-key F   issuing EUM, for euicc\n"
	"  --out-cert F --out-key F   output PEM files (default ./ROLE-cert.pem, ./ROLE-key.pem)\n"
	"  --key F                    certify this existing key instead of making a new one\n"
	"  --curve C                  curve of a new key: nist or brainpool (default: issuer's)\n"
	"  --host NAME                dptls: the server's host name (SAN dNSName and CN)\n"
	"  --eid EID                  euicc: the EID (32 digits, valid check digits)\n"
	"  --ein PREFIX               eum: permitted EID prefix, e.g. 89049032\n"
	"  --ein-extension            eum: v3 permitted-EINs extension, not nameConstraints\n"
	"  --smdp-oid OID             SAN registeredID (default ci 2.999.1, eum 2.999.5,\n"
	"                             dpauth/dppb/dptls 2.999.10)\n"
	"  --cn, --org, --country     subject attributes (defaults as in SGP.26)\n"
	"  --days N                   validity from now (defaults: ci 35 y, eum 34 y, euicc no\n"
	"                             expiry, dpauth/dppb 10 y, dptls 1 y, operator 2 y)\n"
	"  --not-before T --not-after T   explicit validity, T = YYYYMMDDHHMMSSZ\n"
	"  --serial N                 serial number (default random)\n"
	"  --crl-url URL              add a crlDistributionPoints URI\n"
	"  --force                    replace existing files\n";

static const char usage_verify[] =
	"usage: smdp pki verify --ci F [--ci F ...] (--euicc F --eum F | --cert F --role ROLE)\n"
	"                       [--at T]\n"
	"\n"
	"Checks as the SM-DP+ does: an eUICC chain (eUICC -> EUM -> CI: signatures, validity,\n"
	"key usage, policy OIDs, key identifiers, EID and the EUM's EID range), or one\n"
	"certificate of ROLE (eum, dpauth, dppb, dptls, operator) issued by one of the CIs.\n"
	"\n"
	"  --ci F      a CI certificate (PEM or DER), repeatable\n"
	"  --at T      verification time YYYYMMDDHHMMSSZ (default now)\n";

static const char usage_show[] =
	"usage: smdp pki show FILE...\n"
	"\n"
	"Prints subject, curve, SKI, AKI, validity, role policies, SM-DP+ OID and EID of each\n"
	"certificate (PEM or DER).\n";

static const char usage_eid[] =
	"usage: smdp pki eid [--ein PREFIX]\n"
	"\n"
	"Prints a random EID under PREFIX (default 89049032) with valid check digits.\n";

static int usage_error(const char *cmd, const char *fmt, ...) DP_PRINTF(2, 3);

static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "smdp pki%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see smdp pki %s%s--help)\n", cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

static int failure(const char *cmd, int err)
{
	const char *detail = dp_err_detail();
	fprintf(stderr, "smdp pki %s: %s (%s)%s%s\n", cmd, dp_strerror(err), dp_errname(err),
		*detail ? ": " : "", detail);
	return 1;
}

/* Parses argv[from..] with the options named in `allowed` (space-separated). Plain words go
 * to o->files. Returns 0 or EXIT_USAGE (message printed). */
static int parse(const char *cmd, int argc, char **argv, int from, const char *allowed,
		 struct opts *o)
{
	for (int i = from; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0') {
			if (o->n_files >= (int)(sizeof(o->files) / sizeof(o->files[0])))
				return usage_error(cmd, "too many arguments (%s)", a);
			o->files[o->n_files++] = a;
			continue;
		}
		const struct opt_def *d = NULL;
		for (size_t k = 0; k < sizeof(all_opts) / sizeof(all_opts[0]); k++)
			if (strcmp(all_opts[k].name, a) == 0)
				d = &all_opts[k];
		char key[64];
		snprintf(key, sizeof(key), " %s ", a);
		char list[512];
		snprintf(list, sizeof(list), " %s --help -h ", allowed);
		if (d == NULL || strstr(list, key) == NULL)
			return usage_error(cmd, "unknown option %s", a);
		char *field = (char *)o + d->field;
		if (d->flag) {
			*(int *)(void *)field = 1;
			continue;
		}
		if (i + 1 >= argc)
			return usage_error(cmd, "option %s needs a value", a);
		if (d->field == offsetof(struct opts, ci)) {
			if (o->n_ci >= (int)(sizeof(o->ci) / sizeof(o->ci[0])))
				return usage_error(cmd, "too many %s", a);
			o->ci[o->n_ci++] = argv[++i];
		} else {
			*(const char **)(void *)field = argv[++i];
		}
	}
	return 0;
}

/* YYYYMMDDHHMMSSZ -> time_t (UTC). */
static int parse_time(const char *s, time_t *out)
{
	struct tm tm;
	char z = 0;
	int y, mo, d, h, mi, se, n = 0;
	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != 15 ||
	    sscanf(s, "%4d%2d%2d%2d%2d%2d%c%n", &y, &mo, &d, &h, &mi, &se, &z, &n) != 7 ||
	    n != 15 || z != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 59 || y < 1950)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = timegm(&tm);
	return tm.tm_mday == d ? 0 : -1; /* 31 Feb is normalised away: refuse it */
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end || *out > max ? -1 : 0;
}

static int parse_curve(const char *cmd, const char *s, enum dp_curve *c)
{
	*c = 0;
	if (s != NULL && dp_curve_parse(s, c) != DP_OK)
		return usage_error(cmd, "unknown curve %s (use nist or brainpool)", s);
	return 0;
}

static int cmd_init(int argc, char **argv)
{
	struct opts o = { 0 };
	struct dp_testpki_set set = { 0 };
	char eid[DP_CERT_EID_DIGITS + 1];
	int r = parse("init", argc, argv, 2,
		      "--dir --curve --host --eid --ein --eid-prefix --smdp-oid --ci-cert --ci-key "
		      "--force",
		      &o);
	if (r)
		return r;
	if (o.help) {
		fputs(usage_init, stdout);
		return 0;
	}
	if (o.n_files)
		return usage_error("init", "unexpected argument %s", o.files[0]);
	if (o.dir == NULL)
		return usage_error("init", "%s is required", "--dir");
	if ((o.issuer_cert == NULL) != (o.issuer_key == NULL))
		return usage_error("init", "%s", "--ci-cert and --ci-key go together");
	if ((r = parse_curve("init", o.curve, &set.curve)))
		return r;
	if (o.eid && dp_cert_eid_valid(o.eid) != DP_OK)
		return usage_error("init", "--eid %s is not 32 digits with valid check digits",
				   o.eid);
	set.dir = o.dir;
	set.host = o.host;
	set.eid = o.eid;
	set.ein = o.ein;
	set.oid = o.smdp_oid;
	set.ci_cert = o.issuer_cert;
	set.ci_key = o.issuer_key;
	set.overwrite = o.force;
	if ((r = dp_testpki_init(&set, eid)))
		return failure("init", r);
	/* the curve of the set is the CI's unless --curve chose one */
	struct dp_cert *ci = NULL;
	char path[4096];
	snprintf(path, sizeof(path), "%s/ci-cert.pem", o.dir);
	enum dp_curve curve = set.curve;
	if (!curve && dp_cert_load_file(path, &ci) == DP_OK)
		curve = dp_cert_curve(ci);
	dp_cert_free(ci);
	printf("wrote a %s test PKI to %s\nEID %s\nDPtls host %s\n",
	       curve ? dp_curve_short(curve) : "nist", o.dir, eid,
	       o.host ? o.host : "testsmdpplus1.example.com");
	return 0;
}

static const struct {
	const char *name;
	enum dp_cert_role role;
} role_names[] = {
	{ "ci", DP_CERT_CI },         { "eum", DP_CERT_EUM },     { "euicc", DP_CERT_EUICC },
	{ "dpauth", DP_CERT_DPAUTH }, { "dppb", DP_CERT_DPPB },   { "dptls", DP_CERT_DPTLS },
	{ "operator", DP_CERT_OPERATOR },
};

static int role_of(const char *s, enum dp_cert_role *role)
{
	for (size_t i = 0; s && i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcasecmp(s, role_names[i].name) == 0) {
			*role = role_names[i].role;
			return 0;
		}
	return -1;
}

static int cmd_issue(int argc, char **argv)
{
	struct opts o = { 0 };
	struct dp_testpki_req q = { 0 };
	struct dp_cert *issuer = NULL, *cert = NULL;
	EVP_PKEY *issuer_key = NULL, *key = NULL;
	char cert_path[4096], key_path[4096];
	unsigned long long n;
	int r = parse("issue", argc, argv, 2,
		      "--ci-cert --ci-key --eum-cert --eum-key --issuer-cert --issuer-key --key "
		      "--out-cert --out-key --curve --host --eid --ein --eid-prefix --ein-extension "
		      "--smdp-oid --cn --org --country --days --not-before --not-after --serial "
		      "--crl-url --force",
		      &o);
	if (r)
		return r;
	if (o.help) {
		fputs(usage_issue, stdout);
		return 0;
	}
	if (o.n_files != 1)
		return usage_error("issue", "%s", o.n_files ? "one ROLE only" : "ROLE is missing");
	if (role_of(o.files[0], &q.role))
		return usage_error("issue", "unknown role %s", o.files[0]);
	const char *rn = o.files[0];
	if (q.role == DP_CERT_CI && (o.issuer_cert || o.issuer_key))
		return usage_error("issue", "%s", "a ci is self-signed: no issuer options");
	if (q.role != DP_CERT_CI && (!o.issuer_cert || !o.issuer_key))
		return usage_error("issue", "%s needs the issuer's certificate and key",
				   q.role == DP_CERT_EUICC ? "euicc (--eum-cert/--eum-key)"
							   : "this role (--ci-cert/--ci-key)");
	if (q.role == DP_CERT_EUICC && (!o.eid || dp_cert_eid_valid(o.eid) != DP_OK))
		return usage_error("issue", "euicc needs --eid with 32 digits and valid check "
				   "digits (got %s)", o.eid ? o.eid : "none");
	if (q.role == DP_CERT_EUM && !o.ein)
		return usage_error("issue", "%s", "eum needs --ein PREFIX");
	if (q.role == DP_CERT_DPTLS && !o.host)
		return usage_error("issue", "%s", "dptls needs --host NAME");
	if ((r = parse_curve("issue", o.curve, &q.curve)))
		return r;
	if (o.days && (parse_uint(o.days, 100000, &n) || n == 0))
		return usage_error("issue", "--days %s is not a number of days (1..100000)", o.days);
	if (o.days && o.not_after)
		return usage_error("issue", "%s", "--days and --not-after exclude each other");
	if (o.not_before && parse_time(o.not_before, &q.not_before))
		return usage_error("issue", "--not-before %s is not YYYYMMDDHHMMSSZ", o.not_before);
	if (o.not_after && parse_time(o.not_after, &q.not_after))
		return usage_error("issue", "--not-after %s is not YYYYMMDDHHMMSSZ", o.not_after);
	if (o.days)
		q.not_after = (q.not_before ? q.not_before : time(NULL)) + (time_t)n * 86400;
	if (o.serial) {
		if (parse_uint(o.serial, INT64_MAX, &n) || n == 0)
			return usage_error("issue", "--serial %s is not a positive number", o.serial);
		q.serial = n;
	}
	q.host = o.host;
	q.eid = o.eid;
	q.ein = o.ein;
	q.ein_extension = o.ein_extension;
	q.oid = o.smdp_oid;
	q.cn = o.cn;
	q.org = o.org;
	q.country = o.country;
	q.crl_url = o.crl_url;
	snprintf(cert_path, sizeof(cert_path), "%s", o.out_cert ? o.out_cert : "");
	snprintf(key_path, sizeof(key_path), "%s", o.out_key ? o.out_key : "");
	if (!o.out_cert)
		snprintf(cert_path, sizeof(cert_path), "%s-cert.pem", rn);
	if (!o.out_key)
		snprintf(key_path, sizeof(key_path), "%s-key.pem", rn);

	if (o.issuer_cert && ((r = dp_cert_load_file(o.issuer_cert, &issuer)) ||
			      (r = dp_cert_key_load_file(o.issuer_key, &issuer_key))))
		goto out;
	if (o.key && (r = dp_cert_key_load_file(o.key, &q.key)))
		goto out;
	if ((r = dp_testpki_issue(&q, issuer, issuer_key, &cert, &key)) ||
	    (r = dp_testpki_write_cert(cert_path, cert, o.force)))
		goto out;
	if (!o.key && (r = dp_testpki_write_key(key_path, key, o.force)))
		goto out;
	char subject[256];
	dp_cert_subject(cert, subject, sizeof(subject));
	printf("wrote %s%s%s (%s, %s)\n", cert_path, o.key ? "" : " and ", o.key ? "" : key_path,
	       subject, dp_curve_short(dp_cert_curve(cert)));
out:
	dp_cert_free(issuer);
	dp_cert_free(cert);
	EVP_PKEY_free(issuer_key);
	EVP_PKEY_free(key);
	EVP_PKEY_free(q.key);
	return r ? failure("issue", r) : 0;
}

static int read_der(const char *path, struct dp_cert **c, const uint8_t **der, size_t *len)
{
	int r = dp_cert_load_file(path, c);
	if (r == DP_OK)
		*der = dp_cert_der(*c, len);
	return r;
}

static int cmd_verify(int argc, char **argv)
{
	struct opts o = { 0 };
	struct dp_ci_store *store = NULL;
	struct dp_cert *a = NULL, *b = NULL;
	struct dp_cert_chain chain = { 0 };
	enum dp_cert_role role = DP_CERT_ANY;
	const uint8_t *der_a, *der_b;
	size_t len_a, len_b;
	time_t at = time(NULL);
	int r = parse("verify", argc, argv, 2, "--ci --euicc --eum --cert --role --at", &o);
	if (r)
		return r;
	if (o.help) {
		fputs(usage_verify, stdout);
		return 0;
	}
	if (o.n_files)
		return usage_error("verify", "unexpected argument %s", o.files[0]);
	if (o.n_ci == 0)
		return usage_error("verify", "%s", "at least one --ci is required");
	if (!!o.euicc + !!o.eum == 1 || !!o.cert == !!o.euicc || (o.cert && !o.role))
		return usage_error("verify", "%s", "give --euicc and --eum, or --cert and --role");
	if (o.role && (role_of(o.role, &role) || role == DP_CERT_CI || role == DP_CERT_EUICC))
		return usage_error("verify", "--role %s: use eum, dpauth, dppb, dptls or operator",
				   o.role);
	if (o.at && parse_time(o.at, &at))
		return usage_error("verify", "--at %s is not YYYYMMDDHHMMSSZ", o.at);
	if ((r = dp_ci_store_new(&store)))
		goto out;
	for (int i = 0; i < o.n_ci; i++)
		if ((r = dp_ci_store_load_ci(store, o.ci[i])))
			goto out;
	if (o.cert) {
		if ((r = read_der(o.cert, &a, &der_a, &len_a)) ||
		    (r = dp_ci_store_verify(store, role, der_a, len_a, at, NULL)))
			goto out;
		printf("%s: valid %s certificate\n", o.cert, dp_cert_role_name(role));
	} else {
		if ((r = read_der(o.euicc, &a, &der_a, &len_a)) ||
		    (r = read_der(o.eum, &b, &der_b, &len_b)) ||
		    (r = dp_ci_store_verify_euicc(store, der_a, len_a, der_b, len_b, NULL, 0, at,
						  &chain)))
			goto out;
		printf("%s: valid eUICC chain, EID %s\n", o.euicc, chain.eid);
	}
out:
	dp_cert_chain_deinit(&chain);
	dp_cert_free(a);
	dp_cert_free(b);
	dp_ci_store_free(store);
	return r ? failure("verify", r) : 0;
}

static void print_hex(const char *label, const uint8_t *p, size_t n)
{
	char hex[2 * DP_CERT_SKI_MAX + 1];
	if (dp_hex_encode(p, n, true, hex, sizeof(hex)) == DP_OK)
		printf("  %-10s %s\n", label, hex);
}

static void print_time(const char *label, const ASN1_TIME *t)
{
	BIO *b = BIO_new_fp(stdout, BIO_NOCLOSE);
	printf("  %-10s ", label);
	if (b) {
		ASN1_TIME_print(b, t);
		BIO_free(b);
	}
	printf("\n");
}

static int cmd_show(int argc, char **argv)
{
	struct opts o = { 0 };
	int r = parse("show", argc, argv, 2, "", &o), failed = 0;
	if (r)
		return r;
	if (o.help) {
		fputs(usage_show, stdout);
		return 0;
	}
	if (o.n_files == 0)
		return usage_error("show", "%s", "no FILE given");
	for (int i = 0; i < o.n_files; i++) {
		struct dp_cert *c = NULL;
		const uint8_t *p;
		size_t n;
		char text[256], eid[DP_CERT_EID_DIGITS + 1];
		if ((r = dp_cert_load_file(o.files[i], &c))) {
			failed = failure("show", r);
			continue;
		}
		printf("%s\n", o.files[i]);
		dp_cert_subject(c, text, sizeof(text));
		printf("  %-10s %s\n  %-10s %s\n", "subject", text, "curve",
		       dp_curve_name(dp_cert_curve(c)));
		if (dp_cert_ski(c, &p, &n) == DP_OK)
			print_hex("SKI", p, n);
		if (dp_cert_aki(c, &p, &n) == DP_OK)
			print_hex("AKI", p, n);
		print_time("notBefore", X509_get0_notBefore(dp_cert_x509(c)));
		print_time("notAfter", X509_get0_notAfter(dp_cert_x509(c)));
		printf("  %-10s", "roles");
		for (enum dp_cert_role k = DP_CERT_CI; k <= DP_CERT_OPERATOR; k++)
			if (dp_cert_check_role(c, k) == DP_OK)
				printf(" %s", dp_cert_role_name(k));
		printf("\n");
		if (dp_cert_san_oid(c, text, sizeof(text)) == DP_OK)
			printf("  %-10s %s\n", "SAN OID", text);
		if (dp_cert_eid(c, eid) == DP_OK)
			printf("  %-10s %s\n", "EID", eid);
		dp_cert_free(c);
	}
	return failed;
}

static int cmd_eid(int argc, char **argv)
{
	struct opts o = { 0 };
	char eid[DP_CERT_EID_DIGITS + 1];
	int r = parse("eid", argc, argv, 2, "--ein --eid-prefix", &o);
	if (r)
		return r;
	if (o.help) {
		fputs(usage_eid, stdout);
		return 0;
	}
	if (o.n_files)
		return usage_error("eid", "unexpected argument %s", o.files[0]);
	if ((r = dp_testpki_make_eid(o.ein ? o.ein : "89049032", eid)))
		return r == DP_ERR_INVAL ? usage_error("eid", "--ein %s must be 0..30 digits", o.ein)
					 : failure("eid", r);
	printf("%s\n", eid);
	return 0;
}

int dp_testpki_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "init", cmd_init }, { "issue", cmd_issue }, { "verify", cmd_verify },
		{ "show", cmd_show }, { "eid", cmd_eid },
	};
	/* the tool reports results itself; the store's start-up notes are noise here */
	dp_log_set_level(DP_LOG_PKI, DP_LOG_WARN);
	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc, argv);
	return usage_error(NULL, "unknown command %s", argv[1]);
}
