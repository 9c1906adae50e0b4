// SPDX-License-Identifier: Apache-2.0
/*
 * What CONF_modules_load() would load from a parsed configuration (crypto/conf/conf_mod.c,
 * crypto/engine/eng_cnf.c, crypto/provider_conf.c): the application's init section, its engines
 * and providers sections, and conf modules loaded from a DSO.
 */
#include "detectors/openssl_config_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- evaluation: what CONF_modules_load would do with the parsed file ---- */

static bool eval_tick(struct cfg *c)
{
	if (!c->eval_budget || cfg_full(c)) {
		c->truncated = true;
		return false;
	}
	c->eval_budget--;
	return true;
}

/* eng_cnf.c and provider_conf.c ignore everything up to the first '.' of a name. */
static const char *skip_dot(const char *name)
{
	const char *p = strchr(name, '.');

	return p ? p + 1 : name;
}

/*
 * int_engine_configure in eng_cnf.c. A section may be named by many engines lines, so what does
 * not depend on the engine's name is worked out (and reported) once per section.
 */
static int eval_engine(struct cfg *c, const char *key, const char *secname)
{
	uint32_t sid = cfg_find_section(c, secname), i;
	struct sec_memo *m;
	int err = 0;

	if (sid == NO_IDX)
		return 0;
	m = &c->memo[sid];
	if (!m->engine_done) {
		bool have_engine = false;
		struct dyn_engine dyn;

		dyn_engine_init(&dyn);
		m->engine_done = true;
		for (i = c->sec[sid].first; i != NO_IDX && !err && eval_tick(c);
		     i = c->ent[i].next) {
			const char *ctrl = skip_dot(c->ent[i].name), *val = c->ent[i].value;

			if (!strcmp(ctrl, "engine_id")) {
				if (!have_engine)
					m->engine_id = val;
			} else if (!strcmp(ctrl, "soft_load")) {
				continue;
			} else if (!strcmp(ctrl, "dynamic_path")) {
				err = modreq_add(c->out, MODULE_ENGINE, modref_of(val, strlen(val)),
						 val, "config dynamic_path");
				have_engine = true;
			} else {
				/* Any other ctrl needs the engine: ENGINE_by_id(name) loads it. */
				if (!have_engine)
					m->engine_by_name = true;
				have_engine = true;
				/* "EMPTY" is how a config passes no argument (LOAD = EMPTY). */
				err = dyn_engine_ctrl(c->out, &dyn, &dyn_origins_config, ctrl,
						      strlen(ctrl),
						      strcmp(val, "EMPTY") ? val : NULL);
			}
		}
	}
	if (!err && m->engine_by_name)
		err = modreq_add_engine(c->out, m->engine_id ? m->engine_id : skip_dot(key),
					"config engine");
	return err;
}

/* provider_conf_load in provider_conf.c; per-section work done once, as for engines. */
static int eval_provider(struct cfg *c, const char *key, const char *secname)
{
	uint32_t sid = cfg_find_section(c, secname), i;
	struct sec_memo *m;
	int err = 0;

	if (sid == NO_IDX)
		return 0;
	m = &c->memo[sid];
	if (!m->provider_done) {
		m->provider_done = true;
		for (i = c->sec[sid].first; i != NO_IDX && !err && eval_tick(c);
		     i = c->ent[i].next) {
			const char *cn = skip_dot(c->ent[i].name), *val = c->ent[i].value;

			if (!strcmp(cn, "identity")) {
				m->identity = val;
			} else if (!strcmp(cn, "module")) {
				/* Reported even for built-in names: a false request at worst. */
				err = modreq_add(c->out, MODULE_PROVIDER,
						 modref_of(val, strlen(val)), val, "config module");
				m->has_module = true;
			} else if (!strcmp(cn, "pkcs11_module")) {
				/* libp11's provider (0.4.14 on) reads it from its section. */
				err = modreq_add_pkcs11_module(c->out, val, "config pkcs11_module");
			}
		}
	}
	if (!err && !m->has_module)
		err = modreq_add_provider(c->out, m->identity ? m->identity : skip_dot(key),
					  "config provider");
	return err;
}

/* module_run in conf_mod.c for one line of the init section. */
static int eval_module(struct cfg *c, const char *name, const char *value)
{
	const char *dot = strrchr(name, '.');
	size_t mlen = dot ? (size_t)(dot - name) : strlen(name);
	uint32_t sid, i;
	const char *path;
	int err = 0;

	if (mlen == 7 && !memcmp(name, "engines", 7) &&
	    (sid = cfg_find_section(c, value)) != NO_IDX) {
		for (i = c->sec[sid].first; i != NO_IDX && !err && eval_tick(c); i = c->ent[i].next)
			err = eval_engine(c, c->ent[i].name, c->ent[i].value);
		return err;
	}
	if (mlen == 9 && !memcmp(name, "providers", 9) &&
	    (sid = cfg_find_section(c, value)) != NO_IDX) {
		for (i = c->sec[sid].first; i != NO_IDX && !err && eval_tick(c); i = c->ent[i].next)
			err = eval_provider(c, c->ent[i].name, c->ent[i].value);
		return err;
	}
	if (mlen == 7 && !memcmp(name, "engines", 7))
		return 0;
	if (mlen == 9 && !memcmp(name, "providers", 9))
		return 0;
	if (word_in_list("alg_section ssl_conf random stbl_section oid_section asn1 ", name, mlen))
		return 0;
	/* Not a module libcrypto knows: module_load_dso() dlopens "path" (or the name itself). */
	path = cfg_get_string(c, value, "path");
	if (!path)
		path = name;
	return modreq_add(c->out, MODULE_UNKNOWN, modref_of(path, strlen(path)), path,
			  "config DSO module");
}

static bool is_appname_key(const char *n)
{
	size_t l = strlen(n);

	/* openssl_conf is the default; programs pass their own "<app>_conf" (nodejs_conf). */
	return l >= 5 && !strcmp(n + l - 5, "_conf");
}

/* module_run for every line of an init section. */
static int eval_init_section(struct cfg *c, uint32_t sid)
{
	uint32_t j;
	int err = 0;

	for (j = c->sec[sid].first; j != NO_IDX && !err && eval_tick(c); j = c->ent[j].next)
		err = eval_module(c, c->ent[j].name, c->ent[j].value);
	return err;
}

/*
 * CONF_modules_load() given the program's appname: the init section its key in the default
 * section names, else, with CONF_MFLAGS_DEFAULT_SECTION, the one "openssl_conf" names.
 */
static int eval_appname(struct cfg *c)
{
	const char *init = cfg_get_string(c, NULL, c->appname);
	uint32_t sid;

	if (!init && c->default_section)
		init = cfg_get_string(c, NULL, "openssl_conf");
	sid = init ? cfg_find_section(c, init) : NO_IDX;
	return sid == NO_IDX ? 0 : eval_init_section(c, sid);
}

int cfg_eval(struct cfg *c)
{
	uint32_t def = cfg_find_section(c, "default"), i, sid;
	uint32_t *seen = NULL;
	size_t nseen = 0, capseen = 0, k;
	int err = 0;

	if (def == NO_IDX)
		return 0;
	c->memo = calloc(c->nsec, sizeof(*c->memo));
	if (!c->memo)
		return -ENOMEM;
	if (c->appname)
		return eval_appname(c);
	/* The program is not known: what any program's appname could load. */
	for (i = c->sec[def].first; i != NO_IDX && !err && eval_tick(c); i = c->ent[i].next) {
		if (!is_appname_key(c->ent[i].name))
			continue;
		sid = cfg_find_section(c, c->ent[i].value);
		if (sid == NO_IDX)
			continue;
		for (k = 0; k < nseen && seen[k] != sid; k++)
			;
		if (k < nseen)
			continue;
		if (nseen == capseen) {
			uint32_t *ns;

			capseen = capseen ? capseen * 2 : 8;
			ns = realloc(seen, capseen * sizeof(*ns));
			if (!ns) {
				err = -ENOMEM;
				break;
			}
			seen = ns;
		}
		seen[nseen++] = sid;
		err = eval_init_section(c, sid);
	}
	free(seen);
	return err;
}
