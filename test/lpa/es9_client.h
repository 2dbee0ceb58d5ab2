/* The test LPA's ES9+ client pieces: JSON request bodies, the JSON response reader, and
 * the HTTPS transport (libcurl). SGP.22 6.5 JSON binding; download-path.md 2.1-2.5.
 *
 * Bodies carry base64 (standard alphabet, padded, no line breaks) of complete DER TLVs
 * and the transactionId as upper-case hex. Responses are read strictly: HTTP 200 with a
 * JSON object (204 only for handleNotification), Content-Type application/json,
 * X-Admin-Protocol gsma/rsp/v*, a header.functionExecutionStatus, and each member of the
 * function of the right kind (a hex transactionId of 1..16 octets, or base64 of exactly
 * one DER TLV with the expected tag; whitespace inside base64 is tolerated). */
#ifndef DP_TEST_LPA_ES9_CLIENT_H
#define DP_TEST_LPA_ES9_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"

/* Longest response body accepted (a BPP in base64 plus JSON). */
#define DP_LPA_ES9_RESPONSE_MAX (4u * 1024 * 1024)
/* Most members a response spec may list. */
#define DP_LPA_ES9_MEMBERS_MAX 8
#define DP_LPA_TID_MAX	       16

/* One member of a request body, in the order written. */
enum dp_lpa_es9_field_kind {
	DP_LPA_ES9_FIELD_STRING, /* text as given (JSON-escaped) */
	DP_LPA_ES9_FIELD_HEX,	 /* bytes as upper-case hex (transactionId) */
	DP_LPA_ES9_FIELD_BASE64, /* bytes as base64 */
};

struct dp_lpa_es9_field {
	const char *name;
	enum dp_lpa_es9_field_kind kind;
	const void *value; /* NUL-terminated text for STRING */
	size_t len;	   /* bytes for HEX and BASE64 */
};

/* Appends the JSON object {"name":value,...} (compact, members in order) to out. */
int dp_lpa_es9_body(const struct dp_lpa_es9_field *fields, size_t n, struct dp_buf *out) DP_WUR;

/* What the response reader expects of one member. */
enum dp_lpa_es9_member_kind {
	DP_LPA_ES9_TID,	    /* hex string of 1..16 octets */
	DP_LPA_ES9_B64_TLV, /* base64 of one DER TLV carrying `tag` */
};

struct dp_lpa_es9_member {
	const char *name;
	enum dp_lpa_es9_member_kind kind;
	uint32_t tag; /* DP_LPA_ES9_B64_TLV: the TLV's tag, e.g. 0xBF36 */
	size_t max;   /* decoded bytes at most */
};

/* header.functionExecutionStatus as received ("" for an absent member). */
struct dp_lpa_es9_status {
	char status[32];      /* "Executed-Success", "Executed-WithWarning", "Failed", "Expired" */
	char subject[32];     /* statusCodeData.subjectCode, e.g. "8.10.1" */
	char reason[32];      /* statusCodeData.reasonCode, e.g. "3.9" */
	char subject_id[128]; /* statusCodeData.subjectIdentifier (truncated) */
	char message[256];    /* statusCodeData.message (truncated) */
};

/* The HTTP response as the transport received it (borrowed pointers). */
struct dp_lpa_http_response {
	long status;		    /* HTTP status code */
	const char *content_type;   /* NULL when absent */
	const char *admin_protocol; /* X-Admin-Protocol, NULL when absent */
	const uint8_t *body;
	size_t len;
};

/* A parsed response: the execution status and the members of the spec, in its order. */
struct dp_lpa_es9_response {
	struct dp_lpa_es9_status st;
	bool no_content; /* HTTP 204 (handleNotification) */
	size_t n;
	struct dp_buf v[DP_LPA_ES9_MEMBERS_MAX]; /* decoded bytes of each member */
};

/* Reads resp against spec[0..n). Returns 0 on Executed-Success or -WithWarning with every
 * member present and well-formed; DP_ERR_LPA_REFUSED on Failed or Expired (out->st holds
 * the codes); DP_ERR_LPA_HTTP on an HTTP status other than 200/204; DP_ERR_LPA_RESPONSE
 * (detail names the member or rule) for anything malformed. allow_204: the function may
 * answer 204 No Content (handleNotification). out is always safe to deinit. */
int dp_lpa_es9_response_parse(const struct dp_lpa_http_response *resp,
			      const struct dp_lpa_es9_member *spec, size_t n, bool allow_204,
			      struct dp_lpa_es9_response *out) DP_WUR;
void dp_lpa_es9_response_deinit(struct dp_lpa_es9_response *r);

/* The HTTPS transport: one libcurl easy handle (connections kept alive unless
 * fresh_connection), TLS verified against ca_file (NULL: the system store) unless
 * insecure. Opaque; one per LPA instance, used by one thread at a time. */
struct dp_lpa_http;

struct dp_lpa_http_options {
	const char *ca_file;	 /* CURLOPT_CAINFO; copied */
	bool insecure;		 /* no peer or host verification (lab use) */
	bool plain_http;	 /* http:// instead of https:// (behind a TLS proxy only) */
	bool fresh_connection;	 /* a new connection for every call */
	long connect_timeout_ms; /* 0: 10 s */
	long timeout_ms;	 /* 0: 120 s for the whole call */
};

/* curl_global_init, once per process (thread-safe; dp_lpa_http_new calls it). */
int dp_lpa_http_global_init(void) DP_WUR;
int dp_lpa_http_new(const struct dp_lpa_http_options *o, struct dp_lpa_http **out) DP_WUR;
void dp_lpa_http_free(struct dp_lpa_http *h);
/* POSTs body to <scheme>://<address>/gsma/rsp2/es9plus/<function> with the ES9+ headers
 * (Content-Type: application/json, X-Admin-Protocol: gsma/rsp/v2.5.0, User-Agent:
 * gsma-rsp-lpad). *resp stays valid until the next call on h. DP_ERR_LPA_HTTP for a
 * transport failure (detail: curl's message) or a body over DP_LPA_ES9_RESPONSE_MAX. */
int dp_lpa_http_post(struct dp_lpa_http *h, const char *address, const char *function,
		     const struct dp_buf *body, struct dp_lpa_http_response *resp) DP_WUR;

#endif
