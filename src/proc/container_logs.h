/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a container wrote to its stdout and stderr around a time, read back from the log files
 * its runtime keeps: the lines of a time window, and a bounded "kept copy" of them to store
 * with a finding (the runtime rotates and deletes its files; the finding must outlive them).
 *
 * Everything in these files is the container's to choose, so every record is treated as
 * hostile: lengths are bounded at every step (a file, a record, a line, the kept copy), a
 * record that cannot be parsed is counted and skipped, and the text is handed on as bytes,
 * unescaped (control bytes, invalid UTF-8, NULs): escaping is the printer's job.
 */
#ifndef SOWATCH_CONTAINER_LOGS_H
#define SOWATCH_CONTAINER_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

enum container_log_format {
	/*
	 * The CRI format: containerd's and CRI-O's /var/log/pods/.../N.log, podman's k8s-file
	 * ctr.log. One record a line: "<RFC 3339 time> <stdout|stderr> <F|P> <text>\n", where P
	 * (partial) means the runtime split a long line and the stream's next record goes on
	 * with it, until an F. Rotated as N.log.YYYYMMDD-hhmmss (.gz when compressed).
	 */
	CONTAINER_LOG_CRI,
	/*
	 * Docker's json-file driver: {"log":"text\n","stream":"stdout","time":"<RFC 3339>"} a
	 * line; a log without its final "\n" is a part (Docker splits at 16 KiB) that the
	 * stream's next record goes on with. Rotated as X-json.log.1 (newest), .2, ... (.gz).
	 */
	CONTAINER_LOG_DOCKER_JSON,
};

/* Of each file, only the last this many bytes are read (stats->truncated_files). */
#define CONTAINER_LOG_FILE_MAX (64 * 1024 * 1024)
/* At most this many files are read in one call: the named one and its newest rotations. */
#define CONTAINER_LOG_FILES_MAX 32
/* What the caller keeps with a finding: container_log_keep()'s max_bytes. */
#define CONTAINER_LOG_KEEP_MAX (64 * 1024)
/* A line of a kept copy longer than this is cut: one huge line must not push out the others */
#define CONTAINER_LOG_KEEP_LINE_MAX (4 * 1024)
/*
 * container_log_keep() reads only the last this many bytes of each file: the copy keeps the
 * newest 64 KiB of lines of at most 4 KiB, which lie at a file's end, and it is made for every
 * finding, so a flood of them must not read a busy container's whole log each time.
 */
#define CONTAINER_LOG_KEEP_READ_MAX (4 * 1024 * 1024)

struct container_log_line {
	int64_t time_ns;    /* CLOCK_REALTIME ns; a joined line's is that of its first part */
	const char *stream; /* "stdout" or "stderr" */
	/*
	 * The bytes the container wrote, without the newline; any byte may be in it, NULs
	 * included (text[len] is '\0', for convenience only). Valid until the callback returns.
	 */
	const char *text;
	size_t len;
	size_t full_len; /* the line's whole length: len unless cut */
	bool cut;	 /* longer than max_line: text is its first len bytes (whole characters) */
};

/* Returns 0 to go on; anything else stops the walk and is what the walk returns. */
typedef int (*container_log_fn)(const struct container_log_line *line, void *ctx);

/*
 * What a walk met. Counters are added to and files appended, so one stats can gather the
 * calls for several paths (a pod's restarts: 0.log, 1.log): start from { 0 }, end with
 * container_log_stats_free().
 */
struct container_log_stats {
	size_t lines;		   /* lines of the window (given to the callback, or kept) */
	size_t dropped;		   /* container_log_keep(): of those, the oldest that did not fit */
	size_t unparsed;	   /* records that could not be parsed (bad time, not JSON...) */
	size_t skipped_compressed; /* rotated files ending in .gz: not read */
	size_t skipped_files;	   /* rotated files refused (not a regular file, a symlink) or
				      older than the CONTAINER_LOG_FILES_MAX newest */
	size_t truncated_files;	   /* files of which only the last CONTAINER_LOG_FILE_MAX bytes
				      (keep: CONTAINER_LOG_KEEP_READ_MAX) were read */
	char **files;		   /* the paths read, oldest first ("read from: ...") */
	size_t n_files;
};

/* Frees files and zeroes every counter: stats is { 0 } again. */
void container_log_stats_free(struct container_log_stats *stats);

/*
 * The lines of path's container, and of its rotated files, oldest file first, whose time is
 * within [from_ns, to_ns], to fn in file order. Each file is opened with O_NOFOLLOW and
 * O_NONBLOCK and read only when it is a regular file: a symlink, FIFO or device is refused
 * (path itself: -ELOOP or -EINVAL; a rotation: counted in skipped_files). A rotation last
 * modified before from_ns holds none of the window's lines and is not read. Text longer than
 * max_line bytes is cut to it: a line, whether one record or parts joined, never takes more
 * than max_line bytes of memory however long it is. A partial line still open at the end is
 * given as it is. Returns 0, fn's non-zero return, or -errno (path could not be read, -ENOMEM).
 */
int container_log_read(const char *path, enum container_log_format format, int64_t from_ns,
		       int64_t to_ns, size_t max_line, container_log_fn fn, void *ctx,
		       struct container_log_stats *stats);

/* The same over len bytes in memory (a kept copy from the store: CONTAINER_LOG_CRI). */
int container_log_read_buffer(const char *buf, size_t len, enum container_log_format format,
			      int64_t from_ns, int64_t to_ns, size_t max_line, container_log_fn fn,
			      void *ctx, struct container_log_stats *stats);

/*
 * The kept copy: the lines of the window as container_log_read() gives them, appended to out
 * in the CRI format, whole records only ("<time, UTC, ns> <stream> F <text>\n"), at most
 * max_bytes of them. When more lines match, the newest are kept and the oldest dropped
 * (stats->dropped). A line longer than CONTAINER_LOG_KEEP_LINE_MAX (or max_bytes) is cut to it,
 * and a cut line is written cut and followed by " [... N bytes cut]"; a newline
 * inside a text (which neither runtime writes) becomes a space, so a line stays one record;
 * every other byte is written as it is. Readable again with container_log_read_buffer(...,
 * CONTAINER_LOG_CRI, ...). Of each file only the last CONTAINER_LOG_KEEP_READ_MAX bytes are
 * read (stats->truncated_files). Returns 0 or -errno (out keeps what it had).
 */
int container_log_keep(const char *path, enum container_log_format format, int64_t from_ns,
		       int64_t to_ns, size_t max_bytes, struct strbuf *out,
		       struct container_log_stats *stats);

/* The same from len bytes in memory. */
int container_log_keep_buffer(const char *buf, size_t len, enum container_log_format format,
			      int64_t from_ns, int64_t to_ns, size_t max_bytes, struct strbuf *out,
			      struct container_log_stats *stats);

#endif
