/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gVisor source: a remote sink for gVisor's runtime monitoring. sowatch listens on a
 * SOCK_SEQPACKET Unix socket; each sandbox started with a pod-init-config whose "remote" sink
 * names that socket connects once, at start, and sends its points there. One connection is one
 * sandbox; many can be connected at once. gVisor never reconnects: a sandbox started while
 * sowatch was not listening is not watched (or fails to start, unless its config says
 * "ignore_setup_error").
 */
#ifndef SOWATCH_SOURCES_GVISOR_H
#define SOWATCH_SOURCES_GVISOR_H

#include <stdint.h>

#include "event.h"
#include "sources/ebpf_decode.h" /* event_handler_fn */

#define GVISOR_MESSAGE_MAX	   (1u << 20) /* a bigger message closes its connection */
#define GVISOR_MAX_SANDBOXES	   1024	      /* connections at once */
#define GVISOR_HANDSHAKE_TIMEOUT_S 5

struct gvisor_source;
struct metrics_snapshot;

struct gvisor_stats {
	uint64_t connected;	    /* sandboxes that completed the handshake, in all */
	uint64_t disconnected;	    /* ... and went away or were closed */
	uint64_t rejected;	    /* closed by sowatch: no handshake in time, garbage, too big */
	uint64_t active;	    /* connections open now, handshaken or not */
	uint64_t messages;	    /* decoded */
	uint64_t dropped_by_gvisor; /* points sandboxes could not send to us (socket full) */
	uint64_t malformed;	    /* messages refused; includes oversized ones */
	uint64_t oversized; /* messages over GVISOR_MESSAGE_MAX (the connection is closed) */
	uint64_t unknown_type;
	uint64_t no_context;	/* process messages without the thread group id */
	uint64_t procs_evicted; /* per-sandbox bounds reached: oldest state forgotten */
	uint64_t fds_evicted;
	uint64_t maps_untracked; /* executable mmap of an fd whose file was not known */
};

/*
 * Create socket_path's directory (mode 0700) if missing and listen there (mode 0600). The
 * directories on the way go through safe_path's checks (util/safe_path.h), and the socket's own
 * directory must not be writable by group or others at all: -EPERM otherwise. A stale socket of
 * ours is replaced; a live one (another sowatch) is refused with -EADDRINUSE; a symbolic link,
 * a file, or someone else's socket at the path with -EPERM, and left alone. Events go to
 * on_event(ev, ctx). On failure returns -errno and, through ret_error (static storage), one
 * sentence for the user.
 */
int gvisor_source_open(struct gvisor_source **ret, const char *socket_path,
		       event_handler_fn on_event, void *ctx, const char **ret_error);
/* Enforce mode is on: findings from sandboxes say it cannot stop them (sandboxes connected
 * from now on). */
void gvisor_source_set_enforce_mode(struct gvisor_source *src, bool on);
/* An epoll fd, readable when gvisor_source_poll() has something to do. */
int gvisor_source_fd(const struct gvisor_source *src);
/*
 * Accept sandboxes, do handshakes, read and decode what is ready, close peers that time out or
 * misbehave; waits at most timeout_ms (0: not at all). Returns messages decoded, or -errno.
 */
int gvisor_source_poll(struct gvisor_source *src, int timeout_ms);
void gvisor_source_stats(const struct gvisor_source *src, struct gvisor_stats *ret);
/* Sandboxes connected now (handshake done) and points they could not send, into s; sets s->gvisor. */
void gvisor_source_metrics(const struct gvisor_source *src, struct metrics_snapshot *s);
/* Close every connection and remove the socket (if it is still ours). Accepts NULL. */
void gvisor_source_close(struct gvisor_source *src);

#endif
