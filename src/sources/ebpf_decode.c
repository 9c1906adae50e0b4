// SPDX-License-Identifier: Apache-2.0
#include "sources/ebpf_decode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "sowatch_events.h"

#define TMPFS_MAGIC	0x01021994
#define RAMFS_MAGIC	0x858458f6
#define HUGETLBFS_MAGIC 0x958458f6

/*
 * Turn the kernel's leaf-first component list ("x.so\0lib\0usr\0") into "/usr/lib/x.so".
 * An empty list is "/". A component without its NUL (cut) still counts. A list the kernel
 * cut short (path_flags & SW_PATH_TRUNCATED: the root-most components are missing) is marked
 * as such: ".../lib/x.so".
 */
static char *path_from_components(const uint8_t *data, size_t len, uint16_t path_flags)
{
	bool truncated = path_flags & SW_PATH_TRUNCATED;
	size_t n = 0, total = 2 + (truncated ? strlen(PATH_TRUNCATED_MARK) : 0);
	const char **parts;
	char *path, *p;

	for (size_t off = 0; off < len; n++) {
		size_t l = strnlen((const char *)data + off, len - off);

		total += l + 1;
		off += l + 1;
	}
	parts = calloc(n ? n : 1, sizeof(*parts));
	path = malloc(total);
	if (!parts || !path) {
		free(parts);
		free(path);
		return NULL;
	}
	n = 0;
	for (size_t off = 0; off < len;) {
		parts[n++] = (const char *)data + off;
		off += strnlen((const char *)data + off, len - off) + 1;
	}
	p = path;
	if (truncated)
		p = stpcpy(p, PATH_TRUNCATED_MARK);
	if (n == 0)
		*p++ = '/';
	while (n--) {
		const uint8_t *part = (const uint8_t *)parts[n];
		size_t l = strnlen(parts[n], len - (size_t)(part - data));

		*p++ = '/';
		memcpy(p, part, l);
		p += l;
	}
	*p = '\0';
	free(parts);
	return path;
}

/* A kernel dev_t (major << 20 | minor) as user space's */
static dev_t kernel_dev(uint32_t dev)
{
	return makedev(dev >> 20, dev & ((1U << 20) - 1));
}

/* The path is filled by the caller (it owns it). */
static void file_ref_fill(struct file_ref *ref, const struct sw_file *f, char *path)
{
	bool in_memory = f->fs_magic == TMPFS_MAGIC || f->fs_magic == RAMFS_MAGIC ||
			 f->fs_magic == HUGETLBFS_MAGIC;

	memset(ref, 0, sizeof(*ref));
	ref->path = path;
	ref->dev = kernel_dev(f->dev);
	ref->ino = f->ino;
	ref->real_dev = kernel_dev(f->real_dev);
	ref->real_ino = f->real_ino;
	ref->ctime_ns = f->ctime_ns;
	ref->size = f->size;
	ref->mode = f->mode;
	ref->uid = f->uid;
	ref->on_tmpfs = in_memory;
	ref->memfd = in_memory && f->nlink == 0 && path && strncmp(path, "/memfd:", 7) == 0;
	ref->deleted = f->nlink == 0 && !ref->memfd;
	ref->path_truncated = f->path_flags & SW_PATH_TRUNCATED;
	ref->path_unreachable = f->path_flags & SW_PATH_UNREACHABLE;
}

/*
 * Split NUL-separated strings into out[] (room for len + 1 entries), over a NUL-terminated
 * copy; the last string may lack its NUL (cut by the capture limit). Returns the count.
 */
static size_t split_strings(const uint8_t *data, size_t len, const char **out, char *copy)
{
	size_t n = 0;

	memcpy(copy, data, len);
	copy[len] = '\0';
	for (size_t off = 0; off < len;) {
		size_t l = strnlen(copy + off, len - off);

		out[n++] = copy + off;
		off += l + 1;
	}
	return n;
}

/* An exec record ends where its data does: `size` bytes, the fixed part checked already. */
static int decode_exec(struct ebpf_decoder *dec, const struct sw_exec_event *e, size_t size,
		       struct event *ev)
{
	size_t argv_len = e->argv_len, env_len = e->env_len;
	size_t exe_len = e->exe.path_len, cwd_len = e->cwd_len;
	size_t data_len = size - offsetof(struct sw_exec_event, data);
	const char **argv = NULL, **envp = NULL;
	char *argv_copy = NULL, *env_copy = NULL, *exe_path = NULL, *cwd = NULL;
	size_t argc, envc = 0, all_env;
	int err = -ENOMEM;

	if (argv_len >= SW_ARGV_MAX || env_len >= SW_ENV_MAX || exe_len > SW_PATH_MAX ||
	    cwd_len > SW_PATH_MAX || argv_len + env_len + exe_len + cwd_len > data_len ||
	    argv_len + env_len + exe_len + cwd_len > sizeof(e->data))
		return -EBADMSG;

	/* Worst case: every byte a separate empty string. */
	argv = calloc(argv_len + 1, sizeof(*argv));
	envp = calloc(env_len + 1, sizeof(*envp));
	argv_copy = malloc(argv_len + 1);
	env_copy = malloc(env_len + 1);
	exe_path = path_from_components(e->data + argv_len + env_len, exe_len, e->exe.path_flags);
	cwd = path_from_components(e->data + argv_len + env_len + exe_len, cwd_len, e->cwd_flags);
	if (!argv || !envp || !argv_copy || !env_copy || !exe_path || !cwd)
		goto out_free;

	argc = split_strings(e->data, argv_len, argv, argv_copy);
	all_env = split_strings(e->data + argv_len, env_len, envp, env_copy);
	for (size_t i = 0; i < all_env; i++)
		if (env_is_of_interest(envp[i], strlen(envp[i])))
			envp[envc++] = envp[i];

	ev->kind = EVENT_EXEC;
	ev->exec.ppid = e->ppid;
	ev->exec.uid = e->uid;
	ev->exec.gid = e->gid;
	memcpy(ev->exec.comm, e->comm, COMM_LEN);
	ev->exec.comm[COMM_LEN - 1] = '\0';
	if (e->exe.ino)
		file_ref_fill(&ev->exec.exe, &e->exe, exe_path);
	ev->exec.cwd = e->cwd_flags ? NULL : cwd; /* a partial cwd would mislead */
	ev->exec.argv = argv;
	ev->exec.argc = argc;
	ev->exec.argv_truncated = e->flags & (SW_EXEC_ARGV_TRUNCATED | SW_EXEC_ARGV_UNREADABLE);
	ev->exec.env = envp;
	ev->exec.envc = envc;
	ev->exec.env_truncated = e->flags & (SW_EXEC_ENV_TRUNCATED | SW_EXEC_ENV_UNREADABLE);
	ev->exec.host_mount_ns = e->flags & SW_EXEC_HOST_MOUNT_NS;
	ev->exec.ia32 = e->flags & SW_EXEC_IA32;
	ev->exec.cgroup_id = e->cgroup_id;
	ev->exec.mount_ns = e->mnt_ns;
	ev->exec.start_boottime_ns = e->start_time_ns;
	dec->on_event(ev, dec->ctx);
	err = 0;
out_free:
	free(argv);
	free(envp);
	free(argv_copy);
	free(env_copy);
	free(exe_path);
	free(cwd);
	return err;
}

/* The kernel's judgement, in words (enum sw_kill_reason) */
static const char *kill_reason_text(uint32_t reason)
{
	switch (reason) {
	case SW_KILL_NOT_ROOT_OWNED:
		return "the file is not owned by root";
	case SW_KILL_WRITABLE:
		return "the file is writable by group or others";
	case SW_KILL_UNLINKED:
		return "the file has no name left (deleted, or a memfd)";
	case SW_KILL_DIR_NOT_TRUSTED:
		return "the directory the file really lies in is not one of the trusted "
		       "directories (a bind mount or symlink does not move a file out of its "
		       "own directory)";
	case SW_KILL_NOT_MODULE_DIR:
		return "a module must come from OpenSSL's ENGINESDIR or MODULESDIR, and this "
		       "one does not";
	case SW_KILL_ADDED_LIBRARY:
		return "the library was added to the container (enforce severity low)";
	case SW_KILL_MODULE_NOT_VERIFIED:
		return "the module lies in OpenSSL's module directory but is not one of the "
		       "files sowatch verified there (as the package installed it)";
	default:
		return "a reason this sowatch does not know (a newer BPF object?)";
	}
}

/* What enforce mode did at this mapping, and why; nothing when it did not look at it. */
static struct enforcement enforcement_of(const struct sw_map_event *e)
{
	struct enforcement kill = { 0 };

	if (e->flags & SW_MAP_KILLED) {
		kill.killed = true;
		kill.added_library = e->kill_reason == SW_KILL_ADDED_LIBRARY;
		kill.reason = kill_reason_text(e->kill_reason);
		kill.dir_dev = kernel_dev(e->dir_dev);
		kill.dir_ino = e->dir_ino;
	} else if (e->flags & SW_MAP_KILL_FAILED) {
		kill.not_possible =
		    "the kernel judged the file untrusted but could not send the process SIGKILL";
		kill.reason = kill_reason_text(e->kill_reason);
	} else if (e->flags & SW_MAP_ENFORCE_JUDGED) {
		kill.not_possible =
		    "the kernel found nothing wrong with the file when it was mapped (owner, mode, "
		    "links, the directory it really lies in, and for a module, its identity among "
		    "the verified ones); what only user space can check about a library (its "
		    "content against the package's record, its identity against the host's file "
		    "at that path) comes too late to stop it";
	} else if (e->flags & SW_MAP_ENFORCE_SCOPE) {
		kill.not_possible =
		    "the mapping was made outside DSO_load() and OpenSSL's engine and provider "
		    "calls, in a program the kernel does not know as OpenSSL (the library layer's "
		    "probe was not on yet, or the program carries OpenSSL without its symbols), "
		    "or among the libraries of an openssl binary in a container (its image's, "
		    "which the kernel cannot tell from others): the kernel acts only inside those";
	}
	return kill;
}

static int decode_map(struct ebpf_decoder *dec, const struct sw_map_event *e, enum event_kind kind,
		      struct event *ev)
{
	char *path;

	if (e->file.path_len > SW_PATH_MAX)
		return -EBADMSG;
	path = path_from_components(e->data, e->file.path_len, e->file.path_flags);
	if (!path)
		return -ENOMEM;
	ev->kind = kind;
	file_ref_fill(&ev->map.file, &e->file, path);
	ev->map.start = e->vm_start;
	ev->map.end = e->vm_end;
	ev->map.pgoff = e->pgoff;
	ev->map.via_mprotect = e->flags & SW_MAP_MPROTECT;
	ev->map.in_module_load = e->flags & SW_MAP_IN_DSO_LOAD;
	ev->map.in_openssl_call = e->flags & SW_MAP_IN_OPENSSL_CALL;
	ev->map.in_container = e->flags & SW_MAP_IN_CONTAINER;
	ev->map.added = e->added;
	ev->map.kill = enforcement_of(e);
	dec->on_event(ev, dec->ctx);
	free(path);
	return 0;
}

static int decode_dso_load(struct ebpf_decoder *dec, const struct sw_dso_load_event *e,
			   struct event *ev)
{
	char name[SW_DSO_NAME_MAX + 1];

	/* name_len counts the NUL; 0 when the kernel could not read the name */
	if (e->name_len > SW_DSO_NAME_MAX)
		return -EBADMSG;
	memcpy(name, e->data, e->name_len);
	name[e->name_len] = '\0';
	ev->kind = EVENT_MODULE_LOAD;
	ev->module_load.name = name;
	dec->on_event(ev, dec->ctx);
	return 0;
}

/* The smallest record of each kind: an exec record is cut after its last region. */
static const size_t record_size[SW_EVENT_KIND_MAX] = {
	[SW_EVENT_EXEC] = offsetof(struct sw_exec_event, data),
	[SW_EVENT_FORK] = sizeof(struct sw_fork_event),
	[SW_EVENT_EXIT] = sizeof(struct sw_exit_event),
	[SW_EVENT_MAP] = sizeof(struct sw_map_event),
	[SW_EVENT_DSO_LOAD] = sizeof(struct sw_dso_load_event),
	[SW_EVENT_DSO_LOAD_RETURN] = sizeof(struct sw_dso_load_return_event),
	[SW_EVENT_LIBCRYPTO_MAPPED] = sizeof(struct sw_map_event),
};

int ebpf_decode_record(struct ebpf_decoder *dec, const void *data, size_t size)
{
	const struct sw_event_header *hdr = data;
	struct event ev = { 0 };
	int err = 0;

	if (size < sizeof(*hdr) || hdr->kind == 0 || hdr->kind >= SW_EVENT_KIND_MAX ||
	    size < record_size[hdr->kind]) {
		dec->malformed++;
		return -EBADMSG;
	}
	ev.source = "ebpf";
	ev.time_ns = hdr->time_ns + dec->boot_to_realtime_ns;
	ev.pid = hdr->tgid;
	ev.tid = hdr->tid;
	ev.drops_before = hdr->drops_before;

	switch (hdr->kind) {
	case SW_EVENT_EXEC:
		err = decode_exec(dec, data, size, &ev);
		break;
	case SW_EVENT_FORK: {
		const struct sw_fork_event *e = data;

		ev.kind = EVENT_FORK;
		ev.fork.ppid = e->ppid;
		ev.fork.start_boottime_ns = e->start_time_ns;
		dec->on_event(&ev, dec->ctx);
		break;
	}
	case SW_EVENT_EXIT: {
		const struct sw_exit_event *e = data;

		ev.kind = EVENT_EXIT;
		ev.exit.exit_code = e->exit_code;
		dec->on_event(&ev, dec->ctx);
		break;
	}
	case SW_EVENT_MAP:
		err = decode_map(dec, data, EVENT_MAP, &ev);
		break;
	case SW_EVENT_LIBCRYPTO_MAPPED:
		err = decode_map(dec, data, EVENT_LIBCRYPTO_MAPPED, &ev);
		break;
	case SW_EVENT_DSO_LOAD:
		err = decode_dso_load(dec, data, &ev);
		break;
	case SW_EVENT_DSO_LOAD_RETURN: {
		const struct sw_dso_load_return_event *e = data;

		ev.kind = EVENT_MODULE_LOAD_DONE;
		ev.module_load_done.ok = e->ret != 0;
		dec->on_event(&ev, dec->ctx);
		break;
	}
	}
	if (err == -EBADMSG)
		dec->malformed++;
	return err;
}
