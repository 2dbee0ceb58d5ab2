/* SQLite backend of the storage interface (db.h). */
#include "smdp/db.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "pki/base/log.h"

#define SCHEMA_VERSION 1

struct dp_db {
	sqlite3 *conn;
};

static int exec(struct dp_db *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db->conn, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int r = dp_err_set(DP_ERR_IO, "SQLite: %s", msg ? msg : "unknown error");
		sqlite3_free(msg);
		return r;
	}
	return DP_OK;
}

static int migrate(struct dp_db *db)
{
	int r = exec(db, "BEGIN IMMEDIATE;"
			 "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
			 "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');"
			 "COMMIT;");
	if (r)
		exec(db, "ROLLBACK;");
	return r;
}

int dp_db_open(const char *path, struct dp_db **out)
{
	int r;
	struct dp_db *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return dp_err_set(DP_ERR_NOMEM, "database handle");
	if (sqlite3_open_v2(path, &db->conn,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		r = dp_err_set(DP_ERR_IO, "cannot open database %s: %s", path,
			       db->conn ? sqlite3_errmsg(db->conn) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db->conn, 5000);
	/* WAL: readers never block the writer; FULL: a committed order survives power loss */
	r = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
	if (r)
		goto fail;
	r = migrate(db);
	if (r)
		goto fail;
	int v = 0;
	r = dp_db_schema_version(db, &v);
	if (r)
		goto fail;
	if (v != SCHEMA_VERSION) {
		r = dp_err_set(DP_ERR_IO, "database %s has schema version %d, this smdp knows %d",
			       path, v, SCHEMA_VERSION);
		goto fail;
	}
	*out = db;
	return DP_OK;
fail:
	dp_db_close(db);
	return r;
}

void dp_db_close(struct dp_db *db)
{
	if (db == NULL)
		return;
	sqlite3_close_v2(db->conn);
	free(db);
}

int dp_db_schema_version(struct dp_db *db, int *version)
{
	sqlite3_stmt *st = NULL;
	int r;
	if (sqlite3_prepare_v2(db->conn, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
			       &st, NULL) != SQLITE_OK) {
		r = dp_err_set(DP_ERR_IO, "SQLite: %s", sqlite3_errmsg(db->conn));
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
