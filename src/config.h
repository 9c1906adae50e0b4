/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration: a YAML file (default /etc/sowatch/sowatch.yaml, when present). See
 * sowatch.example.yaml for every key. A bad file is refused as a whole, with one message
 * naming the file, line and key: sowatch never runs half-configured.
 */
#ifndef SOWATCH_CONFIG_H
#define SOWATCH_CONFIG_H

#include <limits.h>

#include "findings/finding.h"

#define CONFIG_DEFAULT_PATH "/etc/sowatch/sowatch.yaml"

struct config {
	struct finding_resource resource;
	char jsonl_path[PATH_MAX]; /* "" = not set */
};

/*
 * path NULL: the default file if it exists, else defaults. On error returns -errno and a
 * message in ret_error (static storage, valid until the next call).
 */
int config_load(struct config *cfg, const char *path, const char **ret_error);
/* The same from a string, for tests; `name` is used in messages. */
int config_load_string(struct config *cfg, const char *name, const char *text, size_t len,
		       const char **ret_error);

#endif
