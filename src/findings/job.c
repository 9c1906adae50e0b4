// SPDX-License-Identifier: Apache-2.0
#include "findings/job.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "findings/hashing.h"
#include "proc/procfile.h"
#include "proc/proctable.h"

/* A file only root can change, as the host sees it (a container's root is not the host's) */
static bool owner_is_root(const struct proc *p, const struct stat *st)
{
	return st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH)) && !p->container_id[0] &&
	       !proc_root_is_own(p->sandbox_root);
}

/*
 * A file whose contents a user-space server hands out (FUSE): a read may never return, and
 * would hold a worker, then every finding, up. (Opening it already asked that server.)
 */
static bool served_by_a_process(int fd)
{
	struct statfs sfs;

	return fstatfs(fd, &sfs) == 0 && sfs.f_type == FUSE_SUPER_MAGIC;
}

/* Open the file for the job; whether hashing it will cost a budget */
static bool file_open(struct job_file *jf, const struct proc *p, const struct file_ref *ref,
		      uint64_t vm_start, uint64_t vm_end, bool is_exe)
{
	jf->fd = proc_file_open_rooted(p->host_pid, p->sandbox_root, ref, vm_start, vm_end, is_exe,
				       &jf->st);
	if (jf->fd < 0) {
		jf->missing =
		    jf->fd == -ESTALE ? "replaced since it was used" : "could not be opened";
		return false;
	}
	if (served_by_a_process(jf->fd)) {
		close(jf->fd);
		jf->fd = -1;
		jf->missing = "on a FUSE file system: never read, its server could hold sowatch up";
		return false;
	}
	jf->owner_is_root = owner_is_root(p, &jf->st);
	return hashing_is_costly(&jf->st, jf->owner_is_root);
}

static void open_files(struct finding_job *job)
{
	const struct finding_module *m = &job->f.module;
	const struct proc *p = job->chain[0];

	if (m->locatable)
		job->costly |= file_open(&job->module, p, &m->file, m->vm_start, m->vm_end, false);
	for (size_t i = 0; i < job->n_chain; i++) {
		const struct proc *q = job->chain[i];

		if (q->exe.path || q->exe.ino)
			job->costly |= file_open(&job->binaries[i], q, &q->exe, 0, 0, true);
	}
}

static char *keep(struct finding_job *job, size_t slot, const char *s, bool *ok)
{
	if (!s)
		return NULL;
	job->strings[slot] = strdup(s);
	*ok &= job->strings[slot] != NULL;
	return job->strings[slot];
}

struct finding_job *finding_job_new(const struct finding *f, struct proctable *pt, bool open,
				    const char *busy_reason)
{
	struct finding_job *job = calloc(1, sizeof(*job));
	const struct proc *q = f->proc;
	bool ok = true;

	if (!job)
		return NULL;
	job->module.fd = -1;
	for (size_t i = 0; i < 1 + FINDING_MAX_ANCESTORS; i++)
		job->binaries[i].fd = -1;
	job->f = *f;
	job->uid = f->proc->uid;
	while (q && job->n_chain < 1 + FINDING_MAX_ANCESTORS) {
		if (!(job->chain[job->n_chain] = proc_clone(q)))
			goto err_free;
		job->n_chain++;
		q = q->ppid ? proctable_get(pt, q->ns, q->ppid) : NULL;
	}
	job->f.proc = job->chain[0];
	job->f.n_ancestors = job->n_chain - 1;
	for (size_t i = 1; i < job->n_chain; i++)
		job->f.ancestors[i - 1] = job->chain[i];
	job->f.module.file.path = keep(job, 0, f->module.file.path, &ok);
	job->f.module.requested = keep(job, 1, f->module.requested, &ok);
	job->f.module.kind = keep(job, 2, f->module.kind, &ok);
	job->f.module.origin = keep(job, 3, f->module.origin, &ok);
	job->f.trust_reason = keep(job, 4, f->trust_reason, &ok);
	job->f.sensor = keep(job, 5, f->sensor, &ok);
	if (!ok)
		goto err_free;
	if (open) {
		open_files(job);
	} else {
		if (f->module.locatable)
			job->module.missing = busy_reason;
		for (size_t i = 0; i < job->n_chain; i++)
			job->binaries[i].missing = busy_reason;
	}
	return job;

err_free:
	finding_job_free(job);
	return NULL;
}

/* Hash one file into *ret (or say why not), and close it */
static void file_hash(struct job_file *jf, struct hash_budget *budget, struct finding_hash *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (jf->fd >= 0) {
		jf->missing =
		    hashing_digest(jf->fd, &jf->st, jf->owner_is_root, budget, &ret->digest);
		close(jf->fd);
		jf->fd = -1;
	}
	ret->hashed = jf->missing == NULL && ret->digest.sha256[0];
	ret->missing = jf->missing;
}

void finding_job_hash(struct finding_job *job)
{
	struct hash_budget budget;

	/* What a responder needs first: the module, then the program, then its parents */
	hash_budget_init(&budget);
	file_hash(&job->module, &budget, &job->f.module.hash);
	for (size_t i = 0; i < job->n_chain; i++) {
		file_hash(&job->binaries[i], &budget, &job->f.binaries[i]);
		/* A source's own hash (gVisor's) stands in for one sowatch could not make */
		if (!job->f.binaries[i].hashed && job->chain[i]->exe_sha256[0])
			job->f.binaries[i].missing = NULL;
	}
}

void finding_job_free(struct finding_job *job)
{
	if (!job)
		return;
	if (job->module.fd >= 0)
		close(job->module.fd);
	for (size_t i = 0; i < 1 + FINDING_MAX_ANCESTORS; i++)
		if (job->binaries[i].fd >= 0)
			close(job->binaries[i].fd);
	for (size_t i = 0; i < job->n_chain; i++)
		proc_clone_free(job->chain[i]);
	for (size_t i = 0; i < sizeof(job->strings) / sizeof(job->strings[0]); i++)
		free(job->strings[i]);
	free(job);
}
