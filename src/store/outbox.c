// SPDX-License-Identifier: Apache-2.0
/* The outbox: each output's delivery state of each finding (schema 4's deliveries table). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "store/store_internal.h"
#include "util/strbuf.h"

static const char *const state_names[] = {
	[STORE_PENDING] = "pending",
	[STORE_DELIVERED] = "delivered",
	[STORE_FAILED] = "failed",
};

static enum store_delivery_state state_from_name(const char *name)
{
	if (strcmp(name, "delivered") == 0)
		return STORE_DELIVERED;
	if (strcmp(name, "failed") == 0)
		return STORE_FAILED;
	return STORE_PENDING;
}

/* Binds ?1 finding id, ?2 output, ?3 state, ?4 attempts, ?5 next try, ?6 last error, ?7 done */
static int bind_delivery(sqlite3_stmt *st, const struct store_delivery *d)
{
	int rc = sqlite3_bind_text(st, 1, d->finding_id, -1, SQLITE_STATIC);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, d->output, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, state_names[d->state], -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, d->attempts);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, d->next_try_ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 6, or_empty(d->last_error), -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 7, d->done_ns);
	return rc;
}

static int write_delivery(struct store *s, const char *sql, const struct store_delivery *d)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((unsigned int)d->state > STORE_FAILED || !d->finding_id || !d->output)
		return -EINVAL;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_delivery(st, d);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	sqlite3_finalize(st);
	return sqlite_errno(rc);
}

int store_outbox_add(struct store *s, const struct store_delivery *d)
{
	int err =
	    write_delivery(s,
			   "INSERT INTO deliveries (finding_id, output, seq, state, attempts,"
			   " next_try_ns, last_error, done_ns)"
			   " SELECT id, ?2, rowid, ?3, ?4, ?5, ?6, ?7 FROM findings WHERE id = ?1"
			   " ON CONFLICT DO NOTHING",
			   d);

	if (err)
		return err;
	if (sqlite3_changes(s->db))
		return 0;
	/* Nothing added: already there, or no such finding */
	{
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM findings WHERE id = ?1", -1, &st,
					    NULL);

		if (rc == SQLITE_OK)
			rc = sqlite3_bind_text(st, 1, d->finding_id, -1, SQLITE_STATIC);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		sqlite3_finalize(st);
		return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
	}
}

int store_outbox_update(struct store *s, const struct store_delivery *d)
{
	int err =
	    write_delivery(s,
			   "UPDATE deliveries SET state = ?3, attempts = ?4, next_try_ns = ?5,"
			   " last_error = ?6, done_ns = ?7 WHERE finding_id = ?1 AND output = ?2",
			   d);

	if (err)
		return err;
	return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

int store_outbox_pending(struct store *s, const char *output, int64_t after_seq, int limit,
			 store_pending_fn fn, void *ctx)
{
	sqlite3_stmt *st = s->pending;
	int rc = SQLITE_OK, ret = 0;

	if (!st)
		rc = sqlite3_prepare_v3(
		    s->db,
		    "SELECT d.seq, f.id, f.json, f.severity, f.event_time_ns, d.attempts,"
		    " d.next_try_ns, f.host FROM deliveries d JOIN findings f ON f.id = "
		    "d.finding_id"
		    " WHERE d.output = ?1 AND d.state = 'pending' AND d.seq > ?2"
		    " ORDER BY d.seq LIMIT ?3",
		    -1, SQLITE_PREPARE_PERSISTENT, &s->pending, NULL);
	st = s->pending;
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, output, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, after_seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, limit);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_pending p = {
			.seq = sqlite3_column_int64(st, 0),
			.id = column_str(st, 1),
			.json = column_str(st, 2),
			.severity = column_str(st, 3),
			.event_time_ns = sqlite3_column_int64(st, 4),
			.attempts = sqlite3_column_int64(st, 5),
			.next_try_ns = sqlite3_column_int64(st, 6),
			.host = column_str(st, 7),
		};

		rc = SQLITE_OK;
		ret = fn(&p, ctx);
		if (ret)
			break;
	}
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	if (ret)
		return ret;
	return rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
}

int store_outbox_backlog(struct store *s, const char *output, uint64_t *ret_count,
			 int64_t *ret_oldest_event_ns)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT count(*), coalesce(min(f.event_time_ns), 0)"
				    " FROM deliveries d JOIN findings f ON f.id = d.finding_id"
				    " WHERE d.output = ?1 AND d.state = 'pending'",
				    -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, output, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ret_count = (uint64_t)sqlite3_column_int64(st, 0);
		*ret_oldest_event_ns = sqlite3_column_int64(st, 1);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return sqlite_errno(rc);
}

int store_outbox_of(struct store *s, const char *id, store_delivery_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc =
	    sqlite3_prepare_v2(s->db,
			       "SELECT output, state, attempts, next_try_ns, last_error, done_ns"
			       " FROM deliveries WHERE finding_id = ?1 ORDER BY output",
			       -1, &st, NULL);
	int ret = 0;

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_delivery d = {
			.finding_id = id,
			.output = column_str(st, 0),
			.state = state_from_name(column_str(st, 1)),
			.attempts = sqlite3_column_int64(st, 2),
			.next_try_ns = sqlite3_column_int64(st, 3),
			.last_error = column_str(st, 4),
			.done_ns = sqlite3_column_int64(st, 5),
		};

		rc = SQLITE_OK;
		ret = fn(&d, ctx);
		if (ret)
			break;
	}
	sqlite3_finalize(st);
	if (ret)
		return ret;
	return rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
}

/* Deletes up to STORE_PRUNE_CHUNK prunable findings and their rows, in one transaction */
static int prune_chunk(struct store *s, int64_t before_ns, const char *names, uint64_t *deleted)
{
	sqlite3_stmt *pick = NULL, *rows = NULL, *logs = NULL;
	int rc, err = store_begin(s);

	if (err)
		return err;
	rc = sqlite3_prepare_v2(
	    s->db,
	    "DELETE FROM findings WHERE id IN (SELECT id FROM findings WHERE event_time_ns < ?1"
	    " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.finding_id = findings.id"
	    " AND d.state != 'delivered' AND d.output IN (SELECT value FROM json_each(?2)))"
	    " LIMIT ?3) RETURNING id",
	    -1, &pick, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "DELETE FROM deliveries WHERE finding_id = ?1", -1,
					&rows, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "DELETE FROM container_logs WHERE finding_id = ?1",
					-1, &logs, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(pick, 1, before_ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(pick, 2, names, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(pick, 3, STORE_PRUNE_CHUNK);
	while (rc == SQLITE_OK && (rc = sqlite3_step(pick)) == SQLITE_ROW) {
		rc = sqlite3_bind_text(rows, 1, column_str(pick, 0), -1, SQLITE_TRANSIENT);
		if (rc == SQLITE_OK)
			rc = step_done(rows);
		sqlite3_reset(rows);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_text(logs, 1, column_str(pick, 0), -1, SQLITE_TRANSIENT);
		if (rc == SQLITE_OK)
			rc = step_done(logs);
		sqlite3_reset(logs);
		(*deleted)++;
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(pick);
	sqlite3_finalize(rows);
	sqlite3_finalize(logs);
	if (rc != SQLITE_OK) {
		store_rollback(s);
		return sqlite_errno(rc);
	}
	return store_commit(s);
}

int store_prune(struct store *s, int64_t before_ns, const char *const *outputs, size_t n,
		uint64_t *ret_deleted)
{
	struct strbuf names = STRBUF_INIT;
	int err;

	*ret_deleted = 0;
	/* Output names are sowatch's own ("jsonl", "webhook" ...): nothing to escape */
	strbuf_addc(&names, '[');
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&names, "%s\"%s\"", i ? "," : "", outputs[i]);
	strbuf_addc(&names, ']');
	err = prune_chunk(s, before_ns, strbuf_str(&names), ret_deleted);
	strbuf_release(&names);
	return err;
}
