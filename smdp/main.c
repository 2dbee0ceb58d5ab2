/* smdp: the SM-DP+ daemon and its admin commands. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pki/asn1/asn1.h"
#include "pki/base/buf.h"
#include "pki/base/log.h"
#include "pki/base/secure.h"
#include "pki/crypto/testpki.h"
#include "smdp/admin.h"
#include "smdp/config.h"
#include "smdp/db.h"
#include "smdp/es2_callbacks.h"
#include "smdp/es2_routes.h"
#include "smdp/es9_routes.h"
#include "smdp/http.h"
#include "smdp/server.h"

#define EXIT_USAGE 2
#define PEM_MAX (256 * 1024)

static const char usage_main[] =
	"usage: smdp <command> [options]\n"
	"\n"
	"commands:\n"
	"  serve     run the SM-DP+ (ES9+ over HTTPS; ES2+ with mutual TLS when an operators\n"
	"            file is configured)\n"
	"  pki       test PKI: create a CI and issue EUM, eUICC, DPauth, DPpb, DPtls and\n"
	"            operator certificates ('smdp pki --help')\n"
	"  profile   import, list, show, reset, retire profiles ('smdp profile --help')\n"
	"  order     create download orders with activation code and QR code, list them\n"
	"  session   list open ES9+ sessions\n"
	"  version   print the version\n"
	"  help      this text; 'smdp <command> --help' for a command's options\n";

static const char usage_serve[] =
	"usage: smdp serve [--config FILE] [options]\n"
	"\n"
	"  --config FILE        YAML file of options (see config/smdp.yaml); the options\n"
	"                       below override it\n"
	"  --dump-config        print the effective configuration as YAML and exit\n"
	"  --state-dir DIR      folder holding smdp.db (created when missing)\n"
	"                       default: ./smdp-state\n"
	"  --listen HOST:PORT   address to listen on; PORT 0 picks a free port\n"
	"                       default: 127.0.0.1:8443 ([::1]:8443 for IPv6)\n"
	"  --tls-cert FILE      PEM certificate of the server (CERT.DPtls)\n"
	"  --tls-key FILE       PEM private key of that certificate\n"
	"  --plain-http         serve plain HTTP (only behind a TLS-terminating proxy)\n"
	"  --threads N          worker threads (default 2)\n"
	"  --log SPEC           log levels, e.g. info or info,es9=debug (default info)\n"
	"  --log-json           log as JSON lines\n"
	"  --pki-dir DIR        a folder made by 'smdp pki init' (CI, DPauth, DPpb); may be\n"
	"                       given twice (e.g. a NIST and a Brainpool set)\n"
	"  --smdp-address ADDR  the SM-DP+ address LPAs use (default: the DPtls dNSName and\n"
	"                       the port, e.g. localhost:8443)\n"
	"  --set KEY=VALUE      any option of config/smdp.yaml, e.g. --set session_ttl_s=60\n"
	"  --endpoint LISTEN,TLS_CERT,TLS_KEY,PKI_DIR[,ADDRESS]\n"
	"                       one more ES9+ listener with its own DPauth/DPpb set (e.g. a\n"
	"                       Brainpool one; its TLS certificate must be NIST: GnuTLS has\n"
	"                       no Brainpool curves); may be repeated\n"
	"\n"
	"ES2+ for operators: --set operators_file=FILE --set es2_listen=HOST:PORT (own\n"
	"listener with mutual TLS; docs/es2plus.md); progress callbacks: callback_* options.\n"
	"\n"
	"On start it prints one line 'smdp: ready ... address=ADDR port=N [es2_port=N]' on\n"
	"stdout (then one 'smdp: endpoint ...' line per --endpoint); SIGTERM or SIGINT stop it\n"
	"cleanly.\n";

static int read_text_file(const char *path, char **out)
{
	struct dp_buf b;
	const char *s;
	dp_buf_init_secret(&b, PEM_MAX);
	int r = dp_buf_read_file(&b, path);
	if (r == DP_OK)
		r = dp_buf_cstr(&b, &s);
	if (r) {
		dp_buf_deinit(&b);
		return r;
	}
	*out = (char *)dp_buf_take(&b, NULL);
	return DP_OK;
}

/* "127.0.0.1:8443", "[::1]:0", "localhost:8443" is refused (give an address). */
static int parse_listen(const char *s, char *addr, size_t cap, uint16_t *port)
{
	const char *colon;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end[1] != ':')
			return dp_err_set(DP_ERR_USAGE, "--listen '%s': expected [IPv6]:PORT", s);
		if ((size_t)(end - s - 1) >= cap)
			return dp_err_set(DP_ERR_USAGE, "--listen '%s': address too long", s);
		memcpy(addr, s + 1, (size_t)(end - s - 1));
		addr[end - s - 1] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= cap || colon == s)
			return dp_err_set(DP_ERR_USAGE, "--listen '%s': expected HOST:PORT", s);
		memcpy(addr, s, (size_t)(colon - s));
		addr[colon - s] = '\0';
	}
	char *end;
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 0 || p > 65535)
		return dp_err_set(DP_ERR_USAGE, "--listen '%s': port must be 0..65535", s);
	*port = (uint16_t)p;
	return DP_OK;
}

/* --pki-dir adds to the list the file may already hold */
static int append_list(struct dp_config *cfg, const char *key, const char *list,
		       const char *item, char sep)
{
	char joined[8192];
	if ((size_t)snprintf(joined, sizeof(joined), "%s%.*s%s", list, list[0] ? 1 : 0, &sep,
			     item) >= sizeof(joined))
		return dp_err_set(DP_ERR_USAGE, "%s: too long", key);
	return dp_config_set(cfg, key, joined);
}

/* --set KEY=VALUE: any option of the table (config/smdp.yaml) */
static int set_pair(struct dp_config *cfg, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[64];
	if (eq == NULL || (size_t)(eq - kv) >= sizeof(key))
		return dp_err_set(DP_ERR_USAGE, "--set '%s': expected KEY=VALUE", kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	return dp_config_set(cfg, key, eq + 1);
}

/* A further ES9+ listener with its own PKI (config `endpoints`), sharing the database. */
#define ENDPOINTS_MAX 8
struct endpoint {
	struct dp_smdp smdp;
	struct dp_http_server *srv;
	char *cert_pem, *key_pem;
	char addr[64];
};

static void endpoint_stop(struct endpoint *e)
{
	dp_http_stop(e->srv);
	dp_ci_store_free(e->smdp.ci);
	dp_free_secret_str(e->key_pem);
	free(e->cert_pem);
}

/* "LISTEN,TLS_CERT,TLS_KEY,PKI_DIR[,ADDRESS]": starts it like the main listener. */
static int endpoint_start(const struct dp_config *cfg, const struct dp_smdp *main_smdp,
			  const struct dp_http_listener_config *main_lc, char *spec,
			  struct endpoint *e)
{
	char *field[5] = { 0 };
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(spec, ",", &save); t != NULL && n < 5;
	     t = strtok_r(NULL, ",", &save))
		field[n++] = t;
	if (n < 4)
		return dp_err_set(DP_ERR_CONFIG, "endpoints: '%s' is not "
						 "LISTEN,TLS_CERT,TLS_KEY,PKI_DIR[,ADDRESS]", spec);
	struct dp_http_listener_config lc = *main_lc;
	lc.address = e->addr;
	int r = parse_listen(field[0], e->addr, sizeof(e->addr), &lc.port);
	if (r == DP_OK)
		r = read_text_file(field[1], &e->cert_pem);
	if (r == DP_OK)
		r = read_text_file(field[2], &e->key_pem);
	if (r)
		return dp_err_wrap(DP_ERR_CONFIG, "endpoints: ");
	lc.plain_http = false;
	lc.tls_cert_pem = e->cert_pem;
	lc.tls_key_pem = e->key_pem;
	/* its own PKI: a copy of the configuration naming only this folder */
	struct dp_config only = *cfg;
	only.pki_dirs = field[3];
	only.ci_certs = "";
	only.signers = "";
	only.smdp_address = n == 5 ? field[4] : "";
	e->smdp = *main_smdp;
	e->smdp.ci = NULL;
	r = dp_smdp_load_pki(&only, &e->smdp.ci, e->smdp.oid);
	if (r)
		return r;
	size_t n_routes;
	const struct dp_http_route *routes = dp_es9_routes(&n_routes);
	r = dp_http_start(&lc, routes, n_routes, &e->smdp, &e->srv);
	if (r == DP_OK)
		r = dp_smdp_address(&only, e->cert_pem, dp_http_port(e->srv), e->smdp.address);
	if (r)
		return r;
	printf("smdp: endpoint https://%s:%u%s address=%s port=%u\n", e->addr,
	       dp_http_port(e->srv), DP_ES9_PREFIX, e->smdp.address, dp_http_port(e->srv));
	return DP_OK;
}

/* Answers wait for their commits' log sync without holding a worker thread
 * (dp_http_hold over the database's deferred durability). */
static void hold_begin(void *db)
{
	dp_db_defer_begin(db);
}

static uint64_t hold_end(void *db)
{
	return dp_db_defer_end(db);
}

static int hold_wait(void *db, uint64_t ticket, void (*ready)(void *token, int r), void *token)
{
	return dp_db_when_durable(db, ticket, ready, token);
}

/* ES2+ progress callbacks go to the operator that owns the profile (operators file). */
static const char *operator_callback_url(void *ctx, const char *owner)
{
	const struct dp_operator *op = dp_operators_by_id(ctx, owner);
	return op != NULL ? op->callback_url : NULL;
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "dump-config", no_argument, NULL, 'D' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "plain-http", no_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "log", required_argument, NULL, 'L' },
		{ "log-json", no_argument, NULL, 'J' },
		{ "pki-dir", required_argument, NULL, 'P' },
		{ "smdp-address", required_argument, NULL, 'A' },
		{ "set", required_argument, NULL, 'S' },
		{ "endpoint", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dp_config cfg;
	char addr[64];
	struct dp_http_listener_config lc = { .address = addr };
	char *cert_pem = NULL, *key_pem = NULL;
	struct dp_db *db = NULL;
	struct dp_http_server *srv = NULL;
	struct dp_http_server *es2_srv = NULL; /* ES2+: its own port, mutual TLS */
	struct dp_http_listener_config es2_lc;
	char es2_addr[64], es2_note[32] = "", *es2_ca = NULL;
	struct dp_es2_callbacks *callbacks = NULL;
	struct dp_smdp smdp = { .cfg = &cfg };
	struct endpoint endpoints[ENDPOINTS_MAX];
	size_t n_endpoints = 0;
	char *endpoint_specs = NULL;
	bool dump = false;
	int r, c;

	r = dp_config_init(&cfg);
	if (r)
		goto out;
	/* the file first, whatever its position, so that command-line options override it */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			r = dp_config_load_file(&cfg, argv[i + 1]);
		else if (strncmp(argv[i], "--config=", 9) == 0)
			r = dp_config_load_file(&cfg, argv[i] + 9);
		if (r)
			goto out;
	}
	optind = 1;
	while (r == DP_OK && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'C': break;
		case 'D': dump = true; break;
		case 's': r = dp_config_set(&cfg, "state_dir", optarg); break;
		case 'l':
			r = parse_listen(optarg, addr, sizeof(addr), &lc.port);
			if (r == DP_OK)
				r = dp_config_set(&cfg, "listen", optarg);
			break;
		case 'c': r = dp_config_set(&cfg, "tls_cert", optarg); break;
		case 'k': r = dp_config_set(&cfg, "tls_key", optarg); break;
		case 'p': r = dp_config_set(&cfg, "plain_http", "true"); break;
		case 't': r = dp_config_set(&cfg, "threads", optarg); break;
		case 'L': r = dp_config_set(&cfg, "log", optarg); break;
		case 'J': r = dp_config_set(&cfg, "log_json", "true"); break;
		case 'P': r = append_list(&cfg, "pki_dirs", cfg.pki_dirs, optarg, ','); break;
		case 'A': r = dp_config_set(&cfg, "smdp_address", optarg); break;
		case 'S': r = set_pair(&cfg, optarg); break;
		case 'E': r = append_list(&cfg, "endpoints", cfg.endpoints, optarg, ';'); break;
		case 'h': fputs(usage_serve, stdout); dp_config_deinit(&cfg); return 0;
		default: r = dp_err_set(DP_ERR_USAGE, "see 'smdp serve --help'"); break;
		}
		if (r == DP_ERR_CONFIG)
			r = dp_err_set(DP_ERR_USAGE, "%s", dp_err_detail());
	}
	if (r == DP_OK && optind < argc)
		r = dp_err_set(DP_ERR_USAGE, "unexpected argument '%s'", argv[optind]);
	if (r)
		goto out;
	if (dump) {
		dp_config_dump(&cfg, stdout);
		goto out;
	}
	r = parse_listen(cfg.listen, addr, sizeof(addr), &lc.port);
	if (r == DP_ERR_USAGE)
		r = dp_err_set(DP_ERR_CONFIG, "listen: %s", dp_err_detail());
	if (r == DP_OK)
		r = dp_config_validate(&cfg);
	if (r == DP_OK && dp_log_configure(cfg.log) != DP_OK)
		r = dp_err_set(DP_ERR_CONFIG, "log: %s", dp_err_detail());
	if (r)
		goto out;
	dp_log_set_json(cfg.log_json);
	lc.plain_http = cfg.plain_http;
	lc.threads = cfg.threads;
	lc.connection_timeout_s = cfg.connection_timeout_s;
	lc.connection_limit = cfg.connection_limit;
	lc.body_max = cfg.body_max;

	r = dp_asn1_init();
	if (r)
		goto out;
	if (mkdir(cfg.state_dir, 0700) != 0 && errno != EEXIST) {
		r = dp_err_set(DP_ERR_IO, "cannot create %s: %s", cfg.state_dir, strerror(errno));
		goto out;
	}
	char db_path[PATH_MAX];
	snprintf(db_path, sizeof(db_path), "%s/smdp.db", cfg.state_dir);
	r = dp_db_open(db_path, &db);
	if (r == DP_OK)
		r = dp_db_set_synchronous(db, cfg.db_sync_full);
	if (r)
		goto out;
	lc.hold = (struct dp_http_hold){ hold_begin, hold_end, hold_wait, db };
	if (!lc.plain_http) {
		r = read_text_file(cfg.tls_cert, &cert_pem);
		if (r == DP_OK)
			r = read_text_file(cfg.tls_key, &key_pem);
		if (r)
			goto out;
		lc.tls_cert_pem = cert_pem;
		lc.tls_key_pem = key_pem;
	}
	/* keys and certificates are parsed here, once */
	smdp.db = db;
	r = dp_smdp_parse_svn(cfg.svn_min, smdp.svn_min);
	if (r == DP_OK)
		r = dp_smdp_parse_svn(cfg.svn_max, smdp.svn_max);
	if (r == DP_OK)
		r = dp_smdp_load_pki(&cfg, &smdp.ci, smdp.oid);
	if (r)
		goto out;
	/* ES2+ operators (an empty registry without operators_file) */
	r = dp_operators_load(cfg.operators_file, &smdp.operators);
	if (r)
		goto out;
	/* ES2+ progress callbacks: queued by the order book's change hook, sent by their own
	 * thread (started below, before the first request) */
	struct dp_es2_callbacks_options cbo = {
		.requester = smdp.oid,
		.url_of = operator_callback_url,
		.url_ctx = smdp.operators,
		.default_url = cfg.callback_default_url,
		.ca_file = cfg.callback_ca_file,
		.client_cert = cfg.callback_client_cert,
		.client_key = cfg.callback_client_key,
		.timeout_s = cfg.callback_timeout_s,
		.retry_min_s = cfg.callback_retry_min_s,
		.retry_max_s = cfg.callback_retry_max_s,
		.keep_s = cfg.callback_keep_s,
	};
	r = dp_es2_callbacks_new(db, &cbo, &callbacks);
	if (r == DP_OK)
		r = dp_es2_callbacks_start(callbacks);
	if (r)
		goto out;

	/* Block the stop signals before the server threads start, so only sigwait sees them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	size_t n_routes;
	const struct dp_http_route *routes = dp_es9_routes(&n_routes);
	r = dp_http_start(&lc, routes, n_routes, &smdp, &srv);
	if (r)
		goto out;
	/* the address needs the bound port; handlers only run once a client has it */
	r = dp_smdp_address(&cfg, cert_pem, dp_http_port(srv), smdp.address);
	if (r)
		goto out;
	/* ES2+ on its own port with mutual TLS: the ES9+ port never asks a device for a
	 * client certificate (docs/es2plus.md) */
	if (cfg.operators_file[0] != '\0') {
		es2_lc = lc;
		es2_lc.address = es2_addr;
		r = parse_listen(cfg.es2_listen, es2_addr, sizeof(es2_addr), &es2_lc.port);
		if (r == DP_ERR_USAGE)
			r = dp_err_set(DP_ERR_CONFIG, "es2_listen: %s", dp_err_detail());
		if (r == DP_OK)
			r = dp_es2_listen(&smdp, &es2_lc, &es2_ca, &es2_srv);
		if (r)
			goto out;
		snprintf(es2_note, sizeof(es2_note), " es2_port=%u", dp_http_port(es2_srv));
	}
	const char *scheme = lc.plain_http ? "http" : "https";
	const char *lb = strchr(addr, ':') ? "[" : "", *rb = strchr(addr, ':') ? "]" : "";
	dp_log_info(DP_LOG_MAIN, "database %s (SQLite, WAL)", db_path);
	dp_log_info(DP_LOG_MAIN, "SM-DP+ address %s, OID %s, %zu CI(s)", smdp.address, smdp.oid,
		    dp_ci_store_count(smdp.ci));
	printf("smdp: ready %s://%s%s%s:%u%s address=%s port=%u%s\n", scheme, lb, addr, rb,
	       dp_http_port(srv), DP_ES9_PREFIX, smdp.address, dp_http_port(srv), es2_note);
	endpoint_specs = strdup(cfg.endpoints);
	if (endpoint_specs == NULL) {
		r = dp_err_set(DP_ERR_NOMEM, "endpoints");
		goto out;
	}
	for (char *save = NULL, *t = strtok_r(endpoint_specs, ";", &save); t != NULL;
	     t = strtok_r(NULL, ";", &save)) {
		if (n_endpoints == ENDPOINTS_MAX) {
			r = dp_err_set(DP_ERR_CONFIG, "endpoints: at most %d", ENDPOINTS_MAX);
			goto out;
		}
		memset(&endpoints[n_endpoints], 0, sizeof(endpoints[0]));
		r = endpoint_start(&cfg, &smdp, &lc, t, &endpoints[n_endpoints++]);
		if (r)
			goto out;
	}
	fflush(stdout);

	/* wait for a stop signal; meanwhile end expired sessions (pool claims go back) */
	int sig = 0;
	for (;;) {
		struct timespec tick = { .tv_sec = 30 };
		sig = sigtimedwait(&stop, NULL, &tick);
		if (sig > 0)
			break;
		size_t n = 0;
		if (dp_db_session_expire(db, time(NULL), (time_t)cfg.session_keep_s, &n) != DP_OK)
			dp_log_warn(DP_LOG_DB, "session expiry: %s", dp_err_detail());
		else if (n > 0)
			dp_log_info(DP_LOG_ES9, "%zu session(s) expired", n);
	}
	dp_log_info(DP_LOG_MAIN, "signal %d: stopping", sig);
	r = DP_OK;
out:
	for (size_t i = 0; i < n_endpoints; i++)
		endpoint_stop(&endpoints[i]);
	free(endpoint_specs);
	dp_http_stop(es2_srv);
	free(es2_ca);
	dp_http_stop(srv);
	dp_es2_callbacks_free(callbacks);
	dp_operators_free(smdp.operators);
	dp_ci_store_free(smdp.ci);
	if (db != NULL) {
		uint64_t commits, syncs;
		dp_db_sync_stats(db, &commits, &syncs);
		dp_log_info(DP_LOG_DB, "%llu durable commit(s) in %llu log sync(s)",
			    (unsigned long long)commits, (unsigned long long)syncs);
	}
	dp_db_close(db);
	dp_free_secret_str(key_pem);
	free(cert_pem);
	dp_config_deinit(&cfg);
	if (r) {
		fprintf(stderr, "smdp serve: %s: %s\n", dp_strerror(r), dp_err_detail());
		return r == DP_ERR_USAGE ? EXIT_USAGE : 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage_main, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("smdp %s\n", SMDP_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "pki") == 0)
		return dp_testpki_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "profile") == 0)
		return dp_admin_profile_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "order") == 0)
		return dp_admin_order_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "session") == 0)
		return dp_admin_session_main(argc - 1, argv + 1);
	fprintf(stderr, "smdp: unknown command '%s'\n\n%s", argv[1], usage_main);
	return EXIT_USAGE;
}
