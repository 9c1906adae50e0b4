/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The evidence a finding keeps of its container's log: the lines of the minutes before it,
 * copied on a finding worker when the finding is made, and stored with it, because the runtime
 * rotates its files and deletes them with the container.
 */
#ifndef SOWATCH_LOG_COPY_H
#define SOWATCH_LOG_COPY_H

#include <stdint.h>

#include "store/store.h"
#include "util/strbuf.h"

struct container_info;

/* How far back from the finding's event the copy reaches */
#define LOG_COPY_BEFORE_NS (5ULL * 60 * 1000000000)

struct log_copy {
	struct store_log log; /* points into this copy */
	struct strbuf lines;
	char note[256];
};

/*
 * The lines of ci's log from LOG_COPY_BEFORE_NS before event_time_ns up to now_ns, the newest
 * CONTAINER_LOG_KEEP_MAX bytes of them, into *ret (release it). Returns 0, or -ENOENT when the
 * runtime keeps no log sowatch can read (no copy is then kept), -ENOMEM. A log that could not
 * be read is still a copy: empty, with a note saying why, so that a responder learns it.
 * ret->log.path points into ci: use the copy before ci is freed. A copy of the same log made
 * less than a second before is given again, with its own window, rather than read anew.
 */
int log_copy_take(const struct container_info *ci, uint64_t event_time_ns, uint64_t now_ns,
		  struct log_copy *ret);
void log_copy_release(struct log_copy *c);

#endif
