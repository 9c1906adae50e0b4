// SPDX-License-Identifier: Apache-2.0
#include "findings/workers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "findings/job.h"
#include "util/log.h"

#define USER_QUEUES 128 /* queues of users with findings in flight; more share the last one */
#define MAX_THREADS 8
#define WORKER_NICE 0 /* below the event thread, which must keep draining the kernel */

/* A user's findings of one kind: the costly ones (findings/job.h) wait apart */
struct user_queue {
	bool used;
	uint32_t uid;
	bool costly;
	struct finding_job *head, *tail;
	size_t n;     /* queued, and the one running */
	bool running; /* a worker has one of its jobs */
};

struct finding_workers {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a job can be taken, or the workers stop */
	pthread_cond_t done; /* a job was done */
	struct user_queue queues[USER_QUEUES];
	unsigned next; /* where the round-robin goes on */
	size_t total;  /* jobs queued and running */
	bool stopping;
	bool told_full;
	finding_job_fn fn;
	void *ctx;
	pthread_t threads[MAX_THREADS];
	unsigned n_threads;
};

/* Under lock: the job's queue; users beyond USER_QUEUES share the last one */
static struct user_queue *queue_of(struct finding_workers *w, const struct finding_job *job)
{
	struct user_queue *free_q = NULL;
	uint32_t uid = job->uid;

	for (unsigned i = 0; i < USER_QUEUES - 1; i++) {
		struct user_queue *q = &w->queues[i];

		if (q->used && q->uid == uid && q->costly == job->costly)
			return q;
		if (!q->used && !free_q)
			free_q = q;
	}
	if (!free_q) {
		free_q = &w->queues[USER_QUEUES - 1];
		uid = UINT32_MAX; /* no one's: (uid_t)-1 is never a user */
	}
	free_q->used = true;
	free_q->uid = uid;
	free_q->costly = job->costly;
	return free_q;
}

/* Under lock: the next user's next job, round-robin over users with none running */
static struct finding_job *take(struct finding_workers *w, struct user_queue **ret_q)
{
	for (unsigned k = 0; k < USER_QUEUES; k++) {
		unsigned i = (w->next + k) % USER_QUEUES;
		struct user_queue *q = &w->queues[i];
		struct finding_job *job = q->head;

		if (!job || q->running)
			continue;
		q->head = job->next;
		if (!q->head)
			q->tail = NULL;
		job->next = NULL;
		q->running = true;
		w->next = i + 1;
		*ret_q = q;
		return job;
	}
	return NULL;
}

static void *worker_main(void *arg)
{
	struct finding_workers *w = arg;

	/* Per thread on Linux: only the workers yield to the event thread */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORKER_NICE))
		log_debug("cannot lower a finding worker's priority: %m");
	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct user_queue *q = NULL;
		struct finding_job *job = take(w, &q);

		if (!job) {
			if (w->stopping)
				break;
			pthread_cond_wait(&w->work, &w->lock);
			continue;
		}
		pthread_mutex_unlock(&w->lock);
		w->fn(job, w->ctx);
		pthread_mutex_lock(&w->lock);
		q->running = false;
		if (--q->n == 0)
			q->used = false;
		w->total--;
		/* The user's next job can be taken now; and someone may wait for room */
		pthread_cond_broadcast(&w->work);
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int finding_workers_new(struct finding_workers **ret, unsigned threads, finding_job_fn fn,
			void *ctx)
{
	struct finding_workers *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int err = 0;

	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	w->fn = fn;
	w->ctx = ctx;
	/* Signals are the main thread's: the workers start with all of them blocked */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < threads && i < MAX_THREADS; i++) {
		err = -pthread_create(&w->threads[i], NULL, worker_main, w);
		if (err)
			break;
		w->n_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!w->n_threads) {
		finding_workers_free(w);
		return err ? err : -EINVAL;
	}
	*ret = w;
	return 0;
}

void finding_workers_submit(struct finding_workers *w, struct finding_job *job)
{
	struct user_queue *q;

	pthread_mutex_lock(&w->lock);
	if (w->total >= FINDING_WORKERS_MAX_JOBS && !w->told_full) {
		w->told_full = true;
		log_warn("%d findings are waiting for the finding workers: events wait too",
			 FINDING_WORKERS_MAX_JOBS);
	}
	while (w->total >= FINDING_WORKERS_MAX_JOBS)
		pthread_cond_wait(&w->done, &w->lock);
	q = queue_of(w, job);
	job->next = NULL;
	if (q->tail)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	q->n++;
	w->total++;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
}

size_t finding_workers_queued(struct finding_workers *w, uint32_t uid)
{
	size_t n = 0;

	pthread_mutex_lock(&w->lock);
	for (unsigned i = 0; i < USER_QUEUES; i++)
		if (w->queues[i].used && w->queues[i].uid == uid)
			n += w->queues[i].n;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void finding_workers_drain(struct finding_workers *w)
{
	pthread_mutex_lock(&w->lock);
	while (w->total)
		pthread_cond_wait(&w->done, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

void finding_workers_free(struct finding_workers *w)
{
	if (!w)
		return;
	finding_workers_drain(w);
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->n_threads; i++)
		pthread_join(w->threads[i], NULL);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
