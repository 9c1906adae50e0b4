/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's annotations (its OCI spec's, or those runc copied into its state) and how they
 * become container_info's name, image, pod... and labels. Inside src/proc/ only.
 */
#ifndef SOWATCH_CONTAINER_ANNOTATIONS_H
#define SOWATCH_CONTAINER_ANNOTATIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "proc/container.h"

struct json_t;

/* The value of a JSON string that is non-empty, at most max bytes and free of NULs; else NULL. */
const char *container_json_text(const struct json_t *v, size_t max);

struct kv {
	char *k, *v;
};

/* Annotations as read, in order; keys and values are C strings (no NULs) */
struct kvs {
	struct kv *a;
	size_t n, cap;
};

void kvs_free(struct kvs *l);
/* The value of key k; NULL when absent */
const char *kvs_get(const struct kvs *l, const char *k);
/* The string members of a JSON object (annotations, CRI-O's labels); others skipped. 0 or
 * -ENOMEM. */
int kvs_from_object(struct kvs *l, const struct json_t *obj);
/*
 * runc's state.json: config.labels is ["<annotation key>=<value>", ..., "bundle=<dir>"]. The
 * bundle goes to *bundle (pointing into labels), the rest to l (when l is not NULL). 0 or -ENOMEM.
 */
int kvs_from_runc_labels(struct kvs *l, const struct json_t *labels, const char **bundle);

/*
 * The fields and labels of ci from its annotations, believing the keys of the manager that made
 * it (container.h, struct container_info). A field already set (from Docker's own record) is
 * kept. 0 or -ENOMEM.
 */
int container_apply_annotations(struct container_info *ci, const struct kvs *ann);

/*
 * Whether containerd's or CRI-O's CRI made the container (by where its state is, and their own
 * annotations): then its pod's names are the kubelet's, not whatever a creator wrote.
 */
bool container_made_by_cri(const struct container_info *ci, const struct kvs *ann);

#endif
