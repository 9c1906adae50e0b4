// SPDX-License-Identifier: Apache-2.0
/*
 * Metrics and health (metrics.h): the exposition text as Prometheus reads it, line by line;
 * /healthz's answers; and a real server on loopback asked with a plain socket.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Every figure set, as a running sensor with both sources would publish. */
static void snapshot_full(struct metrics_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->taken_ms = 100000;
	s->findings[0] = (struct metrics_findings){ "Execution: Suspicious OpenSSL Shared Object "
						    "Loaded",
						    "CRITICAL", "reported", 3 };
	s->findings[1] = (struct metrics_findings){ "Execution: Suspicious OpenSSL Shared Object "
						    "Loaded",
						    "LOW", "muted", 1 };
	s->n_findings = 2;
	s->events[0].kind = "exec";
	s->events[0].seen = 1000;
	s->events[0].sent = 990;
	s->events[0].dropped = 10;
	s->events[1].kind = "map";
	s->events[1].seen = 20;
	s->events[1].sent = 20;
	s->n_events = 2;
	s->ebpf = true;
	s->ring_buffer_used_bytes = 4096;
	s->ring_buffer_size_bytes = 16 << 20;
	s->libcrypto_probes = 2;
	snprintf(s->outputs[0].name, sizeof(s->outputs[0].name), "jsonl");
	s->outputs[0].delivered = 4;
	snprintf(s->outputs[1].name, sizeof(s->outputs[1].name), "webhook");
	s->outputs[1].pending = 2;
	s->outputs[1].retries = 7;
	s->outputs[1].oldest_pending_age_s = 12.5;
	s->n_outputs = 2;
	s->gvisor = true;
	s->gvisor_sandboxes = 1;
	s->gvisor_dropped_points = 5;
	s->heartbeat_age_s = 3.25;
	s->heartbeat_ok = true;
	s->findings_unstored = 0;
	s->findings_lost = 0;
}

static char *render(const struct metrics_snapshot *s)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(metrics_render(s, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_true(len > 0 && text[len - 1] == '\n');
	return text;
}

/* The line equal to want, or NULL */
static const char *find_line(const char *text, const char *want)
{
	size_t n = strlen(want);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, want, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return p;
	return NULL;
}

static int count_prefix(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	int count = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		count += strncmp(p, prefix, n) == 0;
	return count;
}

#define MAX_FAMILIES 64

/*
 * What Prometheus's parser insists on: each family's HELP and TYPE once, before its samples;
 * samples of one family together; counters named _total; values that parse.
 */
static void check_exposition(const char *text)
{
	char families[MAX_FAMILIES][96], types[MAX_FAMILIES][16];
	int n = 0, current = -1;
	char *copy = strdup(text), *save = NULL;

	assert_non_null(copy);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[96], type[16];

		if (sscanf(line, "# HELP %95s", name) == 1) {
			for (int i = 0; i < n; i++)
				assert_string_not_equal(families[i], name); /* once per family */
			assert_true(n < MAX_FAMILIES);
			snprintf(families[n], sizeof(families[n]), "%s", name);
			types[n][0] = '\0';
			current = n++;
			assert_true(strlen(line) > strlen("# HELP ") + strlen(name) + 1);
			continue;
		}
		if (sscanf(line, "# TYPE %95s %15s", name, type) == 2) {
			assert_true(current >= 0);
			assert_string_equal(families[current], name);
			assert_string_equal(types[current], ""); /* once */
			assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0);
			snprintf(types[current], sizeof(types[current]), "%s", type);
			if (strcmp(type, "counter") == 0) {
				size_t len = strlen(name);

				assert_true(len > 6 && strcmp(name + len - 6, "_total") == 0);
			}
			continue;
		}
		assert_true(line[0] != '#');
		/* A sample: the family's name, labels or not, a space, a number */
		assert_true(current >= 0);
		assert_string_not_equal(types[current], "");
		size_t flen = strlen(families[current]);

		assert_memory_equal(line, families[current], flen);
		assert_true(line[flen] == '{' || line[flen] == ' ');
		const char *value = strrchr(line, ' ');
		char *end;

		assert_non_null(value);
		if (strcmp(value + 1, "NaN") != 0) {
			strtod(value + 1, &end);
			assert_true(end != value + 1 && *end == '\0');
		}
	}
	free(copy);
}

static void test_render_families(void **state)
{
	struct metrics_snapshot s;
	char *text;

	snapshot_full(&s);
	text = render(&s);
	check_exposition(text);
	assert_non_null(find_line(text, "sowatch_build_info{version=\"" SOWATCH_VERSION "\"} 1"));
	assert_non_null(find_line(text, "sowatch_findings_total{category=\"Execution: Suspicious "
					"OpenSSL Shared Object Loaded\",severity=\"CRITICAL\","
					"outcome=\"reported\"} 3"));
	assert_non_null(find_line(text, "# TYPE sowatch_findings_total counter"));
	assert_non_null(find_line(text, "sowatch_kernel_events_total{kind=\"exec\"} 1000"));
	assert_non_null(find_line(text, "sowatch_kernel_events_dropped_total{kind=\"exec\"} 10"));
	assert_non_null(find_line(text, "sowatch_kernel_events_dropped_total{kind=\"map\"} 0"));
	assert_non_null(find_line(text, "sowatch_ring_buffer_used_bytes 4096"));
	assert_non_null(find_line(text, "sowatch_ring_buffer_size_bytes 16777216"));
	assert_non_null(find_line(text, "sowatch_libcrypto_probes 2"));
	assert_non_null(find_line(text, "sowatch_output_pending_findings{output=\"webhook\"} 2"));
	assert_non_null(find_line(text, "sowatch_output_delivered_total{output=\"jsonl\"} 4"));
	assert_non_null(find_line(text, "sowatch_output_failed_total{output=\"jsonl\"} 0"));
	assert_non_null(find_line(text, "sowatch_output_retries_total{output=\"webhook\"} 7"));
	assert_non_null(find_line(
	    text, "sowatch_output_oldest_pending_age_seconds{output=\"webhook\"} 12.500"));
	assert_non_null(find_line(text, "sowatch_gvisor_sandboxes 1"));
	assert_non_null(find_line(text, "sowatch_gvisor_dropped_points_total 5"));
	assert_non_null(find_line(text, "sowatch_heartbeat_age_seconds 3.250"));
	assert_non_null(find_line(text, "sowatch_heartbeat_ok 1"));
	assert_non_null(find_line(text, "sowatch_store_unstored_findings 0"));
	assert_non_null(find_line(text, "sowatch_findings_lost_total 0"));
	/* HELP and TYPE once per family */
	assert_int_equal(count_prefix(text, "# HELP "), count_prefix(text, "# TYPE "));
	assert_int_equal(count_prefix(text, "# TYPE sowatch_output_pending_findings "), 1);
	free(text);
}

/* Without a source, its families are absent rather than zero; so is an unknown heartbeat age. */
static void test_render_absent_sources(void **state)
{
	struct metrics_snapshot s;
	char *text;

	snapshot_full(&s);
	s.ebpf = false;
	s.gvisor = false;
	s.n_outputs = 0;
	text = render(&s);
	check_exposition(text);
	assert_null(strstr(text, "sowatch_kernel_"));
	assert_null(strstr(text, "sowatch_ring_buffer_"));
	assert_null(strstr(text, "sowatch_heartbeat_"));
	assert_null(strstr(text, "sowatch_gvisor_"));
	assert_null(strstr(text, "sowatch_output_"));
	assert_non_null(strstr(text, "sowatch_findings_total{"));
	free(text);

	snapshot_full(&s);
	s.heartbeat_age_s = -1;
	text = render(&s);
	check_exposition(text);
	assert_null(strstr(text, "sowatch_heartbeat_age_seconds"));
	assert_non_null(find_line(text, "sowatch_heartbeat_ok 1"));
	free(text);

	/* Nothing at all: still a valid page */
	memset(&s, 0, sizeof(s));
	text = render(&s);
	check_exposition(text);
	assert_non_null(find_line(text, "# TYPE sowatch_findings_total counter"));
	free(text);
}

static void test_label_escaping(void **state)
{
	struct metrics_snapshot s;
	char *text;

	memset(&s, 0, sizeof(s));
	s.findings[0] = (struct metrics_findings){ "a\"b\\c\nd", "HIGH", "allowed", 1 };
	s.n_findings = 1;
	snprintf(s.outputs[0].name, sizeof(s.outputs[0].name), "we\"b\\");
	s.n_outputs = 1;
	text = render(&s);
	check_exposition(text);
	assert_non_null(find_line(text, "sowatch_findings_total{category=\"a\\\"b\\\\c\\nd\","
					"severity=\"HIGH\",outcome=\"allowed\"} 1"));
	assert_non_null(
	    find_line(text, "sowatch_output_delivered_total{output=\"we\\\"b\\\\\"} 0"));
	free(text);
}

/* Prometheus refuses a whole scrape that repeats a series: the same labels are added up. */
static void test_same_series_added_up(void **state)
{
	struct metrics_snapshot s;
	char *text;

	memset(&s, 0, sizeof(s));
	s.findings[0] = (struct metrics_findings){ "c", "HIGH", "reported", 2 };
	s.findings[1] = (struct metrics_findings){ "c", "LOW", "reported", 1 };
	s.findings[2] = (struct metrics_findings){ "c", "HIGH", "reported", 5 };
	s.n_findings = 3;
	text = render(&s);
	check_exposition(text);
	assert_int_equal(count_prefix(text, "sowatch_findings_total{"), 2);
	assert_non_null(find_line(
	    text,
	    "sowatch_findings_total{category=\"c\",severity=\"HIGH\",outcome=\"reported\"} 7"));
	free(text);
}

static void test_health(void **state)
{
	struct metrics_snapshot s;
	char body[512];

	snapshot_full(&s);
	assert_int_equal(metrics_health(&s, s.taken_ms + 1000, body, sizeof(body)), 200);
	assert_string_equal(body, "ok\n");
	/* Exactly at the limit still fresh; past it, stale */
	assert_int_equal(metrics_health(&s, s.taken_ms + 10000, body, sizeof(body)), 200);
	assert_int_equal(metrics_health(&s, s.taken_ms + 12500, body, sizeof(body)), 503);
	assert_string_equal(body, "the event loop has not reported for 12 s\n");

	s.heartbeat_ok = false;
	s.heartbeat_age_s = 17.4;
	assert_int_equal(metrics_health(&s, s.taken_ms, body, sizeof(body)), 503);
	assert_string_equal(body, "no events from the kernel for 17 s\n");
	s.heartbeat_age_s = -1;
	assert_int_equal(metrics_health(&s, s.taken_ms, body, sizeof(body)), 503);
	assert_string_equal(body, "no events from the kernel since sowatch started\n");
	/* Without the eBPF source, there is no kernel heartbeat to miss */
	s.ebpf = false;
	assert_int_equal(metrics_health(&s, s.taken_ms, body, sizeof(body)), 200);

	snapshot_full(&s);
	snprintf(s.unhealthy, sizeof(s.unhealthy), "the gVisor source stopped\nforged line");
	assert_int_equal(metrics_health(&s, s.taken_ms, body, sizeof(body)), 503);
	assert_string_equal(body, "the gVisor source stopped\n");

	/* Never published */
	memset(&s, 0, sizeof(s));
	assert_int_equal(metrics_health(&s, 5000, body, sizeof(body)), 503);
	assert_string_equal(body, "the event loop has not reported yet\n");
}

/* ---- A real server ---------------------------------------------------------------------- */

struct reply {
	int status;
	char head[2048];
	char *body;
};

/* One request over HTTP/1.0 (the server closes after answering); the whole reply read. */
static void http(int port, const char *method, const char *path, struct reply *ret)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[256], *all = NULL, *sep;
	size_t len = 0, cap = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	assert_true(fd >= 0);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	/* A POST carries a small body, as a real one would */
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s", method, path,
		     strcmp(method, "POST") == 0 ? "Content-Length: 2\r\n\r\nxy" : "\r\n");
	assert_int_equal(write(fd, req, (size_t)n), n);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 8192;
			all = realloc(all, cap);
			assert_non_null(all);
		}
		n = read(fd, all + len, cap - len - 1);
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	all[len] = '\0';
	assert_int_equal(sscanf(all, "HTTP/1.%*d %d", &ret->status), 1);
	sep = strstr(all, "\r\n\r\n");
	assert_non_null(sep);
	*sep = '\0';
	snprintf(ret->head, sizeof(ret->head), "%s", all);
	ret->body = strdup(sep + 4);
	free(all);
}

/* Every thread but the main one (the server's) blocks the signals the main loop waits for. */
static void check_threads_block_signals(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int others = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[64], line[256];
		unsigned long long blocked = 0;
		FILE *f;

		if (de->d_name[0] == '.' || atoi(de->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/status", atoi(de->d_name));
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			sscanf(line, "SigBlk: %llx", &blocked);
		fclose(f);
		others++;
		assert_true(blocked & (1ull << (SIGTERM - 1)));
		assert_true(blocked & (1ull << (SIGINT - 1)));
		assert_true(blocked & (1ull << (SIGCHLD - 1)));
		assert_true(blocked & (1ull << (SIGHUP - 1)));
	}
	closedir(d);
	assert_true(others >= 1);
}

static void test_server(void **state)
{
	struct metrics_server *m = NULL;
	struct metrics_snapshot s;
	struct reply r;
	const char *error = NULL;
	sigset_t mine;
	int port;

	assert_int_equal(metrics_server_new(&m, "127.0.0.1:0", &error), 0);
	port = metrics_server_port(m);
	assert_true(port > 0 && port < 65536);
	/* The caller's own mask is as it was */
	pthread_sigmask(SIG_SETMASK, NULL, &mine);
	assert_false(sigismember(&mine, SIGTERM));
	check_threads_block_signals();

	/* Before the first snapshot: figures empty, health not ok */
	http(port, "GET", "/healthz", &r);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "the event loop has not reported yet\n");
	free(r.body);

	snapshot_full(&s);
	s.taken_ms = now_ms();
	metrics_server_publish(m, &s);
	http(port, "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
	check_exposition(r.body);
	assert_non_null(find_line(r.body, "sowatch_gvisor_sandboxes 1"));
	free(r.body);

	http(port, "GET", "/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	free(r.body);

	/* Answered from the latest snapshot */
	s.heartbeat_ok = false;
	s.heartbeat_age_s = 21;
	metrics_server_publish(m, &s);
	http(port, "GET", "/healthz", &r);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "no events from the kernel for 21 s\n");
	free(r.body);

	/* A client that connects and says nothing holds up nobody */
	{
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		int idle = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
		assert_int_equal(connect(idle, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(write(idle, "GET /met", 8), 8);
		http(port, "GET", "/metrics", &r);
		assert_int_equal(r.status, 200);
		free(r.body);
		close(idle);
	}

	http(port, "POST", "/metrics", &r);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.head, "Allow: GET, HEAD"));
	free(r.body);
	http(port, "GET", "/nope", &r);
	assert_int_equal(r.status, 404);
	free(r.body);
	http(port, "GET", "/metrics/", &r);
	assert_int_equal(r.status, 404);
	free(r.body);

	metrics_server_free(m);
	metrics_server_free(NULL);
}

/* The address is what the configuration says, or an error; never a guess. */
static void test_listen_addresses(void **state)
{
	static const char *const bad[] = {
		"",
		"9100",
		":9100",
		"127.0.0.1",
		"127.0.0.1:",
		"127.0.0.1:x",
		"127.0.0.1:-1",
		"127.0.0.1:65536",
		"example.com:9100",
		"[::1]9100",
		"[::1:9100",
		"::1:9100",
		"[nope]:9100",
		"127.0.0.1:9100x",
	};
	struct metrics_server *m = NULL, *m2 = NULL;
	const char *error = NULL;
	int port;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		assert_int_equal(metrics_server_new(&m, bad[i], &error), -EINVAL);
		assert_non_null(error);
	}
	assert_int_equal(metrics_server_new(&m, NULL, &error), -EINVAL);

	assert_int_equal(metrics_server_new(&m, "localhost:0", &error), 0);
	port = metrics_server_port(m);
	assert_true(port > 0);
	/* The same port again: refused, with a reason */
	{
		char taken[32];

		snprintf(taken, sizeof(taken), "127.0.0.1:%d", port);
		error = NULL;
		assert_int_equal(metrics_server_new(&m2, taken, &error), -EADDRINUSE);
		assert_non_null(error);
	}
	metrics_server_free(m);

	/* IPv6 loopback, where the machine has it */
	if (metrics_server_new(&m, "[::1]:0", &error) == 0) {
		assert_true(metrics_server_port(m) > 0);
		metrics_server_free(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_families),
		cmocka_unit_test(test_render_absent_sources),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_same_series_added_up),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_listen_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
