/* The operators an SM-DP+ serves over ES2+ (SGP.22 5.3; es2-lifecycle-sgp32.md 1.7): each
 * is a client certificate (mutual TLS) mapped to a functionRequesterIdentifier, which is
 * also the `owner` of its profiles in the order book, and a URL for the
 * HandleDownloadProgressInfo callbacks. Loaded once at start-up from a YAML file named by
 * the configuration; read-only afterwards (thread-safe). */
#ifndef DP_SMDP_OPERATORS_H
#define DP_SMDP_OPERATORS_H

#include <stddef.h>
#include <stdint.h>

#include "pki/base/error.h"

#define DP_OPERATOR_ID_MAX 64
#define DP_OPERATOR_URL_MAX 512

/* One operator. Plain data carrier. */
struct dp_operator {
	char id[DP_OPERATOR_ID_MAX + 1];            /* functionRequesterIdentifier = owner */
	char callback_url[DP_OPERATOR_URL_MAX + 1]; /* "" = no callbacks */
	uint8_t cert_sha256[32];                    /* SHA-256 of its client certificate DER */
};

struct dp_operators;

/* Reads the operators file (format in docs/es2plus.md); errors name file:line:column.
 * An empty path gives an empty registry. */
int dp_operators_load(const char *path, struct dp_operators **out) DP_WUR;
void dp_operators_free(struct dp_operators *ops);
size_t dp_operators_count(const struct dp_operators *ops);
/* NULL when unknown. */
const struct dp_operator *dp_operators_by_id(const struct dp_operators *ops, const char *id);
const struct dp_operator *dp_operators_by_cert(const struct dp_operators *ops,
					       const uint8_t *der, size_t len);

#endif
