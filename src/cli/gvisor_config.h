/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `sowatch gvisor-config [--socket PATH]`: prints the gVisor pod-init-config (JSON) that makes a
 * runsc sandbox send its runtime-monitoring trace points to sowatch's remote sink socket:
 *
 *   sowatch gvisor-config --socket /run/sowatch/gvisor.sock > /etc/sowatch/pod-init.json
 *   runsc --pod-init-config=/etc/sowatch/pod-init.json ...
 */
#ifndef SOWATCH_CLI_GVISOR_CONFIG_H
#define SOWATCH_CLI_GVISOR_CONFIG_H

#include "util/strbuf.h"

#define GVISOR_DEFAULT_SOCKET "/run/sowatch/gvisor.sock"

/*
 * argv[0] is "gvisor-config". Writes the JSON document to stdout; returns the exit status:
 * 0 ok, 1 runtime error (out of memory, write error), 2 usage error.
 */
int cmd_gvisor_config(int argc, char **argv);

/*
 * Appends the pod-init-config document (one JSON object, newline-terminated) naming the remote
 * sink endpoint socket_path to out. Returns 0, -ENOMEM, or -EINVAL (socket_path NULL).
 */
int gvisor_config_build(struct strbuf *out, const char *socket_path);

#endif
