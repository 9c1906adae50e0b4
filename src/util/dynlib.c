// SPDX-License-Identifier: Apache-2.0
#include "util/dynlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#define DYNLIB_SYMBOLS_MAX 64

static pthread_mutex_t dynlib_lock = PTHREAD_MUTEX_INITIALIZER;

/* 0, or -ENOENT with lib->error set */
static int load(struct dynlib *lib)
{
	void *found[DYNLIB_SYMBOLS_MAX];
	void *handle;
	size_t i;

	/* RTLD_NOW: a library too old for one of the functions used fails here, not mid-send */
	handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		snprintf(lib->error_text, sizeof(lib->error_text),
			 "cannot load %s (Debian's package %s): %s", lib->soname, lib->package,
			 dlerror());
		return -ENOENT;
	}
	for (i = 0; lib->symbols[i].name; i++) {
		if (i == DYNLIB_SYMBOLS_MAX || !(found[i] = dlsym(handle, lib->symbols[i].name))) {
			snprintf(lib->error_text, sizeof(lib->error_text),
				 "%s has no %s (Debian's package %s too old?)", lib->soname,
				 i == DYNLIB_SYMBOLS_MAX ? "room for so many symbols"
							 : lib->symbols[i].name,
				 lib->package);
			dlclose(handle);
			return -ENOENT;
		}
	}
	/* Kept open for the life of the process: its functions stay reachable */
	while (i--)
		*lib->symbols[i].address = found[i];
	return 0;
}

int dynlib_use(struct dynlib *lib, const char **ret_error)
{
	pthread_mutex_lock(&dynlib_lock);
	if (!lib->tried) {
		lib->tried = true;
		if (load(lib) < 0)
			lib->error = lib->error_text;
		else if (lib->setup)
			lib->error = lib->setup();
		lib->ready = !lib->error;
	}
	pthread_mutex_unlock(&dynlib_lock);
	if (!lib->ready) {
		*ret_error = lib->error;
		return -ENOENT;
	}
	return 0;
}
