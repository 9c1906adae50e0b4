// SPDX-License-Identifier: Apache-2.0
#include "pipeline.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "detectors/added_library.h"
#include "detectors/openssl.h"
#include "detectors/trust.h"
#include "findings/rules.h"
#include "outputs/jsonl.h"
#include "proc/container.h"
#include "proc/proctable.h"
#include "store/store.h"
#include "util/log.h"

struct pipeline {
	struct proctable *pt;
	struct trust_policy trust;
	struct openssl_detector *openssl;
	struct added_library_detector *added_library;
	struct jsonl_output *jsonl;
	struct store *store;
	const struct config *config;
	struct finding_resource resource;
	struct pipeline_watchers watchers;
	uint64_t event_drops;
	struct pipeline_stats stats;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Keep it (store), then tell (outputs): a finding printed is a finding that survives a crash. */
static int keep_and_tell(struct pipeline *pl, const struct finding *f,
			 const struct container_info *ctr, const struct strbuf *line)
{
	char id[33];
	const struct proc *p = f->proc;
	struct store_finding row = {
		.id = id,
		.event_time_ns = (int64_t)f->event_time_ns,
		.create_time_ns = (int64_t)f->create_time_ns,
		.category = f->kind->category,
		.severity = f->severity,
		.state = "ACTIVE",
		.mute = f->mute,
		.container_id = p->container_id,
		.container_name = ctr ? ctr->name : NULL,
		.image = ctr ? ctr->image : NULL,
		.pod = ctr ? ctr->pod : NULL,
		.namespace = ctr ? ctr->namespace : NULL,
		.binary_path = p->exe.path,
		.module_path = f->module.path,
		.module_sha256 = f->module.hashed ? f->module.digest.sha256 : NULL,
		.json = strbuf_str(line),
	};
	int err;

	finding_id(f, id);
	err = store_insert(pl->store, &row);
	if (err == 1) {
		pl->stats.repeated++;
		return 0;
	}
	if (err < 0) /* still tell: losing it from the store must not lose it everywhere */
		log_error("cannot store finding %s: %s", id, strerror(-err));
	if (strcmp(f->mute, "MUTED") == 0) {
		pl->stats.muted++;
		return err;
	}
	if (jsonl_output_write(pl->jsonl, strbuf_str(line), line->len)) {
		log_error("cannot write finding %s: %s", id, strerror(errno));
		return -EIO;
	}
	pl->stats.reported++;
	return err;
}

static void report(const struct finding *f, void *ctx)
{
	struct pipeline *pl = ctx;
	struct finding copy = *f;
	struct strbuf line = STRBUF_INIT;
	struct container_info ctr_storage, *ctr = NULL;
	struct rule_subject subject;
	int err;

	if (f->proc->container_id[0] &&
	    container_info_get(f->proc->container_id, NULL, &ctr_storage) == 0)
		ctr = &ctr_storage;
	subject = (struct rule_subject){
		.module_path = f->module.path,
		.module_sha256 = f->module.hashed ? f->module.digest.sha256 : NULL,
		.image = ctr ? ctr->image : NULL,
		.container_name = ctr ? ctr->name : NULL,
		.container_id = f->proc->container_id,
		.namespace = ctr ? ctr->namespace : NULL,
		.category = f->kind->category,
	};
	if (rules_find(pl->config->allow, pl->config->n_allow, &subject)) {
		pl->stats.allowed++;
		goto out;
	}
	copy.mute =
	    rules_find(pl->config->mute, pl->config->n_mute, &subject) ? "MUTED" : "UNDEFINED";
	copy.event_drops = pl->event_drops;
	copy.create_time_ns = now_ns();
	err = finding_to_json(&copy, &pl->resource, pl->pt, ctr, &line);
	if (!err)
		err = keep_and_tell(pl, &copy, ctr, &line);
	else
		log_error("cannot serialize a finding for pid %u: %s", f->proc->pid,
			  strerror(-err));
	if (err)
		pl->stats.failed++;
out:
	if (ctr)
		container_info_free(ctr);
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
	pl->config = opts->config;
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
	err = store_open(&pl->store, opts->store_path, false, ret_error);
	if (err)
		goto err_free;
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
	if (!err)
		err = added_library_detector_new(&pl->added_library, &env);
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
		if (p && p->container_id[0]) {
			/* Read the container's settings while it is certainly alive. */
			struct container_info ctr;

			if (container_info_get(p->container_id, NULL, &ctr) == 0)
				container_info_free(&ctr);
		}
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
	if (p) {
		openssl_detector_on_event(pl->openssl, p, ev);
		added_library_detector_on_event(pl->added_library, p, ev);
	}
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

void pipeline_stats(const struct pipeline *pl, struct pipeline_stats *ret)
{
	*ret = pl->stats;
}

void pipeline_free(struct pipeline *pl)
{
	if (!pl)
		return;
	openssl_detector_free(pl->openssl);
	added_library_detector_free(pl->added_library);
	jsonl_output_close(pl->jsonl);
	store_close(pl->store);
	proctable_free(pl->pt);
	free(pl);
}
