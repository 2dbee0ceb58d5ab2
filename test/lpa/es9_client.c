/* The test LPA's ES9+ client: JSON bodies, the strict response reader, HTTPS by libcurl.
 * SGP.22 6.5 (JSON binding, 6.5.1 headers, 6.5.2 functions); download-path.md 2.1-2.5. */
#include "test/lpa/es9_client.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "pki/asn1/tlv.h"
#include "pki/base/codec.h"

/* ---- request bodies ---- */

int dp_lpa_es9_body(const struct dp_lpa_es9_field *fields, size_t n, struct dp_buf *out)
{
	struct dp_buf text;
	json_t *obj = json_object();
	char *dump = NULL;
	int r = obj == NULL ? DP_ERR_NOMEM : DP_OK;
	dp_buf_init(&text, DP_LPA_ES9_RESPONSE_MAX);
	for (size_t i = 0; i < n && r == DP_OK; i++) {
		const struct dp_lpa_es9_field *f = &fields[i];
		const char *s;
		dp_buf_reset(&text);
		if (f->kind == DP_LPA_ES9_FIELD_STRING) {
			r = dp_buf_append_str(&text, f->value);
		} else if (f->kind == DP_LPA_ES9_FIELD_HEX) {
			r = dp_hex_encode_buf(f->value, f->len, true, &text);
		} else {
			r = dp_b64_encode(f->value, f->len, &text);
		}
		if (r == DP_OK)
			r = dp_buf_cstr(&text, &s);
		/* json_stringn: the value may hold any byte; jansson escapes and checks UTF-8 */
		if (r == DP_OK && json_object_set_new(obj, f->name, json_stringn(s, text.len)) != 0)
			r = dp_err_set(DP_ERR_INVAL, "ES9+ member %s is not valid UTF-8", f->name);
	}
	if (r == DP_OK) {
		dump = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
		r = dump == NULL ? DP_ERR_NOMEM : dp_buf_append_str(out, dump);
	}
	free(dump);
	json_decref(obj);
	dp_buf_deinit(&text);
	return r;
}

/* ---- the response reader ---- */

/* A malformed response, with the detail naming what. */
#define bad(fmt, what) dp_err_set(DP_ERR_LPA_RESPONSE, fmt, what)

/* Copies an optional string member of obj into out (truncated); "" when absent.
 * A member of another type is malformed. */
static int copy_string(json_t *obj, const char *name, char *out, size_t cap, bool required)
{
	json_t *v = json_object_get(obj, name);
	out[0] = '\0';
	if (v == NULL)
		return required ? bad("%s missing", name) : DP_OK;
	if (!json_is_string(v))
		return bad("%s is not a string", name);
	snprintf(out, cap, "%s", json_string_value(v));
	return DP_OK;
}

/* subjectCode / reasonCode: dotted decimal ("8.10.1"). */
static bool code_ok(const char *s)
{
	if (!isdigit((unsigned char)s[0]))
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
			return false;
	return true;
}

/* header.functionExecutionStatus {status, statusCodeData {subjectCode, reasonCode,
 * subjectIdentifier, message}} (SGP.22 6.5.1.4). */
static int read_status(json_t *root, struct dp_lpa_es9_status *st, bool *success)
{
	json_t *header = json_object_get(root, "header");
	if (!json_is_object(header))
		return bad("%s missing or not an object", "header");
	json_t *fes = json_object_get(header, "functionExecutionStatus");
	if (!json_is_object(fes))
		return bad("%s missing or not an object", "header.functionExecutionStatus");
	int r = copy_string(fes, "status", st->status, sizeof(st->status), true);
	if (r != DP_OK)
		return r;
	bool ok = strcmp(st->status, "Executed-Success") == 0 ||
		  strcmp(st->status, "Executed-WithWarning") == 0;
	if (!ok && strcmp(st->status, "Failed") != 0 && strcmp(st->status, "Expired") != 0)
		return bad("unknown status \"%s\"", st->status);
	json_t *scd = json_object_get(fes, "statusCodeData");
	/* statusCodeData is there when the status is not Executed-Success. */
	if (scd == NULL && !ok)
		return bad("%s missing on a refusal", "statusCodeData");
	if (scd != NULL) {
		if (!json_is_object(scd))
			return bad("%s is not an object", "statusCodeData");
		if ((r = copy_string(scd, "subjectCode", st->subject, sizeof(st->subject), true)) !=
			DP_OK ||
		    (r = copy_string(scd, "reasonCode", st->reason, sizeof(st->reason), true)) !=
			DP_OK ||
		    (r = copy_string(scd, "subjectIdentifier", st->subject_id,
				     sizeof(st->subject_id), false)) != DP_OK ||
		    (r = copy_string(scd, "message", st->message, sizeof(st->message), false)) !=
			DP_OK)
			return r;
		if (!code_ok(st->subject))
			return bad("subjectCode \"%s\" is not dotted decimal", st->subject);
		if (!code_ok(st->reason))
			return bad("reasonCode \"%s\" is not dotted decimal", st->reason);
	}
	*success = ok;
	return DP_OK;
}

static int read_member(json_t *root, const struct dp_lpa_es9_member *m, struct dp_buf *out)
{
	json_t *v = json_object_get(root, m->name);
	if (v == NULL)
		return bad("member %s missing", m->name);
	if (!json_is_string(v))
		return bad("member %s is not a string", m->name);
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	int r;
	if (m->kind == DP_LPA_ES9_TID) {
		if (len == 0 || len > 2 * DP_LPA_TID_MAX || len % 2 != 0 ||
		    dp_hex_decode_buf(s, len, out) != DP_OK)
			return bad("member %s is not hex of 1..16 octets", m->name);
		return DP_OK;
	}
	if ((r = dp_b64_decode(s, len, DP_B64_SKIP_SPACE, out)) != DP_OK)
		return dp_err_wrap(DP_ERR_LPA_RESPONSE, "member %s: ", m->name);
	struct dp_tlv t;
	if (out->len > m->max)
		return bad("member %s is too long", m->name);
	if (dp_tlv_expect(out->data, out->len, m->tag, &t) != DP_OK)
		return dp_err_wrap(DP_ERR_LPA_RESPONSE, "member %s is not one TLV %X: ", m->name,
				   (unsigned)m->tag);
	return DP_OK;
}

static bool starts_with_ci(const char *s, const char *prefix)
{
	return s != NULL && strncasecmp(s, prefix, strlen(prefix)) == 0;
}

int dp_lpa_es9_response_parse(const struct dp_lpa_http_response *resp,
			      const struct dp_lpa_es9_member *spec, size_t n, bool allow_204,
			      struct dp_lpa_es9_response *out)
{
	json_t *root = NULL;
	json_error_t jerr;
	bool success = false;
	int r;
	memset(out, 0, sizeof(*out));
	if (n > DP_LPA_ES9_MEMBERS_MAX)
		return dp_err_set(DP_ERR_INVAL, "%zu members", n);
	out->n = n;
	for (size_t i = 0; i < n; i++)
		dp_buf_init(&out->v[i],
			    spec[i].kind == DP_LPA_ES9_TID ? DP_LPA_TID_MAX : spec[i].max);
	if (resp->status == 204 && allow_204) {
		out->no_content = true;
		snprintf(out->st.status, sizeof(out->st.status), "Executed-Success");
		return DP_OK;
	}
	if (resp->status != 200)
		return dp_err_set(resp->status >= 200 && resp->status < 300 ? DP_ERR_LPA_RESPONSE
									    : DP_ERR_LPA_HTTP,
				  "HTTP status %ld", resp->status);
	if (!starts_with_ci(resp->content_type, "application/json"))
		return bad("Content-Type %s is not application/json",
			   resp->content_type ? resp->content_type : "(none)");
	if (!starts_with_ci(resp->admin_protocol, "gsma/rsp/v"))
		return bad("X-Admin-Protocol %s is not gsma/rsp/v*",
			   resp->admin_protocol ? resp->admin_protocol : "(none)");
	root = json_loadb((const char *)resp->body, resp->len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		r = dp_err_set(DP_ERR_LPA_RESPONSE, "JSON: %s at line %d column %d", jerr.text,
			       jerr.line, jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		r = bad("%s", "the body is not a JSON object");
		goto out;
	}
	if ((r = read_status(root, &out->st, &success)) != DP_OK)
		goto out;
	if (!success) {
		r = dp_err_set(DP_ERR_LPA_REFUSED, "%s %s/%s %s", out->st.status, out->st.subject,
			       out->st.reason, out->st.message);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((r = read_member(root, &spec[i], &out->v[i])) != DP_OK)
			goto out;
	r = DP_OK;
out:
	json_decref(root);
	return r;
}

void dp_lpa_es9_response_deinit(struct dp_lpa_es9_response *r)
{
	for (size_t i = 0; i < r->n && i < DP_LPA_ES9_MEMBERS_MAX; i++)
		dp_buf_deinit(&r->v[i]);
	r->n = 0;
}

/* ---- HTTPS transport ---- */

struct dp_lpa_http {
	CURL *curl;
	struct dp_lpa_http_options o;
	char *ca_file; /* owned copy */
	struct curl_slist *headers;
	struct dp_buf body; /* the last response body */
	char content_type[128], admin_protocol[64];
	bool has_content_type, has_admin_protocol;
	char curl_error[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int dp_lpa_http_global_init(void)
{
	pthread_once(&global_once, global_init);
	return global_result == CURLE_OK ? DP_OK
					 : dp_err_set(DP_ERR_LPA_HTTP, "curl_global_init: %s",
						      curl_easy_strerror(global_result));
}

int dp_lpa_http_new(const struct dp_lpa_http_options *o, struct dp_lpa_http **out)
{
	*out = NULL;
	int r = dp_lpa_http_global_init();
	if (r != DP_OK)
		return r;
	struct dp_lpa_http *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return DP_ERR_NOMEM;
	h->o = *o;
	dp_buf_init(&h->body, DP_LPA_ES9_RESPONSE_MAX);
	if (o->ca_file != NULL && (h->ca_file = strdup(o->ca_file)) == NULL) {
		r = DP_ERR_NOMEM;
		goto out;
	}
	h->o.ca_file = h->ca_file;
	static const char *const hdrs[] = {"Content-Type: application/json",
					   "X-Admin-Protocol: gsma/rsp/v2.5.0",
					   "User-Agent: gsma-rsp-lpad", "Expect:"};
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		struct curl_slist *l = curl_slist_append(h->headers, hdrs[i]);
		if (l == NULL) {
			r = DP_ERR_NOMEM;
			goto out;
		}
		h->headers = l;
	}
	if ((h->curl = curl_easy_init()) == NULL) {
		r = dp_err_set(DP_ERR_LPA_HTTP, "curl_easy_init failed");
		goto out;
	}
	*out = h;
	h = NULL;
	r = DP_OK;
out:
	dp_lpa_http_free(h);
	return r;
}

void dp_lpa_http_free(struct dp_lpa_http *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	free(h->ca_file);
	dp_buf_deinit(&h->body);
	free(h);
}

/* Body bytes, bounded by the buffer's maximum (a short count makes curl fail the call). */
static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct dp_lpa_http *h = ctx;
	size_t n = size * nmemb;
	return dp_buf_append(&h->body, p, n) == DP_OK ? n : 0;
}

/* Keeps the value of header `name` (trimmed, truncated to cap). */
static bool take_header(const char *line, size_t n, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return false;
	const char *v = line + nl + 1, *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	snprintf(out, cap, "%.*s", (int)(end - v), v);
	return true;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct dp_lpa_http *h = ctx;
	size_t n = size * nmemb;
	/* A new status line (e.g. after a 100 Continue) starts a new header block. */
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
		h->has_content_type = h->has_admin_protocol = false;
	if (take_header(p, n, "Content-Type", h->content_type, sizeof(h->content_type)))
		h->has_content_type = true;
	if (take_header(p, n, "X-Admin-Protocol", h->admin_protocol, sizeof(h->admin_protocol)))
		h->has_admin_protocol = true;
	return n;
}

/* An SM-DP+ or notification address: host[:port] with host a name, IPv4 or [IPv6]. No
 * characters that would change the URL (/ ? # @ % space). */
static bool address_ok(const char *a)
{
	size_t n = strlen(a);
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)a[i]) && strchr("-.:[]", a[i]) == NULL)
			return false;
	return true;
}

int dp_lpa_http_post(struct dp_lpa_http *h, const char *address, const char *function,
		     const struct dp_buf *body, struct dp_lpa_http_response *resp)
{
	char url[512];
	memset(resp, 0, sizeof(*resp));
	if (!address_ok(address))
		return dp_err_set(DP_ERR_INVAL, "address \"%s\" is not host[:port]", address);
	snprintf(url, sizeof(url), "%s://%s/gsma/rsp2/es9plus/%s",
		 h->o.plain_http ? "http" : "https", address, function);
	dp_buf_reset(&h->body);
	h->has_content_type = h->has_admin_protocol = false;
	h->curl_error[0] = '\0';
	CURL *c = h->curl;
	curl_easy_reset(c); /* keeps the connection cache */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->len ? (const char *)body->data : "");
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_error);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 h->o.connect_timeout_ms > 0 ? h->o.connect_timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->o.timeout_ms > 0 ? h->o.timeout_ms : 120000L);
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, h->o.fresh_connection ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, h->o.fresh_connection ? 1L : 0L);
	if (h->o.insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (h->o.ca_file != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, h->o.ca_file);
	}
	CURLcode cr = curl_easy_perform(c);
	if (cr != CURLE_OK)
		return dp_err_set(DP_ERR_LPA_HTTP, "%s: %s", url,
				  cr == CURLE_WRITE_ERROR ? "response body over the maximum"
				  : h->curl_error[0]	  ? h->curl_error
							  : curl_easy_strerror(cr));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->content_type = h->has_content_type ? h->content_type : NULL;
	resp->admin_protocol = h->has_admin_protocol ? h->admin_protocol : NULL;
	resp->body = h->body.data;
	resp->len = h->body.len;
	return DP_OK;
}
