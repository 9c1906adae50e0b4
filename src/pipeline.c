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
#include "detectors/trust_identity.h"
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
	uint64_t event_drops;	     /* the kernel's, as main last read them */
	uint64_t dropped_by_sources; /* told by EVENT_DROPPED (gVisor sandboxes) */
	struct pipeline_stats stats;
	struct unstored *unstored; /* newest first */
	size_t n_unstored;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define MAX_UNSTORED 10000 /* findings kept in memory while the store refuses them */

/* A finding the store could not take yet (busy, full disk): tried again every second. */
struct unstored {
	char *text[15]; /* owned copies of the row's strings, in store_finding's order */
	struct store_finding row;
	struct unstored *next;
};

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static void unstored_free(struct unstored *u)
{
	for (size_t i = 0; u && i < sizeof(u->text) / sizeof(u->text[0]); i++)
		free(u->text[i]);
	free(u);
}

static struct unstored *unstored_new(const struct store_finding *row)
{
	const char *const in[15] = { row->id,
				     row->category,
				     row->severity,
				     row->state,
				     row->mute,
				     row->container_id,
				     row->container_name,
				     row->image,
				     row->pod,
				     row->namespace,
				     row->binary_path,
				     row->module_path,
				     row->module_sha256,
				     row->json,
				     NULL };
	struct unstored *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	for (size_t i = 0; i < 14; i++)
		if (!(u->text[i] = dup_or_empty(in[i]))) {
			unstored_free(u);
			return NULL;
		}
	u->row = (struct store_finding){
		.id = u->text[0],
		.category = u->text[1],
		.severity = u->text[2],
		.state = u->text[3],
		.mute = u->text[4],
		.container_id = u->text[5],
		.container_name = u->text[6],
		.image = u->text[7],
		.pod = u->text[8],
		.namespace = u->text[9],
		.binary_path = u->text[10],
		.module_path = u->text[11],
		.module_sha256 = u->text[12],
		.json = u->text[13],
		.event_time_ns = row->event_time_ns,
		.create_time_ns = row->create_time_ns,
		.delivered_ns = row->delivered_ns,
	};
	return u;
}

/*
 * Keep it (store), then tell (outputs), then note that it was told: a finding stored but
 * not written (a crash in between, a failed write) is written at the next start; one the
 * store refused is written anyway and kept in memory until the store takes it.
 */
static void keep_and_tell(struct pipeline *pl, const struct finding *f,
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
	bool muted = strcmp(f->mute, "MUTED") == 0;
	int stored, err;

	finding_id(f, id);
	stored = store_insert(pl->store, &row);
	if (stored == 1) {
		pl->stats.repeated++;
		return;
	}
	if (stored < 0)
		log_error("cannot store finding %s now (%s): will retry", id, strerror(-stored));
	if (muted) {
		pl->stats.muted++;
	} else {
		err = jsonl_output_write(pl->jsonl, strbuf_str(line), line->len);
		if (err) {
			log_error(
			    "cannot write finding %s: %s; it will be written at the next start", id,
			    strerror(-err));
			pl->stats.failed++;
			if (stored == 0)
				return; /* stored, undelivered: resent at start */
		} else {
			pl->stats.reported++;
			row.delivered_ns = (int64_t)now_ns();
			if (stored == 0 &&
			    (err = store_mark_delivered(pl->store, id, row.delivered_ns)))
				log_warn("cannot note finding %s as written (%s): it may be "
					 "written again at the next start",
					 id, strerror(-err));
		}
	}
	if (stored < 0) {
		struct unstored *u = pl->n_unstored < MAX_UNSTORED ? unstored_new(&row) : NULL;

		if (!u) {
			log_error(
			    "finding %s cannot be kept for the store: it is in the output only",
			    id);
			return;
		}
		u->next = pl->unstored;
		pl->unstored = u;
		pl->n_unstored++;
	}
}

/* Try the store again with what it refused before. */
static void store_retry(struct pipeline *pl)
{
	struct unstored **link = &pl->unstored;

	while (*link) {
		struct unstored *u = *link;
		int err = store_insert(pl->store, &u->row);

		if (err < 0) {
			link = &u->next;
			continue;
		}
		*link = u->next;
		pl->n_unstored--;
		unstored_free(u);
	}
}

/* Findings stored by an earlier run but never written: write them now, oldest first. */
static int resend_one(const struct store_row *r, void *ctx)
{
	struct pipeline *pl = ctx;

	if (jsonl_output_write(pl->jsonl, r->json, strlen(r->json)))
		return -EIO;
	store_mark_delivered(pl->store, r->id, (int64_t)now_ns());
	pl->stats.resent++;
	return 0;
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
	copy.event_drops = pl->event_drops + pl->dropped_by_sources;
	copy.create_time_ns = now_ns();
	err = finding_to_json(&copy, &pl->resource, pl->pt, ctr, &line);
	if (!err) {
		keep_and_tell(pl, &copy, ctr, &line);
	} else {
		log_error("cannot serialize a finding for pid %u: %s", f->proc->pid,
			  strerror(-err));
		pl->stats.failed++;
	}
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

/* Trust by identity: the host's package database for what lies in the trusted directories */
static int trust_identity_setup(struct trust_policy *tp)
{
	const char *dirs[16];
	size_t n = 0;

	dirs[n++] = tp->engines_dir;
	dirs[n++] = tp->modules_dir;
	for (const char *const *d = tp->lib_dirs; d && *d && n < 15; d++)
		dirs[n++] = *d;
	dirs[n] = NULL;
	return trust_identity_new(&tp->identity, "/var/lib/dpkg/info", dirs);
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
	err = trust_identity_setup(&pl->trust);
	if (err) {
		*ret_error = "out of memory";
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
	err = jsonl_output_open(&pl->jsonl, opts->jsonl_path, ret_error);
	if (err)
		goto err_free;
	if (store_undelivered(pl->store, resend_one, pl) < 0)
		log_error("cannot write the findings an earlier run stored but never wrote");
	if (pl->stats.resent)
		log_info("wrote %llu findings an earlier run stored but never wrote",
			 (unsigned long long)pl->stats.resent);
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

const struct trust_policy *pipeline_trust(const struct pipeline *pl)
{
	return &pl->trust;
}

void pipeline_start(struct pipeline *pl, const struct pipeline_watchers *watchers)
{
	long entries;

	pl->watchers = *watchers;
	if (openssl_detector_add_default_binaries(pl->openssl) == 0)
		log_warn("no openssl binary found in the usual places: copies of it will only be "
			 "seen through libcrypto's probe");
	proctable_seed_from_procfs(pl->pt);
	log_info("ENGINESDIR %s, MODULESDIR %s; %zu processes known", pl->trust.engines_dir,
		 pl->trust.modules_dir, proctable_size(pl->pt));
	/* Now rather than at the first module: reading dpkg's database takes tens of ms */
	entries = trust_identity_preload(pl->trust.identity);
	if (entries >= 0)
		log_info("dpkg database: %ld files in the trusted directories", entries);
}

static void flush_process(struct proc *p, void *ctx)
{
	struct pipeline *pl = ctx;

	openssl_detector_flush(pl->openssl, p);
}

void pipeline_handle(const struct event *ev, void *ctx)
{
	struct pipeline *pl = ctx;
	struct proc *p;

	if (ev->ns && log_max_level >= LOG_DEBUG)
		log_debug("%s event %d ns %llx pid %u: %s", ev->source, ev->kind,
			  (unsigned long long)ev->ns, ev->pid,
			  ev->kind == EVENT_EXEC  ? (ev->exec.exe.path ? ev->exec.exe.path : "?")
			  : ev->kind == EVENT_MAP ? (ev->map.file.path ? ev->map.file.path : "?")
						  : "");
	if (ev->kind == EVENT_DROPPED) {
		pl->dropped_by_sources += ev->dropped.count;
		return;
	}
	if (ev->kind == EVENT_NS_GONE) {
		proctable_forget_ns(pl->pt, ev->ns, flush_process, pl);
		return;
	}
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
		p = proctable_get(pl->pt, ev->ns, ev->pid);
		break;
	default:
		p = proctable_get_or_load(pl->pt, ev->ns, ev->pid);
		/* A process whose start was lost: its source may still say where it runs */
		if (p && !p->container_id[0] && ev->container_id)
			snprintf(p->container_id, sizeof(p->container_id), "%s", ev->container_id);
	}
	if (p) {
		openssl_detector_on_event(pl->openssl, p, ev);
		added_library_detector_on_event(pl->added_library, p, ev);
	}
	if (ev->kind == EVENT_EXIT)
		proctable_exit(pl->pt, ev->ns, ev->pid);
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

void pipeline_tick(struct pipeline *pl)
{
	if (pl->unstored)
		store_retry(pl);
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
	trust_identity_free(pl->trust.identity);
	if (pl->unstored) {
		store_retry(pl);
		if (pl->n_unstored)
			log_error("%zu findings could not be stored; they were written to the "
				  "outputs only",
				  pl->n_unstored);
	}
	while (pl->unstored) {
		struct unstored *u = pl->unstored;

		pl->unstored = u->next;
		unstored_free(u);
	}
	jsonl_output_close(pl->jsonl);
	store_close(pl->store);
	proctable_free(pl->pt);
	free(pl);
}
