/* Logging with groups and levels, to stderr, as text or JSON lines.
 * Secrets (keys, Ki/OPc, PINs) are never passed here; byte strings go through the one
 * capped helper dp_log_hex(). */
#ifndef DP_BASE_LOG_H
#define DP_BASE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/error.h"

enum dp_log_level { DP_LOG_ERROR, DP_LOG_WARN, DP_LOG_INFO, DP_LOG_DEBUG };

/* X(enum, name used in the spec string and in the output) */
#define DP_LOG_GROUP_LIST(X) \
	X(DP_LOG_MAIN, "main") \
	X(DP_LOG_HTTP, "http") \
	X(DP_LOG_ES9, "es9") \
	X(DP_LOG_ES2, "es2") \
	X(DP_LOG_DB, "db") \
	X(DP_LOG_PKI, "pki") \
	X(DP_LOG_ASN1, "asn1") \
	X(DP_LOG_PROFILE, "profile") \
	X(DP_LOG_EUICC, "euicc") \
	X(DP_LOG_LPA, "lpa")

enum dp_log_group {
#define DP_X_GROUP(id, name) id,
	DP_LOG_GROUP_LIST(DP_X_GROUP)
#undef DP_X_GROUP
	DP_LOG_GROUP_COUNT
};

/* Set levels from a spec: "info", "debug", "es9=debug,db=warn", "warn,asn1=debug".
 * A bare level applies to every group. Returns DP_ERR_CONFIG on an unknown name. */
int dp_log_configure(const char *spec) DP_WUR;
void dp_log_set_level(enum dp_log_group g, enum dp_log_level l);
void dp_log_set_json(bool json);
/* Where lines go (default 2, stderr); for tests and daemons that log to a file. */
void dp_log_set_fd(int fd);
bool dp_log_enabled(enum dp_log_group g, enum dp_log_level l);

void dp_log(enum dp_log_group g, enum dp_log_level l, const char *fmt, ...) DP_PRINTF(3, 4);
/* Batches, for a server that logs several lines per request. Between dp_log_batch_begin()
 * and the matching dp_log_batch_end() (they nest), the calling thread's info and debug lines
 * wait in a per-thread buffer and go out together, in order, with one write(2) at the end,
 * when the buffer fills, or with the next warn or error line, which is never held. Lines of
 * other threads may come out between two batches, so timestamps may step back a little
 * between threads, never within one. */
void dp_log_batch_begin(void);
void dp_log_batch_end(void);
/* Detaches the lines waiting in this thread's batch, unwritten (*len bytes, malloc'd; NULL
 * when there are none or no memory, in which case they are written now), for a request
 * that ends later, maybe on another thread. dp_log_batch_put() takes them back: into the
 * current batch, or written at once outside one. It frees them; NULL is a no-op. */
char *dp_log_batch_take(size_t *len);
void dp_log_batch_put(char *lines, size_t len);
/* Logs "label: <hex>" with at most 64 bytes shown and the total length. */
void dp_log_hex(enum dp_log_group g, enum dp_log_level l, const char *label,
		const uint8_t *data, size_t len);

#define dp_log_error(g, ...) dp_log((g), DP_LOG_ERROR, __VA_ARGS__)
#define dp_log_warn(g, ...) dp_log((g), DP_LOG_WARN, __VA_ARGS__)
#define dp_log_info(g, ...) dp_log((g), DP_LOG_INFO, __VA_ARGS__)
#define dp_log_debug(g, ...) \
	do { \
		if (dp_log_enabled((g), DP_LOG_DEBUG)) \
			dp_log((g), DP_LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
