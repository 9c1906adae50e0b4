// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "util/path.h"

static void expect_norm(const char *in, const char *want)
{
	char out[64];

	assert_int_equal(path_normalize(in, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void test_normalize(void **state)
{
	expect_norm("/", "/");
	expect_norm("//", "/");
	expect_norm("/a//b/", "/a/b");
	expect_norm("/a/./b/.", "/a/b");
	expect_norm("/a/b/../c", "/a/c");
	expect_norm("/../../x", "/x");
	expect_norm("/a/..", "/");
	expect_norm("/a/...", "/a/...");
	expect_norm("/a/..b", "/a/..b");
}

static void test_normalize_errors(void **state)
{
	char out[8];

	assert_int_equal(path_normalize("relative", out, sizeof(out)), -EINVAL);
	assert_int_equal(path_normalize("", out, sizeof(out)), -EINVAL);
	assert_int_equal(path_normalize("/0123456789", out, sizeof(out)), -ENAMETOOLONG);
}

static void test_join(void **state)
{
	char out[64];

	assert_int_equal(path_join("/w/d", "./m.so", out, sizeof(out)), 0);
	assert_string_equal(out, "/w/d/m.so");
	assert_int_equal(path_join("/w/d", "../m.so", out, sizeof(out)), 0);
	assert_string_equal(out, "/w/m.so");
	assert_int_equal(path_join("/w/d", "/abs/m.so", out, sizeof(out)), 0);
	assert_string_equal(out, "/abs/m.so");
}

static void test_is_under(void **state)
{
	assert_true(path_is_under("/usr/lib/x.so", "/usr/lib"));
	assert_true(path_is_under("/usr/lib", "/usr/lib"));
	assert_false(path_is_under("/usr/libx/x.so", "/usr/lib"));
	assert_true(path_is_under("/anything", "/"));
	assert_false(path_is_under("/usr", "/usr/lib"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_normalize_errors),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_is_under),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
