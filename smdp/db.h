/* The storage interface: the only place SQL exists. SQLite (one file, WAL) is the
 * embedded default; a PostgreSQL backend will implement the same functions so that several
 * smdp nodes can share one order book. Every ES9+/ES2+ session lives here, never only in
 * one process's memory: any node can answer any call.
 *
 * Each function is one transaction: it either happens whole or not at all. The callbacks
 * of the listing functions run inside it and must not call this interface again (collect
 * what they need and act after the walk). Changes of a
 * profile's state go through the state table (state.h) and leave a history row.
 * The schema is in docs/order-book.md. Thread-safe: one handle may be used by every HTTP
 * worker thread. */
#ifndef DP_SMDP_DB_H
#define DP_SMDP_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pki/base/buf.h"
#include "pki/base/error.h"
#include "pki/crypto/kdf.h"
#include "smdp/state.h"

struct dp_db;

/* Opens (creating when missing) the database file and brings its schema up to date. */
int dp_db_open(const char *path, struct dp_db **out) DP_WUR;
/* For tests of the migrations: opens path migrated only up to schema version (4 to the
 * current one); the handle is good for dp_db_close and dp_db_schema_version only. */
int dp_db_open_schema(const char *path, int version, struct dp_db **out) DP_WUR;
void dp_db_close(struct dp_db *db);
/* Durability of a commit: full (the default) returns from a call that changed the order
 * book only once the change is on disk, so a committed order or state change survives a
 * power failure (one sync of the log covers the commits of every thread that waits for it:
 * group commit); normal syncs only at checkpoints (a crash of the process loses nothing, a
 * power failure may lose the last commits). */
int dp_db_set_synchronous(struct dp_db *db, bool full) DP_WUR;
/* Commits through this handle that waited for a log sync (none while synchronous is off),
 * and the log syncs issued for them, so far. */
void dp_db_sync_stats(struct dp_db *db, uint64_t *durable_commits, uint64_t *syncs);
/* Deferred durability, for a server thread that must not wait for the disk: between
 * dp_db_defer_begin and dp_db_defer_end the calls this thread makes on db return without
 * waiting for their log sync, and dp_db_defer_end returns a ticket (0: nothing to wait
 * for): nothing these calls produced may leave the process (an answer, a callback) before
 * dp_db_when_durable settles that ticket. Inside a batch the batch's end decides. */
void dp_db_defer_begin(struct dp_db *db);
uint64_t dp_db_defer_end(struct dp_db *db);
/* Settles a ticket of dp_db_defer_end: returns 1 when it already is on disk (done is not
 * called), else 0, and done(arg, r) is called once, from the database's sync thread,
 * with DP_OK once it is on disk or with the error of the sync that failed to get it
 * there. When the sync thread cannot start, waits here and returns 1 or the error. */
typedef void (*dp_db_durable_cb)(void *arg, int r);
int dp_db_when_durable(struct dp_db *db, uint64_t ticket, dp_db_durable_cb done,
		       void *arg) DP_WUR;
/* A batch: every call on this handle from this thread between begin and end is one
 * transaction, committed by dp_db_batch_end(db, true) only when all of them succeeded
 * (else rolled back; end returns the first failure, or DP_ERR_INVAL when commit is false).
 * Other threads wait until it ends. For bulk imports that must happen whole or not at all. */
int dp_db_batch_begin(struct dp_db *db) DP_WUR;
int dp_db_batch_end(struct dp_db *db, bool commit) DP_WUR;
/* The schema version stored in the file. */
int dp_db_schema_version(struct dp_db *db, int *version) DP_WUR;

#define DP_DB_ICCID_MAX 20  /* digits, no F */
#define DP_DB_EID_LEN 32
#define DP_DB_TEXT_MAX 64   /* profile type, owner, actor */
#define DP_DB_MATCHING_ID_MAX 64
#define DP_DB_TID_MAX 16

/* ---- profiles ---- */

/* A profile to import. A plain data carrier; pointers are borrowed. */
struct dp_db_profile_new {
	const char *iccid;        /* 19 or 20 digits (Luhn checked by the caller) */
	const char *profile_type; /* "" when none */
	const char *owner;        /* "" when none */
	const uint8_t *package;   /* the UPP (SAIP DER) or, with ppk, its 86 TLVs */
	size_t package_len;
	const struct dp_session_keys *ppk; /* NULL: not pre-protected */
	const uint8_t *metadata;  /* StoreMetadataRequest BF25, stored as it will be sent */
	size_t metadata_len;
	int profile_class;        /* test 0, provisioning 1, operational 2 */
	uint32_t ppr;             /* profilePolicyRules bits (ppr1 = bit 1, ppr2 = bit 2) */
};

/* What is known of a stored profile. Plain data carrier; deinit with dp_db_profile_deinit. */
struct dp_db_profile {
	int64_t id;
	char iccid[DP_DB_ICCID_MAX + 1];
	char profile_type[DP_DB_TEXT_MAX + 1];
	char owner[DP_DB_TEXT_MAX + 1];
	enum dp_profile_state state;
	char eid[DP_DB_EID_LEN + 1]; /* the eUICC it is bound to; "" when none */
	int profile_class;
	uint32_t ppr;
	time_t updated_at;
	size_t package_len;          /* bytes of the stored package */
	uint8_t isdp_aid[16];        /* the ISD-P AID of the last successful install (PIR) */
	size_t isdp_aid_len;         /* 0: none recorded */
	struct dp_buf metadata;      /* filled by the functions that say so */
	struct dp_buf package;
	bool has_ppk;
	struct dp_session_keys ppk;  /* valid when has_ppk (wiped by deinit) */
};

void dp_db_profile_init(struct dp_db_profile *p);
void dp_db_profile_deinit(struct dp_db_profile *p);

/* Adds an Available profile; DP_ERR_DB_EXISTS when the ICCID is already there. */
int dp_db_profile_add(struct dp_db *db, const struct dp_db_profile_new *p, const char *actor,
		      int64_t *id) DP_WUR;
/* By ICCID (with metadata; with the package too when with_package). DP_ERR_NOT_FOUND. */
int dp_db_profile_get(struct dp_db *db, const char *iccid, bool with_package,
		      struct dp_db_profile *out) DP_WUR;
/* The stored package and PPK of a profile by id (getBoundProfilePackage). */
int dp_db_profile_get_by_id(struct dp_db *db, int64_t id, bool with_package,
			    struct dp_db_profile *out) DP_WUR;

/* Listing filter; NULL / DP_PROFILE_STATE_COUNT fields match everything. */
struct dp_db_profile_filter {
	enum dp_profile_state state;
	const char *profile_type;
	const char *owner;
};
typedef int (*dp_db_profile_cb)(void *ctx, const struct dp_db_profile *p);
/* Calls cb for each matching profile (metadata and package not filled), in ICCID order;
 * a non-zero return from cb stops the walk and is returned. */
int dp_db_profile_list(struct dp_db *db, const struct dp_db_profile_filter *f,
		       dp_db_profile_cb cb, void *ctx) DP_WUR;
/* Counts profiles per state into counts[DP_PROFILE_STATE_COUNT]. */
int dp_db_profile_count(struct dp_db *db, const char *profile_type,
			size_t counts[DP_PROFILE_STATE_COUNT]) DP_WUR;

/* An explicit state change by an operator or the admin CLI (reset, retire): the table
 * decides; the history records actor and why. hint as in dp_profile_transition. */
int dp_db_profile_event(struct dp_db *db, const char *iccid, enum dp_profile_event ev,
			enum dp_profile_state hint, const char *actor, const char *why) DP_WUR;

struct dp_db_history {
	time_t at;
	char actor[DP_DB_TEXT_MAX + 1];
	enum dp_profile_state from, to;
	char event[64];
	char why[256];
};
typedef int (*dp_db_history_cb)(void *ctx, const struct dp_db_history *h);
int dp_db_profile_history(struct dp_db *db, const char *iccid, dp_db_history_cb cb,
			  void *ctx) DP_WUR;

/* ---- orders ---- */

/* A download order. One profile (by ICCID, or the first Available of a type), or a pool:
 * a matching ID any number of eUICCs may present, each claiming its own Available
 * profile of the type until none is left. */
struct dp_db_order_new {
	const char *matching_id;  /* NULL or "": none (default SM-DP+ order; needs eid) */
	const char *iccid;        /* this profile; NULL: the first Available of profile_type */
	const char *profile_type; /* with iccid NULL */
	bool pool;                /* a pool order of profile_type (matching_id required) */
	const char *eid;          /* NULL: any eUICC */
	const uint8_t *cc_hash;   /* SHA-256 of the confirmation code, or NULL */
	time_t expires_at;        /* 0: never */
	unsigned max_attempts;    /* download attempts (authenticateClient) allowed */
	unsigned cc_max_attempts; /* wrong confirmation codes allowed */
	bool reuse_on_delete;     /* a delete notification makes the profile Available again
				   * (else Unavailable) */
	const char *owner;
};

struct dp_db_order {
	int64_t id;
	char matching_id[DP_DB_MATCHING_ID_MAX + 1]; /* "" when none */
	int64_t profile_id;                          /* 0 for a pool order */
	char iccid[DP_DB_ICCID_MAX + 1];             /* "" for a pool order */
	char profile_type[DP_DB_TEXT_MAX + 1];
	bool pool;
	char eid[DP_DB_EID_LEN + 1];                 /* "" when any */
	bool has_cc;
	uint8_t cc_hash[32];
	time_t expires_at;
	unsigned attempts, max_attempts;
	unsigned cc_failures, cc_max_attempts;
	bool reuse_on_delete;
	bool closed;                                 /* finished or cancelled */
	time_t created_at;
	/* the profile's state ("Available" count for a pool order is not here) */
	enum dp_profile_state profile_state;
	char profile_eid[DP_DB_EID_LEN + 1];
};

/* Creates the order and moves its profile to Released (DP_EV_ADMIN_ORDER).
 * DP_ERR_DB_EXISTS: matching ID taken; DP_ERR_NOT_FOUND: no such / no Available profile;
 * DP_ERR_DB_STATE: the profile is not Available. *id and *iccid_out (may be NULL, at least
 * DP_DB_ICCID_MAX + 1 bytes) receive the order and the profile chosen. */
int dp_db_order_add(struct dp_db *db, const struct dp_db_order_new *o, const char *actor,
		    int64_t *id, char *iccid_out) DP_WUR;
/* The open order with this matching ID; DP_ERR_NOT_FOUND. */
int dp_db_order_find(struct dp_db *db, const char *matching_id,
		     struct dp_db_order *out) DP_WUR;
/* The open order without matching ID bound to this EID (default SM-DP+); DP_ERR_NOT_FOUND. */
int dp_db_order_find_for_eid(struct dp_db *db, const char *eid, struct dp_db_order *out) DP_WUR;
/* An order by id, open or closed; DP_ERR_NOT_FOUND. */
int dp_db_order_get(struct dp_db *db, int64_t id, struct dp_db_order *out) DP_WUR;
typedef int (*dp_db_order_cb)(void *ctx, const struct dp_db_order *o);
int dp_db_order_list(struct dp_db *db, bool include_closed, dp_db_order_cb cb, void *ctx) DP_WUR;
/* Moves the order's profile to Error for `ev` (expiry, attempts) and closes the order. */
int dp_db_order_fail(struct dp_db *db, int64_t order_id, enum dp_profile_event ev,
		     const char *why) DP_WUR;

/* ---- ES9+ sessions ---- */

enum dp_db_stage {
	DP_DB_STAGE_INITIATED = 1,     /* after initiateAuthentication */
	DP_DB_STAGE_AUTHENTICATED = 2, /* after authenticateClient */
	DP_DB_STAGE_BOUND = 3,         /* after getBoundProfilePackage */
	DP_DB_STAGE_FINISHED = 4,      /* PIR received, cancelled, or refused */
};

/* One ES9+ session. Plain data carrier; deinit with dp_db_session_deinit. */
struct dp_db_session {
	uint8_t tid[DP_DB_TID_MAX];
	size_t tid_len;
	enum dp_db_stage stage;
	time_t created_at, expires_at;
	char smdp_address[256];
	uint8_t server_challenge[16];
	uint8_t euicc_challenge[16];
	uint8_t ci_ski[32];
	size_t ci_ski_len;
	/* authenticateClient */
	char eid[DP_DB_EID_LEN + 1];
	struct dp_buf euicc_cert, eum_cert;
	int64_t order_id, profile_id;
	char profile_iccid[DP_DB_ICCID_MAX + 1]; /* read with the session ("" without one) */
	bool cc_required;
	struct dp_buf smdp_signed2;    /* 30 ... */
	uint8_t smdp_signature2[67];   /* 5F37 40 r||s */
	/* getBoundProfilePackage */
	bool bound;
	uint8_t otpk_euicc[65];
	struct dp_buf bpp;
	/* finished */
	char end[128];                 /* why it ended ("" while open) */
};

void dp_db_session_init(struct dp_db_session *s);
void dp_db_session_deinit(struct dp_db_session *s);

/* Stores a new session (stage INITIATED): tid, expires_at, smdp_address, the challenges
 * and ci_ski of s. DP_ERR_DB_EXISTS on a tid collision. */
int dp_db_session_add(struct dp_db *db, const struct dp_db_session *s) DP_WUR;
/* Loads a session, whatever its stage or expiry (the caller decides). DP_ERR_NOT_FOUND. */
int dp_db_session_get(struct dp_db *db, const uint8_t *tid, size_t tid_len,
		      struct dp_db_session *out) DP_WUR;
/* The same without the BPP (out->bpp left empty): for callers that never send it again,
 * so that its bytes are not read and copied. */
int dp_db_session_get_without_bpp(struct dp_db *db, const uint8_t *tid, size_t tid_len,
				  struct dp_db_session *out) DP_WUR;

/* authenticateClient's binding, all in one transaction: the session must be INITIATED and
 * not expired at `now`; the order open; a counted attempt (attempts + 1 <= max_attempts,
 * else DP_ERR_DB_STATE with detail "attempts"); the profile chosen (for a pool order: an
 * Available profile of the type is claimed, DP_ERR_NOT_FOUND when none is left) must be
 * Released or Downloaded and unbound or bound to this EID (else DP_ERR_DB_CONFLICT).
 * Binds the profile to s->eid and stores eid, certificates, order, profile, cc_required,
 * smdp_signed2 and smdp_signature2 of s; stage AUTHENTICATED. s->profile_id receives the
 * profile's id and profile (may be NULL) its row without the package, read in the same
 * transaction. */
int dp_db_session_authenticate(struct dp_db *db, struct dp_db_session *s, time_t now,
			       struct dp_db_profile *profile) DP_WUR;
/* getBoundProfilePackage's result: stores otPK.EUICC and the BPP of s, moves the
 * profile to Downloaded; stage BOUND. */
int dp_db_session_bind(struct dp_db *db, const struct dp_db_session *s) DP_WUR;
#define DP_DB_OTSK_LEN 32 /* the otSK.DP scalar, big-endian */
/* The same, and the binding is kept on the profile for a re-offer in a later session
 * (SGP.22 3.1.3: bppEuiccOtpk): s->eid, s->otpk_euicc and otsk_dp (secret) replace what
 * the profile kept; otsk_dp NULL clears it. The profile forgets it whenever it leaves
 * Released / Downloaded (Installed, Error, deleted, reset). */
int dp_db_session_bind_kept(struct dp_db *db, const struct dp_db_session *s,
			    const uint8_t otsk_dp[DP_DB_OTSK_LEN]) DP_WUR;
/* A wrong confirmation code: counts it; when the order's limit is reached the profile goes
 * to Error and the session ends. *exhausted tells which. */
int dp_db_session_cc_failure(struct dp_db *db, const struct dp_db_session *s,
			     bool *exhausted) DP_WUR;
/* Ends a session. When ev is not DP_PROFILE_EVENT_COUNT the session's profile takes that
 * event (hint as in dp_profile_transition; a pool profile going back to Available is
 * unbound). why is recorded. */
int dp_db_session_finish(struct dp_db *db, const uint8_t *tid, size_t tid_len,
			 enum dp_profile_event ev, enum dp_profile_state hint,
			 const char *why) DP_WUR;
/* The install result of a session's profile (the PIR): success moves Downloaded ->
 * Installed and records the ISD-P AID; failure takes ev (INSTALL_FAILED or INSTALL_RETRY).
 * The session ends. */
int dp_db_session_install_result(struct dp_db *db, const uint8_t *tid, size_t tid_len,
				 bool success, const uint8_t *aid, size_t aid_len,
				 enum dp_profile_event ev, const char *why) DP_WUR;
/* A received notification, recorded with the install result in one transaction. */
struct dp_db_note {
	const char *eid;
	uint64_t seq;
	const char *kind; /* "install", "enable", "disable", "delete" */
	const char *iccid;
};
/* dp_db_session_install_result that also records note (result: why) in the same
 * transaction; a note seen before (a repeated delivery) is not recorded again. */
int dp_db_session_install_result_noted(struct dp_db *db, const uint8_t *tid, size_t tid_len,
				       bool success, const uint8_t *aid, size_t aid_len,
				       enum dp_profile_event ev, const char *why,
				       const struct dp_db_note *note) DP_WUR;

typedef int (*dp_db_session_cb)(void *ctx, const struct dp_db_session *s);
/* Sessions not FINISHED (certificates and BPP not filled). */
int dp_db_session_list(struct dp_db *db, dp_db_session_cb cb, void *ctx) DP_WUR;
/* Sessions expired before `now` and still open end as "expired" (their pool claims go back
 * to the pool); finished sessions older than keep_s are deleted. *n receives how many
 * ended. */
int dp_db_session_expire(struct dp_db *db, time_t now, time_t keep_s, size_t *n) DP_WUR;

/* The binding a profile keeps for this EID (dp_db_session_bind_kept). Plain data
 * carrier holding a secret: wipe with dp_db_binding_wipe. */
struct dp_db_binding {
	uint8_t otpk_euicc[65];          /* 04||X||Y, the bppEuiccOtpk to offer */
	uint8_t otsk_dp[DP_DB_OTSK_LEN]; /* the otSK.DP that made the BPP */
};
/* DP_ERR_NOT_FOUND when the profile keeps none for eid; out is wiped on error. */
int dp_db_profile_kept_binding(struct dp_db *db, int64_t profile_id, const char *eid,
			       struct dp_db_binding *out) DP_WUR;
void dp_db_binding_wipe(struct dp_db_binding *b);

/* ---- notifications (handleNotification) ---- */

/* Records a received notification. Returns DP_ERR_DB_EXISTS when (eid, seq, kind, iccid)
 * was seen before (a repeated delivery). kind: "install", "enable", "disable", "delete". */
int dp_db_notification_add(struct dp_db *db, const char *eid, uint64_t seq, const char *kind,
			   const char *iccid, const char *result) DP_WUR;
/* An eUICC's delete notification for a profile bound to it: Installed -> Available or
 * Unavailable per the profile's last order, unbinding it. DP_ERR_NOT_FOUND when the
 * profile is not ours or not bound to eid. */
int dp_db_profile_deleted(struct dp_db *db, const char *iccid, const char *eid) DP_WUR;

/* ---- callbacks (the ES2+.HandleDownloadProgressInfo queue; smdp/es2_callbacks.h) ---- */

#define DP_DB_URL_MAX 512

/* A change of a profile's state as the change hook sees it, inside the transaction that
 * makes it. Plain data carrier; the pointers are valid during the call only. */
struct dp_db_change {
	int64_t profile_id;
	const char *iccid, *profile_type, *owner;
	const char *eid; /* the eUICC the profile is bound to; "" when none */
	enum dp_profile_state from, to;
	enum dp_profile_event event;
	const char *actor, *why;
	time_t at;
};

/* Called inside every state-change transaction of the handle. To queue a callback in that
 * same transaction it writes the URL (at most DP_DB_URL_MAX characters) into url and the
 * request body into body; leaving url "" queues nothing. It runs under the database lock
 * and must not call dp_db_* functions. A failure is logged and queues nothing: a callback
 * never stops a state change. */
typedef int (*dp_db_change_hook)(void *ctx, const struct dp_db_change *c, char *url,
				 struct dp_buf *body);
/* Installs the hook (NULL removes it); before the handle is shared between threads. */
void dp_db_set_change_hook(struct dp_db *db, dp_db_change_hook hook, void *ctx);

/* One queued callback. Plain data carrier; deinit with dp_db_callback_deinit. */
struct dp_db_callback {
	int64_t id;
	int64_t profile_id;          /* the order key: one profile's callbacks go in id order */
	char iccid[DP_DB_ICCID_MAX + 1];
	char url[DP_DB_URL_MAX + 1];
	struct dp_buf body;          /* the JSON request body, as queued */
	unsigned attempts;           /* sends that failed so far */
	time_t created_at, next_at;  /* queued; not sent before next_at */
	time_t delivered_at;         /* 0 while undelivered */
	char last_error[256];
};

void dp_db_callback_init(struct dp_db_callback *c);
void dp_db_callback_deinit(struct dp_db_callback *c);

/* Queues a callback outside a state change (its own transaction); *id may be NULL. */
int dp_db_callback_add(struct dp_db *db, int64_t profile_id, const char *iccid, const char *url,
		       const char *body, time_t now, int64_t *id) DP_WUR;
/* The next callback to send at `now`: undelivered, due (next_at <= now) and the oldest
 * undelivered one of its profile, so that a profile's callbacks go out strictly in order
 * (a later one waits while an earlier one is retried). DP_ERR_NOT_FOUND when none. */
int dp_db_callback_next(struct dp_db *db, time_t now, struct dp_db_callback *out) DP_WUR;
/* When the earliest callback that dp_db_callback_next could return is due (the head of a
 * profile's queue); DP_ERR_NOT_FOUND when nothing is queued. */
int dp_db_callback_next_time(struct dp_db *db, time_t *at) DP_WUR;
/* Marks a callback acknowledged (2xx) at `now`. */
int dp_db_callback_delivered(struct dp_db *db, int64_t id, time_t now) DP_WUR;
/* Records a failed send: attempts + 1, not before next_at, and why. */
int dp_db_callback_failed(struct dp_db *db, int64_t id, time_t next_at, const char *error) DP_WUR;
typedef int (*dp_db_callback_cb)(void *ctx, const struct dp_db_callback *c);
/* Every callback (delivered ones too when include_delivered) in queue order; a non-zero
 * return from cb stops the walk and is returned. */
int dp_db_callback_list(struct dp_db *db, bool include_delivered, dp_db_callback_cb cb,
			void *ctx) DP_WUR;
/* Deletes callbacks delivered before `before`; *n (may be NULL) receives how many. */
int dp_db_callback_purge(struct dp_db *db, time_t before, size_t *n) DP_WUR;

/* ---- ES2+ (SGP.22 5.3.1-5.3.4; es2-lifecycle-sgp32.md 2.1-2.5) ----
 * The operator's side of an order: reserve (downloadOrder: Available -> Allocated, or
 * Linked with an EID), confirm (-> Confirmed, or Released with releaseFlag), release
 * (Confirmed -> Released), cancel (-> Available or Unavailable). Each checks that the
 * profile is the operator's (owner). A refusal is not an error: the functions return DP_OK
 * and say in *outcome what was wrong; negative values are failures of the store. */

enum dp_db_es2_outcome {
	DP_DB_ES2_OK,
	DP_DB_ES2_ICCID_UNKNOWN,       /* no such profile */
	DP_DB_ES2_NOT_OWNER,           /* the profile is another operator's */
	DP_DB_ES2_IN_USE,              /* downloadOrder: the profile is not Available */
	DP_DB_ES2_TYPE_MISMATCH,       /* downloadOrder: iccid and profileType disagree */
	DP_DB_ES2_TYPE_UNKNOWN,        /* no profile of the type at all */
	DP_DB_ES2_TYPE_NOT_OWNER,      /* profiles of the type exist, none the operator's */
	DP_DB_ES2_TYPE_EXHAUSTED,      /* none of the operator's profiles of the type Available */
	DP_DB_ES2_STATE,               /* the state table has no row for this */
	DP_DB_ES2_EID_DIFFERENT,       /* another EID is bound to the profile */
	DP_DB_ES2_EID_MISSING,         /* confirmOrder without matching ID needs an EID */
	DP_DB_ES2_MATCHING_ID_TAKEN,   /* an open order already has this matching ID */
	DP_DB_ES2_MATCHING_ID_DIFFERENT, /* cancelOrder: not the order's matching ID */
};

/* downloadOrder: one of iccid / profile_type (both: they must agree). The first Available
 * profile of the type owned by owner is chosen. iccid_out (DP_DB_ICCID_MAX + 1 bytes)
 * receives the profile's ICCID. */
struct dp_db_es2_download {
	const char *owner;        /* the operator's id (also the history's actor) */
	const char *iccid;        /* NULL: by profile_type */
	const char *profile_type; /* NULL: by iccid */
	const char *eid;          /* NULL: Allocated; else Linked to this eUICC */
};
int dp_db_es2_download_order(struct dp_db *db, const struct dp_db_es2_download *d,
			     enum dp_db_es2_outcome *outcome, char *iccid_out) DP_WUR;

/* confirmOrder of an Allocated or Linked profile. */
struct dp_db_es2_confirm {
	const char *owner;
	const char *iccid;
	const char *eid;          /* NULL: the one bound at downloadOrder, if any */
	const char *matching_id;  /* "" or NULL: none (default SM-DP+; needs an EID) */
	const uint8_t *cc_hash;   /* SHA-256 of the confirmation code, or NULL */
	bool release;             /* releaseFlag: Released at once, else Confirmed */
	time_t expires_at;        /* 0: never */
	unsigned max_attempts, cc_max_attempts;
	bool reuse_on_delete;
};
/* eid_out (DP_DB_EID_LEN + 1 bytes) receives the order's EID ("" when none). */
int dp_db_es2_confirm_order(struct dp_db *db, const struct dp_db_es2_confirm *c,
			    enum dp_db_es2_outcome *outcome, char *eid_out) DP_WUR;

/* releaseProfile: Confirmed -> Released. */
int dp_db_es2_release_profile(struct dp_db *db, const char *owner, const char *iccid,
			      enum dp_db_es2_outcome *outcome) DP_WUR;

/* cancelOrder: the profile goes to final (Available or Unavailable), unbound, its orders
 * closed and its open ES9+ sessions ended. eid / matching_id (NULL: not given) must be
 * the order's. */
int dp_db_es2_cancel_order(struct dp_db *db, const char *owner, const char *iccid,
			   const char *eid, const char *matching_id, enum dp_profile_state final,
			   enum dp_db_es2_outcome *outcome) DP_WUR;

#endif
