// SPDX-License-Identifier: Apache-2.0
/*
 * sowatch findings list|show|related|logs|set-state|mute: the command line and the commands. What
 * they print, and how it is kept safe for a terminal, is in cli/findings_print.c.
 */
#include "cli/findings.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/findings_logs.h"
#include "cli/findings_print.h"
#include "config.h"
#include "outputs/http.h"
#include "outputs/scc.h"
#include "store/store.h"
#include "util/strbuf.h"

#define MAX_DURATION_SEC     (100LL * 366 * 86400)
#define DEFAULT_WINDOW	     "10m"
#define DEFAULT_LOGS_WINDOW  "5m"
#define CONTAINER_PREFIX_MIN 4

static const char usage[] =
    "Usage: sowatch findings list [--since DURATION] [--severity S] [--container NAME]\n"
    "                             [--host H] [--state S] [--all]\n"
    "                             [--db PATH | --config PATH] [--json]\n"
    "       sowatch findings show ID [--db PATH | --config PATH] [--json]\n"
    "       sowatch findings related ID [--window DURATION] [--all]\n"
    "                                [--db PATH | --config PATH] [--json]\n"
    "       sowatch findings logs ID [--before DURATION] [--after DURATION] [--kept]\n"
    "                             [--db PATH | --config PATH]\n"
    "       sowatch findings set-state ID ACTIVE|INACTIVE [--db PATH | --config PATH] [--json]\n"
    "       sowatch findings mute ID [--undo] [--db PATH | --config PATH] [--json]\n"
    "\n"
    "Reads and triages the findings stored by sowatch run.\n"
    "\n"
    "Commands:\n"
    "  list               The findings, newest first: id, time (UTC), host, severity,\n"
    "                     category, container, binary and module. Muted findings are\n"
    "                     hidden unless --all; the last line counts them.\n"
    "  show               One finding: the summary a responder reads, then its whole JSON.\n"
    "  related            The other findings of the same container on the same host (for a\n"
    "                     host finding: the host's other host findings) whose event is\n"
    "                     within --window of ID's, oldest first, with their offset from ID.\n"
    "  logs               The container's log lines from --before to --after its event,\n"
    "                     escaped for the terminal: from the live log where the runtime\n"
    "                     keeps it (Docker's json-file, the kubelet's /var/log/pods,\n"
    "                     podman's k8s-file), else from the copy of the 5 minutes before\n"
    "                     the finding that sowatch kept with it (at most 64 KiB). It says\n"
    "                     which one it shows. For a Cloud Run sandbox it prints the\n"
    "                     gcloud logging query instead.\n"
    "  set-state          Sets the finding's state, ACTIVE or INACTIVE.\n"
    "  mute               Mutes the finding (MUTED); with --undo unmutes it (UNMUTED).\n"
    "\n"
    "ID is a finding's id, a unique prefix of it (8 characters or more, as list shows) or the\n"
    "finding's name (projects/.../findings/ID).\n"
    "\n"
    "Options:\n"
    "  --since DURATION   list: only findings whose event is at most DURATION old.\n"
    "  --severity S       list: CRITICAL, HIGH, MEDIUM or LOW.\n"
    "  --container NAME   list: a container's name, id, or id prefix (4 characters or\n"
    "                     more); 'host' also selects the findings outside containers.\n"
    "  --host H           list: only the findings of host H (its exact name); a fleet's\n"
    "                     store (sowatch collect) holds many hosts' findings.\n"
    "  --state S          list: ACTIVE or INACTIVE.\n"
    "  --all              list, related: include muted findings.\n"
    "  --window DURATION  related: how far before and after ID's event (default " DEFAULT_WINDOW
    ").\n"
    "  --before DURATION  logs: from this long before the event (default " DEFAULT_LOGS_WINDOW
    ").\n"
    "  --after DURATION   logs: to this long after it (default " DEFAULT_LOGS_WINDOW ").\n"
    "  --kept             logs: the copy kept with the finding, even while the live log\n"
    "                     still has the lines.\n"
    "  --undo             mute: unmute instead.\n"
    "  --db PATH          The findings database. Without it, store.path of the\n"
    "                     configuration file, else " STORE_DEFAULT_PATH ".\n"
    "                     It is never created here; list, show and related open it\n"
    "                     read-only.\n"
    "  --config PATH      The configuration file to read store.path from (default\n"
    "                     " CONFIG_DEFAULT_PATH ", if it exists). A file sowatch run\n"
    "                     would refuse is refused here too. list, show and related\n"
    "                     do not read it with --db. set-state and mute of a finding\n"
    "                     that is in Security Command Center change it there first,\n"
    "                     through the configuration's outputs.scc (without one they\n"
    "                     change nothing, and say so).\n"
    "  --json             Print each finding as its stored JSON object, one per line\n"
    "                     (related: in offset order), instead of text.\n"
    "  -h, --help         This text.\n"
    "\n"
    "DURATION is a number and a unit (s, m, h, d), or several from the largest unit down:\n"
    "30s, 10m, 2h, 7d, 1h30m.\n"
    "\n"
    "Exit status: 0 ok, 1 on a runtime error (no database, a bad configuration file, unknown\n"
    "id), 2 on a usage error.\n";

enum option_id {
	OPT_SINCE = 1,
	OPT_SEVERITY,
	OPT_CONTAINER,
	OPT_HOST,
	OPT_STATE,
	OPT_ALL,
	OPT_WINDOW,
	OPT_UNDO,
	OPT_DB,
	OPT_CONFIG,
	OPT_JSON,
	OPT_BEFORE,
	OPT_AFTER,
	OPT_KEPT,
};

#define OPT(id) (1u << (id))

struct opts {
	const char *sub;	  /* "list", "show", ... */
	const char *db;		  /* NULL until --db or the configuration gives it */
	const char *config;	  /* --config; NULL: the default file if it exists */
	const struct config *cfg; /* the configuration read (set-state, mute); NULL: none */
	bool json, all, undo;
	int64_t since_ns; /* 0 = no --since */
	const char *severity, *state, *container, *host;
	int64_t window_ns;
	const char *window;	     /* as given, for the summary line */
	int64_t before_ns, after_ns; /* logs */
	bool kept;
	char **args; /* positional arguments */
};

struct subcommand {
	const char *name;
	unsigned options; /* OPT() of the options it takes, beyond --db, --config, --json, --help */
	int nargs;
	const char *args_usage;
	enum store_mode mode;
	int (*run)(struct store *s, const struct opts *o);
};

/* ---- Values ---------------------------------------------------------------------------- */

int findings_parse_duration(const char *s, int64_t *ret_ns)
{
	static const struct {
		char unit;
		int64_t seconds;
	} units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	size_t next = 0;
	int64_t total = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		int64_t v = 0;
		size_t u;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			v = v * 10 + (*s - '0');
			if (v > MAX_DURATION_SEC)
				return -EINVAL;
		}
		for (u = next; u < sizeof(units) / sizeof(units[0]); u++)
			if (units[u].unit == *s)
				break;
		if (u == sizeof(units) / sizeof(units[0]))
			return -EINVAL; /* no unit, an unknown one, or out of order */
		if (v > (MAX_DURATION_SEC - total) / units[u].seconds)
			return -EINVAL;
		total += v * units[u].seconds;
		next = u + 1;
		s++;
	}
	*ret_ns = total * NS_PER_SEC;
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* ---- Errors ---------------------------------------------------------------------------- */

static int usage_error(const struct opts *o, const char *fmt, const char *arg)
{
	struct strbuf esc = STRBUF_INIT;

	term_escape_str(&esc, arg ? arg : "");
	fprintf(stderr, "sowatch: findings%s%s: ", o->sub ? " " : "", o->sub ? o->sub : "");
	fprintf(stderr, fmt, strbuf_str(&esc));
	fprintf(stderr, "\nTry 'sowatch findings --help'.\n");
	strbuf_release(&esc);
	return 2;
}

static int runtime_error(const struct opts *o, const char *what, int err)
{
	struct strbuf esc = STRBUF_INIT;

	term_escape_str(&esc, o->db);
	fprintf(stderr, "sowatch: %s in %s: %s\n", what, strbuf_str(&esc), strerror(-err));
	strbuf_release(&esc);
	return 1;
}

static int no_such_id(const struct opts *o, const char *arg)
{
	struct strbuf a = STRBUF_INIT, db = STRBUF_INIT;

	term_escape_str(&a, arg);
	term_escape_str(&db, o->db);
	fprintf(stderr, "sowatch: no finding with id %s in %s\n", strbuf_str(&a), strbuf_str(&db));
	strbuf_release(&a);
	strbuf_release(&db);
	return 1;
}

/* Resolves the ID argument; prints the error. */
static int resolve_id(struct store *s, const struct opts *o, const char *arg, char **ret_id)
{
	struct strbuf a = STRBUF_INIT;
	int err = store_resolve_id(s, arg, ret_id);

	if (err == -ENOENT)
		return no_such_id(o, arg);
	if (err == -EEXIST) {
		term_escape_str(&a, arg);
		fprintf(stderr, "sowatch: id prefix %s matches several findings: give more of it\n",
			strbuf_str(&a));
		strbuf_release(&a);
		return 1;
	}
	if (err)
		return runtime_error(o, "cannot look up the finding", err);
	return 0;
}

static int check_container_filter(struct store *s, const struct opts *o)
{
	struct strbuf a = STRBUF_INIT;
	int n;

	if (!o->container || !strcmp(o->container, "host"))
		return 0;
	n = store_count_container_prefix(s, o->container, o->host);
	if (n < 0)
		return runtime_error(o, "cannot list findings", n);
	if (n <= 1)
		return 0;
	term_escape_str(&a, o->container);
	fprintf(stderr, "sowatch: container id prefix %s matches %d containers: give more of it\n",
		strbuf_str(&a), n);
	strbuf_release(&a);
	return 1;
}

static int run_list(struct store *s, const struct opts *o)
{
	struct store_filter f = {
		.since_ns = o->since_ns ? now_ns() - o->since_ns : 0,
		.severity = o->severity,
		.state = o->state,
		.container = o->container && strcmp(o->container, "host") ? o->container : NULL,
		.outside_containers = o->container && !strcmp(o->container, "host"),
		.host = o->host,
	};
	struct rows rc;
	int err, status = check_container_filter(s, o);

	if (status)
		return status;
	if (o->since_ns && f.since_ns == 0)
		f.since_ns = 1; /* --since reaching back to the epoch still filters */
	rows_init(&rc, false, o->all, o->json);
	err = store_list(s, &f, rows_add, &rc);
	if (err) {
		rows_free(&rc);
		return runtime_error(o, "cannot list findings", err);
	}
	if (!o->json) {
		rows_print(&rc);
		printf("%zu finding%s matched", rc.matched, rc.matched == 1 ? "" : "s");
		rows_print_hidden(&rc);
	}
	rows_free(&rc);
	return 0;
}

struct ref {
	int64_t event_time_ns;
	bool in_container;
	char *container_label, *host_label;
};

static int read_ref(const struct store_row *r, void *ctx)
{
	struct ref *ref = ctx;
	struct strbuf host = STRBUF_INIT;

	ref->event_time_ns = r->event_time_ns;
	ref->in_container = r->container_id[0] != '\0';
	ref->container_label = container_cell(r);
	/* Whole: the line names what was searched */
	term_escape_str(&host, r->host[0] ? r->host : "-");
	ref->host_label = strbuf_detach(&host);
	return ref->container_label && ref->host_label ? 0 : -ENOMEM;
}

static int run_related(struct store *s, const struct opts *o)
{
	struct ref ref = { 0 };
	struct rows rc;
	char *id = NULL, short_id[SHORT_ID_LEN + 1];
	int err, status = resolve_id(s, o, o->args[0], &id);

	if (status)
		return status;
	err = store_get(s, id, read_ref, &ref);
	rows_init(&rc, true, o->all, o->json);
	rc.ref_ns = ref.event_time_ns;
	if (!err)
		err = store_related(s, id, o->window_ns, rows_add, &rc);
	if (err) {
		status = runtime_error(o, "cannot read related findings", err);
		goto out;
	}
	if (!o->json) {
		rows_print(&rc);
		snprintf(short_id, sizeof(short_id), "%s", id);
		printf("%zu other finding%s of ", rc.matched, rc.matched == 1 ? "" : "s");
		if (ref.in_container)
			printf("container %s on ", ref.container_label);
		printf("host %s within %s of %s", ref.host_label, o->window, short_id);
		rows_print_hidden(&rc);
	}
out:
	rows_free(&rc);
	free(ref.container_label);
	free(ref.host_label);
	free(id);
	return status;
}

static int run_show(struct store *s, const struct opts *o)
{
	struct show sh = { .s = s, .print_json = o->json, .db = o->db };
	char *id = NULL;
	int err, status = resolve_id(s, o, o->args[0], &id);

	if (status)
		return status;
	err = store_get(s, id, show_row, &sh);
	free(id);
	if (err)
		return runtime_error(o, "cannot read the finding", err);
	return 0;
}

static int run_logs(struct store *s, const struct opts *o)
{
	struct logs_request req = { .before_ns = o->before_ns,
				    .after_ns = o->after_ns,
				    .kept = o->kept };
	char *id = NULL;
	int status;

	if (o->json)
		return usage_error(o, "option '%s' does not apply here", "--json");
	status = resolve_id(s, o, o->args[0], &id);
	if (status)
		return status;
	req.id = id;
	status = findings_logs(s, &req);
	free(id);
	return status;
}

/* ---- set-state and mute ---------------------------------------------------------------- */

static int print_json_row(const struct store_row *r, void *ctx)
{
	print_json_line(r->json);
	return 0;
}

static int scc_row(const struct store_delivery *d, void *ctx)
{
	if (strcmp(d->output, "scc") == 0)
		*(int *)ctx = (int)d->state;
	return 0;
}

/*
 * The responder's change, in Security Command Center first, through its own method (setState,
 * setMute), when the finding is there already: the store changes only once SCC did, so that
 * the two never disagree and a failure can simply be run again. A finding SCC has not taken
 * yet goes there with its new state and mute (outputs/scc.c). 0, or the exit status.
 */
static int tell_scc(struct store *s, const struct opts *o, const char *id, bool mute,
		    const char *value, bool *told)
{
	const char *what = mute ? "mute" : "state";
	int state = -1; /* the scc output's delivery row: none */
	struct output *out = NULL;
	char error[600];
	int err;

	*told = false;
	store_outbox_of(s, id, scc_row, &state);
	if (state != (int)STORE_DELIVERED)
		return 0;
	if (!o->cfg || !o->cfg->scc.enabled) {
		fprintf(
		    stderr,
		    "sowatch: finding %s is in Security Command Center (outputs.scc): run this "
		    "again with --config naming the configuration that has outputs.scc, so that "
		    "its %s changes there too; nothing was changed\n",
		    id, what);
		return 1;
	}
	err = http_global_init();
	if (!err)
		err = scc_output_new(&out, &o->cfg->scc, s, error, sizeof(error));
	else
		snprintf(error, sizeof(error), "cannot set up HTTP: %s", strerror(-err));
	if (!err)
		err = scc_output_update(out, id, mute ? "setMute" : "setState", value, error,
					sizeof(error));
	if (out)
		out->ops->free(out);
	if (err) {
		struct strbuf esc = STRBUF_INIT;

		term_escape_str(&esc, error);
		fprintf(stderr,
			"sowatch: cannot change the %s of finding %s in Security Command Center "
			"(nothing was changed): %s\n",
			what, id, strbuf_str(&esc));
		strbuf_release(&esc);
		return 1;
	}
	*told = true;
	return 0;
}

static int run_update(struct store *s, const struct opts *o, bool mute)
{
	const char *value;
	char *id = NULL;
	bool told;
	int err, status;

	if (mute) {
		value = o->undo ? "UNMUTED" : "MUTED";
	} else {
		value = o->args[1];
		if (!strcasecmp(value, "ACTIVE"))
			value = "ACTIVE";
		else if (!strcasecmp(value, "INACTIVE"))
			value = "INACTIVE";
		else
			return usage_error(o, "invalid state '%s' (ACTIVE or INACTIVE)", value);
	}
	status = resolve_id(s, o, o->args[0], &id);
	if (status)
		return status;
	status = tell_scc(s, o, id, mute, value, &told);
	if (status)
		goto out;
	err = mute ? store_set_mute(s, id, value) : store_set_state(s, id, value);
	if (err == -ENOENT) { /* deleted meanwhile */
		status = no_such_id(o, o->args[0]);
		goto out;
	}
	if (err) {
		status = runtime_error(o, mute ? "cannot mute the finding" : "cannot set the state",
				       err);
		goto out;
	}
	if (o->json)
		err = store_get(s, id, print_json_row, NULL);
	else
		printf("finding %s: %s %s%s\n", id, mute ? "mute" : "state", value,
		       told ? " (in Security Command Center too)" : "");
	if (err)
		status = runtime_error(o, "cannot read the finding", err);
out:
	free(id);
	return status;
}

static int run_set_state(struct store *s, const struct opts *o)
{
	return run_update(s, o, false);
}

static int run_mute(struct store *s, const struct opts *o)
{
	return run_update(s, o, true);
}

/* ---- Command line ---------------------------------------------------------------------- */

static const struct subcommand subcommands[] = {
	{ "list",
	  OPT(OPT_SINCE) | OPT(OPT_SEVERITY) | OPT(OPT_CONTAINER) | OPT(OPT_HOST) | OPT(OPT_STATE) |
	      OPT(OPT_ALL),
	  0, "", STORE_READ_ONLY, run_list },
	{ "show", 0, 1, "ID", STORE_READ_ONLY, run_show },
	{ "related", OPT(OPT_WINDOW) | OPT(OPT_ALL), 1, "ID", STORE_READ_ONLY, run_related },
	{ "set-state", 0, 2, "ID ACTIVE|INACTIVE", STORE_READ_WRITE, run_set_state },
	{ "mute", OPT(OPT_UNDO), 1, "ID", STORE_READ_WRITE, run_mute },
	{ "logs", OPT(OPT_BEFORE) | OPT(OPT_AFTER) | OPT(OPT_KEPT), 1, "ID", STORE_READ_ONLY,
	  run_logs },
};

static const struct option long_options[] = {
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "severity", required_argument, NULL, OPT_SEVERITY },
	{ "container", required_argument, NULL, OPT_CONTAINER },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "undo", no_argument, NULL, OPT_UNDO },
	{ "db", required_argument, NULL, OPT_DB },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "before", required_argument, NULL, OPT_BEFORE },
	{ "after", required_argument, NULL, OPT_AFTER },
	{ "kept", no_argument, NULL, OPT_KEPT },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

/* Returns the canonical (upper-case) spelling of value if it is one of words, else NULL. */
static const char *one_of(const char *value, const char *const *words)
{
	for (; *words; words++)
		if (!strcasecmp(value, *words))
			return *words;
	return NULL;
}

/* -1 to go on, else the exit status. */
static int parse_options(const struct subcommand *sc, struct opts *o, int argc, char **argv)
{
	static const char *const severities[] = { "CRITICAL", "HIGH", "MEDIUM", "LOW", NULL };
	static const char *const states[] = { "ACTIVE", "INACTIVE", NULL };
	int opt, nargs;

	optind = 0; /* glibc: a full reset, argv may differ from the last call */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		/* As typed for unknown options; by name for known ones ("--since 10" has two
		 * words, and argv[optind - 1] is then the value). */
		const char *name = argv[optind - 1];
		char known[32];

		for (const struct option *lo = long_options; lo->name; lo++) {
			if (lo->val == opt || (opt == ':' && lo->val == optopt)) {
				snprintf(known, sizeof(known), "--%s", lo->name);
				name = known;
			}
		}

		if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (opt == '?')
			return usage_error(o, "unknown option '%s'", name);
		if (opt == ':')
			return usage_error(o, "option '%s' needs a value", name);
		if (opt != OPT_DB && opt != OPT_CONFIG && opt != OPT_JSON &&
		    !(sc->options & OPT(opt)))
			return usage_error(o, "option '%s' does not apply here", name);
		switch (opt) {
		case OPT_SINCE:
			if (findings_parse_duration(optarg, &o->since_ns))
				return usage_error(o,
						   "invalid duration '%s' for --since (30s, 10m, "
						   "2h, 7d, 1h30m)",
						   optarg);
			if (!o->since_ns)
				o->since_ns = 1; /* "0s": only what happens now */
			break;
		case OPT_WINDOW:
			if (findings_parse_duration(optarg, &o->window_ns))
				return usage_error(o,
						   "invalid duration '%s' for --window (30s, 10m, "
						   "2h, 7d, 1h30m)",
						   optarg);
			o->window = optarg;
			break;
		case OPT_BEFORE:
		case OPT_AFTER:
			if (findings_parse_duration(optarg, opt == OPT_BEFORE ? &o->before_ns
									      : &o->after_ns))
				return usage_error(o,
						   "invalid duration '%s' (30s, 10m, 2h, 7d, "
						   "1h30m)",
						   optarg);
			break;
		case OPT_KEPT:
			o->kept = true;
			break;
		case OPT_SEVERITY:
			o->severity = one_of(optarg, severities);
			if (!o->severity)
				return usage_error(o,
						   "invalid severity '%s' (CRITICAL, HIGH, "
						   "MEDIUM or LOW)",
						   optarg);
			break;
		case OPT_STATE:
			o->state = one_of(optarg, states);
			if (!o->state)
				return usage_error(o, "invalid state '%s' (ACTIVE or INACTIVE)",
						   optarg);
			break;
		case OPT_CONTAINER:
			if (!optarg[0])
				return usage_error(o, "%s--container needs a name or id", "");
			o->container = optarg;
			break;
		case OPT_HOST:
			if (!optarg[0])
				return usage_error(o, "%s--host needs a host name", "");
			o->host = optarg;
			break;
		case OPT_ALL:
			o->all = true;
			break;
		case OPT_UNDO:
			o->undo = true;
			break;
		case OPT_DB:
			if (!optarg[0])
				return usage_error(o, "%s--db needs a path", "");
			o->db = optarg;
			break;
		case OPT_CONFIG:
			if (!optarg[0])
				return usage_error(o, "%s--config needs a path", "");
			o->config = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		}
	}
	nargs = argc - optind;
	if (nargs < sc->nargs) {
		fprintf(stderr, "sowatch: findings %s: missing argument (%s)\n", sc->name,
			sc->args_usage);
		fprintf(stderr, "Try 'sowatch findings --help'.\n");
		return 2;
	}
	if (nargs > sc->nargs)
		return usage_error(o, "unexpected argument '%s'", argv[optind + sc->nargs]);
	o->args = argv + optind;
	return -1;
}

int cmd_findings(int argc, char **argv)
{
	struct opts o = { .window = DEFAULT_WINDOW };
	struct config cfg = { 0 };
	const struct subcommand *sc = NULL;
	struct store *s = NULL;
	const char *error = "";
	int status, err;

	if (argc < 2)
		return usage_error(
		    &o, "%smissing command (list, show, related, logs, set-state, mute)", "");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			sc = &subcommands[i];
	if (!sc)
		return usage_error(&o, "unknown command '%s'", argv[1]);
	o.sub = sc->name;
	findings_parse_duration(DEFAULT_WINDOW, &o.window_ns);
	findings_parse_duration(DEFAULT_LOGS_WINDOW, &o.before_ns);
	findings_parse_duration(DEFAULT_LOGS_WINDOW, &o.after_ns);

	status = parse_options(sc, &o, argc - 1, argv + 1);
	if (status >= 0)
		return status;

	/*
	 * Without --db, the store sowatch run writes: store.path of its configuration. set-state
	 * and mute read a --config given with --db too, for its outputs.scc.
	 */
	if (!o.db || (o.config && sc->mode == STORE_READ_WRITE)) {
		err = config_load(&cfg, o.config, &error);
		if (err) {
			/* escaped already, as sowatch run prints it */
			fprintf(stderr, "sowatch: %s\n", error);
			return 1;
		}
		if (!o.db)
			o.db = cfg.store_path[0] ? cfg.store_path : STORE_DEFAULT_PATH;
		o.cfg = &cfg;
	}
	err = store_open_mode(&s, o.db, sc->mode, &error);
	if (err) {
		struct strbuf esc = STRBUF_INIT;

		term_escape_str(&esc, error);
		fprintf(stderr, "sowatch: %s\n", strbuf_str(&esc));
		strbuf_release(&esc);
		config_free(&cfg);
		return 1;
	}
	status = sc->run(s, &o);
	fflush(stdout);
	store_close(s);
	config_free(&cfg);
	return status;
}
