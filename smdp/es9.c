/* What the ES9+ function files share (contract in es9.h; SGP.22 6.5.1 request and
 * response conventions). */
#include "smdp/es9.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/base/codec.h"
#include "pki/base/log.h"

#define ADMIN_PROTOCOL "gsma/rsp/v2.5.0"
#define JSON_TYPE "application/json;charset=UTF-8"

void dp_es9_reply_init(struct dp_es9_reply *rp, const char *function)
{
	memset(rp, 0, sizeof(*rp));
	rp->function = function;
	rp->members = json_object();
}

int dp_es9_refuse(struct dp_es9_reply *rp, enum dp_es9_status st, const char *fmt, ...)
{
	if (rp->refused)
		return DP_ES9_REFUSED;
	rp->refused = true;
	rp->status = st;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rp->detail, sizeof(rp->detail), fmt, ap);
	va_end(ap);
	return DP_ES9_REFUSED;
}

void dp_es9_reply_tid(struct dp_es9_reply *rp, const uint8_t *tid, size_t n)
{
	if (dp_hex_encode(tid, n, true, rp->tid_hex, sizeof(rp->tid_hex)) != DP_OK)
		rp->tid_hex[0] = '\0';
}

/* A member whose text is base64 or hex: ASCII with nothing to escape, so jansson need not
 * check it as UTF-8 (a BPP is ~20 KB) and write_json need not scan it. */
static int put_plain(struct dp_es9_reply *rp, const char *name, const char *text, size_t n)
{
	json_t *v = json_stringn_nocheck(text, n);
	if (rp->members == NULL || v == NULL || json_object_set_new(rp->members, name, v) != 0)
		return dp_err_set(DP_ERR_NOMEM, "JSON member %s", name);
	if (rp->n_plain < sizeof(rp->plain) / sizeof(rp->plain[0]))
		rp->plain[rp->n_plain++] = v; /* else it is scanned, which is only slower */
	return DP_OK;
}

int dp_es9_put_b64(struct dp_es9_reply *rp, const char *name, const uint8_t *p, size_t n)
{
	struct dp_buf b;
	dp_buf_init(&b, (n + 2) / 3 * 4 + 1);
	int r = dp_b64_encode(p, n, &b);
	if (r == DP_OK)
		r = put_plain(rp, name, (const char *)b.data, b.len);
	dp_buf_deinit(&b);
	return r;
}

int dp_es9_put_tid(struct dp_es9_reply *rp, const uint8_t *tid, size_t n)
{
	char hex[2 * DP_DB_TID_MAX + 1];
	int r = dp_hex_encode(tid, n, true, hex, sizeof(hex));
	if (r)
		return r;
	return put_plain(rp, "transactionId", hex, strlen(hex));
}

static bool is_plain(const struct dp_es9_reply *rp, const json_t *v)
{
	for (size_t i = 0; i < rp->n_plain; i++)
		if (rp->plain[i] == v)
			return true;
	return false;
}

/* v through jansson (compact, ASCII-only), appended to out. */
static int append_dumped(json_t *v, struct dp_buf *out)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
	if (text == NULL)
		return dp_err_set(DP_ERR_NOMEM, "JSON response");
	int r = dp_buf_append_str(out, text);
	free(text);
	return r;
}

/* A JSON string as is when it needs no escaping (base64 and hex: the large members, a
 * BPP of ~20 KB that jansson would copy byte by byte), else through jansson. */
static int append_string(const char *s, size_t n, json_t *v, struct dp_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\')
			return v != NULL ? append_dumped(v, out) : DP_ERR_INVAL;
	}
	int r = dp_buf_append_byte(out, '"');
	if (r == DP_OK)
		r = dp_buf_append(out, s, n);
	if (r == DP_OK)
		r = dp_buf_append_byte(out, '"');
	return r;
}

/* The same bytes as json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII): members in
 * insertion order, "k":v separated by commas. */
static int write_json(const struct dp_es9_reply *rp, json_t *root, struct dp_buf *out)
{
	const char *key;
	json_t *v;
	size_t start = out->len;
	int r = dp_buf_append_byte(out, '{');
	json_object_foreach(root, key, v)
	{
		if (r == DP_OK && out->len > start + 1)
			r = dp_buf_append_byte(out, ',');
		if (r == DP_OK)
			r = append_string(key, strlen(key), NULL, out);
		if (r == DP_OK)
			r = dp_buf_append_byte(out, ':');
		if (r == DP_OK && is_plain(rp, v)) {
			r = dp_buf_append_byte(out, '"');
			if (r == DP_OK)
				r = dp_buf_append(out, json_string_value(v), json_string_length(v));
			if (r == DP_OK)
				r = dp_buf_append_byte(out, '"');
		} else if (r == DP_OK) {
			r = json_is_string(v)
				? append_string(json_string_value(v), json_string_length(v), v, out)
				: append_dumped(v, out);
		}
		if (r)
			break;
	}
	if (r == DP_OK)
		return dp_buf_append_byte(out, '}');
	/* a key that needs escaping (none of ours): jansson writes the whole object */
	out->len = start;
	return r == DP_ERR_INVAL ? append_dumped(root, out) : r;
}

int dp_es9_reply_finish(struct dp_es9_reply *rp, int r, struct dp_http_response *resp)
{
	resp->admin_protocol = ADMIN_PROTOCOL;
	if (r < 0) {
		/* something on our side: logged with its detail, answered with a code */
		dp_log_error(DP_LOG_ES9, "%s tid=%s: %s (%s)", rp->function,
			     rp->tid_hex[0] ? rp->tid_hex : "-", dp_strerror(r), dp_err_detail());
		(void)dp_es9_refuse(rp, DP_ES9_EXECUTION_ERROR, "%s", dp_strerror(r));
	}
	if (rp->refused) {
		struct dp_es9_code c;
		if (dp_es9_code(rp->status, &c) == DP_OK)
			dp_log_info(DP_LOG_ES9, "%s tid=%s: Failed %s/%s %s: %s", rp->function,
				    rp->tid_hex[0] ? rp->tid_hex : "-", c.subject, c.reason,
				    c.message, rp->detail);
		resp->status = 200;
		resp->content_type = JSON_TYPE;
		dp_buf_reset(&resp->body);
		r = dp_es9_failed_json(rp->status, rp->detail[0] ? rp->detail : NULL, &resp->body);
	} else if (rp->no_content) {
		dp_log_info(DP_LOG_ES9, "%s tid=%s: 204", rp->function,
			    rp->tid_hex[0] ? rp->tid_hex : "-");
		resp->status = 204;
		resp->content_type = NULL;
		r = DP_OK;
	} else {
		json_t *hdr = json_pack("{s:{s:s}}", "functionExecutionStatus", "status",
					"Executed-Success");
		if (hdr == NULL || rp->members == NULL ||
		    json_object_set_new(rp->members, "header", hdr) != 0) {
			r = dp_err_set(DP_ERR_NOMEM, "JSON response");
		} else {
			resp->status = 200;
			resp->content_type = JSON_TYPE;
			r = write_json(rp, rp->members, &resp->body);
		}
		if (r == DP_OK)
			dp_log_info(DP_LOG_ES9, "%s tid=%s: Executed-Success", rp->function,
				    rp->tid_hex[0] ? rp->tid_hex : "-");
	}
	json_decref(rp->members);
	rp->members = NULL;
	return r;
}

int dp_es9_parse(struct dp_es9_reply *rp, const struct dp_http_request *req,
		 const struct dp_es9_member *spec, size_t n, struct dp_es9_request *out)
{
	enum dp_es9_status st;
	int r = dp_es9_request_parse(req, spec, n, out, &st);
	if (r == DP_ERR_INVAL)
		return dp_es9_refuse(rp, st, "%s", dp_err_detail());
	if (r)
		return r;
	/* the transactionId, where there is one, names the call in the log */
	for (size_t i = 0; i < n; i++) {
		if (spec[i].kind == DP_ES9_KIND_TID && out->v[i].present)
			dp_es9_reply_tid(rp, out->v[i].bytes.data, out->v[i].bytes.len);
	}
	return DP_OK;
}

int dp_es9_session(struct dp_smdp *smdp, struct dp_es9_reply *rp, const struct dp_buf *tid,
		   unsigned stage_mask, bool allow_expired, struct dp_db_session *s)
{
	if (tid->len > DP_DB_TID_MAX)
		return dp_es9_refuse(rp, DP_ES9_TRANSACTION_ID, "transactionId too long");
	int r = dp_db_session_get(smdp->db, tid->data, tid->len, s);
	if (r == DP_ERR_NOT_FOUND)
		return dp_es9_refuse(rp, DP_ES9_TRANSACTION_ID, "no such session");
	if (r)
		return r;
	if ((stage_mask & (1u << s->stage)) == 0)
		return dp_es9_refuse(rp, DP_ES9_TRANSACTION_ID, "the session %s",
				     s->stage == DP_DB_STAGE_FINISHED ? "has ended"
				     : s->stage < DP_DB_STAGE_AUTHENTICATED
					     ? "is not authenticated yet"
					     : "is past this step");
	if (!allow_expired && s->expires_at < time(NULL))
		return dp_es9_refuse(rp, DP_ES9_TRANSACTION_ID, "the session has expired");
	return DP_OK;
}

int dp_es9_refuse_chain(struct dp_es9_reply *rp, int err, enum dp_cert_role failed)
{
	const char *why = dp_err_detail();
	if (err == DP_ERR_CERT_UNKNOWN_CI)
		return dp_es9_refuse(rp, DP_ES9_EUM_CI_UNKNOWN, "%s", why);
	bool expired = err == DP_ERR_CERT_EXPIRED || err == DP_ERR_CERT_NOT_YET_VALID;
	if (failed == DP_CERT_EUM)
		return dp_es9_refuse(rp, expired ? DP_ES9_EUM_EXPIRED : DP_ES9_EUM_INVALID, "%s",
				     why);
	return dp_es9_refuse(rp, expired ? DP_ES9_EUICC_EXPIRED : DP_ES9_EUICC_INVALID, "%s",
			     why);
}
