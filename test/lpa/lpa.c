/* The test LPA: the download steps, notifications, profiles, cancel.
 * SGP.22 3.1.3 (download), 5.6 (ES9+), 5.7.7-5.7.15 and 5.7.20 (ES10b), 5.7.16-5.7.19
 * (ES10c), 2.5.5 (segmented BPP); download-path.md 1, 2, 3.2, 4.7, 4.8. */
#include "test/lpa/lpa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "pki/asn1/tlv.h"
#include "pki/base/codec.h"
#include "pki/base/log.h"
#include "pki/base/secure.h"

enum {
	TAG_CHALLENGE = 0xBF2E,
	TAG_INFO1 = 0xBF20,
	TAG_AUTHENTICATE_SERVER = 0xBF38,
	TAG_PREPARE_DOWNLOAD = 0xBF21,
	TAG_BPP = 0xBF36,
	TAG_ISC = 0xBF23,
	TAG_PIR = 0xBF37,
	TAG_PIR_DATA = 0xBF27,
	TAG_NOTIFICATION_METADATA = 0xBF2F,
	TAG_CANCEL_SESSION = 0xBF41,
	TAG_LIST_NOTIFICATION = 0xBF28,
	TAG_RETRIEVE_NOTIFICATIONS = 0xBF2B,
	TAG_NOTIFICATION_SENT = 0xBF30,
	TAG_PROFILES_INFO = 0xBF2D,
	TAG_ENABLE = 0xBF31,
	TAG_DISABLE = 0xBF32,
	TAG_DELETE = 0xBF33,
	PART_MAX = 64 * 1024,
	ADDRESS_MAX = 255,
};

struct dp_lpa {
	struct dp_euicc *e; /* borrowed */
	struct dp_lpa_options o;
	struct dp_lpa_http *http; /* NULL with a transport hook */
	char address[ADDRESS_MAX + 1];
	uint8_t tid[DP_LPA_TID_MAX];
	size_t tid_len;
	char tid_hex[2 * DP_LPA_TID_MAX + 1];
	/* initiateAuthentication -> AuthenticateServer */
	struct dp_buf server_signed1, server_signature1, ci_pkid, server_cert;
	/* authenticateClient -> PrepareDownload */
	struct dp_buf metadata, smdp_signed2, smdp_signature2, smdp_cert;
	bool cc_required, authenticated;
	struct dp_buf prepare_response; /* BF21, ok or error */
	struct dp_buf bpp, pir;
	struct dp_buf request; /* the last ES9+ body */
	struct dp_lpa_call last;
	int euicc_error;
};

/* ---- helpers ---- */

int dp_lpa_hash_cc(const char *cc, const uint8_t *tid, size_t tid_len, uint8_t out[32])
{
	uint8_t inner[32];
	unsigned int n = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r = DP_ERR_CRYPTO;
	if (ctx == NULL)
		return DP_ERR_NOMEM;
	if (EVP_Digest(cc, strlen(cc), inner, &n, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, inner, sizeof(inner)) != 1 ||
	    EVP_DigestUpdate(ctx, tid, tid_len) != 1 || EVP_DigestFinal_ex(ctx, out, &n) != 1)
		goto out;
	r = DP_OK;
out:
	dp_wipe(inner, sizeof(inner)); /* SHA256(cc) is as good as the code */
	EVP_MD_CTX_free(ctx);
	return r;
}

/* A constructed TLV header followed by its elements: emit the header (plus, when
 * with_first, its first element) as one segment, then every element alone. */
static int cut_group(const struct dp_tlv *g, bool with_first, uint32_t element,
		     struct dp_lpa_segment *seg, size_t max, size_t *n)
{
	struct dp_cursor c = dp_cursor_make(g->value, g->len);
	struct dp_tlv el;
	size_t hlen = g->raw_len - g->len;
	int r;
	if (g->len == 0)
		return dp_err_set(DP_ERR_DER_LENGTH, "BPP: empty %X", (unsigned)g->tag);
	if (*n == max)
		return dp_err_set(DP_ERR_TOO_LONG, "BPP: more than %zu segments", max);
	seg[*n] = (struct dp_lpa_segment){g->raw, hlen};
	bool first = true;
	while (!dp_cursor_done(&c)) {
		if ((r = dp_tlv_next(&c, &el)) != DP_OK)
			return dp_err_wrap(r, "BPP %X: ", (unsigned)g->tag);
		if (el.tag != element)
			return dp_err_set(DP_ERR_DER_UNEXPECTED_TAG, "BPP %X holds %X",
					  (unsigned)g->tag, (unsigned)el.tag);
		if (first && with_first) {
			seg[(*n)++].len += el.raw_len;
		} else {
			if (first)
				(*n)++;
			if (*n == max)
				return dp_err_set(DP_ERR_TOO_LONG, "BPP: more than %zu segments",
						  max);
			seg[(*n)++] = (struct dp_lpa_segment){el.raw, el.raw_len};
		}
		first = false;
	}
	return DP_OK;
}

int dp_lpa_bpp_cut(const uint8_t *bpp, size_t len, struct dp_lpa_segment *seg, size_t max,
		   size_t *n)
{
	struct dp_tlv top, t;
	*n = 0;
	int r = dp_tlv_expect(bpp, len, TAG_BPP, &top);
	if (r != DP_OK)
		return dp_err_wrap(r, "BoundProfilePackage: ");
	struct dp_cursor c = dp_cursor_make(top.value, top.len);
	/* BF36 header + the whole BF23 */
	if ((r = dp_tlv_next(&c, &t)) != DP_OK)
		return dp_err_wrap(r, "BPP: ");
	if (t.tag != TAG_ISC)
		return dp_err_set(DP_ERR_DER_UNEXPECTED_TAG, "BPP starts with %X", (unsigned)t.tag);
	if (max == 0)
		return dp_err_set(DP_ERR_TOO_LONG, "BPP: no room for segments");
	seg[(*n)++] = (struct dp_lpa_segment){bpp, (size_t)(t.raw + t.raw_len - bpp)};
	/* A0 {87...}, A1 {88...}, [A2 {87...}], A3 {86...}, in this order */
	static const struct {
		uint32_t tag, element;
		bool with_first, optional;
	} groups[] = {
	    {0xA0, 0x87, true, false},
	    {0xA1, 0x88, false, false},
	    {0xA2, 0x87, true, true},
	    {0xA3, 0x86, false, false},
	};
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		struct dp_cursor peek = c;
		if (dp_cursor_done(&c) || (r = dp_tlv_next(&peek, &t)) != DP_OK ||
		    t.tag != groups[i].tag) {
			if (groups[i].optional && r == DP_OK)
				continue;
			return r != DP_OK ? dp_err_wrap(r, "BPP: ")
					  : dp_err_set(DP_ERR_DER_UNEXPECTED_TAG,
						       "BPP: %X expected", (unsigned)groups[i].tag);
		}
		c = peek;
		if ((r = cut_group(&t, groups[i].with_first, groups[i].element, seg, max, n)) !=
		    DP_OK)
			return r;
	}
	if (!dp_cursor_done(&c))
		return dp_err_set(DP_ERR_DER_TRAILING, "BPP: bytes after A3");
	return DP_OK;
}

int dp_lpa_iccid_to_digits(const uint8_t *bcd, size_t len, char out[21])
{
	size_t k = 0;
	out[0] = '\0';
	if (len == 0 || len > 10)
		return dp_err_set(DP_ERR_INVAL, "ICCID of %zu bytes", len);
	for (size_t i = 0; i < len; i++) {
		uint8_t d[2] = {(uint8_t)(bcd[i] & 0x0F), (uint8_t)(bcd[i] >> 4)};
		for (int j = 0; j < 2; j++) {
			if (d[j] == 0x0F && i == len - 1 && j == 1)
				break; /* F padding */
			if (d[j] > 9)
				return dp_err_set(DP_ERR_INVAL, "ICCID nibble %X", d[j]);
			out[k++] = (char)('0' + d[j]);
		}
	}
	out[k] = '\0';
	return DP_OK;
}

int dp_lpa_iccid_from_digits(const char *digits, uint8_t out[10])
{
	size_t n = strlen(digits);
	if (n < 19 || n > 20 || strspn(digits, "0123456789") != n)
		return dp_err_set(DP_ERR_INVAL, "ICCID \"%s\" is not 19 or 20 digits", digits);
	memset(out, 0xFF, 10);
	for (size_t i = 0; i < n; i++) {
		uint8_t d = (uint8_t)(digits[i] - '0');
		uint8_t *b = &out[i / 2];
		*b = i % 2 == 0 ? (uint8_t)((*b & 0xF0) | d) : (uint8_t)((*b & 0x0F) | (d << 4));
	}
	return DP_OK;
}

/* ---- instance ---- */

int dp_lpa_new(struct dp_euicc *e, const struct dp_lpa_options *o, struct dp_lpa **out)
{
	*out = NULL;
	struct dp_lpa *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return DP_ERR_NOMEM;
	l->e = e;
	l->o = *o;
	struct dp_buf *bufs[] = {&l->server_signed1,   &l->server_signature1,
				 &l->ci_pkid,	       &l->server_cert,
				 &l->metadata,	       &l->smdp_signed2,
				 &l->smdp_signature2,  &l->smdp_cert,
				 &l->prepare_response, &l->pir};
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		dp_buf_init(bufs[i], PART_MAX);
	dp_buf_init(&l->bpp, DP_LPA_BPP_MAX);
	dp_buf_init(&l->request, DP_LPA_ES9_RESPONSE_MAX);
	int r = DP_OK;
	if (o->transport == NULL)
		r = dp_lpa_http_new(&o->http, &l->http);
	if (r != DP_OK) {
		dp_lpa_free(l);
		return r;
	}
	l->o.http.ca_file = NULL; /* the transport holds its own copy */
	*out = l;
	return DP_OK;
}

void dp_lpa_free(struct dp_lpa *l)
{
	if (l == NULL)
		return;
	struct dp_buf *bufs[] = {&l->server_signed1,
				 &l->server_signature1,
				 &l->ci_pkid,
				 &l->server_cert,
				 &l->metadata,
				 &l->smdp_signed2,
				 &l->smdp_signature2,
				 &l->smdp_cert,
				 &l->prepare_response,
				 &l->pir,
				 &l->bpp,
				 &l->request};
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		dp_buf_deinit(bufs[i]);
	dp_lpa_http_free(l->http);
	free(l);
}

/* Forgets the session (keeps the last call and error for the caller). */
static void session_reset(struct dp_lpa *l)
{
	struct dp_buf *bufs[] = {&l->server_signed1,   &l->server_signature1,
				 &l->ci_pkid,	       &l->server_cert,
				 &l->metadata,	       &l->smdp_signed2,
				 &l->smdp_signature2,  &l->smdp_cert,
				 &l->prepare_response, &l->bpp};
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		dp_buf_reset(bufs[i]);
	l->tid_len = 0;
	l->tid_hex[0] = '\0';
	l->cc_required = l->authenticated = false;
}

/* One ES10 command to the eUICC; the response replaces resp's content. */
static int es10(struct dp_lpa *l, const struct dp_buf *cmd, struct dp_buf *resp)
{
	dp_buf_reset(resp);
	int r = dp_euicc_es10(l->e, cmd->data, cmd->len, resp);
	if (r != DP_OK)
		return dp_err_wrap(DP_ERR_LPA_EUICC, "ES10 %s: ", dp_strerror(r));
	return DP_OK;
}

/* The response as one TLV with `tag`, else DP_ERR_LPA_EUICC. */
static int es10_expect(const struct dp_buf *resp, uint32_t tag, struct dp_tlv *t)
{
	if (dp_tlv_expect(resp->data, resp->len, tag, t) != DP_OK)
		return dp_err_set(DP_ERR_LPA_EUICC, "eUICC response is not one %X TLV",
				  (unsigned)tag);
	return DP_OK;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* One ES9+ call: body from fields, POST, parse against spec; logs one line. */
static int es9_call(struct dp_lpa *l, const char *address, const char *function,
		    const struct dp_lpa_es9_field *fields, size_t n_fields,
		    const struct dp_lpa_es9_member *spec, size_t n_spec, bool allow_204,
		    struct dp_lpa_es9_response *resp)
{
	struct dp_lpa_http_response http;
	double t0 = now_ms();
	memset(resp, 0, sizeof(*resp));
	memset(&l->last, 0, sizeof(l->last));
	snprintf(l->last.function, sizeof(l->last.function), "%s", function);
	dp_buf_reset(&l->request);
	int r = dp_lpa_es9_body(fields, n_fields, &l->request);
	if (r == DP_OK)
		r = l->o.transport != NULL
			? l->o.transport(l->o.transport_ctx, address, function, &l->request, &http)
			: dp_lpa_http_post(l->http, address, function, &l->request, &http);
	if (r == DP_OK) {
		l->last.http_status = http.status;
		r = dp_lpa_es9_response_parse(&http, spec, n_spec, allow_204, resp);
		l->last.st = resp->st;
	}
	l->last.ms = now_ms() - t0;
	dp_log(DP_LOG_LPA, (r == DP_OK || r == DP_ERR_LPA_REFUSED) ? DP_LOG_INFO : DP_LOG_WARN,
	       "ES9+ %s tid=%s http=%ld status=%s%s%s%s%s %.1f ms%s%s", function,
	       l->tid_hex[0] ? l->tid_hex : "-", l->last.http_status,
	       l->last.st.status[0] ? l->last.st.status : "-",
	       l->last.st.subject[0] ? " subject=" : "", l->last.st.subject,
	       l->last.st.reason[0] ? " reason=" : "", l->last.st.reason, l->last.ms,
	       r == DP_OK ? "" : ": ", r == DP_OK ? "" : dp_err_detail());
	return r;
}

/* The response's transactionId (member i) must be the session's. */
static int check_tid(const struct dp_lpa *l, const struct dp_lpa_es9_response *resp, size_t i)
{
	const struct dp_buf *t = &resp->v[i];
	if (t->len != l->tid_len || memcmp(t->data, l->tid, l->tid_len) != 0)
		return dp_err_set(DP_ERR_LPA_RESPONSE, "transactionId differs from the session's");
	return DP_OK;
}

static int set_tid(struct dp_lpa *l, const uint8_t *tid, size_t len)
{
	if (len == 0 || len > sizeof(l->tid))
		return dp_err_set(DP_ERR_LPA_RESPONSE, "transactionId of %zu bytes", len);
	memcpy(l->tid, tid, len);
	l->tid_len = len;
	return dp_hex_encode(tid, len, true, l->tid_hex, sizeof(l->tid_hex));
}

static int copy_buf(struct dp_buf *dst, const struct dp_buf *src)
{
	dp_buf_reset(dst);
	return dp_buf_append(dst, src->data, src->len);
}

/* ---- step 1 ---- */

int dp_lpa_initiate_authentication(struct dp_lpa *l, const char *smdp_address)
{
	static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00}, get_info1[] = {0xBF, 0x20, 0x00};
	static const struct dp_lpa_es9_member spec[] = {
	    {"transactionId", DP_LPA_ES9_TID, 0, 0},
	    {"serverSigned1", DP_LPA_ES9_B64_TLV, 0x30, 4096},
	    {"serverSignature1", DP_LPA_ES9_B64_TLV, 0x5F37, 128},
	    {"euiccCiPKIdToBeUsed", DP_LPA_ES9_B64_TLV, 0x04, 64},
	    {"serverCertificate", DP_LPA_ES9_B64_TLV, 0x30, 8192},
	};
	struct dp_buf cmd, challenge, info1;
	struct dp_lpa_es9_response resp = {0};
	struct dp_tlv t, c;
	int r;
	if (strlen(smdp_address) > ADDRESS_MAX)
		return dp_err_set(DP_ERR_INVAL, "SM-DP+ address over %d characters", ADDRESS_MAX);
	session_reset(l);
	l->euicc_error = 0;
	snprintf(l->address, sizeof(l->address), "%s", smdp_address);
	dp_buf_init(&cmd, 16);
	dp_buf_init(&challenge, 256);
	dp_buf_init(&info1, PART_MAX);
	if ((r = dp_buf_append(&cmd, get_challenge, sizeof(get_challenge))) != DP_OK ||
	    (r = es10(l, &cmd, &challenge)) != DP_OK ||
	    (r = es10_expect(&challenge, TAG_CHALLENGE, &t)) != DP_OK)
		goto out;
	if (dp_tlv_expect(t.value, t.len, 0x80, &c) != DP_OK || c.len != 16) {
		r = dp_err_set(DP_ERR_LPA_EUICC, "GetEUICCChallenge: no 16-byte challenge");
		goto out;
	}
	dp_buf_reset(&cmd);
	if ((r = dp_buf_append(&cmd, get_info1, sizeof(get_info1))) != DP_OK ||
	    (r = es10(l, &cmd, &info1)) != DP_OK ||
	    (r = es10_expect(&info1, TAG_INFO1, &t)) != DP_OK)
		goto out;
	/* euiccChallenge is the raw 16 bytes; euiccInfo1 the whole BF20 TLV (2.3). */
	const struct dp_lpa_es9_field fields[] = {
	    {"smdpAddress", DP_LPA_ES9_FIELD_STRING, smdp_address, 0},
	    {"euiccChallenge", DP_LPA_ES9_FIELD_BASE64, c.value, c.len},
	    {"euiccInfo1", DP_LPA_ES9_FIELD_BASE64, info1.data, info1.len},
	};
	if ((r = es9_call(l, l->address, "initiateAuthentication", fields, 3, spec, 5, false,
			  &resp)) != DP_OK)
		goto out;
	if ((r = set_tid(l, resp.v[0].data, resp.v[0].len)) != DP_OK ||
	    (r = copy_buf(&l->server_signed1, &resp.v[1])) != DP_OK ||
	    (r = copy_buf(&l->server_signature1, &resp.v[2])) != DP_OK ||
	    (r = copy_buf(&l->ci_pkid, &resp.v[3])) != DP_OK ||
	    (r = copy_buf(&l->server_cert, &resp.v[4])) != DP_OK)
		goto out;
	r = DP_OK;
out:
	dp_lpa_es9_response_deinit(&resp);
	dp_buf_deinit(&cmd);
	dp_buf_deinit(&challenge);
	dp_buf_deinit(&info1);
	return r;
}

/* ---- step 2 ---- */

/* BF38 { serverSigned1, serverSignature1, euiccCiPKIdToBeUsed, serverCertificate,
 * A0 { [80 matchingId], A1 { 80 TAC, A1 {} } } } (download-path.md 3.2). */
static int authenticate_server_request(const struct dp_lpa *l, const char *matching_id,
				       struct dp_buf *out)
{
	static const uint8_t device_info[] = {0xA1,
					      0x08,
					      0x80,
					      0x04,
					      (DP_LPA_TAC >> 24) & 0xFF,
					      (DP_LPA_TAC >> 16) & 0xFF,
					      (DP_LPA_TAC >> 8) & 0xFF,
					      DP_LPA_TAC & 0xFF,
					      0xA1,
					      0x00};
	struct dp_buf ctx, body;
	dp_buf_init(&ctx, 1024);
	dp_buf_init(&body, PART_MAX);
	int r = DP_OK;
	if (matching_id != NULL)
		r = dp_tlv_append(&ctx, 0x80, matching_id, strlen(matching_id));
	if (r == DP_OK)
		r = dp_buf_append(&ctx, device_info, sizeof(device_info));
	const struct dp_buf *parts[] = {&l->server_signed1, &l->server_signature1, &l->ci_pkid,
					&l->server_cert};
	for (size_t i = 0; i < 4 && r == DP_OK; i++)
		r = dp_buf_append(&body, parts[i]->data, parts[i]->len);
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0xA0, ctx.data, ctx.len);
	if (r == DP_OK)
		r = dp_tlv_append(out, TAG_AUTHENTICATE_SERVER, body.data, body.len);
	dp_buf_deinit(&ctx);
	dp_buf_deinit(&body);
	return r;
}

/* An ES10 error alternative `A1 { 80 tid, 02 code }` (AuthenticateServer,
 * PrepareDownload): keeps the code. */
static int euicc_refusal(struct dp_lpa *l, const struct dp_tlv *choice, const char *fn)
{
	struct dp_tlv code;
	l->euicc_error = 127;
	if (dp_tlv_find(choice->value, choice->len, 0x02, &code) == DP_OK && code.len == 1)
		l->euicc_error = code.value[0];
	dp_log_warn(DP_LOG_LPA, "%s: the eUICC answered error %d", fn, l->euicc_error);
	return dp_err_set(DP_ERR_LPA_EUICC, "%s: eUICC error %d", fn, l->euicc_error);
}

int dp_lpa_authenticate_client(struct dp_lpa *l, const char *matching_id)
{
	static const struct dp_lpa_es9_member spec[] = {
	    {"transactionId", DP_LPA_ES9_TID, 0, 0},
	    {"profileMetadata", DP_LPA_ES9_B64_TLV, 0xBF25, PART_MAX},
	    {"smdpSigned2", DP_LPA_ES9_B64_TLV, 0x30, 1024},
	    {"smdpSignature2", DP_LPA_ES9_B64_TLV, 0x5F37, 128},
	    {"smdpCertificate", DP_LPA_ES9_B64_TLV, 0x30, 8192},
	};
	struct dp_buf cmd, asr;
	struct dp_lpa_es9_response resp = {0};
	struct dp_tlv t, choice, flag;
	int r, euicc = DP_OK;
	if (l->tid_len == 0 || l->server_signed1.len == 0)
		return dp_err_set(DP_ERR_INVAL, "authenticate_client before "
						"initiate_authentication");
	l->euicc_error = 0;
	dp_buf_init(&cmd, PART_MAX);
	dp_buf_init(&asr, PART_MAX);
	if ((r = authenticate_server_request(l, matching_id, &cmd)) != DP_OK ||
	    (r = es10(l, &cmd, &asr)) != DP_OK ||
	    (r = es10_expect(&asr, TAG_AUTHENTICATE_SERVER, &t)) != DP_OK)
		goto out;
	if (dp_tlv_read(t.value, t.len, &choice) != DP_OK ||
	    (choice.tag != 0xA0 && choice.tag != 0xA1)) {
		r = dp_err_set(DP_ERR_LPA_EUICC, "AuthenticateServerResponse");
		goto out;
	}
	if (choice.tag == 0xA1) {
		euicc = euicc_refusal(l, &choice, "AuthenticateServer");
		if (l->o.keep_euicc_errors) {
			r = euicc;
			goto out;
		}
	}
	/* The response goes to the SM-DP+ exactly as the eUICC gave it. */
	const struct dp_lpa_es9_field fields[] = {
	    {"transactionId", DP_LPA_ES9_FIELD_HEX, l->tid, l->tid_len},
	    {"authenticateServerResponse", DP_LPA_ES9_FIELD_BASE64, asr.data, asr.len},
	};
	r = es9_call(l, l->address, "authenticateClient", fields, 2, spec, 5, false, &resp);
	if (euicc != DP_OK) {
		r = euicc; /* the eUICC's refusal is the cause; the server's answer is logged */
		goto out;
	}
	if (r != DP_OK || (r = check_tid(l, &resp, 0)) != DP_OK)
		goto out;
	if ((r = copy_buf(&l->metadata, &resp.v[1])) != DP_OK ||
	    (r = copy_buf(&l->smdp_signed2, &resp.v[2])) != DP_OK ||
	    (r = copy_buf(&l->smdp_signature2, &resp.v[3])) != DP_OK ||
	    (r = copy_buf(&l->smdp_cert, &resp.v[4])) != DP_OK)
		goto out;
	/* smdpSigned2 { 80 tid, 01 ccRequiredFlag, [5F49 bppEuiccOtpk] } */
	if (dp_tlv_read(l->smdp_signed2.data, l->smdp_signed2.len, &t) != DP_OK ||
	    dp_tlv_find(t.value, t.len, 0x01, &flag) != DP_OK || flag.len != 1) {
		r = dp_err_set(DP_ERR_LPA_RESPONSE, "smdpSigned2 has no ccRequiredFlag");
		goto out;
	}
	l->cc_required = flag.value[0] != 0;
	l->authenticated = true;
	r = DP_OK;
out:
	dp_lpa_es9_response_deinit(&resp);
	dp_buf_deinit(&cmd);
	dp_buf_deinit(&asr);
	return r;
}

/* ---- step 3 ---- */

int dp_lpa_prepare_download(struct dp_lpa *l, const char *cc)
{
	struct dp_buf cmd, body;
	struct dp_tlv t, choice;
	uint8_t hash[32];
	int r;
	if (!l->authenticated)
		return dp_err_set(DP_ERR_INVAL, "prepare_download before authenticate_client");
	l->euicc_error = 0;
	dp_buf_init(&cmd, PART_MAX);
	dp_buf_init(&body, PART_MAX);
	/* BF21 { smdpSigned2, smdpSignature2, [04 hashCc], smdpCertificate } */
	r = dp_buf_append(&body, l->smdp_signed2.data, l->smdp_signed2.len);
	if (r == DP_OK)
		r = dp_buf_append(&body, l->smdp_signature2.data, l->smdp_signature2.len);
	if (r == DP_OK && cc != NULL && (r = dp_lpa_hash_cc(cc, l->tid, l->tid_len, hash)) == DP_OK)
		r = dp_tlv_append(&body, 0x04, hash, sizeof(hash));
	if (r == DP_OK)
		r = dp_buf_append(&body, l->smdp_cert.data, l->smdp_cert.len);
	if (r == DP_OK)
		r = dp_tlv_append(&cmd, TAG_PREPARE_DOWNLOAD, body.data, body.len);
	if (r != DP_OK || (r = es10(l, &cmd, &l->prepare_response)) != DP_OK ||
	    (r = es10_expect(&l->prepare_response, TAG_PREPARE_DOWNLOAD, &t)) != DP_OK)
		goto out;
	if (dp_tlv_read(t.value, t.len, &choice) != DP_OK ||
	    (choice.tag != 0xA0 && choice.tag != 0xA1)) {
		r = dp_err_set(DP_ERR_LPA_EUICC, "PrepareDownloadResponse");
		goto out;
	}
	r = choice.tag == 0xA1 ? euicc_refusal(l, &choice, "PrepareDownload") : DP_OK;
out:
	dp_wipe(hash, sizeof(hash));
	dp_buf_deinit(&cmd);
	dp_buf_deinit(&body);
	return r;
}

/* ---- step 4 ---- */

int dp_lpa_get_bound_profile_package(struct dp_lpa *l)
{
	static const struct dp_lpa_es9_member spec[] = {
	    {"transactionId", DP_LPA_ES9_TID, 0, 0},
	    {"boundProfilePackage", DP_LPA_ES9_B64_TLV, TAG_BPP, DP_LPA_BPP_MAX},
	};
	struct dp_lpa_es9_response resp = {0};
	if (l->prepare_response.len == 0)
		return dp_err_set(DP_ERR_INVAL,
				  "get_bound_profile_package before prepare_download");
	const struct dp_lpa_es9_field fields[] = {
	    {"transactionId", DP_LPA_ES9_FIELD_HEX, l->tid, l->tid_len},
	    {"prepareDownloadResponse", DP_LPA_ES9_FIELD_BASE64, l->prepare_response.data,
	     l->prepare_response.len},
	};
	dp_buf_reset(&l->bpp);
	int r = es9_call(l, l->address, "getBoundProfilePackage", fields, 2, spec, 2, false, &resp);
	if (r == DP_OK)
		r = check_tid(l, &resp, 0);
	if (r == DP_OK)
		r = copy_buf(&l->bpp, &resp.v[1]);
	dp_lpa_es9_response_deinit(&resp);
	return r;
}

/* ---- step 5 ---- */

/* BF37 { BF27 { 80 tid, BF2F, 06 oid, A2 { A0 {4F aid, ...} | A1 {80 cmd, 81 reason} } },
 * 5F37 } */
static int read_pir(const struct dp_buf *pir, struct dp_lpa_install_result *res)
{
	struct dp_tlv top, data, final, choice, m;
	memset(res, 0, sizeof(*res));
	res->bpp_command = -1;
	if (dp_tlv_expect(pir->data, pir->len, TAG_PIR, &top) != DP_OK ||
	    dp_tlv_find(top.value, top.len, TAG_PIR_DATA, &data) != DP_OK ||
	    dp_tlv_find(data.value, data.len, 0xA2, &final) != DP_OK ||
	    dp_tlv_expect(final.value, final.len, 0, &choice) != DP_OK)
		return dp_err_set(DP_ERR_LPA_EUICC, "ProfileInstallationResult is malformed");
	if (choice.tag == 0xA0) {
		if (dp_tlv_find(choice.value, choice.len, 0x4F, &m) != DP_OK || m.len > 16)
			return dp_err_set(DP_ERR_LPA_EUICC, "successResult without an AID");
		memcpy(res->aid, m.value, m.len);
		res->aid_len = m.len;
		res->success = true;
		return DP_OK;
	}
	if (choice.tag != 0xA1)
		return dp_err_set(DP_ERR_LPA_EUICC, "finalResult %X", (unsigned)choice.tag);
	if (dp_tlv_find(choice.value, choice.len, 0x80, &m) == DP_OK && m.len == 1)
		res->bpp_command = m.value[0];
	if (dp_tlv_find(choice.value, choice.len, 0x81, &m) == DP_OK && m.len == 1)
		res->error_reason = m.value[0];
	return DP_OK;
}

int dp_lpa_load_bound_profile_package(struct dp_lpa *l, struct dp_lpa_install_result *res)
{
	struct dp_lpa_segment *seg = NULL;
	struct dp_buf cmd;
	size_t n = 0, i;
	memset(res, 0, sizeof(*res));
	res->bpp_command = -1;
	if (l->bpp.len == 0)
		return dp_err_set(DP_ERR_INVAL, "load_bound_profile_package without a BPP");
	l->euicc_error = 0;
	dp_buf_init(&cmd, DP_LPA_BPP_MAX);
	int r = DP_ERR_NOMEM;
	if ((seg = calloc(DP_LPA_SEGMENTS_MAX, sizeof(*seg))) == NULL)
		goto out;
	if ((r = dp_lpa_bpp_cut(l->bpp.data, l->bpp.len, seg, DP_LPA_SEGMENTS_MAX, &n)) != DP_OK) {
		r = dp_err_wrap(DP_ERR_LPA_RESPONSE, "boundProfilePackage: ");
		goto out;
	}
	dp_buf_reset(&l->pir);
	for (i = 0; i < n && l->pir.len == 0; i++) {
		dp_buf_reset(&cmd);
		if ((r = dp_buf_append(&cmd, seg[i].p, seg[i].len)) != DP_OK ||
		    (r = es10(l, &cmd, &l->pir)) != DP_OK)
			goto out;
	}
	if (l->pir.len == 0) {
		r = dp_err_set(DP_ERR_LPA_EUICC, "no ProfileInstallationResult after %zu segments",
			       n);
		goto out;
	}
	if ((r = read_pir(&l->pir, res)) != DP_OK)
		goto out;
	dp_log_info(DP_LOG_LPA, "LoadBoundProfilePackage: %zu of %zu segments, %s", i, n,
		    res->success ? "installed" : "errorResult");
	if (!res->success) {
		l->euicc_error = res->error_reason;
		r = dp_err_set(DP_ERR_LPA_EUICC, "errorResult bppCommandId %d errorReason %d",
			       res->bpp_command, res->error_reason);
		goto out;
	}
	r = DP_OK;
out:
	free(seg);
	dp_buf_deinit(&cmd);
	return r;
}

/* ---- step 7 ---- */

int dp_lpa_set_session(struct dp_lpa *l, const char *smdp_address, const char *tid_hex)
{
	uint8_t tid[DP_LPA_TID_MAX];
	size_t n;
	if (strlen(smdp_address) > ADDRESS_MAX ||
	    dp_hex_decode(tid_hex, strlen(tid_hex), tid, sizeof(tid), &n) != DP_OK || n == 0)
		return dp_err_set(DP_ERR_INVAL, "session %s / %s", smdp_address, tid_hex);
	session_reset(l);
	snprintf(l->address, sizeof(l->address), "%s", smdp_address);
	return set_tid(l, tid, n);
}

int dp_lpa_cancel_session(struct dp_lpa *l, int reason)
{
	static const struct dp_lpa_es9_member none[] = {{0}};
	struct dp_buf cmd, body, csr;
	struct dp_lpa_es9_response resp = {0};
	struct dp_tlv t, choice;
	uint8_t rv = (uint8_t)reason;
	int r;
	if (l->tid_len == 0)
		return dp_err_set(DP_ERR_INVAL, "cancel_session without a session");
	if (reason < 0 || reason > 127)
		return dp_err_set(DP_ERR_INVAL, "cancel reason %d", reason);
	l->euicc_error = 0;
	dp_buf_init(&cmd, 256);
	dp_buf_init(&body, 256);
	dp_buf_init(&csr, PART_MAX);
	/* BF41 { 80 tid, 81 reason } */
	if ((r = dp_tlv_append(&body, 0x80, l->tid, l->tid_len)) != DP_OK ||
	    (r = dp_tlv_append(&body, 0x81, &rv, 1)) != DP_OK ||
	    (r = dp_tlv_append(&cmd, TAG_CANCEL_SESSION, body.data, body.len)) != DP_OK ||
	    (r = es10(l, &cmd, &csr)) != DP_OK ||
	    (r = es10_expect(&csr, TAG_CANCEL_SESSION, &t)) != DP_OK)
		goto out;
	if (dp_tlv_read(t.value, t.len, &choice) == DP_OK && choice.tag == 0x81 &&
	    choice.len == 1) {
		l->euicc_error = choice.value[0];
		dp_log_warn(DP_LOG_LPA, "CancelSession: the eUICC answered error %d",
			    l->euicc_error);
	}
	const struct dp_lpa_es9_field fields[] = {
	    {"transactionId", DP_LPA_ES9_FIELD_HEX, l->tid, l->tid_len},
	    {"cancelSessionResponse", DP_LPA_ES9_FIELD_BASE64, csr.data, csr.len},
	};
	if ((r = es9_call(l, l->address, "cancelSession", fields, 2, none, 0, false, &resp)) !=
	    DP_OK)
		goto out;
	l->authenticated = false;
	dp_buf_reset(&l->prepare_response);
	r = DP_OK;
out:
	dp_lpa_es9_response_deinit(&resp);
	dp_buf_deinit(&cmd);
	dp_buf_deinit(&body);
	dp_buf_deinit(&csr);
	return r;
}

/* ---- notifications ---- */

/* NotificationMetadata BF2F { 80 seq, 81 event, 0C address, [5A iccid] } */
static int read_metadata(const struct dp_tlv *meta, struct dp_lpa_notification *n)
{
	struct dp_tlv m;
	memset(n, 0, sizeof(*n));
	n->event = -1;
	if (dp_tlv_find(meta->value, meta->len, 0x80, &m) != DP_OK || m.len == 0 || m.len > 8)
		return dp_err_set(DP_ERR_LPA_EUICC, "NotificationMetadata without seqNumber");
	for (size_t i = 0; i < m.len; i++)
		n->seq = n->seq << 8 | m.value[i];
	if (dp_tlv_find(meta->value, meta->len, 0x81, &m) == DP_OK && m.len == 2) {
		static const uint8_t bits[] = {0x80, 0x40, 0x20, 0x10};
		for (int i = 0; i < 4; i++)
			if (m.value[1] == bits[i])
				n->event = i;
	}
	if (dp_tlv_find(meta->value, meta->len, 0x0C, &m) != DP_OK || m.len >= sizeof(n->address))
		return dp_err_set(DP_ERR_LPA_EUICC, "NotificationMetadata without an address");
	memcpy(n->address, m.value, m.len);
	if (dp_tlv_find(meta->value, meta->len, 0x5A, &m) == DP_OK &&
	    dp_lpa_iccid_to_digits(m.value, m.len, n->iccid) != DP_OK)
		n->iccid[0] = '\0';
	return DP_OK;
}

/* Sends an ES10 request of `tag` with value (len bytes) and returns the A0 list inside
 * the `tag` response in *list. */
static int es10_list(struct dp_lpa *l, uint32_t tag, const uint8_t *value, size_t len,
		     struct dp_buf *resp, struct dp_tlv *list)
{
	struct dp_buf cmd;
	struct dp_tlv t;
	dp_buf_init(&cmd, 256);
	int r = dp_tlv_append(&cmd, tag, value, len);
	if (r == DP_OK)
		r = es10(l, &cmd, resp);
	if (r == DP_OK)
		r = es10_expect(resp, tag, &t);
	if (r == DP_OK && dp_tlv_expect(t.value, t.len, 0xA0, list) != DP_OK)
		r = dp_err_set(DP_ERR_LPA_EUICC, "%X: the eUICC answered an error", (unsigned)tag);
	dp_buf_deinit(&cmd);
	return r;
}

int dp_lpa_notification_list(struct dp_lpa *l, struct dp_lpa_notification *out, size_t max,
			     size_t *n)
{
	struct dp_buf resp;
	struct dp_tlv list, meta;
	*n = 0;
	dp_buf_init(&resp, DP_EUICC_ES10_RESP_MAX);
	int r = es10_list(l, TAG_LIST_NOTIFICATION, NULL, 0, &resp, &list);
	struct dp_cursor c = dp_cursor_make(list.value, r == DP_OK ? list.len : 0);
	while (r == DP_OK && !dp_cursor_done(&c) && *n < max) {
		if (dp_tlv_next(&c, &meta) != DP_OK || meta.tag != TAG_NOTIFICATION_METADATA)
			r = dp_err_set(DP_ERR_LPA_EUICC, "ListNotification entry");
		else if ((r = read_metadata(&meta, &out[*n])) == DP_OK)
			(*n)++;
	}
	dp_buf_deinit(&resp);
	return r;
}

int dp_lpa_notification_send(struct dp_lpa *l, uint64_t seq)
{
	static const struct dp_lpa_es9_member none[] = {{0}};
	uint8_t req[12], seqb[9];
	size_t k = 0;
	struct dp_buf resp, cmd;
	struct dp_tlv list, pending, meta, inner;
	struct dp_lpa_notification note;
	struct dp_lpa_es9_response es9 = {0};
	/* A0 { 80 seq } as a minimal unsigned INTEGER */
	uint64_t v = seq;
	do {
		seqb[sizeof(seqb) - 1 - k++] = (uint8_t)v;
		v >>= 8;
	} while (v != 0);
	if (seqb[sizeof(seqb) - k] & 0x80)
		seqb[sizeof(seqb) - 1 - k++] = 0;
	req[0] = 0xA0, req[1] = (uint8_t)(k + 2), req[2] = 0x80, req[3] = (uint8_t)k;
	memcpy(req + 4, seqb + sizeof(seqb) - k, k);
	dp_buf_init(&resp, DP_EUICC_ES10_RESP_MAX);
	dp_buf_init(&cmd, 64);
	int r = es10_list(l, TAG_RETRIEVE_NOTIFICATIONS, req, k + 4, &resp, &list);
	if (r != DP_OK)
		goto out;
	if (list.len == 0) {
		r = dp_err_set(DP_ERR_NOT_FOUND, "no pending notification %llu",
			       (unsigned long long)seq);
		goto out;
	}
	/* PendingNotification: BF37 { BF27 { .., BF2F } } or 30 { BF2F, ... } */
	if (dp_tlv_expect(list.value, list.len, 0, &pending) != DP_OK ||
	    (pending.tag == TAG_PIR
		 ? dp_tlv_find(pending.value, pending.len, TAG_PIR_DATA, &inner) != DP_OK ||
		       dp_tlv_find(inner.value, inner.len, TAG_NOTIFICATION_METADATA, &meta) !=
			   DP_OK
		 : pending.tag != 0x30 || dp_tlv_find(pending.value, pending.len,
						      TAG_NOTIFICATION_METADATA, &meta) != DP_OK)) {
		r = dp_err_set(DP_ERR_LPA_EUICC, "PendingNotification %llu is malformed",
			       (unsigned long long)seq);
		goto out;
	}
	if ((r = read_metadata(&meta, &note)) != DP_OK)
		goto out;
	const struct dp_lpa_es9_field fields[] = {
	    {"pendingNotification", DP_LPA_ES9_FIELD_BASE64, pending.raw, pending.raw_len},
	};
	if ((r = es9_call(l, note.address, "handleNotification", fields, 1, none, 0, true, &es9)) !=
	    DP_OK)
		goto out;
	/* Delivered: NotificationSent BF30 { 80 seq } -> BF30 { 80 status } */
	struct dp_tlv t, st;
	if ((r = dp_tlv_append(&cmd, TAG_NOTIFICATION_SENT, req + 2, k + 2)) != DP_OK ||
	    (r = es10(l, &cmd, &resp)) != DP_OK ||
	    (r = es10_expect(&resp, TAG_NOTIFICATION_SENT, &t)) != DP_OK)
		goto out;
	if (dp_tlv_expect(t.value, t.len, 0x80, &st) != DP_OK || st.len != 1 || st.value[0] != 0) {
		r = dp_err_set(DP_ERR_LPA_EUICC, "NotificationSent %llu not removed",
			       (unsigned long long)seq);
		goto out;
	}
	dp_log_info(DP_LOG_LPA, "notification %llu delivered to %s and removed",
		    (unsigned long long)seq, note.address);
	r = DP_OK;
out:
	dp_lpa_es9_response_deinit(&es9);
	dp_buf_deinit(&resp);
	dp_buf_deinit(&cmd);
	return r;
}

int dp_lpa_notification_send_all(struct dp_lpa *l, size_t *sent)
{
	struct dp_lpa_notification notes[32];
	size_t n;
	*sent = 0;
	int r = dp_lpa_notification_list(l, notes, 32, &n);
	for (size_t i = 0; r == DP_OK && i < n; i++) {
		int one = dp_lpa_notification_send(l, notes[i].seq);
		if (one == DP_OK)
			(*sent)++;
		else if (r == DP_OK)
			r = one;
	}
	return r;
}

/* ---- the one-call download ---- */

int dp_lpa_download(struct dp_lpa *l, const struct dp_lpa_download_params *p,
		    struct dp_lpa_install_result *res)
{
	int r, cancel = DP_LPA_CANCEL_UNDEFINED;
	memset(res, 0, sizeof(*res));
	res->bpp_command = -1;
	if ((r = dp_lpa_initiate_authentication(l, p->smdp_address)) != DP_OK)
		return r;
	if ((r = dp_lpa_authenticate_client(l, p->matching_id)) != DP_OK)
		goto fail;
	if (l->cc_required && p->confirmation_code == NULL) {
		r = dp_err_set(DP_ERR_INVAL, "the SM-DP+ asks for a confirmation code");
		cancel = DP_LPA_CANCEL_END_USER_REJECTION;
		goto fail;
	}
	if ((r = dp_lpa_prepare_download(l, p->confirmation_code)) != DP_OK) {
		/* the eUICC's error response still goes to the SM-DP+ (SGP.22 3.1.3.3) */
		if (r == DP_ERR_LPA_EUICC && !l->o.keep_euicc_errors &&
		    l->prepare_response.len != 0 && dp_lpa_get_bound_profile_package(l) != DP_OK)
			dp_log_info(DP_LOG_LPA, "PrepareDownload error reported to the SM-DP+");
		return r;
	}
	if ((r = dp_lpa_get_bound_profile_package(l)) != DP_OK)
		goto fail;
	/* From here the eUICC ends the session itself and the PIR is the result. */
	r = dp_lpa_load_bound_profile_package(l, res);
	if (r != DP_OK && r != DP_ERR_LPA_EUICC)
		goto fail;
	if (l->pir.len != 0 && !p->keep_pir) {
		struct dp_lpa_notification notes[32];
		size_t n = 0;
		int s = dp_lpa_notification_list(l, notes, 32, &n);
		/* the newest install notification is this PIR */
		for (size_t i = n; s == DP_OK && i-- > 0;) {
			if (notes[i].event == DP_LPA_EVENT_INSTALL) {
				if (dp_lpa_notification_send(l, notes[i].seq) != DP_OK)
					dp_log_warn(DP_LOG_LPA, "PIR not delivered: %s",
						    dp_err_detail());
				break;
			}
		}
	}
	return r;
fail : {
	/* Keep the first error (and its detail) over the cancel's. */
	char detail[256];
	snprintf(detail, sizeof(detail), "%s", dp_err_detail());
	struct dp_lpa_call call = l->last;
	int euicc_error = l->euicc_error;
	if (dp_lpa_cancel_session(l, cancel) != DP_OK)
		dp_log_warn(DP_LOG_LPA, "cancelSession after the failure: %s", dp_err_detail());
	l->last = call;
	l->euicc_error = euicc_error;
	return dp_err_set(r, "%s", detail);
}
}

/* ---- profiles ---- */

int dp_lpa_profile_list(struct dp_lpa *l, struct dp_lpa_profile *out, size_t max, size_t *n)
{
	struct dp_buf resp;
	struct dp_tlv list, info, m;
	*n = 0;
	dp_buf_init(&resp, DP_EUICC_ES10_RESP_MAX);
	int r = es10_list(l, TAG_PROFILES_INFO, NULL, 0, &resp, &list);
	struct dp_cursor c = dp_cursor_make(list.value, r == DP_OK ? list.len : 0);
	while (r == DP_OK && !dp_cursor_done(&c) && *n < max) {
		struct dp_lpa_profile *p = &out[*n];
		memset(p, 0, sizeof(*p));
		p->profile_class = 2;
		if (dp_tlv_next(&c, &info) != DP_OK || info.tag != 0xE3) {
			r = dp_err_set(DP_ERR_LPA_EUICC, "ProfileInfo entry");
			break;
		}
		if (dp_tlv_find(info.value, info.len, 0x5A, &m) != DP_OK ||
		    dp_lpa_iccid_to_digits(m.value, m.len, p->iccid) != DP_OK) {
			r = dp_err_set(DP_ERR_LPA_EUICC, "ProfileInfo without a readable ICCID");
			break;
		}
		if (dp_tlv_find(info.value, info.len, 0x4F, &m) == DP_OK && m.len <= 16) {
			memcpy(p->aid, m.value, m.len);
			p->aid_len = m.len;
		}
		if (dp_tlv_find(info.value, info.len, 0x9F70, &m) == DP_OK && m.len == 1)
			p->enabled = m.value[0] == 1;
		if (dp_tlv_find(info.value, info.len, 0x91, &m) == DP_OK &&
		    m.len < sizeof(p->sp_name))
			memcpy(p->sp_name, m.value, m.len);
		if (dp_tlv_find(info.value, info.len, 0x92, &m) == DP_OK && m.len < sizeof(p->name))
			memcpy(p->name, m.value, m.len);
		if (dp_tlv_find(info.value, info.len, 0x95, &m) == DP_OK && m.len == 1)
			p->profile_class = m.value[0];
		(*n)++;
	}
	dp_buf_deinit(&resp);
	return r;
}

/* Enable/Disable: tag { A0 { 5A iccid }, 81 refreshFlag false }; Delete: BF33 { 5A }. */
static int profile_op(struct dp_lpa *l, uint32_t tag, const char *fn, const char *iccid,
		      int *result)
{
	uint8_t bcd[10], body[20];
	struct dp_buf cmd, resp;
	struct dp_tlv t, m;
	size_t k = 0;
	*result = -1;
	int r = dp_lpa_iccid_from_digits(iccid, bcd);
	if (r != DP_OK)
		return r;
	if (tag != TAG_DELETE)
		body[k++] = 0xA0, body[k++] = 12;
	body[k++] = 0x5A, body[k++] = 10;
	memcpy(body + k, bcd, 10);
	k += 10;
	if (tag != TAG_DELETE)
		body[k++] = 0x81, body[k++] = 1, body[k++] = 0x00;
	dp_buf_init(&cmd, 64);
	dp_buf_init(&resp, 256);
	if ((r = dp_tlv_append(&cmd, tag, body, k)) != DP_OK ||
	    (r = es10(l, &cmd, &resp)) != DP_OK || (r = es10_expect(&resp, tag, &t)) != DP_OK)
		goto out;
	if (dp_tlv_expect(t.value, t.len, 0x80, &m) != DP_OK || m.len != 1) {
		r = dp_err_set(DP_ERR_LPA_EUICC, "%s response", fn);
		goto out;
	}
	*result = m.value[0];
	l->euicc_error = *result;
	r = *result == 0 ? DP_OK
			 : dp_err_set(DP_ERR_LPA_EUICC, "%s %s: result %d", fn, iccid, *result);
out:
	dp_buf_deinit(&cmd);
	dp_buf_deinit(&resp);
	return r;
}

int dp_lpa_profile_enable(struct dp_lpa *l, const char *iccid, int *result)
{
	return profile_op(l, TAG_ENABLE, "EnableProfile", iccid, result);
}

int dp_lpa_profile_disable(struct dp_lpa *l, const char *iccid, int *result)
{
	return profile_op(l, TAG_DISABLE, "DisableProfile", iccid, result);
}

int dp_lpa_profile_delete(struct dp_lpa *l, const char *iccid, int *result)
{
	return profile_op(l, TAG_DELETE, "DeleteProfile", iccid, result);
}

/* ---- accessors ---- */

const struct dp_lpa_call *dp_lpa_last_call(const struct dp_lpa *l)
{
	return &l->last;
}

const char *dp_lpa_transaction_id(const struct dp_lpa *l)
{
	return l->tid_hex;
}

const char *dp_lpa_smdp_address(const struct dp_lpa *l)
{
	return l->address;
}

int dp_lpa_euicc_error(const struct dp_lpa *l)
{
	return l->euicc_error;
}

bool dp_lpa_cc_required(const struct dp_lpa *l)
{
	return l->cc_required;
}

static const uint8_t *bytes(const struct dp_buf *b, size_t *len)
{
	*len = b->len;
	return b->len ? b->data : NULL;
}

const uint8_t *dp_lpa_profile_metadata(const struct dp_lpa *l, size_t *len)
{
	return bytes(&l->metadata, len);
}

const uint8_t *dp_lpa_bpp(const struct dp_lpa *l, size_t *len)
{
	return bytes(&l->bpp, len);
}

const uint8_t *dp_lpa_pir(const struct dp_lpa *l, size_t *len)
{
	return bytes(&l->pir, len);
}

const struct dp_buf *dp_lpa_last_request(const struct dp_lpa *l)
{
	return &l->request;
}
