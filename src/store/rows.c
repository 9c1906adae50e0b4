// SPDX-License-Identifier: Apache-2.0
/*
 * The findings table: insert, state and mute, and the queries the CLI reads it with (store.c
 * opens the file and keeps its schema).
 */
#include "store/store.h"
#include "store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Column list of every row query, in struct store_row's order (see row_read()). */
#define ROW_COLUMNS                                                                                \
	"id, event_time_ns, create_time_ns, category, severity, state, mute, container_id, "       \
	"container_name, image, pod, namespace, binary_path, module_path, module_sha256, json, "   \
	"host"

/* The sensor's hot path, prepared once when the store is opened to write. */
int rows_prepare_insert(struct store *s)
{
	return sqlite3_prepare_v3(s->db,
				  "INSERT INTO findings (" ROW_COLUMNS ") VALUES "
				  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
				  "?14, ?15, CASE WHEN json_valid(?16) THEN ?16 END, ?17) "
				  "ON CONFLICT (id) DO NOTHING",
				  -1, SQLITE_PREPARE_PERSISTENT, &s->insert, NULL);
}

static const char *or_default(const char *s, const char *def)
{
	return s && s[0] ? s : def;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

int store_insert(struct store *s, const struct store_finding *f)
{
	sqlite3_stmt *st = s->insert;
	const char *text[] = {
		f->category,
		or_default(f->severity, ""),
		or_default(f->state, "ACTIVE"),
		or_default(f->mute, "UNDEFINED"),
		f->container_id,
		f->container_name,
		f->image,
		f->pod,
		f->namespace,
		f->binary_path,
		f->module_path,
		f->module_sha256,
	};
	int rc = SQLITE_OK, err;

	if (!st)
		return -EROFS;
	/* A row without its host could never be told apart from another node's in a fleet */
	if (!f->id || !f->id[0] || !f->json || !f->host || !f->host[0])
		return -EINVAL;
	rc = sqlite3_bind_text(st, 1, f->id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, f->event_time_ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, f->create_time_ns);
	for (size_t i = 0; rc == SQLITE_OK && i < ARRAY_SIZE(text); i++)
		rc = sqlite3_bind_text(st, 4 + (int)i, or_empty(text[i]), -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 16, f->json, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 17, f->host, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	/*
	 * Only a constraint (invalid JSON, a state or mute out of its set) is this finding's
	 * fault. Any other error (a schema changed under us, SQLite's own) is the store's: -EIO,
	 * so that a caller tries again rather than dropping a finding that was fine.
	 */
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return -EINVAL;
	err = sqlite_errno(rc);
	if (err)
		return err == -EINVAL ? -EIO : err;
	return sqlite3_changes(s->db) ? 0 : 1;
}

static int update_one(struct store *s, const char *sql, const char *id, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = bind_text(st, 1, id);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 2, value);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

int store_set_state(struct store *s, const char *id, const char *state)
{
	if (!state || (strcmp(state, "ACTIVE") && strcmp(state, "INACTIVE")))
		return -EINVAL;
	return update_one(
	    s,
	    "UPDATE findings SET state = ?2, json = json_set(json, '$.finding.state', "
	    "?2) WHERE id = ?1",
	    id, state);
}

int store_set_mute(struct store *s, const char *id, const char *mute)
{
	if (!mute ||
	    (strcmp(mute, "MUTED") && strcmp(mute, "UNMUTED") && strcmp(mute, "UNDEFINED")))
		return -EINVAL;
	return update_one(s,
			  "UPDATE findings SET mute = ?2, json = json_set(json, '$.finding.mute', "
			  "?2) WHERE id = ?1",
			  id, mute);
}

static void row_read(sqlite3_stmt *st, struct store_row *r)
{
	r->id = column_str(st, 0);
	r->event_time_ns = sqlite3_column_int64(st, 1);
	r->create_time_ns = sqlite3_column_int64(st, 2);
	r->category = column_str(st, 3);
	r->severity = column_str(st, 4);
	r->state = column_str(st, 5);
	r->mute = column_str(st, 6);
	r->container_id = column_str(st, 7);
	r->container_name = column_str(st, 8);
	r->image = column_str(st, 9);
	r->pod = column_str(st, 10);
	r->namespace = column_str(st, 11);
	r->binary_path = column_str(st, 12);
	r->module_path = column_str(st, 13);
	r->module_sha256 = column_str(st, 14);
	r->json = column_str(st, 15);
	r->host = column_str(st, 16);
}

/* Steps a bound row query to the end, calling fn on each row; finalizes it. */
static int run_rows(sqlite3_stmt *st, int rc, store_row_fn fn, void *ctx)
{
	int ret = 0;

	while (rc == SQLITE_OK) {
		struct store_row row;

		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			rc = SQLITE_OK;
			break;
		}
		if (rc != SQLITE_ROW)
			break;
		rc = SQLITE_OK;
		row_read(st, &row);
		ret = fn(&row, ctx);
		if (ret)
			break;
	}
	sqlite3_finalize(st);
	return ret ? ret : sqlite_errno(rc);
}

int store_list(struct store *s, const struct store_filter *f, store_row_fn fn, void *ctx)
{
	static const char sql[] =
	    "SELECT " ROW_COLUMNS " FROM findings"
	    " WHERE (?1 IS NULL OR event_time_ns >= ?1)"
	    "   AND (?2 IS NULL OR severity = ?2)"
	    "   AND (?3 IS NULL OR state = ?3)"
	    "   AND (?6 IS NULL OR host = ?6)"
	    "   AND ((?4 IS NULL AND NOT ?5)"
	    "        OR container_name = ?4 OR container_id = ?4"
	    "        OR (length(?4) >= 4 AND substr(container_id, 1, length(?4)) = ?4)"
	    "        OR (?5 AND container_id = ''))"
	    " ORDER BY event_time_ns DESC, id";
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK && f->since_ns)
		rc = sqlite3_bind_int64(st, 1, f->since_ns);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 2, f->severity);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 3, f->state);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 4, f->container);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 5, f->outside_containers);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 6, f->host);
	return run_rows(st, rc, fn, ctx);
}

/* Runs a one-column, one-row integer query with one text parameter. */
static int query_int(struct store *s, const char *sql, const char *arg, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = bind_text(st, 1, arg);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*ret = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return sqlite_errno(rc);
}

int store_count_container_prefix(struct store *s, const char *prefix, const char *host)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT count(DISTINCT container_id) FROM findings WHERE "
				    "length(?1) >= 4 AND substr(container_id, 1, length(?1)) = ?1 "
				    "AND (?2 IS NULL OR host = ?2)",
				    -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = bind_text(st, 1, prefix);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 2, host);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			n = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? (int)n : sqlite_errno(rc);
}

int store_resolve_id(struct store *s, const char *arg, char **ret_id)
{
	const char *slash = strrchr(arg, '/');
	const char *want = slash ? slash + 1 : arg;
	sqlite3_stmt *st = NULL;
	char *found = NULL;
	int rc, matches = 0;

	*ret_id = NULL;
	rc = sqlite3_prepare_v2(s->db,
				"SELECT id FROM findings WHERE id = ?1 UNION ALL "
				"SELECT id FROM (SELECT id FROM findings WHERE length(?1) >= 8 AND "
				"substr(id, 1, length(?1)) = ?1 AND id <> ?1 LIMIT 2) "
				"WHERE NOT EXISTS (SELECT 1 FROM findings WHERE id = ?1)",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 1, want);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = SQLITE_OK;
		if (++matches == 1) {
			found = strdup(column_str(st, 0));
			if (!found)
				rc = SQLITE_NOMEM;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_OK) {
		free(found);
		return sqlite_errno(rc);
	}
	if (matches != 1) {
		free(found);
		return matches ? -EEXIST : -ENOENT;
	}
	*ret_id = found;
	return 0;
}

int store_get(struct store *s, const char *id, store_row_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "SELECT " ROW_COLUMNS " FROM findings WHERE id = ?1", -1,
				    &st, NULL);
	int err;

	if (rc == SQLITE_OK)
		rc = bind_text(st, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct store_row row;

		row_read(st, &row);
		err = fn(&row, ctx);
	} else {
		err = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
	}
	sqlite3_finalize(st);
	return err;
}

int store_related(struct store *s, const char *id, int64_t window_ns, store_row_fn fn, void *ctx)
{
	static const char sql[] = "SELECT " ROW_COLUMNS " FROM findings,"
				  " (SELECT host AS ref_host, container_id AS ref_container,"
				  "  event_time_ns AS ref_time FROM findings WHERE id = ?1)"
				  " WHERE host = ref_host AND container_id = ref_container"
				  "   AND event_time_ns BETWEEN ref_time - ?2 AND ref_time + ?2"
				  "   AND id <> ?1"
				  " ORDER BY event_time_ns, id";
	sqlite3_stmt *st = NULL;
	int64_t exists = 0;
	int rc, err;

	err = query_int(s, "SELECT count(*) FROM findings WHERE id = ?1", id, &exists);
	if (err)
		return err;
	if (!exists)
		return -ENOENT;
	if (window_ns < 0)
		return -EINVAL;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, window_ns);
	return run_rows(st, rc, fn, ctx);
}

int store_json_get(struct store *s, const char *json, const char *path, char **ret_value,
		   size_t *ret_len)
{
	const char *type, *value;
	int rc = SQLITE_OK, err = 0;
	size_t len;

	*ret_value = NULL;
	if (ret_len)
		*ret_len = 0;
	if (!s->json_get)
		rc = sqlite3_prepare_v3(s->db, "SELECT json_type(?1, ?2), json_extract(?1, ?2)", -1,
					SQLITE_PREPARE_PERSISTENT, &s->json_get, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s->json_get, 1, json, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s->json_get, 2, path, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s->json_get);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? -ENOENT : sqlite_errno(rc);
		goto out;
	}
	type = (const char *)sqlite3_column_text(s->json_get, 0);
	if (!type || !strcmp(type, "null")) {
		err = -ENOENT;
		goto out;
	}
	if (!strcmp(type, "object") || !strcmp(type, "array")) {
		err = -EINVAL;
		goto out;
	}
	if (!strcmp(type, "true") || !strcmp(type, "false")) {
		value = type;
		len = strlen(type);
	} else {
		value = (const char *)sqlite3_column_text(s->json_get, 1);
		len = (size_t)sqlite3_column_bytes(s->json_get, 1);
	}
	*ret_value = malloc(len + 1);
	if (!*ret_value) {
		err = -ENOMEM;
		goto out;
	}
	if (len)
		memcpy(*ret_value, value, len);
	(*ret_value)[len] = '\0';
	if (ret_len)
		*ret_len = len;
out:
	if (s->json_get) {
		sqlite3_reset(s->json_get);
		sqlite3_clear_bindings(s->json_get);
	}
	return err;
}

int store_json_each(struct store *s, const char *json, const char *path,
		    int (*fn)(const char *value, size_t len, void *ctx), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(s->db,
				"SELECT CASE WHEN type IN ('object', 'array') THEN value"
				" WHEN type IN ('true', 'false') THEN type ELSE atom END"
				" FROM json_each(?1, ?2) WHERE type <> 'null'",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = column_str(st, 0);

		rc = SQLITE_OK;
		ret = fn(v, (size_t)sqlite3_column_bytes(st, 0), ctx);
		if (ret)
			break;
	}
	sqlite3_finalize(st);
	if (ret)
		return ret;
	return rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
}
