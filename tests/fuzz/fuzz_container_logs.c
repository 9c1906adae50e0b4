// SPDX-License-Identifier: Apache-2.0
/*
 * A container's log is what the container chose to write, in a file its runtime wrote: every
 * input, read as CRI and as Docker's json-file, must give lines that keep to their bounds
 * (stream, window, max_line, cut flag), and a kept copy that fits max_bytes and reads back
 * as whole CRI records, none unparsed, none lost.
 *
 * A Docker record longer than the parser holds (128 KiB) is decoded by its own streaming
 * code; the input is also read behind a long run of text in one such record, so that code is
 * fuzzed at the default -max_len too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc/container_logs.h"

#define MAX_LINE 64
#define KEEP_MAX 512
#define PAD	 (136 * 1024)

struct check {
	int64_t from, to;
	size_t max_line;
	size_t lines;
};

static int check_line(const struct container_log_line *line, void *ctx)
{
	struct check *c = ctx;

	if (strcmp(line->stream, "stdout") && strcmp(line->stream, "stderr"))
		abort();
	if (line->time_ns < c->from || line->time_ns > c->to)
		abort();
	if (line->len > c->max_line || line->text[line->len] != '\0')
		abort();
	if (line->cut != (line->full_len > line->len) ||
	    (!line->cut && line->full_len != line->len))
		abort();
	c->lines++;
	return 0;
}

static void read_both(const char *buf, size_t len, int64_t from, int64_t to)
{
	static const enum container_log_format formats[] = { CONTAINER_LOG_CRI,
							     CONTAINER_LOG_DOCKER_JSON };

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct container_log_stats st = { 0 }, back = { 0 };
		struct check c = { from, to, MAX_LINE, 0 };
		struct strbuf out = STRBUF_INIT;

		if (container_log_read_buffer(buf, len, formats[i], from, to, MAX_LINE, check_line,
					      &c, &st) ||
		    st.lines != c.lines)
			abort();
		container_log_stats_free(&st);

		/* The kept copy: within its bounds, and every record of it read back whole. */
		memset(&st, 0, sizeof(st));
		if (container_log_keep_buffer(buf, len, formats[i], from, to, KEEP_MAX, &out,
					      &st) ||
		    out.len > KEEP_MAX || st.dropped > st.lines)
			abort();
		c = (struct check){ INT64_MIN, INT64_MAX, KEEP_MAX, 0 };
		if (container_log_read_buffer(out.buf, out.len, CONTAINER_LOG_CRI, INT64_MIN,
					      INT64_MAX, KEEP_MAX, check_line, &c, &back) ||
		    back.unparsed || c.lines != st.lines - st.dropped)
			abort();
		container_log_stats_free(&st);
		container_log_stats_free(&back);
		strbuf_release(&out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char prefix[] = "{\"log\":\"";
	static char *padded;
	int64_t from = INT64_MIN, to = INT64_MAX;

	/* The first 16 bytes, when there are enough, choose a window. */
	if (size > 16 && data[0] & 1) {
		memcpy(&from, data, 8);
		memcpy(&to, data + 8, 8);
	}
	read_both((const char *)data, size, from, to);

	if (!padded) {
		padded = malloc(sizeof(prefix) - 1 + PAD + 4096);
		if (!padded)
			abort();
		memcpy(padded, prefix, sizeof(prefix) - 1);
		memset(padded + sizeof(prefix) - 1, 'a', PAD);
	}
	if (size <= 4096) {
		memcpy(padded + sizeof(prefix) - 1 + PAD, data, size);
		read_both(padded, sizeof(prefix) - 1 + PAD + size, INT64_MIN, INT64_MAX);
	}
	return 0;
}
