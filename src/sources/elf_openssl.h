/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whether an ELF file carries OpenSSL's module loader, and where: a libcrypto, a copy of one
 * under any name, or a program with OpenSSL linked in (Node.js exports DSO_load from its own
 * executable). The library layer puts its uprobes on what this finds, by file offset, so one
 * reading serves the decision and the probe, for 64-bit and 32-bit files alike.
 */
#ifndef SOWATCH_SOURCES_ELF_OPENSSL_H
#define SOWATCH_SOURCES_ELF_OPENSSL_H

#include <stdbool.h>
#include <stdint.h>

#include "sowatch_events.h"

/* Smaller files are not read (see SW_EXE_SCAN_MIN_SIZE). */
#define ELF_OPENSSL_MIN_SIZE SW_EXE_SCAN_MIN_SIZE

/*
 * OpenSSL's engine and provider calls: what a thread maps inside one of them, an engine or a
 * provider loaded by its own means (the pkcs11 engine's PKCS#11 module, say).
 */
#define ELF_OPENSSL_CALLS 7
extern const char *const elf_openssl_call_names[ELF_OPENSSL_CALLS];

struct elf_openssl {
	bool is_32bit;		  /* ELFCLASS32: arguments of its functions are on the stack */
	bool has_dso_load;	  /* defines the function DSO_load */
	uint64_t dso_load_offset; /* the file offset of its first instruction: the uprobe's */
	/* The same for each of elf_openssl_call_names[]; 0 where not defined */
	uint64_t call_offsets[ELF_OPENSSL_CALLS];
	bool is_nodejs; /* defines napi_module_register: a Node.js runtime */
};

/*
 * Read the symbol tables of the ELF file open on fd (.dynsym, then .symtab only when the
 * first lacks DSO_load). Reads through pread, never a mapping, so a file truncated meanwhile
 * cannot fault sowatch. Returns 0 (ret filled; has_dso_load false for an ELF file without
 * it), -ENOEXEC when fd is no ELF file sowatch can read, or -errno.
 */
int elf_openssl_scan(int fd, struct elf_openssl *ret);

#endif
