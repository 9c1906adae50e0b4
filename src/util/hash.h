/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 of files (executables, mapped libraries), via OpenSSL's EVP API. */
#ifndef SOWATCH_HASH_H
#define SOWATCH_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hash at most this much of a big file, to bound the time and I/O spent per file. */
#define HASH_MAX_BYTES_DEFAULT (64ull << 20)

struct file_digest {
	char sha256[65];       /* lowercase hex, NUL-terminated */
	int64_t size;	       /* st_size at fstat time */
	int64_t hashed_size;   /* bytes fed to the hash: min(file length, max_bytes) */
	bool partially_hashed; /* the file has more than max_bytes bytes */
};

/*
 * Hashes the first max_bytes bytes of the regular file at path (symlinks followed, so
 * /proc/PID/root/... and /proc/PID/map_files/... work). Returns 0, -EINVAL for a file that is
 * not regular, -EIO if libcrypto fails, or -errno; ret is only written on success.
 */
int hash_file_sha256(const char *path, uint64_t max_bytes, struct file_digest *ret);

/* Same for an open fd; reads with pread from offset 0, so the fd's file offset is not used. */
int hash_fd_sha256(int fd, uint64_t max_bytes, struct file_digest *ret);

/* The SHA-256 of len bytes, in lower-case hex ("?" if OpenSSL fails) */
void hash_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
