// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "util/json.h"

/* Escapes n bytes as a lone top-level string and checks the exact output. */
static void check_escape(const char *in, size_t n, const char *want)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw_writer j;

	jw_init(&j, &sb);
	jw_string_n(&j, in, n);
	assert_int_equal(jw_error(&j), 0);
	assert_string_equal(strbuf_str(&sb), want);
	strbuf_release(&sb);
}

#define CHECK(in, want) check_escape(in, sizeof(in) - 1, want)

#define PY_STRICT_PARSE                                                                            \
	"/usr/bin/python3 -c 'import json,sys; "                                                   \
	"json.loads(sys.stdin.buffer.read().decode(\"utf-8\", \"strict\"))'"

/*
 * Feeds s to Python's strict JSON parser after strict UTF-8 decoding; returns its exit status.
 * quiet hides the traceback when a failure is expected.
 */
static int python_strict_parse(const char *s, size_t n, bool quiet)
{
	FILE *p = popen(quiet ? PY_STRICT_PARSE " 2>/dev/null" : PY_STRICT_PARSE, "w");
	int status;

	assert_non_null(p);
	assert_int_equal(fwrite(s, 1, n, p), n);
	status = pclose(p);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_nesting_and_commas(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw_writer j;

	(void)state;
	jw_init(&j, &sb);
	jw_object_begin(&j);
	jw_kv_string(&j, "a", "x");
	jw_key(&j, "b");
	jw_array_begin(&j);
	jw_int(&j, 1);
	jw_int(&j, -2);
	jw_object_begin(&j);
	jw_object_end(&j);
	jw_array_begin(&j);
	jw_array_end(&j);
	jw_null(&j);
	jw_bool(&j, false);
	jw_string(&j, NULL);
	jw_array_end(&j);
	jw_kv_bool(&j, "c", true);
	jw_kv_int_string(&j, "d", 42);
	jw_key(&j, "e");
	jw_object_begin(&j);
	jw_key(&j, "f");
	jw_object_begin(&j);
	jw_object_end(&j);
	jw_kv_string(&j, "g", NULL);
	jw_object_end(&j);
	jw_kv_int(&j, "h", 7);
	jw_kv_uint_string(&j, "i", UINT64_MAX);
	jw_key(&j, "k");
	jw_uint(&j, UINT64_MAX);
	jw_kv_string_n(&j, "l", "ab", 1);
	jw_object_end(&j);
	assert_int_equal(jw_error(&j), 0);
	assert_string_equal(
	    strbuf_str(&sb),
	    "{\"a\":\"x\",\"b\":[1,-2,{},[],null,false,null],\"c\":true,\"d\":\"42\","
	    "\"e\":{\"f\":{},\"g\":null},\"h\":7,\"i\":\"18446744073709551615\","
	    "\"k\":18446744073709551615,\"l\":\"a\"}");
	assert_int_equal(python_strict_parse(sb.buf, sb.len, false), 0);
	strbuf_release(&sb);
}

static void test_top_level_scalar(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw_writer j;

	(void)state;
	jw_init(&j, &sb);
	jw_int(&j, 5);
	assert_int_equal(jw_error(&j), 0);
	assert_string_equal(strbuf_str(&sb), "5");
	strbuf_release(&sb);
}

static void test_escapes(void **state)
{
	(void)state;
	CHECK("", "\"\"");
	CHECK("plain text 123", "\"plain text 123\"");
	CHECK("a\"b\\c/d", "\"a\\\"b\\\\c/d\"");
	CHECK("\n\t\r\b\f", "\"\\n\\t\\r\\b\\f\"");
	CHECK("\x01\x1f\x0b\x1b", "\"\\u0001\\u001f\\u000b\\u001b\"");
	CHECK("\x7f", "\"\\u007f\"");
	CHECK(" ~", "\" ~\"");
	/* U+2028/U+2029 escaped for JavaScript; neighbours U+2027/U+202A pass through. */
	CHECK("a\xe2\x80\xa8"
	      "b\xe2\x80\xa9",
	      "\"a\\u2028b\\u2029\"");
	CHECK("\xe2\x80\xa7\xe2\x80\xaa", "\"\xe2\x80\xa7\xe2\x80\xaa\"");
}

static void test_all_control_bytes(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw_writer j;
	char in[0x20];

	(void)state;
	for (int i = 0; i < 0x20; i++)
		in[i] = (char)i;
	jw_init(&j, &sb);
	jw_string_n(&j, in, sizeof(in));
	assert_int_equal(jw_error(&j), 0);
	assert_string_equal(strbuf_str(&sb), "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006"
					     "\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010"
					     "\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
					     "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e"
					     "\\u001f\"");
	strbuf_release(&sb);
}

#define FFFD "\xef\xbf\xbd"

static void test_valid_utf8(void **state)
{
	(void)state;
	/* Boundaries of each well-formed range pass through unchanged. */
	CHECK("\xc2\x80\xdf\xbf", "\"\xc2\x80\xdf\xbf\"");		   /* U+0080, U+07FF */
	CHECK("\xe0\xa0\x80\xef\xbf\xbf", "\"\xe0\xa0\x80\xef\xbf\xbf\""); /* U+0800, U+FFFF */
	CHECK("\xed\x9f\xbf\xee\x80\x80", "\"\xed\x9f\xbf\xee\x80\x80\""); /* U+D7FF, U+E000 */
	CHECK("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
	      "\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""); /* U+10000, U+10FFFF */
	CHECK("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80",
	      "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"");
	CHECK(FFFD, "\"" FFFD "\""); /* a literal U+FFFD is valid too */
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	/* Stray continuation bytes. */
	CHECK("\x80", "\"" FFFD "\"");
	CHECK("a\xbf"
	      "b",
	      "\"a" FFFD "b\"");
	/* Bytes that never appear in UTF-8. */
	CHECK("\xc0\xc1\xf5\xff\xfe", "\"" FFFD FFFD FFFD FFFD FFFD "\"");
	/* Overlongs: '/' as C0 AF, U+0000 as C0 80, U+07FF as E0 9F BF, U+FFFF as F0 8F BF BF. */
	CHECK("\xc0\xaf", "\"" FFFD FFFD "\"");
	CHECK("\xc0\x80", "\"" FFFD FFFD "\"");
	CHECK("\xe0\x9f\xbf", "\"" FFFD FFFD FFFD "\"");
	CHECK("\xf0\x8f\xbf\xbf", "\"" FFFD FFFD FFFD FFFD "\"");
	/* Surrogates U+D800 and U+DFFF, and a CESU-8 style pair. */
	CHECK("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"");
	CHECK("\xed\xbf\xbf", "\"" FFFD FFFD FFFD "\"");
	CHECK("\xed\xa0\xbd\xed\xb8\x80", "\"" FFFD FFFD FFFD FFFD FFFD FFFD "\"");
	/* Above U+10FFFF: U+110000 as F4 90 80 80. */
	CHECK("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
	/* Truncated sequences, at the end and before ASCII. */
	CHECK("\xc3", "\"" FFFD "\"");
	CHECK("\xe2\x82", "\"" FFFD FFFD "\"");
	CHECK("\xf0\x9f\x98", "\"" FFFD FFFD FFFD "\"");
	CHECK("\xe2\x82"
	      "A",
	      "\"" FFFD FFFD "A\"");
	CHECK("\xf0\x9f\x98\"", "\"" FFFD FFFD FFFD "\\\"\"");
	/* A lead byte interrupted by another lead byte: the second sequence survives. */
	CHECK("\xe2\xc3\xa9", "\"" FFFD "\xc3\xa9\"");
	/* A truncated U+2028 is invalid, not escaped. */
	CHECK("\xe2\x80", "\"" FFFD FFFD "\"");
}

static void test_embedded_nul(void **state)
{
	static const char in[] = "a\0b\0";
	struct strbuf sb = STRBUF_INIT;
	struct jw_writer j;

	(void)state;
	jw_init(&j, &sb);
	jw_object_begin(&j);
	jw_key_n(&j, "k\0ey", 4);
	jw_string_n(&j, in, sizeof(in) - 1);
	jw_object_end(&j);
	assert_int_equal(jw_error(&j), 0);
	assert_string_equal(strbuf_str(&sb), "{\"k\\u0000ey\":\"a\\u0000b\\u0000\"}");
	strbuf_release(&sb);
}

static void test_big_string(void **state)
{
	const size_t n = 100 * 1024;
	struct strbuf sb = STRBUF_INIT;
	struct jw_writer j;
	char *in = malloc(n + 1);

	(void)state;
	assert_non_null(in);
	/* Plain ASCII: output is the input, quoted. */
	memset(in, 'x', n);
	in[n] = '\0';
	jw_init(&j, &sb);
	jw_string(&j, in);
	assert_int_equal(jw_error(&j), 0);
	assert_int_equal(sb.len, n + 2);
	assert_memory_equal(sb.buf + 1, in, n);
	strbuf_release(&sb);

	/* All quotes: each doubles. All invalid: each triples. */
	memset(in, '"', n);
	jw_init(&j, &sb);
	jw_string_n(&j, in, n);
	assert_int_equal(jw_error(&j), 0);
	assert_int_equal(sb.len, 2 * n + 2);
	strbuf_release(&sb);

	memset(in, 0xff, n);
	jw_init(&j, &sb);
	jw_string_n(&j, in, n);
	assert_int_equal(jw_error(&j), 0);
	assert_int_equal(sb.len, 3 * n + 2);
	assert_memory_equal(sb.buf + 1 + 3 * (n - 1), FFFD, 3);
	strbuf_release(&sb);
	free(in);
}

static void test_int64_limits(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw_writer j;

	(void)state;
	jw_init(&j, &sb);
	jw_array_begin(&j);
	jw_int_string(&j, INT64_MIN);
	jw_int_string(&j, INT64_MAX);
	jw_int_string(&j, 0);
	jw_int(&j, INT64_MIN);
	jw_int(&j, INT64_MAX);
	jw_array_end(&j);
	assert_int_equal(jw_error(&j), 0);
	assert_string_equal(strbuf_str(&sb),
			    "[\"-9223372036854775808\",\"9223372036854775807\",\"0\","
			    "-9223372036854775808,9223372036854775807]");
	strbuf_release(&sb);
}

static void test_depth(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw_writer j;
	int i;

	(void)state;
	/* Exactly JW_MAX_DEPTH levels are fine. */
	jw_init(&j, &sb);
	for (i = 0; i < JW_MAX_DEPTH; i++)
		jw_array_begin(&j);
	for (i = 0; i < JW_MAX_DEPTH; i++)
		jw_array_end(&j);
	assert_int_equal(jw_error(&j), 0);
	assert_int_equal(sb.len, 2 * JW_MAX_DEPTH);
	strbuf_release(&sb);

	/* One more is an error, and the error sticks. */
	jw_init(&j, &sb);
	for (i = 0; i < JW_MAX_DEPTH; i++) {
		jw_object_begin(&j);
		jw_key(&j, "k");
	}
	jw_array_begin(&j);
	assert_int_equal(jw_error(&j), -EINVAL);
	for (i = 0; i < JW_MAX_DEPTH; i++)
		jw_object_end(&j);
	assert_int_equal(jw_error(&j), -EINVAL);
	strbuf_release(&sb);
}

static void expect_misuse(void (*fn)(struct jw_writer *j))
{
	struct strbuf sb = STRBUF_INIT;
	struct jw_writer j;

	jw_init(&j, &sb);
	fn(&j);
	assert_int_equal(jw_error(&j), -EINVAL);
	strbuf_release(&sb);
}

static void misuse_unclosed(struct jw_writer *j)
{
	jw_object_begin(j);
}

static void misuse_extra_end(struct jw_writer *j)
{
	jw_array_begin(j);
	jw_array_end(j);
	jw_array_end(j);
}

static void misuse_mismatched_end(struct jw_writer *j)
{
	jw_array_begin(j);
	jw_object_end(j);
}

static void misuse_value_without_key(struct jw_writer *j)
{
	jw_object_begin(j);
	jw_int(j, 1);
	jw_object_end(j);
}

static void misuse_key_in_array(struct jw_writer *j)
{
	jw_array_begin(j);
	jw_key(j, "k");
	jw_int(j, 1);
	jw_array_end(j);
}

static void misuse_key_without_value(struct jw_writer *j)
{
	jw_object_begin(j);
	jw_key(j, "k");
	jw_object_end(j);
}

static void misuse_two_keys(struct jw_writer *j)
{
	jw_object_begin(j);
	jw_key(j, "a");
	jw_key(j, "b");
	jw_int(j, 1);
	jw_object_end(j);
}

static void misuse_two_top_level(struct jw_writer *j)
{
	jw_int(j, 1);
	jw_int(j, 2);
}

static void misuse_null_key(struct jw_writer *j)
{
	jw_object_begin(j);
	jw_kv_bool(j, NULL, true);
	jw_object_end(j);
}

static void test_misuse(void **state)
{
	(void)state;
	expect_misuse(misuse_unclosed);
	expect_misuse(misuse_extra_end);
	expect_misuse(misuse_mismatched_end);
	expect_misuse(misuse_value_without_key);
	expect_misuse(misuse_key_in_array);
	expect_misuse(misuse_key_without_value);
	expect_misuse(misuse_two_keys);
	expect_misuse(misuse_two_top_level);
	expect_misuse(misuse_null_key);
}

/* Every byte value, every 2-byte pair and pseudo-random runs must give strictly valid JSON. */
static void test_hostile_bytes_python(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw_writer j;
	unsigned char buf[4096];
	uint32_t seed = 12345;

	(void)state;
	jw_init(&j, &sb);
	jw_object_begin(&j);
	jw_key(&j, "single");
	jw_array_begin(&j);
	for (int c = 0; c < 256; c++) {
		buf[0] = (unsigned char)c;
		jw_string_n(&j, (const char *)buf, 1);
	}
	jw_array_end(&j);
	jw_key(&j, "pairs");
	jw_array_begin(&j);
	for (int a = 0; a < 256; a++) {
		for (int b = 0; b < 256; b++) {
			buf[2 * b] = (unsigned char)a;
			buf[2 * b + 1] = (unsigned char)b;
		}
		jw_string_n(&j, (const char *)buf, 512);
	}
	jw_array_end(&j);
	jw_key(&j, "random");
	jw_array_begin(&j);
	for (int r = 0; r < 64; r++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			seed = seed * 1103515245 + 12345;
			/* Bias towards lead/continuation bytes to hit multi-byte paths. */
			buf[i] = (unsigned char)(seed >> 16) | ((seed & 0x100) ? 0x80 : 0);
		}
		jw_string_n(&j, (const char *)buf, sizeof(buf));
		/* The same bytes as a key. */
		jw_object_begin(&j);
		jw_key_n(&j, (const char *)buf, 64);
		jw_int(&j, r);
		jw_object_end(&j);
	}
	jw_array_end(&j);
	jw_kv_string(&j, "seps", "\xe2\x80\xa8\xe2\x80\xa9\x7f");
	jw_object_end(&j);
	assert_int_equal(jw_error(&j), 0);
	assert_int_equal(python_strict_parse(sb.buf, sb.len, false), 0);
	strbuf_release(&sb);

	/* Sanity check of the checker: invalid UTF-8 must make it fail. */
	assert_int_not_equal(python_strict_parse("\"\xff\"", 3, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_and_commas),
		cmocka_unit_test(test_top_level_scalar),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_all_control_bytes),
		cmocka_unit_test(test_valid_utf8),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_big_string),
		cmocka_unit_test(test_int64_limits),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_hostile_bytes_python),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
