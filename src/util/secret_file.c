// SPDX-License-Identifier: Apache-2.0
#include "util/secret_file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/safe_path.h"

int secret_file_read_all(const char *path, const char *what, char *secret, size_t size,
			 size_t *ret_len, char *error, size_t esize)
{
	struct safe_path sp;
	struct stat st;
	ssize_t n = 0, r;
	int fd, err = 0;

	fd = safe_path_open(&sp, path, what, 0);
	if (fd == 0)
		fd = safe_path_open_file(&sp, O_RDONLY, 0);
	if (fd < 0) {
		snprintf(error, esize, "%s", sp.error);
		safe_path_close(&sp);
		return fd;
	}
	safe_path_close(&sp);
	if (fstat(fd, &st) < 0) {
		err = -errno;
		snprintf(error, esize, "cannot use %s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(error, esize,
			 "refusing %s %s: its group or others may read or write it (mode %04o): "
			 "make it 0600",
			 what, path, (unsigned)(st.st_mode & 07777));
		err = -EPERM;
		goto out;
	}
	while ((size_t)n < size - 1) {
		r = read(fd, secret + n, size - 1 - (size_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			snprintf(error, esize, "cannot read %s %s: %s", what, path,
				 strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += r;
	}
	if ((size_t)n == size - 1) {
		snprintf(error, esize, "refusing %s %s: longer than %zu bytes", what, path,
			 size - 2);
		err = -EFBIG;
		goto out;
	}
	secret[n] = '\0';
	*ret_len = (size_t)n;
out:
	if (err)
		explicit_bzero(secret, size);
	close(fd);
	return err;
}

int secret_file_read(const char *path, const char *what, const char *refused, char *secret,
		     size_t size, char *error, size_t esize)
{
	size_t len;
	ssize_t n;
	int err = secret_file_read_all(path, what, secret, size, &len, error, esize);

	if (err)
		return err;
	n = (ssize_t)len;
	while (n > 0 && isspace((unsigned char)secret[n - 1]))
		n--;
	secret[n] = '\0';
	if (n == 0) {
		snprintf(error, esize, "refusing %s %s: it is empty", what, path);
		err = -EINVAL;
		goto out;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (secret[i] <= 0x20 || secret[i] >= 0x7f) {
			snprintf(
			    error, esize,
			    "refusing %s %s: the secret has a space, a line break or a character "
			    "that is not printable ASCII",
			    what, path);
			err = -EINVAL;
			goto out;
		}
		if (refused && strchr(refused, secret[i])) {
			snprintf(error, esize, "refusing %s %s: the secret holds '%c'", what, path,
				 secret[i]);
			err = -EINVAL;
			goto out;
		}
	}
out:
	if (err)
		explicit_bzero(secret, size);
	return err;
}
