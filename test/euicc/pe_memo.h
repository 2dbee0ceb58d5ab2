/* The test eUICC's memo of SAIP profile elements already checked in this process (issue 8):
 * a benchmark installs the same TS.48 package thousands of times, and decoding each of its
 * profile elements again is most of the client's CPU. SAIP (TCA eUICC Profile Package 2.3)
 * section 8; the check itself is dp_asn1_decode_pe (pki/asn1/asn1.h).
 *
 * Off by default: every PE is decoded. When on, the PEs whose exact bytes already decoded
 * and passed the completeness check are accepted without decoding them again (same bytes,
 * same verdict). The memo is shared by all eUICCs of the process and thread-safe; an entry
 * is found by a hash of the bytes and then compared byte for byte, so a collision costs a
 * decode, never a wrong verdict. Refusals are never remembered. It holds at most
 * DP_EUICC_PE_MEMO_ENTRIES elements of at most DP_EUICC_PE_MEMO_ENTRY_MAX bytes each (a
 * larger PE is always decoded), replacing the least recently used one of a hash set. */
#ifndef DP_TEST_EUICC_PE_MEMO_H
#define DP_TEST_EUICC_PE_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/error.h"

#define DP_EUICC_PE_MEMO_ENTRIES   256
#define DP_EUICC_PE_MEMO_ENTRY_MAX (16 * 1024) /* so at most 4 MiB of PE bytes */

/* Turns the memo on or off for the whole process; off also forgets every entry and zeroes
 * the counters. Safe to call while other threads decode. */
void dp_euicc_pe_memo_enable(bool on);
bool dp_euicc_pe_memo_enabled(void);

/* Checks one profile element TLV (der, len) as dp_asn1_decode_pe does and returns its
 * verdict (DP_OK or its error, with dp_err_detail() set by the decode); with the memo on,
 * bytes that passed before return DP_OK without a decode, and bytes that pass now are
 * remembered. */
int dp_euicc_pe_check(const uint8_t *der, size_t len) DP_WUR;

/* What the memo did since it was last turned on (all zero while off). */
struct dp_euicc_pe_memo_stats {
	uint64_t hits;	  /* PEs accepted from the memo */
	uint64_t decodes; /* PEs decoded with the memo on (misses, refusals, too large) */
	size_t entries;	  /* PEs held now */
	size_t bytes;	  /* their bytes */
};
void dp_euicc_pe_memo_stats(struct dp_euicc_pe_memo_stats *out);

/* For tests: with on, every PE gets the same hash (and so the same set), so only the byte
 * comparison tells entries apart. */
void dp_euicc_pe_memo_test_collide(bool on);

#endif
