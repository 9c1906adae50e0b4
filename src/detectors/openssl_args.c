// SPDX-License-Identifier: Apache-2.0
/* The intent layer's argv and environment parsers: OpenSSL's apps/lib/opt.c, apps/engine.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "detectors/openssl_args.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------------------------ */
/* Command line */

/* `openssl help` and `openssl list -digest-commands -cipher-commands` of 3.0, plus 1.x names. */
static const char openssl_commands[] =
    "asn1parse ca ciphers cmp cms crl crl2pkcs7 dgst dhparam dsa dsaparam ec ecparam enc "
    "engine errstr fipsinstall gendsa genpkey genrsa help info kdf list mac nseq ocsp passwd "
    "pkcs12 pkcs7 pkcs8 pkey pkeyparam pkeyutl prime rand rehash req rsa rsautl s_client "
    "s_server s_time sess_id smime speed spkac srp storeutl ts verify version x509 dh gendh "
    "c_rehash blake2b512 blake2s256 md2 md4 md5 mdc2 rmd160 sha1 sha224 sha256 sha3-224 "
    "sha3-256 sha3-384 sha3-512 sha384 sha512 sha512-224 sha512-256 shake128 shake256 sm3 "
    "aes-128-cbc aes-128-ecb aes-192-cbc aes-192-ecb aes-256-cbc aes-256-ecb aria-128-cbc "
    "aria-128-cfb aria-128-cfb1 aria-128-cfb8 aria-128-ctr aria-128-ecb aria-128-ofb "
    "aria-192-cbc aria-192-cfb aria-192-cfb1 aria-192-cfb8 aria-192-ctr aria-192-ecb "
    "aria-192-ofb aria-256-cbc aria-256-cfb aria-256-cfb1 aria-256-cfb8 aria-256-ctr "
    "aria-256-ecb aria-256-ofb base64 bf bf-cbc bf-cfb bf-ecb bf-ofb camellia-128-cbc "
    "camellia-128-ecb camellia-192-cbc camellia-192-ecb camellia-256-cbc camellia-256-ecb "
    "cast cast-cbc cast5-cbc cast5-cfb cast5-ecb cast5-ofb des des-cbc des-cfb des-ecb "
    "des-ede des-ede-cbc des-ede-cfb des-ede-ofb des-ede3 des-ede3-cbc des-ede3-cfb "
    "des-ede3-ofb des-ofb des3 desx idea idea-cbc idea-cfb idea-ecb idea-ofb rc2 rc2-40-cbc "
    "rc2-64-cbc rc2-cbc rc2-cfb rc2-ecb rc2-ofb rc4 rc4-40 rc5 rc5-cbc rc5-cfb rc5-ecb "
    "rc5-ofb seed seed-cbc seed-cfb seed-ecb seed-ofb sm4-cbc sm4-cfb sm4-ctr sm4-ecb sm4-ofb ";

/*
 * Options that never take a value in any 3.0 command. Only used to decide whether a "--" right
 * after an option we do not model is the end of options or that option's value: listing a flag
 * here wrongly could hide what follows, so it holds only common, unambiguous ones.
 */
static const char known_flags[] =
    "help h noout text nodes noenc new x509 batch pubin pubout modulus check hash noverify "
    "quiet t tt c v vv vvv vvvv providers engines binary hex r engine_impl dates pubkey "
    "print_certs nocerts nokeys clcerts cacerts ";

static bool is_openssl_command(const char *s)
{
	return word_in_list(openssl_commands, s, strlen(s));
}

enum cmd_class {
	CMD_GENERIC,	 /* a known command: the options every command may have */
	CMD_ENGINE,	 /* `engine`: also -pre/-post and engine ids as positionals */
	CMD_FIPSINSTALL, /* also -module and -provider_name */
	CMD_UNKNOWN,	 /* not a name we know: every module-naming option */
};

enum opt_action {
	OPT_NONE,
	OPT_ENGINE,
	OPT_ENGINE_IMPL,
	OPT_PROVIDER,
	OPT_PROVIDER_PATH,
	OPT_CONFIG,
	OPT_MODULE,
	OPT_PROVIDER_NAME,
	OPT_PRE,
	OPT_POST,
};

struct opt_def {
	const char *name;
	enum opt_action action;
	bool takes_value;
	const char *origin;
};

static const struct opt_def module_opts[] = {
	{ "engine", OPT_ENGINE, true, "-engine" },
	{ "keygen_engine", OPT_ENGINE, true, "-keygen_engine" },
	{ "ssl_client_engine", OPT_ENGINE, true, "-ssl_client_engine" },
	{ "engine_impl", OPT_ENGINE_IMPL, false, "-engine_impl" },
	{ "provider", OPT_PROVIDER, true, "-provider" },
	{ "provider-path", OPT_PROVIDER_PATH, true, "-provider-path" },
	{ "config", OPT_CONFIG, true, "-config" },
	{ "module", OPT_MODULE, true, "fipsinstall -module" },
	{ "provider_name", OPT_PROVIDER_NAME, true, "fipsinstall -provider_name" },
	{ "pre", OPT_PRE, true, "-pre" },
	{ "post", OPT_POST, true, "-post" },
};

static const struct opt_def *find_opt(enum cmd_class cls, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(module_opts); i++) {
		const struct opt_def *o = &module_opts[i];

		if (strlen(o->name) != len || memcmp(o->name, name, len))
			continue;
		if ((o->action == OPT_MODULE || o->action == OPT_PROVIDER_NAME) &&
		    cls != CMD_FIPSINSTALL && cls != CMD_UNKNOWN)
			return NULL;
		if ((o->action == OPT_PRE || o->action == OPT_POST) && cls != CMD_ENGINE &&
		    cls != CMD_UNKNOWN)
			return NULL;
		return o;
	}
	return NULL;
}

static bool is_flag_of(enum cmd_class cls, const char *name, size_t len)
{
	if (cls == CMD_ENGINE)
		return word_in_list("help h t tt c v vv vvv vvvv ", name, len);
	return word_in_list(known_flags, name, len);
}

/*
 * An engine ctrl "CMD[:ARG]" as given to `engine -pre/-post` (apps/engine.c util_do_cmds). The
 * dynamic engine sees them in argv order: OpenSSL runs all -pre before any -post, and -post only
 * once the engine is loaded, so this order can only report more, never less.
 */
static int engine_ctrl(struct module_requests *out, struct dyn_engine *dyn, const char *v,
		       bool post)
{
	const char *colon = strchr(v, ':');
	size_t clen = colon ? (size_t)(colon - v) : strlen(v);

	return dyn_engine_ctrl(out, dyn, post ? &dyn_origins_post : &dyn_origins_pre, v, clen,
			       colon ? colon + 1 : NULL);
}

#define ENGINE_URI_PREFIX "org.openssl.engine:"

/* org.openssl.engine:<engine>:<key> makes the store loader call ENGINE_by_id(<engine>). */
static int engine_uri(struct module_requests *out, const char *v)
{
	size_t plen = strlen(ENGINE_URI_PREFIX);
	const char *id, *end;

	if (strncasecmp(v, ENGINE_URI_PREFIX, plen))
		return 0;
	id = v + plen;
	end = strchr(id, ':');
	if (!end)
		end = id + strlen(id);
	if (end == id)
		return 0;
	return modreq_add_engine_n(out, id, (size_t)(end - id), "org.openssl.engine: URI");
}

/* What options say only together, known once argv is read. Values point into argv. */
struct args_state {
	struct dyn_engine dyn;
	const char *fips_module;   /* fipsinstall -module */
	const char *fips_provider; /* fipsinstall -provider_name */
};

/*
 * `fipsinstall -module FILE` only reads FILE, to MAC it. What it loads is the provider named by
 * -provider_name ("fips" by default) with FILE's directory as the default search path
 * (apps/fipsinstall.c, OSSL_PROVIDER_set_default_search_path): "<dir>/fips.so". The directory
 * is FILE up to the '/' opt_path_end() finds, which ignores a '/' in first place: "m.so" and
 * "/m.so" both leave "" and so "/fips.so".
 */
static int fips_report(struct module_requests *out, const struct args_state *st)
{
	const char *m = st->fips_module, *name = st->fips_provider ? st->fips_provider : "fips";
	size_t dlen = 0, i;

	if (!m || openssl_builtin_provider(name))
		return 0;
	for (i = strlen(m); i-- > 1;) {
		if (m[i] == '/') {
			dlen = i + 1;
			break;
		}
	}
	return modreq_add_merged(out, MODULE_PROVIDER, m, dlen, name, true, "fipsinstall -module");
}

static int apply_opt(struct module_requests *out, struct args_state *st, const struct opt_def *o,
		     const char *val)
{
	/* An empty value names nothing OpenSSL could load. */
	if (o->takes_value && !*val)
		return 0;
	switch (o->action) {
	case OPT_ENGINE:
		return modreq_add_engine(out, val, o->origin);
	case OPT_ENGINE_IMPL:
		return modreq_add(out, MODULE_ENGINE, MODREF_NAME, "", o->origin);
	case OPT_PROVIDER:
		return modreq_add_provider(out, val, o->origin);
	case OPT_PROVIDER_PATH:
		return modreq_add(out, MODULE_PROVIDER, MODREF_DIR, val, o->origin);
	case OPT_CONFIG:
		return modreq_add(out, MODULE_UNKNOWN, MODREF_CONFIG, val, o->origin);
	case OPT_MODULE:
		st->fips_module = val;
		return 0;
	case OPT_PROVIDER_NAME:
		st->fips_provider = val;
		return 0;
	case OPT_PRE:
		return engine_ctrl(out, &st->dyn, val, false);
	case OPT_POST:
		return engine_ctrl(out, &st->dyn, val, true);
	case OPT_NONE:
		break;
	}
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static enum cmd_class classify_cmd(const char *cmd)
{
	if (!strcmp(cmd, "engine"))
		return CMD_ENGINE;
	if (!strcmp(cmd, "fipsinstall"))
		return CMD_FIPSINSTALL;
	return is_openssl_command(cmd) ? CMD_GENERIC : CMD_UNKNOWN;
}

/*
 * Models apps/lib/opt.c, but where the model could be wrong it reads on: every element after the
 * command is examined as a possible option even when the previous option may have consumed it
 * (an option we do not model may take a value, or not), and options after a positional are
 * still honoured (OpenSSL stops there for most commands, not for `engine`).
 */
int openssl_args_parse(const char *const *argv, size_t argc, struct module_requests *out)
{
	enum cmd_class cls;
	size_t i, start;
	bool prev_wants_value = false; /* previous element may be an option awaiting a value */
	bool prev_known_value = false; /* previous element is a modelled option awaiting one */
	bool ended = false;
	struct args_state st = { 0 };
	int err;

	if (!argv || argc == 0 || !out)
		return 0;
	dyn_engine_init(&st.dyn);
	if (argv[0] && is_openssl_command(base_name(argv[0]))) {
		cls = classify_cmd(base_name(argv[0]));
		start = 1;
	} else if (argc < 2 || !argv[1]) {
		return 0;
	} else if (argv[1][0] == '-' && argv[0] &&
		   strncmp(base_name(argv[0]), "openssl", strlen("openssl"))) {
		/*
		 * A renamed copy or symlink whose name we do not know may still be a command
		 * (a digest name, a newer command): read its arguments as options.
		 */
		cls = CMD_UNKNOWN;
		start = 1;
	} else {
		/* openssl.c runs argv[1] as the command; "-x" there is an invalid command. */
		if (argv[1][0] == '-')
			return 0;
		cls = classify_cmd(argv[1]);
		start = 2;
	}

	for (i = start; i < argc; i++) {
		const char *a = argv[i];
		const struct opt_def *o;
		const char *name, *eq;
		size_t nlen;
		bool is_value = prev_known_value;

		if (!a)
			break;
		prev_known_value = false;
		err = engine_uri(out, a);
		if (err)
			return err;
		if (ended) {
			if (cls == CMD_ENGINE) {
				err = modreq_add_engine(out, a, "engine command");
				if (err)
					return err;
			}
			continue;
		}
		if (!strcmp(a, "--") && !prev_wants_value) {
			ended = true;
			continue;
		}
		if (a[0] != '-' || !a[1] || !strcmp(a, "--")) {
			prev_wants_value = false;
			if (cls == CMD_ENGINE && !is_value && a[0] != '-') {
				err = modreq_add_engine(out, a, "engine command");
				if (err)
					return err;
			}
			continue;
		}
		name = a + 1;
		if (*name == '-')
			name++;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		if (eq) {
			err = engine_uri(out, eq + 1);
			if (err)
				return err;
		}
		o = find_opt(cls, name, nlen);
		if (!o) {
			prev_wants_value = !eq && !is_flag_of(cls, name, nlen);
			continue;
		}
		prev_wants_value = false;
		if (!o->takes_value) {
			err = apply_opt(out, &st, o, NULL);
		} else if (eq) {
			err = apply_opt(out, &st, o, eq + 1);
		} else if (i + 1 < argc && argv[i + 1]) {
			/* The next element is this option's value, yet it is examined again too. */
			err = apply_opt(out, &st, o, argv[i + 1]);
			prev_wants_value = true;
			prev_known_value = true;
		} else {
			err = 0;
		}
		if (err)
			return err;
	}
	return fips_report(out, &st);
}

/* ------------------------------------------------------------------------------------------ */
/* Environment */

static int split_list(struct module_requests *out, const char *v, const char *seps,
		      enum module_kind kind, bool dirs, const char *origin)
{
	const char *p = v;
	int err;

	for (;;) {
		size_t len = strcspn(p, seps);

		if (dirs) {
			/* ld.so reads an empty entry as the current directory. */
			err = len ? modreq_add_n(out, kind, MODREF_DIR, p, len, origin)
				  : modreq_add(out, kind, MODREF_DIR, ".", origin);
		} else {
			err = len ? modreq_add_n(out, kind, modref_of(p, len), p, len, origin) : 0;
		}
		if (err)
			return err;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

int openssl_env_parse(const char *const *env, size_t envc, struct module_requests *out)
{
	size_t i;
	int err = 0;

	if (!env || !out)
		return 0;
	for (i = 0; i < envc && !err; i++) {
		const char *e = env[i], *eq, *v;
		size_t nlen;

		if (!e)
			continue;
		eq = strchr(e, '=');
		if (!eq)
			continue;
		nlen = (size_t)(eq - e);
		v = eq + 1;
#define ENV_IS(n) (nlen == strlen(n) && !memcmp(e, n, nlen))
		if (ENV_IS("OPENSSL_CONF"))
			err = modreq_add(out, MODULE_UNKNOWN, MODREF_CONFIG, v, "OPENSSL_CONF");
		else if (ENV_IS("OPENSSL_CONF_INCLUDE"))
			err = modreq_add(out, MODULE_UNKNOWN, MODREF_CONFIG, v,
					 "OPENSSL_CONF_INCLUDE");
		else if (ENV_IS("OPENSSL_ENGINES"))
			err = modreq_add(out, MODULE_ENGINE, MODREF_DIR, v, "OPENSSL_ENGINES");
		else if (ENV_IS("OPENSSL_MODULES"))
			err = modreq_add(out, MODULE_PROVIDER, MODREF_DIR, v, "OPENSSL_MODULES");
		else if (ENV_IS("PKCS11_MODULE_PATH"))
			err = modreq_add_pkcs11_module(out, v, "PKCS11_MODULE_PATH");
		else if (ENV_IS("LD_LIBRARY_PATH"))
			err = split_list(out, v, ":;", MODULE_ENGINE, true, "LD_LIBRARY_PATH");
		else if (ENV_IS("LD_PRELOAD"))
			err = split_list(out, v, ": \t", MODULE_UNKNOWN, false, "LD_PRELOAD");
#undef ENV_IS
	}
	return err;
}
