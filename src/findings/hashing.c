// SPDX-License-Identifier: Apache-2.0
#include "findings/hashing.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#define DIGEST_CACHE_SIZE 64
#define OWNER_BUCKETS	  64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Findings hash the same binaries over and over (openssl, its parents' shells). A file
 * changed in place changes its mtime or ctime and is hashed again.
 */
static struct digest_cache_entry {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	struct file_digest digest;
} digest_cache[DIGEST_CACHE_SIZE];
static unsigned digest_cache_next;

/* A token bucket of bytes for the files of one owner */
static struct owner_bucket {
	bool used;
	uid_t uid;
	uint64_t tokens;
	uint64_t refilled_ns; /* CLOCK_MONOTONIC */
} buckets[OWNER_BUCKETS];

static struct hashing_stats stats;

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static bool same_version(const struct digest_cache_entry *e, const struct stat *st)
{
	return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       e->ctime.tv_sec == st->st_ctim.tv_sec && e->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* Under lock */
static bool cache_find(const struct stat *st, struct file_digest *ret)
{
	for (unsigned i = 0; i < DIGEST_CACHE_SIZE; i++)
		if (digest_cache[i].ino && same_version(&digest_cache[i], st)) {
			*ret = digest_cache[i].digest;
			return true;
		}
	return false;
}

/* Under lock */
static void cache_add(const struct stat *st, const struct file_digest *d)
{
	struct digest_cache_entry *e = &digest_cache[digest_cache_next++ % DIGEST_CACHE_SIZE];

	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = st->st_size;
	e->mtime = st->st_mtim;
	e->ctime = st->st_ctim;
	e->digest = *d;
}

/* Under lock: the owner's bucket, refilled to now; the fullest one is reused for a new owner */
static struct owner_bucket *bucket_of(uid_t uid)
{
	struct owner_bucket *b = NULL;
	uint64_t now = monotonic_ns();

	for (unsigned i = 0; i < OWNER_BUCKETS; i++) {
		struct owner_bucket *c = &buckets[i];

		if (c->used) {
			uint64_t dt = now - c->refilled_ns;
			/* dt * rate would overflow after 18 minutes: by then the bucket is full */
			uint64_t add = dt >= HASH_OWNER_BURST * 1000000000ull / HASH_OWNER_RATE
					   ? HASH_OWNER_BURST
					   : dt * HASH_OWNER_RATE / 1000000000;

			c->tokens =
			    c->tokens + add > HASH_OWNER_BURST ? HASH_OWNER_BURST : c->tokens + add;
			c->refilled_ns = now;
			if (c->uid == uid)
				return c;
		}
		if (!b || !c->used || (b->used && c->tokens > b->tokens))
			b = c;
	}
	/* A reused bucket starts full: it was the fullest, so nobody gains much */
	*b = (struct owner_bucket){
		.used = true, .uid = uid, .tokens = HASH_OWNER_BURST, .refilled_ns = now
	};
	return b;
}

const char *hashing_digest(int fd, const struct stat *st, bool owner_is_root,
			   struct hash_budget *budget, struct file_digest *ret)
{
	uint64_t max = owner_is_root ? HASH_MAX_BYTES_DEFAULT : HASH_OTHERS_MAX_BYTES;
	uint64_t cost = (uint64_t)st->st_size < max ? (uint64_t)st->st_size : max;
	const char *refused = NULL;

	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	pthread_mutex_lock(&lock);
	if (cache_find(st, ret)) {
		stats.cached++;
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	if (cost > HASH_SMALL_BYTES && !owner_is_root) {
		struct owner_bucket *b = bucket_of(st->st_uid);

		if (cost > budget->left)
			refused = "the finding's hashing budget was spent on other files";
		else if (cost > b->tokens)
			refused = "its owner's files used up their hashing budget";
		else
			b->tokens -= cost, budget->left -= cost;
	}
	if (refused)
		stats.refused++;
	pthread_mutex_unlock(&lock);
	if (refused)
		return refused;

	/*
	 * No more than was charged: a file that grew since it was opened (a sparse truncate
	 * costs nothing) is hashed over the size it had, and said to be partially hashed.
	 */
	if (hash_fd_sha256(fd, cost, ret))
		return "could not be read";
	pthread_mutex_lock(&lock);
	stats.hashed_bytes += (uint64_t)ret->hashed_size;
	cache_add(st, ret);
	pthread_mutex_unlock(&lock);
	return NULL;
}

bool hashing_is_costly(const struct stat *st, bool owner_is_root)
{
	struct file_digest unused;
	bool costly;

	if (owner_is_root || !S_ISREG(st->st_mode) || (uint64_t)st->st_size <= HASH_SMALL_BYTES)
		return false;
	pthread_mutex_lock(&lock);
	costly = !cache_find(st, &unused);
	pthread_mutex_unlock(&lock);
	return costly;
}

void hashing_stats(struct hashing_stats *ret)
{
	pthread_mutex_lock(&lock);
	*ret = stats;
	pthread_mutex_unlock(&lock);
}

void hashing_reset(void)
{
	pthread_mutex_lock(&lock);
	memset(digest_cache, 0, sizeof(digest_cache));
	memset(buckets, 0, sizeof(buckets));
	memset(&stats, 0, sizeof(stats));
	digest_cache_next = 0;
	pthread_mutex_unlock(&lock);
}
