// SPDX-License-Identifier: Apache-2.0
/*
 * sowatch nats-init: creates or updates the JetStream stream that nodes publish their
 * findings to and collectors read (Debian ships no NATS command-line tool for this step).
 */
#include "cli/nats_init.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/findings.h"
#include "cli/nats_args.h"
#include "config.h"
#include "fleet/finding_check.h"
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
    "  --duplicate-window DURATION\n"
    "                     How long a finding id is remembered to drop a duplicate\n"
    "                     (default " DUPLICATE_WINDOW_DEFAULT ", at least " DUPLICATE_WINDOW_MIN
    ").\n"
    "  -h, --help         This text.\n"
    "\n"
    "A new stream takes no message larger than sowatch collect accepts, so that a node is\n"
    "told at once. An update changes only the options given; the others keep the stream's\n"
    "values.\n"
    "DURATION is a number and a unit (s, m, h, d), as in 30d or 1h30m.\n"
    "Exit status: 0 done, 1 the servers refused or could not be reached, 2 bad usage.\n";

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

/*
 * Where the copies are, as the cluster says: "on a, b, c; leader a" (the leader, then the
 * servers that hold the other copies), or "one server, not a cluster" from a server that
 * names no leader (one not in a cluster).
 */
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

/* "messages up to 1 MiB", or "messages of any size" for a stream without the limit */
static void print_max_msg_size(char *out, size_t size, int32_t max)
{
	if (max <= 0)
		snprintf(out, size, "messages of any size");
	else if (max % (1 << 20) == 0)
		snprintf(out, size, "messages up to %d MiB", (int)(max >> 20));
	else if (max % 1024 == 0)
		snprintf(out, size, "messages up to %d KiB", (int)(max >> 10));
	else
		snprintf(out, size, "messages up to %d bytes", (int)max);
}

int cmd_nats_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		NATS_ARGS_LONGOPTS,
		{ "replicas", required_argument, NULL, 'r' },
		{ "max-age", required_argument, NULL, 'a' },
		{ "duplicate-window", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct nats_args a = { .command = "nats-init" };
	char text[512], age_text[32], dup_text[32], size_text[64];
	int64_t max_age = 30 * 86400 * NS_PER_SEC, dup_min, duplicates;
	natsConnection *nc = NULL;
	jsStreamInfo *si = NULL, *old = NULL;
	jsStreamConfig sc;
	jsCtx *js = NULL;
	jsOptions jo;
	jsErrCode jerr = 0;
	natsStatus s;
	long replicas = 1;
	/* What the command line set: an update changes only that, and keeps the rest */
	bool set_replicas = false, set_max_age = false, set_duplicates = false;
	bool exists;
	int c, status;

	findings_parse_duration(DUPLICATE_WINDOW_MIN, &dup_min);
	findings_parse_duration(DUPLICATE_WINDOW_DEFAULT, &duplicates);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end;

		if (nats_args_option(&a, c, optarg))
			continue;
		switch (c) {
		case 'r':
			errno = 0;
			replicas = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || replicas < 1 ||
			    replicas > REPLICAS_MAX)
				return nats_args_usage_error(
				    &a, "--replicas must be 1 to 5, not '%s'", optarg);
			set_replicas = true;
			break;
		case 'a':
			if (findings_parse_duration(optarg, &max_age) < 0 || max_age <= 0)
				return nats_args_usage_error(
				    &a, "--max-age: '%s' is not a duration", optarg);
			set_max_age = true;
			break;
		case 'd':
			if (findings_parse_duration(optarg, &duplicates) < 0)
				return nats_args_usage_error(
				    &a, "--duplicate-window: '%s' is not a duration", optarg);
			if (duplicates < dup_min)
				return nats_args_usage_error(
				    &a,
				    "--duplicate-window must be at least " DUPLICATE_WINDOW_MIN
				    ", not %s",
				    optarg);
			set_duplicates = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return nats_args_usage_error(&a, "bad option");
		}
	}
	status = nats_args_resolve(&a, argc, argv, true);
	if (status >= 0)
		goto out;
	status = 1;

	if (natslib_connect(&nc, a.section, a.urls, a.n_urls, "nats-init", false, INIT_TIMEOUT_MS,
			    text, sizeof(text)) < 0) {
		fprintf(stderr, "sowatch nats-init: %s\n", text);
		goto out;
	}
	natslib.js_options_init(&jo);
	jo.Wait = INIT_TIMEOUT_MS;
	s = natslib.jetstream(&js, nc, &jo);
	if (s == NATS_OK)
		s = natslib.js_stream_info(&old, js, a.stream, NULL, &jerr);
	exists = s == NATS_OK;
	if (!exists && s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
		natslib_error(text, sizeof(text), s);
		fprintf(stderr, "sowatch nats-init: cannot ask JetStream about stream %s: %s\n",
			a.stream, text);
		goto out;
	}
	/*
	 * An update starts from the stream's own configuration and changes only what it was
	 * asked to: run again to change one option, it must not turn an R3 stream into R1, cut
	 * the age of findings no collector read yet, or drop limits an operator set otherwise
	 * (max bytes, max messages, placement ...). The copy points into old, kept until the
	 * update is done.
	 */
	if (exists) {
		sc = *old->Config;
	} else {
		natslib.js_stream_config_init(&sc);
		sc.Description = "sowatch findings, one message per finding, its id as message id";
		sc.Storage = js_FileStorage;
		sc.Retention = js_LimitsPolicy;
		/*
		 * What the collector would refuse, the stream refuses at publish time: the node
		 * is told, instead of its finding being taken and then refused for good. The
		 * server counts a message's headers too (a node's message id and stream name,
		 * some 100 bytes), so the largest finding it takes is that much smaller than
		 * the collector's limit: the safe side, where nothing taken is refused later.
		 */
		sc.MaxMsgSize = FLEET_MESSAGE_MAX;
	}
	sc.Name = a.stream;
	sc.Subjects = (const char *[]){ a.subject };
	sc.SubjectsLen = 1;
	if (!exists || set_replicas)
		sc.Replicas = replicas;
	if (!exists || set_max_age)
		sc.MaxAge = max_age;
	if (!exists || set_duplicates)
		sc.Duplicates = duplicates;
	jerr = 0;
	if (exists)
		s = natslib.js_update_stream(&si, js, &sc, NULL, &jerr);
	else
		s = natslib.js_add_stream(&si, js, &sc, NULL, &jerr);
	if (s != NATS_OK) {
		natslib_error(text, sizeof(text), s);
		fprintf(stderr, "sowatch nats-init: cannot %s stream %s: %s%s\n",
			exists ? "update" : "create", a.stream, text,
			jerr ? " (a JetStream error: is the cluster big enough for the replicas?)"
			     : "");
		goto out;
	}
	print_placement(si, text, sizeof(text));
	print_duration(age_text, sizeof(age_text), si->Config->MaxAge);
	print_duration(dup_text, sizeof(dup_text), si->Config->Duplicates);
	print_max_msg_size(size_text, sizeof(size_text), si->Config->MaxMsgSize);
	printf("%s stream %s: subjects %s, %" PRId64 " replicas (%s), %s storage, max age %s, "
	       "duplicate window %s, %s; %" PRIu64 " messages in it\n",
	       exists ? "updated" : "created", a.stream, a.subject, si->Config->Replicas, text,
	       si->Config->Storage == js_MemoryStorage ? "memory" : "file", age_text, dup_text,
	       size_text, si->State.Msgs);
	status = 0;
out:
	/* natslib is not loaded before natslib_connect() */
	if (si)
		natslib.js_stream_info_destroy(si);
	if (old)
		natslib.js_stream_info_destroy(old);
	if (js)
		natslib.js_destroy(js);
	if (nc)
		natslib.connection_destroy(nc);
	nats_args_free(&a);
	return status;
}
