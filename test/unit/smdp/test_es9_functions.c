/* The five ES9+ handlers called in-process with malformed and out-of-order input (issue 6
 * item 3: no input gives a 5xx, a crash or a partial write; SGP.22 6.5.2, download-path.md
 * 2.5, 4.3, 5.2-5.6). A temp SQLite order book and a CI store from a generated test PKI
 * stand behind the handlers; valid requests come from the test LPA and eUICC through a
 * transport hook, and each refusal is checked for its exact HTTP status, subject and
 * reason code, and for an order book left exactly as it was. */
#include "test/support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/base/codec.h"
#include "pki/crypto/ecdsa.h"
#include "pki/crypto/testpki.h"
#include "profilegen/profilegen.h"
#include "smdp/es9.h"
#include "smdp/es9_routes.h"
#include "test/fuzz/es9_functions_fixture.h"
#include "test/lpa/lpa.h"

#define ADDRESS "testsmdpplus1.example.com"
#define JSON_CT "application/json"

static struct {
	char dir[64];
	struct dp_config cfg;
	struct dp_smdp smdp;
	struct dp_buf ts48;  /* the TS.48 package every profile is made from */
	unsigned next_iccid; /* a fresh ICCID per profile */
	unsigned next_mid;   /* a fresh matching ID per order */
} G;

/* ---- small helpers ---- */

static void set_path(char *out, size_t cap, const char *set, const char *file)
{
	snprintf(out, cap, "%s/%s/%s", G.dir, set, file);
}

/* The DER of a certificate of a generated set ("a": the server's, "b": a foreign CI). */
static void cert_der(const char *set, const char *file, struct dp_buf *out)
{
	char p[128];
	struct dp_cert *c = NULL;
	size_t n;
	set_path(p, sizeof(p), set, file);
	assert_int_equal(dp_cert_load_file(p, &c), DP_OK);
	const uint8_t *der = dp_cert_der(c, &n);
	dp_buf_init(out, 4096);
	assert_int_equal(dp_buf_append(out, der, n), DP_OK);
	dp_cert_free(c);
}

static void ski_of(const char *set, uint8_t ski[20])
{
	char p[128];
	struct dp_cert *c = NULL;
	const uint8_t *s;
	size_t n;
	set_path(p, sizeof(p), set, "ci-cert.pem");
	assert_int_equal(dp_cert_load_file(p, &c), DP_OK);
	assert_int_equal(dp_cert_ski(c, &s, &n), DP_OK);
	assert_int_equal(n, 20);
	memcpy(ski, s, 20);
	dp_cert_free(c);
}

static char *b64(const uint8_t *p, size_t n)
{
	struct dp_buf b;
	const char *s;
	dp_buf_init(&b, n * 2 + 8);
	assert_int_equal(dp_b64_encode(p, n, &b), DP_OK);
	assert_int_equal(dp_buf_cstr(&b, &s), DP_OK);
	char *out = strdup(s);
	dp_buf_deinit(&b);
	return out;
}

static char *hex(const uint8_t *p, size_t n)
{
	char *out = malloc(2 * n + 1);
	assert_int_equal(dp_hex_encode(p, n, true, out, 2 * n + 1), DP_OK);
	return out;
}

/* JSON object text from name/value string pairs; a NULL name ends the list. */
static char *body_of(const char *k1, const char *v1, const char *k2, const char *v2)
{
	json_t *o = json_object();
	if (k1 != NULL)
		json_object_set_new(o, k1, json_string(v1));
	if (k2 != NULL)
		json_object_set_new(o, k2, json_string(v2));
	char *t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return t;
}

/* A captured request body with one member replaced (NULL value: removed; a value starting
 * with '=' is raw JSON, e.g. "=42"). */
static char *body_edit(const struct dp_buf *body, const char *name, const char *value)
{
	json_t *o = json_loadb((const char *)body->data, body->len, 0, NULL);
	assert_non_null(o);
	if (value == NULL)
		json_object_del(o, name);
	else if (value[0] == '=')
		json_object_set_new(o, name, json_loads(value + 1, JSON_DECODE_ANY, NULL));
	else
		json_object_set_new(o, name, json_string(value));
	char *t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return t;
}

/* The decoded bytes of a base64 member of a captured body. */
static void body_member(const struct dp_buf *body, const char *name, struct dp_buf *out)
{
	json_t *o = json_loadb((const char *)body->data, body->len, 0, NULL);
	assert_non_null(o);
	const char *s = json_string_value(json_object_get(o, name));
	assert_non_null(s);
	dp_buf_init(out, 1 << 20);
	assert_int_equal(dp_b64_decode(s, strlen(s), DP_B64_STRICT, out), DP_OK);
	json_decref(o);
}

/* Rebuilds a TLV whose children (at depth 1: T { c... }; depth 2: T { T2 { c... } }) are
 * kept except child idx, which becomes `with` (a whole TLV; NULL removes it). */
static void tlv_replace(const struct dp_buf *in, int depth, size_t idx, const struct dp_buf *with,
			struct dp_buf *out)
{
	struct dp_tlv top, mid, c;
	struct dp_buf inner, kids;
	assert_int_equal(dp_tlv_read(in->data, in->len, &top), DP_OK);
	mid = top;
	if (depth == 2)
		assert_int_equal(dp_tlv_read(top.value, top.len, &mid), DP_OK);
	dp_buf_init(&kids, 1 << 20);
	struct dp_cursor cur = dp_cursor_make(mid.value, mid.len);
	for (size_t i = 0; !dp_cursor_done(&cur); i++) {
		assert_int_equal(dp_tlv_next(&cur, &c), DP_OK);
		if (i != idx)
			assert_int_equal(dp_buf_append(&kids, c.raw, c.raw_len), DP_OK);
		else if (with != NULL)
			assert_int_equal(dp_buf_append(&kids, with->data, with->len), DP_OK);
	}
	dp_buf_init(&inner, 1 << 20);
	if (depth == 2)
		assert_int_equal(dp_tlv_append(&inner, mid.tag, kids.data, kids.len), DP_OK);
	else
		assert_int_equal(dp_buf_append(&inner, kids.data, kids.len), DP_OK);
	dp_buf_init(out, 1 << 20);
	assert_int_equal(dp_tlv_append(out, top.tag, inner.data, inner.len), DP_OK);
	dp_buf_deinit(&kids);
	dp_buf_deinit(&inner);
}

/* Child idx (at depth 1 or 2, as above) of a TLV. */
static struct dp_tlv tlv_child(const struct dp_buf *in, int depth, size_t idx)
{
	struct dp_tlv top, mid, c;
	assert_int_equal(dp_tlv_read(in->data, in->len, &top), DP_OK);
	mid = top;
	if (depth == 2)
		assert_int_equal(dp_tlv_read(top.value, top.len, &mid), DP_OK);
	struct dp_cursor cur = dp_cursor_make(mid.value, mid.len);
	for (size_t i = 0; i <= idx; i++)
		assert_int_equal(dp_tlv_next(&cur, &c), DP_OK);
	return c;
}

/* A signature TLV 5F37 shortened by one byte, or with one bit flipped. */
static void bad_signature(const struct dp_tlv *sig, bool truncate, struct dp_buf *out)
{
	uint8_t v[128];
	assert_true(sig->tag == DP_ECDSA_TAG && sig->len <= sizeof(v));
	memcpy(v, sig->value, sig->len);
	v[sig->len / 2] ^= 0x01;
	dp_buf_init(out, 256);
	assert_int_equal(dp_tlv_append(out, DP_ECDSA_TAG, v, truncate ? sig->len - 1 : sig->len),
			 DP_OK);
}

/* A constructed TLV with its child of `tag` (which must be there) given value v (NULL:
 * removed). */
static void tlv_set(const struct dp_tlv *parent, uint32_t tag, const void *v, size_t n,
		    struct dp_buf *out)
{
	struct dp_buf kids;
	struct dp_tlv c;
	bool found = false;
	dp_buf_init(&kids, 1 << 20);
	struct dp_cursor cur = dp_cursor_make(parent->value, parent->len);
	while (!dp_cursor_done(&cur)) {
		assert_int_equal(dp_tlv_next(&cur, &c), DP_OK);
		found |= c.tag == tag;
		if (c.tag != tag)
			assert_int_equal(dp_buf_append(&kids, c.raw, c.raw_len), DP_OK);
		else if (v != NULL)
			assert_int_equal(dp_tlv_append(&kids, tag, v, n), DP_OK);
	}
	assert_true(found); /* a test that edits nothing would prove nothing */
	dp_buf_init(out, 1 << 20);
	assert_int_equal(dp_tlv_append(out, parent->tag, kids.data, kids.len), DP_OK);
	dp_buf_deinit(&kids);
}

/* The eUICC of set a signs signed_ || extra, as a real one would have: *out receives a
 * copy of msg (depth as in tlv_replace; the signed TLV is child 0, its signature child 1)
 * carrying signed_ and the new signature. */
static void resign(const struct dp_buf *msg, int depth, const struct dp_buf *signed_,
		   const uint8_t *extra, size_t extra_len, struct dp_buf *out)
{
	char path[128];
	EVP_PKEY *key = NULL;
	struct dp_buf m, sig, tmp;
	set_path(path, sizeof(path), "a", "euicc-key.pem");
	assert_int_equal(dp_cert_key_load_file(path, &key), DP_OK);
	dp_buf_init(&m, 1 << 20);
	dp_buf_init(&sig, 256);
	assert_int_equal(dp_buf_append(&m, signed_->data, signed_->len), DP_OK);
	if (extra_len > 0)
		assert_int_equal(dp_buf_append(&m, extra, extra_len), DP_OK);
	assert_int_equal(dp_ecdsa_sign_tlv(key, m.data, m.len, &sig), DP_OK);
	tlv_replace(msg, depth, 0, signed_, &tmp);
	tlv_replace(&tmp, depth, 1, &sig, out);
	dp_buf_deinit(&tmp);
	dp_buf_deinit(&sig);
	dp_buf_deinit(&m);
	EVP_PKEY_free(key);
}

/* ---- calling a handler ---- */

struct result {
	unsigned status;
	char exec[32], subject[16], reason[16];
	struct dp_buf body; /* the response body */
};

static dp_http_handler handler_of(const char *function)
{
	char path[96];
	size_t n;
	const struct dp_http_route *r = dp_es9_routes(&n);
	snprintf(path, sizeof(path), "%s%s", DP_ES9_PREFIX, function);
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].path, path) == 0)
			return r[i].handler;
	fail_msg("no route %s", path);
	return NULL;
}

/* Runs one call; the handler must return DP_OK and answer 200 + JSON or 204 + nothing. */
static void call_full(const char *function, const char *ctype, const char *admin,
		      const uint8_t *body, size_t len, struct result *res)
{
	struct dp_http_request req = {.method = "POST",
				      .path = function,
				      .content_type = ctype,
				      .admin_protocol = admin,
				      .body = body,
				      .body_len = len};
	struct dp_http_response resp = {.status = 200};
	memset(res, 0, sizeof(*res));
	dp_buf_init(&resp.body, (size_t)16 << 20);
	assert_int_equal(handler_of(function)(&G.smdp, &req, &resp), DP_OK);
	res->status = resp.status;
	assert_non_null(resp.admin_protocol);
	assert_int_equal(strncmp(resp.admin_protocol, "gsma/rsp/v2.", 12), 0);
	if (resp.status == 204) {
		assert_int_equal(resp.body.len, 0);
		assert_null(resp.content_type);
	} else {
		assert_int_equal(resp.status, 200);
		assert_non_null(resp.content_type);
		assert_int_equal(strncmp(resp.content_type, JSON_CT, strlen(JSON_CT)), 0);
		json_t *o = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
		assert_non_null(o);
		json_t *st =
		    json_object_get(json_object_get(o, "header"), "functionExecutionStatus");
		json_t *cd = json_object_get(st, "statusCodeData");
		const char *s = json_string_value(json_object_get(st, "status"));
		assert_non_null(s);
		snprintf(res->exec, sizeof(res->exec), "%s", s);
		s = json_string_value(json_object_get(cd, "subjectCode"));
		snprintf(res->subject, sizeof(res->subject), "%s", s ? s : "");
		s = json_string_value(json_object_get(cd, "reasonCode"));
		snprintf(res->reason, sizeof(res->reason), "%s", s ? s : "");
		/* a refusal carries the header only, no function data */
		if (strcmp(res->exec, "Failed") == 0)
			assert_int_equal(json_object_size(o), 1);
		json_decref(o);
	}
	const char *text;
	assert_int_equal(dp_buf_cstr(&resp.body, &text), DP_OK);
	res->body = resp.body;
}

static void call(const char *function, const char *body, struct result *res)
{
	call_full(function, JSON_CT, "gsma/rsp/v2.5.0", (const uint8_t *)body, strlen(body), res);
}

/* ---- the order book, as text ---- */

static int snap_profile(void *ctx, const struct dp_db_profile *p)
{
	return dp_buf_printf(ctx, "P %s %s %s\n", p->iccid, dp_profile_state_name(p->state),
			     p->eid);
}

static int snap_order(void *ctx, const struct dp_db_order *o)
{
	return dp_buf_printf(ctx, "O %lld %s %u/%u cc %u/%u %s %s\n", (long long)o->id,
			     o->matching_id, o->attempts, o->max_attempts, o->cc_failures,
			     o->cc_max_attempts, o->closed ? "closed" : "open",
			     dp_profile_state_name(o->profile_state));
}

static int snap_session(void *ctx, const struct dp_db_session *s)
{
	char t[33];
	if (dp_hex_encode(s->tid, s->tid_len, true, t, sizeof(t)) != DP_OK)
		return DP_ERR_INTERNAL;
	return dp_buf_printf(ctx, "S %s stage %d order %lld profile %lld bound %d\n", t,
			     (int)s->stage, (long long)s->order_id, (long long)s->profile_id,
			     s->bound);
}

/* Profiles with state and EID, every order with its counters, the open sessions. */
static char *snapshot(void)
{
	struct dp_buf b;
	struct dp_db_profile_filter f = {.state = DP_PROFILE_STATE_COUNT};
	const char *s;
	dp_buf_init(&b, 1 << 20);
	assert_int_equal(dp_db_profile_list(G.smdp.db, &f, snap_profile, &b), DP_OK);
	assert_int_equal(dp_db_order_list(G.smdp.db, true, snap_order, &b), DP_OK);
	assert_int_equal(dp_db_session_list(G.smdp.db, snap_session, &b), DP_OK);
	assert_int_equal(dp_buf_cstr(&b, &s), DP_OK);
	char *out = strdup(s);
	dp_buf_deinit(&b);
	return out;
}

/* The call is refused with subject/reason (HTTP 200) and the order book is unchanged. */
static void refused_full(const char *function, const char *ctype, const char *admin,
			 const char *body, size_t len, const char *subject, const char *reason)
{
	struct result res;
	char *before = snapshot();
	call_full(function, ctype, admin, (const uint8_t *)body, len, &res);
	if (res.status != 200 || strcmp(res.exec, "Failed") != 0 ||
	    strcmp(res.subject, subject) != 0 || strcmp(res.reason, reason) != 0) {
		/* stderr too: cmocka's TAP output drops the message */
		fprintf(stderr, "%s: expected 200 Failed %s/%s, got %u %s %s/%s: %.*s\n", function,
			subject, reason, res.status, res.exec, res.subject, res.reason,
			(int)res.body.len, (const char *)res.body.data);
		fail();
	}
	char *after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	dp_buf_deinit(&res.body);
}

static void refused(const char *function, const char *body, const char *subject, const char *reason)
{
	refused_full(function, JSON_CT, "gsma/rsp/v2.5.0", body, strlen(body), subject, reason);
}

/* As refused(), taking (and freeing) a body made by body_of / body_edit. */
static void refused_take(const char *function, char *body, const char *subject, const char *reason)
{
	refused(function, body, subject, reason);
	free(body);
}

/* Calls `function` with the base64 of p as member `member` (in a copy of the captured
 * request valid, or alone when valid is NULL) and asserts the refusal. */
static void refused_bytes(const char *function, const struct dp_buf *valid, const char *member,
			  const uint8_t *p, size_t n, const char *subject, const char *reason)
{
	char *t = b64(p, n);
	char *body = valid != NULL ? body_edit(valid, member, t) : body_of(member, t, NULL, NULL);
	refused_take(function, body, subject, reason);
	free(t);
}

/* refused_bytes with the bytes of x, which it deinits. */
static void refused_as(const char *function, const struct dp_buf *valid, const char *member,
		       struct dp_buf *x, const char *subject, const char *reason)
{
	refused_bytes(function, valid, member, x->data, x->len, subject, reason);
	dp_buf_deinit(x);
}

/* The signature TLV (child idx of msg, at depth 1 or 2) truncated by one byte, then with
 * one bit flipped: each refused with 8.1/6.1 (refused_bytes for valid and member). */
static void signature_refusals(const char *function, const struct dp_buf *valid, const char *member,
			       const struct dp_buf *msg, int depth, size_t idx)
{
	struct dp_buf x, y;
	struct dp_tlv sig = tlv_child(msg, depth, idx);
	for (int trunc = 0; trunc < 2; trunc++) {
		bad_signature(&sig, trunc, &y);
		tlv_replace(msg, depth, idx, &y, &x);
		refused_as(function, valid, member, &x, "8.1", "6.1");
		dp_buf_deinit(&y);
	}
}

/* The call answers 204 and leaves the order book as it was. */
static void no_content_unchanged(const char *function, const char *body)
{
	struct result res;
	char *before = snapshot();
	call(function, body, &res);
	assert_int_equal(res.status, 204);
	char *after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
	dp_buf_deinit(&res.body);
}

static void succeeds(const char *function, const char *body)
{
	struct result res;
	call(function, body, &res);
	if (res.status == 200 && strcmp(res.exec, "Executed-Success") != 0)
		fail_msg("%s: %s %s/%s: %.*s", function, res.exec, res.subject, res.reason,
			 (int)res.body.len, (const char *)res.body.data);
	dp_buf_deinit(&res.body);
}

/* ---- the test LPA through a hook ---- */

struct hook {
	bool forward;	   /* run the handler; else record the body and refuse */
	struct dp_buf req; /* the last request body */
	struct result res; /* the last forwarded answer */
};

static const char canned_refusal[] =
    "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\",\"statusCodeData\":"
    "{\"subjectCode\":\"1.2\",\"reasonCode\":\"4.2\",\"message\":\"captured\"}}}}";

static int hook_call(void *ctx, const char *address, const char *function,
		     const struct dp_buf *body, struct dp_lpa_http_response *out)
{
	struct hook *h = ctx;
	(void)address;
	dp_buf_reset(&h->req);
	assert_int_equal(dp_buf_append(&h->req, body->data, body->len), DP_OK);
	memset(out, 0, sizeof(*out));
	out->admin_protocol = "gsma/rsp/v2.5.0";
	out->status = 200;
	if (!h->forward) {
		out->content_type = JSON_CT;
		out->body = (const uint8_t *)canned_refusal;
		out->len = strlen(canned_refusal);
		return DP_OK;
	}
	dp_buf_deinit(&h->res.body);
	call_full(function, JSON_CT, "gsma/rsp/v2.5.0", body->data, body->len, &h->res);
	out->status = h->res.status;
	out->content_type = h->res.status == 204 ? NULL : JSON_CT;
	out->body = h->res.body.data;
	out->len = h->res.body.len;
	return DP_OK;
}

/* A device: the test eUICC of set a and an LPA talking to the handlers in-process. */
struct device {
	struct dp_euicc *e;
	struct dp_lpa *lpa;
	struct hook hook;
};

static void device_new(struct device *d)
{
	char cert[128], key[128], eum[128], ci[128];
	struct dp_euicc_identity *id = NULL;
	memset(d, 0, sizeof(*d));
	set_path(cert, sizeof(cert), "a", "euicc-cert.pem");
	set_path(key, sizeof(key), "a", "euicc-key.pem");
	set_path(eum, sizeof(eum), "a", "eum-cert.pem");
	set_path(ci, sizeof(ci), "a", "ci-cert.pem");
	assert_int_equal(dp_euicc_identity_load(cert, key, eum, &id), DP_OK);
	assert_int_equal(dp_euicc_identity_add_ci(id, ci, true), DP_OK);
	assert_int_equal(dp_euicc_new(id, &d->e), DP_OK);
	dp_buf_init(&d->hook.req, 1 << 20);
	d->hook.forward = true;
	struct dp_lpa_options o = {.transport = hook_call, .transport_ctx = &d->hook};
	assert_int_equal(dp_lpa_new(d->e, &o, &d->lpa), DP_OK);
}

static void device_free(struct device *d)
{
	dp_lpa_free(d->lpa);
	dp_euicc_free(d->e);
	dp_buf_deinit(&d->hook.req);
	dp_buf_deinit(&d->hook.res.body);
}

/* A NUL-terminated copy of a request body (the NUL not counted). */
static void copy_cstr(const struct dp_buf *from, struct dp_buf *to)
{
	const char *s;
	dp_buf_init(to, 1 << 20);
	assert_int_equal(dp_buf_append(to, from->data, from->len), DP_OK);
	assert_int_equal(dp_buf_cstr(to, &s), DP_OK);
}

/* Runs one LPA step with the hook recording only: *body receives the request it sent. */
#define CAPTURE(d, body, step)                                                                     \
	do {                                                                                       \
		(d)->hook.forward = false;                                                         \
		assert_int_equal((step), DP_ERR_LPA_REFUSED);                                      \
		(d)->hook.forward = true;                                                          \
		copy_cstr(&(d)->hook.req, (body));                                                 \
	} while (0)

/* A profile (TS.48 A with a fresh ICCID) and an order for it; returns the matching ID. */
static void new_order(char mid[16], char iccid[21])
{
	char ic[21];
	assert_int_equal(es9f_profile_add(G.smdp.db, G.ts48.data, G.ts48.len,
					  7000 + G.next_iccid++, "es9", "es9 test", 2, 0, ic),
			 DP_OK);
	snprintf(mid, 16, "MID-%u", G.next_mid++);
	struct dp_db_order_new o = {
	    .matching_id = mid,
	    .iccid = ic,
	    .max_attempts = 5,
	    .cc_max_attempts = 3,
	    .owner = "test",
	};
	assert_int_equal(dp_db_order_add(G.smdp.db, &o, "test", NULL, NULL), DP_OK);
	if (iccid != NULL)
		memcpy(iccid, ic, 21);
}

static enum dp_profile_state state_of(const char *iccid)
{
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	assert_int_equal(dp_db_profile_get(G.smdp.db, iccid, false, &p), DP_OK);
	enum dp_profile_state s = p.state;
	dp_db_profile_deinit(&p);
	return s;
}

/* The stored session of an LPA's current transactionId. */
static void session_of(struct dp_lpa *l, struct dp_db_session *s)
{
	uint8_t tid[16];
	size_t n;
	const char *th = dp_lpa_transaction_id(l);
	assert_int_equal(dp_hex_decode(th, strlen(th), tid, sizeof(tid), &n), DP_OK);
	dp_db_session_init(s);
	assert_int_equal(dp_db_session_get(G.smdp.db, tid, n, s), DP_OK);
}

static const uint8_t other16[16] = {0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

/* A well-formed transactionId no session has. */
static char *unknown_tid(void)
{
	uint8_t t[16];
	assert_int_equal(RAND_bytes(t, 16), 1);
	return hex(t, 16);
}

/* The transactionId refusals every function with one shares: empty, 17 octets, odd
 * length, not hex, not a string (1.6/2.1), missing (1.6/2.2), unknown (8.10.1/3.9). */
static void tid_refusals(const char *function, const struct dp_buf *valid)
{
	char *e = body_edit(valid, "transactionId", "");
	struct result res;
	call(function, e, &res);
	/* the detail names the real fault, not a stale one */
	assert_non_null(strstr((const char *)res.body.data, "(0 hex digits)"));
	dp_buf_deinit(&res.body);
	refused_take(function, e, "1.6", "2.1");
	refused_take(function,
		     body_edit(valid, "transactionId", "00112233445566778899AABBCCDDEEFF00"), "1.6",
		     "2.1");
	refused_take(function, body_edit(valid, "transactionId", "ABC"), "1.6", "2.1");
	refused_take(function, body_edit(valid, "transactionId", "XYZW"), "1.6", "2.1");
	refused_take(function, body_edit(valid, "transactionId", "=17"), "1.6", "2.1");
	refused_take(function, body_edit(valid, "transactionId", NULL), "1.6", "2.2");
	char *t = unknown_tid();
	refused_take(function, body_edit(valid, "transactionId", t), "8.10.1", "3.9");
	free(t);
}

/* Refusals of a base64 DER member shared by every function: wrong JSON type, bad base64,
 * empty, not one TLV (truncated, trailing bytes), missing. */
static void b64_refusals(const char *function, const struct dp_buf *valid, const char *member)
{
	struct dp_buf der;
	body_member(valid, member, &der);
	refused_take(function, body_edit(valid, member, "=42"), "1.6", "2.1");
	refused_take(function, body_edit(valid, member, "=[\"AA==\"]"), "1.6", "2.1");
	refused_take(function, body_edit(valid, member, "not*base64!"), "1.6", "2.1");
	refused_take(function, body_edit(valid, member, "QUJD="), "1.6", "2.1");
	refused_take(function, body_edit(valid, member, ""), "1.6", "2.1");
	char *t = b64(der.data, der.len - 1);
	refused_take(function, body_edit(valid, member, t), "1.6", "2.1");
	free(t);
	assert_int_equal(dp_buf_append_byte(&der, 0x00), DP_OK);
	t = b64(der.data, der.len);
	refused_take(function, body_edit(valid, member, t), "1.6", "2.1");
	free(t);
	refused_take(function, body_edit(valid, member, NULL), "1.6", "2.2");
	dp_buf_deinit(&der);
}

/* Refusals of the request as a whole: content type, X-Admin-Protocol, not JSON, not an
 * object, duplicated members (1.6/2.1), an empty object (1.6/2.2). */
static void request_refusals(const char *function, const struct dp_buf *valid)
{
	const char *v = (const char *)valid->data;
	refused_full(function, "text/plain", "gsma/rsp/v2.5.0", v, valid->len, "1.6", "2.1");
	refused_full(function, NULL, "gsma/rsp/v2.5.0", v, valid->len, "1.6", "2.1");
	refused_full(function, "application/jsonx", NULL, v, valid->len, "1.6", "2.1");
	refused_full(function, JSON_CT, "gsma/rsp/v1.0.0", v, valid->len, "1.6", "2.1");
	refused(function, "", "1.6", "2.1");
	refused(function, "not json", "1.6", "2.1");
	refused(function, "{\"transactionId\":", "1.6", "2.1");
	refused(function, "[1,2]", "1.6", "2.1");
	refused(function, "\"text\"", "1.6", "2.1");
	refused(function, "{\"a\":1,\"a\":2}", "1.6", "2.1");
	refused_full(function, JSON_CT, NULL, "{\"x\":\0}", 7, "1.6", "2.1");
	refused(function, "{}", "1.6", "2.2");
	refused(function, "{\"header\":{\"functionRequesterIdentifier\":\"x\"}}", "1.6", "2.2");
	/* JSON nested past the parser's depth limit; every member far over its maximum (the
	 * HTTP layer caps bodies at body_max; a handler is called with anything below) */
	struct dp_buf big;
	const char *cs;
	dp_buf_init(&big, 4u << 20);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(dp_buf_append_byte(&big, '['), DP_OK);
	assert_int_equal(dp_buf_cstr(&big, &cs), DP_OK);
	refused(function, cs, "1.6", "2.1");
	json_t *o = json_loadb((const char *)valid->data, valid->len, 0, NULL);
	const char *key;
	json_t *val;
	size_t n = 0;
	char *filler = malloc((1u << 20) + 1); /* valid base64 of 768 KiB */
	memset(filler, 'A', 1u << 20);
	filler[1u << 20] = '\0';
	json_object_foreach(o, key, val)
	{
		char *b = body_edit(valid, key, filler);
		refused(function, b, "1.6", "2.1");
		free(b);
		n++;
	}
	assert_true(n >= 1);
	free(filler);
	json_decref(o);
	dp_buf_deinit(&big);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	char a[128], b[128], eid[DP_CERT_EID_DIGITS + 1], db[128];
	(void)state;
	snprintf(G.dir, sizeof(G.dir), "/tmp/smdp-es9f-XXXXXX");
	assert_non_null(mkdtemp(G.dir));
	assert_int_equal(dp_asn1_init(), DP_OK);
	snprintf(a, sizeof(a), "%s/a", G.dir);
	snprintf(b, sizeof(b), "%s/b", G.dir);
	struct dp_testpki_set sa = {.dir = a, .host = ADDRESS};
	struct dp_testpki_set sb = {.dir = b, .host = ADDRESS};
	assert_int_equal(dp_testpki_init(&sa, eid), DP_OK);
	assert_int_equal(dp_testpki_init(&sb, eid), DP_OK);
	assert_int_equal(dp_config_init(&G.cfg), DP_OK);
	assert_int_equal(dp_config_set(&G.cfg, "pki_dirs", a), DP_OK);
	G.smdp.cfg = &G.cfg;
	assert_int_equal(dp_smdp_parse_svn(G.cfg.svn_min, G.smdp.svn_min), DP_OK);
	assert_int_equal(dp_smdp_parse_svn(G.cfg.svn_max, G.smdp.svn_max), DP_OK);
	assert_int_equal(dp_smdp_load_pki(&G.cfg, &G.smdp.ci, G.smdp.oid), DP_OK);
	snprintf(G.smdp.address, sizeof(G.smdp.address), "%s", ADDRESS);
	snprintf(db, sizeof(db), "%s/smdp.db", G.dir);
	assert_int_equal(dp_db_open(db, &G.smdp.db), DP_OK);
	dp_test_read_file(dp_test_shared("ts48/TS48v1_A.der"), &G.ts48);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];
	(void)state;
	dp_db_close(G.smdp.db);
	dp_ci_store_free(G.smdp.ci);
	dp_config_deinit(&G.cfg);
	dp_buf_deinit(&G.ts48);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", G.dir);
	return system(cmd) == 0 ? 0 : 1;
}

/* ---- initiateAuthentication ---- */

/* EUICCInfo1 with this SVN and CI lists of one SKI each (NULL: an empty list). */
static char *info1_of(const uint8_t svn[3], const uint8_t *verify, const uint8_t *sign)
{
	struct dp_buf v, l, out;
	dp_buf_init(&v, 256);
	dp_buf_init(&l, 64);
	dp_buf_init(&out, 256);
	assert_int_equal(dp_tlv_append(&v, 0x82, svn, 3), DP_OK);
	if (verify != NULL)
		assert_int_equal(dp_tlv_append(&l, 0x04, verify, 20), DP_OK);
	assert_int_equal(dp_tlv_append(&v, 0xA9, l.data, l.len), DP_OK);
	dp_buf_reset(&l);
	if (sign != NULL)
		assert_int_equal(dp_tlv_append(&l, 0x04, sign, 20), DP_OK);
	assert_int_equal(dp_tlv_append(&v, 0xAA, l.data, l.len), DP_OK);
	assert_int_equal(dp_tlv_append(&out, 0xBF20, v.data, v.len), DP_OK);
	char *t = b64(out.data, out.len);
	dp_buf_deinit(&v);
	dp_buf_deinit(&l);
	dp_buf_deinit(&out);
	return t;
}

static void initiate_authentication_malformed(void **state)
{
	struct device d;
	struct dp_buf valid;
	uint8_t ski_a[20], ski_b[20];
	static const uint8_t svn_ok[3] = {2, 2, 0}, svn_high[3] = {9, 0, 0};
	(void)state;
	device_new(&d);
	CAPTURE(&d, &valid, dp_lpa_initiate_authentication(d.lpa, ADDRESS));
	const char *f = "initiateAuthentication";
	request_refusals(f, &valid);
	b64_refusals(f, &valid, "euiccInfo1");
	/* euiccChallenge: raw bytes, exactly 16 */
	refused_take(f, body_edit(&valid, "euiccChallenge", "=null"), "1.6", "2.1");
	refused_take(f, body_edit(&valid, "euiccChallenge", "%%%%"), "1.6", "2.1");
	refused_take(f, body_edit(&valid, "euiccChallenge", "AAAAAAAAAAAAAAAAAAAA"), "1.6", "2.1");
	refused_take(f, body_edit(&valid, "euiccChallenge", NULL), "1.6", "2.2");
	/* smdpAddress: a string, ours */
	refused_take(f, body_edit(&valid, "smdpAddress", "=true"), "1.6", "2.1");
	refused_take(f, body_edit(&valid, "smdpAddress", NULL), "1.6", "2.2");
	refused_take(f, body_edit(&valid, "smdpAddress", "other.example.com"), "8.8.1", "3.8");
	refused_take(f, body_edit(&valid, "smdpAddress", ADDRESS ".evil"), "8.8.1", "3.8");
	refused_take(f, body_edit(&valid, "smdpAddress", ""), "8.8.1", "3.8");
	/* a port must be digits: the eUICC signs the address back, the PIR goes to it */
	refused_take(f, body_edit(&valid, "smdpAddress", ADDRESS ":"), "8.8.1", "3.8");
	refused_take(f, body_edit(&valid, "smdpAddress", ADDRESS ":x"), "8.8.1", "3.8");
	refused_take(f, body_edit(&valid, "smdpAddress", ADDRESS ":443/evil"), "8.8.1", "3.8");
	refused_take(f, body_edit(&valid, "smdpAddress", ADDRESS ":1234567"), "8.8.1", "3.8");
	refused_take(f, body_edit(&valid, "smdpAddress", "other.example.com:443"), "8.8.1", "3.8");
	/* euiccInfo1: one TLV of another tag; BF20 not matching the schema */
	static const uint8_t seq[] = {0x30, 0x00}, bad[] = {0xBF, 0x20, 0x03, 0x04, 0x01, 0x00};
	static const uint8_t wrong_list[] = {0xBF, 0x20, 0x0B, 0x82, 0x03, 0x02, 0x02,
					     0x00, 0xA9, 0x00, 0xAA, 0x02, 0x05, 0x00};
	char *t = b64(seq, sizeof(seq));
	refused_take(f, body_edit(&valid, "euiccInfo1", t), "1.6", "2.1");
	free(t);
	t = b64(bad, sizeof(bad));
	refused_take(f, body_edit(&valid, "euiccInfo1", t), "1.6", "2.1");
	free(t);
	t = b64(wrong_list, sizeof(wrong_list));
	refused_take(f, body_edit(&valid, "euiccInfo1", t), "1.6", "2.1");
	free(t);
	/* SVN outside the range; no common CI for signing; none we can be verified with */
	ski_of("a", ski_a);
	ski_of("b", ski_b);
	t = info1_of(svn_high, ski_a, ski_a);
	refused_take(f, body_edit(&valid, "euiccInfo1", t), "8.8.3", "3.1");
	free(t);
	t = info1_of(svn_ok, ski_a, ski_b);
	refused_take(f, body_edit(&valid, "euiccInfo1", t), "8.8.2", "3.1");
	free(t);
	t = info1_of(svn_ok, NULL, NULL);
	refused_take(f, body_edit(&valid, "euiccInfo1", t), "8.8.2", "3.1");
	free(t);
	t = info1_of(svn_ok, ski_b, ski_a);
	refused_take(f, body_edit(&valid, "euiccInfo1", t), "8.8.4", "3.7");
	free(t);
	/* our address with a port, or in capitals, is ours */
	char *p443 = body_edit(&valid, "smdpAddress", ADDRESS ":443");
	char *caps = body_edit(&valid, "smdpAddress", "TESTSMDPPLUS1.EXAMPLE.COM");
	succeeds(f, p443);
	succeeds(f, caps);
	free(p443);
	free(caps);
	/* the captured request itself opens exactly one session; unknown members are fine */
	char *before = snapshot();
	t = body_edit(&valid, "header", "={\"functionRequesterIdentifier\":\"eim\"}");
	succeeds(f, t);
	free(t);
	char *after = snapshot();
	assert_string_not_equal(before, after);
	assert_int_equal(strlen(after) - strlen(before),
			 strlen("S 00112233445566778899AABBCCDDEEFF stage 1 order 0 profile 0 "
				"bound 0\n"));
	free(before);
	free(after);
	dp_buf_deinit(&valid);
	device_free(&d);
}

/* ---- authenticateClient ---- */

/* An eUICC's error answer: TLV(tag, A1 { 80 tid, 02 invalidSignature(2) }). */
static void euicc_error_of(uint32_t tag, const uint8_t tid[16], struct dp_buf *out)
{
	struct dp_buf v, a1;
	dp_buf_init(&v, 64);
	dp_buf_init(&a1, 64);
	dp_buf_init(out, 64);
	assert_int_equal(dp_tlv_append(&v, 0x80, tid, 16), DP_OK);
	assert_int_equal(dp_tlv_append(&v, 0x02, "\x02", 1), DP_OK);
	assert_int_equal(dp_tlv_append(&a1, 0xA1, v.data, v.len), DP_OK);
	assert_int_equal(dp_tlv_append(out, tag, a1.data, a1.len), DP_OK);
	dp_buf_deinit(&v);
	dp_buf_deinit(&a1);
}

static void authenticate_client_malformed(void **state)
{
	struct device d;
	struct dp_buf valid, asr, x, y, foreign_euicc, foreign_eum, our_eum;
	char mid[16], iccid[21];
	(void)state;
	device_new(&d);
	new_order(mid, iccid);
	const char *f = "authenticateClient";
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ADDRESS), DP_OK);
	CAPTURE(&d, &valid, dp_lpa_authenticate_client(d.lpa, mid));
	body_member(&valid, "authenticateServerResponse", &asr);
	request_refusals(f, &valid);
	tid_refusals(f, &valid);
	b64_refusals(f, &valid, "authenticateServerResponse");
	const char *m = "authenticateServerResponse";
	/* one TLV of another tag, and BF38 not matching the schema */
	static const uint8_t pdr_tag[] = {0xBF, 0x21, 0x03, 0xA1, 0x01, 0x00};
	static const uint8_t bad[] = {0xBF, 0x38, 0x03, 0xA0, 0x01, 0x00};
	static const uint8_t choice[] = {0xBF, 0x38, 0x02, 0xA7, 0x00};
	const uint8_t *shapes[] = {pdr_tag, bad, choice};
	size_t shape_len[] = {sizeof(pdr_tag), sizeof(bad), sizeof(choice)};
	for (size_t i = 0; i < 3; i++)
		refused_bytes(f, &valid, m, shapes[i], shape_len[i], "1.6", "2.1");
	/* a member of authenticateResponseOk missing */
	tlv_replace(&asr, 2, 3, NULL, &x);
	refused_as(f, &valid, m, &x, "1.6", "2.1");
	/* the eUICC's error alternative naming another transactionId: refused, and this
	 * session goes on */
	euicc_error_of(0xBF38, other16, &x);
	refused_as(f, &valid, m, &x, "8.1", "6.1");
	/* euiccSignature1 truncated or wrong */
	signature_refusals(f, &valid, m, &asr, 2, 1);
	/* certificates: swapped, garbage, from another CI, eUICC not under our EUM */
	struct dp_tlv c_euicc = tlv_child(&asr, 2, 2), c_eum = tlv_child(&asr, 2, 3);
	struct dp_buf e1, e2;
	dp_buf_init(&e1, 4096);
	dp_buf_init(&e2, 4096);
	assert_int_equal(dp_buf_append(&e1, c_eum.raw, c_eum.raw_len), DP_OK);
	assert_int_equal(dp_buf_append(&e2, c_euicc.raw, c_euicc.raw_len), DP_OK);
	tlv_replace(&asr, 2, 2, &e1, &y);
	tlv_replace(&y, 2, 3, &e2, &x);
	refused_as(f, &valid, m, &x, "8.11.1", "3.9");
	dp_buf_deinit(&y);
	cert_der("b", "euicc-cert.pem", &foreign_euicc);
	cert_der("b", "eum-cert.pem", &foreign_eum);
	cert_der("a", "eum-cert.pem", &our_eum);
	assert_bytes_equal(our_eum.data, our_eum.len, c_eum.raw, c_eum.raw_len);
	tlv_replace(&asr, 2, 2, &foreign_euicc, &y);
	tlv_replace(&y, 2, 3, &foreign_eum, &x);
	refused_as(f, &valid, m, &x, "8.11.1", "3.9");
	dp_buf_deinit(&y);
	tlv_replace(&asr, 2, 2, &foreign_euicc, &x);
	refused_as(f, &valid, m, &x, "8.1.3", "6.1");
	/* a certificate with one byte of its signature changed */
	dp_buf_reset(&e1);
	assert_int_equal(dp_buf_append(&e1, c_euicc.raw, c_euicc.raw_len), DP_OK);
	e1.data[e1.len - 3] ^= 0x01;
	tlv_replace(&asr, 2, 2, &e1, &x);
	refused_as(f, &valid, m, &x, "8.1.3", "6.1");
	dp_buf_reset(&e1);
	assert_int_equal(dp_buf_append(&e1, c_eum.raw, c_eum.raw_len), DP_OK);
	e1.data[e1.len - 3] ^= 0x01;
	tlv_replace(&asr, 2, 3, &e1, &x);
	refused_as(f, &valid, m, &x, "8.1.2", "6.1");
	/* garbage that is still a SEQUENCE in the certificate's place */
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	dp_buf_reset(&e1);
	assert_int_equal(dp_buf_append(&e1, junk, sizeof(junk)), DP_OK);
	for (size_t i = 2; i <= 3; i++) {
		tlv_replace(&asr, 2, i, &e1, &x);
		refused_as(f, &valid, m, &x, i == 2 ? "8.1.3" : "8.1.2", "6.1");
	}
	dp_buf_deinit(&e1);
	dp_buf_deinit(&e2);
	/* euiccSigned1 altered and signed again by the eUICC: every echo is checked */
	struct dp_tlv s1 = tlv_child(&asr, 2, 0);
	const struct {
		uint32_t tag;
		const void *v;
		size_t n;
	} echo[] = {
	    {0x80, other16, 16},
	    {0x80, other16, 8},
	    {0x84, other16, 16},
	    {0x83, "TESTSMDPPLUS1.example.com", strlen(ADDRESS)},
	};
	for (size_t i = 0; i < sizeof(echo) / sizeof(echo[0]); i++) {
		tlv_set(&s1, echo[i].tag, echo[i].v, echo[i].n, &y);
		resign(&asr, 2, &y, NULL, 0, &x);
		refused_as(f, &valid, m, &x, "8.1", "6.1");
		dp_buf_deinit(&y);
	}
	/* the same, signed by the eUICC, with a matching ID that is unknown or too long */
	struct dp_tlv ctx;
	char long_mid[DP_DB_MATCHING_ID_MAX + 2];
	memset(long_mid, 'A', sizeof(long_mid) - 1);
	long_mid[sizeof(long_mid) - 1] = '\0';
	const char *mids[] = {"NO-SUCH-ORDER", long_mid};
	assert_int_equal(dp_tlv_find(s1.value, s1.len, 0xA0, &ctx), DP_OK);
	for (size_t i = 0; i < 2; i++) {
		struct dp_buf c2, s1b;
		struct dp_tlv c2t;
		tlv_set(&ctx, 0x80, mids[i], strlen(mids[i]), &c2);
		assert_int_equal(dp_tlv_read(c2.data, c2.len, &c2t), DP_OK);
		tlv_set(&s1, 0xA0, c2t.value, c2t.len, &s1b);
		resign(&asr, 2, &s1b, NULL, 0, &x);
		refused_as(f, &valid, m, &x, "8.2.6", "3.8");
		dp_buf_deinit(&s1b);
		dp_buf_deinit(&c2);
	}
	/* the captured request against another function's stage: none yet. It succeeds once,
	 * then the session is past this step */
	assert_int_equal(state_of(iccid), DP_PROFILE_RELEASED);
	succeeds(f, (const char *)valid.data);
	assert_int_equal(state_of(iccid), DP_PROFILE_RELEASED);
	refused(f, (const char *)valid.data, "8.10.1", "3.9");
	dp_buf_deinit(&foreign_euicc);
	dp_buf_deinit(&foreign_eum);
	dp_buf_deinit(&our_eum);
	dp_buf_deinit(&asr);
	dp_buf_deinit(&valid);
	device_free(&d);
}

/* The eUICC's AuthenticateServer error for this session ends the session (download-path.md
 * 5.3 step 1); the order is untouched and a new session works. */
static void authenticate_client_euicc_error(void **state)
{
	struct device d;
	struct dp_buf valid, x;
	struct dp_db_session s;
	char mid[16], iccid[21];
	(void)state;
	device_new(&d);
	new_order(mid, iccid);
	const char *f = "authenticateClient";
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ADDRESS), DP_OK);
	CAPTURE(&d, &valid, dp_lpa_authenticate_client(d.lpa, mid));
	session_of(d.lpa, &s);
	euicc_error_of(0xBF38, s.tid, &x);
	char *t = b64(x.data, x.len);
	char *before = snapshot();
	char *b = body_edit(&valid, "authenticateServerResponse", t);
	struct result res;
	call(f, b, &res);
	assert_string_equal(res.subject, "8.1");
	assert_string_equal(res.reason, "6.1");
	dp_buf_deinit(&res.body);
	/* the session is gone from the open ones; nothing else changed */
	char *after = snapshot(), line[80];
	snprintf(line, sizeof(line), "S %s stage 1", dp_lpa_transaction_id(d.lpa));
	char *at = strstr(before, line);
	assert_non_null(at);
	memmove(at, strchr(at, '\n') + 1, strlen(strchr(at, '\n') + 1) + 1);
	assert_string_equal(before, after);
	refused(f, (const char *)valid.data, "8.10.1", "3.9");
	assert_int_equal(state_of(iccid), DP_PROFILE_RELEASED);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ADDRESS), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, mid), DP_OK);
	free(before);
	free(after);
	free(b);
	free(t);
	dp_buf_deinit(&x);
	dp_db_session_deinit(&s);
	dp_buf_deinit(&valid);
	device_free(&d);
}

/* A session past its expiry is refused by every function that takes one, and nothing
 * changes (the expiry sweep, not the call, ends it). */
static void expired_session(void **state)
{
	struct device d;
	struct dp_buf valid;
	struct dp_db_session s, old;
	char mid[16];
	(void)state;
	device_new(&d);
	new_order(mid, NULL);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ADDRESS), DP_OK);
	CAPTURE(&d, &valid, dp_lpa_authenticate_client(d.lpa, mid));
	/* a copy of the session under another transactionId, expired an hour ago */
	session_of(d.lpa, &s);
	dp_db_session_init(&old);
	memcpy(old.tid, other16, 16);
	old.tid_len = 16;
	memcpy(old.server_challenge, s.server_challenge, 16);
	memcpy(old.euicc_challenge, s.euicc_challenge, 16);
	memcpy(old.ci_ski, s.ci_ski, s.ci_ski_len);
	old.ci_ski_len = s.ci_ski_len;
	snprintf(old.smdp_address, sizeof(old.smdp_address), "%s", s.smdp_address);
	old.created_at = time(NULL) - 7200;
	old.expires_at = time(NULL) - 3600;
	assert_int_equal(dp_db_session_add(G.smdp.db, &old), DP_OK);
	char *t = hex(other16, 16);
	refused_take("authenticateClient", body_edit(&valid, "transactionId", t), "8.10.1", "3.9");
	refused_take("getBoundProfilePackage",
		     body_of("transactionId", t, "prepareDownloadResponse", "vyEDgQEF"), "8.10.1",
		     "3.9");
	/* the live session still works */
	succeeds("authenticateClient", (const char *)valid.data);
	free(t);
	dp_db_session_deinit(&old);
	dp_db_session_deinit(&s);
	dp_buf_deinit(&valid);
	device_free(&d);
}

/* ---- getBoundProfilePackage ---- */

static void get_bound_profile_package_malformed(void **state)
{
	struct device d, early;
	struct dp_buf valid, pdr, x, y, ac;
	char mid[16], iccid[21];
	(void)state;
	device_new(&d);
	device_new(&early);
	new_order(mid, iccid);
	const char *f = "getBoundProfilePackage";
	const char *m = "prepareDownloadResponse";
	/* a session that has not authenticated yet */
	assert_int_equal(dp_lpa_initiate_authentication(early.lpa, ADDRESS), DP_OK);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ADDRESS), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, mid), DP_OK);
	copy_cstr(&d.hook.req, &ac);
	assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_OK);
	CAPTURE(&d, &valid, dp_lpa_get_bound_profile_package(d.lpa));
	body_member(&valid, m, &pdr);
	request_refusals(f, &valid);
	tid_refusals(f, &valid);
	b64_refusals(f, &valid, m);
	/* getBoundProfilePackage before authenticateClient */
	char *t = body_edit(&valid, "transactionId", dp_lpa_transaction_id(early.lpa));
	refused_take(f, t, "8.10.1", "3.9");
	/* one TLV of another tag, BF21 not matching the schema, a member missing */
	static const uint8_t asr_tag[] = {0xBF, 0x38, 0x03, 0xA0, 0x01, 0x00};
	static const uint8_t bad[] = {0xBF, 0x21, 0x03, 0xA0, 0x01, 0x00};
	const uint8_t *shapes[] = {asr_tag, bad};
	for (size_t i = 0; i < 2; i++)
		refused_bytes(f, &valid, m, shapes[i], sizeof(bad), "1.6", "2.1");
	tlv_replace(&pdr, 2, 1, NULL, &x);
	refused_as(f, &valid, m, &x, "1.6", "2.1");
	/* euiccSignature2 truncated or wrong; euiccSigned2 altered (otPK) */
	signature_refusals(f, &valid, m, &pdr, 2, 1);
	struct dp_tlv signed2 = tlv_child(&pdr, 2, 0);
	dp_buf_init(&y, 1024);
	assert_int_equal(dp_buf_append(&y, signed2.raw, signed2.raw_len), DP_OK);
	y.data[y.len - 1] ^= 0x01; /* the last byte of the otPK's Y coordinate */
	tlv_replace(&pdr, 2, 0, &y, &x);
	refused_as(f, &valid, m, &x, "8.1", "6.1");
	dp_buf_deinit(&y);
	/* euiccSigned2 altered and signed again by the eUICC: another transactionId, no
	 * otPK, an otPK that is no point of the curve or of the wrong length */
	struct dp_db_session ses;
	uint8_t point[65];
	memset(point, 0x01, sizeof(point));
	point[0] = 0x04;
	session_of(d.lpa, &ses);
	const struct {
		uint32_t tag;
		const void *v;
		size_t n;
		const char *subject, *reason;
	} edits[] = {
	    {0x80, other16, 16, "8.1", "6.1"},
	    {0x5F49, NULL, 0, "1.6", "2.1"},
	    {0x5F49, point, 65, "1.6", "2.1"},
	    {0x5F49, point, 64, "1.6", "2.1"},
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		tlv_set(&signed2, edits[i].tag, edits[i].v, edits[i].n, &y);
		resign(&pdr, 2, &y, ses.smdp_signature2, sizeof(ses.smdp_signature2), &x);
		refused_as(f, &valid, m, &x, edits[i].subject, edits[i].reason);
		dp_buf_deinit(&y);
	}
	dp_db_session_deinit(&ses);
	/* nothing was bound by all that: the captured request binds, once per otPK */
	assert_int_equal(state_of(iccid), DP_PROFILE_RELEASED);
	succeeds(f, (const char *)valid.data);
	assert_int_equal(state_of(iccid), DP_PROFILE_DOWNLOADED);
	/* the session is past authenticateClient now */
	refused("authenticateClient", (const char *)ac.data, "8.10.1", "3.9");
	dp_buf_deinit(&ac);
	dp_buf_deinit(&pdr);
	dp_buf_deinit(&valid);
	device_free(&early);
	device_free(&d);
}

/* The eUICC's PrepareDownload error for this session ends it (one naming another
 * transactionId changes nothing); the order can be tried again. */
static void get_bound_profile_package_euicc_error(void **state)
{
	struct device d;
	struct dp_buf valid, x, y;
	char mid[16], iccid[21];
	(void)state;
	device_new(&d);
	new_order(mid, iccid);
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ADDRESS), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, mid), DP_OK);
	assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_OK);
	CAPTURE(&d, &valid, dp_lpa_get_bound_profile_package(d.lpa));
	uint8_t tid[16];
	size_t tid_len;
	const char *th = dp_lpa_transaction_id(d.lpa);
	assert_int_equal(dp_hex_decode(th, strlen(th), tid, sizeof(tid), &tid_len), DP_OK);
	assert_int_equal(tid_len, 16);
	dp_buf_init(&y, 64);
	assert_int_equal(dp_tlv_append(&y, 0x80, tid, 16), DP_OK);
	assert_int_equal(dp_tlv_append(&y, 0x02, "\x02", 1), DP_OK);
	dp_buf_init(&x, 128);
	assert_int_equal(dp_tlv_append(&x, 0xA1, y.data, y.len), DP_OK);
	dp_buf_reset(&y);
	assert_int_equal(dp_tlv_append(&y, 0xBF21, x.data, x.len), DP_OK);
	/* an error naming another transactionId: refused, nothing changes */
	struct dp_buf z;
	euicc_error_of(0xBF21, other16, &z);
	char *zt = b64(z.data, z.len);
	refused_take("getBoundProfilePackage", body_edit(&valid, "prepareDownloadResponse", zt),
		     "8.1", "6.1");
	free(zt);
	dp_buf_deinit(&z);
	char *t = b64(y.data, y.len);
	char *body = body_edit(&valid, "prepareDownloadResponse", t);
	struct result res;
	call("getBoundProfilePackage", body, &res);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.subject, "8.1");
	assert_string_equal(res.reason, "6.1");
	dp_buf_deinit(&res.body);
	/* the session ended, the profile waits for a new one */
	assert_int_equal(state_of(iccid), DP_PROFILE_RELEASED);
	refused("getBoundProfilePackage", (const char *)valid.data, "8.10.1", "3.9");
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ADDRESS), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, mid), DP_OK);
	free(body);
	free(t);
	dp_buf_deinit(&x);
	dp_buf_deinit(&y);
	dp_buf_deinit(&valid);
	device_free(&d);
}

/* ---- handleNotification ---- */

static void handle_notification_malformed(void **state)
{
	struct device d;
	struct dp_buf pir, x, y, valid;
	struct dp_lpa_install_result ir;
	char mid[16], iccid[21];
	(void)state;
	device_new(&d);
	new_order(mid, iccid);
	const char *f = "handleNotification";
	const char *m = "pendingNotification";
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ADDRESS), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, mid), DP_OK);
	assert_int_equal(dp_lpa_prepare_download(d.lpa, NULL), DP_OK);
	assert_int_equal(dp_lpa_get_bound_profile_package(d.lpa), DP_OK);
	assert_int_equal(dp_lpa_load_bound_profile_package(d.lpa, &ir), DP_OK);
	size_t n;
	const uint8_t *p = dp_lpa_pir(d.lpa, &n);
	assert_non_null(p);
	dp_buf_init(&pir, 1 << 16);
	assert_int_equal(dp_buf_append(&pir, p, n), DP_OK);
	char *t = b64(pir.data, pir.len);
	char *vb = body_of(m, t, NULL, NULL);
	free(t);
	struct dp_buf vbuf = {.data = (uint8_t *)vb, .len = strlen(vb)};
	copy_cstr(&vbuf, &valid);
	free(vb);
	request_refusals(f, &valid);
	b64_refusals(f, &valid, m);
	/* neither BF37 nor 30; BF37 / 30 not matching their schema */
	static const uint8_t other[] = {0x04, 0x01, 0x00}, bf37[] = {0xBF, 0x37, 0x00};
	static const uint8_t seq[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	static const uint8_t a0[] = {0xA0, 0x00}, bf38[] = {0xBF, 0x38, 0x00};
	const uint8_t *shapes[] = {other, bf37, seq, a0, bf38};
	size_t lens[] = {sizeof(other), sizeof(bf37), sizeof(seq), sizeof(a0), sizeof(bf38)};
	for (size_t i = 0; i < 5; i++)
		refused_bytes(f, NULL, m, shapes[i], lens[i], "1.6", "2.1");
	/* euiccSignPIR truncated or wrong: refused, the profile stays Downloaded */
	signature_refusals(f, NULL, m, &pir, 1, 1);
	/* the signature missing altogether */
	tlv_replace(&pir, 1, 1, NULL, &x);
	refused_as(f, NULL, m, &x, "1.6", "2.1");
	/* signed again by the eUICC with another SM-DP+ OID */
	static const uint8_t foreign_oid[] = {0x88, 0x37, 0x63}; /* 2.999.99 */
	struct dp_tlv data0 = tlv_child(&pir, 1, 0), oid_tlv;
	assert_int_equal(dp_tlv_find(data0.value, data0.len, 0x06, &oid_tlv), DP_OK);
	tlv_set(&data0, 0x06, foreign_oid, sizeof(foreign_oid), &y);
	resign(&pir, 1, &y, NULL, 0, &x);
	refused_as(f, NULL, m, &x, "8.8", "3.10");
	dp_buf_deinit(&y);
	/* signed again by the eUICC, naming another ICCID in its notificationMetadata: refused,
	 * the result must be about the profile the session bound (the ICCID read with the
	 * session) */
	struct dp_tlv meta, iccid_tlv, meta2;
	struct dp_buf m2;
	assert_int_equal(dp_tlv_find(data0.value, data0.len, 0xBF2F, &meta), DP_OK);
	assert_int_equal(dp_tlv_find(meta.value, meta.len, 0x5A, &iccid_tlv), DP_OK);
	assert_int_equal(iccid_tlv.len, 10);
	uint8_t other_iccid[10];
	memcpy(other_iccid, iccid_tlv.value, sizeof(other_iccid));
	other_iccid[4] ^= 0x11; /* two other digits */
	tlv_set(&meta, 0x5A, other_iccid, sizeof(other_iccid), &m2);
	assert_int_equal(dp_tlv_expect(m2.data, m2.len, 0xBF2F, &meta2), DP_OK);
	tlv_set(&data0, 0xBF2F, meta2.value, meta2.len, &y);
	resign(&pir, 1, &y, NULL, 0, &x);
	refused_as(f, NULL, m, &x, "1.6", "2.1");
	dp_buf_deinit(&y);
	dp_buf_deinit(&m2);
	/* a PIR naming a session that never authenticated: nothing to verify it with */
	struct device early;
	device_new(&early);
	assert_int_equal(dp_lpa_initiate_authentication(early.lpa, ADDRESS), DP_OK);
	struct dp_db_session es;
	session_of(early.lpa, &es);
	tlv_set(&data0, 0x80, es.tid, es.tid_len, &y);
	tlv_replace(&pir, 1, 0, &y, &x);
	refused_as(f, NULL, m, &x, "8.10.1", "3.9");
	dp_buf_deinit(&y);
	dp_db_session_deinit(&es);
	device_free(&early);
	/* a PIR for a transactionId we never issued: accepted (204), nothing changes */
	struct dp_tlv data = tlv_child(&pir, 1, 0), tid;
	assert_int_equal(dp_tlv_find(data.value, data.len, 0x80, &tid), DP_OK);
	dp_buf_init(&x, 1 << 16);
	assert_int_equal(dp_buf_append(&x, pir.data, pir.len), DP_OK);
	x.data[(size_t)(tid.value - pir.data)] ^= 0xFF;
	t = b64(x.data, x.len);
	char *b = body_of(m, t, NULL, NULL);
	no_content_unchanged(f, b);
	free(b);
	free(t);
	dp_buf_deinit(&x);
	assert_int_equal(state_of(iccid), DP_PROFILE_DOWNLOADED);
	/* the real one: Installed (so none of the above was recorded as this seqNumber) */
	struct result res;
	call(f, (const char *)valid.data, &res);
	assert_int_equal(res.status, 204);
	dp_buf_deinit(&res.body);
	assert_int_equal(state_of(iccid), DP_PROFILE_INSTALLED);
	/* delivered again: 204, nothing changes */
	no_content_unchanged(f, (const char *)valid.data);
	dp_buf_deinit(&valid);
	dp_buf_deinit(&pir);
	device_free(&d);
}

/* An OtherSignedNotification (enable) with its certificates or signature spoiled. */
static void handle_notification_other_malformed(void **state)
{
	struct device d;
	struct dp_buf note, x, y, e1, e2, foreign;
	struct dp_lpa_install_result ir;
	char mid[16], iccid[21];
	int result;
	(void)state;
	device_new(&d);
	new_order(mid, iccid);
	const char *f = "handleNotification";
	const char *m = "pendingNotification";
	struct dp_lpa_download_params dl = {.smdp_address = ADDRESS, .matching_id = mid};
	assert_int_equal(dp_lpa_download(d.lpa, &dl, &ir), DP_OK);
	assert_int_equal(state_of(iccid), DP_PROFILE_INSTALLED);
	assert_int_equal(dp_lpa_profile_enable(d.lpa, iccid, &result), DP_OK);
	size_t count = dp_euicc_notification_count(d.e), n;
	const uint8_t *p;
	assert_true(count >= 1);
	assert_int_equal(dp_euicc_notification_get(d.e, count - 1, &p, &n), DP_OK);
	assert_int_equal(p[0], 0x30);
	dp_buf_init(&note, 1 << 16);
	assert_int_equal(dp_buf_append(&note, p, n), DP_OK);
	/* signature truncated or wrong */
	signature_refusals(f, NULL, m, &note, 1, 1);
	/* certificates swapped; from another CI; missing */
	struct dp_tlv c_euicc = tlv_child(&note, 1, 2), c_eum = tlv_child(&note, 1, 3);
	dp_buf_init(&e1, 4096);
	dp_buf_init(&e2, 4096);
	assert_int_equal(dp_buf_append(&e1, c_eum.raw, c_eum.raw_len), DP_OK);
	assert_int_equal(dp_buf_append(&e2, c_euicc.raw, c_euicc.raw_len), DP_OK);
	tlv_replace(&note, 1, 2, &e1, &y);
	tlv_replace(&y, 1, 3, &e2, &x);
	refused_as(f, NULL, m, &x, "8.11.1", "3.9");
	dp_buf_deinit(&y);
	cert_der("b", "eum-cert.pem", &foreign);
	tlv_replace(&note, 1, 3, &foreign, &x);
	refused_as(f, NULL, m, &x, "8.11.1", "3.9");
	tlv_replace(&note, 1, 3, NULL, &x);
	refused_as(f, NULL, m, &x, "1.6", "2.1");
	/* the real one is accepted */
	char *t = b64(note.data, note.len);
	char *b = body_of(m, t, NULL, NULL);
	struct result res;
	call(f, b, &res);
	assert_int_equal(res.status, 204);
	dp_buf_deinit(&res.body);
	free(b);
	free(t);
	dp_buf_deinit(&foreign);
	dp_buf_deinit(&e1);
	dp_buf_deinit(&e2);
	dp_buf_deinit(&note);
	device_free(&d);
}

/* ---- cancelSession ---- */

static void cancel_session_malformed(void **state)
{
	struct device d, other;
	struct dp_buf valid, csr, x, y, other_body;
	char mid[16], mid2[16], iccid[21];
	(void)state;
	device_new(&d);
	device_new(&other);
	new_order(mid, iccid);
	new_order(mid2, NULL);
	const char *f = "cancelSession";
	const char *m = "cancelSessionResponse";
	assert_int_equal(dp_lpa_initiate_authentication(d.lpa, ADDRESS), DP_OK);
	assert_int_equal(dp_lpa_authenticate_client(d.lpa, mid), DP_OK);
	CAPTURE(&d, &valid, dp_lpa_cancel_session(d.lpa, DP_LPA_CANCEL_END_USER_REJECTION));
	body_member(&valid, m, &csr);
	request_refusals(f, &valid);
	tid_refusals(f, &valid);
	b64_refusals(f, &valid, m);
	/* one TLV of another tag, BF41 not matching the schema, a member missing */
	static const uint8_t tag[] = {0xBF, 0x38, 0x03, 0x81, 0x01, 0x05};
	static const uint8_t bad[] = {0xBF, 0x41, 0x03, 0xA0, 0x01, 0x00};
	const uint8_t *shapes[] = {tag, bad};
	char *t;
	for (size_t i = 0; i < 2; i++)
		refused_bytes(f, &valid, m, shapes[i], sizeof(bad), "1.6", "2.1");
	tlv_replace(&csr, 2, 1, NULL, &x);
	refused_as(f, &valid, m, &x, "1.6", "2.1");
	/* euiccCancelSessionSignature truncated or wrong */
	signature_refusals(f, &valid, m, &csr, 2, 1);
	/* signed again by the eUICC with another SM-DP+ OID */
	static const uint8_t foreign_oid[] = {0x88, 0x37, 0x63}; /* 2.999.99 */
	struct dp_tlv signed_ = tlv_child(&csr, 2, 0), oid_tlv;
	assert_int_equal(dp_tlv_find(signed_.value, signed_.len, 0x81, &oid_tlv), DP_OK);
	tlv_set(&signed_, 0x81, foreign_oid, sizeof(foreign_oid), &y);
	resign(&csr, 2, &y, NULL, 0, &x);
	refused_as(f, &valid, m, &x, "8.8", "3.10");
	dp_buf_deinit(&y);
	/* the signed cancellation of this session sent for another (not yet authenticated)
	 * session: its inner transactionId is not that one */
	assert_int_equal(dp_lpa_initiate_authentication(other.lpa, ADDRESS), DP_OK);
	CAPTURE(&other, &other_body, dp_lpa_authenticate_client(other.lpa, mid2));
	t = body_edit(&valid, "transactionId", dp_lpa_transaction_id(other.lpa));
	refused_take(f, t, "8.10.1", "3.9");
	/* nothing was cancelled by all that; the real one ends the session */
	assert_int_equal(state_of(iccid), DP_PROFILE_RELEASED);
	succeeds(f, (const char *)valid.data);
	assert_int_equal(state_of(iccid), DP_PROFILE_ERROR);
	refused(f, (const char *)valid.data, "8.10.1", "3.9");
	/* and any other function on the ended session */
	refused_take("getBoundProfilePackage",
		     body_of("transactionId", dp_lpa_transaction_id(d.lpa),
			     "prepareDownloadResponse", "vyEDgQEF"),
		     "8.10.1", "3.9");
	dp_buf_deinit(&other_body);
	dp_buf_deinit(&csr);
	dp_buf_deinit(&valid);
	device_free(&other);
	device_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(initiate_authentication_malformed),
	    cmocka_unit_test(authenticate_client_malformed),
	    cmocka_unit_test(authenticate_client_euicc_error),
	    cmocka_unit_test(expired_session),
	    cmocka_unit_test(get_bound_profile_package_malformed),
	    cmocka_unit_test(get_bound_profile_package_euicc_error),
	    cmocka_unit_test(handle_notification_malformed),
	    cmocka_unit_test(handle_notification_other_malformed),
	    cmocka_unit_test(cancel_session_malformed),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
