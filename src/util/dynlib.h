/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SOWATCH_DYNLIB_H
#define SOWATCH_DYNLIB_H

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

/*
 * Loads the library by soname (the standard search path; LD_LIBRARY_PATH as for any library)
 * and fills every symbol of the list, which ends with a NULL name. All or nothing: on failure
 * no address is written, and *ret_error says which library or symbol is missing and which
 * Debian package provides it (a static buffer: call once per library, under pthread_once).
 * 0 or -ENOENT.
 */
int dynlib_load(const char *soname, const char *package, const struct dynlib_symbol *symbols,
		const char **ret_error);

#endif
