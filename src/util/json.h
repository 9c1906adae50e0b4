/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A streaming JSON writer into a struct strbuf.
 *
 * Commas are inserted automatically. Strings are escaped so that the output is always valid JSON
 * (RFC 8259) and valid UTF-8, whatever bytes the caller hands in: the data we report (paths,
 * command lines, environment) is attacker-controlled.
 *
 * Errors are sticky: after the first failure every call is a no-op and jw_error() reports it,
 * so callers can build a whole document and check once at the end.
 */
#ifndef SOWATCH_JSON_H
#define SOWATCH_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* Maximum number of nested objects/arrays. */
#define JW_MAX_DEPTH 32

struct jw_writer {
	struct strbuf *out;
	int depth;	/* number of open containers */
	int err;	/* first error, sticky */
	bool after_key; /* a key was written, its value is due */
	/* Per level (0 = top level): something was already written, so the next item needs a ',' */
	bool need_comma[JW_MAX_DEPTH + 1];
	/* Per level: the container is an object (keys required) rather than an array */
	bool is_object[JW_MAX_DEPTH + 1];
};

void jw_init(struct jw_writer *j, struct strbuf *out);

void jw_object_begin(struct jw_writer *j);
void jw_object_end(struct jw_writer *j);
void jw_array_begin(struct jw_writer *j);
void jw_array_end(struct jw_writer *j);

/* Writes a key inside an object; the next value call writes its value. */
void jw_key(struct jw_writer *j, const char *key);
/* Same with a key of n arbitrary bytes. */
void jw_key_n(struct jw_writer *j, const char *key, size_t n);

/* NUL-terminated; NULL writes null. */
void jw_string(struct jw_writer *j, const char *s);
/* n arbitrary bytes (may contain NUL or invalid UTF-8); NULL writes null. */
void jw_string_n(struct jw_writer *j, const char *s, size_t n);
/* A JSON number. */
void jw_int(struct jw_writer *j, int64_t v);
/* A JSON number, unsigned. */
void jw_uint(struct jw_writer *j, uint64_t v);
/* proto3 JSON style int64, as a string ("123"), because JS consumers lose precision past 2^53. */
void jw_int_string(struct jw_writer *j, int64_t v);
/* proto3 JSON style uint64, as a string. */
void jw_uint_string(struct jw_writer *j, uint64_t v);
void jw_bool(struct jw_writer *j, bool v);
void jw_null(struct jw_writer *j);
/*
 * A value that a jw_writer wrote before (kept as text): written as is. Only ever for the
 * output of this writer, never for outside input, which could break the document.
 */
void jw_written(struct jw_writer *j, const char *json);

/* Convenience: key + value. */
void jw_kv_string(struct jw_writer *j, const char *key, const char *s);
void jw_kv_string_n(struct jw_writer *j, const char *key, const char *s, size_t n);
void jw_kv_int(struct jw_writer *j, const char *key, int64_t v);
void jw_kv_int_string(struct jw_writer *j, const char *key, int64_t v);
void jw_kv_uint_string(struct jw_writer *j, const char *key, uint64_t v);
void jw_kv_bool(struct jw_writer *j, const char *key, bool v);

/*
 * -ENOMEM if any append failed, -EINVAL on misuse (nesting deeper than JW_MAX_DEPTH, an end
 * that does not match its begin, a value in an object without a key, a key outside an object,
 * more than one top-level value, or - checked here - containers still open or a key without its
 * value); 0 otherwise. Meant to be called once the document is complete.
 */
int jw_error(const struct jw_writer *j);

/*
 * Appends the JSON string literal (with quotes) for n arbitrary bytes to out.
 * Returns 0 or -ENOMEM (out may then hold a truncated literal).
 */
int jw_escape_string(struct strbuf *out, const char *s, size_t n);

#endif
