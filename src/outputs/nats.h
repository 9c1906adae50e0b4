/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NATS output: each finding published to a JetStream stream, with the finding id as the
 * message id (JetStream drops a duplicate within its window), on the subject
 * <prefix>.<host>.<severity> (fleet/subject.h). A finding counts as delivered only once
 * JetStream acknowledged it: it is then stored on the stream's replicas.
 */
#ifndef SOWATCH_OUTPUTS_NATS_H
#define SOWATCH_OUTPUTS_NATS_H

#include <stddef.h>

#include "config.h"
#include "outputs/output.h"

/*
 * Never waits for a server: the connection is made in the background, and a finding sent
 * while no server is reachable is answered OUTPUT_RETRY (it waits in the store). host is the
 * sensor's host name, used for a finding that does not name its own.
 * 0 or -errno with one line in error.
 */
int nats_output_new(struct output **ret, const struct config_nats *cfg, const char *host,
		    char *error, size_t size);

#endif
