/* The admin commands: profiles, orders and activation codes, sessions (contract in
 * admin.h; issue 6 item 7; activation codes SGP.22 4.1, the states of state.h). */
#include "smdp/admin.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "pki/base/codec.h"
#include "pki/base/log.h"
#include "pki/base/secure.h"
#include "pki/crypto/cert.h"
#include "smdp/activation.h"
#include "smdp/config.h"
#include "smdp/db.h"
#include "smdp/import.h"
#include "smdp/qr.h"

#define EXIT_FAIL  1
#define EXIT_USAGE 2
#define ACTOR	   "admin"
#define CC_MAX	   64
#define PNG_SCALE  8

#define COMMON_HELP                                                                                \
	"  --config FILE     the server's YAML configuration (state_dir and defaults)\n"           \
	"  --state-dir DIR   folder holding smdp.db (default: the configuration's state_dir)\n"

static const char usage_profile[] =
    "usage: smdp profile <command> [options]\n"
    "\n"
    "  import FILE...    store SAIP packages (DER) or profilegen YAML files as Available\n"
    "                    profiles; a folder imports its *.der and *.yaml files\n"
    "  import --csv CSV DIR\n"
    "                    a profilegen batch folder, all or nothing, checked against\n"
    "                    its operator file CSV\n"
    "  list              one line per profile: ICCID, type, owner, state, bound EID\n"
    "  show ICCID        a profile and its history\n"
    "  reset ICCID       Error or Unavailable -> Available\n"
    "  retire ICCID      Available or Error -> Unavailable\n"
    "\n"
    "'smdp profile <command> --help' for its options.\n";

static const char usage_import[] =
    "usage: smdp profile import FILE... [options]\n"
    "       smdp profile import --csv CSV DIR [options]\n"
    "\n"
    "  --csv CSV         DIR is a 'profilegen batch' folder and CSV its operator file\n"
    "                    (ICCID,IMSI,Ki,OPc,PIN1,PUK1,PIN2,PUK2,ADM1): see below\n"
    "  --type T          profile type (orders by type pick from it)\n"
    "  --owner O         owner recorded with the profile\n"
    "  --ppk             pre-protect the package with fresh profile protection keys\n"
    "  --sp-name S       serviceProviderName of the metadata (default smdp for DER)\n"
    "  --name N          profileName of the metadata (default: the ICCID for DER)\n"
    "  --class C         test, provisioning or operational (default operational for "
    "DER)\n" COMMON_HELP "\n"
    "A YAML file's metadata: mapping gives the metadata; the options above override it.\n"
    "A bad file imports nothing of itself; the others are still imported (exit status 1).\n"
    "\n"
    "With --csv nothing is imported unless all is well: every CSV row has its <ICCID>.der\n"
    "in DIR, every *.der in DIR has its row, each package's ICCID, IMSI, Ki and OPc equal\n"
    "its row's, and no ICCID is in the order book yet. Every problem is reported with its\n"
    "line or file (exit status 1). The CSV's keys and codes are never stored or printed.\n";

static const char usage_list[] =
    "usage: smdp profile list [--state S] [--type T] [--owner O] [options]\n"
    "\n"
    "  --state S         only profiles in state S (Available, Released, Downloaded, ...)\n"
    "  --type T          only profiles of type T\n"
    "  --owner O         only profiles of owner O\n" COMMON_HELP;

static const char usage_show[] = "usage: smdp profile show ICCID [options]\n\n" COMMON_HELP;
static const char usage_reset[] =
    "usage: smdp profile reset ICCID [options]\n"
    "\n"
    "Makes a profile in Error or Unavailable Available again (closing its orders).\n\n" COMMON_HELP;
static const char usage_retire[] =
    "usage: smdp profile retire ICCID [options]\n"
    "\n"
    "Takes an Available or Error profile out of use (Unavailable).\n\n" COMMON_HELP;

static const char usage_order[] = "usage: smdp order <command> [options]\n"
				  "\n"
				  "  create            a download order and its activation code\n"
				  "  list              open orders (--all: closed ones too)\n"
				  "\n"
				  "'smdp order <command> --help' for its options.\n";

static const char usage_create[] =
    "usage: smdp order create (--iccid ICCID | --type T [--pool]) [options]\n"
    "\n"
    "  --iccid ICCID       this profile (it must be Available)\n"
    "  --type T            the first Available profile of type T (lowest ICCID)\n"
    "  --owner O           the order's owner: the profile must be O's (with --type: the\n"
    "                      first Available one of type T owned by O); default: the\n"
    "                      owner of the profile chosen\n"
    "  --pool              with --type: a pool order; every eUICC presenting its matching\n"
    "                      ID claims its own profile of the type until none is left\n"
    "  --matching-id M     1..64 of 0-9 A-Z '-' (default: generated, e.g. K3T9Q-0ZP2M-...);\n"
    "                      '' for a default SM-DP+ order without matching ID (needs --eid)\n"
    "  --eid EID           only this eUICC may download (32 digits, check digits verified)\n"
    "  --cc CODE           confirmation code (only its SHA-256 is stored)\n"
    "  --expires SECONDS   the order expires this long from now (0: never; default\n"
    "                      order_ttl_s)\n"
    "  --max-attempts N    download attempts allowed (default order_max_attempts)\n"
    "  --reuse-on-delete   a delete notification makes the profile Available again\n"
    "                      (default reuse_on_delete; otherwise it becomes Unavailable)\n"
    "  --address ADDR      SM-DP+ address in the activation code (default smdp_address)\n"
    "  --qr[=utf8|ascii]   print the activation code's QR code (UTF-8 half blocks for a\n"
    "                      dark terminal, or ASCII '#' for dark modules)\n"
    "  --png FILE          write the QR code as a PNG file\n" COMMON_HELP "\n"
    "Prints the order number, the matching ID, the ICCID chosen and the activation code\n"
    "LPA:1$<address>$<matchingId> (with $$1 when a confirmation code is required).\n";

static const char usage_order_list[] = "usage: smdp order list [--all] [options]\n"
				       "\n"
				       "  --all             closed orders too\n" COMMON_HELP;

static const char usage_session[] =
    "usage: smdp session list [options]\n"
    "\n"
    "Open ES9+ sessions: transactionId, stage, EID, ICCID, expiry.\n\n" COMMON_HELP;

/* ---- shared plumbing ---- */

enum { OPT_CONFIG = 1000, OPT_STATE_DIR, OPT_HELP };

#define COMMON_OPTS                                                                                \
	{"config", required_argument, NULL, OPT_CONFIG},                                           \
	    {"state-dir", required_argument, NULL, OPT_STATE_DIR},                                 \
	{                                                                                          \
		"help", no_argument, NULL, OPT_HELP                                                \
	}

/* The --config file first, whatever its position, so that options override it. */
static int load_config(int argc, char **argv, struct dp_config *cfg)
{
	int r = dp_config_init(cfg);
	for (int i = 1; r == DP_OK && i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			r = dp_config_load_file(cfg, argv[i + 1]);
		else if (strncmp(argv[i], "--config=", 9) == 0)
			r = dp_config_load_file(cfg, argv[i] + 9);
	}
	return r;
}

/* Opens <state_dir>/smdp.db; create: make the folder and the file when missing (import),
 * else a missing database is an error rather than a new empty one. */
static int open_db(const struct dp_config *cfg, bool create, struct dp_db **db)
{
	char path[PATH_MAX];
	struct stat st;
	if (snprintf(path, sizeof(path), "%s/smdp.db", cfg->state_dir) >= (int)sizeof(path))
		return dp_err_set(DP_ERR_USAGE, "state directory path is too long");
	if (create) {
		if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST)
			return dp_err_set(DP_ERR_IO, "cannot create %s: %s", cfg->state_dir,
					  strerror(errno));
	} else if (stat(path, &st) != 0) {
		return dp_err_set(DP_ERR_IO,
				  "no database %s (wrong --state-dir? import profiles or "
				  "start the server first)",
				  path);
	}
	return dp_db_open(path, db);
}

/* Prints the error the usual way and maps it to an exit status. */
static int report(const char *cmd, int r)
{
	if (r == DP_OK)
		return 0;
	fprintf(stderr, "smdp %s: %s: %s\n", cmd, dp_strerror(r), dp_err_detail());
	return r == DP_ERR_USAGE ? EXIT_USAGE : EXIT_FAIL;
}

static int usage_error(const char *cmd, const char *fmt, ...) DP_PRINTF(2, 3);
static int usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return dp_err_set(DP_ERR_USAGE, "%s (see 'smdp %s --help')", msg, cmd);
}

/* Common options in a getopt loop; returns 1 when c was one of them, with *r set. */
static int common_opt(int c, struct dp_config *cfg, int *r)
{
	switch (c) {
	case OPT_CONFIG: return 1; /* loaded before the loop */
	case OPT_STATE_DIR:
		*r = dp_config_set(cfg, "state_dir", optarg);
		if (*r == DP_ERR_CONFIG)
			*r = dp_err_wrap(DP_ERR_USAGE, "--state-dir");
		return 1;
	default: return 0;
	}
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end != '\0' || errno != 0 || v > max)
		return false;
	*out = v;
	return true;
}

static void fmt_time(time_t t, char *buf, size_t cap)
{
	struct tm tm;
	if (t == 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, cap, "-");
		return;
	}
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

static const char *class_name(int c)
{
	static const char *const names[] = {"test", "provisioning", "operational"};
	return c >= 0 && c <= 2 ? names[c] : "?";
}

/* ---- smdp profile import ---- */

/* ctx: NULL, or a count of the failures reported (a batch's problems). */
static void import_report(void *ctx, const char *path, int r, const char *iccid)
{
	size_t *failures = ctx;
	if (r == DP_OK) {
		printf("imported %s from %s\n", iccid, path);
		return;
	}
	if (failures != NULL)
		(*failures)++;
	fprintf(stderr, "smdp profile import: %s: %s\n", dp_strerror(r), dp_err_detail());
}

static int cmd_import(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"type", required_argument, NULL, 't'},
	    {"owner", required_argument, NULL, 'o'},
	    {"ppk", no_argument, NULL, 'p'},
	    {"sp-name", required_argument, NULL, 's'},
	    {"name", required_argument, NULL, 'n'},
	    {"class", required_argument, NULL, 'c'},
	    {"csv", required_argument, NULL, 'C'},
	    COMMON_OPTS,
	    {NULL, 0, NULL, 0},
	};
	struct dp_import_options o = {.profile_class = -1, .actor = ACTOR};
	const char *csv = NULL;
	struct dp_config cfg;
	struct dp_db *db = NULL;
	int r = load_config(argc, argv, &cfg), c;
	optind = 1;
	while (r == DP_OK && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(c, &cfg, &r))
			continue;
		switch (c) {
		case 't':
			if (strlen(optarg) > DP_DB_TEXT_MAX)
				r = usage_error("profile import", "--type: at most 64 bytes");
			o.profile_type = optarg;
			break;
		case 'o':
			if (strlen(optarg) > DP_DB_TEXT_MAX)
				r = usage_error("profile import", "--owner: at most 64 bytes");
			o.owner = optarg;
			break;
		case 'p': o.ppk = true; break;
		case 's': o.sp_name = optarg; break;
		case 'n': o.name = optarg; break;
		case 'c':
			if (dp_import_class_parse(optarg, &o.profile_class) != DP_OK)
				r = usage_error("profile import",
						"--class '%s': expected test, "
						"provisioning or operational",
						optarg);
			break;
		case 'C': csv = optarg; break;
		case OPT_HELP: fputs(usage_import, stdout); goto out;
		default: r = usage_error("profile import", "bad option"); break;
		}
	}
	if (r == DP_OK && optind >= argc)
		r = usage_error("profile import", csv != NULL ? "no DIR given" : "no FILE given");
	if (r == DP_OK && csv != NULL && argc - optind != 1)
		r = usage_error("profile import", "--csv takes one DIR, the batch folder");
	if (r)
		goto out;
	r = open_db(&cfg, true, &db);
	if (r)
		goto out;
	size_t ok = 0, failed = 0;
	if (csv != NULL) {
		/* a batch: all or nothing; each problem is reported, then the first returned */
		r = dp_import_batch(db, csv, argv[optind], &o, import_report, &failed, &ok);
		if (r && ok == 0)
			printf("batch refused: %zu problem%s, nothing imported\n", failed,
			       failed == 1 ? "" : "s");
		else
			printf("%zu imported, %zu failed\n", ok, failed);
	} else {
		r = dp_import_paths(db, argv + optind, (size_t)(argc - optind), &o, import_report,
				    NULL, &ok, &failed);
		printf("%zu imported, %zu failed\n", ok, failed);
	}
	if (r) {
		/* each failure was reported with its file already */
		dp_db_close(db);
		dp_config_deinit(&cfg);
		return EXIT_FAIL;
	}
out:
	dp_db_close(db);
	dp_config_deinit(&cfg);
	return report("profile import", r);
}

/* ---- smdp profile list / show / reset / retire ---- */

static int print_profile_line(void *ctx, const struct dp_db_profile *p)
{
	(void)ctx;
	printf("%-20s  %-16s  %-12s  %-11s  %s\n", p->iccid, dash(p->profile_type), dash(p->owner),
	       dp_profile_state_name(p->state), dash(p->eid));
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"type", required_argument, NULL, 't'},
	    {"owner", required_argument, NULL, 'o'},
	    COMMON_OPTS,
	    {NULL, 0, NULL, 0},
	};
	struct dp_db_profile_filter f = {.state = DP_PROFILE_STATE_COUNT};
	struct dp_config cfg;
	struct dp_db *db = NULL;
	int r = load_config(argc, argv, &cfg), c;
	optind = 1;
	while (r == DP_OK && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(c, &cfg, &r))
			continue;
		switch (c) {
		case 's':
			if (dp_profile_state_parse(optarg, &f.state) != DP_OK)
				r = usage_error("profile list", "--state '%s': not a profile state",
						optarg);
			break;
		case 't': f.profile_type = optarg; break;
		case 'o': f.owner = optarg; break;
		case OPT_HELP: fputs(usage_list, stdout); goto out;
		default: r = usage_error("profile list", "bad option"); break;
		}
	}
	if (r == DP_OK && optind < argc)
		r = usage_error("profile list", "unexpected argument '%s'", argv[optind]);
	if (r == DP_OK)
		r = open_db(&cfg, false, &db);
	if (r)
		goto out;
	printf("%-20s  %-16s  %-12s  %-11s  %s\n", "ICCID", "TYPE", "OWNER", "STATE", "EID");
	r = dp_db_profile_list(db, &f, print_profile_line, NULL);
out:
	dp_db_close(db);
	dp_config_deinit(&cfg);
	return report("profile list", r);
}

static int print_history(void *ctx, const struct dp_db_history *h)
{
	char at[32];
	(void)ctx;
	fmt_time(h->at, at, sizeof(at));
	printf("  %s  %-8s  %-11s -> %-11s  %s%s%s\n", at, h->actor, dp_profile_state_name(h->from),
	       dp_profile_state_name(h->to), h->event, h->why[0] ? ": " : "", h->why);
	return 0;
}

/* show, reset and retire: one ICCID argument. */
static int cmd_one_profile(int argc, char **argv, const char *cmd, const char *usage)
{
	static const struct option longopts[] = {
	    COMMON_OPTS,
	    {NULL, 0, NULL, 0},
	};
	struct dp_config cfg;
	struct dp_db *db = NULL;
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	int r = load_config(argc, argv, &cfg), c;
	optind = 1;
	while (r == DP_OK && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(c, &cfg, &r))
			continue;
		if (c == OPT_HELP) {
			fputs(usage, stdout);
			goto out;
		}
		r = usage_error(cmd, "bad option");
	}
	if (r == DP_OK && argc - optind != 1)
		r = usage_error(cmd, "expected one ICCID");
	if (r == DP_OK)
		r = open_db(&cfg, false, &db);
	if (r)
		goto out;
	const char *iccid = argv[optind];
	if (strcmp(cmd, "profile reset") == 0 || strcmp(cmd, "profile retire") == 0) {
		bool reset = strcmp(cmd, "profile reset") == 0;
		r = dp_db_profile_event(db, iccid, reset ? DP_EV_ADMIN_RESET : DP_EV_ADMIN_RETIRE,
					DP_PROFILE_STATE_COUNT, ACTOR,
					reset ? "smdp profile reset" : "smdp profile retire");
		if (r == DP_OK)
			r = dp_db_profile_get(db, iccid, false, &p);
		if (r == DP_OK)
			printf("%s: %s\n", p.iccid, dp_profile_state_name(p.state));
		goto out;
	}
	r = dp_db_profile_get(db, iccid, false, &p);
	if (r)
		goto out;
	char at[32];
	fmt_time(p.updated_at, at, sizeof(at));
	printf("iccid: %s\ntype: %s\nowner: %s\nstate: %s\neid: %s\nclass: %s\n", p.iccid,
	       dash(p.profile_type), dash(p.owner), dp_profile_state_name(p.state), dash(p.eid),
	       class_name(p.profile_class));
	printf("ppr:%s%s%s%s\n", p.ppr & 1 ? " pprUpdateControl" : "", p.ppr & 2 ? " ppr1" : "",
	       p.ppr & 4 ? " ppr2" : "", p.ppr == 0 ? " none" : "");
	printf("pre-protected: %s\nmetadata: %zu bytes\nupdated: %s\nhistory:\n",
	       p.has_ppk ? "yes" : "no", p.metadata.len, at);
	r = dp_db_profile_history(db, iccid, print_history, NULL);
out:
	dp_db_profile_deinit(&p);
	dp_db_close(db);
	dp_config_deinit(&cfg);
	return report(cmd, r);
}

int dp_admin_profile_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_profile, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	/* the order book logs each state change at info; the CLI prints its own lines */
	if (dp_log_configure("warn") != DP_OK)
		return EXIT_FAIL;
	const char *sub = argv[1];
	if (strcmp(sub, "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return cmd_one_profile(argc - 1, argv + 1, "profile show", usage_show);
	if (strcmp(sub, "reset") == 0)
		return cmd_one_profile(argc - 1, argv + 1, "profile reset", usage_reset);
	if (strcmp(sub, "retire") == 0)
		return cmd_one_profile(argc - 1, argv + 1, "profile retire", usage_retire);
	fprintf(stderr, "smdp profile: unknown command '%s'\n\n%s", sub, usage_profile);
	return EXIT_USAGE;
}

/* ---- smdp order create ---- */

struct create_args {
	const char *iccid, *type, *mid, *eid, *address, *png, *owner;
	bool pool, mid_given, reuse, reuse_given, qr;
	enum dp_qr_style qr_style;
	uint8_t cc_hash[32];
	bool has_cc;
	unsigned long expires, max_attempts;
	bool expires_given, max_given;
};

static bool all_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Checks the arguments as a whole (before anything is written). */
static int check_create(struct create_args *a, const struct dp_config *cfg)
{
	const char *cmd = "order create";
	if ((a->iccid != NULL) == (a->type != NULL))
		return usage_error(cmd, "give exactly one of --iccid and --type");
	if (a->iccid != NULL &&
	    (strlen(a->iccid) < 19 || strlen(a->iccid) > 20 || !all_digits(a->iccid)))
		return usage_error(cmd, "--iccid '%s': expected 19 or 20 digits", a->iccid);
	if (a->pool && a->type == NULL)
		return usage_error(cmd, "--pool needs --type");
	if (a->pool && a->owner != NULL)
		return usage_error(cmd, "--owner: a pool order's eUICCs claim profiles of any "
					"owner; order by --iccid or --type alone");
	if (a->mid_given && a->mid[0] == '\0') {
		if (a->eid == NULL)
			return usage_error(cmd, "an order without matching ID (default SM-DP+) "
						"needs --eid");
		if (a->pool)
			return usage_error(cmd, "a pool order needs a matching ID");
		if (a->qr || a->png != NULL)
			return usage_error(cmd, "an order without matching ID has no activation "
						"code for --qr or --png");
	} else if (a->mid_given && dp_activation_matching_id_valid(a->mid) != DP_OK) {
		return dp_err_wrap(DP_ERR_USAGE, "--matching-id");
	}
	if (a->eid != NULL && dp_cert_eid_valid(a->eid) != DP_OK)
		return dp_err_wrap(DP_ERR_USAGE, "--eid '%s'", a->eid);
	bool has_mid = !(a->mid_given && a->mid[0] == '\0');
	if (has_mid) {
		if (a->address == NULL && cfg->smdp_address[0] != '\0')
			a->address = cfg->smdp_address;
		if (a->address == NULL)
			return usage_error(cmd, "no SM-DP+ address for the activation code: give "
						"--address HOST (or set smdp_address in the "
						"configuration)");
		if (dp_activation_address_valid(a->address) != DP_OK)
			return dp_err_wrap(DP_ERR_USAGE, "--address '%s'", a->address);
	}
	return DP_OK;
}

static int first_profile(void *ctx, const struct dp_db_profile *p)
{
	struct dp_db_profile *out = ctx;
	snprintf(out->iccid, sizeof(out->iccid), "%s", p->iccid);
	snprintf(out->owner, sizeof(out->owner), "%s", p->owner);
	return 1; /* the first is enough */
}

/* The profile of a single order and its owner, which becomes the order's: by ICCID (it
 * must be --owner's when given), or the first Available of the type (of --owner's when
 * given; lowest ICCID). Its state is checked by the order book when the order is made. */
static int pick_profile(struct dp_db *db, const struct create_args *a,
			char iccid[DP_DB_ICCID_MAX + 1], char owner[DP_DB_TEXT_MAX + 1])
{
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	int r;
	if (a->iccid != NULL) {
		r = dp_db_profile_get(db, a->iccid, false, &p);
		if (r == DP_OK && a->owner != NULL && strcmp(p.owner, a->owner) != 0)
			r = dp_err_set(DP_ERR_INVAL, "profile %s is owned by '%s', not '%s'",
				       p.iccid, p.owner, a->owner);
	} else {
		struct dp_db_profile_filter f = {
		    .state = DP_PROFILE_AVAILABLE, .profile_type = a->type, .owner = a->owner};
		r = dp_db_profile_list(db, &f, first_profile, &p);
		if (r == DP_OK)
			r = a->owner != NULL
				? dp_err_set(DP_ERR_NOT_FOUND,
					     "no Available profile of type '%s' "
					     "owned by '%s'",
					     a->type, a->owner)
				: dp_err_set(DP_ERR_NOT_FOUND, "no Available profile of type '%s'",
					     a->type);
		else if (r == 1)
			r = DP_OK;
	}
	if (r == DP_OK) {
		snprintf(iccid, DP_DB_ICCID_MAX + 1, "%s", p.iccid);
		snprintf(owner, DP_DB_TEXT_MAX + 1, "%s", p.owner);
	}
	dp_db_profile_deinit(&p);
	return r;
}

static int write_file(const char *path, const struct dp_buf *b)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return dp_err_set(DP_ERR_IO, "cannot create %s: %s", path, strerror(errno));
	bool ok = fwrite(b->data, 1, b->len, f) == b->len;
	if (fclose(f) != 0)
		ok = false;
	return ok ? DP_OK : dp_err_set(DP_ERR_IO, "cannot write %s", path);
}

static int cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"iccid", required_argument, NULL, 'i'},
	    {"type", required_argument, NULL, 't'},
	    {"pool", no_argument, NULL, 'P'},
	    {"matching-id", required_argument, NULL, 'm'},
	    {"eid", required_argument, NULL, 'e'},
	    {"cc", required_argument, NULL, 'c'},
	    {"expires", required_argument, NULL, 'x'},
	    {"max-attempts", required_argument, NULL, 'a'},
	    {"reuse-on-delete", no_argument, NULL, 'r'},
	    {"address", required_argument, NULL, 'A'},
	    {"qr", optional_argument, NULL, 'q'},
	    {"png", required_argument, NULL, 'g'},
	    {"owner", required_argument, NULL, 'O'},
	    COMMON_OPTS,
	    {NULL, 0, NULL, 0},
	};
	const char *cmd = "order create";
	struct create_args a = {.qr_style = DP_QR_UTF8};
	struct dp_config cfg;
	struct dp_db *db = NULL;
	struct dp_buf out;
	char mid[DP_AC_MATCHING_ID_MAX + 1] = "", code[DP_AC_MAX + 8] = "";
	char iccid[DP_DB_ICCID_MAX + 1] = "";
	dp_buf_init(&out, 4u << 20);
	int r = load_config(argc, argv, &cfg), c;
	optind = 1;
	while (r == DP_OK && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(c, &cfg, &r))
			continue;
		switch (c) {
		case 'i': a.iccid = optarg; break;
		case 't':
			a.type = optarg;
			if (optarg[0] == '\0' || strlen(optarg) > DP_DB_TEXT_MAX)
				r = usage_error(cmd, "--type: 1..64 bytes");
			break;
		case 'P': a.pool = true; break;
		case 'm':
			a.mid = optarg;
			a.mid_given = true;
			break;
		case 'e': a.eid = optarg; break;
		case 'c': {
			size_t n = strlen(optarg);
			unsigned int hl = 0;
			if (n == 0 || n > CC_MAX) {
				r = usage_error(cmd, "--cc: the confirmation code is 1..64 "
						     "characters");
				break;
			}
			/* stored as SHA-256(CC) (download-path.md 4.8); the text is wiped from
			 * argv so that ps no longer shows it */
			if (EVP_Digest(optarg, n, a.cc_hash, &hl, EVP_sha256(), NULL) != 1 ||
			    hl != 32)
				r = dp_err_set(DP_ERR_CRYPTO, "SHA-256");
			dp_wipe(optarg, n);
			a.has_cc = true;
			break;
		}
		case 'x':
			a.expires_given = true;
			if (!parse_uint(optarg, 315360000, &a.expires))
				r = usage_error(cmd, "--expires '%s': seconds in 0..315360000",
						optarg);
			break;
		case 'a':
			a.max_given = true;
			if (!parse_uint(optarg, 1000, &a.max_attempts) || a.max_attempts == 0)
				r = usage_error(cmd, "--max-attempts '%s': a number in 1..1000",
						optarg);
			break;
		case 'r': a.reuse = a.reuse_given = true; break;
		case 'A': a.address = optarg; break;
		case 'q':
			a.qr = true;
			if (optarg == NULL || strcmp(optarg, "utf8") == 0)
				a.qr_style = DP_QR_UTF8;
			else if (strcmp(optarg, "ascii") == 0)
				a.qr_style = DP_QR_ASCII;
			else
				r = usage_error(cmd, "--qr=%s: expected utf8 or ascii", optarg);
			break;
		case 'g': a.png = optarg; break;
		case 'O':
			a.owner = optarg;
			if (strlen(optarg) > DP_DB_TEXT_MAX)
				r = usage_error(cmd, "--owner: at most 64 bytes");
			break;
		case OPT_HELP: fputs(usage_create, stdout); goto out;
		default: r = usage_error(cmd, "bad option"); break;
		}
	}
	if (r == DP_OK && optind < argc)
		r = usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (r == DP_OK)
		r = check_create(&a, &cfg);
	if (r == DP_OK)
		r = open_db(&cfg, false, &db);
	if (r)
		goto out;

	time_t now = time(NULL);
	unsigned long ttl = a.expires_given ? a.expires : cfg.order_ttl_s;
	struct dp_db_order_new o = {
	    .iccid = a.iccid,
	    .profile_type = a.type,
	    .pool = a.pool,
	    .eid = a.eid,
	    .cc_hash = a.has_cc ? a.cc_hash : NULL,
	    .expires_at = ttl != 0 ? now + (time_t)ttl : 0,
	    .max_attempts = a.max_given ? (unsigned)a.max_attempts : cfg.order_max_attempts,
	    .cc_max_attempts = cfg.cc_max_attempts,
	    .reuse_on_delete = a.reuse_given ? a.reuse : cfg.reuse_on_delete,
	    .owner = a.owner != NULL ? a.owner : "",
	};
	bool has_mid = !(a.mid_given && a.mid[0] == '\0');
	int64_t id = 0;
	char owner[DP_DB_TEXT_MAX + 1] = "";
	/* a generated ID that collides with an open order's is drawn again; a profile by type
	 * that another order took meanwhile is chosen again */
	for (int tries = 0; tries < 4; tries++) {
		if (!a.pool) {
			r = pick_profile(db, &a, iccid, owner);
			if (r)
				goto out;
			o.iccid = iccid;
			o.owner = owner;
		}
		if (!a.mid_given) {
			r = dp_activation_matching_id_generate(mid, sizeof(mid));
			if (r)
				goto out;
		} else {
			snprintf(mid, sizeof(mid), "%s", a.mid);
		}
		if (has_mid) {
			struct dp_activation_code ac = {.cc_required = a.has_cc};
			snprintf(ac.address, sizeof(ac.address), "%s", a.address);
			snprintf(ac.matching_id, sizeof(ac.matching_id), "%s", mid);
			r = dp_activation_code_build(&ac, code, sizeof(code));
			if (r)
				goto out;
		}
		o.matching_id = has_mid ? mid : NULL;
		r = dp_db_order_add(db, &o, ACTOR, &id, iccid);
		if (r == DP_ERR_DB_STATE && a.iccid == NULL)
			continue;
		if (r != DP_ERR_DB_EXISTS || a.mid_given)
			break;
	}
	if (r)
		goto out;
	char exp[32];
	fmt_time(o.expires_at, exp, sizeof(exp));
	printf("order: %lld\n", (long long)id);
	if (has_mid)
		printf("matching_id: %s\n", mid);
	else
		printf("matching_id: (none: a default SM-DP+ order, found by the EID)\n");
	if (a.pool)
		printf("iccid: (pool of type %s: each eUICC claims one Available profile)\n",
		       a.type);
	else
		printf("iccid: %s\n", iccid);
	printf("owner: %s\n", dash(o.owner));
	printf("eid: %s\nconfirmation_code: %s\nexpires: %s\nmax_attempts: %u\n", dash(a.eid),
	       a.has_cc ? "required" : "no", exp, o.max_attempts);
	if (has_mid)
		printf("activation_code: %s\n", code);
	if (a.qr) {
		r = dp_qr_text(code, a.qr_style, &out);
		if (r == DP_OK)
			fwrite(out.data, 1, out.len, stdout);
	}
	if (r == DP_OK && a.png != NULL) {
		unsigned w = 0;
		dp_buf_reset(&out);
		r = dp_qr_png(code, PNG_SCALE, &out, &w);
		if (r == DP_OK)
			r = write_file(a.png, &out);
		if (r == DP_OK)
			printf("png: %s (%ux%u)\n", a.png, w, w);
	}
	if (r)
		r = dp_err_wrap(r, "order %lld was created, but", (long long)id);
out:
	dp_wipe(a.cc_hash, sizeof(a.cc_hash));
	dp_buf_deinit(&out);
	dp_db_close(db);
	dp_config_deinit(&cfg);
	return report(cmd, r);
}

/* ---- smdp order list ---- */

static int print_order(void *ctx, const struct dp_db_order *o)
{
	char exp[32], profile[DP_DB_TEXT_MAX + 8], att[32];
	(void)ctx;
	fmt_time(o->expires_at, exp, sizeof(exp));
	if (o->pool)
		snprintf(profile, sizeof(profile), "pool:%s", o->profile_type);
	else
		snprintf(profile, sizeof(profile), "%s", o->iccid);
	snprintf(att, sizeof(att), "%u/%u", o->attempts, o->max_attempts);
	printf("%-5lld  %-23s  %-20s  %-32s  %-11s  %-7s  %-3s  %-20s  %s\n", (long long)o->id,
	       dash(o->matching_id), profile, dash(o->eid),
	       o->pool ? "-" : dp_profile_state_name(o->profile_state), att,
	       o->has_cc ? "yes" : "no", exp, o->closed ? "closed" : "open");
	return 0;
}

static int cmd_order_list(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"all", no_argument, NULL, 'a'},
	    COMMON_OPTS,
	    {NULL, 0, NULL, 0},
	};
	struct dp_config cfg;
	struct dp_db *db = NULL;
	bool all = false;
	int r = load_config(argc, argv, &cfg), c;
	optind = 1;
	while (r == DP_OK && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(c, &cfg, &r))
			continue;
		switch (c) {
		case 'a': all = true; break;
		case OPT_HELP: fputs(usage_order_list, stdout); goto out;
		default: r = usage_error("order list", "bad option"); break;
		}
	}
	if (r == DP_OK && optind < argc)
		r = usage_error("order list", "unexpected argument '%s'", argv[optind]);
	if (r == DP_OK)
		r = open_db(&cfg, false, &db);
	if (r)
		goto out;
	printf("%-5s  %-23s  %-20s  %-32s  %-11s  %-7s  %-3s  %-20s  %s\n", "ORDER", "MATCHING ID",
	       "PROFILE", "EID", "STATE", "TRIES", "CC", "EXPIRES", "");
	r = dp_db_order_list(db, all, print_order, NULL);
out:
	dp_db_close(db);
	dp_config_deinit(&cfg);
	return report("order list", r);
}

int dp_admin_order_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_order, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (dp_log_configure("warn") != DP_OK)
		return EXIT_FAIL;
	if (strcmp(argv[1], "create") == 0)
		return cmd_create(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_order_list(argc - 1, argv + 1);
	fprintf(stderr, "smdp order: unknown command '%s'\n\n%s", argv[1], usage_order);
	return EXIT_USAGE;
}

/* ---- smdp session list ---- */

/* Sessions are collected first: the ICCID lookup is another db call, which must not run
 * inside the listing's callback (the handle's lock is held there). */
struct session_row {
	char tid[2 * DP_DB_TID_MAX + 1];
	enum dp_db_stage stage;
	char eid[DP_DB_EID_LEN + 1];
	int64_t profile_id;
	time_t expires_at;
};

struct session_rows {
	struct session_row *v;
	size_t n, cap;
};

static int collect_session(void *ctx, const struct dp_db_session *s)
{
	struct session_rows *rows = ctx;
	if (rows->n == rows->cap) {
		size_t cap = rows->cap ? rows->cap * 2 : 16;
		struct session_row *v = realloc(rows->v, cap * sizeof(*v));
		if (v == NULL)
			return dp_err_set(DP_ERR_NOMEM, "session list");
		rows->v = v;
		rows->cap = cap;
	}
	struct session_row *row = &rows->v[rows->n];
	int r = dp_hex_encode(s->tid, s->tid_len, true, row->tid, sizeof(row->tid));
	if (r)
		return r;
	row->stage = s->stage;
	snprintf(row->eid, sizeof(row->eid), "%s", s->eid);
	row->profile_id = s->profile_id;
	row->expires_at = s->expires_at;
	rows->n++;
	return 0;
}

static const char *stage_name(enum dp_db_stage s)
{
	switch (s) {
	case DP_DB_STAGE_INITIATED: return "initiated";
	case DP_DB_STAGE_AUTHENTICATED: return "authenticated";
	case DP_DB_STAGE_BOUND: return "bound";
	case DP_DB_STAGE_FINISHED: return "finished";
	}
	return "?";
}

static int cmd_session_list(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_OPTS,
	    {NULL, 0, NULL, 0},
	};
	struct dp_config cfg;
	struct dp_db *db = NULL;
	struct session_rows rows = {0};
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	int r = load_config(argc, argv, &cfg), c;
	optind = 1;
	while (r == DP_OK && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(c, &cfg, &r))
			continue;
		if (c == OPT_HELP) {
			fputs(usage_session, stdout);
			goto out;
		}
		r = usage_error("session list", "bad option");
	}
	if (r == DP_OK && optind < argc)
		r = usage_error("session list", "unexpected argument '%s'", argv[optind]);
	if (r == DP_OK)
		r = open_db(&cfg, false, &db);
	if (r == DP_OK)
		r = dp_db_session_list(db, collect_session, &rows);
	if (r)
		goto out;
	printf("%-32s  %-13s  %-32s  %-20s  %s\n", "TRANSACTION ID", "STAGE", "EID", "ICCID",
	       "EXPIRES");
	for (size_t i = 0; r == DP_OK && i < rows.n; i++) {
		char exp[32];
		const char *iccid = "-";
		if (rows.v[i].profile_id != 0) {
			r = dp_db_profile_get_by_id(db, rows.v[i].profile_id, false, &p);
			iccid = p.iccid;
		}
		fmt_time(rows.v[i].expires_at, exp, sizeof(exp));
		if (r == DP_OK)
			printf("%-32s  %-13s  %-32s  %-20s  %s\n", rows.v[i].tid,
			       stage_name(rows.v[i].stage), dash(rows.v[i].eid), iccid, exp);
	}
out:
	free(rows.v);
	dp_db_profile_deinit(&p);
	dp_db_close(db);
	dp_config_deinit(&cfg);
	return report("session list", r);
}

int dp_admin_session_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_session, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (dp_log_configure("warn") != DP_OK)
		return EXIT_FAIL;
	if (strcmp(argv[1], "list") == 0)
		return cmd_session_list(argc - 1, argv + 1);
	fprintf(stderr, "smdp session: unknown command '%s'\n\n%s", argv[1], usage_session);
	return EXIT_USAGE;
}
