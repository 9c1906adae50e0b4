// SPDX-License-Identifier: Apache-2.0
/*
 * Container logs as containerd, CRI-O, podman and Docker write them, read back by time window
 * from real files (rotations included), and the kept copy a finding stores, read back again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "proc/container_logs.h"
#include "util/rfc3339.h"

#define SEC 1000000000LL
#define ALL INT64_MIN, INT64_MAX

static int64_t t0; /* 2026-12-03T18:18:29Z */
static char dir[64];

static int setup(void **state)
{
	t0 = rfc3339_parse("2026-12-03T18:18:29Z");
	assert_true(t0 > 0);
	snprintf(dir, sizeof(dir), "/tmp/sowatch-test-logs.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *path_of(const char *name, char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return out;
}

static void write_bytes(const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	FILE *f = fopen(path_of(name, path), "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_text(const char *name, const char *text)
{
	write_bytes(name, text, strlen(text));
}

/* ---- What the callback saw ---- */

struct got_line {
	int64_t t;
	char stream[8];
	char *text;
	size_t len, full_len;
	bool cut;
};

struct got {
	struct got_line *l;
	size_t n;
	size_t stop_after; /* return 7 after this many lines; 0: never */
};

static int collect(const struct container_log_line *line, void *ctx)
{
	struct got *g = ctx;
	struct got_line *gl;

	assert_int_equal(line->text[line->len], '\0');
	assert_true(line->cut == (line->full_len > line->len));
	g->l = realloc(g->l, (g->n + 1) * sizeof(*g->l));
	assert_non_null(g->l);
	gl = &g->l[g->n++];
	gl->t = line->time_ns;
	snprintf(gl->stream, sizeof(gl->stream), "%s", line->stream);
	gl->text = malloc(line->len + 1);
	assert_non_null(gl->text);
	memcpy(gl->text, line->text, line->len + 1);
	gl->len = line->len;
	gl->full_len = line->full_len;
	gl->cut = line->cut;
	return g->stop_after && g->n == g->stop_after ? 7 : 0;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->l[i].text);
	free(g->l);
	memset(g, 0, sizeof(*g));
}

/* Line i is a whole line of len bytes (text may hold NULs) */
static void expect_bytes(const struct got *g, size_t i, int64_t t, const char *stream,
			 const char *text, size_t len)
{
	assert_true(i < g->n);
	assert_int_equal(g->l[i].t, t);
	assert_string_equal(g->l[i].stream, stream);
	assert_int_equal(g->l[i].len, len);
	assert_int_equal(g->l[i].full_len, len);
	assert_false(g->l[i].cut);
	assert_true(memcmp(g->l[i].text, text, len) == 0);
}

static void expect_line(const struct got *g, size_t i, int64_t t, const char *stream,
			const char *text)
{
	expect_bytes(g, i, t, stream, text, strlen(text));
}

static int read_log(const char *name, enum container_log_format f, int64_t from, int64_t to,
		    size_t max_line, struct got *g, struct container_log_stats *st)
{
	char path[PATH_MAX];

	return container_log_read(path_of(name, path), f, from, to, max_line, collect, g, st);
}

/* ---- The formats ---- */

static const char cri_log[] = "2026-12-03T18:18:29.019559560Z stdout F hello world\n"
			      "2026-12-03T18:18:30.000000000Z stderr P part one, \n"
			      /* older podman: fields after the tag */
			      "2026-12-03T18:18:30.500000000Z stdout F:x.y interleaved\n"
			      "2026-12-03T18:18:31.000000000Z stderr P part two, \n"
			      "2026-12-03T18:18:32.000000000Z stderr F end\n"
			      "2026-12-03T20:18:33.000000000+02:00 stdout F offset plus\n"
			      "2026-12-03T11:18:34.25-07:00 stdout F offset minus\n"
			      "2026-12-03T18:18:35Z stdout F \n"
			      "2026-12-03T18:18:36Z stdout F\n"
			      "2026-12-03T18:18:37Z stdout F  two  spaces \n";

static void test_cri(void **state)
{
	struct container_log_stats st = { 0 };
	struct got g = { 0 };

	write_text("0.log", cri_log);
	assert_int_equal(read_log("0.log", CONTAINER_LOG_CRI, ALL, 4096, &g, &st), 0);
	assert_int_equal(g.n, 8);
	expect_line(&g, 0, t0 + 19559560, "stdout", "hello world");
	expect_line(&g, 1, t0 + 1500000000, "stdout", "interleaved");
	/* the parts of stderr's line, joined across stdout's, at the time of the first */
	expect_line(&g, 2, t0 + SEC, "stderr", "part one, part two, end");
	expect_line(&g, 3, t0 + 4 * SEC, "stdout", "offset plus");
	expect_line(&g, 4, t0 + 5 * SEC + 250000000, "stdout", "offset minus");
	expect_line(&g, 5, t0 + 6 * SEC, "stdout", "");
	/* "F" without its space: an empty line too */
	expect_line(&g, 6, t0 + 7 * SEC, "stdout", "");
	expect_line(&g, 7, t0 + 8 * SEC, "stdout", " two  spaces ");
	assert_int_equal(st.lines, 8);
	assert_int_equal(st.unparsed, 0);
	assert_int_equal(st.n_files, 1);
	assert_string_equal(st.files[0] + strlen(dir), "/0.log");
	got_free(&g);
	container_log_stats_free(&st);
}

static void test_cri_window(void **state)
{
	struct container_log_stats st = { 0 };
	struct got g = { 0 };

	write_text("0.log", cri_log);
	/* inclusive at both ends */
	assert_int_equal(
	    read_log("0.log", CONTAINER_LOG_CRI, t0 + SEC, t0 + 4 * SEC, 4096, &g, &st), 0);
	assert_int_equal(g.n, 3);
	expect_line(&g, 0, t0 + 1500000000, "stdout", "interleaved");
	expect_line(&g, 1, t0 + SEC, "stderr", "part one, part two, end");
	expect_line(&g, 2, t0 + 4 * SEC, "stdout", "offset plus");
	assert_int_equal(st.lines, 3);
	got_free(&g);
	container_log_stats_free(&st);
}

/* What docker_log's fifth record says */
static const char nul_text[] = "nul\0inside \x1b[31mred";

static const char docker_log[] =
    "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-03T18:18:29.019559560Z\"}\n"
    "{\"log\":\"part one \",\"stream\":\"stderr\",\"time\":\"2026-12-03T18:18:30Z\"}\n"
    "{\"log\":\"tty\\n\",\"stream\":\"stdout\",\"attrs\":{\"tag\":\"x\"},"
    "\"time\":\"2026-12-03T18:18:30.5Z\"}\n"
    "{\"log\":\"and two\\n\",\"stream\":\"stderr\",\"time\":\"2026-12-03T18:18:31Z\"}\n"
    "{\"log\":\"nul\\u0000inside \\u001b[31mred\\n\",\"stream\":\"stdout\","
    "\"time\":\"2026-12-03T20:18:32+02:00\"}\n"
    "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-03T11:18:33-07:00\"}\n";

static void test_docker(void **state)
{
	struct container_log_stats st = { 0 };
	struct got g = { 0 };

	write_text("x-json.log", docker_log);
	assert_int_equal(read_log("x-json.log", CONTAINER_LOG_DOCKER_JSON, ALL, 4096, &g, &st), 0);
	assert_int_equal(g.n, 5);
	expect_line(&g, 0, t0 + 19559560, "stdout", "hello");
	expect_line(&g, 1, t0 + 1500000000, "stdout", "tty");
	expect_line(&g, 2, t0 + SEC, "stderr", "part one and two");
	/* a NUL and an escape sequence, as they were written */
	expect_bytes(&g, 3, t0 + 3 * SEC, "stdout", nul_text, sizeof(nul_text) - 1);
	expect_line(&g, 4, t0 + 4 * SEC, "stdout", "");
	assert_int_equal(st.unparsed, 0);
	got_free(&g);
	container_log_stats_free(&st);

	/* the window: [30 s, 31 s] holds the tty line and the joined one */
	assert_int_equal(read_log("x-json.log", CONTAINER_LOG_DOCKER_JSON, t0 + SEC, t0 + 2 * SEC,
				  4096, &g, &st),
			 0);
	assert_int_equal(g.n, 2);
	expect_line(&g, 0, t0 + 1500000000, "stdout", "tty");
	expect_line(&g, 1, t0 + SEC, "stderr", "part one and two");
	got_free(&g);
	container_log_stats_free(&st);
}

/* Bytes a terminal would act on, and bytes that are no UTF-8, are the printer's to escape. */
static void test_bytes_untouched(void **state)
{
	static const char raw[] = "\xff\xfe\x1b[2J\x1b]0;title\x07\r\x7f\xc3 a\0b";
	struct container_log_stats st = { 0 };
	char buf[256];
	struct got g = { 0 };
	int n;

	n = snprintf(buf, sizeof(buf), "2026-12-03T18:18:29Z stdout F ");
	memcpy(buf + n, raw, sizeof(raw) - 1);
	buf[n + sizeof(raw) - 1] = '\n';
	write_bytes("0.log", buf, n + sizeof(raw));
	assert_int_equal(read_log("0.log", CONTAINER_LOG_CRI, ALL, 4096, &g, &st), 0);
	assert_int_equal(g.n, 1);
	expect_bytes(&g, 0, t0, "stdout", raw, sizeof(raw) - 1);
	got_free(&g);
	container_log_stats_free(&st);
}

static void test_unparsed(void **state)
{
	struct container_log_stats st = { 0 };
	struct got g = { 0 };
	char cri[1024];

	snprintf(cri, sizeof(cri),
		 "not a record\n"
		 "2026-13-03T18:18:29Z stdout F bad month\n"
		 "2026-12-03T18:18:29Z stdin F bad stream\n"
		 "2026-12-03T18:18:29Z stdout X bad tag\n"
		 "\n"
		 "2026-12-03T18:18:29Z stdout F good\n"
		 "%0200d stdout F a header too long\n"
		 "2026-12-03T18:18:29Z stdout\n"
		 "2026-12-03T18:18:29 stdout F no zone\n",
		 0);
	write_text("0.log", cri);
	assert_int_equal(read_log("0.log", CONTAINER_LOG_CRI, ALL, 4096, &g, &st), 0);
	assert_int_equal(g.n, 1);
	expect_line(&g, 0, t0, "stdout", "good");
	assert_int_equal(st.unparsed, 8);
	got_free(&g);
	container_log_stats_free(&st);

	write_text(
	    "x-json.log",
	    "not json\n"
	    "{\"log\":\"x\\n\",\"stream\":\"stdout\"}\n"
	    "{\"log\":\"x\\n\",\"stream\":\"stdin\",\"time\":\"2026-12-03T18:18:29Z\"}\n"
	    "{\"log\":5,\"stream\":\"stdout\",\"time\":\"2026-12-03T18:18:29Z\"}\n"
	    "{\"log\":\"x\\n\",\"log\":\"y\\n\",\"stream\":\"stdout\","
	    "\"time\":\"2026-12-03T18:18:29Z\"}\n"
	    "[\"log\"]\n"
	    "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"yesterday\"}\n"
	    "{\"log\":\"good\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-03T18:18:29Z\"}\n"
	    "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-03T18:18:29Z\\u0000\"}\n"
	    /* Docker writes invalid UTF-8 as \ufffd: raw, it is no JSON */
	    "{\"log\":\"\xff\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-03T18:18:29Z\"}\n");
	assert_int_equal(read_log("x-json.log", CONTAINER_LOG_DOCKER_JSON, ALL, 4096, &g, &st), 0);
	assert_int_equal(g.n, 1);
	expect_line(&g, 0, t0, "stdout", "good");
	assert_int_equal(st.unparsed, 9);
	got_free(&g);
	container_log_stats_free(&st);
}

/* ---- Long lines ---- */

#define MB (1024 * 1024)

static void test_cri_long(void **state)
{
	static const char head[] = "2026-12-03T18:18:29Z stdout F ";
	size_t n_e = MB / 2, len = 0, full = 1 + 2 * n_e;
	struct container_log_stats st = { 0 };
	char *buf = malloc(3 * MB);
	struct got g = { 0 };

	assert_non_null(buf);
	/* one 1 MB record: "a" and then é (2 bytes) again and again */
	len += sprintf(buf + len, "%s", head);
	buf[len++] = 'a';
	for (size_t i = 0; i < n_e; i++)
		len += sprintf(buf + len, "\xc3\xa9");
	buf[len++] = '\n';
	/* 64 parts of 16 KiB and the last: as containerd splits */
	for (int i = 0; i < 64; i++) {
		len += sprintf(buf + len, "2026-12-03T18:18:30Z stderr P ");
		memset(buf + len, 'b', 16384);
		len += 16384;
		buf[len++] = '\n';
	}
	len += sprintf(buf + len, "2026-12-03T18:18:31Z stderr F tail\n");
	len += sprintf(buf + len, "2026-12-03T18:18:32Z stdout F after\n");
	write_bytes("0.log", buf, len);

	assert_int_equal(read_log("0.log", CONTAINER_LOG_CRI, ALL, 1000, &g, &st), 0);
	assert_int_equal(g.n, 3);
	/* cut at 1000 bytes would split an é: 999, whole characters */
	assert_true(g.l[0].cut);
	assert_int_equal(g.l[0].len, 999);
	assert_int_equal(g.l[0].full_len, full);
	assert_true(g.l[0].text[0] == 'a' && memcmp(g.l[0].text + 997, "\xc3\xa9", 2) == 0);
	assert_true(g.l[1].cut);
	assert_int_equal(g.l[1].t, t0 + SEC);
	assert_int_equal(g.l[1].len, 1000);
	assert_int_equal(g.l[1].full_len, 64 * 16384 + 4);
	assert_int_equal(strspn(g.l[1].text, "b"), 1000);
	expect_line(&g, 2, t0 + 3 * SEC, "stdout", "after");
	got_free(&g);
	container_log_stats_free(&st);
	free(buf);
}

/* A Docker record too long to hold, decoded as it streams: as jansson decodes it. */
static void test_docker_long(void **state)
{
	static const char piece[] = "\\\"\\\\\\/\\b\\f\\r\\t\\u0000\\u001b\\u00e9\\u20AC"
				    "\\ud83d\\ude00 \\n raw \xc3\xa9 ";
	struct container_log_stats st = { 0 };
	size_t body = 0, len = 0, n_pieces = MB / (sizeof(piece) - 1);
	char *buf = malloc(6 * MB), *str = malloc(2 * MB);
	struct got g = { 0 };
	json_error_t err;
	json_t *want;

	assert_non_null(buf);
	assert_non_null(str);
	str[body++] = '"';
	for (size_t i = 0; i < n_pieces; i++) {
		memcpy(str + body, piece, sizeof(piece) - 1);
		body += sizeof(piece) - 1;
	}
	str[body++] = '"';
	want = json_loadb(str, body, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	assert_non_null(want);

	/* whole, then without its newline (a part, joined with the next), then cut */
	len += sprintf(buf + len,
		       "{\"log\":%.*s\\n\",\"stream\":\"stdout\","
		       "\"attrs\":{\"a\":\"b\"},\"time\":\"2026-12-03T18:18:29Z\"}\n",
		       (int)body - 1, str);
	len += sprintf(buf + len,
		       "{\"log\":%.*s\",\"stream\":\"stderr\","
		       "\"time\":\"2026-12-03T18:18:30Z\"}\n",
		       (int)body - 1, str);
	len += sprintf(buf + len, "{\"log\":\"end\\n\",\"stream\":\"stderr\","
				  "\"time\":\"2026-12-03T18:18:31Z\"}\n");
	write_bytes("x-json.log", buf, len);
	assert_int_equal(read_log("x-json.log", CONTAINER_LOG_DOCKER_JSON, ALL, 2 * MB, &g, &st),
			 0);
	assert_int_equal(st.unparsed, 0);
	assert_int_equal(g.n, 2);
	expect_bytes(&g, 0, t0, "stdout", json_string_value(want), json_string_length(want));
	assert_int_equal(g.l[1].t, t0 + SEC);
	assert_int_equal(g.l[1].len, json_string_length(want) + 3);
	assert_true(memcmp(g.l[1].text, json_string_value(want), json_string_length(want)) == 0);
	assert_true(memcmp(g.l[1].text + json_string_length(want), "end", 3) == 0);
	got_free(&g);

	assert_int_equal(read_log("x-json.log", CONTAINER_LOG_DOCKER_JSON, ALL, 100, &g, &st), 0);
	assert_int_equal(g.n, 2);
	assert_true(g.l[0].cut);
	assert_true(g.l[0].len <= 100 && g.l[0].len >= 97);
	assert_int_equal(g.l[0].full_len, json_string_length(want));
	assert_true(memcmp(g.l[0].text, json_string_value(want), g.l[0].len) == 0);
	assert_int_equal(g.l[1].full_len, json_string_length(want) + 3);
	got_free(&g);
	container_log_stats_free(&st);

	/* what jansson would refuse, refused as well: a lone surrogate, the tail reordered */
	len = sprintf(buf,
		      "{\"log\":%.*s\\ud800x\\n\",\"stream\":\"stdout\","
		      "\"time\":\"2026-12-03T18:18:29Z\"}\n",
		      (int)body - 1, str);
	len += sprintf(buf + len,
		       "{\"stream\":\"stdout\",\"log\":%.*s\\n\","
		       "\"time\":\"2026-12-03T18:18:29Z\"}\n",
		       (int)body - 1, str);
	len += sprintf(buf + len,
		       "{\"log\":%.*s\\n\",\"log\":\"\",\"stream\":\"stdout\","
		       "\"time\":\"2026-12-03T18:18:29Z\"}\n",
		       (int)body - 1, str);
	len +=
	    sprintf(buf + len, "{\"log\":%.*s\\n\",\"stream\":\"stdout\"}\n", (int)body - 1, str);
	write_bytes("x-json.log", buf, len);
	assert_int_equal(read_log("x-json.log", CONTAINER_LOG_DOCKER_JSON, ALL, 100, &g, &st), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(st.unparsed, 4);
	got_free(&g);
	container_log_stats_free(&st);

	json_decref(want);
	free(str);
	free(buf);
}

/* Docker's 16 KiB parts of a 1 MB line, joined up to max_line and counted all the way. */
static void test_docker_parts(void **state)
{
	struct container_log_stats st = { 0 };
	char *buf = malloc(2 * MB), part[16385];
	struct got g = { 0 };
	size_t len = 0;

	assert_non_null(buf);
	memset(part, 'p', 16384);
	part[16384] = '\0';
	for (int i = 0; i < 64; i++)
		len += sprintf(buf + len,
			       "{\"log\":\"%s\",\"stream\":\"stdout\","
			       "\"time\":\"2026-12-03T18:18:%02dZ\"}\n",
			       part, 29 + i % 30);
	len += sprintf(buf + len, "{\"log\":\"x\\n\",\"stream\":\"stdout\","
				  "\"time\":\"2026-12-03T18:19:00Z\"}\n");
	write_bytes("x-json.log", buf, len);
	assert_int_equal(read_log("x-json.log", CONTAINER_LOG_DOCKER_JSON, ALL, 4096, &g, &st), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.l[0].t, t0);
	assert_true(g.l[0].cut);
	assert_int_equal(g.l[0].len, 4096);
	assert_int_equal(g.l[0].full_len, 64 * 16384 + 1);
	got_free(&g);
	container_log_stats_free(&st);
	free(buf);
}

/* ---- Files ---- */

static const char *docker_rec(char *out, const char *text, int sec)
{
	sprintf(out, "{\"log\":\"%s\",\"stream\":\"stdout\",\"time\":\"2026-12-03T18:18:%02dZ\"}\n",
		text, sec);
	return out;
}

static void test_docker_rotation(void **state)
{
	struct container_log_stats st = { 0 };
	struct got g = { 0 };
	char r[256], two[512];

	/* .10 is older than .2: numbers, not text, order them */
	write_text("x-json.log.10", docker_rec(r, "ten\\n", 29));
	write_text("x-json.log.2", docker_rec(r, "two\\n", 30));
	snprintf(two, sizeof(two), "%s", docker_rec(r, "one\\n", 31));
	/* a line split across the rotation */
	strcat(two, docker_rec(r, "split ", 32));
	write_text("x-json.log.1", two);
	snprintf(two, sizeof(two), "%s", docker_rec(r, "rest\\n", 33));
	strcat(two, docker_rec(r, "live\\n", 34));
	write_text("x-json.log", two);
	write_text("x-json.log.3.gz", "\x1f\x8b compressed");
	write_text("x-json.log.01", docker_rec(r, "not a rotation\\n", 29));
	write_text("x-json.log.tmp", docker_rec(r, "not a rotation\\n", 29));
	write_text("y-json.log.1", docker_rec(r, "another container\\n", 29));

	assert_int_equal(read_log("x-json.log", CONTAINER_LOG_DOCKER_JSON, ALL, 4096, &g, &st), 0);
	assert_int_equal(g.n, 5);
	expect_line(&g, 0, t0, "stdout", "ten");
	expect_line(&g, 1, t0 + SEC, "stdout", "two");
	expect_line(&g, 2, t0 + 2 * SEC, "stdout", "one");
	expect_line(&g, 3, t0 + 3 * SEC, "stdout", "split rest");
	expect_line(&g, 4, t0 + 5 * SEC, "stdout", "live");
	assert_int_equal(st.skipped_compressed, 1);
	assert_int_equal(st.n_files, 4);
	assert_string_equal(st.files[0] + strlen(dir), "/x-json.log.10");
	assert_string_equal(st.files[1] + strlen(dir), "/x-json.log.2");
	assert_string_equal(st.files[2] + strlen(dir), "/x-json.log.1");
	assert_string_equal(st.files[3] + strlen(dir), "/x-json.log");
	got_free(&g);
	container_log_stats_free(&st);
}

static void test_cri_rotation(void **state)
{
	struct container_log_stats st = { 0 };
	struct got g = { 0 };

	write_text("0.log.20261203-181829", "2026-12-03T18:18:30Z stdout F b\n");
	write_text("0.log.20261203-171000", "2026-12-03T18:18:29Z stdout F a\n");
	write_text("0.log.20261202-000000.gz", "\x1f\x8b compressed");
	write_text("0.log", "2026-12-03T18:18:31Z stdout F c\n");
	write_text("1.log", "2026-12-03T18:18:29Z stdout F another restart\n");
	write_text("0.log.20261203-18182", "2026-12-03T18:18:29Z stdout F not a rotation\n");

	assert_int_equal(read_log("0.log", CONTAINER_LOG_CRI, ALL, 4096, &g, &st), 0);
	assert_int_equal(g.n, 3);
	expect_line(&g, 0, t0, "stdout", "a");
	expect_line(&g, 1, t0 + SEC, "stdout", "b");
	expect_line(&g, 2, t0 + 2 * SEC, "stdout", "c");
	assert_int_equal(st.skipped_compressed, 1);
	assert_int_equal(st.n_files, 3);
	assert_string_equal(st.files[0] + strlen(dir), "/0.log.20261203-171000");
	assert_string_equal(st.files[1] + strlen(dir), "/0.log.20261203-181829");
	assert_string_equal(st.files[2] + strlen(dir), "/0.log");
	got_free(&g);
	container_log_stats_free(&st);
}

/* A FIFO (which would block a reader), a symlink, a directory: refused at once. */
static void test_refused(void **state)
{
	struct container_log_stats st = { 0 };
	struct got g = { 0 };
	char path[PATH_MAX];

	/* a hang here is a failure, not a stuck test run */
	alarm(10);
	assert_int_equal(mkfifo(path_of("fifo.log", path), 0600), 0);
	assert_int_equal(read_log("fifo.log", CONTAINER_LOG_CRI, ALL, 4096, &g, &st), -EINVAL);

	write_text("real.log", "2026-12-03T18:18:29Z stdout F secret\n");
	assert_int_equal(symlink("real.log", path_of("link.log", path)), 0);
	assert_int_equal(read_log("link.log", CONTAINER_LOG_CRI, ALL, 4096, &g, &st), -ELOOP);
	assert_int_equal(read_log("none.log", CONTAINER_LOG_CRI, ALL, 4096, &g, &st), -ENOENT);
	assert_int_equal(mkdir(path_of("d.log", path), 0700), 0);
	assert_int_equal(read_log("d.log", CONTAINER_LOG_CRI, ALL, 4096, &g, &st), -EINVAL);
	assert_int_equal(g.n, 0);
	assert_int_equal(st.n_files, 0);

	/* rotations that are no regular files: skipped, counted, the rest read */
	write_text("0.log", "2026-12-03T18:18:31Z stdout F live\n");
	assert_int_equal(mkfifo(path_of("0.log.20261203-000000", path), 0600), 0);
	assert_int_equal(symlink("real.log", path_of("0.log.20261203-000001", path)), 0);
	assert_int_equal(read_log("0.log", CONTAINER_LOG_CRI, ALL, 4096, &g, &st), 0);
	alarm(0);
	assert_int_equal(g.n, 1);
	expect_line(&g, 0, t0 + 2 * SEC, "stdout", "live");
	assert_int_equal(st.skipped_files, 2);
	assert_int_equal(st.n_files, 1);
	got_free(&g);
	container_log_stats_free(&st);
}

/* Of a file larger than CONTAINER_LOG_FILE_MAX, the end; the record cut in two is skipped. */
static void test_truncated(void **state)
{
	static const char rec[] = "2026-12-03T18:18:29Z stdout F at the end\n";
	struct container_log_stats st = { 0 };
	struct got g = { 0 };
	char path[PATH_MAX];
	int fd;

	fd = open(path_of("0.log", path), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	/* a sparse file: 65 MiB of NULs on no disk, then two records */
	assert_int_equal(ftruncate(fd, CONTAINER_LOG_FILE_MAX + MB), 0);
	assert_int_equal(lseek(fd, 0, SEEK_END), CONTAINER_LOG_FILE_MAX + MB);
	assert_int_equal(write(fd, "\n", 1), 1);
	assert_int_equal(write(fd, rec, sizeof(rec) - 1), sizeof(rec) - 1);
	close(fd);
	assert_int_equal(read_log("0.log", CONTAINER_LOG_CRI, ALL, 4096, &g, &st), 0);
	assert_int_equal(g.n, 1);
	expect_line(&g, 0, t0, "stdout", "at the end");
	assert_int_equal(st.truncated_files, 1);
	assert_int_equal(st.unparsed, 0);
	got_free(&g);
	container_log_stats_free(&st);
}

static void test_stop(void **state)
{
	struct container_log_stats st = { 0 };
	struct got g = { .stop_after = 2 };

	write_text("0.log", cri_log);
	assert_int_equal(read_log("0.log", CONTAINER_LOG_CRI, ALL, 4096, &g, &st), 7);
	assert_int_equal(g.n, 2);
	got_free(&g);
	container_log_stats_free(&st);
}

/* ---- The kept copy ---- */

static void test_keep_newest(void **state)
{
	struct container_log_stats st = { 0 }, st2 = { 0 };
	struct strbuf out = STRBUF_INIT, src = STRBUF_INIT;
	char path[PATH_MAX];
	struct got g = { 0 };

	for (int i = 0; i < 100; i++)
		assert_int_equal(
		    strbuf_addf(&src, "2026-12-03T18:%02d:%02d.000000001Z stdout F line %03d\n",
				20 + i / 60, i % 60, i),
		    0);
	write_text("0.log", strbuf_str(&src));
	/* each record: 30 bytes of time, " stdout F ", "line NNN", "\n": 49; 20 fit in 1000 */
	assert_int_equal(
	    container_log_keep(path_of("0.log", path), CONTAINER_LOG_CRI, ALL, 1000, &out, &st), 0);
	assert_true(out.len <= 1000);
	assert_int_equal(out.len, 20 * 49);
	assert_int_equal(st.lines, 100);
	assert_int_equal(st.dropped, 80);
	assert_int_equal(strncmp(out.buf, "2026-12-03T18:21:20.000000001Z stdout F line 080\n", 49),
			 0);

	assert_int_equal(container_log_read_buffer(out.buf, out.len, CONTAINER_LOG_CRI, ALL, 4096,
						   collect, &g, &st2),
			 0);
	assert_int_equal(st2.unparsed, 0);
	assert_int_equal(g.n, 20);
	assert_string_equal(g.l[0].text, "line 080");
	assert_string_equal(g.l[19].text, "line 099");
	assert_int_equal(g.l[19].t, rfc3339_parse("2026-12-03T18:21:39.000000001Z"));
	got_free(&g);
	container_log_stats_free(&st);
	container_log_stats_free(&st2);
	strbuf_release(&out);
	strbuf_release(&src);
}

/* Newlines, NULs and escapes through the kept copy and back, nanoseconds and all. */
static void test_keep_round_trip(void **state)
{
	struct container_log_stats st = { 0 }, st2 = { 0 };
	struct strbuf out = STRBUF_INIT, src = STRBUF_INIT;
	char path[PATH_MAX];
	struct got g = { 0 };

	assert_int_equal(strbuf_adds(&src, docker_log), 0);
	assert_int_equal(strbuf_adds(&src, "{\"log\":\"a\\nb\\n\",\"stream\":\"stderr\","
					   "\"time\":\"2026-12-03T18:18:35Z\"}\n"),
			 0);
	/* out of the window */
	assert_int_equal(strbuf_adds(&src, "{\"log\":\"later\\n\",\"stream\":\"stdout\","
					   "\"time\":\"2026-12-03T18:20:00Z\"}\n"),
			 0);
	write_text("x-json.log", strbuf_str(&src));

	assert_int_equal(container_log_keep(path_of("x-json.log", path), CONTAINER_LOG_DOCKER_JSON,
					    t0, t0 + 60 * SEC, CONTAINER_LOG_KEEP_MAX, &out, &st),
			 0);
	assert_int_equal(st.lines, 6);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(strncmp(out.buf, "2026-12-03T18:18:29.019559560Z stdout F hello\n", 46),
			 0);

	assert_int_equal(container_log_read_buffer(out.buf, out.len, CONTAINER_LOG_CRI, ALL, 4096,
						   collect, &g, &st2),
			 0);
	assert_int_equal(st2.unparsed, 0);
	assert_int_equal(g.n, 6);
	expect_line(&g, 0, t0 + 19559560, "stdout", "hello");
	expect_line(&g, 1, t0 + 1500000000, "stdout", "tty");
	expect_line(&g, 2, t0 + SEC, "stderr", "part one and two");
	expect_bytes(&g, 3, t0 + 3 * SEC, "stdout", nul_text, sizeof(nul_text) - 1);
	expect_line(&g, 4, t0 + 4 * SEC, "stdout", "");
	/* a newline inside a text does not make two records */
	expect_line(&g, 5, t0 + 6 * SEC, "stderr", "a b");
	got_free(&g);
	container_log_stats_free(&st);
	container_log_stats_free(&st2);
	strbuf_release(&out);
	strbuf_release(&src);
}

/*
 * A 1 MB line, the newest: cut to CONTAINER_LOG_KEEP_LINE_MAX, with how much is missing, and
 * the older line still kept beside it. With a max_bytes smaller than that, the line is cut to
 * fit max_bytes alone, and the older one is dropped.
 */
static void test_keep_long_line(void **state)
{
	struct container_log_stats st = { 0 }, st2 = { 0 };
	struct strbuf out = STRBUF_INIT, src = STRBUF_INIT;
	static const size_t sizes[] = { CONTAINER_LOG_KEEP_MAX, 1000 };
	char path[PATH_MAX], marker[64];
	struct got g = { 0 };
	size_t kept;

	assert_int_equal(strbuf_adds(&src, "2026-12-03T18:18:29Z stdout F before\n"
					   "2026-12-03T18:18:30Z stderr F "),
			 0);
	for (int i = 0; i < MB / 64; i++)
		assert_int_equal(strbuf_addf(&src, "%064d", 0), 0);
	assert_int_equal(strbuf_addc(&src, '\n'), 0);
	write_text("0.log", strbuf_str(&src));

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		bool small = sizes[i] < CONTAINER_LOG_KEEP_LINE_MAX;

		assert_int_equal(container_log_keep(path_of("0.log", path), CONTAINER_LOG_CRI, ALL,
						    sizes[i], &out, &st),
				 0);
		assert_true(out.len <= sizes[i]);
		assert_int_equal(st.lines, 2);
		assert_int_equal(st.dropped, small ? 1 : 0);

		assert_int_equal(container_log_read_buffer(out.buf, out.len, CONTAINER_LOG_CRI, ALL,
							   MB, collect, &g, &st2),
				 0);
		assert_int_equal(st2.unparsed, 0);
		assert_int_equal(g.n, small ? 1 : 2);
		if (!small)
			expect_line(&g, 0, t0, "stdout", "before");
		assert_int_equal(g.l[g.n - 1].t, t0 + SEC);
		assert_string_equal(g.l[g.n - 1].stream, "stderr");
		assert_false(g.l[g.n - 1].cut);
		kept = strspn(g.l[g.n - 1].text, "0");
		snprintf(marker, sizeof(marker), " [... %zu bytes cut]", (size_t)MB - kept);
		assert_string_equal(g.l[g.n - 1].text + kept, marker);
		if (small) {
			assert_true(out.len > sizes[i] - 64);
		} else {
			/* The marker within the line's room: kept again, it stays as it is */
			struct strbuf again = STRBUF_INIT;
			struct container_log_stats st3 = { 0 };

			assert_int_equal(kept + strlen(marker), CONTAINER_LOG_KEEP_LINE_MAX);
			assert_int_equal(container_log_keep_buffer(out.buf, out.len,
								   CONTAINER_LOG_CRI, ALL, sizes[i],
								   &again, &st3),
					 0);
			assert_int_equal(again.len, out.len);
			assert_memory_equal(again.buf, out.buf, out.len);
			strbuf_release(&again);
			container_log_stats_free(&st3);
		}
		got_free(&g);
		container_log_stats_free(&st);
		container_log_stats_free(&st2);
		strbuf_release(&out);
	}
	strbuf_release(&src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cri, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cri_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytes_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unparsed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cri_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cri_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_long_line, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
