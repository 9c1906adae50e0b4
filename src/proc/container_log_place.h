/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The files of a container's log, where its runtime keeps them (container_info.log_place and
 * log_path), and their format: what both the sensor's copy and `sowatch findings logs` read.
 */
#ifndef SOWATCH_CONTAINER_LOG_PLACE_H
#define SOWATCH_CONTAINER_LOG_PLACE_H

#include <stddef.h>

#include "proc/container.h"
#include "proc/container_logs.h"

/* "docker", "cri", "podman" ("" for none): the names the store keeps */
const char *container_log_place_name(enum container_log_place place);
/* The place of a name container_log_place_name() gave; NONE for any other */
enum container_log_place container_log_place_of(const char *name);
enum container_log_format container_log_place_format(enum container_log_place place);

/* At most this many restarts' files (CRI's <n>.log) are read: the newest */
#define CONTAINER_LOG_PLACE_MAX_FILES 8

/*
 * The live files of a log place, oldest first, each to be read with its rotations by
 * container_log_read(): Docker's and podman's file is path itself; the kubelet's directory
 * holds one <n>.log per restart of the container, read in the order of n. Returns how many
 * (0: none there), or -errno (-ENOENT: no such directory). Free each path and *ret.
 */
int container_log_place_files(enum container_log_place place, const char *path, char ***ret);

#endif
