// SPDX-License-Identifier: Apache-2.0
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

enum log_level log_max_level = LOG_INFO;

char *log_escape(const char *text, char *out, size_t size)
{
	size_t n = 0;

	if (size == 0)
		return out;
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		bool control = *c < 0x20 || *c == 0x7f;

		if (n + (control ? 4 : 1) >= size)
			break;
		if (control)
			n += (size_t)snprintf(out + n, size - n, "\\x%02x", *c);
		else
			out[n++] = (char)*c;
	}
	out[n] = '\0';
	return out;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	char line[1024], shown[4 * sizeof(line)];
	va_list ap;

	if (level > log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Messages quote paths and names chosen by whoever made the file. */
	log_escape(line, shown, sizeof(shown));
	/* One write per line so lines from concurrent writers never interleave. */
	fprintf(stderr, "sowatch: %s%s\n", prefix[level], shown);
}
