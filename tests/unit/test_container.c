// SPDX-License-Identifier: Apache-2.0
/* Container ids from the cgroup layouts of docker, containerd, CRI-O, podman and runc. */
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

#include "proc/container.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void expect_id(const char *cgroup, const char *runc_dir, const char *want)
{
	char id[CONTAINER_ID_MAX] = "untouched";
	bool found = container_id_from_cgroup_path(cgroup, runc_dir, id);

	if (!want) {
		assert_false(found);
		return;
	}
	assert_true(found);
	assert_string_equal(id, want);
}

static void test_layouts(void **state)
{
	expect_id("/system.slice/docker-" ID ".scope", NULL, ID);
	expect_id("/docker/" ID, NULL, ID);
	expect_id("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
		  "cri-containerd-" ID ".scope",
		  NULL, ID);
	expect_id("/kubepods/burstable/pod0b6e0c7f-7d0e-4a55-9d1b-1c8a2d7a9c11/" ID, NULL, ID);
	expect_id("/machine.slice/libpod-" ID ".scope", NULL, ID);
	expect_id("/crio-" ID ".scope", NULL, ID);
}

static void test_host_cgroups(void **state)
{
	expect_id("/", NULL, NULL);
	expect_id("/user.slice/user-0.slice/session-1.scope", NULL, NULL);
	expect_id("/system.slice/ssh.service", NULL, NULL);
	/* 63 hex digits, or 64 with a non-hex one: not an id */
	expect_id("/docker/"
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
		  NULL, NULL);
	expect_id("/docker/"
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
		  NULL, NULL);
}

static void test_plain_runc_needs_its_state(void **state)
{
	char dir[] = "/tmp/sowatch-test-runc-XXXXXX";
	char path[PATH_MAX];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	expect_id("/my-ctr", dir, NULL); /* no state: a host cgroup named like a container */
	snprintf(path, sizeof(path), "%s/my-ctr", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/my-ctr/state.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	expect_id("/my-ctr", dir, "my-ctr");
	expect_id("/parent/my-ctr", dir, "my-ctr");
	expect_id("/..", dir, NULL);
	unlink(path);
	snprintf(path, sizeof(path), "%s/my-ctr", dir);
	rmdir(path);
	rmdir(dir);
}

static void test_own_process(void **state)
{
	char id[CONTAINER_ID_MAX] = "";

	/* Whatever this machine is, the call must not fail loudly or overflow. */
	container_id_of_pid((uint32_t)getpid(), id);
	assert_true(strlen(id) < CONTAINER_ID_MAX);
	assert_false(container_id_of_pid(0, id));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_host_cgroups),
		cmocka_unit_test(test_plain_runc_needs_its_state),
		cmocka_unit_test(test_own_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
