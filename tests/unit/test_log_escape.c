// SPDX-License-Identifier: Apache-2.0
/* log_escape(): what a log line shows of text someone else chose (a subject, a file name) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/log.h"
#include "util/unicode.h"

static void expect_shown(const char *text, const char *want)
{
	char out[256];

	assert_string_equal(log_escape(text, out, sizeof(out)), want);
}

static void test_c0_controls(void **state)
{
	expect_shown("a\nb", "a\\x0ab");
	expect_shown("\x1b[2J\x7f", "\\x1b[2J\\x7f");
	expect_shown("plain text: a.b-c_d", "plain text: a.b-c_d");
}

/* 8-bit terminals read U+0080 to U+009F (and a lone byte 0x9b, a CSI) as controls */
static void test_c1_controls(void **state)
{
	expect_shown("a\xc2\x9b"
		     "31mred",
		     "a\\u009b31mred");
	expect_shown("\xc2\x80\xc2\x9f", "\\u0080\\u009f");
	expect_shown("a\x9b"
		     "31m",
		     "a\\x9b31m");
}

/* A reversed run makes "exe.txt" of "txt.exe" on the screen */
static void test_bidi(void **state)
{
	expect_shown("sowatch.findings.\xe2\x80\xae"
		     "lacol",
		     "sowatch.findings.\\u202elacol");
	expect_shown("\xe2\x80\xaa\xe2\x80\xac\xe2\x81\xa6\xe2\x81\xa9",
		     "\\u202a\\u202c\\u2066\\u2069");
	expect_shown("\xe2\x80\x8b", "\\u200b");
}

static void test_text_kept(void **state)
{
	/* Printable UTF-8 as it is; bytes that are not UTF-8 as \xNN */
	expect_shown("h\xc3\xa9te \xe6\x97\xa5\xf0\x9f\x98\x80",
		     "h\xc3\xa9te \xe6\x97\xa5\xf0\x9f\x98\x80");
	expect_shown("\xc3(\xed\xa0\x80", "\\xc3(\\xed\\xa0\\x80");
	expect_shown("cut \xe2\x80", "cut \\xe2\\x80");
}

/* Cut when full at a whole character or escape, never inside one */
static void test_cut(void **state)
{
	char out[8];

	assert_string_equal(log_escape("abcd\nef", out, sizeof(out)), "abcd");
	assert_string_equal(log_escape("abcd\xe2\x80\xae", out, sizeof(out)), "abcd");
	assert_string_equal(log_escape("abcdef\xc3\xa9", out, sizeof(out)), "abcdef");
	assert_string_equal(log_escape("abcdefghij", out, sizeof(out)), "abcdefg");
	assert_string_equal(log_escape("x", out, 1), "");
}

static void test_unicode_unsafe(void **state)
{
	uint32_t cp;

	for (cp = 0x80; cp <= 0x9f; cp++)
		assert_true(unicode_unsafe(cp));
	for (cp = 0x202a; cp <= 0x202e; cp++)
		assert_true(unicode_unsafe(cp));
	for (cp = 0x2066; cp <= 0x2069; cp++)
		assert_true(unicode_unsafe(cp));
	assert_false(unicode_unsafe(0xa0));
	assert_false(unicode_unsafe(0xe9));
	assert_false(unicode_unsafe(0x2030));
	assert_int_equal(utf8_decode((const unsigned char *)"\xc0\x80", 2, &cp), 0);
	assert_int_equal(utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c0_controls), cmocka_unit_test(test_c1_controls),
		cmocka_unit_test(test_bidi),	    cmocka_unit_test(test_text_kept),
		cmocka_unit_test(test_cut),	    cmocka_unit_test(test_unicode_unsafe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
