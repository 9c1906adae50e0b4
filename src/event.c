// SPDX-License-Identifier: Apache-2.0
#include "event.h"

#include <string.h>

const char *const env_of_interest[] = {
	"OPENSSL_CONF",
	"OPENSSL_CONF_INCLUDE",
	"OPENSSL_ENGINES",
	"OPENSSL_MODULES",
	"LD_PRELOAD",
	"LD_LIBRARY_PATH",
	/* the PKCS#11 module libp11's pkcs11 engine loads when no MODULE_PATH ctrl names one */
	"PKCS11_MODULE_PATH",
	/* node's options, --openssl-config among them, can come from here too */
	"NODE_OPTIONS",
	NULL,
};

/* entry: "NAME=value", not necessarily NUL-terminated, len bytes */
bool env_is_of_interest(const char *entry, size_t len)
{
	for (const char *const *name = env_of_interest; *name; name++) {
		size_t n = strlen(*name);

		if (len > n && entry[n] == '=' && memcmp(entry, *name, n) == 0)
			return true;
	}
	return false;
}

const char *const cloud_run_var_names[CLOUD_RUN_VARS] = {
	[CLOUD_RUN_SERVICE] = "K_SERVICE",
	[CLOUD_RUN_REVISION] = "K_REVISION",
	[CLOUD_RUN_CONFIGURATION] = "K_CONFIGURATION",
};

int cloud_run_from_env(char *const *env, size_t n, const char *ret[CLOUD_RUN_VARS])
{
	bool seen[CLOUD_RUN_VARS] = { false };
	int found = 0;

	for (int v = 0; v < CLOUD_RUN_VARS; v++)
		ret[v] = NULL;
	for (size_t i = 0; env && i < n; i++) {
		for (int v = 0; env[i] && v < CLOUD_RUN_VARS; v++) {
			size_t len = strlen(cloud_run_var_names[v]);
			const char *value = env[i] + len + 1;

			if (strncmp(env[i], cloud_run_var_names[v], len) != 0 || env[i][len] != '=')
				continue;
			/* The first entry is the one getenv() returns: a later one is ignored,
			 * even when the first is unusable. */
			if (!seen[v] && value[0] &&
			    strnlen(value, CLOUD_RUN_VALUE_MAX + 1) <= CLOUD_RUN_VALUE_MAX) {
				ret[v] = value;
				found++;
			}
			seen[v] = true;
		}
	}
	return found;
}
