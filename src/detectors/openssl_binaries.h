/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which programs are OpenSSL binaries: known by their file (device and inode) or, for a copy
 * under another name, by their content (SHA-256 of a file of a known binary's size), never by
 * name. The intent layer reads the arguments of these programs as OpenSSL's.
 */
#ifndef SOWATCH_DETECTORS_OPENSSL_BINARIES_H
#define SOWATCH_DETECTORS_OPENSSL_BINARIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detectors/detector.h"

#define OPENSSL_BINARIES_MAX_IDS    256
#define OPENSSL_BINARIES_MAX_HASHES 32
#define OPENSSL_BINARIES_MAX_OTHERS 64

struct openssl_binaries {
	const struct detector_env *env; /* watch_exe, watch_process: tell the source */
	struct {
		uint64_t dev, ino;
	} ids[OPENSSL_BINARIES_MAX_IDS];
	size_t n_ids;
	struct {
		int64_t size;
		char sha256[65];
	} hashes[OPENSSL_BINARIES_MAX_HASHES];
	size_t n_hashes;
	/*
	 * Programs of an OpenSSL binary's size that hashed to something else, as (dev, ino,
	 * ctime): not hashed again at every exec. Any write changes the ctime. A small ring.
	 */
	struct {
		uint64_t dev, ino;
		int64_t ctime_ns;
	} others[OPENSSL_BINARIES_MAX_OTHERS];
	size_t next_other;
};

void openssl_binaries_init(struct openssl_binaries *b, const struct detector_env *env);
/* Learn an OpenSSL binary by path (its identity and hash); -errno when unreadable. */
int openssl_binaries_add(struct openssl_binaries *b, const char *path);
/* The binaries every host has in the usual places. Returns how many were found. */
int openssl_binaries_add_defaults(struct openssl_binaries *b);
/*
 * Whether process p runs an OpenSSL binary. A copy known by its content is learned by identity
 * (the source then watches its processes from exec on), and a sandbox's binary's hash is kept
 * on p for its findings.
 */
bool openssl_binaries_identify(struct openssl_binaries *b, struct proc *p);
/* The dynamic loader run as a program (`ld.so PROGRAM ARGS...`) runs its first argument. */
bool openssl_binaries_is_loader(const char *path);
/*
 * For `ld.so [OPTIONS] PROGRAM ARGS...` whose PROGRAM is an OpenSSL binary: the index of
 * PROGRAM in argv (its own argv[0] from there on), and its absolute path in program; else 0.
 */
size_t openssl_binaries_run_by_loader(const struct openssl_binaries *b, const struct proc *p,
				      const char *cwd, char *program, size_t size);

#endif
