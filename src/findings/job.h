/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A finding on its way from the event thread to a finding worker: a copy of everything the
 * finding names (the process and its ancestors, the module's names), and its files already
 * opened, so that a worker can hash them after the process has gone, and the event thread
 * never reads a file's contents.
 */
#ifndef SOWATCH_FINDING_JOB_H
#define SOWATCH_FINDING_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "findings/finding.h"

struct proctable;

/* A file of the finding: open (fd >= 0), or why not */
struct job_file {
	int fd;
	struct stat st;
	bool owner_is_root; /* the host's file, owned by root, writable by nobody else */
	const char *missing;
};

struct finding_job {
	struct finding f; /* its pointers point into this job */
	uint32_t uid;	  /* whose finding: the process's user */
	bool costly;	  /* a file will cost a hashing budget (hashing_is_costly()) */
	struct proc *chain[1 + FINDING_MAX_ANCESTORS]; /* [0] the process, then its parents */
	size_t n_chain;
	struct job_file module;
	struct job_file binaries[1 + FINDING_MAX_ANCESTORS]; /* chain[i]'s executable */
	char *strings[6];				     /* owned copies of f's strings */
	struct finding_job *next;			     /* in a worker queue */
};

/*
 * Copy finding f of a process in pt, with its ancestors. open_files: open the files now (the
 * event thread's only file work: no byte is read); otherwise they will say why they have no
 * hash (busy_reason). NULL when out of memory.
 */
struct finding_job *finding_job_new(const struct finding *f, struct proctable *pt, bool open_files,
				    const char *busy_reason);

/* Hash the job's files within the budgets of findings/hashing.h, and close them. */
void finding_job_hash(struct finding_job *job);

void finding_job_free(struct finding_job *job);

#endif
