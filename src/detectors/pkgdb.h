/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The package manager's record of the files it installed: Debian's
 * /var/lib/dpkg/info/PACKAGE.md5sums ("<md5 hex>  <path relative to />" per line).
 *
 * Only the entries below a few directories are kept (the ones trust can accept), so the index
 * stays small: the md5sums files are read once, at the first need, and again only when the
 * directory that holds them has changed (dpkg writes each package's file there on install and
 * upgrade, which changes the directory's mtime and ctime).
 *
 * Every byte of these files is input that can be malformed or huge: lines that do not parse
 * are skipped and counted, and files, lines and the index itself are bounded (see pkgdb.c).
 */
#ifndef SOWATCH_PKGDB_H
#define SOWATCH_PKGDB_H

#include <stdbool.h>
#include <stdint.h>

#define PKGDB_MD5_LEN 16

struct pkgdb;

struct pkgdb_stats {
	uint64_t loads;	    /* times the md5sums files were read */
	uint64_t files;	    /* md5sums files read by the last load */
	uint64_t entries;   /* entries kept by the last load */
	uint64_t bad_lines; /* lines of the last load that did not parse */
	bool truncated;	    /* the last load hit a bound: a missing entry proves nothing */
};

/*
 * `info_dir`: the directory of *.md5sums files. `dirs`: NULL-terminated absolute directories;
 * only entries at or below one of them are kept. Nothing is read yet.
 */
int pkgdb_new(struct pkgdb **ret, const char *info_dir, const char *const *dirs);
void pkgdb_free(struct pkgdb *db);

/*
 * Read the md5sums files if they were never read, or if info_dir changed since they were.
 * Returns 1 when it (re)loaded, 0 when the index was current, -errno when info_dir cannot be
 * read (the index is then empty and pkgdb_available() false).
 */
int pkgdb_refresh(struct pkgdb *db);

/* Whether the last load found a package database at all. */
bool pkgdb_available(const struct pkgdb *db);

/*
 * The md5s the database records for the absolute `path` (more than one when several packages
 * list it): up to `max` copied to md5s; returns how many there are (0: no package owns it).
 */
int pkgdb_lookup(const struct pkgdb *db, const char *path, unsigned char (*md5s)[PKGDB_MD5_LEN],
		 int max);

const struct pkgdb_stats *pkgdb_stats(const struct pkgdb *db);

/*
 * MD5 of the regular file open at fd, if it has at most max_bytes bytes. Returns 0, -EFBIG
 * for a bigger file, -EINVAL for one that is not regular, -EOPNOTSUPP when libcrypto has no
 * MD5 (as in a FIPS configuration), or -errno.
 */
int pkgdb_md5_fd(int fd, uint64_t max_bytes, unsigned char md5[PKGDB_MD5_LEN]);

#endif
