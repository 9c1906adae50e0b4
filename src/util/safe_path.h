/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where root may write: the store, the findings output, the gVisor socket.
 *
 * sowatch runs as root and is given these paths by an administrator, but a user who can write
 * one of the directories on the way could plant a symbolic link or a file of their own there
 * beforehand, and make root append to any file, create a database anywhere, or hand them the
 * findings. So a path is only used when nobody but root (or sowatch's effective uid) can change
 * what it names:
 *
 *  - every directory on the way is owned by root or the euid, and is not writable by its group
 *    or others unless it has the sticky bit (as /tmp has: others then cannot rename or remove
 *    what is not theirs);
 *  - a symbolic link on the way is followed only when root or the euid owns it (in a sticky
 *    directory anyone may make one); the last component is never followed;
 *  - an existing file is of the expected type, owned by root or the euid, and not writable by
 *    its group or others (a socket's mode is not looked at: it says who may connect).
 *
 * The walk opens one name at a time, relative to the directory already checked, with
 * O_NOFOLLOW: that is what openat2(RESOLVE_NO_SYMLINKS) does for a whole path, here on every
 * kernel, and it lets each directory be checked on the way. The directory reached stays open
 * (dir_fd), so later opens and removals act on the directory that was checked, and dir holds
 * its path without any symbolic link, for APIs that only take a path (SQLite, bind()).
 */
#ifndef SOWATCH_SAFE_PATH_H
#define SOWATCH_SAFE_PATH_H

#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>

enum {
	/* Create missing directories, mode 0700. */
	SAFE_PATH_MKDIR = 1 << 0,
	/* The last directory must not be writable by group or others even with the sticky bit:
	 * for a socket that clients find by name, where a planted name is a planted server. */
	SAFE_PATH_PRIVATE_DIR = 1 << 1,
	/* safe_path_open_file() also takes a character device (/dev/null, /dev/full), whoever
	 * owns it: only root can make one, so none is planted, and its owner and mode only say
	 * who may use it. */
	SAFE_PATH_ALLOW_DEVICE = 1 << 2,
	/* safe_path_open_file() also takes a FIFO, with a regular file's checks (owner, mode). Give
	 * O_NONBLOCK too: with no reader yet, the open then fails at once with -ENXIO. */
	SAFE_PATH_ALLOW_FIFO = 1 << 3,
};

struct safe_path {
	int dir_fd;		 /* the checked directory (O_PATH), -1 when closed */
	char dir[PATH_MAX];	 /* its absolute path, without symbolic links */
	char name[NAME_MAX + 1]; /* the last component */
	char path[PATH_MAX];	 /* dir + "/" + name */
	/* Filled by every failing call: one line, "refusing the findings database /x/f.db: /x is
	 * writable by others (mode 0777) without the sticky bit". */
	char error[PATH_MAX + 256];
	/* In error, what follows "refusing WHAT GIVEN: " (or "cannot use WHAT GIVEN: "), for a
	 * caller that names the file its own way: "/x is writable by others (...)" */
	const char *reason;
	unsigned int flags; /* SAFE_PATH_*, as given to safe_path_open() */
	const char *what;   /* for error: "the findings database" */
	const char *given;  /* for error: the path as the user gave it */
};

/*
 * Checks every directory of path (absolute, or relative to the working directory) and opens
 * the last one. what and path are kept for error messages and must outlive sp. Returns 0;
 * -EPERM when a check refuses; -EISDIR for a path ending in "/", "." or ".."; -ENOENT,
 * -ENOTDIR, -ELOOP, -ENAMETOOLONG, -EACCES and the like from the system. sp is always left in a
 * state safe_path_close() accepts. Call it before anything else on sp.
 */
int safe_path_open(struct safe_path *sp, const char *path, const char *what, unsigned int flags);

/*
 * Checks the entry name (sp->name, or a sibling such as "findings.db-wal") in the checked
 * directory without following it: 0 when it is of type (S_IFREG, S_IFSOCK) and passes the file
 * checks, -ENOENT when absent, -EPERM when refused. ret_st may be NULL.
 */
int safe_path_check_entry(struct safe_path *sp, const char *name, mode_t type, struct stat *ret_st);

/*
 * openat() of sp->name in the checked directory, never following a symbolic link, then the file
 * checks on what was opened (fstat): a regular file (or a character device, with
 * SAFE_PATH_ALLOW_DEVICE). flags as for open(2) (O_CLOEXEC and
 * O_NOFOLLOW are added); mode for O_CREAT. Returns the descriptor, or -errno (-EPERM refused).
 */
int safe_path_open_file(struct safe_path *sp, int flags, mode_t mode);

/*
 * A file that a library will open by name later, maybe again and again (a CA file, NATS
 * credentials): symbolic links resolved first (realpath(3)) into resolved (PATH_MAX bytes), then
 * the resolved path checked as safe_path_open() and safe_path_open_file(O_RDONLY) check it.
 * Give the library resolved: what it reads at each open is then what was checked, and nobody
 * but root (or the euid) can change it. 0, or -errno with sp->error filled; sp is left closed.
 */
int safe_path_resolve_file(struct safe_path *sp, const char *path, const char *what,
			   char *resolved);

/* Closes dir_fd; accepts a struct that safe_path_open() failed on, or one closed already. */
void safe_path_close(struct safe_path *sp);

#endif
