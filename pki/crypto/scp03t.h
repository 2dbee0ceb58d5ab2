/* SCP03t as used in the bound profile package (SGP.22 2.5.4 / 2.5.3;
 * download-path.md 4.5, 4.6): both directions of one BSP session.
 *
 * One context = one key set (S-ENC, S-MAC), the MAC chaining value and the 16-byte block
 * counter. Every protected TLV, whether 86/87 (pad 80 00.., AES-CBC with IV =
 * AES-ECB(S-ENC, counter), C-MAC) or 88 (MAC only), advances the one counter and the one
 * MAC chain in wire order. The counter starts at 1. ReplaceSessionKeys (the PPK variant)
 * switches to PPK-ENC/PPK-MAC, MCV := initialMacChainingValue, counter := 1.
 *
 * Limits: a protected TLV is at most 1020 bytes (tag, length and MAC included), so an
 * 86/87 segment carries at most 1007 plaintext bytes and an 88 segment 1008.
 *
 * A context is not thread-safe; each download owns its own. Keys are wiped on free. */
#ifndef DP_CRYPTO_SCP03T_H
#define DP_CRYPTO_SCP03T_H

#include <stddef.h>
#include <stdint.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"
#include "pki/crypto/kdf.h"

#define DP_SCP03T_TAG_LOAD 0x86      /* loadProfileElements: encrypt + MAC */
#define DP_SCP03T_TAG_CONFIGURE 0x87 /* ConfigureISDP, ReplaceSessionKeys: encrypt + MAC */
#define DP_SCP03T_TAG_METADATA 0x88  /* StoreMetadata: MAC only */

#define DP_SCP03T_SEGMENT_MAX 1020     /* one whole TLV */
#define DP_SCP03T_PLAIN_MAX_ENC 1007   /* plaintext bytes of one 86/87 */
#define DP_SCP03T_PLAIN_MAX_MAC 1008   /* plaintext bytes of one 88 */

struct dp_scp03t;

/* A context with keys->s_enc, keys->s_mac, MCV := keys->mcv, counter := 1. */
int dp_scp03t_new(const struct dp_session_keys *keys, struct dp_scp03t **out) DP_WUR;
void dp_scp03t_free(struct dp_scp03t *ctx);
/* Switches to a new key set (ReplaceSessionKeys: PPK-ENC, PPK-MAC and the initial MCV)
 * and resets the counter to 1. */
int dp_scp03t_replace_keys(struct dp_scp03t *ctx, const struct dp_session_keys *keys) DP_WUR;
/* The block counter the next TLV will use (1 for the first). */
uint64_t dp_scp03t_counter(const struct dp_scp03t *ctx);

/* Wrap: protects one segment and appends the TLV (tag 86, 87 or 88) to out.
 * DP_ERR_TOO_LONG when plain exceeds the per-segment maximum; on any error the context is
 * unchanged and out is as before. */
int dp_scp03t_wrap(struct dp_scp03t *ctx, uint8_t tag, const uint8_t *plain, size_t len,
		   struct dp_buf *out) DP_WUR;
/* Wrap: cuts plain into consecutive slices of the per-segment maximum (1007 for 86/87,
 * 1008 for 88; the last one shorter) and appends one TLV per slice. len 0 gives no TLV. */
int dp_scp03t_wrap_all(struct dp_scp03t *ctx, uint8_t tag, const uint8_t *plain, size_t len,
		       struct dp_buf *out) DP_WUR;

/* Unwrap (the eUICC side): tlv must be exactly one protected TLV (86, 87 or 88) of at most
 * 1020 bytes. Checks the C-MAC in constant time, decrypts, removes the padding and appends
 * the plaintext to plain; *tag receives the tag. Errors: DP_ERR_SCP03T_STRUCTURE for a
 * malformed TLV, length or padding (scp03tStructureError), DP_ERR_SCP03T_MAC for a MAC
 * that does not verify (scp03tSecurityError). On error the context and plain are
 * unchanged. */
int dp_scp03t_unwrap(struct dp_scp03t *ctx, const uint8_t *tlv, size_t len, uint8_t *tag,
		     struct dp_buf *plain) DP_WUR;

/* ReplaceSessionKeysRequest (BF26 { 80 initialMacChainingValue, 81 ppkEnc, 82 ppkCmac }),
 * the plaintext of the 87 in A2: build (appends to out) and parse (strict: exactly that
 * TLV, each member 16 bytes; DP_ERR_SCP03T_STRUCTURE otherwise). */
int dp_scp03t_replace_keys_request(const struct dp_session_keys *ppk, struct dp_buf *out) DP_WUR;
int dp_scp03t_parse_replace_keys(const uint8_t *p, size_t len,
				 struct dp_session_keys *ppk) DP_WUR;

#endif
