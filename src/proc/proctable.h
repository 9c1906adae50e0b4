/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process table: what sowatch knows about every live process, kept up to date from exec,
 * fork and exit events (and seeded once from /proc at start), so detectors and findings can
 * name a process's binary, arguments and ancestors after it is gone from /proc.
 */
#ifndef SOWATCH_PROCTABLE_H
#define SOWATCH_PROCTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

/* Per-detector state hangs off a process; the detector says how to free it. */
enum detector_slot { DETECTOR_OPENSSL, DETECTOR_SLOTS };

struct proc {
	uint64_t ns; /* the pid namespace pid belongs to (see struct event) */
	uint32_t pid;
	uint32_t host_pid; /* pid when it is the host's (ns 0): the one /proc knows; else 0 */
	uint32_t ppid;
	uint32_t uid;
	char comm[COMM_LEN];
	/* The executable, as its file_ref with an owned path. */
	struct file_ref exe;
	char exe_sha256[65]; /* when the source hashed it (gVisor does); else "" */
	char *cwd;   /* owned; working directory at exec, as the process sees it; NULL unknown */
	char **argv; /* owned, argc entries */
	size_t argc;
	bool argv_truncated;
	char **env; /* owned "NAME=value" entries of env_of_interest[] */
	size_t envc;
	bool env_truncated;
	uint64_t cgroup_id;
	char container_id[65];	     /* "" on the host */
	uint32_t container_mount_ns; /* the mount namespace it was read in; 0 not read */
	uint64_t start_boottime_ns;  /* when it started, CLOCK_BOOTTIME */
	bool from_procfs;   /* seeded from /proc: no exec was seen, fields may be partial */
	bool host_mount_ns; /* the kernel said so at exec: its paths are the host's */
	/* owned; a gVisor sandbox's root as the host sees it (event.exec.sandbox_root); NULL */
	char *sandbox_root;
	char *cloud_run[CLOUD_RUN_VARS]; /* owned; Cloud Run's names, NULL when not set */
	void *detector_state[DETECTOR_SLOTS];
	void (*detector_free[DETECTOR_SLOTS])(void *);
	struct proc *next; /* hash chain */
};

struct proctable;

int proctable_new(struct proctable **ret);
void proctable_free(struct proctable *pt);
/* Read every process of /proc once, so the ancestors of later execs have names. */
void proctable_seed_from_procfs(struct proctable *pt);

struct proc *proctable_get(struct proctable *pt, uint64_t ns, uint32_t pid);
/*
 * The process, created when no event introduced it yet: with what /proc says for a host
 * process, empty for another namespace's.
 */
struct proc *proctable_get_or_load(struct proctable *pt, uint64_t ns, uint32_t pid);

/* Apply an exec or fork event; returns the process it concerns (NULL when out of memory). */
struct proc *proctable_exec(struct proctable *pt, const struct event *ev);
struct proc *proctable_fork(struct proctable *pt, const struct event *ev);
/* Forget a process (its exit was seen). */
void proctable_exit(struct proctable *pt, uint64_t ns, uint32_t pid);
/* Forget every process of a namespace (a gVisor sandbox went away), passing each to gone. */
size_t proctable_forget_ns(struct proctable *pt, uint64_t ns,
			   void (*gone)(struct proc *p, void *ctx), void *ctx);
/*
 * Processes whose exit we never saw (they ended before sowatch started watching, or the
 * event was lost): those no longer in /proc, or whose pid now names a newer process. Each
 * is passed to `gone` and then forgotten. Returns how many.
 */
size_t proctable_sweep(struct proctable *pt, void (*gone)(struct proc *p, void *ctx), void *ctx);
size_t proctable_size(const struct proctable *pt);
void proctable_for_each(struct proctable *pt, void (*fn)(struct proc *p, void *ctx), void *ctx);

/*
 * A copy of p that owns its strings and knows no detector state, for a finding to outlive
 * the table's entry; NULL when out of memory. Freed with proc_clone_free().
 */
struct proc *proc_clone(const struct proc *p);
void proc_clone_free(struct proc *p);

/* When the process started, in the clock ticks /proc uses: with the pid, it names a process. */
uint64_t proc_start_ticks(const struct proc *p);

/* The value of an environment variable of interest, or NULL. */
const char *proc_getenv(const struct proc *p, const char *name);

#endif
