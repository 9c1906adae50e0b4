// SPDX-License-Identifier: Apache-2.0
#include "proc/procfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "util/path.h"

/* Open `path` if it is the very file the kernel named; -ESTALE when it is another one. */
static int open_if_same(const char *path, const struct file_ref *file)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_dev != file->dev || st.st_ino != file->ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

int proc_file_digest(uint32_t pid, const struct file_ref *file, uint64_t vm_start,
		     uint64_t vm_end, bool is_exe, struct file_digest *ret)
{
	char candidates[4][PATH_MAX + 64];
	int n = 0, err = -ENOENT;

	if (vm_end > vm_start)
		snprintf(candidates[n++], sizeof(candidates[0]), "/proc/%u/map_files/%llx-%llx", pid,
			 (unsigned long long)vm_start, (unsigned long long)vm_end);
	if (is_exe)
		snprintf(candidates[n++], sizeof(candidates[0]), "/proc/%u/exe", pid);
	if (file->path && file->path[0] == '/') {
		snprintf(candidates[n++], sizeof(candidates[0]), "/proc/%u/root%s", pid,
			 file->path);
		snprintf(candidates[n++], sizeof(candidates[0]), "%s", file->path);
	}
	for (int i = 0; i < n; i++) {
		int fd = open_if_same(candidates[i], file);

		if (fd < 0) {
			if (err != -ESTALE)
				err = fd;
			continue;
		}
		err = hash_fd_sha256(fd, HASH_MAX_BYTES_DEFAULT, ret);
		close(fd);
		if (err == 0)
			return 0;
	}
	return err;
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
