// SPDX-License-Identifier: Apache-2.0
#include "sources/elf_openssl.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>

/*
 * A symbol table larger than this is not read: an unstripped program's .symtab with debug
 * builds runs to a few MiB (node's is 7 MiB); anything past this is hostile or pathological.
 */
#define MAX_SYMTAB_BYTES (64u << 20)

/* The file offset where the code at virtual address vaddr lies (the loadable segment's). */
static int vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *ret)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return -ENOEXEC;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz) {
			*ret = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOEXEC;
}

/* A function defined in this file (not an import: those have no section). */
static bool defines_function(const GElf_Sym *sym)
{
	return sym->st_shndx != SHN_UNDEF && GELF_ST_TYPE(sym->st_info) == STT_FUNC &&
	       sym->st_value != 0;
}

const char *const elf_openssl_call_names[ELF_OPENSSL_CALLS] = {
	"ENGINE_by_id",		   /* binds a dynamic engine: its bind function runs */
	"ENGINE_init",		   /* the engine's init function (config's init = 1 too) */
	"ENGINE_ctrl",		   /* every ctrl, ENGINE_ctrl_cmd_string's among them */
	"ENGINE_load_private_key", /* where libp11 loads its PKCS#11 module */
	"ENGINE_load_public_key",
	"OSSL_PROVIDER_load", /* the provider's init function */
	"OSSL_PROVIDER_try_load",
};

/* The offset of the code at vaddr into ret, if it is one of OpenSSL's calls sowatch watches. */
static void note_call(Elf *elf, const char *name, uint64_t vaddr, struct elf_openssl *ret)
{
	for (int i = 0; i < ELF_OPENSSL_CALLS; i++)
		if (!ret->call_offsets[i] && strcmp(name, elf_openssl_call_names[i]) == 0) {
			vaddr_to_offset(elf, vaddr, &ret->call_offsets[i]);
			return;
		}
}

/* Look through one symbol table for what elf_openssl cares about. */
static void scan_symtab(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct elf_openssl *ret)
{
	Elf_Data *data;
	size_t count;

	if (sh->sh_entsize == 0 || sh->sh_size > MAX_SYMTAB_BYTES)
		return;
	data = elf_getdata(scn, NULL);
	if (!data)
		return;
	count = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < count; i++) {
		GElf_Sym sym;
		const char *name;

		if (!gelf_getsym(data, (int)i, &sym) || !defines_function(&sym))
			continue;
		name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name)
			continue;
		if (!ret->has_dso_load && strcmp(name, "DSO_load") == 0 &&
		    vaddr_to_offset(elf, sym.st_value, &ret->dso_load_offset) == 0)
			ret->has_dso_load = true;
		else if (strcmp(name, "napi_module_register") == 0)
			ret->is_nodejs = true;
		else if (name[0] == 'E' || name[0] == 'O')
			note_call(elf, name, sym.st_value, ret);
	}
}

int elf_openssl_scan(int fd, struct elf_openssl *ret)
{
	static const Elf64_Word tables[] = { SHT_DYNSYM, SHT_SYMTAB };
	Elf *elf;
	GElf_Ehdr eh;
	int err = 0;

	memset(ret, 0, sizeof(*ret));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	/* ELF_C_READ: headers and sections are read with pread when asked for, never mapped. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)) {
		err = -ENOEXEC;
		goto out;
	}
	ret->is_32bit = gelf_getclass(elf) == ELFCLASS32;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]) && !ret->has_dso_load; t++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;

			if (gelf_getshdr(scn, &sh) && sh.sh_type == tables[t])
				scan_symtab(elf, scn, &sh, ret);
		}
	}
out:
	elf_end(elf);
	return err;
}
