/* The test operator server for HandleDownloadProgressInfo (contract in callback_receiver.h). */
#include "test/integration/support/callback_receiver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pki/base/buf.h"
#include "smdp/es2_callbacks.h"
#include "smdp/http.h"

struct dp_test_receiver {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct dp_test_callback got[DP_TEST_RECEIVER_MAX];
	size_t n, refused;
	unsigned fail_status, fail_times;
	char *cert, *key; /* PEM text */
	uint16_t port;
	struct dp_http_server *srv;
};

static void copy_str(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s != NULL ? s : "");
}

static int on_callback(void *ctx, const struct dp_http_request *req, struct dp_http_response *resp)
{
	struct dp_test_receiver *r = ctx;
	pthread_mutex_lock(&r->mu);
	if (r->fail_times > 0) {
		r->fail_times--;
		r->refused++;
		resp->status = r->fail_status;
	} else if (r->n < DP_TEST_RECEIVER_MAX) {
		struct dp_test_callback *c = &r->got[r->n];
		copy_str(c->path, sizeof(c->path), req->path);
		copy_str(c->content_type, sizeof(c->content_type), req->content_type);
		copy_str(c->admin_protocol, sizeof(c->admin_protocol), req->admin_protocol);
		c->body = calloc(1, req->body_len + 1);
		if (c->body != NULL) {
			memcpy(c->body, req->body, req->body_len);
			r->n++;
		}
		resp->status = c->body != NULL ? 204 : 500;
		pthread_cond_broadcast(&r->cond);
	} else {
		resp->status = 507;
	}
	pthread_mutex_unlock(&r->mu);
	return DP_OK;
}

static const struct dp_http_route routes[] = {
    {DP_ES2_CALLBACK_PATH, "POST", on_callback},
};

static int read_pem(const char *path, char **out)
{
	struct dp_buf b;
	const char *s;
	dp_buf_init(&b, 1 << 20);
	int r = dp_buf_read_file(&b, path);
	if (r == DP_OK)
		r = dp_buf_cstr(&b, &s);
	if (r == DP_OK)
		*out = strdup(s);
	dp_buf_deinit(&b);
	return r;
}

int dp_test_receiver_up(struct dp_test_receiver *r)
{
	struct dp_http_listener_config lc = {
	    .address = "127.0.0.1",
	    .port = r->port,
	    .tls_cert_pem = r->cert,
	    .tls_key_pem = r->key,
	    .threads = 2,
	    .connection_timeout_s = 10,
	    .connection_limit = 64,
	    .body_max = 1 << 20,
	};
	int rc = dp_http_start(&lc, routes, 1, r, &r->srv);
	if (rc == DP_OK)
		r->port = dp_http_port(r->srv);
	return rc;
}

int dp_test_receiver_start(const char *cert_file, const char *key_file, uint16_t port,
			   struct dp_test_receiver **out)
{
	struct dp_test_receiver *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return dp_err_set(DP_ERR_NOMEM, "receiver");
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->port = port;
	int rc = read_pem(cert_file, &r->cert);
	if (rc == DP_OK)
		rc = read_pem(key_file, &r->key);
	if (rc == DP_OK)
		rc = dp_test_receiver_up(r);
	if (rc) {
		dp_test_receiver_free(r);
		return rc;
	}
	*out = r;
	return DP_OK;
}

uint16_t dp_test_receiver_port(const struct dp_test_receiver *r)
{
	return r->port;
}

void dp_test_receiver_url(const struct dp_test_receiver *r, char *out, size_t cap)
{
	snprintf(out, cap, "https://localhost:%u%s", r->port, DP_ES2_CALLBACK_PATH);
}

void dp_test_receiver_down(struct dp_test_receiver *r)
{
	dp_http_stop(r->srv);
	r->srv = NULL;
}

void dp_test_receiver_fail(struct dp_test_receiver *r, unsigned status, unsigned times)
{
	pthread_mutex_lock(&r->mu);
	r->fail_status = status;
	r->fail_times = times;
	pthread_mutex_unlock(&r->mu);
}

size_t dp_test_receiver_count(struct dp_test_receiver *r)
{
	pthread_mutex_lock(&r->mu);
	size_t n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

size_t dp_test_receiver_refused(struct dp_test_receiver *r)
{
	pthread_mutex_lock(&r->mu);
	size_t n = r->refused;
	pthread_mutex_unlock(&r->mu);
	return n;
}

bool dp_test_receiver_wait(struct dp_test_receiver *r, size_t n, unsigned timeout_ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->mu);
	while (r->n < n) {
		if (pthread_cond_timedwait(&r->cond, &r->mu, &dl) != 0)
			break;
	}
	bool ok = r->n >= n;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

const struct dp_test_callback *dp_test_receiver_get(struct dp_test_receiver *r, size_t i)
{
	pthread_mutex_lock(&r->mu);
	const struct dp_test_callback *c = i < r->n ? &r->got[i] : NULL;
	pthread_mutex_unlock(&r->mu);
	return c;
}

void dp_test_receiver_free(struct dp_test_receiver *r)
{
	if (r == NULL)
		return;
	dp_http_stop(r->srv);
	for (size_t i = 0; i < r->n; i++)
		free(r->got[i].body);
	free(r->cert);
	free(r->key);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
