// SPDX-License-Identifier: Apache-2.0
#include "cli/nats_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

bool nats_args_option(struct nats_args *a, int c, char *arg)
{
	switch (c) {
	case 'n':
		a->nats = arg;
		return true;
	case 'c':
		a->config_path = arg;
		return true;
	case 's':
		a->stream = arg;
		return true;
	case 'p':
		a->prefix = arg;
		return true;
	default:
		return false;
	}
}

int nats_args_usage_error(const struct nats_args *a, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sowatch %s: %s\nTry 'sowatch %s --help'.\n", a->command, text, a->command);
	return 2;
}

int nats_args_check(const struct nats_args *a, const char *option, const char *value,
		    value_check check)
{
	char why[256] = "", shown[256];
	const char *what = check(value, why, sizeof(why));

	if (!what)
		return -1;
	/* As the configuration says it of a key: "<what> '<key>': <why>", and the value */
	return nats_args_usage_error(a, "%s '%s' (%s)%s%s", what, option,
				     log_escape(value, shown, sizeof(shown)), why[0] ? ": " : "",
				     why);
}

/* --nats: a comma-separated list split in place, each URL checked as one of servers */
static int split_urls(struct nats_args *a)
{
	char *save = NULL;

	for (char *u = strtok_r(a->nats, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
		int status = nats_args_check(a, "--nats", u, check_nats_server);

		if (status >= 0)
			return status;
		if (a->n_urls == CONFIG_NATS_SERVERS_MAX)
			return nats_args_usage_error(a, "--nats: at most %d servers",
						     CONFIG_NATS_SERVERS_MAX);
		a->urls[a->n_urls++] = u;
	}
	return a->n_urls ? -1 : nats_args_usage_error(a, "--nats: no server given");
}

int nats_args_resolve(struct nats_args *a, int argc, char **argv, bool or_outputs_nats)
{
	const char *error;
	int status = -1;

	if (optind < argc)
		return nats_args_usage_error(a, "unexpected argument '%s'", argv[optind]);
	if (a->nats)
		status = split_urls(a);
	if (status < 0 && a->stream)
		status = nats_args_check(a, "--stream", a->stream, check_nats_name);
	if (status < 0 && a->prefix)
		status =
		    nats_args_check(a, "--subject-prefix", a->prefix, check_nats_subject_prefix);
	if (status >= 0)
		return status;
	if (config_load(&a->cfg, a->config_path, &error) < 0) {
		fprintf(stderr, "sowatch: %s\n", error);
		return 1;
	}
	a->section = a->cfg.collect.enabled		      ? &a->cfg.collect
		     : or_outputs_nats && a->cfg.nats.enabled ? &a->cfg.nats
							      : NULL;
	if (!a->n_urls && !a->section)
		return nats_args_usage_error(
		    a, "no servers: give --nats, or %s in the configuration",
		    or_outputs_nats ? "collect.servers or outputs.nats.servers"
				    : "collect.servers");
	if (!a->stream)
		a->stream =
		    a->section && a->section->stream[0] ? a->section->stream : CONFIG_NATS_STREAM;
	if (!a->prefix)
		a->prefix = a->section && a->section->subject_prefix[0]
				? a->section->subject_prefix
				: CONFIG_NATS_SUBJECT_PREFIX;
	snprintf(a->subject, sizeof(a->subject), "%s.>", a->prefix);
	return -1;
}

void nats_args_free(struct nats_args *a)
{
	config_free(&a->cfg);
}
