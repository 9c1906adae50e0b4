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
	struct dynlib lib = { .soname = "libz.so.1", .package = "zlib1g", .symbols = symbols };
	const char *error = NULL;

	assert_int_equal(dynlib_use(&lib, &error), 0);
	assert_non_null(version);
	assert_string_equal(version(), zlibVersion());
	assert_int_equal(crc(0, (const Bytef *)"sowatch", 7),
			 crc32(0, (const Bytef *)"sowatch", 7));
}

static void test_missing_library_names_the_package(void **state)
{
	void *address = &address;
	const struct dynlib_symbol symbols[] = { { "f", &address }, { NULL, NULL } };
	struct dynlib lib = { .soname = "libsowatch-absent.so.9",
			      .package = "sowatch-absent",
			      .symbols = symbols };
	const char *error = NULL;

	assert_int_equal(dynlib_use(&lib, &error), -ENOENT);
	assert_non_null(strstr(error, "cannot load libsowatch-absent.so.9"));
	assert_non_null(strstr(error, "Debian's package sowatch-absent"));
	assert_ptr_equal(address, &address);
	/* Tried once: a second call says the same without loading again */
	error = NULL;
	assert_int_equal(dynlib_use(&lib, &error), -ENOENT);
	assert_non_null(strstr(error, "cannot load libsowatch-absent.so.9"));
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
	struct dynlib lib = { .soname = "libz.so.1", .package = "zlib1g", .symbols = symbols };
	const char *error = NULL;

	assert_int_equal(dynlib_use(&lib, &error), -ENOENT);
	assert_non_null(strstr(error, "libz.so.1 has no sowatch_no_such_function"));
	assert_null(first);
	assert_null(absent);
}

static const char *setup_refuses(void)
{
	return "set-up refused";
}

/* A library whose own set-up fails is not used, and says why */
static void test_setup_failure(void **state)
{
	__typeof__(zlibVersion) *version = NULL;
	const struct dynlib_symbol symbols[] = { { "zlibVersion", (void **)&version },
						 { NULL, NULL } };
	struct dynlib lib = { .soname = "libz.so.1",
			      .package = "zlib1g",
			      .symbols = symbols,
			      .setup = setup_refuses };
	const char *error = NULL;

	assert_int_equal(dynlib_use(&lib, &error), -ENOENT);
	assert_string_equal(error, "set-up refused");
	assert_false(lib.ready);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads_every_symbol),
		cmocka_unit_test(test_missing_library_names_the_package),
		cmocka_unit_test(test_missing_symbol_writes_nothing),
		cmocka_unit_test(test_setup_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
