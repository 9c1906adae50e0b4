// SPDX-License-Identifier: Apache-2.0
/*
 * elf_openssl_scan() on real files of this machine: the host's libcrypto (DSO_load found at
 * the offset its symbol and program headers give), a program without OpenSSL, a file that is
 * no ELF, and a libcrypto cut short (must fail or answer, never crash).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sources/elf_openssl.h"

#define LIBCRYPTO "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"

static int scan_path(const char *path, struct elf_openssl *ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	assert_true(fd >= 0);
	err = elf_openssl_scan(fd, ret);
	close(fd);
	return err;
}

/* A function's file offset as binutils computes it: nm's address, then readelf's segments. */
static unsigned long long offset_by_binutils(const char *path, const char *symbol)
{
	char cmd[512];
	unsigned long long vaddr = 0, off, seg_vaddr, filesz, ret = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -D --defined-only %s | awk '$3 ~ /^%s(@|$)/ {print $1}'",
		 path, symbol);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%llx", &vaddr), 1);
	pclose(p);
	snprintf(
	    cmd, sizeof(cmd),
	    "readelf -lW %s | awk '$1 == \"LOAD\" && ($7 ~ /E/ || $8 ~ /E/) {print $2, $3, $5}'",
	    path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fscanf(p, "%llx %llx %llx", &off, &seg_vaddr, &filesz) == 3)
		if (vaddr >= seg_vaddr && vaddr < seg_vaddr + filesz)
			ret = vaddr - seg_vaddr + off;
	pclose(p);
	assert_true(ret != 0);
	return ret;
}

static void test_libcrypto(void **state)
{
	struct elf_openssl elf;

	if (access(LIBCRYPTO, R_OK))
		skip();
	assert_int_equal(scan_path(LIBCRYPTO, &elf), 0);
	assert_true(elf.has_dso_load);
	assert_false(elf.is_32bit);
	assert_false(elf.is_nodejs);
	assert_int_equal(elf.dso_load_offset, offset_by_binutils(LIBCRYPTO, "DSO_load"));
	/* Every engine and provider call is in libcrypto 3 */
	for (int i = 0; i < ELF_OPENSSL_CALLS; i++)
		assert_int_equal(elf.call_offsets[i],
				 offset_by_binutils(LIBCRYPTO, elf_openssl_call_names[i]));
}

static void test_program_without_openssl(void **state)
{
	struct elf_openssl elf;

	assert_int_equal(scan_path("/bin/true", &elf), 0);
	assert_false(elf.has_dso_load);
	assert_false(elf.is_nodejs);
	for (int i = 0; i < ELF_OPENSSL_CALLS; i++)
		assert_int_equal(elf.call_offsets[i], 0);
}

static void test_not_elf(void **state)
{
	struct elf_openssl elf;

	assert_int_equal(scan_path("/etc/passwd", &elf), -ENOEXEC);
	assert_false(elf.has_dso_load);
}

/* Every length of a cut libcrypto up to its section headers' end: no crash, no false find. */
static void test_truncated(void **state)
{
	struct stat st;
	int src, fd;
	char *whole;

	if (access(LIBCRYPTO, R_OK))
		skip();
	src = open(LIBCRYPTO, O_RDONLY | O_CLOEXEC);
	assert_true(src >= 0);
	assert_int_equal(fstat(src, &st), 0);
	whole = malloc(st.st_size);
	assert_non_null(whole);
	assert_int_equal(pread(src, whole, st.st_size, 0), st.st_size);
	close(src);
	fd = memfd_create("cut", MFD_CLOEXEC);
	assert_true(fd >= 0);
	for (off_t len = 0; len < st.st_size; len = len * 2 + 61) {
		struct elf_openssl elf;
		int err;

		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(pwrite(fd, whole, len, 0), len);
		err = elf_openssl_scan(fd, &elf);
		assert_true(err == 0 || err == -ENOEXEC);
		/* The dynamic symbols lie past the first pages: a short file cannot show them. */
		if (len < 4096)
			assert_false(elf.has_dso_load);
	}
	close(fd);
	free(whole);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libcrypto),
		cmocka_unit_test(test_program_without_openssl),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
