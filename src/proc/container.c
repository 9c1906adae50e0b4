// SPDX-License-Identifier: Apache-2.0
#include "proc/container.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* jansson reads the runtime's JSON; the project's own writer (util/json.h) is jw_*. */
#include <jansson.h>

#include "proc/container_annotations.h"
#include "proc/container_docker.h"
#include "proc/container_settings.h"
#include "util/rfc3339.h"
#include "util/strbuf.h"

const char *const container_default_roots[] = {
	"/run/runc",			 /* runc's default; CRI-O and podman with runc */
	"/run/containerd/runc/k8s.io",	 /* containerd's runc shim, Kubernetes namespace */
	"/run/containerd/runc/default",	 /* containerd, default namespace (ctr, nerdctl) */
	"/run/docker/runtime-runc/moby", /* docker >= 20.10 */
	"/run/crun",			 /* crun (podman, CRI-O) */
	NULL,
};

#define N_DEFAULT_ROOTS (sizeof(container_default_roots) / sizeof(container_default_roots[0]) - 1)
#define MAX_EXTRA_ROOTS 16

/* The state file names, in the order tried: runc's, then crun's. */
static const char *const state_files[] = { "state.json", "status", NULL };

static bool is_hex_id(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* A runc container id: what runc itself accepts (letters, digits, "_+-."), no "..". */
static bool is_runc_id(const char *s, size_t n)
{
	if (n == 0 || n >= CONTAINER_ID_MAX || (n <= 2 && s[0] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_+-.", s[i]))
			return false;
	return true;
}

/* Whether <root>/<id> holds a state file (of any type: it is the runtime's own directory). */
static bool has_state(const char *root, const char *id, size_t n)
{
	char path[PATH_MAX];
	struct stat st;

	for (const char *const *f = state_files; *f; f++) {
		if (snprintf(path, sizeof(path), "%s/%.*s/%s", root, (int)n, id, *f) >=
		    (int)sizeof(path))
			return false;
		if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return true;
	}
	return false;
}

/* One cgroup path component without its runtime's decoration: "docker-<id>.scope" -> "<id>". */
static void strip_component(const char **c, size_t *n)
{
	static const char *const prefixes[] = { "docker-",	   "crio-", "libpod-",
						"cri-containerd-", "runc-", NULL };

	for (const char *const *p = prefixes; *p; p++) {
		size_t pl = strlen(*p);

		if (*n > pl && memcmp(*c, *p, pl) == 0) {
			*c += pl;
			*n -= pl;
			break;
		}
	}
	if (*n > 6 && memcmp(*c + *n - 6, ".scope", 6) == 0)
		*n -= 6;
}

static bool take_id(const char *s, size_t n, char ret_id[CONTAINER_ID_MAX])
{
	memcpy(ret_id, s, n);
	ret_id[n] = '\0';
	return true;
}

bool container_id_from_cgroup_path_roots(const char *path, const char *const *roots,
					 char ret_id[CONTAINER_ID_MAX])
{
	const char *c = path, *last = NULL;
	size_t last_n = 0;

	/* Nearest the root first: a sub-cgroup below a container is still that container. */
	while (*c) {
		size_t n = strcspn(c, "/");
		const char *s = c;
		size_t sn = n;

		if (n) {
			strip_component(&s, &sn);
			if (is_hex_id(s, sn))
				return take_id(s, sn, ret_id);
			last = c;
			last_n = n;
		}
		c += n;
		if (*c == '/')
			c++;
	}
	if (!last || !roots)
		return false;
	/* A plain runc name, decorated or not ("runc-<name>.scope" under systemd). */
	for (int raw = 0; raw < 2; raw++) {
		const char *s = last;
		size_t sn = last_n;

		if (!raw)
			strip_component(&s, &sn);
		else if (sn == last_n)
			break; /* nothing was stripped: already tried */
		if (!is_runc_id(s, sn))
			continue;
		for (const char *const *r = roots; *r; r++)
			if (has_state(*r, s, sn))
				return take_id(s, sn, ret_id);
	}
	return false;
}

bool container_id_from_cgroup_path(const char *path, const char *runc_state_dir,
				   char ret_id[CONTAINER_ID_MAX])
{
	const char *roots[] = { runc_state_dir, NULL };

	return container_id_from_cgroup_path_roots(path, runc_state_dir ? roots : NULL, ret_id);
}

/* Default roots then extra_roots, NULL-terminated, into out[N_DEFAULT_ROOTS + MAX_EXTRA_ROOTS + 1]. */
static void all_roots(const char *const *extra_roots, const char **out)
{
	size_t n = 0;

	for (size_t i = 0; i < N_DEFAULT_ROOTS; i++)
		out[n++] = container_default_roots[i];
	for (size_t i = 0; extra_roots && extra_roots[i] && i < MAX_EXTRA_ROOTS; i++)
		if (extra_roots[i][0] == '/')
			out[n++] = extra_roots[i];
	out[n] = NULL;
}

int container_id_of_pid_roots(uint32_t pid, const char *const *extra_roots,
			      char ret_id[CONTAINER_ID_MAX])
{
	const char *roots[N_DEFAULT_ROOTS + MAX_EXTRA_ROOTS + 1];
	char path[64], line[4096], prev[4096] = "";
	bool found = false, first = true;
	FILE *f;

	if (pid == 0)
		return -ESRCH;
	all_roots(extra_roots, roots);
	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* "hierarchy-id:controllers:path"; v1 hybrid repeats one path on most lines */
	while (!found && fgets(line, sizeof(line), f)) {
		char *cg = strchr(line, ':');

		cg = cg ? strchr(cg + 1, ':') : NULL;
		if (!cg)
			continue;
		cg++;
		cg[strcspn(cg, "\n")] = '\0';
		if (!first && strcmp(cg, prev) == 0)
			continue;
		first = false;
		snprintf(prev, sizeof(prev), "%s", cg);
		found = container_id_from_cgroup_path_roots(cg, roots, ret_id);
	}
	fclose(f);
	if (found)
		return 1;
	return first ? -ESRCH : 0; /* a live process is in at least one cgroup */
}

bool container_id_of_pid(uint32_t pid, char ret_id[CONTAINER_ID_MAX])
{
	return container_id_of_pid_roots(pid, NULL, ret_id) > 0;
}

/* ---- Reading the runtime's files ---- */

/*
 * The whole of dirfd/name when it is a regular file (not a symlink, not a FIFO) of at most max
 * bytes; NUL-terminated. Returns 0, or -errno (-EFBIG: too large).
 */
static int read_small_file(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len,
			   struct stat *ret_st)
{
	struct stat st;
	size_t len = 0;
	char *buf;
	int fd, r = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	buf = malloc(max + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	/* Up to max + 1 bytes: a file that grew past the limit since fstat is refused too. */
	while (len <= max) {
		ssize_t k = read(fd, buf + len, max + 1 - len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			free(buf);
			goto out;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	if (len > max) {
		free(buf);
		r = -EFBIG;
		goto out;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	if (ret_st)
		*ret_st = st;
out:
	close(fd);
	return r;
}

int container_read_small_file(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len)
{
	return read_small_file(dirfd, name, max, ret, ret_len, NULL);
}

bool container_id_is_valid(const char *id)
{
	return id && is_runc_id(id, strlen(id));
}

json_t *container_parse_json(const char *buf, size_t len)
{
	json_error_t err;

	/*
	 * INT_AS_REAL: an OCI spec may hold uint64 numbers (RLIM_INFINITY rlimits) that would
	 * make jansson refuse the whole document. ALLOW_NUL: one annotation value with a \u0000
	 * must not hide every other one; such strings are skipped by str_of().
	 */
	return json_loadb(buf, len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &err);
}

/* ---- Loading ---- */

void container_info_free(struct container_info *ci)
{
	if (!ci)
		return;
	free(ci->name);
	free(ci->image);
	free(ci->image_id);
	free(ci->pod);
	free(ci->namespace);
	free(ci->pod_uid);
	free(ci->runtime);
	free(ci->bundle);
	free(ci->settings);
	free(ci->log_path);
	for (size_t i = 0; i < ci->n_labels; i++) {
		free(ci->labels[i].name);
		free(ci->labels[i].value);
	}
	free(ci->labels);
	memset(ci, 0, sizeof(*ci));
}

/*
 * The state directory of id under root, and which state file is in it: 0, -ENOENT, or another
 * -errno. A symlinked <root>/<id> is not followed.
 */
static int open_state_dir(const char *root, const char *id, int *ret_fd, const char **ret_file)
{
	struct stat st;
	int rfd, dfd;

	rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -errno;
	dfd = openat(rfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	close(rfd);
	if (dfd < 0)
		return errno == ELOOP || errno == ENOTDIR ? -ENOENT : -errno;
	for (const char *const *f = state_files; *f; f++)
		if (fstatat(dfd, *f, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			*ret_fd = dfd;
			*ret_file = *f;
			return 0;
		}
	close(dfd);
	return -ENOENT;
}

/* An absolute path without "." or ".." components and without control characters. */
static bool sane_dir(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/' || n >= PATH_MAX - 32)
		return false;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20)
			return false;
	for (const char *c = p; *c;) {
		size_t k;

		c += strspn(c, "/");
		k = strcspn(c, "/");
		if ((k == 1 && c[0] == '.') || (k == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += k;
	}
	return true;
}

int container_bundle_config(const char *bundle, json_t **ret)
{
	char *buf = NULL;
	size_t len;
	json_t *j;
	int dfd, r;

	dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = read_small_file(dfd, "config.json", CONTAINER_FILE_MAX, &buf, &len, NULL);
	close(dfd);
	if (r)
		return r;
	j = container_parse_json(buf, len);
	free(buf);
	if (!json_is_object(j)) {
		json_decref(j);
		return -EINVAL;
	}
	*ret = j;
	return 0;
}

/* The settings of spec into ci->settings: 0 or -ENOMEM (unreadable settings are unknown) */
static int take_settings(struct container_info *ci, const json_t *spec)
{
	struct strbuf sb = STRBUF_INIT;
	int r = container_settings_json(spec, &sb);

	if (r == 0)
		ci->settings = strbuf_detach(&sb);
	strbuf_release(&sb);
	return r == -ENOMEM || (r == 0 && !ci->settings) ? -ENOMEM : 0;
}

/* Docker's runc state root (docker >= 20.10), under whatever --exec-root */
static bool is_docker_root(const char *root)
{
	static const char suffix[] = "/runtime-runc/moby";
	size_t n = root ? strlen(root) : 0;

	return n >= sizeof(suffix) - 1 && strcmp(root + n - (sizeof(suffix) - 1), suffix) == 0;
}

/* What Docker alone knows: its name, the image as asked for, its log. 0 or -ENOMEM. */
static int take_docker_record(struct container_info *ci, const json_t *spec)
{
	struct docker_container dc;
	int r = docker_container_read(spec, ci->id, &dc);

	if (r)
		return r == -ENOMEM ? r : 0;
	if (dc.name && !ci->name) {
		ci->name = dc.name;
		dc.name = NULL;
	}
	if (dc.image && !ci->image) {
		ci->image = dc.image;
		dc.image = NULL;
	}
	if (dc.log_path) {
		ci->log_place = CONTAINER_LOG_PLACE_DOCKER;
		ci->log_path = dc.log_path;
		dc.log_path = NULL;
	}
	docker_container_free(&dc);
	return 0;
}

/*
 * The annotations of <bundle>/config.json into ann, its settings into ci, and for Docker's
 * containers Docker's own record: 0, or -errno (nothing added).
 */
static int load_config(const char *bundle, struct container_info *ci, struct kvs *ann)
{
	json_t *j;
	int r = container_bundle_config(bundle, &j);

	if (r)
		return r;
	r = kvs_from_object(ann, json_object_get(j, "annotations"));
	if (!r)
		r = take_settings(ci, j);
	if (!r && is_docker_root(ci->runtime))
		r = take_docker_record(ci, j);
	json_decref(j);
	return r;
}

/* A name the kubelet would use as a path component: not empty, ".", ".." or holding a '/' */
static bool path_component_ok(const char *s)
{
	return s && s[0] && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/') &&
	       strlen(s) < 256;
}

/*
 * Where a CRI runtime's (containerd, CRI-O) or podman's container has its log, when Docker's
 * record did not say: 0 or -ENOMEM.
 */
static int locate_log(struct container_info *ci, const struct kvs *ann)
{
	char path[PATH_MAX];
	const char *manager = kvs_get(ann, "io.container.manager");

	if (ci->log_place != CONTAINER_LOG_PLACE_NONE)
		return 0;
	/* Only a CRI's own names: another creator could name another pod's log directory */
	if (container_made_by_cri(ci, ann) && ci->namespace && ci->pod && ci->pod_uid && ci->name &&
	    path_component_ok(ci->namespace) && path_component_ok(ci->pod) &&
	    path_component_ok(ci->pod_uid) && path_component_ok(ci->name)) {
		snprintf(path, sizeof(path), "%s/%s_%s_%s/%s", CONTAINER_POD_LOGS_DIR,
			 ci->namespace, ci->pod, ci->pod_uid, ci->name);
		ci->log_place = CONTAINER_LOG_PLACE_CRI;
	} else if (manager && strcmp(manager, "libpod") == 0 && ci->bundle) {
		snprintf(path, sizeof(path), "%s/ctr.log", ci->bundle);
		ci->log_place = CONTAINER_LOG_PLACE_PODMAN;
	} else {
		return 0;
	}
	ci->log_path = strdup(path);
	if (!ci->log_path)
		ci->log_place = CONTAINER_LOG_PLACE_NONE;
	return ci->log_path ? 0 : -ENOMEM;
}

/* Everything but the cache: the state file found, with its stat. */
static int load(const char *id, const char *const *roots, struct container_info *ret,
		const char **ret_file, struct stat *ret_st)
{
	struct kvs ann = { 0 }, state_ann = { 0 };
	const char *file = NULL, *bundle = NULL;
	json_t *state = NULL;
	char *buf = NULL;
	size_t len = 0;
	int dfd = -1, r = -ENOENT;

	memset(ret, 0, sizeof(*ret));
	memset(ret_st, 0, sizeof(*ret_st));
	if (!id || !is_runc_id(id, strlen(id)))
		return -EINVAL;
	for (const char *const *root = roots; *root; root++) {
		r = open_state_dir(*root, id, &dfd, &file);
		if (r == 0) {
			ret->runtime = strdup(*root);
			if (!ret->runtime) {
				r = -ENOMEM;
				goto out;
			}
			break;
		}
	}
	if (r) {
		r = -ENOENT;
		goto out;
	}
	snprintf(ret->id, sizeof(ret->id), "%s", id);
	*ret_file = file;
	/* Before reading: if it changes in between, the cache only reloads once more. */
	if (fstatat(dfd, file, ret_st, AT_SYMLINK_NOFOLLOW) < 0)
		memset(ret_st, 0, sizeof(*ret_st));

	/* From here on the runtime knows the id: whatever cannot be read is just not known. */
	if (read_small_file(dfd, file, CONTAINER_FILE_MAX, &buf, &len, NULL) == 0)
		state = container_parse_json(buf, len);
	free(buf);
	if (json_is_object(state)) {
		json_t *config = json_object_get(state, "config");

		ret->created_ns = rfc3339_parse(
		    container_json_text(json_object_get(state, "created"), CONTAINER_FIELD_MAX));
		/* crun: "bundle"; runc: config.labels "bundle=..." */
		bundle = container_json_text(json_object_get(state, "bundle"), PATH_MAX);
		if (json_is_object(config)) {
			r = kvs_from_runc_labels(&state_ann, json_object_get(config, "labels"),
						 &bundle);
			if (r)
				goto out;
		}
	}
	if (bundle && sane_dir(bundle)) {
		ret->bundle = strdup(bundle);
		if (!ret->bundle) {
			r = -ENOMEM;
			goto out;
		}
	}

	r = ret->bundle ? load_config(ret->bundle, ret, &ann) : -ENOENT;
	if (r == -ENOMEM)
		goto out;
	if (r) {
		/* No readable config.json: runc kept a copy of the annotations in its state. */
		kvs_free(&ann);
		ann = state_ann;
		state_ann = (struct kvs){ 0 };
		ret->annotations_from_state = ann.n > 0;
	}
	r = container_apply_annotations(ret, &ann);
	if (!r)
		r = locate_log(ret, &ann);
out:
	if (dfd >= 0)
		close(dfd);
	json_decref(state);
	kvs_free(&ann);
	kvs_free(&state_ann);
	if (r)
		container_info_free(ret);
	return r;
}

/*
 * gVisor's runsc keeps a container's state as <root>/<id>_sandbox:<sandbox id>.state, a JSON
 * object with the OCI spec ("spec", annotations included), "bundleDir" and "createdAt".
 */
const char *const container_runsc_roots[] = {
	"/var/run/runsc",
	"/run/containerd/runsc/k8s.io",
	"/run/containerd/runsc/default",
	NULL,
};

static int runsc_load(const char *id, struct container_info *ret)
{
	size_t idn = strlen(id);
	int r = -ENOENT;

	memset(ret, 0, sizeof(*ret));
	for (const char *const *root = container_runsc_roots; *root && r == -ENOENT; root++) {
		DIR *d = opendir(*root);
		struct dirent *de;

		while (d && r == -ENOENT && (de = readdir(d))) {
			struct kvs ann = { 0 };
			json_t *state, *spec;
			size_t n = strlen(de->d_name), len;
			char *buf = NULL;
			const char *bundle;

			if (n <= idn + 15 || strncmp(de->d_name, id, idn) != 0 ||
			    strncmp(de->d_name + idn, "_sandbox:", 9) != 0 ||
			    strcmp(de->d_name + n - 6, ".state") != 0)
				continue;
			if (read_small_file(dirfd(d), de->d_name, CONTAINER_FILE_MAX, &buf, &len,
					    NULL))
				continue;
			state = container_parse_json(buf, len);
			free(buf);
			if (!json_is_object(state)) {
				json_decref(state);
				continue;
			}
			snprintf(ret->id, sizeof(ret->id), "%s", id);
			ret->runtime = strdup(*root);
			ret->created_ns = rfc3339_parse(container_json_text(
			    json_object_get(state, "createdAt"), CONTAINER_FIELD_MAX));
			bundle = container_json_text(json_object_get(state, "bundleDir"), PATH_MAX);
			if (bundle && sane_dir(bundle))
				ret->bundle = strdup(bundle);
			spec = json_object_get(state, "spec");
			r = json_is_object(spec)
				? kvs_from_object(&ann, json_object_get(spec, "annotations"))
				: 0;
			if (!r && json_is_object(spec))
				r = take_settings(ret, spec);
			if (!r)
				r = container_apply_annotations(ret, &ann);
			if (!r)
				r = locate_log(ret, &ann);
			kvs_free(&ann);
			json_decref(state);
			if (!r && !ret->runtime)
				r = -ENOMEM;
		}
		if (d)
			closedir(d);
	}
	if (r)
		container_info_free(ret);
	return r;
}

int container_info_load(const char *id, const char *const *extra_roots, struct container_info *ret)
{
	const char *roots[N_DEFAULT_ROOTS + MAX_EXTRA_ROOTS + 1];
	const char *file;
	struct stat st;
	int r;

	all_roots(extra_roots, roots);
	r = load(id, roots, ret, &file, &st);
	return r == -ENOENT ? runsc_load(id, ret) : r;
}

static char *dup_or_null(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

int container_info_copy(const struct container_info *src, struct container_info *ret)
{
	int err = 0;

	memset(ret, 0, sizeof(*ret));
	memcpy(ret->id, src->id, sizeof(ret->id));
	ret->created_ns = src->created_ns;
	ret->annotations_from_state = src->annotations_from_state;
	ret->name = dup_or_null(src->name, &err);
	ret->image = dup_or_null(src->image, &err);
	ret->image_id = dup_or_null(src->image_id, &err);
	ret->pod = dup_or_null(src->pod, &err);
	ret->namespace = dup_or_null(src->namespace, &err);
	ret->pod_uid = dup_or_null(src->pod_uid, &err);
	ret->runtime = dup_or_null(src->runtime, &err);
	ret->bundle = dup_or_null(src->bundle, &err);
	ret->settings = dup_or_null(src->settings, &err);
	ret->log_place = src->log_place;
	ret->log_path = dup_or_null(src->log_path, &err);
	if (src->n_labels && !err) {
		ret->labels = calloc(src->n_labels, sizeof(*ret->labels));
		if (!ret->labels)
			err = -ENOMEM;
		for (size_t i = 0; !err && i < src->n_labels; i++) {
			ret->labels[i].name = dup_or_null(src->labels[i].name, &err);
			ret->labels[i].value = dup_or_null(src->labels[i].value, &err);
			ret->n_labels = i + 1;
		}
	}
	if (err)
		container_info_free(ret);
	return err;
}

/* ---- The cache ---- */

struct cache_entry {
	bool used;
	uint64_t last_use;
	const char *file; /* state_files[] */
	struct stat st;	  /* of the state file when loaded */
	struct container_info ci;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[CONTAINER_CACHE_SIZE];
static uint64_t cache_clock;

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static struct cache_entry *cache_find(const char *id)
{
	for (size_t i = 0; i < CONTAINER_CACHE_SIZE; i++)
		if (cache[i].used && strcmp(cache[i].ci.id, id) == 0)
			return &cache[i];
	return NULL;
}

static struct cache_entry *cache_slot(void)
{
	struct cache_entry *victim = &cache[0];

	for (size_t i = 0; i < CONTAINER_CACHE_SIZE; i++) {
		if (!cache[i].used)
			return &cache[i];
		if (cache[i].last_use < victim->last_use)
			victim = &cache[i];
	}
	container_info_free(&victim->ci);
	victim->used = false;
	return victim;
}

int container_info_get(const char *id, const char *const *extra_roots, struct container_info *ret)
{
	const char *roots[N_DEFAULT_ROOTS + MAX_EXTRA_ROOTS + 1];
	struct container_info fresh;
	struct cache_entry *e;
	const char *file = NULL;
	struct stat st;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!id || !is_runc_id(id, strlen(id)))
		return -EINVAL;
	all_roots(extra_roots, roots);
	pthread_mutex_lock(&cache_lock);
	e = cache_find(id);
	if (e) {
		char path[PATH_MAX];
		bool gone;

		snprintf(path, sizeof(path), "%s/%s/%s", e->ci.runtime, id, e->file);
		gone = fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0;
		/*
		 * Unchanged: reuse. Gone: the container has just exited, and what was known of it
		 * is still the best answer for findings about its last moments.
		 */
		if (gone || same_file(&st, &e->st)) {
			e->last_use = ++cache_clock;
			r = container_info_copy(&e->ci, ret);
			pthread_mutex_unlock(&cache_lock);
			return r;
		}
	}
	r = load(id, roots, &fresh, &file, &st);
	if (r == -ENOENT && !e) {
		/* Not runc's: a gVisor sandbox's, read each time (it has no cache entry). */
		pthread_mutex_unlock(&cache_lock);
		return runsc_load(id, ret);
	}
	if (r == -ENOENT && e) {
		/* Gone between the fstatat above and the load: as above. */
		e->last_use = ++cache_clock;
		r = container_info_copy(&e->ci, ret);
	} else if (r == 0) {
		if (!e)
			e = cache_slot();
		else
			container_info_free(&e->ci);
		e->used = true;
		e->last_use = ++cache_clock;
		e->file = file;
		e->st = st;
		e->ci = fresh;
		r = container_info_copy(&e->ci, ret);
	}
	pthread_mutex_unlock(&cache_lock);
	return r;
}

void container_info_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < CONTAINER_CACHE_SIZE; i++) {
		container_info_free(&cache[i].ci);
		cache[i].used = false;
	}
	cache_clock = 0;
	pthread_mutex_unlock(&cache_lock);
}
