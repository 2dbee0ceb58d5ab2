/* Bounded growable byte buffers and a bounded read cursor.
 * Every buffer has a maximum fixed at creation: an append past it fails with
 * DP_ERR_TOO_LONG and leaves the buffer as it was. A buffer marked secret is wiped
 * whenever its storage is released or reused. */
#ifndef DP_BASE_BUF_H
#define DP_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/error.h"

struct dp_buf {
	uint8_t *data; /* NULL until the first append */
	size_t len;    /* bytes in use */
	size_t cap;    /* bytes allocated */
	size_t max;    /* hard limit on len */
	bool secret;   /* wipe on free/reset/grow */
};

void dp_buf_init(struct dp_buf *b, size_t max);
void dp_buf_init_secret(struct dp_buf *b, size_t max);
void dp_buf_deinit(struct dp_buf *b);
/* len := 0, keeping the storage (wiped if secret). */
void dp_buf_reset(struct dp_buf *b);
int dp_buf_reserve(struct dp_buf *b, size_t extra) DP_WUR;
int dp_buf_append(struct dp_buf *b, const void *p, size_t n) DP_WUR;
int dp_buf_append_byte(struct dp_buf *b, uint8_t c) DP_WUR;
int dp_buf_append_str(struct dp_buf *b, const char *s) DP_WUR;
int dp_buf_printf(struct dp_buf *b, const char *fmt, ...) DP_PRINTF(2, 3) DP_WUR;
/* Appends a NUL after the data without counting it in len; returns the data as a string. */
int dp_buf_cstr(struct dp_buf *b, const char **out) DP_WUR;
/* Appends the whole file at path; DP_ERR_TOO_LONG when it exceeds the buffer's maximum,
 * DP_ERR_IO when it cannot be opened or read (the detail names the file). */
int dp_buf_read_file(struct dp_buf *b, const char *path) DP_WUR;
/* Hands the storage to the caller (free() it); the buffer is empty afterwards. */
uint8_t *dp_buf_take(struct dp_buf *b, size_t *len);

/* A read-only window with checked getters: every getter fails with DP_ERR_DER_TRUNCATED
 * (or the given error) instead of reading past the end. */
struct dp_cursor {
	const uint8_t *p;
	size_t len;
};

static inline struct dp_cursor dp_cursor_make(const uint8_t *p, size_t len)
{
	struct dp_cursor c = { p, len };
	return c;
}

static inline bool dp_cursor_done(const struct dp_cursor *c)
{
	return c->len == 0;
}

int dp_cursor_get_u8(struct dp_cursor *c, uint8_t *out) DP_WUR;
int dp_cursor_get_bytes(struct dp_cursor *c, size_t n, const uint8_t **out) DP_WUR;
int dp_cursor_skip(struct dp_cursor *c, size_t n) DP_WUR;

#endif
