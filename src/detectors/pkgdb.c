// SPDX-License-Identifier: Apache-2.0
#include "detectors/pkgdb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/log.h"
#include "util/path.h"

/*
 * Bounds against a hostile or broken database. Debian 12 with a desktop's worth of packages
 * has about 1,000 md5sums files, 110,000 lines and 11 MB; the biggest single file is a few MB.
 */
#define MAX_FILE_BYTES (64u << 20) /* per md5sums file: the rest is not read */
#define MAX_FILES      100000
#define MAX_ENTRIES    (1u << 21)
#define LINE_MAX_BYTES (PATH_MAX + 64)
#define READ_CHUNK     (64 * 1024)
#define MAX_ALIASES    8

/*
 * A record is kept as its path's 64-bit hash and its MD5, not the path (24 bytes instead of
 * about 90 with the path: tens of thousands of records). Two of dpkg's paths sharing a hash
 * is a chance of about 10^-10 on a large system; a path made to share one (only root can
 * place a file in a trusted directory) still needs the MD5 of that other path's file, which
 * means being a copy of it.
 */
struct slot {
	uint64_t hash; /* 0: an empty slot (a path hashing to 0 is kept as 1) */
	unsigned char md5[PKGDB_MD5_LEN];
};

/* Merged /usr: dpkg may record "lib/x/libc.so.6" for what the kernel names /usr/lib/x/... */
struct alias {
	char from[16]; /* "/lib/" */
	char to[24];   /* "/usr/lib/" */
};

struct pkgdb {
	char info_dir[PATH_MAX];
	char **dirs;
	size_t n_dirs;
	struct alias aliases[MAX_ALIASES];
	size_t n_aliases;
	struct slot *slots;
	size_t n_slots, n_used; /* n_slots: a power of two, or 0 */
	bool loaded, available;
	struct stat stamp; /* info_dir at the last load */
	struct pkgdb_stats stats;
};

static uint64_t path_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

int pkgdb_new(struct pkgdb **ret, const char *info_dir, const char *const *dirs)
{
	struct pkgdb *db = calloc(1, sizeof(*db));
	size_t n = 0;

	if (!db)
		return -ENOMEM;
	if (strlen(info_dir) >= sizeof(db->info_dir)) {
		free(db);
		return -ENAMETOOLONG;
	}
	strcpy(db->info_dir, info_dir);
	while (dirs && dirs[n])
		n++;
	db->dirs = calloc(n + 1, sizeof(*db->dirs));
	if (!db->dirs) {
		free(db);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		char norm[PATH_MAX];

		if (path_normalize(dirs[i], norm, sizeof(norm)))
			continue;
		db->dirs[db->n_dirs] = strdup(norm);
		if (!db->dirs[db->n_dirs]) {
			pkgdb_free(db);
			return -ENOMEM;
		}
		db->n_dirs++;
	}
	*ret = db;
	return 0;
}

static void index_clear(struct pkgdb *db)
{
	free(db->slots);
	db->slots = NULL;
	db->n_slots = db->n_used = 0;
}

void pkgdb_free(struct pkgdb *db)
{
	if (!db)
		return;
	index_clear(db);
	for (size_t i = 0; i < db->n_dirs; i++)
		free(db->dirs[i]);
	free(db->dirs);
	free(db);
}

/* The top-level symlinks of a merged /usr on this host ("/lib" -> "usr/lib"). */
static void aliases_learn(struct pkgdb *db)
{
	static const char *const names[] = { "lib", "lib32", "lib64", "libx32", "bin", "sbin" };

	db->n_aliases = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char from[16], target[32], want[24];
		ssize_t n;

		snprintf(from, sizeof(from), "/%s", names[i]);
		n = readlink(from, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		snprintf(want, sizeof(want), "usr/%s", names[i]);
		if (strcmp(target, want) && (target[0] != '/' || strcmp(target + 1, want)))
			continue;
		snprintf(db->aliases[db->n_aliases].from, sizeof(db->aliases[0].from), "/%s/",
			 names[i]);
		snprintf(db->aliases[db->n_aliases].to, sizeof(db->aliases[0].to), "/usr/%s/",
			 names[i]);
		db->n_aliases++;
	}
}

static int slots_grow(struct pkgdb *db)
{
	size_t n = db->n_slots ? 2 * db->n_slots : 4096;
	struct slot *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < db->n_slots; i++) {
		const struct slot *s = &db->slots[i];
		size_t j;

		if (!s->hash)
			continue;
		for (j = s->hash & (n - 1); slots[j].hash; j = (j + 1) & (n - 1))
			;
		slots[j] = *s;
	}
	free(db->slots);
	db->slots = slots;
	db->n_slots = n;
	return 0;
}

/* Keep one record. Returns 0, or -ENOSPC / -ENOMEM when a bound is reached. */
static int index_add(struct pkgdb *db, const char *path, size_t len,
		     const unsigned char md5[PKGDB_MD5_LEN])
{
	uint64_t hash = path_hash(path, len);
	size_t j;

	if (db->n_used >= MAX_ENTRIES)
		return -ENOSPC;
	/* At most three quarters full: linear probing stays short. */
	if ((db->n_used + 1) * 4 > db->n_slots * 3 && slots_grow(db))
		return -ENOMEM;
	for (j = hash & (db->n_slots - 1); db->slots[j].hash; j = (j + 1) & (db->n_slots - 1))
		;
	db->slots[j].hash = hash;
	memcpy(db->slots[j].md5, md5, PKGDB_MD5_LEN);
	db->n_used++;
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool wanted(const struct pkgdb *db, const char *path)
{
	for (size_t i = 0; i < db->n_dirs; i++)
		if (path_is_under(path, db->dirs[i]))
			return true;
	return false;
}

/*
 * "<32 hex digits><spaces><path>" (two spaces from dpkg; a '*' before the path is md5sum's
 * binary mode). Returns 0 (kept or not wanted), -EINVAL for a line that does not parse, or a
 * bound's error.
 */
static int parse_line(struct pkgdb *db, const char *line, size_t len)
{
	unsigned char md5[PKGDB_MD5_LEN];
	char path[PATH_MAX];
	const char *p = line + 2 * PKGDB_MD5_LEN, *end = line + len;
	size_t plen;

	if (len <= 2 * PKGDB_MD5_LEN + 1 || memchr(line, '\0', len))
		return -EINVAL;
	for (int i = 0; i < PKGDB_MD5_LEN; i++) {
		int hi = hex_value(line[2 * i]), lo = hex_value(line[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		md5[i] = (unsigned char)(hi << 4 | lo);
	}
	if (*p != ' ')
		return -EINVAL;
	while (p < end && *p == ' ')
		p++;
	if (p < end && *p == '*')
		p++;
	while (p < end && *p == '/')
		p++;
	plen = end - p;
	if (!plen || plen + 1 >= sizeof(path))
		return -EINVAL;
	path[0] = '/';
	memcpy(path + 1, p, plen);
	path[plen + 1] = '\0';
	plen++;
	for (size_t i = 0; i < db->n_aliases; i++) {
		size_t from = strlen(db->aliases[i].from), to = strlen(db->aliases[i].to);

		if (strncmp(path, db->aliases[i].from, from) == 0 &&
		    plen - from + to < sizeof(path)) {
			memmove(path + to, path + from, plen - from + 1);
			memcpy(path, db->aliases[i].to, to);
			plen += to - from;
			break;
		}
	}
	if (!wanted(db, path))
		return 0;
	return index_add(db, path, plen, md5);
}

static ssize_t read_retry(int fd, void *buf, size_t n)
{
	ssize_t r;

	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* One md5sums file, line by line. Returns 0, or a bound's error that ends the load. */
static int load_file(struct pkgdb *db, int dirfd, const char *name, char *buf)
{
	size_t have = 0, total = 0;
	bool skipping = false; /* inside a line too long to be a record */
	int fd, err = 0;
	struct stat st;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	db->stats.files++;
	for (;;) {
		size_t room = LINE_MAX_BYTES + READ_CHUNK - have, start = 0;
		ssize_t n;
		char *nl;

		if (total >= MAX_FILE_BYTES) {
			db->stats.truncated = true;
			break;
		}
		if (room > MAX_FILE_BYTES - total)
			room = MAX_FILE_BYTES - total;
		n = read_retry(fd, buf + have, room);
		if (n <= 0) {
			/* The last line may lack its newline */
			if (have && !skipping && parse_line(db, buf, have) == -EINVAL)
				db->stats.bad_lines++;
			break;
		}
		total += n;
		have += n;
		while ((nl = memchr(buf + start, '\n', have - start))) {
			size_t len = nl - (buf + start);

			if (skipping) {
				skipping = false;
			} else {
				err = parse_line(db, buf + start, len);
				if (err == -EINVAL) {
					db->stats.bad_lines++;
					err = 0;
				} else if (err) {
					goto out;
				}
			}
			start += len + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have >= LINE_MAX_BYTES) {
			/* No record is that long: drop it up to its end */
			db->stats.bad_lines += !skipping;
			skipping = true;
			have = 0;
		}
	}
out:
	close(fd);
	return err;
}

static bool same_stamp(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int load(struct pkgdb *db, const struct stat *stamp)
{
	char *buf = malloc(LINE_MAX_BYTES + READ_CHUNK);
	uint64_t loads = db->stats.loads;
	struct dirent *de;
	DIR *dir;
	int dirfd, err = 0;

	index_clear(db);
	memset(&db->stats, 0, sizeof(db->stats));
	db->stats.loads = loads + 1;
	db->loaded = true;
	db->available = false;
	db->stamp = *stamp;
	if (!buf)
		return -ENOMEM;
	dirfd = open(db->info_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || !(dir = fdopendir(dirfd))) {
		err = -errno;
		if (dirfd >= 0)
			close(dirfd);
		free(buf);
		return err;
	}
	aliases_learn(db);
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name);

		if (len <= 8 || strcmp(de->d_name + len - 8, ".md5sums") ||
		    (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue;
		if (db->stats.files >= MAX_FILES) {
			db->stats.truncated = true;
			break;
		}
		err = load_file(db, dirfd, de->d_name, buf);
		if (err) {
			db->stats.truncated = true;
			log_warn(
			    "dpkg database %s: index bound reached (%s); files past it are not "
			    "verified against it",
			    db->info_dir, strerror(-err));
			err = 0;
			break;
		}
	}
	closedir(dir);
	free(buf);
	db->available = true;
	db->stats.entries = db->n_used;
	if (db->stats.bad_lines)
		log_warn("dpkg database %s: %llu lines that are not md5sums records skipped",
			 db->info_dir, (unsigned long long)db->stats.bad_lines);
	return 0;
}

int pkgdb_refresh(struct pkgdb *db)
{
	struct stat st;
	int err;

	if (stat(db->info_dir, &st)) {
		err = -errno;
		if (db->loaded && !db->available)
			return err;
		index_clear(db);
		db->loaded = true;
		db->available = false;
		memset(&db->stamp, 0, sizeof(db->stamp));
		return err;
	}
	if (db->loaded && same_stamp(&st, &db->stamp))
		return 0;
	err = load(db, &st);
	return err ? err : 1;
}

bool pkgdb_available(const struct pkgdb *db)
{
	return db->available;
}

int pkgdb_lookup(const struct pkgdb *db, const char *path, unsigned char (*md5s)[PKGDB_MD5_LEN],
		 int max)
{
	size_t len = strlen(path);
	uint64_t hash = path_hash(path, len);
	int n = 0;

	if (!db->n_slots)
		return 0;
	for (size_t j = hash & (db->n_slots - 1); db->slots[j].hash;
	     j = (j + 1) & (db->n_slots - 1)) {
		const struct slot *s = &db->slots[j];

		if (s->hash != hash)
			continue;
		if (n < max)
			memcpy(md5s[n], s->md5, PKGDB_MD5_LEN);
		n++;
	}
	return n;
}

const struct pkgdb_stats *pkgdb_stats(const struct pkgdb *db)
{
	return &db->stats;
}

int pkgdb_md5_fd(int fd, uint64_t max_bytes, unsigned char md5[PKGDB_MD5_LEN])
{
	unsigned int md_len = 0;
	unsigned char *buf = NULL;
	EVP_MD_CTX *ctx = NULL;
	EVP_MD *md = NULL;
	uint64_t total = 0;
	struct stat st;
	int err = 0;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max_bytes)
		return -EFBIG;
	buf = malloc(READ_CHUNK);
	ctx = EVP_MD_CTX_new();
	/* Fetched, not EVP_md5(): a configuration without MD5 (FIPS) fails here, cleanly */
	md = EVP_MD_fetch(NULL, "MD5", NULL);
	if (!buf || !ctx) {
		err = -ENOMEM;
		goto out;
	}
	if (!md || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		err = -EOPNOTSUPP;
		goto out;
	}
	for (;;) {
		ssize_t r;

		do
			r = pread(fd, buf, READ_CHUNK, (off_t)total);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		total += r;
		/* Grown since fstat: what was mapped is not what we would be vouching for */
		if (total > max_bytes) {
			err = -EFBIG;
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, r) != 1) {
			err = -EIO;
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, md5, &md_len) != 1 || md_len != PKGDB_MD5_LEN)
		err = -EIO;
out:
	EVP_MD_free(md);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return err;
}
