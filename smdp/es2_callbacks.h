/* ES2+.HandleDownloadProgressInfo, SM-DP+ -> operator (SGP.22 5.3.5, JSON binding 6.5;
 * es2-lifecycle-sgp32.md 1.3-1.5, 2.2): at four notification points of a download the
 * SM-DP+ tells the operator that owns the profile how it went.
 *
 * How a callback travels: an ES9+ handler names what the coming state change reports
 * (dp_es2_callbacks_expect) and calls the order book; the order book's change hook, which
 * this module installs, turns the report and the profile into a JSON body and queues it in
 * SQLite in the same transaction as the state change (db.h "callbacks"). A sender thread
 * POSTs queued callbacks with libcurl over verified TLS, one profile's strictly in order,
 * and retries with exponential backoff until the operator answers 2xx; the queue survives
 * restarts. ES9+ never waits for an operator: a slow or dead receiver only delays its own
 * callbacks. Delivery is at least once: a crash between the 2xx and its record sends the
 * callback again with the same functionCallIdentifier. */
#ifndef DP_SMDP_ES2_CALLBACKS_H
#define DP_SMDP_ES2_CALLBACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"
#include "smdp/db.h"
#include "smdp/es9_status.h"

#define DP_ES2_CALLBACK_PATH "/gsma/rsp2/es2plus/handleDownloadProgressInfo"

/* notificationPointId (SGP.22 v2; es2-lifecycle-sgp32.md 1.5) */
enum dp_es2_point {
	DP_ES2_POINT_ELIGIBILITY = 1,  /* eligibility / retry-limit check failed: order ended */
	DP_ES2_POINT_CONFIRMATION = 2, /* confirmation code retries exhausted */
	DP_ES2_POINT_BPP_DOWNLOAD = 3, /* getBoundProfilePackage delivered the BPP */
	DP_ES2_POINT_INSTALLATION = 4, /* the ProfileInstallationResult: installed or failed */
};

/* Failures a callback reports that are not ES9+ refusals (those come from es9_status.h):
 * X(id, subjectCode, reasonCode, message). The cancelSession rows follow the reference's
 * mapping of CancelSessionReason (es2-lifecycle-sgp32.md 1.5); 8/4.2 covers the reasons it
 * leaves open. An install errorResult as 8.2.10/4.2 is our choice (UNVERIFIED). */
#define DP_ES2_PROGRESS_LIST(X)                                                                    \
	X(DP_ES2_PROGRESS_INSTALL_FAILED, "8.2.10", "4.2",                                         \
	  "the eUICC could not install the profile")                                               \
	X(DP_ES2_PROGRESS_END_USER_REJECTION, "8.8.5", "3.8",                                      \
	  "the end user rejected the download")                                                    \
	X(DP_ES2_PROGRESS_PPR_NOT_ALLOWED, "8.2.8", "1.2",                                         \
	  "the profile policy rules are not allowed")                                              \
	X(DP_ES2_PROGRESS_METADATA_MISMATCH, "8.2.9", "3.11", "the profile metadata do not match") \
	X(DP_ES2_PROGRESS_LOAD_BPP_ERROR, "8.2.10", "4.2",                                         \
	  "the bound profile package did not load")                                                \
	X(DP_ES2_PROGRESS_CANCELLED, "8", "4.2", "the download was cancelled")

enum dp_es2_progress {
#define DP_X_PROGRESS(id, s, r, m) id,
	DP_ES2_PROGRESS_LIST(DP_X_PROGRESS)
#undef DP_X_PROGRESS
	    DP_ES2_PROGRESS_COUNT
};

/* What one state change reports. Plain data carrier; pointers are borrowed and must stay
 * valid until the state change is done. */
struct dp_es2_report {
	enum dp_es2_point point;
	bool failed;		      /* notificationPointStatus Failed (else Executed-Success) */
	const char *subject, *reason; /* statusCodeData when failed */
	const char *message;	      /* statusCodeData.message (may be NULL) */
	const uint8_t *result_data;   /* resultData (the PIR as received), or NULL */
	size_t result_len;
};

/* A report of a failure with the codes of an ES9+ refusal / of the table above. */
int dp_es2_report_es9(struct dp_es2_report *rep, enum dp_es2_point point,
		      enum dp_es9_status st) DP_WUR;
int dp_es2_report_failed(struct dp_es2_report *rep, enum dp_es2_point point,
			 enum dp_es2_progress st) DP_WUR;
/* The row for a final CancelSessionReason (endUserRejection 0, pprNotAllowed 3, ...). */
enum dp_es2_progress dp_es2_progress_for_cancel(uint64_t reason);

/* Names what the calling thread's next profile state change reports; NULL: nothing. An
 * ES9+ handler calls it right before the dp_db_* call that changes the state and with NULL
 * right after (the report is used by one state change at most). Thread-local: each HTTP
 * worker has its own. Without a change hook on the database it does nothing. */
void dp_es2_callbacks_expect(const struct dp_es2_report *rep);

/* The HandleDownloadProgressInfo request, for the body builder. Plain data carrier. */
struct dp_es2_progress_info {
	const char *requester; /* header.functionRequesterIdentifier: the SM-DP+ */
	const char *call_id;   /* header.functionCallIdentifier: unique per callback */
	const char *eid;       /* "" or NULL: left out (optional member) */
	const char *iccid;
	const char *profile_type;
	time_t at; /* timestamp, sent as YYYY-MM-DDThh:mm:ssZ */
	const struct dp_es2_report *report;
};

/* Appends the JSON body: header, eid, iccid, profileType, timestamp, notificationPointId,
 * notificationPointStatus and resultData (base64) when the report has one. */
int dp_es2_progress_body(const struct dp_es2_progress_info *p, struct dp_buf *out) DP_WUR;

/* The operator URL of a profile owner; NULL or "" when it has none. */
typedef const char *(*dp_es2_url_fn)(void *ctx, const char *owner);

struct dp_es2_callbacks_options {
	const char *requester; /* our functionRequesterIdentifier (the SM-DP+ OID) */
	dp_es2_url_fn url_of;  /* the operators registry; NULL: none */
	void *url_ctx;
	const char *default_url; /* for owners without a URL; "" or NULL: such profiles get
				  * no callbacks */
	const char *ca_file;	 /* PEM CAs that verify the operators' servers; "": system */
	const char *client_cert; /* our TLS client certificate and key (PEM); "": none */
	const char *client_key;
	unsigned timeout_s;   /* one HTTP exchange at most */
	unsigned retry_min_s; /* first retry after this; doubles per failure ... */
	unsigned retry_max_s; /* ... up to this */
	unsigned keep_s;      /* delivered callbacks are kept this long */
};

struct dp_es2_callbacks;

/* A queue on db: installs the change hook (dp_db_set_change_hook); the options' strings are
 * copied. Call before db is shared between threads; the sender starts separately. */
int dp_es2_callbacks_new(struct dp_db *db, const struct dp_es2_callbacks_options *o,
			 struct dp_es2_callbacks **out) DP_WUR;
/* Starts the sender thread. */
int dp_es2_callbacks_start(struct dp_es2_callbacks *cb) DP_WUR;
/* Stops the sender (a send in flight is abandoned and stays queued), removes the hook. */
void dp_es2_callbacks_free(struct dp_es2_callbacks *cb);
/* Sends, one after another, every callback due at `now` (what the sender does when it
 * wakes). *sent and *failed (may be NULL) count the outcomes. */
int dp_es2_callbacks_run(struct dp_es2_callbacks *cb, time_t now, size_t *sent,
			 size_t *failed) DP_WUR;
/* Seconds before the next try after `attempts` failed sends: retry_min_s * 2^(attempts-1),
 * at most retry_max_s. */
unsigned dp_es2_callbacks_backoff(const struct dp_es2_callbacks_options *o, unsigned attempts);

#endif
