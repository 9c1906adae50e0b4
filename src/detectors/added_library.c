// SPDX-License-Identifier: Apache-2.0
#include "detectors/added_library.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc/container.h"
#include "proc/procfile.h"
#include "sowatch_events.h"
#include "util/json.h"

#define MAX_REPORTED 256 /* per process: files already reported, not to repeat them */

struct added_library_detector {
	struct detector_env env;
};

/* Files of one process already reported, by the identity of the mapped (layer's) file. */
struct reported {
	size_t n;
	struct {
		uint64_t dev, ino;
	} files[MAX_REPORTED];
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
 * ctime, and the start as the runtime recorded it. Unknown is no.
 */
static bool changed_after_start(const struct proc *p, const struct event *ev)
{
	struct container_info ctr;
	struct stat st;
	int64_t created = 0, changed;
	int fd;

	if (container_info_get(p->container_id, NULL, &ctr) == 0) {
		created = ctr.created_ns;
		container_info_free(&ctr);
	}
	if (created <= 0)
		return false;
	fd = proc_file_open(p->pid, &ev->map.file, ev->map.start, ev->map.end, false, &st);
	if (fd < 0)
		return false;
	close(fd);
	changed = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
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
	jw_kv_string(j, "libraryPath", f->module.path ? f->module.path : "");
	jw_kv_bool(j, "libraryDeleted", f->module.deleted);
	jw_kv_bool(j, "libraryMemfd", f->module.memfd);
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

static bool already_reported(struct proc *p, uint64_t dev, uint64_t ino)
{
	struct reported *r = p->detector_state[DETECTOR_ADDED_LIBRARY];

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return false; /* report rather than stay silent */
		p->detector_state[DETECTOR_ADDED_LIBRARY] = r;
		p->detector_free[DETECTOR_ADDED_LIBRARY] = free;
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->files[i].dev == dev && r->files[i].ino == ino)
			return true;
	if (r->n < MAX_REPORTED) {
		r->files[r->n].dev = dev;
		r->files[r->n].ino = ino;
		r->n++;
	}
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

	if (ev->kind != EVENT_MAP || !ev->map.added || !ev->map.in_container)
		return;
	f.added_reasons = added_reasons(p, ev);
	if (!f.added_reasons || already_reported(p, file->real_dev, file->real_ino))
		return;
	f.event_time_ns = ev->time_ns;
	f.sensor = ev->source;
	f.module.path = file->path;
	f.module.kind = "library";
	f.module.loaded = true;
	f.module.deleted = file->deleted;
	f.module.memfd = file->memfd;
	f.module.dev = file->dev;
	f.module.ino = file->ino;
	f.module.hashed = proc_file_digest(p->pid, file, ev->map.start, ev->map.end, false,
					   &f.module.digest) == 0;
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
