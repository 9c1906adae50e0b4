/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hashing a finding's files, without letting anyone make sowatch hash without end.
 *
 * Any user can make findings whose files are big (a sparse 64 MiB copy costs no disk) and
 * give those files a new version at will (`touch`), so that no digest is ever reused. So:
 * - a digest is remembered per file version (device, inode, size, mtime, ctime);
 * - small files (at most HASH_SMALL_BYTES) are always hashed: they cost less than the finding;
 * - so are the host's files that only root can change (`owner_is_root`), over their first
 *   HASH_MAX_BYTES_DEFAULT: nobody else can make them cost twice;
 * - any other file is hashed over its first HASH_OTHERS_MAX_BYTES at most (partiallyHashed
 *   beyond), and charged to its owner, who alone (with root) can change it: a token bucket
 *   per uid, HASH_OWNER_RATE bytes a second up to HASH_OWNER_BURST, and to the finding,
 *   HASH_FINDING_BUDGET bytes. A file that does not fit either is not hashed, and the finding
 *   says why. A finding thus waits for at most one such file (about 10 ms of hashing).
 * Thread-safe: the finding workers share the cache and the buckets.
 */
#ifndef SOWATCH_HASHING_H
#define SOWATCH_HASHING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util/hash.h"

#define HASH_SMALL_BYTES      (1ull << 20)
#define HASH_OTHERS_MAX_BYTES (16ull << 20)
#define HASH_FINDING_BUDGET   HASH_OTHERS_MAX_BYTES
#define HASH_OWNER_RATE	      (16ull << 20)
#define HASH_OWNER_BURST      (32ull << 20)

/* What one finding may still spend on files that are neither small nor root's */
struct hash_budget {
	uint64_t left;
};

static inline void hash_budget_init(struct hash_budget *b)
{
	b->left = HASH_FINDING_BUDGET;
}

/*
 * The SHA-256 of the open regular file fd (st: its fstat), within the budgets above:
 * NULL with ret filled, or why there is no hash (a static string for the finding).
 * owner_is_root: the file is the host's, owned by root and writable by nobody else.
 */
const char *hashing_digest(int fd, const struct stat *st, bool owner_is_root,
			   struct hash_budget *budget, struct file_digest *ret);

/*
 * Whether hashing_digest() would read the file at a cost to a budget (neither remembered,
 * small nor root's): such a finding may wait for hashing, and should not hold up others.
 */
bool hashing_is_costly(const struct stat *st, bool owner_is_root);

/* What the budgets refused so far, for the log */
struct hashing_stats {
	uint64_t hashed_bytes; /* read and hashed */
	uint64_t cached;       /* digests reused */
	uint64_t refused;      /* files left unhashed by a budget */
};
void hashing_stats(struct hashing_stats *ret);

/* Forget every digest and bucket (tests). */
void hashing_reset(void);

#endif
