// SPDX-License-Identifier: Apache-2.0
#include "outputs/delivery.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keeper.h"
#include "metrics.h"
#include "store/store.h"
#include "util/log.h"

#define MAX_LANES	   METRICS_MAX_OUTPUTS
#define PAGE		   16		   /* pending rows read from the store at once */
#define HELD_MAX_BYTES	   (2u << 20)	   /* per lane: findings the store refused, in memory */
#define IDLE_LOOK_MS	   1000		   /* an idle lane looks at the store this often anyway */
#define BACKOFF_FIRST_MS   500		   /* the first retry; doubled each time ... */
#define BACKOFF_MAX_MS	   30000	   /* ... up to this */
#define RETRY_AFTER_MAX_MS (3600 * 1000LL) /* a receiver's Retry-After, at most */
#define BACKLOG_PERIOD_MS  2000		   /* how often pending figures are counted */
#define ID_MAX		   65

/* A finding to deliver, owned by the lane */
struct item {
	char id[ID_MAX];
	char severity[16];
	char host[256];
	char *json;
	size_t len;
	int64_t event_time_ns;
	int64_t attempts, next_try_ns;
	struct item *next;
};

struct lane {
	struct delivery *d;
	struct output *out;
	char name[32];
	pthread_t thread;
	pthread_cond_t wake;
	volatile int stopping;
	int reopen;	     /* atomic: SIGUSR1 asked for a reopen (done on the lane's thread) */
	bool exited;	     /* the thread is done: join it */
	struct store *store; /* the lane's own read-only connection */
	/* Under d->lock */
	struct item *held, *held_tail; /* from delivery_hold(): the store refused them */
	size_t held_bytes;
	uint64_t wake_gen;	     /* the delivery's wake generation the lane last looked at */
	bool idle;		     /* waiting, with nothing pending it could take */
	char (*unconfirmed)[ID_MAX]; /* answered, not yet written by the keeper: not taken again */
	size_t n_unconfirmed, cap_unconfirmed;
	uint64_t confirmed; /* answers written so far: a page read meanwhile may be stale */
	struct metrics_output stats;
	struct lane *next;
};

struct delivery {
	struct store *store; /* the keeper's: lanes open their readers from it */
	struct keeper *keeper;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a lane went idle or exited */
	uint64_t wake_gen;	/* bumped by every wake and hold */
	struct lane *lanes;	/* running ones */
	struct lane *retired;	/* stopping; joined once they exited */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void item_free(struct item *it)
{
	if (it)
		free(it->json);
	free(it);
}

static struct item *item_new(const struct output_finding *f)
{
	struct item *it = calloc(1, sizeof(*it));

	if (!it || !(it->json = malloc(f->len + 1))) {
		free(it);
		return NULL;
	}
	snprintf(it->id, sizeof(it->id), "%s", f->id);
	snprintf(it->severity, sizeof(it->severity), "%s", f->severity ? f->severity : "");
	snprintf(it->host, sizeof(it->host), "%s", f->host ? f->host : "");
	memcpy(it->json, f->json, f->len);
	it->json[f->len] = '\0';
	it->len = f->len;
	it->event_time_ns = f->event_time_ns;
	return it;
}

/* Under d->lock */
static bool is_unconfirmed(const struct lane *l, const char *id)
{
	for (size_t i = 0; i < l->n_unconfirmed; i++)
		if (strcmp(l->unconfirmed[i], id) == 0)
			return true;
	for (const struct item *it = l->held; it; it = it->next)
		if (strcmp(it->id, id) == 0)
			return true;
	return false;
}

/* Under d->lock */
static void unconfirmed_add(struct lane *l, const char *id)
{
	if (l->n_unconfirmed == l->cap_unconfirmed) {
		size_t cap = l->cap_unconfirmed ? 2 * l->cap_unconfirmed : 16;
		void *grown = realloc(l->unconfirmed, cap * sizeof(*l->unconfirmed));

		if (!grown)
			return; /* then it may be delivered twice: at least once still holds */
		l->unconfirmed = grown;
		l->cap_unconfirmed = cap;
	}
	snprintf(l->unconfirmed[l->n_unconfirmed++], ID_MAX, "%s", id);
}

/*
 * The keeper wrote the answer: the lane may see the row again (it is no longer pending). The
 * lane is found by name, as it may have stopped since (a reload): then there is nothing to do.
 */
static void answer_written(void *ctx, const char *output, const char *id)
{
	struct delivery *d = ctx;
	struct lane *l;

	pthread_mutex_lock(&d->lock);
	for (l = d->lanes; l && strcmp(l->name, output) != 0; l = l->next)
		;
	for (size_t i = 0; l && i < l->n_unconfirmed; i++) {
		if (strcmp(l->unconfirmed[i], id) != 0)
			continue;
		memmove(l->unconfirmed[i], l->unconfirmed[i + 1],
			(l->n_unconfirmed - i - 1) * sizeof(*l->unconfirmed));
		l->n_unconfirmed--;
		break;
	}
	if (l) {
		l->confirmed++;
		pthread_cond_broadcast(&l->wake);
	}
	pthread_mutex_unlock(&d->lock);
}

/* Reading a page of pending rows: the first the lane may take */
struct page_pick {
	struct lane *l;
	struct item *item;
	int64_t last_seq;
	int rows;
};

static int pick_row(const struct store_pending *p, void *ctx)
{
	struct page_pick *pp = ctx;
	bool taken;

	pp->rows++;
	pp->last_seq = p->seq;
	pthread_mutex_lock(&pp->l->d->lock);
	taken = is_unconfirmed(pp->l, p->id);
	pthread_mutex_unlock(&pp->l->d->lock);
	if (taken)
		return 0;
	pp->item = item_new(&(struct output_finding){ .id = p->id,
						      .json = p->json,
						      .len = strlen(p->json),
						      .severity = p->severity,
						      .host = p->host,
						      .event_time_ns = p->event_time_ns });
	if (!pp->item)
		return -ENOMEM;
	pp->item->attempts = p->attempts;
	pp->item->next_try_ns = p->next_try_ns;
	return 1;
}

/*
 * The next finding for the lane: one held in memory first (the store refused it, so it is
 * the newest news), else the next pending row after *cursor. NULL when there is none.
 */
static struct item *next_item(struct lane *l, int64_t *cursor)
{
	struct item *it;

	pthread_mutex_lock(&l->d->lock);
	it = l->held;
	if (it) {
		l->held = it->next;
		if (!l->held)
			l->held_tail = NULL;
		l->held_bytes -= it->len;
		it->next = NULL;
		/* Until its answer is written, it must not be taken from the store too */
		unconfirmed_add(l, it->id);
	}
	pthread_mutex_unlock(&l->d->lock);
	if (it)
		return it;
	for (;;) {
		struct page_pick pp = { .l = l };
		uint64_t confirmed;
		bool stale;
		int err;

		pthread_mutex_lock(&l->d->lock);
		confirmed = l->confirmed;
		pthread_mutex_unlock(&l->d->lock);
		err = store_outbox_pending(l->store, l->name, *cursor, PAGE, pick_row, &pp);
		/*
		 * An answer written while the page was read: the read's snapshot may predate it and
		 * show as pending a finding that was just delivered, and no longer unconfirmed. Read
		 * again, from a snapshot that has it.
		 */
		pthread_mutex_lock(&l->d->lock);
		stale = l->confirmed != confirmed;
		pthread_mutex_unlock(&l->d->lock);
		if (stale && pp.item) {
			item_free(pp.item);
			continue;
		}
		if (err < 0) {
			log_warn("output %s: cannot read the store's pending findings: %s", l->name,
				 strerror(-err));
			return NULL;
		}
		if (pp.item) {
			*cursor = pp.last_seq;
			pthread_mutex_lock(&l->d->lock);
			unconfirmed_add(l, pp.item->id);
			pthread_mutex_unlock(&l->d->lock);
			return pp.item;
		}
		if (pp.rows < PAGE)
			return NULL;
		*cursor = pp.last_seq;
	}
}

/* Capped exponential backoff with jitter: between half and all of the doubled wait */
static int64_t backoff_ms(int64_t failures)
{
	int64_t ms = BACKOFF_FIRST_MS;

	for (int64_t i = 1; i < failures && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	return ms / 2 + (int64_t)(random() % (ms / 2 + 1));
}

/* Sleeps until until_ns (CLOCK_REALTIME) or stop; false when stopping. */
static bool lane_sleep(struct lane *l, int64_t until_ns)
{
	pthread_mutex_lock(&l->d->lock);
	while (!l->stopping) {
		struct timespec ts = { .tv_sec = until_ns / 1000000000,
				       .tv_nsec = until_ns % 1000000000 };

		if (now_ns() >= until_ns)
			break;
		pthread_cond_timedwait(&l->wake, &l->d->lock, &ts);
	}
	pthread_mutex_unlock(&l->d->lock);
	return !l->stopping;
}

static void record(struct lane *l, const struct item *it, enum store_delivery_state state,
		   const char *error)
{
	keeper_record(l->d->keeper,
		      &(struct store_delivery){ .finding_id = it->id,
						.output = l->name,
						.state = state,
						.attempts = it->attempts,
						.next_try_ns = it->next_try_ns,
						.last_error = error,
						.done_ns = state == STORE_PENDING ? 0 : now_ns() },
		      /* Only a final answer lets the lane see the row again: after a retry's
		       * answer the finding is still the lane's own */
		      state == STORE_PENDING ? NULL : answer_written, l->d);
}

/* Sends it until the output takes it, refuses it for good, or the lane stops. */
static void deliver_item(struct lane *l, struct item *it, int64_t *failures, int64_t *failing_since)
{
	const struct output_finding f = { .id = it->id,
					  .json = it->json,
					  .len = it->len,
					  .severity = it->severity,
					  .host = it->host,
					  .event_time_ns = it->event_time_ns };

	for (;;) {
		struct output_result res;
		int64_t wait_ms, max_ns = now_ns() + BACKOFF_MAX_MS * 1000000LL;

		/* A wait set by an earlier run is kept, but never longer than the backoff cap */
		if (it->next_try_ns &&
		    !lane_sleep(l, it->next_try_ns < max_ns ? it->next_try_ns : max_ns))
			break;
		/* The output is only ever touched from its lane's thread */
		if (__atomic_exchange_n(&l->reopen, 0, __ATOMIC_ACQ_REL) && l->out->ops->reopen)
			l->out->ops->reopen(l->out);
		l->out->ops->send(l->out, &f, &l->stopping, &res);
		it->attempts++;
		if (res.answer == OUTPUT_SENT) {
			record(l, it, STORE_DELIVERED, NULL);
			if (*failures)
				log_info("output %s: delivering again, after %lld s of failures",
					 l->name,
					 (long long)((now_ns() - *failing_since) / 1000000000));
			*failures = 0;
			pthread_mutex_lock(&l->d->lock);
			l->stats.delivered++;
			pthread_mutex_unlock(&l->d->lock);
			return;
		}
		if (res.answer == OUTPUT_FAILED) {
			it->next_try_ns = 0;
			record(l, it, STORE_FAILED, res.error);
			log_error(
			    "output %s: finding %s can never be delivered (%s): marked failed, "
			    "not tried again",
			    l->name, it->id, res.error);
			pthread_mutex_lock(&l->d->lock);
			l->stats.failed++;
			pthread_mutex_unlock(&l->d->lock);
			return;
		}
		if (!*failures) {
			*failing_since = now_ns();
			log_warn("output %s: cannot deliver now (%s): findings wait in the store, "
				 "tried again with backoff",
				 l->name, res.error);
		}
		++*failures;
		wait_ms = backoff_ms(*failures);
		/* The receiver's wait, but never less than the first backoff: "0" must not spin */
		if (res.retry_after_ms >= 0)
			wait_ms = res.retry_after_ms < BACKOFF_FIRST_MS	    ? BACKOFF_FIRST_MS
				  : res.retry_after_ms < RETRY_AFTER_MAX_MS ? res.retry_after_ms
									    : RETRY_AFTER_MAX_MS;
		it->next_try_ns = now_ns() + wait_ms * 1000000;
		record(l, it, STORE_PENDING, res.error);
		pthread_mutex_lock(&l->d->lock);
		l->stats.retries++;
		pthread_mutex_unlock(&l->d->lock);
		if (l->stopping)
			break;
		/* Retry-After is waited exactly; our own backoff too (it is not capped by the row) */
		if (!lane_sleep(l, it->next_try_ns))
			break;
		it->next_try_ns = 0;
	}
	/* Stopping: the row stays pending with what was recorded, for the next run */
}

/* Pending figures, from the store and memory */
static void count_backlog(struct lane *l)
{
	uint64_t pending = 0;
	int64_t oldest = 0;
	size_t held = 0;

	if (store_outbox_backlog(l->store, l->name, &pending, &oldest) < 0)
		return;
	pthread_mutex_lock(&l->d->lock);
	for (struct item *it = l->held; it; it = it->next) {
		held++;
		if (!oldest || it->event_time_ns < oldest)
			oldest = it->event_time_ns;
	}
	l->stats.pending = pending + held;
	l->stats.oldest_pending_age_s = oldest ? (double)(now_ns() - oldest) / 1e9 : 0;
	pthread_mutex_unlock(&l->d->lock);
}

static void *lane_main(void *arg)
{
	struct lane *l = arg;
	int64_t cursor = 0, failures = 0, failing_since = 0;
	uint64_t last_count = 0;

	while (!l->stopping) {
		uint64_t gen;
		struct item *it;

		pthread_mutex_lock(&l->d->lock);
		gen = l->d->wake_gen;
		pthread_mutex_unlock(&l->d->lock);
		if (monotonic_ms() - last_count >= BACKLOG_PERIOD_MS) {
			count_backlog(l);
			last_count = monotonic_ms();
		}
		it = next_item(l, &cursor);
		if (it) {
			deliver_item(l, it, &failures, &failing_since);
			item_free(it);
			continue;
		}
		/* Nothing to take: wait for news, and look at the whole outbox again */
		cursor = 0;
		pthread_mutex_lock(&l->d->lock);
		if (gen == l->d->wake_gen && !l->held && !l->stopping) {
			int64_t until = now_ns() + IDLE_LOOK_MS * 1000000LL;
			struct timespec ts = { .tv_sec = until / 1000000000,
					       .tv_nsec = until % 1000000000 };

			l->idle = true;
			l->wake_gen = gen;
			pthread_cond_broadcast(&l->d->changed);
			pthread_cond_timedwait(&l->wake, &l->d->lock, &ts);
			l->idle = false;
		}
		pthread_mutex_unlock(&l->d->lock);
	}
	pthread_mutex_lock(&l->d->lock);
	l->exited = true;
	pthread_cond_broadcast(&l->d->changed);
	pthread_mutex_unlock(&l->d->lock);
	return NULL;
}

static void lane_free(struct lane *l)
{
	if (!l)
		return;
	while (l->held) {
		struct item *it = l->held;

		l->held = it->next;
		item_free(it);
	}
	if (l->out)
		l->out->ops->free(l->out);
	store_close(l->store);
	pthread_cond_destroy(&l->wake);
	free(l->unconfirmed);
	free(l);
}

static struct lane *lane_start(struct delivery *d, struct output *out)
{
	struct lane *l = calloc(1, sizeof(*l));
	const char *error = "";
	sigset_t all, old;
	int err;

	if (!l) {
		log_error("output %s: out of memory: it is not started", out->ops->name);
		out->ops->free(out);
		return NULL;
	}
	l->d = d;
	l->out = out;
	snprintf(l->name, sizeof(l->name), "%s", out->ops->name);
	snprintf(l->stats.name, sizeof(l->stats.name), "%s", l->name);
	pthread_cond_init(&l->wake, NULL);
	err = store_open_reader(&l->store, d->store, &error);
	if (err) {
		log_error("output %s: %s: it is not started", l->name, error);
		lane_free(l);
		return NULL;
	}
	/* Signals are the main thread's; the output's own threads (curl's resolver) inherit this */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&l->thread, NULL, lane_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		log_error("output %s: cannot start its thread: %s", l->name, strerror(err));
		lane_free(l);
		return NULL;
	}
	return l;
}

/* Under d->lock: ask a lane to stop and move it to the retired list */
static void lane_retire(struct delivery *d, struct lane *l)
{
	l->stopping = 1;
	pthread_cond_broadcast(&l->wake);
	l->next = d->retired;
	d->retired = l;
}

/* Joins the retired lanes that are done; with wait, all of them. */
static void reap(struct delivery *d, bool wait)
{
	pthread_mutex_lock(&d->lock);
	for (struct lane **link = &d->retired; *link;) {
		struct lane *l = *link;

		while (wait && !l->exited)
			pthread_cond_wait(&d->changed, &d->lock);
		if (!l->exited) {
			link = &l->next;
			continue;
		}
		*link = l->next;
		pthread_mutex_unlock(&d->lock);
		pthread_join(l->thread, NULL);
		lane_free(l);
		pthread_mutex_lock(&d->lock);
		link = &d->retired;
	}
	pthread_mutex_unlock(&d->lock);
}

int delivery_new(struct delivery **ret, struct store *store, struct keeper *keeper)
{
	struct delivery *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->store = store;
	d->keeper = keeper;
	srandom(
	    (unsigned int)(now_ns() ^ getpid())); /* backoff jitter: lanes of many hosts differ */
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->changed, NULL);
	*ret = d;
	return 0;
}

void delivery_set_outputs(struct delivery *d, struct output **outputs, size_t n)
{
	struct lane *chosen[MAX_LANES], **tail;
	const char *names[MAX_LANES];
	size_t n_chosen = 0;

	reap(d, false);
	/* Running lanes stay on d->lanes meanwhile: answers and held findings still reach them */
	for (size_t i = 0; i < n; i++) {
		struct output *out = outputs[i];
		struct lane *l;

		if (n_chosen == MAX_LANES) {
			log_error("output %s: too many outputs, not started", out->ops->name);
			out->ops->free(out);
			continue;
		}
		pthread_mutex_lock(&d->lock);
		for (l = d->lanes; l && strcmp(l->name, out->ops->name) != 0; l = l->next)
			;
		if (l && strcmp(l->out->settings, out->settings) != 0) {
			log_info("output %s: settings changed: restarting it", l->name);
			l = NULL;
		}
		pthread_mutex_unlock(&d->lock);
		if (l) {
			out->ops->free(out); /* the same output: it goes on as it was */
		} else if (!(l = lane_start(d, out))) {
			continue;
		}
		chosen[n_chosen++] = l;
	}
	pthread_mutex_lock(&d->lock);
	while (d->lanes) {
		struct lane *l = d->lanes;
		bool kept = false, replaced = false;

		d->lanes = l->next;
		for (size_t i = 0; i < n_chosen; i++) {
			kept = kept || chosen[i] == l;
			replaced = replaced || strcmp(chosen[i]->name, l->name) == 0;
		}
		if (kept)
			continue;
		if (!replaced)
			log_info("output %s: removed from the configuration: stopping it (its "
				 "pending findings stay in the store)",
				 l->name);
		lane_retire(d, l);
	}
	tail = &d->lanes;
	for (size_t i = 0; i < n_chosen; i++) {
		chosen[i]->next = NULL;
		*tail = chosen[i];
		tail = &chosen[i]->next;
		names[i] = chosen[i]->name;
	}
	pthread_mutex_unlock(&d->lock);
	keeper_set_outputs(d->keeper, names, n_chosen);
}

void delivery_wake(struct delivery *d)
{
	pthread_mutex_lock(&d->lock);
	d->wake_gen++;
	for (struct lane *l = d->lanes; l; l = l->next)
		pthread_cond_broadcast(&l->wake);
	pthread_mutex_unlock(&d->lock);
}

void delivery_hold(struct delivery *d, const struct output_finding *f)
{
	pthread_mutex_lock(&d->lock);
	d->wake_gen++;
	for (struct lane *l = d->lanes; l; l = l->next) {
		struct item *it;

		/* Past the bound, it waits for the store like any other */
		if (l->held_bytes + f->len > HELD_MAX_BYTES)
			continue;
		it = item_new(f);
		if (!it)
			continue;
		if (l->held_tail)
			l->held_tail->next = it;
		else
			l->held = it;
		l->held_tail = it;
		l->held_bytes += it->len;
		pthread_cond_broadcast(&l->wake);
	}
	pthread_mutex_unlock(&d->lock);
}

void delivery_reopen(struct delivery *d)
{
	pthread_mutex_lock(&d->lock);
	for (struct lane *l = d->lanes; l; l = l->next)
		__atomic_store_n(&l->reopen, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->lock);
}

uint64_t delivery_drain(struct delivery *d, int timeout_ms)
{
	struct timespec until;
	uint64_t pending = 0;
	bool all_idle = false;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	while (!all_idle) {
		all_idle = true;
		for (struct lane *l = d->lanes; l; l = l->next)
			if (!l->idle || l->wake_gen != d->wake_gen || l->held || l->n_unconfirmed)
				all_idle = false;
		if (!all_idle && pthread_cond_timedwait(&d->changed, &d->lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&d->lock);
	for (struct lane *l = d->lanes; l; l = l->next) {
		count_backlog(l);
		pending += l->stats.pending;
	}
	return pending;
}

size_t delivery_stats(struct delivery *d, struct metrics_output *ret, size_t n_max)
{
	size_t n = 0;

	reap(d, false);
	pthread_mutex_lock(&d->lock);
	for (struct lane *l = d->lanes; l && n < n_max; l = l->next)
		ret[n++] = l->stats;
	pthread_mutex_unlock(&d->lock);
	return n;
}

void delivery_stop(struct delivery *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	while (d->lanes) {
		struct lane *l = d->lanes;

		d->lanes = l->next;
		lane_retire(d, l);
	}
	pthread_mutex_unlock(&d->lock);
	reap(d, true);
}

void delivery_free(struct delivery *d)
{
	if (!d)
		return;
	delivery_stop(d);
	pthread_cond_destroy(&d->changed);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
