// SPDX-License-Identifier: Apache-2.0
#include "detectors/trust_identity.h"
#include "proc/procfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detectors/pkgdb.h"
#include "sowatch_events.h"
#include "util/log.h"

#define CACHE_SLOTS 2048 /* a power of two; a collision costs one more verification */
#define MAX_RECORDS 8	 /* records of one path kept for comparison (several packages) */

const char trust_reason_not_host_file[] =
    "the module is not the installed file: the host has another file (or none) at that path, "
    "so something was mounted or placed over it in the process's view";
const char trust_reason_not_owned[] =
    "the module lies in a trusted directory but no package owns it (not in dpkg's database)";
const char trust_reason_differs[] =
    "the module's content differs from its package's record (dpkg md5sums)";
const char trust_reason_too_large[] =
    "the module is too large to verify against its package's record";
const char trust_reason_unreadable[] =
    "the module could not be read to verify it against its package's record";
const char trust_reason_changed[] = "the module's file changed after it was loaded or while it "
				    "was verified";
const char trust_reason_upper_layer[] =
    "the module is in the container's writable layer, not in its image";
const char trust_reason_in_memory[] =
    "the module lies on an in-memory file system in the container, not in its image";
const char trust_reason_outside_image[] =
    "the module is mounted into the container from outside its image and is not the host's "
    "installed file at that path";

static const char trusted_host[] = "the host's installed file, as its package recorded it";
static const char trusted_image[] = "from the container image's lower layers";
static const char trusted_unverified[] = "the installed file at a trusted place (content not "
					 "verified: no package database or no MD5)";

struct verdict {
	uint64_t dev, ino;
	int64_t ctime_ns;
	uint64_t path_hash;
	uint64_t generation; /* the package index's load count when decided; 0: empty */
	const char *reason;  /* custom's reason; NULL when trusted */
	const char *trusted; /* trusted's reason */
};

struct trust_identity {
	struct pkgdb *db;
	struct stat host_root;
	bool host_root_known;
	bool warned_no_db, warned_no_md5;
	struct verdict cache[CACHE_SLOTS];
	struct trust_identity_stats stats;
};

static uint64_t fnv64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

int trust_identity_new(struct trust_identity **ret, const char *dpkg_info_dir,
		       const char *const *dirs)
{
	struct trust_identity *ti = calloc(1, sizeof(*ti));
	int err;

	if (!ti)
		return -ENOMEM;
	err = pkgdb_new(&ti->db, dpkg_info_dir, dirs);
	if (err) {
		free(ti);
		return err;
	}
	ti->host_root_known =
	    stat(proc_host_root()[0] ? proc_host_root() : "/", &ti->host_root) == 0;
	*ret = ti;
	return 0;
}

void trust_identity_free(struct trust_identity *ti)
{
	if (!ti)
		return;
	pkgdb_free(ti->db);
	free(ti);
}

long trust_identity_preload(struct trust_identity *ti)
{
	int err = pkgdb_refresh(ti->db);

	return err < 0 ? err : (long)pkgdb_stats(ti->db)->entries;
}

const struct trust_identity_stats *trust_identity_stats(const struct trust_identity *ti)
{
	return &ti->stats;
}

static uint64_t generation(const struct trust_identity *ti)
{
	return pkgdb_stats(ti->db)->loads + 1;
}

uint64_t trust_identity_generation(struct trust_identity *ti)
{
	pkgdb_refresh(ti->db);
	return generation(ti);
}

/*
 * Does the process see a root of its own (a container's), rather than the host's? A private
 * mount namespace made with `unshare -m` keeps the host's root: its files must be the host's.
 */
static bool own_root(const struct trust_identity *ti, const struct trust_view *view)
{
	struct stat st;

	if (!view->root || !view->root[0])
		return false;
	if (stat(view->root, &st) == 0 && ti->host_root_known)
		return st.st_dev != ti->host_root.st_dev || st.st_ino != ti->host_root.st_ino;
	return view->container; /* gone: what it belonged to is all that is left */
}

/*
 * A container's own file: the kernel says, for this mapping, whether it came from the image
 * (an overlay's lower layers, or the container's root file system when that is no overlay).
 */
static const char *image_verdict(const struct trust_view *view, const char **trusted)
{
	*trusted = trusted_image;
	if (!view->layers_known)
		return NULL; /* no answer from this source: the place decides, as it always did */
	if (view->added & SW_ADDED_UPPER_LAYER)
		return trust_reason_upper_layer;
	if (view->added & SW_ADDED_IN_MEMORY)
		return trust_reason_in_memory;
	if (view->added & SW_ADDED_DELETED)
		return "the module's file was deleted";
	if (view->added & SW_ADDED_OUTSIDE_ROOT)
		return trust_reason_outside_image;
	return NULL;
}

/* The ctime the kernel reported for the mapping, against the file's now. */
static bool same_ctime(int64_t reported, const struct stat *st)
{
	return reported == stat_ctime_ns(st);
}

/* The host's file at its path, open as fd: is it what its package installed? */
static const char *package_verdict(struct trust_identity *ti, const struct file_ref *file, int fd,
				   const struct stat *st, bool *cacheable, const char **trusted)
{
	unsigned char records[MAX_RECORDS][PKGDB_MD5_LEN], md5[PKGDB_MD5_LEN];
	struct stat after;
	int n, err;

	*trusted = trusted_unverified;
	/* One stat of dpkg's directory: an install or upgrade since the last load reloads it */
	err = pkgdb_refresh(ti->db);
	if (err < 0 || !pkgdb_available(ti->db)) {
		if (!ti->warned_no_db)
			log_warn("no dpkg database (%s): modules at trusted places are checked by "
				 "identity only, not by content",
				 strerror(err < 0 ? -err : ENOENT));
		ti->warned_no_db = true;
		return NULL;
	}
	n = pkgdb_lookup(ti->db, file->path, records, MAX_RECORDS);
	if (n == 0)
		/* A truncated index proves nothing by a missing entry (logged at its load) */
		return pkgdb_stats(ti->db)->truncated ? NULL : trust_reason_not_owned;
	if (st->st_size < 0 || (uint64_t)st->st_size > TRUST_VERIFY_MAX_BYTES)
		return trust_reason_too_large;
	ti->stats.hashed++;
	err = pkgdb_md5_fd(fd, TRUST_VERIFY_MAX_BYTES, md5);
	if (err == -EOPNOTSUPP) {
		if (!ti->warned_no_md5)
			log_warn("libcrypto has no MD5 here: modules at trusted places are checked "
				 "by identity only, not against dpkg's md5sums");
		ti->warned_no_md5 = true;
		*cacheable = false;
		return NULL;
	}
	if (err == -EFBIG)
		return trust_reason_too_large;
	if (err) {
		*cacheable = false;
		return trust_reason_unreadable;
	}
	/* What we hashed must be what was mapped: any write in between changes the ctime */
	if (fstat(fd, &after) || stat_ctime_ns(&after) != stat_ctime_ns(st) ||
	    (file->ctime_ns && !same_ctime(file->ctime_ns, st))) {
		*cacheable = false;
		return trust_reason_changed;
	}
	if (n > MAX_RECORDS)
		n = MAX_RECORDS;
	*trusted = trusted_host;
	for (int i = 0; i < n; i++)
		if (memcmp(records[i], md5, PKGDB_MD5_LEN) == 0)
			return NULL;
	return trust_reason_differs;
}

static const char *verify(struct trust_identity *ti, const struct file_ref *file,
			  const struct trust_view *view, bool *cacheable, const char **trusted)
{
	char host_path[PATH_MAX + 16];
	const char *why;
	struct stat st;
	int fd;

	/*
	 * The host's file at the same path. The kernel's path has no symlink left in it, so a
	 * symlink there now is another file.
	 */
	snprintf(host_path, sizeof(host_path), "%s%s", proc_host_root(), file->path);
	fd = open(host_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && errno != ENOENT && errno != ENOTDIR && errno != ELOOP) {
		*cacheable = false; /* out of fds, say: nothing learned about the file */
		return trust_reason_unreadable;
	}
	if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_dev != file->dev ||
			st.st_ino != file->ino)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		/*
		 * Not cached: the answer depends on who looks (a host process that mounts a
		 * container's file over an engine must not inherit the container's verdict),
		 * and it costs no hashing.
		 */
		*cacheable = false;
		if (own_root(ti, view))
			return image_verdict(view, trusted);
		return trust_reason_not_host_file;
	}
	why = package_verdict(ti, file, fd, &st, cacheable, trusted);
	close(fd);
	return why;
}

bool trust_identity_check(struct trust_identity *ti, const struct file_ref *file,
			  const struct trust_view *view, const char **ret_reason)
{
	uint64_t path_hash = fnv64(file->path);
	struct verdict *slot = NULL;
	bool cacheable = file->ctime_ns != 0;
	const char *why, *trusted = trusted_host;

	ti->stats.checks++;
	if (cacheable) {
		uint64_t h =
		    mix(mix(mix(file->dev, file->ino), (uint64_t)file->ctime_ns), path_hash);

		slot = &ti->cache[h & (CACHE_SLOTS - 1)];
		/* A custom verdict may be one an install in progress made: dpkg changed since? */
		if (slot->generation && slot->reason)
			pkgdb_refresh(ti->db);
		if (slot->generation == generation(ti) && slot->dev == file->dev &&
		    slot->ino == file->ino && slot->ctime_ns == file->ctime_ns &&
		    slot->path_hash == path_hash) {
			ti->stats.cache_hits++;
			*ret_reason = slot->reason ? slot->reason : slot->trusted;
			return !slot->reason;
		}
	}
	why = verify(ti, file, view, &cacheable, &trusted);
	if (slot && cacheable)
		*slot = (struct verdict){
			.dev = file->dev,
			.ino = file->ino,
			.ctime_ns = file->ctime_ns,
			.path_hash = path_hash,
			.generation = generation(ti),
			.reason = why,
			.trusted = trusted,
		};
	*ret_reason = why ? why : trusted;
	return !why;
}
