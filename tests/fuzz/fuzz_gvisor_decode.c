// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the gVisor decoder. An input is a series of messages, each preceded by
 * its length (u32, little-endian; cut to what is left), decoded in order by one decoder, so that
 * state carried from message to message (the fd tables: open, dup, close, fork, exec, mmap) is
 * exercised too. The first message also goes through the handshake decoder. Every string in
 * an event must be NUL-terminated (strlen walks it under ASan).
 *
 * tests/fuzz/corpus/gvisor/ holds messages captured from a real runsc (20221219), one per file
 * and whole sessions, in this format.
 *
 *   make fuzz && build/tests/fuzz/fuzz_gvisor_decode -max_total_time=600 \
 *           build/fuzz-corpus-gvisor tests/fuzz/corpus/gvisor
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/gvisor_decode.h"

static size_t sink;

static void touch(const char *s)
{
	if (s)
		sink += strlen(s);
}

static void on_event(const struct event *ev, void *ctx)
{
	touch(ev->container_id);
	switch (ev->kind) {
	case EVENT_EXEC:
		touch(ev->exec.exe.path);
		touch(ev->exec.exe_sha256);
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
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gvisor_decoder *dec = gvisor_decoder_new(1ull << 63, on_event, NULL);
	uint32_t version;
	bool first = true;

	if (!dec)
		return 0;
	while (size >= 4) {
		uint32_t len;
		uint8_t *msg;

		memcpy(&len, data, 4);
		data += 4;
		size -= 4;
		if (len > size)
			len = size;
		/* An exact-size copy: ASan catches any read past the message */
		msg = malloc(len ? len : 1);
		if (!msg)
			break;
		memcpy(msg, data, len);
		if (first)
			gvisor_decode_handshake(msg, len, &version);
		first = false;
		gvisor_decode_message(dec, msg, len);
		free(msg);
		data += len;
		size -= len;
	}
	gvisor_decoder_free(dec);
	return 0;
}
