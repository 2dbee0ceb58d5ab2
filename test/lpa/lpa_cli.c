/* lpa: the test LPA on the command line: downloads to the test eUICC from any SM-DP+ over
 * ES9+, notifications, profiles, cancel (issue 5 item 4; SGP.22 3.1.3, 5.6, 5.7).
 * Exit status: 0 success, 1 failure, 2 bad command line, 3 refused by the SM-DP+. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "pki/asn1/tlv.h"
#include "pki/base/log.h"
#include "pki/base/secure.h"
#include "test/euicc/identity_options.h"
#include "test/lpa/lpa.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_REFUSED = 3 };

static const char usage_main[] =
    "usage: lpa [global options] COMMAND [options]   (COMMAND --help for more)\n"
    "\n"
    "Commands:\n"
    "  download 'LPA:1$ADDRESS$MATCHING_ID[$OID[$1]]' [--cc CODE]\n"
    "  download --smdp ADDRESS [--empty-matching-id]   (default SM-DP+)\n"
    "  notifications list | send [--all | SEQ]\n"
    "  profiles list | enable ICCID | disable ICCID | delete ICCID\n"
    "  cancel --reason N [--smdp ADDRESS --tid HEX]\n"
    "\n"
    "Global options:\n"
    "  --euicc-state FILE  the eUICC's saved state (loaded at start, saved after the command)\n"
    "  --cacert FILE       trust this CA for the SM-DP+ TLS certificate\n"
    "  --insecure          no TLS verification (lab use)\n"
    "  --plain-http        http:// (only behind a TLS-terminating proxy)\n"
    "  --fresh-connection  a new connection for every ES9+ call\n"
    "  --timeout SEC       whole-call timeout (default 120; connect 10)\n"
    "  --time EPOCH        the eUICC's clock for certificate checks (default now)\n"
    "  --log SPEC          log levels to stderr (default info for lpa, warn otherwise)\n"
    "eUICC identity:\n";

static const char usage_download[] =
    "usage: lpa download ACTIVATION_CODE [--cc CODE] [--stop-after STEP] [--keep-pir]\n"
    "       lpa download --smdp ADDRESS [--empty-matching-id | --matching-id ID] ...\n"
    "\n"
    "Runs the download: GetEUICCChallenge/Info1, initiateAuthentication, AuthenticateServer,\n"
    "authenticateClient, PrepareDownload, getBoundProfilePackage, LoadBoundProfilePackage,\n"
    "then sends the install notification (unless --keep-pir). Prints the ICCID, profile\n"
    "name and transactionId. Without --cc the confirmation code is asked for on a terminal.\n"
    "  --stop-after STEP   stop after initiate|authenticate|prepare|bpp (the session is\n"
    "                      kept in FILE.session with --euicc-state, for `lpa cancel`)\n"
    "  --smdp ADDRESS      default SM-DP+ / SM-DS event: no matching ID is sent\n"
    "  --empty-matching-id with --smdp: send an empty matching ID\n"
    "  --matching-id ID    with --smdp: send this matching ID\n";

static const char usage_notifications[] =
    "usage: lpa notifications list\n"
    "       lpa notifications send [--all | SEQ]\n"
    "\n"
    "list prints one line per pending notification: seq, event, ICCID, address.\n"
    "send delivers one (or all, the default) with ES9+ handleNotification to its address\n"
    "and removes it from the eUICC after HTTP 204.\n";

static const char usage_profiles[] =
    "usage: lpa profiles list | enable ICCID | disable ICCID | delete ICCID\n"
    "\n"
    "ES10c on the test eUICC; enable, disable and delete leave a notification to send.\n";

static const char usage_cancel[] =
    "usage: lpa cancel --reason N [--smdp ADDRESS --tid HEX]\n"
    "\n"
    "ES10 CancelSession then ES9+ cancelSession for a stopped download (the session from\n"
    "FILE.session of --euicc-state, or --smdp and --tid). Reasons: 0 endUserRejection,\n"
    "1 postponed, 2 timeout, 3 pprNotAllowed, 4 metadataMismatch, 5 loadBppExecutionError,\n"
    "127 undefinedReason.\n";

struct cli {
	struct dp_euicc_identity_options id;
	const char *state, *log;
	long long at;
	struct dp_lpa_options o;
	struct dp_euicc *e;
	struct dp_lpa *l;
};

static int usage_error(const char *help, const char *fmt, ...) DP_PRINTF(2, 3);

static int usage_error(const char *help, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("lpa: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	fputs(help, stderr);
	return EXIT_USAGE;
}

/* Exit status and message for a failed library call. */
static int report(const struct cli *c, int r, const char *what)
{
	if (r == DP_ERR_LPA_REFUSED) {
		const struct dp_lpa_es9_status *st = &dp_lpa_last_call(c->l)->st;
		fprintf(stderr, "lpa: refused by the SM-DP+: %s/%s %s\n", st->subject, st->reason,
			st->message);
		return EXIT_REFUSED;
	}
	fprintf(stderr, "lpa: %s: %s: %s\n", what, dp_strerror(r), dp_err_detail());
	return EXIT_FAIL;
}

static int session_file(const struct cli *c, char *path, size_t cap)
{
	if (c->state == NULL)
		return -1;
	return (size_t)snprintf(path, cap, "%s.session", c->state) < cap ? 0 : -1;
}

/* Keeps address and transactionId for a later `lpa cancel`. */
static void session_save(const struct cli *c)
{
	char path[1024];
	if (session_file(c, path, sizeof(path)) != 0)
		return;
	FILE *f = fopen(path, "w");
	if (f == NULL ||
	    fprintf(f, "%s %s\n", dp_lpa_smdp_address(c->l), dp_lpa_transaction_id(c->l)) < 0)
		fprintf(stderr, "lpa: cannot write %s\n", path);
	if (f != NULL)
		fclose(f);
}

static void session_forget(const struct cli *c)
{
	char path[1024];
	if (session_file(c, path, sizeof(path)) == 0)
		unlink(path);
}

/* Reads a confirmation code from the terminal without echo. */
static char *prompt_cc(void)
{
	struct termios old, quiet;
	char buf[256];
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &old) != 0)
		return NULL;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	fputs("Confirmation code: ", stderr);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	char *got = fgets(buf, sizeof(buf), stdin);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputs("\n", stderr);
	if (got == NULL) {
		dp_wipe(buf, sizeof(buf));
		return NULL;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	char *cc = strdup(buf);
	dp_wipe(buf, sizeof(buf));
	return cc;
}

/* ICCID and profile name from profileMetadata (BF25 { 5A, 91, 92, ... }). */
static void print_result(const struct cli *c)
{
	size_t len;
	const uint8_t *meta = dp_lpa_profile_metadata(c->l, &len);
	struct dp_tlv top, m;
	char iccid[21] = "", name[65] = "";
	if (meta != NULL && dp_tlv_read(meta, len, &top) == DP_OK) {
		if (dp_tlv_find(top.value, top.len, 0x5A, &m) == DP_OK &&
		    dp_lpa_iccid_to_digits(m.value, m.len, iccid) != DP_OK)
			iccid[0] = '\0';
		if (dp_tlv_find(top.value, top.len, 0x92, &m) == DP_OK && m.len < sizeof(name))
			memcpy(name, m.value, m.len);
	}
	printf("iccid %s\nname %s\ntransactionId %s\n", iccid, name, dp_lpa_transaction_id(c->l));
}

static int cmd_download(struct cli *c, int argc, char **argv)
{
	const char *ac = NULL, *smdp = NULL, *cc_opt = NULL, *mid_opt = NULL, *stop = NULL;
	bool empty_mid = false, keep_pir = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0) {
			fputs(usage_download, stdout);
			return EXIT_OK;
		} else if (strcmp(a, "--empty-matching-id") == 0) {
			empty_mid = true;
		} else if (strcmp(a, "--keep-pir") == 0) {
			keep_pir = true;
		} else if (strcmp(a, "--cc") == 0 || strcmp(a, "--smdp") == 0 ||
			   strcmp(a, "--matching-id") == 0 || strcmp(a, "--stop-after") == 0) {
			if (v == NULL)
				return usage_error(usage_download, "%s needs a value", a);
			*(a[2] == 'c'		       ? &cc_opt
			  : a[2] == 's' && a[3] == 'm' ? &smdp
			  : a[2] == 'm'		       ? &mid_opt
						       : &stop) = v;
			i++;
		} else if (a[0] != '-' && ac == NULL) {
			ac = a;
		} else {
			return usage_error(usage_download, "unexpected argument %s", a);
		}
	}
	if ((ac == NULL) == (smdp == NULL))
		return usage_error(usage_download, "%s", "give an activation code or --smdp");
	if ((empty_mid || mid_opt) && smdp == NULL)
		return usage_error(usage_download, "%s",
				   "--empty-matching-id / --matching-id go with --smdp");
	static const char *const steps[] = {"initiate", "authenticate", "prepare", "bpp"};
	int stop_at = 5;
	if (stop != NULL) {
		for (int k = 0; k < 4; k++)
			if (strcmp(stop, steps[k]) == 0)
				stop_at = k + 1;
		if (stop_at == 5)
			return usage_error(usage_download, "--stop-after %s", stop);
	}
	struct dp_lpa_activation_code code;
	const char *address = smdp, *mid = empty_mid ? "" : mid_opt;
	bool ac_cc = false;
	if (ac != NULL) {
		if (dp_lpa_activation_code_parse(ac, &code) != DP_OK)
			return usage_error(usage_download, "bad activation code: %s",
					   dp_err_detail());
		address = code.address;
		mid = code.matching_id;
		ac_cc = code.cc_required;
	}
	char *cc = cc_opt != NULL ? strdup(cc_opt) : NULL;
	struct dp_lpa_install_result res;
	int status = EXIT_FAIL, r, step = 1;
	if ((r = dp_lpa_initiate_authentication(c->l, address)) != DP_OK) {
		status = report(c, r, "initiateAuthentication");
		goto out;
	}
	fprintf(stderr, "lpa: transactionId %s\n", dp_lpa_transaction_id(c->l));
	if (stop_at == step++)
		goto stopped;
	if ((r = dp_lpa_authenticate_client(c->l, mid)) != DP_OK) {
		status = report(c, r, "authenticateClient");
		goto cancel;
	}
	if (stop_at == step++)
		goto stopped;
	if (ac_cc != dp_lpa_cc_required(c->l))
		fprintf(stderr, "lpa: note: the activation code says cc %s, the SM-DP+ %s\n",
			ac_cc ? "required" : "not required",
			dp_lpa_cc_required(c->l) ? "requires one" : "does not");
	if (dp_lpa_cc_required(c->l) && cc == NULL && (cc = prompt_cc()) == NULL) {
		fprintf(stderr, "lpa: the SM-DP+ asks for a confirmation code: give --cc\n");
		r = DP_ERR_INVAL;
		goto cancel;
	}
	if ((r = dp_lpa_prepare_download(c->l, cc)) != DP_OK) {
		status = report(c, r, "PrepareDownload");
		if (r == DP_ERR_LPA_EUICC && dp_lpa_get_bound_profile_package(c->l) != DP_OK)
			fprintf(stderr, "lpa: the eUICC's error was reported to the SM-DP+\n");
		goto out;
	}
	if (stop_at == step++)
		goto stopped;
	if ((r = dp_lpa_get_bound_profile_package(c->l)) != DP_OK) {
		status = report(c, r, "getBoundProfilePackage");
		goto cancel;
	}
	if (stop_at == step++)
		goto stopped;
	r = dp_lpa_load_bound_profile_package(c->l, &res);
	if (r != DP_OK && !(r == DP_ERR_LPA_EUICC && res.bpp_command >= 0)) {
		status = report(c, r, "LoadBoundProfilePackage");
		goto cancel;
	}
	session_forget(c);
	if (!keep_pir) {
		size_t sent;
		int s = dp_lpa_notification_send_all(c->l, &sent);
		if (s != DP_OK)
			fprintf(stderr, "lpa: notification not delivered (still pending): %s\n",
				dp_err_detail());
	}
	if (!res.success) {
		fprintf(stderr,
			"lpa: the eUICC refused the profile: bppCommandId %d errorReason %d\n",
			res.bpp_command, res.error_reason);
		goto out;
	}
	print_result(c);
	status = EXIT_OK;
	goto out;
stopped:
	fprintf(stderr,
		"lpa: stopped after %s; cancel with: lpa cancel --reason N --smdp %s "
		"--tid %s\n",
		steps[stop_at - 1], dp_lpa_smdp_address(c->l), dp_lpa_transaction_id(c->l));
	session_save(c);
	status = EXIT_OK;
	goto out;
cancel : {
	/* After a failure the session is cancelled; the first failure decides the status. */
	int reason = r == DP_ERR_INVAL ? DP_LPA_CANCEL_END_USER_REJECTION : DP_LPA_CANCEL_UNDEFINED;
	if (dp_lpa_cancel_session(c->l, reason) != DP_OK)
		fprintf(stderr, "lpa: cancelSession: %s\n", dp_err_detail());
}
out:
	if (cc != NULL)
		dp_free_secret_str(cc);
	return status;
}

static const char *event_name(int e)
{
	static const char *const names[] = {"install", "enable", "disable", "delete"};
	return e >= 0 && e < 4 ? names[e] : "other";
}

static int cmd_notifications(struct cli *c, int argc, char **argv)
{
	if (argc < 1 || strcmp(argv[0], "--help") == 0) {
		fputs(usage_notifications, argc < 1 ? stderr : stdout);
		return argc < 1 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[0], "list") == 0 && argc == 1) {
		struct dp_lpa_notification n[64];
		size_t count;
		int r = dp_lpa_notification_list(c->l, n, 64, &count);
		if (r != DP_OK)
			return report(c, r, "ListNotification");
		for (size_t i = 0; i < count; i++)
			printf("%llu %s %s %s\n", (unsigned long long)n[i].seq,
			       event_name(n[i].event), n[i].iccid[0] ? n[i].iccid : "-",
			       n[i].address);
		return EXIT_OK;
	}
	if (strcmp(argv[0], "send") != 0 || argc > 2)
		return usage_error(usage_notifications, "%s", "list or send [--all | SEQ]");
	if (argc == 1 || strcmp(argv[1], "--all") == 0) {
		size_t sent;
		int r = dp_lpa_notification_send_all(c->l, &sent);
		printf("%zu sent\n", sent);
		return r == DP_OK ? EXIT_OK : report(c, r, "handleNotification");
	}
	char *end;
	errno = 0;
	unsigned long long seq = strtoull(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || argv[1][0] < '0' || argv[1][0] > '9')
		return usage_error(usage_notifications, "bad sequence number %s", argv[1]);
	int r = dp_lpa_notification_send(c->l, seq);
	return r == DP_OK ? EXIT_OK : report(c, r, "handleNotification");
}

static int cmd_profiles(struct cli *c, int argc, char **argv)
{
	if (argc < 1 || strcmp(argv[0], "--help") == 0) {
		fputs(usage_profiles, argc < 1 ? stderr : stdout);
		return argc < 1 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[0], "list") == 0 && argc == 1) {
		struct dp_lpa_profile p[16];
		size_t n;
		int r = dp_lpa_profile_list(c->l, p, 16, &n);
		if (r != DP_OK)
			return report(c, r, "GetProfilesInfo");
		for (size_t i = 0; i < n; i++)
			printf("%s %s class=%d \"%s\" \"%s\"\n", p[i].iccid,
			       p[i].enabled ? "enabled" : "disabled", p[i].profile_class,
			       p[i].sp_name, p[i].name);
		return EXIT_OK;
	}
	if (argc != 2)
		return usage_error(usage_profiles, "%s", "list | enable|disable|delete ICCID");
	int result, r;
	if (strcmp(argv[0], "enable") == 0)
		r = dp_lpa_profile_enable(c->l, argv[1], &result);
	else if (strcmp(argv[0], "disable") == 0)
		r = dp_lpa_profile_disable(c->l, argv[1], &result);
	else if (strcmp(argv[0], "delete") == 0)
		r = dp_lpa_profile_delete(c->l, argv[1], &result);
	else
		return usage_error(usage_profiles, "unknown profiles command %s", argv[0]);
	if (r == DP_ERR_INVAL)
		return usage_error(usage_profiles, "%s", dp_err_detail());
	return r == DP_OK ? EXIT_OK : report(c, r, argv[0]);
}

static int cmd_cancel(struct cli *c, int argc, char **argv)
{
	const char *reason = NULL, *smdp = NULL, *tid = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(usage_cancel, stdout);
			return EXIT_OK;
		}
		if (i + 1 >= argc)
			return usage_error(usage_cancel, "%s needs a value (or is unknown)",
					   argv[i]);
		const char **slot = strcmp(argv[i], "--reason") == 0 ? &reason
				    : strcmp(argv[i], "--smdp") == 0 ? &smdp
				    : strcmp(argv[i], "--tid") == 0  ? &tid
								     : NULL;
		if (slot == NULL)
			return usage_error(usage_cancel, "unknown option %s", argv[i]);
		*slot = argv[++i];
	}
	char *end, path[1024], addr[256], hex[64];
	if (reason == NULL)
		return usage_error(usage_cancel, "%s", "--reason N is required");
	errno = 0;
	long n = strtol(reason, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0 || n > 127)
		return usage_error(usage_cancel, "bad --reason %s", reason);
	if ((smdp == NULL) != (tid == NULL))
		return usage_error(usage_cancel, "%s", "--smdp and --tid go together");
	if (smdp == NULL) {
		FILE *f = session_file(c, path, sizeof(path)) == 0 ? fopen(path, "r") : NULL;
		int got = f != NULL ? fscanf(f, "%255s %63s", addr, hex) : 0;
		if (f != NULL)
			fclose(f);
		if (got != 2)
			return usage_error(usage_cancel, "%s",
					   "no stopped download: give --smdp and --tid");
		smdp = addr, tid = hex;
	}
	int r = dp_lpa_set_session(c->l, smdp, tid);
	if (r != DP_OK)
		return usage_error(usage_cancel, "%s", dp_err_detail());
	if ((r = dp_lpa_cancel_session(c->l, (int)n)) != DP_OK)
		return report(c, r, "cancelSession");
	session_forget(c);
	printf("cancelled %s\n", tid);
	return EXIT_OK;
}

static int global_option(struct cli *c, const char *a, const char *v, int *used)
{
	*used = 0;
	if (strcmp(a, "--insecure") == 0) {
		c->o.http.insecure = true;
		return DP_OK;
	}
	if (strcmp(a, "--plain-http") == 0) {
		c->o.http.plain_http = true;
		return DP_OK;
	}
	if (strcmp(a, "--fresh-connection") == 0) {
		c->o.http.fresh_connection = true;
		return DP_OK;
	}
	if (v == NULL)
		return dp_err_set(DP_ERR_USAGE, "%s needs a value (or is unknown)", a);
	*used = 1;
	int taken = dp_euicc_identity_option(&c->id, a, v);
	if (taken != 0)
		return taken < 0 ? taken : DP_OK;
	char *end;
	errno = 0;
	if (strcmp(a, "--euicc-state") == 0) {
		c->state = v;
	} else if (strcmp(a, "--cacert") == 0) {
		c->o.http.ca_file = v;
	} else if (strcmp(a, "--log") == 0) {
		c->log = v;
	} else if (strcmp(a, "--timeout") == 0) {
		long s = strtol(v, &end, 10);
		if (errno != 0 || *end != '\0' || s < 1 || s > 3600)
			return dp_err_set(DP_ERR_USAGE, "--timeout %s", v);
		c->o.http.timeout_ms = s * 1000;
	} else if (strcmp(a, "--time") == 0) {
		c->at = strtoll(v, &end, 10);
		if (errno != 0 || *end != '\0' || c->at <= 0)
			return dp_err_set(DP_ERR_USAGE, "--time %s", v);
	} else {
		return dp_err_set(DP_ERR_USAGE, "unknown option %s", a);
	}
	return DP_OK;
}

static void print_usage(FILE *f)
{
	fputs(usage_main, f);
	fputs(dp_euicc_identity_options_help, f);
}

int main(int argc, char **argv)
{
	struct cli c = {0};
	struct dp_euicc_identity *id = NULL;
	int i = 1, status = EXIT_FAIL, r;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_usage(stdout);
			return EXIT_OK;
		}
		int used;
		if (global_option(&c, argv[i], i + 1 < argc ? argv[i + 1] : NULL, &used) != DP_OK) {
			fprintf(stderr, "lpa: %s\n", dp_err_detail());
			print_usage(stderr);
			return EXIT_USAGE;
		}
		i += used;
	}
	if (i >= argc) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[i++];
	int (*run)(struct cli *, int, char **) = strcmp(cmd, "download") == 0 ? cmd_download
						 : strcmp(cmd, "notifications") == 0
						     ? cmd_notifications
						 : strcmp(cmd, "profiles") == 0 ? cmd_profiles
						 : strcmp(cmd, "cancel") == 0	? cmd_cancel
										: NULL;
	if (run == NULL) {
		fprintf(stderr, "lpa: unknown command %s\n", cmd);
		print_usage(stderr);
		return EXIT_USAGE;
	}
	for (int k = i; k < argc; k++)
		if (strcmp(argv[k], "--help") == 0)
			return run(&c, argc - i, argv + i); /* help needs no eUICC */
	if (dp_log_configure(c.log != NULL ? c.log : "warn,lpa=info") != DP_OK) {
		fprintf(stderr, "lpa: bad --log %s\n", c.log);
		return EXIT_USAGE;
	}
	if ((r = dp_euicc_identity_from_options(&c.id, &id)) != DP_OK) {
		fprintf(stderr, "lpa: eUICC identity: %s: %s\n", dp_strerror(r), dp_err_detail());
		return r == DP_ERR_USAGE ? EXIT_USAGE : EXIT_FAIL;
	}
	r = dp_euicc_new(id, &c.e); /* takes id */
	if (r != DP_OK)
		goto fail;
	if (c.at != 0)
		dp_euicc_set_time(c.e, (time_t)c.at);
	if (c.state != NULL && access(c.state, F_OK) == 0 &&
	    (r = dp_euicc_load(c.e, c.state)) != DP_OK)
		goto fail;
	if ((r = dp_lpa_new(c.e, &c.o, &c.l)) != DP_OK)
		goto fail;
	status = run(&c, argc - i, argv + i);
	if (c.state != NULL && (r = dp_euicc_save(c.e, c.state)) != DP_OK) {
		fprintf(stderr, "lpa: saving %s: %s: %s\n", c.state, dp_strerror(r),
			dp_err_detail());
		if (status == EXIT_OK)
			status = EXIT_FAIL;
	}
	goto out;
fail:
	fprintf(stderr, "lpa: %s: %s\n", dp_strerror(r), dp_err_detail());
	status = EXIT_FAIL;
out:
	dp_lpa_free(c.l);
	dp_euicc_free(c.e);
	return status;
}
