/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intent layer: what an OpenSSL configuration file (openssl.cnf and what it includes) makes
 * libcrypto load when a program loads its configuration. Like the argv parser, it errs towards
 * reporting.
 */
#ifndef SOWATCH_DETECTORS_OPENSSL_CONFIG_H
#define SOWATCH_DETECTORS_OPENSSL_CONFIG_H

#include "detectors/openssl_request.h"

#include <stdbool.h>

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
 *
 * Which program reads the file is not known here, so the init section of every "*_conf" key of
 * the default section is evaluated (openssl_conf, nodejs_conf, ...): openssl_config_parse_app()
 * starts from one.
 */
int openssl_config_parse(const char *root, const char *path, const char *conf_include_dir,
			 struct module_requests *out);
/* cwd: the process's working directory as it sees it (OpenSSL 3.0 opens relative includes from
 * there), or NULL when unknown. */
int openssl_config_parse_ex(const char *root, const char *path, const char *conf_include_dir,
			    const char *cwd, struct module_requests *out);
/*
 * As CONF_modules_load(cnf, appname, flags) would: only the init section that appname's key in
 * the default section names (node: "nodejs_conf", or "openssl_conf" with
 * --openssl-shared-config). default_section: CONF_MFLAGS_DEFAULT_SECTION, with which a file
 * without that key falls back to "openssl_conf" (OpenSSL's own default flags have it; node
 * passes only CONF_MFLAGS_IGNORE_MISSING_FILE). appname NULL: as openssl_config_parse_ex().
 */
int openssl_config_parse_app(const char *root, const char *path, const char *conf_include_dir,
			     const char *cwd, const char *appname, bool default_section,
			     struct module_requests *out);

#endif
