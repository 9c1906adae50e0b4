/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The trust decision: is a shared object OpenSSL loads a legitimate part of the system?
 *
 * A module is trusted when its path is inside the ENGINESDIR or MODULESDIR of the installed
 * libcrypto, or, for the libraries such a module pulls in, inside the system's library
 * directories; and in either case the file is owned by root and not writable by group or
 * others, and so is its directory. Anything else (other paths, memfds, deleted files, files
 * an unprivileged user could have written) is custom.
 *
 * A place is not enough: with an identity checker (trust_identity.h), the file must also be
 * the one installed there, by the package manager or with the container's image.
 */
#ifndef SOWATCH_TRUST_H
#define SOWATCH_TRUST_H

#include <limits.h>
#include <sys/stat.h>
#include <stdbool.h>

#include "event.h"

struct trust_policy {
	char openssl_dir[PATH_MAX]; /* OPENSSLDIR: where the system's openssl.cnf lives */
	char engines_dir[PATH_MAX];
	char modules_dir[PATH_MAX];
	const char *const *lib_dirs; /* NULL-terminated */
	/* Checks that a file at a trusted place is the installed one; NULL: the place decides */
	struct trust_identity *identity;
};

/* The process that has the file, as far as trust needs to know it. */
struct trust_view {
	const char *root;  /* "/proc/PID/root", or "" for the host's view */
	bool container;	   /* it belongs to a container (decides once its root is gone) */
	bool layers_known; /* `added` below is the kernel's answer for this very mapping */
	unsigned added;	   /* enum sw_added_reason */
};

enum trust_verdict {
	TRUST_CUSTOM = 0,
	TRUST_MODULE_DIR,     /* OpenSSL's own ENGINESDIR / MODULESDIR */
	TRUST_SYSTEM_LIBRARY, /* a system library directory */
};

/* The directories of the libcrypto sowatch itself links (the system's). */
int trust_policy_init(struct trust_policy *tp);
/* For tests and configuration: explicit directories. */
void trust_policy_init_dirs(struct trust_policy *tp, const char *engines_dir,
			    const char *modules_dir, const char *const *lib_dirs);

enum trust_role {
	ROLE_MODULE,	 /* named to OpenSSL as an engine or provider: only its directories do */
	ROLE_DEPENDENCY, /* pulled in by a module: the system library directories do too */
};

/*
 * `file`: the module as the kernel saw it (path as the process sees it, owner, mode);
 * `root`: prefix through which that path is reachable from here ("/proc/PID/root", or "" for
 * the host's view) to check the directory's owner. ret_reason: a static sentence.
 */
enum trust_verdict trust_decide(const struct trust_policy *tp, const struct file_ref *file,
				enum trust_role role, const char *root, const char **ret_reason);
/* The same, with what is known of the process's view (see trust_identity_check()). */
enum trust_verdict trust_decide_view(const struct trust_policy *tp, const struct file_ref *file,
				     enum trust_role role, const struct trust_view *view,
				     const char **ret_reason);

/*
 * Every directory whose files the trust policy could accept, down to `depth` levels below
 * each system library directory, that is owned by root and not writable by group or others
 * (the kernel's list for enforce mode). `modules` is true for OpenSSL's ENGINESDIR and
 * MODULESDIR, the only places a module itself may come from; they come last, also when a
 * library directory's walk passed them already. Returns how many calls fn had.
 */
int trust_policy_for_each_dir(const struct trust_policy *tp, int depth,
			      void (*fn)(const char *dir, const struct stat *st, bool modules,
					 void *ctx),
			      void *ctx);

/*
 * Every file in OpenSSL's module directories (ENGINESDIR, MODULESDIR, the host's) that this
 * policy trusts as a module, judged as a mapping of it would be: the kernel's list of
 * verified modules for enforce mode, so that it is never more lenient than this policy.
 * `path` is the host's path, `st` the file's stat. Returns how many were passed to fn.
 */
int trust_policy_for_each_module(const struct trust_policy *tp,
				 void (*fn)(const char *path, const struct stat *st, void *ctx),
				 void *ctx);

/* What trust_policy_for_each_module()'s answer depends on, to tell when to ask again */
struct trust_modules_stamp {
	uint64_t files;	   /* a hash of the two directories' entries: name, inode, ctime */
	uint64_t packages; /* the package database's generation */
};

/* Whether the answer may have changed since *stamp; *stamp is brought up to date. */
bool trust_policy_modules_changed(const struct trust_policy *tp, struct trust_modules_stamp *stamp);

#endif
