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
