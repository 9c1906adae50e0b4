/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SOWATCH_CLI_NATS_INIT_H
#define SOWATCH_CLI_NATS_INIT_H

/* sowatch nats-init ...: argv[0] is "nats-init". Exit status. */
int cmd_nats_init(int argc, char **argv);

#endif
