// SPDX-License-Identifier: Apache-2.0
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "util/dynlib.h"
#include "util/log.h"
#include "util/strbuf.h"

/* Enough for Prometheus and a person with curl; more wait in the kernel's backlog. */
#define METRICS_MAX_CONNECTIONS 16
/* A client that sends nothing for this long is closed: a slow one cannot hold a slot. */
#define METRICS_CONNECTION_TIMEOUT_S 10
/* A snapshot older than this means the main loop stopped publishing (it does every second). */
#define METRICS_STALE_MS 10000

#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_TEXT    "text/plain; charset=utf-8"

struct metrics_server {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;	      /* guards snap */
	struct metrics_snapshot snap; /* all zero until the first publish: /healthz says 503 */
};

/*
 * libmicrohttpd's functions, found when the metrics server first starts (util/dynlib.h says
 * why it is not linked). Each has the type of its declaration in microhttpd.h.
 */
static struct {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_create_response_from_buffer_with_free_callback)
	    *create_response_from_buffer_with_free_callback;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
} libmhd;

#define LIBMHD_SYMBOL(f)                                                                           \
	{                                                                                          \
		"MHD_" #f, (void **)&libmhd.f                                                      \
	}

static const struct dynlib_symbol libmhd_symbols[] = {
	LIBMHD_SYMBOL(start_daemon),
	LIBMHD_SYMBOL(stop_daemon),
	LIBMHD_SYMBOL(get_daemon_info),
	LIBMHD_SYMBOL(create_response_from_buffer),
	LIBMHD_SYMBOL(create_response_from_buffer_with_free_callback),
	LIBMHD_SYMBOL(add_response_header),
	LIBMHD_SYMBOL(queue_response),
	LIBMHD_SYMBOL(destroy_response),
	{ NULL, NULL },
};

static struct dynlib libmhd_lib = {
	.soname = "libmicrohttpd.so.12",
	.package = "libmicrohttpd12",
	.symbols = libmhd_symbols,
};

/* ---- The exposition text ---------------------------------------------------------------- */

/* Prometheus text format 0.0.4: label values escape backslash, double quote and newline. */
static int add_label_value(struct strbuf *sb, const char *v)
{
	int err = 0;

	for (const char *p = v ? v : ""; *p && !err; p++) {
		if (*p == '\\')
			err = strbuf_adds(sb, "\\\\");
		else if (*p == '"')
			err = strbuf_adds(sb, "\\\"");
		else if (*p == '\n')
			err = strbuf_adds(sb, "\\n");
		else
			err = strbuf_addc(sb, *p);
	}
	return err;
}

static int add_family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	return strbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * One sample: name{k1="v1",...} value. labels alternates names and values, NULL-terminated;
 * value is already formatted.
 */
static int add_sample(struct strbuf *sb, const char *name, const char *const *labels,
		      const char *value)
{
	int err = strbuf_adds(sb, name);

	for (size_t i = 0; !err && labels && labels[i]; i += 2) {
		err = strbuf_addf(sb, "%s%s=\"", i ? "," : "{", labels[i]);
		if (!err)
			err = add_label_value(sb, labels[i + 1]);
		if (!err)
			err = strbuf_addc(sb, '"');
	}
	if (!err && labels && labels[0])
		err = strbuf_addc(sb, '}');
	if (!err)
		err = strbuf_addf(sb, " %s\n", value);
	return err;
}

static int add_u64(struct strbuf *sb, const char *name, const char *const *labels, uint64_t v)
{
	char value[32];

	snprintf(value, sizeof(value), "%llu", (unsigned long long)v);
	return add_sample(sb, name, labels, value);
}

static int add_double(struct strbuf *sb, const char *name, const char *const *labels, double v)
{
	char value[32];

	if (isnan(v))
		snprintf(value, sizeof(value), "NaN");
	else if (isinf(v))
		snprintf(value, sizeof(value), "%s", v > 0 ? "+Inf" : "-Inf");
	else
		snprintf(value, sizeof(value), "%.3f", v);
	return add_sample(sb, name, labels, value);
}

/* A family without labels: HELP, TYPE and its one sample. */
static int add_single_u64(struct strbuf *sb, const char *name, const char *type, const char *help,
			  uint64_t v)
{
	int err = add_family(sb, name, type, help);

	return err ? err : add_u64(sb, name, NULL, v);
}

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/*
 * sowatch_findings_total. Two entries with the same labels are added up: Prometheus refuses
 * a scrape that repeats a series.
 */
static int add_findings(struct strbuf *sb, const struct metrics_snapshot *s)
{
	size_t n =
	    s->n_findings < METRICS_MAX_FINDING_SERIES ? s->n_findings : METRICS_MAX_FINDING_SERIES;
	int err = add_family(sb, "sowatch_findings_total", "counter",
			     "Findings made since start, by category, severity and outcome "
			     "(reported, muted by a rule, allowed by the allowlist).");

	for (size_t i = 0; i < n && !err; i++) {
		const struct metrics_findings *f = &s->findings[i];
		uint64_t count = f->count;
		bool earlier = false;

		for (size_t j = 0; j < n; j++) {
			const struct metrics_findings *g = &s->findings[j];

			if (j == i || !same(f->category, g->category) ||
			    !same(f->severity, g->severity) || !same(f->outcome, g->outcome))
				continue;
			if (j < i)
				earlier = true;
			else
				count += g->count;
		}
		if (earlier)
			continue;
		err = add_u64(sb, "sowatch_findings_total",
			      (const char *const[]){ "category", f->category, "severity",
						     f->severity, "outcome", f->outcome, NULL },
			      count);
	}
	return err;
}

static int add_kernel(struct strbuf *sb, const struct metrics_snapshot *s)
{
	size_t n = s->n_events < METRICS_MAX_EVENT_KINDS ? s->n_events : METRICS_MAX_EVENT_KINDS;
	int err = add_family(sb, "sowatch_kernel_events_total", "counter",
			     "Events the BPF programs saw and wanted, by kind.");

	for (size_t i = 0; i < n && !err; i++)
		err = add_u64(sb, "sowatch_kernel_events_total",
			      (const char *const[]){ "kind", s->events[i].kind, NULL },
			      s->events[i].seen);
	if (!err)
		err =
		    add_family(sb, "sowatch_kernel_events_dropped_total", "counter",
			       "Events the BPF programs had to drop (ring buffer full), by kind.");
	for (size_t i = 0; i < n && !err; i++)
		err = add_u64(sb, "sowatch_kernel_events_dropped_total",
			      (const char *const[]){ "kind", s->events[i].kind, NULL },
			      s->events[i].dropped);
	if (!err)
		err = add_single_u64(sb, "sowatch_ring_buffer_used_bytes", "gauge",
				     "Bytes written to the kernel ring buffer and not read yet.",
				     s->ring_buffer_used_bytes);
	if (!err)
		err = add_single_u64(sb, "sowatch_ring_buffer_size_bytes", "gauge",
				     "Size of the kernel ring buffer.", s->ring_buffer_size_bytes);
	if (!err)
		err = add_single_u64(sb, "sowatch_libcrypto_probes", "gauge",
				     "Files carrying OpenSSL that the library layer probes.",
				     s->libcrypto_probes);
	if (!err)
		err = add_single_u64(
		    sb, "sowatch_heartbeat_ok", "gauge",
		    "1 while the kernel's events flow (the canary comes back), else 0.",
		    s->heartbeat_ok ? 1 : 0);
	if (!err && s->heartbeat_age_s >= 0) {
		err = add_family(sb, "sowatch_heartbeat_age_seconds", "gauge",
				 "Seconds since the last canary event came back from the kernel.");
		if (!err)
			err = add_double(sb, "sowatch_heartbeat_age_seconds", NULL,
					 s->heartbeat_age_s);
	}
	return err;
}

/* One family over every output, read by field offset. */
static int add_outputs_u64(struct strbuf *sb, const struct metrics_snapshot *s, size_t n,
			   const char *name, const char *type, const char *help, size_t offset)
{
	int err = add_family(sb, name, type, help);

	for (size_t i = 0; i < n && !err; i++) {
		const struct metrics_output *o = &s->outputs[i];
		uint64_t v;

		memcpy(&v, (const char *)o + offset, sizeof(v));
		err = add_u64(sb, name, (const char *const[]){ "output", o->name, NULL }, v);
	}
	return err;
}

static int add_outputs(struct strbuf *sb, const struct metrics_snapshot *s)
{
	size_t n = s->n_outputs < METRICS_MAX_OUTPUTS ? s->n_outputs : METRICS_MAX_OUTPUTS;
	int err;

	if (!n)
		return 0;
	err = add_outputs_u64(sb, s, n, "sowatch_output_pending_findings", "gauge",
			      "Findings waiting to be delivered to the output (store and memory).",
			      offsetof(struct metrics_output, pending));
	if (!err)
		err = add_outputs_u64(sb, s, n, "sowatch_output_delivered_total", "counter",
				      "Findings the output accepted.",
				      offsetof(struct metrics_output, delivered));
	if (!err)
		err = add_outputs_u64(sb, s, n, "sowatch_output_failed_total", "counter",
				      "Deliveries refused for good (never retried).",
				      offsetof(struct metrics_output, failed));
	if (!err)
		err = add_outputs_u64(sb, s, n, "sowatch_output_retries_total", "counter",
				      "Delivery attempts that failed and will be tried again.",
				      offsetof(struct metrics_output, retries));
	if (!err)
		err = add_family(sb, "sowatch_output_oldest_pending_age_seconds", "gauge",
				 "Age of the oldest finding waiting for the output; 0 when none.");
	for (size_t i = 0; i < n && !err; i++)
		err = add_double(sb, "sowatch_output_oldest_pending_age_seconds",
				 (const char *const[]){ "output", s->outputs[i].name, NULL },
				 s->outputs[i].oldest_pending_age_s);
	return err;
}

int metrics_render(const struct metrics_snapshot *s, char **ret_text, size_t *ret_len)
{
	struct strbuf sb = STRBUF_INIT;
	int err = add_family(&sb, "sowatch_build_info", "gauge",
			     "Always 1; the version label says which sowatch runs.");

	if (!err)
		err = add_u64(&sb, "sowatch_build_info",
			      (const char *const[]){ "version", SOWATCH_VERSION, NULL }, 1);
	if (!err)
		err = add_findings(&sb, s);
	if (!err && s->ebpf)
		err = add_kernel(&sb, s);
	if (!err)
		err = add_outputs(&sb, s);
	if (!err && s->gvisor) {
		err = add_single_u64(&sb, "sowatch_gvisor_sandboxes", "gauge",
				     "gVisor sandboxes connected now.", s->gvisor_sandboxes);
		if (!err)
			err = add_single_u64(&sb, "sowatch_gvisor_dropped_points_total", "counter",
					     "Points gVisor sandboxes could not send to sowatch.",
					     s->gvisor_dropped_points);
	}
	if (!err)
		err =
		    add_single_u64(&sb, "sowatch_store_unstored_findings", "gauge",
				   "Findings held in memory because the store refuses writes now.",
				   s->findings_unstored);
	if (!err)
		err =
		    add_single_u64(&sb, "sowatch_findings_lost_total", "counter",
				   "Findings that could not be kept at all (memory bound reached, "
				   "out of memory).",
				   s->findings_lost);
	if (err) {
		strbuf_release(&sb);
		return -ENOMEM;
	}
	*ret_len = sb.len;
	*ret_text = strbuf_detach(&sb);
	return *ret_text ? 0 : -ENOMEM;
}

/* ---- /healthz ----------------------------------------------------------------------------- */

int metrics_health(const struct metrics_snapshot *s, uint64_t now_ms, char *body, size_t size)
{
	/*
	 * Staleness first: when the loop stopped, the rest of the snapshot is old news. The
	 * kernel's heartbeat only counts when the eBPF source runs (a gVisor-only sensor has none).
	 */
	if (!s->taken_ms) {
		snprintf(body, size, "the event loop has not reported yet\n");
		return 503;
	}
	if (now_ms > s->taken_ms && now_ms - s->taken_ms > METRICS_STALE_MS) {
		snprintf(body, size, "the event loop has not reported for %llu s\n",
			 (unsigned long long)((now_ms - s->taken_ms) / 1000));
		return 503;
	}
	if (s->unhealthy[0]) {
		/* One line, whatever the reason says */
		size_t n = strcspn(s->unhealthy, "\r\n");

		snprintf(body, size, "%.*s\n", (int)n, s->unhealthy);
		return 503;
	}
	if (s->ebpf && !s->heartbeat_ok) {
		if (s->heartbeat_age_s >= 0)
			snprintf(body, size, "no events from the kernel for %.0f s\n",
				 s->heartbeat_age_s);
		else
			snprintf(body, size, "no events from the kernel since sowatch started\n");
		return 503;
	}
	snprintf(body, size, "ok\n");
	return 200;
}

/* ---- The server --------------------------------------------------------------------------- */

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned status, const char *text,
				   const char *allow)
{
	struct MHD_Response *r =
	    libmhd.create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	libmhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE_TEXT);
	if (allow)
		libmhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = libmhd.queue_response(conn, status, r);
	libmhd.destroy_response(r);
	return ret;
}

static enum MHD_Result answer_metrics(struct MHD_Connection *conn, const struct metrics_snapshot *s)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text;
	size_t len;

	if (metrics_render(s, &text, &len))
		return answer_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	r = libmhd.create_response_from_buffer_with_free_callback(len, text, free);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	libmhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE_METRICS);
	ret = libmhd.queue_response(conn, MHD_HTTP_OK, r);
	libmhd.destroy_response(r);
	return ret;
}

/* On the server's thread. Answers at the first call: no request here has a body worth reading. */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct metrics_server *m = cls;
	struct metrics_snapshot *s;
	enum MHD_Result ret;
	bool metrics = strcmp(url, "/metrics") == 0, healthz = strcmp(url, "/healthz") == 0;

	if (!metrics && !healthz)
		return answer_text(conn, MHD_HTTP_NOT_FOUND,
				   "not found: sowatch serves /metrics and /healthz\n", NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
				   "GET, HEAD");
	/* A copy: rendering takes no lock the main loop waits on. */
	s = malloc(sizeof(*s));
	if (!s)
		return answer_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	pthread_mutex_lock(&m->lock);
	*s = m->snap;
	pthread_mutex_unlock(&m->lock);
	if (metrics) {
		ret = answer_metrics(conn, s);
	} else {
		char body[sizeof(s->unhealthy) + 64];
		int status = metrics_health(s, monotonic_ms(), body, sizeof(body));

		ret = answer_text(conn, (unsigned)status, body, NULL);
	}
	free(s);
	return ret;
}

/* libmicrohttpd's own complaints (bind failures, mostly) go to our log, one line each. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strcspn(line, "\n");
	line[n] = '\0';
	log_warn("metrics: %s", line);
}

union listen_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/*
 * "HOST:PORT": HOST an IPv4 literal, "[IPv6]" or "localhost" (127.0.0.1: a name that would
 * need a resolver is refused, so what is bound is what the configuration says). PORT 0 lets
 * the kernel choose (tests).
 */
static int parse_listen(const char *listen, union listen_addr *ret, bool *ret_ipv6,
			const char **ret_error)
{
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	char host[INET6_ADDRSTRLEN + 2], *end;
	size_t hlen;
	unsigned long port;

	*ret_error = "metrics.listen must be HOST:PORT (an IPv4 address, [IPv6] or localhost)";
	if (!colon || colon == listen)
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port > 65535 || colon[1] == '-' || colon[1] == '+')
		return -EINVAL;
	hlen = (size_t)(colon - listen);
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	memset(ret, 0, sizeof(*ret));
	if (host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &ret->in6.sin6_addr) != 1)
			return -EINVAL;
		ret->in6.sin6_family = AF_INET6;
		ret->in6.sin6_port = htons((uint16_t)port);
		*ret_ipv6 = true;
		return 0;
	}
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &ret->in.sin_addr) != 1)
		return -EINVAL;
	ret->in.sin_family = AF_INET;
	ret->in.sin_port = htons((uint16_t)port);
	*ret_ipv6 = false;
	return 0;
}

int metrics_server_new(struct metrics_server **ret, const char *listen, const char **ret_error)
{
	struct metrics_server *m;
	union listen_addr addr;
	sigset_t all, old;
	bool ipv6;
	/*
	 * One thread of libmicrohttpd's own, polling with epoll (AUTO picks it on Linux): select()
	 * would refuse sockets numbered past 1024, and sowatch holds many descriptors (probes).
	 */
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	int err = parse_listen(listen, &addr, &ipv6, ret_error);

	if (err)
		return err;
	if (ipv6)
		flags |= MHD_USE_IPv6;
	if (dynlib_use(&libmhd_lib, ret_error) < 0)
		return -ENOTSUP;
	m = calloc(1, sizeof(*m));
	if (!m) {
		*ret_error = "out of memory";
		return -ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	/*
	 * The server's thread inherits the signal mask of the thread that starts it: with every
	 * signal blocked there, SIGTERM, SIGINT and SIGCHLD always reach the main loop.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	errno = 0;
	/* The port is passed twice only so that libmicrohttpd's messages name it. */
	m->daemon = libmhd.start_daemon(
	    flags, ntohs(ipv6 ? addr.in6.sin6_port : addr.in.sin_port), NULL, NULL, handle_request,
	    m, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, &addr.sa,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONNECTION_TIMEOUT_S, MHD_OPTION_END);
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->daemon) {
		*ret_error = "cannot listen on metrics.listen (address in use, or not this host's)";
		metrics_server_free(m);
		return err ? -err : -EADDRNOTAVAIL;
	}
	*ret = m;
	return 0;
}

int metrics_server_port(const struct metrics_server *m)
{
	const union MHD_DaemonInfo *info =
	    libmhd.get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);

	return info ? info->port : -1;
}

void metrics_server_publish(struct metrics_server *m, const struct metrics_snapshot *s)
{
	pthread_mutex_lock(&m->lock);
	m->snap = *s;
	pthread_mutex_unlock(&m->lock);
}

void metrics_server_free(struct metrics_server *m)
{
	if (!m)
		return;
	if (m->daemon)
		libmhd.stop_daemon(m->daemon);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
