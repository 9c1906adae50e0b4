/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SOWATCH_PATH_H
#define SOWATCH_PATH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Lexically normalize an absolute path: collapse "//", drop ".", resolve ".." (never above
 * "/"). Symlinks are not followed. Returns 0, or -EINVAL for a relative path, -ENAMETOOLONG.
 */
int path_normalize(const char *path, char *out, size_t size);
/* dir + "/" + name, normalized; name absolute wins. */
int path_join(const char *dir, const char *name, char *out, size_t size);
/* True when path is dir itself or below it (both normalized). */
bool path_is_under(const char *path, const char *dir);

#endif
