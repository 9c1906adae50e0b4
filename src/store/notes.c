// SPDX-License-Identifier: Apache-2.0
/*
 * What the store keeps about sowatch itself: its last sign of life, when it was not watching,
 * and what its outputs remember.
 */
#include <errno.h>
#include <string.h>

#include "store/store.h"
#include "store/store_internal.h"

int store_set_alive(struct store *s, int64_t time_ns, bool stopped)
{
	sqlite3_stmt *st = NULL;
	int rc =
	    sqlite3_prepare_v2(s->db,
			       "INSERT INTO sensor_alive (id, time_ns, stopped) VALUES (1, ?1, ?2) "
			       "ON CONFLICT (id) DO UPDATE SET time_ns = ?1, stopped = ?2",
			       -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, time_ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 2, stopped);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	sqlite3_finalize(st);
	return sqlite_errno(rc);
}

int store_get_alive(struct store *s, int64_t *ret_time_ns, bool *ret_stopped)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "SELECT time_ns, stopped FROM sensor_alive WHERE id = 1",
				    -1, &st, NULL);
	int err = 0;

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_time_ns = sqlite3_column_int64(st, 0);
		*ret_stopped = sqlite3_column_int(st, 1) != 0;
	} else {
		err = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
	}
	sqlite3_finalize(st);
	return err;
}

int store_insert_gap(struct store *s, const struct store_gap *g)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!g->cause || g->to_ns < g->from_ns)
		return -EINVAL;
	rc = sqlite3_prepare_v2(s->db,
				"INSERT INTO sensor_gaps (from_ns, to_ns, cause, clean_stop) "
				"VALUES (?1, ?2, ?3, ?4)",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, g->from_ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, g->to_ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, g->cause, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 4, g->clean_stop);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	sqlite3_finalize(st);
	return sqlite_errno(rc);
}

int store_gaps(struct store *s, int64_t since_ns, store_gap_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT from_ns, to_ns, cause, clean_stop FROM sensor_gaps"
				    " WHERE to_ns >= ?1 ORDER BY to_ns DESC, from_ns DESC",
				    -1, &st, NULL);
	int ret = 0;

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, since_ns);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_gap g = {
			.from_ns = sqlite3_column_int64(st, 0),
			.to_ns = sqlite3_column_int64(st, 1),
			.cause = column_str(st, 2),
			.clean_stop = sqlite3_column_int(st, 3) != 0,
		};

		rc = SQLITE_OK;
		ret = fn(&g, ctx);
		if (ret)
			break;
	}
	sqlite3_finalize(st);
	if (ret)
		return ret;
	return rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
}

int store_remember(struct store *s, const char *name, const char *value, int64_t time_ns)
{
	sqlite3_stmt *st = NULL;
	int rc =
	    sqlite3_prepare_v2(s->db,
			       "INSERT INTO remembered (name, value, time_ns) VALUES (?1, ?2, ?3) "
			       "ON CONFLICT (name) DO UPDATE SET value = ?2, time_ns = ?3",
			       -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, time_ns);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	sqlite3_finalize(st);
	return sqlite_errno(rc);
}

int store_recall(struct store *s, const char *name, char *value, size_t size)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "SELECT value FROM remembered WHERE name = ?1", -1, &st,
				    NULL);
	int err = 0;

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);

		if (!v || strlen(v) >= size)
			err = -ENAMETOOLONG;
		else
			memcpy(value, v, strlen(v) + 1);
	} else {
		err = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
	}
	sqlite3_finalize(st);
	return err;
}
