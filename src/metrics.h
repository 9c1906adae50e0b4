/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics and health over HTTP (metrics.listen): /metrics in Prometheus's text format, /healthz.
 *
 * The server runs on its own thread (libmicrohttpd) and never touches the pipeline: the main
 * loop publishes a snapshot of every figure about once a second, and requests are answered from
 * the latest one. A snapshot that stops coming is itself a sign of trouble: /healthz then says
 * the event loop is stalled.
 */
#ifndef SOWATCH_METRICS_H
#define SOWATCH_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_FINDING_SERIES 32
#define METRICS_MAX_EVENT_KINDS	   16
#define METRICS_MAX_OUTPUTS	   8

/* sowatch_findings_total{category,severity,outcome} */
struct metrics_findings {
	const char *category; /* static strings: the finding kinds' categories */
	const char *severity; /* "CRITICAL", "HIGH", "MEDIUM", "LOW" */
	const char *outcome;  /* "reported", "muted", "allowed" */
	uint64_t count;
};

struct metrics_output {
	char name[32];		     /* "jsonl", "webhook", "syslog" */
	uint64_t pending;	     /* waiting to be delivered (store and memory) */
	uint64_t delivered;	     /* counters since start */
	uint64_t failed;	     /* answers that can never succeed (HTTP 400 ...) */
	uint64_t retries;	     /* attempts that will be tried again */
	double oldest_pending_age_s; /* event age of the oldest pending finding; 0 when none */
};

struct metrics_snapshot {
	uint64_t taken_ms; /* CLOCK_MONOTONIC, when the main loop published it */
	struct metrics_findings findings[METRICS_MAX_FINDING_SERIES];
	size_t n_findings;
	/* Kernel events by kind: seen by the hooks, sent through the ring buffer, dropped */
	struct {
		const char *kind; /* "exec", "map", ... */
		uint64_t seen, sent, dropped;
	} events[METRICS_MAX_EVENT_KINDS];
	size_t n_events;
	bool ebpf; /* the eBPF source runs: the kernel figures below mean something */
	uint64_t ring_buffer_used_bytes, ring_buffer_size_bytes;
	uint64_t libcrypto_probes; /* files carrying OpenSSL with the library layer's probes */
	struct metrics_output outputs[METRICS_MAX_OUTPUTS];
	size_t n_outputs;
	bool gvisor;			/* the gVisor source runs */
	uint64_t gvisor_sandboxes;	/* connected now */
	uint64_t gvisor_dropped_points; /* points sandboxes could not send (counter) */
	/* The kernel heartbeat: seconds since the last canary came back; -1: none came back yet */
	double heartbeat_age_s;
	bool heartbeat_ok;	    /* false: the alarm is raised (no canary back in time) */
	char unhealthy[256];	    /* "" when healthy, else why (a source died, heartbeat lost) */
	uint64_t findings_unstored; /* held in memory because the store refuses them now */
	uint64_t findings_lost;	    /* could not be kept at all (memory bound, out of memory) */
};

struct metrics_server;

/*
 * Listens on listen ("HOST:PORT", an IPv4 or [IPv6] literal, or "localhost"). On error returns
 * -errno and one line in *ret_error (static storage).
 */
int metrics_server_new(struct metrics_server **ret, const char *listen, const char **ret_error);
/* The TCP port listened on (the kernel's choice when listen said port 0), or -1. */
int metrics_server_port(const struct metrics_server *m);
/* Copies s; requests from now on are answered from it. */
void metrics_server_publish(struct metrics_server *m, const struct metrics_snapshot *s);
/* Accepts NULL. */
void metrics_server_free(struct metrics_server *m);

/*
 * The text of /metrics for s, and /healthz's status and body (now_ms: CLOCK_MONOTONIC): for
 * the server, and for tests. 0 or -ENOMEM; the caller frees *ret_text.
 */
int metrics_render(const struct metrics_snapshot *s, char **ret_text, size_t *ret_len);
int metrics_health(const struct metrics_snapshot *s, uint64_t now_ms, char *body, size_t size);

#endif
