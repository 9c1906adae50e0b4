// SPDX-License-Identifier: Apache-2.0
/*
 * `sowatch gvisor-config`: the pod-init-config for gVisor's runtime monitoring.
 *
 * runsc reads the file given with --pod-init-config (runsc/boot/seccheck.go, InitConfig) with
 * encoding/json's DisallowUnknownFields, so every key below must be spelled exactly as gVisor's
 * structs spell them: {"trace_session": SessionConfig} with SessionConfig{name, points[],
 * ignore_missing, sinks[]}, PointConfig{name, optional_fields[], context_fields[]},
 * SinkConfig{name, config{}, ignore_setup_error} (pkg/sentry/seccheck/config.go). Only a session
 * named "Default" is accepted. An unknown point or field name makes the sandbox refuse to start
 * (ignore_missing is left off on purpose: a typo must not silently blind the sensor).
 *
 * Names checked against `runsc trace metadata` of runsc 0.0~20221219.0 (Debian 12):
 *
 *   point                  optional fields   we enable
 *   container/start        [env]             env
 *   sentry/execve          [binary_info]     binary_info (mode, uid, gid of the binary; this
 *                                            release never fills ExecveInfo.binary_sha256 and
 *                                            has no field to ask for it)
 *   sentry/clone           []
 *   sentry/task_exit       []
 *   syscall/openat/exit    [fd_path]         fd_path (the path of the *dirfd* argument, "" for
 *                                            AT_FDCWD; the new fd is exit.result)
 *   syscall/close/enter    [fd_path]         fd_path (at close/exit the fd is already gone and
 *                                            fd_path reads "[err: FD not found]", so: enter)
 *   syscall/execve/enter   [envv]            envv
 *   syscall/sysno/9/enter  []                (raw mmap, enabled only so that exit messages
 *                                            carry context_data: see points[] below)
 *   syscall/sysno/9/exit   []                (raw mmap: arg1..arg6 and exit.result, no path)
 *
 *   context fields (the same set on every point): time, thread_id, task_start_time, group_id,
 *   thread_group_start_time, container_id, credentials, cwd, process_name. The thread group id
 *   is asked for as "group_id" (it arrives as ContextData.thread_group_id); there is no
 *   "thread_group_id" field name.
 *
 *   sinks: "null", "remote". The remote sink (pkg/sentry/seccheck/sinks/remote/remote.go) takes
 *   config {"endpoint": path (SOCK_SEQPACKET unix socket), "retries": integer (default 0: a
 *   point is dropped as soon as the socket buffer is full), "backoff": Go duration (default
 *   25us), "backoff_max": Go duration (default 10ms)}. Retries sleep in the traced task, so they
 *   slow the workload down only while sowatch lags behind; dropped points are counted in each
 *   message's header.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "cli/gvisor_config.h"
#include "util/json.h"

/* Retry a full socket this many times, backing off from 50us doubling to 10ms (~33ms at most). */
#define SINK_RETRIES	 10
#define SINK_BACKOFF	 "50us"
#define SINK_BACKOFF_MAX "10ms"

static const char *const context_fields[] = {
	"container_id", "group_id",    "thread_id", "process_name",
	"cwd",		"credentials", "time",	    "thread_group_start_time",
	NULL,
};

struct point {
	const char *name;
	const char *optional[2]; /* NULL-terminated */
};

static const struct point points[] = {
	{ "container/start", { "env", NULL } },
	{ "sentry/execve", { "binary_info", NULL } },
	{ "sentry/clone", { NULL } },
	{ "sentry/task_exit", { NULL } },
	/* Where file descriptors come from, so that an mmap of one names its file */
	{ "syscall/openat/exit", { "fd_path", NULL } },
	{ "syscall/open/exit", { NULL } },
	{ "syscall/close/enter", { "fd_path", NULL } },
	{ "syscall/dup/exit", { NULL } },
	{ "syscall/dup2/exit", { NULL } },
	{ "syscall/dup3/exit", { NULL } },
	{ "syscall/fcntl/exit", { NULL } },
	{ "syscall/execve/enter", { "envv", NULL } },
	/* memfd_create (raw, both phases for the reason below) */
	{ "syscall/sysno/319/enter", { NULL } },
	{ "syscall/sysno/319/exit", { NULL } },
	/*
	 * mmap. Both phases: this gVisor release loads a raw syscall's exit context data with the
	 * *enter* point's field set (pkg/sentry/kernel/task_syscall.go, GetPointForSyscall(
	 * SyscallRawEnter, ...) in the exit path), so with the enter point off, exit messages come
	 * without context_data and cannot be attributed to a task or container. Consumers skip the
	 * enter messages (no "exit" member).
	 */
	{ "syscall/sysno/9/enter", { NULL } },
	{ "syscall/sysno/9/exit", { NULL } },
};

static const char usage[] =
    "Usage: sowatch gvisor-config [--socket PATH]\n"
    "\n"
    "Prints the gVisor pod-init-config (JSON) that sends a sandbox's runtime-monitoring trace\n"
    "points (container start, exec, clone, exit, openat, close, execve and mmap) to sowatch's\n"
    "remote sink socket. Give the file to runsc:\n"
    "\n"
    "  sowatch gvisor-config --socket " GVISOR_DEFAULT_SOCKET " > pod-init.json\n"
    "  runsc --pod-init-config=pod-init.json ...\n"
    "\n"
    "and run `sowatch run --source gvisor --gvisor-socket PATH` with the same socket. runsc\n"
    "refuses to start a sandbox while nothing listens on the socket.\n"
    "\n"
    "Options:\n"
    "  --socket PATH    The socket sowatch listens on; absolute, at most 107 bytes\n"
    "                   (default: " GVISOR_DEFAULT_SOCKET ").\n"
    "  -h, --help       This text.\n"
    "\n"
    "Exit status: 0 ok, 1 runtime error, 2 usage error.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "sowatch: gvisor-config: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'sowatch gvisor-config --help'.\n");
	return 2;
}

static void write_strings(struct jw_writer *j, const char *key, const char *const *v)
{
	jw_key(j, key);
	jw_array_begin(j);
	for (; *v; v++)
		jw_string(j, *v);
	jw_array_end(j);
}

int gvisor_config_build(struct strbuf *out, const char *socket_path)
{
	struct jw_writer j;
	int err;

	if (!socket_path)
		return -EINVAL;
	jw_init(&j, out);
	jw_object_begin(&j);
	jw_key(&j, "trace_session");
	jw_object_begin(&j);
	jw_kv_string(&j, "name", "Default");
	jw_key(&j, "points");
	jw_array_begin(&j);
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		jw_object_begin(&j);
		jw_kv_string(&j, "name", points[i].name);
		if (points[i].optional[0])
			write_strings(&j, "optional_fields", points[i].optional);
		write_strings(&j, "context_fields", context_fields);
		jw_object_end(&j);
	}
	jw_array_end(&j);
	jw_key(&j, "sinks");
	jw_array_begin(&j);
	jw_object_begin(&j);
	jw_kv_string(&j, "name", "remote");
	jw_key(&j, "config");
	jw_object_begin(&j);
	jw_kv_string(&j, "endpoint", socket_path);
	jw_kv_int(&j, "retries", SINK_RETRIES);
	jw_kv_string(&j, "backoff", SINK_BACKOFF);
	jw_kv_string(&j, "backoff_max", SINK_BACKOFF_MAX);
	jw_object_end(&j);
	jw_object_end(&j);
	jw_array_end(&j);
	jw_object_end(&j);
	jw_object_end(&j);
	err = jw_error(&j);
	if (err)
		return err;
	return strbuf_addc(out, '\n');
}

int cmd_gvisor_config(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_path = GVISOR_DEFAULT_SOCKET;
	struct strbuf out = STRBUF_INIT;
	int opt, err, status = 0;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (socket_path[0] != '/')
		return usage_error("--socket must be an absolute path, not '%s'", socket_path);
	if (strlen(socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return usage_error("--socket path too long for a unix socket: '%s'", socket_path);

	err = gvisor_config_build(&out, socket_path);
	if (err) {
		fprintf(stderr, "sowatch: gvisor-config: %s\n", strerror(-err));
		strbuf_release(&out);
		return 1;
	}
	if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		fprintf(stderr, "sowatch: gvisor-config: writing the configuration: %s\n",
			strerror(errno));
		status = 1;
	}
	strbuf_release(&out);
	return status;
}
