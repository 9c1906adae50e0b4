// SPDX-License-Identifier: Apache-2.0
#include "util/path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int path_normalize(const char *path, char *out, size_t size)
{
	size_t len = 0;

	if (path[0] != '/' || size < 2)
		return -EINVAL;
	out[0] = '\0';
	for (const char *p = path; *p;) {
		const char *end;
		size_t n;

		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		n = end - p;
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(out, '/');

			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
		} else {
			if (len + 1 + n + 1 > size)
				return -ENAMETOOLONG;
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
			out[len] = '\0';
		}
		p = end;
	}
	if (len == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}

int path_join(const char *dir, const char *name, char *out, size_t size)
{
	char joined[8192];

	if (name[0] == '/')
		return path_normalize(name, out, size);
	if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", dir, name) >= sizeof(joined))
		return -ENAMETOOLONG;
	return path_normalize(joined, out, size);
}

bool path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}
