/* The bound profile package builder (contract in bpp.h): InitialiseSecureChannelRequest,
 * the SCP03t-protected sequences and the PPK pre-protection. SGP.22 2.5.3-2.5.5, 5.6.2.
 *
 * The whole BF36 is laid out first (every protected TLV has a length known in advance),
 * reserved once in out and written straight into it: the profile is copied or encrypted
 * exactly once. On error out->len is put back, so out holds what it held before. */
#include "smdp/bpp.h"

#include <string.h>

#include <openssl/rand.h>

#include "pki/asn1/tlv.h"
#include "pki/base/log.h"
#include "pki/base/secure.h"
#include "pki/crypto/ecdsa.h"
#include "pki/crypto/scp03t.h"

#define TAG_BPP		   0xBF36
#define TAG_ISC		   0xBF23
#define TAG_CONFIGURE_ISDP 0xBF24
#define TAG_STORE_METADATA 0xBF25
#define TID_MAX		   16
#define MAC_LEN		   8
#define BLOCK		   16
/* Far above any real SAIP package or metadata; keeps the size arithmetic in range. */
#define PROFILE_MAX  ((size_t)16 * 1024 * 1024)
#define METADATA_MAX ((size_t)64 * 1024)
/* BF26 { 80 10 mcv, 81 10 enc, 82 10 mac }: 3 header bytes + 3 * 18 */
#define RSK_REQUEST_LEN 57
#define POINT_TLV_LEN	(3 + DP_CURVE_POINT_BYTES)
#define SIGN_TLV_LEN	(3 + DP_ECDSA_RS_BYTES)
/* 82 01 01 | 80 tid | A6 {80 01 88, 81 01 10, 84 hostId} | 5F49 41 otPK.DP | 5F49 41 otPK.EUICC */
#define ISC_SIGNED_MAX (3 + (2 + TID_MAX) + (2 + 6 + 2 + DP_KDF_HOST_ID_MAX) + 2 * POINT_TLV_LEN)

static const uint8_t default_configure_isdp[] = {0xBF, 0x24, 0x00};

/* Byte counts of every part of one BF36, computed before anything is written. */
struct layout {
	size_t isc; /* BF23 value */
	size_t a0;  /* values of A0, A1, A2 (0: absent) and A3 */
	size_t a1;
	size_t a2;
	size_t a3;
	size_t body;  /* BF36 value */
	size_t total; /* the whole BF36 TLV */
};

/* Tag + length + value length of a TLV with n value bytes. */
static size_t tlv_len(uint32_t tag, size_t n)
{
	uint8_t hdr[9];
	return dp_tlv_header(tag, n, hdr) + n;
}

/* Size of one protected TLV for len plaintext bytes (scp03t.h: 86/87 pad to whole
 * blocks, always at least one padding byte; 88 carries the plaintext as is). */
static size_t wrapped_len(uint8_t tag, size_t len)
{
	size_t body = tag == DP_SCP03T_TAG_METADATA ? len : (len / BLOCK + 1) * BLOCK;
	return tlv_len(tag, body + MAC_LEN);
}

/* Size of what dp_scp03t_wrap_all appends for len plaintext bytes. */
static size_t wrapped_all_len(uint8_t tag, size_t len)
{
	size_t max =
	    tag == DP_SCP03T_TAG_METADATA ? DP_SCP03T_PLAIN_MAX_MAC : DP_SCP03T_PLAIN_MAX_ENC;
	size_t full = len / max, rest = len % max;
	return full * wrapped_len(tag, max) + (rest != 0 ? wrapped_len(tag, rest) : 0);
}

/* Writes one TLV at p + *off (the caller sized p). */
static void put_tlv(uint8_t *p, size_t *off, uint32_t tag, const uint8_t *v, size_t n)
{
	*off += dp_tlv_header(tag, n, p + *off);
	memcpy(p + *off, v, n);
	*off += n;
}

/* A pre-protected profile must be consecutive 86 TLVs of at most 1020 bytes each. */
static int check_protected(const uint8_t *p, size_t len)
{
	struct dp_cursor c = dp_cursor_make(p, len);
	struct dp_tlv t;
	while (!dp_cursor_done(&c)) {
		if (dp_tlv_next(&c, &t) != DP_OK || t.tag != DP_SCP03T_TAG_LOAD ||
		    t.raw_len > DP_SCP03T_SEGMENT_MAX)
			return dp_err_set(DP_ERR_INVAL,
					  "pre-protected profile: not a sequence of 86 segments "
					  "(at offset %zu)",
					  len - c.len);
	}
	return DP_OK;
}

/* Range checks of everything but the point and the keys; fills the layout. */
static int check_input(const struct dp_bpp_input *in, const uint8_t *cfg, size_t cfg_len,
		       struct layout *l)
{
	struct dp_tlv t;
	int r;

	if (in->dppb_key == NULL || in->otpk_euicc == NULL || in->eid == NULL)
		return dp_err_set(DP_ERR_INVAL, "BPP: SK.DPpb, otPK.EUICC and EID are required");
	if (in->curve != DP_CURVE_NIST_P256 && in->curve != DP_CURVE_BRAINPOOL_P256R1)
		return dp_err_set(DP_ERR_INVAL, "BPP: unknown curve %d", (int)in->curve);
	if (in->tid == NULL || in->tid_len < 1 || in->tid_len > TID_MAX)
		return dp_err_set(DP_ERR_INVAL, "transactionId must be 1..16 bytes (got %zu)",
				  in->tid_len);
	if (in->host_id == NULL || in->host_id_len < 1 || in->host_id_len > DP_KDF_HOST_ID_MAX)
		return dp_err_set(DP_ERR_INVAL, "hostId must be 1..16 bytes (got %zu)",
				  in->host_id_len);
	if (in->metadata == NULL || in->profile == NULL || in->profile_len == 0)
		return dp_err_set(DP_ERR_INVAL, "BPP: metadata and profile are required");
	/* bounded so that the layout sums below cannot overflow */
	if (in->metadata_len > METADATA_MAX || in->profile_len > PROFILE_MAX)
		return dp_err_set(DP_ERR_TOO_LONG, "BPP: metadata of %zu or profile of %zu bytes",
				  in->metadata_len, in->profile_len);
	/* both are sent as they are: one well-formed TLV each, nothing after it */
	if (dp_tlv_expect(in->metadata, in->metadata_len, TAG_STORE_METADATA, &t) != DP_OK)
		return dp_err_set(DP_ERR_INVAL, "BPP: metadata is not one BF25 TLV");
	if (dp_tlv_expect(cfg, cfg_len, TAG_CONFIGURE_ISDP, &t) != DP_OK)
		return dp_err_set(DP_ERR_INVAL, "BPP: ConfigureISDPRequest is not one BF24 TLV");
	/* one 87 in A0: the LPA sends A0 and its first 87 as one segment (SGP.22 2.5.5) */
	if (cfg_len > DP_SCP03T_PLAIN_MAX_ENC)
		return dp_err_set(DP_ERR_TOO_LONG, "ConfigureISDPRequest of %zu bytes (max %d)",
				  cfg_len, DP_SCP03T_PLAIN_MAX_ENC);
	/* stored data, but a corrupt record must not reach an eUICC */
	if (in->ppk != NULL && (r = check_protected(in->profile, in->profile_len)))
		return r;

	/* the sizes of what dp_bpp_build writes, part by part (same order) */
	l->isc = 3 + tlv_len(0x80, in->tid_len) +
		 tlv_len(0xA6, 6 + tlv_len(0x84, in->host_id_len)) + POINT_TLV_LEN + SIGN_TLV_LEN;
	l->a0 = wrapped_len(DP_SCP03T_TAG_CONFIGURE, cfg_len);
	l->a1 = wrapped_all_len(DP_SCP03T_TAG_METADATA, in->metadata_len);
	l->a2 = in->ppk != NULL ? wrapped_len(DP_SCP03T_TAG_CONFIGURE, RSK_REQUEST_LEN) : 0;
	l->a3 = in->ppk != NULL ? in->profile_len
				: wrapped_all_len(DP_SCP03T_TAG_LOAD, in->profile_len);
	l->body = tlv_len(TAG_ISC, l->isc) + tlv_len(0xA0, l->a0) + tlv_len(0xA1, l->a1) +
		  (l->a2 != 0 ? tlv_len(0xA2, l->a2) : 0) + tlv_len(0xA3, l->a3);
	l->total = tlv_len(TAG_BPP, l->body);
	return DP_OK;
}

/* BF23 { 82 01 01, 80 tid, A6 CRT, 5F49 otPK.DP, 5F37 smdpSign } appended to out, where
 * smdpSign covers the value without 5F37, followed by 5F49 otPK.EUICC (download-path.md
 * 4.2). */
static int append_isc(const struct dp_bpp_input *in, const struct layout *l,
		      const uint8_t otpk_dp[DP_CURVE_POINT_BYTES], struct dp_buf *out)
{
	uint8_t msg[ISC_SIGNED_MAX], crt[6 + 2 + DP_KDF_HOST_ID_MAX];
	uint8_t sig[DP_ECDSA_RS_BYTES];
	size_t n = 0, crt_len = 0;
	int r;

	/* controlRefTemplate: key type AES (88), key length 16, hostId */
	crt[crt_len++] = 0x80;
	crt[crt_len++] = 0x01;
	crt[crt_len++] = DP_KDF_KEY_TYPE;
	crt[crt_len++] = 0x81;
	crt[crt_len++] = 0x01;
	crt[crt_len++] = DP_KDF_KEY_LENGTH;
	put_tlv(crt, &crt_len, 0x84, in->host_id, in->host_id_len);
	/* remoteOpId installBoundProfilePackage(1) */
	put_tlv(msg, &n, 0x82, (const uint8_t *)"\x01", 1);
	put_tlv(msg, &n, 0x80, in->tid, in->tid_len);
	put_tlv(msg, &n, 0xA6, crt, crt_len);
	put_tlv(msg, &n, 0x5F49, otpk_dp, DP_CURVE_POINT_BYTES);
	const size_t unsigned_len = n;
	put_tlv(msg, &n, 0x5F49, in->otpk_euicc, DP_CURVE_POINT_BYTES);
	if ((r = dp_ecdsa_sign(in->dppb_key, msg, n, sig)))
		return dp_err_wrap(r, "smdpSign");
	if ((r = dp_tlv_append_header(out, TAG_ISC, l->isc)) ||
	    (r = dp_buf_append(out, msg, unsigned_len)) ||
	    (r = dp_tlv_append(out, DP_ECDSA_TAG, sig, sizeof(sig))))
		return r;
	return DP_OK;
}

/* A2 { 87 ReplaceSessionKeysRequest(ppk) } under the session keys (SGP.22 2.5.3). */
static int append_replace_keys(struct dp_scp03t *scp, const struct dp_session_keys *ppk,
			       size_t a2_len, struct dp_buf *out)
{
	struct dp_buf rsk;
	int r;

	dp_buf_init_secret(&rsk, 2 * RSK_REQUEST_LEN);
	if ((r = dp_scp03t_replace_keys_request(ppk, &rsk)))
		goto out;
	/* the layout counted on the fixed size of BF26 */
	if (rsk.len != RSK_REQUEST_LEN) {
		r = dp_err_set(DP_ERR_INTERNAL, "ReplaceSessionKeysRequest of %zu bytes", rsk.len);
		goto out;
	}
	if ((r = dp_tlv_append_header(out, 0xA2, a2_len)) ||
	    (r = dp_scp03t_wrap(scp, DP_SCP03T_TAG_CONFIGURE, rsk.data, rsk.len, out)))
		goto out;
	/* The eUICC now switches to the PPK (counter 1); nothing more is wrapped here: the A3
	 * content was protected under the PPK by dp_bpp_protect. */
out:
	dp_buf_deinit(&rsk);
	return r;
}

/* Session keys (download-path.md 4.4) from otsk and the already imported otPK.EUICC. */
static int derive_keys(const struct dp_bpp_input *in, EVP_PKEY *otsk, EVP_PKEY *peer,
		       struct dp_session_keys *keys)
{
	uint8_t eid[DP_KDF_EID_BYTES], z[DP_CURVE_BYTES], si[DP_KDF_SHARED_INFO_MAX];
	size_t si_len = 0;
	int r;

	if ((r = dp_kdf_eid_bytes(in->eid, eid)) ||
	    (r = dp_kdf_shared_info(in->host_id, in->host_id_len, eid, si, sizeof(si), &si_len)) ||
	    (r = dp_kdf_ecdh(otsk, peer, z)))
		goto out;
	r = dp_kdf_x963(z, sizeof(z), si, si_len, keys);
out:
	dp_wipe(z, sizeof(z));
	return r;
}

int dp_bpp_build(const struct dp_bpp_input *in, struct dp_buf *out, EVP_PKEY **otsk_out)
{
	struct layout l = {0};
	struct dp_session_keys keys;
	struct dp_scp03t *scp = NULL;
	EVP_PKEY *peer = NULL, *otsk = NULL;
	uint8_t otpk_dp[DP_CURVE_POINT_BYTES];
	enum dp_curve curve;
	const size_t start = out->len;
	const uint8_t *cfg = default_configure_isdp;
	size_t cfg_len = sizeof(default_configure_isdp);
	int r;

	memset(&keys, 0, sizeof(keys));
	if (otsk_out != NULL)
		*otsk_out = NULL;
	/* no ConfigureISDPRequest given: BF24 00 (no dpProprietaryData) */
	if (in->configure_isdp != NULL) {
		cfg = in->configure_isdp;
		cfg_len = in->configure_isdp_len;
	}
	if ((r = check_input(in, cfg, cfg_len, &l)))
		goto out;
	if ((r = dp_curve_of_key(in->dppb_key, &curve)) || curve != in->curve) {
		r = dp_err_set(DP_ERR_INVAL, "SK.DPpb is not on %s", dp_curve_name(in->curve));
		goto out;
	}
	/* otPK.EUICC on the DPpb curve, with the on-curve check (DP_ERR_EC_POINT) */
	if ((r = dp_kdf_import_point(in->curve, in->otpk_euicc, DP_CURVE_POINT_BYTES, &peer)))
		goto out;
	/* the one-time key pair: the caller's (a re-binding) or a fresh one */
	if (in->otsk_dp != NULL) {
		if ((r = dp_curve_of_key(in->otsk_dp, &curve)) || curve != in->curve) {
			r = dp_err_set(DP_ERR_INVAL, "otSK.DP is not on %s",
				       dp_curve_name(in->curve));
			goto out;
		}
		if (EVP_PKEY_up_ref(in->otsk_dp) != 1) {
			r = dp_err_set(DP_ERR_CRYPTO, "otSK.DP reference");
			goto out;
		}
		otsk = in->otsk_dp;
	} else if ((r = dp_kdf_generate(in->curve, &otsk))) {
		goto out;
	}
	if ((r = dp_kdf_export_point(otsk, otpk_dp)) || (r = derive_keys(in, otsk, peer, &keys)) ||
	    (r = dp_scp03t_new(&keys, &scp)))
		goto out;

	/* Everything below writes into the space reserved here, in wire order, which is also
	 * the order of the one SCP03t counter and MAC chain. */
	if ((r = dp_buf_reserve(out, l.total)))
		goto out;
	if ((r = dp_tlv_append_header(out, TAG_BPP, l.body)) ||
	    (r = append_isc(in, &l, otpk_dp, out)))
		goto out;
	/* A0 { 87 ConfigureISDP }: counter 1 */
	if ((r = dp_tlv_append_header(out, 0xA0, l.a0)) ||
	    (r = dp_scp03t_wrap(scp, DP_SCP03T_TAG_CONFIGURE, cfg, cfg_len, out)))
		goto out;
	/* A1 { 88 ... }: MAC only, 1008 metadata bytes per 88 */
	if ((r = dp_tlv_append_header(out, 0xA1, l.a1)) ||
	    (r = dp_scp03t_wrap_all(scp, DP_SCP03T_TAG_METADATA, in->metadata, in->metadata_len,
				    out)))
		goto out;
	if (in->ppk != NULL && (r = append_replace_keys(scp, in->ppk, l.a2, out)))
		goto out;
	/* A3 { 86 ... }: the pre-protected segments as they are, or the UPP in 1007-byte
	 * slices under the session keys */
	if ((r = dp_tlv_append_header(out, 0xA3, l.a3)))
		goto out;
	if (in->ppk != NULL)
		r = dp_buf_append(out, in->profile, in->profile_len);
	else
		r = dp_scp03t_wrap_all(scp, DP_SCP03T_TAG_LOAD, in->profile, in->profile_len, out);
	if (r)
		goto out;
	/* the headers written first promised l.total bytes; anything else is a bug here */
	if (out->len - start != l.total) {
		r = dp_err_set(DP_ERR_INTERNAL, "BPP of %zu bytes, laid out as %zu",
			       out->len - start, l.total);
		goto out;
	}
	dp_log_debug(DP_LOG_ES9, "BPP of %zu bytes on %s (%s)", l.total, dp_curve_name(in->curve),
		     in->ppk != NULL ? "pre-protected profile" : "session keys");
	if (otsk_out != NULL) {
		*otsk_out = otsk;
		otsk = NULL;
	}
	r = DP_OK;
out:
	/* on error: out as before (and the partial tail wiped if out is a secret buffer) */
	if (r && out->len > start) {
		if (out->secret)
			dp_wipe(out->data + start, out->len - start);
		out->len = start;
	}
	dp_kdf_keys_wipe(&keys);
	dp_scp03t_free(scp);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(otsk);
	return r;
}

int dp_bpp_protect(const uint8_t *upp, size_t len, struct dp_session_keys *ppk, struct dp_buf *out)
{
	struct dp_scp03t *scp = NULL;
	const size_t start = out->len;
	int r;

	if (upp == NULL || len == 0)
		return dp_err_set(DP_ERR_INVAL, "profile protection: empty profile");
	if (len > PROFILE_MAX)
		return dp_err_set(DP_ERR_TOO_LONG, "profile of %zu bytes", len);
	/* PPK-ENC, PPK-MAC and the initial MCV from the private DRBG */
	if (RAND_priv_bytes((unsigned char *)ppk, (int)sizeof(*ppk)) != 1) {
		r = dp_err_set(DP_ERR_CRYPTO, "random profile protection keys");
		goto out;
	}
	/* one reservation for all the 86s, then 1007-byte slices from counter 1 */
	if ((r = dp_scp03t_new(ppk, &scp)) ||
	    (r = dp_buf_reserve(out, wrapped_all_len(DP_SCP03T_TAG_LOAD, len))) ||
	    (r = dp_scp03t_wrap_all(scp, DP_SCP03T_TAG_LOAD, upp, len, out)))
		goto out;
	r = DP_OK;
out:
	/* on error: no keys left behind, out as before */
	if (r) {
		dp_kdf_keys_wipe(ppk);
		if (out->secret && out->len > start)
			dp_wipe(out->data + start, out->len - start);
		out->len = start;
	}
	dp_scp03t_free(scp);
	return r;
}
