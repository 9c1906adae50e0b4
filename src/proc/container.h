/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which container a process runs in, from its cgroup paths; and what the OCI runtime knows
 * about that container (name, image, pod, namespace, labels), from its state directory.
 */
#ifndef SOWATCH_CONTAINER_H
#define SOWATCH_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTAINER_ID_MAX 65

/* Runtime state files and bundle config.json files larger than this are not read. */
#define CONTAINER_FILE_MAX (1024 * 1024)
/* Name, image, pod... values longer than this are treated as absent (never truncated). */
#define CONTAINER_FIELD_MAX 1024
/* Annotations become labels only when key and value are each at most this long... */
#define CONTAINER_LABEL_MAX 256
/* ...and at most this many of them. */
#define CONTAINER_LABELS_MAX 64

/*
 * The runc-style state roots searched, in this order, each holding <root>/<id>/state.json
 * (crun: <root>/<id>/status): runc's default (also CRI-O's and podman's), containerd's runc
 * shim for the Kubernetes and default namespaces, docker's (moby) runc, crun's. NULL-terminated.
 */
extern const char *const container_default_roots[];
/*
 * gVisor's runsc state directories searched by default: its own default and containerd's runsc
 * shim's (Kubernetes and default namespaces). NULL-terminated.
 */
extern const char *const container_runsc_roots[];

/*
 * The container id named by one cgroup path, in the layouts of docker (docker-<id>.scope,
 * /docker/<id>), containerd under Kubernetes (kubepods.../<id>, cri-containerd-<id>.scope),
 * CRI-O (crio-<id>.scope), podman (libpod-<id>.scope) and plain runc (/<id>, accepted when
 * runc_state_dir/<id>/state.json exists). Returns false for a host cgroup.
 *
 * A 64-hex-digit id is taken from the component nearest the root, so that a process in a
 * container cannot move itself into a sub-cgroup named like another container (or like
 * nothing at all) to be reported as that container, or as the host. A plain runc name (which
 * needs its state to be recognised) is looked for in the last component only.
 */
bool container_id_from_cgroup_path(const char *path, const char *runc_state_dir,
				   char ret_id[CONTAINER_ID_MAX]);
/* The same, with a plain runc name accepted when it has state under any of roots (NULL-terminated;
 * NULL: none). */
bool container_id_from_cgroup_path_roots(const char *path, const char *const *roots,
					 char ret_id[CONTAINER_ID_MAX]);
/*
 * The same over every line of /proc/PID/cgroup, plain runc names looked up under the default
 * roots and extra_roots (NULL-terminated, or NULL): 1 with the id, 0 when the process is in
 * no container, -errno when its cgroups could not be read (it is gone).
 */
int container_id_of_pid_roots(uint32_t pid, const char *const *extra_roots,
			      char ret_id[CONTAINER_ID_MAX]);
/* Whether container_id_of_pid_roots(pid, NULL, ret_id) found a container */
bool container_id_of_pid(uint32_t pid, char ret_id[CONTAINER_ID_MAX]);

/*
 * The whole of dirfd/name when it is a regular file (not a symlink, not a FIFO) of at most max
 * bytes, NUL-terminated, in *ret (free it). Returns 0, or -errno (-EFBIG: too large). Files a
 * runtime wrote, and /proc files (read to their end within max).
 */
int container_read_small_file(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len);
struct json_t;
/*
 * An OCI document (state.json, config.json) parsed as the runtimes write it: uint64 numbers
 * (RLIM_INFINITY) read as reals, strings with NULs kept. NULL when it is no JSON.
 */
struct json_t *container_parse_json(const char *buf, size_t len);
/* <bundle>/config.json (at most CONTAINER_FILE_MAX bytes) as an object in *ret: 0 or -errno. */
int container_bundle_config(const char *bundle, struct json_t **ret);
/* An id the OCI runtime accepts (letters, digits, "_+-."; not "." or ".."): safe in a path */
bool container_id_is_valid(const char *id);

/* Where the runtime keeps the container's log (container_info.log_path) */
enum container_log_place {
	CONTAINER_LOG_PLACE_NONE,
	CONTAINER_LOG_PLACE_DOCKER, /* Docker's json-file: <data root>/containers/<id>/<id>-json.log */
	CONTAINER_LOG_PLACE_CRI,    /* the kubelet's directory for the container, CRI format:
				       CONTAINER_POD_LOGS_DIR/<namespace>_<pod>_<pod uid>/<name> */
	CONTAINER_LOG_PLACE_PODMAN, /* podman's k8s-file (CRI format): <bundle>/ctr.log */
};

/* Where the kubelet keeps the logs of a node's pods */
#define CONTAINER_POD_LOGS_DIR "/var/log/pods"

struct container_label {
	char *name;
	char *value;
};

/*
 * What the OCI runtime knows about one container. Every string is untrusted input (annotations
 * and labels are chosen by whoever creates the pod or container): valid UTF-8 without NULs, at
 * most CONTAINER_FIELD_MAX bytes, but otherwise arbitrary; escape it when writing it out.
 * Absent fields are NULL (an empty annotation counts as absent).
 *
 * Whose keys are believed depends on the manager, recognised by annotations it sets itself:
 * containerd (io.kubernetes.cri.container-type): only its io.kubernetes.cri.* keys; CRI-O
 * (io.kubernetes.cri-o.ContainerType or .Labels): the kubelet's labels in io.kubernetes.cri-o.Labels
 * first, then its annotations, never io.kubernetes.cri.* (CRI-O copies a pod's annotations into
 * the spec, so a pod could name itself anything there); others: every key below, in order.
 */
struct container_info {
	char id[CONTAINER_ID_MAX];
	char *name;	 /* container name: io.kubernetes.cri.container-name,
			    io.kubernetes.container.name (also inside io.kubernetes.cri-o.Labels),
			    nerdctl/name */
	char *image;	 /* image: io.kubernetes.cri.image-name, io.kubernetes.cri-o.ImageName,
			    io.kubernetes.cri-o.Image, io.kubernetes.container.image */
	char *image_id;	 /* io.kubernetes.cri.image-id, io.kubernetes.cri-o.ImageRef */
	char *pod;	 /* io.kubernetes.cri.sandbox-name, io.kubernetes.pod.name */
	char *namespace; /* io.kubernetes.cri.sandbox-namespace, io.kubernetes.pod.namespace */
	char *pod_uid;	 /* io.kubernetes.cri.sandbox-uid, io.kubernetes.pod.uid */
	char *runtime;	 /* the state root it was found under, e.g. "/run/containerd/runc/k8s.io" */
	char *bundle;	 /* the OCI bundle directory, from the state; NULL if unknown */
	int64_t created_ns; /* the state's "created" (RFC 3339) in ns since the epoch; 0 unknown */
	bool
	    annotations_from_state; /* config.json unreadable: annotations from runc's state.json */
	/* The security-relevant settings of its OCI spec, a compact JSON object written by
	   container_settings_json(); NULL when the spec could not be read */
	char *settings;
	enum container_log_place log_place;
	char *log_path; /* NULL when log_place is NONE */
	/*
	 * Labels: the Kubernetes labels CRI-O records (io.kubernetes.cri-o.Labels, a JSON object),
	 * then every other annotation not mapped to a field above, in the order they appear;
	 * each only when name and value are at most CONTAINER_LABEL_MAX bytes, the first
	 * CONTAINER_LABELS_MAX distinct names.
	 */
	struct container_label *labels;
	size_t n_labels;
};

/*
 * Look the container up in the OCI runtime's state: <root>/<id>/state.json (crun:
 * <root>/<id>/status) for each of container_default_roots then extra_roots (NULL-terminated, or
 * NULL), first found wins; then the annotations of <bundle>/config.json, or when that cannot be
 * read, those runc copied into state.json's config.labels. Files are opened with O_NOFOLLOW
 * (a symlinked state.json or config.json is not followed), must be regular and at most
 * CONTAINER_FILE_MAX bytes. Returns 0 with *ret filled (whatever could be learnt; free it with
 * container_info_free), -EINVAL for an id runc would not accept, -ENOENT when no root knows
 * the id, -ENOMEM. On error *ret is zeroed (and safe to free). The settings come from the same
 * config.json (or gVisor's copy of the spec); a Docker container's name, image and log from
 * Docker's own record of it (container_docker.h).
 */
int container_info_load(const char *id, const char *const *extra_roots, struct container_info *ret);
void container_info_free(struct container_info *ci);
/* A deep copy of src into *ret (0 or -ENOMEM; *ret zeroed on error). */
int container_info_copy(const struct container_info *src, struct container_info *ret);

/*
 * container_info_load through a small cache (by id, CONTAINER_CACHE_SIZE entries, least
 * recently used evicted): an entry is reused while its state file keeps the same mtime, inode
 * and size, so a lookup costs one fstatat. *ret is the caller's own copy: free it with
 * container_info_free. Thread-safe. The cache assumes extra_roots is the same on every call.
 */
#define CONTAINER_CACHE_SIZE 64
int container_info_get(const char *id, const char *const *extra_roots, struct container_info *ret);
/* Drop every cached entry. */
void container_info_cache_clear(void);

#endif
