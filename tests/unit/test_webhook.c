// SPDX-License-Identifier: Apache-2.0
/*
 * The webhook output against a small HTTP server in this process: what a request carries, how
 * each answer is taken, what is refused at start, and that libcurl's start never lets OpenSSL
 * read an openssl.cnf (one that loads an engine here).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>

#include "outputs/http.h"
#include "outputs/webhook.h"

#define TOKEN "s3cr3t-t0ken.value"

/* --- a one-connection-at-a-time HTTP/1.1 server */

struct server {
	int fd, port;
	pthread_t thread;
	volatile int stop;
	pthread_mutex_t lock;
	/* what it answers: a whole response, or nothing at all (hang) */
	char response[1024];
	bool hang;
	/* what it saw */
	int accepts, requests;
	char head[4096];
	char body[8192];
	size_t body_len;
};

static struct server srv;

static long content_length(const char *head)
{
	const char *p = strcasestr(head, "\r\nContent-Length:");

	return p ? strtol(p + 17, NULL, 10) : 0;
}

/* Reads requests on c until the client closes or the server stops */
static void serve(int c)
{
	char buf[16384];
	size_t n = 0;

	while (!srv.stop) {
		struct pollfd pfd = { .fd = c, .events = POLLIN };
		char *end;
		ssize_t r;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		r = read(c, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			return;
		n += (size_t)r;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		size_t head_len = (size_t)(end - buf) + 4;
		long len = content_length(buf);

		if (n < head_len + (size_t)len)
			continue;
		pthread_mutex_lock(&srv.lock);
		srv.requests++;
		snprintf(srv.head, sizeof(srv.head), "%.*s", (int)head_len, buf);
		srv.body_len = (size_t)len < sizeof(srv.body) ? (size_t)len : sizeof(srv.body);
		memcpy(srv.body, buf + head_len, srv.body_len);
		pthread_mutex_unlock(&srv.lock);
		memmove(buf, buf + head_len + len, n - head_len - len);
		n -= head_len + len;
		if (srv.hang) {
			while (!srv.stop)
				usleep(10000);
			return;
		}
		if (write(c, srv.response, strlen(srv.response)) < 0)
			return;
	}
}

static void *server_main(void *arg)
{
	while (!srv.stop) {
		struct pollfd pfd = { .fd = srv.fd, .events = POLLIN };
		int c;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		c = accept(srv.fd, NULL, NULL);
		if (c < 0)
			continue;
		srv.accepts++;
		serve(c);
		close(c);
	}
	return NULL;
}

static int listen_socket(int *ret_port, bool do_listen)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*ret_port = ntohs(a.sin_port);
	return fd;
}

static void server_start(const char *response)
{
	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.lock, NULL);
	snprintf(srv.response, sizeof(srv.response), "%s", response ? response : "");
	srv.hang = !response;
	srv.fd = listen_socket(&srv.port, true);
	assert_int_equal(pthread_create(&srv.thread, NULL, server_main, NULL), 0);
}

static void server_stop(void)
{
	srv.stop = 1;
	pthread_join(srv.thread, NULL);
	close(srv.fd);
	pthread_mutex_destroy(&srv.lock);
}

/* --- the output */

static char dir[] = "/tmp/sowatch-test-webhook-XXXXXX";

static char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static void config_for(struct config_webhook *cfg, int port, const char *token_file)
{
	static struct config_header extra = { .name = "X-Tenant", .value = "blue team" };

	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = true;
	snprintf(cfg->url, sizeof(cfg->url), "http://127.0.0.1:%d/ingest", port);
	if (token_file)
		snprintf(cfg->bearer_token_file, sizeof(cfg->bearer_token_file), "%s", token_file);
	cfg->headers = &extra;
	cfg->n_headers = 1;
	cfg->timeout_ms = 2000;
}

static struct output *open_output(int port)
{
	struct config_webhook cfg;
	struct output *out = NULL;
	char error[512] = "";

	config_for(&cfg, port, write_file("token", TOKEN "\n", 0600));
	assert_int_equal(webhook_output_new(&out, &cfg, error, sizeof(error)), 0);
	assert_string_equal(error, "");
	return out;
}

static const struct output_finding finding = {
	.id = "0123456789abcdef0123456789abcdef",
	.json = "{\"finding\":{\"name\":\"x\",\"note\":\"caf\xc3\xa9\"},\"resource\":{}}",
	.len =
	    sizeof("{\"finding\":{\"name\":\"x\",\"note\":\"caf\xc3\xa9\"},\"resource\":{}}") - 1,
	.severity = "CRITICAL",
	.event_time_ns = 1,
};

static void send_one(struct output *out, struct output_result *res)
{
	static const volatile int running = 0;

	memset(res, 0x55, sizeof(*res));
	out->ops->send(out, &finding, &running, res);
	assert_null(strstr(res->error, TOKEN));
}

static void test_sent_with_every_header(void **state)
{
	struct output_result res;
	struct output *out;

	server_start("HTTP/1.1 204 No Content\r\n\r\n");
	out = open_output(srv.port);
	assert_string_equal(out->ops->name, "webhook");
	assert_null(strstr(out->settings, TOKEN));
	send_one(out, &res);
	assert_int_equal(res.answer, OUTPUT_SENT);
	assert_int_equal(res.retry_after_ms, -1);
	assert_string_equal(res.error, "");
	assert_true(strncmp(srv.head, "POST /ingest HTTP/1.1\r\n", 23) == 0);
	assert_non_null(strstr(srv.head, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(srv.head, "\r\nX-Sowatch-Finding-Id: "
					 "0123456789abcdef0123456789abcdef\r\n"));
	assert_non_null(strstr(srv.head, "\r\nAuthorization: Bearer " TOKEN "\r\n"));
	assert_non_null(strstr(srv.head, "\r\nX-Tenant: blue team\r\n"));
	assert_null(strstr(srv.head, "Expect:"));
	assert_int_equal(srv.body_len, finding.len);
	assert_memory_equal(srv.body, finding.json, finding.len);
	/* The second finding goes over the same connection */
	send_one(out, &res);
	assert_int_equal(res.answer, OUTPUT_SENT);
	assert_int_equal(srv.requests, 2);
	assert_int_equal(srv.accepts, 1);
	out->ops->free(out);
	server_stop();
}

static void test_refusal_fails_with_the_body(void **state)
{
	struct output_result res;
	struct output *out;

	server_start("HTTP/1.1 400 Bad Request\r\nContent-Length: 25\r\n\r\nno "
		     "\"finding\"\nhere\x01 at all");
	out = open_output(srv.port);
	send_one(out, &res);
	assert_int_equal(res.answer, OUTPUT_FAILED);
	assert_string_equal(res.error, "HTTP 400: no \"finding\"\\x0ahere\\x01 at all");
	out->ops->free(out);
	server_stop();

	server_start("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
	out = open_output(srv.port);
	send_one(out, &res);
	assert_int_equal(res.answer, OUTPUT_FAILED);
	assert_string_equal(res.error, "HTTP 401");
	out->ops->free(out);
	server_stop();
}

static void test_busy_retries_after(void **state)
{
	struct output_result res;
	struct output *out;
	char response[256], date[64];
	time_t later = time(NULL) + 30;
	struct tm tm;

	server_start(
	    "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 4\r\n\r\nslow");
	out = open_output(srv.port);
	send_one(out, &res);
	assert_int_equal(res.answer, OUTPUT_RETRY);
	assert_int_equal(res.retry_after_ms, 2000);
	assert_string_equal(res.error, "HTTP 429: slow");
	out->ops->free(out);
	server_stop();

	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&later, &tm));
	snprintf(
	    response, sizeof(response),
	    "HTTP/1.1 503 Service Unavailable\r\nretry-after:  %s\r\nContent-Length: 0\r\n\r\n",
	    date);
	server_start(response);
	out = open_output(srv.port);
	send_one(out, &res);
	assert_int_equal(res.answer, OUTPUT_RETRY);
	assert_in_range(res.retry_after_ms, 28000, 30000);
	out->ops->free(out);
	server_stop();

	/* At most an hour, and -1 when the receiver does not say */
	server_start("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 999999999999\r\n"
		     "Content-Length: 0\r\n\r\n");
	out = open_output(srv.port);
	send_one(out, &res);
	assert_int_equal(res.retry_after_ms, 3600000);
	out->ops->free(out);
	server_stop();
	server_start("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
	out = open_output(srv.port);
	send_one(out, &res);
	assert_int_equal(res.answer, OUTPUT_RETRY);
	assert_int_equal(res.retry_after_ms, -1);
	out->ops->free(out);
	server_stop();
}

static void test_transport_errors_retry(void **state)
{
	struct output_result res;
	struct output *out;
	int port, fd = listen_socket(&port, false); /* bound, not listening: refused */

	out = open_output(port);
	send_one(out, &res);
	assert_int_equal(res.answer, OUTPUT_RETRY);
	assert_int_equal(res.retry_after_ms, -1);
	assert_true(strlen(res.error) > 0);
	out->ops->free(out);
	close(fd);
}

struct stopper {
	volatile int *stopping;
	int after_ms;
};

static void *stop_later(void *arg)
{
	struct stopper *s = arg;

	usleep(s->after_ms * 1000);
	*s->stopping = 1;
	return NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void test_hang_times_out_and_stops(void **state)
{
	struct output_result res;
	struct config_webhook cfg;
	struct output *out = NULL;
	volatile int stopping = 0;
	struct stopper st = { .stopping = &stopping, .after_ms = 300 };
	char error[512];
	pthread_t t;
	int64_t t0;

	server_start(NULL);
	/* The timeout: a receiver that never answers costs timeout_ms, no more */
	config_for(&cfg, srv.port, NULL);
	cfg.timeout_ms = 500;
	assert_int_equal(webhook_output_new(&out, &cfg, error, sizeof(error)), 0);
	t0 = now_ms();
	send_one(out, &res);
	assert_int_equal(res.answer, OUTPUT_RETRY);
	assert_in_range(now_ms() - t0, 400, 1500);
	out->ops->free(out);

	/* A stop: within about a second, however long the timeout */
	cfg.timeout_ms = 60000;
	assert_int_equal(webhook_output_new(&out, &cfg, error, sizeof(error)), 0);
	pthread_create(&t, NULL, stop_later, &st);
	t0 = now_ms();
	out->ops->send(out, &finding, &stopping, &res);
	pthread_join(t, NULL);
	assert_int_equal(res.answer, OUTPUT_RETRY);
	assert_in_range(now_ms() - t0, 250, 1600);
	out->ops->free(out);
	server_stop();
}

static int new_error(struct config_webhook *cfg, char *error, size_t size)
{
	struct output *out = (struct output *)1;
	int err = webhook_output_new(&out, cfg, error, size);

	assert_null(out);
	assert_null(strstr(error, TOKEN));
	assert_null(strchr(error, '\n'));
	return err;
}

static void test_refused_at_start(void **state)
{
	struct config_webhook cfg;
	char error[512], path[256];

	config_for(&cfg, 1, write_file("token", TOKEN, 0644));
	assert_int_equal(new_error(&cfg, error, sizeof(error)), -EPERM);
	assert_non_null(strstr(error, cfg.bearer_token_file));
	assert_non_null(strstr(error, "0644"));

	config_for(&cfg, 1, write_file("token", TOKEN, 0640));
	assert_int_equal(new_error(&cfg, error, sizeof(error)), -EPERM);

	config_for(&cfg, 1, write_file("token", " \n", 0600));
	assert_int_equal(new_error(&cfg, error, sizeof(error)), -EINVAL);
	assert_non_null(strstr(error, "empty"));

	config_for(&cfg, 1, write_file("token", "two\nlines", 0600));
	assert_int_equal(new_error(&cfg, error, sizeof(error)), -EINVAL);

	snprintf(path, sizeof(path), "%s/none", dir);
	config_for(&cfg, 1, path);
	assert_int_equal(new_error(&cfg, error, sizeof(error)), -ENOENT);
	assert_non_null(strstr(error, path));

	config_for(&cfg, 1, NULL);
	snprintf(cfg.ca_file, sizeof(cfg.ca_file), "%s/no-ca.pem", dir);
	assert_int_equal(new_error(&cfg, error, sizeof(error)), -ENOENT);
	assert_non_null(strstr(error, "no-ca.pem"));

	config_for(&cfg, 1, NULL);
	snprintf(cfg.url, sizeof(cfg.url), "ftp://127.0.0.1/x");
	assert_int_equal(new_error(&cfg, error, sizeof(error)), -EINVAL);

	config_for(&cfg, 1, NULL);
	cfg.headers[0].name = "Authorization";
	assert_int_equal(new_error(&cfg, error, sizeof(error)), -EINVAL);
	cfg.headers[0].name = "X-Tenant";
	cfg.headers[0].value = "blue\r\nX-Injected: 1";
	assert_int_equal(new_error(&cfg, error, sizeof(error)), -EINVAL);
	cfg.headers[0].value = "blue team";
}

static void test_settings_follow_the_token(void **state)
{
	struct config_webhook cfg;
	struct output *a, *b, *c;
	char error[512], settings[512];

	config_for(&cfg, 8443, write_file("token", TOKEN, 0600));
	snprintf(cfg.url, sizeof(cfg.url), "https://user:hunter2@127.0.0.1:8443/x");
	assert_int_equal(webhook_output_new(&a, &cfg, error, sizeof(error)), 0);
	assert_int_equal(webhook_output_new(&b, &cfg, error, sizeof(error)), 0);
	assert_string_equal(a->settings, b->settings);
	assert_null(strstr(a->settings, "hunter2"));
	assert_non_null(strstr(a->settings, "127.0.0.1:8443"));
	snprintf(settings, sizeof(settings), "%s", a->settings);
	write_file("token", TOKEN "2", 0600);
	assert_int_equal(webhook_output_new(&c, &cfg, error, sizeof(error)), 0);
	assert_string_not_equal(settings, c->settings);
	a->ops->free(a);
	b->ops->free(b);
	c->ops->free(c);
}

/*
 * An openssl.cnf that loads an engine (a module whose constructor writes a marker): OpenSSL
 * itself loads it (the control, in a child), http_global_init() and a request through
 * libcurl must not.
 */
static char marker[256];
static bool control_loaded;

/* In a child that has not touched OpenSSL yet: OpenSSL's own start reads the file */
static bool openssl_loads_it(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0) {
		OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return unlink(marker) == 0;
}

static bool engine_conf_ready(void)
{
	char module[256], cmd[1024], conf[1024];

	snprintf(module, sizeof(module), "%s/m.so", dir);
	snprintf(marker, sizeof(marker), "%s/marker", dir);
	snprintf(cmd, sizeof(cmd), "${CC:-cc} -shared -fPIC -o %s tests/fixtures/module.c", module);
	if (system(cmd) != 0)
		return false;
	snprintf(conf, sizeof(conf),
		 "openssl_conf = init\n[init]\nengines = eng\n[eng]\ne = esec\n"
		 "[esec]\ndynamic_path = %s\ninit = 1\n",
		 module);
	setenv("OPENSSL_CONF", write_file("openssl.cnf", conf, 0644), 1);
	setenv("SOWATCH_TEST_MARKER", marker, 1);
	return true;
}

static void test_openssl_cnf_never_read(void **state)
{
	struct output_result res;
	struct output *out;

	if (!marker[0])
		skip();
	/* The control, made in main() before http_global_init(): OpenSSL loads it */
	assert_true(control_loaded);

	/* main() already ran http_global_init(); libcurl asked for the configuration then */
	server_start("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	out = open_output(srv.port);
	send_one(out, &res);
	assert_int_equal(res.answer, OUTPUT_SENT);
	out->ops->free(out);
	server_stop();
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	assert_int_equal(access(marker, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openssl_cnf_never_read),
		cmocka_unit_test(test_sent_with_every_header),
		cmocka_unit_test(test_refusal_fails_with_the_body),
		cmocka_unit_test(test_busy_retries_after),
		cmocka_unit_test(test_transport_errors_retry),
		cmocka_unit_test(test_hang_times_out_and_stops),
		cmocka_unit_test(test_refused_at_start),
		cmocka_unit_test(test_settings_follow_the_token),
	};
	int rc;

	if (!mkdtemp(dir))
		return 1;
	chmod(dir, 0700);
	/* Before anything touches OpenSSL: as sowatch's main() does */
	if (!engine_conf_ready())
		fprintf(stderr, "no C compiler: the openssl.cnf test is skipped\n");
	else
		control_loaded = openssl_loads_it();
	setenv("SSLKEYLOGFILE", "/nonexistent/keys", 1);
	if (http_global_init() < 0 || getenv("SSLKEYLOGFILE"))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	http_global_cleanup();
	if (rc == 0) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			rc = 1;
	}
	return rc;
}
