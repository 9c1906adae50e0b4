/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's security-relevant settings, as its OCI configuration (config.json, or gVisor's
 * copy of the spec) gave them when the container was made: what a responder reviews first. They
 * are judged here, once, and written as the compact JSON object a finding carries as
 * sourceProperties.containerSettings; `sowatch findings show` only reads the judgement back.
 */
#ifndef SOWATCH_CONTAINER_SETTINGS_H
#define SOWATCH_CONTAINER_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

struct json_t;
struct strbuf;

/* At most this many mounts, devices, environment names and arguments are written (each). */
#define CONTAINER_SETTINGS_MAX_ITEMS 64
/* Strings longer than this (a path, an argument) are cut, and say so. */
#define CONTAINER_SETTINGS_MAX_STRING 512
/* Once the settings are this long, no further list item is written (counted in omitted) */
#define CONTAINER_SETTINGS_MAX_BYTES (16 * 1024)

/*
 * The settings of an OCI spec object as one JSON object into out:
 *   user {uid, gid, additionalGids, root}, privileged, capabilities {effective, bounding,
 *   risky}, noNewPrivileges, seccomp, apparmor, selinux, readOnlyRoot, hostNamespaces,
 *   mounts [{source, destination, type, readOnly, sensitive}], devices [{path, type}],
 *   environmentNames, commandLine, and `omitted` counts where a list was longer than
 *   CONTAINER_SETTINGS_MAX_ITEMS, or the settings reached CONTAINER_SETTINGS_MAX_BYTES.
 * A setting the spec does not give is left out (except hostNamespaces, which lists what the spec
 * does not isolate). Returns 0, -EINVAL when spec is no object, -ENOMEM.
 */
int container_settings_json(const struct json_t *spec, struct strbuf *out);

/*
 * Reads the capabilities this host can grant (sowatch's bounding set) once: call it before
 * sowatch drops its own. Otherwise the first settings read it.
 */
void container_settings_learn_host(void);

/*
 * A capability that is a way out of a container or onto the host when granted beyond the
 * runtimes' defaults ("CAP_SYS_ADMIN", with or without the CAP_ prefix).
 */
bool container_capability_is_risky(const char *name);

/*
 * A host path whose bind mount gives a container the host: "/", the host's /proc, /sys and /etc,
 * the Docker and containerd sockets and state, the kubelet's directories; a path inside one of
 * them, or a directory holding one.
 */
bool container_mount_is_sensitive(const char *host_path);

#endif
