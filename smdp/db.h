/* The storage interface: the only place SQL exists. SQLite (one file, WAL) is the
 * embedded default; a PostgreSQL backend will implement the same functions so that several
 * smdp nodes can share one order book. Every ES9+/ES2+ session lives here, never only in
 * one process's memory. (Issue 6 adds profiles, orders and sessions.) */
#ifndef DP_SMDP_DB_H
#define DP_SMDP_DB_H

#include "pki/base/error.h"

struct dp_db;

/* Opens (creating when missing) the database file and brings its schema up to date. */
int dp_db_open(const char *path, struct dp_db **out) DP_WUR;
void dp_db_close(struct dp_db *db);
/* The schema version stored in the file. */
int dp_db_schema_version(struct dp_db *db, int *version) DP_WUR;

#endif
