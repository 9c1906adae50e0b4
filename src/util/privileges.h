/* SPDX-License-Identifier: Apache-2.0 */
/* Giving up the capabilities a running sensor no longer needs, for good. */
#ifndef SOWATCH_PRIVILEGES_H
#define SOWATCH_PRIVILEGES_H

#include <stddef.h>

/*
 * Keep only the capabilities in keep[] (CAP_* numbers), in the effective and permitted sets
 * and the bounding set; clear the inheritable and ambient sets; set no_new_privs so that no
 * exec can gain any back. Returns 0 or -errno.
 */
int privileges_keep_only(const int *keep, size_t n);

/*
 * Which of need[] (CAP_* numbers) are not in the effective set: written to missing[] (room for
 * n), in need[]'s order. Returns how many, or -errno.
 */
int privileges_missing(const int *need, size_t n, int *missing);

#endif
