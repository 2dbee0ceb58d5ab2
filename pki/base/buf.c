/* Bounded buffers (see buf.h). */
#include "pki/base/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/base/secure.h"

#define MIN_ALLOC 64

void dp_buf_init(struct dp_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void dp_buf_init_secret(struct dp_buf *b, size_t max)
{
	dp_buf_init(b, max);
	b->secret = true;
}

void dp_buf_deinit(struct dp_buf *b)
{
	if (b->data != NULL) {
		if (b->secret)
			dp_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}

void dp_buf_reset(struct dp_buf *b)
{
	if (b->secret && b->data != NULL)
		dp_wipe(b->data, b->len);
	b->len = 0;
}

int dp_buf_reserve(struct dp_buf *b, size_t extra)
{
	/* +1 keeps room for the NUL of dp_buf_cstr() */
	if (extra > b->max - b->len)
		return dp_err_set(DP_ERR_TOO_LONG, "buffer limit %zu bytes reached", b->max);
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return DP_OK;
	size_t cap = b->cap < MIN_ALLOC ? MIN_ALLOC : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	uint8_t *p = malloc(cap);
	if (p == NULL)
		return dp_err_set(DP_ERR_NOMEM, "buffer of %zu bytes", cap);
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		if (b->secret)
			dp_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return DP_OK;
}

int dp_buf_append(struct dp_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return DP_OK;
	int r = dp_buf_reserve(b, n);
	if (r)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return DP_OK;
}

int dp_buf_append_byte(struct dp_buf *b, uint8_t c)
{
	return dp_buf_append(b, &c, 1);
}

int dp_buf_append_str(struct dp_buf *b, const char *s)
{
	return dp_buf_append(b, s, strlen(s));
}

int dp_buf_printf(struct dp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return dp_err_set(DP_ERR_INVAL, "format error");
	int r = dp_buf_reserve(b, (size_t)n);
	if (r)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return DP_OK;
}

int dp_buf_cstr(struct dp_buf *b, const char **out)
{
	int r = dp_buf_reserve(b, 0);
	if (r)
		return r;
	b->data[b->len] = '\0';
	*out = (const char *)b->data;
	return DP_OK;
}

int dp_buf_read_file(struct dp_buf *b, const char *path)
{
	uint8_t chunk[16384];
	size_t n;
	int r = DP_OK;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return dp_err_set(DP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	while (r == DP_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		r = dp_buf_append(b, chunk, n);
	if (r == DP_ERR_TOO_LONG)
		dp_err_set(r, "%s is larger than %zu bytes", path, b->max);
	else if (r == DP_OK && ferror(f))
		r = dp_err_set(DP_ERR_IO, "cannot read %s", path);
	fclose(f);
	if (b->secret)
		dp_wipe(chunk, sizeof(chunk));
	return r;
}

uint8_t *dp_buf_take(struct dp_buf *b, size_t *len)
{
	uint8_t *p = b->data;
	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

int dp_cursor_get_u8(struct dp_cursor *c, uint8_t *out)
{
	if (c->len < 1)
		return dp_err_set(DP_ERR_DER_TRUNCATED, "need 1 byte, have 0");
	*out = c->p[0];
	c->p++;
	c->len--;
	return DP_OK;
}

int dp_cursor_get_bytes(struct dp_cursor *c, size_t n, const uint8_t **out)
{
	if (c->len < n)
		return dp_err_set(DP_ERR_DER_TRUNCATED, "need %zu bytes, have %zu", n, c->len);
	*out = c->p;
	c->p += n;
	c->len -= n;
	return DP_OK;
}

int dp_cursor_skip(struct dp_cursor *c, size_t n)
{
	const uint8_t *ignored;
	return dp_cursor_get_bytes(c, n, &ignored);
}
