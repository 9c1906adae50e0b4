// SPDX-License-Identifier: Apache-2.0
/* Ring-buffer records as the kernel writes them, and records no kernel should write. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "sources/ebpf_decode.h"
#include "sowatch_events.h"

struct captured {
	int calls;
	struct event ev;
	char strings[16][256]; /* copies: the event's pointers die with the call */
	size_t n;
	char exe[256], cwd[256], map_path[256], name[256];
	size_t map_path_len;
	char map_path_tail[64]; /* the end of a long one */
};

static void keep(char *dst, const char *src)
{
	snprintf(dst, 256, "%s", src ? src : "(null)");
}

static void on_event(const struct event *ev, void *ctx)
{
	struct captured *c = ctx;

	c->calls++;
	c->ev = *ev;
	if (ev->kind == EVENT_EXEC) {
		keep(c->exe, ev->exec.exe.path);
		keep(c->cwd, ev->exec.cwd);
		c->n = 0;
		for (size_t i = 0; i < ev->exec.argc && c->n < 16; i++)
			keep(c->strings[c->n++], ev->exec.argv[i]);
		for (size_t i = 0; i < ev->exec.envc && c->n < 16; i++)
			keep(c->strings[c->n++], ev->exec.env[i]);
	} else if (ev->kind == EVENT_MAP || ev->kind == EVENT_LIBCRYPTO_MAPPED) {
		keep(c->map_path, ev->map.file.path);
		c->map_path_len = ev->map.file.path ? strlen(ev->map.file.path) : 0;
		if (c->map_path_len >= sizeof(c->map_path_tail))
			keep(c->map_path_tail,
			     ev->map.file.path + c->map_path_len - (sizeof(c->map_path_tail) - 1));
	} else if (ev->kind == EVENT_MODULE_LOAD) {
		keep(c->name, ev->module_load.name);
	}
}

static struct sw_exec_event *exec_record(const char *argv, size_t argv_len, const char *env,
					 size_t env_len, const char *exe, size_t exe_len,
					 const char *cwd, size_t cwd_len)
{
	struct sw_exec_event *e = calloc(1, sizeof(*e));
	uint8_t *p = e->data;

	e->hdr.kind = SW_EVENT_EXEC;
	e->hdr.size = sizeof(*e);
	e->hdr.tgid = 4242;
	e->hdr.tid = 4242;
	e->ppid = 1;
	e->exe.ino = 77;
	e->exe.dev = (8 << 20) | 1;
	e->exe.nlink = 1;
	memcpy(e->comm, "openssl", 8);
	memcpy(p, argv, argv_len);
	memcpy(p += argv_len, env, env_len);
	memcpy(p += env_len, exe, exe_len);
	memcpy(p += exe_len, cwd, cwd_len);
	e->argv_len = argv_len;
	e->env_len = env_len;
	e->exe.path_len = exe_len;
	e->cwd_len = cwd_len;
	return e;
}

#define S(lit) lit, sizeof(lit) - 1

static void test_exec(void **state)
{
	struct captured c = { 0 };
	struct ebpf_decoder dec = { .on_event = on_event, .ctx = &c };
	struct sw_exec_event *e =
	    exec_record(S("openssl\0engine\0-t\0/x.so\0"), S("A=1\0OPENSSL_CONF=/c.cnf\0B=2\0"),
			S("openssl\0bin\0usr\0"), S("work\0tmp\0"));

	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.ev.kind, EVENT_EXEC);
	assert_int_equal(c.ev.pid, 4242);
	assert_string_equal(c.exe, "/usr/bin/openssl");
	assert_true(c.ev.exec.exe.dev == makedev(8, 1));
	assert_string_equal(c.cwd, "/tmp/work");
	assert_int_equal(c.ev.exec.argc, 4);
	assert_string_equal(c.strings[0], "openssl");
	assert_string_equal(c.strings[3], "/x.so");
	/* only the variables of interest are passed on */
	assert_int_equal(c.ev.exec.envc, 1);
	assert_string_equal(c.strings[4], "OPENSSL_CONF=/c.cnf");
	free(e);
}

static void test_exec_cut_argument(void **state)
{
	struct captured c = { 0 };
	struct ebpf_decoder dec = { .on_event = on_event, .ctx = &c };
	/* the capture limit cut the last argument: no NUL after it */
	struct sw_exec_event *e = exec_record(S("openssl\0AAAA"), S(""), S(""), S(""));

	e->flags = SW_EXEC_ARGV_TRUNCATED;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_int_equal(c.ev.exec.argc, 2);
	assert_string_equal(c.strings[1], "AAAA");
	assert_true(c.ev.exec.argv_truncated);
	assert_string_equal(c.exe, "/"); /* an empty component list is the root */
	free(e);
}

/* The kernel sends an exec record only up to the end of its last region. */
static void test_exec_record_ends_with_its_data(void **state)
{
	struct captured c = { 0 };
	struct ebpf_decoder dec = { .on_event = on_event, .ctx = &c };
	struct sw_exec_event *e = exec_record(S("openssl\0version\0"), S("OPENSSL_CONF=/c\0"),
					      S("openssl\0bin\0"), S("tmp\0"));
	size_t used = offsetof(struct sw_exec_event, data) + e->argv_len + e->env_len +
		      e->exe.path_len + e->cwd_len;

	assert_int_equal(ebpf_decode_record(&dec, e, used), 0);
	assert_int_equal(c.calls, 1);
	assert_string_equal(c.exe, "/bin/openssl");
	assert_string_equal(c.cwd, "/tmp");
	assert_int_equal(c.ev.exec.argc, 2);
	/* one byte short of what the lengths claim: refused, nothing read past the record */
	assert_int_equal(ebpf_decode_record(&dec, e, used - 1), -EBADMSG);
	assert_int_equal(ebpf_decode_record(&dec, e, offsetof(struct sw_exec_event, data)),
			 -EBADMSG);
	assert_int_equal(c.calls, 1);
	free(e);
}

static void test_malformed_records(void **state)
{
	struct captured c = { 0 };
	struct ebpf_decoder dec = { .on_event = on_event, .ctx = &c };
	struct sw_exec_event *e = exec_record(S("a\0"), S(""), S(""), S(""));
	struct sw_event_header hdr = { .kind = SW_EVENT_EXEC };

	assert_int_equal(ebpf_decode_record(&dec, &hdr, sizeof(hdr)), -EBADMSG);
	assert_int_equal(ebpf_decode_record(&dec, e, 3), -EBADMSG);
	e->hdr.kind = 0;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), -EBADMSG);
	e->hdr.kind = SW_EVENT_KIND_MAX;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), -EBADMSG);
	e->hdr.kind = SW_EVENT_EXEC;
	e->argv_len = SW_ARGV_MAX;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), -EBADMSG);
	e->argv_len = SW_ARGV_MAX - 1;
	e->env_len = SW_ENV_MAX - 1;
	e->exe.path_len = SW_PATH_MAX + 1;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), -EBADMSG);
	e->exe.path_len = SW_PATH_MAX;
	e->cwd_len = 0xffff;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), -EBADMSG);
	assert_int_equal(c.calls, 0);
	assert_int_equal(dec.malformed, 7);
	free(e);
}

static void test_map_memfd_and_deleted(void **state)
{
	struct captured c = { 0 };
	struct ebpf_decoder dec = { .on_event = on_event, .ctx = &c };
	struct sw_map_event *e = calloc(1, sizeof(*e));

	e->hdr.kind = SW_EVENT_MAP;
	e->file.fs_magic = 0x01021994; /* tmpfs */
	e->file.nlink = 0;
	e->file.path_flags = SW_PATH_UNREACHABLE;
	memcpy(e->data, "memfd:evil", 11);
	e->file.path_len = 11;
	e->flags = SW_MAP_IN_DSO_LOAD;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_string_equal(c.map_path, "/memfd:evil"); /* a pseudo file's name is whole */
	assert_false(c.ev.map.file.path_truncated);
	assert_true(c.ev.map.file.path_unreachable);
	assert_true(c.ev.map.file.memfd);
	assert_false(c.ev.map.file.deleted);
	assert_true(c.ev.map.in_module_load);

	e->file.fs_magic = 0xef53; /* ext4 */
	e->file.path_flags = 0;
	memcpy(e->data, "m.so\0tmp\0", 9);
	e->file.path_len = 9;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_string_equal(c.map_path, "/tmp/m.so");
	assert_false(c.ev.map.file.memfd);
	assert_true(c.ev.map.file.deleted);

	e->file.path_len = SW_PATH_MAX + 1;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), -EBADMSG);
	free(e);
}

/* A kill comes with the kernel's judgement, in words, and the directory it judged. */
static void test_map_killed(void **state)
{
	struct captured c = { 0 };
	struct ebpf_decoder dec = { .on_event = on_event, .ctx = &c };
	struct sw_map_event *e = calloc(1, sizeof(*e));

	e->hdr.kind = SW_EVENT_MAP;
	e->file.nlink = 1;
	memcpy(e->data, "afalg.so\0x\0tmp\0", 16);
	e->file.path_len = 16;
	e->flags = SW_MAP_IN_DSO_LOAD | SW_MAP_DSO_MODULE;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_false(c.ev.map.kill.killed);
	assert_null(c.ev.map.kill.reason);

	e->flags |= SW_MAP_KILLED;
	e->kill_reason = SW_KILL_DIR_NOT_TRUSTED;
	e->dir_dev = 8 << 20 | 1;
	e->dir_ino = 4242;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_true(c.ev.map.kill.killed);
	assert_false(c.ev.map.kill.added_library);
	assert_non_null(strstr(c.ev.map.kill.reason, "not one of the trusted directories"));
	assert_int_equal(c.ev.map.kill.dir_dev, makedev(8, 1));
	assert_int_equal(c.ev.map.kill.dir_ino, 4242);

	e->kill_reason = SW_KILL_ADDED_LIBRARY;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_true(c.ev.map.kill.added_library);

	/* not killed: judged and found trusted, or in scope but not judged */
	e->flags = SW_MAP_IN_DSO_LOAD | SW_MAP_ENFORCE_SCOPE | SW_MAP_ENFORCE_JUDGED;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_false(c.ev.map.kill.killed);
	assert_non_null(strstr(c.ev.map.kill.not_possible, "found nothing wrong"));
	e->flags = SW_MAP_ENFORCE_SCOPE;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_non_null(strstr(c.ev.map.kill.not_possible, "acts only inside those"));
	e->flags = 0; /* out of scope (enforce.where), or enforce mode off: nothing said */
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_null(c.ev.map.kill.not_possible);
	/* killed for an added library, outside OpenSSL's doing: a kill, nothing more */
	e->flags = SW_MAP_ENFORCE_SCOPE | SW_MAP_KILLED;
	e->kill_reason = SW_KILL_ADDED_LIBRARY;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_true(c.ev.map.kill.killed);
	assert_null(c.ev.map.kill.not_possible);
	/* judged untrusted, but the signal could not be sent: not possible, and why */
	e->flags = SW_MAP_ENFORCE_SCOPE | SW_MAP_ENFORCE_JUDGED | SW_MAP_KILL_FAILED;
	e->kill_reason = SW_KILL_WRITABLE;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_false(c.ev.map.kill.killed);
	assert_non_null(strstr(c.ev.map.kill.not_possible, "could not send"));
	assert_non_null(strstr(c.ev.map.kill.reason, "writable"));
	e->flags = SW_MAP_KILLED;

	/* a reason from a newer BPF object is still a kill, said as unknown */
	e->kill_reason = 0xdead;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_true(c.ev.map.kill.killed);
	assert_non_null(strstr(c.ev.map.kill.reason, "does not know"));
	free(e);
}

/*
 * A path the kernel could not walk to its root (deeper than SW_PATH_DEPTH components, or
 * longer than the walk's room) is flagged and marked, never shown as a whole absolute path.
 */
static void test_truncated_paths(void **state)
{
	struct captured c = { 0 };
	struct ebpf_decoder dec = { .on_event = on_event, .ctx = &c };
	struct sw_map_event *m = calloc(1, sizeof(*m));
	struct sw_exec_event *e =
	    exec_record(S("openssl\0"), S(""), S("openssl\0bin\0"), S("tmp\0"));
	size_t off = 0;

	m->hdr.kind = SW_EVENT_MAP;
	m->file.nlink = 1;
	m->file.path_flags = SW_PATH_TRUNCATED;
	memcpy(m->data, "x.so\0c\0b\0", 9);
	m->file.path_len = 9;
	assert_int_equal(ebpf_decode_record(&dec, m, sizeof(*m)), 0);
	assert_string_equal(c.map_path, ".../b/c/x.so");
	assert_true(c.ev.map.file.path_truncated);
	assert_false(c.ev.map.file.path_unreachable);

	/* as the kernel sends a deep one: SW_PATH_DEPTH components filling the room */
	for (int i = 0; i < SW_PATH_DEPTH; i++) {
		size_t len = i == 0 ? 4 : 55;

		if (i == 0)
			memcpy(m->data, "m.so", len);
		else
			memset(m->data + off, 'd', len);
		m->data[off + len] = '\0';
		off += len + 1;
	}
	m->file.path_len = off;
	assert_int_equal(ebpf_decode_record(&dec, m, sizeof(*m)), 0);
	assert_int_equal(c.map_path_len, strlen(PATH_TRUNCATED_MARK) + off);
	assert_memory_equal(c.map_path, ".../ddd", 7);
	assert_string_equal(c.map_path_tail + sizeof(c.map_path_tail) - 1 - 7, "dd/m.so");
	assert_true(c.ev.map.file.path_truncated);

	/* not cut: as it was */
	m->file.path_flags = 0;
	assert_int_equal(ebpf_decode_record(&dec, m, sizeof(*m)), 0);
	assert_int_equal(c.map_path_len, off);
	assert_memory_equal(c.map_path, "/ddd", 4);
	assert_false(c.ev.map.file.path_truncated);

	/* the program's own path */
	e->exe.path_flags = SW_PATH_TRUNCATED;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_string_equal(c.exe, ".../bin/openssl");
	assert_true(c.ev.exec.exe.path_truncated);
	free(m);
	free(e);
}

static void test_libcrypto_mapped(void **state)
{
	struct captured c = { 0 };
	struct ebpf_decoder dec = { .on_event = on_event, .ctx = &c };
	struct sw_map_event *e = calloc(1, sizeof(*e));

	e->hdr.kind = SW_EVENT_LIBCRYPTO_MAPPED;
	e->file.real_dev = 8 << 20 | 1;
	e->file.real_ino = 4242;
	memcpy(e->data, "libcrypto.so.3\0lib\0opt\0", 23);
	e->file.path_len = 23;
	e->vm_start = 0x7f0000000000;
	e->vm_end = 0x7f0000100000;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_int_equal(c.ev.kind, EVENT_LIBCRYPTO_MAPPED);
	assert_string_equal(c.map_path, "/opt/lib/libcrypto.so.3");
	assert_int_equal(major(c.ev.map.file.real_dev), 8);
	assert_int_equal(minor(c.ev.map.file.real_dev), 1);
	assert_int_equal(c.ev.map.file.real_ino, 4242);
	assert_int_equal(c.ev.map.start, 0x7f0000000000);
	e->file.path_len = SW_PATH_MAX + 1;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), -EBADMSG);
	free(e);
}

static void test_dso_load_names(void **state)
{
	struct captured c = { 0 };
	struct ebpf_decoder dec = { .on_event = on_event, .ctx = &c };
	struct sw_dso_load_event *e = calloc(1, sizeof(*e));

	e->hdr.kind = SW_EVENT_DSO_LOAD;
	memcpy(e->data, "./m.so", 7);
	e->name_len = 7;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_string_equal(c.name, "./m.so");
	e->name_len = 0; /* unreadable name */
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_string_equal(c.name, "");
	memset(e->data, 'A', SW_DSO_NAME_MAX); /* no NUL at all */
	e->name_len = SW_DSO_NAME_MAX;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), 0);
	assert_int_equal(strlen(c.name), 255); /* our copy, cut by keep() */
	e->name_len = SW_DSO_NAME_MAX + 1;
	assert_int_equal(ebpf_decode_record(&dec, e, sizeof(*e)), -EBADMSG);
	free(e);
}

/* Every kind of event hands on the drops its header carries, so findings can count them. */
static void test_drops_before_every_kind(void **state)
{
	struct captured c = { 0 };
	struct ebpf_decoder dec = { .on_event = on_event, .ctx = &c };
	struct sw_exit_event *exit_e = calloc(1, sizeof(*exit_e));
	struct sw_exec_event *exec_e =
	    exec_record(S("openssl\0"), S(""), S("openssl\0bin\0"), S("tmp\0"));

	exec_e->hdr.drops_before = 151610;
	assert_int_equal(ebpf_decode_record(&dec, exec_e, sizeof(*exec_e)), 0);
	assert_int_equal(c.ev.drops_before, 151610);
	exit_e->hdr.kind = SW_EVENT_EXIT;
	exit_e->hdr.drops_before = 7;
	assert_int_equal(ebpf_decode_record(&dec, exit_e, sizeof(*exit_e)), 0);
	assert_int_equal(c.ev.kind, EVENT_EXIT);
	assert_int_equal(c.ev.drops_before, 7);
	free(exit_e);
	free(exec_e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_exec_cut_argument),
		cmocka_unit_test(test_exec_record_ends_with_its_data),
		cmocka_unit_test(test_malformed_records),
		cmocka_unit_test(test_map_memfd_and_deleted),
		cmocka_unit_test(test_map_killed),
		cmocka_unit_test(test_truncated_paths),
		cmocka_unit_test(test_libcrypto_mapped),
		cmocka_unit_test(test_dso_load_names),
		cmocka_unit_test(test_drops_before_every_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
