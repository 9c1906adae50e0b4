// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sowatch's kernel side. Tracepoints and uprobes only: this is what every kernel we target
 * allows (no fentry, no BPF-LSM, no kprobes).
 *
 *   sched_process_exec      -> SW_EVENT_EXEC  (every exec: argv and env read from the new image)
 *   sched_process_fork      -> SW_EVENT_FORK  (new processes, not threads)
 *   sched_process_exit      -> SW_EVENT_EXIT  (the thread group leader)
 *   sys_{enter,exit}_mmap,
 *   sys_{enter,exit}_mprotect -> SW_EVENT_MAP (a file became executable; processes of
 *                                interest only)
 *   uprobe DSO_load         -> SW_EVENT_DSO_LOAD (libcrypto asked to load a module)
 *   uretprobe DSO_load      -> SW_EVENT_DSO_LOAD_RETURN
 *
 * Mapping events are the expensive ones on a busy node, so they are produced only for processes
 * in the `interest` map: those running a known OpenSSL binary and those whose libcrypto called
 * DSO_load(). The mapped file is identified after the call returns, from the VMA itself
 * (bpf_find_vma under the mmap lock), never from the fd number passed at entry.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sowatch_events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PROT_EXEC	      0x4
#define VM_EXEC		      0x4
#define MAX_ERRNO	      4095
#define TMPFS_MAGIC	      0x01021994
#define RAMFS_MAGIC	      0x858458f6
#define HUGETLBFS_MAGIC	      0x958458f6
#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* Set by user space before load. */
const volatile __u32 self_tgid = 0;
/* The host's mount namespace (its inode number): a process elsewhere is in a container. */
const volatile __u32 host_mnt_ns = 0;
/*
 * Enforce mode: a process whose libcrypto maps code from a file outside the trusted
 * directories is killed at the mmap's return, before the dynamic loader can run the file's
 * constructors.
 */
const volatile bool enforce = false;
/* Where enforce mode acts: enum sw_enforce_where */
const volatile __u32 enforce_where = SW_ENFORCE_ALL;
/*
 * Enforce severity low: also kill a container process that maps an added library (the
 * overlay's writable layer, memory, a deleted file), as Added Library Loaded reports.
 */
const volatile bool enforce_added = false;
/* FMODE_BACKING of this kernel (it moved between releases); 0 before backing files existed. */
const volatile __u32 fmode_backing = 0;

/*
 * 8 MiB: at the fastest spawn storm a 2-CPU machine reaches (about 3600 execs a second of a
 * few KiB each) that is about a second of events, while the reader drains it at least every
 * SW_DRAIN_PERIOD_MS; execs with the largest argv and environment (25 KiB) fill it ten times
 * faster. Its pages are mapped into sowatch twice, so it is most of sowatch's RSS.
 */
#define EVENTS_RING_BYTES (8 << 20)
/* Unread bytes past which every event wakes the reader: it is late, the buffer must not fill. */
#define EVENTS_WAKE_BACKLOG (EVENTS_RING_BYTES / 8)
/*
 * Unread bytes past which only urgent events are written, the others dropped (and counted):
 * a reader stalled by an exec storm still gets the module loads.
 */
#define EVENTS_URGENT_ONLY (EVENTS_RING_BYTES / 8 * 7)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EVENTS_RING_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SW_EVENT_KIND_MAX);
	__type(key, __u32);
	__type(value, struct sw_counters);
} counters SEC(".maps");

/* tgid -> enum sw_interest bits */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} interest SEC(".maps");

struct file_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

/* (dev, inode) of executables user space knows to be OpenSSL binaries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct file_key);
	__type(value, __u8);
} openssl_exes SEC(".maps");

/*
 * (real dev, real inode) of the files whose DSO_load() has (or is getting) a uprobe, or that
 * user space found has none: a libcrypto mapped for the first time, a container image's own
 * for one, is reported once.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct file_key);
	__type(value, __u8);
} probed_files SEC(".maps");

/*
 * (real dev, real inode) of the big executables user space has read for OpenSSL linked in:
 * the exec of any other wakes it at once (see SW_EXE_SCAN_MIN_SIZE). Forgetting one costs a
 * wake-up, never a miss.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct file_key);
	__type(value, __u8);
} exes_scanned SEC(".maps");

/* tid -> what an mmap/mprotect call in flight asked for, between syscall entry and exit */
struct pending_map {
	__u64 start; /* mprotect: the range start; mmap: unused (the result is the address) */
	__u32 flags;
	__u32 interest;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending_map);
} pending_maps SEC(".maps");

/*
 * tid -> nesting depth of calls in flight into OpenSSL's engine and provider API (see
 * SW_MAP_IN_OPENSSL_CALL). Rare in most programs; calls_in_flight counts the threads inside
 * one, so that most mmaps look at that number only.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} openssl_calls SEC(".maps");

__u64 calls_in_flight = 0;

/* A thread's DSO_load() calls in flight */
struct dso_call {
	__u32 depth;	     /* nesting depth */
	__u32 module_mapped; /* the innermost call mapped its module (SW_MAP_DSO_MODULE) */
};

/* tid -> its DSO_load() calls in flight */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct dso_call);
} dso_loading SEC(".maps");

/*
 * Every drop of every kind, on all CPUs (the per-CPU counters cannot be summed from here):
 * each event's header carries the figure (drops_before). Reading it is one plain load from
 * .bss, no map lookup, on every event; only a drop, rare, pays for the atomic add.
 */
__u64 events_dropped = 0;

enum count_what { COUNT_SEEN, COUNT_SENT, COUNT_DROPPED };

static __always_inline void count(__u32 kind, enum count_what what)
{
	struct sw_counters *c;

	/* A kill's record is a map event, whose drop is counted already. */
	if (what == COUNT_DROPPED && kind != SW_EVENT_KILL)
		__sync_fetch_and_add(&events_dropped, 1);
	c = bpf_map_lookup_elem(&counters, &kind);
	if (!c)
		return;
	if (what == COUNT_SEEN)
		c->seen++;
	else if (what == COUNT_SENT)
		c->sent++;
	else
		c->dropped++;
}

/*
 * A full interest map would silently blind the mapping hooks: count a failed update as a
 * dropped mapping event, so the loss shows in the log and in findings.
 */
static __always_inline void interest_set(__u32 tgid, __u32 want)
{
	if (bpf_map_update_elem(&interest, &tgid, &want, BPF_ANY))
		count(SW_EVENT_MAP, COUNT_DROPPED);
}

/* A thread that execs or exits inside an OpenSSL call never returns from it. */
static __always_inline void openssl_call_forget(__u32 tid)
{
	if (bpf_map_delete_elem(&openssl_calls, &tid) == 0)
		__sync_fetch_and_sub(&calls_in_flight, 1);
}

static __always_inline void header_fill(struct sw_event_header *hdr, __u32 kind, __u32 size,
					__u32 tgid, __u32 tid)
{
	hdr->kind = kind;
	hdr->size = size;
	hdr->time_ns = bpf_ktime_get_boot_ns();
	hdr->tgid = tgid;
	hdr->tid = tid;
	hdr->drops_before = *(volatile __u64 *)&events_dropped;
}

/*
 * Waking the reader costs the CPU that makes the event an interrupt and a cross-CPU wake-up,
 * about 10 us in a virtual machine: more than the rest of an exec's handling. An event that
 * can lead to a finding (a module, a process of interest) wakes the reader at once, and it
 * reads everything before it in order; the rest wait for its next drain, at most
 * SW_DRAIN_PERIOD_MS later, unless the buffer fills up faster than that.
 */
static __always_inline __u64 wakeup_flags(bool urgent)
{
	if (urgent || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= EVENTS_WAKE_BACKLOG)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/*
 * Ring buffer space for a fixed-size event. This, event_submit() and event_output() are the
 * only writers: an event that cannot be written is counted as dropped, never lost silently.
 */
static __always_inline bool room_for(bool urgent)
{
	return urgent || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < EVENTS_URGENT_ONLY;
}

static __always_inline void *event_reserve(__u32 kind, __u32 size, __u32 tgid, __u32 tid,
					   bool urgent)
{
	struct sw_event_header *hdr = NULL;

	count(kind, COUNT_SEEN);
	if (room_for(urgent))
		hdr = bpf_ringbuf_reserve(&events, size, 0);
	if (!hdr) {
		count(kind, COUNT_DROPPED);
		return NULL;
	}
	header_fill(hdr, kind, size, tgid, tid);
	return hdr;
}

static __always_inline void event_submit(void *event, __u32 kind, bool urgent)
{
	bpf_ringbuf_submit(event, wakeup_flags(urgent));
	count(kind, COUNT_SENT);
}

/* Copy an event built elsewhere (hdr filled, hdr->size its length) into the ring buffer. */
static __always_inline void event_output(struct sw_event_header *hdr, __u32 size, bool urgent)
{
	count(hdr->kind, COUNT_SEEN);
	if (!room_for(urgent) || bpf_ringbuf_output(&events, hdr, size, wakeup_flags(urgent)))
		count(hdr->kind, COUNT_DROPPED);
	else
		count(hdr->kind, COUNT_SENT);
}

#include "file.bpf.h"

/* x86's 32-bit user code segment selector (__USER32_CS): the task runs in compat mode */
#define USER32_CS 0x23

static __always_inline bool regs_ia32(struct pt_regs *regs)
{
	return (BPF_CORE_READ(regs, cs) & 0xffff) == USER32_CS;
}

static __always_inline bool in_container(struct task_struct *task)
{
	return host_mnt_ns && BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum) != host_mnt_ns;
}

/*
 * Why a library mapped by a container's process may have been added to the container rather
 * than come with its image; 0 when it plainly came with the image.
 */
static __always_inline __u32 added_reasons(struct task_struct *task, struct file *file)
{
	struct inode *real = BPF_CORE_READ(file, f_inode);
	__u32 magic = BPF_CORE_READ(real, i_sb, s_magic);
	__u32 why = 0;

	if (magic == TMPFS_MAGIC || magic == RAMFS_MAGIC || magic == HUGETLBFS_MAGIC)
		why |= SW_ADDED_IN_MEMORY;
	if (BPF_CORE_READ(real, __i_nlink) == 0)
		why |= SW_ADDED_DELETED;
	if (file_is_backing(file) && bpf_core_type_exists(struct ovl_fs)) {
		struct path user = file_user_path(file);
		struct super_block *sb = BPF_CORE_READ(user.dentry, d_sb);

		if (BPF_CORE_READ(sb, s_magic) == OVERLAYFS_SUPER_MAGIC) {
			struct ovl_fs *ofs = BPF_CORE_READ(sb, s_fs_info);
			/* layers[0] is the upper (writable) layer, when there is one */
			struct vfsmount *upper = BPF_CORE_READ(ofs, layers, mnt);

			if (upper && upper == BPF_CORE_READ(file, f_path.mnt))
				why |= SW_ADDED_UPPER_LAYER;
		}
	}
	if (!(why & (SW_ADDED_UPPER_LAYER | SW_ADDED_IN_MEMORY))) {
		struct path user = file_user_path(file);
		struct super_block *root_sb = BPF_CORE_READ(task, fs, root.mnt, mnt_sb);

		if (BPF_CORE_READ(user.mnt, mnt_sb) != root_sb)
			why |= SW_ADDED_OUTSIDE_ROOT;
	}
	return why;
}

/* An exec event is built here, then only its used part is copied into the ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sw_exec_event);
} exec_scratch SEC(".maps");

/* sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) */
SEC("tp/sched/sched_process_exec")
int handle__sched_process_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct sw_exec_event *e;
	struct mm_struct *mm;
	struct file *exe;
	unsigned long start, end, len;
	__u32 tid = (__u32)pid_tgid;
	__u32 argv_len, env_len, exe_len = 0, cwd_len, size, want = 0, zero = 0;
	struct file_key key = {};
	bool new_program = false;

	if (tgid == self_tgid)
		return 0;
	e = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!e)
		return 0;
	header_fill(&e->hdr, SW_EVENT_EXEC, 0, tgid, tid);

	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->gid = bpf_get_current_uid_gid() >> 32;
	e->flags = in_container(task) ? 0 : SW_EXEC_HOST_MOUNT_NS;
	/* The new image's first return to user space: compat mode for a 32-bit program */
	if (regs_ia32((struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf())))
		e->flags |= SW_EXEC_IA32;
	e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->start_time_ns = BPF_CORE_READ(task, start_boottime);
	bpf_get_current_comm(e->comm, sizeof(e->comm));

	mm = BPF_CORE_READ(task, mm);
	start = BPF_CORE_READ(mm, arg_start);
	end = BPF_CORE_READ(mm, arg_end);
	len = end > start ? end - start : 0;
	e->argv_full_len = len;
	if (len > SW_ARGV_MAX - 1) {
		len = SW_ARGV_MAX - 1;
		e->flags |= SW_EXEC_ARGV_TRUNCATED;
	}
	if (bpf_probe_read_user(e->data, len & (SW_ARGV_MAX - 1), (void *)start)) {
		e->flags |= SW_EXEC_ARGV_UNREADABLE;
		len = 0;
	}
	argv_len = len & (SW_ARGV_MAX - 1);
	e->argv_len = argv_len;

	start = BPF_CORE_READ(mm, env_start);
	end = BPF_CORE_READ(mm, env_end);
	len = end > start ? end - start : 0;
	e->env_full_len = len;
	if (len > SW_ENV_MAX - 1) {
		len = SW_ENV_MAX - 1;
		e->flags |= SW_EXEC_ENV_TRUNCATED;
	}
	if (bpf_probe_read_user(e->data + argv_len, len & (SW_ENV_MAX - 1), (void *)start)) {
		e->flags |= SW_EXEC_ENV_UNREADABLE;
		len = 0;
	}
	env_len = len & (SW_ENV_MAX - 1);
	e->env_len = env_len;

	exe = BPF_CORE_READ(mm, exe_file);
	if (exe) {
		__u32 off = (argv_len + env_len) & (SW_ARGV_MAX + SW_ENV_MAX - 1);

		exe_len = file_describe(&e->exe, e->data + off, exe);
		key.ino = e->exe.ino;
		key.dev = e->exe.dev;
		if (bpf_map_lookup_elem(&openssl_exes, &key))
			want = SW_INTEREST_OPENSSL_EXE;
		key.ino = e->exe.real_ino;
		key.dev = e->exe.real_dev;
		new_program = e->exe.size >= SW_EXE_SCAN_MIN_SIZE &&
			      !bpf_map_lookup_elem(&exes_scanned, &key);
	} else {
		__builtin_memset(&e->exe, 0, sizeof(e->exe));
	}
	{
		/* Relative module and config paths in argv are relative to this. */
		__u32 off = argv_len + env_len + exe_len; /* each bounded, so is the sum */
		struct fs_struct *fs = BPF_CORE_READ(task, fs);

		e->cwd_flags = SW_PATH_UNREACHABLE;
		cwd_len = path_write(e->data + off, BPF_CORE_READ(fs, pwd.dentry),
				     BPF_CORE_READ(fs, pwd.mnt), &e->cwd_flags);
		e->cwd_len = cwd_len;
		size = offsetof(struct sw_exec_event, data) + off + cwd_len;
	}
	if (size > sizeof(*e))
		size = sizeof(*e);
	e->hdr.size = size;
	event_output(&e->hdr, size, want != 0 || new_program || (e->flags & SW_EXEC_IA32));

	/*
	 * A new image starts with a clean slate: only what it is decides interest. A module
	 * constructor that execs never returns from DSO_load(): forget that call too.
	 */
	if (want)
		interest_set(tgid, want);
	else
		bpf_map_delete_elem(&interest, &tgid);
	bpf_map_delete_elem(&dso_loading, &tid);
	openssl_call_forget(tid);
	return 0;
}

/* sched_process_fork(struct task_struct *parent, struct task_struct *child) */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(handle__sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 tgid = BPF_CORE_READ(child, tgid);
	__u32 pid = BPF_CORE_READ(child, pid);
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	struct sw_fork_event *e;
	__u32 *want;

	if (pid != tgid || ptgid == self_tgid)
		return 0; /* a new thread, not a new process */

	want = bpf_map_lookup_elem(&interest, &ptgid);
	if (want)
		interest_set(tgid, *want);

	e = event_reserve(SW_EVENT_FORK, sizeof(*e), tgid, pid, want != NULL);
	if (!e)
		return 0;
	e->ppid = ptgid;
	e->pad = 0;
	e->start_time_ns = BPF_CORE_READ(child, start_boottime);
	event_submit(e, SW_EVENT_FORK, want != NULL);
	return 0;
}

/* sched_process_exit(struct task_struct *p, ...): once per exiting thread */
SEC("tp/sched/sched_process_exit")
int handle__sched_process_exit(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u32 tid = (__u32)pid_tgid;
	struct sw_exit_event *e;
	bool urgent;

	bpf_map_delete_elem(&dso_loading, &tid);
	bpf_map_delete_elem(&pending_maps, &tid);
	openssl_call_forget(tid);
	/*
	 * The process is gone when its last thread goes, which need not be the leader (a main
	 * thread may pthread_exit() first). do_exit() drops signal->live before this tracepoint.
	 */
	if (BPF_CORE_READ(task, signal, live.counter) != 0 || tgid == self_tgid)
		return 0;
	/*
	 * A process of interest's exit can settle an attempt: report it now. So is sowatch's own
	 * heartbeat canary's: a flood of other events must not pass for detached programs (and,
	 * under systemd, starve the watchdog).
	 */
	urgent = bpf_map_delete_elem(&interest, &tgid) == 0 ||
		 BPF_CORE_READ(task, real_parent, tgid) == self_tgid;

	e = event_reserve(SW_EVENT_EXIT, sizeof(*e), tgid, tid, urgent);
	if (!e)
		return 0;
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->pad = 0;
	event_submit(e, SW_EVENT_EXIT, urgent);
	return 0;
}

#include "enforce.bpf.h"

/* Whether the thread is inside one of OpenSSL's engine or provider calls. */
static __always_inline bool in_openssl_call(__u32 tid)
{
	__u32 *depth;

	if (!calls_in_flight)
		return false;
	depth = bpf_map_lookup_elem(&openssl_calls, &tid);
	return depth && *depth; /* read: the verifier refuses an OR of two pointers */
}

/* Remember an exec-granting call of a process of interest until its syscall returns. */
static __always_inline void map_pending(__u64 start, __u32 flags)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u32 tid = (__u32)pid_tgid;
	struct pending_map p = { .start = start, .flags = flags };
	__u32 *want = bpf_map_lookup_elem(&interest, &tgid);
	bool in_call = in_openssl_call(tid);

	/*
	 * Container processes are looked at too, for libraries added to the container: their
	 * file mappings only (mprotect there is mostly JITs on anonymous memory).
	 */
	if (!(flags & SW_MAP_MPROTECT) &&
	    in_container((struct task_struct *)bpf_get_current_task()))
		p.flags |= SW_MAP_IN_CONTAINER;
	else if (!want && !(flags & SW_MAP_LIBCRYPTO) && !in_call)
		return;
	if (in_call)
		p.flags |= SW_MAP_IN_OPENSSL_CALL;
	p.interest = want ? *want : 0;
	if (bpf_map_lookup_elem(&dso_loading, &tid))
		p.flags |= SW_MAP_IN_DSO_LOAD;
	if (bpf_map_update_elem(&pending_maps, &tid, &p, BPF_ANY))
		count(SW_EVENT_MAP, COUNT_DROPPED);
}

struct vma_found {
	struct file *file;
	__u64 vm_start;
	__u64 vm_end;
	__u64 pgoff;
	__u64 vm_flags;
};

static long vma_found_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_found *found = data;

	found->file = vma->vm_file;
	found->vm_start = vma->vm_start;
	found->vm_end = vma->vm_end;
	found->pgoff = vma->vm_pgoff;
	found->vm_flags = vma->vm_flags;
	return 0;
}

/* Returns false when the ring buffer had no room (counted as a drop). */
static __always_inline bool map_event_send(__u32 kind, __u32 tgid, __u32 tid,
					   const struct vma_found *found, __u32 flags, __u32 want,
					   __u32 added, __u32 kill_reason,
					   const struct file_key *dir)
{
	/*
	 * A module's mapping, a kill, an added library or a new libcrypto is wanted now; an
	 * OpenSSL process's own libraries can wait for the next drain.
	 */
	bool urgent = kind == SW_EVENT_LIBCRYPTO_MAPPED || added ||
		      (flags & (SW_MAP_IN_DSO_LOAD | SW_MAP_IN_OPENSSL_CALL | SW_MAP_KILLED));
	struct sw_map_event *e = event_reserve(kind, sizeof(*e), tgid, tid, urgent);

	if (!e)
		return false;
	e->vm_start = found->vm_start;
	e->vm_end = found->vm_end;
	e->pgoff = found->pgoff;
	e->flags = flags;
	e->interest = want;
	e->added = added;
	e->kill_reason = kill_reason;
	e->dir_ino = dir ? dir->ino : 0;
	e->dir_dev = dir ? dir->dev : 0;
	e->pad = 0;
	file_describe(&e->file, e->data, found->file);
	event_submit(e, kind, urgent);
	return true;
}

/*
 * A libcrypto file mapped for the first time: user space attaches the library layer's
 * uprobes to it. Said once per file; if the event cannot be sent, the next mapping says it.
 */
static __always_inline void libcrypto_first_mapping(__u32 tgid, __u32 tid,
						    const struct vma_found *found, __u32 flags)
{
	struct file *file = found->file;
	struct inode *real = BPF_CORE_READ(file, f_inode);
	struct file_key key = {};
	__u8 one = 1;

	/*
	 * Only files a user could not have planted: anyone can name a file libcrypto.so.N, and
	 * each probed file costs sowatch fds and an entry of a bounded map.
	 */
	if (BPF_CORE_READ(real, i_uid.val) != 0 || (BPF_CORE_READ(real, i_mode) & 022))
		return;
	key.ino = BPF_CORE_READ(real, i_ino);
	key.dev = BPF_CORE_READ(real, i_sb, s_dev);
	if (bpf_map_update_elem(&probed_files, &key, &one, BPF_NOEXIST))
		return; /* known, or the map is full */
	if (!map_event_send(SW_EVENT_LIBCRYPTO_MAPPED, tgid, tid, found, flags, 0, 0, SW_KILL_NONE,
			    NULL))
		bpf_map_delete_elem(&probed_files, &key);
}

/*
 * Whether this executable mapping, inside DSO_load(), is the call's first: the module itself.
 * Asked once per mapping; the call's later mappings are its libraries.
 */
static __always_inline bool dso_module_mapping(__u32 tid)
{
	struct dso_call *call = bpf_map_lookup_elem(&dso_loading, &tid);

	if (!call || call->module_mapped)
		return false;
	call->module_mapped = 1; /* per-thread: no other writer */
	return true;
}

/* At syscall exit: if `addr` now lies in an executable file mapping, say which file. */
static __always_inline void map_report(__u64 addr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u32 tid = (__u32)pid_tgid;
	struct pending_map *p = bpf_map_lookup_elem(&pending_maps, &tid);
	struct vma_found found = {};
	struct file_key dir = {};
	__u32 flags, want, added = 0, kill_reason;

	if (!p)
		return;
	flags = p->flags;
	want = p->interest;
	bpf_map_delete_elem(&pending_maps, &tid);

	if (bpf_find_vma(bpf_get_current_task_btf(), addr, vma_found_cb, &found, 0)) {
		count(SW_EVENT_MAP, COUNT_DROPPED); /* the mmap lock was contended: say so */
		/* Whatever it was, the call's next mappings are not its module. */
		if (flags & SW_MAP_IN_DSO_LOAD)
			dso_module_mapping(tid);
		return;
	}
	if (!found.file || !(found.vm_flags & VM_EXEC))
		return;
	if ((flags & SW_MAP_IN_DSO_LOAD) && dso_module_mapping(tid))
		flags |= SW_MAP_DSO_MODULE;
	if (flags & SW_MAP_LIBCRYPTO)
		libcrypto_first_mapping(tgid, tid, &found, flags);
	if (flags & SW_MAP_IN_CONTAINER)
		added = added_reasons((struct task_struct *)bpf_get_current_task(), found.file);
	if (!want && !added && !(flags & SW_MAP_IN_OPENSSL_CALL))
		return; /* a container's own library, of no interest otherwise */
	kill_reason = enforce_verdict(found.file, &flags, want, added, &dir);
	if (kill_reason != SW_KILL_NONE) {
		/* SIGKILL now: constructors run only after the loader's mmaps return. */
		if (bpf_send_signal(9) == 0) {
			flags |= SW_MAP_KILLED;
			count(SW_EVENT_KILL, COUNT_SEEN);
		} else {
			flags |= SW_MAP_KILL_FAILED;
		}
	}
	if (map_event_send(SW_EVENT_MAP, tgid, tid, &found, flags, want, added, kill_reason,
			   &dir)) {
		if (flags & SW_MAP_KILLED)
			count(SW_EVENT_KILL, COUNT_SENT);
	} else if (flags & SW_MAP_KILLED) {
		count(SW_EVENT_KILL, COUNT_DROPPED); /* a kill nobody will be told of: counted */
	}
}

/*
 * Whether mmap's fd is a file named libcrypto*: read from the fd table at syscall entry, so
 * that every process's mappings can be checked without a lookup at exit for each. The prefix
 * alone also takes the copies bundled under names of their own (libcrypto-1a2b3c4d.so.3).
 */
static __always_inline bool fd_names_libcrypto(long fd)
{
	static const char prefix[] = "libcrypto";
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;
	const unsigned char *name;
	char got[sizeof(prefix) - 1];

	if (!fds || fd >= BPF_CORE_READ(fdt, max_fds) ||
	    bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return false;
	name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	if (!name || bpf_probe_read_kernel(got, sizeof(got), name))
		return false;
	for (int i = 0; i < (int)sizeof(got); i++)
		if (got[i] != prefix[i])
			return false;
	return true;
}

/* At mmap entry: a file mapped executable is looked at when the call returns. */
static __always_inline void mmap_enter(long prot, long fd)
{
	if (!(prot & PROT_EXEC) || fd < 0)
		return;
	map_pending(0, fd_names_libcrypto(fd) ? SW_MAP_LIBCRYPTO : 0);
}

static __always_inline void mmap_exit(unsigned long ret)
{
	if (ret >= (unsigned long)-MAX_ERRNO) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();

		bpf_map_delete_elem(&pending_maps, &tid);
		return;
	}
	map_report(ret);
}

static __always_inline void mprotect_enter(__u64 start, long prot)
{
	if (prot & PROT_EXEC)
		map_pending(start, SW_MAP_MPROTECT);
}

static __always_inline void mprotect_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_map *p;

	if (ret != 0) {
		bpf_map_delete_elem(&pending_maps, &tid);
		return;
	}
	p = bpf_map_lookup_elem(&pending_maps, &tid);
	if (p)
		map_report(p->start);
}

SEC("tp/syscalls/sys_enter_mmap")
int handle__sys_enter_mmap(struct trace_event_raw_sys_enter *ctx)
{
	mmap_enter(ctx->args[2], ctx->args[4]);
	return 0;
}

SEC("tp/syscalls/sys_exit_mmap")
int handle__sys_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	mmap_exit(ctx->ret);
	return 0;
}

SEC("tp/syscalls/sys_enter_mprotect")
int handle__sys_enter_mprotect(struct trace_event_raw_sys_enter *ctx)
{
	mprotect_enter(ctx->args[0], ctx->args[2]);
	return 0;
}

SEC("tp/syscalls/sys_exit_mprotect")
int handle__sys_exit_mprotect(struct trace_event_raw_sys_exit *ctx)
{
	mprotect_exit(ctx->ret);
	return 0;
}

/* The ia32 system calls that map code (arch/x86/entry/syscalls/syscall_32.tbl) */
#define IA32_NR_OLD_MMAP 90 /* old_mmap(struct mmap_arg_struct32 *) */
#define IA32_NR_MPROTECT 125
#define IA32_NR_MMAP2	 192

struct ia32_mmap_args {
	__u32 addr, len, prot, flags, fd, offset;
};

/*
 * A 32-bit process's system calls: the per-syscall tracepoints above never fire for them
 * (x86 ignores compat system calls there). These two run for every system call of every
 * process, so user space attaches them only once a 32-bit program has run on this host.
 * Arguments of an ia32 system call are in ebx, ecx, edx, esi, edi, ebp, in that order.
 */
SEC("raw_tp/sys_enter")
int BPF_PROG(handle__sys_enter_ia32, struct pt_regs *regs, long id)
{
	struct ia32_mmap_args a;

	if (!regs_ia32(regs))
		return 0;
	if (id == IA32_NR_MMAP2) {
		mmap_enter((__u32)BPF_CORE_READ(regs, dx), (__s32)BPF_CORE_READ(regs, di));
	} else if (id == IA32_NR_OLD_MMAP) {
		if (!bpf_probe_read_user(&a, sizeof(a),
					 (void *)(__u64)(__u32)BPF_CORE_READ(regs, bx)))
			mmap_enter(a.prot, (__s32)a.fd);
	} else if (id == IA32_NR_MPROTECT) {
		mprotect_enter((__u32)BPF_CORE_READ(regs, bx), (__u32)BPF_CORE_READ(regs, dx));
	}
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(handle__sys_exit_ia32, struct pt_regs *regs, long ret)
{
	long id;

	if (!regs_ia32(regs))
		return 0;
	id = BPF_CORE_READ(regs, orig_ax);
	if (id == IA32_NR_MMAP2 || id == IA32_NR_OLD_MMAP)
		mmap_exit(ret); /* an error is a negative long here too */
	else if (id == IA32_NR_MPROTECT)
		mprotect_exit(ret);
	return 0;
}

/*
 * DSO *DSO_load(DSO *dso, const char *filename, DSO_METHOD *meth, int flags), entered: the
 * thread is inside it until it returns, and its process's mappings are of interest from now.
 */
static __always_inline int dso_load_enter(const char *filename)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u32 tid = (__u32)pid_tgid;
	struct sw_dso_load_event *e;
	struct dso_call *call, first = { .depth = 1 };
	__u32 want;
	__u32 *cur;
	long n;

	if (tgid == self_tgid)
		return 0;
	call = bpf_map_lookup_elem(&dso_loading, &tid);
	if (call) {
		call->depth++; /* per-thread: no other writer */
		call->module_mapped = 0;
	} else {
		bpf_map_update_elem(&dso_loading, &tid, &first, BPF_ANY);
	}

	cur = bpf_map_lookup_elem(&interest, &tgid);
	want = (cur ? *cur : 0) | SW_INTEREST_DSO_LOAD;
	interest_set(tgid, want);

	e = event_reserve(SW_EVENT_DSO_LOAD, sizeof(*e), tgid, tid, true);
	if (!e)
		return 0;
	n = filename ? bpf_probe_read_user_str(e->data, sizeof(e->data), filename) : 0;
	e->name_len = n > 0 ? n : 0;
	e->pad = 0;
	event_submit(e, SW_EVENT_DSO_LOAD, true);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(handle__dso_load, void *dso, const char *filename)
{
	return dso_load_enter(filename);
}

/*
 * The same in a 32-bit (ia32) process: cdecl passes every argument on the stack, above the
 * return address, each 4 bytes wide.
 */
SEC("uprobe")
int BPF_KPROBE(handle__dso_load_ia32)
{
	__u32 filename = 0;

	if (!regs_ia32(ctx) ||
	    bpf_probe_read_user(&filename, sizeof(filename), (void *)(PT_REGS_SP(ctx) + 8)))
		filename = 0;
	return dso_load_enter((const char *)(unsigned long)filename);
}

/*
 * One of OpenSSL's engine and provider calls (ENGINE_init, ENGINE_ctrl, ...), entered: what the
 * thread maps until it returns, an engine or provider loaded it. Its arguments do not matter,
 * so one program serves 64-bit and 32-bit processes.
 */
SEC("uprobe")
int BPF_KPROBE(handle__openssl_call)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, one = 1;
	__u32 *depth;

	if ((pid_tgid >> 32) == self_tgid)
		return 0;
	depth = bpf_map_lookup_elem(&openssl_calls, &tid);
	if (depth)
		(*depth)++; /* per-thread: no other writer */
	else if (bpf_map_update_elem(&openssl_calls, &tid, &one, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&calls_in_flight, 1);
	else
		count(SW_EVENT_MAP, COUNT_DROPPED); /* full: its mappings would go unseen */
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(handle__openssl_call_return)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 *depth = bpf_map_lookup_elem(&openssl_calls, &tid);

	if (!depth)
		return 0;
	if (*depth > 1)
		(*depth)--;
	else
		openssl_call_forget(tid);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(handle__dso_load_return, void *ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct dso_call *call = bpf_map_lookup_elem(&dso_loading, &tid);
	struct sw_dso_load_return_event *e;

	if (!call)
		return 0;
	if (call->depth > 1) {
		/* per-thread: no other writer. The outer call's module was mapped before it
		 * could call DSO_load() again. */
		call->depth--;
		call->module_mapped = 1;
	} else {
		bpf_map_delete_elem(&dso_loading, &tid);
	}

	/* A failed load is an attempt that can be reported now, not at exit. */
	e = event_reserve(SW_EVENT_DSO_LOAD_RETURN, sizeof(*e), pid_tgid >> 32, tid, true);
	if (!e)
		return 0;
	/* In compat mode the upper half of rax is undefined: only eax is the result. */
	e->ret = regs_ia32(ctx) ? (__u32)(__u64)ret : (__u64)ret;
	event_submit(e, SW_EVENT_DSO_LOAD_RETURN, true);
	return 0;
}
