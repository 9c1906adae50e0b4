// SPDX-License-Identifier: Apache-2.0
#include "fleet/subject.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

static bool token_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

int fleet_host_token(char *out, size_t size, const char *host)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!host || !*host)
		return -EINVAL;
	for (const unsigned char *p = (const unsigned char *)host; *p; p++) {
		if (token_byte(*p)) {
			if (o + 1 >= size)
				return -ENAMETOOLONG;
			out[o++] = (char)*p;
			continue;
		}
		if (o + 3 >= size)
			return -ENAMETOOLONG;
		out[o++] = '_';
		out[o++] = hex[*p >> 4];
		out[o++] = hex[*p & 15];
	}
	out[o] = '\0';
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case too: fleet_host_token() writes lower case only */
}

int fleet_host_from_token(char *out, size_t size, const char *token)
{
	size_t o = 0;

	if (!*token)
		return -EINVAL;
	for (const char *p = token; *p; p++) {
		int c = (unsigned char)*p;

		if (*p == '_') {
			int hi = hex_value(p[1]), lo = hi < 0 ? -1 : hex_value(p[2]);

			if (lo < 0)
				return -EINVAL;
			/* Only what fleet_host_token() writes: one host, one token */
			c = hi << 4 | lo;
			if (c == 0 || token_byte((unsigned char)c))
				return -EINVAL;
			p += 2;
		} else if (!token_byte((unsigned char)c)) {
			return -EINVAL;
		}
		if (o + 1 >= size)
			return -ENAMETOOLONG;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int fleet_subject(char *out, size_t size, const char *prefix, const char *host,
		  const char *severity)
{
	char token[FLEET_SUBJECT_MAX];
	int n, err = fleet_host_token(token, sizeof(token), host);

	if (err)
		return err;
	if (!severity || !*severity)
		return -EINVAL;
	n = snprintf(out, size, "%s.%s.", prefix, token);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	for (const char *p = severity; *p; p++) {
		if ((size_t)n + 1 >= size)
			return -ENAMETOOLONG;
		/* Severities are SCC's upper-case words; anything else is escaped like a host */
		out[n++] = token_byte((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
	}
	out[n] = '\0';
	return 0;
}
