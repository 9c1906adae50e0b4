// SPDX-License-Identifier: Apache-2.0
#include "detectors/added_library.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "proc/container.h"
#include "proc/procfile.h"
#include "sowatch_events.h"
#include "util/json.h"

#define REPORTED_KEYS 4096 /* (container, file) pairs remembered, oldest forgotten first */

struct added_library_detector {
	struct detector_env env;
	uint64_t reported[REPORTED_KEYS];
	size_t next_reported;
};

static const struct {
	unsigned bit;
	const char *name;
} reason_names[] = {
	{ SW_ADDED_UPPER_LAYER, "upperLayer" },
	{ SW_ADDED_IN_MEMORY, "inMemory" },
	{ SW_ADDED_DELETED, "deleted" },
	{ SW_ADDED_AFTER_START, "changedAfterContainerStart" },
	/* SW_ADDED_OUTSIDE_ROOT is only a hint from the kernel, never a reason on its own */
};

/*
 * Did the file change after the container started? Both times are wall-clock: the file's
 * ctime, as the kernel had it at the mapping (or, from older sources, as it is now), and the
 * start as the runtime recorded it. Unknown is no.
 */
static bool changed_after_start(const struct proc *p, const struct event *ev)
{
	struct container_info ctr;
	struct stat st;
	int64_t created = 0, changed = ev->map.file.ctime_ns;
	int fd;

	if (container_info_get(p->container_id, NULL, &ctr) == 0) {
		created = ctr.created_ns;
		container_info_free(&ctr);
	}
	if (created <= 0)
		return false;
	if (!changed) {
		fd = proc_file_open(p->host_pid, &ev->map.file, ev->map.start, ev->map.end, false,
				    &st);
		if (fd < 0)
			return false;
		close(fd);
		changed = stat_ctime_ns(&st);
	}
	return changed > created;
}

/* The reasons that make it an added library; 0 when it is part of the container after all. */
static unsigned added_reasons(const struct proc *p, const struct event *ev)
{
	unsigned why = ev->map.added;

	if ((why & (SW_ADDED_OUTSIDE_ROOT | SW_ADDED_UPPER_LAYER)) && changed_after_start(p, ev))
		why |= SW_ADDED_AFTER_START;
	return why & ~(unsigned)SW_ADDED_OUTSIDE_ROOT;
}

static void write_properties(struct jw_writer *j, const struct finding *f)
{
	jw_key(j, "addedReasons");
	jw_array_begin(j);
	for (size_t i = 0; i < sizeof(reason_names) / sizeof(reason_names[0]); i++)
		if (f->added_reasons & reason_names[i].bit)
			jw_string(j, reason_names[i].name);
	jw_array_end(j);
	jw_kv_string(j, "libraryPath", f->module.file.path ? f->module.file.path : "");
	jw_kv_bool(j, "libraryDeleted", f->module.file.deleted);
	jw_kv_bool(j, "libraryMemfd", f->module.file.memfd);
	jw_kv_bool(j, "libraryPathTruncated", f->module.file.path_truncated);
}

const struct finding_kind added_library_finding_kind = {
	.category = "Execution: Added Library Loaded",
	.description =
	    "A process in a container loaded a shared library that was not part of the "
	    "container's image: it sits in the container's writable layer, in memory, was "
	    "deleted after it was opened, or was changed after the container started. Images "
	    "are meant to be immutable, so code that arrives later is how an intruder extends "
	    "a foothold (MITRE ATT&CK T1129, Shared Modules).",
	.next_steps =
	    "1. Read which library was loaded (processes[0].libraries[0]) and why it is "
	    "considered added (sourceProperties.addedReasons). "
	    "2. Check the program and its parents (processes[]) that loaded it. "
	    "3. List other findings of the same container around the same time. "
	    "4. Review the container's settings and logs; compare the library with the image. "
	    "5. If it was not expected, keep a copy of the file and isolate the container.",
	.write_properties = write_properties,
};

/*
 * Reported already? Once per container and file, not per process: a crash loop or a
 * preforking server would otherwise repeat the same finding for every process.
 */
static bool already_reported(struct added_library_detector *d, const struct proc *p, uint64_t dev,
			     uint64_t ino)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	uint64_t key;
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "%s|%llu|%llu", p->container_id, (unsigned long long)dev,
			 (unsigned long long)ino);

	EVP_Digest(buf, (size_t)n, md, &md_len, EVP_sha256(), NULL);
	memcpy(&key, md, sizeof(key));
	key |= 1; /* 0 marks a free slot */
	for (size_t i = 0; i < REPORTED_KEYS; i++)
		if (d->reported[i] == key)
			return true;
	d->reported[d->next_reported++ % REPORTED_KEYS] = key;
	return false;
}

void added_library_detector_on_event(struct added_library_detector *d, struct proc *p,
				     const struct event *ev)
{
	const struct file_ref *file = &ev->map.file;
	struct finding f = {
		.kind = &added_library_finding_kind,
		.severity = "LOW",
		.proc = p,
	};
	bool killed;

	if (ev->kind != EVENT_MAP || !ev->map.added || !ev->map.in_container)
		return;
	/* A kill for an added library is always told: enforce mode acted on it. */
	killed = ev->map.kill.killed && ev->map.kill.added_library;
	/* Another mount namespace is not enough: systemd services, snaps and sandboxes have
	 * their own too. A container is what a runtime says it is. */
	if (!killed && !p->container_id[0])
		return;
	f.added_reasons = added_reasons(p, ev);
	if (!f.added_reasons || (!killed && already_reported(d, p, file->real_dev, file->real_ino)))
		return;
	f.event_time_ns = ev->time_ns;
	f.sensor = ev->source;
	f.module.file = *file;
	f.module.kind = "library";
	f.module.loaded = true;
	if (killed)
		f.enforcement = ev->map.kill;
	f.module.locatable = true;
	f.module.vm_start = ev->map.start;
	f.module.vm_end = ev->map.end;
	d->env.report(&f, d->env.ctx);
}

int added_library_detector_new(struct added_library_detector **ret, const struct detector_env *env)
{
	struct added_library_detector *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->env = *env;
	*ret = d;
	return 0;
}

void added_library_detector_free(struct added_library_detector *d)
{
	free(d);
}
