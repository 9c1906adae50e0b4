// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detectors/openssl_args.h"
#include "detectors/openssl_config.h"

#define ARGV(...)  ((const char *const[]){ __VA_ARGS__ })
#define NARGS(...) (sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))
#define PARSE(r, ...)                                                                              \
	assert_int_equal(openssl_args_parse(ARGV(__VA_ARGS__), NARGS(__VA_ARGS__), r), 0)

static bool has(const struct module_requests *r, enum module_kind kind, enum module_ref ref,
		const char *value, const char *origin)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct module_request *q = &r->items[i];

		if (q->kind == kind && q->ref == ref && !strcmp(q->value, value) &&
		    !strcmp(q->origin, origin))
			return true;
	}
	return false;
}

static void dump(const struct module_requests *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		print_message("  [%zu] kind=%d ref=%d value='%s' origin=%s\n", i, r->items[i].kind,
			      r->items[i].ref, r->items[i].value, r->items[i].origin);
}

#define EXPECT(r, kind, ref, value, origin)                                                        \
	do {                                                                                       \
		if (!has(r, kind, ref, value, origin))                                             \
			dump(r);                                                                   \
		assert_true(has(r, kind, ref, value, origin));                                     \
	} while (0)

#define EXPECT_N(r, count)                                                                         \
	do {                                                                                       \
		if ((r)->n != (count))                                                             \
			dump(r);                                                                   \
		assert_int_equal((r)->n, (count));                                                 \
	} while (0)

static void test_engine_option_forms(void **state)
{
	static const char *const forms[][3] = {
		{ "-engine", "X", NULL },
		{ "--engine", "X", NULL },
		{ "-engine=X", NULL, NULL },
		{ "--engine=X", NULL, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		struct module_requests r = { 0 };
		const char *argv[5] = { "openssl", "req", forms[i][0], forms[i][1], NULL };

		assert_int_equal(openssl_args_parse(argv, forms[i][1] ? 4 : 3, &r), 0);
		EXPECT_N(&r, 1);
		EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "X", "-engine");
		module_requests_free(&r);
	}
}

static void test_other_engine_options(void **state)
{
	struct module_requests r = { 0 };

	(void)state;
	PARSE(&r, "openssl", "req", "-new", "-keygen_engine", "kg", "-key", "k.pem");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "kg", "-keygen_engine");
	module_requests_free(&r);

	PARSE(&r, "openssl", "s_client", "-connect", "h:443", "-ssl_client_engine", "/e/c.so");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/e/c.so", "-ssl_client_engine");
	module_requests_free(&r);

	PARSE(&r, "openssl", "dgst", "-engine", "e1", "-engine_impl", "-sha256", "f");
	EXPECT_N(&r, 2);
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "e1", "-engine");
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "", "-engine_impl");
	module_requests_free(&r);
}

static void test_engine_path_and_name(void **state)
{
	struct module_requests r = { 0 };

	(void)state;
	PARSE(&r, "openssl", "req", "-engine", "./m.so", "-new");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "./m.so", "-engine");
	module_requests_free(&r);

	PARSE(&r, "/usr/bin/openssl", "x509", "-engine", "pkcs11", "-in", "c.pem");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "pkcs11", "-engine");
	module_requests_free(&r);

	/* Compiled-in engines are not requests for code. */
	PARSE(&r, "openssl", "req", "-engine", "dynamic", "-engine", "rdrand");
	EXPECT_N(&r, 0);
	module_requests_free(&r);
}

static void test_engine_command(void **state)
{
	struct module_requests r = { 0 };

	(void)state;
	PARSE(&r, "openssl", "engine", "-t", "/abs/m.so");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/abs/m.so", "engine command");
	module_requests_free(&r);

	PARSE(&r, "openssl", "engine", "-pre", "SO_PATH:/x/m.so", "-pre", "LOAD", "dynamic");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/x/m.so", "-pre SO_PATH");
	module_requests_free(&r);

	PARSE(&r, "openssl", "engine", "-pre=SO_PATH:/x/m.so", "-pre", "LOAD", "dynamic");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/x/m.so", "-pre SO_PATH");
	module_requests_free(&r);

	PARSE(&r, "openssl", "engine", "-pre", "DIR_ADD:/d", "-pre", "ID:foo", "-pre", "LOAD",
	      "dynamic");
	EXPECT_N(&r, 3);
	EXPECT(&r, MODULE_ENGINE, MODREF_DIR, "/d", "-pre DIR_ADD");
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "foo", "-pre ID");
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/d/foo.so", "-pre DIR_ADD + ID");
	module_requests_free(&r);

	/* OpenSSL 3.0 still runs -pre given after the engine id. */
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "SO_PATH:/y.so", "-post", "LOAD");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/y.so", "-pre SO_PATH");
	module_requests_free(&r);

	PARSE(&r, "openssl", "engine", "-vvv", "-c", "pkcs11", "--", "-odd");
	EXPECT_N(&r, 2);
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "pkcs11", "engine command");
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "-odd", "engine command");
	module_requests_free(&r);
}

/* What the dynamic engine's LOAD opens in its DIR_ADD directories (crypto/engine/eng_dyn.c). */
static void test_dynamic_engine_dirs(void **state)
{
	struct module_requests r = { 0 };
	size_t i;

	(void)state;
	/* ID "xyz" is the file "xyz.so" in the directory: what `strace` shows OpenSSL 3.0 open. */
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "DIR_ADD:/tmp/d", "-pre", "ID:xyz",
	      "-pre", "DIR_LOAD:2", "-pre", "LOAD");
	EXPECT_N(&r, 3);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/tmp/d/xyz.so", "-pre DIR_ADD + ID");
	module_requests_free(&r);

	/* One trailing '/' goes; a relative directory stays relative (dlopen: to the cwd). */
	PARSE(&r, "openssl", "engine", "dynamic", "-pre=DIR_ADD:d/", "-pre", "ID:xyz", "-pre",
	      "DIR_LOAD:02", "-pre", "LIST_ADD:1", "--pre", "LOAD");
	EXPECT_N(&r, 3);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "d/xyz.so", "-pre DIR_ADD + ID");
	module_requests_free(&r);

	/* SO_PATH is merged as given, every directory in order; an ID with a '/' gets no ".so". */
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "DIR_ADD:/d", "-pre", "DIR_ADD:/", "-pre",
	      "SO_PATH:foo", "-pre", "DIR_LOAD:2", "-pre", "LOAD");
	EXPECT_N(&r, 5);
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "foo", "-pre SO_PATH");
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/d/foo", "-pre DIR_ADD + SO_PATH");
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/foo", "-pre DIR_ADD + SO_PATH");
	module_requests_free(&r);

	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "DIR_ADD:/d", "-pre", "ID:sub/x", "-pre",
	      "LOAD");
	EXPECT_N(&r, 3);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "sub/x", "-pre ID");
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/d/sub/x", "-pre DIR_ADD + ID");
	module_requests_free(&r);

	/* An absolute name wins over the directory: only the name itself. */
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "DIR_ADD:/d", "-pre", "SO_PATH:/abs/m.so",
	      "-pre", "DIR_LOAD:2", "-pre", "LOAD");
	EXPECT_N(&r, 2);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/abs/m.so", "-pre SO_PATH");
	module_requests_free(&r);

	/* DIR_LOAD:0 never searches; a value OpenSSL rejects leaves the default (1), which does. */
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "DIR_ADD:/d", "-pre", "ID:x", "-pre",
	      "DIR_LOAD:0", "-pre", "LOAD");
	EXPECT_N(&r, 2);
	module_requests_free(&r);
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "DIR_ADD:/d", "-pre", "ID:x", "-pre",
	      "DIR_LOAD:0", "-pre", "DIR_LOAD:3", "-pre", "DIR_LOAD:2x", "-pre", "LOAD");
	EXPECT_N(&r, 2);
	module_requests_free(&r);
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "DIR_ADD:/d", "-pre", "ID:x", "-pre",
	      "DIR_LOAD: 1", "-pre", "LOAD");
	EXPECT_N(&r, 3);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/d/x.so", "-pre DIR_ADD + ID");
	module_requests_free(&r);

	/* Nothing is opened without LOAD, nor from a directory added after it... */
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "DIR_ADD:/d", "-pre", "ID:x");
	EXPECT_N(&r, 2);
	module_requests_free(&r);
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "ID:x", "-pre", "LOAD", "-pre",
	      "DIR_ADD:/d");
	EXPECT_N(&r, 2);
	module_requests_free(&r);
	/* ...until the next LOAD. A LOAD fixes the ID's name: a later ID does not change it. */
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "ID:x", "-pre", "LOAD", "-pre",
	      "DIR_ADD:/d", "-pre", "LOAD", "-pre", "ID:y", "-pre", "LOAD", "-pre", "LOAD");
	EXPECT_N(&r, 4);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/d/x.so", "-pre DIR_ADD + ID");
	module_requests_free(&r);
	/* A later SO_PATH does. */
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "DIR_ADD:/d", "-pre", "ID:x", "-pre",
	      "LOAD", "-pre", "SO_PATH:z", "-pre", "LOAD");
	EXPECT_N(&r, 5);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/d/x.so", "-pre DIR_ADD + ID");
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/d/z", "-pre DIR_ADD + SO_PATH");
	module_requests_free(&r);

	/* An empty SO_PATH clears it (OpenSSL says "Failure", yet the ID is then the name). */
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "DIR_ADD:/d", "-pre", "SO_PATH:a", "-pre",
	      "SO_PATH:", "-pre", "ID:x", "-pre", "DIR_LOAD:2", "-pre", "LOAD");
	EXPECT_N(&r, 4);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/d/x.so", "-pre DIR_ADD + ID");
	module_requests_free(&r);

	/* A symlink named engine, and ctrls given with -post. */
	PARSE(&r, "/tmp/engine", "dynamic", "-post", "DIR_ADD:/d", "-post", "ID:x", "-post",
	      "LOAD");
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/d/x.so", "-post DIR_ADD + ID");
	module_requests_free(&r);

	/* Not another command's option. */
	PARSE(&r, "openssl", "req", "-pre", "DIR_ADD:/d", "-pre", "ID:x", "-pre", "LOAD");
	EXPECT_N(&r, 0);
	module_requests_free(&r);

	/* Directories past the first few are not kept (OpenSSL 3.0 opens only the first). */
	{
		const char *argv[64] = { "openssl", "engine", "dynamic" };
		char dirs[20][16];
		size_t argc = 3, found = 0;

		for (i = 0; i < 20; i++) {
			snprintf(dirs[i], sizeof(dirs[i]), "DIR_ADD:/d%zu", i);
			argv[argc++] = "-pre";
			argv[argc++] = dirs[i];
		}
		argv[argc++] = "-pre";
		argv[argc++] = "ID:x";
		argv[argc++] = "-pre";
		argv[argc++] = "LOAD";
		assert_int_equal(openssl_args_parse(argv, argc, &r), 0);
		EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/d0/x.so", "-pre DIR_ADD + ID");
		for (i = 0; i < r.n; i++)
			found += !strcmp(r.items[i].origin, "-pre DIR_ADD + ID");
		assert_true(found >= 1 && found <= 8);
		module_requests_free(&r);
	}
}

static void test_symlinked_command(void **state)
{
	struct module_requests r = { 0 };

	(void)state;
	PARSE(&r, "/tmp/x/engine", "-t", "/m.so");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/m.so", "engine command");
	module_requests_free(&r);

	PARSE(&r, "./dgst", "-engine", "/m.so", "-sha256", "f");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/m.so", "-engine");
	module_requests_free(&r);

	/* A name we do not know, run with options: assume it is some command. */
	PARSE(&r, "/tmp/x/renamed", "-engine", "/m.so");
	EXPECT_N(&r, 1);
	module_requests_free(&r);

	/* openssl.c takes argv[1] as the command: "-engine" is an invalid one. */
	PARSE(&r, "openssl", "-engine", "/m.so", "req");
	EXPECT_N(&r, 0);
	module_requests_free(&r);
}

static void test_double_dash(void **state)
{
	struct module_requests r = { 0 };

	(void)state;
	PARSE(&r, "openssl", "req", "--", "-engine", "x");
	EXPECT_N(&r, 0);
	module_requests_free(&r);

	PARSE(&r, "openssl", "req", "-noout", "--", "-engine", "x");
	EXPECT_N(&r, 0);
	module_requests_free(&r);

	/* "--" as the value of an option: options go on. */
	PARSE(&r, "openssl", "req", "-subj", "--", "-engine", "x");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "x", "-engine");
	module_requests_free(&r);
}

static void test_unknown_options_do_not_derail(void **state)
{
	struct module_requests r = { 0 };

	(void)state;
	/* -subj eats "-engine" in OpenSSL; then -engine /x.so loads. */
	PARSE(&r, "openssl", "req", "-subj", "-engine", "-engine", "/x.so");
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/x.so", "-engine");
	module_requests_free(&r);

	PARSE(&r, "openssl", "req", "-frobnicate", "-engine", "e", "-whatever=1", "-engine=/f.so");
	EXPECT_N(&r, 2);
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "e", "-engine");
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/f.so", "-engine");
	module_requests_free(&r);

	/* Unknown command (a digest this table lacks): scanned all the same. */
	PARSE(&r, "openssl", "sha3-999", "-provider", "p", "-module", "/m.so", "-pre",
	      "SO_PATH:/q.so");
	EXPECT_N(&r, 3);
	EXPECT(&r, MODULE_PROVIDER, MODREF_NAME, "p", "-provider");
	EXPECT(&r, MODULE_PROVIDER, MODREF_PATH, "/fips.so", "fipsinstall -module");
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/q.so", "-pre SO_PATH");
	module_requests_free(&r);

	/* No abbreviations. */
	PARSE(&r, "openssl", "req", "-engin", "/x.so", "-eng", "y");
	EXPECT_N(&r, 0);
	module_requests_free(&r);

	/* NULL elements end argv. */
	PARSE(&r, "openssl", "req", NULL, "-engine", "x");
	EXPECT_N(&r, 0);
	module_requests_free(&r);
	assert_int_equal(openssl_args_parse(NULL, 0, &r), 0);
	EXPECT_N(&r, 0);
}

static void test_engine_uri(void **state)
{
	struct module_requests r = { 0 };

	(void)state;
	PARSE(&r, "openssl", "pkey", "-in", "org.openssl.engine:e:k", "-noout");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "e", "org.openssl.engine: URI");
	module_requests_free(&r);

	PARSE(&r, "openssl", "storeutl", "-noout", "org.openssl.engine:/tmp/m.so:key");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/tmp/m.so", "org.openssl.engine: URI");
	module_requests_free(&r);

	PARSE(&r, "openssl", "x509", "-req", "-signkey=org.openssl.engine:pkcs11:id=1");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "pkcs11", "org.openssl.engine: URI");
	module_requests_free(&r);
}

static void test_providers(void **state)
{
	struct module_requests r = { 0 };

	(void)state;
	PARSE(&r, "openssl", "list", "-provider-path", "/tmp/D", "-provider", "N", "-provider",
	      "default", "-provider", "legacy", "--provider=/p/q.so");
	EXPECT_N(&r, 4);
	EXPECT(&r, MODULE_PROVIDER, MODREF_DIR, "/tmp/D", "-provider-path");
	EXPECT(&r, MODULE_PROVIDER, MODREF_NAME, "N", "-provider");
	EXPECT(&r, MODULE_PROVIDER, MODREF_NAME, "legacy", "-provider");
	EXPECT(&r, MODULE_PROVIDER, MODREF_PATH, "/p/q.so", "-provider");
	module_requests_free(&r);

	/*
	 * fipsinstall reads -module's file and loads the provider -provider_name names ("fips")
	 * from that file's directory; opt_path_end() ignores a leading '/', so "F" and "/F" leave
	 * an empty directory, and OpenSSL 3.0 opens "/fips.so" (strace).
	 */
	PARSE(&r, "openssl", "fipsinstall", "-module", "F", "-out", "fips.cnf");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_PROVIDER, MODREF_PATH, "/fips.so", "fipsinstall -module");
	module_requests_free(&r);

	PARSE(&r, "openssl", "fipsinstall", "-module", "./m.so", "-out", "fips.cnf");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_PROVIDER, MODREF_PATH, "./fips.so", "fipsinstall -module");
	module_requests_free(&r);

	PARSE(&r, "openssl", "fipsinstall", "-provider_name", "../d/xyz", "-out", "fips.cnf",
	      "-module", "/tmp/fd/anything");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_PROVIDER, MODREF_PATH, "/tmp/fd/../d/xyz", "fipsinstall -module");
	module_requests_free(&r);

	PARSE(&r, "openssl", "fipsinstall", "-module", "/tmp/fd/anything", "-provider_name", "x",
	      "-provider_name=/abs/p.so");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_PROVIDER, MODREF_PATH, "/abs/p.so", "fipsinstall -module");
	module_requests_free(&r);

	/* A built-in provider name loads no file; without -module nothing is loaded. */
	PARSE(&r, "openssl", "fipsinstall", "-module", "/x/m.so", "-provider_name", "default");
	EXPECT_N(&r, 0);
	module_requests_free(&r);
	PARSE(&r, "openssl", "fipsinstall", "-provider_name", "evil", "-out", "fips.cnf");
	EXPECT_N(&r, 0);
	module_requests_free(&r);

	/* -module means nothing to other known commands. */
	PARSE(&r, "openssl", "req", "-module", "F");
	EXPECT_N(&r, 0);
	module_requests_free(&r);
}

static void test_config_option(void **state)
{
	struct module_requests r = { 0 };

	(void)state;
	PARSE(&r, "openssl", "req", "-config", "F", "-new");
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_UNKNOWN, MODREF_CONFIG, "F", "-config");
	module_requests_free(&r);
}

static void test_harmless_commands(void **state)
{
	struct module_requests r = { 0 };

	(void)state;
	PARSE(&r, "openssl", "version");
	PARSE(&r, "openssl", "list", "-providers");
	PARSE(&r, "openssl", "list", "-engines");
	PARSE(&r, "openssl", "dgst", "-sha256", "f");
	PARSE(&r, "openssl");
	PARSE(&r, "openssl", "req", "-new", "-x509", "-key", "k.pem", "-out", "c.pem", "-days",
	      "30", "-subj", "/CN=x");
	EXPECT_N(&r, 0);
}

static void test_env(void **state)
{
	struct module_requests r = { 0 };
	const char *env[] = {
		"OPENSSL_CONF=/etc/x.cnf",
		"OPENSSL_MODULES=/tmp/mods",
		"OPENSSL_ENGINES=/tmp/engs",
		"OPENSSL_CONF_INCLUDE=/tmp/inc",
		"LD_LIBRARY_PATH=/a::/b",
		"LD_PRELOAD=/p.so libq.so",
		"PATH=/usr/bin",
		"OPENSSL_CONFX=/nope",
		"NOEQUALS",
		NULL,
	};

	(void)state;
	assert_int_equal(openssl_env_parse(env, sizeof(env) / sizeof(env[0]), &r), 0);
	EXPECT_N(&r, 9);
	EXPECT(&r, MODULE_UNKNOWN, MODREF_CONFIG, "/etc/x.cnf", "OPENSSL_CONF");
	EXPECT(&r, MODULE_PROVIDER, MODREF_DIR, "/tmp/mods", "OPENSSL_MODULES");
	EXPECT(&r, MODULE_ENGINE, MODREF_DIR, "/tmp/engs", "OPENSSL_ENGINES");
	EXPECT(&r, MODULE_UNKNOWN, MODREF_CONFIG, "/tmp/inc", "OPENSSL_CONF_INCLUDE");
	EXPECT(&r, MODULE_ENGINE, MODREF_DIR, "/a", "LD_LIBRARY_PATH");
	EXPECT(&r, MODULE_ENGINE, MODREF_DIR, ".", "LD_LIBRARY_PATH");
	EXPECT(&r, MODULE_ENGINE, MODREF_DIR, "/b", "LD_LIBRARY_PATH");
	EXPECT(&r, MODULE_UNKNOWN, MODREF_PATH, "/p.so", "LD_PRELOAD");
	EXPECT(&r, MODULE_UNKNOWN, MODREF_NAME, "libq.so", "LD_PRELOAD");
	module_requests_free(&r);
}

/* ---- configuration files ---- */

struct tmpdir {
	char path[64];
};

static int setup_dir(void **state)
{
	struct tmpdir *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->path, "/tmp/test_openssl_args.XXXXXX");
	if (!mkdtemp(t->path)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown_dir(void **state)
{
	struct tmpdir *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->path);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

static const char *tpath(const struct tmpdir *t, const char *rel)
{
	static char buf[4][256];
	static int n;
	char *b = buf[n++ & 3];

	snprintf(b, sizeof(buf[0]), "%s/%s", t->path, rel);
	return b;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_str(const char *path, const char *s)
{
	write_file(path, s, strlen(s));
}

static void test_config_engine_chain(void **state)
{
	struct tmpdir *t = *state;
	struct module_requests r = { 0 };

	write_str(tpath(t, "e.cnf"), "# engine via dynamic_path\n"
				     "openssl_conf = init\n"
				     "[init]\n"
				     "engines = eng\n"
				     "[ eng ]\n"
				     "x = xsect\n"
				     "p = psect\n"
				     "[xsect]\n"
				     "dynamic_path = /tmp/evil.so\n"
				     "engine_id = x\n"
				     "default_algorithms = ALL\n"
				     "[psect]\n"
				     "engine_id = pkcs11\n"
				     "MODULE_PATH = /usr/lib/p11.so\n"
				     "[unreferenced]\n"
				     "dynamic_path = /tmp/never.so\n");
	assert_int_equal(openssl_config_parse("", tpath(t, "e.cnf"), NULL, &r), 0);
	EXPECT_N(&r, 3);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/tmp/evil.so", "config dynamic_path");
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "pkcs11", "config engine");
	EXPECT(&r, MODULE_PKCS11, MODREF_PATH, "/usr/lib/p11.so", "config MODULE_PATH");
	module_requests_free(&r);

	/* ctrls on the dynamic engine; "engines.1" is still the engines module. */
	write_str(tpath(t, "c.cnf"), "openssl_conf = init\n"
				     "[init]\n"
				     "engines.1 = eng\n"
				     "[eng]\n"
				     "dyn = d\n"
				     "[d]\n"
				     "engine_id = dynamic\n"
				     "SO_PATH = ./rel.so\n"
				     "DIR_ADD = /opt/e\n"
				     "ID = foo\n"
				     "LOAD = EMPTY\n");
	assert_int_equal(openssl_config_parse("", tpath(t, "c.cnf"), NULL, &r), 0);
	EXPECT_N(&r, 4);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "./rel.so", "config SO_PATH");
	EXPECT(&r, MODULE_ENGINE, MODREF_DIR, "/opt/e", "config DIR_ADD");
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "foo", "config ID");
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/opt/e/./rel.so", "config DIR_ADD + SO_PATH");
	module_requests_free(&r);

	/* The same ctrls as `engine -pre`: the ID's file in the added directory, once LOADed. */
	write_str(tpath(t, "d.cnf"), "openssl_conf = init\n"
				     "[init]\n"
				     "engines = eng\n"
				     "[eng]\n"
				     "dyn = d\n"
				     "nold = n\n"
				     "[d]\n"
				     "engine_id = dynamic\n"
				     "DIR_ADD = /opt/e/\n"
				     "ID = foo\n"
				     "DIR_LOAD = 2\n"
				     "LIST_ADD = 1\n"
				     "LOAD = EMPTY\n"
				     "[n]\n"
				     "engine_id = dynamic\n"
				     "DIR_ADD = /opt/n\n"
				     "ID = bar\n");
	assert_int_equal(openssl_config_parse("", tpath(t, "d.cnf"), NULL, &r), 0);
	EXPECT_N(&r, 5);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/opt/e/foo.so", "config DIR_ADD + ID");
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "bar", "config ID");
	module_requests_free(&r);
}

static void test_config_providers_and_modules(void **state)
{
	struct tmpdir *t = *state;
	struct module_requests r = { 0 };

	write_str(tpath(t, "p.cnf"), "d = /tmp\n"
				     "openssl_conf = openssl_init\n"
				     "[openssl_init]\n"
				     "providers = provider_sect\n"
				     "alg_section = algs\n"
				     "evil = evsect\n"
				     "[provider_sect]\n"
				     "default = default_sect\n"
				     "legacy = legacy_sect\n"
				     "mine = mine_sect\n"
				     "q = q_sect\n"
				     "[default_sect]\n"
				     "activate = 1\n"
				     "[legacy_sect]\n"
				     "activate = 1\n"
				     "[mine_sect]\n"
				     "module = /tmp/p.so\n"
				     "activate = 1\n"
				     "[q_sect]\n"
				     "module = $d/\"q\\.so\" # comment\n"
				     "[evsect]\n"
				     "path = ${d}/dso.so\n");
	assert_int_equal(openssl_config_parse(NULL, tpath(t, "p.cnf"), NULL, &r), 0);
	EXPECT_N(&r, 4);
	EXPECT(&r, MODULE_PROVIDER, MODREF_PATH, "/tmp/p.so", "config module");
	EXPECT(&r, MODULE_PROVIDER, MODREF_NAME, "legacy", "config provider");
	EXPECT(&r, MODULE_PROVIDER, MODREF_PATH, "/tmp/q.so", "config module");
	EXPECT(&r, MODULE_UNKNOWN, MODREF_PATH, "/tmp/dso.so", "config DSO module");
	module_requests_free(&r);
}

static void test_config_syntax(void **state)
{
	struct tmpdir *t = *state;
	struct module_requests r = { 0 };

	/* Continuation lines, section::name, CRLF, other app names. */
	write_str(tpath(t, "s.cnf"), "nodejs_conf = init\r\n"
				     "[init]\r\n"
				     "engines = eng\r\n"
				     "eng::x = xs\r\n"
				     "[xs]\r\n"
				     "dynamic_path = /tmp/co\\\n"
				     "nt.so\r\n"
				     "[default]\n"
				     "# reopening default is allowed\n");
	assert_int_equal(openssl_config_parse("", tpath(t, "s.cnf"), NULL, &r), 0);
	EXPECT_N(&r, 1);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/tmp/cont.so", "config dynamic_path");
	module_requests_free(&r);
}

static void test_config_include(void **state)
{
	struct tmpdir *t = *state;
	struct module_requests r = { 0 };
	char buf[512];

	assert_int_equal(mkdir(tpath(t, "inc.d"), 0700), 0);
	assert_int_equal(mkdir(tpath(t, "inc.d/sub.cnf"), 0700), 0);
	write_str(tpath(t, "inc.d/b.cnf"), "[ps]\nmine = ms\n[ms]\nmodule = /tmp/p.so\n");
	write_str(tpath(t, "inc.d/ignored.txt"), "[ms]\nmodule = /tmp/no.so\n");
	write_str(tpath(t, "one.cnf"), "dynamic_path = /tmp/evil.so\n");
	snprintf(buf, sizeof(buf),
		 "openssl_conf = init\n"
		 "[init]\n"
		 "engines = eng\n"
		 "providers = ps\n"
		 "[eng]\n"
		 "x = xsect\n"
		 "[xsect]\n"
		 ".include one.cnf\n"
		 ".include = %s/inc.d\n",
		 t->path);
	write_str(tpath(t, "main.cnf"), buf);

	assert_int_equal(openssl_config_parse("", tpath(t, "main.cnf"), NULL, &r), 0);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/tmp/evil.so", "config dynamic_path");
	EXPECT(&r, MODULE_PROVIDER, MODREF_PATH, "/tmp/p.so", "config module");
	EXPECT(&r, MODULE_UNKNOWN, MODREF_CONFIG, tpath(t, "one.cnf"), ".include");
	EXPECT(&r, MODULE_UNKNOWN, MODREF_CONFIG, tpath(t, "inc.d"), ".include");
	EXPECT(&r, MODULE_UNKNOWN, MODREF_CONFIG, tpath(t, "inc.d/b.cnf"), ".include");
	EXPECT_N(&r, 5);
	module_requests_free(&r);

	/* OPENSSL_CONF_INCLUDE redirects relative includes. */
	assert_int_equal(mkdir(tpath(t, "alt"), 0700), 0);
	write_str(tpath(t, "alt/one.cnf"), "dynamic_path = /tmp/alt.so\n");
	assert_int_equal(openssl_config_parse("", tpath(t, "main.cnf"), tpath(t, "alt"), &r), 0);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/tmp/alt.so", "config dynamic_path");
	assert_false(has(&r, MODULE_ENGINE, MODREF_PATH, "/tmp/evil.so", "config dynamic_path"));
	module_requests_free(&r);

	/* Known process cwd: OpenSSL 3.0 opens relative includes from there. */
	assert_int_equal(
	    openssl_config_parse_ex("", tpath(t, "main.cnf"), NULL, tpath(t, "alt"), &r), 0);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/tmp/alt.so", "config dynamic_path");
	module_requests_free(&r);

	/* Read through a root prefix: paths are as the process sees them. */
	assert_int_equal(openssl_config_parse(t->path, "/main.cnf", NULL, &r), 0);
	EXPECT(&r, MODULE_UNKNOWN, MODREF_CONFIG, "/one.cnf", ".include");
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/tmp/evil.so", "config dynamic_path");
	module_requests_free(&r);
}

static void test_config_include_cycle(void **state)
{
	struct tmpdir *t = *state;
	struct module_requests r = { 0 };
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "openssl_conf = init\n[init]\nengines = eng\n[eng]\nx = xs\n[xs]\n"
		 ".include %s/b.cnf\ndynamic_path = /tmp/a.so\n",
		 t->path);
	write_str(tpath(t, "a.cnf"), buf);
	snprintf(buf, sizeof(buf), ".include %s/a.cnf\n.include %s/b.cnf\n.include %s\n", t->path,
		 t->path, t->path);
	write_str(tpath(t, "b.cnf"), buf);
	assert_int_equal(openssl_config_parse("", tpath(t, "a.cnf"), NULL, &r), 0);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/tmp/a.so", "config dynamic_path");
	module_requests_free(&r);
}

static void test_config_hostile(void **state)
{
	struct tmpdir *t = *state;
	struct module_requests r = { 0 };
	size_t big = (3u << 20) / 2, i;
	char *data = malloc(big);
	const char *tail = "\nopenssl_conf = init\n[init]\nengines = e\n[e]\nx = s\n[s]\n"
			   "dynamic_path = /tmp/after.so\n";

	assert_non_null(data);
	/* Garbage, NULs, unbalanced quotes and brackets, then one huge line. */
	for (i = 0; i < 4096; i++)
		data[i] = (char)(i * 131 + 7);
	memcpy(data, "[unterminated\n\"open quote\n$$${{::\n\\\n=\n.include\n", 47);
	memset(data + 4096, 'A', big - 4096);
	write_file(tpath(t, "g.cnf"), data, big);
	assert_int_equal(openssl_config_parse("", tpath(t, "g.cnf"), NULL, &r), 0);
	module_requests_free(&r);

	/* A reasonable file after a long line still parses. */
	memset(data, 'x', 200000);
	memcpy(data + 200000, tail, strlen(tail));
	write_file(tpath(t, "l.cnf"), data, 200000 + strlen(tail));
	assert_int_equal(openssl_config_parse("", tpath(t, "l.cnf"), NULL, &r), 0);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/tmp/after.so", "config dynamic_path");
	module_requests_free(&r);

	/* Exponential $var expansion stays bounded. */
	write_str(tpath(t, "x.cnf"), "a = aaaaaaaaaaaaaaaa\nb = $a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a\n"
				     "c = $b$b$b$b$b$b$b$b$b$b$b$b$b$b$b$b\n"
				     "d = $c$c$c$c$c$c$c$c$c$c$c$c$c$c$c$c\n"
				     "e = $d$d$d$d$d$d$d$d$d$d$d$d$d$d$d$d\n"
				     "f = $e$e$e$e$e$e$e$e$e$e$e$e$e$e$e$e\n");
	assert_int_equal(openssl_config_parse("", tpath(t, "x.cnf"), NULL, &r), 0);
	EXPECT_N(&r, 0);

	/* Past 64 files the parse stops, and says so. */
	assert_int_equal(mkdir(tpath(t, "many"), 0700), 0);
	for (i = 0; i < 70; i++) {
		char name[32];

		snprintf(name, sizeof(name), "many/%02zu.cnf", i);
		write_str(tpath(t, name), "k = v\n");
	}
	snprintf(data, 4096, ".include %s\n", tpath(t, "many"));
	write_str(tpath(t, "m.cnf"), data);
	assert_int_equal(openssl_config_parse("", tpath(t, "m.cnf"), NULL, &r), 0);
	EXPECT(&r, MODULE_UNKNOWN, MODREF_CONFIG, tpath(t, "m.cnf"), "config: limits exceeded");
	EXPECT(&r, MODULE_UNKNOWN, MODREF_CONFIG, tpath(t, "many/62.cnf"), ".include");
	assert_false(has(&r, MODULE_UNKNOWN, MODREF_CONFIG, tpath(t, "many/63.cnf"), ".include"));
	module_requests_free(&r);

	/* Missing file, directory, device, FIFO: nothing, no error. */
	assert_int_equal(openssl_config_parse("", tpath(t, "missing.cnf"), NULL, &r), 0);
	assert_int_equal(openssl_config_parse("", t->path, NULL, &r), 0);
	assert_int_equal(openssl_config_parse("", "/dev/zero", NULL, &r), 0);
	assert_int_equal(mkfifo(tpath(t, "fifo"), 0600), 0);
	assert_int_equal(openssl_config_parse("", tpath(t, "fifo"), NULL, &r), 0);
	assert_int_equal(openssl_config_parse("", NULL, NULL, &r), 0);
	EXPECT_N(&r, 0);
	free(data);
}

/* ---- the pkcs11 engine's own module (libp11): MODULE_PATH, PKCS11_MODULE_PATH ---- */

static void test_pkcs11_module_args(void **state)
{
	struct module_requests r = { 0 };

	/* `openssl engine pkcs11 -pre MODULE_PATH:...`: the ctrl runs before the engine's init. */
	PARSE(&r, "openssl", "engine", "-t", "pkcs11", "-pre", "MODULE_PATH:/tmp/evil.so");
	EXPECT_N(&r, 2);
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "pkcs11", "engine command");
	EXPECT(&r, MODULE_PKCS11, MODREF_PATH, "/tmp/evil.so", "-pre MODULE_PATH");
	module_requests_free(&r);

	/* -post, a relative path (dlopen opens it from the cwd), --pre=, any case. */
	PARSE(&r, "openssl", "engine", "pkcs11", "-post", "MODULE_PATH:./m.so",
	      "--pre=module_path:x/y");
	EXPECT_N(&r, 3);
	EXPECT(&r, MODULE_PKCS11, MODREF_PATH, "./m.so", "-post MODULE_PATH");
	EXPECT(&r, MODULE_PKCS11, MODREF_PATH, "x/y", "-pre MODULE_PATH");
	module_requests_free(&r);

	/* A bare name is dlopen()'s search: reported as a name. Empty or missing: nothing. */
	PARSE(&r, "openssl", "engine", "pkcs11", "-pre", "MODULE_PATH:libevil.so", "-pre",
	      "MODULE_PATH:", "-pre", "MODULE_PATH");
	EXPECT_N(&r, 2);
	EXPECT(&r, MODULE_PKCS11, MODREF_NAME, "libevil.so", "-pre MODULE_PATH");
	module_requests_free(&r);

	/* Through the dynamic engine: it hands MODULE_PATH to the pkcs11 engine it loaded. */
	PARSE(&r, "openssl", "engine", "dynamic", "-pre", "SO_PATH:/usr/lib/x/pkcs11.so", "-pre",
	      "LOAD", "-pre", "MODULE_PATH:/dev/shm/p.so");
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/usr/lib/x/pkcs11.so", "-pre SO_PATH");
	EXPECT(&r, MODULE_PKCS11, MODREF_PATH, "/dev/shm/p.so", "-pre MODULE_PATH");
	module_requests_free(&r);

	/* Not the engine command: -pre is not an option there, so no ctrl. */
	PARSE(&r, "openssl", "req", "-pre", "MODULE_PATH:/tmp/evil.so");
	EXPECT_N(&r, 0);
	module_requests_free(&r);
}

static void test_pkcs11_module_env(void **state)
{
	static const char *const env[] = { "PKCS11_MODULE_PATH=/tmp/evil.so", "PKCS11_MODULE_PATH=",
					   "PKCS11_MODULE_PATH=opensc-pkcs11.so",
					   "PKCS11_MODULE_PATHX=/tmp/no.so" };
	struct module_requests r = { 0 };

	assert_int_equal(openssl_env_parse(env, sizeof(env) / sizeof(env[0]), &r), 0);
	EXPECT_N(&r, 2);
	EXPECT(&r, MODULE_PKCS11, MODREF_PATH, "/tmp/evil.so", "PKCS11_MODULE_PATH");
	EXPECT(&r, MODULE_PKCS11, MODREF_NAME, "opensc-pkcs11.so", "PKCS11_MODULE_PATH");
	module_requests_free(&r);
}

static void test_pkcs11_module_config(void **state)
{
	struct tmpdir *t = *state;
	struct module_requests r = { 0 };

	/* Debian's documented pkcs11 engine section, and a ctrl name with a "n." prefix. */
	write_str(tpath(t, "p.cnf"),
		  "openssl_conf = init\n"
		  "[init]\n"
		  "engines = eng\n"
		  "[eng]\n"
		  "pkcs11 = pkcs11_section\n"
		  "other = o\n"
		  "[pkcs11_section]\n"
		  "engine_id = pkcs11\n"
		  "dynamic_path = /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so\n"
		  "MODULE_PATH = /tmp/evil.so\n"
		  "init = 1\n"
		  "[o]\n"
		  "engine_id = o\n"
		  "1.MODULE_PATH = rel/m.so\n"
		  "2.MODULE_PATH = EMPTY\n");
	assert_int_equal(openssl_config_parse("", tpath(t, "p.cnf"), NULL, &r), 0);
	EXPECT_N(&r, 4);
	EXPECT(&r, MODULE_ENGINE, MODREF_PATH, "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so",
	       "config dynamic_path");
	EXPECT(&r, MODULE_PKCS11, MODREF_PATH, "/tmp/evil.so", "config MODULE_PATH");
	EXPECT(&r, MODULE_ENGINE, MODREF_NAME, "o", "config engine");
	EXPECT(&r, MODULE_PKCS11, MODREF_PATH, "rel/m.so", "config MODULE_PATH");
	module_requests_free(&r);

	/* libp11's provider (0.4.14 on) takes the module from its provider section. */
	write_str(tpath(t, "q.cnf"),
		  "openssl_conf = init\n"
		  "[init]\n"
		  "providers = prov\n"
		  "[prov]\n"
		  "pkcs11 = p\n"
		  "[p]\n"
		  "module = /usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11prov.so\n"
		  "pkcs11_module = /tmp/evil.so\n"
		  "activate = 1\n");
	assert_int_equal(openssl_config_parse("", tpath(t, "q.cnf"), NULL, &r), 0);
	EXPECT_N(&r, 2);
	EXPECT(&r, MODULE_PKCS11, MODREF_PATH, "/tmp/evil.so", "config pkcs11_module");
	module_requests_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine_option_forms),
		cmocka_unit_test(test_other_engine_options),
		cmocka_unit_test(test_engine_path_and_name),
		cmocka_unit_test(test_engine_command),
		cmocka_unit_test(test_dynamic_engine_dirs),
		cmocka_unit_test(test_symlinked_command),
		cmocka_unit_test(test_double_dash),
		cmocka_unit_test(test_unknown_options_do_not_derail),
		cmocka_unit_test(test_engine_uri),
		cmocka_unit_test(test_providers),
		cmocka_unit_test(test_config_option),
		cmocka_unit_test(test_harmless_commands),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_pkcs11_module_args),
		cmocka_unit_test(test_pkcs11_module_env),
		cmocka_unit_test_setup_teardown(test_pkcs11_module_config, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_config_engine_chain, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_config_providers_and_modules, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_config_syntax, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_config_include, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_config_include_cycle, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_config_hostile, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
