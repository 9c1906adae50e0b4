/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the intent layer's parsers report: module requests, each a file, name, directory or
 * configuration file that OpenSSL may load from, and where it was named. Filled by
 * openssl_args.c (argv, environment) and openssl_config.c (configuration files); the helpers
 * below are what both model alike.
 */
#ifndef SOWATCH_DETECTORS_OPENSSL_REQUEST_H
#define SOWATCH_DETECTORS_OPENSSL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

enum module_kind {
	MODULE_ENGINE,
	MODULE_PROVIDER,
	MODULE_UNKNOWN,
	/*
	 * A PKCS#11 module that libp11's pkcs11 engine (or provider) dlopen()s itself, outside
	 * DSO_load: MODULE_PATH, PKCS11_MODULE_PATH. Such modules live in the system's library
	 * directories (p11-kit-proxy.so, the pkcs11 directory), not in ENGINESDIR.
	 */
	MODULE_PKCS11,
};

enum module_ref {
	/*
	 * Value names a file: contains '/', absolute or relative. Engines resolve a relative path
	 * against the process cwd; providers (-provider, config "module =") against the module
	 * search dir (-provider-path, OPENSSL_MODULES or MODULESDIR), so "../../tmp/x" escapes it.
	 */
	MODREF_PATH,
	/* Bare name: resolved in OPENSSL_ENGINES / OPENSSL_MODULES / -provider-path / built-in
	 * dirs, and for engines finally by dlopen("lib<name>.so"), i.e. through LD_LIBRARY_PATH. */
	MODREF_NAME,
	/* A directory added to the search path (-provider-path, -pre DIR_ADD:, OPENSSL_MODULES,
	 * OPENSSL_ENGINES, LD_LIBRARY_PATH entries). */
	MODREF_DIR,
	/* A configuration file (or include directory) OpenSSL will read. */
	MODREF_CONFIG,
};

struct module_request {
	enum module_kind kind;
	enum module_ref ref;
	char *value;	    /* owned, NUL-terminated; the value as given (arbitrary bytes) */
	const char *origin; /* static string naming where it came from, e.g. "-engine" */
};

struct module_requests {
	struct module_request *items;
	size_t n, cap;
};

void module_requests_free(struct module_requests *r);

/* ---- for the parsers ---- */

/* Append a copy of value[0..len) (NUL added); 0 or -ENOMEM. origin must be a static string. */
int modreq_add_n(struct module_requests *out, enum module_kind kind, enum module_ref ref,
		 const char *value, size_t len, const char *origin);
int modreq_add(struct module_requests *out, enum module_kind kind, enum module_ref ref,
	       const char *value, const char *origin);
/* MODREF_PATH when v[0..len) holds a '/', else MODREF_NAME. */
enum module_ref modref_of(const char *v, size_t len);
/* Engines and providers compiled into libcrypto: never files, never reported. */
bool openssl_builtin_engine(const char *id, size_t len);
bool openssl_builtin_provider(const char *name);
/* An engine or provider id or path; empty values and built-in names add nothing. */
int modreq_add_engine_n(struct module_requests *out, const char *v, size_t len, const char *origin);
int modreq_add_engine(struct module_requests *out, const char *v, const char *origin);
int modreq_add_provider(struct module_requests *out, const char *v, const char *origin);
/* A PKCS#11 module named to libp11 (MODULE_PKCS11); an empty value adds nothing. */
int modreq_add_pkcs11_module(struct module_requests *out, const char *v, const char *origin);
/* The file libcrypto opens for `name` searched in dir[0..dlen) (DSO_merge), as MODREF_PATH. */
int modreq_add_merged(struct module_requests *out, enum module_kind kind, const char *dir,
		      size_t dlen, const char *name, bool ext, const char *origin);
/* list: words separated by single spaces, ending in a space. */
bool word_in_list(const char *list, const char *s, size_t len);

/* ---- the dynamic engine's ctrls (crypto/engine/eng_dyn.c) ---- */

/*
 * int_load() walks every DIR_ADD directory, but OpenSSL 3.0 only ever opens the first: a failed
 * DSO_load() leaves its file name on the engine's DSO and every later DSO_load() on that DSO is
 * refused (DSO_R_DSO_ALREADY_LOADED), which also means DIR_LOAD:1 never reaches the directories
 * after its direct load. The loop is what OpenSSL means, so it is what gets reported, up to this
 * many directories.
 */
#define DYN_MAX_DIRS 8

/* The origins reported for one way of giving ctrls. */
struct dyn_origins {
	const char *so_path, *dir_add, *id;
	const char *dir_id;	 /* a DIR_ADD directory and the ID's file name */
	const char *dir_so_path; /* a DIR_ADD directory and SO_PATH */
	const char *module_path; /* the pkcs11 engine's MODULE_PATH */
};

/* One dynamic engine fed its ctrls in order. Values point into the caller's strings. */
struct dyn_engine {
	const char *id;
	const char *lib;  /* DYNAMIC_LIBNAME: SO_PATH, or the ID once a LOAD made it the name */
	bool lib_from_id; /* then the file is "<ID>.so" (DSO_FLAG_NAME_TRANSLATION_EXT_ONLY) */
	int dir_load;	  /* 0: never the directories, 1 (default): after a direct load, 2: only */
	const char *dirs[DYN_MAX_DIRS];
	size_t ndirs;
	const char *done_lib; /* a repeated LOAD of the same name reports only new directories */
	size_t done_dirs;
};

extern const struct dyn_origins dyn_origins_pre, dyn_origins_post, dyn_origins_config;

void dyn_engine_init(struct dyn_engine *d);
/*
 * One ctrl: cmd[0..clen) and its argument, NULL for none. Reports what the ctrl names or, for
 * LOAD, what it would open. 0 or -ENOMEM.
 */
int dyn_engine_ctrl(struct module_requests *out, struct dyn_engine *d,
		    const struct dyn_origins *origins, const char *cmd, size_t clen,
		    const char *arg);

#endif
