// SPDX-License-Identifier: Apache-2.0
/*
 * The container log lines a finding keeps: the copy (findings/log_copy.c), and its row in the
 * store (store/logs.c), pruned with its finding.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "findings/log_copy.h"
#include "proc/container.h"
#include "store/store.h"

#include "store_test.h"

#define SEC 1000000000LL

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

/* "2026-12-03T18:18:29.019559560Z" for ns */
static void stamp(int64_t ns, char out[48])
{
	time_t sec = (time_t)(ns / SEC);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(out, 48, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 48 - n, ".%09lldZ", (long long)(ns % SEC));
}

/* A Docker json-file log at path: one line a second, ending at end_ns, of texts */
static void write_docker_log(const char *path, int64_t end_ns, const char *const *texts, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		char t[48];

		stamp(end_ns - (int64_t)(n - 1 - i) * SEC, t);
		fprintf(f, "{\"log\":\"%s\\n\",\"stream\":\"stdout\",\"time\":\"%s\"}\n", texts[i],
			t);
	}
	assert_int_equal(fclose(f), 0);
}

/* A container_info as a Docker container with its log at path (a copy the test frees) */
static struct container_info *docker_info(const char *path)
{
	struct container_info *ci = calloc(1, sizeof(*ci));

	assert_non_null(ci);
	ci->log_place = CONTAINER_LOG_PLACE_DOCKER;
	ci->log_path = strdup(path);
	assert_non_null(ci->log_path);
	return ci;
}

static void free_info(struct container_info *ci)
{
	container_info_free(ci);
	free(ci);
}

static void test_copy_and_reuse(void **state)
{
	struct fixture *fx = *state;
	static const char *const texts[] = { "old", "listening", "GET /admin" };
	char path[PATH_MAX];
	struct container_info *ci;
	struct log_copy c1, c2, c3;
	int64_t t = now_ns();

	snprintf(path, sizeof(path), "%s/c-json.log", fx->dir);
	write_docker_log(path, t, texts, 3);

	ci = docker_info(path);
	/* The event 1 s before now: "old" (2 s before it) is in the 5 minutes, kept */
	assert_int_equal(log_copy_take(ci, (uint64_t)(t - SEC), (uint64_t)t, &c1), 0);
	assert_string_equal(c1.log.place, "docker");
	assert_string_equal(c1.log.path, path);
	assert_int_equal(c1.log.from_ns, t - SEC - 300 * SEC);
	assert_int_equal(c1.log.to_ns, t);
	assert_non_null(strstr(c1.log.lines, " stdout F old\n"));
	assert_non_null(strstr(c1.log.lines, " stdout F GET /admin\n"));
	assert_int_equal(c1.log.lines_left_out, 0);
	assert_string_equal(c1.log.note, "");
	log_copy_release(&c1);
	free_info(ci); /* the next copy must not point into it */

	/* Rewritten: a copy within a second of the last one, reaching the event, is that one */
	write_docker_log(path, t, texts, 1);
	ci = docker_info(path);
	assert_int_equal(log_copy_take(ci, (uint64_t)(t - SEC / 2), (uint64_t)(t + SEC / 2), &c2),
			 0);
	assert_ptr_equal(c2.log.path, ci->log_path);
	assert_int_equal(c2.log.to_ns, t); /* the earlier copy's own window */
	assert_non_null(strstr(c2.log.lines, "GET /admin"));
	log_copy_release(&c2);

	/* An event after that copy ended: read again */
	assert_int_equal(log_copy_take(ci, (uint64_t)(t + SEC / 4), (uint64_t)(t + SEC / 2), &c3),
			 0);
	assert_int_equal(c3.log.to_ns, t + SEC / 2);
	assert_null(strstr(c3.log.lines, "GET /admin"));
	assert_non_null(strstr(c3.log.lines, " stdout F old\n"));
	log_copy_release(&c3);
	free_info(ci);
}

static void test_no_log(void **state)
{
	struct fixture *fx = *state;
	struct container_info none = { 0 };
	struct container_info *ci;
	char path[PATH_MAX];
	struct log_copy c;

	/* No place known: no copy at all */
	assert_int_equal(log_copy_take(&none, 1, 2, &c), -ENOENT);
	assert_int_equal(log_copy_take(NULL, 1, 2, &c), -ENOENT);

	/* A place with no file: a copy that says so */
	snprintf(path, sizeof(path), "%s/gone-json.log", fx->dir);
	ci = docker_info(path);
	assert_int_equal(log_copy_take(ci, (uint64_t)now_ns(), (uint64_t)now_ns(), &c), 0);
	assert_int_equal(c.log.lines_len, 0);
	assert_non_null(strstr(c.log.note, "no log file at"));
	assert_non_null(strstr(c.log.note, path));
	log_copy_release(&c);
	free_info(ci);
}

/* The newest 64 KiB of a log longer than that, each line cut at 4 KiB */
static void test_copy_is_bounded(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], t[48], big[6000];
	struct container_info *ci;
	struct log_copy c;
	int64_t now = now_ns();
	FILE *f;

	snprintf(path, sizeof(path), "%s/big-json.log", fx->dir);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 100; i++) {
		stamp(now - (100 - i) * (SEC / 10), t);
		fprintf(f, "{\"log\":\"%03d%s\\n\",\"stream\":\"stderr\",\"time\":\"%s\"}\n", i,
			big, t);
	}
	assert_int_equal(fclose(f), 0);
	ci = docker_info(path);
	assert_int_equal(log_copy_take(ci, (uint64_t)now, (uint64_t)now + 1, &c), 0);
	assert_true(c.log.lines_len <= 64 * 1024);
	assert_true(c.log.lines_len > 60 * 1024);
	assert_true(c.log.lines_left_out > 80);
	assert_non_null(strstr(c.log.lines, " stderr F 099xxx"));
	assert_null(strstr(c.log.lines, " stderr F 000xxx"));
	assert_non_null(strstr(c.log.lines, " bytes cut]\n"));
	log_copy_release(&c);
	free_info(ci);
}

struct got_log {
	char place[16], path[64], note[64], lines[64];
	size_t lines_len;
	int64_t from_ns, to_ns, copied_ns, left_out;
};

static int get_log(const struct store_log *log, void *ctx)
{
	struct got_log *g = ctx;

	snprintf(g->place, sizeof(g->place), "%s", log->place);
	snprintf(g->path, sizeof(g->path), "%s", log->path);
	snprintf(g->note, sizeof(g->note), "%s", log->note);
	g->lines_len = log->lines_len < sizeof(g->lines) ? log->lines_len : sizeof(g->lines);
	memcpy(g->lines, log->lines, g->lines_len);
	g->from_ns = log->from_ns;
	g->to_ns = log->to_ns;
	g->copied_ns = log->copied_ns;
	g->left_out = log->lines_left_out;
	return 0;
}

static void test_store_keeps_and_prunes(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_or_fail(fx->path, STORE_CREATE);
	/* The container's bytes, invalid UTF-8 and a NUL included: a blob, kept as they were */
	static const char lines[] = "2026-12-03T18:18:29.000000000Z stdout F a\xff\0b\n";
	struct store_log log = {
		.place = "cri",
		.path = "/var/log/pods/ns_p_u/c",
		.from_ns = 10,
		.to_ns = 20,
		.copied_ns = 21,
		.lines_left_out = 3,
		.note = "1 compressed rotated files not read",
		.lines = lines,
		.lines_len = sizeof(lines) - 1,
	};
	struct got_log g = { 0 };
	const char *outputs[] = { "jsonl" };
	uint64_t deleted = 0;

	assert_int_equal(insert(s, "aaaa0001", 1000, "c0ffee"), 0);
	assert_int_equal(store_insert_log(s, "aaaa0001", &log), 0);
	/* A second copy for the same finding is ignored */
	log.note = "another";
	assert_int_equal(store_insert_log(s, "aaaa0001", &log), 0);
	assert_int_equal(store_get_log(s, "aaaa0001", get_log, &g), 0);
	assert_string_equal(g.place, "cri");
	assert_string_equal(g.path, "/var/log/pods/ns_p_u/c");
	assert_string_equal(g.note, "1 compressed rotated files not read");
	assert_int_equal(g.lines_len, sizeof(lines) - 1);
	assert_memory_equal(g.lines, lines, sizeof(lines) - 1);
	assert_int_equal(g.from_ns, 10);
	assert_int_equal(g.to_ns, 20);
	assert_int_equal(g.copied_ns, 21);
	assert_int_equal(g.left_out, 3);
	assert_int_equal(store_get_log(s, "bbbb0002", get_log, &g), -ENOENT);

	/* Pruned with its finding */
	assert_int_equal(store_prune(s, 2000, outputs, 0, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(store_get_log(s, "aaaa0001", get_log, &g), -ENOENT);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_and_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_keeps_and_prunes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
