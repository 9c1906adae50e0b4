// SPDX-License-Identifier: Apache-2.0
#include "proc/container_docker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "proc/container.h"
#include "proc/container_annotations.h"

void docker_container_free(struct docker_container *dc)
{
	free(dc->name);
	free(dc->image);
	free(dc->log_path);
	memset(dc, 0, sizeof(*dc));
}

static const char *text_of(const json_t *v)
{
	return container_json_text(v, CONTAINER_FIELD_MAX);
}

/*
 * <data root>/containers/<id>: the directory of the source of the bind mount at /etc/hostname,
 * when that source is named so. Copied into dir (PATH_MAX).
 */
static int container_dir(const json_t *spec, const char *id, char *dir)
{
	const json_t *mounts = json_object_get(spec, "mounts");
	char tail[CONTAINER_ID_MAX + 32];
	size_t i, tn;
	json_t *m;

	tn = (size_t)snprintf(tail, sizeof(tail), "/containers/%s/hostname", id);
	json_array_foreach(mounts, i, m)
	{
		const char *dst = json_string_value(json_object_get(m, "destination"));
		const char *src = text_of(json_object_get(m, "source"));
		size_t n = src ? strlen(src) : 0;

		if (!dst || strcmp(dst, "/etc/hostname") != 0 || !src || src[0] != '/' || n <= tn ||
		    n >= PATH_MAX || strcmp(src + n - tn, tail) != 0 || strstr(src, "/../") ||
		    strstr(src, "/./"))
			continue;
		memcpy(dir, src, n - strlen("/hostname"));
		dir[n - strlen("/hostname")] = '\0';
		return 0;
	}
	return -ENOENT;
}

/* Whether hostconfig.json in the container's directory names the json-file log driver */
static bool uses_json_file(int dirfd)
{
	char *buf = NULL;
	const char *type;
	size_t len;
	json_t *doc;
	bool yes;

	if (container_read_small_file(dirfd, "hostconfig.json", CONTAINER_FILE_MAX, &buf, &len))
		return false;
	doc = container_parse_json(buf, len);
	free(buf);
	type = text_of(json_object_get(json_object_get(doc, "LogConfig"), "Type"));
	yes = type && strcmp(type, "json-file") == 0;
	json_decref(doc);
	return yes;
}

static int dup_text(const json_t *v, char **ret)
{
	const char *s = text_of(v);

	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int docker_container_read(const json_t *spec, const char *id, struct docker_container *ret)
{
	char dir[PATH_MAX], expected_log[PATH_MAX + CONTAINER_ID_MAX + 16];
	const char *name, *log;
	char *buf = NULL;
	struct stat st;
	size_t len;
	json_t *doc;
	int fd, r;

	memset(ret, 0, sizeof(*ret));
	if (!container_id_is_valid(id))
		return -EINVAL;
	r = container_dir(spec, id, dir);
	if (r)
		return r;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return -EPERM;
	}
	r = container_read_small_file(fd, "config.v2.json", CONTAINER_FILE_MAX, &buf, &len);
	if (r) {
		close(fd);
		return r;
	}
	doc = container_parse_json(buf, len);
	free(buf);
	if (!json_is_object(doc)) {
		json_decref(doc);
		close(fd);
		return -EINVAL;
	}
	name = text_of(json_object_get(doc, "Name"));
	if (name && name[0] == '/')
		name++;
	if (name && name[0])
		ret->name = strdup(name);
	r = name && name[0] && !ret->name ? -ENOMEM : 0;
	if (!r)
		r = dup_text(json_object_get(json_object_get(doc, "Config"), "Image"), &ret->image);
	/*
	 * Only the json-file driver's own file, where Docker puts it: nothing else is read. Docker
	 * records LogPath only once the container has started, after its first process may have
	 * been seen: until then the driver named in hostconfig.json says it.
	 */
	log = text_of(json_object_get(doc, "LogPath"));
	snprintf(expected_log, sizeof(expected_log), "%s/%s-json.log", dir, id);
	if (!log && uses_json_file(fd))
		log = expected_log;
	if (!r && log && strcmp(log, expected_log) == 0) {
		ret->log_path = strdup(log);
		r = ret->log_path ? 0 : -ENOMEM;
	}
	json_decref(doc);
	close(fd);
	if (r)
		docker_container_free(ret);
	return r;
}
