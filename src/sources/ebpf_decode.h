/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoding the eBPF source's ring-buffer records into events. Kept apart from loading and
 * attaching so it can be tested and fuzzed without a kernel: every length in a record is
 * checked against the record before use.
 */
#ifndef SOWATCH_SOURCES_EBPF_DECODE_H
#define SOWATCH_SOURCES_EBPF_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

typedef void (*event_handler_fn)(const struct event *ev, void *ctx);

struct ebpf_decoder {
	int64_t boot_to_realtime_ns; /* added to kernel CLOCK_BOOTTIME stamps */
	event_handler_fn on_event;
	void *ctx;
	uint64_t malformed; /* records refused */
};

/* Returns 0, -EBADMSG for a malformed record (counted, nothing emitted), -ENOMEM. */
int ebpf_decode_record(struct ebpf_decoder *dec, const void *data, size_t size);

#endif
