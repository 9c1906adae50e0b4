// SPDX-License-Identifier: Apache-2.0
/*
 * A container's annotations, and whose of them are believed: which manager made the container
 * decides it (proc/container_annotations.h).
 */
#include "proc/container_annotations.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* The value of a JSON string that is non-empty, at most max bytes and free of NULs; else NULL. */
const char *container_json_text(const json_t *v, size_t max)
{
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	n = json_string_length(v);
	if (!s || n == 0 || n > max || memchr(s, '\0', n))
		return NULL;
	return s;
}

static const char *str_of(const json_t *v)
{
	return container_json_text(v, CONTAINER_FIELD_MAX);
}

/* Usable as a C string: no NUL inside, non-empty, at most max bytes. */
static bool key_ok(const char *k, size_t n, size_t max)
{
	return n && n <= max && !memchr(k, '\0', n);
}

static int kvs_add(struct kvs *l, const char *k, size_t kn, const char *v)
{
	struct kv *e;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct kv *a = realloc(l->a, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		l->a = a;
		l->cap = cap;
	}
	e = &l->a[l->n];
	e->k = strndup(k, kn);
	e->v = strdup(v);
	if (!e->k || !e->v) {
		free(e->k);
		free(e->v);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

void kvs_free(struct kvs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->a[i].k);
		free(l->a[i].v);
	}
	free(l->a);
	*l = (struct kvs){ 0 };
}

const char *kvs_get(const struct kvs *l, const char *k)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->a[i].k, k) == 0)
			return l->a[i].v;
	return NULL;
}

/* The string members of a JSON object (annotations, CRI-O's labels); others skipped. */
int kvs_from_object(struct kvs *l, const json_t *obj)
{
	const char *k;
	size_t kn;
	json_t *v;
	int r;

	if (!json_is_object(obj))
		return 0;
	json_object_keylen_foreach((json_t *)obj, k, kn, v)
	{
		const char *s = str_of(v);

		if (!s || !key_ok(k, kn, CONTAINER_FIELD_MAX))
			continue;
		r = kvs_add(l, k, kn, s);
		if (r)
			return r;
	}
	return 0;
}

/*
 * runc's state.json: config.labels is ["<annotation key>=<value>", ..., "bundle=<dir>"]. The
 * bundle goes to *bundle, the rest to l (when l is not NULL). runc appends its own "bundle=" after
 * the annotations, so an annotation named "bundle" (chosen by whoever wrote the pod) comes first:
 * the last one is the bundle (runc's own SearchLabels would take the first).
 */
int kvs_from_runc_labels(struct kvs *l, const json_t *labels, const char **bundle)
{
	size_t i;
	json_t *e;
	int r;

	if (!json_is_array(labels))
		return 0;
	json_array_foreach(labels, i, e)
	{
		const char *s = str_of(e), *eq;

		if (!s || !(eq = strchr(s, '=')) || eq == s)
			continue;
		if (eq - s == 6 && memcmp(s, "bundle", 6) == 0) {
			*bundle = eq + 1;
			continue;
		}
		if (!l || !eq[1])
			continue;
		r = kvs_add(l, s, (size_t)(eq - s), eq + 1);
		if (r)
			return r;
	}
	return 0;
}

/* Annotation keys of each field, in order of preference. */
static const char *const name_keys[] = { "io.kubernetes.cri.container-name",
					 "io.kubernetes.container.name", "nerdctl/name", NULL };
static const char *const image_keys[] = { "io.kubernetes.cri.image-name",
					  "io.kubernetes.cri-o.ImageName",
					  "io.kubernetes.cri-o.Image",
					  "io.kubernetes.container.image", NULL };
static const char *const image_id_keys[] = { "io.kubernetes.cri.image-id",
					     "io.kubernetes.cri-o.ImageRef", NULL };
static const char *const pod_keys[] = { "io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name",
					NULL };
static const char *const namespace_keys[] = { "io.kubernetes.cri.sandbox-namespace",
					      "io.kubernetes.pod.namespace", NULL };
static const char *const pod_uid_keys[] = { "io.kubernetes.cri.sandbox-uid",
					    "io.kubernetes.pod.uid", NULL };
#define CRIO_LABELS "io.kubernetes.cri-o.Labels"

static const char *const *const field_keys[] = { name_keys, image_keys,	    image_id_keys,
						 pod_keys,  namespace_keys, pod_uid_keys,
						 NULL };

static bool is_field_key(const char *k)
{
	if (strcmp(k, CRIO_LABELS) == 0)
		return true;
	for (const char *const *const *f = field_keys; *f; f++)
		for (const char *const *key = *f; *key; key++)
			if (strcmp(k, *key) == 0)
				return true;
	return false;
}

/*
 * Which manager made the container, by the annotations it sets itself. It decides whose keys are
 * believed: CRI-O copies every annotation of the pod into the OCI spec, so on CRI-O a pod author
 * can add "io.kubernetes.cri.sandbox-namespace: kube-system"; containerd passes pod annotations
 * through only when allowed by its configuration (pod_annotations).
 */
enum manager { MGR_OTHER, MGR_CONTAINERD, MGR_CRIO };

static enum manager manager_of(const struct container_info *ci, const struct kvs *ann)
{
	/* Where the runtime keeps its state says more than annotations a pod could set. */
	if (ci->runtime && strncmp(ci->runtime, "/run/containerd/", 16) == 0)
		return MGR_CONTAINERD;
	if (kvs_get(ann, "io.kubernetes.cri-o.ContainerType") || kvs_get(ann, CRIO_LABELS))
		return MGR_CRIO;
	if (kvs_get(ann, "io.kubernetes.cri.container-type"))
		return MGR_CONTAINERD;
	return MGR_OTHER;
}

bool container_made_by_cri(const struct container_info *ci, const struct kvs *ann)
{
	return manager_of(ci, ann) != MGR_OTHER;
}

static bool believed(enum manager m, const char *key)
{
	bool cri = strncmp(key, "io.kubernetes.cri.", 18) == 0;

	switch (m) {
	case MGR_CONTAINERD:
		return cri; /* the rest could be a pod's own annotations */
	case MGR_CRIO:
		return !cri;
	default:
		return true;
	}
}

/*
 * The first of keys present, a copy (or left NULL). CRI-O: in the labels the kubelet gave it
 * (io.kubernetes.cri-o.Labels) before its annotations, which a pod can add to; containerd: its
 * own io.kubernetes.cri.* annotations only; others: annotations, then CRI-O-style labels.
 */
static int pick(enum manager m, const struct kvs *ann, const struct kvs *crio,
		const char *const *keys, char **ret)
{
	if (*ret)
		return 0; /* Docker's own record said it (take_docker_record) */
	const struct kvs *lists[] = { m == MGR_CRIO ? crio : ann, m == MGR_CRIO ? ann : crio };

	for (size_t l = 0; l < (m == MGR_CONTAINERD ? 1 : 2); l++)
		for (const char *const *k = keys; *k; k++) {
			const char *v = believed(m, *k) ? kvs_get(lists[l], *k) : NULL;

			if (v) {
				*ret = strdup(v);
				return *ret ? 0 : -ENOMEM;
			}
		}
	return 0;
}

static bool has_label(const struct container_info *ci, const char *k)
{
	for (size_t i = 0; i < ci->n_labels; i++)
		if (strcmp(ci->labels[i].name, k) == 0)
			return true;
	return false;
}

static int add_labels(struct container_info *ci, const struct kvs *l)
{
	for (size_t i = 0; i < l->n && ci->n_labels < CONTAINER_LABELS_MAX; i++) {
		const struct kv *e = &l->a[i];
		struct container_label *lab;

		if (strlen(e->k) > CONTAINER_LABEL_MAX || strlen(e->v) > CONTAINER_LABEL_MAX ||
		    is_field_key(e->k) || has_label(ci, e->k))
			continue;
		if (!ci->labels) {
			ci->labels = calloc(CONTAINER_LABELS_MAX, sizeof(*ci->labels));
			if (!ci->labels)
				return -ENOMEM;
		}
		lab = &ci->labels[ci->n_labels];
		lab->name = strdup(e->k);
		lab->value = strdup(e->v);
		if (!lab->name || !lab->value) {
			free(lab->name);
			free(lab->value);
			return -ENOMEM;
		}
		ci->n_labels++;
	}
	return 0;
}

int container_apply_annotations(struct container_info *ci, const struct kvs *ann)
{
	struct kvs crio = { 0 };
	const char *crio_json = kvs_get(ann, CRIO_LABELS);
	char **fields[] = { &ci->name, &ci->image,     &ci->image_id,
			    &ci->pod,  &ci->namespace, &ci->pod_uid };
	int r = 0;

	if (crio_json) {
		json_t *j = container_parse_json(crio_json, strlen(crio_json));

		r = kvs_from_object(&crio, j);
		json_decref(j);
		if (r)
			goto out;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		r = pick(manager_of(ci, ann), ann, &crio, field_keys[i], fields[i]);
		if (r)
			goto out;
	}
	r = add_labels(ci, &crio);
	if (!r)
		r = add_labels(ci, ann);
out:
	kvs_free(&crio);
	return r;
}
