// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detectors/node_args.h"
#include "detectors/openssl_config.h"

#define LIST(...)  ((const char *const[]){ __VA_ARGS__ })
#define COUNT(...) (sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

/* The options of argv (a LIST) with env (a LIST, or NULL with envc 0). */
static struct node_openssl_opts run(const char *const *argv, size_t argc, const char *const *env,
				    size_t envc)
{
	struct node_openssl_opts o;

	assert_int_equal(node_openssl_options(argv, argc, env, envc, &o), 0);
	assert_non_null(o.appname);
	return o;
}

#define ARGS(...) run(LIST(__VA_ARGS__), COUNT(__VA_ARGS__), NULL, 0)
#define WITH_ENV(env, ...)                                                                         \
	run(LIST(__VA_ARGS__), COUNT(__VA_ARGS__), env, sizeof(env) / sizeof(*env))

static void expect(struct node_openssl_opts *o, const char *file, bool from_option, bool shared,
		   bool rejected)
{
	if (file) {
		assert_non_null(o->config_file);
		assert_string_equal(o->config_file, file);
	} else {
		assert_null(o->config_file);
	}
	assert_int_equal(o->config_from_option, from_option);
	assert_int_equal(o->shared_config, shared);
	assert_string_equal(o->appname, shared ? "openssl_conf" : "nodejs_conf");
	assert_int_equal(o->rejected, rejected);
	node_openssl_opts_free(o);
}

static void test_openssl_config_forms(void **state)
{
	struct node_openssl_opts o;

	o = ARGS("node");
	expect(&o, NULL, false, false, false);
	o = ARGS("node", "--openssl-config=/tmp/a.cnf", "app.js");
	expect(&o, "/tmp/a.cnf", true, false, false);
	o = ARGS("node", "--openssl-config", "rel.cnf", "app.js");
	expect(&o, "rel.cnf", true, false, false);
	/* node reads '_' as '-' in option names, and the last value wins */
	o = ARGS("/usr/bin/node", "--openssl_config=/a", "--openssl-config=/b");
	expect(&o, "/b", true, false, false);
	/* "\-" is how a value that starts with '-' is written */
	o = ARGS("node", "--openssl-config", "\\-x.cnf");
	expect(&o, "-x.cnf", true, false, false);
	o = ARGS("node", "--openssl-shared-config", "--openssl-config=/c.cnf", "-e", "1");
	expect(&o, "/c.cnf", true, true, false);
	o = ARGS("node", "--openssl-shared-config", "--no-openssl-shared-config");
	expect(&o, NULL, false, false, false);
	o = ARGS("node", "--openssl-legacy-provider");
	assert_true(o.legacy_provider);
	expect(&o, NULL, false, false, false);
}

static void test_where_options_end(void **state)
{
	struct node_openssl_opts o;

	/* After the script, "--" or "-", arguments are the script's. */
	o = ARGS("node", "app.js", "--openssl-config=/x", "--openssl-shared-config");
	expect(&o, NULL, false, false, false);
	o = ARGS("node", "--", "--openssl-config=/x");
	expect(&o, NULL, false, false, false);
	o = ARGS("node", "-", "--openssl-config=/x");
	expect(&o, NULL, false, false, false);
	/* Options that take a value consume the next argument, in both spellings. */
	o = ARGS("node", "-r", "./hook.js", "--require", "x", "-C", "c", "--title", "t",
		 "--openssl-config=/y", "app.js");
	expect(&o, "/y", true, false, false);
	o = ARGS("node", "-e", "code", "--openssl-config", "/z");
	expect(&o, "/z", true, false, false);
	/* -p takes the next argument when it is no option; flags and V8's options take none. */
	o = ARGS("node", "-p", "1+1", "--openssl-config=/p");
	expect(&o, "/p", true, false, false);
	o = ARGS("node", "-p", "--openssl-config=/p2");
	expect(&o, "/p2", true, false, false);
	o = ARGS("node", "--max-old-space-size=100", "--inspect=9229", "--no-warnings", "-e=x",
		 "--openssl-config=/v");
	expect(&o, "/v", true, false, false);
	o = ARGS("node", "--max-old-space-size", "100", "--openssl-config=/v8");
	expect(&o, NULL, false, false, false);
}

static void test_environment(void **state)
{
	static const char *const conf[] = { "OPENSSL_CONF=/etc/o.cnf", "OPENSSL_CONF=/second" };
	static const char *const empty_conf[] = { "OPENSSL_CONF=" };
	static const char *const opts[] = { "PATH=/bin",
					    "NODE_OPTIONS=--openssl-config /n.cnf "
					    "--openssl-shared-config",
					    "OPENSSL_CONF=/etc/o.cnf" };
	static const char *const quoted[] = {
		"NODE_OPTIONS=  \"--openssl-config=/with space/\\\"q\\\".cnf\"  \"\" "
	};
	struct node_openssl_opts o;

	o = WITH_ENV(conf, "node");
	expect(&o, "/etc/o.cnf", false, false, false);
	o = WITH_ENV(empty_conf, "node");
	expect(&o, NULL, false, false, false);
	/* --openssl-config wins over OPENSSL_CONF, argv's over NODE_OPTIONS'. */
	o = WITH_ENV(conf, "node", "--openssl-config=/arg.cnf");
	expect(&o, "/arg.cnf", true, false, false);
	o = WITH_ENV(opts, "node");
	expect(&o, "/n.cnf", true, true, false);
	o = WITH_ENV(opts, "node", "--openssl-config", "/arg.cnf");
	expect(&o, "/arg.cnf", true, true, false);
	/* An empty value clears NODE_OPTIONS' file: OPENSSL_CONF is read again. */
	o = WITH_ENV(opts, "node", "--openssl-config", "");
	expect(&o, "/etc/o.cnf", false, true, false);
	o = WITH_ENV(quoted, "node");
	expect(&o, "/with space/\"q\".cnf", true, false, false);
}

static void test_rejected(void **state)
{
	static const char *const unterminated[] = { "NODE_OPTIONS=--openssl-config=/u.cnf \"" };
	static const char *const bad_escape[] = { "NODE_OPTIONS=\"--openssl-config=/e\\" };
	static const char *const dashdash[] = { "NODE_OPTIONS=-- --openssl-config=/d" };
	struct node_openssl_opts o;

	/* node exits before loading any configuration; what was read is still said */
	o = WITH_ENV(unterminated, "node");
	expect(&o, "/u.cnf", true, false, true);
	o = WITH_ENV(bad_escape, "node");
	expect(&o, "/e", true, false, true);
	o = WITH_ENV(dashdash, "node", "--openssl-config=/a");
	expect(&o, "/a", true, false, true);
	o = ARGS("node", "--openssl-config=");
	expect(&o, NULL, false, false, true);
	o = ARGS("node", "--openssl-config");
	expect(&o, NULL, false, false, true);
	o = ARGS("node", "--openssl-config", "-x");
	expect(&o, NULL, false, false, true);
	o = ARGS("node", "--no-openssl-config");
	expect(&o, NULL, false, false, true);
}

static void test_split(void **state)
{
	char *buf, **w;
	bool invalid;
	long n;

	n = node_options_split("", &buf, &w, &invalid);
	assert_int_equal(n, 0);
	assert_false(invalid);
	free(buf);
	free(w);

	/* Only ' ' separates; quotes join; "" adds nothing; tabs and bytes >= 0x80 are kept. */
	n = node_options_split("a\tb  \"\" c\"d e\"f \xff\xfe \"\\\\\"", &buf, &w, &invalid);
	assert_int_equal(n, 4);
	assert_false(invalid);
	assert_string_equal(w[0], "a\tb");
	assert_string_equal(w[1], "cd ef");
	assert_string_equal(w[2], "\xff\xfe");
	assert_string_equal(w[3], "\\");
	free(buf);
	free(w);

	/* Outside quotes a backslash is a byte like any other. */
	n = node_options_split("a\\ b\\", &buf, &w, &invalid);
	assert_int_equal(n, 2);
	assert_false(invalid);
	assert_string_equal(w[0], "a\\");
	assert_string_equal(w[1], "b\\");
	free(buf);
	free(w);

	n = node_options_split("x \"y", &buf, &w, &invalid);
	assert_int_equal(n, 2);
	assert_true(invalid);
	assert_string_equal(w[1], "y");
	free(buf);
	free(w);
}

static void test_hostile(void **state)
{
	size_t big = 4u << 20, i;
	char *env_entry = malloc(big + 16), *arg = malloc(big + 32);
	const char *env[1], *argv[3];
	struct node_openssl_opts o;

	assert_non_null(env_entry);
	assert_non_null(arg);
	/* A huge NODE_OPTIONS of one-byte words, then of one unterminated quote. */
	strcpy(env_entry, "NODE_OPTIONS=");
	for (i = 0; i < big; i++)
		env_entry[13 + i] = i & 1 ? ' ' : 'x';
	env_entry[13 + big] = '\0';
	env[0] = env_entry;
	argv[0] = "node";
	assert_int_equal(node_openssl_options(argv, 1, env, 1, &o), 0);
	expect(&o, NULL, false, false, false);
	env_entry[13] = '"';
	assert_int_equal(node_openssl_options(argv, 1, env, 1, &o), 0);
	expect(&o, NULL, false, false, true);
	/* A huge option name and a huge value. */
	memset(arg, 'a', big);
	memcpy(arg, "--openssl-config=", 17);
	arg[big] = '\0';
	argv[1] = arg;
	assert_int_equal(node_openssl_options(argv, 2, NULL, 0, &o), 0);
	assert_int_equal(strlen(o.config_file), big - 17);
	node_openssl_opts_free(&o);
	memset(arg, '-', big);
	argv[1] = arg;
	argv[2] = NULL; /* a NULL in argv ends it */
	assert_int_equal(node_openssl_options(argv, 3, LIST(NULL, "NODE_OPTIONS"), 2, &o), 0);
	expect(&o, NULL, false, false, false);
	assert_int_equal(node_openssl_options(NULL, 0, NULL, 0, &o), 0);
	expect(&o, NULL, false, false, false);
	free(env_entry);
	free(arg);
}

/* ---- the configuration node reads, from its appname ---- */

static void test_config_appname(void **state)
{
	char dir[] = "/tmp/test_node_args.XXXXXX", path[64];
	struct module_requests r = { 0 };
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/n.cnf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("nodejs_conf = node_init\n"
	      "openssl_conf = ossl_init\n"
	      "[node_init]\n"
	      "providers = np\n"
	      "[np]\n"
	      "p = nps\n"
	      "[nps]\n"
	      "module = /tmp/node.so\n"
	      "[ossl_init]\n"
	      "engines = oe\n"
	      "[oe]\n"
	      "e = oes\n"
	      "[oes]\n"
	      "dynamic_path = /tmp/ossl.so\n",
	      f);
	assert_int_equal(fclose(f), 0);

	/* Every appname when the program is not known (the default wrapper, unchanged). */
	assert_int_equal(openssl_config_parse("", path, NULL, &r), 0);
	assert_int_equal(r.n, 2);
	module_requests_free(&r);

	assert_int_equal(openssl_config_parse_app("", path, NULL, NULL, "nodejs_conf", false, &r),
			 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.items[0].value, "/tmp/node.so");
	assert_int_equal(r.items[0].kind, MODULE_PROVIDER);
	module_requests_free(&r);

	assert_int_equal(openssl_config_parse_app("", path, NULL, NULL, "openssl_conf", false, &r),
			 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.items[0].value, "/tmp/ossl.so");
	module_requests_free(&r);

	/* No such key: node (no CONF_MFLAGS_DEFAULT_SECTION) loads nothing; OpenSSL's default
	 * flags fall back to openssl_conf. */
	assert_int_equal(openssl_config_parse_app("", path, NULL, NULL, "other_conf", false, &r),
			 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(openssl_config_parse_app("", path, NULL, NULL, "other_conf", true, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.items[0].value, "/tmp/ossl.so");
	module_requests_free(&r);

	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openssl_config_forms),
		cmocka_unit_test(test_where_options_end),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_config_appname),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
