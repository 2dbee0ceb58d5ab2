/* Test helpers (see support.h). */
#include "test/support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/base/codec.h"

static const char *join(const char *env, const char *fallback, const char *rel)
{
	static _Thread_local char path[4096];
	const char *root = getenv(env);
	snprintf(path, sizeof(path), "%s/%s", root ? root : fallback, rel);
	return path;
}

const char *dp_test_shared(const char *rel)
{
	return join("SMDP_SHARED", "../shared", rel);
}

const char *dp_test_data(const char *rel)
{
	return join("SMDP_TEST_DATA", "test/data", rel);
}

void dp_test_read_file(const char *path, struct dp_buf *out)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	dp_buf_init(out, (size_t)64 << 20);
	uint8_t chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(dp_buf_append(out, chunk, n), 0);
	fclose(f);
}

void dp_test_hex(const char *hex, struct dp_buf *out)
{
	struct dp_buf clean;
	dp_buf_init(&clean, strlen(hex) + 1);
	for (const char *p = hex; *p; p++) {
		if (*p != ' ' && *p != '\n' && *p != '\t')
			assert_int_equal(dp_buf_append_byte(&clean, (uint8_t)*p), 0);
	}
	dp_buf_init(out, clean.len / 2 + 1);
	int r = dp_hex_decode_buf((const char *)clean.data, clean.len, out);
	dp_buf_deinit(&clean);
	if (r)
		fail_msg("bad hex literal in test: %d", r);
}

void dp_test_assert_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
			  const char *file, int line)
{
	if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0))
		return;
	size_t i = 0;
	while (i < alen && i < blen && a[i] == b[i])
		i++;
	print_error("%s:%d: byte strings differ (lengths %zu and %zu, first difference at %zu)\n",
		    file, line, alen, blen, i);
	size_t from = i > 8 ? i - 8 : 0;
	print_error("  got:      ");
	for (size_t k = from; k < alen && k < from + 32; k++)
		print_error("%02X", a[k]);
	print_error("\n  expected: ");
	for (size_t k = from; k < blen && k < from + 32; k++)
		print_error("%02X", b[k]);
	print_error("\n");
	_fail(file, line);
}
