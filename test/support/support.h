/* Helpers shared by the cmocka suites: test data from ../shared, files, hex literals. */
#ifndef DP_TEST_SUPPORT_H
#define DP_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "pki/base/buf.h"

/* Path of a file under ../shared (env SMDP_SHARED, set by meson). Static storage. */
const char *dp_test_shared(const char *rel);
/* Path of a file under test/data (env SMDP_TEST_DATA). Static storage. */
const char *dp_test_data(const char *rel);
/* Reads a whole file into a fresh buffer (fails the test on error). */
void dp_test_read_file(const char *path, struct dp_buf *out);
/* Decodes hex that may contain spaces and newlines (for readable vectors) into a buffer it
 * initialises itself: pass an unused struct dp_buf, deinit it afterwards. */
void dp_test_hex(const char *hex, struct dp_buf *out);
/* Asserts that two byte strings are equal, printing both in hex when they are not. */
#define assert_bytes_equal(a, alen, b, blen) dp_test_assert_bytes(a, alen, b, blen, __FILE__, __LINE__)
void dp_test_assert_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
			  const char *file, int line);

#endif
