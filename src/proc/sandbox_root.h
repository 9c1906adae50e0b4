/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a gVisor container's root file system is, as the host sees it. gVisor reports paths
 * as the sandboxed process sees them; under containerd, GKE Sandbox and Cloud Run the root is
 * an image unpacked somewhere on the host, not the host's "/". runsc keeps each container's
 * state as <state dir>/<container id>_sandbox:<sandbox id>.state, a JSON object holding the
 * OCI spec ("spec", whose root.path is absolute or relative to the bundle) and the bundle
 * ("bundleDir", absolute or relative to runsc's working directory).
 *
 * Everything read here comes from files that whoever runs the sandbox wrote: bounded, checked,
 * and never followed through a symlink at the state file itself.
 */
#ifndef SOWATCH_SANDBOX_ROOT_H
#define SOWATCH_SANDBOX_ROOT_H

#include <stddef.h>
#include <sys/types.h>

/* State files and config.json files larger than this are not read. */
#define SANDBOX_STATE_FILE_MAX (1024 * 1024)
/* State directories searched per lookup: the defaults and the ones a connection adds. */
#define SANDBOX_STATE_DIRS_MAX 8

/*
 * The root named by one runsc state file (json, len bytes): spec.root.path, joined to
 * bundleDir when relative, which is joined to cwd (runsc's working directory, may be NULL)
 * when relative. When the state holds no spec.root, the bundle's config.json is read for it.
 * The result is absolute and lexically normalized in ret. Returns 0, -EINVAL for a state that
 * is not one (not an object, a root path with a NUL, control bytes or over PATH_MAX), -ENOENT
 * when no root can be worked out (none given, or relative to a directory not known),
 * -ENAMETOOLONG.
 */
int sandbox_root_from_state(const char *json, size_t len, const char *cwd, char *ret, size_t size);

/*
 * The value of runsc's global --root flag in a command line as /proc/PID/cmdline has it
 * (arguments separated by NULs, len bytes): "--root DIR", "--root=DIR", "-root DIR" or
 * "-root=DIR", the first one. Returns 0 with it in ret, -ENOENT when absent or empty,
 * -ENAMETOOLONG.
 */
int sandbox_runsc_root_from_cmdline(const char *cmdline, size_t len, char *ret, size_t size);

/*
 * What runsc process pid (a sandbox's peer on the gVisor socket) was told: its state directory
 * (--root, made absolute against its working directory; "" when not given) and its working
 * directory (against which a relative bundle is found; "" when unknown). Reads at most 64 KiB of
 * its command line. Returns 0, or -errno when the process cannot be read (gone).
 */
int sandbox_runsc_dirs_of_pid(pid_t pid, char *ret_state_dir, size_t state_size, char *ret_cwd,
			      size_t cwd_size);

/*
 * The root of container id: its runsc state file looked for in each of state_dirs
 * (NULL-terminated; NULL or empty entries skipped) then in runsc's default state directories,
 * first found wins; cwd as for sandbox_root_from_state(). The root must be a directory.
 * Returns 0 with the absolute path in ret ("/" when the container shares the host's root),
 * -EINVAL for an id runsc would not accept, -ENOENT when no state names it, -ENOTDIR when
 * its root is not a directory, or another -errno.
 */
int sandbox_root_find(const char *id, const char *const *state_dirs, const char *cwd, char *ret,
		      size_t size);

#endif
