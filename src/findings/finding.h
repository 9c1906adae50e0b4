/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Findings: what a detector concluded, and its one serialization, the Security Command Center
 * notification shape {"finding": {...}, "resource": {...}}. int64 fields are written as JSON
 * strings, as proto3's JSON mapping does.
 */
#ifndef SOWATCH_FINDING_H
#define SOWATCH_FINDING_H

#include <stdbool.h>
#include <stdint.h>

#include "proc/proctable.h"
#include "util/hash.h"
#include "util/rfc3339.h"
#include "util/strbuf.h"

struct jw_writer;
struct finding;

/*
 * What one detector's findings share: their category and the text a responder reads, and
 * the detector's own sourceProperties (written by it, into the object finding.c opened).
 */
struct finding_kind {
	const char *category;
	const char *description;
	const char *next_steps;
	void (*write_properties)(struct jw_writer *j, const struct finding *f);
};

enum detection_layer {
	LAYER_INTENT = 1 << 0,	/* the command line, environment or configuration asked for it */
	LAYER_LIBRARY = 1 << 1, /* libcrypto was asked to load it (DSO_load) */
	LAYER_EFFECT = 1 << 2,	/* its code was mapped executable into the process */
};

/* Where the finding is reported: set once from configuration, defaults from the host. */
struct finding_resource {
	char project[256];
	char source[128];
	char hostname[256];
	char type[64];
	char name[512]; /* "" = derived from the host and container */
	char project_display_name[256];
};

/* How many ancestors a finding names, parent first */
#define FINDING_MAX_ANCESTORS 4

/* A file's SHA-256 as the finding workers computed it, or why there is none. */
struct finding_hash {
	bool hashed;
	struct file_digest digest;
	const char *missing; /* why not hashed; NULL when it is, or when the file is unknown */
};

struct finding_module {
	/* The file as the event named it: path as the process sees it, identity, deleted, ... */
	struct file_ref file;
	const char *requested; /* the name as OpenSSL was given it; NULL when unknown */
	const char *kind;      /* "engine", "provider", "unknown" */
	const char *origin;    /* where the request came from ("-engine", "OPENSSL_CONF", ...) */
	bool loaded;	       /* its code was mapped */
	/* Where a worker can find the file again: set `locatable` when its identity is known */
	bool locatable;
	uint64_t vm_start, vm_end; /* its mapping, when it was mapped */
	struct finding_hash hash;  /* filled in by the pipeline's workers */
};

enum sensor_gap_cause {
	SENSOR_GAP_NONE,
	SENSOR_GAP_STALLED,	/* running, but its event loop made no progress */
	SENSOR_GAP_NOT_RUNNING, /* between one run's last sign of life and the next one's start */
};

/* A time sowatch was not watching, which a finding made soon after carries (sensorGap). */
struct sensor_gap {
	enum sensor_gap_cause cause; /* SENSOR_GAP_NONE: no gap */
	uint64_t from_ns, to_ns;     /* CLOCK_REALTIME */
	/*
	 * NOT_RUNNING: the run before stopped cleanly at from_ns; otherwise it died (killed,
	 * crashed) and from_ns is its last heartbeat, a few seconds before it did.
	 */
	bool clean_stop;
};

/* "stalled", "not running" ("" for none): the names the store and sensorGap.cause use. */
const char *sensor_gap_cause_name(enum sensor_gap_cause cause);

struct finding {
	const struct finding_kind *kind;
	const char *severity;
	const char *mute;	 /* SCC's mute: "UNDEFINED" or "MUTED" (by a mute rule) */
	uint64_t create_time_ns; /* when sowatch recorded it; 0: now */
	uint64_t event_time_ns;	 /* CLOCK_REALTIME */
	const char *sensor;	 /* the source that saw it: "ebpf" */
	const struct proc *proc;
	/* Filled in by the pipeline: the process's ancestors, and every binary's hash */
	const struct proc *ancestors[FINDING_MAX_ANCESTORS];
	size_t n_ancestors;
	struct finding_hash binaries[1 + FINDING_MAX_ANCESTORS]; /* proc's, then ancestors' */
	struct finding_module module;
	unsigned layers; /* enum detection_layer */
	const char *trust_reason;
	unsigned added_reasons; /* Added Library Loaded: enum sw_added_reason */
	/*
	 * Enforce mode killed the process at the mapping: what the enforcing side judged, and,
	 * when the detector itself judged the file trusted, its reason (NULL when they agree).
	 */
	struct enforcement enforcement;
	const char *trusted_by_detector;
	uint64_t
	    event_drops; /* events the sensor lost so far: when non-zero, the picture may be partial */
	struct sensor_gap sensor_gap; /* a recent time sowatch was blind; cause NONE: none */
};

void finding_resource_defaults(struct finding_resource *res);

/*
 * The finding's id: stable for the same host, process and module (a restart that sees the same
 * event again names it the same), 32 hex digits.
 */
void finding_id(const struct finding *f, const char *host, char ret_id[33]);

struct container_info;

/*
 * One JSON object, no newline. The container's settings come from `ctr` (NULL for a host
 * process, or when the runtime is unknown: then only the id from the cgroup is written).
 */
int finding_to_json(const struct finding *f, const struct finding_resource *res,
		    const struct container_info *ctr, struct strbuf *out);

#endif
