// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for elf_openssl_scan(): any bytes as the file a process executed or
 * mapped (an attacker writes it). It must answer or refuse, never crash or read out of bounds.
 *
 *   make fuzz && build/tests/fuzz/fuzz_elf_openssl -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sources/elf_openssl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct elf_openssl elf;

	if (fd < 0)
		fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	elf_openssl_scan(fd, &elf);
	return 0;
}
