// SPDX-License-Identifier: Apache-2.0
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

enum log_level log_max_level = LOG_INFO;

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	char line[1024], shown[4 * sizeof(line)];
	size_t n = 0;
	va_list ap;

	if (level > log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/*
	 * Messages quote paths and names chosen by whoever made the file: a newline or an
	 * escape sequence in one must not forge a log line or drive a terminal.
	 */
	for (const unsigned char *c = (const unsigned char *)line; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			n += (size_t)snprintf(shown + n, sizeof(shown) - n, "\\x%02x", *c);
		else
			shown[n++] = (char)*c;
	shown[n] = '\0';
	/* One write per line so lines from concurrent writers never interleave. */
	fprintf(stderr, "sowatch: %s%s\n", prefix[level], shown);
}
