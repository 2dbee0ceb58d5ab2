/* Activation codes and matching IDs (SGP.22 4.1 "Activation Code", 4.1.1 matchingId;
 * es2-lifecycle-sgp32.md 3): the text an end user scans, built for new orders and read
 * strictly:
 *
 *   [LPA:]1$<SM-DP+ address>$<matchingId>[$<SM-DP+ OID>[$<CC flag>]]
 *
 * - "LPA:" is the QR-code prefix: the builder always writes it, the parser accepts it or not.
 * - The format qualifier is "1", the only one defined.
 * - address: host[:port]; host a DNS name (labels of letters, digits and '-', not starting
 *   or ending with '-', 1..63 each) or IPv4 in that syntax, or [IPv6]; port 1..65535.
 * - matchingId: 1..DP_AC_MAX printable ASCII, no '$' and no space (the parser is lenient
 *   with what LPAs accept; the stricter rule for IDs we issue is dp_activation_matching_id_valid).
 * - OID: dotted decimal, first arc 0..2, at least two arcs, no leading zeros; the field may be
 *   empty only when the flag follows.
 * - CC flag: exactly "1" (confirmation code required).
 * - at most DP_AC_MAX characters in all; later fields (v3's CI key indicator and others) are
 *   refused: their syntax is not in our sources.
 * Errors are DP_ERR_ACTIVATION_CODE with a detail naming the field. */
#ifndef DP_SMDP_ACTIVATION_H
#define DP_SMDP_ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>

#include "pki/base/error.h"

#define DP_AC_MAX 255
/* A matching ID we generate: 4 groups of 5 of [0-9A-Z] joined by '-' (103 bits). */
#define DP_AC_MATCHING_ID_GEN_LEN 23
/* The longest matching ID we issue (the order book's column). */
#define DP_AC_MATCHING_ID_MAX 64

/* An activation code's fields (plain data carrier). */
struct dp_activation_code {
	char address[DP_AC_MAX + 1];	 /* SM-DP+ address, as written */
	char matching_id[DP_AC_MAX + 1]; /* the AC token */
	char oid[DP_AC_MAX + 1];	 /* SM-DP+ OID, "" when absent */
	bool cc_required;		 /* confirmation code required flag */
};

/* Writes "LPA:1$address$matchingId[$oid[$1]]" and a NUL into out (cap bytes; DP_AC_MAX + 5
 * always suffice). Every field is checked as the parser would; DP_ERR_TOO_LONG when the
 * code would exceed DP_AC_MAX characters without its "LPA:" or cap. */
int dp_activation_code_build(const struct dp_activation_code *ac, char *out, size_t cap) DP_WUR;
/* Parses text (NUL-terminated) into *out. */
int dp_activation_code_parse(const char *text, struct dp_activation_code *out) DP_WUR;
/* The same on a byte string that need not be NUL-terminated (fuzzing, network input). */
int dp_activation_code_parse_n(const char *text, size_t len, struct dp_activation_code *out) DP_WUR;

/* host[:port] as above; DP_ERR_ACTIVATION_CODE otherwise. */
int dp_activation_address_valid(const char *address) DP_WUR;
/* A matching ID we issue or accept from an operator: 1..DP_AC_MATCHING_ID_MAX characters
 * of [0-9A-Z-] (SGP.22 4.1.1: upper-case alphanumerics and '-'). DP_ERR_INVAL otherwise. */
int dp_activation_matching_id_valid(const char *mid) DP_WUR;
/* A fresh matching ID from OpenSSL's CSPRNG (uniform over the 36 symbols), e.g.
 * "K3T9Q-0ZP2M-7WX4D-R8N1B"; out has at least DP_AC_MATCHING_ID_GEN_LEN + 1 bytes. */
int dp_activation_matching_id_generate(char *out, size_t cap) DP_WUR;

#endif
