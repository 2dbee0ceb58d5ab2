/* Secret hygiene: wiping, wipe-then-free, constant-time comparison. */
#ifndef DP_BASE_SECURE_H
#define DP_BASE_SECURE_H

#include <stdbool.h>
#include <stddef.h>

/* Overwrites n bytes in a way the compiler cannot drop (OPENSSL_cleanse). */
void dp_wipe(void *p, size_t n);
/* Wipes n bytes, then frees p; p may be NULL. */
void dp_free_secret(void *p, size_t n);
/* Wipes and frees a NUL-terminated secret string; s may be NULL. */
void dp_free_secret_str(char *s);
/* true when the n bytes are equal; time depends only on n (CRYPTO_memcmp). */
bool dp_ct_equal(const void *a, const void *b, size_t n);

#endif
