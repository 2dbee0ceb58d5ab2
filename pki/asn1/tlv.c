/* Strict BER-TLV reader and writer (rules in tlv.h; X.690 8.1.2-8.1.3, 10.1). */
#include "pki/asn1/tlv.h"

#include <stdarg.h>

/* Lengths above this are refused outright: nothing on the RSP path comes near it, and it
 * keeps size arithmetic far from overflow. */
#define TLV_MAX_LEN ((size_t)1 << 30)

static int read_tag(struct dp_cursor *c, struct dp_tlv *t)
{
	uint8_t b;
	if (dp_cursor_get_u8(c, &b))
		return dp_err_set(DP_ERR_DER_TRUNCATED, "no tag");
	t->tag = b;
	t->cls = (enum dp_tlv_class)(b >> 6);
	t->constructed = (b & 0x20) != 0;
	if ((b & 0x1F) != 0x1F) {
		t->number = b & 0x1F;
		return DP_OK;
	}
	uint32_t num = 0;
	for (int i = 0;; i++) {
		if (i == 3)
			return dp_err_set(DP_ERR_DER_TAG, "tag longer than 4 bytes");
		if (dp_cursor_get_u8(c, &b))
			return dp_err_set(DP_ERR_DER_TRUNCATED, "tag cut short");
		if (i == 0 && b == 0x80)
			return dp_err_set(DP_ERR_DER_NONMINIMAL, "tag number with a leading zero");
		t->tag = t->tag << 8 | b;
		num = num << 7 | (b & 0x7F);
		if (!(b & 0x80))
			break;
	}
	if (num < 31)
		return dp_err_set(DP_ERR_DER_NONMINIMAL, "tag number %u in the long form", num);
	t->number = num;
	return DP_OK;
}

static int read_length(struct dp_cursor *c, size_t *len)
{
	uint8_t b;
	if (dp_cursor_get_u8(c, &b))
		return dp_err_set(DP_ERR_DER_TRUNCATED, "no length");
	if (b < 0x80) {
		*len = b;
		return DP_OK;
	}
	if (b == 0x80)
		return dp_err_set(DP_ERR_DER_INDEFINITE, "indefinite length");
	unsigned n = b & 0x7F;
	if (n > 4)
		return dp_err_set(DP_ERR_DER_LENGTH, "length of %u bytes", n);
	size_t v = 0;
	for (unsigned i = 0; i < n; i++) {
		if (dp_cursor_get_u8(c, &b))
			return dp_err_set(DP_ERR_DER_TRUNCATED, "length cut short");
		if (i == 0 && b == 0)
			return dp_err_set(DP_ERR_DER_NONMINIMAL, "length with a leading zero");
		v = v << 8 | b;
	}
	if (v < 0x80)
		return dp_err_set(DP_ERR_DER_NONMINIMAL, "length %zu in the long form", v);
	if (v > TLV_MAX_LEN)
		return dp_err_set(DP_ERR_DER_LENGTH, "length %zu over the limit", v);
	*len = v;
	return DP_OK;
}

int dp_tlv_read(const uint8_t *p, size_t n, struct dp_tlv *out)
{
	struct dp_cursor c = dp_cursor_make(p, n);
	struct dp_tlv t;
	int r = read_tag(&c, &t);
	if (r)
		return r;
	r = read_length(&c, &t.len);
	if (r)
		return r;
	if (t.len > c.len)
		return dp_err_set(DP_ERR_DER_LENGTH, "tag %X claims %zu bytes, %zu remain", t.tag,
				  t.len, c.len);
	t.value = c.p;
	t.raw = p;
	t.raw_len = (size_t)(c.p - p) + t.len;
	*out = t;
	return DP_OK;
}

int dp_tlv_expect(const uint8_t *p, size_t n, uint32_t tag, struct dp_tlv *out)
{
	int r = dp_tlv_read(p, n, out);
	if (r)
		return r;
	if (tag != 0 && out->tag != tag)
		return dp_err_set(DP_ERR_DER_UNEXPECTED_TAG, "tag %X where %X was expected",
				  out->tag, tag);
	if (out->raw_len != n)
		return dp_err_set(DP_ERR_DER_TRAILING, "%zu bytes after tag %X",
				  n - out->raw_len, out->tag);
	return DP_OK;
}

int dp_tlv_next(struct dp_cursor *c, struct dp_tlv *out)
{
	int r = dp_tlv_read(c->p, c->len, out);
	if (r)
		return r;
	c->p += out->raw_len;
	c->len -= out->raw_len;
	return DP_OK;
}

int dp_tlv_find(const uint8_t *p, size_t n, uint32_t tag, struct dp_tlv *out)
{
	struct dp_cursor c = dp_cursor_make(p, n);
	while (!dp_cursor_done(&c)) {
		int r = dp_tlv_next(&c, out);
		if (r)
			return r;
		if (out->tag == tag)
			return DP_OK;
	}
	return dp_err_set(DP_ERR_NOT_FOUND, "no tag %X", tag);
}

int dp_tlv_path(const struct dp_tlv *from, struct dp_tlv *out, int depth, ...)
{
	va_list ap;
	struct dp_tlv cur = *from;
	int r = DP_OK;
	va_start(ap, depth);
	for (int i = 0; i < depth; i++) {
		uint32_t tag = va_arg(ap, uint32_t);
		r = dp_tlv_find(cur.value, cur.len, tag, &cur);
		if (r)
			break;
	}
	va_end(ap);
	if (r == DP_OK)
		*out = cur;
	return r;
}

static int check_level(const uint8_t *p, size_t n, int depth_left)
{
	struct dp_cursor c = dp_cursor_make(p, n);
	while (!dp_cursor_done(&c)) {
		struct dp_tlv t;
		int r = dp_tlv_next(&c, &t);
		if (r)
			return r;
		if (t.constructed) {
			if (depth_left == 0)
				return dp_err_set(DP_ERR_DER_DEPTH, "nesting deeper than the limit");
			r = check_level(t.value, t.len, depth_left - 1);
			if (r)
				return r;
		}
	}
	return DP_OK;
}

int dp_tlv_check(const uint8_t *p, size_t n, int max_depth)
{
	return check_level(p, n, max_depth);
}

size_t dp_tlv_header(uint32_t tag, size_t len, uint8_t out[9])
{
	size_t i = 0;
	for (int shift = 24; shift > 0; shift -= 8) {
		if (tag >> shift)
			out[i++] = (uint8_t)(tag >> shift);
	}
	out[i++] = (uint8_t)tag;
	if (len < 0x80) {
		out[i++] = (uint8_t)len;
	} else {
		int nb = 0;
		for (size_t v = len; v; v >>= 8)
			nb++;
		out[i++] = (uint8_t)(0x80 | nb);
		for (int k = nb - 1; k >= 0; k--)
			out[i++] = (uint8_t)(len >> (8 * k));
	}
	return i;
}

int dp_tlv_append_header(struct dp_buf *b, uint32_t tag, size_t len)
{
	uint8_t h[9];
	size_t n = dp_tlv_header(tag, len, h);
	return dp_buf_append(b, h, n);
}

int dp_tlv_append(struct dp_buf *b, uint32_t tag, const void *value, size_t len)
{
	int r = dp_buf_reserve(b, len + 9);
	if (r)
		return r;
	r = dp_tlv_append_header(b, tag, len);
	if (r)
		return r;
	return dp_buf_append(b, value, len);
}
