// SPDX-License-Identifier: Apache-2.0
#include "proc/sandbox_root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "proc/container.h"
#include "proc/container_annotations.h"
#include "util/path.h"

#define CMDLINE_MAX (64 * 1024)

/* A path as a JSON string may hold it: non-empty, no NUL, no control byte, under PATH_MAX. */
static const char *path_of(const json_t *v)
{
	const char *s = container_json_text(v, PATH_MAX - 1);

	for (const char *c = s; c && *c; c++)
		if ((unsigned char)*c < 0x20)
			return NULL;
	return s;
}

/* dir made absolute against cwd (when relative and cwd is known), normalized. */
static int absolute_dir(const char *dir, const char *cwd, char *ret, size_t size)
{
	if (dir[0] == '/')
		return path_normalize(dir, ret, size);
	if (!cwd || cwd[0] != '/')
		return -ENOENT;
	return path_join(cwd, dir, ret, size);
}

/* root.path of the OCI spec in <bundle>/config.json, for a state that carried no spec. */
static int root_from_bundle_config(const char *bundle, char *ret, size_t size)
{
	json_t *spec, *root;
	const char *path;
	int r = container_bundle_config(bundle, &spec);

	if (r)
		return r;
	root = json_object_get(json_object_get(spec, "root"), "path");
	path = path_of(root);
	r = !root ? -ENOENT : !path ? -EINVAL : path_join(bundle, path, ret, size);
	json_decref(spec);
	return r;
}

int sandbox_root_from_state(const char *json, size_t len, const char *cwd, char *ret, size_t size)
{
	char bundle[PATH_MAX];
	const char *bundle_dir, *root_path;
	json_t *state, *root;
	int r;

	state = container_parse_json(json, len);
	if (!json_is_object(state)) {
		json_decref(state);
		return -EINVAL;
	}
	root = json_object_get(json_object_get(json_object_get(state, "spec"), "root"), "path");
	root_path = path_of(root);
	bundle_dir = path_of(json_object_get(state, "bundleDir"));
	if (root && !root_path) {
		r = -EINVAL;
	} else if (root_path && root_path[0] == '/') {
		r = path_normalize(root_path, ret, size);
	} else if (!bundle_dir) {
		r = -ENOENT; /* relative to a bundle not named */
	} else {
		r = absolute_dir(bundle_dir, cwd, bundle, sizeof(bundle));
		if (!r)
			r = root_path ? path_join(bundle, root_path, ret, size)
				      : root_from_bundle_config(bundle, ret, size);
	}
	json_decref(state);
	return r;
}

/* runsc's subcommands: global flags come before them, the command's own arguments after. */
static bool is_runsc_command(const char *arg)
{
	static const char *const commands[] = {
		"boot",	     "checkpoint",    "create",	      "debug", "delete",
		"do",	     "events",	      "exec",	      "flags", "gofer",
		"help",	     "kill",	      "list",	      "pause", "ps",
		"restore",   "resume",	      "run",	      "spec",  "start",
		"state",     "syscalls",      "trace",	      "wait",  "install",
		"uninstall", "metric-server", "port-forward", "tar",   "usage",
		NULL,
	};

	for (const char *const *c = commands; *c; c++)
		if (strcmp(arg, *c) == 0)
			return true;
	return false;
}

int sandbox_runsc_root_from_cmdline(const char *cmdline, size_t len, char *ret, size_t size)
{
	const char *end = cmdline + len;
	const char *arg = cmdline;

	/* argv[0] is runsc itself; the flags stop at the command (or at "--"). */
	arg += strnlen(arg, end - arg) + 1;
	for (; arg < end; arg += strnlen(arg, end - arg) + 1) {
		size_t n = strnlen(arg, end - arg);
		const char *flag = arg, *value;
		size_t value_len;

		if (n == 0 || (n == 2 && memcmp(arg, "--", 2) == 0) ||
		    (arg + n < end && is_runsc_command(arg)))
			break;
		/* Go's flag package takes "-root" and "--root" alike. */
		if (n > 1 && flag[0] == '-' && flag[1] == '-')
			flag++;
		if ((size_t)(flag - arg) + 6 <= n && strncmp(flag, "-root=", 6) == 0) {
			value = flag + 6;
		} else if ((size_t)(flag - arg) + 5 == n && strncmp(flag, "-root", 5) == 0) {
			value = arg + n + 1;
		} else {
			continue;
		}
		if (value >= end || !value[0])
			return -ENOENT;
		value_len = strnlen(value, end - value);
		if (value_len >= size)
			return -ENAMETOOLONG;
		memcpy(ret, value, value_len);
		ret[value_len] = '\0';
		return 0;
	}
	return -ENOENT;
}

int sandbox_runsc_dirs_of_pid(pid_t pid, char *ret_state_dir, size_t state_size, char *ret_cwd,
			      size_t cwd_size)
{
	char path[64], root[PATH_MAX], *cmdline = NULL;
	size_t len = 0;
	ssize_t n;
	int dfd, r;

	ret_state_dir[0] = ret_cwd[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	n = readlinkat(dfd, "cwd", ret_cwd, cwd_size - 1);
	ret_cwd[n > 0 && ret_cwd[0] == '/' ? n : 0] = '\0';
	/* /proc files report size 0: container_read_small_file() reads to EOF within the bound. */
	r = container_read_small_file(dfd, "cmdline", CMDLINE_MAX, &cmdline, &len);
	close(dfd);
	if (r)
		return r;
	if (sandbox_runsc_root_from_cmdline(cmdline, len, root, sizeof(root)) == 0 &&
	    absolute_dir(root, ret_cwd, ret_state_dir, state_size))
		ret_state_dir[0] = '\0';
	free(cmdline);
	return 0;
}

/* The state file of id in one directory: "<id>_sandbox:<sandbox id>.state". */
static int find_in_state_dir(const char *dir, const char *id, const char *cwd, char *ret,
			     size_t size)
{
	size_t idn = strlen(id);
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = -ENOENT;

	if (!d)
		return -ENOENT;
	while (r == -ENOENT && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char *buf = NULL;
		size_t len;

		if (n <= idn + 15 || strncmp(de->d_name, id, idn) != 0 ||
		    strncmp(de->d_name + idn, "_sandbox:", 9) != 0 ||
		    strcmp(de->d_name + n - 6, ".state") != 0)
			continue;
		if (container_read_small_file(dirfd(d), de->d_name, SANDBOX_STATE_FILE_MAX, &buf,
					      &len))
			continue;
		r = sandbox_root_from_state(buf, len, cwd, ret, size);
		free(buf);
		/* The state names the container but no usable root: say so, do not look on. */
		if (r == -ENOENT)
			r = -EINVAL;
	}
	closedir(d);
	return r;
}

int sandbox_root_find(const char *id, const char *const *state_dirs, const char *cwd, char *ret,
		      size_t size)
{
	const char *dirs[SANDBOX_STATE_DIRS_MAX + 1];
	size_t n = 0;
	struct stat st;
	int r = -ENOENT;

	if (!container_id_is_valid(id))
		return -EINVAL;
	for (const char *const *d = state_dirs; d && *d && n < SANDBOX_STATE_DIRS_MAX; d++)
		if ((*d)[0] == '/')
			dirs[n++] = *d;
	for (const char *const *d = container_runsc_roots; *d && n < SANDBOX_STATE_DIRS_MAX; d++)
		dirs[n++] = *d;
	dirs[n] = NULL;
	for (size_t i = 0; dirs[i] && r == -ENOENT; i++) {
		bool again = false;

		for (size_t j = 0; j < i; j++)
			again |= strcmp(dirs[i], dirs[j]) == 0;
		if (!again)
			r = find_in_state_dir(dirs[i], id, cwd, ret, size);
	}
	if (r)
		return r;
	if (stat(ret, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}
