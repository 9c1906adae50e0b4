// SPDX-License-Identifier: Apache-2.0
#include "proc/procfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#include "util/path.h"

/*
 * An O_PATH fd made readable, if it is a regular file (or a directory): opening anything else
 * can act (a watchdog starts on open, a tape rewinds), so it is never opened for reading.
 */
static int reopen_if_file(int pathfd)
{
	char self[64];
	struct stat st;
	int fd;

	if (fstat(pathfd, &st) || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		close(pathfd);
		return -EACCES;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pathfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		fd = -errno;
	close(pathfd);
	return fd;
}

int proc_view_open(int dirfd, const char *path, bool in_root)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_MAGICLINKS | (in_root ? RESOLVE_IN_ROOT : 0),
	};
	struct statfs sfs;
	int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sfs) || sfs.f_type == PROC_SUPER_MAGIC) {
		close(fd);
		return -EACCES;
	}
	return reopen_if_file(fd);
}

/*
 * "/proc/PID/fd/N" or "/proc/PID/task/TID/fd/N" of process pid, digits only: the one form of a
 * process's name that sowatch opens through its magic link (proc_path_resolve() made it from
 * the process's own /proc/self/fd/N).
 */
static bool names_own_fd(uint32_t pid, const char *path)
{
	char prefix[32];
	size_t n = (size_t)snprintf(prefix, sizeof(prefix), "/proc/%u/", pid);
	const char *p = path + n;

	if (strncmp(path, prefix, n) != 0)
		return false;
	if (strncmp(p, "task/", 5) == 0) {
		p += 5;
		if (!isdigit((unsigned char)*p))
			return false;
		p += strspn(p, "0123456789");
		if (*p++ != '/')
			return false;
	}
	if (strncmp(p, "fd/", 3) != 0 || !isdigit((unsigned char)p[3]))
		return false;
	return p[3 + strspn(p + 3, "0123456789")] == '\0';
}

/* How a candidate name is opened */
enum candidate_kind {
	CANDIDATE_OURS,	   /* a /proc/PID/... name sowatch made: magic links are the point */
	CANDIDATE_IN_ROOT, /* the process's path, inside its root */
	CANDIDATE_AS_IS,   /* the process's path, from here */
};

static int candidate_open(uint32_t pid, const char *path, enum candidate_kind kind)
{
	char root[64];
	int rootfd, fd;

	switch (kind) {
	case CANDIDATE_OURS:
		fd = open(path, O_PATH | O_CLOEXEC);
		return fd < 0 ? -errno : reopen_if_file(fd);
	case CANDIDATE_IN_ROOT:
		snprintf(root, sizeof(root), "/proc/%u/root", pid);
		rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			return -errno;
		fd = proc_view_open(rootfd, path, true);
		close(rootfd);
		return fd;
	case CANDIDATE_AS_IS:
		break;
	}
	return proc_host_open(path);
}

/* Open a candidate if it is the very file the kernel named; -ESTALE when it is another one. */
static int open_if_same(uint32_t pid, const char *path, enum candidate_kind kind,
			const struct file_ref *file, struct stat *st)
{
	int fd = candidate_open(pid, path, kind);

	if (fd < 0)
		return fd;
	/*
	 * Through a path, an overlay's file shows the overlay's identity; through map_files,
	 * the layer's. A source that knows no identity at all (gVisor names files by path
	 * only) gets the file its path names in the sandbox's root as the host sees it.
	 */
	bool unknown = !file->ino && !file->real_ino;

	if (fstat(fd, st) ||
	    !(unknown || (st->st_dev == file->dev && st->st_ino == file->ino) ||
	      (file->real_ino && st->st_dev == file->real_dev && st->st_ino == file->real_ino))) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

int proc_file_open(uint32_t pid, const struct file_ref *file, uint64_t vm_start, uint64_t vm_end,
		   bool is_exe, struct stat *ret_st)
{
	struct {
		char path[PATH_MAX + 64];
		enum candidate_kind kind;
	} c[4];
	int n = 0, err = -ENOENT;

	if (!pid) /* not a host process: /proc cannot tell, only the path might */
		vm_start = vm_end = 0, is_exe = false;
	if (vm_end > vm_start) {
		snprintf(c[n].path, sizeof(c[n].path), "/proc/%u/map_files/%llx-%llx", pid,
			 (unsigned long long)vm_start, (unsigned long long)vm_end);
		c[n++].kind = CANDIDATE_OURS;
	}
	if (is_exe) {
		snprintf(c[n].path, sizeof(c[n].path), "/proc/%u/exe", pid);
		c[n++].kind = CANDIDATE_OURS;
	}
	if (file->path && file->path[0] == '/') {
		if (pid) {
			snprintf(c[n].path, sizeof(c[n].path), "%s", file->path);
			c[n++].kind = CANDIDATE_IN_ROOT;
		}
		snprintf(c[n].path, sizeof(c[n].path), "%s", file->path);
		c[n++].kind =
		    pid && names_own_fd(pid, file->path) ? CANDIDATE_OURS : CANDIDATE_AS_IS;
	}
	for (int i = 0; i < n; i++) {
		int fd = open_if_same(pid, c[i].path, c[i].kind, file, ret_st);

		if (fd >= 0)
			return fd;
		if (err != -ESTALE)
			err = fd;
	}
	return err;
}

static const char *host_process, *host_root = "";

/* PF_KTHREAD in the flags of /proc/2/stat: set by the kernel alone. */
static bool is_kernel_thread(const char *proc)
{
	char path[32], buf[512];
	unsigned long flags;
	const char *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/stat", proc);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	end = strrchr(buf, ')'); /* after the name, which may hold anything */
	return end && sscanf(end + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1 &&
	       (flags & 0x00200000);
}

static void host_find(void)
{
	struct stat own, host;

	if (stat("/proc/1/ns/mnt", &host) == 0)
		host_process = "/proc/1";
	else if (is_kernel_thread("/proc/2") && stat("/proc/2/ns/mnt", &host) == 0)
		host_process = "/proc/2";
	if (host_process && stat("/proc/self/ns/mnt", &own) == 0 &&
	    (own.st_dev != host.st_dev || own.st_ino != host.st_ino))
		host_root = strcmp(host_process, "/proc/1") == 0 ? "/proc/1/root" : "/proc/2/root";
}

static pthread_once_t host_once = PTHREAD_ONCE_INIT;

const char *proc_host_process(void)
{
	pthread_once(&host_once, host_find);
	return host_process;
}

const char *proc_host_root(void)
{
	pthread_once(&host_once, host_find);
	return host_root;
}

int proc_host_open(const char *path)
{
	int rootfd, fd;

	if (!proc_host_root()[0])
		return proc_view_open(AT_FDCWD, path, false);
	rootfd = open(proc_host_root(), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	fd = proc_view_open(rootfd, path, true);
	close(rootfd);
	return fd;
}

bool proc_root_is_own(const char *root)
{
	return root && root[0] && strcmp(root, "/") != 0;
}

int proc_file_open_rooted(uint32_t pid, const char *root, const struct file_ref *file,
			  uint64_t vm_start, uint64_t vm_end, bool is_exe, struct stat *ret_st)
{
	int rootfd, fd;

	if (pid || !proc_root_is_own(root))
		return proc_file_open(pid, file, vm_start, vm_end, is_exe, ret_st);
	if (!file->path || file->path[0] != '/')
		return -ENOENT;
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	fd = proc_view_open(rootfd, file->path, true);
	close(rootfd);
	if (fd < 0)
		return fd;
	/* A sandbox names files by path only; when an identity is known, it must match. */
	if (fstat(fd, ret_st) || ((file->ino || file->real_ino) &&
				  !(ret_st->st_dev == file->dev && ret_st->st_ino == file->ino))) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

int proc_path_resolve(uint32_t pid, uint32_t tid, const char *cwd, const char *name, char *out,
		      size_t size)
{
	char own[64];
	int err = path_join(cwd && cwd[0] == '/' ? cwd : "/", name, out, size);

	if (err)
		return err;
	if (path_is_under(out, "/proc/self"))
		snprintf(own, sizeof(own), "/proc/%u", pid);
	else if (path_is_under(out, "/proc/thread-self"))
		snprintf(own, sizeof(own), "/proc/%u/task/%u", pid, tid);
	else
		return 0;
	{
		const char *rest = out + strcspn(out + 1, "/") + 1; /* after "/proc" */
		char joined[PATH_MAX];

		rest += strcspn(rest + 1, "/") + 1; /* after "/self" or "/thread-self" */
		if ((size_t)snprintf(joined, sizeof(joined), "%s%s", own, rest) >= size)
			return -ENAMETOOLONG;
		snprintf(out, size, "%s", joined);
	}
	return 0;
}

void proc_cwd(uint32_t pid, char *out, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/cwd", pid);
	n = readlink(link, out, size - 1);
	out[n > 0 ? n : 0] = '\0';
}
