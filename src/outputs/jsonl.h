/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON Lines output: one finding per line. A line is in the file whole or not at all: a write
 * that fails half-way (a full disk) is cut away from a regular file, and completed on a FIFO or
 * a terminal, before the finding counts as delivered.
 */
#ifndef SOWATCH_OUTPUTS_JSONL_H
#define SOWATCH_OUTPUTS_JSONL_H

#include <stddef.h>

struct output;

/*
 * path: a file (appended to, created 0600), a FIFO, a character device (/dev/null), or "-" for
 * standard output. It goes through safe_path's checks (util/safe_path.h): a symbolic link, a
 * file someone else owns or can write, or a directory others can change is refused with -EPERM
 * and one line naming the path in error. A FIFO with no reader yet is accepted: it is opened
 * at the first finding, and findings wait in the store until a reader comes.
 */
int jsonl_output_new(struct output **ret, const char *path, char *error, size_t size);

#endif
