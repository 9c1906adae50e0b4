/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The wire format between sowatch's BPF programs and its user side: fixed-width types only,
 * nothing else. Event kind numbers are fixed forever; add new kinds at the end.
 *
 * Every record in the ring buffer starts with struct sw_event_header. Variable-length data
 * (argv, environment, path components) follows the fixed part in `data[]`, in the order the
 * struct's comment gives, each region `*_len` bytes long.
 *
 * A path is sent as its components, leaf first, each NUL-terminated, because the kernel walks
 * dentries from the leaf upwards:  /usr/lib/x.so  ->  "x.so\0lib\0usr\0"
 * The user side reverses them. The walk stops at the root of the mount namespace the process
 * lives in, so a container's process reports paths as the container sees them.
 */
#ifndef SOWATCH_EVENTS_H
#define SOWATCH_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SW_COMM_LEN	16
#define SW_ARGV_MAX	8192 /* argv bytes kept: at most SW_ARGV_MAX - 1 */
#define SW_ENV_MAX	8192 /* environment bytes kept: at most SW_ENV_MAX - 1 */
#define SW_PATH_MAX	4096 /* path component bytes kept */
#define SW_NAME_MAX	256  /* one component, NUL included (NAME_MAX + 1) */
#define SW_PATH_DEPTH	64   /* components walked before the path is marked truncated */
#define SW_DSO_NAME_MAX 4096
/*
 * Programs at least this big are read by user space for OpenSSL linked in (DSO_load): OpenSSL's
 * code that reaches it (the DSO, ENGINE or provider machinery and what they pull in) is
 * several hundred KiB in any build seen. The exec of one whose file is new to user space wakes
 * it at once, so that the probe goes on before the program gets far.
 */
#define SW_EXE_SCAN_MIN_SIZE (512 << 10)
/*
 * The user side reads the ring buffer at least this often. Events that cannot lead to a
 * finding by themselves do not wake it: waking costs more than making the event.
 */
#define SW_DRAIN_PERIOD_MS 100
/* ... and within this after a read that found records (a storm, or a record half written) */
#define SW_DRAIN_BUSY_MS 10

enum sw_event_kind {
	SW_EVENT_EXEC = 1,
	SW_EVENT_FORK = 2,
	SW_EVENT_EXIT = 3,
	SW_EVENT_MAP = 4,	       /* a file became executable in a process of interest */
	SW_EVENT_DSO_LOAD = 5,	       /* libcrypto's DSO_load() was called */
	SW_EVENT_DSO_LOAD_RETURN = 6,  /* ... and returned */
	SW_EVENT_LIBCRYPTO_MAPPED = 7, /* a libcrypto file no probe watches yet was mapped */
	/*
	 * Counters only, never a record: enforce mode's kills (seen), those whose mapping event
	 * was written (sent), and those it could not be (dropped): a kill nobody is told of.
	 */
	SW_EVENT_KILL = 8,
	SW_EVENT_KIND_MAX,
};

/* Why the kernel produces mapping events for a process (bits of the `interest` map's value). */
enum sw_interest {
	SW_INTEREST_OPENSSL_EXE = 1 << 0, /* its executable is a known OpenSSL binary */
	SW_INTEREST_DSO_LOAD = 1 << 1,	  /* its libcrypto loaded (or tried to load) a module */
	SW_INTEREST_USER = 1 << 2,	  /* user space asked for it */
};

enum sw_exec_flags {
	SW_EXEC_ARGV_TRUNCATED = 1 << 0,
	SW_EXEC_ENV_TRUNCATED = 1 << 1,
	SW_EXEC_ARGV_UNREADABLE = 1 << 2,
	SW_EXEC_ENV_UNREADABLE = 1 << 3,
	SW_EXEC_HOST_MOUNT_NS = 1 << 4, /* the host's mount namespace: sowatch sees its files */
	SW_EXEC_IA32 = 1 << 5,		/* a 32-bit (ia32) program */
};

enum sw_map_flags {
	SW_MAP_MPROTECT = 1 << 0,     /* exec was added by mprotect, not at mmap */
	SW_MAP_IN_DSO_LOAD = 1 << 1,  /* mapped while this thread was inside DSO_load() */
	SW_MAP_IN_CONTAINER = 1 << 2, /* the process lives in another mount namespace */
	SW_MAP_KILLED = 1 << 3,	      /* enforce mode: killed before the module's code ran */
	SW_MAP_LIBCRYPTO = 1 << 4,    /* the file is named libcrypto* */
	/*
	 * Mapped while this thread was inside one of OpenSSL's engine or provider calls
	 * (ENGINE_init, ENGINE_ctrl, ENGINE_load_private_key, OSSL_PROVIDER_load, ...): what an
	 * engine or provider loads by its own means, a PKCS#11 module say.
	 */
	SW_MAP_IN_OPENSSL_CALL = 1 << 5,
	/*
	 * The first executable mapping of this DSO_load() call: the module itself (the dynamic
	 * loader maps an object whole before its dependencies). What follows are its libraries.
	 */
	SW_MAP_DSO_MODULE = 1 << 6,
	/*
	 * Enforce mode judged this mapping (a kind the kernel acts on, in its scope): without
	 * SW_MAP_KILLED, the kernel found the file trusted.
	 */
	SW_MAP_ENFORCE_JUDGED = 1 << 7,
	/* Enforce mode is on and covers this process (enforce.where) */
	SW_MAP_ENFORCE_SCOPE = 1 << 8,
	/* Enforce mode would have killed (kill_reason) but could not send the signal */
	SW_MAP_KILL_FAILED = 1 << 9,
};

/*
 * Why enforce mode killed (sw_map_event.kill_reason): the kernel's own judgement of the
 * mapped file, made from the facts it has at the mapping (owner, mode, links, and the
 * identity of the directory it really lies in), against the trusted directories user space
 * listed. User space reports it beside its own judgement.
 */
enum sw_kill_reason {
	SW_KILL_NONE = 0,
	SW_KILL_NOT_ROOT_OWNED = 1,  /* the file is not owned by root */
	SW_KILL_WRITABLE = 2,	     /* the file is writable by group or others */
	SW_KILL_UNLINKED = 3,	     /* the file has no name left (deleted, a memfd) */
	SW_KILL_DIR_NOT_TRUSTED = 4, /* the directory it lies in is not a trusted one */
	SW_KILL_NOT_MODULE_DIR = 5,  /* a module outside OpenSSL's ENGINESDIR and MODULESDIR */
	SW_KILL_ADDED_LIBRARY = 6,   /* enforce severity low: a library added to a container */
	/* a module in ENGINESDIR or MODULESDIR that is not one user space verified there */
	SW_KILL_MODULE_NOT_VERIFIED = 7,
};

/* The value of a trusted directory in the kernel's list: what may be loaded from it */
enum sw_trusted_dir {
	SW_TRUSTED_DIR_LIBRARY = 1, /* libraries: a module's dependencies, an engine's own loads */
	SW_TRUSTED_DIR_MODULE = 2,  /* modules (OpenSSL's ENGINESDIR, MODULESDIR), and libraries */
};

/*
 * Why a library mapped in a container may not come from its image (sw_map_event.added).
 * Container processes get mapping events only when one of these holds.
 */
enum sw_added_reason {
	SW_ADDED_UPPER_LAYER = 1 << 0, /* in the writable layer of the overlay root */
	SW_ADDED_IN_MEMORY = 1 << 1,   /* on tmpfs, ramfs or hugetlbfs, or a memfd */
	SW_ADDED_DELETED = 1 << 2,     /* no name left */
	/*
	 * Not on the container's root file system (a volume, a bind mount): added only if it
	 * changed after the container started, which user space tells from the file's ctime
	 * and the runtime's record of the start (both wall-clock times; the kernel knows the
	 * start only on another clock, and the two drift apart).
	 */
	SW_ADDED_OUTSIDE_ROOT = 1 << 3,
	SW_ADDED_AFTER_START = 1 << 4, /* set by user space: changed after the start */
};

/*
 * Reasons enforce mode acts on. Not outside the root alone (mostly the host's bind mounts),
 * nor in memory: runtimes map code from memfds and tmpfs on their own (.NET's W^X double
 * mapping, JNA's extracted libraries).
 */
#define SW_ADDED_ENFORCEABLE (SW_ADDED_UPPER_LAYER | SW_ADDED_DELETED)

/* Where enforce mode kills: every process, container processes only, or host ones only */
enum sw_enforce_where {
	SW_ENFORCE_ALL = 0,
	SW_ENFORCE_CONTAINERS = 1,
	SW_ENFORCE_HOST = 2,
};

enum sw_path_flags {
	SW_PATH_TRUNCATED = 1 << 0, /* too deep or too long: the root-most components are missing */
	SW_PATH_UNREACHABLE = 1 << 1, /* the walk ended outside any mount root (detached) */
};

struct sw_event_header {
	__u32 kind;
	__u32 size;    /* bytes of the whole record that carry meaning */
	__u64 time_ns; /* CLOCK_BOOTTIME */
	__u32 tgid;
	__u32 tid;
	/*
	 * Events of any kind the kernel had dropped (ring buffer full, interest map full) when
	 * this one was made, since the programs were loaded: what a finding built on this event
	 * may be missing. Drops are rare and the reader drains only now and then, so the
	 * figure rides on every event instead of being read from the counters between drains.
	 */
	__u64 drops_before;
};

/*
 * A file as the kernel saw it at the moment of the event. For a file of an overlay (a
 * container's root), the path and (dev, ino) are the overlay's, as the process sees them, and
 * (real_dev, real_ino) name the layer's file whose pages are mapped; elsewhere both are equal.
 */
struct sw_file {
	__u64 ino;
	__u64 real_ino;
	__s64 ctime_ns; /* last change of the mapped file, CLOCK_REALTIME; 0 unknown */
	__u64 size;	/* bytes */
	__u32 real_dev;
	__u32 dev;	/* kernel dev_t: major << 20 | minor */
	__u32 fs_magic; /* superblock magic: tmpfs, overlayfs, ... */
	__u32 nlink;	/* 0: deleted (or a memfd) */
	__u32 mode;
	__u32 uid;
	__u16 path_len; /* bytes of path components in data[] */
	__u16 path_flags;
	__u32 pad;
};

/*
 * data[]: argv (argv_len) | environment (env_len) | exe path components (exe.path_len)
 *         | working directory path components (cwd_len)
 * The record ends with the working directory: hdr.size is the fixed part plus the four
 * regions, so a typical exec takes a few KiB of the ring buffer, not sizeof(struct).
 */
struct sw_exec_event {
	struct sw_event_header hdr;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 flags; /* enum sw_exec_flags */
	__u64 cgroup_id;
	__u64 start_time_ns; /* task start, CLOCK_BOOTTIME */
	__u32 argv_full_len; /* bytes of argv in the process, before any cut */
	__u32 env_full_len;
	__u32 argv_len;
	__u32 env_len;
	__u16 cwd_len;
	__u16 cwd_flags; /* enum sw_path_flags */
	__u32 mnt_ns;	 /* the mount namespace's inode number */
	char comm[SW_COMM_LEN];
	struct sw_file exe;
	/* The last region needs room for a whole component past SW_PATH_MAX. */
	__u8 data[SW_ARGV_MAX + SW_ENV_MAX + 2 * SW_PATH_MAX + SW_NAME_MAX];
};

struct sw_fork_event {
	struct sw_event_header hdr; /* tgid: the child */
	__u32 ppid;
	__u32 pad;
	__u64 start_time_ns;
};

struct sw_exit_event {
	struct sw_event_header hdr;
	__u32 exit_code;
	__u32 pad;
};

/* data[]: path components (file.path_len) */
struct sw_map_event {
	struct sw_event_header hdr;
	__u64 vm_start;
	__u64 vm_end;
	__u64 pgoff;
	__u32 flags; /* enum sw_map_flags */
	__u32 interest;
	__u32 added;	   /* enum sw_added_reason */
	__u32 kill_reason; /* enum sw_kill_reason, with SW_MAP_KILLED */
	/* The directory the file really lies in (its dentry's parent), as the kernel judged it */
	__u64 dir_ino;
	__u32 dir_dev;
	__u32 pad;
	struct sw_file file;
	__u8 data[SW_PATH_MAX + SW_NAME_MAX];
};

/* data[]: the file name libcrypto was asked to load, NUL-terminated (name_len includes it) */
struct sw_dso_load_event {
	struct sw_event_header hdr;
	__u32 name_len;
	__u32 pad;
	__u8 data[SW_DSO_NAME_MAX];
};

struct sw_dso_load_return_event {
	struct sw_event_header hdr;
	__u64 ret; /* the DSO pointer: 0 when the load failed */
};

/* Per event kind, counted in the kernel: index of the `counters` per-CPU array is the kind. */
struct sw_counters {
	__u64 seen;    /* the hook fired and the event was wanted */
	__u64 sent;    /* written to the ring buffer */
	__u64 dropped; /* lost: ring buffer full */
};

_Static_assert(sizeof(struct sw_event_header) == 32, "header layout is fixed");
_Static_assert(sizeof(struct sw_file) == 64, "sw_file layout is fixed");
_Static_assert((SW_ARGV_MAX & (SW_ARGV_MAX - 1)) == 0, "masks need a power of two");
_Static_assert((SW_ENV_MAX & (SW_ENV_MAX - 1)) == 0, "masks need a power of two");
_Static_assert((SW_PATH_MAX & (SW_PATH_MAX - 1)) == 0, "masks need a power of two");
_Static_assert((SW_DSO_NAME_MAX & (SW_DSO_NAME_MAX - 1)) == 0, "masks need a power of two");

#endif
