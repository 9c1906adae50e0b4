// SPDX-License-Identifier: Apache-2.0
#include "detectors/node_args.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

long node_options_split(const char *value, char **buf, char ***words, bool *invalid)
{
	size_t len = strlen(value), n = 0, i, at = 0;
	bool quoted = false, new_word = true;
	char *b, **w;

	*buf = NULL;
	*words = NULL;
	*invalid = false;
	/* Words only shrink and each takes at least one byte and a separator. */
	if (len > SIZE_MAX / 2 - 2 || len / 2 + 1 > SIZE_MAX / sizeof(*w))
		return -ENOMEM;
	b = malloc(len + len / 2 + 2);
	w = calloc(len / 2 + 1, sizeof(*w));
	if (!b || !w) {
		free(b);
		free(w);
		return -ENOMEM;
	}
	for (i = 0; i < len; i++) {
		char c = value[i];

		if (c == '\\' && quoted) {
			if (i + 1 == len) {
				*invalid = true; /* "invalid escape": node stops here */
				break;
			}
			c = value[++i];
		} else if (c == ' ' && !quoted) {
			new_word = true;
			continue;
		} else if (c == '"') {
			quoted = !quoted;
			continue;
		}
		if (new_word) {
			if (n)
				b[at++] = '\0';
			w[n++] = b + at;
			new_word = false;
		}
		b[at++] = c;
	}
	b[at] = '\0';
	if (quoted)
		*invalid = true; /* "unterminated string" */
	*buf = b;
	*words = w;
	return (long)n;
}

/*
 * Node 20's options that take a value (kString, kStringList, kInteger, kUInteger, kHostPort),
 * with their aliases, and a few of later releases: `--opt value` consumes the next argument, so
 * the script is the argument after it. Booleans, and options node leaves to V8, take none.
 */
static const char *const value_options[] = {
	"--allow-fs-read",
	"--allow-fs-write",
	"--build-snapshot-config",
	"--conditions",
	"-C",
	"--cpu-prof-dir",
	"--cpu-prof-interval",
	"--cpu-prof-name",
	"--debug-port",
	"--diagnostic-dir",
	"--disable-proto",
	"--disable-warning",
	"--dns-result-order",
	"--env-file",
	"--env-file-if-exists",
	"--es-module-specifier-resolution",
	"--eval",
	"-e",
	"--experimental-config-file",
	"--experimental-default-type",
	"--experimental-loader",
	"--experimental-policy",
	"--experimental-sea-config",
	"--experimental-specifier-resolution",
	"--heap-prof-dir",
	"--heap-prof-interval",
	"--heap-prof-name",
	"--heapsnapshot-near-heap-limit",
	"--heapsnapshot-signal",
	"--icu-data-dir",
	"--import",
	"--input-type",
	"--inspect-port",
	"--inspect-publish-uid",
	"--loader",
	"--localstorage-file",
	"--max-http-header-size",
	"--network-family-autoselection-attempt-timeout",
	"--openssl-config",
	"--policy-integrity",
	"--redirect-warnings",
	"--report-dir",
	"--report-directory",
	"--report-filename",
	"--report-signal",
	"--require",
	"-r",
	"--secure-heap",
	"--secure-heap-min",
	"--snapshot-blob",
	"--stack-trace-limit",
	"--test-concurrency",
	"--test-coverage-exclude",
	"--test-coverage-include",
	"--test-isolation",
	"--test-name-pattern",
	"--test-reporter",
	"--test-reporter-destination",
	"--test-shard",
	"--test-skip-pattern",
	"--test-timeout",
	"--title",
	"--tls-cipher-list",
	"--tls-keylog",
	"--trace-event-categories",
	"--trace-event-file-pattern",
	"--trace-require-module",
	"--unhandled-rejections",
	"--use-largepages",
	"--v8-pool-size",
	"--watch-path",
	"-pe", /* --print --eval: --eval's value */
};

static bool takes_value(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(value_options); i++)
		if (strlen(value_options[i]) == len && !memcmp(value_options[i], name, len))
			return true;
	return false;
}

/* What the options read so far set; the file points into the caller's or the split strings. */
struct node_parse {
	const char *config; /* the last --openssl-config value; "" clears */
	bool shared, legacy, rejected;
};

/* Longer than every option node has: such a name is nobody's, so a flag for V8. */
#define NODE_MAX_OPTION 64

/*
 * The option's name as node looks it up: up to '=' (only for "--" options: "-e=x" is the
 * option "-e=x"), '_' read as '-' from the third byte on, "--no-" taken off (*negated).
 * False when it is too long to be one node knows.
 */
static bool option_name(const char *arg, char *name, const char **eq, bool *negated)
{
	size_t len, i;

	*eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
	len = *eq ? (size_t)(*eq - arg) : strlen(arg);
	if (len >= NODE_MAX_OPTION)
		return false;
	for (i = 0; i < len; i++)
		name[i] = i >= 2 && arg[i] == '_' ? '-' : arg[i];
	name[len] = '\0';
	*negated = !strncmp(name, "--no-", 5);
	if (*negated)
		memmove(name + 2, name + 5, len - 4);
	return true;
}

/*
 * OptionsParser::Parse over words[0..n) (NODE_OPTIONS' words, or argv without argv[0]). Stops
 * where node stops: a word that is not an option, "--", or an error (then rejected).
 */
static void parse_words(struct node_parse *st, const char *const *words, size_t n, bool env)
{
	size_t i = 0;

	while (i < n && words[i]) {
		const char *arg = words[i++], *eq, *value;
		char name[NODE_MAX_OPTION];
		bool negated;

		if (arg[0] != '-' || !arg[1])
			break; /* the script, or "-" for stdin */
		if (!strcmp(arg, "--")) {
			st->rejected |= env; /* "-- is not allowed in NODE_OPTIONS" */
			break;
		}
		if (!option_name(arg, name, &eq, &negated))
			continue;
		if (!negated && (!strcmp(name, "--print") || !strcmp(name, "-p"))) {
			/* Alias "--print <arg>" is -pe: the next word, when no option, is --eval's. */
			if (!eq && i < n && words[i] && words[i][0] != '-')
				i++;
			continue;
		}
		if (!takes_value(name, strlen(name))) {
			/* A flag: one of the two we want, or any other (node's, or V8's). */
			if (!strcmp(name, "--openssl-shared-config"))
				st->shared = !negated;
			else if (!strcmp(name, "--openssl-legacy-provider"))
				st->legacy = !negated;
			continue;
		}
		if (negated) {
			st->rejected = true; /* "an invalid negation because it is not a boolean" */
			break;
		}
		if (eq) {
			value = eq + 1;
		} else if (i < n && words[i] && words[i][0] != '-') {
			value = words[i++];
			/* "\-x" is how a value starting with '-' is written */
			if (value[0] == '\\' && value[1] == '-')
				value++;
		} else {
			st->rejected = true; /* "requires an argument" */
			break;
		}
		if (eq && !*value) {
			st->rejected = true; /* "--openssl-config= requires an argument" */
			break;
		}
		if (!strcmp(name, "--openssl-config"))
			st->config = value;
	}
}

/* The first "NAME=value" of env, as getenv() finds it. */
static const char *env_value(const char *const *env, size_t envc, const char *name)
{
	size_t nlen = strlen(name), i;

	for (i = 0; env && i < envc; i++)
		if (env[i] && !strncmp(env[i], name, nlen) && env[i][nlen] == '=')
			return env[i] + nlen + 1;
	return NULL;
}

int node_openssl_options(const char *const *argv, size_t argc, const char *const *env, size_t envc,
			 struct node_openssl_opts *ret)
{
	const char *node_options = env_value(env, envc, "NODE_OPTIONS");
	const char *openssl_conf = env_value(env, envc, "OPENSSL_CONF");
	struct node_parse st = { 0 };
	char *buf = NULL, **words = NULL;
	bool wanted;
	long n = 0;

	memset(ret, 0, sizeof(*ret));
	if (node_options) {
		bool invalid;

		n = node_options_split(node_options, &buf, &words, &invalid);
		if (n < 0)
			return (int)n;
		/* Node refuses a malformed NODE_OPTIONS outright; what it holds is still read. */
		st.rejected = invalid;
		parse_words(&st, (const char *const *)words, (size_t)n, true);
	}
	if (argv && argc > 1)
		parse_words(&st, argv + 1, argc - 1, false);

	/* st.config may point into buf: copied before buf goes. */
	if (st.config && *st.config) {
		ret->config_file = strdup(st.config);
		ret->config_from_option = true;
	} else if (openssl_conf && *openssl_conf) {
		ret->config_file = strdup(openssl_conf);
	}
	wanted = (st.config && *st.config) || (openssl_conf && *openssl_conf);
	free(words);
	free(buf);
	if (wanted && !ret->config_file)
		return -ENOMEM;
	ret->shared_config = st.shared;
	ret->appname = st.shared ? NODE_OPENSSL_SHARED_APPNAME : NODE_OPENSSL_APPNAME;
	ret->legacy_provider = st.legacy;
	ret->rejected = st.rejected;
	return 0;
}

void node_openssl_opts_free(struct node_openssl_opts *o)
{
	if (!o)
		return;
	free(o->config_file);
	memset(o, 0, sizeof(*o));
}
