// SPDX-License-Identifier: Apache-2.0
#include "sources/gvisor_decode.h"
#include "sources/gvisor_procs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "gvisor/common.pb-c.h"
#include "gvisor/container.pb-c.h"
#include "gvisor/sentry.pb-c.h"
#include "gvisor/syscall.pb-c.h"
#include "util/path.h"

#define PAGE_SIZE_4K 4096ull

#ifndef CLONE_THREAD
#define CLONE_THREAD 0x00010000
#endif

/*
 * A container of the sandbox (a pod has several): where its files are on the host, and the
 * Cloud Run names its start gave it, which its processes keep whatever their own environment
 * says.
 */
struct gcontainer {
	char id[GVISOR_CONTAINER_ID_MAX + 1];
	char *root; /* NULL: the host's own paths */
	char *cloud_run[CLOUD_RUN_VARS];
	uint64_t last_use;
};

struct gvisor_decoder {
	uint64_t ns;
	event_handler_fn on_event;
	void *ctx;
	gvisor_root_fn root_fn;
	void *root_ctx;
	time_t root_lookup_second; /* CLOCK_MONOTONIC */
	unsigned root_lookups;	   /* in that second */
	struct gcontainer *containers[GVISOR_MAX_CONTAINERS];
	uint64_t container_clock;
	struct gvisor_decoder_stats stats;
	uint32_t last_dropped; /* the sandbox's counter as last seen */
	bool enforce_mode;     /* enforce mode is on: say it cannot act here */
	struct gproc_table procs;
	char container[128];
};

/* What every process message carries, from its ContextData. */
struct task_ctx {
	uint32_t pid, tid;
	uint64_t time_ns;
	uint64_t group_start_ns;
	const char *container_id; /* NULL when not sent */
	const char *cwd;	  /* NULL when not sent or not absolute */
	uint32_t uid, gid;
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *nonempty(const char *s)
{
	return s && s[0] ? s : NULL;
}

/* A message without the thread group id cannot be attributed: the config lacks "group_id". */
static bool task_ctx_get(struct gvisor_decoder *dec, const Gvisor__ContextData *c,
			 struct task_ctx *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!c || c->thread_group_id <= 0) {
		dec->stats.no_context++;
		return false;
	}
	ret->pid = (uint32_t)c->thread_group_id;
	ret->tid = c->thread_id > 0 ? (uint32_t)c->thread_id : ret->pid;
	ret->time_ns = c->time_ns > 0 ? (uint64_t)c->time_ns : realtime_ns();
	ret->group_start_ns = c->thread_group_start_time_ns > 0 ? c->thread_group_start_time_ns : 0;
	ret->container_id = nonempty(c->container_id);
	ret->cwd = c->cwd && c->cwd[0] == '/' ? c->cwd : NULL;
	if (c->credentials) {
		ret->uid = c->credentials->real_uid;
		ret->gid = c->credentials->real_gid;
	}
	if (ret->container_id)
		snprintf(dec->container, sizeof(dec->container), "%s", ret->container_id);
	return true;
}

static void event_init(const struct gvisor_decoder *dec, const struct task_ctx *t,
		       enum event_kind kind, struct event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->source = "gvisor";
	ev->time_ns = t->time_ns;
	ev->pid = t->pid;
	ev->tid = t->tid;
	ev->ns = dec->ns;
	ev->container_id = t->container_id;
}

/*
 * A copy of s. One longer than GVISOR_PATH_MAX bytes keeps its end (the file's own name)
 * behind PATH_TRUNCATED_MARK, as the eBPF source shows a path cut short, and sets *partial.
 */
static char *path_dup(const char *s, bool *partial)
{
	size_t len = strlen(s), mark = strlen(PATH_TRUNCATED_MARK), kept = GVISOR_PATH_MAX - mark;
	char *cut;

	if (len <= GVISOR_PATH_MAX)
		return strdup(s);
	*partial = true;
	cut = malloc(GVISOR_PATH_MAX + 1);
	if (!cut)
		return NULL;
	memcpy(cut, PATH_TRUNCATED_MARK, mark);
	memcpy(cut + mark, s + len - kept, kept + 1);
	return cut;
}

/* "/proc/self/fd/N", "/proc/thread-self/fd/N", "/proc/<pid>/fd/N", "/dev/fd/N": N, else -1 */
static int32_t proc_fd_link(const char *path, uint32_t pid)
{
	char self[32];
	const char *rest = NULL;
	char *end;
	long n;

	snprintf(self, sizeof(self), "/proc/%u/fd/", pid);
	if (strncmp(path, "/proc/self/fd/", 14) == 0)
		rest = path + 14;
	else if (strncmp(path, "/proc/thread-self/fd/", 21) == 0)
		rest = path + 21;
	else if (strncmp(path, "/dev/fd/", 8) == 0)
		rest = path + 8;
	else if (strncmp(path, self, strlen(self)) == 0)
		rest = path + strlen(self);
	if (!rest || *rest < '0' || *rest > '9')
		return -1;
	errno = 0;
	n = strtol(rest, &end, 10);
	if (errno || *end || n > INT32_MAX)
		return -1;
	return (int32_t)n;
}

/*
 * The file an open(at) opened, as an absolute path: pathname resolved against the directory
 * fd's path (fd_path, or what we know of that fd) or the cwd, lexically (symlinks are not
 * followed: gVisor does not send the opened file's own path). NULL without memory or pathname.
 */
static char *open_resolve(struct gproc *p, const Gvisor__Open *m, const struct task_ctx *t,
			  bool *partial, bool *memfd)
{
	char *out = malloc(GVISOR_PATH_MAX + 1);
	const char *base = NULL;
	struct fd_entry *dir;
	int32_t link;
	int err;

	*partial = *memfd = false;
	if (!out || !m->pathname || !m->pathname[0]) {
		free(out);
		return NULL;
	}
	link = proc_fd_link(m->pathname, t->pid);
	if (link >= 0 && (dir = gproc_fd_find(p, link))) {
		*partial = dir->partial;
		*memfd = dir->memfd;
		free(out);
		return strdup(dir->path);
	}
	if (m->pathname[0] == '/') {
		err = path_normalize(m->pathname, out, GVISOR_PATH_MAX + 1);
	} else {
		if (m->fd == AT_FDCWD)
			base = t->cwd;
		else if (m->fd_path && m->fd_path[0] == '/')
			base = m->fd_path;
		else if (m->fd >= INT32_MIN && m->fd <= INT32_MAX &&
			 (dir = gproc_fd_find(p, (int32_t)m->fd)) && !dir->partial)
			base = dir->path;
		if (!base) {
			*partial = true; /* relative to a directory we do not know */
			free(out);
			return path_dup(m->pathname, partial);
		}
		err = path_join(base, m->pathname, out, GVISOR_PATH_MAX + 1);
	}
	if (err) {
		*partial = true;
		free(out);
		return path_dup(m->pathname, partial);
	}
	return out;
}

/* ---- Containers --------------------------------------------------------------------------- */

static void container_free(struct gcontainer *c)
{
	if (!c)
		return;
	free(c->root);
	for (int v = 0; v < CLOUD_RUN_VARS; v++)
		free(c->cloud_run[v]);
	free(c);
}

/*
 * Whether another root lookup fits this second's budget: each reads directories and a file on
 * the event thread, and the sentry, which names the containers, may be the attacker's.
 */
static bool root_lookup_allowed(struct gvisor_decoder *dec)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec != dec->root_lookup_second) {
		dec->root_lookup_second = ts.tv_sec;
		dec->root_lookups = 0;
	}
	if (dec->root_lookups >= GVISOR_ROOT_LOOKUPS_PER_S) {
		dec->stats.root_lookups_skipped++;
		return false;
	}
	dec->root_lookups++;
	return true;
}

/* Ask where the container's files are (again at each start: it may have been restarted). */
static void container_resolve_root(struct gvisor_decoder *dec, struct gcontainer *c)
{
	char root[GVISOR_PATH_MAX + 1];

	free(c->root);
	c->root = NULL;
	if (dec->root_fn && root_lookup_allowed(dec) &&
	    dec->root_fn(c->id, root, sizeof(root), dec->root_ctx) && root[0] == '/' &&
	    strcmp(root, "/") != 0)
		c->root = strdup(root); /* without memory: the host's paths, as before */
}

static struct gcontainer *container_find(struct gvisor_decoder *dec, const char *id)
{
	for (int i = 0; id && i < GVISOR_MAX_CONTAINERS; i++) {
		struct gcontainer *c = dec->containers[i];

		if (c && strcmp(c->id, id) == 0) {
			c->last_use = ++dec->container_clock;
			return c;
		}
	}
	return NULL;
}

/*
 * A container starting: remembered with its root looked up (again, if it was known); the least
 * recently used makes room. Only a start makes an entry, so that a stream of made-up container
 * ids in other points costs no lookup. NULL for no id, one too long to be real, or no memory:
 * the host's paths.
 */
static struct gcontainer *container_start(struct gvisor_decoder *dec, const char *id)
{
	struct gcontainer **slot = NULL, *c;

	if (!id || !id[0] || strlen(id) > GVISOR_CONTAINER_ID_MAX)
		return NULL;
	c = container_find(dec, id);
	if (c) {
		container_resolve_root(dec, c);
		return c;
	}
	for (int i = 0; i < GVISOR_MAX_CONTAINERS; i++) {
		c = dec->containers[i];
		if (!slot || (*slot && (!c || c->last_use < (*slot)->last_use)))
			slot = &dec->containers[i];
	}
	container_free(*slot);
	*slot = calloc(1, sizeof(**slot));
	if (!*slot)
		return NULL;
	snprintf((*slot)->id, sizeof((*slot)->id), "%s", id);
	(*slot)->last_use = ++dec->container_clock;
	container_resolve_root(dec, *slot);
	return *slot;
}

/* A container's start sets its Cloud Run names: the platform's, from the OCI spec. */
static void container_set_cloud_run(struct gcontainer *c, char *const *env, size_t envc)
{
	const char *found[CLOUD_RUN_VARS];

	cloud_run_from_env(env, envc, found);
	for (int v = 0; v < CLOUD_RUN_VARS; v++) {
		free(c->cloud_run[v]);
		c->cloud_run[v] = found[v] ? strdup(found[v]) : NULL;
	}
}

static bool container_has_cloud_run(const struct gcontainer *c)
{
	for (int v = 0; c && v < CLOUD_RUN_VARS; v++)
		if (c->cloud_run[v])
			return true;
	return false;
}

/* ---- Messages ---------------------------------------------------------------------------- */

/* Only env_of_interest[]; env_out has room for n. */
static size_t env_filter(char **env, size_t n, const char **env_out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (env[i] && env_is_of_interest(env[i], strlen(env[i])))
			env_out[k++] = env[i];
	return k;
}

static void comm_from_path(const char *path, char comm[COMM_LEN])
{
	const char *base = path ? strrchr(path, '/') : NULL;

	base = base ? base + 1 : (path ? path : "");
	snprintf(comm, COMM_LEN, "%s", base);
}

static void hex(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = '\0';
}

struct exec_args {
	const char *exe_path;
	const char *cwd;
	char **argv;
	size_t argc;
	char **env;
	size_t envc;
	uint32_t exe_mode, exe_uid;
	const char *exe_sha256;
	struct gcontainer *container; /* NULL: not known, the host's paths */
};

static int emit_exec(struct gvisor_decoder *dec, const struct task_ctx *t,
		     const struct exec_args *a)
{
	const char **env = calloc(a->envc ? a->envc : 1, sizeof(*env));
	struct gproc *p = gproc_get(&dec->procs, t->pid);
	bool exe_partial = false;
	char *exe = NULL;
	struct event ev;

	if (a->exe_path)
		exe = path_dup(a->exe_path, &exe_partial);
	if (!env || !p || (a->exe_path && !exe)) {
		free(env);
		free(exe);
		return -ENOMEM;
	}
	gproc_fds_exec(p);

	event_init(dec, t, EVENT_EXEC, &ev);
	ev.exec.ppid = p->ppid;
	ev.exec.uid = t->uid;
	ev.exec.gid = t->gid;
	comm_from_path(a->exe_path ? a->exe_path : (a->argc ? a->argv[0] : NULL), ev.exec.comm);
	ev.exec.exe.path = exe;
	ev.exec.exe.path_truncated = exe_partial;
	ev.exec.exe.mode = a->exe_mode;
	ev.exec.exe.uid = a->exe_uid;
	ev.exec.exe_sha256 = a->exe_sha256;
	ev.exec.cwd = a->cwd;
	ev.exec.argv = (const char *const *)a->argv;
	ev.exec.argc = a->argc;
	ev.exec.env = env;
	ev.exec.envc = env_filter(a->env, a->envc, env);
	ev.exec.start_boottime_ns = t->group_start_ns;
	ev.exec.sandbox_root = a->container ? a->container->root : NULL;
	/* The container's start names the service; only without that does the process's own
	 * environment (which it may have chosen) say it. */
	if (container_has_cloud_run(a->container))
		memcpy(ev.exec.cloud_run, a->container->cloud_run, sizeof(ev.exec.cloud_run));
	else
		cloud_run_from_env(a->env, a->envc, ev.exec.cloud_run);
	dec->on_event(&ev, dec->ctx);
	free(env);
	free(exe);
	return 0;
}

/* An executable regular file at path inside root (symlinks resolved within it), as gVisor would
 * run it. */
static bool executable_in_root(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	bool ok;

	if (fd < 0)
		return false;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
	close(fd);
	return ok;
}

/*
 * The file a bare command name runs, found the way gVisor finds it: the PATH of the
 * container's environment, searched through the container's root as the host sees it (root;
 * NULL for the host's own). NULL when not found.
 */
static char *find_in_path(const char *name, char *const *env, size_t envc, const char *root)
{
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char candidate[GVISOR_PATH_MAX + 1];
	char *found = NULL;
	int rootfd = -1;

	if (root) {
		rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			return NULL;
	}
	for (size_t i = 0; i < envc; i++)
		if (env[i] && strncmp(env[i], "PATH=", 5) == 0)
			path = env[i] + 5;
	while (*path && !found) {
		size_t n = strcspn(path, ":");

		if (n && path[0] == '/' &&
		    (size_t)snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)n, path, name) <
			sizeof(candidate) &&
		    (root ? executable_in_root(rootfd, candidate) : access(candidate, X_OK) == 0))
			found = strdup(candidate);
		path += n + (path[n] == ':');
	}
	if (rootfd >= 0)
		close(rootfd);
	return found;
}

/* container/start: the container's init, which gets no sentry/execve of its own. */
static int decode_start(struct gvisor_decoder *dec, const Gvisor__Start *m)
{
	struct exec_args a = { 0 };
	struct task_ctx t;
	char *found = NULL;
	int err;

	if (!task_ctx_get(dec, m->context_data, &t))
		return 0;
	if (nonempty(m->id)) {
		t.container_id = m->id;
		snprintf(dec->container, sizeof(dec->container), "%s", m->id);
	}
	a.container = container_start(dec, t.container_id);
	if (a.container)
		container_set_cloud_run(a.container, m->env, m->n_env);
	/* The OCI spec's args[0]: a path when absolute, else looked up in PATH by gVisor */
	if (m->n_args && m->args[0][0] == '/')
		a.exe_path = m->args[0];
	else if (m->n_args && m->args[0][0] && !strchr(m->args[0], '/'))
		a.exe_path = found = find_in_path(m->args[0], m->env, m->n_env,
						  a.container ? a.container->root : NULL);
	a.cwd = m->cwd && m->cwd[0] == '/' ? m->cwd : t.cwd;
	a.argv = m->args;
	a.argc = m->n_args;
	a.env = m->env;
	a.envc = m->n_env;
	err = emit_exec(dec, &t, &a);
	free(found);
	return err;
}

static int decode_execve_info(struct gvisor_decoder *dec, const Gvisor__ExecveInfo *m)
{
	char sha[2 * 32 + 1];
	struct exec_args a = { 0 };
	struct task_ctx t;

	if (!task_ctx_get(dec, m->context_data, &t))
		return 0;
	a.exe_path = nonempty(m->binary_path);
	a.container = container_find(dec, t.container_id);
	a.cwd = t.cwd;
	a.argv = m->argv;
	a.argc = m->n_argv;
	a.env = m->env;
	a.envc = m->n_env;
	a.exe_mode = m->binary_mode;
	a.exe_uid = m->binary_uid;
	if (m->binary_sha256.len == 32) {
		hex(m->binary_sha256.data, 32, sha);
		a.exe_sha256 = sha;
	}
	return emit_exec(dec, &t, &a);
}

static int decode_clone(struct gvisor_decoder *dec, const Gvisor__CloneInfo *m)
{
	struct gproc *parent, *child;
	struct task_ctx t;
	struct event ev;

	if (!task_ctx_get(dec, m->context_data, &t))
		return 0;
	if (m->created_thread_group_id <= 0)
		return -EBADMSG;
	if ((m->flags & CLONE_THREAD) || (uint32_t)m->created_thread_group_id == t.pid)
		return 0; /* a thread */

	child = gproc_get(&dec->procs, (uint32_t)m->created_thread_group_id);
	if (!child)
		return -ENOMEM;
	child->ppid = t.pid;
	parent = gproc_find(&dec->procs, t.pid);
	if (parent && gproc_fds_copy(&dec->procs, child, parent))
		return -ENOMEM;

	event_init(dec, &t, EVENT_FORK, &ev);
	ev.pid = (uint32_t)m->created_thread_group_id;
	ev.tid = m->created_thread_id > 0 ? (uint32_t)m->created_thread_id : ev.pid;
	ev.fork.ppid = t.pid;
	ev.fork.start_boottime_ns =
	    m->created_thread_start_time_ns > 0 ? m->created_thread_start_time_ns : 0;
	dec->on_event(&ev, dec->ctx);
	return 0;
}

/* One per thread: the thread group leader's is the process's. */
static int decode_task_exit(struct gvisor_decoder *dec, const Gvisor__TaskExit *m)
{
	struct gproc *p;
	struct task_ctx t;
	struct event ev;

	if (!task_ctx_get(dec, m->context_data, &t))
		return 0;
	if (t.tid != t.pid)
		return 0;
	p = gproc_find(&dec->procs, t.pid);
	if (p)
		gproc_remove(&dec->procs, p);
	event_init(dec, &t, EVENT_EXIT, &ev);
	ev.exit.exit_code = (uint32_t)m->exit_status;
	dec->on_event(&ev, dec->ctx);
	return 0;
}

/* The new fd of a successful call, from its exit; -1 at enter or on failure. */
static int32_t exit_fd(const Gvisor__Exit *e)
{
	if (!e || e->errorno || e->result < 0 || e->result > INT32_MAX)
		return -1;
	return (int32_t)e->result;
}

static int decode_open(struct gvisor_decoder *dec, const Gvisor__Open *m)
{
	struct fd_entry tmpl = { 0 };
	struct gproc *p;
	struct task_ctx t;
	char *path;

	if (!task_ctx_get(dec, m->context_data, &t))
		return 0;
	tmpl.fd = exit_fd(m->exit);
	if (tmpl.fd < 0)
		return 0;
	p = gproc_get(&dec->procs, t.pid);
	if (!p)
		return -ENOMEM;
	tmpl.cloexec = m->flags & O_CLOEXEC;
	path = open_resolve(p, m, &t, &tmpl.partial, &tmpl.memfd);
	if (!path) {
		gproc_fd_forget(p, tmpl.fd); /* the number now names a file we cannot name */
		return m->pathname && m->pathname[0] ? -ENOMEM : 0;
	}
	return gproc_fd_remember(&dec->procs, p, &tmpl, path);
}

static int decode_close(struct gvisor_decoder *dec, const Gvisor__Close *m)
{
	struct task_ctx t;

	if (!task_ctx_get(dec, m->context_data, &t))
		return 0;
	/* The fd is gone whatever close returns (even EINTR), and even at enter it is about to be */
	if (m->fd >= 0 && m->fd <= INT32_MAX)
		gproc_fd_forget(gproc_find(&dec->procs, t.pid), (int32_t)m->fd);
	return 0;
}

static int dup_fd(struct gvisor_decoder *dec, const struct task_ctx *t, int32_t old_fd,
		  int32_t new_fd, bool cloexec)
{
	struct gproc *p = gproc_find(&dec->procs, t->pid);
	struct fd_entry *old, tmpl;
	char *path;

	if (!p || new_fd < 0 || old_fd == new_fd)
		return 0;
	old = gproc_fd_find(p, old_fd);
	if (!old) {
		gproc_fd_forget(p, new_fd);
		return 0;
	}
	tmpl = *old;
	tmpl.fd = new_fd;
	tmpl.cloexec = cloexec;
	path = strdup(old->path);
	if (!path)
		return -ENOMEM;
	return gproc_fd_remember(&dec->procs, p, &tmpl, path);
}

static int decode_dup(struct gvisor_decoder *dec, const Gvisor__Dup *m)
{
	struct task_ctx t;

	if (!task_ctx_get(dec, m->context_data, &t))
		return 0;
	return dup_fd(dec, &t, m->old_fd, exit_fd(m->exit), m->flags & O_CLOEXEC);
}

static int decode_fcntl(struct gvisor_decoder *dec, const Gvisor__Fcntl *m)
{
	struct task_ctx t;

	if (!task_ctx_get(dec, m->context_data, &t))
		return 0;
	if (m->cmd != F_DUPFD && m->cmd != F_DUPFD_CLOEXEC)
		return 0;
	return dup_fd(dec, &t, m->fd, exit_fd(m->exit), m->cmd == F_DUPFD_CLOEXEC);
}

static int raw_memfd_create(struct gvisor_decoder *dec, const struct task_ctx *t,
			    const Gvisor__Syscall *m)
{
	struct fd_entry tmpl = { .memfd = true };
	struct gproc *p;
	char *path;

	tmpl.fd = exit_fd(m->exit);
	if (tmpl.fd < 0)
		return 0;
	p = gproc_get(&dec->procs, t->pid);
	path =
	    strdup("/memfd:"); /* the name is in the process's memory, which gVisor does not send */
	if (!p || !path) {
		free(path);
		return -ENOMEM;
	}
	tmpl.cloexec = m->arg2 & MFD_CLOEXEC;
	return gproc_fd_remember(&dec->procs, p, &tmpl, path);
}

/* mmap(addr, len, prot, flags, fd, off) = result: executable code from a file we know */
static int raw_mmap(struct gvisor_decoder *dec, const struct task_ctx *t, const Gvisor__Syscall *m)
{
	uint64_t len = m->arg2, start;
	struct fd_entry *e;
	struct event ev;
	int32_t fd = (int32_t)m->arg5;

	if (!m->exit || m->exit->errorno || (uint64_t)m->exit->result >= (uint64_t)-4095)
		return 0;
	if (!(m->arg3 & PROT_EXEC) || (m->arg4 & MAP_ANONYMOUS) || fd < 0)
		return 0;
	e = gproc_fd_find(gproc_find(&dec->procs, t->pid), fd);
	if (!e) {
		dec->stats.maps_untracked++;
		return 0;
	}
	start = (uint64_t)m->exit->result;
	event_init(dec, t, EVENT_MAP, &ev);
	ev.map.file.path = e->path;
	ev.map.file.path_truncated = e->partial;
	ev.map.file.memfd = e->memfd;
	ev.map.file.on_tmpfs = e->memfd;
	ev.map.file.deleted = e->memfd;
	ev.map.start = start;
	ev.map.end = start + ((len + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1));
	ev.map.pgoff = m->arg6 / PAGE_SIZE_4K;
	ev.map.in_container = true;
	if (dec->enforce_mode)
		ev.map.kill.not_possible =
		    "a gVisor sandbox: its system calls are handled by gVisor's own kernel, out of "
		    "the host kernel's reach, and runtime monitoring reports them without a way "
		    "to refuse one";
	dec->on_event(&ev, dec->ctx);
	return 0;
}

static int decode_raw(struct gvisor_decoder *dec, const Gvisor__Syscall *m)
{
	struct task_ctx t;

	if (!task_ctx_get(dec, m->context_data, &t))
		return 0;
	switch (m->sysno) {
	case SYS_mmap:
		return raw_mmap(dec, &t, m);
	case SYS_memfd_create:
		return raw_memfd_create(dec, &t, m);
	}
	return 0;
}

/* ---- Dispatch ---------------------------------------------------------------------------- */

static int call_start(struct gvisor_decoder *dec, const void *m)
{
	return decode_start(dec, m);
}
static int call_exec(struct gvisor_decoder *dec, const void *m)
{
	return decode_execve_info(dec, m);
}
static int call_clone(struct gvisor_decoder *dec, const void *m)
{
	return decode_clone(dec, m);
}
static int call_task_exit(struct gvisor_decoder *dec, const void *m)
{
	return decode_task_exit(dec, m);
}
static int call_raw(struct gvisor_decoder *dec, const void *m)
{
	return decode_raw(dec, m);
}
static int call_open(struct gvisor_decoder *dec, const void *m)
{
	return decode_open(dec, m);
}
static int call_close(struct gvisor_decoder *dec, const void *m)
{
	return decode_close(dec, m);
}
static int call_dup(struct gvisor_decoder *dec, const void *m)
{
	return decode_dup(dec, m);
}
static int call_fcntl(struct gvisor_decoder *dec, const void *m)
{
	return decode_fcntl(dec, m);
}
/* syscall/execve is checked, but adds nothing to sentry/execve, which sowatch relies on. */
static int call_ignore(struct gvisor_decoder *dec, const void *m)
{
	return 0;
}

static const struct message_kind {
	const ProtobufCMessageDescriptor *desc;
	int (*handle)(struct gvisor_decoder *dec, const void *msg);
} message_kinds[] = {
	[GVISOR__MESSAGE_TYPE__MESSAGE_CONTAINER_START] = { &gvisor__start__descriptor,
							    call_start },
	[GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_CLONE] = { &gvisor__clone_info__descriptor,
							 call_clone },
	[GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_EXEC] = { &gvisor__execve_info__descriptor,
							call_exec },
	[GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_TASK_EXIT] = { &gvisor__task_exit__descriptor,
							     call_task_exit },
	[GVISOR__MESSAGE_TYPE__MESSAGE_SYSCALL_RAW] = { &gvisor__syscall__descriptor, call_raw },
	[GVISOR__MESSAGE_TYPE__MESSAGE_SYSCALL_OPEN] = { &gvisor__open__descriptor, call_open },
	[GVISOR__MESSAGE_TYPE__MESSAGE_SYSCALL_CLOSE] = { &gvisor__close__descriptor, call_close },
	[GVISOR__MESSAGE_TYPE__MESSAGE_SYSCALL_EXECVE] = { &gvisor__execve__descriptor,
							   call_ignore },
	[GVISOR__MESSAGE_TYPE__MESSAGE_SYSCALL_FCNTL] = { &gvisor__fcntl__descriptor, call_fcntl },
	[GVISOR__MESSAGE_TYPE__MESSAGE_SYSCALL_DUP] = { &gvisor__dup__descriptor, call_dup },
};

int gvisor_decode_message(struct gvisor_decoder *dec, const void *data, size_t size)
{
	const uint8_t *bytes = data;
	const struct message_kind *kind;
	ProtobufCMessage *msg;
	uint16_t header_size, type;
	uint32_t dropped;
	int err;

	if (size < GVISOR_HEADER_MIN)
		goto malformed;
	memcpy(&header_size, bytes, sizeof(header_size));
	memcpy(&type, bytes + 2, sizeof(type));
	memcpy(&dropped, bytes + 4, sizeof(dropped));
	if (header_size < GVISOR_HEADER_MIN || header_size > size)
		goto malformed;
	/* A cumulative count that wraps: add what it grew by */
	if (dropped != dec->last_dropped) {
		/* Said before this message's own events, so findings they make carry it */
		struct event ev = { .kind = EVENT_DROPPED, .source = "gvisor", .ns = dec->ns };

		ev.dropped.count = (uint32_t)(dropped - dec->last_dropped);
		dec->stats.dropped_by_gvisor += ev.dropped.count;
		dec->last_dropped = dropped;
		dec->on_event(&ev, dec->ctx);
	}

	if (type >= sizeof(message_kinds) / sizeof(message_kinds[0]) || !message_kinds[type].desc) {
		dec->stats.unknown_type++;
		return -ENOMSG;
	}
	kind = &message_kinds[type];
	msg = protobuf_c_message_unpack(kind->desc, NULL, size - header_size, bytes + header_size);
	if (!msg)
		goto malformed;
	dec->stats.messages++;
	err = kind->handle(dec, msg);
	protobuf_c_message_free_unpacked(msg, NULL);
	if (err == -EBADMSG)
		dec->stats.malformed++;
	return err;
malformed:
	dec->stats.malformed++;
	return -EBADMSG;
}

void gvisor_decoder_set_enforce_mode(struct gvisor_decoder *dec, bool on)
{
	dec->enforce_mode = on;
}

struct gvisor_decoder *gvisor_decoder_new(uint64_t ns, event_handler_fn on_event, void *ctx)
{
	struct gvisor_decoder *dec = calloc(1, sizeof(*dec));

	if (!dec)
		return NULL;
	dec->ns = ns;
	dec->on_event = on_event;
	dec->ctx = ctx;
	dec->procs.stats = &dec->stats;
	return dec;
}

void gvisor_decoder_free(struct gvisor_decoder *dec)
{
	if (!dec)
		return;
	gproc_table_clear(&dec->procs);
	for (int i = 0; i < GVISOR_MAX_CONTAINERS; i++)
		container_free(dec->containers[i]);
	free(dec);
}

void gvisor_decoder_set_root_fn(struct gvisor_decoder *dec, gvisor_root_fn fn, void *ctx)
{
	dec->root_fn = fn;
	dec->root_ctx = ctx;
}

const struct gvisor_decoder_stats *gvisor_decoder_stats(const struct gvisor_decoder *dec)
{
	return &dec->stats;
}

const char *gvisor_decoder_container(const struct gvisor_decoder *dec)
{
	return dec->container;
}

int gvisor_decode_handshake(const void *data, size_t size, uint32_t *ret_version)
{
	Gvisor__Handshake *hs;

	if (size > GVISOR_HANDSHAKE_MAX)
		return -EBADMSG;
	hs = gvisor__handshake__unpack(NULL, size, data);
	if (!hs)
		return -EBADMSG;
	*ret_version = hs->version;
	gvisor__handshake__free_unpacked(hs, NULL);
	return 0;
}

int gvisor_encode_handshake(void *buf, size_t size)
{
	Gvisor__Handshake hs = GVISOR__HANDSHAKE__INIT;

	hs.version = GVISOR_WIRE_VERSION;
	if (gvisor__handshake__get_packed_size(&hs) > size)
		return -ENOSPC;
	return (int)gvisor__handshake__pack(&hs, buf);
}
