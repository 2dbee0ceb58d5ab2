/* The test eUICC's ES10 dispatcher and the functions of the authentication phase.
 * SGP.22 5.7.7 GetEUICCChallenge, 5.7.8/5.7.9 GetEUICCInfo, 5.7.13 AuthenticateServer,
 * 5.7.20 GetEID; download-path.md 3.2, 4.2, 7.2. */
#include "test/euicc/es10.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/base/log.h"
#include "pki/base/secure.h"
#include "pki/crypto/ecdsa.h"
#include "pki/crypto/kdf.h"

enum {
	TAG_GET_EUICC_CHALLENGE = 0xBF2E,
	TAG_GET_EUICC_INFO1 = 0xBF20,
	TAG_GET_EUICC_INFO2 = 0xBF22,
	TAG_GET_EUICC_DATA = 0xBF3E,
	TAG_AUTHENTICATE_SERVER = 0xBF38,
	CHALLENGE_BYTES = 16,
	TID_MAX = 16,
	ADDRESS_MAX = 255,
	/* Scratch buffers of one response (certificates are ~0.6 KiB each). */
	PART_MAX = 16 * 1024,
};

/* What AuthenticateServer leaves for PrepareDownload (SGP.22 5.7.13, last step). */
struct session {
	bool active;
	uint8_t tid[TID_MAX];
	size_t tid_len;
	char address[ADDRESS_MAX + 1];
	uint8_t server_challenge[CHALLENGE_BYTES];
	struct dp_cert *dpauth; /* owned */
};

struct dp_euicc {
	struct dp_euicc_identity *id;
	time_t at; /* 0: system clock */
	bool challenge_valid;
	uint8_t challenge[CHALLENGE_BYTES];
	struct session session;
};

static void session_end(struct session *s)
{
	dp_cert_free(s->dpauth);
	memset(s, 0, sizeof(*s));
}

int dp_euicc_new(struct dp_euicc_identity *id, struct dp_euicc **out)
{
	*out = NULL;
	if (id == NULL)
		return dp_err_set(DP_ERR_INVAL, "eUICC without identity");
	struct dp_euicc *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		dp_euicc_identity_free(id);
		return DP_ERR_NOMEM;
	}
	e->id = id;
	*out = e;
	return DP_OK;
}

void dp_euicc_free(struct dp_euicc *e)
{
	if (e == NULL)
		return;
	session_end(&e->session);
	dp_wipe(e->challenge, sizeof(e->challenge));
	dp_euicc_identity_free(e->id);
	free(e);
}

const struct dp_euicc_identity *dp_euicc_identity(const struct dp_euicc *e)
{
	return e->id;
}

void dp_euicc_set_time(struct dp_euicc *e, time_t at)
{
	e->at = at;
}

/* The request types whose value must be empty (or the tasn1 stand-in member only). */
static int expect_empty(const struct dp_tlv *t, const char *what)
{
	if (t->len != 0)
		return dp_err_set(DP_ERR_EUICC_REQUEST, "%s request is not empty", what);
	return DP_OK;
}

/* GetEUICCChallenge: BF2E {} -> BF2E { 80 10 <16 random bytes> }. */
static int get_euicc_challenge(struct dp_euicc *e, const struct dp_tlv *t, struct dp_buf *resp)
{
	uint8_t v[2 + CHALLENGE_BYTES];
	int r = expect_empty(t, "GetEuiccChallenge");
	if (r != DP_OK)
		return r;
	if (RAND_bytes(e->challenge, sizeof(e->challenge)) != 1)
		return dp_err_set(DP_ERR_CRYPTO, "RAND_bytes");
	e->challenge_valid = true;
	v[0] = 0x80;
	v[1] = CHALLENGE_BYTES;
	memcpy(v + 2, e->challenge, CHALLENGE_BYTES);
	return dp_tlv_append(resp, TAG_GET_EUICC_CHALLENGE, v, sizeof(v));
}

/* GetEID: BF3E { 5C 01 5A } -> BF3E { 5A 10 <EID> } (SGP.22 5.7.20). */
static int get_euicc_data(struct dp_euicc *e, const struct dp_tlv *t, struct dp_buf *resp)
{
	struct dp_tlv list;
	uint8_t v[2 + DP_KDF_EID_BYTES];
	if (dp_tlv_expect(t->value, t->len, 0x5C, &list) != DP_OK)
		return dp_err_set(DP_ERR_EUICC_REQUEST, "GetEuiccData: expected one 5C tagList");
	if (memchr(list.value, 0x5A, list.len) == NULL)
		return dp_tlv_append(resp, TAG_GET_EUICC_DATA, NULL, 0);
	int r = dp_kdf_eid_bytes(dp_euicc_identity_eid(e->id), v + 2);
	if (r != DP_OK)
		return r;
	v[0] = 0x5A;
	v[1] = DP_KDF_EID_BYTES;
	return dp_tlv_append(resp, TAG_GET_EUICC_DATA, v, sizeof(v));
}

/* BF38 A1 { 80 tid, 02 code }. */
static int auth_error(const uint8_t *tid, size_t tid_len, int code, struct dp_buf *resp)
{
	uint8_t v[2 + TID_MAX + 3];
	size_t n = 0;
	v[n++] = 0x80;
	v[n++] = (uint8_t)tid_len;
	memcpy(v + n, tid, tid_len);
	n += tid_len;
	v[n++] = 0x02;
	v[n++] = 0x01;
	v[n++] = (uint8_t)code;
	dp_log_info(DP_LOG_EUICC, "AuthenticateServer refused: authenticateErrorCode %d", code);
	int r = dp_tlv_append_header(resp, TAG_AUTHENTICATE_SERVER, 2 + n);
	if (r == DP_OK)
		r = dp_tlv_append(resp, 0xA1, v, n);
	return r;
}

/* The received parts of an AuthenticateServerRequest, as slices of the command. */
struct auth_request {
	struct dp_tlv signed1, signature1, ci_pkid, certificate, ctx_params;
	bool has_ci_pkid;
	struct dp_tlv tid, challenge, address, server_challenge; /* inside serverSigned1 */
};

/* Schema check first (dp_asn1_decode: structure, sizes, tolerant of v3 members), then the
 * slices we sign and compare, taken from the bytes as received. */
static int parse_auth_request(const struct dp_tlv *t, struct auth_request *a)
{
	asn1_node node = NULL;
	int r = dp_asn1_decode("RSPDefinitions.AuthenticateServerRequest", t->raw, t->raw_len,
			       &node);
	dp_asn1_free(&node);
	if (r != DP_OK)
		return dp_err_wrap(DP_ERR_EUICC_REQUEST, "AuthenticateServerRequest: ");
	memset(a, 0, sizeof(*a));
	struct dp_cursor c = dp_cursor_make(t->value, t->len);
	if ((r = dp_tlv_next(&c, &a->signed1)) != DP_OK ||
	    (r = dp_tlv_next(&c, &a->signature1)) != DP_OK ||
	    (r = dp_tlv_next(&c, &a->certificate)) != DP_OK)
		return dp_err_wrap(DP_ERR_EUICC_REQUEST, "AuthenticateServerRequest: ");
	if (a->certificate.tag == 0x04) { /* euiccCiPKIdToBeUsed (OPTIONAL in v3) */
		a->ci_pkid = a->certificate;
		a->has_ci_pkid = true;
		if ((r = dp_tlv_next(&c, &a->certificate)) != DP_OK)
			return dp_err_wrap(DP_ERR_EUICC_REQUEST, "AuthenticateServerRequest: ");
	}
	if ((r = dp_tlv_next(&c, &a->ctx_params)) != DP_OK)
		return dp_err_wrap(DP_ERR_EUICC_REQUEST, "AuthenticateServerRequest: ");
	if (a->signed1.tag != 0x30 || a->signature1.tag != DP_ECDSA_TAG ||
	    a->certificate.tag != 0x30)
		return dp_err_set(DP_ERR_EUICC_REQUEST, "AuthenticateServerRequest: member order");
	const uint8_t *p = a->signed1.value;
	size_t n = a->signed1.len;
	if (dp_tlv_find(p, n, 0x80, &a->tid) != DP_OK || a->tid.len < 1 || a->tid.len > TID_MAX ||
	    dp_tlv_find(p, n, 0x81, &a->challenge) != DP_OK ||
	    a->challenge.len != CHALLENGE_BYTES ||
	    dp_tlv_find(p, n, 0x83, &a->address) != DP_OK || a->address.len > ADDRESS_MAX ||
	    dp_tlv_find(p, n, 0x84, &a->server_challenge) != DP_OK ||
	    a->server_challenge.len != CHALLENGE_BYTES)
		return dp_err_set(DP_ERR_EUICC_REQUEST, "serverSigned1 members");
	return DP_OK;
}

/* The eUICC's checks of download-path.md 7.2 in order; 0 or an AuthenticateErrorCode.
 * On success *dpauth receives CERT.DPauth. */
static int check_server(struct dp_euicc *e, const struct auth_request *a, struct dp_cert **dpauth)
{
	time_t at = e->at != 0 ? e->at : time(NULL);
	const uint8_t *aki;
	size_t aki_len;
	char oid[128];
	*dpauth = NULL;
	bool skip = (dp_euicc_identity_faults(e->id) & DP_EUICC_FAULT_SKIP_SERVER_CHECKS) != 0;
	if (skip) {
		if (dp_cert_from_der(a->certificate.raw, a->certificate.raw_len, dpauth) != DP_OK)
			return DP_EUICC_AUTH_INVALID_CERTIFICATE;
		goto challenge;
	}
	/* 1. CERT.DPauth: issued by a CI we hold, valid, role dp-auth (policy, key usage). */
	int r = dp_ci_store_verify(dp_euicc_identity_ci_store(e->id), DP_CERT_DPAUTH,
				   a->certificate.raw, a->certificate.raw_len, at, dpauth);
	if (r != DP_OK) {
		dp_log_info(DP_LOG_EUICC, "CERT.DPauth: %s (%s)", dp_strerror(r), dp_err_detail());
		if (r == DP_ERR_CERT_UNKNOWN_CI)
			return DP_EUICC_AUTH_CI_PK_UNKNOWN;
		if (r == DP_ERR_CERT_CURVE)
			return DP_EUICC_AUTH_UNSUPPORTED_CURVE;
		return DP_EUICC_AUTH_INVALID_CERTIFICATE;
	}
	/* ... by a CI of the verification list (the store may hold more than we announce). */
	if (dp_cert_aki(*dpauth, &aki, &aki_len) != DP_OK ||
	    !dp_euicc_identity_ski_listed(e->id, false, aki, aki_len))
		return DP_EUICC_AUTH_CI_PK_UNKNOWN;
	/* The SM-DP+ OID (SAN registeredID) is what CancelSession and the PIR carry. */
	if (dp_cert_san_oid(*dpauth, oid, sizeof(oid)) != DP_OK)
		return DP_EUICC_AUTH_INVALID_OID;
	/* 2. serverSignature1 over serverSigned1 as received. */
	if (dp_ecdsa_verify(dp_cert_pubkey(*dpauth), a->signed1.raw, a->signed1.raw_len,
			    a->signature1.value, a->signature1.len) != DP_OK)
		return DP_EUICC_AUTH_INVALID_SIGNATURE;
challenge:
	/* 3. The challenge echo: the one we gave out last, once. */
	if (!e->challenge_valid ||
	    !dp_ct_equal(a->challenge.value, e->challenge, CHALLENGE_BYTES))
		return DP_EUICC_AUTH_CHALLENGE_MISMATCH;
	/* 4. The CI the server wants us to sign with must be one we can sign for. */
	if (!skip && a->has_ci_pkid && a->ci_pkid.len != 0 &&
	    !dp_euicc_identity_ski_listed(e->id, true, a->ci_pkid.value, a->ci_pkid.len))
		return DP_EUICC_AUTH_CI_PK_UNKNOWN;
	return 0;
}

/* euiccSigned1 = 30 { 80 tid, 83 serverAddress, 84 serverChallenge, BF22 euiccInfo2,
 * ctxParams1 as received }. */
static int build_euicc_signed1(const struct dp_euicc *e, const struct auth_request *a,
			       struct dp_buf *out)
{
	struct dp_buf body;
	uint8_t tid[TID_MAX];
	dp_buf_init(&body, PART_MAX);
	memcpy(tid, a->tid.value, a->tid.len);
	if (dp_euicc_identity_faults(e->id) & DP_EUICC_FAULT_WRONG_TID_ECHO)
		tid[a->tid.len - 1] ^= 0xFF;
	int r = dp_tlv_append(&body, 0x80, tid, a->tid.len);
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x83, a->address.value, a->address.len);
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x84, a->server_challenge.value, a->server_challenge.len);
	if (r == DP_OK)
		r = dp_euicc_identity_info2(e->id, &body);
	if (r == DP_OK)
		r = dp_buf_append(&body, a->ctx_params.raw, a->ctx_params.raw_len);
	if (r == DP_OK)
		r = dp_tlv_append(out, 0x30, body.data, body.len);
	dp_buf_deinit(&body);
	return r;
}

/* AuthenticateServer (SGP.22 5.7.13). */
static int authenticate_server(struct dp_euicc *e, const struct dp_tlv *t, struct dp_buf *resp)
{
	struct auth_request a;
	struct dp_cert *dpauth = NULL;
	struct dp_buf ok;
	size_t len;
	dp_buf_init(&ok, PART_MAX);
	int r = parse_auth_request(t, &a);
	if (r != DP_OK)
		goto out;
	/* A new AuthenticateServer ends any earlier session; the challenge is single-use. */
	session_end(&e->session);
	int code = check_server(e, &a, &dpauth);
	e->challenge_valid = false;
	dp_wipe(e->challenge, sizeof(e->challenge));
	if (code != 0) {
		r = auth_error(a.tid.value, a.tid.len, code, resp);
		goto out;
	}
	/* A0 { euiccSigned1, 5F37 euiccSignature1, CERT.EUICC, CERT.EUM } */
	size_t signed1_at = ok.len;
	if ((r = build_euicc_signed1(e, &a, &ok)) != DP_OK)
		goto out;
	if ((r = dp_euicc_identity_sign_tlv(e->id, ok.data + signed1_at, ok.len - signed1_at,
					    &ok)) != DP_OK)
		goto out;
	const uint8_t *der = dp_cert_der(dp_euicc_identity_cert(e->id), &len);
	if ((r = dp_buf_append(&ok, der, len)) != DP_OK)
		goto out;
	der = dp_cert_der(dp_euicc_identity_eum(e->id), &len);
	if ((r = dp_buf_append(&ok, der, len)) != DP_OK)
		goto out;
	uint8_t hdr[9];
	size_t hlen = dp_tlv_header(0xA0, ok.len, hdr);
	if ((r = dp_tlv_append_header(resp, TAG_AUTHENTICATE_SERVER, hlen + ok.len)) != DP_OK ||
	    (r = dp_buf_append(resp, hdr, hlen)) != DP_OK ||
	    (r = dp_buf_append(resp, ok.data, ok.len)) != DP_OK)
		goto out;
	/* The session PrepareDownload continues. */
	struct session *s = &e->session;
	s->active = true;
	memcpy(s->tid, a.tid.value, a.tid.len);
	s->tid_len = a.tid.len;
	memcpy(s->address, a.address.value, a.address.len);
	s->address[a.address.len] = '\0';
	memcpy(s->server_challenge, a.server_challenge.value, CHALLENGE_BYTES);
	s->dpauth = dpauth;
	dpauth = NULL;
	r = DP_OK;
out:
	dp_cert_free(dpauth);
	dp_buf_deinit(&ok);
	return r;
}

int dp_euicc_es10(struct dp_euicc *e, const uint8_t *cmd, size_t len, struct dp_buf *resp)
{
	struct dp_tlv t;
	int r = dp_tlv_expect(cmd, len, 0, &t);
	if (r != DP_OK)
		return dp_err_wrap(r, "ES10 command: ");
	size_t before = resp->len;
	switch (t.tag) {
	case TAG_GET_EUICC_CHALLENGE:
		r = get_euicc_challenge(e, &t, resp);
		break;
	case TAG_GET_EUICC_INFO1:
		r = expect_empty(&t, "GetEuiccInfo1");
		if (r == DP_OK)
			r = dp_euicc_identity_info1(e->id, resp);
		break;
	case TAG_GET_EUICC_INFO2:
		r = expect_empty(&t, "GetEuiccInfo2");
		if (r == DP_OK)
			r = dp_euicc_identity_info2(e->id, resp);
		break;
	case TAG_GET_EUICC_DATA:
		r = get_euicc_data(e, &t, resp);
		break;
	case TAG_AUTHENTICATE_SERVER:
		r = authenticate_server(e, &t, resp);
		break;
	default:
		r = dp_err_set(DP_ERR_EUICC_FUNCTION, "ES10 tag %X", (unsigned)t.tag);
		break;
	}
	if (r != DP_OK)
		resp->len = before; /* nothing half-written reaches the card */
	return r;
}

int dp_euicc_es10_cb(void *e, const uint8_t *cmd, size_t len, struct dp_buf *resp)
{
	return dp_euicc_es10(e, cmd, len, resp);
}
