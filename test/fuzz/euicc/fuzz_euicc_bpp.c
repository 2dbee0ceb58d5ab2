/* Fuzz target: the test eUICC's download phase (test/euicc/es10.c), PrepareDownload and
 * the LoadBoundProfilePackage segment stream. Each input runs on a fresh SGP.26 eUICC with
 * the skip-server-checks fault, after a real GetEUICCChallenge, AuthenticateServer and
 * PrepareDownload (signatures are not checked, so the fuzzer reaches the BF23 parser, the
 * KDF and the SCP03t unwrapping). The input is a sequence of ES10 commands, each prefixed
 * by a two-byte big-endian length. Every answer must be well-formed DER. Needs SMDP_SHARED
 * (the sgp26 folder), as the replay test sets it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/asn1/tlv.h"
#include "test/euicc/es10.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t tid[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
				 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF };
static const uint8_t ctx_params[16] = { 0xA0, 0x0E, 0x80, 0x02, 0x32, 0x33, 0xA1, 0x08,
					0x80, 0x04, 0x35, 0x55, 0x06, 0x07, 0xA1, 0x00 };

static char sgp26[1024];
static struct dp_buf dpauth, dppb; /* certificate DER, read once */

static void need(int ok)
{
	if (!ok)
		abort();
}

static void init(void)
{
	const char *shared = getenv("SMDP_SHARED");
	snprintf(sgp26, sizeof(sgp26), "%s/sgp26", shared != NULL ? shared : "../shared");
	char path[1200];
	dp_buf_init(&dpauth, 8192);
	dp_buf_init(&dppb, 8192);
	snprintf(path, sizeof(path), "%s/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der", sgp26);
	need(dp_buf_read_file(&dpauth, path) == DP_OK);
	snprintf(path, sizeof(path), "%s/DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der", sgp26);
	need(dp_buf_read_file(&dppb, path) == DP_OK);
}

/* Runs one command that must be answered. */
static void run(struct dp_euicc *e, const struct dp_buf *cmd, struct dp_buf *resp)
{
	dp_buf_reset(resp);
	need(dp_euicc_es10(e, cmd->data, cmd->len, resp) == DP_OK);
}

/* The response is <tag> { A0 ... } (the ok alternative). */
static int answered_ok(const struct dp_buf *resp, uint32_t tag)
{
	struct dp_tlv t;
	return dp_tlv_expect(resp->data, resp->len, tag, &t) == DP_OK && t.len > 0 &&
	       t.value[0] == 0xA0;
}

/* GetEUICCChallenge, AuthenticateServer, PrepareDownload (all accepted). */
static void prepare(struct dp_euicc *e)
{
	static const uint8_t zero[64];
	struct dp_buf cmd, body, part, resp;
	dp_buf_init(&cmd, 16384);
	dp_buf_init(&body, 16384);
	dp_buf_init(&part, 1024);
	dp_buf_init(&resp, DP_EUICC_ES10_RESP_MAX);
	need(dp_buf_append(&cmd, "\xBF\x2E\x00", 3) == DP_OK);
	run(e, &cmd, &resp);
	need(resp.len == 21);
	need(dp_tlv_append(&part, 0x80, tid, sizeof(tid)) == DP_OK);
	need(dp_tlv_append(&part, 0x81, resp.data + 5, 16) == DP_OK);
	need(dp_tlv_append(&part, 0x83, "smdp.example", 12) == DP_OK);
	need(dp_tlv_append(&part, 0x84, zero, 16) == DP_OK);
	need(dp_tlv_append(&body, 0x30, part.data, part.len) == DP_OK);
	need(dp_tlv_append(&body, 0x5F37, zero, 64) == DP_OK);
	need(dp_tlv_append(&body, 0x04, zero, 20) == DP_OK);
	need(dp_buf_append(&body, dpauth.data, dpauth.len) == DP_OK);
	need(dp_buf_append(&body, ctx_params, sizeof(ctx_params)) == DP_OK);
	dp_buf_reset(&cmd);
	need(dp_tlv_append(&cmd, 0xBF38, body.data, body.len) == DP_OK);
	run(e, &cmd, &resp);
	need(answered_ok(&resp, 0xBF38));
	dp_buf_reset(&part);
	dp_buf_reset(&body);
	need(dp_tlv_append(&part, 0x80, tid, sizeof(tid)) == DP_OK);
	need(dp_tlv_append(&part, 0x01, "\x00", 1) == DP_OK);
	need(dp_tlv_append(&body, 0x30, part.data, part.len) == DP_OK);
	need(dp_tlv_append(&body, 0x5F37, zero, 64) == DP_OK);
	need(dp_buf_append(&body, dppb.data, dppb.len) == DP_OK);
	dp_buf_reset(&cmd);
	need(dp_tlv_append(&cmd, 0xBF21, body.data, body.len) == DP_OK);
	run(e, &cmd, &resp);
	need(answered_ok(&resp, 0xBF21));
	dp_buf_deinit(&cmd);
	dp_buf_deinit(&body);
	dp_buf_deinit(&part);
	dp_buf_deinit(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct dp_euicc_identity *id = NULL;
	struct dp_euicc *e = NULL;
	struct dp_buf resp;
	if (!ready) {
		init();
		ready = 1;
	}
	need(dp_euicc_identity_load_sgp26(sgp26, DP_CURVE_NIST_P256, &id) == DP_OK);
	dp_euicc_identity_set_faults(id, DP_EUICC_FAULT_SKIP_SERVER_CHECKS);
	need(dp_euicc_new(id, &e) == DP_OK);
	dp_euicc_set_time(e, (time_t)1767225600); /* 2026-01-01 */
	prepare(e);
	dp_buf_init(&resp, DP_EUICC_ES10_RESP_MAX);
	while (size >= 2) {
		size_t n = (size_t)data[0] << 8 | data[1];
		data += 2, size -= 2;
		if (n > size)
			n = size;
		dp_buf_reset(&resp);
		if (dp_euicc_es10(e, data, n, &resp) == DP_OK && resp.len != 0) {
			struct dp_tlv t;
			need(dp_tlv_expect(resp.data, resp.len, 0, &t) == DP_OK);
			need(dp_tlv_check(t.value, t.len, 16) == DP_OK || !t.constructed);
		} else {
			need(resp.len == 0);
		}
		data += n, size -= n;
	}
	dp_buf_deinit(&resp);
	dp_euicc_free(e);
	return 0;
}
