// SPDX-License-Identifier: Apache-2.0
/* The trust decision, against directories whose owner and mode every Debian host agrees on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "detectors/trust.h"

static const char *const lib_dirs[] = { "/usr/lib", "/lib64", NULL };

/* /usr/lib is root-owned 0755 everywhere; /tmp is world-writable (1777). */
static struct trust_policy policy(const char *engines_dir)
{
	struct trust_policy tp;

	trust_policy_init_dirs(&tp, engines_dir, "/usr/share", lib_dirs);
	return tp;
}

static struct file_ref root_file(const char *path)
{
	return (struct file_ref){ .path = path, .uid = 0, .mode = S_IFREG | 0644 };
}

static enum trust_verdict decide(const struct trust_policy *tp, const struct file_ref *f,
				 enum trust_role role)
{
	const char *reason = NULL;
	enum trust_verdict v = trust_decide(tp, f, role, "", &reason);

	assert_non_null(reason);
	return v;
}

static void test_module_in_engines_dir(void **state)
{
	struct trust_policy tp = policy("/usr/lib");
	struct file_ref f = root_file("/usr/lib/pkcs11.so");

	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_MODULE_DIR);
	f.path = "/usr/share/legacy.so"; /* the modules dir */
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_MODULE_DIR);
}

static void test_writable_or_foreign_file_is_custom(void **state)
{
	struct trust_policy tp = policy("/usr/lib");
	struct file_ref f = root_file("/usr/lib/pkcs11.so");

	f.mode = S_IFREG | 0666;
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
	f.mode = S_IFREG | 0664;
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
	f.mode = S_IFREG | 0644;
	f.uid = 1000;
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
}

static void test_writable_directory_is_custom(void **state)
{
	struct trust_policy tp = policy("/tmp");
	struct file_ref f = root_file("/tmp/evil.so");

	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
}

static void test_deleted_memfd_unknown_are_custom(void **state)
{
	struct trust_policy tp = policy("/usr/lib");
	struct file_ref f = root_file("/usr/lib/pkcs11.so");

	f.deleted = true;
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
	f.deleted = false;
	f.memfd = true;
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
	f.memfd = false;
	f.path_truncated = true;
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
	f.path_truncated = false;
	f.path_unreachable = true; /* a detached mount's "/usr/lib/..." is not this one */
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
	f = root_file(NULL);
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
	f = root_file("pkcs11.so");
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
}

static void test_dot_dot_cannot_escape(void **state)
{
	struct trust_policy tp = policy("/usr/lib");
	struct file_ref f = root_file("/usr/lib/../../tmp/evil.so");

	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
	assert_int_equal(decide(&tp, &f, ROLE_DEPENDENCY), TRUST_CUSTOM);
	f.path = "/usr/lib/./pkcs11.so";
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_MODULE_DIR);
	f.path = "/usr/libevil/x.so"; /* a prefix is not a parent */
	assert_int_equal(decide(&tp, &f, ROLE_DEPENDENCY), TRUST_CUSTOM);
}

static void test_system_libraries_only_as_dependencies(void **state)
{
	struct trust_policy tp = policy("/usr/lib/engines-test");
	struct file_ref f = root_file("/usr/lib/libp11.so.3");

	assert_int_equal(decide(&tp, &f, ROLE_DEPENDENCY), TRUST_SYSTEM_LIBRARY);
	/* Named to OpenSSL as a module, a system library is not one of its modules. */
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
	/* Subdirectories of a library directory count (p11-kit's modules live there). */
	f.path = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so";
	assert_int_equal(decide(&tp, &f, ROLE_DEPENDENCY), TRUST_SYSTEM_LIBRARY);
	f.path = "/opt/lib/libx.so";
	assert_int_equal(decide(&tp, &f, ROLE_DEPENDENCY), TRUST_CUSTOM);
}

static void test_module_dir_is_exact(void **state)
{
	struct trust_policy tp = policy("/usr/lib/x86_64-linux-gnu");
	struct file_ref f = root_file("/usr/lib/x86_64-linux-gnu/sub/m.so");

	/* Only the directory itself holds modules; below it, only the library rule applies. */
	assert_int_equal(decide(&tp, &f, ROLE_MODULE), TRUST_CUSTOM);
}

struct listed {
	char names[8][64];
	size_t n;
};

static void list_module(const char *path, const struct stat *st, void *ctx)
{
	struct listed *l = ctx;
	const char *slash = strrchr(path, '/');

	assert_true(S_ISREG(st->st_mode));
	if (l->n < 8)
		snprintf(l->names[l->n++], sizeof(l->names[0]), "%s", slash + 1);
}

static bool listed(const struct listed *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return true;
	return false;
}

/*
 * The kernel's verified modules: the files of the module directory the policy trusts as
 * modules, and nothing else there (no symlink, directory, or file others may write).
 */
static void test_modules_for_the_kernel(void **state)
{
	char dir[] = "/tmp/sowatch-test-trust-XXXXXX", path[PATH_MAX];
	struct trust_policy tp;
	struct listed l = { 0 };
	int fd;

	if (geteuid() != 0)
		skip(); /* the files must be root's */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	tp = policy(dir);
	snprintf(path, sizeof(path), "%s/good.so", dir);
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0644)) >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/writable.so", dir);
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0644)) >= 0);
	assert_int_equal(fchmod(fd, 0666), 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/link.so", dir);
	assert_int_equal(symlink("good.so", path), 0);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);

	assert_int_equal(trust_policy_for_each_module(&tp, list_module, &l), 1);
	assert_true(listed(&l, "good.so"));
	assert_false(listed(&l, "writable.so"));
	assert_false(listed(&l, "link.so"));

	/* A change of the directory is seen, and only once. */
	{
		struct trust_modules_stamp stamp = { 0 };

		assert_true(trust_policy_modules_changed(&tp, &stamp));
		assert_false(trust_policy_modules_changed(&tp, &stamp));
		usleep(20000);
		snprintf(path, sizeof(path), "%s/good.so", dir);
		assert_int_equal(unlink(path), 0);
		assert_true(trust_policy_modules_changed(&tp, &stamp));
	}
	for (const char *const *n = (const char *const[]){ "writable.so", "link.so", NULL }; *n;
	     n++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *n);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

static void test_system_policy_reads_libcrypto(void **state)
{
	struct trust_policy tp;

	assert_int_equal(trust_policy_init(&tp), 0);
	assert_true(tp.engines_dir[0] == '/');
	assert_true(tp.modules_dir[0] == '/');
	assert_true(tp.openssl_dir[0] == '/');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_module_in_engines_dir),
		cmocka_unit_test(test_writable_or_foreign_file_is_custom),
		cmocka_unit_test(test_writable_directory_is_custom),
		cmocka_unit_test(test_deleted_memfd_unknown_are_custom),
		cmocka_unit_test(test_dot_dot_cannot_escape),
		cmocka_unit_test(test_system_libraries_only_as_dependencies),
		cmocka_unit_test(test_module_dir_is_exact),
		cmocka_unit_test(test_modules_for_the_kernel),
		cmocka_unit_test(test_system_policy_reads_libcrypto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
