/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer: the one way sowatch builds strings of unknown length. */
#ifndef SOWATCH_STRBUF_H
#define SOWATCH_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf; /* always NUL-terminated once anything was added; NULL when empty */
	size_t len;
	size_t cap;
};

#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/* All return 0 or -ENOMEM; on failure the buffer keeps what it had. */
int strbuf_add(struct strbuf *sb, const void *data, size_t n);
int strbuf_addc(struct strbuf *sb, char c);
int strbuf_adds(struct strbuf *sb, const char *s);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string to the caller (never NULL on success: "" for an empty buffer). */
char *strbuf_detach(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
/* The contents as a C string, "" when empty. */
static inline const char *strbuf_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

#endif
