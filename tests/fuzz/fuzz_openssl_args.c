// SPDX-License-Identifier: Apache-2.0
/*
 * The input is both an argv (split on NUL) and an OpenSSL config file. The file lives in a
 * private directory so that its .include lines can reach it and each other. The same words go
 * to node's option parser, as argv, as environment and whole as NODE_OPTIONS.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detectors/openssl_args.h"
#include "detectors/node_args.h"
#include "detectors/openssl_config.h"

#define MAX_ARGS 256

static char dir[] = "/tmp/fuzz_openssl_args.XXXXXX";
static char cnf[sizeof(dir) + 16];

static void check(const struct module_requests *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!r->items[i].value || !r->items[i].origin)
			abort();
}

static void remove_dir(void)
{
	unlink(cnf);
	rmdir(dir);
}

/* Node's options from argv, from the same words as environment, and from the first word taken
 * whole as NODE_OPTIONS; what it gives must be a string or nothing. */
static void fuzz_node(const char *const *argv, size_t argc, const char *first, size_t size)
{
	struct node_openssl_opts o;
	char *buf, **words, *env;
	const char *envp[1];
	bool invalid;
	long n;

	if (node_openssl_options(argv, argc, argv, argc, &o) == 0) {
		if (!o.appname || (o.config_file && !*o.config_file))
			abort();
		node_openssl_opts_free(&o);
	}
	n = node_options_split(first, &buf, &words, &invalid);
	if (n >= 0) {
		for (long i = 0; i < n; i++)
			if (!words[i] || strlen(words[i]) > size)
				abort();
		free(words);
		free(buf);
	}
	env = malloc(strlen(first) + 14);
	if (!env)
		return;
	strcpy(env, "NODE_OPTIONS=");
	strcat(env, first);
	envp[0] = env;
	if (node_openssl_options(argv, argc, envp, 1, &o) == 0)
		node_openssl_opts_free(&o);
	free(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv[MAX_ARGS];
	struct module_requests r = { 0 };
	size_t argc = 0, i = 0;
	char *copy;
	FILE *f;

	if (!cnf[0]) {
		if (!mkdtemp(dir))
			abort();
		snprintf(cnf, sizeof(cnf), "%s/a.cnf", dir);
		atexit(remove_dir);
	}

	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	while (i <= size && argc < MAX_ARGS) {
		argv[argc++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	openssl_args_parse(argv, argc, &r);
	openssl_env_parse(argv, argc, &r);
	check(&r);
	module_requests_free(&r);
	fuzz_node(argv, argc, copy, size);
	free(copy);

	f = fopen(cnf, "wb");
	if (!f)
		return 0;
	if (size && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	openssl_config_parse("", cnf, NULL, &r);
	openssl_config_parse_ex(dir, "/a.cnf", dir, "/", &r);
	openssl_config_parse_app("", cnf, NULL, NULL, NODE_OPENSSL_APPNAME, false, &r);
	openssl_config_parse_app("", cnf, NULL, NULL, "x_conf", true, &r);
	check(&r);
	module_requests_free(&r);
	return 0;
}
