/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `sowatch collect` and `sowatch nats-init` share on their command lines: --nats, --config,
 * --stream and --subject-prefix, checked as the configuration's keys are (config_checks.h), and
 * the configuration's section, which gives what the options do not.
 */
#ifndef SOWATCH_CLI_NATS_ARGS_H
#define SOWATCH_CLI_NATS_ARGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "config_checks.h"

/* The options both commands take, in their struct option tables */
// clang-format off
#define NATS_ARGS_LONGOPTS                                                                         \
	{ "nats", required_argument, NULL, 'n' },                                                  \
	{ "config", required_argument, NULL, 'c' },                                                \
	{ "stream", required_argument, NULL, 's' },                                                \
	{ "subject-prefix", required_argument, NULL, 'p' },                                        \
	{ "help", no_argument, NULL, 'h' }
// clang-format on

/* "<prefix>.>", the prefix from the command line (at most 100 bytes) or the configuration */
#define NATS_ARGS_SUBJECT_MAX (sizeof(((struct config_nats *)0)->subject_prefix) + 2)

struct nats_args {
	const char *command; /* "collect" or "nats-init", for messages */
	/* The options, NULL when not given */
	char *nats;
	const char *config_path, *stream, *prefix;
	/* Filled by nats_args_resolve() */
	const char *urls[CONFIG_NATS_SERVERS_MAX]; /* --nats, split; none: the section's */
	size_t n_urls;
	struct config cfg;
	const struct config_nats *section;   /* NULL: the configuration has none */
	char subject[NATS_ARGS_SUBJECT_MAX]; /* <prefix>.> */
};

/* Takes option c with its argument: true, or false when c is not one of NATS_ARGS_LONGOPTS */
bool nats_args_option(struct nats_args *a, int c, char *arg);

/*
 * After getopt_long(): checks the options and the rest of argv, loads the configuration, picks
 * its section (collect, else outputs.nats when or_outputs_nats: the keys nats-init also reads)
 * and fills stream, prefix and subject from the options, else the section, else the defaults.
 * -1 to go on (free a with nats_args_free()), else the exit status, its message printed.
 */
int nats_args_resolve(struct nats_args *a, int argc, char **argv, bool or_outputs_nats);

/* value of option, checked as the configuration's key: -1 if good, else 2, a message printed */
int nats_args_check(const struct nats_args *a, const char *option, const char *value,
		    value_check check);

/* "sowatch <command>: <message>" and where to find help, on stderr; returns 2 */
int nats_args_usage_error(const struct nats_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void nats_args_free(struct nats_args *a);

#endif
