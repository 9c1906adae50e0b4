// SPDX-License-Identifier: Apache-2.0
#include "findings/log_copy.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
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

/* Appends "N what" to the copy's note, when n is not 0 */
static void add_count(struct log_copy *c, size_t n, const char *what)
{
	size_t used = strlen(c->note);

	if (n)
		snprintf(c->note + used, sizeof(c->note) - used, "%s%zu %s", used ? "; " : "", n,
			 what);
}

/*
 * The last copy made of each of a few logs. A finding made less than LOG_COPY_REUSE_NS after
 * the last copy of the same log gets that copy again, with its own window: a flood of findings
 * about one container reads its log a few times a second, not once per finding.
 */
#define LOG_COPY_REUSE_NS 1000000000ULL
#define LOG_COPY_RECENT	  8

struct recent_copy {
	char *path; /* NULL: free slot */
	struct store_log log;
	char note[256];
	char *lines;
};

static pthread_mutex_t recent_lock = PTHREAD_MUTEX_INITIALIZER;
static struct recent_copy recent[LOG_COPY_RECENT];

/* Under recent_lock: the slot of path's last copy, else the oldest slot (emptied) */
static struct recent_copy *recent_slot(const char *path, bool *found)
{
	struct recent_copy *oldest = &recent[0];

	for (size_t i = 0; i < LOG_COPY_RECENT; i++) {
		if (recent[i].path && strcmp(recent[i].path, path) == 0) {
			*found = true;
			return &recent[i];
		}
		if (!recent[i].path || recent[i].log.copied_ns < oldest->log.copied_ns)
			oldest = &recent[i];
	}
	*found = false;
	return oldest;
}

/*
 * A copy of the log's last copy when it is recent enough, and reaches the finding's event: 1,
 * 0 (none), -ENOMEM
 */
static int reuse(const char *path, uint64_t event_time_ns, uint64_t now_ns, struct log_copy *ret)
{
	struct recent_copy *r;
	bool found, reused = false;
	int err = 0;

	pthread_mutex_lock(&recent_lock);
	r = recent_slot(path, &found);
	if (found && now_ns >= (uint64_t)r->log.copied_ns &&
	    now_ns - (uint64_t)r->log.copied_ns < LOG_COPY_REUSE_NS &&
	    r->log.to_ns >= (int64_t)event_time_ns) {
		ret->log = r->log;
		ret->log.path = path;
		memcpy(ret->note, r->note, sizeof(ret->note));
		ret->log.note = ret->note;
		if (strbuf_add(&ret->lines, r->lines, r->log.lines_len))
			err = -ENOMEM;
		ret->log.lines = ret->lines.buf ? ret->lines.buf : "";
		reused = true;
	}
	pthread_mutex_unlock(&recent_lock);
	return err ? err : reused;
}

/* Keeps c as path's last copy (nothing when out of memory: the next finding reads again) */
static void remember(const char *path, const struct log_copy *c)
{
	struct recent_copy *r;
	bool found;

	pthread_mutex_lock(&recent_lock);
	r = recent_slot(path, &found);
	free(r->path);
	free(r->lines);
	*r = (struct recent_copy){ .path = strdup(path), .lines = malloc(c->lines.len + 1) };
	if (r->path && r->lines) {
		memcpy(r->lines, c->log.lines, c->lines.len);
		r->log = c->log;
		r->log.path = r->path;
		memcpy(r->note, c->note, sizeof(r->note));
		r->log.note = r->note;
		r->log.lines = r->lines;
	} else {
		free(r->path);
		free(r->lines);
		*r = (struct recent_copy){ 0 };
	}
	pthread_mutex_unlock(&recent_lock);
}

int log_copy_take(const struct container_info *ci, uint64_t event_time_ns, uint64_t now_ns,
		  struct log_copy *ret)
{
	struct container_log_stats stats = { 0 };
	struct strbuf all = STRBUF_INIT;
	enum container_log_format format;
	size_t left_out = 0;
	char **files = NULL;
	int n, err = 0;

	memset(ret, 0, sizeof(*ret));
	if (!ci || ci->log_place == CONTAINER_LOG_PLACE_NONE || !ci->log_path)
		return -ENOENT;
	err = reuse(ci->log_path, event_time_ns, now_ns, ret);
	if (err) {
		if (err < 0)
			log_copy_release(ret);
		return err < 0 ? err : 0;
	}
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
	/* Each restart's file kept on its own, oldest first, then the newest of them all */
	for (int i = 0; i < n; i++) {
		int r = container_log_keep(files[i], format, ret->log.from_ns, ret->log.to_ns,
					   CONTAINER_LOG_KEEP_MAX, &all, &stats);

		if (r == -ENOMEM)
			err = r;
		else if (r == -ENOENT && n == 1)
			snprintf(ret->note, sizeof(ret->note),
				 "no log file at %s when the finding was made", files[i]);
		else if (r && r != -ENOENT)
			snprintf(ret->note, sizeof(ret->note), "%s could not be read: %s", files[i],
				 strerror(-r));
		free(files[i]);
	}
	free(files);
	left_out = stats.dropped;
	stats.dropped = 0;
	if (!err && all.len)
		err = container_log_keep_buffer(all.buf, all.len, CONTAINER_LOG_CRI,
						ret->log.from_ns, ret->log.to_ns,
						CONTAINER_LOG_KEEP_MAX, &ret->lines, &stats);
	strbuf_release(&all);
	left_out += stats.dropped;
	add_count(ret, stats.skipped_compressed, "compressed rotated files not read");
	add_count(ret, stats.unparsed, "records not parsed");
	add_count(ret, stats.skipped_files,
		  "rotated files not read (not regular files, or too many)");
	add_count(ret, stats.truncated_files, "files read from their end only");
	container_log_stats_free(&stats);
	if (err) {
		log_copy_release(ret);
		return err;
	}
	ret->log.lines = ret->lines.buf ? ret->lines.buf : "";
	ret->log.lines_len = ret->lines.len;
	ret->log.lines_left_out = (int64_t)left_out;
	remember(ci->log_path, ret);
	return 0;
}
