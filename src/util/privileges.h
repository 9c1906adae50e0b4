/* SPDX-License-Identifier: Apache-2.0 */
/* Giving up the capabilities a running sensor no longer needs, for good. */
#ifndef SOWATCH_PRIVILEGES_H
#define SOWATCH_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Keep only the capabilities in keep[] (CAP_* numbers), in the effective and permitted sets
 * and the bounding set; clear the inheritable and ambient sets; set no_new_privs so that no
 * exec can gain any back. Returns 0 or -errno.
 */
int privileges_keep_only(const int *keep, size_t n);

/* Whether capability cap (a CAP_* number) is in this thread's effective set. */
bool privileges_effective(int cap);

#endif
