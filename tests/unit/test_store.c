// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
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

struct fixture {
	char dir[64];
	char path[PATH_MAX]; /* dir/sub/findings.db: the store creates sub */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/sowatch-test-store.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/sub/findings.db", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

#define JSON_FMT                                                                                   \
	"{\"finding\":{\"name\":\"projects/p/sources/sowatch/findings/%s\",\"state\":\"ACTIVE\","  \
	"\"severity\":\"CRITICAL\"},\"resource\":{\"name\":\"//sowatch/hosts/h\"}}"

/* Inserts a minimal finding of host; returns store_insert()'s result. */
static int insert_on(struct store *s, const char *host, const char *id, int64_t t,
		     const char *container)
{
	char json[512];
	struct store_finding f = {
		.id = id,
		.event_time_ns = t,
		.create_time_ns = t + 1000,
		.category = "Execution: Suspicious OpenSSL Shared Object Loaded",
		.severity = "CRITICAL",
		.container_id = container,
		.binary_path = "/usr/bin/openssl",
		.module_path = "/tmp/x.so",
		.json = json,
		.host = host,
	};

	snprintf(json, sizeof(json), JSON_FMT, id);
	return store_insert(s, &f);
}

/* The same, on the one host most tests need */
static int insert(struct store *s, const char *id, int64_t t, const char *container)
{
	return insert_on(s, "node-1", id, t, container);
}

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

static struct store *open_or_fail(const char *path, enum store_mode mode)
{
	struct store *s = NULL;
	const char *error = NULL;
	int err = store_open_mode(&s, path, mode, &error);

	if (err)
		fail_msg("store_open_mode(%s): %d: %s", path, err, error);
	return s;
}

static int copy_row(const struct store_row *r, void *ctx)
{
	struct store_row *out = ctx;

	out->state = strdup(r->state);
	out->mute = strdup(r->mute);
	out->json = strdup(r->json);
	out->container_id = strdup(r->container_id);
	out->host = strdup(r->host);
	out->event_time_ns = r->event_time_ns;
	return 0;
}

static void free_row(struct store_row *r)
{
	free((char *)r->state);
	free((char *)r->mute);
	free((char *)r->json);
	free((char *)r->container_id);
	free((char *)r->host);
	memset(r, 0, sizeof(*r));
}

static int pragma_int(const char *path, const char *pragma, char *text, size_t size)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, pragma, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	if (text)
		snprintf(text, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void test_open_creates_schema_and_modes(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	char dir[PATH_MAX + 16], mode[16];
	struct stat st;

	assert_int_equal(store_file_version(s), store_schema_version());
	assert_int_equal(store_schema_version(), 5);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(dir, sizeof(dir), "%s/sub", fx->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(insert(s, "aaaa0001", 1000, ""), 0);
	snprintf(dir, sizeof(dir), "%s-wal", fx->path);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0077, 0); /* SQLite copies the database's mode */

	assert_int_equal(pragma_int(fx->path, "PRAGMA user_version", NULL, 0),
			 store_schema_version());
	pragma_int(fx->path, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	store_close(s);
}

static void test_missing_file_is_not_created(void **state)
{
	struct fixture *fx = *state;
	struct store *s = NULL;
	const char *error = NULL;
	struct stat st;

	assert_int_equal(store_open_mode(&s, fx->path, STORE_READ_ONLY, &error), -ENOENT);
	assert_null(s);
	assert_non_null(strstr(error, fx->path));
	assert_int_equal(store_open_mode(&s, fx->path, STORE_READ_WRITE, &error), -ENOENT);
	assert_int_not_equal(stat(fx->path, &st), 0);
}

static void test_insert_duplicate(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	struct store_finding bad = { .id = "bad", .json = "{\"finding\":" };
	struct store_finding no_id = { .id = "", .json = "{}", .host = "node-1" };
	struct store_finding no_host = { .id = "cccc0001", .json = "{}" };
	struct store_row row = { 0 };

	assert_int_equal(insert(s, "aaaa0001", 1000, ""), 0);
	assert_int_equal(insert(s, "aaaa0001", 1000, ""), 1);
	/* The id is the key: the same finding arriving from another host is still there */
	assert_int_equal(insert_on(s, "node-2", "aaaa0001", 1000, ""), 1);
	assert_int_equal(insert(s, "aaaa0002", 1000, "c0ffee"), 0);
	assert_int_equal(store_insert(s, &bad), -EINVAL);
	assert_int_equal(store_insert(s, &no_id), -EINVAL);
	/* A row that could not be told apart from another node's is refused */
	assert_int_equal(store_insert(s, &no_host), -EINVAL);
	no_host.host = "";
	assert_int_equal(store_insert(s, &no_host), -EINVAL);
	assert_int_equal(store_get(s, "cccc0001", copy_row, &row), -ENOENT);
	assert_int_equal(store_get(s, "aaaa0001", copy_row, &row), 0);
	assert_string_equal(row.host, "node-1");
	free_row(&row);
	store_close(s);
}

/*
 * A store that cannot take a row is a store failure, for the caller to try again: -EINVAL is
 * kept for a finding the store refuses for what it is (no host, invalid JSON). Here another
 * program broke the schema, and SQLite says SQLITE_ERROR.
 */
static void test_insert_store_failure_is_not_a_bad_finding(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	sqlite3 *raw = NULL;

	assert_int_equal(insert(s, "aaaa0001", 1000, ""), 0);
	assert_int_equal(sqlite3_open(fx->path, &raw), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(raw, "ALTER TABLE findings RENAME TO findings_gone", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(insert(s, "aaaa0002", 1000, ""), -EIO);
	store_close(s);
}

static void test_set_state_and_mute(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	struct store_row row = { 0 };
	char *v = NULL;

	assert_int_equal(insert(s, "aaaa0001", 1000, ""), 0);
	assert_int_equal(store_get(s, "aaaa0001", copy_row, &row), 0);
	assert_string_equal(row.state, "ACTIVE");
	assert_string_equal(row.mute, "UNDEFINED");
	free_row(&row);

	assert_int_equal(store_set_state(s, "aaaa0001", "INACTIVE"), 0);
	assert_int_equal(store_set_mute(s, "aaaa0001", "MUTED"), 0);
	assert_int_equal(store_get(s, "aaaa0001", copy_row, &row), 0);
	assert_string_equal(row.state, "INACTIVE");
	assert_string_equal(row.mute, "MUTED");
	assert_int_equal(store_json_get(s, row.json, "$.finding.state", &v, NULL), 0);
	assert_string_equal(v, "INACTIVE");
	free(v);
	assert_int_equal(store_json_get(s, row.json, "$.finding.mute", &v, NULL), 0);
	assert_string_equal(v, "MUTED");
	free(v);
	/* The rest of the object is untouched. */
	assert_int_equal(store_json_get(s, row.json, "$.finding.severity", &v, NULL), 0);
	assert_string_equal(v, "CRITICAL");
	free(v);
	free_row(&row);

	assert_int_equal(store_set_state(s, "aaaa0001", "DONE"), -EINVAL);
	assert_int_equal(store_set_mute(s, "aaaa0001", "muted"), -EINVAL);
	store_close(s);
}

static void test_unknown_id(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	char *id = NULL;

	assert_int_equal(store_set_state(s, "nope", "INACTIVE"), -ENOENT);
	assert_int_equal(store_set_mute(s, "nope", "MUTED"), -ENOENT);
	assert_int_equal(store_get(s, "nope", copy_row, NULL), -ENOENT);
	assert_int_equal(store_related(s, "nope", 1000, copy_row, NULL), -ENOENT);
	assert_int_equal(store_resolve_id(s, "nope", &id), -ENOENT);
	assert_null(id);
	store_close(s);
}

static void test_reopen_keeps_rows(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	struct store_row row = { 0 };

	assert_int_equal(insert(s, "aaaa0001", 4242, "c0ffee"), 0);
	store_close(s);
	s = open_or_fail(fx->path, STORE_CREATE);
	assert_int_equal(insert(s, "aaaa0001", 4242, "c0ffee"), 1);
	store_close(s);
	s = open_or_fail(fx->path, STORE_READ_ONLY);
	assert_int_equal(store_get(s, "aaaa0001", copy_row, &row), 0);
	assert_int_equal(row.event_time_ns, 4242);
	assert_string_equal(row.container_id, "c0ffee");
	free_row(&row);
	/* Read-only means read-only. */
	assert_int_equal(insert(s, "aaaa0002", 1, ""), -EROFS);
	assert_int_equal(store_set_state(s, "aaaa0001", "INACTIVE"), -EROFS);
	store_close(s);
}

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

static int count_row(const struct store_row *r, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static void test_reader_while_writer_holds_it(void **state)
{
	struct fixture *fx = *state;
	struct store *w = open_or_fail(fx->path, STORE_CREATE), *r;
	struct store_filter all = { 0 };
	sqlite3 *raw = NULL;
	int n = 0;

	assert_int_equal(insert(w, "aaaa0001", 1000, ""), 0);
	/* Another writer holds the write lock with an uncommitted row. */
	assert_int_equal(sqlite3_open(fx->path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw,
				      "BEGIN IMMEDIATE; INSERT INTO findings (id, event_time_ns, "
				      "create_time_ns, json) VALUES ('bbbb0001', 5, 5, '{}')",
				      NULL, NULL, NULL),
			 SQLITE_OK);

	r = open_or_fail(fx->path, STORE_READ_ONLY);
	assert_int_equal(store_list(r, &all, count_row, &n), 0);
	assert_int_equal(n, 1); /* the committed row; the open transaction is not seen */

	assert_int_equal(sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(insert(w, "aaaa0002", 2000, ""), 0);
	n = 0;
	assert_int_equal(store_list(r, &all, count_row, &n), 0);
	assert_int_equal(n, 3);
	store_close(r);
	store_close(w);
}

static int collect_ids(const struct store_row *r, void *ctx)
{
	char *buf = ctx;

	strcat(buf, r->id);
	strcat(buf, " ");
	return 0;
}

static void test_queries(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	struct store_filter f = { 0 };
	char ids[256] = "", *id = NULL;
	const int64_t s1 = 1000000000;

	assert_int_equal(insert(s, "00000000aaaa1111", 100 * s1, "c0ffee0001"), 0);
	assert_int_equal(insert(s, "00000000aaaa2222", 160 * s1, "c0ffee0001"), 0);
	assert_int_equal(insert(s, "00000000bbbb3333", 40 * s1, "c0ffee0001"), 0);
	assert_int_equal(insert(s, "00000000cccc4444", 101 * s1, "deadbeef01"), 0);
	assert_int_equal(insert(s, "11111111dddd5555", 102 * s1, ""), 0);

	assert_int_equal(store_list(s, &f, collect_ids, ids), 0);
	assert_string_equal(ids, "00000000aaaa2222 11111111dddd5555 00000000cccc4444 "
				 "00000000aaaa1111 00000000bbbb3333 ");
	ids[0] = '\0';
	f.container = "c0ff"; /* prefix */
	f.since_ns = 41 * s1;
	assert_int_equal(store_list(s, &f, collect_ids, ids), 0);
	assert_string_equal(ids, "00000000aaaa2222 00000000aaaa1111 ");
	ids[0] = '\0';
	f = (struct store_filter){ .container = "host", .outside_containers = true };
	assert_int_equal(store_list(s, &f, collect_ids, ids), 0);
	assert_string_equal(ids, "11111111dddd5555 ");
	ids[0] = '\0';
	f = (struct store_filter){ .container = "c0f" }; /* too short for a prefix */
	assert_int_equal(store_list(s, &f, collect_ids, ids), 0);
	assert_string_equal(ids, "");
	assert_int_equal(store_count_container_prefix(s, "c0ff", NULL), 1);
	assert_int_equal(insert(s, "22222222eeee6666", 1, "c0ff99"), 0);
	assert_int_equal(store_count_container_prefix(s, "c0ff", NULL), 2);
	assert_int_equal(store_count_container_prefix(s, "c0ff", "node-1"), 2);
	assert_int_equal(store_count_container_prefix(s, "c0ff", "node-2"), 0);

	/* related: same container, within the window, oldest first, itself excluded */
	ids[0] = '\0';
	assert_int_equal(store_related(s, "00000000aaaa1111", 60 * s1, collect_ids, ids), 0);
	assert_string_equal(ids, "00000000bbbb3333 00000000aaaa2222 ");
	ids[0] = '\0';
	assert_int_equal(store_related(s, "00000000aaaa1111", 59 * s1, collect_ids, ids), 0);
	assert_string_equal(ids, "");
	ids[0] = '\0';
	assert_int_equal(store_related(s, "11111111dddd5555", 3600 * s1, collect_ids, ids), 0);
	assert_string_equal(ids, ""); /* the only host finding */

	assert_int_equal(store_resolve_id(s, "11111111dd", &id), 0);
	assert_string_equal(id, "11111111dddd5555");
	free(id);
	assert_int_equal(store_resolve_id(s, "projects/p/sources/s/findings/00000000cccc4444", &id),
			 0);
	assert_string_equal(id, "00000000cccc4444");
	free(id);
	assert_int_equal(store_resolve_id(s, "00000000", &id), -EEXIST);
	assert_int_equal(store_resolve_id(s, "1111111", &id), -ENOENT); /* under 8 */
	store_close(s);
}

/*
 * A fleet's store (sowatch collect): two hosts may report the same container id and host
 * findings at the same time, and neither is related to the other's. --host keeps one host.
 */
static void test_hosts(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	struct store_filter f = { 0 };
	char ids[256] = "";
	const int64_t s1 = 1000000000;

	assert_int_equal(insert_on(s, "node-1", "1a000001", 100 * s1, "c0ffee0001"), 0);
	assert_int_equal(insert_on(s, "node-1", "1a000002", 101 * s1, "c0ffee0001"), 0);
	assert_int_equal(insert_on(s, "node-2", "2b000001", 100 * s1, "c0ffee0001"), 0);
	assert_int_equal(insert_on(s, "node-1", "1c000001", 102 * s1, ""), 0);
	assert_int_equal(insert_on(s, "node-2", "2d000001", 102 * s1, ""), 0);
	assert_int_equal(insert_on(s, "node-2", "2d000002", 103 * s1, ""), 0);

	assert_int_equal(store_related(s, "1a000001", 60 * s1, collect_ids, ids), 0);
	assert_string_equal(ids, "1a000002 ");
	ids[0] = '\0';
	assert_int_equal(store_related(s, "2b000001", 60 * s1, collect_ids, ids), 0);
	assert_string_equal(ids, "");
	ids[0] = '\0';
	assert_int_equal(store_related(s, "1c000001", 60 * s1, collect_ids, ids), 0);
	assert_string_equal(ids, "");
	ids[0] = '\0';
	assert_int_equal(store_related(s, "2d000001", 60 * s1, collect_ids, ids), 0);
	assert_string_equal(ids, "2d000002 ");

	ids[0] = '\0';
	f.host = "node-2";
	assert_int_equal(store_list(s, &f, collect_ids, ids), 0);
	assert_string_equal(ids, "2d000002 2d000001 2b000001 ");
	ids[0] = '\0';
	f = (struct store_filter){ .host = "node-1", .container = "c0ffee0001" };
	assert_int_equal(store_list(s, &f, collect_ids, ids), 0);
	assert_string_equal(ids, "1a000002 1a000001 ");
	ids[0] = '\0';
	f = (struct store_filter){ .host = "node-1",
				   .container = "host",
				   .outside_containers = true };
	assert_int_equal(store_list(s, &f, collect_ids, ids), 0);
	assert_string_equal(ids, "1c000001 ");
	ids[0] = '\0';
	f = (struct store_filter){ .host = "node" }; /* exact, not a prefix */
	assert_int_equal(store_list(s, &f, collect_ids, ids), 0);
	assert_string_equal(ids, "");
	store_close(s);
}

static int collect_values(const char *v, size_t len, void *ctx)
{
	strncat(ctx, v, len);
	strcat(ctx, "|");
	return 0;
}

static void test_json_helpers(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	const char *json = "{\"a\":{\"b\":[\"x\\u001by\",\"z\"],\"t\":true,\"n\":\"12\",\"o\":{},"
			   "\"nul\":null}}";
	char buf[64] = "", *v = NULL;
	size_t len = 0;

	assert_int_equal(store_json_get(s, json, "$.a.b[0]", &v, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "x\x1by", 3);
	free(v);
	assert_int_equal(store_json_get(s, json, "$.a.t", &v, NULL), 0);
	assert_string_equal(v, "true");
	free(v);
	assert_int_equal(store_json_get(s, json, "$.a.o", &v, NULL), -EINVAL);
	assert_int_equal(store_json_get(s, json, "$.a.nul", &v, NULL), -ENOENT);
	assert_int_equal(store_json_get(s, json, "$.a.missing", &v, NULL), -ENOENT);
	assert_int_equal(store_json_each(s, json, "$.a.b", collect_values, buf), 0);
	assert_string_equal(buf, "x\x1by|z|");
	store_close(s);
}

/* What store_outbox_pending() and store_outbox_of() handed over */
struct pending_seen {
	int n;
	char id[8][33];
	int64_t seq[8];
	int n_rows;
	char row_state[8][48];
};

static int collect_pending(const struct store_pending *p, void *ctx)
{
	struct pending_seen *seen = ctx;

	if (seen->n < 8) {
		snprintf(seen->id[seen->n], sizeof(seen->id[0]), "%s", p->id);
		seen->seq[seen->n] = p->seq;
	}
	seen->n++;
	return 0;
}

static int collect_delivery(const struct store_delivery *d, void *ctx)
{
	static const char *const names[] = { "pending", "delivered", "failed" };
	struct pending_seen *seen = ctx;

	if (seen->n_rows < 8)
		snprintf(seen->row_state[seen->n_rows], sizeof(seen->row_state[0]), "%s:%s",
			 d->output, names[d->state]);
	seen->n_rows++;
	return 0;
}

static int add_row(struct store *s, const char *id, const char *output,
		   enum store_delivery_state state)
{
	return store_outbox_add(
	    s, &(struct store_delivery){ .finding_id = id, .output = output, .state = state });
}

/* Each output has its own state; pending rows come in the order findings were stored */
static void test_outbox(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	struct pending_seen seen = { 0 };
	uint64_t count = 0;
	int64_t oldest = 0;

	assert_int_equal(insert(s, "bbbb0002", 2000, ""), 0);
	assert_int_equal(insert(s, "aaaa0001", 1000, ""), 0);
	assert_int_equal(add_row(s, "bbbb0002", "jsonl", STORE_PENDING), 0);
	assert_int_equal(add_row(s, "aaaa0001", "jsonl", STORE_PENDING), 0);
	assert_int_equal(add_row(s, "aaaa0001", "webhook", STORE_PENDING), 0);
	assert_int_equal(add_row(s, "aaaa0001", "webhook", STORE_DELIVERED), 1); /* left as is */
	assert_int_equal(add_row(s, "nope0001", "jsonl", STORE_PENDING), -ENOENT);

	assert_int_equal(store_outbox_pending(s, "jsonl", 0, 10, collect_pending, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.id[0], "bbbb0002"); /* stored first */
	assert_string_equal(seen.id[1], "aaaa0001");
	seen.n = 0;
	assert_int_equal(store_outbox_pending(s, "jsonl", seen.seq[0], 10, collect_pending, &seen),
			 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.id[0], "aaaa0001");

	assert_int_equal(store_outbox_update(s, &(struct store_delivery){ .finding_id = "bbbb0002",
									  .output = "jsonl",
									  .state = STORE_DELIVERED,
									  .attempts = 1,
									  .done_ns = 5 }),
			 0);
	assert_int_equal(
	    store_outbox_update(s, &(struct store_delivery){ .finding_id = "aaaa0001",
							     .output = "webhook",
							     .state = STORE_PENDING,
							     .attempts = 3,
							     .next_try_ns = 99,
							     .last_error = "HTTP 503" }),
	    0);
	assert_int_equal(store_outbox_backlog(s, "jsonl", &count, &oldest), 0);
	assert_int_equal(count, 1);
	assert_int_equal(oldest, 1000);
	seen.n = 0;
	assert_int_equal(store_outbox_pending(s, "webhook", 0, 10, collect_pending, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(store_outbox_of(s, "aaaa0001", collect_delivery, &seen), 0);
	assert_int_equal(seen.n_rows, 2);
	assert_string_equal(seen.row_state[0], "jsonl:pending");
	assert_string_equal(seen.row_state[1], "webhook:pending");
	store_close(s);
}

/* Retention deletes old findings no configured output still owes, and nothing else */
static void test_prune(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	const char *const both[] = { "jsonl", "webhook" };
	struct store_row row = { 0 };
	uint64_t deleted = 0;

	/* Old: delivered by both; delivered by jsonl only; failed at webhook; muted (no rows) */
	assert_int_equal(insert(s, "old00001", 100, ""), 0);
	assert_int_equal(add_row(s, "old00001", "jsonl", STORE_DELIVERED), 0);
	assert_int_equal(add_row(s, "old00001", "webhook", STORE_DELIVERED), 0);
	assert_int_equal(insert(s, "old00002", 100, ""), 0);
	assert_int_equal(add_row(s, "old00002", "jsonl", STORE_DELIVERED), 0);
	assert_int_equal(add_row(s, "old00002", "webhook", STORE_PENDING), 0);
	assert_int_equal(insert(s, "old00003", 100, ""), 0);
	assert_int_equal(add_row(s, "old00003", "webhook", STORE_FAILED), 0);
	assert_int_equal(insert(s, "old00004", 100, ""), 0);
	/* New, delivered: too young */
	assert_int_equal(insert(s, "new00001", 5000, ""), 0);
	assert_int_equal(add_row(s, "new00001", "jsonl", STORE_DELIVERED), 0);

	assert_int_equal(store_prune(s, 1000, both, 2, &deleted), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(store_get(s, "old00001", copy_row, &row), -ENOENT);
	assert_int_equal(store_get(s, "old00004", copy_row, &row), -ENOENT);
	assert_int_equal(store_get(s, "old00002", copy_row, &row), 0);
	free_row(&row);
	assert_int_equal(store_get(s, "old00003", copy_row, &row), 0);
	free_row(&row);
	assert_int_equal(store_get(s, "new00001", copy_row, &row), 0);
	free_row(&row);
	/* With webhook gone from the configuration, only jsonl's state counts */
	assert_int_equal(store_prune(s, 1000, both, 1, &deleted), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(store_get(s, "old00002", copy_row, &row), -ENOENT);
	store_close(s);
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

struct gaps_seen {
	int n;
	struct store_gap gap[4];
	char cause[4][16];
};

static int collect_gap(const struct store_gap *g, void *ctx)
{
	struct gaps_seen *seen = ctx;

	if (seen->n == 4)
		return -E2BIG;
	seen->gap[seen->n] = *g;
	snprintf(seen->cause[seen->n], sizeof(seen->cause[0]), "%s", g->cause);
	seen->gap[seen->n].cause = seen->cause[seen->n];
	seen->n++;
	return 0;
}

/* One row for the last sign of life, rewritten in place; gaps listed newest first. */
static void test_alive_and_gaps(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	struct gaps_seen seen = { 0 };
	int64_t t = 0;
	bool stopped = true;

	assert_int_equal(store_get_alive(s, &t, &stopped), -ENOENT);
	assert_int_equal(store_set_alive(s, 1000, false), 0);
	assert_int_equal(store_set_alive(s, 2000, false), 0);
	assert_int_equal(store_get_alive(s, &t, &stopped), 0);
	assert_int_equal(t, 2000);
	assert_false(stopped);
	assert_int_equal(store_set_alive(s, 3000, true), 0);
	assert_int_equal(store_get_alive(s, &t, &stopped), 0);
	assert_int_equal(t, 3000);
	assert_true(stopped);

	assert_int_equal(store_insert_gap(s, &(struct store_gap){ 10, 20, "stalled", false }), 0);
	assert_int_equal(
	    store_insert_gap(s, &(struct store_gap){ 3000, 9000, "not running", true }), 0);
	assert_int_equal(store_insert_gap(s, &(struct store_gap){ 30, 20, "stalled", false }),
			 -EINVAL);
	assert_int_equal(store_insert_gap(s, &(struct store_gap){ 1, 2, "asleep", false }),
			 -EINVAL);
	assert_int_equal(store_insert_gap(s, &(struct store_gap){ 1, 2, NULL, false }), -EINVAL);
	assert_int_equal(store_gaps(s, 0, collect_gap, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.gap[0].from_ns, 3000);
	assert_int_equal(seen.gap[0].to_ns, 9000);
	assert_string_equal(seen.gap[0].cause, "not running");
	assert_true(seen.gap[0].clean_stop);
	assert_string_equal(seen.gap[1].cause, "stalled");
	assert_false(seen.gap[1].clean_stop);
	seen.n = 0;
	assert_int_equal(store_gaps(s, 21, collect_gap, &seen), 0);
	assert_int_equal(seen.n, 1);
	store_close(s);

	/* Kept across a restart, as the next run needs them. */
	s = open_or_fail(fx->path, STORE_READ_WRITE);
	assert_int_equal(store_get_alive(s, &t, &stopped), 0);
	assert_int_equal(t, 3000);
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
	assert_int_equal(store_file_version(s), 5);
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

/* Stores made before the application_id: read as they are, marked at the first write. */
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
	make_database(fx->path, "DROP TABLE sensor_alive; DROP TABLE sensor_gaps;"
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

/* A transaction that failed half-way is rolled back: what follows is stored for good */
static void test_transaction_rolled_back(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	int n = 0;

	assert_int_equal(store_begin(s), 0);
	assert_int_equal(insert(s, "aaaa0001", 1000, ""), 0);
	assert_int_equal(store_outbox_update(s, &(struct store_delivery){ .finding_id = "nope",
									  .output = "jsonl" }),
			 -ENOENT);
	assert_true(store_in_transaction(s));
	store_rollback(s);
	assert_false(store_in_transaction(s));
	store_rollback(s); /* none open: nothing to do */
	assert_int_equal(insert(s, "aaaa0002", 1000, ""), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(insert(s, "aaaa0003", 1000, ""), 0);
	assert_int_equal(store_commit(s), 0);
	store_close(s);

	s = open_or_fail(fx->path, STORE_READ_ONLY);
	assert_int_equal(store_get(s, "aaaa0001", count_row, &n), -ENOENT);
	assert_int_equal(store_get(s, "aaaa0002", count_row, &n), 0);
	assert_int_equal(store_get(s, "aaaa0003", count_row, &n), 0);
	assert_int_equal(n, 2);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_schema_and_modes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_is_not_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_store_failure_is_not_a_bad_finding,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_transaction_rolled_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_state_and_mute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_future_version_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_while_writer_holds_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_helpers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alive_and_gaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_version_2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_version_4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_store_is_marked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_database_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmarked_store_adopted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planted_files_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
