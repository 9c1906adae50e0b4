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

/* The dynamic symbols' GNU hash table, as the dynamic loader uses it to find a name. */
struct gnu_hash {
	uint64_t off, size;	       /* the .gnu.hash section in the file */
	uint64_t sym_off, sym_entsize; /* its .dynsym */
	uint64_t str_off, str_size;    /* and that one's .dynstr */
	uint32_t nbuckets, symoffset, bloom_size;
	Elf_Data *buckets;
};

static uint32_t gnu_hash_of(const char *name)
{
	uint32_t h = 5381;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = h * 33 + *c;
	return h;
}

/* A section's offset and size in the file, by index. */
static bool section_at(Elf *elf, size_t index, GElf_Shdr *ret)
{
	Elf_Scn *scn = elf_getscn(elf, index);

	return scn && gelf_getshdr(scn, ret);
}

/* Find .gnu.hash and what it indexes; false when the file has none that makes sense. */
static bool gnu_hash_open(Elf *elf, struct gnu_hash *gh)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh, sym, str;
	Elf_Data *head;
	uint32_t words[4];
	size_t word = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_HASH)
			break;
	if (!scn || !section_at(elf, sh.sh_link, &sym) || sym.sh_type != SHT_DYNSYM ||
	    !sym.sh_entsize || !section_at(elf, sym.sh_link, &str) || sh.sh_size < 16)
		return false;
	head = elf_getdata_rawchunk(elf, (int64_t)sh.sh_offset, 16, ELF_T_WORD);
	if (!head || head->d_size < sizeof(words))
		return false;
	memcpy(words, head->d_buf, sizeof(words));
	*gh = (struct gnu_hash){
		.off = sh.sh_offset,
		.size = sh.sh_size,
		.sym_off = sym.sh_offset,
		.sym_entsize = sym.sh_entsize,
		.str_off = str.sh_offset,
		.str_size = str.sh_size,
		.nbuckets = words[0],
		.symoffset = words[1],
		.bloom_size = words[2],
	};
	if (!gh->nbuckets ||
	    16 + (uint64_t)gh->bloom_size * word + (uint64_t)gh->nbuckets * 4 > gh->size)
		return false;
	gh->buckets = elf_getdata_rawchunk(elf, (int64_t)(gh->off + 16 + gh->bloom_size * word),
					   gh->nbuckets * 4, ELF_T_WORD);
	return gh->buckets && gh->buckets->d_size == gh->nbuckets * 4ull;
}

static bool name_is(Elf *elf, const struct gnu_hash *gh, uint32_t st_name, const char *name)
{
	size_t len = strlen(name) + 1;
	Elf_Data *d;

	if (st_name >= gh->str_size || gh->str_size - st_name < len)
		return false;
	d = elf_getdata_rawchunk(elf, (int64_t)(gh->str_off + st_name), len, ELF_T_BYTE);
	return d && d->d_size == len && memcmp(d->d_buf, name, len) == 0;
}

/*
 * Look a name up the way the dynamic loader does: a few small reads, where reading the whole
 * symbol table would take megabytes (node's dynamic symbols and their names are 7 MiB).
 */
static bool gnu_hash_lookup(Elf *elf, const struct gnu_hash *gh, const char *name, GElf_Sym *ret)
{
	uint32_t h = gnu_hash_of(name),
		 i = ((const uint32_t *)gh->buckets->d_buf)[h % gh->nbuckets];
	size_t word = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
	uint64_t chain = gh->off + 16 + (uint64_t)gh->bloom_size * word + gh->nbuckets * 4ull;

	if (i < gh->symoffset)
		return false; /* an empty bucket */
	for (;; i++) {
		uint64_t at = chain + (uint64_t)(i - gh->symoffset) * 4;
		Elf_Data *c, *sd;
		uint32_t cv;

		if (at + 4 > gh->off + gh->size ||
		    !(c = elf_getdata_rawchunk(elf, (int64_t)at, 4, ELF_T_WORD)) || c->d_size != 4)
			return false;
		memcpy(&cv, c->d_buf, 4);
		if ((cv | 1) == (h | 1)) {
			sd = elf_getdata_rawchunk(elf, (int64_t)(gh->sym_off + i * gh->sym_entsize),
						  gh->sym_entsize, ELF_T_SYM);
			if (sd && gelf_getsym(sd, 0, ret) && name_is(elf, gh, ret->st_name, name))
				return true;
		}
		if (cv & 1)
			return false; /* the end of the chain */
	}
}

/* What elf_openssl cares about, looked up by name in the dynamic symbols. */
static void lookup_dynamic(Elf *elf, const struct gnu_hash *gh, struct elf_openssl *ret)
{
	GElf_Sym sym;

	if (gnu_hash_lookup(elf, gh, "DSO_load", &sym) && defines_function(&sym) &&
	    vaddr_to_offset(elf, sym.st_value, &ret->dso_load_offset) == 0)
		ret->has_dso_load = true;
	if (!ret->has_dso_load)
		return;
	ret->is_nodejs =
	    gnu_hash_lookup(elf, gh, "napi_module_register", &sym) && defines_function(&sym);
	for (int i = 0; i < ELF_OPENSSL_CALLS; i++)
		if (gnu_hash_lookup(elf, gh, elf_openssl_call_names[i], &sym) &&
		    defines_function(&sym))
			vaddr_to_offset(elf, sym.st_value, &ret->call_offsets[i]);
}

int elf_openssl_scan(int fd, struct elf_openssl *ret)
{
	static const Elf64_Word tables[] = { SHT_DYNSYM, SHT_SYMTAB };
	struct gnu_hash gh;
	size_t t0 = 0;
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
	/* The dynamic symbols through their hash table; without one, every table is read. */
	if (gnu_hash_open(elf, &gh)) {
		lookup_dynamic(elf, &gh, ret);
		t0 = 1;
	}
	for (size_t t = t0; t < sizeof(tables) / sizeof(tables[0]) && !ret->has_dso_load; t++) {
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
