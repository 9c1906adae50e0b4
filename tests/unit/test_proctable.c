// SPDX-License-Identifier: Apache-2.0
/* The process table's life cycle: exec, fork, exit, and forgetting what ended unseen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc/proctable.h"

#define NO_SUCH_PID 0x3ffffffe /* above any pid_max */

static struct event exec_event(uint32_t pid, uint32_t ppid, const char *const *argv, size_t argc)
{
	static const char *const env[] = { "OPENSSL_CONF=/etc/x.cnf" };
	struct event ev = { .kind = EVENT_EXEC, .pid = pid, .tid = pid };

	ev.exec.ppid = ppid;
	ev.exec.uid = 1000;
	memcpy(ev.exec.comm, "openssl", 8);
	ev.exec.exe.path = "/usr/bin/openssl";
	ev.exec.exe.ino = 42;
	ev.exec.cwd = "/srv";
	ev.exec.argv = argv;
	ev.exec.argc = argc;
	ev.exec.env = env;
	ev.exec.envc = 1;
	ev.exec.start_boottime_ns = 123456789;
	return ev;
}

static void test_exec_fork_exit(void **state)
{
	static const char *const argv[] = { "openssl", "engine", "-t", "/x.so" };
	struct proctable *pt;
	struct event ev = exec_event(NO_SUCH_PID, 1, argv, 4);
	struct proc *p, *child;

	assert_int_equal(proctable_new(&pt), 0);
	p = proctable_exec(pt, &ev);
	assert_non_null(p);
	assert_string_equal(p->comm, "openssl");
	assert_string_equal(p->exe.path, "/usr/bin/openssl");
	assert_string_equal(p->cwd, "/srv");
	assert_int_equal(p->argc, 4);
	assert_string_equal(p->argv[3], "/x.so");
	assert_string_equal(proc_getenv(p, "OPENSSL_CONF"), "/etc/x.cnf");
	assert_null(proc_getenv(p, "OPENSSL"));

	/* A fork runs its parent's image until it execs. */
	ev = (struct event){ .kind = EVENT_FORK, .pid = NO_SUCH_PID - 1 };
	ev.fork.ppid = NO_SUCH_PID;
	ev.fork.start_boottime_ns = 5;
	child = proctable_fork(pt, &ev);
	assert_non_null(child);
	assert_int_equal(child->ppid, NO_SUCH_PID);
	assert_string_equal(child->exe.path, "/usr/bin/openssl");
	assert_string_equal(child->argv[1], "engine");
	assert_true(child->exe.path != proctable_get(pt, 0, NO_SUCH_PID)->exe.path); /* own copy */
	assert_int_equal(proctable_size(pt), 2);

	proctable_exit(pt, 0, NO_SUCH_PID);
	assert_null(proctable_get(pt, 0, NO_SUCH_PID));
	assert_non_null(proctable_get(pt, 0, NO_SUCH_PID - 1));
	assert_int_equal(proctable_size(pt), 1);
	proctable_free(pt);
}

static void test_exec_replaces_image(void **state)
{
	static const char *const first[] = { "sh", "-c", "x" };
	static const char *const second[] = { "openssl", "version" };
	struct proctable *pt;
	struct event ev = exec_event(NO_SUCH_PID, 1, first, 3);
	struct proc *p;

	assert_int_equal(proctable_new(&pt), 0);
	proctable_exec(pt, &ev);
	ev = exec_event(NO_SUCH_PID, 1, second, 2);
	p = proctable_exec(pt, &ev);
	assert_int_equal(p->argc, 2);
	assert_string_equal(p->argv[0], "openssl");
	assert_int_equal(proctable_size(pt), 1);
	proctable_free(pt);
}

/* A sandbox's process keeps its root and Cloud Run names; a fork inherits them, an exec says anew */
static void test_sandbox_root_and_cloud_run(void **state)
{
	static const char *const argv[] = { "openssl", "version" };
	const uint64_t ns = (1ull << 63) | 5;
	struct proctable *pt;
	struct event ev = exec_event(1, 0, argv, 2);
	struct proc *p, *child;

	ev.ns = ns;
	ev.exec.sandbox_root = "/var/lib/sandbox/rootfs";
	ev.exec.cloud_run[CLOUD_RUN_SERVICE] = "svc";
	ev.exec.cloud_run[CLOUD_RUN_REVISION] = "svc-1";
	assert_int_equal(proctable_new(&pt), 0);
	p = proctable_exec(pt, &ev);
	assert_non_null(p);
	assert_string_equal(p->sandbox_root, "/var/lib/sandbox/rootfs");
	assert_true(p->sandbox_root != ev.exec.sandbox_root); /* own copy */
	assert_string_equal(p->cloud_run[CLOUD_RUN_SERVICE], "svc");
	assert_string_equal(p->cloud_run[CLOUD_RUN_REVISION], "svc-1");
	assert_null(p->cloud_run[CLOUD_RUN_CONFIGURATION]);

	ev = (struct event){ .kind = EVENT_FORK, .pid = 2, .ns = ns };
	ev.fork.ppid = 1;
	child = proctable_fork(pt, &ev);
	assert_non_null(child);
	assert_string_equal(child->sandbox_root, "/var/lib/sandbox/rootfs");
	assert_string_equal(child->cloud_run[CLOUD_RUN_REVISION], "svc-1");

	ev = exec_event(2, 1, argv, 2);
	ev.ns = ns;
	child = proctable_exec(pt, &ev);
	assert_null(child->sandbox_root);
	assert_null(child->cloud_run[CLOUD_RUN_SERVICE]);
	proctable_free(pt);
}

static int gone_calls;

static void on_gone(struct proc *p, void *ctx)
{
	gone_calls++;
}

static void test_sweep(void **state)
{
	static const char *const argv[] = { "x" };
	struct proctable *pt;
	struct event ev = exec_event(NO_SUCH_PID, 1, argv, 1);
	struct proc *me;

	assert_int_equal(proctable_new(&pt), 0);
	proctable_exec(pt, &ev);			       /* never existed */
	me = proctable_get_or_load(pt, 0, (uint32_t)getpid()); /* alive, read from /proc */
	assert_non_null(me);
	assert_true(me->start_boottime_ns > 0);
	assert_int_equal(proctable_sweep(pt, on_gone, NULL), 1);
	assert_int_equal(gone_calls, 1);
	assert_null(proctable_get(pt, 0, NO_SUCH_PID));
	assert_non_null(proctable_get(pt, 0, (uint32_t)getpid()));

	/* Same pid, another start: a newer process, so the entry is stale. */
	proctable_get(pt, 0, (uint32_t)getpid())->start_boottime_ns += 10 * 1000000000ull;
	assert_int_equal(proctable_sweep(pt, on_gone, NULL), 1);
	assert_int_equal(proctable_size(pt), 0);
	proctable_free(pt);
}

static void test_namespaces_are_apart(void **state)
{
	static const char *const argv[] = { "openssl", "version" };
	struct proctable *pt;
	struct event ev = exec_event(7, 1, argv, 2);

	assert_int_equal(proctable_new(&pt), 0);
	ev.ns = 42; /* a sandbox's pid 7 */
	ev.container_id = "sandbox-1";
	proctable_exec(pt, &ev);
	assert_null(proctable_get(pt, 0, 7)); /* not the host's pid 7 */
	assert_non_null(proctable_get(pt, 42, 7));
	assert_string_equal(proctable_get(pt, 42, 7)->container_id, "sandbox-1");
	assert_int_equal(proctable_get(pt, 42, 7)->host_pid, 0);
	assert_non_null(proctable_get_or_load(pt, 42, 8)); /* empty, never from /proc */
	assert_string_equal(proctable_get(pt, 42, 8)->comm, "");
	assert_int_equal(proctable_forget_ns(pt, 42, NULL, NULL), 2);
	assert_int_equal(proctable_size(pt), 0);
	proctable_free(pt);
}

/*
 * The container is read from /proc once per mount namespace. A process gone before it is read
 * (these pids never exist) takes the container of another process of its mount namespace.
 */
static void test_container_of_a_process_gone_before_its_exec_is_read(void **state)
{
	static const char *const argv[] = { "openssl", "version" };
	static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct proctable *pt;
	struct proc *init, *p;
	struct event ev = exec_event(NO_SUCH_PID, 1, argv, 2);
	struct event fork_ev = { .kind = EVENT_FORK, .pid = NO_SUCH_PID - 2 };

	assert_int_equal(proctable_new(&pt), 0);
	ev.exec.mount_ns = 4026532001u;
	init = proctable_exec(pt, &ev);
	assert_non_null(init);
	assert_string_equal(init->container_id, ""); /* unreadable, no neighbour: unknown */
	/* as if its cgroups had been read while it was alive */
	snprintf(init->container_id, sizeof(init->container_id), "%s", id);
	init->container_mount_ns = ev.exec.mount_ns;

	ev.pid = ev.tid = NO_SUCH_PID - 1;
	p = proctable_exec(pt, &ev);
	assert_string_equal(p->container_id, id);
	assert_int_equal(p->container_mount_ns, 4026532001u);

	/* a fork keeps it, and an exec in the same mount namespace reads nothing */
	fork_ev.fork.ppid = NO_SUCH_PID - 1;
	p = proctable_fork(pt, &fork_ev);
	assert_string_equal(p->container_id, id);
	ev.pid = ev.tid = NO_SUCH_PID - 2;
	p = proctable_exec(pt, &ev);
	assert_string_equal(p->container_id, id);

	/* another mount namespace, or the host's, does not take it */
	ev.pid = ev.tid = NO_SUCH_PID - 3;
	ev.exec.mount_ns = 4026532002u;
	p = proctable_exec(pt, &ev);
	assert_string_equal(p->container_id, "");
	ev.pid = ev.tid = NO_SUCH_PID - 4;
	ev.exec.mount_ns = 4026532001u;
	ev.exec.host_mount_ns = true;
	p = proctable_exec(pt, &ev);
	assert_string_equal(p->container_id, "");
	proctable_free(pt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_fork_exit),
		cmocka_unit_test(test_exec_replaces_image),
		cmocka_unit_test(test_sandbox_root_and_cloud_run),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_namespaces_are_apart),
		cmocka_unit_test(test_container_of_a_process_gone_before_its_exec_is_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
