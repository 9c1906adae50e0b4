/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pipeline: events -> process table -> detectors -> findings -> outputs.
 * Sources push events in with pipeline_handle(); nothing here knows which source it was.
 */
#ifndef SOWATCH_PIPELINE_H
#define SOWATCH_PIPELINE_H

#include <stdint.h>

#include "event.h"
#include "findings/finding.h"

struct pipeline;

struct config;
struct trust_policy;

struct pipeline_options {
	const char *jsonl_path; /* run --jsonl ("-": stdout), over the configuration's; or NULL */
	const char *store_path; /* the SQLite findings store */
	struct finding_resource resource;
	/* Rules, outputs, retention; must stay until the pipeline is freed or reconfigured */
	const struct config *config;
};

/* Sources can be asked to look closer at what a detector learnt. */
struct pipeline_watchers {
	void (*watch_exe)(uint64_t dev, uint64_t ino, void *ctx);
	void (*watch_process)(uint32_t pid, void *ctx);
	void *ctx;
};

int pipeline_new(struct pipeline **ret, const struct pipeline_options *opts,
		 const char **ret_error);
/* The trust policy the detectors use (for a source that enforces it in the kernel). */
const struct trust_policy *pipeline_trust(const struct pipeline *pl);
/*
 * A reload (SIGHUP): cfg's rules, outputs and retention from now on. Outputs whose settings did
 * not change go on untouched. cfg must stay until the next reconfigure or the free; the old
 * one may be freed once this returns 0. On error (an output that cannot be made) nothing
 * changes: -errno and one line in *ret_error.
 */
int pipeline_reconfigure(struct pipeline *pl, const struct config *cfg, const char **ret_error);
/* SIGUSR1: file outputs are opened again at their next finding (log rotation). */
void pipeline_reopen(struct pipeline *pl);
/* Learn the host's OpenSSL binaries and its processes; call once the sources run. */
void pipeline_start(struct pipeline *pl, const struct pipeline_watchers *watchers);
/*
 * event_handler_fn: ctx is the pipeline. Findings carry the most any event said its source
 * had lost before it (drops_before), plus what sources told by EVENT_DROPPED.
 */
void pipeline_handle(const struct event *ev, void *ctx);
/* Report what is still pending (attempts of live processes), and wait until every finding
 * made so far is kept and told: sowatch is stopping. */
void pipeline_flush(struct pipeline *pl);
/* Forget processes that ended unseen (reporting what they left pending); call now and then. */
void pipeline_sweep(struct pipeline *pl);
/*
 * When sowatch was not watching. Findings whose event comes before the end of the most recent
 * gap, or within 10 minutes after it, carry it (sourceProperties.sensorGap). Each gap is
 * logged and kept in the store.
 */
void pipeline_note_gap(struct pipeline *pl, const struct sensor_gap *gap);
/*
 * sowatch watches from now_ns (CLOCK_REALTIME) on: the time since the previous run's last
 * sign of life in the store, if any, is a gap ("not running").
 */
void pipeline_note_start(struct pipeline *pl, uint64_t now_ns);
/*
 * Still watching at now_ns: kept in the store (one row rewritten), so that after a crash the
 * next run can tell when sowatch went blind. Every PIPELINE_HEARTBEAT_PERIOD_MS.
 */
#define PIPELINE_HEARTBEAT_PERIOD_MS 5000
void pipeline_note_heartbeat(struct pipeline *pl, uint64_t now_ns);
/* A clean stop at now_ns: the next run's gap starts there exactly. */
void pipeline_note_stop(struct pipeline *pl, uint64_t now_ns);
/* What happened to the findings so far, for the log. */
struct pipeline_stats {
	uint64_t reported; /* stored and handed to the outputs */
	uint64_t muted;	   /* stored, marked muted, not handed to the outputs */
	uint64_t allowed;  /* matched an allow rule: dropped */
	uint64_t repeated; /* already in the store (seen before a restart): not handed again */
	uint64_t lost;	   /* could not be kept (out of memory, memory bound) */
	uint64_t unstored; /* held in memory now: the store refuses them for the moment */
	uint64_t pending;  /* after pipeline_flush(): still owed by an output (kept in the store) */
};
void pipeline_stats(struct pipeline *pl, struct pipeline_stats *ret);
struct metrics_snapshot;
/* The findings' and outputs' figures of a metrics snapshot. */
void pipeline_metrics(struct pipeline *pl, struct metrics_snapshot *s);
void pipeline_free(struct pipeline *pl);

#endif
