/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SOWATCH_CLI_NATS_INIT_H
#define SOWATCH_CLI_NATS_INIT_H

#include <stddef.h>

/* sowatch nats-init ...: argv[0] is "nats-init". Exit status. */
int cmd_nats_init(int argc, char **argv);

/*
 * Splits a comma-separated --nats list in place into urls (at most max); each must be
 * nats:// or tls:// and carry no credentials. 0, or -EINVAL with *bad the first bad one.
 */
int nats_split_urls(char *list, const char **urls, size_t max, size_t *ret_n, const char **bad);

#endif
