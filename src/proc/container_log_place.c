// SPDX-License-Identifier: Apache-2.0
#include "proc/container_log_place.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const place_names[] = {
	[CONTAINER_LOG_PLACE_NONE] = "",
	[CONTAINER_LOG_PLACE_DOCKER] = "docker",
	[CONTAINER_LOG_PLACE_CRI] = "cri",
	[CONTAINER_LOG_PLACE_PODMAN] = "podman",
};

const char *container_log_place_name(enum container_log_place place)
{
	return (size_t)place < sizeof(place_names) / sizeof(place_names[0]) ? place_names[place]
									    : "";
}

enum container_log_place container_log_place_of(const char *name)
{
	for (size_t i = 1; name && i < sizeof(place_names) / sizeof(place_names[0]); i++)
		if (strcmp(name, place_names[i]) == 0)
			return (enum container_log_place)i;
	return CONTAINER_LOG_PLACE_NONE;
}

enum container_log_format container_log_place_format(enum container_log_place place)
{
	return place == CONTAINER_LOG_PLACE_DOCKER ? CONTAINER_LOG_DOCKER_JSON : CONTAINER_LOG_CRI;
}

/* n of "<n>.log", the kubelet's name for the log of the container's n-th restart; -1 if not */
static long restart_of(const char *name)
{
	char *end;
	long n;

	if (name[0] < '0' || name[0] > '9')
		return -1;
	errno = 0;
	n = strtol(name, &end, 10);
	return errno == 0 && strcmp(end, ".log") == 0 && n >= 0 ? n : -1;
}

int container_log_place_files(enum container_log_place place, const char *path, char ***ret)
{
	long restarts[CONTAINER_LOG_PLACE_MAX_FILES];
	size_t n = 0;
	struct dirent *de;
	char **files;
	DIR *d;

	*ret = NULL;
	if (place == CONTAINER_LOG_PLACE_NONE || !path || path[0] != '/')
		return -EINVAL;
	if (place != CONTAINER_LOG_PLACE_CRI) {
		files = calloc(1, sizeof(*files));
		if (!files || !(files[0] = strdup(path))) {
			free(files);
			return -ENOMEM;
		}
		*ret = files;
		return 1;
	}
	d = opendir(path);
	if (!d)
		return -errno;
	/* The newest restarts: insert in order, the smallest falls out when full */
	while ((de = readdir(d))) {
		long r = restart_of(de->d_name);
		size_t at = n;

		if (r < 0)
			continue;
		while (at > 0 && restarts[at - 1] > r)
			at--;
		if (n == CONTAINER_LOG_PLACE_MAX_FILES) {
			if (at == 0)
				continue;
			memmove(restarts, restarts + 1, (at - 1) * sizeof(*restarts));
			restarts[at - 1] = r;
			continue;
		}
		memmove(restarts + at + 1, restarts + at, (n - at) * sizeof(*restarts));
		restarts[at] = r;
		n++;
	}
	closedir(d);
	if (!n)
		return 0;
	files = calloc(n, sizeof(*files));
	if (!files)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/%ld.log", path, restarts[i]);
		files[i] = strdup(p);
		if (!files[i]) {
			while (i--)
				free(files[i]);
			free(files);
			return -ENOMEM;
		}
	}
	*ret = files;
	return (int)n;
}
