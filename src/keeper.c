// SPDX-License-Identifier: Apache-2.0
#include "keeper.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outputs/output.h"
#include "util/log.h"

#define UNSTORED_MAX_BYTES (8u << 20) /* findings held in memory while the store refuses them */
#define RECORDS_MAX	   20000      /* answers waiting for the store; more are given up */
#define BATCH_MAX	   512	      /* findings or answers per transaction */
#define RETRY_PERIOD_S	   1
#define PRUNE_PERIOD_S	   3600
#define MAX_GAPS	   64 /* gaps waiting for the store; more are in the log only */
#define MAX_OUTPUTS	   8
/* How long a write waits for a store lock someone else holds (the CLI's short writes) */
#define STORE_WRITE_WAIT_MS 10
#define NS_PER_DAY	    (86400LL * 1000000000)

/* An output's answer, with owned copies of its strings */
struct record {
	struct store_delivery d;
	char *id, *output, *error;
	keeper_done_fn done;
	void *ctx;
	struct record *next;
};

/* A finding with owned copies of its row's strings */
struct kept {
	char *text[15]; /* in store_finding's order */
	struct store_finding row;
	struct store_log log; /* row.log points here when the finding has one */
	char *log_text[3];    /* log's place, path and note */
	char *log_lines;
	size_t bytes;
	int stored;		/* store_insert()'s answer */
	struct record *answers; /* held: what outputs answered before the store took it */
	struct kept *next;
};

struct keeper {
	struct store *store;
	struct keeper_listener listener;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a finding, answer or note came, or stop */
	pthread_cond_t idle; /* a batch was done */
	struct kept *head, *tail;
	struct record *records, *records_tail;
	size_t n_records;
	char *outputs[MAX_OUTPUTS];
	size_t n_outputs;
	int retention_days;
	bool prune_due;
	/* Notes about sowatch itself, waiting to be written */
	bool alive_pending, alive_stopped;
	int64_t alive_ns;
	struct store_gap gaps[MAX_GAPS];
	size_t n_gaps;
	bool busy;
	bool stopping;
	struct keeper_stats stats;
	/* The keeper thread's own */
	struct kept *unstored; /* oldest first */
	size_t unstored_bytes;
	uint64_t n_unstored;  /* atomic: read by keeper_stats() */
	bool store_blocked;   /* the last write found the store's lock held: do not wait now */
	bool alive_failing;   /* the store refused the last sign of life (said once) */
	bool notes_failing;   /* under lock: the last notes were refused, tried again later */
	time_t notes_retry;   /* under lock: not before this (CLOCK_REALTIME seconds) */
	bool records_failing; /* the store refused answers (said once) */
	bool lost_told;	      /* the memory bound was reached (said once until it frees up) */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void record_free(struct record *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->output);
	free(r->error);
	free(r);
}

static void record_finish(struct record *r)
{
	if (r->done)
		r->done(r->ctx, r->output, r->id);
	record_free(r);
}

static void kept_free(struct kept *it)
{
	if (!it)
		return;
	for (size_t i = 0; i < sizeof(it->text) / sizeof(it->text[0]); i++)
		free(it->text[i]);
	for (size_t i = 0; i < sizeof(it->log_text) / sizeof(it->log_text[0]); i++)
		free(it->log_text[i]);
	free(it->log_lines);
	while (it->answers) {
		struct record *r = it->answers;

		it->answers = r->next;
		record_free(r);
	}
	free(it);
}

/* The keeper's own copy of a finding's log lines: 0 or -ENOMEM */
static int kept_log(struct kept *it, const struct store_log *log)
{
	const char *const in[3] = { log->place, log->path, log->note };

	for (size_t i = 0; i < 3; i++)
		if (!(it->log_text[i] = strdup(in[i] ? in[i] : "")))
			return -ENOMEM;
	it->log_lines = malloc(log->lines_len + 1);
	if (!it->log_lines)
		return -ENOMEM;
	if (log->lines_len)
		memcpy(it->log_lines, log->lines, log->lines_len);
	it->log = *log;
	it->log.place = it->log_text[0];
	it->log.path = it->log_text[1];
	it->log.note = it->log_text[2];
	it->log.lines = it->log_lines;
	it->bytes += log->lines_len;
	it->row.log = &it->log;
	return 0;
}

static struct kept *kept_new(const struct store_finding *row)
{
	const char *const in[15] = {
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
		row->host,
	};
	struct kept *it = calloc(1, sizeof(*it));

	if (!it)
		return NULL;
	for (size_t i = 0; i < 15; i++) {
		if (!(it->text[i] = strdup(in[i] ? in[i] : ""))) {
			kept_free(it);
			return NULL;
		}
		it->bytes += strlen(it->text[i]) + 1;
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
		.host = it->text[14],
		.event_time_ns = row->event_time_ns,
		.create_time_ns = row->create_time_ns,
	};
	if (row->log && kept_log(it, row->log)) {
		kept_free(it);
		return NULL;
	}
	return it;
}

static bool is_muted(const struct kept *it)
{
	return strcmp(it->row.mute, "MUTED") == 0;
}

/*
 * Every write transaction starts here. Once the store's lock was found held by someone else,
 * writes do not wait for it at all until one gets through: meanwhile findings go to memory and
 * on to the outputs at once, and the keeper never sits in a lock wait while findings queue.
 */
static int begin(struct keeper *k)
{
	int err;

	store_set_busy_timeout(k->store, k->store_blocked ? 0 : STORE_WRITE_WAIT_MS);
	err = store_begin(k->store);
	k->store_blocked = err == -EBUSY;
	return err;
}

/*
 * The finding's log copy, in a savepoint of its own: a copy the store refuses is told and
 * dropped, never the finding with it. (A store in trouble fails the finding's next write.)
 */
static void store_log_copy(struct keeper *k, struct kept *it)
{
	int err = store_savepoint(k->store);

	if (!err)
		err = store_insert_log(k->store, it->row.id, it->row.log);
	if (store_in_transaction(k->store))
		store_savepoint_end(k->store, !err);
	if (err)
		log_warn("finding %s: its container's log copy is not kept: %s", it->row.id,
			 strerror(-err));
}

/*
 * Stores one finding inside the open transaction: its row, a pending delivery row for each
 * output (none when muted), then what the outputs already answered while it was held.
 */
static int store_one(struct keeper *k, struct kept *it, char *const *outputs, size_t n)
{
	int err = store_savepoint(k->store);

	if (!err)
		err = store_insert(k->store, &it->row);
	/* 1: there already (a restart saw the same event), left as it is */
	if (err >= 0 && it->row.log)
		store_log_copy(k, it);
	for (size_t i = 0; i < n && !err && !is_muted(it); i++)
		err =
		    store_outbox_add(k->store, &(struct store_delivery){ .finding_id = it->row.id,
									 .output = outputs[i],
									 .state = STORE_PENDING });
	for (struct record *r = it->answers; r && !err; r = r->next) {
		err = store_outbox_update(k->store, &r->d);
		/* An output no longer configured has no row; a final answer stays: nothing to do */
		if (err == -ENOENT)
			err = 0;
	}
	/* Never the finding without its rows: a failure undoes this finding's writes whole */
	if (store_in_transaction(k->store))
		store_savepoint_end(k->store, err >= 0);
	return err;
}

/* The outputs as they are now, for one batch (the names stay valid: only this thread frees) */
static size_t outputs_now(struct keeper *k, char **names)
{
	size_t n;

	pthread_mutex_lock(&k->lock);
	n = k->n_outputs;
	for (size_t i = 0; i < n; i++)
		names[i] = strdup(k->outputs[i]);
	pthread_mutex_unlock(&k->lock);
	for (size_t i = 0; i < n; i++)
		if (!names[i])
			names[i] = "";
	return n;
}

static void outputs_release(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i][0])
			free(names[i]);
}

/* Store the list in one transaction: each finding's answer in its `stored` */
static void store_batch(struct keeper *k, struct kept *list)
{
	char *outputs[MAX_OUTPUTS];
	size_t n = outputs_now(k, outputs);
	int err = begin(k);

	for (struct kept *it = list; it; it = it->next) {
		it->stored = err ? err : store_one(k, it, outputs, n);
		/* SQLite may have ended the transaction itself: the rest are not attempted */
		if (it->stored < 0 && !store_in_transaction(k->store))
			err = it->stored;
	}
	outputs_release(outputs, n);
	if (err)
		store_rollback(k->store);
	else if ((err = store_commit(k->store)) == 0)
		return;
	/* Rolled back: nothing new is stored (what was there already still is) */
	for (struct kept *it = list; it; it = it->next)
		if (it->stored == 0)
			it->stored = err;
}

static struct output_finding output_finding_of(const struct kept *it)
{
	return (struct output_finding){
		.id = it->row.id,
		.json = it->row.json,
		.len = strlen(it->row.json),
		.severity = it->row.severity,
		.host = it->row.host,
		.event_time_ns = it->row.event_time_ns,
	};
}

/* Hold a finding the store refused, if the memory bound allows: false when it is lost */
static bool hold(struct keeper *k, struct kept *it)
{
	struct kept **tail = &k->unstored;

	/* The finding before its log copy: the copy goes first when memory is short */
	if (k->unstored_bytes + it->bytes > UNSTORED_MAX_BYTES && it->row.log) {
		log_warn("finding %s: its container's log copy is dropped (%d MiB of findings "
			 "wait for the store)",
			 it->row.id, UNSTORED_MAX_BYTES >> 20);
		it->bytes -= it->log.lines_len;
		it->row.log = NULL;
		free(it->log_lines);
		it->log_lines = NULL;
	}
	if (k->unstored_bytes + it->bytes > UNSTORED_MAX_BYTES)
		return false;
	while (*tail)
		tail = &(*tail)->next;
	it->next = NULL;
	*tail = it;
	k->unstored_bytes += it->bytes;
	__atomic_add_fetch(&k->n_unstored, 1, __ATOMIC_RELAXED);
	return true;
}

/* Keep the batch, then tell the lanes; hold what the store refused. */
static void keep_and_tell(struct keeper *k, struct kept *batch, struct keeper_stats *st)
{
	struct kept *next;
	bool any_stored = false;

	store_batch(k, batch);
	for (struct kept *it = batch; it; it = next) {
		next = it->next;
		if (it->stored == 1) {
			st->repeated++;
			kept_free(it);
			continue;
		}
		if (is_muted(it))
			st->muted++;
		else
			st->reported++;
		if (it->stored == 0) {
			any_stored = true;
			kept_free(it);
			continue;
		}
		log_error("cannot store finding %s now (%s): it is held in memory and delivered "
			  "from there; the store is tried again every second",
			  it->row.id, strerror(-it->stored));
		if (!is_muted(it) && k->listener.refused) {
			struct output_finding f = output_finding_of(it);

			k->listener.refused(k->listener.ctx, &f);
		}
		if (!hold(k, it)) {
			if (!k->lost_told)
				log_error("findings held for the store reached %u MiB: finding %s "
					  "and the next ones are not kept (outputs may still have "
					  "them)",
					  UNSTORED_MAX_BYTES >> 20, it->row.id);
			k->lost_told = true;
			st->lost++;
			kept_free(it);
		}
	}
	if (any_stored && k->listener.stored)
		k->listener.stored(k->listener.ctx);
}

/* Try the store again with what it refused before, oldest first, in one transaction. */
static void store_retry(struct keeper *k)
{
	struct kept *list = k->unstored, **link;
	size_t stored = 0;

	if (!list)
		return;
	store_batch(k, list);
	for (link = &k->unstored; *link;) {
		struct kept *it = *link;

		if (it->stored < 0) {
			link = &it->next;
			continue;
		}
		*link = it->next;
		k->unstored_bytes -= it->bytes;
		__atomic_sub_fetch(&k->n_unstored, 1, __ATOMIC_RELAXED);
		stored++;
		kept_free(it);
	}
	if (stored) {
		log_info("stored %zu findings the store had refused", stored);
		k->lost_told = false;
		if (k->listener.stored)
			k->listener.stored(k->listener.ctx);
	}
}

/* An answer about a finding held in memory goes with it, to be written when it is stored */
static bool attach_to_held(struct keeper *k, struct record *r)
{
	for (struct kept *it = k->unstored; it; it = it->next) {
		struct record **end = &it->answers;

		if (strcmp(it->row.id, r->id) != 0)
			continue;
		while (*end) /* in arrival order: a later answer is applied later */
			end = &(*end)->next;
		r->next = NULL;
		*end = r;
		return true;
	}
	return false;
}

/* Write the answers in one transaction; returns those the store refused (to try again). */
static struct record *write_records(struct keeper *k, struct record *list)
{
	struct record *done = NULL, **done_end = &done, *next;
	int err = begin(k);

	for (struct record *r = list; r; r = next) {
		next = r->next;
		if (attach_to_held(k, r)) {
			/* Kept with the finding: the lane may forget it */
			if (r->done)
				r->done(r->ctx, r->output, r->id);
			r->done = NULL;
			continue;
		}
		if (!err) {
			int e = store_outbox_update(k->store, &r->d);

			/* -ENOENT: pruned, or an output's row that never was: nothing to keep */
			if (e && e != -ENOENT && !store_in_transaction(k->store))
				err = e;
		}
		/* In arrival order, also when they are kept to be tried again */
		r->next = NULL;
		*done_end = r;
		done_end = &r->next;
	}
	if (!err)
		err = store_commit(k->store);
	else
		store_rollback(k->store);
	if (err) {
		if (!k->records_failing)
			log_warn("cannot write the outputs' answers to the store (%s): trying "
				 "again every second",
				 strerror(-err));
		k->records_failing = true;
		return done;
	}
	k->records_failing = false;
	for (struct record *r = done; r; r = next) {
		next = r->next;
		record_finish(r);
	}
	return NULL;
}

/* Write the notes taken under lock: the gaps, then the last sign of life, in one transaction */
static int write_notes(struct keeper *k, const struct store_gap *gaps, size_t n_gaps, bool alive,
		       int64_t alive_ns, bool stopped)
{
	int err = begin(k);

	for (size_t i = 0; i < n_gaps && !err; i++)
		err = store_insert_gap(k->store, &gaps[i]);
	if (!err && alive)
		err = store_set_alive(k->store, alive_ns, stopped);
	if (!err)
		err = store_commit(k->store);
	else
		store_rollback(k->store);
	if (err && n_gaps && !k->notes_failing)
		log_error("cannot keep the time sowatch was not watching in the store now (%s): "
			  "trying again every second",
			  strerror(-err));
	if (err && alive && !k->alive_failing)
		log_warn("cannot note in the store that sowatch is watching (%s): after a crash, "
			 "the next run may not tell how long sowatch was blind",
			 strerror(-err));
	if (alive)
		k->alive_failing = err != 0;
	return err;
}

/* One chunk of retention's work; true when there is more to do. */
static bool prune(struct keeper *k, int days, struct keeper_stats *st)
{
	char *outputs[MAX_OUTPUTS];
	size_t n = outputs_now(k, outputs);
	uint64_t deleted = 0;
	int err;

	store_set_busy_timeout(k->store, k->store_blocked ? 0 : STORE_WRITE_WAIT_MS);
	err = store_prune(k->store, now_ns() - days * NS_PER_DAY, (const char *const *)outputs, n,
			  &deleted);

	outputs_release(outputs, n);
	if (err)
		log_warn("retention: cannot prune the store now (%s): trying again in an hour",
			 strerror(-err));
	else if (deleted)
		log_info("retention: deleted %llu findings older than %d days that every "
			 "output has delivered",
			 (unsigned long long)deleted, days);
	st->pruned += deleted;
	/* A full chunk: more to do, one chunk per turn, between batches of findings */
	return !err && deleted == STORE_PRUNE_CHUNK;
}

/* At most RECORDS_MAX answers wait for the store; the oldest past that are given up */
static struct record *records_bound(struct record *list)
{
	size_t n = 0;

	for (struct record *r = list; r; r = r->next)
		n++;
	if (n > RECORDS_MAX)
		log_warn("%zu answers of the outputs wait for the store: the oldest %zu are given "
			 "up (those findings will be delivered again)",
			 n, n - RECORDS_MAX);
	while (n-- > RECORDS_MAX) {
		struct record *r = list;

		list = r->next;
		record_finish(r);
	}
	return list;
}

/* Records the keeper gave up on: the lanes forget them (the rows stay pending) */
static void records_give_up(struct record *list)
{
	for (struct record *next; list; list = next) {
		next = list->next;
		record_finish(list);
	}
}

static void stats_add(struct keeper_stats *to, const struct keeper_stats *st)
{
	to->reported += st->reported;
	to->muted += st->muted;
	to->repeated += st->repeated;
	to->lost += st->lost;
	to->pruned += st->pruned;
}

static void *keeper_main(void *arg)
{
	struct keeper *k = arg;
	struct record *retry_records = NULL;
	time_t next_retry = 0, next_prune = 0;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		struct keeper_stats st = { 0 };
		struct kept *batch, *last;
		struct timespec now;
		size_t n = 1;

		clock_gettime(CLOCK_REALTIME, &now);
		/* What the store refused, once a second, however busy the keeper is */
		if ((k->unstored || retry_records) && now.tv_sec >= next_retry) {
			struct record *again = retry_records;

			retry_records = NULL;
			pthread_mutex_unlock(&k->lock);
			store_retry(k);
			if (again)
				retry_records = write_records(k, again);
			pthread_mutex_lock(&k->lock);
			next_retry = now.tv_sec + RETRY_PERIOD_S;
		}
		if (!k->stopping &&
		    (k->prune_due || (k->retention_days && now.tv_sec >= next_prune))) {
			int days = k->retention_days;

			k->prune_due = false;
			next_prune = now.tv_sec + PRUNE_PERIOD_S;
			if (days) {
				bool more;

				pthread_mutex_unlock(&k->lock);
				more = prune(k, days, &st);
				pthread_mutex_lock(&k->lock);
				k->prune_due = k->prune_due || more;
				stats_add(&k->stats, &st);
				st = (struct keeper_stats){ 0 };
			}
		}
		if ((k->alive_pending || k->n_gaps) && now.tv_sec >= k->notes_retry) {
			struct store_gap gaps[MAX_GAPS];
			size_t n_gaps = k->n_gaps;
			bool alive = k->alive_pending, stopped = k->alive_stopped;
			int64_t alive_ns = k->alive_ns;
			int err;

			memcpy(gaps, k->gaps, n_gaps * sizeof(gaps[0]));
			k->n_gaps = 0;
			k->alive_pending = false;
			k->busy = true;
			pthread_mutex_unlock(&k->lock);
			err = write_notes(k, gaps, n_gaps, alive, alive_ns, stopped);
			pthread_mutex_lock(&k->lock);
			/* Refused (the store's lock held): kept, unless newer ones came, for later */
			k->notes_failing = err != 0;
			if (err) {
				size_t room = MAX_GAPS - k->n_gaps;

				n_gaps = n_gaps < room ? n_gaps : room;
				memmove(k->gaps + n_gaps, k->gaps, k->n_gaps * sizeof(gaps[0]));
				memcpy(k->gaps, gaps, n_gaps * sizeof(gaps[0]));
				k->n_gaps += n_gaps;
				if (alive && !k->alive_pending) {
					k->alive_pending = true;
					k->alive_ns = alive_ns;
					k->alive_stopped = stopped;
				}
				k->notes_retry = now.tv_sec + RETRY_PERIOD_S;
			}
			k->busy = false;
			pthread_cond_broadcast(&k->idle);
			continue;
		}
		if (k->records) {
			struct record *list = k->records, *refused, **end;

			k->records = k->records_tail = NULL;
			k->n_records = 0;
			k->busy = true;
			pthread_mutex_unlock(&k->lock);
			refused = write_records(k, list);
			/* Kept for the next try, up to a bound: past it, delivered again later */
			for (end = &retry_records; *end; end = &(*end)->next)
				;
			*end = refused;
			retry_records = records_bound(retry_records);
			pthread_mutex_lock(&k->lock);
			k->busy = false;
			pthread_cond_broadcast(&k->idle);
			/* On to a batch of findings: answers never hold them up */
		}
		if (!k->head) {
			struct timespec until = { .tv_sec = now.tv_sec + RETRY_PERIOD_S };

			if (k->records || (k->prune_due && !k->stopping) ||
			    ((k->alive_pending || k->n_gaps) && now.tv_sec >= k->notes_retry))
				continue;
			if (k->stopping)
				break;
			stats_add(&k->stats, &st);
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
		stats_add(&k->stats, &st);
		k->busy = false;
		pthread_cond_broadcast(&k->idle);
	}
	pthread_mutex_unlock(&k->lock);
	records_give_up(retry_records);
	return NULL;
}

int keeper_new(struct keeper **ret, struct store *store)
{
	struct keeper *k = calloc(1, sizeof(*k));
	sigset_t all, old;
	int err;

	if (!k)
		return -ENOMEM;
	k->store = store;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->wake, NULL);
	pthread_cond_init(&k->idle, NULL);
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

void keeper_listen(struct keeper *k, const struct keeper_listener *l)
{
	pthread_mutex_lock(&k->lock);
	k->listener = *l;
	pthread_mutex_unlock(&k->lock);
}

void keeper_set_outputs(struct keeper *k, const char *const *names, size_t n)
{
	char *copies[MAX_OUTPUTS] = { 0 };

	if (n > MAX_OUTPUTS)
		n = MAX_OUTPUTS;
	for (size_t i = 0; i < n; i++)
		copies[i] = strdup(names[i]);
	pthread_mutex_lock(&k->lock);
	for (size_t i = 0; i < k->n_outputs; i++)
		free(k->outputs[i]);
	k->n_outputs = 0;
	for (size_t i = 0; i < n; i++)
		if (copies[i])
			k->outputs[k->n_outputs++] = copies[i];
	pthread_mutex_unlock(&k->lock);
}

void keeper_set_retention(struct keeper *k, int days)
{
	pthread_mutex_lock(&k->lock);
	k->prune_due = days != k->retention_days || days;
	k->retention_days = days;
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->lock);
}

int keeper_submit(struct keeper *k, const struct store_finding *row)
{
	struct kept *it = kept_new(row);

	if (!it) {
		log_error("out of memory: finding %s is lost", row->id);
		pthread_mutex_lock(&k->lock);
		k->stats.lost++;
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

void keeper_record(struct keeper *k, const struct store_delivery *d, keeper_done_fn done, void *ctx)
{
	struct record *r = calloc(1, sizeof(*r));

	if (r) {
		r->id = strdup(d->finding_id);
		r->output = strdup(d->output);
		r->error = strdup(d->last_error ? d->last_error : "");
	}
	if (!r || !r->id || !r->output || !r->error) {
		record_free(r);
		log_error("out of memory: %s's answer about finding %s is not kept (it will be "
			  "delivered again)",
			  d->output, d->finding_id);
		if (done)
			done(ctx, d->output, d->finding_id);
		return;
	}
	r->d = *d;
	r->d.finding_id = r->id;
	r->d.output = r->output;
	r->d.last_error = r->error;
	r->done = done;
	r->ctx = ctx;
	pthread_mutex_lock(&k->lock);
	if (k->n_records >= RECORDS_MAX) {
		pthread_mutex_unlock(&k->lock);
		log_warn("too many answers wait for the store: %s's about %s is not kept (it will "
			 "be delivered again)",
			 d->output, d->finding_id);
		record_finish(r);
		return;
	}
	if (k->records_tail)
		k->records_tail->next = r;
	else
		k->records = r;
	k->records_tail = r;
	k->n_records++;
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->lock);
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
	/* Not the outputs' answers: lanes working through a backlog make them without end */
	while (k->head || k->busy || ((k->alive_pending || k->n_gaps) && !k->notes_failing))
		pthread_cond_wait(&k->idle, &k->lock);
	pthread_mutex_unlock(&k->lock);
}

void keeper_stats(struct keeper *k, struct keeper_stats *ret)
{
	pthread_mutex_lock(&k->lock);
	*ret = k->stats;
	pthread_mutex_unlock(&k->lock);
	ret->unstored = __atomic_load_n(&k->n_unstored, __ATOMIC_RELAXED);
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
		size_t left = 0;

		store_retry(k);
		for (struct kept *it = k->unstored; it; it = it->next)
			left++;
		if (left)
			log_error("%zu findings could not be stored; they reached the outputs "
				  "from memory only",
				  left);
	}
	while (k->unstored) {
		struct kept *it = k->unstored;

		k->unstored = it->next;
		kept_free(it);
	}
	records_give_up(k->records);
	for (size_t i = 0; i < k->n_outputs; i++)
		free(k->outputs[i]);
	pthread_cond_destroy(&k->wake);
	pthread_cond_destroy(&k->idle);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
