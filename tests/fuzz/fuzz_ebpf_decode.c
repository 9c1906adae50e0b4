// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the ring-buffer decoder: any bytes as a record. Every string in an
 * event must be NUL-terminated within its record's reach (strlen walks it under ASan).
 *
 *   make fuzz && build/tests/fuzz/fuzz_ebpf_decode -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/ebpf_decode.h"
#include "sowatch_events.h"

static size_t sink;

static void touch(const char *s)
{
	if (s)
		sink += strlen(s);
}

static void on_event(const struct event *ev, void *ctx)
{
	switch (ev->kind) {
	case EVENT_EXEC:
		touch(ev->exec.exe.path);
		touch(ev->exec.cwd);
		touch(ev->exec.comm);
		for (size_t i = 0; i < ev->exec.argc; i++)
			touch(ev->exec.argv[i]);
		for (size_t i = 0; i < ev->exec.envc; i++)
			touch(ev->exec.env[i]);
		break;
	case EVENT_MAP:
		touch(ev->map.file.path);
		break;
	case EVENT_MODULE_LOAD:
		touch(ev->module_load.name);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ebpf_decoder dec = { .on_event = on_event };
	/* Records arrive 8-byte aligned and at least as large as their struct: so do we. */
	size_t cap = size < sizeof(struct sw_exec_event) ? sizeof(struct sw_exec_event) : size;
	uint8_t *rec = aligned_alloc(8, (cap + 7) & ~(size_t)7);

	if (!rec)
		return 0;
	memset(rec, 0, cap);
	memcpy(rec, data, size);
	ebpf_decode_record(&dec, rec, size);
	free(rec);
	return 0;
}
