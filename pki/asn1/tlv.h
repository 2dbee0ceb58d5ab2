/* A small strict BER-TLV (DER) reader and writer.
 * Used where the spec signs the raw bytes as received (slice the TLV out of the received
 * buffer and verify over it; never re-encode first), for the APDU-level ES10 objects, and
 * by the ASN.1 wrapper's tolerance pass. Strict means: definite lengths only, minimal
 * length and tag encodings, lengths inside the buffer, tags of at most 4 bytes. */
#ifndef DP_ASN1_TLV_H
#define DP_ASN1_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"

enum dp_tlv_class {
	DP_TLV_UNIVERSAL = 0,
	DP_TLV_APPLICATION = 1,
	DP_TLV_CONTEXT = 2,
	DP_TLV_PRIVATE = 3,
};

struct dp_tlv {
	uint32_t tag;           /* the tag bytes as written, big-endian: 0x30, 0xBF38, 0x5F37 */
	enum dp_tlv_class cls;  /* class bits of the first tag byte */
	bool constructed;       /* bit 6 of the first tag byte */
	uint32_t number;        /* tag number (38 for BF26) */
	const uint8_t *value;   /* points into the input */
	size_t len;             /* value length */
	const uint8_t *raw;     /* the whole TLV: tag, length and value */
	size_t raw_len;
};

/* Reads one TLV at the start of [p, p+n). Trailing bytes after it are allowed. */
int dp_tlv_read(const uint8_t *p, size_t n, struct dp_tlv *out) DP_WUR;
/* Reads exactly one TLV that must fill [p, p+n) and carry `tag` (0 = any tag). */
int dp_tlv_expect(const uint8_t *p, size_t n, uint32_t tag, struct dp_tlv *out) DP_WUR;
/* Reads the next TLV from a cursor and advances it. */
int dp_tlv_next(struct dp_cursor *c, struct dp_tlv *out) DP_WUR;
/* Finds the first TLV with `tag` among the concatenated TLVs in [p, p+n). */
int dp_tlv_find(const uint8_t *p, size_t n, uint32_t tag, struct dp_tlv *out) DP_WUR;
/* Follows a path of tags from a TLV's value: dp_tlv_path(t, out, 2, 0xA0, 0x30). */
int dp_tlv_path(const struct dp_tlv *from, struct dp_tlv *out, int depth, ...) DP_WUR;
/* Checks that [p, p+n) is a sequence of well-formed TLVs, recursing into constructed
 * ones up to max_depth levels (deeper nesting fails with DP_ERR_DER_DEPTH). */
int dp_tlv_check(const uint8_t *p, size_t n, int max_depth) DP_WUR;

/* Writes tag and length into out (at most 4 + 5 bytes); returns the number written. */
size_t dp_tlv_header(uint32_t tag, size_t len, uint8_t out[9]);
/* Appends a whole TLV. */
int dp_tlv_append(struct dp_buf *b, uint32_t tag, const void *value, size_t len) DP_WUR;
/* Appends only tag and length (the caller appends the value). */
int dp_tlv_append_header(struct dp_buf *b, uint32_t tag, size_t len) DP_WUR;

#endif
