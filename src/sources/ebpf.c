// SPDX-License-Identifier: Apache-2.0
#include "sources/ebpf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "metrics.h"
#include "proc/procfile.h"
#include "sources/elf_openssl.h"
#include "sources/ebpf_decode.h"
#include "sources/heartbeat.h"
#include "sowatch.skel.h"
#include "util/log.h"

/* As many as the kernel's probed_files map holds */
#define MAX_LIBCRYPTO 1024
/*
 * Of which files any user could have written (not root's, or writable by others: a node
 * installed under a home directory, say). Anyone can make such files, so they get a share of
 * their own, and cannot use up the probes that root's files need.
 */
#define MAX_PROBES_USER_FILES 256
/* Executables whose symbols were read, by identity: a cache, a newcomer takes the slot */
#define EXE_VERDICTS 4096

struct exe_verdict {
	uint64_t dev, ino; /* the identity whose pages are mapped (real_dev, real_ino) */
	int64_t ctime_ns;
	bool carries_openssl; /* defines DSO_load, which is probed */
	bool nodejs;
};

/* The library layer's two probes on one libcrypto file */
struct libcrypto_probe {
	/* DSO_load's entry and return, then each of OpenSSL's calls' that the file has */
	struct bpf_link *links[2 + 2 * ELF_OPENSSL_CALLS];
	int n;
};

struct ebpf_source {
	struct sowatch_bpf *skel;
	struct ring_buffer *rb;
	/*
	 * The ring buffer's two position pages, mapped read-only: the consumer's at offset 0, the
	 * producer's at one page. libbpf 1.1 (Debian 12) has no ring__avail_data_size(); this is
	 * what it reads. MAP_FAILED when they could not be mapped (the fill is then not reported).
	 */
	void *rb_pos;
	size_t rb_pos_size;
	struct ebpf_decoder decoder;
	event_handler_fn on_event; /* where events go; the source keeps its own first */
	void *ctx;
	struct libcrypto_probe *libcrypto;
	int n_libcrypto;
	int n_user_probes; /* of n_libcrypto, on files any user could have written */
	struct heartbeat heartbeat;
	pid_t canary_pid; /* the last canary child: its exit event is the heartbeat */
	struct exe_verdict exe_verdicts[EXE_VERDICTS];
	/* The raw tracepoints for 32-bit processes' system calls, attached at the first one */
	struct bpf_link *ia32_enter, *ia32_exit;
	bool ia32_failed;
};

static int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The clock the main loop passes to ebpf_source_check_alive() */
static uint64_t monotonic_ms(void)
{
	return (uint64_t)clock_ns(CLOCK_MONOTONIC) / 1000000;
}

static const char *const kind_names[SW_EVENT_KIND_MAX] = {
	[SW_EVENT_EXEC] = "exec",
	[SW_EVENT_FORK] = "fork",
	[SW_EVENT_EXIT] = "exit",
	[SW_EVENT_MAP] = "map",
	[SW_EVENT_DSO_LOAD] = "dso_load",
	[SW_EVENT_DSO_LOAD_RETURN] = "dso_load_return",
	[SW_EVENT_LIBCRYPTO_MAPPED] = "libcrypto_mapped",
	[SW_EVENT_KILL] = "kill",
};

const char *ebpf_event_kind_name(enum sw_event_kind kind)
{
	return kind >= 0 && kind < SW_EVENT_KIND_MAX ? kind_names[kind] : NULL;
}

/* libbpf speaks only when asked to (--verbose); failures are reported by us, in one line. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (log_max_level < LOG_DEBUG || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The host's mount namespace (see proc_host_process()); processes elsewhere are in containers. */
static uint32_t host_mount_namespace(void)
{
	const char *host = proc_host_process();
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/ns/mnt", host ? host : "/proc/self");
	if (stat(path, &st) == 0)
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
static int file_map_set(struct bpf_map *map, dev_t dev, uint64_t ino, uint8_t value, uint64_t flags)
{
	struct file_key key = file_key_of(dev, ino);

	if (bpf_map__update_elem(map, &key, sizeof(key), &value, sizeof(value), flags))
		return -errno;
	return 0;
}

static int file_map_add(struct bpf_map *map, dev_t dev, uint64_t ino, uint64_t flags)
{
	return file_map_set(map, dev, ino, 1, flags);
}

static void file_map_remove(struct bpf_map *map, dev_t dev, uint64_t ino)
{
	struct file_key key = file_key_of(dev, ino);

	bpf_map__delete_elem(map, &key, sizeof(key), 0);
}

/*
 * The library layer on one file that carries DSO_load() (a libcrypto, or a program with OpenSSL
 * linked in): a uprobe and a uretprobe at its first instruction. Uprobes belong to the file
 * (the inode whose pages are mapped), so they fire in every process that maps it, containers
 * included, and in those already running. `path` must name that very file; `elf` is what
 * elf_openssl_scan() read from it.
 */
/* A uprobe (or uretprobe) of prog at offset in the file at path, kept in p. */
static int probe_add(struct libcrypto_probe *p, struct bpf_program *prog, const char *path,
		     uint64_t offset, bool retprobe)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);
	struct bpf_link *link = bpf_program__attach_uprobe_opts(prog, -1, path, offset, &opts);

	if (!link)
		return -errno;
	p->links[p->n++] = link;
	return 0;
}

static void probe_destroy(struct libcrypto_probe *p)
{
	for (int i = 0; i < p->n; i++)
		bpf_link__destroy(p->links[i]);
	p->n = 0;
}

/*
 * The library layer on one file that carries DSO_load() (a libcrypto, or a program with OpenSSL
 * linked in): a uprobe and a uretprobe at its first instruction, and at those of OpenSSL's
 * engine and provider calls. Uprobes belong to the file (the inode whose pages are mapped), so
 * they fire in every process that maps it, containers included, and in those already running.
 * `path` must name that very file; `elf` is what elf_openssl_scan() read from it.
 */
static int probe_attach(struct ebpf_source *src, const char *path, const char *shown,
			const struct elf_openssl *elf)
{
	/* A 32-bit process passes its arguments on the stack and has its own programs. */
	struct bpf_program *entry = elf->is_32bit ? src->skel->progs.handle__dso_load_ia32
						  : src->skel->progs.handle__dso_load;
	struct libcrypto_probe p = { .n = 0 };
	int err, calls = 0;

	if (!elf->has_dso_load)
		return -ENOENT;
	if (src->n_libcrypto >= MAX_LIBCRYPTO) {
		static bool told;

		if (!told)
			log_error("%d files carry the library layer's probe already: no more can "
				  "(this one: %s)",
				  MAX_LIBCRYPTO, shown);
		told = true;
		return -ENOSPC;
	}
	if (!src->libcrypto) {
		src->libcrypto = calloc(MAX_LIBCRYPTO, sizeof(*src->libcrypto));
		if (!src->libcrypto)
			return -ENOMEM;
	}
	err = probe_add(&p, entry, path, elf->dso_load_offset, false);
	if (!err)
		err = probe_add(&p, src->skel->progs.handle__dso_load_return, path,
				elf->dso_load_offset, true);
	if (err) {
		probe_destroy(&p);
		return err;
	}
	/* Without these, only what an engine or provider loads inside DSO_load is seen. */
	for (int i = 0; i < ELF_OPENSSL_CALLS; i++) {
		uint64_t at = elf->call_offsets[i];

		if (!at)
			continue;
		err = probe_add(&p, src->skel->progs.handle__openssl_call, path, at, false);
		if (!err)
			err = probe_add(&p, src->skel->progs.handle__openssl_call_return, path, at,
					true);
		if (err)
			log_warn("no probe on %s in %s: %s", elf_openssl_call_names[i], shown,
				 strerror(-err));
		else
			calls++;
	}
	src->libcrypto[src->n_libcrypto++] = p;
	log_info("library-layer probe on %s%s%s: DSO_load and %d engine and provider calls", shown,
		 elf->is_32bit ? " (32-bit)" : "", elf->is_nodejs ? " (Node.js)" : "", calls);
	return 0;
}

/*
 * Probe the file open on fd if it carries DSO_load and is not probed yet: the kernel's
 * probed_files map says which are, by (dev, ino), the identity whose pages are mapped (for a
 * file of an overlay, the layer's). Returns 0 when probed now, -EEXIST when it was already,
 * -ENOENT when it has no DSO_load, or -errno.
 */
static int probe_fd(struct ebpf_source *src, int fd, dev_t dev, uint64_t ino, const char *shown,
		    struct elf_openssl *ret_elf)
{
	char fd_path[64];
	struct stat st;
	bool users;
	int err = elf_openssl_scan(fd, ret_elf);

	if (err)
		return err;
	if (!ret_elf->has_dso_load)
		return -ENOENT;
	if (fstat(fd, &st))
		return -errno;
	users = st.st_uid != 0 || (st.st_mode & 022);
	if (users && src->n_user_probes >= MAX_PROBES_USER_FILES) {
		if (src->n_user_probes++ == MAX_PROBES_USER_FILES)
			log_error(
			    "%d files that carry OpenSSL and are writable by users are probed "
			    "already: no more such files get the library layer (this one: %s)",
			    MAX_PROBES_USER_FILES, shown);
		return -ENOSPC;
	}
	err = file_map_add(src->skel->maps.probed_files, dev, ino, BPF_NOEXIST);
	if (err)
		return err;
	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
	err = probe_attach(src, fd_path, shown, ret_elf);
	if (err)
		file_map_remove(src->skel->maps.probed_files, dev, ino);
	else if (users)
		src->n_user_probes++;
	return err;
}

/*
 * A program that carries OpenSSL itself (node): known by the symbols of its executable, read
 * once per file version. The answer is kept by the identity whose pages are mapped and the
 * ctime, which any write changes.
 */
static struct exe_verdict *exe_verdict_slot(struct ebpf_source *src, const struct file_ref *exe)
{
	uint64_t h = (exe->real_ino * 0x9E3779B97F4A7C15ull) ^ exe->real_dev;

	return &src->exe_verdicts[h % EXE_VERDICTS];
}

/* A program's verdict, read now: its exec need not be read again, nor wake sowatch. */
static void exe_verdict_learn(struct ebpf_source *src, const struct stat *st,
			      const struct elf_openssl *elf)
{
	struct file_ref exe = { .real_dev = st->st_dev, .real_ino = st->st_ino };

	*exe_verdict_slot(src, &exe) = (struct exe_verdict){
		.dev = st->st_dev,
		.ino = st->st_ino,
		.ctime_ns = stat_ctime_ns(st),
		.carries_openssl = elf->has_dso_load,
		.nodejs = elf->is_nodejs,
	};
	file_map_add(src->skel->maps.exes_scanned, st->st_dev, st->st_ino, BPF_ANY);
}

/*
 * A file of the host's, probed if it carries OpenSSL; a program's verdict is kept too. Opened
 * in the host's root, where a symbolic link means what it means to the host's processes.
 */
static int probe_path(struct ebpf_source *src, const char *path, bool program)
{
	struct elf_openssl elf;
	struct stat st;
	int fd = proc_host_open(path), err;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < ELF_OPENSSL_MIN_SIZE) {
		close(fd);
		return -ENOENT;
	}
	err = probe_fd(src, fd, st.st_dev, st.st_ino, path, &elf);
	close(fd);
	if (program && (!err || err == -EEXIST || err == -ENOENT))
		exe_verdict_learn(src, &st, &elf);
	return err;
}

/* The files of dir whose names start with prefix (any, when NULL): regular files or links. */
static void probe_host_dir(struct ebpf_source *src, const char *dir, const char *prefix, bool links)
{
	char in_view[PATH_MAX / 2];
	struct dirent *de;
	DIR *d;

	snprintf(in_view, sizeof(in_view), "%s%s", proc_host_root(), dir);
	d = opendir(in_view);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		int err;

		if (de->d_name[0] == '.' || (de->d_type == DT_LNK) != links ||
		    (prefix && strncmp(de->d_name, prefix, strlen(prefix)) != 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		err = probe_path(src, path, !prefix);
		/* Only a library named for it is worth a word when it cannot be probed. */
		if (err && err != -EEXIST && err != -ENOENT && err != -ENOEXEC && prefix)
			log_warn("no library-layer probe on %s: %s", path, strerror(-err));
	}
	closedir(d);
}

/*
 * At start: the host's libcrypto files and the programs in the usual bin directories that
 * carry OpenSSL (node, say), so that a load made right after a process starts is seen. Any
 * other (a container image's own, one installed later, a program elsewhere) is probed when
 * first mapped or executed: see libcrypto_mapped() and exec_scan().
 */
static void probe_host_files(struct ebpf_source *src)
{
	static const struct {
		const char *dir;
		const char *prefix; /* NULL: every file big enough */
	} places[] = {
		{ "/usr/lib/x86_64-linux-gnu", "libcrypto" },
		{ "/usr/lib/i386-linux-gnu", "libcrypto" },
		{ "/usr/lib/aarch64-linux-gnu", "libcrypto" },
		{ "/usr/lib64", "libcrypto" },
		{ "/usr/lib", "libcrypto" },
		{ "/lib64", "libcrypto" },
		{ "/usr/local/lib", "libcrypto" },
		{ "/usr/bin", NULL },
		{ "/usr/sbin", NULL },
		{ "/usr/local/bin", NULL },
		{ "/usr/local/sbin", NULL },
		{ "/bin", NULL },
		{ "/sbin", NULL },
	};

	/* Files first, so that a file is named by its own name, not by a link to it. */
	for (int links = 0; links < 2; links++)
		for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++)
			probe_host_dir(src, places[i].dir, places[i].prefix, links);
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
	struct elf_openssl elf;
	struct stat st;
	int fd, err;

	/* The kernel marked it as seen; probe_fd() marks it again once probed. */
	file_map_remove(src->skel->maps.probed_files, f->real_dev, f->real_ino);
	fd = proc_file_open(ev->pid, f, ev->map.start, ev->map.end, false, &st);
	if (fd < 0) {
		/* Gone already: the next process to map it makes the kernel say so again */
		log_warn("libcrypto %s mapped by pid %u: cannot open it to probe it: %s", name,
			 ev->pid, strerror(-fd));
		return;
	}
	err = probe_fd(src, fd, f->real_dev, f->real_ino, name, &elf);
	close(fd);
	if (err && err != -EEXIST)
		/* No DSO_load, or no probe for it: the kernel need not report it again. */
		file_map_add(src->skel->maps.probed_files, f->real_dev, f->real_ino, BPF_ANY);
	if (err && err != -EEXIST && err != -ENOENT && err != -ENOEXEC && err != -ENOSPC)
		log_warn("no library-layer probe on %s (mapped by pid %u): %s", name, ev->pid,
			 strerror(-err));
}

/*
 * Whether an executed program carries OpenSSL's module loader; the first time a version of it
 * is seen, its symbols are read and, when it does, DSO_load is probed. Most programs are too
 * small to be read at all.
 */
static struct exe_verdict exec_scan(struct ebpf_source *src, const struct event *ev)
{
	const struct file_ref *exe = &ev->exec.exe;
	struct exe_verdict *v, none = { 0 };
	struct elf_openssl elf;
	struct stat st;
	int fd, err;

	if (!exe->real_ino || exe->size < ELF_OPENSSL_MIN_SIZE)
		return none;
	v = exe_verdict_slot(src, exe);
	if (v->dev == exe->real_dev && v->ino == exe->real_ino && v->ctime_ns == exe->ctime_ns)
		return *v;
	fd = proc_file_open(ev->pid, exe, 0, 0, true, &st);
	if (fd < 0)
		return none; /* gone, and its file too: the next exec of it tries again */
	/* Read once: its next exec need not wake sowatch. */
	file_map_add(src->skel->maps.exes_scanned, exe->real_dev, exe->real_ino, BPF_ANY);
	err = probe_fd(src, fd, exe->real_dev, exe->real_ino, exe->path ? exe->path : "(unnamed)",
		       &elf);
	close(fd);
	if (err && err != -EEXIST && err != -ENOENT && err != -ENOEXEC && err != -ENOSPC)
		log_warn("no library-layer probe on %s (run by pid %u): %s",
			 exe->path ? exe->path : "(unnamed)", ev->pid, strerror(-err));
	*v = (struct exe_verdict){
		.dev = exe->real_dev,
		.ino = exe->real_ino,
		.ctime_ns = exe->ctime_ns,
		.carries_openssl = elf.has_dso_load,
		.nodejs = elf.is_nodejs,
	};
	return *v;
}

/*
 * The per-syscall tracepoints never fire for a 32-bit process's system calls, so its mappings
 * are watched by two programs on every system call of every process. That costs every
 * process, so they go on only once a 32-bit program has run here, and stay on.
 */
static void ia32_watch(struct ebpf_source *src, const struct event *ev)
{
	if (src->ia32_enter || src->ia32_failed)
		return;
	src->ia32_enter = bpf_program__attach(src->skel->progs.handle__sys_enter_ia32);
	src->ia32_exit =
	    src->ia32_enter ? bpf_program__attach(src->skel->progs.handle__sys_exit_ia32) : NULL;
	if (!src->ia32_exit) {
		log_warn("cannot watch 32-bit processes' system calls: %s: their module mappings "
			 "are seen by the library layer only",
			 strerror(errno));
		bpf_link__destroy(src->ia32_enter);
		src->ia32_enter = NULL;
		src->ia32_failed = true;
		return;
	}
	log_info("a 32-bit program ran (pid %u): watching 32-bit system calls from now on",
		 ev->pid);
}

/* Decoded events: the source's own first, the others to the pipeline. */
static void source_event(const struct event *ev, void *ctx)
{
	struct ebpf_source *src = ctx;

	if (ev->kind == EVENT_LIBCRYPTO_MAPPED) {
		libcrypto_mapped(src, ev);
	} else if (ev->kind == EVENT_EXEC) {
		/* What only this source can tell about the program rides along with its exec. */
		struct exe_verdict v = exec_scan(src, ev);
		struct event told = *ev;

		if (ev->exec.ia32)
			ia32_watch(src, ev);
		told.exec.carries_openssl = v.carries_openssl;
		told.exec.nodejs = v.nodejs;
		src->on_event(&told, src->ctx);
	} else if (ev->kind == EVENT_EXIT && src->canary_pid &&
		   ev->pid == (uint32_t)src->canary_pid) {
		if (heartbeat_seen(&src->heartbeat, monotonic_ms()) == HEARTBEAT_RECOVERED)
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
	src->rb_pos = MAP_FAILED;
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
	probe_host_files(src);

	src->rb = ring_buffer__new(bpf_map__fd(src->skel->maps.events), handle_record, src, NULL);
	if (!src->rb) {
		err = -errno;
		*ret_error = "cannot set up the ring buffer";
		goto err_free;
	}
	/* The kernel lets any process that holds the map map these two pages read-only. */
	src->rb_pos_size = 2 * (size_t)sysconf(_SC_PAGESIZE);
	src->rb_pos = mmap(NULL, src->rb_pos_size, PROT_READ, MAP_SHARED,
			   bpf_map__fd(src->skel->maps.events), 0);
	if (src->rb_pos == MAP_FAILED)
		log_warn("cannot map the ring buffer's positions: %s: its fill is not reported",
			 strerror(errno));
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

int ebpf_source_trust_dir(struct ebpf_source *src, uint64_t dev, uint64_t ino, bool modules)
{
	return file_map_set(src->skel->maps.trusted_dirs, dev, ino,
			    modules ? SW_TRUSTED_DIR_MODULE : SW_TRUSTED_DIR_LIBRARY, BPF_ANY);
}

void ebpf_source_enforce_ready(struct ebpf_source *src)
{
	__atomic_store_n(&src->skel->bss->enforce_ready, 1, __ATOMIC_RELEASE);
}

int ebpf_source_trust_modules(struct ebpf_source *src, const struct ebpf_file_id *ids, size_t n)
{
	struct bpf_map *map = src->skel->maps.trusted_modules;
	struct file_key key, next, *cur = NULL;
	int err = 0;

	/* Forget what is no longer verified (upgraded, removed), then add what is. */
	while (bpf_map__get_next_key(map, cur, &next, sizeof(next)) == 0) {
		bool keep = false;

		for (size_t i = 0; i < n && !keep; i++) {
			struct file_key k = file_key_of(ids[i].dev, ids[i].ino);

			keep = k.dev == next.dev && k.ino == next.ino;
		}
		if (!keep && bpf_map__delete_elem(map, &next, sizeof(next), 0) == 0)
			continue; /* deleted: the next key follows the one before it */
		key = next;
		cur = &key;
	}
	for (size_t i = 0; i < n; i++) {
		struct file_key k = file_key_of(ids[i].dev, ids[i].ino);
		int64_t ctime_ns = ids[i].ctime_ns;

		if (bpf_map__update_elem(map, &k, sizeof(k), &ctime_ns, sizeof(ctime_ns),
					 BPF_ANY) &&
		    !err)
			err = -errno;
	}
	return err;
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

bool ebpf_source_alive(const struct ebpf_source *src)
{
	return heartbeat_ok(&src->heartbeat);
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

/* Bytes the kernel wrote and the reader has not consumed yet (records in flight included). */
static uint64_t ring_buffer_used(const struct ebpf_source *src)
{
	const unsigned long *consumer, *producer;
	unsigned long c, p;

	if (src->rb_pos == MAP_FAILED)
		return 0;
	consumer = src->rb_pos;
	producer = (const unsigned long *)((const char *)src->rb_pos + src->rb_pos_size / 2);
	/* Consumer first: it never passes the producer, so the difference cannot go negative. */
	c = __atomic_load_n(consumer, __ATOMIC_ACQUIRE);
	p = __atomic_load_n(producer, __ATOMIC_ACQUIRE);
	return p - c;
}

void ebpf_source_metrics(struct ebpf_source *src, struct metrics_snapshot *s)
{
	struct sw_counters c[SW_EVENT_KIND_MAX];
	uint64_t now = monotonic_ms();

	s->ebpf = true;
	s->n_events = 0;
	if (ebpf_source_counters(src, c) == 0)
		for (int k = 1; k < SW_EVENT_KIND_MAX && s->n_events < METRICS_MAX_EVENT_KINDS;
		     k++) {
			if (!kind_names[k])
				continue;
			s->events[s->n_events].kind = kind_names[k];
			s->events[s->n_events].seen = c[k].seen;
			s->events[s->n_events].sent = c[k].sent;
			s->events[s->n_events].dropped = c[k].dropped;
			s->n_events++;
		}
	s->ring_buffer_size_bytes = bpf_map__max_entries(src->skel->maps.events);
	/*
	 * More than its size: the positions were written behind our back (the consumer page is
	 * writable by anyone holding the map). The kernel then refuses every record: full.
	 */
	s->ring_buffer_used_bytes = ring_buffer_used(src);
	if (s->ring_buffer_used_bytes > s->ring_buffer_size_bytes)
		s->ring_buffer_used_bytes = s->ring_buffer_size_bytes;
	s->libcrypto_probes = (uint64_t)src->n_libcrypto;
	s->heartbeat_age_s = heartbeat_age_s(&src->heartbeat, now);
	s->heartbeat_ok = heartbeat_ok(&src->heartbeat);
}

void ebpf_source_close(struct ebpf_source *src)
{
	if (!src)
		return;
	if (src->rb_pos != MAP_FAILED)
		munmap(src->rb_pos, src->rb_pos_size);
	ring_buffer__free(src->rb);
	bpf_link__destroy(src->ia32_enter);
	bpf_link__destroy(src->ia32_exit);
	for (int i = 0; i < src->n_libcrypto; i++)
		probe_destroy(&src->libcrypto[i]);
	free(src->libcrypto);
	sowatch_bpf__destroy(src->skel);
	free(src);
}
