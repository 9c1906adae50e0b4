// SPDX-License-Identifier: Apache-2.0
#include "detectors/openssl_binaries.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc/procfile.h"
#include "util/hash.h"
#include "util/path.h"

void openssl_binaries_init(struct openssl_binaries *b, const struct detector_env *env)
{
	memset(b, 0, sizeof(*b));
	b->env = env;
}

static bool known_id(const struct openssl_binaries *b, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < b->n_ids; i++)
		if (b->ids[i].dev == dev && b->ids[i].ino == ino)
			return true;
	return false;
}

static void learn_id(struct openssl_binaries *b, uint64_t dev, uint64_t ino)
{
	if (known_id(b, dev, ino) || b->n_ids == OPENSSL_BINARIES_MAX_IDS)
		return;
	b->ids[b->n_ids].dev = dev;
	b->ids[b->n_ids].ino = ino;
	b->n_ids++;
	if (b->env->watch_exe)
		b->env->watch_exe(dev, ino, b->env->ctx);
}

static bool known_not_openssl(const struct openssl_binaries *b, const struct file_ref *f)
{
	for (size_t i = 0; f->ctime_ns && i < OPENSSL_BINARIES_MAX_OTHERS; i++)
		if (b->others[i].ino == f->ino && b->others[i].dev == f->dev &&
		    b->others[i].ctime_ns == f->ctime_ns)
			return true;
	return false;
}

static void learn_not_openssl(struct openssl_binaries *b, const struct file_ref *f)
{
	size_t i = b->next_other++ % OPENSSL_BINARIES_MAX_OTHERS;

	if (!f->ctime_ns)
		return;
	b->others[i].dev = f->dev;
	b->others[i].ino = f->ino;
	b->others[i].ctime_ns = f->ctime_ns;
}

static bool known_hash(const struct openssl_binaries *b, const char *sha256)
{
	for (size_t i = 0; i < b->n_hashes; i++)
		if (strcmp(b->hashes[i].sha256, sha256) == 0)
			return true;
	return false;
}

static void learn_hash(struct openssl_binaries *b, const struct file_digest *digest)
{
	if (known_hash(b, digest->sha256) || b->n_hashes == OPENSSL_BINARIES_MAX_HASHES)
		return;
	b->hashes[b->n_hashes].size = digest->size;
	memcpy(b->hashes[b->n_hashes].sha256, digest->sha256, sizeof(digest->sha256));
	b->n_hashes++;
}

int openssl_binaries_add(struct openssl_binaries *b, const char *path)
{
	struct file_digest digest;
	struct stat st;
	int fd = proc_host_open(path), err;

	if (fd < 0)
		return fd;
	err = fstat(fd, &st) ? -errno : !S_ISREG(st.st_mode) ? -EINVAL : 0;
	if (!err)
		err = hash_fd_sha256(fd, HASH_MAX_BYTES_DEFAULT, &digest);
	close(fd);
	if (err)
		return err;
	learn_hash(b, &digest);
	learn_id(b, st.st_dev, st.st_ino);
	return 0;
}

int openssl_binaries_add_defaults(struct openssl_binaries *b)
{
	static const char *const paths[] = {
		"/usr/bin/openssl",	    "/bin/openssl",
		"/usr/local/bin/openssl",   "/usr/local/ssl/bin/openssl",
		"/opt/openssl/bin/openssl", NULL,
	};
	int found = 0;

	for (const char *const *p = paths; *p; p++)
		found += openssl_binaries_add(b, *p) == 0;
	return found;
}

/*
 * Hash the open file when it has the size of a known OpenSSL binary (most files do not, and
 * are never read): 0, or -ENOENT for another size, or -errno.
 */
static bool size_known(const struct openssl_binaries *b, uint64_t size)
{
	for (size_t i = 0; i < b->n_hashes; i++)
		if ((uint64_t)b->hashes[i].size == size)
			return true;
	return false;
}

static int digest_if_size_known(const struct openssl_binaries *b, int fd, const struct stat *st,
				struct file_digest *ret)
{
	if (!size_known(b, (uint64_t)st->st_size))
		return -ENOENT;
	return hash_fd_sha256(fd, HASH_MAX_BYTES_DEFAULT, ret);
}

/*
 * The file a process names, hashed if its size is a known one. host_pid 0: a sandbox's, read
 * inside its root (NULL: at the same path here).
 */
static int digest_path_if_size_known(const struct openssl_binaries *b, uint32_t host_pid,
				     const char *sandbox_root, const char *path,
				     struct file_digest *ret)
{
	struct file_ref ref = { .path = path };
	struct stat st;
	int fd = proc_file_open_rooted(host_pid, sandbox_root, &ref, 0, 0, false, &st), err;

	if (fd < 0)
		return fd;
	err = S_ISREG(st.st_mode) ? digest_if_size_known(b, fd, &st, ret) : -EINVAL;
	close(fd);
	return err;
}

/*
 * A process the host's /proc does not know (a gVisor sandbox's): its binary is read through
 * the sandbox's root as the host sees it (the host's own for `runsc do`, and when runsc's
 * state named none), so a sandbox's own copy of OpenSSL is known by its content. The hash is
 * kept on the process for its findings.
 */
static void hash_sandboxed_exe(const struct openssl_binaries *b, struct proc *p)
{
	struct file_digest digest;

	if (p->exe_sha256[0] || !p->exe.path || p->exe.path[0] != '/')
		return;
	if (digest_path_if_size_known(b, 0, p->sandbox_root, p->exe.path, &digest) == 0)
		snprintf(p->exe_sha256, sizeof(p->exe_sha256), "%s", digest.sha256);
}

/*
 * An OpenSSL binary is known by its file (device and inode) or, for a copy under another
 * name, by its content: a binary of a known size is hashed and compared.
 */
bool openssl_binaries_identify(struct openssl_binaries *b, struct proc *p)
{
	struct file_digest digest;
	struct stat st;
	int fd, err;

	/*
	 * A sandbox process whose start never arrived (gVisor dropped it: an argv bigger than
	 * the socket's buffer, a full socket): nothing says what it runs, so it is watched as
	 * OpenSSL would be. The drop is counted in the findings' eventDrops.
	 */
	if (!p->host_pid && !p->exe.path && !p->exe_sha256[0])
		return true;
	if (!p->host_pid)
		hash_sandboxed_exe(b, p);
	/* A hash of the binary (from the source, or read above) settles it. */
	if (p->exe_sha256[0] && known_hash(b, p->exe_sha256))
		return true;
	if (!p->exe.ino || !p->host_pid)
		return false;
	if (known_id(b, p->exe.dev, p->exe.ino))
		return true;
	/* The kernel said the size at exec: most programs are told apart without a read. */
	if ((p->exe.size && !size_known(b, p->exe.size)) || known_not_openssl(b, &p->exe))
		return false;
	/*
	 * Through /proc/PID/exe, or, when a short-lived process is gone already, its path: the
	 * file must still be the one the kernel named (device and inode).
	 */
	fd = proc_file_open(p->host_pid, &p->exe, 0, 0, true, &st);
	if (fd < 0)
		return false;
	err = digest_if_size_known(b, fd, &st, &digest);
	close(fd);
	if (!err && !known_hash(b, digest.sha256))
		learn_not_openssl(b, &p->exe);
	if (err || !known_hash(b, digest.sha256))
		return false;
	learn_id(b, p->exe.dev, p->exe.ino);
	if (b->env->watch_process)
		b->env->watch_process(p->host_pid, b->env->ctx);
	return true;
}

/* The dynamic loader run as a program (`ld.so PROGRAM ARGS...`) runs its first argument. */
bool openssl_binaries_is_loader(const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;

	base = base ? base + 1 : path;
	return base && (strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "ld.so", 5) == 0 ||
			strncmp(base, "ld64.so", 7) == 0 || strncmp(base, "ld-musl", 7) == 0);
}

/*
 * For `ld.so [OPTIONS] PROGRAM ARGS...` whose PROGRAM is an OpenSSL binary: the index of
 * PROGRAM in argv (its own argv[0] from there on), and its absolute path in program; else 0. The exe is the loader, so only the
 * argument says what runs, and a renamed copy is known by its content.
 */
size_t openssl_binaries_run_by_loader(const struct openssl_binaries *b, const struct proc *p,
				      const char *cwd, char *program, size_t size)
{
	static const char *const takes_value[] = { "--library-path",
						   "--glibc-hwcaps-prepend",
						   "--glibc-hwcaps-mask",
						   "--inhibit-rpath",
						   "--audit",
						   "--preload",
						   "--argv0",
						   NULL };
	char path[PATH_MAX];
	struct file_digest digest;
	size_t i;

	if (!openssl_binaries_is_loader(p->exe.path))
		return 0;
	for (i = 1; i < p->argc && strncmp(p->argv[i], "--", 2) == 0; i++)
		for (const char *const *o = takes_value; *o; o++)
			if (strcmp(p->argv[i], *o) == 0) {
				i++;
				break;
			}
	if (i >= p->argc || path_join(cwd[0] ? cwd : "/", p->argv[i], path, sizeof(path)))
		return 0;
	/* One file, opened once: its size and its hash cannot come from two different files. */
	if (digest_path_if_size_known(b, p->host_pid, p->sandbox_root, path, &digest) ||
	    !known_hash(b, digest.sha256))
		return 0;
	snprintf(program, size, "%s", path);
	return i;
}
