/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a process's files as the process sees them, even deleted ones and memfds. */
#ifndef SOWATCH_PROCFILE_H
#define SOWATCH_PROCFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "event.h"

/* A file's last change as struct file_ref's ctime_ns counts it (CLOCK_REALTIME ns). */
static inline int64_t stat_ctime_ns(const struct stat *st)
{
	return (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

/*
 * Open `file` read-only as process `pid` has it, with its stat in ret_st: through
 * /proc/PID/map_files/START-END when a mapping range is given (works for deleted files and
 * memfds while still mapped), else /proc/PID/exe when is_exe, then /proc/PID/root + path,
 * then the host's path. A candidate counts only if its device and inode are the ones the
 * kernel reported, so a file swapped after the fact is never read in its place. Returns an
 * fd to close, or -errno (-ESTALE: only other files were found under those names).
 */
int proc_file_open(uint32_t pid, const struct file_ref *file, uint64_t vm_start, uint64_t vm_end,
		   bool is_exe, struct stat *ret_st);

/*
 * Open `path`, a name a process gave (argv, environment, configuration), read-only, the way
 * that process would reach it, relative to dirfd (inside it when in_root) without following
 * magic links and never into a procfs: /proc/self, /dev/fd/N and the like name whoever reads
 * them, which here would be sowatch and its own open files. Returns an fd or -errno.
 */
int proc_view_open(int dirfd, const char *path, bool in_root);

/*
 * proc_file_open() for a process that may live in a gVisor sandbox: when
 * pid is 0 (the host's /proc does not know the process) and root names the sandbox's root file
 * system as the host sees it (not NULL, "" or "/"), the file's path is opened inside that root,
 * symlinks (absolute ones included) resolved within it as the process would see them, never
 * escaping it. Otherwise exactly proc_file_open().
 */
int proc_file_open_rooted(uint32_t pid, const char *root, const struct file_ref *file,
			  uint64_t vm_start, uint64_t vm_end, bool is_exe, struct stat *ret_st);
/* Whether root names a file system of its own: not NULL, "" or "/" */
bool proc_root_is_own(const char *root);

/*
 * The process whose mount namespace and root are the host's: "/proc/1", PID 1. Where PID 1 is
 * out of reach (an init that hides itself), "/proc/2": kthreadd, which the kernel starts in the
 * initial mount namespace with PID 1's root, and which no process can impersonate (its stat
 * says it is a kernel thread). NULL when neither can be read: sowatch's own view stands in.
 */
const char *proc_host_process(void);

/*
 * Where the host's files are, as sowatch sees them: "" when it runs in the host's mount
 * namespace, else the root of proc_host_process() ("/proc/1/root"). A service with a private
 * /tmp (systemd's PrivateTmp=) or a container sharing the host's PID namespace has a view of
 * its own, in which the host's /tmp/x.so, say, is another file or none.
 */
const char *proc_host_root(void);

/*
 * Open the host's file at `path` as proc_view_open() does, inside the host's root: a symbolic
 * link there is followed as the host would follow it, never into sowatch's own root.
 */
int proc_host_open(const char *path);

/*
 * A path as process pid (thread tid) means it, made absolute against cwd, with its
 * /proc/self and /proc/thread-self turned into the process's own /proc entries: read from
 * here, "self" would be sowatch. Returns 0, or -errno when it cannot be resolved.
 */
int proc_path_resolve(uint32_t pid, uint32_t tid, const char *cwd, const char *name, char *out,
		      size_t size);

/* The process's working directory as it sees it; "" when gone. */
void proc_cwd(uint32_t pid, char *out, size_t size);

#endif
