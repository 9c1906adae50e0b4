// SPDX-License-Identifier: Apache-2.0
#include "detectors/trust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "detectors/trust_identity.h"
#include "proc/procfile.h"
#include "util/path.h"

static const char *const default_lib_dirs[] = {
	"/lib", "/usr/lib", "/lib64", "/usr/lib64", "/lib32", "/usr/lib32", "/usr/libx32", NULL,
};

/* OpenSSL_version() answers `ENGINESDIR: "/usr/lib/..."`: keep what is between the quotes. */
static int quoted_dir(const char *answer, char *out, size_t size)
{
	const char *open = strchr(answer, '"');
	const char *close = open ? strchr(open + 1, '"') : NULL;
	char dir[PATH_MAX];

	if (!close || (size_t)(close - open - 1) >= sizeof(dir))
		return -EINVAL;
	memcpy(dir, open + 1, close - open - 1);
	dir[close - open - 1] = '\0';
	return path_normalize(dir, out, size);
}

int trust_policy_init(struct trust_policy *tp)
{
	int err;

	memset(tp, 0, sizeof(*tp));
	tp->lib_dirs = default_lib_dirs;
	err = quoted_dir(OpenSSL_version(OPENSSL_DIR), tp->openssl_dir, sizeof(tp->openssl_dir));
	if (err)
		return err;
	err = quoted_dir(OpenSSL_version(OPENSSL_ENGINES_DIR), tp->engines_dir,
			 sizeof(tp->engines_dir));
	if (err)
		return err;
	return quoted_dir(OpenSSL_version(OPENSSL_MODULES_DIR), tp->modules_dir,
			  sizeof(tp->modules_dir));
}

void trust_policy_init_dirs(struct trust_policy *tp, const char *engines_dir,
			    const char *modules_dir, const char *const *lib_dirs)
{
	memset(tp, 0, sizeof(*tp));
	path_normalize(engines_dir, tp->engines_dir, sizeof(tp->engines_dir));
	path_normalize(modules_dir, tp->modules_dir, sizeof(tp->modules_dir));
	tp->lib_dirs = lib_dirs ? lib_dirs : default_lib_dirs;
}

static bool owned_by_root_not_shared_writable(uint32_t uid, uint32_t mode)
{
	return uid == 0 && !(mode & (S_IWGRP | S_IWOTH));
}

/* The directory holding `path`, seen through `root`: root-owned and not writable by others? */
static bool directory_is_safe(const char *root, const char *path)
{
	char dir[PATH_MAX * 2];
	const char *slash = strrchr(path, '/');
	struct stat st;

	snprintf(dir, sizeof(dir), "%s%.*s", root, (int)(slash - path), path);
	/*
	 * When the process is already gone, its root is too: the host's view of the same path
	 * is the best left. The file's own owner and mode, which matter most, come from the
	 * kernel at the moment of the mapping.
	 */
	if (stat(dir[0] ? dir : "/", &st) &&
	    (!root[0] || stat(slash == path ? "/" : dir + strlen(root), &st)))
		return false;
	return owned_by_root_not_shared_writable(st.st_uid, st.st_mode);
}

enum trust_verdict trust_decide(const struct trust_policy *tp, const struct file_ref *file,
				enum trust_role role, const char *root, const char **ret_reason)
{
	struct trust_view view = { .root = root };

	return trust_decide_view(tp, file, role, &view, ret_reason);
}

enum trust_verdict trust_decide_view(const struct trust_policy *tp, const struct file_ref *file,
				     enum trust_role role, const struct trust_view *view,
				     const char **ret_reason)
{
	const char *root = view->root ? view->root : "";
	char path[PATH_MAX];
	enum trust_verdict where = TRUST_CUSTOM;

	if (file->memfd) {
		*ret_reason = "the module is an anonymous memory file (memfd)";
		return TRUST_CUSTOM;
	}
	if (file->deleted) {
		*ret_reason = "the module's file was deleted";
		return TRUST_CUSTOM;
	}
	if (file->path_truncated) {
		*ret_reason = "the module's path is too deep or too long to be read whole";
		return TRUST_CUSTOM;
	}
	if (!file->path || file->path_unreachable ||
	    path_normalize(file->path, path, sizeof(path))) {
		*ret_reason = "the module's path is unknown or not absolute";
		return TRUST_CUSTOM;
	}
	{
		char dir[PATH_MAX];
		char *slash;

		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		*slash = '\0';
		if ((tp->engines_dir[0] && strcmp(dir, tp->engines_dir) == 0) ||
		    (tp->modules_dir[0] && strcmp(dir, tp->modules_dir) == 0))
			where = TRUST_MODULE_DIR;
	}
	for (const char *const *d = tp->lib_dirs; where == TRUST_CUSTOM && d && *d; d++)
		if (path_is_under(path, *d))
			where = TRUST_SYSTEM_LIBRARY;
	if (where == TRUST_SYSTEM_LIBRARY && role == ROLE_MODULE) {
		*ret_reason = "the module was named to OpenSSL but lies outside its ENGINESDIR and "
			      "MODULESDIR (a system library directory is no place for one)";
		return TRUST_CUSTOM;
	}
	if (where == TRUST_CUSTOM) {
		*ret_reason = "the module lies outside OpenSSL's ENGINESDIR and MODULESDIR and the "
			      "system library directories";
		return TRUST_CUSTOM;
	}
	if (!owned_by_root_not_shared_writable(file->uid, file->mode)) {
		*ret_reason = "the module is not owned by root or is writable by group or others";
		return TRUST_CUSTOM;
	}
	if (!directory_is_safe(root, path)) {
		*ret_reason = "the module's directory is not owned by root or is writable by group "
			      "or others";
		return TRUST_CUSTOM;
	}
	/*
	 * The right place, the right owner: now, is it the file that was installed there? A
	 * source that gives no identity (gVisor's) leaves the place to decide.
	 */
	if (tp->identity && file->ino) {
		struct file_ref at = *file;

		at.path = path;
		if (!trust_identity_check(tp->identity, &at, view, ret_reason))
			return TRUST_CUSTOM;
		return where;
	}
	*ret_reason = where == TRUST_MODULE_DIR ? "in OpenSSL's module directory, owned by root"
						: "in a system library directory, owned by root";
	return where;
}

struct dir_walk {
	void (*fn)(const char *dir, const struct stat *st, bool modules, void *ctx);
	void *ctx;
	bool modules;
};

static int walk_dir(const char *dir, int depth, const struct dir_walk *w)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode) ||
	    !owned_by_root_not_shared_writable(st.st_uid, st.st_mode))
		return 0;
	w->fn(dir, &st, w->modules, w->ctx);
	n++;
	if (depth <= 0 || !(d = opendir(dir)))
		return n;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];

		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) ||
		    (size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= sizeof(sub))
			continue;
		n += walk_dir(sub, depth - 1, w);
	}
	closedir(d);
	return n;
}

/* The host's directory `dir`, walked in the host's root (see proc_host_root()). */
static int walk_host_dir(const char *dir, int depth, const struct dir_walk *w)
{
	char path[PATH_MAX];

	if (!dir[0] ||
	    (size_t)snprintf(path, sizeof(path), "%s%s", proc_host_root(), dir) >= sizeof(path))
		return 0;
	return walk_dir(path, depth, w);
}

int trust_policy_for_each_dir(const struct trust_policy *tp, int depth,
			      void (*fn)(const char *dir, const struct stat *st, bool modules,
					 void *ctx),
			      void *ctx)
{
	struct dir_walk w = { .fn = fn, .ctx = ctx };
	int n = 0;

	for (const char *const *d = tp->lib_dirs; d && *d; d++)
		n += walk_host_dir(*d, depth, &w);
	/* Last: OpenSSL's module directories usually lie below a library directory too. */
	w.modules = true;
	return n + walk_host_dir(tp->engines_dir, 0, &w) + walk_host_dir(tp->modules_dir, 0, &w);
}

static uint64_t fnv64_add(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* The host's directory `dir`, opened in the host's root (see proc_host_root()); NULL if not */
static DIR *host_opendir(const char *dir)
{
	char path[PATH_MAX];

	if (!dir[0] ||
	    (size_t)snprintf(path, sizeof(path), "%s%s", proc_host_root(), dir) >= sizeof(path))
		return NULL;
	return opendir(path);
}

/*
 * A hash of a directory's entries (in the host's view) as trust sees them: name, inode and
 * ctime, which any write in place, chmod, chown, rename or replacement changes. A few stats:
 * the module directories hold a handful of files.
 */
static uint64_t host_dir_entries_hash(const char *dir, uint64_t h)
{
	DIR *d = host_opendir(dir);
	struct dirent *de;

	if (!d)
		return fnv64_add(h, "-", 1);
	while ((de = readdir(d))) {
		struct stat st;
		int64_t ctime_ns;

		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		ctime_ns = stat_ctime_ns(&st);
		h = fnv64_add(h, de->d_name, strlen(de->d_name) + 1);
		h = fnv64_add(h, &st.st_ino, sizeof(st.st_ino));
		h = fnv64_add(h, &ctime_ns, sizeof(ctime_ns));
	}
	closedir(d);
	return h;
}

bool trust_policy_modules_changed(const struct trust_policy *tp, struct trust_modules_stamp *stamp)
{
	uint64_t files = host_dir_entries_hash(tp->engines_dir, 0xcbf29ce484222325ull);
	struct trust_modules_stamp now = {
		.files = host_dir_entries_hash(tp->modules_dir, files),
		.packages = tp->identity ? trust_identity_generation(tp->identity) : 0,
	};
	bool changed = memcmp(&now, stamp, sizeof(now)) != 0;

	*stamp = now;
	return changed;
}

/* The files of one module directory that the policy trusts as modules */
static int for_each_module_in(const struct trust_policy *tp, const char *dir,
			      void (*fn)(const char *path, const struct stat *st, void *ctx),
			      void *ctx)
{
	struct trust_view view = { .root = proc_host_root() };
	DIR *d = host_opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		const char *reason;
		struct stat st;
		struct file_ref file;

		/* A symlink's target is judged as the file it is, where it lies. */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		file = (struct file_ref){
			.path = path,
			.dev = st.st_dev,
			.ino = st.st_ino,
			.real_dev = st.st_dev,
			.real_ino = st.st_ino,
			.uid = st.st_uid,
			.mode = st.st_mode,
			.size = st.st_size,
			.ctime_ns = stat_ctime_ns(&st),
		};
		if (trust_decide_view(tp, &file, ROLE_MODULE, &view, &reason) == TRUST_CUSTOM)
			continue;
		fn(path, &st, ctx);
		n++;
	}
	closedir(d);
	return n;
}

int trust_policy_for_each_module(const struct trust_policy *tp,
				 void (*fn)(const char *path, const struct stat *st, void *ctx),
				 void *ctx)
{
	return for_each_module_in(tp, tp->engines_dir, fn, ctx) +
	       for_each_module_in(tp, tp->modules_dir, fn, ctx);
}
