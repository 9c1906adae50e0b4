/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Webhook output: one HTTPS (or HTTP) POST per finding, the finding's JSONL line as the body,
 * its id in X-Sowatch-Finding-Id so the receiver can drop a repeat. One connection per output,
 * kept alive between findings. TLS is always verified; there is no switch to turn that off.
 */
#ifndef SOWATCH_OUTPUTS_WEBHOOK_H
#define SOWATCH_OUTPUTS_WEBHOOK_H

#include <stddef.h>

#include "config.h"
#include "outputs/output.h"

/*
 * Checks and opens: reads the bearer token file (refused when missing, empty, not a regular
 * file, or readable or writable by its group or others), checks ca_file can be read, checks
 * the URL's scheme and the extra headers. out->settings gets a printable digest of every
 * setting (the token only as part of a SHA-256, never itself). 0, or -errno and one line in
 * error.
 */
int webhook_output_new(struct output **ret, const struct config_webhook *cfg, char *error,
		       size_t size);

#endif
