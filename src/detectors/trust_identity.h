/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust by identity: is the file at a trusted place the one that was installed there?
 *
 * - The host's file: the process sees, at that path, the very file (device, inode) the host's
 *   mount namespace has there, and its content is what the package database (dpkg's md5sums)
 *   records for that path. A bind mount over an engine in a private mount namespace, a
 *   chroot's copy, a file planted by hand or edited in place: all fail one of the two.
 * - A container's own file (its root is not the host's): it must come from the image's lower
 *   layers, as the kernel tells for the mapping (not the writable layer, not memory, not a
 *   mount from outside the image).
 *
 * The verdicts on host files (the ones that take hashing) are cached per (device, inode, ctime,
 * path): any write to a file changes its ctime, which no one can set back, so a module loaded
 * a thousand times is hashed once. The other answers cost an open and a stat, and depend on
 * who looks, so they are not cached.
 */
#ifndef SOWATCH_TRUST_IDENTITY_H
#define SOWATCH_TRUST_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "detectors/trust.h"
#include "event.h"

/* Bigger files are not hashed on the event thread: they cannot be verified, so not trusted */
#define TRUST_VERIFY_MAX_BYTES (32ull << 20)

struct trust_identity;

struct trust_identity_stats {
	uint64_t checks;     /* calls */
	uint64_t cache_hits; /* answered from the verdict cache */
	uint64_t hashed;     /* files whose md5 was computed */
};

/*
 * `dpkg_info_dir`: where the *.md5sums files are ("/var/lib/dpkg/info"); `dirs`: the trusted
 * directories (NULL-terminated), the only ones whose records are kept. Nothing is read yet.
 */
int trust_identity_new(struct trust_identity **ret, const char *dpkg_info_dir,
		       const char *const *dirs);
void trust_identity_free(struct trust_identity *ti);

/* Read the package database now rather than at the first check. Returns its entry count. */
long trust_identity_preload(struct trust_identity *ti);

/*
 * `file`: at a trusted place, owned by root (trust_decide() checked that), with its identity
 * (dev, ino as the process sees it; ctime_ns, 0 when unknown, which disables the cache).
 * Returns true when it is the installed file; else false with a static sentence in ret_reason.
 */
bool trust_identity_check(struct trust_identity *ti, const struct file_ref *file,
			  const struct trust_view *view, const char **ret_reason);

const struct trust_identity_stats *trust_identity_stats(const struct trust_identity *ti);

/*
 * How many times the package database has been read: a change means verdicts may have
 * changed (an install or upgrade). Looks at the database first (one stat).
 */
uint64_t trust_identity_generation(struct trust_identity *ti);

/* The reasons, for tests and the README */
extern const char trust_reason_not_host_file[];
extern const char trust_reason_not_owned[];
extern const char trust_reason_differs[];
extern const char trust_reason_too_large[];
extern const char trust_reason_unreadable[];
extern const char trust_reason_changed[];
extern const char trust_reason_upper_layer[];
extern const char trust_reason_in_memory[];
extern const char trust_reason_outside_image[];

#endif
