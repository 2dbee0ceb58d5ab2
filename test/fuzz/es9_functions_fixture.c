/* The ES9+ handler fuzz fixture (contract in es9_functions_fixture.h). */
#include "test/fuzz/es9_functions_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/base/codec.h"
#include "pki/crypto/cert.h"
#include "profilegen/profilegen.h"
#include "smdp/es9_routes.h"

const uint8_t es9f_tid[ES9F_SESSIONS][16] = {
    {0xF0, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
     0x01},
    {0xF0, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
     0x02},
    {0xF0, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03,
     0x03},
};
const uint8_t es9f_server_challenge[16] = {0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
					   0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
const uint8_t es9f_euicc_challenge[16] = {0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7,
					  0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF};
/* 5F37 40 and 64 bytes of 0x5A */
const uint8_t es9f_smdp_signature2[67] = {
    0x5F, 0x37, 0x40, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A,
    0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A,
    0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A,
    0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A,
    0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A,
};

const char *const es9f_functions[5] = {
    "initiateAuthentication", "authenticateClient", "getBoundProfilePackage",
    "handleNotification",     "cancelSession",
};

const char *const es9f_members[5] = {
    "euiccInfo1",	   "authenticateServerResponse", "prepareDownloadResponse",
    "pendingNotification", "cancelSessionResponse",
};

/* ../shared/<rel> */
static void shared(char *out, size_t cap, const char *rel)
{
	const char *root = getenv("SMDP_SHARED");
	snprintf(out, cap, "%s/%s", root ? root : "../shared", rel);
}

static int copy_file(const char *from, const char *to)
{
	struct dp_buf b;
	dp_buf_init(&b, (size_t)64 << 20);
	int r = dp_buf_read_file(&b, from);
	if (r == DP_OK) {
		FILE *f = fopen(to, "wb");
		if (f == NULL || fwrite(b.data, 1, b.len, f) != b.len)
			r = dp_err_set(DP_ERR_IO, "cannot write %s", to);
		if (f != NULL && fclose(f) != 0)
			r = dp_err_set(DP_ERR_IO, "cannot write %s", to);
	}
	dp_buf_deinit(&b);
	return r;
}

/* Profile n (1-based): the TS.48 package under its own ICCID with a small metadata, and an
 * order "FUZZ-n" for it. */
static int add_order(struct es9f *f, const struct dp_buf *package, int n, int64_t *order_id)
{
	char base[19], iccid[21], mid[16];
	uint8_t ef[10];
	struct dp_buf meta, v;
	struct dp_db_order o;
	snprintf(base, sizeof(base), "8949449%011d", 9000 + n);
	int r = dp_pg_iccid_normalise(base, iccid);
	if (r == DP_OK)
		r = dp_pg_iccid_ef(iccid, ef);
	if (r)
		return r;
	dp_buf_init(&meta, 256);
	dp_buf_init(&v, 256);
	r = dp_tlv_append(&v, 0x5A, ef, 10);
	if (r == DP_OK)
		r = dp_tlv_append(&v, 0x91, "fuzz", 4);
	if (r == DP_OK)
		r = dp_tlv_append(&v, 0x92, "fuzz profile", 12);
	if (r == DP_OK)
		r = dp_tlv_append(&meta, 0xBF25, v.data, v.len);
	struct dp_db_profile_new p = {
	    .iccid = iccid,
	    .profile_type = "fuzz",
	    .owner = "fuzz",
	    .package = package->data,
	    .package_len = package->len,
	    .metadata = meta.data,
	    .metadata_len = meta.len,
	    .profile_class = 2,
	};
	if (r == DP_OK)
		r = dp_db_profile_add(f->smdp.db, &p, "fuzz", NULL);
	snprintf(mid, sizeof(mid), "FUZZ-%d", n);
	struct dp_db_order_new on = {
	    .matching_id = mid,
	    .iccid = iccid,
	    .max_attempts = 5,
	    .cc_max_attempts = 3,
	    .owner = "fuzz",
	};
	if (r == DP_OK)
		r = dp_db_order_add(f->smdp.db, &on, "fuzz", NULL, NULL);
	if (r == DP_OK)
		r = dp_db_order_find(f->smdp.db, mid, &o);
	if (r == DP_OK)
		*order_id = o.id;
	dp_buf_deinit(&meta);
	dp_buf_deinit(&v);
	return r;
}

/* The sessions: one INITIATED, one AUTHENTICATED (SGP.26 eUICC, order FUZZ-2), one BOUND
 * (order FUZZ-3, a stand-in BPP). */
static int add_sessions(struct es9f *f, const int64_t order_id[ES9F_SESSIONS])
{
	char path[512];
	struct dp_cert *ci = NULL, *euicc = NULL, *eum = NULL;
	const uint8_t *ski, *der;
	size_t ski_len, len;
	int r = DP_OK;
	shared(path, sizeof(path), "sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.der");
	r = dp_cert_load_file(path, &ci);
	shared(path, sizeof(path), "sgp26/eUICC/CERT_EUICC_ECDSA_NIST.der");
	if (r == DP_OK)
		r = dp_cert_load_file(path, &euicc);
	shared(path, sizeof(path), "sgp26/EUM/CERT_EUM_ECDSA_NIST.der");
	if (r == DP_OK)
		r = dp_cert_load_file(path, &eum);
	if (r == DP_OK)
		r = dp_cert_ski(ci, &ski, &ski_len);
	for (int i = 0; r == DP_OK && i < ES9F_SESSIONS; i++) {
		struct dp_db_session s;
		dp_db_session_init(&s);
		memcpy(s.tid, es9f_tid[i], 16);
		s.tid_len = 16;
		memcpy(s.server_challenge, es9f_server_challenge, 16);
		memcpy(s.euicc_challenge, es9f_euicc_challenge, 16);
		memcpy(s.ci_ski, ski, ski_len);
		s.ci_ski_len = ski_len;
		snprintf(s.smdp_address, sizeof(s.smdp_address), "%s", ES9F_ADDRESS);
		s.created_at = time(NULL);
		s.expires_at = s.created_at + 10 * 365 * 86400L;
		r = dp_db_session_add(f->smdp.db, &s);
		if (r == DP_OK && i >= ES9F_AUTHENTICATED) {
			r = dp_cert_eid(euicc, s.eid);
			der = dp_cert_der(euicc, &len);
			if (r == DP_OK)
				r = dp_buf_append(&s.euicc_cert, der, len);
			der = dp_cert_der(eum, &len);
			if (r == DP_OK)
				r = dp_buf_append(&s.eum_cert, der, len);
			/* smdpSigned2 = 30 { 80 tid, 01 ccRequiredFlag false } */
			struct dp_buf body;
			dp_buf_init(&body, 64);
			if (r == DP_OK)
				r = dp_tlv_append(&body, 0x80, es9f_tid[i], 16);
			if (r == DP_OK)
				r = dp_tlv_append(&body, 0x01, "\x00", 1);
			if (r == DP_OK)
				r = dp_tlv_append(&s.smdp_signed2, 0x30, body.data, body.len);
			dp_buf_deinit(&body);
			memcpy(s.smdp_signature2, es9f_smdp_signature2, sizeof(s.smdp_signature2));
			s.order_id = order_id[i];
			if (r == DP_OK)
				r = dp_db_session_authenticate(f->smdp.db, &s, time(NULL), NULL);
		}
		if (r == DP_OK && i == ES9F_BOUND) {
			static const uint8_t bpp[] = {0xBF, 0x36, 0x00};
			memset(s.otpk_euicc, 0x04, sizeof(s.otpk_euicc));
			r = dp_buf_append(&s.bpp, bpp, sizeof(bpp));
			if (r == DP_OK)
				r = dp_db_session_bind(f->smdp.db, &s);
		}
		dp_db_session_deinit(&s);
	}
	dp_cert_free(ci);
	dp_cert_free(euicc);
	dp_cert_free(eum);
	return r;
}

int es9f_setup(struct es9f *f)
{
	char ci[512], a[512], b[512], c[512], d[512], signers[2200], ts48[512];
	struct dp_buf package;
	int64_t order_id[ES9F_SESSIONS] = {0};
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/smdp-fuzz-es9-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return dp_err_set(DP_ERR_IO, "mkdtemp");
	snprintf(f->pristine, sizeof(f->pristine), "%s/pristine.db", f->dir);
	snprintf(f->work, sizeof(f->work), "%s/work.db", f->dir);
	int r = dp_asn1_init();
	if (r == DP_OK)
		r = dp_config_init(&f->cfg);
	if (r)
		return r;
	/* the SGP.26 CI, DPauth and DPpb (NIST) */
	shared(ci, sizeof(ci), "sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.der");
	shared(a, sizeof(a), "sgp26/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der");
	shared(b, sizeof(b), "sgp26/DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem");
	shared(c, sizeof(c), "sgp26/DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der");
	shared(d, sizeof(d), "sgp26/DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem");
	snprintf(signers, sizeof(signers), "%s:%s,%s:%s", a, b, c, d);
	r = dp_config_set(&f->cfg, "ci_certs", ci);
	if (r == DP_OK)
		r = dp_config_set(&f->cfg, "signers", signers);
	f->smdp.cfg = &f->cfg;
	if (r == DP_OK)
		r = dp_smdp_parse_svn(f->cfg.svn_min, f->smdp.svn_min);
	if (r == DP_OK)
		r = dp_smdp_parse_svn(f->cfg.svn_max, f->smdp.svn_max);
	if (r == DP_OK)
		r = dp_smdp_load_pki(&f->cfg, &f->smdp.ci, f->smdp.oid);
	if (r)
		return r;
	snprintf(f->smdp.address, sizeof(f->smdp.address), "%s", ES9F_ADDRESS);
	/* the pristine order book: three profiles and orders, one session per stage */
	shared(ts48, sizeof(ts48), "ts48/TS48v1_A.der");
	dp_buf_init(&package, 1 << 20);
	r = dp_buf_read_file(&package, ts48);
	if (r == DP_OK)
		r = dp_db_open(f->pristine, &f->smdp.db);
	for (int i = 0; r == DP_OK && i < ES9F_SESSIONS; i++)
		r = add_order(f, &package, i + 1, &order_id[i]);
	if (r == DP_OK)
		r = add_sessions(f, order_id);
	dp_buf_deinit(&package);
	es9f_close_db(f);
	return r;
}

int es9f_reset(struct es9f *f)
{
	char p[128];
	es9f_close_db(f);
	unlink(f->work);
	snprintf(p, sizeof(p), "%s-wal", f->work);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->work);
	unlink(p);
	int r = copy_file(f->pristine, f->work);
	if (r == DP_OK)
		r = dp_db_open(f->work, &f->smdp.db);
	return r;
}

void es9f_close_db(struct es9f *f)
{
	dp_db_close(f->smdp.db);
	f->smdp.db = NULL;
}

void es9f_teardown(struct es9f *f)
{
	char cmd[128];
	es9f_close_db(f);
	dp_ci_store_free(f->smdp.ci);
	f->smdp.ci = NULL;
	dp_config_deinit(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
}

int es9f_call(struct es9f *f, unsigned fn, const uint8_t *body, size_t len, unsigned *status,
	      struct dp_buf *result)
{
	char path[96];
	size_t n;
	const struct dp_http_route *routes = dp_es9_routes(&n);
	dp_http_handler h = NULL;
	snprintf(path, sizeof(path), "%s%s", DP_ES9_PREFIX, es9f_functions[fn % 5]);
	for (size_t i = 0; i < n; i++)
		if (strcmp(routes[i].path, path) == 0)
			h = routes[i].handler;
	if (h == NULL)
		return dp_err_set(DP_ERR_INTERNAL, "no route %s", path);
	struct dp_http_request req = {.method = "POST",
				      .path = path,
				      .content_type = "application/json",
				      .admin_protocol = "gsma/rsp/v2.5.0",
				      .body = body,
				      .body_len = len};
	struct dp_http_response resp = {.status = 200};
	dp_buf_init(&resp.body, (size_t)16 << 20);
	int r = h(&f->smdp, &req, &resp);
	*status = resp.status;
	if (r == DP_OK && result != NULL) {
		const char *s;
		r = dp_buf_append(result, resp.body.data, resp.body.len);
		if (r == DP_OK)
			r = dp_buf_cstr(result, &s);
	}
	dp_buf_deinit(&resp.body);
	return r;
}

int es9f_wrap(unsigned fn, enum es9f_session session, const uint8_t *der, size_t len,
	      struct dp_buf *body)
{
	struct dp_buf b64, ch;
	const char *v, *c;
	char tid[33];
	fn %= 5;
	dp_buf_init(&b64, len * 2 + 8);
	dp_buf_init(&ch, 64);
	int r = dp_b64_encode(der, len, &b64);
	if (r == DP_OK)
		r = dp_buf_cstr(&b64, &v);
	if (r == DP_OK)
		r = dp_b64_encode(es9f_euicc_challenge, 16, &ch);
	if (r == DP_OK)
		r = dp_buf_cstr(&ch, &c);
	if (r == DP_OK)
		r = dp_hex_encode(es9f_tid[session % ES9F_SESSIONS], 16, true, tid, sizeof(tid));
	json_t *o = NULL;
	if (r == DP_OK && fn == 0)
		o = json_pack("{s:s,s:s,s:s}", "smdpAddress", ES9F_ADDRESS, "euiccChallenge", c,
			      es9f_members[0], v);
	else if (r == DP_OK && fn == 3)
		o = json_pack("{s:s}", es9f_members[3], v);
	else if (r == DP_OK)
		o = json_pack("{s:s,s:s}", "transactionId", tid, es9f_members[fn], v);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (r == DP_OK && text == NULL)
		r = dp_err_set(DP_ERR_NOMEM, "JSON body");
	if (r == DP_OK)
		r = dp_buf_append_str(body, text);
	free(text);
	json_decref(o);
	dp_buf_deinit(&b64);
	dp_buf_deinit(&ch);
	return r;
}

int es9f_profile_add(struct dp_db *db, const uint8_t *upp, size_t upp_len, unsigned serial,
		     const char *type, const char *spn, int profile_class, uint8_t ppr,
		     char iccid[21])
{
	struct dp_pg_package pkg;
	struct dp_pg_personal pers = { 0 };
	struct dp_pg_metadata m = { 0 };
	struct dp_buf der, meta;
	char base[19];
	dp_pg_package_init(&pkg);
	dp_buf_init(&der, 1 << 20);
	dp_buf_init(&meta, 4096);
	snprintf(base, sizeof(base), "8949449%011u", serial);
	int r = dp_pg_package_parse(upp, upp_len, &pkg);
	if (r == DP_OK)
		r = dp_pg_iccid_normalise(base, pers.iccid);
	pers.has_iccid = true;
	if (r == DP_OK)
		r = dp_pg_personalise(&pkg, &pers);
	if (r == DP_OK)
		r = dp_pg_package_der(&pkg, &der);
	m.present = true;
	m.profile_class = profile_class;
	m.icon_type = -1;
	m.has_ppr = ppr != 0;
	m.ppr = ppr;
	snprintf(m.spn, sizeof(m.spn), "%s", spn);
	snprintf(m.name, sizeof(m.name), "TS48 A %s", pers.iccid);
	if (r == DP_OK)
		r = dp_pg_metadata_der(&pkg, &m, &meta);
	struct dp_db_profile_new p = {
		.iccid = pers.iccid,
		.profile_type = type,
		.owner = "test",
		.package = der.data,
		.package_len = der.len,
		.metadata = meta.data,
		.metadata_len = meta.len,
		.profile_class = profile_class,
		.ppr = ppr,
	};
	if (r == DP_OK)
		r = dp_db_profile_add(db, &p, "test", NULL);
	if (r == DP_OK)
		memcpy(iccid, pers.iccid, 21);
	dp_buf_deinit(&meta);
	dp_buf_deinit(&der);
	dp_pg_package_deinit(&pkg);
	return r;
}
