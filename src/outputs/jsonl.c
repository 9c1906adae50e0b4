// SPDX-License-Identifier: Apache-2.0
#include "outputs/jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/safe_path.h"

struct jsonl_output {
	int fd;
	bool owned;
};

/* The file at path, appended to, or -errno and the reason in error. */
static int open_file(const char *path, char *error, size_t size)
{
	struct safe_path sp;
	/* A device such as /dev/null is fine: only root makes one */
	int fd = safe_path_open(&sp, path, "the findings output", SAFE_PATH_ALLOW_DEVICE);

	if (fd == 0)
		fd = safe_path_open_file(&sp, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (fd < 0)
		snprintf(error, size, "%s", sp.error);
	safe_path_close(&sp);
	return fd;
}

int jsonl_output_open(struct jsonl_output **ret, const char *path, const char **ret_error)
{
	static char error[PATH_MAX + 256];
	struct jsonl_output *out = calloc(1, sizeof(*out));

	*ret = NULL;
	if (!out) {
		snprintf(error, sizeof(error), "cannot open the findings output %s", path);
		*ret_error = error;
		return -ENOMEM;
	}
	if (strcmp(path, "-") == 0) {
		out->fd = STDOUT_FILENO;
	} else {
		out->fd = open_file(path, error, sizeof(error));
		if (out->fd < 0) {
			int err = out->fd;

			free(out);
			*ret_error = error;
			return err;
		}
		out->owned = true;
	}
	*ret = out;
	return 0;
}

int jsonl_output_write(struct jsonl_output *out, const char *line, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)line, .iov_len = len },
		{ .iov_base = "\n", .iov_len = 1 },
	};
	int i = 0;

	/* writev keeps the line and its newline together; a short write finishes the rest. */
	while (i < 2) {
		ssize_t n = writev(out->fd, iov + i, 2 - i);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (i < 2 && (size_t)n >= iov[i].iov_len)
			n -= iov[i++].iov_len;
		if (i < 2) {
			iov[i].iov_base = (char *)iov[i].iov_base + n;
			iov[i].iov_len -= n;
		}
	}
	return 0;
}

void jsonl_output_close(struct jsonl_output *out)
{
	if (!out)
		return;
	if (out->owned)
		close(out->fd);
	free(out);
}
