// SPDX-License-Identifier: Apache-2.0
/*
 * The hashing budgets of findings/hashing.h: what a user who makes big files, and touches them
 * between findings, can make sowatch hash.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "findings/hashing.h"

#define MiB (1ull << 20)

struct file {
	char path[64];
	int fd;
	struct stat st;
};

/* A sparse file of `size` bytes: costs no disk, all of it to hash */
static void file_make(struct file *f, uint64_t size)
{
	strcpy(f->path, "/tmp/sowatch-test-hashing-XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	assert_int_equal(ftruncate(f->fd, (off_t)size), 0);
	assert_int_equal(fstat(f->fd, &f->st), 0);
}

/* What `touch` does: a new version of the same bytes */
static void file_touch(struct file *f)
{
	struct timespec now[2] = { { .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_NOW } };
	struct stat before = f->st;

	do {
		assert_int_equal(futimens(f->fd, now), 0);
		assert_int_equal(fstat(f->fd, &f->st), 0);
	} while (f->st.st_ctim.tv_sec == before.st_ctim.tv_sec &&
		 f->st.st_ctim.tv_nsec == before.st_ctim.tv_nsec);
}

static void file_remove(struct file *f)
{
	close(f->fd);
	unlink(f->path);
}

static int reset(void **state)
{
	hashing_reset();
	return 0;
}

static void test_small_files_always_hashed(void **state)
{
	struct hash_budget budget = { .left = 0 };
	struct file f;
	struct file_digest d;

	file_make(&f, HASH_SMALL_BYTES);
	for (int i = 0; i < 100; i++) {
		file_touch(&f);
		assert_null(hashing_digest(f.fd, &f.st, false, &budget, &d));
		assert_int_equal(d.hashed_size, HASH_SMALL_BYTES);
	}
	file_remove(&f);
}

static void test_big_file_cut_and_charged(void **state)
{
	struct hash_budget budget;
	struct file f;
	struct file_digest d;
	struct hashing_stats st;

	hash_budget_init(&budget);
	file_make(&f, 64 * MiB);
	assert_true(hashing_is_costly(&f.st, false));
	assert_null(hashing_digest(f.fd, &f.st, false, &budget, &d));
	assert_int_equal(d.size, 64 * MiB);
	assert_int_equal(d.hashed_size, HASH_OTHERS_MAX_BYTES);
	assert_true(d.partially_hashed);
	assert_int_equal(budget.left, HASH_FINDING_BUDGET - HASH_OTHERS_MAX_BYTES);
	/* The same version again is remembered: no cost, not costly */
	assert_false(hashing_is_costly(&f.st, false));
	assert_null(hashing_digest(f.fd, &f.st, false, &budget, &d));
	hashing_stats(&st);
	assert_int_equal(st.cached, 1);
	file_remove(&f);
}

static void test_finding_budget_spent(void **state)
{
	struct hash_budget budget;
	struct file a, b;
	struct file_digest d;
	const char *why;

	hash_budget_init(&budget);
	file_make(&a, 2 * HASH_OTHERS_MAX_BYTES);
	file_make(&b, 2 * HASH_OTHERS_MAX_BYTES);
	assert_null(hashing_digest(a.fd, &a.st, false, &budget, &d));
	why = hashing_digest(b.fd, &b.st, false, &budget, &d);
	assert_non_null(why);
	assert_non_null(strstr(why, "finding"));
	file_remove(&a);
	file_remove(&b);
}

/* Touching between findings: the owner's bucket runs dry, and stays bounded */
static void test_touch_flood_bounded_by_owner_bucket(void **state)
{
	struct file f;
	struct file_digest d;
	struct hashing_stats st;
	int hashed = 0, refused = 0;

	file_make(&f, 64 * MiB);
	for (int i = 0; i < 20; i++) {
		struct hash_budget budget;

		hash_budget_init(&budget);
		file_touch(&f);
		if (hashing_digest(f.fd, &f.st, false, &budget, &d))
			refused++;
		else
			hashed++;
	}
	/* The burst, plus what the rate refilled while the test ran (well under a second) */
	assert_true(hashed >= (int)(HASH_OWNER_BURST / HASH_OTHERS_MAX_BYTES));
	assert_true(hashed <= (int)(HASH_OWNER_BURST / HASH_OTHERS_MAX_BYTES) + 1);
	assert_int_equal(hashed + refused, 20);
	hashing_stats(&st);
	assert_int_equal(st.refused, (uint64_t)refused);
	assert_true(st.hashed_bytes <= (uint64_t)hashed * HASH_OTHERS_MAX_BYTES);
	file_remove(&f);
}

/* The host's root-only files are never charged, and hashed over 64 MiB */
static void test_root_files_not_charged(void **state)
{
	struct hash_budget budget = { .left = 0 };
	struct file f;
	struct file_digest d;

	file_make(&f, 32 * MiB);
	assert_false(hashing_is_costly(&f.st, true));
	for (int i = 0; i < 3; i++) {
		file_touch(&f);
		assert_null(hashing_digest(f.fd, &f.st, true, &budget, &d));
		assert_int_equal(d.hashed_size, 32 * MiB);
		assert_false(d.partially_hashed);
	}
	file_remove(&f);
}

/* A file that grows after it was opened is hashed over the size it was charged for */
static void test_grown_file_hashed_as_charged(void **state)
{
	struct hash_budget budget;
	struct file f;
	struct file_digest d;

	hash_budget_init(&budget);
	file_make(&f, 4096);
	assert_int_equal(ftruncate(f.fd, (off_t)HASH_OTHERS_MAX_BYTES), 0);
	assert_null(hashing_digest(f.fd, &f.st, false, &budget, &d));
	assert_int_equal(d.hashed_size, 4096);
	assert_true(d.partially_hashed);
	assert_int_equal(budget.left, HASH_FINDING_BUDGET);
	file_remove(&f);
}

static void test_not_regular(void **state)
{
	struct hash_budget budget;
	struct stat st;
	struct file_digest d;
	int fd = open("/dev/null", O_RDONLY);

	hash_budget_init(&budget);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_non_null(hashing_digest(fd, &st, false, &budget, &d));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_small_files_always_hashed, reset),
		cmocka_unit_test_setup(test_big_file_cut_and_charged, reset),
		cmocka_unit_test_setup(test_finding_budget_spent, reset),
		cmocka_unit_test_setup(test_touch_flood_bounded_by_owner_bucket, reset),
		cmocka_unit_test_setup(test_root_files_not_charged, reset),
		cmocka_unit_test_setup(test_grown_file_hashed_as_charged, reset),
		cmocka_unit_test_setup(test_not_regular, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
