// SPDX-License-Identifier: Apache-2.0
#include "findings/log_copy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/container.h"
#include "proc/container_log_place.h"
#include "proc/container_logs.h"

void log_copy_release(struct log_copy *c)
{
	strbuf_release(&c->lines);
	memset(c, 0, sizeof(*c));
}

/* Drops whole lines from the front of sb until it holds at most max bytes; how many */
static size_t keep_newest(struct strbuf *sb, size_t max)
{
	const char *s = strbuf_str(sb);
	size_t len = sb->len, cut = 0, lines = 0;
	char *rest;

	while (len - cut > max) {
		const char *nl = memchr(s + cut, '\n', len - cut);

		cut = nl ? (size_t)(nl - s) + 1 : len;
		lines++;
	}
	if (!cut)
		return 0;
	rest = sb->buf;
	memmove(rest, rest + cut, len - cut);
	sb->len = len - cut;
	rest[sb->len] = '\0';
	return lines;
}

/* Appends "N what" to the copy's note, when n is not 0 */
static void add_count(struct log_copy *c, size_t n, const char *what)
{
	size_t used = strlen(c->note);

	if (n)
		snprintf(c->note + used, sizeof(c->note) - used, "%s%zu %s", used ? "; " : "", n,
			 what);
}

int log_copy_take(const struct container_info *ci, uint64_t event_time_ns, uint64_t now_ns,
		  struct log_copy *ret)
{
	struct container_log_stats stats = { 0 };
	enum container_log_format format;
	size_t left_out = 0;
	char **files = NULL;
	int n, err = 0;

	memset(ret, 0, sizeof(*ret));
	if (!ci || ci->log_place == CONTAINER_LOG_PLACE_NONE || !ci->log_path)
		return -ENOENT;
	format = container_log_place_format(ci->log_place);
	ret->log = (struct store_log){
		.place = container_log_place_name(ci->log_place),
		.path = ci->log_path,
		.from_ns = event_time_ns > LOG_COPY_BEFORE_NS
			       ? (int64_t)(event_time_ns - LOG_COPY_BEFORE_NS)
			       : 0,
		.to_ns = (int64_t)(now_ns > event_time_ns ? now_ns : event_time_ns),
		.copied_ns = (int64_t)now_ns,
		.note = ret->note,
	};
	n = container_log_place_files(ci->log_place, ci->log_path, &files);
	if (n == -ENOMEM)
		return n;
	if (n <= 0)
		snprintf(ret->note, sizeof(ret->note),
			 "no log file at %s when the finding was made", ci->log_path);
	for (int i = 0; i < n; i++) {
		struct strbuf one = STRBUF_INIT;
		int r = container_log_keep(files[i], format, ret->log.from_ns, ret->log.to_ns,
					   CONTAINER_LOG_KEEP_MAX, &one, &stats);

		if (r == -ENOMEM)
			err = r;
		else if (r && r != -ENOENT)
			snprintf(ret->note, sizeof(ret->note), "%s could not be read: %s", files[i],
				 strerror(-r));
		if (!err && strbuf_add(&ret->lines, one.buf ? one.buf : "", one.len))
			err = -ENOMEM;
		strbuf_release(&one);
		free(files[i]);
	}
	free(files);
	left_out = stats.dropped + keep_newest(&ret->lines, CONTAINER_LOG_KEEP_MAX);
	add_count(ret, stats.skipped_compressed, "compressed rotated files not read");
	add_count(ret, stats.unparsed, "records not parsed");
	container_log_stats_free(&stats);
	if (err) {
		log_copy_release(ret);
		return err;
	}
	ret->log.lines = ret->lines.buf ? ret->lines.buf : "";
	ret->log.lines_len = ret->lines.len;
	ret->log.lines_left_out = (int64_t)left_out;
	return 0;
}
