// SPDX-License-Identifier: Apache-2.0
#include "sources/gvisor_procs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void lru_unlink(struct gproc_table *t, struct gproc *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		t->lru_head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		t->lru_tail = p->prev;
	p->prev = p->next = NULL;
}

static void lru_push_front(struct gproc_table *t, struct gproc *p)
{
	p->prev = NULL;
	p->next = t->lru_head;
	if (t->lru_head)
		t->lru_head->prev = p;
	t->lru_head = p;
	if (!t->lru_tail)
		t->lru_tail = p;
}

void gproc_fds_clear(struct gproc *p)
{
	for (uint32_t i = 0; i < p->nfds; i++)
		free(p->fds[i].path);
	p->nfds = 0;
}

void gproc_remove(struct gproc_table *t, struct gproc *p)
{
	struct gproc **pp = &t->buckets[p->pid % GPROC_BUCKETS];

	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
	lru_unlink(t, p);
	gproc_fds_clear(p);
	free(p->fds);
	free(p);
	t->nprocs--;
}

struct gproc *gproc_find(struct gproc_table *t, uint32_t pid)
{
	for (struct gproc *p = t->buckets[pid % GPROC_BUCKETS]; p; p = p->hnext) {
		if (p->pid == pid) {
			lru_unlink(t, p);
			lru_push_front(t, p);
			return p;
		}
	}
	return NULL;
}

/* Find or add; the least recently used process makes room. NULL without memory. */
struct gproc *gproc_get(struct gproc_table *t, uint32_t pid)
{
	struct gproc *p = gproc_find(t, pid);

	if (p)
		return p;
	if (t->nprocs >= GVISOR_MAX_PROCS) {
		gproc_remove(t, t->lru_tail);
		t->stats->procs_evicted++;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->hnext = t->buckets[pid % GPROC_BUCKETS];
	t->buckets[pid % GPROC_BUCKETS] = p;
	lru_push_front(t, p);
	t->nprocs++;
	return p;
}

struct fd_entry *gproc_fd_find(struct gproc *p, int32_t fd)
{
	for (uint32_t i = 0; p && i < p->nfds; i++)
		if (p->fds[i].fd == fd)
			return &p->fds[i];
	return NULL;
}

void gproc_fd_forget(struct gproc *p, int32_t fd)
{
	struct fd_entry *e = gproc_fd_find(p, fd);

	if (!e)
		return;
	free(e->path);
	*e = p->fds[--p->nfds];
}

/* Takes path (allocated); frees it on failure. */
int gproc_fd_remember(struct gproc_table *t, struct gproc *p, const struct fd_entry *tmpl,
		      char *path)
{
	struct fd_entry *e;

	gproc_fd_forget(p, tmpl->fd);
	if (p->nfds >= GVISOR_MAX_FDS) {
		uint32_t oldest = 0;

		for (uint32_t i = 1; i < p->nfds; i++)
			if (p->fds[i].seq < p->fds[oldest].seq)
				oldest = i;
		gproc_fd_forget(p, p->fds[oldest].fd);
		t->stats->fds_evicted++;
	}
	if (p->nfds == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 8;
		struct fd_entry *fds = reallocarray(p->fds, cap, sizeof(*fds));

		if (!fds) {
			free(path);
			return -ENOMEM;
		}
		p->fds = fds;
		p->cap = cap;
	}
	e = &p->fds[p->nfds++];
	*e = *tmpl;
	e->seq = ++t->fd_seq;
	e->path = path;
	return 0;
}

int gproc_fds_copy(struct gproc_table *t, struct gproc *to, const struct gproc *from)
{
	gproc_fds_clear(to);
	for (uint32_t i = 0; i < from->nfds; i++) {
		char *path = strdup(from->fds[i].path);

		if (!path || gproc_fd_remember(t, to, &from->fds[i], path))
			return -ENOMEM;
	}
	return 0;
}

/* What survives exec: the fds without close-on-exec. */
void gproc_fds_exec(struct gproc *p)
{
	for (uint32_t i = 0; i < p->nfds;) {
		if (p->fds[i].cloexec) {
			free(p->fds[i].path);
			p->fds[i] = p->fds[--p->nfds];
		} else {
			i++;
		}
	}
}

void gproc_table_clear(struct gproc_table *t)
{
	while (t->lru_head)
		gproc_remove(t, t->lru_head);
}
