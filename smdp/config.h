/* smdp's configuration: one table of options (key, type, default, bounds, one-line
 * description). Loading a YAML file, the command-line overrides, validation,
 * `smdp serve --dump-config` and config/smdp.yaml all come from that table. */
#ifndef DP_SMDP_CONFIG_H
#define DP_SMDP_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "pki/base/error.h"

struct dp_config {
	char *state_dir;               /* holds smdp.db */
	char *listen;                  /* HOST:PORT, [IPv6]:PORT; port 0 = any free port */
	char *tls_cert;                /* PEM: CERT.DPtls (+ chain) */
	char *tls_key;                 /* PEM: its private key */
	bool plain_http;               /* no TLS (behind a TLS-terminating proxy only) */
	unsigned threads;              /* HTTP worker threads */
	unsigned connection_timeout_s; /* idle connections are closed after this */
	unsigned connection_limit;     /* open connections at most */
	unsigned body_max;             /* request body limit in bytes (413 above) */
	char *log;                     /* log levels, e.g. info or info,es9=debug */
	bool log_json;                 /* log as JSON lines */
	/* the SM-DP+ */
	char *smdp_address;            /* our address as LPAs use it; "" = CERT.DPtls's first
					* dNSName and the bound port (omitted when 443) */
	char *pki_dirs;                /* folders in the `smdp pki init` layout, comma-separated */
	char *ci_certs;                /* more trusted CI certificates, comma-separated */
	char *signers;                 /* more DPauth/DPpb: CERT:KEY pairs, comma-separated */
	char *svn_min, *svn_max;       /* eUICC SVN range accepted (X.Y.Z) */
	unsigned session_ttl_s;        /* an ES9+ session expires after this */
	unsigned session_keep_s;       /* ended sessions are kept this long (late PIRs) */
	unsigned order_max_attempts;   /* default download attempts of a new order */
	unsigned cc_max_attempts;      /* default wrong confirmation codes of a new order */
	unsigned order_ttl_s;          /* default lifetime of a new order; 0 = none */
	bool rebind_new_otpk;          /* a new otPK.EUICC in one session binds anew (else
					* 8.2/3.7) */
	bool reuse_on_delete;          /* default: a deleted profile becomes Available */
	bool db_sync_full;             /* sync every commit (false: at checkpoints only) */
	char *endpoints;               /* more ES9+ listeners with their own PKI:
					* LISTEN,TLS_CERT,TLS_KEY,PKI_DIR[,ADDRESS];... */
	/* ES2+.HandleDownloadProgressInfo callbacks (es2_callbacks.h) */
	char *callback_ca_file;        /* CAs verifying the operators' servers; "" = system */
	char *callback_client_cert;    /* our TLS client certificate for them; "" = none */
	char *callback_client_key;
	char *callback_default_url;    /* for owners without an operator URL; "" = none */
	unsigned callback_timeout_s;   /* one callback exchange at most */
	unsigned callback_retry_min_s; /* first retry; doubles per failure ... */
	unsigned callback_retry_max_s; /* ... up to this */
	unsigned callback_keep_s;      /* delivered callbacks are kept this long */
	/* ES2+ operators and their mutual-TLS listener (es2.h, docs/es2plus.md) */
	char *operators_file;          /* YAML of operators; "" = no ES2+ listener */
	char *es2_listen;              /* HOST:PORT of the ES2+ listener (its own port) */
	char *es2_ca_certs;            /* PEM CAs of operator client certificates,
					* comma-separated; "" = the ci-cert.pem of pki_dirs */
};

/* Fills every option with its default. */
int dp_config_init(struct dp_config *c) DP_WUR;
void dp_config_deinit(struct dp_config *c);
/* Reads a YAML mapping of `key: value` from path; errors name file:line:column and key. */
int dp_config_load_file(struct dp_config *c, const char *path) DP_WUR;
/* Sets one option from text (command-line overrides use the same parser and checks). */
int dp_config_set(struct dp_config *c, const char *key, const char *value) DP_WUR;
/* Checks what only the whole configuration can tell (e.g. TLS needs cert and key). */
int dp_config_validate(const struct dp_config *c) DP_WUR;
/* Writes the configuration as a commented YAML file (config/smdp.yaml is this output for
 * the defaults). */
void dp_config_dump(const struct dp_config *c, FILE *out);

#endif
