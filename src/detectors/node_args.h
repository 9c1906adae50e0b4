/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Node.js links OpenSSL 3 statically and loads an OpenSSL configuration at start. What its
 * command line and environment say about that configuration, read the way node 20 reads them
 * (src/node.cc InitializeOncePerProcessInternal, src/node_options-inl.h OptionsParser::Parse,
 * ParseNodeOptionsEnvVar in src/node_options.cc):
 *
 *   - the file: the last non-empty --openssl-config (NODE_OPTIONS first, then argv, so argv's
 *     wins; an empty value clears an earlier one), else OPENSSL_CONF when not empty, else
 *     OpenSSL's default openssl.cnf;
 *   - the section: node passes the appname "nodejs_conf", or "openssl_conf" with
 *     --openssl-shared-config, and only CONF_MFLAGS_IGNORE_MISSING_FILE: a file without that
 *     key in its default section configures nothing (OpenSSL's fallback to openssl_conf needs
 *     CONF_MFLAGS_DEFAULT_SECTION, which node does not pass);
 *   - --openssl-legacy-provider loads the legacy provider (a file in MODULESDIR).
 */
#ifndef SOWATCH_DETECTORS_NODE_ARGS_H
#define SOWATCH_DETECTORS_NODE_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define NODE_OPENSSL_APPNAME	    "nodejs_conf"
#define NODE_OPENSSL_SHARED_APPNAME "openssl_conf"

struct node_openssl_opts {
	/* Owned. The configuration file named, as given (relative ones are opened from node's
	 * cwd); NULL when none is, and OpenSSL's default openssl.cnf is read. */
	char *config_file;
	/* config_file came from --openssl-config, not from OPENSSL_CONF. */
	bool config_from_option;
	/* --openssl-shared-config (the last of it and --no-openssl-shared-config wins). */
	bool shared_config;
	/* The section node starts from: NODE_OPENSSL_APPNAME or NODE_OPENSSL_SHARED_APPNAME. */
	const char *appname;
	/* --openssl-legacy-provider: node loads OpenSSL's "legacy" provider. */
	bool legacy_provider;
	/*
	 * Node refuses these options and exits before it loads any OpenSSL configuration:
	 * NODE_OPTIONS with an unterminated quote, a trailing backslash inside quotes, a "--";
	 * an option that needs a value without one; a negated one that takes a value. The other
	 * fields then say what the options would mean had node read on past each fault (the
	 * rest of NODE_OPTIONS' words is dropped at its fault, argv is still read), for a caller
	 * that would rather over-report.
	 */
	bool rejected;
};

/*
 * argv[0] is the program; options end at the first argument that is not one (the script, "-")
 * or at "--". env: "NAME=value" strings; NODE_OPTIONS and OPENSSL_CONF are read (the first of
 * each, as getenv() does). Options node 20 does not know are taken as flags, as node hands them
 * to V8 without a value. Returns 0 with *ret filled (free with node_openssl_opts_free()), or
 * -ENOMEM with *ret empty.
 */
int node_openssl_options(const char *const *argv, size_t argc, const char *const *env, size_t envc,
			 struct node_openssl_opts *ret);
void node_openssl_opts_free(struct node_openssl_opts *o);

/*
 * NODE_OPTIONS split as node splits it: words separated by spaces (only ' '), double quotes
 * group and may start or stop inside a word, a backslash inside quotes takes the next byte as
 * it is, an empty "" adds no word. Returns the number of words, their text NUL-separated in
 * *buf and pointed to by *words (both owned by the caller, free()), or -ENOMEM. *invalid: node
 * would refuse the value (an unterminated quote, or a backslash ending it inside quotes); the
 * words up to the fault are still given.
 */
long node_options_split(const char *value, char **buf, char ***words, bool *invalid);

#endif
