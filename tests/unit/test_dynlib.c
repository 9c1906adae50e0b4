// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "util/dynlib.h"

/* zlib is linked already: the loader must hand back the very functions the linker bound */
static void test_loads_every_symbol(void **state)
{
	__typeof__(zlibVersion) *version = NULL;
	__typeof__(crc32) *crc = NULL;
	const struct dynlib_symbol symbols[] = {
		{ "zlibVersion", (void **)&version },
		{ "crc32", (void **)&crc },
		{ NULL, NULL },
	};
	const char *error = NULL;

	assert_int_equal(dynlib_load("libz.so.1", "zlib1g", symbols, &error), 0);
	assert_non_null(version);
	assert_string_equal(version(), zlibVersion());
	assert_int_equal(crc(0, (const Bytef *)"sowatch", 7),
			 crc32(0, (const Bytef *)"sowatch", 7));
}

static void test_missing_library_names_the_package(void **state)
{
	void *address = &address;
	const struct dynlib_symbol symbols[] = { { "f", &address }, { NULL, NULL } };
	const char *error = NULL;

	assert_int_equal(dynlib_load("libsowatch-absent.so.9", "sowatch-absent", symbols, &error),
			 -ENOENT);
	assert_non_null(strstr(error, "cannot load libsowatch-absent.so.9"));
	assert_non_null(strstr(error, "Debian's package sowatch-absent"));
	assert_ptr_equal(address, &address);
}

/* One symbol missing: nothing is written, not even the symbols found before it */
static void test_missing_symbol_writes_nothing(void **state)
{
	void *first = NULL, *absent = NULL;
	const struct dynlib_symbol symbols[] = {
		{ "zlibVersion", &first },
		{ "sowatch_no_such_function", &absent },
		{ NULL, NULL },
	};
	const char *error = NULL;

	assert_int_equal(dynlib_load("libz.so.1", "zlib1g", symbols, &error), -ENOENT);
	assert_non_null(strstr(error, "libz.so.1 has no sowatch_no_such_function"));
	assert_null(first);
	assert_null(absent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads_every_symbol),
		cmocka_unit_test(test_missing_library_names_the_package),
		cmocka_unit_test(test_missing_symbol_writes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
