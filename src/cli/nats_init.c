// SPDX-License-Identifier: Apache-2.0
/*
 * sowatch nats-init: creates or updates the JetStream stream that nodes publish their
 * findings to and collectors read (Debian ships no NATS command-line tool for this step).
 */
#include "cli/nats_init.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/findings.h"
#include "config.h"
#include "fleet/natslib.h"

#define NS_PER_SEC		 1000000000LL
#define REPLICAS_MAX		 5 /* JetStream's own limit */
#define DUPLICATE_WINDOW_MIN	 "10m"
#define DUPLICATE_WINDOW_DEFAULT "20m"
#define INIT_TIMEOUT_MS		 5000

static const char usage[] =
    "Usage: sowatch nats-init [--nats URL[,URL...]] [--config PATH] [--stream NAME]\n"
    "                         [--subject-prefix PREFIX] [--replicas N] [--max-age DURATION]\n"
    "                         [--duplicate-window DURATION]\n"
    "\n"
    "Creates the JetStream stream that sowatch nodes publish findings to (outputs.nats) and\n"
    "sowatch collect reads, or updates it to these settings, and prints what it did.\n"
    "\n"
    "Options:\n"
    "  --nats URLS        The servers, nats://HOST:PORT or tls://HOST:PORT, comma-separated\n"
    "                     (default: collect.servers, else outputs.nats.servers of the\n"
    "                     configuration). Credentials and ca_file come from the same section.\n"
    "  --config PATH      The configuration file (default /etc/sowatch/sowatch.yaml if present).\n"
    "  --stream NAME      The stream (default: the section's stream, else SOWATCH).\n"
    "  --subject-prefix PREFIX\n"
    "                     The stream takes PREFIX.> (default: the section's subject_prefix,\n"
    "                     else sowatch.findings).\n"
    "  --replicas N       Copies of each finding on different servers, 1 to 5 (default 1;\n"
    "                     3 on a 3-server cluster survives the loss of one server).\n"
    "  --max-age DURATION How long findings are kept in the stream (default 30d).\n"
    "An update changes only the options given; the others keep the stream's values.\n"
    "  --duplicate-window DURATION\n"
    "                     How long a finding id is remembered to drop a duplicate\n"
    "                     (default " DUPLICATE_WINDOW_DEFAULT ", at least " DUPLICATE_WINDOW_MIN
    ").\n"
    "  -h, --help         This text.\n"
    "\n"
    "DURATION is a number and a unit (s, m, h, d), as in 30d or 1h30m.\n"
    "Exit status: 0 done, 1 the servers refused or could not be reached, 2 bad usage.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "sowatch nats-init: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'sowatch nats-init --help'.\n");
	return 2;
}

/* Splits a comma-separated --nats list in place; each must be nats:// or tls:// */
int nats_split_urls(char *list, const char **urls, size_t max, size_t *ret_n, const char **bad)
{
	size_t n = 0;

	for (char *save = NULL, *u = strtok_r(list, ",", &save); u;
	     u = strtok_r(NULL, ",", &save)) {
		if ((strncmp(u, "nats://", 7) != 0 && strncmp(u, "tls://", 6) != 0) ||
		    strchr(u, '@') || n == max) {
			*bad = u;
			return -EINVAL;
		}
		urls[n++] = u;
	}
	*ret_n = n;
	return n ? 0 : -EINVAL;
}

static void print_duration(char *out, size_t size, int64_t ns)
{
	int64_t s = ns / NS_PER_SEC;

	if (s % 86400 == 0)
		snprintf(out, size, "%" PRId64 "d", s / 86400);
	else if (s % 3600 == 0)
		snprintf(out, size, "%" PRId64 "h", s / 3600);
	else if (s % 60 == 0)
		snprintf(out, size, "%" PRId64 "m", s / 60);
	else
		snprintf(out, size, "%" PRId64 "s", s);
}

/* Where the copies are, as the cluster says: "on a, b, c (leader a)", or "one server" */
static void print_placement(const jsStreamInfo *si, char *out, size_t size)
{
	const jsClusterInfo *c = si->Cluster;
	size_t o = 0;

	if (!c || !c->Leader) {
		snprintf(out, size, "one server, not a cluster");
		return;
	}
	o += (size_t)snprintf(out + o, size - o, "on %s", c->Leader);
	for (int i = 0; i < c->ReplicasLen && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, ", %s", c->Replicas[i]->Name);
	if (o < size)
		snprintf(out + o, size - o, "; leader %s", c->Leader);
}

int cmd_nats_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "nats", required_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' },
		{ "stream", required_argument, NULL, 's' },
		{ "subject-prefix", required_argument, NULL, 'p' },
		{ "replicas", required_argument, NULL, 'r' },
		{ "max-age", required_argument, NULL, 'a' },
		{ "duplicate-window", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *stream = NULL, *prefix = NULL, *error = NULL, *bad = NULL;
	const char *urls[CONFIG_NATS_SERVERS_MAX];
	char *nats_arg = NULL, subject[160], text[512], age_text[32], dup_text[32];
	int64_t max_age = 30 * 86400 * NS_PER_SEC, dup_min, duplicates;
	const struct config_nats *section = NULL;
	struct config cfg = { 0 };
	natsConnection *nc = NULL;
	jsStreamInfo *si = NULL;
	jsStreamConfig sc;
	jsCtx *js = NULL;
	jsOptions jo;
	jsErrCode jerr = 0;
	natsStatus s;
	size_t n_urls = 0;
	long replicas = 1;
	/* What the command line set: an update changes only that, and keeps the rest */
	bool set_replicas = false, set_max_age = false, set_duplicates = false;
	bool exists;
	int c, status = 1;

	findings_parse_duration(DUPLICATE_WINDOW_MIN, &dup_min);
	findings_parse_duration(DUPLICATE_WINDOW_DEFAULT, &duplicates);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'n':
			nats_arg = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 's':
			stream = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'r':
			errno = 0;
			replicas = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || replicas < 1 ||
			    replicas > REPLICAS_MAX)
				return usage_error("--replicas must be 1 to 5, not '%s'", optarg);
			break;
		case 'a':
			if (findings_parse_duration(optarg, &max_age) < 0 || max_age <= 0)
				return usage_error("--max-age: '%s' is not a duration", optarg);
			set_max_age = true;
			break;
		case 'd':
			if (findings_parse_duration(optarg, &duplicates) < 0)
				return usage_error("--duplicate-window: '%s' is not a duration",
						   optarg);
			if (duplicates < dup_min)
				return usage_error(
				    "--duplicate-window must be at least " DUPLICATE_WINDOW_MIN
				    ", not %s",
				    optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return usage_error("%s", "bad option");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (nats_arg && nats_split_urls(nats_arg, urls, CONFIG_NATS_SERVERS_MAX, &n_urls, &bad) < 0)
		return usage_error(
		    "--nats: '%s' is not a nats:// or tls:// URL without credentials "
		    "(at most 16)",
		    bad ? bad : "");
	if (config_load(&cfg, config_path, &error) < 0) {
		fprintf(stderr, "sowatch: %s\n", error);
		return 1;
	}
	section = cfg.collect.enabled ? &cfg.collect : cfg.nats.enabled ? &cfg.nats : NULL;
	if (!n_urls && !section) {
		config_free(&cfg);
		return usage_error("%sno servers: give --nats, or collect.servers in the "
				   "configuration",
				   "");
	}
	if (!stream)
		stream = section && section->stream[0] ? section->stream : "SOWATCH";
	if (!prefix)
		prefix = section && section->subject_prefix[0] ? section->subject_prefix
							       : "sowatch.findings";
	snprintf(subject, sizeof(subject), "%s.>", prefix);

	if (natslib_connect(&nc, section, urls, n_urls, "nats-init", false, INIT_TIMEOUT_MS, text,
			    sizeof(text)) < 0) {
		fprintf(stderr, "sowatch nats-init: %s\n", text);
		goto out;
	}
	natslib.js_options_init(&jo);
	jo.Wait = INIT_TIMEOUT_MS;
	s = natslib.jetstream(&js, nc, &jo);
	if (s == NATS_OK)
		s = natslib.js_stream_info(&si, js, stream, NULL, &jerr);
	exists = s == NATS_OK;
	if (!exists && s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
		natslib_error(text, sizeof(text), s);
		fprintf(stderr, "sowatch nats-init: cannot ask JetStream about stream %s: %s\n",
			stream, text);
		goto out;
	}
	natslib.js_stream_config_init(&sc);
	sc.Name = stream;
	sc.Description = "sowatch findings, one message per finding, its id as message id";
	sc.Subjects = (const char *[]){ subject };
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.Retention = js_LimitsPolicy;
	/*
	 * An update keeps what it was not asked to change: run again to change one option, it
	 * must not turn an R3 stream into R1 or cut the age of findings no collector read yet.
	 */
	sc.Replicas = exists && !set_replicas ? si->Config->Replicas : replicas;
	sc.MaxAge = exists && !set_max_age ? si->Config->MaxAge : max_age;
	sc.Duplicates = exists && !set_duplicates ? si->Config->Duplicates : duplicates;
	natslib.js_stream_info_destroy(si);
	si = NULL;
	jerr = 0;
	if (exists)
		s = natslib.js_update_stream(&si, js, &sc, NULL, &jerr);
	else
		s = natslib.js_add_stream(&si, js, &sc, NULL, &jerr);
	if (s != NATS_OK) {
		natslib_error(text, sizeof(text), s);
		fprintf(stderr, "sowatch nats-init: cannot %s stream %s: %s%s\n",
			exists ? "update" : "create", stream, text,
			jerr ? " (a JetStream error: is the cluster big enough for the replicas?)"
			     : "");
		goto out;
	}
	print_placement(si, text, sizeof(text));
	print_duration(age_text, sizeof(age_text), si->Config->MaxAge);
	print_duration(dup_text, sizeof(dup_text), si->Config->Duplicates);
	printf("%s stream %s: subjects %s, %" PRId64 " replicas (%s), file storage, max age %s, "
	       "duplicate window %s; %" PRIu64 " messages in it\n",
	       exists ? "updated" : "created", stream, subject, si->Config->Replicas, text,
	       age_text, dup_text, si->State.Msgs);
	status = 0;
out:
	natslib.js_stream_info_destroy(si);
	if (js)
		natslib.js_destroy(js);
	if (nc)
		natslib.connection_destroy(nc);
	config_free(&cfg);
	return status;
}
