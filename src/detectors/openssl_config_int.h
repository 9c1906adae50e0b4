/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by openssl_config.c (reading files: syntax, includes, $var expansion) and
 * openssl_config_eval.c (what CONF_modules_load() does with what was read). Not for other users.
 */
#ifndef SOWATCH_DETECTORS_OPENSSL_CONFIG_INT_H
#define SOWATCH_DETECTORS_OPENSSL_CONFIG_INT_H

#include "detectors/openssl_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONF_MAX_FILE_BYTES (1u << 20)
#define CONF_MAX_FILES	    64
#define CONF_MAX_DEPTH	    8
#define CONF_MAX_VALUE	    65536	/* MAX_CONF_VALUE_LENGTH */
#define CONF_EXPAND_BUDGET  (32u << 20) /* bytes produced by $var expansion, all files */
#define CONF_EVAL_BUDGET    (16u << 20) /* section entries visited while evaluating */
#define CONF_MAX_REPORTS    16384	/* requests one config parse may add */
#define CONF_MAX_ENTRIES    (1u << 18)	/* name = value lines kept, all files */
#define NO_IDX		    UINT32_MAX

struct cfg_entry {
	uint32_t section;
	uint32_t next; /* next entry of the same section */
	char *name;
	char *value;
};

struct cfg_section {
	char *name;
	uint32_t first, last;
};

struct sec_memo {
	bool engine_done, engine_by_name, provider_done, has_module;
	const char *engine_id; /* engine_id given before the engine is loaded */
	const char *identity;
};

struct cfg_hash {
	uint32_t *slots; /* index + 1, 0 = empty */
	size_t cap, used;
};

struct cfg {
	struct cfg_entry *ent;
	size_t nent, capent;
	struct cfg_section *sec;
	size_t nsec, capsec;
	struct cfg_hash sec_hash; /* section name -> section */
	struct cfg_hash val_hash; /* (section, name) -> latest entry */
	uint32_t cur;
	bool dollarid;
	char *includedir; /* .pragma includedir */
	const char *root;
	int rootfd;
	const char *conf_include_dir;
	const char *cwd;
	const char *appname;  /* CONF_modules_load's; NULL: every "*_conf" key */
	bool default_section; /* CONF_MFLAGS_DEFAULT_SECTION: fall back to openssl_conf */
	size_t files;
	size_t expand_budget;
	size_t eval_budget;
	bool truncated; /* a limit cut the work short */
	struct {
		dev_t dev;
		ino_t ino;
	} stack[CONF_MAX_DEPTH + 2];
	size_t depth;
	struct sec_memo *memo; /* per section, during evaluation */
	struct module_requests *out;
	size_t report_limit; /* out->n beyond which nothing more is worth reporting */
	int err;	     /* first -ENOMEM */
};

static inline bool cfg_full(const struct cfg *c)
{
	return c->out->n >= c->report_limit;
}

uint32_t cfg_find_section(const struct cfg *c, const char *name);
/* _CONF_get_string: the value of name in section, else in "default"; NULL when neither. */
const char *cfg_get_string(const struct cfg *c, const char *section, const char *name);
/* Evaluate the parsed files: report what loading their configuration would load. */
int cfg_eval(struct cfg *c);

#endif
