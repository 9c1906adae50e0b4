/* SPDX-License-Identifier: Apache-2.0 */
/* One line per message on stderr, prefixed "sowatch: ", so a supervisor's log reads cleanly. */
#ifndef SOWATCH_LOG_H
#define SOWATCH_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_max_level;

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * text as every log line shows it: control bytes (C0, DEL) and bytes that are not UTF-8 written
 * as \xNN, C1 controls, bidi overrides and invisible format characters (util/unicode.h) as
 * \uNNNN, so that a newline, an escape sequence or a reversed run in a name someone else
 * chose can neither forge a line, drive a terminal nor disguise what a line says. Written into
 * out (size bytes, always NUL-terminated, cut at a whole character or escape when full). For
 * messages made here and printed elsewhere. Returns out.
 */
char *log_escape(const char *text, char *out, size_t size);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
