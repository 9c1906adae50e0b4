// SPDX-License-Identifier: Apache-2.0
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/safe_path.h"

/* A uid and gid nobody on the test machine is: only used as root, with chown. */
#define OTHER_ID 64999

struct fixture {
	char dir[64]; /* mkdtemp: ours, 0700, under /tmp (root's, sticky) */
	char path[PATH_MAX + 64];
	struct safe_path sp;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/sowatch-test-safe-path.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->sp.dir_fd = -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[PATH_MAX + 32];

	safe_path_close(&fx->sp);
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", fx->dir, fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* fx->dir + "/" + the formatted rest, in fx->path: one at a time. */
static const char *at(struct fixture *fx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *at(struct fixture *fx, const char *fmt, ...)
{
	char rest[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, rest);
	return fx->path;
}

static void write_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "planted\n", 8), 8);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void expect_refused(struct fixture *fx, int err, const char *reason)
{
	assert_int_equal(err, -EPERM);
	if (!strstr(fx->sp.error, reason))
		fail_msg("error '%s' does not say '%s'", fx->sp.error, reason);
	assert_non_null(strstr(fx->sp.error, "refusing the output "));
	assert_null(strchr(fx->sp.error, '\n'));
}

static void test_creates_file_in_own_directory(void **state)
{
	struct fixture *fx = *state;
	struct stat st;
	int fd;

	assert_int_equal(safe_path_open(&fx->sp, at(fx, "out.jsonl"), "the output", 0), 0);
	assert_string_equal(fx->sp.dir, fx->dir);
	assert_string_equal(fx->sp.name, "out.jsonl");
	assert_string_equal(fx->sp.path, at(fx, "out.jsonl"));
	assert_int_equal(safe_path_check_entry(&fx->sp, "out.jsonl", S_IFREG, NULL), -ENOENT);
	fd = safe_path_open_file(&fx->sp, O_WRONLY | O_CREAT | O_APPEND, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	assert_int_equal(safe_path_check_entry(&fx->sp, "out.jsonl", S_IFREG, NULL), 0);
}

static void test_symlink_at_the_end_refused(void **state)
{
	struct fixture *fx = *state;
	char target[PATH_MAX + 64];
	struct stat before, after;

	snprintf(target, sizeof(target), "%s", at(fx, "target"));
	write_file(target, 0600);
	assert_int_equal(stat(target, &before), 0);
	assert_int_equal(symlink(target, at(fx, "out.jsonl")), 0);

	assert_int_equal(safe_path_open(&fx->sp, at(fx, "out.jsonl"), "the output", 0), 0);
	expect_refused(fx, safe_path_check_entry(&fx->sp, "out.jsonl", S_IFREG, NULL),
		       "out.jsonl is a symbolic link");
	expect_refused(fx, safe_path_open_file(&fx->sp, O_WRONLY | O_CREAT | O_APPEND, 0600),
		       "out.jsonl is a symbolic link");
	assert_int_equal(stat(target, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
}

static void test_writable_file_refused(void **state)
{
	struct fixture *fx = *state;

	write_file(at(fx, "out.jsonl"), 0666);
	assert_int_equal(safe_path_open(&fx->sp, at(fx, "out.jsonl"), "the output", 0), 0);
	expect_refused(fx, safe_path_open_file(&fx->sp, O_WRONLY | O_APPEND, 0),
		       "out.jsonl is writable by others (mode 0666)");
	assert_int_equal(chmod(at(fx, "out.jsonl"), 0620), 0);
	expect_refused(fx, safe_path_open_file(&fx->sp, O_WRONLY | O_APPEND, 0),
		       "is writable by its group (mode 0620)");
	assert_int_equal(chmod(at(fx, "out.jsonl"), 0644), 0);
	assert_int_equal(safe_path_check_entry(&fx->sp, "out.jsonl", S_IFREG, NULL), 0);
	expect_refused(fx, safe_path_check_entry(&fx->sp, "out.jsonl", S_IFSOCK, NULL),
		       "out.jsonl is not a socket");
}

static void test_fifo_refused_without_blocking(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(mkfifo(at(fx, "out.jsonl"), 0600), 0);
	assert_int_equal(safe_path_open(&fx->sp, at(fx, "out.jsonl"), "the output", 0), 0);
	/* No reader: O_NONBLOCK makes the open fail at once (ENXIO) instead of waiting. */
	assert_true(safe_path_open_file(&fx->sp, O_WRONLY | O_APPEND, 0) < 0);
	assert_int_equal(safe_path_open_file(&fx->sp, O_RDONLY, 0), -EPERM);
	assert_non_null(strstr(fx->sp.error, "is not a regular file"));
}

/* /dev/null and the like, only with SAFE_PATH_ALLOW_DEVICE, whatever their mode. */
static void test_device(void **state)
{
	struct fixture *fx = *state;
	int fd;

	assert_int_equal(safe_path_open(&fx->sp, "/dev/null", "the output", 0), 0);
	assert_int_equal(safe_path_open_file(&fx->sp, O_WRONLY | O_APPEND, 0), -EPERM);
	assert_non_null(strstr(fx->sp.error, "/dev/null is not a regular file"));
	safe_path_close(&fx->sp);
	assert_int_equal(safe_path_open(&fx->sp, "/dev/null", "the output", SAFE_PATH_ALLOW_DEVICE),
			 0);
	fd = safe_path_open_file(&fx->sp, O_WRONLY | O_APPEND, 0);
	assert_true(fd >= 0);
	close(fd);
}

static void test_directory_modes(void **state)
{
	struct fixture *fx = *state;
	char mode[16];

	assert_int_equal(mkdir(at(fx, "open"), 0700), 0);
	assert_int_equal(chmod(at(fx, "open"), 0777), 0);
	expect_refused(fx, safe_path_open(&fx->sp, at(fx, "open/out.jsonl"), "the output", 0),
		       "/open is writable by others (mode 0777) without the sticky bit");
	assert_int_equal(fx->sp.dir_fd, -1);

	assert_int_equal(chmod(at(fx, "open"), 0770), 0);
	expect_refused(fx, safe_path_open(&fx->sp, at(fx, "open/out.jsonl"), "the output", 0),
		       "/open is writable by its group (mode 0770) without the sticky bit");

	/* Sticky, as /tmp: others cannot replace what is ours, but can add names. */
	assert_int_equal(chmod(at(fx, "open"), 01777), 0);
	assert_int_equal(safe_path_open(&fx->sp, at(fx, "open/out.jsonl"), "the output", 0), 0);
	safe_path_close(&fx->sp);
	expect_refused(
	    fx,
	    safe_path_open(&fx->sp, at(fx, "open/out.sock"), "the output", SAFE_PATH_PRIVATE_DIR),
	    "/open is writable by others (mode 1777)");
	snprintf(mode, sizeof(mode), "%s", "sticky bit");
	assert_null(strstr(fx->sp.error, mode));

	/* Only the last directory has to be private */
	assert_int_equal(chmod(at(fx, "open"), 01777), 0);
	assert_int_equal(mkdir(at(fx, "open/private"), 0700), 0);
	assert_int_equal(safe_path_open(&fx->sp, at(fx, "open/private/out.sock"), "the output",
					SAFE_PATH_PRIVATE_DIR),
			 0);
}

static void test_mkdir_and_dot_dot(void **state)
{
	struct fixture *fx = *state;
	struct stat st;
	char want[PATH_MAX + 64];

	assert_int_equal(safe_path_open(&fx->sp, at(fx, "a/b/c/out.db"), "the output", 0), -ENOENT);
	assert_non_null(strstr(fx->sp.error, "cannot use the output"));
	assert_int_equal(
	    safe_path_open(&fx->sp, at(fx, "a/b/c/out.db"), "the output", SAFE_PATH_MKDIR), 0);
	assert_string_equal(fx->sp.dir, at(fx, "a/b/c"));
	assert_int_equal(stat(at(fx, "a/b"), &st), 0);
	assert_int_equal(st.st_mode & 0077, 0);
	safe_path_close(&fx->sp);

	snprintf(want, sizeof(want), "%s", at(fx, "a/out.db"));
	assert_int_equal(safe_path_open(&fx->sp, at(fx, "a/b/./c/../../out.db"), "the output", 0),
			 0);
	assert_string_equal(fx->sp.path, want);
	safe_path_close(&fx->sp);

	assert_int_equal(safe_path_open(&fx->sp, at(fx, "a/"), "the output", 0), -EISDIR);
	assert_int_equal(safe_path_open(&fx->sp, at(fx, "a/.."), "the output", 0), -EISDIR);
	write_file(at(fx, "file"), 0600);
	assert_int_equal(safe_path_open(&fx->sp, at(fx, "file/out.db"), "the output", 0), -ENOTDIR);
}

static void test_relative_path(void **state)
{
	struct fixture *fx = *state;
	char cwd[PATH_MAX];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(mkdir(at(fx, "sub"), 0700), 0);
	assert_int_equal(chdir(fx->dir), 0);
	assert_int_equal(safe_path_open(&fx->sp, "sub/out.db", "the output", 0), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(fx->sp.dir, at(fx, "sub"));
	assert_string_equal(fx->sp.given, "sub/out.db");
}

/* A link of ours on the way is followed, and the directories it leads to are checked. */
static void test_symlinked_directory(void **state)
{
	struct fixture *fx = *state;
	char target[PATH_MAX + 64];

	assert_int_equal(mkdir(at(fx, "real"), 0700), 0);
	assert_int_equal(symlink("real", at(fx, "link")), 0);
	assert_int_equal(safe_path_open(&fx->sp, at(fx, "link/out.db"), "the output", 0), 0);
	assert_string_equal(fx->sp.dir, at(fx, "real"));
	safe_path_close(&fx->sp);

	assert_int_equal(mkdir(at(fx, "open"), 0700), 0);
	assert_int_equal(chmod(at(fx, "open"), 0777), 0);
	snprintf(target, sizeof(target), "%s", at(fx, "open"));
	assert_int_equal(symlink(target, at(fx, "abs-link")), 0);
	expect_refused(fx, safe_path_open(&fx->sp, at(fx, "abs-link/out.db"), "the output", 0),
		       "/open is writable by others (mode 0777) without the sticky bit");

	assert_int_equal(symlink("loop", at(fx, "loop")), 0);
	assert_int_equal(safe_path_open(&fx->sp, at(fx, "loop/out.db"), "the output", 0), -ELOOP);
}

static void test_socket_entry(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct stat st;

	assert_true(fd >= 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", at(fx, "s.sock"));
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	assert_int_equal(safe_path_open(&fx->sp, at(fx, "s.sock"), "the output", 0), 0);
	assert_int_equal(chmod(at(fx, "s.sock"), 0600), 0);
	assert_int_equal(safe_path_check_entry(&fx->sp, "s.sock", S_IFSOCK, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	expect_refused(fx, safe_path_check_entry(&fx->sp, "s.sock", S_IFREG, NULL),
		       "s.sock is not a regular file");
}

/* Owners other than root and us: only root can make such files to test with. */
static void test_foreign_owners(void **state)
{
	struct fixture *fx = *state;
	char target[PATH_MAX + 64];

	if (geteuid() != 0) {
		skip();
		return;
	}
	write_file(at(fx, "out.jsonl"), 0600);
	assert_int_equal(chown(at(fx, "out.jsonl"), OTHER_ID, OTHER_ID), 0);
	assert_int_equal(safe_path_open(&fx->sp, at(fx, "out.jsonl"), "the output", 0), 0);
	expect_refused(fx, safe_path_open_file(&fx->sp, O_WRONLY | O_APPEND, 0),
		       "out.jsonl is owned by uid 64999, not by root");
	safe_path_close(&fx->sp);

	assert_int_equal(mkdir(at(fx, "theirs"), 0700), 0);
	assert_int_equal(chown(at(fx, "theirs"), OTHER_ID, OTHER_ID), 0);
	expect_refused(fx, safe_path_open(&fx->sp, at(fx, "theirs/out.db"), "the output", 0),
		       "/theirs is owned by uid 64999, not by root");

	/* A link someone else made in a sticky directory is not followed */
	assert_int_equal(mkdir(at(fx, "sticky"), 0700), 0);
	assert_int_equal(chmod(at(fx, "sticky"), 01777), 0);
	assert_int_equal(mkdir(at(fx, "real"), 0700), 0);
	snprintf(target, sizeof(target), "%s", at(fx, "real"));
	assert_int_equal(symlink(target, at(fx, "sticky/link")), 0);
	assert_int_equal(lchown(at(fx, "sticky/link"), OTHER_ID, OTHER_ID), 0);
	expect_refused(fx, safe_path_open(&fx->sp, at(fx, "sticky/link/out.db"), "the output", 0),
		       "/sticky/link is a symbolic link owned by uid 64999");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_creates_file_in_own_directory, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_symlink_at_the_end_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writable_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_refused_without_blocking, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_and_dot_dot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_owners, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
