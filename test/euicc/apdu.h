/* The test eUICC's card face: ISO 7816-4 command APDUs in, response data + status word out.
 * SGP.22 5.7 / download-path.md 7.1 (ES10 over STORE DATA), GlobalPlatform STORE DATA.
 *
 * What the card understands (short APDUs only, no extended length):
 *   SELECT          00|ch A4 04 00/0C  Lc AID [Le]   only the ISD-R AID; else 6A82
 *   STORE DATA      80|ch E2 11/91 blk Lc data [Le]  P1 11 = more blocks, 91 = last block;
 *                                                    P2 = block number from 00 per command
 *   GET RESPONSE    00|ch or 80|ch C0 00 00 Le       the next piece of a long response
 *   MANAGE CHANNEL  00|ch 70 00 00/nn [Le]          open (card picks or nn), 70 80 nn close
 * Logical channels 0..3 (CLA low bits); channel 0 is always open.
 * A response longer than the chunk size (default 256) is cut: the first piece comes with
 * 61xx (xx = bytes still waiting, 00 for 256 or more), GET RESPONSE fetches the rest.
 * Status words: 9000 ok, 61xx more data, 6700 wrong length (Lc/Le do not match the APDU
 * length, empty STORE DATA), 6881 channel not supported or not open, 6A81 no free channel,
 * 6A82 AID not found, 6A84 command longer than DP_EUICC_APDU_CMD_MAX, 6A86 wrong P1/P2 or
 * block number, 6985 no ISD-R selected / nothing pending for GET RESPONSE, 6A80 the ES10
 * layer refused the assembled DER, 6D00 unknown INS, 6E00 unknown CLA (or INS under the
 * wrong class), 6F00 internal error. */
#ifndef DP_TEST_EUICC_APDU_H
#define DP_TEST_EUICC_APDU_H

#include <stddef.h>
#include <stdint.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"

#define DP_EUICC_CHANNELS 4
/* Largest ES10 command assembled from STORE DATA blocks (a BPP segment is ~1 KiB; the
 * whole BoundProfilePackage sent at once by a naive LPA stays below this too). */
#define DP_EUICC_APDU_CMD_MAX (256 * 1024)
/* Largest ES10 response the card holds for GET RESPONSE. */
#define DP_EUICC_APDU_RESP_MAX (64 * 1024)

/* ISD-R AID, SGP.22 2.2.3: A0000005591010FFFFFFFF8900000100. */
extern const uint8_t dp_euicc_isdr_aid[16];

/* Status words. */
enum {
	DP_EUICC_SW_OK = 0x9000,
	DP_EUICC_SW_MORE = 0x6100,             /* | bytes waiting (00 = 256 or more) */
	DP_EUICC_SW_WRONG_LENGTH = 0x6700,
	DP_EUICC_SW_CHANNEL = 0x6881,
	DP_EUICC_SW_CONDITIONS = 0x6985,
	DP_EUICC_SW_WRONG_DATA = 0x6A80,
	DP_EUICC_SW_FUNC_NOT_SUPPORTED = 0x6A81,
	DP_EUICC_SW_NOT_FOUND = 0x6A82,
	DP_EUICC_SW_NO_MEMORY = 0x6A84,
	DP_EUICC_SW_WRONG_P1P2 = 0x6A86,
	DP_EUICC_SW_INS = 0x6D00,
	DP_EUICC_SW_CLA = 0x6E00,
	DP_EUICC_SW_INTERNAL = 0x6F00,
};

/* What runs behind STORE DATA: one whole DER command in, its DER response appended to
 * resp. A non-zero return is answered with 6A80 (and nothing of resp is sent). */
typedef int (*dp_euicc_es10_fn)(void *ctx, const uint8_t *cmd, size_t len,
				struct dp_buf *resp);

/* The card: channel states, pending responses, STORE DATA reassembly. Not thread-safe. */
struct dp_euicc_card;

/* A card in the reset state (channel 0 open, nothing selected) that hands assembled ES10
 * commands to es10(ctx, ...). ctx is borrowed. */
int dp_euicc_card_new(dp_euicc_es10_fn es10, void *ctx, struct dp_euicc_card **out) DP_WUR;
void dp_euicc_card_free(struct dp_euicc_card *card);
/* Cold reset: closes channels 1..3, deselects, drops pending data and partial commands. */
void dp_euicc_card_reset(struct dp_euicc_card *card);
/* Largest response piece per APDU, 1..256 (default 256); smaller values force GET RESPONSE
 * chains in tests. */
int dp_euicc_card_set_chunk(struct dp_euicc_card *card, size_t chunk) DP_WUR;

/* Processes one command APDU and appends the response data followed by the two status
 * bytes to resp. Malformed commands are answered with a status word, never an error:
 * the return value is non-zero only when resp could not take the answer (DP_ERR_NOMEM,
 * DP_ERR_TOO_LONG); *sw (may be NULL) receives the status word. */
int dp_euicc_apdu(struct dp_euicc_card *card, const uint8_t *cmd, size_t len,
		  struct dp_buf *resp, unsigned *sw) DP_WUR;

#endif
