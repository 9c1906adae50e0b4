/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `sowatch findings`: the responder's side of the findings store. list, show, related,
 * set-state and mute, as Security Command Center's review steps go: read the finding, look for
 * other findings of the same container around the same time, then triage.
 */
#ifndef SOWATCH_CLI_FINDINGS_H
#define SOWATCH_CLI_FINDINGS_H

#include <stdint.h>

/*
 * argv[0] is "findings", argv[1] the subcommand. Writes to stdout and stderr; returns the exit
 * status: 0 ok, 1 runtime error (no database, unknown id), 2 usage error.
 */
int cmd_findings(int argc, char **argv);

/*
 * "30s", "10m", "2h", "7d" or several from the largest unit down ("1h30m"), at most 100 years.
 * 0 and nanoseconds in *ret_ns, or -EINVAL.
 */
int findings_parse_duration(const char *s, int64_t *ret_ns);

#endif
