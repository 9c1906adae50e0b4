// SPDX-License-Identifier: Apache-2.0
#include "util/safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* As the kernel's own limit on symbolic links in one lookup. */
#define SAFE_PATH_MAX_LINKS 40

static int refuse(struct safe_path *sp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fills sp->error with "refusing WHAT GIVEN: <reason>" and returns -EPERM. */
static int refuse(struct safe_path *sp, const char *fmt, ...)
{
	int n = snprintf(sp->error, sizeof(sp->error), "refusing %s %s: ", sp->what, sp->given);
	va_list ap;

	sp->reason = sp->error + strlen(sp->error);
	if (n > 0 && (size_t)n < sizeof(sp->error)) {
		va_start(ap, fmt);
		vsnprintf(sp->error + n, sizeof(sp->error) - n, fmt, ap);
		va_end(ap);
	}
	return -EPERM;
}

/* Fills sp->error for a failure of the system on where (NULL: the path given) and returns err. */
static int fail(struct safe_path *sp, int err, const char *where)
{
	int n = snprintf(sp->error, sizeof(sp->error), "cannot use %s %s: ", sp->what, sp->given);

	sp->reason = sp->error + strlen(sp->error);
	if (n > 0 && (size_t)n < sizeof(sp->error))
		snprintf(sp->error + n, sizeof(sp->error) - n, "%s%s%s", where ? where : "",
			 where ? ": " : "", strerror(-err));
	return err;
}

static bool owner_trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static int refuse_owner(struct safe_path *sp, const char *where, uid_t uid)
{
	if (geteuid() == 0)
		return refuse(sp, "%s is owned by uid %u, not by root", where, (unsigned int)uid);
	return refuse(sp, "%s is owned by uid %u, neither by root nor by uid %u", where,
		      (unsigned int)uid, (unsigned int)geteuid());
}

static const char *writers(mode_t mode)
{
	return mode & S_IWOTH ? "others" : "its group";
}

/* A directory on the way: nobody but root or the euid can change its entries. */
static int check_dir(struct safe_path *sp, const char *where, const struct stat *st, bool private)
{
	mode_t mode = st->st_mode;

	if (!owner_trusted(st->st_uid))
		return refuse_owner(sp, where, st->st_uid);
	if (!(mode & (S_IWGRP | S_IWOTH)))
		return 0;
	if (!(mode & S_ISVTX))
		return refuse(sp, "%s is writable by %s (mode %04o) without the sticky bit", where,
			      writers(mode), (unsigned int)(mode & 07777));
	if (private)
		return refuse(sp, "%s is writable by %s (mode %04o)", where, writers(mode),
			      (unsigned int)(mode & 07777));
	return 0;
}

static const char *type_name(mode_t type)
{
	return type == S_IFSOCK ? "a socket" : type == S_IFDIR ? "a directory" : "a regular file";
}

/*
 * An entry we are about to use: what it should be, and nobody else's to change. A socket's
 * mode says who may connect to it, not who may change it. A character device, when allowed,
 * nobody but root can have made (mknod needs CAP_MKNOD), and its owner and mode only say who
 * may use it (a tty is its user's; /dev/null shows as nobody's in a user namespace).
 */
static int check_file(struct safe_path *sp, const char *where, const struct stat *st, mode_t type)
{
	mode_t mode = st->st_mode;

	if (S_ISLNK(mode))
		return refuse(sp, "%s is a symbolic link", where);
	if (S_ISCHR(mode) && type == S_IFREG && (sp->flags & SAFE_PATH_ALLOW_DEVICE))
		return 0;
	if (S_ISFIFO(mode) && type == S_IFREG && (sp->flags & SAFE_PATH_ALLOW_FIFO))
		type = S_IFIFO; /* and checked as a file: its owner, who may write it */
	if ((mode & S_IFMT) != type)
		return refuse(sp, "%s is not %s", where, type_name(type));
	if (!owner_trusted(st->st_uid))
		return refuse_owner(sp, where, st->st_uid);
	if ((type == S_IFREG || type == S_IFIFO) && (mode & (S_IWGRP | S_IWOTH)))
		return refuse(sp, "%s is writable by %s (mode %04o)", where, writers(mode),
			      (unsigned int)(mode & 07777));
	/* A second name may be someone's hard link to a root file (protected_hardlinks off) */
	if (type == S_IFREG && st->st_nlink > 1)
		return refuse(sp, "%s has %ju names (hard links): it may be another file of root's",
			      where, (uintmax_t)st->st_nlink);
	return 0;
}

/* dir + "/" + name into out (dir "/" gives "/name"). */
static int join(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The root directory, checked like any other, as the start of a walk. */
static int open_root(struct safe_path *sp, int *fd)
{
	struct stat st;

	if (*fd >= 0)
		close(*fd);
	*fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0 || fstat(*fd, &st))
		return fail(sp, -errno, "/");
	strcpy(sp->dir, "/");
	return check_dir(sp, "/", &st, false);
}

/* Drops the last component of sp->dir (never above "/"). */
static void dir_pop(struct safe_path *sp)
{
	char *slash = strrchr(sp->dir, '/');

	if (slash == sp->dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
}

/*
 * Replaces the walk's remaining components (todo + pos) with the target of the link at fd
 * followed by them. A relative target continues from the current directory, an absolute one
 * from the root.
 */
static int splice_link(struct safe_path *sp, int link_fd, const char *where, char *todo,
		       size_t size, size_t *pos, int *dir_fd)
{
	char target[PATH_MAX], rest[PATH_MAX];
	ssize_t n = readlinkat(link_fd, "", target, sizeof(target) - 1);

	if (n < 0)
		return fail(sp, -errno, where);
	target[n] = '\0';
	snprintf(rest, sizeof(rest), "%s", todo + *pos);
	if (snprintf(todo, size, "%s/%s", target, rest) >= (int)size)
		return fail(sp, -ENAMETOOLONG, where);
	*pos = 0;
	return target[0] == '/' ? open_root(sp, dir_fd) : 0;
}

/*
 * Walks the directories in todo from *dir_fd (checked, at sp->dir), one name at a time,
 * leaving *dir_fd and sp->dir at the last one.
 */
static int walk(struct safe_path *sp, char *todo, size_t size, unsigned int flags, int *dir_fd)
{
	char where[PATH_MAX];
	size_t pos = 0;
	int links = 0, err;

	while (todo[pos]) {
		char name[NAME_MAX + 1];
		size_t len = strcspn(todo + pos, "/");
		struct stat st;
		int next;

		if (len == 0) {
			pos++;
			continue;
		}
		if (len > NAME_MAX)
			return fail(sp, -ENAMETOOLONG, todo);
		memcpy(name, todo + pos, len);
		name[len] = '\0';
		pos += len;
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			/* Back to a directory checked on the way here (or "/" itself). */
			next = openat(*dir_fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (next < 0)
				return fail(sp, -errno, sp->dir);
			close(*dir_fd);
			*dir_fd = next;
			dir_pop(sp);
			continue;
		}
		err = join(where, sizeof(where), sp->dir, name);
		if (err)
			return fail(sp, err, sp->dir);
		next = openat(*dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && (flags & SAFE_PATH_MKDIR)) {
			if (mkdirat(*dir_fd, name, 0700) && errno != EEXIST)
				return fail(sp, -errno, where);
			next = openat(*dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0)
			return fail(sp, -errno, where);
		if (fstat(next, &st)) {
			err = fail(sp, -errno, where);
			close(next);
			return err;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > SAFE_PATH_MAX_LINKS)
				err = fail(sp, -ELOOP, where);
			else if (!owner_trusted(st.st_uid))
				err = refuse(sp, "%s is a symbolic link owned by uid %u", where,
					     (unsigned int)st.st_uid);
			else
				err = splice_link(sp, next, where, todo, size, &pos, dir_fd);
			close(next);
			if (err)
				return err;
			continue;
		}
		err = S_ISDIR(st.st_mode) ? check_dir(sp, where, &st, false)
					  : fail(sp, -ENOTDIR, where);
		if (err) {
			close(next);
			return err;
		}
		close(*dir_fd);
		*dir_fd = next;
		strcpy(sp->dir, where);
	}
	return 0;
}

int safe_path_open(struct safe_path *sp, const char *path, const char *what, unsigned int flags)
{
	char todo[PATH_MAX], cwd[PATH_MAX];
	const char *slash, *name;
	struct stat st;
	int err;

	sp->dir_fd = -1;
	sp->flags = flags;
	sp->what = what;
	sp->given = path;
	sp->error[0] = '\0';
	sp->reason = sp->error;
	sp->dir[0] = sp->name[0] = sp->path[0] = '\0';

	slash = strrchr(path, '/');
	name = slash ? slash + 1 : path;
	if (!name[0] || !strcmp(name, ".") || !strcmp(name, ".."))
		return fail(sp, -EISDIR, path);
	if (strlen(name) > NAME_MAX)
		return fail(sp, -ENAMETOOLONG, path);
	strcpy(sp->name, name);

	/* The directory part, absolute: a relative path starts at the working directory. */
	if (path[0] == '/') {
		cwd[0] = '\0';
	} else if (!getcwd(cwd, sizeof(cwd))) {
		return fail(sp, -errno, "the working directory");
	}
	if (snprintf(todo, sizeof(todo), "%s/%.*s", cwd, (int)(slash ? slash - path : 0), path) >=
	    (int)sizeof(todo))
		return fail(sp, -ENAMETOOLONG, path);

	err = open_root(sp, &sp->dir_fd);
	if (!err)
		err = walk(sp, todo, sizeof(todo), flags, &sp->dir_fd);
	/* The last directory again, with the stricter rule when asked */
	if (!err && (flags & SAFE_PATH_PRIVATE_DIR)) {
		if (fstat(sp->dir_fd, &st))
			err = fail(sp, -errno, sp->dir);
		else
			err = check_dir(sp, sp->dir, &st, true);
	}
	if (!err && join(sp->path, sizeof(sp->path), sp->dir, sp->name))
		err = fail(sp, -ENAMETOOLONG, path);
	if (err) {
		safe_path_close(sp);
		return err;
	}
	return 0;
}

int safe_path_check_entry(struct safe_path *sp, const char *name, mode_t type, struct stat *ret_st)
{
	char where[PATH_MAX];
	struct stat st;
	int err = join(where, sizeof(where), sp->dir, name);

	if (err)
		return fail(sp, err, name);
	if (fstatat(sp->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW))
		return fail(sp, -errno, where);
	err = check_file(sp, where, &st, type);
	if (!err && ret_st)
		*ret_st = st;
	return err;
}

int safe_path_open_file(struct safe_path *sp, int flags, mode_t mode)
{
	struct stat st;
	int fd, err;

	/* O_NONBLOCK: a planted FIFO must fail (or be refused below), not block us. */
	fd = openat(sp->dir_fd, sp->name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		    mode);
	if (fd < 0) {
		err = -errno;
		/*
		 * Say what was there, if that is why: O_NOFOLLOW answers ELOOP for a link, but the
		 * kernel's protected_symlinks and protected_regular answer EACCES first for someone
		 * else's link or file in a sticky directory.
		 */
		if (fstatat(sp->dir_fd, sp->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    check_file(sp, sp->path, &st, S_IFREG))
			return -EPERM;
		return fail(sp, err, sp->path);
	}
	if (fstat(fd, &st))
		err = fail(sp, -errno, sp->path);
	else
		err = check_file(sp, sp->path, &st, S_IFREG);
	if (!err && !(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK))
		err = fail(sp, -errno, sp->path);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

void safe_path_close(struct safe_path *sp)
{
	if (sp->dir_fd >= 0)
		close(sp->dir_fd);
	sp->dir_fd = -1;
}

int safe_path_resolve_file(struct safe_path *sp, const char *path, const char *what, char *resolved)
{
	int fd;

	if (!realpath(path, resolved)) {
		int err = -errno;

		/* As safe_path_open() leaves sp, for the messages below */
		sp->dir_fd = -1;
		sp->what = what;
		sp->given = path;
		return fail(sp, err, NULL);
	}
	fd = safe_path_open(sp, resolved, what, 0);
	if (fd == 0)
		fd = safe_path_open_file(sp, O_RDONLY, 0);
	safe_path_close(sp);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}
