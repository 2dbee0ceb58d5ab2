/* A test operator server for ES2+.HandleDownloadProgressInfo (SGP.22 5.3.5): HTTPS on
 * 127.0.0.1 through the project's own front end (smdp/http.h), recording every callback it
 * receives. It can answer with an error for a while, and be stopped and started again on
 * the same port (the receiver "down, then back up"). Thread-safe. */
#ifndef DP_TEST_CALLBACK_RECEIVER_H
#define DP_TEST_CALLBACK_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/error.h"

#define DP_TEST_RECEIVER_MAX 256

/* One received request. */
struct dp_test_callback {
	char path[128];
	char content_type[64];
	char admin_protocol[64];
	char *body; /* NUL-terminated JSON text */
};

struct dp_test_receiver;

/* Listens on 127.0.0.1:port (0: any free port) with the PEM certificate and key files. */
int dp_test_receiver_start(const char *cert_file, const char *key_file, uint16_t port,
			   struct dp_test_receiver **out) DP_WUR;
uint16_t dp_test_receiver_port(const struct dp_test_receiver *r);
/* "https://localhost:PORT/gsma/rsp2/es2plus/handleDownloadProgressInfo" */
void dp_test_receiver_url(const struct dp_test_receiver *r, char *out, size_t cap);
/* Stops listening (connections are refused); the records stay. */
void dp_test_receiver_down(struct dp_test_receiver *r);
/* Listens again on the same port. */
int dp_test_receiver_up(struct dp_test_receiver *r) DP_WUR;
/* The next `times` requests are answered with HTTP `status` (and not recorded as
 * acknowledged); later ones get 204. */
void dp_test_receiver_fail(struct dp_test_receiver *r, unsigned status, unsigned times);
/* Acknowledged (204) callbacks so far. */
size_t dp_test_receiver_count(struct dp_test_receiver *r);
/* Requests answered with an error so far. */
size_t dp_test_receiver_refused(struct dp_test_receiver *r);
/* Waits until at least n callbacks were acknowledged; false after timeout_ms. */
bool dp_test_receiver_wait(struct dp_test_receiver *r, size_t n, unsigned timeout_ms);
/* The i-th acknowledged callback (0-based); valid until the receiver is freed. */
const struct dp_test_callback *dp_test_receiver_get(struct dp_test_receiver *r, size_t i);
void dp_test_receiver_free(struct dp_test_receiver *r);

#endif
