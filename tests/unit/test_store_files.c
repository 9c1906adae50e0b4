// SPDX-License-Identifier: Apache-2.0
/*
 * The store's file: migrations from older schemas, and a file that is not a store of ours
 * (another program's database, planted files), refused and left as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/hostname.h"

#include "store_test.h"

/* The findings table's columns as schema 1 made them, for stores of older versions */
#define V1_FINDINGS_COLUMNS                                                                        \
	"CREATE TABLE findings (id TEXT PRIMARY KEY NOT NULL,"                                     \
	" event_time_ns INTEGER NOT NULL, create_time_ns INTEGER NOT NULL,"                        \
	" category TEXT NOT NULL DEFAULT '', severity TEXT NOT NULL DEFAULT '',"                   \
	" state TEXT NOT NULL DEFAULT 'ACTIVE', mute TEXT NOT NULL DEFAULT"                        \
	" 'UNDEFINED', container_id TEXT NOT NULL DEFAULT '', container_name TEXT"                 \
	" NOT NULL DEFAULT '', image TEXT NOT NULL DEFAULT '', pod TEXT NOT NULL"                  \
	" DEFAULT '', namespace TEXT NOT NULL DEFAULT '', binary_path TEXT NOT NULL"               \
	" DEFAULT '', module_path TEXT NOT NULL DEFAULT '', module_sha256 TEXT NOT"                \
	" NULL DEFAULT '', json TEXT NOT NULL"

static void test_future_version_refused(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	const char *error = NULL;
	sqlite3 *db = NULL;

	store_close(s);
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);

	for (int mode = STORE_READ_ONLY; mode <= STORE_CREATE; mode++) {
		s = NULL;
		assert_int_equal(store_open_mode(&s, fx->path, mode, &error), -EPROTONOSUPPORT);
		assert_null(s);
		assert_non_null(strstr(error, fx->path));
		assert_non_null(strstr(error, "999"));
		assert_non_null(strstr(error, "upgrade sowatch"));
	}
	/* Untouched. */
	assert_int_equal(pragma_int(fx->path, "PRAGMA user_version", NULL, 0), 999);
}

static void test_not_a_database(void **state)
{
	struct fixture *fx = *state;
	struct store *s = NULL;
	const char *error = NULL;
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/junk.db", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not a database, it is a long enough line of text to fill a header....\n"
	      "................................................................................\n",
	      f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(store_open_mode(&s, path, STORE_READ_ONLY, &error), -EIO);
	assert_non_null(strstr(error, path));
	assert_null(s);
}

/* Version 1 files: migrated in place, their rows counted as written already. */
static void test_migration_from_version_1(void **state)
{
	struct fixture *fx = *state;
	char sub_dir[PATH_MAX + 8];
	sqlite3 *db = NULL;
	struct store *s;
	struct pending_seen seen = { 0 };
	struct store_row row = { 0 };
	char host[256];

	snprintf(sub_dir, sizeof(sub_dir), "%s/sub", fx->dir);
	assert_int_equal(mkdir(sub_dir, 0700), 0);
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
			 V1_FINDINGS_COLUMNS
			 ") STRICT;"
			 "INSERT INTO findings (id, event_time_ns, create_time_ns, json)"
			 " VALUES ('old1', 5, 6, '{}');"
			 "PRAGMA user_version = 1;",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	s = open_or_fail(fx->path, STORE_READ_WRITE);
	assert_int_equal(store_file_version(s), store_schema_version());
	/* A node's own store: its rows are this machine's */
	assert_int_equal(store_get(s, "old1", copy_row, &row), 0);
	host_name(host, sizeof(host));
	assert_string_equal(row.host, host);
	assert_string_equal(row.json, "{}"); /* no sourceProperties to name it in */
	free_row(&row);
	/* The old row was written when it was stored: delivered by jsonl */
	assert_int_equal(store_outbox_pending(s, "jsonl", 0, 10, collect_pending, &seen), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(store_outbox_of(s, "old1", collect_delivery, &seen), 0);
	assert_int_equal(seen.n_rows, 1);
	assert_string_equal(seen.row_state[0], "jsonl:delivered");
	store_close(s);
}

/* A version 2 file (before sensor gaps) is upgraded in place and keeps its findings. */
static void test_migration_from_version_2(void **state)
{
	struct fixture *fx = *state;
	char sub_dir[PATH_MAX + 8];
	sqlite3 *db = NULL;
	struct store *s;
	struct store_row row = { 0 };
	struct gaps_seen seen = { 0 };
	int64_t t = 0;
	bool stopped = false;

	snprintf(sub_dir, sizeof(sub_dir), "%s/sub", fx->dir);
	assert_int_equal(mkdir(sub_dir, 0700), 0);
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
		db,
		V1_FINDINGS_COLUMNS
		", delivered_ns INTEGER NOT NULL"
		" DEFAULT 0) STRICT;"
		"INSERT INTO findings (id, event_time_ns, create_time_ns, json, delivered_ns)"
		" VALUES ('old00002', 5, 6, '{\"finding\":{}}', 7);"
		"PRAGMA user_version = 2;",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	s = open_or_fail(fx->path, STORE_READ_WRITE);
	assert_int_equal(store_file_version(s), store_schema_version());
	assert_int_equal(store_get(s, "old00002", copy_row, &row), 0);
	assert_string_equal(row.json, "{\"finding\":{}}");
	free_row(&row);
	assert_int_equal(store_get_alive(s, &t, &stopped), -ENOENT);
	assert_int_equal(store_set_alive(s, 100, false), 0);
	assert_int_equal(store_insert_gap(s, &(struct store_gap){ 100, 200, "stalled", false }), 0);
	assert_int_equal(store_gaps(s, 0, collect_gap, &seen), 0);
	assert_int_equal(seen.n, 1);
	store_close(s);
	assert_int_equal(pragma_int(fx->path, "PRAGMA user_version", NULL, 0),
			 store_schema_version());
}

/* The whole file, malloc'ed; *ret_len its size. */
static char *file_bytes(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	buf = malloc(len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, len, f), (size_t)len);
	fclose(f);
	*ret_len = (size_t)len;
	return buf;
}

static bool side_file_exists(const char *path, const char *suffix)
{
	char side[PATH_MAX + 16];
	struct stat st;

	snprintf(side, sizeof(side), "%s%s", path, suffix);
	return lstat(side, &st) == 0;
}

/* A database made with SQLite as another application would: rollback journal, mode 0600. */
static void make_database(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(chmod(path, 0600), 0);
}

/* The names of the findings table's indexes, in name order, comma-separated. */
static void index_names(const char *path, char *buf, size_t size)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT group_concat(name, ',') FROM (SELECT name FROM "
					    "sqlite_schema WHERE type = 'index' AND tbl_name = "
					    "'findings' AND sql IS NOT NULL ORDER BY name)",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/*
 * A version 4 file (before the host column): each row gets the host its JSON names, else this
 * machine's name, in the column and in its JSON; related's index leads with the host.
 */
static void test_migration_from_version_4(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	struct store_row row = { 0 };
	char host[256], indexes[256], *v = NULL;
	char ids[64] = "";

	store_close(s);
	/* Version 4 exactly as its migration left it: no host column, the old index */
	make_database(
	    fx->path,
	    "DROP TABLE container_logs; DROP TABLE remembered;"
	    "DROP INDEX findings_host_container_time;"
	    "ALTER TABLE findings DROP COLUMN host;"
	    "CREATE INDEX findings_container_time ON findings (container_id, event_time_ns);"
	    "INSERT INTO findings (id, event_time_ns, create_time_ns, container_id, json)"
	    " VALUES ('old4a', 5, 6, 'c0ffee', '{\"finding\":{\"sourceProperties\":"
	    "{\"sensor\":\"ebpf\"}},\"resource\":{}}'),"
	    " ('old4b', 7, 8, 'c0ffee', '{\"finding\":{\"sourceProperties\":"
	    "{\"sensor\":\"ebpf\",\"host\":\"node-7\"}}}'),"
	    " ('old4c', 9, 9, 'c0ffee', '{\"finding\":{\"sourceProperties\":"
	    "{\"host\":\"\"}}}');"
	    "PRAGMA user_version = 4;");
	assert_int_equal(pragma_int(fx->path, "PRAGMA user_version", NULL, 0), 4);

	s = open_or_fail(fx->path, STORE_READ_WRITE);
	assert_int_equal(store_file_version(s), store_schema_version());
	host_name(host, sizeof(host));
	assert_int_equal(store_get(s, "old4a", copy_row, &row), 0);
	assert_string_equal(row.host, host);
	assert_int_equal(store_json_get(s, row.json, "$.finding.sourceProperties.host", &v, NULL),
			 0);
	assert_string_equal(v, host);
	free(v);
	/* The rest of the object is untouched */
	assert_int_equal(store_json_get(s, row.json, "$.finding.sourceProperties.sensor", &v, NULL),
			 0);
	assert_string_equal(v, "ebpf");
	free(v);
	free_row(&row);
	assert_int_equal(store_get(s, "old4b", copy_row, &row), 0);
	assert_string_equal(row.host, "node-7");
	free_row(&row);
	/* An empty name is no name */
	assert_int_equal(store_get(s, "old4c", copy_row, &row), 0);
	assert_string_equal(row.host, host);
	assert_int_equal(store_json_get(s, row.json, "$.finding.sourceProperties.host", &v, NULL),
			 0);
	assert_string_equal(v, host);
	free(v);
	free_row(&row);
	/* node-7's finding is not related to this machine's, though the container id is the same */
	assert_int_equal(store_related(s, "old4a", 100, collect_ids, ids), 0);
	assert_string_equal(ids, "old4c ");
	store_close(s);

	index_names(fx->path, indexes, sizeof(indexes));
	assert_string_equal(indexes, "findings_host_container_time,findings_time");
}

/* Refused in every mode, with reason in the message, and not a byte changed or added. */
static void expect_foreign_untouched(const char *path, const char *reason)
{
	size_t len_before, len_after;
	char *before = file_bytes(path, &len_before), *after;
	const char *error = NULL;
	struct store *s = NULL;

	for (int mode = STORE_READ_ONLY; mode <= STORE_CREATE; mode++) {
		assert_int_equal(store_open_mode(&s, path, mode, &error), -EPERM);
		assert_null(s);
		assert_non_null(strstr(error, path));
		if (!strstr(error, reason))
			fail_msg("error '%s' does not say '%s'", error, reason);
	}
	after = file_bytes(path, &len_after);
	assert_int_equal(len_after, len_before);
	assert_memory_equal(after, before, len_before);
	assert_false(side_file_exists(path, "-wal"));
	assert_false(side_file_exists(path, "-shm"));
	assert_false(side_file_exists(path, "-journal"));
	free(before);
	free(after);
}

static void test_new_store_is_marked(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);

	store_close(s);
	/* A clean close leaves no log behind */
	assert_false(side_file_exists(fx->path, "-wal"));
	assert_false(side_file_exists(fx->path, "-shm"));
	assert_int_equal(pragma_int(fx->path, "PRAGMA application_id", NULL, 0), 0x536f5761);
}

static void test_foreign_database_refused(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/app.db", fx->dir);
	make_database(path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
			    "INSERT INTO notes (body) VALUES ('keep me');"
			    "PRAGMA user_version = 7;");
	expect_foreign_untouched(path, "another application's database");

	/* Marked by its own application */
	snprintf(path, sizeof(path), "%s/marked.db", fx->dir);
	make_database(path, "PRAGMA application_id = 305419896; CREATE TABLE t (x);");
	expect_foreign_untouched(path, "application_id 0x12345678");

	/* Named like ours, but not made by sowatch */
	snprintf(path, sizeof(path), "%s/lookalike.db", fx->dir);
	make_database(path, "CREATE TABLE findings (id TEXT PRIMARY KEY, json TEXT);"
			    "PRAGMA user_version = 2;");
	expect_foreign_untouched(path, "its tables are not sowatch's");

	/* Ours, with another application's table added */
	snprintf(path, sizeof(path), "%s/mixed.db", fx->dir);
	store_close(open_or_fail(path, STORE_CREATE));
	make_database(path, "PRAGMA application_id = 0; PRAGMA journal_mode = DELETE;"
			    "CREATE TABLE other (x);");
	expect_foreign_untouched(path, "its tables are not sowatch's");
}

/* A store of schema 2 (before application_id): read by nobody unchanged, adopted when opened to write */
static void test_unmarked_store_adopted(void **state)
{
	struct fixture *fx = *state;
	struct store_filter all = { 0 };
	size_t len_before, len_after;
	char *before, *after;
	const char *error = NULL;
	struct store *s = NULL;
	int n = 0;

	s = open_or_fail(fx->path, STORE_CREATE);
	assert_int_equal(insert(s, "aaaa0001", 1000, ""), 0);
	store_close(s);
	make_database(fx->path, "DROP TABLE container_logs; DROP TABLE remembered;"
				"DROP TABLE sensor_alive; DROP TABLE sensor_gaps;"
				"DROP TABLE deliveries; DROP INDEX findings_host_container_time;"
				"ALTER TABLE findings DROP COLUMN host;"
				"ALTER TABLE findings ADD COLUMN"
				" delivered_ns INTEGER NOT NULL DEFAULT 0;"
				"PRAGMA user_version = 2; PRAGMA application_id = 0");
	assert_int_equal(pragma_int(fx->path, "PRAGMA application_id", NULL, 0), 0);

	/* Read-only, an older schema is refused, and left as it was */
	before = file_bytes(fx->path, &len_before);
	assert_int_equal(store_open_mode(&s, fx->path, STORE_READ_ONLY, &error), -EPROTONOSUPPORT);
	after = file_bytes(fx->path, &len_after);
	assert_int_equal(len_after, len_before);
	assert_memory_equal(after, before, len_before);
	free(before);
	free(after);

	s = open_or_fail(fx->path, STORE_READ_WRITE);
	assert_int_equal(store_list(s, &all, count_row, &n), 0);
	assert_int_equal(n, 1);
	store_close(s);
	assert_int_equal(pragma_int(fx->path, "PRAGMA application_id", NULL, 0), 0x536f5761);
	assert_int_equal(pragma_int(fx->path, "PRAGMA user_version", NULL, 0),
			 store_schema_version());
}

/* Planted in the store's own directory: the file, or the files SQLite keeps next to it. */
static void test_planted_files_refused(void **state)
{
	struct fixture *fx = *state;
	char target[PATH_MAX], side[PATH_MAX + 16];
	struct store *s = NULL;
	const char *error = NULL;

	store_close(open_or_fail(fx->path, STORE_CREATE));
	assert_int_equal(chmod(fx->path, 0666), 0);
	assert_int_equal(store_open_mode(&s, fx->path, STORE_READ_ONLY, &error), -EPERM);
	assert_non_null(strstr(error, "is writable by others (mode 0666)"));
	assert_int_equal(chmod(fx->path, 0600), 0);

	snprintf(target, sizeof(target), "%s/elsewhere", fx->dir);
	make_database(target, "CREATE TABLE t (x)");
	snprintf(side, sizeof(side), "%s-wal", fx->path);
	assert_int_equal(symlink(target, side), 0);
	for (int mode = STORE_READ_ONLY; mode <= STORE_CREATE; mode++) {
		assert_int_equal(store_open_mode(&s, fx->path, mode, &error), -EPERM);
		assert_non_null(strstr(error, "findings.db-wal is a symbolic link"));
	}
	assert_int_equal(unlink(side), 0);

	assert_int_equal(rename(fx->path, target), 0);
	assert_int_equal(symlink(target, fx->path), 0);
	assert_int_equal(store_open_mode(&s, fx->path, STORE_CREATE, &error), -EPERM);
	assert_non_null(strstr(error, "findings.db is a symbolic link"));
	assert_null(strchr(error, '\n'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_future_version_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_version_2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_version_4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_store_is_marked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_database_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmarked_store_adopted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planted_files_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
