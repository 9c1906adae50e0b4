/* SPDX-License-Identifier: Apache-2.0 */
/* The eBPF source: loads bpf/sowatch.bpf.c, attaches it and turns its records into events. */
#ifndef SOWATCH_SOURCES_EBPF_H
#define SOWATCH_SOURCES_EBPF_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "sources/ebpf_decode.h"
#include "sowatch_events.h"

struct ebpf_source;
struct metrics_snapshot;

/* "exec", "map", ... for logs and metrics; NULL for a kind that has no name. */
const char *ebpf_event_kind_name(enum sw_event_kind kind);

/* Enforce mode, as the kernel applies it */
struct enforce_policy {
	bool kill;		     /* off when false */
	enum sw_enforce_where where; /* which processes */
	bool added_libraries;	     /* severity low: Added Library Loaded too */
};

/*
 * Load and attach every program. On failure returns -errno and, through ret_error (static
 * storage), one sentence for the user naming what failed.
 */
int ebpf_source_open(struct ebpf_source **ret, event_handler_fn on_event, void *ctx,
		     const struct enforce_policy *enforce, const char **ret_error);
/*
 * Enforce mode: files of this directory (its device and inode) may be mapped by libcrypto as
 * libraries, and, when `modules` (OpenSSL's ENGINESDIR and MODULESDIR), as modules too.
 */
int ebpf_source_trust_dir(struct ebpf_source *src, uint64_t dev, uint64_t ino, bool modules);

struct ebpf_file_id {
	uint64_t dev; /* user space's dev_t */
	uint64_t ino;
	int64_t ctime_ns; /* as verified: a write in place since makes it another file */
};

/*
 * Enforce mode: the files of ENGINESDIR and MODULESDIR verified as the installed modules, the
 * only ones libcrypto may load as modules. Replaces the set given before.
 */
int ebpf_source_trust_modules(struct ebpf_source *src, const struct ebpf_file_id *ids, size_t n);
/* Enforce mode's lists are in: the kernel may kill from now on (nothing before). */
void ebpf_source_enforce_ready(struct ebpf_source *src);
/*
 * No more trusted directories: the kernel refuses any later change to the list, from sowatch
 * or from anyone else holding the map (a root attacker with bpftool, say).
 */
int ebpf_source_freeze_trust(struct ebpf_source *src);
/* Follow changes of the wall clock (NTP, settimeofday) in the time stamps of events. */
void ebpf_source_sync_clocks(struct ebpf_source *src);
/*
 * A file descriptor that polls readable when the kernel wakes the reader: at once for events
 * that may lead to a finding, else only when the ring buffer fills up. The rest is read by
 * ebpf_source_drain() at least every SW_DRAIN_PERIOD_MS.
 */
int ebpf_source_fd(const struct ebpf_source *src);
/* Handle what is in the ring buffer now, woken or not. Returns records handled. */
int ebpf_source_drain(struct ebpf_source *src);
/* Executables with this identity are OpenSSL: their processes get mapping events from exec on. */
int ebpf_source_watch_exe(struct ebpf_source *src, uint64_t dev, uint64_t ino);
/* Produce mapping events for this process from now on. */
int ebpf_source_watch_process(struct ebpf_source *src, uint32_t pid);
/* Sum of the per-CPU counters, indexed by enum sw_event_kind. */
int ebpf_source_counters(struct ebpf_source *src, struct sw_counters ret[SW_EVENT_KIND_MAX]);
/* How many libcrypto copies carry the library-layer probe. */
/*
 * Called about once a second: sends the kernel side a canary now and then, and logs an error
 * when it does not come back (programs detached, ring buffer stopped).
 */
void ebpf_source_check_alive(struct ebpf_source *src, uint64_t now_ms);
/* False while the heartbeat's alarm is raised: events from the kernel stopped. */
bool ebpf_source_alive(const struct ebpf_source *src);

int ebpf_source_libcrypto_probes(const struct ebpf_source *src);
/*
 * The kernel side's figures into s: events by kind (seen, sent, dropped), the ring buffer's
 * fill, the library layer's probes, the heartbeat; sets s->ebpf. A few map reads: meant for
 * about once a second.
 */
void ebpf_source_metrics(struct ebpf_source *src, struct metrics_snapshot *s);
void ebpf_source_close(struct ebpf_source *src);

#endif
