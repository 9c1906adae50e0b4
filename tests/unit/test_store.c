// SPDX-License-Identifier: Apache-2.0
/* The store: findings, their queries, states, the outbox, pruning and signs of life. */
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

#include "store_test.h"

static void test_open_creates_schema_and_modes(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	char dir[PATH_MAX + 16], mode[16];
	struct stat st;

	assert_int_equal(store_file_version(s), store_schema_version());
	assert_int_equal(store_schema_version(), 7);
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

/* One row for the last sign of life, rewritten in place; gaps listed newest first. */
/* What an output remembers (the SCC source it made): by name, replaced, kept across opens */
static void test_remembered(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE), *sibling = NULL;
	const char *error = NULL;
	char value[8];

	assert_int_equal(store_recall(s, "scc source a", value, sizeof(value)), -ENOENT);
	assert_int_equal(store_remember(s, "scc source a", "123", 1), 0);
	assert_int_equal(store_remember(s, "scc source a", "4567", 2), 0);
	assert_int_equal(store_remember(s, "scc source b", "12345678", 3), 0);
	/* Written through a second connection, as an output does, read through the first */
	assert_int_equal(store_open_sibling(&sibling, s, &error), 0);
	assert_int_equal(store_remember(sibling, "scc source c", "89", 4), 0);
	store_close(sibling);
	assert_int_equal(store_recall(s, "scc source c", value, sizeof(value)), 0);
	assert_string_equal(value, "89");
	store_close(s);
	s = open_or_fail(fx->path, STORE_READ_ONLY);
	assert_int_equal(store_recall(s, "scc source a", value, sizeof(value)), 0);
	assert_string_equal(value, "4567");
	assert_int_equal(store_recall(s, "scc source b", value, sizeof(value)), -ENAMETOOLONG);
	store_close(s);
}

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

/* Stores made before the application_id: read as they are, marked at the first write. */

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
		cmocka_unit_test_setup_teardown(test_reader_while_writer_holds_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_helpers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alive_and_gaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remembered, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
