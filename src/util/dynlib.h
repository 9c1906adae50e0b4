/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SOWATCH_DYNLIB_H
#define SOWATCH_DYNLIB_H

#include <stdbool.h>

/*
 * Libraries that only an optional feature needs (libcurl for the webhook output,
 * libmicrohttpd for the metrics server) are loaded when that feature is first configured, not
 * linked. Linked, they and what they pull in (LDAP, Kerberos, GnuTLS, SSH, RTMP: 29 libraries)
 * are mapped and relocated in every sensor, and cost about 5 MiB of resident memory that a
 * default configuration never uses.
 */

/* One function to look up: its name and where its address goes */
struct dynlib_symbol {
	const char *name;
	void **address;
};

/* One library, described by its user (a static object), loaded at most once */
struct dynlib {
	const char *soname;		     /* "libcurl.so.4" */
	const char *package;		     /* the Debian package that has it: "libcurl4" */
	const struct dynlib_symbol *symbols; /* ends with a NULL name */
	/* Once the symbols are found: the library's own global set-up. NULL, or why it failed. */
	const char *(*setup)(void);
	/* dynlib's own, under its lock */
	bool tried, ready;
	const char *error;
	char error_text[512];
};

/*
 * Loads lib the first time it is called (thread-safe), by soname on the standard search path,
 * and fills every symbol: all or nothing, no address is written if one is missing. Then runs
 * lib->setup. Later calls say again what the first one found. 0, or -ENOENT with *ret_error
 * (lib's own text) saying which library or symbol is missing and which package has it.
 */
int dynlib_use(struct dynlib *lib, const char **ret_error);

#endif
