// SPDX-License-Identifier: Apache-2.0
#include "outputs/outputs.h"

#include <errno.h>
#include <stdio.h>

#include "config.h"
#include "outputs/jsonl.h"
#include "outputs/nats.h"
#include "outputs/scc.h"
#include "outputs/syslog.h"
#include "outputs/webhook.h"

int outputs_from_config(const struct config *cfg, const char *jsonl_path, struct store *store,
			struct output *outs[OUTPUTS_MAX], size_t *n, char *error, size_t size)
{
	char why[512];
	int err = 0;

	*n = 0;
	if (jsonl_path) {
		err = jsonl_output_new(&outs[0], jsonl_path, error, size);
		if (err)
			return err;
		*n = 1;
	}
	if (cfg->webhook.enabled) {
		err = webhook_output_new(&outs[*n], &cfg->webhook, why, sizeof(why));
		if (err) {
			snprintf(error, size, "the webhook output (configured at line %d): %s",
				 cfg->webhook.line, why);
			goto fail;
		}
		++*n;
	}
	if (cfg->syslog.enabled) {
		err = syslog_output_new(&outs[*n], &cfg->syslog, why, sizeof(why));
		if (err) {
			snprintf(error, size, "the syslog output (configured at line %d): %s",
				 cfg->syslog.line, why);
			goto fail;
		}
		++*n;
	}
	/* A collector does not publish what it reads back into the stream it reads */
	if (cfg->nats.enabled && jsonl_path) {
		err = nats_output_new(&outs[*n], &cfg->nats, cfg->resource.hostname, why,
				      sizeof(why));
		if (err) {
			snprintf(error, size, "the NATS output (configured at line %d): %s",
				 cfg->nats.line, why);
			goto fail;
		}
		++*n;
	}
	if (cfg->scc.enabled) {
		err = scc_output_new(&outs[*n], &cfg->scc, store, why, sizeof(why));
		if (err) {
			snprintf(error, size, "the SCC output (configured at line %d): %s",
				 cfg->scc.line, why);
			goto fail;
		}
		++*n;
	}
	return 0;
fail:
	while (*n) {
		struct output *out = outs[--*n];

		out->ops->free(out);
	}
	return err;
}
