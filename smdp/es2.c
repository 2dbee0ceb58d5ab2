/* What the ES2+ function files share (contract in es2.h; SGP.22 5.3 and the JSON binding
 * 6.5.1: request header, functionExecutionStatus, field formats of es2-lifecycle-sgp32.md
 * 1.2-1.4). */
#include "smdp/es2.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pki/base/log.h"
#include "pki/base/secure.h"
#include "pki/crypto/cert.h"
#include "profilegen/profilegen.h"
#include "smdp/activation.h"

#define ADMIN_PROTOCOL "gsma/rsp/v2.5.0"
#define JSON_TYPE      "application/json;charset=UTF-8"

/* ---- the request reader ---- */

static int refuse(enum dp_es2_status *status, enum dp_es2_status st, const char *fmt, ...)
    DP_PRINTF(3, 4);

static int refuse(enum dp_es2_status *status, enum dp_es2_status st, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*status = st;
	return dp_err_set(DP_ERR_INVAL, "%s", msg);
}

/* Each kind's refusal when the member is malformed, and when it is missing. */
static enum dp_es2_status invalid_status(enum dp_es2_kind k)
{
	switch (k) {
	case DP_ES2_KIND_EID: return DP_ES2_EID_INVALID;
	case DP_ES2_KIND_ICCID: return DP_ES2_ICCID_INVALID;
	case DP_ES2_KIND_MATCHING_ID: return DP_ES2_MATCHING_ID_INVALID;
	case DP_ES2_KIND_CC: return DP_ES2_CC_INVALID;
	case DP_ES2_KIND_ADDRESS: return DP_ES2_SMDS_ADDRESS;
	case DP_ES2_KIND_FINAL_STATE: return DP_ES2_FINAL_STATE_INVALID;
	case DP_ES2_KIND_STRING:
	case DP_ES2_KIND_BOOL: break;
	}
	return DP_ES2_FORMAT;
}

static enum dp_es2_status missing_status(enum dp_es2_kind k)
{
	switch (k) {
	case DP_ES2_KIND_EID: return DP_ES2_EID_MISSING;
	case DP_ES2_KIND_ICCID: return DP_ES2_ICCID_MISSING;
	case DP_ES2_KIND_MATCHING_ID: return DP_ES2_MATCHING_ID_MISSING;
	case DP_ES2_KIND_FINAL_STATE: return DP_ES2_FINAL_STATE_MISSING;
	default: break;
	}
	return DP_ES2_MISSING;
}

/* Printable ASCII only (no control characters, no NUL, nothing above 0x7E). */
static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
			return false;
	}
	return true;
}

/* The format of a text member, checked on its NUL-terminated copy in v->text. */
static int check_text(const struct dp_es2_member *m, struct dp_es2_value *v, size_t len,
		      enum dp_es2_status *status)
{
	enum dp_es2_status bad = invalid_status(m->kind);
	switch (m->kind) {
	case DP_ES2_KIND_EID:
		if (len != DP_CERT_EID_DIGITS || dp_cert_eid_valid(v->text) != DP_OK)
			return refuse(status, bad, "%s: expected 32 digits with valid check digits",
				      m->name);
		return DP_OK;
	case DP_ES2_KIND_ICCID: {
		/* a 19-digit ICCID may come padded with an F (pre-v2.2 habit): drop it */
		if (len == 20 && (v->text[19] == 'F' || v->text[19] == 'f'))
			v->text[--len] = '\0';
		char norm[21];
		for (size_t i = 0; i < len; i++) {
			if (v->text[i] < '0' || v->text[i] > '9')
				return refuse(status, bad, "%s: not decimal digits", m->name);
		}
		/* the normaliser appends a Luhn digit to some inputs: we accept only ICCIDs
		 * that are already complete (19 or 20 digits, the last one right) */
		if (len < 19 || len > 20 || dp_pg_iccid_normalise(v->text, norm) != DP_OK ||
		    strcmp(norm, v->text) != 0)
			return refuse(status, bad,
				      "%s: expected 19 or 20 digits with a valid Luhn digit",
				      m->name);
		return DP_OK;
	}
	case DP_ES2_KIND_MATCHING_ID:
		/* "" means none: the default SM-DP+ (es2-lifecycle-sgp32.md 2.6) */
		if (len != 0 && dp_activation_matching_id_valid(v->text) != DP_OK)
			return refuse(status, bad, "%s: %s", m->name, dp_err_detail());
		return DP_OK;
	case DP_ES2_KIND_STRING:
	case DP_ES2_KIND_CC:
		if (len == 0 || len > m->max || !printable(v->text, len))
			return refuse(status, bad, "%s: expected 1..%zu printable characters",
				      m->name, m->max);
		return DP_OK;
	case DP_ES2_KIND_ADDRESS:
		if (len == 0 || dp_activation_address_valid(v->text) != DP_OK)
			return refuse(status, bad, "%s: not an FQDN[:port]", m->name);
		return DP_OK;
	case DP_ES2_KIND_FINAL_STATE:
		if (strcmp(v->text, "Available") != 0 && strcmp(v->text, "Unavailable") != 0)
			return refuse(status, bad, "%s: '%s'", m->name, v->text);
		return DP_OK;
	case DP_ES2_KIND_BOOL: break;
	}
	return dp_err_set(DP_ERR_INTERNAL, "member kind");
}

static int read_member(const struct dp_es2_member *m, json_t *val, struct dp_es2_value *v,
		       enum dp_es2_status *status)
{
	if (m->kind == DP_ES2_KIND_BOOL) {
		if (!json_is_boolean(val))
			return refuse(status, DP_ES2_FORMAT, "%s: expected true or false", m->name);
		v->flag = json_is_true(val);
		return DP_OK;
	}
	if (!json_is_string(val))
		return refuse(status, invalid_status(m->kind), "%s: expected a JSON string",
			      m->name);
	const char *text = json_string_value(val);
	size_t len = json_string_length(val);
	if (len > DP_ES2_TEXT_MAX || memchr(text, '\0', len) != NULL)
		return refuse(status, invalid_status(m->kind),
			      "%s: longer than %d characters or NUL", m->name, DP_ES2_TEXT_MAX);
	memcpy(v->text, text, len);
	v->text[len] = '\0';
	return check_text(m, v, len, status);
}

/* header.<name>: a string of 1..max printable characters, copied into out. */
static int read_header(json_t *hdr, const char *name, size_t max, char *out,
		       enum dp_es2_status *status)
{
	json_t *v = json_object_get(hdr, name);
	if (v == NULL)
		return refuse(status, DP_ES2_MISSING, "header.%s is missing", name);
	size_t len = json_is_string(v) ? json_string_length(v) : 0;
	if (!json_is_string(v) || len == 0 || len > max || !printable(json_string_value(v), len))
		return refuse(status, DP_ES2_FORMAT,
			      "header.%s: expected 1..%zu printable characters", name, max);
	memcpy(out, json_string_value(v), len);
	out[len] = '\0';
	return DP_OK;
}

int dp_es2_request_parse(const struct dp_http_request *req, const struct dp_es2_member *spec,
			 size_t n, struct dp_es2_request *out, enum dp_es2_status *status)
{
	json_error_t je;
	json_t *root = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	*status = DP_ES2_FORMAT;
	if (n > DP_ES2_MAX_MEMBERS)
		return dp_err_set(DP_ERR_INTERNAL, "too many members in a function table");
	out->n = n;
	if (!dp_http_is_json(req->content_type))
		return refuse(status, DP_ES2_FORMAT, "Content-Type '%s' is not application/json",
			      req->content_type ? req->content_type : "(none)");
	if (req->admin_protocol != NULL && strncmp(req->admin_protocol, "gsma/rsp/v2.", 12) != 0 &&
	    strncmp(req->admin_protocol, "gsma/rsp/v3.", 12) != 0)
		return refuse(status, DP_ES2_PROTOCOL_VERSION,
			      "X-Admin-Protocol '%.64s' is not gsma/rsp/v2.* or v3.*",
			      req->admin_protocol);
	root = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		r = refuse(status, DP_ES2_FORMAT, "body is not JSON (line %d column %d: %s)",
			   je.line, je.column, je.text);
		goto out;
	}
	if (!json_is_object(root)) {
		r = refuse(status, DP_ES2_FORMAT, "body is not a JSON object");
		goto out;
	}
	/* SGP.22 6.5.1.3: every request carries both identifiers */
	json_t *hdr = json_object_get(root, "header");
	if (hdr == NULL) {
		r = refuse(status, DP_ES2_MISSING, "header is missing");
		goto out;
	}
	if (!json_is_object(hdr)) {
		r = refuse(status, DP_ES2_FORMAT, "header is not a JSON object");
		goto out;
	}
	r = read_header(hdr, "functionRequesterIdentifier", DP_OPERATOR_ID_MAX, out->requester,
			status);
	if (r == DP_OK)
		r = read_header(hdr, "functionCallIdentifier", DP_ES2_CALL_ID_MAX, out->call_id,
				status);
	if (r)
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_t *val = json_object_get(root, spec[i].name);
		if (val == NULL) {
			if (spec[i].required) {
				r = refuse(status, missing_status(spec[i].kind), "%s is missing",
					   spec[i].name);
				goto out;
			}
			continue;
		}
		r = read_member(&spec[i], val, &out->v[i], status);
		if (r)
			goto out;
		out->v[i].present = true;
	}
	r = DP_OK;
out:
	json_decref(root);
	return r;
}

void dp_es2_request_wipe(struct dp_es2_request *r)
{
	dp_wipe(r->v, sizeof(r->v));
}

/* ---- timestamps ---- */

static bool digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int dp_es2_timestamp_parse(const char *s, time_t *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, tzh = 0, tzm = 0, sign = 0;
	size_t n = strlen(s);
	/* YYYY-MM-DDThh:mm:ss then Z (20) or +hh:mm (25) */
	if ((n != 20 && n != 25) || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return dp_err_set(DP_ERR_INVAL,
				  "timestamp '%.40s': expected YYYY-MM-DDThh:mm:ssTZD", s);
	if (n == 20 && s[19] != 'Z')
		return dp_err_set(DP_ERR_INVAL, "timestamp '%.40s': time zone must be Z or +hh:mm",
				  s);
	if (n == 25) {
		sign = s[19] == '+' ? 1 : s[19] == '-' ? -1 : 0;
		if (sign == 0 || !digits(s + 20, 2, &tzh) || s[22] != ':' ||
		    !digits(s + 23, 2, &tzm) || tzh > 23 || tzm > 59)
			return dp_err_set(DP_ERR_INVAL, "timestamp '%.40s': bad time zone", s);
	}
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
	    h > 23 || mi > 59 || sec > 60 || y < 1970)
		return dp_err_set(DP_ERR_INVAL, "timestamp '%.40s': no such date or time", s);
	/* timegm reads the fields as UTC (a leap second :60 becomes the next minute's :00) */
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = sec};
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return dp_err_set(DP_ERR_INVAL, "timestamp '%.40s': out of range", s);
	*out = t - sign * (tzh * 3600 + tzm * 60);
	return DP_OK;
}

int dp_es2_timestamp_format(time_t t, char out[21])
{
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		return dp_err_set(DP_ERR_INVAL, "time %lld cannot be written", (long long)t);
	return DP_OK;
}

/* ---- the reply ---- */

void dp_es2_reply_init(struct dp_es2_reply *rp, const char *function)
{
	memset(rp, 0, sizeof(*rp));
	rp->function = function;
	rp->members = json_object();
}

int dp_es2_refuse(struct dp_es2_reply *rp, enum dp_es2_status st, const char *fmt, ...)
{
	if (rp->refused)
		return DP_ES2_REFUSED;
	rp->refused = true;
	rp->status = st;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rp->detail, sizeof(rp->detail), fmt, ap);
	va_end(ap);
	return DP_ES2_REFUSED;
}

int dp_es2_put_string(struct dp_es2_reply *rp, const char *name, const char *text)
{
	if (rp->members == NULL || json_object_set_new(rp->members, name, json_string(text)) != 0)
		return dp_err_set(DP_ERR_NOMEM, "JSON member %s", name);
	return DP_OK;
}

int dp_es2_reply_finish(struct dp_es2_reply *rp, int r, struct dp_http_response *resp)
{
	const char *who = rp->operator_id[0] ? rp->operator_id : "-";
	const char *call = rp->call_id[0] ? rp->call_id : "-";
	resp->admin_protocol = ADMIN_PROTOCOL;
	resp->status = 200;
	resp->content_type = JSON_TYPE;
	dp_buf_reset(&resp->body);
	if (r < 0) {
		/* something on our side: logged with its detail, answered with a code */
		dp_log_error(DP_LOG_ES2, "%s operator=%s call=%s: %s (%s)", rp->function, who, call,
			     dp_strerror(r), dp_err_detail());
		(void)dp_es2_refuse(rp, DP_ES2_EXECUTION_ERROR, "%s", dp_strerror(r));
	}
	if (rp->refused) {
		struct dp_es2_code c;
		if (dp_es2_code(rp->status, &c) == DP_OK)
			dp_log_info(DP_LOG_ES2, "%s operator=%s call=%s: Failed %s/%s %s: %s",
				    rp->function, who, call, c.subject, c.reason, c.message,
				    rp->detail);
		r = dp_es2_failed_json(rp->status, rp->detail[0] ? rp->detail : NULL, &resp->body);
	} else {
		json_t *hdr =
		    json_pack("{s:{s:s}}", "functionExecutionStatus", "status", "Executed-Success");
		char *text = NULL;
		if (hdr == NULL || rp->members == NULL ||
		    json_object_set_new(rp->members, "header", hdr) != 0 ||
		    (text = json_dumps(rp->members, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
			r = dp_err_set(DP_ERR_NOMEM, "JSON response");
		else
			r = dp_buf_append_str(&resp->body, text);
		free(text);
		if (r == DP_OK)
			dp_log_info(DP_LOG_ES2, "%s operator=%s call=%s: Executed-Success",
				    rp->function, who, call);
	}
	json_decref(rp->members);
	rp->members = NULL;
	return r;
}

/* ---- the operator ---- */

int dp_es2_begin(struct dp_smdp *smdp, struct dp_es2_reply *rp, const struct dp_http_request *req,
		 const struct dp_es2_member *spec, size_t n, struct dp_es2_request *out,
		 const struct dp_operator **op)
{
	enum dp_es2_status st;
	*op = NULL;
	int r = dp_es2_request_parse(req, spec, n, out, &st);
	if (r == DP_ERR_INVAL)
		return dp_es2_refuse(rp, st, "%s", dp_err_detail());
	if (r)
		return r;
	snprintf(rp->call_id, sizeof(rp->call_id), "%s", out->call_id);
	/* the HTTP layer has verified the certificate and found its operator already; without
	 * one (a listener set up without client certificates) nobody may call */
	const struct dp_operator *o =
	    req->client_cert != NULL
		? dp_operators_by_cert(smdp->operators, req->client_cert, req->client_cert_len)
		: NULL;
	if (o == NULL)
		return dp_es2_refuse(rp, DP_ES2_REQUESTER_NOT_ALLOWED,
				     "no operator is known for this connection");
	snprintf(rp->operator_id, sizeof(rp->operator_id), "%s", o->id);
	if (strcmp(o->id, out->requester) != 0)
		return dp_es2_refuse(rp, DP_ES2_REQUESTER_NOT_ALLOWED,
				     "'%s' (the client certificate is %s's)", out->requester,
				     o->id);
	*op = o;
	return DP_OK;
}

int dp_es2_refuse_outcome(struct dp_es2_reply *rp, enum dp_db_es2_outcome o, const char *iccid)
{
	const char *ic = iccid != NULL ? iccid : "";
	switch (o) {
	case DP_DB_ES2_OK: return DP_OK;
	case DP_DB_ES2_ICCID_UNKNOWN: return dp_es2_refuse(rp, DP_ES2_ICCID_UNKNOWN, "%s", ic);
	case DP_DB_ES2_NOT_OWNER:
		return dp_es2_refuse(rp, DP_ES2_ICCID_NOT_ALLOWED, "%s is not %s's", ic,
				     rp->operator_id);
	case DP_DB_ES2_IN_USE: return dp_es2_refuse(rp, DP_ES2_ICCID_IN_USE, "%s", ic);
	case DP_DB_ES2_TYPE_MISMATCH: return dp_es2_refuse(rp, DP_ES2_TYPE_MISMATCH, "%s", ic);
	case DP_DB_ES2_TYPE_UNKNOWN: return dp_es2_refuse(rp, DP_ES2_TYPE_UNKNOWN, "none stored");
	case DP_DB_ES2_TYPE_NOT_OWNER:
		return dp_es2_refuse(rp, DP_ES2_TYPE_NOT_ALLOWED, "no profile of it is %s's",
				     rp->operator_id);
	case DP_DB_ES2_TYPE_EXHAUSTED:
		return dp_es2_refuse(rp, DP_ES2_TYPE_EXHAUSTED, "none Available");
	case DP_DB_ES2_STATE:
		return dp_es2_refuse(rp, DP_ES2_ICCID_TRANSITION, "%s: %s", ic, dp_err_detail());
	case DP_DB_ES2_EID_DIFFERENT: return dp_es2_refuse(rp, DP_ES2_EID_DIFFERENT, "%s", ic);
	case DP_DB_ES2_EID_MISSING:
		return dp_es2_refuse(rp, DP_ES2_EID_MISSING,
				     "an order without matching ID is found by its EID");
	case DP_DB_ES2_MATCHING_ID_TAKEN:
		return dp_es2_refuse(rp, DP_ES2_MATCHING_ID_CONFLICT, "by another open order");
	case DP_DB_ES2_MATCHING_ID_DIFFERENT:
		return dp_es2_refuse(rp, DP_ES2_MATCHING_ID_DIFFERENT, "%s", ic);
	}
	return dp_err_set(DP_ERR_INTERNAL, "order book outcome %d", (int)o);
}

int dp_es2_authorize(void *ctx, const uint8_t *der, size_t len)
{
	struct dp_smdp *smdp = ctx;
	if (dp_operators_by_cert(smdp->operators, der, len) == NULL)
		return dp_err_set(DP_ERR_NOT_FOUND,
				  "the client certificate is no known operator's");
	return DP_OK;
}
