/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The finding workers: the event thread hands every finding over as a job (findings/job.h)
 * and goes back to draining the kernel's ring buffer. A few threads, at a lower priority
 * than the event thread, hash each job's files and pass it on to be kept and told.
 *
 * Jobs wait in one queue per user (the process's uid), and the workers take them round-robin,
 * one job at a time per queue: one user's flood cannot hold up another user's findings, and
 * the findings of one user are written in the order they were made. Except for findings
 * whose files cost a hashing budget (findings/hashing.h): those wait in a second queue of
 * their user, so that a finding never waits for hashing done for another one.
 */
#ifndef SOWATCH_FINDING_WORKERS_H
#define SOWATCH_FINDING_WORKERS_H

#include <stddef.h>
#include <stdint.h>

struct finding_job;
struct finding_workers;

/* Jobs queued, all users together, before finding_workers_submit() waits for room */
#define FINDING_WORKERS_MAX_JOBS 8192

/* What a worker does with a job; it owns the job from then on. */
typedef void (*finding_job_fn)(struct finding_job *job, void *ctx);

int finding_workers_new(struct finding_workers **ret, unsigned threads, finding_job_fn fn,
			void *ctx);
/* Queue a job (taken over). Waits only while FINDING_WORKERS_MAX_JOBS jobs are queued. */
void finding_workers_submit(struct finding_workers *w, struct finding_job *job);
/* Jobs of this user queued and not yet done */
size_t finding_workers_queued(struct finding_workers *w, uint32_t uid);
/* Wait until every job submitted so far is done. */
void finding_workers_drain(struct finding_workers *w);
/* Drain, then stop the threads. */
void finding_workers_free(struct finding_workers *w);

#endif
