/* The HTTP(S) front end: libmicrohttpd with a thread pool, TLS through GnuTLS with an
 * ECDSA certificate, bounded request bodies, a route table.
 * Handlers see a whole request (body already accumulated within the cap) and fill a
 * response; they never touch libmicrohttpd. */
#ifndef DP_SMDP_HTTP_H
#define DP_SMDP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"

/* Mutual TLS: called before any handler with the verified client certificate (DER, the
 * leaf); a non-zero return refuses the request with 403. */
typedef int (*dp_http_authorize)(void *ctx, const uint8_t *der, size_t len);

/* Answers held back until what they depend on is on disk (all three NULL: none is).
 * begin runs in the worker thread before each handler and end right after it; end returns
 * a ticket, 0 when the answer may go out at once. Otherwise the connection is suspended
 * (the worker goes on with other connections) and wait is called: it returns 1 when the
 * ticket is settled already, 0 when it will call ready(token, r) once, from any thread;
 * r (or a wait that fails) other than DP_OK replaces the answer with a 503. */
struct dp_http_hold {
	void (*begin)(void *arg);
	uint64_t (*end)(void *arg);
	int (*wait)(void *arg, uint64_t ticket, void (*ready)(void *token, int r), void *token);
	void *arg;
};

struct dp_http_listener_config {
	const char *address;       /* "127.0.0.1", "::1", "0.0.0.0" */
	uint16_t port;             /* 0 = any free port (see dp_http_port) */
	bool plain_http;           /* no TLS (only behind a TLS-terminating proxy) */
	const char *tls_cert_pem;  /* PEM text: DPtls certificate (+ chain) */
	const char *tls_key_pem;   /* PEM text: its private key */
	unsigned threads;          /* thread pool size */
	unsigned connection_timeout_s;
	unsigned connection_limit;
	size_t body_max;           /* larger bodies get 413 before any handler runs */
	/* Mutual TLS (ES2+). NULL: no client certificate is asked for (ES9+). Else the CA
	 * certificates (PEM text) client certificates must chain to. libmicrohttpd only
	 * *requests* a certificate: the handshake succeeds without one, so every request is
	 * checked here before any handler runs: a certificate must have been sent, GnuTLS's
	 * verification of it (chain to these CAs, validity period) must be clean, and
	 * authorize (may be NULL) must accept it; otherwise 403. */
	const char *client_ca_pem;
	dp_http_authorize authorize; /* ctx is the server's ctx */
	struct dp_http_hold hold;
};

struct dp_http_request {
	const char *method;
	const char *path;
	const char *content_type;     /* NULL when absent */
	const char *admin_protocol;   /* X-Admin-Protocol, NULL when absent */
	const uint8_t *body;
	size_t body_len;
	/* the verified client certificate (DER) on a mutual-TLS listener, else NULL */
	const uint8_t *client_cert;
	size_t client_cert_len;
};

struct dp_http_response {
	unsigned status;              /* HTTP status; 200 by default */
	const char *content_type;     /* static string; NULL = no body type */
	const char *admin_protocol;   /* X-Admin-Protocol to send, or NULL */
	struct dp_buf body;           /* capped; freed by the server */
};

/* A handler returns DP_OK after filling resp; any error becomes a coded 4xx/5xx answer
 * written by the server (never a crash). */
typedef int (*dp_http_handler)(void *ctx, const struct dp_http_request *req,
			       struct dp_http_response *resp);

struct dp_http_route {
	const char *path;   /* exact match */
	const char *method; /* "POST"; other methods on the path get 405 */
	dp_http_handler handler;
};

/* Whether a Content-Type is application/json (any case, parameters allowed). */
bool dp_http_is_json(const char *content_type);

struct dp_http_server;

int dp_http_start(const struct dp_http_listener_config *cfg, const struct dp_http_route *routes,
		  size_t n_routes, void *ctx, struct dp_http_server **out) DP_WUR;
uint16_t dp_http_port(const struct dp_http_server *s);
/* Stops listening; the answers held back are let go first (hold.wait must still work). */
void dp_http_stop(struct dp_http_server *s);

#endif
