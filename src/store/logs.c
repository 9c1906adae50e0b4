// SPDX-License-Identifier: Apache-2.0
/* The container log lines kept with a finding (schema version 7's container_logs). */
#include <errno.h>
#include <string.h>

#include "store/store.h"
#include "store/store_internal.h"

int store_insert_log(struct store *s, const char *finding_id, const struct store_log *log)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    s->db,
	    "INSERT INTO container_logs (finding_id, place, path, from_ns, to_ns, copied_ns,"
	    " lines_left_out, note, lines) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
	    " ON CONFLICT (finding_id) DO NOTHING",
	    -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, finding_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, or_empty(log->place), -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, or_empty(log->path), -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, log->from_ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, log->to_ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 6, log->copied_ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 7, log->lines_left_out);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 8, or_empty(log->note), -1, SQLITE_STATIC);
	/* A blob: the lines are the container's bytes, UTF-8 or not */
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob64(st, 9, log->lines ? log->lines : "", log->lines_len,
					 SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	sqlite3_finalize(st);
	return sqlite_errno(rc);
}

int store_get_log(struct store *s, const char *finding_id,
		  int (*fn)(const struct store_log *log, void *ctx), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT place, path, from_ns, to_ns, copied_ns, lines_left_out,"
				    " note, lines FROM container_logs WHERE finding_id = ?1",
				    -1, &st, NULL);
	int err;

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, finding_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct store_log log = {
			.place = column_str(st, 0),
			.path = column_str(st, 1),
			.from_ns = sqlite3_column_int64(st, 2),
			.to_ns = sqlite3_column_int64(st, 3),
			.copied_ns = sqlite3_column_int64(st, 4),
			.lines_left_out = sqlite3_column_int64(st, 5),
			.note = column_str(st, 6),
		};

		log.lines = sqlite3_column_blob(st, 7);
		log.lines_len = (size_t)sqlite3_column_bytes(st, 7);
		if (!log.lines)
			log.lines = "";
		err = fn(&log, ctx);
	} else {
		err = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
	}
	sqlite3_finalize(st);
	return err;
}
