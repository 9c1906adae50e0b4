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

struct pipeline_options {
	const char *jsonl_path; /* "-" for stdout */
	struct finding_resource resource;
};

/* Sources can be asked to look closer at what a detector learnt. */
struct pipeline_watchers {
	void (*watch_exe)(uint64_t dev, uint64_t ino, void *ctx);
	void (*watch_process)(uint32_t pid, void *ctx);
	void *ctx;
};

int pipeline_new(struct pipeline **ret, const struct pipeline_options *opts,
		 const char **ret_error);
/* Learn the host's OpenSSL binaries and its processes; call once the sources run. */
void pipeline_start(struct pipeline *pl, const struct pipeline_watchers *watchers);
/* event_handler_fn: ctx is the pipeline. */
void pipeline_handle(const struct event *ev, void *ctx);
/* Report what is still pending (attempts of live processes): sowatch is stopping. */
void pipeline_flush(struct pipeline *pl);
/* Forget processes that ended unseen (reporting what they left pending); call now and then. */
void pipeline_sweep(struct pipeline *pl);
/* Events the sources lost so far: findings made from now on carry the figure. */
void pipeline_set_event_drops(struct pipeline *pl, uint64_t drops);
uint64_t pipeline_findings(const struct pipeline *pl);
void pipeline_free(struct pipeline *pl);

#endif
