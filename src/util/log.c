// SPDX-License-Identifier: Apache-2.0
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/unicode.h"

enum log_level log_max_level = LOG_INFO;

char *log_escape(const char *text, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = 0, left = strlen(text);

	if (size == 0)
		return out;
	while (left) {
		uint32_t cp;
		size_t len = utf8_decode(s, left, &cp);
		char esc[8];
		size_t w;

		if (len == 1 && cp >= 0x20 && cp != 0x7f) {
			esc[0] = (char)cp;
			esc[1] = '\0';
		} else if (len <= 1) {
			/* A C0 control or DEL; a byte that is not UTF-8 (a lone 0x9b is a CSI) */
			snprintf(esc, sizeof(esc), "\\x%02x", *s);
			len = 1;
		} else if (unicode_unsafe(cp)) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
		} else {
			memcpy(esc, s, len);
			esc[len] = '\0';
		}
		w = strlen(esc);
		if (n + w >= size)
			break;
		memcpy(out + n, esc, w);
		n += w;
		s += len;
		left -= len;
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
