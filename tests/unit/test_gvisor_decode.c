// SPDX-License-Identifier: Apache-2.0
/*
 * gVisor messages built with the generated protobuf-c packers, as runsc 20221219 sends them,
 * and messages no sandbox should send; then the source's socket end to end with a fake sandbox.
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "gvisor/common.pb-c.h"
#include "gvisor/container.pb-c.h"
#include "gvisor/sentry.pb-c.h"
#include "gvisor/syscall.pb-c.h"
#include "sources/gvisor.h"
#include "sources/gvisor_decode.h"

#define NS	 ((1ull << 63) | 7)
#define MAX_SEEN 8
#define STR_MAX	 (GVISOR_PATH_MAX + 64)

struct seen {
	struct event ev;
	char exe[STR_MAX], cwd[STR_MAX], path[STR_MAX], ctr[128], sha[80];
	char root[STR_MAX], cloud_run[CLOUD_RUN_VARS][64];
	char strings[16][256];
	size_t n;
};

struct captured {
	int calls;
	struct seen e[MAX_SEEN];
};

static void keep(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "(null)");
}

static void on_event(const struct event *ev, void *ctx)
{
	struct captured *c = ctx;
	struct seen *s;

	if (c->calls >= MAX_SEEN) {
		c->calls++;
		return;
	}
	s = &c->e[c->calls++];
	s->ev = *ev;
	keep(s->ctr, sizeof(s->ctr), ev->container_id);
	if (ev->kind == EVENT_EXEC) {
		keep(s->exe, sizeof(s->exe), ev->exec.exe.path);
		keep(s->cwd, sizeof(s->cwd), ev->exec.cwd);
		keep(s->sha, sizeof(s->sha), ev->exec.exe_sha256);
		keep(s->root, sizeof(s->root), ev->exec.sandbox_root);
		for (int v = 0; v < CLOUD_RUN_VARS; v++)
			keep(s->cloud_run[v], sizeof(s->cloud_run[v]), ev->exec.cloud_run[v]);
		for (size_t i = 0; i < ev->exec.argc && s->n < 16; i++)
			keep(s->strings[s->n++], 256, ev->exec.argv[i]);
		for (size_t i = 0; i < ev->exec.envc && s->n < 16; i++)
			keep(s->strings[s->n++], 256, ev->exec.env[i]);
	} else if (ev->kind == EVENT_MAP) {
		keep(s->path, sizeof(s->path), ev->map.file.path);
	}
}

/* header + packed message, in a buffer of exactly that size (ASan sees any overread) */
static uint8_t *frame(uint16_t type, const void *msg, uint16_t header_size, uint32_t dropped,
		      size_t *ret_size)
{
	size_t payload = msg ? protobuf_c_message_get_packed_size(msg) : 0;
	uint8_t *buf = calloc(1, header_size + payload + 1);

	assert_non_null(buf);
	memcpy(buf, &header_size, 2);
	memcpy(buf + 2, &type, 2);
	memcpy(buf + 4, &dropped, 4);
	if (msg)
		protobuf_c_message_pack(msg, buf + header_size);
	*ret_size = header_size + payload;
	return buf;
}

static int send_msg(struct gvisor_decoder *dec, uint16_t type, const void *msg)
{
	size_t size;
	uint8_t *buf = frame(type, msg, 8, 0, &size);
	int err = gvisor_decode_message(dec, buf, size);

	free(buf);
	return err;
}

static Gvisor__ContextData ctx_of(uint32_t pid, uint32_t tid)
{
	Gvisor__ContextData c = GVISOR__CONTEXT_DATA__INIT;

	c.thread_group_id = pid;
	c.thread_id = tid;
	c.time_ns = 1700000000000000000;
	c.thread_group_start_time_ns = 1000 + pid;
	c.container_id = "ctr-1";
	c.cwd = "/work";
	return c;
}

static int open_at(struct gvisor_decoder *dec, uint32_t pid, int64_t dirfd, const char *dir_path,
		   const char *pathname, uint32_t flags, int64_t result)
{
	Gvisor__ContextData c = ctx_of(pid, pid);
	Gvisor__Open m = GVISOR__OPEN__INIT;
	Gvisor__Exit e = GVISOR__EXIT__INIT;

	e.result = result;
	m.context_data = &c;
	m.exit = &e;
	m.sysno = SYS_openat;
	m.fd = dirfd;
	m.fd_path = (char *)dir_path;
	m.pathname = (char *)pathname;
	m.flags = flags;
	return send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SYSCALL_OPEN, &m);
}

static int raw(struct gvisor_decoder *dec, uint32_t pid, uint64_t sysno, uint64_t prot,
	       uint64_t flags, int64_t fd, bool at_exit, int64_t result)
{
	Gvisor__ContextData c = ctx_of(pid, pid);
	Gvisor__Syscall m = GVISOR__SYSCALL__INIT;
	Gvisor__Exit e = GVISOR__EXIT__INIT;

	e.result = result;
	m.context_data = &c;
	m.exit = at_exit ? &e : NULL;
	m.sysno = sysno;
	m.arg1 = 0;
	m.arg2 = 0x2100; /* length */
	m.arg3 = prot;
	m.arg4 = flags;
	m.arg5 = (uint64_t)fd;
	m.arg6 = 0x3000;
	return send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SYSCALL_RAW, &m);
}

static int mmap_exec(struct gvisor_decoder *dec, uint32_t pid, int64_t fd)
{
	return raw(dec, pid, SYS_mmap, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, true,
		   0x7f0000001000);
}

static void test_container_start(void **state)
{
	struct captured cap = { 0 };
	struct gvisor_decoder *dec = gvisor_decoder_new(NS, on_event, &cap);
	Gvisor__ContextData c = ctx_of(1, 1);
	Gvisor__Credentials cred = GVISOR__CREDENTIALS__INIT;
	Gvisor__Start m = GVISOR__START__INIT;
	char *args[] = { "/usr/bin/openssl", "version" };
	char *env[] = { "PATH=/bin", "OPENSSL_CONF=/tmp/x.cnf", "LD_PRELOAD=/tmp/p.so", "X=1" };

	cred.real_uid = 1000;
	cred.real_gid = 100;
	c.credentials = &cred;
	m.context_data = &c;
	m.id = "sandbox-abc";
	m.cwd = "/srv";
	m.args = args;
	m.n_args = 2;
	m.env = env;
	m.n_env = 4;
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_CONTAINER_START, &m), 0);
	assert_int_equal(cap.calls, 1);
	assert_int_equal(cap.e[0].ev.kind, EVENT_EXEC);
	assert_string_equal(cap.e[0].ev.source, "gvisor");
	assert_true(cap.e[0].ev.ns == NS);
	assert_int_equal(cap.e[0].ev.pid, 1);
	assert_true(cap.e[0].ev.time_ns == 1700000000000000000ull);
	assert_string_equal(cap.e[0].ctr, "sandbox-abc");
	assert_string_equal(cap.e[0].exe, "/usr/bin/openssl");
	assert_string_equal(cap.e[0].cwd, "/srv");
	assert_string_equal(cap.e[0].ev.exec.comm, "openssl");
	assert_int_equal(cap.e[0].ev.exec.uid, 1000);
	assert_int_equal(cap.e[0].ev.exec.gid, 100);
	assert_int_equal(cap.e[0].ev.exec.argc, 2);
	assert_int_equal(cap.e[0].ev.exec.envc, 2);
	assert_string_equal(cap.e[0].strings[1], "version");
	assert_string_equal(cap.e[0].strings[2], "OPENSSL_CONF=/tmp/x.cnf");
	assert_string_equal(cap.e[0].strings[3], "LD_PRELOAD=/tmp/p.so");
	assert_string_equal(gvisor_decoder_container(dec), "sandbox-abc");

	/* args[0] a bare name: looked up in PATH, as gVisor does (the default PATH here) */
	args[0] = "sh";
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_CONTAINER_START, &m), 0);
	assert_true(strlen(cap.e[1].exe) > 3 &&
		    strcmp(cap.e[1].exe + strlen(cap.e[1].exe) - 3, "/sh") == 0);
	assert_string_equal(cap.e[1].ev.exec.comm, "sh");
	/* ... and unknown when PATH has no such program */
	args[0] = "no-such-program-sowatch";
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_CONTAINER_START, &m), 0);
	assert_string_equal(cap.e[2].exe, "(null)");
	gvisor_decoder_free(dec);
}

/* What the gVisor source would answer: a root for "ctr-1", the host's paths for the others. */
struct roots {
	int calls;
	char root[PATH_MAX];
};

static bool root_of(const char *container_id, char *ret, size_t size, void *ctx)
{
	struct roots *r = ctx;

	r->calls++;
	if (strcmp(container_id, "ctr-1") != 0)
		return false;
	snprintf(ret, size, "%s", r->root);
	return true;
}

static void test_container_root_and_cloud_run(void **state)
{
	struct captured cap = { 0 };
	struct roots roots = { 0 };
	struct gvisor_decoder *dec = gvisor_decoder_new(NS, on_event, &cap);
	Gvisor__ContextData c = ctx_of(1, 1);
	Gvisor__Start m = GVISOR__START__INIT;
	Gvisor__ExecveInfo ex = GVISOR__EXECVE_INFO__INIT;
	char *args[] = { "tool-sowatch-unit" };
	char *env[] = { "PATH=/nowhere:/usr/bin", "K_SERVICE=svc", "K_REVISION=svc-00001-abc",
			"K_CONFIGURATION=svc" };
	char *own_env[] = { "K_SERVICE=mine", "K_REVISION=mine-1" };
	char path[PATH_MAX + 64], cmd[2 * PATH_MAX + 64];
	int fd;

	/* A root of its own: /usr/bin/tool-sowatch-unit -> /opt/b/tool (absolute, inside it) */
	snprintf(roots.root, sizeof(roots.root), "/tmp/sowatch-unit-gvroot-XXXXXX");
	assert_non_null(mkdtemp(roots.root));
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/opt/b' '%s/usr/bin'", roots.root, roots.root);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/opt/b/tool", roots.root);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/usr/bin/tool-sowatch-unit", roots.root);
	assert_int_equal(symlink("/opt/b/tool", path), 0);
	gvisor_decoder_set_root_fn(dec, root_of, &roots);

	m.context_data = &c;
	m.id = "ctr-1";
	m.args = args;
	m.n_args = 1;
	m.env = env;
	m.n_env = 4;
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_CONTAINER_START, &m), 0);
	assert_int_equal(roots.calls, 1);
	/* Found through the container's root (the host has no such program) */
	assert_string_equal(cap.e[0].exe, "/usr/bin/tool-sowatch-unit");
	assert_string_equal(cap.e[0].root, roots.root);
	assert_string_equal(cap.e[0].cloud_run[CLOUD_RUN_SERVICE], "svc");
	assert_string_equal(cap.e[0].cloud_run[CLOUD_RUN_REVISION], "svc-00001-abc");
	assert_string_equal(cap.e[0].cloud_run[CLOUD_RUN_CONFIGURATION], "svc");

	/* A later exec in it: the same root, not looked up again; its own K_* do not count */
	ex.context_data = &c;
	ex.binary_path = "/usr/bin/openssl";
	ex.env = own_env;
	ex.n_env = 2;
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_EXEC, &ex), 0);
	assert_int_equal(roots.calls, 1);
	assert_string_equal(cap.e[1].root, roots.root);
	assert_string_equal(cap.e[1].cloud_run[CLOUD_RUN_SERVICE], "svc");
	assert_string_equal(cap.e[1].cloud_run[CLOUD_RUN_REVISION], "svc-00001-abc");

	/* A container whose start was not seen has the host's paths (and no lookup): its process's
	 * own K_* count */
	c.container_id = "ctr-2";
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_EXEC, &ex), 0);
	assert_int_equal(roots.calls, 1);
	assert_string_equal(cap.e[2].root, "(null)");
	assert_string_equal(cap.e[2].cloud_run[CLOUD_RUN_SERVICE], "mine");
	assert_string_equal(cap.e[2].cloud_run[CLOUD_RUN_REVISION], "mine-1");
	assert_string_equal(cap.e[2].cloud_run[CLOUD_RUN_CONFIGURATION], "(null)");

	/* Its start is looked up; its bare name is not found on the host */
	m.id = "ctr-2";
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_CONTAINER_START, &m), 0);
	assert_int_equal(roots.calls, 2);
	assert_string_equal(cap.e[3].exe, "(null)");
	assert_string_equal(cap.e[3].root, "(null)");

	/* Made-up ids cost no lookup; a flood of starts costs a bounded number a second, and the
	 * least recently used containers are forgotten (their processes then read on the host) */
	for (int i = 0; i < 1000; i++) {
		char id[32];

		snprintf(id, sizeof(id), "many-%d", i);
		c.container_id = id;
		assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_EXEC, &ex), 0);
		m.id = id;
		assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_CONTAINER_START, &m),
				 0);
	}
	assert_true(roots.calls <= 2 + 2 * GVISOR_ROOT_LOOKUPS_PER_S); /* a second may tick */
	assert_true(gvisor_decoder_stats(dec)->root_lookups_skipped >= 1000 - 2 * 16);
	memset(&cap, 0, sizeof(cap));
	c.container_id = "ctr-1";
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_EXEC, &ex), 0);
	assert_string_equal(cap.e[0].root, "(null)"); /* forgotten */
	/* An id too long to be one: never asked about */
	{
		char long_id[GVISOR_CONTAINER_ID_MAX + 2];
		int before = roots.calls;

		sleep(1); /* a fresh second's budget */
		memset(long_id, 'a', sizeof(long_id) - 1);
		long_id[sizeof(long_id) - 1] = '\0';
		m.id = long_id;
		c.container_id = long_id;
		assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_CONTAINER_START, &m),
				 0);
		assert_int_equal(roots.calls, before);
		/* ... while a real one is, in the new second */
		m.id = "ctr-1";
		c.container_id = "ctr-1";
		assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_CONTAINER_START, &m),
				 0);
		assert_int_equal(roots.calls, before + 1);
	}
	gvisor_decoder_free(dec);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", roots.root);
	assert_int_equal(system(cmd), 0);
}

static void test_clone_exec_exit(void **state)
{
	struct captured cap = { 0 };
	struct gvisor_decoder *dec = gvisor_decoder_new(NS, on_event, &cap);
	Gvisor__ContextData c = ctx_of(1, 1);
	Gvisor__CloneInfo cl = GVISOR__CLONE_INFO__INIT;
	Gvisor__ExecveInfo ex = GVISOR__EXECVE_INFO__INIT;
	Gvisor__TaskExit te = GVISOR__TASK_EXIT__INIT;
	uint8_t digest[32];
	char *argv[] = { "openssl", "engine", "-t", "/tmp/evil.so" };
	char *env[] = { "HOME=/root", "OPENSSL_ENGINES=/tmp" };

	cl.context_data = &c;
	cl.created_thread_id = 7;
	cl.created_thread_group_id = 7;
	cl.created_thread_start_time_ns = 4242;
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_CLONE, &cl), 0);
	assert_int_equal(cap.calls, 1);
	assert_int_equal(cap.e[0].ev.kind, EVENT_FORK);
	assert_int_equal(cap.e[0].ev.pid, 7);
	assert_int_equal(cap.e[0].ev.fork.ppid, 1);
	assert_true(cap.e[0].ev.fork.start_boottime_ns == 4242);

	/* a thread is no process */
	cl.created_thread_id = 8;
	cl.created_thread_group_id = 1;
	cl.flags = 0x00010000; /* CLONE_THREAD */
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_CLONE, &cl), 0);
	assert_int_equal(cap.calls, 1);

	c = ctx_of(7, 7);
	for (int i = 0; i < 32; i++)
		digest[i] = (uint8_t)(i * 17);
	ex.context_data = &c;
	ex.binary_path = "/usr/bin/openssl";
	ex.argv = argv;
	ex.n_argv = 4;
	ex.env = env;
	ex.n_env = 2;
	ex.binary_mode = 0100755;
	ex.binary_sha256.data = digest;
	ex.binary_sha256.len = 32;
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_EXEC, &ex), 0);
	assert_int_equal(cap.calls, 2);
	assert_int_equal(cap.e[1].ev.kind, EVENT_EXEC);
	assert_int_equal(cap.e[1].ev.pid, 7);
	assert_int_equal(cap.e[1].ev.exec.ppid, 1);
	assert_string_equal(cap.e[1].exe, "/usr/bin/openssl");
	assert_string_equal(cap.e[1].ev.exec.comm, "openssl");
	assert_string_equal(cap.e[1].cwd, "/work");
	assert_string_equal(cap.e[1].ctr, "ctr-1");
	assert_int_equal(cap.e[1].ev.exec.exe.mode, 0100755);
	assert_int_equal(cap.e[1].ev.exec.argc, 4);
	assert_string_equal(cap.e[1].strings[3], "/tmp/evil.so");
	assert_int_equal(cap.e[1].ev.exec.envc, 1);
	assert_string_equal(cap.e[1].strings[4], "OPENSSL_ENGINES=/tmp");
	assert_string_equal(cap.e[1].sha, "00112233445566778899aabbccddeeff"
					  "102132435465768798a9bacbdcedfe0f");
	assert_true(cap.e[1].ev.exec.start_boottime_ns == 1007);

	/* a hash of the wrong size is no hash */
	ex.binary_sha256.len = 5;
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_EXEC, &ex), 0);
	assert_string_equal(cap.e[2].sha, "(null)");

	/* a thread's exit is not the process's; the leader's is */
	c = ctx_of(7, 9);
	te.context_data = &c;
	te.exit_status = 256;
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_TASK_EXIT, &te), 0);
	assert_int_equal(cap.calls, 3);
	c = ctx_of(7, 7);
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_TASK_EXIT, &te), 0);
	assert_int_equal(cap.calls, 4);
	assert_int_equal(cap.e[3].ev.kind, EVENT_EXIT);
	assert_int_equal(cap.e[3].ev.pid, 7);
	assert_int_equal(cap.e[3].ev.exit.exit_code, 256);
	gvisor_decoder_free(dec);
}

static void test_open_then_mmap(void **state)
{
	struct captured cap = { 0 };
	struct gvisor_decoder *dec = gvisor_decoder_new(NS, on_event, &cap);

	/* relative to the cwd (AT_FDCWD), to a directory fd, absolute */
	assert_int_equal(open_at(dec, 5, AT_FDCWD, "", "./lib/../x.so", O_RDONLY, 3), 0);
	assert_int_equal(open_at(dec, 5, 9, "/opt/mods", "y.so", O_RDONLY, 4), 0);
	assert_int_equal(open_at(dec, 5, AT_FDCWD, "", "//usr/lib//z.so", O_RDONLY, 6), 0);
	assert_int_equal(cap.calls, 0);

	assert_int_equal(mmap_exec(dec, 5, 3), 0);
	assert_int_equal(mmap_exec(dec, 5, 4), 0);
	assert_int_equal(mmap_exec(dec, 5, 6), 0);
	assert_int_equal(cap.calls, 3);
	assert_int_equal(cap.e[0].ev.kind, EVENT_MAP);
	assert_string_equal(cap.e[0].path, "/work/x.so");
	assert_string_equal(cap.e[1].path, "/opt/mods/y.so");
	assert_string_equal(cap.e[2].path, "/usr/lib/z.so");
	assert_true(cap.e[0].ev.map.in_container);
	assert_false(cap.e[0].ev.map.file.path_truncated);
	assert_true(cap.e[0].ev.map.file.dev == 0 && cap.e[0].ev.map.file.ino == 0);
	assert_true(cap.e[0].ev.map.start == 0x7f0000001000);
	assert_true(cap.e[0].ev.map.end == 0x7f0000001000 + 0x3000);
	assert_true(cap.e[0].ev.map.pgoff == 3);
	assert_int_equal(cap.e[0].ev.pid, 5);
	assert_string_equal(cap.e[0].ctr, "ctr-1");

	/* not executable, anonymous, at enter, failed, another process, unknown fd: nothing */
	assert_int_equal(raw(dec, 5, SYS_mmap, PROT_READ, MAP_PRIVATE, 3, true, 0x1000), 0);
	assert_int_equal(raw(dec, 5, SYS_mmap, PROT_EXEC, MAP_ANONYMOUS, 3, true, 0x1000), 0);
	assert_int_equal(raw(dec, 5, SYS_mmap, PROT_EXEC, MAP_PRIVATE, 3, false, 0), 0);
	assert_int_equal(raw(dec, 5, SYS_mmap, PROT_EXEC, MAP_PRIVATE, 3, true, -EACCES), 0);
	assert_int_equal(mmap_exec(dec, 6, 3), 0);
	assert_int_equal(mmap_exec(dec, 5, 42), 0);
	assert_int_equal(cap.calls, 3);
	assert_int_equal(gvisor_decoder_stats(dec)->maps_untracked, 2);

	/* a failed open is no file */
	assert_int_equal(open_at(dec, 5, AT_FDCWD, "", "/nope.so", O_RDONLY, -ENOENT), 0);
	assert_int_equal(mmap_exec(dec, 5, 3), 0);
	assert_string_equal(cap.e[3].path, "/work/x.so");
	gvisor_decoder_free(dec);
}

static void test_fd_lifecycle(void **state)
{
	struct captured cap = { 0 };
	struct gvisor_decoder *dec = gvisor_decoder_new(NS, on_event, &cap);
	Gvisor__ContextData c = ctx_of(5, 5);
	Gvisor__Close cl = GVISOR__CLOSE__INIT;
	Gvisor__Dup dup = GVISOR__DUP__INIT;
	Gvisor__Fcntl fc = GVISOR__FCNTL__INIT;
	Gvisor__Exit e = GVISOR__EXIT__INIT;
	Gvisor__CloneInfo clone = GVISOR__CLONE_INFO__INIT;
	Gvisor__ExecveInfo ex = GVISOR__EXECVE_INFO__INIT;

	assert_int_equal(open_at(dec, 5, AT_FDCWD, "", "/a.so", O_RDONLY, 3), 0);
	assert_int_equal(open_at(dec, 5, AT_FDCWD, "", "/b.so", O_RDONLY | O_CLOEXEC, 4), 0);

	/* dup (clears close-on-exec) and fcntl(F_DUPFD_CLOEXEC) */
	dup.context_data = &c;
	dup.exit = &e;
	dup.old_fd = 4;
	e.result = 10;
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SYSCALL_DUP, &dup), 0);
	fc.context_data = &c;
	fc.exit = &e;
	fc.fd = 3;
	fc.cmd = F_DUPFD_CLOEXEC;
	e.result = 11;
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SYSCALL_FCNTL, &fc), 0);
	assert_int_equal(mmap_exec(dec, 5, 10), 0);
	assert_int_equal(mmap_exec(dec, 5, 11), 0);
	assert_string_equal(cap.e[0].path, "/b.so");
	assert_string_equal(cap.e[1].path, "/a.so");

	/* /proc/self/fd/N names what N is */
	assert_int_equal(open_at(dec, 5, AT_FDCWD, "", "/proc/self/fd/4", O_RDONLY, 12), 0);
	assert_int_equal(mmap_exec(dec, 5, 12), 0);
	assert_string_equal(cap.e[2].path, "/b.so");
	assert_int_equal(open_at(dec, 5, AT_FDCWD, "", "/dev/fd/4", O_RDONLY, 12), 0);
	assert_int_equal(mmap_exec(dec, 5, 12), 0);
	assert_string_equal(cap.e[3].path, "/b.so");
	cap.calls = 3;

	/* fork: the child has the parent's files */
	clone.context_data = &c;
	clone.created_thread_id = 6;
	clone.created_thread_group_id = 6;
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_CLONE, &clone), 0);
	assert_int_equal(cap.e[3].ev.kind, EVENT_FORK);
	assert_int_equal(mmap_exec(dec, 6, 3), 0);
	assert_string_equal(cap.e[4].path, "/a.so");

	/* close forgets (in the parent only) */
	cl.context_data = &c;
	cl.fd = 3;
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SYSCALL_CLOSE, &cl), 0);
	assert_int_equal(mmap_exec(dec, 5, 3), 0);
	assert_int_equal(cap.calls, 5);
	assert_int_equal(mmap_exec(dec, 6, 3), 0);
	assert_int_equal(cap.calls, 6);

	/* exec forgets the close-on-exec fds (4, 11, 12), keeps the others (10) */
	ex.context_data = &c;
	ex.binary_path = "/usr/bin/openssl";
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_EXEC, &ex), 0);
	assert_int_equal(cap.calls, 7);
	assert_int_equal(mmap_exec(dec, 5, 4), 0);
	assert_int_equal(mmap_exec(dec, 5, 11), 0);
	assert_int_equal(cap.calls, 7);
	assert_int_equal(mmap_exec(dec, 5, 10), 0);
	assert_int_equal(cap.calls, 8);

	/* memfd_create, then mmap of it */
	cap.calls = 0;
	assert_int_equal(raw(dec, 5, SYS_memfd_create, 0, 0, 0, true, 20), 0);
	assert_int_equal(mmap_exec(dec, 5, 20), 0);
	assert_int_equal(cap.calls, 1);
	assert_true(cap.e[0].ev.map.file.memfd);
	assert_string_equal(cap.e[0].path, "/memfd:");

	/* the process exits: its files are forgotten */
	{
		Gvisor__TaskExit te = GVISOR__TASK_EXIT__INIT;

		te.context_data = &c;
		assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_TASK_EXIT, &te),
				 0);
		assert_int_equal(mmap_exec(dec, 5, 10), 0);
		assert_int_equal(cap.calls, 2);
	}
	gvisor_decoder_free(dec);
}

static void test_relative_unknown_dir(void **state)
{
	struct captured cap = { 0 };
	struct gvisor_decoder *dec = gvisor_decoder_new(NS, on_event, &cap);

	/* a directory fd we know nothing of: the path is kept, marked partial */
	assert_int_equal(open_at(dec, 5, 9, "", "mod.so", O_RDONLY, 3), 0);
	assert_int_equal(mmap_exec(dec, 5, 3), 0);
	assert_string_equal(cap.e[0].path, "mod.so");
	assert_true(cap.e[0].ev.map.file.path_truncated);
	/* gVisor's "[err: ...]" fd_path is no directory */
	assert_int_equal(open_at(dec, 5, 9, "[err: FD not found]", "m2.so", O_RDONLY, 4), 0);
	assert_int_equal(mmap_exec(dec, 5, 4), 0);
	assert_string_equal(cap.e[1].path, "m2.so");
	assert_true(cap.e[1].ev.map.file.path_truncated);
	gvisor_decoder_free(dec);
}

static void test_bounds(void **state)
{
	struct captured cap = { 0 };
	struct gvisor_decoder *dec = gvisor_decoder_new(NS, on_event, &cap);
	char *longpath = malloc(GVISOR_PATH_MAX + 100);

	/* fds: the oldest goes */
	for (int fd = 0; fd < GVISOR_MAX_FDS + 2; fd++)
		assert_int_equal(open_at(dec, 5, AT_FDCWD, "", "/lib/x.so", O_RDONLY, fd), 0);
	assert_int_equal(gvisor_decoder_stats(dec)->fds_evicted, 2);
	assert_int_equal(mmap_exec(dec, 5, 0), 0);
	assert_int_equal(mmap_exec(dec, 5, 1), 0);
	assert_int_equal(cap.calls, 0);
	assert_int_equal(mmap_exec(dec, 5, GVISOR_MAX_FDS + 1), 0);
	assert_int_equal(cap.calls, 1);

	/* processes: the least recently used goes */
	for (uint32_t pid = 100; pid < 100 + GVISOR_MAX_PROCS; pid++)
		assert_int_equal(open_at(dec, pid, AT_FDCWD, "", "/p.so", O_RDONLY, 3), 0);
	assert_int_equal(gvisor_decoder_stats(dec)->procs_evicted, 1);
	assert_int_equal(mmap_exec(dec, 5, GVISOR_MAX_FDS + 1), 0); /* pid 5 went */
	assert_int_equal(cap.calls, 1);
	assert_int_equal(mmap_exec(dec, 100 + GVISOR_MAX_PROCS - 1, 3), 0);
	assert_int_equal(cap.calls, 2);

	/* a path longer than the limit is cut and marked */
	memset(longpath, 'a', GVISOR_PATH_MAX + 99);
	longpath[0] = '/';
	longpath[GVISOR_PATH_MAX + 99] = '\0';
	assert_int_equal(open_at(dec, 7, AT_FDCWD, "", longpath, O_RDONLY, 3), 0);
	assert_int_equal(mmap_exec(dec, 7, 3), 0);
	assert_int_equal(cap.calls, 3);
	assert_true(cap.e[2].ev.map.file.path_truncated);
	assert_int_equal(strlen(cap.e[2].path), GVISOR_PATH_MAX);
	assert_memory_equal(cap.e[2].path, "...aaa", 6); /* marked, never shown as whole */
	free(longpath);
	gvisor_decoder_free(dec);
}

static void test_huge_argv(void **state)
{
	struct captured cap = { 0 };
	struct gvisor_decoder *dec = gvisor_decoder_new(NS, on_event, &cap);
	Gvisor__ContextData c = ctx_of(3, 3);
	Gvisor__ExecveInfo ex = GVISOR__EXECVE_INFO__INIT;
	enum { N = 20000 };
	char **argv = calloc(N, sizeof(*argv));
	char *big = malloc(300000);

	memset(big, 'x', 299999);
	big[299999] = '\0';
	for (int i = 0; i < N; i++)
		argv[i] = i == 1 ? big : "-engine";
	ex.context_data = &c;
	ex.binary_path = big;
	ex.argv = argv;
	ex.n_argv = N;
	assert_int_equal(send_msg(dec, GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_EXEC, &ex), 0);
	assert_int_equal(cap.calls, 1);
	assert_int_equal(cap.e[0].ev.exec.argc, N);
	assert_true(cap.e[0].ev.exec.exe.path_truncated);
	assert_int_equal(strlen(cap.e[0].exe), GVISOR_PATH_MAX);
	assert_memory_equal(cap.e[0].exe, "...xxx", 6);
	free(argv);
	free(big);
	gvisor_decoder_free(dec);
}

static void test_headers(void **state)
{
	struct captured cap = { 0 };
	struct gvisor_decoder *dec = gvisor_decoder_new(NS, on_event, &cap);
	Gvisor__ContextData c = ctx_of(1, 1);
	Gvisor__TaskExit te = GVISOR__TASK_EXIT__INIT;
	uint8_t *buf;
	size_t size;

	te.context_data = &c;
	/* shorter than a header, header_size below 8 or beyond the message */
	buf = frame(GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_TASK_EXIT, &te, 8, 0, &size);
	for (size_t n = 0; n < 8; n++)
		assert_int_equal(gvisor_decode_message(dec, buf, n), -EBADMSG);
	buf[0] = 7;
	assert_int_equal(gvisor_decode_message(dec, buf, size), -EBADMSG);
	buf[0] = 0xff;
	buf[1] = 0xff;
	assert_int_equal(gvisor_decode_message(dec, buf, size), -EBADMSG);
	free(buf);
	assert_int_equal(gvisor_decoder_stats(dec)->malformed, 10);
	assert_int_equal(cap.calls, 0);

	/* a longer header (a later version): the extra bytes are skipped */
	buf = frame(GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_TASK_EXIT, &te, 24, 0, &size);
	memset(buf + 8, 0xee, 16);
	assert_int_equal(gvisor_decode_message(dec, buf, size), 0);
	assert_int_equal(cap.calls, 1);
	free(buf);

	/* an empty payload is a valid, empty message: no context, no event */
	buf = frame(GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_TASK_EXIT, NULL, 8, 0, &size);
	assert_int_equal(gvisor_decode_message(dec, buf, size), 0);
	assert_int_equal(cap.calls, 1);
	assert_int_equal(gvisor_decoder_stats(dec)->no_context, 1);
	free(buf);

	/* types sowatch does not decode: counted, skipped */
	buf = frame(GVISOR__MESSAGE_TYPE__MESSAGE_SYSCALL_READ, &te, 8, 0, &size);
	assert_int_equal(gvisor_decode_message(dec, buf, size), -ENOMSG);
	free(buf);
	buf = frame(0, &te, 8, 0, &size);
	assert_int_equal(gvisor_decode_message(dec, buf, size), -ENOMSG);
	free(buf);
	buf = frame(60000, &te, 8, 0, &size);
	assert_int_equal(gvisor_decode_message(dec, buf, size), -ENOMSG);
	free(buf);
	assert_int_equal(gvisor_decoder_stats(dec)->unknown_type, 3);
	gvisor_decoder_free(dec);
}

static void test_dropped_count(void **state)
{
	struct captured cap = { 0 };
	struct gvisor_decoder *dec = gvisor_decoder_new(NS, on_event, &cap);
	uint32_t seq[] = { 0, 5, 5, 12, 0xfffffff0u, 3 };
	uint64_t told = 0;
	uint8_t *buf;
	size_t size;

	/* the header carries the sandbox's running total, which wraps */
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		buf = frame(GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_TASK_EXIT, NULL, 8, seq[i], &size);
		gvisor_decode_message(dec, buf, size);
		free(buf);
	}
	assert_true(gvisor_decoder_stats(dec)->dropped_by_gvisor == 0xfffffff0ull + 16 + 3);
	/* Each growth is told as an event too (the pipeline stamps findings with it) */
	assert_int_equal(cap.calls, 4); /* 0->5, 5->12, 12->0xfffffff0, wrap to 3 */
	for (int i = 0; i < cap.calls; i++) {
		assert_int_equal(cap.e[i].ev.kind, EVENT_DROPPED);
		assert_true(cap.e[i].ev.ns == NS);
		told += cap.e[i].ev.dropped.count;
	}
	assert_true(told == 0xfffffff0ull + 16 + 3);
	gvisor_decoder_free(dec);
}

static void test_truncated_and_garbage(void **state)
{
	struct captured cap = { 0 };
	struct gvisor_decoder *dec = gvisor_decoder_new(NS, on_event, &cap);
	Gvisor__ContextData c = ctx_of(7, 7);
	Gvisor__ExecveInfo ex = GVISOR__EXECVE_INFO__INIT;
	char *argv[] = { "openssl", "version" };
	static const uint8_t garbage[] = { 8, 0, 3, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f };
	uint8_t *buf;
	size_t size;
	int ok = 0, bad = 0;

	ex.context_data = &c;
	ex.binary_path = "/usr/bin/openssl";
	ex.argv = argv;
	ex.n_argv = 2;
	buf = frame(GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_EXEC, &ex, 8, 0, &size);
	/* every cut: either a valid shorter message or refused; never a read past the end */
	for (size_t n = 8; n < size; n++) {
		uint8_t *cut = malloc(n);
		int err;

		memcpy(cut, buf, n);
		err = gvisor_decode_message(dec, cut, n);
		assert_true(err == 0 || err == -EBADMSG);
		err ? bad++ : ok++;
		free(cut);
	}
	assert_true(bad > 0);
	assert_int_equal(ok + bad, size - 8);
	free(buf);
	assert_int_equal(gvisor_decode_message(dec, garbage, sizeof(garbage)), -EBADMSG);
	/* a string field with the wire type of an integer */
	{
		static const uint8_t wrong_type[] = { 8, 0, 3, 0, 0, 0, 0, 0, 0x10, 0x01 };

		assert_int_equal(gvisor_decode_message(dec, wrong_type, sizeof(wrong_type)),
				 -EBADMSG);
	}
	gvisor_decoder_free(dec);
}

static void test_handshake(void **state)
{
	uint8_t buf[16];
	uint32_t version = 0;
	int len = gvisor_encode_handshake(buf, sizeof(buf));

	assert_true(len > 0);
	assert_int_equal(gvisor_decode_handshake(buf, len, &version), 0);
	assert_int_equal(version, GVISOR_WIRE_VERSION);
	/* what runsc 20221219 sends: Handshake{version: 1} */
	assert_int_equal(gvisor_decode_handshake((const uint8_t[]){ 0x08, 0x01 }, 2, &version), 0);
	assert_int_equal(version, 1);
	assert_int_equal(gvisor_decode_handshake((const uint8_t[]){ 0x08 }, 1, &version), -EBADMSG);
	assert_int_equal(gvisor_encode_handshake(buf, 1), -ENOSPC);
}

/* ---- The socket, with a fake sandbox ----------------------------------------------------- */

static int sandbox_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

static void poll_all(struct gvisor_source *src)
{
	for (int i = 0; i < 20; i++)
		gvisor_source_poll(src, 10);
}

static void test_source_socket(void **state)
{
	char dir[] = "/tmp/sowatch-gvisor-XXXXXX", path[100];
	struct captured cap = { 0 };
	struct gvisor_source *src;
	struct gvisor_stats st;
	const char *error = NULL;
	struct stat sb;
	uint8_t reply[64], *buf;
	size_t size;
	int a, b, g, sndbuf, oversize;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run/sock", dir);
	assert_int_equal(gvisor_source_open(&src, path, on_event, &cap, &error), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/run", dir);
	assert_int_equal(stat(path, &sb), 0);
	snprintf(path, sizeof(path), "%s/run/sock", dir);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_true(gvisor_source_fd(src) >= 0);

	/* a second one on the same path is refused */
	{
		struct gvisor_source *other;

		assert_int_equal(gvisor_source_open(&other, path, on_event, &cap, &error),
				 -EADDRINUSE);
	}

	/* two sandboxes at once: handshake, then a message each */
	a = sandbox_connect(path);
	b = sandbox_connect(path);
	assert_int_equal(send(a, "\x08\x01", 2, 0), 2);
	assert_int_equal(send(b, "\x08\x02", 2, 0), 2);
	poll_all(src);
	assert_int_equal(recv(a, reply, sizeof(reply), MSG_DONTWAIT), 2);
	assert_memory_equal(reply, "\x08\x01", 2);
	assert_int_equal(recv(b, reply, sizeof(reply), MSG_DONTWAIT), 2);
	{
		Gvisor__ContextData c = ctx_of(1, 1);
		Gvisor__TaskExit te = GVISOR__TASK_EXIT__INIT;

		te.context_data = &c;
		buf = frame(GVISOR__MESSAGE_TYPE__MESSAGE_SENTRY_TASK_EXIT, &te, 8, 3, &size);
		assert_int_equal(send(a, buf, size, 0), (ssize_t)size);
		assert_int_equal(send(b, buf, size, 0), (ssize_t)size);
		free(buf);
	}
	poll_all(src);
	/* per sandbox: its drops (told first), then its exit */
	assert_int_equal(cap.calls, 4);
	assert_int_equal(cap.e[0].ev.kind, EVENT_DROPPED);
	assert_int_equal(cap.e[0].ev.dropped.count, 3);
	assert_int_equal(cap.e[1].ev.kind, EVENT_EXIT);
	assert_int_equal(cap.e[2].ev.kind, EVENT_DROPPED);
	assert_int_equal(cap.e[3].ev.kind, EVENT_EXIT);
	/* each sandbox its own pid space */
	assert_true(cap.e[1].ev.ns != cap.e[3].ev.ns);
	assert_true(cap.e[1].ev.ns >> 63);

	/*
	 * A garbage handshake, and an oversized message: closed, the others unharmed. A message
	 * can only outgrow the limit if the sender's buffer is bigger (SO_SNDBUFFORCE: root).
	 */
	g = sandbox_connect(path);
	assert_int_equal(send(g, "\xff\xff\xff", 3, 0), 3);
	sndbuf = 4 * GVISOR_MESSAGE_MAX;
	oversize = setsockopt(b, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) == 0;
	if (oversize) {
		buf = calloc(1, GVISOR_MESSAGE_MAX + 100);
		buf[0] = 8;
		assert_int_equal(send(b, buf, GVISOR_MESSAGE_MAX + 100, 0),
				 GVISOR_MESSAGE_MAX + 100);
		free(buf);
	}
	poll_all(src);
	assert_int_equal(recv(g, reply, sizeof(reply), 0), 0); /* EOF: closed */
	if (oversize)
		assert_int_equal(recv(b, reply, sizeof(reply), 0), 0);
	close(g);
	close(b);

	/* a disconnect */
	close(a);
	poll_all(src);
	gvisor_source_stats(src, &st);
	assert_int_equal(st.connected, 2);
	assert_int_equal(st.disconnected, 2);
	assert_int_equal(st.rejected, 1 + oversize);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.dropped_by_gvisor, 6);
	assert_int_equal(st.oversized, oversize);

	gvisor_source_close(src);
	assert_int_equal(stat(path, &sb), -1);
	/* a stale socket is replaced */
	{
		struct sockaddr_un addr = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

		snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
		assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
		close(fd);
	}
	assert_int_equal(gvisor_source_open(&src, path, on_event, &cap, &error), 0);
	gvisor_source_close(src);
	/* a file that is not a socket is refused and left where it is */
	close(open(path, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(gvisor_source_open(&src, path, on_event, &cap, &error), -EPERM);
	assert_non_null(strstr(error, "run/sock is not a socket"));
	assert_int_equal(stat(path, &sb), 0);
	unlink(path);
	/* so is a symbolic link, even to a socket */
	{
		char target[100];

		snprintf(target, sizeof(target), "%s/run/other", dir);
		assert_int_equal(symlink(target, path), 0);
		assert_int_equal(gvisor_source_open(&src, path, on_event, &cap, &error), -EPERM);
		assert_non_null(strstr(error, "run/sock is a symbolic link"));
		assert_int_equal(lstat(path, &sb), 0);
		unlink(path);
	}
	/* a directory others can write, sticky bit or not */
	snprintf(path, sizeof(path), "%s/run", dir);
	assert_int_equal(chmod(path, 01777), 0);
	snprintf(path, sizeof(path), "%s/run/sock", dir);
	assert_int_equal(gvisor_source_open(&src, path, on_event, &cap, &error), -EPERM);
	assert_non_null(strstr(error, "/run is writable by others (mode 1777)"));
	snprintf(path, sizeof(path), "%s/run", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_start),
		cmocka_unit_test(test_container_root_and_cloud_run),
		cmocka_unit_test(test_clone_exec_exit),
		cmocka_unit_test(test_open_then_mmap),
		cmocka_unit_test(test_fd_lifecycle),
		cmocka_unit_test(test_relative_unknown_dir),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_huge_argv),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_dropped_count),
		cmocka_unit_test(test_truncated_and_garbage),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_source_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
