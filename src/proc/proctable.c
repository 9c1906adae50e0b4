// SPDX-License-Identifier: Apache-2.0
#include "proc/proctable.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc/container.h"

#define BUCKETS 4096 /* power of two */

struct proctable {
	struct proc *buckets[BUCKETS];
	size_t size;
};

static size_t bucket_of(uint64_t ns, uint32_t pid)
{
	return ((pid ^ (uint32_t)(ns ^ (ns >> 32))) * 2654435761u) & (BUCKETS - 1);
}

int proctable_new(struct proctable **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char **strv_dup(const char *const *v, size_t n)
{
	char **copy = calloc(n + 1, sizeof(*copy));

	if (!copy)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		copy[i] = strdup(v[i]);
		if (!copy[i]) {
			strv_free(copy, i);
			return NULL;
		}
	}
	return copy;
}

/* Forget what the previous image of the process was: called at exec and before freeing. */
static void proc_clear_image(struct proc *p)
{
	for (int i = 0; i < DETECTOR_SLOTS; i++) {
		if (p->detector_state[i] && p->detector_free[i])
			p->detector_free[i](p->detector_state[i]);
		p->detector_state[i] = NULL;
		p->detector_free[i] = NULL;
	}
	free((char *)p->exe.path);
	memset(&p->exe, 0, sizeof(p->exe));
	free(p->cwd);
	p->cwd = NULL;
	strv_free(p->argv, p->argc);
	strv_free(p->env, p->envc);
	p->argv = p->env = NULL;
	p->argc = p->envc = 0;
	free(p->sandbox_root);
	p->sandbox_root = NULL;
	for (int v = 0; v < CLOUD_RUN_VARS; v++) {
		free(p->cloud_run[v]);
		p->cloud_run[v] = NULL;
	}
}

/* What a sandbox said about where the process lives (its root, its Cloud Run names). */
static void proc_set_sandbox(struct proc *p, const char *root, const char *const *cloud_run)
{
	/* Out of memory, the host's view is what is left: the same as a sandbox not found. */
	p->sandbox_root = root ? strdup(root) : NULL;
	for (int v = 0; v < CLOUD_RUN_VARS; v++)
		p->cloud_run[v] = cloud_run[v] ? strdup(cloud_run[v]) : NULL;
}

static void proc_free(struct proc *p)
{
	proc_clear_image(p);
	free(p);
}

struct proc *proc_clone(const struct proc *p)
{
	struct proc *c = malloc(sizeof(*c));
	bool ok;

	if (!c)
		return NULL;
	*c = *p;
	memset(c->detector_state, 0, sizeof(c->detector_state));
	memset(c->detector_free, 0, sizeof(c->detector_free));
	c->next = NULL;
	c->exe.path = p->exe.path ? strdup(p->exe.path) : NULL;
	c->cwd = p->cwd ? strdup(p->cwd) : NULL;
	c->argv = p->argv ? strv_dup((const char *const *)p->argv, p->argc) : NULL;
	c->env = p->env ? strv_dup((const char *const *)p->env, p->envc) : NULL;
	c->sandbox_root = p->sandbox_root ? strdup(p->sandbox_root) : NULL;
	ok = (!p->exe.path || c->exe.path) && (!p->cwd || c->cwd) && (!p->argv || c->argv) &&
	     (!p->env || c->env) && (!p->sandbox_root || c->sandbox_root);
	for (int v = 0; v < CLOUD_RUN_VARS; v++) {
		c->cloud_run[v] = p->cloud_run[v] ? strdup(p->cloud_run[v]) : NULL;
		ok &= !p->cloud_run[v] || c->cloud_run[v];
	}
	if (!c->argv)
		c->argc = 0;
	if (!c->env)
		c->envc = 0;
	if (!ok) {
		proc_free(c);
		return NULL;
	}
	return c;
}

void proc_clone_free(struct proc *p)
{
	if (p)
		proc_free(p);
}

void proctable_free(struct proctable *pt)
{
	if (!pt)
		return;
	for (size_t b = 0; b < BUCKETS; b++)
		for (struct proc *p = pt->buckets[b], *next; p; p = next) {
			next = p->next;
			proc_free(p);
		}
	free(pt);
}

struct proc *proctable_get(struct proctable *pt, uint64_t ns, uint32_t pid)
{
	for (struct proc *p = pt->buckets[bucket_of(ns, pid)]; p; p = p->next)
		if (p->pid == pid && p->ns == ns)
			return p;
	return NULL;
}

static struct proc *proctable_add(struct proctable *pt, uint64_t ns, uint32_t pid)
{
	struct proc *p = calloc(1, sizeof(*p));
	size_t b = bucket_of(ns, pid);

	if (!p)
		return NULL;
	p->ns = ns;
	p->pid = pid;
	p->host_pid = ns == 0 ? pid : 0;
	p->next = pt->buckets[b];
	pt->buckets[b] = p;
	pt->size++;
	return p;
}

/* Read a whole small /proc file; returns bytes read or -1. */
static ssize_t procfs_read(uint32_t pid, const char *what, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

static uint64_t ns_per_clock_tick(void)
{
	return 1000000000ull / sysconf(_SC_CLK_TCK);
}

/*
 * From /proc/PID/stat, "pid (comm) state ppid ... starttime ...": comm may hold spaces and
 * parentheses, so fields are counted from the last ')'. starttime is in clock ticks.
 */
static int procfs_stat(uint32_t pid, char ret_comm[COMM_LEN], uint32_t *ret_ppid,
		       uint64_t *ret_start_boottime_ns)
{
	char buf[1024];
	char *open_paren, *close_paren;
	unsigned long long start_ticks;
	size_t len;

	if (procfs_read(pid, "stat", buf, sizeof(buf)) <= 0)
		return -ENOENT;
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren ||
	    sscanf(close_paren + 1,
		   " %*c %u %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
		   "%llu",
		   ret_ppid, &start_ticks) != 2)
		return -EINVAL;
	if (ret_comm) {
		len = close_paren - open_paren - 1;
		if (len >= COMM_LEN)
			len = COMM_LEN - 1;
		memcpy(ret_comm, open_paren + 1, len);
		ret_comm[len] = '\0';
	}
	*ret_start_boottime_ns = start_ticks * ns_per_clock_tick();
	return 0;
}

/* Fill what /proc still knows of a process no exec event described to us. */
static void proc_load_from_procfs(struct proc *p)
{
	char buf[4096], path[64], exe[PATH_MAX];
	const char *argv[256];
	ssize_t n;
	size_t argc = 0;
	struct stat st;

	p->from_procfs = true;
	procfs_stat(p->pid, p->comm, &p->ppid, &p->start_boottime_ns);
	n = procfs_read(p->pid, "cmdline", buf, sizeof(buf));
	for (ssize_t off = 0; n > 0 && off < n && argc < 256;) {
		argv[argc++] = buf + off;
		off += strlen(buf + off) + 1;
	}
	p->argv = strv_dup(argv, argc);
	p->argc = p->argv ? argc : 0;
	p->argv_truncated = n == (ssize_t)sizeof(buf) - 1;

	snprintf(path, sizeof(path), "/proc/%u/exe", p->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		p->exe.path = strdup(exe);
		if (stat(path, &st) == 0) {
			p->exe.dev = st.st_dev;
			p->exe.ino = st.st_ino;
			p->exe.mode = st.st_mode;
			p->exe.uid = st.st_uid;
		}
	}
	snprintf(path, sizeof(path), "/proc/%u/cwd", p->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		p->cwd = strdup(exe);
	}
	snprintf(path, sizeof(path), "/proc/%u", p->pid);
	if (stat(path, &st) == 0)
		p->uid = st.st_uid;
	container_id_of_pid(p->pid, p->container_id);
}

struct proc *proctable_get_or_load(struct proctable *pt, uint64_t ns, uint32_t pid)
{
	struct proc *p = proctable_get(pt, ns, pid);

	if (p)
		return p;
	p = proctable_add(pt, ns, pid);
	if (p && ns == 0)
		proc_load_from_procfs(p);
	return p;
}

void proctable_seed_from_procfs(struct proctable *pt)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || pid == 0 || pid > UINT32_MAX)
			continue;
		proctable_get_or_load(pt, 0, (uint32_t)pid);
	}
	closedir(d);
}

/* A host process in mount namespace mount_ns whose container was found. */
static const struct proc *neighbour_in_mount_ns(const struct proctable *pt, const struct proc *self,
						uint32_t mount_ns)
{
	for (size_t b = 0; b < BUCKETS; b++)
		for (const struct proc *q = pt->buckets[b]; q; q = q->next)
			if (q != self && q->ns == 0 && q->container_mount_ns == mount_ns &&
			    q->container_id[0])
				return q;
	return NULL;
}

/*
 * A host process's container, from its cgroups, read once per mount namespace: a fork stays in
 * its parent's container, and a runtime gives a container's first process a new mount
 * namespace before that process execs. A spawn storm then costs no /proc read per exec.
 *
 * Outside the host's mount namespace, "no container" is never remembered (an exiting process
 * shows the root cgroup), and a process gone before it is read (`runc exec` of a short
 * command) takes the container of another process of its mount namespace.
 */
static void container_of_exec(struct proctable *pt, struct proc *p, uint32_t mount_ns,
			      bool host_mount_ns)
{
	char id[CONTAINER_ID_MAX] = "";
	const struct proc *q;
	int found;

	if (mount_ns && mount_ns == p->container_mount_ns)
		return;
	found = container_id_of_pid_roots(p->host_pid, NULL, id);
	if (found > 0 || (found == 0 && host_mount_ns)) {
		snprintf(p->container_id, sizeof(p->container_id), "%s", found > 0 ? id : "");
		p->container_mount_ns = mount_ns;
	} else if (mount_ns && !host_mount_ns && (q = neighbour_in_mount_ns(pt, p, mount_ns))) {
		memcpy(p->container_id, q->container_id, sizeof(p->container_id));
		p->container_mount_ns = mount_ns;
	} else if (found == 0) {
		p->container_id[0] = '\0';
		p->container_mount_ns = 0;
	}
}

struct proc *proctable_exec(struct proctable *pt, const struct event *ev)
{
	struct proc *p = proctable_get(pt, ev->ns, ev->pid);

	if (!p)
		p = proctable_add(pt, ev->ns, ev->pid);
	if (!p)
		return NULL;
	proc_clear_image(p);
	p->from_procfs = false;
	p->ppid = ev->exec.ppid;
	p->uid = ev->exec.uid;
	memcpy(p->comm, ev->exec.comm, COMM_LEN);
	p->exe = ev->exec.exe;
	p->exe.path = ev->exec.exe.path ? strdup(ev->exec.exe.path) : NULL;
	p->cwd = ev->exec.cwd ? strdup(ev->exec.cwd) : NULL;
	p->argv = strv_dup(ev->exec.argv, ev->exec.argc);
	p->argc = p->argv ? ev->exec.argc : 0;
	p->argv_truncated = ev->exec.argv_truncated || !p->argv;
	p->env = strv_dup(ev->exec.env, ev->exec.envc);
	p->envc = p->env ? ev->exec.envc : 0;
	p->env_truncated = ev->exec.env_truncated || !p->env;
	p->cgroup_id = ev->exec.cgroup_id;
	p->host_mount_ns = ev->exec.host_mount_ns;
	p->start_boottime_ns = ev->exec.start_boottime_ns;
	snprintf(p->exe_sha256, sizeof(p->exe_sha256), "%s",
		 ev->exec.exe_sha256 ? ev->exec.exe_sha256 : "");
	proc_set_sandbox(p, ev->exec.sandbox_root, ev->exec.cloud_run);
	/* The source may know the container; else the cgroup, read in each new mount namespace. */
	if (ev->container_id)
		snprintf(p->container_id, sizeof(p->container_id), "%s", ev->container_id);
	else if (p->host_pid)
		container_of_exec(pt, p, ev->exec.mount_ns, ev->exec.host_mount_ns);
	return p;
}

struct proc *proctable_fork(struct proctable *pt, const struct event *ev)
{
	struct proc *parent = proctable_get(pt, ev->ns, ev->fork.ppid);
	struct proc *p = proctable_get(pt, ev->ns, ev->pid);

	if (p) /* pid reuse after a missed exit */
		proc_clear_image(p);
	else
		p = proctable_add(pt, ev->ns, ev->pid);
	if (!p)
		return NULL;
	p->container_id[0] = '\0'; /* the parent's, below; else read again at exec */
	p->container_mount_ns = 0;
	p->ppid = ev->fork.ppid;
	p->start_boottime_ns = ev->fork.start_boottime_ns;
	if (parent) {
		/* A fork runs the parent's image until it execs. */
		p->uid = parent->uid;
		p->from_procfs = parent->from_procfs;
		memcpy(p->comm, parent->comm, COMM_LEN);
		p->exe = parent->exe;
		p->exe.path = parent->exe.path ? strdup(parent->exe.path) : NULL;
		p->cwd = parent->cwd ? strdup(parent->cwd) : NULL;
		p->argv = strv_dup((const char *const *)parent->argv, parent->argc);
		p->argc = p->argv ? parent->argc : 0;
		p->argv_truncated = parent->argv_truncated;
		p->env = strv_dup((const char *const *)parent->env, parent->envc);
		p->envc = p->env ? parent->envc : 0;
		p->env_truncated = parent->env_truncated;
		p->cgroup_id = parent->cgroup_id;
		p->host_mount_ns = parent->host_mount_ns;
		memcpy(p->container_id, parent->container_id, sizeof(p->container_id));
		p->container_mount_ns = parent->container_mount_ns;
		proc_set_sandbox(p, parent->sandbox_root, (const char *const *)parent->cloud_run);
		memcpy(p->exe_sha256, parent->exe_sha256, sizeof(p->exe_sha256));
	}
	if (ev->container_id)
		snprintf(p->container_id, sizeof(p->container_id), "%s", ev->container_id);
	return p;
}

void proctable_exit(struct proctable *pt, uint64_t ns, uint32_t pid)
{
	struct proc **link = &pt->buckets[bucket_of(ns, pid)];

	for (struct proc *p = *link; p; link = &p->next, p = p->next) {
		if (p->pid != pid || p->ns != ns)
			continue;
		*link = p->next;
		pt->size--;
		proc_free(p);
		return;
	}
}

void proctable_for_each(struct proctable *pt, void (*fn)(struct proc *p, void *ctx), void *ctx)
{
	for (size_t b = 0; b < BUCKETS; b++)
		for (struct proc *p = pt->buckets[b]; p; p = p->next)
			fn(p, ctx);
}

/* Is the process behind this entry still the one in /proc (same pid, same start)? */
static bool proc_still_alive(const struct proc *p)
{
	uint32_t ppid;
	uint64_t start;

	if (procfs_stat(p->pid, NULL, &ppid, &start))
		return false;
	/* /proc counts in clock ticks: compare at that precision */
	return !p->start_boottime_ns || start / ns_per_clock_tick() == proc_start_ticks(p);
}

/* Forget every process `doomed` picks, passing each to `gone` first. */
static size_t proctable_remove_if(struct proctable *pt,
				  bool (*doomed)(const struct proc *p, uint64_t arg), uint64_t arg,
				  void (*gone)(struct proc *p, void *ctx), void *ctx)
{
	size_t removed = 0;

	for (size_t b = 0; b < BUCKETS; b++) {
		struct proc **link = &pt->buckets[b];

		while (*link) {
			struct proc *p = *link;

			if (!doomed(p, arg)) {
				link = &p->next;
				continue;
			}
			if (gone)
				gone(p, ctx);
			*link = p->next;
			pt->size--;
			proc_free(p);
			removed++;
		}
	}
	return removed;
}

/* Only /proc's own processes can be checked against it. */
static bool ended_unseen(const struct proc *p, uint64_t unused)
{
	return p->ns == 0 && !proc_still_alive(p);
}

static bool in_ns(const struct proc *p, uint64_t ns)
{
	return p->ns == ns;
}

size_t proctable_sweep(struct proctable *pt, void (*gone)(struct proc *p, void *ctx), void *ctx)
{
	return proctable_remove_if(pt, ended_unseen, 0, gone, ctx);
}

size_t proctable_forget_ns(struct proctable *pt, uint64_t ns,
			   void (*gone)(struct proc *p, void *ctx), void *ctx)
{
	return proctable_remove_if(pt, in_ns, ns, gone, ctx);
}

size_t proctable_size(const struct proctable *pt)
{
	return pt->size;
}

uint64_t proc_start_ticks(const struct proc *p)
{
	return p->start_boottime_ns / ns_per_clock_tick();
}

const char *proc_getenv(const struct proc *p, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < p->envc; i++)
		if (strncmp(p->env[i], name, n) == 0 && p->env[i][n] == '=')
			return p->env[i] + n + 1;
	return NULL;
}
