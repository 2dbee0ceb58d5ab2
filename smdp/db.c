/* SQLite backend of the storage interface (db.h): one connection in WAL mode, guarded by
 * a mutex, every public function one IMMEDIATE transaction, statements prepared once and
 * kept. The schema is described in docs/order-book.md. */
#include "smdp/db.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pki/base/log.h"
#include "pki/base/secure.h"

#define SCHEMA_VERSION 7
#define STMT_CACHE 128
#define BLOB_MAX (16 * 1024 * 1024)

struct stmt_slot {
	const char *sql; /* static text: the key */
	sqlite3_stmt *st;
};

struct dp_db {
	sqlite3 *conn;
	pthread_mutex_t lock;
	struct stmt_slot cache[STMT_CACHE];
	size_t n_cache;
	dp_db_change_hook hook; /* ES2+ callbacks: called in change_state */
	void *hook_ctx;
	int batch_error; /* the first failure inside the open batch (see batch_db) */
	int migrate_upto; /* 0: the current schema; else stop there (dp_db_open_schema) */
	/* Durability by group commit (see wal_sync). The connection runs synchronous=NORMAL
	 * (the WAL synced only at checkpoints) and a durable commit, after the lock is let go,
	 * waits for an fdatasync of the WAL that began after it: one sync covers every commit
	 * made while the previous one ran, and no thread holds the lock through a sync. */
	bool sync_full;        /* durable commits wait for their sync (db_sync_full) */
	bool txn_unsynced;     /* the open transaction need not wait (begin_unsynced) */
	int64_t txn_changes;   /* sqlite3_total_changes64 at the transaction's begin */
	atomic_uint_fast64_t seq; /* commits that changed something (moves under lock) */
	uint64_t durable;      /* the last commit nobody may see before it is on disk (lock) */
	pthread_mutex_t sync_lock;
	pthread_cond_t sync_done;
	uint64_t synced;       /* commits the last finished sync covered (sync_lock) */
	bool syncing;          /* a sync runs (sync_lock) */
	int wal_fd;            /* our descriptor of the -wal file, -1 until the first sync */
	dev_t wal_dev;
	ino_t wal_ino;
	char wal_path[PATH_MAX];
	char dir_path[PATH_MAX];
	uint64_t n_syncs;            /* dp_db_sync_stats (sync_lock) */
	_Atomic uint64_t n_durable;  /* dp_db_sync_stats; counted without sync_lock */
	/* Deferred durability (dp_db_when_durable): tickets waiting for a sync, settled by
	 * one sync thread, started at the first ticket that has to wait. */
	struct durable_waiter *waiters; /* (sync_lock) */
	pthread_t sync_thread;
	bool sync_thread_on;   /* (sync_lock) */
	bool sync_stop;        /* (sync_lock) */
};

struct durable_waiter {
	uint64_t need;
	dp_db_durable_cb done;
	void *arg;
	struct durable_waiter *next;
};

/* The handle whose batch this thread holds (dp_db_batch_begin .. _end): one transaction in
 * which begin() and end() of the calls made meanwhile neither lock nor commit. Per thread,
 * so other threads never read it. */
static _Thread_local struct dp_db *batch_db;

/* The handle this thread defers durability for (dp_db_defer_begin .. _end), and the last
 * commit what it did meanwhile may depend on. Per thread, like batch_db. */
static _Thread_local struct dp_db *defer_db;
static _Thread_local uint64_t defer_need;

static const char schema_v2[] =
	"CREATE TABLE profiles ("
	" id INTEGER PRIMARY KEY,"
	" iccid TEXT NOT NULL UNIQUE,"
	" profile_type TEXT NOT NULL DEFAULT '',"
	" owner TEXT NOT NULL DEFAULT '',"
	" state INTEGER NOT NULL,"
	" eid TEXT,"
	" profile_class INTEGER NOT NULL DEFAULT 2,"
	" ppr INTEGER NOT NULL DEFAULT 0,"
	" metadata BLOB NOT NULL,"
	" package BLOB NOT NULL,"
	" ppk BLOB,"
	" isdp_aid BLOB,"
	" last_order INTEGER,"
	" updated_at INTEGER NOT NULL);"
	"CREATE INDEX profiles_type_state ON profiles(profile_type, state);"
	"CREATE TABLE orders ("
	" id INTEGER PRIMARY KEY,"
	" matching_id TEXT,"
	" profile_id INTEGER REFERENCES profiles(id),"
	" profile_type TEXT NOT NULL DEFAULT '',"
	" pool INTEGER NOT NULL DEFAULT 0,"
	" eid TEXT,"
	" cc_hash BLOB,"
	" expires_at INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" max_attempts INTEGER NOT NULL,"
	" cc_failures INTEGER NOT NULL DEFAULT 0,"
	" cc_max_attempts INTEGER NOT NULL,"
	" reuse_on_delete INTEGER NOT NULL DEFAULT 0,"
	" owner TEXT NOT NULL DEFAULT '',"
	" closed INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL);"
	/* one open order per matching ID; closed ones keep theirs for the record */
	"CREATE UNIQUE INDEX orders_matching_open ON orders(matching_id)"
	" WHERE closed = 0 AND matching_id IS NOT NULL;"
	"CREATE INDEX orders_eid ON orders(eid) WHERE closed = 0;"
	"CREATE TABLE sessions ("
	" tid BLOB PRIMARY KEY,"
	" stage INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" smdp_address TEXT NOT NULL,"
	" server_challenge BLOB NOT NULL,"
	" euicc_challenge BLOB NOT NULL,"
	" ci_ski BLOB NOT NULL,"
	" eid TEXT,"
	" euicc_cert BLOB,"
	" eum_cert BLOB,"
	" order_id INTEGER,"
	" profile_id INTEGER,"
	" pool_claim INTEGER NOT NULL DEFAULT 0,"
	" cc_required INTEGER NOT NULL DEFAULT 0,"
	" smdp_signed2 BLOB,"
	" smdp_signature2 BLOB,"
	" otpk_euicc BLOB,"
	" otsk_dp BLOB,"     /* reserved: otSK.DP for re-offering a binding in a new session */
	" bpp BLOB,"
	" end_reason TEXT);"
	"CREATE INDEX sessions_open ON sessions(stage, expires_at);"
	"CREATE TABLE history ("
	" id INTEGER PRIMARY KEY,"
	" profile_id INTEGER NOT NULL REFERENCES profiles(id),"
	" at INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" from_state INTEGER NOT NULL,"
	" to_state INTEGER NOT NULL,"
	" event TEXT NOT NULL,"
	" why TEXT NOT NULL);"
	"CREATE INDEX history_profile ON history(profile_id, id);"
	"CREATE TABLE notifications ("
	" eid TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" kind TEXT NOT NULL,"
	" iccid TEXT NOT NULL DEFAULT '',"
	" result TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" PRIMARY KEY (eid, seq, kind, iccid));"
	"UPDATE meta SET value = '2' WHERE key = 'schema_version';";

/* Schema 3: the ES2+.HandleDownloadProgressInfo queue (es2_callbacks.h). One row per
 * callback; a profile's undelivered rows go out in id order. */
static const char schema_callbacks[] =
	"CREATE TABLE IF NOT EXISTS callbacks ("
	" id INTEGER PRIMARY KEY,"
	" profile_id INTEGER NOT NULL,"
	" iccid TEXT NOT NULL,"
	" url TEXT NOT NULL,"
	" body TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL,"
	" next_at INTEGER NOT NULL,"
	" delivered_at INTEGER,"
	" last_error TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX IF NOT EXISTS callbacks_pending ON callbacks(profile_id, id)"
	" WHERE delivered_at IS NULL;"
	"UPDATE meta SET value = '3' WHERE key = 'schema_version';";

/* Schema 4: the binding kept on a profile for a re-offer in a new session (SGP.22 3.1.3,
 * bppEuiccOtpk): the EID, otPK.EUICC and otSK.DP scalar of its last BPP. */
static const char schema_rebind[] =
	"ALTER TABLE profiles ADD COLUMN rebind_eid TEXT;"
	"ALTER TABLE profiles ADD COLUMN rebind_otpk_euicc BLOB;"
	"ALTER TABLE profiles ADD COLUMN rebind_otsk_dp BLOB;"
	"UPDATE meta SET value = '4' WHERE key = 'schema_version';";

/* Schema 5: the large blobs out of the rows that change. SQLite rewrites a whole record on
 * UPDATE, overflow pages included, so the 10-100 KB package in profiles was written again
 * (and synced) with every state change, and the BPP in sessions with every session update.
 * A package is written once, at import; a BPP once, at binding, and dropped when its
 * session ends. */
static const char schema_blobs[] =
	"CREATE TABLE packages ("
	" profile_id INTEGER PRIMARY KEY REFERENCES profiles(id),"
	" package BLOB NOT NULL);"
	"INSERT INTO packages(profile_id, package) SELECT id, package FROM profiles;"
	"ALTER TABLE profiles DROP COLUMN package;"
	"CREATE TABLE session_bpps ("
	" tid BLOB PRIMARY KEY,"
	" bpp BLOB NOT NULL) WITHOUT ROWID;"
	"INSERT INTO session_bpps(tid, bpp) SELECT tid, bpp FROM sessions"
	" WHERE bpp IS NOT NULL AND stage < 4;"
	"ALTER TABLE sessions DROP COLUMN bpp;"
	"UPDATE meta SET value = '5' WHERE key = 'schema_version';";

/* Schema 6: fewer pages per commit. Each b-tree a commit touches is at least one page
 * written to the WAL and synced; a download wrote 32 (docs/performance.md).
 * - The (type, state) index moved an entry at every state change; the Available profiles
 *   of a type now have a partial index, which only a profile entering or leaving Available
 *   changes, and the type alone an index written once, at import. SQLite uses a partial
 *   index only when the query's WHERE says `state = 0` itself (AVAILABLE_SQL).
 * - Notifications without a rowid: their primary key is the table.
 * Measured and left (docs/performance.md): history without a rowid keyed by (profile,
 * seq) splits pages, as each profile's later rows land among the packed import rows; a
 * partial index of open sessions' expiry is rewritten anyway, as SQLite updates a partial
 * index whenever its WHERE's columns change. */
static const char schema_pages[] =
	"CREATE INDEX profiles_type ON profiles(profile_type);"
	"CREATE INDEX profiles_available ON profiles(profile_type) WHERE state = 0;"
	"DROP INDEX profiles_type_state;"
	"CREATE TABLE notifications6 ("
	" eid TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" kind TEXT NOT NULL,"
	" iccid TEXT NOT NULL DEFAULT '',"
	" result TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" PRIMARY KEY (eid, seq, kind, iccid)) WITHOUT ROWID;"
	"INSERT INTO notifications6 SELECT eid, seq, kind, iccid, result, at FROM notifications;"
	"DROP TABLE notifications;"
	"ALTER TABLE notifications6 RENAME TO notifications;"
	"UPDATE meta SET value = '6' WHERE key = 'schema_version';";

/* Schema 7: the sessions' expiry index no longer moves at every stage. Its key was (stage,
 * expires_at), so authenticateClient and getBoundProfilePackage each moved the session's
 * entry to another part of the index, one or two pages more per commit. The key is now
 * (ended, expires_at), and an entry moves once, when its session ends. ended is 1 exactly
 * when stage is 4 (FINISHED): the statements that end a session set both, and the trigger
 * refuses any change that would make them disagree. (ADD COLUMN cannot carry this as a
 * CHECK: SQLite tests a new column's CHECK against the rows already there.) */
static const char schema_ended[] =
	"ALTER TABLE sessions ADD COLUMN ended INTEGER NOT NULL DEFAULT 0;"
	"UPDATE sessions SET ended = 1 WHERE stage = 4;"
	"DROP INDEX sessions_open;"
	"CREATE INDEX sessions_open ON sessions(ended, expires_at);"
	"CREATE TRIGGER sessions_ended_stage BEFORE UPDATE OF stage, ended ON sessions"
	" WHEN NEW.ended IS NOT (NEW.stage = 4)"
	" BEGIN SELECT RAISE(ABORT, 'sessions: ended must be 1 exactly when stage is 4'); END;"
	"CREATE TRIGGER sessions_ended_new BEFORE INSERT ON sessions"
	" WHEN NEW.ended IS NOT (NEW.stage = 4)"
	" BEGIN SELECT RAISE(ABORT, 'sessions: ended must be 1 exactly when stage is 4'); END;"
	"UPDATE meta SET value = '7' WHERE key = 'schema_version';";
_Static_assert(DP_DB_STAGE_FINISHED == 4, "schema 7 says stage 4 for FINISHED");

/* The Available state as SQL text, for the queries profiles_available serves */
#define AVAILABLE_SQL "0"
_Static_assert(DP_PROFILE_AVAILABLE == 0, "AVAILABLE_SQL is DP_PROFILE_AVAILABLE");

static int hook_queue(struct dp_db *db, const struct dp_db_change *c);

/* ---- plumbing ---- */

static int sql_err(struct dp_db *db, const char *what)
{
	return dp_err_set(DP_ERR_DB, "%s: SQLite: %s", what, sqlite3_errmsg(db->conn));
}

static int exec(struct dp_db *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db->conn, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int r = dp_err_set(DP_ERR_DB, "SQLite: %s", msg ? msg : "unknown error");
		sqlite3_free(msg);
		return r;
	}
	return DP_OK;
}

/* A cached prepared statement for static SQL text, reset and unbound. */
static int prep(struct dp_db *db, const char *sql, sqlite3_stmt **out)
{
	for (size_t i = 0; i < db->n_cache; i++) {
		if (db->cache[i].sql == sql) {
			sqlite3_reset(db->cache[i].st);
			sqlite3_clear_bindings(db->cache[i].st);
			*out = db->cache[i].st;
			return DP_OK;
		}
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK)
		return sql_err(db, "prepare");
	if (db->n_cache == STMT_CACHE) {
		sqlite3_finalize(st);
		return dp_err_set(DP_ERR_INTERNAL, "statement cache full");
	}
	db->cache[db->n_cache++] = (struct stmt_slot){ sql, st };
	*out = st;
	return DP_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL || s[0] == '\0')
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* NOT NULL text columns: "" stays "" */
static void bind_str(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s != NULL ? s : "", -1, SQLITE_STATIC);
}

static void bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
	if (p == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_blob64(st, i, n != 0 ? p : "", n, SQLITE_STATIC);
}

/* A statement that returns no rows. */
static int step_done(struct dp_db *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return DP_OK;
	if (rc == SQLITE_CONSTRAINT)
		return dp_err_set(DP_ERR_DB_EXISTS, "%s: %s", what, sqlite3_errmsg(db->conn));
	return sql_err(db, what);
}

static void col_text(sqlite3_stmt *st, int i, char *buf, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(buf, cap, "%s", t != NULL ? (const char *)t : "");
}

static int col_buf(sqlite3_stmt *st, int i, struct dp_buf *b)
{
	const void *p = sqlite3_column_blob(st, i);
	int n = sqlite3_column_bytes(st, i);
	dp_buf_reset(b);
	if (p == NULL || n <= 0)
		return DP_OK;
	return dp_buf_append(b, p, (size_t)n);
}

/* Copies a blob column of exactly n bytes (or nothing when NULL); *len may be NULL. */
static int col_fixed(sqlite3_stmt *st, int i, void *out, size_t cap, size_t *len)
{
	const void *p = sqlite3_column_blob(st, i);
	int n = sqlite3_column_bytes(st, i);
	if (p == NULL || n <= 0) {
		if (len != NULL)
			*len = 0;
		return DP_OK;
	}
	if ((size_t)n > cap)
		return dp_err_set(DP_ERR_DB, "stored value longer than %zu bytes", cap);
	memcpy(out, p, (size_t)n);
	if (len != NULL)
		*len = (size_t)n;
	return DP_OK;
}

/* Transaction control as cached prepared statements: parsed once per connection, not at
 * every call as sqlite3_exec would (a download runs a handful of transactions). PRAGMAs
 * stay with exec: SQLite applies a PRAGMA when it prepares it, not when it steps it. */
static const char sql_begin_immediate[] = "BEGIN IMMEDIATE";
static const char sql_begin_deferred[] = "BEGIN";
static const char sql_commit[] = "COMMIT";

static int run(struct dp_db *db, const char *sql)
{
	sqlite3_stmt *st;
	int r = prep(db, sql, &st);
	return r ? r : step_done(db, st, sql);
}

static bool in_batch(struct dp_db *db)
{
	return batch_db == db;
}

/* ---- group commit ---- */

/* Opens (again) our descriptor of the WAL when there is none or the file was replaced, and
 * syncs its directory once per file, so that the file itself survives a power failure
 * (SQLite at synchronous=NORMAL does that only at its first checkpoint). Returns 1 when
 * there is no WAL: everything was checkpointed into the database file, which SQLite synced.
 * Called under sync_lock with syncing set, so by one thread at a time. */
static int wal_open(struct dp_db *db)
{
	struct stat st;
	if (stat(db->wal_path, &st) != 0) {
		if (errno == ENOENT)
			return 1;
		return dp_err_set(DP_ERR_IO, "%s: %s", db->wal_path, strerror(errno));
	}
	if (db->wal_fd >= 0 && st.st_dev == db->wal_dev && st.st_ino == db->wal_ino)
		return DP_OK;
	if (db->wal_fd >= 0)
		close(db->wal_fd);
	db->wal_fd = open(db->wal_path, O_RDONLY | O_CLOEXEC);
	if (db->wal_fd < 0)
		return dp_err_set(DP_ERR_IO, "cannot open %s: %s", db->wal_path, strerror(errno));
	if (fstat(db->wal_fd, &st) != 0)
		return dp_err_set(DP_ERR_IO, "%s: %s", db->wal_path, strerror(errno));
	db->wal_dev = st.st_dev;
	db->wal_ino = st.st_ino;
	int dir = open(db->dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 || fsync(dir) != 0) {
		int e = errno;
		if (dir >= 0)
			close(dir);
		close(db->wal_fd);
		db->wal_fd = -1;
		return dp_err_set(DP_ERR_IO, "cannot sync %s: %s", db->dir_path, strerror(e));
	}
	close(dir);
	return DP_OK;
}

/* One sync of the WAL, covering every commit counted when it begins. Called under sync_lock
 * with no sync running; lets go of the lock meanwhile. *target receives the commit count
 * it was to cover. A failure leaves synced where it was. */
static int sync_once(struct dp_db *db, uint64_t *target)
{
	db->syncing = true;
	/* every commit counted has been written: the count moves after COMMIT returned */
	*target = atomic_load(&db->seq);
	pthread_mutex_unlock(&db->sync_lock);
	int r = wal_open(db);
	if (r == DP_OK && fdatasync(db->wal_fd) != 0)
		r = dp_err_set(DP_ERR_IO, "cannot sync %s: %s", db->wal_path, strerror(errno));
	pthread_mutex_lock(&db->sync_lock);
	db->syncing = false;
	if (r >= 0) { /* 1: no WAL, nothing to sync */
		if (r == DP_OK)
			db->n_syncs++;
		r = DP_OK;
		if (*target > db->synced)
			db->synced = *target;
	}
	pthread_cond_broadcast(&db->sync_done);
	return r;
}

/* Returns once commit number `need` is on disk. The first thread to find no sync running
 * syncs everything committed so far; the others wait for it, and sync again only if theirs
 * came after it began. A failed sync fails every commit it was to cover. */
static int wal_sync(struct dp_db *db, uint64_t need)
{
	int r = DP_OK;
	pthread_mutex_lock(&db->sync_lock);
	while (db->synced < need) {
		if (db->syncing) {
			pthread_cond_wait(&db->sync_done, &db->sync_lock);
			continue;
		}
		uint64_t target;
		r = sync_once(db, &target);
		if (r != DP_OK)
			break;
	}
	pthread_mutex_unlock(&db->sync_lock);
	return r;
}

/* Unlinks the waiters whose commit is at most upto (under sync_lock). */
static struct durable_waiter *take_waiters(struct dp_db *db, uint64_t upto)
{
	struct durable_waiter *taken = NULL, **p = &db->waiters;
	while (*p != NULL) {
		struct durable_waiter *w = *p;
		if (w->need <= upto) {
			*p = w->next;
			w->next = taken;
			taken = w;
		} else {
			p = &w->next;
		}
	}
	return taken;
}

static void settle_waiters(struct durable_waiter *w, int r)
{
	while (w != NULL) {
		struct durable_waiter *next = w->next;
		w->done(w->arg, r);
		free(w);
		w = next;
	}
}

/* The sync thread: syncs while tickets wait, one sync after the other, each covering every
 * commit made while the one before ran (or while a thread in wal_sync synced), and settles
 * the tickets each sync covered. The callbacks run without the lock. */
static void *sync_main(void *arg)
{
	struct dp_db *db = arg;
	pthread_mutex_lock(&db->sync_lock);
	while (!db->sync_stop || db->waiters != NULL) {
		struct durable_waiter *ready = take_waiters(db, db->synced);
		if (ready != NULL) {
			pthread_mutex_unlock(&db->sync_lock);
			settle_waiters(ready, DP_OK);
			pthread_mutex_lock(&db->sync_lock);
			continue;
		}
		if (db->waiters == NULL || db->syncing) {
			pthread_cond_wait(&db->sync_done, &db->sync_lock);
			continue;
		}
		uint64_t target;
		int r = sync_once(db, &target);
		if (r != DP_OK) {
			dp_log_error(DP_LOG_DB, "%s", dp_err_detail());
			ready = take_waiters(db, target);
			pthread_mutex_unlock(&db->sync_lock);
			settle_waiters(ready, r);
			pthread_mutex_lock(&db->sync_lock);
		}
	}
	pthread_mutex_unlock(&db->sync_lock);
	return NULL;
}

void dp_db_defer_begin(struct dp_db *db)
{
	defer_db = db;
	defer_need = 0;
}

uint64_t dp_db_defer_end(struct dp_db *db)
{
	if (defer_db != db)
		return 0;
	defer_db = NULL;
	uint64_t need = defer_need;
	defer_need = 0;
	if (need == 0)
		return 0;
	pthread_mutex_lock(&db->sync_lock);
	bool on_disk = db->synced >= need;
	pthread_mutex_unlock(&db->sync_lock);
	return on_disk ? 0 : need;
}

int dp_db_when_durable(struct dp_db *db, uint64_t ticket, dp_db_durable_cb done, void *arg)
{
	struct durable_waiter *w = malloc(sizeof(*w));
	pthread_mutex_lock(&db->sync_lock);
	if (db->synced >= ticket) {
		pthread_mutex_unlock(&db->sync_lock);
		free(w);
		return 1;
	}
	if (w != NULL && !db->sync_thread_on && !db->sync_stop &&
	    pthread_create(&db->sync_thread, NULL, sync_main, db) == 0)
		db->sync_thread_on = true;
	if (w == NULL || !db->sync_thread_on) {
		/* no memory or no thread: wait here, as a call outside a deferral does */
		pthread_mutex_unlock(&db->sync_lock);
		free(w);
		int r = wal_sync(db, ticket);
		return r != DP_OK ? r : 1;
	}
	*w = (struct durable_waiter){ ticket, done, arg, db->waiters };
	db->waiters = w;
	pthread_cond_broadcast(&db->sync_done);
	pthread_mutex_unlock(&db->sync_lock);
	return 0;
}

static int begin(struct dp_db *db)
{
	if (in_batch(db))
		return db->batch_error;
	pthread_mutex_lock(&db->lock);
	int r = run(db, sql_begin_immediate);
	if (r) {
		pthread_mutex_unlock(&db->lock);
		return r;
	}
	db->txn_unsynced = false;
	db->txn_changes = sqlite3_total_changes64(db->conn);
	return DP_OK;
}

/* Commits on r == 0, rolls back otherwise (the lock stays held). */
static int commit_or_rollback(struct dp_db *db, int r)
{
	if (r == DP_OK)
		r = run(db, sql_commit);
	if (r != DP_OK) {
		/* keep the error detail of the failure, not of the rollback */
		sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
	}
	return r;
}

/* Commits on r == 0, rolls back otherwise; returns r (or the commit's error). Inside a
 * batch the first failure is remembered and the batch's end rolls everything back.
 * Outside one, at db_sync_full it returns only once what this transaction wrote, and any
 * durable commit it could have read, is on disk: nothing leaves the process (a response,
 * a callback) that a power failure could take back. */
static int end(struct dp_db *db, int r)
{
	if (in_batch(db)) {
		if (r != DP_OK && db->batch_error == DP_OK)
			db->batch_error = r;
		return r;
	}
	r = commit_or_rollback(db, r);
	bool durable_write = false;
	if (r == DP_OK && sqlite3_total_changes64(db->conn) != db->txn_changes) {
		uint64_t n = atomic_fetch_add(&db->seq, 1) + 1;
		if (!db->txn_unsynced) {
			db->durable = n;
			durable_write = true;
		}
	}
	bool wait = db->sync_full;
	uint64_t need = db->durable;
	db->txn_unsynced = false;
	pthread_mutex_unlock(&db->lock);
	if (wait && need > 0) {
		if (defer_db == db) {
			/* the caller holds back what it answers until dp_db_when_durable */
			if (need > defer_need)
				defer_need = need;
		} else {
			int r2 = wal_sync(db, need);
			if (r == DP_OK)
				r = r2;
		}
		if (durable_write)
			atomic_fetch_add(&db->n_durable, 1);
	}
	return r;
}

/* A transaction whose commit need not survive a power failure, only a crash of the process
 * (a new session: a device whose session is lost starts again with
 * initiateAuthentication): its end() does not wait for a sync, and what it wrote becomes
 * durable with the next durable commit's sync, since the WAL is written in order. Inside a
 * batch, the batch's setting applies. */
static int begin_unsynced(struct dp_db *db)
{
	int r = begin(db);
	if (r == DP_OK && !in_batch(db))
		db->txn_unsynced = true;
	return r;
}

/* Reads-only work: the lock and a deferred transaction for a consistent view. */
static int begin_read(struct dp_db *db)
{
	if (in_batch(db))
		return db->batch_error;
	pthread_mutex_lock(&db->lock);
	int r = run(db, sql_begin_deferred);
	if (r) {
		pthread_mutex_unlock(&db->lock);
		return r;
	}
	db->txn_unsynced = false;
	db->txn_changes = sqlite3_total_changes64(db->conn);
	return DP_OK;
}

int dp_db_batch_begin(struct dp_db *db)
{
	if (in_batch(db))
		return dp_err_set(DP_ERR_INVAL, "a batch is already open");
	int r = begin(db);
	if (r)
		return r;
	batch_db = db;
	db->batch_error = DP_OK;
	return DP_OK;
}

int dp_db_batch_end(struct dp_db *db, bool commit)
{
	if (!in_batch(db))
		return dp_err_set(DP_ERR_INVAL, "no batch is open");
	int r = db->batch_error;
	if (r == DP_OK && !commit)
		r = dp_err_set(DP_ERR_INVAL, "batch abandoned");
	batch_db = NULL;
	return end(db, r);
}

/* Changes a profile's state through the table and writes the history row (inside a
 * transaction). *to_out (may be NULL) receives the new state. */
static int change_state(struct dp_db *db, int64_t profile_id, enum dp_profile_event ev,
			enum dp_profile_state hint, const char *actor, const char *why,
			enum dp_profile_state *to_out)
{
	static const char q_get[] =
		"SELECT state, iccid, profile_type, owner, eid FROM profiles WHERE id = ?1";
	/* a kept binding lives only while the profile can still be downloaded (Released,
	 * Downloaded) and the eUICC may still hold its one-time key: Installed, Error,
	 * deleted or reset forget it, and so do an install result with retry and a
	 * postponed cancel (the eUICC drops otSK.EUICC with its PIR or CancelSession) */
	static const char q_set[] =
		"UPDATE profiles SET state = ?2, updated_at = ?3,"
		" rebind_eid = CASE WHEN ?4 THEN rebind_eid END,"
		" rebind_otpk_euicc = CASE WHEN ?4 THEN rebind_otpk_euicc END,"
		" rebind_otsk_dp = CASE WHEN ?4 THEN rebind_otsk_dp END WHERE id = ?1";
	static const char q_hist[] =
		"INSERT INTO history(profile_id, at, actor, from_state, to_state, event, why)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *st;
	int r = prep(db, q_get, &st);
	if (r)
		return r;
	sqlite3_bind_int64(st, 1, profile_id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? dp_err_set(DP_ERR_NOT_FOUND, "profile %lld",
						      (long long)profile_id)
					 : sql_err(db, "profile state");
	}
	enum dp_profile_state from = (enum dp_profile_state)sqlite3_column_int(st, 0), to;
	/* who the profile is, for the change hook (ES2+ callbacks) */
	char iccid[DP_DB_ICCID_MAX + 1], type[DP_DB_TEXT_MAX + 1], owner[DP_DB_TEXT_MAX + 1];
	char eid[DP_DB_EID_LEN + 1];
	col_text(st, 1, iccid, sizeof(iccid));
	col_text(st, 2, type, sizeof(type));
	col_text(st, 3, owner, sizeof(owner));
	col_text(st, 4, eid, sizeof(eid));
	sqlite3_reset(st);
	r = dp_profile_transition(from, ev, hint, &to);
	if (r)
		return r;
	time_t now = time(NULL);
	r = prep(db, q_set, &st);
	if (r)
		return r;
	sqlite3_bind_int64(st, 1, profile_id);
	sqlite3_bind_int(st, 2, (int)to);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
	sqlite3_bind_int(st, 4, (to == DP_PROFILE_RELEASED || to == DP_PROFILE_DOWNLOADED) &&
				       ev != DP_EV_INSTALL_RETRY && ev != DP_EV_SESSION_POSTPONED);
	r = step_done(db, st, "profile state");
	if (r)
		return r;
	r = prep(db, q_hist, &st);
	if (r)
		return r;
	sqlite3_bind_int64(st, 1, profile_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	bind_str(st, 3, actor);
	sqlite3_bind_int(st, 4, (int)from);
	sqlite3_bind_int(st, 5, (int)to);
	bind_str(st, 6, dp_profile_event_name(ev));
	bind_str(st, 7, why);
	r = step_done(db, st, "history");
	if (r)
		return r;
	if (db->hook != NULL) {
		struct dp_db_change c = {
			.profile_id = profile_id, .iccid = iccid, .profile_type = type,
			.owner = owner, .eid = eid, .from = from, .to = to, .event = ev,
			.actor = actor != NULL ? actor : "", .why = why != NULL ? why : "",
			.at = now,
		};
		r = hook_queue(db, &c);
		if (r)
			return r;
	}
	dp_log_info(DP_LOG_DB, "profile %lld: %s -> %s (%s%s%s)", (long long)profile_id,
		    dp_profile_state_name(from), dp_profile_state_name(to),
		    dp_profile_event_name(ev), why != NULL && why[0] ? ": " : "",
		    why != NULL ? why : "");
	if (to_out != NULL)
		*to_out = to;
	return DP_OK;
}

static int set_profile_eid(struct dp_db *db, int64_t profile_id, const char *eid)
{
	static const char q[] = "UPDATE profiles SET eid = ?2 WHERE id = ?1";
	sqlite3_stmt *st;
	int r = prep(db, q, &st);
	if (r)
		return r;
	sqlite3_bind_int64(st, 1, profile_id);
	bind_text(st, 2, eid);
	return step_done(db, st, "profile binding");
}

/* ---- open / close ---- */

/* The steps from each version to the next, run in one transaction by migrate() */
static const struct {
	int from;
	const char *sql;
} migrations[] = {
	{ 1, schema_v2 },    /* the tables */
	{ 2, schema_callbacks },
	{ 3, schema_rebind },
	{ 4, schema_blobs },
	{ 5, schema_pages },
	{ 6, schema_ended },
};

static int migrate(struct dp_db *db)
{
	int r = exec(db, "BEGIN IMMEDIATE;"
			 "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
			 "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');");
	if (r)
		return r;
	for (size_t i = 0; r == DP_OK && i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		int v = 0;
		if (db->migrate_upto != 0 && migrations[i].from >= db->migrate_upto)
			break;
		r = dp_db_schema_version(db, &v);
		if (r == DP_OK && v == migrations[i].from)
			r = exec(db, migrations[i].sql);
	}
	if (r == DP_OK)
		r = exec(db, "COMMIT");
	if (r)
		sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int open_upto(const char *path, int upto, struct dp_db **out);

int dp_db_open(const char *path, struct dp_db **out)
{
	return open_upto(path, 0, out);
}

int dp_db_open_schema(const char *path, int version, struct dp_db **out)
{
	if (version < 4 || version > SCHEMA_VERSION)
		return dp_err_set(DP_ERR_INVAL, "schema version %d cannot be opened", version);
	return open_upto(path, version == SCHEMA_VERSION ? 0 : version, out);
}

static int open_upto(const char *path, int upto, struct dp_db **out)
{
	int r;
	struct dp_db *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return dp_err_set(DP_ERR_NOMEM, "database handle");
	pthread_mutex_init(&db->lock, NULL);
	pthread_mutex_init(&db->sync_lock, NULL);
	pthread_cond_init(&db->sync_done, NULL);
	db->wal_fd = -1;
	db->migrate_upto = upto;
	if (sqlite3_open_v2(path, &db->conn,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		r = dp_err_set(DP_ERR_IO, "cannot open database %s: %s", path,
			       db->conn ? sqlite3_errmsg(db->conn) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db->conn, 5000);
	/* WAL: readers never block the writer. NORMAL: SQLite syncs the WAL only at
	 * checkpoints; end() makes each durable commit survive a power loss (group commit).
	 * secure_delete=FAST: deleted content is zeroed inside the pages a change writes
	 * anyway (a session's otSK.DP set to NULL, a deleted row), but freed pages are not
	 * written again just to zero them. Debian builds SQLite with SECURE_DELETE on, which
	 * rewrote a BPP's freed overflow pages at every handleNotification. */
	r = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
		     " PRAGMA secure_delete=FAST;");
	if (r)
		goto fail;
	/* the WAL and its folder, for wal_sync (SQLite names it after the database) */
	const char *file = sqlite3_db_filename(db->conn, "main");
	if (file == NULL || file[0] == '\0' ||
	    (size_t)snprintf(db->wal_path, sizeof(db->wal_path), "%s-wal", file) >=
		    sizeof(db->wal_path) ||
	    (size_t)snprintf(db->dir_path, sizeof(db->dir_path), "%s", file) >=
		    sizeof(db->dir_path)) {
		r = dp_err_set(DP_ERR_IO, "database %s: no usable file name", path);
		goto fail;
	}
	char *slash = strrchr(db->dir_path, '/');
	if (slash == NULL)
		snprintf(db->dir_path, sizeof(db->dir_path), ".");
	else if (slash == db->dir_path)
		slash[1] = '\0';
	else
		*slash = '\0';
	db->sync_full = true;
	int64_t before = sqlite3_total_changes64(db->conn);
	r = migrate(db);
	if (r == DP_OK && sqlite3_total_changes64(db->conn) != before) {
		/* a new or upgraded file: on disk before anything uses it */
		db->durable = atomic_fetch_add(&db->seq, 1) + 1;
		r = wal_sync(db, db->durable);
	}
	if (r)
		goto fail;
	int v = 0;
	r = dp_db_schema_version(db, &v);
	if (r)
		goto fail;
	if (v != (upto != 0 ? upto : SCHEMA_VERSION)) {
		r = dp_err_set(DP_ERR_IO, "database %s has schema version %d, this smdp knows %d",
			       path, v, SCHEMA_VERSION);
		goto fail;
	}
	*out = db;
	return DP_OK;
fail:
	if (r == DP_ERR_DB)
		/* dp_err_wrap adds the ": " itself (was "database X: : ...") */
		r = dp_err_wrap(DP_ERR_IO, "database %s", path);
	dp_db_close(db);
	return r;
}

void dp_db_close(struct dp_db *db)
{
	if (db == NULL)
		return;
	/* the sync thread settles every ticket still waiting before it ends */
	pthread_mutex_lock(&db->sync_lock);
	db->sync_stop = true;
	bool joined = db->sync_thread_on;
	pthread_cond_broadcast(&db->sync_done);
	pthread_mutex_unlock(&db->sync_lock);
	if (joined)
		pthread_join(db->sync_thread, NULL);
	for (size_t i = 0; i < db->n_cache; i++)
		sqlite3_finalize(db->cache[i].st);
	sqlite3_close_v2(db->conn);
	if (db->wal_fd >= 0)
		close(db->wal_fd);
	pthread_cond_destroy(&db->sync_done);
	pthread_mutex_destroy(&db->sync_lock);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

int dp_db_set_synchronous(struct dp_db *db, bool full)
{
	pthread_mutex_lock(&db->lock);
	db->sync_full = full;
	pthread_mutex_unlock(&db->lock);
	return DP_OK;
}

void dp_db_sync_stats(struct dp_db *db, uint64_t *durable_commits, uint64_t *syncs)
{
	pthread_mutex_lock(&db->sync_lock);
	*durable_commits = atomic_load(&db->n_durable);
	*syncs = db->n_syncs;
	pthread_mutex_unlock(&db->sync_lock);
}

int dp_db_schema_version(struct dp_db *db, int *version)
{
	sqlite3_stmt *st = NULL;
	int r;
	if (sqlite3_prepare_v2(db->conn, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
			       &st, NULL) != SQLITE_OK) {
		r = sql_err(db, "schema version");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = dp_err_set(DP_ERR_IO, "database has no schema version");
		goto out;
	}
	*version = atoi((const char *)sqlite3_column_text(st, 0));
	r = DP_OK;
out:
	sqlite3_finalize(st);
	return r;
}

/* ---- profiles ---- */

void dp_db_profile_init(struct dp_db_profile *p)
{
	memset(p, 0, sizeof(*p));
	dp_buf_init(&p->metadata, 64 * 1024);
	dp_buf_init(&p->package, BLOB_MAX);
}

void dp_db_profile_deinit(struct dp_db_profile *p)
{
	dp_buf_deinit(&p->metadata);
	dp_buf_deinit(&p->package);
	dp_kdf_keys_wipe(&p->ppk);
}

static void ppk_pack(const struct dp_session_keys *k, uint8_t out[48])
{
	memcpy(out, k->mcv, 16);
	memcpy(out + 16, k->s_enc, 16);
	memcpy(out + 32, k->s_mac, 16);
}

int dp_db_profile_add(struct dp_db *db, const struct dp_db_profile_new *p, const char *actor,
		      int64_t *id)
{
	static const char q[] =
		"INSERT INTO profiles(iccid, profile_type, owner, state, profile_class, ppr,"
		" metadata, ppk, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?9, ?10)";
	static const char q_pkg[] = "INSERT INTO packages(profile_id, package) VALUES (?1, ?2)";
	static const char q_hist[] =
		"INSERT INTO history(profile_id, at, actor, from_state, to_state, event, why)"
		" VALUES (?1, ?2, ?3, ?4, ?4, 'import', '')";
	uint8_t ppk[48];
	sqlite3_stmt *st;
	int r = begin(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r)
		goto out;
	bind_str(st, 1, p->iccid);
	bind_str(st, 2, p->profile_type);
	bind_str(st, 3, p->owner);
	sqlite3_bind_int(st, 4, DP_PROFILE_AVAILABLE);
	sqlite3_bind_int(st, 5, p->profile_class);
	sqlite3_bind_int64(st, 6, p->ppr);
	bind_blob(st, 7, p->metadata, p->metadata_len);
	if (p->ppk != NULL) {
		ppk_pack(p->ppk, ppk);
		bind_blob(st, 9, ppk, sizeof(ppk));
	}
	sqlite3_bind_int64(st, 10, (sqlite3_int64)time(NULL));
	r = step_done(db, st, "profile");
	if (r == DP_ERR_DB_EXISTS)
		r = dp_err_set(DP_ERR_DB_EXISTS, "a profile with ICCID %s is already stored",
			       p->iccid);
	if (r)
		goto out;
	int64_t new_id = sqlite3_last_insert_rowid(db->conn);
	r = prep(db, q_pkg, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, new_id);
	bind_blob(st, 2, p->package, p->package_len);
	r = step_done(db, st, "profile package");
	if (r)
		goto out;
	r = prep(db, q_hist, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, new_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	bind_str(st, 3, actor);
	sqlite3_bind_int(st, 4, DP_PROFILE_AVAILABLE);
	r = step_done(db, st, "history");
	if (r == DP_OK && id != NULL)
		*id = new_id;
out:
	dp_wipe(ppk, sizeof(ppk));
	return end(db, r);
}

/* the package from its own table (schema 5); length() reads only the record header */
/* The profile columns, with column 10 the package or NULL: a reader that does not want
 * the package must not have SQLite read its overflow pages and copy it (12 KB and more). */
#define PROFILE_COLS_WITH(package) \
	"id, iccid, profile_type, owner, state, eid, profile_class, ppr, updated_at, metadata, " \
	package ", ppk, " \
	"(SELECT length(package) FROM packages WHERE profile_id = profiles.id), isdp_aid"
#define PROFILE_COLS PROFILE_COLS_WITH("(SELECT package FROM packages WHERE profile_id = profiles.id)")
#define PROFILE_COLS_NO_PACKAGE PROFILE_COLS_WITH("NULL")

static int read_profile(sqlite3_stmt *st, bool with_blobs, bool with_package,
			struct dp_db_profile *out)
{
	out->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, out->iccid, sizeof(out->iccid));
	col_text(st, 2, out->profile_type, sizeof(out->profile_type));
	col_text(st, 3, out->owner, sizeof(out->owner));
	out->state = (enum dp_profile_state)sqlite3_column_int(st, 4);
	col_text(st, 5, out->eid, sizeof(out->eid));
	out->profile_class = sqlite3_column_int(st, 6);
	out->ppr = (uint32_t)sqlite3_column_int64(st, 7);
	out->updated_at = (time_t)sqlite3_column_int64(st, 8);
	out->package_len = (size_t)sqlite3_column_int64(st, 12);
	int r = col_fixed(st, 13, out->isdp_aid, sizeof(out->isdp_aid), &out->isdp_aid_len);
	if (r || !with_blobs)
		return r;
	r = col_buf(st, 9, &out->metadata);
	if (r == DP_OK && with_package)
		r = col_buf(st, 10, &out->package);
	if (r)
		return r;
	uint8_t ppk[48];
	size_t n = 0;
	r = col_fixed(st, 11, ppk, sizeof(ppk), &n);
	if (r == DP_OK && n == 48) {
		out->has_ppk = true;
		memcpy(out->ppk.mcv, ppk, 16);
		memcpy(out->ppk.s_enc, ppk + 16, 16);
		memcpy(out->ppk.s_mac, ppk + 32, 16);
	}
	dp_wipe(ppk, sizeof(ppk));
	return r;
}

/* q_package selects the package, q_bare does not; the same columns otherwise. */
/* One profile by ICCID (iccid not NULL) or id, inside a transaction. */
static int profile_read(struct dp_db *db, const char *q, const char *iccid, int64_t id,
			bool with_package, struct dp_db_profile *out)
{
	sqlite3_stmt *st;
	int r = prep(db, q, &st);
	if (r)
		return r;
	if (iccid != NULL)
		bind_str(st, 1, iccid);
	else
		sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = read_profile(st, true, with_package, out);
	else if (rc == SQLITE_DONE)
		r = iccid != NULL ? dp_err_set(DP_ERR_NOT_FOUND, "no profile with ICCID %s", iccid)
				  : dp_err_set(DP_ERR_NOT_FOUND, "no profile %lld", (long long)id);
	else
		r = sql_err(db, "profile");
	sqlite3_reset(st);
	return r;
}

static int profile_query(struct dp_db *db, const char *q_package, const char *q_bare,
			 const char *iccid, int64_t id, bool with_package,
			 struct dp_db_profile *out)
{
	int r = begin_read(db);
	if (r)
		return r;
	r = profile_read(db, with_package ? q_package : q_bare, iccid, id, with_package, out);
	return end(db, r);
}

int dp_db_profile_get(struct dp_db *db, const char *iccid, bool with_package,
		      struct dp_db_profile *out)
{
	static const char q[] = "SELECT " PROFILE_COLS " FROM profiles WHERE iccid = ?1";
	static const char q_bare[] =
		"SELECT " PROFILE_COLS_NO_PACKAGE " FROM profiles WHERE iccid = ?1";
	return profile_query(db, q, q_bare, iccid, 0, with_package, out);
}

/* A profile by id without its package: one string, so one cached statement (prep() keys
 * its cache by the SQL's address), for dp_db_profile_get_by_id and authenticateClient. */
static const char sql_profile_by_id_bare[] =
	"SELECT " PROFILE_COLS_NO_PACKAGE " FROM profiles WHERE id = ?1";

int dp_db_profile_get_by_id(struct dp_db *db, int64_t id, bool with_package,
			    struct dp_db_profile *out)
{
	static const char q[] = "SELECT " PROFILE_COLS " FROM profiles WHERE id = ?1";
	return profile_query(db, q, sql_profile_by_id_bare, NULL, id, with_package, out);
}

int dp_db_profile_list(struct dp_db *db, const struct dp_db_profile_filter *f,
		       dp_db_profile_cb cb, void *ctx)
{
	static const char q[] =
		"SELECT " PROFILE_COLS_NO_PACKAGE " FROM profiles WHERE (?1 IS NULL OR state = ?1)"
		" AND (?2 IS NULL OR profile_type = ?2) AND (?3 IS NULL OR owner = ?3)"
		" ORDER BY iccid";
	sqlite3_stmt *st;
	struct dp_db_profile p;
	dp_db_profile_init(&p);
	int r = begin_read(db);
	if (r)
		goto done;
	r = prep(db, q, &st);
	if (r)
		goto out;
	if (f != NULL && f->state != DP_PROFILE_STATE_COUNT)
		sqlite3_bind_int(st, 1, (int)f->state);
	if (f != NULL && f->profile_type != NULL)
		bind_str(st, 2, f->profile_type);
	if (f != NULL && f->owner != NULL)
		bind_str(st, 3, f->owner);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = read_profile(st, false, false, &p);
		if (r == DP_OK)
			r = cb(ctx, &p);
		if (r)
			break;
	}
	if (r == DP_OK && rc != SQLITE_DONE)
		r = sql_err(db, "profile list");
	sqlite3_reset(st);
out:
	r = end(db, r);
done:
	dp_db_profile_deinit(&p);
	return r;
}

int dp_db_profile_count(struct dp_db *db, const char *profile_type,
			size_t counts[DP_PROFILE_STATE_COUNT])
{
	static const char q[] = "SELECT state, count(*) FROM profiles"
				" WHERE (?1 IS NULL OR profile_type = ?1) GROUP BY state";
	sqlite3_stmt *st;
	memset(counts, 0, sizeof(size_t) * DP_PROFILE_STATE_COUNT);
	int r = begin_read(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r)
		goto out;
	if (profile_type != NULL)
		bind_str(st, 1, profile_type);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int s = sqlite3_column_int(st, 0);
		if (s >= 0 && s < DP_PROFILE_STATE_COUNT)
			counts[s] = (size_t)sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE)
		r = sql_err(db, "profile count");
	sqlite3_reset(st);
out:
	return end(db, r);
}

static int profile_id_by_iccid(struct dp_db *db, const char *iccid, int64_t *id)
{
	static const char q[] = "SELECT id FROM profiles WHERE iccid = ?1";
	sqlite3_stmt *st;
	int r = prep(db, q, &st);
	if (r)
		return r;
	bind_str(st, 1, iccid);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		r = dp_err_set(DP_ERR_NOT_FOUND, "no profile with ICCID %s", iccid);
	else
		r = sql_err(db, "profile");
	sqlite3_reset(st);
	return r;
}

int dp_db_profile_event(struct dp_db *db, const char *iccid, enum dp_profile_event ev,
			enum dp_profile_state hint, const char *actor, const char *why)
{
	int64_t id = 0;
	enum dp_profile_state to;
	int r = begin(db);
	if (r)
		return r;
	r = profile_id_by_iccid(db, iccid, &id);
	if (r == DP_OK)
		r = change_state(db, id, ev, hint, actor, why, &to);
	/* a profile back in the pool or retired is bound to no eUICC and no order */
	if (r == DP_OK && (to == DP_PROFILE_AVAILABLE || to == DP_PROFILE_UNAVAILABLE))
		r = set_profile_eid(db, id, NULL);
	if (r == DP_OK && (to == DP_PROFILE_AVAILABLE || to == DP_PROFILE_UNAVAILABLE)) {
		static const char q[] = "UPDATE orders SET closed = 1 WHERE profile_id = ?1";
		sqlite3_stmt *st;
		r = prep(db, q, &st);
		if (r == DP_OK) {
			sqlite3_bind_int64(st, 1, id);
			r = step_done(db, st, "order");
		}
	}
	return end(db, r);
}

int dp_db_profile_history(struct dp_db *db, const char *iccid, dp_db_history_cb cb, void *ctx)
{
	static const char q[] =
		"SELECT h.at, h.actor, h.from_state, h.to_state, h.event, h.why FROM history h"
		" JOIN profiles p ON p.id = h.profile_id WHERE p.iccid = ?1 ORDER BY h.id";
	sqlite3_stmt *st;
	struct dp_db_history h;
	int64_t id;
	int r = begin_read(db);
	if (r)
		return r;
	r = profile_id_by_iccid(db, iccid, &id);
	if (r)
		goto out;
	r = prep(db, q, &st);
	if (r)
		goto out;
	bind_str(st, 1, iccid);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		h.at = (time_t)sqlite3_column_int64(st, 0);
		col_text(st, 1, h.actor, sizeof(h.actor));
		h.from = (enum dp_profile_state)sqlite3_column_int(st, 2);
		h.to = (enum dp_profile_state)sqlite3_column_int(st, 3);
		col_text(st, 4, h.event, sizeof(h.event));
		col_text(st, 5, h.why, sizeof(h.why));
		r = cb(ctx, &h);
		if (r)
			break;
	}
	if (r == DP_OK && rc != SQLITE_DONE)
		r = sql_err(db, "history");
	sqlite3_reset(st);
out:
	return end(db, r);
}

/* ---- orders ---- */

#define ORDER_COLS \
	"o.id, o.matching_id, o.profile_id, p.iccid, o.profile_type, o.pool, o.eid, o.cc_hash, " \
	"o.expires_at, o.attempts, o.max_attempts, o.cc_failures, o.cc_max_attempts, " \
	"o.reuse_on_delete, o.closed, o.created_at, p.state, p.eid"

static int read_order(sqlite3_stmt *st, struct dp_db_order *o)
{
	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, o->matching_id, sizeof(o->matching_id));
	o->profile_id = sqlite3_column_int64(st, 2);
	col_text(st, 3, o->iccid, sizeof(o->iccid));
	col_text(st, 4, o->profile_type, sizeof(o->profile_type));
	o->pool = sqlite3_column_int(st, 5) != 0;
	col_text(st, 6, o->eid, sizeof(o->eid));
	size_t n = 0;
	int r = col_fixed(st, 7, o->cc_hash, sizeof(o->cc_hash), &n);
	o->has_cc = n == 32;
	o->expires_at = (time_t)sqlite3_column_int64(st, 8);
	o->attempts = (unsigned)sqlite3_column_int(st, 9);
	o->max_attempts = (unsigned)sqlite3_column_int(st, 10);
	o->cc_failures = (unsigned)sqlite3_column_int(st, 11);
	o->cc_max_attempts = (unsigned)sqlite3_column_int(st, 12);
	o->reuse_on_delete = sqlite3_column_int(st, 13) != 0;
	o->closed = sqlite3_column_int(st, 14) != 0;
	o->created_at = (time_t)sqlite3_column_int64(st, 15);
	o->profile_state = sqlite3_column_type(st, 16) == SQLITE_NULL
				   ? DP_PROFILE_STATE_COUNT
				   : (enum dp_profile_state)sqlite3_column_int(st, 16);
	col_text(st, 17, o->profile_eid, sizeof(o->profile_eid));
	return r;
}

int dp_db_order_add(struct dp_db *db, const struct dp_db_order_new *o, const char *actor,
		    int64_t *id, char *iccid_out)
{
	static const char q_first[] =
		"SELECT id, iccid FROM profiles WHERE profile_type = ?1 AND state = " AVAILABLE_SQL
		" ORDER BY id LIMIT 1";
	static const char q_by_iccid[] = "SELECT id, iccid, state FROM profiles WHERE iccid = ?1";
	static const char q_ins[] =
		"INSERT INTO orders(matching_id, profile_id, profile_type, pool, eid, cc_hash,"
		" expires_at, max_attempts, cc_max_attempts, reuse_on_delete, owner, created_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
	static const char q_link[] = "UPDATE profiles SET eid = ?2, last_order = ?3 WHERE id = ?1";
	sqlite3_stmt *st;
	int64_t profile_id = 0;
	char iccid[DP_DB_ICCID_MAX + 1] = "";
	int rc, r = begin(db);
	if (r)
		return r;
	if (!o->pool) {
		if (o->iccid != NULL) {
			r = prep(db, q_by_iccid, &st);
			if (r)
				goto out;
			bind_str(st, 1, o->iccid);
		} else {
			r = prep(db, q_first, &st);
			if (r)
				goto out;
			bind_str(st, 1, o->profile_type);
		}
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			profile_id = sqlite3_column_int64(st, 0);
			col_text(st, 1, iccid, sizeof(iccid));
			if (o->iccid != NULL && sqlite3_column_int(st, 2) != DP_PROFILE_AVAILABLE)
				r = dp_err_set(DP_ERR_DB_STATE, "profile %s is %s, not Available",
					       iccid,
					       dp_profile_state_name(sqlite3_column_int(st, 2)));
		} else if (rc == SQLITE_DONE) {
			r = o->iccid != NULL
				    ? dp_err_set(DP_ERR_NOT_FOUND, "no profile with ICCID %s", o->iccid)
				    : dp_err_set(DP_ERR_NOT_FOUND,
						 "no Available profile of type '%s'",
						 o->profile_type ? o->profile_type : "");
		} else {
			r = sql_err(db, "order profile");
		}
		sqlite3_reset(st);
		if (r)
			goto out;
	}
	r = prep(db, q_ins, &st);
	if (r)
		goto out;
	bind_text(st, 1, o->matching_id);
	if (profile_id != 0)
		sqlite3_bind_int64(st, 2, profile_id);
	bind_str(st, 3, o->profile_type);
	sqlite3_bind_int(st, 4, o->pool);
	bind_text(st, 5, o->eid);
	bind_blob(st, 6, o->cc_hash, o->cc_hash != NULL ? 32 : 0);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)o->expires_at);
	sqlite3_bind_int(st, 8, (int)o->max_attempts);
	sqlite3_bind_int(st, 9, (int)o->cc_max_attempts);
	sqlite3_bind_int(st, 10, o->reuse_on_delete);
	bind_str(st, 11, o->owner);
	sqlite3_bind_int64(st, 12, (sqlite3_int64)time(NULL));
	r = step_done(db, st, "order");
	if (r == DP_ERR_DB_EXISTS)
		r = dp_err_set(DP_ERR_DB_EXISTS, "an open order already has matching ID '%s'",
			       o->matching_id ? o->matching_id : "");
	if (r)
		goto out;
	int64_t order_id = sqlite3_last_insert_rowid(db->conn);
	if (profile_id != 0) {
		r = change_state(db, profile_id, DP_EV_ADMIN_ORDER, DP_PROFILE_STATE_COUNT, actor,
				 o->matching_id ? o->matching_id : "order without matching ID", NULL);
		if (r)
			goto out;
		r = prep(db, q_link, &st);
		if (r)
			goto out;
		sqlite3_bind_int64(st, 1, profile_id);
		bind_text(st, 2, o->eid);
		sqlite3_bind_int64(st, 3, order_id);
		r = step_done(db, st, "order profile");
		if (r)
			goto out;
	}
	if (id != NULL)
		*id = order_id;
	if (iccid_out != NULL)
		memcpy(iccid_out, iccid, sizeof(iccid));
out:
	return end(db, r);
}

static int order_query(struct dp_db *db, const char *q, const char *arg, struct dp_db_order *out,
		       const char *what)
{
	sqlite3_stmt *st;
	int r = begin_read(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r)
		goto out;
	bind_str(st, 1, arg);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = read_order(st, out);
	else if (rc == SQLITE_DONE)
		r = dp_err_set(DP_ERR_NOT_FOUND, "no open order %s", what);
	else
		r = sql_err(db, "order");
	sqlite3_reset(st);
out:
	return end(db, r);
}

int dp_db_order_find(struct dp_db *db, const char *matching_id, struct dp_db_order *out)
{
	static const char q[] = "SELECT " ORDER_COLS " FROM orders o LEFT JOIN profiles p"
				" ON p.id = o.profile_id WHERE o.matching_id = ?1 AND o.closed = 0";
	return order_query(db, q, matching_id, out, "with that matching ID");
}

/* order_query binds text; an id goes through here */
int dp_db_order_get(struct dp_db *db, int64_t id, struct dp_db_order *out)
{
	static const char q[] = "SELECT " ORDER_COLS " FROM orders o LEFT JOIN profiles p"
				" ON p.id = o.profile_id WHERE o.id = ?1";
	sqlite3_stmt *st;
	int r = begin_read(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = read_order(st, out);
	else if (rc == SQLITE_DONE)
		r = dp_err_set(DP_ERR_NOT_FOUND, "no order %lld", (long long)id);
	else
		r = sql_err(db, "order");
	sqlite3_reset(st);
out:
	return end(db, r);
}

int dp_db_order_find_for_eid(struct dp_db *db, const char *eid, struct dp_db_order *out)
{
	static const char q[] = "SELECT " ORDER_COLS " FROM orders o LEFT JOIN profiles p"
				" ON p.id = o.profile_id WHERE o.eid = ?1 AND o.matching_id IS NULL"
				" AND o.closed = 0 ORDER BY o.id LIMIT 1";
	return order_query(db, q, eid, out, "without matching ID for this EID");
}

int dp_db_order_list(struct dp_db *db, bool include_closed, dp_db_order_cb cb, void *ctx)
{
	static const char q[] = "SELECT " ORDER_COLS " FROM orders o LEFT JOIN profiles p"
				" ON p.id = o.profile_id WHERE ?1 OR o.closed = 0 ORDER BY o.id";
	sqlite3_stmt *st;
	struct dp_db_order o;
	int r = begin_read(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r)
		goto out;
	sqlite3_bind_int(st, 1, include_closed);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = read_order(st, &o);
		if (r == DP_OK)
			r = cb(ctx, &o);
		if (r)
			break;
	}
	if (r == DP_OK && rc != SQLITE_DONE)
		r = sql_err(db, "order list");
	sqlite3_reset(st);
out:
	return end(db, r);
}

static int close_order(struct dp_db *db, int64_t order_id)
{
	static const char q[] = "UPDATE orders SET closed = 1 WHERE id = ?1";
	sqlite3_stmt *st;
	int r = prep(db, q, &st);
	if (r)
		return r;
	sqlite3_bind_int64(st, 1, order_id);
	return step_done(db, st, "order close");
}

int dp_db_order_fail(struct dp_db *db, int64_t order_id, enum dp_profile_event ev,
		     const char *why)
{
	static const char q[] = "SELECT profile_id FROM orders WHERE id = ?1";
	sqlite3_stmt *st;
	int r = begin(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, order_id);
	int64_t profile_id = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		profile_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (profile_id != 0)
		r = change_state(db, profile_id, ev, DP_PROFILE_STATE_COUNT, "es9", why, NULL);
	if (r == DP_OK)
		r = close_order(db, order_id);
out:
	return end(db, r);
}

/* ---- sessions ---- */

void dp_db_session_init(struct dp_db_session *s)
{
	memset(s, 0, sizeof(*s));
	dp_buf_init(&s->euicc_cert, 4096);
	dp_buf_init(&s->eum_cert, 4096);
	dp_buf_init(&s->smdp_signed2, 1024);
	dp_buf_init(&s->bpp, BLOB_MAX);
}

void dp_db_session_deinit(struct dp_db_session *s)
{
	dp_buf_deinit(&s->euicc_cert);
	dp_buf_deinit(&s->eum_cert);
	dp_buf_deinit(&s->smdp_signed2);
	dp_buf_deinit(&s->bpp);
}

int dp_db_session_add(struct dp_db *db, const struct dp_db_session *s)
{
	static const char q[] =
		"INSERT INTO sessions(tid, stage, created_at, expires_at, smdp_address,"
		" server_challenge, euicc_challenge, ci_ski) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
	sqlite3_stmt *st;
	int r = begin_unsynced(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r)
		goto out;
	bind_blob(st, 1, s->tid, s->tid_len);
	sqlite3_bind_int(st, 2, DP_DB_STAGE_INITIATED);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)s->created_at);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)s->expires_at);
	bind_str(st, 5, s->smdp_address);
	bind_blob(st, 6, s->server_challenge, 16);
	bind_blob(st, 7, s->euicc_challenge, 16);
	bind_blob(st, 8, s->ci_ski, s->ci_ski_len);
	r = step_done(db, st, "session");
out:
	return end(db, r); /* does not wait: begin_unsynced */
}

/* The session columns, with column 18 the BPP or NULL (see PROFILE_COLS_WITH) and column 20
 * the ICCID of the session's profile. */
#define SESSION_COLS_WITH(bpp) \
	"tid, stage, created_at, expires_at, smdp_address, server_challenge, euicc_challenge, " \
	"ci_ski, eid, euicc_cert, eum_cert, order_id, profile_id, cc_required, smdp_signed2, " \
	"smdp_signature2, otpk_euicc, otsk_dp, " bpp ", end_reason, " \
	"(SELECT iccid FROM profiles WHERE profiles.id = sessions.profile_id)"
#define SESSION_COLS \
	SESSION_COLS_WITH("(SELECT bpp FROM session_bpps WHERE session_bpps.tid = sessions.tid)")

static int read_session(sqlite3_stmt *st, bool with_blobs, struct dp_db_session *s)
{
	int r = col_fixed(st, 0, s->tid, sizeof(s->tid), &s->tid_len);
	s->stage = (enum dp_db_stage)sqlite3_column_int(st, 1);
	s->created_at = (time_t)sqlite3_column_int64(st, 2);
	s->expires_at = (time_t)sqlite3_column_int64(st, 3);
	col_text(st, 4, s->smdp_address, sizeof(s->smdp_address));
	if (r == DP_OK)
		r = col_fixed(st, 5, s->server_challenge, 16, NULL);
	if (r == DP_OK)
		r = col_fixed(st, 6, s->euicc_challenge, 16, NULL);
	if (r == DP_OK)
		r = col_fixed(st, 7, s->ci_ski, sizeof(s->ci_ski), &s->ci_ski_len);
	col_text(st, 8, s->eid, sizeof(s->eid));
	s->order_id = sqlite3_column_int64(st, 11);
	s->profile_id = sqlite3_column_int64(st, 12);
	s->cc_required = sqlite3_column_int(st, 13) != 0;
	col_text(st, 19, s->end, sizeof(s->end));
	col_text(st, 20, s->profile_iccid, sizeof(s->profile_iccid));
	size_t n = 0;
	if (r == DP_OK)
		r = col_fixed(st, 16, s->otpk_euicc, sizeof(s->otpk_euicc), &n);
	s->bound = n == sizeof(s->otpk_euicc);
	if (r || !with_blobs)
		return r;
	r = col_buf(st, 9, &s->euicc_cert);
	if (r == DP_OK)
		r = col_buf(st, 10, &s->eum_cert);
	if (r == DP_OK)
		r = col_buf(st, 14, &s->smdp_signed2);
	if (r == DP_OK)
		r = col_fixed(st, 15, s->smdp_signature2, sizeof(s->smdp_signature2), NULL);
	if (r == DP_OK)
		r = col_buf(st, 18, &s->bpp);
	return r;
}

static int session_get(struct dp_db *db, const uint8_t *tid, size_t tid_len, bool with_bpp,
		       struct dp_db_session *out)
{
	static const char q[] = "SELECT " SESSION_COLS " FROM sessions WHERE tid = ?1";
	static const char q_bare[] =
		"SELECT " SESSION_COLS_WITH("NULL") " FROM sessions WHERE tid = ?1";
	sqlite3_stmt *st;
	int r = begin_read(db);
	if (r)
		return r;
	r = prep(db, with_bpp ? q : q_bare, &st);
	if (r)
		goto out;
	bind_blob(st, 1, tid, tid_len);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = read_session(st, true, out);
	else if (rc == SQLITE_DONE)
		r = dp_err_set(DP_ERR_NOT_FOUND, "no session with this transactionId");
	else
		r = sql_err(db, "session");
	sqlite3_reset(st);
out:
	return end(db, r);
}

int dp_db_session_get(struct dp_db *db, const uint8_t *tid, size_t tid_len,
		      struct dp_db_session *out)
{
	return session_get(db, tid, tid_len, true, out);
}

int dp_db_session_get_without_bpp(struct dp_db *db, const uint8_t *tid, size_t tid_len,
				  struct dp_db_session *out)
{
	return session_get(db, tid, tid_len, false, out); /* the NULL column empties out->bpp */
}

/* The stage and expiry of a session inside a transaction. */
static int session_stage(struct dp_db *db, const uint8_t *tid, size_t tid_len,
			 enum dp_db_stage *stage, time_t *expires_at, int64_t *profile_id,
			 int64_t *order_id, bool *pool_claim)
{
	static const char q[] = "SELECT stage, expires_at, profile_id, order_id, pool_claim"
				" FROM sessions WHERE tid = ?1";
	sqlite3_stmt *st;
	int r = prep(db, q, &st);
	if (r)
		return r;
	bind_blob(st, 1, tid, tid_len);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*stage = (enum dp_db_stage)sqlite3_column_int(st, 0);
		*expires_at = (time_t)sqlite3_column_int64(st, 1);
		*profile_id = sqlite3_column_int64(st, 2);
		*order_id = sqlite3_column_int64(st, 3);
		*pool_claim = sqlite3_column_int(st, 4) != 0;
	} else if (rc == SQLITE_DONE) {
		r = dp_err_set(DP_ERR_NOT_FOUND, "no session with this transactionId");
	} else {
		r = sql_err(db, "session");
	}
	sqlite3_reset(st);
	return r;
}

int dp_db_session_authenticate(struct dp_db *db, struct dp_db_session *s, time_t now,
			       struct dp_db_profile *profile)
{
	static const char q_order[] =
		"SELECT profile_id, pool, profile_type, attempts, max_attempts, closed"
		" FROM orders WHERE id = ?1";
	static const char q_claim[] =
		"SELECT id FROM profiles WHERE profile_type = ?1 AND state = " AVAILABLE_SQL
		" ORDER BY id LIMIT 1";
	static const char q_profile[] = "SELECT state, eid FROM profiles WHERE id = ?1";
	static const char q_attempt[] = "UPDATE orders SET attempts = attempts + 1 WHERE id = ?1";
	static const char q_link[] = "UPDATE profiles SET eid = ?2, last_order = ?3 WHERE id = ?1";
	static const char q_sess[] =
		"UPDATE sessions SET stage = ?2, eid = ?3, euicc_cert = ?4, eum_cert = ?5,"
		" order_id = ?6, profile_id = ?7, pool_claim = ?8, cc_required = ?9,"
		" smdp_signed2 = ?10, smdp_signature2 = ?11 WHERE tid = ?1";
	sqlite3_stmt *st;
	enum dp_db_stage stage;
	time_t expires;
	int64_t pid0, oid0;
	bool claim0;
	int r = begin(db);
	if (r)
		return r;
	r = session_stage(db, s->tid, s->tid_len, &stage, &expires, &pid0, &oid0, &claim0);
	if (r)
		goto out;
	if (stage != DP_DB_STAGE_INITIATED || expires < now) {
		r = dp_err_set(DP_ERR_NOT_FOUND, "session is %s",
			       expires < now ? "expired" : "past authenticateClient");
		goto out;
	}
	r = prep(db, q_order, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, s->order_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		r = dp_err_set(DP_ERR_NOT_FOUND, "order %lld", (long long)s->order_id);
		goto out;
	}
	int64_t profile_id = sqlite3_column_int64(st, 0);
	bool pool = sqlite3_column_int(st, 1) != 0;
	char type[DP_DB_TEXT_MAX + 1];
	col_text(st, 2, type, sizeof(type));
	int attempts = sqlite3_column_int(st, 3), max = sqlite3_column_int(st, 4);
	bool closed = sqlite3_column_int(st, 5) != 0;
	sqlite3_reset(st);
	if (closed) {
		r = dp_err_set(DP_ERR_NOT_FOUND, "the order is closed");
		goto out;
	}
	if (pool) {
		r = prep(db, q_claim, &st);
		if (r)
			goto out;
		bind_str(st, 1, type);
		int rc = sqlite3_step(st);
		profile_id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		if (rc != SQLITE_ROW) {
			r = rc == SQLITE_DONE ? dp_err_set(DP_ERR_NOT_FOUND,
							   "no Available profile of type '%s' left",
							   type)
					      : sql_err(db, "pool claim");
			goto out;
		}
		r = change_state(db, profile_id, DP_EV_POOL_CLAIM, DP_PROFILE_STATE_COUNT, "es9",
				 s->eid, NULL);
		if (r)
			goto out;
	} else {
		if (attempts + 1 > max) {
			r = dp_err_set(DP_ERR_DB_STATE, "attempts: %d of %d used", attempts, max);
			goto out;
		}
		r = prep(db, q_profile, &st);
		if (r)
			goto out;
		sqlite3_bind_int64(st, 1, profile_id);
		if (sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_reset(st);
			r = dp_err_set(DP_ERR_NOT_FOUND, "profile %lld", (long long)profile_id);
			goto out;
		}
		enum dp_profile_state ps = (enum dp_profile_state)sqlite3_column_int(st, 0);
		char bound[DP_DB_EID_LEN + 1];
		col_text(st, 1, bound, sizeof(bound));
		sqlite3_reset(st);
		if (ps != DP_PROFILE_RELEASED && ps != DP_PROFILE_DOWNLOADED) {
			r = dp_err_set(DP_ERR_DB_CONFLICT, "profile is %s",
				       dp_profile_state_name(ps));
			goto out;
		}
		if (bound[0] != '\0' && strcmp(bound, s->eid) != 0) {
			r = dp_err_set(DP_ERR_DB_CONFLICT, "profile is bound to another eUICC");
			goto out;
		}
		r = prep(db, q_attempt, &st);
		if (r)
			goto out;
		sqlite3_bind_int64(st, 1, s->order_id);
		r = step_done(db, st, "order attempt");
		if (r)
			goto out;
	}
	r = prep(db, q_link, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, profile_id);
	bind_text(st, 2, s->eid);
	sqlite3_bind_int64(st, 3, s->order_id);
	r = step_done(db, st, "profile binding");
	if (r)
		goto out;
	r = prep(db, q_sess, &st);
	if (r)
		goto out;
	bind_blob(st, 1, s->tid, s->tid_len);
	sqlite3_bind_int(st, 2, DP_DB_STAGE_AUTHENTICATED);
	bind_text(st, 3, s->eid);
	bind_blob(st, 4, s->euicc_cert.data, s->euicc_cert.len);
	bind_blob(st, 5, s->eum_cert.data, s->eum_cert.len);
	sqlite3_bind_int64(st, 6, s->order_id);
	sqlite3_bind_int64(st, 7, profile_id);
	sqlite3_bind_int(st, 8, pool);
	sqlite3_bind_int(st, 9, s->cc_required);
	bind_blob(st, 10, s->smdp_signed2.data, s->smdp_signed2.len);
	bind_blob(st, 11, s->smdp_signature2, sizeof(s->smdp_signature2));
	r = step_done(db, st, "session");
	if (r == DP_OK)
		s->profile_id = profile_id;
	if (r == DP_OK && profile != NULL)
		r = profile_read(db, sql_profile_by_id_bare, NULL, profile_id, false, profile);
out:
	return end(db, r);
}

int dp_db_session_bind(struct dp_db *db, const struct dp_db_session *s)
{
	return dp_db_session_bind_kept(db, s, NULL);
}

int dp_db_session_bind_kept(struct dp_db *db, const struct dp_db_session *s,
			    const uint8_t otsk_dp[DP_DB_OTSK_LEN])
{
	static const char q[] = "UPDATE sessions SET stage = ?2, otpk_euicc = ?3 WHERE tid = ?1";
	static const char q_bpp[] = "INSERT OR REPLACE INTO session_bpps(tid, bpp) VALUES (?1, ?2)";
	/* the binding kept on the profile (replaced; cleared when there is no key) */
	static const char q_keep[] = "UPDATE profiles SET rebind_eid = ?2, rebind_otpk_euicc = ?3,"
				     " rebind_otsk_dp = ?4 WHERE id = ?1";
	sqlite3_stmt *st;
	enum dp_db_stage stage;
	time_t expires;
	int64_t profile_id, order_id;
	bool claim;
	int r = begin(db);
	if (r)
		return r;
	r = session_stage(db, s->tid, s->tid_len, &stage, &expires, &profile_id, &order_id,
			  &claim);
	if (r == DP_OK && stage != DP_DB_STAGE_AUTHENTICATED && stage != DP_DB_STAGE_BOUND)
		r = dp_err_set(DP_ERR_NOT_FOUND, "session is not waiting for a binding");
	if (r)
		goto out;
	r = change_state(db, profile_id, DP_EV_BPP_DOWNLOADED, DP_PROFILE_STATE_COUNT, "es9",
			 s->eid, NULL);
	if (r)
		goto out;
	r = prep(db, q, &st);
	if (r)
		goto out;
	bind_blob(st, 1, s->tid, s->tid_len);
	sqlite3_bind_int(st, 2, DP_DB_STAGE_BOUND);
	bind_blob(st, 3, s->otpk_euicc, sizeof(s->otpk_euicc));
	r = step_done(db, st, "session binding");
	if (r == DP_OK)
		r = prep(db, q_bpp, &st);
	if (r)
		goto out;
	bind_blob(st, 1, s->tid, s->tid_len);
	bind_blob(st, 2, s->bpp.data, s->bpp.len);
	r = step_done(db, st, "session BPP");
	if (r == DP_OK)
		r = prep(db, q_keep, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, profile_id);
	if (otsk_dp != NULL) {
		bind_text(st, 2, s->eid);
		bind_blob(st, 3, s->otpk_euicc, sizeof(s->otpk_euicc));
		bind_blob(st, 4, otsk_dp, DP_DB_OTSK_LEN);
	}
	r = step_done(db, st, "kept binding");
out:
	return end(db, r);
}

/* Ends a session inside a transaction (no profile change). */
static int session_end(struct dp_db *db, const uint8_t *tid, size_t tid_len, const char *why)
{
	static const char q[] = "UPDATE sessions SET stage = ?2, ended = 1, end_reason = ?3,"
				" otsk_dp = NULL WHERE tid = ?1";
	static const char q_bpp[] = "DELETE FROM session_bpps WHERE tid = ?1";
	sqlite3_stmt *st;
	int r = prep(db, q, &st);
	if (r)
		return r;
	bind_blob(st, 1, tid, tid_len);
	sqlite3_bind_int(st, 2, DP_DB_STAGE_FINISHED);
	bind_str(st, 3, why);
	r = step_done(db, st, "session end");
	if (r == DP_OK)
		r = prep(db, q_bpp, &st);
	if (r)
		return r;
	bind_blob(st, 1, tid, tid_len);
	return step_done(db, st, "session BPP");
}

int dp_db_session_cc_failure(struct dp_db *db, const struct dp_db_session *s, bool *exhausted)
{
	static const char q_inc[] = "UPDATE orders SET cc_failures = cc_failures + 1 WHERE id = ?1"
				    " RETURNING cc_failures, cc_max_attempts";
	sqlite3_stmt *st;
	*exhausted = false;
	int r = begin(db);
	if (r)
		return r;
	r = prep(db, q_inc, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, s->order_id);
	int rc = sqlite3_step(st);
	int failures = 0, max = 0;
	if (rc == SQLITE_ROW) {
		failures = sqlite3_column_int(st, 0);
		max = sqlite3_column_int(st, 1);
		rc = sqlite3_step(st);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		r = sql_err(db, "confirmation code count");
		goto out;
	}
	if (failures >= max) {
		*exhausted = true;
		r = change_state(db, s->profile_id, DP_EV_RETRIES_EXHAUSTED, DP_PROFILE_STATE_COUNT,
				 "es9", "confirmation code retries exhausted", NULL);
		if (r == DP_OK)
			r = close_order(db, s->order_id);
		if (r == DP_OK)
			r = session_end(db, s->tid, s->tid_len, "confirmation code retries exhausted");
	}
out:
	return end(db, r);
}

/* Applies ev to a session's profile; a pool claim that goes back to Available is unbound. */
static int session_profile_event(struct dp_db *db, int64_t profile_id, bool pool_claim,
				 enum dp_profile_event ev, enum dp_profile_state hint,
				 const char *why)
{
	if (pool_claim && ev == DP_EV_SESSION_POSTPONED && hint == DP_PROFILE_STATE_COUNT)
		hint = DP_PROFILE_AVAILABLE;
	if (!pool_claim && ev == DP_EV_SESSION_POSTPONED && hint == DP_PROFILE_STATE_COUNT)
		hint = DP_PROFILE_RELEASED;
	enum dp_profile_state to;
	int r = change_state(db, profile_id, ev, hint, "es9", why, &to);
	if (r == DP_OK && to == DP_PROFILE_AVAILABLE)
		r = set_profile_eid(db, profile_id, NULL);
	return r;
}

int dp_db_session_finish(struct dp_db *db, const uint8_t *tid, size_t tid_len,
			 enum dp_profile_event ev, enum dp_profile_state hint, const char *why)
{
	enum dp_db_stage stage;
	time_t expires;
	int64_t profile_id, order_id;
	bool claim;
	int r = begin(db);
	if (r)
		return r;
	r = session_stage(db, tid, tid_len, &stage, &expires, &profile_id, &order_id, &claim);
	if (r == DP_OK && stage == DP_DB_STAGE_FINISHED)
		r = dp_err_set(DP_ERR_NOT_FOUND, "session has ended");
	if (r == DP_OK && ev != DP_PROFILE_EVENT_COUNT && profile_id != 0) {
		r = session_profile_event(db, profile_id, claim, ev, hint, why);
		if (r == DP_OK && (ev == DP_EV_SESSION_CANCELLED || ev == DP_EV_RETRIES_EXHAUSTED ||
				   ev == DP_EV_ELIGIBILITY_FAILED || ev == DP_EV_ORDER_EXPIRED) &&
		    !claim)
			r = close_order(db, order_id);
	}
	if (r == DP_OK)
		r = session_end(db, tid, tid_len, why);
	return end(db, r);
}

int dp_db_session_install_result(struct dp_db *db, const uint8_t *tid, size_t tid_len,
				 bool success, const uint8_t *aid, size_t aid_len,
				 enum dp_profile_event ev, const char *why)
{
	return dp_db_session_install_result_noted(db, tid, tid_len, success, aid, aid_len, ev, why,
						  NULL);
}

int dp_db_session_install_result_noted(struct dp_db *db, const uint8_t *tid, size_t tid_len,
				       bool success, const uint8_t *aid, size_t aid_len,
				       enum dp_profile_event ev, const char *why,
				       const struct dp_db_note *note)
{
	static const char q_aid[] = "UPDATE profiles SET isdp_aid = ?2 WHERE id = ?1";
	static const char q_note[] =
		"INSERT OR IGNORE INTO notifications(eid, seq, kind, iccid, result, at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	enum dp_db_stage stage;
	time_t expires;
	int64_t profile_id, order_id;
	bool claim;
	sqlite3_stmt *st;
	int r = begin(db);
	if (r)
		return r;
	r = session_stage(db, tid, tid_len, &stage, &expires, &profile_id, &order_id, &claim);
	if (r == DP_OK && stage != DP_DB_STAGE_BOUND)
		r = dp_err_set(DP_ERR_NOT_FOUND, "session has no bound profile package pending");
	if (r)
		goto out;
	r = change_state(db, profile_id, success ? DP_EV_INSTALLED : ev, DP_PROFILE_STATE_COUNT,
			 "es9", why, NULL);
	if (r == DP_OK && success) {
		r = prep(db, q_aid, &st);
		if (r == DP_OK) {
			sqlite3_bind_int64(st, 1, profile_id);
			bind_blob(st, 2, aid, aid_len);
			r = step_done(db, st, "ISD-P AID");
		}
	}
	if (r == DP_OK && (success || ev == DP_EV_INSTALL_FAILED) && !claim)
		r = close_order(db, order_id);
	if (r == DP_OK)
		r = session_end(db, tid, tid_len, why);
	if (r == DP_OK && note != NULL) {
		r = prep(db, q_note, &st);
		if (r)
			goto out;
		bind_str(st, 1, note->eid);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)note->seq);
		bind_str(st, 3, note->kind);
		bind_str(st, 4, note->iccid);
		bind_str(st, 5, why);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
		r = step_done(db, st, "notification");
	}
out:
	return end(db, r);
}

int dp_db_session_list(struct dp_db *db, dp_db_session_cb cb, void *ctx)
{
	/* read without blobs: the BPPs of open sessions are not selected either */
	static const char q[] = "SELECT " SESSION_COLS_WITH("NULL") " FROM sessions WHERE ended = 0"
				" ORDER BY created_at";
	sqlite3_stmt *st;
	struct dp_db_session s;
	dp_db_session_init(&s);
	int r = begin_read(db);
	if (r)
		goto done;
	r = prep(db, q, &st);
	if (r)
		goto out;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = read_session(st, false, &s);
		if (r == DP_OK)
			r = cb(ctx, &s);
		if (r)
			break;
	}
	if (r == DP_OK && rc != SQLITE_DONE)
		r = sql_err(db, "session list");
	sqlite3_reset(st);
out:
	r = end(db, r);
done:
	dp_db_session_deinit(&s);
	return r;
}

int dp_db_session_expire(struct dp_db *db, time_t now, time_t keep_s, size_t *n)
{
	static const char q_open[] = "SELECT tid, profile_id, pool_claim, stage FROM sessions"
				     " WHERE ended = 0 AND expires_at < ?1 LIMIT 256";
	static const char q_del[] = "DELETE FROM sessions WHERE ended = 1 AND expires_at < ?1";
	sqlite3_stmt *st;
	*n = 0;
	int r = begin(db);
	if (r)
		return r;
	r = prep(db, q_open, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	struct {
		uint8_t tid[DP_DB_TID_MAX];
		size_t len;
		int64_t profile_id;
		bool claim;
		int stage;
	} ended[256];
	size_t k = 0;
	int rc;
	while (k < 256 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = col_fixed(st, 0, ended[k].tid, DP_DB_TID_MAX, &ended[k].len);
		ended[k].profile_id = sqlite3_column_int64(st, 1);
		ended[k].claim = sqlite3_column_int(st, 2) != 0;
		ended[k].stage = sqlite3_column_int(st, 3);
		if (r)
			break;
		k++;
	}
	sqlite3_reset(st);
	for (size_t i = 0; r == DP_OK && i < k; i++) {
		/* a pool claim nobody downloaded goes back to the pool; a single order keeps its
		 * profile (the device may come back with a new session) */
		if (ended[i].claim && ended[i].stage == DP_DB_STAGE_AUTHENTICATED)
			r = session_profile_event(db, ended[i].profile_id, true,
						  DP_EV_SESSION_POSTPONED, DP_PROFILE_STATE_COUNT,
						  "session expired");
		if (r == DP_OK)
			r = session_end(db, ended[i].tid, ended[i].len, "expired");
	}
	if (r)
		goto out;
	r = prep(db, q_del, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(now - keep_s));
	r = step_done(db, st, "session cleanup");
	if (r == DP_OK)
		*n = k;
out:
	return end(db, r);
}

int dp_db_profile_kept_binding(struct dp_db *db, int64_t profile_id, const char *eid,
			       struct dp_db_binding *out)
{
	static const char q[] = "SELECT rebind_otpk_euicc, rebind_otsk_dp FROM profiles"
				" WHERE id = ?1 AND rebind_eid = ?2";
	sqlite3_stmt *st;
	size_t pk_len = 0, sk_len = 0;
	memset(out, 0, sizeof(*out));
	int r = begin_read(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, profile_id);
	bind_str(st, 2, eid);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r = col_fixed(st, 0, out->otpk_euicc, sizeof(out->otpk_euicc), &pk_len);
		if (r == DP_OK)
			r = col_fixed(st, 1, out->otsk_dp, sizeof(out->otsk_dp), &sk_len);
		if (r == DP_OK && (pk_len != sizeof(out->otpk_euicc) || sk_len != DP_DB_OTSK_LEN))
			r = dp_err_set(DP_ERR_NOT_FOUND, "profile %lld keeps no binding",
				       (long long)profile_id);
	} else if (rc == SQLITE_DONE) {
		r = dp_err_set(DP_ERR_NOT_FOUND, "profile %lld keeps no binding for EID %s",
			       (long long)profile_id, eid);
	} else {
		r = sql_err(db, "kept binding");
	}
	sqlite3_reset(st);
	if (r)
		dp_db_binding_wipe(out);
out:
	return end(db, r);
}

void dp_db_binding_wipe(struct dp_db_binding *b)
{
	dp_wipe(b, sizeof(*b));
}

/* ---- notifications ---- */

int dp_db_notification_add(struct dp_db *db, const char *eid, uint64_t seq, const char *kind,
			   const char *iccid, const char *result)
{
	static const char q[] = "INSERT INTO notifications(eid, seq, kind, iccid, result, at)"
				" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	sqlite3_stmt *st;
	int r = begin(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r)
		goto out;
	bind_str(st, 1, eid);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	bind_str(st, 3, kind);
	bind_str(st, 4, iccid);
	bind_str(st, 5, result);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
	r = step_done(db, st, "notification");
	if (r == DP_ERR_DB_EXISTS)
		r = dp_err_set(DP_ERR_DB_EXISTS, "notification %llu of %s was received before",
			       (unsigned long long)seq, eid);
out:
	return end(db, r);
}

int dp_db_profile_deleted(struct dp_db *db, const char *iccid, const char *eid)
{
	static const char q[] =
		"SELECT p.id, p.eid, coalesce(o.reuse_on_delete, 0) FROM profiles p"
		" LEFT JOIN orders o ON o.id = p.last_order WHERE p.iccid = ?1";
	sqlite3_stmt *st;
	int r = begin(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r)
		goto out;
	bind_str(st, 1, iccid);
	int64_t id = 0;
	char bound[DP_DB_EID_LEN + 1] = "";
	bool reuse = false;
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		col_text(st, 1, bound, sizeof(bound));
		reuse = sqlite3_column_int(st, 2) != 0;
	}
	sqlite3_reset(st);
	if (id == 0 || strcmp(bound, eid) != 0) {
		r = dp_err_set(DP_ERR_NOT_FOUND, "profile %s is not bound to %s", iccid, eid);
		goto out;
	}
	r = change_state(db, id, DP_EV_DELETED, reuse ? DP_PROFILE_AVAILABLE : DP_PROFILE_UNAVAILABLE,
			 "es9", eid, NULL);
	if (r == DP_OK)
		r = set_profile_eid(db, id, NULL);
	if (r == DP_OK) {
		/* gone from the eUICC: no ISD-P any more */
		static const char q_aid[] = "UPDATE profiles SET isdp_aid = NULL WHERE id = ?1";
		r = prep(db, q_aid, &st);
		if (r == DP_OK) {
			sqlite3_bind_int64(st, 1, id);
			r = step_done(db, st, "ISD-P AID");
		}
	}
out:
	return end(db, r);
}

/* ---- callbacks (ES2+.HandleDownloadProgressInfo queue) ---- */

#define CALLBACK_BODY_MAX (256 * 1024)

void dp_db_set_change_hook(struct dp_db *db, dp_db_change_hook hook, void *ctx)
{
	pthread_mutex_lock(&db->lock);
	db->hook = hook;
	db->hook_ctx = ctx;
	pthread_mutex_unlock(&db->lock);
}

void dp_db_callback_init(struct dp_db_callback *c)
{
	memset(c, 0, sizeof(*c));
	dp_buf_init(&c->body, CALLBACK_BODY_MAX);
}

void dp_db_callback_deinit(struct dp_db_callback *c)
{
	dp_buf_deinit(&c->body);
}

/* Inside a transaction. */
static int insert_callback(struct dp_db *db, int64_t profile_id, const char *iccid,
			   const char *url, const char *body, time_t now, int64_t *id)
{
	static const char q[] = "INSERT INTO callbacks(profile_id, iccid, url, body, created_at,"
				" next_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
	sqlite3_stmt *st;
	int r = prep(db, q, &st);
	if (r)
		return r;
	sqlite3_bind_int64(st, 1, profile_id);
	bind_str(st, 2, iccid);
	bind_str(st, 3, url);
	bind_str(st, 4, body);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)now);
	r = step_done(db, st, "callback");
	if (r == DP_OK && id != NULL)
		*id = sqlite3_last_insert_rowid(db->conn);
	return r;
}

/* change_state's call of the hook: what it leaves is queued in the same transaction. */
static int hook_queue(struct dp_db *db, const struct dp_db_change *c)
{
	char url[DP_DB_URL_MAX + 1] = "";
	const char *text;
	struct dp_buf body;
	dp_buf_init(&body, CALLBACK_BODY_MAX);
	int r = db->hook(db->hook_ctx, c, url, &body);
	if (r == DP_OK && url[0] != '\0')
		r = dp_buf_cstr(&body, &text);
	if (r) {
		/* a callback that cannot be built must not undo the state change */
		dp_log_warn(DP_LOG_DB, "profile %s: no callback queued: %s", c->iccid,
			    dp_err_detail());
		r = DP_OK;
	} else if (url[0] != '\0') {
		url[DP_DB_URL_MAX] = '\0';
		r = insert_callback(db, c->profile_id, c->iccid, url, text, c->at, NULL);
	}
	dp_buf_deinit(&body);
	return r;
}

int dp_db_callback_add(struct dp_db *db, int64_t profile_id, const char *iccid, const char *url,
		       const char *body, time_t now, int64_t *id)
{
	int r = begin(db);
	if (r)
		return r;
	r = insert_callback(db, profile_id, iccid, url, body, now, id);
	return end(db, r);
}

#define CALLBACK_COLS \
	"id, profile_id, iccid, url, body, attempts, created_at, next_at, delivered_at, last_error"

static int read_callback(sqlite3_stmt *st, struct dp_db_callback *c)
{
	c->id = sqlite3_column_int64(st, 0);
	c->profile_id = sqlite3_column_int64(st, 1);
	col_text(st, 2, c->iccid, sizeof(c->iccid));
	col_text(st, 3, c->url, sizeof(c->url));
	c->attempts = (unsigned)sqlite3_column_int(st, 5);
	c->created_at = (time_t)sqlite3_column_int64(st, 6);
	c->next_at = (time_t)sqlite3_column_int64(st, 7);
	c->delivered_at = (time_t)sqlite3_column_int64(st, 8);
	col_text(st, 9, c->last_error, sizeof(c->last_error));
	/* the body is text: col_buf copies its bytes (no NUL) */
	return col_buf(st, 4, &c->body);
}

int dp_db_callback_next(struct dp_db *db, time_t now, struct dp_db_callback *out)
{
	/* the head of each profile's undelivered queue, if it is due */
	static const char q[] =
		"SELECT " CALLBACK_COLS " FROM callbacks c WHERE c.delivered_at IS NULL"
		" AND c.next_at <= ?1 AND c.id = (SELECT min(e.id) FROM callbacks e"
		" WHERE e.profile_id = c.profile_id AND e.delivered_at IS NULL)"
		" ORDER BY c.next_at, c.id LIMIT 1";
	sqlite3_stmt *st;
	int r = begin_read(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = read_callback(st, out);
	else if (rc == SQLITE_DONE)
		r = dp_err_set(DP_ERR_NOT_FOUND, "no callback due");
	else
		r = sql_err(db, "callback");
	sqlite3_reset(st);
out:
	return end(db, r);
}

int dp_db_callback_next_time(struct dp_db *db, time_t *at)
{
	/* over the heads of the profiles' queues only: the others wait for them */
	static const char q[] =
		"SELECT min(c.next_at) FROM callbacks c WHERE c.delivered_at IS NULL"
		" AND c.id = (SELECT min(e.id) FROM callbacks e"
		" WHERE e.profile_id = c.profile_id AND e.delivered_at IS NULL)";
	sqlite3_stmt *st;
	int r = begin_read(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r)
		goto out;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*at = (time_t)sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_ROW)
		r = dp_err_set(DP_ERR_NOT_FOUND, "no callback queued");
	else
		r = sql_err(db, "callback");
	sqlite3_reset(st);
out:
	return end(db, r);
}

/* An UPDATE of one callback by id that must touch a row. */
static int callback_update(struct dp_db *db, sqlite3_stmt *st, int64_t id)
{
	int r = step_done(db, st, "callback");
	if (r == DP_OK && sqlite3_changes(db->conn) == 0)
		r = dp_err_set(DP_ERR_NOT_FOUND, "no undelivered callback %lld", (long long)id);
	return r;
}

int dp_db_callback_delivered(struct dp_db *db, int64_t id, time_t now)
{
	static const char q[] = "UPDATE callbacks SET delivered_at = ?2, last_error = ''"
				" WHERE id = ?1 AND delivered_at IS NULL";
	sqlite3_stmt *st;
	int r = begin(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r == DP_OK) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
		r = callback_update(db, st, id);
	}
	return end(db, r);
}

int dp_db_callback_failed(struct dp_db *db, int64_t id, time_t next_at, const char *error)
{
	static const char q[] = "UPDATE callbacks SET attempts = attempts + 1, next_at = ?2,"
				" last_error = substr(?3, 1, 255) WHERE id = ?1 AND delivered_at IS NULL";
	sqlite3_stmt *st;
	int r = begin(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r == DP_OK) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)next_at);
		bind_str(st, 3, error);
		r = callback_update(db, st, id);
	}
	return end(db, r);
}

int dp_db_callback_list(struct dp_db *db, bool include_delivered, dp_db_callback_cb cb,
			void *ctx)
{
	static const char q[] = "SELECT " CALLBACK_COLS " FROM callbacks"
				" WHERE ?1 OR delivered_at IS NULL ORDER BY id";
	sqlite3_stmt *st;
	struct dp_db_callback c;
	dp_db_callback_init(&c);
	int r = begin_read(db);
	if (r)
		goto done;
	r = prep(db, q, &st);
	if (r)
		goto out;
	sqlite3_bind_int(st, 1, include_delivered);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = read_callback(st, &c);
		if (r == DP_OK)
			r = cb(ctx, &c);
		if (r)
			break;
	}
	if (r == DP_OK && rc != SQLITE_DONE)
		r = sql_err(db, "callback list");
	sqlite3_reset(st);
out:
	r = end(db, r);
done:
	dp_db_callback_deinit(&c);
	return r;
}

int dp_db_callback_purge(struct dp_db *db, time_t before, size_t *n)
{
	static const char q[] = "DELETE FROM callbacks WHERE delivered_at IS NOT NULL"
				" AND delivered_at < ?1";
	sqlite3_stmt *st;
	int r = begin(db);
	if (r)
		return r;
	r = prep(db, q, &st);
	if (r == DP_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)before);
		r = step_done(db, st, "callback purge");
	}
	if (r == DP_OK && n != NULL)
		*n = (size_t)sqlite3_changes(db->conn);
	return end(db, r);
}

/* ---- ES2+ (operators' orders; contract in db.h) ---- */

/* What the ES2+ functions need of a profile, read inside their transaction. */
struct es2_profile {
	int64_t id;
	enum dp_profile_state state;
	char type[DP_DB_TEXT_MAX + 1];
	char eid[DP_DB_EID_LEN + 1];
	int64_t last_order;
};

/* The profile of iccid if it is owner's; *outcome says why not otherwise. */
static int es2_profile(struct dp_db *db, const char *iccid, const char *owner,
		       struct es2_profile *p, enum dp_db_es2_outcome *outcome)
{
	static const char q[] = "SELECT id, state, profile_type, owner, eid, coalesce(last_order, 0)"
				" FROM profiles WHERE iccid = ?1";
	sqlite3_stmt *st;
	char who[DP_DB_TEXT_MAX + 1];
	int r = prep(db, q, &st);
	if (r)
		return r;
	bind_str(st, 1, iccid);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		p->id = sqlite3_column_int64(st, 0);
		p->state = (enum dp_profile_state)sqlite3_column_int(st, 1);
		col_text(st, 2, p->type, sizeof(p->type));
		col_text(st, 3, who, sizeof(who));
		col_text(st, 4, p->eid, sizeof(p->eid));
		p->last_order = sqlite3_column_int64(st, 5);
		/* an operator sees only its own profiles */
		*outcome = strcmp(who, owner) == 0 ? DP_DB_ES2_OK : DP_DB_ES2_NOT_OWNER;
	} else if (rc == SQLITE_DONE) {
		*outcome = DP_DB_ES2_ICCID_UNKNOWN;
	} else {
		r = sql_err(db, "profile");
	}
	sqlite3_reset(st);
	return r;
}

/* By type: the operator's first Available profile, else why there is none. */
static int es2_profile_by_type(struct dp_db *db, const char *type, const char *owner,
			       int64_t *id, char *iccid, enum dp_db_es2_outcome *outcome)
{
	static const char q_first[] = "SELECT id, iccid FROM profiles WHERE profile_type = ?1"
				      " AND owner = ?2 AND state = " AVAILABLE_SQL
				      " ORDER BY id LIMIT 1";
	static const char q_count[] = "SELECT count(*), coalesce(sum(owner = ?2), 0) FROM profiles"
				      " WHERE profile_type = ?1";
	sqlite3_stmt *st;
	int r = prep(db, q_first, &st);
	if (r)
		return r;
	bind_str(st, 1, type);
	bind_str(st, 2, owner);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		col_text(st, 1, iccid, DP_DB_ICCID_MAX + 1);
		*outcome = DP_DB_ES2_OK;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return DP_OK;
	if (rc != SQLITE_DONE)
		return sql_err(db, "profile by type");
	r = prep(db, q_count, &st);
	if (r)
		return r;
	bind_str(st, 1, type);
	bind_str(st, 2, owner);
	rc = sqlite3_step(st);
	int64_t all = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	int64_t mine = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return sql_err(db, "profile type count");
	*outcome = mine > 0  ? DP_DB_ES2_TYPE_EXHAUSTED
		   : all > 0 ? DP_DB_ES2_TYPE_NOT_OWNER
			     : DP_DB_ES2_TYPE_UNKNOWN;
	return DP_OK;
}

/* A state change the table may refuse: DP_DB_ES2_STATE instead of an error. */
static int es2_change(struct dp_db *db, int64_t profile_id, enum dp_profile_event ev,
		      enum dp_profile_state hint, const char *owner, const char *why,
		      enum dp_db_es2_outcome *outcome)
{
	int r = change_state(db, profile_id, ev, hint, owner, why, NULL);
	if (r == DP_ERR_DB_STATE) {
		*outcome = DP_DB_ES2_STATE;
		return DP_OK;
	}
	return r;
}

/* Ends an ES2+ transaction: a refusal rolls back whatever came before it. */
static int es2_end(struct dp_db *db, int r, enum dp_db_es2_outcome outcome)
{
	if (r == DP_OK && outcome != DP_DB_ES2_OK) {
		(void)end(db, DP_ERR_DB_STATE); /* rolls back */
		return DP_OK;
	}
	return end(db, r);
}

int dp_db_es2_download_order(struct dp_db *db, const struct dp_db_es2_download *d,
			     enum dp_db_es2_outcome *outcome, char *iccid_out)
{
	static const char q_ins[] =
		"INSERT INTO orders(profile_id, profile_type, max_attempts, cc_max_attempts, owner,"
		" created_at) VALUES (?1, ?2, 0, 0, ?3, ?4)";
	static const char q_link[] = "UPDATE profiles SET eid = ?2, last_order = ?3 WHERE id = ?1";
	struct es2_profile p = { 0 };
	char iccid[DP_DB_ICCID_MAX + 1] = "";
	sqlite3_stmt *st;
	*outcome = DP_DB_ES2_OK;
	int r = begin(db);
	if (r)
		return r;
	if (d->iccid != NULL) {
		r = es2_profile(db, d->iccid, d->owner, &p, outcome);
		if (r || *outcome != DP_DB_ES2_OK)
			goto out;
		snprintf(iccid, sizeof(iccid), "%s", d->iccid);
		if (d->profile_type != NULL && strcmp(d->profile_type, p.type) != 0)
			*outcome = DP_DB_ES2_TYPE_MISMATCH;
		else if (p.state != DP_PROFILE_AVAILABLE)
			*outcome = DP_DB_ES2_IN_USE;
		if (*outcome != DP_DB_ES2_OK)
			goto out;
	} else {
		r = es2_profile_by_type(db, d->profile_type != NULL ? d->profile_type : "", d->owner,
					&p.id, iccid, outcome);
		if (r || *outcome != DP_DB_ES2_OK)
			goto out;
	}
	/* the order waits for confirmOrder, which gives matching ID, EID, code and limits */
	r = prep(db, q_ins, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, p.id);
	bind_str(st, 2, d->iccid != NULL ? p.type : d->profile_type);
	bind_str(st, 3, d->owner);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
	r = step_done(db, st, "order");
	if (r)
		goto out;
	int64_t order_id = sqlite3_last_insert_rowid(db->conn);
	/* bound first, so that the change (and its callback) names the EID */
	r = prep(db, q_link, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, p.id);
	bind_text(st, 2, d->eid);
	sqlite3_bind_int64(st, 3, order_id);
	r = step_done(db, st, "order profile");
	if (r == DP_OK)
		r = es2_change(db, p.id, DP_EV_DOWNLOAD_ORDER,
			       d->eid != NULL ? DP_PROFILE_LINKED : DP_PROFILE_ALLOCATED, d->owner,
			       d->eid != NULL ? d->eid : "", outcome);
	if (r == DP_OK && *outcome == DP_DB_ES2_OK && iccid_out != NULL)
		memcpy(iccid_out, iccid, sizeof(iccid));
out:
	return es2_end(db, r, *outcome);
}

/* The open order of a profile (its last one); DP_DB_ES2_STATE when it has none. */
static int es2_open_order(struct dp_db *db, const struct es2_profile *p, char *matching_id,
			  enum dp_db_es2_outcome *outcome)
{
	static const char q[] = "SELECT coalesce(matching_id, '') FROM orders"
				" WHERE id = ?1 AND profile_id = ?2 AND closed = 0";
	sqlite3_stmt *st;
	int r = prep(db, q, &st);
	if (r)
		return r;
	sqlite3_bind_int64(st, 1, p->last_order);
	sqlite3_bind_int64(st, 2, p->id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		col_text(st, 0, matching_id, DP_DB_MATCHING_ID_MAX + 1);
	if (rc == SQLITE_DONE) {
		*outcome = DP_DB_ES2_STATE;
		(void)dp_err_set(DP_ERR_DB_STATE, "the profile has no open order");
	} else if (rc != SQLITE_ROW) {
		r = sql_err(db, "open order");
	}
	sqlite3_reset(st);
	return r;
}

int dp_db_es2_confirm_order(struct dp_db *db, const struct dp_db_es2_confirm *c,
			    enum dp_db_es2_outcome *outcome, char *eid_out)
{
	static const char q_upd[] =
		"UPDATE orders SET matching_id = ?2, eid = ?3, cc_hash = ?4, expires_at = ?5,"
		" max_attempts = ?6, cc_max_attempts = ?7, reuse_on_delete = ?8 WHERE id = ?1";
	struct es2_profile p = { 0 };
	char mid[DP_DB_MATCHING_ID_MAX + 1] = "", eid[DP_DB_EID_LEN + 1];
	sqlite3_stmt *st;
	*outcome = DP_DB_ES2_OK;
	int r = begin(db);
	if (r)
		return r;
	r = es2_profile(db, c->iccid, c->owner, &p, outcome);
	if (r || *outcome != DP_DB_ES2_OK)
		goto out;
	if (p.state != DP_PROFILE_ALLOCATED && p.state != DP_PROFILE_LINKED) {
		*outcome = DP_DB_ES2_STATE;
		(void)dp_err_set(DP_ERR_DB_STATE, "confirmOrder is not allowed for a profile in "
				 "state %s", dp_profile_state_name(p.state));
		goto out;
	}
	r = es2_open_order(db, &p, mid, outcome);
	if (r || *outcome != DP_DB_ES2_OK)
		goto out;
	/* an EID given now binds, unless downloadOrder bound another */
	if (c->eid != NULL && p.eid[0] != '\0' && strcmp(c->eid, p.eid) != 0) {
		*outcome = DP_DB_ES2_EID_DIFFERENT;
		goto out;
	}
	snprintf(eid, sizeof(eid), "%s", c->eid != NULL ? c->eid : p.eid);
	bool no_mid = c->matching_id == NULL || c->matching_id[0] == '\0';
	if (no_mid && eid[0] == '\0') {
		*outcome = DP_DB_ES2_EID_MISSING;
		goto out;
	}
	r = prep(db, q_upd, &st);
	if (r)
		goto out;
	sqlite3_bind_int64(st, 1, p.last_order);
	bind_text(st, 2, no_mid ? NULL : c->matching_id);
	bind_text(st, 3, eid);
	bind_blob(st, 4, c->cc_hash, c->cc_hash != NULL ? 32 : 0);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)c->expires_at);
	sqlite3_bind_int(st, 6, (int)c->max_attempts);
	sqlite3_bind_int(st, 7, (int)c->cc_max_attempts);
	sqlite3_bind_int(st, 8, c->reuse_on_delete);
	r = step_done(db, st, "order confirmation");
	if (r == DP_ERR_DB_EXISTS) {
		/* the unique index of open orders' matching IDs */
		*outcome = DP_DB_ES2_MATCHING_ID_TAKEN;
		r = DP_OK;
		goto out;
	}
	if (r == DP_OK)
		r = set_profile_eid(db, p.id, eid);
	if (r == DP_OK)
		r = es2_change(db, p.id, DP_EV_CONFIRM_ORDER,
			       c->release ? DP_PROFILE_RELEASED : DP_PROFILE_CONFIRMED, c->owner,
			       no_mid ? "no matching ID" : c->matching_id, outcome);
	if (r == DP_OK && eid_out != NULL)
		memcpy(eid_out, eid, sizeof(eid));
out:
	return es2_end(db, r, *outcome);
}

int dp_db_es2_release_profile(struct dp_db *db, const char *owner, const char *iccid,
			      enum dp_db_es2_outcome *outcome)
{
	struct es2_profile p = { 0 };
	*outcome = DP_DB_ES2_OK;
	int r = begin(db);
	if (r)
		return r;
	r = es2_profile(db, iccid, owner, &p, outcome);
	if (r == DP_OK && *outcome == DP_DB_ES2_OK)
		r = es2_change(db, p.id, DP_EV_RELEASE, DP_PROFILE_STATE_COUNT, owner, "", outcome);
	return es2_end(db, r, *outcome);
}

int dp_db_es2_cancel_order(struct dp_db *db, const char *owner, const char *iccid,
			   const char *eid, const char *matching_id, enum dp_profile_state final,
			   enum dp_db_es2_outcome *outcome)
{
	static const char q_close[] = "UPDATE orders SET closed = 1 WHERE profile_id = ?1"
				      " AND closed = 0";
	static const char q_sessions[] =
		"UPDATE sessions SET stage = 4, ended = 1, end_reason = 'order cancelled',"
		" otsk_dp = NULL WHERE profile_id = ?1 AND stage < 4";
	static const char q_bpps[] = "DELETE FROM session_bpps WHERE tid IN"
				     " (SELECT tid FROM sessions WHERE profile_id = ?1 AND stage < 4)";
	struct es2_profile p = { 0 };
	char mid[DP_DB_MATCHING_ID_MAX + 1] = "";
	sqlite3_stmt *st;
	*outcome = DP_DB_ES2_OK;
	int r = begin(db);
	if (r)
		return r;
	r = es2_profile(db, iccid, owner, &p, outcome);
	if (r || *outcome != DP_DB_ES2_OK)
		goto out;
	if (eid != NULL && p.eid[0] != '\0' && strcmp(eid, p.eid) != 0) {
		*outcome = DP_DB_ES2_EID_DIFFERENT;
		goto out;
	}
	if (matching_id != NULL) {
		/* a profile without an open order has no matching ID to agree with */
		r = es2_open_order(db, &p, mid, outcome);
		if (r == DP_OK && (*outcome != DP_DB_ES2_OK || strcmp(mid, matching_id) != 0))
			*outcome = DP_DB_ES2_MATCHING_ID_DIFFERENT;
		if (r || *outcome != DP_DB_ES2_OK)
			goto out;
	}
	r = es2_change(db, p.id, DP_EV_CANCEL_ORDER, final, owner, dp_profile_state_name(final),
		       outcome);
	if (r || *outcome != DP_DB_ES2_OK)
		goto out;
	/* back in the pool or retired: bound to nobody, no order, no session in flight */
	r = set_profile_eid(db, p.id, NULL);
	if (r == DP_OK)
		r = prep(db, q_close, &st);
	if (r == DP_OK) {
		sqlite3_bind_int64(st, 1, p.id);
		r = step_done(db, st, "order close");
	}
	if (r == DP_OK)
		r = prep(db, q_bpps, &st);
	if (r == DP_OK) {
		sqlite3_bind_int64(st, 1, p.id);
		r = step_done(db, st, "session BPPs");
	}
	if (r == DP_OK)
		r = prep(db, q_sessions, &st);
	if (r == DP_OK) {
		sqlite3_bind_int64(st, 1, p.id);
		r = step_done(db, st, "session end");
	}
out:
	return es2_end(db, r, *outcome);
}
