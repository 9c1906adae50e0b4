/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SOWATCH_CLI_COLLECT_H
#define SOWATCH_CLI_COLLECT_H

/* sowatch collect ...: argv[0] is "collect". Exit status. */
int cmd_collect(int argc, char **argv);

#endif
