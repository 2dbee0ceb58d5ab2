/* ES2+.HandleDownloadProgressInfo: the reports, the body, the change hook that queues them
 * and the sender thread (contract in es2_callbacks.h; SGP.22 5.3.5;
 * es2-lifecycle-sgp32.md 1.3-1.5). */
#include "smdp/es2_callbacks.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/base/codec.h"
#include "pki/base/log.h"

/* The sender also wakes this often to see callbacks queued by another process on the same
 * database (the admin CLI, a second node). */
#define POLL_S 5
/* Delivered callbacks older than keep_s are purged at most this often. */
#define PURGE_EVERY_S 3600
/* What the operator answers is not read; this much of it is kept for the log. */
#define REPLY_KEEP 512

static const struct dp_es2_code_row {
	const char *subject, *reason, *message;
} progress_codes[] = {
#define DP_X_PROGRESS(id, s, r, m) {s, r, m},
    DP_ES2_PROGRESS_LIST(DP_X_PROGRESS)
#undef DP_X_PROGRESS
};

/* ---- reports ---- */

int dp_es2_report_es9(struct dp_es2_report *rep, enum dp_es2_point point, enum dp_es9_status st)
{
	struct dp_es9_code c;
	int r = dp_es9_code(st, &c);
	if (r)
		return r;
	*rep = (struct dp_es2_report){.point = point,
				      .failed = true,
				      .subject = c.subject,
				      .reason = c.reason,
				      .message = c.message};
	return DP_OK;
}

int dp_es2_report_failed(struct dp_es2_report *rep, enum dp_es2_point point,
			 enum dp_es2_progress st)
{
	if ((int)st < 0 || st >= DP_ES2_PROGRESS_COUNT)
		return dp_err_set(DP_ERR_INVAL, "progress status %d", (int)st);
	*rep = (struct dp_es2_report){.point = point,
				      .failed = true,
				      .subject = progress_codes[st].subject,
				      .reason = progress_codes[st].reason,
				      .message = progress_codes[st].message};
	return DP_OK;
}

enum dp_es2_progress dp_es2_progress_for_cancel(uint64_t reason)
{
	switch (reason) {
	case 0: return DP_ES2_PROGRESS_END_USER_REJECTION;
	case 3: return DP_ES2_PROGRESS_PPR_NOT_ALLOWED;
	case 4: return DP_ES2_PROGRESS_METADATA_MISMATCH;
	case 5: return DP_ES2_PROGRESS_LOAD_BPP_ERROR;
	default: return DP_ES2_PROGRESS_CANCELLED;
	}
}

/* the report of this thread's next state change (borrowed from the handler's frame) */
static _Thread_local const struct dp_es2_report *expected;

void dp_es2_callbacks_expect(const struct dp_es2_report *rep)
{
	expected = rep;
}

/* ---- the body ---- */

static int w3c_time(time_t t, char out[24])
{
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return dp_err_set(DP_ERR_INVAL, "timestamp %lld", (long long)t);
	return DP_OK;
}

/* json_object_set_new that reports a failed allocation (value NULL or the set failing) */
static int put(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		return dp_err_set(DP_ERR_NOMEM, "JSON member %s", key);
	return DP_OK;
}

static int put_status(json_t *root, const struct dp_es2_report *rep)
{
	json_t *st = json_object();
	int r = put(root, "notificationPointStatus", st);
	if (r)
		return r;
	if (!rep->failed)
		return put(st, "status", json_string("Executed-Success"));
	json_t *code = json_object();
	r = put(st, "status", json_string("Failed"));
	if (r == DP_OK)
		r = put(st, "statusCodeData", code);
	if (r == DP_OK)
		r = put(code, "subjectCode", json_string(rep->subject ? rep->subject : "8"));
	if (r == DP_OK)
		r = put(code, "reasonCode", json_string(rep->reason ? rep->reason : "4.2"));
	if (r == DP_OK && rep->message != NULL)
		r = put(code, "message", json_string(rep->message));
	return r;
}

int dp_es2_progress_body(const struct dp_es2_progress_info *p, struct dp_buf *out)
{
	const struct dp_es2_report *rep = p->report;
	char ts[24];
	struct dp_buf b64;
	char *text = NULL;
	dp_buf_init(&b64, 128 * 1024);
	json_t *root = json_object(), *hdr = json_object();
	int r = put(root, "header", hdr);
	if (r == DP_OK)
		r = put(hdr, "functionRequesterIdentifier", json_string(p->requester));
	if (r == DP_OK)
		r = put(hdr, "functionCallIdentifier", json_string(p->call_id));
	if (r == DP_OK && p->eid != NULL && p->eid[0] != '\0')
		r = put(root, "eid", json_string(p->eid));
	if (r == DP_OK)
		r = put(root, "iccid", json_string(p->iccid));
	if (r == DP_OK)
		r = put(root, "profileType", json_string(p->profile_type ? p->profile_type : ""));
	if (r == DP_OK)
		r = w3c_time(p->at, ts);
	if (r == DP_OK)
		r = put(root, "timestamp", json_string(ts));
	if (r == DP_OK)
		r = put(root, "notificationPointId", json_integer(rep->point));
	if (r == DP_OK)
		r = put_status(root, rep);
	if (r == DP_OK && rep->result_data != NULL) {
		const char *s;
		r = dp_b64_encode(rep->result_data, rep->result_len, &b64);
		if (r == DP_OK)
			r = dp_buf_cstr(&b64, &s);
		if (r == DP_OK)
			r = put(root, "resultData", json_string(s));
	}
	if (r)
		goto out;
	text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	r = text != NULL ? dp_buf_append_str(out, text) : dp_err_set(DP_ERR_NOMEM, "JSON body");
out:
	free(text);
	json_decref(root);
	dp_buf_deinit(&b64);
	return r;
}

/* ---- the queue ---- */

struct dp_es2_callbacks {
	struct dp_db *db;
	struct dp_es2_callbacks_options o; /* strings below are copies */
	char *requester, *default_url, *ca_file, *client_cert, *client_key;
	CURL *curl; /* the sender's handle (connections are reused) */
	pthread_t thread;
	bool running;
	pthread_mutex_t mu; /* guards stop and woken */
	pthread_cond_t cond;
	bool stop, woken;
	time_t last_purge;
};

static void wake(struct dp_es2_callbacks *cb)
{
	pthread_mutex_lock(&cb->mu);
	cb->woken = true;
	pthread_cond_signal(&cb->cond);
	pthread_mutex_unlock(&cb->mu);
}

/* functionCallIdentifier: 128 random bits, so that retries and resends carry one value */
static int call_id(char out[40])
{
	uint8_t rnd[16];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return dp_err_set(DP_ERR_CRYPTO, "RAND_bytes");
	memcpy(out, "smdp-", 5);
	return dp_hex_encode(rnd, sizeof(rnd), false, out + 5, 40 - 5);
}

/* The order book's change hook: runs inside the state change's transaction. */
static int on_change(void *ctx, const struct dp_db_change *c, char *url, struct dp_buf *body)
{
	struct dp_es2_callbacks *cb = ctx;
	const struct dp_es2_report *rep = expected;
	if (rep == NULL)
		return DP_OK;
	expected = NULL; /* one report, one state change */
	const char *u = cb->o.url_of != NULL ? cb->o.url_of(cb->o.url_ctx, c->owner) : NULL;
	if (u == NULL || u[0] == '\0')
		u = cb->default_url;
	if (u[0] == '\0') {
		dp_log_debug(DP_LOG_ES2,
			     "profile %s (owner '%s'): no callback URL, point %d not "
			     "reported",
			     c->iccid, c->owner, (int)rep->point);
		return DP_OK;
	}
	if (strlen(u) > DP_DB_URL_MAX)
		return dp_err_set(DP_ERR_TOO_LONG, "callback URL of '%s'", c->owner);
	char id[40];
	int r = call_id(id);
	if (r)
		return r;
	struct dp_es2_progress_info p = {
	    .requester = cb->requester,
	    .call_id = id,
	    .eid = c->eid,
	    .iccid = c->iccid,
	    .profile_type = c->profile_type,
	    .at = c->at,
	    .report = rep,
	};
	r = dp_es2_progress_body(&p, body);
	if (r)
		return r;
	snprintf(url, DP_DB_URL_MAX + 1, "%s", u);
	dp_log_info(DP_LOG_ES2, "profile %s: callback %s queued (notification point %d, %s)",
		    c->iccid, id, (int)rep->point, rep->failed ? "Failed" : "Executed-Success");
	/* the sender's read waits for the database lock, so it sees the committed row */
	wake(cb);
	return DP_OK;
}

static int dup_opt(const char *s, char **out)
{
	*out = strdup(s != NULL ? s : "");
	return *out != NULL ? DP_OK : dp_err_set(DP_ERR_NOMEM, "callback options");
}

int dp_es2_callbacks_new(struct dp_db *db, const struct dp_es2_callbacks_options *o,
			 struct dp_es2_callbacks **out)
{
	struct dp_es2_callbacks *cb = calloc(1, sizeof(*cb));
	if (cb == NULL)
		return dp_err_set(DP_ERR_NOMEM, "callback queue");
	pthread_mutex_init(&cb->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cb->cond, &ca);
	pthread_condattr_destroy(&ca);
	cb->db = db;
	cb->o = *o;
	int r = dup_opt(o->requester, &cb->requester);
	if (r == DP_OK)
		r = dup_opt(o->default_url, &cb->default_url);
	if (r == DP_OK)
		r = dup_opt(o->ca_file, &cb->ca_file);
	if (r == DP_OK)
		r = dup_opt(o->client_cert, &cb->client_cert);
	if (r == DP_OK)
		r = dup_opt(o->client_key, &cb->client_key);
	if (r)
		goto fail;
	if ((cb->client_cert[0] == '\0') != (cb->client_key[0] == '\0')) {
		r = dp_err_set(DP_ERR_CONFIG, "callback_client_cert and callback_client_key go "
					      "together");
		goto fail;
	}
	if (o->retry_min_s == 0 || o->retry_max_s < o->retry_min_s || o->timeout_s == 0) {
		r = dp_err_set(DP_ERR_CONFIG, "callback timeout and retry bounds");
		goto fail;
	}
	/* before any thread of ours runs (curl_global_init is not thread-safe everywhere) */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		r = dp_err_set(DP_ERR_INTERNAL, "curl_global_init");
		goto fail;
	}
	cb->curl = curl_easy_init();
	if (cb->curl == NULL) {
		curl_global_cleanup();
		r = dp_err_set(DP_ERR_NOMEM, "curl handle");
		goto fail;
	}
	dp_db_set_change_hook(db, on_change, cb);
	*out = cb;
	return DP_OK;
fail:
	dp_es2_callbacks_free(cb);
	return r;
}

unsigned dp_es2_callbacks_backoff(const struct dp_es2_callbacks_options *o, unsigned attempts)
{
	unsigned s = o->retry_min_s;
	for (unsigned i = 1; i < attempts && s < o->retry_max_s; i++)
		s = s > o->retry_max_s / 2 ? o->retry_max_s : s * 2;
	return s < o->retry_max_s ? s : o->retry_max_s;
}

/* ---- sending ---- */

struct reply {
	char text[REPLY_KEEP + 1];
	size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct reply *rp = ctx;
	size_t len = size * n, take = REPLY_KEEP - rp->len;
	if (take > len)
		take = len;
	memcpy(rp->text + rp->len, p, take);
	rp->len += take;
	rp->text[rp->len] = '\0';
	return len; /* the rest is read and dropped */
}

/* a stop request ends a send in flight */
static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct dp_es2_callbacks *cb = ctx;
	pthread_mutex_lock(&cb->mu);
	bool stop = cb->stop;
	pthread_mutex_unlock(&cb->mu);
	return stop ? 1 : 0;
}

/* One POST. DP_OK on 2xx; else DP_ERR_IO with why in the detail. */
static int post(struct dp_es2_callbacks *cb, const struct dp_db_callback *c)
{
	CURL *h = cb->curl;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct reply rp = {.len = 0};
	struct curl_slist *hdrs = NULL, *t;
	long status = 0;
	int r;
	const char *body;
	struct dp_buf copy;
	/* the body as a C string (the queue keeps it without a NUL) */
	dp_buf_init(&copy, c->body.len + 1);
	r = dp_buf_append(&copy, c->body.data, c->body.len);
	if (r == DP_OK)
		r = dp_buf_cstr(&copy, &body);
	if (r)
		goto out;
	const char *h_list[] = {"Content-Type: application/json", "Accept: application/json",
				"X-Admin-Protocol: gsma/rsp/v2.5.0"};
	for (size_t i = 0; i < 3; i++) {
		t = curl_slist_append(hdrs, h_list[i]);
		if (t == NULL) {
			r = dp_err_set(DP_ERR_NOMEM, "HTTP headers");
			goto out;
		}
		hdrs = t;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	/* verified TLS only: no plain http, no redirects elsewhere */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cb->ca_file[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, cb->ca_file);
	if (cb->client_cert[0] != '\0') {
		curl_easy_setopt(h, CURLOPT_SSLCERT, cb->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, cb->client_key);
	}
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)c->body.len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "smdp");
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)cb->o.timeout_s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)cb->o.timeout_s);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &rp);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, cb);
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		r = dp_err_set(DP_ERR_IO, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		r = dp_err_set(DP_ERR_IO, "HTTP %ld%s%.200s", status, rp.len ? ": " : "", rp.text);
		goto out;
	}
	r = DP_OK;
out:
	curl_slist_free_all(hdrs);
	dp_buf_deinit(&copy);
	return r;
}

static bool stopping(struct dp_es2_callbacks *cb)
{
	pthread_mutex_lock(&cb->mu);
	bool s = cb->stop;
	pthread_mutex_unlock(&cb->mu);
	return s;
}

int dp_es2_callbacks_run(struct dp_es2_callbacks *cb, time_t now, size_t *sent, size_t *failed)
{
	struct dp_db_callback c;
	size_t n_ok = 0, n_fail = 0;
	int r;
	dp_db_callback_init(&c);
	for (;;) {
		if (stopping(cb)) {
			r = DP_OK;
			break;
		}
		r = dp_db_callback_next(cb->db, now, &c);
		if (r == DP_ERR_NOT_FOUND) {
			r = DP_OK;
			break;
		}
		if (r)
			break;
		int sr = post(cb, &c);
		if (sr == DP_OK) {
			dp_log_info(DP_LOG_ES2,
				    "callback %lld for %s delivered to %s (%u earlier "
				    "tries)",
				    (long long)c.id, c.iccid, c.url, c.attempts);
			r = dp_db_callback_delivered(cb->db, c.id, time(NULL));
			n_ok++;
		} else {
			/* this profile's later callbacks wait behind this one */
			char why[256];
			snprintf(why, sizeof(why), "%s", dp_err_detail());
			unsigned wait = dp_es2_callbacks_backoff(&cb->o, c.attempts + 1);
			dp_log_warn(DP_LOG_ES2,
				    "callback %lld for %s to %s: %s; try %u again in %u s",
				    (long long)c.id, c.iccid, c.url, why, c.attempts + 2, wait);
			r = dp_db_callback_failed(cb->db, c.id, now + (time_t)wait, why);
			n_fail++;
		}
		if (r)
			break;
	}
	dp_db_callback_deinit(&c);
	if (sent != NULL)
		*sent = n_ok;
	if (failed != NULL)
		*failed = n_fail;
	return r;
}

/* Sleeps until `at` (wall clock) or a wake-up, at most POLL_S. */
static void wait_until(struct dp_es2_callbacks *cb, time_t at)
{
	time_t now = time(NULL);
	time_t s = at > now ? at - now : 0;
	if (s > POLL_S)
		s = POLL_S;
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += s;
	pthread_mutex_lock(&cb->mu);
	while (!cb->stop && !cb->woken) {
		if (pthread_cond_timedwait(&cb->cond, &cb->mu, &dl) != 0)
			break;
	}
	cb->woken = false;
	pthread_mutex_unlock(&cb->mu);
}

static void *sender(void *arg)
{
	struct dp_es2_callbacks *cb = arg;
	while (!stopping(cb)) {
		time_t now = time(NULL);
		if (dp_es2_callbacks_run(cb, now, NULL, NULL) != DP_OK)
			dp_log_warn(DP_LOG_ES2, "callback queue: %s", dp_err_detail());
		if (now - cb->last_purge >= PURGE_EVERY_S) {
			size_t n = 0;
			if (dp_db_callback_purge(cb->db, now - (time_t)cb->o.keep_s, &n) != DP_OK)
				dp_log_warn(DP_LOG_ES2, "callback purge: %s", dp_err_detail());
			cb->last_purge = now;
		}
		time_t next = 0;
		int r = dp_db_callback_next_time(cb->db, &next);
		/* nothing queued, or a head that waits for its retry time */
		if (r != DP_OK || next <= now)
			next = now + POLL_S;
		wait_until(cb, next);
	}
	return NULL;
}

int dp_es2_callbacks_start(struct dp_es2_callbacks *cb)
{
	if (cb->running)
		return DP_OK;
	if (pthread_create(&cb->thread, NULL, sender, cb) != 0)
		return dp_err_set(DP_ERR_INTERNAL, "callback sender thread");
	cb->running = true;
	return DP_OK;
}

void dp_es2_callbacks_free(struct dp_es2_callbacks *cb)
{
	if (cb == NULL)
		return;
	if (cb->running) {
		pthread_mutex_lock(&cb->mu);
		cb->stop = true;
		pthread_cond_signal(&cb->cond);
		pthread_mutex_unlock(&cb->mu);
		pthread_join(cb->thread, NULL);
	}
	if (cb->curl != NULL) {
		dp_db_set_change_hook(cb->db, NULL, NULL);
		curl_easy_cleanup(cb->curl);
		curl_global_cleanup();
	}
	free(cb->requester);
	free(cb->default_url);
	free(cb->ca_file);
	free(cb->client_cert);
	free(cb->client_key);
	pthread_cond_destroy(&cb->cond);
	pthread_mutex_destroy(&cb->mu);
	free(cb);
}
