/* Activation codes (SGP.22 4.1; es2-lifecycle-sgp32.md 3), read strictly:
 *   [LPA:]1$<SM-DP+ address>$<matchingId>[$<SM-DP+ OID>[$1]]
 * - "LPA:" (the QR code prefix) is optional; the format qualifier must be "1".
 * - address: host[:port], host a DNS name (labels of letters, digits, '-'), IPv4, or
 *   [IPv6]; port 1..65535.
 * - matchingId: 1..255 printable ASCII characters other than '$' and space (the default
 *   SM-DP+ case, with no matchingId, is not an activation code: the LPA takes the address
 *   alone).
 * - OID: dotted decimal (first arc 0..2, at least two arcs, no leading zeros); it may be
 *   empty only when the confirmation-code flag follows.
 * - the flag field, when present, is exactly "1" (confirmation code required).
 * - at most 255 characters in all; no further fields (v3's CI-key indicator is refused).
 * Everything else is DP_ERR_ACTIVATION_CODE with the detail naming the field. */
#ifndef DP_TEST_LPA_ACTIVATION_CODE_H
#define DP_TEST_LPA_ACTIVATION_CODE_H

#include <stdbool.h>

#include "pki/base/error.h"

#define DP_LPA_AC_MAX 255

/* A parsed activation code (plain data carrier). */
struct dp_lpa_activation_code {
	char address[DP_LPA_AC_MAX + 1];     /* SM-DP+ address, as written */
	char matching_id[DP_LPA_AC_MAX + 1]; /* the AC token */
	char oid[DP_LPA_AC_MAX + 1];	     /* SM-DP+ OID, "" when absent */
	bool cc_required;		     /* the fifth field was "1" */
};

int dp_lpa_activation_code_parse(const char *text, struct dp_lpa_activation_code *out) DP_WUR;

#endif
