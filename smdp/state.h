/* The profile state machine of the SM-DP+ (SGP.22 3.1 / ES2+ 5.3; es2-lifecycle-sgp32.md
 * 2.1-2.2) as one table of (from, event, to), used by ES2+, ES9+ and the admin CLI alike.
 * The order book (db.h) refuses any change of state that is not in the table. */
#ifndef DP_SMDP_STATE_H
#define DP_SMDP_STATE_H

#include <stdbool.h>

#include "pki/base/error.h"

/* X(id, name as shown in logs, ES2+ listings and the CLI) */
#define DP_PROFILE_STATE_LIST(X) \
	X(DP_PROFILE_AVAILABLE, "Available") \
	X(DP_PROFILE_ALLOCATED, "Allocated") \
	X(DP_PROFILE_LINKED, "Linked") \
	X(DP_PROFILE_CONFIRMED, "Confirmed") \
	X(DP_PROFILE_RELEASED, "Released") \
	X(DP_PROFILE_DOWNLOADED, "Downloaded") \
	X(DP_PROFILE_INSTALLED, "Installed") \
	X(DP_PROFILE_ERROR, "Error") \
	X(DP_PROFILE_UNAVAILABLE, "Unavailable")

enum dp_profile_state {
#define DP_X_STATE(id, name) id,
	DP_PROFILE_STATE_LIST(DP_X_STATE)
#undef DP_X_STATE
	DP_PROFILE_STATE_COUNT
};

/* What makes a profile change state. X(id, name in the history table) */
#define DP_PROFILE_EVENT_LIST(X) \
	X(DP_EV_DOWNLOAD_ORDER, "downloadOrder") \
	X(DP_EV_CONFIRM_ORDER, "confirmOrder") \
	X(DP_EV_RELEASE, "releaseProfile") \
	X(DP_EV_CANCEL_ORDER, "cancelOrder") \
	X(DP_EV_ADMIN_ORDER, "admin order") \
	X(DP_EV_POOL_CLAIM, "pool order claim") \
	X(DP_EV_BPP_DOWNLOADED, "getBoundProfilePackage") \
	X(DP_EV_INSTALLED, "install success") \
	X(DP_EV_INSTALL_FAILED, "install error") \
	X(DP_EV_INSTALL_RETRY, "install error (retry allowed)") \
	X(DP_EV_SESSION_CANCELLED, "cancelSession (final)") \
	X(DP_EV_SESSION_POSTPONED, "cancelSession (retry allowed)") \
	X(DP_EV_ELIGIBILITY_FAILED, "eligibility failure") \
	X(DP_EV_RETRIES_EXHAUSTED, "retries exhausted") \
	X(DP_EV_ORDER_EXPIRED, "order expired") \
	X(DP_EV_DELETED, "delete notification") \
	X(DP_EV_ADMIN_RESET, "admin reset") \
	X(DP_EV_ADMIN_RETIRE, "admin retire")

enum dp_profile_event {
#define DP_X_EVENT(id, name) id,
	DP_PROFILE_EVENT_LIST(DP_X_EVENT)
#undef DP_X_EVENT
	DP_PROFILE_EVENT_COUNT
};

const char *dp_profile_state_name(enum dp_profile_state s);
/* Parses a state name (case-insensitive); DP_ERR_INVAL when unknown. */
int dp_profile_state_parse(const char *name, enum dp_profile_state *out) DP_WUR;
const char *dp_profile_event_name(enum dp_profile_event e);

/* The next state when `event` happens in `from`; DP_ERR_DB_STATE (detail names the
 * state and the event) when the table has no such row. Some events lead to one of two
 * states (cancelOrder: Available or Unavailable, per finalProfileStatusIndicator); `hint`
 * chooses among them and must be in the table too. Pass DP_PROFILE_STATE_COUNT as hint
 * when the event has one target. */
int dp_profile_transition(enum dp_profile_state from, enum dp_profile_event event,
			  enum dp_profile_state hint, enum dp_profile_state *to) DP_WUR;

#endif
