/* The ES2+ functions an operator calls on the SM-DP+ (SGP.22 5.3.1-5.3.4, JSON binding 6.5;
 * es2-lifecycle-sgp32.md 1) and what they share: the request reader (header, members with
 * their formats checked), the operator behind the client certificate, and the reply
 * (success members or one coded refusal, written once at the end). One file per function:
 * es2_<function>.c. HandleDownloadProgressInfo (5.3.5, SM-DP+ -> operator) is in
 * es2_callbacks.h. */
#ifndef DP_SMDP_ES2_H
#define DP_SMDP_ES2_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pki/base/error.h"
#include "smdp/es2_status.h"
#include "smdp/http.h"
#include "smdp/operators.h"
#include "smdp/server.h"

#define DP_ES2_PREFIX "/gsma/rsp2/es2plus/"

/* How a member is read and checked; each kind has its own refusal codes (es2_status.h). */
enum dp_es2_kind {
	DP_ES2_KIND_EID,	 /* 32 digits, the whole number mod 97 == 1 (8.1.1) */
	DP_ES2_KIND_ICCID,	 /* 19/20 digits with a right Luhn digit, optional trailing F
				  * (dropped) (8.2.1) */
	DP_ES2_KIND_MATCHING_ID, /* "" (none: default SM-DP+) or 1..64 of [0-9A-Z-] (8.2.6) */
	DP_ES2_KIND_STRING,	 /* 1..max printable characters, no control characters */
	DP_ES2_KIND_BOOL,	 /* JSON true or false */
	DP_ES2_KIND_CC,		 /* confirmation code: 1..max printable ASCII (8.2.7) */
	DP_ES2_KIND_ADDRESS,	 /* an FQDN[:port] (smdsAddress, 8.9) */
	DP_ES2_KIND_FINAL_STATE, /* "Available" or "Unavailable" */
};

struct dp_es2_member {
	const char *name;
	enum dp_es2_kind kind;
	bool required;
	size_t max; /* characters (STRING and CC; other kinds have their own) */
};

#define DP_ES2_MAX_MEMBERS 8
#define DP_ES2_TEXT_MAX	   255
#define DP_ES2_CALL_ID_MAX 128

struct dp_es2_value {
	bool present;
	bool flag;			/* BOOL */
	char text[DP_ES2_TEXT_MAX + 1]; /* every other kind; ICCID without its F */
};

/* A parsed request. Holds the confirmation code: wipe it with dp_es2_request_wipe. */
struct dp_es2_request {
	size_t n;
	struct dp_es2_value v[DP_ES2_MAX_MEMBERS];
	char requester[DP_OPERATOR_ID_MAX + 1]; /* header.functionRequesterIdentifier */
	char call_id[DP_ES2_CALL_ID_MAX + 1];	/* header.functionCallIdentifier */
};

/* Parses req against spec[0..n): Content-Type application/json, X-Admin-Protocol absent or
 * gsma/rsp/v2.* / v3.*, a JSON object with a header of both identifiers (1..64 and
 * 1..128 characters), then each member. Unknown members are ignored. On a refusal returns
 * DP_ERR_INVAL with *status set and the detail (dp_err_detail) naming the member. */
int dp_es2_request_parse(const struct dp_http_request *req, const struct dp_es2_member *spec,
			 size_t n, struct dp_es2_request *out, enum dp_es2_status *status) DP_WUR;
void dp_es2_request_wipe(struct dp_es2_request *r);

/* W3C date-time as ES2+ uses it (SGP.22 "YYYY-MM-DDThh:mm:ssTZD", TZD = Z or +hh:mm /
 * -hh:mm). Parse gives seconds since the epoch; DP_ERR_INVAL when malformed or out of
 * range. Format always writes UTC with Z (20 characters + NUL). */
int dp_es2_timestamp_parse(const char *s, time_t *out) DP_WUR;
int dp_es2_timestamp_format(time_t t, char out[21]) DP_WUR;

/* Returned by the helpers below when they have recorded a refusal in the reply: the
 * handler stops and the refusal is sent (never a negative dp_err). */
#define DP_ES2_REFUSED 1

/* One ES2+ call's answer. */
struct dp_es2_reply {
	const char *function; /* for the log line */
	json_t *members;      /* the function's output members (success) */
	bool refused;
	enum dp_es2_status status;
	char detail[400];
	char operator_id[DP_OPERATOR_ID_MAX + 1]; /* for the log line; "" until known */
	char call_id[DP_ES2_CALL_ID_MAX + 1];
};

void dp_es2_reply_init(struct dp_es2_reply *rp, const char *function);
/* Records a refusal (the first one wins) and returns DP_ES2_REFUSED. */
int dp_es2_refuse(struct dp_es2_reply *rp, enum dp_es2_status st, const char *fmt, ...)
    DP_PRINTF(3, 4);
/* A string output member. */
int dp_es2_put_string(struct dp_es2_reply *rp, const char *name, const char *text) DP_WUR;
/* Writes the HTTP response: 200 with header + members or with the refusal. r is the
 * handler's result: 0, DP_ES2_REFUSED, or an internal error, which is logged and answered
 * as 1.2/4.2. Frees the reply. Returns 0 unless even the refusal could not be written. */
int dp_es2_reply_finish(struct dp_es2_reply *rp, int r, struct dp_http_response *resp) DP_WUR;

/* Parses the request and finds its operator: the one of the client certificate, whose id
 * must be the functionRequesterIdentifier (else 1.1/1.2). Refusals go into rp. */
int dp_es2_begin(struct dp_smdp *smdp, struct dp_es2_reply *rp, const struct dp_http_request *req,
		 const struct dp_es2_member *spec, size_t n, struct dp_es2_request *out,
		 const struct dp_operator **op) DP_WUR;

/* The refusal for an order book outcome (DP_DB_ES2_*); DP_OK for DP_DB_ES2_OK. */
int dp_es2_refuse_outcome(struct dp_es2_reply *rp, enum dp_db_es2_outcome o, const char *iccid);

/* The HTTP layer's check before any handler (dp_http_authorize; ctx is the struct
 * dp_smdp): DP_OK when the verified client certificate is a known operator's. */
int dp_es2_authorize(void *ctx, const uint8_t *der, size_t len);

/* The handlers (dp_http_handler; ctx is the struct dp_smdp). */
int dp_es2_download_order(void *ctx, const struct dp_http_request *req,
			  struct dp_http_response *resp);
int dp_es2_confirm_order(void *ctx, const struct dp_http_request *req,
			 struct dp_http_response *resp);
int dp_es2_cancel_order(void *ctx, const struct dp_http_request *req,
			struct dp_http_response *resp);
int dp_es2_release_profile(void *ctx, const struct dp_http_request *req,
			   struct dp_http_response *resp);

#endif
