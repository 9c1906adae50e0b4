// SPDX-License-Identifier: Apache-2.0
#include "pipeline.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "detectors/added_library.h"
#include "detectors/openssl.h"
#include "detectors/trust.h"
#include "detectors/trust_identity.h"
#include "findings/job.h"
#include "findings/log_copy.h"
#include "findings/rules.h"
#include "findings/workers.h"
#include "keeper.h"
#include "metrics.h"
#include "outputs/delivery.h"
#include "outputs/outputs.h"
#include "proc/container.h"
#include "proc/procfile.h"
#include "proc/proctable.h"
#include "store/store.h"
#include "util/log.h"

#define FINDING_WORKERS 2
/* At a stop, how long outputs get to deliver what is pending (the rest waits in the store) */
#define FLUSH_DELIVERY_MS 3000
/* A user with this many findings waiting: the next ones are not hashed (no file kept open) */
#define MAX_HASHED_JOBS_PER_USER 256

struct pipeline {
	struct proctable *pt;
	struct finding_workers *workers;
	struct keeper *keeper;
	struct delivery *delivery;
	struct trust_policy trust;
	struct openssl_detector *openssl;
	struct added_library_detector *added_library;
	struct store *store;
	/* Rules; replaced by a reload while workers read them */
	pthread_rwlock_t config_lock;
	const struct config *config;
	char jsonl_override[PATH_MAX]; /* run --jsonl: wins over the configuration's; "" none */
	/* sowatch_findings_total, by category, severity and outcome */
	pthread_mutex_t tally_lock;
	struct metrics_findings tally[METRICS_MAX_FINDING_SERIES];
	size_t n_tally;
	struct finding_resource resource;
	struct pipeline_watchers watchers;
	uint64_t event_drops;	     /* the most any event said its source lost before it */
	uint64_t dropped_by_sources; /* told by EVENT_DROPPED (gVisor sandboxes) */
	struct sensor_gap last_gap;  /* the most recent time sowatch was not watching */
	uint64_t allowed;	     /* atomic: findings an allow rule dropped */
	uint64_t unserialized;	     /* atomic: findings lost before the keeper (out of memory) */
	uint64_t left_pending;	     /* findings still pending for an output at the stop */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Findings whose event came up to this long after the end of the most recent gap carry it: a
 * process that started, or was set up, while sowatch was blind shows up in this window (its
 * exec, parents or module may be missing from the picture).
 */
#define SENSOR_GAP_WINDOW_NS (10ULL * 60 * 1000000000)

/* The row the store keeps for a finding, pointing into f, res and line */
static struct store_finding store_row(const struct finding *f, const struct finding_resource *res,
				      const struct container_info *ctr, const struct strbuf *line,
				      char id[33])
{
	const struct proc *p = f->proc;

	finding_id(f, res->hostname, id);
	return (struct store_finding){
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
		.module_path = f->module.file.path,
		.module_sha256 = f->module.hash.hashed ? f->module.hash.digest.sha256 : NULL,
		.json = strbuf_str(line),
		.host = res->hostname, /* as sourceProperties.host says */
	};
}

/* Counts a finding for sowatch_findings_total; category and severity are static strings. */
static void tally(struct pipeline *pl, const char *category, const char *severity,
		  const char *outcome)
{
	size_t i;

	pthread_mutex_lock(&pl->tally_lock);
	for (i = 0; i < pl->n_tally; i++)
		if (strcmp(pl->tally[i].category, category) == 0 &&
		    strcmp(pl->tally[i].severity, severity) == 0 &&
		    strcmp(pl->tally[i].outcome, outcome) == 0)
			break;
	if (i == pl->n_tally && i < METRICS_MAX_FINDING_SERIES)
		pl->tally[pl->n_tally++] = (struct metrics_findings){ .category = category,
								      .severity = severity,
								      .outcome = outcome };
	if (i < pl->n_tally)
		pl->tally[i].count++;
	pthread_mutex_unlock(&pl->tally_lock);
}

/* On a finding worker: hash the finding's files, then keep it and tell it. */
static void deliver(struct finding_job *job, void *ctx)
{
	struct pipeline *pl = ctx;
	struct finding *f = &job->f;
	struct strbuf line = STRBUF_INIT;
	struct container_info ctr_storage, *ctr = NULL;
	struct rule_subject subject;
	bool allowed, muted;
	char id[33];
	int err;

	finding_job_hash(job);
	if (f->proc->container_id[0] &&
	    container_info_get(f->proc->container_id, NULL, &ctr_storage) == 0)
		ctr = &ctr_storage;
	subject = (struct rule_subject){
		.module_path = f->module.file.path,
		.module_sha256 = f->module.hash.hashed ? f->module.hash.digest.sha256 : NULL,
		.image = ctr ? ctr->image : NULL,
		.container_name = ctr ? ctr->name : NULL,
		.container_id = f->proc->container_id,
		.namespace = ctr ? ctr->namespace : NULL,
		.category = f->kind->category,
	};
	pthread_rwlock_rdlock(&pl->config_lock);
	/* An allow rule does not reach into the kernel: a kill is told all the same. */
	allowed = !f->enforcement.killed &&
		  rules_find(pl->config->allow, pl->config->n_allow, &subject) != NULL;
	muted = !allowed && rules_find(pl->config->mute, pl->config->n_mute, &subject);
	pthread_rwlock_unlock(&pl->config_lock);
	tally(pl, f->kind->category, f->severity,
	      allowed ? "allowed"
	      : muted ? "muted"
		      : "reported");
	if (allowed) {
		__atomic_add_fetch(&pl->allowed, 1, __ATOMIC_RELAXED);
		goto out;
	}
	f->mute = muted ? "MUTED" : "UNDEFINED";
	f->create_time_ns = now_ns();
	err = finding_to_json(f, &pl->resource, ctr, &line);
	if (!err) {
		struct store_finding row = store_row(f, &pl->resource, ctr, &line, id);
		struct log_copy copy;
		int copied = log_copy_take(ctr, f->event_time_ns, now_ns(), &copy);

		if (copied == 0)
			row.log = &copy.log;
		else if (copied != -ENOENT)
			log_warn("finding %s: its container's log was not copied: %s", id,
				 strerror(-copied));
		keeper_submit(pl->keeper, &row);
		if (copied == 0)
			log_copy_release(&copy);
	} else {
		log_error("cannot serialize a finding for pid %u: %s", f->proc->pid,
			  strerror(-err));
		__atomic_add_fetch(&pl->unserialized, 1, __ATOMIC_RELAXED);
	}
out:
	if (ctr)
		container_info_free(ctr);
	strbuf_release(&line);
	finding_job_free(job);
}

/* The most recent gap, if the finding's event came before it ended or within the window after. */
static struct sensor_gap sensor_gap_for(const struct pipeline *pl, uint64_t event_time_ns)
{
	const struct sensor_gap *gap = &pl->last_gap;

	if (gap->cause != SENSOR_GAP_NONE && event_time_ns <= gap->to_ns + SENSOR_GAP_WINDOW_NS)
		return *gap;
	return (struct sensor_gap){ .cause = SENSOR_GAP_NONE };
}

/*
 * On the event thread: hand the finding over to the workers. Its files are opened here (no
 * byte read), while the process that names them may still be there.
 */
static void report(const struct finding *f, void *ctx)
{
	struct pipeline *pl = ctx;
	bool open = finding_workers_queued(pl->workers, f->proc->uid) < MAX_HASHED_JOBS_PER_USER;
	struct finding_job *job =
	    finding_job_new(f, pl->pt, open, "too many of its user's findings were waiting");

	if (!job) {
		log_error("out of memory: a finding for pid %u is lost", f->proc->pid);
		__atomic_add_fetch(&pl->unserialized, 1, __ATOMIC_RELAXED);
		return;
	}
	job->f.event_drops = pl->event_drops + pl->dropped_by_sources;
	job->f.sensor_gap = sensor_gap_for(pl, f->event_time_ns);
	finding_workers_submit(pl->workers, job);
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
	char dpkg_info[64];
	const char *dirs[16];
	size_t n = 0;

	dirs[n++] = tp->engines_dir;
	dirs[n++] = tp->modules_dir;
	for (const char *const *d = tp->lib_dirs; d && *d && n < 15; d++)
		dirs[n++] = *d;
	dirs[n] = NULL;
	snprintf(dpkg_info, sizeof(dpkg_info), "%s/var/lib/dpkg/info", proc_host_root());
	return trust_identity_new(&tp->identity, dpkg_info, dirs);
}

static void findings_stored(void *ctx)
{
	struct pipeline *pl = ctx;

	delivery_wake(pl->delivery);
}

static void finding_refused(void *ctx, const struct output_finding *f)
{
	struct pipeline *pl = ctx;

	delivery_hold(pl->delivery, f);
}

/* Outputs and retention from cfg; the rules are read from it by the workers from now on. */
static int pipeline_configure(struct pipeline *pl, const struct config *cfg, const char **ret_error)
{
	static char error[PATH_MAX + 512];
	struct output *outs[OUTPUTS_MAX];
	size_t n = 0;
	const char *jsonl = pl->jsonl_override[0] ? pl->jsonl_override
			    : cfg->jsonl_path[0]  ? cfg->jsonl_path
						  : "-";
	int err = outputs_from_config(cfg, jsonl, pl->store, outs, &n, error, sizeof(error));

	if (err) {
		*ret_error = error;
		return err;
	}
	pthread_rwlock_wrlock(&pl->config_lock);
	pl->config = cfg;
	pthread_rwlock_unlock(&pl->config_lock);
	delivery_set_outputs(pl->delivery, outs, n);
	keeper_set_retention(pl->keeper, cfg->retention_days);
	return 0;
}

int pipeline_reconfigure(struct pipeline *pl, const struct config *cfg, const char **ret_error)
{
	return pipeline_configure(pl, cfg, ret_error);
}

void pipeline_reopen(struct pipeline *pl)
{
	delivery_reopen(pl->delivery);
}

int pipeline_new(struct pipeline **ret, const struct pipeline_options *opts, const char **ret_error)
{
	struct pipeline *pl = calloc(1, sizeof(*pl));
	struct detector_env env;
	int err;

	if (!pl)
		return -ENOMEM;
	pthread_rwlock_init(&pl->config_lock, NULL);
	pthread_mutex_init(&pl->tally_lock, NULL);
	pl->resource = opts->resource;
	if (opts->jsonl_path)
		snprintf(pl->jsonl_override, sizeof(pl->jsonl_override), "%s", opts->jsonl_path);
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
	env = (struct detector_env){
		.pt = pl->pt,
		.trust = &pl->trust,
		.report = report,
		.watch_exe = watch_exe,
		.watch_process = watch_process,
		.ctx = pl,
	};
	err = keeper_new(&pl->keeper, pl->store);
	if (err) {
		*ret_error = "cannot start the keeper of the store";
		goto err_free;
	}
	err = delivery_new(&pl->delivery, pl->store, pl->keeper);
	if (err) {
		*ret_error = "cannot start the delivery of findings";
		goto err_free;
	}
	keeper_listen(pl->keeper, &(struct keeper_listener){ .stored = findings_stored,
							     .refused = finding_refused,
							     .ctx = pl });
	err = pipeline_configure(pl, opts->config, ret_error);
	if (err)
		goto err_free;
	err = finding_workers_new(&pl->workers, FINDING_WORKERS, deliver, pl);
	if (err) {
		*ret_error = "cannot start the finding workers";
		goto err_free;
	}
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
	/* Events come in order, so every drop up to the event a finding is made from counts. */
	if (ev->drops_before > pl->event_drops)
		pl->event_drops = ev->drops_before;
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
	finding_workers_drain(pl->workers);
	keeper_drain(pl->keeper);
	pl->left_pending = delivery_drain(pl->delivery, FLUSH_DELIVERY_MS);
	/* No more deliveries: keeper_free() writes their last answers */
	delivery_stop(pl->delivery);
}

void pipeline_sweep(struct pipeline *pl)
{
	size_t swept = proctable_sweep(pl->pt, flush_process, pl);

	if (swept)
		log_debug("forgot %zu processes whose exit was not seen", swept);
}

void pipeline_note_gap(struct pipeline *pl, const struct sensor_gap *gap)
{
	char from[40], to[40];
	struct store_gap row = {
		.from_ns = (int64_t)gap->from_ns,
		.to_ns = (int64_t)gap->to_ns,
		.cause = sensor_gap_cause_name(gap->cause),
		.clean_stop = gap->clean_stop,
	};

	rfc3339(gap->from_ns, from);
	rfc3339(gap->to_ns, to);
	log_warn("sowatch was not watching from %s to %s (%llu s): %s", from, to,
		 (unsigned long long)((gap->to_ns - gap->from_ns + 500000000) / 1000000000),
		 gap->cause == SENSOR_GAP_STALLED
		     ? "stalled, its event loop made no progress (stopped, starved or blocked); "
		       "what the kernel queued meanwhile is read now"
		 : gap->clean_stop ? "not running, the previous run stopped cleanly"
				   : "not running, the previous run ended without a clean stop "
				     "(killed or crashed) after its last heartbeat");
	keeper_note_gap(pl->keeper, &row);
	pl->last_gap = *gap;
}

void pipeline_note_heartbeat(struct pipeline *pl, uint64_t now_ns)
{
	keeper_note_alive(pl->keeper, (int64_t)now_ns, false);
}

void pipeline_note_start(struct pipeline *pl, uint64_t now_ns)
{
	int64_t last_ns = 0;
	bool stopped = false;
	int err = store_get_alive(pl->store, &last_ns, &stopped);

	if (err == 0 && last_ns > 0 && (uint64_t)last_ns <= now_ns)
		pipeline_note_gap(pl, &(struct sensor_gap){ .cause = SENSOR_GAP_NOT_RUNNING,
							    .from_ns = (uint64_t)last_ns,
							    .to_ns = now_ns,
							    .clean_stop = stopped });
	else if (err == 0)
		log_warn("the previous run's last sign of life is later than now (the clock went "
			 "back): how long sowatch was not running is unknown");
	else if (err != -ENOENT)
		log_warn("cannot read when sowatch last watched: %s", strerror(-err));
	pipeline_note_heartbeat(pl, now_ns);
}

void pipeline_note_stop(struct pipeline *pl, uint64_t now_ns)
{
	/* Written before the store closes: pipeline_free() drains the keeper */
	keeper_note_alive(pl->keeper, (int64_t)now_ns, true);
}

void pipeline_stats(struct pipeline *pl, struct pipeline_stats *ret)
{
	struct keeper_stats ks;

	keeper_stats(pl->keeper, &ks);
	*ret = (struct pipeline_stats){
		.reported = ks.reported,
		.muted = ks.muted,
		.allowed = __atomic_load_n(&pl->allowed, __ATOMIC_RELAXED),
		.repeated = ks.repeated,
		.lost = ks.lost + __atomic_load_n(&pl->unserialized, __ATOMIC_RELAXED),
		.unstored = ks.unstored,
		.pending = pl->left_pending,
	};
}

void pipeline_metrics(struct pipeline *pl, struct metrics_snapshot *s)
{
	struct pipeline_stats st;

	pthread_mutex_lock(&pl->tally_lock);
	memcpy(s->findings, pl->tally, pl->n_tally * sizeof(pl->tally[0]));
	s->n_findings = pl->n_tally;
	pthread_mutex_unlock(&pl->tally_lock);
	s->n_outputs = delivery_stats(pl->delivery, s->outputs, METRICS_MAX_OUTPUTS);
	pipeline_stats(pl, &st);
	s->findings_unstored = st.unstored;
	s->findings_lost = st.lost;
}

void pipeline_free(struct pipeline *pl)
{
	if (!pl)
		return;
	/* Every finding made so far is kept and told before the store and outputs close */
	finding_workers_free(pl->workers);
	openssl_detector_free(pl->openssl);
	added_library_detector_free(pl->added_library);
	trust_identity_free(pl->trust.identity);
	/* Lanes first: their last answers go to the keeper, which writes them as it stops */
	delivery_stop(pl->delivery);
	keeper_free(pl->keeper);
	delivery_free(pl->delivery);
	store_close(pl->store);
	pthread_rwlock_destroy(&pl->config_lock);
	pthread_mutex_destroy(&pl->tally_lock);
	proctable_free(pl->pt);
	free(pl);
}
