// SPDX-License-Identifier: Apache-2.0
#include "sources/ebpf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "proc/procfile.h"
#include "sources/ebpf_decode.h"
#include "sources/heartbeat.h"
#include "sowatch.skel.h"
#include "util/log.h"

/* As many as the kernel's libcrypto_files map holds */
#define MAX_LIBCRYPTO 1024

/* The library layer's two probes on one libcrypto file */
struct libcrypto_probe {
	struct bpf_link *entry, *ret;
};

struct ebpf_source {
	struct sowatch_bpf *skel;
	struct ring_buffer *rb;
	struct ebpf_decoder decoder;
	event_handler_fn on_event; /* where events go; the source keeps its own first */
	void *ctx;
	struct libcrypto_probe *libcrypto;
	int n_libcrypto;
	struct heartbeat heartbeat;
	pid_t canary_pid; /* the last canary child: its exit event is the heartbeat */
};

static int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* libbpf speaks only when asked to (--verbose); failures are reported by us, in one line. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (log_max_level < LOG_DEBUG || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/*
 * PID 1's mount namespace is the host's; processes elsewhere are in containers. Where PID 1 is
 * out of reach (a sandboxed init), sowatch's own stands in: it runs on the host.
 */
static uint32_t host_mount_namespace(void)
{
	struct stat st;

	if (stat("/proc/1/ns/mnt", &st) == 0 || stat("/proc/self/ns/mnt", &st) == 0)
		return (uint32_t)st.st_ino;
	log_warn("cannot read the host's mount namespace: containers will not be told apart");
	return 0;
}

/*
 * FMODE_BACKING marks the files overlayfs maps on a container's behalf. It exists since Linux
 * 6.6 and moved from bit 25 to bit 24 in 6.14; it is a #define, so BTF cannot tell us.
 */
static uint32_t kernel_fmode_backing(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	if (major > 6 || (major == 6 && minor >= 14))
		return 1u << 24;
	if (major == 6 && minor >= 6)
		return 1u << 25;
	return 0;
}

/* Per-syscall tracepoints need tracefs; a bare host may not have it mounted. */
static void tracefs_ensure_mounted(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL))
		log_warn("cannot mount tracefs on /sys/kernel/tracing: %s", strerror(errno));
}

/* A file's key in the kernel's maps: its inode and dev_t as BPF programs see s_dev */
struct file_key {
	uint64_t ino;
	uint32_t dev; /* major << 20 | minor */
	uint32_t pad;
};

static struct file_key file_key_of(dev_t dev, uint64_t ino)
{
	return (struct file_key){ .ino = ino, .dev = (uint32_t)(major(dev) << 20 | minor(dev)) };
}

/* Returns 0, -EEXIST when already there with BPF_NOEXIST, or -errno. */
static int file_map_add(struct bpf_map *map, dev_t dev, uint64_t ino, uint64_t flags)
{
	struct file_key key = file_key_of(dev, ino);
	uint8_t one = 1;

	if (bpf_map__update_elem(map, &key, sizeof(key), &one, sizeof(one), flags))
		return -errno;
	return 0;
}

static void file_map_remove(struct bpf_map *map, dev_t dev, uint64_t ino)
{
	struct file_key key = file_key_of(dev, ino);

	bpf_map__delete_elem(map, &key, sizeof(key), 0);
}

/*
 * The library layer on one libcrypto file: a uprobe and a uretprobe on its DSO_load().
 * Uprobes belong to the file (the inode whose pages are mapped), so they fire in every process
 * that maps it, containers included. `path` must name that very file.
 */
static int libcrypto_attach(struct ebpf_source *src, const char *path, const char *shown)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = "DSO_load");
	struct libcrypto_probe p;

	if (src->n_libcrypto >= MAX_LIBCRYPTO)
		return -ENOSPC;
	if (!src->libcrypto) {
		src->libcrypto = calloc(MAX_LIBCRYPTO, sizeof(*src->libcrypto));
		if (!src->libcrypto)
			return -ENOMEM;
	}
	p.entry =
	    bpf_program__attach_uprobe_opts(src->skel->progs.handle__dso_load, -1, path, 0, &opts);
	if (!p.entry)
		return -errno;
	opts.retprobe = true;
	p.ret = bpf_program__attach_uprobe_opts(src->skel->progs.handle__dso_load_return, -1, path,
						0, &opts);
	if (!p.ret) {
		int err = -errno;

		bpf_link__destroy(p.entry);
		return err;
	}
	src->libcrypto[src->n_libcrypto++] = p;
	log_info("library-layer probe on %s", shown);
	return 0;
}

/*
 * The host's libcrypto files, probed at start. Any other (a container image's own, one
 * installed later) is probed when first mapped: the kernel reports it once.
 */
static void libcrypto_attach_host(struct ebpf_source *src)
{
	static const char *const dirs[] = { "/usr/lib/x86_64-linux-gnu",
					    "/usr/lib/aarch64-linux-gnu",
					    "/usr/lib64",
					    "/usr/lib",
					    "/lib64",
					    "/usr/local/lib",
					    NULL };

	for (const char *const *dir = dirs; *dir; dir++) {
		DIR *d = opendir(*dir);
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d))) {
			char path[PATH_MAX];
			struct stat st;
			int err;

			if (strncmp(de->d_name, "libcrypto.so.", 13) != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", *dir, de->d_name);
			if (stat(path, &st) || !S_ISREG(st.st_mode))
				continue;
			/* Known to the kernel even if no probe fits: it is not reported when mapped. */
			err = file_map_add(src->skel->maps.libcrypto_files, st.st_dev, st.st_ino,
					   BPF_NOEXIST);
			if (err == -EEXIST)
				continue; /* the same file under another name */
			if (!err)
				err = libcrypto_attach(src, path, path);
			if (err)
				log_warn("no library-layer probe on %s: %s", path, strerror(-err));
		}
		closedir(d);
	}
}

/*
 * A libcrypto file first mapped by a process (a container image's own, say): probe it, opened
 * through that process's view so that its path means the file the kernel saw. Until the probes
 * are on, a load through it is seen by the intent and effect layers only.
 */
static void libcrypto_mapped(struct ebpf_source *src, const struct event *ev)
{
	const struct file_ref *f = &ev->map.file;
	const char *name = f->path ? f->path : "(unnamed)";
	char fd_path[64];
	struct stat st;
	int fd, err;

	fd = proc_file_open(ev->pid, f, ev->map.start, ev->map.end, false, &st);
	if (fd < 0) {
		/* Gone already: the next process to map it makes the kernel say so again */
		file_map_remove(src->skel->maps.libcrypto_files, f->real_dev, f->real_ino);
		log_warn("libcrypto %s mapped by pid %u: cannot open it to probe it: %s", name,
			 ev->pid, strerror(-fd));
		return;
	}
	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
	err = libcrypto_attach(src, fd_path, name);
	close(fd);
	if (err)
		log_warn("no library-layer probe on %s (mapped by pid %u): %s", name, ev->pid,
			 strerror(-err));
}

/* Decoded events: the source's own first, the others to the pipeline. */
static void source_event(const struct event *ev, void *ctx)
{
	struct ebpf_source *src = ctx;

	if (ev->kind == EVENT_LIBCRYPTO_MAPPED)
		libcrypto_mapped(src, ev);
	else if (ev->kind == EVENT_EXIT && src->canary_pid &&
		 ev->pid == (uint32_t)src->canary_pid) {
		if (heartbeat_seen(&src->heartbeat) == HEARTBEAT_RECOVERED)
			log_error("events from the kernel flow again");
		log_debug("heartbeat: canary %d came back", src->canary_pid);
		src->canary_pid = 0; /* a later process may get the pid */
	} else {
		src->on_event(ev, src->ctx);
	}
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct ebpf_source *src = ctx;
	int err = ebpf_decode_record(&src->decoder, data, size);

	/* A record we cannot read is a bug on one side: say so, but keep going. */
	if (err == -EBADMSG && (src->decoder.malformed & (src->decoder.malformed - 1)) == 0)
		log_error("%llu malformed records from the kernel so far",
			  (unsigned long long)src->decoder.malformed);
	return 0;
}

int ebpf_source_open(struct ebpf_source **ret, event_handler_fn on_event, void *ctx,
		     const struct enforce_policy *enforce, const char **ret_error)
{
	struct ebpf_source *src = calloc(1, sizeof(*src));
	int err;

	if (!src)
		return -ENOMEM;
	src->on_event = on_event;
	src->ctx = ctx;
	src->decoder.on_event = source_event;
	src->decoder.ctx = src;
	ebpf_source_sync_clocks(src);
	libbpf_set_print(libbpf_print);
	tracefs_ensure_mounted();

	src->skel = sowatch_bpf__open();
	if (!src->skel) {
		err = -errno;
		*ret_error = "cannot open the BPF object";
		goto err_free;
	}
	src->skel->rodata->self_tgid = getpid();
	src->skel->rodata->enforce = enforce->kill;
	src->skel->rodata->enforce_where = enforce->where;
	src->skel->rodata->enforce_added = enforce->added_libraries;
	src->skel->rodata->host_mnt_ns = host_mount_namespace();
	src->skel->rodata->fmode_backing = kernel_fmode_backing();
	err = sowatch_bpf__load(src->skel);
	if (err) {
		*ret_error = "cannot load the BPF programs into the kernel (needs root, BTF and "
			     "BPF support; run with --verbose for the verifier's log)";
		goto err_free;
	}
	/* Attach one by one: the uprobes have no fixed target and are attached below. */
	err = -ENOENT;
	if (!(src->skel->links.handle__sched_process_exec =
		  bpf_program__attach(src->skel->progs.handle__sched_process_exec)) ||
	    !(src->skel->links.handle__sched_process_fork =
		  bpf_program__attach(src->skel->progs.handle__sched_process_fork)) ||
	    !(src->skel->links.handle__sched_process_exit =
		  bpf_program__attach(src->skel->progs.handle__sched_process_exit)) ||
	    !(src->skel->links.handle__sys_enter_mmap =
		  bpf_program__attach(src->skel->progs.handle__sys_enter_mmap)) ||
	    !(src->skel->links.handle__sys_exit_mmap =
		  bpf_program__attach(src->skel->progs.handle__sys_exit_mmap)) ||
	    !(src->skel->links.handle__sys_enter_mprotect =
		  bpf_program__attach(src->skel->progs.handle__sys_enter_mprotect)) ||
	    !(src->skel->links.handle__sys_exit_mprotect =
		  bpf_program__attach(src->skel->progs.handle__sys_exit_mprotect))) {
		err = -errno;
		*ret_error = "cannot attach to the kernel's tracepoints (is tracefs available?)";
		goto err_free;
	}
	libcrypto_attach_host(src);

	src->rb = ring_buffer__new(bpf_map__fd(src->skel->maps.events), handle_record, src, NULL);
	if (!src->rb) {
		err = -errno;
		*ret_error = "cannot set up the ring buffer";
		goto err_free;
	}
	*ret = src;
	return 0;

err_free:
	ebpf_source_close(src);
	return err < 0 ? err : -err;
}

void ebpf_source_sync_clocks(struct ebpf_source *src)
{
	src->decoder.boot_to_realtime_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
}

int ebpf_source_fd(const struct ebpf_source *src)
{
	return ring_buffer__epoll_fd(src->rb);
}

int ebpf_source_drain(struct ebpf_source *src)
{
	return ring_buffer__consume(src->rb);
}

int ebpf_source_watch_exe(struct ebpf_source *src, uint64_t dev, uint64_t ino)
{
	return file_map_add(src->skel->maps.openssl_exes, dev, ino, BPF_ANY);
}

int ebpf_source_trust_dir(struct ebpf_source *src, uint64_t dev, uint64_t ino)
{
	return file_map_add(src->skel->maps.trusted_dirs, dev, ino, BPF_ANY);
}

int ebpf_source_freeze_trust(struct ebpf_source *src)
{
	if (bpf_map_freeze(bpf_map__fd(src->skel->maps.trusted_dirs)))
		return -errno;
	return 0;
}

int ebpf_source_watch_process(struct ebpf_source *src, uint32_t pid)
{
	uint32_t want = SW_INTEREST_USER, cur;

	if (!bpf_map__lookup_elem(src->skel->maps.interest, &pid, sizeof(pid), &cur, sizeof(cur),
				  0))
		want |= cur;
	if (bpf_map__update_elem(src->skel->maps.interest, &pid, sizeof(pid), &want, sizeof(want),
				 BPF_ANY))
		return -errno;
	return 0;
}

int ebpf_source_counters(struct ebpf_source *src, struct sw_counters ret[SW_EVENT_KIND_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	struct sw_counters *percpu;

	if (ncpu <= 0)
		return -EINVAL;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (uint32_t kind = 0; kind < SW_EVENT_KIND_MAX; kind++) {
		memset(&ret[kind], 0, sizeof(ret[kind]));
		if (bpf_map__lookup_elem(src->skel->maps.counters, &kind, sizeof(kind), percpu,
					 ncpu * sizeof(*percpu), 0))
			continue;
		for (int cpu = 0; cpu < ncpu; cpu++) {
			ret[kind].seen += percpu[cpu].seen;
			ret[kind].sent += percpu[cpu].sent;
			ret[kind].dropped += percpu[cpu].dropped;
		}
	}
	free(percpu);
	return 0;
}

void ebpf_source_check_alive(struct ebpf_source *src, uint64_t now_ms)
{
	switch (heartbeat_tick(&src->heartbeat, now_ms)) {
	case HEARTBEAT_SEND: {
		/* A child that exits at once: its exit goes through a tracepoint and the ring. */
		pid_t pid = vfork();

		if (pid == 0)
			_exit(0);
		if (pid < 0)
			return;
		waitpid(pid, NULL, 0);
		src->canary_pid = pid;
		heartbeat_sent(&src->heartbeat, now_ms);
		break;
	}
	case HEARTBEAT_ALARM:
		log_error(
		    "NO EVENTS FROM THE KERNEL for %d s: sowatch's BPF programs were detached "
		    "or its ring buffer stopped. Nothing is being detected.",
		    HEARTBEAT_TIMEOUT_MS / 1000);
		break;
	case HEARTBEAT_WAIT:
	case HEARTBEAT_RECOVERED:
		break;
	}
}

int ebpf_source_libcrypto_probes(const struct ebpf_source *src)
{
	return src->n_libcrypto;
}

void ebpf_source_close(struct ebpf_source *src)
{
	if (!src)
		return;
	ring_buffer__free(src->rb);
	for (int i = 0; i < src->n_libcrypto; i++) {
		bpf_link__destroy(src->libcrypto[i].entry);
		bpf_link__destroy(src->libcrypto[i].ret);
	}
	free(src->libcrypto);
	sowatch_bpf__destroy(src->skel);
	free(src);
}
