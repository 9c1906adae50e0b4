/* SPDX-License-Identifier: Apache-2.0 */
/* What the store's files share: the connection and SQLite helpers. Not for outside src/store/. */
#ifndef SOWATCH_STORE_INTERNAL_H
#define SOWATCH_STORE_INTERNAL_H

#include <stdbool.h>

#include <sqlite3.h>

#include "util/safe_path.h"

struct store {
	sqlite3 *db;
	sqlite3_stmt *insert;	 /* the sensor's hot path, prepared once */
	sqlite3_stmt *json_get;	 /* store_json_get(), prepared on first use */
	sqlite3_stmt *pending;	 /* store_outbox_pending(), prepared on first use */
	int version;		 /* the file's schema version */
	char migrate_error[256]; /* why migrate() failed */
	struct safe_path where;	 /* the checked directory (kept open) and the file's name */
	bool wal_owner;		 /* opened for writing, in WAL mode: the close cleans up */
};

/* SQLite's answer as -errno: -EBUSY, -ENOSPC, -EROFS, -EINVAL, -EIO ... (0 for OK/ROW/DONE) */
int sqlite_errno(int rc);
int exec(struct store *s, const char *sql);
/* Runs a statement that returns no rows: SQLITE_OK or the error */
int step_done(sqlite3_stmt *st);
/* A text column, "" for NULL */
const char *column_str(sqlite3_stmt *st, int i);
const char *or_empty(const char *s);
/* Prepares s->insert (rows.c): SQLITE_OK or the error */
int rows_prepare_insert(struct store *s);

#endif
