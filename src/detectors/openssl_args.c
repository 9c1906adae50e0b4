// SPDX-License-Identifier: Apache-2.0
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "detectors/openssl_args.h"

#include "proc/procfile.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------------------------ */
/* Result list */

void module_requests_free(struct module_requests *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		free(r->items[i].value);
	free(r->items);
	r->items = NULL;
	r->n = 0;
	r->cap = 0;
}

static int add_req_n(struct module_requests *out, enum module_kind kind, enum module_ref ref,
		     const char *value, size_t len, const char *origin)
{
	struct module_request *it;
	char *v;

	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 8;

		if (cap < out->cap || cap > SIZE_MAX / sizeof(*it))
			return -ENOMEM;
		it = realloc(out->items, cap * sizeof(*it));
		if (!it)
			return -ENOMEM;
		out->items = it;
		out->cap = cap;
	}
	v = malloc(len + 1);
	if (!v)
		return -ENOMEM;
	memcpy(v, value, len);
	v[len] = '\0';
	it = &out->items[out->n++];
	it->kind = kind;
	it->ref = ref;
	it->value = v;
	it->origin = origin;
	return 0;
}

static int add_req(struct module_requests *out, enum module_kind kind, enum module_ref ref,
		   const char *value, const char *origin)
{
	return add_req_n(out, kind, ref, value, strlen(value), origin);
}

static enum module_ref path_or_name(const char *v, size_t len)
{
	return memchr(v, '/', len) ? MODREF_PATH : MODREF_NAME;
}

/*
 * Only ids compiled into libcrypto: everything else (afalg, padlock, loader_attic, capi,
 * devcrypto when not built in) is a shared object looked up in OPENSSL_ENGINES/ENGINESDIR,
 * which an attacker can redirect, so those are reported and the trust layer resolves them.
 */
static bool builtin_engine(const char *id, size_t len)
{
	static const char *const ids[] = { "dynamic", "rdrand" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ids); i++)
		if (strlen(ids[i]) == len && !memcmp(ids[i], id, len))
			return true;
	return false;
}

/* Providers compiled into libcrypto; legacy and fips are shared objects and get reported. */
static bool builtin_provider(const char *name)
{
	return !strcmp(name, "default") || !strcmp(name, "base") || !strcmp(name, "null");
}

static int add_engine_n(struct module_requests *out, const char *v, size_t len, const char *origin)
{
	enum module_ref ref = path_or_name(v, len);

	if (!len || (ref == MODREF_NAME && builtin_engine(v, len)))
		return 0;
	return add_req_n(out, MODULE_ENGINE, ref, v, len, origin);
}

static int add_engine(struct module_requests *out, const char *v, const char *origin)
{
	return add_engine_n(out, v, strlen(v), origin);
}

static int add_provider(struct module_requests *out, const char *v, const char *origin)
{
	enum module_ref ref = path_or_name(v, strlen(v));

	if (!*v || (ref == MODREF_NAME && builtin_provider(v)))
		return 0;
	return add_req(out, MODULE_PROVIDER, ref, v, origin);
}

/*
 * The file libcrypto opens for a module named `name` searched in dir[0..dlen): DSO_merge()
 * (dlfcn_merger: a name starting with '/' wins, else the directory less one trailing '/', then
 * '/', then the name), after DSO_convert_filename() with DSO_FLAG_NAME_TRANSLATION_EXT_ONLY when
 * ext (".so" appended to a name without '/'). The result holds a '/', so dlopen() takes it as a
 * path: relative ones are relative to the cwd.
 */
static int add_merged(struct module_requests *out, enum module_kind kind, const char *dir,
		      size_t dlen, const char *name, bool ext, const char *origin)
{
	struct strbuf sb = STRBUF_INIT;
	int err = 0;

	if (name[0] != '/') {
		if (dlen && dir[dlen - 1] == '/')
			dlen--;
		err = strbuf_add(&sb, dir, dlen);
		if (!err)
			err = strbuf_addc(&sb, '/');
	}
	if (!err)
		err = strbuf_adds(&sb, name);
	if (!err && ext && !strchr(name, '/'))
		err = strbuf_adds(&sb, ".so");
	if (!err)
		err = add_req(out, kind, MODREF_PATH, sb.buf, origin);
	strbuf_release(&sb);
	return err;
}

/* ------------------------------------------------------------------------------------------ */
/* The dynamic engine's ctrls (crypto/engine/eng_dyn.c), from `engine -pre` or a config section */

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
};

static const struct dyn_origins dyn_pre = { "-pre SO_PATH", "-pre DIR_ADD", "-pre ID",
					    "-pre DIR_ADD + ID", "-pre DIR_ADD + SO_PATH" };
static const struct dyn_origins dyn_post = { "-post SO_PATH", "-post DIR_ADD", "-post ID",
					     "-post DIR_ADD + ID", "-post DIR_ADD + SO_PATH" };
static const struct dyn_origins dyn_config = { "config SO_PATH", "config DIR_ADD", "config ID",
					       "config DIR_ADD + ID", "config DIR_ADD + SO_PATH" };

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

static void dyn_init(struct dyn_engine *d)
{
	memset(d, 0, sizeof(*d));
	d->dir_load = 1;
}

/* ENGINE_ctrl_cmd_string's numeric argument (all of it, as strtol reads it), then its range. */
static void dyn_set_dir_load(struct dyn_engine *d, const char *arg)
{
	char *end;
	long v;

	if (!arg)
		return;
	v = strtol(arg, &end, 10);
	if (end != arg && !*end && v >= 0 && v <= 2)
		d->dir_load = (int)v;
}

/*
 * dynamic_load(): without SO_PATH the ID becomes the name, for good (a later ID does not change
 * it); the file is then "<ID>.so". The direct load (DIR_LOAD 0 or 1) opens the name itself: a
 * path is reported where SO_PATH or ID gave it, a bare name is the dynamic loader's to find.
 * What is left is each DIR_ADD directory merged with the name.
 */
static int dyn_load(struct module_requests *out, struct dyn_engine *d,
		    const struct dyn_origins *origins)
{
	size_t i;
	int err = 0;

	if (!d->lib && d->id) {
		d->lib = d->id;
		d->lib_from_id = true;
	}
	/* An absolute name is the only file: reported as the SO_PATH or ID that gave it. */
	if (!d->lib || !d->dir_load || d->lib[0] == '/')
		return 0;
	for (i = d->done_lib == d->lib ? d->done_dirs : 0; i < d->ndirs && !err; i++)
		err = add_merged(out, MODULE_ENGINE, d->dirs[i], strlen(d->dirs[i]), d->lib,
				 d->lib_from_id,
				 d->lib_from_id ? origins->dir_id : origins->dir_so_path);
	d->done_lib = d->lib;
	d->done_dirs = d->ndirs;
	return err;
}

/*
 * dynamic_ctrl() for one ctrl: cmd[0..clen) and its argument, NULL for none (a string ctrl then
 * fails and changes nothing; "" clears SO_PATH and ID). SO_PATH, DIR_ADD and ID are reported as
 * given, whatever engine gets them; LOAD reports what it would open. Other ctrls (LIST_ADD,
 * NO_VCHECK, an engine's own) change nothing a load depends on. OpenSSL matches ctrl names
 * exactly; any case here costs nothing and misses nothing.
 */
static int dyn_ctrl(struct module_requests *out, struct dyn_engine *d,
		    const struct dyn_origins *origins, const char *cmd, size_t clen,
		    const char *arg)
{
#define CTRL_IS(n) (clen == strlen(n) && !strncasecmp(cmd, n, clen))
	if (CTRL_IS("LOAD"))
		return dyn_load(out, d, origins);
	if (!arg)
		return 0;
	if (CTRL_IS("SO_PATH")) {
		d->lib = *arg ? arg : NULL;
		d->lib_from_id = false;
		if (*arg)
			return add_req(out, MODULE_ENGINE, path_or_name(arg, strlen(arg)), arg,
				       origins->so_path);
	} else if (CTRL_IS("ID")) {
		d->id = *arg ? arg : NULL;
		return add_engine(out, arg, origins->id);
	} else if (CTRL_IS("DIR_ADD")) {
		if (*arg && d->ndirs < DYN_MAX_DIRS)
			d->dirs[d->ndirs++] = arg;
		if (*arg)
			return add_req(out, MODULE_ENGINE, MODREF_DIR, arg, origins->dir_add);
	} else if (CTRL_IS("DIR_LOAD")) {
		dyn_set_dir_load(d, arg);
	}
#undef CTRL_IS
	return 0;
}

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

/* list: words separated by single spaces, ending in a space */
static bool in_words(const char *list, const char *s, size_t len)
{
	const char *p = list;

	while (*p) {
		const char *sp = strchr(p, ' ');
		size_t wl = sp ? (size_t)(sp - p) : strlen(p);

		if (wl == len && !memcmp(p, s, len))
			return true;
		p += wl + (sp ? 1 : 0);
	}
	return false;
}

static bool is_openssl_command(const char *s)
{
	return in_words(openssl_commands, s, strlen(s));
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
		return in_words("help h t tt c v vv vvv vvvv ", name, len);
	return in_words(known_flags, name, len);
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

	return dyn_ctrl(out, dyn, post ? &dyn_post : &dyn_pre, v, clen, colon ? colon + 1 : NULL);
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
	return add_engine_n(out, id, (size_t)(end - id), "org.openssl.engine: URI");
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

	if (!m || builtin_provider(name))
		return 0;
	for (i = strlen(m); i-- > 1;) {
		if (m[i] == '/') {
			dlen = i + 1;
			break;
		}
	}
	return add_merged(out, MODULE_PROVIDER, m, dlen, name, true, "fipsinstall -module");
}

static int apply_opt(struct module_requests *out, struct args_state *st, const struct opt_def *o,
		     const char *val)
{
	/* An empty value names nothing OpenSSL could load. */
	if (o->takes_value && !*val)
		return 0;
	switch (o->action) {
	case OPT_ENGINE:
		return add_engine(out, val, o->origin);
	case OPT_ENGINE_IMPL:
		return add_req(out, MODULE_ENGINE, MODREF_NAME, "", o->origin);
	case OPT_PROVIDER:
		return add_provider(out, val, o->origin);
	case OPT_PROVIDER_PATH:
		return add_req(out, MODULE_PROVIDER, MODREF_DIR, val, o->origin);
	case OPT_CONFIG:
		return add_req(out, MODULE_UNKNOWN, MODREF_CONFIG, val, o->origin);
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
	dyn_init(&st.dyn);
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
				err = add_engine(out, a, "engine command");
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
				err = add_engine(out, a, "engine command");
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
			err = len ? add_req_n(out, kind, MODREF_DIR, p, len, origin)
				  : add_req(out, kind, MODREF_DIR, ".", origin);
		} else {
			err = len ? add_req_n(out, kind, path_or_name(p, len), p, len, origin) : 0;
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
			err = add_req(out, MODULE_UNKNOWN, MODREF_CONFIG, v, "OPENSSL_CONF");
		else if (ENV_IS("OPENSSL_CONF_INCLUDE"))
			err =
			    add_req(out, MODULE_UNKNOWN, MODREF_CONFIG, v, "OPENSSL_CONF_INCLUDE");
		else if (ENV_IS("OPENSSL_ENGINES"))
			err = add_req(out, MODULE_ENGINE, MODREF_DIR, v, "OPENSSL_ENGINES");
		else if (ENV_IS("OPENSSL_MODULES"))
			err = add_req(out, MODULE_PROVIDER, MODREF_DIR, v, "OPENSSL_MODULES");
		else if (ENV_IS("LD_LIBRARY_PATH"))
			err = split_list(out, v, ":;", MODULE_ENGINE, true, "LD_LIBRARY_PATH");
		else if (ENV_IS("LD_PRELOAD"))
			err = split_list(out, v, ": \t", MODULE_UNKNOWN, false, "LD_PRELOAD");
#undef ENV_IS
	}
	return err;
}

/* ------------------------------------------------------------------------------------------ */
/* Configuration files (crypto/conf/conf_def.c, conf_mod.c, eng_cnf.c, provider_conf.c) */

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

static bool cfg_full(const struct cfg *c)
{
	return c->out->n >= c->report_limit;
}

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;

	while (n--) {
		h ^= *s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t sec_key(const char *name)
{
	return fnv(name, strlen(name), 14695981039346656037ULL);
}

static uint64_t val_key(uint32_t section, const char *name)
{
	return fnv(name, strlen(name), fnv(&section, sizeof(section), 14695981039346656037ULL));
}

static int hash_grow(struct cfg_hash *h, struct cfg *c, bool values)
{
	size_t ncap = h->cap ? h->cap * 2 : 64, i;
	uint32_t *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (i = 0; i < h->cap; i++) {
		uint32_t idx = h->slots[i];
		uint64_t k;
		size_t j;

		if (!idx)
			continue;
		k = values ? val_key(c->ent[idx - 1].section, c->ent[idx - 1].name)
			   : sec_key(c->sec[idx - 1].name);
		for (j = k & (ncap - 1); ns[j]; j = (j + 1) & (ncap - 1))
			;
		ns[j] = idx;
	}
	free(h->slots);
	h->slots = ns;
	h->cap = ncap;
	return 0;
}

static uint32_t find_section(const struct cfg *c, const char *name)
{
	size_t j;

	if (!c->sec_hash.cap)
		return NO_IDX;
	for (j = sec_key(name) & (c->sec_hash.cap - 1); c->sec_hash.slots[j];
	     j = (j + 1) & (c->sec_hash.cap - 1)) {
		uint32_t idx = c->sec_hash.slots[j] - 1;

		if (!strcmp(c->sec[idx].name, name))
			return idx;
	}
	return NO_IDX;
}

static int intern_section(struct cfg *c, const char *name, size_t len, uint32_t *id)
{
	struct cfg_section *s;
	char *n;
	size_t j;

	n = strndup(name, len);
	if (!n)
		return -ENOMEM;
	*id = find_section(c, n);
	if (*id != NO_IDX) {
		free(n);
		return 0;
	}
	if (c->nsec >= UINT32_MAX - 1 ||
	    ((c->sec_hash.used + 1) * 2 > c->sec_hash.cap && hash_grow(&c->sec_hash, c, false)))
		goto nomem;
	if (c->nsec == c->capsec) {
		size_t cap = c->capsec ? c->capsec * 2 : 16;

		s = realloc(c->sec, cap * sizeof(*s));
		if (!s)
			goto nomem;
		c->sec = s;
		c->capsec = cap;
	}
	s = &c->sec[c->nsec];
	s->name = n;
	s->first = s->last = NO_IDX;
	for (j = sec_key(n) & (c->sec_hash.cap - 1); c->sec_hash.slots[j];
	     j = (j + 1) & (c->sec_hash.cap - 1))
		;
	c->sec_hash.slots[j] = (uint32_t)c->nsec + 1;
	c->sec_hash.used++;
	*id = (uint32_t)c->nsec++;
	return 0;
nomem:
	free(n);
	return -ENOMEM;
}

static const struct cfg_entry *find_value_in(const struct cfg *c, uint32_t section,
					     const char *name)
{
	size_t j;

	if (!c->val_hash.cap || section == NO_IDX)
		return NULL;
	for (j = val_key(section, name) & (c->val_hash.cap - 1); c->val_hash.slots[j];
	     j = (j + 1) & (c->val_hash.cap - 1)) {
		const struct cfg_entry *e = &c->ent[c->val_hash.slots[j] - 1];

		if (e->section == section && !strcmp(e->name, name))
			return e;
	}
	return NULL;
}

/* _CONF_get_string: the section, then "default". ENV:: is the process's, which we do not have. */
static const char *get_string(const struct cfg *c, const char *section, const char *name)
{
	const struct cfg_entry *e = NULL;

	if (section)
		e = find_value_in(c, find_section(c, section), name);
	if (!e)
		e = find_value_in(c, find_section(c, "default"), name);
	return e ? e->value : NULL;
}

/* Takes ownership of name and value. */
static int add_value(struct cfg *c, uint32_t section, char *name, char *value)
{
	struct cfg_entry *e;
	size_t j;

	if (c->nent >= CONF_MAX_ENTRIES) {
		c->truncated = true;
		free(name);
		free(value);
		return 0;
	}
	if (((c->val_hash.used + 1) * 2 > c->val_hash.cap && hash_grow(&c->val_hash, c, true)))
		goto nomem;
	if (c->nent == c->capent) {
		size_t cap = c->capent ? c->capent * 2 : 64;

		e = realloc(c->ent, cap * sizeof(*e));
		if (!e)
			goto nomem;
		c->ent = e;
		c->capent = cap;
	}
	e = &c->ent[c->nent];
	e->section = section;
	e->next = NO_IDX;
	e->name = name;
	e->value = value;
	if (c->sec[section].last == NO_IDX)
		c->sec[section].first = (uint32_t)c->nent;
	else
		c->ent[c->sec[section].last].next = (uint32_t)c->nent;
	c->sec[section].last = (uint32_t)c->nent;

	for (j = val_key(section, name) & (c->val_hash.cap - 1); c->val_hash.slots[j];
	     j = (j + 1) & (c->val_hash.cap - 1)) {
		const struct cfg_entry *o = &c->ent[c->val_hash.slots[j] - 1];

		if (o->section == section && !strcmp(o->name, name))
			break;
	}
	if (!c->val_hash.slots[j])
		c->val_hash.used++;
	c->val_hash.slots[j] = (uint32_t)c->nent + 1;
	c->nent++;
	return 0;
nomem:
	free(name);
	free(value);
	return -ENOMEM;
}

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* IS_ALNUM in conf_def.h */
static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

/* IS_ALNUM_PUNCT: the characters of a name */
static bool is_name_char(char ch)
{
	return is_alnum(ch) || (ch && strchr("!.%&*+,/;?@^~|-", ch));
}

static bool is_quote(char ch)
{
	return ch == '"' || ch == '\'';
}

static char *skip_ws(char *p)
{
	while (is_ws(*p))
		p++;
	return p;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);

	while (n && is_ws(s[n - 1]))
		s[--n] = '\0';
}

/*
 * conf_def.c str_copy: quotes, backslash escapes and $var / ${sect::var} / $(var) expansion.
 * A variable we cannot resolve (ENV::, or undefined: OpenSSL would reject the whole file) is
 * kept literally so the value still shows what was written.
 */
static int str_copy(struct cfg *c, const char *section, const char *from, char **res)
{
	struct strbuf sb = STRBUF_INIT;
	int err = 0;

	while (*from && !err && sb.len < CONF_MAX_VALUE) {
		if (is_quote(*from)) {
			char q = *from++;

			while (*from && *from != q && !err) {
				if (*from == '\\') {
					from++;
					if (!*from)
						break;
				}
				err = strbuf_addc(&sb, *from++);
			}
			if (*from == q)
				from++;
		} else if (*from == '\\') {
			char ch;

			from++;
			ch = *from;
			if (!ch)
				break;
			from++;
			if (ch == 'r')
				ch = '\r';
			else if (ch == 'n')
				ch = '\n';
			else if (ch == 'b')
				ch = '\b';
			else if (ch == 't')
				ch = '\t';
			err = strbuf_addc(&sb, ch);
		} else if (*from == '$' && (!c->dollarid || from[1] == '{' || from[1] == '(')) {
			const char *s = from + 1, *np, *e, *sect = section, *val;
			char q = 0, *sname = NULL, *vname;
			size_t vlen;

			if (*s == '{')
				q = '}';
			else if (*s == '(')
				q = ')';
			if (q)
				s++;
			np = e = s;
			while (is_alnum(*e) || (c->dollarid && *e == '$'))
				e++;
			if (e[0] == ':' && e[1] == ':') {
				sname = strndup(np, (size_t)(e - np));
				if (!sname) {
					err = -ENOMEM;
					break;
				}
				sect = sname;
				e += 2;
				np = e;
				while (is_alnum(*e) || (c->dollarid && *e == '$'))
					e++;
			}
			vname = strndup(np, (size_t)(e - np));
			if (!vname) {
				free(sname);
				err = -ENOMEM;
				break;
			}
			if (q && *e == q)
				e++;
			val = get_string(c, sect, vname);
			free(vname);
			free(sname);
			vlen = val ? strlen(val) : 0;
			if (val && vlen > c->expand_budget)
				c->truncated = true;
			if (val && vlen <= c->expand_budget) {
				c->expand_budget -= vlen;
				err = strbuf_add(&sb, val, vlen);
			} else {
				err = strbuf_add(&sb, from, (size_t)(e - from));
			}
			from = e;
		} else {
			err = strbuf_addc(&sb, *from++);
		}
	}
	if (err) {
		strbuf_release(&sb);
		return err;
	}
	if (sb.len > CONF_MAX_VALUE) {
		sb.len = CONF_MAX_VALUE;
		sb.buf[sb.len] = '\0';
	}
	*res = strbuf_detach(&sb);
	return *res ? 0 : -ENOMEM;
}

/* clear_comments: '#' outside quotes ends the line. */
static void clear_comment(char *p)
{
	while (*p) {
		if (is_quote(*p)) {
			char q = *p++;

			while (*p && *p != q) {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (*p)
				p++;
		} else if (*p == '\\') {
			p++;
			if (*p)
				p++;
		} else if (*p == '#') {
			*p = '\0';
			return;
		} else {
			p++;
		}
	}
}

static int parse_buf(struct cfg *c, const char *path, char *buf, size_t len);

/* A configuration file as the process reads it: never sowatch's own (see proc_view_open()). */
static int open_in_root(struct cfg *c, const char *path)
{
	bool in_root = c->root && *c->root;
	int fd;

	if (in_root && c->rootfd < 0) {
		errno = ENOENT; /* the process is gone */
		return -1;
	}
	fd = proc_view_open(in_root ? c->rootfd : AT_FDCWD, path, in_root);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

static bool conf_ext(const char *n)
{
	size_t l = strlen(n);

	return (l > 5 && !strcasecmp(n + l - 5, ".conf")) ||
	       (l > 4 && !strcasecmp(n + l - 4, ".cnf"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_path(struct cfg *c, const char *path, bool from_dir);

static int load_dir(struct cfg *c, const char *path, int fd)
{
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	int err = 0;
	DIR *d;

	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) && n < 4 * CONF_MAX_FILES) {
		char *s;

		if (!conf_ext(de->d_name))
			continue;
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 16;
			nn = realloc(names, cap * sizeof(*nn));
			if (!nn) {
				err = -ENOMEM;
				break;
			}
			names = nn;
		}
		s = strdup(de->d_name);
		if (!s) {
			err = -ENOMEM;
			break;
		}
		names[n++] = s;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n && !err && !cfg_full(c); i++) {
		struct strbuf sb = STRBUF_INIT;
		size_t pl = strlen(path);

		if (strbuf_add(&sb, path, pl) ||
		    (pl && path[pl - 1] != '/' && strbuf_addc(&sb, '/')) ||
		    strbuf_adds(&sb, names[i])) {
			err = -ENOMEM;
		} else {
			err = load_path(c, sb.buf, true);
		}
		strbuf_release(&sb);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

/*
 * Reads one file (or a directory of *.cnf / *.conf) into the config. Files found in an included
 * directory are reported here, only when they are files: the directory itself already was.
 */
static int load_path(struct cfg *c, const char *path, bool from_dir)
{
	struct stat st;
	size_t i, len = 0;
	char *buf;
	int fd, err;

	if (c->depth > CONF_MAX_DEPTH || c->files >= CONF_MAX_FILES) {
		c->truncated = true;
		return 0;
	}
	fd = open_in_root(c, path);
	if (fd < 0)
		return errno == ENOMEM ? -ENOMEM : 0;
	if (fstat(fd, &st)) {
		close(fd);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		/* The top-level file and entries of an included directory must be files. */
		if (from_dir || !c->depth) {
			close(fd);
			return 0;
		}
		return load_dir(c, path, fd);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	for (i = 0; i < c->depth; i++) {
		if (c->stack[i].dev == st.st_dev && c->stack[i].ino == st.st_ino) {
			close(fd);
			return 0;
		}
	}
	if (from_dir) {
		err = add_req(c->out, MODULE_UNKNOWN, MODREF_CONFIG, path, ".include");
		if (err) {
			close(fd);
			return err;
		}
	}
	c->files++;
	buf = malloc(CONF_MAX_FILE_BYTES + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < CONF_MAX_FILE_BYTES) {
		ssize_t r = read(fd, buf + len, CONF_MAX_FILE_BYTES - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	if (st.st_size > (off_t)CONF_MAX_FILE_BYTES)
		c->truncated = true;
	c->stack[c->depth].dev = st.st_dev;
	c->stack[c->depth].ino = st.st_ino;
	c->depth++;
	err = parse_buf(c, path, buf, len);
	c->depth--;
	free(buf);
	return err;
}

static int join_path(struct strbuf *sb, const char *dir, size_t dlen, const char *rel)
{
	if (strbuf_add(sb, dir, dlen))
		return -ENOMEM;
	if (dlen && dir[dlen - 1] != '/' && strbuf_addc(sb, '/'))
		return -ENOMEM;
	return strbuf_adds(sb, rel);
}

static int do_include(struct cfg *c, const char *cur_path, const char *inc)
{
	struct strbuf sb = STRBUF_INIT;
	const char *dir = NULL;
	size_t dlen = 0;
	int err;

	if (!*inc || cfg_full(c))
		return 0;
	if (inc[0] != '/') {
		if (c->conf_include_dir && *c->conf_include_dir)
			dir = c->conf_include_dir;
		else if (c->includedir && *c->includedir)
			dir = c->includedir;
		else if (c->cwd && *c->cwd)
			dir = c->cwd;
		if (dir) {
			dlen = strlen(dir);
		} else {
			const char *slash = strrchr(cur_path, '/');

			dir = cur_path;
			dlen = slash ? (size_t)(slash - cur_path) + (slash == cur_path) : 0;
		}
	}
	err = dlen ? join_path(&sb, dir, dlen, inc) : strbuf_adds(&sb, inc);
	if (!err)
		err = add_req(c->out, MODULE_UNKNOWN, MODREF_CONFIG, sb.buf, ".include");
	if (!err)
		err = load_path(c, sb.buf, false);
	strbuf_release(&sb);
	return err;
}

static void do_pragma(struct cfg *c, char *p)
{
	char *colon = strchr(p, ':'), *val;

	if (!colon)
		return;
	*colon = '\0';
	trim_end(p);
	val = skip_ws(colon + 1);
	trim_end(val);
	if (!strcmp(p, "dollarid")) {
		if (!strcmp(val, "on") || !strcmp(val, "true"))
			c->dollarid = true;
		else if (!strcmp(val, "off") || !strcmp(val, "false"))
			c->dollarid = false;
	} else if (!strcmp(p, "includedir")) {
		char *d = strdup(val);

		if (d) {
			free(c->includedir);
			c->includedir = d;
		} else {
			c->err = -ENOMEM;
		}
	}
}

static int parse_line(struct cfg *c, const char *path, char *line)
{
	char *p, *name, *end, *psect = NULL, *value;
	uint32_t sid;
	int err;

	clear_comment(line);
	p = skip_ws(line);
	if (!*p)
		return 0;
	if (*p == '[') {
		char *close;

		p = skip_ws(p + 1);
		close = strchr(p, ']');
		if (!close)
			return 0; /* OpenSSL rejects the file; keep what we can */
		*close = '\0';
		trim_end(p);
		return intern_section(c, p, strlen(p), &c->cur);
	}
	name = p;
	end = p;
	while (is_name_char(*end))
		end++;
	if (end[0] == ':' && end[1] == ':') {
		*end = '\0';
		psect = name;
		end += 2;
		name = end;
		while (is_name_char(*end))
			end++;
	}
	p = skip_ws(end);
	if (!strncmp(name, ".include", 8) && (p != name + 8 || *p == '=')) {
		char *inc;

		if (*p == '=')
			p = skip_ws(p + 1);
		trim_end(p);
		err = str_copy(c, psect ? psect : c->sec[c->cur].name, p, &inc);
		if (err)
			return err;
		err = do_include(c, path, inc);
		free(inc);
		return err;
	}
	if (!strncmp(name, ".pragma", 7) && (p != name + 7 || *p == '=')) {
		if (*p == '=')
			p = skip_ws(p + 1);
		do_pragma(c, p);
		return c->err;
	}
	if (*p != '=' || end == name)
		return 0;
	if (c->nent >= CONF_MAX_ENTRIES) {
		c->truncated = true;
		return 0;
	}
	*end = '\0';
	p = skip_ws(p + 1);
	trim_end(p);
	if (psect) {
		err = intern_section(c, psect, strlen(psect), &sid);
		if (err)
			return err;
	} else {
		sid = c->cur;
	}
	err = str_copy(c, c->sec[sid].name, p, &value);
	if (err)
		return err;
	name = strdup(name);
	if (!name) {
		free(value);
		return -ENOMEM;
	}
	return add_value(c, sid, name, value);
}

/* Splits into logical lines: NUL ends a physical line's content, an odd run of '\' continues it. */
static int parse_buf(struct cfg *c, const char *path, char *buf, size_t len)
{
	struct strbuf line = STRBUF_INIT;
	size_t pos = 0;
	int err = 0;

	while (pos < len && !err) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len, l, bs = 0;

		buf[end] = '\0';
		l = strlen(buf + pos);
		while (l && buf[pos + l - 1] == '\r')
			l--;
		while (bs < l && buf[pos + l - 1 - bs] == '\\')
			bs++;
		if (bs & 1) {
			err = strbuf_add(&line, buf + pos, l - 1);
			pos = end + 1;
			if (pos < len)
				continue;
		} else {
			err = strbuf_add(&line, buf + pos, l);
			pos = end + 1;
		}
		if (!err && line.buf)
			err = parse_line(c, path, line.buf);
		line.len = 0;
		if (line.buf)
			line.buf[0] = '\0';
	}
	if (!err && line.len)
		err = parse_line(c, path, line.buf);
	strbuf_release(&line);
	return err;
}

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
	uint32_t sid = find_section(c, secname), i;
	struct sec_memo *m;
	int err = 0;

	if (sid == NO_IDX)
		return 0;
	m = &c->memo[sid];
	if (!m->engine_done) {
		bool have_engine = false;
		struct dyn_engine dyn;

		dyn_init(&dyn);
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
				err = add_req(c->out, MODULE_ENGINE, path_or_name(val, strlen(val)),
					      val, "config dynamic_path");
				have_engine = true;
			} else {
				/* Any other ctrl needs the engine: ENGINE_by_id(name) loads it. */
				if (!have_engine)
					m->engine_by_name = true;
				have_engine = true;
				/* "EMPTY" is how a config passes no argument (LOAD = EMPTY). */
				err = dyn_ctrl(c->out, &dyn, &dyn_config, ctrl, strlen(ctrl),
					       strcmp(val, "EMPTY") ? val : NULL);
			}
		}
	}
	if (!err && m->engine_by_name)
		err = add_engine(c->out, m->engine_id ? m->engine_id : skip_dot(key),
				 "config engine");
	return err;
}

/* provider_conf_load in provider_conf.c; per-section work done once, as for engines. */
static int eval_provider(struct cfg *c, const char *key, const char *secname)
{
	uint32_t sid = find_section(c, secname), i;
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
				err = add_req(c->out, MODULE_PROVIDER,
					      path_or_name(val, strlen(val)), val, "config module");
				m->has_module = true;
			}
		}
	}
	if (!err && !m->has_module)
		err = add_provider(c->out, m->identity ? m->identity : skip_dot(key),
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

	if (mlen == 7 && !memcmp(name, "engines", 7) && (sid = find_section(c, value)) != NO_IDX) {
		for (i = c->sec[sid].first; i != NO_IDX && !err && eval_tick(c); i = c->ent[i].next)
			err = eval_engine(c, c->ent[i].name, c->ent[i].value);
		return err;
	}
	if (mlen == 9 && !memcmp(name, "providers", 9) &&
	    (sid = find_section(c, value)) != NO_IDX) {
		for (i = c->sec[sid].first; i != NO_IDX && !err && eval_tick(c); i = c->ent[i].next)
			err = eval_provider(c, c->ent[i].name, c->ent[i].value);
		return err;
	}
	if (mlen == 7 && !memcmp(name, "engines", 7))
		return 0;
	if (mlen == 9 && !memcmp(name, "providers", 9))
		return 0;
	if (in_words("alg_section ssl_conf random stbl_section oid_section asn1 ", name, mlen))
		return 0;
	/* Not a module libcrypto knows: module_load_dso() dlopens "path" (or the name itself). */
	path = get_string(c, value, "path");
	if (!path)
		path = name;
	return add_req(c->out, MODULE_UNKNOWN, path_or_name(path, strlen(path)), path,
		       "config DSO module");
}

static bool is_appname_key(const char *n)
{
	size_t l = strlen(n);

	/* openssl_conf is the default; programs pass their own "<app>_conf" (nodejs_conf). */
	return l >= 5 && !strcmp(n + l - 5, "_conf");
}

static int eval_config(struct cfg *c)
{
	uint32_t def = find_section(c, "default"), i, j, sid;
	uint32_t *seen = NULL;
	size_t nseen = 0, capseen = 0, k;
	int err = 0;

	if (def == NO_IDX)
		return 0;
	c->memo = calloc(c->nsec, sizeof(*c->memo));
	if (!c->memo)
		return -ENOMEM;
	for (i = c->sec[def].first; i != NO_IDX && !err && eval_tick(c); i = c->ent[i].next) {
		if (!is_appname_key(c->ent[i].name))
			continue;
		sid = find_section(c, c->ent[i].value);
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
		for (j = c->sec[sid].first; j != NO_IDX && !err && eval_tick(c); j = c->ent[j].next)
			err = eval_module(c, c->ent[j].name, c->ent[j].value);
	}
	free(seen);
	return err;
}

static void cfg_free(struct cfg *c)
{
	size_t i;

	for (i = 0; i < c->nent; i++) {
		free(c->ent[i].name);
		free(c->ent[i].value);
	}
	for (i = 0; i < c->nsec; i++)
		free(c->sec[i].name);
	free(c->ent);
	free(c->sec);
	free(c->sec_hash.slots);
	free(c->val_hash.slots);
	free(c->includedir);
	free(c->memo);
	if (c->rootfd >= 0)
		close(c->rootfd);
}

int openssl_config_parse_ex(const char *root, const char *path, const char *conf_include_dir,
			    const char *cwd, struct module_requests *out)
{
	struct strbuf full = STRBUF_INIT;
	struct cfg c;
	int err;

	if (!path || !*path || !out)
		return 0;
	memset(&c, 0, sizeof(c));
	c.rootfd = -1;
	c.root = root;
	c.conf_include_dir = conf_include_dir;
	c.cwd = cwd;
	c.out = out;
	c.expand_budget = CONF_EXPAND_BUDGET;
	c.eval_budget = CONF_EVAL_BUDGET;
	c.report_limit = out->n + CONF_MAX_REPORTS;
	if (root && *root)
		c.rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	err = intern_section(&c, "default", 7, &c.cur);
	if (!err && path[0] != '/' && cwd && *cwd)
		err = join_path(&full, cwd, strlen(cwd), path);
	if (!err)
		err = load_path(&c, full.buf ? full.buf : path, false);
	if (!err)
		err = c.err;
	if (!err)
		err = eval_config(&c);
	/* A file that hits a limit is hostile: say so rather than end the list quietly. */
	if (!err && (c.truncated || cfg_full(&c)))
		err = add_req(out, MODULE_UNKNOWN, MODREF_CONFIG, path, "config: limits exceeded");
	strbuf_release(&full);
	cfg_free(&c);
	return err;
}

int openssl_config_parse(const char *root, const char *path, const char *conf_include_dir,
			 struct module_requests *out)
{
	return openssl_config_parse_ex(root, path, conf_include_dir, NULL, out);
}
