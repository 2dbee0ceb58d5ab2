/* libmicrohttpd front end (contract in http.h).
 * libmicrohttpd calls the access handler several times per request: once with the
 * headers, once per body chunk, and once at the end; the body is accumulated into a
 * bounded buffer and the route handler runs on the last call. */
#include "smdp/http.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <strings.h>

#include "pki/base/log.h"

/* SGP.22 TLS profile: ECDHE-ECDSA with AES-128 (GCM preferred, CBC-SHA256 allowed) on
 * TLS 1.2, and TLS_AES_128_GCM_SHA256 on TLS 1.3, P-256 only, server order. */
#define TLS_PRIORITIES \
	"NONE:+VERS-TLS1.3:+VERS-TLS1.2:+ECDHE-ECDSA:+AES-128-GCM:+AES-128-CBC:+AEAD:" \
	"+SHA256:+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SHA256:+GROUP-SECP256R1:" \
	"+COMP-NULL:+CTYPE-X509:%SERVER_PRECEDENCE"

struct dp_http_server {
	struct MHD_Daemon *daemon;
	const struct dp_http_route *routes;
	size_t n_routes;
	void *ctx;
	size_t body_max;
	uint16_t port;
	bool mutual_tls;             /* client_ca_pem was given */
	dp_http_authorize authorize;
	struct dp_http_hold hold;
	/* answers being held: counted from before the handler until the held answer is
	 * queued (or its connection ended), so that dp_http_stop lets every one go before
	 * libmicrohttpd stops */
	pthread_mutex_t held_lock;
	pthread_cond_t held_none;
	unsigned n_held;   /* (held_lock) */
	bool stopping;     /* no new holds (held_lock) */
};

struct request_state {
	struct dp_buf body;
	bool too_large;
	const uint8_t *client_cert; /* owned by the TLS session, which outlives the request */
	size_t client_cert_len;
	/* an answer held back (dp_http_hold) until ready() resumes the connection */
	struct dp_http_server *srv;
	struct MHD_Connection *conn;
	struct MHD_Response *held;
	unsigned held_status;
	int held_r;
	/* the handler's log lines, written with the held answer's line (dp_log_batch_take) */
	char *held_log;
	size_t held_log_len;
};

static enum MHD_Result send_simple(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static const struct dp_http_route *find_route(const struct dp_http_server *s, const char *path)
{
	for (size_t i = 0; i < s->n_routes; i++) {
		if (strcmp(s->routes[i].path, path) == 0)
			return &s->routes[i];
	}
	return NULL;
}

/* Whether this request's answer may be held (counted in n_held until hold_done). */
static bool hold_start(struct dp_http_server *s)
{
	if (s->hold.end == NULL)
		return false;
	pthread_mutex_lock(&s->held_lock);
	bool ok = !s->stopping;
	if (ok)
		s->n_held++;
	pthread_mutex_unlock(&s->held_lock);
	if (ok && s->hold.begin != NULL)
		s->hold.begin(s->hold.arg);
	return ok;
}

static void hold_done(struct dp_http_server *s)
{
	pthread_mutex_lock(&s->held_lock);
	if (--s->n_held == 0)
		pthread_cond_broadcast(&s->held_none);
	pthread_mutex_unlock(&s->held_lock);
}

/* hold.wait's ready: from any thread. After the resume the connection goes on (and may
 * end) in its worker, so st is not touched again here. */
static void hold_ready(void *token, int r)
{
	struct request_state *st = token;
	st->held_r = r;
	MHD_resume_connection(st->conn);
}

/* The resumed connection: its held answer, or a 503 when what it depends on could not be
 * made durable. */
static enum MHD_Result answer_held(struct MHD_Connection *c, struct request_state *st,
				   const char *method, const char *url)
{
	struct MHD_Response *mr = st->held;
	st->held = NULL;
	dp_log_batch_put(st->held_log, st->held_log_len);
	st->held_log = NULL;
	enum MHD_Result ret;
	if (st->held_r == DP_OK) {
		ret = MHD_queue_response(c, st->held_status, mr);
		dp_log_info(DP_LOG_HTTP, "%s %s -> %u", method, url, st->held_status);
	} else {
		dp_log_error(DP_LOG_HTTP, "%s %s: %s (the answer was not sent)", method, url,
			     dp_strerror(st->held_r));
		ret = send_simple(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "the server could not answer this request\n");
	}
	MHD_destroy_response(mr);
	hold_done(st->srv);
	return ret;
}

static enum MHD_Result dispatch(struct dp_http_server *s, struct MHD_Connection *c,
				const struct dp_http_route *route, const char *method,
				const char *url, struct request_state *st)
{
	struct dp_http_request req = {
		.method = method,
		.path = url,
		.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_TYPE),
		.admin_protocol = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Admin-Protocol"),
		.body = st->body.data,
		.body_len = st->body.len,
		.client_cert = st->client_cert,
		.client_cert_len = st->client_cert_len,
	};
	struct dp_http_response resp = { .status = 200 };
	dp_buf_init(&resp.body, (size_t)16 << 20);

	bool hold = hold_start(s);
	int r = route->handler(s->ctx, &req, &resp);
	uint64_t ticket = hold ? s->hold.end(s->hold.arg) : 0;
	if (hold && (r != DP_OK || ticket == 0)) {
		hold_done(s);
		hold = false;
	}
	enum MHD_Result ret;
	if (r != DP_OK) {
		/* says nothing of what the handler did: needs no hold */
		dp_log_error(DP_LOG_HTTP, "%s %s: %s (%s)", method, url, dp_strerror(r),
			     dp_err_detail());
		dp_buf_deinit(&resp.body);
		return send_simple(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "the server could not answer this request\n");
	}
	struct MHD_Response *mr = MHD_create_response_from_buffer(
		resp.body.len, resp.body.len ? resp.body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
	dp_buf_deinit(&resp.body);
	if (mr == NULL) {
		if (hold)
			hold_done(s);
		return MHD_NO;
	}
	if (resp.content_type != NULL)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp.content_type);
	if (resp.admin_protocol != NULL)
		MHD_add_response_header(mr, "X-Admin-Protocol", resp.admin_protocol);
	if (hold) {
		/* the worker goes on with other connections; this one comes back to on_request
		 * once ready() resumed it, and answer_held sends it */
		st->srv = s;
		st->conn = c;
		st->held = mr;
		st->held_status = resp.status;
		st->held_r = DP_OK;
		st->held_log = dp_log_batch_take(&st->held_log_len);
		MHD_suspend_connection(c);
		int w = s->hold.wait(s->hold.arg, ticket, hold_ready, st);
		if (w != 0)
			hold_ready(st, w == 1 ? DP_OK : w);
		return MHD_YES;
	}
	ret = MHD_queue_response(c, resp.status, mr);
	MHD_destroy_response(mr);
	dp_log_info(DP_LOG_HTTP, "%s %s -> %u", method, url, resp.status);
	return ret;
}

/* Mutual TLS: the client's certificate, GnuTLS's verdict on it and the authorize hook.
 * libmicrohttpd with HTTPS_MEM_TRUST only requests a certificate, so a client without
 * one, with an expired one or one from another CA has completed the handshake and is
 * refused here (dependencies.md 2.2). why receives the reason for the log. */
static bool client_allowed(struct dp_http_server *s, struct MHD_Connection *c,
			   struct request_state *st, char *why, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL) {
		snprintf(why, cap, "no TLS session");
		return false;
	}
	gnutls_session_t gs = (gnutls_session_t)ci->tls_session;
	unsigned int n = 0, status = 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(gs, &n);
	if (peers == NULL || n == 0) {
		snprintf(why, cap, "no client certificate");
		return false;
	}
	/* chain to the trusted CAs, validity period, and a client-authentication purpose */
	gnutls_typed_vdata_st purpose = { GNUTLS_DT_KEY_PURPOSE_OID,
					  (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0 };
	int rc = gnutls_certificate_verify_peers(gs, &purpose, 1, &status);
	if (rc < 0) {
		snprintf(why, cap, "client certificate: %s", gnutls_strerror(rc));
		return false;
	}
	if (status != 0) {
		gnutls_datum_t text = { NULL, 0 };
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) ==
		    0)
			snprintf(why, cap, "client certificate: %s", (const char *)text.data);
		else
			snprintf(why, cap, "client certificate: verification status 0x%x", status);
		gnutls_free(text.data);
		return false;
	}
	if (s->authorize != NULL && s->authorize(s->ctx, peers[0].data, peers[0].size) != DP_OK) {
		snprintf(why, cap, "%s", dp_err_detail());
		return false;
	}
	st->client_cert = peers[0].data;
	st->client_cert_len = peers[0].size;
	return true;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct dp_http_server *s = cls;
	struct request_state *st = *con_cls;

	if (st == NULL) {
		/* first call: headers only. A declared length over the cap is refused before a
		 * byte of the body is read. */
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > s->body_max) {
			dp_log_warn(DP_LOG_HTTP, "%s %s -> 413 (Content-Length %s over %zu)", method,
				    url, cl, s->body_max);
			return send_simple(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");
		}
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		dp_buf_init(&st->body, s->body_max);
		*con_cls = st;
		char why[256];
		if (s->mutual_tls && !client_allowed(s, c, st, why, sizeof(why))) {
			/* refused before any handler (and before the body is read) */
			dp_log_warn(DP_LOG_HTTP, "%s %s -> 403 (%s)", method, url, why);
			return send_simple(c, MHD_HTTP_FORBIDDEN,
					   "a valid client certificate of a known operator is "
					   "required\n");
		}
		return MHD_YES;
	}
	if (st->held != NULL)
		return answer_held(c, st, method, url);
	if (*upload_data_size > 0) {
		if (!st->too_large && dp_buf_append(&st->body, upload_data, *upload_data_size))
			st->too_large = true; /* keep reading, answer 413 at the end */
		*upload_data_size = 0;
		return MHD_YES;
	}

	const struct dp_http_route *route = find_route(s, url);
	if (route == NULL) {
		dp_log_info(DP_LOG_HTTP, "%s %s -> 404", method, url);
		return send_simple(c, MHD_HTTP_NOT_FOUND, "no such path on this SM-DP+\n");
	}
	if (strcmp(method, route->method) != 0) {
		dp_log_info(DP_LOG_HTTP, "%s %s -> 405", method, url);
		struct MHD_Response *r = MHD_create_response_from_buffer(
			strlen("method not allowed\n"), (void *)"method not allowed\n",
			MHD_RESPMEM_PERSISTENT);
		if (r == NULL)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, route->method);
		enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (st->too_large) {
		dp_log_warn(DP_LOG_HTTP, "%s %s -> 413 (body over %zu bytes)", method, url,
			    s->body_max);
		return send_simple(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");
	}
	return dispatch(s, c, route, method, url, st);
}

/* A request's log lines go out in one write when it is answered (dp_log_batch_begin). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)version;
	dp_log_batch_begin();
	enum MHD_Result ret = handle(cls, c, url, method, upload_data, upload_data_size, con_cls);
	dp_log_batch_end();
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request_state *st = *con_cls;
	if (st != NULL) {
		if (st->held != NULL) { /* resumed, but the connection ended first */
			MHD_destroy_response(st->held);
			hold_done(st->srv);
		}
		dp_log_batch_put(st->held_log, st->held_log_len);
		dp_buf_deinit(&st->body);
		free(st);
		*con_cls = NULL;
	}
}

/* fmt comes from libmicrohttpd: a printf format (so clang's -Wformat-nonliteral is satisfied) */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt,
							   va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	dp_log_warn(DP_LOG_HTTP, "libmicrohttpd: %s", msg);
}

bool dp_http_is_json(const char *ct)
{
	return ct != NULL && strncasecmp(ct, "application/json", 16) == 0 &&
	       (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

static void server_free(struct dp_http_server *s)
{
	pthread_cond_destroy(&s->held_none);
	pthread_mutex_destroy(&s->held_lock);
	free(s);
}

int dp_http_start(const struct dp_http_listener_config *cfg, const struct dp_http_route *routes,
		  size_t n_routes, void *ctx, struct dp_http_server **out)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(cfg->address, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(cfg->port);
		if (inet_pton(AF_INET6, cfg->address, &a->sin6_addr) != 1)
			return dp_err_set(DP_ERR_CONFIG, "listen address '%s' is not an IPv6 address",
					  cfg->address);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(cfg->port);
		if (inet_pton(AF_INET, cfg->address, &a->sin_addr) != 1)
			return dp_err_set(DP_ERR_CONFIG, "listen address '%s' is not an IPv4 address",
					  cfg->address);
	}

	struct dp_http_server *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return dp_err_set(DP_ERR_NOMEM, "http server");
	s->routes = routes;
	s->n_routes = n_routes;
	s->ctx = ctx;
	s->body_max = cfg->body_max;
	s->mutual_tls = cfg->client_ca_pem != NULL;
	s->authorize = cfg->authorize;
	s->hold = cfg->hold;
	pthread_mutex_init(&s->held_lock, NULL);
	pthread_cond_init(&s->held_none, NULL);

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (s->hold.end != NULL)
		flags |= MHD_ALLOW_SUSPEND_RESUME;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem opts[16];
	size_t n = 0;
	/* the logger first, so that libmicrohttpd reports even option errors through it */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
					     cfg->connection_timeout_s, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, cfg->connection_limit,
					     NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
					     (intptr_t)on_completed, NULL };
	if (!cfg->plain_http) {
		if (cfg->tls_cert_pem == NULL || cfg->tls_key_pem == NULL) {
			server_free(s);
			return dp_err_set(DP_ERR_CONFIG, "TLS needs a certificate and a key");
		}
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
						     (void *)cfg->tls_cert_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
						     (void *)cfg->tls_key_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						     (void *)TLS_PRIORITIES };
		/* asks for (but does not demand) a client certificate: see client_allowed */
		if (cfg->client_ca_pem != NULL)
			opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0,
							     (void *)cfg->client_ca_pem };
	} else if (cfg->client_ca_pem != NULL) {
		server_free(s);
		return dp_err_set(DP_ERR_CONFIG, "client certificates need TLS (not plain HTTP)");
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
				     MHD_OPTION_END);
	if (s->daemon == NULL) {
		server_free(s);
		return dp_err_set(DP_ERR_CONFIG,
				  "cannot listen on %s port %u (address in use, or the TLS "
				  "certificate/key was refused)",
				  cfg->address, cfg->port);
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon,
							       MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : cfg->port;
	*out = s;
	return DP_OK;
}

uint16_t dp_http_port(const struct dp_http_server *s)
{
	return s->port;
}

void dp_http_stop(struct dp_http_server *s)
{
	if (s == NULL)
		return;
	/* libmicrohttpd must not stop with a connection suspended: from now on answers are not
	 * held (the handlers wait for the disk themselves), and the held ones are let go */
	pthread_mutex_lock(&s->held_lock);
	s->stopping = true;
	while (s->n_held > 0)
		pthread_cond_wait(&s->held_none, &s->held_lock);
	pthread_mutex_unlock(&s->held_lock);
	MHD_stop_daemon(s->daemon);
	server_free(s);
}
