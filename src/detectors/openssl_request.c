// SPDX-License-Identifier: Apache-2.0
/*
 * The request list both intent parsers fill (argv and environment in openssl_args.c,
 * configuration files in openssl_config.c), and what they model alike: which engines and
 * providers are built in, how libcrypto merges a directory and a name, and the dynamic
 * engine's ctrls, which come from `engine -pre/-post` and from config engine sections.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "detectors/openssl_request.h"

#include "util/strbuf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------------------------ */
/* Result list */

void module_requests_free(struct module_requests *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		free(r->items[i].value);
	free(r->items);
	r->items = NULL;
	r->n = 0;
	r->cap = 0;
}

int modreq_add_n(struct module_requests *out, enum module_kind kind, enum module_ref ref,
		 const char *value, size_t len, const char *origin)
{
	struct module_request *it;
	char *v;

	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 8;

		if (cap < out->cap || cap > SIZE_MAX / sizeof(*it))
			return -ENOMEM;
		it = realloc(out->items, cap * sizeof(*it));
		if (!it)
			return -ENOMEM;
		out->items = it;
		out->cap = cap;
	}
	v = malloc(len + 1);
	if (!v)
		return -ENOMEM;
	memcpy(v, value, len);
	v[len] = '\0';
	it = &out->items[out->n++];
	it->kind = kind;
	it->ref = ref;
	it->value = v;
	it->origin = origin;
	return 0;
}

int modreq_add(struct module_requests *out, enum module_kind kind, enum module_ref ref,
	       const char *value, const char *origin)
{
	return modreq_add_n(out, kind, ref, value, strlen(value), origin);
}

enum module_ref modref_of(const char *v, size_t len)
{
	return memchr(v, '/', len) ? MODREF_PATH : MODREF_NAME;
}

/*
 * Only ids compiled into libcrypto: everything else (afalg, padlock, loader_attic, capi,
 * devcrypto when not built in) is a shared object looked up in OPENSSL_ENGINES/ENGINESDIR,
 * which an attacker can redirect, so those are reported and the trust layer resolves them.
 */
bool openssl_builtin_engine(const char *id, size_t len)
{
	static const char *const ids[] = { "dynamic", "rdrand" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ids); i++)
		if (strlen(ids[i]) == len && !memcmp(ids[i], id, len))
			return true;
	return false;
}

/* Providers compiled into libcrypto; legacy and fips are shared objects and get reported. */
bool openssl_builtin_provider(const char *name)
{
	return !strcmp(name, "default") || !strcmp(name, "base") || !strcmp(name, "null");
}

int modreq_add_engine_n(struct module_requests *out, const char *v, size_t len, const char *origin)
{
	enum module_ref ref = modref_of(v, len);

	if (!len || (ref == MODREF_NAME && openssl_builtin_engine(v, len)))
		return 0;
	return modreq_add_n(out, MODULE_ENGINE, ref, v, len, origin);
}

int modreq_add_engine(struct module_requests *out, const char *v, const char *origin)
{
	return modreq_add_engine_n(out, v, strlen(v), origin);
}

int modreq_add_provider(struct module_requests *out, const char *v, const char *origin)
{
	enum module_ref ref = modref_of(v, strlen(v));

	if (!*v || (ref == MODREF_NAME && openssl_builtin_provider(v)))
		return 0;
	return modreq_add(out, MODULE_PROVIDER, ref, v, origin);
}

/*
 * A PKCS#11 module for libp11 (the pkcs11 engine, or its provider): C_LoadModule() passes the
 * value to dlopen() as it is, so a value with '/' is a path (relative ones from the process's
 * cwd) and a bare name is the dynamic loader's search (MODREF_NAME: LD_LIBRARY_PATH, the cache,
 * the system directories), which only the mapping can settle.
 */
int modreq_add_pkcs11_module(struct module_requests *out, const char *v, const char *origin)
{
	if (!*v)
		return 0;
	return modreq_add(out, MODULE_PKCS11, modref_of(v, strlen(v)), v, origin);
}

/*
 * The file libcrypto opens for a module named `name` searched in dir[0..dlen): DSO_merge()
 * (dlfcn_merger: a name starting with '/' wins, else the directory less one trailing '/', then
 * '/', then the name), after DSO_convert_filename() with DSO_FLAG_NAME_TRANSLATION_EXT_ONLY when
 * ext (".so" appended to a name without '/'). The result holds a '/', so dlopen() takes it as a
 * path: relative ones are relative to the cwd.
 */
int modreq_add_merged(struct module_requests *out, enum module_kind kind, const char *dir,
		      size_t dlen, const char *name, bool ext, const char *origin)
{
	struct strbuf sb = STRBUF_INIT;
	int err = 0;

	if (name[0] != '/') {
		if (dlen && dir[dlen - 1] == '/')
			dlen--;
		err = strbuf_add(&sb, dir, dlen);
		if (!err)
			err = strbuf_addc(&sb, '/');
	}
	if (!err)
		err = strbuf_adds(&sb, name);
	if (!err && ext && !strchr(name, '/'))
		err = strbuf_adds(&sb, ".so");
	if (!err)
		err = modreq_add(out, kind, MODREF_PATH, sb.buf, origin);
	strbuf_release(&sb);
	return err;
}

/* ------------------------------------------------------------------------------------------ */
/* The dynamic engine's ctrls (crypto/engine/eng_dyn.c), from `engine -pre` or a config section */

/* The ways of giving an engine its ctrls, and the origins reported for each. */
const struct dyn_origins dyn_origins_pre = {
	.so_path = "-pre SO_PATH",
	.dir_add = "-pre DIR_ADD",
	.id = "-pre ID",
	.dir_id = "-pre DIR_ADD + ID",
	.dir_so_path = "-pre DIR_ADD + SO_PATH",
	.module_path = "-pre MODULE_PATH",
};
const struct dyn_origins dyn_origins_post = {
	.so_path = "-post SO_PATH",
	.dir_add = "-post DIR_ADD",
	.id = "-post ID",
	.dir_id = "-post DIR_ADD + ID",
	.dir_so_path = "-post DIR_ADD + SO_PATH",
	.module_path = "-post MODULE_PATH",
};
const struct dyn_origins dyn_origins_config = {
	.so_path = "config SO_PATH",
	.dir_add = "config DIR_ADD",
	.id = "config ID",
	.dir_id = "config DIR_ADD + ID",
	.dir_so_path = "config DIR_ADD + SO_PATH",
	.module_path = "config MODULE_PATH",
};

void dyn_engine_init(struct dyn_engine *d)
{
	memset(d, 0, sizeof(*d));
	d->dir_load = 1;
}

/* ENGINE_ctrl_cmd_string's numeric argument (all of it, as strtol reads it), then its range. */
static void dyn_set_dir_load(struct dyn_engine *d, const char *arg)
{
	char *end;
	long v;

	if (!arg)
		return;
	v = strtol(arg, &end, 10);
	if (end != arg && !*end && v >= 0 && v <= 2)
		d->dir_load = (int)v;
}

/*
 * dynamic_load(): without SO_PATH the ID becomes the name, for good (a later ID does not change
 * it); the file is then "<ID>.so". The direct load (DIR_LOAD 0 or 1) opens the name itself: a
 * path is reported where SO_PATH or ID gave it, a bare name is the dynamic loader's to find.
 * What is left is each DIR_ADD directory merged with the name.
 */
static int dyn_load(struct module_requests *out, struct dyn_engine *d,
		    const struct dyn_origins *origins)
{
	size_t i;
	int err = 0;

	if (!d->lib && d->id) {
		d->lib = d->id;
		d->lib_from_id = true;
	}
	/* An absolute name is the only file: reported as the SO_PATH or ID that gave it. */
	if (!d->lib || !d->dir_load || d->lib[0] == '/')
		return 0;
	for (i = d->done_lib == d->lib ? d->done_dirs : 0; i < d->ndirs && !err; i++)
		err = modreq_add_merged(out, MODULE_ENGINE, d->dirs[i], strlen(d->dirs[i]), d->lib,
					d->lib_from_id,
					d->lib_from_id ? origins->dir_id : origins->dir_so_path);
	d->done_lib = d->lib;
	d->done_dirs = d->ndirs;
	return err;
}

/*
 * dynamic_ctrl() for one ctrl: cmd[0..clen) and its argument, NULL for none (a string ctrl then
 * fails and changes nothing; "" clears SO_PATH and ID). SO_PATH, DIR_ADD and ID are reported as
 * given, whatever engine gets them; LOAD reports what it would open. MODULE_PATH is the pkcs11
 * engine's (libp11 eng_front.c): the PKCS#11 module it dlopen()s as given, outside DSO_load.
 * Reported whatever engine gets it too: a copy of that engine can carry any id, and the dynamic
 * engine passes ctrls it does not know to the engine it loaded. Other ctrls (LIST_ADD,
 * NO_VCHECK, an engine's own) change nothing a load depends on. OpenSSL matches ctrl names
 * exactly; any case here costs nothing and misses nothing.
 */
int dyn_engine_ctrl(struct module_requests *out, struct dyn_engine *d,
		    const struct dyn_origins *origins, const char *cmd, size_t clen,
		    const char *arg)
{
#define CTRL_IS(n) (clen == strlen(n) && !strncasecmp(cmd, n, clen))
	if (CTRL_IS("LOAD"))
		return dyn_load(out, d, origins);
	if (!arg)
		return 0;
	if (CTRL_IS("SO_PATH")) {
		d->lib = *arg ? arg : NULL;
		d->lib_from_id = false;
		if (*arg)
			return modreq_add(out, MODULE_ENGINE, modref_of(arg, strlen(arg)), arg,
					  origins->so_path);
	} else if (CTRL_IS("ID")) {
		d->id = *arg ? arg : NULL;
		return modreq_add_engine(out, arg, origins->id);
	} else if (CTRL_IS("DIR_ADD")) {
		if (*arg && d->ndirs < DYN_MAX_DIRS)
			d->dirs[d->ndirs++] = arg;
		if (*arg)
			return modreq_add(out, MODULE_ENGINE, MODREF_DIR, arg, origins->dir_add);
	} else if (CTRL_IS("DIR_LOAD")) {
		dyn_set_dir_load(d, arg);
	} else if (CTRL_IS("MODULE_PATH")) {
		if (*arg)
			return modreq_add_pkcs11_module(out, arg, origins->module_path);
	}
#undef CTRL_IS
	return 0;
}

/* list: words separated by single spaces, ending in a space */
bool word_in_list(const char *list, const char *s, size_t len)
{
	const char *p = list;

	while (*p) {
		const char *sp = strchr(p, ' ');
		size_t wl = sp ? (size_t)(sp - p) : strlen(p);

		if (wl == len && !memcmp(p, s, len))
			return true;
		p += wl + (sp ? 1 : 0);
	}
	return false;
}
