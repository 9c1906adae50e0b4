// SPDX-License-Identifier: Apache-2.0
/*
 * What the store's unit tests share (test_store.c, test_store_files.c): a scratch directory per
 * test, minimal findings to insert, and callbacks that copy what the store lists.
 * Include after <cmocka.h>, <sqlite3.h> and "store/store.h".
 */
#ifndef SOWATCH_TESTS_STORE_TEST_H
#define SOWATCH_TESTS_STORE_TEST_H

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	char dir[64];
	char path[PATH_MAX]; /* dir/sub/findings.db: the store creates sub */
};

static inline int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/sowatch-test-store.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/sub/findings.db", fx->dir);
	*state = fx;
	return 0;
}

static inline int teardown(void **state)
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
static inline int insert_on(struct store *s, const char *host, const char *id, int64_t t,
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
static inline int insert(struct store *s, const char *id, int64_t t, const char *container)
{
	return insert_on(s, "node-1", id, t, container);
}

static inline struct store *open_or_fail(const char *path, enum store_mode mode)
{
	struct store *s = NULL;
	const char *error = NULL;
	int err = store_open_mode(&s, path, mode, &error);

	if (err)
		fail_msg("store_open_mode(%s): %d: %s", path, err, error);
	return s;
}

static inline int copy_row(const struct store_row *r, void *ctx)
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

static inline void free_row(struct store_row *r)
{
	free((char *)r->state);
	free((char *)r->mute);
	free((char *)r->json);
	free((char *)r->container_id);
	free((char *)r->host);
	memset(r, 0, sizeof(*r));
}

static inline int pragma_int(const char *path, const char *pragma, char *text, size_t size)
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

static inline int count_row(const struct store_row *r, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static inline int collect_ids(const struct store_row *r, void *ctx)
{
	char *buf = ctx;

	strcat(buf, r->id);
	strcat(buf, " ");
	return 0;
}

struct gaps_seen {
	int n;
	struct store_gap gap[4];
	char cause[4][16];
};

static inline int collect_gap(const struct store_gap *g, void *ctx)
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

/* What store_outbox_pending() and store_outbox_of() handed over */
struct pending_seen {
	int n;
	char id[8][33];
	int64_t seq[8];
	int n_rows;
	char row_state[8][48];
};

static inline int collect_pending(const struct store_pending *p, void *ctx)
{
	struct pending_seen *seen = ctx;

	if (seen->n < 8) {
		snprintf(seen->id[seen->n], sizeof(seen->id[0]), "%s", p->id);
		seen->seq[seen->n] = p->seq;
	}
	seen->n++;
	return 0;
}

static inline int collect_delivery(const struct store_delivery *d, void *ctx)
{
	static const char *const names[] = { "pending", "delivered", "failed" };
	struct pending_seen *seen = ctx;

	if (seen->n_rows < 8)
		snprintf(seen->row_state[seen->n_rows], sizeof(seen->row_state[0]), "%s:%s",
			 d->output, names[d->state]);
	seen->n_rows++;
	return 0;
}

#endif
