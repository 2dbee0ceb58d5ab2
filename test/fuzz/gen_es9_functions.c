/* Writes the seed corpus of fuzz-es9-functions (test/fuzz/corpus/es9-functions): for each
 * ES9+ function a valid request against the fixture's sessions (signed with the published
 * SGP.26 eUICC key, as the test eUICC would sign them) and mutated variants (wrong stage,
 * unknown transactionId, spoiled signature, error alternatives). A seed is one byte naming
 * the function (its index in es9f_functions) and the JSON body; the der-* seeds are the
 * valid ones in the target's DER form (see fuzz_es9_functions.c). Every seed is run
 * once against the fixture and its answer printed, so that a seed meant to be valid can
 * be seen to succeed. Usage: gen-es9-functions CORPUS_DIR (SMDP_SHARED set). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pki/asn1/tlv.h"
#include "pki/base/codec.h"
#include "pki/base/log.h"
#include "pki/crypto/ecdsa.h"
#include "pki/crypto/kdf.h"
#include "test/euicc/identity.h"
#include "test/fuzz/es9_functions_fixture.h"

static struct {
	struct es9f f;
	const char *dir;
	EVP_PKEY *sk_euicc;
	struct dp_buf euicc_cert, eum_cert, info1, info2;
	int failures;
} G;

static void die(const char *what)
{
	fprintf(stderr, "gen-es9-functions: %s: %s\n", what, dp_err_detail());
	exit(1);
}

#define CHECK(x, what)                                                                             \
	do {                                                                                       \
		if ((x) != DP_OK)                                                                  \
			die(what);                                                                 \
	} while (0)

static char *b64(const struct dp_buf *b)
{
	struct dp_buf t;
	const char *s;
	dp_buf_init(&t, b->len * 2 + 8);
	CHECK(dp_b64_encode(b->data, b->len, &t), "base64");
	CHECK(dp_buf_cstr(&t, &s), "base64");
	char *out = strdup(s);
	dp_buf_deinit(&t);
	return out;
}

static char *hex(const uint8_t *p, size_t n)
{
	static char out[2 * 16 + 1];
	CHECK(dp_hex_encode(p, n, true, out, sizeof(out)), "hex");
	return out;
}

/* Writes seed `name` (function fn, body) and runs it once, printing the answer. */
static void seed(const char *name, unsigned fn, const char *body)
{
	char path[512];
	unsigned status = 0;
	struct dp_buf res;
	snprintf(path, sizeof(path), "%s/%s", G.dir, name);
	FILE *f = fopen(path, "wb");
	uint8_t b = (uint8_t)fn;
	if (f == NULL || fwrite(&b, 1, 1, f) != 1 ||
	    fwrite(body, 1, strlen(body), f) != strlen(body) || fclose(f) != 0)
		die(path);
	dp_buf_init(&res, (size_t)16 << 20);
	CHECK(es9f_reset(&G.f), "reset");
	CHECK(es9f_call(&G.f, fn, (const uint8_t *)body, strlen(body), &status, &res), name);
	printf("%-28s %-24s %u %.160s\n", name, es9f_functions[fn], status,
	       res.len ? (const char *)res.data : "");
	es9f_close_db(&G.f);
	dp_buf_deinit(&res);
}

/* {"transactionId": hex(tid), member: base64(der)} */
static char *body_tid(const uint8_t *tid, const char *member, const struct dp_buf *der)
{
	char *v = b64(der);
	json_t *o = json_pack("{s:s,s:s}", "transactionId", hex(tid, 16), member, v);
	char *t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(v);
	return t;
}

static char *body_one(const char *member, const struct dp_buf *der)
{
	char *v = b64(der);
	json_t *o = json_pack("{s:s}", member, v);
	char *t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(v);
	return t;
}

static void seed_take(const char *name, unsigned fn, char *body)
{
	seed(name, fn, body);
	free(body);
}

/* The DER form of a seed: first byte fn + 5 + 10 * session, then der (the fuzz target
 * wraps it with es9f_wrap). Run once like the JSON seeds. */
static void seed_der(const char *name, unsigned fn, enum es9f_session session,
		     const struct dp_buf *der)
{
	char path[512], n[64];
	unsigned status = 0;
	struct dp_buf body, res;
	snprintf(n, sizeof(n), "der-%s", name);
	snprintf(path, sizeof(path), "%s/%s", G.dir, n);
	FILE *f = fopen(path, "wb");
	uint8_t b = (uint8_t)(fn + 5 + 10 * session);
	if (f == NULL || fwrite(&b, 1, 1, f) != 1 ||
	    fwrite(der->data, 1, der->len, f) != der->len || fclose(f) != 0)
		die(path);
	dp_buf_init(&body, 1 << 20);
	dp_buf_init(&res, (size_t)16 << 20);
	CHECK(es9f_wrap(fn, session, der->data, der->len, &body), "wrap");
	CHECK(es9f_reset(&G.f), "reset");
	CHECK(es9f_call(&G.f, fn, body.data, body.len, &status, &res), n);
	printf("%-28s %-24s %u %.160s\n", n, es9f_functions[fn], status,
	       res.len ? (const char *)res.data : "");
	es9f_close_db(&G.f);
	dp_buf_deinit(&res);
	dp_buf_deinit(&body);
}

/* out = TLV(tag, signed_ || 5F37 sig(signed_ || extra) || tail) */
static void signed_tlv(uint32_t tag, const struct dp_buf *signed_, const uint8_t *extra,
		       size_t extra_len, bool spoil, const struct dp_buf *tail, struct dp_buf *out)
{
	struct dp_buf m, v;
	dp_buf_init(&m, 1 << 16);
	dp_buf_init(&v, 1 << 16);
	CHECK(dp_buf_append(&m, signed_->data, signed_->len), "msg");
	if (extra_len)
		CHECK(dp_buf_append(&m, extra, extra_len), "msg");
	CHECK(dp_buf_append(&v, signed_->data, signed_->len), "tlv");
	size_t at = v.len;
	CHECK(dp_ecdsa_sign_tlv(G.sk_euicc, m.data, m.len, &v), "sign");
	if (spoil)
		v.data[at + 10] ^= 0x01;
	if (tail != NULL)
		CHECK(dp_buf_append(&v, tail->data, tail->len), "tlv");
	dp_buf_init(out, 1 << 16);
	CHECK(dp_tlv_append(out, tag, v.data, v.len), "tlv");
	dp_buf_deinit(&m);
	dp_buf_deinit(&v);
}

/* ---- the functions ---- */

static void initiate_authentication(void)
{
	struct dp_buf ch = {.data = (uint8_t *)es9f_euicc_challenge, .len = 16};
	char *c = b64(&ch), *i = b64(&G.info1);
	json_t *o = json_pack("{s:s,s:s,s:s}", "smdpAddress", ES9F_ADDRESS, "euiccChallenge", c,
			      "euiccInfo1", i);
	seed_take("ia-valid", 0, json_dumps(o, JSON_COMPACT));
	seed_der("ia-valid", 0, ES9F_INITIATED, &G.info1);
	json_object_set_new(o, "smdpAddress", json_string("smdp.example.org"));
	seed_take("ia-other-address", 0, json_dumps(o, JSON_COMPACT));
	json_object_set_new(o, "smdpAddress", json_string(ES9F_ADDRESS));
	i[strlen(i) / 2] = '\0';
	json_object_set_new(o, "euiccInfo1", json_string(i));
	seed_take("ia-info1-truncated", 0, json_dumps(o, JSON_COMPACT));
	json_decref(o);
	free(c);
	free(i);
}

/* AuthenticateServerResponse for session tid with matching ID mid. */
static void auth_response(const uint8_t *tid, const char *mid, bool spoil, struct dp_buf *out)
{
	struct dp_buf s1, v, ctx, dev, tail, ok;
	dp_buf_init(&v, 1 << 16);
	dp_buf_init(&ctx, 256);
	dp_buf_init(&dev, 64);
	dp_buf_init(&s1, 1 << 16);
	dp_buf_init(&tail, 1 << 16);
	CHECK(dp_tlv_append(&dev, 0x80, "\x35\x29\x06\x11", 4), "tac");
	CHECK(dp_tlv_append(&dev, 0xA1, NULL, 0), "caps");
	CHECK(dp_tlv_append(&ctx, 0x80, mid, strlen(mid)), "mid");
	CHECK(dp_tlv_append(&ctx, 0xA1, dev.data, dev.len), "deviceInfo");
	CHECK(dp_tlv_append(&v, 0x80, tid, 16), "tid");
	CHECK(dp_tlv_append(&v, 0x83, ES9F_ADDRESS, strlen(ES9F_ADDRESS)), "address");
	CHECK(dp_tlv_append(&v, 0x84, es9f_server_challenge, 16), "challenge");
	CHECK(dp_buf_append(&v, G.info2.data, G.info2.len), "info2");
	CHECK(dp_tlv_append(&v, 0xA0, ctx.data, ctx.len), "ctx");
	CHECK(dp_tlv_append(&s1, 0x30, v.data, v.len), "euiccSigned1");
	CHECK(dp_buf_append(&tail, G.euicc_cert.data, G.euicc_cert.len), "cert");
	CHECK(dp_buf_append(&tail, G.eum_cert.data, G.eum_cert.len), "cert");
	signed_tlv(0xA0, &s1, NULL, 0, spoil, &tail, &ok);
	dp_buf_init(out, 1 << 16);
	CHECK(dp_tlv_append(out, 0xBF38, ok.data, ok.len), "BF38");
	dp_buf_deinit(&ok);
	dp_buf_deinit(&tail);
	dp_buf_deinit(&s1);
	dp_buf_deinit(&dev);
	dp_buf_deinit(&ctx);
	dp_buf_deinit(&v);
}

static void authenticate_client(void)
{
	struct dp_buf asr, err, v;
	const uint8_t *t1 = es9f_tid[ES9F_INITIATED];
	auth_response(t1, "FUZZ-1", false, &asr);
	seed_take("ac-valid", 1, body_tid(t1, "authenticateServerResponse", &asr));
	seed_der("ac-valid", 1, ES9F_INITIATED, &asr);
	seed_take("ac-authenticated-session", 1,
		  body_tid(es9f_tid[ES9F_AUTHENTICATED], "authenticateServerResponse", &asr));
	dp_buf_deinit(&asr);
	auth_response(t1, "FUZZ-1", true, &asr);
	seed_take("ac-bad-signature", 1, body_tid(t1, "authenticateServerResponse", &asr));
	dp_buf_deinit(&asr);
	auth_response(t1, "NO-SUCH-ORDER", false, &asr);
	seed_take("ac-unknown-matching-id", 1, body_tid(t1, "authenticateServerResponse", &asr));
	dp_buf_deinit(&asr);
	/* the eUICC's error alternative A1 { 80 tid, 02 invalidSignature } */
	dp_buf_init(&v, 64);
	dp_buf_init(&err, 64);
	CHECK(dp_tlv_append(&v, 0x80, t1, 16), "tid");
	CHECK(dp_tlv_append(&v, 0x02, "\x02", 1), "code");
	CHECK(dp_tlv_append(&err, 0xA1, v.data, v.len), "A1");
	dp_buf_reset(&v);
	CHECK(dp_tlv_append(&v, 0xBF38, err.data, err.len), "BF38");
	seed_take("ac-euicc-error", 1, body_tid(t1, "authenticateServerResponse", &v));
	dp_buf_deinit(&v);
	dp_buf_deinit(&err);
}

/* PrepareDownloadResponse for session tid with a fresh otPK.EUICC. */
static void prepare_download_response(const uint8_t *tid, bool spoil, struct dp_buf *out)
{
	EVP_PKEY *otsk = NULL;
	uint8_t pt[DP_CURVE_POINT_BYTES];
	struct dp_buf v, s2, ok;
	CHECK(dp_kdf_generate(DP_CURVE_NIST_P256, &otsk), "otsk");
	CHECK(dp_kdf_export_point(otsk, pt), "otpk");
	EVP_PKEY_free(otsk);
	dp_buf_init(&v, 256);
	dp_buf_init(&s2, 256);
	CHECK(dp_tlv_append(&v, 0x80, tid, 16), "tid");
	CHECK(dp_tlv_append(&v, 0x5F49, pt, sizeof(pt)), "otpk");
	CHECK(dp_tlv_append(&s2, 0x30, v.data, v.len), "euiccSigned2");
	signed_tlv(0xA0, &s2, es9f_smdp_signature2, sizeof(es9f_smdp_signature2), spoil, NULL, &ok);
	dp_buf_init(out, 1024);
	CHECK(dp_tlv_append(out, 0xBF21, ok.data, ok.len), "BF21");
	dp_buf_deinit(&ok);
	dp_buf_deinit(&s2);
	dp_buf_deinit(&v);
}

static void get_bound_profile_package(void)
{
	struct dp_buf pdr, v, err;
	const uint8_t *t2 = es9f_tid[ES9F_AUTHENTICATED];
	prepare_download_response(t2, false, &pdr);
	seed_take("gbpp-valid", 2, body_tid(t2, "prepareDownloadResponse", &pdr));
	seed_der("gbpp-valid", 2, ES9F_AUTHENTICATED, &pdr);
	seed_take("gbpp-initiated-session", 2,
		  body_tid(es9f_tid[ES9F_INITIATED], "prepareDownloadResponse", &pdr));
	dp_buf_deinit(&pdr);
	prepare_download_response(t2, true, &pdr);
	seed_take("gbpp-bad-signature", 2, body_tid(t2, "prepareDownloadResponse", &pdr));
	dp_buf_deinit(&pdr);
	prepare_download_response(es9f_tid[ES9F_BOUND], false, &pdr);
	seed_take("gbpp-bound-session", 2,
		  body_tid(es9f_tid[ES9F_BOUND], "prepareDownloadResponse", &pdr));
	dp_buf_deinit(&pdr);
	/* downloadResponseError A1 { 80 tid, 02 undefinedError } */
	dp_buf_init(&v, 64);
	dp_buf_init(&err, 64);
	CHECK(dp_tlv_append(&v, 0x80, t2, 16), "tid");
	CHECK(dp_tlv_append(&v, 0x02, "\x7F", 1), "code");
	CHECK(dp_tlv_append(&err, 0xA1, v.data, v.len), "A1");
	dp_buf_reset(&v);
	CHECK(dp_tlv_append(&v, 0xBF21, err.data, err.len), "BF21");
	seed_take("gbpp-euicc-error", 2, body_tid(t2, "prepareDownloadResponse", &v));
	dp_buf_deinit(&v);
	dp_buf_deinit(&err);
}

/* NotificationMetadata BF2F { 80 seq, 81 event, 0C address[, 5A iccid] } */
static void metadata(unsigned seq, uint8_t event, bool iccid, struct dp_buf *out)
{
	uint8_t ev[2] = {(uint8_t)(event == 0x80   ? 7
				   : event == 0x40 ? 6
				   : event == 0x20 ? 5
						   : 4),
			 event};
	uint8_t s = (uint8_t)seq;
	struct dp_buf v;
	dp_buf_init(&v, 256);
	CHECK(dp_tlv_append(&v, 0x80, &s, 1), "seq");
	CHECK(dp_tlv_append(&v, 0x81, ev, 2), "event");
	CHECK(dp_tlv_append(&v, 0x0C, ES9F_ADDRESS, strlen(ES9F_ADDRESS)), "address");
	if (iccid) {
		/* EF.ICCID of the fixture's third profile (8949449000000090034) */
		static const uint8_t ef[10] = {0x98, 0x94, 0x44, 0x09, 0x00,
					       0x00, 0x00, 0x09, 0x30, 0xF4};
		CHECK(dp_tlv_append(&v, 0x5A, ef, 10), "iccid");
	}
	dp_buf_init(out, 256);
	CHECK(dp_tlv_append(out, 0xBF2F, v.data, v.len), "BF2F");
	dp_buf_deinit(&v);
}

/* ProfileInstallationResult of session tid: success, or errorResult(command, reason). */
static void pir(const uint8_t *tid, bool success, bool spoil, struct dp_buf *out)
{
	struct dp_buf v, data, res, fin, meta;
	static const uint8_t aid[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
					0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x11, 0x00};
	dp_buf_init(&v, 1024);
	dp_buf_init(&data, 1024);
	dp_buf_init(&res, 256);
	dp_buf_init(&fin, 256);
	metadata(1, 0x80, false, &meta);
	if (success) {
		CHECK(dp_tlv_append(&res, 0x4F, aid, sizeof(aid)), "aid");
		CHECK(dp_tlv_append(&res, 0x04, NULL, 0), "simaResponse");
		CHECK(dp_tlv_append(&fin, 0xA0, res.data, res.len), "successResult");
	} else {
		CHECK(dp_tlv_append(&res, 0x80, "\x05", 1), "bppCommandId");
		CHECK(dp_tlv_append(&res, 0x81, "\x0A", 1), "errorReason");
		CHECK(dp_tlv_append(&fin, 0xA1, res.data, res.len), "errorResult");
	}
	CHECK(dp_tlv_append(&v, 0x80, tid, 16), "tid");
	CHECK(dp_buf_append(&v, meta.data, meta.len), "metadata");
	CHECK(dp_tlv_append(&v, 0x06, ES9F_SMDP_OID_DER, 3), "oid");
	CHECK(dp_tlv_append(&v, 0xA2, fin.data, fin.len), "finalResult");
	CHECK(dp_tlv_append(&data, 0xBF27, v.data, v.len), "BF27");
	signed_tlv(0xBF37, &data, NULL, 0, spoil, NULL, out);
	dp_buf_deinit(&meta);
	dp_buf_deinit(&fin);
	dp_buf_deinit(&res);
	dp_buf_deinit(&data);
	dp_buf_deinit(&v);
}

/* OtherSignedNotification 30 { BF2F, 5F37, CERT.EUICC, CERT.EUM } */
static void other(unsigned seq, uint8_t event, bool spoil, struct dp_buf *out)
{
	struct dp_buf meta, tail;
	metadata(seq, event, true, &meta);
	dp_buf_init(&tail, 1 << 16);
	CHECK(dp_buf_append(&tail, G.euicc_cert.data, G.euicc_cert.len), "cert");
	CHECK(dp_buf_append(&tail, G.eum_cert.data, G.eum_cert.len), "cert");
	signed_tlv(0x30, &meta, NULL, 0, spoil, &tail, out);
	dp_buf_deinit(&tail);
	dp_buf_deinit(&meta);
}

static void handle_notification(void)
{
	struct dp_buf b;
	const char *m = "pendingNotification";
	pir(es9f_tid[ES9F_BOUND], true, false, &b);
	seed_take("hn-pir-success", 3, body_one(m, &b));
	seed_der("hn-pir-success", 3, ES9F_BOUND, &b);
	dp_buf_deinit(&b);
	pir(es9f_tid[ES9F_BOUND], false, false, &b);
	seed_take("hn-pir-error-result", 3, body_one(m, &b));
	dp_buf_deinit(&b);
	pir(es9f_tid[ES9F_BOUND], true, true, &b);
	seed_take("hn-pir-bad-signature", 3, body_one(m, &b));
	dp_buf_deinit(&b);
	pir(es9f_tid[ES9F_INITIATED], true, false, &b);
	seed_take("hn-pir-initiated-session", 3, body_one(m, &b));
	dp_buf_deinit(&b);
	static const uint8_t unknown[16] = {0xEE};
	pir(unknown, true, false, &b);
	seed_take("hn-pir-unknown-session", 3, body_one(m, &b));
	dp_buf_deinit(&b);
	other(2, 0x40, false, &b);
	seed_take("hn-enable", 3, body_one(m, &b));
	seed_der("hn-enable", 3, ES9F_BOUND, &b);
	dp_buf_deinit(&b);
	other(3, 0x10, false, &b);
	seed_take("hn-delete", 3, body_one(m, &b));
	dp_buf_deinit(&b);
	other(4, 0x20, true, &b);
	seed_take("hn-disable-bad-signature", 3, body_one(m, &b));
	dp_buf_deinit(&b);
	static const uint8_t neither[] = {0x04, 0x01, 0x00};
	struct dp_buf n = {.data = (uint8_t *)neither, .len = sizeof(neither)};
	seed_take("hn-neither-bf37-nor-30", 3, body_one(m, &n));
}

/* CancelSessionResponse BF41 A0 { 30 { 80 tid, 81 smdpOid, 82 reason }, 5F37 } */
static void cancel_response(const uint8_t *tid, uint8_t reason, const char *oid, bool spoil,
			    struct dp_buf *out)
{
	struct dp_buf v, s, ok;
	dp_buf_init(&v, 256);
	dp_buf_init(&s, 256);
	CHECK(dp_tlv_append(&v, 0x80, tid, 16), "tid");
	CHECK(dp_tlv_append(&v, 0x81, oid, 3), "oid");
	CHECK(dp_tlv_append(&v, 0x82, &reason, 1), "reason");
	CHECK(dp_tlv_append(&s, 0x30, v.data, v.len), "signed");
	signed_tlv(0xA0, &s, NULL, 0, spoil, NULL, &ok);
	dp_buf_init(out, 256);
	CHECK(dp_tlv_append(out, 0xBF41, ok.data, ok.len), "BF41");
	dp_buf_deinit(&ok);
	dp_buf_deinit(&s);
	dp_buf_deinit(&v);
}

static void cancel_session(void)
{
	struct dp_buf b;
	const char *m = "cancelSessionResponse";
	const uint8_t *t2 = es9f_tid[ES9F_AUTHENTICATED];
	cancel_response(t2, 1, ES9F_SMDP_OID_DER, false, &b);
	seed_take("cs-postponed", 4, body_tid(t2, m, &b));
	seed_der("cs-postponed", 4, ES9F_AUTHENTICATED, &b);
	dp_buf_deinit(&b);
	cancel_response(t2, 0, ES9F_SMDP_OID_DER, false, &b);
	seed_take("cs-end-user-rejection", 4, body_tid(t2, m, &b));
	dp_buf_deinit(&b);
	cancel_response(t2, 1, ES9F_SMDP_OID_DER, true, &b);
	seed_take("cs-bad-signature", 4, body_tid(t2, m, &b));
	dp_buf_deinit(&b);
	cancel_response(t2, 1, "\x88\x37\x63", false, &b);
	seed_take("cs-other-oid", 4, body_tid(t2, m, &b));
	dp_buf_deinit(&b);
	cancel_response(es9f_tid[ES9F_BOUND], 5, ES9F_SMDP_OID_DER, false, &b);
	seed_take("cs-bound-load-error", 4, body_tid(es9f_tid[ES9F_BOUND], m, &b));
	dp_buf_deinit(&b);
	static const uint8_t err[] = {0xBF, 0x41, 0x03, 0x81, 0x01, 0x05};
	struct dp_buf e = {.data = (uint8_t *)err, .len = sizeof(err)};
	seed_take("cs-euicc-error", 4, body_tid(es9f_tid[ES9F_INITIATED], m, &e));
}

int main(int argc, char **argv)
{
	char path[512];
	struct dp_euicc_identity *id = NULL;
	struct dp_cert *c = NULL;
	const uint8_t *der;
	size_t len;
	if (argc != 2) {
		fprintf(stderr, "usage: gen-es9-functions CORPUS_DIR\n");
		return 2;
	}
	G.dir = argv[1];
	CHECK(dp_log_configure("error"), "log");
	CHECK(es9f_setup(&G.f), "set-up");
	const char *root = getenv("SMDP_SHARED") ? getenv("SMDP_SHARED") : "../shared";
	snprintf(path, sizeof(path), "%s/sgp26", root);
	CHECK(dp_euicc_identity_load_sgp26(path, DP_CURVE_NIST_P256, &id), "SGP.26 eUICC");
	dp_buf_init(&G.info1, 4096);
	dp_buf_init(&G.info2, 4096);
	dp_buf_init(&G.euicc_cert, 4096);
	dp_buf_init(&G.eum_cert, 4096);
	CHECK(dp_euicc_identity_info1(id, &G.info1), "info1");
	CHECK(dp_euicc_identity_info2(id, &G.info2), "info2");
	der = dp_cert_der(dp_euicc_identity_cert(id), &len);
	CHECK(dp_buf_append(&G.euicc_cert, der, len), "cert");
	snprintf(path, sizeof(path), "%s/sgp26/EUM/CERT_EUM_ECDSA_NIST.der", root);
	CHECK(dp_cert_load_file(path, &c), "EUM");
	der = dp_cert_der(c, &len);
	CHECK(dp_buf_append(&G.eum_cert, der, len), "cert");
	snprintf(path, sizeof(path), "%s/sgp26/eUICC/SK_EUICC_ECDSA_NIST.pem", root);
	CHECK(dp_cert_key_load_file(path, &G.sk_euicc), "SK.EUICC");
	initiate_authentication();
	authenticate_client();
	get_bound_profile_package();
	handle_notification();
	cancel_session();
	EVP_PKEY_free(G.sk_euicc);
	dp_cert_free(c);
	dp_euicc_identity_free(id);
	dp_buf_deinit(&G.info1);
	dp_buf_deinit(&G.info2);
	dp_buf_deinit(&G.euicc_cert);
	dp_buf_deinit(&G.eum_cert);
	es9f_teardown(&G.f);
	return G.failures ? 1 : 0;
}
