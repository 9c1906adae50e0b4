// SPDX-License-Identifier: Apache-2.0
#include "pipeline.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/openssl.h"
#include "detectors/trust.h"
#include "outputs/jsonl.h"
#include "proc/proctable.h"
#include "util/log.h"

struct pipeline {
	struct proctable *pt;
	struct trust_policy trust;
	struct openssl_detector *openssl;
	struct jsonl_output *jsonl;
	struct finding_resource resource;
	struct pipeline_watchers watchers;
	uint64_t event_drops;
	uint64_t findings;
};

static void report(const struct finding *f, void *ctx)
{
	struct pipeline *pl = ctx;
	struct finding copy = *f;
	struct strbuf line = STRBUF_INIT;
	int err;

	copy.event_drops = pl->event_drops;
	err = finding_to_json(&copy, &pl->resource, pl->pt, &line);
	if (err) {
		log_error("cannot serialize a finding for pid %u: %s", f->proc->pid,
			  strerror(-err));
	} else {
		err = jsonl_output_write(pl->jsonl, strbuf_str(&line), line.len);
		if (err)
			log_error("cannot write a finding: %s", strerror(-err));
		else
			pl->findings++;
	}
	strbuf_release(&line);
}

static void watch_exe(uint64_t dev, uint64_t ino, void *ctx)
{
	struct pipeline *pl = ctx;

	if (pl->watchers.watch_exe)
		pl->watchers.watch_exe(dev, ino, pl->watchers.ctx);
}

static void watch_process(uint32_t pid, void *ctx)
{
	struct pipeline *pl = ctx;

	if (pl->watchers.watch_process)
		pl->watchers.watch_process(pid, pl->watchers.ctx);
}

int pipeline_new(struct pipeline **ret, const struct pipeline_options *opts, const char **ret_error)
{
	struct pipeline *pl = calloc(1, sizeof(*pl));
	struct detector_env env;
	int err;

	if (!pl)
		return -ENOMEM;
	pl->resource = opts->resource;
	err = trust_policy_init(&pl->trust);
	if (err) {
		*ret_error = "cannot learn OpenSSL's module directories from libcrypto";
		goto err_free;
	}
	err = proctable_new(&pl->pt);
	if (err) {
		*ret_error = "out of memory";
		goto err_free;
	}
	err = jsonl_output_open(&pl->jsonl, opts->jsonl_path);
	if (err) {
		static char message[PATH_MAX + 64];

		snprintf(message, sizeof(message), "cannot open the findings output %s",
			 opts->jsonl_path);
		*ret_error = message;
		goto err_free;
	}
	env = (struct detector_env){
		.pt = pl->pt,
		.trust = &pl->trust,
		.report = report,
		.watch_exe = watch_exe,
		.watch_process = watch_process,
		.ctx = pl,
	};
	err = openssl_detector_new(&pl->openssl, &env);
	if (err) {
		*ret_error = "out of memory";
		goto err_free;
	}
	*ret = pl;
	return 0;

err_free:
	pipeline_free(pl);
	return err;
}

void pipeline_start(struct pipeline *pl, const struct pipeline_watchers *watchers)
{
	pl->watchers = *watchers;
	if (openssl_detector_add_default_binaries(pl->openssl) == 0)
		log_warn("no openssl binary found in the usual places: copies of it will only be "
			 "seen through libcrypto's probe");
	proctable_seed_from_procfs(pl->pt);
	log_info("ENGINESDIR %s, MODULESDIR %s; %zu processes known", pl->trust.engines_dir,
		 pl->trust.modules_dir, proctable_size(pl->pt));
}

void pipeline_handle(const struct event *ev, void *ctx)
{
	struct pipeline *pl = ctx;
	struct proc *p;

	switch (ev->kind) {
	case EVENT_EXEC:
		p = proctable_exec(pl->pt, ev);
		break;
	case EVENT_FORK:
		p = proctable_fork(pl->pt, ev);
		break;
	case EVENT_EXIT:
		p = proctable_get(pl->pt, ev->pid);
		break;
	default:
		p = proctable_get_or_load(pl->pt, ev->pid);
	}
	if (p)
		openssl_detector_on_event(pl->openssl, p, ev);
	if (ev->kind == EVENT_EXIT)
		proctable_exit(pl->pt, ev->pid);
}

static void flush_process(struct proc *p, void *ctx)
{
	struct pipeline *pl = ctx;

	openssl_detector_flush(pl->openssl, p);
}

void pipeline_flush(struct pipeline *pl)
{
	proctable_for_each(pl->pt, flush_process, pl);
}

void pipeline_sweep(struct pipeline *pl)
{
	size_t swept = proctable_sweep(pl->pt, flush_process, pl);

	if (swept)
		log_debug("forgot %zu processes whose exit was not seen", swept);
}

void pipeline_set_event_drops(struct pipeline *pl, uint64_t drops)
{
	pl->event_drops = drops;
}

uint64_t pipeline_findings(const struct pipeline *pl)
{
	return pl->findings;
}

void pipeline_free(struct pipeline *pl)
{
	if (!pl)
		return;
	openssl_detector_free(pl->openssl);
	jsonl_output_close(pl->jsonl);
	proctable_free(pl->pt);
	free(pl);
}
