/* SPDX-License-Identifier: Apache-2.0 */
/* JSON Lines output: one finding per line, written whole and flushed at once. */
#ifndef SOWATCH_OUTPUTS_JSONL_H
#define SOWATCH_OUTPUTS_JSONL_H

#include <stdbool.h>
#include <stddef.h>

struct jsonl_output;

/*
 * path: a file (appended to, created 0600) or "-" for standard output. A file goes through
 * safe_path's checks (util/safe_path.h): a symbolic link, a file someone else owns or can write,
 * or a directory others can change is refused with -EPERM; a character device such as
 * /dev/null is accepted. On error, one line naming the path in
 * *ret_error (static storage, valid until the next call).
 */
int jsonl_output_open(struct jsonl_output **ret, const char *path, const char **ret_error);
/* Writes line + '\n' in one go; returns 0 or -errno. */
int jsonl_output_write(struct jsonl_output *out, const char *line, size_t len);
void jsonl_output_close(struct jsonl_output *out);

#endif
