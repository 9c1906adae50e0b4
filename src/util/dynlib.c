// SPDX-License-Identifier: Apache-2.0
#include "util/dynlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

#define DYNLIB_SYMBOLS_MAX 64

int dynlib_load(const char *soname, const char *package, const struct dynlib_symbol *symbols,
		const char **ret_error)
{
	static char error[512];
	void *found[DYNLIB_SYMBOLS_MAX];
	void *lib;
	size_t i;

	/* RTLD_NOW: a library too old for one of the functions used fails here, not mid-send */
	lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(error, sizeof(error), "cannot load %s (Debian's package %s): %s", soname,
			 package, dlerror());
		*ret_error = error;
		return -ENOENT;
	}
	for (i = 0; symbols[i].name; i++) {
		if (i == DYNLIB_SYMBOLS_MAX || !(found[i] = dlsym(lib, symbols[i].name))) {
			snprintf(error, sizeof(error),
				 "%s has no %s (Debian's package %s too old?)", soname,
				 i == DYNLIB_SYMBOLS_MAX ? "room for so many symbols"
							 : symbols[i].name,
				 package);
			*ret_error = error;
			dlclose(lib);
			return -ENOENT;
		}
	}
	/* Kept open for the life of the process: its functions stay reachable */
	while (i--)
		*symbols[i].address = found[i];
	return 0;
}
