// SPDX-License-Identifier: Apache-2.0
/*
 * The syslog output: the RFC 5424 message byte for byte, then real sockets in this process (a
 * loopback UDP socket, a TCP listener, unix datagram and stream sockets in a temporary
 * directory) receiving what send() sends.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <cmocka.h>

#include "outputs/syslog.h"

#define LOCAL3 19
/* 2026-01-02T03:04:05.123456789Z */
#define EVENT_NS (1767323045LL * 1000000000 + 123456789)
#define JSON	 "{\"finding\":{\"name\":\"x\",\"severity\":\"CRITICAL\"},\"resource\":{}}"

static struct output_finding finding(const char *id, const char *severity, const char *json)
{
	struct output_finding f = {
		.id = id,
		.json = json,
		.len = strlen(json),
		.severity = severity,
		.event_time_ns = EVENT_NS,
	};
	return f;
}

static char *format(int facility, const char *hostname, int pid, const struct output_finding *f)
{
	struct strbuf sb = STRBUF_INIT;

	assert_int_equal(syslog_format(&sb, facility, hostname, pid, f), 0);
	return strbuf_detach(&sb);
}

/* ---------------------------------------------------------------------------------------------
 * The message
 */

static void test_whole_message(void **state)
{
	struct output_finding f = finding("0123456789abcdef0123456789abcdef", "CRITICAL", JSON);
	char *m = format(LOCAL3, "node-1.example", 4242, &f);

	assert_string_equal(
	    m, "<154>1 2026-01-02T03:04:05.123456Z node-1.example sowatch 4242 "
	       "finding [finding@32473 id=\"0123456789abcdef0123456789abcdef\"] " JSON);
	/* MSG is the JSON, byte for byte, and the last thing in the message */
	assert_int_equal(strlen(m) - strlen(JSON), strstr(m, "] {") + 2 - m);
	free(m);
}

static void test_pri(void **state)
{
	static const struct {
		const char *severity;
		int code;
	} sev[] = {
		{ "CRITICAL", 2 }, { "HIGH", 3 },     { "MEDIUM", 4 }, { "LOW", 5 },
		{ "INFO", 6 },	   { "critical", 6 }, { "", 6 },       { NULL, 6 },
	};
	static const int facilities[] = { 0, 4, 10, 16, LOCAL3, 23 };

	for (size_t i = 0; i < sizeof(sev) / sizeof(sev[0]); i++) {
		assert_int_equal(syslog_severity(sev[i].severity), sev[i].code);
		for (size_t j = 0; j < sizeof(facilities) / sizeof(facilities[0]); j++) {
			struct output_finding f = finding("id", sev[i].severity, "{}");
			char *m = format(facilities[j], "h", 1, &f);
			char want[16];

			snprintf(want, sizeof(want), "<%d>1 ", facilities[j] * 8 + sev[i].code);
			assert_memory_equal(m, want, strlen(want));
			free(m);
		}
	}
}

static void test_timestamp(void **state)
{
	static const struct {
		int64_t ns;
		const char *text;
	} cases[] = {
		{ EVENT_NS, "2026-01-02T03:04:05.123456Z" },
		{ 1767323045LL * 1000000000, "2026-01-02T03:04:05.000000Z" },
		{ 1767323045LL * 1000000000 + 999, "2026-01-02T03:04:05.000000Z" }, /* truncated */
		{ 951782400LL * 1000000000 + 1000, "2000-02-29T00:00:00.000001Z" },
		{ 0, "-" }, /* no time: NILVALUE */
		{ -5, "-" },
		{ INT64_MAX, "2262-04-11T23:47:16.854775Z" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct output_finding f = finding("id", "LOW", "{}");
		char want[96], *m;

		f.event_time_ns = cases[i].ns;
		m = format(1, "h", 7, &f);
		snprintf(want, sizeof(want), "<13>1 %s h sowatch 7 finding ", cases[i].text);
		assert_memory_equal(m, want, strlen(want));
		free(m);
	}
}

static void test_sd_escaping(void **state)
{
	struct output_finding f = finding("a\"b]c\\d", "HIGH", "{}");
	char *m = format(4, "h", 1, &f);

	assert_non_null(strstr(m, " finding [finding@32473 id=\"a\\\"b\\]c\\\\d\"] {}"));
	free(m);

	f.id = NULL;
	m = format(4, "h", 1, &f);
	assert_non_null(strstr(m, " [finding@32473 id=\"\"] {}"));
	free(m);
}

static void test_hostname_and_pid(void **state)
{
	struct output_finding f = finding("id", "LOW", "{}");
	char long_name[400];
	char *m;

	m = format(1, "my host\x01\xc3\xa9", 0, &f);
	assert_non_null(strstr(m, "Z my_host___ sowatch - finding "));
	free(m);

	m = format(1, "", 9, &f);
	assert_non_null(strstr(m, "Z - sowatch 9 finding "));
	free(m);
	m = format(1, NULL, 9, &f);
	assert_non_null(strstr(m, "Z - sowatch 9 finding "));
	free(m);

	/* RFC 5424: at most 255 characters */
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	m = format(1, long_name, 9, &f);
	assert_non_null(strstr(m, "Z nnn"));
	assert_int_equal(strchr(strstr(m, "Z nnn") + 2, ' ') - (strstr(m, "Z nnn") + 2), 255);
	free(m);
}

/* json.c copies valid UTF-8 as it is: such a line goes after RFC 5424's BOM */
static void test_utf8_msg_after_bom(void **state)
{
	const char *json = "{\"finding\":{\"path\":\"/tmp/\xc3\xa9.so\"}}";
	struct output_finding f = finding("id", "LOW", json);
	char *m = format(1, "h", 1, &f);
	const char *msg = strstr(m, "\"] ") + 3;

	assert_memory_equal(msg, "\xef\xbb\xbf", 3);
	assert_string_equal(msg + 3, json);
	free(m);
}

/* ---------------------------------------------------------------------------------------------
 * The address
 */

static int new_output(struct output **ret, const char *address, char *error, size_t size)
{
	struct config_syslog cfg = { .enabled = true, .facility_code = LOCAL3, .line = 1 };

	snprintf(cfg.address, sizeof(cfg.address), "%s", address);
	snprintf(cfg.facility, sizeof(cfg.facility), "local3");
	return syslog_output_new(ret, &cfg, error, size);
}

static void test_addresses(void **state)
{
	static const char *good[] = {
		"unix:///dev/log",	  "udp://127.0.0.1:514",   "tcp://[::1]:6514",
		"tcp://syslog.example:1", "udp://[fe80::1]:65535",
	};
	static const char *bad[] = {
		"",
		"/dev/log",
		"unix://dev/log",
		"unix://",
		"udp://127.0.0.1",
		"udp://127.0.0.1:",
		"udp://127.0.0.1:0",
		"udp://127.0.0.1:65536",
		"udp://127.0.0.1:51x",
		"udp://127.0.0.1:+51",
		"tcp://:514",
		"tcp://::1:514",
		"tcp://[::1]514",
		"tcp://[::1",
		"http://127.0.0.1:514",
		"unix:///"
		"tmp/"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct output *out;
	char error[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(new_output(&out, good[i], error, sizeof(error)), 0);
		assert_string_equal(out->ops->name, "syslog");
		assert_non_null(strstr(out->settings, good[i]));
		assert_non_null(strstr(out->settings, "local3"));
		out->ops->free(out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error[0] = '\0';
		assert_int_equal(new_output(&out, bad[i], error, sizeof(error)), -EINVAL);
		assert_null(out);
		assert_non_null(strstr(error, "syslog address"));
		assert_null(strchr(error, '\n'));
	}
}

/* ---------------------------------------------------------------------------------------------
 * Real sockets
 */

static const volatile int not_stopping;

/* A test that goes wrong fails after 10 s instead of waiting forever in recv() or accept() */
static void time_out(int fd)
{
	struct timeval tv = { .tv_sec = 10 };

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
}

/* The message send() sends for f, as this process would format it. */
static char *expected(const struct output_finding *f)
{
	char host[256] = "";

	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	return format(LOCAL3, host, (int)getpid(), f);
}

static void send_ok(struct output *out, const struct output_finding *f)
{
	struct output_result res;

	memset(&res, 0x55, sizeof(res));
	out->ops->send(out, f, &not_stopping, &res);
	if (res.answer != OUTPUT_SENT)
		fail_msg("send: %d %s", res.answer, res.error);
	assert_int_equal(res.retry_after_ms, -1);
}

static void test_udp(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	struct output_finding f = finding("0123456789abcdef0123456789abcdef", "MEDIUM", JSON);
	int rx = socket(AF_INET, SOCK_DGRAM, 0);
	char address[64], error[256], buf[65536];
	struct output *out;
	char *want = expected(&f);
	ssize_t n;

	assert_true(rx >= 0);
	time_out(rx);
	assert_int_equal(bind(rx, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(rx, (struct sockaddr *)&sin, &len), 0);
	snprintf(address, sizeof(address), "udp://127.0.0.1:%d", ntohs(sin.sin_port));
	assert_int_equal(new_output(&out, address, error, sizeof(error)), 0);

	send_ok(out, &f);
	n = recv(rx, buf, sizeof(buf), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);

	/* Too large for a datagram: never */
	{
		size_t big = 70000;
		char *json = malloc(big + 1);
		struct output_finding g;
		struct output_result res;

		memset(json, 'x', big);
		json[big] = '\0';
		g = finding("big", "LOW", json);
		out->ops->send(out, &g, &not_stopping, &res);
		assert_int_equal(res.answer, OUTPUT_FAILED);
		assert_non_null(strstr(res.error, "does not fit in a datagram"));
		free(json);
	}
	/* ...and the output goes on */
	send_ok(out, &f);
	assert_int_equal(recv(rx, buf, sizeof(buf), 0), strlen(want));

	out->ops->free(out);
	close(rx);
	free(want);
}

static int tcp_listener(int *ret_port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	time_out(fd);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*ret_port = ntohs(sin.sin_port);
	return fd;
}

/* Reads one octet-counted frame (RFC 6587 3.4.1) from a stream; returns the message. */
static char *read_frame(int fd)
{
	size_t want = 0, got = 0;
	char c, *msg;

	for (;;) {
		assert_int_equal(recv(fd, &c, 1, MSG_WAITALL), 1);
		if (c == ' ')
			break;
		assert_true(c >= '0' && c <= '9');
		want = want * 10 + (size_t)(c - '0');
	}
	assert_true(want > 0);
	msg = calloc(1, want + 1);
	while (got < want) {
		ssize_t n = recv(fd, msg + got, want - got, 0);

		assert_true(n > 0);
		got += (size_t)n;
	}
	return msg;
}

static void test_tcp(void **state)
{
	struct output_finding f = finding("0123456789abcdef0123456789abcdef", "CRITICAL", JSON);
	struct output_finding g = finding("fedcba9876543210fedcba9876543210", "HIGH", "{\"b\":1}");
	char address[64], error[256], *want_f = expected(&f), *want_g = expected(&g), *m;
	struct output *out;
	int port, lfd = tcp_listener(&port), conn;

	snprintf(address, sizeof(address), "tcp://127.0.0.1:%d", port);
	assert_int_equal(new_output(&out, address, error, sizeof(error)), 0);

	/* Two messages on one connection, each in its own frame */
	send_ok(out, &f);
	send_ok(out, &g);
	conn = accept(lfd, NULL, NULL);
	assert_true(conn >= 0);
	m = read_frame(conn);
	assert_string_equal(m, want_f);
	free(m);
	m = read_frame(conn);
	assert_string_equal(m, want_g);
	free(m);

	/* The receiver closes the connection: the next send reconnects and sends it whole */
	close(conn);
	usleep(100 * 1000);
	send_ok(out, &g);
	conn = accept(lfd, NULL, NULL);
	assert_true(conn >= 0);
	m = read_frame(conn);
	assert_string_equal(m, want_g);
	free(m);

	/* reopen() drops the connection; the next send makes a new one */
	out->ops->reopen(out);
	send_ok(out, &f);
	close(conn);
	conn = accept(lfd, NULL, NULL);
	m = read_frame(conn);
	assert_string_equal(m, want_f);
	free(m);

	close(conn);
	out->ops->free(out);
	close(lfd);
	free(want_f);
	free(want_g);
}

static void test_tcp_refused(void **state)
{
	struct output_finding f = finding("id", "LOW", "{}");
	struct output_result res;
	char address[64], error[256];
	struct output *out;
	int port, lfd = tcp_listener(&port);

	close(lfd); /* nobody listens there now */
	snprintf(address, sizeof(address), "tcp://127.0.0.1:%d", port);
	assert_int_equal(new_output(&out, address, error, sizeof(error)), 0);
	out->ops->send(out, &f, &not_stopping, &res);
	assert_int_equal(res.answer, OUTPUT_RETRY);
	assert_non_null(strstr(res.error, "Connection refused"));
	assert_non_null(strstr(res.error, address));
	out->ops->free(out);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A receiver that never reads: send() gives up after 5 s, or within a second of *stopping. */
static void test_tcp_stuck_receiver(void **state)
{
	size_t big = 32 << 20;
	char *json = malloc(big + 1), address[64], error[256];
	struct output_finding f;
	struct output_result res;
	struct output *out;
	volatile int stopping = 0;
	int port, lfd = tcp_listener(&port), conn;
	int64_t t0;

	memset(json, 'x', big);
	json[big] = '\0';
	f = finding("big", "LOW", json);
	snprintf(address, sizeof(address), "tcp://127.0.0.1:%d", port);
	assert_int_equal(new_output(&out, address, error, sizeof(error)), 0);

	t0 = mono_ms();
	out->ops->send(out, &f, &stopping, &res);
	assert_int_equal(res.answer, OUTPUT_RETRY);
	assert_non_null(strstr(res.error, "no answer within 5 s"));
	assert_non_null(strstr(res.error, "sent "));
	assert_true(mono_ms() - t0 >= 4900 && mono_ms() - t0 < 6500);

	stopping = 1;
	t0 = mono_ms();
	out->ops->send(out, &f, &stopping, &res);
	assert_int_equal(res.answer, OUTPUT_RETRY);
	assert_non_null(strstr(res.error, "stopping"));
	assert_true(mono_ms() - t0 < 1500);

	/* Accepted late, both broken connections hold a partial frame at most, never a whole one */
	conn = accept(lfd, NULL, NULL);
	assert_true(conn >= 0);
	close(conn);
	out->ops->free(out);
	close(lfd);
	free(json);
}

static void unix_path(char *dir, char *path, size_t size)
{
	strcpy(dir, "/tmp/sowatch-test-syslog-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, size, "%s/log.sock", dir);
}

static int unix_socket(int type, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type, 0);

	assert_true(fd >= 0);
	time_out(fd);
	strcpy(sun.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void test_unix_datagram(void **state)
{
	struct output_finding f = finding("0123456789abcdef0123456789abcdef", "LOW", JSON);
	char dir[64], path[128], address[160], error[256], buf[65536], *want = expected(&f);
	struct output_result res;
	struct output *out;
	int rx;
	ssize_t n;

	unix_path(dir, path, sizeof(path));
	snprintf(address, sizeof(address), "unix://%s", path);
	assert_int_equal(new_output(&out, address, error, sizeof(error)), 0);

	/* No socket yet: later */
	out->ops->send(out, &f, &not_stopping, &res);
	assert_int_equal(res.answer, OUTPUT_RETRY);
	assert_non_null(strstr(res.error, "No such file or directory"));

	rx = unix_socket(SOCK_DGRAM, path);
	send_ok(out, &f);
	n = recv(rx, buf, sizeof(buf), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);

	/* The daemon restarts: a new socket at the same path */
	close(rx);
	unlink(path);
	out->ops->send(out, &f, &not_stopping, &res);
	assert_int_equal(res.answer, OUTPUT_RETRY);
	rx = unix_socket(SOCK_DGRAM, path);
	send_ok(out, &f);
	assert_int_equal(recv(rx, buf, sizeof(buf), 0), strlen(want));

	out->ops->free(out);
	close(rx);
	unlink(path);
	rmdir(dir);
	free(want);
}

/* A stream socket at the path: EPROTOTYPE to a datagram, so octet-counted frames on a stream */
static void test_unix_stream(void **state)
{
	struct output_finding f = finding("0123456789abcdef0123456789abcdef", "LOW", JSON);
	char dir[64], path[128], address[160], error[256], *want = expected(&f), *m;
	struct output *out;
	int lfd, conn;

	unix_path(dir, path, sizeof(path));
	lfd = unix_socket(SOCK_STREAM, path);
	snprintf(address, sizeof(address), "unix://%s", path);
	assert_int_equal(new_output(&out, address, error, sizeof(error)), 0);

	send_ok(out, &f);
	send_ok(out, &f);
	conn = accept(lfd, NULL, NULL);
	assert_true(conn >= 0);
	for (int i = 0; i < 2; i++) {
		m = read_frame(conn);
		assert_string_equal(m, want);
		free(m);
	}

	close(conn);
	out->ops->free(out);
	close(lfd);
	unlink(path);
	rmdir(dir);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_message),
		cmocka_unit_test(test_pri),
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_sd_escaping),
		cmocka_unit_test(test_hostname_and_pid),
		cmocka_unit_test(test_utf8_msg_after_bom),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_tcp_refused),
		cmocka_unit_test(test_tcp_stuck_receiver),
		cmocka_unit_test(test_unix_datagram),
		cmocka_unit_test(test_unix_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
