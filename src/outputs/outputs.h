/* SPDX-License-Identifier: Apache-2.0 */
/* The outputs a configuration asks for, made in one place. */
#ifndef SOWATCH_OUTPUTS_OUTPUTS_H
#define SOWATCH_OUTPUTS_OUTPUTS_H

#include <stddef.h>

#include "outputs/output.h"

struct config;

#define OUTPUTS_MAX 8

struct store;

/*
 * Makes every output cfg configures: jsonl (jsonl_path, "-" for standard output), webhook,
 * syslog, nats and scc when their sections are present. jsonl_path NULL, for sowatch collect:
 * neither jsonl nor nats (the stream the collector reads), the others as configured. store
 * (NULL: none) is the findings store, where an output may remember what it learnt. 0 and *n
 * outputs in outs, or -errno and one line in error (nothing made).
 */
int outputs_from_config(const struct config *cfg, const char *jsonl_path, struct store *store,
			struct output *outs[OUTPUTS_MAX], size_t *n, char *error, size_t size);

#endif
