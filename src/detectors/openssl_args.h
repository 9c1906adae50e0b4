/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intent layer: what an OpenSSL CLI process asks OpenSSL to load, read from its argv, environment
 * and configuration files. Everything here errs towards reporting: a request that OpenSSL would
 * reject is cheap (the trust layer filters it), a missed one is a blind spot.
 */
#ifndef SOWATCH_DETECTORS_OPENSSL_ARGS_H
#define SOWATCH_DETECTORS_OPENSSL_ARGS_H

#include <stddef.h>

enum module_kind { MODULE_ENGINE, MODULE_PROVIDER, MODULE_UNKNOWN };

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

/*
 * argv[0] is the program name: if its basename is an OpenSSL command name (a symlink `engine` or
 * `dgst` to openssl runs that command) the command is that basename, else argv[1].
 * Files reported are those OpenSSL opens, where argv says enough to know them: the dynamic
 * engine's `-pre DIR_ADD:D -pre ID:X -pre LOAD` gives "D/X.so"; `fipsinstall -module F` gives
 * "fips.so" (or -provider_name's) in F's directory, F itself being only read.
 * Appends to *out; returns 0 or -ENOMEM (what was appended before the failure stays).
 */
int openssl_args_parse(const char *const *argv, size_t argc, struct module_requests *out);

/*
 * env: "NAME=value" strings. OPENSSL_CONF, OPENSSL_CONF_INCLUDE, OPENSSL_ENGINES,
 * OPENSSL_MODULES, LD_LIBRARY_PATH (each entry a MODREF_DIR for engines, as bare engine names
 * end in dlopen) and LD_PRELOAD (each entry, MODULE_UNKNOWN) are reported; the rest is ignored.
 */
int openssl_env_parse(const char *const *env, size_t envc, struct module_requests *out);

/*
 * Read an OpenSSL config file and report what it would load: engine sections' dynamic_path,
 * SO_PATH, DIR_ADD, ID ctrls, the file a LOAD ctrl opens in a DIR_ADD directory (as for
 * `engine -pre`) and the engine loaded by name; provider sections' module (or the
 * provider name when there is none); conf modules that are not built in (loaded from a DSO named
 * by their "path"); .include targets (files and directories, depth <= 8, <= 64 files, cycle-safe,
 * <= 1 MiB read per file).
 *
 * root: prefix the process sees as "/" (e.g. "/proc/1234/root"; "" or NULL for none); symlinks
 * are resolved inside it when the kernel allows (openat2 RESOLVE_IN_ROOT). Paths reported are
 * as the process sees them, without root. conf_include_dir: OPENSSL_CONF_INCLUDE or NULL.
 * Relative include paths are taken relative to conf_include_dir, else `.pragma includedir:`,
 * else (openssl_config_parse_ex) the process cwd, else the including file's directory.
 * Returns 0 (also when files are missing or malformed: what was found is reported) or -ENOMEM.
 */
int openssl_config_parse(const char *root, const char *path, const char *conf_include_dir,
			 struct module_requests *out);
/* cwd: the process's working directory as it sees it (OpenSSL 3.0 opens relative includes from
 * there), or NULL when unknown. */
int openssl_config_parse_ex(const char *root, const char *path, const char *conf_include_dir,
			    const char *cwd, struct module_requests *out);

#endif
