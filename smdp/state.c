/* The profile state machine as one table (contract in state.h; SGP.22 3.1, ES2+ 5.3;
 * es2-lifecycle-sgp32.md 2.1-2.2). */
#include "smdp/state.h"

#include <stddef.h>
#include <strings.h>

struct transition {
	enum dp_profile_state from;
	enum dp_profile_event event;
	enum dp_profile_state to;
};

#define A DP_PROFILE_AVAILABLE
#define AL DP_PROFILE_ALLOCATED
#define LI DP_PROFILE_LINKED
#define CO DP_PROFILE_CONFIRMED
#define RE DP_PROFILE_RELEASED
#define DL DP_PROFILE_DOWNLOADED
#define IN DP_PROFILE_INSTALLED
#define ER DP_PROFILE_ERROR
#define UN DP_PROFILE_UNAVAILABLE

/* Every allowed change. An event with two rows from one state has two targets; the caller's
 * hint picks one. Rows whose from and to are equal record an event without a change. */
static const struct transition table[] = {
	/* ES2+ (issue 7): reservation, confirmation, release, cancel */
	{ A, DP_EV_DOWNLOAD_ORDER, AL },
	{ A, DP_EV_DOWNLOAD_ORDER, LI },
	{ AL, DP_EV_CONFIRM_ORDER, CO },
	{ AL, DP_EV_CONFIRM_ORDER, RE },
	{ LI, DP_EV_CONFIRM_ORDER, CO },
	{ LI, DP_EV_CONFIRM_ORDER, RE },
	{ CO, DP_EV_RELEASE, RE },
	{ AL, DP_EV_CANCEL_ORDER, A },
	{ AL, DP_EV_CANCEL_ORDER, UN },
	{ LI, DP_EV_CANCEL_ORDER, A },
	{ LI, DP_EV_CANCEL_ORDER, UN },
	{ CO, DP_EV_CANCEL_ORDER, A },
	{ CO, DP_EV_CANCEL_ORDER, UN },
	{ RE, DP_EV_CANCEL_ORDER, A },
	{ RE, DP_EV_CANCEL_ORDER, UN },
	{ ER, DP_EV_CANCEL_ORDER, A },
	{ ER, DP_EV_CANCEL_ORDER, UN },
	/* admin CLI: an order that is released at once; a pool order claiming a profile */
	{ A, DP_EV_ADMIN_ORDER, RE },
	{ A, DP_EV_POOL_CLAIM, RE },
	/* ES9+ */
	{ RE, DP_EV_BPP_DOWNLOADED, DL },
	{ DL, DP_EV_BPP_DOWNLOADED, DL }, /* a new binding after a failed or lost install */
	{ DL, DP_EV_INSTALLED, IN },
	{ DL, DP_EV_INSTALL_FAILED, ER },
	{ DL, DP_EV_INSTALL_RETRY, RE },
	{ RE, DP_EV_SESSION_CANCELLED, ER },
	{ DL, DP_EV_SESSION_CANCELLED, ER },
	{ RE, DP_EV_SESSION_POSTPONED, RE },
	{ RE, DP_EV_SESSION_POSTPONED, A }, /* a pool claim goes back to the pool */
	{ DL, DP_EV_SESSION_POSTPONED, RE },
	{ RE, DP_EV_ELIGIBILITY_FAILED, ER },
	{ DL, DP_EV_ELIGIBILITY_FAILED, ER },
	{ RE, DP_EV_RETRIES_EXHAUSTED, ER },
	{ DL, DP_EV_RETRIES_EXHAUSTED, ER },
	{ RE, DP_EV_ORDER_EXPIRED, ER },
	{ DL, DP_EV_ORDER_EXPIRED, ER },
	{ IN, DP_EV_DELETED, A },
	{ IN, DP_EV_DELETED, UN },
	/* admin: explicit reset of a failed or retired profile, retirement */
	{ ER, DP_EV_ADMIN_RESET, A },
	{ UN, DP_EV_ADMIN_RESET, A },
	{ A, DP_EV_ADMIN_RETIRE, UN },
	{ ER, DP_EV_ADMIN_RETIRE, UN },
};

#undef A
#undef AL
#undef LI
#undef CO
#undef RE
#undef DL
#undef IN
#undef ER
#undef UN

static const char *const state_names[] = {
#define DP_X_STATE(id, name) [id] = name,
	DP_PROFILE_STATE_LIST(DP_X_STATE)
#undef DP_X_STATE
};

static const char *const event_names[] = {
#define DP_X_EVENT(id, name) [id] = name,
	DP_PROFILE_EVENT_LIST(DP_X_EVENT)
#undef DP_X_EVENT
};

const char *dp_profile_state_name(enum dp_profile_state s)
{
	if ((unsigned)s >= DP_PROFILE_STATE_COUNT)
		return "?";
	return state_names[s];
}

int dp_profile_state_parse(const char *name, enum dp_profile_state *out)
{
	for (unsigned i = 0; i < DP_PROFILE_STATE_COUNT; i++) {
		if (strcasecmp(name, state_names[i]) == 0) {
			*out = (enum dp_profile_state)i;
			return DP_OK;
		}
	}
	return dp_err_set(DP_ERR_INVAL, "unknown profile state '%s'", name);
}

const char *dp_profile_event_name(enum dp_profile_event e)
{
	if ((unsigned)e >= DP_PROFILE_EVENT_COUNT)
		return "?";
	return event_names[e];
}

int dp_profile_transition(enum dp_profile_state from, enum dp_profile_event event,
			  enum dp_profile_state hint, enum dp_profile_state *to)
{
	const struct transition *first = NULL;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].from != from || table[i].event != event)
			continue;
		if (hint == DP_PROFILE_STATE_COUNT || table[i].to == hint) {
			if (first == NULL)
				first = &table[i];
			if (hint != DP_PROFILE_STATE_COUNT)
				break;
		}
	}
	if (first == NULL)
		return dp_err_set(DP_ERR_DB_STATE, "%s is not allowed for a profile in state %s%s%s",
				  dp_profile_event_name(event), dp_profile_state_name(from),
				  hint == DP_PROFILE_STATE_COUNT ? "" : " towards ",
				  hint == DP_PROFILE_STATE_COUNT ? "" : dp_profile_state_name(hint));
	*to = first->to;
	return DP_OK;
}
