/* ES9+ JSON request reader (contract in es9_request.h). */
#include "smdp/es9_request.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pki/asn1/tlv.h"
#include "pki/base/codec.h"

static int refuse(enum dp_es9_status *status, enum dp_es9_status st, const char *fmt, ...)
	DP_PRINTF(3, 4);

static int refuse(enum dp_es9_status *status, enum dp_es9_status st, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*status = st;
	return dp_err_set(DP_ERR_INVAL, "%s", msg);
}

static int read_member(const struct dp_es9_member *m, json_t *val, struct dp_buf *out,
		       enum dp_es9_status *status)
{
	if (!json_is_string(val))
		return refuse(status, DP_ES9_INVALID_INPUT, "%s: expected a JSON string", m->name);
	const char *text = json_string_value(val);
	size_t len = json_string_length(val);
	int r;
	dp_buf_init(out, m->max + 1);
	switch (m->kind) {
	case DP_ES9_KIND_STRING:
		if (len > m->max || memchr(text, '\0', len) != NULL)
			return refuse(status, DP_ES9_INVALID_INPUT, "%s: string too long or with NUL", m->name);
		r = dp_buf_append(out, text, len);
		if (r == DP_OK)
			r = dp_buf_append_byte(out, 0);
		if (r == DP_OK)
			out->len--;
		return r;
	case DP_ES9_KIND_TID:
		/* the length on its own: the decoder's detail only explains a bad digit */
		if (len == 0 || len > 32 || len % 2 != 0)
			return refuse(status, DP_ES9_INVALID_INPUT,
				      "%s: expected 1..16 octets in hex (%zu hex digits)", m->name,
				      len);
		if (dp_hex_decode_buf(text, len, out) != DP_OK)
			return refuse(status, DP_ES9_INVALID_INPUT,
				      "%s: expected 1..16 octets in hex (%s)", m->name,
				      dp_err_detail());
		return DP_OK;
	case DP_ES9_KIND_B64_RAW:
	case DP_ES9_KIND_B64_TLV:
		r = dp_b64_decode(text, len, DP_B64_SKIP_SPACE, out);
		if (r == DP_ERR_TOO_LONG)
			return refuse(status, DP_ES9_INVALID_INPUT, "%s: longer than allowed", m->name);
		if (r)
			return refuse(status, DP_ES9_INVALID_INPUT, "%s: bad base64 (%s)", m->name,
				      dp_err_detail());
		if (out->len == 0)
			return refuse(status, DP_ES9_INVALID_INPUT, "%s: empty", m->name);
		if (m->kind == DP_ES9_KIND_B64_TLV) {
			struct dp_tlv t;
			if (dp_tlv_expect(out->data, out->len, 0, &t) != DP_OK)
				return refuse(status, DP_ES9_INVALID_INPUT,
					      "%s: not one DER TLV (%s)", m->name, dp_err_detail());
		}
		return DP_OK;
	}
	return dp_err_set(DP_ERR_INTERNAL, "member kind");
}

int dp_es9_request_parse(const struct dp_http_request *req, const struct dp_es9_member *spec,
			 size_t n, struct dp_es9_request *out, enum dp_es9_status *status)
{
	json_error_t je;
	json_t *root = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	*status = DP_ES9_INVALID_INPUT;
	if (n > DP_ES9_MAX_MEMBERS)
		return dp_err_set(DP_ERR_INTERNAL, "too many members in a function table");
	out->n = n;
	for (size_t i = 0; i < n; i++)
		dp_buf_init(&out->v[i].bytes, 0);

	if (!dp_http_is_json(req->content_type))
		return refuse(status, DP_ES9_INVALID_INPUT,
			      "Content-Type '%s' is not application/json",
			      req->content_type ? req->content_type : "(none)");
	if (req->admin_protocol != NULL && strncmp(req->admin_protocol, "gsma/rsp/v2.", 12) != 0 &&
	    strncmp(req->admin_protocol, "gsma/rsp/v3.", 12) != 0)
		return refuse(status, DP_ES9_INVALID_INPUT,
			      "X-Admin-Protocol '%s' is not gsma/rsp/v2.* or v3.*",
			      req->admin_protocol);
	root = json_loadb((const char *)req->body, req->body_len,
			  JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		r = refuse(status, DP_ES9_INVALID_INPUT, "body is not JSON (line %d column %d: %s)",
			   je.line, je.column, je.text);
		goto out;
	}
	if (!json_is_object(root)) {
		r = refuse(status, DP_ES9_INVALID_INPUT, "body is not a JSON object");
		goto out;
	}
	json_t *hdr = json_object_get(root, "header");
	json_t *fri = hdr ? json_object_get(hdr, "functionRequesterIdentifier") : NULL;
	if (json_is_string(fri))
		snprintf(out->requester, sizeof(out->requester), "%s", json_string_value(fri));
	for (size_t i = 0; i < n; i++) {
		json_t *val = json_object_get(root, spec[i].name);
		if (val == NULL) {
			if (spec[i].required) {
				r = refuse(status, DP_ES9_MISSING_INPUT, "%s is missing", spec[i].name);
				goto out;
			}
			continue;
		}
		dp_buf_deinit(&out->v[i].bytes);
		r = read_member(&spec[i], val, &out->v[i].bytes, status);
		if (r)
			goto out;
		out->v[i].present = true;
	}
	r = DP_OK;
out:
	json_decref(root);
	return r;
}

void dp_es9_request_deinit(struct dp_es9_request *r)
{
	for (size_t i = 0; i < r->n && i < DP_ES9_MAX_MEMBERS; i++)
		dp_buf_deinit(&r->v[i].bytes);
	r->n = 0;
}
