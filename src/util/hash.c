// SPDX-License-Identifier: Apache-2.0
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define HASH_CHUNK (64 * 1024)

static ssize_t pread_retry(int fd, void *buf, size_t n, off_t off)
{
	ssize_t r;

	do
		r = pread(fd, buf, n, off);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int hash_fd_sha256(int fd, uint64_t max_bytes, struct file_digest *ret)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	struct file_digest d = { 0 };
	uint64_t total = 0;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	struct stat st;
	ssize_t r;
	int err;

	if (fstat(fd, &st) < 0)
		return -errno;
	/* Devices, FIFOs and sockets could block forever or never end. */
	if (!S_ISREG(st.st_mode))
		return -EINVAL;

	/* Heap, not stack: callers may run on small thread stacks. */
	buf = malloc(HASH_CHUNK);
	ctx = EVP_MD_CTX_new();
	if (!buf || !ctx) {
		err = -ENOMEM;
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		err = -EIO;
		goto out;
	}

	/*
	 * Read until EOF rather than trusting st_size: the file may change under us, and some
	 * regular files (procfs, sysfs) report size 0 yet have contents.
	 */
	while (total < max_bytes) {
		size_t want = HASH_CHUNK;

		if (max_bytes - total < want)
			want = (size_t)(max_bytes - total);
		r = pread_retry(fd, buf, want, (off_t)total);
		if (r < 0) {
			err = (int)r;
			goto out;
		}
		if (r == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1) {
			err = -EIO;
			goto out;
		}
		total += (uint64_t)r;
	}
	if (total == max_bytes) {
		/* Probe for one more byte, again not trusting st_size. */
		r = pread_retry(fd, buf, 1, (off_t)total);
		if (r < 0) {
			err = (int)r;
			goto out;
		}
		d.partially_hashed = r > 0;
	}
	if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != 32) {
		err = -EIO;
		goto out;
	}

	for (unsigned int i = 0; i < md_len; i++) {
		d.sha256[2 * i] = hex[md[i] >> 4];
		d.sha256[2 * i + 1] = hex[md[i] & 0xf];
	}
	d.sha256[64] = '\0';
	d.size = (int64_t)st.st_size;
	d.hashed_size = (int64_t)total;
	*ret = d;
	err = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return err;
}

int hash_file_sha256(const char *path, uint64_t max_bytes, struct file_digest *ret)
{
	int fd, err;

	/* O_NONBLOCK so that opening a FIFO cannot hang; fstat then rejects it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	err = hash_fd_sha256(fd, max_bytes, ret);
	close(fd);
	return err;
}

void hash_sha256_hex(const void *data, size_t len, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32) {
		snprintf(hex, 65, "?");
		return;
	}
	for (unsigned int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}
