/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The normalized event model: what every source (eBPF today, gVisor later) turns its
 * observations into. Detectors only ever see these, never a source's own format.
 *
 * An event and everything it points to belong to the source and live only for the duration of
 * the pipeline_handle() call; whoever keeps something copies it.
 */
#ifndef SOWATCH_EVENT_H
#define SOWATCH_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COMM_LEN 16

/*
 * What a path that lost its root-most part starts with: ".../lib/x.so". A cut path shown as
 * "/lib/x.so" would read as a whole one, naming another file.
 */
#define PATH_TRUNCATED_MARK "..."

/* A file as the source saw it when the event happened. */
struct file_ref {
	/* Absolute, as the process sees it; NULL when unknown. See path_truncated. */
	const char *path;
	uint64_t dev; /* user-space dev_t (makedev), as the process sees the file */
	uint64_t ino;
	/* The file whose pages are mapped: for a file of an overlay, the layer's; else the same */
	uint64_t real_dev, real_ino;
	int64_t ctime_ns; /* its last change, CLOCK_REALTIME; 0 when unknown */
	uint64_t size;	  /* bytes; 0 when unknown */
	uint32_t mode;
	uint32_t uid;
	bool deleted;  /* no name left in the file system */
	bool memfd;    /* memfd_create(): never had a name */
	bool on_tmpfs; /* lives in memory: tmpfs, ramfs, hugetlbfs */
	/*
	 * Too deep or too long to be read whole: the root-most part is missing and the path
	 * starts with PATH_TRUNCATED_MARK. From gVisor, also a relative path whose directory
	 * is unknown.
	 */
	bool path_truncated;
	/* Read whole, but outside the process's mount tree (a detached mount, a pseudo file
	 * such as a memfd): it names no file the process could open by that path. */
	bool path_unreachable;
};

enum event_kind {
	EVENT_EXEC,
	EVENT_FORK,
	EVENT_EXIT,
	EVENT_MAP,		/* a file was mapped executable */
	EVENT_MODULE_LOAD,	/* libcrypto was asked to load a module (the library layer) */
	EVENT_MODULE_LOAD_DONE, /* ... and that call returned */
	EVENT_NS_GONE,		/* every process of pid namespace ns is gone (a sandbox ended) */
	/* A libcrypto file no library-layer probe watches was mapped (uses `map`) */
	EVENT_LIBCRYPTO_MAPPED,
	EVENT_DROPPED, /* the source lost events before this point (a sandbox's full socket) */
};

/*
 * The variables Cloud Run sets in every container it runs: which service, revision and
 * configuration the workload belongs to. Whoever controls the process can set them too.
 */
enum cloud_run_var {
	CLOUD_RUN_SERVICE,	 /* K_SERVICE */
	CLOUD_RUN_REVISION,	 /* K_REVISION */
	CLOUD_RUN_CONFIGURATION, /* K_CONFIGURATION */
	CLOUD_RUN_VARS,
};

/* Values longer than this are not taken (Cloud Run's own names are at most 63 bytes). */
#define CLOUD_RUN_VALUE_MAX 256

/*
 * Enforce mode's action at a mapping, and the judgement it acted on: the enforcing side's
 * own (the kernel's), which the detectors report whatever their own judgement says.
 */
struct enforcement {
	bool killed; /* the process was killed at this mapping */
	/* ... for a library added to a container (Added Library Loaded's), not OpenSSL's doing */
	bool added_library;
	/* why, in words; NULL when not killed (or when not_possible says it could not be) */
	const char *reason;
	/*
	 * Not killed although enforce mode judged the mapping: why the enforcing side could not
	 * stop what a detector may still find custom. NULL when killed, or not judged.
	 */
	const char *not_possible;
	/* The directory the file really lies in, as the enforcing side judged it; 0: unknown */
	uint64_t dir_dev, dir_ino;
};

struct event {
	enum event_kind kind;
	const char *source; /* "ebpf", ... */
	uint64_t time_ns;   /* CLOCK_REALTIME */
	uint32_t pid;	    /* the process (thread group), in namespace ns */
	uint32_t tid;
	/*
	 * Which pid space pid belongs to: 0 the host's (eBPF); for a gVisor sandbox a stable
	 * non-zero id chosen by its source. Processes are (ns, pid), never pid alone.
	 */
	uint64_t ns;
	/* The container the source says the process runs in; NULL: find it from the cgroup */
	const char *container_id;
	/*
	 * Events the source had lost when it made this one, since it started (the eBPF
	 * source's kernel drops); 0 for none, or a source that tells its losses by
	 * EVENT_DROPPED instead.
	 */
	uint64_t drops_before;
	union {
		struct {
			uint32_t ppid, uid, gid;
			char comm[COMM_LEN];
			struct file_ref exe;
			const char *exe_sha256; /* hex, when the source hashed it; else NULL */
			const char *cwd;	/* as the process sees it; NULL when unknown */
			const char *const *argv;
			size_t argc;
			bool argv_truncated; /* the last element may be cut short */
			/* Only the variables of env_of_interest[], "NAME=value" */
			const char *const *env;
			size_t envc;
			bool env_truncated;
			uint64_t cgroup_id;
			uint32_t mount_ns;  /* the mount namespace's inode number; 0 unknown */
			bool host_mount_ns; /* its files are the host's: read them as they are */
			/* CLOCK_BOOTTIME: with the pid, names the process across restarts */
			uint64_t start_boottime_ns;
			/* The program has OpenSSL linked in (it defines DSO_load, as node does) */
			bool carries_openssl;
			bool nodejs; /* ... and it is a Node.js runtime */
			bool ia32;   /* a 32-bit x86 program (compat system calls) */
			/*
			 * A gVisor sandbox's root file system as the host sees it (an absolute
			 * host path), through which the process's paths are read; NULL when
			 * they are the host's own (the host's processes, and sandboxes whose
			 * root is the host's "/" or could not be found).
			 */
			const char *sandbox_root;
			/* Cloud Run's names for the workload (see cloud_run_from_env()) */
			const char *cloud_run[CLOUD_RUN_VARS];
		} exec;
		struct {
			uint32_t ppid;
			uint64_t start_boottime_ns;
		} fork;
		struct {
			uint32_t exit_code;
		} exit;
		struct {
			struct file_ref file;
			uint64_t start, end, pgoff;
			bool via_mprotect;
			bool in_module_load; /* happened inside libcrypto's DSO_load() */
			/* ... inside OpenSSL's engine or provider API (an engine's own loads) */
			bool in_openssl_call;
			bool in_container; /* the process is in another mount namespace */
			unsigned added;	   /* enum sw_added_reason: why it may not be the image's */
			struct enforcement kill; /* enforce mode killed the process here */
		} map;
		struct {
			const char *name; /* the file name exactly as libcrypto was given it */
		} module_load;
		struct {
			bool ok; /* the module was loaded */
		} module_load_done;
		struct {
			uint64_t count; /* events lost since the last EVENT_DROPPED */
		} dropped;
	};
};

/* The environment variables a source reports: the ones that steer OpenSSL's module loading. */
extern const char *const env_of_interest[];
bool env_is_of_interest(const char *entry, size_t len);

/* "K_SERVICE", "K_REVISION", "K_CONFIGURATION", indexed by enum cloud_run_var */
extern const char *const cloud_run_var_names[CLOUD_RUN_VARS];
/*
 * Cloud Run's variables in an environment ("NAME=value" entries; NULL entries skipped): each
 * ret[i] points into env at the value of the first entry of that name, as getenv() finds it,
 * or is NULL when absent, empty or longer than CLOUD_RUN_VALUE_MAX. The values are whatever
 * bytes the environment held: escape them when writing them out. Returns how many were found.
 */
int cloud_run_from_env(char *const *env, size_t n, const char *ret[CLOUD_RUN_VARS]);

#endif
