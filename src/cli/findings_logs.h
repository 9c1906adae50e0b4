/* SPDX-License-Identifier: Apache-2.0 */
/* `sowatch findings logs ID`: the container's log lines around a finding. */
#ifndef SOWATCH_CLI_FINDINGS_LOGS_H
#define SOWATCH_CLI_FINDINGS_LOGS_H

#include <stdbool.h>
#include <stdint.h>

struct store;

struct logs_request {
	const char *id; /* resolved */
	int64_t before_ns, after_ns;
	bool
	    kept; /* --kept: the copy kept with the finding, even when the live log has the lines */
};

/* Prints them; the exit status (0, or 1 when the finding cannot be read). */
int findings_logs(struct store *s, const struct logs_request *req);

#endif
