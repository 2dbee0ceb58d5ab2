/* The test eUICC's ES10 dispatcher and the functions of the download.
 * SGP.22 5.7.7 GetEUICCChallenge, 5.7.8/5.7.9 GetEUICCInfo, 5.7.13 AuthenticateServer,
 * 5.7.14 PrepareDownload, 5.7.15 LoadBoundProfilePackage (segments of 2.5.5), 5.7.20
 * GetEID; download-path.md 3.2, 4.2, 4.4-4.7, 7.2. */
#include "test/euicc/es10.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/rand.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/base/log.h"
#include "pki/base/secure.h"
#include "pki/crypto/ecdsa.h"
#include "pki/crypto/kdf.h"
#include "pki/crypto/scp03t.h"
#include "test/euicc/pe_memo.h"

enum {
	TAG_GET_EUICC_CHALLENGE = 0xBF2E,
	TAG_GET_EUICC_INFO1 = 0xBF20,
	TAG_GET_EUICC_INFO2 = 0xBF22,
	TAG_GET_EUICC_DATA = 0xBF3E,
	TAG_AUTHENTICATE_SERVER = 0xBF38,
	TAG_PREPARE_DOWNLOAD = 0xBF21,
	TAG_BPP = 0xBF36,
	TAG_INITIALISE_SECURE_CHANNEL = 0xBF23,
	TAG_CONFIGURE_ISDP = 0xBF24,
	TAG_STORE_METADATA = 0xBF25,
	TAG_PIR = 0xBF37,
	TAG_PIR_DATA = 0xBF27,
	TAG_NOTIFICATION_METADATA = 0xBF2F,
	TAG_OTPK = 0x5F49,
	TAG_CANCEL_SESSION = 0xBF41,
	TAG_LIST_NOTIFICATION = 0xBF28,
	TAG_RETRIEVE_NOTIFICATIONS = 0xBF2B,
	TAG_NOTIFICATION_SENT = 0xBF30,
	TAG_GET_PROFILES_INFO = 0xBF2D,
	TAG_ENABLE_PROFILE = 0xBF31,
	TAG_DISABLE_PROFILE = 0xBF32,
	TAG_DELETE_PROFILE = 0xBF33,
	SIG_TLV_BYTES = 3 + DP_ECDSA_RS_BYTES, /* 5F37 40 r||s */
	OID_DER_MAX = 64,
	PROFILES_MAX = 8,
	NOTIFICATIONS_MAX = 16,
	METADATA_MAX = 8 * 1024,
	PACKAGE_MAX = 1024 * 1024,
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
	uint8_t signature1[SIG_TLV_BYTES]; /* our euiccSignature1 TLV, for smdpSignature2 */
	/* After PrepareDownload: */
	bool prepared;
	struct dp_cert *dppb; /* owned */
	uint8_t oid_der[OID_DER_MAX]; /* 06 L <SM-DP+ OID of CERT.DPpb> */
	size_t oid_der_len;
};

/* Where the stream of LoadBoundProfilePackage segments stands (SGP.22 2.5.5). */
enum bpp_stage {
	BPP_IDLE,     /* expecting BF36 + BF23 */
	BPP_A0,       /* expecting A0 + 87 ConfigureISDP */
	BPP_A1,       /* expecting the A1 header */
	BPP_88,       /* expecting 88 segments until A1 is complete */
	BPP_A2_OR_A3, /* expecting A2 + 87 ReplaceSessionKeys or the A3 header */
	BPP_A3,       /* expecting the A3 header (after A2) */
	BPP_86,       /* expecting 86 segments until A3 is complete */
	BPP_DONE,     /* the result is out; further segments are ignored */
};

struct bpp {
	enum bpp_stage stage;
	struct dp_scp03t *scp; /* owned */
	size_t left;           /* bytes still to come in the open A1 or A3 */
	struct dp_buf metadata, package;
	uint8_t aid[16];
	bool has_aid, has_meta;
	struct dp_euicc_profile meta; /* parsed StoreMetadata (pointers unused) */
};

struct pending {
	uint8_t *der; /* owned */
	size_t len;
};

struct dp_euicc {
	struct dp_euicc_identity *id;
	time_t at; /* 0: system clock */
	bool challenge_valid;
	uint8_t challenge[CHALLENGE_BYTES];
	struct session session;
	/* The one-time key pair of the last PrepareDownload; kept for a retry (bppEuiccOtpk). */
	EVP_PKEY *otsk;
	uint8_t otpk[DP_CURVE_POINT_BYTES];
	enum dp_curve ot_curve;
	struct bpp bpp;
	struct dp_euicc_profile profiles[PROFILES_MAX]; /* metadata and package owned */
	size_t n_profiles;
	struct pending notes[NOTIFICATIONS_MAX];
	size_t n_notes;
	uint64_t next_seq;
};

static void session_end(struct session *s)
{
	dp_cert_free(s->dpauth);
	dp_cert_free(s->dppb);
	memset(s, 0, sizeof(*s));
}

/* Drops the secure channel and what was received of a BPP. */
static void bpp_reset(struct bpp *b, enum bpp_stage stage)
{
	dp_scp03t_free(b->scp);
	b->scp = NULL;
	b->stage = stage;
	b->left = 0;
	dp_buf_reset(&b->metadata);
	dp_buf_reset(&b->package);
	b->has_aid = false;
	b->has_meta = false;
	memset(&b->meta, 0, sizeof(b->meta));
}

static void otsk_drop(struct dp_euicc *e)
{
	EVP_PKEY_free(e->otsk);
	e->otsk = NULL;
	memset(e->otpk, 0, sizeof(e->otpk));
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
	e->next_seq = 1;
	dp_buf_init(&e->bpp.metadata, METADATA_MAX);
	dp_buf_init(&e->bpp.package, PACKAGE_MAX);
	*out = e;
	return DP_OK;
}

void dp_euicc_free(struct dp_euicc *e)
{
	if (e == NULL)
		return;
	session_end(&e->session);
	bpp_reset(&e->bpp, BPP_IDLE);
	dp_buf_deinit(&e->bpp.metadata);
	dp_buf_deinit(&e->bpp.package);
	otsk_drop(e);
	for (size_t i = 0; i < e->n_profiles; i++) {
		free((void *)e->profiles[i].metadata);
		free((void *)e->profiles[i].package);
	}
	for (size_t i = 0; i < e->n_notes; i++)
		free(e->notes[i].der);
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

size_t dp_euicc_profile_count(const struct dp_euicc *e)
{
	return e->n_profiles;
}

const struct dp_euicc_profile *dp_euicc_profile_get(const struct dp_euicc *e, size_t i)
{
	return i < e->n_profiles ? &e->profiles[i] : NULL;
}

size_t dp_euicc_notification_count(const struct dp_euicc *e)
{
	return e->n_notes;
}

int dp_euicc_notification_get(const struct dp_euicc *e, size_t i, const uint8_t **der,
			      size_t *len)
{
	if (i >= e->n_notes)
		return dp_err_set(DP_ERR_NOT_FOUND, "notification %zu", i);
	*der = e->notes[i].der;
	*len = e->notes[i].len;
	return DP_OK;
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

/* <outer> A1 { 80 tid, 02 code }: the error alternative of BF38 and BF21. */
static int function_error(uint32_t outer, const char *fn, const uint8_t *tid, size_t tid_len,
			  int code, struct dp_buf *resp)
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
	dp_log_info(DP_LOG_EUICC, "%s refused: error code %d", fn, code);
	int r = dp_tlv_append_header(resp, outer, 2 + n);
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
	bpp_reset(&e->bpp, BPP_IDLE);
	int code = check_server(e, &a, &dpauth);
	e->challenge_valid = false;
	dp_wipe(e->challenge, sizeof(e->challenge));
	if (code != 0) {
		r = function_error(TAG_AUTHENTICATE_SERVER, "AuthenticateServer", a.tid.value,
				   a.tid.len, code, resp);
		goto out;
	}
	/* A0 { euiccSigned1, 5F37 euiccSignature1, CERT.EUICC, CERT.EUM } */
	size_t signed1_at = ok.len;
	if ((r = build_euicc_signed1(e, &a, &ok)) != DP_OK)
		goto out;
	size_t signature1_at = ok.len;
	if ((r = dp_euicc_identity_sign_tlv(e->id, ok.data + signed1_at, ok.len - signed1_at,
					    &ok)) != DP_OK)
		goto out;
	if (ok.len - signature1_at != SIG_TLV_BYTES) {
		r = dp_err_set(DP_ERR_CRYPTO, "euiccSignature1 TLV of %zu bytes",
			       ok.len - signature1_at);
		goto out;
	}
	memcpy(e->session.signature1, ok.data + signature1_at, SIG_TLV_BYTES);
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

/* ---- PrepareDownload (SGP.22 5.7.14) ---- */

/* The received parts of a PrepareDownloadRequest, as slices of the command. */
struct prepare_request {
	struct dp_tlv signed2, signature2, hash_cc, certificate;
	bool has_hash_cc;
	struct dp_tlv tid, cc_flag, otpk; /* inside smdpSigned2 */
	bool has_otpk;
};

static int parse_prepare_request(const struct dp_tlv *t, struct prepare_request *p)
{
	asn1_node node = NULL;
	int r = dp_asn1_decode("RSPDefinitions.PrepareDownloadRequest", t->raw, t->raw_len, &node);
	dp_asn1_free(&node);
	if (r != DP_OK)
		return dp_err_wrap(DP_ERR_EUICC_REQUEST, "PrepareDownloadRequest: ");
	memset(p, 0, sizeof(*p));
	struct dp_cursor c = dp_cursor_make(t->value, t->len);
	if (dp_tlv_next(&c, &p->signed2) != DP_OK || dp_tlv_next(&c, &p->signature2) != DP_OK ||
	    dp_tlv_next(&c, &p->certificate) != DP_OK)
		return dp_err_wrap(DP_ERR_EUICC_REQUEST, "PrepareDownloadRequest: ");
	if (p->certificate.tag == 0x04) { /* hashCc OPTIONAL */
		p->hash_cc = p->certificate;
		p->has_hash_cc = true;
		if (dp_tlv_next(&c, &p->certificate) != DP_OK)
			return dp_err_wrap(DP_ERR_EUICC_REQUEST, "PrepareDownloadRequest: ");
	}
	if (p->signed2.tag != 0x30 || p->signature2.tag != DP_ECDSA_TAG ||
	    p->signature2.len != DP_ECDSA_RS_BYTES || p->certificate.tag != 0x30)
		return dp_err_set(DP_ERR_EUICC_REQUEST, "PrepareDownloadRequest: member order");
	const uint8_t *v = p->signed2.value;
	size_t n = p->signed2.len;
	if (dp_tlv_find(v, n, 0x80, &p->tid) != DP_OK || p->tid.len < 1 || p->tid.len > TID_MAX ||
	    dp_tlv_find(v, n, 0x01, &p->cc_flag) != DP_OK || p->cc_flag.len != 1)
		return dp_err_set(DP_ERR_EUICC_REQUEST, "smdpSigned2 members");
	p->has_otpk = dp_tlv_find(v, n, TAG_OTPK, &p->otpk) == DP_OK;
	return DP_OK;
}

/* The eUICC's checks of download-path.md 7.2 in order; 0 or a DownloadErrorCode.
 * On success *dppb receives CERT.DPpb. */
static int check_prepare(struct dp_euicc *e, const struct prepare_request *p,
			 struct dp_cert **dppb)
{
	struct session *s = &e->session;
	time_t at = e->at != 0 ? e->at : time(NULL);
	const uint8_t *aki, *ci;
	size_t aki_len, ci_len;
	*dppb = NULL;
	if (!s->active)
		return DP_EUICC_DL_NO_SESSION_CONTEXT;
	if (p->tid.len != s->tid_len || !dp_ct_equal(p->tid.value, s->tid, s->tid_len))
		return DP_EUICC_DL_INVALID_TRANSACTION_ID;
	bool skip = (dp_euicc_identity_faults(e->id) & DP_EUICC_FAULT_SKIP_SERVER_CHECKS) != 0;
	if (skip)
		return dp_cert_from_der(p->certificate.raw, p->certificate.raw_len, dppb) == DP_OK
			       ? 0
			       : DP_EUICC_DL_INVALID_CERTIFICATE;
	/* CERT.DPpb: issued by the CI that issued CERT.DPauth, valid, role dp-pb. */
	int r = dp_ci_store_verify(dp_euicc_identity_ci_store(e->id), DP_CERT_DPPB,
				   p->certificate.raw, p->certificate.raw_len, at, dppb);
	if (r != DP_OK) {
		dp_log_info(DP_LOG_EUICC, "CERT.DPpb: %s (%s)", dp_strerror(r), dp_err_detail());
		return r == DP_ERR_CERT_CURVE ? DP_EUICC_DL_UNSUPPORTED_CURVE
					      : DP_EUICC_DL_INVALID_CERTIFICATE;
	}
	if (dp_cert_aki(*dppb, &aki, &aki_len) != DP_OK ||
	    dp_cert_aki(s->dpauth, &ci, &ci_len) != DP_OK || aki_len != ci_len ||
	    memcmp(aki, ci, ci_len) != 0)
		return DP_EUICC_DL_INVALID_CERTIFICATE;
	/* smdpSignature2 over smdpSigned2 as received || our euiccSignature1 TLV. */
	struct dp_buf msg;
	dp_buf_init(&msg, PART_MAX);
	r = dp_buf_append(&msg, p->signed2.raw, p->signed2.raw_len);
	if (r == DP_OK)
		r = dp_buf_append(&msg, s->signature1, SIG_TLV_BYTES);
	if (r == DP_OK)
		r = dp_ecdsa_verify(dp_cert_pubkey(*dppb), msg.data, msg.len, p->signature2.value,
				    p->signature2.len);
	dp_buf_deinit(&msg);
	if (r != DP_OK)
		return DP_EUICC_DL_INVALID_SIGNATURE;
	return 0;
}

/* The SM-DP+ OID of CERT.DPpb as a whole DER TLV (06 L ...). */
static int oid_tlv(const struct dp_cert *cert, uint8_t *out, size_t cap, size_t *len)
{
	char text[128];
	int r = dp_cert_san_oid(cert, text, sizeof(text));
	if (r != DP_OK)
		return r;
	ASN1_OBJECT *o = OBJ_txt2obj(text, 1);
	if (o == NULL)
		return dp_err_set(DP_ERR_CRYPTO, "OID %s", text);
	int n = i2d_ASN1_OBJECT(o, NULL);
	if (n <= 0 || (size_t)n > cap) {
		ASN1_OBJECT_free(o);
		return dp_err_set(DP_ERR_TOO_LONG, "OID %s", text);
	}
	unsigned char *w = out;
	n = i2d_ASN1_OBJECT(o, &w);
	ASN1_OBJECT_free(o);
	*len = (size_t)n;
	return DP_OK;
}

/* A new one-time key pair on curve, unless the server asks for the stored one (a retry:
 * smdpSigned2.bppEuiccOtpk equals our otPK). */
static int one_time_key(struct dp_euicc *e, const struct prepare_request *p, enum dp_curve curve)
{
	if (p->has_otpk && e->otsk != NULL && e->ot_curve == curve &&
	    p->otpk.len == DP_CURVE_POINT_BYTES &&
	    memcmp(p->otpk.value, e->otpk, DP_CURVE_POINT_BYTES) == 0)
		return DP_OK;
	otsk_drop(e);
	int r = dp_kdf_generate(curve, &e->otsk);
	if (r == DP_OK)
		r = dp_kdf_export_point(e->otsk, e->otpk);
	if (r != DP_OK) {
		otsk_drop(e);
		return r;
	}
	e->ot_curve = curve;
	return DP_OK;
}

static int prepare_download(struct dp_euicc *e, const struct dp_tlv *t, struct dp_buf *resp)
{
	struct prepare_request p;
	struct dp_cert *dppb = NULL;
	struct dp_buf ok, body, msg;
	uint8_t oid[OID_DER_MAX];
	size_t oid_len = 0;
	dp_buf_init(&ok, PART_MAX);
	dp_buf_init(&body, PART_MAX);
	dp_buf_init(&msg, PART_MAX);
	int r = parse_prepare_request(t, &p);
	if (r != DP_OK)
		goto out;
	int code = check_prepare(e, &p, &dppb);
	if (code == 0 && oid_tlv(dppb, oid, sizeof(oid), &oid_len) != DP_OK)
		code = DP_EUICC_DL_INVALID_CERTIFICATE;
	/* ccRequiredFlag without hashCc: SGP.22 names no code for it (UNVERIFIED); 127. */
	if (code == 0 && p.cc_flag.value[0] != 0 && !p.has_hash_cc &&
	    (dp_euicc_identity_faults(e->id) & DP_EUICC_FAULT_IGNORE_CC_FLAG) == 0)
		code = DP_EUICC_DL_UNDEFINED;
	if (code == 0 && (r = one_time_key(e, &p, dp_cert_curve(dppb))) != DP_OK) {
		if (r != DP_ERR_NOMEM)
			code = DP_EUICC_DL_UNSUPPORTED_CURVE;
		else
			goto out;
	}
	if (code != 0) {
		r = function_error(TAG_PREPARE_DOWNLOAD, "PrepareDownload", p.tid.value, p.tid.len,
				   code, resp);
		goto out;
	}
	/* euiccSigned2 = 30 { 80 tid, 5F49 otPK, [04 hashCc as received] } */
	r = dp_tlv_append(&body, 0x80, p.tid.value, p.tid.len);
	if (r == DP_OK)
		r = dp_tlv_append(&body, TAG_OTPK, e->otpk, DP_CURVE_POINT_BYTES);
	if (r == DP_OK && p.has_hash_cc)
		r = dp_buf_append(&body, p.hash_cc.raw, p.hash_cc.raw_len);
	if (r == DP_OK)
		r = dp_tlv_append(&ok, 0x30, body.data, body.len);
	/* euiccSignature2 over euiccSigned2 || smdpSignature2 TLV as received */
	if (r == DP_OK)
		r = dp_buf_append(&msg, ok.data, ok.len);
	if (r == DP_OK)
		r = dp_buf_append(&msg, p.signature2.raw, p.signature2.raw_len);
	if (r == DP_OK)
		r = dp_euicc_identity_sign_tlv(e->id, msg.data, msg.len, &ok);
	uint8_t hdr[9];
	size_t hlen = dp_tlv_header(0xA0, ok.len, hdr);
	if (r == DP_OK)
		r = dp_tlv_append_header(resp, TAG_PREPARE_DOWNLOAD, hlen + ok.len);
	if (r == DP_OK)
		r = dp_buf_append(resp, hdr, hlen);
	if (r == DP_OK)
		r = dp_buf_append(resp, ok.data, ok.len);
	if (r != DP_OK)
		goto out;
	/* The session LoadBoundProfilePackage continues. */
	struct session *s = &e->session;
	dp_cert_free(s->dppb);
	s->dppb = dppb;
	dppb = NULL;
	memcpy(s->oid_der, oid, oid_len);
	s->oid_der_len = oid_len;
	s->prepared = true;
	bpp_reset(&e->bpp, BPP_IDLE);
	r = DP_OK;
out:
	dp_cert_free(dppb);
	dp_buf_deinit(&ok);
	dp_buf_deinit(&body);
	dp_buf_deinit(&msg);
	return r;
}


/* ---- LoadBoundProfilePackage (SGP.22 5.7.15), one segment per command (2.5.5) ---- */

/* Tag and length of a TLV header at p; the value may be absent (an A1 or A3 header). */
static int read_header(const uint8_t *p, size_t n, uint32_t *tag, size_t *len, size_t *hlen)
{
	size_t i = 0;
	if (n < 2)
		return dp_err_set(DP_ERR_EUICC_REQUEST, "BPP segment of %zu bytes", n);
	uint32_t t = p[i++];
	if ((t & 0x1F) == 0x1F) {
		do {
			if (i >= n || i > 3)
				return dp_err_set(DP_ERR_EUICC_REQUEST, "BPP segment tag");
			t = t << 8 | p[i];
		} while (p[i++] & 0x80);
	}
	if (i >= n)
		return dp_err_set(DP_ERR_EUICC_REQUEST, "BPP segment length");
	uint8_t b = p[i++];
	size_t l = b;
	if (b >= 0x80) {
		size_t k = b & 0x7F;
		if (k == 0 || k > 3 || i + k > n)
			return dp_err_set(DP_ERR_EUICC_REQUEST, "BPP segment length");
		for (l = 0; k > 0; k--)
			l = l << 8 | p[i++];
	}
	*tag = t;
	*len = l;
	*hlen = i;
	return DP_OK;
}

/* The BppCommandId a segment at this stage belongs to (for an errorResult). */
static int stage_command(enum bpp_stage stage)
{
	switch (stage) {
	case BPP_IDLE:
		return DP_EUICC_BPP_INITIALISE_SECURE_CHANNEL;
	case BPP_A0:
		return DP_EUICC_BPP_CONFIGURE_ISDP;
	case BPP_A1:
	case BPP_88:
		return DP_EUICC_BPP_STORE_METADATA;
	case BPP_A2_OR_A3:
		return DP_EUICC_BPP_REPLACE_SESSION_KEYS;
	default:
		return DP_EUICC_BPP_LOAD_PROFILE_ELEMENTS;
	}
}

/* InitialiseSecureChannel: checks, then the session keys (download-path.md 4.4).
 * 0 or an ErrorReason. */
static int initialise_secure_channel(struct dp_euicc *e, const struct dp_tlv *t)
{
	struct session *s = &e->session;
	struct dp_tlv op, tid, crt, otpk, sig, type, klen, host;
	struct dp_cursor c = dp_cursor_make(t->value, t->len);
	if (dp_tlv_next(&c, &op) != DP_OK || dp_tlv_next(&c, &tid) != DP_OK ||
	    dp_tlv_next(&c, &crt) != DP_OK || dp_tlv_next(&c, &otpk) != DP_OK ||
	    dp_tlv_next(&c, &sig) != DP_OK || op.tag != 0x82 || tid.tag != 0x80 ||
	    crt.tag != 0xA6 || otpk.tag != TAG_OTPK || sig.tag != DP_ECDSA_TAG)
		return DP_EUICC_BPP_INCORRECT_INPUT;
	if (op.len != 1 || op.value[0] != 1) /* installBoundProfilePackage */
		return DP_EUICC_BPP_UNSUPPORTED_OPERATION;
	if (tid.len != s->tid_len || !dp_ct_equal(tid.value, s->tid, s->tid_len))
		return DP_EUICC_BPP_INVALID_TRANSACTION_ID;
	if (dp_tlv_find(crt.value, crt.len, 0x80, &type) != DP_OK || type.len != 1 ||
	    type.value[0] != DP_KDF_KEY_TYPE ||
	    dp_tlv_find(crt.value, crt.len, 0x81, &klen) != DP_OK || klen.len != 1 ||
	    klen.value[0] != DP_KDF_KEY_LENGTH ||
	    dp_tlv_find(crt.value, crt.len, 0x84, &host) != DP_OK || host.len < 1 ||
	    host.len > DP_KDF_HOST_ID_MAX)
		return DP_EUICC_BPP_UNSUPPORTED_CRT;
	/* smdpSign over the four TLVs before it || our 5F49 otPK (download-path.md 4.2). */
	if ((dp_euicc_identity_faults(e->id) & DP_EUICC_FAULT_SKIP_SERVER_CHECKS) == 0) {
		struct dp_buf msg;
		dp_buf_init(&msg, PART_MAX);
		int r = dp_buf_append(&msg, t->value, (size_t)(sig.raw - t->value));
		if (r == DP_OK)
			r = dp_tlv_append(&msg, TAG_OTPK, e->otpk, DP_CURVE_POINT_BYTES);
		if (r == DP_OK)
			r = dp_ecdsa_verify(dp_cert_pubkey(s->dppb), msg.data, msg.len, sig.value,
					    sig.len);
		dp_buf_deinit(&msg);
		if (r != DP_OK)
			return DP_EUICC_BPP_INVALID_SIGNATURE;
	}
	uint8_t eid[DP_KDF_EID_BYTES];
	struct dp_session_keys keys;
	if (dp_kdf_eid_bytes(dp_euicc_identity_eid(e->id), eid) != DP_OK ||
	    dp_kdf_session_keys(e->otsk, otpk.value, otpk.len, host.value, host.len, eid,
				&keys) != DP_OK)
		return DP_EUICC_BPP_INCORRECT_INPUT;
	int r = dp_scp03t_new(&keys, &e->bpp.scp);
	dp_kdf_keys_wipe(&keys);
	return r == DP_OK ? 0 : DP_EUICC_BPP_INCORRECT_INPUT;
}

/* Unwraps one protected TLV of the expected tag into out; 0 or an ErrorReason. */
static int unwrap(struct dp_euicc *e, const uint8_t *p, size_t n, uint8_t want,
		  struct dp_buf *out)
{
	uint8_t tag;
	if (n == 0 || p[0] != want)
		return DP_EUICC_BPP_SCP03T_STRUCTURE;
	int r = dp_scp03t_unwrap(e->bpp.scp, p, n, &tag, out);
	if (r == DP_ERR_SCP03T_MAC)
		return DP_EUICC_BPP_SCP03T_SECURITY;
	if (r == DP_ERR_TOO_LONG)
		return DP_EUICC_BPP_INSUFFICIENT_MEMORY;
	if (r != DP_OK)
		return DP_EUICC_BPP_SCP03T_STRUCTURE;
	return 0;
}

static bool aid_in_use(const struct dp_euicc *e, const uint8_t aid[16])
{
	for (size_t i = 0; i < e->n_profiles; i++)
		if (memcmp(e->profiles[i].aid, aid, sizeof(e->profiles[i].aid)) == 0)
			return true;
	return false;
}

/* ConfigureISDP: the plaintext must be a BF24; we hand out the next ISD-P AID. */
static int configure_isdp(struct dp_euicc *e, const uint8_t *p, size_t n)
{
	static const uint8_t base[16] = { 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
					  0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x10, 0x00 };
	struct dp_tlv t;
	if (dp_tlv_expect(p, n, TAG_CONFIGURE_ISDP, &t) != DP_OK)
		return DP_EUICC_BPP_INCORRECT_INPUT;
	if (e->n_profiles >= PROFILES_MAX)
		return DP_EUICC_BPP_INSUFFICIENT_MEMORY;
	/* the lowest ...10xx00 not in use (profiles may have been deleted) */
	memcpy(e->bpp.aid, base, sizeof(base));
	while (aid_in_use(e, e->bpp.aid))
		e->bpp.aid[14]++;
	e->bpp.has_aid = true;
	return 0;
}

/* Copies a string member (at most cap - 1 bytes) if present. */
static int metadata_string(const struct dp_tlv *t, uint32_t tag, char *out, size_t cap)
{
	struct dp_tlv m;
	if (dp_tlv_find(t->value, t->len, tag, &m) != DP_OK)
		return 0;
	if (m.len >= cap)
		return DP_EUICC_BPP_INCORRECT_INPUT;
	memcpy(out, m.value, m.len);
	out[m.len] = '\0';
	return 0;
}

/* A StoreMetadataRequest (BF25, exactly p..p+n) into meta's ICCID, names and class;
 * 0 or an ErrorReason. */
static int parse_metadata(const uint8_t *p, size_t n, struct dp_euicc_profile *meta)
{
	struct dp_tlv t, m;
	asn1_node node = NULL;
	if (dp_tlv_expect(p, n, TAG_STORE_METADATA, &t) != DP_OK)
		return DP_EUICC_BPP_INCORRECT_INPUT;
	int r = dp_asn1_decode("RSPDefinitions.StoreMetadataRequest", t.raw, t.raw_len, &node);
	dp_asn1_free(&node);
	if (r != DP_OK)
		return DP_EUICC_BPP_INCORRECT_INPUT;
	if (dp_tlv_find(t.value, t.len, 0x5A, &m) != DP_OK || m.len != sizeof(meta->iccid))
		return DP_EUICC_BPP_INCORRECT_INPUT;
	memcpy(meta->iccid, m.value, m.len);
	meta->profile_class = 2; /* operational (DEFAULT) */
	if (dp_tlv_find(t.value, t.len, 0x95, &m) == DP_OK) {
		if (m.len != 1)
			return DP_EUICC_BPP_INCORRECT_INPUT;
		meta->profile_class = m.value[0];
	}
	if ((r = metadata_string(&t, 0x91, meta->sp_name, sizeof(meta->sp_name))) != 0 ||
	    (r = metadata_string(&t, 0x92, meta->name, sizeof(meta->name))) != 0)
		return r;
	return 0;
}

/* StoreMetadata: the concatenated 88 plaintexts are one StoreMetadataRequest (BF25). */
static int store_metadata(struct dp_euicc *e)
{
	struct bpp *b = &e->bpp;
	struct dp_euicc_profile *meta = &b->meta;
	int r = parse_metadata(b->metadata.data, b->metadata.len, meta);
	if (r != 0)
		return r;
	for (size_t i = 0; i < e->n_profiles; i++)
		if (memcmp(e->profiles[i].iccid, meta->iccid, sizeof(meta->iccid)) == 0)
			return DP_EUICC_BPP_ICCID_EXISTS;
	b->has_meta = true;
	return 0;
}

/* The profile package decodes Profile Element by Profile Element (SAIP). */
static int check_package(const struct dp_buf *pkg)
{
	struct dp_cursor c = dp_cursor_make(pkg->data, pkg->len);
	while (!dp_cursor_done(&c)) {
		struct dp_tlv pe;
		if (dp_tlv_next(&c, &pe) != DP_OK)
			return DP_EUICC_BPP_PE_PROCESSING;
		/* decoded, unless the opt-in memo saw these exact bytes pass (pe_memo.h) */
		int r = dp_euicc_pe_check(pe.raw, pe.raw_len);
		if (r != DP_OK) {
			dp_log_info(DP_LOG_EUICC, "profile element: %s (%s)", dp_strerror(r),
				    dp_err_detail());
			return DP_EUICC_BPP_PE_PROCESSING;
		}
	}
	return pkg->len == 0 ? DP_EUICC_BPP_PE_PROCESSING : 0;
}

/* Appends an unsigned INTEGER TLV. */
static int append_uint(struct dp_buf *out, uint32_t tag, uint64_t v)
{
	uint8_t b[9];
	size_t n = 0;
	do {
		b[sizeof(b) - 1 - n++] = (uint8_t)v;
		v >>= 8;
	} while (v != 0);
	if (b[sizeof(b) - n] & 0x80)
		b[sizeof(b) - 1 - n++] = 0;
	return dp_tlv_append(out, tag, b + sizeof(b) - n, n);
}

/* The ProfileInstallationResult (reason 0: success), signed, answered and kept as a pending
 * notification; then the profile is installed (on success) and the session ends. */
static int finish_bpp(struct dp_euicc *e, int command, int reason, struct dp_buf *resp)
{
	static const uint8_t install[] = { 0x07, 0x80 }; /* NotificationEvent install */
	static const uint8_t sima_ok[] = { 0x30, 0x07, 0xA0, 0x05, 0x30, 0x03, 0x80, 0x01, 0x00 };
	struct session *s = &e->session;
	struct bpp *b = &e->bpp;
	struct dp_buf meta, data, res, pir;
	dp_buf_init(&meta, PART_MAX);
	dp_buf_init(&data, PART_MAX);
	dp_buf_init(&res, PART_MAX);
	dp_buf_init(&pir, PART_MAX);
	if (reason == 0 && e->n_notes >= NOTIFICATIONS_MAX) {
		command = DP_EUICC_BPP_LOAD_PROFILE_ELEMENTS;
		reason = DP_EUICC_BPP_INSUFFICIENT_MEMORY;
	}
	/* BF2F { 80 seq, 81 install, 0C address, [5A iccid] } */
	int r = append_uint(&meta, 0x80, e->next_seq);
	if (r == DP_OK)
		r = dp_tlv_append(&meta, 0x81, install, sizeof(install));
	if (r == DP_OK)
		r = dp_tlv_append(&meta, 0x0C, s->address, strlen(s->address));
	if (r == DP_OK && b->has_meta)
		r = dp_tlv_append(&meta, 0x5A, b->meta.iccid, sizeof(b->meta.iccid));
	/* BF27 { 80 tid, BF2F, 06 oid, A2 finalResult } */
	if (r == DP_OK)
		r = dp_tlv_append(&data, 0x80, s->tid, s->tid_len);
	if (r == DP_OK)
		r = dp_tlv_append(&data, TAG_NOTIFICATION_METADATA, meta.data, meta.len);
	if (r == DP_OK)
		r = dp_buf_append(&data, s->oid_der, s->oid_der_len);
	if (r == DP_OK && reason == 0) {
		dp_buf_reset(&meta);
		r = dp_tlv_append(&meta, 0x4F, b->aid, sizeof(b->aid));
		if (r == DP_OK)
			r = dp_tlv_append(&meta, 0x04, sima_ok, sizeof(sima_ok));
		if (r == DP_OK)
			r = dp_tlv_append(&res, 0xA0, meta.data, meta.len);
	} else if (r == DP_OK) {
		dp_buf_reset(&meta);
		r = append_uint(&meta, 0x80, (uint64_t)command);
		if (r == DP_OK)
			r = append_uint(&meta, 0x81, (uint64_t)reason);
		if (r == DP_OK)
			r = dp_tlv_append(&res, 0xA1, meta.data, meta.len);
		dp_log_info(DP_LOG_EUICC, "BPP refused: bppCommandId %d, errorReason %d", command,
			    reason);
	}
	if (r == DP_OK)
		r = dp_tlv_append(&data, 0xA2, res.data, res.len);
	/* BF37 { BF27, 5F37 euiccSignPIR over the BF27 TLV } */
	if (r == DP_OK)
		r = dp_tlv_append(&pir, TAG_PIR_DATA, data.data, data.len);
	if (r == DP_OK)
		r = dp_euicc_identity_sign_tlv(e->id, pir.data, pir.len, &pir);
	size_t at = resp->len;
	if (r == DP_OK)
		r = dp_tlv_append(resp, TAG_PIR, pir.data, pir.len);
	if (r != DP_OK)
		goto out;
	if (e->n_notes < NOTIFICATIONS_MAX) {
		struct pending *n = &e->notes[e->n_notes];
		n->len = resp->len - at;
		n->der = malloc(n->len);
		if (n->der == NULL) {
			r = DP_ERR_NOMEM;
			goto out;
		}
		memcpy(n->der, resp->data + at, n->len);
		e->n_notes++;
	}
	e->next_seq++;
	if (reason == 0) {
		struct dp_euicc_profile *p = &e->profiles[e->n_profiles];
		*p = b->meta;
		memcpy(p->aid, b->aid, sizeof(p->aid));
		p->enabled = false;
		snprintf(p->smdp_address, sizeof(p->smdp_address), "%s", s->address);
		p->metadata = dp_buf_take(&b->metadata, &p->metadata_len);
		p->package = dp_buf_take(&b->package, &p->package_len);
		e->n_profiles++;
	}
	r = DP_OK;
out:
	/* Success or not, this download is over: no more segments, no keys. */
	bpp_reset(b, BPP_DONE);
	otsk_drop(e);
	session_end(s);
	dp_buf_deinit(&meta);
	dp_buf_deinit(&data);
	dp_buf_deinit(&res);
	dp_buf_deinit(&pir);
	return r;
}

/* One segment other than an 88 or 86 (tag, its value length vlen and the n bytes after
 * the header in rest); 0 or an ErrorReason. */
static int bpp_step(struct dp_euicc *e, uint32_t tag, size_t vlen, const uint8_t *rest,
		    size_t n)
{
	struct bpp *b = &e->bpp;
	struct dp_tlv t;
	int reason;
	switch (b->stage) {
	case BPP_IDLE: /* BF36 L BF23 ... */
		if (tag != TAG_BPP || dp_tlv_expect(rest, n, TAG_INITIALISE_SECURE_CHANNEL, &t) !=
					      DP_OK)
			return DP_EUICC_BPP_INCORRECT_INPUT;
		if ((reason = initialise_secure_channel(e, &t)) != 0)
			return reason;
		b->stage = BPP_A0;
		return 0;
	case BPP_A0: { /* A0 L 87 (ConfigureISDP) */
		struct dp_buf plain;
		if (tag != 0xA0 || vlen != n)
			return DP_EUICC_BPP_SCP03T_STRUCTURE;
		dp_buf_init_secret(&plain, DP_SCP03T_SEGMENT_MAX);
		reason = unwrap(e, rest, n, DP_SCP03T_TAG_CONFIGURE, &plain);
		if (reason == 0)
			reason = configure_isdp(e, plain.data, plain.len);
		dp_buf_deinit(&plain);
		if (reason == 0)
			b->stage = BPP_A1;
		return reason;
	}
	case BPP_A1: /* A1 L, header only */
		if (tag != 0xA1 || n != 0 || vlen == 0)
			return DP_EUICC_BPP_SCP03T_STRUCTURE;
		b->left = vlen;
		b->stage = BPP_88;
		return 0;
	case BPP_A2_OR_A3:
	case BPP_A3:
		if (tag == 0xA3 && n == 0 && vlen != 0) {
			b->left = vlen;
			b->stage = BPP_86;
			return 0;
		}
		if (b->stage == BPP_A2_OR_A3 && tag == 0xA2 && vlen == n) {
			struct dp_buf plain;
			struct dp_session_keys ppk;
			dp_buf_init_secret(&plain, DP_SCP03T_SEGMENT_MAX);
			reason = unwrap(e, rest, n, DP_SCP03T_TAG_CONFIGURE, &plain);
			if (reason == 0 &&
			    dp_scp03t_parse_replace_keys(plain.data, plain.len, &ppk) != DP_OK)
				reason = DP_EUICC_BPP_INCORRECT_INPUT;
			if (reason == 0 && dp_scp03t_replace_keys(b->scp, &ppk) != DP_OK)
				reason = DP_EUICC_BPP_INCORRECT_INPUT;
			dp_kdf_keys_wipe(&ppk);
			dp_buf_deinit(&plain);
			if (reason == 0)
				b->stage = BPP_A3;
			return reason;
		}
		return DP_EUICC_BPP_SCP03T_STRUCTURE;
	default:
		return DP_EUICC_BPP_SCP03T_STRUCTURE;
	}
}

/* A primitive 88 or 86 segment (the whole command) inside the open A1 or A3; 0 or an
 * ErrorReason. *done is set after the last 86 when the package decodes. */
static int bpp_element(struct dp_euicc *e, const uint8_t *cmd, size_t len, bool *done)
{
	struct bpp *b = &e->bpp;
	bool metadata = b->stage == BPP_88;
	if (len > b->left)
		return DP_EUICC_BPP_SCP03T_STRUCTURE;
	int reason = unwrap(e, cmd, len,
			    metadata ? DP_SCP03T_TAG_METADATA : DP_SCP03T_TAG_LOAD,
			    metadata ? &b->metadata : &b->package);
	if (reason != 0)
		return reason;
	/* The memory runs out at the segment that crosses the free NVM (identity.h). */
	if (!metadata && b->package.len > dp_euicc_identity_free_memory(e->id)) {
		dp_log_info(DP_LOG_EUICC, "profile package over %u bytes of free memory",
			    (unsigned)dp_euicc_identity_free_memory(e->id));
		return DP_EUICC_BPP_INSUFFICIENT_MEMORY;
	}
	b->left -= len;
	if (b->left != 0)
		return 0;
	if (metadata) {
		if ((reason = store_metadata(e)) == 0)
			b->stage = BPP_A2_OR_A3;
		return reason;
	}
	if ((reason = check_package(&b->package)) == 0)
		*done = true;
	return reason;
}

static int load_bound_profile_package(struct dp_euicc *e, const uint8_t *cmd, size_t len,
				      struct dp_buf *resp)
{
	struct bpp *b = &e->bpp;
	uint32_t tag = 0;
	size_t vlen = 0, hlen = 0;
	bool done = false;
	int r = read_header(cmd, len, &tag, &vlen, &hlen);
	if (r != DP_OK)
		return r;
	if (tag == TAG_BPP && b->stage == BPP_DONE)
		b->stage = BPP_IDLE;
	if (b->stage == BPP_DONE)
		return DP_OK; /* segments after the result are ignored */
	if (b->stage == BPP_IDLE && (!e->session.prepared || e->otsk == NULL))
		return dp_err_set(DP_ERR_EUICC_REQUEST, "LoadBoundProfilePackage before "
							 "PrepareDownload");
	int command = stage_command(b->stage);
	int reason;
	if (b->stage == BPP_88 || b->stage == BPP_86) {
		/* the whole TLV must be the command */
		if (hlen + vlen != len ||
		    (tag != DP_SCP03T_TAG_METADATA && tag != DP_SCP03T_TAG_LOAD))
			reason = DP_EUICC_BPP_SCP03T_STRUCTURE;
		else
			reason = bpp_element(e, cmd, len, &done);
	} else {
		reason = bpp_step(e, tag, vlen, cmd + hlen, len - hlen);
	}
	if (reason != 0)
		return finish_bpp(e, command, reason, resp);
	if (done)
		return finish_bpp(e, 0, 0, resp);
	return DP_OK;
}

/* ---- Notifications (ES10b): ListNotification, RetrieveNotificationsList,
 * NotificationSent / RemoveNotificationFromList; download-path.md 3.2, 7.2 ---- */

/* A non-negative INTEGER of at most 8 bytes. */
static int read_uint(const struct dp_tlv *t, uint64_t *v)
{
	if (t->len == 0 || t->len > 9 || (t->value[0] & 0x80) != 0 ||
	    (t->len == 9 && t->value[0] != 0))
		return DP_ERR_EUICC_REQUEST;
	*v = 0;
	for (size_t i = 0; i < t->len; i++)
		*v = *v << 8 | t->value[i];
	return DP_OK;
}

/* The NotificationMetadata (BF2F) of a pending notification: inside the BF27 of a BF37,
 * or first in an OtherSignedNotification (30); its seqNumber in *seq. */
static int note_metadata(const struct pending *n, struct dp_tlv *meta, uint64_t *seq)
{
	struct dp_tlv outer, data, m;
	if (dp_tlv_read(n->der, n->len, &outer) != DP_OK)
		return DP_ERR_EUICC_REQUEST;
	if (outer.tag == TAG_PIR) {
		if (dp_tlv_find(outer.value, outer.len, TAG_PIR_DATA, &data) != DP_OK ||
		    dp_tlv_find(data.value, data.len, TAG_NOTIFICATION_METADATA, meta) != DP_OK)
			return DP_ERR_EUICC_REQUEST;
	} else if (dp_tlv_find(outer.value, outer.len, TAG_NOTIFICATION_METADATA, meta) !=
		   DP_OK) {
		return DP_ERR_EUICC_REQUEST;
	}
	if (dp_tlv_find(meta->value, meta->len, 0x80, &m) != DP_OK)
		return DP_ERR_EUICC_REQUEST;
	return read_uint(&m, seq);
}

/* Whether the notification's event (81 of its metadata) has a bit of the filter (a
 * NotificationEvent BIT STRING value); no filter matches all. */
static bool note_matches(const struct dp_tlv *meta, const struct dp_tlv *filter)
{
	struct dp_tlv ev;
	if (filter == NULL)
		return true;
	if (dp_tlv_find(meta->value, meta->len, 0x81, &ev) != DP_OK)
		return false;
	for (size_t i = 1; i < ev.len && i < filter->len; i++)
		if ((ev.value[i] & filter->value[i]) != 0)
			return true;
	return false;
}

/* <tag> A0 { ... } around the parts in body. */
static int append_list(struct dp_buf *resp, uint32_t tag, const struct dp_buf *body)
{
	uint8_t hdr[9];
	size_t hlen = dp_tlv_header(0xA0, body->len, hdr);
	int r = dp_tlv_append_header(resp, tag, hlen + body->len);
	if (r == DP_OK)
		r = dp_buf_append(resp, hdr, hlen);
	if (r == DP_OK)
		r = dp_buf_append(resp, body->data, body->len);
	return r;
}

/* BF28 { [81 events] } -> BF28 A0 { BF2F ... } (the metadata of each matching one). */
static int list_notification(struct dp_euicc *e, const struct dp_tlv *t, struct dp_buf *resp)
{
	struct dp_tlv filter, meta;
	uint64_t seq;
	bool has_filter = false;
	struct dp_buf body;
	if (t->len != 0) {
		if (dp_tlv_expect(t->value, t->len, 0x81, &filter) != DP_OK || filter.len < 2)
			return dp_err_set(DP_ERR_EUICC_REQUEST, "ListNotificationRequest");
		has_filter = true;
	}
	dp_buf_init(&body, DP_EUICC_ES10_RESP_MAX);
	int r = DP_OK;
	for (size_t i = 0; i < e->n_notes && r == DP_OK; i++) {
		r = note_metadata(&e->notes[i], &meta, &seq);
		if (r == DP_OK && note_matches(&meta, has_filter ? &filter : NULL))
			r = dp_buf_append(&body, meta.raw, meta.raw_len);
	}
	if (r == DP_OK)
		r = append_list(resp, TAG_LIST_NOTIFICATION, &body);
	dp_buf_deinit(&body);
	return r;
}

/* BF2B { [A0 { 80 seq | 81 events }] } -> BF2B A0 { BF37 | 30 ... } as stored. */
static int retrieve_notifications(struct dp_euicc *e, const struct dp_tlv *t,
				  struct dp_buf *resp)
{
	struct dp_tlv criteria, choice, meta;
	uint64_t want = 0, seq;
	bool by_seq = false, by_event = false;
	struct dp_buf body;
	if (t->len != 0) {
		if (dp_tlv_expect(t->value, t->len, 0xA0, &criteria) != DP_OK ||
		    dp_tlv_expect(criteria.value, criteria.len, 0, &choice) != DP_OK)
			return dp_err_set(DP_ERR_EUICC_REQUEST, "RetrieveNotificationsListRequest");
		if (choice.tag == 0x80 && read_uint(&choice, &want) == DP_OK)
			by_seq = true;
		else if (choice.tag == 0x81 && choice.len >= 2)
			by_event = true;
		else
			return dp_err_set(DP_ERR_EUICC_REQUEST, "RetrieveNotifications criteria");
	}
	dp_buf_init(&body, DP_EUICC_ES10_RESP_MAX);
	int r = DP_OK;
	for (size_t i = 0; i < e->n_notes && r == DP_OK; i++) {
		r = note_metadata(&e->notes[i], &meta, &seq);
		if (r != DP_OK || (by_seq && seq != want) ||
		    !note_matches(&meta, by_event ? &choice : NULL))
			continue;
		r = dp_buf_append(&body, e->notes[i].der, e->notes[i].len);
	}
	if (r == DP_OK)
		r = append_list(resp, TAG_RETRIEVE_NOTIFICATIONS, &body);
	dp_buf_deinit(&body);
	return r;
}

/* BF30 { 80 seq } -> BF30 { 80 0 (ok) | 1 (nothingToDelete) }. */
static int notification_sent(struct dp_euicc *e, const struct dp_tlv *t, struct dp_buf *resp)
{
	struct dp_tlv m, meta;
	uint64_t want, seq;
	uint8_t status[3] = { 0x80, 0x01, 0x01 };
	if (dp_tlv_expect(t->value, t->len, 0x80, &m) != DP_OK || read_uint(&m, &want) != DP_OK)
		return dp_err_set(DP_ERR_EUICC_REQUEST, "NotificationSentRequest");
	for (size_t i = 0; i < e->n_notes; i++) {
		if (note_metadata(&e->notes[i], &meta, &seq) != DP_OK || seq != want)
			continue;
		free(e->notes[i].der);
		memmove(&e->notes[i], &e->notes[i + 1], (e->n_notes - i - 1) * sizeof(e->notes[0]));
		e->n_notes--;
		status[2] = 0;
		dp_log_info(DP_LOG_EUICC, "notification %llu removed", (unsigned long long)want);
		break;
	}
	return dp_tlv_append(resp, TAG_NOTIFICATION_SENT, status, sizeof(status));
}

/* ---- Profile management (ES10c): GetProfilesInfo, EnableProfile, DisableProfile,
 * DeleteProfile; types of schemas/rsp_definitions.asn ---- */

/* The profile a 4F (ISD-P AID) or 5A (ICCID) TLV names; -1 if none. */
static int profile_find(const struct dp_euicc *e, const struct dp_tlv *id)
{
	for (size_t i = 0; i < e->n_profiles; i++) {
		const struct dp_euicc_profile *p = &e->profiles[i];
		if ((id->tag == 0x4F && id->len == sizeof(p->aid) &&
		     memcmp(id->value, p->aid, sizeof(p->aid)) == 0) ||
		    (id->tag == 0x5A && id->len == sizeof(p->iccid) &&
		     memcmp(id->value, p->iccid, sizeof(p->iccid)) == 0))
			return (int)i;
	}
	return -1;
}

/* The member of the profile's StoreMetadataRequest with this tag, if any. */
static bool profile_member(const struct dp_euicc_profile *p, uint32_t tag, struct dp_tlv *m)
{
	struct dp_tlv t;
	return dp_tlv_read(p->metadata, p->metadata_len, &t) == DP_OK &&
	       dp_tlv_find(t.value, t.len, tag, m) == DP_OK;
}

/* Where a notification of this event goes: the first notificationConfigurationInfo entry
 * whose operations have the event's bit (bit in byte 1 of the BIT STRING), else the SM-DP+
 * that installed the profile. */
static void note_address(const struct dp_euicc_profile *p, uint8_t bit, const uint8_t **addr,
			 size_t *len)
{
	struct dp_tlv nci, entry, ops, a;
	*addr = (const uint8_t *)p->smdp_address;
	*len = strlen(p->smdp_address);
	if (!profile_member(p, 0xB6, &nci))
		return;
	struct dp_cursor c = dp_cursor_make(nci.value, nci.len);
	while (!dp_cursor_done(&c) && dp_tlv_next(&c, &entry) == DP_OK) {
		if (entry.tag != 0x30 || dp_tlv_find(entry.value, entry.len, 0x80, &ops) != DP_OK ||
		    ops.len < 2 || (ops.value[1] & bit) == 0 ||
		    dp_tlv_find(entry.value, entry.len, 0x81, &a) != DP_OK)
			continue;
		*addr = a.value;
		*len = a.len;
		return;
	}
}

/* Appends an OtherSignedNotification 30 { BF2F { 80 seq, 81 event, 0C address, 5A iccid },
 * 5F37 sig over the BF2F TLV, CERT.EUICC, CERT.EUM } for profile p to the pending ones.
 * event is the NotificationEvent content (02 06 40 enable, 02 05 20 disable, 02 04 10
 * delete). */
static int append_other_notification(struct dp_euicc *e, const struct dp_euicc_profile *p,
				     const uint8_t event[2])
{
	struct dp_buf meta, body, note;
	const uint8_t *addr;
	size_t addr_len, len;
	if (e->n_notes >= NOTIFICATIONS_MAX)
		return dp_err_set(DP_ERR_TOO_LONG, "pending notifications full");
	dp_buf_init(&meta, PART_MAX);
	dp_buf_init(&body, PART_MAX);
	dp_buf_init(&note, PART_MAX);
	note_address(p, event[1], &addr, &addr_len);
	int r = append_uint(&meta, 0x80, e->next_seq);
	if (r == DP_OK)
		r = dp_tlv_append(&meta, 0x81, event, 2);
	if (r == DP_OK)
		r = dp_tlv_append(&meta, 0x0C, addr, addr_len);
	if (r == DP_OK)
		r = dp_tlv_append(&meta, 0x5A, p->iccid, sizeof(p->iccid));
	if (r == DP_OK)
		r = dp_tlv_append(&body, TAG_NOTIFICATION_METADATA, meta.data, meta.len);
	if (r == DP_OK)
		r = dp_euicc_identity_sign_tlv(e->id, body.data, body.len, &body);
	const uint8_t *der = dp_cert_der(dp_euicc_identity_cert(e->id), &len);
	if (r == DP_OK)
		r = dp_buf_append(&body, der, len);
	der = dp_cert_der(dp_euicc_identity_eum(e->id), &len);
	if (r == DP_OK)
		r = dp_buf_append(&body, der, len);
	if (r == DP_OK)
		r = dp_tlv_append(&note, 0x30, body.data, body.len);
	if (r == DP_OK) {
		struct pending *n = &e->notes[e->n_notes];
		n->der = dp_buf_take(&note, &n->len);
		if (n->der == NULL) {
			r = DP_ERR_NOMEM;
		} else {
			e->n_notes++;
			e->next_seq++;
		}
	}
	dp_buf_deinit(&meta);
	dp_buf_deinit(&body);
	dp_buf_deinit(&note);
	return r;
}

/* BF2D [A0 { 4F | 5A | 95 }] [5C tagList] -> BF2D A0 { E3 { 5A, 4F, 9F70, 91, 92, 95,
 * B6, B7, 99 (those in the metadata) } ... }. The tagList is not applied: every
 * ProfileInfo carries all of these. */
static int get_profiles_info(struct dp_euicc *e, const struct dp_tlv *t, struct dp_buf *resp)
{
	static const uint32_t copied[] = { 0x91, 0x92, 0x95, 0xB6, 0xB7, 0x99 };
	struct dp_tlv criteria, key, m;
	bool has_key = false;
	asn1_node node = NULL;
	int r = dp_asn1_decode("RSPDefinitions.ProfileInfoListRequest", t->raw, t->raw_len, &node);
	dp_asn1_free(&node);
	if (r != DP_OK)
		return dp_err_wrap(DP_ERR_EUICC_REQUEST, "ProfileInfoListRequest: ");
	if (dp_tlv_find(t->value, t->len, 0xA0, &criteria) == DP_OK) {
		if (dp_tlv_expect(criteria.value, criteria.len, 0, &key) != DP_OK)
			return dp_err_set(DP_ERR_EUICC_REQUEST, "ProfileInfoListRequest criteria");
		has_key = true;
	}
	struct dp_buf list, info;
	dp_buf_init(&list, DP_EUICC_ES10_RESP_MAX);
	dp_buf_init(&info, PART_MAX);
	r = DP_OK;
	for (size_t i = 0; i < e->n_profiles && r == DP_OK; i++) {
		const struct dp_euicc_profile *p = &e->profiles[i];
		if (has_key && key.tag == 0x95) {
			if (key.len != 1 || key.value[0] != p->profile_class)
				continue;
		} else if (has_key && profile_find(e, &key) != (int)i) {
			continue;
		}
		uint8_t state = p->enabled ? 1 : 0;
		dp_buf_reset(&info);
		r = dp_tlv_append(&info, 0x5A, p->iccid, sizeof(p->iccid));
		if (r == DP_OK)
			r = dp_tlv_append(&info, 0x4F, p->aid, sizeof(p->aid));
		if (r == DP_OK)
			r = dp_tlv_append(&info, 0x9F70, &state, 1);
		for (size_t k = 0; k < sizeof(copied) / sizeof(copied[0]) && r == DP_OK; k++)
			if (profile_member(p, copied[k], &m))
				r = dp_buf_append(&info, m.raw, m.raw_len);
		if (r == DP_OK)
			r = dp_tlv_append(&list, 0xE3, info.data, info.len);
	}
	if (r == DP_OK)
		r = append_list(resp, TAG_GET_PROFILES_INFO, &list);
	dp_buf_deinit(&list);
	dp_buf_deinit(&info);
	return r;
}

/* BF31 / BF32 { A0 { 4F | 5A }, 81 refreshFlag } and BF33 { 4F | 5A }: the profile
 * identifier TLV. */
static int profile_request(const struct dp_tlv *t, const char *type, struct dp_tlv *id)
{
	struct dp_tlv choice;
	asn1_node node = NULL;
	int r = dp_asn1_decode(type, t->raw, t->raw_len, &node);
	dp_asn1_free(&node);
	if (r != DP_OK)
		return dp_err_wrap(DP_ERR_EUICC_REQUEST, "%s: ", type);
	if (t->tag == TAG_DELETE_PROFILE)
		r = dp_tlv_expect(t->value, t->len, 0, id);
	else if ((r = dp_tlv_find(t->value, t->len, 0xA0, &choice)) == DP_OK)
		r = dp_tlv_expect(choice.value, choice.len, 0, id);
	if (r != DP_OK || (id->tag != 0x4F && id->tag != 0x5A))
		return dp_err_set(DP_ERR_EUICC_REQUEST, "%s: profile identifier", type);
	return DP_OK;
}

/* <tag> { 80 result } */
static int profile_result(uint32_t tag, const char *fn, int result, struct dp_buf *resp)
{
	uint8_t v[3] = { 0x80, 0x01, (uint8_t)result };
	if (result != 0)
		dp_log_info(DP_LOG_EUICC, "%s refused: result %d", fn, result);
	return dp_tlv_append(resp, tag, v, sizeof(v));
}

/* EnableProfile: the profile must be disabled; an enabled one is disabled first (with its
 * own disable notification), so that at most one is enabled. */
static int enable_profile(struct dp_euicc *e, const struct dp_tlv *t, struct dp_buf *resp)
{
	static const uint8_t enable[] = { 0x06, 0x40 }, disable[] = { 0x05, 0x20 };
	struct dp_tlv id;
	int r = profile_request(t, "RSPDefinitions.EnableProfileRequest", &id);
	if (r != DP_OK)
		return r;
	int i = profile_find(e, &id);
	if (i < 0)
		return profile_result(TAG_ENABLE_PROFILE, "EnableProfile", 1, resp);
	if (e->profiles[i].enabled)
		return profile_result(TAG_ENABLE_PROFILE, "EnableProfile", 2, resp);
	size_t needed = 1;
	for (size_t k = 0; k < e->n_profiles; k++)
		needed += e->profiles[k].enabled ? 1 : 0;
	if (e->n_notes + needed > NOTIFICATIONS_MAX)
		return profile_result(TAG_ENABLE_PROFILE, "EnableProfile", 127, resp);
	for (size_t k = 0; k < e->n_profiles; k++) {
		if (!e->profiles[k].enabled)
			continue;
		if ((r = append_other_notification(e, &e->profiles[k], disable)) != DP_OK)
			return r;
		e->profiles[k].enabled = false;
	}
	if ((r = append_other_notification(e, &e->profiles[i], enable)) != DP_OK)
		return r;
	e->profiles[i].enabled = true;
	dp_log_info(DP_LOG_EUICC, "profile %d enabled", i);
	return profile_result(TAG_ENABLE_PROFILE, "EnableProfile", 0, resp);
}

static int disable_profile(struct dp_euicc *e, const struct dp_tlv *t, struct dp_buf *resp)
{
	static const uint8_t disable[] = { 0x05, 0x20 };
	struct dp_tlv id;
	int r = profile_request(t, "RSPDefinitions.DisableProfileRequest", &id);
	if (r != DP_OK)
		return r;
	int i = profile_find(e, &id);
	if (i < 0)
		return profile_result(TAG_DISABLE_PROFILE, "DisableProfile", 1, resp);
	if (!e->profiles[i].enabled)
		return profile_result(TAG_DISABLE_PROFILE, "DisableProfile", 2, resp);
	if (e->n_notes >= NOTIFICATIONS_MAX)
		return profile_result(TAG_DISABLE_PROFILE, "DisableProfile", 127, resp);
	if ((r = append_other_notification(e, &e->profiles[i], disable)) != DP_OK)
		return r;
	e->profiles[i].enabled = false;
	dp_log_info(DP_LOG_EUICC, "profile %d disabled", i);
	return profile_result(TAG_DISABLE_PROFILE, "DisableProfile", 0, resp);
}

static int delete_profile(struct dp_euicc *e, const struct dp_tlv *t, struct dp_buf *resp)
{
	static const uint8_t deleted[] = { 0x04, 0x10 };
	struct dp_tlv id;
	int r = profile_request(t, "RSPDefinitions.DeleteProfileRequest", &id);
	if (r != DP_OK)
		return r;
	int i = profile_find(e, &id);
	if (i < 0)
		return profile_result(TAG_DELETE_PROFILE, "DeleteProfile", 1, resp);
	if (e->profiles[i].enabled)
		return profile_result(TAG_DELETE_PROFILE, "DeleteProfile", 2, resp);
	if (e->n_notes >= NOTIFICATIONS_MAX)
		return profile_result(TAG_DELETE_PROFILE, "DeleteProfile", 127, resp);
	if ((r = append_other_notification(e, &e->profiles[i], deleted)) != DP_OK)
		return r;
	free((void *)e->profiles[i].metadata);
	free((void *)e->profiles[i].package);
	memmove(&e->profiles[i], &e->profiles[i + 1],
		(e->n_profiles - (size_t)i - 1) * sizeof(e->profiles[0]));
	e->n_profiles--;
	memset(&e->profiles[e->n_profiles], 0, sizeof(e->profiles[0]));
	dp_log_info(DP_LOG_EUICC, "profile %d deleted", i);
	return profile_result(TAG_DELETE_PROFILE, "DeleteProfile", 0, resp);
}

/* ---- CancelSession (ES10b); download-path.md 3.2, 4.2, 7.2 ---- */

/* BF41 { 80 tid, 81 reason } -> BF41 A0 { 30 { 80 tid, 81 <SM-DP+ OID of CERT.DPauth>,
 * 82 reason }, 5F37 sig } or, for any tid but the session's, BF41 81 01 05. The session,
 * the one-time key and any BPP in progress are dropped. */
static int cancel_session(struct dp_euicc *e, const struct dp_tlv *t, struct dp_buf *resp)
{
	static const uint8_t invalid_tid[] = { 0x81, 0x01, 0x05 };
	struct session *s = &e->session;
	struct dp_tlv tid, reason, oid;
	struct dp_buf body, ok;
	uint8_t oid_der[OID_DER_MAX];
	size_t oid_len = 0;
	asn1_node node = NULL;
	int r = dp_asn1_decode("RSPDefinitions.CancelSessionRequest", t->raw, t->raw_len, &node);
	dp_asn1_free(&node);
	if (r != DP_OK || dp_tlv_find(t->value, t->len, 0x80, &tid) != DP_OK ||
	    dp_tlv_find(t->value, t->len, 0x81, &reason) != DP_OK)
		return dp_err_wrap(DP_ERR_EUICC_REQUEST, "CancelSessionRequest: ");
	if (!s->active || s->dpauth == NULL || tid.len != s->tid_len ||
	    !dp_ct_equal(tid.value, s->tid, s->tid_len) ||
	    oid_tlv(s->dpauth, oid_der, sizeof(oid_der), &oid_len) != DP_OK) {
		dp_log_info(DP_LOG_EUICC, "CancelSession refused: invalidTransactionId");
		return dp_tlv_append(resp, TAG_CANCEL_SESSION, invalid_tid, sizeof(invalid_tid));
	}
	if (dp_tlv_read(oid_der, oid_len, &oid) != DP_OK)
		return dp_err_set(DP_ERR_CRYPTO, "SM-DP+ OID");
	dp_buf_init(&body, PART_MAX);
	dp_buf_init(&ok, PART_MAX);
	r = dp_tlv_append(&body, 0x80, tid.value, tid.len);
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x81, oid.value, oid.len);
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x82, reason.value, reason.len);
	if (r == DP_OK)
		r = dp_tlv_append(&ok, 0x30, body.data, body.len);
	if (r == DP_OK)
		r = dp_euicc_identity_sign_tlv(e->id, ok.data, ok.len, &ok);
	uint8_t hdr[9];
	size_t hlen = dp_tlv_header(0xA0, ok.len, hdr);
	if (r == DP_OK)
		r = dp_tlv_append_header(resp, TAG_CANCEL_SESSION, hlen + ok.len);
	if (r == DP_OK)
		r = dp_buf_append(resp, hdr, hlen);
	if (r == DP_OK)
		r = dp_buf_append(resp, ok.data, ok.len);
	if (r == DP_OK) {
		dp_log_info(DP_LOG_EUICC, "session cancelled");
		session_end(s);
		otsk_drop(e);
		bpp_reset(&e->bpp, BPP_IDLE);
	}
	dp_buf_deinit(&body);
	dp_buf_deinit(&ok);
	return r;
}

/* ---- Persistence of installed profiles and pending notifications ---- */

enum { STATE_VERSION = 1, STATE_FILE_MAX = 16 * 1024 * 1024 };

int dp_euicc_save(const struct dp_euicc *e, const char *path)
{
	struct dp_buf body, list, prof, file;
	char tmp[4096];
	uint8_t enabled;
	dp_buf_init(&body, STATE_FILE_MAX);
	dp_buf_init(&list, STATE_FILE_MAX);
	dp_buf_init(&prof, STATE_FILE_MAX);
	dp_buf_init(&file, STATE_FILE_MAX);
	int r = append_uint(&body, 0x02, STATE_VERSION);
	if (r == DP_OK)
		r = append_uint(&body, 0x02, e->next_seq);
	for (size_t i = 0; i < e->n_profiles && r == DP_OK; i++) {
		const struct dp_euicc_profile *p = &e->profiles[i];
		enabled = p->enabled ? 0xFF : 0x00;
		dp_buf_reset(&prof);
		r = dp_tlv_append(&prof, 0x4F, p->aid, sizeof(p->aid));
		if (r == DP_OK)
			r = dp_tlv_append(&prof, 0x01, &enabled, 1);
		if (r == DP_OK)
			r = dp_tlv_append(&prof, 0x0C, p->smdp_address, strlen(p->smdp_address));
		if (r == DP_OK)
			r = dp_buf_append(&prof, p->metadata, p->metadata_len);
		if (r == DP_OK)
			r = dp_tlv_append(&prof, 0x04, p->package, p->package_len);
		if (r == DP_OK)
			r = dp_tlv_append(&list, 0x30, prof.data, prof.len);
	}
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0xA0, list.data, list.len);
	dp_buf_reset(&list);
	for (size_t i = 0; i < e->n_notes && r == DP_OK; i++)
		r = dp_buf_append(&list, e->notes[i].der, e->notes[i].len);
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0xA1, list.data, list.len);
	if (r == DP_OK)
		r = dp_tlv_append(&file, 0x30, body.data, body.len);
	if (r == DP_OK && (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		r = dp_err_set(DP_ERR_TOO_LONG, "state path");
	if (r == DP_OK) {
		/* write a temporary file and rename it, so a crash leaves the old state */
		FILE *f = fopen(tmp, "wb");
		if (f == NULL) {
			r = dp_err_set(DP_ERR_IO, "%s", tmp);
		} else {
			bool ok = fwrite(file.data, 1, file.len, f) == file.len;
			ok = fclose(f) == 0 && ok;
			if (!ok || rename(tmp, path) != 0) {
				remove(tmp);
				r = dp_err_set(DP_ERR_IO, "writing %s", path);
			}
		}
	}
	dp_buf_deinit(&body);
	dp_buf_deinit(&list);
	dp_buf_deinit(&prof);
	dp_buf_deinit(&file);
	return r;
}

/* One saved profile 30 { 4F aid, 01 enabled, 0C address, BF25 metadata, 04 package } into
 * p (metadata and package allocated). */
static int load_profile(const struct dp_tlv *t, struct dp_euicc_profile *p)
{
	struct dp_tlv aid, en, addr, meta, pkg;
	struct dp_cursor c = dp_cursor_make(t->value, t->len);
	memset(p, 0, sizeof(*p));
	if (t->tag != 0x30 || dp_tlv_next(&c, &aid) != DP_OK || dp_tlv_next(&c, &en) != DP_OK ||
	    dp_tlv_next(&c, &addr) != DP_OK || dp_tlv_next(&c, &meta) != DP_OK ||
	    dp_tlv_next(&c, &pkg) != DP_OK || !dp_cursor_done(&c) || aid.tag != 0x4F ||
	    aid.len != sizeof(p->aid) || en.tag != 0x01 || en.len != 1 || addr.tag != 0x0C ||
	    addr.len >= sizeof(p->smdp_address) || pkg.tag != 0x04 ||
	    parse_metadata(meta.raw, meta.raw_len, p) != 0)
		return dp_err_set(DP_ERR_EUICC_STATE, "saved profile");
	memcpy(p->aid, aid.value, sizeof(p->aid));
	p->enabled = en.value[0] != 0;
	memcpy(p->smdp_address, addr.value, addr.len);
	uint8_t *m = malloc(meta.raw_len), *k = malloc(pkg.len != 0 ? pkg.len : 1);
	if (m == NULL || k == NULL) {
		free(m);
		free(k);
		return DP_ERR_NOMEM;
	}
	memcpy(m, meta.raw, meta.raw_len);
	memcpy(k, pkg.value, pkg.len);
	p->metadata = m;
	p->metadata_len = meta.raw_len;
	p->package = k;
	p->package_len = pkg.len;
	return DP_OK;
}

int dp_euicc_load(struct dp_euicc *e, const char *path)
{
	struct dp_euicc_profile profiles[PROFILES_MAX];
	struct pending notes[NOTIFICATIONS_MAX];
	size_t n_profiles = 0, n_notes = 0, n_enabled = 0;
	struct dp_buf file;
	struct dp_tlv top, version, seq, plist, nlist, t, meta;
	uint64_t v = 0, next_seq = 0, s;
	dp_buf_init(&file, STATE_FILE_MAX);
	int r = dp_buf_read_file(&file, path);
	if (r != DP_OK)
		goto out;
	r = dp_err_set(DP_ERR_EUICC_STATE, "%s", path);
	if (dp_tlv_expect(file.data, file.len, 0x30, &top) != DP_OK)
		goto out;
	struct dp_cursor c = dp_cursor_make(top.value, top.len);
	if (dp_tlv_next(&c, &version) != DP_OK || dp_tlv_next(&c, &seq) != DP_OK ||
	    dp_tlv_next(&c, &plist) != DP_OK || dp_tlv_next(&c, &nlist) != DP_OK ||
	    !dp_cursor_done(&c) || version.tag != 0x02 || read_uint(&version, &v) != DP_OK ||
	    v != STATE_VERSION || seq.tag != 0x02 || read_uint(&seq, &next_seq) != DP_OK ||
	    plist.tag != 0xA0 || nlist.tag != 0xA1)
		goto out;
	c = dp_cursor_make(plist.value, plist.len);
	while (!dp_cursor_done(&c)) {
		if (n_profiles >= PROFILES_MAX || dp_tlv_next(&c, &t) != DP_OK)
			goto out;
		if ((r = load_profile(&t, &profiles[n_profiles])) != DP_OK)
			goto out;
		n_enabled += profiles[n_profiles].enabled ? 1 : 0;
		n_profiles++;
		r = dp_err_set(DP_ERR_EUICC_STATE, "%s", path);
	}
	c = dp_cursor_make(nlist.value, nlist.len);
	while (!dp_cursor_done(&c)) {
		if (n_notes >= NOTIFICATIONS_MAX || dp_tlv_next(&c, &t) != DP_OK)
			goto out;
		struct pending *n = &notes[n_notes];
		n->der = malloc(t.raw_len);
		if (n->der == NULL) {
			r = DP_ERR_NOMEM;
			goto out;
		}
		memcpy(n->der, t.raw, t.raw_len);
		n->len = t.raw_len;
		n_notes++;
		if (note_metadata(n, &meta, &s) != DP_OK || s >= next_seq)
			goto out;
	}
	if (n_enabled > 1)
		goto out;
	/* all read: replace the eUICC's profiles and notifications */
	for (size_t i = 0; i < e->n_profiles; i++) {
		free((void *)e->profiles[i].metadata);
		free((void *)e->profiles[i].package);
	}
	for (size_t i = 0; i < e->n_notes; i++)
		free(e->notes[i].der);
	memcpy(e->profiles, profiles, n_profiles * sizeof(profiles[0]));
	e->n_profiles = n_profiles;
	memcpy(e->notes, notes, n_notes * sizeof(notes[0]));
	e->n_notes = n_notes;
	e->next_seq = next_seq;
	n_profiles = n_notes = 0;
	dp_log_info(DP_LOG_EUICC, "state loaded from %s: %zu profiles, %zu notifications", path,
		    e->n_profiles, e->n_notes);
	r = DP_OK;
out:
	for (size_t i = 0; i < n_profiles; i++) {
		free((void *)profiles[i].metadata);
		free((void *)profiles[i].package);
	}
	for (size_t i = 0; i < n_notes; i++)
		free(notes[i].der);
	dp_buf_deinit(&file);
	return r;
}

int dp_euicc_es10(struct dp_euicc *e, const uint8_t *cmd, size_t len, struct dp_buf *resp)
{
	struct dp_tlv t;
	/* The segments of a BPP are not whole TLVs (2.5.5): BF36 opens the stream, and while it
	 * is open (or just closed) every segment goes to it. */
	if ((len >= 2 && cmd[0] == 0xBF && cmd[1] == 0x36) ||
	    (e->bpp.stage != BPP_IDLE && (len == 0 || cmd[0] != 0xBF))) {
		size_t before = resp->len;
		int r = load_bound_profile_package(e, cmd, len, resp);
		if (r != DP_OK)
			resp->len = before;
		return r;
	}
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
	case TAG_PREPARE_DOWNLOAD:
		r = prepare_download(e, &t, resp);
		break;
	case TAG_CANCEL_SESSION:
		r = cancel_session(e, &t, resp);
		break;
	case TAG_LIST_NOTIFICATION:
		r = list_notification(e, &t, resp);
		break;
	case TAG_RETRIEVE_NOTIFICATIONS:
		r = retrieve_notifications(e, &t, resp);
		break;
	case TAG_NOTIFICATION_SENT:
		r = notification_sent(e, &t, resp);
		break;
	case TAG_GET_PROFILES_INFO:
		r = get_profiles_info(e, &t, resp);
		break;
	case TAG_ENABLE_PROFILE:
		r = enable_profile(e, &t, resp);
		break;
	case TAG_DISABLE_PROFILE:
		r = disable_profile(e, &t, resp);
		break;
	case TAG_DELETE_PROFILE:
		r = delete_profile(e, &t, resp);
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
