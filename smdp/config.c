/* The configuration table and its YAML loader (contract in config.h). */
#include "smdp/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "pki/base/buf.h"
#include "pki/base/log.h"

enum opt_type { OPT_STRING, OPT_UINT, OPT_BOOL };

struct option_def {
	const char *key;
	enum opt_type type;
	size_t offset;
	const char *def;
	unsigned min, max; /* OPT_UINT */
	const char *help;
};

#define OFF(f) offsetof(struct dp_config, f)

/* The one table. Order = order in --dump-config and config/smdp.yaml. */
static const struct option_def options[] = {
	{ "state_dir", OPT_STRING, OFF(state_dir), "smdp-state", 0, 0,
	  "folder holding smdp.db (SQLite, WAL); created when missing" },
	{ "listen", OPT_STRING, OFF(listen), "127.0.0.1:8443", 0, 0,
	  "HOST:PORT or [IPv6]:PORT to listen on; port 0 picks a free port" },
	{ "tls_cert", OPT_STRING, OFF(tls_cert), "", 0, 0,
	  "PEM file: CERT.DPtls, optionally followed by its chain" },
	{ "tls_key", OPT_STRING, OFF(tls_key), "", 0, 0, "PEM file: the private key of tls_cert" },
	{ "plain_http", OPT_BOOL, OFF(plain_http), "false", 0, 0,
	  "serve plain HTTP (only behind a TLS-terminating proxy)" },
	{ "threads", OPT_UINT, OFF(threads), "2", 1, 256, "HTTP worker threads" },
	{ "connection_timeout_s", OPT_UINT, OFF(connection_timeout_s), "30", 1, 3600,
	  "seconds before an idle connection is closed" },
	{ "connection_limit", OPT_UINT, OFF(connection_limit), "4096", 1, 100000,
	  "connections open at once at most" },
	{ "body_max", OPT_UINT, OFF(body_max), "262144", 1024, 16777216,
	  "request body limit in bytes; larger requests get 413 unread" },
	{ "log", OPT_STRING, OFF(log), "info", 0, 0,
	  "log levels: error|warn|info|debug, per group as info,es9=debug,db=warn" },
	{ "log_json", OPT_BOOL, OFF(log_json), "false", 0, 0, "log as JSON lines" },
	{ "smdp_address", OPT_STRING, OFF(smdp_address), "", 0, 0,
	  "the SM-DP+ address LPAs use (activation codes, serverAddress); empty: the first "
	  "dNSName of tls_cert and the bound port" },
	{ "pki_dirs", OPT_STRING, OFF(pki_dirs), "", 0, 0,
	  "folders made by 'smdp pki init' (ci-cert.pem, dpauth-*.pem, dppb-*.pem), "
	  "comma-separated; e.g. one NIST and one Brainpool set" },
	{ "ci_certs", OPT_STRING, OFF(ci_certs), "", 0, 0,
	  "further trusted CI certificates (PEM or DER), comma-separated" },
	{ "signers", OPT_STRING, OFF(signers), "", 0, 0,
	  "further CERT.DPauth / CERT.DPpb with their keys as CERT:KEY, comma-separated" },
	{ "svn_min", OPT_STRING, OFF(svn_min), "2.0.0", 0, 0,
	  "lowest eUICC SVN served (8.8.3/3.1 below)" },
	{ "svn_max", OPT_STRING, OFF(svn_max), "3.255.255", 0, 0,
	  "highest eUICC SVN served (8.8.3/3.1 above)" },
	{ "session_ttl_s", OPT_UINT, OFF(session_ttl_s), "600", 10, 86400,
	  "seconds an ES9+ session may take from initiateAuthentication to its end" },
	{ "session_keep_s", OPT_UINT, OFF(session_keep_s), "604800", 0, 31536000,
	  "seconds an ended session is kept (to accept a late install notification)" },
	{ "order_max_attempts", OPT_UINT, OFF(order_max_attempts), "5", 1, 1000,
	  "download attempts a new order allows (8.8.5/6.4 beyond)" },
	{ "cc_max_attempts", OPT_UINT, OFF(cc_max_attempts), "3", 1, 1000,
	  "wrong confirmation codes a new order allows (8.2.7/6.4 beyond)" },
	{ "order_ttl_s", OPT_UINT, OFF(order_ttl_s), "0", 0, 315360000,
	  "seconds a new order stays valid (8.8.5/4.10 after); 0 = no expiry" },
	{ "rebind_new_otpk", OPT_BOOL, OFF(rebind_new_otpk), "true", 0, 0,
	  "a second getBoundProfilePackage with a new otPK.EUICC binds anew (false: 8.2/3.7)" },
	{ "endpoints", OPT_STRING, OFF(endpoints), "", 0, 0,
	  "more ES9+ listeners, each with its own DPauth/DPpb set (e.g. a Brainpool one): "
	  "LISTEN,TLS_CERT,TLS_KEY,PKI_DIR[,ADDRESS] separated by ';'" },
	{ "db_sync_full", OPT_BOOL, OFF(db_sync_full), "true", 0, 0,
	  "sync the database on every commit, so a committed order survives a power failure "
	  "(false: only at checkpoints; faster, a power failure may lose the last changes)" },
	{ "reuse_on_delete", OPT_BOOL, OFF(reuse_on_delete), "false", 0, 0,
	  "default for new orders: a delete notification makes the profile Available again "
	  "(false: Unavailable)" },
	/* ES2+.HandleDownloadProgressInfo callbacks (es2_callbacks.h, docs/es2plus.md) */
	{ "callback_ca_file", OPT_STRING, OFF(callback_ca_file), "", 0, 0,
	  "PEM CA certificates that verify the operators' callback servers (TLS); empty: the "
	  "system's" },
	{ "callback_client_cert", OPT_STRING, OFF(callback_client_cert), "", 0, 0,
	  "PEM client certificate the SM-DP+ shows to operator servers that ask for one; "
	  "empty: none" },
	{ "callback_client_key", OPT_STRING, OFF(callback_client_key), "", 0, 0,
	  "PEM private key of callback_client_cert" },
	{ "callback_default_url", OPT_STRING, OFF(callback_default_url), "", 0, 0,
	  "HandleDownloadProgressInfo URL (https) for profiles whose owner has no operator "
	  "callback URL; empty: such profiles get no callbacks" },
	{ "callback_timeout_s", OPT_UINT, OFF(callback_timeout_s), "10", 1, 600,
	  "seconds one callback request may take (connect and answer)" },
	{ "callback_retry_min_s", OPT_UINT, OFF(callback_retry_min_s), "5", 1, 86400,
	  "seconds before the first retry of an unacknowledged callback; doubles per failure" },
	{ "callback_retry_max_s", OPT_UINT, OFF(callback_retry_max_s), "3600", 1, 604800,
	  "longest wait between two tries of a callback (retried until a 2xx)" },
	{ "callback_keep_s", OPT_UINT, OFF(callback_keep_s), "604800", 0, 31536000,
	  "seconds a delivered callback stays in the database (for the record)" },
	/* ES2+ operators and their mutual-TLS listener (es2.h, docs/es2plus.md) */
	{ "operators_file", OPT_STRING, OFF(operators_file), "", 0, 0,
	  "YAML file of the ES2+ operators (id, client certificate, callback URL; see "
	  "docs/es2plus.md); empty: no ES2+ listener" },
	{ "es2_listen", OPT_STRING, OFF(es2_listen), "127.0.0.1:8444", 0, 0,
	  "HOST:PORT or [IPv6]:PORT of the ES2+ listener (mutual TLS); port 0 picks a free "
	  "port; never the ES9+ port, which must not ask for client certificates" },
	{ "es2_ca_certs", OPT_STRING, OFF(es2_ca_certs), "", 0, 0,
	  "PEM files of the CAs that issue operator client certificates, comma-separated; "
	  "empty: the ci-cert.pem of each pki_dirs folder" },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))
_Static_assert(N_OPTIONS <= 64, "the duplicate check uses a 64-bit mask");

static const struct option_def *find(const char *key)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		if (strcmp(options[i].key, key) == 0)
			return &options[i];
	}
	return NULL;
}

static int set_value(struct dp_config *c, const struct option_def *o, const char *v)
{
	char *base = (char *)c;
	switch (o->type) {
	case OPT_STRING: {
		char *copy = strdup(v);
		if (copy == NULL)
			return dp_err_set(DP_ERR_NOMEM, "%s", o->key);
		char **slot = (char **)(base + o->offset);
		free(*slot);
		*slot = copy;
		return DP_OK;
	}
	case OPT_UINT: {
		char *end;
		errno = 0;
		unsigned long n = strtoul(v, &end, 10);
		if (*v == '\0' || *v == '-' || *end != '\0' || errno != 0 || n < o->min ||
		    n > o->max)
			return dp_err_set(DP_ERR_CONFIG, "%s: '%s' is not a number in %u..%u", o->key,
					  v, o->min, o->max);
		*(unsigned *)(base + o->offset) = (unsigned)n;
		return DP_OK;
	}
	case OPT_BOOL:
		if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0)
			*(bool *)(base + o->offset) = true;
		else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0)
			*(bool *)(base + o->offset) = false;
		else
			return dp_err_set(DP_ERR_CONFIG, "%s: '%s' is not true or false", o->key, v);
		return DP_OK;
	}
	return dp_err_set(DP_ERR_INTERNAL, "option type");
}

int dp_config_set(struct dp_config *c, const char *key, const char *value)
{
	const struct option_def *o = find(key);
	if (o == NULL)
		return dp_err_set(DP_ERR_CONFIG, "unknown option '%s'", key);
	return set_value(c, o, value);
}

int dp_config_init(struct dp_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < N_OPTIONS; i++) {
		int r = set_value(c, &options[i], options[i].def);
		if (r) {
			dp_config_deinit(c);
			return r;
		}
	}
	return DP_OK;
}

void dp_config_deinit(struct dp_config *c)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		if (options[i].type == OPT_STRING) {
			char **slot = (char **)((char *)c + options[i].offset);
			free(*slot);
			*slot = NULL;
		}
	}
}

int dp_config_load_file(struct dp_config *c, const char *path)
{
	struct dp_buf text;
	yaml_parser_t p;
	yaml_document_t doc;
	bool have_parser = false, have_doc = false;
	int r;

	dp_buf_init(&text, 1 << 20);
	r = dp_buf_read_file(&text, path);
	if (r)
		goto out;
	if (!yaml_parser_initialize(&p)) {
		r = dp_err_set(DP_ERR_NOMEM, "YAML parser");
		goto out;
	}
	have_parser = true;
	yaml_parser_set_input_string(&p, text.data, text.len);
	if (!yaml_parser_load(&p, &doc)) {
		r = dp_err_set(DP_ERR_CONFIG, "%s:%zu:%zu: %s", path, p.problem_mark.line + 1,
			       p.problem_mark.column + 1, p.problem ? p.problem : "invalid YAML");
		goto out;
	}
	have_doc = true;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		r = DP_OK; /* empty file: all defaults */
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		r = dp_err_set(DP_ERR_CONFIG, "%s:%zu:%zu: expected a mapping of option: value",
			       path, root->start_mark.line + 1, root->start_mark.column + 1);
		goto out;
	}
	uint64_t seen = 0;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
		const char *key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value
							      : "?";
		const struct option_def *o = k->type == YAML_SCALAR_NODE ? find(key) : NULL;
		if (o == NULL) {
			r = dp_err_set(DP_ERR_CONFIG, "%s:%zu:%zu: unknown option '%s'", path,
				       k->start_mark.line + 1, k->start_mark.column + 1, key);
			goto out;
		}
		uint64_t bit = UINT64_C(1) << (o - options);
		if (seen & bit) {
			r = dp_err_set(DP_ERR_CONFIG, "%s:%zu:%zu: '%s' given twice", path,
				       k->start_mark.line + 1, k->start_mark.column + 1, key);
			goto out;
		}
		seen |= bit;
		if (v->type != YAML_SCALAR_NODE) {
			r = dp_err_set(DP_ERR_CONFIG, "%s:%zu:%zu: %s: expected a single value", path,
				       v->start_mark.line + 1, v->start_mark.column + 1, key);
			goto out;
		}
		r = set_value(c, o, (const char *)v->data.scalar.value);
		if (r) {
			r = dp_err_wrap(r, "%s:%zu:%zu", path, v->start_mark.line + 1,
					v->start_mark.column + 1);
			goto out;
		}
	}
	r = DP_OK;
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&p);
	dp_buf_deinit(&text);
	return r;
}

int dp_config_validate(const struct dp_config *c)
{
	if (!c->plain_http && (c->tls_cert[0] == '\0' || c->tls_key[0] == '\0'))
		return dp_err_set(DP_ERR_CONFIG, "HTTPS needs tls_cert and tls_key "
						 "(or plain_http: true behind a TLS proxy)");
	if (c->state_dir[0] == '\0')
		return dp_err_set(DP_ERR_CONFIG, "state_dir is empty");
	/* one port cannot both ask ES2+ clients for a certificate and never ask ES9+ ones */
	size_t el = strlen(c->es2_listen);
	bool any_port = el >= 2 && strcmp(c->es2_listen + el - 2, ":0") == 0;
	if (c->operators_file[0] != '\0' && strcmp(c->es2_listen, c->listen) == 0 && !any_port)
		return dp_err_set(DP_ERR_CONFIG, "es2_listen must differ from listen: ES9+ never "
						 "asks for a client certificate");
	if (c->operators_file[0] != '\0' && c->plain_http)
		return dp_err_set(DP_ERR_CONFIG, "ES2+ (operators_file) needs TLS: operators are "
						 "identified by their client certificates");
	if ((c->callback_client_cert[0] == '\0') != (c->callback_client_key[0] == '\0'))
		return dp_err_set(DP_ERR_CONFIG, "callback_client_cert and callback_client_key go "
						 "together");
	if (c->callback_retry_max_s < c->callback_retry_min_s)
		return dp_err_set(DP_ERR_CONFIG, "callback_retry_max_s is below "
						 "callback_retry_min_s");
	if (c->callback_default_url[0] != '\0' &&
	    strncasecmp(c->callback_default_url, "https://", 8) != 0)
		return dp_err_set(DP_ERR_CONFIG, "callback_default_url: callbacks go over https "
						 "only");
	return DP_OK;
}

static void dump_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

void dp_config_dump(const struct dp_config *c, FILE *out)
{
	const char *base = (const char *)c;
	fputs("# smdp configuration (smdp serve --config FILE). Generated by\n"
	      "# 'smdp serve --dump-config'; every option, its default and bounds are below.\n",
	      out);
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct option_def *o = &options[i];
		fprintf(out, "\n# %s\n", o->help);
		if (o->type == OPT_UINT)
			fprintf(out, "# default %s, %u..%u\n", o->def, o->min, o->max);
		else
			fprintf(out, "# default %s%s%s\n", o->type == OPT_STRING ? "\"" : "", o->def,
				o->type == OPT_STRING ? "\"" : "");
		fprintf(out, "%s: ", o->key);
		switch (o->type) {
		case OPT_STRING: dump_string(out, *(char *const *)(base + o->offset)); break;
		case OPT_UINT: fprintf(out, "%u", *(const unsigned *)(base + o->offset)); break;
		case OPT_BOOL:
			fputs(*(const bool *)(base + o->offset) ? "true" : "false", out);
			break;
		}
		fputc('\n', out);
	}
}
