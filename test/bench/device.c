/* Bench devices (contract in bench.h): a test eUICC with a fresh certificate under the
 * EUM of a `smdp pki init` folder (SGP.22 4.5.2.1, one EID per device) and the test LPA.
 * Recycling uses ES10c DeleteProfile and ES10b NotificationSent (SGP.22 5.7.10, 5.7.20). */
#include "test/bench/bench.h"

#include <stdio.h>
#include <string.h>

#include "pki/asn1/tlv.h"
#include "pki/base/buf.h"
#include "pki/crypto/testpki.h"
#include "test/euicc/es10.h"
#include "test/euicc/identity.h"

#define PATH_MAX_BENCH 512
/* NotificationSent: BF30 { 80 seq } and its answer */
#define TAG_NOTIFICATION_SENT 0xBF30
#define NOTIFICATIONS_LISTED  16

int dp_bench_pki_load(const char *dir, const char *work_dir, struct dp_bench_pki *p)
{
	char cert[PATH_MAX_BENCH], key[PATH_MAX_BENCH];
	memset(p, 0, sizeof(*p));
	if (snprintf(p->dir, sizeof(p->dir), "%s", dir) >= (int)sizeof(p->dir) ||
	    snprintf(p->work_dir, sizeof(p->work_dir), "%s", work_dir) >= (int)sizeof(p->work_dir))
		return dp_err_set(DP_ERR_TOO_LONG, "PKI or work folder name");
	snprintf(cert, sizeof(cert), "%s/eum-cert.pem", dir);
	snprintf(key, sizeof(key), "%s/eum-key.pem", dir);
	int r = dp_cert_load_file(cert, &p->eum);
	if (r == DP_OK)
		r = dp_cert_key_load_file(key, &p->eum_key);
	if (r)
		dp_bench_pki_deinit(p);
	return r;
}

void dp_bench_pki_deinit(struct dp_bench_pki *p)
{
	dp_cert_free(p->eum);
	EVP_PKEY_free(p->eum_key);
	p->eum = NULL;
	p->eum_key = NULL;
}

int dp_bench_device_new(const struct dp_bench_pki *p, const struct dp_lpa_http_options *http,
			struct dp_bench_device *d)
{
	char cp[PATH_MAX_BENCH], kp[PATH_MAX_BENCH], eum[PATH_MAX_BENCH], ci[PATH_MAX_BENCH];
	struct dp_cert *cert = NULL;
	EVP_PKEY *key = NULL;
	struct dp_euicc_identity *id = NULL;
	memset(d, 0, sizeof(*d));
	/* an EID in the EUM's range (smdp pki init's EUM permits 89049032...) */
	int r = dp_testpki_make_eid("89049032", d->eid);
	if (r)
		goto out;
	struct dp_testpki_req req = {.role = DP_CERT_EUICC, .eid = d->eid};
	r = dp_testpki_issue(&req, p->eum, p->eum_key, &cert, &key);
	if (r)
		goto out;
	/* the identity is loaded from files, as a real eUICC's would be provisioned */
	snprintf(cp, sizeof(cp), "%s/euicc-%s-cert.pem", p->work_dir, d->eid);
	snprintf(kp, sizeof(kp), "%s/euicc-%s-key.pem", p->work_dir, d->eid);
	snprintf(eum, sizeof(eum), "%s/eum-cert.pem", p->dir);
	snprintf(ci, sizeof(ci), "%s/ci-cert.pem", p->dir);
	r = dp_testpki_write_cert(cp, cert, true);
	if (r == DP_OK)
		r = dp_testpki_write_key(kp, key, true);
	if (r == DP_OK)
		r = dp_euicc_identity_load(cp, kp, eum, &id);
	if (r == DP_OK)
		r = dp_euicc_identity_add_ci(id, ci, true);
	if (r)
		goto out;
	/* dp_euicc_new owns id from here on, also when it fails */
	r = dp_euicc_new(id, &d->e);
	id = NULL;
	if (r)
		goto out;
	struct dp_lpa_options o = {.http = *http};
	r = dp_lpa_new(d->e, &o, &d->lpa);
out:
	if (r)
		dp_bench_device_deinit(d);
	dp_euicc_identity_free(id);
	dp_cert_free(cert);
	EVP_PKEY_free(key);
	return r;
}

void dp_bench_device_deinit(struct dp_bench_device *d)
{
	dp_lpa_free(d->lpa);
	dp_euicc_free(d->e);
	d->lpa = NULL;
	d->e = NULL;
}

/* ES10b NotificationSent(seq) straight to the eUICC: no ES9+ call. */
static int notification_drop(struct dp_bench_device *d, uint64_t seq)
{
	uint8_t v[9];
	size_t n = 0;
	struct dp_buf cmd, resp;
	/* 80: a non-negative INTEGER, minimal, with a 00 before a set top bit */
	for (int shift = 56; shift >= 0; shift -= 8) {
		uint8_t b = (uint8_t)(seq >> shift);
		if (n == 0 && b == 0 && shift > 0)
			continue;
		if (n == 0 && (b & 0x80))
			v[n++] = 0;
		v[n++] = b;
	}
	dp_buf_init(&cmd, 32);
	dp_buf_init(&resp, 64);
	uint8_t inner[12] = {0x80, (uint8_t)n};
	memcpy(inner + 2, v, n);
	int r = dp_tlv_append(&cmd, TAG_NOTIFICATION_SENT, inner, n + 2);
	if (r == DP_OK)
		r = dp_euicc_es10(d->e, cmd.data, cmd.len, &resp);
	/* BF30 03 80 01 00: removed */
	if (r == DP_OK && (resp.len != 6 || resp.data[5] != 0))
		r = dp_err_set(DP_ERR_EUICC_STATE, "NotificationSent(%llu) refused",
			       (unsigned long long)seq);
	dp_buf_deinit(&cmd);
	dp_buf_deinit(&resp);
	return r;
}

int dp_bench_device_recycle(struct dp_bench_device *d)
{
	struct dp_lpa_notification notes[NOTIFICATIONS_LISTED];
	char iccid[21];
	size_t n;
	int r = DP_OK, result;
	while (r == DP_OK && dp_euicc_profile_count(d->e) > 0) {
		const struct dp_euicc_profile *p = dp_euicc_profile_get(d->e, 0);
		r = dp_lpa_iccid_to_digits(p->iccid, sizeof(p->iccid), iccid);
		if (r == DP_OK)
			r = dp_lpa_profile_delete(d->lpa, iccid, &result);
	}
	if (r == DP_OK)
		r = dp_lpa_notification_list(d->lpa, notes, NOTIFICATIONS_LISTED, &n);
	for (size_t i = 0; r == DP_OK && i < n; i++)
		r = notification_drop(d, notes[i].seq);
	return r;
}
