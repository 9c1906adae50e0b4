/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a collector accepts from the stream: a message that is one sowatch finding, whole, from
 * the host its subject names (a finding that names no host, made by a sowatch older than the
 * store's host column, is that host's). Anything else (not JSON, another shape, a host that does not
 * match the subject, too large) is refused with one line saying why, and never stored.
 */
#ifndef SOWATCH_FINDING_CHECK_H
#define SOWATCH_FINDING_CHECK_H

#include <stddef.h>

#include "store/store.h"

/*
 * Larger messages are refused before they are parsed, and `sowatch nats-init` makes this the
 * stream's largest message, so that the servers refuse a larger one from a node (whose output
 * then marks it failed) rather than acknowledge what no collector will store. A finding is
 * mostly a few KiB, but it names a process and up to FINDING_MAX_ANCESTORS ancestors, each
 * with arguments and environment of up to 8 KiB that JSON may escape to six times that: some
 * 500 KiB at worst. 1 MiB is also the servers' default max_payload.
 */
#define FLEET_MESSAGE_MAX (1024 * 1024)

struct fleet_finding {
	struct store_finding row; /* points into the parsed JSON and id */
	char id[33];
	void *doc;  /* the parsed JSON, owned */
	char *json; /* the message, NUL-terminated, owned */
	char *host; /* the subject's host, for a finding that names none; owned */
};

/*
 * Parses and checks data (len bytes) received on subject, for a stream fed under prefix.
 * 0 and *ret filled (release it with fleet_finding_release()), -EINVAL with why, or -ENOMEM
 * (why: out of memory) when memory ran out: the message is to be tried again later, not refused.
 */
int fleet_finding_parse(struct fleet_finding *ret, const char *data, size_t len,
			const char *subject, const char *prefix, char *why, size_t size);
void fleet_finding_release(struct fleet_finding *f);

#endif
