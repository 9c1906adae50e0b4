// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
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

#include "util/hash.h"

/* Expected values computed once with sha256sum. */
#define SHA_EMPTY   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_ABCDEF  "bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721"
#define SHA_A_1M    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
#define SHA_A_65536 "bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a"

/* Creates a temporary file holding n bytes of data (or n 'a's if data is NULL). */
static void make_file(char *path, const char *data, size_t n)
{
	int fd;

	strcpy(path, "/tmp/sowatch-test-hash-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	if (data) {
		assert_int_equal(write(fd, data, n), (ssize_t)n);
	} else {
		char *buf = malloc(n ? n : 1);

		assert_non_null(buf);
		memset(buf, 'a', n);
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		free(buf);
	}
	close(fd);
}

static void check_file(const char *data, size_t n, uint64_t max_bytes, const char *sha,
		       int64_t hashed, bool partial)
{
	struct file_digest d;
	char path[64];

	make_file(path, data, n);
	memset(&d, 0x55, sizeof(d));
	assert_int_equal(hash_file_sha256(path, max_bytes, &d), 0);
	assert_string_equal(d.sha256, sha);
	assert_int_equal(d.size, (int64_t)n);
	assert_int_equal(d.hashed_size, hashed);
	assert_int_equal(d.partially_hashed, partial);
	unlink(path);
}

static void test_known_content(void **state)
{
	(void)state;
	check_file("abc", 3, HASH_MAX_BYTES_DEFAULT, SHA_ABC, 3, false);
}

static void test_empty(void **state)
{
	(void)state;
	check_file("", 0, HASH_MAX_BYTES_DEFAULT, SHA_EMPTY, 0, false);
	check_file("", 0, 0, SHA_EMPTY, 0, false);
}

static void test_partial(void **state)
{
	(void)state;
	check_file("abcdef", 6, 3, SHA_ABC, 3, true);
	/* Exactly max_bytes long is not partial. */
	check_file("abcdef", 6, 6, SHA_ABCDEF, 6, false);
	check_file("abc", 3, 0, SHA_EMPTY, 0, true);
	/* Across 64 KiB chunk boundaries. */
	check_file(NULL, 1000000, HASH_MAX_BYTES_DEFAULT, SHA_A_1M, 1000000, false);
	check_file(NULL, 1000000, 65536, SHA_A_65536, 65536, true);
	check_file(NULL, 65536, 65536, SHA_A_65536, 65536, false);
}

static void test_not_regular(void **state)
{
	struct file_digest d, before;
	char dir[] = "/tmp/sowatch-test-hash-dir-XXXXXX";
	char fifo[64];

	(void)state;
	memset(&d, 0x55, sizeof(d));
	before = d;
	assert_int_equal(hash_file_sha256("/tmp", HASH_MAX_BYTES_DEFAULT, &d), -EINVAL);
	assert_memory_equal(&d, &before, sizeof(d));
	assert_int_equal(hash_file_sha256("/dev/null", HASH_MAX_BYTES_DEFAULT, &d), -EINVAL);

	/* A FIFO without a writer must be refused, not block. */
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(hash_file_sha256(fifo, HASH_MAX_BYTES_DEFAULT, &d), -EINVAL);
	assert_memory_equal(&d, &before, sizeof(d));
	unlink(fifo);
	rmdir(dir);
}

static void test_missing(void **state)
{
	struct file_digest d, before;

	(void)state;
	memset(&d, 0x55, sizeof(d));
	before = d;
	assert_int_equal(hash_file_sha256("/nonexistent/sowatch/file", HASH_MAX_BYTES_DEFAULT, &d),
			 -ENOENT);
	assert_memory_equal(&d, &before, sizeof(d));
	assert_int_equal(hash_fd_sha256(-1, HASH_MAX_BYTES_DEFAULT, &d), -EBADF);
	assert_memory_equal(&d, &before, sizeof(d));
}

/* The common case of a deleted binary still running: only /proc/PID/fd (or exe) reaches it. */
static void test_unlinked_via_proc_fd(void **state)
{
	struct file_digest d;
	char path[64], proc[64];
	int fd;

	(void)state;
	make_file(path, "abc", 3);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	/* Move the offset: hashing must not depend on it. */
	assert_int_equal(lseek(fd, 2, SEEK_SET), 2);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	assert_int_equal(hash_file_sha256(proc, HASH_MAX_BYTES_DEFAULT, &d), 0);
	assert_string_equal(d.sha256, SHA_ABC);
	assert_int_equal(d.size, 3);
	assert_int_equal(d.hashed_size, 3);
	assert_false(d.partially_hashed);

	memset(&d, 0, sizeof(d));
	assert_int_equal(hash_fd_sha256(fd, 2, &d), 0);
	assert_int_equal(d.hashed_size, 2);
	assert_true(d.partially_hashed);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_content), cmocka_unit_test(test_empty),
		cmocka_unit_test(test_partial),	      cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_missing),	      cmocka_unit_test(test_unlinked_via_proc_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
