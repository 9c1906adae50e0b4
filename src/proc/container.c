// SPDX-License-Identifier: Apache-2.0
#include "proc/container.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RUNC_STATE_DIR "/run/runc"

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

bool container_id_from_cgroup_path(const char *path, const char *runc_state_dir,
				   char ret_id[CONTAINER_ID_MAX])
{
	static const char *const prefixes[] = { "docker-", "crio-", "libpod-", "cri-containerd-",
						NULL };
	const char *last = strrchr(path, '/');
	size_t n;

	last = last ? last + 1 : path;
	for (const char *const *p = prefixes; *p; p++)
		if (strncmp(last, *p, strlen(*p)) == 0) {
			last += strlen(*p);
			break;
		}
	n = strlen(last);
	if (n > 6 && strcmp(last + n - 6, ".scope") == 0)
		n -= 6;
	if (is_hex_id(last, n)) {
		memcpy(ret_id, last, n);
		ret_id[n] = '\0';
		return true;
	}
	if (runc_state_dir && is_runc_id(last, n)) {
		char state[PATH_MAX];

		snprintf(state, sizeof(state), "%s/%.*s/state.json", runc_state_dir, (int)n, last);
		if (access(state, F_OK) == 0) {
			memcpy(ret_id, last, n);
			ret_id[n] = '\0';
			return true;
		}
	}
	return false;
}

bool container_id_of_pid(uint32_t pid, char ret_id[CONTAINER_ID_MAX])
{
	char path[64], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	/* "hierarchy-id:controllers:path" */
	while (!found && fgets(line, sizeof(line), f)) {
		char *cg = strchr(line, ':');

		cg = cg ? strchr(cg + 1, ':') : NULL;
		if (!cg)
			continue;
		cg++;
		cg[strcspn(cg, "\n")] = '\0';
		found = container_id_from_cgroup_path(cg, RUNC_STATE_DIR, ret_id);
	}
	fclose(f);
	return found;
}
