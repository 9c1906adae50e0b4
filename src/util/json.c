// SPDX-License-Identifier: Apache-2.0
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

void jw_init(struct jw_writer *j, struct strbuf *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

static void json_fail(struct jw_writer *j, int err)
{
	if (!j->err)
		j->err = err;
}

static void json_put(struct jw_writer *j, const void *data, size_t n)
{
	if (!j->err && strbuf_add(j->out, data, n))
		json_fail(j, -ENOMEM);
}

/*
 * Called before any value (scalar or container start): checks the value is allowed here and
 * writes the separating comma. Returns false if nothing must be written.
 */
static bool json_before_value(struct jw_writer *j)
{
	if (j->err)
		return false;
	if (j->is_object[j->depth]) {
		/* In an object a value must follow its key; the key already wrote the comma. */
		if (!j->after_key) {
			json_fail(j, -EINVAL);
			return false;
		}
		j->after_key = false;
		return true;
	}
	/* Top level holds exactly one value, so the output is a single JSON text. */
	if (j->depth == 0 && j->need_comma[0]) {
		json_fail(j, -EINVAL);
		return false;
	}
	if (j->need_comma[j->depth])
		json_put(j, ",", 1);
	j->need_comma[j->depth] = true;
	return !j->err;
}

static void json_begin(struct jw_writer *j, bool object)
{
	if (!json_before_value(j))
		return;
	if (j->depth >= JW_MAX_DEPTH) {
		json_fail(j, -EINVAL);
		return;
	}
	json_put(j, object ? "{" : "[", 1);
	j->depth++;
	j->need_comma[j->depth] = false;
	j->is_object[j->depth] = object;
}

static void json_end(struct jw_writer *j, bool object)
{
	if (j->err)
		return;
	if (j->depth == 0 || j->is_object[j->depth] != object || j->after_key) {
		json_fail(j, -EINVAL);
		return;
	}
	json_put(j, object ? "}" : "]", 1);
	j->depth--;
}

void jw_object_begin(struct jw_writer *j)
{
	json_begin(j, true);
}

void jw_object_end(struct jw_writer *j)
{
	json_end(j, true);
}

void jw_array_begin(struct jw_writer *j)
{
	json_begin(j, false);
}

void jw_array_end(struct jw_writer *j)
{
	json_end(j, false);
}

/*
 * Length of the well-formed UTF-8 sequence (Unicode table 3-7) starting at s, or 0 if the bytes
 * there are not one: overlongs, surrogates, > U+10FFFF, truncated and stray continuation bytes.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0; /* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90; /* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f; /* > U+10FFFF */
	} else {
		return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
	}
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

int jw_escape_string(struct strbuf *out, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0; /* s[run..i) are bytes to copy verbatim */

	if (strbuf_addc(out, '"'))
		return -ENOMEM;
	while (i < n) {
		unsigned char c = s[i];
		char esc[6];
		const char *rep = esc;
		size_t rep_len = 2, len;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		}
		len = c < 0x80 ? 1 : utf8_seq_len(s + i, n - i);
		/* U+2028/U+2029 are valid JSON but line terminators in older JavaScript. */
		if (len > 1 && !(len == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
				 (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))) {
			i += len;
			continue;
		}
		if (strbuf_add(out, s + run, i - run))
			return -ENOMEM;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			if (len == 3) {
				rep = s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
				rep_len = 6;
			} else if (len == 0) {
				/* One U+FFFD per invalid byte: predictable output length. */
				rep = "\xef\xbf\xbd";
				rep_len = 3;
				len = 1;
			} else {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xf];
				rep_len = 6;
			}
		}
		if (strbuf_add(out, rep, rep_len))
			return -ENOMEM;
		i += len;
		run = i;
	}
	if (strbuf_add(out, s + run, i - run) || strbuf_addc(out, '"'))
		return -ENOMEM;
	return 0;
}

static void json_put_string(struct jw_writer *j, const char *s, size_t n)
{
	if (jw_escape_string(j->out, s, n))
		json_fail(j, -ENOMEM);
}

void jw_key_n(struct jw_writer *j, const char *key, size_t n)
{
	if (j->err)
		return;
	if (!key || !j->is_object[j->depth] || j->after_key) {
		json_fail(j, -EINVAL);
		return;
	}
	if (j->need_comma[j->depth])
		json_put(j, ",", 1);
	j->need_comma[j->depth] = true;
	json_put_string(j, key, n);
	json_put(j, ":", 1);
	j->after_key = true;
}

void jw_key(struct jw_writer *j, const char *key)
{
	jw_key_n(j, key, key ? strlen(key) : 0);
}

void jw_null(struct jw_writer *j)
{
	if (json_before_value(j))
		json_put(j, "null", 4);
}

void jw_written(struct jw_writer *j, const char *json)
{
	if (!json || !json[0]) {
		jw_null(j);
		return;
	}
	if (json_before_value(j))
		json_put(j, json, strlen(json));
}

void jw_string_n(struct jw_writer *j, const char *s, size_t n)
{
	if (!s) {
		jw_null(j);
		return;
	}
	if (json_before_value(j))
		json_put_string(j, s, n);
}

void jw_string(struct jw_writer *j, const char *s)
{
	jw_string_n(j, s, s ? strlen(s) : 0);
}

static void json_put_int(struct jw_writer *j, int64_t v, bool quoted)
{
	if (json_before_value(j) && strbuf_addf(j->out, quoted ? "\"%" PRId64 "\"" : "%" PRId64, v))
		json_fail(j, -ENOMEM);
}

static void json_put_uint(struct jw_writer *j, uint64_t v, bool quoted)
{
	if (json_before_value(j) && strbuf_addf(j->out, quoted ? "\"%" PRIu64 "\"" : "%" PRIu64, v))
		json_fail(j, -ENOMEM);
}

void jw_int(struct jw_writer *j, int64_t v)
{
	json_put_int(j, v, false);
}

void jw_uint(struct jw_writer *j, uint64_t v)
{
	json_put_uint(j, v, false);
}

void jw_int_string(struct jw_writer *j, int64_t v)
{
	json_put_int(j, v, true);
}

void jw_uint_string(struct jw_writer *j, uint64_t v)
{
	json_put_uint(j, v, true);
}

void jw_bool(struct jw_writer *j, bool v)
{
	if (json_before_value(j))
		json_put(j, v ? "true" : "false", v ? 4 : 5);
}

void jw_kv_string(struct jw_writer *j, const char *key, const char *s)
{
	jw_key(j, key);
	jw_string(j, s);
}

void jw_kv_string_n(struct jw_writer *j, const char *key, const char *s, size_t n)
{
	jw_key(j, key);
	jw_string_n(j, s, n);
}

void jw_kv_int(struct jw_writer *j, const char *key, int64_t v)
{
	jw_key(j, key);
	jw_int(j, v);
}

void jw_kv_int_string(struct jw_writer *j, const char *key, int64_t v)
{
	jw_key(j, key);
	jw_int_string(j, v);
}

void jw_kv_uint_string(struct jw_writer *j, const char *key, uint64_t v)
{
	jw_key(j, key);
	jw_uint_string(j, v);
}

void jw_kv_bool(struct jw_writer *j, const char *key, bool v)
{
	jw_key(j, key);
	jw_bool(j, v);
}

int jw_error(const struct jw_writer *j)
{
	if (j->err)
		return j->err;
	if (j->depth != 0 || j->after_key)
		return -EINVAL;
	return 0;
}
