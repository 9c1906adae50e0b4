// SPDX-License-Identifier: Apache-2.0
#include "outputs/jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "outputs/output.h"
#include "util/safe_path.h"

#define WAIT_SLICE_MS 1000 /* how often a blocked write looks at *stopping */

struct jsonl_output {
	struct output base;
	char path[PATH_MAX]; /* "-": standard output */
	int fd;		     /* -1: to be opened at the next send */
	bool seekable;	     /* a regular file: a partial line can be cut away */
	/* A FIFO or terminal took part of a line: the rest goes first, before anything else */
	char *rest;
	size_t rest_len;
};

static int open_path(struct jsonl_output *o, char *error, size_t size)
{
	struct safe_path sp;
	struct stat st;
	/* A device such as /dev/null is fine: only root makes one. A FIFO too, if it is root's. */
	int fd = safe_path_open(&sp, o->path, "the findings output",
				SAFE_PATH_ALLOW_DEVICE | SAFE_PATH_ALLOW_FIFO);

	if (fd == 0)
		fd = safe_path_open_file(&sp, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK, 0600);
	if (fd == -ENXIO)
		snprintf(error, size, "no reader on the FIFO %s yet", o->path);
	else if (fd < 0)
		snprintf(error, size, "%s", sp.error);
	safe_path_close(&sp);
	if (fd < 0)
		return fd;
	o->fd = fd;
	o->seekable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	return 0;
}

/* Waits until fd takes more, a slice at a time: 0, -EAGAIN when stopping, or -errno. */
static int wait_writable(int fd, const volatile int *stopping)
{
	while (!*stopping) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int n = poll(&p, 1, WAIT_SLICE_MS);

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			return p.revents & (POLLERR | POLLHUP) ? -EPIPE : 0;
	}
	return -EAGAIN;
}

/* Writes all of iov; *done counts what went out even on failure. 0 or -errno. */
static int write_all(int fd, struct iovec *iov, int n, size_t *done, const volatile int *stopping)
{
	int i = 0;

	while (i < n) {
		ssize_t w = writev(fd, iov + i, n - i);

		if (w < 0) {
			int err = -errno;

			if (err == -EINTR)
				continue;
			if (err == -EAGAIN && (err = wait_writable(fd, stopping)) == 0)
				continue;
			return err;
		}
		*done += (size_t)w;
		while (i < n && (size_t)w >= iov[i].iov_len)
			w -= (ssize_t)iov[i++].iov_len;
		if (i < n) {
			iov[i].iov_base = (char *)iov[i].iov_base + w;
			iov[i].iov_len -= (size_t)w;
		}
	}
	return 0;
}

static void drop_fd(struct jsonl_output *o)
{
	if (o->fd > STDERR_FILENO)
		close(o->fd);
	if (strcmp(o->path, "-") != 0)
		o->fd = -1;
}

/* What an earlier send left of its line on a FIFO or terminal: 0 once it is out. */
static int finish_rest(struct jsonl_output *o, const volatile int *stopping)
{
	struct iovec iov = { .iov_base = o->rest, .iov_len = o->rest_len };
	size_t done = 0;
	int err;

	if (!o->rest)
		return 0;
	err = write_all(o->fd, &iov, 1, &done, stopping);
	memmove(o->rest, o->rest + done, o->rest_len - done);
	o->rest_len -= done;
	if (!err) {
		free(o->rest);
		o->rest = NULL;
	}
	return err;
}

static void jsonl_send(struct output *out, const struct output_finding *f,
		       const volatile int *stopping, struct output_result *res)
{
	struct jsonl_output *o = (struct jsonl_output *)out;
	char error[PATH_MAX + 256];
	struct iovec iov[2] = {
		{ .iov_base = (void *)f->json, .iov_len = f->len },
		{ .iov_base = "\n", .iov_len = 1 },
	};
	size_t done = 0;
	off_t end = 0;
	int err;

	if (o->fd < 0 && open_path(o, error, sizeof(error)) < 0) {
		output_result_set(res, OUTPUT_RETRY, error);
		return;
	}
	err = finish_rest(o, stopping);
	if (!err && o->seekable && (end = lseek(o->fd, 0, SEEK_END)) < 0)
		err = -errno;
	if (!err)
		err = write_all(o->fd, iov, 2, &done, stopping);
	if (!err) {
		output_result_set(res, OUTPUT_SENT, NULL);
		return;
	}
	snprintf(error, sizeof(error), "cannot write to %s: %s", o->path, strerror(-err));
	if (done && o->seekable) {
		/* Cut the fragment: the file keeps whole lines only */
		if (ftruncate(o->fd, end) != 0)
			snprintf(error, sizeof(error),
				 "cannot write to %s (%s), nor cut the partial line away (%s)",
				 o->path, strerror(-err), strerror(errno));
	} else if (done && done < f->len + 1) {
		/* A FIFO or terminal has part of the line: the rest must follow, whatever comes */
		size_t left = f->len + 1 - done;

		o->rest = malloc(left);
		if (o->rest) {
			memcpy(o->rest, done < f->len ? f->json + done : "\n",
			       done < f->len ? f->len - done : 1);
			if (done < f->len)
				o->rest[f->len - done] = '\n';
			o->rest_len = left;
		}
	}
	if (err == -EPIPE || err == -EBADF) {
		/* The reader went away: open again next time; a new reader starts on a whole line */
		drop_fd(o);
		free(o->rest);
		o->rest = NULL;
	}
	output_result_set(res, OUTPUT_RETRY, error);
}

static void jsonl_reopen(struct output *out)
{
	drop_fd((struct jsonl_output *)out);
}

static void jsonl_free(struct output *out)
{
	struct jsonl_output *o = (struct jsonl_output *)out;

	if (!o)
		return;
	drop_fd(o);
	free(o->rest);
	free(o);
}

static const struct output_ops jsonl_ops = {
	.name = "jsonl",
	.send = jsonl_send,
	.reopen = jsonl_reopen,
	.free = jsonl_free,
};

int jsonl_output_new(struct output **ret, const char *path, char *error, size_t size)
{
	struct jsonl_output *o = calloc(1, sizeof(*o));
	int err;

	*ret = NULL;
	if (!o || snprintf(o->path, sizeof(o->path), "%s", path) >= (int)sizeof(o->path)) {
		snprintf(error, size, "cannot open the findings output %s: %s", path,
			 o ? "path too long" : "out of memory");
		free(o);
		return o ? -ENAMETOOLONG : -ENOMEM;
	}
	o->base.ops = &jsonl_ops;
	snprintf(o->base.settings, sizeof(o->base.settings), "%.500s", path);
	o->fd = -1;
	if (strcmp(path, "-") == 0) {
		struct stat st;

		o->fd = STDOUT_FILENO;
		o->seekable = fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode);
	} else {
		/* Checked now, so that a bad path stops the start; a FIFO may wait for a reader */
		err = open_path(o, error, size);
		if (err && err != -ENXIO) {
			free(o);
			return err;
		}
	}
	*ret = &o->base;
	return 0;
}
