/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A gVisor sandbox's processes, as far as the effect layer needs them: each one's open files
 * (gVisor reports a mapping by fd), bounded per sandbox and per process, least recently used
 * first out. The gVisor decoder keeps one table per sandbox.
 */
#ifndef SOWATCH_SOURCES_GVISOR_PROCS_H
#define SOWATCH_SOURCES_GVISOR_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sources/gvisor_decode.h"

#define GPROC_BUCKETS 1024

struct fd_entry {
	int32_t fd;
	bool cloexec; /* forgotten at exec */
	bool partial; /* the path could not be fully resolved or was cut */
	bool memfd;
	uint64_t seq; /* when it was opened: the oldest goes first when the table is full */
	char *path;
};

/* A process of the sandbox, as far as the effect layer needs to know it. */
struct gproc {
	uint32_t pid, ppid;
	struct fd_entry *fds;
	uint32_t nfds, cap;
	struct gproc *hnext;	   /* hash chain */
	struct gproc *prev, *next; /* most recently used first */
};

struct gproc_table {
	struct gproc *buckets[GPROC_BUCKETS];
	struct gproc *lru_head, *lru_tail;
	size_t nprocs;
	uint64_t fd_seq;
	struct gvisor_decoder_stats *stats; /* where evictions are counted (the decoder's) */
};

struct gproc *gproc_find(struct gproc_table *t, uint32_t pid);
/* Find or add; the least recently used process makes room. NULL without memory. */
struct gproc *gproc_get(struct gproc_table *t, uint32_t pid);
void gproc_remove(struct gproc_table *t, struct gproc *p);
/* Every process gone. */
void gproc_table_clear(struct gproc_table *t);

struct fd_entry *gproc_fd_find(struct gproc *p, int32_t fd);
void gproc_fd_forget(struct gproc *p, int32_t fd);
/* Remember fd (tmpl, with path, which it takes: freed on failure). 0 or -ENOMEM. */
int gproc_fd_remember(struct gproc_table *t, struct gproc *p, const struct fd_entry *tmpl,
		      char *path);
/* to's files become a copy of from's (a fork). */
int gproc_fds_copy(struct gproc_table *t, struct gproc *to, const struct gproc *from);
/* What survives exec: the fds without close-on-exec. */
void gproc_fds_exec(struct gproc *p);
void gproc_fds_clear(struct gproc *p);

#endif
