/* The five ES9+ functions (SGP.22 5.6, JSON binding 6.5) and what they share: the reply
 * (success members or one coded refusal, written once at the end), session loading, and
 * the certificate-error mapping. One file per function: es9_<function>.c. */
#ifndef DP_SMDP_ES9_H
#define DP_SMDP_ES9_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/error.h"
#include "smdp/db.h"
#include "smdp/es9_request.h"
#include "smdp/es9_status.h"
#include "smdp/http.h"
#include "smdp/server.h"

/* Returned by the helpers below when they have recorded a refusal in the reply: the
 * handler stops and the refusal is sent (never a negative dp_err). */
#define DP_ES9_REFUSED 1

/* One ES9+ call's answer. */
struct dp_es9_reply {
	const char *function; /* for the log line */
	json_t *members;      /* the function's output members (success) */
	bool refused;
	enum dp_es9_status status;
	char detail[400];
	char tid_hex[2 * DP_DB_TID_MAX + 1]; /* for the log line; "" until known */
	bool no_content;		     /* 204 (handleNotification success) */
	/* members known to need no escaping (base64, hex): written out as they are */
	json_t *plain[8];
	size_t n_plain;
};

void dp_es9_reply_init(struct dp_es9_reply *rp, const char *function);
/* Records a refusal (the first one wins) and returns DP_ES9_REFUSED. */
int dp_es9_refuse(struct dp_es9_reply *rp, enum dp_es9_status st, const char *fmt, ...)
    DP_PRINTF(3, 4);
/* Names the call's transactionId in the log lines. */
void dp_es9_reply_tid(struct dp_es9_reply *rp, const uint8_t *tid, size_t n);
/* Output members: base64 of bytes, upper-case hex, or a string. */
int dp_es9_put_b64(struct dp_es9_reply *rp, const char *name, const uint8_t *p, size_t n) DP_WUR;
int dp_es9_put_tid(struct dp_es9_reply *rp, const uint8_t *tid, size_t n) DP_WUR;
/* Writes the HTTP response: 200 with header + members, 200 with the refusal, or 204.
 * r is the handler's result: 0, DP_ES9_REFUSED, or an internal error, which is logged and
 * answered as a refusal with 1.2/4.2 (never a 5xx for anything a client sent). Frees the
 * reply. Returns 0 unless even the refusal could not be written. */
int dp_es9_reply_finish(struct dp_es9_reply *rp, int r, struct dp_http_response *resp) DP_WUR;

/* Parses the request against spec; a refusal is recorded in rp (DP_ES9_REFUSED). */
int dp_es9_parse(struct dp_es9_reply *rp, const struct dp_http_request *req,
		 const struct dp_es9_member *spec, size_t n, struct dp_es9_request *out) DP_WUR;
/* Loads the session of tid; it must be in one of the stages of the mask
 * (1 << DP_DB_STAGE_x) and, unless allow_expired, not expired. Else refused 8.10.1/3.9. */
int dp_es9_session(struct dp_smdp *smdp, struct dp_es9_reply *rp, const struct dp_buf *tid,
		   unsigned stage_mask, bool allow_expired, struct dp_db_session *s) DP_WUR;
/* Maps a dp_ci_store_verify_euicc failure to its refusal. */
int dp_es9_refuse_chain(struct dp_es9_reply *rp, int err, enum dp_cert_role failed);

/* The handlers (dp_http_handler; ctx is the struct dp_smdp). */
int dp_es9_initiate_authentication(void *ctx, const struct dp_http_request *req,
				   struct dp_http_response *resp);
int dp_es9_authenticate_client(void *ctx, const struct dp_http_request *req,
			       struct dp_http_response *resp);
int dp_es9_get_bound_profile_package(void *ctx, const struct dp_http_request *req,
				     struct dp_http_response *resp);
int dp_es9_handle_notification(void *ctx, const struct dp_http_request *req,
			       struct dp_http_response *resp);
int dp_es9_cancel_session(void *ctx, const struct dp_http_request *req,
			  struct dp_http_response *resp);

#endif
