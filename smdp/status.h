/* The JSON binding's failed functionExecutionStatus (SGP.22 6.5.1.4), shared by the ES9+
 * and ES2+ status tables: {"header":{"functionExecutionStatus":{"status":"Failed",
 * "statusCodeData":{"subjectCode":..,"reasonCode":..,"message":..}}}}. */
#ifndef DP_SMDP_STATUS_H
#define DP_SMDP_STATUS_H

#include "pki/base/buf.h"
#include "pki/base/error.h"

/* Appends the header; `detail` (may be NULL) is appended to the message after ": ". */
int dp_status_failed_json(const char *subject, const char *reason, const char *message,
			  const char *detail, struct dp_buf *out) DP_WUR;

#endif
