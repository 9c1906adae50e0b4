// SPDX-License-Identifier: Apache-2.0
/*
 * Where the lines come from: the live files where the runtime keeps them (container_logs row's
 * place and path, recorded by the sensor), else the copy kept with the finding; for a Cloud Run
 * sandbox with neither, the Cloud Logging query that finds them.
 */
#include "cli/findings_logs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/findings_print.h"
#include "proc/container_log_place.h"
#include "proc/container_logs.h"
#include "store/store.h"
#include "util/rfc3339.h"
#include "util/strbuf.h"

/* A line longer than this is printed cut, with a marker: one container line is not a screen */
#define LOGS_PRINT_MAX_LINE 4096

struct kept {
	bool found;
	char *place, *path, *note;
	int64_t from_ns, to_ns, copied_ns, left_out;
	char *lines;
	size_t lines_len;
};

struct finding_ref {
	int64_t event_time_ns;
	char *container_id, *container_name, *host, *json;
};

static int read_kept(const struct store_log *log, void *ctx)
{
	struct kept *k = ctx;

	k->found = true;
	k->place = strdup(log->place);
	k->path = strdup(log->path);
	k->note = strdup(log->note);
	k->lines = malloc(log->lines_len + 1);
	if (!k->place || !k->path || !k->note || !k->lines)
		return -ENOMEM;
	memcpy(k->lines, log->lines, log->lines_len);
	k->lines[log->lines_len] = '\0';
	k->lines_len = log->lines_len;
	k->from_ns = log->from_ns;
	k->to_ns = log->to_ns;
	k->copied_ns = log->copied_ns;
	k->left_out = log->lines_left_out;
	return 0;
}

static int read_finding(const struct store_row *r, void *ctx)
{
	struct finding_ref *f = ctx;

	f->event_time_ns = r->event_time_ns;
	f->container_id = strdup(r->container_id);
	f->container_name = strdup(r->container_name);
	f->host = strdup(r->host);
	f->json = strdup(r->json);
	return f->container_id && f->container_name && f->host && f->json ? 0 : -ENOMEM;
}

static void print_escaped(const char *prefix, const char *s)
{
	struct strbuf sb = STRBUF_INIT;

	term_escape_str(&sb, s ? s : "");
	printf("%s%s\n", prefix, strbuf_str(&sb));
	strbuf_release(&sb);
}

/* What was printed: how many lines, and the first one's time */
struct printed {
	size_t count;
	int64_t first_ns;
};

static int print_line(const struct container_log_line *l, void *ctx)
{
	struct strbuf sb = STRBUF_INIT;
	struct printed *pr = ctx;
	char when[40];

	rfc3339((uint64_t)l->time_ns, when);
	term_escape(&sb, l->text, l->len);
	if (l->cut)
		strbuf_addf(&sb, " [... %zu bytes cut]", l->full_len - l->len);
	printf("%s %s %s\n", when, l->stream, strbuf_str(&sb));
	strbuf_release(&sb);
	if (!pr->count++)
		pr->first_ns = l->time_ns;
	return 0;
}

static int first_time(const struct container_log_line *l, void *ctx)
{
	*(int64_t *)ctx = l->time_ns;
	return 1; /* that is all */
}

static void print_stats(const struct container_log_stats *st)
{
	if (st->skipped_compressed)
		printf("(%zu compressed rotated file%s not read)\n", st->skipped_compressed,
		       st->skipped_compressed == 1 ? "" : "s");
	if (st->unparsed)
		printf("(%zu record%s not in the runtime's format, left out)\n", st->unparsed,
		       st->unparsed == 1 ? "" : "s");
	if (st->truncated_files)
		printf("(%zu file%s read from their last %d MiB only)\n", st->truncated_files,
		       st->truncated_files == 1 ? "" : "s", CONTAINER_LOG_FILE_MAX >> 20);
}

/*
 * The live files' lines of the window: how many, or -errno when there is no file to read. The
 * first one's time in *first_ns.
 */
static long print_live(const struct kept *k, int64_t from_ns, int64_t to_ns, bool quiet_empty,
		       int64_t *first_ns)
{
	enum container_log_place place = container_log_place_of(k->place);
	struct container_log_stats st = { 0 };
	struct printed pr = { 0 };
	char **files = NULL;
	int n, err = 0;

	n = container_log_place_files(place, k->path, &files);
	if (n == 0)
		n = -ENOENT;
	if (n < 0)
		return n;
	for (int i = 0; i < n && !err; i++) {
		err = container_log_read(files[i], container_log_place_format(place), from_ns,
					 to_ns, LOGS_PRINT_MAX_LINE, print_line, &pr, &st);
		/* A restart's file that went away meanwhile: the others still count */
		if (err == -ENOENT && n > 1)
			err = 0;
	}
	for (int i = 0; i < n; i++)
		free(files[i]);
	free(files);
	if (!err && (pr.count || !quiet_empty)) {
		for (size_t i = 0; i < st.n_files; i++)
			print_escaped("read from: ", st.files[i]);
		print_stats(&st);
	}
	container_log_stats_free(&st);
	*first_ns = pr.first_ns;
	return err ? err : (long)pr.count;
}

/* The kept copy's lines are cut already, their marker included: not cut again */
#define KEPT_LINE_MAX (CONTAINER_LOG_KEEP_LINE_MAX + 64)

static size_t print_kept(const struct kept *k, int64_t from_ns, int64_t to_ns)
{
	struct container_log_stats st = { 0 };
	struct printed pr = { 0 };

	container_log_read_buffer(k->lines, k->lines_len, CONTAINER_LOG_CRI, from_ns, to_ns,
				  KEPT_LINE_MAX, print_line, &pr, &st);
	container_log_stats_free(&st);
	if (k->left_out)
		printf("(%lld older line%s of the copied window did not fit in the %d KiB kept)\n",
		       (long long)k->left_out, k->left_out == 1 ? "" : "s",
		       CONTAINER_LOG_KEEP_MAX >> 10);
	if (k->note[0])
		print_escaped("note: ", k->note);
	return pr.count;
}

/* The time of the kept copy's first line of the window; 0 when it has none */
static int64_t kept_first(const struct kept *k, int64_t from_ns, int64_t to_ns)
{
	struct container_log_stats st = { 0 };
	int64_t first = 0;

	container_log_read_buffer(k->lines, k->lines_len, CONTAINER_LOG_CRI, from_ns, to_ns,
				  KEPT_LINE_MAX, first_time, &first, &st);
	container_log_stats_free(&st);
	return first;
}

/* A Cloud Run service or revision name as Cloud Run allows it: safe inside the filter */
static bool cloud_run_name(const char *s)
{
	if (!s || !s[0] || strlen(s) > 63)
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return false;
	return true;
}

/* A gVisor sandbox of Cloud Run: its logs are in Cloud Logging. Whether it printed the query. */
static bool print_cloud_run(const struct finding_ref *f, int64_t from_ns, int64_t to_ns)
{
	json_t *doc = json_loads(f->json, JSON_ALLOW_NUL, NULL);
	const json_t *cr = json_object_get(
	    json_object_get(json_object_get(doc, "finding"), "sourceProperties"), "cloudRun");
	const char *service = json_string_value(json_object_get(cr, "service"));
	const char *revision = json_string_value(json_object_get(cr, "revision"));
	char from[40], to[40];
	bool ok = cloud_run_name(service) && cloud_run_name(revision);

	if (ok) {
		rfc3339((uint64_t)from_ns, from);
		rfc3339((uint64_t)to_ns, to);
		printf(
		    "This container is Cloud Run service %s, revision %s: Cloud Logging keeps its "
		    "logs.\nRead them with:\n\n",
		    service, revision);
		printf("  gcloud logging read 'resource.type=\"cloud_run_revision\" AND "
		       "resource.labels.service_name=\"%s\" AND "
		       "resource.labels.revision_name=\"%s\" AND timestamp>=\"%s\" AND "
		       "timestamp<=\"%s\"' --order=asc\n",
		       service, revision, from, to);
	}
	json_decref(doc);
	return ok;
}

static void free_all(struct kept *k, struct finding_ref *f)
{
	free(k->place);
	free(k->path);
	free(k->note);
	free(k->lines);
	free(f->container_id);
	free(f->container_name);
	free(f->host);
	free(f->json);
}

int findings_logs(struct store *s, const struct logs_request *req)
{
	struct finding_ref f = { 0 };
	struct kept k = { 0 };
	int64_t from_ns, to_ns;
	char from[40], to[40], copied[40];
	int64_t live_first = 0;
	long live = -ENOENT;
	int err;

	err = store_get(s, req->id, read_finding, &f);
	if (!err) {
		err = store_get_log(s, req->id, read_kept, &k);
		if (err == -ENOENT)
			err = 0;
	}
	if (err) {
		fprintf(stderr, "sowatch: findings logs: cannot read the finding: %s\n",
			strerror(-err));
		free_all(&k, &f);
		return 1;
	}
	from_ns = f.event_time_ns > req->before_ns ? f.event_time_ns - req->before_ns : 0;
	to_ns = f.event_time_ns + req->after_ns;
	rfc3339((uint64_t)from_ns, from);
	rfc3339((uint64_t)to_ns, to);
	if (!f.container_id[0]) {
		printf("The finding is about a process on the host, not in a container: there is "
		       "no container log.\n");
		goto out;
	}
	print_escaped("Container: ", f.container_name[0] ? f.container_name : f.container_id);
	printf("Window: %s to %s\n", from, to);
	if (!k.found) {
		if (print_cloud_run(&f, from_ns, to_ns))
			goto out;
		printf(
		    "No log of this container is kept with the finding. When the finding was made "
		    "on its host, sowatch found none where it looks: Docker's json-file log "
		    "(<data root>/containers/<id>/<id>-json.log), the kubelet's "
		    "(" CONTAINER_POD_LOGS_DIR "/<namespace>_<pod>_<uid>/<container>/) and "
		    "podman's k8s-file (<bundle>/ctr.log). A store filled by sowatch collect keeps "
		    "no log copies: ");
		print_escaped("look in the store of host ", f.host);
		goto out;
	}
	if (!req->kept) {
		printf("From the live log (%s):\n", k.place);
		fflush(stdout);
		live = print_live(&k, from_ns, to_ns, true, &live_first);
		if (live > 0) {
			int64_t kept_from = kept_first(&k, from_ns, to_ns);

			printf("%ld line%s.\n", live, live == 1 ? "" : "s");
			/* Rotated past the window's start: the copy has what went */
			if (kept_from && kept_from < live_first) {
				rfc3339((uint64_t)kept_from, copied);
				printf("The copy kept with the finding has earlier lines of the "
				       "window, from %s, that the live log no longer holds: --kept "
				       "shows them.\n",
				       copied);
			}
			goto out;
		}
		print_escaped(live == 0 ? "  nothing of the window is left in "
					: "  the live log is gone: ",
			      k.path);
	}
	rfc3339((uint64_t)k.copied_ns, copied);
	rfc3339((uint64_t)k.from_ns, from);
	rfc3339((uint64_t)k.to_ns, to);
	printf("From the copy kept with the finding (made %s, lines from %s to %s):\n", copied,
	       from, to);
	live = (long)print_kept(&k, from_ns, to_ns);
	printf("%ld line%s (kept copy).\n", live, live == 1 ? "" : "s");
out:
	free_all(&k, &f);
	return 0;
}
