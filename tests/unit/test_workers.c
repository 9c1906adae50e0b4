// SPDX-License-Identifier: Apache-2.0
/*
 * The finding workers (findings/workers.h): one user's flood does not hold up another user's
 * findings; one user's findings come out in order; a costly one holds up nobody.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "findings/job.h"
#include "findings/workers.h"

#define MAX_DONE 1024

struct record {
	pthread_mutex_t lock;
	struct finding_job *done[MAX_DONE];
	size_t n_done;
	pthread_mutex_t gate; /* held by the test: costly jobs wait on it */
};

static struct finding_job *job_new(uint32_t uid, bool costly, int seq)
{
	struct finding_job *job = calloc(1, sizeof(*job));

	assert_non_null(job);
	job->uid = uid;
	job->costly = costly;
	job->f.event_time_ns = (uint64_t)seq; /* the order it was made in */
	return job;
}

static void work(struct finding_job *job, void *ctx)
{
	struct record *r = ctx;

	if (job->costly) {
		pthread_mutex_lock(&r->gate);
		pthread_mutex_unlock(&r->gate);
	} else {
		usleep(200);
	}
	pthread_mutex_lock(&r->lock);
	r->done[r->n_done++] = job;
	pthread_mutex_unlock(&r->lock);
}

static size_t position_of(struct record *r, uint32_t uid, int seq)
{
	for (size_t i = 0; i < r->n_done; i++)
		if (r->done[i]->uid == uid && r->done[i]->f.event_time_ns == (uint64_t)seq)
			return i;
	fail_msg("job %u/%d was not done", uid, seq);
	return 0;
}

static void record_free(struct record *r)
{
	for (size_t i = 0; i < r->n_done; i++)
		free(r->done[i]);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->gate);
}

static void test_flood_does_not_hold_up_another_user(void **state)
{
	struct record r = { .n_done = 0 };
	struct finding_workers *w;

	pthread_mutex_init(&r.lock, NULL);
	pthread_mutex_init(&r.gate, NULL);
	assert_int_equal(finding_workers_new(&w, 2, work, &r), 0);
	for (int i = 0; i < 500; i++)
		finding_workers_submit(w, job_new(1000, false, i));
	finding_workers_submit(w, job_new(0, false, 0));
	assert_true(finding_workers_queued(w, 1000) > 0);
	finding_workers_drain(w);
	assert_int_equal(r.n_done, 501);
	assert_int_equal(finding_workers_queued(w, 1000), 0);
	/* Taken round-robin: root's one job is not the 501st */
	assert_true(position_of(&r, 0, 0) < 50);
	/* One user's findings in the order they were made */
	for (int i = 1; i < 500; i++)
		assert_true(position_of(&r, 1000, i - 1) < position_of(&r, 1000, i));
	finding_workers_free(w);
	record_free(&r);
}

static void test_costly_job_holds_up_nobody(void **state)
{
	struct record r = { .n_done = 0 };
	struct finding_workers *w;

	pthread_mutex_init(&r.lock, NULL);
	pthread_mutex_init(&r.gate, NULL);
	pthread_mutex_lock(&r.gate); /* the costly job hashes until the test lets it go */
	assert_int_equal(finding_workers_new(&w, 2, work, &r), 0);
	finding_workers_submit(w, job_new(1000, true, 0));
	for (int i = 1; i <= 20; i++)
		finding_workers_submit(w, job_new(1000, false, i));
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&r.lock);
		size_t n = r.n_done;
		pthread_mutex_unlock(&r.lock);
		if (n == 20)
			break;
		usleep(1000);
	}
	pthread_mutex_lock(&r.lock);
	assert_int_equal(r.n_done, 20); /* the same user's cheap ones, while it waits */
	pthread_mutex_unlock(&r.lock);
	pthread_mutex_unlock(&r.gate);
	finding_workers_drain(w);
	assert_int_equal(r.n_done, 21);
	finding_workers_free(w);
	record_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flood_does_not_hold_up_another_user),
		cmocka_unit_test(test_costly_job_holds_up_nobody),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
