// SPDX-License-Identifier: Apache-2.0
#include "keeper.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outputs/jsonl.h"
#include "util/log.h"

#define MAX_UNSTORED   10000 /* findings kept in memory while the store refuses them */
#define BATCH_MAX      512   /* findings per transaction */
#define RETRY_PERIOD_S 1
#define MAX_GAPS       64 /* gaps waiting for the store; more are in the log only */

/* A finding with owned copies of its row's strings */
struct kept {
	char *text[14]; /* in store_finding's order */
	struct store_finding row;
	int stored; /* store_insert()'s answer */
	struct kept *next;
};

struct keeper {
	struct store *store;
	struct jsonl_output *jsonl;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a finding came, or stop */
	pthread_cond_t idle; /* a batch was done */
	struct kept *head, *tail;
	/* Notes about sowatch itself, waiting to be written */
	bool alive_pending, alive_stopped;
	int64_t alive_ns;
	struct store_gap gaps[MAX_GAPS];
	size_t n_gaps;
	bool busy;
	bool stopping;
	struct keeper_stats stats;
	/* The keeper thread's own */
	struct kept *unstored; /* newest first */
	size_t n_unstored;
	bool alive_failing; /* the store refused the last sign of life (said once) */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void kept_free(struct kept *it)
{
	for (size_t i = 0; it && i < sizeof(it->text) / sizeof(it->text[0]); i++)
		free(it->text[i]);
	free(it);
}

static struct kept *kept_new(const struct store_finding *row)
{
	const char *const in[14] = {
		row->id,
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
	};
	struct kept *it = calloc(1, sizeof(*it));

	if (!it)
		return NULL;
	for (size_t i = 0; i < 14; i++)
		if (!(it->text[i] = strdup(in[i] ? in[i] : ""))) {
			kept_free(it);
			return NULL;
		}
	it->row = (struct store_finding){
		.id = it->text[0],
		.category = it->text[1],
		.severity = it->text[2],
		.state = it->text[3],
		.mute = it->text[4],
		.container_id = it->text[5],
		.container_name = it->text[6],
		.image = it->text[7],
		.pod = it->text[8],
		.namespace = it->text[9],
		.binary_path = it->text[10],
		.module_path = it->text[11],
		.module_sha256 = it->text[12],
		.json = it->text[13],
		.event_time_ns = row->event_time_ns,
		.create_time_ns = row->create_time_ns,
		.delivered_ns = row->delivered_ns,
	};
	return it;
}

/* Store the batch in one transaction: each finding's answer in its `stored` */
static void store_batch(struct keeper *k, struct kept *batch)
{
	int err = store_begin(k->store);

	for (struct kept *it = batch; it; it = it->next) {
		it->stored = err ? err : store_insert(k->store, &it->row);
		/* SQLite may have ended the transaction itself: the rest are not attempted */
		if (it->stored < 0 && !store_in_transaction(k->store))
			err = it->stored;
	}
	if (err) {
		store_rollback(k->store);
	} else if ((err = store_commit(k->store)) == 0) {
		return;
	}
	/* Rolled back: nothing new is stored (what was there already still is) */
	for (struct kept *it = batch; it; it = it->next)
		if (it->stored == 0)
			it->stored = err;
}

/* Note the written ones as written, in one transaction */
static void note_written(struct keeper *k, struct kept *batch)
{
	bool any = false;
	int err;

	for (struct kept *it = batch; it && !any; it = it->next)
		any = it->stored == 0 && it->row.delivered_ns;
	if (!any)
		return;
	err = store_begin(k->store);
	for (struct kept *it = batch; it && !err; it = it->next)
		if (it->stored == 0 && it->row.delivered_ns)
			err = store_mark_delivered(k->store, it->row.id, it->row.delivered_ns);
	if (!err)
		err = store_commit(k->store);
	else
		store_rollback(k->store);
	if (err)
		log_warn("cannot note %s findings as written (%s): they may be written again at "
			 "the next start",
			 batch->next ? "a batch of" : "the", strerror(-err));
}

/* Keep, tell, note told; then free the batch, or keep for the store what it refused */
static void keep_and_tell(struct keeper *k, struct kept *batch, struct keeper_stats *st)
{
	struct kept *next;

	store_batch(k, batch);
	for (struct kept *it = batch; it; it = it->next) {
		const char *id = it->row.id;
		int err;

		if (it->stored == 1) {
			st->repeated++;
			continue;
		}
		if (it->stored < 0)
			log_error("cannot store finding %s now (%s): will retry", id,
				  strerror(-it->stored));
		if (strcmp(it->row.mute, "MUTED") == 0) {
			st->muted++;
			continue;
		}
		err = jsonl_output_write(k->jsonl, it->row.json, strlen(it->row.json));
		if (err) {
			log_error(
			    "cannot write finding %s: %s; it will be written at the next start", id,
			    strerror(-err));
			st->failed++;
		} else {
			st->reported++;
			it->row.delivered_ns = (int64_t)now_ns();
		}
	}
	note_written(k, batch);
	for (struct kept *it = batch; it; it = next) {
		next = it->next;
		if (it->stored >= 0) {
			kept_free(it);
		} else if (k->n_unstored >= MAX_UNSTORED) {
			log_error("finding %s cannot be kept for the store: %s", it->row.id,
				  it->row.delivered_ns ? "it is in the output only" : "it is lost");
			kept_free(it);
		} else {
			it->next = k->unstored;
			k->unstored = it;
			k->n_unstored++;
		}
	}
}

/* Try the store again with what it refused before. */
static void store_retry(struct keeper *k)
{
	struct kept **link = &k->unstored;

	while (*link) {
		struct kept *it = *link;

		if (store_insert(k->store, &it->row) < 0) {
			link = &it->next;
			continue;
		}
		*link = it->next;
		k->n_unstored--;
		kept_free(it);
	}
}

/* Write the notes taken under lock: the gaps, then the last sign of life, in one transaction */
static void write_notes(struct keeper *k, const struct store_gap *gaps, size_t n_gaps, bool alive,
			int64_t alive_ns, bool stopped)
{
	int err = store_begin(k->store);

	for (size_t i = 0; i < n_gaps && !err; i++)
		err = store_insert_gap(k->store, &gaps[i]);
	if (!err && alive)
		err = store_set_alive(k->store, alive_ns, stopped);
	if (!err)
		err = store_commit(k->store);
	else
		store_rollback(k->store);
	if (err && n_gaps)
		log_error("cannot keep the time sowatch was not watching in the store: %s",
			  strerror(-err));
	if (err && alive && !k->alive_failing)
		log_warn("cannot note in the store that sowatch is watching (%s): after a crash, "
			 "the next run may not tell how long sowatch was blind",
			 strerror(-err));
	if (alive)
		k->alive_failing = err != 0;
}

static void *keeper_main(void *arg)
{
	struct keeper *k = arg;
	struct timespec next_retry = { 0 };

	pthread_mutex_lock(&k->lock);
	for (;;) {
		struct keeper_stats st = { 0 };
		struct kept *batch, *last;
		struct timespec now;
		size_t n = 1;

		/* What the store refused, once a second, however busy the keeper is */
		clock_gettime(CLOCK_REALTIME, &now);
		if (k->unstored && now.tv_sec >= next_retry.tv_sec) {
			pthread_mutex_unlock(&k->lock);
			store_retry(k);
			pthread_mutex_lock(&k->lock);
			next_retry.tv_sec = now.tv_sec + RETRY_PERIOD_S;
		}
		if (k->alive_pending || k->n_gaps) {
			struct store_gap gaps[MAX_GAPS];
			size_t n_gaps = k->n_gaps;
			bool alive = k->alive_pending, stopped = k->alive_stopped;
			int64_t alive_ns = k->alive_ns;

			memcpy(gaps, k->gaps, n_gaps * sizeof(gaps[0]));
			k->n_gaps = 0;
			k->alive_pending = false;
			k->busy = true;
			pthread_mutex_unlock(&k->lock);
			write_notes(k, gaps, n_gaps, alive, alive_ns, stopped);
			pthread_mutex_lock(&k->lock);
			k->busy = false;
			pthread_cond_broadcast(&k->idle);
			continue;
		}
		if (!k->head) {
			struct timespec until = { .tv_sec = now.tv_sec + RETRY_PERIOD_S };

			if (k->stopping)
				break;
			pthread_cond_timedwait(&k->wake, &k->lock, &until);
			continue;
		}
		batch = last = k->head;
		while (last->next && n < BATCH_MAX)
			last = last->next, n++;
		k->head = last->next;
		if (!k->head)
			k->tail = NULL;
		last->next = NULL;
		k->busy = true;
		pthread_mutex_unlock(&k->lock);
		keep_and_tell(k, batch, &st);
		pthread_mutex_lock(&k->lock);
		k->stats.reported += st.reported;
		k->stats.muted += st.muted;
		k->stats.repeated += st.repeated;
		k->stats.failed += st.failed;
		k->busy = false;
		pthread_cond_broadcast(&k->idle);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* Findings stored by an earlier run but never written: write them now, oldest first. */
static int resend_one(const struct store_row *r, void *ctx)
{
	struct keeper *k = ctx;

	if (jsonl_output_write(k->jsonl, r->json, strlen(r->json)))
		return -EIO;
	store_mark_delivered(k->store, r->id, (int64_t)now_ns());
	k->stats.resent++;
	return 0;
}

int keeper_new(struct keeper **ret, struct store *store, struct jsonl_output *jsonl)
{
	struct keeper *k = calloc(1, sizeof(*k));
	sigset_t all, old;
	int err;

	if (!k)
		return -ENOMEM;
	k->store = store;
	k->jsonl = jsonl;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->wake, NULL);
	pthread_cond_init(&k->idle, NULL);
	if (store_undelivered(store, resend_one, k) < 0)
		log_error("cannot write the findings an earlier run stored but never wrote");
	if (k->stats.resent)
		log_info("wrote %llu findings an earlier run stored but never wrote",
			 (unsigned long long)k->stats.resent);
	/* Signals are the main thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = -pthread_create(&k->thread, NULL, keeper_main, k);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		keeper_free(k);
		return err;
	}
	k->started = true;
	*ret = k;
	return 0;
}

int keeper_submit(struct keeper *k, const struct store_finding *row)
{
	struct kept *it = kept_new(row);

	if (!it) {
		log_error("out of memory: finding %s is lost", row->id);
		pthread_mutex_lock(&k->lock);
		k->stats.failed++;
		pthread_mutex_unlock(&k->lock);
		return -ENOMEM;
	}
	pthread_mutex_lock(&k->lock);
	if (k->tail)
		k->tail->next = it;
	else
		k->head = it;
	k->tail = it;
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

void keeper_note_alive(struct keeper *k, int64_t time_ns, bool stopped)
{
	pthread_mutex_lock(&k->lock);
	k->alive_pending = true;
	k->alive_ns = time_ns;
	k->alive_stopped = stopped;
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->lock);
}

void keeper_note_gap(struct keeper *k, const struct store_gap *gap)
{
	pthread_mutex_lock(&k->lock);
	if (k->n_gaps < MAX_GAPS)
		k->gaps[k->n_gaps++] = *gap;
	else
		log_error("too many gaps waiting for the store: this one is in the log only");
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->lock);
}

void keeper_drain(struct keeper *k)
{
	pthread_mutex_lock(&k->lock);
	while (k->head || k->busy || k->alive_pending || k->n_gaps)
		pthread_cond_wait(&k->idle, &k->lock);
	pthread_mutex_unlock(&k->lock);
}

void keeper_stats(struct keeper *k, struct keeper_stats *ret)
{
	pthread_mutex_lock(&k->lock);
	*ret = k->stats;
	pthread_mutex_unlock(&k->lock);
}

void keeper_free(struct keeper *k)
{
	if (!k)
		return;
	if (k->started) {
		keeper_drain(k);
		pthread_mutex_lock(&k->lock);
		k->stopping = true;
		pthread_cond_signal(&k->wake);
		pthread_mutex_unlock(&k->lock);
		pthread_join(k->thread, NULL);
	}
	if (k->unstored) {
		store_retry(k);
		if (k->n_unstored)
			log_error("%zu findings could not be stored; they were written to the "
				  "outputs only",
				  k->n_unstored);
	}
	while (k->unstored) {
		struct kept *it = k->unstored;

		k->unstored = it->next;
		kept_free(it);
	}
	pthread_cond_destroy(&k->wake);
	pthread_cond_destroy(&k->idle);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
