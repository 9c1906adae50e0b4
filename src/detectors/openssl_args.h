/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intent layer: what an OpenSSL CLI process asks OpenSSL to load, read from its argv and
 * environment (configuration files: openssl_config.h). Everything here errs towards reporting:
 * a request that OpenSSL would reject is cheap (the trust layer filters it), a missed one is a
 * blind spot.
 */
#ifndef SOWATCH_DETECTORS_OPENSSL_ARGS_H
#define SOWATCH_DETECTORS_OPENSSL_ARGS_H

#include "detectors/openssl_request.h"

#include <stddef.h>

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
 * end in dlopen), LD_PRELOAD (each entry, MODULE_UNKNOWN) and PKCS11_MODULE_PATH are reported;
 * the rest is ignored. PKCS11_MODULE_PATH (MODULE_PKCS11) is the module libp11's pkcs11 engine
 * loads, Debian 12's 0.4.12 included: read when the engine is bound (ctx_new), then replaced by
 * any MODULE_PATH ctrl (argv or config), else p11-kit-proxy.so. Whether the engine is loaded at
 * all, and whether a ctrl overrides it, is not known here, so it is always reported.
 */
int openssl_env_parse(const char *const *env, size_t envc, struct module_requests *out);

#endif
