/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Security Command Center output: each finding upserted into SCC through its v2 REST API
 * (PATCH of the finding's full name, without an update mask: it creates the finding, or
 * replaces it with the same content when a retry sends it again). The finding's body is made
 * by scc_map.h; the credentials are scc_auth.h's. Answers: 2xx delivered; 401 gets a new token
 * and one more try; 408, 429 and 5xx are tried again later; any other refusal (400, 403, 404)
 * is final for that finding, with SCC's own message.
 */
#ifndef SOWATCH_OUTPUTS_SCC_H
#define SOWATCH_OUTPUTS_SCC_H

#include <stddef.h>

#include "config.h"
#include "outputs/output.h"

struct store;

/*
 * Checks and loads what can be known without the network (the key file, the URLs, ca_file).
 * With source: create, store (NULL: none) is where the source's id is remembered: its own
 * connection to the same file is opened, and closed by the output's free (before store's).
 * 0, or -errno and one line in error.
 */
int scc_output_new(struct output **ret, const struct config_scc *cfg, struct store *store,
		   char *error, size_t size);

/*
 * A responder's change of a finding, through SCC's own method: verb "setState" with value
 * ACTIVE or INACTIVE, or "setMute" with MUTED, UNMUTED or UNDEFINED. For out made by
 * scc_output_new(), outside any delivery lane (the command line). 0, or -errno and one line in
 * error.
 */
int scc_output_update(struct output *out, const char *id, const char *verb, const char *value,
		      char *error, size_t size);

#endif
