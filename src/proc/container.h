/* SPDX-License-Identifier: Apache-2.0 */
/* Which container a process runs in, from its cgroup paths. */
#ifndef SOWATCH_CONTAINER_H
#define SOWATCH_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTAINER_ID_MAX 65

/*
 * The container id named by one cgroup path, in the layouts of docker (docker-<id>.scope,
 * /docker/<id>), containerd under Kubernetes (kubepods.../<id>, cri-containerd-<id>.scope),
 * CRI-O (crio-<id>.scope), podman (libpod-<id>.scope) and plain runc (/<id>, accepted when
 * runc_state_dir/<id> exists). Returns false for a host cgroup.
 */
bool container_id_from_cgroup_path(const char *path, const char *runc_state_dir,
				   char ret_id[CONTAINER_ID_MAX]);
/* The same over every line of /proc/PID/cgroup. */
bool container_id_of_pid(uint32_t pid, char ret_id[CONTAINER_ID_MAX]);

#endif
