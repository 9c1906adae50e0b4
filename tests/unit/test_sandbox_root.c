// SPDX-License-Identifier: Apache-2.0
/*
 * A gVisor container's root from runsc's state and runsc's command line, and Cloud Run's names
 * from an environment: well-formed input as runsc 20221219 writes it, and input no runsc should
 * write (whoever runs sandboxes writes these files, and a workload chooses its environment).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "event.h"
#include "proc/sandbox_root.h"

static int from_state(const char *json, const char *cwd, char *out)
{
	return sandbox_root_from_state(json, strlen(json), cwd, out, PATH_MAX);
}

static void test_root_from_state(void **state)
{
	char out[PATH_MAX];

	/* As runsc writes it: the spec's root, absolute */
	assert_int_equal(from_state("{\"id\":\"c\",\"spec\":{\"root\":{\"path\":\"/var/lib/r/"
				    "rootfs\"}},\"bundleDir\":\"/b\"}",
				    NULL, out),
			 0);
	assert_string_equal(out, "/var/lib/r/rootfs");
	/* Relative to the bundle, as containerd's "rootfs" */
	assert_int_equal(
	    from_state("{\"spec\":{\"root\":{\"path\":\"rootfs\"}},\"bundleDir\":\"/run/b/c1\"}",
		       NULL, out),
	    0);
	assert_string_equal(out, "/run/b/c1/rootfs");
	/* "..": normalized, never left as is */
	assert_int_equal(
	    from_state("{\"spec\":{\"root\":{\"path\":\"../r//./x/\"}},\"bundleDir\":\"/b/c\"}",
		       NULL, out),
	    0);
	assert_string_equal(out, "/b/r/x");
	/* A bundle relative to runsc's cwd */
	assert_int_equal(
	    from_state("{\"spec\":{\"root\":{\"path\":\"rootfs\"}},\"bundleDir\":\"bundle\"}",
		       "/home/u", out),
	    0);
	assert_string_equal(out, "/home/u/bundle/rootfs");
	/* ... which must be known */
	assert_int_equal(
	    from_state("{\"spec\":{\"root\":{\"path\":\"rootfs\"}},\"bundleDir\":\"bundle\"}", NULL,
		       out),
	    -ENOENT);
	/* The host's root */
	assert_int_equal(from_state("{\"spec\":{\"root\":{\"path\":\"/\"}}}", NULL, out), 0);
	assert_string_equal(out, "/");
	/* Nothing to go by */
	assert_int_equal(from_state("{\"spec\":{}}", NULL, out), -ENOENT);
	assert_int_equal(from_state("{\"spec\":{\"root\":{\"path\":\"r\"}}}", NULL, out), -ENOENT);
	/* Not a state, or a root no runsc would write */
	assert_int_equal(from_state("[]", NULL, out), -EINVAL);
	assert_int_equal(from_state("{\"spec\":", NULL, out), -EINVAL);
	assert_int_equal(from_state("", NULL, out), -EINVAL);
	assert_int_equal(from_state("{\"spec\":{\"root\":{\"path\":7}}}", NULL, out), -EINVAL);
	assert_int_equal(from_state("{\"spec\":{\"root\":{\"path\":\"\"}}}", NULL, out), -EINVAL);
	assert_int_equal(from_state("{\"spec\":{\"root\":{\"path\":\"/a\\nb\"}}}", NULL, out),
			 -EINVAL);
	assert_int_equal(from_state("{\"spec\":{\"root\":{\"path\":\"/a\\u0000b\"}}}", NULL, out),
			 -EINVAL);
	/* A bundle with control bytes is no bundle */
	assert_int_equal(
	    from_state("{\"spec\":{\"root\":{\"path\":\"r\"}},\"bundleDir\":\"/b\\u0001\"}", NULL,
		       out),
	    -ENOENT);
	{
		/* Too long for the caller's buffer */
		static const char json[] = "{\"spec\":{\"root\":{\"path\":\"/0123456789\"}}}";
		char small[8];

		assert_int_equal(
		    sandbox_root_from_state(json, strlen(json), NULL, small, sizeof(small)),
		    -ENAMETOOLONG);
	}
	{
		/* Over PATH_MAX */
		size_t n = PATH_MAX + 64;
		char *big = malloc(n + 64);

		assert_non_null(big);
		strcpy(big, "{\"spec\":{\"root\":{\"path\":\"/");
		memset(big + strlen(big), 'a', n);
		strcpy(big + strlen("{\"spec\":{\"root\":{\"path\":\"/") + n, "\"}}}");
		assert_int_equal(from_state(big, NULL, out), -EINVAL);
		free(big);
	}
}

static char tmpdir[PATH_MAX];

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup_tmp(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sowatch-unit-sandbox-root-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A state without a spec root: the bundle's config.json says */
static void test_root_from_bundle_config(void **state)
{
	char bundle[PATH_MAX + 16], json[PATH_MAX * 2], out[PATH_MAX];

	snprintf(bundle, sizeof(bundle), "%s/bundle", tmpdir);
	assert_int_equal(mkdir(bundle, 0700), 0);
	write_file(bundle, "config.json", "{\"root\":{\"path\":\"rootfs\"}}");
	snprintf(json, sizeof(json), "{\"bundleDir\":\"%s\"}", bundle);
	assert_int_equal(from_state(json, NULL, out), 0);
	assert_true(strncmp(out, bundle, strlen(bundle)) == 0);
	assert_string_equal(out + strlen(bundle), "/rootfs");
	write_file(bundle, "config.json", "{\"root\":{\"path\":[]}}");
	assert_int_equal(from_state(json, NULL, out), -EINVAL);
	write_file(bundle, "config.json", "not json");
	assert_int_equal(from_state(json, NULL, out), -EINVAL);
}

static void test_runsc_root_from_cmdline(void **state)
{
	static const char run[] = "runsc\0--root\0/run/x\0--platform=ptrace\0run\0--bundle\0b\0c";
	static const char eq[] = "runsc\0--network=none\0-root=/srv/state\0create\0c";
	static const char single[] = "runsc\0-root\0rel/dir\0start\0c";
	static const char after[] = "runsc\0--platform=ptrace\0do\0--\0openssl\0--root\0/evil";
	static const char none[] = "runsc\0--debug\0run\0c";
	static const char dangling[] = "runsc\0--root";
	static const char empty[] = "runsc\0--root=\0run";
	static const char unterminated[4] = { 'r', '\0', '-', '-' };
	char out[PATH_MAX];

	assert_int_equal(sandbox_runsc_root_from_cmdline(run, sizeof(run), out, sizeof(out)), 0);
	assert_string_equal(out, "/run/x");
	assert_int_equal(sandbox_runsc_root_from_cmdline(eq, sizeof(eq), out, sizeof(out)), 0);
	assert_string_equal(out, "/srv/state");
	assert_int_equal(sandbox_runsc_root_from_cmdline(single, sizeof(single), out, sizeof(out)),
			 0);
	assert_string_equal(out, "rel/dir");
	/* The command's own arguments are not runsc's flags */
	assert_int_equal(sandbox_runsc_root_from_cmdline(after, sizeof(after), out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(sandbox_runsc_root_from_cmdline(none, sizeof(none), out, sizeof(out)),
			 -ENOENT);
	/* Without the final NUL: sizeof - 1 */
	assert_int_equal(
	    sandbox_runsc_root_from_cmdline(dangling, sizeof(dangling) - 1, out, sizeof(out)),
	    -ENOENT);
	assert_int_equal(sandbox_runsc_root_from_cmdline(empty, sizeof(empty), out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(
	    sandbox_runsc_root_from_cmdline(unterminated, sizeof(unterminated), out, sizeof(out)),
	    -ENOENT);
	assert_int_equal(sandbox_runsc_root_from_cmdline(run, sizeof(run), out, 4), -ENAMETOOLONG);
	assert_int_equal(sandbox_runsc_root_from_cmdline("", 0, out, sizeof(out)), -ENOENT);
}

/* This very process is no runsc: no --root, and its cwd */
static void test_runsc_dirs_of_pid(void **state)
{
	char dir[PATH_MAX], cwd[PATH_MAX], own[PATH_MAX];

	assert_non_null(getcwd(own, sizeof(own)));
	assert_int_equal(sandbox_runsc_dirs_of_pid(getpid(), dir, sizeof(dir), cwd, sizeof(cwd)),
			 0);
	assert_string_equal(dir, "");
	assert_string_equal(cwd, own);
	assert_true(sandbox_runsc_dirs_of_pid(0x3ffffffe, dir, sizeof(dir), cwd, sizeof(cwd)) < 0);
}

static void test_root_find(void **state)
{
	char states[PATH_MAX + 16], rootfs[PATH_MAX + 16], json[PATH_MAX * 3], out[PATH_MAX];
	char link[PATH_MAX * 2], other[PATH_MAX + 16];
	const char *dirs[] = { states, NULL };
	const char *none[] = { NULL };
	int fd;

	snprintf(states, sizeof(states), "%s/state", tmpdir);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmpdir);
	snprintf(other, sizeof(other), "%s/other", tmpdir);
	assert_int_equal(mkdir(states, 0700), 0);
	assert_int_equal(mkdir(rootfs, 0755), 0);
	snprintf(json, sizeof(json),
		 "{\"spec\":{\"root\":{\"path\":\"rootfs\"}},\"bundleDir\":\"%s\"}", tmpdir);
	write_file(states, "ctr-1_sandbox:ctr-1.state", json);
	assert_int_equal(sandbox_root_find("ctr-1", dirs, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, rootfs);
	/* Another id, a prefix of it, an id runsc would refuse, no directory to look in */
	assert_int_equal(sandbox_root_find("ctr", dirs, NULL, out, sizeof(out)), -ENOENT);
	assert_int_equal(sandbox_root_find("ctr-2", dirs, NULL, out, sizeof(out)), -ENOENT);
	assert_int_equal(sandbox_root_find("../state/ctr-1", dirs, NULL, out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(sandbox_root_find("..", dirs, NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(sandbox_root_find("", dirs, NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(sandbox_root_find("ctr-1", none, NULL, out, sizeof(out)), -ENOENT);
	/* A root that is no directory */
	write_file(tmpdir, "other", "x");
	snprintf(json, sizeof(json), "{\"spec\":{\"root\":{\"path\":\"%s\"}}}", other);
	write_file(states, "ctr-3_sandbox:ctr-1.state", json);
	assert_int_equal(sandbox_root_find("ctr-3", dirs, NULL, out, sizeof(out)), -ENOTDIR);
	/* A state that names the container but is garbage */
	write_file(states, "ctr-4_sandbox:ctr-1.state", "{\"spec\":{\"root\":{}}}");
	assert_int_equal(sandbox_root_find("ctr-4", dirs, NULL, out, sizeof(out)), -EINVAL);
	/* A symlink at the state file is not followed */
	snprintf(link, sizeof(link), "%s/ctr-5_sandbox:ctr-1.state", states);
	snprintf(json, sizeof(json), "%s/ctr-1_sandbox:ctr-1.state", states);
	assert_int_equal(symlink(json, link), 0);
	assert_int_equal(sandbox_root_find("ctr-5", dirs, NULL, out, sizeof(out)), -ENOENT);
	/* Nor is a state over the bound read */
	snprintf(link, sizeof(link), "%s/ctr-6_sandbox:ctr-1.state", states);
	fd = open(link, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SANDBOX_STATE_FILE_MAX + 1), 0);
	close(fd);
	assert_int_equal(sandbox_root_find("ctr-6", dirs, NULL, out, sizeof(out)), -ENOENT);
	/* A FIFO there does not block */
	snprintf(link, sizeof(link), "%s/ctr-7_sandbox:ctr-1.state", states);
	assert_int_equal(mkfifo(link, 0600), 0);
	assert_int_equal(sandbox_root_find("ctr-7", dirs, NULL, out, sizeof(out)), -ENOENT);
}

static void test_cloud_run_from_env(void **state)
{
	char long_value[CLOUD_RUN_VALUE_MAX + 32] = "K_CONFIGURATION=";
	char *env[] = {
		"PATH=/bin",	   "K_SERVICEX=no",	  NULL,		  "K_SERVICE=hello",
		"K_SERVICE=later", "K_REVISION=\"a\nb\\", "K_REVISION=x", long_value,
	};
	char *empty[] = { "K_SERVICE=", "K_SERVICE=second", "K_REVISION" };
	const char *got[CLOUD_RUN_VARS];

	memset(long_value + strlen(long_value), 'c', CLOUD_RUN_VALUE_MAX + 1);
	long_value[sizeof(long_value) - 1] = '\0';
	assert_int_equal(cloud_run_from_env(env, 8, got), 2);
	/* The first, as getenv() finds it; the bytes as they were */
	assert_string_equal(got[CLOUD_RUN_SERVICE], "hello");
	assert_string_equal(got[CLOUD_RUN_REVISION], "\"a\nb\\");
	assert_null(got[CLOUD_RUN_CONFIGURATION]);
	/* An empty first entry hides a later one, as for getenv() */
	assert_int_equal(cloud_run_from_env(empty, 3, got), 0);
	assert_null(got[CLOUD_RUN_SERVICE]);
	assert_null(got[CLOUD_RUN_REVISION]);
	assert_int_equal(cloud_run_from_env(NULL, 0, got), 0);
	/* At the bound exactly */
	long_value[strlen("K_CONFIGURATION=") + CLOUD_RUN_VALUE_MAX] = '\0';
	assert_int_equal(cloud_run_from_env(env + 7, 1, got), 1);
	assert_int_equal(strlen(got[CLOUD_RUN_CONFIGURATION]), CLOUD_RUN_VALUE_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_from_state),
		cmocka_unit_test_setup_teardown(test_root_from_bundle_config, setup_tmp,
						teardown_tmp),
		cmocka_unit_test(test_runsc_root_from_cmdline),
		cmocka_unit_test(test_runsc_dirs_of_pid),
		cmocka_unit_test_setup_teardown(test_root_find, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_cloud_run_from_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
