// SPDX-License-Identifier: Apache-2.0
/*
 * Trust by identity: the md5sums index (pkgdb) and the verdict cache, against a temporary
 * dpkg-like directory whose records name files in a temporary "trusted" directory.
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

#include "detectors/pkgdb.h"
#include "detectors/trust_identity.h"
#include "sowatch_events.h"

struct fixture {
	char dir[PATH_MAX];  /* /tmp/sowatch-ti-XXXXXX */
	char info[PATH_MAX]; /* its dpkg-like info directory */
	char lib[PATH_MAX];  /* its trusted directory */
	const char *dirs[2];
};

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Through a rename, as dpkg does: the directory changes with it. */
static void write_md5sums(const struct fixture *fx, const char *name, const char *text)
{
	char tmp[PATH_MAX + 16], path[PATH_MAX + 64];

	snprintf(tmp, sizeof(tmp), "%s/.new", fx->info);
	snprintf(path, sizeof(path), "%s/%s.md5sums", fx->info, name);
	write_file(tmp, text, strlen(text));
	assert_int_equal(rename(tmp, path), 0);
}

static void lib_path(const struct fixture *fx, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", fx->lib, name);
}

/* A md5sums line for lib/<name>: dpkg's paths are relative to / */
static void record(const struct fixture *fx, const char *md5, const char *name, char *out,
		   size_t size)
{
	snprintf(out, size, "%s  %s/%s\n", md5, fx->lib + 1, name);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/sowatch-ti-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->info, sizeof(fx->info), "%s/info", fx->dir);
	snprintf(fx->lib, sizeof(fx->lib), "%s/lib", fx->dir);
	assert_int_equal(mkdir(fx->info, 0755), 0);
	assert_int_equal(mkdir(fx->lib, 0755), 0);
	fx->dirs[0] = fx->lib;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void md5_of(const char *text, unsigned char out[PKGDB_MD5_LEN])
{
	char path[] = "/tmp/sowatch-ti-md5-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(pkgdb_md5_fd(fd, 1 << 20, out), 0);
	close(fd);
	unlink(path);
}

static void hex(const unsigned char md5[PKGDB_MD5_LEN], char out[33])
{
	for (int i = 0; i < PKGDB_MD5_LEN; i++)
		sprintf(out + 2 * i, "%02x", md5[i]);
}

static void test_md5(void **state)
{
	unsigned char md5[PKGDB_MD5_LEN];
	char h[33];
	char path[] = "/tmp/sowatch-ti-big-XXXXXX";
	int fd;

	md5_of("abc", md5);
	hex(md5, h);
	assert_string_equal(h, "900150983cd24fb0d6963f7d28e17f72");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_int_equal(pkgdb_md5_fd(fd, 4095, md5), -EFBIG);
	close(fd);
	unlink(path);
	fd = open("/dev/null", O_RDONLY);
	assert_int_equal(pkgdb_md5_fd(fd, 4095, md5), -EINVAL);
	close(fd);
}

static void test_index_parses_and_skips(void **state)
{
	struct fixture *fx = *state;
	unsigned char md5s[4][PKGDB_MD5_LEN];
	char text[16384], line[PATH_MAX + 64], path[PATH_MAX + 32], *longline;
	const char *good = "0123456789abcdef0123456789ABCDEF";
	struct pkgdb *db;

	text[0] = '\0';
	record(fx, good, "a.so", line, sizeof(line));
	strcat(text, line);
	record(fx, good, "sub/b.so", line, sizeof(line));
	strcat(text, line);
	strcat(text,
	       "0123456789abcdef0123456789abcdef  usr/share/doc/x/copyright\n"); /* elsewhere */
	strcat(text, "zz23456789abcdef0123456789abcdef  tmp/x\n");		 /* not hex */
	strcat(text, "0123456789abcdef\n");					 /* short */
	strcat(text, "0123456789abcdef0123456789abcdefXX tmp/x\n");		 /* no separator */
	strcat(text, "0123456789abcdef0123456789abcdef  \n");			 /* no path */
	snprintf(line, sizeof(line), "%s *%s/c.so\n", good, fx->lib + 1);	 /* md5sum -b */
	strcat(text, line);
	write_md5sums(fx, "pkg1", text);

	/* A line longer than any record, then a good one, then one without its newline */
	longline = malloc(3 * PATH_MAX);
	assert_non_null(longline);
	memset(longline, 'a', 3 * PATH_MAX - 200);
	longline[3 * PATH_MAX - 200] = '\0';
	strcat(longline, "\n");
	record(fx, good, "d.so", line, sizeof(line));
	strcat(longline, line);
	record(fx, "ffffffffffffffffffffffffffffffff", "a.so", line, sizeof(line));
	line[strlen(line) - 1] = '\0';
	strcat(longline, line);
	write_md5sums(fx, "pkg2", longline);
	free(longline);
	write_md5sums(fx, "pkg3", "");

	assert_int_equal(pkgdb_new(&db, fx->info, fx->dirs), 0);
	assert_int_equal(pkgdb_refresh(db), 1);
	assert_true(pkgdb_available(db));
	assert_int_equal(pkgdb_stats(db)->files, 3);
	assert_int_equal(pkgdb_stats(db)->entries, 5); /* a (twice), sub/b, c, d */
	assert_int_equal(pkgdb_stats(db)->bad_lines, 5);
	assert_false(pkgdb_stats(db)->truncated);

	lib_path(fx, "a.so", path, sizeof(path));
	assert_int_equal(pkgdb_lookup(db, path, md5s, 4), 2); /* two packages list it */
	assert_int_equal(md5s[0][0] ^ md5s[1][0], 0x01 ^ 0xff);
	lib_path(fx, "sub/b.so", path, sizeof(path));
	assert_int_equal(pkgdb_lookup(db, path, md5s, 4), 1);
	assert_int_equal(md5s[0][15], 0xef);
	lib_path(fx, "c.so", path, sizeof(path));
	assert_int_equal(pkgdb_lookup(db, path, md5s, 4), 1);
	lib_path(fx, "d.so", path, sizeof(path));
	assert_int_equal(pkgdb_lookup(db, path, md5s, 4), 1);
	lib_path(fx, "e.so", path, sizeof(path));
	assert_int_equal(pkgdb_lookup(db, path, md5s, 4), 0);
	assert_int_equal(pkgdb_lookup(db, "/usr/share/doc/x/copyright", md5s, 4), 0);

	/* Unchanged: not read again. A package installed: read again. */
	assert_int_equal(pkgdb_refresh(db), 0);
	record(fx, good, "e.so", line, sizeof(line));
	write_md5sums(fx, "pkg4", line);
	assert_int_equal(pkgdb_refresh(db), 1);
	assert_int_equal(pkgdb_stats(db)->loads, 2);
	lib_path(fx, "e.so", path, sizeof(path));
	assert_int_equal(pkgdb_lookup(db, path, md5s, 4), 1);
	pkgdb_free(db);
}

static void test_index_merged_usr(void **state)
{
	static const char *const dirs[] = { "/usr/lib", NULL };
	unsigned char md5s[1][PKGDB_MD5_LEN];
	struct fixture *fx = *state;
	char target[64];
	ssize_t n = readlink("/lib", target, sizeof(target) - 1);
	struct pkgdb *db;

	if (n <= 0)
		skip(); /* no merged /usr here */
	write_md5sums(fx, "libc",
		      "0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libsowatch-t.so.1\n");
	assert_int_equal(pkgdb_new(&db, fx->info, dirs), 0);
	assert_int_equal(pkgdb_refresh(db), 1);
	assert_int_equal(pkgdb_lookup(db, "/usr/lib/x86_64-linux-gnu/libsowatch-t.so.1", md5s, 1),
			 1);
	pkgdb_free(db);
}

static void test_index_without_database(void **state)
{
	struct fixture *fx = *state;
	char missing[PATH_MAX + 16];
	struct pkgdb *db;

	snprintf(missing, sizeof(missing), "%s/none", fx->dir);
	assert_int_equal(pkgdb_new(&db, missing, fx->dirs), 0);
	assert_true(pkgdb_refresh(db) < 0);
	assert_false(pkgdb_available(db));
	pkgdb_free(db);
}

/* The file_ref the kernel would give for the host file at path */
static struct file_ref ref_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (struct file_ref){
		.path = path,
		.dev = st.st_dev,
		.ino = st.st_ino,
		.ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec,
		.uid = st.st_uid,
		.mode = st.st_mode,
	};
}

/* Package `pkg` records lib/name with this content */
static void package(const struct fixture *fx, const char *pkg, const char *name,
		    const char *content)
{
	unsigned char md5[PKGDB_MD5_LEN];
	char line[PATH_MAX + 64], h[33];

	md5_of(content, md5);
	hex(md5, h);
	record(fx, h, name, line, sizeof(line));
	write_md5sums(fx, pkg, line);
}

/* Install lib/name with content, recorded (or not) in the database */
static void install(const struct fixture *fx, const char *pkg, const char *name,
		    const char *content, bool recorded)
{
	char path[PATH_MAX + 32];

	lib_path(fx, name, path, sizeof(path));
	write_file(path, content, strlen(content));
	if (recorded)
		package(fx, pkg, name, content);
}

static const struct trust_view host_view = { .root = "" };

static void test_verdict_cache(void **state)
{
	struct fixture *fx = *state;
	const struct trust_identity_stats *stats;
	struct trust_identity *ti;
	char path[PATH_MAX + 32];
	const char *why = NULL;
	struct file_ref f;

	install(fx, "eng", "eng.so", "the engine, as packaged", true);
	assert_int_equal(trust_identity_new(&ti, fx->info, fx->dirs), 0);
	assert_int_equal(trust_identity_preload(ti), 1);
	stats = trust_identity_stats(ti);
	lib_path(fx, "eng.so", path, sizeof(path));
	f = ref_of(path);

	/* Verified once, then answered from the cache however often it is loaded */
	assert_true(trust_identity_check(ti, &f, &host_view, &why));
	for (int i = 0; i < 1000; i++)
		assert_true(trust_identity_check(ti, &f, &host_view, &why));
	assert_int_equal(stats->hashed, 1);
	assert_int_equal(stats->cache_hits, 1000);

	/* Edited in place: the ctime moves, so it is a new key, and its content is wrong */
	write_file(path, "the engine, edited", 18);
	f = ref_of(path);
	assert_false(trust_identity_check(ti, &f, &host_view, &why));
	assert_ptr_equal(why, trust_reason_differs);
	assert_int_equal(stats->hashed, 2);
	assert_false(trust_identity_check(ti, &f, &host_view, &why));
	assert_int_equal(stats->hashed, 2);

	/* Its package upgraded to exactly this content: dpkg's directory changes, and the
	 * custom verdict cached for this very file is decided again */
	package(fx, "eng", "eng.so", "the engine, edited");
	assert_true(trust_identity_check(ti, &f, &host_view, &why));
	assert_int_equal(stats->hashed, 3);

	/* The kernel saw another ctime than the file has now: it changed after the mapping */
	f.ctime_ns -= 1;
	assert_false(trust_identity_check(ti, &f, &host_view, &why));
	assert_ptr_equal(why, trust_reason_changed);
	trust_identity_free(ti);
}

static void test_not_owned_and_too_large(void **state)
{
	struct fixture *fx = *state;
	struct trust_identity *ti;
	char path[PATH_MAX + 32];
	const char *why = NULL;
	struct file_ref f;
	int fd;

	install(fx, "eng", "eng.so", "packaged", true);
	install(fx, NULL, "planted.so", "planted by hand", false);
	assert_int_equal(trust_identity_new(&ti, fx->info, fx->dirs), 0);
	lib_path(fx, "planted.so", path, sizeof(path));
	f = ref_of(path);
	assert_false(trust_identity_check(ti, &f, &host_view, &why));
	assert_ptr_equal(why, trust_reason_not_owned);
	assert_int_equal(trust_identity_stats(ti)->hashed, 0); /* no need to read it */

	/* Recorded, but too big to hash on the event thread: not verified, not trusted */
	lib_path(fx, "big.so", path, sizeof(path));
	install(fx, "big", "big.so", "x", true);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, TRUST_VERIFY_MAX_BYTES + 1), 0);
	close(fd);
	f = ref_of(path);
	assert_false(trust_identity_check(ti, &f, &host_view, &why));
	assert_ptr_equal(why, trust_reason_too_large);
	trust_identity_free(ti);
}

static void test_identity_and_views(void **state)
{
	struct fixture *fx = *state;
	struct trust_view view = { .root = "/proc/self/root" };
	struct trust_identity *ti;
	char path[PATH_MAX + 32], other[PATH_MAX + 32];
	const char *why = NULL;
	struct file_ref f, o;

	install(fx, "eng", "eng.so", "packaged", true);
	install(fx, "evil", "evil.so", "evil", true);
	assert_int_equal(trust_identity_new(&ti, fx->info, fx->dirs), 0);
	lib_path(fx, "eng.so", path, sizeof(path));
	lib_path(fx, "evil.so", other, sizeof(other));
	f = ref_of(path);
	o = ref_of(other);

	/* What a bind mount shows: at eng.so's path, another file (a packaged one even) */
	o.path = path;
	assert_false(trust_identity_check(ti, &o, &host_view, &why));
	assert_ptr_equal(why, trust_reason_not_host_file);
	/* A private mount namespace that keeps the host's root is judged as the host */
	assert_false(trust_identity_check(ti, &o, &view, &why));
	assert_ptr_equal(why, trust_reason_not_host_file);
	/* Nothing at that path on the host at all */
	lib_path(fx, "gone.so", other, sizeof(other));
	o.path = other;
	assert_false(trust_identity_check(ti, &o, &view, &why));
	assert_ptr_equal(why, trust_reason_not_host_file);

	/* A root of its own (a container's): the kernel's word on the layer decides */
	o.path = path;
	view.root = fx->dir;
	assert_true(trust_identity_check(ti, &o, &view, &why)); /* no layer known */
	view.layers_known = true;
	assert_true(trust_identity_check(ti, &o, &view, &why)); /* a lower layer */
	view.added = SW_ADDED_UPPER_LAYER;
	assert_false(trust_identity_check(ti, &o, &view, &why));
	assert_ptr_equal(why, trust_reason_upper_layer);
	view.added = SW_ADDED_IN_MEMORY;
	assert_false(trust_identity_check(ti, &o, &view, &why));
	assert_ptr_equal(why, trust_reason_in_memory);
	view.added = SW_ADDED_OUTSIDE_ROOT;
	assert_false(trust_identity_check(ti, &o, &view, &why));
	assert_ptr_equal(why, trust_reason_outside_image);
	/* ... but the host's own file, seen from a container (the host's /usr bound in), is
	 * checked against the host's database */
	assert_true(trust_identity_check(ti, &f, &view, &why));
	/* A process gone: what it belonged to decides */
	view.root = "/proc/999999999/root";
	view.added = 0;
	view.container = true;
	assert_true(trust_identity_check(ti, &o, &view, &why));
	view.container = false;
	assert_false(trust_identity_check(ti, &o, &view, &why));
	trust_identity_free(ti);
}

static void test_without_database(void **state)
{
	struct fixture *fx = *state;
	struct trust_identity *ti;
	char path[PATH_MAX + 32], missing[PATH_MAX + 16];
	const char *why = NULL;
	struct file_ref f;

	snprintf(missing, sizeof(missing), "%s/none", fx->dir);
	install(fx, NULL, "any.so", "anything", false);
	assert_int_equal(trust_identity_new(&ti, missing, fx->dirs), 0);
	assert_true(trust_identity_preload(ti) < 0);
	lib_path(fx, "any.so", path, sizeof(path));
	f = ref_of(path);
	/* Identity alone, as documented: the host's own file passes... */
	assert_true(trust_identity_check(ti, &f, &host_view, &why));
	/* ...another file at its path does not */
	f.ino++;
	assert_false(trust_identity_check(ti, &f, &host_view, &why));
	trust_identity_free(ti);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md5),
		cmocka_unit_test_setup_teardown(test_index_parses_and_skips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_merged_usr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_without_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verdict_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_owned_and_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_and_views, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_database, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
