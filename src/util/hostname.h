/* SPDX-License-Identifier: Apache-2.0 */
/*
 * This machine's name as findings carry it (sourceProperties.host, the store's host column):
 * one rule for the sensor and for the store's migration, so that the findings a node stored
 * before the host column existed get the same name as those it stores now.
 */
#ifndef SOWATCH_HOSTNAME_H
#define SOWATCH_HOSTNAME_H

#include <stddef.h>

/* gethostname(), or "localhost" when it fails or the name is empty: never "". */
void host_name(char *buf, size_t size);

#endif
