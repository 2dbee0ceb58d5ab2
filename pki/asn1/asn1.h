/* The one wrapper around libtasn1: every libtasn1 call in the project is in asn1.c.
 *
 * Type names are "Module.Type": "RSPDefinitions.EUICCInfo2", "PEDefinitions.PE-USIM".
 * Field names are libtasn1 paths relative to the node: "svn", "euiccCiPKIdListForSigning.?1",
 * "ctxParams1.ctxParamsForCommonAuthentication.matchingId"; "" is the node itself.
 *
 * Decoding is strict DER and tolerant of extensions: before libtasn1 sees the bytes, members
 * that the schema does not define (v3 / SGP.32 additions, vendor extensions) are dropped,
 * driven by the schema tables themselves. An unknown member is skipped, never an error;
 * an unknown CHOICE alternative is an error (there is nothing to decode it as).
 * Signatures are never verified over re-encoded data: slice the received bytes with tlv.h. */
#ifndef DP_ASN1_ASN1_H
#define DP_ASN1_ASN1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libtasn1.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"

/* Load both definition tables (once; thread-safe; later calls are free). */
int dp_asn1_init(void) DP_WUR;

/* An empty value of a type, to be filled with dp_asn1_write*(). Each is a copy of one empty
 * element per type made on first use and kept for the program's lifetime (shared by all
 * threads, never written), so a type's first create or decode costs more than the next. */
int dp_asn1_create(const char *type, asn1_node *out) DP_WUR;
/* Decodes exactly one DER TLV of `type` (trailing bytes are an error), dropping members
 * the schema does not know (the bytes are copied only when there is one to drop). Mandatory
 * members are then checked for presence in the decoded tree, node by node; a missing one is
 * named by its path in the error detail. *out is NULL on error. */
int dp_asn1_decode(const char *type, const uint8_t *der, size_t len, asn1_node *out) DP_WUR;
/* As dp_asn1_decode, but an unknown member is an error (used by tests and tools). */
int dp_asn1_decode_exact(const char *type, const uint8_t *der, size_t len,
			 asn1_node *out) DP_WUR;
/* The bytes dp_asn1_decode would hand to libtasn1 (members unknown to the schema removed);
 * *dropped counts the removed TLVs. Appends to out. */
int dp_asn1_prune(const char *type, const uint8_t *der, size_t len, struct dp_buf *out,
		  size_t *dropped) DP_WUR;
/* Appends the DER of `field` ("" for the whole value) to out. */
int dp_asn1_encode(asn1_node_const node, const char *field, struct dp_buf *out) DP_WUR;
void dp_asn1_free(asn1_node *node);

/* SAIP: decodes one ProfileElement TLV with the small PEW-<alt> wrapper type chosen by its
 * tag (25x cheaper than the whole CHOICE). *alt is the alternative name ("header", "usim",
 * ...), valid for the program's lifetime; fields are read as "<alt>.<member>". */
int dp_asn1_decode_pe(const uint8_t *der, size_t len, asn1_node *out, const char **alt) DP_WUR;
/* The alternative name for a PE's first tag, or DP_ERR_NOT_FOUND. */
int dp_asn1_pe_alternative(uint32_t tag, const char **alt) DP_WUR;

/* Reading. Every reader fails with DP_ERR_ASN1_FIELD when the field is absent. */
bool dp_asn1_present(asn1_node_const node, const char *field);
/* OCTET STRING, string types, ANY (whole TLV), OID (dotted text, NUL-terminated). */
int dp_asn1_read(asn1_node_const node, const char *field, uint8_t *buf, size_t cap,
		 size_t *len) DP_WUR;
/* Same, appending to a buffer of any size. */
int dp_asn1_read_buf(asn1_node_const node, const char *field, struct dp_buf *out) DP_WUR;
/* NUL-terminated text; DP_ERR_TOO_LONG when it does not fit (with the NUL) into cap. */
int dp_asn1_read_str(asn1_node_const node, const char *field, char *buf, size_t cap) DP_WUR;
/* INTEGER or ENUMERATED in 0..UINT64_MAX (negative or longer values: DP_ERR_ASN1_VALUE). */
int dp_asn1_read_uint(asn1_node_const node, const char *field, uint64_t *v) DP_WUR;
int dp_asn1_read_bool(asn1_node_const node, const char *field, bool *v) DP_WUR;
/* BIT STRING: bytes into buf, the bit count into *nbits. */
int dp_asn1_read_bits(asn1_node_const node, const char *field, uint8_t *buf, size_t cap,
		      size_t *nbits) DP_WUR;
/* The selected alternative of a CHOICE field. */
int dp_asn1_read_choice(asn1_node_const node, const char *field, char *name,
			size_t cap) DP_WUR;
/* Number of elements of a SEQUENCE OF / SET OF field. */
int dp_asn1_count(asn1_node_const node, const char *field, size_t *n) DP_WUR;

/* Writing. */
int dp_asn1_write(asn1_node node, const char *field, const void *v, size_t len) DP_WUR;
int dp_asn1_write_str(asn1_node node, const char *field, const char *s) DP_WUR;
int dp_asn1_write_uint(asn1_node node, const char *field, uint64_t v) DP_WUR;
int dp_asn1_write_bool(asn1_node node, const char *field, bool v) DP_WUR;
int dp_asn1_write_bits(asn1_node node, const char *field, const uint8_t *bits,
		       size_t nbits) DP_WUR;
/* Selects alternative `alt` of a CHOICE field. */
int dp_asn1_choose(asn1_node node, const char *field, const char *alt) DP_WUR;
/* Appends an element to a SEQUENCE OF field; fill it through "<field>.?LAST". */
int dp_asn1_append(asn1_node node, const char *field) DP_WUR;
/* Removes an OPTIONAL field (libtasn1 refuses to encode unfilled OPTIONALs). */
int dp_asn1_omit(asn1_node node, const char *field) DP_WUR;

#endif
