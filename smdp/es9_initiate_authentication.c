/* ES9+.InitiateAuthentication: the SM-DP+ address, the eUICC's SVN and CI lists, a new
 * session with a signed serverSigned1 (SGP.22 5.6.1, 6.5.2.6; download-path.md 2.4, 5.2). */
#include <openssl/rand.h>
#include <string.h>
#include <strings.h>

#include "pki/asn1/asn1.h"
#include "pki/asn1/tlv.h"
#include "pki/base/log.h"
#include "pki/crypto/ecdsa.h"
#include "smdp/es9.h"

enum { M_ADDRESS, M_CHALLENGE, M_INFO1 };

static const struct dp_es9_member spec[] = {
	[M_ADDRESS] = { "smdpAddress", DP_ES9_KIND_STRING, true, DP_SMDP_ADDRESS_MAX },
	[M_CHALLENGE] = { "euiccChallenge", DP_ES9_KIND_B64_RAW, true, 64 },
	[M_INFO1] = { "euiccInfo1", DP_ES9_KIND_B64_TLV, true, 4096 },
};

/* ":" and 1..5 digits, to the end. */
static bool is_port(const char *colon)
{
	size_t n = strspn(colon + 1, "0123456789");
	return n >= 1 && n <= 5 && colon[1 + n] == '\0';
}

/* The address the LPA used equals ours, case-insensitively; "host" and "host:port" match
 * when one side gives no port (an LPA may add or drop the default port), the port being
 * digits ("host:" or "host:x" is not our address: the eUICC signs it back and the install
 * notification goes to it). */
static bool address_matches(const char *ours, const char *theirs)
{
	if (strcasecmp(ours, theirs) == 0)
		return true;
	const char *oc = strrchr(ours, ':'), *tc = strrchr(theirs, ':');
	if ((oc == NULL) == (tc == NULL) || (oc != NULL && !is_port(oc)) ||
	    (tc != NULL && !is_port(tc)))
		return false;
	size_t on = oc ? (size_t)(oc - ours) : strlen(ours);
	size_t tn = tc ? (size_t)(tc - theirs) : strlen(theirs);
	return on == tn && strncasecmp(ours, theirs, on) == 0;
}

/* Reads a SEQUENCE OF SubjectKeyIdentifier (04 ...) into skis; extra entries are ignored. */
static int read_ski_list(const struct dp_tlv *list, struct dp_ci_ski *skis, size_t cap,
			 size_t *n)
{
	struct dp_cursor c = dp_cursor_make(list->value, list->len);
	struct dp_tlv t;
	*n = 0;
	while (!dp_cursor_done(&c)) {
		int r = dp_tlv_next(&c, &t);
		if (r)
			return r;
		if (t.tag != 0x04 || t.len == 0 || t.len > DP_CERT_SKI_MAX)
			return dp_err_set(DP_ERR_ASN1_VALUE, "SubjectKeyIdentifier");
		if (*n < cap) {
			memcpy(skis[*n].v, t.value, t.len);
			skis[*n].len = t.len;
			(*n)++;
		}
	}
	return DP_OK;
}

static int svn_cmp(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, 3);
}

int dp_es9_initiate_authentication(void *ctx, const struct dp_http_request *hreq,
				   struct dp_http_response *resp)
{
	struct dp_smdp *smdp = ctx;
	struct dp_es9_reply rp;
	struct dp_es9_request req;
	struct dp_db_session s;
	struct dp_buf signed1, sig;
	asn1_node info1 = NULL;
	struct dp_ci_ski signing[16], verification[16];
	size_t n_signing = 0, n_verification = 0;
	bool have_verification = false;
	struct dp_tlv t, f;
	int r;

	dp_es9_reply_init(&rp, "initiateAuthentication");
	dp_db_session_init(&s);
	dp_buf_init(&signed1, 512);
	dp_buf_init(&sig, 128);
	memset(&req, 0, sizeof(req));
	r = dp_es9_parse(&rp, hreq, spec, 3, &req);
	if (r)
		goto out;
	const char *address = (const char *)req.v[M_ADDRESS].bytes.data;
	const struct dp_buf *challenge = &req.v[M_CHALLENGE].bytes;
	const struct dp_buf *info = &req.v[M_INFO1].bytes;

	if (!address_matches(smdp->address, address)) {
		r = dp_es9_refuse(&rp, DP_ES9_SMDP_ADDRESS, "'%s' (this server is '%s')", address,
				  smdp->address);
		goto out;
	}
	if (challenge->len != 16) {
		r = dp_es9_refuse(&rp, DP_ES9_INVALID_INPUT, "euiccChallenge: %zu bytes, not 16",
				  challenge->len);
		goto out;
	}
	/* EUICCInfo1 must match the schema (unknown v3 members tolerated); the lists are read
	 * from the received bytes */
	if (dp_asn1_decode("RSPDefinitions.EUICCInfo1", info->data, info->len, &info1) != DP_OK) {
		r = dp_es9_refuse(&rp, DP_ES9_INVALID_INPUT, "euiccInfo1: %s", dp_err_detail());
		goto out;
	}
	r = dp_tlv_expect(info->data, info->len, 0xBF20, &t);
	if (r == DP_OK && dp_tlv_find(t.value, t.len, 0x82, &f) == DP_OK && f.len == 3) {
		if (svn_cmp(f.value, smdp->svn_min) < 0 || svn_cmp(f.value, smdp->svn_max) > 0) {
			r = dp_es9_refuse(&rp, DP_ES9_SVN_NOT_SUPPORTED, "SVN %u.%u.%u", f.value[0],
					  f.value[1], f.value[2]);
			goto out;
		}
	}
	if (r == DP_OK && dp_tlv_find(t.value, t.len, 0xAA, &f) == DP_OK)
		r = read_ski_list(&f, signing, 16, &n_signing);
	/* v3: euiccCiPKIdListForSigningV3 (B1) adds CIs for signing */
	if (r == DP_OK && n_signing < 16 && dp_tlv_find(t.value, t.len, 0xB1, &f) == DP_OK) {
		size_t more = 0;
		r = read_ski_list(&f, signing + n_signing, 16 - n_signing, &more);
		n_signing += more;
	}
	if (r == DP_OK && dp_tlv_find(t.value, t.len, 0xA9, &f) == DP_OK) {
		have_verification = true;
		r = read_ski_list(&f, verification, 16, &n_verification);
	}
	if (r) {
		r = dp_es9_refuse(&rp, DP_ES9_INVALID_INPUT, "euiccInfo1: %s", dp_err_detail());
		goto out;
	}
	const struct dp_ci_entry *ci = NULL;
	r = dp_ci_store_select(smdp->ci, signing, n_signing,
			       have_verification ? verification : NULL, n_verification, &ci);
	if (r == DP_ERR_CI_NONE_COMMON) {
		r = dp_es9_refuse(&rp, DP_ES9_CI_NOT_SUPPORTED, "%s", dp_err_detail());
		goto out;
	}
	if (r == DP_ERR_CI_NOT_VERIFIABLE) {
		r = dp_es9_refuse(&rp, DP_ES9_CI_NOT_VERIFIABLE, "%s", dp_err_detail());
		goto out;
	}
	if (r)
		goto out;
	const struct dp_cert *dpauth;
	EVP_PKEY *key;
	const uint8_t *ski;
	size_t ski_len;
	r = dp_ci_entry_signer(ci, DP_CERT_DPAUTH, &dpauth, &key);
	if (r == DP_OK)
		r = dp_cert_ski(dp_ci_entry_ci(ci), &ski, &ski_len);
	if (r)
		goto out;

	/* a new session: random transactionId and serverChallenge */
	s.tid_len = 16;
	if (RAND_bytes(s.tid, 16) != 1 || RAND_bytes(s.server_challenge, 16) != 1) {
		r = dp_err_set(DP_ERR_CRYPTO, "RAND_bytes");
		goto out;
	}
	memcpy(s.euicc_challenge, challenge->data, 16);
	memcpy(s.ci_ski, ski, ski_len);
	s.ci_ski_len = ski_len;
	/* serverAddress: the address the LPA used (it matched ours); the eUICC signs it back
	 * and addresses the install notification to it */
	snprintf(s.smdp_address, sizeof(s.smdp_address), "%s", address);
	s.created_at = time(NULL);
	s.expires_at = s.created_at + (time_t)smdp->cfg->session_ttl_s;
	dp_es9_reply_tid(&rp, s.tid, 16);

	/* serverSigned1 = 30 { 80 tid, 81 euiccChallenge, 83 serverAddress, 84 serverChallenge } */
	struct dp_buf body;
	dp_buf_init(&body, 512);
	r = dp_tlv_append(&body, 0x80, s.tid, s.tid_len);
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x81, s.euicc_challenge, 16);
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x83, address, strlen(address));
	if (r == DP_OK)
		r = dp_tlv_append(&body, 0x84, s.server_challenge, 16);
	if (r == DP_OK)
		r = dp_tlv_append(&signed1, 0x30, body.data, body.len);
	dp_buf_deinit(&body);
	if (r == DP_OK)
		r = dp_ecdsa_sign_tlv(key, signed1.data, signed1.len, &sig);
	if (r)
		goto out;
	r = dp_db_session_add(smdp->db, &s);
	if (r)
		goto out;

	uint8_t ski_tlv[2 + DP_CERT_SKI_MAX];
	ski_tlv[0] = 0x04;
	ski_tlv[1] = (uint8_t)ski_len;
	memcpy(ski_tlv + 2, ski, ski_len);
	size_t cert_len;
	const uint8_t *cert = dp_cert_der(dpauth, &cert_len);
	r = dp_es9_put_tid(&rp, s.tid, s.tid_len);
	if (r == DP_OK)
		r = dp_es9_put_b64(&rp, "serverSigned1", signed1.data, signed1.len);
	if (r == DP_OK)
		r = dp_es9_put_b64(&rp, "serverSignature1", sig.data, sig.len);
	if (r == DP_OK)
		r = dp_es9_put_b64(&rp, "euiccCiPKIdToBeUsed", ski_tlv, 2 + ski_len);
	if (r == DP_OK)
		r = dp_es9_put_b64(&rp, "serverCertificate", cert, cert_len);
out:
	r = dp_es9_reply_finish(&rp, r, resp);
	dp_asn1_free(&info1);
	dp_buf_deinit(&signed1);
	dp_buf_deinit(&sig);
	dp_db_session_deinit(&s);
	dp_es9_request_deinit(&req);
	return r;
}
