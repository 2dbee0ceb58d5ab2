/* bench-pki: the crypto cost of the download path through the pki/crypto API next to the
 * same operations done with plain OpenSSL calls (algorithms fetched once, keys parsed once,
 * a fresh EVP context per operation, as any server would do them).
 * Not a test: it prints figures. Usage: bench-pki [seconds per figure, default 0.3]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>

#include "pki/base/log.h"
#include "pki/crypto/cert.h"
#include "pki/crypto/ecdsa.h"
#include "pki/crypto/kdf.h"
#include "pki/crypto/scp03t.h"
#include "pki/crypto/testpki.h"

#define CHECK(x) \
	do { \
		if (!(x)) { \
			fprintf(stderr, "bench-pki: %s failed at line %d: %s\n", #x, __LINE__, \
				dp_err_detail()); \
			exit(1); \
		} \
	} while (0)

#define BPP_BYTES 20000
/* more EUMs than the store caches (32), used in turn: every chain check parses its EUM */
#define COLD_EUMS 40

static double seconds = 0.3;

/* CPU time of this thread, not wall time: the figures are costs, and the machine may be
 * shared (the benchmark's crypto floor is read while a server and its clients run). */
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Everything one curve's download needs, parsed once. */
struct fixture {
	enum dp_curve curve;
	struct dp_ci_store *store;
	EVP_PKEY *dpauth_key, *dppb_key, *euicc_key;
	X509 *ci_x509;
	EVP_PKEY *ci_pub;
	uint8_t euicc_der[2048], eum_der[2048];
	size_t euicc_len, eum_len;
	uint8_t msg[300];            /* a euiccSigned1-sized message */
	uint8_t sig_rs[64];          /* SK.EUICC's r||s over msg */
	uint8_t sig_der[80];         /* the same as DER */
	size_t sig_der_len;
	uint8_t peer_point[65];      /* otPK.EUICC */
	uint8_t host[8], eid[16];
	uint8_t bpp[BPP_BYTES];
	EVP_PKEY *euicc_pub;         /* from the eUICC certificate */
	struct {
		uint8_t euicc[2048], eum[2048];
		size_t euicc_len, eum_len;
	} cold[COLD_EUMS];
	int next_cold;
};

static const EVP_MD *sha256;
static EVP_KDF *x963;
static EVP_CIPHER *cbc, *ecb;
static EVP_MAC *cmac;

static void fixture_init(struct fixture *f, enum dp_curve curve)
{
	struct dp_testpki_req q;
	struct dp_cert *ci, *eum, *euicc, *dpauth, *dppb;
	EVP_PKEY *ci_key, *eum_key, *otk;
	size_t l;
	const uint8_t *d;

	memset(f, 0, sizeof(*f));
	f->curve = curve;
	q = (struct dp_testpki_req){ .role = DP_CERT_CI, .curve = curve };
	CHECK(dp_testpki_issue(&q, NULL, NULL, &ci, &ci_key) == 0);
	q = (struct dp_testpki_req){ .role = DP_CERT_EUM, .ein = "89049032" };
	CHECK(dp_testpki_issue(&q, ci, ci_key, &eum, &eum_key) == 0);
	q = (struct dp_testpki_req){ .role = DP_CERT_EUICC,
				     .eid = "89049032123451234512345678901235" };
	CHECK(dp_testpki_issue(&q, eum, eum_key, &euicc, &f->euicc_key) == 0);
	q = (struct dp_testpki_req){ .role = DP_CERT_DPAUTH };
	CHECK(dp_testpki_issue(&q, ci, ci_key, &dpauth, &f->dpauth_key) == 0);
	q = (struct dp_testpki_req){ .role = DP_CERT_DPPB };
	CHECK(dp_testpki_issue(&q, ci, ci_key, &dppb, &f->dppb_key) == 0);

	for (int i = 0; i < COLD_EUMS; i++) {
		struct dp_cert *m, *u;
		EVP_PKEY *mk, *uk;
		q = (struct dp_testpki_req){ .role = DP_CERT_EUM, .ein = "89049032" };
		CHECK(dp_testpki_issue(&q, ci, ci_key, &m, &mk) == 0);
		q = (struct dp_testpki_req){ .role = DP_CERT_EUICC,
					     .eid = "89049032123451234512345678901235" };
		CHECK(dp_testpki_issue(&q, m, mk, &u, &uk) == 0);
		d = dp_cert_der(m, &l);
		memcpy(f->cold[i].eum, d, l);
		f->cold[i].eum_len = l;
		d = dp_cert_der(u, &l);
		memcpy(f->cold[i].euicc, d, l);
		f->cold[i].euicc_len = l;
		dp_cert_free(m);
		dp_cert_free(u);
		EVP_PKEY_free(mk);
		EVP_PKEY_free(uk);
	}
	d = dp_cert_der(euicc, &l);
	memcpy(f->euicc_der, d, l);
	f->euicc_len = l;
	d = dp_cert_der(eum, &l);
	memcpy(f->eum_der, d, l);
	f->eum_len = l;
	f->ci_x509 = X509_dup(dp_cert_x509(ci));
	f->ci_pub = X509_get0_pubkey(f->ci_x509);
	f->euicc_pub = dp_cert_pubkey(euicc);
	EVP_PKEY_up_ref(f->euicc_pub);

	CHECK(dp_ci_store_new(&f->store) == 0);
	CHECK(dp_ci_store_add_ci_take(f->store, ci) == 0);
	EVP_PKEY_up_ref(f->dpauth_key);
	EVP_PKEY_up_ref(f->dppb_key);
	CHECK(dp_ci_store_add_signer_take(f->store, dpauth, f->dpauth_key) == 0);
	CHECK(dp_ci_store_add_signer_take(f->store, dppb, f->dppb_key) == 0);

	for (size_t i = 0; i < sizeof(f->msg); i++)
		f->msg[i] = (uint8_t)i;
	CHECK(dp_ecdsa_sign(f->euicc_key, f->msg, sizeof(f->msg), f->sig_rs) == 0);
	CHECK(dp_ecdsa_rs_to_der(f->sig_rs, f->sig_der, sizeof(f->sig_der), &f->sig_der_len) == 0);
	CHECK(dp_kdf_generate(curve, &otk) == 0);
	CHECK(dp_kdf_export_point(otk, f->peer_point) == 0);
	EVP_PKEY_free(otk);
	memset(f->host, 0x80, sizeof(f->host));
	CHECK(dp_kdf_eid_bytes("89049032123451234512345678901235", f->eid) == 0);
	for (size_t i = 0; i < sizeof(f->bpp); i++)
		f->bpp[i] = (uint8_t)(i * 31);
	/* the EUM cache is warm, as on a server that has seen this EUM before */
	struct dp_cert_chain chain;
	CHECK(dp_ci_store_verify_euicc(f->store, f->euicc_der, f->euicc_len, f->eum_der,
				       f->eum_len, NULL, 0, time(NULL), &chain) == 0);
	dp_cert_chain_deinit(&chain);
	dp_cert_free(eum);
	dp_cert_free(euicc);
	EVP_PKEY_free(ci_key);
	EVP_PKEY_free(eum_key);
}

static void fixture_free(struct fixture *f)
{
	dp_ci_store_free(f->store);
	EVP_PKEY_free(f->dpauth_key);
	EVP_PKEY_free(f->dppb_key);
	EVP_PKEY_free(f->euicc_key);
	EVP_PKEY_free(f->euicc_pub);
	X509_free(f->ci_x509);
}

/* ---- the smdp API ---- */

static void api_sign(struct fixture *f)
{
	uint8_t sig[64];
	CHECK(dp_ecdsa_sign(f->dpauth_key, f->msg, sizeof(f->msg), sig) == 0);
}

static void api_verify(struct fixture *f)
{
	CHECK(dp_ecdsa_verify(f->euicc_pub, f->msg, sizeof(f->msg), f->sig_rs, 64) == 0);
}

static void api_keygen(struct fixture *f)
{
	EVP_PKEY *k;
	CHECK(dp_kdf_generate(f->curve, &k) == 0);
	EVP_PKEY_free(k);
}

static EVP_PKEY *shared_otsk[3];

static void api_agree(struct fixture *f)
{
	struct dp_session_keys keys;
	CHECK(dp_kdf_session_keys(shared_otsk[f->curve], f->peer_point, 65, f->host, 8, f->eid,
				  &keys) == 0);
	dp_kdf_keys_wipe(&keys);
}

static void api_chain(struct fixture *f)
{
	struct dp_cert_chain chain;
	CHECK(dp_ci_store_verify_euicc(f->store, f->euicc_der, f->euicc_len, f->eum_der,
				       f->eum_len, NULL, 0, time(NULL), &chain) == 0);
	dp_cert_chain_deinit(&chain);
}

static void api_chain_cold(struct fixture *f)
{
	struct dp_cert_chain chain;
	int i = f->next_cold++ % COLD_EUMS;
	CHECK(dp_ci_store_verify_euicc(f->store, f->cold[i].euicc, f->cold[i].euicc_len,
				       f->cold[i].eum, f->cold[i].eum_len, NULL, 0, time(NULL),
				       &chain) == 0);
	dp_cert_chain_deinit(&chain);
}

static uint8_t out_buf[2 * BPP_BYTES];

static void api_scp03t(struct fixture *f)
{
	struct dp_session_keys k;
	struct dp_scp03t *c;
	struct dp_buf out = { out_buf, 0, sizeof(out_buf), sizeof(out_buf), false };
	memset(&k, 7, sizeof(k));
	CHECK(dp_scp03t_new(&k, &c) == 0);
	CHECK(dp_scp03t_wrap_all(c, 0x86, f->bpp, sizeof(f->bpp), &out) == 0);
	dp_scp03t_free(c);
}

/* ---- plain OpenSSL ---- */

static void raw_sign(struct fixture *f)
{
	uint8_t der[80];
	size_t len = sizeof(der);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	CHECK(EVP_DigestSignInit(m, NULL, sha256, NULL, f->dpauth_key) == 1);
	CHECK(EVP_DigestSign(m, der, &len, f->msg, sizeof(f->msg)) == 1);
	EVP_MD_CTX_free(m);
}

static void raw_verify(struct fixture *f)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	CHECK(EVP_DigestVerifyInit(m, NULL, sha256, NULL, f->euicc_pub) == 1);
	CHECK(EVP_DigestVerify(m, f->sig_der, f->sig_der_len, f->msg, sizeof(f->msg)) == 1);
	EVP_MD_CTX_free(m);
}

static void raw_keygen(struct fixture *f)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", dp_curve_name(f->curve));
	CHECK(k != NULL);
	EVP_PKEY_free(k);
}

static void raw_agree(struct fixture *f)
{
	uint8_t z[32], si[64], keys[48];
	size_t zlen = 32, n = 0;
	EVP_PKEY *peer = NULL;
	char group[32];
	snprintf(group, sizeof(group), "%s", dp_curve_name(f->curve));
	OSSL_PARAM pp[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, f->peer_point, 65),
		OSSL_PARAM_END,
	};
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	CHECK(EVP_PKEY_fromdata_init(pc) == 1);
	CHECK(EVP_PKEY_fromdata(pc, &peer, EVP_PKEY_PUBLIC_KEY, pp) == 1);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new_from_pkey(NULL, shared_otsk[f->curve], NULL);
	CHECK(EVP_PKEY_derive_init(dc) == 1);
	CHECK(EVP_PKEY_derive_set_peer_ex(dc, peer, 0) == 1);
	CHECK(EVP_PKEY_derive(dc, z, &zlen) == 1);
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_free(peer);
	si[n++] = 0x88;
	si[n++] = 0x10;
	si[n++] = 8;
	memcpy(si + n, f->host, 8);
	n += 8;
	si[n++] = 0x10;
	memcpy(si + n, f->eid, 16);
	n += 16;
	OSSL_PARAM kp[] = {
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_KEY, z, 32),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO, si, n),
		OSSL_PARAM_END,
	};
	EVP_KDF_CTX *kc = EVP_KDF_CTX_new(x963);
	CHECK(EVP_KDF_derive(kc, keys, sizeof(keys), kp) == 1);
	EVP_KDF_CTX_free(kc);
}

static void raw_chain(struct fixture *f)
{
	const unsigned char *p = f->euicc_der, *q = f->eum_der;
	X509 *eu = d2i_X509(NULL, &p, (long)f->euicc_len);
	X509 *em = d2i_X509(NULL, &q, (long)f->eum_len);
	CHECK(eu != NULL && em != NULL);
	CHECK(X509_verify(em, f->ci_pub) == 1);
	CHECK(X509_verify(eu, X509_get0_pubkey(em)) == 1);
	X509_free(eu);
	X509_free(em);
}

static void raw_chain_cold(struct fixture *f)
{
	int i = f->next_cold++ % COLD_EUMS;
	const unsigned char *p = f->cold[i].euicc, *q = f->cold[i].eum;
	X509 *eu = d2i_X509(NULL, &p, (long)f->cold[i].euicc_len);
	X509 *em = d2i_X509(NULL, &q, (long)f->cold[i].eum_len);
	CHECK(eu != NULL && em != NULL);
	CHECK(X509_verify(em, f->ci_pub) == 1);
	CHECK(X509_verify(eu, X509_get0_pubkey(em)) == 1);
	X509_free(eu);
	X509_free(em);
}

static void raw_scp03t(struct fixture *f)
{
	uint8_t key[16], mcv[16], block[16], icv[16], full[16], hdr[4];
	uint8_t *o = out_buf;
	size_t mlen;
	int n;
	memset(key, 7, sizeof(key));
	memset(mcv, 7, sizeof(mcv));
	EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new(), *c = EVP_CIPHER_CTX_new();
	EVP_MAC_CTX *m = EVP_MAC_CTX_new(cmac);
	OSSL_PARAM mp[] = { OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0),
			    OSSL_PARAM_END };
	CHECK(EVP_EncryptInit_ex2(e, ecb, key, NULL, NULL) == 1);
	EVP_CIPHER_CTX_set_padding(e, 0);
	CHECK(EVP_EncryptInit_ex2(c, cbc, key, NULL, NULL) == 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	CHECK(EVP_MAC_init(m, key, 16, mp) == 1);
	uint64_t counter = 1;
	for (size_t off = 0; off < sizeof(f->bpp); off += 1007, counter++) {
		size_t len = sizeof(f->bpp) - off < 1007 ? sizeof(f->bpp) - off : 1007;
		size_t body = (len / 16 + 1) * 16;
		memset(block, 0, 16);
		for (int i = 0; i < 8; i++)
			block[15 - i] = (uint8_t)(counter >> (8 * i));
		CHECK(EVP_EncryptUpdate(e, icv, &n, block, 16) == 1);
		hdr[0] = 0x86;
		hdr[1] = 0x82;
		hdr[2] = (uint8_t)((body + 8) >> 8);
		hdr[3] = (uint8_t)(body + 8);
		memcpy(o, hdr, 4);
		memcpy(o + 4, f->bpp + off, len);
		o[4 + len] = 0x80;
		memset(o + 5 + len, 0, body - len - 1);
		CHECK(EVP_EncryptInit_ex2(c, NULL, NULL, icv, NULL) == 1);
		CHECK(EVP_EncryptUpdate(c, o + 4, &n, o + 4, (int)body) == 1);
		CHECK(EVP_MAC_init(m, NULL, 0, NULL) == 1);
		EVP_MAC_update(m, mcv, 16);
		EVP_MAC_update(m, hdr, 4);
		EVP_MAC_update(m, o + 4, body);
		CHECK(EVP_MAC_final(m, full, &mlen, 16) == 1);
		memcpy(o + 4 + body, full, 8);
		memcpy(mcv, full, 16);
		o += 4 + body + 8;
	}
	EVP_CIPHER_CTX_free(e);
	EVP_CIPHER_CTX_free(c);
	EVP_MAC_CTX_free(m);
}

/* One download's crypto on the SM-DP+: serverSignature1, CERT.EUM + CERT.EUICC,
 * euiccSignature1, smdpSignature2, euiccSignature2, otPK.DP, Z + keys, smdpSign, the BPP,
 * the PIR signature: 3 signatures, 5 verifications, 1 key generation, 1 agreement. */
static void api_download(struct fixture *f)
{
	api_sign(f);
	api_chain(f);
	api_verify(f);
	api_sign(f);
	api_verify(f);
	api_keygen(f);
	api_agree(f);
	api_sign(f);
	api_scp03t(f);
	api_verify(f);
}

/* the same with an EUM the server has not seen before */
static void api_download_cold(struct fixture *f)
{
	api_sign(f);
	api_chain_cold(f);
	api_verify(f);
	api_sign(f);
	api_verify(f);
	api_keygen(f);
	api_agree(f);
	api_sign(f);
	api_scp03t(f);
	api_verify(f);
}

static void raw_download(struct fixture *f)
{
	raw_sign(f);
	raw_chain(f);
	raw_verify(f);
	raw_sign(f);
	raw_verify(f);
	raw_keygen(f);
	raw_agree(f);
	raw_sign(f);
	raw_scp03t(f);
	raw_verify(f);
}

static void raw_download_cold(struct fixture *f)
{
	raw_sign(f);
	raw_chain_cold(f);
	raw_verify(f);
	raw_sign(f);
	raw_verify(f);
	raw_keygen(f);
	raw_agree(f);
	raw_sign(f);
	raw_scp03t(f);
	raw_verify(f);
}

/* Microseconds per call of one run of `slice` seconds. */
static double run_for(void (*fn)(struct fixture *), struct fixture *f, double slice)
{
	long n = 0;
	double t0 = now(), t;
	do {
		fn(f);
		n++;
	} while ((t = now()) - t0 < slice);
	return (t - t0) * 1e6 / (double)n;
}

/* Microseconds per call of both, each the best of 6 runs, the runs of the two taking
 * turns so that load from other processes falls on both alike. */
static void measure(void (*api)(struct fixture *), void (*raw)(struct fixture *),
		    struct fixture *f, double *api_us, double *raw_us)
{
	*api_us = *raw_us = 1e30;
	api(f); /* warm up */
	raw(f);
	for (int run = 0; run < 6; run++) {
		double a = run_for(api, f, seconds / 12), r = run_for(raw, f, seconds / 12);
		*api_us = a < *api_us ? a : *api_us;
		*raw_us = r < *raw_us ? r : *raw_us;
	}
}

static void row(const char *curve, const char *what, void (*api_fn)(struct fixture *),
		void (*raw_fn)(struct fixture *), struct fixture *f, int per_op)
{
	double api, raw;
	const char *unit = per_op ? "us/op" : "MB/s";
	measure(api_fn, raw_fn, f, &api, &raw);
	if (!per_op) {
		api = BPP_BYTES / api;
		raw = BPP_BYTES / raw;
	}
	if (per_op)
		printf("%-16s %-28s %10.1f %10.1f %8.3f  %s\n", curve, what, api, raw, api / raw, unit);
	else /* MB/s: ratio as cost, raw/api */
		printf("%-16s %-28s %10.1f %10.1f %8.3f  %s\n", curve, what, api, raw, raw / api, unit);
}

int main(int argc, char **argv)
{
	static const enum dp_curve curves[] = { DP_CURVE_NIST_P256, DP_CURVE_BRAINPOOL_P256R1 };
	dp_log_set_level(DP_LOG_PKI, DP_LOG_WARN);
	if (argc > 1)
		seconds = atof(argv[1]) > 0 ? atof(argv[1]) : seconds;
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	x963 = EVP_KDF_fetch(NULL, "X963KDF", NULL);
	cbc = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
	ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	CHECK(sha256 && x963 && cbc && ecb && cmac);

	printf("%-16s %-28s %10s %10s %8s\n", "curve", "operation", "smdp", "openssl", "cost");
	for (int i = 0; i < 2; i++) {
		struct fixture f;
		const char *cn = dp_curve_name(curves[i]);
		fixture_init(&f, curves[i]);
		CHECK(dp_kdf_generate(curves[i], &shared_otsk[curves[i]]) == 0);
		row(cn, "ECDSA sign (r||s)", api_sign, raw_sign, &f, 1);
		row(cn, "ECDSA verify (r||s)", api_verify, raw_verify, &f, 1);
		row(cn, "one-time key generation", api_keygen, raw_keygen, &f, 1);
		row(cn, "key agreement + KDF", api_agree, raw_agree, &f, 1);
		row(cn, "eUICC chain, EUM parsed", api_chain_cold, raw_chain_cold, &f, 1);
		row(cn, "eUICC chain, EUM cached", api_chain, raw_chain, &f, 1);
		row(cn, "SCP03t wrap 20 KB", api_scp03t, raw_scp03t, &f, 0);
		row(cn, "download, EUM parsed", api_download_cold, raw_download_cold, &f, 1);
		row(cn, "download, EUM cached", api_download, raw_download, &f, 1);
		fixture_free(&f);
		EVP_PKEY_free(shared_otsk[curves[i]]);
	}
	printf("cost = smdp time / OpenSSL time (1.000 = same; MB/s rows: OpenSSL MB/s / smdp MB/s)\n"
	       "download = 3 signatures, 5 verifications (2 of them the certificate chain, both\n"
	       "certificates parsed by OpenSSL in every row but smdp's cached one), 1 key generation,\n"
	       "1 key agreement + KDF, SCP03t over 20 KB\n");
	EVP_MD_free((EVP_MD *)(uintptr_t)sha256);
	EVP_KDF_free(x963);
	EVP_CIPHER_free(cbc);
	EVP_CIPHER_free(ecb);
	EVP_MAC_free(cmac);
	return 0;
}
