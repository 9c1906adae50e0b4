// SPDX-License-Identifier: Apache-2.0
/*
 * sowatch: detects OpenSSL loading custom shared objects, live, and reports Security Command
 * Center findings.
 *
 *   main -> parse the command line -> config -> pipeline -> sources -> poll until a signal
 */
#include <errno.h>
#include <malloc.h>
#include <getopt.h>
#include <linux/capability.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/collect.h"
#include "cli/findings.h"
#include "cli/gvisor_config.h"
#include "cli/nats_init.h"
#include "config.h"
#include "enforce.h"
#include "detectors/trust.h"
#include "findings/hashing.h"
#include "metrics.h"
#include "outputs/http.h"
#include "pipeline.h"
#include "proc/container_settings.h"
#include "proc/procfile.h"
#include "service.h"
#include "sources/ebpf.h"
#include "sources/gvisor.h"
#include "store/store.h"
#include "util/log.h"
#include "util/privileges.h"

#define COUNTERS_PERIOD_MS 1000
#define SWEEP_PERIOD_MS	   30000

static volatile sig_atomic_t stop_requested, reload_requested, reopen_requested;

static const char usage[] =
    "Usage: sowatch run [--source ebpf|gvisor|ebpf,gvisor] [--gvisor-socket PATH]\n"
    "                   [--jsonl PATH|-] [--db PATH] [--config PATH] [--verbose]\n"
    "       sowatch gvisor-config [--socket PATH]\n"
    "       sowatch findings list|show|related|set-state|mute ...   (sowatch findings --help)\n"
    "       sowatch nats-init ...   (sowatch nats-init --help)\n"
    "       sowatch collect ...     (sowatch collect --help)\n"
    "       sowatch --help | --version\n"
    "\n"
    "Detects OpenSSL being made to load a shared object that is not one of the system's own\n"
    "engines or providers (\"Execution: Suspicious OpenSSL Shared Object Loaded\", MITRE\n"
    "T1129), in any program, and libraries added to containers (\"Execution: Added Library\n"
    "Loaded\"), and reports each as a Security Command Center finding.\n"
    "\n"
    "Commands:\n"
    "  run              Watch (needs root) until SIGINT or SIGTERM: this host through eBPF,\n"
    "                   gVisor sandboxes through their monitoring (--source). Writes\n"
    "                   \"sowatch: ready\" to stderr once every probe is attached (and,\n"
    "                   under systemd, READY=1; a WatchdogSec= watchdog is fed only\n"
    "                   while the kernel heartbeat comes back). Each\n"
    "                   finding is stored, then delivered to every output: one JSON\n"
    "                   line, and the webhook, syslog, NATS and Security Command Center\n"
    "                   outputs the configuration sets.\n"
    "                   SIGHUP reloads the configuration; SIGUSR1 reopens the JSONL file.\n"
    "  findings         Triage what was found: list, show one, related findings of the same\n"
    "                   container, set its state, mute it.\n"
    "  gvisor-config    Print the --pod-init-config JSON that makes gVisor sandboxes (runsc)\n"
    "                   report to sowatch run --source gvisor.\n"
    "  nats-init        Create or update the NATS JetStream stream that nodes publish their\n"
    "                   findings to (outputs.nats).\n"
    "  collect          Collect every node's findings from that stream into one store,\n"
    "                   and send them on to its configuration's webhook, syslog and SCC.\n"
    "\n"
    "Options of run:\n"
    "  --source LIST    What to watch: ebpf (this host and its runc containers, the\n"
    "                   default), gvisor (gVisor sandboxes, through their runtime\n"
    "                   monitoring), or both: ebpf,gvisor.\n"
    "  --gvisor-socket PATH\n"
    "                   Where the gvisor source listens (default " GVISOR_DEFAULT_SOCKET ").\n"
    "  --jsonl PATH     Where findings go, one JSON object per line: a file (appended to,\n"
    "                   created mode 0600), a FIFO, or - for standard output (the\n"
    "                   default). Overrides outputs.jsonl of the configuration.\n"
    "  --db PATH        The findings store (SQLite), written before any output\n"
    "                   (default: " STORE_DEFAULT_PATH ").\n"
    "  --config PATH    YAML configuration (default: /etc/sowatch/sowatch.yaml if present).\n"
    "  -v, --verbose    Log debugging detail, including libbpf's.\n"
    "\n"
    "  -h, --help       This text.\n"
    "  -V, --version    The version.\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 on a runtime error, 2 on a usage error.\n";

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else if (sig == SIGUSR1)
		reopen_requested = 1;
	else
		stop_requested = 1;
}

/*
 * Only SIGINT and SIGTERM stop sowatch (with its summary); SIGHUP reloads the configuration and
 * SIGUSR1 reopens file outputs. Every other signal whose default would end the process is
 * ignored: a stray SIGPIPE, SIGALRM or SIGUSR2 from anyone allowed to signal us must not
 * blind the sensor. Faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS) keep
 * their default: ignoring a real one would loop, and a crash must end in a core and a restart.
 */
static void signals_setup(void)
{
	static const int ignored[] = { SIGPIPE, SIGALRM, SIGUSR2, SIGQUIT, SIGVTALRM, SIGPROF,
				       SIGIO,	SIGPWR,	 SIGXCPU, SIGXFSZ, SIGSTKFLT };
	/* No SA_RESTART: a signal must interrupt the wait. */
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		signal(sig, SIG_IGN);
}

/* Whether changing these needs a restart: said when a reload finds them changed */
static void reload_warn_fixed(const struct config *old, const struct config *new)
{
	if (strcmp(old->store_path, new->store_path) != 0)
		log_warn("reload: store.path changed: it applies at the next start");
	if (strcmp(old->metrics_listen, new->metrics_listen) != 0)
		log_warn("reload: metrics.listen changed: it applies at the next start");
	if (strcmp(old->enforce_mode, new->enforce_mode) != 0 ||
	    strcmp(old->enforce_where, new->enforce_where) != 0 ||
	    strcmp(old->enforce_severity, new->enforce_severity) != 0)
		log_warn("reload: enforce changed: it applies at the next start");
	if (memcmp(&old->resource, &new->resource, sizeof(old->resource)) != 0)
		log_warn("reload: resource changed: it applies at the next start");
}

/*
 * SIGHUP: read the configuration again. Rules, outputs and retention change at once; a file
 * that does not load is refused with its one-line error, and the one in force stays.
 */
static void reload(struct pipeline *pl, const char *path, struct config **cfg)
{
	struct config *next = calloc(1, sizeof(*next));
	const char *error = "out of memory";
	int err = next ? config_load(next, path, &error) : -ENOMEM;

	if (!err)
		err = pipeline_reconfigure(pl, next, &error);
	if (err) {
		log_error("reload refused, the configuration in force stays: %s", error);
		if (next)
			config_free(next);
		free(next);
		return;
	}
	reload_warn_fixed(*cfg, next);
	config_free(*cfg);
	free(*cfg);
	*cfg = next;
	log_info("configuration reloaded from %s: %zu allow rules, %zu mute rules",
		 path ? path : CONFIG_DEFAULT_PATH, next->n_allow, next->n_mute);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "sowatch: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'sowatch --help'.\n");
	return 2;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * The event loop not making progress for longer than this is a stall: sowatch was stopped
 * (SIGSTOP, a debugger), starved of CPU, or blocked. Its programs kept queueing events, but
 * nothing that needs the user side (reading /proc and files, probing a new libcrypto,
 * watching a process) happened, and a full ring buffer dropped the rest.
 */
#define STALL_MS 5000

/*
 * Called as each wait returns, before anything it found is handled: a wait that ended
 * STALL_MS later than it was asked to means the loop was stalled since the end of the one
 * before, and findings made from what was queued meanwhile must know.
 */
static void stall_check(struct pipeline *pl, uint64_t *last_progress_ms, uint64_t now_ms,
			int timeout_ms)
{
	uint64_t away_ms = now_ms - *last_progress_ms;

	if (away_ms > (uint64_t)timeout_ms + STALL_MS) {
		uint64_t to_ns = realtime_ns();

		pipeline_note_gap(pl, &(struct sensor_gap){ .cause = SENSOR_GAP_STALLED,
							    .from_ns = to_ns - away_ms * 1000000,
							    .to_ns = to_ns });
	}
	*last_progress_ms = now_ms;
}

static void source_watch_exe(uint64_t dev, uint64_t ino, void *ctx)
{
	int err = ctx ? ebpf_source_watch_exe(ctx, dev, ino) : 0;

	if (err)
		log_warn("cannot watch an OpenSSL binary in the kernel: %s", strerror(-err));
}

static void source_watch_process(uint32_t pid, void *ctx)
{
	int err = ctx && pid ? ebpf_source_watch_process(ctx, pid) : 0;

	if (err)
		log_warn("cannot watch process %u in the kernel: %s", pid, strerror(-err));
}

/*
 * Say loudly when the kernel had to drop events. Findings learn the figure from the events
 * themselves (drops_before), up to their own event, not from this periodic read.
 */
static void counters_check(struct ebpf_source *src, uint64_t *last_dropped,
			   uint64_t *last_kills_untold)
{
	struct sw_counters c[SW_EVENT_KIND_MAX];
	uint64_t dropped = 0;
	char detail[256] = "";
	size_t off = 0;

	if (ebpf_source_counters(src, c))
		return;
	/* A process enforce mode killed with no room left to say so: no finding will tell. */
	if (c[SW_EVENT_KILL].dropped != *last_kills_untold) {
		log_error("enforce mode killed %llu processes so far whose record the ring buffer "
			  "had no room for: no finding tells of them (%llu kills in all)",
			  (unsigned long long)c[SW_EVENT_KILL].dropped,
			  (unsigned long long)c[SW_EVENT_KILL].seen);
		*last_kills_untold = c[SW_EVENT_KILL].dropped;
	}
	for (int k = 1; k < SW_EVENT_KIND_MAX; k++) {
		if (k == SW_EVENT_KILL)
			continue; /* counted already as the map event it was */
		dropped += c[k].dropped;
		if (c[k].dropped && off < sizeof(detail))
			off += snprintf(detail + off, sizeof(detail) - off, " %s=%llu",
					ebpf_event_kind_name(k), (unsigned long long)c[k].dropped);
	}
	if (dropped != *last_dropped) {
		log_warn("the kernel dropped %llu events so far (ring buffer full):%s",
			 (unsigned long long)dropped, detail);
		*last_dropped = dropped;
	}
}

/* A fatal error at start, in one line. A refusal (-EPERM) says its own reason. */
static void fatal_error(const char *error, int err)
{
	if (err == -EPERM)
		fprintf(stderr, "sowatch: %s\n", error);
	else
		fprintf(stderr, "sowatch: %s: %s\n", error, strerror(-err));
}

static void log_stop_summary(struct pipeline *pl, uint64_t dropped)
{
	struct pipeline_stats st;
	struct hashing_stats hs;

	pipeline_stats(pl, &st);
	log_info("stopping: %llu findings reported, %llu muted, %llu allowed by rules, %llu seen "
		 "before a restart, %llu lost; %llu deliveries still pending (kept in the store "
		 "for the next run); %llu events dropped",
		 (unsigned long long)st.reported, (unsigned long long)st.muted,
		 (unsigned long long)st.allowed, (unsigned long long)st.repeated,
		 (unsigned long long)st.lost, (unsigned long long)st.pending,
		 (unsigned long long)dropped);
	hashing_stats(&hs);
	log_info("hashing: %llu MiB hashed, %llu digests reused, %llu files left unhashed by a "
		 "hashing budget",
		 (unsigned long long)(hs.hashed_bytes >> 20), (unsigned long long)hs.cached,
		 (unsigned long long)hs.refused);
}

/*
 * What a running sensor keeps, and why: probing libcrypto files as they appear (CAP_BPF,
 * CAP_PERFMON, and CAP_SYS_ADMIN, which /proc/PID/map_files also asks for), reading other
 * processes' /proc entries (CAP_SYS_PTRACE) and files (CAP_DAC_READ_SEARCH). run checks for
 * each before anything is loaded; once everything is open, it keeps only these.
 */
static const struct {
	int cap;
	const char *name;
	const char *why;
} run_caps[] = {
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN",
	  "to read /proc/PID/map_files and probe new libcrypto files" },
	{ CAP_BPF, "CAP_BPF", "to load the BPF programs and maps" },
	{ CAP_PERFMON, "CAP_PERFMON", "to attach the tracepoints and uprobes" },
	{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE", "to read other processes' /proc entries" },
	{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", "to read the files other processes load" },
};
#define N_RUN_CAPS (sizeof(run_caps) / sizeof(run_caps[0]))

/*
 * A container or unit that withholds one of them would fail later with a bare EPERM from the
 * kernel: say in one line which are missing and what each is for.
 */
static int capabilities_check(void)
{
	char line[1024];
	size_t len = 0;
	int n = 0;

	for (size_t i = 0; i < N_RUN_CAPS; i++)
		if (!privileges_effective(run_caps[i].cap) && len < sizeof(line))
			len += snprintf(line + len, sizeof(line) - len, "%s%s (%s)",
					n++ ? ", " : "", run_caps[i].name, run_caps[i].why);
	if (n == 0)
		return 0;
	fprintf(stderr, "sowatch: run needs the missing capabilit%s %s\n", n > 1 ? "ies" : "y",
		line);
	return -1;
}

/*
 * Say how the host's files are reached. A container's or a unit's own mount namespace holds
 * other files at the host's paths; a silent fallback would judge the host's modules by them.
 */
static void host_view_log(void)
{
	if (proc_host_root()[0])
		log_info("the host's files are read through %s (sowatch has a mount namespace of "
			 "its own)",
			 proc_host_root());
	else if (!proc_host_process())
		log_warn("neither /proc/1/ns/mnt nor /proc/2/ns/mnt can be read (a ptrace policy "
			 "such as AppArmor's?): the host's files are judged as sowatch sees them, "
			 "which in a container are the image's");
}

static int privileges_drop(void)
{
	int keep[N_RUN_CAPS];
	int err;

	for (size_t i = 0; i < N_RUN_CAPS; i++)
		keep[i] = run_caps[i].cap;
	err = privileges_keep_only(keep, N_RUN_CAPS);
	if (err)
		log_error("cannot drop privileges: %s", strerror(-err));
	else
		log_info("privileges dropped: keeping only CAP_SYS_ADMIN, CAP_BPF, CAP_PERFMON, "
			 "CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH");
	return err;
}

/*
 * Each uprobe is an open file descriptor: up to 16 for each of up to 1024 files that carry
 * OpenSSL, besides the store, the sources and the files being hashed. A shell's soft limit of
 * 1024 would run out; raise it while sowatch may still raise the hard one (CAP_SYS_RESOURCE
 * goes with the other privileges).
 */
static void files_limit_raise(void)
{
	const rlim_t want = 1 << 16, needed = 17 << 10;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0 || getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rl.rlim_cur = rl.rlim_max; /* as far as the hard limit allows */
	setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < needed)
		log_warn("open files limited to %llu: the library layer may not probe every file "
			 "that carries OpenSSL",
			 (unsigned long long)rl.rlim_cur);
}

/* The sources `run` was asked for. */
struct sources {
	bool want_ebpf, want_gvisor;
	struct enforce_policy enforce; /* from the configuration's enforce: */
	const char *gvisor_socket;
	struct ebpf_source *ebpf;
	struct enforce_lists enforce_lists; /* enforce mode's, in the eBPF source's kernel maps */
	struct gvisor_source *gvisor;
	uint64_t gvisor_dropped; /* last figure logged */
};

static int parse_sources(const char *list, struct sources *s)
{
	char copy[64], *save = NULL;

	if (snprintf(copy, sizeof(copy), "%s", list) >= (int)sizeof(copy))
		return -EINVAL;
	s->want_ebpf = s->want_gvisor = false;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "ebpf") == 0)
			s->want_ebpf = true;
		else if (strcmp(t, "gvisor") == 0)
			s->want_gvisor = true;
		else
			return -EINVAL;
	}
	return s->want_ebpf || s->want_gvisor ? 0 : -EINVAL;
}

static int sources_open(struct sources *s, struct pipeline *pl)
{
	const char *error = "";
	int err;

	if (s->want_ebpf) {
		err = ebpf_source_open(&s->ebpf, pipeline_handle, pl, &s->enforce, &error);
		if (err) {
			fatal_error(error, err);
			return err;
		}
		if (s->enforce.kill) {
			static const char *const where[] = {
				[SW_ENFORCE_ALL] = "any process",
				[SW_ENFORCE_CONTAINERS] = "a container process",
				[SW_ENFORCE_HOST] = "a host process",
			};
			int n = enforce_lists_load(&s->enforce_lists, s->ebpf, pipeline_trust(pl));

			if (n < 0)
				return n;
			log_info("enforce mode: %s is killed before a module's code runs when the "
				 "module is from outside %d trusted directories%s",
				 where[s->enforce.where], n,
				 s->enforce.added_libraries ? ", or (in a container) when it "
							      "maps an added library"
							    : "");
		}
	}
	if (s->want_gvisor) {
		err = gvisor_source_open(&s->gvisor, s->gvisor_socket, pipeline_handle, pl, &error);
		if (err) {
			fatal_error(error, err);
			return err;
		}
		/* A sandbox is a container: out of scope with where: host */
		gvisor_source_set_enforce_mode(s->gvisor, s->enforce.kill &&
							      s->enforce.where != SW_ENFORCE_HOST);
	}
	return 0;
}

static void sources_close(struct sources *s)
{
	ebpf_source_close(s->ebpf);
	gvisor_source_close(s->gvisor);
}

/*
 * Say when gVisor sandboxes could not send us points (their socket buffer was full), and
 * let findings carry every source's losses.
 */
/* Sandboxes' drops reach findings as events (EVENT_DROPPED); here they are logged. */
static void gvisor_check(struct sources *s)
{
	struct gvisor_stats st;

	if (!s->gvisor)
		return;
	gvisor_source_stats(s->gvisor, &st);
	if (st.dropped_by_gvisor != s->gvisor_dropped) {
		log_warn("gVisor sandboxes dropped %llu points so far (sowatch too slow?)",
			 (unsigned long long)st.dropped_by_gvisor);
		s->gvisor_dropped = st.dropped_by_gvisor;
	}
}

/*
 * Handle what the wait found ready (n entries of ready[], n <= 0 for none). The ring buffer is
 * read whether it woke us or not: the kernel queues most events without a wake-up. Returns
 * the eBPF records handled, or -errno.
 */
static int sources_handle(struct sources *s, const struct epoll_event *ready, int n)
{
	for (int i = 0; i < n; i++) {
		if (ready[i].data.u32 == 1) {
			int err = gvisor_source_poll(s->gvisor, 0);

			if (err < 0)
				return err;
		}
	}
	return s->ebpf ? ebpf_source_drain(s->ebpf) : 0;
}

static int epoll_watch(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Every figure of /metrics and /healthz, once a second, from the main loop. */
static void metrics_publish(struct metrics_server *m, struct pipeline *pl, struct sources *s,
			    uint64_t now_ms)
{
	struct metrics_snapshot snap;

	if (!m)
		return;
	memset(&snap, 0, sizeof(snap));
	snap.taken_ms = now_ms;
	snap.heartbeat_age_s = -1;
	pipeline_metrics(pl, &snap);
	if (s->ebpf)
		ebpf_source_metrics(s->ebpf, &snap);
	if (s->gvisor)
		gvisor_source_metrics(s->gvisor, &snap);
	metrics_server_publish(m, &snap);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "jsonl", required_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "source", required_argument, NULL, 's' },
		{ "gvisor-socket", required_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct pipeline_options opts = { .jsonl_path = NULL };
	struct sources srcs = { .want_ebpf = true, .gvisor_socket = GVISOR_DEFAULT_SOCKET };
	const char *config_path = NULL, *error = "";
	struct config *cfg = calloc(1, sizeof(*cfg));
	struct pipeline *pl = NULL;
	struct metrics_server *metrics = NULL;
	uint64_t last_check = 0, last_sweep = monotonic_ms(), last_dropped = 0;
	uint64_t last_kills_untold = 0;
	uint64_t last_heartbeat, last_progress;
	struct service_watchdog watchdog;
	bool busy = false; /* the last wait handled eBPF records */
	int opt, err, epfd = -1, status = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+vh", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			opts.jsonl_path = optarg;
			break;
		case 'd':
			opts.store_path = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 's':
			if (parse_sources(optarg, &srcs))
				return usage_error(
				    "run: --source takes ebpf, gvisor or ebpf,gvisor, not "
				    "'%s'",
				    optarg);
			break;
		case 'g':
			if (optarg[0] != '/')
				return usage_error(
				    "run: --gvisor-socket needs an absolute path, not "
				    "'%s'",
				    optarg);
			srcs.gvisor_socket = optarg;
			break;
		case 'v':
			log_max_level = LOG_DEBUG;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return usage_error("%s", "run: unknown or incomplete option");
		}
	}
	if (optind < argc)
		return usage_error("run: unexpected argument '%s'", argv[optind]);

	err = cfg ? config_load(cfg, config_path, &error) : -ENOMEM;
	if (err) {
		fprintf(stderr, "sowatch: %s\n", error);
		if (cfg)
			config_free(cfg);
		free(cfg);
		return 1;
	}
	opts.resource = cfg->resource;
	srcs.enforce.kill = strcmp(cfg->enforce_mode, "kill") == 0;
	srcs.enforce.where = strcmp(cfg->enforce_where, "containers") == 0 ? SW_ENFORCE_CONTAINERS
			     : strcmp(cfg->enforce_where, "host") == 0	   ? SW_ENFORCE_HOST
									   : SW_ENFORCE_ALL;
	srcs.enforce.added_libraries = strcmp(cfg->enforce_severity, "low") == 0;
	if (!opts.store_path)
		opts.store_path = cfg->store_path[0] ? cfg->store_path : STORE_DEFAULT_PATH;
	opts.config = cfg;
	if (geteuid() != 0) {
		fprintf(stderr, "sowatch: run needs root (to load BPF programs and read other "
				"processes' files)\n");
		config_free(cfg);
		free(cfg);
		return 1;
	}
	if (capabilities_check()) {
		config_free(cfg);
		free(cfg);
		return 1;
	}

	host_view_log();
	files_limit_raise();
	/* Before any thread: OpenSSL never to read openssl.cnf, the environment safe for libcurl */
	err = http_global_init();
	if (err) {
		fatal_error("cannot set up HTTP for the HTTP outputs", err);
		goto out;
	}
	err = pipeline_new(&pl, &opts, &error);
	if (err) {
		fatal_error(error, err);
		goto out;
	}
	if (sources_open(&srcs, pl))
		goto out;
	if (cfg->metrics_listen[0]) {
		err = metrics_server_new(&metrics, cfg->metrics_listen, &error);
		if (err) {
			fatal_error(error, err);
			goto out;
		}
		log_info("metrics and health on http://%s/metrics and /healthz",
			 cfg->metrics_listen);
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || (srcs.ebpf && epoll_watch(epfd, ebpf_source_fd(srcs.ebpf), 0)) ||
	    (srcs.gvisor && epoll_watch(epfd, gvisor_source_fd(srcs.gvisor), 1))) {
		log_error("cannot wait on the sources: %s", strerror(errno));
		goto out;
	}
	pipeline_start(pl, &(struct pipeline_watchers){ .watch_exe = source_watch_exe,
							.watch_process = source_watch_process,
							.ctx = srcs.ebpf });
	if (srcs.ebpf && ebpf_source_libcrypto_probes(srcs.ebpf) == 0)
		log_warn("no libcrypto with DSO_load found: the library layer is off");
	/* What "all capabilities" is for a container: the host's, before sowatch drops its own */
	container_settings_learn_host();
	if (privileges_drop())
		goto out;
	/*
	 * Starting read dpkg's md5sums and the symbol tables of the host's programs and
	 * libraries: several MiB freed since, which would otherwise stay in the heap for good.
	 */
	malloc_trim(0);

	signals_setup();
	pipeline_note_start(pl, realtime_ns());
	last_heartbeat = last_progress = monotonic_ms();
	/* /healthz answers from the moment sowatch says it is ready */
	metrics_publish(metrics, pl, &srcs, last_progress);
	fprintf(stderr, "sowatch: ready\n");
	service_ready();
	service_watchdog_init(&watchdog, last_progress);

	while (!stop_requested) {
		/*
		 * After reading records, look again soon: a record another CPU was still writing
		 * stops the read, and it does not wake us when it is done.
		 */
		int timeout = busy ? SW_DRAIN_BUSY_MS : SW_DRAIN_PERIOD_MS;
		struct epoll_event ready[4];
		int n = epoll_wait(epfd, ready, 4, timeout);
		uint64_t now = monotonic_ms();

		if (n < 0 && errno != EINTR) {
			log_error("waiting on the sources failed: %s", strerror(errno));
			goto out;
		}
		stall_check(pl, &last_progress, now, timeout);
		err = sources_handle(&srcs, ready, n);
		busy = err > 0;
		if (err < 0) {
			log_error("reading the sources failed: %s", strerror(-err));
			goto out;
		}
		now = monotonic_ms();
		if (now - last_heartbeat >= PIPELINE_HEARTBEAT_PERIOD_MS) {
			pipeline_note_heartbeat(pl, realtime_ns());
			last_heartbeat = now;
		}
		if (now - last_check >= COUNTERS_PERIOD_MS) {
			if (srcs.ebpf) {
				counters_check(srcs.ebpf, &last_dropped, &last_kills_untold);
				enforce_lists_refresh(&srcs.enforce_lists);
				ebpf_source_sync_clocks(srcs.ebpf);
				ebpf_source_check_alive(srcs.ebpf, now);
			}
			gvisor_check(&srcs);
			metrics_publish(metrics, pl, &srcs, now);
			last_check = now;
		}
		service_watchdog_tick(&watchdog, !srcs.ebpf || ebpf_source_alive(srcs.ebpf), now);
		if (reload_requested) {
			reload_requested = 0;
			service_reloading();
			reload(pl, config_path, &cfg);
			service_reloaded();
		}
		if (reopen_requested) {
			reopen_requested = 0;
			pipeline_reopen(pl);
			log_info("file outputs reopened (SIGUSR1)");
		}
		if (now - last_sweep >= SWEEP_PERIOD_MS) {
			pipeline_sweep(pl);
			last_sweep = now;
		}
	}
	service_stopping();
	/* What the sources already hold is still reported. */
	if (srcs.ebpf) {
		ebpf_source_drain(srcs.ebpf);
		counters_check(srcs.ebpf, &last_dropped, &last_kills_untold);
	}
	if (srcs.gvisor)
		gvisor_source_poll(srcs.gvisor, 0);
	pipeline_flush(pl);
	pipeline_note_stop(pl, realtime_ns());
	log_stop_summary(pl, last_dropped);
	status = 0;
out:
	if (epfd >= 0)
		close(epfd);
	metrics_server_free(metrics);
	sources_close(&srcs);
	pipeline_free(pl);
	http_global_cleanup();
	if (cfg)
		config_free(cfg);
	free(cfg);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("%s", "missing command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("sowatch %s\n", SOWATCH_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "findings") == 0)
		return cmd_findings(argc - 1, argv + 1);
	if (strcmp(argv[1], "gvisor-config") == 0)
		return cmd_gvisor_config(argc - 1, argv + 1);
	if (strcmp(argv[1], "nats-init") == 0)
		return cmd_nats_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "collect") == 0)
		return cmd_collect(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return usage_error("unknown option '%s'", argv[1]);
	return usage_error("unknown command '%s'", argv[1]);
}
